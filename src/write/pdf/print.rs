//! Print production: the `[print]` geometry (trim, bleed, marks, gutter, spine), and the
//! post-pass that gives every page of a typst PDF its `TrimBox` and `BleedBox`.
//!
//! typst cannot set page boxes, so the print interior and the cover are typeset at the media
//! size with the content offset by the bleed (and by the slug that holds the crop marks), and
//! [`set_boxes`] then writes the boxes into each page object with `lopdf`. `lopdf` keeps every
//! object it does not touch as it was (XMP metadata, structure tree, fonts, output intent), so
//! the PDF/A claim stays true; its writer orders objects by number, so the result is as
//! reproducible as typst's own output.

use crate::config::{Config, PrintConfig};
use serde_json::{Value, json};

/// Points per millimetre.
pub const PT_PER_MM: f64 = 72.0 / 25.4;

/// The band outside the bleed that holds the crop marks when `marks = true`, in mm: marks
/// start 2 mm outside the bleed and are 5 mm long, so no mark can be cut into the page.
pub const SLUG_MM: f64 = 9.0;

/// Largest bleed accepted, in mm (printers ask for 3 mm to 5 mm; more is a typo).
pub const MAX_BLEED_MM: f64 = 10.0;

/// The default inside margin (gutter side, from the trim) by page count: the first row whose
/// page count the book reaches applies. A thicker book opens less flat near the spine, so
/// the inside margin grows with it (after the minimums print-on-demand services ask for:
/// 9.5 mm to 150 pages up to 22 mm past 700, plus the reading margin of a small book).
pub const GUTTER_TABLE_MM: [(u32, f64); 6] = [
    (0, 16.0),
    (61, 18.0),
    (151, 20.0),
    (301, 22.0),
    (501, 24.0),
    (701, 26.0),
];

/// Outside margin from the trim, in mm.
pub const OUTSIDE_MM: f64 = 15.0;
/// Top and bottom margins from the trim, in mm.
pub const TOP_MM: f64 = 20.0;
/// Bottom margin from the trim, in mm.
pub const BOTTOM_MM: f64 = 20.0;

/// Thickness of one leaf (two pages) of uncoated book paper by grammage, in mm (typical
/// calipers of offset/book wove; the printer's PPI is exact and preferred when known).
pub const PAPER_TABLE: [(u32, f64); 7] = [
    (60, 0.078),
    (70, 0.090),
    (80, 0.100),
    (90, 0.112),
    (100, 0.125),
    (115, 0.140),
    (120, 0.150),
];

/// Spine narrower than this (mm) gets no text: 6 mm is the least that holds a readable line
/// and the folding tolerance of 1.5 mm on each side.
pub const MIN_SPINE_TEXT_MM: f64 = 6.0;

/// Largest page count of one volume `max-pages` accepts (bindings hold about 800 pages).
pub const MAX_VOLUME_PAGES: u32 = 1200;

/// Where the page count of one binding lands: which paper decides the spine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Paper {
    /// A grammage of [`PAPER_TABLE`].
    Gsm(u32),
    /// The printer's pages per inch.
    Ppi(f64),
}

impl Paper {
    /// Thickness of one leaf in mm.
    pub fn leaf_mm(self) -> f64 {
        match self {
            Paper::Gsm(g) => PAPER_TABLE
                .iter()
                .find(|(x, _)| *x == g)
                .map(|(_, t)| *t)
                .unwrap_or(0.1),
            // PPI counts pages, two to a leaf.
            Paper::Ppi(ppi) => 2.0 * 25.4 / ppi,
        }
    }
}

impl Paper {
    /// As written in the config, for the log (`80gsm`, `444ppi`).
    pub fn describe(self) -> String {
        match self {
            Paper::Gsm(g) => format!("{g}gsm paper, {:.3} mm", self.leaf_mm()),
            Paper::Ppi(p) => format!("{p}ppi paper, {:.4} mm", self.leaf_mm()),
        }
    }
}

/// Spine width in mm of a binding of `pages` pages: leaves × leaf thickness.
pub fn spine_mm(pages: u32, paper: Paper) -> f64 {
    let leaves = pages.div_ceil(2);
    leaves as f64 * paper.leaf_mm()
}

