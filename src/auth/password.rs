//! argon2id with the OWASP parameters (m = 19 MiB, t = 2, p = 1). Hashing and
//! verifying run on the blocking pool, at most `permits` at once, so a login storm
//! costs bounded memory (permits x 19 MiB) and never stalls the async threads.
//! Unknown users are verified against a dummy hash, so they take as long as a wrong
//! password.

use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use tokio::sync::Semaphore;

use crate::domain::Password;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed")]
    Failed,
}

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    dummy: Arc<String>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl Hasher {
    /// `permits` = hashes in flight; 0 means one per CPU core.
    pub fn new(permits: usize) -> Self {
        let permits = if permits == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            permits
        };
        let dummy = hash_blocking("photoshare-dummy-password").expect("hashing a constant works");
        Self {
            permits: Arc::new(Semaphore::new(permits)),
            dummy: Arc::new(dummy),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HashError::Failed)?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|_| HashError::Failed)
    }

    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        self.run(move || hash_blocking(password.expose())).await?
    }

    /// True when `password` matches `hash`; with no hash (unknown user) it does the same
    /// work against a dummy and answers false.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        let dummy = self.dummy.clone();
        self.run(move || {
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| dummy.as_str().to_owned());
            let matches = PasswordHash::new(&hash)
                .map(|parsed| {
                    argon2()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            known && matches
        })
        .await
    }
}

fn hash_blocking(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| HashError::Failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_uses_argon2id_with_owasp_parameters_and_verifies() {
        let hasher = Hasher::new(1);
        let hash = hasher
            .hash(Password::parse("correct horse").unwrap())
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(hasher
            .verify("correct horse".into(), Some(hash.clone()))
            .await
            .unwrap());
        assert!(!hasher
            .verify("wrong horse".into(), Some(hash))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn unknown_user_never_verifies_even_with_the_dummy_password() {
        let hasher = Hasher::new(1);
        assert!(!hasher
            .verify("photoshare-dummy-password".into(), None)
            .await
            .unwrap());
    }
}
