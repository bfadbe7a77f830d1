//! The EPUB 3 writer: the shared model → one EPUB 3.3 archive, right-to-left, accessible and
//! reproducible (issue 4).
//!
//! `epub-builder` assembles the package (OPF, NCX, navigation document, zip); every content
//! document is written here, its body by the shared [`xhtml`] renderer, so the EPUB and the HTML
//! site show the same markup. [`pack`] adds what epub-builder's templates cannot say and fixes
//! the zip entry times. Source text only ever reaches the output escaped: through
//! [`xhtml::escape`] in our documents, through epub-builder's escaper in the OPF/NCX/nav.

mod pack;

use super::fonts;
use super::xhtml::{self, Flavor};
use super::{Artifact, Rendered};
use crate::Context;
use crate::diag::Diagnostic;
use crate::model::{Digits, Meta, Part};
use epub_builder::{
    EpubBuilder, EpubContent, EpubVersion, MetadataOpfV3, ReferenceType, TocElement, ZipLibrary,
};
use rayon::prelude::*;
use std::fmt::Write;
use std::path::{Component, Path};

/// Name of the navigation document (in the nav, the NCX and the OPF guide).
const TOC_NAME: &str = "المحتويات";

/// Name of the landmarks list of the navigation document (read out by screen readers).
const LANDMARKS_NAME: &str = "معالم الكتاب";
/// Title of the colophon.
const COLOPHON_TITLE: &str = "بيانات النشر";

/// Render the EPUB edition: `<slug>.epub`, or error diagnostics and no artifact.
pub fn render(ctx: &Context) -> Rendered {
    let mut diagnostics = Vec::new();
    let mut timings = Vec::new();
    match build(ctx, &mut diagnostics, &mut timings) {
        Ok(bytes) => Rendered {
            artifact: Some(Artifact::File {
                name: format!("{}.epub", ctx.book.meta.slug),
                bytes,
            }),
            diagnostics,
            timings,
            ..Rendered::default()
        },
        Err(e) => {
            diagnostics.push(e);
            Rendered {
                artifact: None,
                diagnostics,
                ..Rendered::default()
            }
        }
    }
}

/// The book's identifier: `[book] identifier` (ISBN or URN) when set, else a UUID URN derived
/// from title and author, so it is stable across builds.
pub fn identifier(meta: &Meta) -> String {
    match meta.identifier.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => derived_uuid(meta).urn().to_string(),
    }
}

/// UUID v5 of the book's title and author (in the URL namespace, over a `urn:publish:` name).
pub fn derived_uuid(meta: &Meta) -> uuid::Uuid {
    let name = format!(
        "urn:publish:book:{}\u{1F}{}",
        meta.title,
        meta.author.as_deref().unwrap_or("")
    );
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes())
}

fn err(message: impl Into<String>) -> Diagnostic {
    Diagnostic::error("epub", message.into())
}

/// Text for metadata: characters XML forbids are left out and reported.
fn clean(text: &str, what: &str, diags: &mut Vec<Diagnostic>) -> String {
    let bad = xhtml::forbidden_chars(text);
    if bad.is_empty() {
        return text.to_owned();
    }
    let list: Vec<String> = bad.iter().map(|c| format!("U+{:04X}", *c as u32)).collect();
    diags.push(
        Diagnostic::warning(
            "forbidden-char",
            format!(
                "characters not allowed in XML were left out of the {what}: {}",
                list.join(", ")
            ),
        )
        .hint("remove these control characters from the sources or publish.toml"),
    );
    text.chars().filter(|c| !xhtml::is_forbidden(*c)).collect()
}

/// A part's entry in the navigation: «الجزء الرابع عشر: من الموصل إلى سقوط الرقة».
pub fn nav_label(part: &Part, ctx: &Context) -> String {
    let book = &ctx.config.book;
    let label = part.label(
        book.part_label.unwrap_or_default(),
        book.digits.unwrap_or_default(),
    );
    let title = part.title_text();
    let title = title.trim();
    if title.is_empty() {
        label
    } else {
        format!("{label}: {title}")
    }
}

