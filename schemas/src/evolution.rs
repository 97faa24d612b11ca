//! Version handling, against `tests/fixtures/evolution.xml`: a schema at version 2 whose
//! `Probe` message gained two optional fields. A decoder generated from it must read version-1
//! bytes (the fields are absent) and refuse a version-2 message whose block lacks them.

// The fixture's codec is only partly exercised; the rest is the same generated code as `codec`.
#[allow(dead_code)]
mod probe {
    include!(concat!(env!("OUT_DIR"), "/evolution_codec.rs"));
}

use crate::DecodeError;
use probe::{Colour, MessageDecoder, Probe};

/// A Probe as a version-1 encoder wrote it: only the first two fields.
fn version_1(first: u32, second: i64) -> Vec<u8> {
    let mut bytes = Vec::new();
    for half in [12u16, 1, 7, 1] {
        bytes.extend_from_slice(&half.to_le_bytes());
    }
    bytes.extend_from_slice(&first.to_le_bytes());
    bytes.extend_from_slice(&second.to_le_bytes());
    bytes
}

fn decode(bytes: &[u8]) -> Result<probe::ProbeDecoder<'_>, DecodeError> {
    match MessageDecoder::decode(bytes)? {
        MessageDecoder::Probe(probe) => Ok(probe),
    }
}

#[test]
fn a_newer_decoder_reads_an_older_message_with_the_new_fields_absent() {
    let bytes = version_1(7, -9);
    let probe = decode(&bytes).unwrap();
    assert_eq!((probe.version(), probe.first(), probe.second()), (1, Ok(7), Ok(-9)));
    assert_eq!((probe.third(), probe.colour()), (Ok(None), Ok(None)));
}

#[test]
fn a_current_message_carries_the_new_fields() {
    let message = Probe { first: 1, second: 2, third: Some(3), colour: Some(Colour::Blue) };
    let mut buf = [0u8; 64];
    let length = message.encode(&mut buf).unwrap();
    assert_eq!(length, 8 + 4 + 8 + 8 + 1);
    let probe = decode(&buf[..length]).unwrap();
    assert_eq!((probe.version(), probe.third(), probe.colour()), (2, Ok(Some(3)), Ok(Some(Colour::Blue))));
}

#[test]
fn a_version_2_block_without_the_version_2_fields_is_refused() {
    let mut bytes = version_1(7, -9);
    bytes[6] = 2;
    let expected = DecodeError::BlockLengthTooShort { template_id: 1, block_length: 12, required: 21 };
    assert_eq!(decode(&bytes).unwrap_err(), expected);
}
