//! Steps 1 to 4 of the module docs of `archive`: gzip in the keeper's
//! thread, through a temp file that is synced and renamed.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::Archives;

impl Archives {
    /// Compresses and installs every pending file, oldest first.
    pub(super) fn compress_pending(&self) {
        for (_, path, gz) in self.pending() {
            let done = if gz {
                path
            } else {
                match self.compress_one(&path) {
                    Ok(done) => done,
                    Err(_) => {
                        // Kept, uncompressed, for the next round; a later
                        // file must not be installed before this one.
                        self.lock().compress_errors += 1;
                        break;
                    }
                }
            };
            let mut stats = self.lock();
            if self.install(&mut stats, &done, true).is_err() {
                stats.compress_errors += 1;
                break;
            }
            self.retain(&mut stats);
        }
    }

    /// Steps 1 to 3 for one pending file: the path of its complete `.gz`.
    fn compress_one(&self, src: &Path) -> io::Result<PathBuf> {
        use std::io::Write;
        let mut gz_name = OsString::from(src.as_os_str());
        gz_name.push(".gz");
        let done = PathBuf::from(gz_name);
        let mut tmp_name = done.clone().into_os_string();
        tmp_name.push(".tmp");
        let tmp = PathBuf::from(tmp_name);
        let result = (|| {
            let mut input = fs::File::open(src)?;
            let meta = input.metadata()?;
            let out = fs::File::create(&tmp)?;
            let mut encoder = flate2::write::GzEncoder::new(
                io::BufWriter::with_capacity(64 * 1024, out),
                flate2::Compression::default(),
            );
            let read = io::copy(&mut input, &mut encoder)?;
            let mut out = encoder.finish()?.into_inner().map_err(|e| e.into_error())?;
            out.flush()?;
            // The archive keeps the time of its last line (age retention).
            if let Ok(modified) = meta.modified() {
                let _ = out.set_modified(modified);
            }
            out.sync_all()?;
            let written = out.metadata()?.len();
            fs::rename(&tmp, &done)?;
            Ok((read, written))
        })();
        match result {
            Ok((read, written)) => {
                // The `.gz` is complete: losing the source now loses nothing.
                fs::remove_file(src)?;
                let mut stats = self.lock();
                stats.compressed += 1;
                stats.compressed_bytes_in += read;
                stats.compressed_bytes_out += written;
                Ok(done)
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(e)
            }
        }
    }
}
