//! PhotoShare: a photo-sharing backend. actix-web handlers send typed messages to
//! supervised actors, which own the data and talk to storage through traits with an
//! embedded (redb) and a MongoDB implementation.

pub mod actors;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod errors;
pub mod fsck;
pub mod http;
pub mod ids;
pub mod media;
pub mod queue;
pub mod store;
pub mod telemetry;
