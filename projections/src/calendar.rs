//! UTC calendar arithmetic on milliseconds since the Unix epoch, for month-long klines.
//! Proleptic Gregorian, any i64 input; results saturate at the ends of i64 instead of
//! overflowing.

pub const MS_PER_DAY: i64 = 86_400_000;

const DAYS_PER_400_YEARS: i64 = 146_097;

fn is_leap_year(year: i64) -> bool {
    year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0)
}

fn month_length(year: i64, month: u32) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Leap days in the years before `year`, counted from year 0.
fn leap_days_before(year: i64) -> i64 {
    let previous = year - 1;
    previous.div_euclid(4) - previous.div_euclid(100) + previous.div_euclid(400) + 1
}

/// Days from 1970-01-01 to January 1st of `year`.
fn days_before_year(year: i64) -> i64 {
    365 * (year - 1970) + leap_days_before(year) - leap_days_before(1970)
}

/// The year and month (1 to 12) of a day counted from 1970-01-01.
fn year_month_of_day(day: i64) -> (i64, u32) {
    // The 400-year average gives the year to within one either way.
    let mut year = 1970 + (day * 400).div_euclid(DAYS_PER_400_YEARS);
    while days_before_year(year) > day {
        year -= 1;
    }
    while days_before_year(year + 1) <= day {
        year += 1;
    }
    let mut day_of_year = day - days_before_year(year);
    let mut month = 1;
    while day_of_year >= month_length(year, month) {
        day_of_year -= month_length(year, month);
        month += 1;
    }
    (year, month)
}

fn month_start_day(year: i64, month: u32) -> i64 {
    days_before_year(year) + (1..month).map(|earlier| month_length(year, earlier)).sum::<i64>()
}

/// Midnight UTC of the first day of the month holding `time_ms`.
pub fn month_start_ms(time_ms: i64) -> i64 {
    let (year, month) = year_month_of_day(time_ms.div_euclid(MS_PER_DAY));
    month_start_day(year, month).saturating_mul(MS_PER_DAY)
}

/// Midnight UTC of the first day of the month after the one holding `time_ms`.
pub fn next_month_start_ms(time_ms: i64) -> i64 {
    let (year, month) = year_month_of_day(time_ms.div_euclid(MS_PER_DAY));
    let (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    month_start_day(year, month).saturating_mul(MS_PER_DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn day(days: i64) -> i64 {
        days * MS_PER_DAY
    }

    #[test]
    fn known_month_starts() {
        // 2024-02-29 12:00 UTC lies in February 2024, which starts at 1706745600 s.
        let leap_day_noon = 1_709_208_000_000;
        assert_eq!(month_start_ms(leap_day_noon), 1_706_745_600_000);
        assert_eq!(next_month_start_ms(leap_day_noon), 1_709_251_200_000);
        // December 1999 rolls into the year 2000.
        assert_eq!(month_start_ms(946_684_799_999), 944_006_400_000);
        assert_eq!(next_month_start_ms(946_684_799_999), 946_684_800_000);
        assert_eq!(month_start_ms(0), 0);
        assert_eq!(next_month_start_ms(0), day(31));
        assert_eq!(month_start_ms(-1), -day(31));
    }

    #[test]
    fn walking_month_by_month_agrees_with_the_month_lengths() {
        let mut start = month_start_ms(day(-800 * 365));
        for _ in 0..12 * 1_000 {
            let next = next_month_start_ms(start);
            assert_eq!(month_start_ms(next - 1), start);
            assert_eq!(month_start_ms(next), next);
            assert!(matches!((next - start) / MS_PER_DAY, 28..=31));
            start = next;
        }
    }

    #[test]
    fn century_leap_rules() {
        assert!(is_leap_year(2000) && is_leap_year(2024) && is_leap_year(1600));
        assert!(!is_leap_year(1900) && !is_leap_year(2100) && !is_leap_year(2023));
        assert_eq!(days_before_year(2000), 10_957);
        assert_eq!(days_before_year(1970), 0);
    }

    #[test]
    fn extreme_times_saturate() {
        // The month holding i64::MAX starts less than 31 days before it; the next cannot be
        // represented.
        assert!(i64::MAX - month_start_ms(i64::MAX) < day(31));
        assert_eq!(next_month_start_ms(i64::MAX), i64::MAX);
        assert_eq!(month_start_ms(i64::MIN), i64::MIN);
        assert!(next_month_start_ms(i64::MIN) - i64::MIN < day(31));
    }
}
