//! Hand-computed scenarios for the fast engine. The harness checks every invariant after
//! every command, so these also exercise conservation and the frozen-equals-orders rule.

use cex_engine::testkit::harness::*;
use cex_engine::*;

const ONE_BTC_LOTS: i64 = UNIT / LOT;

fn amend(account: AccountId, order_id: OrderId, price: i64, qty: i64) -> Command {
    Command::Amend(Amend { account, order_id, client_order_id: 0, new_price: price, new_qty: qty })
}

#[test]
fn a_cross_charges_fees_in_the_received_asset_and_refunds_the_buyer() {
    let mut h = Harness::with_market(2);
    h.place(limit(1, Side::Sell, usdt(50_000), UNIT));
    let buy = limit(2, Side::Buy, usdt(51_000), UNIT);
    h.place(buy);
    let trades = h.trades();
    assert_eq!(trades.len(), 1);
    let trade = trades[0];
    assert_eq!((trade.price, trade.qty, trade.notional), (usdt(50_000), UNIT, usdt(50_000)));
    // Taker buyer pays 20 bps of 1 BTC in BTC; maker seller pays 10 bps of 50,000 USDT.
    assert_eq!(trade.taker_fee, UNIT * 20 / 10_000);
    assert_eq!(trade.maker_fee, usdt(50));
    assert_eq!(h.balance(2, USDT), (usdt(950_000), 0), "the 1,000 USDT below the limit and the fee reserve came back");
    assert_eq!(h.balance(2, BTC), (10 * UNIT + UNIT - trade.taker_fee, 0));
    assert_eq!(h.balance(1, BTC), (9 * UNIT, 0));
    assert_eq!(h.balance(1, USDT), (usdt(1_000_000) + usdt(50_000) - usdt(50), 0));
    assert_eq!(h.engine.fees_collected(BTC), trade.taker_fee);
    assert_eq!(h.engine.fees_collected(USDT), usdt(50));
}

#[test]
fn a_limit_buy_freezes_notional_plus_taker_fee_and_a_partial_fill_keeps_the_rest_frozen() {
    let mut h = Harness::with_market(2);
    let id = h.place(limit(1, Side::Buy, usdt(50_000), 2 * UNIT));
    let reserve = usdt(100_000) + usdt(100_000) * 20 / 10_000;
    assert_eq!(h.balance(1, USDT), (usdt(1_000_000) - reserve, reserve));
    h.place(limit(2, Side::Sell, usdt(50_000), UNIT));
    assert_eq!(h.trades()[0].maker_order_id, id);
    assert_eq!(h.trades()[0].maker_remaining, UNIT);
    assert_eq!(h.balance(1, USDT).1, reserve / 2);
}

#[test]
fn price_time_priority_and_amend_priority() {
    let mut h = Harness::with_market(3);
    let first = h.place(limit(1, Side::Sell, usdt(50_000), UNIT));
    let second = h.place(limit(2, Side::Sell, usdt(50_000), UNIT));
    // Lowering the first order's size keeps its place in the queue.
    h.ok(amend(1, first, usdt(50_000), UNIT / 2));
    h.place(limit(3, Side::Buy, usdt(50_000), UNIT / 2));
    assert_eq!(h.trades()[0].maker_order_id, first);
    // Raising the second order's size sends it to the back, behind a newer order.
    let third = h.place(limit(1, Side::Sell, usdt(50_000), UNIT));
    h.ok(amend(2, second, usdt(50_000), 2 * UNIT));
    h.place(limit(3, Side::Buy, usdt(50_000), UNIT));
    assert_eq!(h.trades()[0].maker_order_id, third);
}

#[test]
fn self_trade_prevention_modes() {
    let cases = [
        (SelfTradePrevention::ExpireTaker, 1, 0),
        (SelfTradePrevention::ExpireMaker, 1, 1),
        (SelfTradePrevention::ExpireBoth, 2, 0),
    ];
    for (mode, cancels, trades) in cases {
        let mut h = Harness::with_market(2);
        h.place(limit(1, Side::Sell, usdt(50_000), UNIT));
        h.place(limit(2, Side::Sell, usdt(50_001), UNIT));
        h.place(NewOrder { stp: mode, ..limit(1, Side::Buy, usdt(50_001), UNIT) });
        let stp_cancels = h.cancels().iter().filter(|c| c.reason == CancelReason::SelfTradePrevention).count();
        assert_eq!((stp_cancels, h.trades().len()), (cancels, trades), "{mode:?}");
    }
}

