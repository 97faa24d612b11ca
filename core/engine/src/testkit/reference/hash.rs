//! The state hash, in the canonical order documented in `state_hash.rs`.

use super::{Order, ReferenceEngine, Symbol};
use crate::state_hash::{BalanceView, OrderView, StateHasher};
use crate::types::*;

impl ReferenceEngine {
    pub fn state_hash(&self) -> u64 {
        let mut h = StateHasher::default();
        h.u64(self.last_seq);
        h.u64(self.now);
        h.u64(self.next_order_id);
        h.u64(self.next_trade_id);
        for (id, asset) in &self.assets {
            h.u64(*id as u64);
            h.u64(asset.scale as u64);
            h.i64(asset.fees);
            h.i64(asset.supply);
        }
        for limit in self.tier_limits {
            h.u64(limit as u64);
        }
        for (id, account) in &self.accounts {
            h.u64(*id as u64);
            h.u64(account.status as u64);
            h.u64(account.fee_tier as u64);
        }
        for (&(account, asset), balance) in &self.balances {
            if balance.available == 0 && balance.frozen == 0 {
                continue;
            }
            h.balance(&BalanceView { account, asset, available: balance.available, frozen: balance.frozen });
        }
        for (id, symbol) in &self.symbols {
            h.u64(*id as u64);
            h.u64(symbol.status as u64);
            h.i64(symbol.price(symbol.last));
            for (maker, taker) in symbol.fees {
                h.u64(maker as u64);
                h.u64(taker as u64);
            }
            let bids: Vec<OrderId> = symbol.queue(Side::Buy).into_iter().map(|(_, id)| id).collect();
            let asks: Vec<OrderId> = symbol.queue(Side::Sell).into_iter().map(|(_, id)| id).collect();
            for list in [bids, asks, symbol.stops(Side::Buy), symbol.stops(Side::Sell)] {
                for id in &list {
                    h.order(&self.order_view(symbol, &self.orders[id]));
                }
                h.u64(list.len() as u64);
            }
        }
        for ref_id in &self.dedup {
            h.u64(*ref_id);
        }
        h.u64(self.dedup.len() as u64);
        h.finish()
    }

    /// An open order in external units.
    fn order_view(&self, symbol: &Symbol, order: &Order) -> OrderView {
        OrderView {
            order_id: order.id,
            account: order.account,
            side: order.side,
            order_type: order.order_type,
            time_in_force: order.tif,
            price: symbol.price(order.price),
            stop_price: symbol.price(order.stop),
            qty: symbol.qty(order.qty),
            remaining: symbol.qty(order.remaining),
            frozen: order.frozen,
            client_order_id: order.client_order_id,
            expire_ts_ns: order.expire_ts_ns,
            stp: order.stp,
            post_only: order.post_only,
            is_quote: order.is_quote,
        }
    }
}
