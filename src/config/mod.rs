//! Loading and validating `raijin.toml`: the typed configuration the engine works from,
//! and, when the file is wrong, every problem in it with file, line, column, key path and
//! a hint. The schema (`schema`) is described once and drives unknown-key, type and
//! required-key checks; `build` adds the rules that span several keys, including
//! `[ui.keymap]` against the console's actions (`crate::keys`); `theme` finds and
//! checks the theme file `[ui] theme` names; `init` writes a first file for a project.

mod apps;
mod build;
mod check;
mod diagnostics;
mod hosts;
pub mod init;
mod model;
mod processes;
mod read;
mod rules;
mod schema;
mod secret_ref;
pub mod theme;
mod tree;
mod ui;

use std::path::{Path, PathBuf};

pub use diagnostics::{ConfigErrors, Diagnostic, Report, Severity};
pub use model::*;
pub use secret_ref::{SecretRef, SecretRefError, is_env_name};

/// The file name looked for in the current directory.
pub const DEFAULT_FILE_NAME: &str = "raijin.toml";

/// `./raijin.toml`.
pub fn default_path() -> PathBuf {
    PathBuf::from(DEFAULT_FILE_NAME)
}

/// Reads and validates the file at `path`. On failure the error lists every problem.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_str(&read(path)?, path)
}

/// `load` (or `load_with_theme` when `with_theme`), with the environment file of
/// `environment` laid over it: `raijin.NAME.toml` beside `raijin.toml` (`X.NAME.toml`
/// beside `X.toml`). Its tables merge key by key into the base file's, its other values
/// replace them; errors name the file that set the key.
pub fn load_environment(
    path: &Path,
    environment: Option<&str>,
    with_theme: bool,
) -> Result<Config, ConfigErrors> {
    let Some(name) = environment else {
        return if with_theme {
            load_with_theme(path)
        } else {
            load(path)
        };
    };
    let text = read(path)?;
    let layer = environment_path(path, name).map_err(|message| ConfigErrors {
        file: path.to_path_buf(),
        diagnostics: vec![Diagnostic {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            key_path: String::new(),
            message,
            hint: Some("an environment name has letters, digits, `-` and `_`".to_string()),
            severity: Severity::Error,
        }],
    })?;
    let layer_text = read(&layer).map_err(|mut e| {
        for d in &mut e.diagnostics {
            d.hint = Some(format!(
                "`--env {name}` reads {}: create it with the keys that differ in {name}",
                layer.display()
            ));
        }
        e
    })?;
    let dirs = with_theme.then(|| theme::search_dirs(&project_dir(path)));
    let mut config = load_with_layer(&text, path, Some((&layer, &layer_text)), home(), dirs)?;
    config.environment = Some(name.to_string());
    Ok(config)
}

/// `raijin.NAME.toml` for `raijin.toml`.
pub fn environment_path(path: &Path, name: &str) -> Result<PathBuf, String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!("`{name}` is not an environment name"));
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "raijin".to_string());
    Ok(path.with_file_name(format!("{stem}.{name}.toml")))
}

fn read(path: &Path) -> Result<String, ConfigErrors> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(err) => {
            let hint = (err.kind() == std::io::ErrorKind::NotFound).then(|| {
                "create it (config.example.toml documents every key) or pass --config PATH"
                    .to_string()
            });
            Err(ConfigErrors {
                file: path.to_path_buf(),
                diagnostics: vec![Diagnostic {
                    file: path.to_path_buf(),
                    line: 0,
                    column: 0,
                    key_path: String::new(),
                    message: format!("cannot read the file: {err}"),
                    hint,
                    severity: Severity::Error,
                }],
            })
        }
    }
}

/// `load`, and also the theme `[ui] theme` names: built in, or a valid theme file in
/// the user's or the project's `themes/` (see `theme::search_dirs`). The console and
/// `raijin config check` use it; other commands never read a theme, so a theme file
/// that only one machine has does not stop them elsewhere.
pub fn load_with_theme(path: &Path) -> Result<Config, ConfigErrors> {
    let text = read(path)?;
    let dirs = theme::search_dirs(&project_dir(path));
    load_with(&text, path, home(), Some(dirs))
}

