//! The deploy pipeline: plan, check every host is reachable, lock, build, bundle,
//! push only the chunks each host lacks, install, activate behind a health gate
//! that the host enforces by itself, prune, audit. Rollback is the activation with a
//! kept release. Every step reports [`Event`]s; nothing here prints.
//!
//! One file per step: [`lock`], [`build`] (build and bundle), [`push`] (with the
//! release's identity in [`identity`]), [`install`] (and hooks), [`activate`] (and
//! the health check), [`finish`] (prune and audit), [`rollback`]. The host-side
//! scripts they run are all in [`crate::remote::scripts`].

pub mod activate;
pub mod build;
pub mod finish;
pub mod http;
pub mod identity;
pub mod install;
pub mod lock;
pub mod plan;
pub mod push;
pub mod rollback;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use serde::Serialize;

use crate::config::AppConfig;
use crate::engine::events::{Event, Events, Step};
use crate::engine::{Engine, Host};
use crate::remote::{Layout, units};
use build::Rendered;
use install::Hook;

pub use activate::HEALTH_TIMEOUT;
pub use finish::local_audit_path;
pub use lock::LockInfo;
pub use plan::{Preview, check_secrets, check_version, preview};
pub use rollback::{RollbackRequest, rollback};

#[derive(Clone, Debug, Default)]
pub struct DeployRequest {
    pub app: String,
    /// Hosts to deploy to; empty = all of the app's hosts.
    pub hosts: Vec<String>,
    pub version: Option<String>,
    /// Wait this long for another deploy's lock; None = fail at once.
    pub lock_wait: Option<Duration>,
    pub force_unlock: bool,
    /// Deploy to the reachable hosts and report the others as skipped.
    pub skip_unreachable: bool,
    /// Roll out in batches of hosts, each healthy before the next starts.
    pub batch: Option<Batch>,
    /// When a batch fails, also roll the earlier batches back.
    pub revert_all: bool,
}

pub use crate::config::Batch;

