//! The host side of a bundle: a POSIX sh script, generated from a manifest,
//! that assembles a release directory from the chunk store and checks every
//! file's SHA-256 before the release appears. Needs only sh and coreutils.

use crate::util::shell_quote;
use std::fmt::Write as _;

use crate::bundle::Manifest;

/// Chunks per `cat` command (and paths per `mkdir`, `chmod` and `rm`), keeping each
/// command line far below ARG_MAX (about 5 KiB a line) however large a file is.
const CAT_BATCH: usize = 64;

/// A POSIX sh script that builds the release directory `$RELEASE` from the
/// chunks in `$STORE/<sha256>` (both set in the environment by the caller).
///
/// It assembles everything in `$RELEASE.partial` (removed first if a
/// previous run left one): directories, then each file with `cat` of its
/// chunks, checked against the file's SHA-256 and `chmod`ed, then symlinks,
/// then directory modes; only when all of it checks out is the whole tree
/// renamed to `$RELEASE`, so `$RELEASE` either does not exist or is complete.
/// An existing `$RELEASE` is never touched: the script refuses instead. On
/// any failure it prints `raijin: materialize <version>: <path>: <what>` to
/// stderr, removes the partial tree and exits 1. A manifest that fails
/// [`Manifest::validate`] yields a script that only reports why and exits 1.
pub fn materialize_plan(manifest: &Manifest, builder: Builder) -> String {
    let mut s = String::new();
    if !start(&mut s, manifest) {
        return s;
    }
    mkdirs(&mut s, manifest.dirs.iter());
    build_files(&mut s, manifest.files.iter(), builder);
    check_files(&mut s, manifest.files.iter(), builder);
    for l in &manifest.links {
        link(&mut s, l);
    }
    chmod_dirs(&mut s, manifest.dirs.iter());
    finish(&mut s);
    s
}

/// How the host builds files from their chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    /// One `perl` process (only its built-in functions, which Debian's essential
    /// `perl-base` has) writes every file: a first deploy of 20,000 files is one
    /// process, not 20,000.
    Perl,
    /// A `cat` of its chunks per file: needs only sh and coreutils.
    Cat,
}

/// Like [`materialize_plan`], but starting from `base_dir`, the same artifact of an
/// earlier release built from `base` (verified, root's and read-only): the tree is
/// copied as hard links in one `cp -al`, what differs is removed, and only new or
/// changed files are built from the store and checked, so the host's work grows with
/// what changed, not with the artifact. A file that only changed its mode is built
/// anew too (its inode is shared with the earlier release). Prints `delta KEPT BUILT`.
pub fn delta_plan(
    base: &Manifest,
    base_dir: &str,
    manifest: &Manifest,
    builder: Builder,
) -> String {
    use std::collections::HashMap;

    let mut s = String::new();
    if !start(&mut s, manifest) {
        return s;
    }
    let _ = writeln!(
        s,
        "B={}
[ -d \"$B\" ] || fail \"$B\" 'the earlier release to build on is missing'
         rmdir -- \"$S\" || fail \"$S\" 'cannot make room for the copy'\n\
         cp -al -- \"$B\" \"$S\" || fail \"$B\" 'cannot link the earlier release'",
        shell_quote(base_dir)
    );
    let files: HashMap<&str, (&str, u32)> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), (f.sha256.as_str(), f.mode)))
        .collect();
    let links: HashMap<&str, &str> = manifest
        .links
        .iter()
        .map(|l| (l.path.as_str(), l.target.as_str()))
        .collect();
    let dirs: HashMap<&str, u32> = manifest
        .dirs
        .iter()
        .map(|d| (d.path.as_str(), d.mode))
        .collect();
    let kept_file = |f: &crate::bundle::FileEntry| {
        files.get(f.path.as_str()) == Some(&(f.sha256.as_str(), f.mode))
    };
    let mut gone: Vec<&str> = Vec::new();
    gone.extend(
        base.files
            .iter()
            .filter(|f| !kept_file(f))
            .map(|f| f.path.as_str()),
    );
    gone.extend(
        base.links
            .iter()
            .filter(|l| links.get(l.path.as_str()) != Some(&l.target.as_str()))
            .map(|l| l.path.as_str()),
    );
    gone.extend(
        base.dirs
            .iter()
            .filter(|d| !dirs.contains_key(d.path.as_str()))
            .map(|d| d.path.as_str()),
    );
    batched(&mut s, "rm -rf --", &gone, |_| {
        "\"$S\" 'cannot remove what changed'".into()
    });
    let base_dirs: HashMap<&str, u32> = base
        .dirs
        .iter()
        .map(|d| (d.path.as_str(), d.mode))
        .collect();
    mkdirs(
        &mut s,
        manifest
            .dirs
            .iter()
            .filter(|d| !base_dirs.contains_key(d.path.as_str())),
    );
    let base_files: HashMap<&str, (&str, u32)> = base
        .files
        .iter()
        .map(|f| (f.path.as_str(), (f.sha256.as_str(), f.mode)))
        .collect();
    let changed: Vec<&crate::bundle::FileEntry> = manifest
        .files
        .iter()
        .filter(|f| base_files.get(f.path.as_str()) != Some(&(f.sha256.as_str(), f.mode)))
        .collect();
    build_files(&mut s, changed.iter().copied(), builder);
    check_files(&mut s, changed.iter().copied(), builder);
    let built = changed.len();
    let base_links: HashMap<&str, &str> = base
        .links
        .iter()
        .map(|l| (l.path.as_str(), l.target.as_str()))
        .collect();
    for l in &manifest.links {
        if base_links.get(l.path.as_str()) != Some(&l.target.as_str()) {
            link(&mut s, l);
        }
    }
    chmod_dirs(
        &mut s,
        manifest
            .dirs
            .iter()
            .filter(|d| base_dirs.get(d.path.as_str()) != Some(&d.mode)),
    );
    finish(&mut s);
    let _ = writeln!(s, "echo 'delta {} {built}'", manifest.files.len() - built);
    s
}

