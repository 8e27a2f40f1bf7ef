//! Activating a release on a host, with its health gate and revert, as a host-side
//! program that finishes on its own whatever happens to the SSH link or to raijin.
//!
//! raijin writes [`PROGRAM`] into the state directory and starts it as the transient
//! unit `raijin.activate-APP.service` (see [`start`]); the same command then follows
//! the program's progress. The program:
//!
//! 1. applies the target release completely: installs its own unit files, removes the
//!    app's units it does not have, reloads systemd if they changed, flips `current`,
//!    enables and restarts the release's own instances, and puts its Caddy site in
//!    place (reloaded gracefully, validated for Caddy's reason when it refuses the
//!    reload, serialized with every other app's Caddy changes on the host by `flock`);
//! 2. waits until every unit is active (bounded);
//! 3. when the app has an HTTP health check, waits for raijin to confirm it: raijin
//!    checks the health path through Caddy and writes `confirm`, or `reject` with the
//!    reason. Without a word from raijin in time (the link or raijin is gone), the
//!    release counts as unhealthy;
//!
//! A release whose web process runs in slots (see `remote::slots`) goes through 1–3
//! differently: its other processes are applied in place, its web process starts in
//! the slot that is not serving, raijin checks it on its own ports and writes `slot`,
//! then the Caddy site moves to that slot (`switched`), raijin checks the site the way
//! users reach it and writes `confirm`, and the old slot drains for `drain_secs`
//! before it stops (a transient timer, `raijin.drain-APP-SLOT`). If anything fails the
//! traffic goes back to the old slot, which never stopped, and the new one stops;
//! 4. on success records `previous` and clears a `bad` mark; otherwise marks the
//!    target bad and applies the previous release the same way (its own units and
//!    site), or, on a host that had none, stops and removes the target's units and
//!    site.
//!
//! It ends by writing `run/ID/outcome`: a line `STATUS PREVIOUS UNIT` (`ok`,
//! `reverted`, `stopped` or `failed`; `-` for none) and the reason on the lines after.
//! Progress lines go to `run/ID/progress`: `start TARGET PREVIOUS`, `applied`,
//! `slot-started SLOT PORTS…`, `units-active` (`units-active checked`: a warm slot
//! answered the host's own health check, no word awaited), `await-slot EPOCH`, `switched SLOT`,
//! `await-confirm EPOCH`, `confirmed WORD`, `draining SLOT SECS`, `revert PREVIOUS`,
//! `caddy adapted` (the switch's config is ready), `caddy loaded` or `caddy reloaded` (how
//! a site went in), `outcome S`.

use super::{PRELUDE, render, write_file};
use crate::remote::Layout;
use crate::remote::caddy::caddy_main_config_snippet;
use crate::remote::layout::{CADDY_LOCK, CADDY_MAIN_CONFIG};

/// The host-side program; arguments: activation id, target release, seconds for the
/// units to become active, `1` to wait for raijin's confirmation, seconds to wait
/// for it.
pub const PROGRAM: &str = r#"#!/bin/sh
# raijin: activate a release on this host, gate it on health and revert unless it is
# confirmed healthy. Runs as a transient systemd unit; see remote::scripts::activate.
set -u
umask 022
export LC_ALL=C
S=@S@; U=@UNITDIR@; SITE=@SITE@; CADDYFILE=@CADDYFILE@; APP=@APP@; KEPT="$S/caddy-adapted"
id=$1; target=$2; units_timeout=$3; confirm=$4; confirm_timeout=$5; drain=$6
health_host=${7:-}; health_path=${8:-}
R="$S/run/$id"
printf '%s\n' "$$" > "$R/pid.new" && mv -f "$R/pid.new" "$R/pid"
# tick: t = whole seconds on the kernel's uptime clock, which never steps: the
# budgets hold when the wall clock is set (NTP, an operator) during the activation.
tick() { read -r t _ < /proc/uptime; t=${t%%.*}; }
# One budget for becoming healthy, from now: the units, and raijin's word(s).
tick; started=$t
deadline=$((started + units_timeout))
if [ "$confirm" = 1 ]; then deadline=$((started + confirm_timeout)); fi
err=""; bad_unit=""; prev=""; switched=0; inst_wait=""; restarts0=""; prep=""; slot_warm=0
drain_pid=""
@CADDY_FNS:raw@

say() { printf '%s\n' "$*" >> "$R/progress"; }

finish() {
  { printf '%s %s %s\n' "$1" "${prev:--}" "${bad_unit:--}"; printf '%s\n' "$err"; } > "$R/outcome.new"
  mv -f "$R/outcome.new" "$R/outcome"
  say "outcome $1"
  exit 0
}

