//! Trustworthy builds (issue 6): broken input never panics and is named in a diagnostic with a
//! documented exit code; hostile input stays data in all three outputs; nothing outside the
//! sources folder is read; one failing format does not hide another; rebuilds are identical.

mod common;

use common::{book_from_dir, book_with, fixture, publish, require_tool, root};
use std::io::Read;
use std::path::{Path, PathBuf};

const GOOD: &str = "وهم الخلافة؛ من حلم السلطة إلى حضيض الانهيار! الجزء الأول\n\nعزيز جلال\n\nعنوان\n\nفقرة سليمة تنتهي بنقطة.\n";

fn json_diags(stderr: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// Every broken fixture, next to a good part, through the whole pipeline and all formats.
#[test]
fn broken_inputs_never_panic_and_name_the_file() {
    let huge = {
        let mut s = String::from(
            "وهم الخلافة؛ من حلم السلطة إلى حضيض الانهيار! الجزء الثاني\n\nعزيز جلال\n\nعنوان\n\n",
        );
        while s.len() < 200_000 {
            s.push_str("جملة طويلة في فقرة واحدة ضخمة، ");
        }
        s.push_str("نهاية.\n");
        s
    };
    let bidi = "وهم الخلافة؛ من حلم السلطة إلى حضيض الانهيار! الجزء الثاني\n\nعزيز جلال\n\nعنوان\n\nنص فيه \u{202E}تجاوز مفتوح و\u{2067}عزل مفتوح.\n";
    let cases: Vec<(&str, Vec<u8>, i32, &str)> = vec![
        ("empty.txt", vec![], 1, "empty-source"),
        (
            "junk.txt",
            b"Exit mobile version\n".to_vec(),
            1,
            "empty-source",
        ),
        (
            "invalid.txt",
            b"\xff\xfe\x00\x00garbage\xc3".to_vec(),
            1,
            "invalid-encoding",
        ),
        (
            "latin1.txt",
            b"caf\xe9 cr\xe8me\n".to_vec(),
            1,
            "invalid-encoding",
        ),
        ("nul.txt", b"text\x00more".to_vec(), 1, "binary-file"),
        (
            "image.txt",
            [&b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"[..], &[0u8; 64]].concat(),
            1,
            "binary-file",
        ),
        (
            "unclosed.md",
            "+++\ntitle = \"x\"\npart = 2\n\nنص.\n".as_bytes().to_vec(),
            1,
            "front-matter",
        ),
        ("dup.txt", GOOD.as_bytes().to_vec(), 1, "duplicate-part"),
        ("huge.txt", huge.into_bytes(), 0, ""),
        ("bidi.txt", bidi.as_bytes().to_vec(), 0, "bidi-unclosed"),
    ];
    for (name, bytes, exit, code) in cases {
        let book = book_with(&[("good.txt", GOOD.as_bytes()), (name, &bytes)]);
        let out = publish()
            .current_dir(book.path())
            .args(["--diagnostics", "json", "--format", "all"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{name}: panic: {stderr}");
        assert_eq!(out.status.code(), Some(exit), "{name}: {stderr}");
        let diags = json_diags(&out.stderr);
        if !code.is_empty() {
            let names_file = |d: &serde_json::Value| {
                d["file"].as_str().is_some_and(|f| f.ends_with(name))
                    || d["message"]
                        .as_str()
                        .is_some_and(|m| m.contains(&format!("sources/{name}")))
            };
            assert!(
                diags.iter().any(|d| d["code"] == code && names_file(d)),
                "{name}: no `{code}` diagnostic naming the file: {stderr}"
            );
        }
        if exit != 0 {
            // A failed build writes nothing at all.
            let written: Vec<_> = std::fs::read_dir(book.path().join("output"))
                .map(|d| d.flatten().map(|e| e.file_name()).collect())
                .unwrap_or_default();
            assert!(
                written.is_empty(),
                "{name}: a failed build left {written:?}"
            );
        } else {
            for f in [
                "output/book.pdf",
                "output/book.epub",
                "output/html/index.html",
            ] {
                assert!(book.path().join(f).is_file(), "{name}: {f} missing");
            }
        }
    }
}

fn epub_texts(path: &Path) -> Vec<(String, String)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut s = String::new();
        if f.read_to_string(&mut s).is_ok() {
            out.push((f.name().to_owned(), s));
        }
    }
    out
}

fn site_texts(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(s) = std::fs::read_to_string(&p) {
                out.push((p.display().to_string(), s));
            }
        }
    }
    out
}

