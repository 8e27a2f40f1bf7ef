//! `[apps.NAME]`: app names and users, the hosts an app runs on, where its version
//! comes from, its environment, and systemd unit names that stay unique across apps.
//! Two apps may not serve one domain from one host.

use std::collections::{BTreeMap, BTreeSet};

use super::model::*;
use super::processes::{processes, proxy};
use super::read::{Env, filled, path, string};
use super::rules;
use super::secret_ref::{SecretRef, is_env_name};
use super::tree::{Cx, Spanned, TableRef};
use crate::util::did_you_mean;

pub(super) fn apps(
    cx: &mut Cx<'_>,
    t: &TableRef<'_>,
    hosts: &BTreeSet<String>,
    env: &Env,
) -> BTreeMap<String, AppConfig> {
    let mut apps = BTreeMap::new();
    let mut domains: Vec<(Spanned<&str>, &str, Vec<String>)> = Vec::new();
    for entry in t.entries() {
        if !rules::is_unit_name(entry.key) {
            cx.error(
                entry.key_at,
                &entry.path,
                format!("invalid app name `{}`", entry.key),
                Some(rules::UNIT_NAME_RULE.to_string()),
            );
        }
        let Some(a) = entry.as_table() else { continue };
        let app = app(cx, entry.key, entry.key_at, &a, hosts, env);
        if let Some(domain) = filled(a.table("proxy").and_then(|p| p.str("domain"))) {
            domains.push((domain, entry.key, app.hosts.clone()));
        }
        apps.insert(entry.key.to_string(), app);
    }
    check_unit_names(cx, t);
    // Two apps cannot serve the same domain from the same host.
    for (i, (domain, app, app_hosts)) in domains.iter().enumerate() {
        let clash = domains[..i].iter().find(|(other, _, other_hosts)| {
            other.value.eq_ignore_ascii_case(domain.value)
                && other_hosts.iter().any(|h| app_hosts.contains(h))
        });
        if let Some((_, other_app, _)) = clash {
            cx.error(
                domain.at,
                &domain.path,
                format!(
                    "domain `{}` of app `{app}` is already served by app `{other_app}` on the same host",
                    domain.value
                ),
                None,
            );
        }
    }
    apps
}

/// The systemd units of a process are named `APP-PROCESS`, so app `shop-api` with
/// process `web` and app `shop` with process `api-web` would both own
/// `shop-api-web.service`. Each collision is reported at the process key that comes
/// later in the file. (raijin's own transient units are named `raijin.*`, with a dot,
/// which app and process names cannot contain.)
fn check_unit_names(cx: &mut Cx<'_>, apps: &TableRef<'_>) {
    struct Unit<'a> {
        stem: String,
        app: &'a str,
        process: &'a str,
        at: usize,
        path: String,
    }
    let mut units = Vec::new();
    for app in apps.entries() {
        // Invalid names were reported where they are.
        if !rules::is_unit_name(app.key) {
            continue;
        }
        let Some(processes) = app.as_table().and_then(|a| a.table("processes")) else {
            continue;
        };
        for process in processes.entries() {
            if rules::is_unit_name(process.key) && process.as_table().is_some() {
                units.push(Unit {
                    stem: unit_stem(app.key, process.key),
                    app: app.key,
                    process: process.key,
                    at: process.key_at,
                    path: process.path.clone(),
                });
            }
        }
    }
    units.sort_by_key(|u| u.at);
    for (i, unit) in units.iter().enumerate() {
        let Some(first) = units[..i].iter().find(|u| u.stem == unit.stem) else {
            continue;
        };
        cx.error(
            unit.at,
            &unit.path,
            format!(
                "unit name `{}` is already taken by process `{}` of app `{}`",
                unit.stem, first.process, first.app
            ),
            Some(format!(
                "units are named APP-PROCESS, so `{}` + `{}` and `{}` + `{}` collide; rename one of these apps or processes",
                first.app, first.process, unit.app, unit.process
            )),
        );
    }
}

