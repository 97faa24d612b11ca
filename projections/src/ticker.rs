//! The rolling 24-hour ticker per symbol, from `Trade` events, in bounded memory.
//!
//! Trades are summed into buckets of `bucket_ms` (one minute by default) by their command's
//! time; a symbol keeps at most one day of buckets. As of a time T, the window is the
//! `86_400_000 / bucket_ms` buckets ending with the one holding T. So, with one-minute
//! buckets, every trade of the last 23 h 59 min counts, no trade older than 24 h does, and
//! a trade between the two counts if its minute is in the window: the window's start is
//! precise to one bucket. `open_time_ms` reports where the window actually starts.
//!
//! Prices are integers in quote minor units per whole base unit; the price change is
//! `last − open`, and its percentage is `price_change / open_price`, left to the API to
//! format, as is the weighted average price (`quote_volume / volume`, scaled by the base
//! asset's decimals). With no trade in the window, open, high, low and the change are 0, the
//! counts are 0, and the last price and quantity are still those of the symbol's last trade
//! ever (0 if it never traded).

use std::collections::{BTreeMap, VecDeque};

use cex_engine::{Event, EventBody, SymbolId, Trade, TradeId};

use crate::calendar::MS_PER_DAY;
use crate::depth::{Depth, Level};
use crate::klines::ns_to_ms;

pub const DEFAULT_BUCKET_MS: i64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticker24h {
    pub symbol: SymbolId,
    /// The start of the window's oldest bucket.
    pub open_time_ms: i64,
    /// The time the ticker is computed as of.
    pub close_time_ms: i64,
    pub open_price: i64,
    pub high_price: i64,
    pub low_price: i64,
    pub last_price: i64,
    pub last_qty: i64,
    pub price_change: i64,
    /// Base minor units.
    pub volume: i128,
    /// Quote minor units.
    pub quote_volume: i128,
    pub trade_count: u64,
    pub first_trade_id: Option<TradeId>,
    pub last_trade_id: Option<TradeId>,
    pub best_bid: Option<Level>,
    pub best_ask: Option<Level>,
}

impl Ticker24h {
    /// The price change as a fraction `(price_change, open_price)`, or `None` without an open
    /// price; the percentage is 100 times it.
    pub fn price_change_fraction(&self) -> Option<(i64, i64)> {
        (self.open_price > 0).then_some((self.price_change, self.open_price))
    }
}

/// The trades of one bucket of time.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    index: i64,
    open: i64,
    high: i64,
    low: i64,
    close: i64,
    volume: i128,
    quote_volume: i128,
    trade_count: u64,
    first_trade_id: TradeId,
    last_trade_id: TradeId,
}

impl Bucket {
    fn new(index: i64, trade: &Trade) -> Bucket {
        Bucket {
            index,
            open: trade.price,
            high: trade.price,
            low: trade.price,
            close: trade.price,
            volume: 0,
            quote_volume: 0,
            trade_count: 0,
            first_trade_id: trade.trade_id,
            last_trade_id: trade.trade_id,
        }
    }

    fn add(&mut self, trade: &Trade) {
        self.high = self.high.max(trade.price);
        self.low = self.low.min(trade.price);
        self.close = trade.price;
        self.volume = self.volume.saturating_add(trade.qty.into());
        self.quote_volume = self.quote_volume.saturating_add(trade.notional.into());
        self.trade_count = self.trade_count.saturating_add(1);
        self.last_trade_id = trade.trade_id;
    }
}

#[derive(Debug, Clone, Default)]
struct Rolling {
    /// Oldest first, at most one window of them.
    buckets: VecDeque<Bucket>,
    /// (price, qty) of the last trade ever.
    last_trade: Option<(i64, i64)>,
}

#[derive(Debug, Clone)]
pub struct Tickers {
    bucket_ms: i64,
    buckets_per_window: i64,
    now_ms: i64,
    symbols: BTreeMap<SymbolId, Rolling>,
}

