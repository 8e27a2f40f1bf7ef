//! Tests of bundling as a whole: what content-defined chunking saves on
//! edits, deterministic walks, refused inputs, reading chunks back, and the
//! materialize script run for real with `sh` against a local store.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::Path;
use std::process::Command;

use super::*;
use crate::remote::scripts::materialize::{Builder, materialize_plan};

/// Deterministic pseudo-random bytes (splitmix64), the same on every run.
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Bytes of `new`'s chunks that `old` does not already have: what a
/// redeploy would upload. Returns (new bytes, total, chunk counts).
fn upload_after_edit(old: &[u8], new: &[u8]) -> (u64, u64, usize, usize) {
    let have: HashSet<[u8; 32]> = chunk_bytes(old).iter().map(|c| c.hash).collect();
    let next = chunk_bytes(new);
    let mut sent = HashSet::new();
    let mut bytes = 0u64;
    for c in &next {
        if !have.contains(&c.hash) && sent.insert(c.hash) {
            bytes += u64::from(c.len);
        }
    }
    (bytes, new.len() as u64, sent.len(), next.len())
}

const MB20: usize = 20 * 1024 * 1024;

#[test]
fn ten_bytes_changed_in_the_middle_upload_little() {
    let old = pseudo_random(MB20, 1);
    let mut new = old.clone();
    let mid = MB20 / 2;
    for (i, b) in new[mid..mid + 10].iter_mut().enumerate() {
        *b ^= 0x5A ^ i as u8;
    }
    let (bytes, total, sent, chunks) = upload_after_edit(&old, &new);
    let pct = 100.0 * bytes as f64 / total as f64;
    println!(
        "10 bytes changed at 10 MiB of 20 MiB: {sent} of {chunks} chunks new, {bytes} bytes = {pct:.3}%"
    );
    assert!(pct <= 10.0, "{pct}% re-sent");
    assert!(sent <= 2, "{sent} chunks changed for a 10-byte edit");
}

#[test]
fn hundred_bytes_inserted_near_the_start_upload_little() {
    let old = pseudo_random(MB20, 2);
    let mut new = Vec::with_capacity(old.len() + 100);
    new.extend_from_slice(&old[..4096]);
    new.extend_from_slice(&pseudo_random(100, 99));
    new.extend_from_slice(&old[4096..]);
    let (bytes, total, sent, chunks) = upload_after_edit(&old, &new);
    let pct = 100.0 * bytes as f64 / total as f64;
    println!(
        "100 bytes inserted at 4 KiB of 20 MiB: {sent} of {chunks} chunks new, {bytes} bytes = {pct:.3}%"
    );
    assert!(pct <= 10.0, "{pct}% re-sent");
}

#[test]
fn identical_input_identical_chunks_streamed_or_not() {
    let data = pseudo_random(3 * 1024 * 1024 + 12345, 3);
    let a = chunk_bytes(&data);
    let b = chunk_bytes(&data.clone());
    assert_eq!(a, b);
    let streamed = chunk_reader(&data[..]).unwrap();
    assert_eq!(
        streamed.chunks, a,
        "streaming must cut where in-memory does"
    );
    assert_eq!(streamed.size, data.len() as u64);
    assert_eq!(streamed.sha256, <[u8; 32]>::from(Sha256::digest(&data)));
    let sum: u64 = a.iter().map(|c| u64::from(c.len)).sum();
    assert_eq!(sum, data.len() as u64);
    let (last, body) = a.split_last().unwrap();
    assert!(last.len <= MAX_CHUNK);
    for c in body {
        assert!((MIN_CHUNK..=MAX_CHUNK).contains(&c.len), "{c:?}");
    }
    let avg = sum / a.len() as u64;
    println!(
        "3 MiB: {} chunks, average {avg} B (target {AVG_CHUNK})",
        a.len()
    );
}

