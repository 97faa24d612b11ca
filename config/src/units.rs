//! Decimal amounts in whole units ("0.01") to and from integer minor units (10_000 at scale 6).
//!
//! The engine counts every amount in minor units: a price in quote minor units per whole base
//! unit (so a price converts with the quote asset's scale), a quantity in base minor units, a
//! notional in quote minor units. Conversion is exact or refused: nothing is ever rounded.

use std::fmt;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// Why a decimal text is not a whole number of minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitsError {
    /// Not a plain decimal: digits with at most one point and an optional sign.
    NotANumber,
    /// More decimal places than the scale: not a whole number of minor units.
    TooPrecise,
    /// The count of minor units does not fit in an `i64`.
    Overflow,
    /// The scale is above `cex_engine::MAX_ASSET_SCALE`.
    BadScale,
}

impl fmt::Display for UnitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnitsError::NotANumber => "not a decimal number",
            UnitsError::TooPrecise => "not a whole number of minor units",
            UnitsError::Overflow => "too large for an i64 count of minor units",
            UnitsError::BadScale => "the scale is above 18",
        })
    }
}

impl std::error::Error for UnitsError {}

/// `text` (e.g. `"0.01"`, `"-3"`, `"1000"`) in minor units of an asset with `scale` decimals:
/// `to_minor_units("0.01", 6) == Ok(10_000)`. The text is a plain decimal: an optional sign,
/// digits, and at most one point with digits on both sides. No exponent, no separators, no
/// surrounding spaces. Trailing zeros beyond the scale are fine (`"0.010"` at scale 2).
pub fn to_minor_units(text: &str, scale: u8) -> Result<i64, UnitsError> {
    if scale > cex_engine::MAX_ASSET_SCALE {
        return Err(UnitsError::BadScale);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !fraction.is_none_or(all_digits) {
        return Err(UnitsError::NotANumber);
    }
    let fraction = fraction.unwrap_or("");
    // Zeros past the scale do not change the value; anything else does not fit a minor unit.
    let significant = fraction.trim_end_matches('0');
    if significant.len() > scale as usize {
        return Err(UnitsError::TooPrecise);
    }
    // A Decimal holds 28 digits exactly. A value with more, given at most `scale` (≤ 18)
    // significant decimals, has at least 11 whole digits: ≥ 10^28 minor units, past i64 anyway.
    let whole = whole.trim_start_matches('0');
    let sign = if text.starts_with('-') { "-" } else { "" };
    let whole = if whole.is_empty() { "0" } else { whole };
    let exact = if significant.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}.{significant}") };
    let value = Decimal::from_str_exact(&exact).map_err(|_| UnitsError::Overflow)?;
    let units = value.checked_mul(Decimal::from(10i64.pow(scale as u32))).ok_or(UnitsError::Overflow)?;
    debug_assert!(units.fract().is_zero());
    units.to_i64().ok_or(UnitsError::Overflow)
}

/// `units` minor units at `scale` as the shortest decimal text: `format_minor_units(10_000, 6)
/// == "0.01"`, `format_minor_units(-5_000_000, 6) == "-5"`.
pub fn format_minor_units(units: i64, scale: u8) -> String {
    let scale = scale.min(cex_engine::MAX_ASSET_SCALE) as u32;
    Decimal::from_i128_with_scale(units as i128, scale).normalize().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_exactly() {
        assert_eq!(to_minor_units("0.01", 6), Ok(10_000));
        assert_eq!(to_minor_units("0.00001", 8), Ok(1_000));
        assert_eq!(to_minor_units("5", 6), Ok(5_000_000));
        assert_eq!(to_minor_units("0", 8), Ok(0));
        assert_eq!(to_minor_units("-1.5", 1), Ok(-15));
        assert_eq!(to_minor_units("+2", 0), Ok(2));
        assert_eq!(to_minor_units("0.0100", 2), Ok(1));
        assert_eq!(to_minor_units("007.5", 1), Ok(75));
        assert_eq!(to_minor_units("9", 18), Ok(9 * 10i64.pow(18)));
    }

    #[test]
    fn refuses_rounding() {
        assert_eq!(to_minor_units("0.001", 2), Err(UnitsError::TooPrecise));
        assert_eq!(to_minor_units("0.5", 0), Err(UnitsError::TooPrecise));
        assert_eq!(to_minor_units("0.000000000000000000000000000000001", 18), Err(UnitsError::TooPrecise));
    }

    #[test]
    fn refuses_overflow() {
        // i64::MAX is 9_223_372_036_854_775_807.
        assert_eq!(to_minor_units("9223372036854775807", 0), Ok(i64::MAX));
        assert_eq!(to_minor_units("-9223372036854775808", 0), Ok(i64::MIN));
        assert_eq!(to_minor_units("9223372036854775808", 0), Err(UnitsError::Overflow));
        assert_eq!(to_minor_units("10", 18), Err(UnitsError::Overflow));
        assert_eq!(to_minor_units("92233720368.54775808", 8), Err(UnitsError::Overflow));
        assert_eq!(to_minor_units("1000000000000000000000000000000000000", 2), Err(UnitsError::Overflow));
        assert_eq!(to_minor_units("1", 19), Err(UnitsError::BadScale));
    }

    #[test]
    fn refuses_what_is_not_a_plain_decimal() {
        for text in ["", "-", ".5", "5.", "1e3", "1_000", " 1", "1 ", "0x10", "1.2.3", "--1", "abc", "NaN", "∞"] {
            assert_eq!(to_minor_units(text, 6), Err(UnitsError::NotANumber), "{text:?}");
        }
    }

    #[test]
    fn formats_back() {
        assert_eq!(format_minor_units(10_000, 6), "0.01");
        assert_eq!(format_minor_units(5_000_000, 6), "5");
        assert_eq!(format_minor_units(-1_000, 8), "-0.00001");
        assert_eq!(format_minor_units(0, 8), "0");
        assert_eq!(format_minor_units(i64::MAX, 0), "9223372036854775807");
        for (text, scale) in [("0.01", 6), ("123.456", 3), ("-7", 8), ("0.00000001", 8)] {
            assert_eq!(format_minor_units(to_minor_units(text, scale).unwrap(), scale), text);
        }
    }
}
