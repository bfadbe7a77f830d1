//! Word spaces pdf.js reads back from the archival text layer: the layer's space glyph gets the code pdf.js gives word spacing to, and a `Tw` moves the next word for pdf.js alone.
//!
//! pdf.js (Firefox's viewer and most web viewers) makes a space between two characters only
//! from a forward gap: it compares each glyph's origin with where the last one ended, and a
//! move backwards makes it forget the space glyph it just read. A logical right-to-left layer
//! moves backwards at every letter, so pdf.js glued every word to the next.
//!
//! pdf.js adds word spacing (`Tw`) to code 32 of a two-byte font too (`buildTextContentItem`
//! in pdf.js 5: `originalCharCode === 0x20`); the PDF specification, and poppler, MuPDF,
//! PDFium and pdfminer, add it to one-byte codes only. So [`renumber`] gives the layer's space
//! between words code 32, and [`plan`] sets a `Tw` before it that moves, for pdf.js alone, the
//! next word's first character more than 0.6 em to the right of the end of the word before:
//! pdf.js writes a space there ([`JUMP`]), and every other reader sees the text where it was.
//!
//! The shift lasts to the end of the text object. pdf.js drops a glyph that lands right of the
//! page, so where the next word would, a move (`Td`) to the pen where every reader has it ends
//! the shift first. A space that ends a text object (before a number or a Latin run, which
//! typst sets as an item of their own) is moved to the start of the next one on the line, where
//! its `Tw` still reaches the word after it.

use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::HashMap;

use lopdf::{Document, Object, ObjectId, Stream};

use super::textlayer::{Class, FONT_NAME, SPACE_WIDTH};

/// The code pdf.js adds word spacing to: the layer's space between words gets it.
pub const SPACE_CODE: [u8; 2] = [0, 0x20];

/// How far right of the last glyph's end pdf.js must find the next word's first glyph (em): it
/// writes a space from 0.6 em on (`spaceInFlowMax`); the rest is margin.
const JUMP: f64 = 0.8;

/// The step the `Tw` values are rounded up to (pt): whole numbers, and a value set once
/// serves the next words too.
const TW_STEP: f64 = 2.0;

/// How far inside the page's right edge (pt) pdf.js must find every glyph of the layer.
const EDGE: f64 = 1.0;

/// What the word spaces need to know of the layer font's glyphs (by their codes in typst's
/// PDF, before [`renumber`]).
#[derive(Default, Clone, Debug)]
pub struct Glyphs {
    /// Each code's width (thousandths of an em).
    pub widths: FxHashMap<[u8; 2], f64>,
    /// The codes of format characters (Unicode Cf): pdf.js skips them, pen and all.
    pub format: FxHashSet<[u8; 2]>,
    /// The codes of every space glyph (U+0020, whatever its width).
    pub spaces: FxHashSet<[u8; 2]>,
    /// The code of the space between words, which [`renumber`] made [`SPACE_CODE`] (and
    /// [`SPACE_CODE`]'s glyph this code).
    pub space: Option<[u8; 2]>,
}

impl Glyphs {
    /// The code glyph `g` (a code of typst's PDF) is written with.
    pub fn code(&self, g: &[u8]) -> [u8; 2] {
        let g = <[u8; 2]>::try_from(g).unwrap_or_default();
        match self.space {
            Some(s) if g == s => SPACE_CODE,
            Some(s) if g == SPACE_CODE => s,
            _ => g,
        }
    }

    /// Whether `g` is a space glyph (U+0020).
    pub fn is_any_space(&self, g: &[u8]) -> bool {
        <[u8; 2]>::try_from(g).is_ok_and(|g| self.spaces.contains(&g))
    }

    /// Whether `g` is the space between words.
    pub fn is_space(&self, g: &[u8]) -> bool {
        self.space.is_some_and(|s| g == s)
    }

    /// The width of `g` at `size` (pt).
    pub fn width(&self, g: &[u8], size: f64) -> f64 {
        <[u8; 2]>::try_from(g)
            .ok()
            .and_then(|g| self.widths.get(&g))
            .map_or(0.0, |w| w * size / 1000.0)
    }

