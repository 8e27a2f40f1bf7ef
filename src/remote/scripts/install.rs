//! The install step on a host: the app's system user and its two directories (its
//! own data directory, and the group and mode of raijin's state directory so the
//! services can read their release), a python app's virtualenv built in the release
//! from the shipped wheels, and the app's hooks run as the app user.

use super::as_app::AsApp;
use super::{PRELUDE, render};
use crate::config::{AppConfig, AppKind};
use crate::remote::Layout;

const APP_USER: &str = r#"U=@USER@; A=@APPDIR@; S=@S@
if ! id -u "$U" >/dev/null 2>&1; then
  useradd --system --user-group --home-dir "$A" --no-create-home --shell /usr/sbin/nologin "$U"
fi
[ -d @DATA@ ] || mkdir -p @DATA@
if [ -L "$A" ]; then echo "$A is a symlink; raijin will not use it as the app's directory" >&2; exit 1; fi
[ -d "$A" ] || mkdir -m 0750 "$A"
chown "$U:$U" "$A"
chmod 0750 "$A"
chown "root:$U" "$S"
chmod @MODE@ "$S"
"#;

/// The app user and group (a system user without a login shell), its data directory
/// `/opt/raijin/APP` (the user's, 0750) and the state directory's group and mode
/// (root:APP 0750; 0755 for a static app, whose files Caddy reads). Idempotent.
pub fn app_user(layout: &Layout, app: &AppConfig) -> String {
    format!(
        "{PRELUDE}{}",
        render(
            APP_USER,
            &[
                ("USER", &app.user),
                ("APPDIR", &layout.app_dir()),
                ("S", &layout.state_dir()),
                ("DATA", &layout.root()),
                (
                    "MODE",
                    if app.kind == AppKind::Static {
                        "0755"
                    } else {
                        "0750"
                    },
                ),
            ],
        )
    )
}

const VENV: &str = r#"R=@R@
if [ ! -x "$R/venv/bin/python" ]; then
  rm -rf -- "$R/venv"
  python3 -m venv "$R/venv"
  "$R/venv/bin/pip" install --quiet --no-index --no-cache-dir --disable-pip-version-check --find-links "$R/wheels" "$R"/wheels/*.whl
fi
"#;

/// For python apps, a venv in the release from the shipped wheels, with no package
/// index; `None` for other kinds.
pub fn python_env(layout: &Layout, app: &AppConfig, release: &str) -> Option<String> {
    (app.kind == AppKind::Python).then(|| {
        format!(
            "{PRELUDE}{}",
            render(VENV, &[("R", &layout.release_dir(release))])
        )
    })
}

/// Run a hook as the app user with the release's environment, in the release
/// directory, through systemd-run so systemd parses the env file as the units do.
pub fn hook(layout: &Layout, app: &AppConfig, release: &str, command: &str) -> String {
    let run = AsApp::for_release(app, &layout.release_dir(release));
    format!("{}\n", run.pipe(None, command))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;
    use std::path::Path;

    fn app(kind: &str) -> AppConfig {
        let t = format!(
            "[hosts.h]\naddress = \"h\"\n[apps.shop]\nhosts = [\"h\"]\nartifact = \"x\"\nkind = \"{kind}\"\n{}",
            if kind == "static" {
                ""
            } else {
                "[apps.shop.processes.web]\ncommand = \"x\"\n"
            }
        );
        let c = load_str(&t, Path::new("raijin.toml")).unwrap_or_else(|e| panic!("{e}"));
        c.apps.into_values().next().unwrap()
    }

    #[test]
    fn the_state_dir_is_roots_with_the_apps_group() {
        let s = app_user(&Layout::new("shop"), &app("binary"));
        assert!(
            s.contains("U=shop; A=/opt/raijin/shop; S=/var/lib/raijin/shop\n"),
            "{s}"
        );
        assert!(
            s.contains("chown \"root:$U\" \"$S\"\nchmod 0750 \"$S\"\n"),
            "{s}"
        );
        let s = app_user(&Layout::new("shop"), &app("static"));
        assert!(s.contains("chmod 0755 \"$S\"\n"), "{s}");
    }

    #[test]
    fn only_python_apps_get_a_venv() {
        assert!(python_env(&Layout::new("shop"), &app("binary"), "v1").is_none());
        let s = python_env(&Layout::new("shop"), &app("python"), "v1").unwrap();
        assert!(s.contains("R=/var/lib/raijin/shop/releases/v1\n"), "{s}");
        assert!(s.contains("--no-index"));
    }

    #[test]
    fn hooks_run_as_the_app_user_in_the_release() {
        let s = hook(&Layout::new("shop"), &app("binary"), "v1", "echo hi");
        assert!(s.contains(" systemd-run --quiet --pipe "), "{s}");
        assert!(s.contains("-p User=shop"));
        assert!(s.contains("-p WorkingDirectory=/var/lib/raijin/shop/releases/v1"));
        assert!(s.contains("-p EnvironmentFile=/var/lib/raijin/shop/releases/v1/.raijin/env"));
    }
}
