//! The binary gateway's application messages and engine values.
//!
//! - **Order entry** (templates 300-399, client to gateway) carries no account: the session
//!   stamps its own. [`order_entry_commands`] turns a decoded message into the engine
//!   commands it asks for; [`encode_order_entry`] goes the other way, for the client library.
//! - **Responses** (templates 400-499, gateway to client): a [`ResponseMapper`] turns the engine's
//!   events into one account's execution reports, trade reports and balance updates.
//! - **Market data** (templates 500-599): [`trade_tick`] for public trades.
//!
//! Engine structs are destructured whole, so a field added to one fails to compile here until
//! the schema carries it.

use std::collections::HashMap;
use std::fmt;

use cex_engine::{
    AccountId, Amend, BalanceChanged, Cancel, CancelAll, Command, CommandKind, Event, EventBody, MassQuote, NewOrder,
    OrderAccepted, OrderAmended, OrderCancelled, OrderId, OrderType, Rejected, Side, StopTriggered, Trade,
};

use crate::bridge::{native, wire};
use crate::codec::{self, ExecType, FeeAsset, LiquidityIndicator, MessageDecoder as M};
use crate::{templates, DecodeError, EncodeError};

/// Why a message or command is not order entry, or cannot be mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEntryError {
    /// The message is not one of the order-entry templates (300-399).
    NotOrderEntry { template_id: u16 },
    /// The command is not one a client may send (only NewOrder, Cancel, CancelAll, Amend and
    /// MassQuote are).
    NotOrderEntryCommand(CommandKind),
    /// A MassQuoteRequest without quotes.
    NoQuotes,
    /// A field could not be read.
    Decode(DecodeError),
    /// The message could not be written.
    Encode(EncodeError),
}

impl From<DecodeError> for OrderEntryError {
    fn from(error: DecodeError) -> Self {
        OrderEntryError::Decode(error)
    }
}

impl From<EncodeError> for OrderEntryError {
    fn from(error: EncodeError) -> Self {
        OrderEntryError::Encode(error)
    }
}

