//! The io_uring `Fsync` writer: rollover, recovery of a torn group, and readers in other
//! threads, on the same file format as the memory-mapped writer.

mod common;

use std::fs;
use std::path::Path;
use std::thread;
use std::time::Duration;

use cex_journal::{Damage, Durability, FsyncWriter, JournalConfig, JournalReader, JournalWriter, RecoveryReport};
use common::*;

fn uring_config(segment_bytes: u64) -> JournalConfig {
    JournalConfig { segment_bytes, durability: Durability::Fsync, fsync_writer: FsyncWriter::Uring }
}

/// Opens with the io_uring writer, or `None` (and says so) where the host has no io_uring.
fn open_uring(dir: &Path, segment_bytes: u64) -> Option<(JournalWriter, RecoveryReport)> {
    let (writer, report) = JournalWriter::open(dir, uring_config(segment_bytes)).unwrap();
    if let Some(why) = writer.uring_unavailable() {
        eprintln!("skipped: io_uring is unavailable here ({why})");
        return None;
    }
    assert_eq!(writer.fsync_writer(), Some(FsyncWriter::Uring));
    Some((writer, report))
}

/// The sequence of the first record in a segment file.
fn first_record_seq(path: &Path) -> u64 {
    u64::from_le_bytes(fs::read(path).unwrap()[8..16].try_into().unwrap())
}

#[test]
fn records_roll_over_into_segments_named_by_their_first_sequence() {
    const N: u64 = 3_000;
    let dir = tempfile::tempdir().unwrap();
    let Some((mut writer, _)) = open_uring(dir.path(), SEGMENT_BYTES) else { return };
    let watcher = writer.watcher();
    append_range(&mut writer, 1, N);
    assert!(watcher.wait_for(N, Duration::from_secs(60)).unwrap());
    writer.close().unwrap();

    let files = segments(dir.path());
    assert!(files.len() > 100, "{} segments", files.len());
    for file in &files {
        assert_eq!(fs::metadata(file).unwrap().len(), SEGMENT_BYTES, "{} is preallocated", file.display());
        let named: u64 = file.file_stem().unwrap().to_str().unwrap().parse().unwrap();
        assert_eq!(first_record_seq(file), named, "{}", file.display());
    }
    assert_eq!(read_back(dir.path(), 1), (1..=N).collect::<Vec<_>>());

    // Either writer continues the other's files.
    let (mut mmap, report) = JournalWriter::open(dir.path(), config(Durability::Mmap)).unwrap();
    assert_eq!((report.last_seq, report.dropped_tail), (N, None));
    append_range(&mut mmap, N + 1, N + 50);
    mmap.close().unwrap();
    let (mut writer, report) = open_uring(dir.path(), SEGMENT_BYTES).unwrap();
    assert_eq!((report.last_seq, writer.durable_seq()), (N + 50, N + 50));
    append_range(&mut writer, N + 51, N + 100);
    writer.close().unwrap();
    assert_eq!(read_back(dir.path(), 1), (1..=N + 100).collect::<Vec<_>>());
}

/// A crash while a group is being written back can leave any prefix of it on disk, and
/// garbage or zeros after: recovery keeps the whole records before the tear, and the io_uring
/// writer appends after them.
#[test]
fn a_torn_group_is_cut_at_its_last_whole_record() {
    const DURABLE: u64 = 40;
    const GROUP: u64 = 30;
    let probe = tempfile::tempdir().unwrap();
    if open_uring(probe.path(), 1 << 20).is_none() {
        return;
    }
    for torn in DURABLE + 1..=DURABLE + GROUP {
        for garbage in [0u8, 0xA5] {
            let dir = tempfile::tempdir().unwrap();
            let (mut writer, _) = open_uring(dir.path(), 1 << 20).unwrap();
            append_range(&mut writer, 1, DURABLE);
            writer.close().unwrap();
            let (mut writer, _) = open_uring(dir.path(), 1 << 20).unwrap();
            append_range(&mut writer, DURABLE + 1, DURABLE + GROUP);
            writer.close().unwrap();

            let segment = segments(dir.path()).pop().unwrap();
            let span = spans(&segment)[torn as usize - 1];
            let group_end = spans(&segment).last().map(|last| last.offset + last.padded()).unwrap();
            edit(&segment, |bytes| bytes[span.offset + span.body() / 2..group_end].fill(garbage));

            let (mut writer, report) = open_uring(dir.path(), 1 << 20).unwrap();
            let kept = torn - 1;
            assert!(kept >= DURABLE);
            assert_eq!((report.last_seq, writer.durable_seq()), (kept, kept), "torn at {torn}, {garbage:#x}");
            let tail = report.dropped_tail.expect("the torn record is reported");
            assert_eq!(tail.offset, span.offset as u64);
            assert_eq!(tail.damage, Damage::Checksum, "torn at {torn}, {garbage:#x}");
            append_range(&mut writer, kept + 1, kept + 10);
            writer.close().unwrap();
            assert_eq!(read_back(dir.path(), 1), (1..=kept + 10).collect::<Vec<_>>());
        }
    }
}

/// Readers map the segments; the io_uring writer writes through the descriptor. Both go
/// through the page cache, so readers in other threads see every record once, in order.
#[test]
fn tailing_readers_see_what_the_io_uring_writer_wrote() {
    const N: u64 = 30_000;
    let dir = tempfile::tempdir().unwrap();
    let Some((mut writer, _)) = open_uring(dir.path(), 8192) else { return };
    let tail = |from: u64| {
        let path = dir.path().to_path_buf();
        thread::spawn(move || {
            let mut reader = JournalReader::open(&path, from).unwrap();
            let mut expected = from;
            while expected <= N {
                match reader.try_next().unwrap() {
                    Some(record) => {
                        assert_eq!(record.seq, expected);
                        assert_eq!(record.payload, payload(expected).as_slice());
                        expected += 1;
                    }
                    None => thread::yield_now(),
                }
            }
            assert!(reader.next().is_none());
            expected - from
        })
    };
    let readers = [tail(1), tail(N / 2)];
    append_range(&mut writer, 1, N);
    let counts: Vec<u64> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    writer.close().unwrap();
    assert_eq!(counts, [N, N - N / 2 + 1]);
}

/// Dropping the writer without `close` still makes every appended record durable.
#[test]
fn dropping_the_writer_drains_the_staged_records() {
    let dir = tempfile::tempdir().unwrap();
    let Some((mut writer, _)) = open_uring(dir.path(), SEGMENT_BYTES) else { return };
    let watcher = writer.watcher();
    append_range(&mut writer, 1, 500);
    drop(writer);
    assert_eq!(watcher.durable_seq(), 500);
    assert_eq!(read_back(dir.path(), 1), (1..=500).collect::<Vec<_>>());
}
