//! This process's own terminal (stdin, stdout, window-size changes) lent to a
//! remote shell, for both faces: `raijin shell` and the console's `s`.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

use crate::operate::{TermInput, TerminalIo};

/// Standard input for the shell, read by a thread that polls so it can be
/// stopped: once the shell ends it must not keep a read pending, or it would
/// steal the console's next key.
pub struct LocalTerminal {
    input: mpsc::UnboundedReceiver<Vec<u8>>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
    #[cfg(unix)]
    winch: tokio::signal::unix::Signal,
}

impl LocalTerminal {
    pub fn start() -> std::io::Result<LocalTerminal> {
        let (tx, input) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let reader = std::thread::Builder::new()
            .name("raijin-shell-stdin".into())
            .spawn(move || {
                let mut buf = [0u8; 4096];
                while !stopped.load(Ordering::Relaxed) {
                    match crate::util::read_stdin_within(&mut buf, 50) {
                        Ok(Some(0)) | Err(_) => break,
                        Ok(Some(n)) => {
                            if tx.send(buf[..n].to_vec()).is_err() {
                                break;
                            }
                        }
                        Ok(None) => {}
                    }
                }
            })?;
        Ok(LocalTerminal {
            input,
            stop,
            reader: Some(reader),
            #[cfg(unix)]
            winch: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())?,
        })
    }
}

impl Drop for LocalTerminal {
    fn drop(&mut self) {
        // Wait for the reader (≤ one 50 ms poll): the console must get every
        // byte typed from now on.
        self.stop.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl TerminalIo for LocalTerminal {
    fn size(&self) -> (u16, u16) {
        crossterm::terminal::size().unwrap_or((80, 24))
    }

    fn term(&self) -> String {
        std::env::var("TERM")
            .ok()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "xterm-256color".into())
    }

    async fn input(&mut self) -> Option<TermInput> {
        #[cfg(unix)]
        {
            tokio::select! {
                data = self.input.recv() => data.map(TermInput::Data),
                _ = self.winch.recv() => {
                    let (cols, rows) = self.size();
                    Some(TermInput::Resize { cols, rows })
                }
            }
        }
        #[cfg(not(unix))]
        {
            self.input.recv().await.map(TermInput::Data)
        }
    }

    fn output(&mut self, data: &[u8]) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(data)?;
        out.flush()
    }
}
