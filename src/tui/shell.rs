//! Lending the console's terminal to an app shell: the console stops reading
//! input and leaves the alternate screen, the shell's PTY channel gets the
//! terminal (raw mode stays on), and afterwards the console takes it back
//! with a full redraw. Host connections, log follows and runs keep going.

use std::io::Write as _;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute};

use crate::engine::Engine;
use crate::operate;

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
    let result = match crate::term::LocalTerminal::start() {
        Ok(mut term) => match operate::shell(engine, app, Some(host)) {
            Ok(shell) => shell.run(&mut term).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
        Err(e) => Err(format!("cannot read the terminal: {e}")),
    };
    let _ = execute!(out, EnterAlternateScreen, EnableMouseCapture, cursor::Hide);
    match result {
        Ok(status) => format!("shell on {host} ended ({status})"),
        Err(e) => format!("shell on {host}: {e}"),
    }
}
