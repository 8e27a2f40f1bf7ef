//! Rolling deploys on the testbed: `--batch` takes the hosts in batches, each healthy
//! before the next starts; a release failing on one host stops the rollout after that
//! host's batch, the failing batch's hosts go back, earlier batches keep the new version (or
//! roll back with `--on-failure revert-all`), later ones are never touched, exit 1 with every host in
//! the report.

#[path = "common/apps.rs"]
mod apps;
mod common;

use apps::{binary_app, curl, fresh, ready, report, run};
use common::{stderr, stdout};

/// The hello app; on h2 its health path fails (the release is fine elsewhere).
fn body(tb: &common::Testbed, hosts: &[&str]) -> String {
    binary_app(tb, "troll2", hosts, 9200, "", "").replace(
        "command = \"./hello serve\"\n",
        "command = '''if [ \"$(hostname)\" = h2 ]; then export HELLO_FAIL_HEALTH=1; fi; exec ./hello serve'''\n",
    ).replace("health_path = \"/health\"\n", "health_path = \"/health\"\nhealth_timeout_secs = 5\n")
}

#[test]
fn a_failing_batch_stops_the_rollout_and_later_hosts_are_never_touched() {
    let Some(tb) = ready() else { return };
    let hosts = ["h1", "h2", "h3"];
    fresh(tb, "troll2", &hosts);
    let (_d, cfg) = tb.temp_config(&binary_app(tb, "troll2", &hosts, 9200, "", ""));
    let first = run(&cfg, &["deploy", "troll2", "--version", "b1", "--yes"]);
    assert!(first.status.success(), "{}", stderr(&first));
    std::fs::write(&cfg, body(tb, &hosts)).unwrap();

    let out = run(
        &cfg,
        &[
            "deploy",
            "troll2",
            "--version",
            "b2",
            "--yes",
            "--json",
            "--batch",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    for b in ["batch 1 of 3: h1", "batch 2 of 3: h2"] {
        assert!(text.contains(b), "{text}");
    }
    assert!(!text.contains("batch 3 of 3"), "{text}");
    let rep = report(&out);
    let host = |h: &str| {
        rep["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["host"] == h)
            .cloned()
            .unwrap()
    };
    assert_eq!(host("h1")["ok"], true);
    assert_eq!(host("h2")["ok"], false);
    assert!(
        host("h3")["error"]
            .as_str()
            .unwrap_or_default()
            .contains("the rollout stopped after batch 2 failed"),
        "{rep}"
    );
    assert_eq!(curl(tb, "h1", "troll2.test", "/version"), "b2\n");
    assert_eq!(curl(tb, "h2", "troll2.test", "/version"), "b1\n");
    assert_eq!(curl(tb, "h3", "troll2.test", "/version"), "b1\n");
    let h3 = tb.ssh("h3", "ls /var/lib/raijin/troll2/releases");
    assert_eq!(h3, "b1\n", "h3 was never touched");

    // A failing batch's hosts all go back: h1 shares h2's batch of two, takes b3,
    // and returns to b2 when h2 fails; h3 is never touched.
    let out = deploy_b(&cfg, "b3", &["--batch", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rep = report(&out);
    let h1 = host_of(&rep, "h1");
    assert!(
        h1["error"]
            .as_str()
            .unwrap_or_default()
            .contains("rolled back to b2 because batch 1 failed"),
        "{rep}"
    );
    assert_eq!(curl(tb, "h1", "troll2.test", "/version"), "b2\n");
    assert_eq!(curl(tb, "h2", "troll2.test", "/version"), "b1\n");
    assert_eq!(tb.ssh("h3", "ls /var/lib/raijin/troll2/releases"), "b1\n");

    // With --on-failure revert-all the earlier batches go back too: h1 alone in
    // batch 1 (33 % of 3 hosts) takes b4, h2 fails batch 2, h1 returns to b2.
    let out = deploy_b(
        &cfg,
        "b4",
        &["--batch", "33%", "--on-failure", "revert-all"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("batch 1 of 3: h1"), "{text}");
    let rep = report(&out);
    let h1 = host_of(&rep, "h1");
    assert!(
        h1["error"]
            .as_str()
            .unwrap_or_default()
            .contains("rolled back to b2 because batch 2 failed (--on-failure revert-all)"),
        "{rep}"
    );
    assert_eq!(curl(tb, "h1", "troll2.test", "/version"), "b2\n");
    assert_eq!(curl(tb, "h3", "troll2.test", "/version"), "b1\n");
    assert_eq!(tb.ssh("h3", "ls /var/lib/raijin/troll2/releases"), "b1\n");
}

fn deploy_b(cfg: &std::path::Path, version: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["deploy", "troll2", "--version", version, "--yes", "--json"];
    args.extend_from_slice(extra);
    run(cfg, &args)
}

fn host_of(rep: &serde_json::Value, h: &str) -> serde_json::Value {
    rep["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["host"] == h)
        .cloned()
        .unwrap_or_else(|| panic!("{h} missing from {rep}"))
}
