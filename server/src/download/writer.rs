//! A writer thread per file transfer: hashes and writes chunks while the network task keeps
//! receiving. The channel is bounded, so memory stays flat whatever the file size. It never
//! writes into the volume's free-space reserve, whether or not the file's size is known.

use std::{
    fs::{File, OpenOptions},
    io::{self, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    thread,
};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::progress::Busy;

/// Chunks in flight between the network and the disk (each up to a few hundred KB).
const QUEUE: usize = 16;

enum Msg {
    Data(Bytes),
    Finish { sync: bool },
}

/// Appends to a partial file from a background thread, hashing as it writes.
pub struct Writer {
    tx: Option<mpsc::Sender<Msg>>,
    handle: Option<thread::JoinHandle<io::Result<(Sha256, u64)>>>,
}

impl Writer {
    /// Opens `path` for appending at `offset` (truncating anything beyond), re-hashing the
    /// first `offset` bytes so the final sha256 covers the whole file. `hasher` may carry the
    /// state for exactly `offset` bytes, which skips the re-hash.
    pub fn open(path: &Path, offset: u64, hasher: Option<Sha256>) -> io::Result<Self> {
        Self::open_keeping(path, offset, hasher, 0, Busy::default())
    }

    /// Like `open`, and stops with a `StorageFull` error before a write would leave less than
    /// `min_free` bytes free on the volume. The thread holds `busy` until it has ended.
    pub fn open_keeping(
        path: &Path,
        offset: u64,
        hasher: Option<Sha256>,
        min_free: u64,
        busy: Busy,
    ) -> io::Result<Self> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)?;
        file.set_len(offset)?;
        let (tx, rx) = mpsc::channel::<Msg>(QUEUE);
        let path: PathBuf = path.to_path_buf();
        let budget = Budget::new(min_free);
        // Re-hashing a resumed prefix reads up to the whole file: it happens on the writer's
        // own thread (chunks queue meanwhile), never on the async runtime.
        let handle = thread::Builder::new()
            .name("download-writer".into())
            .spawn(move || {
                let _busy = busy;
                let hasher = match hasher {
                    Some(h) => h,
                    None => hash_prefix(&mut file, offset)?,
                };
                file.seek(SeekFrom::Start(offset))?;
                write_loop(file, rx, hasher, offset, &path, budget)
            })?;
        Ok(Self {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    /// Queues a chunk; waits (without blocking the runtime) only when the disk is behind by
    /// `QUEUE` chunks. If the writer failed, returns its error.
    pub async fn send(&mut self, data: Bytes) -> io::Result<()> {
        let sent = match &self.tx {
            Some(tx) => tx.send(Msg::Data(data)).await.is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        self.tx = None;
        match self.handle.take() {
            Some(handle) => match tokio::task::spawn_blocking(move || handle.join()).await {
                Ok(Ok(Err(e))) => Err(e),
                _ => Err(io::Error::other("the writer thread stopped")),
            },
            None => Err(io::Error::other("the writer thread stopped")),
        }
    }

    /// Flushes (and with `sync`, fsyncs) and returns the hasher and the file length: the
    /// state to resume from after a transient error, or the result when the file is complete.
    pub async fn finish(mut self, sync: bool) -> io::Result<(Sha256, u64)> {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Msg::Finish { sync }).await;
        }
        join(self.handle.take()).await
    }
}

/// Waits, off the async runtime, for a writer thread's result.
pub(super) async fn join<T: Send + 'static>(
    handle: Option<thread::JoinHandle<io::Result<T>>>,
) -> io::Result<T> {
    let handle = handle.ok_or_else(|| io::Error::other("the writer thread stopped"))?;
    tokio::task::spawn_blocking(move || handle.join())
        .await
        .map_err(io::Error::other)?
        .map_err(|_| io::Error::other("the writer thread panicked"))?
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Abandoned (error or cancel): closing the channel ends the thread, which closes the
        // file after writing what it had; nobody waits for it.
        self.tx.take();
    }
}

fn write_loop(
    mut file: File,
    rx: mpsc::Receiver<Msg>,
    mut hasher: Sha256,
    mut len: u64,
    path: &Path,
    mut budget: Budget,
) -> io::Result<(Sha256, u64)> {
    let mut rx = rx;
    let mut flusher = Flusher::new(len);
    // Chunks are written as they come, several per system call, never copied into a buffer.
    let mut pending: Vec<Bytes> = Vec::new();
    let mut pending_len = 0usize;
    loop {
        let msg = rx.blocking_recv();
        let finish = match msg {
            Some(Msg::Data(data)) => {
                hasher.update(&data);
                len += data.len() as u64;
                pending_len += data.len();
                pending.push(data);
                // Write when the queue is momentarily empty or enough is gathered.
                if pending_len < BATCH && !rx.is_empty() {
                    continue;
                }
                None
            }
            Some(Msg::Finish { sync }) => Some(sync),
            // Sender dropped without Finish: keep what was written (it is resumable), stop.
            None => {
                budget.spend(pending_len as u64, || fs4::available_space(path))?;
                write_chunks(&mut file, &mut pending)?;
                return Err(io::Error::other(format!(
                    "writing {} was abandoned",
                    path.display()
                )));
            }
        };
        budget.spend(pending_len as u64, || fs4::available_space(path))?;
        write_chunks(&mut file, &mut pending)?;
        pending_len = 0;
        flusher.written(&file, len);
        if let Some(sync) = finish {
            if sync {
                file.sync_all()?;
            }
            return Ok((hasher, len));
        }
    }
}

