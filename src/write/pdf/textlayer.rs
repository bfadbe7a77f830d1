//! The archival text layer: visible glyphs become shared outlines, the text becomes an invisible layer in logical order.
//!
//! typst's PDF writer (krilla) maps each glyph of a multi-glyph cluster to the whole cluster's
//! text and leaves the order to the viewer, so vowelled Arabic copies back reversed, split or
//! with duplicated marks in most extractors. Here, before export, every text item of the laid-out
//! frames is replaced by an item in a *glyphless* font of our own (box glyphs, one per
//! character and width, drawn invisible): the item's characters in logical order, each placed
//! over the part of the visible line its cluster covers, right to left for right-to-left runs,
//! marks in a small slot after their letter, the items of a line in logical order. typst still
//! tags that text with the paragraph's structure element. The visible glyphs become one marker
//! shape per text item (typst tags it as an artifact), and [`Outlines`] says which glyph goes
//! where: [`super::postpass::finish`] draws them as shared outlines in the marker's place, so
//! extractors see only the logical layer. In right-to-left lines, a right-to-left mark follows
//! every left-to-right run (a number, a Latin word) for poppler, which reorders lines itself
//! (see [`mark_runs_for_poppler`]).

use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;
use std::collections::{BTreeMap, BTreeSet};

use typst::foundations::Bytes;
use typst::layout::{Abs, Dir, Em, Frame, FrameItem, GroupItem, Point, Ratio, Size, Transform};
use typst::model::Document;
use typst::syntax::Span;
use typst::text::{Font, FontInstance, FontVariations, Glyph, TextItem};
use typst::visualize::{Curve, CurveItem, FillRule, Geometry, Shape};
use typst_layout::{Page, PagedDocument};

/// The glyphless font's PostScript name (its `BaseFont` in the PDF ends with it).
pub const FONT_NAME: &str = "PublishTextLayer";

/// Deepest nesting of frame groups we transform; deeper groups keep typst's own text (their
/// depth comes from the template, never from the book, so this is a safety net).
pub const MAX_GROUP_DEPTH: usize = 64;

/// Width steps of the glyphless font: a character's glyph is as wide as the slot it covers,
/// rounded to 1/`WIDTH_STEPS` em, so extractors see letters touching and spaces where spaces are.
const WIDTH_STEPS: f64 = 50.0;

/// The widest glyph of the glyphless font, in steps (3 em); wider slots use this width.
const MAX_WIDTH_STEP: u16 = 150;

/// How far (in em) text items may sit above or below each other and still be one line.
const LINE_TOLERANCE: f64 = 0.45;

/// The top of each layer glyph's box, in font units (of 1000). A box without height would paint
/// nothing even visible, but MuPDF 1.21 then extracts nothing: [`super::postpass`] makes sure
/// every layer text object is drawn in render mode 3 instead.
const BOX_TOP: i16 = 700;

/// The width of a mark's slot, in em of the text size, right after its letter.
const MARK_SLOT: f64 = 0.08;

/// One character of a layer run: the character, its slot's left edge and width (pt, item
/// coordinates).
struct Slot {
    ch: char,
    left: f64,
    width: f64,
    /// Whether the glyph is made wider than its slot (see [`ARABIC_NUMBER_PAD`]).
    pad: bool,
    /// How far (pt) the glyph's box reaches past the slot on the left and on the right
    /// (negative: it stops short of it); the pen still moves by the slot (see
    /// [`widen_runs`], [`mark_runs_for_poppler`]).
    grow: (f64, f64),
}

impl Slot {
    /// The layer font's glyph for this slot: its character and width step.
    /// `last`: whether it is its item's last slot.
    fn key(&self, size: f64, last: bool) -> (char, u16) {
        if self.ch == ' ' && !last {
            // One glyph for the spaces between words whatever their slots (the pen moves by
            // the slot all the same): [`super::postpass`] gives it the code pdf.js adds word
            // spacing to. A space that ends an item keeps a box as wide as its slot: at a
            // line's end PDFium and MuPDF read a narrower one as a break inside the word.
            return (' ', SPACE_STEP);
        }
        let pad = if self.pad { ARABIC_NUMBER_PAD } else { 0 };
        let width = self.width + self.grow.0 + self.grow.1;
        (self.ch, (step(width, size) + pad).min(MAX_WIDTH_STEP))
    }
}

/// The width steps of the layer's one space glyph: a quarter em, about a space of the body
/// font (see [`Slot::key`]).
const SPACE_STEP: u16 = 12;

/// The width of the layer's space glyph in the PDF (thousandths of an em): how
/// [`super::pdfjs`] knows it.
pub const SPACE_WIDTH: f64 = SPACE_STEP as f64 * 1000.0 / WIDTH_STEPS;

/// Extra width steps of an Arabic-Indic digit's glyph in a left-to-right run. MuPDF takes two
/// right-to-left characters (Arabic numbers count as such) that follow each other left to
/// right, touching, for text in visual order and reverses the whole line; a glyph wider than
/// its slot makes the next digit overlap it by a quarter em, which MuPDF lets be (and pdf.js
/// gives each digit an item of its own, in stream order).
const ARABIC_NUMBER_PAD: u16 = 13;

/// How far (pt) a padded glyph (see [`ARABIC_NUMBER_PAD`]) reaches past its box at text size
/// `size`.
fn pad_width(size: f64) -> f64 {
    f64::from(ARABIC_NUMBER_PAD) / WIDTH_STEPS * size
}

/// Characters of bidi class AN (Arabic number): Arabic-Indic digits, separators, signs.
fn is_arabic_number(c: char) -> bool {
    matches!(c as u32, 0x0600..=0x0605 | 0x0660..=0x0669 | 0x066B..=0x066C | 0x06DD | 0x0890..=0x0891 | 0x08E2)
}

/// Replace every text item of `doc` with its logical layer and a marker for its visible
/// glyphs, which are returned. The pages are read and rebuilt in parallel; glyph forms are
/// numbered in the order of their first use and marker numbers follow the pages, so the result
/// does not depend on the threads.
pub fn prepare(doc: &PagedDocument) -> (PagedDocument, Outlines) {
    use rayon::prelude::*;
    // Pass 1: the slots of every convertible text item of each page, in traversal order, and
    // the glyphs the page uses.
    let read: Vec<(Vec<Sized>, PageGlyphs, Repertoire)> = doc
        .pages()
        .par_iter()
        .map(|page| {
            let mut items = Vec::new();
            let mut glyphs = PageGlyphs::default();
            let mut visual = Vec::new();
            let mut at = Walk {
                out: &mut items,
                glyphs: &mut glyphs,
                visual: &mut visual,
            };
            collect_sized(&page.frame, 0, Point::zero(), &mut at);
            finish_visual(&mut items, &mut visual);
            // The page's part of the glyphless font's repertoire (character, width step).
            let mut keys = Repertoire::default();
            for item in &items {
                for (k, s) in item.slots.iter().enumerate() {
                    keys.insert(s.key(item.size, k + 1 == item.slots.len()));
                }
            }
            (items, glyphs, keys)
        })
        .collect();
    let repertoire: BTreeSet<(char, u16)> = read.iter().flat_map(|r| r.2.iter().copied()).collect();
    let read: Vec<(Vec<Sized>, PageGlyphs)> = read.into_iter().map(|(i, g, _)| (i, g)).collect();
    let gids: BTreeMap<(char, u16), u16> = repertoire
        .iter()
        .enumerate()
        .map(|(i, k)| (*k, (i + 1) as u16))
        .collect();
    let font = glyphless_font(&gids);
    // Looked up for every character of the book.
    let gids: FxHashMap<(char, u16), u16> = gids.into_iter().collect();
    // Every glyph used, in order of first use, outlined once; the ones with an outline are
    // the forms, numbered in that order.
    let mut fonts: Vec<FontInstance> = Vec::new();
    let mut keys: Vec<(usize, u16)> = Vec::new();
    let mut seen: FxHashSet<(usize, u16)> = FxHashSet::default();
    for (_, page) in &read {
        let numbers: Vec<usize> = page
            .fonts
            .iter()
            .map(|f| font_number(&mut fonts, f))
            .collect();
        for (index, id) in &page.keys {
            let key = (numbers[*index], *id);
            if seen.insert(key) {
                keys.push(key);
            }
        }
    }
    let curves: Vec<Option<(Curve, Vec<u8>)>> = keys
        .par_iter()
        .map(|(index, id)| {
            outline(&fonts[*index], *id).map(|curve| {
                let path = path_bytes(&curve);
                (curve, path)
            })
        })
        .collect();
    let mut forms = Forms {
        fonts,
        numbers: FxHashMap::default(),
        curves: Vec::new(),
    };
    let mut outlines = Outlines::default();
    for (key, curve) in keys.into_iter().zip(curves) {
        let number = curve.map(|(curve, path)| {
            outlines.paths.push(path);
            forms.curves.push(curve);
            forms.curves.len() - 1
        });
        forms.numbers.insert(key, number);
    }
    // Every unstroked item gets a marker number, so a page's first one is known before the
    // pages are rebuilt: one more than the markers of the pages before it.
    let mut next = 1;
    let starts: Vec<usize> = read
        .iter()
        .map(|(items, _)| {
            let start = next;
            next += items.iter().filter(|item| item.marked).count();
            start
        })
        .collect();

    // Pass 2: rebuild the frames.
    let rebuilt: Vec<(Page, Vec<Run>)> = doc
        .pages()
        .par_iter()
        .zip(read)
        .zip(starts)
        .map(|((page, (items, _)), start)| {
            let mut state = Rebuild {
                runs: items.into_iter(),
                gids: &gids,
                font: font.clone(),
                forms: &forms,
                first_marker: start,
                marked: Vec::new(),
            };
            let frame = state.frame(&page.frame, 0);
            let page = Page {
                frame,
                ..page.clone()
            };
            (page, state.marked)
        })
        .collect();
    let mut pages = Vec::with_capacity(rebuilt.len());
    for (page, runs) in rebuilt {
        pages.push(page);
        outlines.runs.extend(runs);
    }
    (
        PagedDocument::new(pages.into_iter().collect(), doc.info().clone()),
        outlines,
    )
}

