//! `raijin.toml` validation end to end: every broken file in `tests/fixtures/config/`
//! must produce exactly the report in its sibling `.expected` file, and
//! `config.example.toml` must load cleanly. Run with `UPDATE_EXPECT=1` to rewrite the
//! `.expected` files from the actual output (then review them: they are the spec).

use std::path::{Path, PathBuf};

use raijin::config::{self, AppKind, SecretAdapter, VersionSource};

const FIXTURES: &str = "tests/fixtures/config";

/// What `raijin config check` shows for a file: the error report, or the warnings (if
/// any) followed by the `ok:` line.
fn check_output(path: &Path) -> String {
    match config::load_with_theme(path) {
        Err(errors) => format!("{errors}\n"),
        Ok(config) => {
            let mut out = String::new();
            if let Some(warnings) = config.warnings_report() {
                out.push_str(&format!("{warnings}\n"));
            }
            out.push_str(&config.ok_line());
            out.push('\n');
            out
        }
    }
}

fn fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(FIXTURES)
        .expect("fixture directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        // Relative to the crate root (the tests' working directory), as users pass it.
        .map(|p| Path::new(FIXTURES).join(p.file_name().expect("file name")))
        .collect();
    paths.sort();
    paths
}

#[test]
fn fixtures_match_their_expected_output() {
    let update = std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for fixture in fixtures() {
        let expected_path = fixture.with_extension("expected");
        let actual = check_output(&fixture);
        if update {
            std::fs::write(&expected_path, &actual).expect("write .expected");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run with UPDATE_EXPECT=1 to create it)",
                expected_path.display()
            )
        });
        if actual != expected {
            failures.push(format!(
                "=== {}\n--- expected\n{expected}--- actual\n{actual}",
                fixture.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture(s) differ (UPDATE_EXPECT=1 rewrites them):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_covered_case_has_a_fixture() {
    let names: Vec<String> = fixtures()
        .iter()
        .filter_map(|p| p.file_stem()?.to_str().map(str::to_string))
        .collect();
    for wanted in [
        "syntax_error",
        "unknown_keys",
        "wrong_types",
        "unknown_host",
        "missing_process",
        "invalid_enum",
        "ranges",
        "missing_required",
        "bad_values",
        "warnings",
        "minimal",
        "unit_collision",
        "keymap",
        "theme_file",
        "theme_unknown",
        "theme_partial",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "missing fixture {wanted}"
        );
    }
}

#[test]
fn broken_fixtures_fail_and_clean_ones_load() {
    for fixture in fixtures() {
        let name = fixture.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let result = config::load_with_theme(&fixture);
        match name {
            "minimal" | "warnings" | "theme_partial" => {
                assert!(result.is_ok(), "{name}: {result:?}")
            }
            _ => {
                let errors = result.expect_err(name);
                assert!(errors.error_count() > 0, "{name}");
                // A theme file's problems follow those of the configuration file.
                let positions: Vec<_> = errors
                    .diagnostics
                    .iter()
                    .map(|d| (d.file != fixture, d.line, d.column))
                    .collect();
                let mut sorted = positions.clone();
                sorted.sort();
                assert_eq!(positions, sorted, "{name}: not in file order");
            }
        }
    }
}

#[test]
fn example_config_loads_cleanly() {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"));
    let config = config::load(path).unwrap_or_else(|errors| panic!("{errors}"));
    assert!(
        config.warnings.is_empty(),
        "{}",
        config
            .warnings_report()
            .map(|r| r.to_string())
            .unwrap_or_default()
    );

    assert_eq!(
        config.hosts.keys().collect::<Vec<_>>(),
        ["bastion", "web1", "web2"]
    );
    let web1 = &config.hosts["web1"];
    assert_eq!(web1.address, None, "web1 is an ssh_config alias");
    let web2 = &config.hosts["web2"];
    assert_eq!(web2.address.as_deref(), Some("203.0.113.12"));
    assert_eq!(web2.user.as_deref(), Some("deploy"));
    assert_eq!(web2.port, Some(2222));
    assert!(web2.identity_file.is_some());
    let dir = path.parent().expect("example directory");
    assert_eq!(
        web2.known_hosts.as_deref(),
        Some(dir.join("keys/web2.known_hosts").as_path())
    );
    assert_eq!(web2.proxy_jump.as_deref(), Some("bastion"));

    let hello = &config.apps["hello"];
    assert_eq!(hello.kind, AppKind::Binary);
    assert_eq!(hello.hosts, ["web1", "web2"]);
    assert_eq!(hello.artifact, dir.join("target/release/hello"));
    assert_eq!(hello.version_source, VersionSource::Git);
    assert_eq!(
        hello.processes.keys().collect::<Vec<_>>(),
        ["cleanup", "web", "worker"]
    );
    assert!(hello.processes["cleanup"].timer.is_some());
    assert_eq!(hello.processes["worker"].replicas, 2);
    let proxy = hello.proxy.as_ref().expect("hello proxy");
    assert_eq!(proxy.process.as_deref(), Some("web"));
    assert_eq!(proxy.port, Some(8000));
    assert_eq!(proxy.health_path, "/healthz");
    assert!(hello.hooks.post_install.is_some());
    assert_eq!(
        hello.env["DATABASE_PASSWORD"],
        "keyring:hello/DATABASE_PASSWORD"
    );
    assert_eq!(hello.env["API_TOKEN"], "env:API_TOKEN");
    for value in hello.env.values() {
        assert!(config::SecretRef::parse(value).is_ok());
    }

    assert_eq!(config.apps["dashboard"].kind, AppKind::Python);
    let docs = &config.apps["docs"];
    assert_eq!(docs.kind, AppKind::Static);
    assert!(docs.processes.is_empty());
    assert_eq!(docs.version_source, VersionSource::Fixed("2024.06".into()));

    assert_eq!(config.secrets.adapter, SecretAdapter::Keyring);
    assert_eq!(config.ui.theme, "dark");
    assert_eq!(config.ui.keymap["rollback"], ["R", "ctrl-r"]);
}

/// The secret references the example documents in comments are all valid syntax.
#[test]
fn example_secret_reference_comments_are_valid() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
        .expect("read example");
    let commented: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter_map(|l| l.split_once(" = \""))
        .filter(|(key, _)| config::is_env_name(key) && key.chars().all(|c| !c.is_lowercase()))
        .map(|(_, value)| value.trim_end_matches('"'))
        .collect();
    assert!(commented.len() >= 4, "{commented:?}");
    for value in commented {
        assert!(
            matches!(config::SecretRef::parse(value), Ok(Some(_))),
            "{value}"
        );
    }
}

/// The unit-name clash check names units the way the unit renderer does.
#[test]
fn unit_clash_check_uses_the_rendered_unit_names() {
    for (app, process) in [("shop-api", "web"), ("shop", "api-web"), ("hello", "web")] {
        assert_eq!(
            config::unit_stem(app, process),
            raijin::remote::units::unit_stem(app, process)
        );
    }
}

/// The example documents every action `[ui.keymap]` may name.
#[test]
fn example_lists_every_action() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
        .expect("read example");
    let comment: String = text
        .lines()
        .skip_while(|l| !l.starts_with("# [ui.keymap]"))
        .take_while(|l| l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ");
    for action in raijin::keys::Action::ALL {
        assert!(
            comment.contains(&format!(" {},", action.name()))
                || comment.contains(&format!(" {}.", action.name())),
            "config.example.toml does not list the action `{}`",
            action.name()
        );
    }
}