fn app(
    cx: &mut Cx<'_>,
    name: &str,
    name_at: usize,
    a: &TableRef<'_>,
    hosts: &BTreeSet<String>,
    env: &Env,
) -> AppConfig {
    let kind = a.str("kind").and_then(|k| AppKind::from_name(k.value));
    let app_hosts = app_hosts(cx, a, hosts);
    let version_source = version_source(cx, a);

    let versions_to_keep = match a.int("versions_to_keep") {
        Some(n) => {
            if n.value > MANY_VERSIONS_TO_KEEP as i64 {
                cx.warning(
                    n.at,
                    &n.path,
                    format!("keeping {} releases per host uses a lot of disk", n.value),
                    Some("3 to 10 is usual".to_string()),
                );
            }
            usize::try_from(n.value).unwrap_or(DEFAULT_VERSIONS_TO_KEEP)
        }
        None => DEFAULT_VERSIONS_TO_KEEP,
    };

    let batch = a.str("batch").and_then(|b| match Batch::parse(b.value) {
        Ok(b) => Some(b),
        Err(e) => {
            cx.error(
                b.at,
                &b.path,
                e,
                Some(
                    "`batch = \"2\"` (hosts) or `batch = \"25%\"` (of the app's hosts)".to_string(),
                ),
            );
            None
        }
    });

    let user = match a.str("user") {
        Some(user) => {
            if !user.value.trim().is_empty() && !rules::is_unix_user(user.value) {
                cx.error(
                    user.at,
                    &user.path,
                    format!("`{}` is not a valid unix user name", user.value),
                    Some(rules::UNIX_USER_RULE.to_string()),
                );
            }
            user.value.to_string()
        }
        None => {
            if rules::is_unit_name(name) && !rules::is_unix_user(name) {
                cx.error(
                    name_at,
                    &a.path,
                    format!("app name `{name}` is not a valid unix user name, so it cannot be the default `user`"),
                    Some(format!("set `user = \"{}\"`", rules::suggest_unix_user(name))),
                );
            }
            name.to_string()
        }
    };

    let env_vars = a.table("env").map(|e| env_vars(cx, &e)).unwrap_or_default();
    let processes = a
        .table("processes")
        .map(|p| processes(cx, &p))
        .unwrap_or_default();

    if let Some(kind @ (AppKind::Binary | AppKind::Python)) = kind
        && processes.is_empty()
    {
        let message = format!("a `{kind}` app needs at least one process");
        match a.get("processes") {
            None => cx.error(
                a.at,
                &a.path,
                message,
                Some(format!("add [{}.processes.web] with a `command`", a.path)),
            ),
            Some(p) if p.as_table().is_some_and(|t| t.entries().is_empty()) => cx.error(
                p.key_at,
                &p.path,
                message,
                Some(format!("add [{}.web] with a `command`", p.path)),
            ),
            // Not a table, or only broken entries: already reported.
            Some(_) => {}
        }
    }

    let proxy = a.table("proxy").map(|p| proxy(cx, &p, kind, a, &processes));
    if kind == Some(AppKind::Static) && !a.contains("proxy") {
        cx.warning(
            a.at,
            &a.path,
            format!(
                "static app without [{}.proxy]: nothing will serve it",
                a.path
            ),
            Some("add the table with a `domain`".to_string()),
        );
    }

    let hooks = a
        .table("hooks")
        .map(|h| HooksConfig {
            pre_install: string(&h, "pre_install"),
            post_install: string(&h, "post_install"),
            post_activate: string(&h, "post_activate"),
            on_failure: string(&h, "on_failure"),
        })
        .unwrap_or_default();

    AppConfig {
        name: name.to_string(),
        hosts: app_hosts,
        build: string(a, "build"),
        artifact: path(cx, a, "artifact", env).unwrap_or_default(),
        kind: kind.unwrap_or(AppKind::Binary),
        version_source,
        versions_to_keep,
        batch,
        user,
        env_file: path(cx, a, "env_file", env),
        env: env_vars,
        processes,
        proxy,
        hooks,
    }
}

