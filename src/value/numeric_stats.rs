//! PostgreSQL's variance and standard deviation of numeric (and integer) values
//! (`var_samp`, `var_pop`, `stddev_samp`, `stddev_pop`; `variance` and `stddev` are the
//! sample forms), computed from the count, the sum and the sum of squares exactly as
//! numeric.c's `numeric_stddev_internal` does, and written as the text PostgreSQL would print.
//!
//! Rules (src/backend/utils/adt/numeric.c):
//! - Inputs of display scale `s` sum to `sum` (scale `s`) and their squares to `sum_sq`
//!   (scale `2s`); integer inputs have scale 0.
//! - No rows: NULL; the sample forms of one row: NULL.
//! - `num = n * sum_sq - sum * sum` (exact, scale `2s`); if it is not positive the result is
//!   `0` (display scale 0: PostgreSQL returns its constant zero).
//! - `den = n * (n - 1)` (sample) or `n * n` (population), scale 0.
//! - The variance is `num / den` at `select_div_scale(num, den)` digits, rounded half away
//!   from zero (`div_var(.., round = true)`).
//! - The standard deviation is the square root of that rounded variance at the same scale:
//!   `sqrt_var` computes the truncated root with at least one extra digit and rounds it half
//!   up, which is the exact root rounded half up.
//!
//! The arithmetic is on big integers: the terms outgrow 256 bits (`n * sum_sq`) and the
//! result scale can reach PostgreSQL's 1000 digits.

use num_bigint::{BigInt, Sign};

use super::numeric_div::select_div_scale;

/// Decimal digits of `v` (> 0).
fn digits(v: &BigInt) -> i64 {
    v.magnitude().to_string().len() as i64
}

/// (weight, first digit) of `v / 10^scale` (v > 0) in base 10000, as PostgreSQL normalizes a
/// NumericVar.
fn weight_and_first_digit(v: &BigInt, scale: u32) -> (i64, u128) {
    // The most significant decimal digit is worth 10^e; its base-10000 digit is worth
    // 10000^weight with weight = floor(e / 4).
    let e = digits(v) - 1 - scale as i64;
    let weight = e.div_euclid(4);
    let shift = scale as i64 + 4 * weight;
    let ten = BigInt::from(10);
    let first = if shift >= 0 { v / ten.pow(shift as u32) } else { v * ten.pow((-shift) as u32) };
    // A base-10000 digit: below 10000.
    (weight, u128::try_from(&first).unwrap_or(u128::MAX))
}

/// `select_div_scale` for positive `a / 10^sa` divided by positive `b / 10^sb`.
fn div_scale(a: &BigInt, sa: u32, b: &BigInt, sb: u32) -> u32 {
    select_div_scale(weight_and_first_digit(a, sa), sa, weight_and_first_digit(b, sb), sb)
}

/// `n / d` (both positive) rounded half away from zero.
fn div_round(n: &BigInt, d: &BigInt) -> BigInt {
    (n * 2 + d) / (d * 2)
}

/// `v / 10^scale` (v >= 0) as PostgreSQL prints a numeric of that display scale.
fn to_text(v: &BigInt, scale: u32) -> String {
    let mut s = v.magnitude().to_string();
    let scale = scale as usize;
    if scale == 0 {
        return s;
    }
    if s.len() <= scale {
        s = "0".repeat(scale + 1 - s.len()) + &s;
    }
    let point = s.len() - scale;
    format!("{}.{}", &s[..point], &s[point..])
}

/// Which of the four statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Statistic {
    /// Sample (divide by n - 1) rather than population (by n).
    pub sample: bool,
    /// Standard deviation (the square root) rather than variance.
    pub sqrt: bool,
}

