//! Reference data: the `[[assets]]` and `[[symbols]]` entries as written, checked and
//! converted to assets and symbols in engine units. Every entry is checked on its own and
//! against the others, and every problem is reported.

use std::collections::HashMap;

use cex_engine::{AssetId, SymbolId};
use serde::Deserialize;

use crate::error::ConfigError;
use crate::node::{AssetConfig, EngineSettings, SymbolConfig};
use crate::units::{format_minor_units, to_minor_units, UnitsError};

#[derive(Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAsset {
    id: Option<AssetId>,
    name: Option<String>,
    scale: Option<u8>,
}

#[derive(Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSymbol {
    id: Option<SymbolId>,
    name: Option<String>,
    base: Option<String>,
    quote: Option<String>,
    tick_size: Option<DecimalText>,
    lot_size: Option<DecimalText>,
    min_qty: Option<DecimalText>,
    max_qty: Option<DecimalText>,
    min_notional: Option<DecimalText>,
    price_band_bps: Option<u32>,
    reference_price: Option<DecimalText>,
    maker_fee_bps: Option<u16>,
    taker_fee_bps: Option<u16>,
}

const DEFAULT_PRICE_BAND_BPS: u32 = 1_000;
const DEFAULT_MAKER_FEE_BPS: u16 = 10;
const DEFAULT_TAKER_FEE_BPS: u16 = 20;

