//! What the gateway sends, decoded into owned values: the session's messages, the account's
//! responses and market data.

use cex_gateway_protocol::codec::{
    self, KeyPermissions, LogonOptions, LogonRejectReason, LogoutReason, MessageDecoder as M, SessionRejectReason,
};

use crate::ClientError;

/// The longest frame the client accepts from the gateway. The longest message of schema
/// version 2 is a BookUpdate with 65,535 levels, about 1.4 MB; the rest is headroom for the
/// wider group entries a newer version may add. The bound keeps a broken stream from making
/// the client buffer without limit.
pub const MAX_SERVER_FRAME_LENGTH: usize = 4 << 20;

/// What a LogonAccepted says: the session, and the rules in force on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogonInfo {
    pub session_id: codec::SessionId,
    /// The account every order of the session trades for.
    pub account: codec::AccountId,
    /// What the key may do; without `trade`, order entry is refused.
    pub permissions: KeyPermissions,
    /// The options in force.
    pub options: LogonOptions,
    /// The heartbeat interval in force.
    pub heartbeat_interval_ms: codec::IntervalMs,
    /// The sequence number the gateway gives the client's next message (the Logon was 1).
    pub next_inbound_seq_num: codec::SeqNum,
    /// Responses of commands up to this journal sequence are sent only on a RetransmitRequest;
    /// later ones are sent live.
    pub last_txid: codec::TxId,
}

impl From<codec::LogonAccepted> for LogonInfo {
    fn from(accepted: codec::LogonAccepted) -> Self {
        let codec::LogonAccepted {
            session_id,
            account,
            permissions,
            options,
            heartbeat_interval_ms,
            next_inbound_seq_num,
            last_txid,
        } = accepted;
        LogonInfo { session_id, account, permissions, options, heartbeat_interval_ms, next_inbound_seq_num, last_txid }
    }
}

/// A BookUpdate with its levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookUpdate {
    /// The book is as of this journal sequence.
    pub txid: codec::TxId,
    pub symbol: codec::SymbolId,
    pub update_type: codec::BookUpdateType,
    pub levels: Vec<codec::BookUpdateLevelsEntry>,
}

/// One message from the gateway, owned: it outlives the receive buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMessage {
    /// The answer to the Logon; [`crate::Session::logon`] consumes it.
    LogonAccepted(LogonInfo),
    /// The logon was refused; [`crate::Session::logon`] turns it into an error.
    LogonRejected {
        reason: LogonRejectReason,
        text: String,
    },
    Heartbeat,
    /// The gateway ends the session and closes the connection.
    Logout {
        reason: LogoutReason,
        text: String,
    },
    /// Every response of a RetransmitRequest was resent.
    RetransmitComplete {
        from_txid: codec::TxId,
        to_txid: codec::TxId,
        messages: codec::MessageCount,
    },
    /// The client's message number `ref_seq_num` was refused before the engine; the session
    /// goes on.
    SessionReject {
        ref_seq_num: codec::SeqNum,
        ref_template_id: u16,
        reason: SessionRejectReason,
        text: String,
    },
    Execution(codec::ExecutionReport),
    Trade(codec::TradeReport),
    Balance(codec::BalanceUpdate),
    TradeTick(codec::TradeTick),
    BookUpdate(BookUpdate),
}

impl ServerMessage {
    /// Decodes one SBE message (a frame without its framing header) and reads every field.
    /// A message only a client sends, or an engine journal record, is
    /// [`ClientError::UnexpectedMessage`].
    pub fn decode(message: &[u8]) -> Result<ServerMessage, ClientError> {
        Ok(match M::decode(message)? {
            M::LogonAccepted(m) => ServerMessage::LogonAccepted(m.value()?.into()),
            M::LogonRejected(m) => {
                let codec::LogonRejected { reason, text } = m.value()?;
                ServerMessage::LogonRejected { reason, text: text.to_string() }
            }
            M::Heartbeat(m) => {
                m.validate()?;
                ServerMessage::Heartbeat
            }
            M::Logout(m) => {
                let codec::Logout { reason, text } = m.value()?;
                ServerMessage::Logout { reason, text: text.to_string() }
            }
            M::RetransmitComplete(m) => {
                let codec::RetransmitComplete { from_txid, to_txid, messages } = m.value()?;
                ServerMessage::RetransmitComplete { from_txid, to_txid, messages }
            }
            M::SessionReject(m) => {
                let codec::SessionReject { ref_seq_num, ref_template_id, reason, text } = m.value()?;
                ServerMessage::SessionReject { ref_seq_num, ref_template_id, reason, text: text.to_string() }
            }
            M::ExecutionReport(m) => ServerMessage::Execution(m.value()?),
            M::TradeReport(m) => ServerMessage::Trade(m.value()?),
            M::BalanceUpdate(m) => ServerMessage::Balance(m.value()?),
            M::TradeTick(m) => ServerMessage::TradeTick(m.value()?),
            M::BookUpdate(m) => ServerMessage::BookUpdate(book_update(&m)?),
            other => return Err(ClientError::UnexpectedMessage { template_id: other.template_id() }),
        })
    }

    /// The message's template id.
    pub fn template_id(&self) -> u16 {
        match self {
            ServerMessage::LogonAccepted(_) => codec::LogonAccepted::TEMPLATE_ID,
            ServerMessage::LogonRejected { .. } => codec::LogonRejected::TEMPLATE_ID,
            ServerMessage::Heartbeat => codec::Heartbeat::TEMPLATE_ID,
            ServerMessage::Logout { .. } => codec::Logout::TEMPLATE_ID,
            ServerMessage::RetransmitComplete { .. } => codec::RetransmitComplete::TEMPLATE_ID,
            ServerMessage::SessionReject { .. } => codec::SessionReject::TEMPLATE_ID,
            ServerMessage::Execution(_) => codec::ExecutionReport::TEMPLATE_ID,
            ServerMessage::Trade(_) => codec::TradeReport::TEMPLATE_ID,
            ServerMessage::Balance(_) => codec::BalanceUpdate::TEMPLATE_ID,
            ServerMessage::TradeTick(_) => codec::TradeTick::TEMPLATE_ID,
            ServerMessage::BookUpdate(_) => codec::BookUpdate::TEMPLATE_ID,
        }
    }

    /// The journal sequence of the command that caused it, for responses and market data.
    pub fn txid(&self) -> Option<codec::TxId> {
        match self {
            ServerMessage::Execution(report) => Some(report.txid),
            ServerMessage::Trade(report) => Some(report.txid),
            ServerMessage::Balance(update) => Some(update.txid),
            ServerMessage::TradeTick(tick) => Some(tick.txid),
            ServerMessage::BookUpdate(update) => Some(update.txid),
            _ => None,
        }
    }
}

fn book_update(m: &codec::BookUpdateDecoder<'_>) -> Result<BookUpdate, ClientError> {
    let levels = m.levels().map(|entry| entry.value()).collect::<Result<Vec<_>, _>>()?;
    Ok(BookUpdate { txid: m.txid()?, symbol: m.symbol()?, update_type: m.update_type()?, levels })
}
