//! The journals keep bytes forever. `fixtures/golden_v1.txt` holds the version-1 encoding of
//! `common`'s value of every command and event kind, as written when version 1 was current;
//! every later version must still decode them to the same values. `fixtures/golden_v2.txt`
//! holds version 2's bytes of the same values, and of one message of every gateway template.
//!
//! When the schema version is bumped, `the_current_version_still_writes_the_golden_bytes`
//! fails by design: leave the existing files alone, pin the new version's bytes in a new file,
//! and keep the tests of the older files as they are.

mod common;

use cex_schema::{codec, decode_command, decode_event, encode_command, encode_event, MAX_MESSAGE_BYTES};

const GOLDEN_V1: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/golden_v1.txt");
const GOLDEN_V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/golden_v2.txt");

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// `(kind, bytes)` of every command, then every event, encoded now.
fn journal_messages() -> Vec<(String, Vec<u8>)> {
    let mut buf = [0u8; MAX_MESSAGE_BYTES];
    let mut lines = Vec::new();
    for command in common::commands() {
        let length = encode_command(&command, &mut buf).unwrap();
        lines.push((format!("{:?}", command.kind()), buf[..length].to_vec()));
    }
    for event in common::events() {
        let length = encode_event(&event, &mut buf).unwrap();
        let kind = format!("{:?}", event.body);
        lines.push((kind[..kind.find(['(', ' ']).unwrap_or(kind.len())].to_string(), buf[..length].to_vec()));
    }
    lines
}

/// Every message the current version writes: the journal's, then the gateway's.
fn current() -> Vec<(String, String)> {
    let gateway = common::gateway_messages().into_iter().map(|(name, bytes)| (name.to_string(), bytes));
    journal_messages().into_iter().chain(gateway).map(|(kind, bytes)| (kind, hex(&bytes))).collect()
}

fn golden(path: &str) -> Vec<(String, Vec<u8>)> {
    let text = std::fs::read_to_string(path).unwrap();
    let parse = |line: &str| {
        let (kind, bytes) = line.split_once(' ').unwrap();
        (kind.to_string(), unhex(bytes))
    };
    text.lines().map(parse).collect()
}

/// Decodes `golden` (commands, then events, then anything else) to `common`'s values.
fn decodes_to_the_same_values(golden: &[(String, Vec<u8>)]) {
    let commands = common::commands();
    let events = common::events();
    assert!(golden.len() >= commands.len() + events.len());
    for ((kind, bytes), command) in golden.iter().zip(&commands) {
        assert_eq!(decode_command(bytes).as_ref(), Ok(command), "{kind}");
    }
    for ((kind, bytes), event) in golden[commands.len()..].iter().zip(events) {
        assert_eq!(decode_event(bytes), Ok(event), "{kind}");
    }
}

#[test]
fn version_1_bytes_decode_to_the_same_values() {
    let golden = golden(GOLDEN_V1);
    assert_eq!(golden.len(), common::commands().len() + common::events().len());
    decodes_to_the_same_values(&golden);
}

#[test]
fn version_2_bytes_decode_to_the_same_values() {
    let golden = golden(GOLDEN_V2);
    decodes_to_the_same_values(&golden);
    let gateway = common::gateway_messages();
    let journal = golden.len() - gateway.len();
    for ((kind, bytes), (name, _)) in golden[journal..].iter().zip(&gateway) {
        assert_eq!(kind, name);
        assert_eq!(codec::check_round_trip(bytes), Ok(()), "{kind}");
    }
}

/// Version 2 added messages and changed none: a command or event is written as in version 1
/// but for the header's version field.
#[test]
fn commands_and_events_keep_their_version_1_layout() {
    let version_at = 6;
    assert_eq!(codec::read_header(&[0, 0, 0, 0, 0, 0, 0xCD, 0xAB]).unwrap().version, 0xABCD);
    for ((kind, old), (_, new)) in golden(GOLDEN_V1).iter().zip(journal_messages()) {
        assert_eq!(old.len(), new.len(), "{kind}");
        assert_eq!(old[..version_at], new[..version_at], "{kind}");
        assert_eq!(old[version_at..version_at + 2], 1u16.to_le_bytes(), "{kind}");
        assert_eq!(new[version_at..version_at + 2], codec::SCHEMA_VERSION.to_le_bytes(), "{kind}");
        assert_eq!(old[version_at + 2..], new[version_at + 2..], "{kind}");
    }
}

#[test]
fn the_current_version_still_writes_the_golden_bytes() {
    if std::env::var_os("CEX_WRITE_GOLDEN").is_some() && !std::path::Path::new(GOLDEN_V2).exists() {
        let text: String = current().iter().map(|(kind, bytes)| format!("{kind} {bytes}\n")).collect();
        std::fs::write(GOLDEN_V2, text).unwrap();
    }
    let golden: Vec<(String, String)> =
        golden(GOLDEN_V2).into_iter().map(|(kind, bytes)| (kind, hex(&bytes))).collect();
    assert_eq!(current(), golden, "the encoding changed; see this file's header");
}
