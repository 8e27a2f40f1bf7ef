//! Command round trip on raijin's warm connection vs OpenSSH, against a
//! testbed host. Prints a table of figures; run with
//! `cargo bench --bench ssh_roundtrip` after `scripts/testbed up`.
//!
//! - raijin warm: `Session::exec("true")` on the one kept-open connection
//!   (channel open + exec + exit status + close).
//! - raijin ping: one SSH-level round trip (keepalive request and reply).
//! - ssh fresh: `ssh host true`, a new OpenSSH connection each time.
//! - ssh ControlMaster: `ssh host true` multiplexed over a master connection.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use raijin::engine::{Engine, EngineOptions};
use raijin::ssh::NoPrompt;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // Another checkout of this machine may share the running hosts (scripts/testbed).
    let state = std::env::var_os("RAIJIN_TESTBED_STATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/testbed"));
    let up = Command::new(root.join("scripts/testbed"))
        .args(["up", "1"])
        .status();
    if !up.map(|s| s.success()).unwrap_or(false) {
        eprintln!("testbed not available (needs root on Linux): scripts/testbed up 1 failed");
        std::process::exit(1);
    }
    let host = "h1";
    let ssh_config = state.join("ssh_config");
    let alias = format!("tb-{host}");

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (warm, ping) = rt.block_on(async {
        let config = raijin::config::load(&state.join("raijin.toml"))
            .unwrap_or_else(|e| panic!("testbed config: {e}"));
        let engine = Engine::new(
            config,
            EngineOptions {
                ssh_config: Some("/dev/null".into()),
                accept_new_host_key: false,
                prompter: Arc::new(NoPrompt),
            },
        )
        .expect("engine");
        let s = engine.session(host).expect("h1");
        s.exec("true").await.expect("warm-up");
        let mut warm = Vec::new();
        for _ in 0..300 {
            let t = Instant::now();
            s.exec("true").await.expect("exec");
            warm.push(t.elapsed());
        }
        let mut ping = Vec::new();
        for _ in 0..300 {
            ping.push(s.ping().await.expect("ping"));
        }
        (warm, ping)
    });

    let ssh = |extra: &[&str]| {
        let t = Instant::now();
        let st = Command::new("ssh")
            .arg("-F")
            .arg(&ssh_config)
            .args(["-o", "BatchMode=yes"])
            .args(extra)
            .arg(&alias)
            .arg("true")
            .status()
            .expect("ssh");
        assert!(st.success(), "ssh failed");
        t.elapsed()
    };
    let fresh: Vec<Duration> = (0..30).map(|_| ssh(&[])).collect();

    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("cm.sock");
    let sock_s = sock.to_str().expect("utf-8 path");
    let master = Command::new("ssh")
        .arg("-F")
        .arg(&ssh_config)
        .args(["-o", "BatchMode=yes", "-M", "-S", sock_s, "-fN"])
        .arg(&alias)
        .status()
        .expect("ssh master");
    assert!(master.success());
    ssh(&["-S", sock_s]);
    let muxed: Vec<Duration> = (0..100).map(|_| ssh(&["-S", sock_s])).collect();
    let _ = Command::new("ssh")
        .args(["-S", sock_s, "-O", "exit"])
        .arg(&alias)
        .status();

    println!("command round trip to {host} (testbed, veth link); times in ms");
    println!(
        "{:<34} {:>5} {:>8} {:>8} {:>8} {:>8}",
        "method", "n", "median", "p90", "min", "max"
    );
    for (name, v) in [
        ("raijin warm connection: exec true", &warm),
        ("raijin warm connection: ping", &ping),
        ("ssh, fresh connection: ssh true", &fresh),
        ("ssh, ControlMaster: ssh true", &muxed),
    ] {
        let s = stats(v);
        println!(
            "{:<34} {:>5} {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
            name,
            v.len(),
            s.0,
            s.1,
            s.2,
            s.3
        );
    }
    let (w, f, m) = (stats(&warm).0, stats(&fresh).0, stats(&muxed).0);
    println!(
        "raijin warm vs fresh ssh: {:.1}x faster; vs ControlMaster: {:.1}x",
        f / w,
        m / w
    );
}

/// (median, p90, min, max) in milliseconds.
fn stats(v: &[Duration]) -> (f64, f64, f64, f64) {
    let mut ms: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.9), ms[0], ms[ms.len() - 1])
}
