//! Untrusted bytes: decoding never panics, a cut-short message is always an error, and any
//! bytes that do decode re-encode to a message that decodes to the same value.

mod common;

use cex_schema::{codec, decode_command, decode_event, encode_command, encode_event, MAX_MESSAGE_BYTES};
use proptest::prelude::*;

fn encodings() -> Vec<Vec<u8>> {
    let mut buf = [0u8; MAX_MESSAGE_BYTES];
    let commands = common::commands().into_iter().map(|command| {
        let length = encode_command(&command, &mut buf).unwrap();
        buf[..length].to_vec()
    });
    let mut all: Vec<Vec<u8>> = commands.collect();
    for event in common::events() {
        let length = encode_event(&event, &mut buf).unwrap();
        all.push(buf[..length].to_vec());
    }
    all
}

/// Decodes as a command and as an event; whatever decodes must survive a round trip.
fn decode_both(bytes: &[u8]) {
    let mut buf = [0u8; MAX_MESSAGE_BYTES];
    if let Ok(command) = decode_command(bytes) {
        let length = encode_command(&command, &mut buf).unwrap();
        assert_eq!(decode_command(&buf[..length]), Ok(command));
    }
    if let Ok(event) = decode_event(bytes) {
        let length = encode_event(&event, &mut buf).unwrap();
        assert_eq!(decode_event(&buf[..length]), Ok(event));
    }
}

/// A header that passes the schema check, for one of the schema's templates or another, then
/// random bytes: reaches the block checks and every field reader.
fn plausible_message() -> impl Strategy<Value = Vec<u8>> {
    let templates: Vec<u16> = codec::MESSAGES.iter().map(|m| m.template_id).chain([0, 16, 100, 116]).collect();
    (prop::sample::select(templates), 0u16..160, 0u16..4, prop::collection::vec(any::<u8>(), 0..160)).prop_map(
        |(template_id, block_length, version, body)| {
            let mut bytes = Vec::new();
            for value in [block_length, template_id, codec::SCHEMA_ID, version] {
                bytes.extend_from_slice(&value.to_le_bytes());
            }
            bytes.extend_from_slice(&body);
            bytes
        },
    )
}

/// A valid message with a few bytes overwritten.
fn mutated_message() -> impl Strategy<Value = Vec<u8>> {
    let edits = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4);
    (prop::sample::select(encodings()), edits).prop_map(|(mut bytes, edits)| {
        for (index, value) in edits {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        decode_both(&bytes);
    }

    #[test]
    fn plausible_headers_over_random_blocks_never_panic(bytes in plausible_message()) {
        decode_both(&bytes);
    }

    #[test]
    fn mutated_messages_never_panic(bytes in mutated_message()) {
        decode_both(&bytes);
    }
}

#[test]
fn every_truncation_of_every_kind_of_message_is_an_error() {
    for bytes in encodings() {
        assert!(decode_command(&bytes).is_ok() || decode_event(&bytes).is_ok());
        for length in 0..bytes.len() {
            let cut = &bytes[..length];
            assert!(decode_command(cut).is_err(), "{length} of {} bytes decoded as a command", bytes.len());
            assert!(decode_event(cut).is_err(), "{length} of {} bytes decoded as an event", bytes.len());
        }
    }
}
