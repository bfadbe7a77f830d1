//! Helpers shared by the integration tests: running `publish`, temporary books, validators.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (the default book lives here: `sources/`, `themes/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    root().join("tests").join("fixtures").join(name)
}

/// The seed part shipped in `sources/`.
pub fn seed() -> PathBuf {
    root().join("sources").join("000_45698de3c11125b4.txt")
}

/// A `publish` command with a fixed build date, so outputs are reproducible.
pub fn publish() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("publish").expect("binary built");
    cmd.env("SOURCE_DATE_EPOCH", "1790000000");
    cmd
}

/// A temporary book folder whose `sources/` holds copies of `files` (`(name, bytes)`).
pub fn book_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("sources");
    std::fs::create_dir_all(&src).unwrap();
    for (name, bytes) in files {
        std::fs::write(src.join(name), bytes).unwrap();
    }
    dir
}

/// A temporary book folder whose `sources/` is a copy of the folder `from`.
pub fn book_from_dir(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("sources");
    std::fs::create_dir_all(&src).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, src.join(p.file_name().unwrap())).unwrap();
        }
    }
    dir
}

/// Is an external validator available? If not: with `PUBLISH_SKIP_VALIDATORS=1` the test is
/// skipped with a loud message; otherwise the test fails saying how to install it.
/// In CI (`CI` set) a missing validator always fails.
pub fn require_tool(program: &str, args: &[&str], install: &str) -> bool {
    let ok = Command::new(program)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    require_found(&format!("`{program}`"), ok, install)
}

/// Find a jar by name below the usual install locations (pip site-packages, npm global root).
pub fn find_jar(file_name: &str) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(format!(
        "PUBLISH_{}_JAR",
        file_name
            .trim_end_matches(".jar")
            .replace('-', "_")
            .to_ascii_uppercase()
    )) {
        return Some(PathBuf::from(p));
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    for cmd in [
        (
            "python3",
            &[
                "-c",
                "import site,sys;print('\\n'.join(site.getsitepackages()))",
            ][..],
        ),
        ("npm", &["root", "-g"][..]),
    ] {
        if let Ok(o) = Command::new(cmd.0).args(cmd.1).output() {
            roots.extend(
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .map(|l| PathBuf::from(l.trim())),
            );
        }
    }
    roots.extend([PathBuf::from("/usr/local/lib"), PathBuf::from("/usr/lib")]);
    roots.into_iter().find_map(|r| walk_find(&r, file_name, 6))
}

fn walk_find(dir: &Path, name: &str, depth: u32) -> Option<PathBuf> {
    if depth == 0 {
        return None;
    }
    let entries = std::fs::read_dir(dir).ok()?;
    let mut dirs = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.file_name().is_some_and(|n| n == name) && p.is_file() {
            return Some(p);
        }
        if p.is_dir() {
            dirs.push(p);
        }
    }
    dirs.sort();
    dirs.into_iter()
        .find_map(|d| walk_find(&d, name, depth - 1))
}

/// Whether a validator that is not a plain command (a script, an npm module) is available: if not,
/// skip loudly with `PUBLISH_SKIP_VALIDATORS=1` (never in CI), else fail saying how to install it.
pub fn require_found(what: &str, found: bool, install: &str) -> bool {
    if found {
        return true;
    }
    let skip = std::env::var("PUBLISH_SKIP_VALIDATORS").is_ok_and(|v| v == "1")
        && std::env::var("CI").is_err();
    if skip {
        eprintln!(
            "\n!!! SKIPPED: {what} is not installed and PUBLISH_SKIP_VALIDATORS=1; install it with: {install}\n"
        );
        false
    } else {
        panic!(
            "{what} is needed by this test and is not installed: {install} (or set PUBLISH_SKIP_VALIDATORS=1 to skip locally)"
        );
    }
}

/// The global npm module folder (`npm root -g`).
pub fn npm_root() -> Option<PathBuf> {
    let o = Command::new("npm").args(["root", "-g"]).output().ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    p.is_dir().then_some(p)
}

/// An npm module installed globally by `scripts/install-test-tools` (`axe-core`,
/// `puppeteer-core`, `@daisy/ace-cli`), or `None`.
pub fn npm_module(name: &str) -> Option<PathBuf> {
    npm_root().map(|r| r.join(name)).filter(|p| p.is_dir())
}

/// `measure.py` of the text-layer tool (`../shared/tools/textlayer`), from the copy that
/// `scripts/install-test-tools` sets up with its node modules (`$PUBLISH_TOOLS/textlayer`,
/// default `/opt/publish-tools/textlayer`), or `$PUBLISH_TEXTLAYER` (a folder).
pub fn textlayer_measure() -> Option<PathBuf> {
    let dirs = [
        std::env::var_os("PUBLISH_TEXTLAYER").map(PathBuf::from),
        Some(
            std::env::var_os("PUBLISH_TOOLS")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/opt/publish-tools"))
                .join("textlayer"),
        ),
        Some(root().join("../shared/tools/textlayer")),
    ];
    dirs.into_iter()
        .flatten()
        .find(|d| d.join("measure.py").is_file() && d.join("node_modules/pdfjs-dist").is_dir())
        .map(|d| d.join("measure.py"))
}

