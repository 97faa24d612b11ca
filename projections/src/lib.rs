//! Read models ("projections") fed by the engine's event stream, for the market-data and
//! account APIs: L2 depth with Binance-style diffs ([`depth`]), recent public trades
//! ([`trades`]), klines ([`klines`]), the rolling 24 h ticker ([`ticker`]), balances and
//! orders per account ([`accounts`]) and the asset and symbol registry ([`registry`]).
//!
//! They are pure and deterministic: no I/O, no clock, no threads. The only input is
//! [`Projections::apply`], called once per command, in sequence order, with the command's
//! sequence, its timestamp and its events (possibly none), as the runtime's consumer
//! delivers them. The same stream always gives the same state and the same outputs.
//!
//! - A sequence at or below the last one applied is skipped: it was applied already, so a
//!   redelivery changes nothing.
//! - Time never steps back: a timestamp older than the previous one counts as equal to it,
//!   as in the engine.
//! - Any stream is accepted without panicking. Events naming orders, accounts or symbols the
//!   models do not know are ignored where they cannot apply, and all arithmetic on event
//!   values saturates.
//!
//! Units are the engine's throughout: prices in quote minor units per whole base unit,
//! quantities in base minor units, notionals and balances in minor units of their asset.
//! Decimal formatting, names and scales are the API's job (the [`registry`] has the scales).

pub mod accounts;
mod calendar;
pub mod depth;
pub mod klines;
pub mod registry;
#[cfg(test)]
mod testing;
pub mod ticker;
pub mod trades;

use cex_engine::{Event, SymbolId};

pub use accounts::{
    AccountChanges, AccountInfo, Accounts, AssetBalance, Balance, BalanceUpdate, OrderStatus, OrderView,
};
pub use depth::{BestPrices, Depth, DepthDiff, DepthSnapshot, Level};
pub use klines::{ClosedKline, Interval, Kline, Klines};
pub use registry::{AssetInfo, Registry, SymbolInfo};
pub use ticker::{Ticker24h, Tickers};
pub use trades::{PublicTrade, RecentTrades};

/// How much history the models keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectionConfig {
    /// Closed klines kept per symbol and interval.
    pub kline_history: usize,
    /// Width of the 24 h ticker's buckets: the precision of the window's start.
    pub ticker_bucket_ms: i64,
    /// Public trades kept per symbol.
    pub recent_trades: usize,
    /// Closed orders kept per account.
    pub closed_orders_per_account: usize,
}

impl Default for ProjectionConfig {
    fn default() -> Self {
        ProjectionConfig {
            kline_history: 1_000,
            ticker_bucket_ms: ticker::DEFAULT_BUCKET_MS,
            recent_trades: 1_000,
            closed_orders_per_account: 1_000,
        }
    }
}

/// What one command changed, for the streams and the kline store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub seq: u64,
    /// One per symbol whose book changed, by ascending symbol.
    pub depth: Vec<DepthDiff>,
    /// The command's trades, in order.
    pub trades: Vec<PublicTrade>,
    /// Klines that ended with this command, to persist.
    pub closed_klines: Vec<ClosedKline>,
    pub accounts: AccountChanges,
}

/// Every read model, fed together.
#[derive(Debug, Clone)]
pub struct Projections {
    last_seq: u64,
    registry: Registry,
    depth: Depth,
    trades: RecentTrades,
    klines: Klines,
    tickers: Tickers,
    accounts: Accounts,
}

impl Projections {
    pub fn new(config: ProjectionConfig) -> Self {
        Projections {
            last_seq: 0,
            registry: Registry::new(),
            depth: Depth::new(),
            trades: RecentTrades::new(config.recent_trades),
            klines: Klines::new(config.kline_history),
            tickers: Tickers::new(config.ticker_bucket_ms),
            accounts: Accounts::new(config.closed_orders_per_account),
        }
    }

    /// Takes in one command: its sequence, its timestamp in ns since the epoch, and its
    /// events. Returns what changed; nothing for a sequence already applied.
    pub fn apply(&mut self, seq: u64, ts_ns: u64, events: &[Event]) -> Changes {
        if seq <= self.last_seq {
            return Changes { seq, ..Changes::default() };
        }
        self.last_seq = seq;
        self.registry.apply(events);
        self.tickers.apply(ts_ns, events);
        Changes {
            seq,
            depth: self.depth.apply(seq, events),
            trades: self.trades.apply(ts_ns, events),
            closed_klines: self.klines.apply(ts_ns, events),
            accounts: self.accounts.apply(ts_ns, events),
        }
    }

    /// Closes the klines whose time has run out by `now_ns` when no command has come to do
    /// it; for a timer in quiet spells. Returns them.
    pub fn close_elapsed_klines(&mut self, now_ns: u64) -> Vec<ClosedKline> {
        self.klines.close_elapsed(klines::ns_to_ms(now_ns))
    }

    /// The last sequence applied; 0 before the first.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The 24 h ticker of a known symbol, as of `as_of_ms` or the last command's time,
    /// whichever is later.
    pub fn ticker(&self, symbol: SymbolId, as_of_ms: i64) -> Option<Ticker24h> {
        self.registry.symbol(symbol)?;
        Some(self.tickers.ticker(symbol, as_of_ms, &self.depth))
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn depth(&self) -> &Depth {
        &self.depth
    }

    pub fn trades(&self) -> &RecentTrades {
        &self.trades
    }

    pub fn klines(&self) -> &Klines {
        &self.klines
    }

    pub fn tickers(&self) -> &Tickers {
        &self.tickers
    }

    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }
}
