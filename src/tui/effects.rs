//! Running the state's [`Effect`]s: each becomes a task that talks to the
//! engine and answers with [`Msg`]s. The state never waits on any of them.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::run::Outcome;
use super::state::{DeployPlan, Effect, Msg};
use crate::deploy::{self, inspect, plan, remote::Remote};
use crate::engine::Engine;
use crate::engine::events::Events;
use crate::remote::Layout;

/// Commits listed at most in the confirmation.
const MAX_COMMITS: usize = 50;

pub struct Effects {
    engine: Arc<Engine>,
    tx: UnboundedSender<Msg>,
    /// Running deploys/rollbacks by run id, for cancel.
    runs: HashMap<u64, JoinHandle<()>>,
    cancels: Vec<JoinHandle<()>>,
}

impl Effects {
    pub fn new(engine: Arc<Engine>, tx: UnboundedSender<Msg>) -> Effects {
        Effects {
            engine,
            tx,
            runs: HashMap::new(),
            cancels: Vec::new(),
        }
    }

    pub fn start(&mut self, fx: Effect) {
        self.runs.retain(|_, h| !h.is_finished());
        let engine = self.engine.clone();
        let tx = self.tx.clone();
        match fx {
            Effect::PlanDeploy { app, current } => {
                tokio::task::spawn_blocking(move || {
                    let plan = plan_deploy(&engine, &app, &current);
                    let _ = tx.send(Msg::DeployPlanned { app, plan });
                });
            }
            Effect::Deploy { id, req } => {
                let h = tokio::spawn(async move {
                    let (events, forward) = forward_events(id, &tx);
                    let r = deploy::deploy(&engine, req, &events).await;
                    drop(events);
                    let _ = forward.await;
                    let _ = tx.send(Msg::RunDone {
                        id,
                        outcome: outcome(r),
                    });
                });
                self.runs.insert(id, h);
            }
            Effect::Rollback { id, req } => {
                let h = tokio::spawn(async move {
                    let (events, forward) = forward_events(id, &tx);
                    let r = deploy::rollback(&engine, req, &events).await;
                    drop(events);
                    let _ = forward.await;
                    let _ = tx.send(Msg::RunDone {
                        id,
                        outcome: outcome(r),
                    });
                });
                self.runs.insert(id, h);
            }
            Effect::Cancel { id, app, hosts } => {
                if let Some(h) = self.runs.remove(&id) {
                    h.abort();
                }
                let h = tokio::spawn(async move {
                    deploy::unlock(&engine, &app, &hosts).await;
                    let _ = tx.send(Msg::RunDone {
                        id,
                        outcome: Outcome::Cancelled,
                    });
                });
                self.cancels.push(h);
            }
            Effect::LoadHistory { app, generation } => {
                tokio::spawn(async move {
                    let hosts = match deploy::app(&engine, &app) {
                        Ok(a) => a.hosts.clone(),
                        Err(_) => Vec::new(),
                    };
                    let layout = Layout::new(&app);
                    let jobs = hosts.iter().map(|h| {
                        let layout = &layout;
                        let engine = &engine;
                        async move {
                            let r = async {
                                let r = Remote::new(h, engine.session(h)?);
                                inspect::host_history(&r, layout).await
                            }
                            .await
                            .map_err(|e| format!("{e:#}"));
                            (h.clone(), r)
                        }
                    });
                    let hosts = futures::future::join_all(jobs).await;
                    let _ = tx.send(Msg::History {
                        app,
                        generation,
                        hosts,
                    });
                });
            }
            Effect::LoadStatus { app } => {
                tokio::spawn(async move {
                    let hosts = match deploy::app(&engine, &app) {
                        Ok(a) => a.hosts.clone(),
                        Err(_) => Vec::new(),
                    };
                    let layout = Layout::new(&app);
                    let jobs = hosts.iter().map(|h| {
                        let layout = &layout;
                        let engine = &engine;
                        async move {
                            match engine.session(h) {
                                Ok(s) => inspect::host_status(&Remote::new(h, s), layout).await,
                                Err(e) => inspect::HostStatus {
                                    host: h.clone(),
                                    error: Some(e.to_string()),
                                    ..Default::default()
                                },
                            }
                        }
                    });
                    let hosts = futures::future::join_all(jobs).await;
                    let _ = tx.send(Msg::Status { app, hosts });
                });
            }
        }
    }

    /// A cancel (releasing locks) is still under way.
    pub fn cancelling(&self) -> bool {
        self.cancels.iter().any(|h| !h.is_finished())
    }

    /// Stop every run (on quit; cancel effects have released their locks).
    pub fn abort_all(&mut self) {
        for (_, h) in self.runs.drain() {
            h.abort();
        }
    }
}

fn outcome(r: anyhow::Result<deploy::Report>) -> Outcome {
    match r {
        Ok(report) => Outcome::Report(report),
        Err(e) => Outcome::Error(format!("{e:#}")),
    }
}

/// An event sink whose events arrive as `Msg::RunEvent`s for run `id`.
fn forward_events(id: u64, tx: &UnboundedSender<Msg>) -> (Events, JoinHandle<()>) {
    let (events, mut rx) = Events::channel();
    let tx = tx.clone();
    let forward = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            if tx.send(Msg::RunEvent { id, event }).is_err() {
                break;
            }
        }
    });
    (events, forward)
}

/// The version to deploy and the commits since the hosts' current version
/// (when that version names something git knows; best effort).
fn plan_deploy(engine: &Engine, app: &str, current: &[String]) -> Result<DeployPlan, String> {
    let cfg = deploy::app(engine, app).map_err(|e| format!("{e:#}"))?;
    let dir = plan::project_dir(&engine.config);
    let version = plan::version(cfg, &dir, None).map_err(|e| format!("{e:#}"))?;
    let mut commits = Vec::new();
    if let Some(cur) = current.first().filter(|c| *c != &version.id) {
        commits = commits_since(&dir, cur);
    }
    Ok(DeployPlan {
        version: version.id,
        commits,
    })
}

fn commits_since(dir: &Path, version: &str) -> Vec<String> {
    // `v1.2-3-gabc123-dirty` → try the whole id, then the part git describe
    // would accept without `-dirty`.
    let base = version.trim_end_matches("-dirty");
    let out = Command::new("git")
        .args([
            "log",
            "--oneline",
            "--no-decorate",
            &format!("{base}..HEAD"),
        ])
        .current_dir(dir)
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .take(MAX_COMMITS)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}
