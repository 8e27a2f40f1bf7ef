//! The install manifest: the directories, files and symlinks an artifact is
//! made of, their modes, and the chunks (by SHA-256) each file is assembled
//! from. It travels with each release as JSON and is what the host's
//! materialize script is generated from.

use std::collections::{BTreeSet, HashSet};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use super::chunk::parse_hash;

/// The manifest layout this code writes and understands.
pub const MANIFEST_FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout of this document ([`MANIFEST_FORMAT`]).
    pub format: u32,
    /// The release's version id.
    pub version: String,
    /// When the bundle was made, RFC 3339 in UTC.
    pub created_at: String,
    /// The app kind the artifact belongs to (`binary`, `python`, `static`).
    pub kind: String,
    /// Subdirectories of a directory artifact, parents before children.
    #[serde(default)]
    pub dirs: Vec<DirEntry>,
    pub files: Vec<FileEntry>,
    #[serde(default)]
    pub links: Vec<LinkEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirEntry {
    /// Relative, `/`-separated.
    pub path: String,
    /// Permission bits (e.g. `0o755`).
    pub mode: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative, `/`-separated.
    pub path: String,
    /// Permission bits (e.g. `0o755`); never setuid or setgid.
    pub mode: u32,
    pub size: u64,
    /// SHA-256 of the whole file, lowercase hex.
    pub sha256: String,
    /// The file's chunks in order, as lowercase hex SHA-256.
    pub chunks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkEntry {
    /// Relative, `/`-separated.
    pub path: String,
    /// Where the link points, exactly as read from the artifact.
    pub target: String,
}

impl Manifest {
    /// Every distinct chunk hash the artifact needs, sorted.
    pub fn chunk_set(&self) -> BTreeSet<&str> {
        self.files
            .iter()
            .flat_map(|f| f.chunks.iter().map(String::as_str))
            .collect()
    }

    /// Size of the artifact: the sum of its files' sizes.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    pub fn to_json(&self) -> anyhow::Result<String> {
        serde_json::to_string_pretty(self).context("writing bundle manifest")
    }

    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        let m: Self = serde_json::from_str(text).context("parsing bundle manifest")?;
        m.validate()?;
        Ok(m)
    }

    /// Check what a host would otherwise trust blindly: paths stay inside the
    /// release (relative, no `.`/`..`, every parent a listed directory, so
    /// never through a symlink), no path twice, hashes well-formed, modes
    /// without setuid/setgid on files.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.format != MANIFEST_FORMAT {
            bail!(
                "bundle manifest format {} is not supported (this raijin reads format {MANIFEST_FORMAT})",
                self.format
            );
        }
        let mut seen: HashSet<&str> = HashSet::new();
        let mut dirs: HashSet<&str> = HashSet::new();
        let paths = self
            .dirs
            .iter()
            .map(|d| (d.path.as_str(), "directory"))
            .chain(self.files.iter().map(|f| (f.path.as_str(), "file")))
            .chain(self.links.iter().map(|l| (l.path.as_str(), "symlink")));
        for (path, what) in paths {
            check_path(path).with_context(|| format!("bundle manifest: {what} `{path}`"))?;
            if !seen.insert(path) {
                bail!("bundle manifest: `{path}` is listed twice");
            }
            if let Some((parent, _)) = path.rsplit_once('/')
                && !dirs.contains(parent)
            {
                bail!("bundle manifest: {what} `{path}` is not under a directory listed before it");
            }
            if what == "directory" {
                dirs.insert(path);
            }
        }
        for d in &self.dirs {
            if d.mode > 0o7777 || d.mode & 0o022 != 0 {
                bail!(
                    "bundle manifest: directory `{}` has mode {:o} (not a mode, or writable by group or others)",
                    d.path,
                    d.mode
                );
            }
        }
        for f in &self.files {
            if f.mode & !0o1755 != 0 {
                bail!(
                    "bundle manifest: file `{}` has mode {:o} (setuid/setgid, writable by group or others, or not a mode)",
                    f.path,
                    f.mode
                );
            }
            if parse_hash(&f.sha256).is_none() {
                bail!("bundle manifest: file `{}` has a malformed sha256", f.path);
            }
            if let Some(bad) = f.chunks.iter().find(|c| parse_hash(c).is_none()) {
                bail!(
                    "bundle manifest: file `{}` lists a malformed chunk hash `{bad}`",
                    f.path
                );
            }
        }
        for l in &self.links {
            if l.target.is_empty() || l.target.contains('\0') {
                bail!(
                    "bundle manifest: symlink `{}` has an empty or NUL target",
                    l.path
                );
            }
        }
        Ok(())
    }
}

fn check_path(path: &str) -> anyhow::Result<()> {
    if path.is_empty() {
        bail!("empty path");
    }
    if path.starts_with('/') {
        bail!("absolute path");
    }
    if path.contains('\0') {
        bail!("NUL in path");
    }
    if path
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        bail!("empty, `.` or `..` component");
    }
    Ok(())
}
