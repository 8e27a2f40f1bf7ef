//! HTTP health checks from raijin, over direct-tcpip channels of the host's SSH
//! connection: straight to a process's port on the host, or through Caddy the way the
//! users' requests go (HTTPS with the site's name when its `tls` is on). The check
//! proves the site answers; it does not judge the certificate (Caddy's local authority
//! or a certificate still being issued must not fail a deploy), so the TLS handshake
//! is verified but the certificate chain is not.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::config::ProxyConfig;
use crate::engine::Host;

/// Where a check goes on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub port: u16,
    /// `Host` header, and the TLS server name when `https`.
    pub host: String,
    pub https: bool,
    pub path: String,
}

impl Target {
    /// Through Caddy, the users' route: the site's port (80, 443 with TLS, or the one
    /// in the domain) and name.
    pub fn via_caddy(proxy: &ProxyConfig) -> Target {
        let https = proxy.tls.https();
        let (name, port) = match proxy.domain.rsplit_once(':') {
            Some((n, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => (
                n.to_string(),
                p.parse().unwrap_or(if https { 443 } else { 80 }),
            ),
            _ => (proxy.domain.clone(), if https { 443 } else { 80 }),
        };
        // A wildcard site answers any name under it.
        let host = name.replacen('*', "raijin-health", 1);
        Target {
            port,
            host,
            https,
            path: proxy.health_path.clone(),
        }
    }

    /// Straight to a process listening on the host's loopback.
    pub fn direct(port: u16, proxy: &ProxyConfig) -> Target {
        Target {
            port,
            host: Target::via_caddy(proxy).host,
            https: false,
            path: proxy.health_path.clone(),
        }
    }

    /// How it reads in messages: `https://NAME/PATH`, `127.0.0.1:PORT/PATH`.
    pub fn describe(&self) -> String {
        if self.https {
            format!("https://{}{}", self.host, self.path)
        } else if self.port == 80 {
            format!("http://{}{}", self.host, self.path)
        } else {
            format!("127.0.0.1:{}{}", self.port, self.path)
        }
    }
}

/// Why a check got no status code. A plain message, not an `anyhow::Error`: checks
/// fail many times over while a process comes up, and each of those errors must
/// cost nothing (no backtrace captured under `RUST_BACKTRACE`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CheckError(String);

fn fail(context: &str, e: impl std::fmt::Display) -> CheckError {
    CheckError(format!("{context}: {e}"))
}

/// GET the target; returns the status code.
pub async fn get(r: &Host, t: &Target) -> Result<u16, CheckError> {
    let stream = r
        .open_tcp("127.0.0.1", t.port)
        .await
        .map_err(|e| CheckError(e.to_string()))?;
    if t.https {
        let name = rustls::pki_types::ServerName::try_from(t.host.clone())
            .map_err(|e| fail(&format!("`{}` is not a name TLS can ask for", t.host), e))?;
        let config = client_config().map_err(|e| CheckError(format!("{e:#}")))?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, stream)
            .await
            .map_err(|e| fail("TLS handshake with Caddy", e))?;
        request(tls, t).await
    } else {
        request(stream, t).await
    }
}

async fn request<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    t: &Target,
) -> Result<u16, CheckError> {
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: raijin\r\nConnection: close\r\n\r\n",
        t.path, t.host
    );
    stream
        .write_all(req.as_bytes())
        .await
        .map_err(|e| CheckError(e.to_string()))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.contains(&b'\n') {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .map_err(|_| CheckError("no HTTP answer within 10 s".into()))?
            .map_err(|e| CheckError(e.to_string()))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    let Some(code) = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
    else {
        return Err(CheckError(format!(
            "not an HTTP answer: {:?}",
            line.lines().next().unwrap_or("")
        )));
    };
    Ok(code)
}

fn client_config() -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Accepts the server's certificate without judging its chain, while still checking
/// that the handshake is signed by the key in it.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TlsMode;

    fn proxy(domain: &str, tls: TlsMode) -> ProxyConfig {
        ProxyConfig {
            domain: domain.into(),
            process: Some("web".into()),
            port: Some(8000),
            health_path: "/health".into(),
            health_timeout_secs: 60,
            tls,
            drain_secs: 30,
        }
    }

    #[test]
    fn through_caddy_the_way_users_come() {
        let t = Target::via_caddy(&proxy("shop.example.com", TlsMode::Auto));
        assert_eq!(
            (t.port, t.https, t.host.as_str()),
            (443, true, "shop.example.com")
        );
        assert_eq!(t.describe(), "https://shop.example.com/health");
        let t = Target::via_caddy(&proxy("shop.test", TlsMode::Off));
        assert_eq!((t.port, t.https), (80, false));
        let t = Target::via_caddy(&proxy("shop.test:8443", TlsMode::Internal));
        assert_eq!(
            (t.port, t.https, t.host.as_str()),
            (8443, true, "shop.test")
        );
        let t = Target::via_caddy(&proxy("*.example.com", TlsMode::Auto));
        assert_eq!(t.host, "raijin-health.example.com");
    }

    #[test]
    fn straight_to_a_port() {
        let t = Target::direct(9001, &proxy("shop.example.com", TlsMode::Auto));
        assert_eq!((t.port, t.https), (9001, false));
        assert_eq!(t.describe(), "127.0.0.1:9001/health");
    }

    #[test]
    fn the_tls_client_builds() {
        assert!(client_config().is_ok());
    }
}