# site DIR: put DIR/site.caddy in place as the app's site (none: remove the app's),
# load Caddy's config with it; a site Caddy refuses is replaced by the one before.
# The config adapted ahead of time for DIR (prepare_site) is loaded when nothing it
# was read from changed since; else Caddy's reload command adapts it now.
site() {
  N="$1/site.caddy"
  if [ -n "$prep" ]; then wait "$prep" 2>/dev/null || true; prep=""; fi
  if [ -f "$N" ]; then
    if cmp -s "$N" "$SITE"; then return 0; fi
  elif [ ! -e "$SITE" ]; then
    return 0
  fi
  if ! grep -qsF @IMPORT@ "$CADDYFILE"; then
    err='Caddy is not set up for raijin: run raijin host bootstrap'
    return 1
  fi
  if (
    flock 8
    ready=0
    if [ -f "$N" ] && [ -s "$R/caddy/load.json" ] && cmp -s "$N" "$R/caddy/sites/${SITE##*/}" \
      && [ "$(caddy_state)" = "$(cat "$R/caddy/state" 2>/dev/null)" ]; then
      ready=1
    fi
    # The config adapted ahead goes in first; the site file follows what Caddy runs
    # (a refused one leaves both as they were).
    rc=3
    if [ $ready = 1 ]; then out=$(caddy_load "$R/caddy/load.json"); rc=$?; fi
    if [ $rc = 0 ]; then
      if mkdir -p "${SITE%/*}" && install -m 0644 "$N" "$SITE.new" && mv -f "$SITE.new" "$SITE"; then
        : > "$R/caddy/loaded"
        say "caddy loaded"
        exit 0
      fi
      rm -f "$SITE.new"
      caddy_reload >/dev/null 2>&1 || caddy_settle
      printf 'cannot write the Caddy site %s; the previous one is back\n' "$SITE" > "$R/caddy.err"
      exit 1
    fi
    if [ $rc -gt 1 ]; then
      # Not adapted ahead, or Caddy's admin endpoint not reached: the files change
      # and Caddy's reload command adapts them.
      had=0
      if [ -f "$SITE" ]; then cp -p "$SITE" "$SITE.bak"; had=1; fi
      if [ -f "$N" ]; then
        mkdir -p "${SITE%/*}"
        install -m 0644 "$N" "$SITE.new" && mv -f "$SITE.new" "$SITE"
      else
        rm -f "$SITE"
      fi
      out=$(caddy_reload); rc=$?
      if [ $rc = 0 ]; then
        say "caddy reloaded"
        rm -f "$SITE.bak"
        exit 0
      fi
      # Refused: Caddy serves the config it had; the files go back to it too.
      if [ $had = 1 ]; then mv -f "$SITE.bak" "$SITE"; else rm -f "$SITE"; fi
    fi
    caddy_reload >/dev/null 2>&1 || caddy_settle
    out=$(printf '%s\n' "$out" | grep -v '^{"level":"info"' || true)
    printf 'Caddy rejected the new site; the previous one is back:\n%s\n' "$out" > "$R/caddy.err"
    exit 1
  ) 8>>@CADDY_LOCK@; then
    return 0
  fi
  err=$(cat "$R/caddy.err" 2>/dev/null || echo 'updating the Caddy site failed')
  return 1
}

# prepare_site DIR: in the background, adapt Caddy's config as it will be with
# DIR/site.caddy as the app's site (the sites directory seen through a private mount
# of a copy; Caddy's user and its own environment) into R/caddy/load.json, for site to
# load. Nothing of Caddy's changes here; without perl, unshare, setpriv or Caddy it
# does nothing.
prepare_site() {
  N="$1/site.caddy"
  rm -rf "$R/caddy"
  [ -f "$N" ] || return 0
  if cmp -s "$N" "$SITE"; then return 0; fi
  for t in perl unshare setpriv caddy; do command -v "$t" >/dev/null 2>&1 || return 0; done
  [ -d "${SITE%/*}" ] || return 0
  (
    mkdir -p "$R/caddy/sites" || exit 0
    caddy_state > "$R/caddy/state"
    # The config kept from the last switch to this slot, if it was adapted from the
    # same site, the same rest of /etc/caddy and the same Caddy process.
    K="$KEPT/${1##*/}"
    if [ -f "$K/load.json" ] && cmp -s "$N" "$K/sites/${SITE##*/}" \
      && read -r kp _ < "$K/proc" && [ "$(caddy_proc "$kp")" = "$(cat "$K/proc")" ] \
      && [ "$(caddy_others)" = "$(cat "$K/others")" ] \
      && cp "$N" "$R/caddy/sites/${SITE##*/}" && cp "$K/load.json" "$R/caddy/load.json"; then
      cp "$K/proc" "$K/others" "$R/caddy/" && say "caddy adapted (kept)"
      exit 0
    fi
    rm -f "$R/caddy/load.json"
    p=$(caddy_pid) || exit 0
    ids=$(caddy_ids "$p") || exit 0
    # An admin endpoint moved elsewhere: only Caddy's reload command knows it.
    if tr '\0' '\n' < "/proc/$p/environ" | grep -q '^CADDY_ADMIN='; then exit 0; fi
    caddy_proc "$p" > "$R/caddy/proc" || exit 0
    caddy_others > "$R/caddy/others"
    for f in "${SITE%/*}"/*.caddy; do
      if [ -f "$f" ]; then cp -p "$f" "$R/caddy/sites/" || exit 0; fi
    done
    cp "$N" "$R/caddy/sites/${SITE##*/}" || exit 0
    xargs -0 -a "/proc/$p/environ" timeout 20 unshare -m sh -c \
      'c=$1; d=$2; ids=$3; shift 3; mount --bind "$0/sites" "$d" && cd / && exec setpriv $ids env -i "$@" env -u NOTIFY_SOCKET caddy adapt --config "$c" --adapter caddyfile' \
      "$R/caddy" "$CADDYFILE" "${SITE%/*}" "$ids" > "$R/caddy/next.json" 2>/dev/null || exit 0
    case $(head -c 9 "$R/caddy/next.json") in
      '{"admin":') exit 0 ;;
      '{'*) mv -f "$R/caddy/next.json" "$R/caddy/load.json" && say "caddy adapted" ;;
    esac
  ) >/dev/null 2>&1 &
  prep=$!
}

# caddy_others: every name, size and time under /etc/caddy except the app's own site
# (each switch rewrites it) and the times of the directory that holds it.
caddy_others() { caddy_state ! -path "$SITE" ! -path "$SITE.*" ! -path "${SITE%/*}"; }

