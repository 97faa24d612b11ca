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
}

/// Why bytes are not a valid message. Every variant is a refusal; nothing is guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end before the header or the block does.
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
        }
    }
}

impl std::error::Error for EncodeError {}
impl std::error::Error for DecodeError {}
