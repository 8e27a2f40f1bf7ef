//! Builds the typed `Config` from the checked document, applying defaults and resolving
//! paths, and reports what the schema pass cannot see: name and format rules, rules that
//! involve several keys, and cross references (app hosts, proxy processes, jump hosts).
//!
//! Values whose type the schema pass already rejected read as absent here, so each
//! problem is reported once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::model::*;
use super::rules::{self, Problem};
use super::secret_ref::{SecretRef, is_env_name};
use super::tree::{Cx, Spanned, TableRef};
use super::ui;
use crate::util::did_you_mean;

/// Everything `build` needs besides the document.
pub(crate) struct Env {
    /// Directory relative paths are resolved against.
    pub base_dir: PathBuf,
    /// Where `~/` points; `None` when HOME is not set.
    pub home: Option<PathBuf>,
    /// Where theme files are looked for; `None`: the theme is not checked.
    pub theme_dirs: Option<Vec<PathBuf>>,
}

pub(crate) fn build(cx: &mut Cx<'_>, root: &TableRef<'_>, env: &Env) -> Config {
    let ssh = root
        .table("ssh")
        .map(|t| ssh_settings(cx, &t, env))
        .unwrap_or_default();
    // Every key of [hosts] counts as a host for cross references, even one whose table
    // is broken (that is reported once, where it is).
    let host_names: BTreeSet<String> = root
        .table("hosts")
        .map(|t| t.entries().iter().map(|e| e.key.to_string()).collect())
        .unwrap_or_default();
    let hosts = root
        .table("hosts")
        .map(|t| hosts(cx, &t, &host_names, env))
        .unwrap_or_default();
    let apps = root
        .table("apps")
        .map(|t| apps(cx, &t, &host_names, env))
        .unwrap_or_default();
    let secrets = root
        .table("secrets")
        .map(|t| secrets(&t))
        .unwrap_or_default();
    let ui = root.table("ui").map(|t| ui::ui(cx, &t)).unwrap_or_default();
    if let Some(dirs) = &env.theme_dirs {
        ui::check_theme(cx, root, &ui.theme, dirs);
    }
    Config {
        path: cx.file.to_path_buf(),
        ssh,
        hosts,
        apps,
        secrets,
        ui,
        warnings: Vec::new(),
    }
}

/// A string value that is not blank (blank ones were reported by the schema pass).
pub(super) fn filled(value: Option<Spanned<&str>>) -> Option<Spanned<&str>> {
    value.filter(|s| !s.value.trim().is_empty())
}

fn report(cx: &mut Cx<'_>, at: usize, path: &str, problem: Problem) {
    cx.error(at, path, problem.message, problem.hint);
}

/// `n` as `T`, if it fits (ranges were checked by the schema pass).
fn int<T: TryFrom<i64>>(table: &TableRef<'_>, key: &str) -> Option<T> {
    table.int(key).and_then(|n| T::try_from(n.value).ok())
}

pub(super) fn string(table: &TableRef<'_>, key: &str) -> Option<String> {
    table.str(key).map(|s| s.value.to_string())
}

/// Resolves a path value: `~/` expands to HOME, relative paths join the base directory.
fn path(cx: &mut Cx<'_>, table: &TableRef<'_>, key: &str, env: &Env) -> Option<PathBuf> {
    let value = table.str(key)?;
    resolve(cx, &value, env)
}

fn resolve(cx: &mut Cx<'_>, value: &Spanned<&str>, env: &Env) -> Option<PathBuf> {
    let raw = value.value;
    if raw.trim().is_empty() {
        return None;
    }
    if raw == "~" || raw.starts_with("~/") {
        let Some(home) = &env.home else {
            cx.error(
                value.at,
                &value.path,
                format!("cannot expand `~` in `{raw}`: HOME is not set"),
                Some("write the full path".to_string()),
            );
            return None;
        };
        let rest = raw.trim_start_matches('~').trim_start_matches('/');
        return Some(if rest.is_empty() {
            home.clone()
        } else {
            home.join(rest)
        });
    }
    if raw.starts_with('~') {
        cx.error(
            value.at,
            &value.path,
            format!("cannot expand `{raw}`: only `~/` is expanded"),
            Some("write the full path".to_string()),
        );
        return None;
    }
    let p = Path::new(raw);
    Some(if p.is_absolute() {
        p.to_path_buf()
    } else {
        env.base_dir.join(p)
    })
}

fn ssh_settings(cx: &mut Cx<'_>, t: &TableRef<'_>, env: &Env) -> SshSettings {
    let d = SshSettings::default();
    SshSettings {
        config_file: path(cx, t, "config_file", env),
        connect_timeout_secs: int(t, "connect_timeout_secs").unwrap_or(d.connect_timeout_secs),
        keepalive_interval_secs: int(t, "keepalive_interval_secs")
            .unwrap_or(d.keepalive_interval_secs),
        keepalive_max: int(t, "keepalive_max").unwrap_or(d.keepalive_max),
    }
}

fn hosts(
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

fn apps(
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

fn processes(cx: &mut Cx<'_>, p: &TableRef<'_>) -> BTreeMap<String, ProcessConfig> {
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

fn proxy(
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
    }
}

fn secrets(t: &TableRef<'_>) -> SecretsConfig {
    let d = SecretsConfig::default();
    SecretsConfig {
        adapter: t
            .str("adapter")
            .and_then(|a| SecretAdapter::from_name(a.value))
            .unwrap_or(d.adapter),
        options: t
            .table("options")
            .map(|o| {
                o.entries()
                    .iter()
                    .filter_map(|e| e.as_str().map(|v| (e.key.to_string(), v.value.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
        timeout_secs: int(t, "timeout_secs").unwrap_or(d.timeout_secs),
    }
}
