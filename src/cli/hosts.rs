//! `raijin hosts`: connect to every host in parallel and show, per host,
//! whether it is connected, its RTT and its facts.

use std::process::ExitCode;

use clap::Args;

use crate::engine::Engine;
use crate::inspect::{self, HostReport};
use crate::util::human_bytes;

#[derive(Args, Debug)]
pub struct HostsArgs {
    /// Print one JSON document instead of a table
    #[arg(long)]
    pub json: bool,
}

pub async fn run(engine: &Engine, args: HostsArgs) -> ExitCode {
    let reports = inspect::hosts(engine).await;
    let all_ok = reports.iter().all(|r| r.connected);

    if args.json {
        match serde_json::to_string_pretty(&reports) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("error: {e}"),
        }
    } else {
        print_table(&reports);
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_table(reports: &[HostReport]) {
    let header = [
        "HOST",
        "ADDRESS",
        "STATE",
        "RTT",
        "OS",
        "ARCH",
        "SYSTEMD",
        "/opt FREE",
    ];
    let rows: Vec<[String; 8]> = reports
        .iter()
        .map(|r| {
            let f = r.facts.clone().unwrap_or_default();
            [
                r.host.clone(),
                r.address.clone(),
                if r.connected {
                    "connected"
                } else {
                    "unreachable"
                }
                .to_string(),
                r.rtt_ms
                    .map(|ms| format!("{ms:.1} ms"))
                    .unwrap_or_else(|| "-".into()),
                if f.os.is_empty() {
                    "-".into()
                } else {
                    f.os.clone()
                },
                if f.arch.is_empty() {
                    "-".into()
                } else {
                    f.arch.clone()
                },
                f.systemd
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "-".into()),
                f.opt_free_bytes
                    .map(human_bytes)
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(&header.map(String::from)));
    for row in &rows {
        println!("{}", line(row));
    }
    for r in reports {
        if let Some(e) = &r.error {
            eprintln!("error: {e}");
        }
    }
}
