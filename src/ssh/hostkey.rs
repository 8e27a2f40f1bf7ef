//! Strict host-key checking against known_hosts files, as OpenSSH does with
//! `StrictHostKeyChecking yes`: a match passes, an unknown key is refused with
//! its fingerprint (unless the user accepts it, which records it), and a changed
//! key is always refused with both fingerprints.

use std::path::{Path, PathBuf};

use russh::keys::Algorithm;
use russh::keys::ssh_key::{HashAlg, PublicKey};

/// What the known_hosts files say about a presented key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Trusted,
    Unknown,
    /// Another key of the same type is recorded for this host.
    Changed {
        file: PathBuf,
        line: usize,
        recorded_fingerprint: String,
    },
    /// The key is marked `@revoked`.
    Revoked {
        file: PathBuf,
        line: usize,
    },
}

/// SHA256 fingerprint as OpenSSH prints it (`SHA256:base64`).
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Checks `key` for `host:port` against the files, in order.
pub fn verify(host: &str, port: u16, key: &PublicKey, files: &[PathBuf]) -> Verdict {
    for file in files {
        if let Some(line) = revoked_line(file, key) {
            return Verdict::Revoked {
                file: file.clone(),
                line,
            };
        }
    }
    let mut changed = None;
    for file in files {
        for (line, recorded) in recorded_keys(host, port, file) {
            if recorded.algorithm() != key.algorithm() {
                continue;
            }
            if recorded.key_data() == key.key_data() {
                return Verdict::Trusted;
            }
            if changed.is_none() {
                changed = Some(Verdict::Changed {
                    file: file.clone(),
                    line,
                    recorded_fingerprint: fingerprint(&recorded),
                });
            }
        }
    }
    changed.unwrap_or(Verdict::Unknown)
}

/// Records a newly accepted key in `file` (created, with its directory, if
/// missing), as `host key` or `[host]:port key`, like OpenSSH.
pub fn learn(host: &str, port: u16, key: &PublicKey, file: &Path) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let existing = std::fs::read(file).unwrap_or_default();
    let entry = if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    };
    let key_text = key.to_openssh().map_err(std::io::Error::other)?;
    let mut key_fields = key_text.split_whitespace();
    let (Some(alg), Some(b64)) = (key_fields.next(), key_fields.next()) else {
        return Err(std::io::Error::other("cannot encode the host key"));
    };
    let sep = if existing.is_empty() || existing.ends_with(b"\n") {
        ""
    } else {
        "\n"
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    writeln!(f, "{sep}{entry} {alg} {b64}")
}

/// Key algorithms recorded for this host, most preferred first. OpenSSH asks
/// the server for a type it already knows; russh does not, so we reorder its
/// preference list with these first (SSH-NOTES: with only an RSA key pinned,
/// russh would otherwise negotiate ed25519 and call the host unknown).
pub fn recorded_algorithms(host: &str, port: u16, files: &[PathBuf]) -> Vec<Algorithm> {
    let mut algs: Vec<Algorithm> = Vec::new();
    for file in files {
        for (_, key) in recorded_keys(host, port, file) {
            let alg = key.algorithm();
            let alg = if alg.clone().is_rsa() {
                Algorithm::Rsa {
                    hash: Some(HashAlg::Sha512),
                }
            } else {
                alg
            };
            if !algs.contains(&alg) {
                algs.push(alg);
            }
        }
    }
    if algs.iter().any(|a| a.clone().is_rsa()) {
        algs.push(Algorithm::Rsa {
            hash: Some(HashAlg::Sha256),
        });
    }
    algs
}

/// Recorded keys for the host with their (1-based) line numbers. Lines that
/// do not parse are skipped rather than failing the whole file, as OpenSSH does.
fn recorded_keys(host: &str, port: u16, file: &Path) -> Vec<(usize, PublicKey)> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    let wanted = if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut parts = line.split_whitespace();
        let Some(patterns) = parts.next() else {
            continue;
        };
        if patterns.starts_with('#') || patterns.starts_with('@') {
            // Comments; `@cert-authority` and `@revoked` lines are not plain keys.
            continue;
        }
        let (Some(_alg), Some(b64)) = (parts.next(), parts.next()) else {
            continue;
        };
        if !host_matches(&wanted, patterns) {
            continue;
        }
        if let Ok(key) = russh::keys::parse_public_key_base64(b64) {
            out.push((i + 1, key));
        }
    }
    out
}

/// OpenSSH host matching for one known_hosts entry: comma-separated patterns,
/// `*`/`?` wildcards, `!` negation, and hashed `|1|salt|hash` entries.
fn host_matches(host: &str, patterns: &str) -> bool {
    let mut matched = false;
    for pat in patterns.split(',') {
        if let Some(hashed) = pat.strip_prefix("|1|") {
            if hashed_matches(host, hashed) {
                matched = true;
            }
        } else if let Some(neg) = pat.strip_prefix('!') {
            if glob(neg, host) {
                return false;
            }
        } else if glob(pat, host) {
            matched = true;
        }
    }
    matched
}