# caddy_proc PID: which process PID is: the pid, its start time and a checksum of its
# environment (a restarted or changed Caddy differs).
caddy_proc() {
  case $1 in ""|*[!0-9]*) return 1 ;; esac
  cq_pid=$1
  read -r cq_stat < "/proc/$cq_pid/stat" || return 1
  # The fields after the command name, from the third: the start time is the 22nd.
  # shellcheck disable=SC2086 # one word each
  set -- ${cq_stat##*) }
  [ $# -ge 20 ] || return 1
  shift 19
  cq_env=$(cksum < "/proc/$cq_pid/environ") || return 1
  printf '%s %s %s\n' "$cq_pid" "$1" "$cq_env"
}

# keep_adapted DIR: after a switch that loaded the config adapted for DIR's site,
# keep that config for the next switch to the same slot (a rollback).
keep_adapted() {
  case ${1##*/} in a|b) ;; *) return 0 ;; esac
  [ -f "$R/caddy/loaded" ] && [ -f "$R/caddy/proc" ] && [ -f "$R/caddy/others" ] || return 0
  if mkdir -p "$KEPT" && chmod 0700 "$KEPT"; then
    rm -rf "${KEPT:?}/${1##*/}"
    mv "$R/caddy" "$KEPT/${1##*/}" || true
  fi
}

# remove_unit NAME: stop, disable and delete one of the app's unit files.
remove_unit() {
  systemctl disable --now "$1" >/dev/null 2>&1 || true
  case $1 in *@.service) systemctl stop "${1%@.service}@*.service" >/dev/null 2>&1 || true ;; esac
  rm -f -- "$U/$1"
}

# install_units DIR: put DIR's unit files in place; changed=1 if any differed.
install_units() {
  for f in "$1"/*; do
    [ -f "$f" ] || continue
    n=${f##*/}
    if ! cmp -s "$f" "$U/$n"; then
      if ! { install -m 0644 "$f" "$U/.$n.new" && mv -f "$U/.$n.new" "$U/$n"; }; then
        err="cannot install the unit file $U/$n"; return 1
      fi
      changed=1
    fi
  done
}

# start_units LIST: enable (for boot) and restart these units.
start_units() {
  [ -n "$1" ] || return 0
  for u in $1; do
    systemctl is-enabled --quiet "$u" 2>/dev/null || systemctl enable --quiet "$u" 2>/dev/null || true
  done
  # shellcheck disable=SC2086 # one word per unit
  if ! out=$(systemctl restart $1 2>&1); then err="restarting the units failed: $out"; return 1; fi
}

# slotted REL: whether release REL runs its web process in slots.
slotted() { [ -d "$S/releases/$1/.raijin/slots" ]; }

# web_stem REL: the unit stem of REL's slotted web process (from its slot a units).
web_stem() {
  for f in "$S/releases/$1/.raijin/slots/a/units"/*; do
    [ -f "$f" ] || continue
    n=${f##*/}; printf '%s\n' "${n%@a*.service}"; return 0
  done
}

# apply REL: make release REL the one that runs, completely, except for the web process
# of a slotted release (which start_slot starts beside the old one). The unit files of
# the app that REL does not have are removed; `keep` names a unit stem left alone.
apply() {
  rel=$1; keep=${2:-}
  M="$S/releases/$rel/.raijin"
  if [ ! -f "$M/meta.json" ]; then err="release $rel is not complete on this host"; return 1; fi
  changed=0
  install_units "$M/units" || return 1
  if [ -f "$S/units" ]; then
    while read -r n; do
      case $n in ""|*/*) continue ;; esac
      if [ -n "$keep" ]; then
        case $n in "$keep.service"|"$keep@.service") printf '%s\n' "$n" >> "$S/retire"; continue ;; esac
      fi
      if [ ! -e "$M/units/$n" ]; then remove_unit "$n"; changed=1; fi
    done < "$S/units"
  fi
  : > "$S/units.new"
  for f in "$M"/units/*; do
    if [ -f "$f" ]; then printf '%s\n' "${f##*/}" >> "$S/units.new"; fi
  done
  mv -f "$S/units.new" "$S/units"
  if [ $changed = 1 ] && ! systemctl daemon-reload; then err='systemctl daemon-reload failed'; return 1; fi
  if ! { ln -sfn "releases/$rel" "$S/current.new" && mv -Tf "$S/current.new" "$S/current"; }; then
    err="cannot switch $S/current to $rel"; return 1
  fi
  start_units "$(cat "$M/instances" 2>/dev/null || true)" || return 1
  if slotted "$rel"; then return 0; fi
  site "$M"
}

# stop_slot SLOT: stop and disable the web process of SLOT, and forget its drain.
stop_slot() {
  stop_drain "$1"
  for u in $(cat "$S/slot-units.$1" 2>/dev/null || true); do
    systemctl disable --now "$u" >/dev/null 2>&1 || true
  done
}

drain_unit() { printf 'raijin.drain-%s-%s' "$APP" "$1"; }

# stop_drain SLOT: call off SLOT's pending drain, if systemd has one (a transient
# unit's file is in /run/systemd/transient while it is loaded).
stop_drain() {
  dn=$(drain_unit "$1")
  if [ -e "/run/systemd/transient/$dn.timer" ] || [ -e "/run/systemd/transient/$dn.service" ]; then
    systemctl stop "$dn.timer" "$dn.service" >/dev/null 2>&1 || true
  fi
  rm -f "$S/drain-at.$1"
}

