//! The PDF writer: the model → a print-ready, archival PDF typeset by typst in-process.
//!
//! The theme's `book.typ` is a fixed template; the book reaches it as JSON data
//! ([`view`]) through our own [`world::BookWorld`], which serves only the template, the data
//! and the theme's fonts. Before typesetting, every character is checked against the fonts
//! ([`glyphs`]). The same machinery renders the EPUB cover ([`render_cover_png`]).

pub mod glyphs;
pub mod guard;
pub mod pdfjs;
pub mod postpass;
pub mod print;
pub mod textlayer;
pub mod view;
pub mod volumes;
pub mod world;

use super::{Artifact, Rendered};
use crate::Context;
use crate::diag::Diagnostic;
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use typst::WorldExt;
use typst::diag::{Severity, SourceDiagnostic};
use typst::foundations::Smart;
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};
use view::Mode;
use world::{BookWorld, FontSet};

/// The template file in the theme.
const TEMPLATE: &str = "book.typ";

/// Render the PDF edition: the reading PDF, and with `[print]` also the print interior
/// (`<slug>-print.pdf`) and its cover (`<slug>-cover.pdf`), typeset at the same time.
pub fn render(ctx: &Context) -> Rendered {
    // Validated when the config was read: an error here cannot happen, but is not ignored.
    let spec = print::spec(&ctx.config);
    let reading = || {
        let mut diagnostics = Vec::new();
        let mut timings = Vec::new();
        let result = render_pdf(ctx, &mut diagnostics, &mut timings);
        (result, diagnostics, timings)
    };
    let ((result, mut diagnostics, mut timings), printed) = match &spec {
        Ok(Some(spec)) => {
            let (a, b) = rayon::join(reading, || render_print(ctx, spec));
            (a, Some(b))
        }
        Ok(None) => (reading(), None),
        Err(e) => {
            let (r, mut d, t) = reading();
            d.push(Diagnostic::error("config", e.clone()).file("publish.toml"));
            ((r, d, t), None)
        }
    };
    if result.is_none() && !diagnostics.iter().any(|d| d.is_error()) {
        diagnostics.push(Diagnostic::error("pdf", "the PDF could not be typeset"));
    }
    let name = format!("{}.pdf", ctx.book.meta.slug);
    let mut notes = Vec::new();
    let artifact = match printed {
        None => result.map(|bytes| Artifact::File { name, bytes }),
        Some(p) => {
            diagnostics.extend(p.diagnostics);
            timings.extend(p.timings);
            notes = p.notes;
            match (result, p.files) {
                (Some(bytes), Some(mut files)) => {
                    files.insert(0, (name, bytes));
                    Some(Artifact::Files(files))
                }
                _ => None,
            }
        }
    };
    Rendered {
        artifact,
        diagnostics,
        timings,
        notes,
    }
}

/// `--format print`: the print edition alone — interior and cover, or one of each per volume —
/// without the reading PDF. Without a `[print]` table its defaults apply, as for `check --print`.
pub fn render_print_only(ctx: &Context) -> Rendered {
    let printed = print_with_defaults(ctx);
    Rendered {
        artifact: printed.files.map(Artifact::Files),
        diagnostics: printed.diagnostics,
        timings: printed.timings,
        notes: printed.notes,
    }
}

/// `publish check --print`: typeset the print interior and cover (with the `[print]` table, or
/// its defaults) and return the preflight's diagnostics and the log figures; nothing is written.
pub fn check_print(ctx: &Context) -> (Vec<Diagnostic>, Vec<String>) {
    let printed = print_with_defaults(ctx);
    (printed.diagnostics, printed.notes)
}

/// The print edition with the `[print]` table, or its defaults when the table is absent; a
/// failure without an error of its own gets one.
fn print_with_defaults(ctx: &Context) -> Printed {
    let mut config = ctx.config.clone();
    config.print.get_or_insert_with(Default::default);
    let mut printed = match print::spec(&config) {
        Ok(Some(spec)) => render_print(ctx, &spec),
        Ok(None) => Printed::default(),
        Err(e) => Printed {
            diagnostics: vec![Diagnostic::error("config", e).file("publish.toml")],
            ..Printed::default()
        },
    };
    if printed.files.is_none() && !printed.diagnostics.iter().any(|d| d.is_error()) {
        printed.diagnostics.push(Diagnostic::error(
            "print",
            "the print edition could not be typeset",
        ));
    }
    printed
}

