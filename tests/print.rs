//! Print production (issue 14): the print interior's page boxes, crop marks and padding, the
//! cover spread with its spine and EAN-13 barcode, config errors, reproducibility.
//!
//! External tools: qpdf, poppler-utils (`pdfinfo`, `pdftoppm`) and zbar-tools (`zbarimg`).

mod common;

use common::*;
use std::path::Path;

const MM: f64 = 72.0 / 25.4;

fn tools() -> bool {
    require_tool("qpdf", &["--version"], "apt-get install qpdf")
        && require_tool("pdfinfo", &["-v"], "apt-get install poppler-utils")
        && require_tool("pdftoppm", &["-v"], "apt-get install poppler-utils")
        && require_tool("zbarimg", &["--version"], "apt-get install zbar-tools")
}

fn seed_book(toml: &str) -> tempfile::TempDir {
    let bytes = std::fs::read(seed()).unwrap();
    let book = book_with(&[("000_45698de3c11125b4.txt", &bytes)]);
    std::fs::write(book.path().join("publish.toml"), toml).unwrap();
    book
}

/// `pdfinfo -box` of every page: for each page, the boxes by name as `[x0, y0, x1, y1]`.
fn boxes(pdf: &Path) -> Vec<std::collections::BTreeMap<String, [f64; 4]>> {
    let info = run_tool("pdfinfo", &[pdf.to_str().unwrap()]);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let out = run_tool(
        "pdfinfo",
        &[
            "-box",
            "-f",
            "1",
            "-l",
            &pages.to_string(),
            pdf.to_str().unwrap(),
        ],
    );
    let mut result = vec![std::collections::BTreeMap::new(); pages];
    for line in out.lines() {
        // `Page    3 TrimBox:     25.51    25.51   445.04   620.79`
        let Some(rest) = line.strip_prefix("Page") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let Ok(n) = words.next().unwrap_or("").parse::<usize>() else {
            continue;
        };
        // Only the boxes (`size:` and `rot:` lines are not four numbers).
        let Some(name) = words
            .next()
            .and_then(|w| w.strip_suffix(':'))
            .filter(|w| w.ends_with("Box"))
        else {
            continue;
        };
        let v: Vec<f64> = words.map(|w| w.parse().unwrap()).collect();
        if v.len() == 4 {
            result[n - 1].insert(name.to_owned(), [v[0], v[1], v[2], v[3]]);
        }
    }
    result
}

fn close(a: [f64; 4], b: [f64; 4]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() < 0.05)
}

const TOML: &str = "[book]\nidentifier = \"urn:isbn:978-0-306-40615-7\"\n\n[print]\ntrim = \"a5\"\nbleed = \"3mm\"\nmarks = true\npad-to = 8\npaper = \"80gsm\"\nblurb = \"نص الغلاف الخلفي\"\n";

