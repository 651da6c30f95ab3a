//! The display sizes every photo has (API.md, "Display sizes, placeholders and
//! delivery"): fixed transformations a client can ask for by name.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Transformation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// A 256 x 256 square, cropped around what matters.
    Thumb,
    /// At most 640 x 640.
    Small,
    /// At most 1280 x 1280.
    Medium,
    /// At most 2048 x 2048.
    Large,
}

impl Variant {
    pub const ALL: [Variant; 4] = [
        Variant::Thumb,
        Variant::Small,
        Variant::Medium,
        Variant::Large,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Variant::Thumb => "thumb",
            Variant::Small => "small",
            Variant::Medium => "medium",
            Variant::Large => "large",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// What it is, in the transformation syntax (`c_limit` never upscales).
    pub fn spec(self) -> &'static str {
        match self {
            Variant::Thumb => "c_fill,w_256,h_256,g_auto",
            Variant::Small => "c_limit,w_640,h_640",
            Variant::Medium => "c_limit,w_1280,h_1280",
            Variant::Large => "c_limit,w_2048,h_2048",
        }
    }

    pub fn transformation(self) -> Transformation {
        self.spec()
            .parse()
            .expect("the display sizes are valid transformations")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_parses_and_is_named_back() {
        for v in Variant::ALL {
            assert_eq!(Variant::parse(v.name()), Some(v));
            // The canonical form lists the same parameters in its own order.
            let mut canonical: Vec<String> = v
                .transformation()
                .to_string()
                .split(',')
                .map(str::to_owned)
                .collect();
            let mut spec: Vec<&str> = v.spec().split(',').collect();
            canonical.sort();
            spec.sort_unstable();
            assert_eq!(canonical, spec);
        }
        assert_eq!(Variant::parse("huge"), None);
    }
}
