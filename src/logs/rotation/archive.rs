//! Old log files ("archives"): their names and order, retention by count,
//! total size and age, and gzip compression in the background.
//!
//! Names, for the current file `app.log`: `app.log.1` (or `app.log.1.gz`)
//! is the newest archive, `app.log.2` the one before, and so on. Installing
//! an archive shifts every `.k` to `.k+1` and puts the new one at `.1`.
//!
//! With compression on, a rotation only renames the current file to a
//! *pending* name, `app.log.pending-<nanoseconds>`, and wakes the
//! compressor thread; writers never wait for gzip. For each pending file,
//! oldest first, the compressor:
//!
//! 1. writes `<pending>.gz.tmp` and syncs it to disk;
//! 2. renames it to `<pending>.gz` (now complete, atomically);
//! 3. deletes `<pending>`;
//! 4. under the archive lock, shifts the archives and renames
//!    `<pending>.gz` to `app.log.1.gz`, then applies retention.
//!
//! A crash at any point loses nothing and leaves no half-written archive:
//! at the next start (`Archives::recover`) every `.gz.tmp` is deleted, a
//! pending file whose `.gz` is complete is deleted (step 3 again), and the
//! pending files and complete `.gz` files are installed or compressed, in
//! the order they were rotated.
//!
//! Retention, after every installation and every minute: archives past
//! `keep` are deleted, then the oldest until the archives' total size fits
//! `max_total_bytes`, then those last written more than `max_age` ago.
//! On a full volume the writer deletes archives oldest first
//! (`Archives::drop_oldest`), pending ones last.

#[cfg(feature = "log-compress")]
mod compress;
mod keeper;

pub(crate) use keeper::Keeper;

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

/// The clock of daily rotation and age retention (injectable for tests).
pub(crate) type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// What [`Archives`] keeps, and how.
#[derive(Debug, Clone)]
pub(crate) struct Retention {
    pub(crate) keep: usize,
    pub(crate) max_total_bytes: u64,
    pub(crate) max_age: Option<Duration>,
    pub(crate) compress: bool,
}

/// What happened to the archives (served in `/logs/info` and the
/// `redline_log_archive*` metrics).
///
/// ```
/// use std::io::Write;
/// use redline::logs::rotation::{RotatingFile, RotationPolicy};
///
/// let dir = tempfile::tempdir()?;
/// let policy = RotationPolicy { max_bytes: 10, compress: false, ..RotationPolicy::default() };
/// let mut file = RotatingFile::open(dir.path().join("app.log"), policy)?;
/// file.write_all(b"0123456789\n")?;
/// file.write_all(b"abc\n")?; // rotates: app.log.1
/// let archives = file.stats().archives;
/// assert_eq!((archives.count, archives.bytes), (1, 11));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ArchiveStats {
    /// Archives on disk (`<file>.N` and `<file>.N.gz`), pending ones
    /// included.
    pub count: u64,
    /// Their total size in bytes.
    pub bytes: u64,
    /// Rotated files waiting for compression.
    pub pending: u64,
    /// Files compressed.
    pub compressed: u64,
    /// Compressions that failed (retried at the next wake-up; the file
    /// stays, uncompressed, meanwhile).
    pub compress_errors: u64,
    /// Bytes read by compression (the rotated files' sizes).
    pub compressed_bytes_in: u64,
    /// Bytes written by compression (the `.gz` sizes).
    pub compressed_bytes_out: u64,
    /// Archives deleted past `keep`.
    pub deleted_count: u64,
    /// Archives deleted to fit `max_total_bytes`.
    pub deleted_size: u64,
    /// Archives deleted for being older than `max_age`.
    pub deleted_age: u64,
    /// Archives deleted before their turn to make room for log lines on a
    /// full volume.
    pub deleted_no_space: u64,
}

/// One archive on disk.
#[derive(Debug, Clone)]
struct Archive {
    /// `k` of `<file>.k[.gz]`.
    index: usize,
    path: PathBuf,
    gz: bool,
    bytes: u64,
    modified: SystemTime,
}

/// The archives of one log file, shared by its writer and its compressor.
pub(crate) struct Archives {
    /// The current file.
    path: PathBuf,
    dir: PathBuf,
    /// The current file's name (`app.log`).
    name: String,
    keep: usize,
    max_total_bytes: u64,
    max_age: Option<Duration>,
    compress: bool,
    clock: Clock,
    /// Every rename and delete of archives happens under this lock.
    state: Mutex<ArchiveStats>,
    /// Signalled when the compressor has nothing pending.
    idle: Condvar,
    /// The last pending name's number (names stay unique and ordered).
    last_pending: Mutex<u128>,
}

/// What a name in the log directory is, for the current file `name`.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// `name.k` or `name.k.gz`.
    Archive(usize, bool),
    /// `name.pending-N`.
    Pending(u128),
    /// `name.pending-N.gz`: complete, not yet installed.
    PendingGz(u128),
    /// `name.pending-N.gz.tmp`: being written, or left by a crash.
    PendingTmp,
}

