//! The pass over typst's finished PDF that the archival text layer ends with: glyph outlines shared as Form XObjects and drawn in compact runs, the layer made invisible and split where viewers would reorder it.
//!
//! [`super::textlayer::prepare`] leaves the page content as krilla writes it: one marker shape
//! per text item where its glyphs go, and each layer item one `BT … TJ ET` in the glyphless
//! font. This pass works on those bytes (lopdf only loads and saves the objects; a full
//! content-stream decode took 97 s on 100,000 words, the byte scans about a second), one
//! stream per thread:
//!
//! - each marker becomes its text item's glyphs, each drawn with `Do` of one Form XObject per
//!   distinct outline, a line's glyphs in one `q … Q` moving with relative `cm`s;
//! - the layer text gets render mode 3 (invisible: its glyphs are boxes, so viewers know
//!   where each character is);
//! - a right-to-left layer item is split into one text object per character, because PDFium
//!   and pdf.js read a right-to-left text object as visual order and reverse it; pdf.js also
//!   joins a mark, or a character closer than a fifth of an em, to the item before, so there
//!   the font size alternates by a ten-thousandth (pdf.js starts a new item when the size
//!   changes). A layer item whose characters sit at more than one height (glyphs with a
//!   vertical offset, which the layer does not make today) comes with a text matrix per
//!   height from krilla: it is written as a move (`Td`) before the character it moves, which
//!   starts a text object and a size of its own. `TJ` adjustments are written in the layer
//!   font's width step (see [`ADJUST_STEP`]);
//! - the layer's space between words gets code 32, with the word spacing that gives pdf.js its
//!   spaces, and a space that ends a text object moves into the next one on its line (see
//!   [`super::pdfjs`]).

use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};
use rayon::prelude::*;

use super::pdfjs;
use super::textlayer::{Class, Outlines, class};

/// The factor between the two sizes a right-to-left layer item alternates between.
const ALTERNATE_SIZE: f64 = 1.0001;

/// The largest backward move (thousandths of an em, as a `TJ` adjustment) after which pdf.js
/// would still join the next character to the previous one (it splits below −0.2 em; this
/// leaves a margin).
const JOIN_LIMIT: f64 = 300.0;

/// The smallest `TJ` adjustment (thousandths of an em) that is a move backwards, right to
/// left: smaller ones are the rounding of the layer font's widths (to 1/50 em).
const BACKWARD: f64 = 30.0;

/// The precision of the layer's `TJ` adjustments, in thousandths of an em: a fiftieth of an
/// em, the step of the layer font's widths (a fifth of a point at text sizes; extractors need
/// no finer positions, and exact ones made the file 0.1× of native larger). Each adjustment
/// inside a word is rounded on its own, so a word that recurs writes the same bytes (the page
/// streams compress better); the rounding of a word is made up at the next word's start, so
/// it never adds up beyond a word (see [`Rounding`]).
const ADJUST_STEP: f64 = 20.0;

/// The rounding of a layer item's `TJ` adjustments (see [`ADJUST_STEP`]).
#[derive(Default)]
struct Rounding {
    /// How far the written positions are behind the exact ones (thousandths of an em).
    behind: f64,
}

impl Rounding {
    /// The adjustment to write for the exact `adjust` before a glyph; at a word's start
    /// (`word_start`) the rounding so far is made up.
    fn write(&mut self, adjust: f64, word_start: bool) -> f64 {
        let exact = if word_start {
            adjust + self.behind
        } else {
            adjust
        };
        let written = (exact / ADJUST_STEP).round() * ADJUST_STEP;
        self.behind = if word_start { 0.0 } else { self.behind } + exact - written;
        written
    }
}

/// The Form XObject of each glyph path of `outlines`, made in parallel (for [`finish`]).
pub fn glyph_forms(outlines: &Outlines) -> Vec<Stream> {
    outlines.paths.par_iter().map(|p| form_object(p)).collect()
}

/// Finish the archival PDF: see the module documentation. `outlines` are the glyphs
/// [`super::textlayer::prepare`] took out of the frames, `forms` their [`glyph_forms`].
/// Returns the new file; adds the time of each step to `timings` (for `--timings`).
pub fn finish(
    pdf: &[u8],
    outlines: &Outlines,
    forms: Vec<Stream>,
    timings: &mut Vec<(&'static str, Duration)>,
) -> Result<Vec<u8>, String> {
    let mut clock = Instant::now();
    let mut lap = |name: &'static str| {
        timings.push((name, clock.elapsed()));
        clock = Instant::now();
    };
    let mut doc = Document::load_mem(pdf).map_err(|e| format!("cannot read typst's PDF: {e}"))?;
    // Each glyph path's Form XObject, added on first use.
    let mut forms: Vec<Option<Stream>> = forms.into_iter().map(Some).collect();
    let mut form_ids: Vec<Option<ObjectId>> = vec![None; outlines.paths.len()];
    let mut placed = vec![false; outlines.runs.len()];
    // The layer font's space between words becomes code 32 (see [`pdfjs`]): the glyph
    // classes are read from the `ToUnicode` maps as they were, the codes the content still has.
    let mut classes: HashMap<ObjectId, Classes> = pdfjs::renumber(&mut doc)
        .into_iter()
        .map(|(tu, (cmap, glyphs))| (tu, (code_classes(&cmap), Arc::new(glyphs))))
        .collect();
    // The content streams to finish with the resources they use: every page's, and the form
    // XObjects krilla made (groups with opacity draw through one).
    let mut targets: Vec<(Vec<ObjectId>, Option<ObjectId>, ObjectId)> = Vec::new();
    for (_, page) in doc.get_pages() {
        targets.push((doc.get_page_contents(page), None, page));
    }
    let krilla_forms: Vec<ObjectId> = doc
        .objects
        .iter()
        .filter(|(_, o)| {
            o.as_stream().is_ok_and(|s| {
                s.dict
                    .get(b"Subtype")
                    .and_then(Object::as_name)
                    .is_ok_and(|n| n == b"Form")
            })
        })
        .map(|(id, _)| *id)
        .collect();
    for form in krilla_forms {
        targets.push((vec![form], Some(form), form));
    }
    // Read every stream first; rewrite them in parallel (the work is per stream); then put
    // the forms and the new streams in the document, in order, so the file is reproducible.
    let mut streams_to_read = Vec::new();
    for (streams, form, owner) in &targets {
        let layer = layer_fonts(&doc, *owner, form.is_some(), &mut classes);
        for cid in streams {
            streams_to_read.push((*owner, *cid, layer.clone()));
        }
    }
    let jobs: Vec<_> = streams_to_read
        .into_par_iter()
        .map(|(owner, cid, layer)| {
            doc.get_object(cid)
                .and_then(Object::as_stream)
                .and_then(Stream::decompressed_content)
                .map(|data| (owner, cid, data, layer))
                .map_err(|e| format!("cannot read a page's content: {e}"))
        })
        .collect::<Result<_, _>>()?;
    lap("text layer: finish: read");
    let done: Vec<_> = jobs
        .into_par_iter()
        .map(|(owner, cid, data, layer)| {
            // The layer text first: it reads krilla's stream, before the glyphs make it longer.
            let (text, stale) = rewrite_text(&data, &layer);
            let (text, drawn, runs) = place_glyphs(&text, outlines);
            if drawn.is_empty() && layer.names.is_empty() {
                return (owner, cid, None, drawn, runs, false);
            }
            // Layer glyphs are boxes: one left in render mode 0 would paint over the page.
            let visible = layer.names.iter().any(|n| {
                let mut at = b" 0 Tr/".to_vec();
                at.extend_from_slice(n);
                at.push(b' ');
                find(&text, &at).is_some()
            });
            let stream = compressed(text);
            (
                owner,
                cid,
                Some(stream).filter(|_| !visible && !stale),
                drawn,
                runs,
                visible || stale,
            )
        })
        .collect();
    lap("text layer: finish: rewrite content");
    let mut used: BTreeMap<ObjectId, BTreeMap<Vec<u8>, ObjectId>> = BTreeMap::new();
    if done.iter().any(|d| d.5) {
        return Err("a text object of the layer could not be read to make it invisible".into());
    }
    for (owner, cid, stream, drawn, runs, _) in done {
        for run in runs {
            placed[run] = true;
        }
        for path in drawn {
            let id = match form_ids[path] {
                Some(id) => id,
                None => {
                    let form = forms[path]
                        .take()
                        .unwrap_or_else(|| form_object(&outlines.paths[path]));
                    let id = doc.add_object(form);
                    form_ids[path] = Some(id);
                    id
                }
            };
            used.entry(owner).or_default().insert(form_name(path), id);
        }
        if let (Some(new), Ok(Object::Stream(s))) = (stream, doc.get_object_mut(cid)) {
            s.dict.remove(b"Filter");
            s.dict.remove(b"DecodeParms");
            if let Ok(filter) = new.dict.get(b"Filter") {
                s.dict.set("Filter", filter.clone());
            }
            s.set_content(new.content);
        }
    }
    for (owner, names) in used {
        add_xobjects(&mut doc, owner, names)?;
    }
    let unplaced = placed
        .iter()
        .zip(&outlines.runs)
        .position(|(p, run)| !p && !run.is_empty());
    if let Some(missing) = unplaced {
        return Err(format!(
            "the glyphs of text item {} were not found in typst's PDF (of {})",
            missing + 1,
            placed.len()
        ));
    }
    lap("text layer: finish: glyph forms");
    let mut out = Vec::with_capacity(pdf.len());
    // Object and cross-reference streams, as typst writes them: the structure tree stays compressed.
    doc.save_modern(&mut out)
        .map_err(|e| format!("cannot write the PDF: {e}"))?;
    lap("text layer: finish: write");
    Ok(out)
}

