//! The pipeline as a long-lived object: a [`Session`] holds the build state (settings, parsed
//! parts keyed by their content hash) so that `publish`, `check`, `watch` and `serve` all run
//! through one code path, and a rebuild after an edit re-reads and re-parses only what changed.

use crate::config::Config;
use crate::diag::{self, Diagnostic};
use crate::read;
use crate::theme::Theme;
use crate::write::{self, OutputFormat};
use crate::{Context, Error, NoProgress, Options, Outcome, Progress, display_path, safe_fs};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Builds after which an unused entry of typst's layout cache (and of the writers' memo) is
/// evicted. `typst watch` keeps 10; 3 keeps a watch's memory within 1.3× of its first rebuild
/// (measured by `bench/watch.py`: the PDF grew 1.71× over 20 edits with 10, 1.25× with 3),
/// and a part that did not change is used by every build, so it is never evicted.
pub const EVICT_AGE: usize = 3;

/// One source file as last read: what identifies its content, and the reader's result.
#[derive(Debug, Clone)]
struct CachedSource {
    /// Size and modification time when read: an unchanged stat lets a rebuild skip reading.
    len: u64,
    mtime: SystemTime,
    /// SHA-256 of the bytes: the key that decides whether the file must be parsed again.
    sha256: [u8; 32],
    /// The reader's result (part and diagnostics), reused while the content is the same.
    result: read::ReadResult,
}

/// The config and theme of the last build, reloaded only when their files change.
#[derive(Debug, Clone)]
struct Settings {
    config: Config,
    theme: Theme,
}

/// What one [`Session::build`] re-did, for the watch line and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reuse {
    /// Source files read from disk in this build.
    pub read: usize,
    /// Source files parsed in this build (read files whose content hash was new).
    pub parsed: usize,
    /// Source files reused without reading them.
    pub reused: usize,
    /// Whether the config and theme were (re)loaded.
    pub settings_loaded: bool,
}

/// The pipeline with its state. `Session::new(opts)` then [`Session::build`] once for a
/// one-shot build, or again after each change for `watch` and `serve`.
pub struct Session {
    opts: Options,
    pool: Option<rayon::ThreadPool>,
    settings: Option<Settings>,
    sources: BTreeMap<PathBuf, CachedSource>,
    reuse: Reuse,
}

/// A session ends with the folders its builds replaced removed (see
/// [`write::finish_removals`]).
impl Drop for Session {
    fn drop(&mut self) {
        write::finish_removals();
    }
}

