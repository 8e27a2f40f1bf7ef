//! The units of an app's current release on its hosts, with their states, and any
//! drift: files on a host that differ from what the release installed (`raijin
//! status`, the console's Status tab).

use serde::Serialize;

use crate::engine::{Engine, Host, LookupError};
use crate::remote::Layout;
use crate::remote::scripts::inspect as scripts;

/// One unit of the app on a host.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct UnitState {
    pub unit: String,
    pub active: String,
    pub sub: String,
    pub since: String,
}

/// One slot of the app's web process on a host.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SlotState {
    pub slot: String,
    /// The release the slot runs (or ran, when it has stopped after draining).
    pub release: String,
    /// Whether Caddy sends the traffic to it.
    pub serving: bool,
}

#[derive(Clone, Debug, Serialize, Default)]
pub struct HostStatus {
    pub host: String,
    pub current: Option<String>,
    /// The slots of the web process (none when it restarts in place).
    pub slots: Vec<SlotState>,
    pub units: Vec<UnitState>,
    /// Files on the host that differ from what the current release installed.
    pub drift: Vec<String>,
    pub error: Option<String>,
}

pub fn parse_status(host: &str, text: &str) -> HostStatus {
    let mut s = HostStatus {
        host: host.to_string(),
        ..Default::default()
    };
    for line in text.lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        match parts.as_slice() {
            ["current", v] => s.current = Some(v.to_string()).filter(|v| !v.is_empty()),
            ["drift", what] => s.drift.push(what.to_string()),
            ["slot", slot, release, role] => s.slots.push(SlotState {
                slot: slot.to_string(),
                release: release.to_string(),
                serving: *role == "serving",
            }),
            ["unit", unit, active, sub, since] => s.units.push(UnitState {
                unit: unit.to_string(),
                active: active.to_string(),
                sub: sub.to_string(),
                since: since.to_string(),
            }),
            _ => {}
        }
    }
    s
}

/// The app's units on one host; a host that could not be read has its error.
pub async fn host_status(r: &Host, layout: &Layout) -> HostStatus {
    match r
        .script("reading the app's status", &scripts::status(layout))
        .await
    {
        Ok(out) => parse_status(&r.host, &out.stdout_str()),
        Err(e) => HostStatus {
            host: r.host.clone(),
            error: Some(e.to_string()),
            ..Default::default()
        },
    }
}

/// An app's units on all its hosts.
#[derive(Clone, Debug, Serialize)]
pub struct AppStatus {
    pub app: String,
    pub hosts: Vec<HostStatus>,
}

/// The units of `app` on each of its hosts (read in parallel), in the app's order
/// of hosts.
pub async fn status(engine: &Engine, app: &str) -> Result<AppStatus, LookupError> {
    let app = engine.app(app)?;
    let layout = Layout::new(&app.name);
    let hosts = engine.hosts(&app.hosts)?;
    let reads = hosts.iter().map(|h| host_status(h, &layout));
    Ok(AppStatus {
        app: app.name.clone(),
        hosts: futures::future::join_all(reads).await,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        let s = parse_status(
            "h1",
            "current\tv3\ndrift\tunit a-web.service differs from the release\nslot\tb\tv3\tserving\nunit\ta-web.service\tactive\trunning\tMon 2026-11-23 02:00:00 UTC\n",
        );
        assert_eq!(s.current.as_deref(), Some("v3"));
        assert_eq!(s.drift.len(), 1);
        assert_eq!(s.units[0].active, "active");
        assert_eq!(
            s.slots,
            [SlotState {
                slot: "b".into(),
                release: "v3".into(),
                serving: true
            }]
        );
    }
}
