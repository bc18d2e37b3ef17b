//! A log file that rotates by size and/or UTC date, keeping old files
//! (gzip-compressed in the background) within a count, a total size and an
//! age.
//!
//! Why not `tracing_appender::rolling`: it rotates by time only (minutely,
//! hourly, daily, with `max_log_files`) and has no size trigger, no
//! compression and no size or age retention, while the service we replace
//! rotated at 10 MB. [`RotatingFile`] rotates by size (default 10 MiB),
//! optionally also when the UTC date changes.
//!
//! Naming: `app.log` is the current file, `app.log.1.gz` the newest old
//! file, `app.log.2.gz` the one before, ... up to `app.log.<keep>.gz`
//! (`app.log.1` ... without compression). A rotation renames the current
//! file out of the way and opens a fresh one; the archive keeper thread
//! compresses it (temp file, sync, rename: a crash never leaves a
//! half-written archive, and what it interrupted is finished at the next
//! start), shifts `.k` to `.k+1` and installs it as `.1.gz`, then deletes
//! what the retention policy no longer keeps.
//!
//! Guarantees:
//! - a line is never split across two files: a `write` of several lines
//!   (a buffer's worth) is cut at line ends so that each file stays within
//!   `max_bytes` (a single longer line goes whole into a fresh file), the
//!   rotation decision is taken before each part, under the same lock, and
//!   a part is written whole or not at all. When a later part fails, the
//!   write returns the bytes written before it (a short write);
//! - every clone of a [`RotatingFile`] shares one mutex, so concurrent
//!   writers never interleave lines and none is lost while rotating;
//! - this writer is unbuffered (one `write(2)` per `write` call), and the
//!   direct [`MakeWriter`] use needs no flush. redline's own file output
//!   (`REDLINE_LOG_OUTPUT=file`) puts a 64 KiB buffer in front of it,
//!   flushed after each batch the writer thread takes: under a steady
//!   stream of lines a crash can lose up to 64 KiB of them. A buffer
//!   whose write failed (a full disk) is kept and written once a write
//!   succeeds again; lines that arrive while it is full and failing are
//!   lost;
//! - before each write the path is checked (`stat`) against the open file:
//!   if the file or its directory was removed, or the file was moved away
//!   (an external logrotate), it is reopened, recreating directories, instead
//!   of writing into an unlinked file;
//! - on a full volume (`ENOSPC`, `EDQUOT`) the old files are deleted,
//!   oldest first, until the line fits ([`ArchiveStats::deleted_no_space`]):
//!   the newest lines win over the oldest archives, and logging goes on
//!   instead of stopping until someone frees space. A warning goes to
//!   stderr once when writes start failing, and once when they work again;
//! - errors are counted in [`RotationStats::write_errors`] and returned;
//!   the next write tries to reopen the file. A failed rotation is counted
//!   too, but the line still goes to the current file, which keeps growing
//!   until a rotation succeeds.
//!
//! Used through `tracing_appender::non_blocking`, build the writer lossless
//! (`NonBlockingBuilder::default().lossy(false)`), or lines are dropped
//! when the channel is full. Note that `WorkerGuard`'s drop waits for the
//! worker at most ~1.1 s (tracing-appender 0.2.5), so a small
//! `buffered_lines_limit` bounds what can be left unwritten at exit.
//!
//! One concern kept whole (over 500 lines): the rotating file writer; the
//! size and daily triggers, the renaming of old files and the recovery from
//! a file moved or a directory removed share one lock and one state.

mod archive;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing_subscriber::fmt::MakeWriter;

pub use archive::ArchiveStats;
pub(crate) use archive::Clock;
use archive::{Archives, Keeper, Retention};

const SECS_PER_DAY: u64 = 86_400;

/// How long after the last failed write a write that works announces that
/// writing works again.
const RECOVERED_AFTER: Duration = Duration::from_millis(100);

/// How a log file rotates.
///
/// ```
/// use redline::logs::rotation::RotationPolicy;
///
/// let policy = RotationPolicy::default();
/// assert_eq!(policy.max_bytes, 10 * 1024 * 1024);
/// assert!(!policy.daily);
/// assert_eq!(policy.keep, 5);
/// assert!(policy.compress); // with the `log-compress` feature; ignored without
///
/// // Daily only, keeping a week of old files, at most 1 GiB of them.
/// let daily = RotationPolicy {
///     max_bytes: 0,
///     daily: true,
///     keep: 7,
///     max_total_bytes: 1 << 30,
///     ..RotationPolicy::default()
/// };
/// # let _ = daily;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Rotate before a write that would make the current file larger than
    /// this many bytes (unless the file is empty: a single line larger than
    /// this goes, whole, into a fresh file). `0` means no size limit.
    /// Default 10 MiB.
    pub max_bytes: u64,
    /// Also rotate before the first write of a new UTC day (the day of the
    /// clock differs from the day the current file was opened, or last
    /// modified for a file that existed at open). Default `false`.
    pub daily: bool,
    /// How many old files (`<file>.1` .. `<file>.<keep>`) are kept; older
    /// ones are deleted. `0` deletes the old file at each rotation.
    /// Default 5.
    pub keep: usize,
    /// Old files are deleted, oldest first, until their total size is at
    /// most this many bytes (the current file is bounded by `max_bytes`).
    /// `0` means no limit. Default 0.
    pub max_total_bytes: u64,
    /// Old files last written longer ago than this are deleted (checked at
    /// each rotation and every minute). Default `None` (no limit).
    pub max_age: Option<Duration>,
    /// Gzip old files (`<file>.N.gz`) in a background thread; writers
    /// never wait for it. Needs the `log-compress` feature: ignored
    /// without it (`REDLINE_LOG_COMPRESS=true` is refused there). Default
    /// `true`.
    pub compress: bool,
}

