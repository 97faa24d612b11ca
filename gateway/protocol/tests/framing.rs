//! Simple Open Framing Header: lengths include the 6-byte header and are big-endian, the
//! encoding type is 0x5BE0, a maximum is enforced before a frame's body arrives, and no input
//! makes the decoder panic.

mod common;

use cex_gateway_protocol::*;
use common::{framed, gateway_messages};

#[test]
fn a_frame_is_a_big_endian_length_of_the_whole_frame_then_0x5be0() {
    let mut buf = [0u8; 64];
    let length = encode_frame(&mut buf, |out| codec::Heartbeat {}.encode(out)).unwrap();
    assert_eq!(length, 6 + 8);
    assert_eq!(buf[..6], [0, 0, 0, 14, 0x5B, 0xE0]);
    let frame = FrameDecoder::default().decode(&buf[..length]).unwrap().unwrap();
    assert_eq!((frame.length, frame.message), (14, &buf[6..14]));
}

#[test]
fn every_message_round_trips_through_a_frame() {
    for (name, message) in gateway_messages() {
        let frame = framed(&message);
        let decoded = FrameDecoder::default().decode(&frame).unwrap().unwrap();
        assert_eq!((decoded.message, decoded.length), (&message[..], frame.len()), "{name}");
    }
}

#[test]
fn an_incomplete_frame_waits_for_more_bytes() {
    for (name, message) in gateway_messages() {
        let frame = framed(&message);
        for cut in 0..frame.len() {
            assert_eq!(FrameDecoder::default().decode(&frame[..cut]), Ok(None), "{name} cut at {cut}");
        }
    }
}

#[test]
fn a_frame_shorter_than_two_headers_is_refused() {
    for length in [0u32, 1, 6, 13] {
        let mut bytes = length.to_be_bytes().to_vec();
        assert_eq!(FrameDecoder::default().decode(&bytes), Err(FrameError::TooShort { length: length as usize }));
        bytes.extend_from_slice(&[0x5B, 0xE0, 0, 0]);
        assert_eq!(FrameDecoder::default().decode(&bytes), Err(FrameError::TooShort { length: length as usize }));
    }
}

#[test]
fn an_oversized_frame_is_refused_from_its_length_alone() {
    let decoder = FrameDecoder::new(100);
    assert_eq!(decoder.decode(&101u32.to_be_bytes()), Err(FrameError::TooLong { length: 101, max: 100 }));
    assert_eq!(decoder.decode(&100u32.to_be_bytes()), Ok(None));
    let huge = u32::MAX.to_be_bytes();
    let max = DEFAULT_MAX_FRAME_LENGTH;
    assert_eq!(FrameDecoder::default().decode(&huge), Err(FrameError::TooLong { length: u32::MAX as usize, max }));
    assert_eq!(FrameDecoder::new(0).max_frame_length(), MIN_FRAME_LENGTH);
}

#[test]
fn another_encoding_type_is_refused_before_the_body_arrives() {
    for encoding in [0x0000u16, 0x5BE1, 0xE05B, 0xEB50, 0xFFFF] {
        let mut bytes = 20u32.to_be_bytes().to_vec();
        bytes.extend_from_slice(&encoding.to_be_bytes());
        assert_eq!(FrameDecoder::default().decode(&bytes[..5]), Ok(None));
        assert_eq!(FrameDecoder::default().decode(&bytes), Err(FrameError::UnknownEncoding(encoding)));
    }
}