/// What the print production made: its files (absent on failure), diagnostics, timings and
/// the figures for the log (page count, spine width, gutter).
#[derive(Default)]
struct Printed {
    files: Option<Vec<(String, Vec<u8>)>>,
    diagnostics: Vec<Diagnostic>,
    timings: Vec<(&'static str, std::time::Duration)>,
    notes: Vec<String>,
}

/// The print edition: one interior and cover, or one of each per volume (`<slug>-1.pdf`,
/// `<slug>-1-cover.pdf` …), the volumes typeset in parallel.
fn render_print(ctx: &Context, spec: &print::PrintSpec) -> Printed {
    let mut out = Printed {
        files: None,
        diagnostics: Vec::new(),
        timings: Vec::new(),
        notes: Vec::new(),
    };
    let slug = &ctx.book.meta.slug;
    let configured = match print::volumes_config(&ctx.config, ctx.book.parts.len()) {
        Ok(v) => v,
        Err(e) => {
            out.diagnostics
                .push(Diagnostic::error("config", e).file("publish.toml"));
            return out;
        }
    };
    if configured.is_empty() && spec.max_pages.is_none() {
        let one = print_one(ctx, spec, None);
        out.diagnostics.extend(one.diagnostics);
        out.timings.extend(one.timings);
        out.notes
            .extend(one.note.map(|n| format!("print: {slug}-print.pdf {n}")));
        if let (Some(interior), Some(cover)) = (one.interior, one.cover) {
            out.files = Some(vec![
                (format!("{slug}-print.pdf"), interior),
                (format!("{slug}-cover.pdf"), cover),
            ]);
        }
        return out;
    }
    let started = std::time::Instant::now();
    let arabic = ctx.book.meta.lang.0.starts_with("ar");
    let title = |i: usize, given: Option<&String>| {
        given
            .cloned()
            .unwrap_or_else(|| volumes::default_title(i + 1, arabic))
    };
    let mut plan: Vec<volumes::Volume> = if configured.is_empty() {
        let max = spec.max_pages.unwrap_or(u32::MAX) as f64;
        let pages = print::part_pages_estimate(ctx, spec);
        volumes::pack(&pages, max * volumes::FIRST_FILL, |n| {
            print::matter_pages_estimate(n, spec)
        })
        .into_iter()
        .enumerate()
        .map(|(i, parts)| volumes::Volume {
            parts,
            title: title(i, None),
        })
        .collect()
    } else {
        configured
            .iter()
            .enumerate()
            .map(|(i, (parts, t))| volumes::Volume {
                parts: parts.clone(),
                title: title(i, t.as_ref()),
            })
            .collect()
    };
    // Volumes already typeset, by parts and title (a re-split renumbers the later volumes).
    let mut done: std::collections::BTreeMap<(usize, usize, String), PrintedOne> =
        std::collections::BTreeMap::new();
    let key = |v: &volumes::Volume| (v.parts.start, v.parts.end, v.title.clone());
    for round in 0..=volumes::MAX_ROUNDS {
        let todo: Vec<&volumes::Volume> = plan
            .iter()
            .filter(|v| !done.contains_key(&key(v)))
            .collect();
        let results: Vec<(_, PrintedOne)> = todo
            .par_iter()
            .map(|v| {
                let sub = Context {
                    book: crate::model::Book {
                        meta: ctx.book.meta.clone(),
                        parts: ctx.book.parts[v.parts.clone()].to_vec(),
                        assets: ctx.book.assets.clone(),
                    },
                    config: ctx.config.clone(),
                    theme: ctx.theme.clone(),
                    book_dir: ctx.book_dir.clone(),
                };
                (key(v), print_one(&sub, spec, Some(&v.title)))
            })
            .collect();
        done.extend(results);
        let Some(max) = spec.max_pages else { break };
        if round == volumes::MAX_ROUNDS {
            break;
        }
        // A volume over the limit is split again by the pages its parts really took.
        let mut next = Vec::new();
        let mut changed = false;
        for v in &plan {
            let one = &done[&key(v)];
            if one.pages <= max || v.parts.len() < 2 || one.part_pages.len() != v.parts.len() {
                next.push(v.parts.clone());
                continue;
            }
            changed = true;
            let matter = one.pages.saturating_sub(one.part_pages.iter().sum::<u32>()) as f64;
            let pages: Vec<f64> = one.part_pages.iter().map(|&p| p as f64).collect();
            next.extend(
                volumes::pack(&pages, max as f64, |_| matter)
                    .into_iter()
                    .map(|r| r.start + v.parts.start..r.end + v.parts.start),
            );
        }
        if !changed {
            break;
        }
        plan = next
            .into_iter()
            .enumerate()
            .map(|(i, parts)| volumes::Volume {
                parts,
                title: title(i, None),
            })
            .collect();
    }
    let mut files = Vec::new();
    let mut failed = false;
    for (i, v) in plan.iter().enumerate() {
        let Some(one) = done.remove(&key(v)) else {
            failed = true;
            continue;
        };
        let n = i + 1;
        out.diagnostics.extend(one.diagnostics);
        if let Some(max) = spec.max_pages
            && one.pages > max
        {
            out.diagnostics.push(
                Diagnostic::warning(
                    "volume-too-long",
                    format!(
                        "volume {n} has {} pages, more than max-pages = {max}: its part{} cannot be split",
                        one.pages,
                        if v.parts.len() == 1 { "" } else { "s" }
                    ),
                )
                .file("publish.toml"),
            );
        }
        out.notes.extend(one.note.map(|note| {
            format!(
                "print: {slug}-{n}.pdf ({}, parts {}–{}) {note}",
                v.title,
                v.parts.start + 1,
                v.parts.end
            )
        }));
        match (one.interior, one.cover) {
            (Some(interior), Some(cover)) => {
                files.push((format!("{slug}-{n}.pdf"), interior));
                files.push((format!("{slug}-{n}-cover.pdf"), cover));
            }
            _ => failed = true,
        }
    }
    out.timings.push(("print: volumes", started.elapsed()));
    if !failed {
        out.files = Some(files);
    }
    out
}

/// One print interior and its cover, with what the log and the volume split need.
#[derive(Default)]
struct PrintedOne {
    interior: Option<Vec<u8>>,
    cover: Option<Vec<u8>>,
    /// Page count of the interior.
    pages: u32,
    /// Pages each part took (from its opening page to the next part's or the colophon's).
    part_pages: Vec<u32>,
    diagnostics: Vec<Diagnostic>,
    timings: Vec<(&'static str, std::time::Duration)>,
    /// Page count, inside margin and spine, for the log.
    note: Option<String>,
}

/// Typeset one print interior and its cover. The gutter depends on the page count, which is
/// known only after typesetting: the one pass uses the count estimated from the text. A
/// second pass runs only when the real count needs a *wider* inside margin than the estimate
/// gave; when it needs a narrower one, the wider margin is kept (a binding is never harmed by
/// more gutter) and the log says so — so each interior is laid out once in the usual case,
/// which is what lets volumes typeset in parallel pay off.
fn print_one(ctx: &Context, spec: &print::PrintSpec, volume: Option<&str>) -> PrintedOne {
    let mut out = PrintedOne::default();
    let diags = &mut out.diagnostics;
    // The reading PDF reports a wrong standard; here it only stops the print files.
    let Ok(standards) = standards(ctx) else {
        return out;
    };
    let mut clock = std::time::Instant::now();
    let estimate = print::estimate_pages(ctx, spec);
    let mut used = estimate;
    let typeset_at = |pages: u32, diags: &mut Vec<Diagnostic>| {
        let w = world(
            ctx,
            Mode::Print,
            &[],
            Some(print::interior_view(spec, pages, volume)),
            diags,
        )?;
        let doc = typeset(ctx, &w, diags)?;
        Some((w, doc))
    };
    let Some((mut w, mut doc)) = typeset_at(used, diags) else {
        return out;
    };
    let pages = doc.pages().len() as u32;
    if spec.needs_relayout(used, pages) {
        used = pages;
        let Some(again) = typeset_at(used, diags) else {
            return out;
        };
        (w, doc) = again;
    }
    out.timings
        .push(("print: typeset (typst)", clock.elapsed()));
    clock = std::time::Instant::now();
    let pages = doc.pages().len() as u32;
    out.pages = pages;
    out.part_pages = part_pages(&doc, ctx.book.parts.len());
    let boxes = print::Boxes {
        offset: spec.offset(),
        bleed: spec.bleed,
    };
    let Some(interior) = export(ctx, &w, &doc, standards, diags) else {
        return out;
    };
    let interior = match print::set_boxes(&interior, boxes) {
        Ok(b) => b,
        Err(e) => {
            diags.push(Diagnostic::error("print", format!("print interior: {e}")));
            return out;
        }
    };
    out.timings
        .push(("print: export and page boxes", clock.elapsed()));
    clock = std::time::Instant::now();
    preflight(&doc, &interior, spec, "print interior", diags);
    // The cover's spine holds the interior's leaves.
    let spine = print::spine_mm(pages, spec.paper);
    let gutter_mm = spec.gutter_for(used) / print::PT_PER_MM;
    let table_mm = spec.gutter_for(pages) / print::PT_PER_MM;
    let kept = if table_mm < gutter_mm {
        format!(
            " (the table asks {table_mm:.1} mm for {pages} pages; the estimate's wider margin is kept)"
        )
    } else {
        String::new()
    };
    out.note = Some(format!(
        "has {pages} pages (pad-to {}), inside margin {gutter_mm:.1} mm{kept}; spine {spine:.2} mm \
         ({} leaves of {})",
        spec.pad_to,
        pages.div_ceil(2),
        spec.paper.describe(),
    ));
    if spine < print::MIN_SPINE_TEXT_MM {
        diags.push(
            Diagnostic::warning(
                "spine-too-thin",
                format!(
                    "the spine{} is {spine:.2} mm wide, less than the {} mm that hold text: the cover's spine is left blank",
                    volume.map(|v| format!(" of {v}")).unwrap_or_default(),
                    print::MIN_SPINE_TEXT_MM
                ),
            )
            .file("publish.toml"),
        );
    }
    let Some(cw) = world(
        ctx,
        Mode::Spread,
        &[],
        Some(print::cover_view(spec, pages, volume)),
        diags,
    ) else {
        return out;
    };
    let Some(cdoc) = typeset(ctx, &cw, diags) else {
        return out;
    };
    let Ok(standards) = self::standards(ctx) else {
        return out;
    };
    let Some(cover) = export(ctx, &cw, &cdoc, standards, diags) else {
        return out;
    };
    let cover = match print::set_boxes(&cover, boxes) {
        Ok(b) => b,
        Err(e) => {
            diags.push(Diagnostic::error("print", format!("print cover: {e}")));
            return out;
        }
    };
    preflight(&cdoc, &cover, spec, "cover", diags);
    out.timings.push(("print: cover", clock.elapsed()));
    out.interior = Some(interior);
    out.cover = Some(cover);
    out
}

/// Pages each of `parts` parts took: from the page of its label `part-i` to the next part's
/// or the colophon's. Empty when a label cannot be found (a theme without them).
fn part_pages(doc: &PagedDocument, parts: usize) -> Vec<u32> {
    use typst::introspection::Introspector;
    let intro = doc.introspector();
    let page_of = |name: &str| -> Option<usize> {
        let label = typst::foundations::Label::new(typst::utils::PicoStr::intern(name))?;
        let loc = intro.query_label(label).ok()?.location()?;
        intro.page(loc).map(|p| p.get())
    };
    let mut starts = Vec::with_capacity(parts + 1);
    for i in 0..parts {
        match page_of(&format!("part-{i}")) {
            Some(p) => starts.push(p),
            None => return Vec::new(),
        }
    }
    match page_of("colophon") {
        Some(p) => starts.push(p),
        None => return Vec::new(),
    }
    starts
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]) as u32)
        .collect()
}

