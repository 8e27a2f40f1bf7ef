//! The push step on one host: one probe round trip (the app's user and directories
//! made, then the CPU, content key, releases of this version id, missing chunks), the release id for this content (see
//! [`super::identity`]), only the missing chunks sent and each verified on arrival,
//! then the release assembled from the store with every file's SHA-256 checked and
//! its metadata written, `meta.json` last.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;
use tokio::io::AsyncWriteExt as _;

use super::identity::{self, Choice};
use super::{Rendered, now_rfc3339};
use crate::bundle;
use crate::config::{AppConfig, AppKind};
use crate::engine::Host;
use crate::engine::events::{Events, Step};
use crate::remote::Layout;
use crate::remote::layout::validate_release_id;
use crate::remote::scripts::{delta, install, materialize, push as scripts};
use crate::ssh::Stdin;

/// What the push left on the host.
pub(crate) struct Pushed {
    /// The release id on this host (the version id, or `VERSION~STAMP`).
    pub release: String,
    pub chunks_sent: usize,
}

#[derive(Serialize)]
struct Meta<'a> {
    version: &'a str,
    release: &'a str,
    commit: Option<&'a str>,
    deployed_at: &'a str,
    by: &'a str,
    kind: &'a str,
    content: &'a str,
}

/// What the probe found.
struct Probe {
    arch: String,
    /// The host has `perl`: files are built by one process.
    perl: bool,
    /// The host has `gzip`: a stream of many small chunks may go compressed.
    gzip: bool,
    key: String,
    /// The running release and the sha256 of its manifest file.
    base: Option<(String, String)>,
    have: Vec<(String, String)>,
    missing: HashSet<String>,
}

fn parse_probe(text: &str) -> Probe {
    let mut p = Probe {
        arch: String::new(),
        perl: false,
        gzip: false,
        key: String::new(),
        base: None,
        have: Vec::new(),
        missing: HashSet::new(),
    };
    for line in text.lines() {
        if let Some(a) = line.strip_prefix("arch ") {
            p.arch = a.trim().to_string();
        } else if line == "perl" {
            p.perl = true;
        } else if line == "gzip" {
            p.gzip = true;
        } else if let Some(k) = line.strip_prefix("key ") {
            p.key = k.trim().to_string();
        } else if let Some(h) = line.strip_prefix("have ") {
            let mut parts = h.split_whitespace();
            if let (Some(id), Some(d)) = (parts.next(), parts.next())
                && validate_release_id(id).is_ok()
            {
                p.have.push((id.to_string(), d.to_string()));
            }
        } else if let Some(b) = line.strip_prefix("base ") {
            let mut parts = b.split_whitespace();
            if let (Some(id), Some(sum)) = (parts.next(), parts.next())
                && validate_release_id(id).is_ok()
            {
                p.base = Some((id.to_string(), sum.to_string()));
            }
        } else if let Some(h) = line.strip_prefix("missing ") {
            p.missing.insert(h.trim().to_string());
        }
    }
    p
}

/// Push the release to one host; `sent` counts chunk bytes as they go.
pub(crate) async fn push(
    r: &Host,
    app: &AppConfig,
    layout: &Layout,
    rendered: &Rendered,
    sent: &Arc<AtomicU64>,
    events: &Events,
) -> anyhow::Result<Pushed> {
    let started = Instant::now();
    let host = Some(r.host.as_str());
    events.started(host, Step::Push, None);
    let result = push_inner(r, app, layout, rendered, sent, events, started).await;
    if let Err(e) = &result {
        events.failed(host, Step::Push, &format!("{e:#}"), Vec::new());
    }
    result
}