/// Direction of the spine text, as read on the standing book with its spine facing you: where
/// its first word is. The default, `TopToBottom`, is the one readable when the book lies front
/// cover up — for an Arabic title on a right-bound book as for an English one on a left-bound
/// book, since both the binding side and the reading direction are mirrored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpineText {
    /// Top to bottom (the English convention for a left-bound book).
    TopToBottom,
    /// Bottom to top.
    BottomToTop,
}

/// The resolved `[print]` settings, every length in points.
#[derive(Debug, Clone, PartialEq)]
pub struct PrintSpec {
    /// Trim width and height.
    pub trim: (f64, f64),
    /// Bleed on every side.
    pub bleed: f64,
    /// Crop marks.
    pub marks: bool,
    /// Paper for the spine.
    pub paper: Paper,
    /// Inside margin by page count, ascending.
    pub gutter: Vec<(u32, f64)>,
    /// Pad the page count to a multiple of this (1: no padding).
    pub pad_to: u32,
    /// Largest volume, in pages.
    pub max_pages: Option<u32>,
    /// Spine text direction.
    pub spine_text: SpineText,
    /// Back cover text.
    pub blurb: Option<String>,
    /// The EAN-13 of the ISBN, when the identifier is one.
    pub isbn: Option<[u8; 13]>,
    /// The printer prints the interior in grey only (`colour = "grey"`).
    pub grey: bool,
}

impl PrintSpec {
    /// The slug (mark band) on every side.
    pub fn slug(&self) -> f64 {
        if self.marks { SLUG_MM * PT_PER_MM } else { 0.0 }
    }

    /// From the media edge to the trim edge.
    pub fn offset(&self) -> f64 {
        self.bleed + self.slug()
    }

    /// Media size of an interior page.
    pub fn media(&self) -> (f64, f64) {
        let o = 2.0 * self.offset();
        (self.trim.0 + o, self.trim.1 + o)
    }

    /// Inside margin for a book of `pages` pages.
    pub fn gutter_for(&self, pages: u32) -> f64 {
        gutter_for(&self.gutter, pages)
    }

    /// Whether an interior laid out for `estimated` pages must be typeset again now that it
    /// has `real` pages: only when the real count needs a wider inside margin. A narrower
    /// need keeps the wider margin, so an over-estimate never costs a second layout.
    pub fn needs_relayout(&self, estimated: u32, real: u32) -> bool {
        self.gutter_for(real) > self.gutter_for(estimated)
    }
}

/// The inside margin of the row of `table` that `pages` reaches.
pub fn gutter_for(table: &[(u32, f64)], pages: u32) -> f64 {
    table
        .iter()
        .rev()
        .find(|(min, _)| pages >= *min)
        .or(table.first())
        .map(|(_, g)| *g)
        .unwrap_or(GUTTER_TABLE_MM[0].1 * PT_PER_MM)
}

/// Characters of running text an A5 page of the default template holds (about 340 Arabic
/// words): only the first guess of the page count, for the gutter of the first pass.
const CHARS_PER_A5_PAGE: f64 = 1900.0;

/// The pages each part is estimated to take: its text over the characters a page of the trim
/// holds, rounded up to an even count (the next part opens on a recto).
pub fn part_pages_estimate(ctx: &crate::Context, spec: &PrintSpec) -> Vec<f64> {
    let a5 = (148.0 - 37.0) * (210.0 - 40.0);
    let area =
        (spec.trim.0 / PT_PER_MM - 37.0).max(40.0) * (spec.trim.1 / PT_PER_MM - 40.0).max(40.0);
    let per_page = CHARS_PER_A5_PAGE * area / a5;
    ctx.book
        .parts
        .iter()
        .map(|part| {
            let mut chars = 0usize;
            part.for_each_text(&mut |text, _, _| chars += text.chars().count());
            // Each part opens on a recto, so it fills an even number of pages.
            let pages = (chars as f64 / per_page).ceil().max(1.0);
            pages + pages % 2.0
        })
        .collect()
}

/// Pages of front and back matter of a binding of `parts` parts: title page and its verso,
/// contents (about 25 entries a page, on a recto), the colophon (about 12 sources a page) and
/// the padding at the end.
pub fn matter_pages_estimate(parts: usize, spec: &PrintSpec) -> f64 {
    let contents = (parts as f64 / 25.0).ceil() + 1.0;
    let colophon = (parts as f64 / 12.0).ceil() + 1.0;
    2.0 + contents + colophon + (spec.pad_to as f64 - 1.0)
}

