//! Structured fuzzing of the whole pipeline (issue 17): proptest generators for Markdown
//! parts (nested quotes, lists, emphasis, links, notes, tables, images, fences, deep prefixes),
//! front matter (TOML and YAML, long values, nested flows, escapes, wrong types) and raw parts
//! (glued markers, ordinals, junk), in every script a series has. Each generated book goes
//! through the readers, the model and the EPUB and HTML writers, the PDF's data (and every
//! `PDF_EVERY`th case the whole PDF): nothing may panic, every error names a file, the model
//! never nests deeper than the cap, and a build either writes its outputs or fails cleanly.
//!
//! The budget is fixed: `PUBLISH_FUZZ_CASES` cases (default 400) or `PUBLISH_FUZZ_SECONDS`
//! seconds (default 90), whichever ends first, from a fixed seed so that CI runs repeat;
//! `PUBLISH_FUZZ_SEED` (a number) explores elsewhere. A failing input is printed whole, shrunk;
//! add it to `fixtures/fuzz/` so it stays a regression test (`regression_corpus` below).

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use publish::model::MAX_NESTING;
use publish::write::OutputFormat;
use publish::{Options, Session};
use std::path::Path;
use std::time::{Duration, Instant};

/// Build the PDF (typst, about a second) for one case in this many.
const PDF_EVERY: usize = 20;

/// Words a series holds: Arabic plain and vowelled (Quran, hadith, poetry), Persian, Urdu,
/// Hebrew, Latin names, numbers, URLs, and text that is markup in some output.
const WORDS: &[&str] = &[
    "الخلافة",
    "وهم",
    "الجزءالرابع عشر",
    "الجزء",
    "الحادي",
    "والعشرون",
    "بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ",
    "قِفَا نَبْكِ مِنْ ذِكْرَى حَبِيبٍ",
    "ﷺ",
    "پژوهش",
    "گفت‌وگو",
    "اردو ادب",
    "שָׁלוֹם",
    "עברית",
    "Ibn Khaldun",
    "(Muqaddimah, p. 12)",
    "https://example.org/a?b=1&c=2",
    "2014",
    "١٤٣٥",
    "H.264",
    "<script>alert(1)</script>",
    "#read(\"/etc/passwd\")",
    "]]> <!-- &amp; &#0;",
    "\u{202E}abc\u{202C}",
    "\u{200F}",
    "ـــ",
    "Exit mobile version",
    "*",
    "_",
    "[",
    "]",
    "`",
    "\\",
    "|",
    "<",
    "!",
    "^",
    ":",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => proptest::sample::select(WORDS).prop_map(str::to_owned),
        1 => "[\\PC]{0,12}",
        // Any character but C0 controls (they make the whole part a `binary-file`, tested in
        // read.rs).
        1 => proptest::collection::vec(any::<char>().prop_filter("C0", |c| *c >= ' '), 0..6)
            .prop_map(|v| v.into_iter().collect()),
    ]
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(word(), 1..6).prop_map(|w| w.join(" "))
}

/// Inline Markdown, nested up to 20 levels (beyond the cap of 12).
fn inline() -> impl Strategy<Value = String> {
    text().prop_recursive(20, 64, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|s| format!("*{s}*")),
            inner.clone().prop_map(|s| format!("**{s}**")),
            inner.clone().prop_map(|s| format!("_{s}_")),
            (inner.clone(), word()).prop_map(|(s, u)| format!("[{s}](https://x.org/{u})")),
            inner.clone().prop_map(|s| format!("![{s}](img.png)")),
            inner.clone().prop_map(|s| format!("`{s}`")),
            (inner.clone(), 1u8..5).prop_map(|(s, n)| format!("{s}[^{n}]")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} {b}")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("{a}  \n{b}")),
        ]
    })
}

fn indent(s: &str, prefix: &str) -> String {
    s.lines().map(|l| format!("{prefix}{l}\n")).collect()
}

/// Block Markdown, nested up to 20 levels.
fn block() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        4 => inline().prop_map(|s| format!("{s}\n")),
        1 => (1usize..7, inline()).prop_map(|(n, s)| format!("{} {s}\n", "#".repeat(n))),
        1 => text().prop_map(|s| format!("```\n{s}\n```\n")),
        1 => Just("---\n".to_owned()),
        1 => (1u8..5, inline()).prop_map(|(n, s)| format!("[^{n}]: {s}\n")),
        1 => (1usize..5, 0usize..4, inline()).prop_map(|(cols, rows, s)| {
            let row = format!("|{}\n", format!(" {s} |").repeat(cols));
            format!("{row}|{}\n{}", " :-- |".repeat(cols), row.repeat(rows))
        }),
        1 => Just("Table: جدول\n".to_owned()),
        1 => text().prop_map(|s| format!("<div>{s}</div>\n")),
    ];
    leaf.prop_recursive(20, 48, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|s| indent(&s, "> ")),
            inner.clone().prop_map(|s| {
                let mut it = s.lines();
                let first = it.next().unwrap_or("");
                let rest: String = it.map(|l| format!("  {l}\n")).collect();
                format!("- {first}\n{rest}")
            }),
            inner.clone().prop_map(|s| {
                let mut it = s.lines();
                let first = it.next().unwrap_or("");
                let rest: String = it.map(|l| format!("   {l}\n")).collect();
                format!("1. {first}\n{rest}")
            }),
            (1u8..5, inner.clone())
                .prop_map(|(n, s)| format!("[^{n}]: {}", indent(&s, "    ").trim_start())),
            proptest::collection::vec(inner, 1..4).prop_map(|v| v.join("\n")),
        ]
    })
}

