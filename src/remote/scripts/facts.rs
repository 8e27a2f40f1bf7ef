//! The script that reads a host's facts: what it runs (OS, kernel, CPU, systemd) and
//! how much room it has. Runs as the login user; only coreutils needed.

/// One POSIX sh script printing `key=value` lines: `os`, `kernel`, `arch`, `systemd`
/// (`systemctl --version`'s first line) and `opt_free_kib` (free KiB on the
/// filesystem holding /opt, or / when there is no /opt yet).
pub fn facts() -> String {
    FACTS.to_string()
}

const FACTS: &str = r#"
# shellcheck disable=SC1091 # the host's own file
. /etc/os-release 2>/dev/null; echo "os=${PRETTY_NAME:-unknown}"
echo "kernel=$(uname -r)"
echo "arch=$(uname -m)"
echo "systemd=$(systemctl --version 2>/dev/null | head -n1)"
d=/opt; [ -d "$d" ] || d=/
echo "opt_free_kib=$(df -Pk "$d" 2>/dev/null | awk 'NR==2 {print $4}')"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_one_key_per_line() {
        let s = facts();
        for key in ["os=", "kernel=", "arch=", "systemd=", "opt_free_kib="] {
            assert!(s.contains(&format!("echo \"{key}")), "{key} in {s}");
        }
        assert!(s.contains("df -Pk \"$d\""), "{s}");
    }
}
