//! Log archives: rotated files compressed in the background, every line
//! present once after decompression, and a crash in the middle of a
//! compression (a real process, killed) loses nothing and leaves no
//! half-written archive.
#![cfg(feature = "log-compress")]

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use redline::logs::rotation::{RotatingFile, RotationPolicy};

fn policy(max_bytes: u64, keep: usize) -> RotationPolicy {
    RotationPolicy {
        max_bytes,
        keep,
        compress: true,
        ..RotationPolicy::default()
    }
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The text of `app.log.N.gz` (oldest first), then of `app.log`; fails
/// on any other name, a gap in the numbers, or a `.gz` that does not
/// decompress whole.
fn all_text(path: &Path) -> String {
    let dir = path.parent().unwrap();
    let base = path.file_name().unwrap().to_str().unwrap();
    let mut numbers = Vec::new();
    for name in names(dir) {
        if name == base {
            continue;
        }
        let n = name
            .strip_prefix(&format!("{base}."))
            .and_then(|r| r.strip_suffix(".gz"))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("unexpected file {name}: {:?}", names(dir)));
        numbers.push(n);
    }
    numbers.sort_unstable();
    assert!(
        numbers.iter().enumerate().all(|(i, n)| *n == i + 1),
        "gap in {numbers:?}"
    );
    let mut text = String::new();
    for n in numbers.iter().rev() {
        let file = std::fs::File::open(dir.join(format!("{base}.{n}.gz"))).unwrap();
        flate2::read::MultiGzDecoder::new(file)
            .read_to_string(&mut text)
            .unwrap_or_else(|e| panic!("{base}.{n}.gz does not decompress: {e}"));
    }
    if path.exists() {
        text.push_str(&std::fs::read_to_string(path).unwrap());
    }
    text
}

/// Checks that every `(writer, i)` line for `i < per_writer[writer]` is
/// there once, whole, in order per writer.
fn check_lines(text: &str, per_writer: &[usize]) {
    let mut seen = HashSet::new();
    let mut last = vec![None::<usize>; per_writer.len()];
    for line in text.lines() {
        let (w, i) = line
            .strip_prefix("w")
            .and_then(|r| r.split_once(" n"))
            .and_then(|(w, r)| Some((w.parse::<usize>().ok()?, r.get(..6)?.parse::<usize>().ok()?)))
            .unwrap_or_else(|| panic!("broken line {line:?}"));
        assert!(line.ends_with(" end"), "cut line {line:?}");
        assert!(seen.insert((w, i)), "line twice: {line:?}");
        assert!(last[w].is_none_or(|p| p < i), "out of order: {line:?}");
        last[w] = Some(i);
    }
    for (w, &n) in per_writer.iter().enumerate() {
        for i in 0..n {
            assert!(seen.contains(&(w, i)), "writer {w} line {i} is missing");
        }
    }
}

/// A line that compresses poorly (so that compression takes a while) and
/// checks itself.
fn line(w: usize, i: usize) -> String {
    let mut x = (w as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i as u64);
    let noise: String = (0..6)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("{x:016x}")
        })
        .collect();
    format!("w{w} n{i:06} {noise} end\n")
}

