//! Events to and from their messages, templates 101 to 115; `txid` is every event message's
//! first field. Engine structs are destructured whole, so a field added to one fails to
//! compile here until the schema carries it.

use cex_engine::{
    BalanceChanged, Event, EventBody, OrderAccepted, OrderAmended, OrderCancelled, Rejected, StopTriggered,
    SymbolFeesChanged, Trade,
};

use crate::bridge::{native, wire};
use crate::codec::{self, MessageDecoder as M};
use crate::spec::{decode_spec, encode_spec};
use crate::{DecodeError, EncodeError};

/// Writes `event` as one message at the start of `buf`; returns its length.
pub fn encode_event(event: &Event, buf: &mut [u8]) -> Result<usize, EncodeError> {
    let txid = event.txid;
    match event.body {
        EventBody::Rejected(rejected) => encode_rejected(txid, rejected)?.encode(buf),
        EventBody::OrderAccepted(accepted) => encode_accepted(txid, accepted)?.encode(buf),
        EventBody::Trade(trade) => encode_trade(txid, trade)?.encode(buf),
        EventBody::OrderCancelled(cancelled) => encode_cancelled(txid, cancelled)?.encode(buf),
        EventBody::OrderAmended(amended) => encode_amended(txid, amended)?.encode(buf),
        EventBody::StopTriggered(StopTriggered { order_id, account, symbol, stop_price, last_price }) => {
            codec::StopTriggered { txid, order_id, account, symbol, stop_price, last_price }.encode(buf)
        }
        EventBody::BalanceChanged(change) => encode_balance(txid, change)?.encode(buf),
        EventBody::AssetAdded { asset, scale } => codec::AssetAdded { txid, asset, scale }.encode(buf),
        EventBody::SymbolAdded(spec) => encode_spec!(SymbolAdded { txid }, spec).encode(buf),
        EventBody::SymbolStatusChanged { symbol, old, new } => {
            codec::SymbolStatusChanged { txid, symbol, old_status: wire(old)?, new_status: wire(new)? }.encode(buf)
        }
        EventBody::SymbolFeesChanged(fees) => encode_fees(txid, fees).encode(buf),
        EventBody::TierLimitsChanged { tier, old_max_open_orders, new_max_open_orders } => {
            codec::TierLimitsChanged { txid, tier, old_max_open_orders, new_max_open_orders }.encode(buf)
        }
        EventBody::AccountCreated { account, fee_tier } => {
            codec::AccountCreated { txid, account, fee_tier }.encode(buf)
        }
        EventBody::AccountStatusChanged { account, old, new } => {
            codec::AccountStatusChanged { txid, account, old_status: wire(old)?, new_status: wire(new)? }.encode(buf)
        }
        EventBody::AccountFeeTierChanged { account, old, new } => {
            codec::AccountFeeTierChanged { txid, account, old_fee_tier: old, new_fee_tier: new }.encode(buf)
        }
    }
}

/// Reads one event message. A command message is an `UnknownTemplate` here.
pub fn decode_event(bytes: &[u8]) -> Result<Event, DecodeError> {
    let (txid, body) = match M::decode(bytes)? {
        M::Rejected(m) => (m.txid()?, decode_rejected(&m)?),
        M::OrderAccepted(m) => (m.txid()?, decode_accepted(&m)?),
        M::Trade(m) => (m.txid()?, decode_trade(&m)?),
        M::OrderCancelled(m) => (m.txid()?, decode_cancelled(&m)?),
        M::OrderAmended(m) => (m.txid()?, decode_amended(&m)?),
        M::StopTriggered(m) => (m.txid()?, decode_stop(&m)?),
        M::BalanceChanged(m) => (m.txid()?, decode_balance(&m)?),
        M::AssetAdded(m) => (m.txid()?, EventBody::AssetAdded { asset: m.asset()?, scale: m.scale()? }),
        M::SymbolAdded(m) => (m.txid()?, EventBody::SymbolAdded(decode_spec!(m))),
        M::SymbolStatusChanged(m) => (m.txid()?, decode_symbol_status(&m)?),
        M::SymbolFeesChanged(m) => (m.txid()?, decode_fees(&m)?),
        M::TierLimitsChanged(m) => (m.txid()?, decode_tier_limits(&m)?),
        M::AccountCreated(m) => {
            (m.txid()?, EventBody::AccountCreated { account: m.account()?, fee_tier: m.fee_tier()? })
        }
        M::AccountStatusChanged(m) => (m.txid()?, decode_account_status(&m)?),
        M::AccountFeeTierChanged(m) => (m.txid()?, decode_account_tier(&m)?),
        command => return Err(DecodeError::UnknownTemplate(command.template_id())),
    };
    Ok(Event { txid, body })
}

