//! What free text may contain. Every text field a user writes (descriptions,
//! comments, names, bios) is refused when it carries NUL or other control
//! characters, bidirectional overrides and isolates (U+202A-202E, U+2066-2069: they
//! make text display in an order other than the one it is stored in, the trick of
//! "Trojan Source" and of spoofed file names), or nothing but invisible characters.

/// Bidirectional embeddings, overrides and isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that render as nothing: whitespace, zero-width and joiner
/// characters, directional marks, variation selectors, fillers, tag characters.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202F}'
                | '\u{205F}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// Refuses control characters (tab and line breaks too, unless `multiline`),
/// bidirectional controls, and text that is not empty but shows nothing.
pub fn check(s: &str, multiline: bool) -> Result<(), String> {
    for c in s.chars() {
        let allowed_break = multiline && matches!(c, '\n' | '\r' | '\t');
        if c.is_control() && !allowed_break {
            return Err("must not contain control characters".into());
        }
        if is_bidi_control(c) {
            return Err("must not contain bidirectional override characters".into());
        }
    }
    if !s.is_empty() && s.chars().all(is_invisible) {
        return Err("must contain visible characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bidi_and_invisible_only_text_is_refused() {
        assert!(check("a holiday in Ελλάδα 🏖", false).is_ok());
        assert!(check("line one\nline two\twith a tab", true).is_ok());
        assert!(
            check("line one\nline two", false).is_err(),
            "no breaks in a name"
        );
        for bad in ["nul\0byte", "bell\u{7}", "esc\u{1b}[31m", "del\u{7f}"] {
            assert_eq!(
                check(bad, true).unwrap_err(),
                "must not contain control characters"
            );
        }
        for bad in ["abc\u{202E}txt.exe", "x\u{2066}y", "\u{202A}"] {
            assert!(
                check(bad, true).unwrap_err().contains("bidirectional"),
                "{bad:?}"
            );
        }
        for bad in [
            "\u{200B}\u{200B}",
            "\u{3164}",
            "\u{FEFF} \u{2060}",
            "\u{E0041}",
        ] {
            assert_eq!(
                check(bad, true).unwrap_err(),
                "must contain visible characters"
            );
        }
        assert!(check("", false).is_ok(), "emptiness is the caller's rule");
        assert!(check("zero\u{200B}width inside visible text", false).is_ok());
    }
}