/// Preflight of a print file: fonts embedded and subset, text inside the safe area.
fn preflight(
    doc: &PagedDocument,
    pdf: &[u8],
    spec: &print::PrintSpec,
    what: &str,
    diags: &mut Vec<Diagnostic>,
) {
    // The file is parsed once for every check that reads its objects.
    match lopdf::Document::load_mem(pdf) {
        Ok(parsed) => {
            diags.extend(print::preflight_fonts(&parsed).into_iter().map(|p| {
                Diagnostic::warning("preflight", format!("{what}: {p}"))
                    .hint("use TrueType or OpenType fonts that allow embedding and subsetting")
            }));
            if what == "print interior" && spec.grey {
                diags.extend(print::preflight_grey(&parsed).into_iter().map(|p| {
                    Diagnostic::warning("preflight", format!("{what}: {p}"))
                        .file("publish.toml")
                        .hint("`[print] colour = \"grey\"`: the printer prints black and white")
                }));
            }
        }
        Err(e) => diags.push(Diagnostic::warning(
            "preflight",
            format!("{what}: cannot read the PDF: {e}"),
        )),
    }
    if what == "print interior" {
        for (page, text) in print::text_outside_safe_area(doc, spec) {
            diags.push(Diagnostic::warning(
                "preflight",
                format!(
                    "{what}: page {page}: text «{text}» comes closer than {} mm to the trim",
                    print::SAFE_MM
                ),
            ).hint("printers cut with a tolerance of a few millimetres: keep text inside the safe area"));
        }
    }
}

