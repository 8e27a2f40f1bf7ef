//! Two slots for the proxied web process, so a new release starts beside the old one.
//!
//! The process Caddy proxies to, when it runs all the time (a service, with or without
//! replicas), is not restarted in place: each release renders it for both slots, `a`
//! and `b`, as concrete instance units `APP-PROC@a1.service` … `APP-PROC@aN.service`
//! (N = replicas). A deploy starts the new release in the slot that is not serving,
//! checks it on its own ports, switches Caddy's upstream to them, and lets the old slot
//! drain before it stops (see `remote::scripts::activate`).
//!
//! Each instance learns its port from `PORT`, which raijin sets in front of the
//! command (so it wins over a `PORT` in the app's environment): slot `a` listens on
//! the proxy's `port` (instance i on `port + i - 1`), slot `b` on `port + 10000` (or
//! `port - 10000` when that would pass 65535). `RAIJIN_SLOT` and `RAIJIN_INSTANCE` say
//! which slot and instance a process is.

use crate::config::{AppConfig, AppKind, ProcessConfig};
use crate::remote::units::{ProcessShape, unit_stem};

/// The slots, in order.
pub const SLOTS: [&str; 2] = ["a", "b"];
/// How far slot `b`'s ports are from slot `a`'s.
pub const SLOT_B_OFFSET: u16 = 10000;

/// The process that runs in slots: the proxy's upstream process of a binary or python
/// app, when it runs all the time. None for static apps, apps without a proxy, and a
/// socket-activated upstream (which restarts in place).
pub fn process(app: &AppConfig) -> Option<&ProcessConfig> {
    if app.kind == AppKind::Static {
        return None;
    }
    let name = app.proxy.as_ref()?.process.as_ref()?;
    let p = app.processes.get(name)?;
    matches!(
        ProcessShape::of(p),
        ProcessShape::Service | ProcessShape::Replicas(_)
    )
    .then_some(p)
}

/// The other slot.
pub fn other(slot: &str) -> &'static str {
    if slot == "a" { "b" } else { "a" }
}

/// The ports the instances of `slot` listen on, one per replica.
pub fn ports(app: &AppConfig, slot: &str) -> Vec<u16> {
    let (Some(p), Some(base)) = (process(app), app.proxy.as_ref().and_then(|x| x.port)) else {
        return Vec::new();
    };
    let first = if slot == "a" {
        base
    } else if u32::from(base) + u32::from(SLOT_B_OFFSET) + p.replicas <= 65535 {
        base + SLOT_B_OFFSET
    } else {
        base.saturating_sub(SLOT_B_OFFSET)
    };
    (0..p.replicas)
        .filter_map(|i| u16::try_from(u32::from(first) + i).ok())
        .collect()
}

/// The unit instances of `slot`: `APP-PROC@a1.service` …
pub fn instances(app: &AppConfig, slot: &str) -> Vec<String> {
    let Some(p) = process(app) else {
        return Vec::new();
    };
    let stem = unit_stem(&app.name, &p.name);
    (1..=p.replicas)
        .map(|i| format!("{stem}@{slot}{i}.service"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use std::path::Path;

    fn app(extra: &str, port: u16) -> AppConfig {
        let t = format!(
            "[hosts.h]\naddress = \"h\"\n[apps.shop]\nhosts = [\"h\"]\nartifact = \"x\"\nkind = \"binary\"\n\
             [apps.shop.processes.web]\ncommand = \"./shop\"\n{extra}\
             [apps.shop.processes.worker]\ncommand = \"./work\"\n\
             [apps.shop.proxy]\ndomain = \"shop.test\"\nprocess = \"web\"\nport = {port}\n"
        );
        let c = load_str(&t, Path::new("raijin.toml")).unwrap_or_else(|e| panic!("{e}"));
        c.apps.into_values().next().unwrap()
    }

    #[test]
    fn the_proxied_process_runs_in_two_slots() {
        let a = app("", 8000);
        assert_eq!(process(&a).map(|p| p.name.as_str()), Some("web"));
        assert_eq!(ports(&a, "a"), [8000]);
        assert_eq!(ports(&a, "b"), [18000]);
        assert_eq!(instances(&a, "b"), ["shop-web@b1.service"]);
        assert_eq!(other("a"), "b");
    }

    #[test]
    fn replicas_get_a_port_each() {
        let a = app("replicas = 2\n", 8000);
        assert_eq!(ports(&a, "a"), [8000, 8001]);
        assert_eq!(ports(&a, "b"), [18000, 18001]);
        assert_eq!(
            instances(&a, "a"),
            ["shop-web@a1.service", "shop-web@a2.service"]
        );
    }

    #[test]
    fn high_ports_go_down_for_slot_b() {
        assert_eq!(ports(&app("", 60000), "b"), [50000]);
    }

    #[test]
    fn a_socket_activated_upstream_restarts_in_place() {
        assert!(process(&app("socket = \"127.0.0.1:8000\"\n", 8000)).is_none());
    }
}
