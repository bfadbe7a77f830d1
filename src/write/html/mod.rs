//! The HTML writer: a static, offline book site.
//!
//! `index.html` (title, author, contents, search), one page per part, `book.html` (the whole book
//! on one page), the theme's CSS and fonts, and the `search/` index folder. Links are relative and nothing
//! is fetched, so the site works from `file://`. Content markup comes from the shared renderer in
//! [`super::xhtml`]; this module only writes the page chrome, and escapes through
//! [`xhtml::escape`].

mod fonts;
pub mod search;

use super::xhtml::{self, Flavor, Options};
use super::{Artifact, Rendered, memo};
use crate::Context;
use crate::diag::Diagnostic;
use crate::model::{Book, Digits, LabelStyle, Part};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::fmt::Write;

use xhtml::escape;

/// The words of the site chrome, in the book's language.
struct Strings {
    skip: &'static str,
    contents: &'static str,
    whole_book: &'static str,
    search: &'static str,
    search_label: &'static str,
    search_button: &'static str,
    search_hint: &'static str,
    prev: &'static str,
    next: &'static str,
    parts_nav: &'static str,
    home: &'static str,
    by: &'static str,
    found: &'static str,
    none: &'static str,
    more: &'static str,
    loading: &'static str,
}

const AR: Strings = Strings {
    skip: "انتقل إلى المحتوى",
    contents: "المحتويات",
    whole_book: "الكتاب كاملًا في صفحة واحدة",
    search: "بحث",
    search_label: "ابحث في الكتاب",
    search_button: "ابحث",
    search_hint: "يُطابق البحث الكلمات وبداياتها، مع التشكيل أو دونه.",
    prev: "السابق",
    next: "التالي",
    parts_nav: "التنقل بين الأجزاء",
    home: "الصفحة الرئيسية",
    by: "بقلم",
    found: "النتائج: %d (الأجزاء: %p)",
    none: "لا نتائج.",
    more: "نتائج أخرى",
    loading: "جارٍ البحث…",
};

const EN: Strings = Strings {
    skip: "Skip to content",
    contents: "Contents",
    whole_book: "The whole book on one page",
    search: "Search",
    search_label: "Search the book",
    search_button: "Search",
    search_hint: "Matches words and word beginnings.",
    prev: "Previous",
    next: "Next",
    parts_nav: "Parts",
    home: "Home",
    by: "By",
    found: "Results: %d (parts: %p)",
    none: "No results.",
    more: "More results",
    loading: "Searching…",
};

/// How many parts the sidebar of a part page lists on each side of the current one: all of
/// them in a book of up to 51 parts; a window in a longer one, so the pages of a book of
/// hundreds of parts do not each carry the whole list (the contents page has it).
const SIDEBAR_REACH: usize = 25;

/// One page of a part.
struct PartPage<'a> {
    part: &'a Part,
    /// File name, e.g. `part-14.html`.
    file: String,
    /// «الجزء الرابع عشر».
    label: String,
}

/// What rendering one part gives: the body of its page, its body on the whole-book page,
/// its documents for the search index (anchor, text, normalised words) and diagnostics.
struct PartWork {
    page_body: String,
    book_body: String,
    /// The part's sections, with their ids on its own page and on the whole-book page.
    sections: Vec<xhtml::Section>,
    book_sections: Vec<xhtml::Section>,
    /// Its search documents: (anchor, text), the part title first.
    docs: Vec<(String, String)>,
    /// The words and stems of `docs`.
    postings: search::PartPostings,
    /// The opening of its text, for `<meta name="description">` ([`description`]).
    description: String,
    diagnostics: Vec<Diagnostic>,
}

/// Settings resolved once from the context.
struct Site<'a> {
    book: &'a Book,
    strings: &'static Strings,
    digits: Digits,
    search: bool,
    pages: Vec<PartPage<'a>>,
    /// Where each image is in the site (`images/…`), with its size there.
    images: std::sync::Arc<xhtml::ImageFiles>,
}

