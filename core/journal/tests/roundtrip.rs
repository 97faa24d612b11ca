//! Appending across rollovers, reading back, tailing a live writer, and the `None` mode.

mod common;

use std::thread;

use cex_journal::{Durability, JournalError, JournalReader, JournalWriter};
use common::*;

#[test]
fn records_survive_rollovers_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    write_journal(dir.path(), 500);
    let files = segments(dir.path());
    assert!(files.len() > 10, "only {} segments", files.len());
    assert!(files.iter().all(|f| f.metadata().unwrap().len() == SEGMENT_BYTES));
    assert_eq!(read_back(dir.path(), 1), (1..=500).collect::<Vec<_>>());

    let (mut writer, report) = JournalWriter::open(dir.path(), config(Durability::Mmap)).unwrap();
    assert_eq!((report.last_seq, report.records, report.segments), (500, 500, files.len()));
    assert_eq!((report.dropped_bytes, report.dropped_tail), (0, None));
    append_range(&mut writer, 501, 800);
    drop(writer);
    assert_eq!(read_back(dir.path(), 1), (1..=800).collect::<Vec<_>>());
}

#[test]
fn segments_are_named_by_their_first_sequence() {
    let dir = tempfile::tempdir().unwrap();
    write_journal(dir.path(), 300);
    let mut expected_first = 1;
    for file in segments(dir.path()) {
        assert_eq!(file.file_name().unwrap().to_str().unwrap(), format!("{expected_first:020}.journal"));
        expected_first += spans(&file).len() as u64;
    }
    assert_eq!(expected_first, 301);
}

#[test]
fn a_reader_starts_at_any_sequence() {
    let dir = tempfile::tempdir().unwrap();
    write_journal(dir.path(), 300);
    for from in [0, 1, 2, 37, 150, 299, 300] {
        assert_eq!(read_back(dir.path(), from), (from.max(1)..=300).collect::<Vec<_>>(), "from {from}");
    }
    assert!(read_back(dir.path(), 301).is_empty());
}

#[test]
fn a_reader_waits_at_the_end_and_picks_up_new_records() {
    let dir = tempfile::tempdir().unwrap();
    let (mut writer, _) = JournalWriter::open(dir.path(), config(Durability::Mmap)).unwrap();
    let mut reader = JournalReader::open(dir.path(), 1).unwrap();
    assert!(reader.next().is_none(), "empty directory");
    let mut seen = 0;
    for seq in 1..=200 {
        writer.append(seq, timestamp(seq), &payload(seq)).unwrap();
        let record = reader.next().expect("the record just appended");
        assert_eq!((record.seq, record.payload), (seq, payload(seq).as_slice()));
        assert!(reader.next().is_none());
        seen += 1;
    }
    assert_eq!(seen, 200);
}

#[test]
fn a_reader_ahead_of_the_writer_waits_for_its_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let (mut writer, _) = JournalWriter::open(dir.path(), config(Durability::Mmap)).unwrap();
    let mut reader = JournalReader::open(dir.path(), 100).unwrap();
    append_range(&mut writer, 1, 99);
    assert!(reader.next().is_none());
    append_range(&mut writer, 100, 100);
    assert_eq!(reader.next().map(|r| r.seq), Some(100));
}

