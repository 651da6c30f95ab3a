//! argon2id with the OWASP parameters (m = 19 MiB, t = 2, p = 1), off the async
//! threads on a fixed set of hashing threads (one per permit). Each thread owns one
//! 19 MiB block buffer and reuses it, so a login storm costs `permits x 19 MiB` and no
//! more: freed per-hash buffers would otherwise pile up in the allocator's
//! per-thread arenas (measured: 400 MiB RSS after 5 s of logins).
//! Unknown users are verified against a dummy hash, so they take as long as a wrong
//! password.

use std::sync::Arc;

use crossbeam_channel::{RecvTimeoutError, Sender};

use argon2::password_hash::{
    rand_core::OsRng, Output, ParamsString, PasswordHash, Salt, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

use crate::domain::Password;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed")]
    Failed,
}

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// A hashing thread idle this long frees its block buffer.
const IDLE_RELEASE: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Clone)]
pub struct Hasher {
    jobs: Sender<Job>,
    dummy: Arc<String>,
}

fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2id parameters are valid")
}

impl Hasher {
    /// `threads` hashing threads; 0 means one per CPU core.
    pub fn new(threads: usize) -> Self {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            threads
        };
        let (tx, rx) = crossbeam_channel::unbounded::<Job>();
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut blocks = Vec::new();
                    loop {
                        match rx.recv_timeout(IDLE_RELEASE) {
                            Ok(job) => job(&mut blocks),
                            // Quiet for a while: give the 19 MiB back.
                            Err(RecvTimeoutError::Timeout) => blocks = Vec::new(),
                            Err(RecvTimeoutError::Disconnected) => return, // no Hasher left
                        }
                    }
                })
                .expect("spawning a hashing thread");
        }
        let mut blocks = Vec::new();
        let dummy = hash_with(&mut blocks, "photoshare-dummy-password").expect("hashing works");
        Self {
            jobs: tx,
            dummy: Arc::new(dummy),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |blocks| {
                let _ = tx.send(f(blocks));
            }))
            .map_err(|_| HashError::Failed)?;
        rx.await.map_err(|_| HashError::Failed)
    }

    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        self.run(move |blocks| hash_with(blocks, password.expose()))
            .await?
    }

    /// True when `password` matches `hash`; with no hash (unknown user) it does the same
    /// work against a dummy and answers false.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, HashError> {
        let dummy = self.dummy.clone();
        self.run(move |blocks| {
            let known = hash.is_some();
            let hash = hash.as_deref().unwrap_or(dummy.as_str());
            let matches = verify_with(blocks, &password, hash);
            known && matches
        })
        .await
    }
}

fn hasher_for(params: Params, blocks: &mut Vec<Block>) -> Argon2<'static> {
    blocks.resize(params.block_count(), Block::default());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_with(blocks: &mut Vec<Block>, password: &str) -> Result<String, HashError> {
    let argon2 = hasher_for(params(), blocks);
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|_| HashError::Failed)?;
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon2
            .hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, &mut blocks[..])
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(|_| HashError::Failed)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(|_| HashError::Failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Recomputes with the stored hash's own parameters (so older parameter choices still
/// verify) and compares in constant time.
fn verify_with(blocks: &mut Vec<Block>, password: &str, phc: &str) -> bool {
    let mut verify = || -> Option<bool> {
        let parsed = PasswordHash::new(phc).ok()?;
        if parsed.algorithm != Algorithm::Argon2id.ident() {
            return None;
        }
        let expected = parsed.hash?;
        let salt: Salt = parsed.salt?;
        let params = Params::try_from(&parsed).ok()?;
        let argon2 = hasher_for(params, blocks);
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_buf).ok()?;
        let computed = Output::init_with(expected.len(), |out| {
            argon2
                .hash_password_into_with_memory(
                    password.as_bytes(),
                    salt_bytes,
                    out,
                    &mut blocks[..],
                )
                .map_err(|_| argon2::password_hash::Error::Crypto)
        })
        .ok()?;
        Some(computed == expected)
    };
    verify().unwrap_or(false)
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
    async fn hashes_from_the_argon2_crate_verify_too() {
        use argon2::PasswordHasher as _;
        let hasher = Hasher::new(1);
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"interop-pass", &salt)
            .unwrap()
            .to_string();
        assert!(hasher
            .verify("interop-pass".into(), Some(theirs.clone()))
            .await
            .unwrap());
        assert!(!hasher
            .verify("other-pass".into(), Some(theirs))
            .await
            .unwrap());
        assert!(!hasher
            .verify("x".into(), Some("not a phc string".into()))
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
