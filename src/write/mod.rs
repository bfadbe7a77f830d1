//! Writers: the model → output files. A writer sees only the [`Context`] (model, config,
//! theme), returns its files in memory, and this module puts them in place atomically.

pub mod epub;
pub mod fonts;
pub mod html;
pub mod memo;
pub mod pdf;
pub mod xhtml;

use crate::Context;
use crate::diag::Diagnostic;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The output formats, in the order they are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutputFormat {
    /// Print/archival PDF, typeset by typst.
    Pdf,
    /// EPUB 3.
    Epub,
    /// A static HTML site.
    Html,
    /// The print edition alone (interior and cover, or volumes), without the reading PDF:
    /// `--format print`. `Pdf` already includes it when `[print]` is configured.
    Print,
}

impl OutputFormat {
    /// All formats a book has (`--format all`); the print edition comes with `Pdf`.
    pub const ALL: [OutputFormat; 3] = [OutputFormat::Pdf, OutputFormat::Epub, OutputFormat::Html];

    /// Lower-case name (`pdf`, `epub`, `html`, `print`).
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Pdf => "pdf",
            OutputFormat::Epub => "epub",
            OutputFormat::Html => "html",
            OutputFormat::Print => "print",
        }
    }
}

/// What a writer produces: one file, or a folder of files.
#[derive(Debug, Clone)]
pub enum Artifact {
    /// A single file `<output>/<name>`.
    File {
        /// File name inside the output folder.
        name: String,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// Several files side by side in the output folder (the reading PDF and the print files),
    /// each placed atomically; the first is the format's main output.
    Files(Vec<(String, Vec<u8>)>),
    /// A folder `<output>/<name>/` holding `files` (relative `/`-separated paths).
    Dir {
        /// Folder name inside the output folder.
        name: String,
        /// Files, in a stable order.
        files: Vec<(String, Vec<u8>)>,
    },
}

/// A writer's result: the artifact (absent on failure) and its diagnostics.
#[derive(Debug, Default)]
pub struct Rendered {
    /// The output, or `None` when the writer failed (errors are in `diagnostics`).
    pub artifact: Option<Artifact>,
    /// Warnings (e.g. content it could not render) and errors.
    pub diagnostics: Vec<Diagnostic>,
    /// Wall time of the writer's own phases (e.g. `typeset`, `export`), for `--timings`.
    pub timings: Vec<(&'static str, std::time::Duration)>,
    /// Figures for the log (e.g. the print edition's page count and spine width).
    pub notes: Vec<String>,
}

/// The result of writing one format to disk.
#[derive(Debug, Default)]
pub struct Written {
    /// The output path, when written.
    pub path: Option<PathBuf>,
    /// Further files written beside it (the print PDF and cover).
    pub more: Vec<PathBuf>,
    /// Figures for the log, from the writer.
    pub notes: Vec<String>,
    /// Diagnostics of the writer and of placing its output.
    pub diagnostics: Vec<Diagnostic>,
    /// The writer's phases, then `write` (placing the output on disk).
    pub timings: Vec<(&'static str, std::time::Duration)>,
}

/// Render one format in memory.
pub fn render(format: OutputFormat, ctx: &Context) -> Rendered {
    match format {
        OutputFormat::Pdf => pdf::render(ctx),
        OutputFormat::Epub => epub::render(ctx),
        OutputFormat::Html => html::render(ctx),
        OutputFormat::Print => pdf::render_print_only(ctx),
    }
}

/// The checks a format makes of the model before rendering (used by `publish check`).
pub fn check(format: OutputFormat, ctx: &Context) -> Vec<Diagnostic> {
    match format {
        OutputFormat::Pdf | OutputFormat::Print => pdf::check(ctx),
        OutputFormat::Epub | OutputFormat::Html => Vec::new(),
    }
}

/// Render one format and place it in `out_dir` atomically.
pub fn write(format: OutputFormat, ctx: &Context, out_dir: &Path) -> Written {
    let rendered = render(format, ctx);
    let mut written = Written {
        path: None,
        more: Vec::new(),
        diagnostics: rendered.diagnostics,
        timings: rendered.timings,
        notes: rendered.notes,
    };
    let started = std::time::Instant::now();
    let failed = written.diagnostics.iter().any(|d| d.is_error());
    match rendered.artifact {
        Some(Artifact::Files(files)) if !failed => {
            for (name, bytes) in files {
                let one = Artifact::File { name, bytes };
                match place(&one, out_dir) {
                    Ok(path) if written.path.is_none() => written.path = Some(path),
                    Ok(path) => written.more.push(path),
                    Err(e) => {
                        written.path = None;
                        written.diagnostics.push(
                            Diagnostic::error(
                                "output",
                                format!("cannot write the {} edition: {e}", format.name()),
                            )
                            .file(out_dir.display().to_string())
                            .hint(
                                "check that the output folder is writable and the disk is not full",
                            ),
                        );
                        break;
                    }
                }
            }
        }
        Some(artifact) if !failed => match place(&artifact, out_dir) {
            Ok(path) => written.path = Some(path),
            Err(e) => written.diagnostics.push(
                Diagnostic::error(
                    "output",
                    format!("cannot write the {} edition: {e}", format.name()),
                )
                .file(out_dir.display().to_string())
                .hint("check that the output folder is writable and the disk is not full"),
            ),
        },
        _ => {
            if !failed {
                written.diagnostics.push(Diagnostic::error(
                    "output",
                    format!("the {} writer produced nothing", format.name()),
                ));
            }
        }
    }
    written.timings.push(("write", started.elapsed()));
    written
}

/// Give a finished output ordinary permissions (temporary files and folders start private).
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// The marker of every temporary file and folder a build makes in the output folder:
/// `.publish-<pid>-<random>.tmp` (being written) and `.publish-<pid>-<random>.old` (a
/// previous site being swapped out). Nothing else is ever deleted (issue 17: a user's
/// `.bashrc.old` in `--output DIR` is theirs).
pub const TEMP_PREFIX: &str = ".publish-";

/// The lock file in the output folder; it is kept (removing a lock file races with the next
/// build that opens it).
pub const LOCK_FILE: &str = ".publish.lock";

/// How long a build waits for another build writing to the same output folder before it
/// gives up with an error (10 minutes: longer than any real build).
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// The pid in a name `.publish-<pid>-<random>.tmp|.old`, if the name is one of ours.
fn our_temporary(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    let rest = rest
        .strip_suffix(".tmp")
        .or_else(|| rest.strip_suffix(".old"))?;
    let (pid, random) = rest.split_once('-')?;
    let plain = !random.is_empty() && random.chars().all(|c| c.is_ascii_alphanumeric());
    (plain && !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit()))
        .then(|| pid.parse().ok())
        .flatten()
}

/// Is process `pid` running (so its temporaries may still be in use)? Unknown: assume yes.
fn running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Remove the temporaries an interrupted earlier build left in `out_dir`: only names carrying
/// our marker ([`TEMP_PREFIX`]), only of processes no longer running, called with the output
/// lock held. Links are removed, never followed. Finished outputs and anyone else's files are
/// never touched.
pub fn clean_stale(out_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(out_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(our_temporary) else {
            continue;
        };
        if running(pid) {
            continue;
        }
        let path = entry.path();
        let _ = match entry.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
    }
}

/// Held while a build writes to an output folder: an advisory lock on [`LOCK_FILE`], released
/// when dropped (or when the process ends, however it ends).
#[derive(Debug)]
pub struct OutputLock {
    _file: std::fs::File,
}

/// Take the output folder's lock. If another build holds it, `waiting` is called once with a
/// message and the lock is retried until [`LOCK_WAIT`] has passed; then an error.
pub fn lock_output(out_dir: &Path, waiting: &dyn Fn(&str)) -> std::io::Result<OutputLock> {
    lock_output_within(out_dir, LOCK_WAIT, waiting)
}

/// [`lock_output`] with the wait given (for tests).
pub fn lock_output_within(
    out_dir: &Path,
    wait: std::time::Duration,
    waiting: &dyn Fn(&str),
) -> std::io::Result<OutputLock> {
    let path = out_dir.join(LOCK_FILE);
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A link planted under the lock's name is not followed.
        options.custom_flags(libc::O_NOFOLLOW);
        options.mode(0o644);
    }
    let file = options.open(&path)?;
    let started = std::time::Instant::now();
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(OutputLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        if !told {
            waiting(&format!(
                "another build is writing here ({}); waiting for it to finish (at most {} s)",
                crate::diag::escape_control(&path.display().to_string()),
                wait.as_secs()
            ));
            told = true;
        }
        if started.elapsed() >= wait {
            return Err(std::io::Error::other(format!(
                "another build is still writing here after {} s; not writing",
                wait.as_secs()
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The start of this process's temporary names: `.publish-<pid>-`.
fn temp_prefix() -> String {
    format!("{TEMP_PREFIX}{}-", std::process::id())
}

/// Write an artifact under a temporary name in `out_dir`, then rename it into place, so a
/// failed or interrupted build never leaves a partial file and keeps the previous output.
pub fn place(artifact: &Artifact, out_dir: &Path) -> std::io::Result<PathBuf> {
    place_with(artifact, out_dir, &|path, bytes| {
        use std::io::Write;
        let mut f = std::fs::File::create(path)?;
        f.write_all(bytes)
    })
}

/// Files written into a new folder up to which each is synced on its own; more are synced by
/// one `syncfs` on Linux.
const FEW_WRITTEN: usize = 64;

/// Make the files written into a new folder durable before it is renamed into place. After
/// an edit in a watch only a few files are new (the rest are hard links to synced files):
/// each of them and each folder (for the links) is synced, in parallel. A cold build of a
/// million words writes over a thousand files, and a thousand `fsync`s cost seconds: on Linux
/// one `syncfs` of the file system (one journal commit) does instead.
fn make_durable(folder: &Path, written: &[PathBuf]) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    if written.len() > FEW_WRITTEN {
        let dir = std::fs::File::open(folder)?;
        return rustix::fs::syncfs(&dir).map_err(std::io::Error::from);
    }
    let mut dirs: Vec<&Path> = vec![folder];
    for p in written {
        let mut d = p.parent();
        while let Some(dir) = d.filter(|d| d.starts_with(folder) && *d != folder) {
            dirs.push(dir);
            d = dir.parent();
        }
    }
    dirs.sort();
    dirs.dedup();
    written
        .par_iter()
        .map(PathBuf::as_path)
        .chain(dirs.into_par_iter())
        .try_for_each(|p| std::fs::File::open(p)?.sync_all())
}

/// Folders replaced in a long-lived process (`watch`, `serve`), still being removed on a
/// thread of their own so that the rebuild does not wait for it; [`finish_removals`] waits.
static REMOVALS: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>> =
    std::sync::Mutex::new(Vec::new());

/// Whether replaced folders are removed in the background (see [`defer_removals`]).
static DEFER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Remove the folders builds replace in the background from now on: for `watch` and `serve`,
/// long-lived processes whose sessions call [`finish_removals`] before the next build.
pub fn defer_removals() {
    DEFER.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Remove a replaced folder (renamed aside under a temporary name of ours): in the
/// background once [`defer_removals`] was called.
fn remove_replaced(old: PathBuf) {
    if DEFER.load(std::sync::atomic::Ordering::SeqCst)
        && let Ok(mut pending) = REMOVALS.lock()
    {
        pending.push(std::thread::spawn(move || {
            let _ = std::fs::remove_dir_all(&old);
        }));
        return;
    }
    let _ = std::fs::remove_dir_all(&old);
}

/// Wait until the replaced folders being removed in the background are gone (before the
/// next build, and before a watch ends).
pub fn finish_removals() {
    let pending: Vec<_> = REMOVALS
        .lock()
        .map(|mut p| p.drain(..).collect())
        .unwrap_or_default();
    for h in pending {
        let _ = h.join();
    }
}

/// Whether `path` is a regular file (not a link) holding exactly `bytes`.
fn same_file_bytes(path: &Path, bytes: &[u8]) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
        && std::fs::read(path).is_ok_and(|old| old == bytes)
}

/// The file that marks a folder publish made (the site), inside it: the only kind of folder a
/// build replaces.
pub const OUTPUT_MARKER: &str = ".publish-output";

/// [`place`] with the function that writes each file's bytes given, so tests can make the
/// write fail halfway. The files of a folder are written in parallel: each is synced to disk
/// before the folder is renamed into place, and those waits overlap.
pub fn place_with(
    artifact: &Artifact,
    out_dir: &Path,
    write_file: &(dyn Fn(&Path, &[u8]) -> std::io::Result<()> + Sync),
) -> std::io::Result<PathBuf> {
    match artifact {
        Artifact::File { name, bytes } => {
            let target = out_dir.join(name);
            // Dropped (and so deleted) on any error before `persist`.
            let prefix = temp_prefix();
            let tmp = tempfile::Builder::new()
                .prefix(&prefix)
                .suffix(".tmp")
                .rand_bytes(10)
                .tempfile_in(out_dir)?;
            write_file(tmp.path(), bytes)?;
            tmp.as_file().sync_all()?;
            // Temporary files are created private (0600); a book is meant to be read by others.
            set_mode(tmp.path(), 0o644)?;
            tmp.persist(&target).map_err(|e| e.error)?;
            Ok(target)
        }
        Artifact::Files(files) => {
            let mut first = None;
            for (name, bytes) in files {
                let one = Artifact::File {
                    name: name.clone(),
                    bytes: bytes.clone(),
                };
                let path = place_with(&one, out_dir, write_file)?;
                first.get_or_insert(path);
            }
            first.ok_or_else(|| std::io::Error::other("no files to write"))
        }
        Artifact::Dir { name, files } => {
            let target = out_dir.join(name);
            // A folder is replaced whole: only one that an earlier build made (it holds our
            // marker), never a folder of the user's that happens to have the name.
            let mut reuse_old = false;
            if let Ok(meta) = std::fs::symlink_metadata(&target) {
                let ours = meta.is_dir()
                    && std::fs::symlink_metadata(target.join(OUTPUT_MARKER))
                        .is_ok_and(|m| m.is_file());
                let empty = meta.is_dir()
                    && std::fs::read_dir(&target).is_ok_and(|mut d| d.next().is_none());
                reuse_old = ours;
                if !ours && !empty {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        format!(
                            "{} exists and was not made by publish (it has no {OUTPUT_MARKER}); \
                             publish replaces its own folders only: move it away, or choose \
                             another --output",
                            target.display()
                        ),
                    ));
                }
            }
            let prefix = temp_prefix();
            let tmp = tempfile::Builder::new()
                .prefix(&prefix)
                .suffix(".tmp")
                .rand_bytes(10)
                .tempdir_in(out_dir)?;
            for (rel, _) in files {
                if rel
                    .split('/')
                    .any(|c| c.is_empty() || c == "." || c == "..")
                {
                    return Err(std::io::Error::other(format!("bad output path {rel}")));
                }
                if let Some(parent) = tmp.path().join(rel).parent() {
                    std::fs::create_dir_all(parent)?;
                }
            }
            // A file whose bytes equal the same file of the folder being replaced (one an
            // earlier build made) is hard-linked from it instead of written and synced again:
            // after an edit in a watch, only the pages that changed cost a write.
            let written: Vec<Option<PathBuf>> = files
                .par_iter()
                .map(|(rel, bytes)| {
                    let new = tmp.path().join(rel);
                    if reuse_old
                        && same_file_bytes(&target.join(rel), bytes)
                        && std::fs::hard_link(target.join(rel), &new).is_ok()
                    {
                        return Ok(None);
                    }
                    write_file(&new, bytes).map(|()| Some(new))
                })
                .collect::<std::io::Result<_>>()?;
            let marker = tmp.path().join(OUTPUT_MARKER);
            write_file(
                &marker,
                b"Made by publish: this folder is replaced whole on every build.\n",
            )?;
            let mut written: Vec<PathBuf> = written.into_iter().flatten().collect();
            written.push(marker);
            make_durable(tmp.path(), &written)?;
            set_mode(tmp.path(), 0o755)?;
            // Swap folders: the old one is moved aside (over an empty folder of a fresh name of
            // ours), the new one renamed in, the old removed.
            let had_old = std::fs::symlink_metadata(&target).is_ok();
            let old = if had_old {
                let old = tempfile::Builder::new()
                    .prefix(&prefix)
                    .suffix(".old")
                    .rand_bytes(10)
                    .tempdir_in(out_dir)?
                    .keep();
                if let Err(e) = std::fs::rename(&target, &old) {
                    let _ = std::fs::remove_dir(&old);
                    return Err(e);
                }
                Some(old)
            } else {
                None
            };
            let tmp_path = tmp.keep();
            if let Err(e) = std::fs::rename(&tmp_path, &target) {
                if let Some(old) = &old {
                    let _ = std::fs::rename(old, &target);
                }
                let _ = std::fs::remove_dir_all(&tmp_path);
                return Err(e);
            }
            if let Some(old) = old {
                remove_replaced(old);
            }
            Ok(target)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// A folder of the user's with the site's name is never replaced; the site made by an
    /// earlier build is (issue 17: delete only what a build created).
    #[test]
    fn only_our_own_folder_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let site = |text: &str| Artifact::Dir {
            name: "html".into(),
            files: vec![("index.html".into(), text.as_bytes().to_vec())],
        };
        std::fs::create_dir(dir.path().join("html")).unwrap();
        std::fs::write(dir.path().join("html/thesis.tex"), "mine").unwrap();
        let err = place(&site("a"), dir.path()).unwrap_err();
        assert!(err.to_string().contains("not made by publish"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("html/thesis.tex")).unwrap(),
            "mine"
        );
        assert_eq!(listing(dir.path()), ["html"]);
        // An empty folder, and then our own, are replaced.
        std::fs::remove_file(dir.path().join("html/thesis.tex")).unwrap();
        place(&site("a"), dir.path()).unwrap();
        place(&site("b"), dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("html/index.html")).unwrap(),
            "b"
        );
        assert_eq!(
            listing(&dir.path().join("html")),
            [OUTPUT_MARKER, "index.html"]
        );
    }

    /// A writer that fails halfway leaves the previous output untouched and nothing else.
    #[test]
    fn failed_file_write_keeps_previous_output() {
        let dir = tempfile::tempdir().unwrap();
        let old = Artifact::File {
            name: "book.pdf".into(),
            bytes: b"old book".to_vec(),
        };
        place(&old, dir.path()).unwrap();
        let new = Artifact::File {
            name: "book.pdf".into(),
            bytes: vec![b'x'; 10_000],
        };
        let err = place_with(&new, dir.path(), &|path, bytes| {
            std::fs::write(path, &bytes[..bytes.len() / 2])?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(err.is_err());
        assert_eq!(
            std::fs::read(dir.path().join("book.pdf")).unwrap(),
            b"old book"
        );
        assert_eq!(listing(dir.path()), vec!["book.pdf"]);
        // And a successful write replaces it, readable by others.
        place(&new, dir.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("book.pdf"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        assert_eq!(
            std::fs::read(dir.path().join("book.pdf")).unwrap().len(),
            10_000
        );
        assert_eq!(listing(dir.path()), vec!["book.pdf"]);
    }

    #[test]
    fn failed_folder_write_keeps_previous_site() {
        let dir = tempfile::tempdir().unwrap();
        let site = |v: &str| Artifact::Dir {
            name: "html".into(),
            files: (0..4)
                .map(|i| (format!("p/{i}.html"), v.as_bytes().to_vec()))
                .collect(),
        };
        place(&site("old"), dir.path()).unwrap();
        let n = std::sync::atomic::AtomicUsize::new(0);
        let err = place_with(&site("new"), dir.path(), &|path, bytes| {
            if n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 2 {
                return Err(std::io::Error::other("interrupted"));
            }
            std::fs::write(path, bytes)
        });
        assert!(err.is_err());
        assert_eq!(listing(dir.path()), vec!["html"]);
        for i in 0..4 {
            assert_eq!(
                std::fs::read_to_string(dir.path().join(format!("html/p/{i}.html"))).unwrap(),
                "old"
            );
        }
        place(&site("new"), dir.path()).unwrap();
        assert_eq!(listing(dir.path()), vec!["html"]);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("html/p/3.html")).unwrap(),
            "new"
        );
    }

    #[test]
    fn only_our_stale_temporaries_are_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // A pid that is not running: above the kernel's pid_max (4194304 at most).
        std::fs::write(d.join(".publish-4999999-abc123XYZ0.tmp"), b"partial").unwrap();
        std::fs::create_dir_all(d.join(".publish-4999999-xyz0000000.old/p")).unwrap();
        // Ours but of a running process (this one): kept.
        let live = format!(".publish-{}-abc1234567.tmp", std::process::id());
        std::fs::write(d.join(&live), b"in use").unwrap();
        // The user's own files: kept.
        for user in [
            ".bashrc.old",
            ".x.tmp",
            ".book.pdf.abc123.tmp",
            ".publish-x.tmp",
            ".publish-1-a.b.tmp",
        ] {
            std::fs::write(d.join(user), b"mine").unwrap();
        }
        std::fs::create_dir(d.join(".config.old")).unwrap();
        std::fs::write(d.join("book.epub"), b"done").unwrap();
        clean_stale(d);
        let mut want = vec![
            ".bashrc.old",
            ".book.pdf.abc123.tmp",
            ".config.old",
            ".publish-1-a.b.tmp",
            ".publish-x.tmp",
            ".x.tmp",
            "book.epub",
            live.as_str(),
        ];
        want.sort();
        assert_eq!(listing(d), want);
    }

    #[test]
    fn a_rebuilt_folder_writes_only_the_files_that_changed() {
        let dir = tempfile::tempdir().unwrap();
        let site = |changed: &str| Artifact::Dir {
            name: "html".into(),
            files: vec![
                ("a.html".into(), b"same".to_vec()),
                ("b.html".into(), changed.as_bytes().to_vec()),
                ("sub/c.html".into(), b"same too".to_vec()),
            ],
        };
        let written = std::sync::Mutex::new(Vec::new());
        let record = |path: &Path, bytes: &[u8]| {
            written
                .lock()
                .unwrap()
                .push(path.file_name().unwrap().to_string_lossy().into_owned());
            std::fs::write(path, bytes)
        };
        place_with(&site("one"), dir.path(), &record).unwrap();
        assert_eq!(
            written.lock().unwrap().len(),
            4,
            "three files and the marker"
        );
        written.lock().unwrap().clear();
        place_with(&site("two"), dir.path(), &record).unwrap();
        let mut w = written.lock().unwrap().clone();
        w.sort();
        assert_eq!(w, [OUTPUT_MARKER, "b.html"]);
        let read = |p: &str| std::fs::read_to_string(dir.path().join("html").join(p)).unwrap();
        assert_eq!(
            (read("a.html"), read("b.html")),
            ("same".into(), "two".into())
        );
        assert_eq!(read("sub/c.html"), "same too");
        assert_eq!(listing(dir.path()), vec!["html"]);
        // A folder that is not ours is never a source of links (nor replaced).
        let foreign = tempfile::tempdir().unwrap();
        std::fs::create_dir(foreign.path().join("html")).unwrap();
        std::fs::write(foreign.path().join("html/a.html"), b"same").unwrap();
        assert!(place(&site("two"), foreign.path()).is_err());
    }

    #[test]
    fn temporaries_carry_the_marker() {
        let dir = tempfile::tempdir().unwrap();
        let names = std::sync::Mutex::new(Vec::new());
        let site = Artifact::Dir {
            name: "html".into(),
            files: vec![("a.html".into(), b"x".to_vec())],
        };
        for _ in 0..2 {
            place_with(&site, dir.path(), &|path, bytes| {
                names.lock().unwrap().push(path.to_path_buf());
                std::fs::write(path, bytes)
            })
            .unwrap();
        }
        for p in names.lock().unwrap().iter() {
            let top = p
                .strip_prefix(dir.path())
                .unwrap()
                .components()
                .next()
                .unwrap();
            let top = top.as_os_str().to_str().unwrap();
            assert_eq!(our_temporary(top), Some(std::process::id()), "{top}");
        }
        assert_eq!(listing(dir.path()), vec!["html"]);
    }

    #[test]
    fn a_second_lock_waits_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_output(dir.path(), &|_| panic!("first lock must not wait")).unwrap();
        let told = std::sync::Mutex::new(String::new());
        let err = lock_output_within(dir.path(), std::time::Duration::from_millis(300), &|m| {
            *told.lock().unwrap() = m.to_owned()
        })
        .unwrap_err();
        assert!(
            told.lock()
                .unwrap()
                .contains("another build is writing here")
        );
        assert!(err.to_string().contains("another build"), "{err}");
        drop(held);
        lock_output(dir.path(), &|_| panic!("a released lock must not wait")).unwrap();
    }
}
