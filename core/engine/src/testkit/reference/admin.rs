//! Reference data, accounts and balance adjustments.

use std::collections::{BTreeMap, BTreeSet};

use super::{Account, Asset, ReferenceEngine, Symbol};
use crate::command::{AdjustBalance, SymbolFees, SymbolSpec};
use crate::event::{EventBody, SymbolFeesChanged};
use crate::math::quote_per_tick_lot;
use crate::reject::RejectReason::{self, *};
use crate::types::*;

impl ReferenceEngine {
    pub(super) fn add_asset(&mut self, asset: AssetId, scale: u8) -> Result<(), RejectReason> {
        if asset >= self.config.max_assets {
            return Err(AssetCapacity);
        }
        if self.assets.contains_key(&asset) {
            return Err(AssetExists);
        }
        if scale > MAX_ASSET_SCALE {
            return Err(InvalidAssetScale);
        }
        self.assets.insert(asset, Asset { scale, fees: 0, supply: 0 });
        self.emit(EventBody::AssetAdded { asset, scale });
        Ok(())
    }

    pub(super) fn add_symbol(&mut self, spec: &SymbolSpec) -> Result<(), RejectReason> {
        if spec.symbol >= self.config.max_symbols {
            return Err(SymbolCapacity);
        }
        if self.symbols.contains_key(&spec.symbol) {
            return Err(SymbolExists);
        }
        let base = self.assets.get(&spec.base).ok_or(UnknownAsset)?;
        self.assets.get(&spec.quote).ok_or(UnknownAsset)?;
        if spec.maker_fee_bps > MAX_FEE_BPS || spec.taker_fee_bps > MAX_FEE_BPS {
            return Err(InvalidFee);
        }
        let k = consistent_spec(spec, base.scale).ok_or(InvalidSymbolSpec)?;
        let symbol = Symbol {
            spec: *spec,
            k,
            status: SymbolStatus::Trading,
            last: spec.reference_price / spec.tick_size,
            fees: [(spec.maker_fee_bps, spec.taker_fee_bps); MAX_FEE_TIERS],
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            buy_stops: BTreeSet::new(),
            sell_stops: BTreeSet::new(),
        };
        self.symbols.insert(spec.symbol, symbol);
        self.emit(EventBody::SymbolAdded(*spec));
        Ok(())
    }

    pub(super) fn set_symbol_status(&mut self, symbol: SymbolId, status: SymbolStatus) -> Result<(), RejectReason> {
        let entry = self.symbols.get_mut(&symbol).ok_or(UnknownSymbol)?;
        let old = entry.status;
        if old == SymbolStatus::Delisted {
            return Err(InvalidStatusTransition);
        }
        entry.status = status;
        self.emit(EventBody::SymbolStatusChanged { symbol, old, new: status });
        if matches!(status, SymbolStatus::Suspended | SymbolStatus::Delisted) {
            let ids: Vec<OrderId> = self.orders.values().filter(|o| o.symbol == symbol).map(|o| o.id).collect();
            for id in ids {
                self.cancel_order(id, CancelReason::Admin);
            }
        }
        Ok(())
    }

    pub(super) fn set_symbol_fees(&mut self, fees: &SymbolFees) -> Result<(), RejectReason> {
        let symbol = self.symbols.get_mut(&fees.symbol).ok_or(UnknownSymbol)?;
        if fees.tier as usize >= MAX_FEE_TIERS {
            return Err(InvalidTier);
        }
        if fees.maker_fee_bps > MAX_FEE_BPS || fees.taker_fee_bps > MAX_FEE_BPS {
            return Err(InvalidFee);
        }
        let (old_maker, old_taker) = symbol.fees[fees.tier as usize];
        symbol.fees[fees.tier as usize] = (fees.maker_fee_bps, fees.taker_fee_bps);
        self.emit(EventBody::SymbolFeesChanged(SymbolFeesChanged {
            symbol: fees.symbol,
            tier: fees.tier,
            old_maker_fee_bps: old_maker,
            old_taker_fee_bps: old_taker,
            new_maker_fee_bps: fees.maker_fee_bps,
            new_taker_fee_bps: fees.taker_fee_bps,
        }));
        Ok(())
    }

    pub(super) fn set_tier_limits(&mut self, tier: u8, max_open_orders: u32) -> Result<(), RejectReason> {
        if tier as usize >= MAX_FEE_TIERS {
            return Err(InvalidTier);
        }
        let old = self.tier_limits[tier as usize];
        self.tier_limits[tier as usize] = max_open_orders;
        self.emit(EventBody::TierLimitsChanged {
            tier,
            old_max_open_orders: old,
            new_max_open_orders: max_open_orders,
        });
        Ok(())
    }

