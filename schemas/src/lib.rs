//! The wire form of the engine's commands and events: the SBE schema in `cex.xml`, the codecs
//! `build/` generates from it at build time (`codec`), and the mapping between those codecs
//! and the engine's types.
//!
//! The command and event journals store each record as one message: an 8-byte SBE header and
//! a fixed-size block. The layout lives only in the XML; see `README.md` for how the schema
//! may change. Decoding never panics and never reads out of bounds, whatever the bytes.

#![forbid(unsafe_code)]

mod bridge;
pub mod codec;
mod command;
mod error;
mod event;
mod spec;
mod wire;

#[cfg(test)]
mod evolution;

pub use command::{decode_command, encode_command};
pub use error::{DecodeError, EncodeError};
pub use event::{decode_event, encode_event};
pub use wire::{MessageHeader, FIRST_VERSION};

/// Bytes of the longest message, header included: a buffer this long holds any command or
/// event.
pub const MAX_MESSAGE_BYTES: usize = codec::MAX_ENCODED_LENGTH;
