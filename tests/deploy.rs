//! The deploy pipeline against real hosts on the testbed: systemd units,
//! Caddy, the chunk store, health-gated activation, rollback, locks, pruning
//! and hooks. Each test deploys its own app (own name, domain and port), so
//! tests run in parallel without touching each other's state.

#[path = "common/apps.rs"]
mod apps;
mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use apps::{binary_app, curl, deploy, fresh, history, ready, report, run, static_app};
use common::{Testbed, lock_host, raijin, share_host, stderr, stdout};

#[test]
fn deploy_to_three_hosts_hardened_own_user_private_env() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tbasic", &["h1", "h2", "h3"]);
    let (_d, cfg) = tb.temp_config(&binary_app(tb, "tbasic", &["h1", "h2", "h3"], 9101, "", ""));
    let out = deploy(&cfg, "tbasic", "v1");
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let rep = report(&out);
    assert_eq!(rep["hosts"].as_array().unwrap().len(), 3);
    // Every event line is JSON naming its step; push events name their host.
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    for h in ["h1", "h2", "h3"] {
        assert!(
            events
                .iter()
                .any(|e| e["event"] == "step_finished" && e["step"] == "push" && e["host"] == h)
        );
    }
    for h in ["h1", "h2", "h3"] {
        assert_eq!(
            curl(tb, h, "tbasic.test", "/"),
            format!("hello from v1 on {h}\n")
        );
        let score = tb.ssh(h, "systemd-analyze security tbasic-web.service | tail -n1");
        println!("{h}: {}", score.trim());
        let n: f64 = score
            .split(':')
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no score in {score}"));
        assert!(n <= 1.5, "{h}: exposure {n}");
        let user = tb.ssh(
            h,
            "ps -o user= -p $(systemctl show -p MainPID --value tbasic-web.service)",
        );
        assert_eq!(user.trim(), "tbasic");
        let shell = tb.ssh(h, "getent passwd tbasic | cut -d: -f7");
        assert_eq!(shell.trim(), "/usr/sbin/nologin");
        let env = tb.ssh(
            h,
            "stat -c '%a %U:%G' /var/lib/raijin/tbasic/current/.raijin/env",
        );
        assert_eq!(env.trim(), "640 root:tbasic");
    }
}

fn write_random(path: &Path, len: usize, seed: u64) {
    let mut x = seed;
    let data: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(path, data).unwrap();
}

#[test]
fn redeploys_send_nothing_unchanged_and_one_chunk_for_a_small_edit() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tsame", &["h2"]);
    fresh(tb, "tbig", &["h2"]);
    // Unchanged binary artifact under a new version id: no chunk crosses the wire.
    let (_d, cfg) = tb.temp_config(&binary_app(tb, "tsame", &["h2"], 9102, "", ""));
    let first = report(&deploy(&cfg, "tsame", "a1"));
    assert_eq!(first["hosts"][0]["ok"], true, "{first}");
    assert!(
        first["hosts"][0]["chunks_sent"].as_u64().unwrap() > 0,
        "{first}"
    );
    let again = report(&deploy(&cfg, "tsame", "a2"));
    println!("unchanged redeploy: {}", again["hosts"][0]);
    assert_eq!(again["hosts"][0]["ok"], true, "{again}");
    assert_eq!(again["hosts"][0]["chunks_sent"], 0, "{again}");
    assert_eq!(again["hosts"][0]["bytes_sent"], 0, "{again}");
    assert_eq!(curl(tb, "h2", "tsame.test", "/version"), "a2\n");

    // A 24 MiB artifact with 8 bytes changed in the middle: exactly one chunk is sent,
    // and the host's copy is the new file.
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "big\n").unwrap();
    let big = site.path().join("big.bin");
    write_random(&big, 24 << 20, 7);
    let (_d2, cfg2) = tb.temp_config(&static_app(tb, "tbig", &["h2"], site.path(), 5));
    let r1 = report(&deploy(&cfg2, "tbig", "b1"));
    assert_eq!(r1["hosts"][0]["ok"], true, "{r1}");
    let mut data = std::fs::read(&big).unwrap();
    for b in &mut data[12 << 20..(12 << 20) + 8] {
        *b ^= 0xff;
    }
    std::fs::write(&big, &data).unwrap();
    let r2 = report(&deploy(&cfg2, "tbig", "b2"));
    let size = r2["artifact_bytes"].as_u64().unwrap();
    let sent = r2["hosts"][0]["bytes_sent"].as_u64().unwrap();
    println!(
        "24 MiB artifact, 8 bytes changed: sent {sent} of {size} bytes in {} chunk(s)",
        r2["hosts"][0]["chunks_sent"]
    );
    assert_eq!(r2["hosts"][0]["ok"], true, "{r2}");
    assert_eq!(r2["hosts"][0]["chunks_sent"], 1, "{r2}");
    assert!(
        sent > 0 && sent <= 256 << 10,
        "one chunk is at most 256 KiB: {sent}"
    );
    let local = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&data))
    };
    let remote = tb.ssh("h2", "sha256sum /var/lib/raijin/tbig/current/site/big.bin");
    assert_eq!(remote.split_whitespace().next(), Some(local.as_str()));
    assert_eq!(history(&cfg2, "tbig")[0].current.as_deref(), Some("b2"));
}

