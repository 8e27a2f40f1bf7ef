//! Bundling throughput and what content-defined chunking saves on a
//! redeploy. Prints a table; run with `cargo bench --bench chunking`.
//! Under `cargo test --all-targets` (no `--bench` argument) it runs the same
//! code on small inputs as a smoke test.
//!
//! - cut only: FastCDC boundaries over an in-memory buffer, no hashing.
//! - sha256 only: one SHA-256 over the whole buffer.
//! - chunk+hash: `chunk_bytes` (cut + SHA-256 per chunk), in memory.
//! - streamed: `chunk_reader` (cut + SHA-256 per chunk + whole-file SHA-256,
//!   through a `Read`), what bundling a file does.
//! - bundle file: `bundle_artifact` on a file in the temp dir (page cache).
//! - then: the bytes a redeploy uploads after small edits to a 20 MiB file.

use std::collections::HashSet;
use std::io::Cursor;
use std::time::{Duration, Instant};

use fastcdc::v2020::FastCDC;
use raijin::bundle::{AVG_CHUNK, MAX_CHUNK, MIN_CHUNK, bundle_artifact, chunk_bytes, chunk_reader};
use sha2::{Digest, Sha256};

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

/// Best of `runs` timings of `f`.
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn row(name: &str, bytes: usize, took: Duration) {
    let mb = bytes as f64 / 1e6;
    println!(
        "{name:<28} {:>9.1} ms {:>9.0} MB/s",
        took.as_secs_f64() * 1e3,
        mb / took.as_secs_f64()
    );
}

/// (chunks new, chunks total, bytes new) when `new` replaces `old`.
fn upload(old: &[u8], new: &[u8]) -> (usize, usize, u64) {
    let have: HashSet<[u8; 32]> = chunk_bytes(old).iter().map(|c| c.hash).collect();
    let next = chunk_bytes(new);
    let mut sent = HashSet::new();
    let mut bytes = 0;
    for c in &next {
        if !have.contains(&c.hash) && sent.insert(c.hash) {
            bytes += u64::from(c.len);
        }
    }
    (sent.len(), next.len(), bytes)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (size, edit_size, runs) = if full {
        (100 * 1024 * 1024, 20 * 1024 * 1024, 3)
    } else {
        (4 * 1024 * 1024, 4 * 1024 * 1024, 1)
    };
    println!(
        "chunking: FastCDC v2020 min {} / avg {} / max {} KiB, SHA-256; best of {runs}",
        MIN_CHUNK / 1024,
        AVG_CHUNK / 1024,
        MAX_CHUNK / 1024
    );
    let data = pseudo_random(size, 42);
    println!("buffer: {} MiB pseudo-random\n", size / (1024 * 1024));

    let cut = best(runs, || {
        FastCDC::new(
            &data,
            MIN_CHUNK as usize,
            AVG_CHUNK as usize,
            MAX_CHUNK as usize,
        )
        .count()
    });
    row("cut only", size, cut);
    row("sha256 only", size, best(runs, || Sha256::digest(&data)));
    row(
        "chunk+hash (in memory)",
        size,
        best(runs, || chunk_bytes(&data)),
    );
    let streamed = best(runs, || {
        chunk_reader(Cursor::new(&data)).map(|c| c.chunks.len())
    });
    row("streamed (+file sha256)", size, streamed);

    match tempfile::tempdir() {
        Ok(dir) => {
            let path = dir.path().join("artifact.bin");
            if std::fs::write(&path, &data).is_ok() {
                let took = best(runs, || bundle_artifact(&path, "bench", "binary").is_ok());
                row("bundle_artifact (file)", size, took);
            }
        }
        Err(e) => println!("bundle_artifact (file): skipped, no temp dir: {e}"),
    }
    let chunks = chunk_bytes(&data);
    println!(
        "\n{} chunks, average {} B",
        chunks.len(),
        size / chunks.len().max(1)
    );

    println!(
        "\nredeploy of a {} MiB file after an edit: what is uploaded",
        edit_size / (1024 * 1024)
    );
    let old = pseudo_random(edit_size, 7);
    let mut mid = old.clone();
    for b in &mut mid[edit_size / 2..edit_size / 2 + 10] {
        *b ^= 0xA5;
    }
    let mut inserted = old[..4096].to_vec();
    inserted.extend_from_slice(&pseudo_random(100, 8));
    inserted.extend_from_slice(&old[4096..]);
    let mut appended = old.clone();
    appended.extend_from_slice(&pseudo_random(1024 * 1024, 9));
    let cases: [(&str, &[u8]); 4] = [
        ("unchanged", &old),
        ("10 bytes changed mid-file", &mid),
        ("100 bytes inserted at 4 KiB", &inserted),
        ("1 MiB appended", &appended),
    ];
    for (name, new) in cases {
        let (n, total, bytes) = upload(&old, new);
        println!(
            "{name:<28} {n:>3} of {total:>3} chunks, {bytes:>9} B = {:>6.3}% of {} B",
            100.0 * bytes as f64 / new.len() as f64,
            new.len()
        );
    }
}