impl Default for RotationPolicy {
    /// 10 MiB files, no daily rotation, 5 old files kept, compressed (with
    /// the `log-compress` feature), no total size or age limit.
    ///
    /// ```
    /// use redline::logs::rotation::RotationPolicy;
    ///
    /// let policy = RotationPolicy { keep: 10, ..RotationPolicy::default() };
    /// assert_eq!(policy.max_bytes, 10 * 1024 * 1024);
    /// assert_eq!(policy.keep, 10);
    /// ```
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            daily: false,
            keep: 5,
            max_total_bytes: 0,
            max_age: None,
            compress: true,
        }
    }
}

/// What the writer has done (for the log statistics endpoint).
///
/// ```
/// use std::io::Write;
/// use redline::logs::rotation::{RotatingFile, RotationPolicy};
///
/// let dir = tempfile::tempdir()?;
/// let mut file = RotatingFile::open(dir.path().join("app.log"), RotationPolicy::default())?;
/// file.write_all(b"{\"msg\":\"hello\"}\n")?;
/// let stats = file.stats();
/// assert_eq!(stats.current_file, dir.path().join("app.log"));
/// assert_eq!(stats.current_bytes, 16);
/// assert_eq!((stats.rotations, stats.bytes_written, stats.lines_written, stats.write_errors), (0, 16, 1, 0));
/// assert!(serde_json::to_string(&stats)?.contains("\"lines_written\":1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RotationStats {
    /// The path of the file being written (old files are `<path>.N`).
    pub current_file: PathBuf,
    /// The size of the current file, including what it held when opened.
    pub current_bytes: u64,
    /// Rotations done by this writer (successful ones).
    pub rotations: u64,
    /// Bytes written by this writer (successful writes only).
    pub bytes_written: u64,
    /// Lines written by this writer: `\n` bytes in successful writes.
    pub lines_written: u64,
    /// Failed writes, reopens and rotations.
    pub write_errors: u64,
    /// The old files: how many, their size, compression and deletions.
    pub archives: ArchiveStats,
}

/// A log file that rotates by size and/or date.
///
/// A cheap, cloneable handle: every clone writes to the same file, under
/// one mutex. Implements [`std::io::Write`] (also for `&RotatingFile`) and
/// [`MakeWriter`], so it can be given to `tracing_appender::non_blocking`
/// or directly to a `tracing_subscriber::fmt` layer.
///
/// ```
/// use std::io::Write;
/// use redline::logs::rotation::{RotatingFile, RotationPolicy};
///
/// let dir = tempfile::tempdir()?;
/// let policy = RotationPolicy { max_bytes: 20, keep: 3, compress: false, ..RotationPolicy::default() };
/// let mut file = RotatingFile::open(dir.path().join("app.log"), policy)?;
/// file.write_all(b"first line, 15\n")?;
/// file.write_all(b"second line 15\n")?; // 30 > 20: rotates first
/// assert_eq!(file.stats().rotations, 1);
/// assert_eq!(std::fs::read_to_string(dir.path().join("app.log.1"))?, "first line, 15\n");
/// assert_eq!(std::fs::read_to_string(dir.path().join("app.log"))?, "second line 15\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RotatingFile {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    policy: RotationPolicy,
    clock: Clock,
    state: Mutex<State>,
    archives: Arc<Archives>,
    /// Compression and age retention, when either is on.
    keeper: Option<Keeper>,
    /// Told when writing starts failing (`true`) and works again.
    on_outage: Mutex<Option<OutageHook>>,
}

/// Called with `true` when writing starts failing, `false` when it works
/// again (outside the writer's lock).
pub(crate) type OutageHook = Arc<dyn Fn(bool) + Send + Sync>;

/// Identity of the open file, to notice that the path now names another
/// file (or none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    #[cfg(unix)]
    dev: u64,
    #[cfg(unix)]
    ino: u64,
}

impl FileId {
    fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Self {
                dev: meta.dev(),
                ino: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            Self {}
        }
    }
}

struct Open {
    file: File,
    id: FileId,
}

struct State {
    /// `None` after an error: the next write reopens.
    open: Option<Open>,
    current_bytes: u64,
    /// UTC day (`secs / 86400`) the current file belongs to.
    opened_day: u64,
    rotations: u64,
    bytes_written: u64,
    lines_written: u64,
    write_errors: u64,
    /// Writes fail: a warning was printed, and the first success
    /// [`RECOVERED_AFTER`] after the last failure says writing works again.
    failing: bool,
    last_failure: Option<std::time::Instant>,
}

impl std::fmt::Debug for RotatingFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatingFile")
            .field("path", &self.inner.path)
            .field("policy", &self.inner.policy)
            .finish_non_exhaustive()
    }
}