#[test]
fn python_app_with_a_dependency_installs_without_an_index() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tpy", &["h3"]);
    // The host has no route out: no default route at all.
    let routes = tb.ssh("h3", "ip route");
    assert!(!routes.contains("default"), "{routes}");
    let dist = tempfile::tempdir().unwrap();
    let mut s = tb.host_block("h3", "h3");
    s.push_str(&format!(
        "[apps.tpy]\nhosts = [\"h3\"]\nbuild = \"SOURCE_DATE_EPOCH=315532800 python3 -m pip wheel --quiet --wheel-dir '{dist}' '{root}/assets/pyhello'\"\n\
         artifact = \"{dist}\"\nkind = \"python\"\n\
         [apps.tpy.env]\nPORT = \"9103\"\n\
         [apps.tpy.processes.web]\ncommand = \"pyhello\"\n\
         [apps.tpy.proxy]\ndomain = \"tpy.test\"\nprocess = \"web\"\nport = 9103\nhealth_path = \"/health\"\n",
        dist = dist.path().display(),
        root = tb.root.display()
    ));
    let (_d, cfg) = tb.temp_config(&s);
    let out = deploy(&cfg, "tpy", "p1");
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(
        curl(tb, "h3", "tpy.test", "/"),
        "pyhello p1 (dep idna 3.10)\n"
    );
}

#[test]
fn a_corrupted_chunk_fails_that_host_and_the_old_version_serves() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tcorrupt", &["h3"]);
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "corrupt v1\n").unwrap();
    write_random(&site.path().join("data.bin"), 1 << 20, 11);
    let (_d, cfg) = tb.temp_config(&static_app(tb, "tcorrupt", &["h3"], site.path(), 5));
    assert!(deploy(&cfg, "tcorrupt", "c1").status.success());
    // Damage every stored chunk of data.bin's first bytes: the next release
    // reuses them from the store, and their hash no longer matches.
    tb.ssh(
        "h3",
        "cd /var/lib/raijin/tcorrupt/store && for h in $(ls); do printf 'X' | dd of=$h bs=1 seek=100 conv=notrunc 2>/dev/null; done",
    );
    std::fs::write(site.path().join("index.html"), "corrupt v2\n").unwrap();
    let out = deploy(&cfg, "tcorrupt", "c2");
    assert!(!out.status.success());
    let rep = report(&out);
    let err = rep["hosts"][0]["error"].as_str().unwrap().to_string();
    println!("{err}");
    // The host names the file whose assembled content failed its hash: nothing else
    // in this deploy can produce that sentence.
    assert!(
        err.contains("data.bin: assembled content does not match the manifest"),
        "{err}"
    );
    assert_eq!(curl(tb, "h3", "tcorrupt.test", "/"), "corrupt v1\n");
}

