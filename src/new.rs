//! `publish new DIR`: a ready book folder — a commented `publish.toml` with every key, one
//! short example part per source format, a `.gitignore` for `output/` and a CI workflow — that
//! builds at once with no warnings.

use crate::Error;
use std::path::{Path, PathBuf};

/// Series title of the example parts when `--title` is not given.
const DEFAULT_TITLE: &str = "كتاب جديد";
/// Author of the example parts when `--author` is not given.
const DEFAULT_AUTHOR: &str = "اسم المؤلف";

/// The CI workflow of the README's "In CI" section, as a file.
const WORKFLOW: &str = r#"# Builds the book edition on every change and keeps the three files as an artifact.
name: book
on: [push, pull_request]
jobs:
  book:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4            # the book folder: publish.toml, sources/, themes/
      - uses: actions/checkout@v4            # publish itself
        with:
          repository: your-org/publish
          path: .publish
      - uses: dtolnay/rust-toolchain@stable
      - run: cargo install --locked --path .publish
      # Dates from the last commit: rebuilding the same commit gives byte-identical files.
      - run: echo "SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)" >> "$GITHUB_ENV"
      - run: publish --format all --diagnostics json --fail-on-warnings --quiet
      - uses: actions/upload-artifact@v4
        with:
          name: book
          path: |
            output/*.pdf
            output/*.epub
            output/html/
"#;

/// A one-line value for a title or author: controls and line breaks become spaces, so the
/// value cannot break the first lines of a raw part or the front matter.
fn one_line(s: &str, default: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.is_empty() { default.to_owned() } else { s }
}

/// A TOML string literal for `s` (quoted and escaped by the toml crate itself).
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// `publish.toml`: every key of the README's table, commented with its meaning; the title and
/// author given on the command line are set, everything else is left to its default.
fn config_text(title: Option<&str>, author: Option<&str>) -> String {
    let set = |key: &str, value: Option<&str>, example: &str, comment: &str| match value {
        Some(v) => format!("{key} = {}  # {comment}\n", toml_str(v)),
        None => format!("# {key} = {example}  # {comment}\n"),
    };
    let mut s = String::new();
    s.push_str(
        "# Settings of this book. Every key is optional: a commented key keeps its default.\n\
         # Unknown keys are an error naming the key.\n\n\
         # theme = \"default\"  # a folder themes/<name>/ over the built-in default\n\n\
         [book]\n",
    );
    s.push_str(&set(
        "title",
        title,
        "\"…\"",
        "default: the series title of the parts",
    ));
    s.push_str("# subtitle = \"…\"\n");
    s.push_str(&set(
        "author",
        author,
        "\"…\"",
        "default: the author of the parts",
    ));
    s.push_str(
        "# language = \"ar\"  # BCP 47; default ar\n\
         # dir = \"rtl\"  # default: from the language\n\
         # identifier = \"urn:isbn:…\"  # ISBN or URN; default: a UUID derived from title and author\n\
         # date = \"2026-11-24\"  # default: SOURCE_DATE_EPOCH, else the newest source's mtime\n\
         # publisher = \"…\"\n\
         # rights = \"…\"\n\
         # keywords = [\"…\", \"…\"]\n\
         # slug = \"book\"  # output file names: <slug>.pdf, <slug>.epub\n\
         # part-label = \"words\"  # «الجزء الرابع عشر» (words) or «الجزء ١٤» (number)\n\
         # digits = \"arabic-indic\"  # generated numbers: arabic-indic, western, persian\n\n\
         [pdf]\n\
         # paper = \"a5\"  # a5, a4, b5, us-trade (6×9 in), custom\n\
         # width = \"148mm\"  # with paper = \"custom\"\n\
         # height = \"210mm\"\n\
         # standard = [\"a-2u\"]  # PDF/A and PDF/UA parts; [] for none\n\
         # body-digits = \"as-typed\"  # or convert body text digits: arabic-indic, western, persian\n\
         # text-layer = \"logical\"  # the text viewers copy: logical (default) or typst's native\n\n\
         [epub]\n\
         # cover = \"cover.png\"  # a PNG/JPEG inside the book folder; default: generated\n\n\
         [html]\n\
         # search = true  # write the search index and search box\n",
    );
    s
}

/// The example raw part (`.txt`): the layout of a part copied from a web page.
fn raw_part(title: &str, author: &str) -> String {
    format!(
        "{title} الجزء الأول\n\n{author}\n\nمقدمة\n\n\
         هذا مثال لجزء من نص خام منسوخ من صفحة على الويب: السطر الأول عنوان السلسلة ورقم الجزء، \
         ثم اسم المؤلف، ثم عنوان الجزء، ثم الفقرات يفصل بينها سطر فارغ.\n\n\
         ضع أجزاء كتابك في هذا المجلد واحذف هذين المثالين، ثم ابنِ الكتاب من جديد.\n"
    )
}

/// The example Markdown part (`.md`) with TOML front matter.
fn markdown_part(title: &str, author: &str) -> String {
    format!(
        "+++\ntitle = \"مثال بصيغة ماركداون\"\npart = 2\nauthor = {}\nseries = {}\n+++\n\n\
         هذا مثال لجزء بصيغة **ماركداون** مع ترويسة تذكر رقم الجزء وعنوانه.\n\n\
         ## عنوان فرعي\n\n\
         وفي النص *تأكيد* وحاشية في آخر الجملة.[^1]\n\n\
         [^1]: هذه حاشية تظهر في أسفل الصفحة.\n",
        toml_str(author),
        toml_str(title)
    )
}

/// Create a new book folder at `dir`. Refuses a folder that exists and is not empty; returns
/// the files written, in order.
pub fn create(
    dir: &Path,
    title: Option<&str>,
    author: Option<&str>,
) -> Result<Vec<PathBuf>, Error> {
    let io = |path: &Path, e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::Usage(format!(
                    "{} is not empty: `publish new` only writes into a new or empty folder",
                    dir.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(dir, e)),
    }
    let title = title.map(|t| one_line(t, DEFAULT_TITLE));
    let author = author.map(|a| one_line(a, DEFAULT_AUTHOR));
    let series = title.clone().unwrap_or_else(|| DEFAULT_TITLE.to_owned());
    let by = author.clone().unwrap_or_else(|| DEFAULT_AUTHOR.to_owned());
    let files: Vec<(&str, String)> = vec![
        (
            "publish.toml",
            config_text(title.as_deref(), author.as_deref()),
        ),
        ("sources/part-1.txt", raw_part(&series, &by)),
        ("sources/part-2.md", markdown_part(&series, &by)),
        (
            ".gitignore",
            "# What `publish` writes.\noutput/\n".to_owned(),
        ),
        (".github/workflows/book.yml", WORKFLOW.to_owned()),
    ];
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&path, text).map_err(|e| io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_parses_with_and_without_values() {
        for (t, a) in [(None, None), (Some("عنوان \"مقتبس\"\n"), Some("\\مؤلف"))] {
            let text = config_text(
                t.map(|t| one_line(t, DEFAULT_TITLE)).as_deref(),
                a.map(|a| one_line(a, DEFAULT_AUTHOR)).as_deref(),
            );
            let config = crate::config::Config::parse(&text, Path::new("publish.toml"))
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(config.book.title.is_some(), t.is_some());
        }
    }
}
