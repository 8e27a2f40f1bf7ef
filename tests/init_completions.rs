//! `raijin init`, `raijin completions` and `raijin man`, run as a user would: no
//! testbed needed, only the binary and a temporary project directory.

use std::path::Path;
use std::process::{Command, Output};

fn raijin(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raijin"))
        .args(args)
        .current_dir(dir)
        .env_remove("RAIJIN_CONFIG")
        .env("HOME", dir)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn init_writes_a_config_that_checks_once_a_host_is_named_and_never_overwrites() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("Cargo.toml"),
        "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::create_dir(d.path().join("src")).unwrap();
    std::fs::write(d.path().join("src/main.rs"), "fn main() {}\n").unwrap();

    let out = raijin(d.path(), &["init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .starts_with("wrote raijin.toml: app shop (binary, from the Cargo binary `shop`)"),
        "{}",
        text(&out.stdout)
    );
    let written = std::fs::read_to_string(d.path().join("raijin.toml")).unwrap();
    assert!(
        written.contains("build = \"cargo build --release --bin shop\""),
        "{written}"
    );

    // Without a host, config check says what is missing (exit 2).
    let out = raijin(d.path(), &["config", "check"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let report = text(&out.stdout) + &text(&out.stderr);
    assert!(report.contains("raijin.toml:"), "{report}");
    assert!(report.contains("host"), "{report}");

    // With the host filled in, as the file's comments say, it passes.
    let filled = written
        .replace("hosts = []", "hosts = [\"web1\"]")
        .replace("# [hosts.web1]\n# address", "[hosts.web1]\naddress");
    std::fs::write(d.path().join("raijin.toml"), &filled).unwrap();
    let out = raijin(d.path(), &["config", "check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    // A second init refuses and leaves the file alone.
    let out = raijin(d.path(), &["init", "--kind", "static"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("raijin.toml already exists"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join("raijin.toml")).unwrap(),
        filled
    );
}

#[test]
fn init_in_an_unknown_directory_asks_for_a_kind() {
    let d = tempfile::tempdir().unwrap();
    let out = raijin(d.path(), &["init"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("pass --kind binary|python|static"));
    assert!(!d.path().join("raijin.toml").exists());
}

#[test]
fn completions_for_bash_zsh_and_fish_name_every_subcommand() {
    let d = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = raijin(d.path(), &["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        for sub in ["deploy", "rollback", "logs", "down", "audit", "init"] {
            assert!(script.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    // bash can load what it printed.
    let out = raijin(d.path(), &["completions", "bash"]);
    let file = d.path().join("raijin.bash");
    std::fs::write(&file, &out.stdout).unwrap();
    let check = Command::new("bash")
        .arg("-c")
        .arg(format!(". {} && complete -p raijin", file.display()))
        .output()
        .unwrap();
    assert!(
        check.status.success() && text(&check.stdout).contains("raijin"),
        "{}",
        text(&check.stderr)
    );
}

#[test]
fn the_man_page_renders_and_a_page_per_command_is_written() {
    let d = tempfile::tempdir().unwrap();
    let out = raijin(d.path(), &["man"]);
    assert!(out.status.success());
    let page = text(&out.stdout);
    assert!(page.contains(".TH raijin 1"), "{page}");
    assert!(page.contains("raijin\\-deploy(1)"), "{page}");

    let dir = d.path().join("man1");
    let out = raijin(d.path(), &["man", "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for page in [
        "raijin.1",
        "raijin-deploy.1",
        "raijin-app-restart.1",
        "raijin-init.1",
    ] {
        let body = std::fs::read_to_string(dir.join(page)).unwrap();
        assert!(body.contains(".SH SYNOPSIS"), "{page}");
    }
}
