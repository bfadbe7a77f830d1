//! Nothing escapes the book folder, nothing of the user's is lost (issue 17, file-system and
//! trust half): every case is generated here (symbolic links, FIFOs, hostile names) and each
//! asserts the exit code, a diagnostic naming the file or key, and that nothing outside the
//! book was read (a canary's content appears in no output) or written (the folder around the
//! book is unchanged).

mod common;

use common::{publish, seed};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

const CANARY: &str = "CANARY-7f3a9c-NEVER-PUBLISHED";

/// A book folder `book/` (with the seed part) next to `outside/` holding a canary file, a
/// victim `victim.pdf` and a folder of canaries, all in one temporary folder.
struct Setup {
    tmp: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let book = tmp.path().join("book");
        std::fs::create_dir_all(book.join("sources")).unwrap();
        std::fs::copy(seed(), book.join("sources/part-14.txt")).unwrap();
        let out = tmp.path().join("outside");
        std::fs::create_dir_all(out.join("dir")).unwrap();
        std::fs::write(out.join("canary.txt"), CANARY).unwrap();
        std::fs::write(out.join("dir/canary.css"), CANARY).unwrap();
        std::fs::write(out.join("victim.pdf"), "victim").unwrap();
        std::fs::write(out.join("victim.epub"), "victim").unwrap();
        Setup { tmp }
    }

    fn book(&self) -> PathBuf {
        self.tmp.path().join("book")
    }

    fn outside(&self) -> PathBuf {
        self.tmp.path().join("outside")
    }

    fn config(&self, text: &str) {
        std::fs::write(self.book().join("publish.toml"), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        run_bounded(publish().current_dir(self.book()).args(args))
    }

    /// Nothing outside the book was written, and no output holds the canary.
    fn assert_contained(&self, case: &str) {
        let mut top: Vec<String> = names(self.tmp.path());
        top.sort();
        assert_eq!(
            top,
            vec!["book", "outside"],
            "{case}: wrote beside the book"
        );
        let mut out = names(&self.outside());
        out.sort();
        assert_eq!(
            out,
            vec!["canary.txt", "dir", "victim.epub", "victim.pdf"],
            "{case}: wrote outside the book"
        );
        for v in ["victim.pdf", "victim.epub"] {
            assert_eq!(
                std::fs::read_to_string(self.outside().join(v)).unwrap(),
                "victim",
                "{case}: {v} overwritten"
            );
        }
        for f in files_under(&self.book().join("output")) {
            let bytes = std::fs::read(&f).unwrap();
            assert!(
                !contains(&bytes, CANARY.as_bytes()),
                "{case}: {} holds the canary",
                f.display()
            );
        }
    }
}

fn names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Run with a generous bound: a hang (a FIFO, a loop walked forever) fails the test instead
/// of blocking it.
fn run_bounded(cmd: &mut assert_cmd::Command) -> Output {
    cmd.timeout(Duration::from_secs(120));
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code().is_some(),
        "killed (timeout or signal): {stderr}"
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo (coreutils)")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

fn symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

/// `[book] slug` and the theme name are plain names; anything path-like is a configuration
/// error (exit 2) naming the key, and nothing is written anywhere.
/// One generated case: what it is, how to make it in the book, and the file or key the
/// diagnostic must name.
type Case<'a> = (&'a str, Box<dyn Fn() + 'a>, &'a str);