fn utc_day(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / SECS_PER_DAY)
        .unwrap_or(0)
}

/// Whether `e` says the volume (or the user's quota) is full.
pub(crate) fn out_of_space(e: &io::Error) -> bool {
    // ENOSPC, EDQUOT (Linux numbers; `ErrorKind::StorageFull` covers both
    // where the standard library maps them).
    e.kind() == io::ErrorKind::StorageFull || matches!(e.raw_os_error(), Some(28 | 122))
}

impl RotatingFile {
    /// Opens (appending) or creates the log file at `path`, creating its
    /// parent directories. The size of an existing file counts towards
    /// `max_bytes`; with `daily`, an existing non-empty file last modified
    /// on an earlier UTC day is rotated at the first write.
    ///
    /// ```
    /// use std::io::Write;
    /// use redline::logs::rotation::{RotatingFile, RotationPolicy};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("nested/dirs/app.log");
    /// std::fs::create_dir_all(path.parent().unwrap())?;
    /// std::fs::write(&path, "old line\n")?;
    ///
    /// let mut file = RotatingFile::open(&path, RotationPolicy::default())?;
    /// assert_eq!(file.stats().current_bytes, 9); // appended to, size counted
    /// file.write_all(b"new line\n")?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "old line\nnew line\n");
    ///
    /// // A directory is not a log file.
    /// assert!(RotatingFile::open(dir.path(), RotationPolicy::default()).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl Into<PathBuf>, policy: RotationPolicy) -> io::Result<Self> {
        Self::open_with_clock(path, policy, Arc::new(SystemTime::now))
    }

    /// [`RotatingFile::open`] with the clock used for daily rotation.
    pub(crate) fn open_with_clock(
        path: impl Into<PathBuf>,
        policy: RotationPolicy,
        clock: Clock,
    ) -> io::Result<Self> {
        let path = path.into();
        let mut state = State {
            open: None,
            current_bytes: 0,
            opened_day: 0,
            rotations: 0,
            bytes_written: 0,
            lines_written: 0,
            write_errors: 0,
            failing: false,
            last_failure: None,
        };
        let today = utc_day(clock());
        state.reopen(&path, today)?;
        let retention = Retention {
            keep: policy.keep,
            max_total_bytes: policy.max_total_bytes,
            max_age: policy.max_age,
            compress: policy.compress,
        };
        let archives = Archives::new(&path, retention, clock.clone());
        // Finishes what a crash interrupted (and applies retention).
        archives.recover();
        let keeper = if archives.needs_keeper() {
            Some(Keeper::start(archives.clone())?)
        } else {
            None
        };
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                policy,
                clock,
                state: Mutex::new(state),
                archives,
                keeper,
                on_outage: Mutex::new(None),
            }),
        })
    }

    /// What the writer has done so far.
    ///
    /// ```
    /// use std::io::Write;
    /// use redline::logs::rotation::{RotatingFile, RotationPolicy};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let file = RotatingFile::open(dir.path().join("app.log"), RotationPolicy::default())?;
    /// let mut clone = file.clone(); // clones share the file and the statistics
    /// clone.write_all(b"a\nb\n")?;
    /// assert_eq!(file.stats().lines_written, 2);
    /// assert_eq!(file.stats().bytes_written, 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> RotationStats {
        let state = self.lock();
        RotationStats {
            current_file: self.inner.path.clone(),
            current_bytes: state.current_bytes,
            rotations: state.rotations,
            bytes_written: state.bytes_written,
            lines_written: state.lines_written,
            write_errors: state.write_errors,
            archives: self.inner.archives.stats(),
        }
    }

    /// Waits until every rotated file is compressed and in place, at most
    /// `timeout`; whether it is (always true without compression). For a
    /// clean shutdown, or a test; anything left is finished at the next
    /// start anyway.
    ///
    /// ```
    /// use std::io::Write;
    /// use std::time::Duration;
    /// use redline::logs::rotation::{RotatingFile, RotationPolicy};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let policy = RotationPolicy { max_bytes: 10, ..RotationPolicy::default() };
    /// let mut file = RotatingFile::open(dir.path().join("app.log"), policy)?;
    /// file.write_all(b"0123456789\n")?;
    /// file.write_all(b"rotates\n")?;
    /// assert!(file.wait_for_archives(Duration::from_secs(10)));
    /// let first = if cfg!(feature = "log-compress") { "app.log.1.gz" } else { "app.log.1" };
    /// assert!(dir.path().join(first).exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wait_for_archives(&self, timeout: Duration) -> bool {
        self.inner.archives.wait_idle(timeout)
    }

    /// Sets what is told when writing starts failing and works again.
    pub(crate) fn on_outage(&self, hook: OutageHook) {
        *self
            .inner
            .on_outage
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(hook);
    }

    fn tell_outage(&self, failing: bool) {
        let hook = self
            .inner
            .on_outage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(hook) = hook {
            hook(failing);
        }
    }

    /// The path of the current file; old files are `<path>.1`, `<path>.2`, ...
    ///
    /// ```
    /// use redline::logs::rotation::{RotatingFile, RotationPolicy};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let file = RotatingFile::open(dir.path().join("app.log"), RotationPolicy::default())?;
    /// assert_eq!(file.path(), dir.path().join("app.log"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write_buf(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let inner = &*self.inner;
        let mut state = self.lock();
        let mut done = 0;
        let mut result = Ok(());
        while done < buf.len() {
            let part = state.part(&inner.policy, &buf[done..]);
            if let Err(e) = state.write_line(inner, &buf[done..done + part]) {
                result = Err(e);
                break;
            }
            done += part;
        }
        if done > 0 && result.is_err() {
            // A short write; the error comes back with the rest.
            result = Ok(());
        }
        let changed = match &result {
            Err(_) => {
                state.write_errors = state.write_errors.saturating_add(1);
                state.last_failure = Some(std::time::Instant::now());
                !std::mem::replace(&mut state.failing, true)
            }
            // Recovered once a write works a while after the last failure:
            // on a nearly full volume short lines can fit between failures,
            // and that is not a recovery to announce.
            Ok(()) => {
                state.failing
                    && state
                        .last_failure
                        .is_none_or(|t| t.elapsed() >= RECOVERED_AFTER)
                    && std::mem::replace(&mut state.failing, false)
            }
        };
        drop(state);
        if changed {
            // Once per outage, each way: the lines that follow a failure are
            // lost (and counted by the caller) until a write works again.
            match &result {
                Err(e) => eprintln!(
                    "redline: {}: writing log lines fails ({e}); they are lost until it works again",
                    inner.path.display()
                ),
                Ok(()) => eprintln!(
                    "redline: {}: log lines are written again",
                    inner.path.display()
                ),
            }
            self.tell_outage(result.is_err());
        }
        result.map(|()| done)
    }
}

