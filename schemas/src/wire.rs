//! The runtime of the generated codecs: bounds-checked reads, writes into a buffer the encoder
//! has sized, the header and block-length rules of `README.md`, and the cursor that walks a
//! message's groups and data. Offsets and lengths all come from the generated code; nothing
//! here knows a message's layout.

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
    let (message, cursor) = root(bytes, header, header_length, required)?;
    cursor.finish(header.version, schema_version)?;
    Ok(message)
}

/// The header and root block, and a cursor after them for the groups and data.
pub(crate) fn root<'a>(
    bytes: &'a [u8],
    header: &MessageHeader,
    header_length: usize,
    required: usize,
) -> Result<(&'a [u8], Cursor<'a>), DecodeError> {
    if usize::from(header.block_length) < required {
        let (template_id, block_length) = (header.template_id, header.block_length);
        return Err(DecodeError::BlockLengthTooShort { template_id, block_length, required });
    }
    let end = header_length + usize::from(header.block_length);
    let message = bytes.get(..end).ok_or(DecodeError::Truncated { needed: end, available: bytes.len() })?;
    Ok((message, Cursor { bytes, position: end }))
}

/// Walks the parts after the root block, in order: each group's dimension and entries, then
/// each data element's length and bytes. Every step checks the lengths it reads against the
/// bytes that are there, so a lying count or length is an error before anything reads it.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    /// The next `length` bytes.
    pub(crate) fn take(&mut self, length: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.position.saturating_add(length);
        let taken = self.bytes.get(self.position..end);
        let taken = taken.ok_or(DecodeError::Truncated { needed: end, available: self.bytes.len() })?;
        self.position = end;
        Ok(taken)
    }

    /// A group's `count` entries of `block_length` bytes each, after its dimension. An entry
    /// must hold the `required` bytes of fields its version has.
    pub(crate) fn entries(
        &mut self,
        block_length: usize,
        count: usize,
        required: usize,
        group: &'static str,
    ) -> Result<Entries<'a>, DecodeError> {
        if block_length < required {
            return Err(DecodeError::GroupBlockLengthTooShort { group, block_length, required });
        }
        let bytes = self.take(block_length.saturating_mul(count))?;
        Ok(Entries { bytes, block_length, count })
    }

    /// A data element's `length` bytes, after its length prefix; at most `max`.
    pub(crate) fn data(&mut self, length: usize, max: u64, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if length as u64 > max {
            return Err(DecodeError::DataTooLong { field, length, max });
        }
        self.take(length)
    }

    /// Bytes after the last part are refused unless the message is of a newer version, which
    /// may append groups or data this code does not know.
    pub(crate) fn finish(self, version: u16, schema_version: u16) -> Result<(), DecodeError> {
        if self.bytes.len() > self.position && version <= schema_version {
            return Err(DecodeError::TrailingBytes { extra: self.bytes.len() - self.position });
        }
        Ok(())
    }
}

/// A group's entries: `count` blocks of `block_length` bytes, every one inside `bytes`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entries<'a> {
    bytes: &'a [u8],
    block_length: usize,
    count: usize,
}

impl<'a> Entries<'a> {
    /// A group the message's version does not have.
    #[allow(dead_code)] // generated only for groups added after their message
    pub(crate) const EMPTY: Entries<'static> = Entries { bytes: &[], block_length: 0, count: 0 };

    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Entry `index`'s block; `None` past the last.
    pub(crate) fn entry(&self, index: usize) -> Option<&'a [u8]> {
        if index >= self.count {
            return None;
        }
        let start = index * self.block_length;
        self.bytes.get(start..start + self.block_length)
    }
}

/// A length prefix as a `usize`; one that does not fit is `usize::MAX`, which no buffer holds.
pub(crate) fn length<T: TryInto<usize>>(value: T) -> usize {
    value.try_into().unwrap_or(usize::MAX)
}

/// Text data: UTF-8, checked.
pub(crate) fn utf8<'a>(bytes: &'a [u8], field: &'static str) -> Result<&'a str, DecodeError> {
    std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 { field })
}

/// A group's entry count, which the dimension holds in a `uint16`.
pub(crate) fn entry_count(count: usize, group: &'static str) -> Result<u16, EncodeError> {
    u16::try_from(count).map_err(|_| EncodeError::TooManyEntries { group, count, max: usize::from(u16::MAX) })
}

/// A data element's length: at most `max`, the schema's `maxValue` or the length type's range.
pub(crate) fn data_length(length: usize, max: u64, field: &'static str) -> Result<usize, EncodeError> {
    if length as u64 > max {
        return Err(EncodeError::DataTooLong { field, length, max });
    }
    Ok(length)
}

/// Copies `data` to `offset`; the encoder claimed room for it.
pub(crate) fn write_slice(bytes: &mut [u8], offset: usize, data: &[u8]) {
    bytes[offset..offset + data.len()].copy_from_slice(data);
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

pub(crate) fn set_value<R: Copy + Into<u64>, S>(
    raw: R,
    from_raw: fn(R) -> Option<S>,
    field: &'static str,
) -> Result<S, DecodeError> {
    from_raw(raw).ok_or(DecodeError::InvalidSet { field, value: raw.into() })
}
