//! lobster 0.7: a small limit order book over `BTreeMap` levels and an order arena.

use ::lobster::{BookLevel, FillMetadata, OrderBook, OrderEvent, OrderType, Side};

use super::{by_side, depth_hash, signed, unsigned, ById, Levels};
use crate::op::{BenchEngine, Op, OpKind, RunTotals};

/// lobster's default arena (orders preallocated per book) and level queue capacity.
const DEFAULT_ARENA: usize = 10_000;
const DEFAULT_QUEUE: usize = 10;
/// Preallocated orders across all books: the default arena per book, shrunk for many
/// symbols (10,000 default arenas would preallocate gigabytes).
const ARENA_BUDGET: usize = 1 << 20;

/// lobster's `OrderBook`, one per symbol, with our order ids as its ids.
///
/// Matching is price-time with one `FillMetadata` per maker order, as ours. lobster has no
/// IOC and no amend, so an IOC is a limit order whose remainder is cancelled at once, and an
/// amend is a cancel plus a limit order for the lots the order has left, at the back of the
/// new level. lobster does not expose an order's remaining lots, so the adapter tracks them
/// from the fills (one store per fill and per new order). Prices and quantities are `u64`,
/// converted exactly. Two traits of the crate show in its timings: emptied levels stay in
/// its maps, so finding the best price after a cancel or a match walks past them; and a
/// fully filled maker is never removed from its id map.
#[derive(Default)]
pub struct Lobster {
    books: Vec<OrderBook>,
    remaining: ById,
    totals: RunTotals,
}

impl Lobster {
    /// Submits a limit order and returns the lots that did not trade (now resting).
    fn limit(&mut self, symbol: u32, id: u64, side: Side, price: u64, qty: u64) -> u64 {
        let order = OrderType::Limit { id: id.into(), side, qty, price };
        match self.books[symbol as usize].execute(order) {
            OrderEvent::Filled { filled_qty, fills, .. } | OrderEvent::PartiallyFilled { filled_qty, fills, .. } => {
                self.record(&fills);
                qty - filled_qty
            }
            _ => qty,
        }
    }

    fn record(&mut self, fills: &[FillMetadata]) {
        for fill in fills {
            self.totals.trades += 1;
            self.totals.volume_lots += fill.qty;
            let maker = u64::try_from(fill.order_2).expect("the adapter passes u64 ids");
            self.remaining.set(maker, self.remaining.get(maker) - fill.qty);
        }
    }

    fn cancel(&mut self, symbol: u32, id: u64) {
        self.books[symbol as usize].execute(OrderType::Cancel { id: id.into() });
    }

    fn new_order(&mut self, op: &Op) -> u64 {
        let side = by_side(op.side, Side::Bid, Side::Ask);
        self.limit(op.symbol, op.order_id, side, unsigned(op.price_ticks), unsigned(op.qty_lots))
    }

    /// Cancel, then the order's remaining lots at the new price under the same id, which the
    /// cancel freed.
    fn amend(&mut self, op: &Op) {
        let lots = self.remaining.get(op.target_order_id);
        if lots == ById::ABSENT {
            return;
        }
        self.cancel(op.symbol, op.target_order_id);
        let side = by_side(op.side, Side::Bid, Side::Ask);
        let resting = self.limit(op.symbol, op.target_order_id, side, unsigned(op.price_ticks), lots);
        self.remaining.set(op.target_order_id, resting);
    }
}

impl BenchEngine for Lobster {
    fn name(&self) -> &'static str {
        "lobster 0.7"
    }

    fn setup(&mut self, symbols: u32, _accounts: u32) {
        let arena = (ARENA_BUDGET / symbols.max(1) as usize).clamp(16, DEFAULT_ARENA);
        self.books = (0..symbols).map(|_| OrderBook::new(arena, DEFAULT_QUEUE, false)).collect();
        self.remaining = ById::default();
        self.totals = RunTotals::default();
    }

    #[inline]
    fn apply(&mut self, op: &Op) {
        match op.kind {
            OpKind::Gtc => {
                let resting = self.new_order(op);
                self.remaining.set(op.order_id, resting);
            }
            OpKind::Ioc => {
                if self.new_order(op) > 0 {
                    self.cancel(op.symbol, op.order_id);
                }
            }
            OpKind::Cancel => self.cancel(op.symbol, op.target_order_id),
            OpKind::Amend => self.amend(op),
        }
    }

    fn totals(&self) -> RunTotals {
        self.totals
    }

    fn depth_hash(&self) -> u64 {
        depth_hash(&self.books, depth)
    }
}

fn depth(book: &OrderBook) -> Levels {
    // `depth` lists every non-empty level whatever the count; the count only sizes its vectors.
    let depth = book.depth(0);
    let level = |level: &BookLevel| (signed(level.price), signed(level.qty));
    (depth.bids.iter().rev().map(level).collect(), depth.asks.iter().map(level).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_price_time_priority() {
        let mut engine = Lobster::default();
        super::super::script::check(&mut engine, |engine, symbol| depth(&engine.books[symbol as usize]));
    }
}
