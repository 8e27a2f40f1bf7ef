//! Where an app lives on a host: every remote path raijin reads or writes, built in one
//! place. Paths are POSIX strings for the remote side, never local `Path`s.
//!
//! ```text
//! /opt/raijin/APP/                 app dir: app data, owned by the app user
//!   .install/                      raijin's part, read-only to the app's services
//!     store/SHA256                 content-addressed pieces of artifacts
//!     releases/VERSION/            one materialized release (artifact, units/, ...)
//!     current -> releases/VERSION  flipped by renaming `current.new` over it
//!     env, secrets.env             environment files of the services
//!     lock/                        mkdir lock of a deploy in progress
//!     audit.log                    JSON lines, one per deploy or rollback
//! /etc/systemd/system/APP-PROC.{service,socket,timer}
//! /etc/caddy/raijin/APP.caddy      imported by /etc/caddy/Caddyfile
//! ```

/// Parent of every app directory.
pub const ROOT: &str = "/opt/raijin";
/// Where unit files are installed.
pub const UNIT_DIR: &str = "/etc/systemd/system";
/// Directory of the per-app Caddy site files.
pub const CADDY_SITES_DIR: &str = "/etc/caddy/raijin";
/// The main Caddyfile that imports the site files.
pub const CADDY_MAIN_CONFIG: &str = "/etc/caddy/Caddyfile";
/// Longest accepted version id.
pub const MAX_VERSION_LEN: usize = 100;

/// The remote paths of one app. Built from an app name that the configuration has
/// already validated (letters, digits, `-`, `_`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    app: String,
}

impl Layout {
    pub fn new(app: &str) -> Layout {
        Layout {
            app: app.to_string(),
        }
    }

    /// The app name the paths are for.
    pub fn app(&self) -> &str {
        &self.app
    }

    /// `/opt/raijin`.
    pub fn root(&self) -> String {
        ROOT.to_string()
    }

    /// `/opt/raijin/APP`: the app's data, owned by the app user and writable by its
    /// services.
    pub fn app_dir(&self) -> String {
        format!("{ROOT}/{}", self.app)
    }

    /// `APP_DIR/.install`: raijin's files; the services may read but not write them.
    pub fn install_dir(&self) -> String {
        format!("{}/.install", self.app_dir())
    }

    /// `.install/store`: content-addressed chunks shared by the releases.
    pub fn store_dir(&self) -> String {
        format!("{}/store", self.install_dir())
    }

    /// `.install/releases`.
    pub fn releases_dir(&self) -> String {
        format!("{}/releases", self.install_dir())
    }

    /// `.install/releases/VERSION`. Check `version` with [`validate_version`] first.
    pub fn release_dir(&self, version: &str) -> String {
        format!("{}/{version}", self.releases_dir())
    }

    /// `.install/current`: a symlink to `releases/VERSION`, the release that runs.
    pub fn current_link(&self) -> String {
        format!("{}/current", self.install_dir())
    }

    /// `.install/current.new`: the symlink made beside `current` and renamed over it,
    /// so the switch is atomic.
    pub fn current_link_staging(&self) -> String {
        format!("{}/current.new", self.install_dir())
    }

    /// `.install/env`: the app's environment (`KEY=value` lines) for its services.
    pub fn env_file(&self) -> String {
        format!("{}/env", self.install_dir())
    }

    /// `.install/secrets.env`: resolved secrets for the services, kept apart from `env`.
    pub fn secrets_env_file(&self) -> String {
        format!("{}/secrets.env", self.install_dir())
    }

    /// `.install/lock`: created with `mkdir` by the deploy that holds the lock.
    pub fn lock_dir(&self) -> String {
        format!("{}/lock", self.install_dir())
    }

    /// `.install/audit.log`.
    pub fn audit_log(&self) -> String {
        format!("{}/audit.log", self.install_dir())
    }

    /// `releases/VERSION/units`: the unit files rendered for that release.
    pub fn units_dir_in_release(&self, version: &str) -> String {
        format!("{}/units", self.release_dir(version))
    }

    /// `releases/VERSION/site`: where a static app's files are materialized.
    pub fn site_dir_in_release(&self, version: &str) -> String {
        format!("{}/site", self.release_dir(version))
    }

    /// `current/site`: what Caddy serves for a static app.
    pub fn current_site_dir(&self) -> String {
        format!("{}/site", self.current_link())
    }

    /// `releases/VERSION/venv`: a python app's virtualenv.
    pub fn venv_dir_in_release(&self, version: &str) -> String {
        format!("{}/venv", self.release_dir(version))
    }

    /// `current/venv/bin`: put first on a python app's `PATH`.
    pub fn current_venv_bin(&self) -> String {
        format!("{}/venv/bin", self.current_link())
    }

    /// `/etc/caddy/raijin/APP.caddy`.
    pub fn caddy_site_path(&self) -> String {
        format!("{CADDY_SITES_DIR}/{}.caddy", self.app)
    }

