//! Reference data, accounts and balance adjustments: the slow, rare commands.

use super::sorted_index::SortedIndex;
use super::state::*;
use super::{Engine, Out};
use crate::command::{AddAsset, AdjustBalance, SymbolFees, SymbolSpec};
use crate::event::{EventBody, EventSink, SymbolFeesChanged};
use crate::math;
use crate::reject::RejectReason::{self, *};
use crate::types::*;

type Outcome = Result<(), RejectReason>;

impl Engine {
    pub(super) fn add_asset<S: EventSink>(&mut self, add: AddAsset, out: &mut Out<S>) -> Outcome {
        let state = self.assets.get_mut(add.asset as usize).ok_or(AssetCapacity)?;
        if state.exists {
            return Err(AssetExists);
        }
        if add.scale > MAX_ASSET_SCALE {
            return Err(InvalidAssetScale);
        }
        *state = AssetState { exists: true, scale: add.scale, fees_collected: 0, supply: 0 };
        out.emit(EventBody::AssetAdded { asset: add.asset, scale: add.scale });
        Ok(())
    }

    pub(super) fn add_symbol<S: EventSink>(&mut self, spec: SymbolSpec, out: &mut Out<S>) -> Outcome {
        let slot = self.symbols.get(spec.symbol as usize).ok_or(SymbolCapacity)?;
        if slot.is_some() {
            return Err(SymbolExists);
        }
        if !self.asset_exists(spec.base) || !self.asset_exists(spec.quote) {
            return Err(UnknownAsset);
        }
        if spec.maker_fee_bps > MAX_FEE_BPS || spec.taker_fee_bps > MAX_FEE_BPS {
            return Err(InvalidFee);
        }
        let base_scale = self.assets[spec.base as usize].scale;
        let quote_per_tick_lot = validate_spec(&spec, base_scale).ok_or(InvalidSymbolSpec)?;
        let levels = self.config.max_levels_per_side as usize;
        let stops = self.config.max_stops_per_side as usize;
        self.symbols[spec.symbol as usize] = Some(SymbolState {
            spec,
            quote_per_tick_lot,
            status: SymbolStatus::Trading,
            last_price: spec.reference_price / spec.tick_size,
            fees: [(spec.maker_fee_bps, spec.taker_fee_bps); MAX_FEE_TIERS],
            bids: SortedIndex::with_capacity(levels),
            asks: SortedIndex::with_capacity(levels),
            buy_stops: SortedIndex::with_capacity(stops),
            sell_stops: SortedIndex::with_capacity(stops),
        });
        out.emit(EventBody::SymbolAdded(spec));
        Ok(())
    }

    pub(super) fn set_symbol_status<S: EventSink>(
        &mut self,
        symbol: SymbolId,
        status: SymbolStatus,
        out: &mut Out<S>,
    ) -> Outcome {
        let old = self.symbol_state(symbol)?.status;
        if old == SymbolStatus::Delisted {
            return Err(InvalidStatusTransition);
        }
        self.symbol_mut(symbol).status = status;
        out.emit(EventBody::SymbolStatusChanged { symbol, old, new: status });
        if matches!(status, SymbolStatus::Suspended | SymbolStatus::Delisted) {
            self.cancel_symbol_orders(symbol, out);
        }
        Ok(())
    }

    pub(super) fn set_symbol_fees<S: EventSink>(&mut self, fees: SymbolFees, out: &mut Out<S>) -> Outcome {
        self.symbol_state(fees.symbol)?;
        if fees.tier as usize >= MAX_FEE_TIERS {
            return Err(InvalidTier);
        }
        if fees.maker_fee_bps > MAX_FEE_BPS || fees.taker_fee_bps > MAX_FEE_BPS {
            return Err(InvalidFee);
        }
        let entry = &mut self.symbol_mut(fees.symbol).fees[fees.tier as usize];
        let (old_maker_fee_bps, old_taker_fee_bps) = *entry;
        *entry = (fees.maker_fee_bps, fees.taker_fee_bps);
        out.emit(EventBody::SymbolFeesChanged(SymbolFeesChanged {
            symbol: fees.symbol,
            tier: fees.tier,
            old_maker_fee_bps,
            old_taker_fee_bps,
            new_maker_fee_bps: fees.maker_fee_bps,
            new_taker_fee_bps: fees.taker_fee_bps,
        }));
        Ok(())
    }

    pub(super) fn set_tier_limits<S: EventSink>(
        &mut self,
        tier: u8,
        max_open_orders: u32,
        out: &mut Out<S>,
    ) -> Outcome {
        let limit = self.tier_max_open_orders.get_mut(tier as usize).ok_or(InvalidTier)?;
        let old = std::mem::replace(limit, max_open_orders);
        out.emit(EventBody::TierLimitsChanged { tier, old_max_open_orders: old, new_max_open_orders: max_open_orders });
        Ok(())
    }

