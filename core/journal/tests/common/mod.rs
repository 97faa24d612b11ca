//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use cex_journal::{record_bytes, Durability, JournalConfig, JournalReader, JournalWriter, HEADER_BYTES};

/// Small segments, so a few hundred records roll over many times.
pub const SEGMENT_BYTES: u64 = 1024;

pub fn config(durability: Durability) -> JournalConfig {
    JournalConfig { segment_bytes: SEGMENT_BYTES, durability, ..JournalConfig::default() }
}

pub fn timestamp(seq: u64) -> u64 {
    1_700_000_000_000_000_000 + seq * 1_000
}

/// 1..=97 bytes, none of them zero, so zeroing any suffix of a record changes it.
pub fn payload(seq: u64) -> Vec<u8> {
    let len = 1 + (seq * 7_919 % 97) as usize;
    (0..len).map(|i| ((seq as usize + i) % 255 + 1) as u8).collect()
}

/// Appends records `first..=last`.
pub fn append_range(writer: &mut JournalWriter, first: u64, last: u64) {
    for seq in first..=last {
        writer.append(seq, timestamp(seq), &payload(seq)).unwrap();
    }
}

/// A fresh journal holding records `1..=n`, written in `Mmap` mode.
pub fn write_journal(dir: &Path, n: u64) {
    let (mut writer, report) = JournalWriter::open(dir, config(Durability::Mmap)).unwrap();
    assert_eq!(report.last_seq, 0);
    append_range(&mut writer, 1, n);
    writer.close().unwrap();
}

/// Reads every record from `from` on and checks each is the one the helpers wrote.
pub fn read_back(dir: &Path, from: u64) -> Vec<u64> {
    let mut reader = JournalReader::open(dir, from).unwrap();
    let mut seqs = Vec::new();
    while let Some(record) = reader.try_next().unwrap() {
        assert_eq!(record.timestamp_ns, timestamp(record.seq));
        assert_eq!(record.payload, payload(record.seq).as_slice());
        seqs.push(record.seq);
    }
    seqs
}

/// Segment files, oldest first.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "journal"))
        .collect();
    paths.sort();
    paths
}

/// Where a record sits in a segment file.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    pub offset: usize,
    pub payload_len: usize,
}

impl Span {
    /// Header and payload, without padding.
    pub fn body(&self) -> usize {
        HEADER_BYTES + self.payload_len
    }

    pub fn padded(&self) -> usize {
        record_bytes(self.payload_len)
    }
}

/// The records of one segment file, found by following the length words.
pub fn spans(path: &Path) -> Vec<Span> {
    let bytes = fs::read(path).unwrap();
    let mut spans = Vec::new();
    let mut offset = 0;
    while offset + HEADER_BYTES <= bytes.len() {
        let len = u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        spans.push(Span { offset, payload_len: len });
        offset += record_bytes(len);
    }
    spans
}

pub fn edit(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = fs::read(path).unwrap();
    let len = bytes.len();
    f(&mut bytes);
    assert_eq!(bytes.len(), len, "edits keep the segment size");
    fs::write(path, bytes).unwrap();
}
