//! Local files under `DATA_DIR/media`: written to a temp file, fsynced, renamed into
//! place and the directory fsynced, so a crash never leaves a half-written file under
//! a real key.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;

use super::{MediaError, MediaStore};

pub struct LocalMedia {
    root: PathBuf,
}

impl LocalMedia {
    pub fn open(root: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf, MediaError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

fn invalid(what: &str) -> MediaError {
    MediaError::unavailable(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        what.to_owned(),
    ))
}

/// Keys are `[a-z0-9/._-]` made by us; anything else is refused outright.
pub(super) fn check_key(key: &str) -> Result<(), MediaError> {
    let safe = !key.is_empty()
        && !key.contains("..")
        && !key.starts_with('/')
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"/._-".contains(&b));
    if safe {
        Ok(())
    } else {
        Err(invalid("invalid media key"))
    }
}

/// A folder of a photo's own (`x/{id}/`): never `.`, never the root. Answers it
/// without the trailing `/`.
pub(super) fn check_folder(prefix: &str) -> Result<&str, MediaError> {
    let folder = prefix.strip_suffix('/').unwrap_or_default();
    let segments: Vec<&str> = folder.split('/').collect();
    if segments.len() < 2 || segments.iter().any(|s| s.is_empty() || *s == ".") {
        return Err(invalid("invalid media folder"));
    }
    check_key(folder)?;
    Ok(folder)
}

fn write_atomically(root: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(root);
    std::fs::create_dir_all(dir)?;
    let tmp = root
        .join("tmp")
        .join(format!("{}.part", crate::auth::jwt::random_id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[async_trait]
impl MediaStore for LocalMedia {
    fn backend(&self) -> &'static str {
        "local"
    }

    async fn put(&self, key: &str, bytes: Bytes, _content_type: &str) -> Result<(), MediaError> {
        let path = self.path(key)?;
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || write_atomically(&root, &path, &bytes))
            .await
            .map_err(MediaError::unavailable)?
            .map_err(MediaError::unavailable)
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, MediaError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(MediaError::unavailable(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), MediaError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(MediaError::unavailable(e)),
            _ => Ok(()),
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<(), MediaError> {
        let folder = check_folder(prefix)?;
        let dir = self.path(folder)?;
        match tokio::fs::remove_dir_all(dir).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(MediaError::unavailable(e)),
            _ => Ok(()),
        }
    }

    fn public_url(&self, _key: &str) -> Option<String> {
        None
    }

    /// Every file under the root, temp files left by a crash (`tmp/`) included.
    async fn list(&self) -> Result<Option<Vec<(String, std::time::SystemTime)>>, MediaError> {
        let root = self.root.clone();
        let walk = move || -> std::io::Result<Vec<(String, std::time::SystemTime)>> {
            let mut out = Vec::new();
            let mut dirs = vec![root.clone()];
            while let Some(dir) = dirs.pop() {
                for entry in std::fs::read_dir(&dir)? {
                    let entry = entry?;
                    let meta = entry.metadata()?;
                    if meta.is_dir() {
                        dirs.push(entry.path());
                    } else if let Ok(rel) = entry.path().strip_prefix(&root) {
                        let key = rel.to_string_lossy().replace('\\', "/");
                        out.push((key, meta.modified()?));
                    }
                }
            }
            out.sort();
            Ok(out)
        };
        tokio::task::spawn_blocking(walk)
            .await
            .map_err(MediaError::unavailable)?
            .map(Some)
            .map_err(MediaError::unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_delete_round_trip_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let media = LocalMedia::open(dir.path()).unwrap();

        media
            .put("p/ab/cd.jpg", Bytes::from_static(b"data"), "image/jpeg")
            .await
            .unwrap();

        assert_eq!(media.get("p/ab/cd.jpg").await.unwrap().unwrap(), "data");
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        media.delete("p/ab/cd.jpg").await.unwrap();
        media.delete("p/ab/cd.jpg").await.unwrap();
        for key in ["x/ab/1.jpg", "x/ab/2.webp", "x/abc/1.jpg"] {
            media
                .put(key, Bytes::from_static(b"x"), "image/jpeg")
                .await
                .unwrap();
        }
        media.delete_prefix("x/ab/").await.unwrap();
        media.delete_prefix("x/ab/").await.unwrap();
        assert!(media.get("x/ab/1.jpg").await.unwrap().is_none());
        assert!(media.get("x/ab/2.webp").await.unwrap().is_none());
        assert!(
            media.get("x/abc/1.jpg").await.unwrap().is_some(),
            "only that folder"
        );
        for bad in ["x/./", "x/", "x/ab", "/", "x//"] {
            assert!(media.delete_prefix(bad).await.is_err(), "{bad}");
        }
        assert!(media.get("x/abc/1.jpg").await.unwrap().is_some());
        assert!(media.get("p/ab/cd.jpg").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn keys_that_could_escape_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let media = LocalMedia::open(dir.path()).unwrap();
        for key in ["../x", "/etc/passwd", "A/B", "a b", ""] {
            assert!(media.get(key).await.is_err(), "{key}");
        }
    }
}
