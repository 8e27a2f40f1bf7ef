//! The details of an app's units on its hosts (`raijin app status`, the console's
//! Status tab): per unit its state, since when, main PID, restarts and memory, read
//! with `systemctl show` from the units the current release installed. The same
//! reading ends every start, stop and restart (`operate::control`).

use serde::Serialize;

use crate::config::AppConfig;
use crate::engine::{Engine, Host, LookupError};
use crate::remote::Layout;
use crate::remote::scripts::units::{self as scripts, Action};

/// One unit of the app on a host.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, Default)]
pub struct UnitDetail {
    pub unit: String,
    /// The process it runs (from the unit's name).
    pub process: String,
    /// The web process's slot (`a`, `b`), for its units.
    pub slot: Option<String>,
    /// For a slot's unit: whether its slot serves the site.
    pub serving: Option<bool>,
    /// systemd's ActiveState (`active`, `inactive`, `failed`, ...).
    pub active: String,
    /// systemd's SubState (`running`, `dead`, `listening`, ...).
    pub sub: String,
    /// When it entered this state.
    pub since: String,
    /// The main process, while one runs.
    pub main_pid: Option<u32>,
    /// How often systemd restarted it automatically.
    pub restarts: Option<u32>,
    /// Its memory in bytes, when systemd accounts it.
    pub memory_bytes: Option<u64>,
    /// The last lines of its journal, when an action left it failed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub journal: Vec<String>,
}

/// The app's units on one host.
#[derive(Clone, Debug, Serialize, Default)]
pub struct HostUnits {
    pub host: String,
    /// The current release; none when the app is not deployed there.
    pub current: Option<String>,
    pub units: Vec<UnitDetail>,
    /// Why the host could not be read, or why an action failed there.
    pub error: Option<String>,
}

impl HostUnits {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// The unit stems (`APP-PROC`) of `processes` of `app`; none for all of them.
pub(crate) fn stems(app: &AppConfig, processes: &[String]) -> Vec<String> {
    processes
        .iter()
        .map(|p| crate::config::unit_stem(&app.name, p))
        .collect()
}

/// The process a unit of `app` runs: `APP-PROC.service`, `APP-PROC@a1.service`.
pub fn process_of(app: &str, unit: &str) -> String {
    let rest = unit
        .strip_prefix(app)
        .and_then(|r| r.strip_prefix('-'))
        .unwrap_or(unit);
    rest.split(['.', '@']).next().unwrap_or(rest).to_string()
}

/// Parse what [`scripts::units`] printed.
pub fn parse_units(app: &str, host: &str, text: &str) -> HostUnits {
    let mut h = HostUnits {
        host: host.to_string(),
        ..Default::default()
    };
    let mut errors = Vec::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, '\t');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("current"), Some(id), None) => {
                h.current = Some(id.to_string()).filter(|s| !s.is_empty())
            }
            (Some("error"), Some(msg), None) => errors.push(msg.trim().to_string()),
            (Some("unit"), Some(unit), Some(role)) => {
                let (slot, serving) = match role.split_once(':') {
                    Some((s, r)) => (Some(s.to_string()), Some(r == "serving")),
                    None => (None, None),
                };
                h.units.push(UnitDetail {
                    unit: unit.to_string(),
                    process: process_of(app, unit),
                    slot,
                    serving,
                    ..Default::default()
                });
            }
            (Some("prop"), Some(kv), None) => {
                if let (Some(u), Some((k, v))) = (h.units.last_mut(), kv.split_once('=')) {
                    set_property(u, k, v);
                }
            }
            (Some("log"), Some(unit), Some(l)) => {
                if let Some(u) = h.units.iter_mut().find(|u| u.unit == unit) {
                    u.journal.push(l.to_string());
                }
            }
            _ => {}
        }
    }
    if !errors.is_empty() {
        h.error = Some(errors.join("; "));
    }
    h
}

