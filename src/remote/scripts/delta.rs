//! A file rebuilt on the host from a file it already has plus what changed: the new
//! release's manifest from the running release's, its chunk list likewise. Pieces of
//! the old file are copied by byte range (two processes each), new text is written by
//! the shell's own `printf`, and the result must have the SHA-256 raijin computed, or
//! the script stops with exit code [`MISMATCH`] and nothing of it is used: the caller
//! then sends the whole file. Cost: O(changed pieces), not O(file).

use std::fmt::Write as _;

use sha2::Digest as _;

use crate::util::shell_quote as q;

/// Exit code of a rebuild whose result is not the expected file.
pub const MISMATCH: i32 = 75;

/// The text every mismatch message starts with.
pub const MISMATCH_TAG: &str = "raijin-delta-mismatch";

/// A piece of the new file: a byte range of the old one, or new text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Copy { off: usize, len: usize },
    Text(String),
}

/// `text` cut after every `},` (manifest entries) and every line break (lists).
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let end = if b[i] == b'\n' {
            Some(i + 1)
        } else if b[i] == b'}' && b.get(i + 1) == Some(&b',') {
            Some(i + 2)
        } else {
            None
        };
        if let Some(e) = end {
            out.push(&text[start..e]);
            start = e;
            i = e;
        } else {
            i += 1;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// How to make `new` from `old`, or `None` when sending `new` whole is as cheap.
pub fn pieces(old: &str, new: &str) -> Option<Vec<Piece>> {
    let (a, b) = (tokens(old), tokens(new));
    let mut offsets = Vec::with_capacity(a.len() + 1);
    let mut off = 0;
    for t in &a {
        offsets.push(off);
        off += t.len();
    }
    offsets.push(off);
    let mut out: Vec<Piece> = Vec::new();
    let mut literal = 0usize;
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &a, &b) {
        match op {
            similar::DiffOp::Equal { old_index, len, .. } => {
                let (s, e) = (offsets[old_index], offsets[old_index + len]);
                match out.last_mut() {
                    Some(Piece::Copy { off, len }) if *off + *len == s => *len += e - s,
                    _ => out.push(Piece::Copy { off: s, len: e - s }),
                }
            }
            similar::DiffOp::Delete { .. } => {}
            similar::DiffOp::Insert {
                new_index, new_len, ..
            }
            | similar::DiffOp::Replace {
                new_index, new_len, ..
            } => {
                let text: String = b[new_index..new_index + new_len].concat();
                literal += text.len();
                match out.last_mut() {
                    Some(Piece::Text(t)) => t.push_str(&text),
                    _ => out.push(Piece::Text(text)),
                }
            }
        }
    }
    // Worth it only when most of the file is copied and the pieces are few.
    (literal * 2 < new.len() && out.len() <= 400).then_some(out)
}

/// The shell that writes `out` from `old_path` and `pieces`, then checks it against
/// the SHA-256 of `new`; on any difference it exits with [`MISMATCH`].
pub fn rebuild(old_path: &str, out: &str, pieces: &[Piece], new: &str, what: &str) -> String {
    let sum = hex::encode(sha2::Sha256::digest(new.as_bytes()));
    let (old, out_q) = (q(old_path), q(out));
    let mut s = format!(
        "[ -f {old} ] || {{ echo '{MISMATCH_TAG}: no earlier {what}' >&2; exit {MISMATCH}; }}\n{{\n"
    );
    for p in pieces {
        match p {
            Piece::Copy { off: 0, len } => {
                let _ = writeln!(s, "head -c {len} -- {old}");
            }
            Piece::Copy { off, len } => {
                let _ = writeln!(s, "tail -c +{} -- {old} | head -c {len}", off + 1);
            }
            Piece::Text(t) => {
                let _ = writeln!(s, "printf '%s' {}", q(t));
            }
        }
    }
    let _ = writeln!(
        s,
        "}} > {out_q} || exit {MISMATCH}\n\
         printf '%s  %s\\n' {sum} {out_q} | sha256sum -c --status - || {{ rm -f -- {out_q}; echo '{MISMATCH_TAG}: the {what} built from the earlier one differs' >&2; exit {MISMATCH}; }}"
    );
    s
}

/// Apply `pieces` to `old` here, as the host does (for tests).
pub fn apply(old: &str, pieces: &[Piece]) -> String {
    let mut s = String::new();
    for p in pieces {
        match p {
            Piece::Copy { off, len } => s.push_str(&old[*off..*off + *len]),
            Piece::Text(t) => s.push_str(t),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(files: &[(&str, &str)], version: &str) -> String {
        let entries: Vec<String> = files
            .iter()
            .map(|(p, h)| format!("{{\"path\":\"{p}\",\"sha256\":\"{h}\"}}"))
            .collect();
        format!(
            "{{\"version\":\"{version}\",\"files\":[{}]}}\n",
            entries.join(",")
        )
    }

    #[test]
    fn one_changed_entry_of_many_is_a_few_pieces() {
        let files: Vec<(String, String)> = (0..2000)
            .map(|i| (format!("s/p{i:04}.html"), format!("{:064x}", i)))
            .collect();
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let old = manifest(&refs, "v1");
        let mut changed = refs.clone();
        let h = format!("{:064x}", 999_999);
        changed[700].1 = &h;
        let new = manifest(&changed, "v2");
        let p = pieces(&old, &new).expect("a delta");
        assert_eq!(apply(&old, &p), new);
        let literal: usize = p
            .iter()
            .map(|x| match x {
                Piece::Text(t) => t.len(),
                Piece::Copy { .. } => 0,
            })
            .sum();
        assert!(p.len() <= 5, "{p:?}");
        assert!(literal < 300, "{literal} bytes of new text");
    }

    #[test]
    fn lists_of_lines_and_unrelated_files() {
        let old = "a\nb\nc\nd\n";
        let new = "a\nc\nd\ne\n";
        let p = pieces(old, new).unwrap();
        assert_eq!(apply(old, &p), new);
        assert_eq!(pieces("x\n", "completely different\n"), None);
    }

    #[test]
    fn the_script_rebuilds_byte_for_byte_or_fails_with_the_mismatch_code() {
        let d = tempfile::tempdir().unwrap();
        let middle: String = (0..20)
            .map(|i| format!("{{\"b{i}\":\"it's $x\"}},"))
            .collect();
        let old = format!("{{\"version\":\"v1\",\"files\":[{{\"a\":1}},{middle}{{\"c\":3}}]}}\n");
        let new = format!("{{\"version\":\"v2\",\"files\":[{{\"a\":1}},{middle}{{\"c\":4}}]}}\n");
        let (old, new) = (old.as_str(), new.as_str());
        let old_path = d.path().join("old.json");
        std::fs::write(&old_path, old).unwrap();
        let out = d.path().join("new.json");
        let p = pieces(old, new).expect("a delta");
        assert!(p.iter().any(|x| matches!(x, Piece::Copy { .. })), "{p:?}");
        let script = rebuild(
            old_path.to_str().unwrap(),
            out.to_str().unwrap(),
            &p,
            new,
            "manifest",
        );
        let st = std::process::Command::new("sh")
            .args(["-c", &script])
            .status()
            .unwrap();
        assert!(st.success(), "{script}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), new);

        // The earlier file is not what raijin thinks it is: no result, exit 75.
        std::fs::write(&old_path, old.replace("it's", "it'z")).unwrap();
        let o = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(MISMATCH));
        assert!(String::from_utf8_lossy(&o.stderr).contains(MISMATCH_TAG));
        assert!(!out.exists());
    }
}
