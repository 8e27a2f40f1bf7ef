//! Unit rendering tests: the hardened service, sockets, timers, replicas, commands
//! that need a shell, and systemd quoting.

use std::path::Path;

use super::*;
use crate::config::load_str;

fn app(toml: &str) -> AppConfig {
    let text = format!("[hosts.web1]\n{toml}");
    let config = load_str(&text, Path::new("raijin.toml")).unwrap_or_else(|e| panic!("{e}"));
    config.apps.into_values().next().unwrap()
}

fn render(toml: &str) -> (AppConfig, Vec<UnitFile>) {
    let app = app(toml);
    let units = render_units(&app, &Layout::new(&app.name));
    (app, units)
}

fn names(units: &[UnitFile]) -> Vec<&str> {
    units.iter().map(|u| u.name.as_str()).collect()
}

fn lines(unit: &UnitFile) -> Vec<&str> {
    unit.contents.lines().collect()
}

const SINGLE: &str = r#"
[apps.hello]
hosts = ["web1"]
artifact = "target/release/hello"
kind = "binary"

[apps.hello.processes.web]
command = "./hello serve --port 8000"
"#;

fn with_command(command: &str) -> String {
    SINGLE.replace(
        "command = \"./hello serve --port 8000\"",
        &format!("command = '''{command}'''"),
    )
}

const SANDBOX: &str = "\
# Sandbox
UMask=0027
NoNewPrivileges=true
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=true
ReadWritePaths=/opt/raijin/hello
InaccessiblePaths=-/var/lib/raijin/hello/store -/var/lib/raijin/hello/key -/var/lib/raijin/hello/run
PrivateTmp=true
PrivateDevices=true
DevicePolicy=closed
PrivateUsers=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectKernelLogs=true
ProtectControlGroups=true
ProtectClock=true
ProtectHostname=true
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=true
RestrictRealtime=true
RestrictSUIDSGID=true
LockPersonality=true
MemoryDenyWriteExecute=true
RemoveIPC=true
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM
";

#[test]
fn single_process() {
    let (app, units) = render(SINGLE);
    assert_eq!(names(&units), ["hello-web.service"]);
    let expected = format!(
        "\
# Managed by raijin: app hello, process web. Changes are overwritten on deploy.

[Unit]
Description=raijin: hello, process web
After=network.target
StartLimitIntervalSec=0

[Service]
Type=simple
User=hello
Group=hello
WorkingDirectory=/var/lib/raijin/hello/current
EnvironmentFile=-/var/lib/raijin/hello/current/.raijin/env
ExecStart=/bin/sh -c \"exec ./hello serve --port 8000\"
Restart=on-failure
RestartSec=1
KillMode=mixed
TimeoutStopSec=10
{SANDBOX}
[Install]
WantedBy=multi-user.target
"
    );
    assert_eq!(units[0].contents, expected);
    assert_eq!(unit_instances(&app), ["hello-web.service"]);
}

#[test]
fn output_is_deterministic() {
    let toml = format!(
        "{SINGLE}\n[apps.hello.processes.b]\ncommand = \"./b\"\nreplicas = 3\n\
         [apps.hello.processes.a]\ncommand = \"./a\"\ntimer = \"daily\"\n"
    );
    let (app, first) = render(&toml);
    let (_, second) = render(&toml);
    assert_eq!(first, second);
    assert_eq!(
        names(&first),
        [
            "hello-a.service",
            "hello-a.timer",
            "hello-b@.service",
            "hello-web.service"
        ]
    );
    assert_eq!(
        unit_instances(&app),
        [
            "hello-a.timer",
            "hello-b@1.service",
            "hello-b@2.service",
            "hello-b@3.service",
            "hello-web.service"
        ]
    );
}

#[test]
fn the_app_user_runs_the_services() {
    let (_, units) = render(&SINGLE.replace("kind = ", "user = \"svc_hello\"\nkind = "));
    let lines = lines(&units[0]);
    assert!(lines.contains(&"User=svc_hello"));
    assert!(lines.contains(&"Group=svc_hello"));
    // Paths still follow the app name.
    assert!(lines.contains(&"ReadWritePaths=/opt/raijin/hello"));
}

