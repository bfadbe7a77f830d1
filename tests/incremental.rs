//! Incremental builds equal cold builds, byte for byte: one [`publish::Session`] with the
//! writers' memo on (as in `watch`) rebuilds after a pseudo-random sequence of edits (change a
//! paragraph, add a part, delete a part, change the config, touch a file without changing it),
//! and after each step its outputs are compared with a cold build of the same sources made by
//! a fresh `publish` process (so no memo or cache of this one can leak into it).

use publish::write::OutputFormat;
use publish::{Options, Session};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn options(book: &Path, config: &Path) -> Options {
    Options {
        book_dir: book.to_path_buf(),
        sources: None,
        output: None,
        config: Some(config.to_path_buf()),
        theme: None,
        formats: OutputFormat::ALL.to_vec(),
        jobs: Some(2),
        check_only: false,
        check_print: false,
    }
}

/// Every file under `dir`, by relative path.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn incremental_builds_equal_cold_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("book");
    publish::new::create(&book, Some("كتاب"), Some("كاتب")).unwrap();
    // A fixed date: the default (newest source's mtime) would differ between the two builds.
    let config = tmp.path().join("publish.toml");
    std::fs::write(&config, "[book]\ndate = \"2026-01-02\"\n").unwrap();
    let src = book.join("sources");
    let raw = std::fs::read_to_string(src.join("part-1.txt")).unwrap();
    publish::write::memo::enable();
    let mut session = Session::new(options(&book, &config));
    assert!(session.build(&[]).result.is_ok());
    assert!(
        publish::write::memo::len() > 0,
        "the writers memoise in a session"
    );
    let cold_out = tmp.path().join("cold");
    // A small linear congruential generator: the same "random" edits on every run.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let mut extra: Vec<PathBuf> = Vec::new();
    for step in 0..10 {
        let changed: Vec<PathBuf> = match next(5) {
            0 => {
                let p = src.join(if next(2) == 0 {
                    "part-1.txt"
                } else {
                    "part-2.md"
                });
                let text = std::fs::read_to_string(&p).unwrap();
                std::fs::write(&p, format!("{text}\nفقرة مضافة في الخطوة {step}.\n")).unwrap();
                vec![p]
            }
            1 => {
                let n = 3 + extra.len();
                let p = src.join(format!("part-{n}.txt"));
                let ordinal = [
                    "الثالث",
                    "الرابع",
                    "الخامس",
                    "السادس",
                    "السابع",
                    "الثامن",
                    "التاسع",
                ][n - 3];
                std::fs::write(&p, raw.replacen("الأول", ordinal, 1)).unwrap();
                extra.push(p.clone());
                vec![p]
            }
            2 if !extra.is_empty() => {
                let p = extra.pop().unwrap();
                std::fs::remove_file(&p).unwrap();
                vec![p]
            }
            3 => {
                let digits = ["western", "persian", "arabic-indic"][next(3) as usize];
                std::fs::write(
                    &config,
                    format!("[book]\ndate = \"2026-01-02\"\ndigits = \"{digits}\"\n"),
                )
                .unwrap();
                vec![config.clone()]
            }
            // Touched but unchanged, and reported as no particular path.
            _ => {
                let p = src.join("part-1.txt");
                std::fs::write(&p, std::fs::read(&p).unwrap()).unwrap();
                Vec::new()
            }
        };
        let warm = session.build(&changed);
        assert!(warm.result.is_ok(), "step {step}: {:?}", warm.diagnostics);
        let reuse = session.reuse();
        if changed == [config.clone()] {
            // The readers depend on the config: a new config is read, and every part again.
            assert!(reuse.settings_loaded, "step {step}: {reuse:?}");
        } else {
            // Only an edited or new part is parsed again; the others are reused.
            assert_eq!(
                reuse.parsed,
                usize::from(changed.first().is_some_and(|p| p.exists())),
                "step {step}: {reuse:?}"
            );
        }
        // The warm output stays in place, so the next step also rebuilds over it.
        let warm_tree = tree(&book.join("output"));
        let _ = std::fs::remove_dir_all(&cold_out);
        let cold = std::process::Command::new(env!("CARGO_BIN_EXE_publish"))
            .args(["--quiet", "--jobs", "2", "--format", "all", "--book"])
            .arg(&book)
            .arg("--config")
            .arg(&config)
            .arg("--output")
            .arg(&cold_out)
            .output()
            .unwrap();
        assert!(cold.status.success(), "step {step}: {cold:?}");
        let cold_tree = tree(&cold_out);
        assert_eq!(
            warm_tree.keys().collect::<Vec<_>>(),
            cold_tree.keys().collect::<Vec<_>>(),
            "step {step}"
        );
        for (path, bytes) in &warm_tree {
            assert!(
                bytes == &cold_tree[path],
                "step {step}: {} differs",
                path.display()
            );
        }
    }
}
