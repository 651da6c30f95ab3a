//! The command line's client side: `photoshare upload`.

pub mod session;
pub mod upload;