#[test]
fn a_tailing_reader_sees_every_record_once_in_order() {
    const N: u64 = 50_000;
    let dir = tempfile::tempdir().unwrap();
    let (mut writer, _) =
        JournalWriter::open(dir.path(), cex_journal::JournalConfig { segment_bytes: 8192, ..config(Durability::Mmap) })
            .unwrap();
    let path = dir.path().to_path_buf();
    let tail = |from: u64| {
        let path = path.clone();
        thread::spawn(move || {
            let mut reader = JournalReader::open(&path, from).unwrap();
            let mut expected = from;
            while expected <= N {
                match reader.try_next().unwrap() {
                    Some(record) => {
                        assert_eq!(record.seq, expected);
                        assert_eq!(record.timestamp_ns, timestamp(expected));
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
    let readers = [tail(1), tail(1), tail(N / 2)];
    append_range(&mut writer, 1, N);
    let counts: Vec<u64> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(counts, [N, N, N - N / 2 + 1]);
}

#[test]
fn append_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let (mut writer, _) = JournalWriter::open(dir.path(), config(Durability::Mmap)).unwrap();
    assert!(matches!(writer.append(2, 0, b"x"), Err(JournalError::OutOfSequence { expected: 1, got: 2 })));
    assert!(matches!(writer.append(1, 0, b""), Err(JournalError::EmptyPayload)));
    let max = config(Durability::Mmap).max_payload();
    assert!(matches!(
        writer.append(1, 0, &vec![1; max + 1]),
        Err(JournalError::RecordTooLarge { payload, .. }) if payload == max + 1
    ));
    writer.append(1, 0, &vec![1; max]).unwrap();
    writer.append(2, 0, b"x").unwrap();
    assert!(matches!(writer.append(2, 0, b"x"), Err(JournalError::OutOfSequence { expected: 3, got: 2 })));
    assert_eq!(writer.last_seq(), 2);
}

#[test]
fn a_reader_refuses_a_sequence_older_than_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    write_journal(dir.path(), 300);
    std::fs::remove_file(&segments(dir.path())[0]).unwrap();
    let first = read_back(dir.path(), 290)[0];
    assert_eq!(first, 290);
    assert!(matches!(JournalReader::open(dir.path(), 1), Err(JournalError::SeqNotAvailable { requested: 1, .. })));
}

#[test]
fn none_mode_creates_no_files() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("journal");
    let (mut writer, report) = JournalWriter::open(&dir, config(Durability::None)).unwrap();
    assert_eq!(report.last_seq, 0);
    append_range(&mut writer, 1, 1_000);
    assert_eq!((writer.last_seq(), writer.durable_seq()), (1_000, 1_000));
    assert!(matches!(writer.append(5, 0, b"x"), Err(JournalError::OutOfSequence { .. })));
    writer.close().unwrap();
    assert!(!dir.exists());
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
}

#[test]
fn mmap_mode_is_durable_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let (mut writer, _) = JournalWriter::open(dir.path(), config(Durability::Mmap)).unwrap();
    let watcher = writer.watcher();
    append_range(&mut writer, 1, 10);
    assert_eq!(watcher.durable_seq(), 10);
    assert!(watcher.wait_for(10, std::time::Duration::ZERO).unwrap());
}

#[test]
fn only_one_writer_opens_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (mut writer, _) = JournalWriter::open(dir.path(), config(Durability::Mmap)).unwrap();
    assert!(matches!(JournalWriter::open(dir.path(), config(Durability::Mmap)), Err(JournalError::AlreadyOpen { .. })));
    append_range(&mut writer, 1, 3);
    drop(writer);
    let (_, report) = JournalWriter::open(dir.path(), config(Durability::Mmap)).unwrap();
    assert_eq!(report.last_seq, 3);
}

#[test]
fn handles_can_move_between_threads() {
    fn send<T: Send>() {}
    fn share<T: Send + Sync>() {}
    send::<JournalWriter>();
    send::<JournalReader>();
    share::<cex_journal::DurableWatcher>();
}

/// A writer can stop right after creating a segment: a reader then waits at the empty
/// segment instead of spinning on it, and picks up the records once they come.
#[test]
fn a_reader_waits_at_an_empty_segment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("00000000000000000001.journal"), vec![0; SEGMENT_BYTES as usize]).unwrap();
    let mut reader = JournalReader::open(dir.path(), 1).unwrap();
    assert!(reader.try_next().unwrap().is_none());
    let (mut writer, report) = JournalWriter::open(dir.path(), config(Durability::Mmap)).unwrap();
    assert_eq!((report.last_seq, report.segments), (0, 1));
    append_range(&mut writer, 1, 3);
    assert_eq!(reader.try_next().unwrap().map(|r| r.seq), Some(1));
}