#[test]
fn replicas_use_a_template() {
    let toml = SINGLE.replace("command =", "replicas = 3\ncommand =");
    let (app, units) = render(&toml);
    assert_eq!(names(&units), ["hello-web@.service"]);
    assert_eq!(
        unit_instances(&app),
        [
            "hello-web@1.service",
            "hello-web@2.service",
            "hello-web@3.service"
        ]
    );
    // Only the description and the instance variable differ from a single service.
    let (_, single) = render(SINGLE);
    let expected = single[0]
        .contents
        .replace(
            "Description=raijin: hello, process web\n",
            "Description=raijin: hello, process web (instance %i)\n",
        )
        .replace("ExecStart=", "Environment=RAIJIN_INSTANCE=%i\nExecStart=");
    assert_eq!(units[0].contents, expected);
}

#[test]
fn socket_activation() {
    let toml = SINGLE.replace("command =", "socket = \"127.0.0.1:8000\"\ncommand =");
    let (app, units) = render(&toml);
    assert_eq!(names(&units), ["hello-web.service", "hello-web.socket"]);
    assert_eq!(
        units[1].contents,
        "\
# Managed by raijin: app hello, process web. Changes are overwritten on deploy.

[Unit]
Description=raijin: hello, process web (socket)

[Socket]
ListenStream=127.0.0.1:8000

[Install]
WantedBy=sockets.target
"
    );
    let service = &units[0].contents;
    assert!(
        service
            .contains("After=network.target\nRequires=hello-web.socket\nAfter=hello-web.socket\n")
    );
    assert!(service.contains("\nType=simple\n"));
    assert!(service.contains("\nRestart=on-failure\n"));
    assert!(service.contains(SANDBOX));
    // The socket starts the service: only the socket is enabled.
    assert!(!service.contains("[Install]"));
    assert_eq!(unit_instances(&app), ["hello-web.socket"]);

    let toml = SINGLE.replace("command =", "socket = \"/run/hello/web.sock\"\ncommand =");
    let (_, units) = render(&toml);
    assert!(
        units[1]
            .contents
            .contains("\nListenStream=/run/hello/web.sock\n")
    );
}

#[test]
fn timer_runs_a_oneshot_job() {
    let toml = SINGLE.replace("command =", "timer = \"*-*-* 03:00:00\"\ncommand =");
    let (app, units) = render(&toml);
    assert_eq!(names(&units), ["hello-web.service", "hello-web.timer"]);
    assert_eq!(
        units[1].contents,
        "\
# Managed by raijin: app hello, process web. Changes are overwritten on deploy.

[Unit]
Description=raijin: hello, process web (timer)

[Timer]
OnCalendar=*-*-* 03:00:00
Persistent=true

[Install]
WantedBy=timers.target
"
    );
    let service = &units[0].contents;
    assert!(service.contains("\nType=oneshot\nTimeoutStartSec=infinity\n"));
    assert!(!service.contains("Restart"));
    assert!(!service.contains("[Install]"));
    assert!(service.contains(SANDBOX));
    assert_eq!(unit_instances(&app), ["hello-web.timer"]);
}

#[test]
fn timer_values_stay_on_one_line() {
    let toml = SINGLE.replace(
        "command =",
        "timer = \"daily\\nExecStartPre=/bin/evil 100%\"\ncommand =",
    );
    let (_, units) = render(&toml);
    assert!(
        units[1]
            .contents
            .contains("\nOnCalendar=daily ExecStartPre=/bin/evil 100%%\n")
    );
}

