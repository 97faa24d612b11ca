//! Placing orders into and taking them out of the book, the stop indexes, the expiry index
//! and the per-account order lists. Every removal path ends in `remove_order`.

use std::cmp::Reverse;

use super::state::*;
use super::{Engine, Out};
use crate::event::{EventBody, EventSink, OrderCancelled};
use crate::types::*;

impl Engine {
    /// The order's unfilled size in external units: base quantity, or the quote budget.
    pub(super) fn remaining_external(&self, order: &Order) -> i64 {
        if order.by_quote() {
            order.remaining
        } else {
            order.remaining * self.symbol(order.symbol).lot_size()
        }
    }

    pub(super) fn link_account(&mut self, slot: u32) {
        let account_id = self.orders.get(slot).account as usize;
        let tail = self.accounts[account_id].tail;
        {
            let order = self.orders.get_mut(slot);
            order.account_prev = tail;
            order.account_next = NIL;
        }
        if tail == NIL {
            self.accounts[account_id].head = slot;
        } else {
            self.orders.get_mut(tail).account_next = slot;
        }
        let account = &mut self.accounts[account_id];
        account.tail = slot;
        account.open_orders += 1;
    }

    fn unlink_account(&mut self, slot: u32) {
        let order = *self.orders.get(slot);
        let account = &mut self.accounts[order.account as usize];
        if order.account_prev == NIL {
            account.head = order.account_next;
        } else {
            self.orders.get_mut(order.account_prev).account_next = order.account_next;
        }
        let account = &mut self.accounts[order.account as usize];
        if order.account_next == NIL {
            account.tail = order.account_prev;
        } else {
            self.orders.get_mut(order.account_next).account_prev = order.account_prev;
        }
        let account = &mut self.accounts[order.account as usize];
        assert!(account.open_orders > 0);
        account.open_orders -= 1;
    }

    /// Appends the order to the tail of its price level, creating the level if needed.
    /// Callers checked `has_level_room`.
    pub(super) fn rest(&mut self, slot: u32) {
        let order = *self.orders.get(slot);
        let key = SymbolState::book_key(order.side, order.price);
        let level_slot = match self.symbol(order.symbol).book(order.side).get(&key) {
            Some(level_slot) => level_slot,
            None => {
                let level_slot =
                    self.levels.alloc(Level { price: order.price, total_lots: 0, head: NIL, tail: NIL, count: 0 });
                self.symbol_mut(order.symbol).book_mut(order.side).insert(key, level_slot);
                level_slot
            }
        };
        let level = self.levels.get_mut(level_slot);
        let tail = level.tail;
        level.tail = slot;
        level.total_lots += order.remaining;
        level.count += 1;
        if tail == NIL {
            level.head = slot;
        } else {
            self.orders.get_mut(tail).next = slot;
        }
        let resting = self.orders.get_mut(slot);
        resting.level = level_slot;
        resting.prev = tail;
        resting.next = NIL;
        self.track_expiry(slot);
    }

    /// Takes a resting order out of its level, dropping the level when it empties.
    pub(super) fn unlink_from_level(&mut self, slot: u32) {
        let order = *self.orders.get(slot);
        debug_assert!(order.level != NIL);
        if order.prev != NIL {
            self.orders.get_mut(order.prev).next = order.next;
        }
        if order.next != NIL {
            self.orders.get_mut(order.next).prev = order.prev;
        }
        let level = self.levels.get_mut(order.level);
        if level.head == slot {
            level.head = order.next;
        }
        if level.tail == slot {
            level.tail = order.prev;
        }
        level.total_lots -= order.remaining;
        level.count -= 1;
        if level.count == 0 {
            assert!(level.total_lots == 0 && level.head == NIL);
            let key = SymbolState::book_key(order.side, level.price);
            self.symbol_mut(order.symbol).book_mut(order.side).remove(&key).expect("level not in its book");
            self.levels.release(order.level);
        }
        let unlinked = self.orders.get_mut(slot);
        unlinked.level = NIL;
        unlinked.prev = NIL;
        unlinked.next = NIL;
    }

    pub(super) fn insert_stop(&mut self, slot: u32) {
        let order = *self.orders.get(slot);
        let symbol = self.symbol_mut(order.symbol);
        match order.side {
            Side::Buy => symbol.buy_stops.insert((Reverse(order.stop_price), Reverse(order.id)), slot),
            Side::Sell => symbol.sell_stops.insert((order.stop_price, Reverse(order.id)), slot),
        }
        self.orders.get_mut(slot).waiting_stop = true;
        self.track_expiry(slot);
    }