/// Render the HTML edition.
pub fn render(ctx: &Context) -> Rendered {
    let book = &ctx.book;
    let style: LabelStyle = ctx.config.book.part_label.unwrap_or_default();
    let digits: Digits = ctx.config.book.digits.unwrap_or_default();
    let arabic = matches!(
        book.meta.lang.as_str().split(['-', '_']).next(),
        Some("ar" | "fa" | "ur" | "ps" | "sd" | "ckb")
    );
    let mut timings: Vec<(&'static str, std::time::Duration)> = Vec::new();
    let mut phase = std::time::Instant::now();
    let (image_files, images) = site_images(ctx);
    let site = Site {
        images: std::sync::Arc::new(images),
        book,
        strings: if arabic { &AR } else { &EN },
        digits,
        search: ctx.config.html.search.unwrap_or(true),
        pages: page_names(&book.parts)
            .into_iter()
            .zip(&book.parts)
            .map(|(file, part)| PartPage {
                part,
                file,
                label: part.label(style, digits),
            })
            .collect(),
    };

    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let mut index = search::Index {
        digits: match digits {
            Digits::ArabicIndic => "arabic-indic",
            Digits::Western => "western",
            Digits::Persian => "persian",
        }
        .to_owned(),
        strings: [
            ("found", site.strings.found),
            ("none", site.strings.none),
            ("more", site.strings.more),
            ("loading", site.strings.loading),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        ..Default::default()
    };

    // Each part is rendered twice (its own page; the whole-book page, with its headings one
    // level down and prefixed ids) and its words are split for the index: the parts are
    // independent, so that work runs in parallel, and only the index is built in order.
    // In a watch, a part whose inputs did not change is not rendered again (see `memo`).
    let rendered: Vec<std::sync::Arc<PartWork>> = site
        .pages
        .par_iter()
        .map(|page| {
            let key = memo::KeyBuilder::new("html-part")
                .json(page.part)
                .str(&page.file)
                .debug(&site.digits)
                .debug(site.images.as_ref())
                .finish();
            memo::cached(key, || std::sync::Arc::new(site.render_part(page)))
        })
        .collect();
    timings.push(("parts", phase.elapsed()));
    phase = std::time::Instant::now();
    // The book's description when it has no subtitle: the opening of its first part.
    let opening = rendered
        .first()
        .map(|w| w.description.clone())
        .unwrap_or_default();
    let sections: Vec<Vec<xhtml::Section>> = rendered.iter().map(|w| w.sections.clone()).collect();
    let book_sections: Vec<Vec<xhtml::Section>> =
        rendered.iter().map(|w| w.book_sections.clone()).collect();
    let mut part_docs = Vec::with_capacity(rendered.len());
    for (page, work) in site.pages.iter().zip(&rendered) {
        diagnostics.extend(work.diagnostics.iter().cloned());
        let n = index.add_part(search::PartEntry {
            label: page.label.clone(),
            title: page.part.title_text(),
            href: page.file.clone(),
        });
        part_docs.push((n, work.docs.as_slice(), &work.postings));
    }
    if site.search {
        index.add_parts(&part_docs);
    }
    // The part pages are finished once every part's sections are known (for the sidebar).
    files.par_extend(
        site.pages
            .par_iter()
            .zip(&rendered)
            .enumerate()
            .map(|(i, (page, work))| {
                (
                    page.file.clone(),
                    site.part_page(i, &work.page_body, &work.description, &sections)
                        .into_bytes(),
                )
            }),
    );

    let book_description = match &book.meta.subtitle {
        Some(sub) if !sub.trim().is_empty() => description(&[sub.as_str()]),
        _ => opening,
    };
    files.push((
        "index.html".into(),
        site.index_page(&book_description, &sections).into_bytes(),
    ));
    files.push((
        "book.html".into(),
        site.book_page(&rendered, &book_description, &book_sections)
            .into_bytes(),
    ));

    timings.push(("pages", phase.elapsed()));
    phase = std::time::Instant::now();
    // The faces the pages use, as WOFF2; the text around the parts is on the index page and
    // in the theme's scripts.
    let index_page = files
        .iter()
        .find(|(n, _)| n == "index.html")
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let scripts: Vec<String> = ["site.js", "search.js"]
        .iter()
        .filter_map(|n| ctx.theme.text(n).map(str::to_owned))
        .collect();
    let mut generated: Vec<&str> = vec![&index_page];
    generated.extend(scripts.iter().map(String::as_str));
    let mut site_fonts = fonts::site_fonts(ctx, &generated);
    for name in ["book.css", "site.css", "site.js"] {
        match ctx.theme.file(name) {
            Some(bytes) if name.ends_with(".css") => {
                let css = site_fonts.rewrite_css(&String::from_utf8_lossy(bytes));
                files.push((name.into(), css.into_bytes()));
            }
            Some(bytes) => files.push((name.into(), bytes.to_vec())),
            None => diagnostics.push(missing_theme_file(name)),
        }
    }
    // Faces no theme style sheet declares get a rule of their own, first in book.css.
    let undeclared = site_fonts.undeclared_rules();
    if !undeclared.is_empty()
        && let Some((_, css)) = files.iter_mut().find(|(n, _)| n == "book.css")
    {
        let mut with = undeclared.into_bytes();
        with.append(css);
        *css = with;
    }
    timings.push(("fonts", phase.elapsed()));
    phase = std::time::Instant::now();
    if site.search {
        match ctx.theme.file("search.js") {
            Some(bytes) => files.push(("search.js".into(), bytes.to_vec())),
            None => diagnostics.push(missing_theme_file("search.js")),
        }
        files.extend(index.to_files());
    }
    timings.push(("search index", phase.elapsed()));

    // The faces the pages use, and every other file in the theme's fonts folder (the
    // licences).
    files.append(&mut site_fonts.files);
    for (path, bytes) in ctx.theme.files() {
        if path.starts_with("fonts/") && !is_font_file(path) && site_fonts.keeps_other_file(path) {
            files.push((path.to_owned(), bytes.to_vec()));
        }
    }

    files.extend(image_files);
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Rendered {
        artifact: Some(Artifact::Dir {
            name: "html".into(),
            files,
        }),
        diagnostics,
        timings,
        ..Rendered::default()
    }
}

/// The site's image files and where the pages find them. Photos wider than the site needs
/// (`[images] html-max-width`, default twice the text column) are scaled down for the site,
/// once each, in parallel; the PDF keeps the originals. SVG, GIF (may be animated) and images
/// small enough are served as they are.
fn site_images(ctx: &Context) -> (Vec<(String, Vec<u8>)>, xhtml::ImageFiles) {
    let max_width = ctx.config.images.html_max_width.unwrap_or(1400).max(16);
    let mut table = xhtml::image_files(&ctx.book);
    let scaled: Vec<(String, Vec<u8>, u32, u32)> = ctx
        .book
        .assets
        .par_iter()
        .map(|(id, a)| {
            let name = format!("images/{}", a.file_name());
            let scalable = matches!(
                a.media_type.as_str(),
                "image/jpeg" | "image/png" | "image/webp"
            );
            if scalable && a.width > max_width {
                // The asset's id is the SHA-256 of its bytes: a watch scales each photo once.
                let key = memo::KeyBuilder::new("html-scaled-image")
                    .str(&a.id)
                    .str(&a.media_type)
                    .bytes(&max_width.to_le_bytes())
                    .finish();
                if let Some((bytes, w, h)) =
                    memo::cached(key, || scale_down(a, max_width).map(std::sync::Arc::new))
                        .map(|s| s.as_ref().clone())
                {
                    return (id.clone(), bytes, w, h);
                }
            }
            let _ = name;
            (id.clone(), a.bytes.as_ref().clone(), a.width, a.height)
        })
        .collect();
    let mut files = Vec::with_capacity(scaled.len());
    for (id, bytes, w, h) in scaled {
        if let Some(f) = table.get_mut(&id) {
            f.width = w;
            f.height = h;
            files.push((f.href.clone(), bytes));
        }
    }
    (files, table)
}

/// A photo scaled to `max_width` pixels wide, in its own format (JPEG at quality 85, PNG and
/// WebP losslessly), turned upright by its EXIF orientation; `None` if it cannot be (the
/// original is served then).
fn scale_down(a: &crate::model::Asset, max_width: u32) -> Option<(Vec<u8>, u32, u32)> {
    use image::ImageDecoder;
    let reader = image::ImageReader::new(std::io::Cursor::new(a.bytes.as_slice()))
        .with_guessed_format()
        .ok()?;
    let mut decoder = reader.into_decoder().ok()?;
    let orientation = decoder.orientation().ok();
    let mut img = image::DynamicImage::from_decoder(decoder).ok()?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    let h = (u64::from(img.height()) * u64::from(max_width) / u64::from(img.width().max(1))).max(1)
        as u32;
    let small = img.resize_exact(max_width, h, image::imageops::FilterType::Lanczos3);
    let mut out = Vec::new();
    match a.media_type.as_str() {
        "image/jpeg" => {
            let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
            small.to_rgb8().write_with_encoder(enc).ok()?;
        }
        "image/png" => small
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .ok()?,
        _ => small
            .to_rgba8()
            .write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut out))
            .ok()?,
    }
    Some((out, max_width, h))
}

