//! Photo fields: tag names, tag lists and descriptions.

/// A tag: trimmed, lower-cased, `^[\p{L}\p{N}_-]{1,32}$`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TagName(String);

impl TagName {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim().to_lowercase();
        let n = s.chars().count();
        let ok = (1..=32).contains(&n)
            && s.chars()
                .all(|c| c.is_alphabetic() || c.is_numeric() || c == '_' || c == '-');
        if !ok {
            return Err(format!(
                "tag {s:?} must be 1 to 32 letters, digits, '_' or '-'"
            ));
        }
        Ok(Self(s))
    }
}

impl AsRef<str> for TagName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// At most five distinct tags, in the order first given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Vec<TagName>);

pub const MAX_TAGS: usize = 5;

impl Tags {
    /// From raw values, each of which may hold several comma-separated names; empty
    /// pieces are skipped.
    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, String> {
        let mut tags: Vec<TagName> = Vec::new();
        for piece in raw.iter().flat_map(|r| r.as_ref().split(',')) {
            if piece.trim().is_empty() {
                continue;
            }
            let tag = TagName::parse(piece)?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags.len() > MAX_TAGS {
            return Err(format!("at most {MAX_TAGS} tags per photo"));
        }
        Ok(Self(tags))
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|t| t.0.clone()).collect()
    }
}

/// Free text, at most 2000 characters, trimmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.chars().count() > 2000 {
            return Err("must be at most 2000 characters".into());
        }
        super::text::check(s, true)?;
        Ok(Self(s.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Longest word kept in the search index; longer words are cut to this, on both the
/// indexing and the query side, so they still match each other.
pub const MAX_WORD_CHARS: usize = 64;

/// Lower-cased words of free text: runs of Unicode letters and digits, everything else
/// separates them (`"Sunset, São-Paulo!"` -> `sunset`, `são`, `paulo`).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase().chars().take(MAX_WORD_CHARS).collect())
}

/// What keyword search matches a photo by, sorted and distinct: the words of its
/// description, its tag names whole, and the words inside them (so `q=street art`
/// finds the tag `street-art`).
pub fn keywords(description: &str, tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = words(description)
        .chain(tags.iter().cloned())
        .chain(tags.iter().flat_map(|t| words(t)))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_trimmed_lowercased_and_deduplicated() {
        let tags = Tags::parse(&[" Sea ,sunset", "SEA", "ß-straße_1", ""]).unwrap();
        assert_eq!(tags.names(), ["sea", "sunset", "ß-straße_1"]);
    }

    #[test]
    fn unicode_letters_and_digits_are_allowed_other_characters_not() {
        assert!(TagName::parse("東京").is_ok());
        assert!(TagName::parse("١٢٣").is_ok());
        for bad in ["two words", "hash#tag", "dot.ted", &"x".repeat(33), "   "] {
            assert!(TagName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn more_than_five_distinct_tags_are_refused() {
        assert!(Tags::parse(&["a,b,c,d,e"]).is_ok());
        assert!(
            Tags::parse(&["a,b,c,d,e,a,B"]).is_ok(),
            "duplicates don't count"
        );
        assert!(Tags::parse(&["a,b,c,d,e,f"]).is_err());
    }

    #[test]
    fn description_is_at_most_2000_characters() {
        assert!(Description::parse(&"é".repeat(2000)).is_ok());
        assert!(Description::parse(&"é".repeat(2001)).is_err());
        assert_eq!(Description::parse("  hi ").unwrap().into_inner(), "hi");
    }

    #[test]
    fn keywords_are_unicode_words_and_tags_lowercased_and_distinct() {
        let kw = keywords(
            "Sunset over São-Paulo, SUNSET again; 東京 2026!",
            &["street-art".into(), "sea".into()],
        );
        assert_eq!(
            kw,
            [
                "2026",
                "again",
                "art",
                "over",
                "paulo",
                "sea",
                "street",
                "street-art",
                "sunset",
                "são",
                "東京"
            ]
        );
        let long = "x".repeat(100);
        assert_eq!(keywords(&long, &[]), ["x".repeat(MAX_WORD_CHARS)]);
        assert!(keywords("  ... !!", &[]).is_empty());
    }
}
