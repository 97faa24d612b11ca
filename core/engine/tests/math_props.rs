//! Properties of the money arithmetic in `math.rs`: every rounding favours the exchange, and
//! a buy filled below its limit always gets a non-negative refund.

use cex_engine::math::*;
use proptest::prelude::*;

const MAX_BPS: u16 = 1_000;
const BPS: i128 = 10_000;

/// Amounts across the whole range, with small ones (where rounding matters most) common.
fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![0..=1_000_000i64, 0..=i64::MAX]
}

/// Powers of ten times a small factor, so tick × lot is often a multiple of 10^scale.
fn round_increment() -> impl Strategy<Value = i64> {
    (1..=1_000i64, 0..=15u32).prop_map(|(factor, exponent)| factor * 10i64.pow(exponent))
}

fn increment() -> impl Strategy<Value = i64> {
    prop_oneof![round_increment(), any::<i64>()]
}

fn positive_increment() -> impl Strategy<Value = i64> {
    prop_oneof![round_increment(), 1..=i64::MAX]
}

/// Three signed factors whose product fits i128 (at most 126 bits of magnitude in all), of
/// every size, so products land on both sides of the i64 limits.
fn factors() -> impl Strategy<Value = (i64, i64, i64)> {
    let within = |bits: u32| {
        let magnitude = if bits >= 63 { i64::MAX } else { (1i64 << bits) - 1 };
        -magnitude..=magnitude
    };
    (0..=63u32, 0..=63u32, 0..=63u32)
        .prop_filter("product must fit i128", |(a, b, c)| a + b + c <= 126)
        .prop_flat_map(move |(a, b, c)| (within(a), within(b), within(c)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_096))]

    #[test]
    fn fee_is_the_smallest_amount_covering_the_rate(amount in amount(), bps in 0..=MAX_BPS) {
        let fee = fee_ceil(amount, bps) as i128;
        let owed = amount as i128 * bps as i128;
        prop_assert!(fee * BPS >= owed, "fee {fee} does not cover {owed}");
        prop_assert!(fee == 0 || (fee - 1) * BPS < owed, "fee {fee} is not the smallest");
        prop_assert!((0..=amount as i128 / 10 + 1).contains(&fee));
    }

    #[test]
    fn fee_grows_with_amount_and_rate(a in amount(), b in amount(), x in 0..=MAX_BPS, y in 0..=MAX_BPS) {
        let (low, high) = (a.min(b), a.max(b));
        let (cheap, dear) = (x.min(y), x.max(y));
        prop_assert!(fee_ceil(low, cheap) <= fee_ceil(high, cheap));
        prop_assert!(fee_ceil(low, cheap) <= fee_ceil(low, dear));
    }

    #[test]
    fn a_buy_reserve_covers_its_notional(
        ticks in 1..=1_000_000_000i64,
        lots in 0..=1_000_000i64,
        k in 1..=1_000i64,
        bps in 0..=MAX_BPS,
    ) {
        let notional = notional(ticks, lots, k).unwrap();
        let reserve = buy_reserve(ticks, lots, k, bps).unwrap();
        prop_assert_eq!(reserve, notional + fee_ceil(notional, bps));
        prop_assert!(reserve >= notional);
    }

    /// Filling `d` of `r` lots at `price ≤ limit` releases at least the notional paid, so
    /// the buyer's refund is never negative.
    #[test]
    fn releasing_filled_lots_covers_any_fill_at_or_below_the_limit(
        limit in 1..=1_000_000_000i64,
        price_fraction in 0.0..=1.0f64,
        remaining in 1..=1_000_000i64,
        fill_fraction in 0.0..=1.0f64,
        k in 1..=1_000i64,
        bps in 0..=MAX_BPS,
    ) {
        let price = ((limit as f64 * price_fraction) as i64).clamp(1, limit);
        let filled = ((remaining as f64 * fill_fraction) as i64).clamp(1, remaining);
        let before = buy_reserve(limit, remaining, k, bps).unwrap();
        let after = buy_reserve(limit, remaining - filled, k, bps).unwrap();
        let paid = notional(price, filled, k).unwrap();
        prop_assert!(before - after >= paid, "released {} < paid {paid}", before - after);
    }

    #[test]
    fn a_buy_reserve_is_none_exactly_on_overflow((ticks, lots, k) in factors(), bps in 0..=MAX_BPS) {
        let notional = ticks as i128 * lots as i128 * k as i128;
        let expected = (0..=i64::MAX as i128)
            .contains(&notional)
            .then(|| notional + (notional * bps as i128 + BPS - 1).div_euclid(BPS))
            .filter(|reserve| *reserve <= i64::MAX as i128)
            .map(|reserve| reserve as i64);
        prop_assert_eq!(buy_reserve(ticks, lots, k, bps), expected);
    }

    #[test]
    fn the_band_brackets_the_last_price(last in 1..=i64::MAX, band in 1..=10_000u32) {
        let (low, high) = (band_low(last, band), band_high(last, band));
        prop_assert!(1 <= low && low <= last && last <= high);
        let scaled_high = last as i128 * (BPS + band as i128);
        let scaled_low = last as i128 * (BPS - band as i128);
        // Exact floor and ceil, unless clamped to i64 or to one tick.
        prop_assert!(high == i64::MAX || (high as i128 * BPS <= scaled_high && scaled_high < (high as i128 + 1) * BPS));
        prop_assert!(low == 1 || ((low as i128 - 1) * BPS < scaled_low && scaled_low <= low as i128 * BPS));
    }

    #[test]
    fn within_band_agrees_with_the_bounds(ticks in any::<i64>(), last in 0..=i64::MAX, band in 1..=10_000u32) {
        let inside = last == 0 || (band_low(last, band) <= ticks && ticks <= band_high(last, band));
        prop_assert_eq!(within_band(ticks, last, band), inside);
        prop_assert!(within_band(ticks, 0, band));
    }

    #[test]
    fn quote_per_tick_lot_is_exact_when_some(tick in increment(), lot in increment(), scale in 0..=18u8) {
        let product = tick as i128 * lot as i128;
        let unit = 10i128.pow(scale as u32);
        let whole = product > 0 && product % unit == 0 && product / unit <= i64::MAX as i128;
        match quote_per_tick_lot(tick, lot, scale) {
            Some(k) => {
                prop_assert!(whole);
                prop_assert!(k > 0);
                prop_assert_eq!(k as i128 * unit, product);
            }
            None => prop_assert!(!whole, "{tick} × {lot} / 10^{scale} is a positive integer"),
        }
    }

    /// Beyond i128 the function itself would overflow; no caller gets there (see below).
    #[test]
    fn notional_is_none_exactly_outside_i64((ticks, lots, k) in factors()) {
        let product = ticks as i128 * lots as i128 * k as i128;
        let fits = (0..=i64::MAX as i128).contains(&product);
        prop_assert_eq!(notional(ticks, lots, k), fits.then_some(product as i64));
    }

    /// The engine only calls `notional` with `ticks = price / tick`, `lots = qty / lot` and
    /// `k = tick × lot / 10^scale`, so the product is at most `price × qty < 2^126`.
    #[test]
    fn engine_inputs_never_overflow_i128(
        price in 1..=i64::MAX,
        qty in 1..=i64::MAX,
        tick in positive_increment(),
        lot in positive_increment(),
        scale in 0..=18u8,
    ) {
        let Some(k) = quote_per_tick_lot(tick, lot, scale) else { return Ok(()) };
        let (ticks, lots) = (price / tick, qty / lot);
        let product = (ticks as i128).checked_mul(lots as i128).and_then(|p| p.checked_mul(k as i128));
        prop_assert!(product.is_some());
        let _ = notional(ticks, lots, k);
    }
}
