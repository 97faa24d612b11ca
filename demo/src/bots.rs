//! The bots: one market maker quoting a ladder on every symbol, and traders sending small
//! market and limit orders at random (seeded) moments. They act on their demo users'
//! engine accounts through the node's engine client, and read the book, their orders and
//! balances from the trading read model, as the REST API does.

use std::sync::Arc;
use std::time::Duration;

use cex_config::{to_minor_units, DemoSettings, NodeConfig, SymbolConfig};
use cex_engine::{AccountId, Cancel, Command, EventBody, NewOrder, OrderType, Side, TimeInForce};
use cex_node::EngineClient;
use cex_trading::SharedReadModel;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;

use crate::quotes::{self, Resting, Shape};

/// How long a bot waits for the engine's answer, and for the read model to catch up.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// A trader cancels its oldest resting orders on a symbol beyond this many.
const TRADER_MAX_RESTING: usize = 4;

/// What every bot reads and sends through.
pub struct Market {
    symbols: Vec<SymbolConfig>,
    settings: DemoSettings,
    /// The price each symbol starts at, by position in `symbols`.
    start_prices: Vec<i64>,
    model: Arc<SharedReadModel>,
    engine: Arc<EngineClient>,
}

impl Market {
    pub fn new(config: &NodeConfig, model: Arc<SharedReadModel>, engine: Arc<EngineClient>) -> Market {
        let symbols = config.symbols().to_vec();
        let start_prices = symbols.iter().map(|symbol| quotes::start_price(symbol, &config.demo)).collect();
        Market { symbols, settings: config.demo.clone(), start_prices, model, engine }
    }

    /// The last trade's price, or the start price before the first trade.
    fn mid(&self, index: usize) -> i64 {
        let symbol = self.symbols[index].id;
        let last = self.model.read(|model| model.projections().trades().recent(symbol, 1).first().map(|t| t.price));
        last.unwrap_or(self.start_prices[index])
    }

    /// One level's value in the symbol's quote minor units.
    fn level_value(&self, symbol: &SymbolConfig) -> i64 {
        to_minor_units(&self.settings.order_value, symbol.quote.scale).unwrap_or(symbol.min_notional)
    }

    /// Submits a command; a refusal is normal in a live market (funds, post-only) and is
    /// logged at debug. Returns the command's sequence if the engine answered.
    async fn send(&self, command: Command) -> Option<u64> {
        match self.engine.submit(command, ANSWER_TIMEOUT).await {
            Ok(answer) => {
                if let Some(EventBody::Rejected(rejected)) = answer.events.first().map(|event| event.body) {
                    tracing::debug!(reason = rejected.reason.description(), ?command, "demo: refused");
                }
                Some(answer.seq)
            }
            Err(error) => {
                tracing::debug!(%error, "demo: not sent");
                None
            }
        }
    }

    /// Waits until the read model shows command `seq`, so the next look at it is current.
    async fn settle(&self, seq: Option<u64>) {
        if let Some(seq) = seq {
            self.model.caught_up(seq, ANSWER_TIMEOUT).await;
        }
    }

    /// Cancels every order of `account`: the bots leave no quotes behind when they stop.
    pub async fn withdraw(&self, account: AccountId) {
        let cancel_all = cex_engine::CancelAll { account, symbol: None, side: None };
        let seq = self.send(Command::CancelAll(cancel_all)).await;
        self.settle(seq).await;
    }
}

/// Sleeps `pause`; false if told to stop first.
async fn pause(stop: &mut watch::Receiver<bool>, pause: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(pause) => !*stop.borrow(),
        _ = stop.changed() => false,
    }
}

/// The market maker: every `quote_interval_ms`, moves its quotes on each symbol to the
/// ladder around the mid.
pub async fn market_maker(market: Arc<Market>, account: AccountId, mut stop: watch::Receiver<bool>) {
    let interval = Duration::from_millis(market.settings.quote_interval_ms);
    loop {
        for index in 0..market.symbols.len() {
            requote(&market, account, index).await;
        }
        if !pause(&mut stop, interval).await {
            return;
        }
    }
}