    pub(super) fn create_account(&mut self, account: AccountId, fee_tier: u8) -> Result<(), RejectReason> {
        if account >= self.config.max_accounts {
            return Err(AccountCapacity);
        }
        if self.accounts.contains_key(&account) {
            return Err(AccountExists);
        }
        if fee_tier as usize >= MAX_FEE_TIERS {
            return Err(InvalidTier);
        }
        self.accounts.insert(account, Account { status: AccountStatus::Active, fee_tier });
        self.emit(EventBody::AccountCreated { account, fee_tier });
        Ok(())
    }

    pub(super) fn set_account_status(&mut self, account: AccountId, status: AccountStatus) -> Result<(), RejectReason> {
        let entry = self.accounts.get_mut(&account).ok_or(UnknownAccount)?;
        let old = entry.status;
        entry.status = status;
        self.emit(EventBody::AccountStatusChanged { account, old, new: status });
        Ok(())
    }

    pub(super) fn set_account_fee_tier(&mut self, account: AccountId, fee_tier: u8) -> Result<(), RejectReason> {
        let entry = self.accounts.get_mut(&account).ok_or(UnknownAccount)?;
        if fee_tier as usize >= MAX_FEE_TIERS {
            return Err(InvalidTier);
        }
        let old = entry.fee_tier;
        entry.fee_tier = fee_tier;
        self.emit(EventBody::AccountFeeTierChanged { account, old, new: fee_tier });
        Ok(())
    }

    pub(super) fn adjust_balance(&mut self, adjust: &AdjustBalance) -> Result<(), RejectReason> {
        let account = *self.accounts.get(&adjust.account).ok_or(UnknownAccount)?;
        let asset = *self.assets.get(&adjust.asset).ok_or(UnknownAsset)?;
        if adjust.amount == 0 {
            return Err(ZeroAmount);
        }
        if adjust.ref_id == 0 {
            return Err(InvalidReference);
        }
        if self.dedup_set.contains(&adjust.ref_id) {
            return Err(DuplicateReference);
        }
        let key = (adjust.account, adjust.asset);
        let cause = if adjust.amount < 0 {
            if account.status == AccountStatus::Frozen {
                return Err(AccountFrozen);
            }
            // i128: the negation of i64::MIN does not fit i64.
            if (self.available(adjust.account, adjust.asset) as i128) < -(adjust.amount as i128) {
                return Err(InsufficientFunds);
            }
            BalanceCause::Withdrawal
        } else {
            if asset.supply.checked_add(adjust.amount).is_none() {
                return Err(BalanceOverflow);
            }
            if !self.balances.contains_key(&key) && self.balances.len() >= self.config.max_balances as usize {
                return Err(BalanceCapacity);
            }
            BalanceCause::Deposit
        };
        self.assets.get_mut(&adjust.asset).expect("checked above").supply += adjust.amount;
        self.change_balance(adjust.account, adjust.asset, cause, adjust.ref_id, adjust.amount, 0);
        self.remember_ref_id(adjust.ref_id);
        Ok(())
    }

    /// Adds an applied ref id to the dedup window, evicting the oldest when it is full. A
    /// window of 0 remembers nothing.
    fn remember_ref_id(&mut self, ref_id: u64) {
        let window = self.config.adjust_dedup_window as usize;
        if window == 0 {
            return;
        }
        if self.dedup.len() >= window {
            let oldest = self.dedup.pop_front().expect("a full window is not empty");
            self.dedup_set.remove(&oldest);
        }
        self.dedup.push_back(ref_id);
        self.dedup_set.insert(ref_id);
    }
}

/// The spec's consistency rules; returns `quote_per_tick_lot` when they hold.
fn consistent_spec(spec: &SymbolSpec, base_scale: u8) -> Option<i64> {
    if spec.base == spec.quote || spec.tick_size <= 0 || spec.lot_size <= 0 {
        return None;
    }
    let k = quote_per_tick_lot(spec.tick_size, spec.lot_size, base_scale)?;
    let sizes_ok = 0 < spec.min_qty
        && spec.min_qty <= spec.max_qty
        && spec.min_qty % spec.lot_size == 0
        && spec.max_qty % spec.lot_size == 0;
    let band_ok = (1..=BPS_DENOMINATOR as u32).contains(&spec.price_band_bps);
    let reference_ok = spec.reference_price >= 0 && spec.reference_price % spec.tick_size == 0;
    (k > 0 && sizes_ok && spec.min_notional >= 0 && band_ok && reference_ok).then_some(k)
}
