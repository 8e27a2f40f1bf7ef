//! Reading an app's state on a host (kept releases, unit states, drift, the journal
//! of a failing unit), appending to its audit log and reading it back.

use super::{PRELUDE, render};
use crate::remote::Layout;
use crate::util::shell_quote as q;

const HISTORY: &str = r#"S=@S@
if [ ! -d "$S/releases" ] && [ -e @OLD@ ]; then echo legacy; fi
for d in "$S"/releases/*/; do
  [ -f "$d.raijin/meta.json" ] || continue
  v=${d%/}; v=${v##*/}
  b=0; if [ -e "$d.raijin/bad" ]; then b=1; fi
  printf '%s\t%s\t%s\n' "$v" "$b" "$(cat "$d.raijin/meta.json")"
done
cur=$(readlink "$S/current" 2>/dev/null || true)
printf 'current\t%s\n' "${cur##*/}"
printf 'previous\t%s\n' "$(cat "$S/previous" 2>/dev/null || true)"
"#;

/// Per release: `ID<TAB>bad(0|1)<TAB>meta.json`, then `current<TAB>ID` and
/// `previous<TAB>ID`; `legacy` first when the host still has an earlier raijin's
/// layout (which the next deploy migrates).
pub fn history(layout: &Layout) -> String {
    render(
        HISTORY,
        &[
            ("S", &layout.state_dir()),
            ("OLD", &layout.legacy_install_dir()),
        ],
    )
}

const STATUS: &str = r#"S=@S@; U=@UNITDIR@; SITE=@SITE@
cur=$(readlink "$S/current" 2>/dev/null || true)
printf 'current\t%s\n' "${cur##*/}"
[ -n "$cur" ] || exit 0
M="$S/current/.raijin"
active=$(cat "$S/slot" 2>/dev/null || true)
for f in "$M"/units/*; do
  [ -e "$f" ] || continue
  n=${f##*/}
  cmp -s "$f" "$U/$n" || printf 'drift\tunit %s differs from the release\n' "$n"
done
site="$M/site.caddy"
case $active in
  a|b)
    site="$M/slots/$active/site.caddy"
    for f in "$M/slots/$active"/units/*; do
      [ -e "$f" ] || continue
      n=${f##*/}
      cmp -s "$f" "$U/$n" || printf 'drift\tunit %s differs from the release\n' "$n"
    done ;;
esac
if [ -f "$site" ]; then
  cmp -s "$site" "$SITE" || printf 'drift\tCaddy site %s differs from the release\n' "$SITE"
fi
show() {
  printf 'unit\t%s\t%s\t%s\t%s\n' "$1" "$(systemctl show -p ActiveState --value "$1")" "$(systemctl show -p SubState --value "$1")" "$(systemctl show -p StateChangeTimestamp --value "$1")"
}
for sl in a b; do
  r=$(readlink "$S/slot-$sl" 2>/dev/null || true)
  [ -n "$r" ] || continue
  role=standby; if [ "$sl" = "$active" ]; then role=serving; fi
  printf 'slot\t%s\t%s\t%s\n' "$sl" "${r##*/}" "$role"
  for n in $(cat "$S/slot-units.$sl" 2>/dev/null || true); do show "$n"; done
done
[ -f "$S/units" ] || exit 0
while read -r n; do
  case $n in
    *@.service)
      for m in $(systemctl list-units --all --plain --no-legend --no-pager "${n%@.service}@*.service" | cut -d' ' -f1); do show "$m"; done ;;
    ?*) show "$n" ;;
  esac
done < "$S/units"
"#;

/// Unit states and drift for the current release: lines
/// `unit<TAB>name<TAB>ActiveState<TAB>SubState<TAB>since`, `drift<TAB>what`,
/// `slot<TAB>a|b<TAB>ID<TAB>serving|standby` (the web process's slots, each followed by
/// its units) and `current<TAB>ID`.
pub fn status(layout: &Layout) -> String {
    render(
        STATUS,
        &[
            ("S", &layout.state_dir()),
            ("UNITDIR", &layout.unit_dir()),
            ("SITE", &layout.caddy_site_path()),
        ],
    )
}

/// The last lines of a unit's journal.
pub fn journal_tail(unit: &str, lines: u32) -> String {
    format!(
        "journalctl -u {} -n {lines} --no-pager -o short-iso 2>&1 || true\n",
        q(unit)
    )
}

/// Append one JSON line to the app's audit log on the host.
pub fn audit(layout: &Layout, line: &str) -> String {
    format!(
        "{PRELUDE}{}",
        render(
            "S=@S@\n[ -d \"$S\" ] || mkdir -p \"$S\"\nprintf '%s\\n' @LINE@ >> \"$S/audit.log\"\nchmod 0640 \"$S/audit.log\"\n",
            &[("S", &layout.state_dir()), ("LINE", line)],
        )
    )
}

/// The last `lines` lines of the app's audit log on the host (nothing when it has none).
pub fn audit_tail(layout: &Layout, lines: usize) -> String {
    render(
        "S=@S@\n[ -f \"$S/audit.log\" ] || exit 0\ntail -n @N@ -- \"$S/audit.log\"\n",
        &[("S", &layout.state_dir()), ("N", &lines.to_string())],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_reads_the_state_dir_and_notes_a_legacy_layout() {
        let s = history(&Layout::new("shop"));
        assert!(s.starts_with("S=/var/lib/raijin/shop\n"), "{s}");
        assert!(s.contains("[ -e /opt/raijin/shop/.install ]; then echo legacy"));
    }

    #[test]
    fn status_reads_the_installed_unit_list() {
        let s = status(&Layout::new("shop"));
        assert!(s.contains("done < \"$S/units\""), "{s}");
    }

    #[test]
    fn the_audit_tail_reads_the_state_dir() {
        assert_eq!(
            audit_tail(&Layout::new("shop"), 5),
            "S=/var/lib/raijin/shop\n[ -f \"$S/audit.log\" ] || exit 0\ntail -n 5 -- \"$S/audit.log\"\n"
        );
    }

    #[test]
    fn audit_appends_a_quoted_line() {
        let s = audit(&Layout::new("shop"), "{\"a\":\"it's\"}");
        assert!(
            s.contains("printf '%s\\n' '{\"a\":\"it'\\''s\"}' >> \"$S/audit.log\""),
            "{s}"
        );
    }
}
