//! Where an app lives on a host: every remote path raijin reads or writes, built in one
//! place. Paths are POSIX strings for the remote side, never local `Path`s.
//!
//! One rule shapes the layout: **root trusts nothing the app user can write.** The
//! app's services, hooks, exec and shell run as the app user, so everything root acts
//! on during a deploy, rollback, prune or revert lives in a root-owned tree the app can
//! neither write nor rename, and the app's own data in a tree root never acts on:
//!
//! ```text
//! /var/lib/raijin/                 root:root 0755
//!   .caddy.lock                    serializes Caddy changes of every app on the host
//!   APP/                           root:APP 0750 (0755 for static apps: Caddy reads them)
//!     store/SHA256                 verified chunks shared by the releases (0700)
//!     releases/ID/                 one materialized release, root-owned, read-only to
//!       .raijin/                   the app: manifest, chunks, units/, site.caddy,
//!                                  instances, content, env (0640 root:APP), meta.json
//!                                  (written last: a release without it is incomplete), bad
//!     current -> releases/ID       flipped by renaming `current.new` over it
//!     slot-a, slot-b -> releases/ID  the releases the two slots of the web process run
//!     slot                         which slot serves (`a` or `b`)
//!     previous, units              the release before `current`; the units installed
//!     audit.log                    JSON lines, one per deploy or rollback
//!     lock/info, .guard            the deploy lock (owner token) and its flock guard
//!     key                          per-host key of the release content digests (0600)
//!     run/                         the host-side activation: script, progress, outcome
//! /opt/raijin/APP/                 the app's data and working directory (the app user's)
//! /etc/systemd/system/APP-PROC.{service,socket,timer}
//! /etc/caddy/raijin/APP.caddy      imported by /etc/caddy/Caddyfile
//! ```
//!
//! Hosts deployed by earlier versions kept raijin's files in `/opt/raijin/APP/.install`,
//! inside the app's own directory; [`Layout::legacy_install_dir`] names it for the
//! migration that moves them out (see `remote::scripts::migrate`).