async fn requote(market: &Market, account: AccountId, index: usize) {
    let symbol = &market.symbols[index];
    let shape = Shape {
        levels: market.settings.levels,
        spread_bps: market.settings.spread_bps,
        level_step_bps: market.settings.level_step_bps,
        level_value: market.level_value(symbol),
    };
    let ladder = quotes::ladder(symbol, market.mid(index), &shape);
    let resting: Vec<Resting> = market.model.read(|model| {
        let orders = model.projections().accounts().open_orders(account, Some(symbol.id));
        orders.iter().map(|o| Resting { order_id: o.order_id, side: o.side, price: o.price }).collect()
    });
    let plan = quotes::plan(&resting, &ladder);
    let mut last = None;
    for order_id in plan.cancel {
        last = market.send(Command::Cancel(Cancel { account, order_id, client_order_id: 0 })).await.or(last);
    }
    for quote in plan.place {
        let order =
            NewOrder { post_only: true, ..NewOrder::limit(account, symbol.id, quote.side, quote.price, quote.qty) };
        last = market.send(Command::NewOrder(order)).await.or(last);
    }
    market.settle(last).await;
}

/// A trader: at random moments around `trade_interval_ms` apart, one small order on a
/// random symbol: a market order, or a limit order near the mid that may trade at once or
/// rest. Its random choices come from `seed` alone.
pub async fn trader(market: Arc<Market>, account: AccountId, seed: u64, mut stop: watch::Receiver<bool>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mean = market.settings.trade_interval_ms;
    loop {
        let wait = Duration::from_millis(rng.gen_range(mean / 2..=mean + mean / 2));
        if !pause(&mut stop, wait).await {
            return;
        }
        let index = rng.gen_range(0..market.symbols.len().max(1));
        if index < market.symbols.len() {
            let order = choose_order(&market, account, index, &mut rng);
            if order.order_type == OrderType::Limit {
                trim_resting(&market, account, index).await;
            }
            let seq = market.send(Command::NewOrder(order)).await;
            market.settle(seq).await;
        }
    }
}

/// A small order: its side leans towards what the trader holds more of (by value), so
/// no trader runs dry; its value is a quarter to a half of a maker's level.
fn choose_order(market: &Market, account: AccountId, index: usize, rng: &mut StdRng) -> NewOrder {
    let symbol = &market.symbols[index];
    let mid = market.mid(index);
    let (base, quote) = market.model.read(|model| {
        let accounts = model.projections().accounts();
        let available = |asset| accounts.balance(account, asset).map_or(0, |balance| balance.available);
        (available(symbol.base.id), available(symbol.quote.id))
    });
    let base_value = quotes::notional(symbol, mid, base);
    let buy_share = (quote as f64 / (quote as f64 + base_value as f64).max(1.0)).clamp(0.2, 0.8);
    let side = if rng.gen_bool(buy_share) { Side::Buy } else { Side::Sell };
    let level_value = market.level_value(symbol);
    let least = (level_value / 4).max(symbol.min_notional);
    let value = rng.gen_range(least..=(level_value / 2).max(least));
    let reach = i64::from(market.settings.spread_bps + market.settings.levels * market.settings.level_step_bps);
    let offset_bps = rng.gen_range(-reach..=reach);
    let price = mid + (i128::from(mid) * i128::from(offset_bps) / 10_000) as i64;
    let price = (price - price.rem_euclid(symbol.tick_size)).max(symbol.tick_size);
    let qty = quotes::qty_for_value(symbol, price, value).unwrap_or(symbol.min_qty);
    let limit = NewOrder::limit(account, symbol.id, side, price, qty);
    if rng.gen_bool(0.5) {
        NewOrder { order_type: OrderType::MarketByQty, time_in_force: TimeInForce::Ioc, price: 0, ..limit }
    } else {
        limit
    }
}

/// Cancels the trader's oldest resting orders on the symbol so at most
/// [`TRADER_MAX_RESTING`] - 1 remain before it places another.
async fn trim_resting(market: &Market, account: AccountId, index: usize) {
    let symbol = market.symbols[index].id;
    let open: Vec<u64> = market.model.read(|model| {
        model.projections().accounts().open_orders(account, Some(symbol)).iter().map(|o| o.order_id).collect()
    });
    let excess = (open.len() + 1).saturating_sub(TRADER_MAX_RESTING);
    let mut last = None;
    for order_id in open.into_iter().take(excess) {
        last = market.send(Command::Cancel(Cancel { account, order_id, client_order_id: 0 })).await.or(last);
    }
    market.settle(last).await;
}
