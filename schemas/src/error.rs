use std::fmt;

/// Why a value could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The buffer is shorter than the message.
    BufferTooSmall { needed: usize, available: usize },
    /// An optional field holds the value the schema reserves for "absent", so it would decode
    /// as absent (for instance `CancelAll` with `symbol: Some(u32::MAX)`).
    ReservedNull { field: &'static str },
    /// An engine enum value the schema does not define: the engine and `cex.xml` have drifted.
    NotInSchema { enumeration: &'static str, value: u64 },
    /// A group has more entries than its dimension's `numInGroup` can count.
    TooManyEntries { group: &'static str, count: usize, max: usize },
    /// Data is longer than its length prefix (or the schema's `maxValue`) allows.
    DataTooLong { field: &'static str, length: usize, max: u64 },
}

/// Why bytes are not a valid message. Every variant is a refusal; nothing is guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end before the header, the block, a group or a data element does: the
    /// message is cut short, or a count or length in it lies.
    Truncated { needed: usize, available: usize },
    /// The header names another schema.
    WrongSchema(u16),
    /// The header claims a version older than any this schema was written with.
    UnsupportedVersion(u16),
    /// No message of the expected kind (command or event) has this template id.
    UnknownTemplate(u16),
    /// The header's block length is shorter than the fields of its version need.
    BlockLengthTooShort { template_id: u16, block_length: u16, required: usize },
    /// Bytes follow the block of a message whose version defines nothing after it.
    TrailingBytes { extra: usize },
    /// An enum field holds a value the schema does not define.
    InvalidEnum { field: &'static str, value: u64 },
    /// A set field has a bit the schema does not define.
    InvalidSet { field: &'static str, value: u64 },
    /// A group's dimension declares entries shorter than the fields of its version need.
    GroupBlockLengthTooShort { group: &'static str, block_length: usize, required: usize },
    /// A data element declares a length above the schema's `maxValue`.
    DataTooLong { field: &'static str, length: usize, max: u64 },
    /// Text data that is not UTF-8.
    InvalidUtf8 { field: &'static str },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall { needed, available } => {
                write!(f, "buffer too small: the message needs {needed} bytes, the buffer has {available}")
            }
            EncodeError::ReservedNull { field } => write!(f, "{field} holds the value reserved for null"),
            EncodeError::NotInSchema { enumeration, value } => {
                write!(f, "{enumeration} value {value} is not in the schema")
            }
            EncodeError::TooManyEntries { group, count, max } => {
                write!(f, "{group}: {count} entries, at most {max} fit")
            }
            EncodeError::DataTooLong { field, length, max } => write!(f, "{field}: {length} bytes, at most {max}"),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { needed, available } => {
                write!(f, "truncated message: {needed} bytes needed, {available} present")
            }
            DecodeError::WrongSchema(id) => write!(f, "message of schema {id}, not of this schema"),
            DecodeError::UnsupportedVersion(version) => write!(f, "unsupported schema version {version}"),
            DecodeError::UnknownTemplate(id) => write!(f, "unknown template id {id}"),
            DecodeError::BlockLengthTooShort { template_id, block_length, required } => {
                write!(f, "template {template_id}: block length {block_length} is shorter than {required}")
            }
            DecodeError::TrailingBytes { extra } => write!(f, "{extra} bytes after the message"),
            DecodeError::InvalidEnum { field, value } => write!(f, "{field}: {value} is not a valid value"),
            DecodeError::InvalidSet { field, value } => write!(f, "{field}: {value:#x} sets an undefined bit"),
            DecodeError::GroupBlockLengthTooShort { group, block_length, required } => {
                write!(f, "{group}: entry block length {block_length} is shorter than {required}")
            }
            DecodeError::DataTooLong { field, length, max } => write!(f, "{field}: length {length} is above {max}"),
            DecodeError::InvalidUtf8 { field } => write!(f, "{field}: not UTF-8"),
        }
    }
}

impl std::error::Error for EncodeError {}
impl std::error::Error for DecodeError {}