/// The page count estimated from the amount of text, the trim and the front and back matter.
pub fn estimate_pages(ctx: &crate::Context, spec: &PrintSpec) -> u32 {
    let text: f64 = part_pages_estimate(ctx, spec).iter().sum();
    (text + matter_pages_estimate(ctx.book.parts.len(), spec)).ceil() as u32
}

/// Nearest distance text may come to the trim, in mm: cutting tolerances are 1–3 mm.
pub const SAFE_MM: f64 = 5.0;

/// Text runs closer than [`SAFE_MM`] to the trim: `(page number, text)`, at most one per page
/// and ten in all. The frames are walked with a stack, not recursion.
pub fn text_outside_safe_area(
    doc: &typst_layout::PagedDocument,
    spec: &PrintSpec,
) -> Vec<(usize, String)> {
    use typst::layout::{FrameItem, Point, Transform};
    let o = spec.offset();
    let safe = SAFE_MM * PT_PER_MM;
    let (mw, mh) = spec.media();
    let (x0, y0, x1, y1) = (o + safe, o + safe, mw - o - safe, mh - o - safe);
    let mut out = Vec::new();
    for (i, page) in doc.pages().iter().enumerate() {
        let mut stack = vec![(&page.frame, Transform::identity())];
        let mut found = None;
        while let Some((frame, ts)) = stack.pop() {
            for (pos, item) in frame.items() {
                let here = ts.pre_concat(Transform::translate(pos.x, pos.y));
                match item {
                    FrameItem::Group(g) => stack.push((&g.frame, here.pre_concat(g.transform))),
                    FrameItem::Text(t) if !t.text.trim().is_empty() => {
                        let a = Point::zero().transform(here);
                        let b = Point::new(t.width(), -t.size).transform(here);
                        let (lx, hx) = (a.x.min(b.x).to_pt(), a.x.max(b.x).to_pt());
                        let (ly, hy) = (a.y.min(b.y).to_pt(), a.y.max(b.y).to_pt());
                        if lx < x0 - 0.5 || hx > x1 + 0.5 || ly < y0 - 0.5 || hy > y1 + 0.5 {
                            found = Some(t.text.to_string());
                        }
                    }
                    _ => {}
                }
            }
            if found.is_some() {
                break;
            }
        }
        if let Some(text) = found {
            out.push((i + 1, text));
            if out.len() >= 10 {
                break;
            }
        }
    }
    out
}

/// A length with its unit (`3mm`, `0.125in`, `0.3cm`, `9pt`) in points, any size.
pub fn length(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.trim().parse().ok()?;
    let pt = match unit.trim() {
        "mm" => n * PT_PER_MM,
        "cm" => n * 10.0 * PT_PER_MM,
        "in" => n * 72.0,
        "pt" => n,
        _ => return None,
    };
    (pt.is_finite() && pt >= 0.0).then_some(pt)
}

/// A trim preset's width and height in points.
pub fn trim_preset(name: &str) -> Option<(f64, f64)> {
    let mm = |w: f64, h: f64| Some((w * PT_PER_MM, h * PT_PER_MM));
    match name.to_ascii_lowercase().replace(['×', ' '], "x").as_str() {
        "5.5x8.5in" | "digest" => Some((396.0, 612.0)),
        "6x9in" | "us-trade" => Some((432.0, 648.0)),
        "a5" => mm(148.0, 210.0),
        "b5" => mm(176.0, 250.0),
        "17x24cm" => mm(170.0, 240.0),
        "royal" => mm(156.0, 234.0),
        _ => None,
    }
}

/// Check the `[print]` and `[[volume]]` tables and the ISBN; the message names the key in
/// backquotes (`[print] bleed`), for the config error.
pub fn validate(config: &Config) -> Result<(), String> {
    if let Some(id) = &config.book.identifier {
        crate::barcode::isbn_from_identifier(id)
            .map_err(|e| format!("`[book] identifier`: {e}"))?;
    }
    spec(config)?;
    volumes_config(config, usize::MAX)?;
    Ok(())
}

/// The resolved print settings, `None` without a `[print]` table.
pub fn spec(config: &Config) -> Result<Option<PrintSpec>, String> {
    let Some(p) = &config.print else {
        return Ok(None);
    };
    resolve(p, config).map(Some)
}

