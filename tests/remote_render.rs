//! The units and Caddy site that `raijin::remote` renders, run for real on testbed host
//! h3: a binary app (one service, two replicas of a worker) and a python app (a service
//! in its virtualenv and a timer job) go live as hardened services, answer HTTP through
//! a Caddy instance serving the rendered site, and score at most 1.5 in
//! `systemd-analyze security`. Everything created is removed again, also when the test
//! fails; leftovers of an interrupted run are swept on the next one.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use raijin::config::AppConfig;
use raijin::remote::{Layout, render_site, render_units, unit_instances};
use raijin::util::shell_quote;

const HOST: &str = "h3";
/// Names of this test's apps start with it; nothing else on the testbed does.
const PREFIX: &str = "rjrt";
/// The highest exposure the sandbox may leave.
const MAX_EXPOSURE: f64 = 1.5;

/// Run `script` as root on the host with OpenSSH; `Err` carries its output on failure.
fn ssh(tb: &common::Testbed, script: &str) -> Result<String, String> {
    let out = Command::new("ssh")
        .arg("-F")
        .arg(tb.ssh_config())
        .args(["-o", "BatchMode=yes", &format!("tb-{HOST}"), script])
        .output()
        .map_err(|e| format!("cannot run ssh: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{script}\nfailed with {}:\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn run(tb: &common::Testbed, script: &str) -> String {
    ssh(tb, script).unwrap_or_else(|e| panic!("on {HOST}: {e}"))
}

/// `printf` of `contents` into `path`, as a shell command.
fn write_file(path: &str, contents: &str, mode: &str) -> String {
    format!(
        "printf '%s' {} > {path} && chmod {mode} {path}",
        shell_quote(contents)
    )
}

/// Removes the apps whose directories `dirs` (shell words) names: their units (the
/// test's Caddy too, named like them), slices, users and files.
fn cleanup_script(dirs: &str) -> String {
    format!(
        r#"
for dir in {dirs}; do
  [ -d "$dir" ] || continue
  app=${{dir##*/}}
  systemctl stop "$app-*"
  for slice in $(systemctl list-units --all --plain --no-legend --type=slice | awk '{{print $1}}' | grep -F "system-$(systemd-escape "$app")"); do
    systemctl stop "$slice"
  done
  systemctl reset-failed "$app-*" 2>/dev/null
  rm -f /etc/systemd/system/"$app"-*
  userdel "$app" 2>/dev/null; groupdel "$app" 2>/dev/null
  rm -rf "$dir" "/var/lib/raijin/$app"
done
systemctl daemon-reload
true
"#
    )
}

/// Runs the cleanup when dropped, so a failing assertion still leaves h3 clean.
struct Cleanup<'a> {
    tb: &'a common::Testbed,
    script: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Err(e) = ssh(self.tb, &self.script) {
            eprintln!("cleanup on {HOST} failed: {e}");
        }
    }
}

fn app_config(toml: &str) -> AppConfig {
    let config =
        raijin::config::load_str(toml, Path::new("raijin.toml")).unwrap_or_else(|e| panic!("{e}"));
    config.apps.into_values().next().expect("one app")
}

/// Shell commands that create the app user and the app's directories with release `v1`
/// as `current`, its environment file holding `env`.
fn install_app(app: &AppConfig, env: &str) -> String {
    let l = Layout::new(&app.name);
    let user = &app.user;
    [
        format!(
            "useradd --system --user-group --no-create-home --home-dir {} --shell /usr/sbin/nologin {user}",
            l.app_dir()
        ),
        format!(
            "mkdir -p {} {} {}",
            l.app_dir(),
            l.meta_dir("v1"),
            l.store_dir()
        ),
        format!("chown {user}:{user} {0} && chmod 0750 {0}", l.app_dir()),
        format!(
            "chown root:{user} {0} && chmod 0750 {0}",
            l.state_dir()
        ),
        format!("ln -sfn releases/v1 {}", l.current_link()),
        format!("ln -sfn releases/v1 {}", l.slot_link("a")),
        write_file(&format!("{}/env", l.meta_dir("v1")), env, "0640"),
        format!("chown root:{user} {}/env", l.meta_dir("v1")),
    ]
    .join(" && ")
}

/// The app's rendered units: those that run in place, and slot `a` of its web process.
fn all_units(app: &AppConfig, l: &Layout) -> Vec<raijin::remote::UnitFile> {
    let mut units = render_units(app, l);
    units.extend(raijin::remote::units::render_slot_units(app, l, "a"));
    units
}

/// Writes the app's rendered units into the unit directory.
fn install_units(app: &AppConfig) -> String {
    let l = Layout::new(&app.name);
    all_units(app, &l)
        .iter()
        .map(|u| write_file(&l.unit_path(&u.name), &u.contents, "0644"))
        .collect::<Vec<_>>()
        .join(" && ")
}

/// `systemctl is-active` of every unit, polled until all are active or 10 s pass.
fn wait_active(tb: &common::Testbed, units: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let states = run(
            tb,
            &format!("systemctl is-active {}; true", units.join(" ")),
        );
        if states.lines().filter(|l| *l == "active").count() == units.len() {
            return;
        }
        if Instant::now() > deadline {
            let status = ssh(
                tb,
                &format!(
                    "systemctl status --no-pager {}; journalctl --no-pager -n 30 -u '{PREFIX}*'",
                    units.join(" ")
                ),
            )
            .unwrap_or_else(|e| e);
            panic!("units not active on {HOST}: {states}\n{status}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The overall exposure `systemd-analyze security` gives `unit`.
fn exposure(tb: &common::Testbed, unit: &str) -> f64 {
    let out = run(tb, &format!("systemd-analyze security --no-pager {unit}"));
    let prefix = format!("Overall exposure level for {unit}: ");
    out.lines()
        .find_map(|l| l.split_once(&prefix).map(|(_, rest)| rest))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level for {unit} in:\n{out}"))
}

/// A plain HTTP/1.1 GET from this machine; the response body, or `None` on any failure.
fn http_get(addr: &str, host: &str) -> Option<String> {
    let mut stream =
        TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

#[test]
fn rendered_units_run_hardened_and_serve_through_caddy() {
    let Some(tb) = common::testbed() else { return };

    // Leftovers of runs that were killed before they could clean up.
    run(
        tb,
        &format!(
            "{}\nfind /tmp -maxdepth 1 -name '{PREFIX}*-run' -mmin +30 -exec rm -rf {{}} +; true",
            cleanup_script(&format!(
                "$(find /opt/raijin -maxdepth 1 -name '{PREFIX}*' -mmin +30 2>/dev/null)"
            ))
        ),
    );

    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let id = format!("{PREFIX}{:08x}", std::process::id() ^ nanos);
    let port = 20000 + (std::process::id() ^ nanos) % 10000 * 4;
    let (bin_port, py_port, caddy_port) = (port, port + 1, port + 2);
    let bin = format!("{id}-bin");
    let py = format!("{id}-py");
    let run_dir = format!("/tmp/{id}-run");
    let _cleanup = Cleanup {
        tb,
        script: format!(
            "{}\n[ -e {run_dir}/made-root ] && rmdir /opt/raijin 2>/dev/null\nrm -rf {run_dir}",
            cleanup_script(&format!("/opt/raijin/{id}-*"))
        ),
    };

    let bin_app = app_config(&format!(
        r#"
[hosts.{HOST}]

[apps.{bin}]
hosts = ["{HOST}"]
artifact = "serve"
kind = "binary"

[apps.{bin}.processes.web]
command = '''MSG="it's 100% $PORT" ./serve --port "$PORT"'''

[apps.{bin}.processes.worker]
command = "sleep 3600"
replicas = 2

[apps.{bin}.proxy]
domain = "{bin}.test:{caddy_port}"
process = "web"
port = {bin_port}
"#
    ));
    let py_app = app_config(&format!(
        r#"
[hosts.{HOST}]

[apps.{py}]
hosts = ["{HOST}"]
artifact = "dist"
kind = "python"

[apps.{py}.processes.web]
command = "python3 -m http.server {py_port} --bind 127.0.0.1"

[apps.{py}.processes.job]
command = '''printf '%s|%s\n' "$(command -v python3)" "it's 100% \"quoted\" $PORT" > /opt/raijin/{py}/job.out'''
timer = "*-*-* 04:00:00"
"#
    ));
    let bin_layout = Layout::new(&bin);
    let py_layout = Layout::new(&py);

    // The releases: a "binary" (a script serving its release directory over HTTP) and
    // a python release with a virtualenv.
    let serve = "#!/bin/sh\n[ \"$1\" = --port ] || exit 2\nexec python3 -m http.server \"$2\" --bind 127.0.0.1\n";
    run(
        tb,
        &[
            format!("mkdir -p {run_dir} && {{ [ -d /opt/raijin ] || touch {run_dir}/made-root; }}"),
            install_app(&bin_app, &format!("PORT={bin_port}\n")),
            write_file(
                &format!("{}/serve", bin_layout.release_dir("v1")),
                serve,
                "0755",
            ),
            write_file(
                &format!("{}/index.html", bin_layout.release_dir("v1")),
                &format!("{bin} v1\n"),
                "0644",
            ),
            install_app(&py_app, &format!("PORT={py_port}\n")),
            format!("python3 -m venv {}", py_layout.venv_dir_in_release("v1")),
            write_file(
                &format!("{}/index.html", py_layout.release_dir("v1")),
                &format!("{py} v1\n"),
                "0644",
            ),
        ]
        .join(" && "),
    );

    // Install, check and start the units.
    run(
        tb,
        &format!(
            "{} && {} && systemctl daemon-reload",
            install_units(&bin_app),
            install_units(&py_app)
        ),
    );
    let files: Vec<String> = [(&bin_app, &bin_layout), (&py_app, &py_layout)]
        .iter()
        .flat_map(|(app, l)| all_units(app, l).into_iter().map(|u| l.unit_path(&u.name)))
        .collect();
    let verify = run(
        tb,
        &format!(
            "systemd-analyze verify {} 2>&1; echo rc=$?",
            files.join(" ")
        ),
    );
    assert_eq!(verify.trim(), "rc=0", "systemd-analyze verify:\n{verify}");

    let mut to_start = unit_instances(&bin_app);
    to_start.extend(unit_instances(&py_app));
    to_start.extend(raijin::remote::slots::instances(&bin_app, "a"));
    assert_eq!(
        to_start,
        [
            format!("{bin}-worker@1.service"),
            format!("{bin}-worker@2.service"),
            format!("{py}-job.timer"),
            format!("{py}-web.service"),
            format!("{bin}-web@a1.service"),
        ]
    );
    run(tb, &format!("systemctl start {}", to_start.join(" ")));
    wait_active(tb, &to_start);
    let timers = run(
        tb,
        &format!("systemctl list-timers --all --no-pager {py}-job.timer"),
    );
    assert!(timers.contains(&format!("{py}-job.service")), "{timers}");

    // The timer's job: a oneshot run in the venv's PATH with its quoting intact.
    run(tb, &format!("systemctl start {py}-job.service"));
    let job = run(tb, &format!("cat {}/job.out", py_layout.app_dir()));
    assert_eq!(
        job,
        format!(
            "{}/python3|it's 100% \"quoted\" {py_port}\n",
            py_layout.current_venv_bin()
        )
    );

    // The web processes answer on the host, with the environment the command built.
    let curl = |port: u32| {
        run(
            tb,
            &format!(
                "curl -sS --retry 20 --retry-connrefused --retry-delay 0 --max-time 10 http://127.0.0.1:{port}/"
            ),
        )
    };
    assert_eq!(curl(bin_port), format!("{bin} v1\n"));
    assert_eq!(curl(py_port), format!("{py} v1\n"));
    let environ = run(
        tb,
        &format!(
            "tr '\\0' '\\n' < /proc/$(systemctl show -p MainPID --value {bin}-web@a1.service)/environ"
        ),
    );
    assert!(
        environ
            .lines()
            .any(|l| l == format!("MSG=it's 100% {bin_port}")),
        "{environ}"
    );
    let comm = run(
        tb,
        &format!("ps -o comm= -p $(systemctl show -p MainPID --value {bin}-worker@2.service)"),
    );
    assert_eq!(
        comm.trim(),
        "sleep",
        "the worker's command is the main process"
    );

    // The sandbox: at most 1.5 for every kind of service.
    let mut scores = Vec::new();
    for unit in [
        format!("{bin}-web@a1.service"),
        format!("{bin}-worker@1.service"),
        format!("{py}-web.service"),
        format!("{py}-job.service"),
    ] {
        let score = exposure(tb, &unit);
        println!("systemd-analyze security {unit}: {score}");
        scores.push((unit, score));
    }
    for (unit, score) in &scores {
        assert!(
            *score <= MAX_EXPOSURE,
            "{unit} exposure {score} > {MAX_EXPOSURE}"
        );
    }

    // The rendered site in a Caddy of its own (the host's Caddy stays untouched), on
    // another port, reached from this machine.
    let site = render_site(&bin_app, &bin_layout, &[]).expect("a site");
    let caddyfile = format!("{{\n\tadmin off\n}}\nimport {run_dir}/site.caddy\n");
    run(
        tb,
        &[
            write_file(&format!("{run_dir}/site.caddy"), &site, "0644"),
            write_file(&format!("{run_dir}/Caddyfile"), &caddyfile, "0644"),
            format!("caddy validate --adapter caddyfile --config {run_dir}/Caddyfile >/dev/null 2>&1"),
            format!(
                "systemd-run --quiet --unit={bin}-caddy --collect --setenv=XDG_DATA_HOME={run_dir} --setenv=XDG_CONFIG_HOME={run_dir} caddy run --adapter caddyfile --config {run_dir}/Caddyfile"
            ),
        ]
        .join(" && "),
    );
    let addr = format!("{}:{caddy_port}", tb.addr(HOST));
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        if let Some(body) = http_get(&addr, &format!("{bin}.test")) {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "no answer through Caddy at {addr}: {}",
            ssh(tb, &format!("journalctl --no-pager -n 20 -u {bin}-caddy")).unwrap_or_else(|e| e)
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(body, format!("{bin} v1\n"));
}