/// The statistic over `n` values of display scale `scale` whose sum is `sum / 10^scale` and
/// whose sum of squares is `sum_sq / 10^(2 * scale)`, as PostgreSQL's text; None for NULL.
pub fn statistic_text(stat: Statistic, n: i64, sum: &BigInt, sum_sq: &BigInt, scale: u32) -> Option<String> {
    if n <= 0 || (stat.sample && n <= 1) {
        return None;
    }
    let count = BigInt::from(n);
    let num = &count * sum_sq - sum * sum;
    if num.sign() != Sign::Plus {
        return Some("0".to_string());
    }
    let den = if stat.sample { &count * (&count - 1) } else { &count * &count };
    let num_scale = 2 * scale;
    let rscale = div_scale(&num, num_scale, &den, 0);
    // variance * 10^rscale = num * 10^(rscale - 2s) / den (rscale >= 2s: the numerator's scale
    // bounds it from below).
    let ten = BigInt::from(10);
    let variance = div_round(&(num * ten.pow(rscale - num_scale)), &den);
    if !stat.sqrt {
        return Some(to_text(&variance, rscale));
    }
    // round(sqrt(x)) = floor(sqrt(x) + 1/2) = floor((isqrt(4x) + 1) / 2) for an integer x, with
    // x = variance * 10^rscale the root's digits scaled by 10^(2 * rscale).
    let x: BigInt = variance * ten.pow(rscale) * 4;
    let root = (x.sqrt() + 1) / 2;
    Some(to_text(&root, rscale))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VAR_SAMP: Statistic = Statistic { sample: true, sqrt: false };
    const VAR_POP: Statistic = Statistic { sample: false, sqrt: false };
    const STDDEV_SAMP: Statistic = Statistic { sample: true, sqrt: true };
    const STDDEV_POP: Statistic = Statistic { sample: false, sqrt: true };

    /// (n, sum, sum of squares) of scaled integer values.
    fn sums(values: &[i64]) -> (i64, BigInt, BigInt) {
        let sum = values.iter().map(|&v| BigInt::from(v)).sum();
        let sum_sq = values.iter().map(|&v| BigInt::from(v) * v).sum();
        (values.len() as i64, sum, sum_sq)
    }

    fn stat(s: Statistic, values: &[i64], scale: u32) -> Option<String> {
        let (n, sum, sum_sq) = sums(values);
        statistic_text(s, n, &sum, &sum_sq, scale)
    }

    /// PostgreSQL 15's own results (psql).
    #[test]
    fn matches_postgresql() {
        // SELECT var_samp(x), var_pop(x), stddev_samp(x), stddev_pop(x)
        //   FROM (VALUES (1), (2), (4)) v(x);
        let v = [1, 2, 4];
        assert_eq!(stat(VAR_SAMP, &v, 0).as_deref(), Some("2.3333333333333333"));
        assert_eq!(stat(VAR_POP, &v, 0).as_deref(), Some("1.5555555555555556"));
        assert_eq!(stat(STDDEV_SAMP, &v, 0).as_deref(), Some("1.5275252316519467"));
        assert_eq!(stat(STDDEV_POP, &v, 0).as_deref(), Some("1.2472191289246471"));
        // numeric(15,2): 1.50, 2.25, 10.00
        let v = [150, 225, 1000];
        assert_eq!(stat(VAR_SAMP, &v, 2).as_deref(), Some("22.1458333333333333"));
        assert_eq!(stat(STDDEV_SAMP, &v, 2).as_deref(), Some("4.7059359678318333"));
        assert_eq!(stat(VAR_POP, &v, 2).as_deref(), Some("14.7638888888888889"));
        assert_eq!(stat(STDDEV_POP, &v, 2).as_deref(), Some("3.8423806277995012"));
        // Large values: 12 digits of variance before the point leave 4 after it, and the
        // root keeps the variance's scale.
        let v = [1_000_000, 3_000_000, 7_000_000];
        assert_eq!(stat(VAR_SAMP, &v, 0).as_deref(), Some("9333333333333.3333"));
        assert_eq!(stat(STDDEV_SAMP, &v, 0).as_deref(), Some("3055050.4633"));
        // Small values: 0.0001 and 0.0002.
        let v = [1, 2];
        assert_eq!(stat(VAR_SAMP, &v, 4).as_deref(), Some("0.0000000050000000000000000000"));
        assert_eq!(stat(STDDEV_SAMP, &v, 4).as_deref(), Some("0.0000707106781186547524400844"));
    }

    #[test]
    fn nulls_and_zero() {
        assert_eq!(stat(VAR_SAMP, &[], 0), None);
        assert_eq!(stat(VAR_POP, &[], 2), None);
        // One value: the sample forms are NULL, the population forms PostgreSQL's zero.
        assert_eq!(stat(STDDEV_SAMP, &[5], 0), None);
        assert_eq!(stat(VAR_POP, &[5], 2).as_deref(), Some("0"));
        assert_eq!(stat(STDDEV_POP, &[5], 2).as_deref(), Some("0"));
        // Equal values: no spread.
        assert_eq!(stat(VAR_SAMP, &[7, 7, 7], 1).as_deref(), Some("0"));
    }
}
