//! Images of the book: every path a part names is checked (inside the book folder, a regular
//! file, a real PNG/JPEG/GIF/WebP/SVG within the size limits) and loaded once into the book's
//! asset table, keyed by content hash, so writers embed each image once.
//!
//! The book folder is untrusted. The rules, each with its own diagnostic naming file and line:
//! - URLs (`http:`, `file:`, `data:` — any scheme), absolute paths, `..` and paths whose real
//!   location (after symbolic links) is outside the book folder are refused with a warning
//!   (`image-outside`) that keeps the description as text: scraped articles often carry such
//!   links, and the book is still right without the picture; nothing is ever fetched.
//!   `--fail-on-warnings` makes it fatal in CI;
//! - only regular files are read (`image-not-file`, an error, like a missing file);
//! - the type comes from the bytes, never the extension (`image-type`);
//! - the file size and the pixel count are checked before anything is decoded
//!   (`image-too-large`, limits in `[images]` of `publish.toml`);
//! - raster images are decoded once to prove they are whole (`image-corrupt`);
//! - SVG is untrusted markup: it is parsed by `usvg` (no external files, no fonts, no network)
//!   and re-serialised from the tree, so scripts, event attributes, `foreignObject`, external
//!   references and entities never reach an output.

use crate::config::ImagesConfig;
use crate::diag::Diagnostic;
use crate::model::{Asset, Book, ImageRef};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Default `[images] max-bytes`: 25 MB, more than any photo a book needs.
pub const DEFAULT_MAX_BYTES: u64 = 25 * 1024 * 1024;
/// Default `[images] max-pixels`: 50 megapixels (a 8660×5773 photo), decoded ≈ 200 MB.
pub const DEFAULT_MAX_PIXELS: u64 = 50_000_000;

/// Image kinds `publish` accepts, told apart by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PNG.
    Png,
    /// JPEG (JFIF or EXIF).
    Jpeg,
    /// GIF 87a/89a.
    Gif,
    /// WebP (RIFF container).
    Webp,
    /// SVG (XML text).
    Svg,
}

impl Kind {
    /// The media type as EPUB manifests and HTTP spell it.
    pub fn media_type(self) -> &'static str {
        match self {
            Kind::Png => "image/png",
            Kind::Jpeg => "image/jpeg",
            Kind::Gif => "image/gif",
            Kind::Webp => "image/webp",
            Kind::Svg => "image/svg+xml",
        }
    }
}

/// The kind of image `bytes` hold, from their signature.
pub fn sniff(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(Kind::Png);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(Kind::Jpeg);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Some(Kind::Gif);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some(Kind::Webp);
    }
    // SVG: XML text whose first element is `<svg`, possibly after a declaration, comments or a
    // doctype. Only the first 4 KiB are looked at.
    let head = &bytes[..bytes.len().min(4096)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start();
    if t.starts_with('<') && text.contains("<svg") {
        return Some(Kind::Svg);
    }
    None
}

/// Why an image reference was refused: a diagnostic code, a message and a hint.
type Refusal = (&'static str, String, &'static str);

/// Check and load every image the parts name (and each raw `.txt` part's lead image: a file
/// with the same stem beside it), fill in [`ImageRef::asset`] and the book's asset table.
/// `book_dir` is the book folder; part source paths are relative to it.
pub fn resolve(book: &mut Book, book_dir: &Path, cfg: &ImagesConfig) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let root = match book_dir.canonicalize() {
        Ok(r) => r,
        Err(_) => return diags,
    };
    let limits = Limits {
        max_bytes: cfg.max_bytes.unwrap_or(DEFAULT_MAX_BYTES),
        max_pixels: cfg.max_pixels.unwrap_or(DEFAULT_MAX_PIXELS),
    };
    add_raw_lead_images(book, book_dir, &mut diags);
    // Real path → the asset id or the refusal, so a file used twice is read and reported once
    // per use but checked once.
    let mut cache: BTreeMap<PathBuf, Result<String, Refusal>> = BTreeMap::new();
    let mut assets = std::mem::take(&mut book.assets);
    book.for_each_image_mut(&mut |part, image, line| {
        let file = part.source.path.as_str();
        let result = locate(&root, book_dir, file, &image.src).and_then(|real| {
            cache
                .entry(real.clone())
                .or_insert_with(|| {
                    load(&real, &root, &limits).map(|asset| {
                        let id = asset.id.clone();
                        let source = crate::display_path(&real, &root);
                        assets.entry(id.clone()).or_insert(Asset { source, ..asset });
                        id
                    })
                })
                .clone()
        });
        match result {
            Ok(id) => {
                image.asset = Some(id);
                if image.alt.trim().is_empty() {
                    diags.push(
                        Diagnostic::warning(
                            "image-no-alt",
                            format!("image `{}` has no description", image.src),
                        )
                        .file(file)
                        .line(line)
                        .hint("describe the image for readers who cannot see it: `![description](path)` or `image-alt`"),
                    );
                }
            }
            Err(("image-outside", msg, hint)) => diags.push(
                Diagnostic::warning(
                    "image-outside",
                    format!("image `{}` left out, its description kept: {msg}", image.src),
                )
                .file(file)
                .line(line)
                .hint(hint),
            ),
            Err((code, msg, hint)) => diags.push(
                Diagnostic::error(code, format!("image `{}`: {msg}", image.src))
                    .file(file)
                    .line(line)
                    .hint(hint),
            ),
        }
    });
    book.assets = assets;
    diags
}

