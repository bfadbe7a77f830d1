//! Acceptance tests of issue 16: mixed-script text reads right in all three editions.
//!
//! The corpus (`fixtures/bidi/corpus.tsv`) holds mixed sentences with the direction of their
//! block and the Latin runs publish isolates, each isolation with its reason. The order a reader
//! expects is fribidi's UBA order of the sentence with those runs isolated; the HTML and EPUB
//! (character boxes from Chromium) and the PDF (character boxes from `mutool draw -F stext`)
//! must show exactly that order. Orders are compared unit by unit: a word (letters of one
//! direction between spaces; the order of letters inside it is shaping's business) or a single
//! other character (digit, punctuation, symbol), marks and invisible controls left out.

mod common;

use common::*;
use publish::bidi;
use publish::model::{Dir, Lang};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A paragraph's text and its characters with their horizontal positions (none for those
/// without a box).
type PageChars = Vec<(String, Vec<(String, Option<f64>)>)>;

struct Case {
    line: usize,
    dir: Dir,
    text: String,
    isolate: Vec<String>,
    reason: String,
}

fn corpus() -> Vec<Case> {
    let path = fixture("bidi").join("corpus.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.starts_with('#') || l.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = l.split('\t').collect();
        assert_eq!(cols.len(), 4, "corpus.tsv:{}: four columns", i + 1);
        out.push(Case {
            line: i + 1,
            dir: if cols[0] == "ltr" { Dir::Ltr } else { Dir::Rtl },
            text: cols[1].to_owned(),
            isolate: cols[2]
                .split(" ¦ ")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            reason: cols[3].to_owned(),
        });
    }
    out
}

/// The direction a writer sets the sentence in, as a paragraph of an Arabic part.
fn block_dir(text: &str) -> Dir {
    bidi::block_voice(text, &Lang("ar".into())).map_or(Dir::Rtl, |v| v.1)
}

#[test]
fn isolations_are_exactly_the_named_exceptions() {
    let cases = corpus();
    assert!(cases.len() >= 40, "at least 40 sentences");
    for c in &cases {
        assert_eq!(
            block_dir(&c.text),
            c.dir,
            "direction, corpus.tsv:{}",
            c.line
        );
        let got: Vec<&str> = bidi::isolates(&c.text, c.dir)
            .into_iter()
            .map(|r| &c.text[r])
            .collect();
        assert_eq!(got, c.isolate, "isolated runs, corpus.tsv:{}", c.line);
        assert_eq!(
            c.isolate.is_empty(),
            c.reason.is_empty(),
            "every isolation has a reason, corpus.tsv:{}",
            c.line
        );
    }
}

/// Marks, joiners and bidi controls: no place of their own in the visual order.
fn ignorable(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0591..=0x05C7 | 0x0610..=0x061A | 0x064B..=0x065F | 0x0670
        | 0x06D6..=0x06ED | 0x08D3..=0x08FF | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x2069 | 0xFEFF)
}

/// Bidi-mirrored pairs count as one character: a PDF text layer may name a mirrored glyph by
/// its mirror image. Their *place* is what is compared.
fn unmirror(c: char) -> char {
    match c {
        ')' => '(',
        ']' => '[',
        '}' => '{',
        '>' => '<',
        '»' => '«',
        '›' => '‹',
        '﴿' => '﴾',
        c => c,
    }
}

