//! Scalar functions pg_fusion adds to DataFusion where PostgreSQL's semantics differ from any
//! builtin. They travel in the plan by name and parameters (see `codec`).
//!
//! - [`NumericDiv`] (`pg_numeric_div`): PostgreSQL's `numeric_div` of a decimal by a count or a
//!   decimal (`avg(numeric)` is its sum divided by its count), rounded at PostgreSQL's
//!   value-dependent result scale and held at one fixed scale. Its value is exactly PostgreSQL's;
//!   its display scale is not, so the translator uses it only where the value alone matters
//!   (comparisons).
//! - [`IntArith`] (`pg_int_arith`): PostgreSQL's integer `+ - * / %` (`int4pl`, `int48mul`,
//!   `int4div`, ...): the result type's overflow is an error (22003, "integer out of range"),
//!   never a wrapped value; division and remainder truncate toward zero (the remainder takes the
//!   dividend's sign, `x % -1` is 0) and a zero divisor is an error (22012).
//! - [`BpcharKey`] (`pg_bpchar_key`): a `char(n)` value without its trailing blanks, the form
//!   bpchar's comparison (`bpcharcmp`) orders and compares: sort keys and min/max arguments.
//! - [`IntervalKey`] (`pg_interval_key`): an interval as the 128-bit number of microseconds
//!   PostgreSQL compares intervals by (`interval_cmp_value`: a month is 30 days, a day 24
//!   hours), so `'1 mon'` and `'30 days'` are one value for DISTINCT. A function, not arithmetic in wider types and a cast: the optimizer moves casts out
//!   of comparisons (`CAST(x AS INT) > 0` becomes `x > 0`), which would drop the check.
//! - [`RangeKey`] (`pg_range_key`): the date or timestamp ORDER BY key of a RANGE frame with an
//!   offset, unchanged, or a refusal (0A000) where adding the offset would not be exact: at
//!   `-infinity`/`infinity` (the type's extremes, see `crate::value::datetime`) and where the
//!   key plus or minus the offset leaves the calendar both systems compute in (Arrow's date
//!   arithmetic stops after 262142-12-31, PostgreSQL's before 4714-11-24 BC).

use std::sync::Arc;

use datafusion::arrow::array::Int64Array;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryViewArray, Decimal128Array, StringViewArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Int64Type, IntervalMonthDayNanoType};
use datafusion::arrow::error::ArrowError;
use datafusion::common::{plan_err, DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

use super::spec::ArithOp;
use crate::value::datetime::{FIRST_DAY, LAST_DAY, MICROS_PER_DAY};
use crate::value::numeric_div::{pg_div, DivError};

pub const NUMERIC_DIV: &str = "pg_numeric_div";
pub const INT_ARITH: &str = "pg_int_arith";
pub const BPCHAR_KEY: &str = "pg_bpchar_key";
pub const INTERVAL_KEY: &str = "pg_interval_key";
pub const RANGE_KEY: &str = "pg_range_key";

/// `char(n)` without trailing blanks (`bcTruelen`: only spaces are trimmed). Text of a database
/// not encoded in UTF-8 (BinaryView) too: a space is the byte 0x20 in every server encoding, and
/// no multibyte character holds that byte.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct BpcharKey {
    signature: Signature,
}

impl BpcharKey {
    pub fn udf() -> Arc<ScalarUDF> {
        let text = |t| TypeSignature::Exact(vec![t]);
        Arc::new(ScalarUDF::new_from_impl(BpcharKey {
            signature: Signature::one_of(
                vec![text(DataType::Utf8View), text(DataType::BinaryView)],
                Volatility::Immutable,
            ),
        }))
    }
}

impl ScalarUDFImpl for BpcharKey {
    fn name(&self) -> &str {
        BPCHAR_KEY
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match args {
            [DataType::BinaryView] => DataType::BinaryView,
            _ => DataType::Utf8View,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [a] = arrays.as_slice() else { return plan_err!("{BPCHAR_KEY} takes one argument") };
        if a.data_type() == &DataType::BinaryView {
            fn trim(v: &[u8]) -> &[u8] {
                let len = v.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
                &v[..len]
            }
            let out: BinaryViewArray = a.as_binary_view().iter().map(|v| v.map(trim)).collect();
            return Ok(ColumnarValue::Array(Arc::new(out)));
        }
        let out: StringViewArray =
            a.as_string_view().iter().map(|v| v.map(|v| v.trim_end_matches(' '))).collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// An interval's comparison value in microseconds, as Decimal128(38, 0).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IntervalKey {
    signature: Signature,
}

impl IntervalKey {
    pub fn udf() -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(IntervalKey {
            signature: Signature::exact(
                vec![DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::MonthDayNano)],
                Volatility::Immutable,
            ),
        }))
    }
}