async fn push_inner(
    r: &Host,
    app: &AppConfig,
    layout: &Layout,
    rendered: &Rendered,
    sent: &Arc<AtomicU64>,
    events: &Events,
    started: Instant,
) -> anyhow::Result<Pushed> {
    let host = Some(r.host.as_str());
    let version = &rendered.version.id;
    // The release this machine last saw running there: its chunks are in the store
    // (a running release is never pruned), so only the others need asking about. If
    // the host runs something else, it is asked again about all of them.
    let assumed = assumed_base(&r.host, &app.name);
    // The app's user comes first: the release's env file belongs to its group.
    let script = format!(
        "{}{}",
        install::app_user(layout, app),
        scripts::probe(layout, version)
    );
    let ask = |list: String| {
        let script = &script;
        async move {
            r.with_stdin(
                "checking which chunks the host lacks",
                script,
                Stdin::Bytes(list.into_bytes().into()),
            )
            .await
        }
    };
    let all = scripts::chunks_text(&rendered.chunks);
    let probe = match &assumed {
        Some((sum, _, base)) => {
            let known = base.chunk_set();
            let fresh: Vec<String> = rendered
                .chunks
                .iter()
                .filter(|c| !known.contains(c.as_str()))
                .cloned()
                .collect();
            let p = parse_probe(&ask(scripts::chunks_text(&fresh)).await?.stdout_str());
            if p.base.as_ref().map(|b| &b.1) == Some(sum) {
                p
            } else {
                parse_probe(&ask(all).await?.stdout_str())
            }
        }
        None => parse_probe(&ask(all).await?.stdout_str()),
    };
    // Guard: a binary built for another CPU is refused before upload.
    if app.kind == AppKind::Binary
        && let Some(path) = rendered.bundle.source_path(0)
    {
        bundle::check_arch(path, &probe.arch)
            .map_err(|e| anyhow::anyhow!("{}", e.for_app(&app.name, &r.host)))?;
    }
    if probe.key.len() < 32 {
        bail!(
            "{}: the host's release key ({}) is missing or too short",
            r.host,
            layout.key_file()
        );
    }
    let content = identity::digest(&rendered.public, &probe.key, &rendered.env);
    let release = match identity::choose(version, &content, &probe.have, rendered.stamp) {
        Choice::Reuse(id) => {
            events.finished(
                host,
                Step::Push,
                started.elapsed(),
                Some(format!(
                    "release {id} with this content is already on the host"
                )),
            );
            return Ok(Pushed {
                release: id,
                chunks_sent: 0,
            });
        }
        Choice::New(id) => id,
    };
    if release != *version {
        events.output(
            host,
            Step::Push,
            crate::ssh::OutputKind::Stdout,
            &format!(
                "version {version} is already on the host with other content; installing this one as {release}"
            ),
        );
    }
    let present: HashSet<String> = rendered
        .chunks
        .iter()
        .filter(|h| !probe.missing.contains(*h))
        .cloned()
        .collect();
    let to_send = rendered.bundle.missing(&present);
    let total: u64 = to_send.iter().map(|(_, n)| u64::from(*n)).sum();
    events.progress(host, Step::Push, 0, total);
    if !to_send.is_empty() {
        // Many small chunks: their tar framing (a 512-byte header each, padding to
        // 512) would be most of the stream; compressed, it nearly vanishes. Large
        // chunks go as they are (mostly compressed content already, and CPU spent).
        let gzip = probe.gzip
            && to_send.len() >= GZIP_MIN_CHUNKS
            && total / (to_send.len() as u64) < GZIP_BELOW_AVERAGE;
        send_chunks(r, layout, rendered, &to_send, total, gzip, sent, events).await?;
    }
    events.progress(host, Step::Push, total, total);
    let base = base_manifest(r, app, layout, &probe, assumed).await;
    let builder = if probe.perl {
        materialize::Builder::Perl
    } else {
        materialize::Builder::Cat
    };
    let plan = match &base {
        Some((base_id, _, base)) if scripts::artifact_subdir(app.kind).is_some() => {
            let dir = match scripts::artifact_subdir(app.kind) {
                Some(sub) => format!("{}/{sub}", layout.release_dir(base_id)),
                None => layout.release_dir(base_id),
            };
            materialize::delta_plan(base, &dir, &rendered.bundle.manifest, builder)
        }
        _ => materialize::materialize_plan(&rendered.bundle.manifest, builder),
    };
    // The manifest and the chunk list as changes to the running release's.
    let new_manifest = format!("{}\n", rendered.manifest_json);
    let new_chunks = scripts::chunks_text(&rendered.chunks);
    let lists_dir = format!("{}/run/lists.{release}", layout.state_dir());
    let rebuilt = base.as_ref().and_then(|(base_id, text, m)| {
        let old_chunks: Vec<String> = m.chunk_set().into_iter().map(String::from).collect();
        let mp = delta::pieces(text, &new_manifest)?;
        let cp = delta::pieces(&scripts::chunks_text(&old_chunks), &new_chunks)
            .unwrap_or_else(|| vec![delta::Piece::Text(new_chunks.clone())]);
        Some(scripts::rebuilt_lists(
            layout,
            base_id,
            &lists_dir,
            (&mp, &new_manifest),
            (&cp, &new_chunks),
        ))
    });
    let materialize = format!(
        "{}{plan}",
        scripts::materialize_env(layout, &release, app.kind)
    );
    let meta = serde_json::to_string(&Meta {
        version,
        release: &release,
        commit: rendered.version.commit.as_deref(),
        deployed_at: &now_rfc3339(),
        by: &rendered.by,
        kind: app.kind.as_str(),
        content: &content,
    })?;
    // One round trip: the tree (which exits on any failure), then its metadata.
    let files = |prebuilt: Option<&str>| {
        scripts::release_files(
            layout,
            &app.user,
            &release,
            &scripts::ReleaseFiles {
                manifest_json: &rendered.manifest_json,
                prebuilt,
                chunks: &rendered.chunks,
                units: &rendered.units,
                site: rendered.site.as_deref(),
                instances: &rendered.instances,
                slots: rendered
                    .slots
                    .iter()
                    .map(|s| scripts::SlotFiles {
                        slot: s.slot,
                        units: &s.units,
                        instances: &s.instances,
                        ports: &s.ports,
                        site: &s.site,
                    })
                    .collect(),
                content: &content,
                env: &rendered.env,
                meta_json: &meta,
            },
        )
    };
    let out = match &rebuilt {
        Some(lists) => {
            let first = r
                .script(
                    "materializing the release",
                    &format!("{lists}{materialize}\n{}", files(Some(&lists_dir))),
                )
                .await;
            match first {
                Err(e) if format!("{e:#}").contains(delta::MISMATCH_TAG) => {
                    tracing::info!(host = %r.host, error = %format!("{e:#}"), "the running release's lists are not the ones expected; sending the manifest and chunk list whole");
                    let clean = format!("rm -rf -- {}\n", crate::util::shell_quote(&lists_dir));
                    r.script(
                        "materializing the release",
                        &format!("{clean}{materialize}\n{}", files(None)),
                    )
                    .await?
                }
                other => other?,
            }
        }
        None => {
            r.script(
                "materializing the release",
                &format!("{materialize}\n{}", files(None)),
            )
            .await?
        }
    };
    remember_manifest(&rendered.manifest_json);
    let built = out
        .stdout_str()
        .lines()
        .find_map(|l| l.strip_prefix("delta "))
        .map(|d| {
            let mut n = d.split_whitespace();
            format!(
                ", built {} files from chunks and linked {} unchanged",
                n.nth(1).unwrap_or("?"),
                d.split_whitespace().next().unwrap_or("?")
            )
        })
        .unwrap_or_default();
    events.finished(
        host,
        Step::Push,
        started.elapsed(),
        Some(format!(
            "sent {} in {} of {} chunks{built}",
            crate::util::human_bytes(total),
            to_send.len(),
            rendered.chunks.len()
        )),
    );
    Ok(Pushed {
        release,
        chunks_sent: to_send.len(),
    })
}