/// Whether an anchor id is a paragraph's (`p12`, not a heading's `h3`).
fn is_paragraph_id(id: &str) -> bool {
    id.strip_prefix('p')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn missing_theme_file(name: &str) -> Diagnostic {
    Diagnostic::warning(
        "theme-file-missing",
        format!("the theme has no `{name}`; the site is written without it"),
    )
    .hint("restore the file in the theme folder or remove the override")
}

fn is_font_file(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".ttf", ".otf", ".woff", ".woff2", ".ttc"]
        .iter()
        .any(|e| lower.ends_with(e))
}

/// `part-<number>.html` for each part, made unique (parts without a number, or with the same
/// number, get their position appended).
fn page_names(parts: &[Part]) -> Vec<String> {
    let mut used = BTreeSet::new();
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut name = match p.number {
                Some(n) => format!("part-{n}.html"),
                None => format!("part-x{}.html", i + 1),
            };
            if used.contains(&name) {
                name = format!("{}-{}.html", name.trim_end_matches(".html"), i + 1);
            }
            used.insert(name.clone());
            name
        })
        .collect()
}

/// The longest a page description gets, in characters, before its ellipsis: what search
/// engines show of one.
const DESCRIPTION_CHARS: usize = 160;

/// A page's description from the opening paragraphs `texts`: their text, spaces collapsed, up
/// to [`DESCRIPTION_CHARS`] characters, cut after a sentence's end (`.` `؟` `!` `?` `…`) if one
/// comes after half of that, else at the last space, with `…` when text was cut. Plain text:
/// the caller escapes it.
fn description(texts: &[&str]) -> String {
    let mut words = texts.iter().flat_map(|t| t.split_whitespace()).peekable();
    if words.peek().is_none() {
        return String::new();
    }
    let mut out = String::new();
    let mut chars = 0;
    while let Some(word) = words.next() {
        let len = word.chars().count();
        if chars + len + usize::from(chars > 0) > DESCRIPTION_CHARS {
            break;
        }
        if chars > 0 {
            out.push(' ');
            chars += 1;
        }
        out.push_str(word);
        chars += len;
        if words.peek().is_none() {
            return out;
        }
    }
    if out.is_empty() {
        // One word longer than a description: its beginning.
        let first = texts
            .iter()
            .flat_map(|t| t.split_whitespace())
            .next()
            .unwrap_or("");
        out = first.chars().take(DESCRIPTION_CHARS).collect();
    }
    let sentence_end = out
        .char_indices()
        .filter(|(i, c)| {
            matches!(c, '.' | '؟' | '!' | '?' | '…') && out[i + c.len_utf8()..].starts_with(' ')
        })
        .map(|(i, c)| i + c.len_utf8())
        .next_back();
    match sentence_end {
        Some(end) if out[..end].chars().count() >= DESCRIPTION_CHARS / 2 => {
            out.truncate(end);
            out
        }
        _ => {
            let trimmed = out.trim_end_matches(['،', ',', '؛', ';', ':', '-', '—']);
            format!("{trimmed}…")
        }
    }
}

