//! The market maker's arithmetic, pure: the price to quote around, the ladder of quotes
//! around it (prices on the tick, quantities on the lot, within the symbol's limits, bids
//! strictly below asks), and the cancels and placements that turn the resting quotes into
//! that ladder.

use cex_config::{DemoSettings, SymbolConfig};
use cex_engine::{OrderId, Side};

const BPS: i128 = 10_000;

/// Built-in prices for the default symbols, used when neither the symbol's
/// `reference_price` nor `[demo.prices]` gives one.
const BUILT_IN_PRICES: &[(&str, &str)] = &[("BTC-USDT", "65000"), ("ETH-USDT", "3500")];
/// Any other symbol's built-in price, in ticks.
const FALLBACK_TICKS: i64 = 10_000;

/// The price the demo starts a symbol at, in quote minor units per whole base unit, on the
/// tick: the symbol's `reference_price`, else `[demo.prices]`, else the built-in one.
pub fn start_price(symbol: &SymbolConfig, settings: &DemoSettings) -> i64 {
    if symbol.reference_price > 0 {
        return symbol.reference_price;
    }
    let built_in = BUILT_IN_PRICES
        .iter()
        .find(|(name, _)| *name == symbol.name)
        .and_then(|(_, price)| symbol.price_units(price).ok())
        .map(|price| price - price % symbol.tick_size)
        .filter(|price| *price > 0);
    settings.price_of(symbol).or(built_in).unwrap_or(symbol.tick_size.saturating_mul(FALLBACK_TICKS))
}

/// How the ladder is shaped, from `[demo]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub levels: u32,
    pub spread_bps: u32,
    pub level_step_bps: u32,
    /// The quote value of one level, in quote minor units.
    pub level_value: i64,
}

/// One resting order the ladder wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub side: Side,
    pub price: i64,
    pub qty: i64,
}

/// The ladder around `mid`: up to `levels` bids below it and as many asks above it, each a
/// tick or more from the last, every price on the tick and above zero, every quantity on
/// the lot, within [min_qty, max_qty] and worth at least `level_value` and the minimum
/// notional. Levels that cannot meet the rules are left out.
pub fn ladder(symbol: &SymbolConfig, mid: i64, shape: &Shape) -> Vec<Quote> {
    let tick = symbol.tick_size;
    let mid = mid - mid.rem_euclid(tick);
    let mut quotes = Vec::with_capacity(2 * shape.levels as usize);
    let (mut last_bid, mut last_ask) = (mid, mid);
    for level in 0..shape.levels {
        let offset = i128::from(shape.spread_bps) + i128::from(level) * i128::from(shape.level_step_bps);
        let bid = floor_to(scale(mid, BPS - offset), tick).min(last_bid - tick);
        let ask = ceil_to(scale(mid, BPS + offset), tick).max(last_ask.saturating_add(tick));
        (last_bid, last_ask) = (bid, ask);
        for (side, price) in [(Side::Buy, bid), (Side::Sell, ask)] {
            if let Some(qty) = qty_for_value(symbol, price, shape.level_value) {
                quotes.push(Quote { side, price, qty });
            }
        }
    }
    quotes
}

/// `price × bps / 10_000`, saturating into i64.
fn scale(price: i64, bps: i128) -> i64 {
    i64::try_from(i128::from(price) * bps.max(0) / BPS).unwrap_or(i64::MAX)
}

fn floor_to(value: i64, step: i64) -> i64 {
    value - value.rem_euclid(step)
}

fn ceil_to(value: i64, step: i64) -> i64 {
    let rest = value.rem_euclid(step);
    if rest == 0 {
        value
    } else {
        value.saturating_add(step - rest)
    }
}

/// The quote value of `qty` at `price`, in quote minor units.
pub fn notional(symbol: &SymbolConfig, price: i64, qty: i64) -> i128 {
    i128::from(price) * i128::from(qty) / 10i128.pow(u32::from(symbol.base.scale))
}

/// The smallest quantity on the lot worth at least `value` (and the minimum notional) at
/// `price`, no less than `min_qty`; `None` if the price is not above zero or that would
/// pass `max_qty`.
pub fn qty_for_value(symbol: &SymbolConfig, price: i64, value: i64) -> Option<i64> {
    if price <= 0 {
        return None;
    }
    let value = i128::from(value.max(symbol.min_notional));
    let base_unit = 10i128.pow(u32::from(symbol.base.scale));
    let raw = (value * base_unit + i128::from(price) - 1) / i128::from(price);
    let lot = i128::from(symbol.lot_size);
    let qty = i64::try_from((raw + lot - 1) / lot * lot).ok()?.max(symbol.min_qty);
    (qty <= symbol.max_qty).then_some(qty)
}