/// Parent of every app's data directory.
pub const DATA_ROOT: &str = "/opt/raijin";
/// Parent of every app's state directory (root's, out of the apps' reach).
pub const STATE_ROOT: &str = "/var/lib/raijin";
/// Where unit files are installed.
pub const UNIT_DIR: &str = "/etc/systemd/system";
/// Directory of the per-app Caddy site files.
pub const CADDY_SITES_DIR: &str = "/etc/caddy/raijin";
/// The main Caddyfile that imports the site files.
pub const CADDY_MAIN_CONFIG: &str = "/etc/caddy/Caddyfile";
/// The flock file serializing Caddy changes on a host, across apps.
pub const CADDY_LOCK: &str = "/var/lib/raijin/.caddy.lock";
/// Longest accepted version id.
pub const MAX_VERSION_LEN: usize = 64;
/// Separates a version id from the suffix of a release that carries the same version
/// id with other content (`v1~20261201193845`). Version ids never contain it.
pub const RELEASE_SUFFIX_SEP: char = '~';

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
        DATA_ROOT.to_string()
    }

    /// `/opt/raijin/APP`: the app's data, owned by the app user and writable by its
    /// services. Root never lists, follows, executes or deletes anything in it.
    pub fn app_dir(&self) -> String {
        format!("{DATA_ROOT}/{}", self.app)
    }

    /// `/var/lib/raijin/APP`: everything the deploy acts on, root-owned.
    pub fn state_dir(&self) -> String {
        format!("{STATE_ROOT}/{}", self.app)
    }

    /// `state/store`: content-addressed chunks shared by the releases.
    pub fn store_dir(&self) -> String {
        format!("{}/store", self.state_dir())
    }

    /// `state/releases`.
    pub fn releases_dir(&self) -> String {
        format!("{}/releases", self.state_dir())
    }

    /// `state/releases/ID`. Check `id` with [`validate_release_id`] first.
    pub fn release_dir(&self, id: &str) -> String {
        format!("{}/{id}", self.releases_dir())
    }

    /// `releases/ID/.raijin`: the release's metadata.
    pub fn meta_dir(&self, id: &str) -> String {
        format!("{}/.raijin", self.release_dir(id))
    }

    /// `state/current`: a symlink to `releases/ID`, the release that runs.
    pub fn current_link(&self) -> String {
        format!("{}/current", self.state_dir())
    }

    /// `state/slot-a`, `state/slot-b`: the release each slot of the proxied web process
    /// runs (see `remote::slots`).
    pub fn slot_link(&self, slot: &str) -> String {
        format!("{}/slot-{slot}", self.state_dir())
    }

    /// `state/slot`: the slot whose web process serves the site (`a` or `b`).
    pub fn active_slot_file(&self) -> String {
        format!("{}/slot", self.state_dir())
    }

    /// The transient timer unit that stops a slot's web process once it has drained.
    pub fn drain_unit(&self, slot: &str) -> String {
        format!("raijin.drain-{}-{slot}", self.app)
    }

    /// `current/.raijin/env`: the running release's environment (`KEY=value` lines,
    /// systemd's syntax), read by the units, hooks, exec and the shell. It follows
    /// `current`, so the flip switches code and configuration at once.
    pub fn env_file(&self) -> String {
        format!("{}/.raijin/env", self.current_link())
    }

    /// `state/previous`: the release that was current before the current one.
    pub fn previous_file(&self) -> String {
        format!("{}/previous", self.state_dir())
    }

    /// `state/units`: the unit files installed for the app, one name per line.
    pub fn units_file(&self) -> String {
        format!("{}/units", self.state_dir())
    }

    /// `state/lock`: created with `mkdir` by the deploy that holds the lock.
    pub fn lock_dir(&self) -> String {
        format!("{}/lock", self.state_dir())
    }

    /// `state/.guard`: the flock file that makes taking, breaking and releasing the
    /// lock atomic.
    pub fn lock_guard(&self) -> String {
        format!("{}/.guard", self.state_dir())
    }

    /// `state/audit.log`.
    pub fn audit_log(&self) -> String {
        format!("{}/audit.log", self.state_dir())
    }

    /// `state/key`: the host's key for the keyed digest of release contents.
    pub fn key_file(&self) -> String {
        format!("{}/key", self.state_dir())
    }

    /// `state/run`: the host-side activation's script, progress and outcome.
    pub fn run_dir(&self) -> String {
        format!("{}/run", self.state_dir())
    }

    /// The transient unit that activates a release on the host. App units are named
    /// `APP-PROC` from names without dots, so this name can never be one of them.
    pub fn activation_unit(&self) -> String {
        format!("raijin.activate-{}.service", self.app)
    }

    /// `releases/ID/.raijin/units`: the unit files rendered for a release.
    pub fn units_dir_in_release(&self, id: &str) -> String {
        format!("{}/units", self.meta_dir(id))
    }

    /// `releases/ID/site`: where a static app's files are materialized.
    pub fn site_dir_in_release(&self, id: &str) -> String {
        format!("{}/site", self.release_dir(id))
    }

    /// `current/site`: what Caddy serves for a static app.
    pub fn current_site_dir(&self) -> String {
        format!("{}/site", self.current_link())
    }

    /// `releases/ID/venv`: a python app's virtualenv.
    pub fn venv_dir_in_release(&self, id: &str) -> String {
        format!("{}/venv", self.release_dir(id))
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

    /// `/opt/raijin/APP/.install`: where earlier versions kept raijin's files, inside
    /// the app's directory. Only the migration touches it, and only by renaming it out
    /// of the app's reach before looking inside.
    pub fn legacy_install_dir(&self) -> String {
        format!("{}/.install", self.app_dir())
    }
}

/// Why a version or release id cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the version id is empty")]
    Empty,
    #[error(
        "the version id `{start}…` is {len} characters long; at most {MAX_VERSION_LEN} are allowed"
    )]
    TooLong { start: String, len: usize },
    #[error(
        "invalid version id `{shown}`: {what} is not allowed (use letters, digits, `.`, `_`, `+` and `-`)"
    )]
    Character { shown: String, what: String },
    #[error("invalid version id `{0}`: it must start with a letter or a digit")]
    Start(String),
    #[error("invalid release id `{0}`")]
    Release(String),
}

/// Checks a version id: 1 to 64 characters from `A-Z a-z 0-9 . _ + -`, starting with
/// a letter or a digit (so never an option to a host-side command, never `.`, `..` or
/// hidden, never `~`, which marks a release suffix).
pub fn validate_version(version: &str) -> Result<(), NameError> {
    if version.is_empty() {
        return Err(NameError::Empty);
    }
    if version.len() > MAX_VERSION_LEN {
        return Err(NameError::TooLong {
            start: truncate(version, 20),
            len: version.len(),
        });
    }
    if let Some(c) = version
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-')))
    {
        return Err(NameError::Character {
            shown: version.escape_debug().to_string(),
            what: describe_char(c),
        });
    }
    if !version.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(NameError::Start(version.to_string()));
    }
    Ok(())
}

/// Checks a release id as found on a host: a version id, optionally followed by
/// `~` and 1 to 20 digits (a release that carries that version id with other content).
pub fn validate_release_id(id: &str) -> Result<(), NameError> {
    match id.split_once(RELEASE_SUFFIX_SEP) {
        None => validate_version(id),
        Some((v, suffix)) => {
            validate_version(v)?;
            if suffix.is_empty() || suffix.len() > 20 || !suffix.chars().all(|c| c.is_ascii_digit())
            {
                return Err(NameError::Release(id.escape_debug().to_string()));
            }
            Ok(())
        }
    }
}

