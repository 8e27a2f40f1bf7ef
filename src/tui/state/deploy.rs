//! The Deploy tab's state: the deploy or rollback started from the console (at most
//! one at a time), the plan being resolved before a deploy is confirmed, and how far
//! the output is scrolled back. Starting, cancelling and finishing a run happen here.

use std::time::Instant;

use super::effect::{Effect, Level, Reply};
use super::overlay::{Confirm, Pending, VersionInput};
use crate::deploy::{DeployRequest, RollbackRequest};
use crate::engine::events::Event;
use crate::tui::focus::step;
use crate::tui::run::{Outcome, Run, RunKind};

/// What the plan step found for the confirmation dialog: the version and the
/// commits since the hosts' current one.
pub use crate::deploy::Preview as DeployPlan;

#[derive(Clone, Debug)]
pub struct DeployTab {
    /// The last run started here, running or finished.
    pub run: Option<Run>,
    next_run: u64,
    /// Output lines scrolled back from the newest (0 = newest).
    pub scroll: usize,
    /// A plan is being resolved for this app.
    pub planning: Option<String>,
}

impl Default for DeployTab {
    fn default() -> Self {
        DeployTab {
            run: None,
            next_run: 1,
            scroll: 0,
            planning: None,
        }
    }
}

impl DeployTab {
    pub fn running(&self) -> bool {
        self.run.as_ref().is_some_and(Run::running)
    }

    /// The refusal to start a second run while one is going.
    pub fn busy(&self) -> Option<Reply> {
        self.running()
            .then(|| Reply::toast(Level::Error, "a deploy or rollback is already running"))
    }

    /// Resolve the plan of a deploy of `app` (whose hosts run `current` now).
    pub fn plan(&mut self, app: String, current: Vec<String>) -> Reply {
        self.planning = Some(app.clone());
        Reply {
            toast: Some((Level::Info, format!("planning {app}…"))),
            ..Reply::effect(Effect::PlanDeploy { app, current })
        }
    }

    /// The plan of `app` arrived: ask to deploy it to `hosts` (None: the app is gone),
    /// showing the `current` version of each host.
    pub fn planned(
        &mut self,
        app: String,
        plan: Result<DeployPlan, String>,
        hosts: Option<Vec<String>>,
        current: Vec<(String, Option<String>)>,
    ) -> Reply {
        if self.planning.as_deref() != Some(app.as_str()) {
            return Reply::default();
        }
        self.planning = None;
        let plan = match plan {
            Ok(p) => p,
            Err(e) => return Reply::toast(Level::Error, format!("cannot plan {app}: {e}")),
        };
        let Some(hosts) = hosts else {
            return Reply::default();
        };
        let current: Vec<String> = current
            .into_iter()
            .map(|(h, v)| format!("{h}: {}", v.unwrap_or_else(|| "—".into())))
            .collect();
        if let Some(reason) = plan.unresolved {
            // No version source: the dialog asks for the version.
            return Reply {
                version: Some(VersionInput {
                    app,
                    hosts,
                    reason,
                    current,
                    input: String::new(),
                    error: None,
                }),
                ..Reply::default()
            };
        }
        let mut lines = vec![
            format!("version  {}", plan.version),
            format!("hosts    {}", hosts.join(", ")),
        ];
        if !current.is_empty() {
            lines.push(format!("current  {}", current.join(", ")));
        }
        if !plan.commits.is_empty() {
            lines.push(format!(
                "commits since the current version ({}):",
                plan.commits.len()
            ));
            lines.extend(plan.commits.iter().take(8).map(|c| format!("  {c}")));
            if plan.commits.len() > 8 {
                lines.push(format!("  … {} more", plan.commits.len() - 8));
            }
        }
        Reply::confirm(Confirm {
            title: format!("Deploy {app}?"),
            lines,
            pending: Pending::Deploy {
                app,
                hosts,
                version: plan.version,
            },
        })
    }

    /// Start a confirmed deploy.
    pub fn start_deploy(
        &mut self,
        app: String,
        hosts: Vec<String>,
        version: String,
        now: Instant,
    ) -> Effect {
        let id = self.begin(RunKind::Deploy, &app, Some(version.clone()), &hosts, now);
        Effect::Deploy {
            id,
            req: DeployRequest {
                app,
                hosts,
                version: Some(version),
                lock_wait: None,
                ..Default::default()
            },
        }
    }

