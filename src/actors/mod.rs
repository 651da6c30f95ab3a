//! Supervised actors that own the data. Each has a typed handle for the HTTP layer.

pub mod photo_store;
pub mod user_registry;
