//! Aggregate functions pg_fusion adds to DataFusion where PostgreSQL's result differs from any
//! builtin's. They travel in the plan by name and parameters (see `codec`).
//!
//! - [`NumericStatistic`] (`pg_numeric_statistic`): `var_samp`, `var_pop`, `stddev_samp` and
//!   `stddev_pop` of numeric or integer values exactly as PostgreSQL computes them (see
//!   `crate::value::numeric_stats`). DataFusion's own variance is a float computation; this one
//!   keeps the count, the sum and the sum of squares as exact integers and produces
//!   PostgreSQL's text of the result, whose display scale depends on the values. The backend
//!   reads that text back as numeric.
//! - [`FloatMinMax`] (`pg_float_min`, `pg_float_max`): `min`/`max` of `real`/`float8` as
//!   PostgreSQL compares floats (`float8_lt`): NaN equals NaN and is larger than every other
//!   value, Infinity is a value like any other, -0 equals 0 and a group of -0 alone gives -0.
//!   DataFusion's own float min/max skip NaN and start from the type's largest finite value.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    i256, DataType, Decimal128Type, Decimal256Type, Field, FieldRef, Float32Type, Float64Type, Int64Type,
};
use datafusion::arrow::error::ArrowError;
use datafusion::common::{plan_err, DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};
use num_bigint::BigInt;

use crate::value::numeric_stats::{statistic_text, Statistic};

pub const NUMERIC_STATISTIC: &str = "pg_numeric_statistic";
pub const FLOAT_MIN: &str = "pg_float_min";
pub const FLOAT_MAX: &str = "pg_float_max";

/// The statistic over a Decimal128(38, scale) argument (integers: scale 0). The sums are 256-bit
/// and checked: a square of a 38-digit value fits, and the translator passes inputs of at most
/// 32 digits, whose sum of squares needs more than 5 * 10^12 rows to overflow (an error, 22003).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NumericStatistic {
    stat: Statistic,
    scale: i8,
    signature: Signature,
}

impl NumericStatistic {
    pub fn udaf(stat: Statistic, scale: i8) -> Arc<AggregateUDF> {
        Arc::new(AggregateUDF::new_from_impl(NumericStatistic {
            stat,
            scale,
            signature: Signature::exact(vec![DataType::Decimal128(38, scale)], Volatility::Immutable),
        }))
    }

    /// The parameters as the plan carries them: flags (1: sample, 2: square root), scale.
    pub fn encode(&self) -> [u8; 2] {
        [u8::from(self.stat.sample) | (u8::from(self.stat.sqrt) << 1), self.scale as u8]
    }

    pub fn decode(buf: &[u8]) -> Option<Arc<AggregateUDF>> {
        match buf {
            [flags, scale] if *flags < 4 && (0..=38).contains(&(*scale as i8)) => {
                Some(Self::udaf(Statistic { sample: flags & 1 != 0, sqrt: flags & 2 != 0 }, *scale as i8))
            }
            _ => None,
        }
    }
}

