//! Getting a release onto a host: one probe round trip (the host's CPU, its content
//! key, the releases that already carry this version id, the chunks the store lacks),
//! receiving the missing chunks with each verified on arrival, assembling the release
//! from the store (see [`super::materialize`]) and writing its metadata, `meta.json`
//! last, so a release without it is incomplete and removed by the next probe or prune.

use std::fmt::Write as _;

use super::{PRELUDE, render, write_file};
use crate::config::AppKind;
use crate::remote::Layout;
use crate::util::shell_quote as q;

const PROBE: &str = r#"S=@S@; V=@V@
echo "arch $(uname -m)"
if command -v perl >/dev/null 2>&1; then echo perl; fi
if command -v gzip >/dev/null 2>&1; then echo gzip; fi
mkdir -p "$S/store" "$S/releases" "$S/run"
chmod 0700 "$S/store" "$S/run"
if [ ! -s "$S/key" ]; then
  ( umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$S/key.new" && mv -f "$S/key.new" "$S/key" )
fi
echo "key $(cat "$S/key")"
for d in "$S"/releases/*; do
  [ -e "$d" ] || continue
  case $d in
    *.partial) rm -rf -- "$d" ;;
    *) if [ ! -f "$d/.raijin/meta.json" ]; then rm -rf -- "$d"; fi ;;
  esac
done
cur=$(readlink "$S/current" 2>/dev/null || true); cur=${cur##*/}
if [ -n "$cur" ] && [ -f "$S/releases/$cur/.raijin/meta.json" ] && [ -f "$S/releases/$cur/.raijin/manifest.json" ]; then
  echo "base $cur $(sha256sum < "$S/releases/$cur/.raijin/manifest.json" | cut -d' ' -f1)"
fi
for d in "$S/releases/$V" "$S/releases/$V~"*; do
  [ -f "$d/.raijin/meta.json" ] || continue
  printf 'have %s %s\n' "${d##*/}" "$(cat "$d/.raijin/content" 2>/dev/null || echo none)"
done
cd "$S/store"
# The asked hashes the store lacks: two sorted lists compared, a few processes
# however many chunks. Only hex names are asked (checked by the caller's list).
sort -u > "$S/run/probe.want"
find . -maxdepth 1 -type f -printf '%f\n' | sort > "$S/run/probe.have"
comm -23 "$S/run/probe.want" "$S/run/probe.have" | sed 's/^/missing /'
rm -f "$S/run/probe.want" "$S/run/probe.have"
"#;

/// The probe before an upload: prints `arch MACHINE`, `perl` if the host has it (see
/// [`super::materialize::Builder`]), `gzip` if it has that (the chunk stream may come
/// compressed), `key HEX` (the host's key for
/// release content digests, made on first use), `have ID DIGEST` for every complete
/// release of version `version` (the id itself and `version~N`), `base ID SHA256` for
/// the running release (the sha256 of its manifest), and `missing HASH`
/// for each chunk hash read from stdin that the store lacks. Removes leftovers of
/// interrupted attempts (partial releases, releases without `meta.json`) first.
pub fn probe(layout: &Layout, version: &str) -> String {
    format!(
        "{PRELUDE}{}",
        render(PROBE, &[("S", &layout.state_dir()), ("V", version)])
    )
}

const RECEIVE: &str = r#"cd @STORE@
rm -rf .in .in.*
mkdir -m 0700 .in
tar -x @GZIP:raw@-f - -C .in --no-same-owner --no-same-permissions
cd .in
find . -maxdepth 1 -type f -exec sha256sum -- {} + > ../.in.sums
# Every name a hash, every chunk's content that hash (one awk, however many).
awk '{
  h = $2; sub(/^\.\//, "", h)
  if (h == "" || h ~ /[^0-9a-f]/) { print "a chunk arrived under a name that is not a hash: " h > "/dev/stderr"; exit 1 }
  if ($1 != h) { print "chunk " h " arrived corrupted (sha256 " $1 ")" > "/dev/stderr"; exit 1 }
}' ../.in.sums
find . -maxdepth 1 -type f -exec mv -f -t .. -- {} +
cd .. && rm -rf .in .in.sums
"#;

