//! What the current release on a host installed, read back for `raijin app show`:
//! its unit files (in place, and the serving slot's), its Caddy site (the serving
//! slot's when the web process runs in slots) or its environment file. Only files
//! of raijin's own state directory are read.
//!
//! Output: `current<TAB>ID`, then per file `file<TAB>INSTALLED-PATH<TAB>BYTES`, a newline,
//! exactly BYTES bytes of contents and a newline; nothing after `current` when the
//! app is not deployed.

use super::render;
use crate::remote::Layout;

/// Which files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Units,
    Caddy,
    Env,
}

const SHOW: &str = r#"export LC_ALL=C
S=@S@; U=@UNITDIR@; SITE=@SITE@; PART=@PART@
cur=$(readlink "$S/current" 2>/dev/null || true)
printf 'current\t%s\n' "${cur##*/}"
[ -n "$cur" ] || exit 0
M="$S/current/.raijin"
active=$(cat "$S/slot" 2>/dev/null || true)
case $active in a|b) D="$S/slot-$active/.raijin/slots/$active" ;; *) D="" ;; esac

# emit FILE PATH: the file's contents framed by its size.
emit() {
  [ -f "$1" ] || return 0
  printf 'file\t%s\t%s\n' "$2" "$(wc -c < "$1" | tr -d ' ')"
  cat "$1"
  printf '\n'
}

case $PART in
  units)
    for f in "$M"/units/*; do emit "$f" "$U/${f##*/}"; done
    if [ -n "$D" ]; then
      for f in "$D"/units/*; do emit "$f" "$U/${f##*/}"; done
    fi ;;
  caddy)
    if [ -n "$D" ] && [ -f "$D/site.caddy" ]; then emit "$D/site.caddy" "$SITE"; else emit "$M/site.caddy" "$SITE"; fi ;;
  environment)
    emit "$M/env" "$S/current/.raijin/env" ;;
esac
"#;

/// The script that prints `part` of the current release.
pub fn show(layout: &Layout, part: Part) -> String {
    let word = match part {
        Part::Units => "units",
        Part::Caddy => "caddy",
        Part::Env => "environment",
    };
    render(
        SHOW,
        &[
            ("S", &layout.state_dir()),
            ("UNITDIR", &layout.unit_dir()),
            ("SITE", &layout.caddy_site_path()),
            ("PART", word),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_current_release_and_the_serving_slot() {
        let s = show(&Layout::new("shop"), Part::Units);
        assert!(
            s.contains("S=/var/lib/raijin/shop; U=/etc/systemd/system; SITE=/etc/caddy/raijin/shop.caddy; PART=units\n"),
            "{s}"
        );
        assert!(s.contains("D=\"$S/slot-$active/.raijin/slots/$active\""));
        assert!(show(&Layout::new("shop"), Part::Env).contains("PART=environment\n"));
    }
}