struct Limits {
    max_bytes: u64,
    max_pixels: u64,
}

/// A raw `.txt` part has no front matter: an image with the same stem beside it
/// (`014.jpg` next to `014.txt`) is its lead image, reported so the editor knows.
fn add_raw_lead_images(book: &mut Book, book_dir: &Path, diags: &mut Vec<Diagnostic>) {
    for part in &mut book.parts {
        let src = Path::new(&part.source.path);
        if !src
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("txt") || e.eq_ignore_ascii_case("text"))
        {
            continue;
        }
        let Some(stem) = src.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let dir = book_dir.join(src.parent().unwrap_or(Path::new("")));
        let found = ["png", "jpg", "jpeg", "gif", "webp", "svg"]
            .iter()
            .map(|ext| format!("{stem}.{ext}"))
            .find(|name| dir.join(name).symlink_metadata().is_ok());
        if let Some(name) = found {
            diags.push(
                Diagnostic::warning(
                    "lead-image",
                    format!("`{name}` beside the part is shown as its lead image"),
                )
                .file(part.source.path.clone())
                .line(1)
                .hint("rename or move the image if it is not meant for this part"),
            );
            part.blocks.insert(
                0,
                crate::model::Block::Figure {
                    image: ImageRef {
                        src: name,
                        ..ImageRef::default()
                    },
                    caption: vec![],
                    attr: crate::model::Attr {
                        classes: vec!["lead".into()],
                        ..Default::default()
                    },
                    span: crate::model::Span {
                        start: 0,
                        end: 0,
                        line: 1,
                    },
                },
            );
        }
    }
}

/// Does `s` start with a URL scheme (`https:`, `file:`, `data:`, `c:`)?
fn has_scheme(s: &str) -> bool {
    s.split_once(':').is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// `%XX` escapes decoded (Markdown destinations are URLs: `my%20map.png` is `my map.png`).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The real path of `src` as written in the part `file`, if it is allowed.
fn locate(root: &Path, book_dir: &Path, file: &str, src: &str) -> Result<PathBuf, Refusal> {
    const OUTSIDE_HINT: &str =
        "copy the image into the book folder (e.g. `sources/images/`) and use a relative path";
    let src = src.trim();
    if src.is_empty() {
        return Err(("image-missing", "no path given".into(), OUTSIDE_HINT));
    }
    if has_scheme(src) {
        return Err((
            "image-outside",
            "URLs are never fetched; only files inside the book folder are used".into(),
            OUTSIDE_HINT,
        ));
    }
    let path = percent_decode(src.split(['?', '#']).next().unwrap_or(src));
    if path.starts_with(['/', '\\']) || Path::new(&path).is_absolute() {
        return Err((
            "image-outside",
            "absolute paths are refused; only files inside the book folder are used".into(),
            OUTSIDE_HINT,
        ));
    }
    if path.split(['/', '\\']).any(|c| c == "..") || path.contains('\0') {
        return Err((
            "image-outside",
            "`..` is refused; only files inside the book folder are used".into(),
            OUTSIDE_HINT,
        ));
    }
    let part_dir = Path::new(file).parent().unwrap_or(Path::new(""));
    let joined = book_dir.join(part_dir).join(&path);
    let real = joined.canonicalize().map_err(|e| {
        (
            "image-missing",
            if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "no such file ({})",
                    Path::new(file)
                        .parent()
                        .unwrap_or(Path::new(""))
                        .join(&path)
                        .display()
                )
            } else {
                format!("cannot be read: {e}")
            },
            "check the path: it is relative to the part's file",
        )
    })?;
    if !real.starts_with(root) {
        return Err((
            "image-outside",
            "it is a symbolic link to a file outside the book folder".into(),
            OUTSIDE_HINT,
        ));
    }
    Ok(real)
}