fn write(path: &Path, bytes: &[u8], mode: u32) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, bytes).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A tree with most of what an artifact can hold: nested and empty dirs,
/// odd names, modes, an empty file, a multi-chunk file, duplicate content,
/// and symlinks (relative, to a directory, absolute and dangling).
fn sample_tree(root: &Path, reverse: bool) {
    let mut files: Vec<(&str, Vec<u8>, u32)> = vec![
        ("bin/app", pseudo_random(300_000, 10), 0o755),
        (
            "bin/run.sh",
            b"#!/bin/sh\nexec ./app \"$@\"\n".to_vec(),
            0o750,
        ),
        ("big.dat", pseudo_random(5 * 1024 * 1024, 11), 0o644),
        ("copy-of-app", pseudo_random(300_000, 10), 0o644),
        ("empty", Vec::new(), 0o600),
        (
            "static/a b/it's $(touch pwned) `x`.txt",
            b"odd name\n".to_vec(),
            0o644,
        ),
        ("static/-dash", b"leading dash\n".to_vec(), 0o444),
        (
            "static/\u{fc}n\u{ef}code\nline",
            b"unicode + newline\n".to_vec(),
            0o640,
        ),
        ("secret/key", b"k\n".to_vec(), 0o400),
    ];
    if reverse {
        files.reverse();
    }
    for (p, bytes, mode) in &files {
        write(&root.join(p), bytes, *mode);
    }
    fs::create_dir_all(root.join("var/empty")).unwrap();
    fs::set_permissions(root.join("secret"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(root.join("static"), fs::Permissions::from_mode(0o555)).unwrap();
    symlink("bin/app", root.join("current-app")).unwrap();
    symlink("static", root.join("www")).unwrap();
    symlink("/nonexistent/raijin-target", root.join("dangling")).unwrap();
}

#[derive(Debug, PartialEq, Eq)]
enum Node {
    Dir(u32),
    File(u32, Vec<u8>),
    Link(std::path::PathBuf),
}

/// Everything under `root`, by relative path: type, mode, bytes, target.
fn snapshot(root: &Path) -> BTreeMap<String, Node> {
    fn go(dir: &Path, rel: &str, out: &mut BTreeMap<String, Node>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = fs::symlink_metadata(e.path()).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                out.insert(rel, Node::Link(fs::read_link(e.path()).unwrap()));
            } else if meta.is_dir() {
                out.insert(rel.clone(), Node::Dir(mode));
                go(&e.path(), &rel, out);
            } else {
                out.insert(rel, Node::File(mode, fs::read(e.path()).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    go(root, "", &mut out);
    out
}

fn without_time(mut m: Manifest) -> Manifest {
    m.created_at.clear();
    m
}

#[test]
fn directory_walk_is_sorted_and_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    sample_tree(a.path(), false);
    sample_tree(b.path(), true);
    let ma = bundle_artifact(a.path(), "v1", "static").unwrap().manifest;
    let mb = bundle_artifact(b.path(), "v1", "static").unwrap().manifest;
    let again = bundle_artifact(a.path(), "v1", "static").unwrap().manifest;
    assert_eq!(without_time(ma.clone()), without_time(mb));
    assert_eq!(without_time(ma.clone()), without_time(again));

    let paths: Vec<&str> = ma.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "big.dat",
            "bin/app",
            "bin/run.sh",
            "copy-of-app",
            "empty",
            "secret/key",
            "static/-dash",
            "static/a b/it's $(touch pwned) `x`.txt",
            "static/\u{fc}n\u{ef}code\nline",
        ]
    );
    let dirs: Vec<(&str, u32)> = ma.dirs.iter().map(|d| (d.path.as_str(), d.mode)).collect();
    assert_eq!(
        dirs,
        [
            ("bin", 0o755),
            ("secret", 0o700),
            ("static", 0o555),
            ("static/a b", 0o755),
            ("var", 0o755),
            ("var/empty", 0o755),
        ]
    );
    let links: Vec<(&str, &str)> = ma
        .links
        .iter()
        .map(|l| (l.path.as_str(), l.target.as_str()))
        .collect();
    assert_eq!(
        links,
        [
            ("current-app", "bin/app"),
            ("dangling", "/nonexistent/raijin-target"),
            ("www", "static"),
        ]
    );
    let app = &ma.files[1];
    assert_eq!((app.mode, app.size), (0o755, 300_000));
    assert_eq!(app.chunks, ma.files[3].chunks, "same bytes, same chunks");
    assert_eq!(ma.files[4].chunks.len(), 0, "an empty file has no chunks");
    let on_disk: usize = snapshot(a.path())
        .values()
        .map(|n| match n {
            Node::File(_, bytes) => bytes.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(ma.total_bytes(), on_disk as u64);
    let all: usize = ma.files.iter().map(|f| f.chunks.len()).sum();
    assert!(ma.chunk_set().len() < all, "duplicates counted once");

    let json = ma.to_json().unwrap();
    assert_eq!(Manifest::from_json(&json).unwrap(), ma);
}

#[test]
fn single_file_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("target/release/hello");
    write(&p, &pseudo_random(200_000, 5), 0o755);
    let b = bundle_artifact(&p, "1.0.0", "binary").unwrap();
    let m = &b.manifest;
    assert_eq!((m.version.as_str(), m.kind.as_str()), ("1.0.0", "binary"));
    assert!(m.created_at.ends_with('Z'), "{}", m.created_at);
    assert_eq!(m.files.len(), 1);
    assert!(m.dirs.is_empty() && m.links.is_empty());
    assert_eq!(m.files[0].path, "hello");
    assert_eq!(m.files[0].mode, 0o755);
    assert_eq!(m.total_bytes(), 200_000);
    assert_eq!(b.source_path(0), Some(p.as_path()));
}

#[test]
fn special_files_and_set_id_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("ok"), b"x", 0o644);
    let status = Command::new("mkfifo")
        .arg(dir.path().join("pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    let err = format!(
        "{:#}",
        bundle_artifact(dir.path(), "v", "static").unwrap_err()
    );
    assert!(err.contains("pipe is a FIFO"), "{err}");
    let err = format!(
        "{:#}",
        bundle_artifact(&dir.path().join("pipe"), "v", "binary").unwrap_err()
    );
    assert!(err.contains("is a FIFO"), "{err}");
    fs::remove_file(dir.path().join("pipe")).unwrap();

    let _sock = std::os::unix::net::UnixListener::bind(dir.path().join("sock")).unwrap();
    let err = format!(
        "{:#}",
        bundle_artifact(dir.path(), "v", "static").unwrap_err()
    );
    assert!(err.contains("sock is a socket"), "{err}");
    fs::remove_file(dir.path().join("sock")).unwrap();

    write(&dir.path().join("suid"), b"x", 0o4755);
    let err = format!(
        "{:#}",
        bundle_artifact(dir.path(), "v", "static").unwrap_err()
    );
    assert!(err.contains("suid is setuid or setgid"), "{err}");
    fs::remove_file(dir.path().join("suid")).unwrap();

    assert!(bundle_artifact(dir.path(), "v", "static").is_ok());
    let err = format!(
        "{:#}",
        bundle_artifact(&dir.path().join("absent"), "v", "binary").unwrap_err()
    );
    assert!(err.contains("absent"), "{err}");
}

#[test]
fn non_utf8_names_are_refused() {
    use std::os::unix::ffi::OsStrExt as _;
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"bad\xffname");
    write(&dir.path().join(name), b"x", 0o644);
    let err = format!(
        "{:#}",
        bundle_artifact(dir.path(), "v", "static").unwrap_err()
    );
    assert!(err.contains("not UTF-8"), "{err}");
}

#[test]
fn chunks_read_back_and_missing_lists_each_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let data = pseudo_random(1_000_000, 7);
    write(&dir.path().join("a"), &data, 0o644);
    write(&dir.path().join("b"), &data, 0o644);
    let mut tail = data.clone();
    tail.extend_from_slice(b"more");
    write(&dir.path().join("c"), &tail, 0o644);
    let b = bundle_artifact(dir.path(), "v", "static").unwrap();
    let m = &b.manifest;

    let all = b.missing(&HashSet::new());
    let want: Vec<&String> = {
        let mut seen = HashSet::new();
        m.files
            .iter()
            .flat_map(|f| &f.chunks)
            .filter(|h| seen.insert(*h))
            .collect()
    };
    assert_eq!(all.iter().map(|(h, _)| h).collect::<Vec<_>>(), want);
    assert_eq!(all.len(), m.chunk_set().len());

    let mut rebuilt = Vec::new();
    for h in &m.files[2].chunks {
        let bytes = b.read_chunk(h).unwrap();
        assert_eq!(Some(bytes.len() as u32), b.chunk_len(h));
        rebuilt.extend_from_slice(&bytes);
    }
    assert_eq!(rebuilt, tail);
    assert_eq!(hex::encode(Sha256::digest(&tail)), m.files[2].sha256);

    let present: HashSet<String> = m.files[0].chunks.iter().cloned().collect();
    let rest = b.missing(&present);
    assert!(rest.len() <= 2, "only c's tail differs: {rest:?}");
    assert!(rest.iter().all(|(h, _)| !present.contains(h)));

    let err = b.read_chunk(&"0".repeat(64)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(b.read_chunk("not-a-hash").is_err());
}

#[test]
fn a_file_changed_after_bundling_is_never_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app");
    write(&p, &pseudo_random(100_000, 8), 0o755);
    let b = bundle_artifact(&p, "v", "binary").unwrap();
    write(&p, &pseudo_random(100_000, 9), 0o755);
    let h = &b.manifest.files[0].chunks[0];
    let err = b.read_chunk(h).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        err.to_string().contains("changed since it was bundled"),
        "{err}"
    );
    assert!(err.to_string().contains(&p.display().to_string()), "{err}");
}