fn resolve(p: &PrintConfig, config: &Config) -> Result<PrintSpec, String> {
    let trim = match p.trim.as_deref().unwrap_or("a5") {
        "custom" => {
            let get = |key: &str, v: &Option<String>| {
                let v = v
                    .as_deref()
                    .ok_or_else(|| format!("`[print] {key}`: trim = \"custom\" needs a {key}"))?;
                length(v)
                    .filter(|pt| (50.0 * PT_PER_MM..=1000.0 * PT_PER_MM).contains(pt))
                    .ok_or_else(|| {
                        format!("`[print] {key}` = \"{v}\" is not a length between 50mm and 1000mm")
                    })
            };
            (get("width", &p.width)?, get("height", &p.height)?)
        }
        name => {
            if p.width.is_some() || p.height.is_some() {
                return Err("`[print] width`/height are only for trim = \"custom\"".into());
            }
            trim_preset(name).ok_or_else(|| {
                format!(
                    "`[print] trim` = \"{name}\" is not known: use 5.5x8.5in, 6x9in, a5, b5, \
                     17x24cm, royal, or custom with width and height"
                )
            })?
        }
    };
    let bleed = match &p.bleed {
        None => 0.0,
        Some(b) => length(b)
            .filter(|pt| *pt <= MAX_BLEED_MM * PT_PER_MM)
            .ok_or_else(|| {
                format!("`[print] bleed` = \"{b}\" is not a length between 0mm and {MAX_BLEED_MM}mm (printers ask for 3mm)")
            })?,
    };
    let paper = match p.paper.as_deref() {
        None => Paper::Gsm(80),
        Some(s) => {
            let t = s.trim().to_ascii_lowercase();
            if let Some(g) = t.strip_suffix("gsm") {
                let g: u32 = g.trim().parse().map_err(|_| bad_paper(s))?;
                if !PAPER_TABLE.iter().any(|(x, _)| *x == g) {
                    return Err(bad_paper(s));
                }
                Paper::Gsm(g)
            } else if let Some(n) = t.strip_suffix("ppi") {
                let n: f64 = n.trim().parse().map_err(|_| bad_paper(s))?;
                if !(100.0..=1000.0).contains(&n) {
                    return Err(bad_paper(s));
                }
                Paper::Ppi(n)
            } else {
                return Err(bad_paper(s));
            }
        }
    };
    let gutter = match &p.gutter {
        None => GUTTER_TABLE_MM
            .iter()
            .map(|(n, mm)| (*n, mm * PT_PER_MM))
            .collect(),
        Some(rows) => {
            let mut out: Vec<(u32, f64)> = Vec::new();
            for (n, len) in rows {
                let pt = length(len)
                    .filter(|pt| (5.0 * PT_PER_MM..=60.0 * PT_PER_MM).contains(pt))
                    .ok_or_else(|| {
                        format!("`[print] gutter`: \"{len}\" is not a length between 5mm and 60mm")
                    })?;
                if out.last().is_some_and(|(last, _)| *last >= *n) {
                    return Err(
                        "`[print] gutter`: rows must be in ascending page counts, [[0, \"16mm\"], [300, \"20mm\"]]"
                            .into(),
                    );
                }
                out.push((*n, pt));
            }
            if out.first().is_none_or(|(n, _)| *n != 0) {
                return Err("`[print] gutter`: the first row starts at 0 pages".into());
            }
            out
        }
    };
    let pad_to = match p.pad_to {
        None => 1,
        Some(n @ (1 | 2 | 4 | 8 | 16 | 32)) => n,
        Some(n) => {
            return Err(format!(
                "`[print] pad-to` = {n}: use 4, 8, 16 or 32 (pages per signature), or 2"
            ));
        }
    };
    let max_pages = match p.max_pages {
        None => None,
        Some(n) if (24..=MAX_VOLUME_PAGES).contains(&n) => Some(n),
        Some(n) => {
            return Err(format!(
                "`[print] max-pages` = {n}: use a page count between 24 and {MAX_VOLUME_PAGES}"
            ));
        }
    };
    let spine_text = match p.spine_text.as_deref() {
        None | Some("top-to-bottom") => SpineText::TopToBottom,
        Some("bottom-to-top") => SpineText::BottomToTop,
        Some(other) => {
            return Err(format!(
                "`[print] spine-text` = \"{other}\": use top-to-bottom or bottom-to-top"
            ));
        }
    };
    let grey = match p.colour.as_deref() {
        None | Some("colour" | "color") => false,
        Some("grey" | "gray") => true,
        Some(other) => {
            return Err(format!(
                "`[print] colour` = \"{other}\": use colour or grey"
            ));
        }
    };
    let isbn = match &config.book.identifier {
        Some(id) => crate::barcode::isbn_from_identifier(id)
            .map_err(|e| format!("`[book] identifier`: {e}"))?,
        None => None,
    };
    Ok(PrintSpec {
        trim,
        bleed,
        marks: p.marks.unwrap_or(false),
        paper,
        gutter,
        pad_to,
        max_pages,
        spine_text,
        blurb: p.blurb.clone(),
        isbn,
        grey,
    })
}

