//! Typed progress reports from the engine. Every long operation (deploy,
//! rollback, ...) sends `Event`s on a channel; the CLI prints them as lines or
//! JSON, the console folds them into its state. Events never carry secrets.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::ssh::OutputKind;

/// A step of the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Plan,
    Lock,
    Build,
    Bundle,
    Push,
    Install,
    Hook,
    Activate,
    Health,
    Proxy,
    Prune,
    Audit,
    /// Taking an app off a host (`raijin down`).
    Down,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Plan => "plan",
            Step::Lock => "lock",
            Step::Build => "build",
            Step::Bundle => "bundle",
            Step::Push => "push",
            Step::Install => "install",
            Step::Hook => "hook",
            Step::Activate => "activate",
            Step::Health => "health",
            Step::Proxy => "proxy",
            Step::Prune => "prune",
            Step::Audit => "audit",
            Step::Down => "down",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A step began (on a host, or locally when `host` is None).
    StepStarted {
        host: Option<String>,
        step: Step,
        detail: Option<String>,
    },
    /// Bytes or items done out of a total.
    Progress {
        host: Option<String>,
        step: Step,
        done: u64,
        total: u64,
    },
    /// A line of output (build command, hook, remote script).
    Output {
        host: Option<String>,
        step: Step,
        stream: OutputKind,
        line: String,
    },
    StepFinished {
        host: Option<String>,
        step: Step,
        elapsed_ms: u64,
        detail: Option<String>,
    },
    StepFailed {
        host: Option<String>,
        step: Step,
        error: String,
        /// Last journal lines of the failing unit, when a unit failed.
        journal: Vec<String>,
    },
    /// One host is done with the whole operation.
    HostDone {
        host: String,
        ok: bool,
        version: Option<String>,
        summary: String,
    },
}

impl Event {
    /// The host the event is about; `None` for the local side (plan, build, bundle).
    pub fn host(&self) -> Option<&str> {
        match self {
            Event::StepStarted { host, .. }
            | Event::Progress { host, .. }
            | Event::Output { host, .. }
            | Event::StepFinished { host, .. }
            | Event::StepFailed { host, .. } => host.as_deref(),
            Event::HostDone { host, .. } => Some(host),
        }
    }

    /// The step the event is about; `None` for the end of a host's operation.
    pub fn step(&self) -> Option<Step> {
        match self {
            Event::StepStarted { step, .. }
            | Event::Progress { step, .. }
            | Event::Output { step, .. }
            | Event::StepFinished { step, .. }
            | Event::StepFailed { step, .. } => Some(*step),
            Event::HostDone { .. } => None,
        }
    }
}

/// Where the engine sends events. Cloneable; a closed receiver is ignored
/// (a face that stopped listening must not stop a deploy).
#[derive(Clone)]
pub struct Events {
    tx: Option<mpsc::UnboundedSender<Event>>,
    /// Secret values to mask in every output line and error (`****`).
    masks: std::sync::Arc<Vec<zeroize::Zeroizing<String>>>,
}

impl Events {
    pub fn channel() -> (Events, mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Events {
                tx: Some(tx),
                masks: Default::default(),
            },
            rx,
        )
    }

    /// A sink that drops everything.
    pub fn none() -> Events {
        Events {
            tx: None,
            masks: Default::default(),
        }
    }

    /// The same sink, also masking these secret values wherever they would
    /// appear (build or hook output, error messages).
    pub fn masking<'a>(&self, secrets: impl IntoIterator<Item = &'a str>) -> Events {
        let mut masks: Vec<zeroize::Zeroizing<String>> = self.masks.iter().cloned().collect();
        // A multi-line value never appears whole in one output line: each of its
        // lines is masked on its own too.
        for secret in secrets.into_iter().filter(|s| !s.is_empty()) {
            masks.push(zeroize::Zeroizing::new(secret.to_string()));
            if secret.contains('\n') {
                masks.extend(
                    secret
                        .lines()
                        .map(|l| l.trim_end_matches('\r'))
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| zeroize::Zeroizing::new(l.to_string())),
                );
            }
        }
        // Longest first, so a secret containing another is masked whole.
        masks.sort_by_key(|m| std::cmp::Reverse(m.len()));
        Events {
            tx: self.tx.clone(),
            masks: std::sync::Arc::new(masks),
        }
    }

    /// `text` with every secret value replaced by `****`.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for m in self.masks.iter() {
            if out.contains(m.as_str()) {
                out = out.replace(m.as_str(), "****");
            }
        }
        out
    }

    pub fn send(&self, e: Event) {
        let Some(tx) = &self.tx else {
            return;
        };
        let e = if self.masks.is_empty() {
            e
        } else {
            match e {
                Event::Output {
                    host,
                    step,
                    stream,
                    line,
                } => Event::Output {
                    host,
                    step,
                    stream,
                    line: self.mask(&line),
                },
                Event::StepFailed {
                    host,
                    step,
                    error,
                    journal,
                } => Event::StepFailed {
                    host,
                    step,
                    error: self.mask(&error),
                    journal: journal.iter().map(|j| self.mask(j)).collect(),
                },
                Event::HostDone {
                    host,
                    ok,
                    version,
                    summary,
                } => Event::HostDone {
                    host,
                    ok,
                    version,
                    summary: self.mask(&summary),
                },
                other => other,
            }
        };
        let _ = tx.send(e);
    }

    pub fn started(&self, host: Option<&str>, step: Step, detail: Option<String>) {
        self.send(Event::StepStarted {
            host: host.map(String::from),
            step,
            detail,
        });
    }

    pub fn finished(&self, host: Option<&str>, step: Step, took: Duration, detail: Option<String>) {
        self.send(Event::StepFinished {
            host: host.map(String::from),
            step,
            elapsed_ms: took.as_millis() as u64,
            detail,
        });
    }

    pub fn failed(&self, host: Option<&str>, step: Step, error: &str, journal: Vec<String>) {
        self.send(Event::StepFailed {
            host: host.map(String::from),
            step,
            error: error.to_string(),
            journal,
        });
    }

    pub fn progress(&self, host: Option<&str>, step: Step, done: u64, total: u64) {
        self.send(Event::Progress {
            host: host.map(String::from),
            step,
            done,
            total,
        });
    }

    pub fn output(&self, host: Option<&str>, step: Step, stream: OutputKind, line: &str) {
        self.send(Event::Output {
            host: host.map(String::from),
            step,
            stream,
            line: line.to_string(),
        });
    }

    /// A callback that splits streamed output into lines and sends each as
    /// an `Output` event; call `flush` on the returned buffer at the end.
    pub fn line_sink(&self, host: Option<&str>, step: Step) -> LineSink {
        LineSink {
            events: self.clone(),
            host: host.map(String::from),
            step,
            partial: [Vec::new(), Vec::new()],
        }
    }
}

