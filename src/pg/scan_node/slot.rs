//! Result values into the scan tuple slot: each Arrow value as a datum of the output column's
//! PostgreSQL type, built in the per-tuple memory context.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType,
};

use crate::page::decode::DecodedBlock;
use crate::page::ColumnType;
use crate::pg::error::{guard, PgError, PgResult};
use crate::pg::sys;
use crate::value::datetime::{date_from_arrow, timestamp_from_arrow};

/// Store row `row` of `block` into `slot` as datums of the output types.
pub(super) fn fill(
    node: *mut sys::CustomScanState,
    slot: *mut sys::TupleTableSlot,
    block: &DecodedBlock,
    row: usize,
    types: &[ColumnType],
    layouts: &[(i16, bool)],
) -> PgResult<()> {
    // SAFETY: the per-tuple memory of this node's expression context; the slot's arrays have one entry per output column. The closure owns nothing, so an ERROR (out of memory) may skip it.
    let stored = guard(|| unsafe {
        let econtext = (*node).ss.ps.ps_ExprContext;
        let old = sys::CurrentMemoryContext;
        sys::CurrentMemoryContext = (*econtext).ecxt_per_tuple_memory;
        sys::pgf_exec_clear_tuple(slot);
        let values = (*slot).tts_values;
        let nulls = (*slot).tts_isnull;
        let mut bad = None;
        for (i, col) in block.columns.iter().enumerate() {
            if col.is_null(row) {
                *nulls.add(i) = true;
                *values.add(i) = 0;
                continue;
            }
            *nulls.add(i) = false;
            match datum(col.as_ref(), row, types[i], layouts[i]) {
                Some(d) => *values.add(i) = d,
                None => {
                    bad = Some(i);
                    break;
                }
            }
        }
        if bad.is_none() {
            sys::ExecStoreVirtualTuple(slot);
        }
        sys::CurrentMemoryContext = old;
        bad
    })?;
    match stored {
        None => Ok(()),
        Some(i) => Err(PgError::internal(format!(
            "result column {} holds a {:?} PostgreSQL has no value for",
            i + 1,
            types[i]
        ))),
    }
}

/// One value as a datum of a PostgreSQL type stored as `(typlen, typbyval)` (palloc'd where by
/// reference); None for a date or timestamp outside PostgreSQL's range (DataFusion computes no
/// dates or timestamps, so only a corrupt block has one).
///
/// # Safety
/// Call with CurrentMemoryContext set to where the datum should live; may raise.
unsafe fn datum(col: &dyn Array, row: usize, ty: ColumnType, layout: (i16, bool)) -> Option<sys::Datum> {
    // SAFETY: caller's contract; palloc and numeric construction may raise.
    unsafe {
        Some(match ty {
            ColumnType::Boolean => col.as_boolean().value(row) as sys::Datum,
            ColumnType::Int16 => col.as_primitive::<Int16Type>().value(row) as i64 as sys::Datum,
            ColumnType::Int32 => col.as_primitive::<Int32Type>().value(row) as i64 as sys::Datum,
            ColumnType::Int64 => col.as_primitive::<Int64Type>().value(row) as sys::Datum,
            ColumnType::Float32 => col.as_primitive::<Float32Type>().value(row).to_bits() as sys::Datum,
            ColumnType::Float64 => col.as_primitive::<Float64Type>().value(row).to_bits() as sys::Datum,
            ColumnType::Decimal128 { scale, .. } => {
                let v = col.as_primitive::<Decimal128Type>().value(row);
                if let Ok(small) = i64::try_from(v) {
                    sys::int64_div_fast_to_numeric(small, scale as i32) as sys::Datum
                } else {
                    let mut buf = [0u8; 64];
                    let text = decimal_text(v, scale as u32, &mut buf);
                    sys::pgf_numeric_in(text.as_ptr() as *const std::ffi::c_char)
                }
            }
            ColumnType::Utf8View | ColumnType::BinaryView | ColumnType::Opaque | ColumnType::EncodedText => {
                let bytes: &[u8] = if ty == ColumnType::Utf8View {
                    col.as_string_view().value(row).as_bytes()
                } else {
                    col.as_binary_view().value(row)
                };
                match layout {
                    // A varlena (text, bytea, numeric, jsonb, an array, ...): the bytes behind a
                    // 4-byte header.
                    (-1, _) => sys::cstring_to_text_with_len(
                        bytes.as_ptr() as *const std::ffi::c_char,
                        bytes.len() as i32,
                    ) as sys::Datum,
                    // By value: the low bytes of the datum (the producer sent `typlen` of them).
                    (len, true) => {
                        let mut b = [0u8; std::mem::size_of::<sys::Datum>()];
                        let n = bytes.len().min(b.len()).min(len.max(0) as usize);
                        b[..n].copy_from_slice(&bytes[..n]);
                        sys::Datum::from_le_bytes(b)
                    }
                    // A C string: the characters and a NUL.
                    (-2, _) => {
                        let p = sys::palloc0(bytes.len() + 1) as *mut u8;
                        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
                        p as sys::Datum
                    }
                    // Fixed length by reference (name, timetz, macaddr, ...): zero-filled
                    // `typlen` bytes, so a name shorter than NAMEDATALEN ends with NULs.
                    (len, false) => {
                        let len = len.max(1) as usize;
                        let p = sys::palloc0(len) as *mut u8;
                        let n = bytes.len().min(if ty == ColumnType::Utf8View { len - 1 } else { len });
                        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, n);
                        p as sys::Datum
                    }
                }
            }
            // Infinities are the type's extremes on both sides (see `crate::value::datetime`).
            ColumnType::Date32 => {
                return date_from_arrow(col.as_primitive::<Date32Type>().value(row))
                    .map(|d| d as i64 as sys::Datum)
            }
            ColumnType::TimestampUs { .. } => {
                return timestamp_from_arrow(col.as_primitive::<TimestampMicrosecondType>().value(row))
                    .map(|t| t as sys::Datum)
            }
            ColumnType::Time64Us => col.as_primitive::<Time64MicrosecondType>().value(row) as sys::Datum,
            ColumnType::IntervalMonthDayNano => {
                let v = col.as_primitive::<IntervalMonthDayNanoType>().value(row);
                let p = sys::palloc(std::mem::size_of::<sys::Interval>()) as *mut sys::Interval;
                (*p).time = v.nanoseconds / 1000;
                (*p).day = v.days;
                (*p).month = v.months;
                p as sys::Datum
            }
            ColumnType::FixedSizeBinary16 => {
                let b = col.as_fixed_size_binary().value(row);
                let p = sys::palloc(16) as *mut u8;
                std::ptr::copy_nonoverlapping(b.as_ptr(), p, 16);
                p as sys::Datum
            }
        })
    }
}

/// `v / 10^scale` as NUL-terminated decimal text in `buf` (no allocation).
fn decimal_text(v: i128, scale: u32, buf: &mut [u8; 64]) -> &[u8] {
    let mut digits = [0u8; 48];
    let mut n = 0;
    let mut x = v.unsigned_abs();
    loop {
        digits[n] = b'0' + (x % 10) as u8;
        n += 1;
        x /= 10;
        if x == 0 {
            break;
        }
    }
    while n <= scale as usize {
        digits[n] = b'0';
        n += 1;
    }
    let mut at = 0;
    if v < 0 {
        buf[at] = b'-';
        at += 1;
    }
    for i in (0..n).rev() {
        buf[at] = digits[i];
        at += 1;
        if i == scale as usize && scale > 0 {
            buf[at] = b'.';
            at += 1;
        }
    }
    buf[at] = 0;
    &buf[..=at]
}
