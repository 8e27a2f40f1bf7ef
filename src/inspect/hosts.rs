//! Every configured host at a glance (`raijin hosts`): whether it can be reached,
//! its RTT, and its facts: what it runs (OS, kernel, CPU, systemd) and how much
//! room it has, gathered with one command over the host's connection.

use std::time::Duration;

use serde::Serialize;

use crate::engine::{Engine, Host};
use crate::remote::scripts::facts as script;
use crate::ssh::SshError;

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct HostFacts {
    /// `PRETTY_NAME` from /etc/os-release.
    pub os: String,
    pub kernel: String,
    /// `uname -m`, e.g. x86_64 or aarch64.
    pub arch: String,
    /// systemd's version number, if systemd is there.
    pub systemd: Option<u32>,
    /// Free bytes on the filesystem holding /opt.
    pub opt_free_bytes: Option<u64>,
}

/// One host's reachability, RTT and facts.
#[derive(Clone, Debug, Serialize)]
pub struct HostReport {
    pub host: String,
    /// `user@address[:port]`.
    pub address: String,
    pub connected: bool,
    /// The lowest of a few pings, in milliseconds.
    pub rtt_ms: Option<f64>,
    #[serde(flatten)]
    pub facts: Option<HostFacts>,
    pub error: Option<String>,
}

/// Pings per host; the RTT shown is the lowest (the first one warms up).
const PINGS: usize = 3;

/// Connect to every configured host in parallel and report on each, in natural
/// order of name.
pub async fn hosts(engine: &Engine) -> Vec<HostReport> {
    let hosts = engine.all_hosts();
    futures::future::join_all(hosts.iter().map(report)).await
}

async fn report(host: &Host) -> HostReport {
    let address = host.address();
    let probe = async {
        let facts = gather(host).await?;
        let mut best: Option<Duration> = None;
        for _ in 0..PINGS {
            let rtt = host.ping().await?;
            best = Some(best.map_or(rtt, |b| b.min(rtt)));
        }
        Ok::<_, SshError>((facts, best))
    };
    match probe.await {
        Ok((facts, rtt)) => HostReport {
            host: host.host.clone(),
            address,
            connected: true,
            rtt_ms: rtt.map(|d| d.as_secs_f64() * 1000.0),
            facts: Some(facts),
            error: None,
        },
        Err(e) => HostReport {
            host: host.host.clone(),
            address,
            connected: false,
            rtt_ms: None,
            facts: None,
            error: Some(e.to_string()),
        },
    }
}

/// The host's facts, read as the login user.
pub async fn gather(host: &Host) -> Result<HostFacts, SshError> {
    let out = host.run_captured(&script::facts()).await?;
    Ok(parse(&out.stdout_str()))
}

fn parse(text: &str) -> HostFacts {
    let mut f = HostFacts::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        match k {
            "os" => f.os = v.to_string(),
            "kernel" => f.kernel = v.to_string(),
            "arch" => f.arch = v.to_string(),
            // "systemd 252 (252.36-1~deb12u1)"
            "systemd" => f.systemd = v.split_whitespace().nth(1).and_then(|n| n.parse().ok()),
            "opt_free_kib" => f.opt_free_bytes = v.parse::<u64>().ok().map(|k| k * 1024),
            _ => {}
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_facts() {
        let f = parse(
            "os=Debian GNU/Linux 12 (bookworm)\nkernel=6.1.0\narch=x86_64\nsystemd=systemd 252 (252.36-1~deb12u1)\nopt_free_kib=1024\n",
        );
        assert_eq!(f.os, "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(f.arch, "x86_64");
        assert_eq!(f.systemd, Some(252));
        assert_eq!(f.opt_free_bytes, Some(1024 * 1024));
    }

    #[test]
    fn missing_systemd_is_none() {
        let f = parse("os=Alpine\nsystemd=\nopt_free_kib=\n");
        assert_eq!(f.systemd, None);
        assert_eq!(f.opt_free_bytes, None);
    }
}