/// The script's start: the version for messages and the prelude. A manifest that
/// fails [`Manifest::validate`] gets a script that only says why (returns false).
fn start(s: &mut String, manifest: &Manifest) -> bool {
    s.push_str(
        "#!/bin/sh\n# raijin: build a release directory from the chunk store.\nset -u\nS=\n",
    );
    let _ = writeln!(s, "version={}", shell_quote(&manifest.version));
    if let Err(e) = manifest.validate() {
        let _ = writeln!(
            s,
            "printf 'raijin: materialize %s: %s\\n' \"$version\" {} >&2\nexit 1",
            shell_quote(&format!("{e:#}"))
        );
        return false;
    }
    s.push_str(PRELUDE);
    true
}

/// The directories, parents first, a `mkdir -p` per batch.
fn mkdirs<'a>(s: &mut String, dirs: impl Iterator<Item = &'a crate::bundle::DirEntry>) {
    let paths: Vec<&str> = dirs.map(|d| d.path.as_str()).collect();
    batched(s, "mkdir -p --", &paths, |first| {
        format!(
            "{} 'cannot create the directories (see the mkdir error above)'",
            shell_quote(first)
        )
    });
}

/// `command` on `paths` (each as `"$S"/PATH`), CAT_BATCH of them a line, each line
/// ending `|| fail ARGS` with the ARGS `fail_args` gives for the line's first path.
fn batched(s: &mut String, command: &str, paths: &[&str], fail_args: impl Fn(&str) -> String) {
    for batch in paths.chunks(CAT_BATCH) {
        s.push_str(command);
        for p in batch {
            let _ = write!(s, " \"$S\"/{}", shell_quote(p));
        }
        let _ = writeln!(s, " || fail {}", fail_args(batch[0]));
    }
}

/// `chmod` of `entries` (mode, path): a line per mode and batch.
fn chmod_by_mode<'a>(
    s: &mut String,
    entries: impl Iterator<Item = (u32, &'a str)>,
    fail_args: impl Fn(&str) -> String,
) {
    let mut by_mode: std::collections::BTreeMap<u32, Vec<&str>> = Default::default();
    for (mode, path) in entries {
        by_mode.entry(mode).or_default().push(path);
    }
    for (mode, paths) in by_mode {
        batched(s, &format!("chmod -- {mode:o}"), &paths, &fail_args);
    }
}

