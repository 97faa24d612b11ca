//! Recovery: torn tails are cut, damage anywhere else refuses the open.

mod common;

use std::fs;
use std::path::Path;

use cex_journal::{CorruptReason, Damage, Durability, JournalError, JournalWriter, RecoveryReport};
use common::*;

const N: u64 = 60;

fn reopen(dir: &Path) -> Result<(JournalWriter, RecoveryReport), JournalError> {
    JournalWriter::open(dir, config(Durability::Mmap))
}

fn last_segment(dir: &Path) -> std::path::PathBuf {
    segments(dir).pop().unwrap()
}

/// After a drop, the writer continues at the right sequence and everything reads back.
fn assert_continues(dir: &Path, mut writer: JournalWriter, kept: u64) {
    assert_eq!(writer.last_seq(), kept);
    assert!(matches!(writer.append(kept + 2, 0, b"x"), Err(JournalError::OutOfSequence { .. })));
    append_range(&mut writer, kept + 1, kept + 5);
    drop(writer);
    let (_, report) = reopen(dir).unwrap();
    assert_eq!((report.last_seq, report.dropped_tail), (kept + 5, None));
    assert_eq!(read_back(dir, 1), (1..=kept + 5).collect::<Vec<_>>());
}

#[test]
fn a_torn_tail_at_every_byte_offset_is_cut() {
    let probe = tempfile::tempdir().unwrap();
    write_journal(probe.path(), N);
    let last = *spans(&last_segment(probe.path())).last().unwrap();
    assert!(!last.payload_len.is_multiple_of(256), "the length word's low byte must be non-zero");

    for cut in 0..last.padded() {
        let dir = tempfile::tempdir().unwrap();
        write_journal(dir.path(), N);
        let segment = last_segment(dir.path());
        edit(&segment, |bytes| bytes[last.offset + cut..].fill(0));

        let (writer, report) = reopen(dir.path()).unwrap();
        let intact = cut >= last.body();
        let kept = if intact { N } else { N - 1 };
        assert_eq!((report.last_seq, report.records), (kept, kept), "cut at {cut}");
        match report.dropped_tail {
            Some(tail) => {
                assert!(cut > 0 && !intact, "cut at {cut}: unexpected drop");
                assert_eq!((tail.segment.as_path(), tail.offset), (segment.as_path(), last.offset as u64));
                assert_eq!(tail.damage, Damage::Checksum);
                assert!(report.dropped_bytes > 0 && report.dropped_bytes <= cut as u64);
            }
            None => assert!(cut == 0 || intact, "cut at {cut}: the torn record was not reported"),
        }
        if !intact {
            assert!(fs::read(&segment).unwrap()[last.offset..].iter().all(|&b| b == 0), "tail zeroed");
        }
        assert_continues(dir.path(), writer, kept);
    }
}

#[test]
fn a_flipped_byte_in_the_last_record_is_a_torn_tail() {
    let probe = tempfile::tempdir().unwrap();
    write_journal(probe.path(), N);
    let last = *spans(&last_segment(probe.path())).last().unwrap();

    for at in 0..last.body() {
        let dir = tempfile::tempdir().unwrap();
        write_journal(dir.path(), N);
        edit(&last_segment(dir.path()), |bytes| bytes[last.offset + at] ^= 0xFF);

        let (writer, report) = reopen(dir.path()).unwrap();
        assert_eq!(report.last_seq, N - 1, "flip at {at}");
        let tail = report.dropped_tail.expect("dropped");
        assert_eq!(tail.offset, last.offset as u64);
        assert!(matches!(tail.damage, Damage::Checksum | Damage::Incomplete));
        assert_continues(dir.path(), writer, N - 1);
    }
}

#[test]
fn a_flipped_byte_in_a_middle_record_of_the_last_segment_is_corrupt() {
    let probe = tempfile::tempdir().unwrap();
    write_journal(probe.path(), N);
    let spans = spans(&last_segment(probe.path()));
    assert!(spans.len() >= 2, "the last segment needs a record before its last");
    let victim = spans[spans.len() - 2];

    for at in 0..victim.body() {
        let dir = tempfile::tempdir().unwrap();
        write_journal(dir.path(), N);
        edit(&last_segment(dir.path()), |bytes| bytes[victim.offset + at] ^= 0xFF);
        match reopen(dir.path()) {
            Err(JournalError::Corrupt { offset, reason: CorruptReason::ValidRecordAfterDamage { .. }, .. }) => {
                assert_eq!(offset, victim.offset as u64, "flip at {at}");
            }
            other => panic!("flip at {at}: {:?}", other.map(|(_, report)| report)),
        }
    }
}