#[test]
fn manifest_validation_rejects_escapes() {
    let dir = tempfile::tempdir().unwrap();
    sample_tree(dir.path(), false);
    let good = bundle_artifact(dir.path(), "v", "static").unwrap().manifest;
    let bad = |f: &dyn Fn(&mut Manifest), needle: &str| {
        let mut m = good.clone();
        f(&mut m);
        let err = format!("{:#}", m.validate().unwrap_err());
        assert!(err.contains(needle), "{err} lacks {needle}");
        for builder in [Builder::Cat, Builder::Perl] {
            let script = materialize_plan(&m, builder);
            assert!(
                script.contains("exit 1") && !script.contains("cat --") && !script.contains("perl"),
                "{script}"
            );
        }
    };
    bad(&|m| m.files[0].path = "../etc/passwd".into(), "`..`");
    bad(&|m| m.files[0].path = "/etc/passwd".into(), "absolute");
    bad(
        &|m| m.files[0].path = "www/x".into(),
        "not under a directory",
    );
    bad(&|m| m.files[0].path = "bin/app".into(), "listed twice");
    bad(
        &|m| m.files[0].chunks[0] = "$(reboot)".into(),
        "malformed chunk",
    );
    bad(&|m| m.files[0].mode = 0o4755, "setuid");
    bad(&|m| m.format = 99, "format 99");
    assert!(Manifest::from_json("{}").is_err());
}

