//! `publish watch`: build once, then rebuild through the same [`Session`] on every change to
//! the sources, the config or the book's themes. File events come from `notify` through its
//! debouncer, so an editor's save burst (temporary file, rename, swap file) is one rebuild;
//! the output folder is never watched, and a failed build keeps the last good outputs.

use crate::{Error, Outcome, Session, read};
use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the debouncer waits for a burst of events to end before reporting it.
pub const DEBOUNCE: Duration = Duration::from_millis(50);
/// How often the loop looks at the stop flag while no event comes.
const POLL: Duration = Duration::from_millis(100);

/// One build of the watch loop, handed to the caller to print and (in `serve`) to announce.
#[derive(Debug)]
pub struct Rebuild<'a> {
    /// The files whose change caused this build, relative to the book folder; empty for the
    /// first build.
    pub changed: Vec<String>,
    /// The build's result.
    pub outcome: &'a Outcome,
    /// From the end of the event burst to the outputs in place.
    pub elapsed: Duration,
}

/// Which paths the watch loop reacts to.
struct Filter {
    sources: PathBuf,
    config: PathBuf,
    themes: PathBuf,
    output: PathBuf,
}

impl Filter {
    /// Whether a changed path can affect the book: a possible part in the sources folder (not
    /// an editor's temporary or backup file), the config, or a file of the book's themes.
    fn relevant(&self, path: &Path) -> bool {
        if path.starts_with(&self.output) {
            return false;
        }
        if path == self.config || path == self.sources {
            return true;
        }
        let name = path.file_name().and_then(|n| n.to_str());
        if path.starts_with(&self.themes) {
            return name.is_some_and(|n| !read::is_editor_junk(n));
        }
        path.parent() == Some(self.sources.as_path())
            && name.is_some_and(|n| !read::is_editor_junk(n))
            && read::Format::from_path(path).is_some()
    }
}

/// An absolute form of `p` without touching the file system (notify reports absolute paths).
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Build once, then rebuild on each change until `stop` is set (by Ctrl-C). `on_build` is
/// called after every build. Returns `Err` only when watching cannot start.
pub fn watch(
    session: &mut Session,
    stop: &Arc<AtomicBool>,
    on_build: &mut dyn FnMut(&Rebuild<'_>),
) -> Result<(), Error> {
    // Rendered documents are kept between rebuilds: an edit re-renders only what it touched.
    crate::write::memo::enable();
    crate::write::defer_removals();
    let book_dir = absolute(&session.options().book_dir);
    let filter = Filter {
        sources: absolute(&session.sources_dir()),
        config: absolute(&session.config_path()),
        themes: absolute(&session.themes_dir()),
        output: absolute(&session.output_dir()),
    };
    let (tx, rx) = mpsc::channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(DEBOUNCE, None, tx)
        .map_err(|e| Error::Internal(format!("cannot watch for file changes: {e}")))?;
    let watch_err = |path: &Path, e: notify::Error| Error::Io {
        path: path.display().to_string(),
        message: format!("cannot watch: {e}"),
    };
    debouncer
        .watch(&filter.sources, RecursiveMode::NonRecursive)
        .map_err(|e| watch_err(&filter.sources, e))?;
    // The config's folder, not the file: editors replace the file by a rename, which would
    // end a watch on the file itself. Non-recursive, so `output/` below it is not watched.
    if let Some(dir) = filter.config.parent() {
        debouncer
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|e| watch_err(dir, e))?;
    }
    if filter.themes.is_dir() {
        debouncer
            .watch(&filter.themes, RecursiveMode::Recursive)
            .map_err(|e| watch_err(&filter.themes, e))?;
    }

    let started = Instant::now();
    let outcome = session.build(&[]);
    on_build(&Rebuild {
        changed: Vec::new(),
        outcome: &outcome,
        elapsed: started.elapsed(),
    });
    runaway(&outcome)?;

    while !stop.load(Ordering::SeqCst) {
        let first = match rx.recv_timeout(POLL) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        // Everything already queued joins this rebuild: one build per burst.
        let mut changed: Vec<PathBuf> = Vec::new();
        for result in std::iter::once(first).chain(rx.try_iter()) {
            let Ok(events) = result else { continue };
            for event in events {
                if event.kind.is_access() {
                    continue;
                }
                changed.extend(event.paths.iter().filter(|p| filter.relevant(p)).cloned());
            }
        }
        changed.sort();
        changed.dedup();
        if changed.is_empty() {
            continue;
        }
        let started = Instant::now();
        let outcome = session.build(&changed);
        on_build(&Rebuild {
            changed: changed
                .iter()
                .map(|p| crate::display_path(p, &book_dir))
                .collect(),
            outcome: &outcome,
            elapsed: started.elapsed(),
        });
        runaway(&outcome)?;
    }
    // No debris: the folder the last rebuild replaced is gone before the watch ends.
    crate::write::finish_removals();
    Ok(())
}

/// A typst run abandoned for its limits (a runaway template) keeps its thread busy until the
/// process ends: a long-lived watch cannot go on beside it, so it ends with the error.
fn runaway(outcome: &crate::Outcome) -> Result<(), Error> {
    match outcome
        .diagnostics
        .iter()
        .find(|d| d.code == crate::write::pdf::guard::LIMIT_CODE)
    {
        Some(d) => Err(Error::Io {
            path: d.file.clone().unwrap_or_default(),
            message: "typst went over its limits and cannot be stopped inside this process, \
                      so watching ends; fix the template and start again"
                .into(),
        }),
        None => Ok(()),
    }
}

/// The line printed after each rebuild: what changed, the formats, the time, the counts.
pub fn summary(r: &Rebuild<'_>) -> String {
    let errors = r
        .outcome
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .count();
    let warnings = r.outcome.diagnostics.len() - errors;
    let what = match r.changed.as_slice() {
        [] => "first build:".to_owned(),
        [one] => format!("{one} changed:"),
        [first, rest @ ..] => format!("{first} and {} more changed:", rest.len()),
    };
    let formats: Vec<String> = r
        .outcome
        .written
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let result = match &r.outcome.result {
        Ok(()) => format!("rebuilt {}", formats.join(", ")),
        Err(e) => format!("failed ({e}); the last good outputs are kept"),
    };
    format!(
        "{what} {result} in {:.3} s — {errors} error{}, {warnings} warning{}",
        r.elapsed.as_secs_f64(),
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
    )
}