fn build(
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
    timings: &mut Vec<(&'static str, std::time::Duration)>,
) -> Result<Vec<u8>, Diagnostic> {
    let meta = &ctx.book.meta;
    if ctx.book.parts.is_empty() {
        return Err(err("the book has no parts"));
    }
    let lang = clean(meta.lang.as_str(), "language", diags);
    let dir = meta.dir.as_str();
    let title = clean(&meta.title, "title", diags);
    let author = meta.author.as_deref().map(|a| clean(a, "author", diags));
    let identifier = clean(&identifier(meta), "identifier", diags);
    let uuid = derived_uuid(meta);
    let when = chrono::DateTime::<chrono::Utc>::from_timestamp(meta.timestamp, 0)
        .ok_or_else(|| err(format!("build time {} is out of range", meta.timestamp)))?;
    let lib = |e: epub_builder::Error| err(format!("cannot assemble the EPUB: {e}"));

    let mut b = EpubBuilder::new(ZipLibrary::new().map_err(lib)?).map_err(lib)?;
    b.epub_version(EpubVersion::V33);
    // Sets `page-progression-direction` of the spine.
    b.metadata("direction", dir).map_err(lib)?;
    b.set_title(title.clone());
    if let Some(a) = &author {
        b.add_author(a.clone());
    }
    b.add_language(lang.clone());
    b.set_generator(format!("publish {}", env!("CARGO_PKG_VERSION")));
    b.set_toc_name(TOC_NAME);
    for k in &meta.keywords {
        b.add_subject(clean(k, "keywords", diags));
    }
    if let Some(r) = &meta.rights {
        b.set_license(clean(r, "rights statement", diags));
    }
    b.set_uuid(uuid);
    b.set_publication_date(when);
    b.set_modified_date(when);
    let digits = ctx.config.book.digits.unwrap_or_default();
    let nav_labels: Vec<String> = ctx
        .book
        .parts
        .iter()
        .map(|part| clean(&nav_label(part, ctx), "navigation", &mut Vec::new()))
        .collect();
    let image_files = std::sync::Arc::new(xhtml::image_files(&ctx.book));
    // The cover (typeset by typst) and the parts' documents do not depend on each other: they
    // are made in parallel, the parts among themselves too.
    let ((cover, cover_diags, cover_time), part_docs) = rayon::join(
        || {
            let started = std::time::Instant::now();
            let mut d = Vec::new();
            let c = cover(ctx, &mut d);
            (c, d, started.elapsed())
        },
        || {
            ctx.book
                .parts
                .par_iter()
                .zip(&nav_labels)
                .map(|(part, label)| {
                    // In a watch, an unchanged part's document is not rendered again.
                    let key = super::memo::KeyBuilder::new("epub-part")
                        .json(part)
                        .str(label)
                        .debug(&digits)
                        .debug(&ctx.config.book.part_label)
                        .debug(image_files.as_ref())
                        .finish();
                    super::memo::cached(key, || {
                        part_document(ctx, part, label, digits, image_files.clone())
                    })
                })
                .collect::<Vec<_>>()
        },
    );
    diags.extend(cover_diags);
    timings.push(("cover", cover_time));
    let cover = cover?;
    let mut all_alt = true;
    ctx.book
        .for_each_image(&mut |i| all_alt &= !i.alt.trim().is_empty());
    let image_info = Images {
        cover: cover.is_some(),
        figures: !ctx.book.assets.is_empty(),
        all_alt,
    };
    for m in accessibility_metadata(image_info) {
        b.add_metadata_opf(Box::new(m));
    }

    // The text around the parts, for the fonts it needs (the colophon's list of fonts aside).
    // The colophon's paths and hashes are set in the body font (see `stylesheet`), so they
    // bring in no code font: that is embedded only for code in the parts.
    let title_page = title_page(ctx);
    let bare_colophon = colophon(ctx, &identifier, &[], digits);
    let mut generated: Vec<&str> = vec![&title_page, &bare_colophon, TOC_NAME];
    generated.extend(nav_labels.iter().map(String::as_str));
    let text = fonts::Text {
        generated: &generated,
    };
    let fonts = fonts::embedded(ctx, &text, diags);
    b.stylesheet(stylesheet(ctx, &fonts, diags).as_bytes())
        .map_err(lib)?;
    for f in &fonts {
        b.add_resource(&f.href, f.bytes, f.media_type)
            .map_err(lib)?;
    }
    // Each image once, under a name made from its content.
    for a in ctx.book.assets.values() {
        let href = format!("images/{}", a.file_name());
        b.add_resource(&href, a.bytes.as_slice(), a.media_type.as_str())
            .map_err(lib)?;
    }

    let page = Page { lang: &lang, dir };
    let cover_alt = match &author {
        Some(a) => format!("غلاف كتاب «{title}» — {a}"),
        None => format!("غلاف كتاب «{title}»"),
    };
    if let Some(cover) = cover {
        let href = format!("images/cover.{}", cover.ext);
        b.add_cover_image(&href, cover.bytes.as_slice(), cover.media_type)
            .map_err(lib)?;
        let body = format!(
            "<section class=\"cover\" epub:type=\"cover\">\n<img src=\"{href}\" alt=\"{}\" role=\"doc-cover\"/>\n</section>\n",
            xhtml::escape(&cover_alt)
        );
        let doc = page.render(
            &title,
            " class=\"cover-page\" epub:type=\"frontmatter\"",
            &body,
        );
        b.add_content(EpubContent::new("cover.xhtml", doc.as_bytes()))
            .map_err(lib)?;
    }

    let doc = page.render(&title, " epub:type=\"frontmatter\"", &title_page);
    // No reftype: epub-builder would list an untitled title page in the guide.
    b.add_content(EpubContent::new("title.xhtml", doc.as_bytes()))
        .map_err(lib)?;

    let mut has_sections = false;
    for (i, ((doc, sections, part_diags), label)) in
        part_docs.into_iter().zip(nav_labels).enumerate()
    {
        // The part's forbidden characters are reported once, by `part_body`.
        diags.extend(part_diags);
        let href = format!("part-{:03}.xhtml", i + 1);
        let mut content = EpubContent::new(href.clone(), doc.as_bytes()).title(label);
        // Its sections, nested under it in the navigation (`<ol>`) and the NCX (`navPoint`).
        for sec in sections {
            let text = clean(&sec.text, "navigation", &mut Vec::new());
            if !text.trim().is_empty() {
                has_sections = true;
                content = content.child(TocElement::new(format!("{href}#{}", sec.id), text));
            }
        }
        if i == 0 {
            content = content.reftype(ReferenceType::Text);
        }
        b.add_content(content).map_err(lib)?;
    }

    let doc = page.render(
        COLOPHON_TITLE,
        " epub:type=\"backmatter\"",
        &colophon(ctx, &identifier, &fonts, digits),
    );
    b.add_content(
        EpubContent::new("colophon.xhtml", doc.as_bytes())
            .title(COLOPHON_TITLE)
            .reftype(ReferenceType::Colophon),
    )
    .map_err(lib)?;

    let mut raw = Vec::new();
    b.generate(&mut raw).map_err(lib)?;
    let ncx_depth = if has_sections { 2 } else { 1 };
    let patches = pack::Patches {
        title,
        lang,
        dir,
        identifier,
        builder_identifier: uuid.urn().to_string(),
        publisher: meta
            .publisher
            .as_deref()
            .map(|p| clean(p, "publisher", diags)),
        timestamp: meta.timestamp,
        ncx_depth,
    };
    pack::repack(&raw, &patches).map_err(|e| err(format!("cannot finish the EPUB: {e}")))
}

/// EPUB Accessibility 1.1 metadata (schema.org properties in the OPF).
///
/// No `dcterms:conformsTo` claim: conformance to EPUB Accessibility 1.1 / WCAG 2 AA needs an
/// audit of things `publish` cannot check (e.g. contrast of a custom theme, quality of the
/// cover description), so claiming it would be a guess. The summary says so.
/// The only image is the cover (with a text description), so the visual mode and the
/// alternative text feature are claimed only when there is one.
fn accessibility_metadata(images: Images) -> Vec<MetadataOpfV3> {
    let has_cover = images.cover;
    let visual = images.cover || images.figures;
    let mut props = vec![("schema:accessMode", "textual")];
    if visual {
        props.push(("schema:accessMode", "visual"));
    }
    props.extend([
        ("schema:accessModeSufficient", "textual"),
        ("schema:accessibilityFeature", "structuralNavigation"),
        ("schema:accessibilityFeature", "tableOfContents"),
        ("schema:accessibilityFeature", "readingOrder"),
    ]);
    // Claimed only when every image (the cover's description is generated) has a text
    // alternative: one figure without a description makes the claim false.
    if visual && images.all_alt {
        props.push(("schema:accessibilityFeature", "alternativeText"));
    }
    props.extend([
        ("schema:accessibilityFeature", "displayTransformability"),
        ("schema:accessibilityHazard", "none"),
    ]);
    let mut out: Vec<MetadataOpfV3> = props
        .into_iter()
        .map(|(p, c)| MetadataOpfV3::new(p.to_owned(), c.to_owned()))
        .collect();
    let mut summary = String::from(
        "نص متدفق من اليمين إلى اليسار بخطوط مضمّنة، مع جدول محتويات وترتيب قراءة منطقي \
         وعناوين مهيكلة وحواشٍ مرتبطة بمواضع الإحالة إليها ذهابًا وإيابًا.",
    );
    if has_cover {
        summary.push_str(" ولصورة الغلاف وصف نصي.");
    }
    summary.push_str(" لم يُدقَّق الكتاب وفق WCAG، فلا يدّعي مطابقة معيار EPUB Accessibility.");
    let mut m = MetadataOpfV3::new(
        "schema:accessibilitySummary".to_owned(),
        // epub-builder writes `content` as is: escape it here.
        xhtml::escape(&summary),
    );
    m.add_xml_lang("ar".to_owned())
        .add_direction("rtl".to_owned());
    out.push(m);
    out
}

/// What images the EPUB holds, for its accessibility metadata.
#[derive(Debug, Clone, Copy)]
struct Images {
    /// A cover image (its description is generated from title and author).
    cover: bool,
    /// Figures or inline images from the sources.
    figures: bool,
    /// Every image from the sources has a description.
    all_alt: bool,
}

/// The frame shared by every content document: XML declaration, language and direction.
struct Page<'a> {
    lang: &'a str,
    dir: &'a str,
}