/// Every file from its chunks, by `builder`.
fn build_files<'a>(
    s: &mut String,
    files: impl Iterator<Item = &'a crate::bundle::FileEntry>,
    builder: Builder,
) {
    let files: Vec<&crate::bundle::FileEntry> = files.collect();
    if files.is_empty() {
        return;
    }
    match builder {
        Builder::Cat => {
            for f in files {
                build_file(s, f);
            }
        }
        Builder::Perl => {
            // One line per file: the path in hex (any byte may be in a name), then
            // its chunks.
            let mut list = String::new();
            for f in &files {
                for b in f.path.as_bytes() {
                    let _ = write!(list, "{b:02x}");
                }
                let _ = write!(list, " {:o}", f.mode);
                for h in &f.chunks {
                    list.push(' ');
                    list.push_str(h);
                }
                list.push('\n');
            }
            let _ = write!(
                s,
                "perl -e {} \"$STORE\" \"$S\" \"$version\" <<'RAIJIN_FILES' || abort\n{list}RAIJIN_FILES\n",
                shell_quote(PERL_BUILD)
            );
        }
    }
}

/// The Perl builder: reads `HEXPATH MODE CHUNK...` lines (MODE in octal), writes each
/// file (a new one: the tree holds nothing under its name, checked) as the
/// concatenation of its chunks from the store and gives it its mode. Files are copies,
/// never links to the store: damage to a stored chunk must not reach a release built
/// from it (the next build's check catches it). On a failure it says which file, the way `fail` does, and exits 1.
const PERL_BUILD: &str = r#"use strict; my ($store, $root, $version) = @ARGV;
sub fail { printf STDERR qq(raijin: materialize %s: %s: %s\n), $version, $_[0], $_[1]; exit 1; }
while (my $line = <STDIN>) {
  chomp $line;
  my ($hex, $mode, @chunks) = split / /, $line;
  my $p = pack(q(H*), $hex);
  my $f = qq($root/$p);
  # Never written through: the name must be new in the tree.
  fail($p, q(is in the tree already)) if lstat($f);
  open(my $out, q(>), $f) or fail($p, qq(cannot create the file: $!));
  binmode $out;
  for my $h (@chunks) {
    open(my $in, q(<), qq($store/$h))
      or fail($p, qq(a chunk of it is missing or unreadable in $store ($h: $!)));
    binmode $in;
    while (1) {
      my $n = sysread($in, my $buf, 1 << 20);
      defined $n or fail($p, qq(a chunk of it is missing or unreadable in $store ($h: $!)));
      last if $n == 0;
      print {$out} $buf or fail($p, qq(cannot write the file: $!));
    }
    close $in;
  }
  close $out or fail($p, qq(cannot write the file: $!));
  chmod(oct($mode), $f) or fail($p, qq(cannot set the mode of the file: $!));
}
"#;

/// A file from its chunks, checked against its SHA-256, with its mode.
fn build_file(s: &mut String, f: &crate::bundle::FileEntry) {
    let p = shell_quote(&f.path);
    let _ = writeln!(s, "p={p}");
    if f.chunks.is_empty() {
        s.push_str(": >\"$S/$p\" || fail \"$p\" 'cannot create the file'\n");
    }
    for (i, batch) in f.chunks.chunks(CAT_BATCH).enumerate() {
        s.push_str("cat --");
        for h in batch {
            let _ = write!(s, " \"$STORE\"/{h}");
        }
        let redirect = if i == 0 { ">" } else { ">>" };
        let _ = writeln!(s, " {redirect}\"$S/$p\" || lost \"$p\"");
    }
}

