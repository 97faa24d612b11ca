//! Segment files: `{first_seq:020}.journal`, fixed size, preallocated, memory-mapped.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use memmap2::{MmapMut, MmapOptions, MmapRaw};

use crate::error::JournalError;

const SUFFIX: &str = ".journal";
/// A segment is built under this name and renamed into place once it has its full size, so
/// a reader never maps a half-created file.
const TMP_SUFFIX: &str = ".journal.tmp";
const DIGITS: usize = 20;
const LOCK_FILE: &str = "writer.lock";

/// A segment file found in the journal directory.
#[derive(Clone, Debug)]
pub(crate) struct SegmentFile {
    pub first_seq: u64,
    pub path: PathBuf,
}

pub(crate) fn file_name(first_seq: u64) -> String {
    format!("{first_seq:020}{SUFFIX}")
}

pub(crate) fn path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(file_name(first_seq))
}

fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segments in `dir`, oldest first. Other files are ignored.
pub(crate) fn list(dir: &Path) -> Result<Vec<SegmentFile>, JournalError> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(JournalError::io(dir))? {
        let path = entry.map_err(JournalError::io(dir))?.path();
        if let Some(first_seq) = path.file_name().and_then(|n| n.to_str()).and_then(parse_name) {
            segments.push(SegmentFile { first_seq, path });
        }
    }
    segments.sort_unstable_by_key(|s| s.first_seq);
    Ok(segments)
}

/// Takes the directory's writer lock, held as long as the returned file is open: a second
/// writer would interleave its records with ours.
pub(crate) fn lock_dir(dir: &Path) -> Result<File, JournalError> {
    let path = dir.join(LOCK_FILE);
    let file =
        OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(JournalError::io(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(JournalError::AlreadyOpen { dir: dir.to_path_buf() }),
        Err(TryLockError::Error(e)) => Err(JournalError::io(&path)(e)),
    }
}

/// Deletes segments a crashed writer left half-created.
pub(crate) fn remove_temporaries(dir: &Path) -> Result<(), JournalError> {
    for entry in fs::read_dir(dir).map_err(JournalError::io(dir))? {
        let path = entry.map_err(JournalError::io(dir))?.path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(TMP_SUFFIX)) {
            fs::remove_file(&path).map_err(JournalError::io(&path))?;
        }
    }
    Ok(())
}

/// Creates the segment starting at `first_seq`, preallocated to `len` zero bytes, and maps it.
pub(crate) fn create(dir: &Path, first_seq: u64, len: usize) -> Result<(File, MmapMut), JournalError> {
    let file = create_file(dir, first_seq, len)?;
    let map = map_mut(&file).map_err(JournalError::io(path(dir, first_seq)))?;
    Ok((file, map))
}

/// Creates the segment starting at `first_seq`, preallocated to `len` zero bytes, open for
/// reading and writing but not mapped.
pub(crate) fn create_file(dir: &Path, first_seq: u64, len: usize) -> Result<File, JournalError> {
    let file = create_unnamed(dir, first_seq, len)?;
    let (tmp, final_path) = (tmp_name(first_seq), path(dir, first_seq));
    fs::rename(dir.join(tmp), &final_path).map_err(JournalError::io(&final_path))?;
    Ok(file)
}

/// The name a segment is built under, relative to its directory.
pub(crate) fn tmp_name(first_seq: u64) -> String {
    format!("{first_seq:020}{TMP_SUFFIX}")
}

/// Builds the segment starting at `first_seq` under its temporary name ([`tmp_name`]), for
/// the caller to rename into place ([`file_name`]) once it may be seen.
pub(crate) fn create_unnamed(dir: &Path, first_seq: u64, len: usize) -> Result<File, JournalError> {
    let tmp = dir.join(tmp_name(first_seq));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(JournalError::io(&tmp))?;
    preallocate(&file, len).map_err(JournalError::io(&tmp))?;
    Ok(file)
}

/// Maps an existing segment read-write, for the writer.
pub(crate) fn open_mut(path: &Path) -> Result<(File, MmapMut), JournalError> {
    let file = OpenOptions::new().read(true).write(true).open(path).map_err(JournalError::io(path))?;
    let map = map_mut(&file).map_err(JournalError::io(path))?;
    Ok((file, map))
}

/// Maps an existing segment read-only, for readers; `None` if it does not exist (yet).
pub(crate) fn open_raw(path: &Path) -> Result<Option<MmapRaw>, JournalError> {
    match File::open(path) {
        Ok(file) => MmapOptions::new().map_raw_read_only(&file).map(Some).map_err(JournalError::io(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(JournalError::io(path)(e)),
    }
}

fn map_mut(file: &File) -> io::Result<MmapMut> {
    // SAFETY: MmapMut hands out `&mut [u8]` over the file, which is sound only if nothing
    // else changes the file under it. Within the journal's contract the writer is the only
    // process that writes segments (readers map them read-only) and no one truncates a
    // segment while it is mapped, so the mapping stays valid and only this writer mutates it.
    unsafe { MmapOptions::new().map_mut(file) }
}

/// Reserves `len` bytes of disk for `file` so appends never fail for lack of space midway
/// through a segment; falls back to a sparse `set_len` where the file system refuses.
fn preallocate(file: &File, len: usize) -> io::Result<()> {
    let off_len = libc::off_t::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: fallocate only reads its integer arguments; the descriptor is open and owned
    // by `file` for the duration of the call.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, off_len) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL) => file.set_len(len as u64),
        _ => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(file_name(42), "00000000000000000042.journal");
        assert_eq!(parse_name(&file_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_name("42.journal"), None);
        assert_eq!(parse_name("0000000000000000004x.journal"), None);
        assert_eq!(parse_name("00000000000000000042.journal.tmp"), None);
    }
}
