//! Every shell script and command line raijin runs on a host, rendered in one place:
//! the deploy pipeline's steps, reading history and status, bootstrap, the host's
//! facts, the journal readers, and `exec` and the app shell as the app's user
//! (`as_app`, `operate`), the app's units started, stopped and read (`units`), and what the current
//! release installed (`show`); `down` takes an app off a host; `caddy` loads Caddy's config. Each needs only POSIX sh, coreutils, systemd and the base
//! tools of every Linux system (`flock` from util-linux, `grep`, `sed`, `find`);
//! every value is shell-quoted.
//!
//! The scripts run as root and follow the layout's one rule (see
//! [`crate::remote::layout`]): they read, list, execute and delete only in the
//! app's root-owned state directory, never through a path the app user can write.
//!
//! Scripts are written as templates: `@NAME@` stands for a value, inserted
//! shell-quoted by [`render`], so a template reads like the script it becomes.
//! Each script has a render test, and `tests/scripts_lint.rs` runs every rendered
//! script through `shellcheck -s sh`.

pub mod activate;
pub mod as_app;
pub mod bootstrap;
pub mod caddy;
pub mod delta;
pub mod down;
pub mod facts;
pub mod inspect;
pub mod install;
pub mod journal;
pub mod lock;
pub mod materialize;
pub mod migrate;
pub mod operate;
pub mod prune;
pub mod push;
mod samples;
pub mod show;
pub mod units;

pub use samples::samples;

use crate::util::shell_quote as q;

/// How raijin becomes root on a host, reading a script from stdin (`-s`) or from
/// the argument after `-c`: plain `sh` when it logs in as root, else `sudo -n sh`
/// (the sudo rule `bootstrap` installs for the deploy user; `-n` fails instead of
/// asking for a password).
pub fn root_shell(sudo: bool) -> &'static str {
    if sudo { "sudo -n sh" } else { "sh" }
}

/// Common start of the scripts: stop on errors, predictable sorting and messages,
/// files readable by default.
pub const PRELUDE: &str = "set -eu\numask 022\nexport LC_ALL=C\n";

/// `template` with every `@NAME@` replaced by the shell-quoted value of NAME and every
/// `@NAME:raw@` by the value as it is (for values that are already shell text).
///
/// Panics (in tests and debug builds) when a placeholder is left unreplaced, which
/// means a template and its caller disagree.
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        out = out.replace(&format!("@{name}:raw@"), value);
        out = out.replace(&format!("@{name}@"), &q(value));
    }
    debug_assert!(
        !has_placeholder(&out),
        "unreplaced placeholder in a host script:\n{out}"
    );
    out
}

fn has_placeholder(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'@' {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_uppercase() || b[j] == b'_' || b[j] == b':') {
                j += 1;
            }
            if j > i + 1 && j < b.len() && b[j] == b'@' {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// A here-document that writes `contents` to `path` with `mode`.
pub fn write_file(path: &str, mode: &str, contents: &str) -> String {
    // A delimiter that cannot occur in the contents.
    let mut tag = String::from("RAIJIN_EOF");
    while contents.contains(&tag) {
        tag.push('_');
    }
    let body = if contents.ends_with('\n') || contents.is_empty() {
        contents.to_string()
    } else {
        format!("{contents}\n")
    };
    format!(
        "cat > {p} <<'{tag}'\n{body}{tag}\nchmod {mode} {p}\n",
        p = q(path)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_sh_or_sudo_without_a_password_prompt() {
        assert_eq!(root_shell(false), "sh");
        assert_eq!(root_shell(true), "sudo -n sh");
    }

    #[test]
    fn placeholders_are_quoted_or_raw() {
        assert_eq!(
            render("S=@S@; echo @X:raw@", &[("S", "/var/lib/a b"), ("X", "$1")]),
            "S='/var/lib/a b'; echo $1"
        );
    }

    #[test]
    fn a_delimiter_never_occurs_in_the_contents() {
        let s = write_file("/x", "0644", "a\nRAIJIN_EOF\n");
        assert!(s.starts_with("cat > /x <<'RAIJIN_EOF_'\na\nRAIJIN_EOF\nRAIJIN_EOF_\n"));
    }

    #[test]
    fn email_like_text_is_not_a_placeholder() {
        assert!(!has_placeholder("user@host @ x"));
        assert!(has_placeholder("a @S@ b"));
    }
}
