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

/// Virtual folder of the parts' own inputs (see [`BookWorld::with_parts`]).
pub const PARTS_DIR: &str = "/publish/parts/";

/// The virtual path of part `i`'s module, which the template imports for its `blocks`.
pub fn part_module(i: usize) -> String {
    format!("{PARTS_DIR}{i}.typ")
}

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
    /// The book's images at their virtual paths (`/publish/images/…`) and each part's blocks
    /// (`/publish/parts/<i>.json`): the only other files.
    files: std::collections::HashMap<FileId, Bytes>,
    /// One small module per part (`/publish/parts/<i>.typ`, written by us, holding no source
    /// text) that loads that part's blocks: typst memoises a module's evaluation by the files
    /// it read, so an unchanged part is neither parsed nor evaluated again in a watch.
    modules: std::collections::HashMap<FileId, Source>,
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
            files: Default::default(),
            modules: Default::default(),
        })
    }

    /// Serve `bytes` at each virtual `path` (the book's images, already checked).
    pub fn with_images(mut self, images: impl IntoIterator<Item = (String, Bytes)>) -> Self {
        for (path, bytes) in images {
            if let Some(id) = file_id(&path) {
                self.files.insert(id, bytes);
            }
        }
        self
    }

    /// Give each part its own stable inputs: `blocks[i]` (JSON of the part's blocks) at
    /// `/publish/parts/<i>.json`, and the module [`part_module`]`(i)` that loads it. The
    /// template imports the module; an edit changes one part's files, so typst's memoised
    /// evaluation and layout of every other part survive it.
    pub fn with_parts(mut self, blocks: Vec<Vec<u8>>) -> Self {
        for (i, json) in blocks.into_iter().enumerate() {
            let (module, data) = (part_module(i), format!("{PARTS_DIR}{i}.json"));
            if let (Some(mid), Some(did)) = (file_id(&module), file_id(&data)) {
                // Only the path, which we make, is in the module: the part's text stays data.
                let code = format!("#let blocks = json(\"{data}\")\n");
                self.modules.insert(mid, Source::new(mid, code));
                self.files.insert(did, Bytes::new(json));
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
        } else if let Some(m) = self.modules.get(&id) {
            Ok(m.clone())
        } else if id == self.data_id || self.files.contains_key(&id) {
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
        } else if let Some(b) = self.files.get(&id) {
            Ok(b.clone())
        } else if let Some(m) = self.modules.get(&id) {
            Ok(Bytes::from_string(m.clone()))
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
    fn serves_each_part_as_a_module_and_its_data_only() {
        let w = world().with_parts(vec![b"[]".to_vec(), b"[1]".to_vec()]);
        let m = file_id(&part_module(1)).unwrap();
        let src = w.source(m).unwrap();
        // The module holds only the path we made; the part's data is a file, never a source.
        assert_eq!(
            src.text(),
            "#let blocks = json(\"/publish/parts/1.json\")\n"
        );
        let data = file_id("/publish/parts/1.json").unwrap();
        assert_eq!(w.file(data).unwrap().as_slice(), b"[1]");
        assert!(w.source(data).is_err());
        for path in [
            "/publish/parts/2.typ",
            "/publish/parts/2.json",
            "/publish/parts/x",
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
