//! `publish`: a series of Arabic article parts → one document model → PDF, EPUB and HTML.
//!
//! The pipeline lives here: read every source (in parallel), assemble the series into a
//! [`model::Book`], then run the writers (in parallel) and put their outputs in place
//! atomically. Parallelism lives only in this module.

pub mod barcode;
pub mod bidi;
pub mod config;
pub mod diag;
pub mod error;
pub mod model;
pub mod read;
pub mod theme;
pub mod write;

pub use error::Error;

use config::Config;
use diag::Diagnostic;
use model::Book;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use theme::Theme;
use write::OutputFormat;

/// What to do, resolved from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// The book folder (default: the current directory).
    pub book_dir: PathBuf,
    /// Sources folder (default: `<book>/sources`).
    pub sources: Option<PathBuf>,
    /// Output folder (default: `<book>/output`).
    pub output: Option<PathBuf>,
    /// Config file (default: `<book>/publish.toml`, optional).
    pub config: Option<PathBuf>,
    /// Theme name, overriding the config.
    pub theme: Option<String>,
    /// Formats to write, in order; empty with `check`.
    pub formats: Vec<OutputFormat>,
    /// Worker threads (default: one per core).
    pub jobs: Option<usize>,
    /// Only read and lint; write nothing.
    pub check_only: bool,
    /// With `check_only`: also typeset and preflight the print edition (`check --print`).
    pub check_print: bool,
}

/// The result of a run: every diagnostic (sorted) and the outputs written, or the fatal error.
#[derive(Debug)]
pub struct Outcome {
    /// Diagnostics, sorted by file and line, each once.
    pub diagnostics: Vec<Diagnostic>,
    /// The book model, when the sources could be assembled and only checked (`check`, `--emit`).
    pub book: Option<Book>,
    /// Paths written, in format order.
    pub written: Vec<PathBuf>,
    /// `Err` when the run failed.
    pub result: Result<(), Error>,
    /// Wall time of each phase (`read`, `assemble`, `pdf`, `epub`, `html`…), in order.
    pub timings: Vec<(String, Duration)>,
    /// Figures for the log from the writers (e.g. the print edition's pages and spine width).
    pub notes: Vec<String>,
}

/// Receives progress events, e.g. to draw a progress display. Called from worker threads.
pub trait Progress: Sync {
    /// A phase (`read`, `pdf`, `epub`, `html`) started; `total` is its number of steps if known.
    fn start(&self, phase: &str, total: Option<u64>);
    /// One step of a phase is done (e.g. one source file read).
    fn step(&self, phase: &str);
    /// A phase finished.
    fn finish(&self, phase: &str, ok: bool);
}

/// A [`Progress`] that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: Option<u64>) {}
    fn step(&self, _: &str) {}
    fn finish(&self, _: &str, _: bool) {}
}

/// Everything a writer needs: the model and the presentation settings, never the sources.
#[derive(Debug, Clone)]
pub struct Context {
    /// The assembled book.
    pub book: Book,
    /// Parsed configuration.
    pub config: Config,
    /// The theme (template, CSS, fonts).
    pub theme: Theme,
    /// The book folder, for files the config names (e.g. `[epub] cover`); writers read nothing
    /// outside it.
    pub book_dir: PathBuf,
}

/// Run the whole pipeline. Never panics on bad input: problems come back as diagnostics.
pub fn run(opts: &Options) -> Outcome {
    run_with(opts, &NoProgress)
}

/// [`run`], reporting progress to `progress`.
pub fn run_with(opts: &Options, progress: &dyn Progress) -> Outcome {
    let mut outcome = Outcome {
        diagnostics: Vec::new(),
        book: None,
        written: Vec::new(),
        result: Ok(()),
        timings: Vec::new(),
        notes: Vec::new(),
    };
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .build()
    {
        Ok(p) => p,
        Err(e) => {
            outcome.result = Err(Error::Internal(format!("cannot start worker threads: {e}")));
            return outcome;
        }
    };
    pool.install(|| run_in_pool(opts, progress, &mut outcome));
    diag::sort_dedup(&mut outcome.diagnostics);
    outcome
}

