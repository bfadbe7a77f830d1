//! The site's fonts: only the faces its pages use, as WOFF2 made from the theme's files.
//!
//! Browsers fetch a face when text on the page needs it, but every face the style sheet names
//! is a file the site must carry: the default theme's seven TrueType files are 2.2 MB, of which
//! a page of Arabic text loads 0.8 MB. The site keeps the faces the EPUB would embed (the same
//! rules: italic only for emphasis, a fallback family only for characters the families before
//! it lack, the code family only for code) and serves TrueType and OpenType faces as WOFF2
//! (Brotli-compressed, about 60 % of the TrueType bytes with the null glyf transform, which
//! every browser's decoder accepts). The theme's `@font-face` rules are kept with their
//! descriptors (`font-display`, `unicode-range`), pointed at the WOFF2 files; the rules of
//! faces left out are dropped, so no rule names a missing file.

use super::super::fonts::{self, Font};
use crate::Context;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

/// The fonts of the site: the files to write and how the style sheets name them.
pub(super) struct SiteFonts {
    /// `(path in the site, bytes)`, in the theme's order.
    pub files: Vec<(String, Vec<u8>)>,
    /// Theme path of each face served → its path in the site.
    urls: BTreeMap<String, String>,
    /// Theme paths of the faces left out.
    dropped: BTreeSet<String>,
    /// File name prefixes (`Amiri`) of the families served, for their licences.
    families: BTreeSet<String>,
    /// `@font-face` rules for the faces served that no theme style sheet declares.
    extra_rules: Vec<(String, String)>,
}

/// The faces the site needs for its text: the parts, plus `generated` (the text `publish` and
/// the theme's scripts write around them), converted to WOFF2.
pub(super) fn site_fonts(ctx: &Context, generated: &[&str]) -> SiteFonts {
    // The EPUB writer reports theme fonts it cannot use; the site copies those as they are.
    let mut ignored = Vec::new();
    let kept = fonts::embedded(ctx, &fonts::Text { generated }, &mut ignored);
    let kept_paths: BTreeSet<&str> = kept.iter().map(|f| f.path).collect();
    let known: BTreeSet<&str> = fonts::all(ctx).into_iter().map(|f| f.path).collect();
    let mut files = Vec::new();
    let mut urls = BTreeMap::new();
    let mut extra_rules = Vec::new();
    // Encoding is the slow part (a second or so a face): the faces in parallel.
    let encoded: Vec<(Font<'_>, Option<Arc<Vec<u8>>>)> = {
        use rayon::prelude::*;
        let woff2: Vec<Option<Arc<Vec<u8>>>> = kept.par_iter().map(to_woff2).collect();
        kept.into_iter().zip(woff2).collect()
    };
    for (f, woff2) in encoded {
        let (href, bytes) = match woff2 {
            Some(b) => (with_extension(&f.href, "woff2"), b.as_ref().clone()),
            None => (f.href.clone(), f.bytes.to_vec()),
        };
        extra_rules.push((f.path.to_owned(), face_rule(&f, &href)));
        urls.insert(f.path.to_owned(), href.clone());
        files.push((href, bytes));
    }
    // Files the font rules above do not know (a collection, say) go as they are.
    let mut dropped = BTreeSet::new();
    for (path, bytes) in ctx.theme.fonts() {
        if !known.contains(path) {
            urls.insert(path.to_owned(), path.to_owned());
            files.push((path.to_owned(), bytes.to_vec()));
        } else if !kept_paths.contains(path) {
            dropped.insert(path.to_owned());
        }
    }
    let families = urls.keys().map(|p| file_family(p).to_owned()).collect();
    SiteFonts {
        files,
        urls,
        dropped,
        families,
        extra_rules,
    }
}

impl SiteFonts {
    /// A theme style sheet for the site: each `@font-face` rule pointed at the file the site
    /// serves, or dropped when its face is left out. Marks the faces it declares.
    pub fn rewrite_css(&mut self, css: &str) -> String {
        let mut out = String::with_capacity(css.len());
        let mut depth = 0usize;
        let mut i = 0;
        while let Some(c) = css[i..].chars().next() {
            let rest = &css[i..];
            if let Some(end) = fonts::skip_comment_or_string(css, i) {
                out.push_str(&css[i..end]);
                i = end;
                continue;
            }
            if depth == 0
                && rest
                    .get(..10)
                    .is_some_and(|h| h.eq_ignore_ascii_case("@font-face"))
            {
                let mut end = fonts::rule_end(css, i);
                let rule = self.face(&css[i..end]);
                if rule.is_empty() {
                    // No blank lines where rules were.
                    end += css[end..].len() - css[end..].trim_start().len();
                }
                out.push_str(&rule);
                i = end;
                continue;
            }
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            out.push(c);
            i += c.len_utf8();
        }
        out
    }

