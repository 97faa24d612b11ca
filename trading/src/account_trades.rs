//! Each account's own trades (QueryTradeHistory): every `Trade` event seen from both sides,
//! with the side, the role (maker or taker), the order and the fee, kept in memory, the most
//! recent `cap` per account. Like the projections, it is rebuilt from the event journal at
//! start and never touches the store.

use std::collections::{BTreeMap, VecDeque};

use cex_engine::{AccountId, Event, EventBody, OrderId, Side, SymbolId, Trade, TradeId};

/// One side of a trade, as its account sees it. Units are the engine's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountTrade {
    pub trade_id: TradeId,
    pub symbol: SymbolId,
    pub order_id: OrderId,
    pub side: Side,
    pub price: i64,
    pub qty: i64,
    pub quote_qty: i64,
    /// In the base asset for the buyer, the quote asset for the seller.
    pub fee: i64,
    pub is_maker: bool,
    /// The command's time, never earlier than the previous command's.
    pub time_ns: u64,
}

impl AccountTrade {
    /// Both sides of every trade in `events`, each as its account sees it.
    pub fn of_events(events: &[Event], time_ns: u64) -> impl Iterator<Item = (AccountId, AccountTrade)> + '_ {
        events
            .iter()
            .filter_map(|event| match &event.body {
                EventBody::Trade(trade) => Some(trade),
                _ => None,
            })
            .flat_map(move |trade| AccountTrade::both_sides(trade, time_ns))
    }

    /// Both sides of a trade: the maker's, then the taker's.
    fn both_sides(trade: &Trade, time_ns: u64) -> [(AccountId, AccountTrade); 2] {
        let side = |order_id, side, fee, is_maker| AccountTrade {
            trade_id: trade.trade_id,
            symbol: trade.symbol,
            order_id,
            side,
            price: trade.price,
            qty: trade.qty,
            quote_qty: trade.notional,
            fee,
            is_maker,
            time_ns,
        };
        let maker_side = trade.taker_side.opposite();
        [
            (trade.maker_account, side(trade.maker_order_id, maker_side, trade.maker_fee, true)),
            (trade.taker_account, side(trade.taker_order_id, trade.taker_side, trade.taker_fee, false)),
        ]
    }
}

#[derive(Debug, Clone)]
pub struct AccountTrades {
    cap: usize,
    now_ns: u64,
    accounts: BTreeMap<AccountId, VecDeque<AccountTrade>>,
}

impl AccountTrades {
    /// Keeps up to `cap` trades per account.
    pub fn new(cap: usize) -> AccountTrades {
        AccountTrades { cap, now_ns: 0, accounts: BTreeMap::new() }
    }

    /// Takes in one command's events at its timestamp.
    pub fn apply(&mut self, ts_ns: u64, events: &[Event]) {
        self.now_ns = self.now_ns.max(ts_ns);
        for (account, side) in AccountTrade::of_events(events, self.now_ns) {
            let kept = self.accounts.entry(account).or_default();
            kept.push_back(side);
            while kept.len() > self.cap {
                kept.pop_front();
            }
        }
    }

    /// The time of the latest command taken in: what its trades are stamped with.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// The account's kept trades, oldest first.
    pub fn trades(&self, account: AccountId) -> impl DoubleEndedIterator<Item = &AccountTrade> {
        self.accounts.get(&account).into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trade(trade_id: TradeId, maker: AccountId, taker: AccountId, taker_side: Side) -> Event {
        Event {
            txid: trade_id,
            body: EventBody::Trade(Trade {
                trade_id,
                symbol: 0,
                price: 100,
                qty: 3,
                notional: 300,
                taker_side,
                maker_order_id: 10 + trade_id,
                taker_order_id: 20 + trade_id,
                maker_account: maker,
                taker_account: taker,
                maker_fee: 1,
                taker_fee: 2,
                maker_remaining: 0,
                taker_remaining: 0,
            }),
        }
    }

    #[test]
    fn each_account_sees_its_own_side_of_each_trade() {
        let mut trades = AccountTrades::new(10);
        trades.apply(500, &[trade(1, 7, 8, Side::Buy)]);
        let maker: Vec<_> = trades.trades(7).copied().collect();
        let taker: Vec<_> = trades.trades(8).copied().collect();
        assert_eq!(maker.len(), 1);
        assert_eq!((maker[0].side, maker[0].is_maker, maker[0].fee, maker[0].order_id), (Side::Sell, true, 1, 11));
        assert_eq!((taker[0].side, taker[0].is_maker, taker[0].fee, taker[0].order_id), (Side::Buy, false, 2, 21));
        assert_eq!((taker[0].quote_qty, taker[0].time_ns), (300, 500));
        assert_eq!(trades.trades(9).count(), 0);
    }

    #[test]
    fn a_self_trade_lists_both_sides_and_the_oldest_go_first() {
        let mut trades = AccountTrades::new(3);
        trades.apply(5, &[trade(1, 7, 7, Side::Sell)]);
        trades.apply(4, &[trade(2, 7, 8, Side::Sell), trade(3, 8, 7, Side::Buy)]);
        let ids: Vec<(TradeId, bool)> = trades.trades(7).map(|t| (t.trade_id, t.is_maker)).collect();
        assert_eq!(ids, [(1, false), (2, true), (3, false)], "the cap drops the oldest");
        assert!(trades.trades(7).all(|t| t.time_ns == 5), "time never steps back");
        let sides: Vec<Side> = trades.trades(8).map(|t| t.side).collect();
        assert_eq!(sides, [Side::Sell, Side::Sell]);
    }
}