    pub(super) fn remove_stop(&mut self, slot: u32) {
        let order = *self.orders.get(slot);
        let symbol = self.symbol_mut(order.symbol);
        let removed = match order.side {
            Side::Buy => symbol.buy_stops.remove(&(Reverse(order.stop_price), Reverse(order.id))),
            Side::Sell => symbol.sell_stops.remove(&(order.stop_price, Reverse(order.id))),
        };
        assert_eq!(removed, Some(slot));
        self.orders.get_mut(slot).waiting_stop = false;
    }

    fn track_expiry(&mut self, slot: u32) {
        let order = self.orders.get_mut(slot);
        if order.time_in_force == TimeInForce::Gtd && !order.in_expiry {
            order.in_expiry = true;
            let key = (Reverse(order.expire_ts_ns), Reverse(order.id));
            self.expiry.insert(key, slot);
        }
    }

    /// Forgets an open order everywhere and frees its slot. Its funds must be settled.
    pub(super) fn remove_order(&mut self, slot: u32) {
        let order = *self.orders.get(slot);
        assert_eq!(order.frozen, 0, "removing an order that still holds funds");
        if order.level != NIL {
            self.unlink_from_level(slot);
        }
        if order.waiting_stop {
            self.remove_stop(slot);
        }
        if order.in_expiry {
            self.expiry.remove(&(Reverse(order.expire_ts_ns), Reverse(order.id))).expect("expiry entry");
        }
        self.order_index.remove(&order.id).expect("order index entry");
        if order.client_order_id != 0 {
            self.client_order_index.remove(&(order.account, order.client_order_id)).expect("client id entry");
        }
        self.unlink_account(slot);
        self.orders.release(slot);
    }

    /// Cancels an open order: reports it, releases what it holds, and removes it.
    pub(super) fn cancel_order<S: EventSink>(&mut self, slot: u32, reason: CancelReason, out: &mut Out<S>) {
        let order = *self.orders.get(slot);
        out.emit(EventBody::OrderCancelled(OrderCancelled {
            order_id: order.id,
            account: order.account,
            symbol: order.symbol,
            side: order.side,
            remaining: self.remaining_external(&order),
            reason,
        }));
        self.release_order_funds(slot, out);
        self.remove_order(slot);
    }

    /// Returns everything the order holds frozen to available.
    pub(super) fn release_order_funds<S: EventSink>(&mut self, slot: u32, out: &mut Out<S>) {
        let order = *self.orders.get(slot);
        if order.frozen > 0 {
            self.orders.get_mut(slot).frozen = 0;
            let record = order.reserve_balance();
            self.change_balance(record, order.frozen, -order.frozen, BalanceCause::OrderRelease, order.id, out);
        }
    }

    /// Cancels the slots gathered in `scratch`, in ascending order id.
    pub(super) fn cancel_scratch<S: EventSink>(&mut self, reason: CancelReason, out: &mut Out<S>) {
        let orders = &self.orders;
        self.scratch.sort_unstable_by_key(|slot| orders.get(*slot).id);
        for index in 0..self.scratch.len() {
            let slot = self.scratch[index];
            self.cancel_order(slot, reason, out);
        }
        self.scratch.clear();
    }

    /// Gathers into `scratch` the account's open orders that `keep` selects.
    pub(super) fn gather_account_orders(&mut self, account: AccountId, keep: impl Fn(&Order) -> bool) {
        self.scratch.clear();
        let mut slot = self.accounts[account as usize].head;
        while slot != NIL {
            let order = self.orders.get(slot);
            if keep(order) {
                self.scratch.push(slot);
            }
            slot = order.account_next;
        }
    }

    /// Cancels every order of a symbol, resting or stop, by the admin.
    pub(super) fn cancel_symbol_orders<S: EventSink>(&mut self, symbol_id: SymbolId, out: &mut Out<S>) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let symbol = self.symbol(symbol_id);
        for side in [Side::Buy, Side::Sell] {
            scratch.extend(self.book_slots(symbol, side));
        }
        scratch.extend(symbol.buy_stops.iter_best_first().map(|(_, slot)| slot));
        scratch.extend(symbol.sell_stops.iter_best_first().map(|(_, slot)| slot));
        self.scratch = scratch;
        self.cancel_scratch(CancelReason::Admin, out);
    }
}