#[test]
fn print_interior_and_cover_have_the_boxes_a_printer_needs() {
    if !tools() {
        return;
    }
    let book = seed_book(TOML);
    let out = publish()
        .args(["--format", "pdf", "--book"])
        .arg(book.path())
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let output = book.path().join("output");
    let interior = output.join("book-print.pdf");
    let cover = output.join("book-cover.pdf");
    assert!(output.join("book.pdf").is_file());
    // The page count and spine width are in the log.
    assert!(stderr.contains("book-print.pdf has"), "{stderr}");
    assert!(stderr.contains("spine"), "{stderr}");

    // Interior: A5 trim, 3 mm bleed, a 9 mm band for the marks, on every page.
    let (tw, th, bleed, slug) = (148.0 * MM, 210.0 * MM, 3.0 * MM, 9.0 * MM);
    let o = bleed + slug;
    let pages = boxes(&interior);
    assert_eq!(pages.len() % 8, 0, "pad-to = 8: {} pages", pages.len());
    for (i, b) in pages.iter().enumerate() {
        let media = [0.0, 0.0, tw + 2.0 * o, th + 2.0 * o];
        assert!(close(b["MediaBox"], media), "page {}: {b:?}", i + 1);
        assert!(
            close(
                b["BleedBox"],
                [slug, slug, tw + 2.0 * o - slug, th + 2.0 * o - slug]
            ),
            "page {}: {b:?}",
            i + 1
        );
        assert!(
            close(b["TrimBox"], [o, o, tw + o, th + o]),
            "page {}: {b:?}",
            i + 1
        );
    }
    for pdf in [&interior, &cover] {
        let check = run_tool("qpdf", &["--check", pdf.to_str().unwrap()]);
        assert!(
            check.contains("No syntax or stream encoding errors"),
            "{check}"
        );
        // The PDF/A claim and the structure tree survive the post-pass.
        let qdf = run_tool(
            "qpdf",
            &[
                "--qdf",
                "--object-streams=disable",
                pdf.to_str().unwrap(),
                "-",
            ],
        );
        assert!(
            qdf.contains("pdfaid:part"),
            "XMP with the PDF/A claim is kept"
        );
        assert!(
            qdf.contains("/StructTreeRoot"),
            "the structure tree is kept"
        );
    }

    // Cover: one spread, back + spine + front, at the trim height with bleed.
    let pages_n = pages.len() as f64;
    let spine = (pages_n / 2.0).ceil() * 0.100 * MM;
    let c = boxes(&cover);
    assert_eq!(c.len(), 1);
    let width = 2.0 * tw + spine + 2.0 * o;
    assert!(
        close(c[0]["MediaBox"], [0.0, 0.0, width, th + 2.0 * o]),
        "{c:?}"
    );
    assert!(close(c[0]["TrimBox"], [o, o, width - o, th + o]), "{c:?}");

    // The barcode scans as the ISBN.
    let png = book.path().join("cover");
    run_tool(
        "pdftoppm",
        &[
            "-r",
            "300",
            "-png",
            "-singlefile",
            cover.to_str().unwrap(),
            png.to_str().unwrap(),
        ],
    );
    let scanned = run_tool(
        "zbarimg",
        &[
            "--quiet",
            "--raw",
            book.path().join("cover.png").to_str().unwrap(),
        ],
    );
    assert_eq!(scanned.trim(), "9780306406157");

    // Two builds are byte-identical.
    let other = book.path().join("second");
    publish()
        .args(["--format", "pdf", "--book"])
        .arg(book.path())
        .arg("--output")
        .arg(&other)
        .assert()
        .success();
    for name in ["book-print.pdf", "book-cover.pdf"] {
        let a = std::fs::read(output.join(name)).unwrap();
        let b = std::fs::read(other.join(name)).unwrap();
        assert!(a == b, "two builds of {name} differ");
    }
}

#[test]
fn without_bleed_the_boxes_are_the_trim() {
    if !tools() {
        return;
    }
    let book = seed_book("[print]\ntrim = \"6x9in\"\n");
    publish()
        .args(["--format", "pdf", "--book"])
        .arg(book.path())
        .assert()
        .success();
    let pages = boxes(&book.path().join("output/book-print.pdf"));
    for b in &pages {
        for name in ["MediaBox", "BleedBox", "TrimBox"] {
            assert!(close(b[name], [0.0, 0.0, 432.0, 648.0]), "{b:?}");
        }
    }
}

#[test]
fn format_print_builds_the_print_edition_alone_with_the_defaults() {
    if !tools() {
        return;
    }
    // No `[print]` table: `--format print` uses its defaults (A5, no bleed), as `check --print`.
    let book = seed_book("");
    let out = publish()
        .args(["--format", "print", "--book"])
        .arg(book.path())
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("print: book-print.pdf has"), "{stderr}");
    let dir = book.path().join("output");
    assert!(!dir.join("book.pdf").exists(), "no reading PDF");
    assert!(dir.join("book-cover.pdf").is_file());
    for b in &boxes(&dir.join("book-print.pdf")) {
        assert!(
            close(b["TrimBox"], [0.0, 0.0, 148.0 * MM, 210.0 * MM]),
            "{b:?}"
        );
    }
}