impl fmt::Display for OrderEntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderEntryError::NotOrderEntry { template_id } => write!(f, "template {template_id} is not order entry"),
            OrderEntryError::NotOrderEntryCommand(kind) => write!(f, "a client cannot send {}", kind.name()),
            OrderEntryError::NoQuotes => write!(f, "a mass quote needs at least one quote"),
            OrderEntryError::Decode(error) => error.fmt(f),
            OrderEntryError::Encode(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for OrderEntryError {}

/// The engine commands a client's order-entry message asks for, stamped with `account`, passed
/// to `emit` in order; returns how many. NewOrderSingle, CancelOrder, CancelAllOrders and
/// AmendOrder give one command; MassQuoteRequest gives one `MassQuote` per quote. Every field of
/// the message is read first, so a message with a bad field emits nothing.
pub fn order_entry_commands(
    account: AccountId,
    message: &M<'_>,
    mut emit: impl FnMut(Command),
) -> Result<usize, OrderEntryError> {
    let command = match message {
        M::NewOrderSingle(m) => Command::NewOrder(NewOrder {
            account,
            symbol: m.symbol()?,
            client_order_id: m.client_order_id()?,
            side: native(m.side()?)?,
            order_type: native(m.order_type()?)?,
            time_in_force: native(m.time_in_force()?)?,
            price: m.price()?,
            qty: m.qty()?,
            quote_qty: m.quote_qty()?,
            stop_price: m.stop_price()?,
            expire_ts_ns: m.expire_ts_ns()?,
            post_only: native(m.post_only()?)?,
            stp: native(m.stp()?)?,
        }),
        M::CancelOrder(m) => {
            Command::Cancel(Cancel { account, order_id: m.order_id()?, client_order_id: m.client_order_id()? })
        }
        M::CancelAllOrders(m) => {
            Command::CancelAll(CancelAll { account, symbol: m.symbol()?, side: m.side()?.map(native).transpose()? })
        }
        M::AmendOrder(m) => Command::Amend(Amend {
            account,
            order_id: m.order_id()?,
            client_order_id: m.client_order_id()?,
            new_price: m.new_price()?,
            new_qty: m.new_qty()?,
        }),
        M::MassQuoteRequest(m) => {
            if m.quotes().next().is_none() {
                return Err(OrderEntryError::NoQuotes);
            }
            for quote in m.quotes() {
                quote.value()?;
            }
            for quote in m.quotes() {
                emit(Command::MassQuote(mass_quote(account, quote.value()?)));
            }
            return Ok(m.quotes().len());
        }
        other => return Err(OrderEntryError::NotOrderEntry { template_id: other.template_id() }),
    };
    emit(command);
    Ok(1)
}

fn mass_quote(account: AccountId, quote: codec::MassQuoteRequestQuotesEntry) -> MassQuote {
    let codec::MassQuoteRequestQuotesEntry { symbol, bid_price, bid_qty, ask_price, ask_qty } = quote;
    MassQuote { account, symbol, bid_price, bid_qty, ask_price, ask_qty }
}

/// Writes an order-entry command as the client message that asks for it, at the start of
/// `buf`; returns its length. The account is dropped: the session stamps its own. A
/// `MassQuote` becomes a MassQuoteRequest with one quote.
pub fn encode_order_entry(command: &Command, buf: &mut [u8]) -> Result<usize, OrderEntryError> {
    let length = match *command {
        Command::NewOrder(order) => {
            let NewOrder {
                account: _,
                symbol,
                client_order_id,
                side,
                order_type,
                time_in_force,
                price,
                qty,
                quote_qty,
                stop_price,
                expire_ts_ns,
                post_only,
                stp,
            } = order;
            codec::NewOrderSingle {
                client_order_id,
                symbol,
                side: wire(side)?,
                order_type: wire(order_type)?,
                time_in_force: wire(time_in_force)?,
                price,
                qty,
                quote_qty,
                stop_price,
                expire_ts_ns,
                post_only: wire(post_only)?,
                stp: wire(stp)?,
            }
            .encode(buf)?
        }
        Command::Cancel(Cancel { account: _, order_id, client_order_id }) => {
            codec::CancelOrder { order_id, client_order_id }.encode(buf)?
        }
        Command::CancelAll(CancelAll { account: _, symbol, side }) => {
            codec::CancelAllOrders { symbol, side: side.map(wire).transpose()? }.encode(buf)?
        }
        Command::Amend(Amend { account: _, order_id, client_order_id, new_price, new_qty }) => {
            codec::AmendOrder { order_id, client_order_id, new_price, new_qty }.encode(buf)?
        }
        Command::MassQuote(MassQuote { account: _, symbol, bid_price, bid_qty, ask_price, ask_qty }) => {
            let quote = codec::MassQuoteRequestQuotesEntry { symbol, bid_price, bid_qty, ask_price, ask_qty };
            codec::MassQuoteRequest { quotes: &[quote] }.encode(buf)?
        }
        other => return Err(OrderEntryError::NotOrderEntryCommand(other.kind())),
    };
    Ok(length)
}

/// Whether `template_id` is an order-entry message (client to gateway, 300-399).
pub fn is_order_entry(template_id: u16) -> bool {
    templates::ORDER_ENTRY.contains(&template_id)
}

/// A message for the client of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    Execution(codec::ExecutionReport),
    Trade(codec::TradeReport),
    Balance(codec::BalanceUpdate),
}

impl Response {
    /// Writes the message at the start of `buf`; returns its length.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        match self {
            Response::Execution(report) => report.encode(buf),
            Response::Trade(report) => report.encode(buf),
            Response::Balance(update) => update.encode(buf),
        }
    }

    pub fn encoded_length(&self) -> usize {
        match self {
            Response::Execution(report) => report.encoded_length(),
            Response::Trade(report) => report.encoded_length(),
            Response::Balance(update) => update.encoded_length(),
        }
    }

    /// Journal sequence of the command that caused it.
    pub fn txid(&self) -> u64 {
        match self {
            Response::Execution(report) => report.txid,
            Response::Trade(report) => report.txid,
            Response::Balance(update) => update.txid,
        }
    }
}

