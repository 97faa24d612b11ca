//! The stable-Rust stand-in for the cargo-fuzz targets (see fuzz/): random bytes, plausible
//! headers over random bodies, and mutated valid messages and frames go through the frame
//! decoder, every message decoder and the order-entry mapping. Nothing may panic, and whatever
//! decodes must round-trip (`codec::check_round_trip` panics otherwise).
//!
//! `CEX_FUZZ_ITERATIONS` sets the number of inputs per test (default 100,000; 1,000,000 takes
//! a few seconds in the test profile).

mod common;

use cex_gateway_protocol::*;
use common::{framed, gateway_messages};

fn iterations() -> usize {
    std::env::var("CEX_FUZZ_ITERATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000)
}

/// xorshift64*: deterministic, seedable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn bytes(&mut self, length: usize) -> Vec<u8> {
        (0..length).map(|_| self.next() as u8).collect()
    }
}

/// Every way the gateway reads a client's message, and the round-trip check.
fn exercise(message: &[u8]) {
    let _ = codec::check_round_trip(message);
    if let Ok(decoded) = decode_client_message(message) {
        let _ = order_entry_commands(1, &decoded, |_| {});
    }
}

/// Every message the schema has, journal and gateway, as valid bytes to mutate.
fn seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = gateway_messages().into_iter().map(|(_, bytes)| bytes).collect();
    let mut buf = [0u8; cex_schema::MAX_MESSAGE_BYTES];
    let length = codec::AdminCancel { order_id: 7 }.encode(&mut buf).unwrap();
    seeds.push(buf[..length].to_vec());
    seeds
}

/// One to four edits: byte overwrites, u16 overwrites at the lengths' likely places with
/// boundary values, cuts, and appended bytes.
fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(5) {
            0 if !bytes.is_empty() => {
                let at = rng.below(bytes.len());
                bytes[at] = rng.next() as u8;
            }
            1 if bytes.len() >= 2 => {
                let at = rng.below(bytes.len() - 1);
                let value = [0u16, 1, 2, 0x7F, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF][rng.below(10)];
                bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
            }
            2 => bytes.truncate(rng.below(bytes.len() + 1)),
            3 => {
                let extra = rng.below(16);
                bytes.extend(rng.bytes(extra));
            }
            _ => {
                let at = rng.below(bytes.len() + 1);
                let bit = rng.below(8);
                if let Some(byte) = bytes.get_mut(at) {
                    *byte ^= 1 << bit;
                }
            }
        }
    }
    bytes
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x5BE0_5BE0_5BE0_5BE0);
    for _ in 0..iterations() {
        let length = rng.below(200);
        exercise(&rng.bytes(length));
    }
}

#[test]
fn plausible_headers_over_random_bodies_never_panic() {
    let mut rng = Rng(0xC0FF_EE00_1234_5678);
    let templates: Vec<u16> =
        codec::MESSAGES.iter().map(|m| m.template_id).chain([0, 16, 199, 208, 305, 999]).collect();
    for _ in 0..iterations() {
        let template_id = templates[rng.below(templates.len())];
        let block_length = [0u16, 1, 8, 13, 36, 53, 57, 110, 200, 0xFFFF][rng.below(10)];
        let version = rng.below(4) as u16;
        let mut bytes: Vec<u8> =
            [block_length, template_id, codec::SCHEMA_ID, version].iter().flat_map(|v| v.to_le_bytes()).collect();
        let body = rng.below(300);
        bytes.extend(rng.bytes(body));
        exercise(&bytes);
    }
}

#[test]
fn mutated_messages_never_panic() {
    let mut rng = Rng(0x0DDB_A11C_AFE0_0001);
    let seeds = seeds();
    let mut decoded = 0usize;
    for _ in 0..iterations() {
        let seed = &seeds[rng.below(seeds.len())];
        let bytes = mutate(&mut rng, seed);
        if codec::MessageDecoder::decode(&bytes).is_ok() {
            decoded += 1;
        }
        exercise(&bytes);
    }
    assert!(decoded > iterations() / 20, "the mutations must reach past the checks: {decoded} decoded");
}

#[test]
fn mutated_streams_of_frames_never_panic() {
    let mut rng = Rng(0xF00D_F00D_F00D_F00D);
    let frames: Vec<Vec<u8>> = seeds().iter().map(|message| framed(message)).collect();
    for _ in 0..iterations() / 10 {
        let mut stream = Vec::new();
        for _ in 0..1 + rng.below(6) {
            stream.extend_from_slice(&frames[rng.below(frames.len())]);
        }
        let stream = if rng.below(2) == 0 { mutate(&mut rng, &stream) } else { stream };
        let mut buffer = FrameBuffer::new(FrameDecoder::new(512));
        let mut offset = 0;
        'stream: while offset < stream.len() {
            let chunk = 1 + rng.below(64);
            let end = (offset + chunk).min(stream.len());
            buffer.extend(&stream[offset..end]);
            offset = end;
            loop {
                match buffer.next_frame() {
                    Ok(Some(message)) => exercise(message),
                    Ok(None) => break,
                    Err(_) => break 'stream,
                }
            }
        }
        assert!(buffer.buffered() <= stream.len());
    }
}
