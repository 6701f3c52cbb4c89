//! The threads of a ranged transfer. The writer writes chunks from every connection at their
//! offsets; sha256 runs in file order behind the contiguous watermark on a thread of its own,
//! reading back (from the page cache) what the writer has written, at most `HASH_LAG` behind
//! it, so hashing and writing use two cores and the hash is ready soon after the last byte.
//! Every so often the data is synced and the finished ranges are recorded in the range journal
//! (`N.ranges.json`), so a killed process resumes each range where it stopped. Memory stays
//! bounded by the writer's channel.

use std::{
    fs::{File, OpenOptions},
    io,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::{Arc, Condvar, Mutex},
    thread,
    time::{Duration, Instant},
};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::{
    progress::Busy,
    ranges::Done,
    writer::{self, Budget, Flusher},
};

/// Chunks in flight between the connections and the disk.
const QUEUE: usize = 16;
/// The journal is saved at least this often while data arrives...
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// ...and sooner once 1/`SAVE_PARTS` of the file arrived since the last save, but not more
/// often than this.
const SAVE_AT_MOST_EVERY: Duration = Duration::from_millis(50);
const SAVE_PARTS: u64 = 64;

/// The range journal: what the partial file holds, and of which remote content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RangeState {
    /// ETag (or the Hub's linked etag) of the remote file; a different one starts over.
    pub identity: Option<String>,
    pub size: u64,
    pub done: Done,
}

impl RangeState {
    pub fn read(path: &Path) -> Option<Self> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }
}

enum Msg {
    Data {
        offset: u64,
        bytes: Bytes,
    },
    /// The remote file's ETag, when the source gave no identity: recorded once.
    Identity(String),
    Finish,
}

/// What the writer ends with: the hash of the contiguous prefix and the ranges on disk.
pub struct Written {
    pub hasher: Sha256,
    pub hashed: u64,
    pub done: Done,
}

/// A clonable handle the connections write through.
#[derive(Clone)]
pub struct Chunks(mpsc::Sender<Msg>);

impl Chunks {
    /// Queues `bytes` for `offset`; an error means the writer stopped (see `RangedWriter::finish`).
    pub async fn send(&self, offset: u64, bytes: Bytes) -> Result<(), ()> {
        self.0
            .send(Msg::Data { offset, bytes })
            .await
            .map_err(|_| ())
    }

    /// Records the remote file's identity in the journal if it has none yet.
    pub async fn identify(&self, etag: String) {
        let _ = self.0.send(Msg::Identity(etag)).await;
    }
}

pub struct RangedWriter {
    tx: Option<mpsc::Sender<Msg>>,
    handle: Option<thread::JoinHandle<io::Result<Written>>>,
}

