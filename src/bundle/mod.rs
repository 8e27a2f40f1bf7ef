//! Bundling: turn a built artifact (one file or a directory tree) into
//! content-defined chunks plus a manifest, so a deploy uploads only the
//! chunks a host lacks and the host can rebuild and verify the release.
//!
//! - [`chunk`]: FastCDC chunking and SHA-256 naming.
//! - [`manifest`]: the JSON manifest of files, links, directories and modes.
//! - [`arch`]: refusing a binary built for another CPU than the host's.

pub mod arch;
pub mod chunk;
pub mod manifest;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use sha2::{Digest as _, Sha256};

pub use arch::{ArchMismatch, check_arch, elf_machine};
pub use chunk::{
    AVG_CHUNK, Chunk, Chunked, MAX_CHUNK, MIN_CHUNK, chunk_bytes, chunk_file, chunk_reader,
    parse_hash,
};
pub use manifest::{DirEntry, FileEntry, LinkEntry, MANIFEST_FORMAT, Manifest};

/// Mode bits a release never has: its files are root's and the app only reads them,
/// so group and other write are dropped from the artifact's modes.
pub const NOT_WRITABLE_BY_OTHERS: u32 = 0o022;

/// An artifact's manifest, plus where each chunk's bytes are in the
/// artifact's files. Chunk bytes are read on demand, so a bundle of any
/// size costs only its index in memory.
#[derive(Debug)]
pub struct Bundle {
    pub manifest: Manifest,
    /// On-disk path of each `manifest.files` entry, same order.
    sources: Vec<PathBuf>,
    index: HashMap<[u8; 32], ChunkLoc>,
}

/// Where a chunk's bytes are: the first place it occurs.
#[derive(Debug, Clone, Copy)]
struct ChunkLoc {
    file: usize,
    offset: u64,
    len: u32,
}

/// Bundle the artifact at `path`: a file (one entry named after it; a
/// symlink given here is followed) or a directory (walked in sorted order;
/// symlinks inside are recorded, not followed). Sockets, FIFOs and device
/// files are refused, as are setuid/setgid files and names that are not
/// UTF-8.
pub fn bundle_artifact(path: &Path, version: &str, kind: &str) -> anyhow::Result<Bundle> {
    let meta =
        fs::metadata(path).with_context(|| format!("reading artifact {}", path.display()))?;
    let mut walk = Walk::default();
    if meta.is_dir() {
        walk.dir(path, "")
            .with_context(|| format!("bundling artifact directory {}", path.display()))?;
    } else if meta.is_file() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("artifact {} has no UTF-8 file name", path.display()))?;
        walk.file(path, name.to_string(), &meta)
            .with_context(|| format!("bundling artifact {}", path.display()))?;
    } else {
        bail!(
            "artifact {} is {}; an artifact is a regular file or a directory",
            path.display(),
            special_kind(&meta.file_type())
        );
    }
    let created_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .context("formatting the bundle time")?;
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        version: version.to_string(),
        created_at,
        kind: kind.to_string(),
        dirs: walk.dirs,
        files: walk.files,
        links: walk.links,
    };
    manifest
        .validate()
        .with_context(|| format!("bundling artifact {}", path.display()))?;
    Ok(Bundle {
        manifest,
        sources: walk.sources,
        index: walk.index,
    })
}

