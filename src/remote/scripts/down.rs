//! Taking an app off a host (`raijin down`): an activation or drain of the app still
//! running is stopped, its Caddy site removed (Caddy reloaded gracefully, in turn
//! with every other app's Caddy changes), every unit of the app stopped, disabled
//! and removed (in place, both slots of the web process, template instances) and
//! checked to be gone (a unit that failed while stopping has its failure reset; one
//! still loaded after 5 s is named in the error), and the state that says a release runs (`current`, `previous`, the slots, the unit
//! lists) cleared. The releases, the store and the audit log stay, so a later deploy
//! of a kept version sends nothing; the app's data directory stays.
//!
//! With purge, the app's processes are stopped first (its units and `exec` runs;
//! an app shell still open makes the purge stop there, with its reason), then
//! raijin's state goes too except the audit log and the lock, and the app's data
//! directory is removed by `rm -rf` of the directory itself: nothing inside it is
//! listed, followed or trusted.
//!
//! Output: `current<TAB>ID` (the release that ran, or empty), `note<TAB>TEXT` lines,
//! then `removed<TAB>N` (units removed); errors on stderr with a non-zero exit.

use super::{PRELUDE, render};
use crate::remote::Layout;
use crate::remote::layout::{CADDY_LOCK, CADDY_MAIN_CONFIG};

const DOWN: &str = r#"S=@S@; U=@UNITDIR@; SITE=@SITE@; APP=@APP@; USER=@USER@; DATA=@DATA@; PURGE=@PURGE@
CADDYFILE=@CADDYFILE@
@CADDY_FNS:raw@
cur=$(readlink "$S/current" 2>/dev/null || true)
printf 'current\t%s\n' "${cur##*/}"

# An activation or a drain of this app must not act after this.
systemctl stop @ACT@ >/dev/null 2>&1 || true
systemctl reset-failed @ACT@ >/dev/null 2>&1 || true
for sl in a b none; do
  systemctl stop "raijin.drain-$APP-$sl.timer" "raijin.drain-$APP-$sl.service" >/dev/null 2>&1 || true
done

# The site first, so traffic stops before the processes do.
if [ -e "$SITE" ]; then
  (
    flock 8
    rm -f -- "$SITE" "$SITE.new" "$SITE.bak"
    if ! out=$(caddy_reload); then
      caddy_settle
      printf 'the site is removed, but reloading Caddy failed: %s\n' "$out" >&2; exit 1
    fi
  ) 8>>@CADDY_LOCK@
  printf 'note\tremoved the Caddy site %s\n' "$SITE"
fi

# Every unit the app has: the running instances, the unit files in place and of
# both slots. Every name (or instance pattern) taken down is in $gone, to check
# that none is left loaded.
gone="@ACT@"
for sl in a b none; do gone="$gone raijin.drain-$APP-$sl.timer raijin.drain-$APP-$sl.service"; done
for u in $(cat "$S/current/.raijin/instances" 2>/dev/null || true); do
  case $u in *[!A-Za-z0-9@._-]*) continue ;; esac
  case $u in "$APP"-*) systemctl disable --now -- "$u" >/dev/null 2>&1 || true; gone="$gone $u" ;; esac
