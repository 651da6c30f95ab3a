//! `photoshare upload DIR... --server URL`: every image under the folders, over
//! resumable uploads, `--jobs` at a time. Files the account already has are found
//! by their sha256 and skipped before a byte is sent. Each upload's URL is kept in
//! a state file until its photo exists, so a run that was interrupted resumes its
//! uploads from the server's offset instead of starting over. A progress bar
//! (bytes, files, ETA) on a terminal, plain lines otherwise; one summary line.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::session::{Session, TusAnswer};

/// Image files by extension; the server checks what they really are.
const EXTENSIONS: [&str; 5] = ["jpg", "jpeg", "png", "webp", "gif"];
/// Attempts per request before a file counts as failed.
const ATTEMPTS: u32 = 6;

pub struct Options {
    pub dirs: Vec<PathBuf>,
    pub jobs: usize,
    pub tags: Vec<String>,
    pub chunk_bytes: u64,
    pub state: PathBuf,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub uploaded: usize,
    pub skipped: usize,
    pub failed: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Summary {
            uploaded,
            skipped,
            failed,
        } = self;
        write!(f, "uploaded {uploaded}, skipped {skipped}, failed {failed}")
    }
}

struct File {
    path: PathBuf,
    size: u64,
    sha256: String,
}

enum Outcome {
    Uploaded(String),
    Skipped(&'static str),
    Failed(String),
}

/// Upload URLs of unfinished uploads, by server, account and file digest; written
/// whole (to a temporary file, then renamed) whenever it changes.
struct State {
    path: PathBuf,
    uploads: Mutex<HashMap<String, String>>,
}

impl State {
    fn load(path: PathBuf) -> Self {
        let uploads = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        State {
            path,
            uploads: Mutex::new(uploads),
        }
    }

    fn get(&self, key: &str) -> Option<String> {
        self.lock().get(key).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.uploads.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, key: &str, url: Option<String>) -> anyhow::Result<()> {
        let mut uploads = self.lock();
        match url {
            Some(url) => uploads.insert(key.to_owned(), url),
            None => uploads.remove(key),
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&*uploads)?)?;
        std::fs::rename(&tmp, &self.path)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

/// Where interrupted runs are remembered by default.
pub fn default_state_path() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("photoshare/uploads.json")
}

/// Reports progress: a bar on a terminal, a line per file otherwise.
struct Progress {
    bar: ProgressBar,
    plain: bool,
}

impl Progress {
    fn new(files: usize, bytes: u64) -> Self {
        let plain = !std::io::stderr().is_terminal();
        let bar = if plain {
            ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::hidden())
        } else {
            ProgressBar::new(bytes)
        };
        let style = ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(format!("0/{files} files"));
        Progress { bar, plain }
    }

    fn line(&self, text: String) {
        if self.plain {
            eprintln!("{text}");
        } else {
            self.bar.println(text);
        }
    }
}

pub async fn run(session: Session, options: Options) -> anyhow::Result<Summary> {
    let paths = images(&options.dirs)?;
    let jobs = options.jobs.max(1);
    let mut files: Vec<File> = futures_util::stream::iter(paths)
        .map(|path| tokio::task::spawn_blocking(move || digest(path)))
        .buffered(jobs * 2)
        .filter_map(|r| async move {
            match r {
                Ok(Ok(file)) => Some(file),
                Ok(Err(e)) => {
                    eprintln!("cannot read a file: {e:#}");
                    None
                }
                Err(_) => None,
            }
        })
        .collect()
        .await;
    let digests: Vec<String> = files.iter().map(|f| f.sha256.clone()).collect();
    let existing: std::collections::HashSet<String> =
        session.existing(&digests).await?.into_iter().collect();
    let mut summary = Summary::default();
    let progress = Progress::new(files.len(), files.iter().map(|f| f.size).sum());
    let state = Arc::new(State::load(options.state.clone()));
    let mut skipped = Vec::new();
    files.retain(|f| {
        let have = existing.contains(&f.sha256);
        if have {
            skipped.push(state_key(&session, f));
            summary.skipped += 1;
            progress.bar.dec_length(f.size);
            progress.line(format!("skipped {} (already uploaded)", f.path.display()));
        }
        !have
    });
    // An upload whose photo was made just before the last run stopped.
    for key in skipped {
        if state.get(&key).is_some() {
            state.set(&key, None)?;
        }
    }
    let total = files.len();
    progress.bar.set_message(format!("0/{total} files"));
    let session = Arc::new(session);
    let options = Arc::new(options);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let outcomes = futures_util::stream::iter(files)
        .map(|file| {
            let (session, state, options) = (session.clone(), state.clone(), options.clone());
            let progress = &progress;
            async move {
                let outcome = upload(&session, &state, &options, &file, progress).await;
                (file, outcome)
            }
        })
        .buffer_unordered(jobs);
    futures_util::pin_mut!(outcomes);
    while let Some((file, outcome)) = outcomes.next().await {
        let name = file.path.display();
        match outcome {
            Ok(Outcome::Uploaded(id)) => {
                summary.uploaded += 1;
                progress.line(format!("uploaded {name} (photo {id})"));
            }
            Ok(Outcome::Skipped(why)) => {
                summary.skipped += 1;
                progress.line(format!("skipped {name} ({why})"));
            }
            Ok(Outcome::Failed(why)) => {
                summary.failed += 1;
                progress.line(format!("failed {name}: {why}"));
            }
            Err(e) => {
                summary.failed += 1;
                progress.line(format!("failed {name}: {e:#}"));
            }
        }
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress.bar.set_message(format!("{n}/{total} files"));
    }
    progress.bar.finish_and_clear();
    Ok(summary)
}

