//! Running a command on a host as an app's user, in a chosen directory, with the
//! app's environment files read by systemd itself — so values are parsed exactly
//! as the app's units see them. One `systemd-run` command line, used by deploy
//! hooks, `raijin exec` and the app shell. Pure rendering: the commands run as
//! root (see `engine::host::Host`).

use crate::config::{AppConfig, AppKind};
use crate::remote::Layout;
use crate::util::shell_quote as q;

/// `state/cmd` of the app whose release directory is `release_dir`.
fn cmd_dir(release_dir: &str) -> String {
    let state = release_dir
        .rsplit_once("/releases/")
        .map_or(release_dir, |(state, _)| state);
    format!("{state}/cmd")
}

/// `PATH` of the host's services, as systemd sets it.
pub const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Who runs the command, where, and with which environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsApp {
    pub user: String,
    pub dir: String,
    /// `EnvironmentFile=` values; a leading `-` makes a file optional.
    pub env_files: Vec<String>,
    /// `Environment=` assignments (`NAME=value`).
    pub env: Vec<String>,
    /// Where a command waits, as a file the app can read, while it runs: root's and
    /// the app's group only (`state/cmd`).
    pub cmd_dir: String,
}

impl AsApp {
    /// The app's user in `dir` with the environment of `release_dir`
    /// (`RELEASE/.raijin/env`), as deploy hooks run.
    pub fn for_release(app: &AppConfig, release_dir: &str) -> AsApp {
        let mut env = Vec::new();
        if app.kind == AppKind::Python {
            env.push(format!("PATH={release_dir}/venv/bin:{SYSTEM_PATH}"));
        }
        AsApp {
            user: app.user.clone(),
            dir: release_dir.to_string(),
            env_files: vec![format!("{release_dir}/.raijin/env")],
            env,
            cmd_dir: cmd_dir(release_dir),
        }
    }

    /// The app's user in the app dir with the current release's environment
    /// (`current/.raijin/env`, as the units read it): `raijin exec` and the app shell.
    pub fn for_current(app: &AppConfig, layout: &Layout) -> AsApp {
        let mut env = Vec::new();
        if app.kind == AppKind::Python {
            env.push(format!("PATH={}:{SYSTEM_PATH}", layout.current_venv_bin()));
        }
        AsApp {
            user: app.user.clone(),
            dir: layout.app_dir(),
            env_files: vec![format!("-{}", layout.env_file())],
            env,
            cmd_dir: format!("{}/cmd", layout.state_dir()),
        }
    }

