//! Decimal prices and quantities as a person types them, to and from the engine's integer
//! units, with a symbol's tick and lot. Input is converted exactly or refused, never rounded:
//! a price the engine would reject as off-tick is refused here, before anything is sent.

use cex_config::{to_minor_units, SymbolConfig, UnitsError};
use rust_decimal::Decimal;

/// A price in quote minor units: positive and a multiple of the symbol's tick.
pub fn price_units(symbol: &SymbolConfig, text: &str) -> Result<i64, String> {
    let step = Step { what: "price", step_name: "tick size", step: symbol.tick_size, scale: symbol.quote.scale };
    step.units(symbol, text)
}

/// A quantity in base minor units: positive and a multiple of the symbol's lot.
pub fn qty_units(symbol: &SymbolConfig, text: &str) -> Result<i64, String> {
    let step = Step { what: "quantity", step_name: "lot size", step: symbol.lot_size, scale: symbol.base.scale };
    step.units(symbol, text)
}

/// A price for display, with at least the tick's decimals: 30000.00 for a 0.01 tick.
pub fn show_price(symbol: &SymbolConfig, units: i64) -> String {
    show(units, symbol.quote.scale, symbol.tick_size)
}

/// A quantity for display, with at least the lot's decimals: 0.5000 for a 0.0001 lot.
pub fn show_qty(symbol: &SymbolConfig, units: i64) -> String {
    show(units, symbol.base.scale, symbol.lot_size)
}

/// An amount of an asset at its full scale: 970.000000 USDT.
pub fn show_amount(units: i64, scale: u8) -> String {
    show(units, scale, 1)
}

/// What a decimal input must be a multiple of.
struct Step {
    what: &'static str,
    step_name: &'static str,
    step: i64,
    scale: u8,
}

impl Step {
    fn units(&self, symbol: &SymbolConfig, text: &str) -> Result<i64, String> {
        let Step { what, step_name, step, scale } = *self;
        let off_step =
            || format!("{what} {text} is not a multiple of {}'s {step_name} {}", symbol.name, show(step, scale, step));
        let units = to_minor_units(text, scale).map_err(|error| match error {
            UnitsError::NotANumber => format!("{what} {text:?} is not a decimal number (digits and one point)"),
            UnitsError::TooPrecise => off_step(),
            UnitsError::Overflow | UnitsError::BadScale => format!("{what} {text} is too large"),
        })?;
        if units <= 0 {
            return Err(format!("{what} must be above zero, not {text}"));
        }
        if step > 0 && units % step != 0 {
            return Err(off_step());
        }
        Ok(units)
    }
}

/// `units` at `scale`, exactly, with at least as many decimals as `step` has; more if the
/// value needs them (a fee, a quote budget), never fewer.
fn show(units: i64, scale: u8, step: i64) -> String {
    let scale = u32::from(scale.min(cex_engine::MAX_ASSET_SCALE));
    let mut value = Decimal::from_i128_with_scale(i128::from(units), scale).normalize();
    let decimals = step_decimals(step, scale);
    if value.scale() < decimals {
        value.rescale(decimals);
    }
    value.to_string()
}

/// The decimals of one step at `scale`: 2 for a tick of 10,000 at scale 6 (0.01).
fn step_decimals(step: i64, scale: u32) -> u32 {
    let mut zeros = 0;
    let mut rest = step;
    while rest != 0 && rest % 10 == 0 && zeros < scale {
        rest /= 10;
        zeros += 1;
    }
    scale - zeros
}

#[cfg(test)]
mod tests {
    use cex_config::NodeConfig;

    use super::*;

    /// BTC-USDT of the embedded defaults: USDT at scale 6, BTC at 8, tick 0.01, lot 0.0001.
    fn btc_usdt() -> SymbolConfig {
        NodeConfig::default().symbol_by_name("BTC-USDT").cloned().expect("the default symbols")
    }

    #[test]
    fn decimals_become_ticks_and_lots_exactly() {
        let symbol = btc_usdt();
        assert_eq!(price_units(&symbol, "30000"), Ok(30_000_000_000));
        assert_eq!(price_units(&symbol, "30000.01"), Ok(30_000_010_000));
        assert_eq!(price_units(&symbol, "30000.010"), Ok(30_000_010_000), "trailing zeros are fine");
        assert_eq!(qty_units(&symbol, "0.5"), Ok(50_000_000));
        assert_eq!(qty_units(&symbol, "0.0001"), Ok(10_000));
        assert_eq!(qty_units(&symbol, "12"), Ok(1_200_000_000));
    }

    #[test]
    fn off_tick_and_off_lot_values_are_refused() {
        let symbol = btc_usdt();
        let error = price_units(&symbol, "30000.001").unwrap_err();
        assert_eq!(error, "price 30000.001 is not a multiple of BTC-USDT's tick size 0.01");
        let error = price_units(&symbol, "30000.0000001").unwrap_err();
        assert!(error.contains("tick size 0.01"), "more decimals than the asset has: {error}");
        let error = qty_units(&symbol, "0.00005").unwrap_err();
        assert_eq!(error, "quantity 0.00005 is not a multiple of BTC-USDT's lot size 0.0001");
    }

    #[test]
    fn zero_negative_and_non_numbers_are_refused() {
        let symbol = btc_usdt();
        assert_eq!(price_units(&symbol, "0").unwrap_err(), "price must be above zero, not 0");
        assert_eq!(qty_units(&symbol, "-1").unwrap_err(), "quantity must be above zero, not -1");
        assert_eq!(qty_units(&symbol, "0.0000").unwrap_err(), "quantity must be above zero, not 0.0000");
        for text in ["", "abc", "1e3", "1,5", " 1", "0x10", ".5"] {
            let error = price_units(&symbol, text).unwrap_err();
            assert!(error.contains("is not a decimal number"), "{text:?}: {error}");
        }
        let error = price_units(&symbol, "99999999999999999999").unwrap_err();
        assert!(error.contains("too large"), "{error}");
    }

    #[test]
    fn display_keeps_the_step_decimals_and_never_rounds() {
        let symbol = btc_usdt();
        assert_eq!(show_price(&symbol, 30_000_000_000), "30000.00");
        assert_eq!(show_price(&symbol, 30_000_010_000), "30000.01");
        assert_eq!(show_qty(&symbol, 50_000_000), "0.5000");
        assert_eq!(show_qty(&symbol, 1), "0.00000001", "finer than a lot: shown in full");
        assert_eq!(show_qty(&symbol, 0), "0.0000");
        assert_eq!(show_amount(970_000_000, 6), "970.000000");
        assert_eq!(show_amount(-5, 8), "-0.00000005");
    }

    #[test]
    fn step_decimals_count_the_step_zeros() {
        assert_eq!(step_decimals(10_000, 6), 2);
        assert_eq!(step_decimals(10_000, 8), 4);
        assert_eq!(step_decimals(5, 6), 6);
        assert_eq!(step_decimals(50_000, 6), 2);
        assert_eq!(step_decimals(1_000_000, 6), 0);
        assert_eq!(step_decimals(100_000_000, 6), 0, "a step above one whole unit");
        assert_eq!(step_decimals(1, 0), 0);
    }
}
