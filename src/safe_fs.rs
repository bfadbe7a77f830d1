//! Reading files of an untrusted book folder: only regular files whose real path lies inside
//! the folder, never FIFOs, devices or sockets, never more than a documented size.
//!
//! A book folder is often a contributor's pull request built by CI (issue 17): a symbolic link
//! `themes/default/book.css → /etc/passwd` or a FIFO named `cover.png` must not be able to make
//! a build publish a secret or hang. Every file the pipeline reads from the book (config,
//! theme, sources, cover) goes through [`read_file`].
//!
//! Symbolic links are followed only when their target's real path is inside one of the allowed
//! roots (so `sources/part-3.md → ../drafts/part-3.md` works); links to folders are never
//! followed while walking a theme, so no loop can be walked.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest source part read (64 MiB): a book part is kilobytes; more is a mistake or an attack.
pub const SOURCE_MAX_BYTES: u64 = 64 << 20;
/// Largest font file of a theme (32 MiB; the largest CJK fonts are about 20 MiB).
pub const FONT_MAX_BYTES: u64 = 32 << 20;
/// Largest `[epub] cover` image (32 MiB).
pub const COVER_MAX_BYTES: u64 = 32 << 20;
/// Largest other theme file: template, CSS, script, `theme.toml`, licence (8 MiB).
pub const THEME_FILE_MAX_BYTES: u64 = 8 << 20;
/// Largest `publish.toml` (1 MiB).
pub const CONFIG_MAX_BYTES: u64 = 1 << 20;
/// Most files in one theme folder.
pub const THEME_MAX_FILES: usize = 1000;
/// Deepest folder nesting inside a theme folder.
pub const THEME_MAX_DEPTH: usize = 8;

/// Why a file was not read.
#[derive(Debug)]
pub enum Refusal {
    /// Its real path (after following symbolic links) is outside the allowed folders.
    Outside(PathBuf),
    /// It is not a regular file: the kind it is (`folder`, `FIFO`, `socket`, `device`…).
    NotRegular(&'static str),
    /// It is larger than the cap for its kind.
    TooLarge {
        /// Its size in bytes (at least).
        size: u64,
        /// The cap.
        max: u64,
    },
    /// The operating system refused (missing, unreadable, a symbolic-link loop…).
    Io(std::io::Error),
}

impl Refusal {
    /// Stable diagnostic code: `outside-book`, `not-a-file`, `file-too-large` or `io`.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Outside(_) => "outside-book",
            Refusal::NotRegular(_) => "not-a-file",
            Refusal::TooLarge { .. } => "file-too-large",
            Refusal::Io(_) => "io",
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            Refusal::Outside(_) => {
                "files are read only inside the book folder: copy the file into it instead of linking to it"
            }
            Refusal::NotRegular(_) => "replace it with an ordinary file",
            Refusal::TooLarge { .. } => "check that it is the right file",
            Refusal::Io(_) => "check that the file exists and is readable",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Outside(_) => write!(
                f,
                "leads outside the book folder through a symbolic link; it is not read"
            ),
            Refusal::NotRegular(kind) => {
                write!(f, "is a {kind}, not a regular file; it is not read")
            }
            Refusal::TooLarge { size, max } => write!(
                f,
                "is {size} bytes, more than the {max} bytes allowed for such a file"
            ),
            Refusal::Io(e) if is_loop(e) => {
                write!(f, "is a loop of symbolic links")
            }
            Refusal::Io(e) => write!(f, "cannot be read: {e}"),
        }
    }
}

impl From<std::io::Error> for Refusal {
    fn from(e: std::io::Error) -> Self {
        Refusal::Io(e)
    }
}

/// Did the OS report a loop of symbolic links?
fn is_loop(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// The real path of `dir` (symbolic links resolved), for use as a root of [`read_file`].
pub fn root(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::canonicalize(dir)
}

/// The kind of a file that is not a regular file, for messages.
pub fn kind(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "FIFO (named pipe)";
        }
        if ft.is_socket() {
            return "socket";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "device";
        }
    }
    if ft.is_dir() {
        "folder"
    } else if ft.is_symlink() {
        "symbolic link"
    } else if ft.is_file() {
        "regular file"
    } else {
        "special file"
    }
}

/// Is the real path `real` inside one of `roots` (real paths)? No roots: anywhere.
fn inside(real: &Path, roots: &[PathBuf]) -> bool {
    roots.is_empty() || roots.iter().any(|r| real.starts_with(r))
}

/// Read `path` if it is a regular file, at most `max` bytes, whose real path is inside one of
/// `roots` (real paths from [`root`]; an empty list allows any place, for files the user
/// named on the command line). The type is checked before opening and again on the open
/// handle, and the file is opened without blocking, so a FIFO swapped in never hangs a build.
pub fn read_file(path: &Path, roots: &[PathBuf], max: u64) -> Result<Vec<u8>, Refusal> {
    Ok(read_file_meta(path, roots, max)?.0)
}