impl RangedWriter {
    /// Opens `path` with `state` (saved to `journal`). `carried` may hold the hash of the
    /// first bytes from an earlier attempt; whatever of the contiguous prefix it lacks is
    /// hashed on the hashing thread, off the async runtime.
    pub fn open(
        path: &Path,
        journal: PathBuf,
        state: RangeState,
        carried: Option<(Sha256, u64)>,
        min_free: u64,
        busy: Busy,
    ) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)?;
        let (tx, rx) = mpsc::channel::<Msg>(QUEUE);
        let path = path.to_path_buf();
        let handle = thread::Builder::new()
            .name("download-ranges".into())
            .spawn(move || {
                // Held until the last write and journal save of this thread.
                let _busy = busy;
                let (hasher, hashed) = carried
                    .filter(|(_, len)| *len <= state.done.contiguous_end(0))
                    .unwrap_or_else(|| (Sha256::new(), 0));
                let mut w = Thread {
                    saver: Saver::start(&file, journal.clone())?,
                    hashing: Hashing::start(&file, hasher, hashed)?,
                    queued: hashed,
                    flusher: Flusher::new(hashed),
                    file,
                    journal,
                    state,
                    budget: Budget::new(min_free),
                    saved_at: Instant::now(),
                    since_save: 0,
                };
                let outcome = w.run(rx, &path).and_then(|()| w.catch_up(true));
                // Whatever happened, the journal says what is on disk.
                let saved = w.save();
                // A stopped hashing thread stops the writer too: its error is the cause.
                let (hasher, hashed) = w.hashing.finish()?;
                w.flusher.written(&w.file, hashed);
                outcome?;
                saved?;
                Ok(Written {
                    hasher,
                    hashed,
                    done: w.state.done,
                })
            })?;
        Ok(Self {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    pub fn chunks(&self) -> Chunks {
        Chunks(self.tx.clone().expect("open until finished"))
    }

    /// Ends the writer: with `complete`, the file is fsynced. Returns its state, or the error
    /// that stopped it (a full disk, the reserve).
    pub async fn finish(mut self, complete: bool) -> io::Result<Written> {
        if let Some(tx) = self.tx.take() {
            if complete {
                let _ = tx.send(Msg::Finish).await;
            }
        }
        writer::join(self.handle.take()).await
    }
}

impl Drop for RangedWriter {
    fn drop(&mut self) {
        // Abandoned (cancel): the thread writes what is queued, saves the journal and ends.
        self.tx.take();
    }
}

struct Thread {
    saver: Saver,
    hashing: Hashing,
    /// The end of what the hashing thread has been given (in file order from 0).
    queued: u64,
    /// Drops what is hashed from the page cache, from this thread (which adds to it).
    flusher: Flusher,
    file: File,
    journal: PathBuf,
    state: RangeState,
    budget: Budget,
    saved_at: Instant,
    since_save: u64,
}

impl Thread {
    fn run(&mut self, mut rx: mpsc::Receiver<Msg>, path: &Path) -> io::Result<()> {
        self.catch_up(true)?;
        while let Some(msg) = rx.blocking_recv() {
            match msg {
                Msg::Data { offset, bytes } => self.write(offset, &bytes, path)?,
                Msg::Identity(etag) => {
                    self.state.identity.get_or_insert(etag);
                }
                Msg::Finish => {
                    self.file.sync_all()?;
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, offset: u64, bytes: &[u8], path: &Path) -> io::Result<()> {
        let len = bytes.len() as u64;
        self.budget.spend(len, || fs4::available_space(path))?;
        self.file.write_all_at(bytes, offset)?;
        self.state.done.insert(offset, offset + len);
        self.catch_up(false)?;
        self.flusher.written(&self.file, self.hashing.hashed());
        self.since_save += len;
        let since = self.saved_at.elapsed();
        if since >= SAVE_EVERY
            || (since >= SAVE_AT_MOST_EVERY && self.since_save >= self.state.size / SAVE_PARTS)
        {
            self.saved_at = Instant::now();
            self.since_save = 0;
            self.saver.save(&self.state);
        }
        Ok(())
    }

    /// Gives the hashing thread what lies on disk between the watermark and the end of its
    /// contiguous run, once that is `HASH_STEP` or more (or the rest of the file), or always
    /// with `all`: it then reads and hashes in large pieces, woken once per piece.
    fn catch_up(&mut self, all: bool) -> io::Result<()> {
        let end = self.state.done.contiguous_end(self.queued);
        let enough = end - self.queued >= HASH_STEP || end == self.state.size;
        if end > self.queued && (all || enough) {
            self.queued = end;
            self.hashing.give(end)?;
        }
        Ok(())
    }

    /// The final save, after the saver's: data synced, then the journal.
    fn save(&mut self) -> io::Result<()> {
        self.saver.stop();
        self.file.sync_data()?;
        let bytes = serde_json::to_vec(&self.state).map_err(io::Error::other)?;
        crate::storage::write_atomic(&self.journal, &bytes)
    }
}

/// Hashes the file in order on its own thread, reading back (from the page cache) what the
/// writer says is written, at most `HASH_LAG` behind it: the writer waits beyond that, so the
/// hash is ready soon after the last byte lands and unhashed data never piles up in memory.
/// The writer drops what is hashed from the page cache (`Flusher`): one thread adds pages and
/// removes them, instead of two contending for the file's page cache.
struct Hashing {
    shared: Arc<(Mutex<Progress>, Condvar)>,
    handle: Option<thread::JoinHandle<io::Result<Sha256>>>,
}

/// What the writer and the hashing thread share.
struct Progress {
    /// Written without a gap up to here: hash up to it.
    asked: u64,
    hashed: u64,
    /// No more will be asked (the writer ended), or the hashing thread stopped.
    ended: bool,
}

/// How far hashing may fall behind the writer: about 0.1 s of hashing with SHA-NI left after
/// the last byte. (Unbounded, hashing on 2 busy cores fell 1.2 GB behind on a 2 GiB file.)
const HASH_LAG: u64 = 256 << 20;
/// The least the writer hands the hashing thread at a time (but the end of the file), and
/// the most it hashes between two reports.
const HASH_STEP: u64 = 1 << 20;

impl Hashing {
    fn start(file: &File, mut hasher: Sha256, hashed: u64) -> io::Result<Self> {
        let file = file.try_clone()?;
        let shared = Arc::new((
            Mutex::new(Progress {
                asked: hashed,
                hashed,
                ended: false,
            }),
            Condvar::new(),
        ));
        let theirs = shared.clone();
        let handle = thread::Builder::new()
            .name("download-hash".into())
            .spawn(move || {
                let result = hash_asked(&file, &mut hasher, &theirs);
                end(&theirs);
                result.map(|()| hasher)
            })?;
        Ok(Self {
            shared,
            handle: Some(handle),
        })
    }

    /// How far the file is hashed.
    fn hashed(&self) -> u64 {
        lock_progress(&self.shared.0).hashed
    }

    /// Asks for the file to be hashed up to `to`, then waits while hashing is more than
    /// `HASH_LAG` behind. Fails when the hashing thread has stopped (its error comes with
    /// `finish`).
    fn give(&self, to: u64) -> io::Result<()> {
        let (lock, wake) = &*self.shared;
        let mut progress = lock_progress(lock);
        progress.asked = to;
        wake.notify_all();
        while !progress.ended && progress.asked - progress.hashed > HASH_LAG {
            progress = wake.wait(progress).unwrap_or_else(|e| e.into_inner());
        }
        match progress.ended {
            true => Err(io::Error::other("the hashing thread stopped")),
            false => Ok(()),
        }
    }

    /// Waits until everything asked is hashed; returns the hash and how many bytes it covers.
    fn finish(&mut self) -> io::Result<(Sha256, u64)> {
        end(&self.shared);
        let hasher = match self.handle.take().map(thread::JoinHandle::join) {
            Some(Ok(result)) => result?,
            _ => return Err(io::Error::other("the hashing thread panicked")),
        };
        Ok((hasher, self.hashed()))
    }
}

impl Drop for Hashing {
    fn drop(&mut self) {
        // Never leaves the hashing thread waiting for a writer that is gone.
        end(&self.shared);
    }
}

/// Marks the end (of the writer's asking, or of the hashing thread) and wakes whoever waits.
fn end((lock, wake): &(Mutex<Progress>, Condvar)) {
    lock_progress(lock).ended = true;
    wake.notify_all();
}

fn lock_progress(lock: &Mutex<Progress>) -> std::sync::MutexGuard<'_, Progress> {
    lock.lock().unwrap_or_else(|e| e.into_inner())
}

/// The hashing thread: hashes what is asked, a step at a time, until the writer has ended
/// and everything asked is hashed.
fn hash_asked(
    file: &File,
    hasher: &mut Sha256,
    shared: &(Mutex<Progress>, Condvar),
) -> io::Result<()> {
    let (lock, wake) = shared;
    let mut buf = vec![0; HASH_STEP as usize];
    loop {
        let (from, to) = {
            let mut progress = lock_progress(lock);
            while progress.asked == progress.hashed && !progress.ended {
                progress = wake.wait(progress).unwrap_or_else(|e| e.into_inner());
            }
            if progress.asked == progress.hashed {
                return Ok(());
            }
            (
                progress.hashed,
                progress.asked.min(progress.hashed + HASH_STEP),
            )
        };
        let piece = &mut buf[..(to - from) as usize];
        file.read_exact_at(piece, from)?;
        hasher.update(&*piece);
        lock_progress(lock).hashed = to;
        wake.notify_all();
    }
}

/// Saves the journal on its own thread, so the data path never waits for a sync: each save
/// syncs the data written before it was asked, then records those ranges. A save asked while
/// one is running is skipped (the next one covers it).
struct Saver {
    tx: Option<std::sync::mpsc::SyncSender<RangeState>>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Saver {
    fn start(file: &File, journal: PathBuf) -> io::Result<Self> {
        let file = file.try_clone()?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<RangeState>(0);
        let handle = thread::Builder::new()
            .name("download-journal".into())
            .spawn(move || {
                for state in rx {
                    let saved = file.sync_data().and_then(|()| {
                        let bytes = serde_json::to_vec(&state).map_err(io::Error::other)?;
                        crate::storage::write_atomic(&journal, &bytes)
                    });
                    if let Err(e) = saved {
                        tracing::warn!(error = %e, "cannot save the range journal");
                    }
                }
            })?;
        Ok(Self {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    fn save(&self, state: &RangeState) {
        if let Some(tx) = &self.tx {
            let _ = tx.try_send(state.clone());
        }
    }

    /// Waits for a save in progress, so it cannot overwrite a later one.
    fn stop(&mut self) {
        self.tx.take();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_in_any_order_hash_in_file_order_and_are_journaled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.partial");
        let journal = dir.path().join("0.ranges.json");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let state = RangeState {
            identity: Some("v1".into()),
            size: data.len() as u64,
            done: Done::default(),
        };
        let w =
            RangedWriter::open(&path, journal.clone(), state, None, 0, Busy::default()).unwrap();
        let chunks = w.chunks();
        // Three "connections", the last range first.
        for (s, e) in [(200_000, 300_000), (100_000, 200_000), (0, 100_000)] {
            for at in (s..e).step_by(7_000) {
                let to = (at + 7_000).min(e);
                chunks
                    .send(at as u64, Bytes::copy_from_slice(&data[at..to]))
                    .await
                    .unwrap();
            }
        }
        drop(chunks);
        let written = w.finish(true).await.unwrap();
        assert_eq!(written.hashed, data.len() as u64);
        assert_eq!(
            written.hasher.finalize().as_slice(),
            Sha256::digest(&data).as_slice()
        );
        assert_eq!(std::fs::read(&path).unwrap(), data);
        let saved = RangeState::read(&journal).unwrap();
        assert!(saved.done.missing(data.len() as u64).is_empty());
    }

    #[tokio::test]
    async fn an_abandoned_attempt_carries_the_hash_of_its_whole_contiguous_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.partial");
        let journal = dir.path().join("0.ranges.json");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 241) as u8).collect();
        let state = RangeState {
            identity: None,
            size: data.len() as u64,
            done: Done::default(),
        };
        let w = RangedWriter::open(&path, journal, state, None, 0, Busy::default()).unwrap();
        // Less than a hashing step at the start, and a range after a gap; then the attempt
        // ends without finishing (a lost connection).
        for (s, e) in [(0, 100_000), (200_000, 300_000)] {
            w.chunks()
                .send(s as u64, Bytes::copy_from_slice(&data[s..e]))
                .await
                .unwrap();
        }
        let written = w.finish(false).await.unwrap();
        assert_eq!(written.hashed, 100_000);
        assert_eq!(
            written.hasher.finalize().as_slice(),
            Sha256::digest(&data[..100_000]).as_slice()
        );
        assert_eq!(written.done.bytes(), 200_000);
    }

    #[tokio::test]
    async fn a_resumed_file_hashes_its_prefix_off_the_runtime_and_keeps_the_ranges_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.partial");
        let journal = dir.path().join("0.ranges.json");
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 13) as u8).collect();
        // A killed process left [0, 20000) and [30000, 50000).
        let mut on_disk = data.clone();
        on_disk[20_000..30_000].fill(0);
        std::fs::write(&path, &on_disk).unwrap();
        let mut done = Done::default();
        done.insert(0, 20_000);
        done.insert(30_000, 50_000);
        let state = RangeState {
            identity: None,
            size: 50_000,
            done,
        };
        let w = RangedWriter::open(&path, journal, state, None, 0, Busy::default()).unwrap();
        w.chunks()
            .send(20_000, Bytes::copy_from_slice(&data[20_000..30_000]))
            .await
            .unwrap();
        let written = w.finish(true).await.unwrap();
        assert_eq!(written.hashed, 50_000);
        assert_eq!(
            written.hasher.finalize().as_slice(),
            Sha256::digest(&data).as_slice()
        );
    }
}
