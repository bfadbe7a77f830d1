//! Reader features of the site in headless Chromium (issue 12): Back restores the query, a
//! result lands on its paragraph with the words marked, a footnote jump highlights its note,
//! the arrow keys follow the book's direction, `/` and `s` focus the search box, and the
//! reading position is offered on return, never forced. Driven by `tests/reader/reader.js`
//! (puppeteer-core on Debian's chromium).

mod common;

use common::{book_from_dir, fixture, publish};
use std::process::Command;

#[test]
fn reader_features_work_in_a_browser_from_file_urls() {
    let Some(puppeteer) = common::puppeteer_and_chromium() else {
        return;
    };
    let book = book_from_dir(&fixture("html/series"));
    publish()
        .args(["--format", "html", "--book"])
        .arg(book.path())
        .assert()
        .success();
    let site = book.path().join("output/html");
    let query = "الرحلة";
    let out = Command::new("node")
        .arg(common::root().join("tests/reader/reader.js"))
        .arg(&site)
        .arg(query)
        .env("PUPPETEER_CORE", &puppeteer)
        .env("PUPPETEER_EXECUTABLE_PATH", "/usr/bin/chromium")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();

    // Search, result, Back.
    assert!(s("searchUrl").contains("q="), "{v}");
    assert!(v["resultsBefore"].as_u64().unwrap() > 0, "{v}");
    assert!(s("resultHref").contains("part-2.html"), "{v}");
    let landed = &v["landed"];
    assert_eq!(landed["inView"], true, "{v}");
    let marks: Vec<&str> = landed["marks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    assert!(
        marks.iter().any(|m| m.contains("الرحلة")),
        "the query's word is marked in the paragraph landed on: {v}"
    );
    assert_eq!(s("backValue"), query, "Back restores the query: {v}");
    assert_eq!(v["resultsAfterBack"], v["resultsBefore"], "{v}");

    // Footnote jump.
    assert_eq!(v["noteref"], true, "{v}");
    assert_eq!(v["note"]["target"], true, "{v}");
    assert_eq!(
        v["note"]["highlighted"], true,
        "the note jumped to stands out: {v}"
    );
    assert_eq!(v["note"]["inView"], true, "{v}");

    // Keys by direction.
    assert_eq!(s("dir"), "rtl");
    assert!(s("afterLeft").ends_with("part-3.html"), "← is next: {v}");
    assert_eq!(s("afterLeft"), s("expectLeft"), "{v}");
    assert!(
        s("afterRight").ends_with("part-1.html"),
        "→ is previous: {v}"
    );
    assert_eq!(s("slashFocus"), "q", "{v}");
    assert_eq!(s("sFocus"), "q", "{v}");
    assert!(s("urlAfterArrowInBox").ends_with("part-2.html"), "{v}");

    // Reading position: offered, not forced.
    assert_eq!(v["offerOnFirstVisit"], false, "{v}");
    assert!(
        v["scrollOnReturn"].as_f64().unwrap() < 1.0,
        "not moved: {v}"
    );
    // The saved place is the first element in view: the one scrolled to the top.
    assert_eq!(
        s("offerHref"),
        format!("#{}", s("scrolledTo")),
        "the position is offered: {v}"
    );
    assert_eq!(v["resumed"]["inView"], true, "{v}");
    assert_eq!(v["resumed"]["offerGone"], true, "{v}");
}