/// The glyphless font's characters a page uses: (character, width step) keys of [`Slot::key`].
type Repertoire = FxHashSet<(char, u16)>;

/// The glyphs of a page in order of first use: (font, glyph id), the font an index into
/// `fonts`.
#[derive(Default)]
struct PageGlyphs {
    fonts: Vec<FontInstance>,
    keys: Vec<(usize, u16)>,
    seen: FxHashSet<(usize, u16)>,
}

/// The glyph forms of the whole document, for pass 2 of [`prepare`].
struct Forms {
    /// The fonts the forms come from (the instance first used).
    fonts: Vec<FontInstance>,
    /// (font, glyph) → form number (`None`: no outline).
    numbers: FxHashMap<(usize, u16), Option<usize>>,
    /// Each form's outline, for stroked text.
    curves: Vec<Curve>,
}

/// The index of `font` in `fonts` (compared as fonts, whatever the instance), added at the
/// end if it is new (a book uses a few fonts).
fn font_number(fonts: &mut Vec<FontInstance>, font: &FontInstance) -> usize {
    match fonts.iter().position(|f| f.font() == font.font()) {
        Some(i) => i,
        None => {
            fonts.push(font.clone());
            fonts.len() - 1
        }
    }
}

/// One text item's glyphs: (form, x, y) in font units from the item's origin.
type Run = Vec<(usize, f64, f64)>;

/// Glyph `id`'s outline in font units, rounded to whole units (under 0.01 pt at text sizes),
/// y downwards as in typst's frames. `None` for a glyph without outline (a space).
fn outline(font: &FontInstance, id: u16) -> Option<Curve> {
    let mut b = PathOut::default();
    font.ttf().outline_glyph(ttf_parser::GlyphId(id), &mut b);
    if b.items.is_empty() {
        return None;
    }
    let p = |x: f32, y: f32| {
        Point::new(
            Abs::pt(f64::from(x).round()),
            Abs::pt(-f64::from(y).round()),
        )
    };
    let mut curve = Curve::new();
    for (kind, v) in &b.items {
        curve.0.push(match kind {
            0 => CurveItem::Move(p(v[0], v[1])),
            1 => CurveItem::Line(p(v[0], v[1])),
            2 => CurveItem::Cubic(p(v[0], v[1]), p(v[2], v[3]), p(v[4], v[5])),
            _ => CurveItem::Close,
        });
    }
    Some(curve)
}

/// The visible glyphs [`prepare`] took out of the frames, for [`super::postpass::finish`].
#[derive(Default)]
pub struct Outlines {
    /// Each glyph's outline as a content-stream path with its fill (`… f`), in font units.
    pub paths: Vec<Vec<u8>>,
    /// Marker `n` (from 1) stands for `runs[n - 1]`: (path, x, y) of each glyph of a text
    /// item, in font units from the item's origin. An empty run (an item of spaces) has no
    /// marker.
    pub runs: Vec<Run>,
}

/// A curve as content-stream path operators, filled (nonzero), numbers as typst gives them.
fn path_bytes(curve: &Curve) -> Vec<u8> {
    use std::fmt::Write;
    let mut s = String::new();
    let n = |v: Abs| {
        let v = v.to_pt();
        if v == 0.0 { 0.0 } else { v }
    };
    for item in &curve.0 {
        let _ = match item {
            CurveItem::Move(p) => write!(s, "{} {} m ", n(p.x), n(p.y)),
            CurveItem::Line(p) => write!(s, "{} {} l ", n(p.x), n(p.y)),
            CurveItem::Cubic(a, b, p) => write!(
                s,
                "{} {} {} {} {} {} c ",
                n(a.x),
                n(a.y),
                n(b.x),
                n(b.y),
                n(p.x),
                n(p.y)
            ),
            CurveItem::Close => write!(s, "h "),
        };
    }
    s.push('f');
    s.into_bytes()
}

/// The width step of a slot `width` pt wide in text of `size` pt.
fn step(width: f64, size: f64) -> u16 {
    ((width / size * WIDTH_STEPS).round().max(0.0) as u16).min(MAX_WIDTH_STEP)
}

/// Whether typst's item gets a logical layer: every item with glyphs.
fn convertible(item: &TextItem) -> bool {
    !item.glyphs.is_empty()
}

/// What pass 1 of [`prepare`] learns about a convertible text item.
struct Sized {
    /// The text size (pt).
    size: f64,
    /// The layer's characters (after [`finish_line`] moved and widened some).
    slots: Vec<Slot>,
    /// Whether its glyphs become a marker (all but stroked text).
    marked: bool,
    /// Whether it is one of its line's layer items (it had characters before
    /// [`finish_line`]), and its place in the line's logical order.
    in_line: bool,
    rank: usize,
}

/// A layer item of the line [`collect_sized`] is reading: its index in the page's items, its
/// left edge, whether it runs right to left, its position, whether the typst item it comes
/// from has a letter or digit, whether it has a letter, whether its language is written right
/// to left.
#[derive(Clone)]
struct Pend {
    index: usize,
    x: f64,
    rtl: bool,
    pos: Point,
    strong: bool,
    letters: bool,
    lang_rtl: bool,
}

/// Pass 1 over a frame: what [`Sized`] says of each convertible text item, and the glyphs
/// they draw. Lines are found as [`Rebuild::frame`] finds them, and each is put in logical
/// order and finished by [`finish_line`].
fn collect_sized(frame: &Frame, depth: usize, offset: Point, at: &mut Walk) {
    let mut line: Vec<Pend> = Vec::new();
    for (pos, item) in frame.items() {
        if ends_line(item, *pos, line.first().map(|p| p.pos)) {
            finish_line(at.out, &mut line, offset, at.visual);
        }
        match item {
            FrameItem::Group(g) if depth < MAX_GROUP_DEPTH => {
                if g.transform.is_identity() {
                    collect_sized(&g.frame, depth + 1, offset + *pos, at);
                } else {
                    // Page positions are unknown inside: its lines are cut on their own.
                    finish_visual(at.out, at.visual);
                    collect_sized(&g.frame, depth + 1, offset + *pos, at);
                    finish_visual(at.out, at.visual);
                }
            }
            FrameItem::Text(t) if convertible(t) => {
                let (out, glyphs) = (&mut *at.out, &mut *at.glyphs);
                let index = font_number(&mut glyphs.fonts, &t.font);
                for g in &t.glyphs {
                    if glyphs.seen.insert((index, g.id)) {
                        glyphs.keys.push((index, g.id));
                    }
                }
                let slots = slots(t);
                let in_line = !slots.is_empty();
                if in_line {
                    let left = slots.iter().map(|s| s.left).fold(f64::MAX, f64::min);
                    line.push(Pend {
                        index: out.len(),
                        x: pos.x.to_pt() + left,
                        rtl: is_rtl(t),
                        pos: *pos,
                        strong: t.text.chars().any(char::is_alphanumeric),
                        letters: t.text.chars().any(char::is_alphabetic),
                        lang_rtl: t.lang.dir() == Dir::RTL,
                    });
                }
                out.push(Sized {
                    size: t.size.to_pt(),
                    slots,
                    marked: t.stroke.is_none(),
                    in_line,
                    rank: 0,
                });
            }
            _ => {}
        }
    }
    finish_line(at.out, &mut line, offset, at.visual);
}

/// What [`collect_sized`] writes to: the page's items, its glyphs, and the visual line being
/// read (see [`finish_visual`]).
struct Walk<'a> {
    out: &'a mut Vec<Sized>,
    glyphs: &'a mut PageGlyphs,
    visual: &'a mut Vec<Pend>,
}

/// Mark the runs of the visual line `visual` for poppler (see [`mark_runs_for_poppler`]). A
/// visual line is made of the lines of one or more frames on one baseline (typst may set part
/// of a line in a group of its own), positions on the page: poppler sees the whole line.
fn finish_visual(out: &mut [Sized], visual: &mut Vec<Pend>) {
    if visual.is_empty() {
        return;
    }
    order(visual);
    mark_runs_for_poppler(out, visual);
    visual.clear();
}

