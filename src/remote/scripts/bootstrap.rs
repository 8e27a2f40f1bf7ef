//! Preparing a host for raijin, once: check that systemd, Caddy and flock are there,
//! create the `raijin` group, `/opt/raijin` (root:raijin 2775) for the apps' data and
//! `/var/lib/raijin` (root's, 0755) for raijin's own state, give a non-root deploy
//! user the group and the sudo rule raijin's scripts need, make Caddy import raijin's
//! sites, and record the host's facts.

use super::{PRELUDE, render};
use crate::remote::caddy::caddy_main_config_snippet;
use crate::remote::layout::{CADDY_MAIN_CONFIG, CADDY_SITES_DIR, DATA_ROOT, STATE_ROOT};

const BOOTSTRAP: &str = r#"fail() { echo "$*" >&2; exit 1; }
command -v systemctl >/dev/null || fail 'systemd is required (systemctl not found)'
command -v flock >/dev/null || fail 'flock is required (install util-linux)'
command -v caddy >/dev/null || fail 'Caddy is not installed on this host: install it (apt-get install caddy) and run bootstrap again'
systemctl is-active --quiet caddy || fail 'Caddy is installed but not running: systemctl enable --now caddy, then run bootstrap again'
getent group raijin >/dev/null || groupadd --system raijin
mkdir -p @DATA@
chown root:raijin @DATA@
chmod 2775 @DATA@
mkdir -p @STATE@
chown root:root @STATE@
chmod 0755 @STATE@
U=@USER@
if [ "$U" != root ]; then
  usermod -aG raijin "$U"
  # raijin runs its (small, logged) install scripts through `sudo -n sh`.
  printf '%s ALL=(root) NOPASSWD: /bin/sh, /usr/bin/sh\n' "$U" > /etc/sudoers.d/raijin.new
  chmod 0440 /etc/sudoers.d/raijin.new
  if command -v visudo >/dev/null; then visudo -cqf /etc/sudoers.d/raijin.new || fail 'the sudoers rule did not validate'; fi
  mv -f /etc/sudoers.d/raijin.new /etc/sudoers.d/raijin
fi
mkdir -p @SITES@
C=@MAIN@
if ! grep -qsF @IMPORT@ "$C"; then
  cp -p "$C" "$C.raijin-bak" 2>/dev/null || true
  printf '\n%s\n' @IMPORT@ >> "$C"
  if ! caddy validate --config "$C" --adapter caddyfile >/dev/null 2>&1; then
    if [ -f "$C.raijin-bak" ]; then mv -f "$C.raijin-bak" "$C"; fi
    fail "Caddy rejected $C with the raijin import line; it was restored"
  fi
  systemctl reload caddy
fi
# shellcheck disable=SC1091 # the host's own file
. /etc/os-release 2>/dev/null || true
printf '{"arch":"%s","os":"%s","systemd":"%s","caddy":"%s","bootstrapped_at":"%s"}\n' \
  "$(uname -m)" "${PRETTY_NAME:-unknown}" "$(systemctl --version | head -n1 | cut -d' ' -f2)" "$(caddy version | cut -d' ' -f1)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > @DATA@/.host.json
cat @DATA@/.host.json
"#;

/// The bootstrap script for a host whose deploy user is `deploy_user`.
pub fn bootstrap(deploy_user: &str) -> String {
    format!(
        "{PRELUDE}{}",
        render(
            BOOTSTRAP,
            &[
                ("DATA", DATA_ROOT),
                ("STATE", STATE_ROOT),
                ("USER", deploy_user),
                ("SITES", CADDY_SITES_DIR),
                ("MAIN", CADDY_MAIN_CONFIG),
                ("IMPORT", &caddy_main_config_snippet()),
            ],
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_root_user_gets_the_group_and_the_sudo_rule() {
        let s = bootstrap("deploy");
        assert!(s.contains("U=deploy\n"), "{s}");
        assert!(s.contains("printf '%s ALL=(root) NOPASSWD: /bin/sh, /usr/bin/sh\\n' \"$U\""));
        assert!(s.contains("mkdir -p /var/lib/raijin\nchown root:root /var/lib/raijin\nchmod 0755 /var/lib/raijin\n"));
        assert!(s.contains("if ! grep -qsF 'import /etc/caddy/raijin/*.caddy' \"$C\"; then"));
    }
}
