//! Bytes → text: UTF-8 (with or without BOM), UTF-16 with BOM, and Windows-1256, or a clear error.

use crate::diag::Diagnostic;

/// Decoded text of a source file.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The text, with any BOM removed. Line endings are kept as they were.
    pub text: String,
    /// Name of the encoding it was decoded from.
    pub encoding: &'static str,
    /// Warnings (non-UTF-8 encodings are decoded with a warning).
    pub warnings: Vec<Diagnostic>,
}

/// Decode a source file's bytes. `file` names the file in diagnostics.
///
/// Errors: NUL bytes or other binary content, and bytes that are valid in none of the
/// supported encodings; the error names the byte offset.
pub fn decode(bytes: &[u8], file: &str) -> Result<Decoded, Diagnostic> {
    let warn = |enc: &str| {
        Diagnostic::warning("encoding", format!("decoded as {enc}, not UTF-8"))
            .file(file)
            .hint("save the file as UTF-8 to silence this warning")
    };
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest, file, 3).map(|text| Decoded {
            text,
            encoding: "utf-8",
            warnings: vec![],
        });
    }
    for (bom, enc) in [
        (&b"\xFF\xFE"[..], encoding_rs::UTF_16LE),
        (&b"\xFE\xFF"[..], encoding_rs::UTF_16BE),
    ] {
        if bytes.starts_with(bom) {
            let (text, had_errors) = enc.decode_without_bom_handling(&bytes[2..]);
            if had_errors || text.contains('\0') {
                return Err(Diagnostic::error(
                    "invalid-encoding",
                    format!(
                        "starts with a {} byte-order mark but is not valid {}",
                        enc.name(),
                        enc.name()
                    ),
                )
                .file(file)
                .hint("re-save the file as UTF-8"));
            }
            check_binary(&text, file, 2)?;
            let name = if enc == encoding_rs::UTF_16LE {
                "utf-16le"
            } else {
                "utf-16be"
            };
            return Ok(Decoded {
                text: text.into_owned(),
                encoding: name,
                warnings: vec![warn(name)],
            });
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => utf8(bytes, file, 0).map(|text| Decoded {
            text,
            encoding: "utf-8",
            warnings: vec![],
        }),
        Err(e) => {
            let offset = e.valid_up_to();
            if bytes.contains(&0) {
                return Err(nul_error(bytes, file));
            }
            if looks_like_windows_1256(bytes) {
                let (text, _, _) = encoding_rs::WINDOWS_1256.decode(bytes);
                return Ok(Decoded {
                    text: text.into_owned(),
                    encoding: "windows-1256",
                    warnings: vec![warn("windows-1256")],
                });
            }
            Err(Diagnostic::error(
                "invalid-encoding",
                format!("invalid UTF-8 at byte {offset}, and not Windows-1256 or UTF-16 either"),
            )
            .file(file)
            .hint("the file is not text in a supported encoding; re-save it as UTF-8"))
        }
    }
}

fn utf8(bytes: &[u8], file: &str, base: usize) -> Result<String, Diagnostic> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Diagnostic::error(
            "invalid-encoding",
            format!("invalid UTF-8 at byte {}", base + e.valid_up_to()),
        )
        .file(file)
        .hint("re-save the file as UTF-8")
    })?;
    check_binary(text, file, base)?;
    Ok(text.to_owned())
}

fn nul_error(bytes: &[u8], file: &str) -> Diagnostic {
    let offset = bytes.iter().position(|&b| b == 0).unwrap_or(0);
    Diagnostic::error(
        "binary-file",
        format!("NUL byte at byte {offset}: this is a binary file, not text"),
    )
    .file(file)
    .hint("remove the file from the sources folder or replace it with the text it should hold")
}

/// Reject NUL and other C0 control characters that never occur in text.
fn check_binary(text: &str, file: &str, base: usize) -> Result<(), Diagnostic> {
    if let Some((i, c)) = text
        .char_indices()
        .find(|&(_, c)| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r' | '\x0C'))
    {
        let (line, col) = crate::diag::line_col(text, i);
        let what = if c == '\0' {
            "NUL byte".to_owned()
        } else {
            format!("control character U+{:04X}", c as u32)
        };
        return Err(Diagnostic::error(
            "binary-file",
            format!(
                "{what} at byte {}: this looks like a binary file, not text",
                base + i
            ),
        )
        .file(file)
        .line(line)
        .column(col)
        .hint(
            "remove the file from the sources folder or replace it with the text it should hold",
        ));
    }
    Ok(())
}

/// Windows-1256 maps every byte, so decoding always "works": accept it only when the
/// non-ASCII bytes are mostly Arabic letters and there are no control bytes.
fn looks_like_windows_1256(bytes: &[u8]) -> bool {
    if bytes
        .iter()
        .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C))
    {
        return false;
    }
    let (text, _, _) = encoding_rs::WINDOWS_1256.decode(bytes);
    let mut arabic = 0usize;
    let mut other = 0usize;
    for c in text.chars().filter(|c| !c.is_ascii()) {
        if ('\u{0600}'..='\u{06FF}').contains(&c) || c == '\u{00A0}' {
            arabic += 1;
        } else {
            other += 1;
        }
    }
    arabic > 0 && other * 10 <= arabic
}