    /// `/etc/systemd/system`.
    pub fn unit_dir(&self) -> String {
        UNIT_DIR.to_string()
    }

    /// `/etc/systemd/system/NAME`.
    pub fn unit_path(&self, unit_name: &str) -> String {
        format!("{UNIT_DIR}/{unit_name}")
    }
}

/// Checks that a version id is safe as one path component: 1 to 100 characters from
/// `A-Z a-z 0-9 . _ + -`, not starting with `.` (so neither `.`, `..` nor hidden).
pub fn validate_version(version: &str) -> Result<(), String> {
    if version.is_empty() {
        return Err("the version id is empty".to_string());
    }
    if version.len() > MAX_VERSION_LEN {
        return Err(format!(
            "the version id `{}…` is {} characters long; at most {MAX_VERSION_LEN} are allowed",
            truncate(version, 20),
            version.len()
        ));
    }
    if version.starts_with('.') {
        return Err(format!(
            "invalid version id `{version}`: it must not start with `.`"
        ));
    }
    if let Some(c) = version
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-')))
    {
        return Err(format!(
            "invalid version id `{}`: {} is not allowed (use letters, digits, `.`, `_`, `+` and `-`)",
            version.escape_debug(),
            describe_char(c)
        ));
    }
    Ok(())
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

fn describe_char(c: char) -> String {
    match c {
        '/' => "`/`".to_string(),
        c if c.is_whitespace() || c.is_control() => format!("{:?}", c),
        c => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let l = Layout::new("hello");
        assert_eq!(l.app(), "hello");
        assert_eq!(l.root(), "/opt/raijin");
        assert_eq!(l.app_dir(), "/opt/raijin/hello");
        assert_eq!(l.install_dir(), "/opt/raijin/hello/.install");
        assert_eq!(l.store_dir(), "/opt/raijin/hello/.install/store");
        assert_eq!(l.releases_dir(), "/opt/raijin/hello/.install/releases");
        assert_eq!(
            l.release_dir("v1.2.3"),
            "/opt/raijin/hello/.install/releases/v1.2.3"
        );
        assert_eq!(l.current_link(), "/opt/raijin/hello/.install/current");
        assert_eq!(
            l.current_link_staging(),
            "/opt/raijin/hello/.install/current.new"
        );
        assert_eq!(l.env_file(), "/opt/raijin/hello/.install/env");
        assert_eq!(
            l.secrets_env_file(),
            "/opt/raijin/hello/.install/secrets.env"
        );
        assert_eq!(l.lock_dir(), "/opt/raijin/hello/.install/lock");
        assert_eq!(l.audit_log(), "/opt/raijin/hello/.install/audit.log");
        assert_eq!(
            l.units_dir_in_release("v1"),
            "/opt/raijin/hello/.install/releases/v1/units"
        );
        assert_eq!(
            l.site_dir_in_release("v1"),
            "/opt/raijin/hello/.install/releases/v1/site"
        );
        assert_eq!(
            l.current_site_dir(),
            "/opt/raijin/hello/.install/current/site"
        );
        assert_eq!(
            l.venv_dir_in_release("v1"),
            "/opt/raijin/hello/.install/releases/v1/venv"
        );
        assert_eq!(
            l.current_venv_bin(),
            "/opt/raijin/hello/.install/current/venv/bin"
        );
        assert_eq!(l.caddy_site_path(), "/etc/caddy/raijin/hello.caddy");
        assert_eq!(l.unit_dir(), "/etc/systemd/system");
        assert_eq!(
            l.unit_path("hello-web.service"),
            "/etc/systemd/system/hello-web.service"
        );
    }

    #[test]
    fn good_versions() {
        for v in [
            "1",
            "v1.2.3",
            "v1.2.3-4-gdeadbee",
            "2024.06",
            "1.0.0+build.5",
            "a_b",
            "deadbeefcafe",
            "a..b",
            &"x".repeat(MAX_VERSION_LEN),
        ] {
            assert_eq!(validate_version(v), Ok(()), "{v}");
        }
    }

    #[test]
    fn bad_versions() {
        for v in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            "../etc",
            "a b",
            "a\nb",
            "v1:2",
            "v1*",
            "é",
            "$(reboot)",
            &"x".repeat(MAX_VERSION_LEN + 1),
        ] {
            assert!(validate_version(v).is_err(), "{v:?}");
        }
        assert_eq!(
            validate_version("a/b"),
            Err("invalid version id `a/b`: `/` is not allowed (use letters, digits, `.`, `_`, `+` and `-`)".to_string())
        );
        assert_eq!(
            validate_version("..").unwrap_err(),
            "invalid version id `..`: it must not start with `.`"
        );
        assert_eq!(
            validate_version("a\nb").unwrap_err(),
            "invalid version id `a\\nb`: '\\n' is not allowed (use letters, digits, `.`, `_`, `+` and `-`)"
        );
        assert!(
            validate_version(&"x".repeat(101))
                .unwrap_err()
                .contains("101 characters long")
        );
    }
}