/// A line of nesting far past the cap, as a hostile part has.
fn deep() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(&["> ", "* ", "- ", "1. ", "*", "_", "[", "**", "> - "][..]),
        0usize..3000,
        text(),
    )
        .prop_map(|(p, n, t)| format!("{}{t}\n", p.repeat(n)))
}

/// A front matter value: plain, long, escaped, nested, or of the wrong type.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        text().prop_map(|s| format!("{s:?}")),
        (0u64..u64::MAX).prop_map(|n| n.to_string()),
        Just("-1".to_owned()),
        Just("\"\\u0007\"".to_owned()),
        Just("true".to_owned()),
        (0usize..3000).prop_map(|n| format!("\"{}\"", "ع".repeat(n))),
        (0usize..200).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n))),
        Just("2024-02-31".to_owned()),
        Just("[\"a\", 1]".to_owned()),
    ]
}

fn front_matter() -> impl Strategy<Value = String> {
    let keys = proptest::sample::select(
        &[
            "title", "part", "author", "lang", "date", "tags", "series", "image", "dir", "x",
        ][..],
    );
    (
        any::<bool>(),
        proptest::collection::vec((keys, value()), 0..6),
    )
        .prop_map(|(toml, kv)| {
            if toml {
                let body: String = kv.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
                format!("+++\n{body}+++\n\n")
            } else {
                let body: String = kv.iter().map(|(k, v)| format!("{k}: {v}\n")).collect();
                format!("---\n{body}---\n\n")
            }
        })
}

fn markdown_part() -> impl Strategy<Value = String> {
    (
        prop_oneof![3 => front_matter(), 1 => Just(String::new())],
        proptest::collection::vec(prop_oneof![6 => block(), 1 => deep()], 0..6),
    )
        .prop_map(|(fm, blocks)| fm + &blocks.join("\n"))
}

/// A scraped part: the series title with a (possibly glued) marker, author, heading, paragraphs
/// and website junk.
fn raw_part() -> impl Strategy<Value = String> {
    let ordinal = proptest::sample::select(
        &[
            "الأول",
            "الرابع عشر",
            "الحادي والعشرون",
            "المائة",
            "14",
            "١٤",
            "4294967296",
            "",
        ][..],
    );
    (
        text(),
        any::<bool>(),
        ordinal,
        proptest::collection::vec(text(), 0..8),
        any::<bool>(),
    )
        .prop_map(|(title, glued, ord, paras, junk)| {
            let sep = if glued { "" } else { " " };
            let mut s = format!("{title} الجزء{sep}{ord}\nكاتب\n{title}\n");
            for p in paras {
                s.push_str(&p);
                s.push('\n');
            }
            if junk {
                s.push_str("Exit mobile version\n");
            }
            s
        })
}

/// A book: 1–4 parts, each Markdown or raw.
fn book() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(
        prop_oneof![
            markdown_part().prop_map(|s| ("md".to_owned(), s)),
            raw_part().prop_map(|s| ("txt".to_owned(), s)),
        ],
        1..5,
    )
    .prop_map(|parts| {
        parts
            .into_iter()
            .enumerate()
            .map(|(i, (ext, s))| (format!("p{i}.{ext}"), s))
            .collect()
    })
}

