//! PostgreSQL's numeric division (`numeric_div`, and so `avg(numeric)`, which divides its sum by
//! its count) on scaled integers, exactly as numeric.c computes it.
//!
//! Rules (src/backend/utils/adt/numeric.c, `select_div_scale` and `div_var(.., round = true)`):
//! - The result scale depends on the values: with each operand's normalized base-10000 weight and
//!   first digit, `qweight = weight1 - weight2`, less one when `firstdigit1 <= firstdigit2`;
//!   `rscale = 16 - 4 * qweight`, at least either operand's display scale (and 0), at most 1000.
//! - The quotient is rounded half away from zero at `rscale` digits.
//! - The caller holds results at one fixed scale: a quotient whose `rscale` is larger is exact
//!   there only when its extra digits are zeros; otherwise it is an error, never a rounding.

use datafusion::arrow::datatypes::i256;

#[derive(Debug, PartialEq, Eq)]
pub enum DivError {
    DivisionByZero,
    /// The quotient needs more digits than the fixed result scale (or 38 digits) holds.
    TooManyDigits,
}

fn pow10(e: u32) -> Option<i256> {
    i256::from_i128(10).checked_pow(e)
}

/// Decimal digits of `v` (> 0).
fn digits(v: u128) -> i64 {
    v.checked_ilog10().map_or(1, |l| l as i64 + 1)
}

/// (weight, first digit) of `v / 10^scale` in base 10000, as PostgreSQL normalizes a NumericVar
/// (zero: (0, 0)).
fn weight_and_first_digit(v: i128, scale: u32) -> (i64, u128) {
    if v == 0 {
        return (0, 0);
    }
    let a = v.unsigned_abs();
    // The most significant decimal digit is worth 10^e; its base-10000 digit is worth
    // 10000^weight with weight = floor(e / 4).
    let e = digits(a) - 1 - scale as i64;
    let weight = e.div_euclid(4);
    let shift = scale as i64 + 4 * weight;
    let first = if shift >= 0 { a / 10u128.pow(shift as u32) } else { a * 10u128.pow((-shift) as u32) };
    (weight, first)
}

/// PostgreSQL's result scale for `a / 10^sa` divided by `b / 10^sb` (display scales sa, sb).
pub fn div_scale(a: i128, sa: u32, b: i128, sb: u32) -> u32 {
    select_div_scale(weight_and_first_digit(a, sa), sa, weight_and_first_digit(b, sb), sb)
}

/// `select_div_scale` from each operand's normalized (weight, first base-10000 digit) and
/// display scale.
pub fn select_div_scale((w1, f1): (i64, u128), sa: u32, (w2, f2): (i64, u128), sb: u32) -> u32 {
    let mut qweight = w1 - w2;
    if f1 <= f2 {
        qweight -= 1;
    }
    let rscale = (16 - 4 * qweight).max(sa as i64).max(sb as i64).max(0);
    rscale.min(1000) as u32
}

/// `(a / 10^sa) / (b / 10^sb)` as PostgreSQL's `numeric_div` computes it, returned scaled by
/// `10^out_scale`.
pub fn pg_div(a: i128, sa: u32, b: i128, sb: u32, out_scale: u32) -> Result<i128, DivError> {
    if b == 0 {
        return Err(DivError::DivisionByZero);
    }
    let rscale = div_scale(a, sa, b, sb);
    let too_many = DivError::TooManyDigits;
    // q = a * 10^(rscale + sb - sa) / b, rounded half away from zero (rscale >= sa).
    let k = rscale + sb - sa;
    let n = i256::from_i128(a).checked_mul(pow10(k).ok_or(DivError::TooManyDigits)?).ok_or(too_many)?;
    let d = i256::from_i128(b);
    let (mut q, r) =
        (n.checked_div(d).ok_or(DivError::TooManyDigits)?, n.checked_rem(d).ok_or(DivError::TooManyDigits)?);
    let twice = r.wrapping_abs().checked_mul(i256::from_i128(2)).ok_or(DivError::TooManyDigits)?;
    if twice >= d.wrapping_abs() {
        let away = if n.is_negative() != d.is_negative() { i256::from_i128(-1) } else { i256::ONE };
        q = q.checked_add(away).ok_or(DivError::TooManyDigits)?;
    }
    let out = if out_scale >= rscale {
        q.checked_mul(pow10(out_scale - rscale).ok_or(DivError::TooManyDigits)?)
            .ok_or(DivError::TooManyDigits)?
    } else {
        let p = pow10(rscale - out_scale).ok_or(DivError::TooManyDigits)?;
        if q.checked_rem(p) != Some(i256::ZERO) {
            return Err(DivError::TooManyDigits);
        }
        q.checked_div(p).ok_or(DivError::TooManyDigits)?
    };
    let out = out.to_i128().ok_or(DivError::TooManyDigits)?;
    if out.unsigned_abs() >= 10u128.pow(38) {
        return Err(DivError::TooManyDigits);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PostgreSQL's own results (psql, PostgreSQL 15): value and display scale.
    #[test]
    fn matches_postgresql_avg_and_division() {
        // avg(1.00, 2.00, 2.00) = 5.00 / 3 = 1.6666666666666667
        assert_eq!(div_scale(500, 2, 3, 0), 16);
        assert_eq!(pg_div(500, 2, 3, 0, 16), Ok(16_666_666_666_666_667));
        // avg(1.00, 1.00) = 2.00 / 2 = 1.00000000000000000000 (equal first digits: one more digit)
        assert_eq!(div_scale(200, 2, 2, 0), 20);
        assert_eq!(pg_div(200, 2, 2, 0, 20), Ok(10i128.pow(20)));
        // 0.03 / 3 = 0.01000000000000000000
        assert_eq!(div_scale(3, 2, 3, 0), 20);
        // 2 / 3 = 0.66666666666666666667; -2 / 3 rounds away from zero
        assert_eq!(pg_div(2, 0, 3, 0, 20), Ok(66_666_666_666_666_666_667));
        assert_eq!(pg_div(-2, 0, 3, 0, 20), Ok(-66_666_666_666_666_666_667));
        // 12345.678 / 10000: first digits 1 and 1, so one more digit: 1.23456780000000000000
        assert_eq!(div_scale(12_345_678, 3, 10_000, 0), 20);
        // 1 / 7 = 0.14285714285714285714
        assert_eq!(pg_div(1, 0, 7, 0, 20), Ok(14_285_714_285_714_285_714));
        // 100000 / 3 = 33333.333333333333 (qweight 1: 12 digits)
        assert_eq!(div_scale(100_000, 0, 3, 0), 12);
        assert_eq!(pg_div(100_000, 0, 3, 0, 20), Ok(3_333_333_333_333_333_300_000_000));
        // 0.00 / 3 = 0.00000000000000000000
        assert_eq!(pg_div(0, 2, 3, 0, 20), Ok(0));
    }

    #[test]
    fn a_quotient_finer_than_the_fixed_scale_fails_unless_exact() {
        // 1 / 30000 = 0.000033333333333333333333 (scale 24): not exact at 20.
        assert_eq!(div_scale(1, 0, 30_000, 0), 24);
        assert_eq!(pg_div(1, 0, 30_000, 0, 20), Err(DivError::TooManyDigits));
        // 0 / 30000 has scale 24 too, but all its digits are zeros.
        assert_eq!(pg_div(0, 0, 30_000, 0, 20), Ok(0));
        assert_eq!(pg_div(1, 0, 0, 0, 20), Err(DivError::DivisionByZero));
    }
}