/// What happened on one host.
#[derive(Clone, Debug, Serialize)]
pub struct HostOutcome {
    pub host: String,
    pub ok: bool,
    /// The version id.
    pub version: String,
    /// The release id on the host: the version id, or `VERSION~STAMP` when the host
    /// already had that version id with other content.
    pub release: Option<String>,
    pub from_version: Option<String>,
    pub error: Option<String>,
    /// Bytes of chunk data sent (the artifact's unchanged chunks cost nothing).
    pub bytes_sent: u64,
    pub chunks_sent: usize,
    pub elapsed_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub app: String,
    pub version: String,
    pub artifact_bytes: u64,
    pub hosts: Vec<HostOutcome>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.hosts.iter().all(|h| h.ok)
    }
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Connect to every host before anything is built (in parallel, each within the
/// connect timeout). Unreachable hosts fail the operation, saying nothing changed;
/// with `skip`, the reachable ones go on and the others come back as failed outcomes.
pub(crate) async fn preflight(
    engine: &Engine,
    hosts: &[String],
    skip: bool,
    events: &Events,
) -> anyhow::Result<(Vec<String>, Vec<HostOutcome>)> {
    let checks = hosts.iter().map(|h| async move {
        let result = match engine.host(h) {
            Ok(host) => host.connect().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        (h.clone(), result)
    });
    let mut reachable = Vec::new();
    let mut unreachable = Vec::new();
    for (h, result) in futures::future::join_all(checks).await {
        match result {
            Ok(()) => reachable.push(h),
            Err(e) => unreachable.push((h, e)),
        }
    }
    if unreachable.is_empty() {
        return Ok((reachable, Vec::new()));
    }
    let names: Vec<&str> = unreachable.iter().map(|(h, _)| h.as_str()).collect();
    if !skip || reachable.is_empty() {
        for (h, e) in &unreachable {
            events.failed(Some(h), Step::Plan, e, Vec::new());
        }
        bail!(
            "cannot reach {}: nothing was deployed and no host was changed{}\n{}",
            names.join(", "),
            if reachable.is_empty() {
                ""
            } else {
                " (--skip-unreachable goes on with the others)"
            },
            unreachable
                .iter()
                .map(|(_, e)| format!("  {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let skipped = unreachable
        .into_iter()
        .map(|(h, e)| {
            let error = format!("skipped, unreachable: {e}");
            events.failed(Some(&h), Step::Plan, &error, Vec::new());
            events.send(Event::HostDone {
                host: h.clone(),
                ok: false,
                version: None,
                summary: error.clone(),
            });
            HostOutcome {
                host: h,
                ok: false,
                version: String::new(),
                release: None,
                from_version: None,
                error: Some(error),
                bytes_sent: 0,
                chunks_sent: 0,
                elapsed_ms: 0,
            }
        })
        .collect();
    Ok((reachable, skipped))
}

/// Release this process's locks of the app on these hosts (also after Ctrl-C): a
/// lock another deploy holds is left alone.
pub async fn unlock(engine: &Engine, app: &str, hosts: &[String]) {
    let layout = Layout::new(app);
    let remotes: Vec<Host> = hosts.iter().filter_map(|h| engine.host(h).ok()).collect();
    futures::future::join_all(remotes.iter().map(|r| lock::release(r, &layout))).await;
}

/// Deploy an app to its hosts. Returns per-host outcomes; an error means
/// nothing was changed on any host (bad request, unreachable host, lock held,
/// build failed).
pub async fn deploy(
    engine: &Engine,
    req: DeployRequest,
    events: &Events,
) -> anyhow::Result<Report> {
    let app = engine.app(&req.app)?.clone();
    let requested = engine.hosts_for(&app, &req.hosts)?;
    let dir = engine.config.project_dir();
    let layout = Layout::new(&app.name);
    let plan_started = Instant::now();
    events.started(None, Step::Plan, None);
    let version = plan::version(&app, &dir, req.version.as_deref())?;
    // Secrets resolve before anything is built or uploaded.
    let vars = plan::env_vars(&app)?;
    let resolved = crate::secrets::resolve_all(&vars, &engine.config.secrets).await?;
    let env = plan::env_file(&app, &version.id, &resolved);
    // From here on, values that came from secret references are masked in
    // every event (a hook or build that prints one shows `****`).
    let secret_values: Vec<&str> = vars
        .iter()
        .zip(&resolved)
        .filter(|((_, raw), _)| matches!(crate::config::SecretRef::parse(raw), Ok(Some(_))))
        .map(|(_, (_, v))| v.expose())
        .collect();
    let masked = events.masking(secret_values);
    let events = &masked;
    let by = plan::deployer();
    // Connecting, locking and the local bundle: reaching the hosts and hashing the
    // artifact overlap when there is no build command (whose effects should wait
    // until every host is known reachable and locked).
    let reach = async {
        let (hosts, skipped) = preflight(engine, &requested, req.skip_unreachable, events).await?;
        events.finished(
            None,
            Step::Plan,
            plan_started.elapsed(),
            Some(format!(
                "{} {} → {}",
                app.name,
                version.id,
                hosts.join(", ")
            )),
        );
        let remotes = engine.hosts(&hosts)?;
        let info = LockInfo::new(&by, &version.id, "deploy");
        // Recorded for the releases a migration of a legacy host brings over.
        let instances = units::legacy_instances(&app);
        lock::lock_all(
            &remotes,
            &layout,
            &info,
            req.lock_wait,
            req.force_unlock,
            &instances,
            "",
            events,
        )
        .await?;
        Ok::<_, anyhow::Error>((remotes, skipped))
    };
    let ((remotes, skipped), prepared) = if app.build.is_none() {
        let (reached, rendered) = tokio::join!(
            reach,
            build::render(&app, &layout, &version, &by, env, events)
        );
        (reached?, rendered)
    } else {
        let reached = reach.await?;
        let prepared = async {
            build::build(&app, &dir, &version.id, events).await?;
            build::render(&app, &layout, &version, &by, env, events).await
        }
        .await;
        (reached, prepared)
    };
    let rendered = match prepared {
        Ok(r) => Arc::new(r),
        Err(e) => {
            futures::future::join_all(remotes.iter().map(|r| lock::release(r, &layout))).await;
            return Err(e);
        }
    };

    let artifact_bytes = rendered.bundle.manifest.total_bytes();
    let mut outcomes = match req.batch.or(app.batch) {
        None => {
            futures::future::join_all(
                remotes
                    .iter()
                    .map(|r| deploy_host(r, &app, &layout, rendered.clone(), events)),
            )
            .await
        }
        Some(batch) => {
            rolling(
                engine,
                &app,
                &layout,
                &remotes,
                &rendered,
                batch,
                req.revert_all,
                events,
            )
            .await
        }
    };
    outcomes.extend(skipped);
    Ok(Report {
        app: app.name.clone(),
        version: version.id.clone(),
        artifact_bytes,
        hosts: outcomes,
    })
}

/// A rolling deploy: the hosts in batches (natural order of their names), each batch
/// in parallel and healthy before the next starts. A failing batch stops the rollout:
/// its hosts are back on their previous release (the host reverts by itself), later
/// batches are never touched (their locks given back), and the earlier ones keep the
/// new release, or with `revert_all` roll back to the one before.
#[allow(clippy::too_many_arguments)]
async fn rolling(
    engine: &Engine,
    app: &AppConfig,
    layout: &Layout,
    remotes: &[Host],
    rendered: &Arc<Rendered>,
    batch: Batch,
    revert_all: bool,
    events: &Events,
) -> Vec<HostOutcome> {
    let mut order: Vec<&Host> = remotes.iter().collect();
    order.sort_by(|a, b| crate::util::natural_cmp(&a.host, &b.host));
    let size = batch.size(order.len());
    let batches: Vec<&[&Host]> = order.chunks(size).collect();
    let mut outcomes = Vec::new();
    let mut failed_at = None;
    for (i, hosts) in batches.iter().enumerate() {
        if failed_at.is_some() {
            break;
        }
        let names: Vec<&str> = hosts.iter().map(|h| h.host.as_str()).collect();
        events.output(
            None,
            Step::Plan,
            crate::ssh::OutputKind::Stdout,
            &format!("batch {} of {}: {}", i + 1, batches.len(), names.join(", ")),
        );
        let done = futures::future::join_all(
            hosts
                .iter()
                .map(|r| deploy_host(r, app, layout, rendered.clone(), events)),
        )
        .await;
        if done.iter().any(|o| !o.ok) {
            failed_at = Some(i);
        }
        outcomes.extend(done);
    }
    let Some(failed) = failed_at else {
        return outcomes;
    };
    for hosts in &batches[failed + 1..] {
        for r in hosts.iter() {
            lock::release(r, layout).await;
            outcomes.push(HostOutcome {
                host: r.host.clone(),
                ok: false,
                version: rendered.version.id.clone(),
                release: None,
                from_version: None,
                error: Some(format!(
                    "not deployed: the rollout stopped after batch {} failed",
                    failed + 1
                )),
                bytes_sent: 0,
                chunks_sent: 0,
                elapsed_ms: 0,
            });
        }
    }
    // The failing batch's hosts that did take the release go back with
    // the rest of their batch; `--on-failure revert-all` adds the earlier
    // batches.
    let mut back_hosts: Vec<String> = batches[failed]
        .iter()
        .filter(|h| outcomes.iter().any(|o| o.host == h.host && o.ok))
        .map(|h| h.host.clone())
        .collect();
    if revert_all {
        back_hosts.extend(
            batches[..failed]
                .iter()
                .flat_map(|b| b.iter().map(|h| h.host.clone())),
        );
    }
    if back_hosts.is_empty() {
        return outcomes;
    }
    let why = if revert_all {
        format!("batch {} failed (--on-failure revert-all)", failed + 1)
    } else {
        format!("batch {} failed", failed + 1)
    };
    let back = rollback::rollback(
        engine,
        RollbackRequest {
            app: app.name.clone(),
            hosts: back_hosts.clone(),
            ..Default::default()
        },
        events,
    )
    .await;
    for o in outcomes.iter_mut().filter(|o| back_hosts.contains(&o.host)) {
        o.ok = false;
        o.error = Some(match &back {
            Ok(back) => match back.hosts.iter().find(|b| b.host == o.host) {
                Some(b) => match (&b.error, &b.release) {
                    (None, Some(r)) => format!("rolled back to {r} because {why}"),
                    (Some(e), _) => format!("{why}; rolling back failed too: {e}"),
                    (None, None) => format!("{why}; rolled back"),
                },
                None => format!("{why}; not rolled back (the host was not reached)"),
            },
            Err(e) => format!("{why}; rolling back failed too: {e}"),
        });
    }
    outcomes
}

/// The per-host part of a deploy; always audits and unlocks.
async fn deploy_host(
    r: &Host,
    app: &AppConfig,
    layout: &Layout,
    rendered: Arc<Rendered>,
    events: &Events,
) -> HostOutcome {
    let started = Instant::now();
    let sent = Arc::new(AtomicU64::new(0));
    let mut chunks_sent = 0;
    let mut from_version = None;
    let mut release = None;
    let result = async {
        let pushed = push::push(r, app, layout, &rendered, &sent, events).await?;
        chunks_sent = pushed.chunks_sent;
        release = Some(pushed.release.clone());
        let id = pushed.release.as_str();
        install::install(r, app, layout, id, events).await?;
        from_version = activate::activate(r, app, layout, id, events).await?;
        install::run_hook(r, app, layout, id, Hook::PostActivate, events).await?;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    let (ok, error) = match result {
        Ok(()) => {
            if let Some(id) = &release {
                push::remember_current(&r.host, &app.name, id, &rendered.manifest_json);
            }
            (true, None)
        }
        Err(e) => {
            let msg = events.mask(&format!("{e:#}"));
            if let Some(id) = &release {
                let _ = install::run_hook(r, app, layout, id, Hook::OnFailure, events).await;
            }
            (false, Some(msg))
        }
    };
    let version = &rendered.version;
    let outcome = HostOutcome {
        host: r.host.clone(),
        ok,
        version: version.id.clone(),
        release: release.clone(),
        from_version,
        error,
        bytes_sent: sent.load(Ordering::Relaxed),
        chunks_sent,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    finish::wrap_up(
        r,
        layout,
        ok.then_some(app.versions_to_keep),
        "deploy",
        &rendered.by,
        version.commit.as_deref(),
        &outcome,
        events,
    )
    .await;
    let shown = release.as_deref().unwrap_or(&version.id);
    events.send(Event::HostDone {
        host: r.host.clone(),
        ok,
        version: Some(shown.to_string()),
        summary: match &outcome.error {
            None => format!(
                "{shown} live (sent {} in {} chunks)",
                crate::util::human_bytes(outcome.bytes_sent),
                outcome.chunks_sent
            ),
            Some(e) => format!("failed: {e}"),
        },
    });
    outcome
}

#[cfg(test)]
mod tests {
    use super::Batch;

    #[test]
    fn batch_sizes() {
        assert_eq!(Batch::parse("2"), Ok(Batch::Hosts(2)));
        assert_eq!(Batch::parse("25%"), Ok(Batch::Percent(25)));
        assert!(Batch::parse("0").is_err() && Batch::parse("0%").is_err());
        assert!(Batch::parse("101%").is_err() && Batch::parse("x").is_err());
        assert_eq!(Batch::Percent(25).size(20), 5);
        assert_eq!(Batch::Percent(25).size(3), 1);
        assert_eq!(Batch::Percent(50).size(3), 2);
        assert_eq!(Batch::Hosts(4).size(3), 4);
    }
}
