//! Builds the typed `Config` from the checked document, applying defaults and resolving
//! paths, and reports what the schema pass cannot see: name and format rules, rules that
//! involve several keys, and cross references. Each part of the file has its own
//! module: `hosts` (names, addresses, jump hosts), `apps` (apps, their hosts, versions,
//! environment and unit names), `processes` (processes and the proxy in front of
//! them), `ui` (keymap and theme).
//!
//! Values whose type the schema pass already rejected read as absent here, so each
//! problem is reported once.

use std::collections::BTreeSet;

use super::apps::apps;
use super::hosts::hosts;
use super::model::*;
use super::read::{Env, int, path};
use super::tree::{Cx, TableRef};
use super::ui;

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
        environment: None,
        ssh,
        hosts,
        apps,
        secrets,
        ui,
        warnings: Vec::new(),
    }
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

fn secrets(t: &TableRef<'_>) -> SecretsConfig {
    let d = SecretsConfig::default();
    SecretsConfig {
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