impl Page<'_> {
    /// A whole XHTML document; `title` is plain text, `body_attrs` and `body` are markup.
    fn render(&self, title: &str, body_attrs: &str, body: &str) -> String {
        let lang = xhtml::escape(self.lang);
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n\
             <html xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\" \
             lang=\"{lang}\" xml:lang=\"{lang}\" dir=\"{dir}\">\n<head>\n<meta charset=\"utf-8\"/>\n\
             <title>{title}</title>\n\
             <link rel=\"stylesheet\" type=\"text/css\" href=\"stylesheet.css\"/>\n</head>\n\
             <body{body_attrs}>\n{body}</body>\n</html>\n",
            dir = self.dir,
            title = xhtml::escape(title),
        )
    }
}

/// One part as an XHTML document: its label and title, then the body and its footnotes.
fn part_document(
    ctx: &Context,
    part: &Part,
    nav_label: &str,
    digits: Digits,
    images: std::sync::Arc<xhtml::ImageFiles>,
) -> (String, Vec<xhtml::Section>, Vec<Diagnostic>) {
    let opts = xhtml::Options {
        flavor: Flavor::Epub,
        digits,
        heading_offset: 1,
        id_prefix: String::new(),
        images,
    };
    let body = xhtml::part_body(part, &opts);
    let book = &ctx.config.book;
    let label = part.label(book.part_label.unwrap_or_default(), digits);
    let mut html = String::new();
    let _ = write!(
        html,
        "<section class=\"part\" epub:type=\"chapter\" role=\"doc-chapter\" aria-labelledby=\"part-title\">\n\
         <h1 id=\"part-title\"><span class=\"part-label\">{}</span>",
        xhtml::escape(&label)
    );
    if !part.title.is_empty() {
        let _ = write!(
            html,
            "<span class=\"part-separator\">: </span><span class=\"part-title\">{}</span>",
            xhtml::inlines(part, &part.title, &opts)
        );
    }
    html.push_str("</h1>\n");
    html.push_str(&body.html);
    html.push_str("</section>\n");
    let page = Page {
        lang: part.lang.as_str(),
        dir: part.dir.as_str(),
    };
    (
        page.render(nav_label, " epub:type=\"bodymatter\"", &html),
        body.sections,
        body.diagnostics,
    )
}

