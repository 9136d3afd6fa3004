//! Writing the rows of an Arrow [`RecordBatch`] into a block (the worker's result side).
//!
//! The batch's columns must already have the block's Arrow types (the plan casts its output to
//! them); anything else is an error, never a reinterpretation.

use datafusion::arrow::array::{
    Array, AsArray, BinaryViewArray, BooleanArray, Decimal128Array, FixedSizeBinaryArray, StringViewArray,
};
use datafusion::arrow::datatypes::{
    Date32Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, IntervalMonthDayNanoType,
    Time64MicrosecondType, TimestampMicrosecondType,
};
use datafusion::arrow::record_batch::RecordBatch;

use super::encode::{BlockWriter, PutError};
use super::ColumnType;

#[derive(Debug, PartialEq, Eq)]
pub enum BatchError {
    /// Column `column` has Arrow type `found`, the block expects another.
    TypeMismatch {
        column: usize,
        found: String,
    },
    ValueTooLarge {
        column: usize,
        len: usize,
    },
    /// A Decimal128 value out of its column's 8-byte range (more digits than its precision).
    DecimalOverflow {
        column: usize,
    },
}

enum Col<'a> {
    Bool(&'a BooleanArray),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    F32(&'a [f32]),
    F64(&'a [f64]),
    Dec(&'a Decimal128Array),
    Str(&'a StringViewArray),
    Bin(&'a BinaryViewArray),
    Interval(&'a [datafusion::arrow::datatypes::IntervalMonthDayNano]),
    Fixed(&'a FixedSizeBinaryArray),
}

fn columns<'a>(
    batch: &'a RecordBatch,
    types: &[ColumnType],
) -> Result<Vec<(Col<'a>, &'a dyn Array)>, BatchError> {
    if batch.num_columns() != types.len() {
        return Err(BatchError::TypeMismatch { column: batch.num_columns(), found: "column count".into() });
    }
    batch
        .columns()
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (a, t))| {
            if a.data_type() != &t.arrow_type() {
                return Err(BatchError::TypeMismatch { column: i, found: a.data_type().to_string() });
            }
            let c = match t {
                ColumnType::Boolean => Col::Bool(a.as_boolean()),
                ColumnType::Int16 => Col::I16(a.as_primitive::<Int16Type>().values()),
                ColumnType::Int32 => Col::I32(a.as_primitive::<Int32Type>().values()),
                ColumnType::Date32 => Col::I32(a.as_primitive::<Date32Type>().values()),
                ColumnType::Int64 => Col::I64(a.as_primitive::<Int64Type>().values()),
                ColumnType::Time64Us => Col::I64(a.as_primitive::<Time64MicrosecondType>().values()),
                ColumnType::TimestampUs { .. } => {
                    Col::I64(a.as_primitive::<TimestampMicrosecondType>().values())
                }
                ColumnType::Float32 => Col::F32(a.as_primitive::<Float32Type>().values()),
                ColumnType::Float64 => Col::F64(a.as_primitive::<Float64Type>().values()),
                ColumnType::Decimal128 { .. } => Col::Dec(a.as_primitive()),
                ColumnType::Utf8View => Col::Str(a.as_string_view()),
                ColumnType::BinaryView | ColumnType::Opaque | ColumnType::EncodedText => {
                    Col::Bin(a.as_binary_view())
                }
                ColumnType::IntervalMonthDayNano => {
                    Col::Interval(a.as_primitive::<IntervalMonthDayNanoType>().values())
                }
                ColumnType::FixedSizeBinary16 => Col::Fixed(a.as_fixed_size_binary()),
            };
            Ok((c, a.as_ref()))
        })
        .collect()
}

/// Write rows `from..` of `batch` until the block is full; returns the next row to write.
pub fn put_rows(
    w: &mut BlockWriter<'_>,
    batch: &RecordBatch,
    types: &[ColumnType],
    from: usize,
) -> Result<usize, BatchError> {
    let cols = columns(batch, types)?;
    let mut row = from;
    'rows: while row < batch.num_rows() {
        if w.begin_row().is_err() {
            break;
        }
        for (j, (c, a)) in cols.iter().enumerate() {
            if a.is_null(row) {
                w.put_null(j);
                continue;
            }
            let r = match c {
                Col::Bool(v) => {
                    w.put_bool(j, v.value(row));
                    Ok(())
                }
                Col::I16(v) => {
                    w.put_i16(j, v[row]);
                    Ok(())
                }
                Col::I32(v) => {
                    w.put_i32(j, v[row]);
                    Ok(())
                }
                Col::I64(v) => {
                    w.put_i64(j, v[row]);
                    Ok(())
                }
                Col::F32(v) => {
                    w.put_f32(j, v[row]);
                    Ok(())
                }
                Col::F64(v) => {
                    w.put_f64(j, v[row]);
                    Ok(())
                }
                Col::Dec(v) => {
                    if !w.put_decimal(j, v.value(row)) {
                        w.rollback_row();
                        return Err(BatchError::DecimalOverflow { column: j });
                    }
                    Ok(())
                }
                Col::Str(v) => w.put_bytes(j, v.value(row).as_bytes()),
                Col::Bin(v) => w.put_bytes(j, v.value(row)),
                Col::Interval(v) => {
                    w.put_interval(j, v[row].months, v[row].days, v[row].nanoseconds);
                    Ok(())
                }
                Col::Fixed(v) => {
                    let mut b = [0u8; 16];
                    b.copy_from_slice(v.value(row));
                    w.put_fixed16(j, &b);
                    Ok(())
                }
            };
            match r {
                Ok(()) => {}
                Err(PutError::Full) => {
                    w.rollback_row();
                    break 'rows;
                }
                Err(PutError::ValueTooLarge { column, len }) => {
                    w.rollback_row();
                    return Err(BatchError::ValueTooLarge { column, len });
                }
            }
        }
        w.commit_row();
        row += 1;
    }
    Ok(row)
}
