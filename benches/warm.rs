//! A redeploy and a rollback from a warm connection, as the console does them: one
//! engine, its SSH connection to the host already open, `deploy::deploy` and
//! `deploy::rollback` called in turn. Times each from the call until the wanted
//! version answers through the host's Caddy (polled every 5 ms), and until the call
//! returns. Prints figures; not run by CI.
//!
//! Run (as root, the testbed up): `cargo bench --bench warm -- [RUNS]` (default 5).
//! Under `cargo test --all-targets` (no `--bench` argument) it makes one run, so the
//! suite keeps it working. Uses testbed host h1 and app `bwarm` (port 9710), removed
//! afterwards.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use raijin::deploy::{self, DeployRequest, RollbackRequest};
use raijin::engine::events::Events;
use raijin::engine::{Engine, EngineOptions};

const APP: &str = "bwarm";
const PORT: u16 = 9710;
const HOST: &str = "h1";
const ADDR: &str = "10.77.1.2";

fn get_version() -> Option<String> {
    let addr: std::net::SocketAddr = format!("{ADDR}:80").parse().ok()?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    write!(
        s,
        "GET /version HTTP/1.1\r\nHost: {APP}.test\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.starts_with("HTTP/1.1 200").then(|| {
        out.rsplit("\r\n\r\n")
            .next()
            .unwrap_or("")
            .trim()
            .to_string()
    })
}

/// Seconds from `t0` until `/version` answers `want` (None after 10 s).
fn answered(t0: Instant, want: &str) -> Option<f64> {
    while t0.elapsed() < Duration::from_secs(10) {
        if get_version().as_deref() == Some(want) {
            return Some(t0.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// Take the app off the host again: units, site, state, user.
fn remove(root: &Path) {
    let script = format!(
        "systemctl stop raijin.activate-{APP}.service >/dev/null 2>&1; \
         for u in $(systemctl list-units --all --plain --no-legend '{APP}-*' 'raijin.drain-{APP}-*' | cut -d' ' -f1); do systemctl stop $u; done; \
         rm -f /etc/systemd/system/{APP}-*; systemctl daemon-reload; rm -rf /opt/raijin/{APP} /var/lib/raijin/{APP}; \
         if [ -f /etc/caddy/raijin/{APP}.caddy ]; then rm -f /etc/caddy/raijin/{APP}.caddy; systemctl reload caddy; fi; \
         userdel {APP} >/dev/null 2>&1; true"
    );
    let _ = std::process::Command::new(root.join("scripts/testbed"))
        .args(["ssh", HOST, &script])
        .status();
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(if benching { 5 } else { 1 });
    let _log = raijin::logging::init();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tb = root.join("target/testbed");
    let hello = root.join("target/hello/release/hello");
    if !tb.join("known_hosts").exists() || !hello.exists() {
        eprintln!(
            "needs the testbed (scripts/testbed up) and the sample app (scripts/demo builds it)"
        );
        std::process::exit(2);
    }
    let text = format!(
        "[hosts.{HOST}]\naddress = \"{ADDR}\"\nuser = \"root\"\nidentity_file = \"{}\"\nknown_hosts = \"{}\"\n\n\
         [apps.{APP}]\nhosts = [\"{HOST}\"]\nartifact = \"{}\"\nkind = \"binary\"\n\
         [apps.{APP}.env]\nPORT = \"{PORT}\"\n[apps.{APP}.processes.web]\ncommand = \"./hello serve\"\n\
         [apps.{APP}.proxy]\ndomain = \"{APP}.test\"\nprocess = \"web\"\nport = {PORT}\nhealth_path = \"/health\"\n",
        tb.join("keys/id_ed25519").display(),
        tb.join("known_hosts").display(),
        hello.display()
    );
    let config = raijin::config::load_str(&text, Path::new("raijin.toml")).expect("config");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let engine = Engine::new(
        config,
        EngineOptions {
            ssh_config: Some(PathBuf::from("/dev/null")),
            accept_new_host_key: false,
            prompter: Arc::new(raijin::ssh::NoPrompt),
        },
    )
    .expect("engine");
    remove(&root);
    let stamp = std::process::id();
    let deploy_v = |v: &str| {
        rt.block_on(deploy::deploy(
            &engine,
            DeployRequest {
                app: APP.into(),
                version: Some(v.into()),
                ..Default::default()
            },
            &Events::none(),
        ))
        .expect("deploy")
    };
    rt.block_on(raijin::operate::bootstrap(&engine, HOST))
        .expect("bootstrap");
    // Warm up: the connection opens and the first release lands.
    let r = deploy_v(&format!("w{stamp}-0"));
    assert!(r.hosts.iter().all(|h| h.ok), "{:?}", r.hosts);
    let (mut dep, mut dep_done, mut back, mut back_done) = (vec![], vec![], vec![], vec![]);
    for i in 1..=runs {
        let v = format!("w{stamp}-{i}");
        let prev = get_version().unwrap_or_default();
        let t0 = Instant::now();
        let (r, seen) = std::thread::scope(|s| {
            let w = s.spawn(|| answered(t0, &v));
            let r = deploy_v(&v);
            (r, w.join().ok().flatten())
        });
        dep_done.push(t0.elapsed().as_secs_f64());
        assert!(r.hosts.iter().all(|h| h.ok), "{:?}", r.hosts);
        dep.push(seen.expect("the new version never answered"));
        let t1 = Instant::now();
        let (r, seen) = std::thread::scope(|s| {
            let w = s.spawn(|| answered(t1, &prev));
            let r = rt
                .block_on(deploy::rollback(
                    &engine,
                    RollbackRequest {
                        app: APP.into(),
                        ..Default::default()
                    },
                    &Events::none(),
                ))
                .expect("rollback");
            (r, w.join().ok().flatten())
        });
        back_done.push(t1.elapsed().as_secs_f64());
        assert!(r.hosts.iter().all(|h| h.ok), "{:?}", r.hosts);
        back.push(seen.expect("the old version never answered"));
        // Forward again so the next run's redeploy starts from the newest release.
        deploy_v(&format!("w{stamp}-{i}b"));
    }
    remove(&root);
    println!("warm connection, host {HOST}, {runs} runs (median, min-max), seconds:");
    let row = |name: &str, v: &Vec<f64>| {
        let (lo, hi) = v
            .iter()
            .fold((f64::MAX, 0f64), |(a, b), x| (a.min(*x), b.max(*x)));
        println!("  {name:<40} {:.3} ({lo:.3}-{hi:.3})", median(v.clone()));
    };
    row("unchanged redeploy: new version answers", &dep);
    row("unchanged redeploy: call returned", &dep_done);
    row("rollback: old version answers", &back);
    row("rollback: call returned", &back_done);
}
