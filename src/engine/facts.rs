//! Host facts: what a host runs (OS, kernel, CPU, systemd) and how much room
//! it has, gathered with one command over the host's connection.

use serde::Serialize;

use crate::ssh::{Session, SshError};

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

pub async fn gather(session: &Session) -> Result<HostFacts, SshError> {
    let out = session
        .exec(&crate::remote::scripts::facts::facts())
        .await?;
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