fn bad_paper(s: &str) -> String {
    let grams: Vec<String> = PAPER_TABLE.iter().map(|(g, _)| format!("{g}gsm")).collect();
    format!(
        "`[print] paper` = \"{s}\" is not known: use one of {} or the printer's pages per inch, e.g. \"444ppi\"",
        grams.join(", ")
    )
}

/// A configured volume: its 0-based range of parts and its title, if given.
pub type VolumeRange = (std::ops::Range<usize>, Option<String>);

/// The `[[volume]]` tables as 0-based part ranges, checked against `parts` parts (contiguous,
/// in order, covering every part when `parts` is known).
pub fn volumes_config(config: &Config, parts: usize) -> Result<Vec<VolumeRange>, String> {
    let mut out = Vec::new();
    let mut next = 0usize;
    for (i, v) in config.volume.iter().enumerate() {
        let key = format!("`[[volume]] parts` (volume {})", i + 1);
        let (a, b) = v
            .parts
            .split_once('-')
            .map(|(a, b)| (a.trim().parse::<usize>(), b.trim().parse::<usize>()))
            .map(|(a, b)| (a.ok(), b.ok()))
            .unwrap_or((v.parts.trim().parse().ok(), v.parts.trim().parse().ok()));
        let (Some(a), Some(b)) = (a, b) else {
            return Err(format!(
                "{key} = \"{}\" is not a range of part positions such as \"1-50\"",
                v.parts
            ));
        };
        if a == 0 || b < a {
            return Err(format!(
                "{key} = \"{}\": positions count from 1 and the range goes up",
                v.parts
            ));
        }
        if a - 1 != next {
            return Err(format!(
                "{key} = \"{}\" should start at part {}: volumes follow each other without gaps",
                v.parts,
                next + 1
            ));
        }
        if b > parts && parts != usize::MAX {
            return Err(format!(
                "{key} = \"{}\": the book has {parts} parts",
                v.parts
            ));
        }
        out.push((a - 1..b, v.title.clone()));
        next = b;
    }
    if !out.is_empty() && parts != usize::MAX && next != parts {
        return Err(format!(
            "`[[volume]] parts`: the volumes end at part {next}, but the book has {parts} parts"
        ));
    }
    if !out.is_empty() && config.print.is_none() {
        return Err(
            "`[[volume]]`: volumes are bindings of the print edition: add a [print] table".into(),
        );
    }
    if !out.is_empty() && config.print.as_ref().is_some_and(|p| p.max_pages.is_some()) {
        return Err("`[print] max-pages` and `[[volume]]` tables: use one or the other".into());
    }
    Ok(out)
}

/// The geometry the template needs for an interior of `pages` (estimated) pages.
pub fn interior_view(spec: &PrintSpec, pages: u32, volume: Option<&str>) -> Value {
    let (mw, mh) = spec.media();
    json!({
        "media": { "width": mw, "height": mh },
        "trim": { "width": spec.trim.0, "height": spec.trim.1 },
        "offset": spec.offset(),
        "bleed": spec.bleed,
        "marks": spec.marks,
        "inside": spec.gutter_for(pages),
        "outside": OUTSIDE_MM * PT_PER_MM,
        "top": TOP_MM * PT_PER_MM,
        "bottom": BOTTOM_MM * PT_PER_MM,
        "pad-to": spec.pad_to,
        "volume": volume,
    })
}

