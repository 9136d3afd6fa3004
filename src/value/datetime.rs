//! PostgreSQL dates and timestamps as Arrow `Date32` and `Timestamp(Microsecond)` values.
//!
//! PostgreSQL counts days (a date) and microseconds (a timestamp, with or without time zone)
//! from 2000-01-01; Arrow from 1970-01-01, so finite values shift by the epochs' difference.
//! `-infinity` and `infinity` are the type's minimum and maximum in PostgreSQL
//! (`DATEVAL_NOBEGIN`/`DATEVAL_NOEND`, `DT_NOBEGIN`/`DT_NOEND`) and stay the minimum and maximum
//! of the Arrow type, unshifted: below and above every finite value, equal to themselves, so
//! comparisons, sorting, grouping, joins, DISTINCT and min/max in DataFusion order and match
//! them as PostgreSQL does. Nothing DataFusion computes does arithmetic on them: the one place
//! where it would (a RANGE frame's offset added to its ORDER BY key) refuses them at run time
//! (`plan::udf::RangeKey`).
//!
//! Invariant: a finite value never converts to an extreme. Finite dates cannot (PostgreSQL's
//! last date, 5874897-12-31, is far from `i32::MAX` after the shift); the timestamps of
//! PostgreSQL's last 30 years (from 294247-01-10 04:00:54.775807 on) do not fit Arrow's range
//! after the shift and are refused ([`timestamp_to_arrow`] gives None).

/// Days from 1970-01-01 (Arrow's epoch) to 2000-01-01 (PostgreSQL's).
pub const PG_EPOCH_DAYS: i32 = 10957;
/// Microseconds between the same two epochs.
pub const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Microseconds in a day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;
/// 4714-11-24 BC, PostgreSQL's first day (Julian day 0), in days from 1970-01-01.
pub const FIRST_DAY: i64 = -2_451_545 + PG_EPOCH_DAYS as i64;
/// 262142-12-31, the last day Arrow's date and interval arithmetic reaches (through chrono), in
/// days from 1970-01-01.
pub const LAST_DAY: i64 = 95_026_236;

/// A PostgreSQL date (`DateADT`) as Date32; None for a finite date beyond the range.
pub fn date_to_arrow(d: i32) -> Option<i32> {
    match d {
        i32::MIN | i32::MAX => Some(d),
        _ => d.checked_add(PG_EPOCH_DAYS).filter(|&v| v != i32::MIN && v != i32::MAX),
    }
}

/// A Date32 as a PostgreSQL date; None where PostgreSQL has no such date.
pub fn date_from_arrow(v: i32) -> Option<i32> {
    match v {
        i32::MIN | i32::MAX => Some(v),
        _ => v.checked_sub(PG_EPOCH_DAYS).filter(|&d| d != i32::MIN && d != i32::MAX),
    }
}

/// A PostgreSQL timestamp or timestamptz (`Timestamp`, microseconds) as Timestamp(µs); None for
/// a finite value past Arrow's range (PostgreSQL's last 30 years).
pub fn timestamp_to_arrow(t: i64) -> Option<i64> {
    match t {
        i64::MIN | i64::MAX => Some(t),
        _ => t.checked_add(PG_EPOCH_MICROS).filter(|&v| v != i64::MIN && v != i64::MAX),
    }
}

/// A Timestamp(µs) as a PostgreSQL timestamp; None where PostgreSQL has no such value.
pub fn timestamp_from_arrow(v: i64) -> Option<i64> {
    match v {
        i64::MIN | i64::MAX => Some(v),
        _ => v.checked_sub(PG_EPOCH_MICROS).filter(|&t| t != i64::MIN && t != i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinities_stay_extremes_and_finite_values_shift() {
        for d in [i32::MIN, i32::MAX, 0, -1, 1, -2_451_545, 2_145_031_948] {
            let a = date_to_arrow(d);
            assert_eq!(a.and_then(date_from_arrow), Some(d), "{d}");
        }
        assert_eq!(date_to_arrow(0), Some(PG_EPOCH_DAYS));
        assert_eq!(date_to_arrow(i32::MAX), Some(i32::MAX));
        assert_eq!(date_to_arrow(i32::MIN), Some(i32::MIN));
        // A finite date that would land on +infinity is refused, never taken for it.
        assert_eq!(date_to_arrow(i32::MAX - PG_EPOCH_DAYS), None);
        assert_eq!(date_from_arrow(i32::MIN + 1), None);

        // PostgreSQL's first and last timestamps (4714-11-24 BC, 294276-12-31 23:59:59.999999).
        let (first, last) = (-211_813_488_000_000_000i64, 9_223_371_331_199_999_999i64);
        for t in [i64::MIN, i64::MAX, 0, -1, 1, first] {
            assert_eq!(timestamp_to_arrow(t).and_then(timestamp_from_arrow), Some(t), "{t}");
        }
        assert_eq!(timestamp_to_arrow(0), Some(PG_EPOCH_MICROS));
        assert_eq!(timestamp_to_arrow(last), None);
        // The last finite timestamp that fits lands just below Arrow's maximum, never on it.
        let edge = i64::MAX - PG_EPOCH_MICROS;
        assert_eq!(timestamp_to_arrow(edge), None);
        assert_eq!(timestamp_to_arrow(edge - 1), Some(i64::MAX - 1));
        assert_eq!(timestamp_from_arrow(i64::MIN + 1), None);
    }

    #[test]
    fn order_is_kept() {
        let dates = [i32::MIN, -2_451_545, -1, 0, 1, 2_145_031_948, i32::MAX];
        let a: Vec<i32> = dates.iter().filter_map(|&d| date_to_arrow(d)).collect();
        assert_eq!(a.len(), dates.len());
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        let ts = [i64::MIN, -211_813_488_000_000_000, -1, 0, 1, i64::MAX - PG_EPOCH_MICROS - 1, i64::MAX];
        let a: Vec<i64> = ts.iter().filter_map(|&t| timestamp_to_arrow(t)).collect();
        assert_eq!(a.len(), ts.len());
        assert!(a.windows(2).all(|w| w[0] < w[1]));
    }
}
