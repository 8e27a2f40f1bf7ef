//! Rollback: activate a kept release through the same host-side activation as a
//! deploy (its own units, site and environment), with no build, upload or uninstall.
//! Audited like a deploy.

use std::time::Instant;

use anyhow::Context as _;

use super::{HostOutcome, Report, activate, finish, lock, plan, preflight};
use crate::engine::Engine;
use crate::engine::events::{Event, Events};
use crate::inspect::{self, HostHistory};
use crate::remote::Layout;
use crate::remote::layout::release_version;
use crate::remote::units;

#[derive(Clone, Debug, Default)]
pub struct RollbackRequest {
    pub app: String,
    pub hosts: Vec<String>,
    /// Target version or release id; None = the previous good release on each host.
    pub to: Option<String>,
    pub lock_wait: Option<std::time::Duration>,
    pub force_unlock: bool,
    /// Roll back the reachable hosts and report the others as skipped.
    pub skip_unreachable: bool,
}

/// The release to go back to on a host: the release id `to`, else the newest kept
/// release carrying version `to`, else (no `to`) the previous good release.
pub fn pick_target(hist: &HostHistory, to: Option<&str>) -> anyhow::Result<String> {
    let kept = || {
        hist.releases
            .iter()
            .map(|x| x.version.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match to {
        Some(v) => hist
            .releases
            .iter()
            .find(|x| x.version == v)
            .or_else(|| {
                hist.releases
                    .iter()
                    .find(|x| release_version(&x.version) == v)
            })
            .map(|x| x.version.clone())
            .with_context(|| {
                format!(
                    "{}: version {v} is not kept on this host (kept: {})",
                    hist.host,
                    kept()
                )
            }),
        None => hist
            .previous_good()
            .with_context(|| format!("{}: no previous good release to roll back to", hist.host)),
    }
}

pub async fn rollback(
    engine: &Engine,
    req: RollbackRequest,
    events: &Events,
) -> anyhow::Result<Report> {
    let app = engine.app(&req.app)?.clone();
    let requested = engine.hosts_for(&app, &req.hosts)?;
    let (hosts, skipped) = preflight(engine, &requested, req.skip_unreachable, events).await?;
    let layout = Layout::new(&app.name);
    let remotes = engine.hosts(&hosts)?;
    let by = plan::deployer();
    let info = lock::LockInfo::new(&by, req.to.as_deref().unwrap_or("previous"), "rollback");
    // Recorded for the releases a migration of a legacy host brings over.
    let instances = units::legacy_instances(&app);
    // Each host's history is read with its lock held, in the same round trip.
    let histories = lock::lock_all(
        &remotes,
        &layout,
        &info,
        req.lock_wait,
        req.force_unlock,
        &instances,
        &crate::remote::scripts::inspect::history(&layout),
        events,
    )
    .await?;
    let outcomes = futures::future::join_all(remotes.iter().map(|r| {
        let (app, layout, by, to) = (&app, &layout, &by, req.to.clone());
        let history = histories.get(&r.host).cloned().unwrap_or_default();
        async move {
            let started = Instant::now();
            let result = async {
                let hist = inspect::parse_history(&r.host, &history);
                let target = pick_target(&hist, to.as_deref())?;
                let prev = activate::activate(r, app, layout, &target, events).await?;
                Ok::<_, anyhow::Error>((target, prev))
            }
            .await;
            let outcome = match result {
                Ok((target, prev)) => {
                    super::push::remember_rollback(&r.host, &app.name, &target);
                    HostOutcome {
                        host: r.host.clone(),
                        ok: true,
                        version: release_version(&target).to_string(),
                        release: Some(target),
                        from_version: prev,
                        error: None,
                        bytes_sent: 0,
                        chunks_sent: 0,
                        elapsed_ms: started.elapsed().as_millis() as u64,
                    }
                }
                Err(e) => HostOutcome {
                    host: r.host.clone(),
                    ok: false,
                    version: to.clone().unwrap_or_default(),
                    release: None,
                    from_version: None,
                    error: Some(format!("{e:#}")),
                    bytes_sent: 0,
                    chunks_sent: 0,
                    elapsed_ms: started.elapsed().as_millis() as u64,
                },
            };
            finish::wrap_up(r, layout, None, "rollback", by, None, &outcome, events).await;
            events.send(Event::HostDone {
                host: r.host.clone(),
                ok: outcome.ok,
                version: outcome.release.clone(),
                summary: match &outcome.error {
                    None => format!(
                        "{} live again",
                        outcome.release.as_deref().unwrap_or(&outcome.version)
                    ),
                    Some(e) => format!("failed: {e}"),
                },
            });
            outcome
        }
    }))
    .await;
    let mut hosts = outcomes;
    hosts.extend(skipped);
    Ok(Report {
        app: app.name.clone(),
        version: req.to.unwrap_or_else(|| "previous".into()),
        artifact_bytes: 0,
        hosts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::Release;

    fn rel(v: &str, at: &str) -> Release {
        Release {
            version: v.into(),
            commit: None,
            deployed_at: at.into(),
            by: "a@b".into(),
            current: false,
            bad: false,
        }
    }

    #[test]
    fn an_exact_id_wins_else_the_newest_release_of_the_version() {
        let hist = HostHistory {
            host: "h1".into(),
            releases: vec![
                rel("v1~20261201000001", "2026-12-01T00:00:01Z"),
                rel("v1", "2026-12-01T00:00:00Z"),
            ],
            current: None,
            previous: None,
            legacy: false,
        };
        assert_eq!(pick_target(&hist, Some("v1")).unwrap(), "v1");
        assert_eq!(
            pick_target(&hist, Some("v1~20261201000001")).unwrap(),
            "v1~20261201000001"
        );
        let only_suffixed = HostHistory {
            releases: vec![
                rel("v2~20261201000002", "2026-12-01T00:00:02Z"),
                rel("v2~20261201000001", "2026-12-01T00:00:01Z"),
            ],
            ..hist.clone()
        };
        assert_eq!(
            pick_target(&only_suffixed, Some("v2")).unwrap(),
            "v2~20261201000002"
        );
        let err = pick_target(&hist, Some("v9")).unwrap_err().to_string();
        assert!(err.contains("version v9 is not kept on this host"), "{err}");
    }
}