/// [`read_file`], also returning the file's metadata (for its modification time).
pub fn read_file_meta(
    path: &Path,
    roots: &[PathBuf],
    max: u64,
) -> Result<(Vec<u8>, std::fs::Metadata), Refusal> {
    // `canonicalize` follows every link (and reports a loop as ELOOP instead of walking it).
    let real = std::fs::canonicalize(path)?;
    if !inside(&real, roots) {
        return Err(Refusal::Outside(real));
    }
    let meta = std::fs::metadata(&real)?;
    if !meta.is_file() {
        return Err(Refusal::NotRegular(kind(&meta.file_type())));
    }
    if meta.len() > max {
        return Err(Refusal::TooLarge {
            size: meta.len(),
            max,
        });
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Not following a link swapped in since `canonicalize`, and not waiting for a writer
        // if a FIFO was.
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW);
    }
    let file = options.open(&real)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Refusal::NotRegular(kind(&meta.file_type())));
    }
    let mut bytes = Vec::with_capacity(meta.len().min(max) as usize);
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(Refusal::TooLarge {
            size: bytes.len() as u64,
            max,
        });
    }
    Ok((bytes, meta))
}

/// One file found by [`walk_files`]: its `/`-separated path relative to the walked folder.
#[derive(Debug)]
pub struct Found {
    /// Path relative to the walked folder, `/`-separated.
    pub rel: String,
    /// Full path.
    pub path: PathBuf,
}

/// Every non-hidden file under `dir`, sorted, walked iteratively: folders reached through a
/// symbolic link are refused (never walked, so no loop and no folder outside the book), at
/// most [`THEME_MAX_DEPTH`] levels and [`THEME_MAX_FILES`] files. Files are only listed; read
/// them with [`read_file`], which checks where links lead.
pub fn walk_files(dir: &Path) -> Result<Vec<Found>, (PathBuf, Refusal)> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0usize)];
    while let Some((d, depth)) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| (d.clone(), Refusal::Io(e)))?;
        for entry in entries {
            let entry = entry.map_err(|e| (d.clone(), Refusal::Io(e)))?;
            let name = entry.file_name();
            // Hidden files (`.git`, `.DS_Store`) are never part of a theme.
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            let ft = entry
                .file_type()
                .map_err(|e| (path.clone(), Refusal::Io(e)))?;
            if ft.is_dir() {
                if depth + 1 > THEME_MAX_DEPTH {
                    return Err((
                        path,
                        Refusal::Io(std::io::Error::other(format!(
                            "folders are nested more than {THEME_MAX_DEPTH} levels deep"
                        ))),
                    ));
                }
                stack.push((path, depth + 1));
            } else if ft.is_symlink() && std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
                return Err((path, Refusal::NotRegular("symbolic link to a folder")));
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push(Found { rel, path });
                if out.len() > THEME_MAX_FILES {
                    return Err((
                        dir.to_path_buf(),
                        Refusal::Io(std::io::Error::other(format!(
                            "holds more than {THEME_MAX_FILES} files"
                        ))),
                    ));
                }
            }
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_links_out_fifos_and_large_files() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"secret").unwrap();
        let book = tempfile::tempdir().unwrap();
        let b = book.path();
        std::fs::write(b.join("ok.txt"), b"ok").unwrap();
        std::os::unix::fs::symlink(b.join("ok.txt"), b.join("in-link")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), b.join("out-link")).unwrap();
        std::os::unix::fs::symlink(b.join("loop-a"), b.join("loop-b")).unwrap();
        std::os::unix::fs::symlink(b.join("loop-b"), b.join("loop-a")).unwrap();
        assert!(
            std::process::Command::new("mkfifo")
                .arg(b.join("fifo"))
                .status()
                .unwrap()
                .success()
        );
        let roots = [root(b).unwrap()];
        assert_eq!(read_file(&b.join("ok.txt"), &roots, 10).unwrap(), b"ok");
        assert_eq!(read_file(&b.join("in-link"), &roots, 10).unwrap(), b"ok");
        assert!(matches!(
            read_file(&b.join("out-link"), &roots, 10),
            Err(Refusal::Outside(_))
        ));
        let looped = read_file(&b.join("loop-a"), &roots, 10).unwrap_err();
        assert!(looped.to_string().contains("loop"), "{looped}");
        assert!(matches!(
            read_file(&b.join("fifo"), &roots, 10),
            Err(Refusal::NotRegular(_))
        ));
        assert!(matches!(
            read_file(b, &roots, 10),
            Err(Refusal::NotRegular("folder"))
        ));
        assert!(matches!(
            read_file(&b.join("ok.txt"), &roots, 1),
            Err(Refusal::TooLarge { .. })
        ));
    }

    #[test]
    fn walk_refuses_linked_folders() {
        let book = tempfile::tempdir().unwrap();
        let b = book.path();
        std::fs::create_dir_all(b.join("t/fonts")).unwrap();
        std::fs::write(b.join("t/fonts/a.ttf"), b"x").unwrap();
        std::fs::write(b.join("t/.hidden"), b"x").unwrap();
        let found: Vec<String> = walk_files(&b.join("t"))
            .unwrap()
            .into_iter()
            .map(|f| f.rel)
            .collect();
        assert_eq!(found, vec!["fonts/a.ttf"]);
        std::os::unix::fs::symlink(b.join("t"), b.join("t/fonts/loop")).unwrap();
        let (path, why) = walk_files(&b.join("t")).unwrap_err();
        assert!(path.ends_with("loop"));
        assert!(matches!(why, Refusal::NotRegular(_)));
    }
}
