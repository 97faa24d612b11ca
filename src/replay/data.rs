//! The data directory, opened for reading only.

use std::fs;
use std::path::{Path, PathBuf};

use cex_engine::{Command, Engine, EngineConfig, Event};
use cex_journal::{decode_command_record, decode_events, Origin, Record, SnapshotStore};

use super::Failure;

/// Journal segment files end so; anything else in a journal directory is not a segment.
const SEGMENT_SUFFIX: &str = ".journal";

pub(crate) struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory at `root`, which must hold both journal directories.
    pub fn open(root: &Path) -> Result<DataDir, Failure> {
        for journal in ["commands", "events"] {
            if !root.join(journal).is_dir() {
                let why = format!("{} is not a data directory: it has no {journal}/", root.display());
                return Err(Failure::Unusable(why));
            }
        }
        Ok(DataDir { root: root.to_path_buf() })
    }

    pub fn commands(&self) -> PathBuf {
        self.root.join("commands")
    }

    pub fn events(&self) -> PathBuf {
        self.root.join("events")
    }

    pub fn snapshot_path(&self, seq: u64) -> PathBuf {
        self.root.join("snapshots").join(format!("{seq:020}.snapshot"))
    }

    /// The snapshot store, if the directory has one. `SnapshotStore::open` creates a
    /// missing directory, so it is only called on one that exists.
    pub fn snapshots(&self) -> Result<Option<SnapshotStore>, Failure> {
        let dir = self.root.join("snapshots");
        if !dir.is_dir() {
            return Ok(None);
        }
        // `keep` only matters when writing, which this store never does.
        Ok(Some(SnapshotStore::open(dir, 1)?))
    }

    /// Sequences of the snapshot files present, oldest first.
    pub fn snapshot_seqs(&self) -> Result<Vec<u64>, Failure> {
        match self.snapshots()? {
            Some(store) => Ok(store.list()?),
            None => Ok(Vec::new()),
        }
    }
}

/// The engine config snapshots are restored and commands replayed with (see
/// `ENGINE_CONFIG_NOTE`).
pub(crate) fn engine_config() -> EngineConfig {
    EngineConfig::default()
}

/// The engine of the snapshot at `seq`, or why it is unusable.
pub(crate) fn restore_snapshot(store: &SnapshotStore, seq: u64) -> Result<Engine, String> {
    let bytes = store.load(seq)?;
    let engine = Engine::restore(engine_config(), &bytes).map_err(|error| error.to_string())?;
    if engine.last_seq() != seq {
        return Err(format!("it holds the state after command {}", engine.last_seq()));
    }
    Ok(engine)
}

/// The segment files of a journal directory and their sizes, oldest first.
pub(crate) fn segment_files(dir: &Path) -> Result<Vec<(PathBuf, u64)>, Failure> {
    let unreadable = |error: std::io::Error| Failure::Unusable(format!("{}: {error}", dir.display()));
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        if entry.file_name().to_string_lossy().ends_with(SEGMENT_SUFFIX) {
            files.push((entry.path(), entry.metadata().map_err(unreadable)?.len()));
        }
    }
    files.sort();
    Ok(files)
}

pub(crate) fn command(record: &Record) -> Result<(Origin, Command), Failure> {
    decode_command_record(record.payload)
        .map_err(|error| Failure::Damaged(format!("command record {} does not decode: {error}", record.seq)))
}

/// The events of one event record, each checked to belong to the record's command.
pub(crate) fn events(record: &Record) -> Result<Vec<Event>, Failure> {
    let seq = record.seq;
    let (_, events) = decode_events(record.payload)
        .map_err(|error| Failure::Damaged(format!("event record {seq} does not decode: {error}")))?;
    match events.iter().find(|event| event.txid != seq) {
        Some(event) => Err(Failure::Damaged(format!("event record {seq} holds an event of command {}", event.txid))),
        None => Ok(events),
    }
}
