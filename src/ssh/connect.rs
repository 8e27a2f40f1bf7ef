//! Opening one authenticated SSH connection to a [`Target`]: TCP (or a
//! direct-tcpip channel through the jump host), key exchange with strict
//! host-key checking, then authentication.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client;
use russh::keys::PublicKeyOrCertificate;
use russh::keys::ssh_key::PublicKey;
use tokio::sync::watch;

use super::hostkey::{self, Verdict};
use super::liveness::{self, Watched};
use super::{Prompter, SshError, Target};

/// Bytes read from the socket at a time (SSH packets are at most 35,000 bytes).
const READ_BUFFER: usize = 64 * 1024;

/// One live connection (and the jump connection it rides on, kept alive).
pub(crate) struct Conn {
    pub handle: client::Handle<Client>,
    /// Set to the reason once the connection has ended.
    pub closed: watch::Receiver<Option<String>>,
    _jump: Option<Arc<Conn>>,
}

impl Conn {
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed() || self.closed.borrow().is_some()
    }

    /// Resolves when the connection ends, with the reason.
    pub async fn wait_closed(&self) -> String {
        let mut rx = self.closed.clone();
        loop {
            if let Some(reason) = rx.borrow_and_update().clone() {
                return reason;
            }
            if rx.changed().await.is_err() {
                return "connection closed".to_string();
            }
        }
    }
}

const AUTH_TIMEOUT: Duration = Duration::from_secs(120);

/// Options of a connection attempt.
pub(crate) struct ConnectParams<'a> {
    pub connect_timeout: Duration,
    pub keepalive_interval: Duration,
    pub keepalive_max: usize,
    pub accept_new_host_key: bool,
    pub prompter: &'a Arc<dyn Prompter>,
}

/// russh callbacks: host-key verification and noticing the end of the link.
pub(crate) struct Client {
    host_name: String,
    addr: String,
    port: u16,
    known_hosts: Vec<std::path::PathBuf>,
    accept_new: bool,
    prompter: Arc<dyn Prompter>,
    /// Why we refused the server key, read by `connect` after russh fails.
    refusal: Arc<Mutex<Option<SshError>>>,
    closed: watch::Sender<Option<String>>,
}

#[derive(Debug)]
pub(crate) struct HandlerError(pub russh::Error);

impl From<russh::Error> for HandlerError {
    fn from(e: russh::Error) -> Self {
        HandlerError(e)
    }
}

impl Client {
    fn refuse(&self, err: SshError) -> Result<bool, HandlerError> {
        if let Ok(mut slot) = self.refusal.lock() {
            *slot = Some(err);
        }
        Ok(false)
    }

    async fn check(&mut self, key: &PublicKey) -> Result<bool, HandlerError> {
        let fp = hostkey::fingerprint(key);
        let key_type = key.algorithm().as_str().to_string();
        match hostkey::verify(&self.addr, self.port, key, &self.known_hosts) {
            Verdict::Trusted => Ok(true),
            Verdict::Changed {
                file,
                line,
                recorded_fingerprint,
            } => self.refuse(SshError::HostKeyChanged {
                host: self.host_name.clone(),
                addr: self.addr.clone(),
                key_type,
                presented: fp,
                recorded: recorded_fingerprint,
                file: file.display().to_string(),
                line,
            }),
            Verdict::Revoked { file, line } => self.refuse(SshError::HostKeyRevoked {
                host: self.host_name.clone(),
                addr: self.addr.clone(),
                fingerprint: fp,
                file: file.display().to_string(),
                line,
            }),
            Verdict::Unknown => {
                let record_in = self.known_hosts.first().cloned();
                let accepted = self.accept_new
                    || self
                        .prompter
                        .accept_host_key(&self.host_name, &self.addr, &fp)
                        .await;
                if let (true, Some(file)) = (accepted, &record_in) {
                    match hostkey::learn(&self.addr, self.port, key, file) {
                        Ok(()) => {
                            tracing::info!(host = %self.host_name, %fp, file = %file.display(), "recorded new host key");
                            return Ok(true);
                        }
                        Err(e) => {
                            return self.refuse(SshError::Connect {
                                host: self.host_name.clone(),
                                addr: self.addr.clone(),
                                reason: format!(
                                    "cannot record the host key in {}: {e}",
                                    file.display()
                                ),
                            });
                        }
                    }
                }
                let checked = self
                    .known_hosts
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                self.refuse(SshError::HostKeyUnknown {
                    host: self.host_name.clone(),
                    addr: self.addr.clone(),
                    key_type,
                    fingerprint: fp,
                    checked,
                    record_in: record_in
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "~/.ssh/known_hosts".into()),
                })
            }
        }
    }
}