fn set_property(u: &mut UnitDetail, key: &str, value: &str) {
    let number = || value.parse::<u64>().ok();
    match key {
        "ActiveState" => u.active = value.to_string(),
        "SubState" => u.sub = value.to_string(),
        "StateChangeTimestamp" => u.since = value.to_string(),
        "MainPID" => {
            u.main_pid = number()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n > 0)
        }
        "NRestarts" => u.restarts = number().and_then(|n| u32::try_from(n).ok()),
        // `[not set]`, or u64::MAX when memory is not accounted.
        "MemoryCurrent" => u.memory_bytes = number().filter(|n| *n != u64::MAX),
        _ => {}
    }
}

/// Run [`scripts::units`] with `action` on one host and read its answer.
pub(crate) async fn on_host(
    r: &Host,
    app: &AppConfig,
    stems: &[String],
    action: Action,
) -> HostUnits {
    let layout = Layout::new(&app.name);
    let what = match action {
        Action::Status => "reading the app's units",
        Action::Start => "starting the app's units",
        Action::Stop => "stopping the app's units",
        Action::Restart { .. } => "restarting the app's units",
    };
    match r
        .script(what, &scripts::units(&layout, stems, action))
        .await
    {
        Ok(out) => parse_units(&app.name, &r.host, &out.stdout_str()),
        Err(e) => HostUnits {
            host: r.host.clone(),
            error: Some(e.to_string()),
            ..Default::default()
        },
    }
}

/// The units of `processes` of `app` (none: all) on `hosts` (none: all of the
/// app's), read in parallel, in the order of the hosts.
pub async fn units(
    engine: &Engine,
    app: &str,
    processes: &[String],
    hosts: &[String],
) -> Result<Vec<HostUnits>, LookupError> {
    let app = engine.app(app)?;
    engine.check_processes(app, processes)?;
    let hosts = engine.hosts(&engine.hosts_for(app, hosts)?)?;
    let stems = stems(app, processes);
    let reads = hosts
        .iter()
        .map(|h| on_host(h, app, &stems, Action::Status));
    Ok(futures::future::join_all(reads).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_with_their_properties_slots_and_journal() {
        let text = "current\tv3\n\
            unit\tshop-worker@1.service\t-\n\
            prop\tMainPID=412\nprop\tActiveState=active\nprop\tSubState=running\n\
            prop\tStateChangeTimestamp=Mon 2026-11-23 02:00:00 UTC\nprop\tNRestarts=2\nprop\tMemoryCurrent=1048576\n\
            unit\tshop-web@b1.service\tb:serving\n\
            prop\tMainPID=0\nprop\tActiveState=failed\nprop\tMemoryCurrent=[not set]\n\
            log\tshop-web@b1.service\t2026-11-23T02:00:00+0000 h1 hello[1]: boom\n";
        let h = parse_units("shop", "h1", text);
        assert_eq!(h.current.as_deref(), Some("v3"));
        assert!(h.ok());
        let w = &h.units[0];
        assert_eq!(
            (w.process.as_str(), w.main_pid, w.restarts, w.memory_bytes),
            ("worker", Some(412), Some(2), Some(1_048_576))
        );
        assert_eq!((w.active.as_str(), w.sub.as_str()), ("active", "running"));
        assert_eq!(w.slot, None);
        let web = &h.units[1];
        assert_eq!(web.process, "web");
        assert_eq!((web.slot.as_deref(), web.serving), (Some("b"), Some(true)));
        assert_eq!((web.main_pid, web.memory_bytes), (None, None));
        assert_eq!(web.journal.len(), 1);
    }

    #[test]
    fn an_error_line_fails_the_host() {
        let h = parse_units(
            "shop",
            "h1",
            "error\tthe app is not deployed on this host\n",
        );
        assert_eq!(
            h.error.as_deref(),
            Some("the app is not deployed on this host")
        );
        assert_eq!(process_of("a-b", "a-b-c-d.socket"), "c-d");
    }
}
