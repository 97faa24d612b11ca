//! A depth client that keeps a local book by the sync rules in `cex_projections::depth`'s
//! documentation, written from those rules alone, so the tests hold the diffs to them.

use std::collections::BTreeMap;

use cex_engine::SymbolId;
use cex_projections::{DepthDiff, DepthSnapshot, Level};

/// Why a client has to start again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncError {
    /// Rule 4: the oldest diff still buffered starts after the snapshot's next id.
    SnapshotTooOld { next_id: u64, first_update_id: u64 },
    /// Rule 5: a diff does not continue from the previous one.
    Gap { expected: u64, first_update_id: u64 },
}

#[derive(Debug, Clone)]
struct LocalBook {
    last_update_id: u64,
    /// Whether a diff has been applied on top of the snapshot: the first one may overlap
    /// it (rule 4), every later one must follow exactly (rule 5).
    applied_a_diff: bool,
    bids: BTreeMap<i64, Level>,
    asks: BTreeMap<i64, Level>,
}

#[derive(Debug, Clone)]
pub struct DepthClient {
    pub symbol: SymbolId,
    buffer: Vec<DepthDiff>,
    book: Option<LocalBook>,
}

impl DepthClient {
    /// Rule 1: subscribed, buffering until the snapshot comes.
    pub fn subscribe(symbol: SymbolId) -> Self {
        DepthClient { symbol, buffer: Vec::new(), book: None }
    }

    pub fn is_synced(&self) -> bool {
        self.book.is_some()
    }

    pub fn on_diff(&mut self, diff: &DepthDiff) -> Result<(), SyncError> {
        assert_eq!(diff.symbol, self.symbol, "a diff of another symbol");
        match &mut self.book {
            None => {
                self.buffer.push(diff.clone());
                Ok(())
            }
            Some(book) => book.apply(diff),
        }
    }

    /// Rules 2 to 5: the snapshot, then whatever was buffered that is newer.
    pub fn on_snapshot(&mut self, snapshot: &DepthSnapshot) -> Result<(), SyncError> {
        let level_map = |levels: &[Level]| levels.iter().map(|level| (level.price, *level)).collect();
        let mut book = LocalBook {
            last_update_id: snapshot.last_update_id,
            applied_a_diff: false,
            bids: level_map(&snapshot.bids),
            asks: level_map(&snapshot.asks),
        };
        for diff in std::mem::take(&mut self.buffer) {
            if diff.last_update_id <= snapshot.last_update_id {
                continue;
            }
            book.apply(&diff)?;
        }
        self.book = Some(book);
        Ok(())
    }

    /// The local book in snapshot form, for comparing with a fresh one.
    pub fn view(&self) -> Option<DepthSnapshot> {
        let book = self.book.as_ref()?;
        Some(DepthSnapshot {
            symbol: self.symbol,
            last_update_id: book.last_update_id,
            bids: book.bids.values().rev().copied().collect(),
            asks: book.asks.values().copied().collect(),
        })
    }
}

impl LocalBook {
    fn apply(&mut self, diff: &DepthDiff) -> Result<(), SyncError> {
        let next_id = self.last_update_id + 1;
        let covers_next_id = diff.first_update_id <= next_id && next_id <= diff.last_update_id;
        if !self.applied_a_diff && !covers_next_id {
            return Err(SyncError::SnapshotTooOld { next_id, first_update_id: diff.first_update_id });
        }
        if self.applied_a_diff && diff.first_update_id != next_id {
            return Err(SyncError::Gap { expected: next_id, first_update_id: diff.first_update_id });
        }
        set_levels(&mut self.bids, &diff.bids);
        set_levels(&mut self.asks, &diff.asks);
        self.last_update_id = diff.last_update_id;
        self.applied_a_diff = true;
        Ok(())
    }
}

/// Rule 6.
fn set_levels(side: &mut BTreeMap<i64, Level>, changes: &[Level]) {
    for level in changes {
        if level.qty == 0 {
            side.remove(&level.price);
        } else {
            side.insert(level.price, *level);
        }
    }
}
