use cex_engine::testkit::harness::btc_usdt_spec;
use cex_engine::{CancelReason, EventBody, OrderType, Side, TimeInForce};

use super::*;
use crate::testing::*;

fn level(price: i64, qty: i64, orders: u32) -> Level {
    Level { price, qty, orders }
}

/// A depth model with symbol 0 added at sequence 1.
fn new_depth() -> Depth {
    let mut depth = Depth::new();
    depth.apply(1, &[event(EventBody::SymbolAdded(btc_usdt_spec()))]);
    depth
}

fn book(depth: &Depth) -> (Vec<Level>, Vec<Level>) {
    let snapshot = depth.snapshot(SYMBOL, usize::MAX).unwrap();
    (snapshot.bids, snapshot.asks)
}

#[test]
fn resting_limits_aggregate_per_price_best_first() {
    let mut depth = new_depth();
    depth.apply(2, &[limit(1, Side::Buy, 100, 5), limit(2, Side::Buy, 101, 1), limit(3, Side::Buy, 100, 2)]);
    depth.apply(3, &[limit(4, Side::Sell, 105, 3), limit(5, Side::Sell, 103, 4)]);
    let (bids, asks) = book(&depth);
    assert_eq!(bids, [level(101, 1, 1), level(100, 7, 2)]);
    assert_eq!(asks, [level(103, 4, 1), level(105, 3, 1)]);
    assert_eq!(depth.best_prices(SYMBOL), BestPrices { bid: Some(level(101, 1, 1)), ask: Some(level(103, 4, 1)) });
    let top = depth.snapshot(SYMBOL, 1).unwrap();
    assert_eq!((top.bids.len(), top.asks.len(), top.last_update_id), (1, 1, 3));
}

#[test]
fn a_taker_rests_what_is_left_after_its_trades() {
    let mut depth = new_depth();
    depth.apply(2, &[limit(1, Side::Sell, 100, 3), limit(2, Side::Sell, 101, 3)]);
    let fill = |trade_id, price, qty, maker, taker| Fill { trade_id, taker_side: Side::Buy, price, qty, maker, taker };
    depth.apply(
        3,
        &[limit(3, Side::Buy, 101, 10), trade(fill(1, 100, 3, (1, 0), (3, 7))), trade(fill(2, 101, 2, (2, 1), (3, 5)))],
    );
    assert_eq!(book(&depth), (vec![level(101, 5, 1)], vec![level(101, 1, 1)]));
}

#[test]
fn a_fully_filled_taker_never_shows() {
    let mut depth = new_depth();
    depth.apply(2, &[limit(1, Side::Sell, 100, 3)]);
    let fill = Fill { trade_id: 1, taker_side: Side::Buy, price: 100, qty: 2, maker: (1, 1), taker: (2, 0) };
    let diffs = depth.apply(3, &[limit(2, Side::Buy, 100, 2), trade(fill)]);
    assert_eq!(book(&depth), (vec![], vec![level(100, 1, 1)]));
    assert_eq!(diffs.len(), 1);
    assert_eq!((diffs[0].bids.clone(), diffs[0].asks.clone()), (vec![], vec![level(100, 1, 1)]));
}

#[test]
fn ioc_fok_and_market_orders_never_rest() {
    let mut depth = new_depth();
    depth.apply(2, &[limit(1, Side::Sell, 100, 3)]);
    let mut ioc = accepted(2, 2, Side::Buy, 100, 5);
    ioc.time_in_force = TimeInForce::Ioc;
    let fill = Fill { trade_id: 1, taker_side: Side::Buy, price: 100, qty: 3, maker: (1, 0), taker: (2, 2) };
    depth.apply(3, &[accept(ioc), trade(fill), cancelled(2, 2, Side::Buy, 2, CancelReason::IocRemainder)]);
    assert_eq!(book(&depth), (vec![], vec![]));

    let mut fok = accepted(3, 2, Side::Sell, 90, 5);
    fok.time_in_force = TimeInForce::Fok;
    let mut market = accepted(4, 2, Side::Sell, 0, 5);
    (market.order_type, market.time_in_force) = (OrderType::MarketByQty, TimeInForce::Ioc);
    let diffs = depth.apply(4, &[accept(fok), accept(market)]);
    assert!(diffs.is_empty(), "{diffs:?}");
    assert_eq!(book(&depth), (vec![], vec![]));
}

#[test]
fn cancels_remove_orders_and_unknown_ids_are_ignored() {
    let mut depth = new_depth();
    depth.apply(2, &[limit(1, Side::Buy, 100, 5), limit(2, Side::Buy, 100, 2)]);
    let diffs = depth.apply(3, &[cancelled(1, 1, Side::Buy, 5, CancelReason::User)]);
    assert_eq!(diffs[0].bids, [level(100, 2, 1)]);
    let diffs = depth.apply(4, &[cancelled(2, 1, Side::Buy, 2, CancelReason::Expired)]);
    assert_eq!(diffs[0].bids, [level(100, 0, 0)]);
    assert!(depth.apply(5, &[cancelled(77, 1, Side::Buy, 2, CancelReason::Admin)]).is_empty());
    assert_eq!(book(&depth), (vec![], vec![]));
}

