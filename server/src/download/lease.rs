//! Leases: which server runs a download on a shared volume. One lease file per model in
//! `.downloads/leases/`, created exclusively (`create_new`, `O_CREAT|O_EXCL`), naming the owner
//! (an instance id made at start) and a fencing token that grows on every takeover. The owner
//! renews it every second (`beat` + 1, atomic replace). Nothing here reads a clock of another
//! machine: a lease is stale when its content has not changed for the expiry as measured by
//! the observer's own monotonic clock, or at once when its owner is a process of this machine's
//! same PID namespace that no longer exists.

use std::{
    collections::HashMap,
    io::{self, Write},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

use crate::storage::write_atomic;

/// How long a taker waits after renaming its lease over a stale one before reading it back.
const TAKEOVER_SETTLE: Duration = Duration::from_millis(300);

/// Who holds a lease: a server instance, and where to look whether its process still runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    /// A fresh UUID per server start.
    pub instance: String,
    /// The kernel's boot id and the PID namespace: two owners with the same `host` see the
    /// same processes.
    pub host: String,
    pub pid: u32,
}

impl Owner {
    /// This server process.
    pub fn me() -> Self {
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        let pidns = std::fs::read_link("/proc/self/ns/pid")
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let host = if boot.trim().is_empty() || pidns.is_empty() {
            // Unknown: never equal to another's, so only the expiry judges.
            uuid::Uuid::new_v4().to_string()
        } else {
            format!("{}/{pidns}", boot.trim())
        };
        Self {
            instance: uuid::Uuid::new_v4().to_string(),
            host,
            pid: std::process::id(),
        }
    }

    /// Whether `other`'s process is certainly gone: it ran in this PID namespace of this boot
    /// and its PID is free now, or is this very process under another instance id.
    pub fn sees_dead(&self, other: &Owner) -> bool {
        if other.host != self.host || other.instance == self.instance {
            return false;
        }
        other.pid == self.pid || !Path::new(&format!("/proc/{}", other.pid)).exists()
    }
}

/// The content of a lease file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    pub job_id: String,
    pub owner: Owner,
    /// Grows by one on every takeover; an install checks it is still the holder's.
    pub token: u64,
    /// Grows by one on every renewal.
    pub beat: u64,
}

impl Lease {
    pub fn new(job_id: &str, owner: &Owner, token: u64) -> Self {
        Self {
            job_id: job_id.to_string(),
            owner: owner.clone(),
            token,
            beat: 0,
        }
    }

    /// Whether `other` is this lease's holder at this fencing token.
    pub fn same_holder(&self, other: &Lease) -> bool {
        self.owner.instance == other.owner.instance
            && self.token == other.token
            && self.job_id == other.job_id
    }
}

/// What a lease file holds now: a lease, nothing (gone), or bytes that do not parse (being
/// created, or damaged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Lease(Lease),
    Missing,
    Unreadable(String),
}

pub fn read(path: &Path) -> Found {
    match std::fs::read(path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(lease) => Found::Lease(lease),
            Err(_) => Found::Unreadable(String::from_utf8_lossy(&bytes).into_owned()),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Found::Missing,
        Err(e) => Found::Unreadable(format!("error: {e}")),
    }
}

/// Creates the lease file exclusively: `Ok(false)` when it exists (someone else holds it).
pub fn create(path: &Path, lease: &Lease) -> io::Result<bool> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(e),
    };
    file.write_all(&serde_json::to_vec(lease).unwrap_or_default())?;
    file.sync_all()?;
    Ok(true)
}

/// Why a holder no longer holds its lease.
#[derive(Debug, PartialEq, Eq)]
pub struct Lost(pub Found);

/// Renews `mine` (beat + 1) if the file still names it; else the lease was taken over or
/// removed and the holder must stop.
pub fn renew(path: &Path, mine: &mut Lease) -> Result<(), Lost> {
    match read(path) {
        Found::Lease(now) if now.same_holder(mine) => {
            mine.beat = now.beat + 1;
            // A failed write is retried at the next beat; the lease stays ours meanwhile.
            let _ = write_atomic(path, &serde_json::to_vec(mine).unwrap_or_default());
            Ok(())
        }
        other => Err(Lost(other)),
    }
}

/// Whether the file still names `mine` (the fencing check before an install).
pub fn holds(path: &Path, mine: &Lease) -> bool {
    matches!(read(path), Found::Lease(now) if now.same_holder(mine))
}

