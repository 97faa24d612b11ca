//! Each way bytes can be wrong gives its own error; a newer version's longer message is read.

mod common;

use cex_engine::{CancelAll, Command, Side};
use cex_schema::{codec, decode_command, decode_event, encode_command, encode_event, DecodeError, MAX_MESSAGE_BYTES};

fn encoded(command: &Command) -> Vec<u8> {
    let mut buf = [0u8; MAX_MESSAGE_BYTES];
    let length = encode_command(command, &mut buf).unwrap();
    buf[..length].to_vec()
}

fn new_order() -> (Command, Vec<u8>) {
    let command = Command::NewOrder(common::new_order());
    (command, encoded(&command))
}

fn set_u16(bytes: &mut [u8], offset: usize, value: u16) {
    bytes[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
}

/// Header offsets, from the generated reader rather than by hand: find where each field lives
/// by writing a marker through `MessageHeader` and reading it back.
fn header_offset(field: fn(&mut codec::MessageHeader) -> &mut u16) -> usize {
    let (_, bytes) = new_order();
    (0..codec::HEADER_LENGTH - 1)
        .find(|&offset| {
            let mut probe = bytes.clone();
            set_u16(&mut probe, offset, 0xBEEF);
            let mut header = codec::read_header(&probe).unwrap();
            *field(&mut header) == 0xBEEF
        })
        .unwrap()
}

fn block_length_at() -> usize {
    header_offset(|h| &mut h.block_length)
}

fn version_at() -> usize {
    header_offset(|h| &mut h.version)
}

#[test]
fn another_schema_is_refused() {
    let (_, mut bytes) = new_order();
    set_u16(&mut bytes, header_offset(|h| &mut h.schema_id), 2);
    assert_eq!(decode_command(&bytes), Err(DecodeError::WrongSchema(2)));
}

#[test]
fn a_version_older_than_any_written_is_refused() {
    let (_, mut bytes) = new_order();
    set_u16(&mut bytes, version_at(), 0);
    assert_eq!(decode_command(&bytes), Err(DecodeError::UnsupportedVersion(0)));
}

#[test]
fn unknown_templates_are_refused_and_commands_and_events_do_not_mix() {
    let (_, mut bytes) = new_order();
    let mut event = [0u8; MAX_MESSAGE_BYTES];
    let length = encode_event(&common::events()[0], &mut event).unwrap();
    assert_eq!(decode_command(&event[..length]), Err(DecodeError::UnknownTemplate(101)));
    assert_eq!(decode_event(&bytes), Err(DecodeError::UnknownTemplate(codec::NewOrder::TEMPLATE_ID)));
    set_u16(&mut bytes, header_offset(|h| &mut h.template_id), 999);
    assert_eq!(decode_command(&bytes), Err(DecodeError::UnknownTemplate(999)));
}

#[test]
fn a_block_shorter_than_its_fields_is_refused() {
    let (_, mut bytes) = new_order();
    let short = codec::NewOrder::BLOCK_LENGTH as u16 - 1;
    set_u16(&mut bytes, block_length_at(), short);
    let expected = DecodeError::BlockLengthTooShort {
        template_id: codec::NewOrder::TEMPLATE_ID,
        block_length: short,
        required: codec::NewOrder::BLOCK_LENGTH,
    };
    assert_eq!(decode_command(&bytes), Err(expected));
}

#[test]
fn bytes_after_a_current_message_are_refused() {
    let (_, mut bytes) = new_order();
    bytes.push(0);
    assert_eq!(decode_command(&bytes), Err(DecodeError::TrailingBytes { extra: 1 }));
}

#[test]
fn a_newer_version_is_read_by_skipping_what_it_added() {
    let (command, mut bytes) = new_order();
    set_u16(&mut bytes, version_at(), codec::SCHEMA_VERSION + 1);
    set_u16(&mut bytes, block_length_at(), codec::NewOrder::BLOCK_LENGTH as u16 + 8);
    bytes.extend_from_slice(&[0xAB; 8]);
    assert_eq!(decode_command(&bytes), Ok(command), "a field appended to the block");
    bytes.extend_from_slice(&[0xCD; 5]);
    assert_eq!(decode_command(&bytes), Ok(command), "groups or data after the block");
}

#[test]
fn a_message_cut_short_is_truncated() {
    let (_, bytes) = new_order();
    let available = bytes.len() - 1;
    assert_eq!(decode_command(&bytes[..available]), Err(DecodeError::Truncated { needed: bytes.len(), available }));
    assert_eq!(decode_command(&bytes[..3]), Err(DecodeError::Truncated { needed: 4, available: 3 }));
}

/// The offset of the byte that differs between the encodings of two commands.
fn differing_byte(a: &Command, b: &Command) -> usize {
    let (a, b) = (encoded(a), encoded(b));
    let mut differing = (0..a.len()).filter(|&i| a[i] != b[i]);
    let offset = differing.next().unwrap();
    assert_eq!(differing.next(), None);
    offset
}

#[test]
fn an_undefined_enum_value_is_refused() {
    let (command, mut bytes) = new_order();
    let Command::NewOrder(order) = command else { unreachable!() };
    let side_at = differing_byte(&command, &Command::NewOrder(cex_engine::NewOrder { side: Side::Buy, ..order }));
    bytes[side_at] = 7;
    assert_eq!(decode_command(&bytes), Err(DecodeError::InvalidEnum { field: "NewOrder.side", value: 7 }));
}

#[test]
fn an_optional_enum_is_null_at_255_and_refused_at_other_undefined_values() {
    let all = Command::CancelAll(CancelAll { account: 1, symbol: None, side: None });
    let sell = Command::CancelAll(CancelAll { account: 1, symbol: None, side: Some(Side::Sell) });
    let side_at = differing_byte(&all, &sell);
    let mut bytes = encoded(&all);
    assert_eq!(bytes[side_at], 255);
    bytes[side_at] = 2;
    assert_eq!(decode_command(&bytes), Err(DecodeError::InvalidEnum { field: "CancelAll.side", value: 2 }));
}
