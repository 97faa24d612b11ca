//! The runtime of the generated codecs: bounds-checked reads, writes into a buffer the encoder
//! has sized, and the header and block-length rules of `README.md`. Offsets and lengths all
//! come from the generated code; nothing here knows a message's layout.

use crate::{DecodeError, EncodeError};

/// The first version any cex schema was written with. An older version in a header means the
/// bytes were not written by a cex encoder.
pub const FIRST_VERSION: u16 = 1;

/// The standard SBE message header. Its layout (the order of the four fields) comes from the
/// schema's `messageHeader` composite; the generated `read_header` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageHeader {
    /// Bytes of the root block after the header.
    pub block_length: u16,
    pub template_id: u16,
    pub schema_id: u16,
    /// The version the message was written with.
    pub version: u16,
}

/// `N` bytes at `offset`, or `Truncated` when `bytes` ends first.
pub(crate) fn read<const N: usize>(bytes: &[u8], offset: usize) -> Result<[u8; N], DecodeError> {
    let end = offset.saturating_add(N);
    let slice = bytes.get(offset..end).and_then(|slice| slice.try_into().ok());
    slice.ok_or(DecodeError::Truncated { needed: end, available: bytes.len() })
}

/// Writes `value` at `offset`. The encoder claimed the whole message first and the generator
/// laid every field out inside it, so the range is always in bounds.
pub(crate) fn write<const N: usize>(bytes: &mut [u8], offset: usize, value: [u8; N]) {
    bytes[offset..offset + N].copy_from_slice(&value);
}

/// The first `length` bytes of `buf`, zeroed so that padding is deterministic.
pub(crate) fn claim(buf: &mut [u8], length: usize) -> Result<&mut [u8], EncodeError> {
    let available = buf.len();
    let bytes = buf.get_mut(..length).ok_or(EncodeError::BufferTooSmall { needed: length, available })?;
    bytes.fill(0);
    Ok(bytes)
}

/// Refuses another schema, and versions older than any that was written. Newer versions pass:
/// their blocks only grow, and `block` skips what this code does not know.
pub(crate) fn check_schema(header: &MessageHeader, schema_id: u16) -> Result<(), DecodeError> {
    if header.schema_id != schema_id {
        return Err(DecodeError::WrongSchema(header.schema_id));
    }
    if header.version < FIRST_VERSION {
        return Err(DecodeError::UnsupportedVersion(header.version));
    }
    Ok(())
}

/// The message up to the end of its block, as the header declares it. The block must hold
/// the `required` bytes of fields the header's version has. Bytes after the block are refused
/// unless the message is of a newer version, which may append groups or data this code does
/// not know.
pub(crate) fn block<'a>(
    bytes: &'a [u8],
    header: &MessageHeader,
    header_length: usize,
    required: usize,
    schema_version: u16,
) -> Result<&'a [u8], DecodeError> {
    if usize::from(header.block_length) < required {
        let (template_id, block_length) = (header.template_id, header.block_length);
        return Err(DecodeError::BlockLengthTooShort { template_id, block_length, required });
    }
    let end = header_length + usize::from(header.block_length);
    let message = bytes.get(..end).ok_or(DecodeError::Truncated { needed: end, available: bytes.len() })?;
    if bytes.len() > end && header.version <= schema_version {
        return Err(DecodeError::TrailingBytes { extra: bytes.len() - end });
    }
    Ok(message)
}

/// The raw value of an optional field: `null` when absent.
pub(crate) fn or_null<T: PartialEq>(value: Option<T>, null: T, field: &'static str) -> Result<T, EncodeError> {
    match value {
        Some(value) if value == null => Err(EncodeError::ReservedNull { field }),
        Some(value) => Ok(value),
        None => Ok(null),
    }
}

pub(crate) fn non_null<T: PartialEq>(raw: T, null: T) -> Option<T> {
    (raw != null).then_some(raw)
}

pub(crate) fn enum_value<R: Copy + Into<u64>, E>(
    raw: R,
    from_raw: fn(R) -> Option<E>,
    field: &'static str,
) -> Result<E, DecodeError> {
    from_raw(raw).ok_or(DecodeError::InvalidEnum { field, value: raw.into() })
}

pub(crate) fn optional_enum<R: Copy + Into<u64> + PartialEq, E>(
    raw: R,
    null: R,
    from_raw: fn(R) -> Option<E>,
    field: &'static str,
) -> Result<Option<E>, DecodeError> {
    if raw == null {
        return Ok(None);
    }
    enum_value(raw, from_raw, field).map(Some)
}
