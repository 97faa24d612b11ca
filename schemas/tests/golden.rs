//! The journals keep version-1 bytes forever. `fixtures/golden_v1.txt` holds the version-1
//! encoding of `common`'s value of every kind, as written when version 1 was current; every
//! later version must still decode them to the same values.
//!
//! When the schema version is bumped, `the_current_version_still_writes_the_golden_bytes`
//! fails by design: leave this file's bytes alone, pin the new version's bytes in a new file,
//! and keep `version_1_bytes_decode_to_the_same_values` as it is.

mod common;

use cex_schema::{decode_command, decode_event, encode_command, encode_event, MAX_MESSAGE_BYTES};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/golden_v1.txt");

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// `(kind, hex)` of every command, then every event, encoded now.
fn current() -> Vec<(String, String)> {
    let mut buf = [0u8; MAX_MESSAGE_BYTES];
    let mut lines = Vec::new();
    for command in common::commands() {
        let length = encode_command(&command, &mut buf).unwrap();
        lines.push((format!("{:?}", command.kind()), hex(&buf[..length])));
    }
    for event in common::events() {
        let length = encode_event(&event, &mut buf).unwrap();
        let kind = format!("{:?}", event.body);
        lines.push((kind[..kind.find(['(', ' ']).unwrap_or(kind.len())].to_string(), hex(&buf[..length])));
    }
    lines
}

fn golden() -> Vec<(String, Vec<u8>)> {
    let text = std::fs::read_to_string(GOLDEN).unwrap();
    let parse = |line: &str| {
        let (kind, bytes) = line.split_once(' ').unwrap();
        (kind.to_string(), unhex(bytes))
    };
    text.lines().map(parse).collect()
}

#[test]
fn version_1_bytes_decode_to_the_same_values() {
    let golden = golden();
    let commands = common::commands();
    assert_eq!(golden.len(), commands.len() + common::events().len());
    for ((kind, bytes), command) in golden.iter().zip(&commands) {
        assert_eq!(decode_command(bytes).as_ref(), Ok(command), "{kind}");
    }
    for ((kind, bytes), event) in golden[commands.len()..].iter().zip(common::events()) {
        assert_eq!(decode_event(bytes), Ok(event), "{kind}");
    }
}

#[test]
fn the_current_version_still_writes_the_golden_bytes() {
    let golden: Vec<(String, String)> = golden().into_iter().map(|(kind, bytes)| (kind, hex(&bytes))).collect();
    assert_eq!(current(), golden, "the encoding changed; see this file's header");
}