# stop_drain_soon SLOT: stop_drain in the background (drain_pid) when SLOT's drain
# is due at least 2 s from now (S/drain-at.SLOT, on the uptime clock), so that it
# cannot fire meanwhile; at once otherwise. drain_done waits for it.
stop_drain_soon() {
  drain_pid=""
  tick
  if read -r da < "$S/drain-at.$1" 2>/dev/null && [ "$da" -ge $((t + 2)) ] 2>/dev/null; then
    stop_drain "$1" &
    drain_pid=$!
  else
    stop_drain "$1"
  fi
}
drain_done() {
  if [ -n "$drain_pid" ]; then wait "$drain_pid" 2>/dev/null || true; drain_pid=""; fi
}

# warm_answers: a warm slot (its process served until just now) answers raijin's
# health check on every port of it, asked from the host itself in one perl process
# (built-ins only; 2 s at most): then no word from raijin is awaited before the
# traffic moves back to it. raijin still checks the site through Caddy after the
# switch, and without its word then the host reverts as ever.
warm_answers() {
  [ "$slot_warm" = 1 ] && [ -n "$health_path" ] || return 1
  command -v perl >/dev/null 2>&1 || return 1
  wa_ports=$(cat "$D/ports" 2>/dev/null || true)
  [ -n "$wa_ports" ] || return 1
  # shellcheck disable=SC2086 # one word per port
  perl -e "$HEALTH_PL" "$health_host" "$health_path" $wa_ports >/dev/null 2>&1
}

HEALTH_PL='my ($host, $path, @ports) = @ARGV;
$SIG{ALRM} = sub { exit 3 };
alarm 2;
for my $p (@ports) {
  $p =~ /\A[0-9]{1,5}\z/ or exit 3;
  socket(my $s, 2, 1, 0) or exit 3;
  connect($s, pack("S n C4 x8", 2, $p, 127, 0, 0, 1)) or exit 1;
  my $old = select($s); $| = 1; select($old);
  print $s "GET $path HTTP/1.1\r\nHost: $host\r\nUser-Agent: raijin\r\nConnection: close\r\n\r\n";
  my $got = "";
  while (length($got) < 1024 && index($got, "\n") < 0) {
    my $n = sysread($s, $got, 1024 - length($got), length($got));
    last unless $n;
  }
  close $s;
  $got =~ m{\AHTTP/1\.[01] 2[0-9][0-9] } or exit 1;
}
exit 0;'

# place_other REL SLOT: while systemd reloads anyway, put the unit files of REL's
# other slot in place where that slot never had any (a first deploy), unstarted, so
# that the first start there needs no daemon-reload of its own. They are listed as
# that slot's first (the list before the files), so whatever removes the slot's
# units removes these.
place_other() {
  case $2 in a) po=b ;; *) po=a ;; esac
  [ ! -e "$S/slot-units.$po" ] || return 0
  O="$S/releases/$1/.raijin/slots/$po/units"
  : > "$S/slot-units.$po.new"
  for f in "$O"/*; do
    if [ -f "$f" ] && [ ! -e "$U/${f##*/}" ]; then printf '%s\n' "${f##*/}" >> "$S/slot-units.$po.new"; fi
  done
  mv -f "$S/slot-units.$po.new" "$S/slot-units.$po"
  while read -r n; do
    { install -m 0644 "$O/$n" "$U/.$n.new" && mv -f "$U/.$n.new" "$U/$n"; } || true
  done < "$S/slot-units.$po"
}

# start_slot REL SLOT: run REL's web process in SLOT, beside whatever serves. A slot
# still running REL (it served just before, and drains) is taken as it is: a rollback
# right after a deploy only moves the traffic back.
start_slot() {
  rel=$1; slot=$2
  D="$S/releases/$rel/.raijin/slots/$slot"
  # Its drain is called off while the slot is looked at (it cannot fire meanwhile).
  stop_drain_soon "$slot"
  if [ "$(readlink "$S/slot-$slot" 2>/dev/null || true)" = "releases/$rel" ]; then
    warm=1
    for f in "$D"/units/*; do
      [ -f "$f" ] || continue
      cmp -s "$f" "$U/${f##*/}" || warm=0
    done
    inst=$(cat "$D/instances" 2>/dev/null || true)
    if [ $warm = 1 ] && [ -n "$inst" ]; then
      # One look: every unit active (what wait_units waits for), and how often each
      # was restarted so far (what a unit that keeps exiting is judged against).
      # shellcheck disable=SC2086 # one word per unit
      st=$(systemctl show -p ActiveState -p NRestarts $inst 2>/dev/null || true)
      # shellcheck disable=SC2086 # one word per unit
      set -- $inst
      if [ "$(printf '%s\n' "$st" | grep -c '^ActiveState=active$')" = $# ]; then
        restarts0=$(printf '%s\n' "$st" | sed -n 's/^NRestarts=//p' | tr '\n' ' ')
        drain_done
        slot_warm=1
        say "slot-warm $slot"
        return 0
      fi
    fi
  fi
  drain_done
  if ! { ln -sfn "releases/$rel" "$S/slot-$slot.new" && mv -Tf "$S/slot-$slot.new" "$S/slot-$slot"; }; then
    err="cannot point $S/slot-$slot at $rel"; return 1
  fi
  changed=0
  install_units "$D/units" || return 1
  for u in $(cat "$S/slot-units.$slot" 2>/dev/null || true); do
    case $u in ""|*/*) continue ;; esac
    if [ ! -e "$D/units/$u" ]; then remove_unit "$u"; changed=1; fi
  done
  : > "$S/slot-units.$slot.new"
  for f in "$D"/units/*; do
    if [ -f "$f" ]; then printf '%s\n' "${f##*/}" >> "$S/slot-units.$slot.new"; fi
  done
  mv -f "$S/slot-units.$slot.new" "$S/slot-units.$slot"
  if [ $changed = 1 ]; then
    place_other "$rel" "$slot"
    if ! systemctl daemon-reload; then err='systemctl daemon-reload failed'; return 1; fi
    say units-reloaded
  fi
  inst=$(cat "$D/instances" 2>/dev/null || true)
  # shellcheck disable=SC2086 # one word per unit
  if [ -n "$inst" ] && ! out=$(systemctl restart $inst 2>&1); then
    err="starting the new release beside the old one failed: $out"; return 1
  fi
}

