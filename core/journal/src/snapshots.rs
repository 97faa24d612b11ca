//! Snapshot files: the engine's state at a sequence, written atomically and kept K deep.
//!
//! A file is `{seq:020}.snapshot`: magic `CEXSNPF1`, the sequence (u64), the payload length
//! (u64), the payload's CRC32C (u32), then the payload (the engine's own snapshot bytes,
//! which carry their own state hash). It is written to a temporary name, synced, renamed
//! and the directory synced, so a crash leaves either the old set or the new one. Loading
//! takes the newest file whose header and checksum hold, and reports the ones it skipped.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::JournalError;

const MAGIC: &[u8; 8] = b"CEXSNPF1";
const HEADER_BYTES: usize = 8 + 8 + 8 + 4;
const SUFFIX: &str = ".snapshot";

/// A snapshot file that was found but not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedSnapshot {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug)]
pub struct LoadedSnapshot {
    pub seq: u64,
    pub payload: Vec<u8>,
    /// Newer files that were damaged and passed over.
    pub skipped: Vec<SkippedSnapshot>,
}

/// The snapshot directory. Writing and pruning happen off the engine thread.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    dir: PathBuf,
    keep: usize,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io { path: path.to_path_buf(), source }
}

impl SnapshotStore {
    /// A store in `dir` (created if missing) that keeps the newest `keep` snapshots.
    pub fn open(dir: impl Into<PathBuf>, keep: usize) -> Result<SnapshotStore, JournalError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        if keep == 0 {
            return Err(JournalError::InvalidConfig("snapshots to keep must be at least 1"));
        }
        Ok(SnapshotStore { dir, keep })
    }

    pub(crate) fn path_for(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("{seq:020}{SUFFIX}"))
    }

    /// Writes the snapshot taken after command `seq`, durably, then prunes old ones.
    pub fn write(&self, seq: u64, payload: &[u8]) -> Result<PathBuf, JournalError> {
        let path = self.path_for(seq);
        let temporary = path.with_extension("snapshot.tmp");
        let mut file = File::create(&temporary).map_err(io_error(&temporary))?;
        let mut header = Vec::with_capacity(HEADER_BYTES);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&seq.to_le_bytes());
        header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        header.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
        file.write_all(&header).map_err(io_error(&temporary))?;
        file.write_all(payload).map_err(io_error(&temporary))?;
        file.sync_all().map_err(io_error(&temporary))?;
        fs::rename(&temporary, &path).map_err(io_error(&path))?;
        File::open(&self.dir).and_then(|dir| dir.sync_all()).map_err(io_error(&self.dir))?;
        self.prune()?;
        Ok(path)
    }

    /// Sequences of the snapshot files present, oldest first.
    pub fn list(&self) -> Result<Vec<u64>, JournalError> {
        let mut seqs = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_error(&self.dir))? {
            let name = entry.map_err(io_error(&self.dir))?.file_name();
            let name = name.to_string_lossy();
            if let Some(seq) = name.strip_suffix(SUFFIX).and_then(|stem| stem.parse::<u64>().ok()) {
                seqs.push(seq);
            }
        }
        seqs.sort_unstable();
        Ok(seqs)
    }

    fn prune(&self) -> Result<(), JournalError> {
        let seqs = self.list()?;
        for seq in &seqs[..seqs.len().saturating_sub(self.keep)] {
            let path = self.path_for(*seq);
            fs::remove_file(&path).map_err(io_error(&path))?;
        }
        Ok(())
    }

    /// The newest snapshot whose file is intact, if any.
    pub fn load_newest(&self) -> Result<Option<LoadedSnapshot>, JournalError> {
        let mut skipped = Vec::new();
        for seq in self.list()?.into_iter().rev() {
            let path = self.path_for(seq);
            match read_snapshot(&path, seq) {
                Ok(payload) => return Ok(Some(LoadedSnapshot { seq, payload, skipped })),
                Err(reason) => skipped.push(SkippedSnapshot { path, reason }),
            }
        }
        Ok(None)
    }

    /// The snapshot taken at `seq`, if its file is intact: a fallback when a newer
    /// snapshot's contents turn out unusable.
    pub fn load(&self, seq: u64) -> Result<Vec<u8>, String> {
        read_snapshot(&self.path_for(seq), seq)
    }
}

fn read_snapshot(path: &Path, seq: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    File::open(path).and_then(|mut file| file.read_to_end(&mut bytes)).map_err(|e| e.to_string())?;
    if bytes.len() < HEADER_BYTES || &bytes[..8] != MAGIC {
        return Err("not a snapshot file".to_string());
    }
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let (recorded_seq, length) = (word(8), word(16));
    let crc = u32::from_le_bytes(bytes[24..28].try_into().expect("4 bytes"));
    if recorded_seq != seq {
        return Err(format!("file name says sequence {seq}, header says {recorded_seq}"));
    }
    let payload = &bytes[HEADER_BYTES..];
    if payload.len() as u64 != length {
        return Err(format!("payload is {} bytes, header says {length}", payload.len()));
    }
    if crc32c::crc32c(payload) != crc {
        return Err("checksum mismatch".to_string());
    }
    Ok(payload.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_k_and_skips_damaged_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::open(dir.path(), 2).unwrap();
        for seq in [10, 20, 30] {
            store.write(seq, format!("state at {seq}").as_bytes()).unwrap();
        }
        assert_eq!(store.list().unwrap(), vec![20, 30]);
        let newest = store.load_newest().unwrap().unwrap();
        assert_eq!((newest.seq, newest.payload.as_slice()), (30, b"state at 30".as_slice()));

        let path = dir.path().join(format!("{:020}.snapshot", 30));
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, bytes).unwrap();
        let fallback = store.load_newest().unwrap().unwrap();
        assert_eq!(fallback.seq, 20);
        assert_eq!(fallback.skipped.len(), 1);
        assert_eq!(fallback.skipped[0].reason, "checksum mismatch");
    }

    #[test]
    fn an_empty_store_has_no_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::open(dir.path(), 3).unwrap();
        assert!(store.load_newest().unwrap().is_none());
        assert!(SnapshotStore::open(dir.path(), 0).is_err());
    }
}
