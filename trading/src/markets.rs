//! Names, scales and trading rules from the node's config, and the conversion of the API's
//! decimal strings to the engine's integer units and back.
//!
//! Amounts arrive as decimal strings in whole units ("0.25" BTC, "64000.5" USDT). Each is
//! converted exactly (rust_decimal, through `cex_config::to_minor_units`), never rounded:
//!
//! - text that is not a plain decimal (a sign, digits, at most one point with digits on
//!   both sides) is 2000;
//! - a price must be above zero (2003) and a multiple of the tick size (2001: more decimals
//!   than the tick allows, or off the tick);
//! - a quantity must be above zero (2003) and a multiple of the lot size (2002);
//! - a quote amount or an adjustment may not have more decimals than its asset (2010);
//! - anything past an i64 count of minor units is 2007.
//!
//! The engine checks the same rules again, and the rest (minimum quantity and notional,
//! price band, funds) are its alone: those come back as its reject codes (3000 + reason).

use cex_config::{format_minor_units, to_minor_units, AssetConfig, NodeConfig, SymbolConfig, UnitsError};
use cex_engine::{AssetId, SymbolId};

use crate::error::{TradingCode, TradingError, TradingResult};

/// The assets and symbols the node lists, by name and by id.
#[derive(Debug, Clone, Default)]
pub struct Markets {
    assets: Vec<AssetConfig>,
    symbols: Vec<SymbolConfig>,
}

impl Markets {
    pub fn new(config: &NodeConfig) -> Markets {
        Markets { assets: config.assets().to_vec(), symbols: config.symbols().to_vec() }
    }

    /// The symbol named `name` ("BTC-USDT"), or 2004.
    pub fn symbol(&self, name: &str) -> TradingResult<&SymbolConfig> {
        self.symbols.iter().find(|symbol| symbol.name == name).ok_or_else(|| {
            TradingError::with_msg(TradingCode::UnknownSymbol, format!("unknown symbol {:?}", clip(name)))
        })
    }

    /// The symbol named by an optional filter parameter.
    pub fn symbol_filter(&self, name: Option<&str>) -> TradingResult<Option<&SymbolConfig>> {
        name.map(|name| self.symbol(name)).transpose()
    }

    pub fn symbol_by_id(&self, id: SymbolId) -> Option<&SymbolConfig> {
        self.symbols.iter().find(|symbol| symbol.id == id)
    }

    /// The asset named `name` ("USDT"), or 2005.
    pub fn asset(&self, name: &str) -> TradingResult<&AssetConfig> {
        self.assets
            .iter()
            .find(|asset| asset.name == name)
            .ok_or_else(|| TradingError::with_msg(TradingCode::UnknownAsset, format!("unknown asset {:?}", clip(name))))
    }

    pub fn asset_by_id(&self, id: AssetId) -> Option<&AssetConfig> {
        self.assets.iter().find(|asset| asset.id == id)
    }

    pub fn assets(&self) -> &[AssetConfig] {
        &self.assets
    }

    pub fn symbols(&self) -> &[SymbolConfig] {
        &self.symbols
    }

    /// An amount of `asset` in minor units as a decimal string; unknown assets (a damaged
    /// stream) read as raw minor units rather than failing the whole answer.
    pub fn format_asset(&self, asset: AssetId, units: i64) -> String {
        let scale = self.asset_by_id(asset).map_or(0, |asset| asset.scale);
        format_minor_units(units, scale)
    }

    /// The asset's name, or `#<id>` for one the config does not list.
    pub fn asset_name(&self, asset: AssetId) -> String {
        self.asset_by_id(asset).map_or_else(|| format!("#{asset}"), |asset| asset.name.clone())
    }
}