#[test]
fn frames_yields_the_complete_frames_and_counts_their_bytes() {
    let messages: Vec<Vec<u8>> = gateway_messages().into_iter().map(|(_, m)| m).collect();
    let mut stream: Vec<u8> = messages.iter().flat_map(|m| framed(m)).collect();
    let complete = stream.len();
    stream.extend_from_slice(&framed(&messages[0])[..9]);
    let decoder = FrameDecoder::default();
    let mut frames = decoder.frames(&stream);
    let read: Vec<&[u8]> = frames.by_ref().map(|frame| frame.unwrap().message).collect();
    assert_eq!(read, messages.iter().map(Vec::as_slice).collect::<Vec<_>>());
    assert_eq!(frames.consumed(), complete);

    let mut bad = framed(&messages[0]);
    bad.extend_from_slice(&[0, 0, 0, 1]);
    let mut frames = decoder.frames(&bad);
    assert!(frames.next().unwrap().is_ok());
    assert_eq!(frames.next(), Some(Err(FrameError::TooShort { length: 1 })));
    assert_eq!(frames.next(), None, "nothing after an error");
}

#[test]
fn a_frame_buffer_reassembles_frames_from_any_chunking() {
    let messages: Vec<Vec<u8>> = gateway_messages().into_iter().map(|(_, m)| m).collect();
    let stream: Vec<u8> = messages.iter().flat_map(|m| framed(m)).collect();
    for chunk in [1, 2, 3, 5, 7, 13, 64, 1000] {
        let mut buffer = FrameBuffer::new(FrameDecoder::default());
        let mut read = Vec::new();
        for piece in stream.chunks(chunk) {
            buffer.extend(piece);
            while let Some(message) = buffer.next_frame().unwrap() {
                read.push(message.to_vec());
            }
        }
        assert_eq!(read, messages, "chunks of {chunk}");
        assert_eq!(buffer.buffered(), 0);
    }
}

#[test]
fn a_frame_buffer_refuses_an_oversized_frame_without_buffering_it() {
    let mut buffer = FrameBuffer::new(FrameDecoder::new(64));
    buffer.extend(&1_000_000u32.to_be_bytes());
    assert_eq!(buffer.next_frame(), Err(FrameError::TooLong { length: 1_000_000, max: 64 }));
    assert_eq!(buffer.buffered(), 4);
}

#[test]
fn encoding_into_a_short_buffer_is_refused() {
    assert_eq!(
        encode_frame(&mut [0u8; 5], |out| codec::Heartbeat {}.encode(out)),
        Err(EncodeError::BufferTooSmall { needed: 6, available: 5 })
    );
    assert_eq!(
        encode_frame(&mut [0u8; 13], |out| codec::Heartbeat {}.encode(out)),
        Err(EncodeError::BufferTooSmall { needed: 14, available: 13 })
    );
    assert_eq!(write_frame_header(&mut [0u8; 3], 8), Err(EncodeError::BufferTooSmall { needed: 6, available: 3 }));
    let max = u64::from(u32::MAX);
    let too_long = u32::MAX as usize;
    assert_eq!(
        write_frame_header(&mut [0u8; 6], too_long),
        Err(EncodeError::DataTooLong { field: "frame", length: too_long + 6, max })
    );
}

/// xorshift: deterministic random bytes.
fn random_bytes(seed: &mut u64, length: usize) -> Vec<u8> {
    (0..length)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed as u8
        })
        .collect()
}

#[test]
fn random_streams_never_panic() {
    let mut seed = 0x9E37_79B9_7F4A_7C15;
    let decoder = FrameDecoder::new(256);
    for round in 0..20_000 {
        let mut bytes = random_bytes(&mut seed, (round % 300) + 1);
        if round % 2 == 0 {
            // A plausible header, so the body paths are reached too.
            let length = (bytes[0] as u32 % 300).max(14);
            bytes.splice(..6.min(bytes.len()), length.to_be_bytes().into_iter().chain([0x5B, 0xE0]));
        }
        let mut frames = decoder.frames(&bytes);
        for frame in frames.by_ref().flatten() {
            assert!(frame.length >= MIN_FRAME_LENGTH && frame.length <= 256);
            let _ = codec::check_round_trip(frame.message);
        }
        assert!(frames.consumed() <= bytes.len());
    }
}