/// Every image file under the folders (or the files named), hidden ones left out,
/// in name order.
fn images(dirs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo: Vec<PathBuf> = dirs.to_vec();
    while let Some(path) = todo.pop() {
        let meta =
            std::fs::metadata(&path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                let entry = entry?;
                if !entry.file_name().to_string_lossy().starts_with('.') {
                    todo.push(entry.path());
                }
            }
        } else if is_image(&path) {
            out.push(path);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn is_image(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(ext))
}

fn digest(path: PathBuf) -> anyhow::Result<File> {
    let mut reader = std::fs::File::open(&path).with_context(|| path.display().to_string())?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = std::io::Read::read(&mut reader, &mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    let sha256 = hex::encode(hasher.finalize());
    Ok(File { path, size, sha256 })
}

/// One file, from where the server has it (a remembered upload) or from the start.
async fn upload(
    session: &Session,
    state: &State,
    options: &Options,
    file: &File,
    progress: &Progress,
) -> anyhow::Result<Outcome> {
    let key = state_key(session, file);
    let mut url = state.get(&key);
    // A remembered upload: ask the server where it is before sending.
    let mut remembered = url.is_some();
    let mut offset = 0;
    let mut failures = 0;
    loop {
        let Some(at) = url.clone() else {
            let name = file
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            let name = name.unwrap_or_default();
            match session.create(file.size, &name, &options.tags).await {
                Ok(Ok(created)) => {
                    state.set(&key, Some(created.clone()))?;
                    url = Some(created);
                    offset = 0;
                }
                Ok(Err(TusAnswer::Refused(why))) => return Ok(Outcome::Failed(why)),
                Ok(Err(_)) | Err(_) => {
                    failures += 1;
                    if failures >= ATTEMPTS {
                        return Ok(Outcome::Failed("the server did not take the upload".into()));
                    }
                    backoff(failures).await;
                }
            }
            continue;
        };
        if std::mem::take(&mut remembered) {
            match session.head(&at).await {
                Ok(TusAnswer::Ok {
                    photo_id: Some(id), ..
                }) => {
                    state.set(&key, None)?;
                    progress.bar.inc(file.size);
                    return Ok(Outcome::Uploaded(id));
                }
                Ok(TusAnswer::Ok {
                    offset: Some(o), ..
                }) if o > 0 => {
                    progress.line(format!("resumed {} at byte {o}", file.path.display()));
                    progress.bar.inc(o);
                    offset = o;
                }
                Ok(TusAnswer::Gone) => {
                    state.set(&key, None)?;
                    url = None;
                    continue;
                }
                _ => {}
            }
        }
        let chunk = read_chunk(&file.path, offset, options.chunk_bytes).await?;
        let sent = chunk.len() as u64;
        match session.patch(&at, offset, chunk).await {
            Ok(TusAnswer::Ok {
                photo_id: Some(id), ..
            }) => {
                state.set(&key, None)?;
                progress.bar.inc(sent);
                return Ok(Outcome::Uploaded(id));
            }
            Ok(TusAnswer::Ok {
                offset: Some(o), ..
            }) => {
                progress.bar.inc(o.saturating_sub(offset));
                offset = o;
                failures = 0;
            }
            Ok(TusAnswer::Duplicate) => {
                state.set(&key, None)?;
                progress.bar.inc(file.size.saturating_sub(offset));
                return Ok(Outcome::Skipped("already uploaded"));
            }
            Ok(TusAnswer::Gone) => {
                state.set(&key, None)?;
                url = None;
                failures += 1;
            }
            Ok(TusAnswer::Refused(why)) => {
                state.set(&key, None)?;
                return Ok(Outcome::Failed(why));
            }
            Ok(TusAnswer::Ok { offset: None, .. }) | Ok(TusAnswer::Retry) | Err(_) => {
                failures += 1;
                if failures >= ATTEMPTS {
                    return Ok(Outcome::Failed("the server stopped answering".into()));
                }
                backoff(failures).await;
                // Resume from what the server has.
                if let Ok(TusAnswer::Ok {
                    offset: Some(o), ..
                }) = session.head(&at).await
                {
                    offset = o;
                }
            }
        }
        if failures >= ATTEMPTS {
            return Ok(Outcome::Failed("the upload kept disappearing".into()));
        }
    }
}

/// The state file's key of a file's upload: by server, account and content.
fn state_key(session: &Session, file: &File) -> String {
    format!("{} {} {}", session.server, session.username, file.sha256)
}

async fn read_chunk(path: &Path, offset: u64, max: u64) -> anyhow::Result<Vec<u8>> {
    let mut file = tokio::fs::File::open(path).await?;
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    let mut chunk = Vec::with_capacity(max.min(64 << 20) as usize);
    file.take(max).read_to_end(&mut chunk).await?;
    Ok(chunk)
}

async fn backoff(failures: u32) {
    let ms = 200u64 << failures.min(5);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