/// The cover spread's geometry and contents for a binding of `pages` pages.
pub fn cover_view(spec: &PrintSpec, pages: u32, volume: Option<&str>) -> Value {
    let spine = spine_mm(pages, spec.paper) * PT_PER_MM;
    let o = spec.offset();
    let barcode = spec.isbn.map(|d| {
        let modules = crate::barcode::ean13_modules(&d);
        let bars: Vec<[usize; 2]> = crate::barcode::bars(&modules)
            .into_iter()
            .map(|(a, w)| [a, w])
            .collect();
        json!({
            "bars": bars,
            "digits": d.iter().map(|x| char::from(b'0' + x)).collect::<String>(),
            "text": crate::barcode::isbn_text(&d),
        })
    });
    json!({
        "media": { "width": 2.0 * spec.trim.0 + spine + 2.0 * o, "height": spec.trim.1 + 2.0 * o },
        "trim": { "width": spec.trim.0, "height": spec.trim.1 },
        "offset": o,
        "bleed": spec.bleed,
        "marks": spec.marks,
        "spine": spine,
        "spine-text": spine >= MIN_SPINE_TEXT_MM * PT_PER_MM,
        "spine-dir": match spec.spine_text { SpineText::TopToBottom => "ttb", SpineText::BottomToTop => "btt" },
        "blurb": spec.blurb,
        "barcode": barcode,
        "volume": volume,
    })
}

/// Page boxes to write: the trim and bleed rectangles, in points from the media's lower left.
#[derive(Debug, Clone, Copy)]
pub struct Boxes {
    /// Distance from the media edge to the trim edge, on every side.
    pub offset: f64,
    /// Bleed beyond the trim.
    pub bleed: f64,
}

/// Write `TrimBox` and `BleedBox` into every page of `pdf` (and `CropBox` = `MediaBox`, so
/// viewers show the marks); every other object is kept as typst wrote it.
pub fn set_boxes(pdf: &[u8], boxes: Boxes) -> Result<Vec<u8>, String> {
    use lopdf::{Document, Object};
    let mut doc = Document::load_mem(pdf).map_err(|e| format!("cannot read typst's PDF: {e}"))?;
    let pages: Vec<lopdf::ObjectId> = doc.get_pages().into_values().collect();
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    for id in pages {
        let media = doc
            .get_object(id)
            .and_then(Object::as_dict)
            .and_then(|d| d.get(b"MediaBox"))
            .and_then(Object::as_array)
            .map_err(|e| format!("a page has no MediaBox: {e}"))?
            .iter()
            .map(|o| {
                o.as_float()
                    .map(f64::from)
                    .or_else(|_| o.as_i64().map(|i| i as f64))
            })
            .collect::<Result<Vec<f64>, _>>()
            .map_err(|e| format!("a MediaBox is not numbers: {e}"))?;
        if media.len() != 4 {
            return Err("a MediaBox has not four numbers".into());
        }
        let rect = |inset: f64| {
            Object::Array(
                [
                    media[0] + inset,
                    media[1] + inset,
                    media[2] - inset,
                    media[3] - inset,
                ]
                .iter()
                .map(|v| Object::Real(round(*v) as f32))
                .collect(),
            )
        };
        let page = doc
            .get_object_mut(id)
            .and_then(Object::as_dict_mut)
            .map_err(|e| format!("a page is not a dictionary: {e}"))?;
        page.set("BleedBox", rect(boxes.offset - boxes.bleed));
        page.set("TrimBox", rect(boxes.offset));
    }
    let mut out = Vec::with_capacity(pdf.len() + pdf.len() / 4);
    doc.save_to(&mut out)
        .map_err(|e| format!("cannot write the PDF: {e}"))?;
    Ok(out)
}