/// Turns output chunks into whole lines (per stream) for `Output` events.
pub struct LineSink {
    events: Events,
    host: Option<String>,
    step: Step,
    partial: [Vec<u8>; 2],
}

impl LineSink {
    pub fn push(&mut self, kind: OutputKind, data: &[u8]) {
        let idx = usize::from(kind == OutputKind::Stderr);
        self.partial[idx].extend_from_slice(data);
        while let Some(pos) = self.partial[idx].iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial[idx].drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            self.events.output(
                self.host.as_deref(),
                self.step,
                kind,
                text.trim_end_matches('\r'),
            );
        }
    }

    pub fn flush(&mut self) {
        for (idx, kind) in [(0, OutputKind::Stdout), (1, OutputKind::Stderr)] {
            if !self.partial[idx].is_empty() {
                let text = String::from_utf8_lossy(&self.partial[idx]).into_owned();
                self.events
                    .output(self.host.as_deref(), self.step, kind, &text);
                self.partial[idx].clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn line_sink_splits_lines_per_stream() {
        let (events, mut rx) = Events::channel();
        let mut sink = events.line_sink(Some("h1"), Step::Build);
        sink.push(OutputKind::Stdout, b"one\ntw");
        sink.push(OutputKind::Stderr, b"err\n");
        sink.push(OutputKind::Stdout, b"o\nthree");
        sink.flush();
        drop(sink);
        drop(events);
        let mut lines = Vec::new();
        while let Some(Event::Output { line, stream, .. }) = rx.recv().await {
            lines.push((stream, line));
        }
        assert_eq!(
            lines,
            vec![
                (OutputKind::Stdout, "one".to_string()),
                (OutputKind::Stderr, "err".to_string()),
                (OutputKind::Stdout, "two".to_string()),
                (OutputKind::Stdout, "three".to_string()),
            ]
        );
    }

    #[tokio::test]
    async fn secrets_are_masked_in_output_and_errors() {
        let (events, mut rx) = Events::channel();
        let masked = events.masking(["hunter2", ""]);
        masked.output(
            Some("h1"),
            Step::Hook,
            OutputKind::Stdout,
            "password is hunter2!",
        );
        masked.failed(
            Some("h1"),
            Step::Hook,
            "hook echoed hunter2",
            vec!["j hunter2".into()],
        );
        drop((events, masked));
        let mut seen = Vec::new();
        while let Some(e) = rx.recv().await {
            seen.push(serde_json::to_string(&e).unwrap());
        }
        let all = seen.join("\n");
        assert!(!all.contains("hunter2"), "{all}");
        assert_eq!(all.matches("****").count(), 3, "{all}");
    }

    #[test]
    fn every_line_of_a_multi_line_secret_is_masked() {
        let pem = "-----BEGIN KEY-----\r\nMIIBfake0line1\nZm9vYmFy==\n-----END KEY-----\n";
        let masked = Events::none().masking([pem]);
        for line in pem.lines() {
            assert_eq!(
                masked.mask(&format!("hook: {line}")),
                "hook: ****",
                "{line:?}"
            );
        }
        assert_eq!(masked.mask(pem), "****");
        assert_eq!(masked.mask("unrelated"), "unrelated");
    }

    #[test]
    fn events_serialize_as_tagged_json() {
        let e = Event::Progress {
            host: Some("h1".into()),
            step: Step::Push,
            done: 5,
            total: 10,
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["event"], "progress");
        assert_eq!(v["step"], "push");
        assert_eq!(v["host"], "h1");
    }
}