    /// Whether `g` is a format character's (pdf.js skips it).
    fn is_format(&self, g: &[u8]) -> bool {
        <[u8; 2]>::try_from(g).is_ok_and(|g| self.format.contains(&g))
    }
}

/// The character a `ToUnicode` destination (UTF-16BE hex) maps to, when it is one.
pub fn one_char(h: &str) -> Option<char> {
    let units: Vec<u16> = (0..h.len() / 4)
        .filter_map(|k| u16::from_str_radix(h.get(k * 4..k * 4 + 4)?, 16).ok())
        .collect();
    let mut chars = char::decode_utf16(units);
    let c = chars.next()?.ok()?;
    chars.next().is_none().then_some(c)
}

/// Whether pdf.js skips `c` (its `\p{Cf}` test): the format characters.
fn is_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2
        | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB)
}

/// The `bfchar` pairs of a `ToUnicode` CMap (code, UTF-16BE hex), and whether it has
/// anything else that maps codes (`bfrange`).
fn bfchars(cmap: &str) -> (Vec<(u16, String)>, bool) {
    let mut out = Vec::new();
    for section in cmap.split("beginbfchar").skip(1) {
        let body = section.split("endbfchar").next().unwrap_or("");
        let hexes: Vec<&str> = body.split(['<', '>']).skip(1).step_by(2).collect();
        for pair in hexes.chunks(2) {
            if let [code, uni] = pair
                && let Ok(code) = u16::from_str_radix(code, 16)
            {
                out.push((code, uni.to_ascii_uppercase()));
            }
        }
    }
    (out, cmap.contains("beginbfrange"))
}

/// The widths of a CIDFont's `W` array (thousandths of an em, by code).
fn widths(w: &[Object]) -> HashMap<u16, f64> {
    let num = |o: &Object| {
        o.as_float()
            .ok()
            .map(f64::from)
            .or(o.as_i64().ok().map(|v| v as f64))
    };
    let mut out = HashMap::new();
    let mut i = 0;
    while i < w.len() {
        let Some(first) = num(&w[i]) else { break };
        let first = first as u16;
        match w.get(i + 1) {
            Some(Object::Array(list)) => {
                for (k, v) in list.iter().enumerate() {
                    if let Some(v) = num(v) {
                        out.insert(first.saturating_add(k as u16), v);
                    }
                }
                i += 2;
            }
            Some(last) => {
                let (Some(last), Some(v)) = (num(last), w.get(i + 2).and_then(num)) else {
                    break;
                };
                for c in first..=(last as u16) {
                    out.insert(c, v);
                }
                i += 3;
            }
            None => break,
        }
    }
    out
}

/// A `W` array of `widths` (runs of codes of one width as `first last width`).
fn widths_array(widths: &HashMap<u16, f64>) -> Object {
    let mut codes: Vec<(u16, f64)> = widths.iter().map(|(c, w)| (*c, *w)).collect();
    codes.sort_by_key(|(c, _)| *c);
    let mut out = Vec::new();
    let mut k = 0;
    while k < codes.len() {
        let (first, w) = codes[k];
        let mut last = first;
        while k + 1 < codes.len() && codes[k + 1].0 == last + 1 && codes[k + 1].1 == w {
            k += 1;
            last += 1;
        }
        out.push(Object::Integer(i64::from(first)));
        out.push(Object::Integer(i64::from(last)));
        out.push(Object::Real(w as f32));
        k += 1;
    }
    Object::Array(out)
}

