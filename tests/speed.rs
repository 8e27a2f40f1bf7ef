//! A release of many files costs what changed, on the testbed: a 2,000-file static
//! site redeployed with one file changed sends about that file and builds only it on
//! the host (the rest is linked from the running release), serves the new file, and a
//! corrupted stored chunk of a changed file is still caught. Speed figures against
//! rsync are a benchmark (scripts/bench-static), not a test. A host without perl or
//! gzip gets the same release, built a file at a time.

#[path = "common/apps.rs"]
mod apps;
mod common;

use apps::{curl, deploy, fresh, ready, report, static_app};
use common::{stderr, stdout};

/// `n` small files of pseudo-random text in 20 directories.
fn site(dir: &std::path::Path, n: usize, seed: u64) {
    let mut x = seed | 1;
    for i in 0..n {
        let sub = dir.join(format!("d{:02}", i % 20));
        std::fs::create_dir_all(&sub).unwrap();
        let body: String = (0..2000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'a' + (x % 26) as u8)
            })
            .collect();
        std::fs::write(sub.join(format!("f{i:04}.html")), format!("{i} {body}\n")).unwrap();
    }
    std::fs::write(dir.join("index.html"), "index v1\n").unwrap();
}

/// The `push` step's detail of a `--json` run.
fn push_detail(out: &std::process::Output) -> String {
    stdout(out)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "step_finished" && v["step"] == "push")
        .and_then(|v| v["detail"].as_str().map(String::from))
        .unwrap_or_default()
}

#[test]
fn one_changed_file_of_2000_costs_one_file() {
    let Some(tb) = ready() else { return };
    let host = "h3";
    let app = "tmany";
    fresh(tb, app, &[host]);
    let dir = tempfile::tempdir().unwrap();
    site(dir.path(), 2000, 99);
    let (_d, cfg) = tb.temp_config(&static_app(tb, app, &[host], dir.path(), 3));
    let first = deploy(&cfg, app, "m1");
    assert!(first.status.success(), "{}", stderr(&first));
    let total = report(&first)["artifact_bytes"].as_u64().unwrap();

    std::fs::write(dir.path().join("d07/f0007.html"), "changed\n").unwrap();
    let second = deploy(&cfg, app, "m2");
    assert!(second.status.success(), "{}", stderr(&second));
    let sent = report(&second)["hosts"][0]["bytes_sent"].as_u64().unwrap();
    let detail = push_detail(&second);
    println!("{total} bytes in 2001 files; one changed: sent {sent} bytes; {detail}");
    assert_eq!(sent, 8, "only the changed file's one chunk: {detail}");
    assert!(
        detail.contains("built 1 files from chunks and linked 2000 unchanged"),
        "{detail}"
    );
    assert_eq!(curl(tb, host, "tmany.test", "/d07/f0007.html"), "changed\n");
    assert_eq!(
        curl(tb, host, "tmany.test", "/index.html"),
        "index v1\n",
        "an unchanged file"
    );
    // Unchanged files are the running release's, linked: one inode for both.
    let inodes = tb.ssh(
        host,
        "stat -c %i /var/lib/raijin/tmany/releases/m1/site/d01/f0001.html /var/lib/raijin/tmany/releases/m2/site/d01/f0001.html",
    );
    let ino: Vec<&str> = inodes.lines().collect();
    assert_eq!(ino.len(), 2);
    assert_eq!(ino[0], ino[1], "{inodes}");

    // The manifest and the chunk list went as changes to m1's, and came out whole.
    let lists = |release: &str| {
        let m = tb.ssh(
            host,
            &format!("cat /var/lib/raijin/tmany/releases/{release}/.raijin/manifest.json"),
        );
        let m = raijin::bundle::Manifest::from_json(&m).unwrap_or_else(|e| panic!("{e}: {m}"));
        let chunks = tb.ssh(
            host,
            &format!("cat /var/lib/raijin/tmany/releases/{release}/.raijin/chunks"),
        );
        let want: Vec<&str> = m.chunk_set().into_iter().collect();
        assert_eq!(
            chunks.lines().collect::<Vec<_>>(),
            want,
            "{release}'s chunk list"
        );
        m
    };
    let m2 = lists("m2");
    assert_eq!(m2.files.len(), 2001);
    let changed = m2
        .files
        .iter()
        .find(|f| f.path == "d07/f0007.html")
        .unwrap();
    assert_eq!(changed.size, 8);

    // The running release's chunk list is not what this machine thinks it is: the
    // rebuilt one would differ, so both lists are sent whole, and the deploy is right.
    tb.ssh(
        host,
        &format!(
            "sed -i '1s/.*/{}/' /var/lib/raijin/tmany/releases/m2/.raijin/chunks",
            "f".repeat(64)
        ),
    );
    std::fs::write(dir.path().join("d09/f0009.html"), "changed again\n").unwrap();
    let m2b = deploy(&cfg, app, "m2b");
    assert!(m2b.status.success(), "{}", stderr(&m2b));
    let log = std::fs::read_to_string(common::sandbox().raijin_state().join("raijin.log"))
        .unwrap_or_default();
    assert!(
        log.contains("sending the manifest and chunk list whole"),
        "the mismatch was not noticed"
    );
    let m = lists("m2b");
    assert!(
        m.files
            .iter()
            .any(|f| f.path == "d09/f0009.html" && f.size == 14)
    );
    assert_eq!(
        curl(tb, host, "tmany.test", "/d09/f0009.html"),
        "changed again\n"
    );
    assert_eq!(
        tb.ssh(
            host,
            "ls /var/lib/raijin/tmany/run | grep -c '^lists' || true"
        )
        .trim(),
        "0",
        "no leftover"
    );

    // A stored chunk of the next changed file is corrupt on the host: caught, and
    // m2 keeps serving.
    std::fs::write(dir.path().join("d08/f0008.html"), "changed too\n").unwrap();
    let (_d2, probe_cfg) = tb.temp_config(&static_app(tb, app, &[host], dir.path(), 3));
    let hash = {
        let b = raijin::bundle::bundle_artifact(dir.path(), "m3", "static").unwrap();
        b.manifest
            .files
            .iter()
            .find(|f| f.path == "d08/f0008.html")
            .unwrap()
            .chunks[0]
            .clone()
    };
    tb.ssh(
        host,
        &format!("printf 'not it\\n' > /var/lib/raijin/tmany/store/{hash}"),
    );
    let third = deploy(&probe_cfg, app, "m3");
    assert!(!third.status.success());
    let err = report(&third)["hosts"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        err.contains("d08/f0008.html: assembled content does not match"),
        "{err}"
    );
    assert_eq!(curl(tb, host, "tmany.test", "/d07/f0007.html"), "changed\n");
}

