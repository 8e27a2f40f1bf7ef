//! Hosts deployed by the previous raijin (its files in `/opt/raijin/APP/.install`,
//! inside the app's own directory) keep working: the next deploy moves their
//! releases, history and audit log into `/var/lib/raijin/APP`, the running release
//! keeps serving, and a rollback to a migrated release works. A legacy tree the app
//! user tampered with is not trusted. The previous raijin is built from its commit by
//! `scripts/legacy-raijin`.

#[path = "common/apps.rs"]
mod apps;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use apps::{binary_app, curl, fresh, ready, run, static_app};
use common::{Testbed, stderr, stdout};

/// The previous raijin's binary (built once).
fn legacy(tb: &Testbed) -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = Command::new(tb.root.join("scripts/legacy-raijin"))
            .output()
            .expect("run scripts/legacy-raijin");
        assert!(
            out.status.success(),
            "building the previous raijin failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

fn legacy_run(tb: &Testbed, cfg: &Path, args: &[&str]) -> Output {
    let out = Command::new(legacy(tb))
        .arg("-c")
        .arg(cfg)
        .args(args)
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .expect("run the previous raijin");
    assert!(
        out.status.success(),
        "previous raijin {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn history(cfg: &Path, app: &str) -> Vec<(String, bool, String)> {
    let out = run(cfg, &["history", app, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    v[0]["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["version"].as_str().unwrap().to_string(),
                r["current"].as_bool().unwrap(),
                r["deployed_at"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_host_of_the_previous_layout_is_migrated_by_the_next_deploy() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tmig", &["h1"]);
    let (_d, cfg) = tb.temp_config(&binary_app(tb, "tmig", &["h1"], 9150, "", ""));
    for v in ["m1", "m2"] {
        legacy_run(tb, &cfg, &["deploy", "tmig", "--version", v, "--yes"]);
    }
    assert_eq!(curl(tb, "h1", "tmig.test", "/version"), "m2\n");
    let before = tb.ssh(
        "h1",
        "ls /opt/raijin/tmig/.install/releases; readlink /opt/raijin/tmig/.install/current; wc -l < /opt/raijin/tmig/.install/audit.log",
    );
    assert_eq!(before, "m1\nm2\nreleases/m2\n2\n", "the previous layout");
    let old_history = history_via_ssh(tb);

    let out = run(&cfg, &["deploy", "tmig", "--version", "m3", "--yes"]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("migrated 2 releases"), "{text}");
    assert_eq!(curl(tb, "h1", "tmig.test", "/version"), "m3\n");
    let after = tb.ssh(
        "h1",
        "test -e /opt/raijin/tmig/.install && echo still-there; ls /var/lib/raijin/tmig/releases; \
         wc -l < /var/lib/raijin/tmig/audit.log; grep -c /opt/raijin/tmig/.install /var/lib/raijin/tmig/releases/*/.raijin/units/* /etc/systemd/system/tmig-web.service || true",
    );
    let mut lines = after.lines();
    assert_eq!(lines.next(), Some("m1"), "{after}");
    assert_eq!(lines.next(), Some("m2"), "{after}");
    assert_eq!(lines.next(), Some("m3"), "{after}");
    assert_eq!(lines.next(), Some("3"), "audit lines: {after}");
    assert!(
        lines.all(|l| l.ends_with(":0")),
        "old paths remain:\n{after}"
    );
    // The history kept the migrated releases' records.
    let h = history(&cfg, "tmig");
    for (v, at) in &old_history {
        assert!(
            h.iter().any(|(hv, _, hat)| hv == v && hat == at),
            "{v} at {at} lost: {h:?}"
        );
    }
    // A migrated release runs again: its units were moved to the new paths.
    let back = run(&cfg, &["rollback", "tmig", "--to", "m1", "--yes"]);
    assert!(back.status.success(), "{}", stderr(&back));
    assert_eq!(curl(tb, "h1", "tmig.test", "/version"), "m1\n");
    assert_eq!(curl(tb, "h1", "tmig.test", "/env/RAIJIN_VERSION"), "m1");
}

/// (version, deployed_at) of every release of tmig on h1, from the legacy tree.
fn history_via_ssh(tb: &Testbed) -> Vec<(String, String)> {
    tb.ssh(
        "h1",
        "for m in /opt/raijin/tmig/.install/releases/*/.raijin/meta.json; do cat $m; echo; done",
    )
    .lines()
    .filter(|l| !l.trim().is_empty())
    .map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        (
            v["version"].as_str().unwrap().to_string(),
            v["deployed_at"].as_str().unwrap().to_string(),
        )
    })
    .collect()
}

#[test]
fn a_static_site_keeps_serving_through_the_migration() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tmigs", &["h2"]);
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "old layout\n").unwrap();
    let (_d, cfg) = tb.temp_config(&static_app(tb, "tmigs", &["h2"], site.path(), 5));
    legacy_run(tb, &cfg, &["deploy", "tmigs", "--version", "s1", "--yes"]);
    assert_eq!(curl(tb, "h2", "tmigs.test", "/"), "old layout\n");
    // The next deploy migrates; the site it moved serves the old release on rollback.
    std::fs::write(site.path().join("index.html"), "new layout\n").unwrap();
    let out = run(&cfg, &["deploy", "tmigs", "--version", "s2", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(curl(tb, "h2", "tmigs.test", "/"), "new layout\n");
    let back = run(&cfg, &["rollback", "tmigs", "--yes"]);
    assert!(back.status.success(), "{}", stderr(&back));
    assert_eq!(curl(tb, "h2", "tmigs.test", "/"), "old layout\n");
    let site_file = tb.ssh("h2", "cat /etc/caddy/raijin/tmigs.caddy");
    assert!(
        site_file.contains("root * /var/lib/raijin/tmigs/current/site"),
        "{site_file}"
    );
}

#[test]
fn a_legacy_tree_the_app_user_replaced_is_not_trusted() {
    let Some(tb) = ready() else { return };
    fresh(tb, "tmigx", &["h3"]);
    let (_d, cfg) = tb.temp_config(&binary_app(tb, "tmigx", &["h3"], 9151, "", ""));
    legacy_run(tb, &cfg, &["deploy", "tmigx", "--version", "x1", "--yes"]);
    tb.ssh("h3", "echo canary > /root/victim-tmigx");
    // The reproduction, as the app user: rename .install, plant a copy whose
    // unit list names a root file.
    let plant = run(
        &cfg,
        &[
            "exec",
            "tmigx",
            "--",
            "sh",
            "-c",
            "cd /opt/raijin/tmigx && mv .install .o && mkdir .install && cp -a .o/. .install/; printf '../../../root/victim-tmigx\\n' > .install/units",
        ],
    );
    assert!(plant.status.success(), "{}", stderr(&plant));
    let out = run(&cfg, &["deploy", "tmigx", "--version", "x2", "--yes"]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("not trusted"), "{text}");
    assert_eq!(tb.ssh("h3", "cat /root/victim-tmigx"), "canary\n");
    assert_eq!(curl(tb, "h3", "tmigx.test", "/version"), "x2\n");
    let kept = tb.ssh("h3", "ls /var/lib/raijin/tmigx/releases");
    assert_eq!(kept, "x2\n", "nothing of the planted tree came over");
    tb.ssh("h3", "rm -f /root/victim-tmigx");
}
