//! Writers: the model → output files. A writer sees only the [`Context`] (model, config,
//! theme), returns its files in memory, and this module puts them in place atomically.

pub mod epub;
pub mod html;
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
}

impl OutputFormat {
    /// All formats.
    pub const ALL: [OutputFormat; 3] = [OutputFormat::Pdf, OutputFormat::Epub, OutputFormat::Html];

    /// Lower-case name (`pdf`, `epub`, `html`).
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Pdf => "pdf",
            OutputFormat::Epub => "epub",
            OutputFormat::Html => "html",
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
    }
}

/// The checks a format makes of the model before rendering (used by `publish check`).
pub fn check(format: OutputFormat, ctx: &Context) -> Vec<Diagnostic> {
    match format {
        OutputFormat::Pdf => pdf::check(ctx),
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

/// Remove temporary files and folders left in `out_dir` by an interrupted earlier build
/// (`.<name>.<random>.tmp` and `.<name>.old`); finished outputs are never touched.
pub fn clean_stale(out_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(out_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') && (name.ends_with(".tmp") || name.ends_with(".old")) {
            let path = entry.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

/// Write an artifact under a temporary name in `out_dir`, then rename it into place, so a
/// failed or interrupted build never leaves a partial file and keeps the previous output.
pub fn place(artifact: &Artifact, out_dir: &Path) -> std::io::Result<PathBuf> {
    place_with(artifact, out_dir, &|path, bytes| {
        use std::io::Write;
        let mut f = std::fs::File::create(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    })
}

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
            let tmp = tempfile::Builder::new()
                .prefix(&format!(".{name}."))
                .suffix(".tmp")
                .tempfile_in(out_dir)?;
            write_file(tmp.path(), bytes)?;
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
            let tmp = tempfile::Builder::new()
                .prefix(&format!(".{name}."))
                .suffix(".tmp")
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
            files
                .par_iter()
                .try_for_each(|(rel, bytes)| write_file(&tmp.path().join(rel), bytes))?;
            set_mode(tmp.path(), 0o755)?;
            // Swap folders: the old one is moved aside, the new one renamed in, the old removed.
            let old = out_dir.join(format!(".{name}.old"));
            let _ = std::fs::remove_dir_all(&old);
            let had_old = target.exists();
            if had_old {
                std::fs::rename(&target, &old)?;
            }
            let tmp_path = tmp.keep();
            if let Err(e) = std::fs::rename(&tmp_path, &target) {
                if had_old {
                    let _ = std::fs::rename(&old, &target);
                }
                let _ = std::fs::remove_dir_all(&tmp_path);
                return Err(e);
            }
            let _ = std::fs::remove_dir_all(&old);
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
    fn stale_temporaries_are_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".book.pdf.abc123.tmp"), b"partial").unwrap();
        std::fs::create_dir(dir.path().join(".html.xyz.tmp")).unwrap();
        std::fs::write(dir.path().join("book.epub"), b"done").unwrap();
        clean_stale(dir.path());
        assert_eq!(listing(dir.path()), vec!["book.epub"]);
    }
}
