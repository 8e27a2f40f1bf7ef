//! Planning a deploy: which hosts, which version id, who is deploying, and
//! the app's environment file.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::config::{AppConfig, VersionSource};
use crate::engine::Engine;
use crate::remote::layout::validate_version;
use crate::secrets::Secret;

/// Commits listed at most in a [`Preview`].
pub const MAX_COMMITS: usize = 50;

/// What a deploy of an app would ship, for a confirmation: the version id and the
/// commits since the version the hosts run now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preview {
    pub version: String,
    /// `git log --oneline CURRENT..HEAD` (at most [`MAX_COMMITS`]), when git knows
    /// the current version; empty otherwise.
    pub commits: Vec<String>,
    /// Why the app's version source gave no version (`version` is then empty): the
    /// face asks for one and deploys with it as `--version` does.
    pub unresolved: Option<String>,
}

/// The version a deploy of `app` would get and, when the hosts run another one
/// (`current`, the first host's counts), the commits since it (best effort). When
/// the version source gives none (no git tags, a failing command) the preview says
/// why instead of failing, so a version can be given.
pub fn preview(engine: &Engine, app: &str, current: &[String]) -> anyhow::Result<Preview> {
    let app = engine.app(app)?;
    let dir = engine.config.project_dir();
    let version = match version(app, &dir, None) {
        Ok(v) => v,
        Err(e) => {
            return Ok(Preview {
                unresolved: Some(format!("{e:#}")),
                ..Preview::default()
            });
        }
    };
    let commits = match current.first().filter(|c| *c != &version.id) {
        Some(cur) => commits_since(&dir, cur),
        None => Vec::new(),
    };
    Ok(Preview {
        version: version.id,
        commits,
        unresolved: None,
    })
}

/// Whether `id` can name a release, as `--version` is checked: why not, if not.
pub fn check_version(id: &str) -> Result<(), String> {
    validate_version(id).map_err(|e| format!("version `{id}`: {e}"))
}

/// One line per commit from `version` to HEAD, newest first; empty when git does
/// not know `version`.
fn commits_since(dir: &Path, version: &str) -> Vec<String> {
    // `v1.2-3-gabc123-dirty` → the part git describe would accept without `-dirty`.
    let base = version.trim_end_matches("-dirty");
    let range = format!("{base}..HEAD");
    match git(dir, &["log", "--oneline", "--no-decorate", &range]) {
        Ok(out) => out.lines().take(MAX_COMMITS).map(String::from).collect(),
        Err(_) => Vec::new(),
    }
}

/// The version id and the commit it came from (when known).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub id: String,
    pub commit: Option<String>,
}

/// Resolve the version: `--version`, else the app's version source.
pub fn version(
    app: &AppConfig,
    project_dir: &Path,
    explicit: Option<&str>,
) -> anyhow::Result<Version> {
    let commit = git(project_dir, &["rev-parse", "--short=12", "HEAD"]).ok();
    let id = match (explicit, &app.version_source) {
        (Some(v), _) => v.to_string(),
        (None, VersionSource::Fixed(v)) => v.clone(),
        (None, VersionSource::Command(cmd)) => {
            let out = Command::new("sh")
                .args(["-c", cmd])
                .current_dir(project_dir)
                .output()
                .with_context(|| format!("running the version command `{cmd}`"))?;
            if !out.status.success() {
                bail!(
                    "the version command `{cmd}` failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        }
        (None, VersionSource::Git) => git(project_dir, &["describe", "--always", "--dirty", "--tags"])
            .with_context(|| {
                format!(
                    "cannot derive a version from git in {} (set `version` for app {} or pass --version)",
                    project_dir.display(),
                    app.name
                )
            })?,
    };
    validate_version(&id).map_err(|e| anyhow::anyhow!("version `{id}`: {e}"))?;
    Ok(Version { id, commit })
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .context("running git")?;
    if !out.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// This machine's name.
pub fn machine_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// `user@machine`, for locks, audit lines and history.
pub fn deployer() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            Command::new("id")
                .arg("-un")
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .filter(|u| !u.is_empty())
        })
        .unwrap_or_else(|| "unknown".into());
    format!("{user}@{}", machine_name())
}

/// Every value of the app's environment resolved as the plan step resolves it, each
/// with its source and its value or error (what `raijin secrets check` shows).
pub async fn check_secrets(
    engine: &Engine,
    app: &str,
) -> anyhow::Result<(String, Vec<crate::secrets::Resolution>)> {
    let app = engine.app(app)?;
    let vars = env_vars(app)?;
    let resolutions = crate::secrets::resolve_each(&vars, &engine.config.secrets).await;
    Ok((app.name.clone(), resolutions))
}

/// The app's environment before secrets are resolved, in file order: `env_file`
/// lines, then `[apps.X.env]`. Values are verbatim (plain text or references).
pub fn env_vars(app: &AppConfig) -> anyhow::Result<Vec<(String, String)>> {
    let mut vars: Vec<(String, String)> = Vec::new();
    if let Some(path) = &app.env_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("app {}: reading env_file {}", app.name, path.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let Some((k, v)) = line.split_once('=') else {
                bail!("{}:{}: expected KEY=value", path.display(), n + 1);
            };
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
                .unwrap_or(v);
            vars.push((k.trim().to_string(), v.to_string()));
        }
    }
    for (k, v) in &app.env {
        vars.push((k.clone(), v.clone()));
    }
    Ok(vars)
}

