//! Host-side integrity on the testbed: the app user cannot make root act on what it
//! writes, a release is its content, odd version names are safe everywhere, locks
//! serialize deployers without deadlock or lost locks, environment values arrive
//! byte for byte, and an unreachable host stops a deploy before anything changes.
//! Each test deploys its own app.

#[path = "common/apps.rs"]
mod apps;
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use apps::{SshOnDrop, binary_app, curl, deploy, fresh, ready, report, run, static_app};
use common::{Testbed, lock_host, stderr, stdout};

/// What the app user tries, as a shell script: every path it could aim at root, each
/// attempt named. Prints `ALLOWED <what>` for an attempt that worked, `denied <what>`
/// otherwise, and `ATTACK-DONE` at the end.
fn attack(app: &str) -> String {
    format!(
        r#"S=/var/lib/raijin/{app}; A=/opt/raijin/{app}
t() {{ if ( eval "$2" ) >/dev/null 2>&1; then echo "ALLOWED $1"; else echo "denied $1"; fi; }}
t "append to the unit list $S/units" "echo ../../../root/victim >> $S/units"
t "remove $S/units" "rm $S/units"
t "repoint $S/current" "ln -sfn /etc $S/current"
t "plant a release in $S/releases" "mkdir $S/releases/evil"
t "write into the running release" "echo x >> $S/current/hello"
t "write the release env file" "echo EVIL=1 >> $S/current/.raijin/env"
t "plant units in the release" "echo x > $S/current/.raijin/units/{app}-evil.service"
t "write a chunk into $S/store" "echo x > $S/store/evil"
t "read the content key $S/key" "cat $S/key"
t "take the lock $S/lock" "mkdir $S/lock"
t "write the activation program" "echo x > $S/run/activate.sh"
t "rename the state dir $S" "mv $S $S.moved"
t "append to the audit log" "echo x >> $S/audit.log"
t "plant a unit file" "echo x > /etc/systemd/system/{app}-evil.service"
t "replace the Caddy site" "echo x > /etc/caddy/raijin/{app}.caddy"
# The legacy layout root once trusted lived in the app's own dir: plant one.
mkdir -p $A/.install/releases/evil/.raijin/units $A/.install/store
printf '../../../root/victim\n{app}-evil.service\n' > $A/.install/units
printf '[Service]\nExecStart=/bin/sh -c "touch /root/pwned"\n' > $A/.install/releases/evil/.raijin/units/{app}-evil.service
echo '{{}}' > $A/.install/releases/evil/.raijin/meta.json
ln -sfn releases/evil $A/.install/current
ln -sfn /root $A/.install/store/root
echo ATTACK-DONE
"#
    )
}

fn canaries_intact(tb: &Testbed, host: &str, app: &str, when: &str) {
    let out = tb.ssh(
        host,
        &format!(
            "cat /root/victim /etc/raijin-canary; test ! -e /root/pwned && echo no-pwned; \
             ls /etc/systemd/system | grep -c -- '{app}-evil' || true; \
             ls /var/lib/raijin/{app}/releases; cat /var/lib/raijin/{app}/units"
        ),
    );
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("canary"), "{when}: /root/victim:\n{out}");
    assert_eq!(
        lines.next(),
        Some("canary"),
        "{when}: /etc/raijin-canary:\n{out}"
    );
    assert_eq!(
        lines.next(),
        Some("no-pwned"),
        "{when}: a planted unit ran:\n{out}"
    );
    assert_eq!(
        lines.next(),
        Some("0"),
        "{when}: a planted unit is installed:\n{out}"
    );
    let rest: Vec<&str> = lines.collect();
    assert!(!rest.contains(&"evil"), "{when}: a planted release:\n{out}");
    for u in rest.iter().filter(|l| l.contains(".service")) {
        assert!(
            u.starts_with(&format!("{app}-web")) || u.starts_with(&format!("{app}-attacker")),
            "{when}: unit list holds {u}"
        );
    }
}

