//! The deploy lock of an app on a host: a `lock/` directory holding the owner's
//! token and a JSON record (who, since when, which version, which machine and
//! process). Taking, breaking and releasing it happen under `flock` on
//! `state/.guard`, so each is atomic: a lock is broken only if it still carries the
//! token that was judged stale, and released only by the token that took it.
//!
//! Taking the lock is also where a host first meets this version of raijin: the
//! script creates the state directory and moves a legacy `/opt/raijin/APP/.install`
//! out of the app's reach (see [`super::migrate`]), so deploy and rollback alike
//! start from the current layout.

use super::{PRELUDE, migrate, render};
use crate::remote::Layout;
use crate::remote::layout::STATE_ROOT;

/// What to do with a lock somebody else holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Take<'a> {
    /// Take it if free.
    IfFree,
    /// Remove it first if it still carries this token (a holder judged stale).
    Break(&'a str),
}

const TAKE: &str = r#"R=@ROOT@; S=@S@; L="$S/lock"; B=@BREAK@
command -v flock >/dev/null 2>&1 || { echo 'flock (util-linux) is required on this host' >&2; exit 1; }
# Two first deploys may race here: whoever loses finds the directory made.
mkdir -m 0755 "$R" 2>/dev/null || [ -d "$R" ] || { echo "cannot create $R" >&2; exit 1; }
mkdir -m 0750 "$S" 2>/dev/null || [ -d "$S" ] || { echo "cannot create $S" >&2; exit 1; }
exec 9>>"$S/.guard"
flock -w 30 9 || { echo "cannot take $S/.guard within 30 s" >&2; exit 1; }
@MIGRATE:raw@
if [ -n "$B" ] && [ "$(cat "$L/token" 2>/dev/null || echo -)" = "$B" ]; then
  rm -rf -- "$L"
fi
# A running activation's transient unit has its file in /run/systemd/transient.
if [ -e @TRANSIENT@ ] && systemctl is-active --quiet @UNIT@; then
  echo busy
elif mkdir -m 0700 "$L" 2>/dev/null; then
  printf '%s\n' @TOKEN@ > "$L/token"
  printf '%s\n' @INFO@ > "$L/info"
  echo locked
  # What the caller reads once it holds the lock, in the same round trip.
  ( set +e
@THEN:raw@
  )
else
  echo "held $(cat "$L/token" 2>/dev/null || echo -) $(cat "$L/info" 2>/dev/null || true)"
fi
"#;

/// Take the app's lock with `token`, recording `info_json`. Prints `locked` (then
/// the output of `then`, a script run holding the lock, `:` for none), `held TOKEN
/// INFO` (another deploy holds it) or `busy` (a host-side activation of the app is
/// still finishing). `instances` are the unit instances of the app's current
/// configuration, recorded for releases a migration brings over (see
/// [`migrate::script`]).
pub fn take(
    layout: &Layout,
    token: &str,
    info_json: &str,
    how: &Take<'_>,
    instances: &[String],
    then: &str,
) -> String {
    let brk = match how {
        Take::IfFree => "",
        Take::Break(t) => t,
    };
    let state = layout.state_dir();
    let unit = layout.activation_unit();
    format!(
        "{PRELUDE}{}",
        render(
            TAKE,
            &[
                ("ROOT", STATE_ROOT),
                ("S", &state),
                ("MIGRATE", &migrate::script(layout, instances)),
                ("BREAK", brk),
                ("UNIT", &unit),
                ("TRANSIENT", &format!("/run/systemd/transient/{unit}")),
                ("TOKEN", token),
                ("INFO", info_json),
                ("THEN", if then.trim().is_empty() { ":" } else { then }),
            ],
        )
    )
}

const RELEASE: &str = r#"S=@S@; L="$S/lock"
[ -d "$L" ] || exit 0
exec 9>>"$S/.guard"
flock -w 30 9 || { echo "cannot take $S/.guard within 30 s" >&2; exit 1; }
if [ "$(cat "$L/token" 2>/dev/null || true)" = @TOKEN@ ]; then
  rm -rf -- "$L"
  echo released
else
  echo "not ours"
fi
"#;

/// Release the lock only if `token` holds it: prints `released` or `not ours`.
pub fn release(layout: &Layout, token: &str) -> String {
    format!(
        "{PRELUDE}{}",
        render(RELEASE, &[("S", &layout.state_dir()), ("TOKEN", token)])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_checks_the_token_before_breaking() {
        let s = take(
            &Layout::new("shop"),
            "t1",
            "{\"by\":\"a\"}",
            &Take::Break("old"),
            &[],
            "echo after",
        );
        assert!(s.starts_with(PRELUDE), "{s}");
        assert!(
            s.contains("S=/var/lib/raijin/shop; L=\"$S/lock\"; B=old\n"),
            "{s}"
        );
        assert!(
            s.contains(
                "if [ -n \"$B\" ] && [ \"$(cat \"$L/token\" 2>/dev/null || echo -)\" = \"$B\" ]; then"
            ),
            "{s}"
        );
        assert!(s.contains("if [ -e /run/systemd/transient/raijin.activate-shop.service ] && systemctl is-active --quiet raijin.activate-shop.service; then"), "{s}");
        assert!(s.contains("printf '%s\\n' t1 > \"$L/token\""));
        assert!(s.contains("printf '%s\\n' '{\"by\":\"a\"}' > \"$L/info\""));
        // What the caller reads runs only when the lock was taken, after `locked`.
        assert!(s.contains("  echo locked\n  # What the caller reads once it holds the lock, in the same round trip.\n  ( set +e\necho after\n  )\nelse\n"), "{s}");
        let free = take(&Layout::new("shop"), "t1", "{}", &Take::IfFree, &[], "");
        assert!(free.contains("; B=''\n"), "{free}");
        assert!(free.contains("( set +e\n:\n  )"), "{free}");
    }

    #[test]
    fn release_removes_only_its_own_lock() {
        let s = release(&Layout::new("shop"), "t1");
        assert!(s.contains(
            "if [ \"$(cat \"$L/token\" 2>/dev/null || true)\" = t1 ]; then\n  rm -rf -- \"$L\""
        ));
    }
}
