//! The frame of an action on an app's hosts outside the pipeline that changes what
//! the deploy owns (`prune`, `down`): every host connected first, the deploy lock
//! taken on all of them as a deploy takes it, the action on each host in parallel,
//! then its audit line and the lock given back. Reported like a deploy: events as
//! it goes, a [`Report`] at the end.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::config::AppConfig;
use crate::deploy::{HostOutcome, LockInfo, Report, finish, lock, plan, preflight};
use crate::engine::events::{Event, Events};
use crate::engine::{Engine, Host};
use crate::remote::Layout;

/// Who, where, and how to take the lock.
pub(crate) struct Frame<'a> {
    pub app: &'a AppConfig,
    pub hosts: &'a [String],
    /// The audit log's and the lock's name for the action (`prune`, `down`).
    pub action: &'a str,
    pub lock_wait: Option<Duration>,
    pub force_unlock: bool,
}

/// What the action did on one host.
pub(crate) struct Done {
    /// The release that was current, for the audit line.
    pub release: Option<String>,
    /// One line for the host's result.
    pub summary: String,
    pub error: Option<String>,
}

/// Run `each` on every host of the frame under the deploy lock.
pub(crate) async fn locked<F, Fut>(
    engine: &Engine,
    frame: Frame<'_>,
    events: &Events,
    each: F,
) -> anyhow::Result<Report>
where
    F: Fn(Host) -> Fut,
    Fut: Future<Output = Done>,
{
    let layout = Layout::new(&frame.app.name);
    let (hosts, _) = preflight(engine, frame.hosts, false, events).await?;
    let remotes = engine.hosts(&hosts)?;
    let info = LockInfo::new(&plan::deployer(), "-", frame.action);
    let instances = crate::remote::units::legacy_instances(frame.app);
    lock::lock_all(
        &remotes,
        &layout,
        &info,
        frame.lock_wait,
        frame.force_unlock,
        &instances,
        "",
        events,
    )
    .await?;
    let runs = remotes.iter().map(|r| {
        let (layout, each) = (&layout, &each);
        async move {
            let started = Instant::now();
            let mut done = each(r.clone()).await;
            if let Err(e) = finish::audit_action(
                r,
                layout,
                frame.action,
                done.release.as_deref(),
                done.error.as_deref(),
            )
            .await
                && done.error.is_none()
            {
                done.error = Some(format!("{}, but {e}", done.summary));
            }
            lock::release(r, layout).await;
            let ok = done.error.is_none();
            events.send(Event::HostDone {
                host: r.host.clone(),
                ok,
                version: done.release.clone(),
                summary: match &done.error {
                    None => done.summary.clone(),
                    Some(e) => format!("failed: {e}"),
                },
            });
            HostOutcome {
                host: r.host.clone(),
                ok,
                version: done
                    .release
                    .as_deref()
                    .map(crate::remote::layout::release_version)
                    .unwrap_or_default()
                    .to_string(),
                release: done.release,
                from_version: None,
                error: done.error,
                bytes_sent: 0,
                chunks_sent: 0,
                elapsed_ms: started.elapsed().as_millis() as u64,
            }
        }
    });
    Ok(Report {
        app: frame.app.name.clone(),
        version: String::new(),
        artifact_bytes: 0,
        hosts: futures::future::join_all(runs).await,
    })
}