fn denied_all(output: &str, source: &str) {
    // Lines the attack printed: plain lines, or the `line` of JSON output events.
    let printed: Vec<String> = output
        .lines()
        .map(|l| match serde_json::from_str::<serde_json::Value>(l) {
            Ok(v) if v["event"] == "output" => v["line"].as_str().unwrap_or_default().to_string(),
            Ok(_) => String::new(),
            Err(_) => l.to_string(),
        })
        .collect();
    assert!(
        printed.iter().any(|l| l == "ATTACK-DONE"),
        "{source}: the attack did not run:\n{output}"
    );
    let allowed: Vec<&String> = printed
        .iter()
        .filter(|l| l.starts_with("ALLOWED "))
        .collect();
    assert!(allowed.is_empty(), "{source}: {allowed:?}");
    let denied = printed.iter().filter(|l| l.starts_with("denied ")).count();
    assert!(denied >= 15, "{source}: only {denied} attempts:\n{output}");
}

#[test]
fn the_app_user_cannot_make_root_act_on_what_it_writes() {
    let Some(tb) = ready() else { return };
    let app = "tevil";
    fresh(tb, app, &["h3"]);
    tb.ssh(
        "h3",
        "echo canary > /root/victim; echo canary > /etc/raijin-canary; rm -f /root/pwned",
    );
    let script = attack(app);
    // From inside the running service (the sandbox), from a hook, and from exec.
    let extra = format!(
        "[apps.{app}.processes.attacker]\ncommand = '''{script}exec sleep 3600'''\n\
         [apps.{app}.hooks]\npost_install = '''{script}'''\n"
    );
    let body = binary_app(tb, app, &["h3"], 9140, "", &extra)
        .replace("versions_to_keep = 5", "versions_to_keep = 2");
    let (_d, cfg) = tb.temp_config(&body);

    let first = deploy(&cfg, app, "e1");
    let text = format!("{}{}", stdout(&first), stderr(&first));
    assert!(first.status.success(), "{text}");
    denied_all(&text, "the post_install hook");
    canaries_intact(tb, "h3", app, "after the first deploy");
    let journal = tb.ssh(
        "h3",
        &format!("journalctl -u {app}-attacker.service -o cat --no-pager"),
    );
    denied_all(&journal, "the running service");

    let exec = run(&cfg, &["exec", app, "--", "sh", "-c", &script]);
    denied_all(&stdout(&exec), "raijin exec");

    // Every root-side step runs after the plants: deploy, rollback, prune, revert.
    assert!(deploy(&cfg, app, "e2").status.success());
    canaries_intact(tb, "h3", app, "after a second deploy (and its prune)");
    let back = run(&cfg, &["rollback", app, "--yes"]);
    assert!(back.status.success(), "{}", stderr(&back));
    canaries_intact(tb, "h3", app, "after a rollback");
    assert!(deploy(&cfg, app, "e3").status.success());
    std::fs::write(
        &cfg,
        body.replace(
            "PORT = \"9140\"\n",
            "PORT = \"9140\"\nHELLO_FAIL_HEALTH = \"1\"\n",
        ),
    )
    .unwrap();
    let failed = deploy(&cfg, app, "e4");
    assert!(!failed.status.success());
    let err = report(&failed)["hosts"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(err.contains("e3 is serving again"), "{err}");
    canaries_intact(tb, "h3", app, "after a health revert");
    assert_eq!(curl(tb, "h3", "tevil.test", "/version"), "e3\n");
}

/// The release id a report says the host got.
fn release_of(out: &std::process::Output) -> String {
    report(out)["hosts"][0]["release"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_same_version_with_other_content_never_reports_the_old_content() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tsamev", &["h1"]);
    // The environment: a changed value under the same version id takes effect.
    let with = |v: &str| {
        binary_app(
            tb,
            "tsamev",
            &["h1"],
            9141,
            &format!("GREETING = \"{v}\"\n"),
            "",
        )
    };
    let (_d, cfg) = tb.temp_config(&with("one"));
    let a = deploy(&cfg, "tsamev", "v1");
    assert!(a.status.success(), "{}", stderr(&a));
    assert_eq!(release_of(&a), "v1");
    assert_eq!(curl(tb, "h1", "tsamev.test", "/env/GREETING"), "one");
    std::fs::write(&cfg, with("two")).unwrap();
    let b = deploy(&cfg, "tsamev", "v1");
    assert!(b.status.success(), "{}", stderr(&b));
    let rb = release_of(&b);
    assert!(rb.starts_with("v1~"), "{rb}");
    assert_eq!(curl(tb, "h1", "tsamev.test", "/env/GREETING"), "two");
    assert_eq!(curl(tb, "h1", "tsamev.test", "/version"), "v1\n");
    // The same content again reuses that release: nothing new on the host.
    let c = deploy(&cfg, "tsamev", "v1");
    assert!(c.status.success());
    assert_eq!(release_of(&c), rb);
    let text = stdout(&c);
    assert!(
        text.contains("with this content is already on the host"),
        "{text}"
    );
    // A secret (env adapter) rotated under the same version id.
    std::fs::write(
        &cfg,
        binary_app(
            tb,
            "tsamev",
            &["h1"],
            9141,
            "TOKEN = \"env:RAIJIN_TEST_ROTATED\"\n",
            "",
        ),
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let dep = |value: &str| {
        common::raijin_env(
            &[
                "-c",
                c,
                "deploy",
                "tsamev",
                "--version",
                "v1",
                "--yes",
                "--json",
            ],
            &[("RAIJIN_TEST_ROTATED", value)],
        )
    };
    assert!(dep("first-secret").status.success());
    assert_eq!(curl(tb, "h1", "tsamev.test", "/env/TOKEN"), "first-secret");
    let rotated = dep("rotated-secret");
    assert!(rotated.status.success());
    assert_eq!(
        curl(tb, "h1", "tsamev.test", "/env/TOKEN"),
        "rotated-secret"
    );
    // No secret in clear, nor as a plain hash, in the release metadata.
    let meta = tb.ssh(
        "h1",
        "cat /var/lib/raijin/tsamev/releases/*/.raijin/meta.json /var/lib/raijin/tsamev/releases/*/.raijin/content",
    );
    assert!(
        !meta.contains("rotated-secret") && !meta.contains("first-secret"),
        "{meta}"
    );

    // A static site: a mode-only change, then a symlink-only change.
    fresh(tb, "tsamef", &["h1"]);
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "same\n").unwrap();
    std::fs::write(site.path().join("run.sh"), "#!/bin/sh\n").unwrap();
    std::os::unix::fs::symlink("index.html", site.path().join("link")).unwrap();
    let (_d2, cfg2) = tb.temp_config(&static_app(tb, "tsamef", &["h1"], site.path(), 5));
    assert!(deploy(&cfg2, "tsamef", "s1").status.success());
    let mode = |tb: &Testbed| {
        tb.ssh("h1", "stat -c %a /var/lib/raijin/tsamef/current/site/run.sh; readlink /var/lib/raijin/tsamef/current/site/link")
    };
    assert_eq!(mode(tb), "644\nindex.html\n");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(
        site.path().join("run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let m = deploy(&cfg2, "tsamef", "s1");
    assert!(m.status.success(), "{}", stderr(&m));
    assert_ne!(release_of(&m), "s1");
    assert_eq!(mode(tb), "755\nindex.html\n");
    std::fs::remove_file(site.path().join("link")).unwrap();
    std::os::unix::fs::symlink("run.sh", site.path().join("link")).unwrap();
    let l = deploy(&cfg2, "tsamef", "s1");
    assert!(l.status.success(), "{}", stderr(&l));
    assert_eq!(mode(tb), "755\nrun.sh\n");
}

/// The store's chunks, and the union of every kept release's chunk list.
fn store_and_union(tb: &Testbed, host: &str, app: &str) -> (String, String) {
    let out = tb.ssh(
        host,
        &format!(
            "cd /var/lib/raijin/{app} && ls store | sort && echo --- && cat releases/*/.raijin/chunks | grep . | sort -u"
        ),
    );
    let (a, b) = out.split_once("---\n").unwrap_or((&out, ""));
    (a.to_string(), b.to_string())
}

#[test]
fn odd_version_names_are_safe_through_deploy_prune_and_rollback() {
    let Some(tb) = ready() else { return };
    fresh(tb, "todd", &["h2"]);
    let site = tempfile::tempdir().unwrap();
    let (_d, cfg) = tb.temp_config(&static_app(tb, "todd", &["h2"], site.path(), 2));
    let long = format!("9{}", "x".repeat(63));
    let names = [
        "1.0",
        "2+build.7",
        "0-rc1",
        long.as_str(),
        "v9.9.9-beta.1_x",
    ];
    for (i, v) in names.iter().enumerate() {
        std::fs::write(site.path().join("index.html"), format!("{v}\n")).unwrap();
        std::fs::write(site.path().join(format!("f{i}.txt")), format!("file {i}\n")).unwrap();
        let out = deploy(&cfg, "todd", v);
        assert!(out.status.success(), "{v}: {}", stderr(&out));
        assert_eq!(curl(tb, "h2", "todd.test", "/"), format!("{v}\n"));
        let (store, union) = store_and_union(tb, "h2", "todd");
        assert!(!store.is_empty());
        assert_eq!(store, union, "after {v}");
    }
    // A name that would read as an option is refused before anything happens.
    let before = store_and_union(tb, "h2", "todd");
    let bad = run(&cfg, &["deploy", "todd", "--version=-rc1", "--yes"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("invalid version id `-rc1`: it must start with a letter or a digit"),
        "{}",
        stderr(&bad)
    );
    assert_eq!(store_and_union(tb, "h2", "todd"), before);
    // Rollback to the odd previous name.
    let back = run(&cfg, &["rollback", "todd", "--yes"]);
    assert!(back.status.success(), "{}", stderr(&back));
    assert_eq!(curl(tb, "h2", "todd.test", "/"), format!("{long}\n"));
    let (store, union) = store_and_union(tb, "h2", "todd");
    assert_eq!(store, union, "after the rollback");
}

fn spawn_deploy(cfg: &str, version: &str, wait: Option<u64>) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_raijin"));
    cmd.args(["-c", cfg, "deploy", "tlocks", "--version", version, "--yes"]);
    if let Some(w) = wait {
        cmd.args(["--lock-wait", &w.to_string()]);
    }
    cmd.env_remove("SSH_AUTH_SOCK")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn raijin")
}

#[test]
fn concurrent_deploys_take_turns_and_one_of_two_wins_without_waiting() {
    let Some(tb) = ready() else { return };
    let hosts = ["h1", "h2", "h3"];
    fresh(tb, "tlocks", &hosts);
    // A short build keeps the locks held long enough for the two to overlap.
    let body = binary_app(tb, "tlocks", &hosts, 9142, "", "").replace(
        "kind = \"binary\"\n",
        "kind = \"binary\"\nbuild = \"sleep 0.5\"\n",
    );
    let (_d, cfg) = tb.temp_config(&body);
    let c = cfg.to_str().unwrap().to_string();
    let mut finished = 0;
    for round in 0..10 {
        let a = spawn_deploy(&c, &format!("a{round}"), Some(20));
        let b = spawn_deploy(&c, &format!("b{round}"), Some(20));
        for (name, child) in [("a", a), ("b", b)] {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round} {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            finished += 1;
        }
    }
    assert_eq!(finished, 20);
    for round in 0..10 {
        let a = spawn_deploy(&c, &format!("c{round}"), None);
        let b = spawn_deploy(&c, &format!("d{round}"), None);
        let outs: Vec<_> = [a, b]
            .into_iter()
            .map(|ch| ch.wait_with_output().unwrap())
            .collect();
        let won = outs.iter().filter(|o| o.status.success()).count();
        assert_eq!(
            won,
            1,
            "round {round}: {won} of 2 won:\n{}\n{}",
            stderr(&outs[0]),
            stderr(&outs[1])
        );
        let loser = outs.iter().find(|o| !o.status.success()).unwrap();
        assert!(stderr(loser).contains("is locked by"), "{}", stderr(loser));
        // Nothing of the loser is left locked.
        for h in hosts {
            assert_eq!(
                tb.ssh(
                    h,
                    "test -d /var/lib/raijin/tlocks/lock && echo held || echo free"
                )
                .trim(),
                "free",
                "round {round} {h}"
            );
        }
    }
}

#[test]
fn ctrl_c_of_a_waiting_deploy_leaves_the_holders_lock() {
    let Some(tb) = ready() else { return };
    fresh(tb, "twait", &["h2"]);
    let body = binary_app(tb, "twait", &["h2"], 9143, "", "").replace(
        "kind = \"binary\"\n",
        "kind = \"binary\"\nbuild = \"sleep 6\"\n",
    );
    let (_d, cfg) = tb.temp_config(&body);
    let c = cfg.to_str().unwrap();
    let holder = Command::new(env!("CARGO_BIN_EXE_raijin"))
        .args(["-c", c, "deploy", "twait", "--version", "w1", "--yes"])
        .env_remove("SSH_AUTH_SOCK")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lock = || {
        tb.ssh(
            "h2",
            "cat /var/lib/raijin/twait/lock/token 2>/dev/null || echo none",
        )
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let token = loop {
        let t = lock();
        if t.trim() != "none" {
            break t;
        }
        assert!(Instant::now() < deadline, "the holder never took the lock");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut waiter = Command::new(env!("CARGO_BIN_EXE_raijin"))
        .args([
            "-c",
            c,
            "deploy",
            "twait",
            "--version",
            "w2",
            "--yes",
            "--lock-wait",
            "60",
            "--json",
        ])
        .env_remove("SSH_AUTH_SOCK")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the waiter has asked for the lock once (its lock step started).
    let out = waiter.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(out));
    let asked = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("\"step\":\"lock\""));
    assert!(asked, "the waiter never reached its lock step");
    assert!(
        Command::new("kill")
            .args(["-INT", &waiter.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = waiter.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert_eq!(lock(), token, "the holder's lock is gone");
    let held = holder.wait_with_output().unwrap();
    assert!(held.status.success(), "{}", stderr(&held));
    assert_eq!(curl(tb, "h2", "twait.test", "/version"), "w1\n");
}

#[test]
fn environment_values_arrive_byte_for_byte() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tenv", &["h1"]);
    let pem = "-----BEGIN TEST KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END TEST KEY-----";
    let odd = "quotes \" and ' back\\slash $HOME `x` =eq= ünï €";
    let vars = [
        ("PEM", pem),
        ("ODD", odd),
        ("TAB", "a\tb"),
        ("CRLF", "l1\r\nl2"),
    ];
    let env: String = vars
        .iter()
        .map(|(k, v)| format!("{k} = {}\n", toml::Value::String(v.to_string())))
        .collect();
    let hook = "[apps.tenv.hooks]\npost_install = \"printf '%s\\\\n' \\\"$PEM\\\" | wc -l; printf 'hook:%s\\\\n' \\\"$PEM\\\"\"\n";
    let (_d, cfg) = tb.temp_config(&binary_app(tb, "tenv", &["h1"], 9144, &env, hook));
    let out = deploy(&cfg, "tenv", "n1");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    for (k, v) in vars {
        assert_eq!(
            curl(tb, "h1", "tenv.test", &format!("/env/{k}")),
            v,
            "{k} in the service"
        );
    }
    // The hook sees three lines (plain values are shown: only secrets are masked).
    assert!(text.contains("\"line\":\"3\""), "{text}");
    // exec: byte for byte.
    for (k, v) in vars {
        let got = run(&cfg, &["exec", "tenv", "--", "printenv", k]);
        assert_eq!(stdout(&got), format!("{v}\n"), "{k} in exec");
    }
}

#[test]
fn an_unreachable_host_stops_the_deploy_before_the_build() {
    let Some(tb) = ready() else { return };
    let _lock = lock_host("h5");
    let hosts = ["h1", "h2", "h5"];
    fresh(tb, "treach", &hosts);
    let marker = tempfile::tempdir().unwrap();
    let built = marker.path().join("built");
    let body = format!(
        "[ssh]\nconnect_timeout_secs = 3\n\n{}",
        binary_app(tb, "treach", &hosts, 9145, "", "").replace(
            "kind = \"binary\"\n",
            &format!("kind = \"binary\"\nbuild = \"touch {}\"\n", built.display())
        )
    );
    let (_d, cfg) = tb.temp_config(&body);
    assert!(deploy(&cfg, "treach", "u1").status.success());
    std::fs::remove_file(&built).unwrap();
    tb.script(&["cut", "h5"]);
    struct Heal<'a>(&'a Testbed);
    impl Drop for Heal<'_> {
        fn drop(&mut self) {
            self.0.script(&["heal", "h5"]);
        }
    }
    let heal = Heal(tb);
    let started = Instant::now();
    let out = run(&cfg, &["deploy", "treach", "--version", "u2", "--yes"]);
    let took = started.elapsed();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("cannot reach h5")
            && err.contains("nothing was deployed and no host was changed"),
        "{err}"
    );
    assert!(
        took < Duration::from_secs(10),
        "took {took:?} (connect timeout 3 s)"
    );
    assert!(!built.exists(), "the build ran");
    for h in ["h1", "h2"] {
        assert_eq!(curl(tb, h, "treach.test", "/version"), "u1\n", "{h}");
    }
    let skip = run(
        &cfg,
        &[
            "deploy",
            "treach",
            "--version",
            "u3",
            "--yes",
            "--skip-unreachable",
            "--json",
        ],
    );
    assert_eq!(skip.status.code(), Some(1));
    let rep = report(&skip);
    let hosts_rep = rep["hosts"].as_array().unwrap();
    let by_host = |h: &str| {
        hosts_rep
            .iter()
            .find(|x| x["host"] == h)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(by_host("h1")["ok"], true);
    assert_eq!(by_host("h2")["ok"], true);
    assert_eq!(by_host("h5")["ok"], false);
    assert!(
        by_host("h5")["error"]
            .as_str()
            .unwrap_or_default()
            .contains("skipped, unreachable")
    );
    for h in ["h1", "h2"] {
        assert_eq!(curl(tb, h, "treach.test", "/version"), "u3\n", "{h}");
    }
    drop(heal);
    assert_eq!(curl(tb, "h5", "treach.test", "/version"), "u1\n");
}

#[test]
fn a_revert_puts_back_the_previous_releases_own_units() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tunits", &["h2"]);
    let (_d, cfg) = tb.temp_config(&binary_app(tb, "tunits", &["h2"], 9146, "", ""));
    assert!(deploy(&cfg, "tunits", "r1").status.success());
    // r2 adds a process and fails its health check.
    let worker = "[apps.tunits.processes.worker]\ncommand = \"sleep 3600\"\n";
    let failing = binary_app(
        tb,
        "tunits",
        &["h2"],
        9146,
        "HELLO_FAIL_HEALTH = \"1\"\n",
        worker,
    )
    .replace(
        "health_path = \"/health\"\n",
        "health_path = \"/health\"\nhealth_timeout_secs = 3\n",
    );
    std::fs::write(&cfg, failing).unwrap();
    let out = deploy(&cfg, "tunits", "r2");
    assert!(!out.status.success());
    let err = report(&out)["hosts"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(err.contains("r1 is serving again"), "{err}");
    // r1's own units: its web process in slot a and no worker; r2's slot b stopped.
    let units = tb.ssh(
        "h2",
        "ls /etc/systemd/system | grep '^tunits-' | grep -v '^tunits-web@' ; cat /var/lib/raijin/tunits/units; \
         systemctl is-active tunits-worker.service tunits-web@a1.service tunits-web@b1.service || true",
    );
    assert_eq!(units, "inactive\nactive\ninactive\n", "{units}");
    assert_eq!(curl(tb, "h2", "tunits.test", "/version"), "r1\n");
}

#[test]
fn leftovers_of_interrupted_deploys_are_cleaned_by_the_next_one() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tleft", &["h1"]);
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "left\n").unwrap();
    let (_d, cfg) = tb.temp_config(&static_app(tb, "tleft", &["h1"], site.path(), 3));
    assert!(deploy(&cfg, "tleft", "l1").status.success());
    // What a crash half way through a push would leave.
    tb.ssh(
        "h1",
        "cd /var/lib/raijin/tleft/releases && mkdir -p l2.partial/site l3/site && echo x > l3/site/index.html",
    );
    assert!(deploy(&cfg, "tleft", "l4").status.success());
    assert_eq!(
        tb.ssh("h1", "ls /var/lib/raijin/tleft/releases"),
        "l1\nl4\n"
    );
}

#[test]
fn caddy_changes_of_two_apps_on_one_host_take_turns() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tcad1", &["h3"]);
    fresh(tb, "tcad2", &["h3"]);
    for round in 0..4u16 {
        // Each round moves both apps to another port, so both sites change.
        let cfgs: Vec<_> = [("tcad1", 9170), ("tcad2", 9180)]
            .iter()
            .map(|(app, base)| tb.temp_config(&binary_app(tb, app, &["h3"], base + round, "", "")))
            .collect();
        let children: Vec<_> = cfgs
            .iter()
            .zip(["tcad1", "tcad2"])
            .map(|((_, cfg), app)| {
                Command::new(env!("CARGO_BIN_EXE_raijin"))
                    .arg("-c")
                    .arg(cfg)
                    .args(["deploy", app, "--version", &format!("c{round}"), "--yes"])
                    .env_remove("SSH_AUTH_SOCK")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", stderr(&out));
        }
        for app in ["tcad1", "tcad2"] {
            assert_eq!(
                curl(tb, "h3", &format!("{app}.test"), "/version"),
                format!("c{round}\n")
            );
        }
    }
}

#[test]
fn caddys_own_environment_never_runs_as_root() {
    let Some(tb) = ready() else { return };
    let _lock = lock_host("h4");
    let app = "tcadenv";
    // What a compromised Caddy can reach: its own home and the environment its
    // process shows. Here its PATH leads to a `caddy` of its own that notes who runs
    // it.
    let _c = SshOnDrop {
        tb,
        host: "h4",
        cmd: "rm -rf /etc/systemd/system/caddy.service.d/zz-tcadenv.conf /var/lib/caddy/evilbin; \
              systemctl daemon-reload; systemctl restart caddy",
    };
    fresh(tb, app, &["h4"]);
    tb.ssh(
        "h4",
        "set -e; d=/var/lib/caddy/evilbin; mkdir -p $d; rm -f $d/ran; \
         printf '#!/bin/sh\\necho \"$(id -u) $1\" >> /var/lib/caddy/evilbin/ran\\nexec /usr/bin/caddy \"$@\"\\n' > $d/caddy; \
         chmod 0755 $d/caddy; chown -R caddy:caddy $d; \
         mkdir -p /etc/systemd/system/caddy.service.d; \
         printf '[Service]\\nEnvironment=PATH=/var/lib/caddy/evilbin:/usr/bin:/bin\\n' \
           > /etc/systemd/system/caddy.service.d/zz-tcadenv.conf; \
         systemctl daemon-reload; systemctl restart caddy",
    );
    let caddy_uid = tb.ssh("h4", "id -u caddy").trim().to_string();
    let (_d, cfg) = tb.temp_config(&binary_app(tb, app, &["h4"], 9125, "", ""));
    // A first deploy and a second one (the switch's config adapted ahead), then `down`
    // (Caddy's reload command).
    for v in ["v1", "v2"] {
        let out = deploy(&cfg, app, v);
        assert!(out.status.success(), "{v}: {}", stderr(&out));
    }
    assert_eq!(curl(tb, "h4", "tcadenv.test", "/version"), "v2\n");
    let out = run(&cfg, &["down", app, "--yes"]);
    assert!(out.status.success(), "down: {}", stderr(&out));
    let ran = tb.ssh("h4", "cat /var/lib/caddy/evilbin/ran 2>/dev/null || true");
    println!("Caddy's own `caddy` ran as:\n{ran}");
    let ran: Vec<(&str, &str)> = ran.lines().filter_map(|l| l.split_once(' ')).collect();
    // The test reaches both ways raijin runs Caddy's commands.
    for sub in ["adapt", "reload"] {
        assert!(
            ran.iter().any(|(_, s)| *s == sub),
            "`caddy {sub}` was not run with Caddy's environment: {ran:?}"
        );
    }
    for (uid, sub) in &ran {
        assert_eq!(
            *uid, caddy_uid,
            "`caddy {sub}` from Caddy's PATH ran as uid {uid}, not Caddy's"
        );
    }
}
