//! Adapters for published order-book crates, fed the same operations as our engine. Each
//! keeps one book per symbol and translates an op into the crate's own calls; where a
//! crate's semantics or number types differ from ours, its adapter's doc says how.

pub mod lobster;
pub mod matchcore;
pub mod orderbook_rs;

#[cfg(test)]
mod script;

use crate::op::{BenchEngine, DepthHasher, OpSide};

/// A fresh instance of every peer adapter that reproduces the workloads. matchcore is left
/// out: it matches crossing limit orders past their limit price (see its adapter).
pub fn all() -> Vec<Box<dyn BenchEngine>> {
    vec![Box::new(lobster::Lobster::default()), Box::new(orderbook_rs::OrderbookRs::default())]
}

/// One book's depth: bids from the highest price, asks from the lowest, (ticks, lots).
pub(crate) type Levels = (Vec<(i64, i64)>, Vec<(i64, i64)>);

/// The canonical depth hash over books indexed by symbol, skipping empty ones.
pub(crate) fn depth_hash<B>(books: &[B], depth: impl Fn(&B) -> Levels) -> u64 {
    let mut hasher = DepthHasher::default();
    for (symbol, book) in books.iter().enumerate() {
        let (bids, asks) = depth(book);
        if !bids.is_empty() || !asks.is_empty() {
            hasher.symbol(symbol as u32, &bids, &asks);
        }
    }
    hasher.finish()
}

/// Ticks and lots are positive, so the crates' unsigned types hold them exactly.
pub(crate) fn unsigned(value: i64) -> u64 {
    u64::try_from(value).expect("prices and quantities are positive")
}

/// Back from a crate's unsigned type; the value came from an `i64`.
pub(crate) fn signed(value: u64) -> i64 {
    i64::try_from(value).expect("a price or quantity that came from an i64")
}

/// A per-order value keyed by our order id, in a flat vector: our ids are dense from 1, so
/// a lookup is one indexed load, the cheapest map an adapter can keep. Ids never set, and
/// ids beyond the vector (a workload may cancel made-up ids), read as `ById::ABSENT`.
#[derive(Default)]
pub(crate) struct ById {
    values: Vec<u64>,
}

impl ById {
    pub(crate) const ABSENT: u64 = u64::MAX;

    #[inline]
    pub(crate) fn get(&self, id: u64) -> u64 {
        usize::try_from(id).ok().and_then(|index| self.values.get(index)).copied().unwrap_or(Self::ABSENT)
    }

    #[inline]
    pub(crate) fn set(&mut self, id: u64, value: u64) {
        let index = usize::try_from(id).expect("order ids are dense");
        if index >= self.values.len() {
            let len = (index + 1).max(self.values.len() * 2);
            self.values.resize(len, Self::ABSENT);
        }
        self.values[index] = value;
    }
}

/// Maps our side onto a crate's two-variant side enum.
pub(crate) fn by_side<S>(side: OpSide, buy: S, sell: S) -> S {
    match side {
        OpSide::Buy => buy,
        OpSide::Sell => sell,
    }
}
