//! One value of every command and event kind, every field distinct and non-zero, so a field
//! mapped to the wrong place cannot round-trip.

#![allow(dead_code)] // each test binary uses part of this module

use cex_engine::*;

pub fn commands() -> Vec<Command> {
    vec![
        Command::AddAsset(AddAsset { asset: 7, scale: 18 }),
        Command::AddSymbol(spec()),
        Command::SetSymbolStatus { symbol: 3, status: SymbolStatus::Delisted },
        Command::SetSymbolFees(SymbolFees { symbol: 4, tier: 5, maker_fee_bps: 6, taker_fee_bps: 7 }),
        Command::SetTierLimits { tier: 7, max_open_orders: u32::MAX },
        Command::CreateAccount { account: 9, fee_tier: 2 },
        Command::SetAccountStatus { account: 10, status: AccountStatus::TradingRestricted },
        Command::SetAccountFeeTier { account: 11, fee_tier: 3 },
        Command::AdjustBalance(AdjustBalance { account: 12, asset: 13, amount: -14, ref_id: u64::MAX }),
        Command::NewOrder(new_order()),
        Command::Cancel(Cancel { account: 16, order_id: 17, client_order_id: 18 }),
        Command::CancelAll(CancelAll { account: 19, symbol: Some(20), side: Some(Side::Sell) }),
        Command::Amend(Amend { account: 21, order_id: 22, client_order_id: 23, new_price: 24, new_qty: 25 }),
        Command::MassQuote(MassQuote {
            account: 26,
            symbol: 27,
            bid_price: 28,
            bid_qty: 29,
            ask_price: 30,
            ask_qty: 31,
        }),
        Command::AdminCancel { order_id: 32 },
    ]
}

pub fn spec() -> SymbolSpec {
    SymbolSpec {
        symbol: 101,
        base: 102,
        quote: 103,
        tick_size: 104,
        lot_size: 105,
        min_qty: 106,
        max_qty: i64::MAX,
        min_notional: 108,
        price_band_bps: 109,
        reference_price: 110,
        maker_fee_bps: 111,
        taker_fee_bps: 112,
    }
}

pub fn new_order() -> NewOrder {
    NewOrder {
        account: 201,
        symbol: 202,
        client_order_id: 203,
        side: Side::Sell,
        order_type: OrderType::StopLimit,
        time_in_force: TimeInForce::Gtd,
        price: 204,
        qty: 205,
        quote_qty: 206,
        stop_price: 207,
        expire_ts_ns: 1_700_000_000_000_000_208,
        post_only: true,
        stp: SelfTradePrevention::ExpireBoth,
    }
}

pub fn events() -> Vec<Event> {
    let bodies = vec![
        EventBody::Rejected(Rejected {
            command: CommandKind::MassQuote,
            account: 301,
            order_id: 302,
            client_order_id: 303,
            reason: RejectReason::CrossedQuote,
        }),
        EventBody::OrderAccepted(accepted()),
        EventBody::Trade(trade()),
        EventBody::OrderCancelled(OrderCancelled {
            order_id: 501,
            account: 502,
            symbol: 503,
            side: Side::Sell,
            remaining: 504,
            reason: CancelReason::BookCapacity,
        }),
        EventBody::OrderAmended(OrderAmended {
            order_id: 601,
            account: 602,
            symbol: 603,
            side: Side::Sell,
            old_price: 604,
            new_price: 605,
            old_qty: 606,
            new_qty: 607,
            priority_kept: true,
        }),
        EventBody::StopTriggered(StopTriggered {
            order_id: 701,
            account: 702,
            symbol: 703,
            stop_price: 704,
            last_price: 705,
        }),
        EventBody::BalanceChanged(BalanceChanged {
            account: 801,
            asset: 802,
            cause: BalanceCause::TradeSettlement,
            reference: 803,
            available_before: i64::MIN,
            frozen_before: 805,
            available_after: 806,
            frozen_after: 807,
        }),
        EventBody::AssetAdded { asset: 901, scale: 9 },
        EventBody::SymbolAdded(spec()),
        EventBody::SymbolStatusChanged { symbol: 1001, old: SymbolStatus::Halted, new: SymbolStatus::Suspended },
        EventBody::SymbolFeesChanged(SymbolFeesChanged {
            symbol: 1101,
            tier: 6,
            old_maker_fee_bps: 1102,
            old_taker_fee_bps: 1103,
            new_maker_fee_bps: 1104,
            new_taker_fee_bps: 1105,
        }),
        EventBody::TierLimitsChanged { tier: 4, old_max_open_orders: 1201, new_max_open_orders: 1202 },
        EventBody::AccountCreated { account: 1301, fee_tier: 7 },
        EventBody::AccountStatusChanged { account: 1401, old: AccountStatus::Frozen, new: AccountStatus::Active },
        EventBody::AccountFeeTierChanged { account: 1501, old: 1, new: 2 },
    ];
    bodies.into_iter().zip(1..).map(|(body, txid)| Event { txid: txid * 1_000_003, body }).collect()
}

fn accepted() -> OrderAccepted {
    OrderAccepted {
        order_id: 401,
        account: 402,
        symbol: 403,
        client_order_id: 404,
        side: Side::Buy,
        order_type: OrderType::MarketByQuote,
        time_in_force: TimeInForce::Ioc,
        price: 405,
        qty: 406,
        quote_qty: 407,
        stop_price: 408,
        expire_ts_ns: 409,
        post_only: false,
        stp: SelfTradePrevention::ExpireMaker,
        frozen: 410,
    }
}

fn trade() -> Trade {
    Trade {
        trade_id: 451,
        symbol: 452,
        price: 453,
        qty: 454,
        notional: 455,
        taker_side: Side::Sell,
        maker_order_id: 456,
        taker_order_id: 457,
        maker_account: 458,
        taker_account: 459,
        maker_fee: 460,
        taker_fee: -461,
        maker_remaining: 462,
        taker_remaining: 463,
    }
}
