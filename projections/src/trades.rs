//! The most recent public trades per symbol, for the recent-trades endpoint and the trade
//! stream: what anyone may see of a `Trade` event, without accounts, orders or fees.

use std::collections::{BTreeMap, VecDeque};

use cex_engine::{Event, EventBody, Side, SymbolId, TradeId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicTrade {
    pub trade_id: TradeId,
    pub symbol: SymbolId,
    pub price: i64,
    /// Base minor units.
    pub qty: i64,
    /// Quote minor units: the trade's notional.
    pub quote_qty: i64,
    /// The command's time, never earlier than the previous command's.
    pub time_ns: u64,
    pub taker_side: Side,
}

impl PublicTrade {
    /// Binance's `isBuyerMaker`: the resting order was the buy.
    pub fn is_buyer_maker(&self) -> bool {
        self.taker_side == Side::Sell
    }
}

#[derive(Debug, Clone)]
pub struct RecentTrades {
    cap: usize,
    now_ns: u64,
    symbols: BTreeMap<SymbolId, VecDeque<PublicTrade>>,
}

impl RecentTrades {
    /// Keeps up to `cap` trades per symbol.
    pub fn new(cap: usize) -> Self {
        RecentTrades { cap, now_ns: 0, symbols: BTreeMap::new() }
    }

    /// Takes in one command's events at its timestamp and returns its trades, in order.
    pub fn apply(&mut self, ts_ns: u64, events: &[Event]) -> Vec<PublicTrade> {
        self.now_ns = self.now_ns.max(ts_ns);
        let mut trades = Vec::new();
        for event in events {
            let EventBody::Trade(trade) = &event.body else { continue };
            let public = PublicTrade {
                trade_id: trade.trade_id,
                symbol: trade.symbol,
                price: trade.price,
                qty: trade.qty,
                quote_qty: trade.notional,
                time_ns: self.now_ns,
                taker_side: trade.taker_side,
            };
            let recent = self.symbols.entry(trade.symbol).or_default();
            recent.push_back(public);
            while recent.len() > self.cap {
                recent.pop_front();
            }
            trades.push(public);
        }
        trades
    }

    /// The last `limit` trades of a symbol, oldest first.
    pub fn recent(&self, symbol: SymbolId, limit: usize) -> Vec<PublicTrade> {
        let Some(recent) = self.symbols.get(&symbol) else { return Vec::new() };
        recent.iter().skip(recent.len().saturating_sub(limit)).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn sale(trade_id: TradeId, taker_side: Side) -> Event {
        trade(Fill { trade_id, taker_side, price: 10, qty: 3, maker: (1, 0), taker: (2, 0) })
    }

    #[test]
    fn keeps_the_last_trades_of_each_symbol() {
        let mut trades = RecentTrades::new(3);
        let emitted = trades.apply(50, &[sale(1, Side::Buy), sale(2, Side::Sell)]);
        assert_eq!(emitted.len(), 2);
        assert_eq!((emitted[0].quote_qty, emitted[0].time_ns, emitted[0].is_buyer_maker()), (30, 50, false));
        assert!(emitted[1].is_buyer_maker());
        trades.apply(40, &[sale(3, Side::Buy), sale(4, Side::Buy)]);
        let ids = |list: Vec<PublicTrade>| list.iter().map(|t| t.trade_id).collect::<Vec<_>>();
        assert_eq!(ids(trades.recent(SYMBOL, 10)), [2, 3, 4]);
        assert_eq!(ids(trades.recent(SYMBOL, 2)), [3, 4]);
        assert_eq!(trades.recent(SYMBOL, 1)[0].time_ns, 50, "time never steps back");
        assert!(trades.recent(SYMBOL + 1, 10).is_empty());
    }
}