/// Whether `item` (at `pos`) ends the line whose first layer item is at `first`: both passes of
/// [`prepare`] find lines with this, so they find the same ones. Items of one line sit within a
/// few tenths of an em of each other (marks and fallback glyphs may be raised); lines are at
/// least an em apart. Items that only draw marks over another item's letters (all advances
/// zero) give no layer text; they may sit far above or below the line, so they never end it.
/// Anything but text ends it.
fn ends_line(item: &FrameItem, pos: Point, first: Option<Point>) -> bool {
    let text = match item {
        FrameItem::Text(t) if convertible(t) => Some(t.size.to_pt()),
        _ => None,
    };
    let marks_only = matches!(item, FrameItem::Text(t)
        if t.glyphs.iter().all(|g| g.x_advance.get() == 0.0));
    let other_line =
        |size: f64| first.is_some_and(|f| (f.y - pos.y).to_pt().abs() > LINE_TOLERANCE * size);
    !marks_only && text.is_none_or(other_line)
}

/// Finish the layer items of a line: put them in logical order (their ranks); move the weak
/// characters that start an item to the item before it when that one ends in weak characters
/// (`2017` and the comma after it, a mark and a colon from another font), so that
/// [`super::postpass`] keeps the run in one text object; widen the end glyphs of
/// left-to-right runs (see [`widen_runs`]).
fn finish_line(out: &mut [Sized], line: &mut Vec<Pend>, offset: Point, visual: &mut Vec<Pend>) {
    if line.is_empty() {
        return;
    }
    order(line);
    for (rank, p) in line.iter().enumerate() {
        out[p.index].rank = rank;
    }
    let weak = |c: char| matches!(class(c), Class::Weak | Class::Mark);
    let same_line = |a: &Pend, b: &Pend| (a.pos.y - b.pos.y).to_pt().abs() < 0.01;
    let mut prev: Option<usize> = None;
    for k in 0..line.len() {
        let b = &line[k];
        if let Some(j) = prev {
            let a = &line[j];
            let (sa, sb) = (&out[a.index], &out[b.index]);
            let tail = sa.slots.iter().rev().take_while(|s| weak(s.ch)).count();
            let head = sb.slots.iter().take_while(|s| weak(s.ch)).count();
            let all_marks = sa.slots[sa.slots.len() - tail..]
                .iter()
                .chain(&sb.slots[..head])
                .all(|s| class(s.ch) == Class::Mark);
            if tail > 0 && head > 0 && !all_marks && sa.size == sb.size && same_line(a, b) {
                let shift = (b.pos.x - a.pos.x).to_pt();
                let moved: Vec<Slot> = out[b.index].slots.drain(..head).collect();
                out[a.index].slots.extend(moved.into_iter().map(|mut s| {
                    s.left += shift;
                    s
                }));
            }
        }
        if !out[line[k].index].slots.is_empty() {
            prev = Some(k);
        }
    }
    merge_runs_for_poppler(out, line);
    widen_runs(out, line);
    // The line joins the visual line it is on, in page positions.
    for p in line.drain(..) {
        let pos = p.pos + offset;
        let size = out[p.index].size;
        let other = visual
            .first()
            .is_some_and(|f| (f.pos.y - pos.y).to_pt().abs() > LINE_TOLERANCE * size);
        if other {
            finish_visual(out, visual);
        }
        visual.push(Pend {
            x: p.x + offset.x.to_pt(),
            pos,
            ..p
        });
    }
}

/// pdfminer puts two characters that follow each other in the content stream on one line only
/// when they are less than twice the wider one's width apart; the layer jumps from the
/// character before a left-to-right run (a number, a Latin word) to the run's left end, and from
/// its right end to the character after it. The glyphs at the two ends of the run are widened
/// on both sides (their centres stay where they are, so a selection or a visual-order check
/// sees them in place) until both jumps pass that test.
fn widen_runs(out: &mut [Sized], line: &[Pend]) {
    const WIDEN_MOST: f64 = 0.4;
    const MARGIN: f64 = 2.0;
    const SAFETY: f64 = 1.15;
    let items: Vec<&Pend> = line
        .iter()
        .filter(|p| !out[p.index].slots.is_empty())
        .collect();
    let same_line = |a: &Pend, b: &Pend| (a.pos.y - b.pos.y).to_pt().abs() < 0.01;
    // Page x of slot `s` of item `p`: (left, right, width).
    let place = |p: &Pend, s: &Slot| {
        let l = p.pos.x.to_pt() + s.left;
        (l, l + s.width, s.width)
    };
    // How much to widen `near` (the run's glyph) so the jump from or to `far` passes.
    let stretch = |gap: f64, near: f64, far: f64| {
        if gap > 0.0 && gap >= MARGIN * near.max(far) {
            (gap - MARGIN * near) / (1.0 + 2.0 * MARGIN) * SAFETY
        } else {
            0.0
        }
    };
    // Only letters and digits are widened: a bracket, a quote or an LRM whose box reached over
    // its neighbour would be a word of its own to poppler, which moves it to the other side or
    // loses the space next to it.
    let strong = |s: &Slot| {
        matches!(
            bidi_class(s.ch),
            unicode_bidi::BidiClass::L | unicode_bidi::BidiClass::EN
        ) && s.ch.is_alphanumeric()
    };
    let mut widen: Vec<(usize, usize, f64)> = Vec::new();
    for (k, p) in items.iter().enumerate() {
        let slots = &out[p.index].slots;
        if !slots.iter().any(strong) {
            continue;
        }
        // The left-to-right part: the slots that run left to right from the first.
        let mut n = 1;
        while n < slots.len() && slots[n].left >= slots[n - 1].left - 0.01 {
            n += 1;
        }
        let (_, f1, wf) = place(p, &slots[0]);
        let before = (k > 0 && same_line(items[k - 1], p)).then(|| {
            let q = items[k - 1];
            let x = out[q.index].slots.last().expect("items have slots");
            let (x0, _, wx) = place(q, x);
            stretch(x0 - f1, wf, wx)
        });
        let (e0, _, we) = place(p, &slots[n - 1]);
        let after = if n < slots.len() {
            Some(place(p, &slots[n]))
        } else if k + 1 < items.len() && same_line(items[k + 1], p) {
            let q = items[k + 1];
            Some(place(q, &out[q.index].slots[0]))
        } else {
            None
        };
        let after = after.map(|(_, y1, wy)| stretch(e0 - y1, we, wy));
        let (d1, d2) = (before.unwrap_or(0.0), after.unwrap_or(0.0));
        if n == 1 {
            widen.push((p.index, 0, d1.max(d2)));
        } else {
            widen.push((p.index, 0, d1));
            widen.push((p.index, n - 1, d2));
        }
    }
    for (index, slot, d) in widen {
        let size = out[index].size;
        let s = &mut out[index].slots[slot];
        if !strong(s) {
            continue;
        }
        // At most WIDEN_MOST em a side: a box reaching half an em over its neighbour ends
        // poppler's line there (a long run is left to pdfminer's line break). The widest glyph
        // is MAX_WIDTH_STEP steps: keep the centre within it.
        let most = ((f64::from(MAX_WIDTH_STEP) / WIDTH_STEPS * size - s.width) / 2.0).max(0.0);
        let d = d.min(most).min(WIDEN_MOST * size);
        if d > 0.0 {
            s.left -= d;
            s.width += 2.0 * d;
        }
    }
}

/// A character's type in poppler's bidi reordering (`UnicodeTypeTable.cc`): left to right,
/// number (`#`: digits and their separators, signs, the Arabic comma, no-break space), right to
/// left, or neutral (spaces, brackets, most punctuation, marks).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Poppler {
    L,
    Num,
    R,
    N,
}

/// The [`Poppler`] type of `c`: poppler's table for the scripts a book uses, bidi classes
/// elsewhere.
fn poppler_type(c: char) -> Poppler {
    use unicode_bidi::BidiClass;
    let u = c as u32;
    if c.is_ascii_digit()
        || matches!(c, '.' | ',' | ':' | '-' | '/' | '%' | '#' | '+' | '$')
        || matches!(u, 0xA0 | 0xA2..=0xA5 | 0xB0..=0xB3 | 0xB9 | 0x0604..=0x060C
            | 0x0659..=0x066C | 0x06F0..=0x06F9 | 0x2030..=0x2034 | 0x2044 | 0xFE50 | 0xFE52
            | 0xFE55 | 0xFE5F | 0xFE62 | 0xFE63 | 0xFE69 | 0xFE6A)
    {
        return Poppler::Num;
    }
    if matches!(u, 0x0600..=0x0603 | 0x06DD | 0x0616..=0x061A | 0xFD40..=0xFD4F | 0xFDCF
        | 0x202B | 0x202E)
    {
        return Poppler::R;
    }
    if matches!(u, 0x202A | 0x202D) {
        return Poppler::L;
    }
    match bidi_class(c) {
        BidiClass::L => Poppler::L,
        BidiClass::R | BidiClass::AL => Poppler::R,
        _ => Poppler::N,
    }
}

/// The width (em) of the slot of the right-to-left mark put after a run for poppler.
const RLM_WIDTH: f64 = 0.06;

