//! `[demo]`: what `cex run --demo` seeds and runs (docs/OPERATIONS.md, "Demo mode"): the bots'
//! pace and sizes, and the prices to quote around on symbols that have no reference price.
//! Read only with `--demo`, but checked always, so a typo shows up before the first trial.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::ConfigError;
use crate::node::SymbolConfig;
use crate::units::to_minor_units;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoSettings {
    /// Seeds the traders' random choices: the same seed gives the same sequence of choices.
    pub seed: u64,
    /// Trader bots, each its own demo user.
    pub traders: u32,
    /// Price levels the market maker quotes on each side of each book.
    pub levels: u32,
    /// From the mid price to each side's first level, in basis points.
    pub spread_bps: u32,
    /// Between adjacent levels, in basis points.
    pub level_step_bps: u32,
    /// How often the market maker re-quotes.
    pub quote_interval_ms: u64,
    /// The mean pause between one trader's orders.
    pub trade_interval_ms: u64,
    /// The quote value of one market-maker level, in whole units of the symbol's quote
    /// asset; the traders' orders are smaller.
    pub order_value: String,
    /// Each demo user's funding per symbol, in whole units of its quote asset: this much of
    /// the quote asset, and this much worth of the base asset at the demo's price.
    pub funding_value: String,
    /// Symbol name → the price to quote around while the symbol has neither a configured
    /// `reference_price` nor a trade.
    pub prices: BTreeMap<String, String>,
}

impl Default for DemoSettings {
    fn default() -> Self {
        DemoSettings {
            seed: 42,
            traders: 3,
            levels: 5,
            spread_bps: 10,
            level_step_bps: 5,
            quote_interval_ms: 500,
            trade_interval_ms: 2_000,
            order_value: "200".into(),
            funding_value: "100000".into(),
            prices: BTreeMap::new(),
        }
    }
}

const MAX_TRADERS: u64 = 20;
const MAX_LEVELS: u64 = 50;
const MAX_BPS: u64 = 1_000;

impl DemoSettings {
    /// The scalar keys, and the amounts and prices against the listed symbols.
    pub(crate) fn check(&self, symbols: &[SymbolConfig], errors: &mut Vec<ConfigError>) {
        let ranges = [
            ("demo.traders", u64::from(self.traders), 1, MAX_TRADERS),
            ("demo.levels", u64::from(self.levels), 1, MAX_LEVELS),
            ("demo.spread_bps", u64::from(self.spread_bps), 1, MAX_BPS),
            ("demo.level_step_bps", u64::from(self.level_step_bps), 1, MAX_BPS),
            ("demo.quote_interval_ms", self.quote_interval_ms, 50, 60_000),
            ("demo.trade_interval_ms", self.trade_interval_ms, 100, 600_000),
        ];
        for (key, value, least, most) in ranges {
            if !(least..=most).contains(&value) {
                errors.push(ConfigError::new(key, format!("{value} is out of range: {least} to {most}")));
            }
        }
        // One error per key: the first symbol the value does not suit.
        let mut value_errors: Vec<ConfigError> = Vec::new();
        for symbol in symbols {
            for error in self.value_problems(symbol) {
                if !value_errors.iter().any(|earlier| earlier.key == error.key) {
                    value_errors.push(error);
                }
            }
        }
        errors.extend(value_errors);
        for (name, price) in &self.prices {
            let key = format!("demo.prices.{name}");
            let Some(symbol) = symbols.iter().find(|symbol| &symbol.name == name) else {
                errors.push(ConfigError::new(&key, format!("unknown symbol `{name}`: not in [[symbols]]")));
                continue;
            };
            match symbol.price_units(price) {
                Ok(units) if units > 0 && units % symbol.tick_size == 0 => {}
                _ => errors.push(ConfigError::new(
                    &key,
                    format!(
                        "{price:?} must be a price above zero, a multiple of the tick {}",
                        symbol.format_price(symbol.tick_size)
                    ),
                )),
            }
        }
    }

    /// `order_value` and `funding_value` in the symbol's quote asset: exact, and large enough
    /// for an order the engine takes (twice the minimum notional, so the traders' smaller
    /// orders still pass).
    fn value_problems(&self, symbol: &SymbolConfig) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let scale = symbol.quote.scale;
        let order = to_minor_units(&self.order_value, scale).ok().filter(|units| *units > 0);
        let funding = to_minor_units(&self.funding_value, scale).ok().filter(|units| *units > 0);
        let least_order = symbol.min_notional.saturating_mul(2).max(1);
        match order {
            Some(units) if units >= least_order => {}
            _ => errors.push(ConfigError::new(
                "demo.order_value",
                format!(
                    "{:?} must be an amount of {} of at least {} (twice {}'s min_notional)",
                    self.order_value,
                    symbol.quote.name,
                    symbol.format_price(least_order),
                    symbol.name
                ),
            )),
        }
        if funding.is_none_or(|units| order.is_some_and(|order| units < order.saturating_mul(10))) {
            errors.push(ConfigError::new(
                "demo.funding_value",
                format!(
                    "{:?} must be an amount of {} of at least 10 × order_value",
                    self.funding_value, symbol.quote.name
                ),
            ));
        }
        errors
    }

    /// The configured demo price of `symbol`, in quote minor units, if any.
    pub fn price_of(&self, symbol: &SymbolConfig) -> Option<i64> {
        self.prices.get(&symbol.name).and_then(|price| symbol.price_units(price).ok())
    }
}