/// Caller text echoed in a message, cut short so a message stays a message.
pub fn clip(text: &str) -> &str {
    match text.char_indices().nth(32) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// What an amount's text turned into, before the rules of its field are applied.
fn units(field: &str, text: &str, scale: u8, too_precise: TradingCode) -> TradingResult<i64> {
    to_minor_units(text, scale).map_err(|error| match error {
        UnitsError::NotANumber => TradingError::with_msg(
            TradingCode::MalformedDecimal,
            format!("{field}: {:?} is not a decimal number such as \"0.25\"", clip(text)),
        ),
        UnitsError::TooPrecise => TradingError::with_msg(too_precise, format!("{field}: too many decimals")),
        UnitsError::Overflow => TradingError::with_msg(TradingCode::AmountTooLarge, format!("{field}: too large")),
        UnitsError::BadScale => TradingError::internal(format_args!("{field}: an asset scale above 18")),
    })
}

fn positive(field: &str, units: i64) -> TradingResult<i64> {
    if units > 0 {
        Ok(units)
    } else {
        Err(TradingError::with_msg(TradingCode::NotPositive, format!("{field}: must be above zero")))
    }
}

/// A price in quote minor units: above zero and on the tick.
pub fn price(symbol: &SymbolConfig, field: &str, text: &str) -> TradingResult<i64> {
    let units = positive(field, units(field, text, symbol.quote.scale, TradingCode::PriceOffTick)?)?;
    if units % symbol.tick_size != 0 {
        let tick = symbol.format_price(symbol.tick_size);
        return Err(TradingError::with_msg(
            TradingCode::PriceOffTick,
            format!("{field}: not a multiple of the tick size {tick}"),
        ));
    }
    Ok(units)
}

/// A base quantity in minor units: above zero and on the lot.
pub fn quantity(symbol: &SymbolConfig, field: &str, text: &str) -> TradingResult<i64> {
    let units = positive(field, units(field, text, symbol.base.scale, TradingCode::QuantityOffLot)?)?;
    if units % symbol.lot_size != 0 {
        let lot = symbol.format_qty(symbol.lot_size);
        return Err(TradingError::with_msg(
            TradingCode::QuantityOffLot,
            format!("{field}: not a multiple of the lot size {lot}"),
        ));
    }
    Ok(units)
}

/// A quote amount to spend, in quote minor units: above zero.
pub fn quote_amount(symbol: &SymbolConfig, field: &str, text: &str) -> TradingResult<i64> {
    positive(field, units(field, text, symbol.quote.scale, TradingCode::TooPrecise)?)
}

/// A signed amount of an asset (a credit or a debit), in minor units: not zero.
pub fn signed_amount(asset: &AssetConfig, field: &str, text: &str) -> TradingResult<i64> {
    let units = units(field, text, asset.scale, TradingCode::TooPrecise)?;
    if units == 0 {
        return Err(TradingError::with_msg(TradingCode::NotPositive, format!("{field}: must not be zero")));
    }
    Ok(units)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc_usdt() -> SymbolConfig {
        NodeConfig::default().symbol_by_name("BTC-USDT").unwrap().clone()
    }

    fn code<T: std::fmt::Debug>(result: TradingResult<T>) -> u32 {
        result.unwrap_err().code
    }

    #[test]
    fn prices_are_exact_positive_and_on_the_tick() {
        let symbol = btc_usdt(); // tick 0.01 USDT at scale 6
        assert_eq!(price(&symbol, "price", "64000.5"), Ok(64_000_500_000));
        assert_eq!(price(&symbol, "price", "0.01"), Ok(10_000));
        assert_eq!(code(price(&symbol, "price", "64000.505")), 2001, "off the tick");
        assert_eq!(code(price(&symbol, "price", "1.0000001")), 2001, "more decimals than USDT has");
        assert_eq!(code(price(&symbol, "price", "0")), 2003);
        assert_eq!(code(price(&symbol, "price", "-5")), 2003);
        for malformed in ["", "abc", "1e3", "1,5", " 1", "0x10", "1.", ".5", "NaN"] {
            assert_eq!(code(price(&symbol, "price", malformed)), 2000, "{malformed:?}");
        }
        assert_eq!(code(price(&symbol, "price", "99999999999999999999")), 2007);
    }

    #[test]
    fn quantities_are_exact_positive_and_on_the_lot() {
        let symbol = btc_usdt(); // lot 0.0001 BTC at scale 8
        assert_eq!(quantity(&symbol, "quantity", "0.25"), Ok(25_000_000));
        assert_eq!(code(quantity(&symbol, "quantity", "0.00015")), 2002);
        assert_eq!(code(quantity(&symbol, "quantity", "0.000000001")), 2002);
        assert_eq!(code(quantity(&symbol, "quantity", "0")), 2003);
        assert_eq!(code(quantity(&symbol, "quantity", "-1")), 2003);
        assert_eq!(code(quantity(&symbol, "quantity", "one")), 2000);
    }

    #[test]
    fn quote_amounts_and_adjustments_keep_to_their_asset() {
        let symbol = btc_usdt();
        assert_eq!(quote_amount(&symbol, "quoteOrderQty", "100.123456"), Ok(100_123_456));
        assert_eq!(code(quote_amount(&symbol, "quoteOrderQty", "100.1234567")), 2010);
        assert_eq!(code(quote_amount(&symbol, "quoteOrderQty", "0")), 2003);
        let usdt = &symbol.quote;
        assert_eq!(signed_amount(usdt, "amount", "-2.5"), Ok(-2_500_000));
        assert_eq!(code(signed_amount(usdt, "amount", "0.000")), 2003);
        assert_eq!(code(signed_amount(usdt, "amount", "1.0000001")), 2010);
    }

    #[test]
    fn names_resolve_and_unknown_ones_are_refused_without_echoing_too_much() {
        let markets = Markets::new(&NodeConfig::default());
        assert_eq!(markets.symbol("ETH-USDT").unwrap().name, "ETH-USDT");
        let error = markets.symbol(&"X".repeat(10_000)).unwrap_err();
        assert_eq!(error.code, 2004);
        assert!(error.msg.len() < 100, "{}", error.msg);
        assert_eq!(markets.asset("DOGE").unwrap_err().code, 2005);
        assert_eq!(markets.format_asset(0, 1_500_000), "1.5");
        assert_eq!((markets.asset_name(1), markets.asset_name(99)), ("BTC".to_string(), "#99".to_string()));
        assert_eq!(clip("héllo wörld, this is a longer text than thirty-two"), "héllo wörld, this is a longer te");
    }
}
