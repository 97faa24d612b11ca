//! Aggregated L2 depth per symbol, rebuilt from events alone, with Binance-style diffs.
//!
//! # What rests, and how much
//!
//! The engine rests an order only if it is a `Limit` or `StopLimit` with time in force GTC or
//! GTD ("may rest"); IOC, FOK and market orders never rest. Whatever may rest ends its
//! execution in exactly one of three ways, each visible in the events: it rests with what is
//! left, it is filled (a `Trade` with `taker_remaining` 0), or it is cancelled
//! (`OrderCancelled`: STP, FOK, book capacity). So this model puts such an order on its level
//! as soon as it arrives with its full quantity, lets every `Trade` set its remaining (from
//! `maker_remaining` or `taker_remaining`), and takes it off on `OrderCancelled` or when its
//! remaining reaches 0. Inside one command the book may look crossed while the taker is
//! being matched; between commands it is the engine's book, because only the net effect of a
//! command is published.
//!
//! - **Limit GTC/GTD** (mass-quote legs included, which are post-only GTC limits): placed on
//!   `OrderAccepted`.
//! - **StopLimit GTC/GTD**: remembered on `OrderAccepted`, placed with its full quantity on
//!   `StopTriggered`. Stop-market orders and IOC/FOK stop-limits never rest.
//! - **Amend** (`OrderAmended`): the remaining becomes `remaining + new_qty − old_qty` (the
//!   quantities are totals, the filled part included) at `new_price`. Whether the engine kept
//!   the queue position or re-ran the order as a taker, the aggregate is the same: off the old
//!   level, onto the new one; any trades follow as ordinary `Trade` events.
//! - **Cancels** of every reason (user, admin, GTD expiry, STP, suspension and delisting)
//!   arrive as `OrderCancelled` and remove the order, resting or waiting.
//!
//! Orders the model never placed (market, IOC, FOK, unknown ids) are ignored wherever they
//! appear, so a damaged stream cannot break it.
//!
//! # Update ids and diffs
//!
//! A book's update id is the sequence (`txid`) of the last command that changed one of its
//! levels (a level's quantity or order count); a new book starts at the sequence of its
//! `SymbolAdded`. [`Depth::apply`] returns, for each symbol whose book changed, one
//! [`DepthDiff`]: the levels that differ from before the command (quantity 0 for a removed
//! level), with `first_update_id` = the book's previous update id + 1 and `last_update_id` =
//! this command's sequence. The diffs of a symbol therefore cover consecutive, gap-free
//! ranges of sequences, and a snapshot's `last_update_id` is the end of one of those ranges.
//!
//! # Keeping a local book in sync (the client's rules)
//!
//! 1. Subscribe to the diff stream and buffer what arrives.
//! 2. Take a snapshot; call its `last_update_id` L.
//! 3. Drop buffered diffs with `last_update_id <= L`.
//! 4. The first diff to apply has `first_update_id <= L + 1 <= last_update_id`. (If none has
//!    arrived yet, the next one will have `first_update_id == L + 1`.) A buffer whose oldest
//!    remaining diff starts after L + 1 means the snapshot is too old: take another.
//! 5. Every later diff has `first_update_id == previous last_update_id + 1`; anything else
//!    means a diff was missed: start again from 1.
//! 6. Applying a diff sets each listed level to its quantity and order count, removing the
//!    level when the quantity is 0.
//!
//! Snapshots taken with a `limit` hold only the best levels; a client that needs the whole
//! book takes an unlimited one.

use std::collections::{BTreeMap, HashMap};

use cex_engine::{
    Event, EventBody, OrderAccepted, OrderAmended, OrderId, OrderType, Side, SymbolId, TimeInForce, Trade,
};

