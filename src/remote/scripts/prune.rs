//! Pruning on a host: keep the newest `versions_to_keep` complete releases plus the
//! current and the previous one, remove leftovers of interrupted deploys, and drop
//! the chunks no kept release references. Every release name reaches a command after
//! `--` or behind `./`, so no name can read as an option; when any kept release's
//! chunk list cannot be read, the store is left alone rather than emptied.

use super::{PRELUDE, render};
use crate::remote::Layout;

const PRUNE: &str = r#"S=@S@; keep=@KEEP@
cd "$S/releases" 2>/dev/null || exit 0
cur=$(readlink "$S/current" 2>/dev/null || true); cur=${cur##*/}
prev=$(cat "$S/previous" 2>/dev/null || true)
for d in ./*; do
  [ -e "$d" ] || continue
  if [ ! -f "$d/.raijin/meta.json" ]; then rm -rf -- "$d"; echo "leftover ${d#./}"; fi
done
n=0
# shellcheck disable=SC2045 # release ids have no blanks; ls sorts them by age
for m in $(ls -1t -- ./*/.raijin/meta.json 2>/dev/null); do
  v=${m#./}; v=${v%%/*}
  n=$((n + 1))
  if [ $n -gt "$keep" ] && [ "$v" != "$cur" ] && [ "$v" != "$prev" ]; then
    rm -rf -- "./$v"
    echo "release $v"
  fi
done
K="$S/.keep"; D="$S/.drop"
: > "$K"
for d in ./*/; do
  [ -f "$d.raijin/meta.json" ] || continue
  if ! cat -- "$d.raijin/chunks" >> "$K" 2>/dev/null; then
    echo "note cannot read the chunk list of ${d#./}; the store is left as it is"
    rm -f "$K"
    exit 0
  fi
  echo >> "$K"
done
sort -u -o "$K" "$K"
cd "$S/store"
# shellcheck disable=SC2012 # chunk names are hashes
ls -1 -a | sort | comm -23 - "$K" > "$D"
set --
while read -r h; do
  case $h in .|..) continue ;; esac
  set -- "$@" "$h"
  echo "chunk $h"
done < "$D"
if [ $# -gt 0 ]; then rm -rf -- "$@"; fi
rm -f "$K" "$D"
"#;

/// Prune the app's releases and store; prints `release ID`, `chunk HASH` and
/// `leftover ID` for what it removed.
pub fn prune(layout: &Layout, keep: usize) -> String {
    format!(
        "{PRELUDE}{}",
        render(
            PRUNE,
            &[("S", &layout.state_dir()), ("KEEP", &keep.to_string())]
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_never_read_as_options() {
        let s = prune(&Layout::new("shop"), 3);
        assert!(s.contains("S=/var/lib/raijin/shop; keep=3\n"), "{s}");
        assert!(s.contains("ls -1t -- ./*/.raijin/meta.json"));
        assert!(s.contains("cat -- \"$d.raijin/chunks\""));
        assert!(s.contains("rm -rf -- \"./$v\""));
        assert!(s.contains("rm -rf -- \"$@\""));
    }
}