/// A resting order of the maker's, as the read model shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resting {
    pub order_id: OrderId,
    pub side: Side,
    pub price: i64,
}

/// What to send to turn `resting` into `ladder`: cancel every order not at a ladder price
/// of its side (and the extra ones at a price held twice), then place the ladder's quotes
/// no order holds. Cancels go first, so a new quote never meets an old one of the other
/// side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub cancel: Vec<OrderId>,
    pub place: Vec<Quote>,
}

pub fn plan(resting: &[Resting], ladder: &[Quote]) -> Plan {
    let mut plan = Plan::default();
    let mut held: Vec<(Side, i64)> = Vec::new();
    for order in resting {
        let wanted = ladder.iter().any(|quote| quote.side == order.side && quote.price == order.price);
        if wanted && !held.contains(&(order.side, order.price)) {
            held.push((order.side, order.price));
        } else {
            plan.cancel.push(order.order_id);
        }
    }
    plan.place = ladder.iter().filter(|quote| !held.contains(&(quote.side, quote.price))).copied().collect();
    plan
}

#[cfg(test)]
mod tests {
    use cex_config::NodeConfig;
    use proptest::prelude::*;

    use super::*;

    fn btc_usdt() -> SymbolConfig {
        NodeConfig::default().symbol_by_name("BTC-USDT").unwrap().clone()
    }

    fn shape(levels: u32, spread_bps: u32, level_step_bps: u32) -> Shape {
        Shape { levels, spread_bps, level_step_bps, level_value: 200_000_000 }
    }

    /// Every rule a quote must keep, and bids strictly below asks.
    fn assert_sound(symbol: &SymbolConfig, quotes: &[Quote]) {
        for quote in quotes {
            assert!(quote.price > 0 && quote.price % symbol.tick_size == 0, "{quote:?} off the tick");
            assert!(quote.qty % symbol.lot_size == 0, "{quote:?} off the lot");
            assert!((symbol.min_qty..=symbol.max_qty).contains(&quote.qty), "{quote:?} outside the limits");
            assert!(notional(symbol, quote.price, quote.qty) >= i128::from(symbol.min_notional), "{quote:?}");
        }
        let best_bid = quotes.iter().filter(|q| q.side == Side::Buy).map(|q| q.price).max();
        let best_ask = quotes.iter().filter(|q| q.side == Side::Sell).map(|q| q.price).min();
        if let (Some(bid), Some(ask)) = (best_bid, best_ask) {
            assert!(bid < ask, "crossed: bid {bid} ask {ask}");
        }
    }

    #[test]
    fn the_ladder_is_on_the_tick_and_lot_and_spreads_out_from_the_mid() {
        let symbol = btc_usdt(); // tick 0.01 USDT (10_000 units), lot 0.0001 BTC (10_000 units)
        let mid = 65_000_000_000; // 65000 USDT
        let quotes = ladder(&symbol, mid, &shape(3, 10, 5));
        let prices: Vec<(Side, i64)> = quotes.iter().map(|q| (q.side, q.price)).collect();
        // 10, 15 and 20 bps of 65000: 65, 97.5 and 130 USDT.
        let expected = [
            (Side::Buy, 64_935_000_000),
            (Side::Sell, 65_065_000_000),
            (Side::Buy, 64_902_500_000),
            (Side::Sell, 65_097_500_000),
            (Side::Buy, 64_870_000_000),
            (Side::Sell, 65_130_000_000),
        ];
        assert_eq!(prices, expected);
        // 200 USDT at 64935 is 0.00308003 BTC: up to the lot, 0.0031.
        assert_eq!(quotes[0].qty, 310_000);
        assert_sound(&symbol, &quotes);
    }

    #[test]
    fn tight_settings_on_a_coarse_tick_still_keep_levels_a_tick_apart() {
        let symbol = btc_usdt();
        let mid = 1_000_000; // 1 USDT: 1 bps is far below one tick
        let quotes = ladder(&symbol, mid, &shape(4, 1, 1));
        let bids: Vec<i64> = quotes.iter().filter(|q| q.side == Side::Buy).map(|q| q.price).collect();
        let asks: Vec<i64> = quotes.iter().filter(|q| q.side == Side::Sell).map(|q| q.price).collect();
        assert_eq!(bids, [990_000, 980_000, 970_000, 960_000]);
        assert_eq!(asks, [1_010_000, 1_020_000, 1_030_000, 1_040_000]);
        assert_sound(&symbol, &quotes);
    }

