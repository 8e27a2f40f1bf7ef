//! Lending the console's terminal to an app shell: the console stops reading
//! input and leaves the alternate screen, the shell's PTY channel gets the
//! terminal (raw mode stays on), and afterwards the console takes it back
//! with a full redraw. Host connections, log follows and runs keep going.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute};
use tokio::sync::mpsc;

use crate::engine::Engine;
use crate::operate::{self, TermInput, TerminalIo};

/// Standard input for the shell, read by a thread that polls so it can be
/// stopped: once the shell ends it must not keep a read pending, or it would
/// steal the console's next key.
struct LentTerminal {
    input: mpsc::UnboundedReceiver<Vec<u8>>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
    #[cfg(unix)]
    winch: tokio::signal::unix::Signal,
}

impl LentTerminal {
    fn start() -> std::io::Result<LentTerminal> {
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
        Ok(LentTerminal {
            input,
            stop,
            reader: Some(reader),
            #[cfg(unix)]
            winch: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())?,
        })
    }
}

impl Drop for LentTerminal {
    fn drop(&mut self) {
        // Wait for the reader (≤ one 50 ms poll): the console must get every
        // byte typed from now on.
        self.stop.store(true, Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl TerminalIo for LentTerminal {
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

/// Run the app shell on `host` on the real terminal; returns a line for a toast.
/// The caller has stopped reading terminal events and redraws afterwards.
pub async fn lend_terminal(engine: &Engine, app: &str, host: &str) -> String {
    let mut out = std::io::stdout();
    let _ = execute!(out, DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
    let _ = write!(
        out,
        "\r\nraijin: shell for {app} on {host} (the console comes back when it exits)\r\n"
    );
    let _ = out.flush();
    let result = match LentTerminal::start() {
        Ok(mut term) => operate::shell(engine, app, host, &mut term).await,
        Err(e) => Err(anyhow::anyhow!("cannot read the terminal: {e}")),
    };
    let _ = execute!(out, EnterAlternateScreen, EnableMouseCapture, cursor::Hide);
    match result {
        Ok(status) => format!("shell on {host} ended ({status})"),
        Err(e) => format!("shell on {host}: {e:#}"),
    }
}