/// Open Graph's `og:locale` for a BCP 47 tag: `language_TERRITORY`, the territory from the tag
/// or the language's usual one (`ar` → `ar_AR`, Facebook's code for Arabic).
fn og_locale(lang: &str) -> String {
    let mut parts = lang.split(['-', '_']);
    let language = parts.next().unwrap_or("").to_ascii_lowercase();
    let region = parts
        .find(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_alphabetic()))
        .map(str::to_ascii_uppercase);
    let region = region.unwrap_or_else(|| {
        match language.as_str() {
            "ar" => "AR",
            "fa" => "IR",
            "ur" => "PK",
            "he" => "IL",
            "en" => "US",
            "ps" => "AF",
            "ckb" => "IQ",
            "sd" => "PK",
            "tr" => "TR",
            "fr" => "FR",
            "de" => "DE",
            "es" => "ES",
            _ => "",
        }
        .to_owned()
    });
    if region.is_empty() {
        language
    } else {
        format!("{language}_{region}")
    }
}

/// `lang` and `dir` attributes for an element whose content differs from the book.
fn lang_dir_if_different(part: &Part, book: &Book) -> String {
    let mut out = String::new();
    if part.lang != book.meta.lang {
        let _ = write!(out, " lang=\"{}\"", escape(part.lang.as_str()));
    }
    if part.dir != book.meta.dir {
        let _ = write!(out, " dir=\"{}\"", part.dir.as_str());
    }
    out
}

/// What a page says about itself to search engines and link previews.
struct PageMeta<'a> {
    /// `og:title`: the page's title without the book's name.
    title: &'a str,
    /// `<meta name="description">` and `og:description`.
    description: &'a str,
    /// `og:type`: `book` for the book's pages, `article` for a part.
    kind: &'static str,
}