    /// Start a confirmed rollback (to the previous good release when `to` is None).
    pub fn start_rollback(
        &mut self,
        app: String,
        hosts: Vec<String>,
        to: Option<String>,
        now: Instant,
    ) -> Effect {
        let id = self.begin(RunKind::Rollback, &app, to.clone(), &hosts, now);
        Effect::Rollback {
            id,
            req: RollbackRequest {
                app,
                hosts,
                to,
                lock_wait: None,
                ..Default::default()
            },
        }
    }

    fn begin(
        &mut self,
        kind: RunKind,
        app: &str,
        version: Option<String>,
        hosts: &[String],
        now: Instant,
    ) -> u64 {
        let id = self.next_run;
        self.next_run += 1;
        self.run = Some(Run::new(id, kind, app, version, hosts.to_vec(), now));
        self.scroll = 0;
        id
    }

    /// An engine event of run `id`.
    pub fn event(&mut self, id: u64, event: Event, now: Instant) {
        if let Some(run) = self.run.as_mut().filter(|r| r.id == id) {
            run.apply(event, now);
        }
    }

    /// Run `id` ended: the app it was for, and the toast and status reload that
    /// report it.
    pub fn done(&mut self, id: u64, outcome: Outcome, now: Instant) -> Option<(String, Reply)> {
        let run = self.run.as_mut().filter(|r| r.id == id)?;
        let (level, text) = match &outcome {
            Outcome::Report(r) if r.ok() => (
                Level::Ok,
                format!(
                    "{} {} {}: ok on {}",
                    run.kind.verb(),
                    r.app,
                    r.version,
                    r.hosts.len()
                ),
            ),
            Outcome::Report(r) => (
                Level::Error,
                format!(
                    "{} {} failed on {}",
                    run.kind.verb(),
                    r.app,
                    r.hosts
                        .iter()
                        .filter(|h| !h.ok)
                        .map(|h| h.host.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Outcome::Error(e) => (Level::Error, format!("{} failed: {e}", run.kind.verb())),
            Outcome::Cancelled => (Level::Info, format!("{} cancelled", run.kind.verb())),
        };
        run.finish(outcome, now);
        let app = run.app.clone();
        let reply = Reply {
            toast: Some((level, text)),
            ..Reply::effect(Effect::LoadStatus { app: app.clone() })
        };
        Some((app, reply))
    }

    /// Stopping the running run, if one is running.
    pub fn cancel(&self) -> Option<Effect> {
        let run = self.run.as_ref().filter(|r| r.running())?;
        Some(Effect::Cancel {
            id: run.id,
            app: run.app.clone(),
            hosts: run.hosts.clone(),
        })
    }

    /// `r` outside History: the question whether to roll `app` back to the previous
    /// good release on each of its `hosts`.
    pub fn rollback_previous(app: &str, hosts: &[String]) -> Confirm {
        Confirm {
            title: format!("Roll {app} back?"),
            lines: vec![
                "to the previous good release on each host".into(),
                format!("hosts    {}", hosts.join(", ")),
            ],
            pending: Pending::Rollback {
                app: app.to_string(),
                hosts: hosts.to_vec(),
                to: None,
            },
        }
    }

    /// `x`: ask before cancelling the running run.
    pub fn ask_cancel(&self) -> Reply {
        if !self.running() {
            return Reply::toast(Level::Info, "nothing is running");
        }
        Reply::confirm(Confirm {
            title: "Cancel?".into(),
            lines: vec![
                "Stop the running operation and release its locks?".into(),
                "Hosts already switched keep the new release.".into(),
            ],
            pending: Pending::Cancel,
        })
    }

    /// `q` while a run is going asks first.
    pub fn quit_confirm(&self) -> Option<Confirm> {
        self.running().then(|| Confirm {
            title: "Quit?".into(),
            lines: vec![
                "A deploy or rollback is running.".into(),
                "Quitting stops it and releases its locks.".into(),
            ],
            pending: Pending::Quit,
        })
    }

    /// Scroll the output by `delta` lines (negative: towards older lines).
    pub fn scroll_by(&mut self, delta: isize) {
        let n = self.run.as_ref().map(|r| r.output.len()).unwrap_or(0);
        self.scroll = step(self.scroll, -delta, n.max(1));
    }
}
