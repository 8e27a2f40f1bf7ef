//! The systemd units of an app, rendered from its configuration: one hardened service
//! per process (a template `APP-PROC@.service` when it has replicas), plus a `.socket`
//! for socket activation or a `.timer` for a scheduled job.
//!
//! Output is deterministic (processes in name order, fixed line order), so the deploy
//! can compare what it renders with what a host has to detect drift.
//!
//! # How a process command runs
//!
//! systemd wants an absolute path (or a name on its own search path) as the executable
//! of `ExecStart=`, and parses the rest of the line with its own quoting, `%`
//! specifiers and `$VAR` expansion. A command such as `./hello serve --port $PORT` is
//! neither. So every command is handed, unchanged, to `/bin/sh -c` as one argument,
//! escaped so that systemd passes it through byte for byte (`\` `"` `%` `$` and control
//! characters escaped inside a double-quoted word). The shell then does what a user
//! expects from a command line: `./x` resolves against the working directory (the
//! `current` release), `$PORT` expands from the environment (including the env files),
//! and quotes, redirections and pipelines work.
//!
//! For a simple command the script is `exec COMMAND` (after any leading `VAR=value`
//! words), so the program replaces the shell, is the service's main process and gets
//! SIGTERM on stop (`KillMode=mixed`: SIGTERM to it, SIGKILL to leftovers after
//! `TimeoutStopSec`). A compound command (`a && b`, `a; b`, a pipeline, `$(...)`, a
//! shell keyword first) cannot be prefixed with `exec`; it runs as written and the
//! unit uses `KillMode=control-group` instead, so SIGTERM reaches every process of the
//! command and not just the shell.
//!
//! `WorkingDirectory=` is the `current` link, resolved when a service starts: after
//! `current` is flipped, a restart runs the new release. Placeholders in commands (such
//! as `{release}`) are not replaced here; the shell sees them as plain text.

use std::fmt::Write as _;

use super::layout::Layout;
use super::scripts::as_app::SYSTEM_PATH;
use super::slots;
use crate::config::{AppConfig, AppKind, ProcessConfig};

/// One unit file: its name (`hello-web.service`) and its full contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFile {
    pub name: String,
    pub contents: String,
}

/// How one process is run by systemd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessShape {
    /// `APP-PROC.service`, running all the time.
    Service,
    /// `APP-PROC@.service` with instances `APP-PROC@1` .. `APP-PROC@N`.
    Replicas(u32),
    /// `APP-PROC.socket` starting `APP-PROC.service` on the first connection.
    Socket,
    /// `APP-PROC.timer` starting the one-shot `APP-PROC.service`.
    Timer,
}

impl ProcessShape {
    /// A timer wins over a socket, which wins over replicas (the configuration
    /// allows at most one of them).
    pub fn of(process: &ProcessConfig) -> ProcessShape {
        if process.timer.is_some() {
            ProcessShape::Timer
        } else if process.socket.is_some() {
            ProcessShape::Socket
        } else if process.replicas > 1 {
            ProcessShape::Replicas(process.replicas)
        } else {
            ProcessShape::Service
        }
    }
}

/// `APP-PROC`: the stem of every unit of a process (one home with the configuration,
/// which checks that no two apps share one).
pub use crate::config::unit_stem;

/// The name of a process's service, `APP-PROC.service`, or of instance N of a process
/// with replicas, `APP-PROC@N.service`.
pub fn service_name(app: &str, process: &str, instance: Option<u32>) -> String {
    match instance {
        Some(n) => format!("{}@{n}.service", unit_stem(app, process)),
        None => format!("{}.service", unit_stem(app, process)),
    }
}

/// The units to enable and start for the app, in process-name order: the service of
/// an always-running process, each instance `APP-PROC@N.service` of one with replicas,
/// the `.socket` of a socket-activated one and the `.timer` of a scheduled one (never
/// their services: systemd starts those).
pub fn unit_instances(app: &AppConfig) -> Vec<String> {
    instances_of(app, in_place(app))
}