/// Receives the missing chunks on stdin as one tar stream (an entry named by each
/// chunk's hash; gzip-compressed when `gzip`), verifies every hash and moves them into
/// the store: a handful of processes whatever the number of chunks.
pub fn receive_chunks(layout: &Layout, gzip: bool) -> String {
    format!(
        "{PRELUDE}{}",
        render(
            RECEIVE,
            &[
                ("STORE", &layout.store_dir()),
                ("GZIP", if gzip { "-z " } else { "" })
            ]
        )
    )
}

/// The text of a release's chunk list file (one hash per line).
pub fn chunks_text(chunks: &[String]) -> String {
    if chunks.is_empty() {
        String::new()
    } else {
        format!("{}\n", chunks.join("\n"))
    }
}

/// Build the new release's manifest and chunk list in `dir` from those of release
/// `base` and what changed (see [`super::delta`]); exits with
/// [`super::delta::MISMATCH`] before anything else happens when they do not come out
/// exactly as `manifest` and `chunks`.
pub fn rebuilt_lists(
    layout: &Layout,
    base: &str,
    dir: &str,
    manifest: (&[super::delta::Piece], &str),
    chunks: (&[super::delta::Piece], &str),
) -> String {
    let m = layout.meta_dir(base);
    format!(
        "{PRELUDE}rm -rf -- {d}\nmkdir -m 0700 -- {d}\n{}{}",
        super::delta::rebuild(
            &format!("{m}/manifest.json"),
            &format!("{dir}/manifest.json"),
            manifest.0,
            manifest.1,
            "manifest"
        ),
        super::delta::rebuild(
            &format!("{m}/chunks"),
            &format!("{dir}/chunks"),
            chunks.0,
            chunks.1,
            "chunk list"
        ),
        d = q(dir)
    )
}

/// Print release `id`'s manifest file, byte for byte.
pub fn read_manifest(layout: &Layout, id: &str) -> String {
    format!(
        "cat -- {}\n",
        q(&format!("{}/manifest.json", layout.meta_dir(id)))
    )
}

/// Where the artifact goes inside the release directory.
pub fn artifact_subdir(kind: AppKind) -> Option<&'static str> {
    match kind {
        AppKind::Binary => None,
        AppKind::Python => Some("wheels"),
        AppKind::Static => Some("site"),
    }
}

/// Prefix of the materialize script: where the store is and what to build.
pub fn materialize_env(layout: &Layout, release: &str, kind: AppKind) -> String {
    let dir = layout.release_dir(release);
    match artifact_subdir(kind) {
        None => format!(
            "STORE={}; RELEASE={}; export STORE RELEASE\n",
            q(&layout.store_dir()),
            q(&dir)
        ),
        Some(sub) => format!(
            "umask 022\nmkdir -p {dir}\nSTORE={}; RELEASE={}; export STORE RELEASE\n",
            q(&layout.store_dir()),
            q(&format!("{}/{sub}", layout.release_dir(release))),
            dir = q(&dir),
        ),
    }
}

/// Everything a release carries besides the artifact.
pub struct ReleaseFiles<'a> {
    pub manifest_json: &'a str,
    /// Set when [`rebuilt_lists`] already made the manifest and the chunk list in
    /// this directory (root's, under the state dir): they are moved, not sent.
    pub prebuilt: Option<&'a str>,
    pub chunks: &'a [String],
    pub units: &'a [(String, String)],
    pub site: Option<&'a str>,
    /// The units to enable and start, one per line.
    pub instances: &'a [String],
    /// Per slot of the web process: its name, unit files, instances, ports and site.
    pub slots: Vec<SlotFiles<'a>>,
    /// The release's content digest (see `deploy::identity`).
    pub content: &'a str,
    pub env: &'a str,
    pub meta_json: &'a str,
}

/// What a release installs for one slot of its web process.
pub struct SlotFiles<'a> {
    pub slot: &'a str,
    pub units: &'a [(String, String)],
    pub instances: &'a [String],
    pub ports: &'a [u16],
    pub site: &'a str,
}

