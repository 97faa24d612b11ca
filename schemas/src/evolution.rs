//! Version handling, against `tests/fixtures/evolution.xml`: a schema at version 2 whose
//! `Probe` message gained two optional fields, and whose `Basket` gained an entry field, a
//! group and two data elements. A decoder generated from it must read version-1 bytes (what
//! was added is absent), refuse a version-2 message that lacks what version 2 added, and read
//! a newer version by skipping what it does not know.

// The fixture's codec is only partly exercised; the rest is the same generated code as `codec`.
#[allow(dead_code)]
mod probe {
    include!(concat!(env!("OUT_DIR"), "/evolution_codec.rs"));
}

use crate::DecodeError;
use probe::{Basket, BasketExtrasEntry, BasketItemsEntry, Colour, MessageDecoder, Probe};

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
        MessageDecoder::Basket(_) => panic!("not a Probe"),
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

fn basket(bytes: &[u8]) -> Result<probe::BasketDecoder<'_>, DecodeError> {
    match MessageDecoder::decode(bytes)? {
        MessageDecoder::Basket(basket) => Ok(basket),
        MessageDecoder::Probe(_) => panic!("not a Basket"),
    }
}

fn header(block_length: u16, template_id: u16, version: u16) -> Vec<u8> {
    [block_length, template_id, 7, version].iter().flat_map(|half| half.to_le_bytes()).collect()
}

/// A Basket as a version-1 encoder wrote it: the block, then `items` with 4-byte entries.
fn basket_version_1(first: u32, items: &[u32]) -> Vec<u8> {
    let mut bytes = header(4, 2, 1);
    bytes.extend_from_slice(&first.to_le_bytes());
    bytes.extend_from_slice(&4u16.to_le_bytes());
    bytes.extend_from_slice(&(items.len() as u16).to_le_bytes());
    items.iter().for_each(|a| bytes.extend_from_slice(&a.to_le_bytes()));
    bytes
}

#[test]
fn a_newer_decoder_reads_an_older_message_without_the_added_groups_and_data() {
    let bytes = basket_version_1(5, &[6, 7]);
    let basket = basket(&bytes).unwrap();
    assert_eq!((basket.version(), basket.first()), (1, Ok(5)));
    let items: Vec<_> = basket.items().map(|item| (item.a(), item.b())).collect();
    assert_eq!(items, [(Ok(6), Ok(None)), (Ok(7), Ok(None))]);
    assert_eq!((basket.extras().len(), basket.note(), basket.blob()), (0, Ok(""), &[][..]));
}

#[test]
fn a_current_message_with_groups_and_data_round_trips() {
    let items = [BasketItemsEntry { a: 1, b: Some(2) }, BasketItemsEntry { a: 3, b: None }];
    let extras = [BasketExtrasEntry { c: -4 }];
    let message = Basket { first: 9, items: &items, extras: &extras, note: "héllo", blob: &[1, 2, 3] };
    let mut buf = vec![0u8; message.encoded_length()];
    assert_eq!(message.encode(&mut buf), Ok(8 + 4 + 4 + 2 * 12 + 4 + 2 + 2 + 6 + 1 + 3));
    let (mut items_read, mut extras_read) = (Vec::new(), Vec::new());
    assert_eq!(basket(&buf).unwrap().value_in(&mut items_read, &mut extras_read), Ok(message));
    assert_eq!(probe::check_round_trip(&buf), Ok(()));
}

#[test]
fn a_version_2_message_without_the_version_2_parts_is_refused() {
    let mut bytes = basket_version_1(5, &[6]);
    bytes[6] = 2;
    let expected = DecodeError::GroupBlockLengthTooShort { group: "Basket.items", block_length: 4, required: 12 };
    assert_eq!(basket(&bytes).unwrap_err(), expected);
    let mut bytes = basket_version_1(5, &[]);
    bytes[6] = 2;
    bytes[12] = 12; // entries long enough for version 2, but no `extras` group after them
    assert_eq!(basket(&bytes).unwrap_err(), DecodeError::Truncated { needed: 20, available: 16 });
}

#[test]
fn a_newer_version_is_read_by_skipping_what_it_added() {
    // Version 3: two more bytes in the block and in each entry, a group and data appended.
    let mut bytes = header(6, 2, 3);
    bytes.extend_from_slice(&[5, 0, 0, 0, 0xEE, 0xEE]);
    bytes.extend_from_slice(&[14, 0, 1, 0]);
    bytes.extend_from_slice(&[6, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0xEE, 0xEE]);
    bytes.extend_from_slice(&[2, 0, 1, 0, 0xFC, 0xFF]);
    bytes.extend_from_slice(&[2, 0, b'h', b'i', 1, 9]);
    bytes.extend_from_slice(&[0xEE; 9]);
    let newer = basket(&bytes).unwrap();
    assert_eq!(newer.first(), Ok(5));
    let item = newer.items().next().unwrap();
    assert_eq!((item.a(), item.b()), (Ok(6), Ok(Some(7))));
    assert_eq!(newer.extras().next().unwrap().c(), Ok(-4));
    assert_eq!((newer.note(), newer.blob()), (Ok("hi"), &[9][..]));
    bytes[6] = 2;
    assert_eq!(basket(&bytes).unwrap_err(), DecodeError::TrailingBytes { extra: 9 });
}

#[test]
fn data_longer_than_its_max_value_is_refused_both_ways() {
    let message = Basket { first: 1, items: &[], extras: &[], note: "seventeen bytes!!", blob: &[] };
    let mut buf = vec![0u8; message.encoded_length()];
    let refused = crate::EncodeError::DataTooLong { field: "Basket.note", length: 17, max: 16 };
    assert_eq!(message.encode(&mut buf), Err(refused));
    let fits = Basket { note: "sixteen bytes!!!", ..message };
    let mut buf = vec![0u8; fits.encoded_length()];
    fits.encode(&mut buf).unwrap();
    let note_at = 8 + 4 + 4 + 4;
    buf[note_at] = 17;
    let expected = DecodeError::DataTooLong { field: "Basket.note", length: 17, max: 16 };
    assert_eq!(basket(&buf).unwrap_err(), expected);
}

#[test]
fn a_message_older_than_the_message_is_refused() {
    let mut bytes = basket_version_1(5, &[]);
    bytes[6] = 0;
    assert_eq!(basket(&bytes).unwrap_err(), DecodeError::UnsupportedVersion(0));
}