/// Takes over a stale lease for `me`: replaces the file with a lease of the next fencing token
/// (rename over), then reads it back; `None` when another server won the race.
pub fn take_over(path: &Path, job_id: &str, last_token: u64, me: &Owner) -> Option<Lease> {
    let lease = Lease::new(job_id, me, last_token + 1);
    write_atomic(path, &serde_json::to_vec(&lease).ok()?).ok()?;
    // Another taker that judged the same old lease stale renames over ours within moments
    // (its read, judgement and rename follow each other at once): whoever the file names after
    // this wait won. A slower rival still loses at the next renewal and the fencing check.
    std::thread::sleep(TAKEOVER_SETTLE);
    match read(path) {
        Found::Lease(now) if now.same_holder(&lease) => Some(now),
        _ => None,
    }
}

/// Removes the lease file if it still names `mine`.
pub fn release(path: &Path, mine: &Lease) {
    if holds(path, mine) {
        let _ = std::fs::remove_file(path);
    }
}

/// A lease as judged by one observer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Renewed within the expiry (or first seen now).
    Live,
    /// Not renewed for the expiry, or its owner's process is gone.
    Stale,
}

/// What an observer remembers of one lease file: its content and since when it is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    content: String,
    since: Instant,
}

/// Judges a lease from what this observer saw before: stale when the content has stayed the
/// same for `expiry` of the observer's own time, or at once when the owner's process is known
/// to be gone. Returns the verdict and what to remember.
pub fn judge(
    before: Option<&Seen>,
    content: &str,
    owner_gone: bool,
    now: Instant,
    expiry: Duration,
) -> (Verdict, Seen) {
    let seen = match before {
        Some(b) if b.content == content => b.clone(),
        _ => Seen {
            content: content.to_string(),
            since: now,
        },
    };
    let verdict = if owner_gone || now.duration_since(seen.since) >= expiry {
        Verdict::Stale
    } else {
        Verdict::Live
    };
    (verdict, seen)
}

/// The observations of every lease file this server looks at.
#[derive(Debug, Default)]
pub struct Watch {
    seen: HashMap<PathBuf, Seen>,
}

impl Watch {
    /// Judges the lease file at `path` holding `found`.
    pub fn observe(
        &mut self,
        path: &Path,
        found: &Found,
        me: &Owner,
        now: Instant,
        expiry: Duration,
    ) -> Verdict {
        let (content, gone) = match found {
            Found::Lease(l) => (
                serde_json::to_string(l).unwrap_or_default(),
                me.sees_dead(&l.owner),
            ),
            Found::Unreadable(text) => (text.clone(), false),
            Found::Missing => {
                self.seen.remove(path);
                return Verdict::Stale;
            }
        };
        let (verdict, seen) = judge(self.seen.get(path), &content, gone, now, expiry);
        self.seen.insert(path.to_path_buf(), seen);
        verdict
    }

    /// Forgets files not looked at in this round.
    pub fn retain(&mut self, keep: impl Fn(&Path) -> bool) {
        self.seen.retain(|p, _| keep(p));
    }
}

