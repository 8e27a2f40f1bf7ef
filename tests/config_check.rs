//! `raijin config check` end to end: the real binary runs on every file in
//! `tests/fixtures/config/` and must print exactly the report in its sibling `.expected`
//! file and exit 2 (0 for the clean fixtures); `config.example.toml` must check cleanly.
//! A `.expected` file holds what the command writes to stderr followed by what it
//! writes to stdout (the `ok:` line of a valid file). Run with `UPDATE_EXPECT=1` to
//! rewrite the `.expected` files from the actual output (then review them: they are
//! the spec).

use std::path::{Path, PathBuf};
use std::process::Command;

use raijin::config::{self, AppKind, VersionSource};

const FIXTURES: &str = "tests/fixtures/config";

/// The fixtures that are valid configurations; every other one must be refused.
const CLEAN: [&str; 3] = ["minimal", "warnings", "theme_partial"];

/// Exit code of `raijin config check` for an invalid configuration (README: 2).
const EXIT_INVALID: i32 = 2;

/// What `raijin -c PATH config check` printed and how it exited.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

/// Runs `raijin -c PATH config check` from the crate root, with a HOME of its own so
/// that no theme of the user's is found and the output does not depend on the machine.
fn config_check(path: &Path) -> Run {
    let home = tempfile::tempdir().expect("temporary HOME");
    let out = Command::new(env!("CARGO_BIN_EXE_raijin"))
        .arg("-c")
        .arg(path)
        .args(["config", "check"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env_remove("RAIJIN_CONFIG")
        .output()
        .expect("run raijin");
    Run {
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        code: out.status.code(),
    }
}

/// What the `.expected` file of a fixture says the run must be.
fn expected_run(expected: &str, clean: bool) -> Run {
    if clean {
        // The `ok:` line is the last line and goes to stdout; warnings before it to stderr.
        let body = expected.strip_suffix('\n').unwrap_or(expected);
        let split = body.rfind('\n').map_or(0, |i| i + 1);
        Run {
            stdout: expected[split..].to_string(),
            stderr: expected[..split].to_string(),
            code: Some(0),
        }
    } else {
        Run {
            stdout: String::new(),
            stderr: expected.to_string(),
            code: Some(EXIT_INVALID),
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

fn name(fixture: &Path) -> &str {
    fixture.file_stem().and_then(|s| s.to_str()).unwrap_or("")
}

#[test]
fn fixtures_match_their_expected_output_and_exit_code() {
    let update = std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    for fixture in fixtures() {
        let expected_path = fixture.with_extension("expected");
        let actual = config_check(&fixture);
        if update {
            std::fs::write(
                &expected_path,
                format!("{}{}", actual.stderr, actual.stdout),
            )
            .expect("write .expected");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run with UPDATE_EXPECT=1 to create it)",
                expected_path.display()
            )
        });
        let clean = CLEAN.contains(&name(&fixture));
        let expected = expected_run(&expected, clean);
        if actual != expected {
            failures.push(format!(
                "=== {}\n--- expected (exit {:?})\nstdout:\n{}stderr:\n{}--- actual (exit {:?})\nstdout:\n{}stderr:\n{}",
                fixture.display(),
                expected.code,
                expected.stdout,
                expected.stderr,
                actual.code,
                actual.stdout,
                actual.stderr,
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
fn clean_fixtures_print_an_ok_line_and_broken_ones_a_count() {
    for fixture in fixtures() {
        let expected =
            std::fs::read_to_string(fixture.with_extension("expected")).expect("read .expected");
        let last = expected.lines().last().unwrap_or("");
        let file = fixture.display().to_string();
        if CLEAN.contains(&name(&fixture)) {
            assert!(last.starts_with(&format!("ok: {file} (")), "{file}: {last}");
        } else {
            assert!(
                last.starts_with(&format!("{file}: ")) && last.contains(" error"),
                "{file}: {last}"
            );
        }
    }
}

#[test]
fn every_covered_case_has_a_fixture() {
    let names: Vec<String> = fixtures().iter().map(|p| name(p).to_string()).collect();
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
fn problems_are_reported_in_file_order() {
    for fixture in fixtures() {
        let Err(errors) = config::load_with_theme(&fixture) else {
            continue;
        };
        // A theme file's problems follow those of the configuration file.
        let positions: Vec<_> = errors
            .diagnostics
            .iter()
            .map(|d| (d.file != fixture, d.line, d.column))
            .collect();
        let mut sorted = positions.clone();
        sorted.sort();
        assert_eq!(
            positions,
            sorted,
            "{}: not in file order",
            fixture.display()
        );
    }
}

#[test]
fn a_missing_file_exits_2_without_a_position() {
    let run = config_check(Path::new("tests/fixtures/config/no-such-file.toml"));
    assert_eq!(run.code, Some(EXIT_INVALID), "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "tests/fixtures/config/no-such-file.toml: error: cannot read the file: No such file or directory (os error 2)\n  \
         hint: create it (config.example.toml documents every key) or pass --config PATH\n\
         tests/fixtures/config/no-such-file.toml: 1 error\n"
    );
}

#[test]
fn the_example_checks_cleanly() {
    let run = config_check(Path::new("config.example.toml"));
    assert_eq!(
        run,
        Run {
            stdout: "ok: config.example.toml (3 hosts, 3 apps)\n".into(),
            stderr: String::new(),
            code: Some(0),
        }
    );
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

    assert_eq!(config.secrets.timeout_secs, 10);
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

/// `raijin -e NAME config check` in `dir`, with a HOME of its own.
fn check_env(dir: &Path, env: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_raijin"))
        .args(["-e", env, "config", "check"])
        .current_dir(dir)
        .env_remove("RAIJIN_CONFIG")
        .env("HOME", dir)
        .output()
        .unwrap()
}

#[test]
fn an_environment_layers_its_file_and_errors_name_that_file() {
    let d = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(FIXTURES)
            .join("minimal.toml"),
        d.path().join("raijin.toml"),
    )
    .unwrap();
    let base = config::load(&d.path().join("raijin.toml")).unwrap();
    let app = base.apps.keys().next().unwrap().clone();
    std::fs::write(
        d.path().join("raijin.staging.toml"),
        format!("[hosts.stage1]\naddress = \"10.0.0.9\"\n\n[apps.{app}]\nhosts = [\"stage1\"]\n"),
    )
    .unwrap();
    let out = check_env(d.path(), "staging");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("ok: raijin.toml with environment staging ("),
        "{stdout}"
    );
    let layered =
        config::load_environment(&d.path().join("raijin.toml"), Some("staging"), false).unwrap();
    assert_eq!(layered.apps[&app].hosts, ["stage1"]);

    // A bad key in the environment file is reported at its place there.
    std::fs::write(
        d.path().join("raijin.qa.toml"),
        format!("[apps.{app}]\nhosts = [\"stage9\"]\n"),
    )
    .unwrap();
    let out = check_env(d.path(), "qa");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_INVALID), "{stderr}");
    assert!(
        stderr.starts_with("raijin.qa.toml:2:10: error: "),
        "{stderr}"
    );
    assert!(stderr.contains("stage9"), "{stderr}");

    // An environment without its file says which file it looked for.
    let out = check_env(d.path(), "prod");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_INVALID), "{stderr}");
    assert!(stderr.contains("raijin.prod.toml"), "{stderr}");
}
