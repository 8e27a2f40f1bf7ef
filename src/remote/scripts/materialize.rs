//! The host side of a bundle: a POSIX sh script, generated from a manifest,
//! that assembles a release directory from the chunk store and checks every
//! file's SHA-256 before the release appears. Needs only sh and coreutils.

use crate::util::shell_quote;
use std::fmt::Write as _;

use crate::bundle::Manifest;

/// Chunks per `cat` command, keeping each command line far below ARG_MAX
/// (about 5 KiB a line) however large a file is.
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
pub fn materialize_plan(manifest: &Manifest) -> String {
    let mut s = String::new();
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
        return s;
    }
    s.push_str(PRELUDE);

    for d in &manifest.dirs {
        let _ = writeln!(
            s,
            "mkdir -p -- \"$S\"/{p} || fail {p} 'cannot create the directory'",
            p = shell_quote(&d.path)
        );
    }
    for f in &manifest.files {
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
        let _ = writeln!(s, "put \"$p\" {:o} {}", f.mode, f.sha256);
    }
    for l in &manifest.links {
        let _ = writeln!(
            s,
            "ln -s -- {t} \"$S\"/{p} || fail {p} 'cannot create the symlink'",
            t = shell_quote(&l.target),
            p = shell_quote(&l.path)
        );
    }
    for d in manifest.dirs.iter().rev() {
        let _ = writeln!(
            s,
            "chmod -- {m:o} \"$S\"/{p} || fail {p} 'cannot set the directory mode'",
            m = d.mode,
            p = shell_quote(&d.path)
        );
    }
    s.push_str(
        "[ ! -e \"$RELEASE\" ] || fail \"$RELEASE\" 'appeared while materializing; left alone'\n\
         mv -- \"$S\" \"$RELEASE\" || fail \"$RELEASE\" 'cannot move the release into place'\n",
    );
    s
}

/// Helpers and checks every script starts with; `$S` is the partial tree.
const PRELUDE: &str = r#"fail() {
    printf 'raijin: materialize %s: %s: %s\n' "$version" "$1" "$2" >&2
    [ -z "${S:-}" ] || { chmod -R u+w "$S" 2>/dev/null; rm -rf -- "$S"; }
    exit 1
}
lost() {
    fail "$1" "a chunk of it is missing or unreadable in $STORE (see the cat error above)"
}
put() {
    got=$(sha256sum <"$S/$1") || fail "$1" 'cannot read it back to check it'
    got=${got%% *}
    [ "$got" = "$3" ] || fail "$1" "assembled content does not match the manifest (sha256 $got, expected $3): a chunk in $STORE is corrupt"
    chmod -- "$2" "$S/$1" || fail "$1" "cannot set mode $2"
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
