//! The `publish` command: parse the command line, run the pipeline, print diagnostics, exit.

mod cli;

use clap::Parser;
use cli::{Cli, DiagnosticsArg, EmitArg};
use publish::Error;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let opts = publish::Options::from(&cli);
    let outcome = publish::run(&opts);

    let mut stderr = std::io::stderr().lock();
    for d in &outcome.diagnostics {
        let _ = match cli.diagnostics {
            DiagnosticsArg::Human => writeln!(stderr, "{d}"),
            DiagnosticsArg::Json => writeln!(stderr, "{}", d.to_json()),
        };
    }
    let warnings = outcome.diagnostics.iter().filter(|d| !d.is_error()).count();
    let mut result = outcome.result;
    if result.is_ok() && cli.fail_on_warnings && warnings > 0 {
        result = Err(Error::Warnings(warnings));
    }
    if let (Some(EmitArg::Model), Some(book)) = (cli.emit, &outcome.book) {
        if result.is_ok() || matches!(result, Err(Error::Sources(_))) {
            let mut stdout = std::io::stdout().lock();
            let _ = serde_json::to_writer_pretty(&mut stdout, book);
            let _ = writeln!(stdout);
        }
    }
    match result {
        Ok(()) => {
            if !cli.quiet {
                for path in &outcome.written {
                    let _ = writeln!(stderr, "wrote {}", path.display());
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = match cli.diagnostics {
                DiagnosticsArg::Human => writeln!(stderr, "publish: error: {e}"),
                DiagnosticsArg::Json => writeln!(
                    stderr,
                    "{}",
                    serde_json::json!({"severity": "fatal", "code": fatal_code(&e), "exit": e.exit_code(), "message": e.to_string()})
                ),
            };
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Stable codes for fatal errors in JSON diagnostics.
fn fatal_code(e: &Error) -> &'static str {
    match e {
        Error::Sources(_) => "source-errors",
        Error::Warnings(_) => "warnings-fail",
        Error::Config { .. } => "config",
        Error::Usage(_) => "usage",
        Error::Output(_) => "output-failed",
        Error::Io { .. } => "io",
        Error::Internal(_) => "internal",
    }
}