fn kind(name: &str, file: &str) -> Option<Kind> {
    let rest = file.strip_prefix(name)?.strip_prefix('.')?;
    if let Some(p) = rest.strip_prefix("pending-") {
        if p.strip_suffix(".gz.tmp").is_some() {
            return Some(Kind::PendingTmp);
        }
        return match p.strip_suffix(".gz") {
            Some(n) => n.parse().ok().map(Kind::PendingGz),
            None => p.parse().ok().map(Kind::Pending),
        };
    }
    let (digits, gz) = match rest.strip_suffix(".gz") {
        Some(d) => (d, true),
        None => (rest, false),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    digits.parse().ok().map(|k| Kind::Archive(k, gz))
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

impl Archives {
    pub(crate) fn new(path: &Path, policy: Retention, clock: Clock) -> Arc<Self> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        Arc::new(Self {
            path: path.to_owned(),
            dir,
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            keep: policy.keep,
            max_total_bytes: policy.max_total_bytes,
            max_age: policy.max_age,
            compress: policy.compress && cfg!(feature = "log-compress"),
            clock,
            state: Mutex::new(ArchiveStats::default()),
            idle: Condvar::new(),
            last_pending: Mutex::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, ArchiveStats> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a [`Keeper`] thread has work: compression, or retention by
    /// age (which moves on with the clock, rotations or not).
    pub(crate) fn needs_keeper(&self) -> bool {
        self.compress || self.max_age.is_some()
    }

    fn named(&self, suffix: &str) -> PathBuf {
        let mut name = OsString::from(self.path.as_os_str());
        name.push(".");
        name.push(suffix);
        PathBuf::from(name)
    }

    fn archive_name(&self, k: usize, gz: bool) -> PathBuf {
        self.named(&if gz { format!("{k}.gz") } else { k.to_string() })
    }

    fn pending_name(&self, n: u128) -> PathBuf {
        self.named(&format!("pending-{n:039}"))
    }

    /// Every name of this file's archives in the directory.
    fn scan(&self) -> Vec<(Kind, PathBuf, fs::Metadata)> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let file = e.file_name().into_string().ok()?;
                let kind = kind(&self.name, &file)?;
                let meta = e.metadata().ok().filter(fs::Metadata::is_file)?;
                Some((kind, e.path(), meta))
            })
            .collect()
    }

    /// Installed archives, newest (`.1`) first.
    fn installed(&self) -> Vec<Archive> {
        let mut list: Vec<Archive> = self
            .scan()
            .into_iter()
            .filter_map(|(kind, path, meta)| match kind {
                Kind::Archive(index, gz) => Some(Archive {
                    index,
                    path,
                    gz,
                    bytes: meta.len(),
                    modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                }),
                _ => None,
            })
            .collect();
        list.sort_by_key(|a| (a.index, !a.gz));
        list
    }

    /// Pending files (plain and complete `.gz`), oldest first.
    fn pending(&self) -> Vec<(u128, PathBuf, bool)> {
        let mut list: Vec<_> = self
            .scan()
            .into_iter()
            .filter_map(|(kind, path, _)| match kind {
                Kind::Pending(n) => Some((n, path, false)),
                Kind::PendingGz(n) => Some((n, path, true)),
                _ => None,
            })
            .collect();
        list.sort();
        list
    }

    /// Moves the current file out of the way at a rotation: to a pending
    /// name (compression on; the caller wakes the compressor), to `.1`
    /// (off), or deletes it (`keep == 0`).
    pub(crate) fn archive_current(&self) -> io::Result<()> {
        if self.keep == 0 {
            return remove_if_exists(&self.path);
        }
        if self.compress {
            let n = self.next_pending_number();
            fs::rename(&self.path, self.pending_name(n))?;
            self.lock().pending += 1;
            return Ok(());
        }
        let mut stats = self.lock();
        self.install(&mut stats, &self.path, false)?;
        self.retain(&mut stats);
        Ok(())
    }

    fn next_pending_number(&self) -> u128 {
        let now = (self.clock)()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut last = self
            .last_pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *last = now.max(*last + 1);
        *last
    }

    /// Shifts the archives up by one from the first gap (the one at `keep`
    /// is deleted when there is none) and renames `src` to `.1`.
    fn install(&self, stats: &mut ArchiveStats, src: &Path, gz: bool) -> io::Result<()> {
        let installed = self.installed();
        let taken = |k: usize| installed.iter().any(|a| a.index == k);
        let gap = match (1..=self.keep).find(|&k| !taken(k)) {
            Some(gap) => gap,
            None => {
                // `.1` ..= `.keep` all exist: the oldest goes.
                for a in installed.iter().filter(|a| a.index == self.keep) {
                    fs::remove_file(&a.path)?;
                    stats.deleted_count += 1;
                }
                self.keep
            }
        };
        // Highest first, so that no rename overwrites an archive.
        for a in installed.iter().rev().filter(|a| a.index < gap) {
            fs::rename(&a.path, self.archive_name(a.index + 1, a.gz))?;
        }
        fs::rename(src, self.archive_name(1, gz))
    }

    /// Applies the retention policy to the installed archives and
    /// refreshes the counts.
    fn retain(&self, stats: &mut ArchiveStats) {
        let now = (self.clock)();
        let mut total = 0u64;
        for a in self.installed() {
            total = total.saturating_add(a.bytes);
            let reason = if a.index > self.keep {
                Some(&mut stats.deleted_count)
            } else if self.max_total_bytes > 0 && total > self.max_total_bytes {
                Some(&mut stats.deleted_size)
            } else if self
                .max_age
                .is_some_and(|age| now.duration_since(a.modified).is_ok_and(|d| d > age))
            {
                Some(&mut stats.deleted_age)
            } else {
                None
            };
            if let Some(counter) = reason
                && fs::remove_file(&a.path).is_ok()
            {
                *counter += 1;
            }
        }
        self.refresh(stats);
    }

    /// Recounts what is on disk.
    fn refresh(&self, stats: &mut ArchiveStats) {
        let (mut count, mut bytes, mut pending) = (0, 0, 0);
        for (kind, _, meta) in self.scan() {
            match kind {
                Kind::Archive(..) => {}
                Kind::Pending(_) | Kind::PendingGz(_) => pending += 1,
                Kind::PendingTmp => continue,
            }
            count += 1;
            bytes += meta.len();
        }
        (stats.count, stats.bytes, stats.pending) = (count, bytes, pending);
    }

    /// Deletes the oldest archive, pending ones last; whether there was
    /// one. For a writer that found the volume full.
    pub(crate) fn drop_oldest(&self) -> bool {
        let mut stats = self.lock();
        let oldest = self
            .installed()
            .pop()
            .map(|a| a.path)
            .or_else(|| self.pending().into_iter().next().map(|(_, p, _)| p));
        let dropped = oldest.is_some_and(|p| fs::remove_file(p).is_ok());
        if dropped {
            stats.deleted_no_space += 1;
            self.refresh(&mut stats);
        }
        dropped
    }

    /// What happened so far (the counts as of the last change).
    pub(crate) fn stats(&self) -> ArchiveStats {
        self.lock().clone()
    }

    /// At open: finishes what a crash interrupted (see the module docs).
    /// Pending files are left for the compressor when compression is on,
    /// and installed as they are when it is off.
    pub(crate) fn recover(&self) {
        let mut stats = self.lock();
        for (kind, path, _) in self.scan() {
            if kind == Kind::PendingTmp {
                let _ = fs::remove_file(path);
            }
        }
        let pending = self.pending();
        for (n, path, gz) in &pending {
            // Step 3 again: the `.gz` is complete, the source can go.
            if !gz && pending.iter().any(|(m, _, g)| m == n && *g) {
                let _ = fs::remove_file(path);
            }
        }
        if !self.compress {
            for (_, path, gz) in self.pending() {
                let _ = self.install(&mut stats, &path, gz);
            }
        }
        self.retain(&mut stats);
    }

    /// The keeper's round: compression (when on), then retention (age
    /// moves on with the clock).
    pub(crate) fn round(&self) {
        #[cfg(feature = "log-compress")]
        if self.compress {
            self.compress_pending();
        }
        let mut stats = self.lock();
        self.retain(&mut stats);
        if stats.pending == 0 {
            self.idle.notify_all();
        }
    }

    /// Waits until nothing is pending, at most `timeout`; whether nothing
    /// is.
    pub(crate) fn wait_idle(&self, timeout: Duration) -> bool {
        let stats = self.lock();
        let (stats, _) = self
            .idle
            .wait_timeout_while(stats, timeout, |s| s.pending > 0)
            .unwrap_or_else(PoisonError::into_inner);
        stats.pending == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_recognised_and_nothing_else() {
        let k = |f| kind("app.log", f);
        assert_eq!(k("app.log.1"), Some(Kind::Archive(1, false)));
        assert_eq!(k("app.log.12.gz"), Some(Kind::Archive(12, true)));
        assert_eq!(k("app.log.pending-0042"), Some(Kind::Pending(42)));
        assert_eq!(k("app.log.pending-0042.gz"), Some(Kind::PendingGz(42)));
        assert_eq!(k("app.log.pending-0042.gz.tmp"), Some(Kind::PendingTmp));
        for other in [
            "app.log",
            "app.log.",
            "app.log.0",
            "app.log.01",
            "app.log.1.bak",
            "app.log.x.gz",
            "app.logs.1",
            "other.log.1",
            "app.log.pending-",
            "app.log.pending-x.gz",
        ] {
            assert_eq!(k(other), None, "{other}");
        }
    }
}