impl Site<'_> {
    fn head(&self, title: &str, page: &PageMeta, extra: &str) -> String {
        let meta = &self.book.meta;
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"{}\" dir=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n",
            escape(meta.lang.as_str()),
            meta.dir.as_str(),
            escape(title),
        );
        if let Some(author) = &meta.author {
            let _ = writeln!(out, "<meta name=\"author\" content=\"{}\">", escape(author));
        }
        let _ = writeln!(out, "<meta name=\"generator\" content=\"publish\">");
        // Text of the book, in attribute values: escaped like any other.
        if !page.description.is_empty() {
            let description = escape(page.description);
            let _ = writeln!(
                out,
                "<meta name=\"description\" content=\"{description}\">\n\
                 <meta property=\"og:description\" content=\"{description}\">"
            );
        }
        let _ = writeln!(
            out,
            "<meta property=\"og:title\" content=\"{}\">\n\
             <meta property=\"og:type\" content=\"{}\">",
            escape(page.title),
            page.kind
        );
        let _ = writeln!(
            out,
            "<meta property=\"og:locale\" content=\"{}\">\n\
             <meta property=\"og:site_name\" content=\"{}\">",
            escape(&og_locale(meta.lang.as_str())),
            escape(&meta.title)
        );
        out.push_str("<link rel=\"stylesheet\" href=\"book.css\">\n");
        out.push_str("<link rel=\"stylesheet\" href=\"site.css\">\n");
        out.push_str(extra);
        // The digits of the book's numbers, for the printed page numbers (site.css).
        let _ = writeln!(
            out,
            "</head>\n<body class=\"digits-{}\">",
            match self.digits {
                Digits::ArabicIndic => "arabic-indic",
                Digits::Western => "western",
                Digits::Persian => "persian",
            }
        );
        let _ = writeln!(
            out,
            "<a class=\"skip-link\" href=\"#main\">{}</a>",
            self.strings.skip
        );
        out
    }

    /// The banner on every page: the book title (a link home) and, with search, a search form
    /// that opens the results on `index.html`.
    fn banner(&self, is_index: bool) -> String {
        let s = self.strings;
        let mut out = String::from(if is_index {
            "<header class=\"site-header home\">\n"
        } else {
            "<header class=\"site-header\">\n"
        });
        if is_index {
            let _ = writeln!(
                out,
                "<p class=\"site-title\">{}</p>",
                escape(&self.book.meta.title)
            );
        } else {
            let _ = writeln!(
                out,
                "<p class=\"site-title\"><a href=\"index.html\" title=\"{}\">{}</a></p>",
                s.home,
                escape(&self.book.meta.title)
            );
        }
        if self.search && !is_index {
            let _ = writeln!(
                out,
                "<form class=\"site-search\" role=\"search\" action=\"index.html\" method=\"get\">\n\
                 <label for=\"q\" class=\"visually-hidden\">{}</label>\n\
                 <input type=\"search\" id=\"q\" name=\"q\" autocomplete=\"off\" placeholder=\"{}\" \
                 aria-controls=\"search-results\">\n\
                 <button type=\"submit\">{}</button>\n</form>",
                s.search_label, s.search, s.search_button
            );
        }
        out.push_str("</header>\n");
        if self.search && !is_index {
            // Results of the search box, shown in place above the page (search.js fills it).
            out.push_str(
                "<div class=\"search-panel\" id=\"search\">\n\
                 <p id=\"search-status\" class=\"search-status\" role=\"status\"></p>\n\
                 <ol id=\"search-results\" class=\"search-results\"></ol>\n</div>\n",
            );
        }
        out
    }

    /// The scripts of every page: search (it loads its index only when the reader searches)
    /// and the reader features (keyboard, text size, theme, reading position).
    fn scripts(&self) -> String {
        let mut out = String::new();
        if self.search {
            out.push_str("<script src=\"search.js\"></script>\n");
        }
        out.push_str("<script src=\"site.js\"></script>\n");
        out
    }

    fn footer(&self) -> String {
        let meta = &self.book.meta;
        let mut out = String::from("<footer class=\"site-footer\">\n<p>");
        out.push_str(&escape(&meta.title));
        if let Some(a) = &meta.author {
            let _ = write!(out, " · {}", escape(a));
        }
        let _ = write!(
            out,
            " · <time datetime=\"{}\" dir=\"ltr\">{}</time>",
            escape(&meta.date),
            escape(&self.format_date(&meta.date))
        );
        out.push_str("</p>\n");
        if let Some(r) = &meta.rights {
            let _ = writeln!(out, "<p>{}</p>", escape(r));
        }
        out.push_str("</footer>\n");
        out
    }

    /// The model's `YYYY-MM-DD` date with the configured digits.
    fn format_date(&self, date: &str) -> String {
        date.chars()
            .map(|c| match c.to_digit(10) {
                Some(d) => self.digits.format(u64::from(d)).chars().next().unwrap_or(c),
                None => c,
            })
            .collect()
    }

    fn full_title(&self, page: &PartPage) -> String {
        let title = page.part.title_text();
        if title.trim().is_empty() {
            page.label.clone()
        } else {
            format!("{}: {}", page.label, title)
        }
    }

    /// Render one part for its page, for the whole-book page and for the search index.
    fn render_part(&self, page: &PartPage) -> PartWork {
        let body = xhtml::part_body(
            page.part,
            &Options {
                flavor: Flavor::Html,
                digits: self.digits,
                heading_offset: 1,
                id_prefix: String::new(),
                images: self.images.clone(),
            },
        );
        // The same warnings come from both renderings: report them once.
        let book = xhtml::part_body(page.part, &self.book_options(page));
        let title = page.part.title_text();
        // The opening paragraphs (not headings): enough of them for a description.
        let mut opening: Vec<&str> = Vec::new();
        let mut len = 0;
        for a in body.anchors.iter().filter(|a| is_paragraph_id(&a.id)) {
            if len > DESCRIPTION_CHARS {
                break;
            }
            len += a.text.chars().count() + 1;
            opening.push(&a.text);
        }
        let description = description(&opening);
        let mut docs = Vec::with_capacity(body.anchors.len() + 1);
        let mut words = Vec::with_capacity(body.anchors.len() + 1);
        words.push(search::words(&title));
        docs.push(("title".to_owned(), title));
        for a in body.anchors {
            words.push(search::words(&a.text));
            docs.push((a.id, a.text));
        }
        PartWork {
            postings: search::PartPostings::of(&words),
            page_body: body.html,
            book_body: book.html,
            sections: body.sections,
            book_sections: book.sections,
            docs,
            description,
            diagnostics: body.diagnostics,
        }
    }

    /// Rendering options of a part on the whole-book page: headings one level further down,
    /// ids prefixed with the part's page name.
    fn book_options(&self, page: &PartPage) -> Options {
        Options {
            flavor: Flavor::Html,
            digits: self.digits,
            heading_offset: 2,
            id_prefix: format!("{}-", page.file.trim_end_matches(".html")),
            images: self.images.clone(),
        }
    }

    /// `<h1>`/`<h2>` content of a part: its label and its title.
    fn part_heading(&self, page: &PartPage, opts: &Options) -> String {
        let mut out = format!("<span class=\"part-label\">{}</span>", escape(&page.label));
        if !page.part.title_text().trim().is_empty() {
            let _ = write!(
                out,
                " <span class=\"part-title\">{}</span>",
                xhtml::inlines(page.part, &page.part.title, opts)
            );
        }
        out
    }

    /// The sections of a part as a nested list of links (`href` + `#id`), or nothing when
    /// the part has none.
    fn section_list(href: &str, sections: &[xhtml::Section]) -> String {
        if sections.is_empty() {
            return String::new();
        }
        let mut out = String::from("<ol class=\"toc-sections\">\n");
        for sec in sections {
            // A heading in another language keeps its direction inside the link, while the
            // link itself stays in the page's (a block link would otherwise move sides).
            let text = if sec.voice.is_empty() {
                escape(&sec.text)
            } else {
                format!("<span{}>{}</span>", sec.voice, escape(&sec.text))
            };
            let _ = writeln!(
                out,
                "<li><a href=\"{}#{}\">{text}</a></li>",
                escape(href),
                escape(&sec.id),
            );
        }
        out.push_str("</ol>\n");
        out
    }

    /// The contents sidebar of part page `i`: the parts (those near it in a long book) and,
    /// under the current one, its sections. Plain HTML; the stylesheet shows it beside the text
    /// on wide screens only.
    fn sidebar(&self, i: usize, sections: &[Vec<xhtml::Section>]) -> String {
        let s = self.strings;
        let first = i.saturating_sub(SIDEBAR_REACH);
        let last = (i + SIDEBAR_REACH).min(self.pages.len().saturating_sub(1));
        let mut out = format!(
            "<nav class=\"sidebar\" aria-label=\"{}\">\n<p class=\"sidebar-home\"><a href=\"index.html\">{}</a></p>\n<ol>\n",
            s.contents, s.contents
        );
        if first > 0 {
            out.push_str("<li class=\"sidebar-more\" aria-hidden=\"true\">…</li>\n");
        }
        for (j, page) in self.pages.iter().enumerate().take(last + 1).skip(first) {
            let current = if j == i { " aria-current=\"page\"" } else { "" };
            let _ = write!(
                out,
                "<li{}><a href=\"{}\"{current}>{}</a>",
                lang_dir_if_different(page.part, self.book),
                escape(&page.file),
                escape(&self.full_title(page))
            );
            if j == i {
                // Same-page links: the fragment alone.
                out.push('\n');
                out.push_str(&Self::section_list("", &sections[j]));
            }
            out.push_str("</li>\n");
        }
        if last + 1 < self.pages.len() {
            out.push_str("<li class=\"sidebar-more\" aria-hidden=\"true\">…</li>\n");
        }
        out.push_str("</ol>\n</nav>\n");
        out
    }

    fn part_page(
        &self,
        i: usize,
        body: &str,
        description: &str,
        sections: &[Vec<xhtml::Section>],
    ) -> String {
        let page = &self.pages[i];
        let s = self.strings;
        let prev = i.checked_sub(1).and_then(|j| self.pages.get(j));
        let next = self.pages.get(i + 1);
        let mut links = String::new();
        if let Some(p) = prev {
            let _ = writeln!(links, "<link rel=\"prev\" href=\"{}\">", escape(&p.file));
        }
        if let Some(n) = next {
            let _ = writeln!(links, "<link rel=\"next\" href=\"{}\">", escape(&n.file));
        }
        let own_title = self.full_title(page);
        let title = format!("{own_title} — {}", self.book.meta.title);
        let page_meta = PageMeta {
            title: &own_title,
            description,
            kind: "article",
        };
        let mut out = self.head(&title, &page_meta, &links);
        out.push_str(&self.banner(false));
        let opts = Options {
            flavor: Flavor::Html,
            digits: self.digits,
            heading_offset: 1,
            id_prefix: String::new(),
            images: self.images.clone(),
        };
        let _ = write!(
            out,
            "<main id=\"main\">\n<article class=\"part\"{}>\n<h1 id=\"title\">{}</h1>\n{}</article>\n</main>\n",
            lang_dir_if_different(page.part, self.book),
            self.part_heading(page, &opts),
            body
        );
        out.push_str(&self.sidebar(i, sections));
        // In reading order: "previous" comes first (at the start side: right in RTL), "next"
        // last (at the end side: left in RTL). The CSS uses logical properties only.
        let _ = writeln!(out, "<nav class=\"pager\" aria-label=\"{}\">", s.parts_nav);
        if let Some(p) = prev {
            let _ = writeln!(
                out,
                "<a class=\"pager-prev\" rel=\"prev\" href=\"{}\"><span class=\"pager-dir\">{}</span> <span class=\"pager-label\">{}</span></a>",
                escape(&p.file),
                s.prev,
                escape(&p.label)
            );
        }
        let _ = writeln!(
            out,
            "<a class=\"pager-home\" href=\"index.html\">{}</a>",
            s.contents
        );
        if let Some(n) = next {
            let _ = writeln!(
                out,
                "<a class=\"pager-next\" rel=\"next\" href=\"{}\"><span class=\"pager-dir\">{}</span> <span class=\"pager-label\">{}</span></a>",
                escape(&n.file),
                s.next,
                escape(&n.label)
            );
        }
        out.push_str("</nav>\n");
        out.push_str(&self.footer());
        out.push_str(&self.scripts());
        out.push_str("</body>\n</html>\n");
        out
    }

    /// The book's title, subtitle and author, as `<div class="title-block">`.
    fn title_block(&self) -> String {
        let meta = &self.book.meta;
        let mut out = String::from("<div class=\"title-block\">\n");
        let _ = writeln!(out, "<h1>{}</h1>", escape(&meta.title));
        if let Some(sub) = &meta.subtitle {
            let _ = writeln!(out, "<p class=\"subtitle\">{}</p>", escape(sub));
        }
        if let Some(a) = &meta.author {
            let _ = writeln!(
                out,
                "<p class=\"author\"><span class=\"visually-hidden\">{} </span>{}</p>",
                self.strings.by,
                escape(a)
            );
        }
        out.push_str("</div>\n");
        out
    }

    /// `sections[i]` are the sections of part `i` with their ids on the part's page;
    /// `description` is the book's.
    fn index_page(&self, description: &str, sections: &[Vec<xhtml::Section>]) -> String {
        let meta = &self.book.meta;
        let s = self.strings;
        let page_meta = PageMeta {
            title: &meta.title,
            description,
            kind: "book",
        };
        let mut out = self.head(&meta.title, &page_meta, "");
        out.push_str(&self.banner(true));
        out.push_str("<main id=\"main\">\n");
        out.push_str(&self.title_block());
        if self.search {
            let _ = write!(
                out,
                "<section class=\"search\" id=\"search\" aria-labelledby=\"search-heading\">\n\
                 <h2 id=\"search-heading\">{}</h2>\n\
                 <form class=\"search-form\" role=\"search\" action=\"index.html\" method=\"get\">\n\
                 <label for=\"q\">{}</label>\n\
                 <input type=\"search\" id=\"q\" name=\"q\" autocomplete=\"off\" aria-describedby=\"search-hint\">\n\
                 <button type=\"submit\">{}</button>\n\
                 </form>\n\
                 <p id=\"search-hint\" class=\"search-hint\">{}</p>\n\
                 <p id=\"search-status\" class=\"search-status\" role=\"status\"></p>\n\
                 <ol id=\"search-results\" class=\"search-results\"></ol>\n\
                 </section>\n",
                s.search, s.search_label, s.search_button, s.search_hint
            );
        }
        let _ = write!(
            out,
            "<nav class=\"toc\" aria-labelledby=\"toc-heading\">\n<h2 id=\"toc-heading\">{}</h2>\n<ol>\n",
            s.contents
        );
        let opts = Options {
            flavor: Flavor::Html,
            digits: self.digits,
            heading_offset: 1,
            id_prefix: String::new(),
            images: self.images.clone(),
        };
        for (page, sections) in self.pages.iter().zip(sections) {
            let _ = writeln!(
                out,
                "<li{}><a href=\"{}\">{}</a>\n{}</li>",
                lang_dir_if_different(page.part, self.book),
                escape(&page.file),
                self.part_heading(page, &opts),
                Self::section_list(&page.file, sections)
            );
        }
        let _ = write!(
            out,
            "</ol>\n<p class=\"whole-book\"><a href=\"book.html\">{}</a></p>\n</nav>\n</main>\n",
            s.whole_book
        );
        out.push_str(&self.footer());
        out.push_str(&self.scripts());
        out.push_str("</body>\n</html>\n");
        out
    }

    /// The whole book on one page; `bodies` hold the parts' bodies rendered for it,
    /// `description` is the book's and `sections` the parts' sections (ids prefixed as on
    /// this page).
    fn book_page(
        &self,
        bodies: &[std::sync::Arc<PartWork>],
        description: &str,
        sections: &[Vec<xhtml::Section>],
    ) -> String {
        let meta = &self.book.meta;
        let s = self.strings;
        let page_meta = PageMeta {
            title: &meta.title,
            description,
            kind: "book",
        };
        let mut out = self.head(&meta.title, &page_meta, "");
        out.push_str(&self.banner(false));
        out.push_str("<main id=\"main\" class=\"whole\">\n");
        out.push_str(&self.title_block());
        let _ = write!(
            out,
            "<nav class=\"toc\" aria-labelledby=\"toc-heading\">\n<h2 id=\"toc-heading\">{}</h2>\n<ol>\n",
            s.contents
        );
        let prefixes: Vec<String> = self
            .pages
            .iter()
            .map(|p| format!("{}-", p.file.trim_end_matches(".html")))
            .collect();
        for ((page, prefix), sections) in self.pages.iter().zip(&prefixes).zip(sections) {
            let opts = self.book_options(page);
            let _ = writeln!(
                out,
                "<li{}><a href=\"#{}title\">{}</a>\n{}</li>",
                lang_dir_if_different(page.part, self.book),
                prefix,
                self.part_heading(page, &opts),
                Self::section_list("", sections)
            );
        }
        out.push_str("</ol>\n</nav>\n");
        for ((page, prefix), body) in self.pages.iter().zip(&prefixes).zip(bodies) {
            let opts = self.book_options(page);
            let _ = write!(
                out,
                "<article class=\"part\"{} aria-labelledby=\"{prefix}title\">\n<h2 id=\"{prefix}title\">{}</h2>\n{}</article>\n",
                lang_dir_if_different(page.part, self.book),
                self.part_heading(page, &opts),
                body.book_body
            );
        }
        out.push_str("</main>\n");
        out.push_str(&self.footer());
        out.push_str(&self.scripts());
        out.push_str("</body>\n</html>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dir, Lang, Source};

    fn part(number: Option<u32>) -> Part {
        Part {
            number,
            title: Vec::new(),
            series: None,
            author: None,
            lang: Lang::default(),
            dir: Dir::Rtl,
            source: Source {
                path: "sources/x.md".into(),
                sha256: String::new(),
                encoding: "utf-8".into(),
            },
            blocks: Vec::new(),
            leading_heading: false,
        }
    }

    #[test]
    fn description_cuts_at_a_sentence_or_a_word() {
        // Short text: whole, no ellipsis.
        assert_eq!(description(&["قصة  قصيرة", "جدًا."]), "قصة قصيرة جدًا.");
        // Long text: at most 160 characters plus the ellipsis, cut between words.
        let long = "كلمة ".repeat(100);
        let d = description(&[long.as_str()]);
        assert!(d.ends_with("كلمة…"), "{d}");
        assert!(d.chars().count() <= DESCRIPTION_CHARS + 1, "{d}");
        // A sentence ending after half the length is where it stops.
        let text = format!("{}. {}", "أول ".repeat(25).trim_end(), "ثان ".repeat(40));
        let d = description(&[text.as_str()]);
        assert!(d.ends_with("أول."), "{d}");
        // A trailing comma is not left before the ellipsis.
        let text = format!("{}، {}", "كلمة ".repeat(32).trim_end(), "أخرى ".repeat(40));
        assert!(description(&[text.as_str()]).ends_with("كلمة…"));
        // One endless word: its beginning.
        let word = "ا".repeat(500);
        assert_eq!(
            description(&[word.as_str()]).chars().count(),
            DESCRIPTION_CHARS + 1
        );
        assert_eq!(description(&[]), "");
    }

    #[test]
    fn og_locale_from_the_language_tag() {
        assert_eq!(og_locale("ar"), "ar_AR");
        assert_eq!(og_locale("ar-EG"), "ar_EG");
        assert_eq!(og_locale("fa"), "fa_IR");
        assert_eq!(og_locale("en-GB"), "en_GB");
        assert_eq!(og_locale("sr-Latn-RS"), "sr_RS");
        assert_eq!(og_locale("xx"), "xx");
    }

    #[test]
    fn page_names_are_unique() {
        let parts = [part(Some(2)), part(None), part(Some(2)), part(Some(3))];
        assert_eq!(
            page_names(&parts),
            [
                "part-2.html",
                "part-x2.html",
                "part-2-3.html",
                "part-3.html"
            ]
        );
    }
}