/// Validates `text` as the contents of the file at `path` (used for messages and to
/// resolve relative paths; it is not read).
pub fn load_str(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    load_with(text, path, home(), None)
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// The directory of the file at `path`, which relative paths in it start from.
fn project_dir(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

impl Config {
    /// The project's directory (that of `raijin.toml`): where build commands run,
    /// git is asked for versions and `themes/` is looked for. `.` for a bare file name.
    pub fn project_dir(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }
}

#[cfg(test)]
fn load_with_home(text: &str, path: &Path, home: Option<PathBuf>) -> Result<Config, ConfigErrors> {
    load_with(text, path, home, None)
}

fn load_with(
    text: &str,
    path: &Path,
    home: Option<PathBuf>,
    theme_dirs: Option<Vec<PathBuf>>,
) -> Result<Config, ConfigErrors> {
    load_with_layer(text, path, None, home, theme_dirs)
}

fn load_with_layer(
    text: &str,
    path: &Path,
    layer: Option<(&Path, &str)>,
    home: Option<PathBuf>,
    theme_dirs: Option<Vec<PathBuf>>,
) -> Result<Config, ConfigErrors> {
    // With an environment file both texts are one, the second after the first's end,
    // so every position says which file it is in. The second is parsed with as many
    // newlines before it as the first has bytes, so its positions are already there.
    let combined;
    let mut cx = match layer {
        None => tree::Cx::new(path, text),
        Some((layer_path, layer_text)) => {
            combined = format!("{text}\n{layer_text}");
            tree::Cx::layered(path, layer_path, &combined, text.len() + 1)
        }
    };
    let parsed = toml_edit::Document::parse(text).and_then(|doc| {
        let mut table = doc.as_table().clone();
        if let Some((_, layer_text)) = layer {
            let padded = format!("{}{layer_text}", "\n".repeat(text.len() + 1));
            let top = toml_edit::Document::parse(padded)?;
            tree::overlay(&mut table, top.as_table());
        }
        Ok(table)
    });
    let config = match parsed {
        Err(err) => {
            syntax_error(&mut cx, &err);
            None
        }
        Ok(table) => {
            let root = tree::TableRef::root(&table);
            check::check_table(&mut cx, &root, &schema::ROOT);
            let env = read::Env {
                base_dir: project_dir(path),
                home,
                theme_dirs,
            };
            Some(build::build(&mut cx, &root, &env))
        }
    };
    let mut diagnostics = std::mem::take(&mut cx.diagnostics);
    // The file's own problems in file order, then the environment file's, then those
    // of the theme file it names.
    let rank = |d: &Diagnostic| match layer {
        _ if d.file == path => 0,
        Some((l, _)) if d.file == l => 1,
        _ => 2,
    };
    diagnostics.sort_by_key(|d| (rank(d), d.line, d.column));
    match config {
        Some(mut config) if !diagnostics.iter().any(Diagnostic::is_error) => {
            config.warnings = diagnostics;
            Ok(config)
        }
        _ => Err(ConfigErrors {
            file: path.to_path_buf(),
            diagnostics,
        }),
    }
}

fn syntax_error(cx: &mut tree::Cx<'_>, err: &toml_edit::TomlError) {
    let span = err.span();
    let at = span.as_ref().map_or(cx.text.len(), |s| s.start);
    let mut message = err.message().trim().to_string();
    if message == "duplicate key"
        && let Some(key) = span.and_then(|s| cx.text.get(s)).filter(|k| !k.is_empty())
    {
        message = format!("duplicate key `{key}`");
    }
    cx.error(at, "", format!("invalid TOML: {message}"), None);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_at(text: &str, path: &str) -> Result<Config, ConfigErrors> {
        load_with_home(text, Path::new(path), Some(PathBuf::from("/home/ada")))
    }

    fn errors(text: &str) -> Vec<String> {
        match load_at(text, "raijin.toml") {
            Ok(_) => Vec::new(),
            Err(e) => e.diagnostics.iter().map(ToString::to_string).collect(),
        }
    }

    const MINIMAL: &str = r#"
[hosts.web1]

[apps.hello]
hosts = ["web1"]
artifact = "target/release/hello"
kind = "binary"

[apps.hello.processes.web]
command = "./hello serve --release {release}"
"#;

    #[test]
    fn defaults_are_applied() {
        let config = load_at(MINIMAL, "raijin.toml").unwrap();
        assert_eq!(config.path, Path::new("raijin.toml"));
        assert_eq!(config.ssh, SshSettings::default());
        assert_eq!(config.ssh.connect_timeout_secs, 10);
        assert_eq!(config.ssh.keepalive_interval_secs, 3);
        assert_eq!(config.ssh.keepalive_max, 3);
        assert_eq!(config.secrets, SecretsConfig::default());
        assert_eq!(config.secrets.timeout_secs, 10);
        assert_eq!(config.ui.theme, "dark");
        let host = &config.hosts["web1"];
        assert_eq!(host.name, "web1");
        assert_eq!(host.address, None);
        let app = &config.apps["hello"];
        assert_eq!(app.kind, AppKind::Binary);
        assert_eq!(app.version_source, VersionSource::Git);
        assert_eq!(app.versions_to_keep, 5);
        assert_eq!(app.user, "hello");
        assert_eq!(app.proxy, None);
        assert_eq!(app.hooks, HooksConfig::default());
        let web = &app.processes["web"];
        assert_eq!(web.command, "./hello serve --release {release}");
        assert_eq!(web.replicas, 1);
        assert!(config.warnings.is_empty());
        assert_eq!(config.ok_line(), "ok: raijin.toml (1 host, 1 app)");
    }

    #[test]
    fn an_empty_file_is_a_valid_empty_config() {
        let config = load_at("", "raijin.toml").unwrap();
        assert!(config.hosts.is_empty() && config.apps.is_empty());
        assert_eq!(config.ok_line(), "ok: raijin.toml (0 hosts, 0 apps)");
    }

    #[test]
    fn paths_resolve_against_the_config_directory_and_home() {
        let text = r#"
[ssh]
config_file = "ssh/config"

[hosts.web1]
identity_file = "~/.ssh/deploy"
known_hosts = "/etc/raijin/known_hosts"

[apps.hello]
hosts = ["web1"]
artifact = "target/release/hello"
kind = "binary"
env_file = "../shared/hello.env"

[apps.hello.processes.web]
command = "./hello"
"#;
        let config = load_at(text, "deploy/raijin.toml").unwrap();
        assert_eq!(
            config.ssh.config_file.as_deref(),
            Some(Path::new("deploy/ssh/config"))
        );
        let host = &config.hosts["web1"];
        assert_eq!(
            host.identity_file.as_deref(),
            Some(Path::new("/home/ada/.ssh/deploy"))
        );
        assert_eq!(
            host.known_hosts.as_deref(),
            Some(Path::new("/etc/raijin/known_hosts"))
        );
        let app = &config.apps["hello"];
        assert_eq!(app.artifact, Path::new("deploy/target/release/hello"));
        assert_eq!(
            app.env_file.as_deref(),
            Some(Path::new("deploy/../shared/hello.env"))
        );
        // A file in the current directory: paths stay relative to it.
        let config = load_at(text, "raijin.toml").unwrap();
        assert_eq!(
            config.apps["hello"].artifact,
            Path::new("target/release/hello")
        );
    }

    #[test]
    fn tilde_without_home_is_an_error() {
        let text = "[ssh]\nconfig_file = \"~/.ssh/config\"\n";
        let err = load_with_home(text, Path::new("raijin.toml"), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "raijin.toml:2:15: error: cannot expand `~` in `~/.ssh/config`: HOME is not set (ssh.config_file)\n  \
             hint: write the full path\n\
             raijin.toml: 1 error"
        );
    }

    #[test]
    fn every_kind_of_table_is_checked_and_located() {
        let text = "[hosts]\nweb1 = { adress = \"a\" }\nweb2.prot = 22\n\n[apps.x.processes.web]\ncommand = \"c\"\nbogus = 1\n";
        assert_eq!(
            errors(text),
            [
                "raijin.toml:2:10: error: unknown key `adress` (hosts.web1.adress)\n  hint: did you mean `address`?",
                "raijin.toml:3:6: error: unknown key `prot` (hosts.web2.prot)\n  hint: did you mean `port`?",
                // `[apps.x]` has no header of its own: located at its key.
                "raijin.toml:5:7: error: missing required key `hosts` (apps.x.hosts)\n  hint: add `hosts = [\"web1\"]`",
                "raijin.toml:5:7: error: missing required key `artifact` (apps.x.artifact)\n  hint: add `artifact = \"target/release/myapp\"`",
                "raijin.toml:5:7: error: missing required key `kind` (apps.x.kind)\n  hint: add `kind = \"binary\"`",
                "raijin.toml:7:1: error: unknown key `bogus` (apps.x.processes.web.bogus)\n  hint: known keys here: command, socket, timer, replicas",
            ]
        );
    }

    #[test]
    fn a_broken_entry_is_reported_once_not_again_where_it_is_used() {
        let text = MINIMAL
            .replace("[hosts.web1]\n", "[hosts]\nweb1 = \"10.0.0.5\"\n")
            .replace(
                "kind = \"binary\"",
                "kind = \"binary\"\nversion = { comand = \"x\" }",
            );
        assert_eq!(
            errors(&text),
            [
                "raijin.toml:3:8: error: expected a table, found a string (hosts.web1)\n  hint: each entry is a table: write [hosts.web1] and its keys below it",
                "raijin.toml:9:13: error: unknown key `comand` (apps.hello.version.comand)\n  hint: did you mean `command`?",
            ]
        );
    }

    #[test]
    fn arrays_of_tables_are_not_tables() {
        assert_eq!(
            errors("[[hosts]]\naddress = \"a\"\n"),
            [
                "raijin.toml:1:1: error: expected a table, found an array of tables (hosts)\n  hint: write the header with single brackets: [...], not [[...]]"
            ]
        );
    }

    #[test]
    fn range_messages_name_the_bound_that_was_crossed() {
        let text = MINIMAL.replace("command = ", "replicas = 5000000000\ncommand = ");
        assert_eq!(
            errors(&text),
            [
                "raijin.toml:10:12: error: `replicas` must be at most 4294967295, found 5000000000 (apps.hello.processes.web.replicas)"
            ]
        );
    }

    #[test]
    fn a_batch_is_a_number_of_hosts_or_a_share_of_them() {
        let with = |b: &str| {
            MINIMAL.replace(
                "[apps.hello.processes.web]",
                &format!("batch = \"{b}\"\n\n[apps.hello.processes.web]"),
            )
        };
        let config = load_at(&with("25%"), "raijin.toml").unwrap();
        assert_eq!(config.apps["hello"].batch, Some(Batch::Percent(25)));
        let config = load_at(&with("2"), "raijin.toml").unwrap();
        assert_eq!(config.apps["hello"].batch, Some(Batch::Hosts(2)));
        let e = errors(&with("0"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("error: `0` is not a batch size") && e[0].contains("(apps.hello.batch)"),
            "{e:?}"
        );
        assert!(errors(&with("150%"))[0].contains("`150%` is not a batch size"));
    }

    fn layered(base: &str, top: &str) -> Result<Config, ConfigErrors> {
        let mut c = load_with_layer(
            base,
            Path::new("raijin.toml"),
            Some((Path::new("raijin.staging.toml"), top)),
            Some(PathBuf::from("/home/ada")),
            None,
        )?;
        c.environment = Some("staging".into());
        Ok(c)
    }

    #[test]
    fn an_environment_file_merges_tables_and_replaces_values() {
        let top = "[hosts.stage1]\naddress = \"10.0.0.9\"\n\n[apps.hello]\nhosts = [\"stage1\"]\n\n[apps.hello.env]\nGREETING = \"staging\"\n\n[apps.hello.proxy]\ndomain = \"staging.example.com\"\n";
        let base = MINIMAL.replace("[apps.hello.processes.web]", "[apps.hello.env]\nGREETING = \"hi\"\nLEVEL = \"info\"\n\n[apps.hello.proxy]\ndomain = \"example.com\"\nprocess = \"web\"\nport = 8080\n\n[apps.hello.processes.web]");
        let c = layered(&base, top).unwrap_or_else(|e| panic!("{e}"));
        let app = &c.apps["hello"];
        assert_eq!(app.hosts, ["stage1"]);
        assert_eq!(app.env["GREETING"], "staging");
        assert_eq!(
            app.env["LEVEL"], "info",
            "keys the environment leaves alone stay"
        );
        let proxy = app.proxy.as_ref().unwrap();
        assert_eq!(
            (proxy.domain.as_str(), proxy.port),
            ("staging.example.com", Some(8080))
        );
        assert!(c.hosts.contains_key("stage1") && c.hosts.len() >= 2);
        assert!(
            c.ok_line().contains("with environment staging"),
            "{}",
            c.ok_line()
        );
    }

    #[test]
    fn errors_name_the_file_that_set_the_key() {
        let top = "[apps.hello]\nhosts = [\"nowhere\"]\nversions_to_kept = 3\n";
        let base = MINIMAL.replace("command = ", "replicas = 0\ncommand = ");
        let e = layered(&base, top).unwrap_err();
        let lines: Vec<String> = e.diagnostics.iter().map(ToString::to_string).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("raijin.toml:") && l.contains("replicas")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("raijin.staging.toml:2:10: ") && l.contains("nowhere")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("raijin.staging.toml:3:1: ")
                    && l.contains("versions_to_kept")),
            "{lines:?}"
        );
        // A syntax error in the environment file is placed there.
        let e = layered(MINIMAL, "[apps.hello\n").unwrap_err();
        assert!(e.to_string().starts_with("raijin.staging.toml:1:"), "{e}");
    }

    #[test]
    fn environment_files_sit_beside_the_config() {
        assert_eq!(
            environment_path(Path::new("deploy/raijin.toml"), "prod").unwrap(),
            Path::new("deploy/raijin.prod.toml")
        );
        assert_eq!(
            environment_path(Path::new("ops.toml"), "qa-2").unwrap(),
            Path::new("ops.qa-2.toml")
        );
        assert!(environment_path(Path::new("raijin.toml"), "../x").is_err());
    }

    #[test]
    fn a_syntax_error_is_the_only_error() {
        let err = load_at("[hosts.web1]\nport = 22\nport = 23\nbogus = 1\n", "r.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "r.toml:3:1: error: invalid TOML: duplicate key `port`\nr.toml: 1 error"
        );
    }

    #[test]
    fn a_missing_file_is_reported_without_position() {
        let err = load(Path::new("no/such/raijin.toml")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("no/such/raijin.toml: error: cannot read the file: "),
            "{text}"
        );
        assert!(text.contains("hint: create it"), "{text}");
        assert!(text.ends_with("no/such/raijin.toml: 1 error"), "{text}");
    }

    #[test]
    fn warnings_do_not_fail_loading() {
        let text = format!("{MINIMAL}versions_to_keep = 51\n").replace(
            "[apps.hello.processes.web]\ncommand = \"./hello serve --release {release}\"\n",
            "",
        ) + "\n[apps.hello.processes.web]\ncommand = \"x\"\n";
        let config = load_at(&text, "raijin.toml").unwrap();
        assert_eq!(config.apps["hello"].versions_to_keep, 51);
        assert_eq!(config.warnings.len(), 1);
        let report = config.warnings_report().map(|r| r.to_string());
        assert!(
            report.is_some_and(|r| r.ends_with("raijin.toml: 1 warning")),
            "{:?}",
            config.warnings
        );
    }

    #[test]
    fn version_sources() {
        let with = |version: &str| {
            let text = MINIMAL.replace(
                "kind = \"binary\"",
                &format!("kind = \"binary\"\nversion = {version}"),
            );
            load_at(&text, "raijin.toml").map(|c| c.apps["hello"].version_source.clone())
        };
        assert_eq!(with("\"git\""), Ok(VersionSource::Git));
        assert_eq!(
            with("{ command = \"./v.sh\" }"),
            Ok(VersionSource::Command("./v.sh".into()))
        );
        assert_eq!(
            with("{ fixed = \"1.2.3\" }"),
            Ok(VersionSource::Fixed("1.2.3".into()))
        );
        assert!(with("{}").is_err());
        assert!(with("\"1.2.3\"").is_err());
        assert!(with("{ fixed = \"1\", command = \"x\" }").is_err());
    }

    #[test]
    fn keymap_values_become_lists() {
        let text = "[ui]\ntheme = \"light\"\n[ui.keymap]\nquit = \"q\"\nup = [\"k\", \"up\"]\n";
        let config = load_at(text, "raijin.toml").unwrap();
        assert_eq!(config.ui.theme, "light");
        assert_eq!(config.ui.keymap["quit"], ["q"]);
        assert_eq!(config.ui.keymap["up"], ["k", "up"]);
    }

    #[test]
    fn unit_name_clashes_are_reported_at_the_later_process() {
        // App `a-b` comes first, but its process `c` is written after app `a`'s `b-c`.
        let text = "[hosts.h]\n\
            [apps.a-b]\nhosts = [\"h\"]\nartifact = \"x\"\nkind = \"binary\"\n\
            [apps.a]\nhosts = [\"h\"]\nartifact = \"x\"\nkind = \"binary\"\n\
            [apps.a.processes.b-c]\ncommand = \"x\"\n\
            [apps.a-b.processes.c]\ncommand = \"x\"\n";
        assert_eq!(
            errors(text),
            [
                "raijin.toml:12:21: error: unit name `a-b-c` is already taken by process `b-c` of app `a` (apps.a-b.processes.c)\n  \
                 hint: units are named APP-PROCESS, so `a` + `b-c` and `a-b` + `c` collide; rename one of these apps or processes"
            ]
        );
        assert_eq!(unit_stem("a-b", "c"), unit_stem("a", "b-c"));
    }

    #[test]
    fn only_load_with_theme_looks_for_the_theme() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raijin.toml");
        std::fs::write(&path, "[ui]\ntheme = \"nope\"\n").unwrap();
        assert!(load(&path).is_ok());
        let err = load_with_theme(&path).unwrap_err().to_string();
        assert!(
            err.contains("raijin.toml:2:9: error: unknown theme `nope` (ui.theme)"),
            "{err}"
        );
        std::fs::create_dir(dir.path().join("themes")).unwrap();
        std::fs::write(dir.path().join("themes/nope.toml"), "ok = \"red\"\n").unwrap();
        assert!(load_with_theme(&path).is_ok());
    }

    #[test]
    fn jump_hosts_may_be_hosts_or_specs() {
        let text = "[hosts.bastion]\naddress = \"b.example.com\"\n[hosts.a]\nproxy_jump = \"bastion\"\n[hosts.b]\nproxy_jump = \"ops@jump.example.com:2222\"\n[hosts.c]\nproxy_jump = \"gateway\"\n";
        let config = load_at(text, "raijin.toml").unwrap();
        assert_eq!(config.hosts["a"].proxy_jump.as_deref(), Some("bastion"));
        assert_eq!(config.hosts["c"].proxy_jump.as_deref(), Some("gateway"));
        let looped = "[hosts.z]\nproxy_jump = \"y\"\n[hosts.y]\nproxy_jump = \"x\"\n[hosts.x]\nproxy_jump = \"y\"\n";
        assert_eq!(
            errors(looped),
            [
                "raijin.toml:4:14: error: proxy_jump loop: y -> x -> y (hosts.y.proxy_jump)\n  hint: one of these hosts must be reachable without a jump"
            ]
        );
        assert_eq!(
            errors("[hosts.a]\nproxy_jump = \"a\"\n"),
            ["raijin.toml:2:14: error: host `a` cannot jump through itself (hosts.a.proxy_jump)"]
        );
    }
}