impl client::Handler for Client {
    type Error = HandlerError;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => {
                let key = key.clone();
                self.check(&key).await
            }
            PublicKeyOrCertificate::Certificate(_) => self.refuse(SshError::Connect {
                host: self.host_name.clone(),
                addr: self.addr.clone(),
                reason:
                    "the server presented a host certificate; raijin checks plain host keys only"
                        .into(),
            }),
        }
    }

    async fn disconnected(
        &mut self,
        reason: client::DisconnectReason<Self::Error>,
    ) -> Result<(), Self::Error> {
        let text = match &reason {
            client::DisconnectReason::ReceivedDisconnect(info) => {
                format!("server disconnected ({:?})", info.reason_code)
            }
            client::DisconnectReason::Error(e) => describe(&e.0),
        };
        let _ = self.closed.send(Some(text));
        match reason {
            client::DisconnectReason::ReceivedDisconnect(_) => Ok(()),
            client::DisconnectReason::Error(e) => Err(e),
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.closed.send_if_modified(|v| {
            if v.is_none() {
                *v = Some("connection closed".to_string());
                true
            } else {
                false
            }
        });
    }
}

/// Human words for russh errors that end a connection.
pub(crate) fn describe(e: &russh::Error) -> String {
    match e {
        russh::Error::KeepaliveTimeout => "no answer to keepalives (link down?)".into(),
        russh::Error::ConnectionTimeout => "connection timed out".into(),
        russh::Error::HUP => "closed by the remote side".into(),
        russh::Error::IO(io) => format!("network error: {io}"),
        other => other.to_string(),
    }
}

fn client_config(target: &Target, p: &ConnectParams<'_>) -> Arc<client::Config> {
    let mut preferred = russh::Preferred::default();
    let recorded = hostkey::recorded_algorithms(&target.host, target.port, &target.known_hosts);
    if !recorded.is_empty() {
        let mut keys = recorded.clone();
        keys.extend(
            preferred
                .key
                .iter()
                .filter(|a| !recorded.contains(a))
                .cloned(),
        );
        preferred.key = keys.into();
    }
    // AES-GCM is the fastest cipher where the CPU has AES instructions.
    let mut ciphers = vec![russh::cipher::AES_256_GCM];
    ciphers.extend(
        preferred
            .cipher
            .iter()
            .filter(|c| **c != russh::cipher::AES_256_GCM)
            .cloned(),
    );
    preferred.cipher = ciphers.into();
    Arc::new(client::Config {
        preferred,
        keepalive_interval: Some(p.keepalive_interval),
        keepalive_max: p.keepalive_max,
        inactivity_timeout: None,
        nodelay: true,
        ..Default::default()
    })
}