/// Preflight for a printer that prints in grey: every image whose colour space has colour
/// (RGB, CMYK, ICC profiles of 3 or 4 components, indexed over those) and every page that
/// sets a fill or stroke colour whose components differ. Returns the problems found.
pub fn preflight_grey(doc: &lopdf::Document) -> Vec<String> {
    use lopdf::Object;
    // The number of colour components of a colour space object (1 for grey).
    let components = |cs: &Object| -> usize {
        let mut cs = cs.clone();
        for _ in 0..4 {
            if let Ok(id) = cs.as_reference() {
                match doc.get_object(id) {
                    Ok(o) => cs = o.clone(),
                    Err(_) => return 1,
                }
            }
            match &cs {
                Object::Name(n) => {
                    return match n.as_slice() {
                        b"DeviceRGB" | b"CalRGB" | b"Lab" => 3,
                        b"DeviceCMYK" => 4,
                        _ => 1,
                    };
                }
                Object::Array(a) => match a.first().and_then(|o| o.as_name().ok()) {
                    Some(b"ICCBased") => {
                        let n = a
                            .get(1)
                            .and_then(|o| o.as_reference().ok())
                            .and_then(|id| doc.get_object(id).ok())
                            .and_then(|o| o.as_stream().ok())
                            .and_then(|s| s.dict.get(b"N").ok())
                            .and_then(|n| n.as_i64().ok())
                            .unwrap_or(1);
                        return n.max(1) as usize;
                    }
                    Some(b"Indexed") => match a.get(1) {
                        Some(base) => cs = base.clone(),
                        None => return 1,
                    },
                    Some(b"CalRGB" | b"Lab") => return 3,
                    _ => return 1,
                },
                _ => return 1,
            }
        }
        1
    };
    let mut problems = Vec::new();
    let mut images = 0usize;
    for obj in doc.objects.values() {
        let Ok(stream) = obj.as_stream() else {
            continue;
        };
        if stream.dict.get(b"Subtype").and_then(Object::as_name).ok() != Some(&b"Image"[..]) {
            continue;
        }
        if let Ok(cs) = stream.dict.get(b"ColorSpace")
            && components(cs) > 1
        {
            images += 1;
        }
    }
    if images > 0 {
        problems.push(format!(
            "{images} image(s) are in colour; the printer prints grey (convert them, or leave the conversion to the printer knowingly)"
        ));
    }
    for (number, id) in doc.get_pages() {
        let Ok(content) = doc.get_and_decode_page_content(id) else {
            continue;
        };
        let coloured = content.operations.iter().any(|op| {
            matches!(
                op.operator.as_str(),
                "rg" | "RG" | "sc" | "SC" | "scn" | "SCN" | "k" | "K"
            ) && {
                let v: Vec<f32> = op
                    .operands
                    .iter()
                    .filter_map(|o| o.as_float().ok())
                    .collect();
                match v.len() {
                    3 => (v[0] - v[1]).abs() > 0.01 || (v[1] - v[2]).abs() > 0.01,
                    4 => v[0].abs() > 0.01 || v[1].abs() > 0.01 || v[2].abs() > 0.01,
                    _ => false,
                }
            }
        });
        if coloured {
            problems.push(format!("page {number} draws in colour"));
        }
    }
    problems
}

