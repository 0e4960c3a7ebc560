//! Cells of the CSV files people open in Excel or WPS. A cell that starts with `=`, `+`, `-`, `@`, a tab or
//! a carriage return is read there as a formula (`=HYPERLINK(…)`, `+cmd|' /C calc'!A0`): exports put a
//! single quote in front of such text (OWASP, "CSV injection"), and imports take it off again, so a file
//! goes out and comes back unchanged. Plain numbers (`-12.5`) are left as they are.

use std::borrow::Cow;

fn formula_like(v: &str) -> bool {
    v.starts_with(['=', '+', '-', '@', '\t', '\r']) && v.parse::<f64>().map_or(true, |x| !x.is_finite())
}

/// Formula-like, or already a neutralised formula (its author wrote the quote): both get a quote more.
fn needs_quote(v: &str) -> bool {
    formula_like(v) || v.strip_prefix('\'').is_some_and(formula_like)
}

/// The text an export writes for `v`.
pub fn neutralise(v: &str) -> Cow<'_, str> {
    if needs_quote(v) {
        Cow::Owned(format!("'{v}"))
    } else {
        Cow::Borrowed(v)
    }
}

/// The text an import reads from a cell that [`neutralise`] may have written.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_quote(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_restored() {
        let cases = [
            "=HYPERLINK(\"http://x\",\"点我\")",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1:A9)",
            "\t=1",
            "\r=1",
            "-inf",
            "'=already quoted by its author",
        ];
        for c in cases {
            let out = neutralise(c);
            assert!(out.starts_with('\''), "{c:?} → {out:?}");
            assert_eq!(restore(&out), c);
        }
        for plain in ["余热回收", "-12.5", "+3", "1e5", "'quoted by the author", "a=b"] {
            assert_eq!(neutralise(plain), plain);
            assert_eq!(restore(plain), plain);
        }
    }
}
