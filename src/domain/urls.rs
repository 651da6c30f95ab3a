//! The absolute URLs the API hands out, all built here from the public base URL
//! (`server.public_url`): photo links, transformation links and their QR codes,
//! share links.

use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct PublicUrls {
    base: Arc<str>,
}

impl PublicUrls {
    /// `base` without a trailing slash, e.g. `https://photos.example.com`.
    pub fn new(base: &str) -> Self {
        PublicUrls {
            base: base.trim_end_matches('/').into(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The original of a photo: `/i/{slug}`.
    pub fn photo(&self, slug: &str) -> String {
        format!("{}/i/{slug}", self.base)
    }

    /// A display size: `/v/{slug}/{name}`.
    pub fn variant(&self, slug: &str, name: &str) -> String {
        format!("{}/v/{slug}/{name}", self.base)
    }

    /// A signed on-the-fly delivery URL: `/x/{signature}/{transformation}/{slug}`.
    pub fn delivery(&self, signature: &str, transformation: &str, slug: &str) -> String {
        format!("{}/x/{signature}/{transformation}/{slug}", self.base)
    }

    /// A transformation link, which its QR code encodes: `/t/{slug}`.
    pub fn link(&self, slug: &str) -> String {
        format!("{}/t/{slug}", self.base)
    }

    /// The QR code of a transformation link: `/t/{slug}/qr`.
    pub fn link_qr(&self, slug: &str) -> String {
        format!("{}/qr", self.link(slug))
    }

    /// An album's share link: `/s/{token}`.
    pub fn share(&self, token: &str) -> String {
        format!("{}/s/{token}", self.base)
    }

    pub fn is_https(&self) -> bool {
        self.base.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_built_from_the_base_without_double_slashes() {
        let u = PublicUrls::new("https://p.example/");
        assert_eq!(u.photo("ab"), "https://p.example/i/ab");
        assert_eq!(u.link("cd"), "https://p.example/t/cd");
        assert_eq!(u.link_qr("cd"), "https://p.example/t/cd/qr");
        assert!(u.is_https());
    }
}