/// `hosts = [...]`: non-empty, each a configured host.
fn app_hosts(cx: &mut Cx<'_>, a: &TableRef<'_>, hosts: &BTreeSet<String>) -> Vec<String> {
    let Some(entry) = a.get("hosts") else {
        return Vec::new();
    };
    let Some(list) = entry.as_str_list() else {
        return Vec::new();
    };
    if entry.elements().is_empty() {
        cx.error(
            entry.at(),
            &entry.path,
            "`hosts` must name at least one host",
            None,
        );
    }
    let mut seen = BTreeSet::new();
    let mut names = Vec::new();
    for host in list {
        if host.value.trim().is_empty() {
            continue;
        }
        if !hosts.contains(host.value) {
            let hint = if hosts.is_empty() {
                format!(
                    "no hosts are configured; add a [hosts.{}] table",
                    host.value
                )
            } else {
                match did_you_mean(host.value, hosts.iter().map(String::as_str)) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!(
                        "configured hosts: {}",
                        hosts.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                }
            };
            cx.error(
                host.at,
                &host.path,
                format!("unknown host `{}`", host.value),
                Some(hint),
            );
        }
        if !seen.insert(host.value) {
            cx.warning(
                host.at,
                &host.path,
                format!("host `{}` is listed twice", host.value),
                None,
            );
            continue;
        }
        names.push(host.value.to_string());
    }
    names
}

/// `version = "git"`, `{ command = "..." }` or `{ fixed = "..." }`.
fn version_source(cx: &mut Cx<'_>, a: &TableRef<'_>) -> VersionSource {
    const HINT: &str = "use \"git\" (the default), { command = \"...\" } or { fixed = \"...\" }";
    if let Some(s) = a.str("version") {
        if s.value != "git" && !s.value.trim().is_empty() {
            let hint = if did_you_mean(s.value, ["git"]).is_some() {
                "did you mean \"git\"?".to_string()
            } else {
                format!(
                    "{HINT}; for a fixed version id write {{ fixed = \"{}\" }}",
                    s.value
                )
            };
            cx.error(
                s.at,
                &s.path,
                format!("unknown version source \"{}\"", s.value),
                Some(hint),
            );
        }
        return VersionSource::Git;
    }
    let Some(v) = a.table("version") else {
        return VersionSource::Git;
    };
    match (v.str("command"), v.str("fixed")) {
        (Some(command), None) => VersionSource::Command(command.value.to_string()),
        (None, Some(fixed)) => VersionSource::Fixed(fixed.value.to_string()),
        (Some(_), Some(fixed)) => {
            cx.error(
                fixed.at,
                &fixed.path,
                "`version` takes either `command` or `fixed`, not both",
                None,
            );
            VersionSource::Git
        }
        (None, None) => {
            // With other keys in the table, those were reported (unknown, wrong type).
            if v.entries().is_empty() {
                cx.error(
                    v.at,
                    &v.path,
                    "`version` needs `command` or `fixed`",
                    Some(HINT.to_string()),
                );
            }
            VersionSource::Git
        }
    }
}

/// `[apps.NAME.env]`: names usable as environment variables, values plain text or
/// well-formed secret references.
fn env_vars(cx: &mut Cx<'_>, e: &TableRef<'_>) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for entry in e.entries() {
        if !is_env_name(entry.key) {
            cx.error(
                entry.key_at,
                &entry.path,
                format!("invalid environment variable name `{}`", entry.key),
                Some("use letters, digits and `_`, not starting with a digit".to_string()),
            );
        }
        let Some(value) = entry.as_str() else {
            continue;
        };
        if let Err(err) = SecretRef::parse(value.value) {
            cx.error(
                value.at,
                &value.path,
                format!(
                    "invalid secret reference `{}`: {}",
                    value.value, err.message
                ),
                Some(format!("write it as `{}`", err.expected)),
            );
        }
        vars.insert(entry.key.to_string(), value.value.to_string());
    }
    vars
}
