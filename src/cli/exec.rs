//! `raijin exec APP [--host H]... -- CMD...`: run a command as the app's user,
//! in the app dir, with the app's environment, on one host or all of the
//! app's hosts at once. With one host its output passes through untouched
//! and its exit code is raijin's; with several, each line is prefixed with
//! its host and the exit code is that of the first host (in configuration
//! order) that failed.

use std::collections::HashMap;
use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::sync::mpsc;

use crate::engine::Engine;
use crate::operate::{self, ExecOutput, ExecRequest};
use crate::ssh::OutputKind;

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// App name from the configuration
    pub app: String,
    /// Run on this host only (repeatable) [default: all of the app's hosts]
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// The command. One argument is a shell command line, run by /bin/sh as the app
    /// user (quote it: `-- 'cd data && ls $DIR'`, the app's variables expand there);
    /// several are a program and its arguments, each passed exactly as given
    /// (`-- sh -c 'echo "$PORT"'`)
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

pub async fn run(engine: &Engine, args: ExecArgs) -> ExitCode {
    let hosts = match engine
        .app(&args.app)
        .and_then(|a| engine.hosts_for(a, &args.hosts))
    {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let req = ExecRequest {
        app: args.app.clone(),
        hosts: hosts.clone(),
        args: args.command,
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let printer = tokio::spawn(print_output(rx, hosts.len() > 1));
    let outcomes = tokio::select! {
        o = operate::exec(engine, &req, tx) => o,
        _ = tokio::signal::ctrl_c() => {
            // The dropped channels stop the command on the hosts.
            tokio::time::sleep(Duration::from_millis(100)).await;
            return ExitCode::from(130);
        }
    };
    let _ = printer.await;
    let outcomes = match outcomes {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let several = outcomes.len() > 1;
    let mut code: Option<u8> = None;
    for o in &outcomes {
        let failed = match &o.result {
            Ok(status) if status.success() => None,
            Ok(status) => {
                if several {
                    eprintln!("[{}] {status}", o.host);
                }
                Some(u8::try_from(status.code()).unwrap_or(255))
            }
            Err(e) => {
                eprintln!("error: {e}");
                Some(super::EXIT_UNREACHABLE)
            }
        };
        if code.is_none() {
            code = failed;
        }
    }
    ExitCode::from(code.unwrap_or(0))
}

/// Prints output as it arrives: untouched for one host; for several, whole
/// lines prefixed with `[host] ` (per host and stream, so lines never mix).
async fn print_output(mut rx: mpsc::UnboundedReceiver<ExecOutput>, prefixed: bool) {
    let color = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut partial: HashMap<(Arc<str>, bool), Vec<u8>> = HashMap::new();
    while let Some(out) = rx.recv().await {
        if !prefixed {
            write(out.stream, &out.data);
            continue;
        }
        let is_err = out.stream == OutputKind::Stderr;
        let buf = partial.entry((out.host.clone(), is_err)).or_default();
        buf.extend_from_slice(&out.data);
        let Some(last) = buf.iter().rposition(|b| *b == b'\n') else {
            continue;
        };
        let whole: Vec<u8> = buf.drain(..=last).collect();
        write(out.stream, &prefix_lines(&out.host, &whole, color));
    }
    for ((host, is_err), rest) in partial {
        let stream = if is_err {
            OutputKind::Stderr
        } else {
            OutputKind::Stdout
        };
        if !rest.is_empty() {
            let mut line = rest;
            line.push(b'\n');
            write(stream, &prefix_lines(&host, &line, color));
        }
    }
}

/// `[host] ` before every line of `lines` (which ends with a newline).
fn prefix_lines(host: &str, lines: &[u8], color: bool) -> Vec<u8> {
    let tag = if color {
        format!("\x1b[36m[{host}]\x1b[0m ")
    } else {
        format!("[{host}] ")
    };
    let mut out = Vec::with_capacity(lines.len() + 16);
    for line in lines.split_inclusive(|b| *b == b'\n') {
        out.extend_from_slice(tag.as_bytes());
        out.extend_from_slice(line);
    }
    out
}

fn write(stream: OutputKind, data: &[u8]) {
    let _ = match stream {
        OutputKind::Stdout => {
            let mut o = std::io::stdout().lock();
            o.write_all(data).and_then(|_| o.flush())
        }
        OutputKind::Stderr => {
            let mut e = std::io::stderr().lock();
            e.write_all(data).and_then(|_| e.flush())
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_gets_the_host() {
        assert_eq!(
            prefix_lines("h2", b"one\ntwo\n", false),
            b"[h2] one\n[h2] two\n".to_vec()
        );
    }
}