/// The units earlier versions started for the app, when every process restarted in
/// place (the web process too): what the migration of a legacy host records for the
/// releases it moves.
pub fn legacy_instances(app: &AppConfig) -> Vec<String> {
    instances_of(app, app.processes.values())
}

fn instances_of<'a>(
    app: &AppConfig,
    processes: impl Iterator<Item = &'a ProcessConfig>,
) -> Vec<String> {
    let mut names = Vec::new();
    for process in processes {
        let stem = unit_stem(&app.name, &process.name);
        match ProcessShape::of(process) {
            ProcessShape::Service => names.push(service_name(&app.name, &process.name, None)),
            ProcessShape::Replicas(n) => {
                names.extend((1..=n).map(|i| service_name(&app.name, &process.name, Some(i))));
            }
            ProcessShape::Socket => names.push(format!("{stem}.socket")),
            ProcessShape::Timer => names.push(format!("{stem}.timer")),
        }
    }
    names
}

/// Every unit file of the app, in process-name order; for each process its service
/// first, then its socket or timer.
pub fn render_units(app: &AppConfig, layout: &Layout) -> Vec<UnitFile> {
    let mut units = Vec::new();
    for process in in_place(app) {
        let stem = unit_stem(&app.name, &process.name);
        let shape = ProcessShape::of(process);
        let service = match shape {
            ProcessShape::Replicas(_) => format!("{stem}@.service"),
            _ => format!("{stem}.service"),
        };
        units.push(UnitFile {
            contents: render_service(app, process, shape, layout, &Place::current(app, layout)),
            name: service,
        });
        match (shape, &process.socket, &process.timer) {
            (ProcessShape::Socket, Some(listen), _) => units.push(UnitFile {
                name: format!("{stem}.socket"),
                contents: render_socket(app, process, listen),
            }),
            (ProcessShape::Timer, _, Some(calendar)) => units.push(UnitFile {
                name: format!("{stem}.timer"),
                contents: render_timer(app, process, calendar),
            }),
            _ => {}
        }
    }
    units
}

/// The processes that run from `current` and restart in place: all but the one that
/// runs in slots (see [`super::slots`]).
fn in_place(app: &AppConfig) -> impl Iterator<Item = &ProcessConfig> {
    let slotted = slots::process(app).map(|p| p.name.clone());
    app.processes
        .values()
        .filter(move |p| Some(&p.name) != slotted.as_ref())
}

/// The unit files of `slot` for the app's slotted web process: one concrete instance
/// file `APP-PROC@SLOTi.service` per replica, each running the release the slot's link
/// points to, on its own port. Empty when the app has no slotted process.
pub fn render_slot_units(app: &AppConfig, layout: &Layout, slot: &str) -> Vec<UnitFile> {
    let Some(process) = slots::process(app) else {
        return Vec::new();
    };
    slots::instances(app, slot)
        .into_iter()
        .zip(slots::ports(app, slot))
        .enumerate()
        .map(|(i, (name, port))| UnitFile {
            contents: render_service(
                app,
                process,
                ProcessShape::Service,
                layout,
                &Place::slot(app, layout, slot, i + 1, port),
            ),
            name,
        })
        .collect()
}

/// Where a service runs from and what it is told.
struct Place {
    /// The release link it runs (`current`, or a slot's).
    dir: String,
    /// Shown in the description (`slot a, instance 1`).
    label: Option<String>,
    /// Variables set in front of the command, so they win over the env file.
    vars: Vec<(String, String)>,
    python: bool,
}

impl Place {
    fn current(app: &AppConfig, layout: &Layout) -> Place {
        Place {
            dir: layout.current_link(),
            label: None,
            vars: Vec::new(),
            python: app.kind == AppKind::Python,
        }
    }

