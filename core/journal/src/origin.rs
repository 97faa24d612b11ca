//! Who sent a command. Both journals carry it ahead of the SBE bytes, so a response can be
//! routed to the session that asked even when a consumer reads it back from the journal.

use cex_engine::{Command, Event};
use cex_schema::{decode_command, decode_event, encode_command, encode_event, DecodeError, EncodeError};

/// The producer (input ring) a command came through, and that producer's own request id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Origin {
    pub producer: u16,
    pub request: u64,
}

/// Bytes of an encoded [`Origin`]: producer (u16 LE), then request (u64 LE).
pub const ORIGIN_BYTES: usize = 10;

/// The largest command record payload.
pub const MAX_COMMAND_RECORD_BYTES: usize = ORIGIN_BYTES + cex_schema::MAX_MESSAGE_BYTES;

impl Origin {
    /// Commands the runtime issues itself, such as reference data from the config.
    pub const INTERNAL: Origin = Origin { producer: 0, request: 0 };

    fn write(&self, out: &mut [u8]) {
        out[..2].copy_from_slice(&self.producer.to_le_bytes());
        out[2..ORIGIN_BYTES].copy_from_slice(&self.request.to_le_bytes());
    }

    /// The origin at the front of `payload`, and the bytes after it.
    fn read(payload: &[u8]) -> Result<(Origin, &[u8]), DecodeError> {
        let Some((head, rest)) = payload.split_first_chunk::<ORIGIN_BYTES>() else {
            return Err(DecodeError::Truncated { needed: ORIGIN_BYTES, available: payload.len() });
        };
        let producer = u16::from_le_bytes([head[0], head[1]]);
        let request = u64::from_le_bytes(head[2..].try_into().expect("8 bytes"));
        Ok((Origin { producer, request }, rest))
    }
}

/// A command record's payload: the origin, then the command's SBE message. Returns its length.
pub fn encode_command_record(
    origin: Origin,
    command: &Command,
    out: &mut [u8; MAX_COMMAND_RECORD_BYTES],
) -> Result<usize, EncodeError> {
    origin.write(out);
    let length = encode_command(command, &mut out[ORIGIN_BYTES..])?;
    Ok(ORIGIN_BYTES + length)
}

pub fn decode_command_record(payload: &[u8]) -> Result<(Origin, Command), DecodeError> {
    let (origin, message) = Origin::read(payload)?;
    Ok((origin, decode_command(message)?))
}

/// An event record's payload: the origin of the command that caused the events, their count
/// (u16), then each event as its length (u16) and its SBE bytes. A command with no events
/// still gets a record, so the sequences of the two journals stay aligned.
pub fn encode_events(origin: Origin, events: &[Event], out: &mut Vec<u8>) {
    let mut message = [0u8; cex_schema::MAX_MESSAGE_BYTES];
    out.clear();
    out.resize(ORIGIN_BYTES, 0);
    origin.write(out);
    out.extend_from_slice(&(events.len() as u16).to_le_bytes());
    for event in events {
        let length = encode_event(event, &mut message).expect("every engine event fits the schema");
        out.extend_from_slice(&(length as u16).to_le_bytes());
        out.extend_from_slice(&message[..length]);
    }
}

/// The origin and events of one event record.
pub fn decode_events(payload: &[u8]) -> Result<(Origin, Vec<Event>), DecodeError> {
    let mut events = Vec::new();
    let origin = decode_events_into(payload, &mut events)?;
    Ok((origin, events))
}

/// Like [`decode_events`], appending to a caller's buffer so a reader can reuse it.
pub fn decode_events_into(payload: &[u8], events: &mut Vec<Event>) -> Result<Origin, DecodeError> {
    let (origin, mut rest) = Origin::read(payload)?;
    let count = take_u16(&mut rest)?;
    for _ in 0..count {
        let length = take_u16(&mut rest)? as usize;
        if rest.len() < length {
            return Err(DecodeError::Truncated { needed: length, available: rest.len() });
        }
        let (message, after) = rest.split_at(length);
        events.push(decode_event(message)?);
        rest = after;
    }
    Ok(origin)
}

fn take_u16(bytes: &mut &[u8]) -> Result<u16, DecodeError> {
    let Some((head, rest)) = bytes.split_first_chunk::<2>() else {
        return Err(DecodeError::Truncated { needed: 2, available: bytes.len() });
    };
    *bytes = rest;
    Ok(u16::from_le_bytes(*head))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cex_engine::{AddAsset, EventBody};

    #[test]
    fn command_records_round_trip_with_their_origin() {
        let origin = Origin { producer: 7, request: u64::MAX - 3 };
        let command = Command::AddAsset(AddAsset { asset: 3, scale: 8 });
        let mut bytes = [0u8; MAX_COMMAND_RECORD_BYTES];
        let length = encode_command_record(origin, &command, &mut bytes).unwrap();
        assert_eq!(decode_command_record(&bytes[..length]).unwrap(), (origin, command));
        assert!(decode_command_record(&bytes[..ORIGIN_BYTES - 1]).is_err());
    }

    #[test]
    fn event_records_round_trip_and_reject_lying_lengths() {
        let origin = Origin { producer: 2, request: 99 };
        let events = [Event { txid: 5, body: EventBody::AssetAdded { asset: 1, scale: 6 } }; 3];
        let mut payload = Vec::new();
        encode_events(origin, &events, &mut payload);
        assert_eq!(decode_events(&payload).unwrap(), (origin, events.to_vec()));
        for cut in 0..payload.len() {
            assert!(decode_events(&payload[..cut]).is_err(), "a record cut at {cut} must not decode");
        }
    }
}
