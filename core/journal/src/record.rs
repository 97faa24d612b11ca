//! The record layout, little endian, each record padded to 8 bytes:
//!
//! ```text
//! 0   length: u32        payload bytes; 0 marks the end of written data
//! 4   crc32c: u32        over bytes 8..24 + length (sequence, timestamp, payload)
//! 8   sequence: u64
//! 16  timestamp_ns: u64
//! 24  payload
//! ```

use std::sync::atomic::{fence, AtomicU32, Ordering};

use crate::error::Damage;

/// Bytes before the payload.
pub const HEADER_BYTES: usize = 24;
/// Every record starts on this boundary, so the length word can be accessed atomically.
pub const ALIGN: usize = 8;
/// The checksum covers everything from the sequence to the end of the payload.
const CRC_START: usize = 8;

/// One record, borrowed from a segment mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub seq: u64,
    pub timestamp_ns: u64,
    pub payload: &'a [u8],
}

/// Bytes a record with this payload occupies, padding included.
pub const fn record_bytes(payload_len: usize) -> usize {
    (HEADER_BYTES + payload_len + ALIGN - 1) & !(ALIGN - 1)
}

/// What lies at one offset of a segment.
pub(crate) enum Slot<'a> {
    /// A zero length word, or no room left for a header: nothing is written here.
    Empty,
    /// A complete record with a matching checksum, and the offset of the next one.
    Valid { record: Record<'a>, next: usize },
    /// A non-zero length word whose record is incomplete or fails its checksum.
    Damaged(Damage),
}

/// Reads the slot at `offset` of a segment the caller has exclusive or stable access to.
pub(crate) fn slot(segment: &[u8], offset: usize) -> Slot<'_> {
    let Some(rest) = segment.get(offset..).filter(|rest| rest.len() >= HEADER_BYTES) else {
        return Slot::Empty;
    };
    match u32::from_le_bytes(word(rest, 0)) {
        0 => Slot::Empty,
        len => match check(len, rest) {
            Ok(record) => Slot::Valid { record, next: offset + record_bytes(len as usize) },
            Err(damage) => Slot::Damaged(damage),
        },
    }
}

/// Checks the record whose length word is `len`; `bytes` starts at the record and may end
/// anywhere at or after its payload.
pub(crate) fn check(len: u32, bytes: &[u8]) -> Result<Record<'_>, Damage> {
    let end = HEADER_BYTES + len as usize;
    if end > bytes.len() {
        return Err(Damage::Incomplete);
    }
    if crc32c::crc32c(&bytes[CRC_START..end]) != u32::from_le_bytes(word(bytes, 4)) {
        return Err(Damage::Checksum);
    }
    Ok(decode(bytes, end))
}

/// The fields of a record already known to be valid, whose payload ends at `end`.
pub(crate) fn decode(bytes: &[u8], end: usize) -> Record<'_> {
    Record {
        seq: u64::from_le_bytes(dword(bytes, 8)),
        timestamp_ns: u64::from_le_bytes(dword(bytes, 16)),
        payload: &bytes[HEADER_BYTES..end],
    }
}

/// Writes a record into `dst` (exactly `record_bytes(payload.len())` zeroed bytes) except
/// its length word, which the caller publishes last with [`publish_len`].
pub(crate) fn encode_unpublished(dst: &mut [u8], seq: u64, timestamp_ns: u64, payload: &[u8]) {
    let end = HEADER_BYTES + payload.len();
    dst[8..16].copy_from_slice(&seq.to_le_bytes());
    dst[16..24].copy_from_slice(&timestamp_ns.to_le_bytes());
    dst[HEADER_BYTES..end].copy_from_slice(payload);
    let crc = crc32c::crc32c(&dst[CRC_START..end]);
    dst[4..8].copy_from_slice(&crc.to_le_bytes());
}

/// Stores the length word with Release, making the record visible to readers in one step.
///
/// # Safety
/// `word` must be 4-byte aligned, valid for writes, and not accessed by other threads of
/// this process except through atomics.
pub(crate) unsafe fn publish_len(word: *mut u8, len: u32) {
    // SAFETY: the caller guarantees alignment, validity and atomic-only sharing.
    let atomic = unsafe { AtomicU32::from_ptr(word.cast()) };
    atomic.store(len.to_le(), Ordering::Release);
}

/// Loads a length word published by [`publish_len`], with Acquire semantics: once it reads
/// non-zero, the rest of that record is visible.
///
/// # Safety
/// `word` must be 4-byte aligned, valid for reads, and not written by this process except
/// through atomics. The memory may be read-only: the load itself is Relaxed (register-sized
/// relaxed loads are the atomic accesses Rust allows on read-only memory) and the Acquire
/// comes from the fence after it.
pub(crate) unsafe fn load_len(word: *const u8) -> u32 {
    // SAFETY: the caller guarantees alignment, validity and atomic-only writes.
    let atomic = unsafe { AtomicU32::from_ptr(word.cast_mut().cast()) };
    let len = atomic.load(Ordering::Relaxed);
    fence(Ordering::Acquire);
    u32::from_le(len)
}

fn word(bytes: &[u8], at: usize) -> [u8; 4] {
    bytes[at..at + 4].try_into().expect("4 bytes")
}

fn dword(bytes: &[u8], at: usize) -> [u8; 8] {
    bytes[at..at + 8].try_into().expect("8 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(seq: u64, ts: u64, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0; record_bytes(payload.len()) + 16];
        encode_unpublished(&mut buf, seq, ts, payload);
        buf[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        buf
    }

    #[test]
    fn sizes_are_padded_to_eight() {
        assert_eq!(record_bytes(1), 32);
        assert_eq!(record_bytes(8), 32);
        assert_eq!(record_bytes(9), 40);
    }

    #[test]
    fn round_trip() {
        let buf = encoded(7, 99, b"hello");
        let Slot::Valid { record, next } = slot(&buf, 0) else { panic!("not valid") };
        assert_eq!(record, Record { seq: 7, timestamp_ns: 99, payload: b"hello" });
        assert_eq!(next, 32);
        assert!(matches!(slot(&buf, next), Slot::Empty));
    }

    #[test]
    fn damage_is_classified() {
        let mut buf = encoded(7, 99, b"hello");
        buf[HEADER_BYTES] ^= 1;
        assert!(matches!(slot(&buf, 0), Slot::Damaged(Damage::Checksum)));
        buf[..4].copy_from_slice(&1000u32.to_le_bytes());
        assert!(matches!(slot(&buf, 0), Slot::Damaged(Damage::Incomplete)));
    }

    #[test]
    fn published_length_reads_back() {
        let mut words = [0u64; 1];
        let word = words.as_mut_ptr().cast::<u8>();
        // SAFETY: a u64 array is 8-aligned and valid for 8 bytes; only this thread uses it.
        unsafe {
            publish_len(word, 3);
            assert_eq!(load_len(word), 3);
        }
    }
}