    fn slot(app: &AppConfig, layout: &Layout, slot: &str, instance: usize, port: u16) -> Place {
        Place {
            dir: layout.slot_link(slot),
            label: Some(format!("slot {slot}, instance {instance}")),
            vars: vec![
                ("PORT".into(), port.to_string()),
                ("RAIJIN_SLOT".into(), slot.to_string()),
                ("RAIJIN_INSTANCE".into(), instance.to_string()),
            ],
            python: app.kind == AppKind::Python,
        }
    }
}

fn header(out: &mut String, app: &AppConfig, process: &ProcessConfig) {
    let _ = writeln!(
        out,
        "# Managed by raijin: app {}, process {}. Changes are overwritten on deploy.",
        app.name, process.name
    );
}

fn render_service(
    app: &AppConfig,
    process: &ProcessConfig,
    shape: ProcessShape,
    layout: &Layout,
    place: &Place,
) -> String {
    let stem = unit_stem(&app.name, &process.name);
    let (mut script, execs) = shell_script(&process.command);
    if !place.vars.is_empty() {
        let vars: Vec<String> = place.vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
        script = format!("export {}; {script}", vars.join(" "));
    }
    let mut s = String::new();
    header(&mut s, app, process);

    s.push_str("\n[Unit]\n");
    let instance = match (&place.label, shape) {
        (Some(label), _) => format!(" ({label})"),
        (None, ProcessShape::Replicas(_)) => " (instance %i)".to_string(),
        (None, _) => String::new(),
    };
    let _ = writeln!(
        s,
        "Description=raijin: {}, process {}{instance}",
        app.name, process.name
    );
    s.push_str("After=network.target\n");
    if shape == ProcessShape::Socket {
        let _ = writeln!(s, "Requires={stem}.socket");
        let _ = writeln!(s, "After={stem}.socket");
    }
    s.push_str("StartLimitIntervalSec=0\n");

    s.push_str("\n[Service]\n");
    if shape == ProcessShape::Timer {
        s.push_str("Type=oneshot\n");
        // A job may run longer than the default start timeout of 90 s.
        s.push_str("TimeoutStartSec=infinity\n");
    } else {
        s.push_str("Type=simple\n");
    }
    let _ = writeln!(s, "User={}", app.user);
    let _ = writeln!(s, "Group={}", app.user);
    let _ = writeln!(s, "WorkingDirectory={}", place.dir);
    let _ = writeln!(s, "EnvironmentFile=-{}/.raijin/env", place.dir);
    if place.python {
        let _ = writeln!(s, "Environment=PATH={}/venv/bin:{SYSTEM_PATH}", place.dir);
        s.push_str("Environment=PYTHONUNBUFFERED=1\n");
    }
    if matches!(shape, ProcessShape::Replicas(_)) {
        s.push_str("Environment=RAIJIN_INSTANCE=%i\n");
    }
    let _ = writeln!(s, "ExecStart=/bin/sh -c {}", systemd_quote(&script));
    if shape != ProcessShape::Timer {
        s.push_str("Restart=on-failure\n");
        s.push_str("RestartSec=1\n");
    }
    let _ = writeln!(
        s,
        "KillMode={}",
        if execs { "mixed" } else { "control-group" }
    );
    s.push_str("TimeoutStopSec=10\n");
    hardening(&mut s, app, layout);

    if matches!(shape, ProcessShape::Service | ProcessShape::Replicas(_)) {
        s.push_str("\n[Install]\nWantedBy=multi-user.target\n");
    }
    s
}