/// Checks of the model made before typesetting: characters no theme font can show, and
/// PDF settings in the config.
pub fn check(ctx: &Context) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    match fonts(ctx) {
        Ok(f) => diags.extend(glyphs::check(ctx, &f)),
        Err(d) => diags.push(d),
    }
    if let Err(d) = standards(ctx) {
        diags.push(d);
    }
    let (_, view_diags) = view::book_view(ctx, &[]);
    diags.extend(view_diags);
    diags
}

/// Render the cover (title, subtitle, author) to a PNG about 1600 pixels high, with the same
/// template and fonts as the book; used by the EPUB writer.
pub fn render_cover_png(ctx: &Context) -> Result<Vec<u8>, Diagnostic> {
    // A cover never shows tofu: its texts are checked like the book's.
    let fonts = fonts(ctx)?;
    let meta = &ctx.book.meta;
    let book = &ctx.config.book;
    let texts = [
        (Some(&meta.title), "title", book.title.is_some()),
        (meta.subtitle.as_ref(), "subtitle", true),
        (meta.author.as_ref(), "author", book.author.is_some()),
    ];
    for (text, key, configured) in texts {
        let Some(text) = text else { continue };
        if let Some(c) = text
            .chars()
            .find(|&c| !glyphs::is_ignorable(c) && !fonts.covers(c))
        {
            let d = Diagnostic::error(
                "missing-glyph",
                format!(
                    "no font of the theme has a glyph for «{c}» (U+{:04X}) in the cover text ({key}) «{text}»",
                    c as u32
                ),
            );
            // Name where the text came from: publish.toml, or the part it was taken from.
            let part = ctx.book.parts.iter().find(|p| match key {
                "title" => p.series.as_ref() == Some(text) || p.title_text() == *text,
                _ => p.author.as_ref() == Some(text),
            });
            let d = match part {
                Some(p) if !configured => d.file(p.source.path.clone()).line(1).hint(format!(
                    "set `{key}` in publish.toml, or add a font with this letter to the theme"
                )),
                _ => d.file("publish.toml").hint(format!(
                    "change `{key}` in publish.toml, or add a font with this letter to the theme"
                )),
            };
            return Err(d);
        }
    }
    render_png(ctx, Mode::Cover, &[], 1600.0)
}