# wait_units: every unit of $inst_wait active $need_wait polls in a row, 0.05 s apart
# (a process that dies right after starting, or keeps being restarted, is caught),
# within the bound.
wait_units() {
  [ -n "$inst_wait" ] || return 0
  # A warm slot was seen active just now (start_slot).
  [ "$slot_warm" = 0 ] || return 0
  end=$((started + units_timeout))
  good=0
  # shellcheck disable=SC2086 # one word per unit
  restarts0=$(systemctl show -p NRestarts --value $inst_wait 2>/dev/null | tr '\n' ' ')
  while :; do
    # shellcheck disable=SC2086 # one word per unit
    states=$(systemctl is-active $inst_wait 2>/dev/null || true)
    bad_unit=""; bad_state=""
    # shellcheck disable=SC2086 # one word per unit
    set -- $inst_wait
    for st in $states; do
      if [ "$st" != active ]; then bad_unit=$1; bad_state=$st; break; fi
      shift
    done
    if [ -z "$bad_unit" ]; then
      # A unit systemd keeps restarting since it was started here is not healthy.
      if restarted; then return 1; fi
      good=$((good + 1))
      if [ $good -ge "$need_wait" ]; then return 0; fi
    else
      good=0
      if [ "$bad_state" = failed ]; then err="unit $bad_unit is failed"; return 1; fi
      tick
      if [ "$t" -ge "$end" ]; then
        err="unit $bad_unit is ${bad_state:-unknown} after $units_timeout s"; return 1
      fi
    fi
    sleep 0.05
  done
}

# restarted: whether a unit of $inst_wait was restarted by systemd more than once
# since wait_units began (it keeps exiting; one restart, such as a start that failed
# once and then came up, is systemd doing its job); sets err and bad_unit.
restarted() {
  # shellcheck disable=SC2086 # one word per unit
  restarts=$(systemctl show -p NRestarts --value $inst_wait 2>/dev/null | tr '\n' ' ')
  # shellcheck disable=SC2086 # one word per unit
  set -- $inst_wait
  before=$restarts0
  for n in $restarts; do
    b=${before%% *}; before=${before#* }
    if [ "${n:-0}" -gt "$((${b:-0} + 1))" ] 2>/dev/null; then
      bad_unit=$1; err="unit $1 is restarting (it exited $((n - b)) times since it started)"
      return 0
    fi
    shift
  done
  return 1
}

# await WHAT: raijin's word (R/WHAT, or R/reject with the reason), within the budget.
await() {
  end=$deadline
  # The line carries the deadline on the wall clock, for the message of a lost link.
  tick; say "await-$1 $(($(date +%s) + end - t))"
  polls=0
  while :; do
    if [ -e "$R/$1" ]; then say "confirmed $1"; return 0; fi
    # Meanwhile a unit that keeps exiting is the reason, whatever raijin's check says.
    polls=$((polls + 1))
    if [ -n "$inst_wait" ] && [ $((polls % 25)) = 0 ] && restarted; then return 1; fi
    if [ -e "$R/reject" ]; then err=$(cat "$R/reject"); return 1; fi
    tick
    if [ "$t" -ge "$end" ]; then
      err="not confirmed healthy within $confirm_timeout s (no word from raijin: its link or raijin itself was lost)"
      return 1
    fi
    # A word usually comes within milliseconds: look often at first.
    if [ $polls -lt 100 ]; then sleep 0.005; else sleep 0.02; fi
  done
}

# stop_all: the host had no release before: stop and remove the target's units and site.
stop_all() {
  if [ -f "$S/units" ]; then
    while read -r n; do
      case $n in ""|*/*) continue ;; esac
      remove_unit "$n"
    done < "$S/units"
    rm -f "$S/units"
    systemctl daemon-reload || true
  fi
  rm -f "$S/current" "$S/slot"
  site "$R/no-release" || true
}

# retire_later SLOT: after the drain, stop SLOT's web process and units in S/retire.
retire_later() {
  units=""
  slot_units=$(cat "$S/slot-units.$1" 2>/dev/null || true)
  # shellcheck disable=SC2086 # one word per unit
  if [ -n "$slot_units" ]; then systemctl disable --quiet --no-reload $slot_units 2>/dev/null || true; fi
  for u in $slot_units; do units="$units $u"; done
  legacy=$(cat "$S/retire" 2>/dev/null || true); rm -f "$S/retire"
  for u in $legacy; do units="$units $u"; done
  [ -n "$units" ] || return 0
  cmd="systemctl stop$units"
  for u in $legacy; do cmd="$cmd; systemctl disable $u; rm -f $U/$u"; done
  if [ -n "$legacy" ]; then cmd="$cmd; systemctl daemon-reload"; fi
  if [ "$drain" -gt 0 ]; then
    tick; printf '%s\n' "$((t + drain))" > "$S/drain-at.$1" || true
    systemd-run --quiet --collect --unit="$(drain_unit "$1")" --on-active="${drain}s" \
      --timer-property=AccuracySec=100ms /bin/sh -c "$cmd" >/dev/null 2>&1 || sh -c "$cmd"
  else
    sh -c "$cmd" >/dev/null 2>&1 || true
  fi
  say "draining $1 $drain"
}

ok() {
  if [ -n "$prev" ] && [ "$prev" != "$target" ]; then
    printf '%s\n' "$prev" > "$S/previous.new" && mv -f "$S/previous.new" "$S/previous"
  fi
  rm -f "$S/releases/$target/.raijin/bad"
  bad_unit=""
  finish ok
}

prev=$(readlink "$S/current" 2>/dev/null || true)
prev=${prev##*/}
active=$(cat "$S/slot" 2>/dev/null || true)
case $active in a|b) ;; *) active="" ;; esac
rm -f "$S/retire"
say "start $target ${prev:--}"

