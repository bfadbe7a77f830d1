//! `publish`: a series of Arabic article parts → one document model → PDF, EPUB and HTML.
//!
//! The pipeline: read every source (in parallel), assemble the series into a [`model::Book`],
//! then run the writers (in parallel) and put their outputs in place atomically. It lives in
//! [`session`] as a long-lived [`Session`]; [`run`] is one build of a fresh session.

pub mod assets;
pub mod barcode;
pub mod bidi;
pub mod config;
pub mod diag;
pub mod error;
pub mod model;
pub mod new;
pub mod read;
pub mod safe_fs;
pub mod serve;
pub mod session;
pub mod theme;
pub mod watch;
pub mod write;

pub use error::Error;
pub use session::Session;

use config::Config;
use diag::Diagnostic;
use model::Book;
use std::path::{Path, PathBuf};
use std::time::Duration;
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
    /// The build waits for something outside it, e.g. another build writing to the same
    /// output folder; `message` says what (already escaped for a terminal).
    fn waiting(&self, message: &str) {
        let _ = message;
    }
}

/// Most worker threads `--jobs` accepts: more than any machine's cores is a typo, and each
/// thread costs a stack.
pub const MAX_JOBS: usize = 256;

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

/// Run the whole pipeline once: a fresh [`Session`] and one build. Never panics on bad input:
/// problems come back as diagnostics.
pub fn run(opts: &Options) -> Outcome {
    run_with(opts, &NoProgress)
}

/// [`run`], reporting progress to `progress`.
pub fn run_with(opts: &Options, progress: &dyn Progress) -> Outcome {
    Session::new(opts.clone()).build_with(&[], progress)
}

/// The output folder, created: `--output` as given (the user chose it), else `<book>/output`,
/// which must really be inside the book folder (not a link leading elsewhere).
pub(crate) fn output_dir(opts: &Options) -> Result<PathBuf, Error> {
    let io = |p: &Path, e: std::io::Error| Error::Io {
        path: diag::escape_control(&p.display().to_string()),
        message: e.to_string(),
    };
    if let Some(out) = &opts.output {
        std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
        return Ok(out.clone());
    }
    let out = opts.book_dir.join("output");
    std::fs::create_dir_all(&out).map_err(|e| io(&out, e))?;
    let book_root = safe_fs::root(&opts.book_dir).map_err(|e| io(&opts.book_dir, e))?;
    let real = safe_fs::root(&out).map_err(|e| io(&out, e))?;
    if !real.starts_with(&book_root) || real == book_root {
        return Err(Error::Usage(format!(
            "the output folder {} leads outside the book folder (a symbolic link?); remove the link or pass --output DIR",
            diag::escape_control(&out.display().to_string())
        )));
    }
    Ok(out)
}

/// Check `[epub] cover` before anything is built: a relative path to a regular PNG or JPEG
/// file inside the book folder, at most [`safe_fs::COVER_MAX_BYTES`]. A problem is a
/// configuration error (exit 2) naming the key.
pub(crate) fn check_cover(
    config: &Config,
    book_root: &Path,
    book_dir: &Path,
    file: &str,
) -> Result<(), Error> {
    let Some(name) = &config.epub.cover else {
        return Ok(());
    };
    let shown = diag::escape_control(name);
    let err = |message: String| Error::Config {
        file: file.to_owned(),
        line: 0,
        column: 0,
        message: format!(
            "[epub] cover `{shown}` {message} [epub-cover]; name a PNG or JPEG file inside the book folder, e.g. cover = \"images/cover.png\""
        ),
    };
    let rel = Path::new(name);
    if name.is_empty()
        || !rel.components().all(|c| {
            matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
    {
        return Err(err("must be a relative path inside the book folder".into()));
    }
    let bytes = safe_fs::read_file(
        &book_dir.join(rel),
        &[book_root.to_path_buf()],
        safe_fs::COVER_MAX_BYTES,
    )
    .map_err(|why| err(format!("{why} [{}]", why.code())))?;
    if !(bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xFF, 0xD8, 0xFF])) {
        return Err(err("is not a PNG or JPEG image".into()));
    }
    Ok(())
}

/// Read the config, theme and sources and assemble the book.
pub fn load(opts: &Options, diags: &mut Vec<Diagnostic>) -> Result<Context, Error> {
    Session::new(opts.clone()).load(&[], &NoProgress, diags)
}

/// The build date: `[book] date` in the config, else `SOURCE_DATE_EPOCH`, else the newest
/// source file's modification time — never the clock, so rebuilds are identical.
pub(crate) fn build_date(
    config: &Config,
    newest: std::time::SystemTime,
) -> Result<read::series::BuildDate, Error> {
    if let Some(date) = &config.book.date {
        // `Config::load` already refused a date that is not a real one; this is for configs
        // built in code.
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

/// `YYYY-MM-DD` (a real calendar date: no 2024-02-31) → seconds since the epoch at midnight
/// UTC.
pub fn parse_date(s: &str) -> Option<i64> {
    if s.len() != 10
        || !s.bytes().enumerate().all(|(i, b)| {
            matches!(i, 4 | 7) && b == b'-' || !matches!(i, 4 | 7) && b.is_ascii_digit()
        })
    {
        return None;
    }
    let y: i64 = s[0..4].parse().ok()?;
    let m: i64 = s[5..7].parse().ok()?;
    let d: i64 = s[8..10].parse().ok()?;
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days).contains(&d) {
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
        for bad in [
            "2024-02-31",
            "2023-02-29",
            "1900-02-29",
            "2024-04-31",
            "2024-00-10",
            "2024-01-00",
            "+024-01-01",
            "2024-1-011",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert!(parse_date("2000-02-29").is_some());
    }
}
