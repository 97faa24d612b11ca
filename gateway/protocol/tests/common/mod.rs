//! Shared by the tests: one encoded message of every gateway template, from the schema's
//! pinned version-2 bytes, and small helpers.

#![allow(dead_code)] // each test binary uses part of this module

use cex_gateway_protocol::{codec, encode_frame, templates};

/// `(name, message)` of every gateway template (200 and up), from
/// `schemas/tests/fixtures/golden_v2.txt`.
pub fn gateway_messages() -> Vec<(String, Vec<u8>)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/tests/fixtures/golden_v2.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let messages: Vec<(String, Vec<u8>)> = text
        .lines()
        .map(|line| {
            let (name, hex) = line.split_once(' ').unwrap();
            (name.to_string(), unhex(hex))
        })
        .filter(|(_, bytes)| codec::read_header(bytes).unwrap().template_id >= *templates::SESSION.start())
        .collect();
    let gateway = codec::MESSAGES.iter().filter(|m| m.template_id >= *templates::SESSION.start());
    let names: Vec<&str> = gateway.map(|m| m.name).collect();
    assert_eq!(messages.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(), names, "one of every template");
    messages
}

pub fn message(name: &str) -> Vec<u8> {
    gateway_messages().into_iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{name}")).1
}

pub fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `message` in a frame.
pub fn framed(message: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; message.len() + 6];
    encode_frame(&mut buf, |out| {
        out[..message.len()].copy_from_slice(message);
        Ok(message.len())
    })
    .unwrap();
    buf
}

pub fn set_u16(bytes: &mut [u8], offset: usize, value: u16) {
    bytes[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
}

pub fn u16_at(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes([bytes[offset], bytes[offset + 1]])
}
