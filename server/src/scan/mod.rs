//! The volume scan: model files under `MODELS_DIR` and `MODELS_SCAN_DIRS` that no installed
//! record covers, identified from their headers and hashed in the background.
//!
//! A file's identification and sha256 are cached in the database, keyed by (device, inode,
//! size, mtime): a rescan of unchanged files stats them and reads no file data.

mod walk;

use std::{
    collections::{HashMap, HashSet},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::domain::{ScanPhase, ScanStatus, UntrackedFile};

use crate::{
    inspect::{self, Format},
    storage::{hashing, now_rfc3339, paths, HashCacheEntry, Store},
};

pub use walk::Candidate;

/// How often the cache is saved while hashing, so a restart keeps most of the work.
const SAVE_EVERY: Duration = Duration::from_secs(10);

/// The one scan of this server: its status, and the thread that runs it.
#[derive(Debug, Default)]
pub struct Scanner {
    status: Mutex<ScanStatus>,
}

impl Scanner {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn status(&self) -> ScanStatus {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ScanStatus> {
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a scan of `roots` (the first is `MODELS_DIR`) unless one runs; the status.
    pub fn start(self: &Arc<Self>, store: Store, roots: Vec<PathBuf>) -> ScanStatus {
        {
            let mut status = self.lock();
            if status.running() {
                return status.clone();
            }
            *status = ScanStatus {
                phase: ScanPhase::Listing,
                started_at: Some(now_rfc3339()),
                roots: roots.iter().map(|r| r.display().to_string()).collect(),
                ..Default::default()
            };
        }
        let scanner = self.clone();
        std::thread::Builder::new()
            .name("scan".into())
            .spawn(move || scanner.run(&store, &roots))
            .expect("a thread starts");
        self.status()
    }

    /// Forgets an untracked file once it has been adopted.
    pub fn adopted(&self, path: &str) {
        self.lock().untracked.retain(|f| f.path != path);
    }

    /// The scan's entry for `path`, if the last scan listed it.
    pub fn untracked(&self, path: &str) -> Option<UntrackedFile> {
        self.lock()
            .untracked
            .iter()
            .find(|f| f.path == path)
            .cloned()
    }

    fn run(&self, store: &Store, roots: &[PathBuf]) {
        let started = Instant::now();
        if let Err(e) = self.scan(store, roots) {
            let mut status = self.lock();
            status.phase = ScanPhase::Failed;
            status.problems.push(e);
            status.finished_at = Some(now_rfc3339());
            return;
        }
        let mut status = self.lock();
        status.phase = ScanPhase::Done;
        status.finished_at = Some(now_rfc3339());
        tracing::info!(
            seen = status.files_seen,
            untracked = status.untracked.len(),
            hashed = status.files_hashed,
            ms = started.elapsed().as_millis() as u64,
            "volume scan finished"
        );
    }

    fn scan(&self, store: &Store, roots: &[PathBuf]) -> Result<(), String> {
        let db = store.read().map_err(|e| e.to_string())?;
        // Canonical paths throughout: a root reached through a symbolic link (/workspace on
        // a mounted volume) and the canonical paths adopt records must compare equal.
        let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let models_dir = canonical(store.models_dir());
        let roots: Vec<PathBuf> = roots.iter().map(|r| canonical(r)).collect();
        let recorded: HashSet<PathBuf> = db
            .recorded_paths()
            .filter_map(|p| paths::resolve(store.models_dir(), p))
            .map(|p| canonical(&p))
            .collect();
        // The first installed model with each sha256.
        let mut installed_sha: HashMap<String, String> = HashMap::new();
        for m in &db.installed {
            for f in &m.files {
                installed_sha
                    .entry(f.sha256.clone())
                    .or_insert_with(|| m.name.clone());
            }
        }
        let cache: HashMap<(u64, u64), HashCacheEntry> = db
            .hash_cache
            .into_iter()
            .map(|e| ((e.device, e.inode), e))
            .collect();
        let listing = walk::list(&roots, &models_dir);
        let mut entries = Vec::new();
        let mut headers_read = 0;
        let mut seen = 0;
        for candidate in listing.files {
            seen += 1;
            if recorded.contains(&candidate.path) {
                continue;
            }
            let entry = match cached(&cache, &candidate) {
                Some(hit) => hit,
                None => {
                    headers_read += 1;
                    fresh_entry(&candidate)
                }
            };
            entries.push((candidate, entry));
        }
        {
            let mut status = self.lock();
            status.files_seen = seen;
            status.headers_read = headers_read;
            status.problems.extend(listing.problems);
            status.untracked = entries
                .iter()
                .map(|(c, e)| untracked(c, e, &installed_sha))
                .collect();
            let to_hash = entries.iter().filter(|(_, e)| e.sha256.is_none());
            status.files_to_hash = to_hash.clone().count() as u64;
            status.bytes_to_hash = to_hash.map(|(_, e)| e.size).sum();
            status.phase = ScanPhase::Hashing;
        }
        let cache_of = |entries: &[(Candidate, HashCacheEntry)]| {
            entries.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>()
        };
        store
            .save_hash_cache(cache_of(&entries))
            .map_err(|e| e.message)?;
        let mut saved = Instant::now();
        for index in 0..entries.len() {
            if entries[index].1.sha256.is_some() {
                continue;
            }
            let sha = self.hash(&entries[index].0.path);
            let (_, entry) = &mut entries[index];
            entry.sha256 = sha.clone();
            let mut status = self.lock();
            status.files_hashed += 1;
            if let Some(file) = status.untracked.iter_mut().find(|f| f.path == entry.path) {
                file.duplicate_of = sha.as_ref().and_then(|s| installed_sha.get(s).cloned());
                file.sha256 = sha;
            }
            drop(status);
            if saved.elapsed() >= SAVE_EVERY {
                store
                    .save_hash_cache(cache_of(&entries))
                    .map_err(|e| e.message)?;
                saved = Instant::now();
            }
        }
        store
            .save_hash_cache(cache_of(&entries))
            .map_err(|e| e.message)
    }

    /// The file's sha256, counting progress; `None` (with a problem noted) if unreadable.
    fn hash(&self, path: &Path) -> Option<String> {
        match hashing::sha256_file_with_progress(path, |n| self.lock().bytes_hashed += n) {
            Ok((sha, _)) => Some(sha),
            Err(e) => {
                self.lock()
                    .problems
                    .push(format!("cannot hash {}: {e}", path.display()));
                None
            }
        }
    }
}

/// The cache entry of an unchanged file (same device, inode, size and mtime).
fn cached(
    cache: &HashMap<(u64, u64), HashCacheEntry>,
    candidate: &Candidate,
) -> Option<HashCacheEntry> {
    let key = key_of(&candidate.path, &candidate.metadata);
    let hit = cache.get(&(key.device, key.inode))?;
    hit.same_file(&key).then(|| HashCacheEntry {
        path: key.path,
        ..hit.clone()
    })
}

/// A new entry: the identity from the stat, the identification from the header.
fn fresh_entry(candidate: &Candidate) -> HashCacheEntry {
    let name = candidate
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    HashCacheEntry {
        identification: inspect::identify_file(&candidate.path, name)
            .unwrap_or_else(|| app::domain::Identification::unknown("not a model file extension")),
        ..key_of(&candidate.path, &candidate.metadata)
    }
}

/// The cache key of a listed file, without identification or hash.
fn key_of(path: &Path, m: &std::fs::Metadata) -> HashCacheEntry {
    HashCacheEntry {
        path: path.display().to_string(),
        device: m.dev(),
        inode: m.ino(),
        size: m.len(),
        mtime_secs: m.mtime(),
        mtime_nanos: m.mtime_nsec().clamp(0, 999_999_999) as u32,
        sha256: None,
        identification: app::domain::Identification::unknown("not identified yet"),
    }
}

/// Whether a file matches its cache entry now (for adopting a file the scan listed).
pub fn entry_still_valid(path: &Path, entry: &HashCacheEntry) -> bool {
    std::fs::metadata(path).is_ok_and(|metadata| entry.same_file(&key_of(path, &metadata)))
}

/// The scan's view of a file; `installed_sha` maps installed files' sha256 to their model.
fn untracked(
    candidate: &Candidate,
    entry: &HashCacheEntry,
    installed_sha: &HashMap<String, String>,
) -> UntrackedFile {
    let name = candidate.path.to_string_lossy();
    UntrackedFile {
        path: entry.path.clone(),
        root: candidate.root.display().to_string(),
        in_models_dir: candidate.in_models_dir,
        size_bytes: entry.size,
        format: match Format::from_file_name(&name) {
            Some(Format::Safetensors) => "safetensors",
            Some(Format::Gguf) => "gguf",
            Some(Format::Torch) | None => "torch",
        }
        .into(),
        identification: entry.identification.clone(),
        duplicate_of: entry
            .sha256
            .as_ref()
            .and_then(|s| installed_sha.get(s).cloned()),
        sha256: entry.sha256.clone(),
    }
}
