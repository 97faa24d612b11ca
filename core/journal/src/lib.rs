//! The append-only journal: commands are appended before their effects show, and the
//! engine's output events go into a second journal of the same format. Payloads are opaque
//! bytes. Format, durability modes, recovery rules and reader semantics: `README.md`.

mod config;
mod durable;
mod error;
mod origin;
mod reader;
mod record;
mod recovery;
mod segment;
mod snapshots;
mod sync;
mod uring;
mod verify;
mod writer;

pub use config::{Durability, FsyncWriter, JournalConfig};
pub use durable::{DurableConfig, DurableEngine, DurableError, SnapshotPolicy, Stage, StageProbe, Startup};
pub use error::{CorruptReason, Damage, JournalError};
pub use origin::{
    decode_command_record, decode_events, decode_events_into, encode_command_record, encode_events, Origin,
    MAX_COMMAND_RECORD_BYTES, ORIGIN_BYTES,
};
pub use reader::JournalReader;
pub use record::{record_bytes, Record, HEADER_BYTES};
pub use recovery::{DroppedTail, RecoveryReport};
pub use snapshots::{LoadedSnapshot, SkippedSnapshot, SnapshotStore};
pub use sync::{DurableWatcher, FileSyncer, SyncRange, Syncer};
pub use uring::io_uring_support;
pub use verify::verify;
pub use writer::JournalWriter;
