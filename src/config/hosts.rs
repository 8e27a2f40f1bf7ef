//! `[hosts.NAME]`: host names, addresses and login users, and `proxy_jump`, which
//! names another host or a `[user@]host[:port]`, without loops.

use std::collections::{BTreeMap, BTreeSet};

use super::model::HostConfig;
use super::read::{Env, filled, int, path, report, string};
use super::rules;
use super::tree::{Cx, Spanned, TableRef};
use crate::util::did_you_mean;

pub(super) fn hosts(
    cx: &mut Cx<'_>,
    t: &TableRef<'_>,
    host_names: &BTreeSet<String>,
    env: &Env,
) -> BTreeMap<String, HostConfig> {
    let mut hosts = BTreeMap::new();
    let mut jumps = Vec::new();
    for entry in t.entries() {
        if !rules::is_host_name(entry.key) {
            cx.error(
                entry.key_at,
                &entry.path,
                format!("invalid host name `{}`", entry.key),
                Some(rules::HOST_NAME_RULE.to_string()),
            );
        }
        let Some(h) = entry.as_table() else { continue };
        if let Some(address) = filled(h.str("address"))
            && let Err(p) = rules::check_address(address.value)
        {
            report(cx, address.at, &address.path, p);
        }
        if let Some(user) = filled(h.str("user"))
            && let Err(p) = rules::check_login_user(user.value)
        {
            report(cx, user.at, &user.path, p);
        }
        if let Some(jump) = filled(h.str("proxy_jump")) {
            jumps.push((entry.key, jump));
        }
        let host = HostConfig {
            name: entry.key.to_string(),
            address: string(&h, "address"),
            user: string(&h, "user"),
            port: int(&h, "port"),
            identity_file: path(cx, &h, "identity_file", env),
            known_hosts: path(cx, &h, "known_hosts", env),
            proxy_jump: string(&h, "proxy_jump"),
        };
        hosts.insert(entry.key.to_string(), host);
    }
    check_jumps(cx, &jumps, host_names);
    hosts
}

/// Each `proxy_jump` names another host or is a plausible `[user@]host[:port]`, and
/// jumps between configured hosts do not loop.
fn check_jumps(cx: &mut Cx<'_>, jumps: &[(&str, Spanned<&str>)], hosts: &BTreeSet<String>) {
    let names = || hosts.iter().map(String::as_str);
    let mut edges = BTreeMap::new();
    for (host, jump) in jumps {
        let value = jump.value;
        if value == *host {
            cx.error(
                jump.at,
                &jump.path,
                format!("host `{host}` cannot jump through itself"),
                None,
            );
        } else if hosts.contains(value) {
            edges.insert(*host, (value, jump));
        } else if value.contains(',') {
            cx.error(
                jump.at,
                &jump.path,
                "`proxy_jump` takes one jump host",
                Some(
                    "to chain jumps, give the jump host its own [hosts.NAME] with a `proxy_jump`"
                        .to_string(),
                ),
            );
        } else if !rules::is_jump_spec(value) {
            let hint = match did_you_mean(value, names()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => "give the name of a [hosts.NAME] entry or `[user@]host[:port]`".to_string(),
            };
            cx.error(
                jump.at,
                &jump.path,
                format!("`{value}` is neither a configured host nor `[user@]host[:port]`"),
                Some(hint),
            );
        } else if !value.contains(['.', '@', ':']) {
            // A bare word: an ssh_config alias or short DNS name, unless it is a typo of a
            // configured host.
            if let Some(close) = did_you_mean(value, names()) {
                cx.error(
                    jump.at,
                    &jump.path,
                    format!("`{value}` is not a configured host"),
                    Some(format!("did you mean `{close}`?")),
                );
            }
        }
    }
    // Loops: reported once, at the jump of the loop that comes first in the file.
    for (start, (_, jump)) in &edges {
        let mut ring = vec![*start];
        let mut current = *start;
        while let Some((next, _)) = edges.get(current) {
            if next == start {
                ring.push(start);
                let first = ring
                    .iter()
                    .all(|h| edges.get(h).is_none_or(|(_, j)| j.at >= jump.at));
                if first {
                    cx.error(
                        jump.at,
                        &jump.path,
                        format!("proxy_jump loop: {}", ring.join(" -> ")),
                        Some("one of these hosts must be reachable without a jump".to_string()),
                    );
                }
                break;
            }
            if ring.contains(next) {
                // A loop that `start` only leads into; reported from its own members.
                break;
            }
            ring.push(next);
            current = next;
        }
    }
}