    /// Whether the site carries `path`, another file of the theme's fonts folder: a licence
    /// named after a family (`OFL-NotoSansMono.txt`) only with that family's faces.
    pub fn keeps_other_file(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
        let named = |fam: &str| !fam.is_empty() && stem.ends_with(fam);
        let of_left_out = self.dropped.iter().any(|p| named(file_family(p)));
        !of_left_out || self.families.iter().any(|f| named(f))
    }

    /// Rules for the faces served that no style sheet passed to `rewrite_css` declared (each
    /// face declared by the theme is taken off the list as its rule is rewritten).
    pub fn undeclared_rules(&self) -> String {
        self.extra_rules.iter().map(|(_, r)| r.as_str()).collect()
    }

    /// One `@font-face` rule as the site serves it.
    fn face(&mut self, rule: &str) -> String {
        let mut out = String::with_capacity(rule.len());
        let mut rest = rule;
        let mut served = false;
        let mut left_out = false;
        while let Some(k) = find_ascii_ci(rest, "url(") {
            out.push_str(&rest[..k + 4]);
            rest = &rest[k + 4..];
            let close = url_end(rest);
            let raw = &rest[..close];
            let target = raw.trim().trim_matches(['"', '\'']);
            let target = target.strip_prefix("./").unwrap_or(target);
            if let Some(href) = self.urls.get(target) {
                served = true;
                self.extra_rules.retain(|(p, _)| p != target);
                if href != target {
                    out.push_str(&format!("\"{href}\""));
                    rest = &rest[close..];
                    // `format("truetype")` after a URL that is now WOFF2.
                    let next_url = find_ascii_ci(rest, "url(").unwrap_or(rest.len());
                    if let Some(f) = find_ascii_ci(&rest[..next_url], "format(") {
                        let end = rest[f..].find(')').map_or(next_url, |e| f + e + 1);
                        if end <= next_url {
                            out.push_str(&rest[..f]);
                            out.push_str("format(\"woff2\")");
                            rest = &rest[end..];
                        }
                    }
                    continue;
                }
            } else if self.dropped.contains(target) {
                left_out = true;
            }
            out.push_str(raw);
            rest = &rest[close..];
        }
        out.push_str(rest);
        if left_out && !served {
            String::new()
        } else {
            out
        }
    }
}

/// The `@font-face` rule `publish` writes for a face no theme style sheet declares.
fn face_rule(f: &Font<'_>, href: &str) -> String {
    let format = match href.rsplit('.').next() {
        Some("woff2") => "woff2",
        Some("woff") => "woff",
        Some("otf") => "opentype",
        _ => "truetype",
    };
    let family: String = f
        .family
        .chars()
        .filter(|c| !matches!(c, '"' | '\\') && !c.is_control())
        .collect();
    format!(
        "@font-face {{ font-family: \"{family}\"; src: url(\"{href}\") format(\"{format}\"); font-weight: {}; font-style: {}; font-display: swap; }}\n",
        if f.bold { "bold" } else { "normal" },
        if f.italic { "italic" } else { "normal" },
    )
}

/// A TrueType or OpenType face as WOFF2 (`None` for a face already compressed or one the
/// encoder refuses: it is served as it is). Encoded once per distinct file in a process, so
/// `watch` and `serve` rebuild without encoding again.
fn to_woff2(f: &Font<'_>) -> Option<Arc<Vec<u8>>> {
    if !matches!(f.media_type, "font/ttf" | "font/otf") {
        return None;
    }
    static CACHE: OnceLock<Mutex<Encoded>> = OnceLock::new();
    let key = Sha256::digest(f.bytes).to_vec();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok()?.get(&key) {
        return Some(hit.clone());
    }
    let options = ttf2woff2::EncodeOptions {
        quality: ttf2woff2::BrotliQuality::from(QUALITY),
        // The null transform: Chromium's decoder rejects some transformed glyf tables
        // (ttf2woff2 leaves the transform off by default for that reason).
        transform_glyf_loca: false,
        // One thread: the Brotli stream is then the same bytes on every machine.
        threads: None,
    };
    let bytes = Arc::new(ttf2woff2::encode_with_options(f.bytes, options).ok()?);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, bytes.clone());
    }
    Some(bytes)
}