/// A host without perl and gzip (both optional): the files are built by a `cat` each
/// and the chunks go uncompressed, and the release is the same.
#[test]
fn a_host_without_perl_or_gzip_builds_the_same_release() {
    let Some(tb) = ready() else { return };
    let host = "h4";
    let app = "tnoperl";
    let _lock = common::lock_host(host);
    fresh(tb, app, &[host]);
    let hide = "mkdir -p /root/raijin-hidden && for p in perl gzip; do \
                f=$(command -v $p) && mv \"$f\" /root/raijin-hidden/ && echo \"$f\" >> /root/raijin-hidden/paths; \
                done; command -v perl gzip || echo hidden";
    struct Restore<'a>(&'a common::Testbed);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            self.0.ssh(
                "h4",
                "while read -r f; do mv \"/root/raijin-hidden/${f##*/}\" \"$f\"; done \
                 < /root/raijin-hidden/paths; rm -rf /root/raijin-hidden",
            );
        }
    }
    assert_eq!(tb.ssh(host, hide).trim(), "hidden");
    let _r = Restore(tb);
    let dir = tempfile::tempdir().unwrap();
    // Enough small files that a host with gzip would get them compressed.
    site(dir.path(), 200, 7);
    let (_d, cfg) = tb.temp_config(&static_app(tb, app, &[host], dir.path(), 3));
    let first = deploy(&cfg, app, "n1");
    assert!(first.status.success(), "{}", stderr(&first));
    std::fs::write(dir.path().join("d03/f0003.html"), "changed\n").unwrap();
    std::fs::write(dir.path().join("new.html"), "new\n").unwrap();
    let second = deploy(&cfg, app, "n2");
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(
        curl(tb, host, &format!("{app}.test"), "/d03/f0003.html"),
        "changed\n"
    );
    assert_eq!(curl(tb, host, &format!("{app}.test"), "/new.html"), "new\n");
    let want = std::fs::read_to_string(dir.path().join("d11/f0011.html")).unwrap();
    assert_eq!(
        curl(tb, host, &format!("{app}.test"), "/d11/f0011.html"),
        want
    );
    fresh(tb, app, &[host]);
}