impl State {
    /// Opens the file at `path` (appending, creating directories), taking
    /// its size, and its modification day when non-empty.
    fn reopen(&mut self, path: &Path, today: u64) -> io::Result<()> {
        self.open = None;
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("{} is a directory", path.display()),
            ));
        }
        self.current_bytes = meta.len();
        self.opened_day = match meta.modified() {
            Ok(modified) if meta.len() > 0 => utc_day(modified),
            _ => today,
        };
        self.open = Some(Open {
            file,
            id: FileId::of(&meta),
        });
        Ok(())
    }

    /// Makes sure the open file is the one at `path`: reopens after an
    /// error, or when the file was removed or moved away.
    fn ensure_open(&mut self, path: &Path, today: u64) -> io::Result<()> {
        let stale = match (&self.open, fs::metadata(path)) {
            (None, _) => true,
            (Some(open), Ok(meta)) => FileId::of(&meta) != open.id,
            // Gone, or a path component is no longer a directory.
            (Some(_), Err(e)) => e.kind() != io::ErrorKind::PermissionDenied,
        };
        if stale {
            self.reopen(path, today)?;
        }
        Ok(())
    }

    /// How much of `rest` goes into the file as one part: all of it if it
    /// fits under `max_bytes`, else the whole lines that do, else the first
    /// line (which a rotation will precede).
    fn part(&self, policy: &RotationPolicy, rest: &[u8]) -> usize {
        let room = policy.max_bytes.saturating_sub(self.current_bytes);
        if policy.max_bytes == 0 || rest.len() as u64 <= room {
            return rest.len();
        }
        let fits = &rest[..room as usize];
        match fits.iter().rposition(|&b| b == b'\n') {
            Some(end) => end + 1,
            None => rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |end| end + 1),
        }
    }

    fn needs_rotation(&self, policy: &RotationPolicy, len: u64, today: u64) -> bool {
        self.current_bytes > 0
            && ((policy.max_bytes > 0 && self.current_bytes.saturating_add(len) > policy.max_bytes)
                || (policy.daily && today != self.opened_day))
    }

    fn write_line(&mut self, inner: &Inner, buf: &[u8]) -> io::Result<()> {
        let policy = &inner.policy;
        let today = if policy.daily {
            utc_day((inner.clock)())
        } else {
            self.opened_day
        };
        self.ensure_open(&inner.path, today)?;
        let len = buf.len() as u64;
        if self.needs_rotation(policy, len, today) {
            if self.rotate(inner, today).is_err() {
                // Counted; the line still goes to the file that is open.
                self.write_errors = self.write_errors.saturating_add(1);
            }
        } else if self.current_bytes == 0 {
            // An empty file belongs to whatever day writes into it first.
            self.opened_day = today;
        }
        let Some(open) = self.open.as_mut() else {
            return Err(io::Error::other("log file not open"));
        };
        let mut written = open.file.write_all(buf);
        // A full volume: the old files go, oldest first (the order retention
        // would delete them in), until the line fits or none is left. Without
        // this a full disk ended logging for good: rotation, which prunes,
        // never runs while nothing can be written.
        while let Err(e) = &written
            && out_of_space(e)
        {
            let _ = open.file.set_len(self.current_bytes);
            if !inner.archives.drop_oldest() {
                break;
            }
            written = open.file.write_all(buf);
        }
        if let Err(e) = written {
            // Best effort: cut a partial line, then reopen at the next write.
            let _ = open.file.set_len(self.current_bytes);
            self.open = None;
            return Err(e);
        }
        self.current_bytes = self.current_bytes.saturating_add(len);
        self.bytes_written = self.bytes_written.saturating_add(len);
        let lines = buf.iter().filter(|&&b| b == b'\n').count() as u64;
        self.lines_written = self.lines_written.saturating_add(lines);
        Ok(())
    }

    /// Moves the current file out of the way (see [`Archives`]) and opens
    /// a fresh one. On error the state still has an open file (the old
    /// one) unless the fresh open failed after the rename, in which case
    /// the old handle is kept.
    fn rotate(&mut self, inner: &Inner, today: u64) -> io::Result<()> {
        inner.archives.archive_current()?;
        if let Some(keeper) = &inner.keeper {
            keeper.wake();
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&inner.path)?;
        let meta = file.metadata()?;
        self.open = Some(Open {
            file,
            id: FileId::of(&meta),
        });
        self.current_bytes = meta.len();
        self.opened_day = today;
        self.rotations = self.rotations.saturating_add(1);
        Ok(())
    }
}

