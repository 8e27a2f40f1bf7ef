//! Day-two operations on real hosts (the testbed): `exec` keeping its argument
//! vector, the app's units started, stopped and restarted, what a release
//! installed, `down`, `prune`, the audit log, `init` and environments. Each test
//! deploys its own app (names `to*`, ports 9600–9699).

#[path = "common/apps.rs"]
mod apps;
mod common;

use apps::{binary_app, deploy_ok, fresh, ready, run};
use common::{stderr, stdout};

#[test]
fn exec_passes_several_arguments_exactly_and_runs_one_as_a_shell_line() {
    let Some(tb) = ready() else { return };
    let hosts = ["h2"];
    fresh(tb, "toexec", &hosts);
    let body = binary_app(tb, "toexec", &hosts, 9601, "", "");
    let (_d, cfg) = tb.temp_config(&body);
    deploy_ok(&cfg, "toexec", "x1");

    // Several arguments: the program gets each one as it was given.
    let out = run(
        &cfg,
        &[
            "exec",
            "toexec",
            "--",
            "sh",
            "-c",
            "echo \"$PORT\" \"$0\"",
            "x",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "9601 x\n");
    let out = run(
        &cfg,
        &[
            "exec", "toexec", "--", "printf", "%s|", "a b", "c'd", "$HOME",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "a b|c'd|$HOME|");
    let out = run(&cfg, &["exec", "toexec", "--", "sh", "-c", "echo hi there"]);
    assert_eq!(stdout(&out), "hi there\n", "{}", stderr(&out));

    // One argument: a shell command line.
    let out = run(
        &cfg,
        &["exec", "toexec", "--", "cd / && pwd; echo \"$PORT\""],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "/\n9601\n");
}

/// `app status --json` of `app`: per host, unit name → (ActiveState, MainPID).
fn unit_states(
    cfg: &std::path::Path,
    app: &str,
) -> std::collections::BTreeMap<(String, String), (String, Option<u64>)> {
    let out = run(cfg, &["app", "status", app, "--json"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("status json");
    let mut all = std::collections::BTreeMap::new();
    for h in v.as_array().expect("hosts") {
        for u in h["units"].as_array().expect("units") {
            for key in [
                "unit",
                "process",
                "active",
                "sub",
                "since",
                "main_pid",
                "restarts",
                "memory_bytes",
            ] {
                assert!(u.get(key).is_some(), "no {key} in {u}");
            }
            all.insert(
                (
                    h["host"].as_str().unwrap().to_string(),
                    u["unit"].as_str().unwrap().to_string(),
                ),
                (
                    u["active"].as_str().unwrap().to_string(),
                    u["main_pid"].as_u64(),
                ),
            );
        }
    }
    all
}

#[test]
fn app_restart_stop_start_and_status_on_every_host() {
    let Some(tb) = ready() else { return };
    let hosts = ["h1", "h2", "h3"];
    fresh(tb, "toctl", &hosts);
    let body = binary_app(
        tb,
        "toctl",
        &hosts,
        9610,
        "",
        "[apps.toctl.processes.worker]\ncommand = \"sleep 100000\"\nreplicas = 2\n",
    );
    let (_d, cfg) = tb.temp_config(&body);
    deploy_ok(&cfg, "toctl", "c1");

    let before = unit_states(&cfg, "toctl");
    // Per host: the serving slot's web unit, the standby's (none yet) and two workers.
    for h in hosts {
        let mine: Vec<_> = before.iter().filter(|((host, _), _)| host == h).collect();
        assert_eq!(mine.len(), 3, "{before:?}");
        for (_, (active, pid)) in &mine {
            assert_eq!(active, "active");
            assert!(pid.is_some());
        }
    }

    let out = run(&cfg, &["app", "restart", "toctl"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let after = unit_states(&cfg, "toctl");
    for (k, (active, pid)) in &before {
        let (a2, p2) = &after[k];
        assert_eq!(a2, "active", "{k:?} after restart");
        assert_ne!(p2, pid, "{k:?}: the main PID did not change");
        let _ = active;
    }

    // One process on one host.
    let out = run(&cfg, &["app", "restart", "toctl", "worker", "--host", "h2"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let again = unit_states(&cfg, "toctl");
    for (k, (_, pid)) in &after {
        let changed = again[k].1 != *pid;
        assert_eq!(changed, k.0 == "h2" && k.1.contains("-worker@"), "{k:?}");
    }

    let out = run(&cfg, &["app", "stop", "toctl"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    for (k, (active, _)) in unit_states(&cfg, "toctl") {
        assert_eq!(active, "inactive", "{k:?} after stop");
    }
    assert_eq!(apps::curl(tb, "h1", "toctl.test", "/health"), "");

    let out = run(&cfg, &["app", "start", "toctl"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    for (k, (active, _)) in unit_states(&cfg, "toctl") {
        assert_eq!(active, "active", "{k:?} after start");
    }
    assert_eq!(apps::curl(tb, "h1", "toctl.test", "/health"), "ok\n");

    // An unknown process is a request error before anything runs.
    let out = run(&cfg, &["app", "stop", "toctl", "wrker"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did you mean `worker`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn app_show_gives_the_installed_units_site_and_env_with_secrets_masked() {
    let Some(tb) = ready() else { return };
    let hosts = ["h3"];
    fresh(tb, "toshow", &hosts);
    let body = binary_app(
        tb,
        "toshow",
        &hosts,
        9620,
        "GREETING = \"hi there\"\nTOKEN = \"env:TOSHOW_TOKEN\"\n",
        "[apps.toshow.processes.worker]\ncommand = \"sleep 100000\"\n\
         [apps.toshow.hooks]\npost_install = \"echo installed\"\n",
    );
    let (_d, cfg) = tb.temp_config(&body);
    let c = cfg.to_str().unwrap();
    let env = [("TOSHOW_TOKEN", "tok-s3cret-value")];
    let out = common::raijin_env(
        &["-c", c, "deploy", "toshow", "--version", "s1", "--yes"],
        &env,
    );
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));

    let json = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["-c", c, "app", "show", "toshow"];
        all.extend_from_slice(args);
        all.push("--json");
        let out = common::raijin_env(&all, &env);
        assert!(
            out.status.success(),
            "{args:?}: {}\n{}",
            stdout(&out),
            stderr(&out)
        );
        serde_json::from_str(&stdout(&out)).expect("json")
    };

    // Units: the files on the host, byte for byte.
    let units = json(&["units", "--host", "h3"]);
    assert_eq!(units["release"], "s1");
    let files = units["files"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "/etc/systemd/system/toshow-worker.service",
            "/etc/systemd/system/toshow-web@a1.service"
        ]
    );
    for f in files {
        let on_host = tb.ssh("h3", &format!("cat {}", f["path"].as_str().unwrap()));
        assert_eq!(f["contents"].as_str().unwrap(), on_host);
    }
    // The preview renders the same files for this configuration (and slot b's).
    let preview = json(&["units"]);
    let p: Vec<&serde_json::Value> = preview["files"].as_array().unwrap().iter().collect();
    assert_eq!(p.len(), 3);
    for f in files {
        assert!(p.contains(&f), "{f} not in the preview");
    }

    // Caddy: the installed site.
    let caddy = json(&["caddy", "--host", "h3"]);
    let site = tb.ssh("h3", "cat /etc/caddy/raijin/toshow.caddy");
    assert_eq!(caddy["files"][0]["contents"].as_str().unwrap(), site);

    // Env: plain values shown, the secret masked, here and in the preview.
    for args in [&["env", "--host", "h3"][..], &["env"][..]] {
        let text = common::raijin_env(
            &[&["-c", c, "app", "show", "toshow"][..], args].concat(),
            &env,
        );
        let text = stdout(&text);
        assert!(text.contains("GREETING=\"hi there\"\n"), "{text}");
        assert!(text.contains("TOKEN=****\n"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }

    let hooks = json(&["hooks", "--host", "h3"]);
    assert_eq!(
        hooks["files"][0]["contents"].as_str().unwrap(),
        "post_install = echo installed\n"
    );
}

/// `raijin audit APP -n N --json`: the entries, newest first.
fn audit_lines(cfg: &std::path::Path, app: &str, n: usize) -> Vec<serde_json::Value> {
    let out = run(cfg, &["audit", app, "-n", &n.to_string(), "--json"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("an audit line"))
        .collect()
}

#[test]
fn prune_on_demand_keeps_n_and_the_audit_log_shows_it_newest_first() {
    let Some(tb) = ready() else { return };
    let hosts = ["h1", "h2"];
    fresh(tb, "toprune", &hosts);
    let body = binary_app(tb, "toprune", &hosts, 9630, "", "");
    let (_d, cfg) = tb.temp_config(&body);
    for (i, v) in ["p1", "p2", "p3", "p4"].iter().enumerate() {
        // Each release is other content: a changed environment.
        let body = body.replace(
            "PORT = \"9630\"\n",
            &format!("PORT = \"9630\"\nN = \"{i}\"\n"),
        );
        std::fs::write(&cfg, body).unwrap();
        deploy_ok(&cfg, "toprune", v);
    }
    let releases = |h: &str| tb.ssh(h, "ls /var/lib/raijin/toprune/releases");
    assert_eq!(releases("h1"), "p1\np2\np3\np4\n");

    let out = run(&cfg, &["prune", "toprune", "--keep", "2"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("removed 2 releases"),
        "{}",
        stderr(&out)
    );
    for h in hosts {
        assert_eq!(releases(h), "p3\np4\n");
    }
    assert_eq!(apps::curl(tb, "h2", "toprune.test", "/version"), "p4\n");

    let out = run(&cfg, &["app", "restart", "toprune", "web", "--host", "h1"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let entries = audit_lines(&cfg, "toprune", 5);
    assert_eq!(entries.len(), 5);
    let what: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["host"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(what[0], ("restart web".to_string(), "h1".to_string()));
    assert_eq!(what[1].0, "prune");
    assert_eq!(what[2].0, "prune");
    assert_eq!(what[3].0, "deploy");
    assert_eq!(entries[3]["version"], "p4");
    assert_eq!(entries[0]["version"], "p4");
    for e in &entries {
        assert_eq!(e["outcome"], "ok");
        assert!(e["by"].as_str().unwrap().contains('@'));
    }
    let ats: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = ats.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ats, sorted);

    let human = run(&cfg, &["audit", "toprune", "-n", "2"]);
    assert_eq!(stdout(&human).lines().count(), 2, "{}", stdout(&human));
}

/// The testbed's hosts are separate machines down to their cgroups: a unit on one
/// host holds only its own processes, not those of the same-named unit on another
/// (which `down` would wait for, and fail to kill).
#[test]
fn same_named_units_on_two_hosts_hold_only_their_own_processes() {
    let Some(tb) = ready() else { return };
    let _h4 = common::share_host("h4");
    let _h5 = common::share_host("h5");
    let unit = "raijin-test-cgroup.service";
    for h in ["h4", "h5"] {
        tb.ssh(
            h,
            &format!(
                "systemctl stop {unit} 2>/dev/null; systemctl reset-failed {unit} 2>/dev/null; \
                 systemd-run --quiet --unit={unit} sleep 60"
            ),
        );
    }
    for h in ["h4", "h5"] {
        let out = tb.ssh(
            h,
            &format!(
                "p=$(systemctl show -P ControlGroup {unit}); f=/sys/fs/cgroup/unified$p/cgroup.procs; \
                 [ -e \"$f\" ] || f=/sys/fs/cgroup$p/cgroup.procs; \
                 echo \"main $(systemctl show -P MainPID {unit})\"; cat \"$f\"; systemctl stop {unit}"
            ),
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{h}: the unit's cgroup holds:\n{out}");
        assert_eq!(lines[0], format!("main {}", lines[1]), "{h}:\n{out}");
    }
}

#[test]
fn down_leaves_no_unit_or_site_a_fresh_deploy_works_and_purge_removes_the_data() {
    let Some(tb) = ready() else { return };
    let hosts = ["h2", "h3"];
    fresh(tb, "todown", &hosts);
    let body = binary_app(
        tb,
        "todown",
        &hosts,
        9640,
        "",
        // `stubborn` exits 3 on SIGTERM, so stopping it leaves a failed unit loaded
        // until its failure is reset.
        "drain_secs = 60\n[apps.todown.processes.worker]\ncommand = \"sleep 100000\"\nreplicas = 2\n\
         [apps.todown.processes.stubborn]\n\
         command = \"/bin/sh -c 'trap \\\"exit 3\\\" TERM; sleep 100000 & wait'\"\n",
    );
    let (_d, cfg) = tb.temp_config(&body);
    deploy_ok(&cfg, "todown", "d1");
    deploy_ok(&cfg, "todown", "d2");
    let left = "ls /etc/systemd/system | grep -c '^todown-' || true; \
                ls /etc/caddy/raijin | grep -c '^todown' || true; \
                systemctl list-units --all --plain --no-legend 'todown-*' 'raijin.drain-todown-*' 'raijin.activate-todown*' | grep -c . || true; \
                pgrep -c -u todown || true";
    // Both slots and the draining old one exist before.
    assert_eq!(
        tb.ssh(
            "h2",
            "cat /var/lib/raijin/todown/slot-units.a /var/lib/raijin/todown/slot-units.b | wc -l"
        )
        .trim(),
        "2"
    );
    assert_ne!(
        tb.ssh("h2", left).split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "0", "0"]
    );

    // Without a terminal and without --yes it refuses.
    let out = run(&cfg, &["down", "todown"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));

    let out = run(&cfg, &["down", "todown", "--yes"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    for h in hosts {
        assert_eq!(
            tb.ssh(h, left).split_whitespace().collect::<Vec<_>>(),
            ["0", "0", "0", "0"],
            "{h}"
        );
        // Data and releases stay.
        assert_eq!(
            tb.ssh(
                h,
                "test -d /opt/raijin/todown && ls /var/lib/raijin/todown/releases"
            ),
            "d1\nd2\n"
        );
    }
    assert_eq!(apps::curl(tb, "h2", "todown.test", "/version"), "");
    let out = run(&cfg, &["status", "todown", "--json"]);
    assert!(
        stdout(&out).contains("\"current\": null"),
        "{}",
        stdout(&out)
    );

    // A fresh deploy works, and down again with --purge removes the data too.
    deploy_ok(&cfg, "todown", "d3");
    assert_eq!(apps::curl(tb, "h3", "todown.test", "/version"), "d3\n");
    let out = run(&cfg, &["down", "todown", "--purge", "--yes"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    for h in hosts {
        assert_eq!(
            tb.ssh(h, left).split_whitespace().collect::<Vec<_>>(),
            ["0", "0", "0", "0"],
            "{h}"
        );
        assert_eq!(
            tb.ssh(h, "test -e /opt/raijin/todown || echo gone"),
            "gone\n"
        );
        assert_eq!(tb.ssh(h, "ls /var/lib/raijin/todown"), "audit.log\n");
    }

    // Both are audited, newest first.
    let entries = audit_lines(&cfg, "todown", 5);
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["down --purge", "down --purge", "deploy", "deploy", "down"]
    );
    assert_eq!(entries[0]["version"], "d3");
    assert_eq!(entries[4]["version"], "d2");

    // After a purge the app deploys as on a new host.
    deploy_ok(&cfg, "todown", "d4");
    assert_eq!(apps::curl(tb, "h2", "todown.test", "/version"), "d4\n");
    let out = run(&cfg, &["down", "todown", "--purge", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn init_for_a_static_site_deploys_once_a_host_is_named() {
    let Some(tb) = ready() else { return };
    let dir = tempfile::Builder::new().prefix("toinit").tempdir().unwrap();
    std::fs::create_dir(dir.path().join("public")).unwrap();
    std::fs::write(dir.path().join("public/index.html"), "made by init\n").unwrap();
    let cfg = dir.path().join("raijin.toml");
    let out = common::raijin_cmd()
        .args(["-c", cfg.to_str().unwrap(), "init"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let app = stdout(&out)
        .split("app ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_string();
    assert!(app.starts_with("toinit"), "{}", stdout(&out));
    fresh(tb, &app, &["h2"]);
    // The one thing left to fill in: a host.
    let written = std::fs::read_to_string(&cfg).unwrap();
    let filled = format!(
        "{}{}",
        tb.host_block("h2", "h2"),
        written.replace("hosts = []", "hosts = [\"h2\"]")
    );
    std::fs::write(&cfg, filled).unwrap();
    let check = run(&cfg, &["config", "check"]);
    assert!(check.status.success(), "{}", stderr(&check));
    deploy_ok(&cfg, &app, "i1");
    assert_eq!(
        apps::curl(tb, "h2", &format!("{app}.localhost"), "/index.html"),
        "made by init\n"
    );
    fresh(tb, &app, &["h2"]);
}

#[test]
fn an_environment_deploys_to_its_own_hosts_with_its_own_values() {
    let Some(tb) = ready() else { return };
    fresh(tb, "toenv", &["h1", "h2"]);
    let body = binary_app(tb, "toenv", &["h1"], 9611, "GREETING = \"from base\"\n", "");
    let (d, cfg) = tb.temp_config(&body);
    std::fs::write(
        d.path().join("raijin.staging.toml"),
        format!(
            "{}\n[apps.toenv]\nhosts = [\"h2\"]\n\n[apps.toenv.env]\nGREETING = \"from staging\"\n",
            tb.host_block("h2", "h2")
        ),
    )
    .unwrap();
    let out = run(
        &cfg,
        &[
            "-e",
            "staging",
            "deploy",
            "toenv",
            "--version",
            "s1",
            "--yes",
        ],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        apps::curl(tb, "h2", "toenv.test", "/env/GREETING"),
        "from staging"
    );
    let h1 = tb.ssh(
        "h1",
        "ls /var/lib/raijin/toenv/releases 2>/dev/null | wc -l",
    );
    assert_eq!(h1.trim(), "0", "the base config's host is not staging's");

    // An error in the environment file names that file, with line and column.
    std::fs::write(
        d.path().join("raijin.staging.toml"),
        "[apps.toenv]\nhosts = [\"h9\"]\n",
    )
    .unwrap();
    let out = run(&cfg, &["-e", "staging", "deploy", "toenv", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}:2:10: error: ",
            d.path().join("raijin.staging.toml").display()
        )),
        "{err}"
    );
    fresh(tb, "toenv", &["h1", "h2"]);
}