    pub(super) fn create_account<S: EventSink>(
        &mut self,
        account: AccountId,
        fee_tier: u8,
        out: &mut Out<S>,
    ) -> Outcome {
        let state = self.accounts.get_mut(account as usize).ok_or(AccountCapacity)?;
        if state.exists {
            return Err(AccountExists);
        }
        if fee_tier as usize >= MAX_FEE_TIERS {
            return Err(InvalidTier);
        }
        *state = AccountState { exists: true, fee_tier, ..AccountState::default() };
        out.emit(EventBody::AccountCreated { account, fee_tier });
        Ok(())
    }

    pub(super) fn set_account_status<S: EventSink>(
        &mut self,
        account: AccountId,
        status: AccountStatus,
        out: &mut Out<S>,
    ) -> Outcome {
        let old = self.account(account)?.status;
        self.accounts[account as usize].status = status;
        out.emit(EventBody::AccountStatusChanged { account, old, new: status });
        Ok(())
    }

    pub(super) fn set_account_fee_tier<S: EventSink>(
        &mut self,
        account: AccountId,
        tier: u8,
        out: &mut Out<S>,
    ) -> Outcome {
        let old = self.account(account)?.fee_tier;
        if tier as usize >= MAX_FEE_TIERS {
            return Err(InvalidTier);
        }
        self.accounts[account as usize].fee_tier = tier;
        out.emit(EventBody::AccountFeeTierChanged { account, old, new: tier });
        Ok(())
    }

    pub(super) fn adjust_balance<S: EventSink>(&mut self, adjust: AdjustBalance, out: &mut Out<S>) -> Outcome {
        let status = self.account(adjust.account)?.status;
        if !self.asset_exists(adjust.asset) {
            return Err(UnknownAsset);
        }
        if adjust.amount == 0 {
            return Err(ZeroAmount);
        }
        if adjust.ref_id == 0 {
            return Err(InvalidReference);
        }
        if self.dedup_index.contains(&adjust.ref_id) {
            return Err(DuplicateReference);
        }
        let cause = if adjust.amount > 0 {
            self.check_credit(adjust)?;
            BalanceCause::Deposit
        } else {
            if status == AccountStatus::Frozen {
                return Err(AccountFrozen);
            }
            let available = self.balance_available(adjust.account, adjust.asset);
            if adjust.amount == i64::MIN || available < -adjust.amount {
                return Err(InsufficientFunds);
            }
            BalanceCause::Withdrawal
        };
        let record = self.ensure_balance(adjust.account, adjust.asset);
        self.assets[adjust.asset as usize].supply += adjust.amount;
        self.remember_reference(adjust.ref_id);
        self.change_balance(record, adjust.amount, 0, cause, adjust.ref_id, out);
        Ok(())
    }

    fn check_credit(&self, adjust: AdjustBalance) -> Outcome {
        if self.assets[adjust.asset as usize].supply.checked_add(adjust.amount).is_none() {
            return Err(BalanceOverflow);
        }
        let missing = self.missing_records(adjust.account, &[adjust.asset]);
        if !self.has_record_room(missing) {
            return Err(BalanceCapacity);
        }
        Ok(())
    }

    pub(super) fn remember_reference(&mut self, ref_id: u64) {
        let window = self.config.adjust_dedup_window as usize;
        if window == 0 {
            return;
        }
        if self.dedup_ring.len() < window {
            self.dedup_ring.push(ref_id);
        } else {
            let evicted = std::mem::replace(&mut self.dedup_ring[self.dedup_next], ref_id);
            self.dedup_index.remove(&evicted);
            self.dedup_next = (self.dedup_next + 1) % window;
        }
        self.dedup_index.insert(ref_id, 0);
    }

    /// Applied reference ids, oldest first.
    pub(super) fn dedup_window(&self) -> impl Iterator<Item = u64> + '_ {
        let (newer, older) = self.dedup_ring.split_at(self.dedup_next);
        older.iter().chain(newer).copied()
    }
}

/// The symbol's `quote_per_tick_lot` if its rules are consistent.
pub(super) fn validate_spec(spec: &SymbolSpec, base_scale: u8) -> Option<i64> {
    let lot = spec.lot_size;
    let consistent = spec.base != spec.quote
        && spec.tick_size > 0
        && lot > 0
        && spec.min_qty > 0
        && spec.min_qty <= spec.max_qty
        && spec.min_qty % lot == 0
        && spec.max_qty % lot == 0
        && spec.min_notional >= 0
        && (1..=BPS_DENOMINATOR as u32).contains(&spec.price_band_bps)
        && spec.reference_price >= 0
        && spec.reference_price % spec.tick_size == 0;
    if !consistent {
        return None;
    }
    math::quote_per_tick_lot(spec.tick_size, lot, base_scale)
}