#[test]
fn a_flipped_byte_in_an_earlier_segment_is_corrupt() {
    let probe = tempfile::tempdir().unwrap();
    write_journal(probe.path(), N);
    let victim = spans(&segments(probe.path())[1])[2];

    for at in 0..victim.body() {
        let dir = tempfile::tempdir().unwrap();
        write_journal(dir.path(), N);
        edit(&segments(dir.path())[1], |bytes| bytes[victim.offset + at] ^= 0xFF);
        match reopen(dir.path()) {
            Err(JournalError::Corrupt { offset, reason: CorruptReason::Damaged(_), .. }) => {
                assert_eq!(offset, victim.offset as u64, "flip at {at}");
            }
            other => panic!("flip at {at}: {:?}", other.map(|(_, report)| report)),
        }
    }
}

#[test]
fn a_missing_segment_is_a_sequence_gap() {
    let dir = tempfile::tempdir().unwrap();
    write_journal(dir.path(), N);
    let files = segments(dir.path());
    let after_gap = spans(&files[1]).len() as u64 + spans(&files[0]).len() as u64 + 1;
    fs::remove_file(&files[1]).unwrap();
    match reopen(dir.path()) {
        Err(JournalError::Corrupt { segment, reason: CorruptReason::Sequence { expected, found }, .. }) => {
            assert_eq!(segment, files[2]);
            assert_eq!((expected, found), (spans(&files[0]).len() as u64 + 1, after_gap));
        }
        other => panic!("{:?}", other.map(|(_, report)| report)),
    }
}

#[test]
fn a_segment_must_follow_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    write_journal(dir.path(), N);
    let last = last_segment(dir.path());
    let first: u64 = last.file_stem().unwrap().to_str().unwrap().parse().unwrap();
    fs::rename(&last, dir.path().join(format!("{:020}.journal", first + 1))).unwrap();
    assert!(matches!(
        reopen(dir.path()),
        Err(JournalError::Corrupt { offset: 0, reason: CorruptReason::Sequence { expected, found }, .. })
            if expected == first && found == first + 1
    ));
}

#[test]
fn a_segment_must_start_with_the_sequence_in_its_name() {
    let dir = tempfile::tempdir().unwrap();
    write_journal(dir.path(), N);
    let renamed = dir.path().join(format!("{:020}.journal", 2));
    fs::rename(&segments(dir.path())[0], &renamed).unwrap();
    match reopen(dir.path()) {
        Err(JournalError::Corrupt {
            segment,
            offset: 0,
            reason: CorruptReason::Sequence { expected: 2, found: 1 },
        }) => {
            assert_eq!(segment, renamed);
        }
        other => panic!("{:?}", other.map(|(_, report)| report)),
    }
}

#[test]
fn an_unpublished_record_after_the_end_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    write_journal(dir.path(), N);
    let segment = last_segment(dir.path());
    let last = *spans(&segment).last().unwrap();
    let end = last.offset + last.padded();
    // A crash after writing a record's body but before publishing its length.
    edit(&segment, |bytes| bytes[end + 8..end + 40].fill(0xAB));
    let (writer, report) = reopen(dir.path()).unwrap();
    let tail = report.dropped_tail.expect("dropped");
    assert_eq!((tail.offset, tail.damage, report.dropped_bytes), (end as u64, Damage::Unpublished, 40));
    assert_continues(dir.path(), writer, N);
}

#[test]
fn a_valid_record_after_an_end_marker_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    write_journal(dir.path(), N);
    let segment = last_segment(dir.path());
    let spans = spans(&segment);
    // Zero the length word of the last record but one: a hole followed by a valid record.
    edit(&segment, |bytes| bytes[spans[spans.len() - 2].offset..][..4].fill(0));
    assert!(matches!(
        reopen(dir.path()),
        Err(JournalError::Corrupt { reason: CorruptReason::ValidRecordAfterDamage { valid_at }, .. })
            if valid_at == spans[spans.len() - 1].offset as u64
    ));
}

#[test]
fn a_half_created_segment_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    write_journal(dir.path(), N);
    let tmp = dir.path().join(format!("{:020}.journal.tmp", N + 1));
    fs::write(&tmp, [0u8; 100]).unwrap();
    let (writer, report) = reopen(dir.path()).unwrap();
    assert_eq!(report.last_seq, N);
    assert!(!tmp.exists());
    assert_continues(dir.path(), writer, N);
}

#[test]
fn an_empty_last_segment_is_where_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    write_journal(dir.path(), N);
    // A crash right after a rollover created the next segment.
    fs::write(dir.path().join(format!("{:020}.journal", N + 1)), vec![0u8; SEGMENT_BYTES as usize]).unwrap();
    let (writer, report) = reopen(dir.path()).unwrap();
    assert_eq!((report.last_seq, report.dropped_tail), (N, None));
    assert_continues(dir.path(), writer, N);
}