/// The sandbox of every service. `systemd-analyze security` (systemd 252) rates a
/// service with it 1.1 "OK", binary and python apps alike; what remains exposed is the
/// network (apps serve and call out over it), the host's root directory, the clock
/// device `ProtectClock=` allows reading, and `UMask=0027` leaving files group-readable.
/// The app writes only its data directory; raijin's state directory is read-only to it
/// (`ProtectSystem=strict`), its chunk store, content key and activation files
/// invisible (systemd reads the env file before it builds the sandbox).
fn hardening(s: &mut String, app: &AppConfig, layout: &Layout) {
    s.push_str("# Sandbox\n");
    s.push_str("UMask=0027\n");
    s.push_str("NoNewPrivileges=true\n");
    s.push_str("CapabilityBoundingSet=\n");
    s.push_str("AmbientCapabilities=\n");
    s.push_str("ProtectSystem=strict\n");
    s.push_str("ProtectHome=true\n");
    let _ = writeln!(s, "ReadWritePaths={}", layout.app_dir());
    let _ = writeln!(
        s,
        "InaccessiblePaths=-{} -{} -{}",
        layout.store_dir(),
        layout.key_file(),
        layout.run_dir()
    );
    s.push_str("PrivateTmp=true\n");
    s.push_str("PrivateDevices=true\n");
    s.push_str("DevicePolicy=closed\n");
    s.push_str("PrivateUsers=true\n");
    s.push_str("ProtectKernelTunables=true\n");
    s.push_str("ProtectKernelModules=true\n");
    s.push_str("ProtectKernelLogs=true\n");
    s.push_str("ProtectControlGroups=true\n");
    s.push_str("ProtectClock=true\n");
    s.push_str("ProtectHostname=true\n");
    s.push_str("ProtectProc=invisible\n");
    s.push_str("ProcSubset=pid\n");
    s.push_str("RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n");
    s.push_str("RestrictNamespaces=true\n");
    s.push_str("RestrictRealtime=true\n");
    s.push_str("RestrictSUIDSGID=true\n");
    s.push_str("LockPersonality=true\n");
    if app.kind != AppKind::Python {
        // Not for python apps: JIT compilers used from Python (numba/llvmlite and the
        // like) and libffi builds without static trampolines need memory that is
        // writable and executable, and the configuration has no way to opt out.
        s.push_str("MemoryDenyWriteExecute=true\n");
    }
    s.push_str("RemoveIPC=true\n");
    s.push_str("SystemCallArchitectures=native\n");
    s.push_str("SystemCallFilter=@system-service\n");
    s.push_str("SystemCallFilter=~@privileged @resources\n");
    // A filtered call (setrlimit, setpriority, sched_setaffinity, ...) fails with EPERM,
    // which programs handle, instead of killing the process with SIGSYS.
    s.push_str("SystemCallErrorNumber=EPERM\n");
}

fn render_socket(app: &AppConfig, process: &ProcessConfig, listen: &str) -> String {
    let mut s = String::new();
    header(&mut s, app, process);
    s.push_str("\n[Unit]\n");
    let _ = writeln!(
        s,
        "Description=raijin: {}, process {} (socket)",
        app.name, process.name
    );
    s.push_str("\n[Socket]\n");
    let _ = writeln!(s, "ListenStream={}", unit_value(listen));
    s.push_str("\n[Install]\nWantedBy=sockets.target\n");
    s
}

fn render_timer(app: &AppConfig, process: &ProcessConfig, calendar: &str) -> String {
    let mut s = String::new();
    header(&mut s, app, process);
    s.push_str("\n[Unit]\n");
    let _ = writeln!(
        s,
        "Description=raijin: {}, process {} (timer)",
        app.name, process.name
    );
    s.push_str("\n[Timer]\n");
    let _ = writeln!(s, "OnCalendar={}", unit_value(calendar));
    s.push_str("Persistent=true\n");
    s.push_str("\n[Install]\nWantedBy=timers.target\n");
    s
}

/// A one-line setting value (`ListenStream=`, `OnCalendar=`): `%` doubled, as systemd
/// expands specifiers there, and control characters replaced by spaces so a value can
/// never add a line to the unit.
fn unit_value(value: &str) -> String {
    value
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('%', "%%")
}