    /// The `-p` properties, shell-quoted.
    fn properties(&self) -> String {
        let mut props = vec![
            format!("User={}", self.user),
            format!("Group={}", self.user),
            format!("WorkingDirectory={}", self.dir),
        ];
        props.extend(
            self.env_files
                .iter()
                .map(|f| format!("EnvironmentFile={f}")),
        );
        props.extend(self.env.iter().map(|e| format!("Environment={e}")));
        props
            .iter()
            .map(|p| format!("-p {}", q(p)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `systemd-run ... /bin/sh FILE`, where FILE holds `command`: output on the
    /// caller's stdout and stderr, exits with the command's status. `unit` names the
    /// transient unit (a shell expression, e.g. `"$u"`), so it can be stopped.
    ///
    /// The command travels in a file (root's, readable by the app's group, removed
    /// afterwards), not on systemd-run's command line: systemd expands `$VAR` in a
    /// unit's command line, and a `daemon-reload` while the unit runs re-reads it from
    /// a file where `;` and `$` lose their meaning. A brace group, so it can run in
    /// the background or after `exec`-free callers.
    pub fn pipe(&self, unit: Option<&str>, command: &str) -> String {
        let unit = unit.map(|u| format!(" --unit={u}")).unwrap_or_default();
        format!(
            "{{ d={dir}; [ -d \"$d\" ] || {{ mkdir -p -- \"${{d%/*}}\" && mkdir -m 0750 \"$d\" && chgrp {group} \"$d\"; }}; \
             c=$(mktemp \"$d/cmd.XXXXXXXX\") && printf '%s\\n' {cmd} > \"$c\" && chgrp {group} \"$c\" && chmod 0640 \"$c\" || exit 1; \
             systemd-run{unit} --quiet --pipe --wait --collect --service-type=exec {props} /bin/sh \"$c\"; \
             rc=$?; rm -f -- \"$c\"; (exit $rc); }}",
            dir = q(&self.cmd_dir),
            group = q(&self.user),
            cmd = q(command),
            props = self.properties(),
        )
    }

    /// An interactive shell on the caller's terminal (bash if the host has it,
    /// else sh): `systemd-run --pty` forwards window-size changes and
    /// signals typed at the terminal, and exits with the shell's status. The
    /// unit outlives the shell by a fifth of a second, holding the terminal open:
    /// systemd-run stops forwarding when the unit ends, and what a shell printed
    /// just before `exit` would otherwise be lost.
    pub fn pty_shell(&self) -> String {
        format!(
            "s=/bin/sh; if [ -x /bin/bash ]; then s=/bin/bash; fi\n\
             exec systemd-run --quiet --pty --wait --collect --service-type=exec {} -p \"Environment=SHELL=$s\" \
             /bin/sh -c '\"$0\"; rc=$?; sleep 0.2; exit $rc' \"$s\"\n",
            self.properties()
        )
    }

    /// Run `command` (by `/bin/sh -c`) with its output streamed, and stop
    /// the transient unit if the caller goes away first: when this script's
    /// standard input reaches its end (the caller keeps it open and never
    /// writes, so the end means the SSH channel closed) or on SIGTERM, SIGHUP
    /// or SIGINT. A closed channel alone does not stop a command that prints
    /// nothing, and sshd refuses channel signals for root logins. Exits with
    /// the command's status.
    pub fn pipe_stoppable(&self, app: &str, command: &str) -> String {
        format!(
            "u=raijin-exec-{app}-$$\n\
             trap 'systemctl stop \"$u\" >/dev/null 2>&1' INT TERM HUP\n\
             exec 3<&0\n\
             {run} </dev/null &\n\
             p=$!\n\
             ( while read -r _; do :; done; systemctl stop \"$u\" ) <&3 >/dev/null 2>&1 &\n\
             w=$!\n\
             exec 3<&-\n\
             while :; do wait \"$p\"; rc=$?; kill -0 \"$p\" 2>/dev/null || break; done\n\
             kill \"$w\" 2>/dev/null\n\
             exit \"$rc\"\n",
            run = self.pipe(Some("\"$u\""), command),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(kind: AppKind) -> AppConfig {
        AppConfig {
            name: "shop".into(),
            hosts: vec!["h1".into()],
            build: None,
            artifact: "x".into(),
            kind,
            version_source: Default::default(),
            versions_to_keep: 3,
            batch: None,
            user: "shop".into(),
            env_file: None,
            env: Default::default(),
            processes: Default::default(),
            proxy: None,
            hooks: Default::default(),
        }
    }

    #[test]
    fn current_release_environment_in_the_app_dir() {
        let a = AsApp::for_current(&app(AppKind::Binary), &Layout::new("shop"));
        let s = a.pipe(None, "echo $X; id -un");
        assert!(
            s.contains("systemd-run --quiet --pipe --wait --collect --service-type=exec -p User=shop -p Group=shop \
             -p WorkingDirectory=/opt/raijin/shop -p EnvironmentFile=-/var/lib/raijin/shop/current/.raijin/env /bin/sh \"$c\";"),
            "{s}"
        );
    }

    #[test]
    fn the_command_travels_in_a_file_not_on_the_command_line() {
        let a = AsApp::for_current(&app(AppKind::Binary), &Layout::new("shop"));
        let s = a.pipe(Some("\"$u\""), "echo ${X} $$; b");
        assert!(s.starts_with("{ d=/var/lib/raijin/shop/cmd; "), "{s}");
        assert!(s.contains("printf '%s\\n' 'echo ${X} $$; b' > \"$c\" && chgrp shop \"$c\" && chmod 0640 \"$c\""), "{s}");
        assert!(s.contains("systemd-run --unit=\"$u\" --quiet"), "{s}");
        assert!(s.ends_with("rc=$?; rm -f -- \"$c\"; (exit $rc); }"), "{s}");
        assert_eq!(
            AsApp::for_release(&app(AppKind::Binary), "/var/lib/raijin/shop/releases/v1").cmd_dir,
            "/var/lib/raijin/shop/cmd"
        );
    }

    #[test]
    fn python_apps_get_their_venv_first_on_path() {
        let a = AsApp::for_current(&app(AppKind::Python), &Layout::new("shop"));
        assert!(a.pty_shell().contains(
            "-p Environment=PATH=/var/lib/raijin/shop/current/venv/bin:/usr/local/sbin:"
        ));
        let r = AsApp::for_release(&app(AppKind::Python), "/var/lib/raijin/shop/releases/v1");
        assert_eq!(
            r.env,
            [
                "PATH=/var/lib/raijin/shop/releases/v1/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            ]
        );
    }

    #[test]
    fn a_stoppable_run_names_its_unit_and_stops_it_on_hangup() {
        let a = AsApp::for_current(&app(AppKind::Binary), &Layout::new("shop"));
        let s = a.pipe_stoppable("shop", "sleep 9");
        assert!(s.starts_with("u=raijin-exec-shop-$$\n"), "{s}");
        assert!(s.contains("trap 'systemctl stop \"$u\" >/dev/null 2>&1' INT TERM HUP"));
        assert!(s.contains("systemd-run --unit=\"$u\" --quiet --pipe"));
        assert!(s.contains("( while read -r _; do :; done; systemctl stop \"$u\" ) <&3"));
        assert!(s.ends_with("exit \"$rc\"\n"));
    }
}
