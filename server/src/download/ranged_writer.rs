//! The writer thread of a ranged transfer: chunks from every connection are written at their
//! offsets, and sha256 runs in file order behind the contiguous watermark. A chunk that lands
//! on the watermark is hashed from memory; data that arrived ahead is read back (from the page
//! cache) when the gap before it closes. Every so often the data is synced and the finished
//! ranges are recorded in the range journal (`N.ranges.json`), so a killed process resumes
//! each range where it stopped. Memory stays bounded by the channel.

use std::{
    fs::{File, OpenOptions},
    io,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
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
    /// hashed on the writer thread, off the async runtime.
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
                let mut w = Thread {
                    saver: Saver::start(&file, journal.clone())?,
                    file,
                    journal,
                    state,
                    hasher: Sha256::new(),
                    hashed: 0,
                    budget: Budget::new(min_free),
                    flusher: Flusher::new(0),
                    buf: Vec::new(),
                    saved_at: Instant::now(),
                    since_save: 0,
                };
                if let Some((hasher, len)) = carried {
                    if len <= w.state.done.contiguous_end(0) {
                        (w.hasher, w.hashed) = (hasher, len);
                    }
                }
                w.flusher = Flusher::new(w.hashed);
                let outcome = w.run(rx, &path);
                // Whatever happened, the journal says what is on disk.
                let saved = w.save();
                outcome?;
                saved?;
                Ok(Written {
                    hasher: w.hasher,
                    hashed: w.hashed,
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
    file: File,
    journal: PathBuf,
    state: RangeState,
    hasher: Sha256,
    hashed: u64,
    budget: Budget,
    flusher: Flusher,
    buf: Vec<u8>,
    saved_at: Instant,
    since_save: u64,
}

impl Thread {
    fn run(&mut self, mut rx: mpsc::Receiver<Msg>, path: &Path) -> io::Result<()> {
        self.catch_up()?;
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
        if offset == self.hashed {
            self.hasher.update(bytes);
            self.hashed += len;
        }
        self.catch_up()?;
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

    /// Hashes what lies on disk between the watermark and the end of its contiguous run.
    fn catch_up(&mut self) -> io::Result<()> {
        let end = self.state.done.contiguous_end(self.hashed);
        if end > self.hashed {
            if self.buf.is_empty() {
                self.buf = vec![0; 1 << 20];
            }
            while self.hashed < end {
                let n = ((end - self.hashed) as usize).min(self.buf.len());
                self.file.read_exact_at(&mut self.buf[..n], self.hashed)?;
                self.hasher.update(&self.buf[..n]);
                self.hashed += n as u64;
            }
        }
        self.flusher.written(&self.file, self.hashed);
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