/// PostgreSQL's `interval_cmp_value` of (months, days, nanoseconds): the nanoseconds are whole
/// microseconds (the block format carries PostgreSQL's microseconds times 1000).
pub fn interval_cmp_value(months: i32, days: i32, nanos: i64) -> i128 {
    let days = i128::from(months) * 30 + i128::from(days);
    days * 86_400_000_000 + i128::from(nanos / 1000)
}

impl ScalarUDFImpl for IntervalKey {
    fn name(&self) -> &str {
        INTERVAL_KEY
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Decimal128(38, 0))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [a] = arrays.as_slice() else { return plan_err!("{INTERVAL_KEY} takes one argument") };
        let out = a
            .as_primitive::<IntervalMonthDayNanoType>()
            .iter()
            .map(|v| v.map(|v| interval_cmp_value(v.months, v.days, v.nanoseconds)))
            .collect::<Decimal128Array>()
            .with_precision_and_scale(38, 0)?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// A Date32 or Timestamp(µs) key passed through when every value lies in `[lo, hi]` (days or
/// microseconds from 1970-01-01), refused otherwise. The bounds are the exact calendar narrowed
/// by the frame's largest offset ([`RangeKey::for_offset`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RangeKey {
    lo: i64,
    hi: i64,
    signature: Signature,
}

impl RangeKey {
    pub fn udf(lo: i64, hi: i64) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(RangeKey {
            lo,
            hi,
            signature: Signature::any(1, Volatility::Immutable),
        }))
    }

    /// The key of a RANGE frame over `timestamp` keys (else dates) whose largest offset is
    /// `offset` (microseconds, else days): key - offset and key + offset stay in the calendar.
    pub fn for_offset(timestamp: bool, offset: u64) -> Arc<ScalarUDF> {
        let (first, last) = if timestamp {
            (FIRST_DAY * MICROS_PER_DAY, (LAST_DAY + 1) * MICROS_PER_DAY - 1)
        } else {
            (FIRST_DAY, LAST_DAY)
        };
        let m = i64::try_from(offset).unwrap_or(i64::MAX);
        RangeKey::udf(first.saturating_add(m), last.saturating_sub(m))
    }

    pub fn encode(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.lo.to_le_bytes());
        b[8..].copy_from_slice(&self.hi.to_le_bytes());
        b
    }

    pub fn decode(buf: &[u8]) -> Option<Arc<ScalarUDF>> {
        let lo = i64::from_le_bytes(buf.get(..8)?.try_into().ok()?);
        let hi = i64::from_le_bytes(buf.get(8..16)?.try_into().ok()?);
        (buf.len() == 16).then(|| RangeKey::udf(lo, hi))
    }

    /// Whether every value of `a` (Date32 or Timestamp(µs)) is within the bounds.
    fn all_within(&self, a: &dyn Array) -> Result<bool> {
        use datafusion::arrow::datatypes::{Date32Type, TimeUnit, TimestampMicrosecondType};
        let ok = |v: i64| self.lo <= v && v <= self.hi;
        Ok(match a.data_type() {
            DataType::Date32 => a.as_primitive::<Date32Type>().iter().flatten().all(|v| ok(i64::from(v))),
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                a.as_primitive::<TimestampMicrosecondType>().iter().flatten().all(ok)
            }
            t => return plan_err!("{RANGE_KEY} over {t}"),
        })
    }
}

impl ScalarUDFImpl for RangeKey {
    fn name(&self) -> &str {
        RANGE_KEY
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [t] => Ok(t.clone()),
            _ => plan_err!("{RANGE_KEY} takes one argument"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [a] = arrays.as_slice() else { return plan_err!("{RANGE_KEY} takes one argument") };
        if !self.all_within(a.as_ref())? {
            return Err(DataFusionError::NotImplemented(
                "date or timestamp ORDER BY key of a RANGE frame with an offset at infinity, or where the offset reaches past 262142 AD or before 4714 BC"
                    .into(),
            ));
        }
        Ok(ColumnarValue::Array(Arc::clone(a)))
    }
}

/// PostgreSQL's integer `+ - * / %` with the result type's overflow check.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IntArith {
    op: ArithOp,
    /// The result type: Int16, Int32 or Int64.
    ty: DataType,
    signature: Signature,
}