/// A decimal amount as written: a string ("0.01"), or an integer (5). A TOML float is
/// refused: binary floating point cannot hold most decimals exactly.
#[derive(Clone, Debug)]
struct DecimalText(String);

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = DecimalText;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a decimal string such as \"0.01\", or an integer")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<DecimalText, E> {
                Ok(DecimalText(text.to_string()))
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<DecimalText, E> {
                Ok(DecimalText(value.to_string()))
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<DecimalText, E> {
                Ok(DecimalText(value.to_string()))
            }

            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<DecimalText, E> {
                Err(E::custom(format!(
                    "write decimals as strings, like \"{value}\": a TOML float cannot hold most decimals exactly"
                )))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

pub(crate) fn default_assets() -> Vec<RawAsset> {
    let asset = |id, name: &str, scale| RawAsset { id: Some(id), name: Some(name.into()), scale: Some(scale) };
    vec![asset(0, "USDT", 6), asset(1, "BTC", 8), asset(2, "ETH", 8)]
}

pub(crate) fn default_symbols() -> Vec<RawSymbol> {
    let text = |value: &str| Some(DecimalText(value.into()));
    let symbol = |id, name: &str, base: &str, tick, lot, max_qty| RawSymbol {
        id: Some(id),
        name: Some(name.into()),
        base: Some(base.into()),
        quote: Some("USDT".into()),
        tick_size: text(tick),
        lot_size: text(lot),
        min_qty: text(lot),
        max_qty: text(max_qty),
        min_notional: text("5"),
        price_band_bps: Some(DEFAULT_PRICE_BAND_BPS),
        reference_price: text("0"),
        maker_fee_bps: Some(DEFAULT_MAKER_FEE_BPS),
        taker_fee_bps: Some(DEFAULT_TAKER_FEE_BPS),
    };
    // One lot at one tick must be a whole number of USDT minor units (the engine's rule):
    // 0.01 USDT × 0.0001 BTC = 0.000001 USDT, exactly one.
    vec![
        symbol(0, "BTC-USDT", "BTC", "0.01", "0.0001", "1000"),
        symbol(1, "ETH-USDT", "ETH", "0.01", "0.0001", "10000"),
    ]
}

/// Builds every entry that is right and reports every one that is not.
pub(crate) fn build_refdata(
    raw_assets: &[RawAsset],
    raw_symbols: &[RawSymbol],
    engine: &EngineSettings,
    errors: &mut Vec<ConfigError>,
) -> (Vec<AssetConfig>, Vec<SymbolConfig>) {
    let assets = build_assets(raw_assets, engine, errors);
    // Assets by name for the symbols; `None` for an entry with problems of its own, which
    // its symbols then skip rather than repeat.
    let mut by_name: HashMap<&str, Option<&AssetConfig>> = HashMap::new();
    for raw in raw_assets {
        if let Some(name) = raw.name.as_deref() {
            by_name.entry(name).or_insert(None);
        }
    }
    for asset in &assets {
        by_name.insert(&asset.name, Some(asset));
    }
    let symbols = build_symbols(raw_symbols, &by_name, engine, errors);
    (assets, symbols)
}

fn required<T: Clone>(value: &Option<T>, key: &str, errors: &mut Vec<ConfigError>) -> Option<T> {
    if value.is_none() {
        errors.push(ConfigError::new(key, "missing: this key is required"));
    }
    value.clone()
}

fn check_name(name: &Option<String>, key: &str, errors: &mut Vec<ConfigError>) {
    if let Some(name) = name {
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            errors.push(ConfigError::new(key, format!("{name:?} is not a name: it must be non-empty, with no spaces")));
        }
    }
}

fn build_assets(raw_assets: &[RawAsset], engine: &EngineSettings, errors: &mut Vec<ConfigError>) -> Vec<AssetConfig> {
    let mut assets = Vec::new();
    let mut ids: HashMap<AssetId, usize> = HashMap::new();
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, raw) in raw_assets.iter().enumerate() {
        let before = errors.len();
        let key = |field: &str| format!("assets[{i}].{field}");
        let id = required(&raw.id, &key("id"), errors);
        let name = required(&raw.name, &key("name"), errors);
        let scale = required(&raw.scale, &key("scale"), errors);
        check_name(&raw.name, &key("name"), errors);
        if let Some(id) = id {
            check_asset_ids([(i, id)].into_iter(), engine, errors);
            if let Some(&first) = ids.get(&id) {
                errors.push(ConfigError::new(key("id"), format!("asset id {id} is already assets[{first}]'s")));
            } else {
                ids.insert(id, i);
            }
        }
        if let Some(name) = raw.name.as_deref() {
            if let Some(&first) = names.get(name) {
                errors.push(ConfigError::new(key("name"), format!("{name} is already the name of assets[{first}]")));
            } else {
                names.insert(name, i);
            }
        }
        if let Some(scale) = scale.filter(|&scale| scale > cex_engine::MAX_ASSET_SCALE) {
            let message =
                format!("{scale} is above the largest scale the engine takes, {}", cex_engine::MAX_ASSET_SCALE);
            errors.push(ConfigError::new(key("scale"), message));
        }
        if let (Some(id), Some(name), Some(scale), true) = (id, name, scale, errors.len() == before) {
            assets.push(AssetConfig { id, name, scale });
        }
    }
    assets
}

pub(crate) fn check_asset_ids(
    ids: impl Iterator<Item = (usize, AssetId)>,
    engine: &EngineSettings,
    errors: &mut Vec<ConfigError>,
) {
    for (i, id) in ids {
        if id >= engine.max_assets {
            let message = format!("{id} is not below engine.max_assets ({})", engine.max_assets);
            errors.push(ConfigError::new(format!("assets[{i}].id"), message));
        }
    }
}

pub(crate) fn check_symbol_ids(
    ids: impl Iterator<Item = (usize, SymbolId)>,
    engine: &EngineSettings,
    errors: &mut Vec<ConfigError>,
) {
    for (i, id) in ids {
        if id >= engine.max_symbols {
            let message = format!("{id} is not below engine.max_symbols ({})", engine.max_symbols);
            errors.push(ConfigError::new(format!("symbols[{i}].id"), message));
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sign {
    Positive,
    NotNegative,
}

/// A decimal amount of `asset` in its minor units, or an error naming `key`. `None`, with no
/// error, when the asset is unknown: that has been reported already.
fn amount(
    text: Option<&DecimalText>,
    asset: Option<&AssetConfig>,
    sign: Sign,
    key: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<i64> {
    let (text, asset) = (&text?.0, asset?);
    let (name, scale) = (&asset.name, asset.scale);
    let problem = match to_minor_units(text, scale) {
        Ok(units) if units < 0 => format!("{text} is negative"),
        Ok(0) if sign == Sign::Positive => "must be above zero".to_string(),
        Ok(units) => return Some(units),
        Err(UnitsError::NotANumber) => format!("{text:?} is not a decimal number (write it like \"0.01\")"),
        Err(UnitsError::TooPrecise) => format!("{text} is not a whole number of {name} minor units (scale {scale})"),
        Err(UnitsError::Overflow | UnitsError::BadScale) => {
            format!("{text} is too large: it overflows an i64 count of {name} minor units (scale {scale})")
        }
    };
    errors.push(ConfigError::new(key, problem));
    None
}

fn build_symbols(
    raw_symbols: &[RawSymbol],
    assets: &HashMap<&str, Option<&AssetConfig>>,
    engine: &EngineSettings,
    errors: &mut Vec<ConfigError>,
) -> Vec<SymbolConfig> {
    let mut symbols = Vec::new();
    let mut ids: HashMap<SymbolId, usize> = HashMap::new();
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, raw) in raw_symbols.iter().enumerate() {
        let before = errors.len();
        let key = |field: &str| format!("symbols[{i}].{field}");
        let id = required(&raw.id, &key("id"), errors);
        let name = required(&raw.name, &key("name"), errors);
        check_name(&raw.name, &key("name"), errors);
        if let Some(id) = id {
            check_symbol_ids([(i, id)].into_iter(), engine, errors);
            if let Some(&first) = ids.get(&id) {
                errors.push(ConfigError::new(key("id"), format!("symbol id {id} is already symbols[{first}]'s")));
            } else {
                ids.insert(id, i);
            }
        }
        if let Some(name) = raw.name.as_deref() {
            if let Some(&first) = names.get(name) {
                errors.push(ConfigError::new(key("name"), format!("{name} is already the name of symbols[{first}]")));
            } else {
                names.insert(name, i);
            }
        }

        // The named asset; `None` when it is missing, unknown (both reported) or broken.
        let asset = |name: &Option<String>, field: &str, errors: &mut Vec<ConfigError>| {
            let name = required(name, &key(field), errors)?;
            if let Some(found) = assets.get(name.as_str()) {
                return *found;
            }
            let mut known: Vec<&str> = assets.keys().copied().collect();
            known.sort_unstable();
            let message = if known.is_empty() {
                format!("no asset is named {name:?}: there are no assets")
            } else {
                format!("no asset is named {name:?}; the assets are: {}", known.join(", "))
            };
            errors.push(ConfigError::new(key(field), message));
            None
        };
        let base = asset(&raw.base, "base", errors);
        let quote = asset(&raw.quote, "quote", errors);
        if let (Some(base), Some(quote)) = (&raw.base, &raw.quote) {
            if base == quote {
                errors.push(ConfigError::new(key("quote"), format!("the base and the quote are both {base}")));
            }
        }

        let tick_size = required(&raw.tick_size, &key("tick_size"), errors);
        let lot_size = required(&raw.lot_size, &key("lot_size"), errors);
        let max_qty = required(&raw.max_qty, &key("max_qty"), errors);
        let tick = amount(tick_size.as_ref(), quote, Sign::Positive, &key("tick_size"), errors);
        let lot = amount(lot_size.as_ref(), base, Sign::Positive, &key("lot_size"), errors);
        let max_qty = amount(max_qty.as_ref(), base, Sign::Positive, &key("max_qty"), errors);
        let min_qty = match &raw.min_qty {
            Some(text) => amount(Some(text), base, Sign::Positive, &key("min_qty"), errors),
            None => lot,
        };
        let zero = DecimalText("0".into());
        let min_notional = amount(
            Some(raw.min_notional.as_ref().unwrap_or(&zero)),
            quote,
            Sign::NotNegative,
            &key("min_notional"),
            errors,
        );
        let reference_price = amount(
            Some(raw.reference_price.as_ref().unwrap_or(&zero)),
            quote,
            Sign::NotNegative,
            &key("reference_price"),
            errors,
        );

        let price_band_bps = raw.price_band_bps.unwrap_or(DEFAULT_PRICE_BAND_BPS);
        if !(1..=cex_engine::BPS_DENOMINATOR as u32).contains(&price_band_bps) {
            let message = format!("{price_band_bps} is not 1 to {} (100%)", cex_engine::BPS_DENOMINATOR);
            errors.push(ConfigError::new(key("price_band_bps"), message));
        }
        let maker_fee_bps = raw.maker_fee_bps.unwrap_or(DEFAULT_MAKER_FEE_BPS);
        let taker_fee_bps = raw.taker_fee_bps.unwrap_or(DEFAULT_TAKER_FEE_BPS);
        for (field, fee) in [("maker_fee_bps", maker_fee_bps), ("taker_fee_bps", taker_fee_bps)] {
            if fee > cex_engine::MAX_FEE_BPS {
                let message = format!("{fee} is above the engine's largest fee, {} bps (10%)", cex_engine::MAX_FEE_BPS);
                errors.push(ConfigError::new(key(field), message));
            }
        }

        // The rules that tie amounts together, where each amount is known.
        if let (Some(base), Some(lot)) = (base, lot) {
            for (field, qty) in [("min_qty", min_qty), ("max_qty", max_qty)] {
                if let Some(qty) = qty.filter(|qty| qty % lot != 0) {
                    let message = format!(
                        "{} is not a multiple of lot_size ({})",
                        format_minor_units(qty, base.scale),
                        format_minor_units(lot, base.scale)
                    );
                    errors.push(ConfigError::new(key(field), message));
                }
            }
            if let (Some(min), Some(max)) = (min_qty, max_qty) {
                if min > max {
                    let message = format!(
                        "{} is above max_qty ({})",
                        format_minor_units(min, base.scale),
                        format_minor_units(max, base.scale)
                    );
                    errors.push(ConfigError::new(key("min_qty"), message));
                }
            }
        }
        if let (Some(quote), Some(tick), Some(reference_price)) = (quote, tick, reference_price) {
            if reference_price % tick != 0 {
                let message = format!(
                    "{} is not a multiple of tick_size ({})",
                    format_minor_units(reference_price, quote.scale),
                    format_minor_units(tick, quote.scale)
                );
                errors.push(ConfigError::new(key("reference_price"), message));
            }
        }
        if let (Some(base), Some(quote), Some(tick), Some(lot)) = (base, quote, tick, lot) {
            // The engine works in ticks and lots: one lot at one tick must cost a whole number
            // of quote minor units, so every notional is exact.
            if cex_engine::math::quote_per_tick_lot(tick, lot, base.scale).is_none() {
                let cost = tick as i128 * lot as i128;
                let whole = cost % 10i128.pow(base.scale as u32) == 0;
                let message = format!(
                    "one lot ({} {}) at one tick ({} {}) {}; raise tick_size or lot_size",
                    format_minor_units(lot, base.scale),
                    base.name,
                    format_minor_units(tick, quote.scale),
                    quote.name,
                    if whole {
                        "costs too much to count in an i64".to_string()
                    } else {
                        format!(
                            "is {} {}, not a whole number of {} minor units (scale {})",
                            format_scaled(cost, base.scale as u32 + quote.scale as u32),
                            quote.name,
                            quote.name,
                            quote.scale
                        )
                    }
                );
                errors.push(ConfigError::new(key("lot_size"), message));
            }
        }

        // An entry that names a broken asset has no error of its own, but no symbol either.
        let symbol = || {
            Some(SymbolConfig {
                id: id?,
                name: name?,
                base: base?.clone(),
                quote: quote?.clone(),
                tick_size: tick?,
                lot_size: lot?,
                min_qty: min_qty?,
                max_qty: max_qty?,
                min_notional: min_notional?,
                price_band_bps,
                reference_price: reference_price?,
                maker_fee_bps,
                taker_fee_bps,
            })
        };
        if errors.len() == before {
            symbols.extend(symbol());
        }
    }
    symbols
}

/// `value × 10^-scale` as the shortest decimal, for any scale: `format_scaled(1, 7) == "0.0000001"`.
fn format_scaled(value: i128, scale: u32) -> String {
    let digits = value.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    let fraction = fraction.trim_end_matches('0');
    let sign = if value < 0 { "-" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}
