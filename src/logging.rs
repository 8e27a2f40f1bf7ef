//! Tracing to a log file in the XDG state dir — never to the screen, which
//! belongs to the faces. Level from `RAIJIN_LOG` (default `info`).

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Where the log file lives: `$XDG_STATE_HOME/raijin/raijin.log`, else
/// `~/.local/state/raijin/raijin.log`.
pub fn log_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir).join("raijin"));
    }
    std::env::home_dir().map(|h| h.join(".local").join("state").join("raijin"))
}

/// Start logging; keep the guard alive until exit so lines are flushed.
/// If the log cannot be opened, raijin runs without one.
pub fn init() -> Option<WorkerGuard> {
    let dir = log_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(&dir, "raijin.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("RAIJIN_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(guard)
}