impl IntArith {
    pub fn udf(op: ArithOp, ty: DataType) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(IntArith {
            op,
            ty,
            signature: Signature::any(2, Volatility::Immutable),
        }))
    }

    /// Its parameters as two bytes: the operation, the result's width in bits.
    pub fn encode(&self) -> [u8; 2] {
        let op = match self.op {
            ArithOp::Add => 0,
            ArithOp::Sub => 1,
            ArithOp::Mul => 2,
            ArithOp::Div => 3,
            ArithOp::Mod => 4,
        };
        let bits = match self.ty {
            DataType::Int16 => 16,
            DataType::Int32 => 32,
            _ => 64,
        };
        [op, bits]
    }

    pub fn decode(buf: &[u8]) -> Option<Arc<ScalarUDF>> {
        let op = match buf.first()? {
            0 => ArithOp::Add,
            1 => ArithOp::Sub,
            2 => ArithOp::Mul,
            3 => ArithOp::Div,
            4 => ArithOp::Mod,
            _ => return None,
        };
        let ty = match buf.get(1..)? {
            [16] => DataType::Int16,
            [32] => DataType::Int32,
            [64] => DataType::Int64,
            _ => return None,
        };
        Some(IntArith::udf(op, ty))
    }

    /// PostgreSQL's value of `x op y`, or the error it raises.
    fn apply(&self, x: i64, y: i64) -> std::result::Result<i64, ArrowError> {
        let v = match self.op {
            ArithOp::Add => x.checked_add(y),
            ArithOp::Sub => x.checked_sub(y),
            ArithOp::Mul => x.checked_mul(y),
            ArithOp::Div | ArithOp::Mod if y == 0 => return Err(ArrowError::DivideByZero),
            ArithOp::Div => x.checked_div(y),
            // `int4mod`: any value modulo -1 is 0 (the smallest one included).
            ArithOp::Mod if y == -1 => Some(0),
            ArithOp::Mod => x.checked_rem(y),
        };
        let fits = |v: i64| match self.ty {
            DataType::Int16 => i16::try_from(v).is_ok(),
            DataType::Int32 => i32::try_from(v).is_ok(),
            _ => true,
        };
        match v {
            Some(v) if fits(v) => Ok(v),
            _ => {
                let what = match self.ty {
                    DataType::Int16 => "smallint",
                    DataType::Int32 => "integer",
                    _ => "bigint",
                };
                Err(ArrowError::ArithmeticOverflow(format!("{what} out of range")))
            }
        }
    }
}