/// How far (em) a layer glyph's box may reach over its neighbour's: poppler ends its line
/// where a box reaches half an em over the one before. The mark after a run reaches this far
/// over the run (MuPDF, which reads it right after the run's last character, then sees no gap
/// before it, in a run of up to two characters), a run's last character past its slot and
/// over the glyph before it, and an end of ayah over its digits.
const POPPLER_OVERLAP: f64 = 0.45;

/// How far (em) a run's glyph box may move right to leave room for the mark after the run.
const RLM_SHIFT: f64 = 0.3;

/// The least gap (em) left between the mark after a run and the next visible character, so
/// that poppler still sees the space there.
const RLM_ROOM: f64 = 0.2;

/// How much closer than pdfminer's limit the mark after a run comes to the run's last character.
const RLM_SAFETY: f64 = 1.15;

/// One character of a line for [`mark_runs_for_poppler`] and [`merge_runs_for_poppler`]: its
/// item in `out` and slot, the item's x, its page x extent, its box, its text size, its
/// character and poppler type.
struct LineChar {
    item: usize,
    slot: usize,
    origin: f64,
    x0: f64,
    x1: f64,
    /// The glyph's box (it may reach past the slot).
    b0: f64,
    b1: f64,
    size: f64,
    ch: char,
    ty: Poppler,
    /// How far (pt) its glyph reaches past the box on the right (see [`ARABIC_NUMBER_PAD`]).
    pad: f64,
}

/// Make poppler read the numbers and Latin words of a right-to-left line in logical order.
///
/// Poppler's `pdftotext` reorders a right-to-left line itself (`TextOutputDev.cc`,
/// `reorderText`): from the right end it takes a right-to-left section (all but L and number
/// characters, neutrals included), then everything up to the next right-to-left character
/// left to right. So after a number or a Latin word it writes the neutrals to its left (the
/// space after it, a closing bracket) *before* it: `عام 2014 ثم` came back `عام  2014ثم`, `﴿١﴾`
/// as `﴿ ﴾١`. A right-to-left mark (U+200F, invisible, of poppler's right-to-left type) put
/// right after every such run, with its box just left of the run, ends the left-to-right
/// section where the run ends: poppler writes the run, the mark, then the neutrals and letters
/// after it, in logical order, and the line stays one line. (Where a run's last character is
/// followed by a letter or a digit, or by nothing visible, no mark is needed.) The other
/// extractors keep it too (it is text, like the marks typst sets around a Latin run); search
/// and copy ignore it, and it is a right-to-left mark in right-to-left text.
///
/// The mark's box is placed for the extractors that read by geometry:
/// - pdfminer keeps the mark on the run's line only while it is less than twice the wider of
///   the two boxes from the run's last character (which sits at the run's right end): the
///   mark's box reaches left, short of the next visible character, and the last character's
///   box grows to the left for the rest (at most [`POPPLER_OVERLAP`]); the spaces after the
///   mark reach to it;
/// - MuPDF reads a gap between the run's last character and the mark as a space: the mark
///   reaches [`POPPLER_OVERLAP`] over the run;
/// - poppler needs a gap between the mark and the next visible character to see the space
///   there: a run glyph that was widened over the space moves right ([`RLM_SHIFT`]).
///
/// Only lines with right-to-left items get marks; the source's characters are all there.
fn mark_runs_for_poppler(out: &mut [Sized], line: &[Pend]) {
    if !line_rtl(line) {
        return;
    }
    let mut chars = line_chars(out, line);
    let n = chars.len();
    let mut changed = vec![false; n];
    let mut marks: Vec<(usize, usize, Slot)> = Vec::new();
    for i in 0..n.saturating_sub(1) {
        // The last character `i` of a run whose successor is neutral, with a visible
        // character after it.
        let next = &chars[i + 1];
        if !run_char(&chars[i]) || (next.ty != Poppler::N && !next.ch.is_whitespace()) {
            continue;
        }
        let Some(k) = (i + 1..n).find(|&k| !chars[k].ch.is_whitespace()) else {
            continue;
        };
        // The left-to-right phrase the run ends (`info@example.org`, `Web scanning`): back
        // while the characters go on to the left and are not right to left.
        let mut s = i;
        while s > 0 && chars[s - 1].ty != Poppler::R && chars[s - 1].x0 <= chars[s].x0 + 0.01 {
            s -= 1;
        }
        // Only where the line goes on to the left (not inside the phrase): the next visible
        // character, or the run it starts, lies left of the phrase.
        let run_left = chars[s..=i].iter().map(|c| c.x0).fold(f64::MAX, f64::min);
        let mut end = k + 1;
        if run_char(&chars[k]) {
            while end < n && run_char(&chars[end]) {
                end += 1;
            }
        }
        let next_left = chars[k..end].iter().map(|c| c.x0).fold(f64::MAX, f64::min);
        if next_left > run_left + 0.01 {
            continue;
        }
        let em = chars[i].size;
        if k > i + 1 {
            let limit = chars[k].b1 + (RLM_WIDTH + RLM_ROOM) * em;
            for j in s..=i {
                let d = (limit - chars[j].b0).clamp(0.0, RLM_SHIFT * em);
                if d <= 0.0 {
                    continue;
                }
                // Its right edge moves as far as it may over the next character of the phrase
                // (half an em over it would end poppler's line); the box narrows for the rest.
                let x0 = chars[j].x0;
                let over = chars[s..=i]
                    .iter()
                    .filter(|r| r.x0 > x0 + 0.01)
                    .map(|r| r.b0 + POPPLER_OVERLAP * em)
                    .fold(f64::MAX, f64::min);
                let c = &mut chars[j];
                c.b0 += d;
                c.b1 = (c.b1 + d).min(over.max(c.b1)).max(c.b0);
                changed[j] = true;
            }
        }
        // The run's last character reaches at most POPPLER_OVERLAP past its slot and over
        // the glyph before it (a digit's pad included): more would end poppler's line there.
        let before = chars[s..i]
            .iter()
            .filter(|p| p.x0 < chars[i].x0)
            .map(|p| p.b1 + p.pad)
            .fold(f64::MIN, f64::max);
        let floor = (chars[i].x0 - POPPLER_OVERLAP * em).max(before - POPPLER_OVERLAP * em);
        if chars[i].b0 < floor && floor < chars[i].b1 {
            chars[i].b0 = floor;
            changed[i] = true;
        }
        let gx = chars[s..=i].iter().map(|c| c.b0).fold(f64::MAX, f64::min);
        let fits = |gap: f64, a: f64, b: f64| gap * RLM_SAFETY < 2.0 * a.max(b);
        // The mark's box reaches up to POPPLER_OVERLAP over the phrase: pdfminer's gap is
        // from there to the last character's box.
        let span = chars[i].b0 - gx;
        let over = span.clamp(0.0, POPPLER_OVERLAP * em);
        let gap = span - over;
        let w = chars[i].b1 - chars[i].b0;
        let mut width = RLM_WIDTH * em;
        let mut d = 0.0;
        if !fits(gap, w, width + over) {
            let c = &mut chars[i];
            let most = (c.b0 - floor).clamp(0.0, gap);
            d = ((gap * RLM_SAFETY - 2.0 * w) / (2.0 + RLM_SAFETY) + 0.01 * em).min(most);
            c.b0 -= d;
            changed[i] = true;
        }
        if !fits(gap - d, w + d, width + over) {
            let room = gx - chars[k].b1 - RLM_ROOM * em;
            width = ((gap - d) * RLM_SAFETY / 2.0 - over).min(room).max(width);
        }
        for c in i + 1..k {
            if chars[c].b1 < gx {
                chars[c].b1 = gx;
                changed[c] = true;
            }
        }
        let c = &chars[i];
        marks.push((
            c.item,
            c.slot + 1,
            Slot {
                ch: '\u{200F}',
                left: gx - RLM_WIDTH * em - c.origin,
                width: RLM_WIDTH * em,
                pad: false,
                grow: (
                    width - RLM_WIDTH * em,
                    (c.b0 - gx).clamp(0.0, POPPLER_OVERLAP * em),
                ),
            },
        ));
    }
    write_back(out, &chars, &changed);
    for (item, slot, mark) in marks.into_iter().rev() {
        out[item].slots.insert(slot, mark);
    }
}

/// Whether `c` belongs to a run poppler reads left to right: an L or number character that
/// is not a space.
fn run_char(c: &LineChar) -> bool {
    matches!(c.ty, Poppler::L | Poppler::Num) && !c.ch.is_whitespace()
}

/// The characters of a line's layer items in logical order, for [`mark_runs_for_poppler`] and
/// [`merge_runs_for_poppler`].
fn line_chars(out: &[Sized], line: &[Pend]) -> Vec<LineChar> {
    let mut chars: Vec<LineChar> =
        Vec::with_capacity(line.iter().map(|p| out[p.index].slots.len()).sum());
    for p in line {
        let origin = p.pos.x.to_pt();
        let size = out[p.index].size;
        for (j, s) in out[p.index].slots.iter().enumerate() {
            chars.push(LineChar {
                item: p.index,
                slot: j,
                origin,
                x0: origin + s.left,
                x1: origin + s.left + s.width,
                b0: origin + s.left - s.grow.0,
                b1: origin + s.left + s.width + s.grow.1,
                size,
                ch: s.ch,
                ty: poppler_type(s.ch),
                pad: if s.pad { pad_width(size) } else { 0.0 },
            });
        }
    }
    chars
}