/// The longest response: a buffer this long holds any.
pub const MAX_RESPONSE_BYTES: usize = {
    let lengths = [
        codec::ExecutionReport::ENCODED_LENGTH,
        codec::TradeReport::ENCODED_LENGTH,
        codec::BalanceUpdate::ENCODED_LENGTH,
    ];
    let mut longest = 0;
    let mut i = 0;
    while i < lengths.len() {
        if lengths[i] > longest {
            longest = lengths[i];
        }
        i += 1;
    }
    longest
};

/// What the mapper remembers of an open order it saw accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TrackedOrder {
    client_order_id: u64,
    side: Side,
    order_qty: i64,
    cum_qty: i64,
}

/// Turns engine events into the responses of one account.
///
/// The engine's `Trade`, `OrderCancelled`, `OrderAmended` and `StopTriggered` do not carry the
/// client order id or the order's size, so the mapper remembers, for each of the account's
/// orders it saw accepted and that is still open, its client order id, side, quantity and
/// filled quantity. Reports about an order accepted before the mapper started (for instance
/// during a retransmit that begins mid-way) carry client order id 0 and no `orderQty` or
/// `cumQty`. Memory is bounded by the account's open orders.
#[derive(Debug, Clone)]
pub struct ResponseMapper {
    account: AccountId,
    orders: HashMap<OrderId, TrackedOrder>,
}

impl ResponseMapper {
    pub fn new(account: AccountId) -> Self {
        ResponseMapper { account, orders: HashMap::new() }
    }

    pub fn account(&self) -> AccountId {
        self.account
    }

    /// Open orders of the account the mapper remembers.
    pub fn tracked_orders(&self) -> usize {
        self.orders.len()
    }

    /// The account's responses to `event`, passed to `emit` in order; nothing for an event that
    /// does not concern the account. A trade between two of the account's own orders gives
    /// both sides: the maker's execution and trade reports, then the taker's.
    pub fn map(&mut self, event: &Event, mut emit: impl FnMut(Response)) -> Result<(), EncodeError> {
        let txid = event.txid;
        match event.body {
            EventBody::Rejected(rejected) if rejected.account == self.account => {
                if let Some(report) = self.rejected(txid, rejected)? {
                    emit(Response::Execution(report));
                }
            }
            EventBody::OrderAccepted(accepted) if accepted.account == self.account => {
                emit(Response::Execution(self.accepted(txid, accepted)?));
            }
            EventBody::Trade(trade) => {
                if trade.maker_account == self.account {
                    let (execution, report) = self.fill(txid, &trade, LiquidityIndicator::Maker)?;
                    emit(Response::Execution(execution));
                    emit(Response::Trade(report));
                }
                if trade.taker_account == self.account {
                    let (execution, report) = self.fill(txid, &trade, LiquidityIndicator::Taker)?;
                    emit(Response::Execution(execution));
                    emit(Response::Trade(report));
                }
            }
            EventBody::OrderCancelled(cancelled) if cancelled.account == self.account => {
                emit(Response::Execution(self.cancelled(txid, cancelled)?));
            }
            EventBody::OrderAmended(amended) if amended.account == self.account => {
                emit(Response::Execution(self.amended(txid, amended)?));
            }
            EventBody::StopTriggered(triggered) if triggered.account == self.account => {
                emit(Response::Execution(self.triggered(txid, triggered)?));
            }
            EventBody::BalanceChanged(change) if change.account == self.account => {
                emit(Response::Balance(balance_update(txid, change)?));
            }
            _ => {}
        }
        Ok(())
    }

