//! [`Session`]: the one connection to a host that all work shares. It connects
//! on first use, gates channel opens so the server's `MaxSessions` (10 by
//! default in OpenSSH) is never exceeded, measures RTT, publishes its state to
//! the faces, and reconnects with backoff when the link drops.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, watch};

use super::connect::{self, Conn, ConnectParams};
use super::{NoPrompt, Prompter, SshError, Target};

/// Channels open at once on one connection: OpenSSH's default `MaxSessions`.
pub const MAX_CHANNELS: usize = 10;

/// Tunables of a session.
#[derive(Clone)]
pub struct SessionOptions {
    pub connect_timeout: Duration,
    pub keepalive_interval: Duration,
    pub keepalive_max: usize,
    pub accept_new_host_key: bool,
    pub prompter: Arc<dyn Prompter>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(3),
            keepalive_max: 3,
            accept_new_host_key: false,
            prompter: Arc::new(NoPrompt),
        }
    }
}

/// Connection state of a host, as the faces show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Not connected yet.
    Idle,
    Connecting,
    Connected,
    /// The link dropped or an attempt failed; another attempt follows.
    Reconnecting {
        attempt: u32,
        error: String,
    },
    /// Failed in a way retrying will not fix (host key, auth).
    Failed {
        error: String,
    },
}

#[derive(Clone, Debug)]
pub struct HostStatus {
    pub state: LinkState,
    /// Last measured round trip (an SSH ping on the live connection).
    pub rtt: Option<Duration>,
    /// When `state` last changed.
    pub since: SystemTime,
}

pub struct Session {
    target: Target,
    opts: SessionOptions,
    conn: Mutex<Option<Arc<Live>>>,
    status: watch::Sender<HostStatus>,
    connects: AtomicU64,
}

/// A connection plus its channel gate.
pub(crate) struct Live {
    pub conn: Conn,
    pub permits: Arc<Semaphore>,
}

/// A connection checked out for one channel; holds its MaxSessions slot.
pub(crate) struct Lease {
    pub live: Arc<Live>,
    pub _permit: OwnedSemaphorePermit,
}

impl Session {
    pub fn new(target: Target, opts: SessionOptions) -> Arc<Self> {
        let (status, _) = watch::channel(HostStatus {
            state: LinkState::Idle,
            rtt: None,
            since: SystemTime::now(),
        });
        Arc::new(Self {
            target,
            opts,
            conn: Mutex::new(None),
            status,
            connects: AtomicU64::new(0),
        })
    }