#[test]
fn python_apps_get_the_venv_on_path() {
    let toml = r#"
[apps.dash]
hosts = ["web1"]
artifact = "dist"
kind = "python"

[apps.dash.processes.web]
command = "gunicorn dash.wsgi --bind 127.0.0.1:8100"
"#;
    let (_, units) = render(toml);
    let service = &units[0].contents;
    assert!(service.contains(
        "EnvironmentFile=-/var/lib/raijin/dash/current/.raijin/env\n\
         Environment=PATH=/var/lib/raijin/dash/current/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
         Environment=PYTHONUNBUFFERED=1\n\
         ExecStart=/bin/sh -c \"exec gunicorn dash.wsgi --bind 127.0.0.1:8100\"\n"
    ));
    assert!(!service.contains("MemoryDenyWriteExecute"));
    let sandbox = SANDBOX
        .replace("/hello", "/dash")
        .replace("MemoryDenyWriteExecute=true\n", "");
    assert!(service.contains(&sandbox));
}

#[test]
fn binary_apps_keep_the_system_path() {
    let (_, units) = render(SINGLE);
    assert!(!units[0].contents.contains("Environment="));
}

#[test]
fn static_apps_have_no_units() {
    let toml = r#"
[apps.docs]
hosts = ["web1"]
artifact = "book"
kind = "static"

[apps.docs.proxy]
domain = "docs.example.com"
"#;
    let (app, units) = render(toml);
    assert!(units.is_empty());
    assert!(unit_instances(&app).is_empty());
}

#[test]
fn compound_commands_are_killed_as_a_group() {
    let (_, units) = render(&with_command("./migrate && ./hello serve"));
    let service = &units[0].contents;
    assert!(service.contains("\nExecStart=/bin/sh -c \"./migrate && ./hello serve\"\n"));
    assert!(service.contains("\nKillMode=control-group\n"));
}