impl Tickers {
    /// Buckets of `bucket_ms`, held between 1 ms and a day; a width that does not divide the
    /// day leaves the window a little shorter than 24 h rather than longer.
    pub fn new(bucket_ms: i64) -> Self {
        let bucket_ms = bucket_ms.clamp(1, MS_PER_DAY);
        Tickers { bucket_ms, buckets_per_window: MS_PER_DAY / bucket_ms, now_ms: i64::MIN, symbols: BTreeMap::new() }
    }

    /// Takes in one command's events at its timestamp.
    pub fn apply(&mut self, ts_ns: u64, events: &[Event]) {
        self.now_ms = self.now_ms.max(ns_to_ms(ts_ns));
        let index = self.now_ms.div_euclid(self.bucket_ms);
        let oldest_kept = self.oldest_index_in_window(index);
        for event in events {
            if let EventBody::Trade(trade) = &event.body {
                let rolling = self.symbols.entry(trade.symbol).or_default();
                add_to_buckets(&mut rolling.buckets, index, trade);
                while rolling.buckets.front().is_some_and(|bucket| bucket.index < oldest_kept) {
                    rolling.buckets.pop_front();
                }
                rolling.last_trade = Some((trade.price, trade.qty));
            }
        }
    }

    fn oldest_index_in_window(&self, newest_index: i64) -> i64 {
        newest_index.saturating_sub(self.buckets_per_window - 1)
    }

    /// The ticker of a symbol as of `as_of_ms`, or of the last command's time if that is
    /// later (the past beyond it is forgotten); best prices come from `depth`.
    pub fn ticker(&self, symbol: SymbolId, as_of_ms: i64, depth: &Depth) -> Ticker24h {
        let as_of_ms = as_of_ms.max(self.now_ms);
        let oldest = self.oldest_index_in_window(as_of_ms.div_euclid(self.bucket_ms));
        let rolling = self.symbols.get(&symbol);
        let (last_price, last_qty) = rolling.and_then(|r| r.last_trade).unwrap_or_default();
        let best = depth.best_prices(symbol);
        let mut ticker = Ticker24h {
            symbol,
            open_time_ms: oldest.saturating_mul(self.bucket_ms),
            close_time_ms: as_of_ms,
            open_price: 0,
            high_price: 0,
            low_price: 0,
            last_price,
            last_qty,
            price_change: 0,
            volume: 0,
            quote_volume: 0,
            trade_count: 0,
            first_trade_id: None,
            last_trade_id: None,
            best_bid: best.bid,
            best_ask: best.ask,
        };
        let in_window = rolling.into_iter().flat_map(|r| r.buckets.iter()).filter(|b| b.index >= oldest);
        for bucket in in_window {
            add_bucket(&mut ticker, bucket);
        }
        if ticker.trade_count > 0 {
            ticker.price_change = ticker.last_price.saturating_sub(ticker.open_price);
        }
        ticker
    }

    /// Every symbol that has traded, ascending.
    pub fn symbols(&self) -> impl Iterator<Item = SymbolId> + '_ {
        self.symbols.keys().copied()
    }
}

fn add_to_buckets(buckets: &mut VecDeque<Bucket>, index: i64, trade: &Trade) {
    match buckets.back_mut() {
        Some(bucket) if bucket.index == index => bucket.add(trade),
        _ => {
            let mut bucket = Bucket::new(index, trade);
            bucket.add(trade);
            buckets.push_back(bucket);
        }
    }
}

/// Folds a bucket, taken oldest first, into the ticker.
fn add_bucket(ticker: &mut Ticker24h, bucket: &Bucket) {
    if ticker.first_trade_id.is_none() {
        ticker.first_trade_id = Some(bucket.first_trade_id);
        (ticker.open_price, ticker.high_price, ticker.low_price) = (bucket.open, bucket.high, bucket.low);
    }
    ticker.high_price = ticker.high_price.max(bucket.high);
    ticker.low_price = ticker.low_price.min(bucket.low);
    ticker.volume = ticker.volume.saturating_add(bucket.volume);
    ticker.quote_volume = ticker.quote_volume.saturating_add(bucket.quote_volume);
    ticker.trade_count = ticker.trade_count.saturating_add(bucket.trade_count);
    ticker.last_trade_id = Some(bucket.last_trade_id);
}

#[cfg(test)]
mod tests;
