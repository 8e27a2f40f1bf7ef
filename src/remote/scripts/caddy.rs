//! Loading Caddy's config on a host: shell functions the activation, `down` and the
//! migration include (see [`FUNCTIONS`]).
//!
//! Caddy (2.6, Debian's) tells systemd "reloading" when a config reaches its admin
//! endpoint and "ready" only once one loads. After a config it refuses to load (a
//! missing certificate file, a port in use: anything the Caddyfile adapter cannot
//! see), `systemctl reload caddy` therefore waits for systemd's reload timeout (90 s),
//! and every later reload queues behind it. So a config is not loaded through a
//! systemd reload job:
//!
//! - `caddy_reload` runs the unit's own reload command, `caddy reload --config
//!   /etc/caddy/Caddyfile --adapter caddyfile --force`, with the environment of Caddy's
//!   process but its `NOTIFY_SOCKET` (the Caddyfile's `{$VAR}`s are read where it is
//!   adapted), and prints Caddy's reason when it refuses. Only when Caddy's process,
//!   its binary or `setpriv` is not found does it fall back to `systemctl reload caddy`.
//! - That environment is Caddy's user's to change (its `PATH`, `LD_PRELOAD`, even an
//!   entry without `=`), so whatever runs with it runs as Caddy's user, group and
//!   groups (`caddy_ids`: the effective ids in `/proc/PID/status`, which the process
//!   cannot forge, unlike the owner of `/proc/PID` of a process that made itself
//!   undumpable), dropped by `setpriv` before the environment is taken.
//! - `caddy_settle`, after a refused load, gives Caddy back the config it runs (read
//!   from its admin endpoint), so systemd's reload state ends.
//! - `caddy_load FILE` posts an adapted JSON config to the admin endpoint (one perl
//!   process: perl-base's sockets): `0` loaded, `1` refused (the reason printed), `3`
//!   not reached. The activation adapts the config of its switch ahead of time
//!   (`prepare_site`) and loads it this way at the switch.
//! - `caddy_state` fingerprints what the config is read from (every name, size and
//!   time under `/etc/caddy`), so a config adapted ahead of time is only loaded when
//!   nothing changed since.
//!
//! The admin endpoint is Caddy's default, `localhost:2019`; a Caddy whose admin is
//! configured elsewhere (`CADDY_ADMIN`, or an `admin` global option) only ever gets
//! `caddy_reload`, which reads the address from the config.

/// The functions; the including script defines `CADDYFILE`.
pub const FUNCTIONS: &str = r#"# caddy_pid: the main process of the caddy unit.
caddy_pid() {
  cp_pid=$(systemctl show -p MainPID --value caddy 2>/dev/null || true)
  case $cp_pid in ""|0|*[!0-9]*) return 1 ;; esac
  [ -r "/proc/$cp_pid/environ" ] || return 1
  printf '%s\n' "$cp_pid"
}

# caddy_ids PID: setpriv's options for the user, group and groups process PID runs
# as (its effective ids, from the kernel's status of it).
caddy_ids() {
  ci_u=; ci_g=; ci_s=
  while read -r ci_k ci_a ci_b ci_rest; do
    case $ci_k in
      Uid:) ci_u=$ci_b ;;
      Gid:) ci_g=$ci_b ;;
      Groups:)
        # shellcheck disable=SC2086 # one word per group
        for ci_x in $ci_a $ci_b $ci_rest; do ci_s=${ci_s:+$ci_s,}$ci_x; done ;;
    esac
  done < "/proc/$1/status"
  case $ci_u$ci_g in ""|*[!0-9]*) return 1 ;; esac
  case $ci_s in *[!0-9,]*) return 1 ;; esac
  if [ -n "$ci_s" ]; then ci_s="--groups=$ci_s"; else ci_s=--clear-groups; fi
  printf '%s\n' "--reuid=$ci_u --regid=$ci_g $ci_s"
}

# caddy_reload: Caddy's unit's reload command, run as Caddy's user with Caddy's own
# environment (systemctl reload where that process is unknown); prints Caddy's reason
# on failure.
caddy_reload() {
  if cr_pid=$(caddy_pid) && cr_ids=$(caddy_ids "$cr_pid") \
    && command -v caddy >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1; then
    # shellcheck disable=SC2086 # setpriv's three options
    xargs -0 -a "/proc/$cr_pid/environ" setpriv $cr_ids sh -c 'cd / && exec env -i "$@" env -u NOTIFY_SOCKET caddy reload --config "$0" --adapter caddyfile --force 2>&1' "$CADDYFILE"
  else
    systemctl reload caddy 2>&1
  fi
}

CADDY_PL='my ($mode, $file) = @ARGV;
$SIG{ALRM} = sub { exit 3 };
alarm 60;
# Built-ins only (loading IO::Socket takes longer than the whole load): Linux values
# of AF_INET and SOCK_STREAM, and a sockaddr_in for 127.0.0.1:2019.
sub req {
  my ($m, $path, $body) = @_;
  socket(my $s, 2, 1, 0) or exit 3;
  connect($s, pack("S n C4 x8", 2, 2019, 127, 0, 0, 1)) or exit 3;
  binmode $s;
  my $old = select($s); $| = 1; select($old);
  my $h = "$m $path HTTP/1.0\r\nHost: localhost:2019\r\n";
  if (defined $body) {
    $h .= "Content-Type: application/json\r\nCache-Control: must-revalidate\r\nContent-Length: " . length($body) . "\r\n";
  }
  print $s $h, "\r\n", (defined $body ? $body : "");
  local $/;
  my $r = <$s>;
  close $s;
  defined $r && $r =~ m{^HTTP/1\.[01] (\d{3})[^\n]*\n.*?\r?\n\r?\n(.*)\z}s or exit 3;
  return ($1, $2);
}
my $body;
if ($mode eq "load") {
  open my $f, "<", $file or exit 3;
  local $/;
  $body = <$f>;
} else {
  my ($st, $b) = req("GET", "/config/");
  exit 3 unless $st eq "200";
  $body = $b;
}
exit 3 unless defined $body && $body =~ /\A\s*\{/;
my ($st, $b) = req("POST", "/load", $body);
exit 0 if $st eq "200";
print $b, "\n";
exit 1;'

# caddy_load FILE: post the JSON config FILE to Caddy's admin endpoint: 0 loaded,
# 1 refused (Caddy's reason printed), 3 not reached.
caddy_load() {
  command -v perl >/dev/null 2>&1 || return 3
  perl -e "$CADDY_PL" load "$1" 2>&1
}

# caddy_settle: after a refused load, load the config Caddy runs, so systemd stops
# waiting for the reload to finish.
caddy_settle() {
  if command -v perl >/dev/null 2>&1; then perl -e "$CADDY_PL" settle >/dev/null 2>&1 || true; fi
}

# caddy_state [FIND-TESTS]: what Caddy's config is read from: every name, size and
# time under /etc/caddy (those find's tests leave).
caddy_state() { find /etc/caddy "$@" -printf '%p %s %T@ %C@\n' 2>/dev/null | sort | cksum; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_perl_program_has_no_single_quote_and_no_placeholder() {
        let pl = FUNCTIONS
            .split("CADDY_PL='")
            .nth(1)
            .and_then(|s| s.split("'\n").next())
            .unwrap();
        assert!(pl.contains("exit 1;"), "{pl}");
        assert!(!pl.contains('\''));
        assert_eq!(super::super::render(FUNCTIONS, &[]), FUNCTIONS);
    }
}
