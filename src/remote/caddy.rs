//! The Caddy site of an app: one file per app in `/etc/caddy/raijin/`, pulled in by an
//! `import` line in `/etc/caddy/Caddyfile` that the bootstrap adds, and applied with a
//! graceful config load (`remote::scripts::caddy`: Caddy's reload command with its
//! environment, or a config adapted ahead posted to its admin endpoint).
//!
//! - binary and python apps: `reverse_proxy` to the upstream process on 127.0.0.1.
//!   `lb_try_duration 5s` and `lb_try_interval 50ms` make Caddy hold and retry a
//!   request while the upstream restarts, instead of answering 502 (measured on the
//!   testbed: no failed requests across a restart of an app that takes 1 s to start).
//!   Health checks stay passive: the deploy health-gates a release itself.
//! - static apps: `file_server` from `current/site`, where the deploy materializes the
//!   artifact directory in each release, so a switch of `current` switches the site.
//!   Caddy runs as its own user: the app's state directory, the release and the files
//!   must be readable (directories searchable) by it.
//!
//! `proxy.tls` picks the address: the bare domain (Caddy's automatic HTTPS: ACME
//! certificates and the HTTP→HTTPS redirect; the default for a public domain), the
//! same with `tls internal` (Caddy's local certificate authority), or `http://DOMAIN`
//! (plain HTTP; the default for an IP, `localhost` and private or test names). Output
//! is deterministic and indented with tabs, as `caddy fmt` wants.

use std::fmt::Write as _;

use super::layout::{CADDY_SITES_DIR, Layout};
use crate::config::{AppConfig, AppKind, TlsMode};

/// How long Caddy keeps retrying an upstream that refuses connections.
pub const LB_TRY_DURATION: &str = "5s";
/// How long Caddy waits between those retries.
pub const LB_TRY_INTERVAL: &str = "50ms";

/// The line the bootstrap puts in `/etc/caddy/Caddyfile` to load every app's site.
pub fn caddy_main_config_snippet() -> String {
    format!("import {CADDY_SITES_DIR}/*.caddy")
}

/// The site file of `app` (to be written at [`Layout::caddy_site_path`]), or `None`
/// when the app has no `[proxy]`. Binary and python apps proxy to `upstreams` (ports on
/// 127.0.0.1; empty means the proxy's `port`), several of them balanced; static apps
/// serve the current release's files. The address follows `proxy.tls`: the bare domain
/// (Caddy's automatic HTTPS and its HTTP→HTTPS redirect) for `auto`, the same with
/// `tls internal` (Caddy's local certificate authority) for `internal`, and
/// `http://DOMAIN` for `off`.
pub fn render_site(app: &AppConfig, layout: &Layout, upstreams: &[u16]) -> Option<String> {
    let proxy = app.proxy.as_ref()?;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Managed by raijin: app {}. Changes are overwritten on deploy.",
        app.name
    );
    let address = if proxy.tls.https() {
        proxy.domain.clone()
    } else {
        format!("http://{}", proxy.domain)
    };
    let _ = writeln!(s, "{address} {{");
    if proxy.tls == TlsMode::Internal {
        s.push_str("\ttls internal\n");
    }
    match app.kind {
        AppKind::Static => {
            let _ = writeln!(s, "\troot * {}", layout.current_site_dir());
            s.push_str("\tencode gzip\n");
            s.push_str("\tfile_server\n");
        }
        AppKind::Binary | AppKind::Python => {
            let ports: Vec<u16> = if upstreams.is_empty() {
                proxy.port.into_iter().collect()
            } else {
                upstreams.to_vec()
            };
            if ports.is_empty() {
                return None;
            }
            let to: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
            let _ = writeln!(s, "\treverse_proxy {} {{", to.join(" "));
            let _ = writeln!(s, "\t\tlb_try_duration {LB_TRY_DURATION}");
            let _ = writeln!(s, "\t\tlb_try_interval {LB_TRY_INTERVAL}");
            s.push_str("\t}\n");
        }
    }
    s.push_str("}\n");
    Some(s)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::load_str;

    fn site(toml: &str, upstreams: &[u16]) -> Option<String> {
        let text = format!("[hosts.web1]\n{toml}");
        let config = load_str(&text, Path::new("raijin.toml")).unwrap_or_else(|e| panic!("{e}"));
        let app = config.apps.into_values().next().unwrap();
        render_site(&app, &Layout::new(&app.name), upstreams)
    }

    fn with_tls(toml: &str, mode: &str) -> String {
        toml.replace(
            "[apps.hello.proxy]\n",
            &format!("[apps.hello.proxy]\ntls = \"{mode}\"\n"),
        )
        .replace(
            "[apps.docs.proxy]\n",
            &format!("[apps.docs.proxy]\ntls = \"{mode}\"\n"),
        )
    }

    const WEB: &str = r#"
