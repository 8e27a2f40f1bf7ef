//! Moving a host from the legacy layout (raijin's files in `/opt/raijin/APP/.install`,
//! inside the app's own directory) to the state directory `/var/lib/raijin/APP`.
//!
//! The app user could rename or replace `.install` (its parent is the app's), so the
//! script never looks inside it where it is. It first renames the entry, whatever it
//! is, into a root-only staging directory on the same filesystem (one `rename(2)`,
//! which moves a planted symlink as a symlink), and only there checks that it is a
//! real directory made by root that nobody else could write. Releases are then moved
//! one by one, each only if every entry in it is root's and not writable by others;
//! their unit files and Caddy site are rewritten to the new paths, and the units and
//! site of the running release are installed again so that a restart finds them. The
//! new `releases/` appears by one rename at the end, so an interrupted migration runs
//! again from its staging directory on the next deploy.

use super::render;
use crate::remote::Layout;
use crate::remote::layout::{CADDY_LOCK, CADDY_MAIN_CONFIG, DATA_ROOT};
use crate::util::shell_quote as q;

const MIGRATE: &str = r#"CADDYFILE=@CADDYFILE@
@CADDY_FNS:raw@
raijin_migrate() {
  O=@OLD@; A=@APPDIR@; T=@STAGE@
  if [ ! -e "$T/old" ] && [ ! -L "$T/old" ]; then
    [ -e "$O" ] || [ -L "$O" ] || return 0
    [ -d "$T" ] || mkdir -m 0700 "$T"
    if [ "$(stat -c %d "$A")" != "$(stat -c %d "$T")" ]; then
      echo "note migrate: $A is not on the filesystem of $T; $O is left where it is and not used"
      mkdir -m 0755 "$S/releases"
      return 0
    fi
    mv -T -- "$O" "$T/old"
  fi
  W="$T/old"
  for p in "$W" "$W/releases" "$W/store"; do
    [ -e "$p" ] || [ -L "$p" ] || continue
    if [ -L "$p" ] || [ ! -d "$p" ] || [ "$(stat -c %u "$p")" != 0 ] || [ $(( 0$(stat -c %a "$p") & 022 )) != 0 ]; then
      echo "note migrate: $O was not trusted ($p is not a directory only root can write); nothing was migrated, it is kept in $T"
      mkdir -m 0755 "$S/releases"
      return 0
    fi
  done
  N="$S/releases.migrating"
  rm -rf -- "$N"
  mkdir -m 0755 "$N"
  moved=0; skipped=""
  for d in "$W"/releases/*/; do
    [ -d "$d" ] || continue
    v=${d%/}; v=${v##*/}
    case $v in
      [!A-Za-z0-9]*|*[!A-Za-z0-9._+-]*) skipped="$skipped $v"; continue ;;
    esac
    [ -f "$d.raijin/meta.json" ] || continue
    if [ -n "$(find "$d" \( ! -user 0 -o \( ! -type l \( -perm -020 -o -perm -002 \) \) \) -print | head -n 1)" ]; then
      skipped="$skipped $v"; continue
    fi
    mv -T -- "$W/releases/$v" "$N/$v"
    for f in "$N/$v"/.raijin/units/* "$N/$v/.raijin/site.caddy"; do
      [ -f "$f" ] || continue
      sed @SED:raw@ "$f" > "$f.new" && mv -f "$f.new" "$f"
    done
    if [ ! -f "$N/$v/.raijin/instances" ]; then
      : > "$N/$v/.raijin/instances"
      for i in @INSTANCES:raw@; do
        case $i in *@*.service) b="${i%%@*}@.service" ;; *) b=$i ;; esac
        if [ -f "$N/$v/.raijin/units/$b" ]; then printf '%s\n' "$i" >> "$N/$v/.raijin/instances"; fi
      done
    fi
    moved=$((moved + 1))
  done
  if [ -d "$W/store" ] && [ -z "$(find "$W/store" ! -user 0 -print | head -n 1)" ]; then
    if [ -d "$S/store" ]; then rm -rf -- "$S/store"; fi
    mv -T -- "$W/store" "$S/store"
    chmod 0700 "$S/store"
  fi
  cur=$(readlink "$W/current" 2>/dev/null || true); cur=${cur##*/}
  prev=$(cat "$W/previous" 2>/dev/null || true)
  case $prev in
    ""|*[!A-Za-z0-9._+-]*) ;;
    *) if [ -d "$N/$prev" ]; then printf '%s\n' "$prev" > "$S/previous"; fi ;;
  esac
  if [ -f "$W/units" ]; then
    while read -r n; do
      case $n in
        *[!A-Za-z0-9_.@-]*) ;;
        @APP:raw@-*.service|@APP:raw@-*.socket|@APP:raw@-*.timer) printf '%s\n' "$n" ;;
      esac
    done < "$W/units" > "$S/units"
  fi
  if [ -f "$W/audit.log" ]; then cat -- "$W/audit.log" >> "$S/audit.log"; fi
  mv -T -- "$N" "$S/releases"
  case $cur in
    ""|*[!A-Za-z0-9._+-]*) ;;
    *) if [ -d "$S/releases/$cur" ]; then ln -sfn "releases/$cur" "$S/current.new" && mv -Tf "$S/current.new" "$S/current"; fi ;;
  esac
  if [ -L "$S/current" ]; then
    C="$S/current/.raijin"; ch=0
    for f in "$C"/units/*; do
      [ -f "$f" ] || continue
      n=${f##*/}
      if [ -f "@UNITDIR:raw@/$n" ] && ! cmp -s "$f" "@UNITDIR:raw@/$n"; then install -m 0644 "$f" "@UNITDIR:raw@/$n"; ch=1; fi
    done
    if [ $ch = 1 ]; then systemctl daemon-reload; fi
    if [ -f "$C/site.caddy" ] && [ -f @SITE@ ] && ! cmp -s "$C/site.caddy" @SITE@; then
      ( flock 8; install -m 0644 "$C/site.caddy" @SITE@ && { caddy_reload >/dev/null || { caddy_settle; false; }; } ) 8>>@CADDY_LOCK@ || echo "note migrate: reloading Caddy with the moved site failed"
    fi
  fi
  rm -rf -- "$T"
  echo "note migrated $moved releases from $O to $S${skipped:+; not migrated, having entries of other users or writable by others:$skipped}"
}
if [ ! -d "$S/releases" ] && { [ -e @OLD@ ] || [ -L @OLD@ ] || [ -d @STAGE@ ]; }; then
  raijin_migrate
