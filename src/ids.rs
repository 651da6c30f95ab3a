//! Identifiers: record ids, unguessable slugs and tokens, request ids, and the
//! millisecond clock every backend stores.

use chrono::{DateTime, Utc};
use rand::RngCore;

/// A record id: 24 hex digits (a MongoDB ObjectId's form on every backend), which
/// sort by creation time.
pub fn new_id() -> String {
    mongodb::bson::oid::ObjectId::new().to_hex()
}

/// Whether `s` has a record id's form (what `new_id` makes), in either case.
pub fn is_record_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// 128 random bits as 32 hex digits: slugs of public links, token and session ids.
pub fn random_id() -> String {
    random_hex(16)
}

/// A share link's token: 192 random bits as 48 hex digits. Only its SHA-256 is
/// stored, so a copy of the database opens no album.
pub fn share_token() -> String {
    random_hex(24)
}

/// A fresh request id: 96 random bits as 24 hex digits.
pub fn request_id() -> String {
    random_hex(12)
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Milliseconds are the precision every backend keeps.
pub fn now_millis() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_their_lengths_and_do_not_repeat() {
        assert_eq!(new_id().len(), 24);
        assert_eq!(random_id().len(), 32);
        assert_eq!(request_id().len(), 24);
        assert_ne!(random_id(), random_id());
        assert!(new_id() < new_id() || new_id().len() == 24);
    }
}
