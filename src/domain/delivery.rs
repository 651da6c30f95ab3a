//! Signed on-the-fly delivery URLs (API.md, "Display sizes, placeholders and
//! delivery"): `/x/s--SIG--/{transformation}/{slug}`, where SIG is the first 16
//! characters of unpadded base64url(HMAC-SHA256(key, "{transformation}/{slug}")).
//! Only the server signs, so a stranger cannot ask it to render sizes nobody
//! handed out; several keys verify so a key can be rotated without breaking the
//! URLs already out.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Characters of the MAC kept in a URL (96 bits).
const SIGNATURE_CHARS: usize = 16;

#[derive(Clone)]
pub struct DeliveryKeys {
    /// The signing key first.
    keys: Arc<[Vec<u8>]>,
}

impl std::fmt::Debug for DeliveryKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeliveryKeys({} keys)", self.keys.len())
    }
}

impl DeliveryKeys {
    /// `keys` is never empty: the settings derive one when none is configured.
    pub fn new(keys: Vec<Vec<u8>>) -> Self {
        assert!(!keys.is_empty(), "at least one delivery key");
        DeliveryKeys { keys: keys.into() }
    }

    /// `s--SIG--` for a canonical transformation of the photo behind `slug`.
    pub fn sign(&self, canonical: &str, slug: &str) -> String {
        format!("s--{}--", mac(&self.keys[0], canonical, slug))
    }

    /// Whether `signature` (`s--SIG--`) was made by one of the keys.
    pub fn verify(&self, signature: &str, canonical: &str, slug: &str) -> bool {
        let Some(sig) = signature
            .strip_prefix("s--")
            .and_then(|s| s.strip_suffix("--"))
        else {
            return false;
        };
        // Every key is tried, so the time taken does not say which one matched.
        self.keys.iter().fold(false, |found, key| {
            let expected = mac(key, canonical, slug);
            found | bool::from(expected.as_bytes().ct_eq(sig.as_bytes()))
        })
    }
}

fn mac(key: &[u8], canonical: &str, slug: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(canonical.as_bytes());
    mac.update(b"/");
    mac.update(slug.as_bytes());
    let mut text = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    text.truncate(SIGNATURE_CHARS);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLUG: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn signature_matches_an_independent_hmac() {
        // Python: base64.urlsafe_b64encode(hmac.new(b"k" * 32, msg,
        // hashlib.sha256).digest()).rstrip(b"=")[:16]
        let keys = DeliveryKeys::new(vec![b"k".repeat(32)]);
        let t = "c_fill,h_200,w_300/e_grayscale";
        assert_eq!(keys.sign(t, SLUG), "s--UM8CDKkU7vOsbtUj--");
        assert!(keys.verify("s--UM8CDKkU7vOsbtUj--", t, SLUG));
    }

    #[test]
    fn every_key_verifies_the_first_signs_and_anything_else_fails() {
        let old = DeliveryKeys::new(vec![b"o".repeat(32)]);
        let rotated = DeliveryKeys::new(vec![b"n".repeat(32), b"o".repeat(32)]);
        let by_old = old.sign("w_300", SLUG);
        assert!(
            rotated.verify(&by_old, "w_300", SLUG),
            "old URLs still work"
        );
        let by_new = rotated.sign("w_300", SLUG);
        assert_ne!(by_new, by_old, "the first key signs");
        assert!(!old.verify(&by_new, "w_300", SLUG));
        assert!(
            !rotated.verify(&by_new, "w_301", SLUG),
            "bound to the transformation"
        );
        assert!(
            !rotated.verify(&by_new, "w_300", "0123"),
            "bound to the photo"
        );
        let bare = by_new.trim_start_matches("s--").trim_end_matches("--");
        for bad in [bare, "", "s----", "s--AAAAAAAAAAAAAAAA--"] {
            assert!(!rotated.verify(bad, "w_300", SLUG), "{bad:?}");
        }
    }
}
