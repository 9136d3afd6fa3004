//! Reading PostgreSQL's `numeric` varlena payload (after the length header) as a scaled i128.
//!
//! Format (src/backend/utils/adt/numeric.c): a u16 header, then base-10000 i16 digits. Header
//! `0xC000` flag bits = special (NaN, +-Infinity); `0x8000` = short form (sign 0x2000, display
//! scale in 0x1F80 >> 7, weight 6 bits with sign 0x0040); otherwise long form: the header is
//! sign (0x4000 = negative) | display scale (0x3FFF), followed by an i16 weight. The value is
//! sum(digit[i] * 10000^(weight - i)).

#[derive(Debug, PartialEq, Eq)]
pub enum NumericError {
    /// NaN or +-Infinity.
    Special,
    /// More fractional digits than the target scale, or too large for the precision.
    OutOfShape,
    Malformed,
}

/// A decoded numeric: the value times 10^scale, and the value's own display scale.
#[derive(Debug, PartialEq, Eq)]
pub struct Scaled {
    pub value: i128,
    pub dscale: u16,
}

/// 10^0 ..= 10^38.
const POW10: [i128; 39] = {
    let mut t = [1i128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

fn pow10(e: u32) -> Option<i128> {
    POW10.get(e as usize).copied()
}

/// 10^0 ..= 10^19 (the powers of ten a u64 holds).
const POW10_U64: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// `acc / 10^e` when `10^e` divides `acc` (`1 <= e <= 19`): each divisor a constant, so the
/// compiler turns the division into a multiplication (the scan encodes millions of values).
#[inline(always)]
fn div_pow10_exact(acc: u64, e: u32) -> Option<u64> {
    #[inline(always)]
    fn by<const P: u64>(acc: u64) -> Option<u64> {
        (acc % P == 0).then_some(acc / P)
    }
    match e {
        1 => by::<10>(acc),
        2 => by::<100>(acc),
        3 => by::<1_000>(acc),
        4 => by::<10_000>(acc),
        5 => by::<100_000>(acc),
        6 => by::<1_000_000>(acc),
        7 => by::<10_000_000>(acc),
        8 => by::<100_000_000>(acc),
        _ => {
            let p = *POW10_U64.get(e as usize)?;
            (acc % p == 0).then_some(acc / p)
        }
    }
}

/// At most four base-10000 digits (16 decimal digits, what numeric(15,2) and most stored values
/// have): Horner in u64, then one scaling step, instead of a power and an i128 product per digit.
#[inline(always)]
fn small_scaled(digits: &[u8], weight: i16, scale: i8) -> Result<i128, NumericError> {
    let mut acc: u64 = 0;
    for d in digits.chunks_exact(2) {
        let d = i16::from_ne_bytes([d[0], d[1]]);
        if !(0..10000).contains(&d) {
            return Err(NumericError::Malformed);
        }
        acc = acc * 10000 + d as u64;
    }
    if acc == 0 {
        return Ok(0);
    }
    let n = (digits.len() / 2) as i64;
    // The last digit is worth 10^(4 * (weight - n + 1) + scale) in the scaled value.
    let exp = 4 * (weight as i64 - n + 1) + scale as i64;
    if exp >= 0 {
        if let Some(v) = POW10_U64.get(exp as usize).and_then(|p| acc.checked_mul(*p)) {
            return Ok(v as i128);
        }
        let p = pow10(exp as u32).ok_or(NumericError::OutOfShape)?;
        (acc as i128).checked_mul(p).ok_or(NumericError::OutOfShape)
    } else if -exp <= 19 {
        div_pow10_exact(acc, (-exp) as u32).map(|v| v as i128).ok_or(NumericError::OutOfShape)
    } else {
        Err(NumericError::OutOfShape)
    }
}

/// The common case without i128 arithmetic: a short-form value (PostgreSQL's on-disk form for
/// nearly every numeric) of at most four base-10000 digits whose display scale is `scale`, for
/// `precision <= 18`. `None` sends the caller to [`to_scaled`], which also names what is wrong.
#[inline(always)]
pub fn to_scaled_short(data: &[u8], precision: u8, scale: i8) -> Option<i128> {
    let header = u16::from_ne_bytes([*data.first()?, *data.get(1)?]);
    let dscale = (header & 0x1F80) >> 7;
    if header & 0xC000 != 0x8000 || dscale != scale as u16 || precision > 18 {
        return None;
    }
    let digits = &data[2..];
    if digits.len() > 8 || digits.len() % 2 != 0 {
        return None;
    }
    let w = (header & 0x003F) as i16;
    let weight = if header & 0x0040 != 0 { w | !0x003F } else { w };
    let mut acc: u64 = 0;
    for d in digits.chunks_exact(2) {
        let d = u16::from_ne_bytes([d[0], d[1]]);
        if d >= 10000 {
            return None;
        }
        acc = acc * 10000 + d as u64;
    }
    if acc != 0 {
        let exp = 4 * (weight as i32 - (digits.len() / 2) as i32 + 1) + scale as i32;
        acc = if exp >= 0 {
            acc.checked_mul(*POW10_U64.get(exp as usize)?)?
        } else {
            div_pow10_exact(acc, (-exp) as u32)?
        };
    }
    if acc >= POW10_U64[precision as usize] {
        return None;
    }
    Some(if header & 0x2000 != 0 { -(acc as i128) } else { acc as i128 })
}

/// Decode `data` as a numeric scaled to `scale` fractional digits, at most `precision` digits.
#[inline]
pub fn to_scaled(data: &[u8], precision: u8, scale: i8) -> Result<Scaled, NumericError> {
    let h = data.get(0..2).ok_or(NumericError::Malformed)?;
    let header = u16::from_ne_bytes([h[0], h[1]]);
    let (negative, dscale, weight, digits) = if header & 0xC000 == 0xC000 {
        return Err(NumericError::Special);
    } else if header & 0x8000 != 0 {
        let w = (header & 0x003F) as i16;
        let weight = if header & 0x0040 != 0 { w | !0x003F } else { w };
        (header & 0x2000 != 0, (header & 0x1F80) >> 7, weight, &data[2..])
    } else {
        let w = data.get(2..4).ok_or(NumericError::Malformed)?;
        let w = i16::from_ne_bytes([w[0], w[1]]);
        (header & 0x4000 != 0, header & 0x3FFF, w, &data[4..])
    };
    if digits.len() % 2 != 0 || scale < 0 {
        return Err(NumericError::Malformed);
    }
    let acc = if digits.len() <= 8 {
        small_scaled(digits, weight, scale)?
    } else {
        any_scaled(digits, weight, scale)?
    };
    let limit = pow10(precision as u32).ok_or(NumericError::OutOfShape)?;
    if acc >= limit {
        return Err(NumericError::OutOfShape);
    }
    Ok(Scaled { value: if negative { -acc } else { acc }, dscale })
}

/// Any number of base-10000 digits, each scaled on its own in i128.
fn any_scaled(digits: &[u8], weight: i16, scale: i8) -> Result<i128, NumericError> {
    let mut acc: i128 = 0;
    for (i, d) in digits.chunks_exact(2).enumerate() {
        let d = i16::from_ne_bytes([d[0], d[1]]);
        if !(0..10000).contains(&d) {
            return Err(NumericError::Malformed);
        }
        if d == 0 {
            continue;
        }
        // This digit is worth 10^(4 * (weight - i) + scale) in the scaled value.
        let exp = 4 * (weight as i64 - i as i64) + scale as i64;
        let term = if exp >= 0 {
            let p = pow10(exp as u32).ok_or(NumericError::OutOfShape)?;
            (d as i128).checked_mul(p).ok_or(NumericError::OutOfShape)?
        } else {
            let p = if -exp > 4 { 100_000 } else { pow10((-exp) as u32).unwrap_or(1) };
            if d as i128 % p != 0 {
                return Err(NumericError::OutOfShape);
            }
            d as i128 / p
        };
        acc = acc.checked_add(term).ok_or(NumericError::OutOfShape)?;
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(negative: bool, dscale: u16, weight: i16, digits: &[i16]) -> Vec<u8> {
        let mut v = ((if negative { 0x4000 } else { 0 }) | dscale).to_ne_bytes().to_vec();
        v.extend_from_slice(&weight.to_ne_bytes());
        for d in digits {
            v.extend_from_slice(&d.to_ne_bytes());
        }
        v
    }

    fn short(negative: bool, dscale: u16, weight: i16, digits: &[i16]) -> Vec<u8> {
        let w = (weight as u16) & 0x3F | if weight < 0 { 0x40 } else { 0 };
        let h = 0x8000 | if negative { 0x2000 } else { 0 } | (dscale << 7) | w;
        let mut v = h.to_ne_bytes().to_vec();
        for d in digits {
            v.extend_from_slice(&d.to_ne_bytes());
        }
        v
    }

    #[test]
    fn the_four_digit_path_agrees_with_the_general_one() {
        let samples: [i16; 7] = [0, 1, 7, 10, 500, 6700, 9999];
        let mut checked = 0;
        for n in 0..=4usize {
            for weight in -6i16..=6 {
                for scale in [0i8, 1, 2, 4, 5, 9, 20, 38] {
                    for pick in 0..samples.len().pow(n as u32).min(343) {
                        let mut digits = Vec::new();
                        let mut k = pick;
                        for _ in 0..n {
                            digits.extend_from_slice(&samples[k % samples.len()].to_ne_bytes());
                            k /= samples.len();
                        }
                        assert_eq!(
                            small_scaled(&digits, weight, scale),
                            any_scaled(&digits, weight, scale),
                            "digits {digits:?} weight {weight} scale {scale}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 10_000);
    }

    #[test]
    fn short_and_long_forms_decode_to_the_same_value() {
        // 12345.67 = digits [1, 2345, 6700], weight 1, dscale 2
        for enc in [short(false, 2, 1, &[1, 2345, 6700]), long(false, 2, 1, &[1, 2345, 6700])] {
            assert_eq!(to_scaled(&enc, 12, 2), Ok(Scaled { value: 1234567, dscale: 2 }));
            assert_eq!(to_scaled(&enc, 12, 4), Ok(Scaled { value: 123456700, dscale: 2 }));
            assert_eq!(to_scaled(&enc, 12, 1), Err(NumericError::OutOfShape));
            assert_eq!(to_scaled(&enc, 6, 2), Err(NumericError::OutOfShape));
        }
        // -0.05 = digits [500], weight -1, dscale 2
        assert_eq!(to_scaled(&short(true, 2, -1, &[500]), 5, 2), Ok(Scaled { value: -5, dscale: 2 }));
        // zero has no digits
        assert_eq!(to_scaled(&short(false, 0, 0, &[]), 5, 0), Ok(Scaled { value: 0, dscale: 0 }));
        // large: 10^30
        assert_eq!(to_scaled(&long(false, 0, 7, &[100]), 38, 0).unwrap().value, 10i128.pow(30));
    }

    #[test]
    fn specials_and_garbage_fail_closed() {
        assert_eq!(to_scaled(&0xC000u16.to_ne_bytes(), 10, 0), Err(NumericError::Special));
        assert_eq!(to_scaled(&0xD000u16.to_ne_bytes(), 10, 0), Err(NumericError::Special));
        assert_eq!(to_scaled(&[1], 10, 0), Err(NumericError::Malformed));
        assert_eq!(to_scaled(&long(false, 0, 0, &[12000]), 10, 0), Err(NumericError::Malformed));
        assert_eq!(to_scaled(&long(false, 0, 40, &[1]), 38, 0), Err(NumericError::OutOfShape));
    }

    #[test]
    fn the_short_form_fast_path_agrees_with_the_general_one() {
        let mut checked = 0;
        for negative in [false, true] {
            for n in 0..=4usize {
                for weight in -4i16..=5 {
                    for dscale in 0u16..=9 {
                        for first in [1i16, 7, 500, 9999] {
                            let digits: Vec<i16> =
                                (0..n).map(|k| if k == 0 { first } else { (k as i16) * 1234 }).collect();
                            let enc = short(negative, dscale, weight, &digits);
                            for precision in [1u8, 5, 12, 15, 18, 19] {
                                for scale in [0i8, 2, 4, 9] {
                                    let general = match to_scaled(&enc, precision, scale) {
                                        Ok(v) if v.dscale == scale as u16 => Some(v.value),
                                        _ => None,
                                    };
                                    let fast = to_scaled_short(&enc, precision, scale);
                                    if fast.is_some() {
                                        checked += 1;
                                    }
                                    assert!(
                                        fast.is_none() || fast == general,
                                        "{digits:?} w{weight} d{dscale} p{precision} s{scale}"
                                    );
                                    if precision <= 18 && general.is_some() {
                                        assert_eq!(
                                            fast, general,
                                            "{digits:?} w{weight} d{dscale} p{precision} s{scale}"
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked}");
        assert_eq!(to_scaled_short(&0xC000u16.to_ne_bytes(), 10, 0), None);
    }
}