    /// Only refusals of what a client can send: an administrator's commands are not reported.
    fn rejected(&self, txid: u64, rejected: Rejected) -> Result<Option<codec::ExecutionReport>, EncodeError> {
        let Rejected { command, account: _, order_id, client_order_id, reason } = rejected;
        let from_client = matches!(
            command,
            CommandKind::NewOrder
                | CommandKind::Cancel
                | CommandKind::CancelAll
                | CommandKind::Amend
                | CommandKind::MassQuote
        );
        if !from_client {
            return Ok(None);
        }
        Ok(Some(codec::ExecutionReport {
            order_id,
            client_order_id,
            reject_reason: Some(wire(reason)?),
            rejected_command: Some(wire(command)?),
            ..null_execution_report(txid, ExecType::Rejected)
        }))
    }

    fn accepted(&mut self, txid: u64, accepted: OrderAccepted) -> Result<codec::ExecutionReport, EncodeError> {
        let OrderAccepted {
            order_id,
            account: _,
            symbol,
            client_order_id,
            side,
            order_type,
            time_in_force,
            price,
            qty,
            quote_qty,
            stop_price,
            expire_ts_ns: _,
            post_only: _,
            stp: _,
            frozen: _,
        } = accepted;
        self.orders.insert(order_id, TrackedOrder { client_order_id, side, order_qty: qty, cum_qty: 0 });
        let leaves = if order_type == OrderType::MarketByQuote { quote_qty } else { qty };
        Ok(codec::ExecutionReport {
            order_id,
            client_order_id,
            symbol: Some(symbol),
            side: Some(wire(side)?),
            order_type: Some(wire(order_type)?),
            time_in_force: Some(wire(time_in_force)?),
            price: Some(price),
            order_qty: Some(qty),
            stop_price: order_type.is_stop().then_some(stop_price),
            leaves_qty: Some(leaves),
            cum_qty: Some(0),
            ..null_execution_report(txid, ExecType::New)
        })
    }

    fn fill(
        &mut self,
        txid: u64,
        trade: &Trade,
        liquidity: LiquidityIndicator,
    ) -> Result<(codec::ExecutionReport, codec::TradeReport), EncodeError> {
        let Trade {
            trade_id,
            symbol,
            price,
            qty,
            notional,
            taker_side,
            maker_order_id,
            taker_order_id,
            maker_account: _,
            taker_account: _,
            maker_fee,
            taker_fee,
            maker_remaining,
            taker_remaining,
        } = *trade;
        let (order_id, side, fee, remaining) = match liquidity {
            LiquidityIndicator::Maker => (maker_order_id, taker_side.opposite(), maker_fee, maker_remaining),
            LiquidityIndicator::Taker => (taker_order_id, taker_side, taker_fee, taker_remaining),
        };
        let tracked = self.orders.get_mut(&order_id).map(|order| {
            order.cum_qty = order.cum_qty.saturating_add(qty);
            *order
        });
        if remaining == 0 {
            self.orders.remove(&order_id);
        }
        let client_order_id = tracked.map_or(0, |order| order.client_order_id);
        let execution = codec::ExecutionReport {
            order_id,
            client_order_id,
            symbol: Some(symbol),
            side: Some(wire(side)?),
            order_qty: tracked.map(|order| order.order_qty),
            last_px: Some(price),
            last_qty: Some(qty),
            leaves_qty: Some(remaining),
            cum_qty: tracked.map(|order| order.cum_qty),
            trade_id: Some(trade_id),
            liquidity: Some(liquidity),
            ..null_execution_report(txid, ExecType::Trade)
        };
        let fee_asset = match side {
            Side::Buy => FeeAsset::Base,
            Side::Sell => FeeAsset::Quote,
        };
        let trade_report = codec::TradeReport {
            txid,
            trade_id,
            order_id,
            client_order_id,
            symbol,
            side: wire(side)?,
            liquidity,
            price,
            qty,
            notional,
            fee,
            fee_asset,
            leaves_qty: remaining,
        };
        Ok((execution, trade_report))
    }

