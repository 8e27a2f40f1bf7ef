//! `[apps.NAME.processes.PROC]` and `[apps.NAME.proxy]`: how each process runs
//! (command, socket, timer, replicas) and the Caddy site in front of one of them.

use std::collections::BTreeMap;

use super::model::*;
use super::read::{filled, report, string};
use super::rules;
use super::tree::{Cx, TableRef};
use crate::util::did_you_mean;

pub(super) fn processes(cx: &mut Cx<'_>, p: &TableRef<'_>) -> BTreeMap<String, ProcessConfig> {
    let mut processes = BTreeMap::new();
    for entry in p.entries() {
        if !rules::is_unit_name(entry.key) {
            cx.error(
                entry.key_at,
                &entry.path,
                format!("invalid process name `{}`", entry.key),
                Some(rules::UNIT_NAME_RULE.to_string()),
            );
        }
        let Some(t) = entry.as_table() else { continue };
        let socket = t.str("socket");
        let timer = t.str("timer");
        let replicas = t.int("replicas");
        if let Some(s) = filled(socket.clone())
            && let Err(problem) = rules::check_socket(s.value)
        {
            report(cx, s.at, &s.path, problem);
        }
        if let (Some(_), Some(timer)) = (&socket, &timer) {
            cx.error(
                timer.at,
                &timer.path,
                "a process cannot have both `socket` and `timer`",
                Some("a timer runs a one-shot job; split it into two processes".to_string()),
            );
        }
        if let Some(r) = replicas.as_ref().filter(|r| r.value > 1) {
            if timer.is_some() {
                cx.error(
                    r.at,
                    &r.path,
                    "a timer process runs one instance; `replicas` must be 1",
                    None,
                );
            } else if socket.is_some() {
                cx.error(
                    r.at,
                    &r.path,
                    "a socket-activated process runs one instance; `replicas` must be 1",
                    Some("remove `socket` to run replicas".to_string()),
                );
            }
        }
        processes.insert(
            entry.key.to_string(),
            ProcessConfig {
                name: entry.key.to_string(),
                command: string(&t, "command").unwrap_or_default(),
                socket: socket.map(|s| s.value.to_string()),
                timer: timer.map(|s| s.value.to_string()),
                replicas: replicas
                    .and_then(|r| u32::try_from(r.value).ok())
                    .unwrap_or(DEFAULT_REPLICAS),
            },
        );
    }
    processes
}

pub(super) fn proxy(
    cx: &mut Cx<'_>,
    p: &TableRef<'_>,
    kind: Option<AppKind>,
    app: &TableRef<'_>,
    processes: &BTreeMap<String, ProcessConfig>,
) -> ProxyConfig {
    let domain = p.str("domain");
    if let Some(d) = filled(domain.clone())
        && let Err(problem) = rules::check_domain(d.value)
    {
        report(cx, d.at, &d.path, problem);
    }
    let health_path = p.str("health_path");
    if let Some(h) = filled(health_path.clone())
        && let Err(problem) = rules::check_health_path(h.value)
    {
        report(cx, h.at, &h.path, problem);
    }
    let process = p.str("process");
    let port = p.int("port");
    if kind == Some(AppKind::Static) {
        for key in ["process", "port"] {
            if let Some(e) = p.get(key) {
                cx.error(
                    e.key_at,
                    &e.path,
                    format!("a static app has no upstream; `{key}` is not used"),
                    Some("Caddy serves the release directory itself; remove the key".to_string()),
                );
            }
        }
    } else if kind.is_some() {
        for key in ["process", "port"] {
            if !p.contains(key) {
                let example = if key == "process" {
                    "`process = \"web\"` (the process Caddy proxies to)"
                } else {
                    "`port = 8000` (the port that process listens on)"
                };
                cx.error(
                    p.at,
                    &super::tree::join(&p.path, key),
                    format!("missing required key `{key}`"),
                    Some(format!("add {example}")),
                );
            }
        }
    }
    if let Some(proc_name) = filled(process.clone()).filter(|_| kind != Some(AppKind::Static)) {
        match processes.get(proc_name.value) {
            None => {
                let hint = if processes.is_empty() {
                    format!(
                        "the app has no processes; add [{}.processes.{}]",
                        app.path, proc_name.value
                    )
                } else {
                    match did_you_mean(proc_name.value, processes.keys().map(String::as_str)) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!(
                            "processes of this app: {}",
                            processes.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    }
                };
                cx.error(
                    proc_name.at,
                    &proc_name.path,
                    format!("unknown process `{}`", proc_name.value),
                    Some(hint),
                );
            }
            Some(target) => {
                if target.timer.is_some() {
                    cx.error(
                        proc_name.at,
                        &proc_name.path,
                        format!(
                            "process `{}` runs on a timer and cannot serve requests",
                            proc_name.value
                        ),
                        None,
                    );
                }
                let socket_port = target.socket.as_deref().and_then(rules::socket_port);
                if let (Some(sp), Some(port)) = (socket_port, &port)
                    && i64::from(sp) != port.value
                {
                    cx.warning(
                        port.at,
                        &port.path,
                        format!(
                            "`port` is {} but process `{}` listens on socket port {sp}",
                            port.value, proc_name.value
                        ),
                        Some(format!("set `port = {sp}`")),
                    );
                }
            }
        }
    }
    ProxyConfig {
        domain: domain.map(|d| d.value.to_string()).unwrap_or_default(),
        process: process.map(|p| p.value.to_string()),
        port: port.and_then(|n| u16::try_from(n.value).ok()),
        health_path: health_path
            .map_or_else(|| DEFAULT_HEALTH_PATH.to_string(), |h| h.value.to_string()),
        health_timeout_secs: p
            .int("health_timeout_secs")
            .and_then(|n| u64::try_from(n.value).ok())
            .unwrap_or(DEFAULT_HEALTH_TIMEOUT_SECS),
    }
}
