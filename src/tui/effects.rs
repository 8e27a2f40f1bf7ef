//! Running the state's [`Effect`]s: each becomes a task that talks to the
//! engine and answers with [`Msg`]s. The state never waits on any of them.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::run::Outcome;
use super::state::{AUDIT_ENTRIES, Effect, Msg};
use crate::deploy;
use crate::engine::Engine;
use crate::engine::events::Events;
use crate::inspect;
use crate::operate;

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
                    let plan =
                        deploy::preview(&engine, &app, &current).map_err(|e| format!("{e:#}"));
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
                    let hosts = match inspect::history(&engine, &app).await {
                        Ok(hosts) => hosts
                            .into_iter()
                            .map(|(h, r)| (h, r.map_err(|e| format!("{e:#}"))))
                            .collect(),
                        Err(_) => Vec::new(),
                    };
                    let _ = tx.send(Msg::History {
                        app,
                        generation,
                        hosts,
                    });
                });
            }
            Effect::LoadUnits { app } => {
                tokio::spawn(async move {
                    let hosts = inspect::units(&engine, &app, &[], &[])
                        .await
                        .map_err(|e| format!("{e:#}"));
                    let _ = tx.send(Msg::Units { app, hosts });
                });
            }
            Effect::Control { req } => {
                tokio::spawn(async move {
                    let result = operate::control(&engine, &req)
                        .await
                        .map_err(|e| format!("{e:#}"));
                    let _ = tx.send(Msg::Controlled {
                        app: req.app,
                        action: req.action,
                        result,
                    });
                });
            }
            Effect::LoadAudit { app, generation } => {
                tokio::spawn(async move {
                    let log = inspect::audit(&engine, Some(&app), AUDIT_ENTRIES)
                        .await
                        .map_err(|e| format!("{e:#}"));
                    let _ = tx.send(Msg::Audit {
                        app,
                        generation,
                        log,
                    });
                });
            }
            Effect::LoadStatus { app } => {
                tokio::spawn(async move {
                    let hosts = match inspect::status(&engine, &app).await {
                        Ok(status) => status.hosts,
                        Err(_) => Vec::new(),
                    };
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
