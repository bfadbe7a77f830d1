//! The PDF writer: the model → a print-ready, archival PDF typeset by typst in-process.
//!
//! The theme's `book.typ` is a fixed template; the book reaches it as JSON data
//! ([`view`]) through our own [`world::BookWorld`], which serves only the template, the data
//! and the theme's fonts. Before typesetting, every character is checked against the fonts
//! ([`glyphs`]). The same machinery renders the EPUB cover ([`render_cover_png`]).

pub mod glyphs;
pub mod guard;
pub mod view;
pub mod world;

use super::{Artifact, Rendered};
use crate::Context;
use crate::diag::Diagnostic;
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

/// Render the PDF edition.
pub fn render(ctx: &Context) -> Rendered {
    let mut diagnostics = Vec::new();
    let mut timings = Vec::new();
    let result = render_pdf(ctx, &mut diagnostics, &mut timings);
    if result.is_none() && !diagnostics.iter().any(|d| d.is_error()) {
        diagnostics.push(Diagnostic::error("pdf", "the PDF could not be typeset"));
    }
    Rendered {
        artifact: result.map(|bytes| Artifact::File {
            name: format!("{}.pdf", ctx.book.meta.slug),
            bytes,
        }),
        diagnostics,
        timings,
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
    let view_ctx = if mode == Mode::Cover {
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
    let (view, view_diags) = view::book_view(view_ctx, samples);
    let failed = view_diags.iter().any(|d| d.is_error());
    diags.extend(view_diags);
    if failed {
        return None;
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
        Ok(w) => Some(Arc::new(w.with_images(view_ctx.book.assets.values().map(
            |a| {
                (
                    format!("{}{}", view::IMAGE_DIR, a.file_name()),
                    typst::foundations::Bytes::new(a.bytes.as_ref().clone()),
                )
            },
        )))),
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
    let world = world(ctx, mode, samples, diags)?;
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
    let world = world(ctx, Mode::Book, &[], diags);
    let (standards, world) = (standards?, world?);
    lap("check and prepare data");
    let doc = typeset(ctx, &world, diags)?;
    lap("typeset (typst)");
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
    let pdf = guard::run("PDF export", &theme_file(ctx, TEMPLATE), move || {
        typst_pdf::pdf(&doc, &options)
    });
    lap("export (typst-pdf)");
    match pdf {
        Ok(Ok(bytes)) => Some(bytes),
        Ok(Err(errors)) => {
            diags.extend(errors.iter().map(|e| typst_diagnostic(ctx, &world, e)));
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
