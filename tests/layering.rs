//! The faces only present: `src/cli` and `src/tui` reach hosts through the
//! engine's operations, never through an SSH session, a host script or git. They
//! may name the SSH layer's shared vocabulary (output streams, exit statuses, link
//! states, the prompter they answer questions with) and nothing else of it.
//!
//! Read from the sources, so a new import shows up here before review.

use std::path::{Path, PathBuf};

/// The `ssh::` items a face may name.
const SSH_VOCABULARY: &[&str] = &[
    "OutputKind",
    "ExitStatus",
    "LinkState",
    "HostStatus",
    "Prompter",
];

/// Text that means a face does the engine's work: runs a channel, builds a host
/// command, or asks git.
const ENGINE_WORK: &[&str] = &[
    "exec_with",
    "open_pty",
    "Session",
    "Remote::new",
    "Host::new",
    "root_command",
    "deploy::remote",
    "Command::new(\"git\")",
    "\"git\"",
    "systemctl",
    "systemd-run",
    "journalctl ",
    "sudo -n",
    "set -eu",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// Each face's files with their lines of code: comments (and doc comments, which
/// are help text) left out.
fn face_code() -> Vec<(PathBuf, Vec<(usize, String)>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for face in ["src/cli", "src/tui"] {
        sources(&root.join(face), &mut files);
    }
    assert!(files.len() > 10, "only {} face files found", files.len());
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let code = text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim_start().starts_with("//"))
                .map(|(n, l)| (n + 1, l.to_string()))
                .collect();
            let shown = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            (shown, code)
        })
        .collect()
}

/// The items named after each `ssh::` in `code`: `ssh::A`, `ssh::{A, B as C}`,
/// `ssh::A::Variant` (gives `A`).
fn ssh_items(code: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("ssh::") {
        let after = &rest[at + "ssh::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            items.extend(group[..end].split(',').filter_map(first_ident));
        } else if let Some(item) = first_ident(after) {
            items.push(item);
        }
        rest = after;
    }
    items
}

fn first_ident(s: &str) -> Option<String> {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| s[..end].to_string())
}

#[test]
fn the_faces_name_only_the_ssh_vocabulary() {
    let mut wrong = Vec::new();
    for (path, code) in face_code() {
        // `use` groups may span lines: read the file's code as one text.
        let joined: String = code.iter().map(|(_, l)| format!("{l}\n")).collect();
        for item in ssh_items(&joined) {
            if !SSH_VOCABULARY.contains(&item.as_str()) {
                wrong.push(format!("{}: ssh::{item}", path.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the faces may name only {SSH_VOCABULARY:?} of the SSH layer; found:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_faces_run_no_host_command_session_or_git() {
    let mut found = Vec::new();
    for (path, code) in face_code() {
        for (n, line) in &code {
            for needle in ENGINE_WORK {
                if line.contains(needle) {
                    found.push(format!("{}:{n}: {needle}: {}", path.display(), line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "engine work in a face (call an engine operation instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn ssh_items_are_read_from_paths_and_groups() {
    assert_eq!(
        ssh_items(
            "use crate::ssh::{OutputKind, Session as S};\nlet x = crate::ssh::LinkState::Idle;"
        ),
        ["OutputKind", "Session", "LinkState"]
    );
}
