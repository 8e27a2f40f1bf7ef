//! `raijin logs APP`: the app's journal from all its hosts as one stream in
//! time order. On a terminal each line is prefixed with its host in that
//! host's color; piped, lines are plain; `--json` prints JSON lines. Markers
//! (a host's stream stopped or resumed, lines dropped) are lines of their own.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::Args;
use serde::Serialize;

use crate::engine::Engine;
use crate::logs::{self, LogFilter, LogItem, LogRecord, LogRequest, Marker};

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// App name from the configuration
    pub app: String,
    /// Only this host (repeatable) [default: all of the app's hosts]
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Only this process (repeatable) [default: all of the app's processes]
    #[arg(long = "process", value_name = "PROC")]
    pub processes: Vec<String>,
    /// Keep following: new lines as they are logged, until Ctrl-C
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// History: the last N lines per host, before --grep [default: 10, or all with --since]
    #[arg(long, short = 'n', value_name = "N")]
    pub lines: Option<u32>,
    /// History: lines since TIME ("2024-05-01 10:00", "-1h", "today"; as journalctl)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only lines whose message matches this regular expression
    #[arg(long, short = 'g', value_name = "REGEX")]
    pub grep: Option<String>,
    /// Only lines of this priority or more urgent (emerg, alert, crit, err,
    /// warning, notice, info, debug, or 0-7)
    #[arg(long, short = 'p', value_name = "PRIORITY", value_parser = priority)]
    pub priority: Option<u8>,
    /// Print JSON lines: {time, host, unit, priority, message, cursor}, and
    /// {event: stopped|resumed|dropped, ...} for markers
    #[arg(long)]
    pub json: bool,
}

fn priority(s: &str) -> Result<u8, String> {
    logs::parse_priority(s).ok_or_else(|| {
        format!(
            "`{s}` is not a priority: use one of {} or 0-7",
            logs::record::PRIORITY_NAMES.join(", ")
        )
    })
}

/// Lines taken from the stream per write.
const BATCH: usize = 4096;

pub async fn run(engine: &Engine, args: LogsArgs) -> ExitCode {
    let filter = match LogFilter::new(args.grep.as_deref(), args.priority) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: --grep: {e}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let lines = match (args.lines, &args.since) {
        (Some(n), _) => Some(n),
        (None, Some(_)) => None,
        (None, None) => Some(10),
    };
    let req = LogRequest {
        hosts: args.hosts.clone(),
        processes: args.processes.clone(),
        lines,
        since: args.since.clone(),
        follow: args.follow,
        filter,
        ..LogRequest::new(&args.app)
    };
    let mut stream = match logs::follow(engine, req) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(super::EXIT_CONFIG);
        }
    };
    let mut printer = Printer::new(args.json, &args.app, stream.hosts());
    let interrupted = async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    };
    tokio::pin!(interrupted);
    let mut failed_hosts = std::collections::BTreeSet::new();
    let code = loop {
        let batch = tokio::select! {
            b = stream.next_batch(BATCH) => b,
            _ = &mut interrupted => break ExitCode::from(130),
        };
        let Some(batch) = batch else {
            break if failed_hosts.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        };
        for item in &batch {
            if let LogItem::Marker(Marker::Stopped {
                host,
                retrying: false,
                ..
            }) = item
            {
                failed_hosts.insert(host.clone());
            }
        }
        let text = printer.render(&batch);
        let written = tokio::task::block_in_place(|| {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|_| out.flush())
        });
        if written.is_err() {
            // The reader went away (a closed pipe): stop quietly.
            break ExitCode::SUCCESS;
        }
    };
    stream.stop().await;
    code
}

/// Offset of local time, read while the process has one thread (the `time`
/// crate refuses later); UTC when unknown. Call early to get local times.
pub fn capture_local_offset() -> Option<time::UtcOffset> {
    static OFFSET: OnceLock<Option<time::UtcOffset>> = OnceLock::new();
    *OFFSET.get_or_init(|| time::UtcOffset::current_local_offset().ok())
}

/// ANSI colors given to hosts, in order.
const HOST_COLORS: [&str; 6] = ["36", "35", "32", "34", "33", "96"];

/// Turns stream items into text: human lines or JSON lines.
pub struct Printer {
    json: bool,
    color: bool,
    app: String,
    hosts: Vec<String>,
    width: usize,
    offset: Option<time::UtcOffset>,
}

#[derive(Serialize)]
struct JsonLine<'a> {
    time: String,
    time_us: u64,
    host: &'a str,
    unit: &'a str,
    priority: u8,
    message: &'a str,
    cursor: &'a str,
}

#[derive(Serialize)]
struct JsonDropped {
    event: &'static str,
    count: u64,
}

impl Printer {
    pub fn new(json: bool, app: &str, hosts: &[String]) -> Printer {
        let color = !json
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Printer {
            json,
            color,
            app: app.to_string(),
            hosts: hosts.to_vec(),
            width: hosts.iter().map(String::len).max().unwrap_or(0),
            offset: capture_local_offset(),
        }
    }

    /// Plain text, no colors.
    #[cfg(test)]
    fn plain(app: &str, hosts: &[String], offset: Option<time::UtcOffset>) -> Printer {
        Printer {
            json: false,
            color: false,
            app: app.to_string(),
            hosts: hosts.to_vec(),
            width: hosts.iter().map(String::len).max().unwrap_or(0),
            offset,
        }
    }

    pub fn render(&mut self, items: &[LogItem]) -> String {
        let mut s = String::with_capacity(items.len() * 96);
        for item in items {
            if self.json {
                self.json_line(&mut s, item);
            } else {
                self.human_line(&mut s, item);
            }
            s.push('\n');
        }
        s
    }

