//! Finishing epub-builder's archive: the few things its compiled-in templates cannot say, and
//! fixed zip entry times so two builds are byte-identical.
//!
//! epub-builder 0.8.3 has no custom templates and its `Zip` trait is private, so its
//! `ZipLibrary` output is read back and re-packed here, entry by entry, in the same order
//! (`mimetype` first and stored). Each patch replaces an exact string of the pinned version's
//! templates and fails loudly if that string is missing, so an upgrade cannot silently skip it.

use crate::write::xhtml::escape;
use epub_zip::write::SimpleFileOptions;
use epub_zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};
use std::io::{Cursor, Read, Write};

/// What the templates of epub-builder leave out and the book needs.
#[derive(Debug, Clone)]
pub struct Patches {
    /// Book title (the NCX `docTitle`; epub-builder puts the table of contents' name there).
    pub title: String,
    /// BCP 47 language of the book (for `xml:lang` / `lang`).
    pub lang: String,
    /// `rtl` or `ltr`.
    pub dir: &'static str,
    /// The book's identifier, exactly as it must appear in `dc:identifier` and the NCX.
    pub identifier: String,
    /// The UUID URN epub-builder wrote (replaced when `identifier` differs).
    pub builder_identifier: String,
    /// Publisher, if any (epub-builder has no `dc:publisher`).
    pub publisher: Option<String>,
    /// Build time, seconds since the Unix epoch: every zip entry gets it.
    pub timestamp: i64,
    /// Levels of the NCX's `navMap`: 2 when parts list their sections (the template says 1).
    pub ncx_depth: u32,
}

/// Re-pack `epub` (epub-builder's output) with the patches applied and fixed entry times.
pub fn repack(epub: &[u8], patches: &Patches) -> Result<Vec<u8>, String> {
    let mut archive =
        ZipArchive::new(Cursor::new(epub)).map_err(|e| format!("cannot read the archive: {e}"))?;
    let time = zip_time(patches.timestamp);
    let mut out = ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("cannot read entry {i}: {e}"))?;
        let name = entry.name().to_owned();
        // Entries that need no patch are copied still compressed (fonts are most of the bytes:
        // compressing them again would double the EPUB writer's time); only the time changes.
        let patched = matches!(
            name.as_str(),
            "OEBPS/content.opf" | "OEBPS/nav.xhtml" | "OEBPS/toc.ncx"
        );
        let expected = if name == "mimetype" {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        if !patched && entry.compression() == expected && (name != "mimetype" || i == 0) {
            out.raw_copy_file_touch(entry, time, Some(0o644))
                .map_err(|e| format!("cannot copy {name}: {e}"))?;
            continue;
        }
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read {name}: {e}"))?;
        drop(entry);
        let bytes = match name.as_str() {
            "OEBPS/content.opf" => patch_opf(&utf8(&name, bytes)?, patches)?.into_bytes(),
            "OEBPS/nav.xhtml" => patch_nav(&utf8(&name, bytes)?, patches)?.into_bytes(),
            "OEBPS/toc.ncx" => patch_ncx(&utf8(&name, bytes)?, patches)?.into_bytes(),
            _ => bytes,
        };
        // OCF: `mimetype` is the first entry and is stored uncompressed.
        let method = if name == "mimetype" {
            if i != 0 {
                return Err("the mimetype entry is not the first".into());
            }
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(time)
            .unix_permissions(0o644);
        out.start_file(name.as_str(), options)
            .map_err(|e| format!("cannot write {name}: {e}"))?;
        out.write_all(&bytes)
            .map_err(|e| format!("cannot write {name}: {e}"))?;
    }
    let cursor = out
        .finish()
        .map_err(|e| format!("cannot finish the archive: {e}"))?;
    Ok(cursor.into_inner())
}

fn utf8(name: &str, bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|_| format!("{name} is not UTF-8"))
}

/// Replace the one occurrence of `from` in `text` by `to`.
fn replace_once(text: &str, file: &str, from: &str, to: &str) -> Result<String, String> {
    match text.matches(from).count() {
        1 => Ok(text.replacen(from, to, 1)),
        n => Err(format!(
            "{file}: expected `{from}` once in epub-builder's output, found it {n} times"
        )),
    }
}

/// The OPF template has no `dir`/`xml:lang` on `<package>` (issue 4 asks for both), always
/// writes the UUID as identifier, and has no `dc:publisher`.
fn patch_opf(opf: &str, p: &Patches) -> Result<String, String> {
    let file = "content.opf";
    let package = r#"<package version="3.0" xmlns="http://www.idpf.org/2007/opf" unique-identifier="epub-id-1">"#;
    let mut opf = replace_once(
        opf,
        file,
        package,
        &format!(
            r#"<package version="3.0" xmlns="http://www.idpf.org/2007/opf" unique-identifier="epub-id-1" xml:lang="{}" dir="{}">"#,
            escape(&p.lang),
            p.dir
        ),
    )?;
    // The template numbers `dc:language` ids like the creators' (`epub-creator-0`), so a book
    // with an author has a duplicate id (EPUBCheck RSC-005). Languages get their own ids.
    if opf.contains(r#"<dc:creator id="epub-creator-"#) {
        opf = opf.replace(
            r#"<dc:language id="epub-creator-"#,
            r#"<dc:language id="epub-language-"#,
        );
    }
    if p.identifier != p.builder_identifier {
        opf = replace_once(
            &opf,
            file,
            &format!(
                r#"<dc:identifier id="epub-id-1">{}</dc:identifier>"#,
                p.builder_identifier
            ),
            &format!(
                r#"<dc:identifier id="epub-id-1">{}</dc:identifier>"#,
                escape(&p.identifier)
            ),
        )?;
    }
    if let Some(publisher) = &p.publisher {
        let modified = r#"<meta property="dcterms:modified">"#;
        opf = replace_once(
            &opf,
            file,
            modified,
            &format!(
                "<dc:publisher>{}</dc:publisher>\n    {modified}",
                escape(publisher)
            ),
        )?;
    }
    Ok(opf)
}