/// Visual characters (left to right, spaces included) → units (see the module doc). A
/// right-to-left word is a unit named by its script (`‹ar›`, `‹he›`): the letters inside it
/// are shaping's business, and a PDF text layer names ligatures and mark clusters in ways
/// that have nothing to do with order. A Latin word is named by its letters.
fn units(visual: impl IntoIterator<Item = char>) -> Vec<String> {
    let mut out = Vec::new();
    let mut word: Vec<char> = Vec::new();
    let flush = |word: &mut Vec<char>, out: &mut Vec<String>| {
        if let Some(&c) = word.first() {
            if bidi::is_rtl_char(c) {
                let he = ('\u{0590}'..='\u{05FF}').contains(&c)
                    || ('\u{FB1D}'..='\u{FB4F}').contains(&c);
                out.push(if he { "‹he›" } else { "‹ar›" }.to_owned());
            } else {
                word.sort_unstable();
                word.dedup();
                out.push(word.iter().collect());
            }
            word.clear();
        }
    };
    for c in visual {
        if ignorable(c) {
            continue;
        }
        if c.is_whitespace() {
            flush(&mut word, &mut out);
        } else if c.is_alphabetic() && !c.is_numeric() {
            if word
                .first()
                .is_some_and(|&w| bidi::is_rtl_char(w) != bidi::is_rtl_char(c))
            {
                flush(&mut word, &mut out);
            }
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(unmirror(c).to_string());
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Which sentence a line shows: its units, sorted.
fn key(text: impl IntoIterator<Item = char>) -> Vec<String> {
    let mut u = units(text);
    u.sort();
    u
}

/// The expected visual units of each case: fribidi's visual-to-logical map of the sentence
/// with its named runs isolated (LRI … PDI), in the block's direction.
fn expected(cases: &[Case]) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new(); cases.len()];
    for dir in [Dir::Rtl, Dir::Ltr] {
        let idx: Vec<usize> = (0..cases.len()).filter(|&i| cases[i].dir == dir).collect();
        let mut input = String::new();
        let mut texts = Vec::new();
        for &i in &idx {
            let c = &cases[i];
            let mut t = c.text.clone();
            // Insert from the last run back, so earlier byte offsets stay valid.
            for r in bidi::isolates(&c.text, dir).into_iter().rev() {
                t.insert(r.end, '\u{2069}');
                t.insert(r.start, '\u{2066}');
            }
            input.push_str(&t);
            input.push('\n');
            texts.push(t);
        }
        let flag = if dir == Dir::Rtl { "--rtl" } else { "--ltr" };
        let mut child = Command::new("fribidi")
            .args([flag, "--nopad", "--nobreak", "--vtol", "--novisual"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("fribidi runs");
        {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        let res = child.wait_with_output().unwrap();
        let stdout = String::from_utf8(res.stdout).unwrap();
        let maps: Vec<&str> = stdout.lines().collect();
        assert_eq!(maps.len(), texts.len(), "one map per sentence from fribidi");
        for ((&i, t), map) in idx.iter().zip(&texts).zip(maps) {
            let chars: Vec<char> = t.chars().collect();
            out[i] = units(
                map.split_whitespace()
                    .map(|n| chars[n.parse::<usize>().unwrap()]),
            );
        }
    }
    out
}

/// Characters of each paragraph of `files` with the horizontal centre of their box, from
/// headless Chromium (each paragraph kept on one line).
fn chromium_chars(files: &[PathBuf]) -> Vec<(String, Vec<(char, f64)>)> {
    let module = npm_module("puppeteer-core").expect("puppeteer-core installed");
    let script = r#"
const puppeteer = require(process.argv[1]);
const files = JSON.parse(process.argv[2]);
(async () => {
  const browser = await puppeteer.launch({
    executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const out = [];
  for (const f of files) {
    const page = await browser.newPage();
    await page.setViewport({ width: 4000, height: 1000 });
    await page.goto("file://" + f, { waitUntil: "load" });
    await page.evaluate(() => document.fonts.ready);
    out.push(...await page.evaluate(() => {
      const s = document.createElement("style");
      s.textContent = "p { white-space: nowrap !important; } * { max-width: none !important; }";
      document.head.appendChild(s);
      const res = [];
      for (const p of document.querySelectorAll("p")) {
        const chars = [];
        const walk = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
        let n;
        while ((n = walk.nextNode())) {
          const cps = Array.from(n.data);
          let off = 0;
          for (const ch of cps) {
            const r = document.createRange();
            r.setStart(n, off);
            r.setEnd(n, off + ch.length);
            off += ch.length;
            const b = r.getBoundingClientRect();
            chars.push([ch, b.width > 0 || /\s/.test(ch) ? b.left + b.width / 2 : null]);
          }
        }
        res.push([p.textContent, chars]);
      }
      return res;
    }));
    await page.close();
  }
  await browser.close();
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
"#;
    let list: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let out = Command::new("node")
        .args(["-e", script])
        .arg(module)
        .arg(serde_json::to_string(&list).unwrap())
        .env("PUPPETEER_EXECUTABLE_PATH", "/usr/bin/chromium")
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "puppeteer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: PageChars = serde_json::from_slice(&out.stdout).expect("JSON from the page script");
    v.into_iter()
        .map(|(text, chars)| {
            let chars = chars
                .into_iter()
                .filter_map(|(c, x)| Some((c.chars().next()?, x?)))
                .collect();
            (text, chars)
        })
        .collect()
}

/// Sort characters by their box and cut them into units.
fn visual_units(mut chars: Vec<(char, f64)>) -> Vec<String> {
    chars.sort_by(|a, b| a.1.total_cmp(&b.1));
    units(chars.into_iter().map(|c| c.0))
}

/// Rows of characters of every page of `pdf`, from `mutool draw -F stext`: characters whose
/// baselines agree are one row, with the horizontal centre of each character's box.
fn pdf_rows(pdf: &Path) -> Vec<Vec<(char, f64)>> {
    let out = Command::new("mutool")
        .args(["draw", "-q", "-F", "stext", "-o", "-"])
        .arg(pdf)
        .output()
        .expect("mutool runs");
    assert!(out.status.success(), "mutool draw failed");
    let xml = String::from_utf8_lossy(&out.stdout);
    let mut rows: Vec<Vec<(char, f64)>> = Vec::new();
    for page in xml.split("<page ").skip(1) {
        let mut by_y: BTreeMap<i64, Vec<(char, f64)>> = BTreeMap::new();
        for tag in page.split("<char ").skip(1) {
            let tag = format!(" {tag}");
            let attr = |name: &str| -> Option<&str> {
                let pat = format!(" {name}=\"");
                let start = tag.find(&pat)? + pat.len();
                let end = start + tag[start..].find('"')?;
                Some(&tag[start..end])
            };
            let (Some(quad), Some(y), Some(c)) = (attr("quad"), attr("y"), attr("c")) else {
                continue;
            };
            let q: Vec<f64> = quad
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            if q.len() != 8 {
                continue;
            }
            let x = (q[0] + q[2] + q[4] + q[6]) / 4.0;
            let y: f64 = y.parse().unwrap_or(0.0);
            let Some(ch) = unescape(c) else { continue };
            by_y.entry((y * 2.0).round() as i64)
                .or_default()
                .push((ch, x));
        }
        rows.extend(by_y.into_values());
    }
    rows
}

fn unescape(c: &str) -> Option<char> {
    match c {
        "&lt;" => Some('<'),
        "&gt;" => Some('>'),
        "&amp;" => Some('&'),
        "&quot;" => Some('"'),
        "&apos;" => Some('\''),
        s if s.starts_with("&#x") => char::from_u32(
            u32::from_str_radix(s.trim_start_matches("&#x").trim_end_matches(';'), 16).ok()?,
        ),
        s => s.chars().next(),
    }
}

/// A book of one Markdown part with every corpus sentence as a paragraph, on pages wide
/// enough that no sentence wraps.
fn corpus_book(cases: &[Case]) -> tempfile::TempDir {
    corpus_book_with(cases, "", "all")
}

/// [`corpus_book`] with more `[pdf]` settings, built in `formats`.
fn corpus_book_with(cases: &[Case], pdf: &str, formats: &str) -> tempfile::TempDir {
    let mut md = String::from("---\ntitle: مدونة الاتجاهات\npart: 1\nlang: ar\n---\n\n");
    for c in cases {
        md.push_str(&c.text);
        md.push_str("\n\n");
    }
    let book = book_with(&[("part-1.md", md.as_bytes())]);
    std::fs::write(
        book.path().join("publish.toml"),
        format!("[pdf]\npaper = \"custom\"\nwidth = \"600mm\"\nheight = \"300mm\"\n{pdf}\n[html]\nsearch = false\n"),
    )
    .unwrap();
    publish()
        .args(["--format", formats, "--book"])
        .arg(book.path())
        .assert()
        .success();
    book
}

/// How many cases a format shows in the expected order; prints every mismatch.
fn score(
    format: &str,
    cases: &[Case],
    want: &[Vec<String>],
    found: &BTreeMap<Vec<String>, Vec<String>>,
) -> usize {
    let mut pass = 0;
    for (c, w) in cases.iter().zip(want) {
        match found.get(&key(c.text.chars())) {
            Some(got) if got == w => pass += 1,
            Some(got) => eprintln!(
                "{format} corpus.tsv:{} «{}»\n  want {w:?}\n  got  {got:?}",
                c.line, c.text
            ),
            None => eprintln!(
                "{format} corpus.tsv:{}: sentence not found on one line",
                c.line
            ),
        }
    }
    println!(
        "{format}: {pass}/{} sentences in the expected order",
        cases.len()
    );
    pass
}

/// How many sentences of the corpus `pdftotext` gives back in logical order (whitespace and
/// bidi controls aside): all but the five English notes, which poppler reads right to left on
/// an Arabic page, and two Latin phrases that end a sentence (see the README).
const POPPLER_IN_ORDER: usize = 47;

#[test]
fn visual_order_is_the_uba_order_in_every_format() {
    let tools = require_tool("fribidi", &["--version"], "apt-get install libfribidi-bin")
        && require_tool("mutool", &["-v"], "apt-get install mupdf-tools")
        && require_tool("node", &["--version"], "apt-get install nodejs")
        && require_tool("chromium", &["--version"], "apt-get install chromium")
        && require_found(
            "puppeteer-core",
            npm_module("puppeteer-core").is_some(),
            "scripts/install-test-tools",
        );
    if !tools {
        return;
    }
    let cases = corpus();
    let want = expected(&cases);
    let book = corpus_book(&cases);
    let out = book.path().join("output");

    // HTML and EPUB: paragraphs in Chromium.
    let epub_dir = book.path().join("epub-unzipped");
    unzip(&out.join("book.epub"), &epub_dir);
    let mut results = Vec::new();
    for (format, files) in [
        ("html", vec![out.join("html").join("part-1.html")]),
        ("epub", xhtml_files(&epub_dir)),
    ] {
        let mut found = BTreeMap::new();
        for (text, chars) in chromium_chars(&files) {
            found.insert(key(text.chars()), visual_units(chars));
        }
        results.push((format, score(format, &cases, &want, &found)));
    }

    // PDF: rows of character boxes of what the page shows. The logical text layer places its
    // boxes for the extractors (it stretches some, and adds marks for poppler), so the order is read
    // from typst's own text (`text-layer = "native"`), which the archival PDF draws the same.
    let native = corpus_book_with(&cases, "text-layer = \"native\"\n", "pdf");
    let native_pdf = native.path().join("output").join("book.pdf");
    if require_tool("pdftoppm", &["-v"], "apt-get install poppler-utils") {
        let (share, beyond) = render_difference(&out.join("book.pdf"), &native_pdf);
        eprintln!(
            "archival against native render: {share:.5} of pixels differ, {beyond:.6} beyond anti-aliasing"
        );
        assert!(
            beyond <= 0.005,
            "the archival PDF draws what the native one does"
        );
    }
    let mut found = BTreeMap::new();
    for row in pdf_rows(&native_pdf) {
        found.insert(key(row.iter().map(|c| c.0)), visual_units(row));
    }
    results.push(("pdf", score("pdf", &cases, &want, &found)));

    // The archival PDF's text layer in content order (MuPDF 1.21 does no bidi of its own):
    // every sentence in logical order, marks included, whatever the direction of its
    // paragraph (spaces and bidi controls aside: MuPDF breaks lines at a Latin run's LRMs).
    let text = run_tool(
        "mutool",
        &[
            "draw",
            "-q",
            "-F",
            "text",
            "-o",
            "-",
            out.join("book.pdf").to_str().unwrap(),
        ],
    );
    let bare = |t: &str| -> String {
        t.chars()
            .filter(|c| {
                !c.is_whitespace()
                    && !matches!(*c as u32, 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2069)
            })
            .collect()
    };
    let layer = bare(&text);
    let mut in_order = 0;
    for c in &cases {
        if layer.contains(&bare(&c.text)) {
            in_order += 1;
        } else {
            eprintln!(
                "pdf text layer corpus.tsv:{}: «{}» not in logical order",
                c.line, c.text
            );
        }
    }
    println!(
        "pdf text layer: {in_order}/{} sentences in logical order",
        cases.len()
    );
    results.push(("pdf text layer", in_order));

    // poppler reorders each line itself, with one direction for the whole page: it reads the
    // English notes of an Arabic page right to left (see POPPLER_IN_ORDER).
    if require_tool("pdftotext", &["-v"], "apt-get install poppler-utils") {
        let text = run_tool(
            "pdftotext",
            &["-enc", "UTF-8", out.join("book.pdf").to_str().unwrap(), "-"],
        );
        let layer = bare(&text);
        let poppler = cases
            .iter()
            .filter(|c| {
                let ok = layer.contains(&bare(&c.text));
                if !ok {
                    eprintln!(
                        "pdftotext corpus.tsv:{}: «{}» not in logical order",
                        c.line, c.text
                    );
                }
                ok
            })
            .count();
        println!(
            "pdftotext: {poppler}/{} sentences in logical order",
            cases.len()
        );
        assert!(
            poppler >= POPPLER_IN_ORDER,
            "pdftotext: {poppler} sentences in order"
        );
    }

    for (format, pass) in results {
        assert_eq!(
            pass,
            cases.len(),
            "{format}: every sentence in the expected order"
        );
    }
}

fn xhtml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "xhtml")
                && std::fs::read_to_string(&p).is_ok_and(|s| s.contains("<p "))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// axe-core's language rules on `files` in headless Chromium: the violations, as text.
fn axe_lang_violations(files: &[PathBuf]) -> Vec<String> {
    let puppeteer = npm_module("puppeteer-core").expect("puppeteer-core installed");
    let axe = npm_module("axe-core").expect("axe-core installed");
    let script = r#"
const puppeteer = require(process.argv[1]);
const axePath = require("path").join(process.argv[2], "axe.min.js");
const files = JSON.parse(process.argv[3]);
(async () => {
  const browser = await puppeteer.launch({
    executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const out = [];
  for (const f of files) {
    const page = await browser.newPage();
    await page.goto("file://" + f, { waitUntil: "load" });
    await page.addScriptTag({ path: axePath });
    const r = await page.evaluate(() => axe.run(document, {
      runOnly: ["valid-lang", "html-has-lang", "html-lang-valid", "html-xml-lang-mismatch"],
    }));
    for (const v of r.violations) for (const n of v.nodes) out.push(f + ": " + v.id + ": " + n.html);
    if (r.passes.length === 0) out.push(f + ": axe checked nothing");
    await page.close();
  }
  await browser.close();
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
"#;
    let list: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let out = Command::new("node")
        .args(["-e", script])
        .arg(puppeteer)
        .arg(axe)
        .arg(serde_json::to_string(&list).unwrap())
        .env("PUPPETEER_EXECUTABLE_PATH", "/usr/bin/chromium")
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "axe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from axe")
}

/// Extract the EPUB `epub` into the folder `to`.
fn unzip(epub: &Path, to: &Path) {
    let bytes = std::fs::read(epub).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    zip.extract(to).expect("the EPUB extracts");
}

/// Blocks in another language than the book's carry `lang` (and `xml:lang` in the EPUB), the
/// parts' languages come from their letters, and axe-core's language rules pass.
#[test]
fn languages_are_tagged_and_valid() {
    let tools = require_tool("node", &["--version"], "apt-get install nodejs")
        && require_tool("chromium", &["--version"], "apt-get install chromium")
        && require_found(
            "puppeteer-core and axe-core",
            npm_module("puppeteer-core").is_some() && npm_module("axe-core").is_some(),
            "scripts/install-test-tools",
        );
    if !tools {
        return;
    }
    let note = "Narrated 'Umar: I heard Allah's Messenger (ﷺ) saying, \"The reward of deeds depends upon the intentions.\"";
    let hebrew = "בְּרֵאשִׁית בָּרָא אֱלֹהִים אֵת הַשָּׁמַיִם וְאֵת הָאָרֶץ.";
    let ar = format!(
        "---\ntitle: الأعمال بالنيات\npart: 1\n---\n\nروى البخاري هذا الحديث في أول صحيحه.\n\n{note}\n\n{hebrew}\n"
    );
    let fa = "فناوری ها در جهان امروز پیشرفت چشمگیری داشته اند و زندگی ما را تغییر داده اند.\n\nبشنو از نی چون حکایت می‌کند\nاز جدایی‌ها شکایت می‌کند\n";
    let fa = format!("عنوان فارسی الجزء الثاني\n\nنویسنده\n\nپیشگفتار کتاب\n\n{fa}");
    let ur = "یہ ایک اردو جملہ ہے جس میں بڑے اور چھوٹے حروف ہیں۔ ٹوپی ڈال کر وہ باہر گئے۔\n";
    let ur = format!("اردو کا حصہ الجزء الثالث\n\nمصنف\n\nتعارف\n\n{ur}");
    let book = book_with(&[
        ("part-1.md", ar.as_bytes()),
        ("part-2.txt", fa.as_bytes()),
        ("part-3.txt", ur.as_bytes()),
    ]);
    std::fs::write(
        book.path().join("publish.toml"),
        "[book]\nlanguage = \"ar\"\n\n[html]\nsearch = false\n",
    )
    .unwrap();
    publish().arg("--book").arg(book.path()).assert().success();
    let out = book.path().join("output");
    let html_dir = out.join("html");
    let page = |n: u32| std::fs::read_to_string(html_dir.join(format!("part-{n}.html"))).unwrap();
    let p1 = page(1);
    assert!(
        p1.contains("dir=\"ltr\" lang=\"en\">Narrated"),
        "the English note is an LTR block in English: {p1}"
    );
    assert!(
        p1.contains("dir=\"rtl\" lang=\"he\">"),
        "the Hebrew verse is tagged"
    );
    assert!(
        page(2).contains("lang=\"fa\""),
        "the Persian part is tagged fa"
    );
    assert!(
        page(3).contains("lang=\"ur\""),
        "the Urdu part is tagged ur"
    );

    let epub_dir = book.path().join("epub-unzipped");
    unzip(&out.join("book.epub"), &epub_dir);
    let xhtml = xhtml_files(&epub_dir);
    let all: String = xhtml
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    assert!(all.contains("dir=\"ltr\" lang=\"en\" xml:lang=\"en\">Narrated"));
    assert!(all.contains("xml:lang=\"fa\"") && all.contains("xml:lang=\"ur\""));

    let mut files = vec![
        html_dir.join("part-1.html"),
        html_dir.join("part-2.html"),
        html_dir.join("part-3.html"),
    ];
    files.extend(xhtml);
    let v = axe_lang_violations(&files);
    assert!(v.is_empty(), "axe-core language violations: {v:#?}");
}

/// The couplet keeps its four lines in all three editions; a number, a URL and a long
/// sentence without full stop stay paragraphs.
#[test]
fn verse_keeps_its_lines_and_headings_need_words() {
    if !require_tool("mutool", &["-v"], "apt-get install mupdf-tools") {
        return;
    }
    let src = std::fs::read(fixture("read").join("verse-couplet.txt")).unwrap();
    let book = book_with(&[("part-6.txt", &src)]);
    publish().arg("--book").arg(book.path()).assert().success();
    let out = book.path().join("output");
    let lines = [
        "بشنو از نی چون حکایت می‌کند",
        "از جدایی‌ها شکایت می‌کند",
        "کز نیستان تا مرا ببریده‌اند",
        "در نفیرم مرد و زن نالیده‌اند",
    ];
    let not_headings = [
        "150٪",
        "https://example.org/report",
        "وقد أعلنت الحكومة أمس أنها ستبدأ تنفيذ الخطة الجديدة خلال الأسبوع المقبل",
    ];
    let epub_dir = book.path().join("epub-unzipped");
    unzip(&out.join("book.epub"), &epub_dir);
    let epub: String = xhtml_files(&epub_dir)
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let html = std::fs::read_to_string(out.join("html").join("part-6.html")).unwrap();
    for (format, doc) in [("html", &html), ("epub", &epub)] {
        assert!(
            doc.contains("class=\"verse couplets\""),
            "{format}: a verse block"
        );
        for l in lines {
            assert!(
                doc.contains(&format!("<p class=\"line\">{l}</p>")),
                "{format}: verse line «{l}» on its own"
            );
        }
        for p in not_headings {
            assert!(
                doc.contains(&format!(">{p}</p>")) && !doc.contains(&format!(">{p}</h")),
                "{format}: «{p}» is a paragraph"
            );
        }
    }
    // PDF: the couplets are two rows, each with its two hemistichs side by side: two groups
    // of letters with a wide gap between them, the first hemistich on the right.
    let verse_chars: std::collections::BTreeSet<char> = lines.concat().chars().collect();
    let rows: Vec<Vec<(char, f64)>> = pdf_rows(&out.join("book.pdf"))
        .into_iter()
        .filter(|r| {
            let letters: Vec<char> = r
                .iter()
                .map(|c| c.0)
                .filter(|c| !c.is_whitespace())
                .collect();
            letters.len() > 10 && letters.iter().all(|c| verse_chars.contains(c))
        })
        .collect();
    assert_eq!(rows.len(), 2, "pdf: two rows of couplets");
    for (row, pair) in rows.into_iter().zip(lines.chunks(2)) {
        let mut xs: Vec<(char, f64)> = row
            .into_iter()
            .filter(|c| !c.0.is_whitespace() && !ignorable(c.0))
            .collect();
        xs.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (gap, at) = xs
            .windows(2)
            .enumerate()
            .map(|(i, w)| (w[1].1 - w[0].1, i + 1))
            .fold((0.0, 0), |m, g| if g.0 > m.0 { g } else { m });
        assert!(
            gap > 15.0,
            "pdf: the hemistichs of a couplet stand apart (gap {gap:.1} pt)"
        );
        let count = |l: &str| {
            l.chars()
                .filter(|c| !c.is_whitespace() && !ignorable(*c))
                .count()
        };
        // Right group = first hemistich, left group = second (right to left).
        assert_eq!(
            xs.len() - at,
            count(pair[0]),
            "pdf: «{}» on the right",
            pair[0]
        );
        assert_eq!(at, count(pair[1]), "pdf: «{}» on the left", pair[1]);
    }
}

/// Baselines (pt from the top) of the text rows of each page of `pdf` with at least `min`
/// characters, and the horizontal extent of those rows.
fn pdf_baselines(pdf: &Path, min: usize) -> Vec<(Vec<f64>, f64, f64)> {
    let out = Command::new("mutool")
        .args(["draw", "-q", "-F", "stext", "-o", "-"])
        .arg(pdf)
        .output()
        .expect("mutool runs");
    let xml = String::from_utf8_lossy(&out.stdout);
    let mut pages = Vec::new();
    for page in xml.split("<page ").skip(1) {
        let mut by_y: BTreeMap<i64, (usize, f64, f64)> = BTreeMap::new();
        for tag in page.split("<char ").skip(1) {
            let tag = format!(" {tag}");
            let num = |name: &str| -> Option<f64> {
                let pat = format!(" {name}=\"");
                let s = tag.find(&pat)? + pat.len();
                tag[s..s + tag[s..].find('"')?].parse().ok()
            };
            let (Some(x), Some(y)) = (num("x"), num("y")) else {
                continue;
            };
            let e = by_y
                .entry((y * 2.0).round() as i64)
                .or_insert((0, f64::MAX, 0.0));
            e.0 += 1;
            e.1 = e.1.min(x);
            e.2 = e.2.max(x);
        }
        let rows: Vec<_> = by_y.into_iter().filter(|r| r.1.0 >= min).collect();
        let left = rows.iter().map(|r| r.1.1).fold(f64::MAX, f64::min);
        let right = rows.iter().map(|r| r.1.2).fold(0.0, f64::max);
        pages.push((rows.iter().map(|r| r.0 as f64 / 2.0).collect(), left, right));
    }
    pages
}

/// A fully vowelled page (Quran with complete tashkeel): between every two lines of a
/// paragraph there is a blank pixel row at 300 dpi, i.e. the lowest mark of a line never
/// touches the highest mark of the next. Prints the measured gaps.
#[test]
fn vowelled_lines_never_touch() {
    if !(require_tool("mutool", &["-v"], "apt-get install mupdf-tools")
        && require_tool("pdftoppm", &["-v"], "apt-get install poppler-utils"))
    {
        return;
    }
    let src = std::fs::read(fixture("bidi").join("vowelled.md")).unwrap();
    let book = book_with(&[("part-1.md", &src)]);
    publish()
        .args(["--format", "pdf", "--book"])
        .arg(book.path())
        .assert()
        .success();
    let pdf = book.path().join("output").join("book.pdf");
    let pages = pdf_baselines(&pdf, 25);
    let (page, (baselines, left, right)) = pages
        .into_iter()
        .enumerate()
        .max_by_key(|p| p.1.0.len())
        .unwrap();
    assert!(
        baselines.len() >= 6,
        "the vowelled text fills several lines: {baselines:?}"
    );
    let dpi = 300.0;
    let stem = book.path().join("page");
    let st = Command::new("pdftoppm")
        .args(["-r", "300", "-gray", "-singlefile"])
        .args(["-f", &(page + 1).to_string(), "-l", &(page + 1).to_string()])
        .arg(&pdf)
        .arg(&stem)
        .status()
        .unwrap();
    assert!(st.success());
    let pgm = std::fs::read(stem.with_extension("pgm")).unwrap();
    // P5 header: magic, width, height, maxval, each followed by white space.
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while pgm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while !pgm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(String::from_utf8_lossy(&pgm[start..pos]).into_owned());
    }
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = &pgm[pos + 1..];
    let px = |pt: f64| (pt * dpi / 72.0).round() as usize;
    // Columns of the text block, a little wider for marks over the first and last letters.
    let (x0, x1) = (px((left - 10.0).max(0.0)), px(right + 20.0).min(w - 1));
    let ink = |row: usize| pixels[row * w + x0..row * w + x1].iter().any(|&p| p < 160);
    let mut gaps = Vec::new();
    for pair in baselines.windows(2) {
        let (a, b) = (px(pair[0]), px(pair[1]).min(h - 1));
        // The longest run of blank rows between two baselines: the space between the lowest
        // ink of one line and the highest ink of the next.
        let (mut best, mut run) = (0usize, 0usize);
        for row in a..b {
            if ink(row) {
                run = 0;
            } else {
                run += 1;
                best = best.max(run);
            }
        }
        gaps.push(best as f64 * 72.0 / dpi);
    }
    println!(
        "vowelled page {}: {} lines, gaps between lines (pt): {gaps:.2?}",
        page + 1,
        baselines.len()
    );
    for (i, g) in gaps.iter().enumerate() {
        assert!(
            *g > 0.0,
            "line {} touches line {} (no blank row between them)",
            i + 1,
            i + 2
        );
    }
}

/// The same vowelled text in the HTML and EPUB: Chromium's own measure of each line's ink
/// (canvas `measureText` of the line's text in the paragraph's font: the shaped glyphs' real
/// bounds, stacked marks included) placed on the line's baseline; the gap between the lowest
/// ink of a line and the highest ink of the next must be positive.
#[test]
fn vowelled_lines_never_touch_in_html_and_epub() {
    let tools = require_tool("node", &["--version"], "apt-get install nodejs")
        && require_tool("chromium", &["--version"], "apt-get install chromium")
        && require_found(
            "puppeteer-core",
            npm_module("puppeteer-core").is_some(),
            "scripts/install-test-tools",
        );
    if !tools {
        return;
    }
    let src = std::fs::read(fixture("bidi").join("vowelled.md")).unwrap();
    let book = book_with(&[("part-1.md", &src)]);
    std::fs::write(book.path().join("publish.toml"), "[html]\nsearch = false\n").unwrap();
    publish()
        .args(["--format", "html,epub", "--book"])
        .arg(book.path())
        .assert()
        .success();
    let out = book.path().join("output");
    let epub_dir = book.path().join("epub-unzipped");
    unzip(&out.join("book.epub"), &epub_dir);
    let mut files = vec![out.join("html").join("part-1.html")];
    files.extend(xhtml_files(&epub_dir));
    let script = r#"
const puppeteer = require(process.argv[1]);
const files = JSON.parse(process.argv[2]);
(async () => {
  const browser = await puppeteer.launch({
    executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const out = [];
  for (const f of files) {
    const page = await browser.newPage();
    await page.setViewport({ width: 360, height: 800 });
    await page.goto("file://" + f, { waitUntil: "load" });
    await page.evaluate(() => document.fonts.ready);
    out.push(await page.evaluate(() => {
      const gaps = [];
      for (const p of document.querySelectorAll(".vowelled")) {
        const ctx = document.createElement("canvas").getContext("2d");
        ctx.font = getComputedStyle(p).font;
        ctx.direction = "rtl";
        const lines = [];
        const walk = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
        let n;
        while ((n = walk.nextNode())) {
          let off = 0;
          for (const ch of Array.from(n.data)) {
            const r = document.createRange();
            r.setStart(n, off);
            r.setEnd(n, off + ch.length);
            off += ch.length;
            const rect = r.getClientRects()[0];
            let line = rect && lines.find(l => Math.abs(l.top - rect.top) < 3);
            if (rect && !line) { line = { top: rect.top, text: "" }; lines.push(line); }
            if (line) line.text += ch; else if (lines.length) lines[lines.length - 1].text += ch;
          }
        }
        lines.sort((a, b) => a.top - b.top);
        const m = lines.map(l => ctx.measureText(l.text.trim()));
        for (let i = 0; i + 1 < lines.length; i++) {
          const base = lines[i].top + m[i].fontBoundingBoxAscent;
          const next = lines[i + 1].top + m[i + 1].fontBoundingBoxAscent;
          gaps.push((next - m[i + 1].actualBoundingBoxAscent) - (base + m[i].actualBoundingBoxDescent));
        }
      }
      return gaps;
    }));
    await page.close();
  }
  await browser.close();
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
"#;
    let list: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let res = Command::new("node")
        .args(["-e", script])
        .arg(npm_module("puppeteer-core").unwrap())
        .arg(serde_json::to_string(&list).unwrap())
        .env("PUPPETEER_EXECUTABLE_PATH", "/usr/bin/chromium")
        .output()
        .expect("node runs");
    assert!(
        res.status.success(),
        "puppeteer: {}",
        String::from_utf8_lossy(&res.stderr)
    );
    let gaps: Vec<Vec<f64>> = serde_json::from_slice(&res.stdout).unwrap();
    let total: usize = gaps.iter().map(Vec::len).sum();
    assert!(total >= 10, "several vowelled lines measured: {gaps:?}");
    for (f, g) in files.iter().zip(&gaps) {
        println!(
            "{}: gaps between vowelled lines (px): {g:.1?}",
            f.file_name().unwrap().to_string_lossy()
        );
        for (i, x) in g.iter().enumerate() {
            assert!(
                *x > 0.0,
                "{f:?}: vowelled line {} touches the next ({x:.1} px)",
                i + 1
            );
        }
    }
}