/// Open and authenticate a connection to `target` (through its jump host, if any).
pub(crate) fn connect<'a>(
    target: &'a Target,
    p: &'a ConnectParams<'a>,
) -> futures::future::BoxFuture<'a, Result<Conn, SshError>> {
    Box::pin(async move {
        let addr = format!("{}:{}", target.host, target.port);
        let (closed_tx, closed_rx) = watch::channel(None);
        let closed_watch = closed_tx.clone();
        let refusal = Arc::new(Mutex::new(None));
        let handler = Client {
            host_name: target.name.clone(),
            addr: target.host.clone(),
            port: target.port,
            known_hosts: target.known_hosts.clone(),
            accept_new: p.accept_new_host_key,
            prompter: p.prompter.clone(),
            refusal: refusal.clone(),
            closed: closed_tx,
        };
        let config = client_config(target, p);
        let secs = p.connect_timeout.as_secs();
        let timeout_err = || SshError::ConnectTimeout {
            host: target.name.clone(),
            addr: addr.clone(),
            secs,
        };
        let conn_err = |reason: String| SshError::Connect {
            host: target.name.clone(),
            addr: addr.clone(),
            reason,
        };

        let (result, jump, live) = match &target.jump {
            None => {
                let tcp = tokio::time::timeout(
                    p.connect_timeout,
                    tokio::net::TcpStream::connect((target.host.as_str(), target.port)),
                )
                .await
                .map_err(|_| timeout_err())?
                .map_err(|e| conn_err(e.to_string()))?;
                let _ = tcp.set_nodelay(true);
                let (tcp, live) = Watched::new(tcp);
                // russh reads each packet's length, then its body: a read buffer
                // turns those two reads per packet into one per burst.
                let tcp = tokio::io::BufReader::with_capacity(READ_BUFFER, tcp);
                let r = tokio::time::timeout(
                    p.connect_timeout,
                    client::connect_stream(config, tcp, handler),
                )
                .await;
                (r, None, live)
            }
            Some(jump_target) => {
                let jump = connect(jump_target, p).await.map_err(|e| {
                    conn_err(format!("via jump host {}: {e}", jump_target.display_addr()))
                })?;
                let channel = tokio::time::timeout(
                    p.connect_timeout,
                    jump.handle.channel_open_direct_tcpip(
                        target.host.clone(),
                        u32::from(target.port),
                        "127.0.0.1",
                        0,
                    ),
                )
                .await
                .map_err(|_| timeout_err())?
                .map_err(|e| {
                    conn_err(format!(
                        "jump host {} could not reach it: {}",
                        jump_target.display_addr(),
                        describe(&e)
                    ))
                })?;
                let (stream, live) = Watched::new(channel.into_stream());
                let stream = tokio::io::BufReader::with_capacity(READ_BUFFER, stream);
                let r = tokio::time::timeout(
                    p.connect_timeout,
                    client::connect_stream(config, stream, handler),
                )
                .await;
                (r, Some(Arc::new(jump)), live)
            }
        };
        let mut handle = match result {
            Err(_) => return Err(timeout_err()),
            Ok(Err(e)) => {
                if let Some(refused) = refusal.lock().ok().and_then(|mut s| s.take()) {
                    return Err(refused);
                }
                return Err(conn_err(describe(&e.0)));
            }
            Ok(Ok(h)) => h,
        };
        // Generous: a person may be typing a passphrase; a dead link is caught
        // by the keepalives well before this.
        tokio::time::timeout(
            AUTH_TIMEOUT,
            super::auth::authenticate(&mut handle, target, p.prompter),
        )
        .await
        .map_err(|_| SshError::Timeout {
            host: target.name.clone(),
            what: "authentication".into(),
            secs: AUTH_TIMEOUT.as_secs(),
        })??;
        // From here on the keepalives answer at least every interval; a little more
        // than their own bound, so that russh's own verdict comes first when it can.
        let bound = p.keepalive_interval * (p.keepalive_max as u32 + 2);
        let closed = closed_watch.clone();
        liveness::watch(&live, bound, move |reason| {
            closed.send_if_modified(|v| {
                if v.is_none() {
                    *v = Some(reason);
                    true
                } else {
                    false
                }
            });
        });
        Ok(Conn {
            handle,
            closed: closed_rx,
            _jump: jump,
        })
    })
}