/// The zlib level of the rewritten page content: level 9 (lopdf's) made the file 2 % smaller
/// and took twice as long (`bench/textlayer.py`).
const CONTENT_LEVEL: u32 = 6;

/// A content stream of `data`, deflated at [`CONTENT_LEVEL`] (stored as it is when that does
/// not make it smaller).
fn compressed(data: Vec<u8>) -> Stream {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 4),
        flate2::Compression::new(CONTENT_LEVEL),
    );
    match z.write_all(&data).and_then(|()| z.finish()) {
        Ok(packed) if packed.len() < data.len() => {
            let mut dict = Dictionary::new();
            dict.set("Filter", "FlateDecode");
            Stream::new(dict, packed)
        }
        _ => Stream::new(Dictionary::new(), data),
    }
}

/// The resource name of glyph form `n`: `G` and `n` in base 36, short because a page names
/// one for every glyph it draws.
fn form_name(n: usize) -> Vec<u8> {
    let mut name = Vec::new();
    push_form_name(&mut name, n);
    name
}

/// Append [`form_name`]`(n)` to `out`.
fn push_form_name(out: &mut Vec<u8>, mut n: usize) {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    out.push(b'G');
    let start = out.len();
    loop {
        out.push(DIGITS[n % 36]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out[start..].reverse();
}

/// A glyph's Form XObject: its path in font units, filled with the colour of the page.
fn form_object(path: &[u8]) -> Stream {
    let bbox = path_bbox(path);
    let dict = Dictionary::from_iter([
        ("Type", Object::Name(b"XObject".to_vec())),
        ("Subtype", Object::Name(b"Form".to_vec())),
        (
            "BBox",
            Object::Array(bbox.iter().map(|v| Object::Real(*v)).collect()),
        ),
        ("Resources", Object::Dictionary(Dictionary::new())),
    ]);
    let mut form = Stream::new(dict, path.to_vec());
    let _ = form.compress();
    form
}

/// Put the glyphs of each marker of [`super::textlayer::prepare`] in its place. A marker is
/// krilla's writing of the marker shape, `q a b c d e f cm [colour] 0 0 m n 0 l n 1 l h f Q`
/// (`n` the run's number); its glyphs are drawn with their forms, moving from one to the next
/// with `1 0 0 1 dx dy cm` in whole glyph units (a hundredth of a point at text sizes; each
/// move aims at the exact position, so rounding never adds up). Markers
/// that follow each other with the same scale and colour — a line's items — share one
/// `q … Q`. Returns the stream, the paths drawn (in order, once each) and the runs placed.
fn place_glyphs(d: &[u8], outlines: &Outlines) -> (Vec<u8>, Vec<usize>, Vec<usize>) {
    let mut out = Vec::with_capacity(d.len() * 2);
    let mut drawn = Vec::new();
    let mut placed = Vec::new();
    let mut copied = 0;
    let mut i = 0;
    let mut open: Option<Open> = None;
    while let Some(p) = find(&d[i..], b"q ") {
        let start = i + p;
        i = start + 2;
        if start > 0 && !d[start - 1].is_ascii_whitespace() && !b">])".contains(&d[start - 1]) {
            continue;
        }
        let Some(m) = marker(d, start) else {
            continue;
        };
        let Some(run) = m.number.checked_sub(1).and_then(|n| outlines.runs.get(n)) else {
            continue;
        };
        placed.push(m.number - 1);
        let [a, b, c, dd, e, f] = m.matrix;
        let det = a * dd - b * c;
        if det == 0.0 {
            continue;
        }
        let key = [a, b, c, dd];
        let continues = open.as_ref().is_some_and(|(k, colour, _, end)| {
            *k == key
                && colour.as_slice() == m.colour
                && d[*end..start].iter().all(u8::is_ascii_whitespace)
        });
        if !continues {
            if open.is_some() {
                out.extend_from_slice(b"\nQ");
            }
            out.extend_from_slice(&d[copied..start]);
            out.extend_from_slice(b"q ");
            for v in &m.text {
                out.extend_from_slice(v);
                out.push(b' ');
            }
            out.extend_from_slice(b"cm");
            out.extend_from_slice(m.colour);
            open = Some((key, m.colour.to_vec(), (e, f), m.end));
        }
        let Some((_, _, pen, end)) = open.as_mut() else {
            continue;
        };
        for (path, x, y) in run {
            drawn.push(*path);
            // The glyph's origin in user space, and the move there from the pen in glyph units.
            let target = (e + a * x + c * y, f + b * x + dd * y);
            let (du, dv) = (target.0 - pen.0, target.1 - pen.1);
            let u = ((dd * du - c * dv) / det).round();
            let v = ((a * dv - b * du) / det).round();
            if u != 0.0 || v != 0.0 {
                pen.0 += a * u + c * v;
                pen.1 += b * u + dd * v;
                out.extend_from_slice(b" 1 0 0 1 ");
                integer(&mut out, u);
                out.push(b' ');
                integer(&mut out, v);
                out.extend_from_slice(b" cm");
            }
            out.push(b'/');
            push_form_name(&mut out, *path);
            out.extend_from_slice(b" Do");
        }
        *end = m.end;
        copied = m.end;
        i = m.end;
    }
    if open.is_some() {
        out.extend_from_slice(b"\nQ");
    }
    out.extend_from_slice(&d[copied..]);
    drawn.sort_unstable();
    drawn.dedup();
    (out, drawn, placed)
}

/// The open `q` of [`place_glyphs`]: its matrix (without the translation) and colour, where
/// its pen is (user space), where the last marker in it ended.
type Open = ([f64; 4], Vec<u8>, (f64, f64), usize);

/// A marker of [`place_glyphs`]: where it ends, its matrix (numbers and their text), its
/// colour operators and its number.
struct Marker<'a> {
    end: usize,
    matrix: [f64; 6],
    text: [&'a [u8]; 6],
    colour: &'a [u8],
    number: usize,
}

/// The marker starting at `i` (at its `q`), if there is one.
fn marker(d: &[u8], i: usize) -> Option<Marker<'_>> {
    let mut j = i;
    if !d.get(j..)?.starts_with(b"q ") {
        return None;
    }
    j += 2;
    let mut text: [&[u8]; 6] = [&[]; 6];
    let mut matrix = [0.0; 6];
    for k in 0..6 {
        let start = j;
        while d
            .get(j)
            .is_some_and(|b| matches!(b, b'0'..=b'9' | b'.' | b'-'))
        {
            j += 1;
        }
        if start == j || d.get(j) != Some(&b' ') {
            return None;
        }
        text[k] = &d[start..j];
        matrix[k] = parse(text[k])?;
        j += 1;
    }
    if !d.get(j..)?.starts_with(b"cm") {
        return None;
    }
    j += 2;
    let colour_start = j;
    if d.get(j) == Some(&b'/') {
        let scn = find(d.get(j..(j + 64).min(d.len()))?, b" scn")?;
        j += scn + 4;
    }
    let colour = &d[colour_start..j];
    let path_start = j;
    while d.get(j).is_some_and(|b| path_byte(*b)) {
        j += 1;
    }
    let path = &d[path_start..j];
    if !d.get(j..)?.starts_with(b"f\nQ") {
        return None;
    }
    let tokens: Vec<&[u8]> = path
        .split(u8::is_ascii_whitespace)
        .filter(|t| !t.is_empty())
        .collect();
    let [x0, y0, b"m", n, y1, b"l", n2, one, b"l", b"h"] = tokens[..] else {
        return None;
    };
    let zero = |t: &[u8]| parse(t) == Some(0.0);
    if !zero(x0) || !zero(y0) || !zero(y1) || n != n2 || parse(one) != Some(1.0) {
        return None;
    }
    let number = parse(n)?;
    if number < 1.0 || number.fract() != 0.0 {
        return None;
    }
    Some(Marker {
        end: j + 3,
        matrix,
        text,
        colour,
        number: number as usize,
    })
}

/// The fonts of a form XObject's own resources.
fn form_fonts(doc: &Document, form: ObjectId) -> BTreeMap<Vec<u8>, &Dictionary> {
    fn deref<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Dictionary> {
        match o {
            Object::Reference(id) => doc.get_dictionary(*id).ok(),
            Object::Dictionary(d) => Some(d),
            _ => None,
        }
    }
    let deref = |o| deref(doc, o);
    let mut out = BTreeMap::new();
    let Some(fonts) = doc
        .get_object(form)
        .and_then(Object::as_stream)
        .ok()
        .and_then(|s| s.dict.get(b"Resources").ok())
        .and_then(deref)
        .and_then(|r| r.get(b"Font").ok())
        .and_then(deref)
    else {
        return out;
    };
    for (name, font) in fonts.iter() {
        if let Some(font) = deref(font) {
            out.insert(name.clone(), font);
        }
    }
    out
}

/// The glyphless layer font of a page: its resource names, and the [`Class`] of each of its
/// glyphs that is not [`Class::Other`] (from its `ToUnicode` map).
#[derive(Default, Clone)]
struct Layer {
    names: Vec<Vec<u8>>,
    classes: FxHashMap<[u8; 2], Class>,
    /// Its glyphs' widths and codes for pdf.js's word spaces (see [`pdfjs`]).
    glyphs: Arc<pdfjs::Glyphs>,
    /// The right edge of the page (none in a form: where its text lands is not known here).
    right: Option<f64>,
}

impl Layer {
    /// The class of glyph `g` (two bytes of an Identity-H string).
    fn class(&self, g: &[u8]) -> Class {
        <[u8; 2]>::try_from(g)
            .ok()
            .and_then(|g| self.classes.get(&g).copied())
            .unwrap_or(Class::Other)
    }
}

/// Whether two characters that follow each other in a layer item stay in one text object
/// whatever their positions: runs of weak characters (a mark and the punctuation after it,
/// digits and their comma, ۝ and its number) in logical order, which PDFium would otherwise
/// sort by position and write out left to right as one weak segment (`قَال:َ`); and letters of
/// a left-to-right run, whose widened boxes overlap (see [`super::textlayer`]). Two marks are
/// split as before: pdf.js joins a mark to the item before it.
fn together(a: Class, b: Class) -> bool {
    let weak = |c| matches!(c, Class::Weak | Class::Mark);
    (weak(a) && weak(b) && !(a == Class::Mark && b == Class::Mark))
        || (a == Class::Strong && b == Class::Strong)
}

/// The layer font on `page`, with its glyph classes read from `cache` (font object →
/// classes) or its `ToUnicode` map.
fn layer_fonts(
    doc: &Document,
    owner: ObjectId,
    form: bool,
    cache: &mut HashMap<ObjectId, Classes>,
) -> Layer {
    let mut layer = Layer::default();
    if !form {
        layer.right = doc
            .get_dictionary(owner)
            .and_then(|p| p.get(b"MediaBox"))
            .and_then(Object::as_array)
            .ok()
            .and_then(|b| b.get(2))
            .and_then(|r| {
                r.as_float()
                    .map(f64::from)
                    .or(r.as_i64().map(|v| v as f64))
                    .ok()
            });
    }
    let fonts: BTreeMap<Vec<u8>, &Dictionary> = if form {
        form_fonts(doc, owner)
    } else {
        doc.get_page_fonts(owner).unwrap_or_default()
    };
    for (name, font) in fonts {
        let ours = font
            .get(b"BaseFont")
            .and_then(Object::as_name)
            .is_ok_and(|n| n.ends_with(super::textlayer::FONT_NAME.as_bytes()));
        if !ours {
            continue;
        }
        layer.names.push(name);
        let Ok(id) = font.get(b"ToUnicode").and_then(Object::as_reference) else {
            continue;
        };
        let (classes, glyphs) = cache.entry(id).or_insert_with(|| {
            let classes = doc
                .get_object(id)
                .and_then(Object::as_stream)
                .and_then(Stream::decompressed_content)
                .map(|cmap| code_classes(&cmap))
                .unwrap_or_default();
            (classes, Arc::default())
        });
        layer.classes.extend(classes.iter().map(|(k, v)| (*k, *v)));
        if layer.glyphs.space.is_none() {
            layer.glyphs = glyphs.clone();
        }
    }
    layer
}

/// A layer font's glyph classes (by code in typst's PDF) and what pdf.js's word spaces need.
type Classes = (FxHashMap<[u8; 2], Class>, Arc<pdfjs::Glyphs>);

/// The [`Class`] of each two-byte code a `ToUnicode` CMap maps to a single character
/// (`bfchar` entries and `bfrange` runs, as krilla writes them); codes of class
/// [`Class::Other`] are left out.
fn code_classes(cmap: &[u8]) -> FxHashMap<[u8; 2], Class> {
    let text = String::from_utf8_lossy(cmap);
    let hex = |h: &str| u32::from_str_radix(h, 16).ok();
    let unicode = pdfjs::one_char;
    let mut out = FxHashMap::default();
    let mut add = |code: u32, c: Option<char>| {
        let class = c.map_or(Class::Other, class);
        if class != Class::Other && code <= 0xFFFF {
            out.insert((code as u16).to_be_bytes(), class);
        }
    };
    for section in text.split("beginbf").skip(1) {
        let body = section.split("endbf").next().unwrap_or("");
        let hexes: Vec<&str> = body.split(['<', '>']).skip(1).step_by(2).collect();
        if section.starts_with("char") {
            for pair in hexes.chunks(2) {
                if let [code, uni] = pair
                    && let Some(code) = hex(code)
                {
                    add(code, unicode(uni));
                }
            }
        } else if section.starts_with("range") && !body.contains('[') {
            for triple in hexes.chunks(3) {
                if let [lo, hi, uni] = triple {
                    let (Some(lo), Some(hi), Some(first)) = (hex(lo), hex(hi), unicode(uni)) else {
                        continue;
                    };
                    for (k, code) in (lo..=hi.min(lo + 0xFFFF)).enumerate() {
                        add(code, char::from_u32(first as u32 + k as u32));
                    }
                }
            }
        }
    }
    out
}

/// A number as a content stream writes it: at most `decimals` decimals, no trailing zeros.
fn number(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".to_string() } else { s }
}

/// Write `bytes` as a hexadecimal string.
fn hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push(b'<');
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
    out.push(b'>');
}