/// Whether this volume's folder `dir` gives what leases need: an exclusive create that fails
/// when the file exists, and a rename that replaces a file whole. A quick self-test at start.
pub fn self_test(dir: &Path) -> Result<(), String> {
    let probe = dir.join(format!(".lease-probe-{}", uuid::Uuid::new_v4()));
    let lease = Lease::new("probe", &Owner::me(), 1);
    let result = (|| {
        if !create(&probe, &lease).map_err(|e| format!("exclusive create failed: {e}"))? {
            return Err("a fresh file already existed".to_string());
        }
        if create(&probe, &lease).map_err(|e| format!("exclusive create failed: {e}"))? {
            return Err("exclusive create (O_EXCL) succeeded on an existing file".to_string());
        }
        let next = Lease::new("probe", &lease.owner, 2);
        write_atomic(&probe, &serde_json::to_vec(&next).unwrap_or_default())
            .map_err(|e| format!("rename over an existing file failed: {e}"))?;
        match read(&probe) {
            Found::Lease(l) if l == next => Ok(()),
            other => Err(format!(
                "a rename over a file did not replace it (read back {other:?})"
            )),
        }
    })();
    let _ = std::fs::remove_file(&probe);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPIRY: Duration = Duration::from_secs(30);

    fn owner(instance: &str, host: &str, pid: u32) -> Owner {
        Owner {
            instance: instance.into(),
            host: host.into(),
            pid,
        }
    }

    #[test]
    fn a_lease_is_stale_only_after_the_expiry_without_a_change_or_when_its_owner_is_gone() {
        let t0 = Instant::now();
        let s = |secs: u64| t0 + Duration::from_secs(secs);
        let at = |content: &str, secs: u64| Seen {
            content: content.into(),
            since: s(secs),
        };
        // (what was seen before, content now, owner gone, now, expected verdict, remembered since)
        type Case<'a> = (Option<Seen>, &'a str, bool, Instant, Verdict, Instant);
        let cases: Vec<Case> = vec![
            // First sight: live, whatever the content says about times.
            (None, "beat 1", false, s(0), Verdict::Live, s(0)),
            // Unchanged for less than the expiry: live.
            (
                Some(at("beat 1", 0)),
                "beat 1",
                false,
                s(29),
                Verdict::Live,
                s(0),
            ),
            // Unchanged for the expiry: stale.
            (
                Some(at("beat 1", 0)),
                "beat 1",
                false,
                s(30),
                Verdict::Stale,
                s(0),
            ),
            // Renewed (content changed): live again, counting from now.
            (
                Some(at("beat 1", 0)),
                "beat 2",
                false,
                s(40),
                Verdict::Live,
                s(40),
            ),
            // Owner's process gone on this machine: stale at once.
            (None, "beat 1", true, s(0), Verdict::Stale, s(0)),
            // Half-written or damaged content counts as content: stale only if it stays so.
            (Some(at("", 0)), "", false, s(10), Verdict::Live, s(0)),
            (Some(at("", 0)), "", false, s(31), Verdict::Stale, s(0)),
        ];
        for (i, (before, content, gone, now, verdict, since)) in cases.into_iter().enumerate() {
            let (got, seen) = judge(before.as_ref(), content, gone, now, EXPIRY);
            assert_eq!(got, verdict, "case {i}");
            assert_eq!(seen.since, since, "case {i}");
        }
    }

    #[test]
    fn only_a_process_of_the_same_namespace_that_is_gone_counts_as_dead() {
        let me = owner("me", "boot/ns", std::process::id());
        // Another host (or namespace): never judged dead, whatever its pid.
        assert!(!me.sees_dead(&owner("a", "other/ns", 999_999_999)));
        // Same namespace, no such process.
        assert!(me.sees_dead(&owner("a", "boot/ns", 999_999_999)));
        // Same namespace, a process that runs (this one, under another instance): this
        // process took the pid over, so the old instance is gone.
        assert!(me.sees_dead(&owner("old", "boot/ns", std::process::id())));
        // Same namespace, a running process that is not us (pid 1 exists in any namespace).
        assert!(!me.sees_dead(&owner("a", "boot/ns", 1)));
        // Itself: never.
        assert!(!me.sees_dead(&me));
    }

    #[test]
    fn create_is_exclusive_renew_keeps_it_and_a_takeover_fences_the_old_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leases/m.lease");
        let a = owner("a", "h1", 1);
        let b = owner("b", "h2", 2);
        let mut held = Lease::new("job", &a, 1);
        assert!(create(&path, &held).unwrap());
        assert!(!create(&path, &Lease::new("job2", &b, 1)).unwrap());
        renew(&path, &mut held).unwrap();
        assert_eq!(held.beat, 1);
        assert!(holds(&path, &held));

        let taken = take_over(&path, "job", held.token, &b).unwrap();
        assert_eq!(taken.token, 2);
        // The old holder learns it lost at its next renewal and fails the fencing check.
        assert!(!holds(&path, &held));
        assert!(matches!(renew(&path, &mut held), Err(Lost(Found::Lease(l))) if l.owner == b));
        // Releasing someone else's lease does nothing; the holder's own release removes it.
        release(&path, &held);
        assert!(path.exists());
        release(&path, &taken);
        assert_eq!(read(&path), Found::Missing);
    }

    #[test]
    fn a_watch_forgets_a_lease_that_changed_and_judges_a_frozen_one_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.lease");
        let me = owner("me", "h1", 1);
        let other = Lease::new("job", &owner("o", "h2", 2), 1);
        let mut watch = Watch::default();
        let t0 = Instant::now();
        let found = Found::Lease(other.clone());
        assert_eq!(watch.observe(&path, &found, &me, t0, EXPIRY), Verdict::Live);
        let later = t0 + EXPIRY;
        assert_eq!(
            watch.observe(&path, &found, &me, later, EXPIRY),
            Verdict::Stale
        );
        let renewed = Found::Lease(Lease { beat: 1, ..other });
        assert_eq!(
            watch.observe(&path, &renewed, &me, later, EXPIRY),
            Verdict::Live
        );
    }

    #[test]
    fn a_local_folder_passes_the_self_test_and_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        self_test(dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
