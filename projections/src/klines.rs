//! Candlesticks (klines) per symbol and interval, from `Trade` events.
//!
//! A trade's time is its command's timestamp, never earlier than the previous command's, as
//! the engine treats time. Intervals follow Binance: UTC; 1s to 1d start at multiples of
//! their length since the epoch; 3d at multiples of three days since 1970-01-01; 1w on
//! Mondays; 1M on the first day of each calendar month. A kline's close time is one
//! millisecond before the next one opens.
//!
//! A kline exists only for an interval with at least one trade: quiet intervals leave no empty
//! kline (the API may fill them with the previous close if it wants). The open kline closes
//! as soon as time passes its close time, whether a later command brings a trade or not;
//! [`Klines::apply`] and [`Klines::close_elapsed`] report each closed kline exactly once so a
//! store can persist it. Each (symbol, interval) keeps its most recent closed klines up to a
//! configurable number, plus the open one.
//!
//! Volumes are in base minor units, quote volumes in quote minor units (the sum of the
//! trades' notionals); both are i128, since a month of quote volume can pass i64.

use std::collections::{BTreeMap, VecDeque};

use cex_engine::{Event, EventBody, Side, SymbolId, Trade, TradeId};

use crate::calendar::{self, MS_PER_DAY};

const MS_PER_SECOND: i64 = 1_000;
const MS_PER_MINUTE: i64 = 60 * MS_PER_SECOND;
const MS_PER_HOUR: i64 = 60 * MS_PER_MINUTE;
/// 1970-01-01 was a Thursday; the first Monday came four days later.
const FIRST_MONDAY_MS: i64 = 4 * MS_PER_DAY;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Interval {
    Second1,
    Minute1,
    Minute3,
    Minute5,
    Minute15,
    Minute30,
    Hour1,
    Hour2,
    Hour4,
    Hour6,
    Hour8,
    Hour12,
    Day1,
    Day3,
    Week1,
    Month1,
}

/// How an interval's boundaries fall.
enum Span {
    /// Boundaries at `offset_ms + k × length_ms`.
    Fixed {
        length_ms: i64,
        offset_ms: i64,
    },
    CalendarMonth,
}

impl Interval {
    pub const ALL: [Interval; 16] = [
        Interval::Second1,
        Interval::Minute1,
        Interval::Minute3,
        Interval::Minute5,
        Interval::Minute15,
        Interval::Minute30,
        Interval::Hour1,
        Interval::Hour2,
        Interval::Hour4,
        Interval::Hour6,
        Interval::Hour8,
        Interval::Hour12,
        Interval::Day1,
        Interval::Day3,
        Interval::Week1,
        Interval::Month1,
    ];

