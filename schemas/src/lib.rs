//! The wire form of the engine's commands and events, and of the binary gateway's messages:
//! the SBE schema in `cex.xml`, the codecs `build/` generates from it at build time (`codec`),
//! and the mapping between those codecs and the engine's types.
//!
//! The command and event journals store each record as one message: an 8-byte SBE header and
//! a fixed-size block. The gateway's messages (templates 200 and up, see [`templates`]) add
//! repeating groups and variable-length data; [`session_app`] maps them to and from engine
//! values. The layout lives only in the XML; see `README.md` for how the schema may change.
//! Decoding never panics and never reads out of bounds, whatever the bytes.

#![forbid(unsafe_code)]

mod bridge;
pub mod codec;
mod command;
mod error;
mod event;
pub mod session_app;
mod spec;
mod wire;

#[cfg(test)]
mod evolution;

pub use command::{decode_command, encode_command};
pub use error::{DecodeError, EncodeError};
pub use event::{decode_event, encode_event};
pub use wire::{MessageHeader, FIRST_VERSION};

/// Bytes of the longest command or event message, header included: a buffer this long holds
/// any journal record's message. (Gateway messages are not counted; some have no bound.)
pub const MAX_MESSAGE_BYTES: usize = longest_journal_message();

/// The template id ranges. A range is never renumbered and an id never reused.
pub mod templates {
    use std::ops::RangeInclusive;

    /// Engine commands, journaled: template = `CommandKind` + 1.
    pub const COMMANDS: RangeInclusive<u16> = 1..=100;
    /// Engine events, journaled: from 101 in `EventBody` order.
    pub const EVENTS: RangeInclusive<u16> = 101..=199;
    /// Gateway session layer, both directions.
    pub const SESSION: RangeInclusive<u16> = 200..=299;
    /// Gateway order entry, client to gateway.
    pub const ORDER_ENTRY: RangeInclusive<u16> = 300..=399;
    /// Gateway responses, gateway to client.
    pub const RESPONSES: RangeInclusive<u16> = 400..=499;
    /// Gateway market data, gateway to client.
    pub const MARKET_DATA: RangeInclusive<u16> = 500..=599;
}

const fn longest_journal_message() -> usize {
    let mut longest = 0;
    let mut i = 0;
    while i < codec::MESSAGES.len() {
        let message = &codec::MESSAGES[i];
        if message.template_id <= *templates::EVENTS.end() {
            let length = codec::HEADER_LENGTH + message.block_length;
            if length > longest {
                longest = length;
            }
        }
        i += 1;
    }
    longest
}