#[test]
fn stop_limits_rest_only_once_triggered_and_stop_markets_never() {
    let mut depth = new_depth();
    let mut stop_limit = accepted(1, 1, Side::Buy, 110, 4);
    (stop_limit.order_type, stop_limit.stop_price) = (OrderType::StopLimit, 105);
    let mut stop_market = accepted(2, 1, Side::Sell, 0, 4);
    (stop_market.order_type, stop_market.time_in_force, stop_market.stop_price) =
        (OrderType::StopMarket, TimeInForce::Ioc, 95);
    assert!(depth.apply(2, &[accept(stop_limit), accept(stop_market)]).is_empty());
    assert_eq!(book(&depth), (vec![], vec![]));

    depth.apply(3, &[limit(3, Side::Sell, 108, 1)]);
    let fill = Fill { trade_id: 1, taker_side: Side::Buy, price: 108, qty: 1, maker: (3, 0), taker: (1, 3) };
    depth.apply(4, &[triggered(1, 1, 105), trade(fill), triggered(2, 1, 95)]);
    assert_eq!(book(&depth), (vec![level(110, 3, 1)], vec![]));

    let mut waiting = accepted(5, 1, Side::Sell, 120, 4);
    (waiting.order_type, waiting.stop_price) = (OrderType::StopLimit, 125);
    depth.apply(5, &[accept(waiting), cancelled(5, 1, Side::Sell, 4, CancelReason::User)]);
    depth.apply(6, &[triggered(5, 1, 125)]);
    assert_eq!(book(&depth), (vec![level(110, 3, 1)], vec![]));
}

#[test]
fn amends_move_the_remaining_quantity() {
    let mut depth = new_depth();
    depth.apply(2, &[limit(1, Side::Sell, 100, 10), limit(2, Side::Sell, 100, 1)]);
    let fill = Fill { trade_id: 1, taker_side: Side::Buy, price: 100, qty: 4, maker: (1, 6), taker: (9, 0) };
    depth.apply(3, &[trade(fill)]);
    assert_eq!(book(&depth).1, [level(100, 7, 2)]);

    depth.apply(4, &[amended(1, Side::Sell, (100, 10), (100, 8))]);
    assert_eq!(book(&depth).1, [level(100, 5, 2)]);
    depth.apply(5, &[amended(1, Side::Sell, (100, 8), (100, 12))]);
    assert_eq!(book(&depth).1, [level(100, 9, 2)]);
    let diffs = depth.apply(6, &[amended(1, Side::Sell, (100, 12), (102, 6))]);
    assert_eq!(book(&depth).1, [level(100, 1, 1), level(102, 2, 1)]);
    assert_eq!(diffs[0].asks, [level(100, 1, 1), level(102, 2, 1)]);
}

#[test]
fn diff_ids_cover_consecutive_sequences_and_skip_unchanged_commands() {
    let mut depth = new_depth();
    assert_eq!(depth.last_update_id(SYMBOL), Some(1));
    let first = depth.apply(4, &[limit(1, Side::Buy, 100, 5), limit(2, Side::Sell, 101, 5)]);
    assert_eq!((first[0].first_update_id, first[0].last_update_id), (2, 4));
    assert!(depth.apply(5, &[]).is_empty());
    // Placed and cancelled within one command: no net change, no diff, same update id.
    let net_zero = depth.apply(6, &[limit(3, Side::Buy, 99, 5), cancelled(3, 1, Side::Buy, 5, CancelReason::User)]);
    assert!(net_zero.is_empty());
    assert_eq!(depth.last_update_id(SYMBOL), Some(4));
    let next = depth.apply(9, &[limit(4, Side::Buy, 98, 1), limit(5, Side::Buy, 100, 1), limit(6, Side::Sell, 103, 2)]);
    assert_eq!((next[0].first_update_id, next[0].last_update_id), (5, 9));
    assert_eq!(next[0].bids, [level(100, 6, 2), level(98, 1, 1)]);
    assert_eq!(next[0].asks, [level(103, 2, 1)]);
    assert_eq!(depth.snapshot(SYMBOL, 10).unwrap().last_update_id, 9);
}

#[test]
fn a_sequence_already_applied_is_skipped() {
    let mut depth = new_depth();
    depth.apply(2, &[limit(1, Side::Buy, 100, 5)]);
    assert!(depth.apply(2, &[limit(2, Side::Buy, 100, 5)]).is_empty());
    assert!(depth.apply(1, &[limit(3, Side::Buy, 100, 5)]).is_empty());
    assert_eq!(book(&depth).0, [level(100, 5, 1)]);
}

#[test]
fn each_symbol_gets_its_own_diff_and_update_ids() {
    let mut depth = new_depth();
    depth.apply(2, &[event(EventBody::SymbolAdded(cex_engine::SymbolSpec { symbol: 7, ..btc_usdt_spec() }))]);
    let mut other = accepted(2, 1, Side::Sell, 50, 1);
    other.symbol = 7;
    let diffs = depth.apply(3, &[accept(other), limit(1, Side::Buy, 100, 1)]);
    let ids: Vec<_> = diffs.iter().map(|d| (d.symbol, d.first_update_id, d.last_update_id)).collect();
    assert_eq!(ids, [(0, 2, 3), (7, 3, 3)]);
    assert!(depth.snapshot(8, 10).is_none());
    assert_eq!(depth.symbols().collect::<Vec<_>>(), [0, 7]);
}

#[test]
fn a_repeated_order_id_replaces_the_older_order() {
    let mut depth = new_depth();
    depth.apply(2, &[limit(1, Side::Buy, 100, 5)]);
    depth.apply(3, &[limit(1, Side::Buy, 90, 2)]);
    assert_eq!(book(&depth).0, [level(90, 2, 1)]);
}

#[test]
fn levels_stay_exact_when_a_damaged_stream_passes_i64() {
    let mut depth = new_depth();
    depth.apply(2, &[limit(1, Side::Buy, 100, 5), limit(2, Side::Buy, 100, i64::MAX), limit(3, Side::Buy, 100, 1)]);
    assert_eq!(book(&depth).0, [level(100, i64::MAX, 3)]);
    let diffs = depth.apply(3, &[cancelled(2, 1, Side::Buy, 0, CancelReason::User)]);
    assert_eq!(diffs[0].bids, [level(100, 6, 2)]);
}