/// `arg` as one double-quoted word of an `ExecStart=` line that systemd turns back
/// into exactly `arg`: backslash, double quote and control characters are C-escaped
/// (systemd unescapes them), `%` becomes `%%` (specifiers) and `$` becomes `$$`
/// (systemd's own variable expansion). NUL cannot be passed and is dropped.
pub fn systemd_quote(arg: &str) -> String {
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    for c in arg.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => {}
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Words that make a command more than a simple command, or that `exec` cannot run
/// (shell keywords and builtins with no program of the same name).
const NOT_EXECUTABLE: &[&str] = &[
    "!", "{", "}", "[[", "case", "do", "done", "elif", "else", "esac", "fi", "for", "function",
    "if", "in", "select", "then", "time", "until", "while", ".", "alias", "bg", "break", "builtin",
    "cd", "command", "continue", "eval", "exec", "exit", "export", "fg", "getopts", "hash", "jobs",
    "local", "read", "readonly", "return", "set", "shift", "source", "times", "trap", "type",
    "ulimit", "umask", "unalias", "unset", "wait",
];

/// The script `sh -c` runs for `command`, and whether it ends by `exec`ing the program
/// (so the program, not the shell, is the service's main process). See the module
/// documentation.
pub fn shell_script(command: &str) -> (String, bool) {
    let command = command.trim();
    let Some(words) = simple_command_words(command) else {
        return (command.to_string(), false);
    };
    let Some(&(start, word)) = words.iter().find(|(_, w)| !is_assignment(w)) else {
        return (command.to_string(), false);
    };
    if word == "exec" {
        return (command.to_string(), true);
    }
    if NOT_EXECUTABLE.contains(&word) {
        return (command.to_string(), false);
    }
    (
        format!("{}exec {}", &command[..start], &command[start..]),
        true,
    )
}

/// The words of `command` with their byte offsets when it is one simple command: no
/// unquoted `;` `&` `|` `(` `)` backquote or line break (`&` right after `<` or `>` is
/// part of a redirection such as `2>&1`), and the quotes all closed. A comment ends the
/// scan. `None` otherwise.
fn simple_command_words(command: &str) -> Option<Vec<(usize, &str)>> {
    #[derive(PartialEq)]
    enum Quote {
        None,
        Single,
        Double,
    }
    let mut words = Vec::new();
    let mut quote = Quote::None;
    let mut word_start: Option<usize> = None;
    let mut prev: Option<char> = None;
    let mut escaped = false;
    let mut end = command.len();
    for (i, c) in command.char_indices() {
        if escaped {
            escaped = false;
            prev = Some(c);
            continue;
        }
        match quote {
            Quote::Single => {
                if c == '\'' {
                    quote = Quote::None;
                }
            }
            Quote::Double => match c {
                '\\' => escaped = true,
                '"' => quote = Quote::None,
                _ => {}
            },
            Quote::None => match c {
                ' ' | '\t' => {
                    if let Some(start) = word_start.take() {
                        words.push((start, &command[start..i]));
                    }
                }
                '#' if word_start.is_none() => {
                    end = i;
                    break;
                }
                ';' | '|' | '(' | ')' | '`' | '\n' | '\r' => return None,
                '&' if !matches!(prev, Some('<' | '>')) => return None,
                _ => {
                    if word_start.is_none() {
                        word_start = Some(i);
                    }
                    match c {
                        '\\' => escaped = true,
                        '\'' => quote = Quote::Single,
                        '"' => quote = Quote::Double,
                        _ => {}
                    }
                }
            },
        }
        prev = Some(c);
    }
    if quote != Quote::None || escaped {
        return None;
    }
    if let Some(start) = word_start {
        words.push((start, command[start..end].trim_end()));
    }
    Some(words)
}

/// `NAME=...` with a valid shell variable name.
fn is_assignment(word: &str) -> bool {
    let Some((name, _)) = word.split_once('=') else {
        return false;
    };
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests;