#[test]
fn print_config_errors_exit_2_naming_the_key() {
    for (toml, key) in [
        ("[print]\nbleed = \"30mm\"\n", "[print] bleed"),
        ("[print]\ntrim = \"a9\"\n", "[print] trim"),
        ("[print]\npaper = \"81gsm\"\n", "[print] paper"),
        ("[print]\npad-to = 5\n", "[print] pad-to"),
        ("[print]\ncolour = \"cmyk\"\n", "colour"),
        (
            "[book]\nidentifier = \"urn:isbn:9780306406158\"\n",
            "[book] identifier",
        ),
        ("[[volume]]\nparts = \"3-4\"\n", "[[volume]] parts"),
    ] {
        let book = seed_book(toml);
        let out = publish()
            .args(["--format", "pdf", "--book"])
            .arg(book.path())
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(stderr.contains(key), "{toml}: {stderr}");
        assert!(stderr.contains("publish.toml"), "{toml}: {stderr}");
        assert!(
            !book.path().join("output").exists(),
            "{toml}: nothing written"
        );
    }
}

/// `pdftotext` of `pdf` (pages `first..=last` when given).
fn text(pdf: &Path, pages: Option<(usize, usize)>) -> String {
    let mut args: Vec<String> = vec!["-enc".into(), "UTF-8".into()];
    if let Some((f, l)) = pages {
        args.extend(["-f".into(), f.to_string(), "-l".into(), l.to_string()]);
    }
    args.push(pdf.to_str().unwrap().into());
    args.push("-".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // poppler wraps runs of each direction in bidi controls; the text is what is compared.
    run_tool("pdftotext", &args)
        .chars()
        .filter(|c| !matches!(*c as u32, 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069))
        .collect()
}

fn page_count(pdf: &Path) -> usize {
    run_tool("pdfinfo", &[pdf.to_str().unwrap()])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn max_pages_splits_a_long_series_into_whole_volumes() {
    if !tools() {
        return;
    }
    // 200 small parts, each opening on a recto: about 450 pages in all.
    let paragraph = "كان الحديث عن الخلافة في تلك السنوات حديثاً عن السلطة قبل أن يكون حديثاً عن الدين، وكانت الجماعات تتنازع على الشرعية.";
    let files: Vec<(String, Vec<u8>)> = (1..=200)
        .map(|n| {
            let body = format!(
                "+++\ntitle = \"الفصل رقم {n}\"\npart = {n}\nauthor = \"عزيز جلال\"\nseries = \"سلسلة الاختبار\"\n+++\n\n{paragraph}\n\n{paragraph}\n"
            );
            (format!("{n:03}.md"), body.into_bytes())
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let book = book_with(&refs);
    let max = 120;
    std::fs::write(
        book.path().join("publish.toml"),
        format!("[print]\nmax-pages = {max}\n"),
    )
    .unwrap();
    let out = publish()
        .args(["--format", "pdf", "--book"])
        .arg(book.path())
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let output = book.path().join("output");
    assert!(!output.join("book-print.pdf").exists());
    let mut next = 1;
    let mut n = 1;
    let re_title = |s: &str| -> Vec<u32> {
        // «الفصل رقم 17»: the part titles, in the contents and on each part's opening page.
        let mut out = Vec::new();
        let mut rest = s;
        while let Some(i) = rest.find("الفصل رقم") {
            rest = &rest[i + "الفصل رقم".len()..];
            let line = rest.split('\n').next().unwrap_or("");
            // On an opening page the number follows the words; in the contents poppler puts
            // the page number (in Arabic-Indic digits) and the leaders first, the title's
            // number (typed in ASCII) last.
            let digits: String = line
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let digits = if digits.is_empty() {
                let tail: String = line
                    .chars()
                    .rev()
                    .skip_while(|c| !c.is_ascii_digit())
                    .take_while(char::is_ascii_digit)
                    .collect();
                tail.chars().rev().collect()
            } else {
                digits
            };
            if let Ok(v) = digits.parse() {
                out.push(v);
            }
        }
        out
    };
    while output.join(format!("book-{n}.pdf")).exists() {
        let pdf = output.join(format!("book-{n}.pdf"));
        assert!(output.join(format!("book-{n}-cover.pdf")).is_file());
        let pages = page_count(&pdf);
        assert!(
            pages <= max,
            "volume {n} has {pages} pages > {max}\n{stderr}"
        );
        // The title page names the volume.
        let title = text(&pdf, Some((1, 1)));
        let ordinal = [
            "الأول",
            "الثاني",
            "الثالث",
            "الرابع",
            "الخامس",
            "السادس",
            "السابع",
        ][n - 1];
        assert!(
            title.contains(&format!("المجلد {ordinal}")),
            "volume {n}: {title}"
        );
        // Parts whole and in order: the titles first seen (in the contents) are the next run
        // of part numbers, and every part of the volume opens in it.
        let all = re_title(&text(&pdf, None));
        let mut seen = Vec::new();
        for v in &all {
            if !seen.contains(v) {
                seen.push(*v);
            }
        }
        let expected: Vec<u32> = (next..next + seen.len() as u32).collect();
        assert_eq!(
            seen, expected,
            "volume {n}: its parts follow the previous volume's"
        );
        // Its contents (the pages before the first part opens) list exactly its parts.
        let contents_pages = (2..=pages)
            .find(|&p| {
                // The first page of a part: a part label, and no contents line (leaders).
                let t = text(&pdf, Some((p, p)));
                t.contains("الجزء") && !t.contains(". . .")
            })
            .unwrap()
            - 1;
        let contents = re_title(&text(&pdf, Some((1, contents_pages))));
        assert_eq!(contents, expected, "volume {n}: contents");
        // Part numbering continues: only volume 1 has «الجزء الأول».
        assert_eq!(
            text(&pdf, None).contains("الجزء الأول"),
            n == 1,
            "volume {n}: part labels continue across volumes"
        );
        next += seen.len() as u32;
        n += 1;
    }
    assert!(n > 2, "the series was not split:\n{stderr}");
    assert_eq!(next, 201, "every part is in one volume");
    // EPUB and HTML stay one book; the reading PDF too.
    assert!(output.join("book.pdf").is_file());
}

/// A printer that prints grey (`colour = "grey"`): the preflight names the colour image; with
/// the default (colour) it says nothing about colour.
#[test]
fn grey_printing_preflight_names_colour_images() {
    // A 2×2 red PNG.
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0xfd,
        0xd4, 0x9a, 0x73, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
        0xcf, 0xc0, 0x00, 0x44, 0x0c, 0x10, 0x0a, 0x00, 0x1f, 0xee, 0x03, 0xfd, 0x8b, 0x5f, 0x14,
        0xd4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    let part = "+++\ntitle = \"صور\"\npart = 1\n+++\n\nنص قبل الصورة.\n\n![صورة حمراء](red.png)\n\nنص بعدها.\n";
    let book = book_with(&[("001.md", part.as_bytes()), ("red.png", PNG)]);
    let colour_warnings = |toml: &str| -> Vec<String> {
        std::fs::write(book.path().join("publish.toml"), toml).unwrap();
        let out = publish()
            .args(["--format", "pdf", "--diagnostics", "json", "--book"])
            .arg(book.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        stderr
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|d| d["code"] == "preflight")
            .map(|d| d["message"].as_str().unwrap_or("").to_owned())
            .filter(|m| m.contains("colour"))
            .collect()
    };
    let grey = colour_warnings("[print]\ncolour = \"grey\"\n");
    assert!(
        grey.iter().any(|m| m.contains("1 image(s) are in colour")),
        "{grey:?}"
    );
    // Black text and grey rules are not colour: no page is named.
    assert!(
        !grey.iter().any(|m| m.contains("draws in colour")),
        "{grey:?}"
    );
    assert!(colour_warnings("[print]\n").is_empty());
}