/// The deepest nesting of a JSON value, walked without recursion.
fn depth(v: &serde_json::Value) -> usize {
    let mut stack = vec![(v, 1usize)];
    let mut max = 0;
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        match v {
            serde_json::Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            serde_json::Value::Object(o) => stack.extend(o.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    max
}

/// The model's JSON nests at most this deep: a container (quote, list item, emphasis,
/// link, note) is a few JSON levels (the node, its children array, a list's items), so the
/// cap of [`MAX_NESTING`] containers bounds it; 6 levels per container is generous.
const MAX_MODEL_DEPTH: usize = 8 + 6 * (MAX_NESTING + 2);

/// One generated book through the pipeline; `Err` says what went wrong.
fn check_book(files: &[(String, String)], pdf: bool) -> Result<Vec<&'static str>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let src = dir.path().join("sources");
    std::fs::create_dir_all(&src).map_err(|e| e.to_string())?;
    for (name, text) in files {
        std::fs::write(src.join(name), text).map_err(|e| e.to_string())?;
    }
    // A real image for the generated `![…](img.png)`.
    std::fs::write(src.join("img.png"), PNG).map_err(|e| e.to_string())?;
    let mut formats = vec![OutputFormat::Epub, OutputFormat::Html];
    if pdf {
        formats.push(OutputFormat::Pdf);
    }
    let opts = Options {
        book_dir: dir.path().to_path_buf(),
        sources: None,
        output: None,
        config: None,
        theme: None,
        formats,
        jobs: Some(2),
        check_only: false,
        check_print: false,
    };
    let run = std::panic::catch_unwind(|| {
        let mut session = Session::new(opts.clone());
        let outcome = session.build(&[]);
        let mut diags = Vec::new();
        let model = publish::load(&opts, &mut diags).ok().map(|ctx| ctx.book);
        (outcome, model)
    });
    let (outcome, model) = run.map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!("panicked: {msg}")
    })?;
    for d in &outcome.diagnostics {
        if d.is_error() && d.file.is_none() {
            return Err(format!("an error names no file: {d:?}"));
        }
        if d.code == "internal" || d.message.contains("panicked") {
            return Err(format!("internal error: {d:?}"));
        }
    }
    match &outcome.result {
        Ok(()) => {
            for want in ["book.epub", "html/index.html"] {
                if !dir.path().join("output").join(want).is_file() {
                    return Err(format!("the build succeeded but wrote no output/{want}"));
                }
            }
        }
        // A source problem: exit 1, its errors (checked above) name their files.
        Err(publish::Error::Sources(_)) => {}
        // Anything else is not the sources' fault: an output that typst or a writer could not
        // build from them (exit 3) is a limit we missed.
        Err(e) => {
            let errors: Vec<_> = outcome
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .collect();
            return Err(format!(
                "the build failed with `{e}` (exit {}): {errors:?}",
                e.exit_code()
            ));
        }
    }
    if let Some(book) = model {
        let v = serde_json::to_value(&book).map_err(|e| e.to_string())?;
        let d = depth(&v);
        if d > MAX_MODEL_DEPTH {
            return Err(format!(
                "the model nests {d} JSON levels deep, more than the cap allows ({MAX_MODEL_DEPTH})"
            ));
        }
    }
    Ok(outcome.diagnostics.iter().map(|d| d.code).collect())
}

/// A 2×2 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0xfd, 0xd4, 0x9a,
    0x73, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x44, 0x0c, 0x10, 0x0a, 0x00, 0x1f, 0xee, 0x03, 0xfd, 0x8b, 0x5f, 0x14, 0xd4, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

fn env_number(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The fuzz run: a fixed number of cases or seconds, from a fixed seed; a failure is shrunk
/// and printed whole.
#[test]
fn generated_books_never_crash_the_pipeline() {
    let cases = env_number("PUBLISH_FUZZ_CASES", 400) as usize;
    let budget = Duration::from_secs(env_number("PUBLISH_FUZZ_SECONDS", 90));
    let seed = env_number("PUBLISH_FUZZ_SEED", 17);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases: cases as u32,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let strategy = book();
    let started = Instant::now();
    let mut ran = 0;
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    while ran < cases && started.elapsed() < budget {
        let mut tree = strategy.new_tree(&mut runner).expect("generate a book");
        let pdf = ran % PDF_EVERY == 0;
        ran += 1;
        let result = check_book(&tree.current(), pdf);
        if let Ok(codes) = &result {
            let codes: std::collections::BTreeSet<_> = codes.iter().collect();
            for c in codes {
                *seen.entry(c).or_default() += 1;
            }
        }
        if let Err(first) = result {
            // Shrink: simplify while it still fails, keep the simplest failing input.
            let mut why = first;
            let mut steps = 0;
            while steps < 200 && tree.simplify() {
                steps += 1;
                match check_book(&tree.current(), pdf) {
                    Err(e) => why = e,
                    Ok(_) => {
                        if !tree.complicate() {
                            break;
                        }
                    }
                }
            }
            let input = tree.current();
            let _ = TestCaseError::fail(why.clone());
            panic!(
                "case {ran} (seed {seed}) failed: {why}\ninput (add it to tests/fixtures/fuzz/):\n{}",
                input
                    .iter()
                    .map(|(n, t)| format!("--- {n}\n{t}"))
                    .collect::<String>()
            );
        }
    }
    eprintln!(
        "fuzz: {ran} generated books in {:.1} s (seed {seed}, PDF every {PDF_EVERY}th); books per diagnostic: {seen:?}",
        started.elapsed().as_secs_f64()
    );
    // The generators reach what they are for: deep nesting, broken front matter, notes.
    if ran >= 100 {
        for code in ["nesting-too-deep", "front-matter", "footnote-unused"] {
            assert!(
                seen.contains_key(code),
                "no generated book gave `{code}`: {seen:?}"
            );
        }
    }
}

/// Every book of `fixtures/fuzz/` (a folder of parts each) and each pathology of issue 17 in
/// miniature goes through the same checks, PDF included.
#[test]
fn regression_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut books = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/fixtures/fuzz")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    let mut failures = Vec::new();
    for dir in entries {
        let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect();
        files.sort();
        books += 1;
        if let Err(e) = check_book(&files, true) {
            failures.push(format!("{}: {e}", dir.display()));
        }
    }
    assert!(books >= 5, "the corpus has {books} books");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