/// Write the release's metadata into `releases/ID/.raijin`; `meta.json` last, which
/// marks the release complete. The env file (it may hold secrets) is readable by root
/// and the app's group only.
pub fn release_files(layout: &Layout, user: &str, release: &str, f: &ReleaseFiles<'_>) -> String {
    let m = layout.meta_dir(release);
    let mut s = format!(
        "{PRELUDE}M={}\nrm -rf -- \"$M\"\nmkdir -p \"$M/units\"\n",
        q(&m)
    );
    match f.prebuilt {
        Some(dir) => {
            let _ = writeln!(
                s,
                "mv -f -- {d}/manifest.json {d}/chunks \"$M\"/ && chmod 0644 \"$M/manifest.json\" \"$M/chunks\" && rmdir -- {d}",
                d = q(dir)
            );
        }
        None => {
            s.push_str(&write_file(
                &format!("{m}/manifest.json"),
                "0644",
                f.manifest_json,
            ));
            s.push_str(&write_file(
                &format!("{m}/chunks"),
                "0644",
                &f.chunks.join("\n"),
            ));
        }
    }
    for (name, contents) in f.units {
        s.push_str(&write_file(&format!("{m}/units/{name}"), "0644", contents));
    }
    if let Some(site) = f.site {
        s.push_str(&write_file(&format!("{m}/site.caddy"), "0644", site));
    }
    s.push_str(&write_file(
        &format!("{m}/instances"),
        "0644",
        &f.instances.join("\n"),
    ));
    for slot in &f.slots {
        let d = format!("{m}/slots/{}", slot.slot);
        let _ = writeln!(s, "mkdir -p {}", q(&format!("{d}/units")));
        for (name, contents) in slot.units {
            s.push_str(&write_file(&format!("{d}/units/{name}"), "0644", contents));
        }
        s.push_str(&write_file(
            &format!("{d}/instances"),
            "0644",
            &slot.instances.join("\n"),
        ));
        let ports: Vec<String> = slot.ports.iter().map(u16::to_string).collect();
        s.push_str(&write_file(&format!("{d}/ports"), "0644", &ports.join(" ")));
        s.push_str(&write_file(&format!("{d}/site.caddy"), "0644", slot.site));
    }
    s.push_str(&write_file(&format!("{m}/content"), "0644", f.content));
    let _ = writeln!(s, "( umask 077; : > \"$M/env\" )");
    s.push_str(&write_file(&format!("{m}/env"), "0600", f.env));
    let _ = writeln!(
        s,
        "chown root:{} \"$M/env\"\nchmod 0640 \"$M/env\"",
        q(user)
    );
    s.push_str(&write_file(&format!("{m}/meta.json"), "0644", f.meta_json));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_reports_releases_of_the_version_and_missing_chunks() {
        let s = probe(&Layout::new("shop"), "v1");
        assert!(s.contains("S=/var/lib/raijin/shop; V=v1\n"), "{s}");
        assert!(s.contains("for d in \"$S/releases/$V\" \"$S/releases/$V~\"*; do"));
        assert!(s.contains(
            "comm -23 \"$S/run/probe.want\" \"$S/run/probe.have\" | sed 's/^/missing /'\n"
        ));
    }

    #[test]
    fn release_files_end_with_meta_json() {
        let s = release_files(
            &Layout::new("shop"),
            "shop",
            "v1",
            &ReleaseFiles {
                manifest_json: "{}",
                prebuilt: None,
                chunks: &["a".into(), "b".into()],
                units: &[("shop-web.service".into(), "[Unit]\n".into())],
                site: None,
                instances: &["shop-web.service".into()],
                slots: Vec::new(),
                content: "d1",
                env: "A=\"1\"\n",
                meta_json: "{\"version\":\"v1\"}",
            },
        );
        assert!(
            s.contains("M=/var/lib/raijin/shop/releases/v1/.raijin\n"),
            "{s}"
        );
        assert!(s.contains("chown root:shop \"$M/env\"\nchmod 0640 \"$M/env\"\n"));
        assert!(
            s.trim_end()
                .ends_with("chmod 0644 /var/lib/raijin/shop/releases/v1/.raijin/meta.json"),
            "{s}"
        );
        assert!(!s.contains("site.caddy"));
    }
}
