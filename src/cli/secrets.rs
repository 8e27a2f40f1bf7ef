//! `raijin secrets`: manage OS keyring entries (`set`, `get`, `rm`) and check that
//! every secret reference of an app resolves (`check`), printing per key its source,
//! the outcome and the value's length — never the value. Values for `set` come from a
//! prompt without echo or from standard input, never from an argument.

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::config::SecretRef;
use crate::engine::Engine;
use crate::secrets::{self, Secret, keyring};

/// Exit code for a malformed KEY.
const EXIT_USAGE: u8 = 2;

#[derive(Subcommand, Debug)]
pub enum SecretsCommand {
    /// Store an OS keyring entry. The value is asked for without echo on a terminal,
    /// else read from standard input (one line, trailing newline dropped)
    Set {
        /// The entry, SERVICE/NAME (what follows `keyring:` in a reference)
        key: String,
    },
    /// Print an OS keyring entry's value on standard output
    Get {
        /// The entry, SERVICE/NAME
        key: String,
    },
    /// Delete an OS keyring entry
    Rm {
        /// The entry, SERVICE/NAME
        key: String,
    },
    /// Resolve every environment value of an app (env_file and [apps.APP.env]) and
    /// report, per key, its source, whether it resolved (or the error) and its length —
    /// never the value. Exits non-zero if any failed
    Check(CheckArgs),
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The app whose environment to check
    pub app: String,
    /// Print one JSON document instead of a table
    #[arg(long)]
    pub json: bool,
}

/// `set`, `get` and `rm` need no configuration: run them before it is loaded.
/// Returns `None` for subcommands that need the engine (`check`).
pub fn run_without_config(cmd: &SecretsCommand) -> Option<ExitCode> {
    match cmd {
        SecretsCommand::Set { key } => Some(set(key)),
        SecretsCommand::Get { key } => Some(get(key)),
        SecretsCommand::Rm { key } => Some(rm(key)),
        SecretsCommand::Check(_) => None,
    }
}

pub async fn run(engine: &Engine, cmd: SecretsCommand) -> ExitCode {
    match cmd {
        SecretsCommand::Check(args) => check(engine, args).await,
        other => run_without_config(&other).unwrap_or(ExitCode::SUCCESS),
    }
}

/// `SERVICE/NAME`, also accepted as `keyring:SERVICE/NAME`.
fn parse_key(key: &str) -> Result<(String, String), ExitCode> {
    let reference = format!("keyring:{}", key.strip_prefix("keyring:").unwrap_or(key));
    match SecretRef::parse(&reference) {
        Ok(Some(SecretRef::Keyring { service, name })) => Ok((service, name)),
        _ => {
            eprintln!(
                "error: `{key}` is not a keyring entry: expected SERVICE/NAME, e.g. hello/DATABASE_PASSWORD"
            );
            Err(ExitCode::from(EXIT_USAGE))
        }
    }
}