#[test]
fn failed_health_check_rolls_back_audits_and_marks_bad() {
    let Some(tb) = ready() else { return };
    fresh(tb, "thealth", &["h1"]);
    let (_d, cfg) = tb.temp_config(&binary_app(tb, "thealth", &["h1"], 9104, "", ""));
    assert!(deploy(&cfg, "thealth", "g1").status.success());
    // The next release answers 500 on its health path.
    std::fs::write(
        &cfg,
        binary_app(tb, "thealth", &["h1"], 9104, "", "").replace(
            "PORT = \"9104\"\n",
            "PORT = \"9104\"\nHELLO_FAIL_HEALTH = \"1\"\n",
        ),
    )
    .unwrap();
    let started = Instant::now();
    let out = deploy(&cfg, "thealth", "g2");
    println!("failed deploy took {:?}", started.elapsed());
    assert!(!out.status.success());
    let err = report(&out)["hosts"][0]["error"]
        .as_str()
        .unwrap()
        .to_string();
    println!("{err}");
    assert!(
        err.contains("health check failed") && err.contains("g1 is serving again"),
        "{err}"
    );
    assert_eq!(curl(tb, "h1", "thealth.test", "/version"), "g1\n");
    let audit = tb.ssh("h1", "tail -n1 /var/lib/raijin/thealth/audit.log");
    let line: serde_json::Value = serde_json::from_str(audit.trim()).unwrap();
    assert_eq!(
        (line["version"].as_str(), line["outcome"].as_str()),
        (Some("g2"), Some("failed"))
    );
    let hist = run(&cfg, &["history", "thealth", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&hist.stdout).unwrap();
    let rels = v[0]["releases"].as_array().unwrap();
    let g2 = rels.iter().find(|r| r["version"] == "g2").unwrap();
    let g1 = rels.iter().find(|r| r["version"] == "g1").unwrap();
    assert_eq!(
        (g2["bad"].as_bool(), g1["current"].as_bool()),
        (Some(true), Some(true))
    );
}

/// How fast the old version answers is a benchmark (scripts/bench-timings,
/// scripts/bench-deploy); this test checks what a rollback does, with a generous bound.
#[test]
fn rollback_two_back_serves_that_release_through_caddy() {
    let Some(tb) = ready() else { return };
    fresh(tb, "troll", &["h2"]);
    let (_d, cfg) = tb.temp_config(&binary_app(tb, "troll", &["h2"], 9105, "", ""));
    for v in ["r1", "r2", "r3"] {
        assert!(deploy(&cfg, "troll", v).status.success());
    }
    assert_eq!(curl(tb, "h2", "troll.test", "/version"), "r3\n");
    let r1_dir = "stat -c '%i %Y' /var/lib/raijin/troll/releases/r1/.raijin/meta.json";
    let before = tb.ssh("h2", r1_dir);
    let started = Instant::now();
    let out = run(&cfg, &["rollback", "troll", "--to", "r1", "--yes"]);
    println!("rollback to r1: {:?}", started.elapsed());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(curl(tb, "h2", "troll.test", "/version"), "r1\n");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let hist = history(&cfg, "troll");
    assert_eq!(
        hist[0].versions,
        ["r3", "r2", "r1"],
        "nothing rebuilt or removed"
    );
    assert_eq!(hist[0].current.as_deref(), Some("r1"));
    // No rebuild or re-upload: r1's release is the very one deployed first.
    assert_eq!(tb.ssh("h2", r1_dir), before);
    let audit = tb.ssh("h2", "tail -n1 /var/lib/raijin/troll/audit.log");
    let line: serde_json::Value = serde_json::from_str(audit.trim()).unwrap();
    assert_eq!(
        (
            line["action"].as_str(),
            line["version"].as_str(),
            line["from_version"].as_str(),
            line["outcome"].as_str()
        ),
        (Some("rollback"), Some("r1"), Some("r3"), Some("ok"))
    );
}

#[test]
fn a_second_deploy_names_the_lock_holder_then_waits() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tlock", &["h3"]);
    // A slow build holds the lock for a few seconds.
    let body = binary_app(tb, "tlock", &["h3"], 9106, "", "").replace(
        "kind = \"binary\"\n",
        "kind = \"binary\"\nbuild = \"sleep 4\"\n",
    );
    let (_d, cfg) = tb.temp_config(&body);
    let c = cfg.to_str().unwrap().to_string();
    let c2 = c.clone();
    let first = std::thread::spawn(move || {
        raijin(&["-c", &c2, "deploy", "tlock", "--version", "l1", "--yes"])
    });
    // The first deploy holds the lock (its build is running).
    tb.wait_for_output(
        "h3",
        "test -d /var/lib/raijin/tlock/lock && echo held || echo free",
        "held",
        30,
    );
    let second = raijin(&["-c", &c, "deploy", "tlock", "--version", "l2", "--yes"]);
    assert!(!second.status.success());
    let err = stderr(&second);
    println!("{err}");
    assert!(
        err.contains("locked by") && err.contains("deploy of version l1"),
        "{err}"
    );
    let waited = raijin(&[
        "-c",
        &c,
        "deploy",
        "tlock",
        "--version",
        "l3",
        "--yes",
        "--lock-wait",
        "60",
    ]);
    assert!(waited.status.success(), "{}", stderr(&waited));
    assert!(first.join().unwrap().status.success());
    assert_eq!(curl(tb, "h3", "tlock.test", "/version"), "l3\n");
    let hist = run(&cfg, &["history", "tlock", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&hist.stdout).unwrap();
    let versions: Vec<&str> = v[0]["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["l3", "l1"], "l2 never reached the host");
}

#[test]
fn prune_keeps_three_releases_and_only_their_chunks() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tprune", &["h1"]);
    let site = tempfile::tempdir().unwrap();
    let (_d, cfg) = tb.temp_config(&static_app(tb, "tprune", &["h1"], site.path(), 3));
    for (i, v) in ["k1", "k2", "k3", "k4", "k5"].iter().enumerate() {
        std::fs::write(site.path().join("index.html"), format!("{v}\n")).unwrap();
        write_random(&site.path().join("blob.bin"), 300 << 10, 100 + i as u64);
        assert!(deploy(&cfg, "tprune", v).status.success());
    }
    let kept = tb.ssh("h1", "ls /var/lib/raijin/tprune/releases");
    assert_eq!(
        kept.split_whitespace().collect::<Vec<_>>(),
        ["k3", "k4", "k5"]
    );
    let store = tb.ssh("h1", "ls /var/lib/raijin/tprune/store | sort");
    let wanted = tb.ssh(
        "h1",
        "cat /var/lib/raijin/tprune/releases/*/.raijin/chunks | sort -u",
    );
    assert_eq!(store, wanted);
    assert_eq!(curl(tb, "h1", "tprune.test", "/"), "k5\n");
}

#[test]
fn a_failing_post_install_hook_stops_the_deploy_and_on_failure_runs() {
    let Some(tb) = ready() else { return };
    fresh(tb, "thook", &["h2"]);
    let (_d, cfg) = tb.temp_config(&binary_app(tb, "thook", &["h2"], 9107, "", ""));
    assert!(deploy(&cfg, "thook", "h1").status.success());
    let hooks = "[apps.thook.hooks]\npost_install = \"echo migrating $RAIJIN_VERSION as $(id -un); exit 4\"\non_failure = \"echo cleanup-after-failure\"\n";
    std::fs::write(&cfg, binary_app(tb, "thook", &["h2"], 9107, "", hooks)).unwrap();
    let out = deploy(&cfg, "thook", "h2");
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(text.contains("migrating h2 as thook"), "{text}");
    assert!(text.contains("cleanup-after-failure"), "{text}");
    let err = report(&out)["hosts"][0]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(err.contains("post_install hook"), "{err}");
    assert_eq!(curl(tb, "h2", "thook.test", "/version"), "h1\n");
}

#[test]
fn link_cut_during_push_keeps_the_old_version_and_the_next_deploy_completes() {
    let Some(tb) = ready() else { return };
    let _lock = lock_host("h4");
    fresh(tb, "tcut", &["h4"]);
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "cut v1\n").unwrap();
    write_random(&site.path().join("a.bin"), 1 << 20, 21);
    let body = format!(
        "[ssh]\nconnect_timeout_secs = 3\n\n{}",
        static_app(tb, "tcut", &["h4"], site.path(), 5)
    );
    let (_d, cfg) = tb.temp_config(&body);
    assert!(deploy(&cfg, "tcut", "x1").status.success());

    // A big new artifact; cut the link as soon as the push is under way.
    std::fs::write(site.path().join("index.html"), "cut v2\n").unwrap();
    write_random(&site.path().join("a.bin"), 96 << 20, 22);
    let mut child = common::raijin_cmd()
        .args([
            "-c",
            cfg.to_str().unwrap(),
            "deploy",
            "tcut",
            "--version",
            "x2",
            "--yes",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let mut rest = Vec::new();
    let mut cut = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v["event"] == "progress" && v["step"] == "push" && v["done"].as_u64() > Some(0) {
            cut = Some(tb.cut("h4"));
            break;
        }
        rest.push(line);
    }
    let cut = cut.expect("the push never reported progress");
    let cut_at = Instant::now();
    rest.extend(lines.map(|l| l.unwrap()));
    let status = child.wait().unwrap();
    cut.heal();
    println!("deploy ended {:?} after the cut", cut_at.elapsed());
    assert!(!status.success());
    let rep: serde_json::Value = rest
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "report")
        .expect("report");
    let err = rep["hosts"][0]["error"].as_str().unwrap();
    println!("{err}");
    // The push failed because the link was lost, and says so about h4.
    assert!(err.contains("h4: connection lost"), "{err}");
    assert_eq!(curl(tb, "h4", "tcut.test", "/"), "cut v1\n");
    // The next deploy completes (breaking the lock the cut deploy could not release).
    let out = run(
        &cfg,
        &[
            "deploy",
            "tcut",
            "--version",
            "x3",
            "--yes",
            "--force-unlock",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(curl(tb, "h4", "tcut.test", "/"), "cut v2\n");
}

#[test]
fn status_shows_units_and_flags_drift() {
    let Some(tb) = ready() else { return };
    let _h5 = share_host("h5");
    fresh(tb, "tstatus", &["h5"]);
    let (_d, cfg) = tb.temp_config(&binary_app(tb, "tstatus", &["h5"], 9108, "", ""));
    assert!(deploy(&cfg, "tstatus", "s1").status.success());
    let out = run(&cfg, &["status", "tstatus", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let host = &v[0]["hosts"][0];
    assert_eq!(host["current"], "s1");
    assert_eq!(host["units"][0]["unit"], "tstatus-web.service");
    assert_eq!(host["units"][0]["active"], "active");
    assert_eq!(host["drift"].as_array().unwrap().len(), 0);
    tb.ssh(
        "h5",
        "echo '# edited by hand' >> /etc/systemd/system/tstatus-web.service",
    );
    let out = run(&cfg, &["status", "tstatus"]);
    let text = stdout(&out);
    println!("{text}");
    assert!(
        text.contains("DRIFT: unit tstatus-web.service differs"),
        "{text}"
    );
}

#[test]
fn replicas_run_as_template_instances_and_timers_are_scheduled() {
    let Some(tb) = ready() else { return };
    let _h5 = share_host("h5");
    fresh(tb, "tshape", &["h5"]);
    let extra = "[apps.tshape.processes.worker]\n\
                 command = \"./hello serve --listen 127.0.0.1:$((9310 + RAIJIN_INSTANCE))\"\n\
                 replicas = 2\n\
                 [apps.tshape.processes.cleanup]\n\
                 command = \"echo cleaning as $(id -un)\"\n\
                 timer = \"*-*-* 04:00:00\"\n";
    let (_d, cfg) = tb.temp_config(&binary_app(tb, "tshape", &["h5"], 9109, "", extra));
    let out = deploy(&cfg, "tshape", "m1");
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let states = tb.ssh(
        "h5",
        "systemctl is-active tshape-web.service tshape-worker@1.service tshape-worker@2.service tshape-cleanup.timer",
    );
    assert_eq!(states.split_whitespace().collect::<Vec<_>>(), ["active"; 4]);
    for port in [9311, 9312] {
        let v = tb.ssh("h5", &format!("curl -s http://127.0.0.1:{port}/version"));
        assert_eq!(v, "m1\n", "worker on {port}");
    }
    // The timer's job runs as the app user when triggered.
    let job = tb.ssh(
        "h5",
        "systemctl start tshape-cleanup.service && journalctl -u tshape-cleanup.service -n 5 -o cat",
    );
    assert!(job.contains("cleaning as tshape"), "{job}");
    // Dropping a process removes its units on the next deploy.
    std::fs::write(&cfg, binary_app(tb, "tshape", &["h5"], 9109, "", "")).unwrap();
    assert!(deploy(&cfg, "tshape", "m2").status.success());
    let left = tb.ssh("h5", "ls /etc/systemd/system | grep '^tshape-' || true");
    assert_eq!(left.trim(), "tshape-web.service");
}

#[test]
fn ctrl_c_releases_the_locks() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tintr", &["h1", "h2"]);
    let body = binary_app(tb, "tintr", &["h1", "h2"], 9111, "", "").replace(
        "kind = \"binary\"\n",
        "kind = \"binary\"\nbuild = \"sleep 30\"\n",
    );
    let (_d, cfg) = tb.temp_config(&body);
    let child = common::raijin_cmd()
        .args([
            "-c",
            cfg.to_str().unwrap(),
            "deploy",
            "tintr",
            "--version",
            "i1",
            "--yes",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until both locks are taken (the build is running).
    for h in ["h1", "h2"] {
        tb.wait_for_output(
            h,
            "test -d /var/lib/raijin/tintr/lock && echo held || echo free",
            "held",
            20,
        );
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("releasing the deploy locks"),
        "{}",
        stderr(&out)
    );
    for h in ["h1", "h2"] {
        let lock = tb.ssh(
            h,
            "test -d /var/lib/raijin/tintr/lock && echo held || echo free",
        );
        assert_eq!(lock.trim(), "free", "{h}");
    }
}

#[test]
fn a_site_caddy_rejects_is_restored_and_the_previous_release_serves() {
    let Some(tb) = ready() else { return };
    let _lock = lock_host("h4");
    fresh(tb, "tcaddy", &["h4"]);
    let (_d, cfg) = tb.temp_config(&binary_app(tb, "tcaddy", &["h4"], 9112, "", ""));
    assert!(deploy(&cfg, "tcaddy", "y1").status.success());
    let site_before = tb.ssh("h4", "cat /etc/caddy/raijin/tcaddy.caddy");
    // Anything making Caddy's config invalid; the new release also moves to
    // another port, so its site differs and must be installed.
    tb.ssh(
        "h4",
        "echo 'this is { not caddy' > /etc/caddy/raijin/zz-broken.caddy",
    );
    struct Cleanup<'a>(&'a Testbed);
    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            self.0.ssh(
                "h4",
                "rm -f /etc/caddy/raijin/zz-broken.caddy; systemctl reload caddy",
            );
        }
    }
    let _c = Cleanup(tb);
    std::fs::write(&cfg, binary_app(tb, "tcaddy", &["h4"], 9113, "", "")).unwrap();
    let out = deploy(&cfg, "tcaddy", "y2");
    assert!(!out.status.success());
    let err = report(&out)["hosts"][0]["error"]
        .as_str()
        .unwrap()
        .to_string();
    println!("{err}");
    assert!(err.contains("Caddy rejected the new site"), "{err}");
    assert_eq!(
        tb.ssh("h4", "cat /etc/caddy/raijin/tcaddy.caddy"),
        site_before
    );
    assert_eq!(curl(tb, "h4", "tcaddy.test", "/version"), "y1\n");
}
