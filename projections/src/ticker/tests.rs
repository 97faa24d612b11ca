use cex_engine::Side;

use super::*;
use crate::testing::*;

const HOUR_MS: i64 = 3_600_000;
const T0_MS: i64 = 1_709_740_800_000;

fn ns(ms: i64) -> u64 {
    ms as u64 * 1_000_000
}

fn sale(trade_id: TradeId, price: i64, qty: i64) -> Event {
    trade(Fill { trade_id, taker_side: Side::Buy, price, qty, maker: (100, 1), taker: (200, 0) })
}

#[test]
fn sums_the_last_day_of_trades() {
    let mut tickers = Tickers::new(DEFAULT_BUCKET_MS);
    tickers.apply(ns(T0_MS), &[sale(1, 100, 2), sale(2, 95, 1)]);
    tickers.apply(ns(T0_MS + HOUR_MS), &[sale(3, 120, 1)]);
    tickers.apply(ns(T0_MS + 2 * HOUR_MS), &[sale(4, 110, 4)]);
    let ticker = tickers.ticker(SYMBOL, 0, &Depth::new());
    let expected = Ticker24h {
        symbol: SYMBOL,
        open_time_ms: T0_MS + 2 * HOUR_MS - 24 * HOUR_MS + DEFAULT_BUCKET_MS,
        close_time_ms: T0_MS + 2 * HOUR_MS,
        open_price: 100,
        high_price: 120,
        low_price: 95,
        last_price: 110,
        last_qty: 4,
        price_change: 10,
        volume: 8,
        quote_volume: 200 + 95 + 120 + 440,
        trade_count: 4,
        first_trade_id: Some(1),
        last_trade_id: Some(4),
        best_bid: None,
        best_ask: None,
    };
    assert_eq!(ticker, expected);
    assert_eq!(ticker.price_change_fraction(), Some((10, 100)));
}

#[test]
fn old_trades_roll_out_one_bucket_at_a_time() {
    let mut tickers = Tickers::new(DEFAULT_BUCKET_MS);
    tickers.apply(ns(T0_MS + 30_000), &[sale(1, 100, 2)]);
    tickers.apply(ns(T0_MS + HOUR_MS), &[sale(2, 90, 1)]);
    let depth = Depth::new();
    // The first trade's minute is the window's oldest until 24 h after that minute began.
    let last_moment = T0_MS + 24 * HOUR_MS - 1;
    assert_eq!(tickers.ticker(SYMBOL, last_moment, &depth).trade_count, 2);
    let rolled = tickers.ticker(SYMBOL, last_moment + 1, &depth);
    assert_eq!((rolled.trade_count, rolled.open_price, rolled.first_trade_id), (1, 90, Some(2)));
    assert_eq!(rolled.price_change, 0);
    // A day after the last trade: nothing in the window, but the last price stays.
    let quiet = tickers.ticker(SYMBOL, T0_MS + 25 * HOUR_MS, &depth);
    assert_eq!((quiet.trade_count, quiet.volume, quiet.open_price, quiet.high_price), (0, 0, 0, 0));
    assert_eq!((quiet.last_price, quiet.last_qty, quiet.first_trade_id), (90, 1, None));
    assert_eq!(quiet.price_change_fraction(), None);
}

#[test]
fn memory_holds_at_most_a_day_of_buckets() {
    let mut tickers = Tickers::new(HOUR_MS);
    for hour in 0..100 {
        tickers.apply(ns(T0_MS + hour * HOUR_MS), &[sale(hour as u64 + 1, 100, 1)]);
    }
    assert_eq!(tickers.symbols[&SYMBOL].buckets.len(), 24);
    assert_eq!(tickers.ticker(SYMBOL, 0, &Depth::new()).trade_count, 24);
}

#[test]
fn a_past_as_of_time_means_now_and_best_prices_come_from_the_book() {
    let mut tickers = Tickers::new(DEFAULT_BUCKET_MS);
    tickers.apply(ns(T0_MS), &[sale(1, 100, 2)]);
    let mut depth = Depth::new();
    depth.apply(1, &[limit(1, Side::Buy, 99, 3), limit(2, Side::Sell, 101, 1)]);
    let ticker = tickers.ticker(SYMBOL, T0_MS - 5 * HOUR_MS, &depth);
    assert_eq!(ticker.close_time_ms, T0_MS);
    assert_eq!(ticker.best_bid, Some(Level { price: 99, qty: 3, orders: 1 }));
    assert_eq!(ticker.best_ask, Some(Level { price: 101, qty: 1, orders: 1 }));
    let unknown = tickers.ticker(SYMBOL + 1, T0_MS, &depth);
    assert_eq!((unknown.trade_count, unknown.last_price, unknown.best_bid), (0, 0, None));
}

#[test]
fn bucket_widths_are_held_between_a_millisecond_and_a_day() {
    assert_eq!(Tickers::new(0).bucket_ms, 1);
    assert_eq!(Tickers::new(i64::MAX).buckets_per_window, 1);
    assert_eq!(Tickers::new(7 * 60_000).buckets_per_window, 205);
}