/// Put the `changed` characters of [`line_chars`] back in their slots.
fn write_back(out: &mut [Sized], chars: &[LineChar], changed: &[bool]) {
    for (k, c) in chars.iter().enumerate() {
        if changed[k] {
            let s = &mut out[c.item].slots[c.slot];
            s.left = c.x0 - c.origin;
            s.width = (c.x1 - c.x0).max(0.0);
            s.grow = (c.x0 - c.b0, c.b1 - c.x1);
        }
    }
}

/// Lay out left to right, in logical order, the L and number characters of a right-to-left
/// line that follow each other but run right to left (`2017` and the Arabic comma after it,
/// set to its left): poppler takes them for one word and reads it left to right. The run
/// keeps the interval it covers. Done before [`widen_runs`], which then sees the run as it
/// will be.
fn merge_runs_for_poppler(out: &mut [Sized], line: &[Pend]) {
    if !line_rtl(line) {
        return;
    }
    let mut chars = line_chars(out, line);
    let n = chars.len();
    let mut changed = vec![false; n];
    // Parts of a run: characters going left to right.
    let mut i = 0;
    while i < n {
        if !run_char(&chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && run_char(&chars[i]) {
            i += 1;
        }
        // Parts: (first, end, x0, x1).
        let mut parts: Vec<(usize, usize, f64, f64)> = Vec::new();
        for k in start..i {
            let c = &chars[k];
            match parts.last_mut() {
                Some(part) if c.x0 >= chars[k - 1].x0 - 0.01 => {
                    part.1 = k + 1;
                    part.2 = part.2.min(c.x0);
                    part.3 = part.3.max(c.x1);
                }
                _ => parts.push((k, k + 1, c.x0, c.x1)),
            }
        }
        let leftwards = parts.windows(2).all(|w| {
            let em = chars[w[0].0].size;
            w[1].3 <= w[0].2 + 0.3 * em && w[1].2 < w[0].2 - 0.1 * em
        });
        if parts.len() > 1 && leftwards {
            let mut x = parts.iter().map(|p| p.2).fold(f64::MAX, f64::min);
            for (first, end, x0, x1) in parts {
                let shift = x - x0;
                for k in first..end {
                    let c = &mut chars[k];
                    c.x0 += shift;
                    c.x1 += shift;
                    c.b0 += shift;
                    c.b1 += shift;
                    changed[k] = true;
                }
                x += x1 - x0;
            }
        }
    }
    write_back(out, &chars, &changed);
}

/// How viewers group a character with its neighbours: PDFium and pdf.js reorder text by bidi
/// class (see [`super::postpass`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Class {
    /// Strong left to right (bidi L): Latin letters.
    Strong,
    /// Weak (bidi EN, AN, CS, ES, ET, BN): digits, their separators, ۝.
    Weak,
    /// A combining mark.
    Mark,
    /// A space (bidi WS): where a word ends.
    Space,
    /// Everything else: right-to-left letters, other punctuation.
    Other,
}

/// The [`Class`] of `c`.
pub fn class(c: char) -> Class {
    use unicode_bidi::BidiClass;
    if is_mark(c) {
        return Class::Mark;
    }
    match bidi_class(c) {
        BidiClass::NSM => Class::Mark,
        BidiClass::L => Class::Strong,
        BidiClass::EN
        | BidiClass::AN
        | BidiClass::CS
        | BidiClass::ES
        | BidiClass::ET
        | BidiClass::BN => Class::Weak,
        BidiClass::WS => Class::Space,
        _ => Class::Other,
    }
}

/// The bidi class of `c`, without searching the Unicode table for the most common
/// characters (Arabic and Latin letters, the space): it is asked for every character of the
/// book.
fn bidi_class(c: char) -> unicode_bidi::BidiClass {
    use unicode_bidi::BidiClass;
    match c {
        'a'..='z' | 'A'..='Z' => BidiClass::L,
        ' ' => BidiClass::WS,
        '\u{0621}'..='\u{063A}' | '\u{0641}'..='\u{064A}' => BidiClass::AL,
        _ => unicode_bidi::bidi_class(c),
    }
}

/// Arabic, Hebrew and general combining marks: they take a small slot after their letter.
pub fn is_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0591..=0x05BD | 0x05BF | 0x05C1..=0x05C2 | 0x05C4..=0x05C5 | 0x05C7
        | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06DC | 0x06DF..=0x06E4
        | 0x06E7..=0x06E8 | 0x06EA..=0x06ED | 0x08D3..=0x08E1 | 0x08E3..=0x08FF
        | 0xFE20..=0xFE2F)
}

/// Invisible format characters (embeddings, isolates, joiners): not part of the text an
/// archivist copies. The marks LRM and RLM stay: they tell a viewer's bidi where the
/// punctuation around a Latin run belongs, as in typst's own text.
fn is_control(c: char) -> bool {
    matches!(c as u32, 0x200B..=0x200D | 0x202A..=0x202E | 0x2066..=0x2069 | 0x00AD | 0xFEFF)
}

/// Whether `item` holds right-to-left letters.
fn has_rtl(item: &TextItem) -> bool {
    item.text
        .chars()
        .any(|c| matches!(c as u32, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF))
}

/// Whether `item` is set right to left (its glyphs run against its text, or it has RTL letters).
fn is_rtl(item: &TextItem) -> bool {
    let first = item.glyphs.first().map_or(0, |g| g.range.start);
    let last = item.glyphs.last().map_or(0, |g| g.range.start);
    first > last || (first == last && has_rtl(item))
}

/// Layer items of one line waiting to be written: (rank in the line's logical order,
/// position, item, slots).
type Pending = Vec<(usize, Point, TextItem, Vec<Slot>)>;

/// Whether a line runs right to left: it has right-to-left items and most of its items are in
/// a language written right to left. A paragraph's items all carry its language (a Latin run
/// in Arabic text is Arabic to typst, an Arabic word in an English note English), so an
/// English note keeps its Arabic words in a left-to-right line.
fn line_rtl(line: &[Pend]) -> bool {
    line.iter().any(|p| p.rtl) && 2 * line.iter().filter(|p| p.lang_rtl).count() >= line.len()
}

/// Put the layer items of a line in logical order (see [`Rebuild::flush`]): in the line's
/// direction, each run of items set against it reversed.
///
/// In a right-to-left line such a run is the items between two right-to-left ones (numbers,
/// Latin words and what separates them); neutrals at its ends take the line's direction (rule
/// N2), and so does a neutral item between two runs of which one is a number: a number after
/// Arabic text is an Arabic number to the bidi algorithm, and a neutral next to it is not part
/// of a left-to-right run (`100 Mbps` is set `Mbps 100`, `2024-03-15` as `15-03-2024`; typst
/// sets such a neutral in an item of its own). In a left-to-right line (an English note) the
/// run is the right-to-left items with the numbers and neutrals between them (rule N1).
fn order(pending: &mut [Pend]) {
    let rtl = line_rtl(pending);
    if rtl {
        pending.sort_by(|a, b| b.x.total_cmp(&a.x));
    } else {
        pending.sort_by(|a, b| a.x.total_cmp(&b.x));
    }
    let against = |p: &Pend| p.rtl != rtl;
    let neutral = |p: &Pend| !p.strong;
    let number = |p: &Pend| p.strong && !p.letters;
    let n = pending.len();
    let mut i = 0;
    while i < n {
        if !against(&pending[i]) {
            i += 1;
            continue;
        }
        let mut start = i;
        let mut end = i + 1;
        let mut j = i + 1;
        while j < n {
            if against(&pending[j]) {
                end = j + 1;
            } else if rtl || pending[j].letters {
                break;
            }
            j += 1;
        }
        i = end;
        while start < end && neutral(&pending[start]) {
            start += 1;
        }
        while end > start && neutral(&pending[end - 1]) {
            end -= 1;
        }
        // Pieces of the run, split at neutrals next to a number (right-to-left lines).
        let mut from = start;
        for k in start..end {
            let split = rtl
                && k > start
                && k + 1 < end
                && neutral(&pending[k])
                && pending[k - 1].strong
                && pending[k + 1].strong
                && (number(&pending[k - 1]) || number(&pending[k + 1]));
            if split {
                pending[from..k].reverse();
                from = k + 1;
            }
        }
        pending[from..end].reverse();
    }
}

