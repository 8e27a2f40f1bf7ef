//! The app's units on a host, as its current release installed them (never as the
//! local configuration says: it may have moved on since the deploy): starting,
//! stopping and restarting them (`raijin app start|stop|restart`) and reading their
//! details (`raijin app status`, the console's Status tab).
//!
//! Which units: the in-place ones the current release starts
//! (`current/.raijin/instances`: services, replica instances, sockets, timers), the
//! service behind each socket and timer, and the web process's units in both slots
//! (`state/slot-units.a|b`, marked `a:serving` or `b:standby`). Start and restart
//! act on the in-place units and the serving slot; stop on all of them (a draining
//! slot too). A restart is `reload-or-restart` of the services (plain `restart` when
//! forced); a socket is started and its service restarted only if it runs; a timer
//! is started and its job is not run. A start or restart then waits (up to
//! [`SETTLE_SECS`]) for its units to leave `activating`.
//!
//! Output lines: `unit<TAB>NAME<TAB>ROLE` (`-` in place, else `SLOT:serving|standby`)
//! followed by its `prop<TAB>Key=Value` lines from `systemctl show`, `log<TAB>NAME<TAB>LINE`
//! (the journal of a unit left failed by the action), `error<TAB>MESSAGE` (the action
//! failed, or the app is not deployed here), and `current<TAB>ID` first.

use super::render;
use crate::remote::Layout;

/// What to do with the units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Status,
    Start,
    Stop,
    /// Reload-or-restart; `force`: restart.
    Restart {
        force: bool,
    },
}

impl Action {
    fn word(self) -> &'static str {
        match self {
            Action::Status => "status",
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart { force: false } => "restart",
            Action::Restart { force: true } => "force-restart",
        }
    }
}

/// How long a start or restart waits for its units to leave `activating` (a unit
/// that crashes at once and is restarted by systemd shows its real state).
pub const SETTLE_SECS: u32 = 10;

/// The properties read for each unit.
pub const PROPERTIES: &[&str] = &[
    "ActiveState",
    "SubState",
    "StateChangeTimestamp",
    "MainPID",
    "NRestarts",
    "MemoryCurrent",
];

const UNITS: &str = r#"export LC_ALL=C
S=@S@; STEMS=@STEMS@; ACTION=@ACTION@; ACT=@ACT@
cur=$(readlink "$S/current" 2>/dev/null || true)
if [ -z "$cur" ]; then printf 'error\tthe app is not deployed on this host\n'; exit 0; fi
printf 'current\t%s\n' "${cur##*/}"
active=$(cat "$S/slot" 2>/dev/null || true)

