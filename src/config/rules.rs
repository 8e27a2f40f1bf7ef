//! Format rules for individual values: names of hosts, apps and processes, unix user
//! names, addresses, `proxy_jump` specs, socket and domain values, health paths.
//! Pure functions, so each rule is tested on its own.

/// Why a value breaks a rule: the message and, when useful, a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub message: String,
    pub hint: Option<String>,
}

fn problem(message: impl Into<String>, hint: impl Into<String>) -> Problem {
    Problem {
        message: message.into(),
        hint: Some(hint.into()),
    }
}

/// Names of hosts: letters, digits, `.`, `-`, `_`, starting with a letter or digit.
pub(crate) fn is_host_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

pub(crate) const HOST_NAME_RULE: &str =
    "use letters, digits, `.`, `-` and `_`, starting with a letter or digit";

/// Names of apps and processes (they become systemd unit and directory names): letters,
/// digits, `-`, `_`, starting with a letter or digit.
pub(crate) fn is_unit_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

pub(crate) const UNIT_NAME_RULE: &str =
    "use letters, digits, `-` and `_`, starting with a letter or digit";

/// A user name `useradd` accepts everywhere: `[a-z_][a-z0-9_-]*`, at most 32 characters.
pub(crate) fn is_unix_user(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 32
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'))
}

pub(crate) const UNIX_USER_RULE: &str = "use lowercase letters, digits, `_` and `-`, starting with a letter or `_`, at most 32 characters";

/// A DNS name, IPv4 address or ssh_config alias (`[A-Za-z0-9._-]+`), or an IPv6 address.
pub(crate) fn is_network_host(host: &str) -> bool {
    if host.is_empty() {
        return false;
    }
    let plain = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    // An IPv6 address, possibly with a zone: `fe80::1%eth0`.
    let (address, zone) = match host.split_once('%') {
        Some((address, zone)) => (address, Some(zone)),
        None => (host, None),
    };
    let zone_ok = zone.is_none_or(|z| {
        !z.is_empty()
            && z.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    });
    let ipv6 = zone_ok && address.parse::<std::net::Ipv6Addr>().is_ok();
    plain || ipv6
}

/// `[hosts.NAME] address`: a DNS name, an IP address or an ssh_config alias.
pub(crate) fn check_address(address: &str) -> Result<(), Problem> {
    if is_network_host(address) {
        return Ok(());
    }
    let hint = if address.contains("://") {
        "give only the host, e.g. `203.0.113.10` or `web1.example.com`"
    } else if address.contains('@') {
        "put the login user in `user`"
    } else if address.matches(':').count() == 1 {
        "put the port in `port`"
    } else {
        "give a DNS name, an IP address or a Host alias from ~/.ssh/config"
    };
    Err(problem(format!("invalid address `{address}`"), hint))
}

/// `[hosts.NAME] user`: the SSH login user.
pub(crate) fn check_login_user(user: &str) -> Result<(), Problem> {
    if user.contains(|c: char| c.is_whitespace() || c == '@' || c == ':') {
        Err(problem(
            format!("invalid user `{user}`"),
            "give only the login name, without `@`, `:` or spaces",
        ))
    } else {
        Ok(())
    }
}

/// `[user@]host[:port]` as ssh's `-J` takes it (one hop).
pub(crate) fn is_jump_spec(spec: &str) -> bool {
    let (user, rest) = match spec.rsplit_once('@') {
        Some((user, rest)) => (Some(user), rest),
        None => (None, spec),
    };
    if user.is_some_and(|u| u.is_empty() || check_login_user(u).is_err()) {
        return false;
    }
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, tail)) => match tail.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return false,
            },
            None => return false,
        }
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p != 0));
    port_ok && is_network_host(host)
}