/// Render sample paragraphs (plain text, as a paragraph of a source) on a small page of the
/// book template to a PNG at `pixel_per_pt` pixels per point; used by the reference renders of
/// shaping and direction in the tests.
pub fn render_sample_png(
    ctx: &Context,
    paragraphs: &[&str],
    pixel_per_pt: f32,
) -> Result<Vec<u8>, Diagnostic> {
    let doc = compile(ctx, Mode::Sample, paragraphs)?;
    let page = doc
        .pages()
        .first()
        .ok_or_else(|| Diagnostic::error("pdf", "the sample produced no page"))?;
    encode(page, pixel_per_pt)
}

fn render_png(
    ctx: &Context,
    mode: Mode,
    samples: &[&str],
    height_px: f64,
) -> Result<Vec<u8>, Diagnostic> {
    let doc = compile(ctx, mode, samples)?;
    let page = doc
        .pages()
        .first()
        .ok_or_else(|| Diagnostic::error("pdf", "the cover produced no page"))?;
    let height = page.frame.height().to_pt();
    let scale = if height > 0.0 {
        height_px / height
    } else {
        1.0
    };
    encode(page, scale as f32)
}

/// Render a page to PNG. Encoded here rather than with tiny-skia's `encode_png` for the
/// compression setting: `Fast` (fdeflate, made for PNG) encodes the default cover in 3 ms
/// instead of 10 ms, for a file of 83 KB instead of 47 KB: the EPUB is built on every change,
/// and a few kilobytes of cover matter less than its time.
fn encode(page: &typst_layout::Page, pixel_per_pt: f32) -> Result<Vec<u8>, Diagnostic> {
    let opts = typst_render::RenderOptions {
        pixel_per_pt: typst::utils::Scalar::new(pixel_per_pt.into()),
        render_bleed: false,
    };
    let pixmap = guarded(|| typst_render::render(page, &opts))?;
    let (width, height) = (pixmap.width(), pixmap.height());
    let rgba = pixmap.take_demultiplied();
    let failed =
        |e: png::EncodingError| Diagnostic::error("pdf", format!("cannot encode the PNG: {e}"));
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(&rgba).map_err(failed)?;
    writer.finish().map_err(failed)?;
    Ok(out)
}