#[test]
fn tricky_commands_in_the_unit() {
    let exec_start = |command: &str| {
        let (_, units) = render(&with_command(command));
        units[0]
            .contents
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .unwrap()
            .to_string()
    };
    assert_eq!(
        exec_start("./hello --port $PORT --name ${NAME}"),
        r#"/bin/sh -c "exec ./hello --port $$PORT --name $${NAME}""#
    );
    assert_eq!(
        exec_start(r#"./hello --msg "it's 100% \"done\"" --re 'a\d+'"#),
        r#"/bin/sh -c "exec ./hello --msg \"it's 100%% \\\"done\\\"\" --re 'a\\d+'""#
    );
    assert_eq!(
        exec_start("RUST_LOG=debug PORT=8000 ./hello serve"),
        r#"/bin/sh -c "RUST_LOG=debug PORT=8000 exec ./hello serve""#
    );
    assert_eq!(
        exec_start("  exec ./hello %i %n  "),
        r#"/bin/sh -c "exec ./hello %%i %%n""#
    );
    assert_eq!(
        exec_start("./hello 2>&1 >/dev/null"),
        r#"/bin/sh -c "exec ./hello 2>&1 >/dev/null""#
    );
}

/// systemd's reading of one double-quoted `ExecStart=` word, for the round trip:
/// C escapes, then `%%` and `$$` (no specifiers or variables are used here).
fn systemd_unquote(word: &str) -> String {
    let inner = word
        .strip_prefix('"')
        .and_then(|w| w.strip_suffix('"'))
        .unwrap();
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next().unwrap() {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'x' => {
                    let hex: String = chars.by_ref().take(2).collect();
                    out.push(char::from(u8::from_str_radix(&hex, 16).unwrap()));
                }
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16).unwrap();
                    out.push(char::from_u32(code).unwrap());
                }
                c @ ('\\' | '"') => out.push(c),
                c => panic!("unexpected escape \\{c} in {word}"),
            },
            '"' => panic!("unescaped quote in {word}"),
            '%' | '$' => {
                assert_eq!(chars.next(), Some(c), "lone {c} in {word}");
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

const TRICKY: &[&str] = &[
    "./hello serve",
    "./hello --port $PORT",
    "./hello --port ${PORT:-8000}",
    "echo \"$HOME\" '$HOME' \\$HOME",
    "printf '%s\\n' 100%",
    "./x --json '{\"a\": [1, 2]}'",
    "a\\b\\\\c",
    "it's \"quoted\" `backticks`",
    "line1\nline2\ttab\r",
    "bell\u{7} del\u{7f} c1\u{85} snowman ☃",
    "%i %n %% %",
    "$$ $ $1 $@",
    "trailing backslash \\",
    "",
];

#[test]
fn systemd_quoting_round_trips() {
    for s in TRICKY {
        let quoted = systemd_quote(s);
        assert!(!quoted.contains('\n'), "{quoted}");
        assert_eq!(&systemd_unquote(&quoted), s, "{quoted}");
    }
    assert_eq!(systemd_quote("a\0b"), "\"ab\"");
}

#[test]
fn simple_commands_are_execed() {
    for (command, script) in [
        ("./hello", "exec ./hello"),
        (
            "./hello serve --port 8000",
            "exec ./hello serve --port 8000",
        ),
        ("  ./hello  ", "exec ./hello"),
        ("gunicorn app:wsgi", "exec gunicorn app:wsgi"),
        ("A=1 B='x y' ./hello", "A=1 B='x y' exec ./hello"),
        ("A=\"$(cat f)\" ./hello", "A=\"$(cat f)\" exec ./hello"),
        (
            "./hello 'a;b' \"c|d\" e\\;f",
            "exec ./hello 'a;b' \"c|d\" e\\;f",
        ),
        ("./hello >>log 2>&1", "exec ./hello >>log 2>&1"),
        ("./hello # a; comment", "exec ./hello # a; comment"),
        ("./hello arg#notcomment", "exec ./hello arg#notcomment"),
        ("exec ./hello", "exec ./hello"),
        ("/usr/bin/env PORT=1 ./x", "exec /usr/bin/env PORT=1 ./x"),
        ("./x --opt=a=b", "exec ./x --opt=a=b"),
    ] {
        assert_eq!(
            shell_script(command),
            (script.to_string(), true),
            "{command}"
        );
    }
}

#[test]
fn other_commands_run_as_written() {
    for command in [
        "./migrate && ./hello",
        "./a || ./b",
        "./a; ./b",
        "./a | ./b",
        "./a & ./b",
        "./hello $(cat args)",
        "./hello `cat args`",
        "(./hello)",
        "{ ./hello; }",
        "cd sub && ./hello",
        "cd sub",
        "if true; then ./hello; fi",
        "while true; do ./job; sleep 1; done",
        "! ./hello",
        "ulimit -n 4096",
        ". ./env.sh",
        "A=1",
        "",
        "./hello 'unterminated",
        "./hello \"unterminated",
        "./hello\n./other",
        "./hello \\",
    ] {
        assert_eq!(
            shell_script(command),
            (command.trim().to_string(), false),
            "{command}"
        );
    }
}

#[test]
fn the_proxied_process_is_rendered_per_slot_not_in_place() {
    let toml = format!(
        "{SINGLE}[apps.hello.processes.web]\nreplicas = 2\n[apps.hello.proxy]\ndomain = \"hello.test\"\nprocess = \"web\"\nport = 8000\n"
    )
    .replace("[apps.hello.processes.web]\nreplicas = 2\n", "")
    .replace("command = \"./hello serve --port 8000\"", "command = \"./hello serve\"\nreplicas = 2");
    let (app, units) = render(&toml);
    assert!(units.is_empty(), "{units:?}");
    assert!(unit_instances(&app).is_empty());
    let b = render_slot_units(&app, &Layout::new("hello"), "b");
    assert_eq!(names(&b), ["hello-web@b1.service", "hello-web@b2.service"]);
    let second = &b[1].contents;
    assert!(
        second.contains("Description=raijin: hello, process web (slot b, instance 2)\n"),
        "{second}"
    );
    assert!(second.contains("WorkingDirectory=/var/lib/raijin/hello/slot-b\n"));
    assert!(second.contains("EnvironmentFile=-/var/lib/raijin/hello/slot-b/.raijin/env\n"));
    assert!(second.contains(
        "ExecStart=/bin/sh -c \"export PORT=18001 RAIJIN_SLOT=b RAIJIN_INSTANCE=2; exec ./hello serve\"\n"
    ), "{second}");
    assert!(second.contains("KillMode=mixed\n"));
    assert!(second.contains("\n[Install]\nWantedBy=multi-user.target\n"));
}