/// Give the space between words of every layer font in `doc` code 32 (see the module
/// documentation): the `ToUnicode` map, the widths and a `CIDToGIDMap` swap the two codes'
/// glyphs. Returns each layer font's [`Glyphs`] by its `ToUnicode` stream, with the `ToUnicode`
/// map as it was (the page content still has the old codes until [`super::postpass`] rewrites
/// it). A font whose codes are not as krilla writes them is left as it is (`space` unset).
pub fn renumber(doc: &mut Document) -> HashMap<ObjectId, (Vec<u8>, Glyphs)> {
    let fonts: Vec<(ObjectId, ObjectId)> = doc
        .objects
        .values()
        .filter_map(|o| {
            let d = o.as_dict().ok()?;
            let ours = d.get(b"Subtype").and_then(Object::as_name).ok()? == b"Type0"
                && d.get(b"BaseFont")
                    .and_then(Object::as_name)
                    .ok()?
                    .ends_with(FONT_NAME.as_bytes());
            let tu = d.get(b"ToUnicode").and_then(Object::as_reference).ok()?;
            let desc = match d.get(b"DescendantFonts").ok()? {
                Object::Array(a) => a.first()?.as_reference().ok()?,
                Object::Reference(r) => doc
                    .get_object(*r)
                    .ok()?
                    .as_array()
                    .ok()?
                    .first()?
                    .as_reference()
                    .ok()?,
                _ => return None,
            };
            ours.then_some((tu, desc))
        })
        .collect();
    let mut out = HashMap::new();
    for (tu, desc) in fonts {
        if out.contains_key(&tu) {
            continue;
        }
        let Ok(cmap) = doc
            .get_object(tu)
            .and_then(Object::as_stream)
            .and_then(Stream::decompressed_content)
        else {
            continue;
        };
        let (pairs, ranges) = bfchars(&String::from_utf8_lossy(&cmap));
        let w = doc
            .get_dictionary(desc)
            .and_then(|d| d.get(b"W"))
            .and_then(Object::as_array)
            .map(|a| widths(a))
            .unwrap_or_default();
        let mut glyphs = Glyphs {
            widths: w.iter().map(|(c, v)| (c.to_be_bytes(), *v)).collect(),
            ..Glyphs::default()
        };
        for (code, uni) in &pairs {
            if one_char(uni).is_some_and(is_format) {
                glyphs.format.insert(code.to_be_bytes());
            }
            if uni == "0020" {
                glyphs.spaces.insert(code.to_be_bytes());
            }
        }
        let spaces: Vec<u16> = pairs
            .iter()
            .filter(|(c, u)| u == "0020" && w.get(c) == Some(&SPACE_WIDTH))
            .map(|(c, _)| *c)
            .collect();
        let max = pairs.iter().map(|(c, _)| *c).max().unwrap_or(0);
        let swap = match spaces.as_slice() {
            [s] if !ranges && max >= 0x20 => Some(*s),
            _ => None,
        };
        if let Some(s) = swap
            && s != 0x20
            && swap_codes(doc, tu, desc, &cmap, s, &w, max).is_err()
        {
            out.insert(tu, (cmap, glyphs));
            continue;
        }
        glyphs.space = swap.map(u16::to_be_bytes);
        out.insert(tu, (cmap, glyphs));
    }
    out
}

/// Swap codes `s` and 32 of the font with `ToUnicode` stream `tu` and CIDFont `desc`.
fn swap_codes(
    doc: &mut Document,
    tu: ObjectId,
    desc: ObjectId,
    cmap: &[u8],
    s: u16,
    w: &HashMap<u16, f64>,
    max: u16,
) -> Result<(), lopdf::Error> {
    let other = |c: u16| match c {
        c if c == s => 0x20,
        0x20 => s,
        c => c,
    };
    // The CMap with the two codes' entries swapped.
    let text = String::from_utf8_lossy(cmap);
    let mut new = String::with_capacity(text.len());
    let mut rest: &str = &text;
    while let Some(at) = rest.find("beginbfchar") {
        let body_start = at + "beginbfchar".len();
        let body_end = rest[body_start..]
            .find("endbfchar")
            .map_or(rest.len(), |e| body_start + e);
        new.push_str(&rest[..body_start]);
        new.push('\n');
        let body = &rest[body_start..body_end];
        let hexes: Vec<&str> = body.split(['<', '>']).skip(1).step_by(2).collect();
        for pair in hexes.chunks(2) {
            if let [code, uni] = pair {
                let code = u16::from_str_radix(code, 16).map_or(0, other);
                new.push_str(&format!("<{code:04X}> <{uni}>\n"));
            }
        }
        rest = &rest[body_end..];
    }
    new.push_str(rest);
    let stream = doc.get_object_mut(tu).and_then(Object::as_stream_mut)?;
    stream.dict.remove(b"Filter");
    stream.set_content(new.into_bytes());
    let _ = stream.compress();

    let swapped: HashMap<u16, f64> = w.iter().map(|(c, v)| (other(*c), *v)).collect();
    let n = usize::from(max.max(0x20)) + 1;
    let mut map = Vec::with_capacity(n * 2);
    for c in 0..n as u16 {
        map.extend_from_slice(&other(c).to_be_bytes());
    }
    let mut gid_map = Stream::new(lopdf::Dictionary::new(), map);
    let _ = gid_map.compress();
    let gid_map = doc.add_object(gid_map);
    let d = doc.get_dictionary_mut(desc)?;
    d.set("W", widths_array(&swapped));
    d.set("CIDToGIDMap", Object::Reference(gid_map));
    Ok(())
}