    fn cancelled(&mut self, txid: u64, cancelled: OrderCancelled) -> Result<codec::ExecutionReport, EncodeError> {
        let OrderCancelled { order_id, account: _, symbol, side, remaining, reason } = cancelled;
        let tracked = self.orders.remove(&order_id);
        Ok(codec::ExecutionReport {
            order_id,
            client_order_id: tracked.map_or(0, |order| order.client_order_id),
            symbol: Some(symbol),
            side: Some(wire(side)?),
            order_qty: tracked.map(|order| order.order_qty),
            leaves_qty: Some(0),
            cum_qty: tracked.map(|order| order.cum_qty),
            canceled_qty: Some(remaining),
            cancel_reason: Some(wire(reason)?),
            ..null_execution_report(txid, ExecType::Canceled)
        })
    }

    fn amended(&mut self, txid: u64, amended: OrderAmended) -> Result<codec::ExecutionReport, EncodeError> {
        let OrderAmended {
            order_id,
            account: _,
            symbol,
            side,
            old_price: _,
            new_price,
            old_qty: _,
            new_qty,
            priority_kept,
        } = amended;
        let tracked = self.orders.get_mut(&order_id).map(|order| {
            order.order_qty = new_qty;
            *order
        });
        Ok(codec::ExecutionReport {
            order_id,
            client_order_id: tracked.map_or(0, |order| order.client_order_id),
            symbol: Some(symbol),
            side: Some(wire(side)?),
            price: Some(new_price),
            order_qty: Some(new_qty),
            leaves_qty: tracked.map(|order| new_qty.saturating_sub(order.cum_qty)),
            cum_qty: tracked.map(|order| order.cum_qty),
            priority_kept: Some(wire(priority_kept)?),
            ..null_execution_report(txid, ExecType::Replaced)
        })
    }

    fn triggered(&mut self, txid: u64, triggered: StopTriggered) -> Result<codec::ExecutionReport, EncodeError> {
        let StopTriggered { order_id, account: _, symbol, stop_price, last_price } = triggered;
        let tracked = self.orders.get(&order_id).copied();
        Ok(codec::ExecutionReport {
            order_id,
            client_order_id: tracked.map_or(0, |order| order.client_order_id),
            symbol: Some(symbol),
            side: tracked.map(|order| wire(order.side)).transpose()?,
            order_qty: tracked.map(|order| order.order_qty),
            stop_price: Some(stop_price),
            last_px: Some(last_price),
            cum_qty: tracked.map(|order| order.cum_qty),
            ..null_execution_report(txid, ExecType::Triggered)
        })
    }
}

/// An execution report with every optional field null: the base each report fills in.
pub fn null_execution_report(txid: u64, exec_type: ExecType) -> codec::ExecutionReport {
    codec::ExecutionReport {
        txid,
        exec_type,
        order_id: 0,
        client_order_id: 0,
        symbol: None,
        side: None,
        order_type: None,
        time_in_force: None,
        price: None,
        order_qty: None,
        stop_price: None,
        last_px: None,
        last_qty: None,
        leaves_qty: None,
        cum_qty: None,
        canceled_qty: None,
        trade_id: None,
        liquidity: None,
        cancel_reason: None,
        reject_reason: None,
        rejected_command: None,
        priority_kept: None,
    }
}

fn balance_update(txid: u64, change: BalanceChanged) -> Result<codec::BalanceUpdate, EncodeError> {
    let BalanceChanged {
        account: _,
        asset,
        cause,
        reference,
        available_before,
        frozen_before,
        available_after,
        frozen_after,
    } = change;
    Ok(codec::BalanceUpdate {
        txid,
        asset,
        cause: wire(cause)?,
        reference,
        available_before,
        frozen_before,
        available_after,
        frozen_after,
    })
}

/// The public trade of a `Trade` event; `None` for any other event.
pub fn trade_tick(event: &Event) -> Result<Option<codec::TradeTick>, EncodeError> {
    let EventBody::Trade(trade) = event.body else {
        return Ok(None);
    };
    let Trade { trade_id, symbol, price, qty, taker_side, .. } = trade;
    Ok(Some(codec::TradeTick { txid: event.txid, trade_id, symbol, price, qty, taker_side: wire(taker_side)? }))
}