    #[test]
    fn levels_that_cannot_keep_the_rules_are_left_out() {
        let symbol = btc_usdt();
        // Near zero the bids run out of price; at a tiny price the quantity passes max_qty.
        let quotes = ladder(&symbol, 20_000, &shape(5, 10, 5));
        assert!(quotes.iter().all(|q| q.price > 0));
        assert!(quotes.len() < 10, "{quotes:?}");
        assert_sound(&symbol, &quotes);
        assert_eq!(qty_for_value(&symbol, 0, 1), None);
        assert_eq!(qty_for_value(&symbol, 10_000, 200_000_000), None, "20000 BTC is past max_qty");
        // The minimum notional wins over a smaller value, and min_qty over a smaller quantity.
        assert_eq!(qty_for_value(&symbol, 65_000_000_000, 1), Some(10_000));
        assert_eq!(qty_for_value(&symbol, 1_000_000_000, 1), Some(500_000), "5 USDT at 1000 is 0.005 BTC");
    }

    #[test]
    fn the_start_price_prefers_the_configured_reference_then_the_demo_price_then_the_built_in() {
        let mut config = NodeConfig::parse("[demo.prices]\n\"ETH-USDT\" = \"3000\"\n").unwrap();
        let btc = config.symbol_by_name("BTC-USDT").unwrap().clone();
        let eth = config.symbol_by_name("ETH-USDT").unwrap().clone();
        assert_eq!(start_price(&btc, &config.demo), 65_000_000_000, "built in");
        assert_eq!(start_price(&eth, &config.demo), 3_000_000_000, "[demo.prices]");
        let with_reference = SymbolConfig { reference_price: 64_000_000_000, ..btc.clone() };
        assert_eq!(start_price(&with_reference, &config.demo), 64_000_000_000);
        let unknown = SymbolConfig { name: "SOL-USDT".into(), ..btc };
        config.demo.prices.clear();
        assert_eq!(start_price(&unknown, &config.demo), 100_000_000, "10000 ticks of 0.01");
    }

    #[test]
    fn the_plan_keeps_what_the_ladder_wants_and_cancels_before_it_places() {
        let quote = |side, price| Quote { side, price, qty: 1 };
        let rest = |order_id, side, price| Resting { order_id, side, price };
        let ladder = [quote(Side::Buy, 99), quote(Side::Sell, 101), quote(Side::Buy, 98), quote(Side::Sell, 102)];
        let resting = [
            rest(1, Side::Buy, 99),   // kept
            rest(2, Side::Buy, 99),   // a second at the same price: cancelled
            rest(3, Side::Sell, 98),  // a price the ladder has, on the other side: cancelled
            rest(4, Side::Sell, 150), // stale
        ];
        let plan = plan(&resting, &ladder);
        assert_eq!(plan.cancel, [2, 3, 4]);
        assert_eq!(plan.place, [quote(Side::Sell, 101), quote(Side::Buy, 98), quote(Side::Sell, 102)]);
        let settled: Vec<Resting> =
            ladder.iter().enumerate().map(|(i, q)| rest(10 + i as u64, q.side, q.price)).collect();
        assert_eq!(super::plan(&settled, &ladder), Plan::default(), "nothing to do once quoted");
    }

    proptest! {
        #[test]
        fn any_mid_and_shape_give_a_sound_uncrossed_ladder(
            mid in 1i64..10_000_000_000_000,
            levels in 1u32..=50,
            spread in 1u32..=1_000,
            step in 1u32..=1_000,
        ) {
            let symbol = btc_usdt();
            let quotes = ladder(&symbol, mid, &shape(levels, spread, step));
            assert_sound(&symbol, &quotes);
            let resting: Vec<Resting> = quotes
                .iter()
                .enumerate()
                .map(|(i, q)| Resting { order_id: i as u64, side: q.side, price: q.price })
                .collect();
            // A ladder moved anywhere is reached by cancels and placements that leave the
            // kept quotes and the new ones uncrossed.
            let moved = ladder(&symbol, mid / 2 + 1, &shape(levels, spread, step));
            let plan = plan(&resting, &moved);
            let kept: Vec<Quote> = quotes
                .iter()
                .enumerate()
                .filter(|(i, _)| !plan.cancel.contains(&(*i as u64)))
                .map(|(_, q)| *q)
                .collect();
            assert_sound(&symbol, &[kept, plan.place].concat());
        }
    }
}