impl Bundle {
    /// The bytes of chunk `hash` (lowercase hex), read from the artifact
    /// and checked against the hash: an artifact file rewritten since it was
    /// bundled is an error naming the file, never a wrong upload.
    pub fn read_chunk(&self, hash: &str) -> io::Result<Vec<u8>> {
        let loc = chunk::parse_hash(hash)
            .and_then(|h| self.index.get(&h))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("chunk {hash} is not part of this bundle"),
                )
            })?;
        let path = &self.sources[loc.file];
        let with_path = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        let mut file = File::open(path).map_err(with_path)?;
        file.seek(SeekFrom::Start(loc.offset)).map_err(with_path)?;
        let mut buf = vec![0u8; loc.len as usize];
        file.read_exact(&mut buf).map_err(with_path)?;
        if hex::encode(Sha256::digest(&buf)) != hash {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} changed since it was bundled (bytes {}..{} no longer match chunk {hash}); bundle again",
                    path.display(),
                    loc.offset,
                    loc.offset + u64::from(loc.len)
                ),
            ));
        }
        Ok(buf)
    }

    /// Length of chunk `hash`, if it is part of this bundle.
    pub fn chunk_len(&self, hash: &str) -> Option<u32> {
        chunk::parse_hash(hash)
            .and_then(|h| self.index.get(&h))
            .map(|l| l.len)
    }

    /// The chunks a host holding `present` still needs, with their lengths,
    /// in manifest order, each once.
    pub fn missing(&self, present: &HashSet<String>) -> Vec<(String, u32)> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut out = Vec::new();
        for hash in self.manifest.files.iter().flat_map(|f| &f.chunks) {
            if present.contains(hash) || !seen.insert(hash) {
                continue;
            }
            if let Some(len) = self.chunk_len(hash) {
                out.push((hash.clone(), len));
            }
        }
        out
    }

    /// On-disk path of the artifact file `manifest.files[i]` came from.
    pub fn source_path(&self, i: usize) -> Option<&Path> {
        self.sources.get(i).map(PathBuf::as_path)
    }
}

/// What a walk of the artifact collects.
#[derive(Default)]
struct Walk {
    dirs: Vec<DirEntry>,
    files: Vec<FileEntry>,
    links: Vec<LinkEntry>,
    sources: Vec<PathBuf>,
    index: HashMap<[u8; 32], ChunkLoc>,
}

impl Walk {
    /// Record everything under `dir`, whose path in the manifest is `rel`
    /// (`""` for the artifact root).
    fn dir(&mut self, dir: &Path, rel: &str) -> anyhow::Result<()> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                bail!(
                    "{}: the name is not UTF-8; rename it",
                    entry.path().display()
                );
            };
            entries.push((name.to_string(), entry.path()));
        }
        entries.sort();
        for (name, path) in entries {
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = fs::symlink_metadata(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let ft = meta.file_type();
            if ft.is_dir() {
                self.dirs.push(DirEntry {
                    path: rel.clone(),
                    mode: meta.permissions().mode() & 0o7777 & !NOT_WRITABLE_BY_OTHERS,
                });
                self.dir(&path, &rel)?;
            } else if ft.is_file() {
                self.file(&path, rel, &meta)?;
            } else if ft.is_symlink() {
                let target = fs::read_link(&path)
                    .with_context(|| format!("reading link {}", path.display()))?;
                let Some(target) = target.to_str() else {
                    bail!("{}: the symlink target is not UTF-8", path.display());
                };
                self.links.push(LinkEntry {
                    path: rel,
                    target: target.to_string(),
                });
            } else {
                bail!(
                    "{} is {}; an artifact may hold only regular files, directories and symlinks",
                    path.display(),
                    special_kind(&ft)
                );
            }
        }
        Ok(())
    }

    fn file(&mut self, path: &Path, rel: String, meta: &fs::Metadata) -> anyhow::Result<()> {
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o6000 != 0 {
            bail!(
                "{} is setuid or setgid (mode {mode:o}); raijin does not deploy set-id files: chmod ug-s it",
                path.display()
            );
        }
        let chunked = chunk_file(path)?;
        let file = self.files.len();
        let mut offset = 0u64;
        for c in &chunked.chunks {
            self.index.entry(c.hash).or_insert(ChunkLoc {
                file,
                offset,
                len: c.len,
            });
            offset += u64::from(c.len);
        }
        self.files.push(FileEntry {
            path: rel,
            mode: mode & !NOT_WRITABLE_BY_OTHERS,
            size: chunked.size,
            sha256: hex::encode(chunked.sha256),
            chunks: chunked.chunks.iter().map(Chunk::hex).collect(),
        });
        self.sources.push(path.to_path_buf());
        Ok(())
    }
}

fn special_kind(ft: &fs::FileType) -> &'static str {
    if ft.is_socket() {
        "a socket"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_char_device() {
        "a character device"
    } else {
        "not a regular file"
    }
}