/// The running release's manifest, when the new release can be built on it: a
/// directory artifact (a static site, python wheels) whose earlier release is on the
/// host. Read from the local cache of manifests this machine deployed, else from the
/// host (one round trip); a manifest that does not match the host's digest or does
/// not validate is not used.
async fn base_manifest(
    r: &Host,
    app: &AppConfig,
    layout: &Layout,
    probe: &Probe,
    assumed: Option<(String, String, crate::bundle::Manifest)>,
) -> Option<(String, String, crate::bundle::Manifest)> {
    let (id, sum) = probe.base.as_ref()?;
    let (text, m) = match assumed.filter(|(s, _, _)| s == sum) {
        Some((_, text, m)) => (text, m),
        None => match cached_manifest(sum) {
            Some(known) => known,
            // Fetched only where the tree is built on it; a binary's lists are small.
            None if scripts::artifact_subdir(app.kind).is_none() => return None,
            None => {
                let text = r
                    .script(
                        "reading the running release's manifest",
                        &scripts::read_manifest(layout, id),
                    )
                    .await
                    .ok()?
                    .stdout_str();
                parse_manifest(text, sum)?
            }
        },
    };
    (m.kind == app.kind.as_str()).then(|| (id.clone(), text, m))
}

/// `text` as a manifest, if the sha256 of the file is `sum` and it validates.
fn parse_manifest(text: String, sum: &str) -> Option<(String, crate::bundle::Manifest)> {
    if crate::util::sha256_hex(text.as_bytes()) != sum {
        return None;
    }
    let m = crate::bundle::Manifest::from_json(&text).ok()?;
    Some((text, m))
}

