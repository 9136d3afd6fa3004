//! Scalar functions pg_fusion adds to DataFusion where PostgreSQL's semantics differ from any
//! builtin. They travel in the plan by name and parameters (see `codec`).
//!
//! - [`NumericDiv`] (`pg_numeric_div`): PostgreSQL's `numeric_div` of a decimal by a count or a
//!   decimal (`avg(numeric)` is its sum divided by its count), rounded at PostgreSQL's
//!   value-dependent result scale and held at one fixed scale. Its value is exactly PostgreSQL's;
//!   its display scale is not, so the translator uses it only where the value alone matters
//!   (comparisons).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Decimal128Array};
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Int64Type};
use datafusion::arrow::error::ArrowError;
use datafusion::common::{plan_err, DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::value::numeric_div::{pg_div, DivError};

pub const NUMERIC_DIV: &str = "pg_numeric_div";

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
}
