//! Comment text and rating stars.

/// Trimmed, 1..=2000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentText(String);

impl CommentText {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let n = s.chars().count();
        if !(1..=2000).contains(&n) {
            return Err("must be 1 to 2000 characters after trimming".into());
        }
        super::text::check(s, true)?;
        Ok(Self(s.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A whole number of stars, 1..=5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stars(u8);

impl Stars {
    /// From any JSON value: only the integers 1 to 5 pass (not 3.5, not "3").
    pub fn parse(value: &serde_json::Value) -> Result<Self, String> {
        value
            .as_u64()
            .filter(|n| (1..=5).contains(n))
            .map(|n| Self(n as u8))
            .ok_or_else(|| "must be an integer 1..=5".to_owned())
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn comment_text_is_trimmed_and_bounded() {
        assert_eq!(CommentText::parse("  hi ").unwrap().into_inner(), "hi");
        assert!(CommentText::parse("   ").is_err());
        assert!(CommentText::parse(&"é".repeat(2000)).is_ok());
        assert!(CommentText::parse(&"é".repeat(2001)).is_err());
    }

    #[test]
    fn stars_are_integers_one_to_five() {
        for ok in 1..=5 {
            assert_eq!(Stars::parse(&json!(ok)).unwrap().get(), ok as u8);
        }
        for bad in [
            json!(0),
            json!(6),
            json!(3.5),
            json!("3"),
            json!(null),
            json!(-1),
        ] {
            assert!(Stars::parse(&bad).is_err(), "{bad}");
        }
    }
}