fn pdf_text(path: &Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// Lines of local secrets that must never reach an output.
fn secret_lines() -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.len() > 8)
        .map(str::to_owned)
        .collect();
    if let Ok(h) = std::fs::read_to_string("/etc/hostname") {
        let h = h.trim();
        if h.len() >= 6 {
            lines.push(h.to_owned());
        }
    }
    lines
}

#[test]
fn hostile_series_is_data_in_every_output() {
    if !require_tool("pdftotext", &["-v"], "apt-get install poppler-utils") {
        return;
    }
    let book = book_from_dir(&fixture("hostile"));
    let out = publish()
        .current_dir(book.path())
        .args(["--format", "all"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The reader reported what it refused to pass through.
    for code in ["raw-html", "unsafe-link", "image-outside"] {
        assert!(
            stderr.contains(&format!("[{code}]")),
            "no {code} warning: {stderr}"
        );
    }

    let secrets = secret_lines();
    // EPUB: the text is there, escaped; no script element; no secrets.
    let epub = epub_texts(&book.path().join("output/book.epub"));
    // Latin runs are wrapped in <bdi dir="ltr"> isolates: compare the text without them.
    let unwrap = |s: &str| s.replace("<bdi dir=\"ltr\">", "").replace("</bdi>", "");
    let all_epub: String = epub.iter().map(|(_, s)| unwrap(s)).collect();
    for literal in [
        "#read(&quot;/etc/passwd&quot;)",
        "#include &quot;x&quot;",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "]]&gt;",
        "&amp;amp;",
        "$(rm -rf /)",
        "javascript:alert(1)",
        "&lt;img src=x onerror=alert(5)&gt;",
    ] {
        assert!(all_epub.contains(literal), "EPUB lacks {literal}");
    }
    // HTML: same.
    let site = site_texts(&book.path().join("output/html"));
    let all_site: String = site.iter().map(|(_, s)| unwrap(s)).collect();
    for literal in [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "]]&gt;",
        "&amp;amp;",
        "$(rm -rf /)",
    ] {
        assert!(all_site.contains(literal), "site lacks {literal}");
    }
    for (name, text) in epub.iter().chain(site.iter()) {
        if name.ends_with(".js") {
            // Scripts hold source text only inside string literals, with `<` written \u003c.
            assert!(
                !name.contains("search/") || !text.contains('<'),
                "{name} has a raw <"
            );
            continue;
        }
        // Escaped text never holds a raw `<`, so every `<…>` is real markup: check each tag.
        for tag in text
            .split('<')
            .skip(1)
            .filter_map(|t| t.split_once('>').map(|(t, _)| t.to_ascii_lowercase()))
        {
            let element = tag.split_whitespace().next().unwrap_or("");
            // The site's own scripts are the only ones allowed.
            let own_script = matches!(
                tag.as_str(),
                "script src=\"search.js\"" | "script src=\"site.js\""
            );
            assert!(
                own_script || !matches!(element, "script" | "iframe" | "object" | "embed"),
                "{name} has a <{tag}> element"
            );
            // Text may quote a path (a page's description, escaped); no URL may point at one.
            for attr in [
                "src",
                "href",
                "data",
                "action",
                "poster",
                "srcset",
                "formaction",
            ] {
                let key = format!(" {attr}=\"");
                for (at, _) in tag.match_indices(&key) {
                    let value = &tag[at + key.len()..];
                    let value = &value[..value.find('"').unwrap_or(value.len())];
                    assert!(
                        !value.contains("etc/hostname") && !value.contains("etc/passwd"),
                        "{name} references a local file in <{tag}>"
                    );
                }
            }
            assert!(
                !tag.contains("javascript:"),
                "{name} has a javascript: URL in <{tag}>"
            );
            let on_attr = tag
                .split_whitespace()
                .skip(1)
                .any(|a| a.starts_with("on") && a.contains('='));
            assert!(!on_attr, "{name} has an event handler attribute in <{tag}>");
        }
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{name} contains a line of a local file: {s}"
            );
        }
    }
    // PDF: every character printed literally; no secrets.
    let pdf = pdf_text(&book.path().join("output/book.pdf"));
    let squashed: String = pdf.split_whitespace().collect();
    for literal in [
        "#read(\"/etc/passwd\")",
        "<script>alert(1)</script>",
        "]]>",
        "&amp;",
        "$(rm -rf /)",
        "$x$",
        "*x*",
        "[a]",
        "<b>",
        "@x",
    ] {
        // Each Latin run whole and in order; the neutrals around it (placed by the bidi
        // algorithm in the paragraph's direction, see tests/bidi.rs) at least present.
        for run in publish::bidi::latin_runs(literal) {
            let want: String = literal[run].split_whitespace().collect();
            assert!(
                squashed.contains(&want),
                "PDF text lacks {want} of {literal}"
            );
        }
        for c in literal.chars().filter(|c| !c.is_whitespace()) {
            assert!(squashed.contains(c), "PDF text lacks «{c}» of {literal}");
        }
    }
    for s in &secrets {
        assert!(
            !pdf.contains(s.as_str()),
            "PDF contains a line of a local file: {s}"
        );
    }
}

