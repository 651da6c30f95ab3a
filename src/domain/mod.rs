//! Validated domain types. Request DTOs become these via `parse`/`TryFrom`; after that,
//! raw strings do not travel into the actors.

mod album;
mod delivery;
mod feedback;
mod metadata;
mod photo;
pub mod records;
mod social;
pub mod text;
mod transformation;
mod urls;
mod user;
mod variant;

pub use album::*;
pub use delivery::DeliveryKeys;
pub use feedback::{CommentText, Stars};
pub use metadata::{Camera, Exposure, Location, PhotoMetadata, Placeholder, MAX_NAME_CHARS};
pub use photo::{keywords, words, Description, TagName, Tags, MAX_TAGS};
pub use records::*;
pub use social::*;
pub use transformation::*;
pub use urls::PublicUrls;
pub use user::{email_key, Bio, Email, FullName, Password, Role, Username};
pub use variant::Variant;

/// A closed set's value from its wire name, the serde name that the OpenAPI enum
/// also lists: one spelling, so the document and the parser cannot disagree.
pub fn from_wire<T: serde::de::DeserializeOwned>(value: &str) -> Option<T> {
    use serde::de::{value::Error, IntoDeserializer};
    T::deserialize(IntoDeserializer::<Error>::into_deserializer(value)).ok()
}

/// One rejected field, named as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// Collects field errors while a DTO is parsed, so the client sees all of them at once.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the error of a parse and returns its value, if any.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.errors.push(FieldError::new(field, message));
                None
            }
        }
    }

    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}
