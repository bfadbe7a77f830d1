//! A resource guard around typst: the compile and the export run on a thread of their own,
//! watched for a time budget and a memory ceiling, and abandoned when they exceed either.
//!
//! typst has no limits of its own: a theme's `for` loop over a billion numbers runs until the
//! machine runs out of memory. A broken theme must not take a CI runner down, so the calling
//! thread waits with a deadline and polls the process's resident memory; when a limit is
//! crossed it returns an error naming the template and leaves the worker behind (it dies with
//! the process, which `publish build` ends promptly). Panics inside typst are caught on the
//! worker and reported as diagnostics; a panic hook keeps their raw text off stderr so
//! `--diagnostics json` stays valid JSON.

use crate::diag::Diagnostic;
use std::cell::Cell;
use std::sync::Once;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Default time budget for one typst compile or export, in seconds. A million-word book
/// typesets in well under a minute on two cores; ten minutes means a runaway template.
pub const TIME_LIMIT_SECS: u64 = 600;

/// Default ceiling on the process's resident memory while typst works, in MiB.
pub const MEMORY_LIMIT_MIB: u64 = 6 * 1024;

/// Environment variable overriding [`TIME_LIMIT_SECS`] (whole seconds).
pub const TIME_LIMIT_ENV: &str = "PUBLISH_TYPST_TIME_LIMIT";

/// Environment variable overriding [`MEMORY_LIMIT_MIB`] (MiB).
pub const MEMORY_LIMIT_ENV: &str = "PUBLISH_TYPST_MEMORY_LIMIT";

/// The code of the diagnostic for a typst run abandoned at a limit.
pub const LIMIT_CODE: &str = "typst-limit";

/// How often the waiting thread checks the clock and the memory.
const POLL: Duration = Duration::from_millis(50);

thread_local! {
    /// Set on guard workers: their panics are caught and reported, never printed.
    static QUIET_PANICS: Cell<bool> = const { Cell::new(false) };
}

/// Install (once) a panic hook that is silent on guard workers and defers to the previous
/// hook everywhere else.
fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

fn limit(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &u64| n > 0)
        .unwrap_or(default)
}

/// Resident memory of this process in bytes, if the platform says (Linux `/proc`).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Run `work` (a typst step called `what`, on behalf of `template`) on its own thread within
/// the time budget and memory ceiling. A panic becomes an error diagnostic; so does a limit.
pub fn run<T: Send + 'static>(
    what: &str,
    template: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Diagnostic> {
    install_hook();
    let time_limit = Duration::from_secs(limit(TIME_LIMIT_ENV, TIME_LIMIT_SECS));
    let memory_limit = limit(MEMORY_LIMIT_ENV, MEMORY_LIMIT_MIB).saturating_mul(1024 * 1024);
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(format!("typst {what}"))
        // typst recurses through the layout; the data it gets is depth-capped, the template
        // is not, and a deep stack costs only address space.
        .stack_size(256 * 1024 * 1024)
        .spawn(move || {
            QUIET_PANICS.with(|q| q.set(true));
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = tx.send(result);
        });
    if let Err(e) = spawned {
        return Err(Diagnostic::error(
            "pdf",
            format!("cannot start a thread for typst: {e}"),
        ));
    }
    let start = Instant::now();
    loop {
        match rx.recv_timeout(POLL) {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(panic)) => {
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                // One line: the message may hold newlines and control characters.
                let text: String = text
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(300)
                    .collect();
                return Err(Diagnostic::error(
                    "pdf",
                    format!("typst failed unexpectedly during the {what}: {text}"),
                )
                .file(template)
                .hint("this is a bug: please report it with the sources that trigger it"));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Diagnostic::error(
                    "pdf",
                    format!("typst stopped without a result during the {what}"),
                )
                .file(template));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if start.elapsed() > time_limit {
            return Err(Diagnostic::error(
                LIMIT_CODE,
                format!(
                    "typst's {what} took longer than {} s and was stopped",
                    time_limit.as_secs()
                ),
            )
            .file(template)
            .hint(format!(
                "look for an endless or huge loop in the template; set {TIME_LIMIT_ENV}=SECONDS to allow more time"
            )));
        }
        if let Some(rss) = resident_bytes()
            && rss > memory_limit
        {
            return Err(Diagnostic::error(
                LIMIT_CODE,
                format!(
                    "typst's {what} used more than {} MiB of memory and was stopped",
                    memory_limit / (1024 * 1024)
                ),
            )
            .file(template)
            .hint(format!(
                "look for a runaway loop or a huge page in the template; set {MEMORY_LIMIT_ENV}=MIB to allow more"
            )));
        }
    }
}

/// Run `f` on this thread, catching a panic without printing it (for short typst calls such
/// as rendering one page to pixels, which need no budget).
pub fn catch_quietly<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    install_hook();
    let before = QUIET_PANICS.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET_PANICS.with(|q| q.set(before));
    result
}
