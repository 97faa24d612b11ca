//! Integer money arithmetic shared by both engines. Every rounding favours the exchange:
//! fees and fee reserves round up, quantities bought with a quote budget round down.

use crate::types::{BPS_DENOMINATOR, MAX_FEE_BPS};

/// `ticks × lots × quote_per_tick_lot` in quote minor units, or `None` if it leaves i64 or
/// is negative.
pub fn notional(ticks: i64, lots: i64, quote_per_tick_lot: i64) -> Option<i64> {
    let value = (ticks as i128).checked_mul(lots as i128)?.checked_mul(quote_per_tick_lot as i128)?;
    i64::try_from(value).ok().filter(|v| *v >= 0)
}

/// `ceil(amount × bps / 10_000)` for a non-negative amount: the fee on `amount`.
pub fn fee_ceil(amount: i64, bps: u16) -> i64 {
    debug_assert!(amount >= 0);
    debug_assert!(bps <= MAX_FEE_BPS);
    let denominator = BPS_DENOMINATOR as u64;
    // The common case fits in u64, where division by a constant is a multiply and a shift.
    if let Some(scaled) = (amount as u64).checked_mul(bps as u64) {
        return scaled.div_ceil(denominator) as i64;
    }
    let scaled = (amount as u128) * (bps as u128);
    // Fits: bps ≤ 1000, so the result is at most amount / 10.
    scaled.div_ceil(denominator as u128) as i64
}

/// What a buy must hold in quote for `lots` at `ticks`: the notional plus the taker fee at
/// `fee_bps`, rounded up. `None` on overflow.
pub fn buy_reserve(ticks: i64, lots: i64, quote_per_tick_lot: i64, fee_bps: u16) -> Option<i64> {
    let value = notional(ticks, lots, quote_per_tick_lot)?;
    value.checked_add(fee_ceil(value, fee_bps))
}

/// Highest price, in ticks, the band allows above `last_ticks`: `floor(last × (1 + band))`.
pub fn band_high(last_ticks: i64, band_bps: u32) -> i64 {
    let value = (last_ticks as i128) * (BPS_DENOMINATOR as i128 + band_bps as i128) / BPS_DENOMINATOR as i128;
    value.min(i64::MAX as i128) as i64
}

/// Lowest price, in ticks, the band allows below `last_ticks`: `ceil(last × (1 − band))`,
/// never below one tick.
pub fn band_low(last_ticks: i64, band_bps: u32) -> i64 {
    let numerator = (last_ticks as i128) * (BPS_DENOMINATOR as i128 - band_bps as i128);
    let denominator = BPS_DENOMINATOR as i128;
    let value = (numerator + denominator - 1).div_euclid(denominator);
    value.max(1) as i64
}

/// Whether `ticks` is within the band around `last_ticks`; everything is, before any price.
/// Equivalent to `band_low ≤ ticks ≤ band_high` for positive ticks, without dividing.
pub fn within_band(ticks: i64, last_ticks: i64, band_bps: u32) -> bool {
    if last_ticks == 0 {
        return true;
    }
    let scaled = ticks as i128 * BPS_DENOMINATOR as i128;
    let low = last_ticks as i128 * (BPS_DENOMINATOR as i128 - band_bps as i128);
    let high = last_ticks as i128 * (BPS_DENOMINATOR as i128 + band_bps as i128);
    ticks >= 1 && scaled >= low && scaled <= high
}

/// `10^exponent` for exponents up to 18.
pub fn pow10(exponent: u8) -> i64 {
    debug_assert!(exponent <= 18);
    10i64.pow(exponent as u32)
}

/// Quote minor units in one lot at one tick, when that is a positive whole number.
pub fn quote_per_tick_lot(tick_size: i64, lot_size: i64, base_scale: u8) -> Option<i64> {
    let product = (tick_size as i128) * (lot_size as i128);
    let base_unit = pow10(base_scale) as i128;
    if tick_size <= 0 || lot_size <= 0 || product % base_unit != 0 {
        return None;
    }
    i64::try_from(product / base_unit).ok()
}