    fn json_line(&self, s: &mut String, item: &LogItem) {
        let text = match item {
            LogItem::Line(r) => serde_json::to_string(&JsonLine {
                time: rfc3339(r.time_us),
                time_us: r.time_us,
                host: &r.host,
                unit: &r.unit,
                priority: r.priority,
                message: &r.message,
                cursor: &r.cursor,
            }),
            LogItem::Marker(m) => serde_json::to_string(m),
            LogItem::Dropped(n) => serde_json::to_string(&JsonDropped {
                event: "dropped",
                count: *n,
            }),
        };
        if let Ok(t) = text {
            s.push_str(&t);
        }
    }

    fn human_line(&self, s: &mut String, item: &LogItem) {
        match item {
            LogItem::Line(r) => self.record(s, r),
            LogItem::Marker(m) => {
                let color = match m {
                    Marker::Stopped { .. } => "1;31",
                    Marker::Resumed { .. } => "1;32",
                };
                self.paint(s, color, &format!("-- {m} --"));
            }
            LogItem::Dropped(n) => self.paint(
                s,
                "1;33",
                &format!("-- {n} lines dropped here: the output fell behind the hosts --"),
            ),
        }
    }

    fn record(&self, s: &mut String, r: &LogRecord) {
        use std::fmt::Write as _;
        let time = self.local_time(r.time_us);
        let color = self
            .hosts
            .iter()
            .position(|h| *h == r.host)
            .map_or(HOST_COLORS[0], |i| HOST_COLORS[i % HOST_COLORS.len()]);
        let host = format!("{:<w$}", r.host, w = self.width);
        let unit = short_unit(&r.unit, &self.app);
        if self.color {
            let _ = write!(
                s,
                "\x1b[2m{time}\x1b[0m \x1b[{color}m{host}\x1b[0m {unit}: "
            );
            match r.priority {
                0..=3 => self.paint(s, "31", &r.message),
                4 => self.paint(s, "33", &r.message),
                7 => self.paint(s, "2", &r.message),
                _ => s.push_str(&r.message),
            }
        } else {
            let _ = write!(s, "{time} {host} {unit}: {}", r.message);
        }
    }

    fn paint(&self, s: &mut String, color: &str, text: &str) {
        if self.color {
            s.push_str("\x1b[");
            s.push_str(color);
            s.push('m');
            s.push_str(text);
            s.push_str("\x1b[0m");
        } else {
            s.push_str(text);
        }
    }

    fn local_time(&self, time_us: u64) -> String {
        let Some(t) = datetime(time_us) else {
            return time_us.to_string();
        };
        let fmt = time::macros::format_description!(
            "[month repr:short] [day] [hour]:[minute]:[second].[subsecond digits:3]"
        );
        match self.offset {
            Some(off) => t.to_offset(off).format(&fmt).unwrap_or_default(),
            None => format!("{}Z", t.format(&fmt).unwrap_or_default()),
        }
    }
}

fn datetime(time_us: u64) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(time_us) * 1000).ok()
}

fn rfc3339(time_us: u64) -> String {
    datetime(time_us)
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// `web` for `shop-web.service`, `web@2` for `shop-web@2.service`: the app
/// is known, the process is what tells lines apart.
fn short_unit<'a>(unit: &'a str, app: &str) -> &'a str {
    unit.strip_suffix(".service")
        .and_then(|u| u.strip_prefix(app))
        .and_then(|u| u.strip_prefix('-'))
        .unwrap_or(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(host: &str, t: u64, msg: &str) -> LogItem {
        LogItem::Line(LogRecord {
            time_us: t,
            host: host.into(),
            unit: "shop-web@2.service".into(),
            priority: 6,
            message: msg.into(),
            cursor: "c1".into(),
        })
    }

    #[test]
    fn plain_lines_name_time_host_and_process() {
        let hosts = vec!["h1".to_string(), "web-02".to_string()];
        let mut p = Printer::plain("shop", &hosts, Some(time::UtcOffset::UTC));
        let out = p.render(&[
            rec("h1", 1_700_000_000_123_456, "tick 1"),
            LogItem::Marker(Marker::Stopped {
                host: "web-02".into(),
                reason: "connection lost: keepalive timeout".into(),
                retrying: true,
            }),
            LogItem::Dropped(17),
        ]);
        assert_eq!(
            out,
            "Nov 14 22:13:20.123 h1     web@2: tick 1\n\
             -- stream from web-02 stopped: connection lost: keepalive timeout (reconnecting) --\n\
             -- 17 lines dropped here: the output fell behind the hosts --\n"
        );
    }

    #[test]
    fn json_lines_carry_time_cursor_and_events() {
        let hosts = vec!["h1".to_string()];
        let mut p = Printer::plain("shop", &hosts, None);
        p.json = true;
        let out = p.render(&[
            rec("h1", 1_700_000_000_123_456, "tick 1"),
            LogItem::Marker(Marker::Resumed { host: "h1".into() }),
            LogItem::Dropped(3),
        ]);
        let v: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(v[0]["time"], "2023-11-14T22:13:20.123456Z");
        assert_eq!(v[0]["host"], "h1");
        assert_eq!(v[0]["cursor"], "c1");
        assert_eq!(v[0]["priority"], 6);
        assert_eq!(v[1]["event"], "resumed");
        assert_eq!(v[2]["event"], "dropped");
        assert_eq!(v[2]["count"], 3);
    }

    #[test]
    fn process_names_from_units() {
        assert_eq!(short_unit("shop-web.service", "shop"), "web");
        assert_eq!(short_unit("my-shop-web@3.service", "my-shop"), "web@3");
        assert_eq!(short_unit("init.scope", "shop"), "init.scope");
    }
}
