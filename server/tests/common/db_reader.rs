//! A thread that reads and parses the models database as often as it can while writers run:
//! a half-written or foreign-version document fails the test at once.

use std::{
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    thread::JoinHandle,
};

use serde_json::Value;

pub struct DbReader {
    done: Arc<AtomicBool>,
    handle: JoinHandle<u32>,
}

impl DbReader {
    pub fn start(db_path: PathBuf) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let stop = done.clone();
        let handle = std::thread::spawn(move || {
            let mut reads = 0u32;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(bytes) = std::fs::read(&db_path) {
                    let parsed: Value = serde_json::from_slice(&bytes)
                        .unwrap_or_else(|e| panic!("half-written database seen: {e}"));
                    assert_eq!(parsed["schemaVersion"], server::storage::SCHEMA_VERSION);
                    reads += 1;
                }
            }
            reads
        });
        Self { done, handle }
    }

    /// Stops the reader; how many whole documents it parsed.
    pub fn stop(self) -> u32 {
        self.done.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}
