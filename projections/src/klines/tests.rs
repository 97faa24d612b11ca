use cex_engine::Side;

use super::*;
use crate::testing::*;

/// 2024-03-06 15:47:12.345 UTC, a Wednesday.
const WEDNESDAY_MS: i64 = 1_709_740_032_345;

fn ns(ms: i64) -> u64 {
    ms as u64 * 1_000_000
}

fn sale(trade_id: TradeId, taker_side: Side, price: i64, qty: i64) -> Event {
    trade(Fill { trade_id, taker_side, price, qty, maker: (100, 1), taker: (200, 0) })
}

#[test]
fn names_round_trip() {
    for interval in Interval::ALL {
        assert_eq!(Interval::parse(interval.name()), Some(interval));
    }
    assert_eq!(Interval::parse("1M"), Some(Interval::Month1));
    assert_eq!(Interval::parse("1mo"), None);
}

#[test]
fn boundaries_follow_binance() {
    let at = |interval: Interval| (interval.open_time_ms(WEDNESDAY_MS), interval.close_time_ms(WEDNESDAY_MS));
    assert_eq!(at(Interval::Second1), (1_709_740_032_000, 1_709_740_032_999));
    assert_eq!(at(Interval::Minute15), (1_709_739_900_000, 1_709_740_799_999));
    // 15:47 falls in the 12:00–16:00 four-hour bar and the 12:00–24:00 half-day bar.
    assert_eq!(at(Interval::Hour4).0, 1_709_726_400_000);
    assert_eq!(at(Interval::Hour12), (1_709_726_400_000, 1_709_769_599_999));
    assert_eq!(at(Interval::Day1), (1_709_683_200_000, 1_709_769_599_999));
    // Day 19788 since the epoch; three-day bars start on multiples of three: day 19788.
    assert_eq!(at(Interval::Day3), (1_709_683_200_000, 1_709_942_399_999));
    // Monday 2024-03-04 to Sunday 2024-03-10.
    assert_eq!(at(Interval::Week1), (1_709_510_400_000, 1_710_115_199_999));
    // March 2024.
    assert_eq!(at(Interval::Month1), (1_709_251_200_000, 1_711_929_599_999));
    // The first days of 1970 belong to the week that began on Monday 1969-12-29.
    assert_eq!(Interval::Week1.open_time_ms(0), -3 * MS_PER_DAY);
}

#[test]
fn a_kline_aggregates_its_trades() {
    let mut klines = Klines::new(10);
    klines.apply(ns(WEDNESDAY_MS), &[sale(1, Side::Buy, 100, 2), sale(2, Side::Sell, 90, 3)]);
    klines.apply(ns(WEDNESDAY_MS + 100), &[sale(3, Side::Buy, 120, 1), sale(4, Side::Sell, 110, 5)]);
    let kline = klines.open_kline(SYMBOL, Interval::Minute1).unwrap();
    let expected = Kline {
        open_time_ms: 1_709_740_020_000,
        close_time_ms: 1_709_740_079_999,
        open: 100,
        high: 120,
        low: 90,
        close: 110,
        volume: 11,
        quote_volume: 200 + 270 + 120 + 550,
        trade_count: 4,
        taker_buy_volume: 3,
        taker_buy_quote_volume: 320,
        first_trade_id: 1,
        last_trade_id: 4,
    };
    assert_eq!(kline, expected);
    assert_eq!(klines.open_kline(SYMBOL, Interval::Month1).unwrap().volume, 11);
    assert!(klines.open_kline(SYMBOL + 1, Interval::Minute1).is_none());
}

#[test]
fn klines_close_when_time_passes_even_without_trades() {
    let mut klines = Klines::new(10);
    assert!(klines.apply(ns(WEDNESDAY_MS), &[sale(1, Side::Buy, 100, 2)]).is_empty());
    // Still inside the same second: nothing closes.
    assert!(klines.apply(ns(WEDNESDAY_MS + 600), &[]).is_empty());
    let closed = klines.apply(ns(WEDNESDAY_MS + 700), &[]);
    assert_eq!(closed.len(), 1);
    assert_eq!((closed[0].interval, closed[0].kline.trade_count), (Interval::Second1, 1));
    assert!(klines.open_kline(SYMBOL, Interval::Second1).is_none());
    // 16:00 closes every interval that ends there; the trade then opens new klines.
    let next_hour = 1_709_740_800_000;
    let closed = klines.apply(ns(next_hour), &[sale(2, Side::Sell, 101, 1)]);
    let intervals: Vec<_> = closed.iter().map(|c| c.interval).collect();
    use Interval::*;
    assert_eq!(intervals, [Minute1, Minute3, Minute5, Minute15, Minute30, Hour1, Hour2, Hour4, Hour8]);
    assert_eq!(klines.klines(SYMBOL, Interval::Hour1, None, None, 10).len(), 2);
    // A clock that steps back is held where it was.
    assert!(klines.apply(ns(WEDNESDAY_MS), &[sale(3, Side::Sell, 102, 1)]).is_empty());
    assert_eq!(klines.open_kline(SYMBOL, Interval::Hour1).unwrap().open_time_ms, next_hour);
    assert!(klines.close_elapsed(next_hour + 999).is_empty());
    assert_eq!(klines.close_elapsed(next_hour + 1_000).len(), 1);
}

#[test]
fn history_is_capped_and_queried_like_binance() {
    let mut klines = Klines::new(3);
    let start = 1_709_740_800_000;
    for minute in 0..6 {
        klines.apply(ns(start + minute * 60_000), &[sale(minute as u64 + 1, Side::Buy, 100 + minute, 1)]);
    }
    let opens = |list: Vec<Kline>| list.iter().map(|k| (k.open_time_ms - start) / 60_000).collect::<Vec<_>>();
    // Three closed klines are kept, plus the open one.
    assert_eq!(opens(klines.klines(SYMBOL, Interval::Minute1, None, None, 100)), [2, 3, 4, 5]);
    assert_eq!(opens(klines.klines(SYMBOL, Interval::Minute1, None, None, 2)), [4, 5]);
    assert_eq!(opens(klines.klines(SYMBOL, Interval::Minute1, Some(start + 180_000), None, 2)), [3, 4]);
    assert_eq!(opens(klines.klines(SYMBOL, Interval::Minute1, None, Some(start + 240_000), 2)), [3, 4]);
    assert_eq!(opens(klines.klines(SYMBOL, Interval::Minute1, Some(start), Some(start + 200_000), 9)), [2, 3]);
    assert!(klines.klines(SYMBOL, Interval::Minute1, Some(start + 1), Some(start), 9).is_empty());
    assert!(klines.klines(SYMBOL, Interval::Minute1, None, None, 0).is_empty());
}

#[test]
fn month_and_week_klines_span_the_calendar() {
    let mut klines = Klines::new(10);
    // The last millisecond of February 2024 (a leap year), then the first of March.
    klines.apply(ns(1_709_251_199_999), &[sale(1, Side::Buy, 100, 1)]);
    let closed = klines.apply(ns(1_709_251_200_000), &[sale(2, Side::Buy, 100, 1)]);
    let month = closed.iter().find(|c| c.interval == Interval::Month1).unwrap().kline;
    assert_eq!((month.open_time_ms, month.close_time_ms), (1_706_745_600_000, 1_709_251_199_999));
    // Thursday 2024-02-29 to Friday 2024-03-01 stays within one week.
    assert!(closed.iter().all(|c| c.interval != Interval::Week1));
}
