//! The canonical state walk behind `Engine::state_hash`; see `crate::state_hash` for the
//! order. It allocates (to sort balance records) and is never on the hot path.

use super::state::*;
use super::Engine;
use crate::state_hash::{BalanceView, OrderView, StateHasher};
use crate::types::*;

impl Engine {
    pub fn state_hash(&self) -> u64 {
        let mut hasher = StateHasher::default();
        hasher.u64(self.last_seq);
        hasher.u64(self.now_ns);
        hasher.u64(self.next_order_id);
        hasher.u64(self.next_trade_id);
        for (id, asset) in self.assets.iter().enumerate().filter(|(_, a)| a.exists) {
            hasher.u64(id as u64);
            hasher.u64(asset.scale as u64);
            hasher.i64(asset.fees_collected);
            hasher.i64(asset.supply);
        }
        for limit in self.tier_max_open_orders {
            hasher.u64(limit as u64);
        }
        for (id, account) in self.accounts.iter().enumerate().filter(|(_, a)| a.exists) {
            hasher.u64(id as u64);
            hasher.u64(account.status as u64);
            hasher.u64(account.fee_tier as u64);
        }
        for balance in self.balance_views() {
            hasher.balance(&balance);
        }
        for (id, symbol) in self.symbols.iter().enumerate() {
            if let Some(symbol) = symbol {
                self.hash_symbol(id as u64, symbol, &mut hasher);
            }
        }
        let mut window_len = 0;
        for ref_id in self.dedup_window() {
            hasher.u64(ref_id);
            window_len += 1;
        }
        hasher.u64(window_len);
        hasher.finish()
    }

    fn hash_symbol(&self, id: u64, symbol: &SymbolState, hasher: &mut StateHasher) {
        hasher.u64(id);
        hasher.u64(symbol.status as u64);
        hasher.i64(symbol.last_price * symbol.tick_size());
        for (maker, taker) in symbol.fees {
            hasher.u64(maker as u64);
            hasher.u64(taker as u64);
        }
        for side in [Side::Buy, Side::Sell] {
            let mut count = 0;
            for slot in self.book_slots(symbol, side) {
                hasher.order(&self.order_view(slot));
                count += 1;
            }
            hasher.u64(count);
        }
        let buy_stops = symbol.buy_stops.iter_best_first().map(|(_, slot)| slot);
        let sell_stops = symbol.sell_stops.iter_best_first().map(|(_, slot)| slot);
        for stops in [buy_stops.collect::<Vec<_>>(), sell_stops.collect()] {
            for slot in &stops {
                hasher.order(&self.order_view(*slot));
            }
            hasher.u64(stops.len() as u64);
        }
    }

    /// A side's resting orders, best level first, in time priority within a level.
    pub(crate) fn book_slots<'a>(&'a self, symbol: &'a SymbolState, side: Side) -> impl Iterator<Item = u32> + 'a {
        symbol.book(side).iter_best_first().flat_map(move |(_, level_slot)| {
            let mut slot = self.levels.get(level_slot).head;
            std::iter::from_fn(move || {
                let current = slot;
                (current != NIL).then(|| {
                    slot = self.orders.get(current).next;
                    current
                })
            })
        })
    }

    pub(crate) fn order_view(&self, slot: u32) -> OrderView {
        let order = self.orders.get(slot);
        let symbol = self.symbol(order.symbol);
        let (tick, lot) = (symbol.tick_size(), symbol.lot_size());
        let has_price = matches!(order.order_type, OrderType::Limit | OrderType::StopLimit);
        OrderView {
            order_id: order.id,
            account: order.account,
            side: order.side,
            order_type: order.order_type,
            time_in_force: order.time_in_force,
            price: if has_price { order.price * tick } else { 0 },
            stop_price: order.stop_price * tick,
            qty: order.qty * lot,
            remaining: self.remaining_external(order),
            frozen: order.frozen,
            client_order_id: order.client_order_id,
            expire_ts_ns: order.expire_ts_ns,
            stp: order.stp,
            post_only: order.post_only,
            is_quote: order.is_quote,
        }
    }

    /// Non-empty balance records, by (account, asset).
    pub(crate) fn balance_views(&self) -> Vec<BalanceView> {
        let mut views: Vec<BalanceView> = self
            .balances
            .iter()
            .filter(|b| b.available != 0 || b.frozen != 0)
            .map(|b| BalanceView { account: b.account, asset: b.asset, available: b.available, frozen: b.frozen })
            .collect();
        views.sort_unstable_by_key(|b| (b.account, b.asset));
        views
    }
}
