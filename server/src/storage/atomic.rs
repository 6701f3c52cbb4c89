//! Crash-safe file replacement and the cross-process lock.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Write},
    path::{Path, PathBuf},
};

/// Replaces `path` with `bytes` so that a reader sees either the old or the new content,
/// never a mix: temp file in the same folder, fsync, rename, fsync of the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .suffix(".json")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Makes a rename or file creation in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// An exclusive lock held on a lock file beside the database; released on drop.
/// Several processes (or containers on one volume) serialise through it.
pub struct FileLock {
    file: File,
}

impl FileLock {
    pub fn acquire(path: &PathBuf) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        file.lock()?;
        Ok(Self { file })
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Copies `from` over `to` atomically; used for the backup of the last good database.
pub fn copy_atomic(from: &Path, to: &Path) -> io::Result<()> {
    let bytes = fs::read(from)?;
    write_atomic(to, &bytes)
}
