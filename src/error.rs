//! The closed set of fatal errors, each with a documented exit code.

use thiserror::Error as ThisError;

/// A fatal error: the run stops and `publish` exits with [`Error::exit_code`].
#[derive(Debug, ThisError)]
pub enum Error {
    /// The sources have errors (diagnostics were printed). Exit code 1.
    #[error("the book has {0} error(s) in its sources")]
    Sources(usize),
    /// Warnings were reported and `--fail-on-warnings` is set. Exit code 1.
    #[error("{0} warning(s) and --fail-on-warnings is set")]
    Warnings(usize),
    /// `publish.toml` is malformed or has an unknown key. Exit code 2.
    #[error("{}: error: {message}", location(file, *line, *column))]
    Config {
        /// Config file path.
        file: String,
        /// 1-based line (0 when unknown).
        line: u32,
        /// 1-based column (0 when unknown).
        column: u32,
        /// Parser message.
        message: String,
    },
    /// Command-line or setup mistake (missing folder, unknown theme…). Exit code 2.
    #[error("{0}")]
    Usage(String),
    /// One or more output formats failed to build. Exit code 3.
    #[error("{0} format(s) failed to build")]
    Output(usize),
    /// A file could not be read or written. Exit code 3.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        message: String,
    },
    /// A bug in `publish`. Exit code 4.
    #[error("internal error: {0}")]
    Internal(String),
}

/// `file:line:column`, leaving out what is unknown (0).
fn location(file: &str, line: u32, column: u32) -> String {
    match (line, column) {
        (0, _) => file.to_owned(),
        (l, 0) => format!("{file}:{l}"),
        (l, c) => format!("{file}:{l}:{c}"),
    }
}

impl Error {
    /// The process exit code for this error (documented in the README).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Sources(_) | Error::Warnings(_) => 1,
            Error::Config { .. } | Error::Usage(_) => 2,
            Error::Output(_) | Error::Io { .. } => 3,
            Error::Internal(_) => 4,
        }
    }
}
