//! The `journalctl` command lines that read an app's journal on a host: which
//! units, which fields, and where to start (history, or following after a
//! cursor so a resumed stream neither loses nor repeats an entry). `logs`
//! runs them and parses what they print.

use std::fmt::Write as _;

use crate::config::AppConfig;
use crate::remote::units::unit_stem;
use crate::util::shell_quote as q;

/// The journal fields to ask for (`--output-fields`); the cursor and
/// timestamps always come along. `logs::record` parses these.
pub const OUTPUT_FIELDS: &str = "MESSAGE,PRIORITY,_SYSTEMD_UNIT,UNIT";

/// Which entries a `journalctl` run prints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// The last N entries (None: no limit). Ignored after a cursor.
    pub lines: Option<u32>,
    /// Entries since this time (journalctl's syntax: `-1h`, `2024-05-01 10:00`, `today`).
    /// Ignored after a cursor.
    pub since: Option<String>,
    /// Start with the entry after this cursor: how a resumed stream neither
    /// loses nor repeats an entry.
    pub after: Option<String>,
    /// Keep printing new entries.
    pub follow: bool,
}

/// `journalctl -u` patterns for the app's processes (all when `processes` is
/// empty): the service and every instance of a process with replicas, so a
/// change in replicas loses no history.
pub fn units(app: &AppConfig, processes: &[String]) -> Vec<String> {
    app.processes
        .values()
        .filter(|p| processes.is_empty() || processes.contains(&p.name))
        .flat_map(|p| {
            let stem = unit_stem(&app.name, &p.name);
            // journalctl matches a pattern only against the units loaded when it
            // starts, so the instances a later deploy starts (the other slot of the
            // web process, more replicas) are named as well.
            let mut names = vec![format!("{stem}.service"), format!("{stem}@*.service")];
            let slotted = crate::remote::slots::process(app).is_some_and(|s| s.name == p.name);
            for i in 1..=p.replicas {
                if slotted {
                    for slot in crate::remote::slots::SLOTS {
                        names.push(format!("{stem}@{slot}{i}.service"));
                    }
                } else if p.replicas > 1 {
                    names.push(format!("{stem}@{i}.service"));
                }
            }
            names
        })
        .collect()
}

/// The shell command (run as root) printing the entries in journal export format.
pub fn command(units: &[String], query: &Query) -> String {
    let mut s =
        format!("exec journalctl --no-pager --quiet -o export --output-fields={OUTPUT_FIELDS}");
    for u in units {
        let _ = write!(s, " -u {}", q(u));
    }
    match &query.after {
        Some(cursor) => {
            let _ = write!(s, " --after-cursor {}", q(cursor));
        }
        None => {
            if let Some(n) = query.lines {
                let _ = write!(s, " --lines={n}");
            }
            if let Some(t) = &query.since {
                let _ = write!(s, " --since {}", q(t));
            }
        }
    }
    if query.follow {
        s.push_str(" --follow");
        // Without a limit, follow prints everything matched, not the last 10.
        if query.after.is_some() || query.lines.is_none() {
            s.push_str(" --no-tail");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AppKind, ProcessConfig};

    fn app() -> AppConfig {
        let proc_ = |name: &str, replicas| ProcessConfig {
            name: name.into(),
            command: "x".into(),
            socket: None,
            timer: None,
            replicas,
        };
        AppConfig {
            name: "shop".into(),
            hosts: vec!["h1".into()],
            build: None,
            artifact: "x".into(),
            kind: AppKind::Binary,
            version_source: Default::default(),
            versions_to_keep: 3,
            batch: None,
            user: "shop".into(),
            env_file: None,
            env: Default::default(),
            processes: [
                ("web".to_string(), proc_("web", 1)),
                ("worker".to_string(), proc_("worker", 3)),
            ]
            .into_iter()
            .collect(),
            proxy: None,
            hooks: Default::default(),
        }
    }

    #[test]
    fn units_of_all_or_chosen_processes() {
        assert_eq!(
            units(&app(), &[]),
            [
                "shop-web.service",
                "shop-web@*.service",
                "shop-worker.service",
                "shop-worker@*.service",
                "shop-worker@1.service",
                "shop-worker@2.service",
                "shop-worker@3.service"
            ]
        );
        assert_eq!(
            units(&app(), &["worker".to_string()]),
            [
                "shop-worker.service",
                "shop-worker@*.service",
                "shop-worker@1.service",
                "shop-worker@2.service",
                "shop-worker@3.service"
            ]
        );
    }

    #[test]
    fn both_slots_of_the_web_process_are_named() {
        let mut a = app();
        a.proxy = Some(crate::config::ProxyConfig {
            domain: "shop.test".into(),
            process: Some("web".into()),
            port: Some(8000),
            health_path: "/".into(),
            health_timeout_secs: 60,
            tls: crate::config::TlsMode::Off,
            drain_secs: 30,
        });
        assert_eq!(
            units(&a, &["web".to_string()]),
            [
                "shop-web.service",
                "shop-web@*.service",
                "shop-web@a1.service",
                "shop-web@b1.service"
            ]
        );
    }

    #[test]
    fn history_then_follow_after_the_cursor() {
        let u = units(&app(), &["web".to_string()]);
        let base = "exec journalctl --no-pager --quiet -o export --output-fields=MESSAGE,PRIORITY,_SYSTEMD_UNIT,UNIT -u shop-web.service -u 'shop-web@*.service'";
        let history = Query {
            lines: Some(50),
            since: Some("-1h".into()),
            ..Query::default()
        };
        assert_eq!(
            command(&u, &history),
            format!("{base} --lines=50 --since -1h")
        );
        let after = Query {
            after: Some("s=1;i=2".into()),
            follow: true,
            ..history.clone()
        };
        assert_eq!(
            command(&u, &after),
            format!("{base} --after-cursor 's=1;i=2' --follow --no-tail")
        );
        let all_since = Query {
            since: Some("2024-01-01 10:00".into()),
            follow: true,
            ..Query::default()
        };
        assert_eq!(
            command(&u, &all_since),
            format!("{base} --since '2024-01-01 10:00' --follow --no-tail")
        );
        let last_then_follow = Query {
            lines: Some(0),
            follow: true,
            ..Query::default()
        };
        assert_eq!(
            command(&u, &last_then_follow),
            format!("{base} --lines=0 --follow")
        );
    }
}