if slotted "$target"; then
  stem=$(web_stem "$target")
  if [ -n "$active" ]; then
    idle=a; if [ "$active" = a ]; then idle=b; fi
  elif [ -n "$stem" ] && { [ -e "$U/$stem.service" ] || [ -e "$U/$stem@.service" ]; }; then
    idle=b
  else
    idle=a
  fi
  D="$S/releases/$target/.raijin/slots/$idle"
  # Caddy's config for the switch is adapted while the slot starts and is checked.
  prepare_site "$D"
  inst_wait=$(cat "$D/instances" 2>/dev/null || true); need_wait=1
  if apply "$target" "$stem" && say applied && start_slot "$target" "$idle" \
    && say "slot-started $idle $(cat "$D/ports" 2>/dev/null || true)" \
    && wait_units && { if warm_answers; then say "units-active checked"; else say units-active && await slot; fi; } \
    && site "$D" && printf '%s\n' "$idle" > "$S/slot" && switched=1 && say "switched $idle" \
    && await confirm; then
    # shellcheck disable=SC2086 # one word per unit
    systemctl enable --quiet --no-reload $inst_wait 2>/dev/null || true
    retire_later "${active:-none}"
    keep_adapted "$D"
    ok
  fi
  reason=$err; unit=$bad_unit
  if [ -f "$S/releases/$target/.raijin/meta.json" ]; then
    printf '%s\n' "$reason" > "$S/releases/$target/.raijin/bad"
  fi
  # The old web process never stopped: send the traffic back to it, stop the new one.
  if [ $switched = 1 ]; then
    if [ -n "$active" ] && [ -n "$prev" ]; then
      site "$S/releases/$prev/.raijin/slots/$active" || true
      printf '%s\n' "$active" > "$S/slot"
    elif [ -n "$prev" ]; then
      site "$S/releases/$prev/.raijin" || true
      rm -f "$S/slot"
    fi
  fi
  stop_slot "$idle"
  rm -f "$S/retire"
  if [ -z "$prev" ]; then stop_all; err=$reason; bad_unit=$unit; finish stopped; fi
  if [ "$prev" = "$target" ]; then err=$reason; bad_unit=$unit; finish failed; fi
  say "revert $prev"
  if slotted "$prev"; then pstem=$(web_stem "$prev"); else pstem=""; fi
  if apply "$prev" "$pstem"; then rm -f "$S/retire"; err=$reason; bad_unit=$unit; finish reverted; fi
  err="$reason (and putting $prev back failed too: $err)"; bad_unit=$unit
  finish failed
fi

# In place: a release whose processes all restart where they are. A pending drain
# would stop units this release uses: it is called off. Slots of an earlier slotted
# release stop first (they hold the web process's port).
stop_drain none
if [ -n "$active" ] || [ -f "$S/slot-units.a" ] || [ -f "$S/slot-units.b" ]; then
  for sl in a b; do
    stop_slot "$sl"
    for u in $(cat "$S/slot-units.$sl" 2>/dev/null || true); do remove_unit "$u"; done
    rm -f "$S/slot-units.$sl"
  done
  rm -f "$S/slot"
  systemctl daemon-reload || true
fi
inst_wait=$(cat "$S/releases/$target/.raijin/instances" 2>/dev/null || true)
# Without an HTTP check the units are the health: each must stay active for 30 polls
# in a row (over 1.5 s, longer than a crash loop's 1 s between restarts).
need_wait=30
if [ "$confirm" = 1 ]; then need_wait=1; fi
if apply "$target" && say applied && wait_units && say units-active; then
  if [ "$confirm" = 0 ] || await confirm; then ok; fi
fi
if [ -f "$S/releases/$target/.raijin/meta.json" ]; then
  printf '%s\n' "$err" > "$S/releases/$target/.raijin/bad"
fi
if [ "$prev" = "$target" ]; then finish failed; fi
if [ -n "$prev" ] && [ -f "$S/releases/$prev/.raijin/meta.json" ]; then
  say "revert $prev"
  reason=$err; unit=$bad_unit
  if slotted "$prev"; then
    pstem=$(web_stem "$prev")
    if apply "$prev" "$pstem" && start_slot "$prev" a && site "$S/releases/$prev/.raijin/slots/a"; then
      printf 'a\n' > "$S/slot"
      err=$reason; bad_unit=$unit; finish reverted
    fi
  elif apply "$prev"; then
    err=$reason; bad_unit=$unit; finish reverted
  fi
  err="$reason (and putting $prev back failed too: $err)"; bad_unit=$unit
  finish failed
fi
stop_all
finish stopped
"#;

/// The program with the app's paths filled in.
pub fn program(layout: &Layout) -> String {
    render(
        PROGRAM,
        &[
            ("S", &layout.state_dir()),
            ("UNITDIR", &layout.unit_dir()),
            ("SITE", &layout.caddy_site_path()),
            ("CADDYFILE", CADDY_MAIN_CONFIG),
            ("IMPORT", &caddy_main_config_snippet()),
            ("CADDY_LOCK", CADDY_LOCK),
            ("APP", layout.app()),
            ("CADDY_FNS", super::caddy::FUNCTIONS),
        ],
    )
}