impl Session {
    /// A session for `opts`; nothing is read until the first [`Session::build`].
    pub fn new(opts: Options) -> Session {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.jobs.unwrap_or(0))
            .build()
            .ok();
        Session {
            opts,
            pool,
            settings: None,
            sources: BTreeMap::new(),
            reuse: Reuse::default(),
        }
    }

    /// The options this session builds with.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// The output folder (`--output`, else `<book>/output`).
    pub fn output_dir(&self) -> PathBuf {
        self.opts
            .output
            .clone()
            .unwrap_or_else(|| self.opts.book_dir.join("output"))
    }

    /// The sources folder (`--sources`, else `<book>/sources`).
    pub fn sources_dir(&self) -> PathBuf {
        self.opts
            .sources
            .clone()
            .unwrap_or_else(|| self.opts.book_dir.join("sources"))
    }

    /// The config file (`--config`, else `<book>/publish.toml`).
    pub fn config_path(&self) -> PathBuf {
        self.opts
            .config
            .clone()
            .unwrap_or_else(|| self.opts.book_dir.join("publish.toml"))
    }

    /// The folder of the book's own themes (`<book>/themes`).
    pub fn themes_dir(&self) -> PathBuf {
        self.opts.book_dir.join("themes")
    }

    /// What the last build re-read, re-parsed and reused.
    pub fn reuse(&self) -> &Reuse {
        &self.reuse
    }

    /// Build (or check) the book. `changed` lists the paths known to have changed since the
    /// last build (from file events); it may be empty. Every other source is still checked by
    /// its size and modification time, and a file that is read again is parsed again only when
    /// its content hash is new, so a wrong or empty list never yields a stale book.
    pub fn build(&mut self, changed: &[PathBuf]) -> Outcome {
        self.build_with(changed, &NoProgress)
    }

    /// [`Session::build`], reporting progress to `progress`.
    pub fn build_with(&mut self, changed: &[PathBuf], progress: &dyn Progress) -> Outcome {
        // The folder the last build replaced is gone before this one writes.
        write::finish_removals();
        let mut outcome = Outcome {
            diagnostics: Vec::new(),
            book: None,
            written: Vec::new(),
            result: Ok(()),
            timings: Vec::new(),
            notes: Vec::new(),
        };
        if let Some(jobs) = self.opts.jobs
            && !(1..=crate::MAX_JOBS).contains(&jobs)
        {
            outcome.result = Err(Error::Usage(format!(
                "--jobs {jobs}: use a number of worker threads from 1 to {}",
                crate::MAX_JOBS
            )));
            return outcome;
        }
        let Some(pool) = self.pool.take() else {
            outcome.result = Err(Error::Internal("cannot start worker threads".into()));
            return outcome;
        };
        pool.install(|| self.build_in_pool(changed, progress, &mut outcome));
        self.pool = Some(pool);
        // typst's memoised layouts survive between builds (an unchanged paragraph is not laid
        // out again); entries unused for EVICT_AGE builds are dropped so memory stays bounded.
        if self.opts.formats.contains(&OutputFormat::Pdf)
            || self.opts.formats.contains(&OutputFormat::Print)
        {
            typst::comemo::evict(EVICT_AGE);
        }
        // The writers' own memo of rendered documents (on in `watch` and `serve`) likewise.
        if write::memo::enabled() {
            write::memo::evict(EVICT_AGE as u64);
        }
        diag::sort_dedup(&mut outcome.diagnostics);
        outcome
    }

    fn build_in_pool(
        &mut self,
        changed: &[PathBuf],
        progress: &dyn Progress,
        outcome: &mut Outcome,
    ) {
        let started = Instant::now();
        let ctx = match self.load(changed, progress, &mut outcome.diagnostics) {
            Ok(ctx) => ctx,
            Err(e) => {
                outcome.result = Err(e);
                return;
            }
        };
        outcome
            .timings
            .push(("read and assemble".into(), started.elapsed()));
        let opts = &self.opts;
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
            // `check --print` typesets the print edition and preflights it, writing nothing.
            if opts.check_print && !diags.iter().any(|d| d.is_error()) {
                let (print_diags, notes) = write::pdf::check_print(&ctx);
                diags.extend(print_diags);
                outcome.notes.extend(notes);
            }
            let errors = diags.iter().filter(|d| d.is_error()).count();
            outcome.diagnostics.extend(diags);
            if errors > 0 {
                outcome.result = Err(Error::Sources(errors));
            }
            return;
        }
        let out_dir = match crate::output_dir(opts) {
            Ok(d) => d,
            Err(e) => {
                outcome.result = Err(e);
                return;
            }
        };
        // One build at a time writes here: a second one (an editor's watch and a CI job) waits.
        let _lock = match write::lock_output(&out_dir, &|m| progress.waiting(m)) {
            Ok(lock) => lock,
            Err(e) => {
                outcome.result = Err(Error::Io {
                    path: out_dir.display().to_string(),
                    message: e.to_string(),
                });
                return;
            }
        };
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

    /// Whether a changed path is the config or inside the book's themes folder.
    fn touches_settings(&self, changed: &[PathBuf]) -> bool {
        let config = self.config_path();
        let themes = self.themes_dir();
        changed
            .iter()
            .any(|p| p == &config || p.starts_with(&themes))
    }

    /// Read the config, theme and sources (reusing what did not change) and assemble the book.
    pub fn load(
        &mut self,
        changed: &[PathBuf],
        progress: &dyn Progress,
        diags: &mut Vec<Diagnostic>,
    ) -> Result<Context, Error> {
        self.reuse = Reuse::default();
        let book_dir = self.opts.book_dir.clone();
        if !book_dir.is_dir() {
            return Err(Error::Usage(format!(
                "book folder {} does not exist",
                book_dir.display()
            )));
        }
        let book_root = safe_fs::root(&book_dir).map_err(|e| Error::Io {
            path: diag::escape_control(&book_dir.display().to_string()),
            message: e.to_string(),
        })?;
        if self.settings.is_none() || self.touches_settings(changed) {
            // Forget the settings first: a broken config must not leave the old one in use.
            self.settings = None;
            // A config named on the command line may be anywhere; the book's own must be in
            // the book.
            let (config_path, required, config_roots, config_shown) = match &self.opts.config {
                Some(p) => (
                    p.clone(),
                    true,
                    Vec::new(),
                    diag::escape_control(&p.display().to_string()),
                ),
                None => (
                    book_dir.join("publish.toml"),
                    false,
                    vec![book_root.clone()],
                    "publish.toml".to_owned(),
                ),
            };
            let config = Config::load(&config_path, required, &config_roots, &config_shown)?;
            crate::check_cover(&config, &book_root, &book_dir, &config_shown)?;
            let theme_name = match &self.opts.theme {
                Some(name) => {
                    crate::config::check_plain_name(name).map_err(|why| {
                        Error::Usage(format!("--theme `{}` {why}", diag::escape_control(name)))
                    })?;
                    name.clone()
                }
                None => config.theme.clone().unwrap_or_else(|| "default".to_owned()),
            };
            let theme = Theme::load(&book_dir, &theme_name)?;
            // The readers depend on the theme's junk patterns: a new theme re-parses every part.
            self.sources.clear();
            self.settings = Some(Settings { config, theme });
            self.reuse.settings_loaded = true;
        }
        let Settings { config, theme } = self.settings.clone().expect("settings loaded above");
        let sources_dir = self.sources_dir();
        let sources_root = safe_fs::root(&sources_dir).map_err(|e| {
            Error::Usage(format!(
                "cannot read the sources folder {}: {e}",
                diag::escape_control(&sources_dir.display().to_string())
            ))
        })?;
        // `--sources DIR` is the user's explicit choice; the default `sources/` must really be
        // in the book (not a link to /etc).
        let source_roots = if self.opts.sources.is_some() {
            vec![book_root.clone(), sources_root.clone()]
        } else if sources_root.starts_with(&book_root) {
            vec![book_root.clone()]
        } else {
            return Err(Error::Usage(format!(
                "the sources folder {} leads outside the book folder (a symbolic link?); remove the link or pass --sources DIR",
                diag::escape_control(&sources_dir.display().to_string())
            )));
        };
        // Sources are named relative to the book folder, or to the sources folder when it lies
        // elsewhere: never an absolute path, so builds from different folders are identical.
        let sources_shown = sources_root
            .strip_prefix(&book_root)
            .ok()
            .map(Path::to_path_buf);
        let files = read::list_sources(&sources_dir).map_err(|e| {
            Error::Usage(format!(
                "cannot read the sources folder {}: {e}",
                diag::escape_control(&sources_dir.display().to_string())
            ))
        })?;
        if files.is_empty() {
            return Err(Error::Usage(format!(
                "no sources in {}: put the parts there as .txt or .md files",
                sources_dir.display()
            )));
        }
        // Forget files that are gone, so a deleted part leaves the book.
        self.sources
            .retain(|p, _| files.binary_search_by(|(f, _)| f.cmp(p)).is_ok());
        let junk = &theme.config.junk;
        let cache = &self.sources;
        progress.start("read", Some(files.len() as u64));
        let results: Vec<(PathBuf, Option<CachedSource>, bool, bool)> = files
            .par_iter()
            .map(|(path, format)| {
                let meta = std::fs::metadata(path).ok();
                let len = meta.as_ref().map(|m| m.len()).unwrap_or(0);
                let mtime = meta
                    .as_ref()
                    .and_then(|m| m.modified().ok())
                    .unwrap_or(UNIX_EPOCH);
                let cached = cache.get(path);
                if let Some(c) = cached
                    && c.len == len
                    && c.mtime == mtime
                    && !changed.contains(path)
                {
                    return (path.clone(), None, false, false);
                }
                let name = path.file_name().unwrap_or_default();
                let display = match &sources_shown {
                    Some(rel) => display_path(&rel.join(name), Path::new("")),
                    None => name.to_string_lossy().into_owned(),
                };
                let refuse = |code: &'static str, message: String, hint: &str| {
                    // Not cached: the next build tries again.
                    let result = read::ReadResult {
                        part: None,
                        diagnostics: vec![
                            Diagnostic::error(code, message)
                                .file(display.clone())
                                .hint(hint),
                        ],
                    };
                    let entry = CachedSource {
                        len: u64::MAX,
                        mtime: UNIX_EPOCH,
                        sha256: [0; 32],
                        result,
                    };
                    (path.clone(), Some(entry), true, true)
                };
                // A control character in a file name would reach every colophon and log.
                if display.chars().any(char::is_control) {
                    return refuse(
                        "file-name",
                        "the file name holds a control character".into(),
                        "rename the file to a name of printable characters",
                    );
                }
                match safe_fs::read_file(path, &source_roots, safe_fs::SOURCE_MAX_BYTES) {
                    Ok(bytes) => {
                        let sha256: [u8; 32] = Sha256::digest(&bytes).into();
                        if let Some(c) = cached
                            && c.sha256 == sha256
                        {
                            let mut c = c.clone();
                            c.len = len;
                            c.mtime = mtime;
                            return (path.clone(), Some(c), true, false);
                        }
                        let result = read::read_bytes(&bytes, &display, *format, junk);
                        let entry = CachedSource {
                            len,
                            mtime,
                            sha256,
                            result,
                        };
                        (path.clone(), Some(entry), true, true)
                    }
                    Err(why) => refuse(why.code(), format!("the file {why}"), why.hint()),
                }
            })
            .inspect(|_| progress.step("read"))
            .collect();
        progress.finish("read", true);
        for (path, entry, was_read, was_parsed) in results {
            self.reuse.read += usize::from(was_read);
            self.reuse.parsed += usize::from(was_parsed);
            self.reuse.reused += usize::from(!was_read);
            if let Some(entry) = entry {
                self.sources.insert(path, entry);
            }
        }
        let mut newest = UNIX_EPOCH;
        let mut parts = Vec::new();
        for (path, _) in &files {
            let Some(c) = self.sources.get(path) else {
                continue;
            };
            newest = newest.max(c.mtime);
            diags.extend(c.result.diagnostics.iter().cloned());
            parts.extend(c.result.part.iter().cloned());
        }
        let date = crate::build_date(&config, newest)?;
        let (mut book, series_diags) = read::series::assemble(parts, &config.book, date);
        diags.extend(series_diags);
        diags.extend(crate::assets::resolve(&mut book, &book_dir, &config.images));
        Ok(Context {
            book,
            config,
            theme,
            book_dir,
        })
    }
}