#[test]
fn slug_and_theme_names_are_plain_names() {
    let s = Setup::new();
    let victim = s.outside().join("victim");
    let absolute = format!("/../../..{}", victim.display());
    let slugs = [
        "../../x",
        "../outside/victim",
        absolute.as_str(),
        "a/b",
        "a\\\\b",
        ".hidden",
        "..",
        "x\\u001b[2J",
        "",
    ];
    for slug in slugs {
        s.config(&format!("[book]\nslug = \"{slug}\"\n"));
        let out = s.run(&["--format", "all", "--quiet"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "slug {slug}: {err}");
        assert!(
            err.contains("slug") && err.contains("publish.toml"),
            "{slug}: {err}"
        );
        assert!(
            !err.contains('\u{1b}'),
            "escape reached the terminal: {err}"
        );
        s.assert_contained(&format!("slug {slug}"));
        assert!(
            !s.book().join("output").exists(),
            "slug {slug}: wrote output"
        );
    }
    // A plain slug is fine.
    s.config("[book]\nslug = \"my-book_2.0\"\n");
    let out = s.run(&["--format", "html", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let outside = s.outside();
    let rel_outside = "../../".to_owned() + &outside.display().to_string();
    for theme in [
        "/etc",
        "/",
        "../outside",
        rel_outside.as_str(),
        ".hidden",
        "a/b",
    ] {
        s.config(&format!("theme = \"{theme}\"\n"));
        let out = s.run(&["--format", "html", "--quiet"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "theme {theme}: {err}");
        assert!(err.contains("`theme`"), "theme {theme}: {err}");
        s.assert_contained(&format!("theme {theme}"));
        // The same on the command line.
        std::fs::remove_file(s.book().join("publish.toml")).unwrap();
        let out = s.run(&["--format", "html", "--quiet", "--theme", theme]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "--theme {theme}: {err}");
        assert!(err.contains("--theme"), "--theme {theme}: {err}");
        s.assert_contained(&format!("--theme {theme}"));
    }
}

/// Theme files, fonts and the theme folder itself are read only inside the book: a link out
/// (a file, the fonts folder, the whole theme), a link loop, a FIFO are configuration errors
/// naming the theme file; a link inside the book is fine.
#[test]
fn theme_files_are_read_only_inside_the_book() {
    let s = Setup::new();
    let theme = s.book().join("themes/default");
    let fonts = theme.join("fonts");
    let cases: Vec<Case> = vec![
        (
            "book.css → canary",
            Box::new(|| symlink(s.outside().join("canary.txt"), theme.join("book.css"))),
            "themes/default/book.css",
        ),
        (
            "fonts/NOTICE.txt → canary",
            Box::new(|| {
                std::fs::create_dir_all(&fonts).unwrap();
                symlink(s.outside().join("canary.txt"), fonts.join("NOTICE.txt"))
            }),
            "themes/default/fonts/NOTICE.txt",
        ),
        (
            "fonts → outside folder",
            Box::new(|| symlink(s.outside().join("dir"), &fonts)),
            "themes/default/fonts",
        ),
        (
            "fonts/loop → fonts",
            Box::new(|| {
                std::fs::create_dir_all(&fonts).unwrap();
                symlink(&fonts, fonts.join("loop"))
            }),
            "themes/default/fonts/loop",
        ),
        (
            "link loop",
            Box::new(|| {
                symlink(theme.join("b.css"), theme.join("a.css"));
                symlink(theme.join("a.css"), theme.join("b.css"))
            }),
            "themes/default/a.css",
        ),
        (
            "FIFO template",
            Box::new(|| mkfifo(&theme.join("book.typ"))),
            "themes/default/book.typ",
        ),
        (
            "theme folder → outside",
            Box::new(|| {
                std::fs::remove_dir_all(&theme).unwrap();
                symlink(s.outside().join("dir"), &theme)
            }),
            "themes/default",
        ),
        (
            "theme folder → /",
            Box::new(|| {
                std::fs::remove_dir_all(&theme).unwrap();
                symlink("/", &theme)
            }),
            "themes/default",
        ),
    ];
    for (case, make, file) in cases {
        let _ = std::fs::remove_file(&theme);
        let _ = std::fs::remove_dir_all(&theme);
        std::fs::create_dir_all(&theme).unwrap();
        make();
        let started = Instant::now();
        let out = s.run(&["--format", "html,epub", "--diagnostics", "json"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{case}: {err}");
        let fatal: serde_json::Value = serde_json::from_str(err.lines().last().unwrap()).unwrap();
        assert_eq!(fatal["code"], "config", "{case}: {err}");
        assert!(
            fatal["message"]
                .as_str()
                .unwrap()
                .contains(&format!("{file}:")),
            "{case}: does not name {file}: {err}"
        );
        assert!(started.elapsed() < Duration::from_secs(30), "{case}: slow");
        s.assert_contained(case);
    }
    // A link to a file inside the book is followed.
    let _ = std::fs::remove_file(&theme);
    let _ = std::fs::remove_dir_all(&theme);
    std::fs::create_dir_all(&theme).unwrap();
    std::fs::write(s.book().join("my.css"), "/* MINE-INSIDE */ p { margin: 0 }").unwrap();
    symlink(s.book().join("my.css"), theme.join("book.css"));
    let out = s.run(&["--format", "html", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let css = std::fs::read_to_string(s.book().join("output/html/book.css")).unwrap();
    assert!(css.contains("MINE-INSIDE"));
    s.assert_contained("link inside");
}

/// Sources: a link out, a FIFO, a device, a link loop are errors naming the file (exit 1) and
/// are never read; a link to a file inside the book is read.
#[test]
fn sources_are_read_only_inside_the_book() {
    let s = Setup::new();
    let src = s.book().join("sources");
    let cases: Vec<Case> = vec![
        (
            "zz.md → canary",
            Box::new(|| symlink(s.outside().join("canary.txt"), src.join("zz.md"))),
            "outside-book",
        ),
        (
            "FIFO",
            Box::new(|| mkfifo(&src.join("zz.md"))),
            "not-a-file",
        ),
        (
            "device",
            Box::new(|| symlink("/dev/zero", src.join("zz.md"))),
            "outside-book",
        ),
        (
            "loop",
            Box::new(|| {
                symlink(src.join("yy.txt"), src.join("zz.md"));
                symlink(src.join("zz.md"), src.join("yy.txt"))
            }),
            "io",
        ),
    ];
    for (case, make, code) in cases {
        for n in ["zz.md", "yy.txt"] {
            let _ = std::fs::remove_file(src.join(n));
        }
        make();
        let out = s.run(&["--format", "html", "--diagnostics", "json"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{case}: {err}");
        let diags: Vec<serde_json::Value> = err
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(
            diags.iter().any(|d| d["code"] == code
                && d["severity"] == "error"
                && d["file"] == "sources/zz.md"),
            "{case}: {err}"
        );
        s.assert_contained(case);
    }
    for n in ["zz.md", "yy.txt"] {
        let _ = std::fs::remove_file(src.join(n));
    }
    // The default sources folder itself may not lead out of the book.
    std::fs::rename(&src, s.book().join("real-sources")).unwrap();
    symlink(s.outside(), &src);
    let out = s.run(&["--format", "html"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("sources"), "{}", stderr(&out));
    s.assert_contained("sources → outside");
    // A link inside the book is read.
    std::fs::remove_file(&src).unwrap();
    std::fs::rename(s.book().join("real-sources"), &src).unwrap();
    std::fs::create_dir_all(s.book().join("drafts")).unwrap();
    std::fs::rename(src.join("part-14.txt"), s.book().join("drafts/p.txt")).unwrap();
    symlink(s.book().join("drafts/p.txt"), src.join("part-14.txt"));
    let out = s.run(&["--format", "html", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    s.assert_contained("link inside");
}

/// `--sources` outside the book is the user's explicit choice and is read, but no absolute
/// path reaches an output: two builds from different folders are byte-identical.
#[test]
fn sources_outside_the_book_leave_no_absolute_path() {
    let tmp = tempfile::tempdir().unwrap();
    let sources = tmp.path().join("elsewhere/sources-folder");
    std::fs::create_dir_all(&sources).unwrap();
    std::fs::copy(seed(), sources.join("part-14.txt")).unwrap();
    let mut sites = Vec::new();
    for book in ["one", "two/deeper"] {
        let book = tmp.path().join(book);
        std::fs::create_dir_all(&book).unwrap();
        let out = run_bounded(
            publish()
                .current_dir(&book)
                .arg("--sources")
                .arg(&sources)
                .args(["--format", "html,epub", "--quiet"]),
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let files = files_under(&book.join("output"));
        let abs = tmp.path().to_string_lossy().into_owned();
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            assert!(
                !contains(&bytes, abs.as_bytes()),
                "{} holds the absolute path {abs}",
                f.display()
            );
        }
        let epub = std::fs::File::open(book.join("output/book.epub")).unwrap();
        let mut zip = zip::ZipArchive::new(epub).unwrap();
        let mut colophon = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("OEBPS/colophon.xhtml").unwrap(),
            &mut colophon,
        )
        .unwrap();
        assert!(
            colophon.contains(">part-14.txt<") || colophon.contains("part-14.txt"),
            "the colophon names the source by its name: {colophon}"
        );
        sites.push(
            files
                .iter()
                .map(|f| {
                    (
                        f.strip_prefix(&book).unwrap().to_path_buf(),
                        std::fs::read(f).unwrap(),
                    )
                })
                .collect::<Vec<_>>(),
        );
    }
    assert!(sites[0] == sites[1], "builds from two folders differ");
}

/// A build deletes only what it created: the user's `.x.tmp`, `.x.old`, `.config.old/` in the
/// output folder survive; a stale temporary with our marker from a crashed build is removed.
#[test]
fn a_build_deletes_only_its_own_temporaries() {
    let s = Setup::new();
    let out_dir = s.outside().join("out");
    std::fs::create_dir_all(out_dir.join(".config.old")).unwrap();
    std::fs::write(out_dir.join(".config.old/settings"), "keep").unwrap();
    let mine = [
        ".bashrc.old",
        ".x.tmp",
        ".book.pdf.abc123.tmp",
        ".html.old",
        ".publish.tmp",
        ".publish-x-y.tmp",
    ];
    for m in mine {
        std::fs::write(out_dir.join(m), "keep").unwrap();
    }
    // A crashed build's temporaries (pid above the kernel's pid_max, so not running).
    std::fs::write(out_dir.join(".publish-4999999-a1b2c3d4e5.tmp"), "stale").unwrap();
    std::fs::create_dir_all(out_dir.join(".publish-4999999-f6g7h8i9j0.old/x")).unwrap();
    for round in 0..2 {
        let out = run_bounded(
            publish()
                .current_dir(s.book())
                .arg("--output")
                .arg(&out_dir)
                .args(["--format", "html,epub", "--quiet"]),
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round}: {}",
            stderr(&out)
        );
        for m in mine {
            assert_eq!(
                std::fs::read_to_string(out_dir.join(m)).unwrap(),
                "keep",
                "{m} lost"
            );
        }
        assert_eq!(
            std::fs::read_to_string(out_dir.join(".config.old/settings")).unwrap(),
            "keep"
        );
        let mut left = names(&out_dir);
        left.sort();
        let mut want: Vec<&str> = mine.to_vec();
        want.extend([".config.old", ".publish.lock", "book.epub", "html"]);
        want.sort();
        assert_eq!(left, want, "round {round}");
    }
}

/// File names and source text in human diagnostics are escaped: a newline cannot forge a
/// diagnostic line and no ESC/OSC reaches the terminal; JSON output stays valid JSON with the
/// exact name.
#[test]
fn names_cannot_inject_into_the_terminal_or_log() {
    let s = Setup::new();
    let evil = "x\nforged.txt:1: error: forged [forged]\u{1b}]0;owned\u{7}\u{1b}[2J.txt";
    std::fs::write(s.book().join("sources").join(evil), b"bad bytes \xff\xfe").unwrap();
    let out = s.run(&["--format", "html"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    assert!(
        !err.lines().any(|l| l.starts_with("forged.txt")),
        "a forged line: {err}"
    );
    assert!(err.contains("sources/x\\nforged.txt"), "{err}");
    assert!(err.contains("[file-name]"), "{err}");

    let out = s.run(&["--format", "html", "--diagnostics", "json"]);
    let err = stderr(&out);
    let diags: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect();
    assert!(
        diags
            .iter()
            .any(|d| d["file"] == format!("sources/{evil}") && d["code"] == "file-name"),
        "{err}"
    );
    s.assert_contained("evil name");
}

/// Four builds of one book at once, several rounds: all succeed (they take turns through the
/// lock in the output folder) and every output is whole.
#[test]
fn concurrent_builds_take_turns() {
    let s = Setup::new();
    for round in 0..3 {
        let children: Vec<_> = (0..4)
            .map(|_| {
                std::process::Command::new(env!("CARGO_BIN_EXE_publish"))
                    .current_dir(s.book())
                    .env("SOURCE_DATE_EPOCH", "1790000000")
                    .args(["--format", "html,epub", "--quiet"])
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}: {}",
                stderr(&out)
            );
        }
        let mut left = names(&s.book().join("output"));
        left.sort();
        assert_eq!(
            left,
            vec![".publish.lock", "book.epub", "html"],
            "round {round}"
        );
        let epub = std::fs::File::open(s.book().join("output/book.epub")).unwrap();
        let mut zip = zip::ZipArchive::new(epub).expect("a whole EPUB");
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).unwrap();
            std::io::copy(&mut f, &mut std::io::sink()).expect("every entry reads");
        }
        let index = std::fs::read_to_string(s.book().join("output/html/index.html")).unwrap();
        assert!(index.trim_end().ends_with("</html>"), "a whole index.html");
    }
}

/// A build that finds the output folder locked says so at once and waits; it writes only when
/// the lock is released.
#[test]
fn a_second_build_waits_with_a_message() {
    let s = Setup::new();
    let out_dir = s.book().join("output");
    std::fs::create_dir_all(&out_dir).unwrap();
    let lock = std::fs::File::create(out_dir.join(".publish.lock")).unwrap();
    lock.lock().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_publish"))
        .current_dir(s.book())
        .args(["--format", "html", "--quiet"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !out_dir.join("html").exists(),
        "wrote while another build held the lock"
    );
    lock.unlock().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("another build is writing here"), "{err}");
    assert!(out_dir.join("html/index.html").is_file());
}

/// Configuration mistakes exit 2 with a message naming the key; none hangs or writes.
#[test]
fn configuration_errors_exit_2_naming_the_key() {
    let s = Setup::new();
    std::fs::create_dir_all(s.book().join("a-folder.png")).unwrap();
    std::fs::write(s.book().join("text.png"), "not an image").unwrap();
    mkfifo(&s.book().join("fifo.png"));
    symlink(s.outside().join("canary.txt"), s.book().join("link.png"));
    let cases = [
        ("[pdf]\npaper = \"napkin\"\n", "paper"),
        (
            "[pdf]\npaper = \"custom\"\nwidth = \"5000mm\"\nheight = \"200mm\"\n",
            "width",
        ),
        (
            "[pdf]\npaper = \"custom\"\nwidth = \"148mm\"\nheight = \"1mm\"\n",
            "height",
        ),
        ("[pdf]\npaper = \"custom\"\nwidth = \"148mm\"\n", "height"),
        ("[pdf]\nstandard = [\"a-2u\", \"a-1b\"]\n", "standard"),
        ("[pdf]\nstandard = [\"z-9\"]\n", "standard"),
        ("[pdf]\nbody-digits = \"roman\"\n", "body-digits"),
        ("[book]\ndigits = \"roman\"\n", "digits"),
        ("[book]\ndate = \"2024-02-31\"\n", "date"),
        ("[book]\ndate = \"2023-02-29\"\n", "date"),
        ("[book]\ntitle = \"a\\u0007b\"\n", "book.title"),
        (
            "[book]\nkeywords = [\"ok\", \"\\u001b[31m\"]\n",
            "book.keywords[1]",
        ),
        ("[epub]\ncover = \"missing.png\"\n", "cover"),
        ("[epub]\ncover = \"a-folder.png\"\n", "cover"),
        ("[epub]\ncover = \"text.png\"\n", "cover"),
        ("[epub]\ncover = \"fifo.png\"\n", "cover"),
        ("[epub]\ncover = \"link.png\"\n", "cover"),
        ("[epub]\ncover = \"../outside/canary.txt\"\n", "cover"),
        ("[book]\nslug = \"../x\"\n", "slug"),
    ];
    for (config, key) in cases {
        s.config(config);
        let started = Instant::now();
        let out = s.run(&["--format", "all", "--quiet"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{config}: {err}");
        assert!(
            err.contains("publish.toml") && err.contains(key),
            "{config}: {err}"
        );
        assert!(!err.contains('\u{1b}'), "{config}: {err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{config}: slow"
        );
        assert!(!s.book().join("output").exists(), "{config}: wrote output");
        s.assert_contained(config);
    }
    std::fs::remove_file(s.book().join("publish.toml")).unwrap();
    // publish.toml itself: a link out or a FIFO is refused, not read.
    symlink(
        s.outside().join("canary.txt"),
        s.book().join("publish.toml"),
    );
    let out = s.run(&["--format", "html"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("outside the book folder"));
    std::fs::remove_file(s.book().join("publish.toml")).unwrap();
    mkfifo(&s.book().join("publish.toml"));
    let out = s.run(&["--format", "html"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("FIFO"));
    std::fs::remove_file(s.book().join("publish.toml")).unwrap();
    // --jobs is bounded.
    for jobs in ["0", "257", "20000"] {
        let out = s.run(&["--format", "html", "--jobs", jobs]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "--jobs {jobs}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("--jobs"), "{}", stderr(&out));
    }
    let out = s.run(&["--format", "html", "--jobs", "256", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    s.assert_contained("jobs");
}

/// The default output folder must be inside the book: `output → elsewhere` is refused, so a
/// book cannot make a build replace someone's `html/` folder.
#[test]
fn output_link_out_of_the_book_is_refused() {
    let s = Setup::new();
    symlink(s.outside(), s.book().join("output"));
    let out = s.run(&["--format", "html"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("output folder"), "{}", stderr(&out));
    std::fs::remove_file(s.book().join("output")).unwrap();
    s.assert_contained("output link");
}

/// A control character escaped in front matter (`"\u0007"`) is a front-matter error naming
/// the file, line and key (exit 1), not a template failure.
#[test]
fn control_characters_in_front_matter_are_errors() {
    let s = Setup::new();
    for (name, text) in [
        ("a.md", "+++\ntitle = \"x\\u0007y\"\npart = 1\n+++\n\nنص.\n"),
        (
            "b.md",
            "---\ntitle: ok\nauthor: \"z\\x1b[2J\"\npart: 2\n---\n\nنص.\n",
        ),
    ] {
        std::fs::write(s.book().join("sources").join(name), text).unwrap();
        let out = s.run(&["--format", "html", "--diagnostics", "json"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        let diags: Vec<serde_json::Value> = err
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(
            diags.iter().any(|d| d["code"] == "front-matter"
                && d["file"] == format!("sources/{name}")
                && d["line"].as_u64().is_some()
                && d["message"].as_str().unwrap().contains("control character")),
            "{name}: {err}"
        );
        std::fs::remove_file(s.book().join("sources").join(name)).unwrap();
    }
}
