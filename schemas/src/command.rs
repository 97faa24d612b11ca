//! Commands to and from their messages, templates 1 to 15. Engine structs are destructured
//! whole, so a field added to one fails to compile here until the schema carries it.

use cex_engine::{AddAsset, AdjustBalance, Amend, Cancel, CancelAll, Command, MassQuote, NewOrder, SymbolFees};

use crate::bridge::{native, wire};
use crate::codec::{self, MessageDecoder as M};
use crate::spec::{decode_spec, encode_spec};
use crate::{DecodeError, EncodeError};

/// Writes `command` as one message at the start of `buf`; returns its length.
pub fn encode_command(command: &Command, buf: &mut [u8]) -> Result<usize, EncodeError> {
    match *command {
        Command::AddAsset(AddAsset { asset, scale }) => codec::AddAsset { asset, scale }.encode(buf),
        Command::AddSymbol(spec) => encode_spec!(AddSymbol {}, spec).encode(buf),
        Command::SetSymbolStatus { symbol, status } => {
            codec::SetSymbolStatus { symbol, status: wire(status)? }.encode(buf)
        }
        Command::SetSymbolFees(SymbolFees { symbol, tier, maker_fee_bps, taker_fee_bps }) => {
            codec::SetSymbolFees { symbol, tier, maker_fee_bps, taker_fee_bps }.encode(buf)
        }
        Command::SetTierLimits { tier, max_open_orders } => codec::SetTierLimits { tier, max_open_orders }.encode(buf),
        Command::CreateAccount { account, fee_tier } => codec::CreateAccount { account, fee_tier }.encode(buf),
        Command::SetAccountStatus { account, status } => {
            codec::SetAccountStatus { account, status: wire(status)? }.encode(buf)
        }
        Command::SetAccountFeeTier { account, fee_tier } => codec::SetAccountFeeTier { account, fee_tier }.encode(buf),
        Command::AdjustBalance(AdjustBalance { account, asset, amount, ref_id }) => {
            codec::AdjustBalance { account, asset, amount, ref_id }.encode(buf)
        }
        Command::NewOrder(order) => encode_new_order(order)?.encode(buf),
        Command::Cancel(Cancel { account, order_id, client_order_id }) => {
            codec::Cancel { account, order_id, client_order_id }.encode(buf)
        }
        Command::CancelAll(CancelAll { account, symbol, side }) => {
            codec::CancelAll { account, symbol, side: side.map(wire).transpose()? }.encode(buf)
        }
        Command::Amend(Amend { account, order_id, client_order_id, new_price, new_qty }) => {
            codec::Amend { account, order_id, client_order_id, new_price, new_qty }.encode(buf)
        }
        Command::MassQuote(MassQuote { account, symbol, bid_price, bid_qty, ask_price, ask_qty }) => {
            codec::MassQuote { account, symbol, bid_price, bid_qty, ask_price, ask_qty }.encode(buf)
        }
        Command::AdminCancel { order_id } => codec::AdminCancel { order_id }.encode(buf),
    }
}

/// Reads one command message. An event message is an `UnknownTemplate` here.
pub fn decode_command(bytes: &[u8]) -> Result<Command, DecodeError> {
    Ok(match M::decode(bytes)? {
        M::AddAsset(m) => Command::AddAsset(AddAsset { asset: m.asset()?, scale: m.scale()? }),
        M::AddSymbol(m) => Command::AddSymbol(decode_spec!(m)),
        M::SetSymbolStatus(m) => Command::SetSymbolStatus { symbol: m.symbol()?, status: native(m.status()?)? },
        M::SetSymbolFees(m) => Command::SetSymbolFees(SymbolFees {
            symbol: m.symbol()?,
            tier: m.tier()?,
            maker_fee_bps: m.maker_fee_bps()?,
            taker_fee_bps: m.taker_fee_bps()?,
        }),
        M::SetTierLimits(m) => Command::SetTierLimits { tier: m.tier()?, max_open_orders: m.max_open_orders()? },
        M::CreateAccount(m) => Command::CreateAccount { account: m.account()?, fee_tier: m.fee_tier()? },
        M::SetAccountStatus(m) => Command::SetAccountStatus { account: m.account()?, status: native(m.status()?)? },
        M::SetAccountFeeTier(m) => Command::SetAccountFeeTier { account: m.account()?, fee_tier: m.fee_tier()? },
        M::AdjustBalance(m) => Command::AdjustBalance(AdjustBalance {
            account: m.account()?,
            asset: m.asset()?,
            amount: m.amount()?,
            ref_id: m.ref_id()?,
        }),
        M::NewOrder(m) => Command::NewOrder(decode_new_order(&m)?),
        M::Cancel(m) => Command::Cancel(Cancel {
            account: m.account()?,
            order_id: m.order_id()?,
            client_order_id: m.client_order_id()?,
        }),
        M::CancelAll(m) => Command::CancelAll(CancelAll {
            account: m.account()?,
            symbol: m.symbol()?,
            side: m.side()?.map(native).transpose()?,
        }),
        M::Amend(m) => Command::Amend(Amend {
            account: m.account()?,
            order_id: m.order_id()?,
            client_order_id: m.client_order_id()?,
            new_price: m.new_price()?,
            new_qty: m.new_qty()?,
        }),
        M::MassQuote(m) => Command::MassQuote(MassQuote {
            account: m.account()?,
            symbol: m.symbol()?,
            bid_price: m.bid_price()?,
            bid_qty: m.bid_qty()?,
            ask_price: m.ask_price()?,
            ask_qty: m.ask_qty()?,
        }),
        M::AdminCancel(m) => Command::AdminCancel { order_id: m.order_id()? },
        event => return Err(DecodeError::UnknownTemplate(event.template_id())),
    })
}

fn encode_new_order(order: NewOrder) -> Result<codec::NewOrder, EncodeError> {
    let NewOrder {
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
    } = order;
    Ok(codec::NewOrder {
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
    })
}

fn decode_new_order(m: &codec::NewOrderDecoder) -> Result<NewOrder, DecodeError> {
    Ok(NewOrder {
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
    })
}