fn encode_rejected(txid: u64, rejected: Rejected) -> Result<codec::Rejected, EncodeError> {
    let Rejected { command, account, order_id, client_order_id, reason } = rejected;
    Ok(codec::Rejected { txid, command: wire(command)?, account, order_id, client_order_id, reason: wire(reason)? })
}

fn decode_rejected(m: &codec::RejectedDecoder) -> Result<EventBody, DecodeError> {
    Ok(EventBody::Rejected(Rejected {
        command: native(m.command()?)?,
        account: m.account()?,
        order_id: m.order_id()?,
        client_order_id: m.client_order_id()?,
        reason: native(m.reason()?)?,
    }))
}

fn encode_accepted(txid: u64, accepted: OrderAccepted) -> Result<codec::OrderAccepted, EncodeError> {
    let OrderAccepted {
        order_id,
        account,
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
        frozen,
    } = accepted;
    Ok(codec::OrderAccepted {
        txid,
        order_id,
        account,
        symbol,
        client_order_id,
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
        frozen,
    })
}

fn decode_accepted(m: &codec::OrderAcceptedDecoder) -> Result<EventBody, DecodeError> {
    Ok(EventBody::OrderAccepted(OrderAccepted {
        order_id: m.order_id()?,
        account: m.account()?,
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
        frozen: m.frozen()?,
    }))
}

fn encode_trade(txid: u64, trade: Trade) -> Result<codec::Trade, EncodeError> {
    let Trade {
        trade_id,
        symbol,
        price,
        qty,
        notional,
        taker_side,
        maker_order_id,
        taker_order_id,
        maker_account,
        taker_account,
        maker_fee,
        taker_fee,
        maker_remaining,
        taker_remaining,
    } = trade;
    Ok(codec::Trade {
        txid,
        trade_id,
        symbol,
        price,
        qty,
        notional,
        taker_side: wire(taker_side)?,
        maker_order_id,
        taker_order_id,
        maker_account,
        taker_account,
        maker_fee,
        taker_fee,
        maker_remaining,
        taker_remaining,
    })
}

fn decode_trade(m: &codec::TradeDecoder) -> Result<EventBody, DecodeError> {
    Ok(EventBody::Trade(Trade {
        trade_id: m.trade_id()?,
        symbol: m.symbol()?,
        price: m.price()?,
        qty: m.qty()?,
        notional: m.notional()?,
        taker_side: native(m.taker_side()?)?,
        maker_order_id: m.maker_order_id()?,
        taker_order_id: m.taker_order_id()?,
        maker_account: m.maker_account()?,
        taker_account: m.taker_account()?,
        maker_fee: m.maker_fee()?,
        taker_fee: m.taker_fee()?,
        maker_remaining: m.maker_remaining()?,
        taker_remaining: m.taker_remaining()?,
    }))
}

fn encode_cancelled(txid: u64, cancelled: OrderCancelled) -> Result<codec::OrderCancelled, EncodeError> {
    let OrderCancelled { order_id, account, symbol, side, remaining, reason } = cancelled;
    let (side, reason) = (wire(side)?, wire(reason)?);
    Ok(codec::OrderCancelled { txid, order_id, account, symbol, side, remaining, reason })
}

fn decode_cancelled(m: &codec::OrderCancelledDecoder) -> Result<EventBody, DecodeError> {
    Ok(EventBody::OrderCancelled(OrderCancelled {
        order_id: m.order_id()?,
        account: m.account()?,
        symbol: m.symbol()?,
        side: native(m.side()?)?,
        remaining: m.remaining()?,
        reason: native(m.reason()?)?,
    }))
}

fn encode_amended(txid: u64, amended: OrderAmended) -> Result<codec::OrderAmended, EncodeError> {
    let OrderAmended { order_id, account, symbol, side, old_price, new_price, old_qty, new_qty, priority_kept } =
        amended;
    Ok(codec::OrderAmended {
        txid,
        order_id,
        account,
        symbol,
        side: wire(side)?,
        old_price,
        new_price,
        old_qty,
        new_qty,
        priority_kept: wire(priority_kept)?,
    })
}

