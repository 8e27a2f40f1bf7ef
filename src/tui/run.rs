//! A deploy or rollback as the Deploy pane shows it: engine [`Event`]s folded
//! into per host × step rows (state, bytes, elapsed), streamed output lines,
//! the failing step's error and journal lines, and the final report.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::deploy::Report;
use crate::engine::events::{Event, Step};
use crate::ssh::OutputKind;

/// Output lines kept per run.
pub const OUTPUT_LINES: usize = 2_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunKind {
    Deploy,
    Rollback,
}

impl RunKind {
    pub fn verb(self) -> &'static str {
        match self {
            RunKind::Deploy => "deploy",
            RunKind::Rollback => "rollback",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepState {
    Running,
    Done,
    Failed,
}

#[derive(Clone, Debug)]
pub struct StepRow {
    pub step: Step,
    pub state: StepState,
    pub detail: Option<String>,
    /// Bytes (or items) done of a total.
    pub progress: Option<(u64, u64)>,
    pub started: Instant,
    pub elapsed: Option<Duration>,
}

/// The steps of one host (or of the local side: plan, build, bundle).
#[derive(Clone, Debug, Default)]
pub struct Lane {
    pub steps: Vec<StepRow>,
    /// The failing step's error and the unit's journal lines.
    pub error: Option<(Step, String)>,
    pub journal: Vec<String>,
    /// Set by HostDone: ok and a one-line summary.
    pub done: Option<(bool, String)>,
    pub finished: Option<Instant>,
}

impl Lane {
    fn step_mut(&mut self, step: Step, now: Instant) -> &mut StepRow {
        let idx = match self.steps.iter().rposition(|s| s.step == step) {
            Some(i) => i,
            None => {
                self.steps.push(StepRow {
                    step,
                    state: StepState::Running,
                    detail: None,
                    progress: None,
                    started: now,
                    elapsed: None,
                });
                self.steps.len() - 1
            }
        };
        &mut self.steps[idx]
    }

    /// The step running now, else the last one.
    pub fn current(&self) -> Option<&StepRow> {
        self.steps
            .iter()
            .rev()
            .find(|s| s.state == StepState::Running)
            .or_else(|| self.steps.last())
    }

    pub fn failed(&self) -> bool {
        self.error.is_some() || matches!(self.done, Some((false, _)))
    }
}

/// How a run ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    Report(Report),
    /// The request failed before any host changed (lock held, build failed, ...).
    Error(String),
    Cancelled,
}

#[derive(Clone, Debug)]
pub struct Run {
    pub id: u64,
    pub kind: RunKind,
    pub app: String,
    /// Known from the request (rollback target) or the plan step.
    pub version: Option<String>,
    pub hosts: Vec<String>,
    pub local: Lane,
    pub lanes: BTreeMap<String, Lane>,
    /// (host, stream, line), oldest first.
    pub output: VecDeque<(Option<String>, OutputKind, String)>,
    pub started: Instant,
    pub finished: Option<Instant>,
    pub outcome: Option<Outcome>,
}

impl Run {
    pub fn new(
        id: u64,
        kind: RunKind,
        app: &str,
        version: Option<String>,
        hosts: Vec<String>,
        now: Instant,
    ) -> Run {
        Run {
            id,
            kind,
            app: app.to_string(),
            version,
            lanes: hosts.iter().map(|h| (h.clone(), Lane::default())).collect(),
            hosts,
            local: Lane::default(),
            output: VecDeque::new(),
            started: now,
            finished: None,
            outcome: None,
        }
    }

    pub fn running(&self) -> bool {
        self.outcome.is_none()
    }

    fn lane(&mut self, host: &Option<String>) -> &mut Lane {
        match host {
            None => &mut self.local,
            Some(h) => self.lanes.entry(h.clone()).or_default(),
        }
    }

