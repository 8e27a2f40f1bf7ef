//! Running a vendor CLI (or `sh -c` for `cmd:`) to fetch one secret: no shell unless
//! asked for, standard input closed, a timeout that kills the whole process group, the
//! output held as a [`Secret`]. Arguments are never secret: values and session keys
//! travel through the environment or standard output only, so `ps` shows none.

use std::ffi::OsStr;
use std::fmt;
use std::process::Stdio;

use tokio::process::Command;

use super::Context;
use super::secret::Secret;

/// Why a command did not yield a value. Messages never contain the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunError {
    /// The program is not installed (or not on PATH).
    NotFound { program: String },
    /// It could not be started for another reason.
    Spawn { program: String, error: String },
    /// It ran longer than the timeout and was killed.
    Timeout { program: String, secs: u64 },
    /// It exited unsuccessfully; `stderr` is a short summary of its error output.
    Failed {
        program: String,
        status: String,
        stderr: String,
    },
    /// It succeeded but printed nothing.
    Empty { program: String },
    /// It printed something that is not UTF-8 text.
    NotUtf8 { program: String },
}

impl RunError {
    /// The program's own error text when it failed, for adapters that add hints.
    pub(crate) fn stderr(&self) -> Option<&str> {
        match self {
            RunError::Failed { stderr, .. } => Some(stderr),
            _ => None,
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::NotFound { program } => write!(f, "`{program}` was not found on PATH"),
            RunError::Spawn { program, error } => write!(f, "cannot run `{program}`: {error}"),
            RunError::Timeout { program, secs } => write!(
                f,
                "`{program}` did not answer within {secs} s and was stopped ([secrets] timeout_secs)"
            ),
            RunError::Failed {
                program,
                status,
                stderr,
            } => {
                if stderr.is_empty() {
                    write!(f, "`{program}` failed ({status}) with no error output")
                } else {
                    write!(f, "`{program}` failed ({status}): {stderr}")
                }
            }
            RunError::Empty { program } => write!(f, "`{program}` printed an empty value"),
            RunError::NotUtf8 { program } => {
                write!(f, "`{program}` printed a value that is not UTF-8 text")
            }
        }
    }
}

/// One command to run for a secret.
pub(crate) struct Run<'a> {
    /// What to call it in messages (`op`, `doppler`, `sh -c`).
    pub label: &'a str,
    pub program: &'a str,
    pub args: &'a [&'a str],
    /// Extra environment (e.g. `BW_SESSION`); inherited otherwise.
    pub env: &'a [(&'a str, &'a str)],
    /// How many trailing lines of error output to keep in the message.
    pub stderr_lines: usize,
}

/// Run it; on success its standard output, less one trailing newline, as a secret.
pub(crate) async fn run(cx: &Context, run: Run<'_>) -> Result<Secret, RunError> {
    let label = run.label.to_string();
    let mut cmd = Command::new(run.program);
    cmd.args(run.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(path) = &cx.path {
        cmd.env("PATH", path);
    }
    for (k, v) in run.env {
        cmd.env(OsStr::new(k), OsStr::new(v));
    }
    // Its own process group, so a timeout stops what it started too (`sh -c` pipelines).
    #[cfg(unix)]
    cmd.process_group(0);

    let child = cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            RunError::NotFound {
                program: label.clone(),
            }
        } else {
            RunError::Spawn {
                program: label.clone(),
                error: e.to_string(),
            }
        }
    })?;
    let pid = child.id();
    let output = match tokio::time::timeout(cx.timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => {
            return Err(RunError::Spawn {
                program: label,
                error: e.to_string(),
            });
        }
        Err(_) => {
            // The child itself is killed on drop; its descendants with the group.
            if let Some(pid) = pid {
                super::sys::kill_process_group(pid);
            }
            return Err(RunError::Timeout {
                program: label,
                secs: cx.timeout.as_secs(),
            });
        }
    };
    let stdout = output.stdout;
    if !output.status.success() {
        let value = Secret::from_output(stdout).ok();
        let stderr = summarize(&output.stderr, run.stderr_lines, value.as_ref());
        return Err(RunError::Failed {
            program: label,
            status: describe_status(output.status),
            stderr,
        });
    }
    match Secret::from_output(stdout) {
        Ok(s) if s.is_empty() => Err(RunError::Empty { program: label }),
        Ok(s) => Ok(s),
        Err(_) => Err(RunError::NotUtf8 { program: label }),
    }
}

fn describe_status(status: std::process::ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(sig) = status.signal() {
            return format!("killed by signal {sig}");
        }
    }
    status.to_string()
}

/// At most the last `lines` non-empty lines of error output, joined with ` | ` and
/// capped in length. Anything a failed command printed on standard output is blanked
/// out of it, in case it echoed the value it was asked for.
pub(crate) fn summarize(stderr: &[u8], lines: usize, printed: Option<&Secret>) -> String {
    const MAX: usize = 400;
    let text = String::from_utf8_lossy(stderr);
    let kept: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !is_noise(l))
        .collect();
    let start = kept.len().saturating_sub(lines.max(1));
    let mut out = kept[start..].join(" | ");
    if let Some(p) = printed.filter(|p| p.len() >= 3) {
        out = out.replace(p.expose(), "<redacted>");
    }
    if out.len() > MAX {
        let mut cut = MAX;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// Lines that explain nothing: blank, punctuation only, or a Node.js stack trace and
/// crash banner (the Bitwarden CLI is a Node program).
fn is_noise(line: &str) -> bool {
    !line.chars().any(char::is_alphanumeric)
        || line.starts_with("at ")
        || line.starts_with("Node.js v")
        || line.starts_with("triggerUncaughtException(")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_keep_the_last_lines_and_hide_printed_values() {
        let err = b"noise\n\n  at x\nNot found.\n";
        assert_eq!(summarize(err, 1, None), "Not found.");
        assert_eq!(summarize(err, 2, None), "noise | Not found.");
        let printed = Secret::new("s3cret-value".into());
        assert_eq!(
            summarize(b"bad: s3cret-value\n", 1, Some(&printed)),
            "bad: <redacted>"
        );
        assert!(summarize(&[b'x'; 1000], 1, None).chars().count() <= 401);
        let node_crash = b"Syncing failed: Error: boom\n    triggerUncaughtException(err, true);\n    ^\n\nError: Refresh Access token error\n    at NodeApiService.x (bw.js:1:2)\n\nNode.js v20.20.2\n";
        assert_eq!(
            summarize(node_crash, 1, None),
            "Error: Refresh Access token error"
        );
    }
}
