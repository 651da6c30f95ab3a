//! Black-box HTTP tests. One binary; `cargo test` runs them on the embedded stack, and
//! with `PHOTOSHARE_TEST_MONGODB_URI` set, on MongoDB.

mod abuse;
mod account;
mod admin;
mod admin_jobs;
mod albums;
mod auth;
mod bola;
mod browser;
mod cli_upload;
mod clients;
mod cloudinary;
mod comments;
mod crash;
mod duplicates;
mod engine;
mod erasure;
mod faults;
mod fixtures;
mod helpers;
mod jobs;
mod metadata;
mod ops;
mod photos;
mod principals;
mod proxy;
mod rabbit;
mod ratings;
mod search;
mod security;
mod shares;
mod social;
mod startup;
mod transformations;
mod tus;
mod users;