fn decode_amended(m: &codec::OrderAmendedDecoder) -> Result<EventBody, DecodeError> {
    Ok(EventBody::OrderAmended(OrderAmended {
        order_id: m.order_id()?,
        account: m.account()?,
        symbol: m.symbol()?,
        side: native(m.side()?)?,
        old_price: m.old_price()?,
        new_price: m.new_price()?,
        old_qty: m.old_qty()?,
        new_qty: m.new_qty()?,
        priority_kept: native(m.priority_kept()?)?,
    }))
}

fn decode_stop(m: &codec::StopTriggeredDecoder) -> Result<EventBody, DecodeError> {
    Ok(EventBody::StopTriggered(StopTriggered {
        order_id: m.order_id()?,
        account: m.account()?,
        symbol: m.symbol()?,
        stop_price: m.stop_price()?,
        last_price: m.last_price()?,
    }))
}

fn encode_balance(txid: u64, change: BalanceChanged) -> Result<codec::BalanceChanged, EncodeError> {
    let BalanceChanged {
        account,
        asset,
        cause,
        reference,
        available_before,
        frozen_before,
        available_after,
        frozen_after,
    } = change;
    Ok(codec::BalanceChanged {
        txid,
        account,
        asset,
        cause: wire(cause)?,
        reference,
        available_before,
        frozen_before,
        available_after,
        frozen_after,
    })
}

fn decode_balance(m: &codec::BalanceChangedDecoder) -> Result<EventBody, DecodeError> {
    Ok(EventBody::BalanceChanged(BalanceChanged {
        account: m.account()?,
        asset: m.asset()?,
        cause: native(m.cause()?)?,
        reference: m.reference()?,
        available_before: m.available_before()?,
        frozen_before: m.frozen_before()?,
        available_after: m.available_after()?,
        frozen_after: m.frozen_after()?,
    }))
}

fn decode_symbol_status(m: &codec::SymbolStatusChangedDecoder) -> Result<EventBody, DecodeError> {
    Ok(EventBody::SymbolStatusChanged {
        symbol: m.symbol()?,
        old: native(m.old_status()?)?,
        new: native(m.new_status()?)?,
    })
}

fn encode_fees(txid: u64, fees: SymbolFeesChanged) -> codec::SymbolFeesChanged {
    let SymbolFeesChanged { symbol, tier, old_maker_fee_bps, old_taker_fee_bps, new_maker_fee_bps, new_taker_fee_bps } =
        fees;
    codec::SymbolFeesChanged {
        txid,
        symbol,
        tier,
        old_maker_fee_bps,
        old_taker_fee_bps,
        new_maker_fee_bps,
        new_taker_fee_bps,
    }
}

fn decode_fees(m: &codec::SymbolFeesChangedDecoder) -> Result<EventBody, DecodeError> {
    Ok(EventBody::SymbolFeesChanged(SymbolFeesChanged {
        symbol: m.symbol()?,
        tier: m.tier()?,
        old_maker_fee_bps: m.old_maker_fee_bps()?,
        old_taker_fee_bps: m.old_taker_fee_bps()?,
        new_maker_fee_bps: m.new_maker_fee_bps()?,
        new_taker_fee_bps: m.new_taker_fee_bps()?,
    }))
}

fn decode_tier_limits(m: &codec::TierLimitsChangedDecoder) -> Result<EventBody, DecodeError> {
    Ok(EventBody::TierLimitsChanged {
        tier: m.tier()?,
        old_max_open_orders: m.old_max_open_orders()?,
        new_max_open_orders: m.new_max_open_orders()?,
    })
}

fn decode_account_status(m: &codec::AccountStatusChangedDecoder) -> Result<EventBody, DecodeError> {
    Ok(EventBody::AccountStatusChanged {
        account: m.account()?,
        old: native(m.old_status()?)?,
        new: native(m.new_status()?)?,
    })
}

fn decode_account_tier(m: &codec::AccountFeeTierChangedDecoder) -> Result<EventBody, DecodeError> {
    Ok(EventBody::AccountFeeTierChanged { account: m.account()?, old: m.old_fee_tier()?, new: m.new_fee_tier()? })
}