/// What an activation is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params<'a> {
    /// A fresh id (hex) naming this activation's files.
    pub id: &'a str,
    /// The release to activate.
    pub target: &'a str,
    /// Seconds the units have to become active.
    pub units_timeout_secs: u64,
    /// Wait for raijin's confirmation of the HTTP health check, this many seconds.
    pub confirm_secs: Option<u64>,
    /// Seconds the old slot's web process keeps serving after the switch.
    pub drain_secs: u64,
    /// The health check's `Host` header and path (empty without a proxy): what the
    /// host asks a warm slot itself.
    pub health_host: &'a str,
    pub health_path: &'a str,
}

/// How the program gets to the host: the one it keeps from an earlier activation, or
/// sent now (and kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Kept,
    Sent,
}

/// What a start with [`Program::Kept`] says on stderr, exiting 96 before it changed
/// anything, when the host does not have that program (or its copy differs).
pub const PROGRAM_MISSING: &str = "raijin-program-missing";

/// The kept program (`S/bin/activate-SHA256.sh`, root's) runs only if its content
/// still has that SHA-256.
const KEPT_PROGRAM: &str = r#"if [ "$(sha256sum 2>/dev/null < "$P")" != @SUM@"  -" ]; then
  echo @MISSING@ >&2; exit 96
fi
"#;

const SENT_PROGRAM: &str = r#"if [ "$(sha256sum < @NEW@)" != @SUM@"  -" ]; then
  echo 'the activation program was not written whole' >&2; exit 1
fi
for f in "$S"/bin/activate-*.sh; do [ "$f" = "$P" ] || rm -f -- "$f"; done
mv -f @NEW@ "$P"
"#;

const START: &str = r#"S=@S@; R="$S/run/"@ID@; UNIT=@UNIT@
# Only one activation per app: the caller holds the deploy lock, and systemd-run
# refuses a unit name that is running (checked below).
P="$S/bin/activate-"@SUM@.sh
@PROGRAM:raw@mkdir -p "$S/run"
chmod 0700 "$S/run"
mkdir -m 0700 "$R"
: > "$R/progress"
# A finished activation's unit may linger, loaded, until systemd collects it (slowly
# under hybrid cgroups); stopping it unloads it.
n=0
until out=$(systemd-run --no-block --unit="$UNIT" --description=@DESC@ --collect --quiet /bin/sh "$P" @ID@ @TARGET@ @UNITS_TIMEOUT@ @CONFIRM@ @CONFIRM_SECS@ @DRAIN@ @HEALTH_HOST@ @HEALTH_PATH@ 2>&1); do
  n=$((n + 1))
  if systemctl is-active --quiet "$UNIT"; then
    echo "an activation of this app is still running on this host ($UNIT)" >&2; exit 1
  fi
  if [ $n -ge 30 ]; then printf '%s\n' "$out" >&2; exit 1; fi
  systemctl stop "$UNIT" >/dev/null 2>&1 || true
  systemctl reset-failed "$UNIT" >/dev/null 2>&1 || true
  sleep 0.1