/// Where a text object is on the page: its `cm` origin (krilla's `1 0 0 -1 x y`), and the
/// page's right edge.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// The `cm` origin's x (pt).
    pub x: f64,
    /// The text's baseline (pt, as krilla's `cm` and text matrix place it).
    pub y: f64,
    /// The page's right edge (pt).
    pub right: f64,
}

/// One glyph of a layer text object, as [`super::postpass`] writes it.
pub struct Glyph<'a> {
    /// Its code in typst's PDF.
    pub g: &'a [u8],
    /// Its character's class (see [`super::textlayer::class`]).
    pub class: Class,
    /// The `TJ` adjustment written before it (thousandths of an em).
    pub adjust: f64,
    /// Whether it is in the same `TJ` array as the glyph before.
    pub joined: bool,
    /// Whether the writer may end a `TJ` and write an operator before it.
    pub split: bool,
}

/// What pdf.js read last, across the text objects of a content stream: where its last glyph
/// ended (page coordinates), or `None` where that is not known.
#[derive(Default, Clone, Copy, Debug)]
pub struct Reader {
    /// Where pdf.js's last glyph ended: x and baseline (pt).
    pub prev: Option<(f64, f64)>,
}

/// What to write for pdf.js in one text object (see the module documentation).
#[derive(Default, Debug)]
pub struct Plan {
    /// A `Tw` before glyph `k`.
    pub tw: Vec<Option<f64>>,
    /// A move `Td` (its x) before glyph `k`, after the `Tw`.
    pub td: Vec<Option<f64>>,
    /// The `Tw` before a space moved in from the text object before.
    pub incoming_tw: Option<f64>,
}

/// A text object of the layer as [`plan`] reads it.
pub struct Text<'a> {
    /// Where it is on the page (none when that is not known: no word spacing then).
    pub frame: Option<Frame>,
    /// Where its text matrix starts (x, its text space).
    pub x0: f64,
    /// Its text size (pt).
    pub size: f64,
    /// Its glyphs, in the order they are shown.
    pub glyphs: &'a [Glyph<'a>],
    /// The x (its text space) of a space moved in from the object before, written first and
    /// ending at `x0`.
    pub incoming: Option<f64>,
    /// Whether its last glyph (a space) moves to the next object.
    pub drop_last: bool,
    /// Whether its own spaces may get a `Tw`: right-to-left objects (in a left-to-right one
    /// pdf.js finds forward gaps already).
    pub allow: bool,
    /// Whether the next object goes on on the same line after a space.
    pub continues: bool,
}

