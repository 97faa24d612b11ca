//! The workload record: one fixed-size operation, as stored in an op file and fed to every
//! engine under test. Prices are ticks and quantities lots, so any order book can take
//! them; `order_id` is the id our engine assigns, and adapters map it to their own.

/// What an operation asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum OpKind {
    /// A good-till-cancelled limit order: matches, then rests.
    Gtc = 0,
    /// An immediate-or-cancel limit order: matches, and the rest is dropped.
    Ioc = 1,
    /// Cancels `target_order_id`.
    Cancel = 2,
    /// Moves `target_order_id` to `price_ticks`, keeping its size: it loses priority, may
    /// match, and rests. A peer without amend gets a cancel and a new order for what is left.
    Amend = 3,
}

impl OpKind {
    pub fn from_u8(value: u8) -> Option<OpKind> {
        match value {
            0 => Some(OpKind::Gtc),
            1 => Some(OpKind::Ioc),
            2 => Some(OpKind::Cancel),
            3 => Some(OpKind::Amend),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpSide {
    Buy,
    Sell,
}

/// One operation. Fields a kind does not use are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub kind: OpKind,
    pub side: OpSide,
    /// Gap-free from 1 across the whole file, setup excluded.
    pub seq: u64,
    /// The id our engine gives a new order (Gtc, Ioc); an IOC gets one too.
    pub order_id: u64,
    /// The order a Cancel or Amend names. It is live when the op runs, except in profile B,
    /// where half the cancels name dead or made-up ids, as QuantCup's feed does.
    pub target_order_id: u64,
    pub account: u32,
    /// For a Cancel or Amend, the target order's symbol.
    pub symbol: u32,
    pub price_ticks: i64,
    /// Lots for a new order; for an Amend, the order's total lots (unchanged).
    pub qty_lots: i64,
}

/// What an engine under test must report after a run, to prove it did the same work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunTotals {
    pub trades: u64,
    /// Sum of traded lots.
    pub volume_lots: u64,
}

/// An order book under test. Adapters are thin: they translate an op into the book's own
/// calls and count trades and traded lots from what the book reports.
pub trait BenchEngine {
    /// A short name for the results table.
    fn name(&self) -> &'static str;

    /// Prepares `symbols` empty books and `accounts` accounts before the timed run.
    fn setup(&mut self, symbols: u32, accounts: u32);

    /// Applies one operation.
    fn apply(&mut self, op: &Op);

    fn totals(&self) -> RunTotals;

    /// A hash of every symbol's depth, (price, total lots) per level from the best price
    /// down, bids then asks; see `depth_hash`. Every engine must agree with the file.
    fn depth_hash(&self) -> u64;

    /// The full engine state hash, for engines that have one comparable with the file's.
    fn state_hash(&self) -> Option<u64> {
        None
    }
}

/// The canonical depth hash: feed each symbol's levels in order and call `finish`.
#[derive(Default)]
pub struct DepthHasher {
    state: u64,
    symbols: u64,
}

impl DepthHasher {
    fn mix(&mut self, value: u64) {
        self.state = (self.state ^ value).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(29);
    }

    /// One symbol's depth: bids from the highest price, asks from the lowest; each level as
    /// (price ticks, total lots). Empty symbols are skipped by the caller.
    pub fn symbol(&mut self, symbol: u32, bids: &[(i64, i64)], asks: &[(i64, i64)]) {
        self.mix(symbol as u64);
        for (levels, marker) in [(bids, 1u64), (asks, 2u64)] {
            self.mix(marker);
            for (price, lots) in levels {
                self.mix(*price as u64);
                self.mix(*lots as u64);
            }
        }
        self.symbols += 1;
    }

    pub fn finish(&self) -> u64 {
        self.state ^ self.symbols.rotate_left(17)
    }
}