/// The default book, built twice into two folders, is byte-identical in every output.
#[test]
fn default_book_rebuilds_byte_identical() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    for out in [a.path(), b.path()] {
        publish()
            .current_dir(root())
            .arg("--output")
            .arg(out)
            .args(["--format", "all", "--quiet"])
            .assert()
            .success();
    }
    let files = |d: &Path| -> Vec<PathBuf> {
        let mut v = Vec::new();
        let mut stack = vec![d.to_path_buf()];
        while let Some(x) = stack.pop() {
            for e in std::fs::read_dir(x).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p)
                } else {
                    v.push(p.strip_prefix(d).unwrap().to_path_buf())
                }
            }
        }
        v.sort();
        v
    };
    let fa = files(a.path());
    assert_eq!(fa, files(b.path()));
    assert!(fa.len() >= 3, "{fa:?}");
    for f in &fa {
        assert!(
            std::fs::read(a.path().join(f)).unwrap() == std::fs::read(b.path().join(f)).unwrap(),
            "{} differs between two builds",
            f.display()
        );
    }
}

/// Two formats failing in one run: both errors are reported, the third format is still written.
#[test]
fn one_failing_format_does_not_hide_another() {
    let text = "وهم الخلافة؛ من حلم السلطة إلى حضيض الانهيار! الجزء الأول\n\nعزيز جلال\n\nعنوان\n\nفقرة فيها حرف صيني 漢 لا يغطيه الخط.\n";
    let book = book_with(&[("1.txt", text.as_bytes())]);
    std::fs::write(
        book.path().join("publish.toml"),
        // A cover title no font can show fails the EPUB (its generated cover); a missing
        // cover file would be a configuration error that stops the run (issue 17).
        "[book]\ntitle = \"كتاب 漢\"\n",
    )
    .unwrap();
    let out = publish()
        .current_dir(book.path())
        .args(["--format", "all", "--diagnostics", "json"])
        .output()
        .unwrap();
    let diags = json_diags(&out.stderr);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "errors in the sources: {stderr}"
    );
    assert!(
        diags.iter().any(|d| d["code"] == "missing-glyph"
            && d["file"] == "sources/1.txt"
            && d["line"] == 7),
        "{stderr}"
    );
    assert!(
        diags.iter().any(|d| d["severity"] == "error"
            && d["message"].as_str().unwrap_or("").contains("cover text")),
        "{stderr}"
    );
    assert!(
        book.path().join("output/html/index.html").is_file(),
        "HTML not written: {stderr}"
    );
    assert!(!book.path().join("output/book.pdf").exists());
    assert!(!book.path().join("output/book.epub").exists());
}