fi
"#;

/// The sed program that rewrites a legacy release's unit files and Caddy site to the
/// state directory's paths.
fn sed_program(layout: &Layout) -> String {
    let old = layout.legacy_install_dir().replace('.', "\\.");
    let state = layout.state_dir();
    [
        format!(
            "s#^EnvironmentFile=-{old}/env$#EnvironmentFile=-{}#",
            layout.env_file()
        ),
        format!("\\#^EnvironmentFile=-{old}/secrets\\.env$#d"),
        format!("\\#^ReadOnlyPaths={old}$#d"),
        format!(
            "s#^InaccessiblePaths=-{old}/store .*$#InaccessiblePaths=-{} -{} -{}#",
            layout.store_dir(),
            layout.key_file(),
            layout.run_dir()
        ),
        format!("s#{old}#{state}#g"),
    ]
    .iter()
    .map(|e| format!("-e {}", q(e)))
    .collect::<Vec<_>>()
    .join(" ")
}

/// The migration, as a shell function and its call, for the lock script (which runs
/// it under the state directory's guard, with `S` set to the state directory).
/// `instances` (the unit instances of the current configuration) are recorded for
/// migrated releases whose unit files exist, since legacy releases did not keep them.
pub fn script(layout: &Layout, instances: &[String]) -> String {
    let stage = format!("{DATA_ROOT}/.raijin-migrate-{}", layout.app());
    let instances: Vec<String> = instances.iter().map(|i| q(i)).collect();
    render(
        MIGRATE,
        &[
            ("OLD", &layout.legacy_install_dir()),
            ("APPDIR", &layout.app_dir()),
            ("STAGE", &stage),
            ("SED", &sed_program(layout)),
            ("INSTANCES", &instances.join(" ")),
            ("APP", layout.app()),
            ("UNITDIR", &layout.unit_dir()),
            ("SITE", &layout.caddy_site_path()),
            ("CADDY_LOCK", CADDY_LOCK),
            ("CADDYFILE", CADDY_MAIN_CONFIG),
            ("CADDY_FNS", super::caddy::FUNCTIONS),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_first_and_looks_only_in_the_stage() {
        let s = script(&Layout::new("shop"), &["shop-web.service".into()]);
        assert!(s.contains("O=/opt/raijin/shop/.install; A=/opt/raijin/shop; T=/opt/raijin/.raijin-migrate-shop"), "{s}");
        assert!(s.contains("mv -T -- \"$O\" \"$T/old\""));
        // After the rename, nothing is read through $O again.
        let after = s
            .split("mv -T -- \"$O\" \"$T/old\"")
            .nth(1)
            .unwrap_or_default();
        let body = after.split("\n}\n").next().unwrap_or_default();
        assert!(
            !body.contains("\"$O\"/") && !body.contains("\"$O/"),
            "{body}"
        );
        assert!(s.contains("for i in shop-web.service; do"));
    }

    #[test]
    fn unit_paths_are_rewritten() {
        let p = sed_program(&Layout::new("shop"));
        assert!(p.contains("-e 's#^EnvironmentFile=-/opt/raijin/shop/\\.install/env$#EnvironmentFile=-/var/lib/raijin/shop/current/.raijin/env#'"), "{p}");
        assert!(
            p.contains("-e 's#/opt/raijin/shop/\\.install#/var/lib/raijin/shop#g'"),
            "{p}"
        );
    }
}
