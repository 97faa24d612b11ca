use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything the journal can refuse or fail with.
#[derive(Debug)]
pub enum JournalError {
    /// A file system call failed on `path`.
    Io {
        path: PathBuf,
        source: io::Error,
    },
    /// The journal is damaged somewhere other than its tail; it will not open.
    Corrupt {
        segment: PathBuf,
        offset: u64,
        reason: CorruptReason,
    },
    /// Another writer holds the directory.
    AlreadyOpen {
        dir: PathBuf,
    },
    /// `append` was given a sequence other than `last_seq + 1`.
    OutOfSequence {
        expected: u64,
        got: u64,
    },
    /// A zero length word marks the end of data, so a record cannot be empty.
    EmptyPayload,
    /// The record would not fit in one segment.
    RecordTooLarge {
        payload: usize,
        max: usize,
    },
    InvalidConfig(&'static str),
    /// A reader asked for a sequence older than the oldest segment.
    SeqNotAvailable {
        requested: u64,
        first: u64,
    },
    /// The sync thread failed; nothing after `durable_seq` can be made durable, so appends
    /// are refused.
    SyncFailed(Arc<io::Error>),
}

/// Why a journal is [`JournalError::Corrupt`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorruptReason {
    /// A damaged record in a segment that is not the last one.
    Damaged(Damage),
    /// Damage (a bad record, or bytes after the end marker) followed by a valid record.
    ValidRecordAfterDamage { valid_at: u64 },
    /// A record, or a segment's name, breaks the gap-free sequence.
    Sequence { expected: u64, found: u64 },
    /// A segment other than the last holds no records.
    EmptySegment,
    /// The file is too short to hold a single record header.
    TooSmall { bytes: u64 },
}

/// How a record is damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage {
    /// The length word runs past the end of the segment.
    Incomplete,
    /// The checksum does not match.
    Checksum,
    /// The length word is zero but bytes after it are not: a record whose length was never
    /// published.
    Unpublished,
}

impl JournalError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Corrupt { segment, offset, reason } => {
                write!(f, "journal corrupt in {} at offset {offset}: {reason}", segment.display())
            }
            Self::AlreadyOpen { dir } => write!(f, "{} is already open by another writer", dir.display()),
            Self::OutOfSequence { expected, got } => {
                write!(f, "append out of sequence: expected {expected}, got {got}")
            }
            Self::EmptyPayload => f.write_str("a record payload cannot be empty"),
            Self::RecordTooLarge { payload, max } => {
                write!(f, "payload of {payload} bytes exceeds the {max}-byte limit")
            }
            Self::InvalidConfig(why) => write!(f, "invalid journal config: {why}"),
            Self::SeqNotAvailable { requested, first } => {
                write!(f, "sequence {requested} is older than the oldest segment, which starts at {first}")
            }
            Self::SyncFailed(source) => write!(f, "journal sync failed: {source}"),
        }
    }
}

impl fmt::Display for CorruptReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Damaged(damage) => write!(f, "{damage} record before the last segment"),
            Self::ValidRecordAfterDamage { valid_at } => write!(f, "damage followed by a valid record at {valid_at}"),
            Self::Sequence { expected, found } => write!(f, "expected sequence {expected}, found {found}"),
            Self::EmptySegment => f.write_str("empty segment before the last one"),
            Self::TooSmall { bytes } => write!(f, "segment of {bytes} bytes cannot hold a record"),
        }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Incomplete => "incomplete",
            Self::Checksum => "checksum-failing",
            Self::Unpublished => "unpublished",
        })
    }
}

impl std::error::Error for JournalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::SyncFailed(source) => Some(source.as_ref()),
            _ => None,
        }
    }
}
