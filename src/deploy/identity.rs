//! A release is its content. Its digest covers the artifact manifest (paths, modes,
//! links, empty files, chunks; not when or under which id it was bundled), the
//! rendered units and their instances, the Caddy site, the hooks, the kind and user,
//! and the environment, which may hold secrets and so enters only as an HMAC under
//! the host's own key (`state/key`, root-only): a release directory never records a
//! secret, not even as a plain hash.
//!
//! Deploying a version id that a host already has compares digests: the same content
//! reuses the release; other content is installed beside it as `VERSION~STAMP`, so a
//! redeploy under an unchanged `git describe` with a rotated secret or a changed file
//! mode puts the new content in effect instead of reporting success with the old.

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

use crate::bundle::Manifest;
use crate::config::HooksConfig;
use crate::remote::layout::RELEASE_SUFFIX_SEP;

/// What a release is made of, besides its environment.
pub struct Content<'a> {
    pub manifest: &'a Manifest,
    pub units: &'a [(String, String)],
    pub instances: &'a [String],
    pub site: Option<&'a str>,
    pub hooks: &'a HooksConfig,
    pub kind: &'a str,
    pub user: &'a str,
}

/// The digest of everything but the environment (the same on every host).
pub fn public_digest(c: &Content<'_>) -> [u8; 32] {
    let mut manifest = c.manifest.clone();
    manifest.version.clear();
    manifest.created_at.clear();
    let mut h = Sha256::new();
    let mut field = |name: &str, value: &[u8]| {
        h.update(name.as_bytes());
        h.update((value.len() as u64).to_be_bytes());
        h.update(value);
    };
    field("format", b"raijin-release-content-1");
    field(
        "manifest",
        serde_json::to_string(&manifest)
            .unwrap_or_default()
            .as_bytes(),
    );
    for (name, contents) in c.units {
        field("unit", name.as_bytes());
        field("unit-contents", contents.as_bytes());
    }
    field("instances", c.instances.join("\n").as_bytes());
    field("site", c.site.unwrap_or("").as_bytes());
    for (name, hook) in [
        ("pre_install", &c.hooks.pre_install),
        ("post_install", &c.hooks.post_install),
        ("post_activate", &c.hooks.post_activate),
        ("on_failure", &c.hooks.on_failure),
    ] {
        field(name, hook.as_deref().unwrap_or("").as_bytes());
    }
    field("kind", c.kind.as_bytes());
    field("user", c.user.as_bytes());
    h.finalize().into()
}

/// The release's digest on one host: the public digest and the environment file's
/// HMAC-SHA256 under the host's key, hashed together; lowercase hex.
pub fn digest(public: &[u8; 32], host_key: &str, env: &str) -> String {
    let mut h = Sha256::new();
    h.update(public);
    // HMAC takes keys of any length, so this never fails.
    if let Ok(mut mac) = <Hmac<Sha256>>::new_from_slice(host_key.as_bytes()) {
        mac.update(env.as_bytes());
        h.update(mac.finalize().into_bytes());
    }
    hex::encode(h.finalize())
}

/// A release of `version` on a host that already has `have` (release id, digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// A release with the same content exists: use it.
    Reuse(String),
    /// Install under this id.
    New(String),
}

/// Pick the release id for content `digest` of `version`: an existing release with the
/// same digest, else `version` when the host has no release of that id, else
/// `version~STAMP` (`stamp`: the deploy's time, `YYYYMMDDhhmmss`; raised until free).
pub fn choose(version: &str, digest: &str, have: &[(String, String)], stamp: u64) -> Choice {
    if let Some((id, _)) = have.iter().find(|(_, d)| d == digest) {
        return Choice::Reuse(id.clone());
    }
    if !have.iter().any(|(id, _)| id == version) {
        return Choice::New(version.to_string());
    }
    let mut n = stamp;
    loop {
        let id = format!("{version}{RELEASE_SUFFIX_SEP}{n}");
        if !have.iter().any(|(h, _)| *h == id) {
            return Choice::New(id);
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{FileEntry, LinkEntry, MANIFEST_FORMAT};

    fn manifest() -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            version: "v1".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            kind: "static".into(),
            dirs: vec![],
            files: vec![FileEntry {
                path: "index.html".into(),
                mode: 0o644,
                size: 0,
                sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
                chunks: vec![],
            }],
            links: vec![],
        }
    }

    fn public(m: &Manifest) -> [u8; 32] {
        let hooks = HooksConfig::default();
        public_digest(&Content {
            manifest: m,
            units: &[],
            instances: &[],
            site: None,
            hooks: &hooks,
            kind: "static",
            user: "docs",
        })
    }

    #[test]
    fn when_and_under_which_id_do_not_matter() {
        let a = manifest();
        let mut b = manifest();
        b.version = "v9".into();
        b.created_at = "2030-01-01T00:00:00Z".into();
        assert_eq!(public(&a), public(&b));
    }

    #[test]
    fn modes_links_and_empty_files_do() {
        let base = public(&manifest());
        let mut m = manifest();
        m.files[0].mode = 0o755;
        assert_ne!(public(&m), base, "mode");
        let mut m = manifest();
        m.links.push(LinkEntry {
            path: "www".into(),
            target: "index.html".into(),
        });
        assert_ne!(public(&m), base, "symlink");
        let mut m = manifest();
        let mut empty = m.files[0].clone();
        empty.path = "empty".into();
        m.files.push(empty);
        assert_ne!(public(&m), base, "empty file");
    }

    #[test]
    fn the_environment_counts_only_under_the_hosts_key() {
        let p = public(&manifest());
        let d1 = digest(&p, "k1", "TOKEN=\"a\"\n");
        assert_eq!(d1, digest(&p, "k1", "TOKEN=\"a\"\n"));
        assert_ne!(d1, digest(&p, "k1", "TOKEN=\"b\"\n"), "rotated secret");
        assert_ne!(d1, digest(&p, "k2", "TOKEN=\"a\"\n"), "another host's key");
    }

    #[test]
    fn choosing_a_release_id() {
        let have = vec![("v1".to_string(), "d1".to_string())];
        assert_eq!(choose("v1", "d1", &have, 5), Choice::Reuse("v1".into()));
        assert_eq!(choose("v2", "d2", &[], 5), Choice::New("v2".into()));
        assert_eq!(choose("v1", "d2", &have, 5), Choice::New("v1~5".into()));
        let have = vec![
            ("v1".to_string(), "d1".to_string()),
            ("v1~5".to_string(), "d3".to_string()),
        ];
        assert_eq!(choose("v1", "d2", &have, 5), Choice::New("v1~6".into()));
        assert_eq!(choose("v1", "d3", &have, 5), Choice::Reuse("v1~5".into()));
    }
}