/// The theme's fonts, parsed once per run.
fn fonts(ctx: &Context) -> Result<Arc<FontSet>, Diagnostic> {
    ctx.theme.font_set().map_err(|e| {
        Diagnostic::error("theme", e)
            .file(theme_file(ctx, "theme.toml"))
            .hint("list TrueType or OpenType files in [fonts] files")
    })
}

fn theme_file(ctx: &Context, path: &str) -> String {
    format!("themes/{}/{path}", ctx.theme.name)
}

/// Whether the PDF gets the logical text layer of [`textlayer`] (`[pdf] text-layer`, default
/// `logical`) or typst's own text (`native`).
fn text_layer(ctx: &Context) -> Result<bool, Diagnostic> {
    match ctx.config.pdf.text_layer.as_deref() {
        None | Some("logical") => Ok(true),
        Some("native") => Ok(false),
        Some(other) => Err(Diagnostic::error(
            "config",
            format!("[pdf] text-layer `{other}` is not known: use `logical` (default) or `native`"),
        )),
    }
}

/// The configured PDF standards (default PDF/A-2u).
fn standards(ctx: &Context) -> Result<PdfStandards, Diagnostic> {
    let names = ctx
        .config
        .pdf
        .standard
        .clone()
        .unwrap_or_else(|| vec!["a-2u".to_owned()]);
    let mut list = Vec::new();
    for name in &names {
        let std: PdfStandard = serde_json::from_value(serde_json::Value::String(name.clone()))
            .map_err(|_| {
                Diagnostic::error("config", format!("[pdf] standard `{name}` is not known"))
                    .file("publish.toml")
                    .hint("use a-1b, a-2b, a-2u, a-3b, a-3u, a-4, ua-1 (several at once as a list)")
            })?;
        list.push(std);
    }
    PdfStandards::new(&list).map_err(|e| {
        let mut d = Diagnostic::error(
            "config",
            format!("[pdf] standard {names:?}: {}", e.message()),
        )
        .file("publish.toml");
        if let Some(h) = e.hints().first() {
            d = d.hint(h.to_string());
        }
        d
    })
}

fn compile(ctx: &Context, mode: Mode, samples: &[&str]) -> Result<PagedDocument, Diagnostic> {
    let mut diags = Vec::new();
    let doc = compile_with(ctx, mode, samples, &mut diags);
    match doc {
        Some(doc) => Ok(doc),
        None => Err(diags
            .into_iter()
            .find(|d| d.is_error())
            .unwrap_or_else(|| Diagnostic::error("pdf", "typst produced no document"))),
    }
}