#[test]
fn eight_writers_across_rotations_every_line_once_after_decompression() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    // ~130-byte lines, 64 KiB files: about 25 rotations, all kept.
    let file = RotatingFile::open(&path, policy(64 * 1024, 100)).unwrap();
    let (writers, per_writer) = (8, 1_500);
    let threads: Vec<_> = (0..writers)
        .map(|w| {
            let mut file = file.clone();
            std::thread::spawn(move || {
                for i in 0..per_writer {
                    file.write_all(line(w, i).as_bytes()).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(file.wait_for_archives(Duration::from_secs(60)));
    let stats = file.stats();
    assert!(stats.rotations >= 10, "{stats:?}");
    let archives = &stats.archives;
    assert_eq!(archives.compressed, stats.rotations, "{stats:?}");
    assert_eq!((archives.pending, archives.compress_errors), (0, 0));
    assert_eq!(archives.count, stats.rotations);
    assert!(
        archives.compressed_bytes_out < archives.compressed_bytes_in,
        "{archives:?}"
    );
    check_lines(&all_text(&path), &[per_writer; 8]);
}

#[test]
fn retention_by_count_and_total_size_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let policy = RotationPolicy {
        max_total_bytes: 40 * 1024,
        ..policy(16 * 1024, 6)
    };
    let mut file = RotatingFile::open(&path, policy).unwrap();
    for i in 0..3_000 {
        file.write_all(line(0, i).as_bytes()).unwrap();
    }
    assert!(file.wait_for_archives(Duration::from_secs(60)));
    let archives = file.stats().archives;
    assert!(archives.count <= 6, "{archives:?}");
    assert!(archives.bytes <= 40 * 1024, "{archives:?}");
    assert!(
        archives.deleted_count + archives.deleted_size > 0,
        "{archives:?}"
    );
    // What is kept is the newest, contiguous up to the last line.
    let text = all_text(&path);
    let numbers: Vec<usize> = text.lines().map(|l| l[4..10].parse().unwrap()).collect();
    assert_eq!(*numbers.last().unwrap(), 2_999);
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1));
}

/// The crash states of the module docs, made by hand: each is finished at
/// open, in rotation order, without a duplicate or a loss.
#[test]
fn what_a_crash_leaves_is_finished_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let gz = |text: &str| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let lines = |from: usize, to: usize| (from..to).map(|i| line(0, i)).collect::<String>();
    let p = |n: u32, suffix: &str| dir.path().join(format!("app.log.pending-{n:039}{suffix}"));
    // Installed before the crash.
    std::fs::write(dir.path().join("app.log.1.gz"), gz(&lines(0, 10))).unwrap();
    // Compressed, source deleted, not yet installed.
    std::fs::write(p(1, ".gz"), gz(&lines(10, 20))).unwrap();
    // Compressed, source not yet deleted.
    std::fs::write(p(2, ""), lines(20, 30)).unwrap();
    std::fs::write(p(2, ".gz"), gz(&lines(20, 30))).unwrap();
    // Killed while compressing: a half-written temp file.
    std::fs::write(p(3, ""), lines(30, 40)).unwrap();
    std::fs::write(p(3, ".gz.tmp"), &gz(&lines(30, 40))[..20]).unwrap();
    // Rotated, not yet compressed.
    std::fs::write(p(4, ""), lines(40, 50)).unwrap();
    // The current file.
    std::fs::write(&path, lines(50, 60)).unwrap();
    let file = RotatingFile::open(&path, policy(1 << 20, 10)).unwrap();
    assert!(file.wait_for_archives(Duration::from_secs(30)));
    assert_eq!(
        names(dir.path()),
        [
            "app.log",
            "app.log.1.gz",
            "app.log.2.gz",
            "app.log.3.gz",
            "app.log.4.gz",
            "app.log.5.gz"
        ]
    );
    check_lines(&all_text(&path), &[60]);
}

const CHILD_DIR: &str = "REDLINE_TEST_ARCHIVE_CHILD_DIR";

/// The process the next test kills: writes numbered lines through a
/// compressing `RotatingFile` until killed (bounded: 60 s). Does nothing
/// unless started by that test.
#[test]
fn child_writes_until_killed() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let path = dir.join("logs/app.log");
    // 24 MiB files of poorly compressible lines: each compression takes a
    // good part of a second.
    let mut file = RotatingFile::open(&path, policy(24 << 20, 10)).unwrap();
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < Duration::from_secs(60) {
        file.write_all(line(0, i).as_bytes()).unwrap();
        i += 1;
        if i % 1_000 == 0 {
            // Progress for the parent: every line before it is on disk
            // (written whole: renamed into place).
            std::fs::write(dir.join("progress.tmp"), i.to_string()).unwrap();
            std::fs::rename(dir.join("progress.tmp"), dir.join("progress")).unwrap();
        }
    }
}

#[test]
fn a_process_killed_mid_compression_loses_nothing() {
    let top = tempfile::tempdir().unwrap();
    let logs = top.path().join("logs");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writes_until_killed", "--nocapture"])
        .env(CHILD_DIR, top.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(50);
    let mut killed_mid_compression = false;
    while Instant::now() < deadline {
        if logs.exists() && names(&logs).iter().any(|n| n.ends_with(".gz.tmp")) {
            child.kill().unwrap();
            killed_mid_compression = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    if !killed_mid_compression {
        child.kill().unwrap();
    }
    child.wait().unwrap();
    assert!(
        killed_mid_compression,
        "no compression seen in progress: {:?}",
        names(&logs)
    );
    let left = names(&logs);
    assert!(
        !left.iter().any(|n| n.starts_with("app.log.1")),
        "the archive was not installed yet: {left:?}"
    );
    let progress: usize = std::fs::read_to_string(top.path().join("progress"))
        .unwrap()
        .parse()
        .unwrap();
    // The next start finishes the work.
    let path = logs.join("app.log");
    let file = RotatingFile::open(&path, policy(24 << 20, 10)).unwrap();
    assert!(file.wait_for_archives(Duration::from_secs(60)));
    let text = all_text(&path);
    let numbers: Vec<usize> = text.lines().map(|l| l[4..10].parse().unwrap()).collect();
    assert!(numbers.len() >= progress, "{} < {progress}", numbers.len());
    assert!(
        numbers.iter().enumerate().all(|(i, n)| i == *n),
        "every line once, in order"
    );
    check_lines(&text, &[numbers.len()]);
    eprintln!(
        "killed mid-compression after {} lines; all {} recovered ({left:?})",
        progress,
        numbers.len()
    );
}
