//! The `publish` command: parse the command line, run the pipeline, print diagnostics, exit.

mod cli;

use clap::Parser;
use cli::{Cli, Command, DiagnosticsArg, EmitArg};
use publish::Error;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let opts = publish::Options::from(&cli);
    match &cli.command {
        Some(Command::New { dir, title, author }) => {
            return match publish::new::create(dir, title.as_deref(), author.as_deref()) {
                Ok(files) => {
                    if !cli.quiet {
                        for f in files {
                            eprintln!("created {}", f.display());
                        }
                        eprintln!(
                            "next: cd {} && publish   (or `publish serve` to preview while you edit)",
                            dir.display()
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&cli, &e),
            };
        }
        Some(Command::Watch) => return live(&cli, opts, None),
        Some(Command::Serve { port, host, open }) => {
            return live(&cli, opts, Some((*host, *port, *open)));
        }
        _ => {}
    }
    // A progress display only for a person at a terminal, never in pipes or CI logs.
    let show_progress =
        !cli.quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    let outcome = if show_progress {
        let bars = progress::Bars::new();
        let outcome = publish::run_with(&opts, &bars);
        bars.clear();
        outcome
    } else {
        publish::run_with(
            &opts,
            &progress::Notices {
                json: cli.diagnostics == DiagnosticsArg::Json,
            },
        )
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
                        DiagnosticsArg::Human => writeln!(
                            stderr,
                            "wrote {}",
                            publish::diag::escape_control(&path.to_string())
                        ),
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
            drop(stderr);
            fail(&cli, &e)
        }
    }
}

/// Print a fatal error and turn it into the exit code.
fn fail(cli: &Cli, e: &Error) -> ExitCode {
    let mut stderr = std::io::stderr().lock();
    let _ = match cli.diagnostics {
        DiagnosticsArg::Human => writeln!(
            stderr,
            "publish: error: {}",
            publish::diag::escape_control(&e.to_string())
        ),
        DiagnosticsArg::Json => writeln!(
            stderr,
            "{}",
            serde_json::json!({"severity": "fatal", "code": fatal_code(e), "exit": e.exit_code(), "message": e.to_string()})
        ),
    };
    ExitCode::from(e.exit_code() as u8)
}

/// `watch` and, with `serve = Some((host, port, open))`, `serve`: the session's builds in a
/// loop until Ctrl-C, which ends it with exit 0 after the build in progress.
fn live(
    cli: &Cli,
    mut opts: publish::Options,
    serve: Option<(std::net::IpAddr, Option<u16>, bool)>,
) -> ExitCode {
    opts.check_only = false;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Ctrl-C (and a polite kill) only set the flag: the loop ends after the build in
    // progress, whose outputs are renamed into place whole, so nothing half-written remains.
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, stop.clone()) {
            return fail(cli, &Error::Internal(format!("cannot handle Ctrl-C: {e}")));
        }
    }
    let mut session = publish::Session::new(opts);
    let mut server = None;
    if let Some((host, port, open)) = serve {
        let (http, bound) = match publish::serve::bind(host, port) {
            Ok(b) => b,
            Err(e) => return fail(cli, &e),
        };
        if port.is_none() && bound != publish::serve::DEFAULT_PORT {
            eprintln!(
                "port {} is taken; using {bound} instead",
                publish::serve::DEFAULT_PORT
            );
        }
        let out = session.output_dir();
        if let Err(e) = std::fs::create_dir_all(&out) {
            return fail(
                cli,
                &Error::Io {
                    path: out.display().to_string(),
                    message: e.to_string(),
                },
            );
        }
        let srv = publish::serve::Server::new(out);
        let http = std::sync::Arc::new(http);
        {
            let srv = srv.clone();
            let http = http.clone();
            std::thread::spawn(move || srv.run(http));
        }
        let shown = match host {
            std::net::IpAddr::V6(h) => format!("[{h}]"),
            std::net::IpAddr::V4(h) => h.to_string(),
        };
        let url = format!("http://{shown}:{bound}/");
        eprintln!("serving {url}  (site: {url}html/, PDF: {url}__publish/pdf; Ctrl-C to stop)");
        if !host.is_loopback() {
            eprintln!(
                "warning: listening on {host}: anyone who can reach this machine can read the book"
            );
        }
        if open {
            open_browser(&url);
        }
        server = Some((srv, http));
    }
    let result = publish::watch::watch(&mut session, &stop, &mut |r| {
        let mut stderr = std::io::stderr().lock();
        for d in &r.outcome.diagnostics {
            let _ = match cli.diagnostics {
                DiagnosticsArg::Human => writeln!(stderr, "{d}"),
                DiagnosticsArg::Json => writeln!(stderr, "{}", d.to_json()),
            };
        }
        let _ = writeln!(stderr, "{}", publish::watch::summary(r));
        if cli.timings {
            for (phase, t) in &r.outcome.timings {
                let _ = writeln!(stderr, "timing: {phase}: {:.3} s", t.as_secs_f64());
            }
        }
        if let Some((srv, _)) = &server {
            let pdf = r
                .outcome
                .written
                .iter()
                .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
                .find(|n| n.ends_with(".pdf"));
            srv.announce(pdf);
        }
    });
    if let Some((_, http)) = &server {
        http.unblock();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(cli, &e),
    }
}

/// Open `url` in the default browser; a failure is only a message.
fn open_browser(url: &str) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    if std::process::Command::new(program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_err()
    {
        eprintln!("cannot open a browser ({program}); open {url} yourself");
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

    /// No display, only what the user must know now (e.g. that the build waits for another
    /// one), one line on stderr: for pipes and CI logs.
    pub struct Notices {
        /// Print a JSON object (`--diagnostics json`) rather than a line of text.
        pub json: bool,
    }

    impl publish::Progress for Notices {
        fn start(&self, _: &str, _: Option<u64>) {}
        fn step(&self, _: &str) {}
        fn finish(&self, _: &str, _: bool) {}
        fn waiting(&self, message: &str) {
            if self.json {
                eprintln!(
                    "{}",
                    serde_json::json!({"severity": "info", "code": "waiting", "message": message})
                );
            } else {
                eprintln!("publish: {message}");
            }
        }
    }

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

        fn waiting(&self, message: &str) {
            let _ = self.multi.println(format!("publish: {message}"));
        }
    }
}