/// The title page: title, subtitle, author, publisher.
fn title_page(ctx: &Context) -> String {
    let meta = &ctx.book.meta;
    let mut html = String::from("<section class=\"titlepage\" epub:type=\"titlepage\">\n");
    let _ = writeln!(
        html,
        "<h1 class=\"book-title\">{}</h1>",
        xhtml::escape(&meta.title)
    );
    if let Some(s) = &meta.subtitle {
        let _ = writeln!(
            html,
            "<p class=\"book-subtitle\" epub:type=\"subtitle\">{}</p>",
            xhtml::escape(s)
        );
    }
    if let Some(a) = &meta.author {
        let _ = writeln!(html, "<p class=\"book-author\">{}</p>", xhtml::escape(a));
    }
    if let Some(p) = &meta.publisher {
        let _ = writeln!(html, "<p class=\"book-publisher\">{}</p>", xhtml::escape(p));
    }
    html.push_str("</section>\n");
    html
}

/// Digits of a date or number string in the configured digits.
fn localise_digits(s: &str, digits: Digits) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => digits.format(u64::from(d)).chars().next().unwrap_or(c),
            None => c,
        })
        .collect()
}

/// The colophon: identifier, build date, `publish` version, fonts and every source with its
/// SHA-256, so a reader can check which texts the edition was made from.
fn colophon(ctx: &Context, identifier: &str, fonts: &[fonts::Font<'_>], digits: Digits) -> String {
    let meta = &ctx.book.meta;
    let e = xhtml::escape;
    let mut html =
        String::from("<section class=\"colophon\" epub:type=\"colophon\" role=\"doc-colophon\">\n");
    let _ = writeln!(html, "<h1>{}</h1>\n<dl>", e(COLOPHON_TITLE));
    let mut row = |term: &str, value: String| {
        let _ = writeln!(html, "<dt>{}</dt>\n<dd>{value}</dd>", e(term));
    };
    row("العنوان", e(&meta.title));
    if let Some(a) = &meta.author {
        row("المؤلف", e(a));
    }
    if let Some(p) = &meta.publisher {
        row("الناشر", e(p));
    }
    if let Some(r) = &meta.rights {
        row("الحقوق", e(r));
    }
    row(
        "المعرّف",
        format!("<bdi dir=\"ltr\">{}</bdi>", e(identifier)),
    );
    row(
        "تاريخ البناء",
        format!(
            "<time datetime=\"{}\">{}</time>",
            e(&meta.date),
            e(&localise_digits(&meta.date, digits))
        ),
    );
    row(
        "أُنتج بواسطة",
        format!(
            "<bdi dir=\"ltr\">publish {}</bdi>",
            e(env!("CARGO_PKG_VERSION"))
        ),
    );
    let mut families: Vec<&str> = fonts.iter().map(|f| f.family.as_str()).collect();
    families.dedup();
    if !families.is_empty() {
        row(
            "الخطوط",
            format!(
                "<bdi dir=\"ltr\">{}</bdi> (SIL Open Font License)",
                e(&families.join(", "))
            ),
        );
    }
    html.push_str("</dl>\n<h2>المصادر</h2>\n<ol class=\"sources\">\n");
    let book = &ctx.config.book;
    for part in &ctx.book.parts {
        let _ = writeln!(
            html,
            "<li>{}: <code dir=\"ltr\">{}</code><br/>بصمة SHA-256: <code dir=\"ltr\" class=\"hash\">{}</code></li>",
            e(&part.label(book.part_label.unwrap_or_default(), digits)),
            e(&part.source.path),
            e(&part.source.sha256)
        );
    }
    html.push_str("</ol>\n</section>\n");
    html
}

/// A CSS string literal (theme data, but quoted safely all the same).
fn css_string(s: &str) -> String {
    let inner: String = s
        .chars()
        .filter(|c| !matches!(c, '"' | '\\' | '\n' | '\r') && !c.is_control())
        .collect();
    format!("\"{inner}\"")
}

/// `stylesheet.css`: `@font-face` for the embedded fonts and the theme's families, then the
/// content CSS shared with the HTML site (`book.css`), then the EPUB-only rules (`epub.css`).
fn stylesheet(ctx: &Context, fonts: &[fonts::Font<'_>], diags: &mut Vec<Diagnostic>) -> String {
    let mut css = String::from("/* Generated by publish: the theme's fonts, embedded. */\n");
    for f in fonts {
        let _ = writeln!(
            css,
            "@font-face {{ font-family: {}; src: url({}); font-weight: {}; font-style: {}; }}",
            css_string(&f.family),
            css_string(&f.href),
            if f.bold { "bold" } else { "normal" },
            if f.italic { "italic" } else { "normal" },
        );
    }
    let list = |names: &[String], generic: &str| {
        let mut v: Vec<String> = names.iter().map(|n| css_string(n)).collect();
        v.push(generic.to_owned());
        v.join(", ")
    };
    let cfg = &ctx.theme.config.fonts;
    let _ = writeln!(
        css,
        "html {{ font-family: {}; }}\ncode, pre, kbd, samp {{ font-family: {}; }}\n",
        list(&cfg.body, "serif"),
        list(&cfg.code, "monospace")
    );
    // The colophon's paths and hashes in the body font: a code font embedded for forty hex
    // digits a part would be most of the EPUB's weight (the default's is 400 KB).
    let _ = writeln!(
        css,
        "section.colophon code {{ font-family: {}; }}\n",
        list(&cfg.body, "serif")
    );
    // Per-language body fonts of the theme, picked by the `lang` the writer puts on blocks.
    for (lang, families) in &cfg.lang {
        if lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            let _ = writeln!(
                css,
                ":lang({lang}) {{ font-family: {}; }}",
                list(families, "serif")
            );
        }
    }
    for file in ["book.css", "epub.css"] {
        if let Some(text) = ctx.theme.text(file) {
            let (text, dropped) = epub_css(text);
            if dropped > 0 {
                diags.push(
                    Diagnostic::warning(
                        "epub-css",
                        format!(
                            "{dropped} `direction`/`unicode-bidi` declaration(s) of the theme's {file} left out of the EPUB: EPUB style sheets may not set them"
                        ),
                    )
                    .file(format!("themes/{}/{file}", ctx.theme.name))
                    .hint("set direction in markup (the writers already put dir=\"ltr\" on code) and remove these declarations"),
                );
            }
            let _ = writeln!(css, "/* {file} */\n{text}");
        }
    }
    css
}

/// A theme style sheet as the EPUB carries it. Removes `direction` and `unicode-bidi`
/// declarations, which EPUB 3 forbids in style sheets (EPUBCheck CSS-001) because direction
/// belongs to the markup, and the theme's `@font-face` rules: the EPUB declares the faces it
/// embeds itself, and a rule for a face it leaves out would name a missing file. Returns the CSS
/// and how many direction declarations were removed. Comments and strings are copied untouched.
fn epub_css(css: &str) -> (String, usize) {
    let mut out = String::with_capacity(css.len());
    let mut removed = 0;
    let mut depth = 0usize;
    // At the start of a declaration: just after `{` or `;` inside a block.
    let mut decl_start = false;
    let mut i = 0;
    while let Some(c) = css[i..].chars().next() {
        let rest = &css[i..];
        if let Some(end) = super::fonts::skip_comment_or_string(css, i) {
            out.push_str(&css[i..end]);
            // After a string the declaration has begun; a comment changes nothing.
            if !rest.starts_with("/*") {
                decl_start = false;
            }
            i = end;
            continue;
        }
        if depth == 0
            && rest
                .get(..10)
                .is_some_and(|h| h.eq_ignore_ascii_case("@font-face"))
        {
            i = fonts::rule_end(css, i);
            continue;
        }
        if decl_start && (c.is_ascii_alphabetic() || c == '-') {
            let len = rest
                .find(|d: char| !(d.is_ascii_alphanumeric() || d == '-'))
                .unwrap_or(rest.len());
            let name = rest[..len].to_ascii_lowercase();
            if (name == "direction" || name == "unicode-bidi")
                && rest[len..].trim_start().starts_with(':')
            {
                let value_end = rest.find([';', '}']).unwrap_or(rest.len());
                let skip = if rest[value_end..].starts_with(';') {
                    value_end + 1
                } else {
                    value_end
                };
                i += skip;
                removed += 1;
                continue;
            }
            out.push_str(&rest[..len]);
            i += len;
            decl_start = false;
            continue;
        }
        match c {
            '{' => {
                depth += 1;
                decl_start = true;
            }
            '}' => {
                depth = depth.saturating_sub(1);
                decl_start = depth > 0;
            }
            ';' => decl_start = depth > 0,
            c if c.is_whitespace() => {}
            _ => decl_start = false,
        }
        out.push(c);
        i += c.len_utf8();
    }
    (out, removed)
}

/// A cover image and its type.
struct Cover {
    bytes: Vec<u8>,
    media_type: &'static str,
    ext: &'static str,
}

/// The cover: the image named by `[epub] cover` (inside the book folder, PNG or JPEG), else one
/// generated from the book metadata by the PDF edition's typst template.
fn cover(ctx: &Context, diags: &mut Vec<Diagnostic>) -> Result<Option<Cover>, Diagnostic> {
    let Some(name) = &ctx.config.epub.cover else {
        return match super::pdf::render_cover_png(ctx) {
            Ok(bytes) => Ok(Some(Cover {
                bytes,
                media_type: "image/png",
                ext: "png",
            })),
            Err(d) if d.is_error() => Err(d),
            Err(d) => {
                diags.push(d);
                Ok(None)
            }
        };
    };
    let bad = |msg: String| {
        Diagnostic::error("epub-cover", msg)
            .file("publish.toml")
            .hint(
                "name a PNG or JPEG file inside the book folder, e.g. cover = \"images/cover.png\"",
            )
    };
    let rel = Path::new(name);
    if name.is_empty()
        || !rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(bad(format!(
            "[epub] cover `{name}` must be a relative path inside the book folder"
        )));
    }
    let path = ctx.book_dir.join(rel);
    // A symbolic link may still point outside the book folder.
    let inside = match (path.canonicalize(), ctx.book_dir.canonicalize()) {
        (Ok(p), Ok(root)) => p.starts_with(root),
        (Err(e), _) | (_, Err(e)) => {
            return Err(bad(format!("cannot read the cover `{name}`: {e}")));
        }
    };
    if !inside {
        return Err(bad(format!(
            "[epub] cover `{name}` leads outside the book folder"
        )));
    }
    // Checked when the config was loaded; read again the same guarded way (never a FIFO).
    let roots = match ctx.book_dir.canonicalize() {
        Ok(root) => vec![root],
        Err(e) => return Err(bad(format!("cannot read the book folder: {e}"))),
    };
    let bytes = crate::safe_fs::read_file(&path, &roots, crate::safe_fs::COVER_MAX_BYTES)
        .map_err(|e| bad(format!("the cover `{name}` {e}")))?;
    let (media_type, ext) = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        ("image/png", "png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        ("image/jpeg", "jpg")
    } else {
        return Err(bad(format!(
            "the cover `{name}` is not a PNG or JPEG image"
        )));
    };
    Ok(Some(Cover {
        bytes,
        media_type,
        ext,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dir, Lang};

    fn meta(title: &str, author: Option<&str>) -> Meta {
        Meta {
            title: title.into(),
            subtitle: None,
            author: author.map(Into::into),
            lang: Lang::default(),
            dir: Dir::Rtl,
            identifier: None,
            date: "2026-11-24".into(),
            timestamp: 1_795_478_400,
            publisher: None,
            rights: None,
            keywords: Vec::new(),
            slug: "book".into(),
        }
    }

    #[test]
    fn derived_identifier_is_stable_and_depends_on_title_and_author() {
        let a = identifier(&meta("وهم الخلافة", Some("عزيز جلال")));
        assert_eq!(a, identifier(&meta("وهم الخلافة", Some("عزيز جلال"))));
        assert!(a.starts_with("urn:uuid:"), "{a}");
        assert_ne!(a, identifier(&meta("وهم الخلافة", None)));
        assert_ne!(a, identifier(&meta("عنوان آخر", Some("عزيز جلال"))));
        let mut m = meta("x", None);
        m.identifier = Some(" urn:isbn:9780000000002 ".into());
        assert_eq!(identifier(&m), "urn:isbn:9780000000002");
    }

    #[test]
    fn metadata_text_drops_and_reports_forbidden_characters() {
        let mut d = Vec::new();
        assert_eq!(clean("a\u{0}b\u{1B}c", "title", &mut d), "abc");
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("U+0000"), "{}", d[0].message);
        assert_eq!(clean("سليم", "title", &mut d), "سليم");
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn direction_declarations_are_removed_from_css() {
        let css = "code {\n  unicode-bidi: isolate;\n  direction: ltr;\n}\n@media print { pre { color: red; direction:rtl } }\n/* direction: ltr; */ p::after { content: \"direction: x;\"; }";
        let (out, n) = epub_css(css);
        assert_eq!(n, 3, "{out}");
        assert!(
            !out.contains("isolate") && !out.contains("direction:rtl"),
            "{out}"
        );
        assert!(out.contains("color: red;"), "{out}");
        assert!(out.contains("/* direction: ltr; */"), "{out}");
        assert!(out.contains("content: \"direction: x;\""), "{out}");
        assert_eq!(epub_css("p { text-align: start; }").1, 0);
    }

    #[test]
    fn theme_font_faces_are_left_to_the_writer() {
        let css = "@font-face {\n  font-family: \"A}\";\n  src: url(\"fonts/A.ttf\");\n}\n/* @font-face { */\nbody { font-family: \"A\"; }\n@FONT-FACE{src:url(b.ttf)}p{margin:0}";
        let (out, _) = epub_css(css);
        assert_eq!(
            out,
            "\n/* @font-face { */\nbody { font-family: \"A\"; }\np{margin:0}"
        );
    }

    #[test]
    fn visual_mode_and_alt_text_are_claimed_only_when_true() {
        let with = |cover: bool, figures: bool, all_alt: bool| Images {
            cover,
            figures,
            all_alt,
        };
        let has = |i: Images, prop: &str, value: &str| {
            accessibility_metadata(i)
                .iter()
                .any(|m| m.property == prop && m.content == value)
        };
        let alt = "schema:accessibilityFeature";
        assert!(has(with(true, false, true), "schema:accessMode", "visual"));
        assert!(has(with(true, false, true), alt, "alternativeText"));
        assert!(!has(
            with(false, false, true),
            "schema:accessMode",
            "visual"
        ));
        assert!(!has(with(false, false, true), alt, "alternativeText"));
        assert!(has(with(false, true, true), "schema:accessMode", "visual"));
        assert!(has(with(false, true, true), alt, "alternativeText"));
        // One figure without a description and the claim is gone, cover or not.
        assert!(!has(with(true, true, false), alt, "alternativeText"));
        assert!(has(
            with(false, false, true),
            "schema:accessModeSufficient",
            "textual"
        ));
        assert!(
            !accessibility_metadata(with(true, true, true))
                .iter()
                .any(|m| m.property == "dcterms:conformsTo")
        );
    }

    #[test]
    fn css_strings_cannot_break_out() {
        assert_eq!(css_string("Amiri\"; } body { x"), "\"Amiri; } body { x\"");
        assert_eq!(
            localise_digits("2026-11-24", Digits::ArabicIndic),
            "٢٠٢٦-١١-٢٤"
        );
    }
}