fn set(key: &str) -> ExitCode {
    let (service, name) = match parse_key(key) {
        Ok(k) => k,
        Err(code) => return code,
    };
    let value = match read_value(&service, &name) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {service}/{name}: {e}");
            return ExitCode::FAILURE;
        }
    };
    match keyring::set(&service, &name, &value) {
        Ok(()) => {
            eprintln!("stored {service}/{name} in the {}", keyring::store_name());
            if let Some(note) = keyring::store().ok().and_then(|s| s.persistence_note()) {
                eprintln!("note: {note}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The value to store: asked twice without echo on a terminal, else all of standard
/// input (a PEM file, say) without its final line break.
fn read_value(service: &str, name: &str) -> Result<Secret, String> {
    let value = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Value for {service}/{name}: "))
            .map(Secret::new)
            .map_err(|e| format!("reading the value from the terminal: {e}"))?;
        let again = rpassword::prompt_password("Repeat it: ")
            .map(Secret::new)
            .map_err(|e| format!("reading the value from the terminal: {e}"))?;
        if first != again {
            return Err("the two values differ; nothing stored".to_string());
        }
        first
    } else {
        let mut all = zeroize::Zeroizing::new(String::with_capacity(4096));
        std::io::stdin()
            .lock()
            .read_to_string(&mut all)
            .map_err(|e| format!("reading the value from standard input: {e}"))?;
        if all.ends_with('\n') {
            all.pop();
            if all.ends_with('\r') {
                all.pop();
            }
        }
        Secret::new(std::mem::take(&mut *all))
    };
    if value.is_empty() {
        return Err("the value is empty; nothing stored".to_string());
    }
    Ok(value)
}

fn get(key: &str) -> ExitCode {
    let (service, name) = match parse_key(key) {
        Ok(k) => k,
        Err(code) => return code,
    };
    match keyring::get(&service, &name) {
        Ok(value) => {
            let mut out = std::io::stdout().lock();
            let written = out
                .write_all(value.expose().as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.flush());
            match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: writing {service}/{name} to standard output: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn rm(key: &str) -> ExitCode {
    let (service, name) = match parse_key(key) {
        Ok(k) => k,
        Err(code) => return code,
    };
    match keyring::delete(&service, &name) {
        Ok(()) => {
            eprintln!(
                "deleted {service}/{name} from the {}",
                keyring::store_name()
            );
            ExitCode::SUCCESS
        }
        Err(keyring::KeyringError::NotFound { .. }) => {
            eprintln!(
                "error: no entry {service}/{name} in the {}; nothing deleted",
                keyring::store_name()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Serialize)]
struct CheckReport {
    app: String,
    keyring_store: String,
    keys: Vec<KeyReport>,
}

#[derive(Serialize)]
struct KeyReport {
    key: String,
    /// `plain` or the adapter.
    source: &'static str,
    ok: bool,
    /// Length of the value in bytes, when it resolved.
    length: Option<usize>,
    error: Option<String>,
}

async fn check(engine: &Engine, args: CheckArgs) -> ExitCode {
    let (app, resolutions) = match crate::deploy::check_secrets(engine, &args.app).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let keys: Vec<KeyReport> = resolutions
        .into_iter()
        .map(|r| KeyReport {
            key: r.key,
            source: r.source.name(),
            ok: r.value.is_ok(),
            length: r.value.as_ref().ok().map(Secret::len),
            error: r.value.err(),
        })
        .collect();
    let report = CheckReport {
        app,
        keyring_store: secrets::keyring_store_name(),
        keys,
    };
    let all_ok = report.keys.iter().all(|k| k.ok);
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print_report(&report);
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_report(report: &CheckReport) {
    println!("keyring store: {}", report.keyring_store);
    if report.keys.is_empty() {
        println!("app {} has no environment values", report.app);
        return;
    }
    let header = ["KEY", "SOURCE", "LENGTH", "RESULT"].map(String::from);
    let rows: Vec<[String; 4]> = report
        .keys
        .iter()
        .map(|k| {
            [
                k.key.clone(),
                k.source.to_string(),
                k.length.map_or_else(|| "-".into(), |n| n.to_string()),
                match &k.error {
                    None => "ok".to_string(),
                    Some(e) => format!("error: {e}"),
                },
            ]
        })
        .collect();
    let mut widths = [0usize; 3];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 4]| {
        format!(
            "{:<w0$}  {:<w1$}  {:>w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )
    };
    println!("{}", line(&header));
    for row in &rows {
        println!("{}", line(row));
    }
    let failed = report.keys.iter().filter(|k| !k.ok).count();
    if failed == 0 {
        println!(
            "app {}: all {} values resolve",
            report.app,
            report.keys.len()
        );
    } else {
        println!(
            "app {}: {failed} of {} values do not resolve",
            report.app,
            report.keys.len()
        );
    }
}
