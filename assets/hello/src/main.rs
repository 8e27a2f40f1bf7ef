//! hello: a tiny HTTP server that raijin's demo and tests deploy as a "binary" app.
//!
//! `hello [serve] [--listen ADDR:PORT]` serves on 127.0.0.1:$PORT (default 8000):
//!   GET /         200 "hello from VERSION on HOSTNAME"
//!   GET /version  200 "VERSION"
//!   GET /health   200 "ok", or 500 when HELLO_FAIL_HEALTH=1
//!   GET /env/NAME 200 with the value of environment variable NAME exactly, or 404
//!   GET /slow/MS  200 "slow MS from VERSION", answered after MS milliseconds
//!   anything else 404
//! VERSION is $RAIJIN_VERSION (else "unknown"). HELLO_START_DELAY_MS delays listening,
//! HELLO_LOG_EVERY_MS prints a "tick N" heartbeat. One log line per request on stdout.
//! SIGTERM ends the process at once with exit status 0.

use std::env;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{self, Command};
use std::thread;
use std::time::Duration;

const DEFAULT_PORT: &str = "8000";
const MAX_HEAD: usize = 16 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(10);

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    let mut listen: Option<String> = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "serve" => {}
            "--version" | "-V" => {
                println!(
                    "hello {} (release {})",
                    env!("CARGO_PKG_VERSION"),
                    version()
                );
                return;
            }
            "--help" | "-h" => {
                println!("usage: hello [serve] [--listen ADDR:PORT] | --version");
                return;
            }
            "--listen" => {
                i += 1;
                match args.get(i) {
                    Some(addr) => listen = Some(addr.clone()),
                    None => {
                        eprintln!("hello: --listen needs ADDR:PORT");
                        process::exit(2);
                    }
                }
            }
            other => {
                eprintln!("hello: unknown argument {other:?} (try --help)");
                process::exit(2);
            }
        }
        i += 1;
    }
    let addr = listen.unwrap_or_else(|| {
        let port = env::var("PORT").unwrap_or_else(|_| DEFAULT_PORT.to_string());
        format!("127.0.0.1:{port}")
    });
    exit_zero_on_sigterm();
    serve(&addr);
}

/// Runs the server on `addr` until the process is killed.
fn serve(addr: &str) {
    if let Some(ms) = env_millis("HELLO_START_DELAY_MS") {
        log(&format!("starting in {ms} ms"));
        thread::sleep(Duration::from_millis(ms));
    }
    let listener = TcpListener::bind(addr).unwrap_or_else(|e| {
        eprintln!("hello: cannot listen on {addr}: {e}");
        process::exit(1);
    });
    if let Some(ms) = env_millis("HELLO_LOG_EVERY_MS") {
        thread::spawn(move || {
            for n in 1u64.. {
                thread::sleep(Duration::from_millis(ms.max(1)));
                log(&format!("tick {n}"));
            }
        });
    }
    log(&format!("hello {} listening on {addr}", version()));
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                thread::spawn(move || {
                    let _ = handle(stream);
                });
            }
            Err(e) => {
                eprintln!("hello: accept: {e}");
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Answers one request on `stream`, then closes it. Errors only end this connection.
fn handle(mut stream: TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let Some(head) = read_head(&mut stream)? else {
        return Ok(()); // closed before a full request head arrived
    };
    let request = parse_request_line(head.lines().next().unwrap_or(""));
    let (method, path) = request.unwrap_or(("", ""));

    let (status, body) = match (method, path) {
        ("", _) => (400, "bad request\n".to_string()),
        ("GET" | "HEAD", "/") => (200, format!("hello from {} on {}\n", version(), hostname())),
        ("GET" | "HEAD", "/version") => (200, format!("{}\n", version())),
        ("GET" | "HEAD", "/health") if env::var("HELLO_FAIL_HEALTH").as_deref() == Ok("1") => (
            500,
            "failing on purpose (HELLO_FAIL_HEALTH=1)\n".to_string(),
        ),
        ("GET" | "HEAD", "/health") => (200, "ok\n".to_string()),
        ("GET" | "HEAD", p) if p.starts_with("/slow/") => match p[6..].parse::<u64>() {
            Ok(ms) => {
                thread::sleep(Duration::from_millis(ms));
                (200, format!("slow {ms} from {}\n", version()))
            }
            Err(_) => (404, "not a number of milliseconds\n".to_string()),
        },
        ("GET" | "HEAD", p) if p.starts_with("/env/") => match env::var(&p[5..]) {
            Ok(v) => (200, v),
            Err(_) => (404, "no such variable\n".to_string()),
        },
        ("GET" | "HEAD", _) => (404, "not found\n".to_string()),
        _ => (405, "method not allowed\n".to_string()),
    };
    match request {
        Some((method, path)) => log(&format!("{method} {} {status}", printable(path))),
        None => log(&format!("BAD - {status}")),
    }

    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    };
    let mut response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        response.push_str(&body);
    }
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

/// Reads up to the blank line that ends the request head. The body, if any, is ignored.
/// Returns None when the peer closes first; a head larger than MAX_HEAD is cut short.
fn read_head(stream: &mut TcpStream) -> io::Result<Option<String>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        if buf.len() >= MAX_HEAD {
            break;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// Splits "METHOD /path?query HTTP/1.x" into the method and the path; None when malformed.
fn parse_request_line(line: &str) -> Option<(&str, &str)> {
    let mut words = line.split_whitespace();
    let (method, target, proto) = (words.next()?, words.next()?, words.next()?);
    let token = !method.is_empty() && method.len() <= 16;
    if !token || !method.bytes().all(|b| b.is_ascii_uppercase()) || !proto.starts_with("HTTP/") {
        return None;
    }
    if words.next().is_some() || !target.starts_with('/') {
        return None;
    }
    Some((method, target.split('?').next().unwrap_or(target)))
}

/// A path fit for a log line: at most 200 characters, control characters replaced.
fn printable(path: &str) -> String {
    path.chars()
        .take(200)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// The release being served: $RAIJIN_VERSION, else "unknown".
fn version() -> String {
    env::var("RAIJIN_VERSION")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The host's name from /etc/hostname, else `uname -n`, else "unknown".
fn hostname() -> String {
    let from_file = std::fs::read_to_string("/etc/hostname").ok();
    let from_uname = || {
        Command::new("uname")
            .arg("-n")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    from_file
        .filter(|s| !s.trim().is_empty())
        .or_else(from_uname)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// A positive number of milliseconds from the environment variable `name`.
fn env_millis(name: &str) -> Option<u64> {
    env::var(name)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&ms| ms > 0)
}

/// Prints one line on stdout and flushes it at once (journald reads a pipe).
fn log(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Makes SIGTERM end the process with exit status 0 instead of "killed by signal".
/// Every request is answered in one write, so there is nothing to drain.
#[cfg(unix)]
fn exit_zero_on_sigterm() {
    extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
        fn _exit(status: i32) -> !;
    }
    extern "C" fn on_term(_: i32) {
        // _exit is async-signal-safe; nothing else happens in the handler.
        unsafe { _exit(0) }
    }
    const SIGTERM: i32 = 15;
    unsafe {
        signal(SIGTERM, on_term as extern "C" fn(i32) as usize);
    }
}

#[cfg(not(unix))]
fn exit_zero_on_sigterm() {}
