//! A dead link is noticed even when the SSH session cannot notice it itself.
//!
//! russh sends keepalives from its session loop; while that loop waits for the
//! socket to take more data (a large upload when the link is cut: the kernel's send
//! buffer fills and never drains), it sends none and counts no missed answers, and
//! the connection would hang until TCP gives up, many minutes later. [`Watched`]
//! wraps the connection's stream and records when bytes last arrived; [`watch`]
//! fails the stream (both directions, waking whoever waits on it) once nothing has
//! arrived for longer than the keepalives allow. On a live link something always
//! arrives within that time: the answers to keepalives, window adjustments, output.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What the stream and its watchdog share.
pub(crate) struct Liveness {
    start: Instant,
    /// Milliseconds after `start` at which bytes last arrived.
    last_read_ms: AtomicU64,
    /// Set once the link is declared dead: the reason.
    dead: Mutex<Option<String>>,
    wakers: Mutex<[Option<Waker>; 2]>,
}

impl Liveness {
    fn new() -> Arc<Self> {
        Arc::new(Liveness {
            start: Instant::now(),
            last_read_ms: AtomicU64::new(0),
            dead: Mutex::new(None),
            wakers: Mutex::new([None, None]),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn heard(&self) {
        self.last_read_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// Time since bytes last arrived.
    fn silence(&self) -> Duration {
        Duration::from_millis(
            self.now_ms()
                .saturating_sub(self.last_read_ms.load(Ordering::Relaxed)),
        )
    }

    fn dead_error(&self) -> Option<io::Error> {
        let dead = self.dead.lock().ok()?;
        dead.as_ref()
            .map(|r| io::Error::new(io::ErrorKind::TimedOut, r.clone()))
    }

    fn park(&self, slot: usize, cx: &Context<'_>) {
        if let Ok(mut w) = self.wakers.lock() {
            match &w[slot] {
                Some(old) if old.will_wake(cx.waker()) => {}
                _ => w[slot] = Some(cx.waker().clone()),
            }
        }
    }

    fn kill(&self, reason: String) {
        if let Ok(mut dead) = self.dead.lock() {
            dead.get_or_insert(reason);
        }
        if let Ok(mut w) = self.wakers.lock() {
            for waker in w.iter_mut().filter_map(Option::take) {
                waker.wake();
            }
        }
    }
}

/// A stream that records when bytes arrive and fails once declared dead.
pub(crate) struct Watched<S> {
    inner: S,
    live: Arc<Liveness>,
}

impl<S> Watched<S> {
    pub(crate) fn new(inner: S) -> (Self, Arc<Liveness>) {
        let live = Liveness::new();
        (
            Watched {
                inner,
                live: live.clone(),
            },
            live,
        )
    }
}

const READ: usize = 0;
const WRITE: usize = 1;

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(e) = self.live.dead_error() {
            return Poll::Ready(Err(e));
        }
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.live.heard();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                this.live.park(READ, cx);
                Poll::Pending
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.live.dead_error() {
            return Poll::Ready(Err(e));
        }
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if r.is_pending() {
            this.live.park(WRITE, cx);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.live.dead_error() {
            return Poll::Ready(Err(e));
        }
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_flush(cx);
        if r.is_pending() {
            this.live.park(WRITE, cx);
        }
        r
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Watch `live` from now on: once nothing has arrived for `bound`, the stream fails
/// with a reason naming the silence, and `on_dead` gets it. Ends by itself when the
/// stream is gone.
pub(crate) fn watch(
    live: &Arc<Liveness>,
    bound: Duration,
    on_dead: impl FnOnce(String) + Send + 'static,
) {
    live.heard();
    let weak: Weak<Liveness> = Arc::downgrade(live);
    let tick = (bound / 8).clamp(Duration::from_millis(100), Duration::from_secs(1));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(tick).await;
            let Some(live) = weak.upgrade() else { return };
            if live.dead.lock().map(|d| d.is_some()).unwrap_or(true) {
                return;
            }
            let silence = live.silence();
            if silence > bound {
                let reason = format!(
                    "nothing arrived from the host for {} s (link down?)",
                    silence.as_secs()
                );
                live.kill(reason.clone());
                on_dead(reason);
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A peer that stops reading and never answers: the writer blocks on a full
    /// pipe, and the watchdog wakes it with an error within the bound.
    #[tokio::test]
    async fn a_writer_blocked_on_a_silent_peer_fails_within_the_bound() {
        let (a, _b) = tokio::io::duplex(1024);
        let (mut w, live) = Watched::new(a);
        let (tx, rx) = tokio::sync::oneshot::channel();
        watch(&live, Duration::from_millis(400), move |r| {
            let _ = tx.send(r);
        });
        let started = Instant::now();
        let res = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                w.write_all(&[0u8; 4096]).await?;
            }
            #[allow(unreachable_code)]
            Ok::<(), io::Error>(())
        })
        .await
        .expect("the blocked write was never woken");
        let err = res.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(
            err.to_string().contains("nothing arrived from the host"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(rx.await.unwrap().contains("link down?"));
    }

    /// Bytes arriving keep the stream alive past the bound.
    #[tokio::test]
    async fn a_talking_peer_keeps_the_stream_alive() {
        let (a, mut b) = tokio::io::duplex(1024);
        let (mut r, live) = Watched::new(a);
        watch(&live, Duration::from_millis(300), |_| {});
        let talker = tokio::spawn(async move {
            for _ in 0..12 {
                b.write_all(b"x").await.unwrap();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let mut got = 0;
        let mut buf = [0u8; 16];
        while got < 12 {
            got += r.read(&mut buf).await.expect("alive while bytes arrive");
        }
        talker.await.unwrap();
        assert!(live.dead_error().is_none());
    }
}
