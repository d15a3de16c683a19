//! The file operations of the write-ahead log, behind two small traits so that a test
//! can put a simulated disk under the log, one that forgets at a simulated power cut
//! whatever the log did not make durable. [`OsDisk`] is the real one.
//!
//! What each call promises, which the log's durability rests on:
//! - `write_at` puts bytes in the page cache: a crash of the process keeps them; a power
//!   cut or an OS crash may lose any of them, in any order, even part of a page.
//! - `sync_range` (Linux `sync_file_range`) waits until the written pages have been
//!   handed to the disk. It neither asks the disk to empty its volatile write cache nor
//!   commits the file's metadata (its size, where its blocks are), so after a power cut
//!   any of it may still be missing.
//! - `sync_data` (`fdatasync`) makes the data and the metadata needed to read it back
//!   (the size) durable, flushing the disk's write cache. `sync_all` (`fsync`) commits
//!   the rest of the metadata too.
//! - A new file's name is durable once its directory is synced with `sync_dir`.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// The directory operations of the log: where its segment files come from and go.
pub(super) trait LogDisk: Send + Sync {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Creates a file that must not exist yet, for reading and writing.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn LogFile>>;
    /// Makes the names created in or removed from `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// The paths of the entries of `dir`, in no particular order.
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    fn remove(&self, path: &Path) -> io::Result<()>;
}

/// One open segment file.
pub(super) trait LogFile: Send + Sync {
    /// Reserves blocks for the first `len` bytes, growing the file to `len`; they read
    /// as zeros.
    fn allocate(&self, len: u64) -> io::Result<()>;
    /// Writes all of `bytes` at `offset`, growing the file if it ends before.
    fn write_at(&self, offset: u64, bytes: &[u8]) -> io::Result<()>;
    /// Cuts the file (or grows it with zeros) to `len` bytes.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Starts writing dirty pages out without waiting for them.
    fn start_writeback(&self) -> io::Result<()>;
    /// Waits until every page written so far has been handed to the disk.
    fn sync_range(&self) -> io::Result<()>;
    /// `fdatasync`: the data and its size survive a power cut.
    fn sync_data(&self) -> io::Result<()>;
    /// `fsync`: also every other change to the file's metadata.
    fn sync_all(&self) -> io::Result<()>;
}

/// The operating system's file system.
pub(super) struct OsDisk;

impl LogDisk for OsDisk {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn LogFile>> {
        let file = OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(path)?;
        Ok(Box::new(file))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        std::fs::read_dir(dir)?
            .map(|entry| entry.map(|entry| entry.path()))
            .collect()
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
}

impl LogFile for File {
    /// Asks for the blocks in one go, so that they tend to be contiguous and a full disk
    /// shows now rather than halfway through writing zeros.
    #[cfg(target_os = "linux")]
    fn allocate(&self, len: u64) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let len = libc::off_t::try_from(len).map_err(io::Error::other)?;
        // SAFETY: the descriptor belongs to `self`, which outlives the call; no memory
        // is passed.
        if unsafe { libc::fallocate(self.as_raw_fd(), 0, 0, len) } == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        if error.raw_os_error() == Some(libc::EOPNOTSUPP) {
            // Writing the zeros allocates the blocks all the same.
            return Ok(());
        }
        Err(error)
    }

    #[cfg(not(target_os = "linux"))]
    fn allocate(&self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }

    #[cfg(unix)]
    fn write_at(&self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(self, bytes, offset)
    }

    #[cfg(not(unix))]
    fn write_at(&self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = self;
        file.seek(SeekFrom::Start(offset))?;
        file.write_all(bytes)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }

    /// Lets the disk work while the writer inserts the batch into sled, so that the
    /// flusher's sync mostly finds the pages written.
    #[cfg(target_os = "linux")]
    fn start_writeback(&self) -> io::Result<()> {
        sync_file_range(self, libc::SYNC_FILE_RANGE_WRITE)
    }

    #[cfg(not(target_os = "linux"))]
    fn start_writeback(&self) -> io::Result<()> {
        Ok(())
    }

    #[cfg(target_os = "linux")]
    fn sync_range(&self) -> io::Result<()> {
        let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER;
        match sync_file_range(self, flags) {
            Err(error) if error.raw_os_error() == Some(libc::ENOSYS) => File::sync_data(self),
            synced => synced,
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn sync_range(&self) -> io::Result<()> {
        File::sync_data(self)
    }

    fn sync_data(&self) -> io::Result<()> {
        File::sync_data(self)
    }

    fn sync_all(&self) -> io::Result<()> {
        File::sync_all(self)
    }
}

#[cfg(target_os = "linux")]
fn sync_file_range(file: &File, flags: libc::c_uint) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor belongs to `file`, which outlives the call; offset 0 with
    // length 0 means "to the end of the file"; no memory is passed.
    let result = unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, flags) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
