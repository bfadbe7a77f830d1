//! Pathological inputs (issue 17, limits and linear cost): each case is generated here, builds
//! within a generous bound, exits with the documented code and names the file in a
//! diagnostic; none may abort (134) or panic (101). Sizes are modest: the scaling itself is
//! measured by `bench/pathology.sh`, not here.

mod common;

use common::{book_with, publish};
use std::path::Path;
use std::time::{Duration, Instant};

/// A bound no healthy case comes near, even on a loaded two-core machine.
const BOUND: Duration = Duration::from_secs(120);

const FM: &str = "+++\ntitle = \"عنوان\"\npart = 1\n+++\n\n";

struct Case {
    name: &'static str,
    /// Files of `sources/`.
    files: Vec<(String, String)>,
    /// Extra files of the book folder (a theme).
    extra: Vec<(&'static str, String)>,
    formats: &'static str,
    env: Vec<(&'static str, &'static str)>,
    exit: i32,
    /// A diagnostic code that must be reported, with the file it must name (`""`: the case
    /// only has to end cleanly, with every line of stderr a JSON diagnostic).
    code: &'static str,
    file: &'static str,
}

fn md(
    name: &'static str,
    body: String,
    formats: &'static str,
    exit: i32,
    code: &'static str,
) -> Case {
    Case {
        name,
        files: vec![("a.md".into(), format!("{FM}{body}"))],
        extra: vec![],
        formats,
        env: vec![],
        exit,
        code,
        file: "sources/a.md",
    }
}

fn cases() -> Vec<Case> {
    let n = 5000;
    let mut v = vec![
        md(
            "quotes on one line",
            format!("{} نص\n", ">".repeat(n)),
            "pdf,html",
            0,
            "nesting-too-deep",
        ),
        md(
            "one more quote per line",
            (1..=300)
                .map(|i| format!("{} نص\n", ">".repeat(i)))
                .collect(),
            "pdf,html",
            0,
            "nesting-too-deep",
        ),
        md(
            "bullet lists on one line",
            format!("{}نص\n", "* ".repeat(n)),
            "pdf,html",
            0,
            "nesting-too-deep",
        ),
        md(
            "one indented item per line",
            (0..1000)
                .map(|i| format!("{}- نص\n", "  ".repeat(i)))
                .collect(),
            "html",
            0,
            "nesting-too-deep",
        ),
        md(
            "emphasis",
            format!("{}نص{}\n", "*".repeat(n), "*".repeat(n)),
            "pdf,html",
            0,
            "nesting-too-deep",
        ),
        md(
            "alternating emphasis, closed",
            (0..n / 2)
                .map(|i| if i % 2 == 0 { "*a " } else { "_b " })
                .collect::<String>()
                + "نص"
                + &(0..n / 2)
                    .rev()
                    .map(|i| if i % 2 == 0 { " a*" } else { " b_" })
                    .collect::<String>()
                + "\n",
            "pdf,html",
            0,
            "nesting-too-deep",
        ),
        // Never closed, these are literal text: nothing nests, nothing is said.
        md(
            "alternating emphasis, open",
            (0..n)
                .map(|i| if i % 2 == 0 { "*a " } else { "_b " })
                .collect::<String>()
                + "نص\n",
            "pdf,html",
            0,
            "",
        ),
        // CommonMark: a link cannot hold a link; the innermost wins, the rest is text.
        md(
            "nested links",
            format!(
                "{}نص{}\n",
                "[ ".repeat(n),
                "](http://example.org) ".repeat(n)
            ),
            "pdf,html",
            0,
            "",
        ),
        // Linear cost: sizes that took seconds to minutes before (the scaling itself is in
        // `bench/pathology.sh`).
        md(
            "a 400 KB line",
            "كلمة ".repeat(40_000) + "\n",
            "pdf,html,epub",
            0,
            "paragraph-split",
        ),
        md(
            "10,000 references to one footnote",
            "نص[^1] ".repeat(10_000) + "\n\n[^1]: حاشية\n",
            "html,epub",
            0,
            "",
        ),
        md(
            "10,000 footnote definitions",
            (1..=10_000).map(|i| format!("[^{i}]: حاشية\n\n")).collect(),
            "html,epub",
            0,
            "footnote-unused",
        ),
        md(
            "10,000 footnotes referenced and defined",
            (1..=10_000)
                .map(|i| format!("نص[^{i}]\n\n"))
                .chain((1..=10_000).map(|i| format!("[^{i}]: حاشية\n\n")))
                .collect(),
            "html,epub",
            0,
            "",
        ),
        md(
            "10,000 link reference definitions",
            (1..=10_000)
                .map(|i| format!("[r{i}]: http://example.org/{i}\n"))
                .collect::<String>()
                + "\n[نص][r1]\n",
            "html,epub",
            0,
            "",
        ),
        md(
            "10,000 autolinks",
            "<http://example.org/a> ".repeat(10_000) + "\n",
            "html,epub",
            0,
            "",
        ),
        md(
            "10,000 headings",
            (1..=10_000)
                .map(|i| format!("## عنوان {i}\n\nنص\n\n"))
                .collect(),
            "html,epub",
            0,
            "",
        ),
        // Long strings: a PDF/A string holds 32,767 bytes; a word that long cannot be typeset.
        md(
            "a heading of 42,000 characters",
            format!("## {}\n\nنص\n", "عنوان ".repeat(7000)),
            "pdf",
            0,
            "pdf-string-shortened",
        ),
        md(
            "a word of 40,000 letters",
            "ع".repeat(40_000) + "\n",
            "pdf",
            1,
            "word-too-long",
        ),
        md(
            "a chain of footnotes each citing the next",
            std::iter::once("نص[^1]\n\n".to_owned())
                .chain((1..=10_000).map(|i| format!("[^{i}]: حاشية[^{}]\n\n", i + 1)))
                .collect(),
            "html,epub",
            0,
            "footnote-unused",
        ),
        md(
            "a footnote holding 1,000 nested quotes",
            format!("نص[^a]\n\n[^a]: {} حاشية\n", ">".repeat(1000)),
            "html",
            0,
            "nesting-too-deep",
        ),
        // Just past the cap: typst's show-rule depth used to fail at 16 quotes and 31 lists.
        md(
            "16 nested quotes",
            format!("{} نص\n", ">".repeat(16)),
            "pdf",
            0,
            "nesting-too-deep",
        ),
        md(
            "31 nested lists",
            format!("{}نص\n", "* ".repeat(31)),
            "pdf",
            0,
            "nesting-too-deep",
        ),
        md(
            "a 1 MB title in TOML front matter",
            "نص\n".into(),
            "html",
            1,
            "front-matter-too-long",
        ),
        md(
            "a 5,000-character title",
            "نص\n".into(),
            "html",
            1,
            "front-matter-too-long",
        ),
    ];
    // Front matter cases replace the default front matter.
    for c in v.iter_mut() {
        let body = c.files[0].1.trim_start_matches(FM).to_owned();
        let fm = match c.name {
            "a 1 MB title in TOML front matter" => {
                format!(
                    "+++\npart = 1\ntitle = \"{}\"\n+++\n\n",
                    "ع".repeat(500_000)
                )
            }
            "a 5,000-character title" => {
                format!("---\npart: 1\ntitle: {}\n---\n\n", "ع".repeat(5000))
            }
            _ => continue,
        };
        c.files[0].1 = fm + &body;
    }
    v.push(Case {
        name: "a part numbered 4294967295 in the file name",
        files: vec![
            ("part-4294967295.md".into(), "# عنوان\n\nنص\n".into()),
            ("part-1.md".into(), "# عنوان\n\nنص\n".into()),
        ],
        extra: vec![],
        formats: "html",
        env: vec![],
        exit: 0,
        code: "part-number-too-large",
        file: "sources/part-4294967295.md",
    });
    v.push(Case {
        name: "a part numbered 1,000,000,000 in the front matter",
        files: vec![
            (
                "a.md".into(),
                "+++\ntitle = \"عنوان\"\npart = 1000000000\n+++\n\nنص\n".into(),
            ),
            (
                "b.md".into(),
                format!("{FM}نص\n").replace("part = 1", "part = 2"),
            ),
        ],
        extra: vec![],
        formats: "html,epub,pdf",
        env: vec![],
        exit: 0,
        code: "part-number-too-large",
        file: "sources/a.md",
    });
    v.push(Case {
        name: "2,000 parts",
        files: (1..=2000)
            .map(|i| {
                (
                    format!("p{i}.md"),
                    format!("+++\ntitle = \"عنوان {i}\"\npart = {i}\n+++\n\nنص\n"),
                )
            })
            .collect(),
        extra: vec![],
        formats: "html,epub",
        env: vec![],
        exit: 0,
        code: "",
        file: "",
    });
    v.push(Case {
        name: "an author name of 33,000 letters",
        files: vec![("a.md".into(), format!("{FM}نص\n"))],
        extra: vec![(
            "publish.toml",
            format!(
                "[book]\ntitle = \"كتاب\"\nauthor = \"{}\"\n",
                "ع".repeat(33_000)
            ),
        )],
        formats: "pdf",
        env: vec![],
        exit: 0,
        code: "pdf-string-shortened",
        file: "publish.toml",
    });
    v.push(Case {
        name: "a deeply nested YAML flow sequence",
        files: vec![(
            "a.md".into(),
            format!(
                "---\npart: 1\ntags: {}{}\n---\n\nنص\n",
                "[".repeat(20_000),
                "]".repeat(20_000)
            ),
        )],
        extra: vec![],
        formats: "html",
        env: vec![],
        exit: 1,
        code: "front-matter",
        file: "sources/a.md",
    });
    v.push(Case {
        name: "a template that loops without end",
        files: vec![("a.md".into(), format!("{FM}نص\n"))],
        extra: vec![(
            "themes/default/book.typ",
            "#let n = 0\n#for i in range(100000) { for j in range(100000) { n += 1 } }\n#n\n"
                .into(),
        )],
        formats: "pdf",
        env: vec![("PUBLISH_TYPST_TIME_LIMIT", "3")],
        exit: 3,
        code: "typst-limit",
        file: "themes/default/book.typ",
    });
    v.push(Case {
        name: "a template that allocates without end",
        files: vec![("a.md".into(), format!("{FM}نص\n"))],
        extra: vec![(
            "themes/default/book.typ",
            "#let a = range(2000000000)\n#a.len()\n".into(),
        )],
        formats: "pdf",
        env: vec![("PUBLISH_TYPST_MEMORY_LIMIT", "1024")],
        exit: 3,
        code: "typst-limit",
        file: "themes/default/book.typ",
    });
    v
}

fn run(case: &Case) -> Result<(), String> {
    let files: Vec<(&str, &[u8])> = case
        .files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_bytes()))
        .collect();
    let dir = book_with(&files);
    for (path, text) in &case.extra {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
    }
    let start = Instant::now();
    let mut cmd = publish();
    cmd.args([
        "build",
        "--quiet",
        "--diagnostics",
        "json",
        "--format",
        case.formats,
    ])
    .arg("--book")
    .arg(dir.path())
    .timeout(BOUND);
    for (k, v) in &case.env {
        cmd.env(k, v);
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    let took = start.elapsed();
    let code = out.status.code();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut named = false;
    for line in stderr.lines() {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            format!(
                "stderr line is not JSON ({e}): {}",
                line.chars().take(200).collect::<String>()
            )
        })?;
        if v["code"] == case.code
            && v["file"]
                .as_str()
                .is_some_and(|f| Path::new(f).ends_with(case.file))
        {
            named = true;
        }
    }
    if took >= BOUND {
        return Err(format!("took {took:?}"));
    }
    if code != Some(case.exit) {
        return Err(format!(
            "exit {code:?}, wanted {}: {}",
            case.exit,
            stderr.chars().take(600).collect::<String>()
        ));
    }
    if !named && !case.code.is_empty() {
        return Err(format!(
            "no `{}` diagnostic naming {}: {}",
            case.code,
            case.file,
            stderr.chars().take(600).collect::<String>()
        ));
    }
    eprintln!(
        "{:<45} exit {} in {:.1} s",
        case.name,
        case.exit,
        took.as_secs_f64()
    );
    Ok(())
}

/// The table: every case runs; all failures are reported together.
#[test]
fn pathological_inputs_are_diagnosed_in_bounded_time() {
    let failures: Vec<String> = cases()
        .iter()
        .filter_map(|c| run(c).err().map(|e| format!("{}: {e}", c.name)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