/// Check every built file against its SHA-256 in one `sha256sum -c`, then (unless the
/// Perl builder did) give the files their modes, a `chmod` per mode and batch: a few
/// processes, however many files.
fn check_files<'a>(
    s: &mut String,
    files: impl Iterator<Item = &'a crate::bundle::FileEntry>,
    builder: Builder,
) {
    let files: Vec<&crate::bundle::FileEntry> = files.collect();
    if files.is_empty() {
        return;
    }
    let sums: String = files.iter().map(|f| sum_line(&f.sha256, &f.path)).collect();
    let mut tag = String::from("RAIJIN_SUMS");
    while sums.contains(&tag) {
        tag.push('_');
    }
    let _ = write!(
        s,
        "cat > \"$S.sums\" <<'{tag}' || fail \"$S.sums\" 'cannot write the list of checksums'\n{sums}{tag}\n\
         if ! out=$(cd -- \"$S\" && sha256sum -c --quiet --strict \"$S.sums\" 2>/dev/null); then\n\
         \x20 rm -f -- \"$S.sums\"\n\
         \x20 bad=$(printf '%s\\n' \"$out\" | sed -n 's/: FAILED.*$//p' | head -n 1)\n\
         \x20 fail \"${{bad:-a file}}\" \"assembled content does not match the manifest: a chunk in $STORE is corrupt\"\n\
         fi\n\
         rm -f -- \"$S.sums\"\n"
    );
    if builder == Builder::Perl {
        // The builder gave each file its mode.
        return;
    }
    chmod_by_mode(s, files.iter().map(|f| (f.mode, f.path.as_str())), |_| {
        "\"$S\" 'cannot set the modes of the files'".into()
    });
}

/// A `sha256sum -c` line for `path`, escaped the way sha256sum reads names with a
/// backslash or a line break.
fn sum_line(sha: &str, path: &str) -> String {
    if path.contains('\\') || path.contains('\n') {
        let escaped = path.replace('\\', "\\\\").replace('\n', "\\n");
        format!("\\{sha}  {escaped}\n")
    } else {
        format!("{sha}  {path}\n")
    }
}

fn link(s: &mut String, l: &crate::bundle::LinkEntry) {
    let _ = writeln!(
        s,
        "ln -s -- {t} \"$S\"/{p} || fail {p} 'cannot create the symlink'",
        t = shell_quote(&l.target),
        p = shell_quote(&l.path)
    );
}

/// The directories' modes, last (a directory without write permission can still
/// be made read-only once everything in it exists): a `chmod` per mode and batch.
fn chmod_dirs<'a>(s: &mut String, dirs: impl Iterator<Item = &'a crate::bundle::DirEntry>) {
    chmod_by_mode(s, dirs.map(|d| (d.mode, d.path.as_str())), |first| {
        format!("{} 'cannot set the directory modes'", shell_quote(first))
    });
}

fn finish(s: &mut String) {
    s.push_str(
        "[ ! -e \"$RELEASE\" ] || fail \"$RELEASE\" 'appeared while materializing; left alone'\n\
         mv -- \"$S\" \"$RELEASE\" || fail \"$RELEASE\" 'cannot move the release into place'\n",
    );
}

/// Helpers and checks every script starts with; `$S` is the partial tree.
const PRELUDE: &str = r#"abort() {
    [ -z "${S:-}" ] || { chmod -R u+w "$S" 2>/dev/null; rm -rf -- "$S"; }
    exit 1
}
fail() {
    printf 'raijin: materialize %s: %s: %s\n' "$version" "$1" "$2" >&2
    abort
}
lost() {
    fail "$1" "a chunk of it is missing or unreadable in $STORE (see the cat error above)"
}
[ -n "${STORE:-}" ] || fail STORE 'not set: the chunk store directory'
[ -n "${RELEASE:-}" ] || fail RELEASE 'not set: the release directory to build'
[ -d "$STORE" ] || fail "$STORE" 'chunk store is not a directory'
command -v sha256sum >/dev/null 2>&1 || fail sha256sum 'not found on this host (coreutils)'
[ ! -e "$RELEASE" ] || fail "$RELEASE" 'already exists; a release is never rebuilt in place'
S="$RELEASE.partial"
if [ -e "$S" ]; then
    chmod -R u+w "$S" 2>/dev/null
    rm -rf -- "$S" || fail "$S" 'cannot remove what a previous run left'
fi
mkdir -p -- "$S" || fail "$S" 'cannot create the directory'
"#;