/// WOFF2 files made in this process, by the SHA-256 of their source.
type Encoded = HashMap<Vec<u8>, Arc<Vec<u8>>>;

/// Brotli quality of the WOFF2 files: 9. Measured on the default theme's faces: quality 11
/// makes files 10 % smaller (Amiri Regular 160 KB instead of 178 KB) but takes ten times the
/// time (5.3 s of CPU for six faces instead of 0.5 s; the seed book's site went from 0.1 s to
/// 1.7 s): every cold build of the site would pay a second and more for 18 KB a face that a
/// reader downloads once. `watch`/`serve` encode each face once per process either way.
const QUALITY: u8 = 9;

/// The family part of a font file name: `Amiri` for `fonts/Amiri-Bold.ttf`.
fn file_family(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    stem.split_once('-').map_or(stem, |(f, _)| f)
}

fn with_extension(href: &str, ext: &str) -> String {
    match href.rsplit_once('.') {
        Some((stem, _)) => format!("{stem}.{ext}"),
        None => format!("{href}.{ext}"),
    }
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Where the argument of `url(` ends (before its `)`), quotes respected.
fn url_end(s: &str) -> usize {
    let t = s.trim_start();
    let lead = s.len() - t.len();
    match t.chars().next() {
        Some('"' | '\'') => {
            let end = fonts::skip_comment_or_string(t, 0).unwrap_or(t.len());
            let after = &t[end..];
            lead + end + after.find(')').map_or(after.len(), |e| e)
        }
        _ => s.find(')').unwrap_or(s.len()),
    }
    .min(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fonts() -> SiteFonts {
        SiteFonts {
            files: Vec::new(),
            urls: [(
                "fonts/A-Regular.ttf".to_owned(),
                "fonts/A-Regular.woff2".to_owned(),
            )]
            .into_iter()
            .collect(),
            dropped: [
                "fonts/A-Bold.ttf".to_owned(),
                "fonts/B-Regular.ttf".to_owned(),
            ]
            .into_iter()
            .collect(),
            families: ["A".to_owned()].into_iter().collect(),
            extra_rules: vec![("fonts/A-Regular.ttf".into(), "@font-face{}\n".into())],
        }
    }

    #[test]
    fn rules_point_at_woff2_and_faces_left_out_go() {
        let css = "/* @font-face { src: url(fonts/A-Bold.ttf) } */\n@font-face {\n  font-family: \"A\";\n  src: url(\"fonts/A-Regular.ttf\") format(\"truetype\");\n  unicode-range: U+0600-06FF;\n}\n@font-face { font-family: \"A\"; src: url('./fonts/A-Bold.ttf') format('truetype'); font-weight: bold; }\nbody { font-family: \"A\"; }\n";
        let mut f = fonts();
        let out = f.rewrite_css(css);
        assert_eq!(
            out,
            "/* @font-face { src: url(fonts/A-Bold.ttf) } */\n@font-face {\n  font-family: \"A\";\n  src: url(\"fonts/A-Regular.woff2\") format(\"woff2\");\n  unicode-range: U+0600-06FF;\n}\nbody { font-family: \"A\"; }\n"
        );
        assert_eq!(f.undeclared_rules(), "", "the regular face is declared");
    }

    #[test]
    fn licences_go_with_their_family() {
        let f = fonts();
        assert!(f.keeps_other_file("fonts/OFL-A.txt"));
        assert!(!f.keeps_other_file("fonts/OFL-B.txt"));
        assert!(f.keeps_other_file("fonts/README.txt"));
    }

    #[test]
    fn a_face_no_rule_declares_gets_one() {
        let mut f = fonts();
        let _ = f.rewrite_css("body { color: red; }");
        assert_eq!(f.undeclared_rules(), "@font-face{}\n");
    }
}
