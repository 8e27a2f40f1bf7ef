//! Every host script raijin renders passes `shellcheck -s sh` (Debian's `shellcheck`
//! package, which `scripts/test` installs). Without shellcheck the test fails under
//! CI and says why elsewhere.
//!
//! One check is off for all of them: SC2016 ("expressions don't expand in single
//! quotes"), since raijin single-quotes commands on purpose so that a later shell
//! (the app's, under systemd-run) expands them.

use std::io::Write as _;
use std::process::{Command, Stdio};

#[test]
fn every_rendered_host_script_passes_shellcheck() {
    let found = Command::new("shellcheck").arg("--version").output();
    if found.is_err() {
        let why = "shellcheck is not installed (apt-get install shellcheck; scripts/test does)";
        if std::env::var("CI").as_deref() == Ok("true")
            || std::env::var("RAIJIN_STRICT").as_deref() == Ok("1")
        {
            panic!("{why}");
        }
        eprintln!("SKIPPED: {why}");
        return;
    }
    let scripts = raijin::remote::scripts::samples();
    assert!(scripts.len() >= 20, "only {} scripts", scripts.len());
    let mut failures = Vec::new();
    for (name, script) in &scripts {
        assert!(!script.trim().is_empty(), "{name} rendered nothing");
        let mut child = Command::new("shellcheck")
            .args(["-s", "sh", "-e", "SC2016", "-f", "gcc", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run shellcheck");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(script.as_bytes())
            .expect("write the script");
        let out = child.wait_with_output().expect("shellcheck output");
        if !out.status.success() {
            failures.push(format!(
                "--- {name}:\n{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                script
                    .lines()
                    .enumerate()
                    .map(|(i, l)| format!("{:4} {l}", i + 1))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
