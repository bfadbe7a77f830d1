//! The HTML site (issue 5): structure, hostile text, reproducibility, the Nu HTML Checker, the
//! search normaliser (Rust and JavaScript on one table) and headless Chromium.

mod common;

use common::{book_from_dir, book_with, find_jar, fixture, publish, require_tool, seed};
use publish::write::html::search;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Build the HTML edition of `book` and return the site folder.
fn build_html(book: &Path) -> PathBuf {
    publish()
        .args(["--format", "html", "--book"])
        .arg(book)
        .assert()
        .success();
    let site = book.join("output").join("html");
    assert!(
        site.join("index.html").is_file(),
        "no index.html in {site:?}"
    );
    site
}

fn seed_book() -> tempfile::TempDir {
    let bytes = std::fs::read(seed()).unwrap();
    book_with(&[("000_45698de3c11125b4.txt", &bytes)])
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Every file of a folder, relative path → bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn html_pages(site: &Path) -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(site)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    pages.sort();
    pages
}

#[test]
fn site_has_index_parts_and_whole_book_with_relative_links() {
    let book = book_from_dir(&fixture("html/series"));
    let site = build_html(book.path());
    let files = tree(&site);
    for f in [
        "index.html",
        "book.html",
        "part-1.html",
        "part-2.html",
        "part-3.html",
        "part-4.html",
        "book.css",
        "site.css",
        "search.js",
        "search/meta.js",
        "search/t0.js",
        "search/s0.js",
        "fonts/Amiri-Regular.woff2",
        "fonts/OFL-Amiri.txt",
    ] {
        assert!(
            files.contains_key(f),
            "missing {f}; have {:?}",
            files.keys()
        );
    }
    // The fonts are the theme's, as WOFF2.
    assert!(files["fonts/Amiri-Regular.woff2"].starts_with(b"wOF2"));

    let index = read(&site.join("index.html"));
    // Contents in part order, each a relative link.
    let positions: Vec<usize> = (1..=4)
        .map(|n| {
            index
                .find(&format!("href=\"part-{n}.html\""))
                .unwrap_or_else(|| panic!("no link to part {n}"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert!(index.contains("الجزء الأول"), "part label missing");
    assert!(index.contains("كاتب الاختبار"), "author missing");
    assert!(index.contains("href=\"book.html\""));

    for page in html_pages(&site) {
        let html = read(&page);
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            html.contains("<html lang=\"ar\" dir=\"rtl\">"),
            "{name}: no lang/dir"
        );
        for landmark in [
            "<header",
            "<main id=\"main\"",
            "<footer",
            "class=\"skip-link\"",
        ] {
            assert!(html.contains(landmark), "{name}: no {landmark}");
        }
        for bad in ["href=\"/", "src=\"/", "http://", "//cdn", "src=\"http"] {
            assert!(
                !html.contains(bad),
                "{name}: non-relative or network URL {bad}"
            );
        }
        let h1 = html.matches("<h1").count();
        assert_eq!(h1, 1, "{name}: {h1} h1 elements");
    }
    // Only the content's own https link leaves the site.
    let p2 = read(&site.join("part-2.html"));
    assert!(p2.contains("href=\"https://example.org/library\""));

    // Prev/next in reading order, and footnotes with references and backlinks.
    assert!(p2.contains("<a class=\"pager-prev\" rel=\"prev\" href=\"part-1.html\""));
    assert!(p2.contains("<a class=\"pager-next\" rel=\"next\" href=\"part-3.html\""));
    assert!(p2.find("pager-prev").unwrap() < p2.find("pager-next").unwrap());
    assert!(p2.contains("role=\"doc-noteref\""));
    assert!(p2.contains("href=\"#fnref1\" role=\"doc-backlink\""));
    assert!(!read(&site.join("part-1.html")).contains("pager-prev"));
    assert!(!read(&site.join("part-4.html")).contains("pager-next"));

    // The whole book holds every part once, with ids that do not clash.
    let whole = read(&site.join("book.html"));
    for n in 1..=4 {
        assert_eq!(
            whole.matches(&format!("id=\"part-{n}-title\"")).count(),
            1,
            "part {n} in book.html"
        );
    }
    let ids: Vec<&str> = whole
        .split("id=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ids.len(), unique.len(), "duplicate ids in book.html");
}

#[test]
fn search_can_be_turned_off() {
    let book = book_from_dir(&fixture("html/series"));
    std::fs::write(book.path().join("publish.toml"), "[html]\nsearch = false\n").unwrap();
    let site = build_html(book.path());
    assert!(!site.join("search").exists());
    assert!(!site.join("search.js").exists());
    let index = read(&site.join("index.html"));
    assert_eq!(index.matches("<script").count(), 1, "only site.js");
    assert!(!index.contains("role=\"search\""));
}

#[test]
fn css_uses_logical_properties_only() {
    for name in ["book.css", "site.css"] {
        let css = read(&common::root().join("themes/default").join(name));
        assert!(css.len() > 1000, "{name} is (nearly) empty");
        // Comments may talk about left and right; blank them out, keeping the line numbers.
        let mut code = String::new();
        let mut rest = css.as_str();
        while let Some(start) = rest.find("/*") {
            code.push_str(&rest[..start]);
            let end = rest[start..]
                .find("*/")
                .map_or(rest.len(), |e| start + e + 2);
            code.extend(rest[start..end].chars().filter(|c| *c == '\n'));
            rest = &rest[end..];
        }
        code.push_str(rest);
        for (i, line) in code.lines().enumerate() {
            let l = line.to_ascii_lowercase();
            for bad in [
                "-left", "-right", " left:", " right:", ": left", ": right", "float:",
            ] {
                assert!(
                    !l.contains(bad),
                    "{name}:{}: physical direction `{bad}` in `{line}`",
                    i + 1
                );
            }
            // Four-value margin/padding shorthands name left and right; two sides may differ.
            for prop in ["margin:", "padding:"] {
                if let Some(rest) = l.trim_start().strip_prefix(prop) {
                    let values: Vec<&str> = rest.trim_end_matches(';').split_whitespace().collect();
                    assert!(
                        values.len() < 4 || values[1] == values[3],
                        "{name}:{}: asymmetric `{line}`",
                        i + 1
                    );
                }
            }
        }
    }
    let book = read(&common::root().join("themes/default/book.css"));
    assert!(book.contains("url(\"fonts/Amiri-Regular.ttf\")"));
    let site = read(&common::root().join("themes/default/site.css"));
    assert!(site.contains("prefers-color-scheme: dark"));
    assert!(site.contains("@media print"));
    assert!(site.contains(":focus-visible"));
}

#[test]
fn hostile_text_is_shown_literally_and_creates_no_element() {
    let book = book_from_dir(&fixture("html/hostile"));
    let out = publish()
        .args(["--format", "html", "--book"])
        .arg(book.path())
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("unsafe-link"), "no warning: {stderr}");
    let site = book.path().join("output/html");
    let p1 = read(&site.join("part-1.html"));
    let p2 = read(&site.join("part-2.html"));
    // Left-to-right runs are isolated in <bdi>; the text is what is left without those tags.
    let text = |html: &str| html.replace("<bdi dir=\"ltr\">", "").replace("</bdi>", "");
    let (t1, t2) = (text(&p1), text(&p2));
    for (name, page) in [("part-1", &t1), ("part-2", &t2)] {
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{name}: script tag not shown literally"
        );
        assert!(page.contains("&amp;amp;"), "{name}: &amp;amp; not literal");
        assert!(page.contains("javascript:alert(1)"), "{name}: text lost");
    }
    assert!(t1.contains("نص عدائي &lt;b&gt;عريض&lt;/b&gt;"), "{t1}");
    assert!(t2.contains("&lt;img src=x onerror=alert(1)&gt;"), "{t2}");
    assert!(t1.contains("انقر هنا"), "the dropped link's text is kept");
    for page in html_pages(&site) {
        let html = read(&page);
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        let scripts = html.matches("<script").count();
        // Only the theme's scripts (search and reader features), on every page.
        assert_eq!(scripts, 2, "{name}: script elements");
        assert!(html.contains("<script src=\"site.js\"></script>"), "{name}");
        assert!(
            html.contains("<script src=\"search.js\"></script>"),
            "{name}"
        );
        for bad in [
            "<img",
            "<b>",
            "javascript:alert(1)\"",
            "href=\"javascript",
            "onerror=\"",
        ] {
            assert!(!html.contains(bad), "{name}: {bad}");
        }
    }
    // The index's snippet chunks carry the text as data in JavaScript strings, with `<`, `>`
    // and `&` as \u escapes so nothing in it can close a script element.
    let mut chunks = String::new();
    for (name, bytes) in tree(&site) {
        if name.starts_with("search/") {
            let js = String::from_utf8(bytes).unwrap();
            assert!(!js.contains('<'), "{name}");
            assert_eq!(
                js.matches('\n').count(),
                1,
                "{name}: one statement, one line"
            );
            assert!(js.starts_with("PublishSearch."), "{name}");
            chunks.push_str(&js);
        }
    }
    assert!(chunks.contains(r"\u003cscript\u003ealert(1)\u003c/script\u003e"));
}

#[test]
fn two_builds_are_byte_identical() {
    let a = book_from_dir(&fixture("html/series"));
    let b = book_from_dir(&fixture("html/series"));
    let ta = tree(&build_html(a.path()));
    let tb = tree(&build_html(b.path()));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        assert!(v == &tb[k], "{k} differs between two builds");
    }
}

/// One row of `tests/fixtures/html/normalize.tsv`.
struct Row {
    line: usize,
    input: String,
    normalized: String,
    stems: Vec<String>,
}

fn normalize_table() -> Vec<Row> {
    read(&fixture("html/normalize.tsv"))
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty())
        .map(|(i, l)| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert!(
                cols.len() >= 2,
                "normalize.tsv:{}: needs two columns",
                i + 1
            );
            Row {
                line: i + 1,
                input: cols[0].to_owned(),
                normalized: cols[1].to_owned(),
                stems: cols
                    .get(2)
                    .filter(|s| !s.is_empty())
                    .map(|s| s.split(',').map(str::to_owned).collect())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

#[test]
fn normaliser_table() {
    let rows = normalize_table();
    assert!(rows.len() >= 20);
    for r in &rows {
        let n = search::normalize(&r.input);
        assert_eq!(n, r.normalized, "normalize.tsv:{} ({:?})", r.line, r.input);
        assert_eq!(
            search::stems(&n),
            r.stems,
            "normalize.tsv:{} stems of {n:?}",
            r.line
        );
    }
}

#[test]
fn search_js_agrees_with_the_rust_normaliser() {
    if !require_tool("node", &["--version"], "apt-get install nodejs") {
        return;
    }
    let rows = normalize_table();
    let inputs: Vec<&str> = rows.iter().map(|r| r.input.as_str()).collect();
    let script = common::root().join("themes/default/search.js");
    let program = r#"
const fs = require("fs");
const vm = require("vm");
vm.runInThisContext(fs.readFileSync(process.argv[1], "utf8"));
const inputs = JSON.parse(fs.readFileSync(0, "utf8"));
const S = globalThis.PublishSearch;
console.log(JSON.stringify(inputs.map(s => [S.normalize(s), S.words(s), S.stems(S.normalize(s))])));
"#;
    let mut child = Command::new("node")
        .args(["-e", program])
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(serde_json::to_string(&inputs).unwrap().as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let js: Vec<(String, Vec<String>, Vec<String>)> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(js.len(), rows.len());
    for (r, (n, words, stems)) in rows.iter().zip(js) {
        assert_eq!(
            n, r.normalized,
            "search.js normalize, normalize.tsv:{}",
            r.line
        );
        assert_eq!(
            words,
            search::words(&r.input),
            "words, normalize.tsv:{}",
            r.line
        );
        assert_eq!(stems, r.stems, "search.js stems, normalize.tsv:{}", r.line);
    }
}

/// The Nu HTML Checker's messages that count: errors and warnings (not plain info).
fn vnu_problems(files: &[PathBuf]) -> Vec<String> {
    let jar = find_jar("vnu.jar").expect(
        "vnu.jar not found: npm install -g --ignore-scripts vnu-jar (or set PUBLISH_VNU_JAR)",
    );
    let out = Command::new("java")
        .args(["-jar"])
        .arg(&jar)
        .args(["--format", "json", "--also-check-css"])
        .args(files)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stderr)
        .or_else(|_| serde_json::from_slice(&out.stdout))
        .unwrap_or_else(|e| {
            panic!(
                "vnu output is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    report["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] != "info" || m["subType"] == "warning")
        .map(|m| {
            format!(
                "{}:{}: {} {}: {}",
                m["url"].as_str().unwrap_or(""),
                m["lastLine"],
                m["type"],
                m["subType"].as_str().unwrap_or(""),
                m["message"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn nu_html_checker_finds_no_errors_or_warnings() {
    if !require_tool(
        "java",
        &["-version"],
        "apt-get install -y default-jre-headless",
    ) {
        return;
    }
    let seed = seed_book();
    let series = book_from_dir(&fixture("html/series"));
    let hostile = book_from_dir(&fixture("html/hostile"));
    let mut files = Vec::new();
    for book in [&seed, &series, &hostile] {
        let site = build_html(book.path());
        files.extend(html_pages(&site));
        files.push(site.join("book.css"));
        files.push(site.join("site.css"));
    }
    // index, book, 1 part + index, book, 4 parts + index, book, 2 parts.
    assert_eq!(
        files
            .iter()
            .filter(|f| f.extension().unwrap() == "html")
            .count(),
        3 + 6 + 4
    );
    let problems = vnu_problems(&files);
    assert!(
        problems.is_empty(),
        "{} errors/warnings:\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!("vnu: 0 errors, 0 warnings on {} files", files.len());
}

/// Run headless Chromium on `url` and return the serialised DOM after scripts ran.
fn chromium_dom(url: &str, width: u32) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--window-size={width},800"))
        .args(["--virtual-time-budget=5000", "--dump-dom"])
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn file_url(path: &Path) -> String {
    // Percent-encode what a file URL cannot hold as is (the temp paths are ASCII).
    format!("file://{}", path.display()).replace(' ', "%20")
}

/// The measurements and search results a test script put into `<pre id="test-out">`.
fn probe_output(dom: &str) -> serde_json::Value {
    let start = dom
        .find("<pre id=\"test-out\">")
        .unwrap_or_else(|| panic!("the probe did not run; DOM:\n{dom}"))
        + "<pre id=\"test-out\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let text = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A test copy of `page` (in the same folder, so its relative links work) that measures the
/// layout and runs `queries` through the real search box, then reports the results as JSON.
/// Headless Chromium will not make a window narrower than 500 px, so the copy is shown in an
/// iframe `width` px wide and posts its report to the frame around it.
fn probe(site: &Path, page: &str, queries: &[&str], width: u32) -> serde_json::Value {
    let probe_js = r##"
window.addEventListener("load", function () {
  var root = document.documentElement;
  var out = {
    direction: getComputedStyle(root).direction,
    bodyDirection: getComputedStyle(document.body).direction,
    innerWidth: window.innerWidth,
    scrollWidth: root.scrollWidth,
    clientWidth: root.clientWidth,
    amiri: document.fonts.check("16px Amiri"),
    fontFamily: getComputedStyle(document.body).fontFamily,
    searchShown: !!document.getElementById("search") && !document.getElementById("search").hidden,
    queries: {}
  };
  var prev = document.querySelector(".pager-prev");
  var next = document.querySelector(".pager-next");
  if (prev && next) {
    out.prevLeft = prev.getBoundingClientRect().left;
    out.nextLeft = next.getBoundingClientRect().left;
  }
  // `s` focuses the search box; the reading tools are added.
  document.dispatchEvent(new KeyboardEvent("keydown", { key: "s", bubbles: true }));
  out.sFocus = document.activeElement ? document.activeElement.id : null;
  if (document.activeElement) document.activeElement.blur();
  out.tools = !!document.querySelector(".reader-tools button");
  var input = document.getElementById("q");
  // Each query goes through the real search box; search.js reports when it has shown results
  // (the index loads asynchronously, shard by shard).
  function one(i) {
    if (i >= QUERIES.length) {
      out.status = (document.getElementById("search-status") || {}).textContent;
      out.url = location.search;
      parent.postMessage(JSON.stringify(out), "*");
      return;
    }
    var q = QUERIES[i];
    document.addEventListener("publish-search-done", function h(e) {
      if (e.detail.query !== q) return;
      document.removeEventListener("publish-search-done", h);
      out.queries[q] = Array.from(document.querySelectorAll("#search-results li.result")).map(function (li) {
        var snippet = li.querySelector(".snippet");
        return {
          href: li.querySelector("a").getAttribute("href"),
          label: li.closest(".result-group").querySelector(".result-part").textContent,
          marks: Array.from(snippet.querySelectorAll("mark")).map(function (m) { return m.textContent; }),
          snippet: snippet.textContent,
          elements: snippet.querySelectorAll("*").length - snippet.querySelectorAll("mark").length
        };
      });
      out.counts = out.counts || {};
      var st = document.getElementById("search-status");
      out.counts[q] = st ? Number(st.getAttribute("data-count")) : -1;
      out.statuses = out.statuses || {};
      out.statuses[q] = st ? st.textContent : "";
      one(i + 1);
    });
    input.value = q;
    input.dispatchEvent(new Event("input"));
  }
  if (QUERIES.length === 0) { parent.postMessage(JSON.stringify(out), "*"); return; }
  one(0);
});
"##
    .replace("QUERIES", &serde_json::to_string(queries).unwrap());
    let frame = format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>probe</title></head>
<body style="margin:0">
<iframe src="probe-{page}" title="probe" style="width:{width}px;height:800px;border:0"></iframe>
<script>
window.addEventListener("message", function (e) {{
  var pre = document.createElement("pre");
  pre.id = "test-out";
  pre.textContent = e.data;
  document.body.appendChild(pre);
}});
</script>
</body></html>
"#
    );
    let html = read(&site.join(page));
    std::fs::write(site.join("probe.js"), probe_js).unwrap();
    std::fs::write(
        site.join(format!("probe-{page}")),
        html.replace("</body>", "<script src=\"probe.js\"></script>\n</body>"),
    )
    .unwrap();
    let harness = site.join(format!("probe-frame-{page}"));
    std::fs::write(&harness, frame).unwrap();
    probe_output(&chromium_dom(&file_url(&harness), width.max(500) + 100))
}

/// A result's link without its `?h=` highlight query: `part-14.html#p3`.
fn target(r: &serde_json::Value) -> String {
    let href = r["href"].as_str().unwrap();
    match (href.find('?'), href.find('#')) {
        (Some(q), Some(h)) if q < h => format!("{}{}", &href[..q], &href[h..]),
        _ => href.to_owned(),
    }
}

fn results<'a>(v: &'a serde_json::Value, q: &str) -> &'a Vec<serde_json::Value> {
    v["queries"][q]
        .as_array()
        .unwrap_or_else(|| panic!("no results array for {q}: {v}"))
}

fn assert_no_horizontal_scroll(v: &serde_json::Value, what: &str) {
    assert_eq!(
        v["innerWidth"], 360,
        "{what}: the window is not 360 px wide: {v}"
    );
    let (sw, cw) = (
        v["scrollWidth"].as_i64().unwrap(),
        v["clientWidth"].as_i64().unwrap(),
    );
    assert!(
        sw <= cw,
        "{what}: horizontal scroll at 360 px ({sw} > {cw})"
    );
}

#[test]
fn browser_seed_book_is_rtl_fits_a_phone_and_search_is_arabic_aware() {
    if !require_tool("chromium", &["--version"], "apt-get install -y chromium") {
        return;
    }
    let book = seed_book();
    let site = build_html(book.path());
    let queries = [
        "الموصل",
        "تدريجيا",
        "اكتوبر",
        "موصل",
        "قيادة القوات",
        "١٧",
        "zzzz",
    ];
    let v = probe(&site, "index.html", &queries, 360);
    assert_eq!(v["direction"], "rtl", "{v}");
    assert_eq!(v["bodyDirection"], "rtl");
    assert_eq!(v["sFocus"], "q", "`s` does not focus the search box: {v}");
    assert_eq!(v["tools"], true, "no reading tools: {v}");
    assert_eq!(v["amiri"], true, "the embedded font did not load: {v}");
    assert_eq!(
        v["searchShown"], true,
        "search.js did not reveal the search box"
    );
    assert_no_horizontal_scroll(&v, "index.html");

    let mosul = results(&v, "الموصل");
    assert!(!mosul.is_empty(), "«الموصل» found nothing: {v}");
    for r in mosul {
        assert!(target(r).starts_with("part-14.html#"), "{r}");
        assert_eq!(r["label"], "الجزء الرابع عشر");
        assert!(
            r["marks"].as_array().unwrap().iter().any(|m| m == "الموصل"),
            "{r}"
        );
        assert_eq!(r["elements"], 0, "snippet has elements besides <mark>: {r}");
    }
    // The title and the paragraphs that name the city, title first.
    assert_eq!(target(&mosul[0]), "part-14.html#title");

    let gradual = results(&v, "تدريجيا");
    assert!(!gradual.is_empty(), "«تدريجيا» found nothing");
    assert!(
        gradual.iter().all(|r| r["marks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "تدريجيًا")),
        "«تدريجيًا» (with tanwin) not highlighted: {gradual:?}"
    );

    let october = results(&v, "اكتوبر");
    assert!(
        october
            .iter()
            .any(|r| r["marks"].as_array().unwrap().iter().any(|m| m == "أكتوبر")),
        "«اكتوبر» did not find «أكتوبر»: {october:?}"
    );
    // Without the article: «موصل» finds «الموصل».
    assert!(
        results(&v, "موصل").iter().any(|r| r["marks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "الموصل")),
        "«موصل» did not find «الموصل»"
    );
    // Every word must match: «قيادة القوات» needs both (a prefix of «بقيادة» via its stem;
    // «القوات» without its article is «قوات», which the text has too).
    let both = results(&v, "قيادة القوات");
    assert!(!both.is_empty());
    for r in both {
        let s = r["snippet"].as_str().unwrap();
        assert!(s.contains("قوات"), "{s}");
    }
    // Arabic-Indic digits in the query find Western digits in the text.
    assert!(
        results(&v, "١٧")
            .iter()
            .any(|r| r["marks"].as_array().unwrap().iter().any(|m| m == "17")),
        "«١٧» did not find 17"
    );
    assert!(results(&v, "zzzz").is_empty());
    assert_eq!(v["status"], "لا نتائج.");

    let part = probe(&site, "part-14.html", &[], 360);
    assert_eq!(part["direction"], "rtl");
    assert_no_horizontal_scroll(&part, "part-14.html");
    let whole = probe(&site, "book.html", &[], 360);
    assert_no_horizontal_scroll(&whole, "book.html");
}

#[test]
fn browser_search_from_another_page_and_multi_part_fixture() {
    if !require_tool("chromium", &["--version"], "apt-get install -y chromium") {
        return;
    }
    let book = book_from_dir(&fixture("html/series"));
    let site = build_html(book.path());

    // The search form of a part page opens index.html?q=…, which shows the results.
    let url = format!(
        "{}?q=%D8%A7%D9%84%D8%B1%D9%82%D8%A9",
        file_url(&site.join("index.html"))
    );
    let dom = chromium_dom(&url, 1200);
    let list = &dom[dom.find("id=\"search-results\"").expect("results list")..];
    let list = &list[..list.find("</ol>").unwrap()];
    assert!(
        list.contains("href=\"part-2.html?h="),
        "«الرقة» did not find part 2: {list}"
    );
    assert!(list.contains("<mark>الرقة</mark>"), "{list}");

    let v = probe(
        &site,
        "index.html",
        &["امل", "اسلام", "مدرسة", "الموصل", "sassafras", "let"],
        360,
    );
    assert_no_horizontal_scroll(&v, "series index.html");
    let hamza = results(&v, "امل");
    assert!(
        hamza
            .iter()
            .any(|r| r["marks"].as_array().unwrap().iter().any(|m| m == "وأمل")),
        "«امل» did not find «وأمل» (stem of a word with أ): {hamza:?}"
    );
    assert!(
        results(&v, "اسلام").iter().any(|r| r["marks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "إسلام")),
    );
    assert!(
        results(&v, "مدرسة")
            .iter()
            .any(|r| target(r).starts_with("part-4.html#")),
        "«مدرسة» did not find part 4"
    );
    let mosul = results(&v, "الموصل");
    assert!(mosul.iter().any(|r| {
        r["marks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "بالموصل")
    }));
    assert!(mosul.iter().all(|r| target(r).starts_with("part-1.html#")));
    assert!(results(&v, "sassafras").is_empty());
    assert!(!results(&v, "let").is_empty(), "inline code is searchable");

    // Prev/next: "next" sits on the left of "previous" in a right-to-left page.
    let p = probe(&site, "part-2.html", &[], 1200);
    let (prev, next) = (
        p["prevLeft"].as_f64().unwrap(),
        p["nextLeft"].as_f64().unwrap(),
    );
    assert!(
        next < prev,
        "next ({next}) is not left of previous ({prev})"
    );
    for page in ["part-1.html", "part-3.html", "book.html"] {
        assert_no_horizontal_scroll(&probe(&site, page, &[], 360), page);
    }
}

#[test]
fn browser_hostile_search_results_are_text() {
    if !require_tool("chromium", &["--version"], "apt-get install -y chromium") {
        return;
    }
    let book = book_from_dir(&fixture("html/hostile"));
    let site = build_html(book.path());
    let v = probe(&site, "index.html", &["alert", "onerror"], 1200);
    let found = results(&v, "alert");
    assert!(found.len() >= 2, "{v}");
    assert!(found.iter().any(|r| {
        r["snippet"]
            .as_str()
            .unwrap()
            .contains("<script>alert(1)</script>")
    }));
    for r in found.iter().chain(results(&v, "onerror")) {
        assert_eq!(r["elements"], 0, "source text became an element: {r}");
    }
}

#[test]
fn browser_search_strips_prefixes_matches_phrases_counts_truly_and_pages() {
    if !require_tool("chromium", &["--version"], "apt-get install -y chromium") {
        return;
    }
    let book = book_from_dir(&fixture("html/search"));
    let site = build_html(book.path());
    let queries = [
        "الموصل",
        "والموصل",
        "بالموصل",
        "للموصل",
        "معركة الموصل",
        "\"معركة الموصل\"",
        "«معركة الموصل»",
        "אלהים",
        "H.264",
        "x.509",
        "zzzz",
        "الموصل",
    ];
    let v = probe(&site, "part-2.html", &queries, 1200);
    let count = |q: &str| {
        v["counts"][q]
            .as_i64()
            .unwrap_or_else(|| panic!("{q}: {v}"))
    };
    // 30 numbered paragraphs, two about the battle and the title in part 1; two in part 2.
    assert_eq!(count("الموصل"), 35, "{v}");
    // The same stripping on the query as on the text: every spelling finds every paragraph.
    for q in ["والموصل", "بالموصل", "للموصل"] {
        assert_eq!(count(q), 35, "{q}: {v}");
    }
    // The true count, grouped by part, with the first page of results shown.
    assert_eq!(v["statuses"]["الموصل"], "النتائج: ٣٥ (الأجزاء: ٢)");
    assert_eq!(results(&v, "الموصل").len(), 20, "one page of results");
    // Both words anywhere: two paragraphs; the quoted phrase: only the one with them in order.
    assert_eq!(count("معركة الموصل"), 2);
    for q in ["\"معركة الموصل\"", "«معركة الموصل»"] {
        assert_eq!(count(q), 1, "{q}: {v}");
        assert!(
            results(&v, q)[0]["snippet"]
                .as_str()
                .unwrap()
                .contains("معركة الموصل")
        );
    }
    // Hebrew points and cantillation are folded.
    assert_eq!(count("אלהים"), 1);
    assert_eq!(results(&v, "אלהים")[0]["marks"][0], "אֱלֹהִים");
    // Technical tokens stay whole: «H.264» does not find or mark «https».
    for (q, mark) in [("H.264", "H.264"), ("x.509", "X.509")] {
        assert_eq!(count(q), 1, "{q}");
        assert_eq!(results(&v, q)[0]["marks"], serde_json::json!([mark]), "{q}");
    }
    assert_eq!(count("zzzz"), 0);
    // The query is in the page's URL (Back and a shared link restore it), and results land on
    // the paragraph with the words to highlight.
    assert!(v["url"].as_str().unwrap().starts_with("?q=%D8%A7"), "{v}");
    let first = &results(&v, "الموصل")[0];
    assert_eq!(target(first), "part-1.html#title");
    assert!(first["href"].as_str().unwrap().contains("?h="), "{first}");

    // A page opened with ?q= shows the results at once; "more" shows the rest; a result's
    // page marks the words in the paragraph it lands on.
    let url = format!(
        "{}?q=%D8%A7%D9%84%D9%85%D9%88%D8%B5%D9%84",
        file_url(&site.join("part-1.html"))
    );
    let dom = chromium_dom(&url, 1200);
    assert_eq!(dom.matches("class=\"result\"").count(), 20, "{dom}");
    assert!(dom.contains("class=\"search-more\""));
    let anchor = target(&results(&v, "الموصل")[5]);
    let anchor = anchor.split('#').nth(1).unwrap();
    let url = format!(
        "{}?h=%D8%A7%D9%84%D9%85%D9%88%D8%B5%D9%84#{anchor}",
        file_url(&site.join("part-1.html"))
    );
    let dom = chromium_dom(&url, 1200);
    let at = dom.find(&format!("id=\"{anchor}\"")).expect("anchor");
    let para = &dom[at..at + dom[at..].find("</p>").unwrap()];
    assert!(
        para.contains("<mark class=\"search-hit\">الموصل</mark>"),
        "{para}"
    );
}

/// The `content` of `<meta name|property="key">` in `html`, unescaped, or `None`.
fn meta_content(html: &str, attr: &str, key: &str) -> Option<String> {
    let start = html.find(&format!("<meta {attr}=\"{key}\" content=\""))?
        + format!("<meta {attr}=\"{key}\" content=\"").len();
    let end = start + html[start..].find('"')?;
    Some(
        html[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

#[test]
fn every_page_has_a_description_and_open_graph_tags() {
    let book = book_from_dir(&fixture("html/series"));
    let site = build_html(book.path());
    let p1 = read(&site.join("part-1.html"));
    let index = read(&site.join("index.html"));
    let whole = read(&site.join("book.html"));
    // A part: the opening of its text, cut at a word; an article.
    let d1 = meta_content(&p1, "name", "description").expect("part description");
    assert!(d1.starts_with("بدأت القصة في مدينةٍ قديمة"), "{d1}");
    assert!(d1.chars().count() <= 161, "{d1}");
    assert!(!d1.contains("[^1]") && !d1.contains('*'), "{d1}");
    assert_eq!(
        meta_content(&p1, "property", "og:description"),
        Some(d1.clone())
    );
    assert_eq!(meta_content(&p1, "property", "og:type").unwrap(), "article");
    assert_eq!(
        meta_content(&p1, "property", "og:title").unwrap(),
        "الجزء الأول: البداية في الموصل"
    );
    // The book's pages: the book's opening (no subtitle here); a book.
    for (name, page) in [("index", &index), ("book", &whole)] {
        assert_eq!(
            meta_content(page, "name", "description").as_ref(),
            Some(&d1),
            "{name}"
        );
        assert_eq!(meta_content(page, "property", "og:type").unwrap(), "book");
    }
    for page in html_pages(&site) {
        let html = read(&page);
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        for key in [
            "og:title",
            "og:type",
            "og:description",
            "og:locale",
            "og:site_name",
        ] {
            assert!(
                meta_content(&html, "property", key).is_some_and(|v| !v.is_empty()),
                "{name}: no {key}"
            );
        }
        assert_eq!(
            meta_content(&html, "property", "og:locale").unwrap(),
            "ar_AR"
        );
        assert_eq!(
            meta_content(&html, "property", "og:site_name").unwrap(),
            meta_content(&index, "property", "og:title").unwrap(),
            "{name}"
        );
    }

    // Text is data: quotes and markup in the subtitle, a title and the opening stay text.
    let hostile = book_with(&[(
        "01.md",
        "+++\ntitle = \"\\\"><script>alert(1)</script>\"\npart = 1\n+++\n\nنص \"مقتبس\" <b>عريض</b> & 'مفرد' وكلمات أخرى.\n"
            .as_bytes(),
    )]);
    std::fs::write(
        hostile.path().join("publish.toml"),
        "[book]\ntitle = \"كتاب <i>\"\nsubtitle = \"عنوان \\\"فرعي\\\" <meta name=x>\"\n",
    )
    .unwrap();
    let site = build_html(hostile.path());
    let index = read(&site.join("index.html"));
    let part = read(&site.join("part-1.html"));
    assert_eq!(
        meta_content(&index, "name", "description").unwrap(),
        "عنوان \"فرعي\" <meta name=x>"
    );
    assert_eq!(
        meta_content(&index, "property", "og:site_name").unwrap(),
        "كتاب <i>"
    );
    assert!(
        meta_content(&part, "property", "og:title")
            .unwrap()
            .ends_with("\"><script>alert(1)</script>")
    );
    assert!(
        meta_content(&part, "name", "description")
            .unwrap()
            .starts_with("نص \"مقتبس\"")
    );
    for html in [&index, &part] {
        let head = &html[..html.find("</head>").unwrap()];
        assert!(!head.contains("<script>") && !head.contains("<meta name=x>"));
        assert!(!head.contains("<i>") && !head.contains("<b>"), "{head}");
    }
}

/// The browser measurements of `tests/site/measure.js` (puppeteer-core, axe-core, Chromium) for
/// `jobs`, or `None` when the tools are missing (skipped loudly locally, a failure in CI).
fn measure(jobs: &serde_json::Value) -> Option<Vec<serde_json::Value>> {
    let tools = require_tool("node", &["--version"], "apt-get install nodejs")
        && require_tool("chromium", &["--version"], "apt-get install -y chromium")
        && common::require_found(
            "puppeteer-core and axe-core",
            common::npm_module("puppeteer-core").is_some()
                && common::npm_module("axe-core").is_some_and(|p| p.join("axe.min.js").is_file()),
            "scripts/install-test-tools (npm install -g axe-core puppeteer-core)",
        );
    if !tools {
        return None;
    }
    let out = Command::new("node")
        .arg(common::root().join("tests/site/measure.js"))
        .arg(common::npm_module("puppeteer-core").unwrap())
        .arg(common::npm_module("axe-core").unwrap())
        .arg(jobs.to_string())
        .env("PUPPETEER_EXECUTABLE_PATH", "/usr/bin/chromium")
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "measure.js: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("JSON from measure.js"))
}

/// Every page type at a phone and a desktop width, in the light and the dark theme.
fn page_jobs(site: &Path, pages: &[&str], checks: &[&str]) -> serde_json::Value {
    let mut jobs = Vec::new();
    for page in pages {
        for width in [360, 1280] {
            for theme in ["light", "dark"] {
                jobs.push(serde_json::json!({
                    "file": site.join(page),
                    "width": width,
                    "theme": theme,
                    "checks": checks,
                    // Every font 400 ms late, so the swap is always measured.
                    "fontDelay": 400,
                }));
            }
        }
    }
    serde_json::Value::Array(jobs)
}

#[test]
fn browser_no_layout_shift_and_no_axe_violations_light_and_dark() {
    let seed = seed_book();
    let series = book_from_dir(&fixture("html/series"));
    let mut jobs = Vec::new();
    for (book, part) in [(&seed, "part-14.html"), (&series, "part-2.html")] {
        let site = build_html(book.path());
        let pages = ["index.html", part, "book.html"];
        jobs.extend(
            page_jobs(&site, &pages, &["cls", "axe"])
                .as_array()
                .unwrap()
                .clone(),
        );
    }
    let Some(results) = measure(&serde_json::Value::Array(jobs)) else {
        return;
    };
    assert_eq!(results.len(), 2 * 3 * 2 * 2);
    let mut report = Vec::new();
    for r in &results {
        let what = format!(
            "{} at {} px, {}",
            r["file"].as_str().unwrap().rsplit('/').next().unwrap(),
            r["width"],
            r["theme"]
        );
        // The theme control's choice reached the page (site.js sets data-theme).
        assert_eq!(r["dataTheme"], r["theme"], "{what}: {r}");
        let cls = r["cls"].as_f64().unwrap();
        assert!(cls <= 0.05, "{what}: CLS {cls:.3}, shifts {}", r["shifts"]);
        let violations = r["axe"].as_array().unwrap();
        assert!(
            violations.is_empty(),
            "{what}: axe-core violations:\n{}",
            violations
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(
            r["axePasses"].as_u64().unwrap() > 20,
            "{what}: axe checked little"
        );
        report.push(format!("{what}: CLS {cls:.4}"));
    }
    eprintln!(
        "axe-core: 0 violations on {} page views\n{}",
        results.len(),
        report.join("\n")
    );
}

#[test]
fn browser_reading_tools_cover_no_text_and_read_left_to_right() {
    let book = seed_book();
    let site = build_html(book.path());
    let mut jobs = Vec::new();
    for page in ["part-14.html", "index.html", "book.html"] {
        for theme in ["light", "dark"] {
            jobs.push(serde_json::json!({
                "file": site.join(page), "width": 360, "theme": theme, "checks": ["tools"],
            }));
        }
    }
    let Some(results) = measure(&serde_json::Value::Array(jobs)) else {
        return;
    };
    for r in &results {
        let t = &r["tools"];
        let what = r["file"].as_str().unwrap().rsplit('/').next().unwrap();
        assert_eq!(t["viewport"]["width"], 360, "{what}: {t}");
        let tools = &t["tools"];
        assert!(tools.is_object(), "{what}: no reading tools");
        // Scrolled to the end, the last paragraph of the page and the footer's last line are
        // clear of the tools' box.
        for key in ["lastPara", "lastFooter"] {
            let b = &t[key];
            let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
            let overlap = f(b, "top") < f(tools, "bottom")
                && f(tools, "top") < f(b, "bottom")
                && f(b, "left") < f(tools, "right")
                && f(tools, "left") < f(b, "right");
            assert!(
                !overlap,
                "{what}: the reading tools cover {key}: {b} under {tools}"
            );
        }
        // The text-size signs read «A+», «A−» in the right-to-left page: A on the left.
        let signs = t["signs"].as_array().unwrap();
        assert_eq!(signs.len(), 2, "{what}: {t}");
        for s in signs {
            let lefts = s["lefts"].as_array().unwrap();
            assert!(s["sign"].as_str().unwrap().starts_with('A'), "{s}");
            assert!(
                lefts[0].as_f64().unwrap() < lefts[1].as_f64().unwrap(),
                "{what}: the sign {} shows reversed: {s}",
                s["sign"]
            );
            assert!(
                !s["name"].as_str().unwrap().is_empty(),
                "{what}: unnamed button"
            );
        }
    }
}

#[test]
fn printed_part_has_page_numbers_and_the_book_title_and_no_site_tools() {
    if !require_tool("chromium", &["--version"], "apt-get install -y chromium")
        || !require_tool("pdftotext", &["-v"], "apt-get install -y poppler-utils")
    {
        return;
    }
    let book = seed_book();
    let site = build_html(book.path());
    let pdf = book.path().join("part.pdf");
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(file_url(&site.join("part-14.html")))
        .output()
        .unwrap();
    assert!(
        out.status.success() && pdf.is_file(),
        "chromium did not print"
    );
    let pages: usize = common::run_tool("pdfinfo", &[pdf.to_str().unwrap()])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("page count");
    assert!(pages >= 2, "the part should take several pages: {pages}");
    let text = common::run_tool("pdftotext", &[pdf.to_str().unwrap(), "-"]);
    // pdftotext isolates runs with bidi marks; compare without them.
    let text: String = text
        .chars()
        .filter(|c| !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'))
        .collect();
    // Each page ends with its number, alone on its line (from the @page margin box), in the
    // book's digits (the default, Arabic-Indic).
    let numbers: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_ascii_digit() || ('٠'..='٩').contains(&c))
        })
        .collect();
    let expected: Vec<String> = (1..=pages as u64)
        .map(|n| publish::model::Digits::ArabicIndic.format(n))
        .collect();
    assert_eq!(numbers, expected, "page numbers in:\n{text}");
    let title = "وهم الخلافة؛ من حلم السلطة إلى حضيض الانهيار!";
    assert!(
        text.lines().next().is_some_and(|l| l.trim() == title),
        "the book's title does not open the printed part:\n{}",
        text.chars().take(300).collect::<String>()
    );
    // No search box, reading tools, part navigation or skip link on paper.
    for chrome in ["ابحث", "بحث", "المحتويات", "السابق", "التالي", "تلقائي"]
    {
        assert!(
            !text.lines().any(|l| l.trim() == chrome),
            "site chrome «{chrome}» printed:\n{text}"
        );
    }
    for chrome in [
        "A+",
        "A−",
        "تكبير النص",
        "أدوات القراءة",
        "انتقل إلى المحتوى",
    ] {
        assert!(!text.contains(chrome), "site chrome «{chrome}» printed");
    }
}

/// The site's fonts: WOFF2 made from the theme's TrueType files, only the faces its text uses
/// (no italic without emphasis, no Hebrew face without Hebrew, no code face without code, and
/// the licences of the families served), every `url()` of the style sheets naming a file of
/// the site, the same bytes on every build; and in Chromium every face the pages declare
/// loads (`document.fonts`, status "loaded").
#[test]
fn site_fonts_are_woff2_and_only_the_faces_used() {
    let book = seed_book();
    let site = build_html(book.path());
    let files = tree(&site);
    let fonts: Vec<&str> = files
        .keys()
        .filter(|k| k.starts_with("fonts/"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        fonts,
        [
            "fonts/Amiri-Bold.woff2",
            "fonts/Amiri-Regular.woff2",
            "fonts/OFL-Amiri.txt"
        ]
    );
    let theme = common::root().join("themes/default/fonts");
    for face in ["Amiri-Bold", "Amiri-Regular"] {
        let woff2 = &files[&format!("fonts/{face}.woff2")];
        let ttf = std::fs::read(theme.join(format!("{face}.ttf"))).unwrap();
        assert!(woff2.starts_with(b"wOF2"), "{face}: not WOFF2");
        // The WOFF2 header's totalSfntSize: the font it decodes to is the theme's size.
        let sfnt = u32::from_be_bytes(woff2[16..20].try_into().unwrap()) as usize;
        assert!(
            sfnt >= ttf.len() - 4 * 64,
            "{face}: {sfnt} vs {}",
            ttf.len()
        );
        assert!(
            woff2.len() * 2 < ttf.len(),
            "{face}: {} bytes of WOFF2 for {} of TrueType",
            woff2.len(),
            ttf.len()
        );
    }
    for css in ["book.css", "site.css"] {
        let text = String::from_utf8_lossy(&files[css]).into_owned();
        for url in text.split("url(").skip(1) {
            let target = url[..url.find(')').unwrap()].trim_matches(['"', '\'']);
            assert!(files.contains_key(target), "{css} names {target}");
        }
    }
    // Reproducible: a second build writes the same font bytes.
    let again = tree(&build_html(book.path()));
    for f in &fonts {
        assert_eq!(files[*f], again[*f], "{f} differs between builds");
    }

    // Code, emphasis and Hebrew bring their faces (and licences).
    let rich = "+++\ntitle = \"فصل\"\npart = 1\nseries = \"كتاب\"\n+++\n\nشغّل `make all` ثم *انتظر* قليلًا: שָׁלוֹם.\n";
    let rich_book = book_with(&[("1.md", rich.as_bytes())]);
    let rich_files = tree(&build_html(rich_book.path()));
    for f in [
        "fonts/Amiri-Italic.woff2",
        "fonts/NotoSansMono-Regular.woff2",
        "fonts/OFL-NotoSansMono.txt",
        "fonts/NotoSerifHebrew-Regular.woff2",
        "fonts/OFL-NotoSerifHebrew.txt",
    ] {
        assert!(
            rich_files.contains_key(f),
            "{f} missing: {:?}",
            rich_files.keys()
        );
    }
    assert!(!rich_files.keys().any(|k| k.ends_with(".ttf")));

    if !common::require_found(
        "puppeteer-core",
        common::npm_module("puppeteer-core").is_some(),
        "npm install -g puppeteer-core (scripts/install-test-tools)",
    ) {
        return;
    }
    let module = common::npm_module("puppeteer-core").unwrap();
    let script = r#"
const puppeteer = require(process.argv[1]);
(async () => {
  const browser = await puppeteer.launch({
    executablePath: process.env.PUPPETEER_EXECUTABLE_PATH || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
  });
  const out = {};
  for (const url of process.argv.slice(2)) {
    const page = await browser.newPage();
    await page.goto(url, { waitUntil: "load" });
    await page.evaluate(() => document.fonts.ready);
    out[url] = await page.evaluate(() =>
      [...document.fonts].map(f => `${f.family} ${f.weight} ${f.style} ${f.status}`));
    await page.close();
  }
  await browser.close();
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
"#;
    let urls: Vec<String> = html_pages(&site).iter().map(|p| file_url(p)).collect();
    let out = Command::new("node")
        .args(["-e", script])
        .arg(module)
        .args(&urls)
        .env("PUPPETEER_EXECUTABLE_PATH", "/usr/bin/chromium")
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "puppeteer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let faces: BTreeMap<String, Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(faces.len(), urls.len());
    for (url, list) in faces {
        // No face fails; the metric-matched fallback faces (local DejaVu Sans, no download)
        // load only while they are needed, and the site's own are the two WOFF2 Amiri faces.
        assert!(
            list.iter().all(|f| !f.ends_with(" error")),
            "{url}: {list:?}"
        );
        let own: Vec<&str> = list
            .iter()
            .map(String::as_str)
            .filter(|f| !f.starts_with("Amiri Fallback "))
            .collect();
        assert_eq!(
            own,
            ["Amiri normal normal loaded", "Amiri bold normal loaded"],
            "{url}"
        );
    }
}

/// Every `id="…"` of a page, in order.
fn ids(html: &str) -> Vec<String> {
    html.match_indices(" id=\"")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

/// The `href`s of the links inside the first element that starts with `open` (up to the
/// matching `</nav>`).
fn nav_links(html: &str, open: &str) -> Vec<String> {
    let start = html
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in page"));
    let end = start + html[start..].find("</nav>").unwrap();
    html[start..end]
        .match_indices("<a href=\"")
        .map(|(i, m)| {
            let rest = &html[start + i + m.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

/// Does `href` (relative to the site, or `#id` on `page`) point at an existing element?
fn resolves(site: &Path, page: &str, href: &str) -> bool {
    let (file, frag) = href.split_once('#').unwrap_or((href, ""));
    let file = if file.is_empty() { page } else { file };
    let Ok(html) = std::fs::read_to_string(site.join(file)) else {
        return false;
    };
    frag.is_empty() || ids(&html).iter().any(|i| i == frag)
}

/// Issue 12: the index, the whole-book page and the sidebar of each part page list the
/// parts' `#` titles (not the repeated series name) and, under each, its `##` sections,
/// linked to unique ids that exist.
#[test]
fn contents_list_sections_under_parts_and_every_link_resolves() {
    let book = book_from_dir(&fixture("toc"));
    let site = build_html(book.path());
    for page in html_pages(&site) {
        let html = read(&page);
        let all = ids(&html);
        let unique: std::collections::BTreeSet<&String> = all.iter().collect();
        assert_eq!(unique.len(), all.len(), "{page:?}: duplicate ids");
    }

    let index = read(&site.join("index.html"));
    let links = nav_links(&index, "<nav class=\"toc\"");
    assert_eq!(
        links,
        [
            "part-1.html",
            "part-1.html#h2",
            "part-1.html#h6",
            "part-2.html",
            "part-2.html#h2",
            "part-2.html#h4",
            "part-2.html#h6",
            "part-3.html",
            "book.html",
        ]
    );
    for l in &links {
        assert!(
            resolves(&site, "index.html", l),
            "index: {l} does not resolve"
        );
    }
    for (title, section) in [
        ("البداية في الموصل", "المدينة القديمة"),
        ("الطريق إلى الرقة", "عبور الصحراء"),
    ] {
        let t = index.find(title).unwrap_or_else(|| panic!("no {title}"));
        let s = index
            .find(section)
            .unwrap_or_else(|| panic!("no {section}"));
        assert!(t < s, "{section} is not listed under {title}");
    }
    // The series name is the book's title, not every part's; `###` is not in the contents.
    let toc = &index[index.find("<nav class=\"toc\"").unwrap()..];
    let toc = &toc[..toc.find("</nav>").unwrap()];
    assert!(!toc.contains("رحلة الفهرس"), "{toc}");
    assert!(index.contains("<h1>رحلة الفهرس</h1>"));
    assert!(!index.contains("تفصيل لا يظهر"));
    // The English section keeps its direction inside the link.
    assert!(index.contains(
        "<a href=\"part-2.html#h4\"><span dir=\"ltr\" lang=\"en\">The Euphrates crossing</span></a>"
    ));

    let whole = read(&site.join("book.html"));
    let links = nav_links(&whole, "<nav class=\"toc\"");
    assert_eq!(links.len(), 8, "{links:?}");
    assert!(links.contains(&"#part-2-h4".to_owned()));
    for l in &links {
        assert!(
            resolves(&site, "book.html", l),
            "book.html: {l} does not resolve"
        );
    }

    for (n, sections) in [(1, 2), (2, 3), (3, 0)] {
        let page = format!("part-{n}.html");
        let html = read(&site.join(&page));
        let links = nav_links(&html, "<nav class=\"sidebar\"");
        // Home, the three parts, the current part's sections.
        assert_eq!(links.len(), 4 + sections, "{page}: {links:?}");
        assert_eq!(
            links.iter().filter(|l| l.starts_with('#')).count(),
            sections
        );
        for l in &links {
            assert!(resolves(&site, &page, l), "{page}: {l} does not resolve");
        }
        assert!(
            html.contains(&format!("<a href=\"{page}\" aria-current=\"page\">")),
            "{page}: current part not marked"
        );
        assert_eq!(html.matches("aria-current").count(), 1);
    }
}

/// A long series: each part page's sidebar lists only the parts near it, so the pages do not
/// grow with the square of the number of parts.
#[test]
fn sidebar_of_a_long_series_is_a_window() {
    let files: Vec<(String, Vec<u8>)> = (1..=80)
        .map(|n| {
            (
                format!("{n:03}.md"),
                format!("+++\ntitle = \"عنوان {n}\"\npart = {n}\n+++\n\nنص الجزء.\n").into_bytes(),
            )
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let book = common::book_with(&refs);
    let site = build_html(book.path());
    let html = read(&site.join("part-40.html"));
    let links = nav_links(&html, "<nav class=\"sidebar\"");
    assert_eq!(links.len(), 1 + 51, "{links:?}");
    assert_eq!(links[1], "part-15.html");
    assert_eq!(links[51], "part-65.html");
    assert_eq!(html.matches("class=\"sidebar-more\"").count(), 2);
    let first = nav_links(&read(&site.join("part-1.html")), "<nav class=\"sidebar\"");
    assert_eq!(first[1], "part-1.html");
    assert_eq!(first.len(), 1 + 26);
}

/// The sidebar in Chromium: beside the text at 1280 px (start side, not over the text), not
/// shown at 360 px; its links lead to elements that exist.
#[test]
fn browser_sidebar_shows_on_wide_screens_only() {
    if !require_tool(
        "chromium",
        &["--version"],
        "install chromium (apt-get install chromium)",
    ) {
        return;
    }
    let book = book_from_dir(&fixture("toc"));
    let site = build_html(book.path());
    let js = r##"
window.addEventListener("load", function () {
  var nav = document.querySelector("nav.sidebar");
  var r = nav.getBoundingClientRect();
  var main = document.querySelector("main article").getBoundingClientRect();
  var cur = nav.querySelector("[aria-current=page]");
  var out = {
    innerWidth: window.innerWidth,
    display: getComputedStyle(nav).display,
    left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width,
    mainLeft: main.left, mainRight: main.right,
    current: cur ? cur.getAttribute("href") : null,
    currentVisible: cur ? cur.getBoundingClientRect().width > 0 : false,
    missing: Array.from(nav.querySelectorAll("a[href^='#']"))
      .filter(function (a) { return !document.getElementById(a.getAttribute("href").slice(1)); })
      .map(function (a) { return a.getAttribute("href"); }),
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth
  };
  parent.postMessage(JSON.stringify(out), "*");
});
"##;
    std::fs::write(site.join("sidebar-probe.js"), js).unwrap();
    let html = read(&site.join("part-2.html"));
    std::fs::write(
        site.join("probe-part-2.html"),
        html.replace(
            "</body>",
            "<script src=\"sidebar-probe.js\"></script>\n</body>",
        ),
    )
    .unwrap();
    let measure = |width: u32| {
        let frame = format!(
            r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>probe</title></head>
<body style="margin:0">
<iframe src="probe-part-2.html" title="probe" style="width:{width}px;height:800px;border:0"></iframe>
<script>
window.addEventListener("message", function (e) {{
  var pre = document.createElement("pre");
  pre.id = "test-out";
  pre.textContent = e.data;
  document.body.appendChild(pre);
}});
</script>
</body></html>
"#
        );
        let harness = site.join(format!("sidebar-frame-{width}.html"));
        std::fs::write(&harness, frame).unwrap();
        probe_output(&chromium_dom(&file_url(&harness), width.max(500) + 100))
    };

    let wide = measure(1280);
    assert_eq!(wide["innerWidth"], 1280, "{wide}");
    assert_eq!(wide["display"], "block", "{wide}");
    let f = |k: &str| wide[k].as_f64().unwrap();
    assert!(f("width") >= 150.0, "sidebar too narrow: {wide}");
    assert!(
        f("left") >= 0.0 && f("right") <= 1280.0,
        "off screen: {wide}"
    );
    assert!(f("top") >= 0.0 && f("top") < 800.0, "not in view: {wide}");
    // Right to left: the sidebar is on the right, clear of the text column.
    assert!(f("left") >= f("mainRight"), "sidebar over the text: {wide}");
    assert_eq!(wide["current"], "part-2.html", "{wide}");
    assert_eq!(wide["currentVisible"], true, "{wide}");
    assert_eq!(wide["missing"], serde_json::json!([]), "{wide}");
    assert!(wide["scrollWidth"].as_i64() <= wide["clientWidth"].as_i64());

    let narrow = measure(360);
    assert_eq!(narrow["innerWidth"], 360, "{narrow}");
    assert_eq!(narrow["display"], "none", "{narrow}");
    assert_eq!(narrow["width"], 0.0, "{narrow}");
    assert!(narrow["scrollWidth"].as_i64() <= narrow["clientWidth"].as_i64());
}

/// The contents with sections and the sidebar are valid HTML (the Nu HTML Checker).
#[test]
fn nu_html_checker_accepts_contents_with_sections() {
    if !require_tool(
        "java",
        &["-version"],
        "apt-get install -y default-jre-headless",
    ) {
        return;
    }
    let book = book_from_dir(&fixture("toc"));
    let site = build_html(book.path());
    let mut files = html_pages(&site);
    files.push(site.join("site.css"));
    assert_eq!(files.len(), 2 + 3 + 1);
    let problems = vnu_problems(&files);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
