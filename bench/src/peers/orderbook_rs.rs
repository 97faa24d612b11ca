//! orderbook-rs 0.15: a thread-safe book over lock-free skip lists and concurrent maps.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ::orderbook_rs::{Id, OrderBook, Side, TimeInForce, TradeListener, TradeResult};
use ::pricelevel::{OrderUpdate, Price};

use super::{by_side, depth_hash, signed, unsigned, Levels};
use crate::op::{BenchEngine, Op, OpKind, RunTotals};

/// orderbook-rs's `OrderBook<()>`, one per symbol, with our order ids as its ids.
///
/// Semantics match ours: one trade per maker order filled, native IOC, and
/// `OrderUpdate::UpdatePrice` cancels the order and re-adds its remaining quantity at the
/// new price, at the back of the level, matching if it crosses. Trades are counted by the
/// book's trade listener, the one channel that reports every fill: an IOC that leaves a
/// remainder returns an error and hands its fills to the listener only. The listener must
/// be `Send + Sync`, hence atomic counters (uncontended here). The book is built for
/// concurrent callers and pays for it on one thread: gates, `Arc`ed orders, and a wall-clock
/// read per order. Prices are `u128` and quantities `u64`, converted exactly; STP, fees,
/// tick and lot checks stay off, as the crate defaults.
#[derive(Default)]
pub struct OrderbookRs {
    books: Vec<OrderBook<()>>,
    tally: Arc<Tally>,
}

#[derive(Default)]
struct Tally {
    trades: AtomicU64,
    volume_lots: AtomicU64,
}

impl Tally {
    fn record(&self, result: &TradeResult) {
        let trades = result.match_result.trades().as_vec();
        let lots: u64 = trades.iter().map(|trade| trade.quantity().as_u64()).sum();
        self.trades.fetch_add(trades.len() as u64, Ordering::Relaxed);
        self.volume_lots.fetch_add(lots, Ordering::Relaxed);
    }
}

impl OrderbookRs {
    fn submit(&self, op: &Op, time_in_force: TimeInForce) {
        let side = by_side(op.side, Side::Buy, Side::Sell);
        let price = u128::from(unsigned(op.price_ticks));
        let book = &self.books[op.symbol as usize];
        // An IOC's unfilled remainder is reported as an error; the fills reach the listener.
        let _ =
            book.add_limit_order(Id::Sequential(op.order_id), price, unsigned(op.qty_lots), side, time_in_force, None);
    }

    fn amend(&self, op: &Op) {
        let order_id = Id::Sequential(op.target_order_id);
        let new_price = Price::new(u128::from(unsigned(op.price_ticks)));
        // A failed modify leaves the book as it was; the totals and depth show any difference.
        let _ = self.books[op.symbol as usize].update_order(OrderUpdate::UpdatePrice { order_id, new_price });
    }
}

impl BenchEngine for OrderbookRs {
    fn name(&self) -> &'static str {
        "orderbook-rs 0.15"
    }

    fn setup(&mut self, symbols: u32, _accounts: u32) {
        let tally = Arc::new(Tally::default());
        let counter = Arc::clone(&tally);
        let listener: TradeListener = Arc::new(move |result: &TradeResult| counter.record(result));
        self.books = (0..symbols)
            .map(|symbol| OrderBook::with_trade_listener(&symbol.to_string(), Arc::clone(&listener)))
            .collect();
        self.tally = tally;
    }

    #[inline]
    fn apply(&mut self, op: &Op) {
        match op.kind {
            OpKind::Gtc => self.submit(op, TimeInForce::Gtc),
            OpKind::Ioc => self.submit(op, TimeInForce::Ioc),
            // An unknown id is `Ok(None)`: nothing to cancel.
            OpKind::Cancel => {
                let _ = self.books[op.symbol as usize].cancel_order(Id::Sequential(op.target_order_id));
            }
            OpKind::Amend => self.amend(op),
        }
    }

    fn totals(&self) -> RunTotals {
        RunTotals {
            trades: self.tally.trades.load(Ordering::Relaxed),
            volume_lots: self.tally.volume_lots.load(Ordering::Relaxed),
        }
    }

    fn depth_hash(&self) -> u64 {
        depth_hash(&self.books, depth)
    }
}

fn depth(book: &OrderBook<()>) -> Levels {
    let snapshot = book.create_snapshot(usize::MAX).expect("a book used from one thread snapshots");
    let level = |level: &::pricelevel::PriceLevelSnapshot| {
        let lots = level.total_quantity().expect("a level's total fits u64").as_u64();
        (signed(u64::try_from(level.price().as_u128()).expect("a price that came from an i64")), signed(lots))
    };
    (snapshot.bids.iter().map(level).collect(), snapshot.asks.iter().map(level).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_price_time_priority() {
        let mut engine = OrderbookRs::default();
        super::super::script::check(&mut engine, |engine, symbol| depth(&engine.books[symbol as usize]));
    }
}