/// `socket`: a systemd `ListenStream=` value raijin can render and health-check.
pub(crate) fn check_socket(socket: &str) -> Result<(), Problem> {
    const HINT: &str = "give a port (\"8000\"), an address and port (\"127.0.0.1:8000\") or an absolute socket path (\"/run/hello/web.sock\")";
    let port_ok = |p: &str| p.parse::<u16>().is_ok_and(|p| p != 0);
    let ok = if socket.starts_with('/') {
        !socket.contains(char::is_whitespace)
    } else if socket.chars().all(|c| c.is_ascii_digit()) {
        port_ok(socket)
    } else if let Some((host, port)) = socket.rsplit_once(':') {
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        port_ok(port) && is_network_host(host)
    } else {
        false
    };
    if ok {
        Ok(())
    } else {
        Err(problem(format!("invalid socket `{socket}`"), HINT))
    }
}

/// The TCP port of a socket value, if it has one.
pub(crate) fn socket_port(socket: &str) -> Option<u16> {
    if socket.starts_with('/') {
        return None;
    }
    let port = socket.rsplit_once(':').map_or(socket, |(_, p)| p);
    port.parse().ok()
}

/// `proxy.domain`: a site address Caddy serves, without scheme or path.
pub(crate) fn check_domain(domain: &str) -> Result<(), Problem> {
    let bare = domain
        .split_once("://")
        .map_or(domain, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let hint = format!("give only the domain, e.g. `{}`", {
        if bare.is_empty() { "example.com" } else { bare }
    });
    if domain.contains("://") || domain.contains('/') {
        return Err(problem(format!("invalid domain `{domain}`"), hint));
    }
    let ok = domain
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '*' | ':'));
    if ok {
        Ok(())
    } else {
        Err(problem(
            format!("invalid domain `{domain}`"),
            "use letters, digits, `.`, `-` and a leading `*.` for a wildcard",
        ))
    }
}

/// Whether a public certificate authority can issue a certificate for `domain`: not an
/// IP address, not `localhost`, not a name without a dot, not a name under a suffix
/// reserved for private or test use.
pub fn public_domain(domain: &str) -> bool {
    let host = match domain.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !h.contains(':') => h,
        _ => domain,
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() || !host.contains('.') {
        return false;
    }
    const PRIVATE: [&str; 9] = [
        ".localhost",
        ".test",
        ".internal",
        ".local",
        ".invalid",
        ".example",
        ".home.arpa",
        ".lan",
        ".localdomain",
    ];
    !PRIVATE.iter().any(|s| host.ends_with(s))
}

/// `proxy.health_path`: an absolute URL path.
pub(crate) fn check_health_path(path: &str) -> Result<(), Problem> {
    if !path.starts_with('/') {
        return Err(problem(
            format!("`health_path` must start with `/`, found `{path}`"),
            format!("write `/{}`", path.trim_start_matches('/')),
        ));
    }
    if path.contains(char::is_whitespace) {
        return Err(problem(
            format!("`health_path` must not contain spaces, found `{path}`"),
            "percent-encode spaces as %20",
        ));
    }
    Ok(())
}

