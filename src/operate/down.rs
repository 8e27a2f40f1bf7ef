//! `raijin down APP`: take the app off its hosts (all or some), under the deploy
//! lock: its Caddy site, every unit (both slots of the web process), any activation
//! or drain still running; the releases, store, audit log and data stay unless
//! `purge`, which also removes the releases, the store and the app's data directory
//! (`/opt/raijin/APP`). A fresh deploy works afterwards. Audited on each host.

use std::time::{Duration, Instant};

use super::maintain::{Done, Frame, locked};
use crate::deploy::Report;
use crate::engine::Engine;
use crate::engine::events::{Events, Step};
use crate::remote::Layout;
use crate::remote::scripts::down as scripts;
use crate::ssh::OutputKind;

#[derive(Clone, Debug, Default)]
pub struct DownRequest {
    pub app: String,
    /// Empty: all of the app's hosts.
    pub hosts: Vec<String>,
    pub purge: bool,
    pub lock_wait: Option<Duration>,
    pub force_unlock: bool,
}

pub async fn down(engine: &Engine, req: &DownRequest, events: &Events) -> anyhow::Result<Report> {
    let app = engine.app(&req.app)?;
    let hosts = engine.hosts_for(app, &req.hosts)?;
    let layout = Layout::new(&app.name);
    let frame = Frame {
        app,
        hosts: &hosts,
        action: if req.purge { "down --purge" } else { "down" },
        lock_wait: req.lock_wait,
        force_unlock: req.force_unlock,
    };
    let script = scripts::down(&layout, &app.user, req.purge);
    locked(engine, frame, events, |r| {
        let script = &script;
        async move {
            let started = Instant::now();
            let host = Some(r.host.as_str());
            events.started(host, Step::Down, None);
            let mut release = None;
            let mut removed = 0usize;
            let error = match r.script("taking the app off the host", script).await {
                Ok(out) => {
                    for line in out.stdout_str().lines() {
                        match line.split_once('\t') {
                            Some(("current", id)) if !id.is_empty() => {
                                release = Some(id.to_string())
                            }
                            Some(("note", note)) => {
                                events.output(host, Step::Down, OutputKind::Stdout, note)
                            }
                            Some(("removed", n)) => removed = n.parse().unwrap_or(0),
                            _ => {}
                        }
                    }
                    None
                }
                Err(e) => Some(e.to_string()),
            };
            let summary = format!(
                "down: {removed} unit files removed{}",
                if req.purge {
                    ", releases and data purged"
                } else {
                    ""
                }
            );
            match &error {
                None => events.finished(host, Step::Down, started.elapsed(), Some(summary.clone())),
                Some(e) => events.failed(host, Step::Down, e, Vec::new()),
            }
            Done {
                release,
                summary,
                error,
            }
        }
    })
    .await
}