# pick ROLE UNIT...: "ROLE KIND UNIT" for the units of the chosen processes (all
# when STEMS is empty), each socket's and timer's service after it.
pick() {
  role=$1; shift
  for u in "$@"; do
    case $u in ""|*/*) continue ;; esac
    if [ -n "$STEMS" ]; then
      hit=0
      for st in $STEMS; do
        case $u in "$st".*|"$st"@*) hit=1 ;; esac
      done
      [ $hit = 1 ] || continue
    fi
    printf '%s main %s\n' "$role" "$u"
    case $u in
      *.socket) printf '%s socket-service %s.service\n' "$role" "${u%.socket}" ;;
      *.timer) printf '%s timer-service %s.service\n' "$role" "${u%.timer}" ;;
    esac
  done
}

# shellcheck disable=SC2046 # one word per unit
chosen=$(
  pick - $(cat "$S/current/.raijin/instances" 2>/dev/null || true)
  for sl in a b; do
    # A slot that never ran a release (its unit files placed ahead) has no units yet.
    [ -e "$S/slot-$sl" ] || continue
    role="$sl:standby"; if [ "$sl" = "$active" ]; then role="$sl:serving"; fi
    pick "$role" $(cat "$S/slot-units.$sl" 2>/dev/null || true)
  done
)
if [ -z "$chosen" ]; then printf 'error\tno units of these processes on this host\n'; exit 0; fi

err=""
if [ "$ACTION" != status ]; then
  if systemctl is-active --quiet "$ACT"; then
    printf 'error\ta deploy or rollback is activating a release on this host; try again when it has finished\n'
    exit 0
  fi
  run=""; also=""; try=""
  while read -r role kind u; do
    case $role in -|?:serving) on=1 ;; *) on=0 ;; esac
    case $ACTION:$kind:$on in
      stop:*) run="$run $u" ;;
      start:main:1) run="$run $u" ;;
      *restart:main:1)
        case $u in *.service) run="$run $u" ;; *) also="$also $u" ;; esac ;;
      *restart:socket-service:1) try="$try $u" ;;
    esac
  done <<EOF
$chosen
EOF
  verb=$ACTION
  case $ACTION in restart) verb=reload-or-restart ;; force-restart) verb=restart ;; esac
  # shellcheck disable=SC2086 # one word per unit
  if [ -n "$run" ] && ! out=$(systemctl "$verb" $run 2>&1); then err="systemctl $verb failed: $out"; fi
  # shellcheck disable=SC2086 # one word per unit
  if [ -n "$also" ] && ! out=$(systemctl start $also 2>&1); then err="${err:+$err; }systemctl start failed: $out"; fi
  # shellcheck disable=SC2086 # one word per unit
  if [ -n "$try" ] && ! out=$(systemctl try-restart $try 2>&1); then err="${err:+$err; }systemctl try-restart failed: $out"; fi
  # Let what started settle (a quick crash and its automatic restart), within @SETTLE@ s.
  if [ "$ACTION" != stop ] && [ -n "$run$try" ]; then
    # The kernel's uptime clock, which never steps (a wall clock set meanwhile).
    read -r t _ < /proc/uptime; end=$((${t%%.*} + @SETTLE@))
    while :; do
      # shellcheck disable=SC2086 # one word per unit
      case " $(systemctl is-active $run $try 2>/dev/null | tr '\n' ' ')" in
        *" activating "*|*" deactivating "*|*" reloading "*) ;;
        *) break ;;
      esac
      read -r t _ < /proc/uptime
      [ "${t%%.*}" -lt "$end" ] || break
      sleep 0.1
    done
  fi
fi

while read -r role kind u; do
  printf 'unit\t%s\t%s\n' "$u" "$role"
  systemctl show @PROPS:raw@ -- "$u" 2>/dev/null | while IFS= read -r l; do printf 'prop\t%s\n' "$l"; done
  if [ "$ACTION" != status ] && [ "$(systemctl show -p ActiveState --value -- "$u" 2>/dev/null)" = failed ]; then
    journalctl -u "$u" -n 10 --no-pager -o short-iso 2>/dev/null | while IFS= read -r l; do printf 'log\t%s\t%s\n' "$u" "$l"; done
  fi
done <<EOF
$chosen
EOF
if [ -n "$err" ]; then printf 'error\t%s\n' "$err" | tr '\n' ' '; echo; fi
"#;

/// The script for `action` on the units of the processes with unit stems `stems`
/// (`APP-PROC`; none: every process).
pub fn units(layout: &Layout, stems: &[String], action: Action) -> String {
    let props: Vec<String> = PROPERTIES.iter().map(|p| format!("-p {p}")).collect();
    render(
        UNITS,
        &[
            ("S", &layout.state_dir()),
            ("STEMS", &stems.join(" ")),
            ("ACTION", action.word()),
            ("ACT", &layout.activation_unit()),
            ("PROPS", &props.join(" ")),
            ("SETTLE", &SETTLE_SECS.to_string()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_units_come_from_the_current_release_and_the_slots() {
        let s = units(
            &Layout::new("shop"),
            &["shop-web".into(), "shop-worker".into()],
            Action::Restart { force: false },
        );
        assert!(
            s.contains("S=/var/lib/raijin/shop; STEMS='shop-web shop-worker'; ACTION=restart; ACT=raijin.activate-shop.service\n"),
            "{s}"
        );
        assert!(s.contains("pick - $(cat \"$S/current/.raijin/instances\""));
        assert!(s.contains("$(cat \"$S/slot-units.$sl\""));
        assert!(s.contains(
            "systemctl show -p ActiveState -p SubState -p StateChangeTimestamp -p MainPID -p NRestarts -p MemoryCurrent -- \"$u\""
        ));
        let all = units(&Layout::new("shop"), &[], Action::Stop);
        assert!(all.contains("STEMS=''; ACTION=stop;"), "{all}");
        assert!(
            units(&Layout::new("shop"), &[], Action::Restart { force: true })
                .contains("ACTION=force-restart;")
        );
    }
}