/// Write `v`, a whole number, as a content stream integer (without going through float
/// formatting: a page writes one for every glyph it moves to).
fn integer(out: &mut Vec<u8>, v: f64) {
    // `as` saturates, and page coordinates are far inside i64.
    out.extend_from_slice(itoa::Buffer::new().format(v as i64).as_bytes());
}

/// Parse a number token.
fn parse(b: &[u8]) -> Option<f64> {
    // Whole numbers (most of krilla's) without going through a string; exact below 2^53.
    let (negative, digits) = match b {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, b),
    };
    if !digits.is_empty() && digits.len() <= 15 && digits.iter().all(u8::is_ascii_digit) {
        let v = digits
            .iter()
            .fold(0u64, |v, d| v * 10 + u64::from(d - b'0')) as f64;
        return Some(if negative { -v } else { v });
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// A token of a text object: what [`layer_text`] needs to read krilla's `BT … ET`.
#[derive(Clone, PartialEq, Debug)]
enum Tok<'a> {
    Num(&'a [u8]),
    Name(&'a [u8]),
    /// A string's bytes (from a literal or a hexadecimal string): a few glyph codes, kept
    /// inline (a page has thousands).
    Str(SmallVec<[u8; 16]>),
    Open,
    Close,
    Op(&'a [u8]),
}

/// Which bytes are regular characters (neither white space nor a delimiter) in a content
/// stream, as a table: the tokenizer asks for every byte.
const REGULAR: [bool; 256] = {
    let mut t = [true; 256];
    let special = b"\0\t\n\x0c\r /[]<>(){}%";
    let mut k = 0;
    while k < special.len() {
        t[special[k] as usize] = false;
        k += 1;
    }
    t
};

/// The tokens of `d` (a text object's inside), or `None` for anything else (literal strings,
/// dictionaries, inline images): such a text object is left as it is.
fn tokens(d: &[u8]) -> Option<Vec<Tok<'_>>> {
    // About one token in six bytes in krilla's text objects.
    let mut out = Vec::with_capacity(d.len() / 6);
    let mut i = 0;
    let regular = |b: u8| REGULAR[usize::from(b)];
    while i < d.len() {
        let b = d[i];
        match b {
            b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\0' => i += 1,
            b'[' => {
                out.push(Tok::Open);
                i += 1;
            }
            b']' => {
                out.push(Tok::Close);
                i += 1;
            }
            b'/' => {
                let s = i + 1;
                i = s;
                while i < d.len() && regular(d[i]) {
                    i += 1;
                }
                out.push(Tok::Name(&d[s..i]));
            }
            b'<' => {
                let s = i + 1;
                let e = s + d[s..].iter().position(|c| *c == b'>')?;
                let digits: Vec<u8> = d[s..e]
                    .iter()
                    .filter(|c| !c.is_ascii_whitespace())
                    .copied()
                    .collect();
                let mut bytes = SmallVec::with_capacity(digits.len() / 2);
                for pair in digits.chunks(2) {
                    let hex = std::str::from_utf8(pair).ok()?;
                    let v = u8::from_str_radix(hex, 16).ok()?;
                    bytes.push(if pair.len() == 1 { v << 4 } else { v });
                }
                out.push(Tok::Str(bytes));
                i = e + 1;
            }
            b'(' => {
                let (bytes, end) = literal(d, i)?;
                out.push(Tok::Str(bytes));
                i = end;
            }
            b'0'..=b'9' | b'.' | b'-' | b'+' => {
                let s = i;
                while i < d.len() && regular(d[i]) {
                    i += 1;
                }
                out.push(Tok::Num(&d[s..i]));
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'\'' | b'"' => {
                let s = i;
                while i < d.len() && regular(d[i]) {
                    i += 1;
                }
                out.push(Tok::Op(&d[s..i]));
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The bytes of the literal string opening at `d[i]` (`(`), and the index after it.
fn literal(d: &[u8], i: usize) -> Option<(SmallVec<[u8; 16]>, usize)> {
    let mut out = SmallVec::new();
    let mut depth = 0usize;
    let mut j = i;
    loop {
        let b = *d.get(j)?;
        j += 1;
        match b {
            b'(' => {
                if depth > 0 {
                    out.push(b);
                }
                depth += 1;
            }
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((out, j));
                }
                out.push(b);
            }
            b'\\' => {
                let e = *d.get(j)?;
                j += 1;
                match e {
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'0'..=b'7' => {
                        let mut v = u32::from(e - b'0');
                        for _ in 0..2 {
                            match d.get(j) {
                                Some(c @ b'0'..=b'7') => {
                                    v = v * 8 + u32::from(c - b'0');
                                    j += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push(v as u8);
                    }
                    b'\r' => {
                        if d.get(j) == Some(&b'\n') {
                            j += 1;
                        }
                    }
                    b'\n' => {}
                    other => out.push(other),
                }
            }
            _ => out.push(b),
        }
    }
}

/// Where the `ET` closing the text object that starts before `from` is: the first `ET`
/// operator, strings skipped (a glyph code may read `ET` inside one).
fn text_object_end(d: &[u8], from: usize) -> Option<usize> {
    let mut j = from;
    while j < d.len() {
        match d[j] {
            b'(' => j = literal(d, j)?.1,
            b'<' => j += 1 + d[j + 1..].iter().position(|c| *c == b'>')? + 1,
            b'E' if operator_at(d, j, b"ET") => return Some(j),
            _ => j += 1,
        }
    }
    None
}

/// Whether `d[i..]` starts the operator `op` at a token boundary.
fn operator_at(d: &[u8], i: usize, op: &[u8]) -> bool {
    let before = i == 0 || d[i - 1].is_ascii_whitespace() || b"])>".contains(&d[i - 1]);
    let after = d
        .get(i + op.len())
        .is_none_or(|b| b.is_ascii_whitespace() || b"/[<(".contains(b));
    d[i..].starts_with(op) && before && after
}

/// The layer's text objects made invisible and split per character where they run right to
/// left (see the module documentation), with pdf.js's word spaces (see [`pdfjs`]); other text
/// objects are copied as they are.
#[cfg(test)]
fn layer_text(d: &[u8], layer: &Layer) -> Vec<u8> {
    rewrite_text(d, layer).0
}

/// [`layer_text`], and whether a text object in the layer font could not be read (it would
/// keep codes [`pdfjs::renumber`] changed).
fn rewrite_text(d: &[u8], layer: &Layer) -> (Vec<u8>, bool) {
    if layer.names.is_empty() {
        return (d.to_vec(), false);
    }
    // The text objects: where `BT` and `ET` are.
    let mut spans = Vec::new();
    let mut i = 0;
    while let Some(p) = find(&d[i..], b"BT") {
        let bt = i + p;
        i = bt + 2;
        if !operator_at(d, bt, b"BT") {
            continue;
        }
        let Some(et) = text_object_end(d, i) else {
            break;
        };
        i = et + 2;
        spans.push((bt, et));
    }
    let toks: Vec<Option<Vec<Tok>>> = spans
        .iter()
        .map(|(bt, et)| tokens(&d[bt + 2..*et]))
        .collect();
    let objects: Vec<Option<TextObject>> = toks
        .iter()
        .map(|t| t.as_deref().and_then(|t| read_object(t, layer)))
        .collect();
    let mut stale = false;
    for ((bt, et), o) in spans.iter().zip(&objects) {
        if o.is_none()
            && layer.names.iter().any(|n| {
                let mut at = b"/".to_vec();
                at.extend_from_slice(n);
                at.push(b' ');
                find(&d[*bt..*et], &at).is_some()
            })
        {
            stale = true;
        }
    }
    // Where each object is on the page: the `cm` krilla writes before it.
    let frames: Vec<Option<pdfjs::Frame>> = spans
        .iter()
        .enumerate()
        .map(|(k, (bt, _))| {
            let from = if k == 0 { 0 } else { spans[k - 1].1 };
            let (x, y) = cm_origin(&d[from..*bt])?;
            let o = objects[k].as_ref()?;
            Some(pdfjs::Frame {
                x,
                y: y - o.y0,
                right: layer.right?,
            })
        })
        .collect();
    let mut out = Vec::with_capacity(d.len() + d.len() / 4);
    let mut copied = 0;
    // Which of the two sizes the last right-to-left layer character had.
    let mut alternate = false;
    let mut reader = pdfjs::Reader::default();
    let mut incoming: Option<f64> = None;
    for (k, (bt, et)) in spans.iter().enumerate() {
        let Some(o) = &objects[k] else {
            reader = pdfjs::Reader::default();
            incoming = None;
            continue;
        };
        let shape = shape(o, layer);
        // A space that ends the object moves to the start of the next one on its line.
        // The next object when it goes on on this line.
        let next = match (frames[k], frames.get(k + 1).copied().flatten()) {
            (Some(f), Some(g)) if (f.y - g.y).abs() < 0.25 * o.size => {
                objects.get(k + 1).and_then(Option::as_ref)
            }
            _ => None,
        };
        let first = next.and_then(|n| n.glyphs.first()).map(|(_, g)| *g);
        let drop_last = next.is_some_and(|n| n.moves.is_empty())
            && o.glyphs
                .last()
                .is_some_and(|(_, g)| layer.glyphs.is_any_space(g))
            && layer.glyphs.space.is_some()
            && o.moves.is_empty()
            && first.is_some_and(|g| !matches!(layer.class(g), Class::Space | Class::Mark));
        let frame = frames[k].filter(|_| o.moves.is_empty());
        // Whether the next object on the line starts a word after a space.
        let continues = drop_last || first.is_some_and(|g| layer.glyphs.is_any_space(g));
        let placed = pdfjs::Text {
            frame,
            x0: o.x0,
            size: o.size,
            glyphs: &shape.glyphs,
            incoming,
            drop_last,
            allow: shape.rtl,
            continues,
        };
        let plan = pdfjs::plan(&placed, &layer.glyphs, &mut reader);
        let text = write_object(o, layer, &shape, &plan, incoming, drop_last, &mut alternate);
        incoming = None;
        if drop_last && let (Some(f), Some(g)) = (frames[k], frames[k + 1]) {
            // Where the space was drawn, in the next object's text space.
            let mut x = o.x0;
            for (i, (_, gl)) in o.glyphs.iter().enumerate() {
                x -= shape.glyphs[i].adjust * o.size / 1000.0;
                if i + 1 < o.glyphs.len() {
                    x += layer.glyphs.width(gl, o.size);
                }
            }
            incoming = Some(f.x + x - g.x);
        }
        out.extend_from_slice(&d[copied..*bt]);
        out.extend_from_slice(b"BT ");
        out.extend_from_slice(&text);
        out.extend_from_slice(b"ET");
        copied = et + 2;
    }
    out.extend_from_slice(&d[copied..]);
    (out, stale && layer.glyphs.space.is_some())
}

/// The origin of the last `cm` in `d` when it is krilla's `1 0 0 -1 x y`.
fn cm_origin(d: &[u8]) -> Option<(f64, f64)> {
    let at = memchr::memmem::rfind(d, b" cm")?;
    let head = &d[d[..at].len().saturating_sub(120)..at];
    let nums: Vec<&[u8]> = head
        .split(|b| b.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
        .collect();
    let [a, b, c, dd, x, y] = nums.get(nums.len().checked_sub(6)?..)? else {
        return None;
    };
    let one = |t: &[u8], v: f64| parse(t) == Some(v);
    (one(a, 1.0) && one(b, 0.0) && one(c, 0.0) && one(dd, -1.0)).then_some((parse(x)?, parse(y)?))
}

/// A layer text object as read: its operators with their operands, font, glyphs.
struct TextObject<'a> {
    ops: Vec<(&'a [u8], &'a [Tok<'a>])>,
    name: &'a [u8],
    size: f64,
    /// The shown glyphs with the adjustment before each (Identity-H: two bytes a glyph).
    glyphs: Vec<(f64, &'a [u8])>,
    /// Which `TJ` (or `Tj`) each glyph is in.
    shows: Vec<usize>,
    /// Text matrices set after the first glyph, with the glyph they come before: krilla starts
    /// a new run of glyphs where their raise changes (the layer sets none today).
    moves: Vec<(usize, &'a [Tok<'a>])>,
    /// The origin of the first text matrix.
    x0: f64,
    y0: f64,
}

/// The text object of `toks` when it is in the layer font and has nothing unexpected.
fn read_object<'a>(toks: &'a [Tok<'a>], layer: &Layer) -> Option<TextObject<'a>> {
    let mut ops: Vec<(&[u8], &[Tok])> = Vec::new();
    let mut start = 0;
    for (k, t) in toks.iter().enumerate() {
        if let Tok::Op(op) = t {
            ops.push((op, &toks[start..k]));
            start = k + 1;
        }
    }
    if start != toks.len() {
        return None;
    }
    let mut font: Option<(&[u8], f64)> = None;
    for (op, args) in &ops {
        match (*op, *args) {
            (b"Tf", [Tok::Name(n), Tok::Num(s)]) => font = Some((n, parse(s)?)),
            (b"Tf", _) => return None,
            _ => {}
        }
    }
    let (name, size) = font?;
    if !layer.names.iter().any(|l| l == name) {
        return None;
    }
    let mut glyphs: Vec<(f64, &[u8])> = Vec::new();
    let mut shows = Vec::new();
    let mut moves: Vec<(usize, &[Tok])> = Vec::new();
    let (mut x0, mut y0) = (0.0, 0.0);
    for (n, (op, args)) in ops.iter().enumerate() {
        match *op {
            b"Tm" if !glyphs.is_empty() => moves.push((glyphs.len(), args)),
            b"Tm" => (x0, y0) = origin(args).unwrap_or((0.0, 0.0)),
            b"TJ" => {
                let mut adjust = 0.0;
                for t in *args {
                    match t {
                        Tok::Num(n) => adjust += parse(n)?,
                        Tok::Str(h) if h.len() % 2 == 0 => {
                            for g in h.chunks(2) {
                                glyphs.push((adjust, g));
                                shows.push(n);
                                adjust = 0.0;
                            }
                        }
                        Tok::Open | Tok::Close => {}
                        _ => return None,
                    }
                }
            }
            b"Tj" => match args {
                [Tok::Str(h)] if h.len() % 2 == 0 => {
                    for g in h.chunks(2) {
                        glyphs.push((0.0, g));
                        shows.push(n);
                    }
                }
                _ => return None,
            },
            b"Tr" | b"Tf" | b"Td" | b"Tc" | b"Tw" | b"Tz" | b"TL" | b"Ts" => {}
            _ => return None,
        }
    }
    Some(TextObject {
        ops,
        name,
        size,
        glyphs,
        shows,
        moves,
        x0,
        y0,
    })
}

/// How a layer text object is written: each glyph's class, whether a text object of its own
/// starts at it, whether it runs right to left, and the glyphs as [`pdfjs::plan`] reads them.
struct Shape<'a> {
    classes: Vec<Class>,
    split: Vec<bool>,
    rtl: bool,
    glyphs: Vec<pdfjs::Glyph<'a>>,
}

/// The [`Shape`] of `o`.
fn shape<'a>(o: &TextObject<'a>, layer: &Layer) -> Shape<'a> {
    let glyphs = &o.glyphs;
    let backward = |a: f64| a > BACKWARD;
    let classes: Vec<Class> = glyphs.iter().map(|(_, g)| layer.class(g)).collect();
    let mut moved = vec![false; glyphs.len() + 1];
    for (k, _) in &o.moves {
        moved[*k] = true;
    }
    // Whether a text object of its own starts at glyph `k` (see [`together`]).
    let split: Vec<bool> = (0..glyphs.len())
        .map(|k| {
            k > 0
                && (moved[k]
                    || (!together(classes[k - 1], classes[k])
                        && (backward(glyphs[k].0) || classes[k] == Class::Mark)))
        })
        .collect();
    let rtl = (1..glyphs.len()).any(|k| (backward(glyphs[k].0) || moved[k]) && split[k]);
    // The adjustments as written: in steps of ADJUST_STEP (see [`Rounding`]).
    let mut rounding = Rounding::default();
    let shaped = glyphs
        .iter()
        .enumerate()
        .map(|(k, (adjust, g))| {
            if moved[k] {
                rounding = Rounding::default();
            }
            let word_start = k == 0 || classes[k - 1] == Class::Space;
            pdfjs::Glyph {
                g,
                class: classes[k],
                adjust: rounding.write(*adjust, word_start),
                joined: k > 0
                    && if rtl {
                        !split[k]
                    } else {
                        o.shows[k] == o.shows[k - 1]
                    },
                split: k == 0 || (rtl && split[k]),
            }
        })
        .collect();
    Shape {
        classes,
        split,
        rtl,
        glyphs: shaped,
    }
}

/// The inside of layer text object `o` rewritten (see [`layer_text`]): `incoming`, a space
/// moved in from the object before (at that x of its text space); `drop_last`, its last glyph
/// moved to the next.
fn write_object(
    o: &TextObject,
    layer: &Layer,
    shape: &Shape,
    plan: &pdfjs::Plan,
    incoming: Option<f64>,
    drop_last: bool,
    alternate: &mut bool,
) -> Vec<u8> {
    let Shape {
        classes,
        split,
        rtl,
        glyphs: shaped,
    } = shape;
    let rtl = *rtl;
    let glyphs = &o.glyphs;
    let size = o.size;
    let mut moved_at: Vec<Option<&[Tok]>> = vec![None; glyphs.len() + 1];
    for (k, tm) in &o.moves {
        moved_at[*k] = Some(tm);
    }
    let moved = |k: usize| moved_at[k];
    let name = String::from_utf8_lossy(o.name);
    let sizes = [size, size * ALTERNATE_SIZE].map(|s| format!("/{name} {} Tf", number(s, 5)));
    let last = if drop_last {
        glyphs.len().checked_sub(1)
    } else {
        None
    };
    // The space moved in: drawn where it was, its `Tw` before it, and back to the text
    // matrix's origin after it.
    let prefix = |out: &mut Vec<u8>| {
        let Some(sp) = incoming else { return };
        // A move from the text matrix's origin (where the object starts).
        let dx = ((sp - o.x0) * 10.0).round() / 10.0;
        out.extend_from_slice(format!("{} 0 Td\n", number(dx, 1)).as_bytes());
        if let Some(tw) = plan.incoming_tw {
            out.extend_from_slice(format!("{} Tw\n", number(tw, 1)).as_bytes());
        }
        let w = layer
            .glyphs
            .space
            .map_or(0.0, |s| layer.glyphs.width(&s, size));
        let back = (dx + w) * 1000.0 / size;
        out.push(b'[');
        hex(out, &pdfjs::SPACE_CODE);
        integer(out, back.round());
        out.extend_from_slice(b"]TJ\n");
    };
    // The plan's operators before glyph `k`.
    let before = |out: &mut Vec<u8>, k: usize| {
        if let Some(tw) = plan.tw.get(k).copied().flatten() {
            out.extend_from_slice(format!("\n{} Tw", number(tw, 1)).as_bytes());
        }
        if let Some(dx) = plan.td.get(k).copied().flatten() {
            out.extend_from_slice(format!("\n{} 0 Td", number(dx, 1)).as_bytes());
        }
        out.push(b'\n');
    };
    let mut out = Vec::new();
    let mut shown = false;
    // The first glyph of the next `TJ` or `Tj` (left to right).
    let mut next = 0;
    // The origin of the text matrix in force, when it is one of krilla's (`1 0 0 -1 x y`).
    let mut matrix: Option<(f64, f64)> = None;
    for (op, args) in &o.ops {
        match *op {
            // Set again for each run of glyphs krilla starts: written with the glyphs.
            b"Tr" | b"Tf" | b"Tm" if rtl && shown => continue,
            b"Tm" => {
                matrix = origin(args);
                match matrix {
                    Some((x, y)) => out.extend_from_slice(
                        format!("1 0 0 -1 {} {} Tm", number(x, 3), number(y, 3)).as_bytes(),
                    ),
                    None => write_op(&mut out, op, args),
                }
            }
            b"Tr" => out.extend_from_slice(b"3 Tr"),
            b"Tf" if rtl => {
                // A right-to-left item starts a new pdf.js item whatever came before.
                *alternate = !*alternate;
                out.extend_from_slice(sizes[*alternate as usize].as_bytes());
            }
            b"TJ" | b"Tj" if rtl => {
                if shown {
                    continue;
                }
                shown = true;
                prefix(&mut out);
                let mut open = false;
                for (k, (adjust, g)) in glyphs.iter().enumerate() {
                    if Some(k) == last {
                        break;
                    }
                    // pdf.js joins a mark to the item before it without looking where it is.
                    let mark = classes[k] == Class::Mark;
                    let split = split[k];
                    if split {
                        // A text object of its own (PDFium), and a size of its own where
                        // pdf.js would join it to the previous character.
                        out.extend_from_slice(b"]TJ");
                        open = false;
                        if let Some(tm) = moved(k) {
                            // A raised run: its own text matrix (the adjustment before
                            // its first glyph is relative to it), written as a move from
                            // the last one (krilla's matrices are `1 0 0 -1 x y`).
                            out.push(b'\n');
                            let next = origin(tm);
                            match (matrix, next) {
                                (Some((x0, y0)), Some((x1, y1))) => {
                                    out.extend_from_slice(
                                        format!("{} {} Td", number(x1 - x0, 3), number(y0 - y1, 3))
                                            .as_bytes(),
                                    );
                                    matrix = next;
                                }
                                _ => {
                                    write_op(&mut out, b"Tm", tm);
                                    matrix = None;
                                }
                            }
                            out.push(b'\n');
                        }
                        if plan.tw[k].is_some() || plan.td[k].is_some() {
                            before(&mut out, k);
                        }
                        // After a new text matrix pdf.js may join whatever the move (it
                        // compares the pen with the matrix's origin): a new size always.
                        if mark || *adjust <= JOIN_LIMIT || moved(k).is_some() {
                            *alternate = !*alternate;
                            out.extend_from_slice(sizes[*alternate as usize].as_bytes());
                        }
                    } else if k == 0 && (plan.tw[0].is_some() || plan.td[0].is_some()) {
                        before(&mut out, 0);
                    }
                    if k == 0 || split {
                        out.push(b'[');
                        open = true;
                    }
                    let written = shaped[k].adjust;
                    if written != 0.0 {
                        integer(&mut out, written);
                    }
                    hex(&mut out, &layer.glyphs.code(g));
                }
                if open {
                    out.extend_from_slice(b"]TJ");
                }
            }
            b"TJ" => {
                // Left to right: krilla's arrays, the adjustments (the rounding of the layer
                // font's widths) in steps of ADJUST_STEP.
                if !shown {
                    prefix(&mut out);
                }
                shown = true;
                let mut k = next;
                // Glyphs with nothing between them are written as one string.
                let mut run: Vec<u8> = Vec::new();
                for t in *args {
                    match t {
                        Tok::Num(_) => {}
                        Tok::Str(h) => {
                            for _ in h.chunks(2) {
                                if Some(k) == last || k >= glyphs.len() {
                                    k += 1;
                                    continue;
                                }
                                let written = shaped[k].adjust;
                                if written != 0.0 {
                                    if !run.is_empty() {
                                        hex(&mut out, &run);
                                        run.clear();
                                    }
                                    integer(&mut out, written);
                                }
                                run.extend_from_slice(&layer.glyphs.code(glyphs[k].1));
                                k += 1;
                            }
                        }
                        Tok::Close if !run.is_empty() => {
                            hex(&mut out, &run);
                            run.clear();
                            out.push(b']');
                        }
                        Tok::Open => out.push(b'['),
                        Tok::Close => out.push(b']'),
                        _ => {}
                    }
                }
                out.extend_from_slice(b"TJ");
                next = k;
            }
            b"Tj" => {
                if !shown {
                    prefix(&mut out);
                }
                shown = true;
                let mut run = Vec::new();
                if let [Tok::Str(h)] = *args {
                    for _ in h.chunks(2) {
                        if Some(next) != last && next < glyphs.len() {
                            run.extend_from_slice(&layer.glyphs.code(glyphs[next].1));
                        }
                        next += 1;
                    }
                }
                hex(&mut out, &run);
                out.extend_from_slice(b" Tj");
            }
            _ => write_op(&mut out, op, args),
        }
        out.push(b'\n');
    }
    out
}

/// The origin `(x, y)` of a text matrix `1 0 0 -1 x y` (krilla's, in a flipped page).
fn origin(args: &[Tok]) -> Option<(f64, f64)> {
    let n: Vec<f64> = args
        .iter()
        .map(|t| match t {
            Tok::Num(n) => parse(n),
            _ => None,
        })
        .collect::<Option<_>>()?;
    match n.as_slice() {
        [a, b, c, d, x, y] if *a == 1.0 && *b == 0.0 && *c == 0.0 && *d == -1.0 => Some((*x, *y)),
        _ => None,
    }
}

/// Write an operator with its operands as they were read.
fn write_op(out: &mut Vec<u8>, op: &[u8], args: &[Tok]) {
    for t in args {
        match t {
            Tok::Num(n) => out.extend_from_slice(n),
            Tok::Name(n) => {
                out.push(b'/');
                out.extend_from_slice(n);
            }
            Tok::Str(h) => hex(out, h),
            Tok::Open => out.push(b'['),
            Tok::Close => out.push(b']'),
            Tok::Op(_) => {}
        }
        out.push(b' ');
    }
    out.extend_from_slice(op);
}

/// Bytes a path of krilla's may consist of: numbers and the path operators `m l c v y h re`.
fn path_byte(b: u8) -> bool {
    matches!(
        b,
        b'0'..=b'9'
            | b'.'
            | b'-'
            | b' '
            | b'\n'
            | b'm'
            | b'l'
            | b'c'
            | b'v'
            | b'y'
            | b'h'
            | b'r'
            | b'e'
    )
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// The bounding box of a path's coordinates, one unit of margin around it.
fn path_bbox(path: &[u8]) -> [f32; 4] {
    let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
    let mut add = |x: f32, y: f32| {
        b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
    };
    let mut nums: Vec<f32> = Vec::new();
    for token in path
        .split(|c| *c == b' ' || *c == b'\n')
        .filter(|t| !t.is_empty())
    {
        match std::str::from_utf8(token)
            .ok()
            .and_then(|t| t.parse::<f32>().ok())
        {
            Some(v) => nums.push(v),
            None => {
                if token == b"re" && nums.len() == 4 {
                    add(nums[0], nums[1]);
                    add(nums[0] + nums[2], nums[1] + nums[3]);
                } else {
                    for p in nums.chunks_exact(2) {
                        add(p[0], p[1]);
                    }
                }
                nums.clear();
            }
        }
    }
    if b[0] > b[2] {
        return [0.0; 4];
    }
    [b[0] - 1.0, b[1] - 1.0, b[2] + 1.0, b[3] + 1.0]
}

/// The dictionary of object `id`: a page's, or a stream's (a form XObject).
fn dict_mut(doc: &mut Document, id: ObjectId) -> Result<&mut Dictionary, String> {
    match doc.get_object_mut(id) {
        Ok(Object::Dictionary(d)) => Ok(d),
        Ok(Object::Stream(s)) => Ok(&mut s.dict),
        _ => Err("a page or form is not a dictionary".to_string()),
    }
}

/// Add `names` to the `XObject` resources of `owner` (a page or a form; inline or referenced
/// dictionaries).
fn add_xobjects(
    doc: &mut Document,
    owner: ObjectId,
    names: BTreeMap<Vec<u8>, ObjectId>,
) -> Result<(), String> {
    let fail = |e: lopdf::Error| format!("a page's resources: {e}");
    let resources = dict_mut(doc, owner)?
        .get(b"Resources")
        .cloned()
        .unwrap_or(Object::Dictionary(Dictionary::new()));
    let res: &mut Dictionary = match resources {
        Object::Reference(id) => doc
            .get_object_mut(id)
            .and_then(Object::as_dict_mut)
            .map_err(fail)?,
        _ => {
            let owner = dict_mut(doc, owner)?;
            if owner.get(b"Resources").is_err() {
                owner.set("Resources", Dictionary::new());
            }
            owner
                .get_mut(b"Resources")
                .and_then(Object::as_dict_mut)
                .map_err(fail)?
        }
    };
    let xobj_ref = match res.get(b"XObject") {
        Ok(Object::Reference(id)) => Some(*id),
        _ => None,
    };
    let xobjects: &mut Dictionary = match xobj_ref {
        Some(id) => doc
            .get_object_mut(id)
            .and_then(Object::as_dict_mut)
            .map_err(fail)?,
        None => {
            if res.get(b"XObject").is_err() {
                res.set("XObject", Dictionary::new());
            }
            res.get_mut(b"XObject")
                .and_then(Object::as_dict_mut)
                .map_err(fail)?
        }
    };
    for (name, id) in names {
        xobjects.set(name, Object::Reference(id));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_rust_reads_them() {
        for t in [
            "0",
            "-0",
            "7",
            "-860",
            "007",
            "123456789012345",
            "1234567890123456",
            "859.5",
            "-.5",
            "+3",
            "1e3",
            "",
            "-",
            "1-2",
            "x",
        ] {
            let std: Option<f64> = t.parse().ok();
            assert_eq!(
                parse(t.as_bytes()).map(f64::to_bits),
                std.map(f64::to_bits),
                "{t:?}"
            );
        }
    }

    #[test]
    fn literal_strings_read_with_their_escapes() {
        let d = br"(\000\005)(a(b)c)(\(\)\\)(x\
y)";
        let toks = tokens(d).unwrap();
        let strings: Vec<&[u8]> = toks
            .iter()
            .map(|t| match t {
                Tok::Str(s) => &s[..],
                _ => panic!("{t:?}"),
            })
            .collect();
        assert_eq!(strings, [&b"\0\x05"[..], b"a(b)c", b"()\\", b"xy"]);
    }

    fn layer(marks: &[[u8; 2]]) -> Layer {
        Layer {
            names: vec![b"f0".to_vec()],
            classes: marks.iter().map(|m| (*m, Class::Mark)).collect(),
            ..Layer::default()
        }
    }

    #[test]
    fn a_marker_is_read_as_krilla_writes_it_and_nothing_else_is() {
        let d = b"EMC/Artifact<</Type/Layout>>BDC\nq 0.011 0 0 -0.011 197.10435 498.10706 cm/c0 cs 0 scn 0 0 m 5 0 l 5 1 l\nh\nf\nQ\nEMC";
        let at = find(d, b"q ").unwrap();
        let m = marker(d, at).expect("a marker");
        assert_eq!(m.number, 5);
        assert_eq!(m.matrix, [0.011, 0.0, 0.0, -0.011, 197.10435, 498.10706]);
        assert_eq!(m.colour, b"/c0 cs 0 scn");
        assert_eq!(&d[m.end..], b"\nEMC");
        // A rule or a background is not a marker: other numbers, another shape, a stroke.
        for other in [
            &b"q 1 0 0 1 5 5 cm/c0 cs 0 scn 0 0 m 5 0 l 5 2 l\nh\nf\nQ"[..],
            b"q 1 0 0 1 5 5 cm/c0 cs 0 scn 0 0 m 5 0 l 6 1 l\nh\nf\nQ",
            b"q 1 0 0 1 5 5 cm/c0 cs 0 scn 0 0 5 1 re\nf\nQ",
            b"q 1 0 0 1 5 5 cm/c0 cs 0 scn 0 0 m 5 0 l 5 1 l\nh\nS\nQ",
        ] {
            assert!(
                marker(other, 0).is_none(),
                "{}",
                String::from_utf8_lossy(other)
            );
        }
    }

    #[test]
    fn a_line_of_markers_becomes_one_run_of_forms_at_the_exact_places() {
        let outlines = Outlines {
            paths: vec![b"0 0 m 1 0 l 1 1 l h f".to_vec(); 3],
            runs: vec![vec![(0, 0.0, 0.0), (1, 512.4, 0.0)], vec![(2, 0.0, -30.0)]],
        };
        let d = b"BT ET\nq 0.01 0 0 -0.01 100 200 cm/c0 cs 0 scn 0 0 m 1 0 l 1 1 l\nh\nf\nQ\nq 0.01 0 0 -0.01 120 200 cm/c0 cs 0 scn 0 0 m 2 0 l 2 1 l\nh\nf\nQ\nEMC";
        let (out, drawn, placed) = place_glyphs(d, &outlines);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(placed, vec![0, 1]);
        assert_eq!(drawn.into_iter().collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(text.matches("q ").count(), 1, "one group: {text}");
        assert!(
            text.starts_with("BT ET\nq ") && text.ends_with("\nQ\nEMC"),
            "{text}"
        );
        // Follow the moves: each form is drawn within half a glyph unit of its place.
        let mut pen = (100.0, 200.0);
        let mut at = Vec::new();
        let spaced = text.replace('/', " /");
        let tokens: Vec<&str> = spaced.split_whitespace().collect();
        for (k, t) in tokens.iter().enumerate() {
            if *t == "cm" && tokens[k - 6] == "1" {
                pen.0 += 0.01 * tokens[k - 2].parse::<f64>().unwrap();
                pen.1 -= 0.01 * tokens[k - 1].parse::<f64>().unwrap();
            }
            if *t == "Do" {
                at.push(pen);
            }
        }
        let want = [(100.0, 200.0), (105.124, 200.0), (120.0, 200.3)];
        assert_eq!(at.len(), 3, "{text}");
        for (got, want) in at.iter().zip(want) {
            assert!(
                (got.0 - want.0).abs() < 0.006 && (got.1 - want.1).abs() < 0.006,
                "{got:?} {want:?}"
            );
        }
    }

    #[test]
    fn a_right_to_left_layer_item_becomes_one_invisible_object_per_character() {
        // Three characters moving right to left; the second is a mark (code 0002).
        let d = b"q 1 0 0 -1 300 400 cm/c0 cs 0 scn\nBT 0 Tr/f0 11 Tf 1 0 0 -1 0 0 Tm[(\\000\\001)852<0002>982<0003>]TJ\nET\nQ\n";
        let out = String::from_utf8(layer_text(d, &layer(&[[0, 2]]))).unwrap();
        assert!(out.contains("BT 3 Tr"), "{out}");
        assert_eq!(out.matches("TJ").count(), 3, "{out}");
        assert!(out.contains("[<0001>]TJ"), "{out}");
        // The mark gets a size of its own (pdf.js would join it to its letter), the next
        // letter, far enough, does not need one.
        assert_eq!(out.matches(" Tf").count(), 2, "{out}");
        assert!(
            out.contains("/f0 11.0011 Tf") || out.contains("/f0 11 Tf"),
            "{out}"
        );
        assert!(
            out.contains("[860<0002>]TJ") && out.contains("[980<0003>]TJ"),
            "{out}"
        );
    }

    #[test]
    fn a_run_of_weak_characters_stays_in_one_text_object_in_logical_order() {
        // Letter (other), mark (0002), colon (0003, weak), letter: right to left. The mark and
        // the colon after it stay together; two marks in a row and letters still split.
        let mut l = layer(&[[0, 2], [0, 5]]);
        l.classes.insert([0, 3], Class::Weak);
        let d = b"BT 0 Tr/f0 11 Tf 1 0 0 -1 0 0 Tm[<0001>852<0002>982<0003>700<0004>]TJ\nET\n";
        let out = String::from_utf8(layer_text(d, &l)).unwrap();
        assert_eq!(out.matches("TJ").count(), 3, "{out}");
        assert!(out.contains("[860<0002>980<0003>]TJ"), "{out}");
        let marks = b"BT 0 Tr/f0 11 Tf 1 0 0 -1 0 0 Tm[<0001>852<0002>90<0005>]TJ\nET\n";
        let out = String::from_utf8(layer_text(marks, &l)).unwrap();
        assert_eq!(out.matches("TJ").count(), 3, "{out}");
        // Widened letters of a left-to-right run overlap (a move back): still one object.
        let mut l = layer(&[]);
        l.classes.insert([0, 1], Class::Strong);
        l.classes.insert([0, 2], Class::Strong);
        let ltr = b"BT 0 Tr/f0 11 Tf 1 0 0 -1 0 0 Tm[<0001>120<0002>]TJ\nET";
        let out = String::from_utf8(layer_text(ltr, &l)).unwrap();
        assert_eq!(out.matches("TJ").count(), 1, "{out}");
        assert!(out.contains("/f0 11 Tf"), "{out}");
    }

    #[test]
    fn left_to_right_and_foreign_text_objects_keep_their_shape() {
        let ltr = b"BT 0 Tr/f0 11 Tf 1 0 0 -1 0 0 Tm[<0001>3<0002>-12<0003>]TJ\nET";
        let out = String::from_utf8(layer_text(ltr, &layer(&[]))).unwrap();
        assert!(out.contains("3 Tr") && out.contains("/f0 11 Tf"), "{out}");
        assert_eq!(out.matches("TJ").count(), 1, "{out}");
        // Adjustments in steps of ADJUST_STEP, each inside a word on its own (3 → 0, -12 → -20),
        // glyphs with none between them in one string.
        assert!(out.contains("[<00010002>-20<0003>]TJ"), "{out}");
        let foreign = b"BT 0 Tr/f1 11 Tf 1 0 0 -1 0 0 Tm[<0001>852<0002>]TJ\nET";
        assert_eq!(layer_text(foreign, &layer(&[])), foreign.to_vec());
    }

    #[test]
    fn a_glyph_code_reading_et_does_not_end_the_text_object() {
        // Glyph 0x4554 is the bytes `ET`, which krilla may write as a literal string.
        let d = b"BT 0 Tr/f0 11 Tf 1 0 0 -1 0 0 Tm[(ET)852<0002>]TJ\nET\nQ";
        let out = String::from_utf8(layer_text(d, &layer(&[]))).unwrap();
        assert!(
            out.contains("3 Tr") && out.contains("[<4554>]TJ[860<0002>]TJ"),
            "{out}"
        );
        assert!(out.ends_with("ET\nQ"), "{out}");
    }

    #[test]
    fn a_raised_run_moves_from_the_last_matrix() {
        // krilla starts a new run of glyphs with a text matrix where the raise changes (a
        // glyph with a vertical offset): written as a move from the last matrix.
        let d = b"BT 0 Tr/f0 11 Tf 1 0 0 -1 0 -0.049999997 Tm[<0001>852<0002>]TJ 1 0 0 -1 -19.547 0 Tm[292<0003>]TJ\nET";
        let out = String::from_utf8(layer_text(d, &layer(&[]))).unwrap();
        assert!(out.contains("1 0 0 -1 0 -0.05 Tm"), "{out}");
        assert!(out.contains("-19.547 -0.05 Td"), "{out}");
        assert_eq!(out.matches("Tm").count(), 1, "{out}");
        assert_eq!(out.matches("TJ").count(), 3, "{out}");
    }

    #[test]
    fn rounding_is_made_up_at_the_next_word() {
        let mut r = Rounding::default();
        // Inside a word each adjustment is rounded on its own: the same word, the same bytes.
        assert_eq!(r.write(852.0, true), 860.0);
        assert_eq!(r.write(424.0, false), 420.0);
        assert_eq!(r.write(-12.0, false), -20.0);
        // -8 + 4 + 8 behind: made up at the next word's start.
        assert_eq!(r.write(600.0, true), 600.0);
        assert_eq!(r.write(608.0, false), 600.0);
        assert_eq!(r.write(608.0, false), 600.0);
        assert_eq!(r.write(300.0, true), 320.0);
    }

    #[test]
    fn classes_are_read_from_the_to_unicode_map() {
        let cmap = b"4 beginbfchar\n<0004> <0020>\n<00cf> <0651>\n<00d0> <0032>\n<00d1> <0061>\nendbfchar\n1 beginbfrange\n<0010> <0012> <064B>\nendbfrange\n";
        let classes = code_classes(cmap);
        let mut got: Vec<([u8; 2], Class)> = classes.into_iter().collect();
        got.sort_by_key(|(k, _)| *k);
        let mark = Class::Mark;
        assert_eq!(
            got,
            vec![
                ([0, 4], Class::Space),
                ([0, 0x10], mark),
                ([0, 0x11], mark),
                ([0, 0x12], mark),
                ([0, 0xcf], mark),
                ([0, 0xd0], Class::Weak),
                ([0, 0xd1], Class::Strong)
            ]
        );
    }

    #[test]
    fn form_names_are_short_and_distinct() {
        let names: std::collections::BTreeSet<Vec<u8>> = (0..5000).map(form_name).collect();
        assert_eq!(names.len(), 5000);
        assert_eq!(form_name(0), b"G0");
        assert_eq!(form_name(35), b"Gz");
        assert_eq!(form_name(36), b"G10");
    }

    #[test]
    fn a_space_before_a_number_moves_into_the_number_with_its_word_spacing() {
        // «عام 2014» on one line: the Arabic word (code 0007, half an em) ends its text object
        // with the space between words (code 0004, a quarter em, made code 32); the number
        // (0008, 0009: weak) is the next object, to the left.
        let glyphs = pdfjs::Glyphs {
            widths: [
                ([0, 4], 240.0),
                ([0, 7], 500.0),
                ([0, 8], 500.0),
                ([0, 9], 500.0),
            ]
            .into_iter()
            .collect(),
            spaces: [[0, 4]].into_iter().collect(),
            space: Some([0, 4]),
            ..pdfjs::Glyphs::default()
        };
        let l = Layer {
            names: vec![b"f0".to_vec()],
            classes: [
                ([0, 4], Class::Space),
                ([0, 8], Class::Weak),
                ([0, 9], Class::Weak),
            ]
            .into_iter()
            .collect(),
            glyphs: Arc::new(glyphs),
            right: Some(400.0),
        };
        let d = b"q 1 0 0 -1 200 300 cm/c0 cs 0 scn\nBT 0 Tr/f0 10 Tf 1 0 0 -1 0 0 Tm[-1000<0007>1000<0007>740<0004>]TJ\nET\nQ\nq 1 0 0 -1 187.6 300 cm/c0 cs 0 scn\nBT 0 Tr/f0 10 Tf 1 0 0 -1 0 0 Tm[<00080009>]TJ\nET\nQ\n";
        let out = String::from_utf8(layer_text(d, &l)).unwrap();
        let (word, number) = out.split_once("ET").unwrap();
        // The word has no space left; the number starts with it, code 32, drawn where it was
        // (200 + 2.6 − 187.6 = 15 right of the number's origin), after a `Tw` that moves the
        // number for pdf.js more than 0.6 em right of the word's end (200 + 10).
        assert!(
            !word.contains("<0020>") && !word.contains("<0004>"),
            "{out}"
        );
        assert!(number.contains("15 0 Td"), "{out}");
        let tw: f64 = number
            .split(" Tw")
            .next()
            .and_then(|t| t.split_whitespace().last())
            .and_then(|t| t.parse().ok())
            .expect("a Tw");
        assert!(187.6 + tw > 200.0 + 10.0 + 6.0, "{tw}: {out}");
        // Back at the number's origin after the space: 15 pt + 2.4 pt is 1740 thousandths.
        assert!(number.contains("[<0020>1740]TJ"), "{out}");
        assert!(number.contains("<00080009>"), "{out}");
    }
}