fn run_in_pool(opts: &Options, progress: &dyn Progress, outcome: &mut Outcome) {
    let started = Instant::now();
    let ctx = match load_with(opts, progress, &mut outcome.diagnostics) {
        Ok(ctx) => ctx,
        Err(e) => {
            outcome.result = Err(e);
            return;
        }
    };
    outcome
        .timings
        .push(("read and assemble".into(), started.elapsed()));
    // Only `check` (and so `--emit model`) hands the model back: a build does not copy it.
    if opts.check_only {
        outcome.book = Some(ctx.book.clone());
    }
    let errors = outcome.diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        outcome.result = Err(Error::Sources(errors));
        return;
    }
    if opts.check_only {
        // `check` also runs the writers' own checks of the model (e.g. missing glyphs).
        let mut diags: Vec<Diagnostic> = opts
            .formats
            .par_iter()
            .flat_map(|f| write::check(*f, &ctx))
            .collect();
        if opts.check_print && errors_in(&diags) == 0 {
            let (print_diags, notes) = write::pdf::check_print(&ctx);
            diags.extend(print_diags);
            outcome.notes.extend(notes);
        }
        let errors = errors_in(&diags);
        outcome.diagnostics.extend(diags);
        if errors > 0 {
            outcome.result = Err(Error::Sources(errors));
        }
        return;
    }
    let out_dir = opts
        .output
        .clone()
        .unwrap_or_else(|| opts.book_dir.join("output"));
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        outcome.result = Err(Error::Io {
            path: out_dir.display().to_string(),
            message: e.to_string(),
        });
        return;
    }
    write::clean_stale(&out_dir);
    // Every format runs; each result is collected so one failure does not hide another.
    let results: Vec<(OutputFormat, write::Written, Duration)> = opts
        .formats
        .par_iter()
        .map(|&f| {
            let t = Instant::now();
            progress.start(f.name(), None);
            let w = write::write(f, &ctx, &out_dir);
            progress.finish(f.name(), w.path.is_some());
            (f, w, t.elapsed())
        })
        .collect();
    let mut failed = 0;
    for (f, w, elapsed) in results {
        outcome.timings.push((f.name().to_owned(), elapsed));
        for (phase, t) in &w.timings {
            outcome.timings.push((format!("{}: {phase}", f.name()), *t));
        }
        outcome.diagnostics.extend(w.diagnostics);
        outcome.notes.extend(w.notes);
        match w.path {
            Some(p) => {
                outcome.written.push(p);
                outcome.written.extend(w.more);
            }
            None => failed += 1,
        }
    }
    if failed > 0 {
        // A writer that failed because of the sources (e.g. a character no theme font has)
        // is an error in the sources, not in writing the output.
        let sources: std::collections::BTreeSet<&str> = ctx
            .book
            .parts
            .iter()
            .map(|p| p.source.path.as_str())
            .collect();
        let source_errors = outcome
            .diagnostics
            .iter()
            .filter(|d| d.is_error() && d.file.as_deref().is_some_and(|f| sources.contains(f)))
            .count();
        outcome.result = Err(if source_errors > 0 {
            Error::Sources(source_errors)
        } else {
            Error::Output(failed)
        });
    }
}

fn errors_in(diags: &[Diagnostic]) -> usize {
    diags.iter().filter(|d| d.is_error()).count()
}

/// Read the config, theme and sources and assemble the book.
pub fn load(opts: &Options, diags: &mut Vec<Diagnostic>) -> Result<Context, Error> {
    load_with(opts, &NoProgress, diags)
}