/// The logical-order slots of a text item: each cluster's extent on the line is shared by its
/// characters, in logical order, right to left in right-to-left runs.
fn slots(item: &TextItem) -> Vec<Slot> {
    let size = item.size.to_pt();
    // typst draws some marks in an item of their own (zero-advance glyphs over a cluster whose
    // letters an adjacent item draws, with the same text): that text is in the other item's
    // layer already, so these items get outlines only.
    if item.glyphs.iter().all(|g| g.x_advance.get() == 0.0) {
        return Vec::new();
    }
    // Each glyph's text range and extent; clusters are the unions of overlapping ranges (a
    // mark's glyph may carry a range inside its letter's), so every character is placed once.
    let mut pieces: Vec<(u16, u16, f64, f64)> = Vec::with_capacity(item.glyphs.len());
    let mut cursor = 0.0;
    for g in &item.glyphs {
        let adv = g.x_advance.get() * size;
        let (l, r) = if adv >= 0.0 {
            (cursor, cursor + adv)
        } else {
            (cursor + adv, cursor)
        };
        pieces.push((g.range.start, g.range.end.max(g.range.start), l, r));
        cursor += adv;
    }
    pieces.sort_by_key(|p| (p.0, p.1));
    // A cluster of marks alone (a zero-width mark glyph with its own range) joins its letter's
    // cluster, so it gets a slot after the letter rather than none at the letter's edge.
    let only_marks = |start: u16, end: u16| {
        item.text
            .get(start as usize..end as usize)
            .is_some_and(|t| !t.is_empty() && t.chars().all(|c| is_mark(c) || is_control(c)))
    };
    // (start, end, left, right), disjoint and in text order.
    let mut clusters: Vec<(u16, u16, f64, f64)> = Vec::new();
    for (start, end, l, r) in pieces {
        match clusters.last_mut() {
            Some(c) if start < c.1 || start == c.0 || (start == c.1 && only_marks(start, end)) => {
                c.1 = c.1.max(end);
                c.2 = c.2.min(l);
                c.3 = c.3.max(r);
            }
            _ => clusters.push((start, end, l, r)),
        }
    }
    let first = item.glyphs.first().map_or(0, |g| g.range.start);
    let last = item.glyphs.last().map_or(0, |g| g.range.start);
    let rtl = first > last || (first == last && has_rtl(item));
    let mut out = Vec::with_capacity(item.text.len());
    for (start, end, left, right) in clusters {
        let Some(text) = item.text.get(start as usize..end as usize) else {
            continue;
        };
        let chars: SmallVec<[char; 8]> = text.chars().filter(|c| !is_control(*c)).collect();
        if chars.is_empty() {
            continue;
        }
        let width = (right - left).max(0.0);
        let marks = chars.iter().filter(|c| is_mark(**c)).count();
        let bases = chars.len() - marks;
        let mark_w = if bases == 0 {
            width / chars.len() as f64
        } else {
            (MARK_SLOT * size).min(width / (chars.len() as f64 + 1.0))
        };
        let base_w = if bases == 0 {
            0.0
        } else {
            (width - mark_w * marks as f64) / bases as f64
        };
        // Walk the cluster in logical order from its leading edge.
        let mut edge = if rtl { right } else { left };
        for ch in chars {
            let w = if is_mark(ch) { mark_w } else { base_w };
            let l = if rtl { edge - w } else { edge };
            out.push(Slot {
                ch,
                left: l,
                width: w,
                pad: !rtl && is_arabic_number(ch),
                grow: (0.0, 0.0),
            });
            edge = if rtl { edge - w } else { edge + w };
        }
    }
    // An end of ayah (۝) with its number drawn inside: the ornament on the right and the
    // digits, left to right, at its left end, so that poppler (which takes ۝ for a
    // right-to-left character and the digits for a number) reads ۝ first.
    for k in 0..out.len() {
        if out[k].ch != '\u{06DD}' {
            continue;
        }
        let (l, r) = (out[k].left, out[k].left + out[k].width);
        let digits = out[k + 1..]
            .iter()
            .take_while(|d| d.ch.is_numeric() && d.left >= l - 0.01 && d.left + d.width <= r + 0.01)
            .count();
        if digits == 0 {
            continue;
        }
        // The digits are drawn over the ornament without advances of their own: an equal
        // share of its width each, the ornament keeping one.
        let share = (r - l) / (digits + 1) as f64;
        let mut x = l;
        for d in &mut out[k + 1..=k + digits] {
            d.left = x;
            d.width = share;
            x += share;
        }
        out[k].left = x;
        out[k].width = r - x;
        // Its box reaches back over the digits after the first to touch the first one's
        // (padded) glyph: MuPDF, which reads the first digit next, takes a gap for a space.
        let pad = if digits > 1 { pad_width(size) } else { 0.0 };
        out[k].grow.0 = ((digits - 1) as f64 * share - pad).clamp(0.0, POPPLER_OVERLAP * size);
    }
    // The last digit of a number needs no pad (no digit follows to overlap), and one would
    // reach over the space before the number, which poppler then no longer sees; nor does
    // ۝, whose digits are to its left.
    for k in 0..out.len() {
        if out[k].pad
            && (out[k].ch == '\u{06DD}' || !out.get(k + 1).is_some_and(|n| is_arabic_number(n.ch)))
        {
            out[k].pad = false;
        }
    }
    // Logical order: clusters sorted by text position, already.
    out
}

/// A glyph outline in font units: each point is (x, y) y-up.
type Outline = Vec<(u8, [f32; 6])>;

/// Pass 2: rebuilds frames, consuming the runs of pass 1 in the same order.
struct Rebuild<'a> {
    runs: std::vec::IntoIter<Sized>,
    gids: &'a FxHashMap<(char, u16), u16>,
    font: Font,
    forms: &'a Forms,
    /// The number of this page's first marker.
    first_marker: usize,
    /// The runs of the page's markers, in order.
    marked: Vec<Run>,
}

impl Rebuild<'_> {
    fn frame(&mut self, frame: &Frame, depth: usize) -> Frame {
        let mut out = Frame::new(frame.size(), frame.kind());
        if frame.has_baseline() {
            out.set_baseline(frame.baseline());
        }
        // The layer items of the current line (same baseline, no other item between them).
        let mut pending: Pending = Vec::new();
        for (pos, item) in frame.items() {
            if ends_line(item, *pos, pending.first().map(|p| p.1)) {
                self.flush(&mut out, &mut pending);
            }
            match item {
                FrameItem::Group(g) if depth < MAX_GROUP_DEPTH => {
                    let group = FrameItem::Group(GroupItem {
                        frame: self.frame(&g.frame, depth + 1),
                        ..g.clone()
                    });
                    out.push(*pos, group);
                }
                FrameItem::Text(t) if convertible(t) => {
                    let sized = self.runs.next().expect("pass 1 saw this item");
                    let span = t.glyphs[0].span.0;
                    self.outlines(&mut out, *pos, t, span);
                    // One layer item per text item; [`finish`] splits it into one text
                    // object per character where viewers would reorder it. The line is the
                    // one pass 1 saw, whatever characters pass 1 moved out of the item.
                    if sized.in_line {
                        pending.push((sized.rank, *pos, t.clone(), sized.slots));
                    }
                }
                _ => out.push(*pos, item.clone()),
            }
        }
        self.flush(&mut out, &mut pending);
        out
    }

    /// Write the pending layer items of a line in logical order: typst gives a line's items
    /// in visual order (left to right), and extractors that do no bidi (MuPDF, pdfminer) keep
    /// the order of the content stream. A line with right-to-left items is read right to left,
    /// its left-to-right runs (Latin words, Western numbers) left to right — the two levels of
    /// bidi a line of Arabic prose has.
    fn flush(&self, out: &mut Frame, pending: &mut Pending) {
        pending.sort_by_key(|p| p.0);
        for (_, pos, t, slots) in pending.drain(..) {
            if slots.is_empty() {
                continue;
            }
            let at = Point::new(pos.x + Abs::pt(slots[0].left), pos.y);
            out.push(at, FrameItem::Text(self.layer(&t, &slots)));
        }
    }

    /// The visible glyphs of `t`: one marker shape in the item's fill, under the item's scale
    /// from font units, whose number is the item's glyph run in [`Outlines`] — krilla writes it
    /// in a few bytes with the item's transform and colour, and [`super::postpass::finish`]
    /// puts the glyph forms in its place. Stroked text (no template strokes text, but a book
    /// could) keeps one filled and stroked curve per glyph.
    fn outlines(&mut self, out: &mut Frame, pos: Point, t: &TextItem, span: Span) {
        let font = t.font.font();
        let index = self
            .forms
            .fonts
            .iter()
            .position(|f| f.font() == font)
            .expect("pass 1 saw this font");
        let size = t.size.to_pt();
        let scale = size / t.font.units_per_em();
        let mut run = Vec::with_capacity(t.glyphs.len());
        let mut cursor = 0.0;
        for g in &t.glyphs {
            let x0 = cursor + g.x_offset.get() * size;
            let y0 = -g.y_offset.get() * size;
            cursor += g.x_advance.get() * size;
            if let Some(Some(form)) = self.forms.numbers.get(&(index, g.id)) {
                run.push((*form, x0 / scale, y0 / scale));
            }
        }
        let scaled = |frame: Frame| {
            let mut group = GroupItem::new(frame);
            group.transform = Transform::scale(Ratio::new(scale), Ratio::new(scale));
            FrameItem::Group(group)
        };
        if let Some(stroke) = &t.stroke {
            for (form, dx, dy) in run {
                let shape = Shape {
                    geometry: Geometry::Curve(self.forms.curves[form].clone()),
                    fill: Some(t.fill.clone()),
                    fill_rule: FillRule::NonZero,
                    // The group scales the stroke too: undo that on its thickness.
                    stroke: Some({
                        let mut s = stroke.clone();
                        s.thickness /= scale;
                        s
                    }),
                };
                let mut glyph = Frame::soft(Size::zero());
                glyph.push(Point::zero(), FrameItem::Shape(shape, span));
                let at = Point::new(pos.x + Abs::pt(dx * scale), pos.y + Abs::pt(dy * scale));
                out.push(at, scaled(glyph));
            }
            return;
        }
        // Every unstroked item has a number (see [`prepare`]); one without outlines (spaces)
        // needs no marker.
        let number = self.first_marker + self.marked.len();
        let empty = run.is_empty();
        self.marked.push(run);
        if empty {
            return;
        }
        let k = Abs::pt(number as f64);
        let marker = Curve(vec![
            CurveItem::Move(Point::zero()),
            CurveItem::Line(Point::new(k, Abs::zero())),
            CurveItem::Line(Point::new(k, Abs::pt(1.0))),
            CurveItem::Close,
        ]);
        let shape = Shape {
            geometry: Geometry::Curve(marker),
            fill: Some(t.fill.clone()),
            fill_rule: FillRule::NonZero,
            stroke: None,
        };
        let mut frame = Frame::soft(Size::zero());
        frame.push(Point::zero(), FrameItem::Shape(shape, span));
        out.push(pos, scaled(frame));
    }

    /// The logical layer item standing in for `t`.
    fn layer(&self, t: &TextItem, slots: &[Slot]) -> TextItem {
        let size = t.size.to_pt();
        let mut text = String::new();
        let mut glyphs = Vec::with_capacity(slots.len());
        // Slots are relative to the first one's left edge (where the item is placed).
        let origin = slots.first().map_or(0.0, |s| s.left);
        let mut cursor = 0.0;
        let span = t.glyphs[0].span;
        for (i, s) in slots.iter().enumerate() {
            let start = text.len() as u16;
            text.push(s.ch);
            let end = text.len() as u16;
            let id = self.gids[&s.key(size, i + 1 == slots.len())];
            // Drawn at the slot's left edge; the pen ends where the next slot starts.
            let next = slots.get(i + 1).map_or(s.left + s.width, |n| {
                if n.left < s.left {
                    s.left
                } else {
                    s.left + s.width
                }
            }) - origin;
            glyphs.push(Glyph {
                id,
                x_advance: Em::new((next - cursor) / size),
                x_offset: Em::new((s.left - s.grow.0 - origin - cursor) / size),
                y_advance: Em::zero(),
                y_offset: Em::zero(),
                range: start..end,
                span,
            });
            cursor = next;
        }
        let font = self.font.clone().instantiate(
            self.font.info().variant,
            t.size,
            &FontVariations::default(),
        );
        TextItem {
            font,
            size: t.size,
            fill: t.fill.clone(),
            stroke: None,
            lang: t.lang,
            region: t.region,
            text: text.into(),
            glyphs,
        }
    }
}

