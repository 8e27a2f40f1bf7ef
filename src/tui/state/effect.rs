//! What a change of state asks for beyond itself: [`Effect`]s, the work the runtime
//! starts (each answers with a message), and the [`Reply`] of a tab's handler, which
//! the console carries out (effects, a toast, a confirmation dialog).

use std::time::{Duration, Instant};

use super::overlay::{Confirm, VersionInput};
use crate::deploy::{DeployRequest, RollbackRequest};
use crate::operate::ControlRequest;

/// How long a toast stays.
pub const TOAST_FOR: Duration = Duration::from_secs(4);

/// Work for the runtime: each is spawned as its own task and answers with a Msg.
#[derive(Clone, Debug)]
pub enum Effect {
    /// Resolve the version and the commits since the hosts' current version.
    PlanDeploy {
        app: String,
        current: Vec<String>,
    },
    Deploy {
        id: u64,
        req: DeployRequest,
    },
    Rollback {
        id: u64,
        req: RollbackRequest,
    },
    /// Stop the run and release its locks.
    Cancel {
        id: u64,
        app: String,
        hosts: Vec<String>,
    },
    /// Start, stop or restart units (one `operate::control` call).
    Control {
        req: ControlRequest,
    },
    LoadHistory {
        app: String,
        generation: u64,
    },
    LoadStatus {
        app: String,
    },
    /// The app's audit entries from all its hosts, newest first.
    LoadAudit {
        app: String,
        generation: u64,
    },
    /// The details of the app's units on its hosts.
    LoadUnits {
        app: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Ok,
    Error,
}

/// A short message in the footer that clears itself.
#[derive(Clone, Debug)]
pub struct Toast {
    pub text: String,
    pub level: Level,
    pub until: Instant,
}

/// What a tab's handler asks of the console besides changing the tab's own state.
#[derive(Debug, Default)]
pub struct Reply {
    pub effects: Vec<Effect>,
    pub toast: Option<(Level, String)>,
    /// A dialog to show; its yes starts what it holds.
    pub confirm: Option<Confirm>,
    /// The deploy dialog that asks for a version.
    pub version: Option<VersionInput>,
}

impl Reply {
    pub fn effect(effect: Effect) -> Reply {
        Reply {
            effects: vec![effect],
            ..Reply::default()
        }
    }

    pub fn toast(level: Level, text: impl Into<String>) -> Reply {
        Reply {
            toast: Some((level, text.into())),
            ..Reply::default()
        }
    }

    pub fn confirm(confirm: Confirm) -> Reply {
        Reply {
            confirm: Some(confirm),
            ..Reply::default()
        }
    }
}
