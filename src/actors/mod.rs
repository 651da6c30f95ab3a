//! Supervised actors that own the data. Each has a typed handle for the HTTP layer.

pub mod comment_board;
pub mod photo_store;
pub mod rating_ledger;
pub mod user_registry;