/// Put every chunk of `b` in `store/<hash>`, as a push would.
fn fill_store(b: &Bundle, store: &Path) {
    fs::create_dir_all(store).unwrap();
    for (h, len) in b.missing(&HashSet::new()) {
        let bytes = b.read_chunk(&h).unwrap();
        assert_eq!(bytes.len(), len as usize);
        fs::write(store.join(&h), bytes).unwrap();
    }
}

fn run_plan(m: &Manifest, store: &Path, release: &Path, builder: Builder) -> (bool, String) {
    let script = release.with_extension("sh");
    fs::create_dir_all(release.parent().unwrap()).unwrap();
    fs::write(&script, materialize_plan(m, builder)).unwrap();
    let out = Command::new("sh")
        .arg(&script)
        .env("STORE", store)
        .env("RELEASE", release)
        .current_dir(store)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn materialize_rebuilds_the_tree_exactly() {
    rebuilds_the_tree_exactly(Builder::Cat);
    rebuilds_the_tree_exactly(Builder::Perl);
}

fn rebuilds_the_tree_exactly(builder: Builder) {
    let src = tempfile::tempdir().unwrap();
    let host = tempfile::tempdir().unwrap();
    sample_tree(src.path(), false);
    let b = bundle_artifact(src.path(), "v1 'quoted'", "static").unwrap();
    let big = b
        .manifest
        .files
        .iter()
        .find(|f| f.path == "big.dat")
        .unwrap();
    assert!(big.chunks.len() > 64, "big.dat must need several cat lines");
    let store = host.path().join("store");
    fill_store(&b, &store);

    let release = host.path().join("releases/v1");
    let (ok, err) = run_plan(&b.manifest, &store, &release, builder);
    assert!(ok, "materialize failed: {err}");
    assert_eq!(snapshot(&release), snapshot(src.path()));
    assert!(!host.path().join("releases/v1.partial").exists());
    assert!(!store.join("pwned").exists() && !release.join("pwned").exists());

    let (ok, err) = run_plan(&b.manifest, &store, &release, builder);
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");

    // A single-file artifact lands as one file in the release.
    let one = bundle_artifact(&src.path().join("bin/app"), "v2", "binary").unwrap();
    let release2 = host.path().join("releases/v2");
    let (ok, err) = run_plan(&one.manifest, &store, &release2, builder);
    assert!(ok, "{err}");
    assert_eq!(
        fs::read(release2.join("app")).unwrap(),
        fs::read(src.path().join("bin/app")).unwrap()
    );
}

#[test]
fn the_perl_builder_copies_chunks_and_gives_each_file_its_mode() {
    use std::os::unix::fs::MetadataExt;
    let src = tempfile::tempdir().unwrap();
    let host = tempfile::tempdir().unwrap();
    write(&src.path().join("run.sh"), b"same bytes\n", 0o755);
    write(&src.path().join("same.txt"), b"same bytes\n", 0o644);
    write(&src.path().join("other.txt"), b"other\n", 0o644);
    let b = bundle_artifact(src.path(), "v1", "static").unwrap();
    let store = host.path().join("store");
    fill_store(&b, &store);
    let release = host.path().join("releases/v1");
    let (ok, err) = run_plan(&b.manifest, &store, &release, Builder::Perl);
    assert!(ok, "{err}");
    // Every file has its own mode and content, and no file shares the store's inode.
    assert_eq!(snapshot(&release), snapshot(src.path()));
    for f in &b.manifest.files {
        let chunk = fs::metadata(store.join(&f.chunks[0])).unwrap();
        assert_eq!(chunk.nlink(), 1, "{}", f.path);
        assert_ne!(
            fs::metadata(release.join(&f.path)).unwrap().ino(),
            chunk.ino()
        );
    }
}

#[test]
fn materialize_fails_naming_the_file_on_a_bad_or_missing_chunk() {
    fails_naming_the_file(Builder::Cat);
    fails_naming_the_file(Builder::Perl);
}

fn fails_naming_the_file(builder: Builder) {
    let src = tempfile::tempdir().unwrap();
    let host = tempfile::tempdir().unwrap();
    sample_tree(src.path(), false);
    let b = bundle_artifact(src.path(), "v1", "static").unwrap();
    let store = host.path().join("store");
    fill_store(&b, &store);
    let release = host.path().join("releases/v1");

    // Corrupt a chunk only big.dat uses.
    let m = &b.manifest;
    let big = m.files.iter().find(|f| f.path == "big.dat").unwrap();
    let victim = &big.chunks[3];
    assert_eq!(
        m.files.iter().filter(|f| f.chunks.contains(victim)).count(),
        1
    );
    let mut bytes = fs::read(store.join(victim)).unwrap();
    bytes[100] ^= 1;
    fs::write(store.join(victim), &bytes).unwrap();
    let (ok, err) = run_plan(m, &store, &release, builder);
    assert!(!ok);
    println!("corrupt chunk: {err}");
    assert!(
        err.contains("raijin: materialize v1: big.dat: assembled content does not match"),
        "{err}"
    );
    assert!(!release.exists(), "no release after a failure");
    assert!(!host.path().join("releases/v1.partial").exists());

    // Missing chunk of the oddly named file.
    bytes[100] ^= 1;
    fs::write(store.join(victim), &bytes).unwrap();
    let odd = m
        .files
        .iter()
        .find(|f| f.path.starts_with("static/a b/"))
        .unwrap();
    fs::remove_file(store.join(&odd.chunks[0])).unwrap();
    let (ok, err) = run_plan(m, &store, &release, builder);
    assert!(!ok);
    println!("missing chunk: {err}");
    assert!(
        err.contains("static/a b/it's $(touch pwned) `x`.txt: a chunk of it is missing"),
        "{err}"
    );
    assert!(!release.exists());
}

fn run_script(script_text: &str, store: &Path, release: &Path) -> (bool, String, String) {
    let script = release.with_extension("sh");
    fs::create_dir_all(release.parent().unwrap()).unwrap();
    fs::write(&script, script_text).unwrap();
    let out = Command::new("sh")
        .arg(&script)
        .env("STORE", store)
        .env("RELEASE", release)
        .current_dir(store)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_delta_on_an_earlier_release_builds_only_what_changed_and_equals_a_full_build() {
    use crate::remote::scripts::materialize::delta_plan;
    use std::os::unix::fs::MetadataExt as _;
    let src = tempfile::tempdir().unwrap();
    let host = tempfile::tempdir().unwrap();
    sample_tree(src.path(), false);
    let b1 = bundle_artifact(src.path(), "v1", "static").unwrap();
    let store = host.path().join("store");
    fill_store(&b1, &store);
    let r1 = host.path().join("releases/v1");
    assert!(run_plan(&b1.manifest, &store, &r1, Builder::Perl).0);

    // Every kind of change: content, mode only, removed file, new file in a new dir,
    // a symlink retargeted, a dir's mode, a dir removed.
    fs::write(src.path().join("copy-of-app"), b"changed\n").unwrap();
    fs::set_permissions(
        src.path().join("bin/run.sh"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    fs::remove_file(src.path().join("empty")).unwrap();
    fs::create_dir_all(src.path().join("new/dir")).unwrap();
    fs::write(src.path().join("new/dir/file"), b"new\n").unwrap();
    fs::remove_file(src.path().join("www")).unwrap();
    symlink("bin", src.path().join("www")).unwrap();
    fs::set_permissions(src.path().join("secret"), fs::Permissions::from_mode(0o750)).unwrap();
    fs::remove_dir(src.path().join("var/empty")).unwrap();
    let b2 = bundle_artifact(src.path(), "v2", "static").unwrap();
    fill_store(&b2, &store);

    let r2 = host.path().join("releases/v2");
    let script = delta_plan(
        &b1.manifest,
        r1.to_str().unwrap(),
        &b2.manifest,
        Builder::Cat,
    );
    let (ok, out, err) = run_script(&script, &store, &r2);
    assert!(ok, "{err}");
    assert_eq!(snapshot(&r2), snapshot(src.path()));
    let files = b2.manifest.files.len();
    assert_eq!(out.trim(), format!("delta {} 3", files - 3), "{out}");
    // Unchanged files share their inode with the earlier release; changed ones don't,
    // and the earlier release is untouched.
    let ino = |p: &Path| fs::metadata(p).unwrap().ino();
    assert_eq!(ino(&r1.join("big.dat")), ino(&r2.join("big.dat")));
    assert_ne!(ino(&r1.join("bin/run.sh")), ino(&r2.join("bin/run.sh")));
    assert_eq!(
        fs::metadata(r1.join("bin/run.sh"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o750
    );
    assert!(r1.join("empty").exists() && r1.join("var/empty").is_dir());
    // The script holds the changed files only.
    assert_eq!(script.matches("\np=").count(), 3, "{script}");

    // A corrupt chunk of a changed file is still caught (built by perl this time).
    fs::write(src.path().join("copy-of-app"), b"changed again\n").unwrap();
    let b3 = bundle_artifact(src.path(), "v3", "static").unwrap();
    fill_store(&b3, &store);
    let changed = b3
        .manifest
        .files
        .iter()
        .find(|f| f.path == "copy-of-app")
        .unwrap();
    fs::write(store.join(&changed.chunks[0]), b"not it\n").unwrap();
    let r3 = host.path().join("releases/v3");
    let (ok, _, err) = run_script(
        &delta_plan(
            &b2.manifest,
            r2.to_str().unwrap(),
            &b3.manifest,
            Builder::Perl,
        ),
        &store,
        &r3,
    );
    assert!(!ok);
    assert!(
        err.contains("copy-of-app: assembled content does not match"),
        "{err}"
    );
    assert!(!r3.exists() && !host.path().join("releases/v3.partial").exists());
}