impl ScalarUDFImpl for IntArith {
    fn name(&self) -> &str {
        INT_ARITH
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let int = |t: &DataType| matches!(t, DataType::Int16 | DataType::Int32 | DataType::Int64);
        match args {
            [a, b] if int(a) && int(b) => Ok(self.ty.clone()),
            _ => plan_err!("{INT_ARITH} takes two integers, not {args:?}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [a, b] = arrays.as_slice() else { return plan_err!("{INT_ARITH} takes two arguments") };
        // Widening to int64 is exact.
        let (a, b) = (cast(a, &DataType::Int64)?, cast(b, &DataType::Int64)?);
        let (a, b) = (a.as_primitive::<Int64Type>(), b.as_primitive::<Int64Type>());
        let out = a
            .iter()
            .zip(b.iter())
            .map(|(x, y)| match (x, y) {
                (Some(x), Some(y)) => {
                    self.apply(x, y).map(Some).map_err(|e| DataFusionError::ArrowError(Box::new(e), None))
                }
                _ => Ok(None),
            })
            .collect::<Result<Int64Array>>()?;
        Ok(ColumnarValue::Array(cast(&out, &self.ty)?))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NumericDiv {
    /// The result's fixed scale (Decimal128(38, scale)).
    scale: i8,
    signature: Signature,
}

impl NumericDiv {
    pub fn udf(scale: i8) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(NumericDiv {
            scale,
            signature: Signature::any(2, Volatility::Immutable),
        }))
    }

    pub fn scale(&self) -> i8 {
        self.scale
    }
}

/// Values of a decimal or int64 array as (scaled integer, scale); None for NULL.
fn scaled(a: &ArrayRef) -> Result<(Vec<Option<i128>>, u32)> {
    match a.data_type() {
        DataType::Decimal128(_, s) if *s >= 0 => {
            Ok((a.as_primitive::<Decimal128Type>().iter().collect(), *s as u32))
        }
        DataType::Int64 => Ok((a.as_primitive::<Int64Type>().iter().map(|v| v.map(i128::from)).collect(), 0)),
        t => plan_err!("{NUMERIC_DIV} of {t}"),
    }
}

impl ScalarUDFImpl for NumericDiv {
    fn name(&self) -> &str {
        NUMERIC_DIV
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [DataType::Decimal128(..), DataType::Decimal128(..) | DataType::Int64] => {
                Ok(DataType::Decimal128(38, self.scale))
            }
            _ => plan_err!("{NUMERIC_DIV} takes a decimal and a decimal or int64, not {args:?}"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [a, b] = arrays.as_slice() else { return plan_err!("{NUMERIC_DIV} takes two arguments") };
        let ((a, sa), (b, sb)) = (scaled(a)?, scaled(b)?);
        let out = a
            .iter()
            .zip(&b)
            .map(|(x, y)| match (x, y) {
                (Some(x), Some(y)) => {
                    pg_div(*x, sa, *y, sb, self.scale as u32).map(Some).map_err(|e| match e {
                        DivError::DivisionByZero => {
                            DataFusionError::ArrowError(Box::new(ArrowError::DivideByZero), None)
                        }
                        DivError::TooManyDigits => DataFusionError::NotImplemented(format!(
                            "numeric quotient with more than {} fractional digits",
                            self.scale
                        )),
                    })
                }
                _ => Ok(None),
            })
            .collect::<Result<Decimal128Array>>()?
            .with_precision_and_scale(38, self.scale)?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::Field;
    use datafusion::config::ConfigOptions;

    #[test]
    fn divides_as_postgresql_and_keeps_nulls() {
        let f = NumericDiv::udf(20);
        let sums: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(500), Some(200), None, Some(-2)])
                .with_precision_and_scale(38, 2)
                .unwrap(),
        );
        let counts: ArrayRef = Arc::new(Int64Array::from(vec![3, 2, 0, 3]));
        let args = ScalarFunctionArgs {
            args: vec![ColumnarValue::Array(sums.clone()), ColumnarValue::Array(counts.clone())],
            arg_fields: vec![
                Arc::new(Field::new("s", sums.data_type().clone(), true)),
                Arc::new(Field::new("n", DataType::Int64, true)),
            ],
            number_rows: 4,
            return_field: Arc::new(Field::new("q", DataType::Decimal128(38, 20), true)),
            config_options: Arc::new(ConfigOptions::default()),
        };
        let ColumnarValue::Array(out) = f.invoke_with_args(args).unwrap() else { panic!("not an array") };
        let out = out.as_primitive::<Decimal128Type>();
        // 5.00/3 = 1.6666666666666667, 2.00/2 = 1.00000000000000000000, -0.02/3 rounded away from 0.
        assert_eq!(out.value(0), 16_666_666_666_666_667 * 10_000);
        assert_eq!(out.value(1), 10i128.pow(20));
        assert!(out.is_null(2));
        assert_eq!(out.value(3), -666_666_666_666_666_667);
    }

    #[test]
    fn range_keys_pass_within_the_calendar_and_are_refused_outside() {
        use datafusion::arrow::array::{Date32Array, TimestampMicrosecondArray};
        let call = |f: Arc<ScalarUDF>, a: ArrayRef| {
            let args = ScalarFunctionArgs {
                args: vec![ColumnarValue::Array(a.clone())],
                arg_fields: vec![Arc::new(Field::new("k", a.data_type().clone(), true))],
                number_rows: a.len(),
                return_field: Arc::new(Field::new("k", a.data_type().clone(), true)),
                config_options: Arc::new(ConfigOptions::default()),
            };
            match f.invoke_with_args(args) {
                Ok(ColumnarValue::Array(out)) => Some(out.len() == a.len() && out.to_data() == a.to_data()),
                Ok(_) => Some(false),
                Err(DataFusionError::NotImplemented(_)) => None,
                Err(_) => Some(false),
            }
        };
        let days = |n| RangeKey::for_offset(false, n);
        let micros = |n| RangeKey::for_offset(true, n);
        let dates = |v: Vec<Option<i32>>| -> ArrayRef { Arc::new(Date32Array::from(v)) };
        assert_eq!(call(days(1), dates(vec![Some(0), None, Some(LAST_DAY as i32 - 1)])), Some(true));
        // Infinities, and keys whose offset leaves the calendar.
        assert_eq!(call(days(1), dates(vec![Some(0), Some(i32::MAX)])), None);
        assert_eq!(call(days(1), dates(vec![None, Some(i32::MIN)])), None);
        assert_eq!(call(days(1), dates(vec![Some(LAST_DAY as i32)])), None);
        assert_eq!(call(days(0), dates(vec![Some(LAST_DAY as i32)])), Some(true));
        assert_eq!(call(days(10), dates(vec![Some(FIRST_DAY as i32 + 9)])), None);
        assert_eq!(call(days(u64::MAX), dates(vec![Some(0)])), None);
        let ts = |v: Vec<Option<i64>>| -> ArrayRef { Arc::new(TimestampMicrosecondArray::from(v)) };
        assert_eq!(call(micros(3_600_000_000), ts(vec![Some(1), None])), Some(true));
        assert_eq!(call(micros(1), ts(vec![Some(i64::MAX)])), None);
        let tz: ArrayRef =
            Arc::new(TimestampMicrosecondArray::from(vec![Some(i64::MIN)]).with_timezone("UTC"));
        assert_eq!(call(micros(1), tz), None);
        // 270000-01-01 is past Arrow's calendar: refused, never a frame ending at the partition's edge.
        assert_eq!(call(micros(1), ts(vec![Some(268_000 * 365 * MICROS_PER_DAY)])), None);
        // Only dates and timestamps are keys it is given.
        assert_eq!(call(days(1), Arc::new(Int64Array::from(vec![1]))), Some(false));
        // Its bounds travel in the plan.
        let f = RangeKey { lo: -5, hi: 7, signature: Signature::any(1, Volatility::Immutable) };
        let back = RangeKey::decode(&f.encode());
        let any: Option<&dyn std::any::Any> = back.as_ref().map(|b| b.inner().as_ref() as &dyn std::any::Any);
        assert_eq!(any.and_then(|a| a.downcast_ref::<RangeKey>()), Some(&f));
        assert!(RangeKey::decode(&[0u8; 15]).is_none());
    }

    #[test]
    fn integer_arithmetic_checks_the_result_type() {
        let int4 =
            |op| IntArith { op, ty: DataType::Int32, signature: Signature::any(2, Volatility::Immutable) };
        assert_eq!(int4(ArithOp::Add).apply(i32::MAX as i64, 0).ok(), Some(i32::MAX as i64));
        assert!(int4(ArithOp::Add).apply(i32::MAX as i64, 1).is_err());
        assert!(int4(ArithOp::Mul).apply(65536, 32768).is_err());
        assert_eq!(int4(ArithOp::Sub).apply(i32::MIN as i64, 0).ok(), Some(i32::MIN as i64));
        let int8 = IntArith {
            op: ArithOp::Mul,
            ty: DataType::Int64,
            signature: Signature::any(2, Volatility::Immutable),
        };
        assert!(int8.apply(i64::MAX, 2).is_err());
        assert_eq!(int8.apply(3_000_000_000, 3).ok(), Some(9_000_000_000));
        for (op, ty) in [
            (ArithOp::Sub, DataType::Int16),
            (ArithOp::Mul, DataType::Int64),
            (ArithOp::Mod, DataType::Int32),
        ] {
            let f = IntArith::udf(op, ty.clone());
            let any: &dyn std::any::Any = f.inner().as_ref();
            let bytes = any.downcast_ref::<IntArith>().unwrap().encode();
            assert_eq!(IntArith::decode(&bytes).unwrap(), f);
        }
        assert!(IntArith::decode(&[5, 32]).is_none() && IntArith::decode(&[0, 8]).is_none());
    }

    #[test]
    fn comparison_keys() {
        // '1 mon' = '30 days' = '720 hours'; '1 year' = '360 days'.
        let hour = 3_600_000_000_000i64;
        assert_eq!(interval_cmp_value(1, 0, 0), interval_cmp_value(0, 30, 0));
        assert_eq!(interval_cmp_value(0, 30, 0), interval_cmp_value(0, 0, 720 * hour));
        assert_eq!(interval_cmp_value(12, 0, 0), interval_cmp_value(0, 360, 0));
        assert!(interval_cmp_value(0, 1, 0) > interval_cmp_value(0, 0, 23 * hour));
        assert_eq!(interval_cmp_value(-1, 30, 0), 0);
        // The extremes fit.
        let _ = interval_cmp_value(i32::MAX, i32::MAX, i64::MAX);
        let f = BpcharKey::udf();
        let arr: ArrayRef = Arc::new(StringViewArray::from(vec![Some("a  "), Some("a\t "), Some(" "), None]));
        let args = ScalarFunctionArgs {
            args: vec![ColumnarValue::Array(arr)],
            arg_fields: vec![Arc::new(datafusion::arrow::datatypes::Field::new(
                "a",
                DataType::Utf8View,
                true,
            ))],
            number_rows: 4,
            return_field: Arc::new(datafusion::arrow::datatypes::Field::new("k", DataType::Utf8View, true)),
            config_options: Arc::new(datafusion::config::ConfigOptions::default()),
        };
        let ColumnarValue::Array(out) = f.invoke_with_args(args).unwrap() else { panic!("not an array") };
        let out: Vec<Option<&str>> = out.as_string_view().iter().collect();
        assert_eq!(out, vec![Some("a"), Some("a\t"), Some(""), None]);
        // Text of another encoding (LATIN1's é is 0xE9; EUC_JP's 日 is 0xC6 0xFC): bytes trimmed.
        let values: Vec<Option<&[u8]>> = vec![Some(b"caf\xe9  "), Some(b"\xc6\xfc "), Some(b"  "), None];
        let arr: ArrayRef = Arc::new(BinaryViewArray::from(values));
        let field = |n| Arc::new(datafusion::arrow::datatypes::Field::new(n, DataType::BinaryView, true));
        assert_eq!(f.return_type(&[DataType::BinaryView]).unwrap(), DataType::BinaryView);
        let args = ScalarFunctionArgs {
            args: vec![ColumnarValue::Array(arr)],
            arg_fields: vec![field("a")],
            number_rows: 4,
            return_field: field("k"),
            config_options: Arc::new(datafusion::config::ConfigOptions::default()),
        };
        let ColumnarValue::Array(out) = f.invoke_with_args(args).unwrap() else { panic!("not an array") };
        let out: Vec<Option<&[u8]>> = out.as_binary_view().iter().collect();
        assert_eq!(out, vec![Some(&b"caf\xe9"[..]), Some(&b"\xc6\xfc"[..]), Some(&b""[..]), None]);
    }

    #[test]
    fn integer_division_is_postgresql_s() {
        let f = |op, ty| IntArith { op, ty, signature: Signature::any(2, Volatility::Immutable) };
        let (div4, mod4) = (f(ArithOp::Div, DataType::Int32), f(ArithOp::Mod, DataType::Int32));
        // Truncation toward zero; the remainder takes the dividend's sign.
        assert_eq!(div4.apply(-7, 2).ok(), Some(-3));
        assert_eq!(mod4.apply(-7, 2).ok(), Some(-1));
        assert_eq!(mod4.apply(7, -2).ok(), Some(1));
        assert!(matches!(div4.apply(1, 0), Err(ArrowError::DivideByZero)));
        assert!(matches!(mod4.apply(1, 0), Err(ArrowError::DivideByZero)));
        // The smallest value divided by -1 overflows; modulo -1 is 0.
        assert!(matches!(div4.apply(i32::MIN as i64, -1), Err(ArrowError::ArithmeticOverflow(_))));
        assert_eq!(mod4.apply(i32::MIN as i64, -1).ok(), Some(0));
        let (div8, mod8) = (f(ArithOp::Div, DataType::Int64), f(ArithOp::Mod, DataType::Int64));
        assert!(matches!(div8.apply(i64::MIN, -1), Err(ArrowError::ArithmeticOverflow(_))));
        assert_eq!(mod8.apply(i64::MIN, -1).ok(), Some(0));
        assert!(f(ArithOp::Div, DataType::Int16).apply(i16::MIN as i64, -1).is_err());
    }
}
