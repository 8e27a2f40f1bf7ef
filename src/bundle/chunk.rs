//! Content-defined chunking: cut bytes into FastCDC (v2020) chunks and name
//! each by its SHA-256, so an edit to an artifact changes only the chunks
//! around it and a host is sent only the chunks it lacks.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use anyhow::Context as _;
use fastcdc::v2020::{FastCDC, StreamCDC};
use sha2::{Digest, Sha256};

/// No chunk is shorter than this, except the last one of a file.
pub const MIN_CHUNK: u32 = 16 * 1024;
/// The chunk size FastCDC aims for.
pub const AVG_CHUNK: u32 = 64 * 1024;
/// No chunk is longer than this.
pub const MAX_CHUNK: u32 = 256 * 1024;

/// One piece of content, named by the SHA-256 of its bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Chunk {
    pub hash: [u8; 32],
    pub len: u32,
}

impl Chunk {
    /// The chunk holding exactly `data` (at most [`MAX_CHUNK`] bytes).
    fn of(data: &[u8]) -> Self {
        debug_assert!(data.len() <= MAX_CHUNK as usize);
        Self {
            hash: Sha256::digest(data).into(),
            len: data.len() as u32,
        }
    }

    /// The hash as 64 lowercase hex digits: the chunk's name in the store.
    pub fn hex(&self) -> String {
        hex::encode(self.hash)
    }
}

impl fmt::Debug for Chunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Chunk({} {} B)", self.hex(), self.len)
    }
}

/// Parse a chunk or file hash as written in a manifest: exactly 64
/// lowercase hex digits (the form store file names use).
pub fn parse_hash(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// The chunks of one stream, in order, with the SHA-256 of the whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunked {
    pub chunks: Vec<Chunk>,
    pub size: u64,
    pub sha256: [u8; 32],
}

/// Chunk bytes already in memory. Cut points are the same as
/// [`chunk_reader`]'s for the same bytes.
pub fn chunk_bytes(data: &[u8]) -> Vec<Chunk> {
    FastCDC::new(
        data,
        MIN_CHUNK as usize,
        AVG_CHUNK as usize,
        MAX_CHUNK as usize,
    )
    .map(|c| Chunk::of(&data[c.offset..c.offset + c.length]))
    .collect()
}

/// Chunk a stream, holding at most one [`MAX_CHUNK`] buffer of it in
/// memory, and hash the whole stream on the way.
pub fn chunk_reader<R: Read>(reader: R) -> io::Result<Chunked> {
    let mut source = HashingReader {
        inner: reader,
        hasher: Sha256::new(),
        size: 0,
    };
    let mut chunks = Vec::new();
    let cdc = StreamCDC::new(
        &mut source,
        MIN_CHUNK as usize,
        AVG_CHUNK as usize,
        MAX_CHUNK as usize,
    );
    for piece in cdc {
        let piece = piece.map_err(io::Error::from)?;
        chunks.push(Chunk::of(&piece.data));
    }
    Ok(Chunked {
        chunks,
        size: source.size,
        sha256: source.hasher.finalize().into(),
    })
}

/// Chunk a file from disk (streamed; see [`chunk_reader`]).
pub fn chunk_file(path: &Path) -> anyhow::Result<Chunked> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    chunk_reader(file).with_context(|| format!("reading {}", path.display()))
}

/// Passes reads through, hashing and counting every byte.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_parse_round_trip() {
        let c = Chunk::of(b"hello");
        assert_eq!(
            c.hex(),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(c.len, 5);
        assert_eq!(parse_hash(&c.hex()), Some(c.hash));
        assert_eq!(parse_hash(&c.hex().to_uppercase()), None);
        assert_eq!(parse_hash("abc"), None);
        assert_eq!(parse_hash(&"g".repeat(64)), None);
    }

    #[test]
    fn empty_and_small_inputs() {
        assert!(chunk_bytes(b"").is_empty());
        let streamed = chunk_reader(&b""[..]).unwrap();
        assert!(streamed.chunks.is_empty());
        assert_eq!(streamed.size, 0);
        assert_eq!(
            hex::encode(streamed.sha256),
            hex::encode(Sha256::digest(b""))
        );

        let small = vec![7u8; 1000];
        let chunks = chunk_bytes(&small);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].len, 1000);
    }
}