/// The word-space plan of `text` in the layer font `font`, after what `reader` read last;
/// updates `reader`.
pub fn plan(text: &Text, font: &Glyphs, reader: &mut Reader) -> Plan {
    let Text {
        frame,
        x0,
        size,
        glyphs,
        incoming,
        drop_last,
        allow,
        continues,
    } = *text;
    let n = glyphs.len();
    let mut plan = Plan {
        tw: vec![None; n],
        td: vec![None; n],
        incoming_tw: None,
    };
    let (Some(frame), Some(space)) = (frame, font.space) else {
        reader.prev = None;
        return plan;
    };
    if size <= 0.0 {
        reader.prev = None;
        return plan;
    }
    let em = size;
    // The glyphs in the order pdf.js reads them, the moved-in space first (`at`: the index in
    // `glyphs`).
    struct G<'b> {
        g: &'b [u8],
        class: Class,
        adjust: f64,
        joined: bool,
        split: bool,
        at: Option<usize>,
        /// The glyph's width (pt) and whether it is a format character, looked up once.
        width: f64,
        format: bool,
    }
    // The moved-in space is drawn a tenth of a point from where it was (see
    // [`super::postpass`]).
    let incoming = incoming.map(|sp| x0 + ((sp - x0) * 10.0).round() / 10.0);
    let mut seq: Vec<G> = Vec::with_capacity(n + 1);
    if incoming.is_some() {
        seq.push(G {
            g: &space,
            class: Class::Space,
            adjust: 0.0,
            joined: false,
            split: true,
            at: None,
            width: font.width(&space, size),
            format: false,
        });
    }
    let kept = if drop_last { n.saturating_sub(1) } else { n };
    for (k, gl) in glyphs.iter().enumerate().take(kept) {
        seq.push(G {
            g: gl.g,
            class: gl.class,
            adjust: gl.adjust,
            joined: gl.joined && !(k == 0 && incoming.is_some()),
            split: gl.split || k == 0,
            at: Some(k),
            width: font.width(gl.g, size),
            format: font.is_format(gl.g),
        });
    }
    let width = |g: &G| g.width;
    let step = |g: &G| g.adjust * em / 1000.0;
    // The true pen before each glyph's adjustment, and its true end; the right end of
    // everything from each glyph on (pdf.js's shift there must keep it on the page).
    let mut pen = Vec::with_capacity(seq.len());
    let mut ends = Vec::with_capacity(seq.len());
    let mut x = incoming.unwrap_or(x0);
    for g in &seq {
        pen.push(x);
        x -= step(g);
        x += width(g);
        ends.push(x);
        if g.at.is_none() {
            x = x0;
        }
    }
    let mut reach = ends.clone();
    for i in (0..seq.len().saturating_sub(1)).rev() {
        reach[i] = reach[i].max(reach[i + 1]);
    }
    let base = |g: &G| !matches!(g.class, Class::Space | Class::Mark) && !g.format;
    let fits = |shift: f64, i: usize| frame.x + reach[i] + shift <= frame.right - EDGE;

    let on_line = |p: Option<(f64, f64)>| p.filter(|(_, y)| (y - frame.y).abs() < 0.25 * em);
    let mut prev = on_line(reader.prev).map(|(x, _)| x - frame.x);
    // How pdf.js's shift changes at glyph `m`, before its own width: it skips an adjustment
    // that follows a format character in its array (that character's spacing), and the
    // width of a mark or a format character.
    let skips = |m: usize| {
        if m > 0 && seq[m].joined && seq[m - 1].format {
            step(&seq[m])
        } else {
            0.0
        }
    };
    let lags = |m: usize| {
        if seq[m].class == Class::Mark || seq[m].format {
            width(&seq[m])
        } else {
            0.0
        }
    };
    // The spaces between words that may get a `Tw`, with the glyph pdf.js compares next and
    // the `Tw` that moves it far enough from the last glyph before the space in this object
    // (none before the first: that one's distance depends on the object before).
    let mut spaces: Vec<(usize, usize, Option<f64>)> = Vec::new();
    let mut last_base: Option<usize> = None;
    for i in 0..seq.len() {
        let g = &seq[i];
        if base(g) {
            last_base = Some(i);
        }
        if !(g.class == Class::Space && font.is_space(g.g) && g.split && (allow || g.at.is_none()))
        {
            continue;
        }
        let mut j = i + 1;
        while j < seq.len() && seq[j].format {
            j += 1;
        }
        if j >= seq.len() || !base(&seq[j]) {
            continue;
        }
        let need = last_base.map(|a| {
            let change: f64 = (a + 1..=j)
                .map(|m| skips(m) - if m < j { lags(m) } else { 0.0 })
                .sum();
            ends[a] + JUMP * em - (pen[j] - step(&seq[j])) - change
        });
        spaces.push((i, j, need));
    }
    let round = |k: f64| (k / TW_STEP).ceil() * TW_STEP;
    // The most any word of the object needs (measured from a glyph of the object).
    let most_known = spaces
        .iter()
        .filter_map(|s| s.2)
        .fold(f64::NEG_INFINITY, f64::max);
    // The true pen and pdf.js's shift from it (text space), the Tw in force, the line matrix.
    let mut x = incoming.unwrap_or(x0);
    let mut shift = 0.0;
    let mut tw = 0.0;
    let mut line_x = x;
    // The glyph before which pdf.js's shift should end (a move there), if any.
    let mut reset_at: Option<usize> = None;
    let mut next_space = 0;
    for i in 0..seq.len() {
        let g = &seq[i];
        let w = width(g);
        let st = step(g);
        if next_space < spaces.len() && spaces[next_space].0 == i {
            // A space between words: pdf.js must find the next word's first glyph right of
            // where the last one ended.
            let j = spaces[next_space].1;
            next_space += 1;
            if let Some(p) = prev {
                let ts = shift
                    + (i + 1..=j)
                        .map(|m| skips(m) - if m < j { lags(m) } else { 0.0 })
                        .sum::<f64>();
                let origin = pen[j] - step(&seq[j]) + ts;
                let need = p + JUMP * em - origin;
                let ok = |k: f64| fits(ts + k, j);
                // One `Tw` for the object where it can: the most any of its words needs.
                let most = round(most_known.max(need));
                let want = if (tw >= need || need <= 0.0) && ok(tw) {
                    tw
                } else if need <= 0.0 {
                    0.0
                } else if ok(most) {
                    most
                } else if ok(round(need)) {
                    round(need)
                } else if ok(need) {
                    need
                } else {
                    0.0
                };
                let want = (want * 10.0).round() / 10.0;
                if want != tw {
                    tw = want;
                    match g.at {
                        Some(k) => plan.tw[k] = Some(tw),
                        None => plan.incoming_tw = Some(tw),
                    }
                }
            }
        }
        if reset_at == Some(i) {
            if let Some(k) = g.at {
                let dx = ((x - line_x) * 10.0).round() / 10.0;
                plan.td[k] = Some(dx);
                line_x += dx;
                x = line_x;
                shift = 0.0;
            }
            reset_at = None;
        }
        x -= st;
        shift += skips(i);
        match g.class {
            Class::Space => {
                x += w;
                if font.is_space(g.g) {
                    shift += tw;
                }
                if g.at.is_none() {
                    x = x0;
                }
            }
            _ if !base(g) => {
                x += w;
                shift -= w;
            }
            _ => {
                if w > 0.0 {
                    prev = Some(x + shift + w);
                }
                x += w;
                // After a word's first glyph: if the next word's, moved as far as it needs,
                // would land right of the page, end the shift at a glyph of this word.
                if shift > 0.0 && reset_at.is_none() && i > 0 && seq[i - 1].class == Class::Space {
                    // The next object on the line compares its first word with this one's
                    // last glyph: it needs no shift there.
                    let until = match spaces.get(next_space) {
                        Some(&(ni, nj, Some(need))) => {
                            (!fits(shift + tw.max(round(need)), nj)).then_some(ni)
                        }
                        Some(_) => None,
                        None => continues.then_some(seq.len()),
                    };
                    if let Some(until) = until {
                        reset_at = (i + 1..until).find(|m| seq[*m].split && base(&seq[*m]));
                    }
                }
            }
        }
    }
    reader.prev = prev.map(|p| (p + frame.x, frame.y));
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::{Dictionary, dictionary};

    /// A layer font in a document: codes 4 (a space a quarter em wide), 5 (a wider space) and
    /// 0x20 (ه), and a `CIDToGIDMap` of `/Identity`.
    fn document() -> (Document, ObjectId, ObjectId) {
        let mut doc = Document::with_version("1.7");
        let mut cmap = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        let mut pairs = vec![(4u16, "0020"), (5, "0020"), (0x20, "0647"), (6, "200F")];
        for c in 7..0x20 {
            pairs.push((c, "0627"));
        }
        cmap.push_str(&format!("{} beginbfchar\n", pairs.len()));
        for (c, u) in &pairs {
            cmap.push_str(&format!("<{c:04X}> <{u}>\n"));
        }
        cmap.push_str("endbfchar\nendcmap\n");
        let tu = doc.add_object(Stream::new(Dictionary::new(), cmap.into_bytes()));
        let desc = doc.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "CIDFontType2",
            "W" => vec![4.into(), 4.into(), 240.into(), 5.into(), 5.into(), 300.into(), 32.into(), 32.into(), 400.into()],
            "CIDToGIDMap" => "Identity",
        });
        doc.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "Type0",
            "BaseFont" => "ABCDEF+PublishTextLayer",
            "ToUnicode" => tu,
            "DescendantFonts" => vec![desc.into()],
        });
        (doc, tu, desc)
    }

    #[test]
    fn the_space_between_words_gets_code_32_and_its_glyph() {
        let (mut doc, tu, desc) = document();
        let fonts = renumber(&mut doc);
        let (_, glyphs) = &fonts[&tu];
        // The space a quarter em wide is the one between words; both spaces are spaces.
        assert_eq!(glyphs.space, Some([0, 4]));
        assert!(glyphs.is_any_space(&[0, 5]) && glyphs.is_any_space(&[0, 4]));
        assert!(glyphs.is_format(&[0, 6]));
        assert_eq!(glyphs.code(&[0, 4]), SPACE_CODE);
        assert_eq!(glyphs.code(&[0, 0x20]), [0, 4]);
        assert_eq!(glyphs.code(&[0, 7]), [0, 7]);
        // The font now maps code 32 to a space drawn with glyph 4, and code 4 to ه.
        let cmap = doc
            .get_object(tu)
            .and_then(Object::as_stream)
            .and_then(Stream::decompressed_content)
            .unwrap();
        let (pairs, _) = bfchars(&String::from_utf8_lossy(&cmap));
        let map: HashMap<u16, String> = pairs.into_iter().collect();
        assert_eq!(map[&0x20], "0020");
        assert_eq!(map[&4], "0647");
        assert_eq!(map[&5], "0020");
        let d = doc.get_dictionary(desc).unwrap();
        let w = widths(d.get(b"W").unwrap().as_array().unwrap());
        assert_eq!((w[&0x20], w[&4], w[&5]), (240.0, 400.0, 300.0));
        let map = d.get(b"CIDToGIDMap").unwrap().as_reference().unwrap();
        let gids = doc
            .get_object(map)
            .and_then(Object::as_stream)
            .and_then(Stream::decompressed_content)
            .unwrap();
        let gid = |c: usize| u16::from_be_bytes([gids[2 * c], gids[2 * c + 1]]);
        assert_eq!((gid(0x20), gid(4), gid(5), gid(7)), (4, 0x20, 5, 7));
    }

    #[test]
    fn a_font_with_two_spaces_between_words_is_left_as_it_is() {
        let (mut doc, tu, desc) = document();
        // Code 5 a quarter em wide too: which space is the one between words is not clear.
        doc.get_dictionary_mut(desc).unwrap().set(
            "W",
            vec![
                4.into(),
                5.into(),
                240.into(),
                32.into(),
                32.into(),
                400.into(),
            ],
        );
        let fonts = renumber(&mut doc);
        assert_eq!(fonts[&tu].1.space, None);
        let d = doc.get_dictionary(desc).unwrap();
        assert_eq!(
            d.get(b"CIDToGIDMap").unwrap().as_name().unwrap(),
            b"Identity"
        );
    }

    /// Letters (code 7, half an em wide) and spaces (code 4) right to left, in 10 pt text:
    /// `words` letters a word from `right` leftwards, a space a quarter em between words.
    fn line(words: &[usize], right: f64) -> Vec<(f64, [u8; 2])> {
        let mut out = Vec::new();
        let mut x = right;
        for (k, n) in words.iter().enumerate() {
            if k > 0 {
                x -= 2.4;
                out.push((x, [0, 4]));
            }
            for _ in 0..*n {
                x -= 5.0;
                out.push((x, [0, 7]));
            }
        }
        out
    }

    fn font() -> Glyphs {
        Glyphs {
            widths: [([0, 4], 240.0), ([0, 7], 500.0)].into_iter().collect(),
            format: FxHashSet::default(),
            spaces: [[0, 4]].into_iter().collect(),
            space: Some([0, 4]),
        }
    }

    /// The layer glyphs of `at` (origins, codes) with krilla's adjustments from a text matrix at 0.
    fn glyphs<'a>(at: &'a [(f64, [u8; 2])], font: &Glyphs) -> Vec<Glyph<'a>> {
        let mut pen = 0.0;
        at.iter()
            .map(|(x, g)| {
                let adjust = (pen - x) * 100.0;
                pen = x + font.width(g, 10.0);
                Glyph {
                    g,
                    class: if g == &[0, 4] {
                        Class::Space
                    } else {
                        Class::Other
                    },
                    adjust,
                    joined: false,
                    split: true,
                }
            })
            .collect()
    }

    /// A right-to-left text object of `glyphs` in 10 pt text at `frame`, its matrix at 0.
    fn rtl<'a>(frame: Option<Frame>, glyphs: &'a [Glyph<'a>]) -> Text<'a> {
        Text {
            frame,
            x0: 0.0,
            size: 10.0,
            glyphs,
            incoming: None,
            drop_last: false,
            allow: true,
            continues: false,
        }
    }

    /// Where pdf.js sees each glyph start (page x) with `plan` applied, and each word's first
    /// letter's distance from where the last word ended (em).
    fn read(at: &[(f64, [u8; 2])], plan: &Plan, frame: Frame) -> (Vec<f64>, Vec<f64>) {
        let f = font();
        let g = glyphs(at, &f);
        let (mut pen, mut line, mut tw) = (0.0, 0.0, 0.0);
        let (mut origins, mut jumps) = (Vec::new(), Vec::new());
        let mut prev: Option<f64> = None;
        let mut after_space = false;
        for (k, gl) in g.iter().enumerate() {
            if let Some(t) = plan.tw[k] {
                tw = t;
            }
            if let Some(dx) = plan.td[k] {
                line += dx;
                pen = line;
            }
            pen -= gl.adjust * 10.0 / 1000.0;
            let w = f.width(gl.g, 10.0);
            if gl.class == Class::Space {
                pen += w + tw;
                after_space = true;
                continue;
            }
            origins.push(frame.x + pen);
            if after_space && let Some(p) = prev {
                jumps.push((pen - p) / 10.0);
            }
            after_space = false;
            pen += w;
            prev = Some(pen);
        }
        (origins, jumps)
    }

    #[test]
    fn each_word_starts_right_of_the_last_for_pdf_js_and_stays_on_the_page() {
        let f = font();
        // Short words from 4 em inside the page's right edge: each moves pdf.js's reading of the
        // line a little further right, so the shift must end now and then.
        let at = line(&[2, 2, 3, 2, 2, 2, 4, 2, 2, 2, 2, 3, 2, 2], 0.0);
        let frame = Frame {
            x: 300.0,
            y: 500.0,
            right: 340.0,
        };
        let g = glyphs(&at, &f);
        let mut reader = Reader::default();
        let plan = plan(&rtl(Some(frame), &g), &f, &mut reader);
        let (origins, jumps) = read(&at, &plan, frame);
        assert!(plan.tw.iter().flatten().count() >= 1, "{plan:?}");
        assert!(plan.td.iter().flatten().count() >= 1, "{plan:?}");
        assert_eq!(jumps.len(), 13);
        for j in &jumps {
            assert!(*j > 0.6, "a word {j} em from the last: {plan:?}");
        }
        for (o, (_, g)) in origins.iter().zip(at.iter().filter(|(_, g)| g != &[0, 4])) {
            assert!(
                o + f.width(g, 10.0) <= frame.right,
                "{o} past the page: {plan:?}"
            );
        }
        // The reader knows where the last glyph ended, for the next object on the line.
        assert!(reader.prev.is_some());
    }

    #[test]
    fn no_word_spacing_where_the_word_would_leave_the_page_or_the_frame_is_unknown() {
        let f = font();
        let at = line(&[2, 2], 0.0);
        let g = glyphs(&at, &f);
        // The second word would need to move 2 em right, past the page edge half an em away.
        let frame = Frame {
            x: 300.0,
            y: 500.0,
            right: 305.0,
        };
        let plan = plan(&rtl(Some(frame), &g), &f, &mut Reader::default());
        assert!(plan.tw.iter().all(Option::is_none), "{plan:?}");
        let mut reader = Reader {
            prev: Some((1.0, 2.0)),
        };
        let plan = super::plan(&rtl(None, &g), &f, &mut reader);
        assert!(plan.tw.iter().all(Option::is_none) && reader.prev.is_none());
    }
}