/// Streams written data to disk as it goes instead of in one burst at the end. Every `WINDOW`
/// bytes it advises the kernel that the finished window will not be read again: for dirty
/// pages that starts their writeback at once, and the same advice on the window before (by
/// then written) drops it from the page cache. Dirty memory stays near two windows, the final
/// fsync is short, and the kernel need not reclaim gigabytes of cache under pressure.
/// Advisory only: errors are ignored, the final fsync still guarantees durability.
pub(super) struct Flusher {
    next: u64,
}

const WINDOW: u64 = 32 << 20;

impl Flusher {
    pub(super) fn new(offset: u64) -> Self {
        Self {
            next: offset - offset % WINDOW + WINDOW,
        }
    }

    #[cfg(target_os = "linux")]
    pub(super) fn written(&mut self, file: &File, len: u64) {
        use nix::fcntl::{posix_fadvise, PosixFadviseAdvice::POSIX_FADV_DONTNEED};
        let window = WINDOW as i64;
        while len >= self.next {
            let done = self.next as i64 - window;
            let _ = posix_fadvise(file, done, window, POSIX_FADV_DONTNEED);
            if done >= window {
                let _ = posix_fadvise(file, done - window, window, POSIX_FADV_DONTNEED);
            }
            self.next += WINDOW;
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub(super) fn written(&mut self, _file: &File, _len: u64) {}
}

/// The free-space reserve, checked with the file system every `CHECK_EVERY` bytes rather
/// than per write: between two checks the writer spends at most what the last one showed free
/// above the reserve, so it stops before crossing it (other writers on the volume aside).
pub(super) struct Budget {
    min_free: u64,
    /// Bytes that may still be written before the next check.
    left: u64,
}

const CHECK_EVERY: u64 = 8 << 20;

impl Budget {
    pub(super) fn new(min_free: u64) -> Self {
        Self { min_free, left: 0 }
    }

    /// Accounts for writing `n` bytes, asking `free` for the volume's free space when the
    /// allowance of the last check is used up.
    pub(super) fn spend(
        &mut self,
        n: u64,
        free: impl FnOnce() -> io::Result<u64>,
    ) -> io::Result<()> {
        if n <= self.left {
            self.left -= n;
            return Ok(());
        }
        let free = free()?;
        let usable = free.saturating_sub(self.min_free);
        if n > usable {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                format!(
                    "the volume has {} free and {} must stay free (MODELS_MIN_FREE_BYTES), so the download stopped; free some space or discard partial downloads, then start it again",
                    app::format::bytes(free),
                    app::format::bytes(self.min_free)
                ),
            ));
        }
        self.left = (usable - n).min(CHECK_EVERY);
        Ok(())
    }
}

/// Bytes gathered before a write when more are waiting.
const BATCH: usize = 1 << 20;

/// Writes every chunk with vectored writes, then empties `chunks`.
fn write_chunks(file: &mut File, chunks: &mut Vec<Bytes>) -> io::Result<()> {
    let mut slices: Vec<io::IoSlice<'_>> = chunks.iter().map(|c| io::IoSlice::new(c)).collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        let n = file.write_vectored(rest)?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        io::IoSlice::advance_slices(&mut rest, n);
    }
    drop(slices);
    chunks.clear();
    Ok(())
}

pub(super) fn hash_prefix(file: &mut File, len: u64) -> io::Result<Sha256> {
    let mut hasher = Sha256::new();
    file.seek(SeekFrom::Start(0))?;
    let mut reader = file.take(len);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn resuming_rehashes_the_prefix_and_truncates_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.partial");
        std::fs::write(&path, b"hello, garbage").unwrap();
        let mut w = Writer::open(&path, 7, None).unwrap();
        w.send(Bytes::from_static(b"world")).await.unwrap();
        let (hasher, len) = w.finish(true).await.unwrap();
        assert_eq!(len, 12);
        assert_eq!(std::fs::read(&path).unwrap(), b"hello, world");
        assert_eq!(
            hasher.finalize().as_slice(),
            Sha256::digest(b"hello, world").as_slice()
        );
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    #[test]
    fn the_reserve_is_never_crossed_and_checked_only_every_few_mib() {
        let mib = 1u64 << 20;
        // 20 MiB above a 100 MiB reserve; every write is 1 MiB and really uses the space.
        let mut free = 120 * mib;
        let mut checks = 0;
        let mut budget = Budget::new(100 * mib);
        let mut written = 0;
        let err = loop {
            match budget.spend(mib, || {
                checks += 1;
                Ok(free)
            }) {
                Ok(()) => {
                    written += mib;
                    free -= mib;
                }
                Err(e) => break e,
            }
        };
        assert_eq!(written, 20 * mib);
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert!(err.to_string().contains("must stay free"), "{err}");
        assert!(checks <= 5, "{checks} checks for 20 MiB");
    }

    #[test]
    fn no_reserve_still_stops_at_a_full_disk() {
        let mut budget = Budget::new(0);
        assert!(budget.spend(10, || Ok(10)).is_ok());
        assert!(Budget::new(0).spend(11, || Ok(10)).is_err());
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;

    #[tokio::test]
    async fn thousands_of_small_chunks_are_written_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.partial");
        let mut w = Writer::open(&path, 0, None).unwrap();
        let mut expected = Vec::new();
        for i in 0..5000u32 {
            let chunk: Vec<u8> = (0..700).map(|j| (i as usize * 7 + j) as u8).collect();
            expected.extend_from_slice(&chunk);
            w.send(Bytes::from(chunk)).await.unwrap();
        }
        let (hasher, len) = w.finish(true).await.unwrap();
        assert_eq!(len, expected.len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        assert_eq!(
            hasher.finalize().as_slice(),
            Sha256::digest(&expected).as_slice()
        );
    }
}