/// Big-endian table writer.
#[derive(Default)]
struct Be(Vec<u8>);

impl Be {
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn i16(&mut self, v: i16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
}

/// The glyphless TrueType font: glyph 0 is `.notdef`, glyph `gids[(c, w)]` is a box glyph
/// `w` steps wide whose `cmap` entry is `c` (the first width of each character).
fn glyphless_font(gids: &BTreeMap<(char, u16), u16>) -> Font {
    let n = gids.len() as u16 + 1;
    let upem = 1000u16;
    let unit = f64::from(upem) / WIDTH_STEPS;
    let mut tables: BTreeMap<[u8; 4], Vec<u8>> = BTreeMap::new();

    let mut head = Be::default();
    head.u32(0x0001_0000)
        .u32(0x0001_0000)
        .u32(0)
        .u32(0x5F0F_3CF5);
    head.u16(0x000B).u16(upem).u32(0).u32(0).u32(0).u32(0);
    head.i16(0).i16(-200).i16(1000).i16(800);
    // Long `loca` offsets (indexToLocFormat 1): the boxes outgrow the short format.
    head.u16(0).u16(8).i16(2).i16(1).i16(0);
    tables.insert(*b"head", head.0);

    let max_w = gids.keys().map(|(_, w)| *w).max().unwrap_or(0);
    let mut hhea = Be::default();
    hhea.u32(0x0001_0000).i16(800).i16(-200).i16(0);
    hhea.u16((f64::from(max_w) * unit) as u16)
        .i16(0)
        .i16(0)
        .i16(0);
    hhea.i16(1).i16(0).i16(0).i16(0).i16(0).i16(0).i16(0).i16(0);
    hhea.u16(n);
    tables.insert(*b"hhea", hhea.0);

    let mut maxp = Be::default();
    maxp.u32(0x0001_0000).u16(n);
    for v in [4u16, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0] {
        maxp.u16(v);
    }
    tables.insert(*b"maxp", maxp.0);

    let mut hmtx = Be::default();
    hmtx.u16(500).i16(0);
    for (_, w) in gids.keys() {
        hmtx.u16((f64::from(*w) * unit).round() as u16).i16(0);
    }
    tables.insert(*b"hmtx", hmtx.0);

    // Every glyph but `.notdef` is a box as wide as its advance: drawn in render mode 3 it
    // is invisible, but viewers that skip text without extent (PDFium drops a text object
    // whose box has no width) see where each character is.
    let mut loca = Be::default();
    let mut glyf = Be::default();
    loca.u32(0);
    loca.u32(0);
    for (_, w) in gids.keys() {
        let w = (f64::from(*w) * unit).round() as i16;
        if w > 0 {
            glyf.i16(1).i16(0).i16(0).i16(w).i16(BOX_TOP);
            // One contour of four on-curve points: (0,0) (0,top) (w,top) (w,0).
            glyf.u16(3).u16(0);
            glyf.0.extend_from_slice(&[1, 1, 1, 1]);
            glyf.i16(0).i16(0).i16(w).i16(0);
            glyf.i16(0).i16(BOX_TOP).i16(0).i16(-BOX_TOP);
        }
        loca.u32(glyf.0.len() as u32);
    }
    tables.insert(*b"loca", loca.0);
    tables.insert(*b"glyf", glyf.0);

    // cmap format 12: each character to its first glyph.
    let mut first: BTreeMap<char, u16> = BTreeMap::new();
    for ((c, _), g) in gids {
        first.entry(*c).or_insert(*g);
    }
    let mut cmap = Be::default();
    cmap.u16(0).u16(1).u16(3).u16(10).u32(12);
    cmap.u16(12)
        .u16(0)
        .u32(16 + 12 * first.len() as u32)
        .u32(0)
        .u32(first.len() as u32);
    for (c, g) in &first {
        cmap.u32(*c as u32).u32(*c as u32).u32(u32::from(*g));
    }
    tables.insert(*b"cmap", cmap.0);

    let names: [(u16, &str); 4] = [
        (1, "Publish Text Layer"),
        (2, "Regular"),
        (4, "Publish Text Layer"),
        (6, FONT_NAME),
    ];
    let mut name = Be::default();
    name.u16(0)
        .u16(names.len() as u16)
        .u16(6 + 12 * names.len() as u16);
    let mut strings = Vec::new();
    for (id, s) in names {
        let bytes: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        name.u16(3).u16(1).u16(0x409).u16(id);
        name.u16(bytes.len() as u16).u16(strings.len() as u16);
        strings.extend(bytes);
    }
    name.0.extend(strings);
    tables.insert(*b"name", name.0);

    let mut post = Be::default();
    post.u32(0x0003_0000).u32(0).i16(-100).i16(50);
    post.u32(0).u32(0).u32(0).u32(0).u32(0);
    tables.insert(*b"post", post.0);

    // The sfnt wrapper, tables in tag order.
    let count = tables.len() as u16;
    let mut out = Be::default();
    let pow = 1u16 << (15 - count.leading_zeros());
    out.u32(0x0001_0000)
        .u16(count)
        .u16(pow * 16)
        .u16(pow.trailing_zeros() as u16)
        .u16(count * 16 - pow * 16);
    let mut offset = 12 + 16 * u32::from(count);
    let mut body = Vec::new();
    for (tag, data) in &tables {
        out.0.extend_from_slice(tag);
        out.u32(checksum(data)).u32(offset).u32(data.len() as u32);
        let mut padded = data.clone();
        padded.resize(data.len().div_ceil(4) * 4, 0);
        offset += padded.len() as u32;
        body.extend(padded);
    }
    out.0.extend(body);
    let adjust = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out.0));
    let head_at = 12 + 16 * tables.keys().position(|t| t == b"head").unwrap_or(0);
    let head_offset =
        u32::from_be_bytes(out.0[head_at + 8..head_at + 12].try_into().unwrap()) as usize;
    out.0[head_offset + 8..head_offset + 12].copy_from_slice(&adjust.to_be_bytes());
    Font::new(Bytes::new(out.0), 0).expect("the glyphless font parses")
}

fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, c| {
        let mut b = [0u8; 4];
        b[..c.len()].copy_from_slice(c);
        sum.wrapping_add(u32::from_be_bytes(b))
    })
}

/// A glyph's outline in font units, quadratic curves raised to cubic ones.
#[derive(Default)]
struct PathOut {
    items: Outline,
    last: (f32, f32),
}

