//! The `publish` command: parse the command line, run the pipeline, print diagnostics, exit.

mod cli;

use clap::Parser;
use cli::{Cli, DiagnosticsArg, EmitArg};
use publish::Error;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let opts = publish::Options::from(&cli);
    // A progress display only for a person at a terminal, never in pipes or CI logs.
    let show_progress =
        !cli.quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    let outcome = if show_progress {
        let bars = progress::Bars::new();
        let outcome = publish::run_with(&opts, &bars);
        bars.clear();
        outcome
    } else {
        publish::run(&opts)
    };

    let mut stderr = std::io::stderr().lock();
    for d in &outcome.diagnostics {
        let _ = match cli.diagnostics {
            DiagnosticsArg::Human => writeln!(stderr, "{d}"),
            DiagnosticsArg::Json => writeln!(stderr, "{}", d.to_json()),
        };
    }
    if cli.timings {
        for (phase, t) in &outcome.timings {
            let _ = writeln!(stderr, "timing: {phase}: {:.3} s", t.as_secs_f64());
        }
    }
    let warnings = outcome.diagnostics.iter().filter(|d| !d.is_error()).count();
    let mut result = outcome.result;
    if result.is_ok() && cli.fail_on_warnings && warnings > 0 {
        result = Err(Error::Warnings(warnings));
    }
    if let (Some(EmitArg::Model), Some(book)) = (cli.emit, &outcome.book)
        && (result.is_ok() || matches!(result, Err(Error::Sources(_))))
    {
        let mut stdout = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut stdout, book);
        let _ = writeln!(stdout);
    }
    match result {
        Ok(()) => {
            if !cli.quiet {
                for note in &outcome.notes {
                    let _ = match cli.diagnostics {
                        DiagnosticsArg::Human => writeln!(stderr, "{note}"),
                        DiagnosticsArg::Json => writeln!(
                            stderr,
                            "{}",
                            serde_json::json!({"severity": "info", "code": "note", "message": note})
                        ),
                    };
                }
                for path in &outcome.written {
                    let path = path.strip_prefix(".").unwrap_or(path).display();
                    let _ = match cli.diagnostics {
                        DiagnosticsArg::Human => writeln!(stderr, "wrote {path}"),
                        DiagnosticsArg::Json => writeln!(
                            stderr,
                            "{}",
                            serde_json::json!({"severity": "info", "code": "wrote", "file": path.to_string()})
                        ),
                    };
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

mod progress {
    //! The terminal progress display (indicatif): one line per phase.

    use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::time::Duration;

    /// One spinner or bar per phase, drawn on stderr.
    pub struct Bars {
        multi: MultiProgress,
        bars: Mutex<BTreeMap<String, ProgressBar>>,
    }

    impl Bars {
        /// A new, empty display.
        pub fn new() -> Self {
            Bars {
                multi: MultiProgress::new(),
                bars: Mutex::new(BTreeMap::new()),
            }
        }

        /// Remove the display before diagnostics are printed.
        pub fn clear(&self) {
            let _ = self.multi.clear();
        }

        fn with_bar(&self, phase: &str, f: impl FnOnce(&ProgressBar)) {
            if let Ok(bars) = self.bars.lock()
                && let Some(bar) = bars.get(phase)
            {
                f(bar);
            }
        }
    }

    impl publish::Progress for Bars {
        fn start(&self, phase: &str, total: Option<u64>) {
            let bar = match total {
                Some(n) => ProgressBar::new(n).with_style(
                    ProgressStyle::with_template("{prefix:>6} [{bar:30}] {pos}/{len}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                ),
                None => ProgressBar::new_spinner().with_style(
                    ProgressStyle::with_template("{prefix:>6} {spinner} {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                ),
            };
            let bar = self.multi.add(bar.with_prefix(phase.to_owned()));
            bar.enable_steady_tick(Duration::from_millis(120));
            if let Ok(mut bars) = self.bars.lock() {
                bars.insert(phase.to_owned(), bar);
            }
        }

        fn step(&self, phase: &str) {
            self.with_bar(phase, |b| b.inc(1));
        }

        fn finish(&self, phase: &str, ok: bool) {
            self.with_bar(phase, |b| {
                b.finish_with_message(if ok { "done" } else { "failed" })
            });
        }
    }
}