/// The app's environment file contents (systemd EnvironmentFile syntax) from
/// resolved values (see `secrets::resolve_all`), then RAIJIN_APP / RAIJIN_VERSION.
pub fn env_file(app: &AppConfig, version: &str, vars: &[(String, Secret)]) -> String {
    let mut out = String::new();
    for (k, v) in vars {
        out.push_str(&format!("{k}={}\n", env_quote(v.expose())));
    }
    out.push_str(&format!("RAIJIN_APP={}\n", env_quote(&app.name)));
    out.push_str(&format!("RAIJIN_VERSION={}\n", env_quote(version)));
    out
}

/// Double-quote a value for a systemd EnvironmentFile, so it arrives byte for byte:
/// inside double quotes systemd keeps line breaks and every other character as they
/// are, and takes `\"`, `\\`, `\$` and `` \` `` as the character itself (NUL cannot be
/// passed and is dropped).
pub fn env_quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' | '\\' | '$' | '`' => {
                s.push('\\');
                s.push(c);
            }
            '\0' => {}
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_quoted_for_systemd() {
        assert_eq!(env_quote("plain"), "\"plain\"");
        assert_eq!(env_quote("a\"b$c\\d"), "\"a\\\"b\\$c\\\\d\"");
        // Line breaks stay literal inside the quotes: systemd keeps them.
        assert_eq!(env_quote("l1\nl2\r\n"), "\"l1\nl2\r\n\"");
        assert_eq!(env_quote("a\0b"), "\"ab\"");
    }

    fn engine(version: &str) -> Engine {
        let toml = format!(
            "[hosts.h1]\naddress = \"10.0.0.1\"\n\n[apps.shop]\nhosts = [\"h1\"]\n\
             artifact = \"dist\"\nkind = \"binary\"\nversion = {version}\n\
             [apps.shop.processes.web]\ncommand = \"serve\"\n"
        );
        let path = std::env::temp_dir().join("raijin.toml");
        let config = crate::config::load_str(&toml, &path).expect("config");
        Engine::new(
            config,
            crate::engine::EngineOptions {
                ssh_config: Some("/dev/null".into()),
                accept_new_host_key: false,
                prompter: std::sync::Arc::new(crate::ssh::NoPrompt),
            },
        )
        .expect("engine")
    }

    #[test]
    fn a_preview_without_a_version_says_why_instead_of_failing() {
        let p = preview(&engine("{ command = \"exit 3\" }"), "shop", &[]).expect("a preview");
        assert_eq!(p.version, "");
        let why = p.unresolved.expect("the reason");
        assert!(why.contains("the version command `exit 3` failed"), "{why}");
        let p = preview(&engine("{ fixed = \"v7\" }"), "shop", &[]).expect("a preview");
        assert_eq!((p.version.as_str(), p.unresolved), ("v7", None));
        assert!(preview(&engine("{ fixed = \"v7\" }"), "nosuch", &[]).is_err());
        assert!(check_version("v1.4").is_ok());
        assert!(check_version("").is_err() && check_version("a b/c").is_err());
    }
}