done
n=0
changed=0
for list in "$S/units" "$S/slot-units.a" "$S/slot-units.b"; do
  [ -f "$list" ] || continue
  while read -r u; do
    case $u in ""|*/*|*[!A-Za-z0-9@._-]*) continue ;; esac
    case $u in "$APP"-*) ;; *) continue ;; esac
    systemctl disable --now -- "$u" >/dev/null 2>&1 || true
    gone="$gone $u"
    case $u in *@.service)
      systemctl stop -- "${u%@.service}@*.service" >/dev/null 2>&1 || true
      gone="$gone ${u%@.service}@*.service" ;;
    esac
    if [ -e "$U/$u" ]; then rm -f -- "$U/$u"; changed=1; fi
    n=$((n + 1))
  done < "$list"
done
if [ $changed = 1 ]; then systemctl daemon-reload; fi
# A unit that failed while stopping stays loaded until its failure is reset; one
# still stopping is waited for (5 s at most), then named.
set -f
i=0
while :; do
  # shellcheck disable=SC2086 # a list of unit names and instance patterns
  systemctl reset-failed -- $gone >/dev/null 2>&1 || true
  # shellcheck disable=SC2086
  left=$(systemctl list-units --all --plain --no-legend -- $gone 2>/dev/null | awk '{print $1}' | tr '\n' ' ')
  [ -n "$left" ] || break
  i=$((i + 1))
  if [ $i -ge 50 ]; then
    printf 'these units of %s are still loaded after stopping them: %s\n' "$APP" "$left" >&2; exit 1
  fi
  sleep 0.1
done
set +f
rm -f -- "$S/units" "$S/slot-units.a" "$S/slot-units.b" "$S/slot" "$S/slot-a" "$S/slot-b" \
  "$S/current" "$S/current.new" "$S/previous" "$S/retire"

if [ "$PURGE" = 1 ]; then
  systemctl stop "raijin-exec-$APP-[0-9]*" >/dev/null 2>&1 || true
  if id -u "$USER" >/dev/null 2>&1 && pgrep -u "$USER" >/dev/null 2>&1; then
    printf 'processes of user %s still run (an app shell?): stop them, then run down --purge again; the units and the site are gone already\n' "$USER" >&2
    exit 1
  fi
  if [ -d "$S" ]; then
    for f in "$S"/* "$S"/.[!.]*; do
      [ -e "$f" ] || [ -L "$f" ] || continue
      case ${f##*/} in audit.log|lock|.guard) ;; *) rm -rf -- "$f" ;; esac
    done
  fi
  rm -rf -- "$DATA"
  printf 'note\tremoved the releases, the store and %s\n' "$DATA"
fi
printf 'removed\t%s\n' "$n"
"#;

/// The script that takes the app off the host; `purge` also removes its releases,
/// store and data directory.
pub fn down(layout: &Layout, user: &str, purge: bool) -> String {
    format!(
        "{PRELUDE}{}",
        render(
            DOWN,
            &[
                ("S", &layout.state_dir()),
                ("UNITDIR", &layout.unit_dir()),
                ("SITE", &layout.caddy_site_path()),
                ("APP", layout.app()),
                ("USER", user),
                ("DATA", &layout.app_dir()),
                ("PURGE", if purge { "1" } else { "0" }),
                ("ACT", &layout.activation_unit()),
                ("CADDY_LOCK", CADDY_LOCK),
                ("CADDYFILE", CADDY_MAIN_CONFIG),
                ("CADDY_FNS", super::caddy::FUNCTIONS),
            ],
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_activation_and_drains_then_removes_units_of_both_slots() {
        let s = down(&Layout::new("shop"), "shop", false);
        assert!(s.starts_with("set -eu\n"), "{s}");
        assert!(s.contains("systemctl stop raijin.activate-shop.service "));
        assert!(s.contains(
            "systemctl stop \"raijin.drain-$APP-$sl.timer\" \"raijin.drain-$APP-$sl.service\""
        ));
        assert!(s.contains("for list in \"$S/units\" \"$S/slot-units.a\" \"$S/slot-units.b\"; do"));
        assert!(s.contains("PURGE=0\n"));
        assert!(s.contains(") 8>>/var/lib/raijin/.caddy.lock\n"));
        // What was stopped is checked to be gone, failed units reset.
        assert!(s.contains("systemctl reset-failed -- $gone "), "{s}");
        assert!(s.contains("gone=\"raijin.activate-shop.service\"\n"), "{s}");
    }

    #[test]
    fn a_purge_removes_the_data_dir_itself_and_lists_nothing_inside_it() {
        let s = down(&Layout::new("shop"), "shop", true);
        assert!(s.contains("DATA=/opt/raijin/shop; PURGE=1\n"), "{s}");
        assert!(s.contains("rm -rf -- \"$DATA\"\n"));
        // The only listing is of raijin's own state directory.
        assert!(!s.contains("\"$DATA\"/"), "{s}");
        assert!(s.contains("for f in \"$S\"/* \"$S\"/.[!.]*; do"));
    }
}