/// The manifest of the local cache whose file has the sha256 `sum`.
fn cached_manifest(sum: &str) -> Option<(String, crate::bundle::Manifest)> {
    let text = std::fs::read_to_string(manifest_cache()?.join(format!("{sum}.json"))).ok()?;
    parse_manifest(text, sum)
}

/// The file naming the manifest this machine last left running for `app` on `host`.
fn current_record(host: &str, app: &str) -> Option<std::path::PathBuf> {
    Some(
        manifest_cache()?
            .join("current")
            .join(record_stem(host, app)),
    )
}

/// The file naming the manifest of `release` of `app` on `host`, as this machine
/// deployed it.
fn release_record(host: &str, app: &str, release: &str) -> Option<std::path::PathBuf> {
    Some(
        manifest_cache()?
            .join("current")
            .join(format!("{}.releases", record_stem(host, app)))
            .join(safe_name(release)),
    )
}

/// `APP@HOST`, each with every character but ASCII letters, digits and `-_.` as `_`.
fn record_stem(host: &str, app: &str) -> String {
    format!("{}@{}", safe_name(app), safe_name(host))
}

fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// After a deploy went live: `manifest_json` is what `app` runs on `host` now, as
/// release `release` (the records of the newest 20 releases of each are kept).
pub(crate) fn remember_current(host: &str, app: &str, release: &str, manifest_json: &str) {
    let sum = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        format!("{manifest_json}\n").as_bytes(),
    ));
    for path in [
        current_record(host, app),
        release_record(host, app, release),
    ]
    .into_iter()
    .flatten()
    {
        if let Some(dir) = path.parent()
            && std::fs::create_dir_all(dir).is_ok()
        {
            let _ = std::fs::write(&path, &sum);
        }
    }
    if let Some(dir) = release_record(host, app, release)
        .as_deref()
        .and_then(std::path::Path::parent)
    {
        keep_newest(dir, 20);
    }
}

/// After a rollback to `release`: its manifest, when this machine deployed it, is what
/// `app` runs on `host` now; otherwise nothing is assumed (the next deploy asks about
/// every chunk at once instead of twice).
pub(crate) fn remember_rollback(host: &str, app: &str, release: &str) {
    let Some(current) = current_record(host, app) else {
        return;
    };
    match release_record(host, app, release).and_then(|p| std::fs::read_to_string(p).ok()) {
        Some(sum) => {
            let _ = std::fs::write(&current, sum);
        }
        None => {
            let _ = std::fs::remove_file(&current);
        }
    }
}