/// The version id a release carries: the release id without its `~` suffix.
pub fn release_version(id: &str) -> &str {
    id.split_once(RELEASE_SUFFIX_SEP).map_or(id, |(v, _)| v)
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
        assert_eq!(l.state_dir(), "/var/lib/raijin/hello");
        assert_eq!(l.store_dir(), "/var/lib/raijin/hello/store");
        assert_eq!(l.releases_dir(), "/var/lib/raijin/hello/releases");
        assert_eq!(
            l.release_dir("v1.2.3"),
            "/var/lib/raijin/hello/releases/v1.2.3"
        );
        assert_eq!(
            l.meta_dir("v1"),
            "/var/lib/raijin/hello/releases/v1/.raijin"
        );
        assert_eq!(l.current_link(), "/var/lib/raijin/hello/current");
        assert_eq!(l.env_file(), "/var/lib/raijin/hello/current/.raijin/env");
        assert_eq!(l.previous_file(), "/var/lib/raijin/hello/previous");
        assert_eq!(l.units_file(), "/var/lib/raijin/hello/units");
        assert_eq!(l.lock_dir(), "/var/lib/raijin/hello/lock");
        assert_eq!(l.lock_guard(), "/var/lib/raijin/hello/.guard");
        assert_eq!(l.audit_log(), "/var/lib/raijin/hello/audit.log");
        assert_eq!(l.key_file(), "/var/lib/raijin/hello/key");
        assert_eq!(l.run_dir(), "/var/lib/raijin/hello/run");
        assert_eq!(l.activation_unit(), "raijin.activate-hello.service");
        assert_eq!(
            l.units_dir_in_release("v1"),
            "/var/lib/raijin/hello/releases/v1/.raijin/units"
        );
        assert_eq!(
            l.site_dir_in_release("v1"),
            "/var/lib/raijin/hello/releases/v1/site"
        );
        assert_eq!(l.current_site_dir(), "/var/lib/raijin/hello/current/site");
        assert_eq!(
            l.venv_dir_in_release("v1"),
            "/var/lib/raijin/hello/releases/v1/venv"
        );
        assert_eq!(
            l.current_venv_bin(),
            "/var/lib/raijin/hello/current/venv/bin"
        );
        assert_eq!(l.caddy_site_path(), "/etc/caddy/raijin/hello.caddy");
        assert_eq!(l.unit_dir(), "/etc/systemd/system");
        assert_eq!(
            l.unit_path("hello-web.service"),
            "/etc/systemd/system/hello-web.service"
        );
        assert_eq!(l.legacy_install_dir(), "/opt/raijin/hello/.install");
    }

    #[test]
    fn nothing_root_acts_on_is_inside_the_app_dir() {
        let l = Layout::new("hello");
        let app_dir = format!("{}/", l.app_dir());
        for p in [
            l.state_dir(),
            l.store_dir(),
            l.releases_dir(),
            l.release_dir("v1"),
            l.current_link(),
            l.env_file(),
            l.previous_file(),
            l.units_file(),
            l.lock_dir(),
            l.lock_guard(),
            l.audit_log(),
            l.key_file(),
            l.run_dir(),
        ] {
            assert!(!p.starts_with(&app_dir), "{p}");
        }
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
            "0-rc1",
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
            "-rc1",
            "--help",
            "+1",
            "_x",
            "a/b",
            "../etc",
            "a b",
            "a\nb",
            "v1:2",
            "v1*",
            "v1~2",
            "é",
            "$(reboot)",
            &"x".repeat(MAX_VERSION_LEN + 1),
        ] {
            assert!(validate_version(v).is_err(), "{v:?}");
        }
        assert_eq!(
            validate_version("a/b").map_err(|e| e.to_string()),
            Err("invalid version id `a/b`: `/` is not allowed (use letters, digits, `.`, `_`, `+` and `-`)".to_string())
        );
        assert_eq!(
            validate_version("-rc1").unwrap_err().to_string(),
            "invalid version id `-rc1`: it must start with a letter or a digit"
        );
        assert_eq!(
            validate_version("a\nb").unwrap_err().to_string(),
            "invalid version id `a\\nb`: '\\n' is not allowed (use letters, digits, `.`, `_`, `+` and `-`)"
        );
        assert!(
            validate_version(&"x".repeat(65))
                .unwrap_err()
                .to_string()
                .contains("65 characters long")
        );
    }

    #[test]
    fn release_ids() {
        for id in ["v1", "v1~20261201193845", "1.0+b~1"] {
            assert_eq!(validate_release_id(id), Ok(()), "{id}");
        }
        for id in ["v1~", "v1~x", "~1", "-v~1", "v1~1~2", "v1/~1"] {
            assert!(validate_release_id(id).is_err(), "{id}");
        }
        assert_eq!(release_version("v1~20261201193845"), "v1");
        assert_eq!(release_version("v1"), "v1");
    }
}