fn world(
    ctx: &Context,
    mode: Mode,
    samples: &[&str],
    print: Option<serde_json::Value>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Arc<BookWorld>> {
    let fonts = match fonts(ctx) {
        Ok(f) => f,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let Some(template) = ctx.theme.text(TEMPLATE) else {
        diags.push(
            Diagnostic::error("theme", "the theme has no UTF-8 template `book.typ`")
                .file(theme_file(ctx, TEMPLATE)),
        );
        return None;
    };
    // The cover shows only metadata: it gets no parts, so typst does not parse the whole book.
    let meta_only;
    let view_ctx = if mode == Mode::Cover || mode == Mode::Spread {
        meta_only = Context {
            book: crate::model::Book {
                meta: ctx.book.meta.clone(),
                parts: Vec::new(),
                assets: Default::default(),
            },
            config: ctx.config.clone(),
            theme: ctx.theme.clone(),
            book_dir: ctx.book_dir.clone(),
        };
        &meta_only
    } else {
        ctx
    };
    let (mut view, view_diags) = view::book_view(view_ctx, samples);
    if let Some(print) = print {
        view["print"] = print;
    }
    let failed = view_diags.iter().any(|d| d.is_error());
    diags.extend(view_diags);
    if failed {
        return None;
    }
    // Each part's blocks become its own input file; `book.json` keeps the parts' labels and
    // titles and names the module to import (see `BookWorld::with_parts`).
    let mut blocks = Vec::new();
    if let Some(parts) = view.get_mut("parts").and_then(|p| p.as_array_mut()) {
        for (i, part) in parts.iter_mut().enumerate() {
            let Some(obj) = part.as_object_mut() else {
                continue;
            };
            let body = obj.remove("blocks").unwrap_or_default();
            match serde_json::to_vec(&body) {
                Ok(json) => blocks.push(json),
                Err(e) => {
                    diags.push(Diagnostic::error(
                        "pdf",
                        format!("cannot serialise part {}: {e}", i + 1),
                    ));
                    return None;
                }
            }
            obj.insert("module".into(), world::part_module(i).into());
        }
    }
    let data = match serde_json::to_vec(&view) {
        Ok(d) => d,
        Err(e) => {
            diags.push(Diagnostic::error(
                "pdf",
                format!("cannot serialise the book: {e}"),
            ));
            return None;
        }
    };
    match BookWorld::new(
        fonts,
        template,
        data,
        &[("mode", mode.name())],
        ctx.book.meta.timestamp,
    ) {
        // The images are served as they are: JPEG is embedded without re-encoding.
        Ok(w) => Some(Arc::new(
            w.with_images(view_ctx.book.assets.values().map(|a| {
                (
                    format!("{}{}", view::IMAGE_DIR, a.file_name()),
                    typst::foundations::Bytes::new(a.bytes.as_ref().clone()),
                )
            }))
            .with_parts(blocks),
        )),
        Err(e) => {
            diags.push(Diagnostic::error("pdf", e));
            None
        }
    }
}

fn compile_with(
    ctx: &Context,
    mode: Mode,
    samples: &[&str],
    diags: &mut Vec<Diagnostic>,
) -> Option<PagedDocument> {
    let world = world(ctx, mode, samples, None, diags)?;
    typeset(ctx, &world, diags)
}

/// A panic inside typst is a bug there, but must not take the other writers down with it.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Diagnostic> {
    guard::catch_quietly(f).map_err(|e| {
        let what = e
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| e.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Diagnostic::error("pdf", format!("typst failed unexpectedly: {what}"))
            .hint("this is a bug: please report it with the sources that trigger it")
    })
}

/// Lay the book out; typst's warnings and errors become ours.
fn typeset(
    ctx: &Context,
    world: &Arc<BookWorld>,
    diags: &mut Vec<Diagnostic>,
) -> Option<PagedDocument> {
    let trace = std::env::var_os("PUBLISH_TYPST_TRACE");
    if trace.is_some() {
        typst_timing::enable();
    }
    // On a guard thread with a time budget and a memory ceiling: the template is theme code.
    let shared = Arc::clone(world);
    let compiled = guard::run("compile", &theme_file(ctx, TEMPLATE), move || {
        typst::compile::<PagedDocument>(&*shared)
    });
    let warned = match compiled {
        Ok(w) => w,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    if let Some(path) = trace {
        diags.extend(write_trace(ctx, world, &path).err());
    }
    diags.extend(
        warned
            .warnings
            .iter()
            .map(|w| typst_diagnostic(ctx, world, w)),
    );
    match warned.output {
        Ok(doc) => Some(doc),
        Err(errors) => {
            diags.extend(errors.iter().map(|e| typst_diagnostic(ctx, world, e)));
            None
        }
    }
}

/// Writes typst's own trace of the layout (`PUBLISH_TYPST_TRACE=file.json`, for profiling the
/// template): a Chrome trace (open it in `chrome://tracing` or Perfetto) of every layout pass.
fn write_trace(ctx: &Context, world: &BookWorld, path: &std::ffi::OsStr) -> Result<(), Diagnostic> {
    let failed = |e: String| {
        Diagnostic::warning(
            "trace-not-written",
            format!(
                "cannot write typst's trace to {}: {e}",
                Path::new(path).display()
            ),
        )
    };
    let file = std::fs::File::create(path).map_err(|e| failed(e.to_string()))?;
    let mut out = std::io::BufWriter::new(file);
    typst_timing::export_json(&mut out, |span| {
        template_line(world, typst::syntax::Span::from_raw(span))
            .map(|line| (theme_file(ctx, TEMPLATE), line))
            .unwrap_or_default()
    })
    .map_err(failed)?;
    out.flush().map_err(|e| failed(e.to_string()))
}

fn render_pdf(
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
    timings: &mut Vec<(&'static str, std::time::Duration)>,
) -> Option<Vec<u8>> {
    let mut clock = std::time::Instant::now();
    let mut lap = |name: &'static str| {
        timings.push((name, clock.elapsed()));
        clock = std::time::Instant::now();
    };
    // The checks of `check`, without building the view twice: `world` reports its diagnostics.
    let fonts = match fonts(ctx) {
        Ok(f) => f,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let glyph_errors = glyphs::check(ctx, &fonts);
    let failed = glyph_errors.iter().any(|d| d.is_error());
    diags.extend(glyph_errors);
    let standards = standards(ctx).map_err(|d| diags.push(d)).ok();
    if failed {
        return None;
    }
    // Built even when the standards are wrong, so every config mistake is reported at once.
    let world = world(ctx, Mode::Book, &[], None, diags);
    let (standards, world) = (standards?, world?);
    lap("check and prepare data");
    let doc = typeset(ctx, &world, diags)?;
    lap("typeset (typst)");
    let logical = text_layer(ctx).map_err(|d| diags.push(d)).ok()?;
    let prepared = logical.then(|| textlayer::prepare(&doc));
    if prepared.is_some() {
        lap("text layer");
    }
    // The glyph forms do not depend on typst's PDF: they are made while it is written.
    let (pdf, forms) = rayon::join(
        || {
            export(
                ctx,
                &world,
                prepared.as_ref().map_or(&doc, |(d, _)| d),
                standards,
                diags,
            )
        },
        || prepared.as_ref().map(|(_, o)| postpass::glyph_forms(o)),
    );
    lap("export (typst-pdf)");
    if let (Some((_, outlines)), Some(forms)) = (&prepared, forms) {
        let mut steps = Vec::new();
        let shared = postpass::finish(&pdf?, outlines, forms, &mut steps).map_err(|e| {
            diags.push(Diagnostic::error("pdf", format!("text layer: {e}")).hint(
                "this is a fault of publish, not of the book (please report it); \
                     `[pdf] text-layer = \"native\"` in publish.toml builds without the layer",
            ));
        });
        lap("text layer: finish (outlines, layer text)");
        timings.extend(steps);
        return shared.ok();
    }
    pdf
}

/// Write a typeset document as PDF with the book's metadata and standards.
fn export(
    ctx: &Context,
    world: &BookWorld,
    doc: &PagedDocument,
    standards: PdfStandards,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<u8>> {
    let meta = &ctx.book.meta;
    let ident = meta
        .identifier
        .clone()
        .unwrap_or_else(|| format!("{} / {}", meta.title, meta.author.as_deref().unwrap_or("")));
    let options = PdfOptions {
        ident: Smart::Custom(ident),
        creator: Smart::Custom(Some(format!("publish {}", env!("CARGO_PKG_VERSION")))),
        timestamp: world::datetime(meta.timestamp).map(Timestamp::new_utc),
        standards,
        tagged: true,
        ..PdfOptions::default()
    };
    // On the guard thread like the compile (a document's pages are shared, so the clone is
    // cheap).
    let doc = doc.clone();
    let pdf = guard::run("PDF export", &theme_file(ctx, TEMPLATE), move || {
        typst_pdf::pdf(&doc, &options)
    });
    match pdf {
        Ok(Ok(bytes)) => Some(bytes),
        Ok(Err(errors)) => {
            diags.extend(errors.iter().map(|e| typst_diagnostic(ctx, world, e)));
            None
        }
        Err(d) => {
            diags.push(d);
            None
        }
    }
}

/// The line of the template a span points into, if it points into the template.
fn template_line(world: &BookWorld, span: impl Into<typst::syntax::DiagSpan>) -> Option<u32> {
    let span = span.into();
    if span.id()? != world.main_source().id() {
        return None;
    }
    let range = world.range(span)?;
    Some(crate::diag::line_col(world.main_source().text(), range.start).0)
}

/// A typst error or warning as one of ours, pointing into the template when it can.
fn typst_diagnostic(ctx: &Context, world: &BookWorld, d: &SourceDiagnostic) -> Diagnostic {
    let mut message = format!("typst: {}", d.message);
    let file_and_line = template_line(world, d.span).map(|line| (theme_file(ctx, TEMPLATE), line));
    for h in &d.hints {
        message.push_str(&format!("; {}", h.v));
    }
    let mut out = match d.severity {
        Severity::Error => Diagnostic::error("typst", message),
        Severity::Warning => Diagnostic::warning("typst", message),
    };
    match file_and_line {
        Some((file, line)) => out = out.file(file).line(line),
        None => out = out.file(theme_file(ctx, TEMPLATE)),
    }
    out
}
