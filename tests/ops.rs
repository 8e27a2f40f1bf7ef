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