/// Remove all but the `n` newest files of `dir`.
fn keep_newest(dir: &std::path::Path, n: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if files.len() > n {
        files.sort();
        for (_, p) in &files[..files.len() - n] {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The manifest this machine last left running there (the digest of its file, its
/// text, the manifest), when both are still known here.
fn assumed_base(host: &str, app: &str) -> Option<(String, String, crate::bundle::Manifest)> {
    let sum = std::fs::read_to_string(current_record(host, app)?).ok()?;
    let sum = sum.trim().to_string();
    let (text, m) = cached_manifest(&sum)?;
    Some((sum, text, m))
}

/// Where manifests this machine deployed are kept, by the sha256 of the file the host
/// stores (`manifest.json` and a line break).
fn manifest_cache() -> Option<std::path::PathBuf> {
    crate::logging::log_dir().map(|d| d.join("manifests"))
}

/// Keep this manifest for the next deploy (the newest 50 are kept).
fn remember_manifest(json: &str) {
    let Some(dir) = manifest_cache() else {
        return;
    };
    let text = format!("{json}\n");
    let sum = crate::util::sha256_hex(text.as_bytes());
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let _ = std::fs::write(dir.join(format!("{sum}.json")), text);
    keep_newest(&dir, 50);
}

/// A chunk stream is compressed when it has at least this many chunks…
const GZIP_MIN_CHUNKS: usize = 64;
/// …averaging fewer bytes than this.
const GZIP_BELOW_AVERAGE: u64 = 16 * 1024;

/// Bytes of chunks the feeder reads and frames at a time.
const FEED_BATCH: usize = 256 * 1024;

/// The tar header of a chunk file named `hash` of `len` bytes.
fn tar_header(hash: &str, len: usize) -> anyhow::Result<[u8; 512]> {
    let mut h = tar::Header::new_ustar();
    h.set_path(hash).context("a chunk's tar entry")?;
    h.set_size(len as u64);
    h.set_mode(0o600);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mtime(0);
    h.set_cksum();
    let mut out = [0u8; 512];
    out.copy_from_slice(h.as_bytes());
    Ok(out)
}

/// Stream the chunks the host lacks, as one tar archive, into the receiving script.
#[allow(clippy::too_many_arguments)]
async fn send_chunks(
    r: &Host,
    layout: &Layout,
    rendered: &Rendered,
    to_send: &[(String, u32)],
    total: u64,
    gzip: bool,
    sent: &Arc<AtomicU64>,
    events: &Events,
) -> anyhow::Result<()> {
    let (mut writer, reader) = tokio::io::duplex(256 * 1024);
    let bundle = rendered.bundle.clone();
    let list = to_send.to_vec();
    let counter = sent.clone();
    let ev = events.clone();
    let h = r.host.clone();
    let feeder = tokio::spawn(async move {
        let mut done = 0u64;
        let mut last_report = Instant::now();
        // Chunks are read and framed in batches of about FEED_BATCH bytes, so many
        // small chunks still make few reads of the pipe and full-sized SSH packets.
        let mut rest = list.into_iter().peekable();
        let mut encoder =
            gzip.then(|| flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        while rest.peek().is_some() {
            let mut batch = Vec::new();
            let mut size = 0usize;
            while let Some((hash, len)) = rest.next_if(|_| size < FEED_BATCH) {
                size += len as usize + 1024;
                batch.push((hash, len));
            }
            let b = bundle.clone();
            let mut enc = encoder.take();
            let (framed, bytes, enc) = tokio::task::spawn_blocking(move || {
                let mut out = Vec::with_capacity(size);
                let mut bytes = 0u64;
                for (hash, len) in &batch {
                    let data = b.read_chunk(hash)?;
                    out.extend_from_slice(&tar_header(hash, data.len())?);
                    out.extend_from_slice(&data);
                    let pad = (512 - data.len() % 512) % 512;
                    out.extend_from_slice(&[0u8; 512][..pad]);
                    bytes += u64::from(*len);
                }
                if let Some(e) = enc.as_mut() {
                    std::io::Write::write_all(e, &out)?;
                    out = std::mem::take(e.get_mut());
                }
                Ok::<_, anyhow::Error>((out, bytes, enc))
            })
            .await??;
            encoder = enc;
            writer.write_all(&framed).await?;
            done += bytes;
            counter.fetch_add(bytes, Ordering::Relaxed);
            if last_report.elapsed() > Duration::from_millis(100) {
                ev.progress(Some(&h), Step::Push, done, total);
                last_report = Instant::now();
            }
        }
        // The end of the archive: two empty blocks.
        match encoder {
            Some(mut e) => {
                std::io::Write::write_all(&mut e, &[0u8; 1024])?;
                writer.write_all(&e.finish()?).await?;
            }
            None => writer.write_all(&[0u8; 1024]).await?,
        }
        writer.shutdown().await?;
        Ok::<_, anyhow::Error>(())
    });
    let received = r
        .with_stdin(
            "receiving chunks",
            &scripts::receive_chunks(layout, gzip),
            Stdin::Reader(Box::new(reader)),
        )
        .await;
    let fed = feeder.await.context("chunk feeder")?;
    received?;
    fed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_lines() {
        let p = parse_probe(
            "arch x86_64\nkey 00ff\nhave v1 d1\nhave -bad d2\nhave v1~20261201000000 d3\nmissing aa\n",
        );
        assert_eq!(p.arch, "x86_64");
        assert_eq!(p.key, "00ff");
        assert_eq!(
            p.have,
            [
                ("v1".to_string(), "d1".to_string()),
                ("v1~20261201000000".to_string(), "d3".to_string())
            ]
        );
        assert!(p.missing.contains("aa"));
    }
}
