//! The HTML writer (not implemented yet: fails with a clear message, never a fake file).

use super::Rendered;
use crate::Context;
use crate::diag::Diagnostic;

/// Render the HTML edition.
pub fn render(_ctx: &Context) -> Rendered {
    Rendered {
        artifact: None,
        diagnostics: vec![
            Diagnostic::error("not-implemented", "the html writer is not implemented yet")
                .hint("build another format with --format"),
        ],
    }
}
