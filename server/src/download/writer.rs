//! A writer thread per file transfer: hashes and writes chunks while the network task keeps
//! receiving. The channel is bounded, so memory stays flat whatever the file size.

use std::{
    fs::{File, OpenOptions},
    io::{self, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    thread,
};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

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
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)?;
        file.set_len(offset)?;
        let hasher = match hasher {
            Some(h) => h,
            None => hash_prefix(&mut file, offset)?,
        };
        file.seek(SeekFrom::Start(offset))?;
        let (tx, rx) = mpsc::channel::<Msg>(QUEUE);
        let path: PathBuf = path.to_path_buf();
        let handle = thread::Builder::new()
            .name("download-writer".into())
            .spawn(move || write_loop(file, rx, hasher, offset, &path))?;
        Ok(Self {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    /// Queues a chunk; waits (without blocking the runtime) only when the disk is behind by
    /// `QUEUE` chunks.
    pub async fn send(&self, data: Bytes) -> io::Result<()> {
        self.tx
            .as_ref()
            .expect("send after finish")
            .send(Msg::Data(data))
            .await
            .map_err(|_| io::Error::other("the writer thread stopped"))
    }

    /// Flushes (and with `sync`, fsyncs) and returns the hasher and the file length: the
    /// state to resume from after a transient error, or the result when the file is complete.
    pub async fn finish(mut self, sync: bool) -> io::Result<(Sha256, u64)> {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Msg::Finish { sync }).await;
        }
        let handle = self.handle.take().expect("joined once");
        tokio::task::spawn_blocking(move || handle.join())
            .await
            .map_err(io::Error::other)?
            .map_err(|_| io::Error::other("the writer thread panicked"))?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Abandoned (error or cancel): closing the channel ends the thread, which closes the
        // file after writing what it had; nobody waits for it.
        self.tx.take();
    }
}

fn write_loop(
    file: File,
    rx: mpsc::Receiver<Msg>,
    mut hasher: Sha256,
    mut len: u64,
    path: &Path,
) -> io::Result<(Sha256, u64)> {
    // Small enough that a crash loses little of what arrived, large enough for few syscalls.
    let mut out = io::BufWriter::with_capacity(256 << 10, file);
    let mut rx = rx;
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            Msg::Data(data) => {
                hasher.update(&data);
                out.write_all(&data)?;
                len += data.len() as u64;
            }
            Msg::Finish { sync } => {
                out.flush()?;
                if sync {
                    out.get_ref().sync_all()?;
                }
                return Ok((hasher, len));
            }
        }
    }
    // Sender dropped without Finish: keep what was written (it is resumable), stop.
    out.flush()?;
    Err(io::Error::other(format!(
        "writing {} was abandoned",
        path.display()
    )))
}

fn hash_prefix(file: &mut File, len: u64) -> io::Result<Sha256> {
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
        let w = Writer::open(&path, 7, None).unwrap();
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