#[test]
fn fok_that_cannot_fill_does_nothing_but_report() {
    let mut h = Harness::with_market(2);
    h.place(limit(1, Side::Sell, usdt(50_000), UNIT));
    h.place(NewOrder { time_in_force: TimeInForce::Fok, ..limit(2, Side::Buy, usdt(50_000), 2 * UNIT) });
    assert!(h.trades().is_empty());
    assert_eq!(h.cancels()[0].reason, CancelReason::Fok);
    assert_eq!(h.balance(2, USDT), (usdt(1_000_000), 0));
}

#[test]
fn stops_trigger_in_a_cascade_within_one_command() {
    let mut h = Harness::with_market(4);
    for price in [50_100, 50_200, 50_300] {
        h.place(limit(1, Side::Sell, usdt(price), UNIT));
    }
    let stop = |account, stop_whole| NewOrder {
        order_type: OrderType::StopMarket,
        time_in_force: TimeInForce::Ioc,
        stop_price: usdt(stop_whole),
        ..limit(account, Side::Buy, 0, UNIT)
    };
    let first_stop = h.place(stop(2, 50_100));
    let second_stop = h.place(stop(3, 50_200));
    h.place(limit(4, Side::Buy, usdt(50_100), UNIT));
    let triggered: Vec<OrderId> = h
        .events
        .iter()
        .filter_map(|e| match e.body {
            EventBody::StopTriggered(t) => Some(t.order_id),
            _ => None,
        })
        .collect();
    assert_eq!(triggered, vec![first_stop, second_stop]);
    let prices: Vec<i64> = h.trades().iter().map(|t| t.price).collect();
    assert_eq!(prices, vec![usdt(50_100), usdt(50_200), usdt(50_300)]);
}

#[test]
fn gtd_orders_expire_on_the_first_command_at_or_after_their_time() {
    let mut h = Harness::with_market(1);
    let expire_ts_ns = h.now_ns + 3_500;
    let id =
        h.place(NewOrder { time_in_force: TimeInForce::Gtd, expire_ts_ns, ..limit(1, Side::Buy, usdt(49_000), UNIT) });
    h.ok(Command::SetTierLimits { tier: 1, max_open_orders: 10 });
    h.ok(Command::SetTierLimits { tier: 1, max_open_orders: 10 });
    assert_eq!(h.engine.open_orders(), 1);
    h.ok(Command::SetTierLimits { tier: 1, max_open_orders: 10 });
    let cancelled = h.cancels();
    assert_eq!((cancelled[0].order_id, cancelled[0].reason), (id, CancelReason::Expired));
    assert_eq!(h.balance(1, USDT), (usdt(1_000_000), 0));
}

#[test]
fn market_buy_by_quote_spends_whole_lots_and_returns_the_rest() {
    let mut h = Harness::with_market(2);
    h.place(limit(1, Side::Sell, usdt(50_000), UNIT));
    let budget = usdt(25_000) + 7;
    h.place(NewOrder {
        order_type: OrderType::MarketByQuote,
        time_in_force: TimeInForce::Ioc,
        quote_qty: budget,
        ..limit(2, Side::Buy, 0, 0)
    });
    assert_eq!(h.trades()[0].qty, UNIT / 2);
    assert_eq!(h.cancels()[0].remaining, 7);
    assert_eq!(h.balance(2, USDT), (usdt(1_000_000) - usdt(25_000), 0));
    assert_eq!(ONE_BTC_LOTS, 100_000);
}

#[test]
fn delisting_cancels_every_order_and_returns_funds() {
    let mut h = Harness::with_market(2);
    h.place(limit(1, Side::Buy, usdt(49_000), UNIT));
    h.place(limit(2, Side::Sell, usdt(51_000), UNIT));
    h.ok(Command::SetSymbolStatus { symbol: BTC_USDT, status: SymbolStatus::Delisted });
    assert!(h.cancels().iter().all(|c| c.reason == CancelReason::Admin));
    assert_eq!(h.engine.open_orders(), 0);
    assert_eq!(h.balance(1, USDT), (usdt(1_000_000), 0));
}
