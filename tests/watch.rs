//! `publish new` and `publish watch`: a new book builds cleanly; the watcher rebuilds on
//! edits (one rebuild per editor save), survives broken edits keeping the last good outputs,
//! drops deleted parts and exits 0 on Ctrl-C without leaving temporary files.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long any one rebuild may take before the test gives up (typst is not involved: html).
const WAIT: Duration = Duration::from_secs(60);

/// A new book folder made by `publish new` in a temporary folder.
fn new_book() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("book");
    common::publish()
        .args(["new"])
        .arg(&book)
        .args(["--title", "كتاب التجربة", "--author", "كاتب"])
        .assert()
        .success();
    (tmp, book)
}

#[test]
fn new_book_builds_at_once_without_warnings() {
    let (_tmp, book) = new_book();
    for f in [
        "publish.toml",
        ".gitignore",
        ".github/workflows/book.yml",
        "sources/part-1.txt",
        "sources/part-2.md",
    ] {
        assert!(book.join(f).is_file(), "{f} missing");
    }
    let toml = std::fs::read_to_string(book.join("publish.toml")).unwrap();
    for key in [
        "theme",
        "subtitle",
        "language",
        "identifier",
        "date",
        "slug",
        "part-label",
        "digits",
        "paper",
        "standard",
        "body-digits",
        "cover",
        "search",
    ] {
        assert!(
            toml.contains(&format!("# {key} = ")),
            "{key} not in publish.toml"
        );
    }
    assert!(toml.contains("title = \"كتاب التجربة\""));
    let out = common::publish()
        .current_dir(&book)
        .args([
            "--format",
            "all",
            "--fail-on-warnings",
            "--diagnostics",
            "json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("\"warning\"") && !stderr.contains("\"error\""),
        "{stderr}"
    );
    for f in [
        "output/book.pdf",
        "output/book.epub",
        "output/html/part-1.html",
        "output/html/part-2.html",
    ] {
        assert!(book.join(f).is_file(), "{f} not built");
    }
    // A folder that is not empty is refused, and left as it was.
    let again = common::publish().arg("new").arg(&book).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}

/// A running `publish watch` (or `serve`) with its stderr lines arriving on a channel.
pub struct Live {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line seen so far.
    pub seen: Vec<String>,
}

impl Live {
    fn start(book: &Path, args: &[&str]) -> Live {
        let mut child = Command::new(env!("CARGO_BIN_EXE_publish"))
            .current_dir(book)
            .env("SOURCE_DATE_EPOCH", "1790000000")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Live {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next line for which `pred` holds (lines before it are kept in `seen`).
    fn wait_for(&mut self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no such line within {WAIT:?}; saw:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The next rebuild summary line.
    fn rebuild(&mut self) -> String {
        self.wait_for(is_summary)
    }

    /// Summary lines arriving within `quiet` (none expected).
    fn extra_rebuilds(&mut self, quiet: Duration) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(quiet) {
            self.seen.push(line.clone());
            if is_summary(&line) {
                out.push(line);
            }
        }
        out
    }

    /// Ctrl-C, then the exit status.
    fn interrupt(mut self) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "did not exit on Ctrl-C"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_summary(line: &str) -> bool {
    line.contains(" error") && line.contains(" warning") && line.contains(" s — ")
}

/// Save like an editor: write a temporary file beside it, a backup, then rename over.
fn editor_save(path: &Path, bytes: &[u8]) {
    let dir = path.parent().unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    let swap = dir.join(format!(".{name}.swp"));
    std::fs::write(&swap, b"swap").unwrap();
    std::fs::write(
        dir.join(format!("{name}~")),
        std::fs::read(path).unwrap_or_default(),
    )
    .unwrap();
    std::fs::write(dir.join(format!("#{name}#")), b"autosave").unwrap();
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
    std::fs::remove_file(&swap).unwrap();
}

fn read(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}

#[test]
fn watch_rebuilds_on_edits_and_survives_broken_ones() {
    let (_tmp, book) = new_book();
    let part1 = book.join("sources/part-1.txt");
    let part2 = book.join("sources/part-2.md");
    let page1 = book.join("output/html/part-1.html");
    let mut live = Live::start(&book, &["watch", "--format", "html"]);
    let first = live.rebuild();
    assert!(first.contains("0 errors"), "{first}");
    assert!(page1.is_file());

    // An editor-style save: exactly one rebuild, with the new text.
    let original = read(&part1);
    let edited = original.replace("مقدمة\n\n", "مقدمة\n\nفقرة جديدة كتبها المحرر للتو.\n\n");
    editor_save(&part1, edited.as_bytes());
    let line = live.rebuild();
    assert!(
        line.contains("sources/part-1.txt") && line.contains("0 errors"),
        "{line}"
    );
    assert!(read(&page1).contains("فقرة جديدة كتبها المحرر للتو"));
    let extra = live.extra_rebuilds(Duration::from_millis(1500));
    assert!(extra.is_empty(), "one save, several rebuilds: {extra:?}");
    // Backup and swap files are never read as parts.
    assert!(!read(&book.join("output/html/index.html")).contains("autosave"));

    // A broken edit (NUL bytes): the diagnostic, and the last good outputs stay in place.
    let good = std::fs::read(&page1).unwrap();
    std::fs::write(&part2, b"+++\npart = 2\n+++\n\0\0\0").unwrap();
    let line = live.rebuild();
    assert!(
        line.contains("failed") && !line.contains(" 0 errors"),
        "{line}"
    );
    assert!(
        live.seen.iter().any(|l| l.contains("part-2.md")),
        "{:?}",
        live.seen
    );
    assert_eq!(std::fs::read(&page1).unwrap(), good);
    // A duplicate part number is an error too, and again nothing is replaced.
    std::fs::write(book.join("sources/part-3.txt"), edited.as_bytes()).unwrap();
    let line = live.rebuild();
    assert!(line.contains("failed"), "{line}");
    assert!(
        live.seen.iter().any(|l| l.contains("duplicate-part")),
        "{:?}",
        live.seen
    );
    assert_eq!(std::fs::read(&page1).unwrap(), good);

    // Deleting the broken and duplicate files: the next build is good again and the deleted
    // part is gone from the book.
    std::fs::remove_file(book.join("sources/part-3.txt")).unwrap();
    std::fs::remove_file(&part2).unwrap();
    let line = loop {
        let line = live.rebuild();
        if line.contains("rebuilt") {
            break line;
        }
    };
    assert!(line.contains("0 errors"), "{line}");
    assert!(!read(&book.join("output/html/index.html")).contains("مثال بصيغة ماركداون"));
    assert!(!book.join("output/html/part-2.html").exists());

    // Ctrl-C: exit 0, no temporary files left in the output folder.
    let status = live.interrupt();
    assert!(status.success(), "{status:?}");
    let debris: Vec<_> = std::fs::read_dir(book.join("output"))
        .unwrap()
        .flatten()
        // The output lock (`.publish.lock`) stays on purpose: it is the lock, not debris.
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with('.') && name != ".publish.lock"
        })
        .map(|e| e.file_name())
        .collect();
    assert!(debris.is_empty(), "{debris:?}");
}