/// Read and check one image file; the asset's `source` is filled in by the caller.
fn load(real: &Path, root: &Path, limits: &Limits) -> Result<Asset, Refusal> {
    let meta = std::fs::metadata(real)
        .map_err(|e| ("image-missing", format!("cannot be read: {e}"), ""))?;
    if !meta.is_file() {
        return Err((
            "image-not-file",
            "is not a regular file".into(),
            "only regular image files are used",
        ));
    }
    if meta.len() > limits.max_bytes {
        return Err((
            "image-too-large",
            format!(
                "{} bytes is over the limit of {} bytes",
                meta.len(),
                limits.max_bytes
            ),
            "make the file smaller, or raise `[images] max-bytes` in publish.toml",
        ));
    }
    // Read as every file of the book is read: never through a link, never blocking on a
    // FIFO swapped in after the check, never past the cap.
    let bytes = crate::safe_fs::read_file(real, &[root.to_path_buf()], limits.max_bytes).map_err(
        |why| match why {
            crate::safe_fs::Refusal::NotRegular(kind) => (
                "image-not-file",
                format!("is a {kind}, not a regular file"),
                "only regular image files are used",
            ),
            crate::safe_fs::Refusal::TooLarge { .. } => (
                "image-too-large",
                "the file is over the size limit".into(),
                "make the file smaller, or raise `[images] max-bytes` in publish.toml",
            ),
            crate::safe_fs::Refusal::Outside(_) => (
                "image-outside",
                "it leads outside the book folder".into(),
                "copy the image into the book folder and use a relative path",
            ),
            why => ("image-missing", format!("cannot be read: {why}"), ""),
        },
    )?;
    // A file that grew between the check and the read is still held to the limit.
    if bytes.len() as u64 > limits.max_bytes {
        return Err((
            "image-too-large",
            "the file is over the size limit".into(),
            "make the file smaller, or raise `[images] max-bytes` in publish.toml",
        ));
    }
    let kind = sniff(&bytes).ok_or((
        "image-type",
        "is not a PNG, JPEG, GIF, WebP or SVG image (judged by its content, not its name)".into(),
        "convert it to PNG or JPEG",
    ))?;
    let (bytes, width, height) = match kind {
        Kind::Svg => svg(&bytes, limits)?,
        _ => raster(bytes, kind, limits)?,
    };
    let id = crate::read::hex(&Sha256::digest(&bytes));
    Ok(Asset {
        id,
        media_type: kind.media_type().to_owned(),
        width,
        height,
        source: String::new(),
        bytes: Arc::new(bytes),
    })
}

const CORRUPT_HINT: &str = "open the image in an image editor and save it again";

fn too_many_pixels(w: u32, h: u32, limits: &Limits) -> Result<(), Refusal> {
    let pixels = u64::from(w) * u64::from(h);
    if pixels > limits.max_pixels {
        return Err((
            "image-too-large",
            format!(
                "{w}×{h} pixels is over the limit of {} pixels",
                limits.max_pixels
            ),
            "scale the image down, or raise `[images] max-pixels` in publish.toml",
        ));
    }
    Ok(())
}

/// Check a raster image: size from the header, then one full decode to prove it is whole.
fn raster(bytes: Vec<u8>, kind: Kind, limits: &Limits) -> Result<(Vec<u8>, u32, u32), Refusal> {
    use image::ImageDecoder;
    let format = match kind {
        Kind::Png => image::ImageFormat::Png,
        Kind::Jpeg => image::ImageFormat::Jpeg,
        Kind::Gif => image::ImageFormat::Gif,
        _ => image::ImageFormat::WebP,
    };
    let corrupt =
        |e: image::ImageError| ("image-corrupt", format!("is damaged: {e}"), CORRUPT_HINT);
    // PNG and GIF decoders read past the header before saying the size: read it here, so a
    // file declaring 100000×100000 pixels is refused before any decoder allocates for it.
    let header = match kind {
        Kind::Png if bytes.len() >= 24 && &bytes[12..16] == b"IHDR" => Some((
            u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]),
            u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]),
        )),
        Kind::Gif if bytes.len() >= 10 => Some((
            u32::from(u16::from_le_bytes([bytes[6], bytes[7]])),
            u32::from(u16::from_le_bytes([bytes[8], bytes[9]])),
        )),
        _ => None,
    };
    if let Some((w, h)) = header {
        too_many_pixels(w, h, limits)?;
    }
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(&bytes[..]), format);
    let mut l = image::Limits::default();
    // Decoding is bounded by the pixel limit (4 bytes a pixel, and some slack for the decoder).
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8).max(1 << 20));
    reader.limits(l);
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (w, h) = decoder.dimensions();
    too_many_pixels(w, h, limits)?;
    if w == 0 || h == 0 {
        return Err(("image-corrupt", "has no pixels".into(), CORRUPT_HINT));
    }
    let orientation = decoder.orientation().ok();
    // JPEG decoders fill a truncated scan with grey; the end-of-image marker must be there.
    if kind == Kind::Jpeg {
        let end = bytes
            .iter()
            .rposition(|&b| b != 0)
            .map_or(&bytes[..0], |i| &bytes[..=i]);
        if !end.ends_with(&[0xFF, 0xD9]) {
            return Err((
                "image-corrupt",
                "is truncated (the JPEG has no end marker)".into(),
                CORRUPT_HINT,
            ));
        }
    }
    image::DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    // A photo turned by its EXIF orientation is shown turned: width and height swap.
    let turned = matches!(
        orientation,
        Some(
            image::metadata::Orientation::Rotate90
                | image::metadata::Orientation::Rotate270
                | image::metadata::Orientation::Rotate90FlipH
                | image::metadata::Orientation::Rotate270FlipH
        )
    );
    let (w, h) = if turned { (h, w) } else { (w, h) };
    Ok((bytes, w, h))
}