[apps.hello]
hosts = ["web1"]
artifact = "target/release/hello"
kind = "binary"

[apps.hello.processes.web]
command = "./hello serve"

[apps.hello.proxy]
domain = "hello.example.com"
process = "web"
port = 8000
"#;

    const STATIC: &str = r#"
[apps.docs]
hosts = ["web1"]
artifact = "book"
kind = "static"

[apps.docs.proxy]
domain = "docs.example.com"
"#;

    #[test]
    fn reverse_proxy_site() {
        assert_eq!(
            site(&with_tls(WEB, "off"), &[]).unwrap(),
            "\
# Managed by raijin: app hello. Changes are overwritten on deploy.
http://hello.example.com {
\treverse_proxy 127.0.0.1:8000 {
\t\tlb_try_duration 5s
\t\tlb_try_interval 50ms
\t}
}
"
        );
    }

    #[test]
    fn a_public_domain_gets_automatic_https_by_default() {
        let site = site(WEB, &[]).unwrap();
        assert!(site.contains("\nhello.example.com {\n"), "{site}");
        assert!(!site.contains("http://") && !site.contains("tls internal"));
        assert_eq!(Some(site), self::site(&with_tls(WEB, "auto"), &[]));
    }

    #[test]
    fn internal_tls_uses_caddys_local_authority() {
        let site = site(&with_tls(WEB, "internal"), &[]).unwrap();
        assert!(
            site.contains("\nhello.example.com {\n\ttls internal\n\treverse_proxy"),
            "{site}"
        );
    }

    #[test]
    fn a_private_domain_is_plain_http_by_default() {
        let toml = WEB.replace("hello.example.com", "hello.test");
        assert!(
            site(&toml, &[])
                .unwrap()
                .contains("\nhttp://hello.test {\n")
        );
    }

    #[test]
    fn upstreams_replace_the_port_and_are_balanced() {
        let site = site(WEB, &[8001, 8002]).unwrap();
        assert!(
            site.contains("\treverse_proxy 127.0.0.1:8001 127.0.0.1:8002 {\n"),
            "{site}"
        );
    }

    #[test]
    fn python_apps_are_proxied_too() {
        let toml = WEB.replace("kind = \"binary\"", "kind = \"python\"");
        assert_eq!(site(&toml, &[]), site(WEB, &[]));
    }

    #[test]
    fn static_site() {
        assert_eq!(
            site(&with_tls(STATIC, "off"), &[]).unwrap(),
            "\
# Managed by raijin: app docs. Changes are overwritten on deploy.
http://docs.example.com {
\troot * /var/lib/raijin/docs/current/site
\tencode gzip
\tfile_server
}
"
        );
        // There is no upstream to use.
        assert_eq!(site(STATIC, &[9000]), site(STATIC, &[]));
        assert!(
            site(STATIC, &[])
                .unwrap()
                .contains("\ndocs.example.com {\n")
        );
    }

    #[test]
    fn wildcard_domains() {
        let toml = with_tls(&WEB.replace("hello.example.com", "*.example.com"), "off");
        assert!(
            site(&toml, &[])
                .unwrap()
                .contains("\nhttp://*.example.com {\n")
        );
    }

    #[test]
    fn no_proxy_no_site() {
        let toml = WEB.split("[apps.hello.proxy]").next().unwrap();
        assert_eq!(site(toml, &[]), None);
    }

    #[test]
    fn main_config_imports_every_site() {
        assert_eq!(
            caddy_main_config_snippet(),
            "import /etc/caddy/raijin/*.caddy"
        );
        let layout = Layout::new("hello");
        assert!(layout.caddy_site_path().starts_with("/etc/caddy/raijin/"));
        assert!(layout.caddy_site_path().ends_with(".caddy"));
    }
}