impl Write for &RotatingFile {
    /// Writes the buffer to the current file (rotating first if due; a
    /// buffer of several lines is cut at line ends so that files stay
    /// within `max_bytes`) and returns its length, or the length written
    /// before a failure, or fails and counts a write error.
    ///
    /// ```
    /// use std::io::Write;
    /// use redline::logs::rotation::{RotatingFile, RotationPolicy};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let file = RotatingFile::open(dir.path().join("app.log"), RotationPolicy::default())?;
    /// let mut by_ref = &file;
    /// assert_eq!(by_ref.write(b"line\n")?, 5);
    /// by_ref.flush()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_buf(buf)
    }

    /// Nothing to do: writes are not buffered.
    ///
    /// ```
    /// use std::io::Write;
    /// use redline::logs::rotation::{RotatingFile, RotationPolicy};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let file = RotatingFile::open(dir.path().join("app.log"), RotationPolicy::default())?;
    /// (&file).flush()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for RotatingFile {
    /// Writes the buffer to the current file (rotating first if due; a
    /// buffer of several lines is cut at line ends so that files stay
    /// within `max_bytes`) and returns its length, or the length written
    /// before a failure, or fails and counts a write error. A line is
    /// never split across two files.
    ///
    /// ```
    /// use std::io::Write;
    /// use redline::logs::rotation::{RotatingFile, RotationPolicy};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let mut file = RotatingFile::open(dir.path().join("app.log"), RotationPolicy::default())?;
    /// assert_eq!(file.write(b"{\"msg\":\"ready\"}\n")?, 16);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_buf(buf)
    }

    /// Nothing to do: writes are not buffered.
    ///
    /// ```
    /// use std::io::Write;
    /// use redline::logs::rotation::{RotatingFile, RotationPolicy};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let mut file = RotatingFile::open(dir.path().join("app.log"), RotationPolicy::default())?;
    /// file.flush()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for RotatingFile {
    type Writer = RotatingFile;

    /// A clone of the handle: each formatted event is written with one
    /// `write_all`, so with one `write` call.
    ///
    /// ```
    /// use redline::logs::rotation::{RotatingFile, RotationPolicy};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let file = RotatingFile::open(dir.path().join("app.log"), RotationPolicy::default())?;
    /// let subscriber = tracing_subscriber::fmt().json().with_writer(file.clone()).finish();
    /// tracing::subscriber::with_default(subscriber, || tracing::info!(user = 7, "logged in"));
    /// let text = std::fs::read_to_string(file.path())?;
    /// assert!(text.contains("logged in"));
    /// assert_eq!(file.stats().lines_written, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    /// Uncompressed (compression has its tests in `tests/log_archives.rs`).
    fn policy(max_bytes: u64, keep: usize) -> RotationPolicy {
        RotationPolicy {
            max_bytes,
            keep,
            compress: false,
            ..RotationPolicy::default()
        }
    }

    fn rotated_name(path: &Path, k: usize) -> PathBuf {
        PathBuf::from(format!("{}.{k}", path.display()))
    }

    /// The current file and the `.N` files, oldest first, as (name, text).
    fn files_oldest_first(path: &Path) -> Vec<(PathBuf, String)> {
        let dir = path.parent().unwrap();
        let base = path.file_name().unwrap().to_str().unwrap().to_owned();
        let mut olds: Vec<usize> = Vec::new();
        let mut has_current = false;
        for entry in fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name == base {
                has_current = true;
            } else if let Some(n) = name.strip_prefix(&format!("{base}.")) {
                olds.push(
                    n.parse()
                        .unwrap_or_else(|_| panic!("unexpected file {name}")),
                );
            } else {
                panic!("unexpected file {name}");
            }
        }
        olds.sort_unstable_by(|a, b| b.cmp(a));
        // No gaps: .1 ..= .max.
        for (i, &n) in olds.iter().rev().enumerate() {
            assert_eq!(n, i + 1, "gap in old files: {olds:?}");
        }
        let mut out: Vec<(PathBuf, String)> = olds
            .iter()
            .map(|&n| {
                let p = rotated_name(path, n);
                let text = fs::read_to_string(&p).unwrap();
                (p, text)
            })
            .collect();
        if has_current {
            out.push((path.to_owned(), fs::read_to_string(path).unwrap()));
        }
        out
    }

    fn line(t: usize, i: usize) -> String {
        // ~50 bytes, self-checking: parses back only when whole.
        format!("t{t} n{i:05} padding-padding-padding-padding end\n")
    }

    /// Parses a line written by `line`, `None` if split or interleaved.
    fn parse(l: &str) -> Option<(usize, usize)> {
        let rest = l.strip_prefix('t')?;
        let (t, rest) = rest.split_once(" n")?;
        let (i, rest) = rest.split_once(' ')?;
        (rest == "padding-padding-padding-padding end").then_some(())?;
        Some((t.parse().ok()?, i.parse().ok()?))
    }

    /// Checks every (thread, i) is present once, whole, and in order per
    /// thread across files oldest-first; returns the number of lines.
    fn check_lines(files: &[(PathBuf, String)], threads: usize, per_thread: usize) {
        let mut seen = HashSet::new();
        let mut last = vec![None::<usize>; threads];
        let mut count = 0;
        for (name, text) in files {
            assert!(
                text.is_empty() || text.ends_with('\n'),
                "{name:?} ends mid-line"
            );
            for l in text.lines() {
                let (t, i) = parse(l).unwrap_or_else(|| panic!("broken line {l:?} in {name:?}"));
                assert!(t < threads && i < per_thread, "bad line {l:?}");
                assert!(seen.insert((t, i)), "duplicate line {l:?}");
                assert!(last[t].is_none_or(|p| p < i), "out of order {l:?}");
                last[t] = Some(i);
                count += 1;
            }
        }
        assert_eq!(count, threads * per_thread);
    }

    #[test]
    fn concurrent_size_rotation_loses_and_splits_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let file = RotatingFile::open(&path, policy(1000, 1000)).unwrap();
        let (threads, per_thread) = (8, 1250);
        let start = Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mut w = file.clone();
                std::thread::spawn(move || {
                    for i in 0..per_thread {
                        let l = line(t, i);
                        assert_eq!(w.write(l.as_bytes()).unwrap(), l.len());
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let elapsed = start.elapsed();
        let total = (threads * per_thread) as f64;
        eprintln!(
            "size rotation: {} lines in {elapsed:?} = {:.0} lines/s, {} rotations",
            threads * per_thread,
            total / elapsed.as_secs_f64(),
            file.stats().rotations
        );

        let files = files_oldest_first(&path);
        check_lines(&files, threads, per_thread);
        for (name, text) in &files {
            assert!(text.len() <= 1000, "{name:?} has {} bytes", text.len());
        }
        let stats = file.stats();
        assert_eq!(stats.rotations, files.len() as u64 - 1);
        assert!(stats.rotations >= 400, "{stats:?}");
        assert_eq!(stats.lines_written, total as u64);
        let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
        assert_eq!(stats.bytes_written, bytes as u64);
        assert_eq!(stats.current_bytes, files.last().unwrap().1.len() as u64);
        assert_eq!(stats.write_errors, 0);
    }

    #[test]
    fn through_lossless_non_blocking_every_line_arrives() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let file = RotatingFile::open(&path, policy(4000, 1000)).unwrap();
        let (non_blocking, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(false)
            .buffered_lines_limit(256)
            .finish(file.clone());
        let (threads, per_thread) = (8, 1000);
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mut w = non_blocking.clone();
                std::thread::spawn(move || {
                    for i in 0..per_thread {
                        w.write_all(line(t, i).as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        drop(non_blocking);
        drop(guard);
        // The guard waits for the worker at most ~1.1 s; on a loaded
        // machine give it longer before looking (fails if lines are lost).
        let deadline = Instant::now() + Duration::from_secs(20);
        while file.stats().lines_written < 8000 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let files = files_oldest_first(&path);
        check_lines(&files, threads, per_thread);
        assert!(files.iter().all(|(_, text)| text.len() <= 4000));
        let stats = file.stats();
        assert_eq!(stats.lines_written, 8000);
        assert_eq!(stats.rotations, files.len() as u64 - 1);
        assert!(stats.rotations > 50, "{stats:?}");
    }

    #[test]
    fn direct_make_writer_writes_whole_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let file = RotatingFile::open(&path, policy(2000, 100)).unwrap();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(file.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..200 {
                tracing::info!(i, "event");
            }
        });
        let files = files_oldest_first(&path);
        let mut next = 0;
        for (_, text) in &files {
            assert!(text.len() <= 2000);
            for l in text.lines() {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                assert_eq!(v["fields"]["i"], next);
                next += 1;
            }
        }
        assert_eq!(next, 200);
        assert_eq!(file.stats().rotations, files.len() as u64 - 1);
        assert!(files.len() > 5);
    }

    #[test]
    fn keep_prunes_to_n_old_files_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut file = RotatingFile::open(&path, policy(100, 2)).unwrap();
        for i in 0..6 {
            // 60 bytes: every write after the first rotates.
            let l = format!("{i}{}\n", "x".repeat(58));
            file.write_all(l.as_bytes()).unwrap();
        }
        assert_eq!(file.stats().rotations, 5);
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["app.log", "app.log.1", "app.log.2"]);
        let first_char = |p: &Path| fs::read_to_string(p).unwrap().chars().next().unwrap();
        assert_eq!(first_char(&path), '5');
        assert_eq!(first_char(&rotated_name(&path, 1)), '4');
        assert_eq!(first_char(&rotated_name(&path, 2)), '3');
    }

    #[test]
    fn keep_zero_deletes_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut file = RotatingFile::open(&path, policy(10, 0)).unwrap();
        file.write_all(b"first 0123\n").unwrap();
        file.write_all(b"second 012\n").unwrap();
        assert_eq!(file.stats().rotations, 1);
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        assert_eq!(fs::read_to_string(&path).unwrap(), "second 012\n");
    }

    #[test]
    fn old_files_left_by_a_previous_run_are_shifted_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        fs::write(rotated_name(&path, 1), "run1\n").unwrap();
        fs::write(&path, "run2\n").unwrap();
        let mut file = RotatingFile::open(&path, policy(8, 3)).unwrap();
        file.write_all(b"run3\n").unwrap();
        assert_eq!(
            fs::read_to_string(rotated_name(&path, 2)).unwrap(),
            "run1\n"
        );
        assert_eq!(
            fs::read_to_string(rotated_name(&path, 1)).unwrap(),
            "run2\n"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "run3\n");
    }

    fn fake_clock(secs: &Arc<AtomicU64>) -> Clock {
        let secs = Arc::clone(secs);
        Arc::new(move || UNIX_EPOCH + Duration::from_secs(secs.load(Ordering::SeqCst)))
    }

    #[test]
    fn daily_rotation_follows_the_injected_utc_clock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let day = 20_000 * SECS_PER_DAY;
        let secs = Arc::new(AtomicU64::new(day - 10)); // 23:59:50 UTC
        let daily = RotationPolicy {
            max_bytes: 0,
            daily: true,
            ..policy(0, 5)
        };
        let mut file = RotatingFile::open_with_clock(&path, daily, fake_clock(&secs)).unwrap();
        file.write_all(b"day1 a\n").unwrap();
        secs.store(day - 1, Ordering::SeqCst);
        file.write_all(b"day1 b\n").unwrap();
        assert_eq!(file.stats().rotations, 0);
        secs.store(day + 1, Ordering::SeqCst); // 00:00:01, next day
        file.write_all(b"day2 a\n").unwrap();
        secs.store(day + 3600, Ordering::SeqCst);
        file.write_all(b"day2 b\n").unwrap();
        assert_eq!(file.stats().rotations, 1);
        assert_eq!(
            fs::read_to_string(rotated_name(&path, 1)).unwrap(),
            "day1 a\nday1 b\n"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "day2 a\nday2 b\n");
        // max_bytes = 0: no size limit.
        file.write_all(&[b'x'; 100_000]).unwrap();
        assert_eq!(file.stats().rotations, 1);
    }

    #[test]
    fn daily_rotates_an_existing_file_from_an_earlier_day() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let now = 20_000 * SECS_PER_DAY + 3600;
        fs::write(&path, "yesterday\n").unwrap();
        let old = fs::OpenOptions::new().write(true).open(&path).unwrap();
        old.set_modified(UNIX_EPOCH + Duration::from_secs(now - SECS_PER_DAY))
            .unwrap();
        drop(old);
        let secs = Arc::new(AtomicU64::new(now));
        let daily = RotationPolicy {
            daily: true,
            ..policy(10 * 1024 * 1024, 5)
        };
        let mut file = RotatingFile::open_with_clock(&path, daily, fake_clock(&secs)).unwrap();
        file.write_all(b"today\n").unwrap();
        assert_eq!(file.stats().rotations, 1);
        assert_eq!(
            fs::read_to_string(rotated_name(&path, 1)).unwrap(),
            "yesterday\n"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "today\n");
    }

    #[test]
    fn an_existing_file_is_appended_to_and_its_size_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let existing = format!("{}\n", "e".repeat(899));
        fs::write(&path, &existing).unwrap();
        let mut file = RotatingFile::open(&path, policy(1000, 5)).unwrap();
        assert_eq!(file.stats().current_bytes, 900);
        let fifty = format!("{}\n", "a".repeat(49));
        file.write_all(fifty.as_bytes()).unwrap(); // 950
        file.write_all(fifty.as_bytes()).unwrap(); // 1000: still fits
        assert_eq!(file.stats().rotations, 0);
        file.write_all(b"b\n").unwrap(); // 1002 > 1000
        assert_eq!(file.stats().rotations, 1);
        assert_eq!(
            fs::read_to_string(rotated_name(&path, 1)).unwrap(),
            format!("{existing}{fifty}{fifty}")
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "b\n");
        assert_eq!(file.stats().current_bytes, 2);
    }

    #[test]
    fn an_oversized_line_goes_whole_into_a_fresh_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut file = RotatingFile::open(&path, policy(100, 5)).unwrap();
        let big = format!("{}\n", "B".repeat(499));
        // Into an empty file: written whole, no rotation.
        file.write_all(big.as_bytes()).unwrap();
        assert_eq!(file.stats().rotations, 0);
        file.write_all(b"small\n").unwrap();
        assert_eq!(file.stats().rotations, 1);
        file.write_all(big.as_bytes()).unwrap();
        assert_eq!(file.stats().rotations, 2);
        file.write_all(b"after\n").unwrap();
        assert_eq!(file.stats().rotations, 3);
        assert_eq!(fs::read_to_string(rotated_name(&path, 3)).unwrap(), big);
        assert_eq!(
            fs::read_to_string(rotated_name(&path, 2)).unwrap(),
            "small\n"
        );
        assert_eq!(fs::read_to_string(rotated_name(&path, 1)).unwrap(), big);
        assert_eq!(fs::read_to_string(&path).unwrap(), "after\n");
    }

    #[test]
    fn a_removed_directory_is_recreated_and_a_blocked_one_counts_errors() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let path = logs.join("app.log");
        let mut file = RotatingFile::open(&path, policy(1000, 5)).unwrap();
        file.write_all(b"one\n").unwrap();

        // Removed directory: recreated, the line is not lost in an
        // unlinked file.
        fs::remove_dir_all(&logs).unwrap();
        file.write_all(b"two\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two\n");
        assert_eq!(file.stats().write_errors, 0);
        assert_eq!(file.stats().current_bytes, 4);

        // A regular file where the directory was: errors, counted.
        fs::remove_dir_all(&logs).unwrap();
        fs::write(&logs, "not a directory").unwrap();
        assert!(file.write_all(b"three\n").is_err());
        assert!(file.write(b"four\n").is_err());
        let stats = file.stats();
        assert_eq!(stats.write_errors, 2);
        assert_eq!(stats.lines_written, 2);

        // Fixed: the next write reopens.
        fs::remove_file(&logs).unwrap();
        file.write_all(b"five\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "five\n");
        let stats = file.stats();
        assert_eq!((stats.write_errors, stats.lines_written), (2, 3));
    }

    #[test]
    fn a_file_moved_away_is_replaced_by_a_fresh_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut file = RotatingFile::open(&path, policy(1000, 5)).unwrap();
        file.write_all(b"before\n").unwrap();
        fs::rename(&path, dir.path().join("moved.log")).unwrap();
        file.write_all(b"after\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "after\n");
        assert_eq!(
            fs::read_to_string(dir.path().join("moved.log")).unwrap(),
            "before\n"
        );
    }

    #[test]
    fn a_failed_rotation_is_counted_and_loses_no_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut file = RotatingFile::open(&path, policy(10, 1)).unwrap();
        file.write_all(b"0123456789").unwrap();
        // `.1` is a non-empty directory: it can be neither removed nor
        // replaced by the rename.
        fs::create_dir(rotated_name(&path, 1)).unwrap();
        fs::write(rotated_name(&path, 1).join("x"), "x").unwrap();
        file.write_all(b"kept\n").unwrap();
        let stats = file.stats();
        assert_eq!((stats.rotations, stats.write_errors), (0, 1));
        assert_eq!(fs::read_to_string(&path).unwrap(), "0123456789kept\n");
        fs::remove_dir_all(rotated_name(&path, 1)).unwrap();
        file.write_all(b"next\n").unwrap();
        assert_eq!(file.stats().rotations, 1);
        assert_eq!(fs::read_to_string(&path).unwrap(), "next\n");
    }

    /// A buffer of many lines (what the 64 KiB line buffer hands over) is
    /// cut at line ends: every file stays within `max_bytes`, no line is
    /// split, nothing is lost.
    #[test]
    fn a_buffer_of_lines_is_cut_to_keep_files_within_max_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut file = RotatingFile::open(&path, policy(1000, 1000)).unwrap();
        let chunk: String = (0..300).map(|i| line(0, i)).collect(); // ~15 KB
        file.write_all(chunk.as_bytes()).unwrap();
        let files = files_oldest_first(&path);
        assert!(files.len() >= 15, "{}", files.len());
        for (name, text) in &files {
            assert!(text.len() <= 1000, "{name:?}: {} bytes", text.len());
        }
        check_lines(&files, 1, 300);
    }

    #[test]
    fn edge_inputs_do_not_panic() {
        let dir = tempfile::tempdir().unwrap();
        assert!(RotatingFile::open(dir.path(), RotationPolicy::default()).is_err());
        assert!(RotatingFile::open("", RotationPolicy::default()).is_err());
        let path = dir.path().join("app.log");
        let mut file = RotatingFile::open(&path, policy(1, usize::MAX)).unwrap();
        assert_eq!(file.write(b"").unwrap(), 0);
        assert_eq!(file.stats().current_bytes, 0);
        for _ in 0..3 {
            file.write_all(b"xy\n").unwrap();
        }
        assert_eq!(file.stats().rotations, 2);
        assert!(format!("{file:?}").contains("app.log"));
    }

    #[test]
    fn a_poisoned_lock_is_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let file = RotatingFile::open(&path, RotationPolicy::default()).unwrap();
        let clone = file.clone();
        let result = std::thread::spawn(move || {
            let _guard = clone.inner.state.lock().unwrap();
            panic!("poison the lock");
        })
        .join();
        assert!(result.is_err());
        assert!(file.inner.state.is_poisoned());
        (&file).write_all(b"still works\n").unwrap();
        assert_eq!(file.stats().lines_written, 1);
    }
}
