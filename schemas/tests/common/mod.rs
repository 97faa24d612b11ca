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

/// One message of every gateway template (200 and up), encoded: `(name, bytes)`. Every field
/// distinct and non-null, groups with two entries, data non-empty.
pub fn gateway_messages() -> Vec<(&'static str, Vec<u8>)> {
    use cex_schema::codec::*;
    fn encoded(length: usize, encode: impl FnOnce(&mut [u8]) -> Result<usize, cex_schema::EncodeError>) -> Vec<u8> {
        let mut buf = vec![0u8; length];
        let written = encode(&mut buf).unwrap();
        assert_eq!(written, length);
        buf
    }
    macro_rules! message {
        ($name:ident { $($body:tt)* }) => {{
            let value = $name { $($body)* };
            (stringify!($name), encoded(value.encoded_length(), |buf| value.encode(buf)))
        }};
    }
    let signature: [u8; 32] = std::array::from_fn(|i| 0xA0 + i as u8);
    let quotes = [
        MassQuoteRequestQuotesEntry { symbol: 31, bid_price: 32, bid_qty: 33, ask_price: 34, ask_qty: 35 },
        MassQuoteRequestQuotesEntry { symbol: 36, bid_price: 37, bid_qty: 38, ask_price: 39, ask_qty: 0 },
    ];
    let levels = [
        BookUpdateLevelsEntry { side: Side::Buy, price: 91, qty: 92, order_count: 93 },
        BookUpdateLevelsEntry { side: Side::Sell, price: 94, qty: 0, order_count: 0 },
    ];
    vec![
        message!(Logon {
            timestamp_ms: 1_499_827_319_559,
            nonce: 42,
            heartbeat_interval_ms: 1_000,
            options: LogonOptions::CANCEL_ON_DISCONNECT,
            signature,
            api_key: "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
        }),
        message!(LogonAccepted {
            session_id: 2,
            account: 3,
            permissions: KeyPermissions::READ.with(KeyPermissions::TRADE),
            options: LogonOptions::CANCEL_ON_DISCONNECT,
            heartbeat_interval_ms: 4,
            next_inbound_seq_num: 5,
            last_txid: 6,
        }),
        message!(LogonRejected {
            reason: LogonRejectReason::StaleTimestamp,
            text: "timestamp 7 is outside the window"
        }),
        message!(Heartbeat {}),
        message!(Logout { reason: LogoutReason::IdleTimeout, text: "nothing received for 3000 ms" }),
        message!(RetransmitRequest { from_txid: 8, count: 9 }),
        message!(RetransmitComplete { from_txid: 10, to_txid: 11, messages: 12 }),
        message!(SessionReject {
            ref_seq_num: 13,
            ref_template_id: 14,
            reason: SessionRejectReason::InvalidFieldValue,
            text: "NewOrderSingle.side: 7 is not a valid value",
        }),
        message!(NewOrderSingle {
            client_order_id: 15,
            symbol: 16,
            side: Side::Sell,
            order_type: OrderType::StopLimit,
            time_in_force: TimeInForce::Gtd,
            price: 17,
            qty: 18,
            quote_qty: 19,
            stop_price: 20,
            expire_ts_ns: 21,
            post_only: BooleanType::True,
            stp: SelfTradePrevention::ExpireBoth,
        }),
        message!(CancelOrder { order_id: 22, client_order_id: 23 }),
        message!(CancelAllOrders { symbol: Some(24), side: Some(Side::Sell) }),
        message!(AmendOrder { order_id: 25, client_order_id: 26, new_price: 27, new_qty: 28 }),
        message!(MassQuoteRequest { quotes: &quotes }),
        message!(ExecutionReport {
            txid: 41,
            exec_type: ExecType::Trade,
            order_id: 42,
            client_order_id: 43,
            symbol: Some(44),
            side: Some(Side::Sell),
            order_type: Some(OrderType::Limit),
            time_in_force: Some(TimeInForce::Ioc),
            price: Some(45),
            order_qty: Some(46),
            stop_price: Some(47),
            last_px: Some(48),
            last_qty: Some(49),
            leaves_qty: Some(50),
            cum_qty: Some(51),
            canceled_qty: Some(52),
            trade_id: Some(53),
            liquidity: Some(LiquidityIndicator::Taker),
            cancel_reason: Some(CancelReason::Expired),
            reject_reason: Some(RejectReason::InsufficientFunds),
            rejected_command: Some(CommandKind::Amend),
            priority_kept: Some(BooleanType::True),
        }),
        message!(TradeReport {
            txid: 61,
            trade_id: 62,
            order_id: 63,
            client_order_id: 64,
            symbol: 65,
            side: Side::Buy,
            liquidity: LiquidityIndicator::Maker,
            price: 66,
            qty: 67,
            notional: 68,
            fee: -69,
            fee_asset: FeeAsset::Base,
            leaves_qty: 70,
        }),
        message!(BalanceUpdate {
            txid: 71,
            asset: 72,
            cause: BalanceCause::TradeSettlement,
            reference: 73,
            available_before: 74,
            frozen_before: 75,
            available_after: 76,
            frozen_after: 77,
        }),
        message!(TradeTick { txid: 81, trade_id: 82, symbol: 83, price: 84, qty: 85, taker_side: Side::Sell }),
        message!(BookUpdate { txid: 86, symbol: 87, update_type: BookUpdateType::Incremental, levels: &levels }),
    ]
}