/// Run an external tool, which must succeed; its standard output as text (the failure shows
/// both outputs).
pub fn run_tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// DAISY Ace on `epub` (report written under `report`): every failed assertion, document by
/// document, as `document: rule (impact): html`. Panics when Ace checked no document.
pub fn ace_violations(epub: &Path, report: &Path) -> Vec<String> {
    let mut ace = Command::new("ace-cli");
    if Path::new("/usr/bin/chromium").exists() {
        ace.env("PUPPETEER_EXECUTABLE_PATH", "/usr/bin/chromium");
    }
    let out = ace
        .arg("--silent")
        .arg("--outdir")
        .arg(report)
        .arg(epub)
        .output()
        .expect("ace-cli runs");
    let json = std::fs::read_to_string(report.join("report.json")).unwrap_or_else(|e| {
        panic!(
            "no Ace report ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut failed = Vec::new();
    let mut stack = vec![(&report, String::new())];
    while let Some((node, doc)) = stack.pop() {
        let doc = node["earl:testSubject"]["url"]
            .as_str()
            .map_or(doc, str::to_owned);
        match node["assertions"].as_array() {
            Some(list) => stack.extend(list.iter().map(|a| (a, doc.clone()))),
            None if node["earl:result"]["earl:outcome"] == "fail" => failed.push(format!(
                "{doc}: {} ({}): {}",
                node["earl:test"]["dct:title"],
                node["earl:test"]["earl:impact"],
                node["earl:result"]["html"]
            )),
            None => {}
        }
    }
    assert!(
        !report["assertions"].as_array().unwrap().is_empty(),
        "Ace checked no document"
    );
    failed
}

/// The puppeteer-core module's folder, when it and Debian's chromium are both installed; else
/// `None`, after the loud skip (or, in CI, the failure) of [`require_found`]/[`require_tool`].
pub fn puppeteer_and_chromium() -> Option<PathBuf> {
    let Some(puppeteer) = npm_module("puppeteer-core") else {
        require_found(
            "puppeteer-core",
            false,
            "scripts/install-test-tools (npm install -g puppeteer-core)",
        );
        return None;
    };
    require_tool("chromium", &["--version"], "apt-get install chromium").then_some(puppeteer)
}

/// Decode a (grey) PNG written by pdftoppm into one 8-bit sample a pixel.
pub fn pixels(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    // One sample a pixel (pdftoppm may write grey as RGB): the first channel.
    let channels = buf.len() / (info.width as usize * info.height as usize);
    let grey = buf.iter().step_by(channels.max(1)).copied().collect();
    (info.width, info.height, grey)
}

/// Pixels of `a` that differ by more than a quarter of the grey scale from every pixel of
/// `b` in their 3×3 neighbourhood, and the other way round: differences that a shift of up to
/// a pixel (rounding, hinting, anti-aliasing) cannot explain.
pub fn beyond_anti_aliasing(width: usize, a: &[u8], b: &[u8]) -> usize {
    let height = a.len() / width;
    let far = |x: &[u8], y: &[u8], i: usize| {
        let (r, c) = (i / width, i % width);
        let v = i32::from(x[i]);
        for dr in r.saturating_sub(1)..=(r + 1).min(height - 1) {
            for dc in c.saturating_sub(1)..=(c + 1).min(width - 1) {
                if (v - i32::from(y[dr * width + dc])).abs() <= 64 {
                    return false;
                }
            }
        }
        true
    };
    (0..a.len())
        .filter(|&i| a[i] != b[i] && (far(a, b, i) || far(b, a, i)))
        .count()
}

/// Render the PDFs `a` and `b` at 150 dpi in grey (`pdftoppm`) and compare them page by page
/// (they must have the same pages): the share of pixels that differ at all, and the share
/// that differ beyond anti-aliasing ([`beyond_anti_aliasing`]).
pub fn render_difference(a: &Path, b: &Path) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    for (pdf, name) in [(a, "a"), (b, "b")] {
        run_tool(
            "pdftoppm",
            &[
                "-r",
                "150",
                "-gray",
                "-png",
                pdf.to_str().unwrap(),
                dir.path().join(name).to_str().unwrap(),
            ],
        );
    }
    let mut renders: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("a-"))
        .collect();
    renders.sort();
    assert!(!renders.is_empty(), "pdftoppm rendered no page");
    let (mut differ, mut total, mut beyond) = (0usize, 0usize, 0usize);
    for ra in renders {
        let name = ra
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .replacen("a-", "b-", 1);
        let rb = dir.path().join(name);
        assert!(
            rb.exists(),
            "{} has fewer pages than {}",
            b.display(),
            a.display()
        );
        let (wa, ha, pa) = pixels(&ra);
        let (wb, hb, pb) = pixels(&rb);
        assert_eq!((wa, ha), (wb, hb), "page sizes differ");
        total += pa.len();
        differ += pa.iter().zip(&pb).filter(|(x, y)| x != y).count();
        beyond += beyond_anti_aliasing(wa as usize, &pa, &pb);
    }
    (differ as f64 / total as f64, beyond as f64 / total as f64)
}