done
# This one runs, so no other does: the files of earlier activations go.
for d in "$S"/run/*/; do
  if [ -d "$d" ] && [ "$d" != "$R/" ]; then rm -rf -- "$d"; fi
done
# The program names its process first thing (systemd-run does not wait for it).
n=0
while [ ! -s "$R/pid" ] && [ $n -lt 1000 ]; do sleep 0.003; n=$((n + 1)); done
pid=$(cat "$R/pid" 2>/dev/null || systemctl show -p MainPID --value "$UNIT" 2>/dev/null || echo 0)
if [ -n "$pid" ] && [ "$pid" != 0 ]; then
  tail -n +1 -s 0.005 --pid="$pid" -f "$R/progress"
else
  cat "$R/progress"
fi
echo result
cat "$R/outcome" 2>/dev/null || echo "lost - -"
"#;

/// Write the program, start it as the activation unit, and follow it: prints its
/// progress lines as they come, then `result` and the outcome file. If the link
/// drops, the program goes on; [`outcome`] reads its result later.
pub fn start(layout: &Layout, p: &Params<'_>, how: Program) -> String {
    let program = program(layout);
    let sum = crate::util::sha256_hex(program.as_bytes());
    let bin = format!("{}/bin", layout.state_dir());
    let new = format!("{bin}/.activate.new");
    let place = match how {
        Program::Kept => render(KEPT_PROGRAM, &[("SUM", &sum), ("MISSING", PROGRAM_MISSING)]),
        Program::Sent => format!(
            "mkdir -p {b}\nchmod 0700 {b}\n{}{}",
            write_file(&new, "0700", &program),
            render(SENT_PROGRAM, &[("NEW", &new), ("SUM", &sum)]),
            b = crate::util::shell_quote(&bin),
        ),
    };
    let confirm_secs = p.confirm_secs.unwrap_or(0).to_string();
    format!(
        "{PRELUDE}{}",
        render(
            START,
            &[
                ("S", &layout.state_dir()),
                ("ID", p.id),
                ("UNIT", &layout.activation_unit()),
                ("SUM", &sum),
                ("PROGRAM", &place),
                (
                    "DESC",
                    &format!("raijin: activate {} of {}", p.target, layout.app()),
                ),
                ("TARGET", p.target),
                ("UNITS_TIMEOUT", &p.units_timeout_secs.to_string()),
                ("CONFIRM", if p.confirm_secs.is_some() { "1" } else { "0" }),
                ("CONFIRM_SECS", &confirm_secs),
                ("DRAIN", &p.drain_secs.to_string()),
                ("HEALTH_HOST", p.health_host),
                ("HEALTH_PATH", p.health_path),
            ],
        )
    )
}

/// Tell activation `id` that its release answered a health check.
pub fn confirm(layout: &Layout, id: &str, word: Word) -> String {
    render(
        "R=@S@/run/@ID@\n[ -d \"$R\" ] || { echo \"no activation $R on this host\" >&2; exit 1; }\n: > \"$R/\"@WORD@\n",
        &[
            ("S", &layout.state_dir()),
            ("ID", id),
            ("WORD", word.file()),
        ],
    )
}

/// What raijin confirms to an activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    /// The new slot answers its health check on its own ports: switch to it.
    Slot,
    /// The site answers its health check through Caddy: the release is healthy.
    Healthy,
}

impl Word {
    fn file(self) -> &'static str {
        match self {
            Word::Slot => "slot",
            Word::Healthy => "confirm",
        }
    }
}

/// Tell activation `id` that its release failed its health check, and why.
pub fn reject(layout: &Layout, id: &str, reason: &str) -> String {
    render(
        "R=@S@/run/@ID@\n[ -d \"$R\" ] || exit 0\nprintf '%s\\n' @REASON@ > \"$R/reject.new\" && mv -f \"$R/reject.new\" \"$R/reject\"\n",
        &[("S", &layout.state_dir()), ("ID", id), ("REASON", reason)],
    )
}

/// After a lost link: `result` and the outcome file when activation `id` has
/// finished, `running` while its unit still runs, else `lost`.
pub fn outcome(layout: &Layout, id: &str) -> String {
    render(
        "R=@S@/run/@ID@\nif [ -f \"$R/outcome\" ]; then echo result; cat \"$R/outcome\"; elif systemctl is-active --quiet @UNIT@; then echo running; else echo lost; fi\n",
        &[
            ("S", &layout.state_dir()),
            ("ID", id),
            ("UNIT", &layout.activation_unit()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_has_the_apps_paths() {
        let p = program(&Layout::new("shop"));
        assert!(p.starts_with("#!/bin/sh\n"));
        assert!(p.contains(
            "S=/var/lib/raijin/shop; U=/etc/systemd/system; SITE=/etc/caddy/raijin/shop.caddy; CADDYFILE=/etc/caddy/Caddyfile; APP=shop; KEPT=\"$S/caddy-adapted\"\n"
        ), "{p}");
        assert!(
            p.contains("if ! grep -qsF 'import /etc/caddy/raijin/*.caddy' \"$CADDYFILE\"; then")
        );
        assert!(p.contains(") 8>>/var/lib/raijin/.caddy.lock; then"));
    }

    #[test]
    fn start_runs_the_program_as_a_transient_unit_and_follows_it() {
        let l = Layout::new("shop");
        let p = Params {
            id: "ab12",
            target: "v2",
            units_timeout_secs: 30,
            confirm_secs: Some(35),
            drain_secs: 30,
            health_host: "shop.test",
            health_path: "/health",
        };
        let sum = crate::util::sha256_hex(program(&l).as_bytes());
        let s = start(&l, &p, Program::Sent);
        let kept = start(&l, &p, Program::Kept);
        assert!(
            s.contains(
                "S=/var/lib/raijin/shop; R=\"$S/run/\"ab12; UNIT=raijin.activate-shop.service\n"
            ),
            "{s}"
        );
        let at = format!("P=\"$S/bin/activate-\"{sum}.sh\n");
        assert!(s.contains(&at) && kept.contains(&at), "{s}");
        assert!(
            s.contains("cat > /var/lib/raijin/shop/bin/.activate.new <<'RAIJIN_EOF'\n#!/bin/sh\n")
        );
        assert!(
            s.contains(&format!("!= {sum}\"  -\" ]"))
                && s.contains("mv -f /var/lib/raijin/shop/bin/.activate.new \"$P\"")
        );
        // Kept: not a line of the program, and nothing done when the host lacks it.
        assert!(!kept.contains("#!/bin/sh") && kept.len() < 3000, "{kept}");
        assert!(kept.contains(&format!(
            "if [ \"$(sha256sum 2>/dev/null < \"$P\")\" != {sum}\"  -\" ]; then\n  echo raijin-program-missing >&2; exit 96\nfi\nmkdir -p \"$S/run\""
        )), "{kept}");
        for s in [&s, &kept] {
            assert!(s.contains(
                "systemd-run --no-block --unit=\"$UNIT\" --description='raijin: activate v2 of shop' --collect --quiet /bin/sh \"$P\" ab12 v2 30 1 35 30 shop.test /health 2>&1); do\n"
            ), "{s}");
        }
        assert!(s.contains("tail -n +1 -s 0.005 --pid=\"$pid\" -f \"$R/progress\""));
    }

    #[test]
    fn confirm_reject_and_outcome_name_the_activation() {
        let l = Layout::new("shop");
        assert!(confirm(&l, "ab", Word::Healthy).contains(": > \"$R/\"confirm\n"));
        assert!(confirm(&l, "ab", Word::Slot).contains(": > \"$R/\"slot\n"));
        assert!(
            reject(&l, "ab", "HTTP 500").contains("printf '%s\\n' 'HTTP 500' > \"$R/reject.new\"")
        );
        assert!(
            outcome(&l, "ab").contains("systemctl is-active --quiet raijin.activate-shop.service")
        );
    }
}
