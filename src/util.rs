//! Small helpers shared by the engine and the faces.

/// Read what standard input has within `timeout_ms`: `Ok(None)` if nothing
/// arrived, `Ok(Some(0))` at end of input. Reads the descriptor directly, so
/// nothing is left buffered for the next reader.
#[cfg(unix)]
pub fn read_stdin_within(buf: &mut [u8], timeout_ms: i32) -> std::io::Result<Option<usize>> {
    let mut fds = libc::pollfd {
        fd: libc::STDIN_FILENO,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `fds` is one valid, initialized pollfd that outlives the call.
    let ready = unsafe { libc::poll(&mut fds, 1, timeout_ms) };
    if ready < 0 {
        let e = std::io::Error::last_os_error();
        return if e.kind() == std::io::ErrorKind::Interrupted {
            Ok(None)
        } else {
            Err(e)
        };
    }
    if ready == 0 {
        return Ok(None);
    }
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the call.
    let n = unsafe { libc::read(libc::STDIN_FILENO, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(Some(n as usize))
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(data))
}

/// `bytes` random bytes as lowercase hex, from the OS's generator (falling back to
/// the clock and process id, which keeps ids unique if not unpredictable).
pub fn random_hex(bytes: usize) -> String {
    use std::io::Read as _;
    let mut buf = vec![0u8; bytes];
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok();
    if !filled {
        let seed = format!(
            "{:?}{}{:?}",
            std::time::SystemTime::now(),
            std::process::id(),
            std::thread::current().id()
        );
        let d = <sha2::Sha256 as sha2::Digest>::digest(seed.as_bytes());
        for (b, s) in buf.iter_mut().zip(d.iter().cycle()) {
            *b = *s;
        }
    }
    hex::encode(buf)
}

/// Compare names the way people count: `h2` before `h10`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (pa, pb) = (parts(a), parts(b));
    for (x, y) in pa.iter().zip(pb.iter()) {
        let ord = match (x, y) {
            ((true, n), (true, m)) => {
                let (n, m) = (n.trim_start_matches('0'), m.trim_start_matches('0'));
                n.len().cmp(&m.len()).then_with(|| n.cmp(m))
            }
            ((_, n), (_, m)) => n.cmp(m),
        };
        if ord != std::cmp::Ordering::Equal {
            return ord;
        }
    }
    pa.len().cmp(&pb.len()).then_with(|| a.cmp(b))
}

/// Quote a string for a POSIX shell command line.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Bytes as a short human figure: `512 B`, `3.4 KiB`, `20.0 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// The candidate closest to `input`, if it is close enough to be a likely typo.
///
/// Comparison ignores case and treats `-` like `_`. A candidate qualifies when its
/// normalized Damerau-Levenshtein similarity is at least 0.6 (one edit in a short word,
/// two or three in a long one) or its Jaro-Winkler similarity is at least 0.9 (a long
/// shared prefix, as in `identity` for `identity_file`). When two candidates are equally
/// close (`web3` among `web1` and `web2`) there is no suggestion.
pub fn did_you_mean<'c, I>(input: &str, candidates: I) -> Option<&'c str>
where
    I: IntoIterator<Item = &'c str>,
{
    let normalize = |s: &str| s.to_lowercase().replace('-', "_");
    let wanted = normalize(input);
    let mut best: Option<(f64, &'c str)> = None;
    let mut tied = false;
    for candidate in candidates {
        let c = normalize(candidate);
        if c == wanted {
            if candidate == input {
                continue;
            }
            return Some(candidate);
        }
        let edit = strsim::normalized_damerau_levenshtein(&wanted, &c);
        let jw = strsim::jaro_winkler(&wanted, &c);
        if edit < 0.6 && jw < 0.9 {
            continue;
        }
        let score = edit + jw;
        match best {
            Some((s, _)) if (score - s).abs() < 1e-9 => tied = true,
            Some((s, _)) if score < s => {}
            _ => {
                best = Some((score, candidate));
                tied = false;
            }
        }
    }
    if tied { None } else { best.map(|(_, c)| c) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_but_not_unrelated_words() {
        let keys = [
            "address",
            "user",
            "port",
            "identity_file",
            "known_hosts",
            "proxy_jump",
        ];
        assert_eq!(did_you_mean("adress", keys), Some("address"));
        assert_eq!(did_you_mean("usr", keys), Some("user"));
        assert_eq!(did_you_mean("prot", keys), Some("port"));
        assert_eq!(did_you_mean("identity", keys), Some("identity_file"));
        assert_eq!(did_you_mean("known-hosts", keys), Some("known_hosts"));
        assert_eq!(did_you_mean("Address", keys), Some("address"));
        assert_eq!(did_you_mean("proxyjump", keys), Some("proxy_jump"));
        assert_eq!(did_you_mean("hostname", keys), None);
        assert_eq!(did_you_mean("color", keys), None);
        assert_eq!(did_you_mean("x", keys), None);

        let app = [
            "hosts",
            "build",
            "artifact",
            "kind",
            "version",
            "versions_to_keep",
            "user",
            "env_file",
            "env",
            "processes",
            "proxy",
            "hooks",
        ];
        assert_eq!(did_you_mean("proccesses", app), Some("processes"));
        assert_eq!(
            did_you_mean("versions_to_kept", app),
            Some("versions_to_keep")
        );
        assert_eq!(did_you_mean("artefact", app), Some("artifact"));
        assert_eq!(did_you_mean("host", app), Some("hosts"));
        assert_eq!(did_you_mean("envfile", app), Some("env_file"));
        assert_eq!(did_you_mean("domain", app), None);
        assert_eq!(did_you_mean("timeout", app), None);
        assert_eq!(did_you_mean("description", app), None);

        let kinds = ["binary", "python", "static"];
        assert_eq!(did_you_mean("binari", kinds), Some("binary"));
        assert_eq!(did_you_mean("Python", kinds), Some("python"));
        assert_eq!(did_you_mean("docker", kinds), None);

        assert_eq!(did_you_mean("web3", ["web1", "web2"]), None);
        assert_eq!(did_you_mean("wbe2", ["web1", "web2"]), Some("web2"));
    }

    #[test]
    fn typo_suggestions() {
        assert_eq!(did_you_mean("h11", ["h1", "h2", "web"]), Some("h1"));
        assert_eq!(did_you_mean("database", ["h1", "h2"]), None);
    }

    #[test]
    fn natural_order() {
        let mut v = vec!["h10", "h2", "h1", "web", "h02", ""];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["", "h1", "h02", "h2", "h10", "web"]);
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("abc/d-e.f"), "abc/d-e.f");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn bytes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(20 * 1024 * 1024), "20.0 MiB");
    }
}