    /// Binance's name: "1s", "1m", …, "1w", "1M".
    pub fn name(self) -> &'static str {
        match self {
            Interval::Second1 => "1s",
            Interval::Minute1 => "1m",
            Interval::Minute3 => "3m",
            Interval::Minute5 => "5m",
            Interval::Minute15 => "15m",
            Interval::Minute30 => "30m",
            Interval::Hour1 => "1h",
            Interval::Hour2 => "2h",
            Interval::Hour4 => "4h",
            Interval::Hour6 => "6h",
            Interval::Hour8 => "8h",
            Interval::Hour12 => "12h",
            Interval::Day1 => "1d",
            Interval::Day3 => "3d",
            Interval::Week1 => "1w",
            Interval::Month1 => "1M",
        }
    }

    pub fn parse(name: &str) -> Option<Interval> {
        Interval::ALL.into_iter().find(|interval| interval.name() == name)
    }

    fn span(self) -> Span {
        let fixed = |length_ms| Span::Fixed { length_ms, offset_ms: 0 };
        match self {
            Interval::Second1 => fixed(MS_PER_SECOND),
            Interval::Minute1 => fixed(MS_PER_MINUTE),
            Interval::Minute3 => fixed(3 * MS_PER_MINUTE),
            Interval::Minute5 => fixed(5 * MS_PER_MINUTE),
            Interval::Minute15 => fixed(15 * MS_PER_MINUTE),
            Interval::Minute30 => fixed(30 * MS_PER_MINUTE),
            Interval::Hour1 => fixed(MS_PER_HOUR),
            Interval::Hour2 => fixed(2 * MS_PER_HOUR),
            Interval::Hour4 => fixed(4 * MS_PER_HOUR),
            Interval::Hour6 => fixed(6 * MS_PER_HOUR),
            Interval::Hour8 => fixed(8 * MS_PER_HOUR),
            Interval::Hour12 => fixed(12 * MS_PER_HOUR),
            Interval::Day1 => fixed(MS_PER_DAY),
            Interval::Day3 => fixed(3 * MS_PER_DAY),
            Interval::Week1 => Span::Fixed { length_ms: 7 * MS_PER_DAY, offset_ms: FIRST_MONDAY_MS },
            Interval::Month1 => Span::CalendarMonth,
        }
    }

    /// The open time of the kline holding `time_ms`.
    pub fn open_time_ms(self, time_ms: i64) -> i64 {
        match self.span() {
            Span::Fixed { length_ms, offset_ms } => {
                let periods = time_ms.saturating_sub(offset_ms).div_euclid(length_ms);
                periods.saturating_mul(length_ms).saturating_add(offset_ms)
            }
            Span::CalendarMonth => calendar::month_start_ms(time_ms),
        }
    }

    /// The close time of the kline holding `time_ms`: the next open time minus 1 ms.
    pub fn close_time_ms(self, time_ms: i64) -> i64 {
        let next_open = match self.span() {
            Span::Fixed { length_ms, .. } => self.open_time_ms(time_ms).saturating_add(length_ms),
            Span::CalendarMonth => calendar::next_month_start_ms(time_ms),
        };
        next_open.saturating_sub(1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kline {
    pub open_time_ms: i64,
    pub close_time_ms: i64,
    pub open: i64,
    pub high: i64,
    pub low: i64,
    pub close: i64,
    /// Base minor units traded.
    pub volume: i128,
    /// Quote minor units traded: the sum of the trades' notionals.
    pub quote_volume: i128,
    pub trade_count: u64,
    /// The part of `volume` and `quote_volume` where the taker bought.
    pub taker_buy_volume: i128,
    pub taker_buy_quote_volume: i128,
    pub first_trade_id: TradeId,
    pub last_trade_id: TradeId,
}

impl Kline {
    fn open_with(interval: Interval, time_ms: i64, trade: &Trade) -> Kline {
        let mut kline = Kline {
            open_time_ms: interval.open_time_ms(time_ms),
            close_time_ms: interval.close_time_ms(time_ms),
            open: trade.price,
            high: trade.price,
            low: trade.price,
            close: trade.price,
            volume: 0,
            quote_volume: 0,
            trade_count: 0,
            taker_buy_volume: 0,
            taker_buy_quote_volume: 0,
            first_trade_id: trade.trade_id,
            last_trade_id: trade.trade_id,
        };
        kline.add(trade);
        kline
    }

    fn add(&mut self, trade: &Trade) {
        self.high = self.high.max(trade.price);
        self.low = self.low.min(trade.price);
        self.close = trade.price;
        self.volume = self.volume.saturating_add(trade.qty.into());
        self.quote_volume = self.quote_volume.saturating_add(trade.notional.into());
        self.trade_count = self.trade_count.saturating_add(1);
        if trade.taker_side == Side::Buy {
            self.taker_buy_volume = self.taker_buy_volume.saturating_add(trade.qty.into());
            self.taker_buy_quote_volume = self.taker_buy_quote_volume.saturating_add(trade.notional.into());
        }
        self.last_trade_id = trade.trade_id;
    }
}

/// A kline whose interval has ended: final, to be persisted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedKline {
    pub symbol: SymbolId,
    pub interval: Interval,
    pub kline: Kline,
}

#[derive(Debug, Clone, Default)]
struct Series {
    /// Oldest first.
    closed: VecDeque<Kline>,
    open: Option<Kline>,
}

#[derive(Debug, Clone)]
pub struct Klines {
    history_cap: usize,
    series: BTreeMap<(SymbolId, Interval), Series>,
    now_ms: i64,
    /// The earliest close time among the open klines, so most commands skip the scan.
    next_close_ms: i64,
}

/// Milliseconds since the epoch of a nanosecond timestamp; always fits.
pub(crate) fn ns_to_ms(ts_ns: u64) -> i64 {
    (ts_ns / 1_000_000) as i64
}

impl Klines {
    /// Keeps up to `history_cap` closed klines per symbol and interval.
    pub fn new(history_cap: usize) -> Self {
        Klines { history_cap, series: BTreeMap::new(), now_ms: i64::MIN, next_close_ms: i64::MAX }
    }

    /// Takes in one command's events at its timestamp; returns the klines that closed, those
    /// whose time ran out before this command first, then any its trades closed.
    pub fn apply(&mut self, ts_ns: u64, events: &[Event]) -> Vec<ClosedKline> {
        let mut closed = self.close_elapsed(ns_to_ms(ts_ns));
        for event in events {
            if let EventBody::Trade(trade) = &event.body {
                self.add_trade(trade, &mut closed);
            }
        }
        closed
    }

    /// Advances the clock to `now_ms` (never backwards) and closes every open kline whose
    /// close time has passed; for quiet spells with no commands.
    pub fn close_elapsed(&mut self, now_ms: i64) -> Vec<ClosedKline> {
        self.now_ms = self.now_ms.max(now_ms);
        let mut closed = Vec::new();
        if self.next_close_ms >= self.now_ms {
            return closed;
        }
        let (now_ms, cap) = (self.now_ms, self.history_cap);
        let mut next_close_ms = i64::MAX;
        for (&(symbol, interval), series) in &mut self.series {
            match series.open {
                Some(kline) if kline.close_time_ms < now_ms => {
                    push_capped(&mut series.closed, kline, cap);
                    series.open = None;
                    closed.push(ClosedKline { symbol, interval, kline });
                }
                Some(kline) => next_close_ms = next_close_ms.min(kline.close_time_ms),
                None => {}
            }
        }
        self.next_close_ms = next_close_ms;
        closed
    }

    fn add_trade(&mut self, trade: &Trade, closed: &mut Vec<ClosedKline>) {
        let now_ms = self.now_ms;
        for interval in Interval::ALL {
            let series = self.series.entry((trade.symbol, interval)).or_default();
            let open_time_ms = interval.open_time_ms(now_ms);
            match &mut series.open {
                Some(kline) if kline.open_time_ms == open_time_ms => kline.add(trade),
                open => {
                    // After `close_elapsed`, an open kline always holds `now`; this only
                    // guards the model against a clock it did not expect.
                    if let Some(kline) = open.replace(Kline::open_with(interval, now_ms, trade)) {
                        push_capped(&mut series.closed, kline, self.history_cap);
                        closed.push(ClosedKline { symbol: trade.symbol, interval, kline });
                    }
                    self.next_close_ms = self.next_close_ms.min(interval.close_time_ms(now_ms));
                }
            }
        }
    }

    /// Klines of a symbol and interval, oldest first, the open one included, whose open time
    /// lies within `start_ms..=end_ms` (either bound optional). Like Binance: with a start,
    /// the first `limit` of them; without, the last `limit`.
    pub fn klines(
        &self,
        symbol: SymbolId,
        interval: Interval,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        limit: usize,
    ) -> Vec<Kline> {
        let Some(series) = self.series.get(&(symbol, interval)) else { return Vec::new() };
        let in_range = |kline: &&Kline| {
            start_ms.is_none_or(|start| kline.open_time_ms >= start)
                && end_ms.is_none_or(|end| kline.open_time_ms <= end)
        };
        let all = series.closed.iter().chain(series.open.iter());
        if start_ms.is_some() {
            return all.filter(in_range).take(limit).copied().collect();
        }
        let mut latest: Vec<Kline> = all.rev().filter(in_range).take(limit).copied().collect();
        latest.reverse();
        latest
    }

    /// The kline still open for a symbol and interval, if its interval has had a trade.
    pub fn open_kline(&self, symbol: SymbolId, interval: Interval) -> Option<Kline> {
        self.series.get(&(symbol, interval)).and_then(|series| series.open)
    }
}

fn push_capped(history: &mut VecDeque<Kline>, kline: Kline, cap: usize) {
    history.push_back(kline);
    while history.len() > cap {
        history.pop_front();
    }
}

#[cfg(test)]
mod tests;