/// A user name derived from `name` that `is_unix_user` accepts, for hints.
pub(crate) fn suggest_unix_user(name: &str) -> String {
    let mut user: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(32)
        .collect();
    if !user.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        user.insert(0, '_');
        user.truncate(32);
    }
    user
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_unit_names() {
        assert!(is_host_name("web1"));
        assert!(is_host_name("db.internal"));
        assert!(!is_host_name("-x"));
        assert!(!is_host_name("my host"));
        assert!(!is_host_name(""));
        assert!(is_unit_name("hello-api_2"));
        assert!(!is_unit_name("a.b"));
        assert!(!is_unit_name("web@1"));
        assert!(!is_unit_name("_x"));
    }

    #[test]
    fn unix_users() {
        for ok in ["hello", "_svc", "app-1", "a_b", &"a".repeat(32)] {
            assert!(is_unix_user(ok), "{ok}");
        }
        for bad in ["", "Hello", "1app", "-x", "a b", "a.b", &"a".repeat(33)] {
            assert!(!is_unix_user(bad), "{bad}");
        }
        assert_eq!(suggest_unix_user("Hello.World"), "hello_world");
        assert_eq!(suggest_unix_user("1app"), "_1app");
        assert!(is_unix_user(&suggest_unix_user("Some App!")));
    }

    #[test]
    fn addresses() {
        for ok in [
            "10.0.0.5",
            "web1.example.com",
            "prod-web",
            "2001:db8::1",
            "fe80::1%eth0",
        ] {
            assert!(check_address(ok).is_ok(), "{ok}");
        }
        let hint = |a: &str| {
            check_address(a)
                .err()
                .and_then(|p| p.hint)
                .unwrap_or_default()
        };
        assert!(hint("deploy@10.0.0.5").contains("`user`"));
        assert!(hint("10.0.0.5:2222").contains("`port`"));
        assert!(hint("ssh://host").contains("only the host"));
        assert!(check_address("two words").is_err());
        assert!(check_address("fe80::1%").is_err());
        assert!(check_address("1:2").is_err());
    }

    #[test]
    fn jump_specs() {
        for ok in [
            "bastion",
            "jump.example.com",
            "ops@jump.example.com",
            "ops@jump.example.com:2222",
            "10.0.0.1:22",
            "[2001:db8::1]:22",
            "[2001:db8::1]",
        ] {
            assert!(is_jump_spec(ok), "{ok}");
        }
        for bad in [
            "",
            "@host",
            "host:",
            "host:0",
            "host:99999",
            "host:ssh",
            "two words",
            "a@b@c",
            "[::1",
            "[::1]x",
            "ssh://host",
        ] {
            assert!(!is_jump_spec(bad), "{bad}");
        }
    }

    #[test]
    fn sockets() {
        for ok in [
            "8000",
            "127.0.0.1:8000",
            "[::1]:8000",
            "localhost:8000",
            "/run/hello/web.sock",
        ] {
            assert!(check_socket(ok).is_ok(), "{ok}");
        }
        for bad in [
            "0",
            "70000",
            "run/x.sock",
            "http",
            "127.0.0.1:",
            ":8000",
            "/a b",
        ] {
            assert!(check_socket(bad).is_err(), "{bad}");
        }
        assert_eq!(socket_port("8000"), Some(8000));
        assert_eq!(socket_port("127.0.0.1:8001"), Some(8001));
        assert_eq!(socket_port("[::1]:8002"), Some(8002));
        assert_eq!(socket_port("/run/x.sock"), None);
    }

    #[test]
    fn public_domains() {
        for d in [
            "example.com",
            "shop.example.co.uk",
            "*.example.com",
            "a.b.io:8443",
        ] {
            assert!(public_domain(d), "{d}");
        }
        for d in [
            "localhost",
            "app.localhost",
            "10.0.0.1",
            "[::1]",
            "::1",
            "shop.test",
            "db.internal",
            "nas.local",
            "intranet",
            "x.test:8080",
        ] {
            assert!(!public_domain(d), "{d}");
        }
    }

    #[test]
    fn domains_and_health_paths() {
        for ok in [
            "example.com",
            "*.example.com",
            "hello.example.com:8443",
            "localhost",
        ] {
            assert!(check_domain(ok).is_ok(), "{ok}");
        }
        let p = check_domain("https://hello.example.com/app").unwrap_err();
        assert_eq!(
            p.hint.as_deref(),
            Some("give only the domain, e.g. `hello.example.com`")
        );
        assert!(check_domain("hello example").is_err());
        assert!(check_health_path("/").is_ok());
        assert!(check_health_path("/healthz?full=1").is_ok());
        let p = check_health_path("healthz").unwrap_err();
        assert_eq!(p.hint.as_deref(), Some("write `/healthz`"));
        assert!(check_health_path("/a b").is_err());
    }
}