/// One aggregated price level. In a diff, `qty` 0 (and `orders` 0) means the level is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Quote minor units per whole base unit.
    pub price: i64,
    /// Total remaining quantity of the resting orders, in base minor units.
    pub qty: i64,
    /// How many orders rest at this price.
    pub orders: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthSnapshot {
    pub symbol: SymbolId,
    pub last_update_id: u64,
    /// Best (highest) first.
    pub bids: Vec<Level>,
    /// Best (lowest) first.
    pub asks: Vec<Level>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthDiff {
    pub symbol: SymbolId,
    pub first_update_id: u64,
    pub last_update_id: u64,
    /// Changed bid levels, highest first.
    pub bids: Vec<Level>,
    /// Changed ask levels, lowest first.
    pub asks: Vec<Level>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BestPrices {
    pub bid: Option<Level>,
    pub ask: Option<Level>,
}

/// A level's exact totals. Each resting order holds a positive i64, so these never overflow
/// and a level with orders always has a positive quantity, even when the sum passes i64 on
/// a damaged stream; `Level` shows them clamped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct LevelTotals {
    qty: i128,
    orders: u64,
}

impl LevelTotals {
    fn at(self, price: i64) -> Level {
        Level {
            price,
            qty: i64::try_from(self.qty).unwrap_or(i64::MAX),
            orders: u32::try_from(self.orders).unwrap_or(u32::MAX),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Book {
    last_update_id: u64,
    bids: BTreeMap<i64, LevelTotals>,
    asks: BTreeMap<i64, LevelTotals>,
}

impl Book {
    fn side(&self, side: Side) -> &BTreeMap<i64, LevelTotals> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut BTreeMap<i64, LevelTotals> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// The side's levels, best price first.
    fn best_first(&self, side: Side) -> impl Iterator<Item = Level> + '_ {
        let (bids, asks) = match side {
            Side::Buy => (Some(self.bids.iter().rev()), None),
            Side::Sell => (None, Some(self.asks.iter())),
        };
        let level = |(price, totals): (&i64, &LevelTotals)| totals.at(*price);
        bids.into_iter().flatten().chain(asks.into_iter().flatten()).map(level)
    }
}

/// Where an order that may rest currently is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// On its level with this much left.
    Resting { remaining: i64 },
    /// A stop-limit waiting for its trigger, with its full quantity.
    WaitingStop { qty: i64 },
}

#[derive(Debug, Clone, Copy)]
struct TrackedOrder {
    symbol: SymbolId,
    side: Side,
    price: i64,
    placement: Placement,
}

/// A level a command touched, keyed so the changed levels come out sorted by symbol.
type LevelKey = (SymbolId, SideKey, i64);

/// `Side` has no ordering of its own that means anything here; bids sort first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SideKey {
    Bid,
    Ask,
}

impl SideKey {
    fn of(side: Side) -> Self {
        match side {
            Side::Buy => SideKey::Bid,
            Side::Sell => SideKey::Ask,
        }
    }

    fn side(self) -> Side {
        match self {
            SideKey::Bid => Side::Buy,
            SideKey::Ask => Side::Sell,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Depth {
    last_seq: u64,
    books: BTreeMap<SymbolId, Book>,
    /// Orders that rest or may rest later. Looked up, never iterated, so its order cannot
    /// reach any output.
    orders: HashMap<OrderId, TrackedOrder>,
    /// The levels the current command touched, with their totals before it.
    touched: BTreeMap<LevelKey, Option<LevelTotals>>,
}

impl Depth {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in one command's events and returns a diff per symbol whose book changed. A
    /// sequence at or below the last one applied was applied already and is skipped.
    pub fn apply(&mut self, seq: u64, events: &[Event]) -> Vec<DepthDiff> {
        if seq <= self.last_seq {
            return Vec::new();
        }
        self.last_seq = seq;
        for event in events {
            self.apply_event(seq, &event.body);
        }
        self.finish_command(seq)
    }

    fn apply_event(&mut self, seq: u64, body: &EventBody) {
        match body {
            EventBody::SymbolAdded(spec) => {
                self.books.entry(spec.symbol).or_insert_with(|| Book { last_update_id: seq, ..Book::default() });
            }
            EventBody::OrderAccepted(accepted) => self.on_accepted(accepted),
            EventBody::StopTriggered(triggered) => self.on_stop_triggered(triggered.order_id),
            EventBody::Trade(trade) => self.on_trade(trade),
            EventBody::OrderCancelled(cancelled) => self.forget(cancelled.order_id),
            EventBody::OrderAmended(amended) => self.on_amended(amended),
            _ => {}
        }
    }

    fn on_accepted(&mut self, accepted: &OrderAccepted) {
        // An id is never reused; if a damaged stream repeats one, the newer order wins.
        self.forget(accepted.order_id);
        if !matches!(accepted.time_in_force, TimeInForce::Gtc | TimeInForce::Gtd) {
            return;
        }
        let placement = match accepted.order_type {
            OrderType::Limit => Placement::Resting { remaining: accepted.qty },
            OrderType::StopLimit => Placement::WaitingStop { qty: accepted.qty },
            _ => return,
        };
        let order = TrackedOrder { symbol: accepted.symbol, side: accepted.side, price: accepted.price, placement };
        self.place(accepted.order_id, order);
    }

    fn on_stop_triggered(&mut self, order_id: OrderId) {
        let Some(order) = self.orders.get(&order_id).copied() else { return };
        if let Placement::WaitingStop { qty } = order.placement {
            self.orders.remove(&order_id);
            self.place(order_id, TrackedOrder { placement: Placement::Resting { remaining: qty }, ..order });
        }
    }

    fn on_trade(&mut self, trade: &Trade) {
        self.set_remaining(trade.maker_order_id, trade.maker_remaining);
        self.set_remaining(trade.taker_order_id, trade.taker_remaining);
    }

    fn on_amended(&mut self, amended: &OrderAmended) {
        let Some(order) = self.orders.get(&amended.order_id).copied() else { return };
        let Placement::Resting { remaining } = order.placement else { return };
        let remaining = remaining.saturating_add(amended.new_qty.saturating_sub(amended.old_qty));
        self.forget(amended.order_id);
        let placement = Placement::Resting { remaining };
        self.place(amended.order_id, TrackedOrder { price: amended.new_price, placement, ..order });
    }

    /// Starts tracking an order: a waiting stop is only remembered, a resting order goes on
    /// its level, unless nothing of it is left.
    fn place(&mut self, order_id: OrderId, order: TrackedOrder) {
        match order.placement {
            Placement::WaitingStop { .. } => {
                self.orders.insert(order_id, order);
            }
            Placement::Resting { remaining } if remaining > 0 => {
                self.orders.insert(order_id, order);
                let totals = self.level_mut(order.symbol, order.side, order.price);
                totals.qty += i128::from(remaining);
                totals.orders += 1;
            }
            Placement::Resting { .. } => {}
        }
    }

    fn set_remaining(&mut self, order_id: OrderId, remaining: i64) {
        let Some(order) = self.orders.get(&order_id).copied() else { return };
        let Placement::Resting { remaining: before } = order.placement else { return };
        if remaining <= 0 {
            self.forget(order_id);
            return;
        }
        self.orders.insert(order_id, TrackedOrder { placement: Placement::Resting { remaining }, ..order });
        let totals = self.level_mut(order.symbol, order.side, order.price);
        totals.qty += i128::from(remaining) - i128::from(before);
    }

    /// Takes an order out of the model, and off its level if it rests.
    fn forget(&mut self, order_id: OrderId) {
        let Some(order) = self.orders.remove(&order_id) else { return };
        let Placement::Resting { remaining } = order.placement else { return };
        let totals = self.level_mut(order.symbol, order.side, order.price);
        totals.qty -= i128::from(remaining);
        totals.orders = totals.orders.saturating_sub(1);
        if totals.orders == 0 {
            if let Some(book) = self.books.get_mut(&order.symbol) {
                book.side_mut(order.side).remove(&order.price);
            }
        }
    }

    /// The level's totals, created empty if needed, after noting what they were before this
    /// command so the diff can tell what changed.
    fn level_mut(&mut self, symbol: SymbolId, side: Side, price: i64) -> &mut LevelTotals {
        let book = self.books.entry(symbol).or_default();
        let levels = book.side_mut(side);
        self.touched.entry((symbol, SideKey::of(side), price)).or_insert_with(|| levels.get(&price).copied());
        levels.entry(price).or_default()
    }

    /// Compares every touched level with what it was, and turns the differences into one
    /// diff per symbol, advancing that book's update id.
    fn finish_command(&mut self, seq: u64) -> Vec<DepthDiff> {
        let mut diffs: Vec<DepthDiff> = Vec::new();
        for ((symbol, side, price), before) in std::mem::take(&mut self.touched) {
            let Some(book) = self.books.get_mut(&symbol) else { continue };
            let after = book.side(side.side()).get(&price).copied();
            if after == before {
                continue;
            }
            if diffs.last().is_none_or(|diff| diff.symbol != symbol) {
                diffs.push(new_diff(symbol, book.last_update_id, seq));
                book.last_update_id = seq;
            }
            if let Some(diff) = diffs.last_mut() {
                diff.levels_mut(side).push(after.unwrap_or_default().at(price));
            }
        }
        for diff in &mut diffs {
            // Touched levels come out lowest price first; bids read best first.
            diff.bids.reverse();
        }
        diffs
    }

    /// The best `limit` levels of each side of a symbol's book, or `None` for an unknown
    /// symbol.
    pub fn snapshot(&self, symbol: SymbolId, limit: usize) -> Option<DepthSnapshot> {
        let book = self.books.get(&symbol)?;
        Some(DepthSnapshot {
            symbol,
            last_update_id: book.last_update_id,
            bids: book.best_first(Side::Buy).take(limit).collect(),
            asks: book.best_first(Side::Sell).take(limit).collect(),
        })
    }

    /// The best bid and ask of a symbol; both empty for an unknown symbol.
    pub fn best_prices(&self, symbol: SymbolId) -> BestPrices {
        let Some(book) = self.books.get(&symbol) else { return BestPrices::default() };
        BestPrices { bid: book.best_first(Side::Buy).next(), ask: book.best_first(Side::Sell).next() }
    }

    /// The update id of a symbol's book: the sequence of the last command that changed it.
    pub fn last_update_id(&self, symbol: SymbolId) -> Option<u64> {
        self.books.get(&symbol).map(|book| book.last_update_id)
    }

    /// Every symbol with a book, ascending.
    pub fn symbols(&self) -> impl Iterator<Item = SymbolId> + '_ {
        self.books.keys().copied()
    }
}

impl DepthDiff {
    fn levels_mut(&mut self, side: SideKey) -> &mut Vec<Level> {
        match side {
            SideKey::Bid => &mut self.bids,
            SideKey::Ask => &mut self.asks,
        }
    }
}

fn new_diff(symbol: SymbolId, previous_update_id: u64, seq: u64) -> DepthDiff {
    DepthDiff {
        symbol,
        first_update_id: previous_update_id.saturating_add(1),
        last_update_id: seq,
        bids: Vec::new(),
        asks: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
