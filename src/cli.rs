//! Command-line types (clap). Converted into library [`publish::Options`] with `From`.

use clap::{Parser, Subcommand, ValueEnum};
use publish::write::OutputFormat;
use std::path::PathBuf;

/// Turn a series of Arabic article parts into a book edition: PDF, EPUB 3 and an HTML site.
#[derive(Debug, Parser)]
#[command(name = "publish", version, about, long_about = None)]
pub struct Cli {
    /// What to do (default: build).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Formats to build (repeat or separate with commas).
    #[arg(
        short,
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "all",
        global = true
    )]
    pub format: Vec<FormatArg>,
    /// The book folder (holds publish.toml, sources/, themes/, output/).
    #[arg(long, value_name = "DIR", default_value = ".", global = true)]
    pub book: PathBuf,
    /// Sources folder [default: <book>/sources].
    #[arg(long, value_name = "DIR", global = true)]
    pub sources: Option<PathBuf>,
    /// Output folder [default: <book>/output].
    #[arg(long, value_name = "DIR", global = true)]
    pub output: Option<PathBuf>,
    /// Config file [default: <book>/publish.toml, if present].
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Theme name (a folder themes/<NAME>/ over the compiled-in default).
    #[arg(long, value_name = "NAME", global = true)]
    pub theme: Option<String>,
    /// Worker threads, 1 to 256 [default: one per core].
    #[arg(short, long, value_name = "N", global = true, value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Diagnostics format on stderr.
    #[arg(long, value_enum, default_value = "human", global = true)]
    pub diagnostics: DiagnosticsArg,
    /// Exit with an error when there are warnings (for CI).
    #[arg(long, global = true)]
    pub fail_on_warnings: bool,
    /// Print only errors and warnings.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print an intermediate representation to stdout instead of writing outputs.
    #[arg(long, value_enum, value_name = "WHAT", global = true)]
    pub emit: Option<EmitArg>,
    /// Print how long each phase took (on stderr).
    #[arg(long, global = true)]
    pub timings: bool,
}

/// `--jobs`: a number from 1 to [`publish::MAX_JOBS`] (a usage error, exit 2, otherwise).
fn parse_jobs(s: &str) -> Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of worker threads"))?;
    if (1..=publish::MAX_JOBS).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "use a number of worker threads from 1 to {}",
            publish::MAX_JOBS
        ))
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build the book (the default).
    Build,
    /// Read and lint the sources; write nothing.
    Check {
        /// Also typeset the print interior and cover and preflight them (fonts embedded and
        /// subset, text inside the safe area, page count and spine width), writing nothing.
        #[arg(long)]
        print: bool,
    },
    /// Create a new book folder: publish.toml, example parts, .gitignore, a CI workflow.
    New {
        /// The folder to create (it must not exist or be empty).
        dir: PathBuf,
        /// The book's title (set in publish.toml and the example parts).
        #[arg(long)]
        title: Option<String>,
        /// The author (set in publish.toml and the example parts).
        #[arg(long)]
        author: Option<String>,
    },
    /// Build, then rebuild on every change to the sources, publish.toml or the themes.
    Watch,
    /// Watch, and serve the outputs over HTTP with live reload.
    Serve {
        /// Port to listen on [default: 3000, or the next free port].
        #[arg(long, value_name = "N")]
        port: Option<u16>,
        /// Address to listen on; anything but loopback exposes the preview to the network.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// Open the site in the default browser.
        #[arg(long)]
        open: bool,
    },
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Print/archival PDF.
    Pdf,
    /// EPUB 3.
    Epub,
    /// HTML site.
    Html,
    /// All three (the print edition comes with the PDF when `[print]` is configured).
    All,
    /// The print edition alone: interior and cover (or volumes), without the reading PDF
    /// (`[print]` defaults when the table is absent).
    Print,
}

/// `--diagnostics` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticsArg {
    /// `file:line:col: warning: message [code]` with a hint line.
    Human,
    /// One JSON object per line.
    Json,
}

/// `--emit` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmitArg {
    /// The document model as JSON.
    Model,
}

impl Cli {
    /// The formats asked for, each once, in canonical order.
    pub fn formats(&self) -> Vec<OutputFormat> {
        let mut out: Vec<OutputFormat> = Vec::new();
        for f in &self.format {
            let add: &[OutputFormat] = match f {
                FormatArg::Pdf => &[OutputFormat::Pdf],
                FormatArg::Epub => &[OutputFormat::Epub],
                FormatArg::Html => &[OutputFormat::Html],
                FormatArg::All => &OutputFormat::ALL,
                FormatArg::Print => &[OutputFormat::Print],
            };
            out.extend(add);
        }
        out.sort();
        out.dedup();
        // The PDF already makes the print edition: typesetting it twice helps nobody.
        if out.contains(&OutputFormat::Pdf) && out.contains(&OutputFormat::Print) {
            out.retain(|f| *f != OutputFormat::Print);
        }
        out
    }
}

impl From<&Cli> for publish::Options {
    fn from(cli: &Cli) -> Self {
        let check_only = matches!(cli.command, Some(Command::Check { .. })) || cli.emit.is_some();
        let check_print = matches!(cli.command, Some(Command::Check { print: true }));
        publish::Options {
            book_dir: cli.book.clone(),
            sources: cli.sources.clone(),
            output: cli.output.clone(),
            config: cli.config.clone(),
            theme: cli.theme.clone(),
            formats: cli.formats(),
            jobs: cli.jobs,
            check_only,
            check_print,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn formats(args: &[&str]) -> Vec<OutputFormat> {
        Cli::try_parse_from(std::iter::once("publish").chain(args.iter().copied()))
            .unwrap()
            .formats()
    }

    #[test]
    fn print_alone_or_folded_into_the_pdf() {
        assert_eq!(formats(&["--format", "print"]), [OutputFormat::Print]);
        // The PDF makes the print edition already: asking for both typesets it once.
        assert_eq!(formats(&["--format", "pdf,print"]), [OutputFormat::Pdf]);
        assert_eq!(
            formats(&["--format", "print,epub"]),
            [OutputFormat::Epub, OutputFormat::Print]
        );
        assert_eq!(formats(&[]), OutputFormat::ALL);
    }
}
