//! Supervised actors that own the data. Each has a typed handle for the HTTP layer.

pub mod user_registry;
