//! `app start | stop | restart`: systemd actions on an app's units, as its current
//! release installed them, on all or some of its hosts at once. Each host answers
//! with its units' details after the action (and the journal of any unit the
//! action left failed), and the action is written to the host's audit log.

use crate::engine::{Engine, LookupError};
use crate::inspect::units::{HostUnits, on_host, stems};
use crate::remote::Layout;
use crate::remote::scripts::units::Action;

/// What to do with the units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitAction {
    Start,
    Stop,
    /// Reload-or-restart each service; `force`: restart it.
    Restart {
        force: bool,
    },
}

impl UnitAction {
    /// The verb, as the audit log and the faces name it.
    pub fn verb(self) -> &'static str {
        match self {
            UnitAction::Start => "start",
            UnitAction::Stop => "stop",
            UnitAction::Restart { .. } => "restart",
        }
    }
}

/// Which units, where, and what to do.
#[derive(Clone, Debug)]
pub struct ControlRequest {
    pub app: String,
    /// Processes of the app; empty: all.
    pub processes: Vec<String>,
    /// Empty: all of the app's hosts.
    pub hosts: Vec<String>,
    pub action: UnitAction,
}

/// Run the action on every host of the request at once; the answers come back in
/// host order, each with its units after the action, failed ones with their error.
pub async fn control(engine: &Engine, req: &ControlRequest) -> Result<Vec<HostUnits>, LookupError> {
    let app = engine.app(&req.app)?;
    engine.check_processes(app, &req.processes)?;
    let hosts = engine.hosts(&engine.hosts_for(app, &req.hosts)?)?;
    let stems = stems(app, &req.processes);
    let layout = Layout::new(&app.name);
    let action = match req.action {
        UnitAction::Start => Action::Start,
        UnitAction::Stop => Action::Stop,
        UnitAction::Restart { force } => Action::Restart { force },
    };
    let runs = hosts.iter().map(|r| {
        let (stems, layout) = (&stems, &layout);
        async move {
            let mut done = on_host(r, app, stems, action).await;
            // A host where nothing was done (not deployed, unreachable) has nothing to audit.
            if done.current.is_some() {
                let verb = if req.processes.is_empty() {
                    req.action.verb().to_string()
                } else {
                    format!("{} {}", req.action.verb(), req.processes.join(" "))
                };
                let audited = crate::deploy::finish::audit_action(
                    r,
                    layout,
                    &verb,
                    done.current.as_deref(),
                    done.error.as_deref(),
                )
                .await;
                if let (Err(e), None) = (audited, &done.error) {
                    done.error = Some(format!("the action was done, but {e}"));
                }
            }
            done
        }
    });
    Ok(futures::future::join_all(runs).await)
}
