//! What a client may send, and how the gateway answers a message it refuses.
//!
//! A frame error closes the connection (see [`crate::framing`]). A well-framed message that
//! does not decode, that a client may not send, or whose fields are invalid, is answered with a
//! SessionReject carrying a [`SessionRejectReason`] and a text; the session goes on.

use cex_schema::codec::{self, MessageDecoder, SessionRejectReason};
use cex_schema::session_app::OrderEntryError;
use cex_schema::{templates, DecodeError};

/// A refused client message: what the SessionReject answering it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The refused message's template id; 0 when its header could not be read.
    pub ref_template_id: u16,
    pub reason: SessionRejectReason,
    /// Details for a person.
    pub text: String,
}

impl Refusal {
    /// The SessionReject answering the client's message number `ref_seq_num`.
    pub fn session_reject(&self, ref_seq_num: u64) -> codec::SessionReject<'_> {
        codec::SessionReject {
            ref_seq_num,
            ref_template_id: self.ref_template_id,
            reason: self.reason,
            text: &self.text,
        }
    }
}

/// Whether a client may send messages of `template_id`: Logon, Heartbeat, Logout,
/// RetransmitRequest and order entry.
pub fn client_may_send(template_id: u16) -> bool {
    let session = [
        codec::Logon::TEMPLATE_ID,
        codec::Heartbeat::TEMPLATE_ID,
        codec::Logout::TEMPLATE_ID,
        codec::RetransmitRequest::TEMPLATE_ID,
    ];
    session.contains(&template_id) || templates::ORDER_ENTRY.contains(&template_id)
}

/// The SessionReject reason for a message that does not decode.
pub fn reject_reason(error: &DecodeError) -> SessionRejectReason {
    match error {
        DecodeError::Truncated { .. } => SessionRejectReason::Truncated,
        DecodeError::WrongSchema(_) => SessionRejectReason::WrongSchema,
        DecodeError::UnsupportedVersion(_) => SessionRejectReason::UnsupportedVersion,
        DecodeError::UnknownTemplate(_) => SessionRejectReason::UnknownTemplate,
        DecodeError::BlockLengthTooShort { .. } | DecodeError::GroupBlockLengthTooShort { .. } => {
            SessionRejectReason::InvalidBlockLength
        }
        DecodeError::TrailingBytes { .. } => SessionRejectReason::TrailingBytes,
        DecodeError::InvalidEnum { .. }
        | DecodeError::InvalidSet { .. }
        | DecodeError::DataTooLong { .. }
        | DecodeError::InvalidUtf8 { .. } => SessionRejectReason::InvalidFieldValue,
    }
}

/// Decodes a message a client sent (the SBE message of one frame) and reads every field,
/// entry and data element. Refused when it does not decode, when a field is invalid, or when
/// it is not a message a client may send.
pub fn decode_client_message(message: &[u8]) -> Result<MessageDecoder<'_>, Refusal> {
    let ref_template_id = codec::read_header(message).map_or(0, |header| header.template_id);
    let refusal =
        |error: DecodeError| Refusal { ref_template_id, reason: reject_reason(&error), text: error.to_string() };
    let decoded = MessageDecoder::decode(message).map_err(refusal)?;
    if !client_may_send(decoded.template_id()) {
        return Err(Refusal {
            ref_template_id,
            reason: SessionRejectReason::UnexpectedMessage,
            text: format!("{} is not a message a client sends", decoded.name()),
        });
    }
    validate(&decoded).map_err(refusal)?;
    Ok(decoded)
}

/// Every field, entry and data element of a client message.
fn validate(message: &MessageDecoder<'_>) -> Result<(), DecodeError> {
    match message {
        MessageDecoder::Logon(m) => m.validate(),
        MessageDecoder::Heartbeat(m) => m.validate(),
        MessageDecoder::Logout(m) => m.validate(),
        MessageDecoder::RetransmitRequest(m) => m.validate(),
        MessageDecoder::NewOrderSingle(m) => m.validate(),
        MessageDecoder::CancelOrder(m) => m.validate(),
        MessageDecoder::CancelAllOrders(m) => m.validate(),
        MessageDecoder::AmendOrder(m) => m.validate(),
        MessageDecoder::MassQuoteRequest(m) => m.validate(),
        // `client_may_send` let nothing else through; a new client message must be added here.
        other => Err(DecodeError::UnknownTemplate(other.template_id())),
    }
}

/// The refusal of an order-entry message the engine mapping could not take.
pub fn order_entry_refusal(ref_template_id: u16, error: &OrderEntryError) -> Refusal {
    let reason = match error {
        OrderEntryError::Decode(error) => reject_reason(error),
        OrderEntryError::NoQuotes | OrderEntryError::Encode(_) => SessionRejectReason::InvalidFieldValue,
        OrderEntryError::NotOrderEntry { .. } | OrderEntryError::NotOrderEntryCommand(_) => {
            SessionRejectReason::UnexpectedMessage
        }
    };
    Refusal { ref_template_id, reason, text: error.to_string() }
}
