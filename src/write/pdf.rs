//! The PDF writer (not implemented yet: fails with a clear message, never a fake file).

use super::Rendered;
use crate::Context;
use crate::diag::Diagnostic;

/// Render the PDF edition.
pub fn render(_ctx: &Context) -> Rendered {
    Rendered {
        artifact: None,
        diagnostics: vec![
            Diagnostic::error("not-implemented", "the pdf writer is not implemented yet")
                .hint("build another format with --format"),
        ],
    }
}

/// Checks of the model made before typesetting.
pub fn check(_ctx: &Context) -> Vec<Diagnostic> {
    Vec::new()
}
