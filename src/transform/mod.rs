//! Transformations in Cloudinary's URL syntax: the parser (`parse`), the local image
//! engine (`engine`) and the QR codes of links (`qr`).

pub mod engine;
pub mod parse;
pub mod qr;

pub use parse::*;
