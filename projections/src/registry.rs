//! Assets and symbols, learned from `AssetAdded`, `SymbolAdded`, `SymbolStatusChanged` and
//! `SymbolFeesChanged`, so a projection started on the journal from the first sequence knows
//! every scale and trading rule without reading the configuration.
//!
//! The events carry ids, never names: `SymbolSpec` holds the base and quote asset ids, tick and
//! lot sizes, quantity and notional limits, the price band, the reference price and the
//! default fees; `AssetAdded` holds the asset's decimal scale. Names live in `cex.toml` and are
//! the API's business.

use std::collections::BTreeMap;

use cex_engine::{AssetId, Event, EventBody, SymbolFeesChanged, SymbolId, SymbolSpec, SymbolStatus, MAX_FEE_TIERS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetInfo {
    pub asset: AssetId,
    /// Decimal places of the minor unit.
    pub scale: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolInfo {
    pub spec: SymbolSpec,
    pub status: SymbolStatus,
    /// (maker, taker) basis points per fee tier: the spec's defaults until a tier is changed.
    pub fees: [(u16, u16); MAX_FEE_TIERS],
}

impl SymbolInfo {
    fn new(spec: SymbolSpec) -> Self {
        SymbolInfo {
            spec,
            status: SymbolStatus::Trading,
            fees: [(spec.maker_fee_bps, spec.taker_fee_bps); MAX_FEE_TIERS],
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Registry {
    assets: BTreeMap<AssetId, AssetInfo>,
    symbols: BTreeMap<SymbolId, SymbolInfo>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in one command's events. The engine refuses duplicates with a reject, so a
    /// repeated `AssetAdded` or `SymbolAdded` can only come from a damaged stream: the first
    /// one stays, as it does in the engine.
    pub fn apply(&mut self, events: &[Event]) {
        for event in events {
            match event.body {
                EventBody::AssetAdded { asset, scale } => {
                    self.assets.entry(asset).or_insert(AssetInfo { asset, scale });
                }
                EventBody::SymbolAdded(spec) => {
                    self.symbols.entry(spec.symbol).or_insert_with(|| SymbolInfo::new(spec));
                }
                EventBody::SymbolStatusChanged { symbol, new, .. } => {
                    if let Some(info) = self.symbols.get_mut(&symbol) {
                        info.status = new;
                    }
                }
                EventBody::SymbolFeesChanged(change) => self.change_fees(change),
                _ => {}
            }
        }
    }

    fn change_fees(&mut self, change: SymbolFeesChanged) {
        let Some(info) = self.symbols.get_mut(&change.symbol) else { return };
        if let Some(fees) = info.fees.get_mut(change.tier as usize) {
            *fees = (change.new_maker_fee_bps, change.new_taker_fee_bps);
        }
    }

    pub fn asset(&self, asset: AssetId) -> Option<&AssetInfo> {
        self.assets.get(&asset)
    }

    /// Every asset, by ascending id.
    pub fn assets(&self) -> impl Iterator<Item = &AssetInfo> {
        self.assets.values()
    }

    pub fn symbol(&self, symbol: SymbolId) -> Option<&SymbolInfo> {
        self.symbols.get(&symbol)
    }

    /// Every symbol, by ascending id.
    pub fn symbols(&self) -> impl Iterator<Item = &SymbolInfo> {
        self.symbols.values()
    }
}

#[cfg(test)]
mod tests {
    use cex_engine::testkit::harness::btc_usdt_spec;

    use super::*;

    fn event(body: EventBody) -> Event {
        Event { txid: 1, body }
    }

    #[test]
    fn learns_scales_specs_statuses_and_fees() {
        let spec = btc_usdt_spec();
        let mut registry = Registry::new();
        registry.apply(&[
            event(EventBody::AssetAdded { asset: 0, scale: 8 }),
            event(EventBody::AssetAdded { asset: 1, scale: 6 }),
            event(EventBody::SymbolAdded(spec)),
        ]);
        assert_eq!(registry.asset(1), Some(&AssetInfo { asset: 1, scale: 6 }));
        assert_eq!(registry.assets().count(), 2);
        let info = registry.symbol(spec.symbol).unwrap();
        assert_eq!((info.spec, info.status), (spec, SymbolStatus::Trading));
        assert!(info.fees.iter().all(|fees| *fees == (10, 20)));

        registry.apply(&[
            event(EventBody::SymbolStatusChanged {
                symbol: spec.symbol,
                old: SymbolStatus::Trading,
                new: SymbolStatus::Halted,
            }),
            event(EventBody::SymbolFeesChanged(SymbolFeesChanged {
                symbol: spec.symbol,
                tier: 3,
                old_maker_fee_bps: 10,
                old_taker_fee_bps: 20,
                new_maker_fee_bps: 1,
                new_taker_fee_bps: 2,
            })),
        ]);
        let info = registry.symbol(spec.symbol).unwrap();
        assert_eq!(info.status, SymbolStatus::Halted);
        assert_eq!((info.fees[3], info.fees[2]), ((1, 2), (10, 20)));
    }

    #[test]
    fn ignores_repeats_unknown_symbols_and_tiers_out_of_range() {
        let spec = btc_usdt_spec();
        let mut registry = Registry::new();
        registry.apply(&[
            event(EventBody::AssetAdded { asset: 0, scale: 8 }),
            event(EventBody::AssetAdded { asset: 0, scale: 2 }),
            event(EventBody::SymbolAdded(spec)),
            event(EventBody::SymbolAdded(SymbolSpec { tick_size: 1, ..spec })),
            event(EventBody::SymbolStatusChanged { symbol: 99, old: SymbolStatus::Trading, new: SymbolStatus::Halted }),
            event(EventBody::SymbolFeesChanged(SymbolFeesChanged {
                symbol: spec.symbol,
                tier: 200,
                old_maker_fee_bps: 0,
                old_taker_fee_bps: 0,
                new_maker_fee_bps: 5,
                new_taker_fee_bps: 5,
            })),
        ]);
        assert_eq!(registry.asset(0).unwrap().scale, 8);
        assert_eq!(registry.symbol(spec.symbol).unwrap().spec, spec);
        assert!(registry.symbol(99).is_none());
        assert!(registry.symbol(spec.symbol).unwrap().fees.iter().all(|fees| *fees == (10, 20)));
    }
}
