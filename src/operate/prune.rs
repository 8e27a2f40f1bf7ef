//! `raijin prune APP [--keep N]`: the deploy's prune on demand, under the deploy
//! lock: keep the newest N releases (default `versions_to_keep`) and never the
//! current or the previous one, remove leftovers of interrupted deploys, drop the
//! chunks no kept release references. Audited on each host.

use std::time::Duration;

use super::maintain::{Done, Frame, locked};
use crate::deploy::{Report, finish};
use crate::engine::Engine;
use crate::engine::events::Events;
use crate::remote::Layout;

#[derive(Clone, Debug, Default)]
pub struct PruneRequest {
    pub app: String,
    /// Empty: all of the app's hosts.
    pub hosts: Vec<String>,
    /// Releases to keep; None: the app's `versions_to_keep`.
    pub keep: Option<usize>,
    pub lock_wait: Option<Duration>,
    pub force_unlock: bool,
}

pub async fn prune(engine: &Engine, req: &PruneRequest, events: &Events) -> anyhow::Result<Report> {
    let app = engine.app(&req.app)?;
    let hosts = engine.hosts_for(app, &req.hosts)?;
    let keep = req.keep.unwrap_or(app.versions_to_keep).max(1);
    let layout = Layout::new(&app.name);
    let frame = Frame {
        app,
        hosts: &hosts,
        action: "prune",
        lock_wait: req.lock_wait,
        force_unlock: req.force_unlock,
    };
    locked(engine, frame, events, |r| {
        let layout = &layout;
        async move {
            let p = finish::prune(&r, keep, layout, events).await;
            Done {
                release: None,
                summary: format!(
                    "kept the newest {keep}: removed {} releases, {} chunks",
                    p.releases, p.chunks
                ),
                error: p.error,
            }
        }
    })
    .await
}