/// The navigation document template has no `lang`, `xml:lang` or `dir` on `<html>`.
fn patch_nav(nav: &str, p: &Patches) -> Result<String, String> {
    let html =
        r#"<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">"#;
    let lang = escape(&p.lang);
    let nav = replace_once(
        nav,
        "nav.xhtml",
        html,
        &format!(
            r#"<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="{lang}" xml:lang="{lang}" dir="{}">"#,
            p.dir
        ),
    )?;
    // Each `<nav>` is a landmark: the contents gets its DPUB-ARIA role, and both get a name
    // of their own so that a screen reader can tell them apart (Ace: epub-type-has-matching-
    // role, landmark-unique).
    let nav = replace_once(
        &nav,
        "nav.xhtml",
        r#"<nav epub:type = "toc" id="toc">"#,
        &format!(
            r#"<nav epub:type="toc" role="doc-toc" id="toc" aria-label="{}">"#,
            escape(super::TOC_NAME)
        ),
    )?;
    replace_once(
        &nav,
        "nav.xhtml",
        r#"<nav epub:type = "landmarks">"#,
        &format!(
            r#"<nav epub:type="landmarks" aria-label="{}">"#,
            escape(super::LANDMARKS_NAME)
        ),
    )
}

/// The NCX template has no `dtb:uid` (older readers match it against the OPF identifier), no
/// language, and a fixed `dtb:depth` of 1.
fn patch_ncx(ncx: &str, p: &Patches) -> Result<String, String> {
    let file = "toc.ncx";
    let ncx = replace_once(
        ncx,
        file,
        r#"<meta name="dtb:depth" content="1" />"#,
        &format!(r#"<meta name="dtb:depth" content="{}" />"#, p.ncx_depth),
    )?;
    let root = r#"<ncx version="2005-1" xmlns="http://www.daisy.org/z3986/2005/ncx/">"#;
    let ncx = replace_once(
        &ncx,
        file,
        root,
        &format!(
            r#"<ncx version="2005-1" xmlns="http://www.daisy.org/z3986/2005/ncx/" xml:lang="{}">"#,
            escape(&p.lang)
        ),
    )?;
    let ncx = replace_once(
        &ncx,
        file,
        &format!("<docTitle>\n    <text>{}</text>", escape(super::TOC_NAME)),
        &format!("<docTitle>\n    <text>{}</text>", escape(&p.title)),
    )?;
    replace_once(
        &ncx,
        file,
        "<head>\n",
        &format!(
            "<head>\n    <meta name=\"dtb:uid\" content=\"{}\" />\n",
            escape(&p.identifier)
        ),
    )
}

/// The build time as a zip (MS-DOS) time, clamped to the range zip can store.
fn zip_time(timestamp: i64) -> DateTime {
    let date = crate::format_date(timestamp);
    let secs = timestamp.rem_euclid(86400);
    let mut parts = date.split('-').map(|s| s.parse::<i64>().unwrap_or(1));
    let (y, m, d) = (
        parts.next().unwrap_or(1980),
        parts.next().unwrap_or(1),
        parts.next().unwrap_or(1),
    );
    if y < 1980 {
        return DateTime::default();
    }
    if y > 2107 {
        return DateTime::from_date_and_time(2107, 12, 31, 23, 59, 58).unwrap_or_default();
    }
    DateTime::from_date_and_time(
        y as u16,
        m as u8,
        d as u8,
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        // MS-DOS times count seconds in steps of two.
        ((secs % 60) & !1) as u8,
    )
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patches() -> Patches {
        Patches {
            title: "عنوان".into(),
            lang: "ar".into(),
            dir: "rtl",
            identifier: "urn:isbn:<&>".into(),
            builder_identifier: "urn:uuid:x".into(),
            publisher: Some("دار <&>".into()),
            timestamp: 1_790_000_001,
            ncx_depth: 2,
        }
    }

    #[test]
    fn opf_patch_adds_direction_identifier_and_publisher() {
        let opf = "<package version=\"3.0\" xmlns=\"http://www.idpf.org/2007/opf\" unique-identifier=\"epub-id-1\">\n<dc:identifier id=\"epub-id-1\">urn:uuid:x</dc:identifier>\n<dc:language id=\"epub-creator-0\">ar</dc:language>\n<dc:creator id=\"epub-creator-0\">a</dc:creator>\n    <meta property=\"dcterms:modified\">t</meta>";
        let out = patch_opf(opf, &patches()).unwrap();
        assert!(out.contains(r#"xml:lang="ar" dir="rtl">"#), "{out}");
        assert!(
            out.contains(">urn:isbn:&lt;&amp;&gt;</dc:identifier>"),
            "{out}"
        );
        assert!(
            out.contains("<dc:publisher>دار &lt;&amp;&gt;</dc:publisher>"),
            "{out}"
        );
    }

    #[test]
    fn patch_fails_when_the_template_changed() {
        assert!(patch_nav("<html>", &patches()).is_err());
        assert!(patch_ncx("<ncx>", &patches()).is_err());
    }

    #[test]
    fn zip_times_are_fixed_and_clamped() {
        let t = zip_time(1_790_000_001);
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2026, 9, 21, 14, 13, 20)
        );
        assert_eq!(zip_time(0), DateTime::default());
        assert_eq!(zip_time(i64::from(u32::MAX) * 4).year(), 2107);
    }
}
