//! The scripted sequence every adapter's test replays, with totals and depth computed by
//! hand under price-time priority: a fill takes the best price first and, within a price,
//! the oldest order, never a price beyond the taker's limit; an amend re-enters the order's
//! remaining lots at the back of the new level.

use super::{DepthHasher, Levels};
use crate::op::{BenchEngine, Op, OpKind, OpSide, RunTotals};

fn order(kind: OpKind, order_id: u64, symbol: u32, side: OpSide, price_ticks: i64, qty_lots: i64) -> Op {
    Op { kind, side, seq: order_id, order_id, target_order_id: 0, account: 0, symbol, price_ticks, qty_lots }
}

fn cancel(target_order_id: u64, side: OpSide) -> Op {
    Op { target_order_id, ..order(OpKind::Cancel, 0, 0, side, 0, 0) }
}

/// `qty_lots` is the order's total size, as the workload writes it, not what is left.
fn amend(target_order_id: u64, side: OpSide, price_ticks: i64, qty_lots: i64) -> Op {
    Op { target_order_id, ..order(OpKind::Amend, 0, 0, side, price_ticks, qty_lots) }
}

pub(crate) fn ops() -> Vec<Op> {
    use OpKind::{Gtc, Ioc};
    use OpSide::{Buy, Sell};
    vec![
        order(Gtc, 1, 0, Sell, 101, 5),
        order(Gtc, 2, 0, Sell, 102, 5),
        order(Gtc, 3, 0, Sell, 101, 4),
        // Fills 1 (5 @ 101) then 3 (3 @ 101), not 2: 2 trades, 8 lots; 3 keeps 1 lot.
        order(Gtc, 4, 0, Buy, 102, 8),
        order(Gtc, 5, 0, Buy, 100, 6),
        order(Gtc, 6, 0, Buy, 100, 2),
        cancel(5, Buy),
        // 3 re-enters with its 1 remaining lot (not 4) and takes 1 of 6's 2: 3 trades, 9 lots.
        amend(3, Sell, 100, 4),
        order(Gtc, 7, 0, Sell, 103, 2),
        // 2 moves behind 7.
        amend(2, Sell, 103, 5),
        // Takes 7's 2, then 1 of 2's 5: 5 trades, 12 lots.
        order(Ioc, 8, 0, Buy, 103, 3),
        // Crosses nothing and does not rest.
        order(Ioc, 9, 0, Sell, 101, 5),
        order(Gtc, 10, 0, Sell, 104, 6),
        // Takes 2's last 4 but not 10 at 104, beyond its limit; rests 3: 6 trades, 16 lots.
        order(Gtc, 11, 0, Buy, 103, 7),
        // Takes 11's 3 @ 103, then 6's 1 @ 100, drops 1: 8 trades, 20 lots.
        order(Ioc, 12, 0, Sell, 100, 5),
        order(Gtc, 13, 1, Buy, 50, 3),
        // A made-up id and a filled order's id, as profile B sends: no effect.
        cancel(u64::MAX - 5, Sell),
        cancel(1, Sell),
    ]
}

pub(crate) const TOTALS: RunTotals = RunTotals { trades: 8, volume_lots: 20 };

/// Each of the three symbols' depth after the script; the third is never used.
pub(crate) fn levels() -> [Levels; 3] {
    [(vec![], vec![(104, 6)]), (vec![(50, 3)], vec![]), (vec![], vec![])]
}

/// Sets up three symbols and replays the script.
pub(crate) fn run<E: BenchEngine>(engine: &mut E) {
    engine.setup(3, 1);
    for op in ops() {
        engine.apply(&op);
    }
}

/// Replays the script and checks the totals, each symbol's depth as `depth` reads it, and
/// the depth hash, which skips the empty third symbol.
pub(crate) fn check<E: BenchEngine>(engine: &mut E, depth: impl Fn(&E, u32) -> Levels) {
    run(engine);
    assert_eq!(engine.totals(), TOTALS);
    let expected = levels();
    for (symbol, levels) in expected.iter().enumerate() {
        assert_eq!(depth(engine, symbol as u32), *levels, "symbol {symbol}");
    }
    let mut hasher = DepthHasher::default();
    hasher.symbol(0, &expected[0].0, &expected[0].1);
    hasher.symbol(1, &expected[1].0, &expected[1].1);
    assert_eq!(engine.depth_hash(), hasher.finish());
}