/// Preflight of a finished PDF: every font embedded and subset. Returns the problems found.
pub fn preflight_fonts(doc: &lopdf::Document) -> Vec<String> {
    use lopdf::Object;
    let mut problems = Vec::new();
    for obj in doc.objects.values() {
        let Ok(dict) = obj.as_dict() else { continue };
        if dict.get(b"Type").and_then(Object::as_name).ok() != Some(&b"FontDescriptor"[..]) {
            continue;
        }
        let name = dict
            .get(b"FontName")
            .and_then(Object::as_name)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let embedded = [&b"FontFile"[..], b"FontFile2", b"FontFile3"]
            .iter()
            .any(|k| dict.has(k));
        if !embedded {
            problems.push(format!("font {name} is not embedded"));
        }
        // A subset's name starts with six capital letters and `+`.
        let subset = name.len() > 7
            && name.as_bytes()[6] == b'+'
            && name.as_bytes()[..6].iter().all(u8::is_ascii_uppercase);
        if !subset {
            problems.push(format!("font {name} is embedded whole, not subset"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mm(pt: f64) -> f64 {
        (pt / PT_PER_MM * 1000.0).round() / 1000.0
    }

    #[test]
    fn spine_worked_examples() {
        // 320 pages on 80 gsm: 160 leaves × 0.100 mm = 16 mm.
        assert_eq!(spine_mm(320, Paper::Gsm(80)), 16.0);
        // 321 pages still need 161 leaves: 161 × 0.09 mm on 70 gsm = 14.49 mm.
        assert!((spine_mm(321, Paper::Gsm(70)) - 14.49).abs() < 1e-9);
        // A printer's 444 PPI: 300 pages / 444 × 25.4 mm = 17.162 mm.
        assert!((spine_mm(300, Paper::Ppi(444.0)) - 17.162).abs() < 1e-3);
        // 100 pages on 80 gsm is a 5 mm spine: too thin for text.
        assert!(spine_mm(100, Paper::Gsm(80)) < MIN_SPINE_TEXT_MM);
    }

    #[test]
    fn relayout_only_for_a_wider_gutter() {
        let s = config("[print]\n").unwrap().unwrap();
        // The 1M-word benchmark's volumes: estimated 540 pages (24 mm), laid out in 487 (22 mm).
        assert!(!s.needs_relayout(540, 487));
        // Same row: never.
        assert!(!s.needs_relayout(320, 480));
        // Under-estimated across a row: the binding needs the wider margin.
        assert!(s.needs_relayout(480, 520));
        assert!(s.needs_relayout(60, 61));
    }

    #[test]
    fn gutter_worked_examples() {
        let table: Vec<(u32, f64)> = GUTTER_TABLE_MM
            .iter()
            .map(|(n, m)| (*n, m * PT_PER_MM))
            .collect();
        assert_eq!(mm(gutter_for(&table, 48)), 16.0);
        assert_eq!(mm(gutter_for(&table, 60)), 16.0);
        assert_eq!(mm(gutter_for(&table, 61)), 18.0);
        assert_eq!(mm(gutter_for(&table, 320)), 22.0);
        assert_eq!(mm(gutter_for(&table, 600)), 24.0);
        assert_eq!(mm(gutter_for(&table, 4500)), 26.0);
    }

    fn config(toml: &str) -> Result<Option<PrintSpec>, String> {
        let c: Config = toml::from_str(toml).map_err(|e| e.to_string())?;
        validate(&c)?;
        spec(&c)
    }

    #[test]
    fn print_table() {
        let s = config("[print]\ntrim = \"6x9in\"\nbleed = \"0.125in\"\nmarks = true\npaper = \"444ppi\"\npad-to = 16\ngutter = [[0, \"12mm\"], [400, \"20mm\"]]\n")
            .unwrap()
            .unwrap();
        assert_eq!(s.trim, (432.0, 648.0));
        assert_eq!(s.bleed, 9.0);
        assert_eq!(s.media().0, 432.0 + 18.0 + 2.0 * SLUG_MM * PT_PER_MM);
        assert_eq!(mm(s.gutter_for(399)), 12.0);
        assert_eq!(mm(s.gutter_for(400)), 20.0);
        assert_eq!(s.pad_to, 16);
        assert_eq!(s.spine_text, SpineText::TopToBottom);
        assert_eq!(config("").unwrap(), None);
        for (bad, key) in [
            ("[print]\ntrim = \"a7\"", "[print] trim"),
            ("[print]\nbleed = \"30mm\"", "[print] bleed"),
            ("[print]\nbleed = \"3\"", "[print] bleed"),
            ("[print]\npaper = \"85gsm\"", "[print] paper"),
            ("[print]\npad-to = 6", "[print] pad-to"),
            ("[print]\nmax-pages = 5", "[print] max-pages"),
            (
                "[print]\ntrim = \"custom\"\nwidth = \"150mm\"",
                "[print] height",
            ),
            ("[print]\ngutter = [[10, \"12mm\"]]", "[print] gutter"),
            ("[print]\nspine-text = \"up\"", "[print] spine-text"),
            (
                "[book]\nidentifier = \"urn:isbn:9780306406158\"",
                "[book] identifier",
            ),
            ("[[volume]]\nparts = \"2-5\"", "[[volume]] parts"),
            ("[[volume]]\nparts = \"x\"", "[[volume]] parts"),
        ] {
            let e = config(bad).unwrap_err();
            assert!(e.contains(&format!("`{key}`")), "{bad}: {e}");
        }
    }

    #[test]
    fn volume_ranges() {
        let c: Config = toml::from_str(
            "[print]\n[[volume]]\nparts = \"1-3\"\ntitle = \"أ\"\n[[volume]]\nparts = \"4-5\"\n",
        )
        .unwrap();
        let v = volumes_config(&c, 5).unwrap();
        assert_eq!(v[0].0, 0..3);
        assert_eq!(v[1].0, 3..5);
        assert!(volumes_config(&c, 6).is_err());
        assert!(volumes_config(&c, 4).is_err());
    }
}
