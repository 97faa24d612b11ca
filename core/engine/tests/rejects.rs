//! One scenario per reject reason: each must be refused with exactly that reason, leave the
//! invariants intact (the harness checks them after every command), and the table must
//! cover every reason the engine defines.

use cex_engine::testkit::harness::*;
use cex_engine::*;

type Scenario = fn(&mut Harness) -> Command;

fn order(order: NewOrder) -> Command {
    Command::NewOrder(order)
}

fn buy(price_whole: i64, lots: i64) -> NewOrder {
    limit(1, Side::Buy, usdt(price_whole), lots * LOT)
}

fn stop(side: Side, stop_whole: i64) -> NewOrder {
    NewOrder {
        order_type: OrderType::StopLimit,
        stop_price: usdt(stop_whole),
        ..limit(1, side, usdt(stop_whole), 20 * LOT)
    }
}

fn adjust(account: AccountId, asset: AssetId, amount: i64, ref_id: u64) -> Command {
    Command::AdjustBalance(AdjustBalance { account, asset, amount, ref_id })
}

fn eth_usdt_without_reference() -> SymbolSpec {
    SymbolSpec { symbol: 1, base: ETH, reference_price: 0, ..btc_usdt_spec() }
}

fn scenarios() -> Vec<(RejectReason, Scenario)> {
    use RejectReason::*;
    vec![
        (AssetCapacity, |_| Command::AddAsset(AddAsset { asset: 300, scale: 8 })),
        (AssetExists, |_| Command::AddAsset(AddAsset { asset: BTC, scale: 8 })),
        (UnknownAsset, |_| adjust(1, 99, 5, 77)),
        (InvalidAssetScale, |_| Command::AddAsset(AddAsset { asset: 9, scale: 19 })),
        (SymbolCapacity, |_| Command::AddSymbol(SymbolSpec { symbol: 8, ..btc_usdt_spec() })),
        (SymbolExists, |_| Command::AddSymbol(btc_usdt_spec())),
        (UnknownSymbol, |_| order(NewOrder { symbol: 5, ..buy(50_000, 10) })),
        (InvalidSymbolSpec, |_| Command::AddSymbol(SymbolSpec { symbol: 1, tick_size: 3, ..btc_usdt_spec() })),
        (InvalidStatusTransition, |h| {
            h.ok(Command::SetSymbolStatus { symbol: BTC_USDT, status: SymbolStatus::Delisted });
            Command::SetSymbolStatus { symbol: BTC_USDT, status: SymbolStatus::Trading }
        }),
        (InvalidFee, |_| {
            Command::SetSymbolFees(SymbolFees { symbol: BTC_USDT, tier: 0, maker_fee_bps: 1_001, taker_fee_bps: 0 })
        }),
        (InvalidTier, |_| Command::SetTierLimits { tier: 8, max_open_orders: 5 }),
        (AccountCapacity, |_| Command::CreateAccount { account: 1_000, fee_tier: 0 }),
        (AccountExists, |_| Command::CreateAccount { account: 1, fee_tier: 0 }),
        (UnknownAccount, |_| order(NewOrder { account: 999, ..buy(50_000, 10) })),
        (AccountFrozen, |h| {
            h.ok(Command::SetAccountStatus { account: 1, status: AccountStatus::Frozen });
            order(buy(50_000, 10))
        }),
        (TradingRestricted, |h| {
            h.ok(Command::SetAccountStatus { account: 1, status: AccountStatus::TradingRestricted });
            order(buy(50_000, 10))
        }),
        (ZeroAmount, |_| adjust(1, BTC, 0, 77)),
        (InvalidReference, |_| adjust(1, BTC, 5, 0)),
        (DuplicateReference, |h| {
            h.ok(adjust(1, BTC, 5, 77));
            adjust(1, BTC, 5, 77)
        }),
        (InsufficientFunds, |_| adjust(1, BTC, -11 * UNIT, 77)),
        (BalanceOverflow, |_| adjust(1, BTC, i64::MAX, 77)),
        (BalanceCapacity, |h| {
            *h = Harness::new(EngineConfig { max_balances: 1, ..EngineConfig::default() });
            h.ok(Command::AddAsset(AddAsset { asset: BTC, scale: 8 }));
            h.ok(Command::AddAsset(AddAsset { asset: USDT, scale: 8 }));
            h.ok(Command::CreateAccount { account: 1, fee_tier: 0 });
            h.ok(adjust(1, BTC, 5, 1));
            adjust(1, USDT, 5, 2)
        }),
        (SymbolNotTrading, |h| {
            h.ok(Command::SetSymbolStatus { symbol: BTC_USDT, status: SymbolStatus::Halted });
            order(buy(50_000, 10))
        }),
        (InvalidTimeInForce, |_| order(NewOrder { order_type: OrderType::MarketByQty, ..buy(50_000, 10) })),
        (ExpireTimeInPast, |_| order(NewOrder { time_in_force: TimeInForce::Gtd, expire_ts_ns: 1, ..buy(50_000, 10) })),
        (InvalidPostOnly, |_| order(NewOrder { post_only: true, time_in_force: TimeInForce::Ioc, ..buy(50_000, 10) })),
        (UnsupportedOrderType, |_| {
            order(NewOrder {
                order_type: OrderType::MarketByQuote,
                time_in_force: TimeInForce::Ioc,
                side: Side::Sell,
                quote_qty: usdt(100),
                ..buy(50_000, 10)
            })
        }),
        (DuplicateClientOrderId, |h| {
            h.place(NewOrder { client_order_id: 7, ..buy(49_000, 100) });
            order(NewOrder { client_order_id: 7, ..buy(49_000, 100) })
        }),
        (TooManyOpenOrders, |h| {
            h.ok(Command::SetTierLimits { tier: 0, max_open_orders: 1 });
            h.place(buy(49_000, 100));
            order(buy(49_000, 100))
        }),
        (InvalidPrice, |_| order(buy(0, 10))),
        (PriceNotTickMultiple, |_| order(NewOrder { price: usdt(50_000) + 1, ..buy(0, 10) })),
        (PriceOutsideBand, |_| order(buy(100_000, 10))),
        (InvalidStopPrice, |_| order(NewOrder { stop_price: 0, ..stop(Side::Buy, 60_000) })),
        (StopWouldTriggerImmediately, |_| order(stop(Side::Buy, 49_000))),
        (InvalidQuantity, |_| order(NewOrder { qty: -5 * LOT, ..buy(50_000, 10) })),
        (QuantityNotLotMultiple, |_| order(NewOrder { qty: 10 * LOT + 1, ..buy(50_000, 10) })),
        (QuantityBelowMin, |_| order(buy(50_000, 9))),
        (QuantityAboveMax, |_| order(NewOrder { qty: 1_001 * UNIT, ..buy(50_000, 10) })),
        (NotionalBelowMin, |_| order(buy(50_000, 10))),
        (NotionalOverflow, |h| {
            h.ok(Command::AddSymbol(eth_usdt_without_reference()));
            order(NewOrder { symbol: 1, price: TICK * 100_000_000_000, qty: 1_000 * UNIT, ..buy(0, 0) })
        }),
        (PostOnlyWouldTake, |h| {
            h.place(limit(2, Side::Sell, usdt(50_000), 100 * LOT));
            order(NewOrder { post_only: true, ..buy(50_000, 100) })
        }),
        (OrderCapacity, |h| {
            *h = Harness::with_market_config(2, EngineConfig { max_orders: 1, ..Harness::market_config() });
            h.place(buy(49_000, 100));
            order(buy(49_000, 100))
        }),
        (BookCapacity, |h| {
            *h = Harness::with_market_config(2, EngineConfig { max_levels_per_side: 1, ..Harness::market_config() });
            h.place(buy(49_000, 100));
            order(buy(48_000, 100))
        }),
        (UnknownOrder, |_| Command::Cancel(Cancel { account: 1, order_id: 12_345, client_order_id: 0 })),
        (OrderNotAmendable, |h| {
            let id = h.place(stop(Side::Buy, 51_000));
            Command::Amend(Amend {
                account: 1,
                order_id: id,
                client_order_id: 0,
                new_price: usdt(51_000),
                new_qty: 10 * LOT,
            })
        }),
        (AmendBelowFilled, |h| {
            let id = h.place(buy(50_000, 100));
            h.place(limit(2, Side::Sell, usdt(50_000), 60 * LOT));
            Command::Amend(Amend {
                account: 1,
                order_id: id,
                client_order_id: 0,
                new_price: usdt(50_000),
                new_qty: 60 * LOT,
            })
        }),
        (AmendNoChange, |h| {
            let id = h.place(buy(50_000, 100));
            Command::Amend(Amend {
                account: 1,
                order_id: id,
                client_order_id: 0,
                new_price: usdt(50_000),
                new_qty: 100 * LOT,
            })
        }),
        (CrossedQuote, |_| {
            Command::MassQuote(MassQuote {
                account: 1,
                symbol: BTC_USDT,
                bid_price: usdt(50_001),
                bid_qty: 100 * LOT,
                ask_price: usdt(50_000),
                ask_qty: 100 * LOT,
            })
        }),
    ]
}