    pub fn name(&self) -> &str {
        &self.target.name
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    pub fn options(&self) -> &SessionOptions {
        &self.opts
    }

    /// Watch the host's connection state and RTT.
    pub fn status(&self) -> watch::Receiver<HostStatus> {
        self.status.subscribe()
    }

    /// TCP connections opened so far (1 while the link stays up).
    pub fn connections_opened(&self) -> u64 {
        self.connects.load(Ordering::Relaxed)
    }

    fn set_state(&self, state: LinkState) {
        self.status.send_modify(|s| {
            if s.state != state {
                s.state = state;
                s.since = SystemTime::now();
            }
        });
    }

    /// The live connection, connecting (once, shared by all callers) if needed.
    pub(crate) async fn live(&self) -> Result<Arc<Live>, SshError> {
        let mut slot = self.conn.lock().await;
        if let Some(live) = slot.as_ref()
            && !live.conn.is_closed()
        {
            return Ok(live.clone());
        }
        if slot.take().is_some() {
            tracing::info!(host = %self.target.name, "connection gone; reconnecting");
        }
        self.set_state(LinkState::Connecting);
        let params = ConnectParams {
            connect_timeout: self.opts.connect_timeout,
            keepalive_interval: self.opts.keepalive_interval,
            keepalive_max: self.opts.keepalive_max,
            accept_new_host_key: self.opts.accept_new_host_key,
            prompter: &self.opts.prompter,
        };
        let started = Instant::now();
        match connect::connect(&self.target, &params).await {
            Ok(conn) => {
                self.connects.fetch_add(1, Ordering::Relaxed);
                tracing::info!(host = %self.target.name, addr = %self.target.display_addr(), ms = started.elapsed().as_millis() as u64, "connected");
                let live = Arc::new(Live {
                    conn,
                    permits: Arc::new(Semaphore::new(MAX_CHANNELS)),
                });
                *slot = Some(live.clone());
                self.set_state(LinkState::Connected);
                Ok(live)
            }
            Err(e) => {
                tracing::warn!(host = %self.target.name, error = %e, "connect failed");
                let state = if e.is_transient() {
                    LinkState::Reconnecting {
                        attempt: 1,
                        error: e.to_string(),
                    }
                } else {
                    LinkState::Failed {
                        error: e.to_string(),
                    }
                };
                self.set_state(state);
                Err(e)
            }
        }
    }

    /// Check out the connection for one channel, waiting for a free slot.
    pub(crate) async fn lease(&self) -> Result<Lease, SshError> {
        loop {
            let live = self.live().await?;
            let permit = tokio::select! {
                p = live.permits.clone().acquire_owned() => p,
                reason = live.conn.wait_closed() => {
                    // The connection died while we queued: take a fresh one.
                    tracing::debug!(host = %self.target.name, %reason, "connection closed while queued");
                    continue;
                }
            };
            let Ok(permit) = permit else {
                continue;
            };
            return Ok(Lease {
                live,
                _permit: permit,
            });
        }
    }

    /// Connect now (if not connected) and report any error.
    pub async fn connect(&self) -> Result<(), SshError> {
        self.live().await.map(|_| ())
    }

    /// One SSH-level round trip on the live connection; updates the status.
    pub async fn ping(&self) -> Result<Duration, SshError> {
        let live = self.live().await?;
        let started = Instant::now();
        let bound = self.opts.connect_timeout;
        let res = tokio::time::timeout(bound, live.conn.handle.send_ping()).await;
        let rtt = started.elapsed();
        match res {
            Ok(Ok(())) if !live.conn.is_closed() => {
                self.status.send_modify(|s| s.rtt = Some(rtt));
                Ok(rtt)
            }
            Ok(_) => Err(SshError::Disconnected {
                host: self.target.name.clone(),
                reason: live.conn.wait_closed().await,
            }),
            Err(_) => Err(SshError::Timeout {
                host: self.target.name.clone(),
                what: "ping".into(),
                secs: bound.as_secs(),
            }),
        }
    }

    /// Keep the link up for as long as the returned task runs: reconnect with
    /// exponential backoff (1 s doubling to 30 s) after a drop, and refresh the
    /// RTT every `rtt_every`. Used by the console and log follow; one-shot
    /// commands simply connect on first use.
    pub fn supervise(self: &Arc<Self>, rtt_every: Duration) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut attempt: u32 = 0;
            loop {
                match this.live().await {
                    Ok(live) => {
                        attempt = 0;
                        let _ = this.ping().await;
                        tokio::select! {
                            reason = live.conn.wait_closed() => {
                                this.set_state(LinkState::Reconnecting { attempt: 0, error: reason });
                            }
                            _ = tokio::time::sleep(rtt_every) => {}
                        }
                    }
                    Err(e) if !e.is_transient() => return,
                    Err(e) => {
                        attempt += 1;
                        let wait = backoff(attempt);
                        this.set_state(LinkState::Reconnecting {
                            attempt,
                            error: e.to_string(),
                        });
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        })
    }

    /// Close the connection (in-flight work fails).
    pub async fn disconnect(&self) {
        if let Some(live) = self.conn.lock().await.take() {
            let _ = live
                .conn
                .handle
                .disconnect(russh::Disconnect::ByApplication, "bye", "en")
                .await;
        }
        self.set_state(LinkState::Idle);
    }
}

/// Delay before reconnect attempt `n` (1-based): 1, 2, 4, ... 30 s.
pub fn backoff(n: u32) -> Duration {
    let secs = 1u64 << n.saturating_sub(1).min(5);
    Duration::from_secs(secs.min(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap() {
        let v: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(v, vec![1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