fn hashed_matches(host: &str, salt_and_hash: &str) -> bool {
    use base64::Engine as _;
    use hmac::Mac as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some((salt, hash)) = salt_and_hash.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (b64.decode(salt), b64.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(host.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

/// `*` and `?` wildcard match, case-insensitive like OpenSSH host patterns.
fn glob(pattern: &str, text: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return pattern.eq_ignore_ascii_case(text);
    }
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Line of an `@revoked` entry carrying this key, if any.
fn revoked_line(file: &Path, key: &PublicKey) -> Option<usize> {
    let text = std::fs::read_to_string(file).ok()?;
    let wanted = key.to_openssh().ok()?;
    let wanted_b64 = wanted.split_whitespace().nth(1)?.to_string();
    text.lines().enumerate().find_map(|(i, line)| {
        let mut parts = line.split_whitespace();
        (parts.next()? == "@revoked" && parts.nth(2)? == wanted_b64).then_some(i + 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIP4ztqUGX59MBgDECkrouKvvcbsKtD+WJ3DbsPmEYVUq";
    const ED_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIE/JHP9czSOiHx27JS8ewOmjt4h3+b/0aqKLDRU9yCkA";
    const ECDSA: &str = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBES3tgqlPNXlEUO7pEH6buWuC4jkU3Q34DzC73KZtQqOPtSkJBRGOLk1Cz/UJEfOOrY3TWEiNN3IdS65Lg7kcR4=";

    fn key(b64: &str) -> PublicKey {
        russh::keys::parse_public_key_base64(b64).unwrap()
    }

    #[test]
    fn trusted_unknown_changed() {
        let dir = tempfile::tempdir().unwrap();
        let kh = dir.path().join("known_hosts");
        let a = key(ED_A);
        let b = key(ED_B);
        let files = vec![kh.clone()];
        assert_eq!(verify("10.0.0.1", 22, &a, &files), Verdict::Unknown);
        std::fs::write(&kh, "# a comment\n\n").unwrap();
        learn("10.0.0.1", 22, &a, &kh).unwrap();
        assert_eq!(verify("10.0.0.1", 22, &a, &files), Verdict::Trusted);
        assert_eq!(verify("10.0.0.1", 2222, &a, &files), Verdict::Unknown);
        match verify("10.0.0.1", 22, &b, &files) {
            Verdict::Changed {
                line,
                recorded_fingerprint,
                ..
            } => {
                assert_eq!(line, 3);
                assert_eq!(recorded_fingerprint, fingerprint(&a));
            }
            v => panic!("expected Changed, got {v:?}"),
        }
    }

    #[test]
    fn other_type_recorded_is_unknown_and_reorders_preference() {
        let dir = tempfile::tempdir().unwrap();
        let kh = dir.path().join("known_hosts");
        let ecdsa = key(ECDSA);
        learn("h", 22, &ecdsa, &kh).unwrap();
        let files = vec![kh];
        assert_eq!(verify("h", 22, &key(ED_A), &files), Verdict::Unknown);
        assert_eq!(
            recorded_algorithms("h", 22, &files),
            vec![ecdsa.algorithm()]
        );
    }

    #[test]
    fn revoked_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let kh = dir.path().join("known_hosts");
        let a = key(ED_A);
        let line = a.to_openssh().unwrap();
        std::fs::write(&kh, format!("h {line}\n@revoked * {line}\n")).unwrap();
        assert!(matches!(
            verify("h", 22, &a, &[kh]),
            Verdict::Revoked { line: 2, .. }
        ));
    }

    #[test]
    fn patterns_and_hashed_entries() {
        assert!(host_matches("10.0.0.1", "a,10.0.0.1"));
        assert!(host_matches("web3.example.com", "*.example.com"));
        assert!(!host_matches(
            "db.example.com",
            "*.example.com,!db.example.com"
        ));
        assert!(host_matches("[h]:2222", "[h]:2222"));
        assert!(!host_matches("h", "[h]:2222"));
        // `ssh-keygen -H` output for host "10.77.1.2" with a fixed salt.
        let salt = [7u8; 20];
        use base64::Engine as _;
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt).unwrap();
        mac.update(b"10.77.1.2");
        let b64 = base64::engine::general_purpose::STANDARD;
        let entry = format!(
            "|1|{}|{}",
            b64.encode(salt),
            b64.encode(mac.finalize().into_bytes())
        );
        assert!(host_matches("10.77.1.2", &entry));
        assert!(!host_matches("10.77.1.3", &entry));
    }

    #[test]
    fn a_bad_line_does_not_hide_good_ones() {
        let dir = tempfile::tempdir().unwrap();
        let kh = dir.path().join("known_hosts");
        let a = key(ED_A);
        let line = a.to_openssh().unwrap();
        std::fs::write(&kh, format!("other ssh-ed25519 !!!notbase64\nh {line}\n")).unwrap();
        assert_eq!(verify("h", 22, &a, &[kh]), Verdict::Trusted);
    }
}