impl AggregateUDFImpl for NumericStatistic {
    fn name(&self) -> &str {
        NUMERIC_STATISTIC
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8View)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if args.is_distinct {
            return plan_err!("{NUMERIC_STATISTIC} does not take DISTINCT");
        }
        Ok(Box::new(StatisticAccumulator {
            stat: self.stat,
            scale: self.scale,
            count: 0,
            sum: i256::ZERO,
            sum_sq: i256::ZERO,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let field =
            |what: &str, t: DataType| Arc::new(Field::new(format_state_name(args.name, what), t, true));
        Ok(vec![
            field("count", DataType::Int64),
            field("sum", DataType::Decimal256(76, self.scale)),
            field("sum_sq", DataType::Decimal256(76, 2 * self.scale)),
        ])
    }
}

#[derive(Debug)]
struct StatisticAccumulator {
    stat: Statistic,
    scale: i8,
    count: i64,
    sum: i256,
    sum_sq: i256,
}

fn overflow() -> DataFusionError {
    DataFusionError::ArrowError(
        Box::new(ArrowError::ArithmeticOverflow("numeric statistic sums overflow".into())),
        None,
    )
}

impl StatisticAccumulator {
    fn add(&mut self, count: i64, sum: i256, sum_sq: i256) -> Result<()> {
        self.count = self.count.checked_add(count).ok_or_else(overflow)?;
        self.sum = self.sum.checked_add(sum).ok_or_else(overflow)?;
        self.sum_sq = self.sum_sq.checked_add(sum_sq).ok_or_else(overflow)?;
        Ok(())
    }
}

fn big(v: i256) -> BigInt {
    BigInt::from_signed_bytes_le(&v.to_le_bytes())
}

impl Accumulator for StatisticAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let [values] = values else { return plan_err!("{NUMERIC_STATISTIC} takes one argument") };
        let DataType::Decimal128(_, s) = values.data_type() else {
            return plan_err!("{NUMERIC_STATISTIC} of {}", values.data_type());
        };
        if *s != self.scale {
            return plan_err!("{NUMERIC_STATISTIC} of scale {s}, planned for {}", self.scale);
        }
        for v in values.as_primitive::<Decimal128Type>().iter().flatten() {
            let v = i256::from_i128(v);
            self.add(1, v, v.checked_mul(v).ok_or_else(overflow)?)?;
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [count, sum, sum_sq] = states else { return plan_err!("{NUMERIC_STATISTIC}: bad state") };
        let (count, sum, sum_sq) = (
            count.as_primitive::<Int64Type>(),
            sum.as_primitive::<Decimal256Type>(),
            sum_sq.as_primitive::<Decimal256Type>(),
        );
        for i in 0..count.len() {
            if count.is_valid(i) && sum.is_valid(i) && sum_sq.is_valid(i) {
                self.add(count.value(i), sum.value(i), sum_sq.value(i))?;
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Int64(Some(self.count)),
            ScalarValue::Decimal256(Some(self.sum), 76, self.scale),
            ScalarValue::Decimal256(Some(self.sum_sq), 76, 2 * self.scale),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let text =
            statistic_text(self.stat, self.count, &big(self.sum), &big(self.sum_sq), self.scale as u32);
        Ok(ScalarValue::Utf8View(text))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

/// PostgreSQL's `float8smaller`/`float8larger` (and `float4`'s) as an aggregate.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FloatMinMax {
    max: bool,
    signature: Signature,
}

impl FloatMinMax {
    pub fn udaf(max: bool) -> Arc<AggregateUDF> {
        Arc::new(AggregateUDF::new_from_impl(FloatMinMax {
            max,
            signature: Signature::uniform(
                1,
                vec![DataType::Float32, DataType::Float64],
                Volatility::Immutable,
            ),
        }))
    }
}

/// PostgreSQL's `float8_lt(a, b)`: NaN is larger than every other value and equal to NaN.
fn pg_float_lt(a: f64, b: f64) -> bool {
    !a.is_nan() && (b.is_nan() || a < b)
}

impl AggregateUDFImpl for FloatMinMax {
    fn name(&self) -> &str {
        if self.max {
            FLOAT_MAX
        } else {
            FLOAT_MIN
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [t @ (DataType::Float32 | DataType::Float64)] => Ok(t.clone()),
            _ => plan_err!("{} takes one float, not {args:?}", self.name()),
        }
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let ty = args.return_field.data_type().clone();
        Ok(Box::new(FloatMinMaxAccumulator { max: self.max, ty, value: None }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let ty = args.return_field.data_type().clone();
        Ok(vec![Arc::new(Field::new(format_state_name(args.name, "value"), ty, true))])
    }
}

#[derive(Debug)]
struct FloatMinMaxAccumulator {
    max: bool,
    ty: DataType,
    value: Option<f64>,
}

impl FloatMinMaxAccumulator {
    /// `float8smaller(state, x)` / `float8larger(state, x)`: the state stays only when it is
    /// strictly smaller (larger); an equal value replaces it, as in PostgreSQL.
    fn add(&mut self, x: f64) {
        self.value = Some(match self.value {
            Some(v) if (!self.max && pg_float_lt(v, x)) || (self.max && pg_float_lt(x, v)) => v,
            _ => x,
        });
    }

    fn add_array(&mut self, values: &ArrayRef) -> Result<()> {
        match values.data_type() {
            DataType::Float64 => {
                values.as_primitive::<Float64Type>().iter().flatten().for_each(|x| self.add(x))
            }
            DataType::Float32 => {
                values.as_primitive::<Float32Type>().iter().flatten().for_each(|x| self.add(f64::from(x)))
            }
            t => return plan_err!("pg float min/max of {t}"),
        }
        Ok(())
    }

    fn scalar(&self) -> ScalarValue {
        match self.ty {
            // A float4 widened to float8 narrows back exactly (NaN, infinities and -0 included).
            DataType::Float32 => ScalarValue::Float32(self.value.map(|v| v as f32)),
            _ => ScalarValue::Float64(self.value),
        }
    }
}

impl Accumulator for FloatMinMaxAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let [values] = values else { return plan_err!("pg float min/max takes one argument") };
        self.add_array(values)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [values] = states else { return plan_err!("pg float min/max: bad state") };
        self.add_array(values)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.scalar()])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.scalar())
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Decimal128Array;

    fn decimals(v: &[Option<i128>], scale: i8) -> ArrayRef {
        Arc::new(Decimal128Array::from(v.to_vec()).with_precision_and_scale(38, scale).unwrap())
    }

    #[test]
    fn accumulates_merges_and_skips_nulls() {
        let stat = Statistic { sample: true, sqrt: false };
        let new = || StatisticAccumulator { stat, scale: 2, count: 0, sum: i256::ZERO, sum_sq: i256::ZERO };
        // 1.50, NULL | 2.25, 10.00 in two partitions, merged.
        let mut a = new();
        a.update_batch(&[decimals(&[Some(150), None], 2)]).unwrap();
        let mut b = new();
        b.update_batch(&[decimals(&[Some(225), Some(1000)], 2)]).unwrap();
        let state: Vec<ArrayRef> = b.state().unwrap().iter().map(|s| s.to_array().unwrap()).collect();
        a.merge_batch(&state).unwrap();
        assert_eq!(a.evaluate().unwrap(), ScalarValue::Utf8View(Some("22.1458333333333333".into())));
        // No rows: NULL.
        assert_eq!(new().evaluate().unwrap(), ScalarValue::Utf8View(None));
        // A state of the wrong scale is refused, never misread.
        let mut c = new();
        assert!(c.update_batch(&[decimals(&[Some(1)], 3)]).is_err());
    }

    #[test]
    fn float_min_max_order_as_postgresql() {
        let run = |max: bool, v: &[f64]| {
            let mut a = FloatMinMaxAccumulator { max, ty: DataType::Float64, value: None };
            let arr: ArrayRef = Arc::new(datafusion::arrow::array::Float64Array::from(v.to_vec()));
            a.update_batch(&[arr]).unwrap();
            match a.evaluate().unwrap() {
                ScalarValue::Float64(v) => v,
                other => panic!("{other:?}"),
            }
        };
        let (inf, nan) = (f64::INFINITY, f64::NAN);
        assert_eq!(run(false, &[inf]), Some(inf));
        assert_eq!(run(true, &[-inf, 5.0]), Some(5.0));
        assert!(run(true, &[2.0, nan, inf]).unwrap().is_nan());
        assert_eq!(run(false, &[2.0, nan, inf]), Some(2.0));
        assert_eq!(run(true, &[nan, -inf]).map(|v| v.is_nan()), Some(true));
        assert!(run(false, &[-0.0]).unwrap().is_sign_negative());
        assert!(run(true, &[-0.0]).unwrap().is_sign_negative());
        assert_eq!(run(false, &[]), None);
        // float4 keeps its type and its values exactly.
        let mut a = FloatMinMaxAccumulator { max: false, ty: DataType::Float32, value: None };
        let arr: ArrayRef = Arc::new(datafusion::arrow::array::Float32Array::from(vec![f32::INFINITY, -0.0]));
        a.update_batch(&[arr]).unwrap();
        assert!(
            matches!(a.evaluate().unwrap(), ScalarValue::Float32(Some(v)) if v == 0.0 && v.is_sign_negative())
        );
    }

    #[test]
    fn parameters_round_trip() {
        let f = NumericStatistic::udaf(Statistic { sample: false, sqrt: true }, 4);
        let any: &dyn std::any::Any = f.inner().as_ref();
        let s = any.downcast_ref::<NumericStatistic>().unwrap();
        assert_eq!(s.encode(), [2, 4]);
        assert!(NumericStatistic::decode(&[2, 4]).is_some());
        assert!(NumericStatistic::decode(&[4, 4]).is_none());
        assert!(NumericStatistic::decode(&[1]).is_none());
    }
}