fn load_with(
    opts: &Options,
    progress: &dyn Progress,
    diags: &mut Vec<Diagnostic>,
) -> Result<Context, Error> {
    let book_dir = &opts.book_dir;
    if !book_dir.is_dir() {
        return Err(Error::Usage(format!(
            "book folder {} does not exist",
            book_dir.display()
        )));
    }
    let (config_path, required) = match &opts.config {
        Some(p) => (p.clone(), true),
        None => (book_dir.join("publish.toml"), false),
    };
    let config = Config::load(&config_path, required)?;
    let theme_name = opts
        .theme
        .clone()
        .or_else(|| config.theme.clone())
        .unwrap_or_else(|| "default".to_owned());
    let theme = Theme::load(book_dir, &theme_name)?;
    let sources_dir = opts
        .sources
        .clone()
        .unwrap_or_else(|| book_dir.join("sources"));
    let files = read::list_sources(&sources_dir).map_err(|e| {
        Error::Usage(format!(
            "cannot read the sources folder {}: {e}",
            sources_dir.display()
        ))
    })?;
    if files.is_empty() {
        return Err(Error::Usage(format!(
            "no sources in {}: put the parts there as .txt or .md files",
            sources_dir.display()
        )));
    }
    let junk = &theme.config.junk;
    progress.start("read", Some(files.len() as u64));
    let results: Vec<(read::ReadResult, std::time::SystemTime)> = files
        .par_iter()
        .map(|(path, format)| {
            let display = display_path(path, book_dir);
            match std::fs::read(path) {
                Ok(bytes) => {
                    let mtime = std::fs::metadata(path)
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::UNIX_EPOCH);
                    (read::read_bytes(&bytes, &display, *format, junk), mtime)
                }
                Err(e) => (
                    read::ReadResult {
                        part: None,
                        diagnostics: vec![
                            Diagnostic::error("io", format!("cannot read the file: {e}"))
                                .file(display),
                        ],
                    },
                    std::time::UNIX_EPOCH,
                ),
            }
        })
        .inspect(|_| progress.step("read"))
        .collect();
    progress.finish("read", true);
    let newest = results
        .iter()
        .map(|(_, t)| *t)
        .max()
        .unwrap_or(std::time::UNIX_EPOCH);
    let mut parts = Vec::new();
    for (r, _) in results {
        diags.extend(r.diagnostics);
        parts.extend(r.part);
    }
    let date = build_date(&config, newest)?;
    let (book, series_diags) = read::series::assemble(parts, &config.book, date);
    diags.extend(series_diags);
    Ok(Context {
        book,
        config,
        theme,
        book_dir: book_dir.clone(),
    })
}

/// The build date: `[book] date` in the config, else `SOURCE_DATE_EPOCH`, else the newest
/// source file's modification time — never the clock, so rebuilds are identical.
fn build_date(
    config: &Config,
    newest: std::time::SystemTime,
) -> Result<read::series::BuildDate, Error> {
    if let Some(date) = &config.book.date {
        let ts = parse_date(date).ok_or_else(|| Error::Config {
            file: "publish.toml".into(),
            line: 0,
            column: 0,
            message: format!("[book] date `{date}` is not a date of the form YYYY-MM-DD"),
        })?;
        return Ok(read::series::BuildDate {
            date: date.clone(),
            timestamp: ts,
        });
    }
    let ts = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v.trim().parse::<i64>().map_err(|_| {
            Error::Usage(format!(
                "SOURCE_DATE_EPOCH must be a number of seconds, not `{v}`"
            ))
        })?,
        Err(_) => newest
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
    };
    Ok(read::series::BuildDate {
        date: format_date(ts),
        timestamp: ts,
    })
}

/// `YYYY-MM-DD` → seconds since the epoch at midnight UTC.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let d: i64 = it.next()?.parse().ok()?;
    if it.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) || s.len() != 10 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146097 + doe - 719468) * 86400)
}

/// Seconds since the epoch → `YYYY-MM-DD` (UTC).
pub fn format_date(ts: i64) -> String {
    let z = ts.div_euclid(86400) + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}")
}

/// A path as shown in diagnostics: relative to the book folder when inside it, `/`-separated.
pub fn display_path(path: &Path, book_dir: &Path) -> String {
    let rel = path.strip_prefix(book_dir).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for (s, ts) in [
            ("1970-01-01", 0),
            ("2024-02-29", 1709164800),
            ("2026-11-24", 1795478400),
        ] {
            assert_eq!(parse_date(s), Some(ts), "{s}");
            assert_eq!(format_date(ts), s);
        }
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(parse_date("24-1-1"), None);
    }
}