/// What a client could observe: balances, open orders and the top of the book.
fn observable(harness: &Harness) -> Vec<i64> {
    let mut seen = Vec::new();
    for account in [1, 2] {
        for asset in [BTC, USDT, ETH] {
            let (available, frozen) = harness.balance(account, asset);
            seen.extend([available, frozen]);
        }
    }
    let (bid, ask) = harness.engine.best_prices(BTC_USDT);
    seen.extend([harness.engine.open_orders() as i64, bid.unwrap_or(0), ask.unwrap_or(0)]);
    seen
}

#[test]
fn every_reject_reason_has_a_scenario_that_produces_it() {
    for (expected, scenario) in scenarios() {
        let mut harness = Harness::with_market(2);
        let command = scenario(&mut harness);
        let before = observable(&harness);
        harness.apply(command);
        assert_eq!(harness.rejection(), Some(expected), "scenario for {expected:?}; events {:?}", harness.events);
        assert_eq!(harness.events.len(), 1, "a reject emits exactly one event: {expected:?}");
        assert_eq!(observable(&harness), before, "a rejected {expected:?} changed state");
    }
}

#[test]
fn out_of_sequence_is_refused_and_changes_nothing() {
    let mut harness = Harness::with_market(1);
    let before = harness.engine.state_hash();
    let skipped = CommandEnvelope { seq: harness.seq + 2, ts_ns: harness.now_ns + 5, command: order(buy(50_000, 20)) };
    harness.apply_envelope(skipped);
    assert_eq!(harness.rejection(), Some(RejectReason::OutOfSequence));
    assert_eq!(harness.engine.state_hash(), before);
}

#[test]
fn the_table_covers_every_reason() {
    let covered: Vec<RejectReason> = scenarios().into_iter().map(|(reason, _)| reason).collect();
    for reason in RejectReason::ALL {
        let out_of_band = *reason == RejectReason::OutOfSequence;
        assert!(out_of_band || covered.contains(reason), "no scenario for {reason:?}");
    }
}