    /// Fold one engine event into the run.
    pub fn apply(&mut self, event: Event, now: Instant) {
        match event {
            Event::StepStarted { host, step, detail } => {
                let lane = self.lane(&host);
                // A step can run twice (e.g. health after a revert): new row.
                if lane
                    .steps
                    .last()
                    .is_some_and(|s| s.step == step && s.state != StepState::Running)
                    || lane.steps.iter().all(|s| s.step != step)
                {
                    lane.steps.push(StepRow {
                        step,
                        state: StepState::Running,
                        detail,
                        progress: None,
                        started: now,
                        elapsed: None,
                    });
                } else {
                    let row = lane.step_mut(step, now);
                    row.state = StepState::Running;
                    row.detail = detail;
                }
            }
            Event::Progress {
                host,
                step,
                done,
                total,
            } => {
                self.lane(&host).step_mut(step, now).progress = Some((done, total));
            }
            Event::Output {
                host, stream, line, ..
            } => {
                if self.output.len() == OUTPUT_LINES {
                    self.output.pop_front();
                }
                self.output.push_back((host, stream, line));
            }
            Event::StepFinished {
                host,
                step,
                elapsed_ms,
                detail,
            } => {
                if host.is_none()
                    && step == Step::Plan
                    && self.version.is_none()
                    && let Some(d) = &detail
                {
                    // "app VERSION → hosts"
                    self.version = d.split_whitespace().nth(1).map(String::from);
                }
                let row = self.lane(&host).step_mut(step, now);
                row.state = StepState::Done;
                row.elapsed = Some(Duration::from_millis(elapsed_ms));
                if detail.is_some() {
                    row.detail = detail;
                }
            }
            Event::StepFailed {
                host,
                step,
                error,
                journal,
            } => {
                let lane = self.lane(&host);
                let row = lane.step_mut(step, now);
                row.state = StepState::Failed;
                row.elapsed = Some(now.saturating_duration_since(row.started));
                lane.error = Some((step, error));
                if !journal.is_empty() {
                    lane.journal = journal;
                }
            }
            Event::HostDone {
                host,
                ok,
                version,
                summary,
            } => {
                if self.version.is_none() {
                    self.version = version;
                }
                let lane = self.lanes.entry(host).or_default();
                lane.done = Some((ok, summary));
                lane.finished = Some(now);
                for s in &mut lane.steps {
                    if s.state == StepState::Running {
                        s.state = if ok {
                            StepState::Done
                        } else {
                            StepState::Failed
                        };
                        s.elapsed = Some(now.saturating_duration_since(s.started));
                    }
                }
            }
        }
    }

    /// The operation returned.
    pub fn finish(&mut self, outcome: Outcome, now: Instant) {
        if let Outcome::Report(r) = &outcome
            && self.version.is_none()
        {
            self.version = Some(r.version.clone());
        }
        if let Outcome::Error(e) = &outcome
            && self.local.error.is_none()
            && self.lanes.values().all(|l| l.error.is_none())
        {
            let step = self.local.current().map(|s| s.step).unwrap_or(Step::Plan);
            self.local.error = Some((step, e.clone()));
        }
        for lane in std::iter::once(&mut self.local).chain(self.lanes.values_mut()) {
            for s in &mut lane.steps {
                if s.state == StepState::Running {
                    s.state = StepState::Failed;
                    s.elapsed = Some(now.saturating_duration_since(s.started));
                }
            }
        }
        self.finished = Some(now);
        self.outcome = Some(outcome);
    }

    pub fn elapsed(&self, now: Instant) -> Duration {
        self.finished
            .unwrap_or(now)
            .saturating_duration_since(self.started)
    }

    /// Hosts that failed so far.
    pub fn failed_hosts(&self) -> Vec<&str> {
        self.lanes
            .iter()
            .filter(|(_, l)| l.failed())
            .map(|(h, _)| h.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_events_into_lanes() {
        let t0 = Instant::now();
        let mut r = Run::new(
            1,
            RunKind::Deploy,
            "hello",
            None,
            vec!["h1".into(), "h2".into()],
            t0,
        );
        r.apply(
            Event::StepFinished {
                host: None,
                step: Step::Plan,
                elapsed_ms: 10,
                detail: Some("hello v1.2 → h1, h2".into()),
            },
            t0,
        );
        assert_eq!(r.version.as_deref(), Some("v1.2"));
        r.apply(
            Event::StepStarted {
                host: Some("h1".into()),
                step: Step::Push,
                detail: None,
            },
            t0,
        );
        r.apply(
            Event::Progress {
                host: Some("h1".into()),
                step: Step::Push,
                done: 50,
                total: 100,
            },
            t0,
        );
        let lane = &r.lanes["h1"];
        assert_eq!(lane.current().map(|s| s.progress), Some(Some((50, 100))));
        r.apply(
            Event::StepFailed {
                host: Some("h2".into()),
                step: Step::Health,
                error: "unit failed".into(),
                journal: vec!["boom".into()],
            },
            t0,
        );
        assert_eq!(r.failed_hosts(), ["h2"]);
        assert_eq!(r.lanes["h2"].journal, ["boom"]);
        r.finish(Outcome::Cancelled, t0 + Duration::from_secs(2));
        assert!(!r.running());
        assert_eq!(r.lanes["h1"].steps[0].state, StepState::Failed);
    }

    #[test]
    fn a_request_error_lands_on_the_local_lane() {
        let t0 = Instant::now();
        let mut r = Run::new(1, RunKind::Deploy, "hello", None, vec!["h1".into()], t0);
        r.finish(Outcome::Error("lock held by bob".into()), t0);
        assert_eq!(
            r.local.error.as_ref().map(|e| e.1.as_str()),
            Some("lock held by bob")
        );
    }
}
