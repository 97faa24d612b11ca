//! The binary gateway's wire protocol, shared by the gateway server and the client library:
//!
//! - [`framing`]: the Simple Open Framing Header around each SBE message, a bounded
//!   [`FrameDecoder`] and [`FrameBuffer`] for byte streams, and [`encode_frame`];
//! - the codecs, generated from `schemas/cex.xml` by `cex-schema` ([`codec`]), and the mapping
//!   between order entry, responses and engine values ([`order_entry_commands`],
//!   [`ResponseMapper`], ...);
//! - [`logon`]: what a Logon signs;
//! - [`inbound`]: which messages a client may send, and the SessionReject that answers one
//!   that is refused.
//!
//! docs/BINARY_PROTOCOL.md describes the protocol. Nothing here panics on untrusted bytes.

#![forbid(unsafe_code)]

pub mod framing;
pub mod inbound;
pub mod logon;

pub use cex_schema::codec;
pub use cex_schema::session_app::{
    encode_order_entry, is_order_entry, null_execution_report, order_entry_commands, trade_tick, OrderEntryError,
    Response, ResponseMapper, MAX_RESPONSE_BYTES,
};
pub use cex_schema::{templates, DecodeError, EncodeError};
pub use framing::{
    encode_frame, write_frame_header, Frame, FrameBuffer, FrameDecoder, FrameError, Frames, DEFAULT_MAX_FRAME_LENGTH,
    FRAME_HEADER_LENGTH, MIN_FRAME_LENGTH, SBE_1_0_LITTLE_ENDIAN,
};
pub use inbound::{decode_client_message, order_entry_refusal, reject_reason, Refusal};
pub use logon::{logon_payload, sign_logon};