/// Parse an SVG into a tree and write it back: only shapes, paths, gradients and embedded
/// raster images survive; no script, event attribute, foreign object, entity or external
/// reference can.
fn svg(bytes: &[u8], limits: &Limits) -> Result<(Vec<u8>, u32, u32), Refusal> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        (
            "image-corrupt",
            "is an SVG that is not UTF-8 text".into(),
            CORRUPT_HINT,
        )
    })?;
    let opts = usvg::Options {
        // Nothing outside the file: no linked images (files or data URLs), no system fonts.
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: Box::new(|_, _, _| None),
            resolve_string: Box::new(|_, _| None),
        },
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(text, &opts).map_err(|e| {
        (
            "image-corrupt",
            format!("is not a valid SVG: {e}"),
            CORRUPT_HINT,
        )
    })?;
    let size = tree.size();
    let (w, h) = (size.width().ceil() as u32, size.height().ceil() as u32);
    too_many_pixels(w, h, limits)?;
    let clean = tree.to_string(&usvg::WriteOptions::default());
    Ok((clean.into_bytes(), w.max(1), h.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(Kind::Png));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Kind::Jpeg));
        assert_eq!(sniff(b"GIF89a...."), Some(Kind::Gif));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Kind::Webp));
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            Some(Kind::Svg)
        );
        assert_eq!(sniff(b"<html><body>not an image"), None);
        assert_eq!(sniff(b"hello"), None);
    }

    #[test]
    fn schemes_and_escapes() {
        for s in [
            "http://x/a.png",
            "file:///etc/passwd",
            "data:image/png;base64,AA",
            "C:x",
        ] {
            assert!(has_scheme(s), "{s}");
        }
        for s in ["images/a.png", "a:b/c.png/../x", "./x.png"] {
            // `a:b/…` does have a scheme-like prefix; only the plain ones are relative.
            assert_eq!(has_scheme(s), s.starts_with("a:"), "{s}");
        }
        assert_eq!(percent_decode("my%20map.png"), "my map.png");
        assert_eq!(percent_decode("%2e%2e/x"), "../x");
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn hostile_svg_is_rewritten() {
        let hostile = br#"<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY x "ENTITYTEXT">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="20" onload="alert(1)">
<script>alert('svg')</script>
<rect width="40" height="20" fill="red" onclick="alert(2)"/>
<image href="http://example.org/x.png" width="10" height="10"/>
<image xlink:href="file:///etc/passwd" width="10" height="10"/>
<foreignObject width="10" height="10"><div xmlns="http://www.w3.org/1999/xhtml">&x;</div></foreignObject>
</svg>"#;
        let limits = Limits {
            max_bytes: DEFAULT_MAX_BYTES,
            max_pixels: DEFAULT_MAX_PIXELS,
        };
        let (clean, w, h) = svg(hostile, &limits).unwrap();
        let clean = String::from_utf8(clean).unwrap();
        for bad in [
            "script",
            "alert",
            "onload",
            "onclick",
            "example.org",
            "passwd",
            "foreignObject",
            "ENTITY",
            "ENTITYTEXT",
        ] {
            assert!(!clean.contains(bad), "{bad} survived in {clean}");
        }
        assert!(
            clean.contains("<path") || clean.contains("<rect"),
            "{clean}"
        );
        assert_eq!((w, h), (40, 20));
    }
}
