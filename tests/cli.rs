//! Command-line tests: the default book, `check`, config errors, JSON diagnostics, exit codes,
//! and series assembly (order by part number, gaps, duplicates).

mod common;

use common::{book_with, publish, root};
use predicates::prelude::*;

fn part(series: &str, marker: &str, title: &str) -> Vec<u8> {
    format!("{series} {marker}\n\nعزيز جلال\n\n{title}\n\nفقرة من نص الجزء تنتهي بنقطة.\n")
        .into_bytes()
}

const S: &str = "وهم الخلافة؛ من حلم السلطة إلى حضيض الانهيار!";

fn model(dir: &std::path::Path) -> serde_json::Value {
    let out = publish()
        .current_dir(dir)
        .args(["--emit", "model"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).expect("model JSON on stdout")
}

#[test]
fn check_default_book() {
    publish()
        .current_dir(root())
        .arg("check")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "sources/000_45698de3c11125b4.txt:21: warning: removed website line «Exit mobile version» [junk-removed]",
        ))
        .stderr(predicate::str::contains("the series has no part 1–13 [series-gap]"));
}

#[test]
fn emit_model_of_default_book() {
    let v = model(&root());
    assert_eq!(v["meta"]["title"], S);
    assert_eq!(v["meta"]["author"], "عزيز جلال");
    assert_eq!(v["meta"]["lang"], "ar");
    assert_eq!(v["meta"]["dir"], "rtl");
    assert_eq!(
        v["meta"]["date"], "2026-09-21",
        "from SOURCE_DATE_EPOCH=1790000000"
    );
    assert_eq!(v["parts"][0]["number"], 14);
}

#[test]
fn parts_are_ordered_by_number_not_file_name() {
    let b = book_with(&[
        ("a.txt", &part(S, "الجزء الثالث", "ثالث")),
        ("b.txt", &part(S, "الجزءالأول", "أول")),
        (
            "c.md",
            "+++\ntitle = \"ثان\"\npart = 2\n+++\n\nنص.\n".as_bytes(),
        ),
    ]);
    let v = model(b.path());
    let numbers: Vec<_> = v["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 2, 3]);
    let files: Vec<_> = v["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["source"]["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        files,
        vec!["sources/b.txt", "sources/c.md", "sources/a.txt"]
    );
}

#[test]
fn gap_is_a_warning() {
    let b = book_with(&[
        ("1.txt", &part(S, "الجزء الأول", "أول")),
        ("4.txt", &part(S, "الجزء الرابع", "رابع")),
        ("7.txt", &part(S, "الجزء السابع", "سابع")),
    ]);
    publish()
        .current_dir(b.path())
        .arg("check")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: the series has no part 2–3, 5–6 [series-gap]",
        ));
}

#[test]
fn duplicate_is_an_error_naming_both_files() {
    let b = book_with(&[
        ("first.txt", &part(S, "الجزء الثاني", "أ")),
        ("second.txt", &part(S, "الجزء 2", "ب")),
    ]);
    publish()
        .current_dir(b.path())
        .arg("check")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "error: part 2 is in two files: sources/first.txt and sources/second.txt [duplicate-part]",
        ));
}

#[test]
fn series_mismatch_is_a_warning() {
    let b = book_with(&[
        ("1.txt", &part(S, "الجزء الأول", "أ")),
        ("2.txt", &part(S, "الجزء الثاني", "ب")),
        ("3.txt", &part("سلسلة أخرى", "الجزء الثالث", "ج")),
    ]);
    publish()
        .current_dir(b.path())
        .arg("check")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "sources/3.txt:1: warning: series title «سلسلة أخرى» differs",
        ));
}

#[test]
fn unknown_config_key_is_a_usage_error_naming_the_key() {
    let b = book_with(&[("1.txt", &part(S, "الجزء الأول", "أ"))]);
    std::fs::write(
        b.path().join("publish.toml"),
        "[book]\ntitle = \"x\"\ncolour = \"red\"\n",
    )
    .unwrap();
    publish()
        .current_dir(b.path())
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "publish.toml:3:1: error: unknown field `colour`",
        ));
}

#[test]
fn config_overrides_metadata() {
    let b = book_with(&[("1.txt", &part(S, "الجزء الأول", "أ"))]);
    std::fs::write(
        b.path().join("publish.toml"),
        "[book]\ntitle = \"عنوان آخر\"\nauthor = \"مؤلف\"\nslug = \"my-book\"\ndate = \"2025-01-02\"\n",
    )
    .unwrap();
    let v = model(b.path());
    assert_eq!(v["meta"]["title"], "عنوان آخر");
    assert_eq!(v["meta"]["author"], "مؤلف");
    assert_eq!(v["meta"]["slug"], "my-book");
    assert_eq!(v["meta"]["date"], "2025-01-02");
}

#[test]
fn json_diagnostics_one_object_per_line() {
    let b = book_with(&[
        (
            "1.txt",
            &[&part(S, "الجزء الأول", "أ")[..], b"\nExit mobile version\n"].concat(),
        ),
        ("bad.txt", b"\x00\x01binary"),
    ]);
    let out = publish()
        .current_dir(b.path())
        .args(["check", "--diagnostics", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stderr)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    assert!(lines.iter().any(|d| d["code"] == "junk-removed"
        && d["file"] == "sources/1.txt"
        && d["severity"] == "warning"));
    assert!(lines.iter().any(|d| d["code"] == "binary-file"
        && d["file"] == "sources/bad.txt"
        && d["severity"] == "error"));
    assert_eq!(lines.last().unwrap()["severity"], "fatal");
    assert_eq!(lines.last().unwrap()["exit"], 1);
}

#[test]
fn exit_codes() {
    let b = book_with(&[("1.txt", &part(S, "الجزء الأول", "أ"))]);
    // Warnings only: success, unless --fail-on-warnings.
    let warned = book_with(&[(
        "1.txt",
        &[&part(S, "الجزء الأول", "أ")[..], b"\nExit mobile version\n"].concat(),
    )]);
    publish()
        .current_dir(b.path())
        .arg("check")
        .assert()
        .code(0);
    publish()
        .current_dir(warned.path())
        .arg("check")
        .assert()
        .code(0);
    publish()
        .current_dir(warned.path())
        .args(["check", "--fail-on-warnings"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--fail-on-warnings"));
    // Usage errors: missing folders, bad flags, unknown theme.
    publish()
        .args(["--book", "/nonexistent/book", "check"])
        .assert()
        .code(2);
    publish()
        .current_dir(b.path())
        .args(["--sources", "nowhere", "check"])
        .assert()
        .code(2);
    publish()
        .current_dir(b.path())
        .args(["--theme", "nope", "check"])
        .assert()
        .code(2);
    publish().args(["--format", "docx"]).assert().code(2);
}

#[test]
fn check_writes_nothing() {
    let b = book_with(&[("1.txt", &part(S, "الجزء الأول", "أ"))]);
    publish()
        .current_dir(b.path())
        .arg("check")
        .assert()
        .success();
    assert!(!b.path().join("output").exists());
}
