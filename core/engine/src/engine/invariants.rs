//! Whole-state invariant checks for tests: everything is recomputed from scratch and
//! compared with what the engine keeps incrementally. Slow by design; never on the hot path.

use std::collections::{BTreeMap, HashMap};

use super::state::*;
use super::Engine;
use crate::math;
use crate::types::*;

type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}

impl Engine {
    /// Checks every invariant. `net_deposits` is the caller's own tally of applied credits
    /// minus debits per asset, from the events it saw.
    pub fn check_invariants(&self, net_deposits: &BTreeMap<AssetId, i64>) -> Check {
        self.check_money_conserved(net_deposits)?;
        self.check_frozen_matches_orders()?;
        self.check_books()?;
        self.check_indexes()
    }

    fn check_money_conserved(&self, net_deposits: &BTreeMap<AssetId, i64>) -> Check {
        let mut totals: HashMap<AssetId, i64> = HashMap::new();
        for balance in &self.balances {
            ensure!(
                balance.available >= 0 && balance.frozen >= 0,
                "negative balance {:?}",
                (balance.account, balance.asset)
            );
            *totals.entry(balance.asset).or_default() += balance.available + balance.frozen;
        }
        for (id, asset) in self.assets.iter().enumerate().filter(|(_, a)| a.exists) {
            let id = id as AssetId;
            let held = totals.get(&id).copied().unwrap_or(0) + asset.fees_collected;
            let deposited = net_deposits.get(&id).copied().unwrap_or(0);
            ensure!(held == asset.supply, "asset {id}: balances + fees {held} != supply {}", asset.supply);
            ensure!(held == deposited, "asset {id}: balances + fees {held} != credits - debits {deposited}");
        }
        Ok(())
    }

    /// What an open order must hold, recomputed from its price and remaining size.
    fn required_reserve(&self, order: &Order) -> i64 {
        let symbol = self.symbol(order.symbol);
        match order.side {
            Side::Sell => order.remaining * symbol.lot_size(),
            Side::Buy if order.by_quote() => order.remaining,
            Side::Buy => {
                let price = match order.order_type {
                    OrderType::StopMarket => math::band_high(order.stop_price, symbol.spec.price_band_bps),
                    _ => order.price,
                };
                math::buy_reserve(price, order.remaining, symbol.quote_per_tick_lot, order.reserve_bps).unwrap_or(-1)
            }
        }
    }

    fn check_frozen_matches_orders(&self) -> Check {
        let mut required: HashMap<u32, i64> = HashMap::new();
        for slot in self.open_slots() {
            let order = self.orders.get(slot);
            let reserve = if self.config.matching_only { 0 } else { self.required_reserve(order) };
            ensure!(order.frozen == reserve, "order {} holds {} but needs {reserve}", order.id, order.frozen);
            *required.entry(order.reserve_balance()).or_default() += reserve;
        }
        for (record, balance) in self.balances.iter().enumerate() {
            let needed = required.get(&(record as u32)).copied().unwrap_or(0);
            ensure!(
                balance.frozen == needed,
                "account {} asset {} frozen {} but open orders need {needed}",
                balance.account,
                balance.asset,
                balance.frozen
            );
        }
        Ok(())
    }

    fn check_books(&self) -> Check {
        for symbol in self.symbols.iter().flatten() {
            if let (Some(bid), Some(ask)) = (symbol.best_price(Side::Buy), symbol.best_price(Side::Sell)) {
                ensure!(bid < ask, "symbol {} crossed: bid {bid} >= ask {ask}", symbol.spec.symbol);
            }
            for side in [Side::Buy, Side::Sell] {
                for (key, level_slot) in symbol.book(side).iter_best_first() {
                    self.check_level(symbol, side, key, level_slot)?;
                }
            }
        }
        Ok(())
    }

    fn check_level(&self, symbol: &SymbolState, side: Side, key: i64, level_slot: u32) -> Check {
        let level = self.levels.get(level_slot);
        ensure!(SymbolState::book_key(side, level.price) == key, "level key mismatch at {}", level.price);
        let (mut slot, mut previous, mut count, mut lots) = (level.head, NIL, 0, 0);
        while slot != NIL {
            let order = self.orders.get(slot);
            ensure!(order.level == level_slot && order.prev == previous, "order {} badly linked", order.id);
            ensure!(order.side == side && order.symbol == symbol.spec.symbol, "order {} on the wrong book", order.id);
            ensure!(order.price == level.price && order.remaining > 0, "order {} bad price or size", order.id);
            ensure!(self.order_index.get(&order.id) == Some(slot), "order {} missing from the index", order.id);
            count += 1;
            lots += order.remaining;
            previous = slot;
            slot = order.next;
        }
        ensure!(level.tail == previous, "level {} tail mismatch", level.price);
        ensure!(level.count == count && level.total_lots == lots, "level {} totals mismatch", level.price);
        ensure!(count > 0, "empty level {} left in the book", level.price);
        Ok(())
    }

    /// Every open order, found through the books and stop indexes (not the order index).
    fn open_slots(&self) -> Vec<u32> {
        let mut slots = Vec::new();
        for symbol in self.symbols.iter().flatten() {
            for side in [Side::Buy, Side::Sell] {
                slots.extend(self.book_slots(symbol, side));
            }
            slots.extend(symbol.buy_stops.iter_best_first().map(|(_, slot)| slot));
            slots.extend(symbol.sell_stops.iter_best_first().map(|(_, slot)| slot));
        }
        slots
    }

    fn check_indexes(&self) -> Check {
        let slots = self.open_slots();
        let open = slots.len();
        ensure!(self.order_index.len() == open, "order index {} != open orders {open}", self.order_index.len());
        ensure!(self.orders.in_use() == open, "order pool {} != open orders {open}", self.orders.in_use());
        let mut gtd = 0;
        let mut with_client_id = 0;
        for slot in &slots {
            let order = self.orders.get(*slot);
            ensure!(order.waiting_stop == (order.level == NIL), "order {} neither resting nor a stop", order.id);
            ensure!(order.in_expiry == (order.time_in_force == TimeInForce::Gtd), "order {} expiry", order.id);
            gtd += order.in_expiry as usize;
            if order.client_order_id != 0 {
                with_client_id += 1;
                let key = (order.account, order.client_order_id);
                ensure!(self.client_order_index.get(&key) == Some(*slot), "client id of {} not indexed", order.id);
            }
        }
        ensure!(self.expiry.len() == gtd, "expiry index {} != GTD orders {gtd}", self.expiry.len());
        ensure!(self.client_order_index.len() == with_client_id, "client id index size");
        self.check_account_lists(open)
    }

    fn check_account_lists(&self, open: usize) -> Check {
        let mut listed = 0;
        for (id, account) in self.accounts.iter().enumerate().filter(|(_, a)| a.exists) {
            let (mut slot, mut previous, mut count, mut last_id) = (account.head, NIL, 0, 0);
            while slot != NIL {
                let order = self.orders.get(slot);
                ensure!(order.account as usize == id && order.account_prev == previous, "account {id} list broken");
                ensure!(order.id > last_id, "account {id} list out of order");
                last_id = order.id;
                count += 1;
                previous = slot;
                slot = order.account_next;
            }
            ensure!(account.tail == previous && account.open_orders == count, "account {id} count mismatch");
            listed += count as usize;
        }
        ensure!(listed == open, "account lists hold {listed} orders, books {open}");
        Ok(())
    }
}
