//! What the fuzz targets run. Every target feeds untrusted bytes to the decoders; none may
//! panic, and `codec::check_round_trip` panics when bytes that decode do not re-encode to the
//! same value.

pub use cex_gateway_protocol::codec;
use cex_gateway_protocol::{decode_client_message, order_entry_commands, FrameBuffer, FrameDecoder};

/// One message decoder: the fuzzer's bytes with the header's template id and schema id set to
/// `template_id`'s, so every input reaches that decoder. The block length, the version and
/// everything after the header stay the fuzzer's.
pub fn message(template_id: u16, data: &[u8]) {
    let mut bytes = data.to_vec();
    if bytes.len() >= 6 {
        bytes[2..4].copy_from_slice(&template_id.to_le_bytes());
        bytes[4..6].copy_from_slice(&codec::SCHEMA_ID.to_le_bytes());
    }
    let _ = codec::check_round_trip(&bytes);
    client_message(&bytes);
}

/// Bytes as a client's message, as the gateway reads one: decoded and checked (or refused
/// with a SessionReject, which must encode), then mapped to engine commands.
pub fn client_message(data: &[u8]) {
    match decode_client_message(data) {
        Ok(message) => {
            let _ = order_entry_commands(1, &message, |_| {});
        }
        Err(refusal) => {
            let reject = refusal.session_reject(1);
            let mut buf = vec![0u8; reject.encoded_length()];
            reject.encode(&mut buf).expect("a SessionReject with a short text encodes");
        }
    }
}

/// A byte stream through a frame buffer: the first byte picks the chunk size, the rest is the
/// stream. Every complete frame's message is decoded as a client's.
pub fn frames(data: &[u8]) {
    let Some((&chunk, stream)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    let mut buffer = FrameBuffer::new(FrameDecoder::new(1024));
    for piece in stream.chunks(chunk) {
        buffer.extend(piece);
        loop {
            match buffer.next_frame() {
                Ok(Some(message)) => {
                    let _ = codec::check_round_trip(message);
                    client_message(message);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}