impl ttf_parser::OutlineBuilder for PathOut {
    fn move_to(&mut self, x: f32, y: f32) {
        self.items.push((0, [x, y, 0.0, 0.0, 0.0, 0.0]));
        self.last = (x, y);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.items.push((1, [x, y, 0.0, 0.0, 0.0, 0.0]));
        self.last = (x, y);
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let (x0, y0) = self.last;
        let c1 = (x0 + 2.0 / 3.0 * (x1 - x0), y0 + 2.0 / 3.0 * (y1 - y0));
        let c2 = (x + 2.0 / 3.0 * (x1 - x), y + 2.0 / 3.0 * (y1 - y));
        self.curve_to(c1.0, c1.1, c2.0, c2.1, x, y);
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.items.push((2, [x1, y1, x2, y2, x, y]));
        self.last = (x, y);
    }
    fn close(&mut self) {
        self.items.push((3, [0.0; 6]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_bidi_classes_are_the_tables() {
        let ranges = ['\0'..='\u{7F}', '\u{0600}'..='\u{06FF}'];
        for c in ranges.into_iter().flatten() {
            assert_eq!(bidi_class(c), unicode_bidi::bidi_class(c), "{c:?}");
        }
    }

    /// A layer item for [`order`]: its text, its left edge, whether it runs right to left,
    /// and its paragraph's language.
    fn pend(text: &str, x: f64, rtl: bool, lang_rtl: bool) -> (Pend, String) {
        let p = Pend {
            index: 0,
            x,
            rtl,
            pos: Point::zero(),
            strong: text.chars().any(char::is_alphanumeric),
            letters: text.chars().any(char::is_alphabetic),
            lang_rtl,
        };
        (p, text.to_owned())
    }

    /// The items of a line, given left to right as typst sets them, in [`order`]'s order.
    fn logical(visual: &[(&str, bool)], lang_rtl: bool) -> Vec<String> {
        let items: Vec<(Pend, String)> = visual
            .iter()
            .enumerate()
            .map(|(k, (t, rtl))| pend(t, k as f64 * 10.0, *rtl, lang_rtl))
            .collect();
        let mut line: Vec<Pend> = items.iter().map(|i| i.0.clone()).collect();
        for (k, p) in line.iter_mut().enumerate() {
            p.index = k;
        }
        order(&mut line);
        line.iter().map(|p| items[p.index].1.clone()).collect()
    }

    /// An item's characters with their slots (page x: left edge and width).
    type Chars<'a> = &'a [(char, f64, f64)];

    /// A line of layer items for [`mark_runs_for_poppler`], in logical order (each with
    /// whether it runs right to left), all at size 10.
    fn marked_line(items: &[(Chars, bool)], lang_rtl: bool) -> Vec<Sized> {
        let mut out: Vec<Sized> = items
            .iter()
            .map(|(chars, _)| Sized {
                size: 10.0,
                slots: chars
                    .iter()
                    .map(|&(ch, left, width)| Slot {
                        ch,
                        left,
                        width,
                        pad: false,
                        grow: (0.0, 0.0),
                    })
                    .collect(),
                marked: true,
                in_line: true,
                rank: 0,
            })
            .collect();
        let line: Vec<Pend> = items
            .iter()
            .enumerate()
            .map(|(index, (chars, rtl))| Pend {
                index,
                x: chars.iter().map(|c| c.1).fold(f64::MAX, f64::min),
                rtl: *rtl,
                pos: Point::zero(),
                strong: true,
                letters: true,
                lang_rtl,
            })
            .collect();
        mark_runs_for_poppler(&mut out, &line);
        out
    }

    /// A slot's box (page x): its left and right edges.
    fn box_of(s: &Slot) -> (f64, f64) {
        (s.left - s.grow.0, s.left + s.width + s.grow.1)
    }

    #[test]
    fn a_number_in_arabic_prose_is_followed_by_a_right_to_left_mark_left_of_it() {
        // عام 2014 ثم: the number is set left to right between the two words.
        let before: &[(char, f64, f64)] = &[('ع', 90.0, 6.0), ('ا', 87.0, 3.0), ('م', 81.0, 6.0)];
        let number: &[(char, f64, f64)] = &[
            (' ', 76.0, 5.0),
            ('2', 56.0, 5.0),
            ('0', 61.0, 5.0),
            ('1', 66.0, 5.0),
            ('4', 71.0, 5.0),
        ];
        let after: &[(char, f64, f64)] = &[(' ', 51.0, 5.0), ('ث', 45.0, 6.0), ('م', 40.0, 5.0)];
        let out = marked_line(&[(before, true), (number, false), (after, true)], true);
        let text: String = out[1].slots.iter().map(|s| s.ch).collect();
        assert_eq!(text, " 2014\u{200F}");
        let (l, r) = box_of(&out[1].slots[5]);
        // Left of the number, reaching a little over it, and short of the next letter by a
        // gap poppler reads as a space.
        assert!(
            l < 56.0 && r > 56.0 && r <= 56.0 + POPPLER_OVERLAP * 10.0 + 1e-9,
            "{l} {r}"
        );
        assert!(l >= 51.0 + RLM_ROOM * 10.0 - 1e-9, "{l}");
        // The number's last digit reaches left (pdfminer), at most POPPLER_OVERLAP past its
        // slot.
        let (l4, _) = box_of(&out[1].slots[4]);
        assert!(
            (71.0 - POPPLER_OVERLAP * 10.0 - 1e-9..71.0).contains(&l4),
            "{l4}"
        );
        // The characters are all there, and no other item got a mark.
        assert_eq!(out[0].slots.len(), 3);
        assert_eq!(out[2].slots.len(), 3);
    }

    #[test]
    fn no_mark_inside_a_latin_phrase_or_in_a_left_to_right_line() {
        // قرأت Web scanning أمس: no mark between «Web» and «scanning» (the phrase goes on to
        // the right), one after «scanning».
        let before: &[(char, f64, f64)] = &[('ق', 90.0, 6.0), ('ت', 84.0, 6.0), (' ', 80.0, 4.0)];
        let phrase: &[(char, f64, f64)] = &[
            ('W', 40.0, 8.0),
            ('e', 48.0, 5.0),
            ('b', 53.0, 5.0),
            (' ', 58.0, 3.0),
            ('s', 61.0, 5.0),
            ('n', 66.0, 14.0),
        ];
        let after: &[(char, f64, f64)] = &[(' ', 35.0, 5.0), ('أ', 30.0, 5.0), ('س', 24.0, 6.0)];
        let items = [(before, true), (phrase, false), (after, true)];
        let out = marked_line(&items, true);
        let text: String = out[1].slots.iter().map(|s| s.ch).collect();
        assert_eq!(text, "Web sn\u{200F}");
        assert!(box_of(&out[1].slots[6]).0 < 40.0);
        // An English note (a left-to-right line) gets none.
        let out = marked_line(&items, false);
        assert!(
            out.iter()
                .flat_map(|i| &i.slots)
                .all(|s| s.ch != '\u{200F}')
        );
    }

    #[test]
    fn a_latin_word_and_its_number_stay_one_run_in_arabic() {
        // يعمل على macOS 14 و: typst sets «macOS 14» left to right as one run.
        let got = logical(
            &[
                ("و ", true),
                ("\u{200E}macOS\u{200E}", false),
                (" 14", false),
                ("يعمل على ", true),
            ],
            true,
        );
        assert_eq!(got, ["يعمل على ", "\u{200E}macOS\u{200E}", " 14", "و "]);
    }

    #[test]
    fn a_number_and_a_latin_word_apart_keep_the_line_order() {
        // سرعة الاتصال 100 Mbps فقط: the number is Arabic to the bidi algorithm, the space
        // between it and the word right to left: set «فقط Mbps 100 الاتصال».
        let got = logical(
            &[
                ("فقط.", true),
                ("\u{200E}Mbps\u{200E}", false),
                (" ", false),
                ("100", false),
                ("سرعة الاتصال ", true),
            ],
            true,
        );
        assert_eq!(
            got,
            ["سرعة الاتصال ", "100", " ", "\u{200E}Mbps\u{200E}", "فقط."]
        );
        // صدر في 2024-03-15 رسميًا, set «رسميًا 15-03-2024 صدر في».
        let got = logical(
            &[
                ("رسميًا", true),
                ("15", false),
                ("-", false),
                ("03", false),
                ("-", false),
                ("2024", false),
                ("صدر في ", true),
            ],
            true,
        );
        assert_eq!(got, ["صدر في ", "2024", "-", "03", "-", "15", "رسميًا"]);
    }

    #[test]
    fn an_english_note_keeps_its_arabic_words_in_a_left_to_right_line() {
        let got = logical(
            &[
                ("The word ", false),
                ("سلام", true),
                (" means peace.", false),
            ],
            false,
        );
        assert_eq!(got, ["The word ", "سلام", " means peace."]);
        // An Arabic phrase with a number inside, set right to left within the English line.
        let got = logical(
            &[
                ("He wrote ", false),
                ("صفحة", true),
                ("١٢", false),
                ("كتاب ", true),
                (" twice.", false),
            ],
            false,
        );
        assert_eq!(got, ["He wrote ", "كتاب ", "١٢", "صفحة", " twice."]);
    }
}
