//! Our typst [`World`]: fonts only from the theme, the date from the build, and files only
//! from an in-memory allow-list (the template and the book as JSON data).
//!
//! Nothing on disk is ever read through this world: `#read("/etc/passwd")` in a template or a
//! source can only fail with "file not found" (issue 3, issue 6).

use std::sync::Arc;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Dict, IntoValue};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// Virtual path of the template (the main file).
pub const MAIN_PATH: &str = "/book.typ";
/// Virtual path of the book data read by the template with `json(...)`.
pub const DATA_PATH: &str = "/publish/book.json";

/// The theme's fonts, parsed once per run (see `Theme::font_set`) and shared by every world.
#[derive(Debug)]
pub struct FontSet {
    /// Metadata of every face, in the order of `fonts`.
    pub book: LazyHash<FontBook>,
    /// Every face of every theme font file, in `theme.toml` order.
    pub fonts: Vec<Font>,
    /// The theme file each face came from (same order as `fonts`).
    pub files: Vec<String>,
}

impl FontSet {
    /// Parse font files; a file that holds no usable face is reported by name.
    pub fn new(files: &[(&str, &[u8])]) -> Result<FontSet, String> {
        let mut fonts = Vec::new();
        let mut names = Vec::new();
        for (path, bytes) in files {
            let before = fonts.len();
            for font in Font::iter(Bytes::new(bytes.to_vec())) {
                fonts.push(font);
                names.push((*path).to_owned());
            }
            if fonts.len() == before {
                return Err(format!("theme font `{path}` is not a font typst can read"));
            }
        }
        Ok(FontSet {
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
            files: names,
        })
    }

    /// Does any theme font map `c` to a glyph?
    pub fn covers(&self, c: char) -> bool {
        self.fonts
            .iter()
            .any(|f| f.info().coverage.contains(c as u32))
    }
}

/// A world that compiles one template against one JSON document.
pub struct BookWorld {
    library: LazyHash<Library>,
    fonts: Arc<FontSet>,
    main: Source,
    data: Bytes,
    data_id: FileId,
    timestamp: i64,
    /// The book's images at their virtual paths (`/publish/images/…`): the only other files.
    images: std::collections::HashMap<FileId, Bytes>,
}

/// The interned id of a path at the project root.
pub fn file_id(path: &str) -> Option<FileId> {
    VirtualPath::new(path)
        .ok()
        .map(|vp| RootedPath::new(VirtualRoot::Project, vp).intern())
}

impl BookWorld {
    /// A world for `template` (typst source) reading `data` (JSON) at [`DATA_PATH`], with
    /// `sys.inputs` set to `inputs` and `today()` at `timestamp` (seconds since the epoch, UTC).
    pub fn new(
        fonts: Arc<FontSet>,
        template: &str,
        data: Vec<u8>,
        inputs: &[(&str, &str)],
        timestamp: i64,
    ) -> Result<BookWorld, String> {
        let main_id = file_id(MAIN_PATH).ok_or("bad template path")?;
        let data_id = file_id(DATA_PATH).ok_or("bad data path")?;
        let mut dict = Dict::new();
        for (k, v) in inputs {
            dict.insert((*k).into(), (*v).into_value());
        }
        let library = Library::builder().with_inputs(dict).build();
        Ok(BookWorld {
            library: LazyHash::new(library),
            fonts,
            main: Source::new(main_id, template.to_owned()),
            data: Bytes::new(data),
            data_id,
            timestamp,
            images: Default::default(),
        })
    }

    /// Serve `bytes` at each virtual `path` (the book's images, already checked).
    pub fn with_images(mut self, images: impl IntoIterator<Item = (String, Bytes)>) -> Self {
        for (path, bytes) in images {
            if let Some(id) = file_id(&path) {
                self.images.insert(id, bytes);
            }
        }
        self
    }

    /// The template source (for mapping diagnostics to lines).
    pub fn main_source(&self) -> &Source {
        &self.main
    }
}

/// The UTC date and time of a timestamp (seconds since the epoch).
pub fn datetime(ts: i64) -> Option<Datetime> {
    let date = crate::format_date(ts);
    let mut it = date.split('-');
    let y: i32 = it.next()?.parse().ok()?;
    let m: u8 = it.next()?.parse().ok()?;
    let d: u8 = it.next()?.parse().ok()?;
    let secs = ts.rem_euclid(86400);
    Datetime::from_ymd_hms(
        y,
        m,
        d,
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
    )
}

impl World for BookWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.fonts.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else if id == self.data_id {
            Err(FileError::NotSource)
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.data_id {
            Ok(self.data.clone())
        } else if id == self.main.id() {
            Ok(Bytes::from_string(self.main.clone()))
        } else if let Some(b) = self.images.get(&id) {
            Ok(b.clone())
        } else {
            // The allow-list is the template and the data: nothing else exists.
            Err(FileError::AccessDenied)
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.fonts.get(index).cloned()
    }

    fn today(&self, offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        // Always the build date, never the clock (issue 3): an offset only shifts it.
        let shift = offset.map_or(0, |d| d.seconds() as i64);
        datetime(self.timestamp.checked_add(shift)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> BookWorld {
        let fonts = Arc::new(FontSet::new(&[]).unwrap());
        BookWorld::new(
            fonts,
            "= x",
            b"{}".to_vec(),
            &[("mode", "book")],
            1795478400,
        )
        .unwrap()
    }

    #[test]
    fn serves_only_the_allow_list() {
        let w = world();
        assert!(w.file(file_id(DATA_PATH).unwrap()).is_ok());
        assert!(w.source(w.main()).is_ok());
        for path in [
            "/etc/passwd",
            "/book.json",
            "/publish/../etc/hostname",
            "/fonts/x.ttf",
        ] {
            let id = file_id(path).unwrap();
            assert!(w.file(id).is_err(), "{path}");
            assert!(w.source(id).is_err(), "{path}");
        }
    }

    #[test]
    fn today_is_the_build_date() {
        let w = world();
        let d = w.today(None).unwrap();
        assert_eq!(
            (d.year(), d.month(), d.day()),
            (Some(2026), Some(11), Some(24))
        );
    }
}
