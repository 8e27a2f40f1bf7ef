//! The scripts behind `raijin exec` and the app shell: a command, or an interactive
//! shell, as the app's user in the app dir with the current release's environment.
//! Both first check that the app is installed on the host, so a host the app never
//! reached says so instead of failing inside systemd.

use super::as_app::AsApp;
use crate::config::AppConfig;
use crate::remote::Layout;
use crate::util::shell_quote as q;

/// Lines that fail clearly when the app was never installed on the host (no app
/// user, so no app dir or environment either).
fn require_installed(app: &AppConfig) -> String {
    format!(
        "if ! id -u {u} >/dev/null 2>&1; then echo {msg} >&2; exit 1; fi\n",
        u = q(&app.user),
        msg = q(&format!(
            "app {} is not installed on this host (no user {}): deploy it first",
            app.name, app.user
        )),
    )
}

/// What `/bin/sh -c` runs for `raijin exec -- ARGS...`: a single argument is a
/// shell command line, as given (so `cd data && ls` works); several are one
/// program and its arguments, each quoted once, so each reaches the program
/// exactly as it was typed.
pub fn command_line(args: &[String]) -> String {
    match args {
        [line] => line.clone(),
        _ => args.iter().map(|a| q(a)).collect::<Vec<_>>().join(" "),
    }
}

/// The script (run as root) that runs `command` as the app and stops it when the
/// caller goes away (see [`AsApp::pipe_stoppable`]).
pub fn exec(app: &AppConfig, command: &str) -> String {
    let run = AsApp::for_current(app, &Layout::new(&app.name));
    format!(
        "{}{}",
        require_installed(app),
        run.pipe_stoppable(&app.name, command)
    )
}

/// The script (run as root, on a PTY) that starts the app shell.
pub fn shell(app: &AppConfig) -> String {
    let run = AsApp::for_current(app, &Layout::new(&app.name));
    format!("{}{}", require_installed(app), run.pty_shell())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AppKind;

    fn app(user: &str) -> AppConfig {
        AppConfig {
            name: "shop".into(),
            hosts: vec!["h1".into()],
            build: None,
            artifact: "x".into(),
            kind: AppKind::Binary,
            version_source: Default::default(),
            versions_to_keep: 3,
            batch: None,
            user: user.into(),
            env_file: None,
            env: Default::default(),
            processes: Default::default(),
            proxy: None,
            hooks: Default::default(),
        }
    }

    #[test]
    fn exec_checks_the_app_is_installed_then_runs_stoppably() {
        let s = exec(&app("shop"), "echo $PORT");
        assert!(s.starts_with("if ! id -u shop >/dev/null 2>&1; then echo 'app shop is not installed on this host (no user shop): deploy it first' >&2; exit 1; fi\n"), "{s}");
        assert!(s.contains("-p WorkingDirectory=/opt/raijin/shop"), "{s}");
        assert!(s.contains("printf '%s\\n' 'echo $PORT' > \"$c\""), "{s}");
        assert!(s.contains("(exit $rc); } </dev/null &\n"), "{s}");
    }

    #[test]
    fn one_argument_is_a_command_line_several_are_quoted_once_each() {
        let one = ["cd data && ls".to_string()];
        assert_eq!(command_line(&one), "cd data && ls");
        let argv: Vec<String> = ["printf", "%s|", "a b", "c'd", "$HOME"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            command_line(&argv),
            r#"printf '%s|' 'a b' 'c'\''d' '$HOME'"#
        );
    }

    #[test]
    fn the_shell_runs_under_systemd_run_with_a_pty() {
        let s = shell(&app("shop-user"));
        assert!(s.starts_with("if ! id -u shop-user "), "{s}");
        assert!(
            s.contains("exec systemd-run --quiet --pty --wait --collect --service-type=exec -p User=shop-user -p Group=shop-user -p WorkingDirectory=/opt/raijin/shop"),
            "{s}"
        );
        assert!(
            s.ends_with(
                "-p \"Environment=SHELL=$s\" /bin/sh -c '\"$0\"; rc=$?; sleep 0.2; exit $rc' \"$s\"\n"
            ),
            "{s}"
        );
    }
}
