//! A request loop on a testbed host, through its Caddy, every 20 ms, for tests that
//! count failed requests across deploys, rollbacks and faults.
//! A test crate that has `mod common;` includes it with
//! `#[path = "common/load.rs"] mod load;`.

#![allow(dead_code)]

use std::process::Command;

use crate::common::Testbed;

/// A request loop on the host, through Caddy, every 20 ms; stopped when dropped.
pub struct Load<'a> {
    tb: &'a Testbed,
    host: String,
    unit: String,
    log: String,
}

impl<'a> Load<'a> {
    pub fn start(tb: &'a Testbed, host: &str, domain: &str) -> Load<'a> {
        let unit = format!("rjload-{domain}");
        let log = format!("/tmp/{unit}.log");
        tb.ssh(
            host,
            &format!(
                "systemctl stop {unit} >/dev/null 2>&1; systemctl reset-failed {unit} >/dev/null 2>&1; rm -f {log}; \
                 systemd-run --unit={unit} --quiet sh -c 'while :; do c=$(curl -s -o /dev/null -m 10 -w \"%{{http_code}}\" -H \"Host: {domain}\" http://127.0.0.1/); echo \"$c $(date +%T.%N)\" >> {log}; sleep 0.02; done'"
            ),
        );
        Load {
            tb,
            host: host.to_string(),
            unit,
            log,
        }
    }

    /// Requests so far and the answers that were not 200.
    pub fn counts(&self) -> (usize, Vec<String>) {
        let out = self.tb.ssh(&self.host, &format!("cat {}", self.log));
        let all: Vec<String> = out.lines().map(String::from).collect();
        let bad = all
            .iter()
            .filter(|c| !c.starts_with("200 "))
            .cloned()
            .collect();
        (all.len(), bad)
    }
}

impl Drop for Load<'_> {
    fn drop(&mut self) {
        let _ = Command::new("ssh")
            .arg("-F")
            .arg(self.tb.ssh_config())
            .args(["-o", "BatchMode=yes", &format!("tb-{}", self.host)])
            .arg(format!(
                "systemctl stop {} >/dev/null 2>&1; true",
                self.unit
            ))
            .status();
    }
}
