//! Reading one block as Arrow arrays without copying (the worker side).
//!
//! The page arrives as one Arrow [`Buffer`] (in the worker, a custom allocation whose owner returns
//! the page to the pool when the last array referencing it drops). Every array is a slice of that
//! buffer. All validation happens here, once, before any array is built: afterwards arrays are
//! assembled without per-value checks.

use std::sync::Arc;

use datafusion::arrow::array::{
    make_array, new_null_array, Array, ArrayRef, AsArray, BinaryViewArray, BooleanArray, Date32Array,
    Decimal128Array, FixedSizeBinaryArray, Float32Array, Float64Array, Int16Array, Int32Array, Int64Array,
    IntervalMonthDayNanoArray, MutableArrayData, StringViewArray, Time64MicrosecondArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::error::ArrowError;

use super::{
    column_regions, BlockError, ColumnType, BLOCK_MAGIC, BLOCK_VERSION, DESC_SIZE, HEADER_SIZE,
    NARROW_DECIMAL_PRECISION,
};

/// A decoded block: `rows` rows, one array per column.
pub struct DecodedBlock {
    pub rows: usize,
    pub columns: Vec<ArrayRef>,
}

fn u32_at(b: &[u8], at: usize) -> usize {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_ne_bytes(w) as usize
}

fn invalid(what: &'static str) -> BlockError {
    BlockError::Invalid(what)
}

/// Validate the block in `page` and wrap its columns. `expected` is the schema the consumer
/// planned for; a block of any other shape is rejected.
pub fn decode_block(page: &Buffer, expected: &[ColumnType]) -> Result<DecodedBlock, BlockError> {
    let b = page.as_slice();
    if b.len() < HEADER_SIZE {
        return Err(invalid("shorter than its header"));
    }
    if page.as_ptr() as usize % super::REGION_ALIGN != 0 {
        return Err(invalid("page is not 64-byte aligned"));
    }
    if u32_at(b, 0) as u32 != BLOCK_MAGIC {
        return Err(invalid("bad magic"));
    }
    if u16::from_ne_bytes([b[4], b[5]]) != BLOCK_VERSION {
        return Err(invalid("unknown version"));
    }
    let ncols = u16::from_ne_bytes([b[6], b[7]]) as usize;
    let rows = u32_at(b, 8);
    let capacity = u32_at(b, 12);
    let tail = u32_at(b, 16);
    let page_len = u32_at(b, 20);
    let fixed_end = u32_at(b, 24);
    if ncols != expected.len() {
        return Err(invalid("column count differs from the plan"));
    }
    if page_len > b.len() || HEADER_SIZE + ncols * DESC_SIZE > page_len {
        return Err(invalid("page length"));
    }
    if rows > capacity || capacity > page_len * 8 {
        return Err(invalid("row count"));
    }
    let (regions, end) = column_regions(expected, capacity);
    if end != fixed_end || fixed_end > tail || tail > page_len {
        return Err(invalid("regions overlap the tail or the page end"));
    }

    let mut columns = Vec::with_capacity(ncols);
    for (i, (&t, &(values, validity))) in expected.iter().zip(&regions).enumerate() {
        let d = HEADER_SIZE + i * DESC_SIZE;
        let (tag, precision, scale) = (b[d], b[d + 1], b[d + 2] as i8);
        if ColumnType::from_tag(tag, precision, scale) != Some(t) {
            return Err(invalid("column type differs from the plan"));
        }
        if u32_at(b, d + 8) != values || u32_at(b, d + 12) != validity {
            return Err(invalid("column offsets"));
        }
        if u32_at(b, d + 4) > rows {
            return Err(invalid("null count"));
        }
        // The regions were recomputed from (types, capacity) and end at fixed_end <= page_len, so
        // every slice below is in bounds.
        let nulls = NullBuffer::new(BooleanBuffer::new(page.clone(), validity * 8, rows));
        let nulls = (nulls.null_count() > 0).then_some(nulls);
        if t.is_view() {
            // Views are copied out of shared memory before they are checked: Arrow re-reads a
            // view's offset and length on every access, so checking them in place would let a
            // later write to the page undo the check. Payloads stay in the page (zero-copy).
            let views: Vec<u128> = b[values..values + 16 * rows]
                .chunks_exact(16)
                .map(|v| u128::from_ne_bytes(v.try_into().unwrap_or([0; 16])))
                .collect();
            check_views(b, &views, tail, page_len)?;
            columns.push(build_view_array(page, t, ScalarBuffer::from(views), nulls));
            continue;
        }
        columns.push(build_array(page, t, values, rows, nulls));
    }
    Ok(DecodedBlock { rows, columns })
}

/// Every long view must point into the tail, inside the page, with its prefix equal to the
/// payload's first bytes (comparisons use it); inline padding must be zero.
fn check_views(page: &[u8], views: &[u128], tail: usize, page_len: usize) -> Result<(), BlockError> {
    for view in views {
        let bytes = view.to_ne_bytes();
        let v = &bytes[..];
        let len = u32_at(v, 0);
        if len <= 12 {
            // Bytes 4 + len .. 16 must be zero: on little-endian hosts, the view's bits from
            // 8 * (4 + len) up (one shift instead of a byte loop per value).
            #[cfg(target_endian = "little")]
            let padded = view.checked_shr(8 * (4 + len) as u32).unwrap_or(0) != 0;
            #[cfg(not(target_endian = "little"))]
            let padded = v[4 + len..].iter().any(|&x| x != 0);
            if padded {
                return Err(invalid("inline view padding is not zero"));
            }
        } else {
            let (buffer, offset) = (u32_at(v, 8), u32_at(v, 12));
            if buffer != 0 || offset < tail || offset + len > page_len {
                return Err(invalid("view outside the tail"));
            }
            if v[4..8] != page[offset..offset + 4] {
                return Err(invalid("view prefix differs from its payload"));
            }
        }
    }
    Ok(())
}

fn build_array(
    page: &Buffer,
    t: ColumnType,
    values: usize,
    rows: usize,
    nulls: Option<NullBuffer>,
) -> ArrayRef {
    fn scalar<T: datafusion::arrow::datatypes::ArrowNativeType>(
        page: &Buffer,
        at: usize,
        rows: usize,
    ) -> ScalarBuffer<T> {
        // `at` is 64-byte aligned within a 64-byte aligned page, so a multiple of size_of::<T>().
        ScalarBuffer::new(page.clone(), at / std::mem::size_of::<T>(), rows)
    }
    match t {
        ColumnType::Boolean => {
            Arc::new(BooleanArray::new(BooleanBuffer::new(page.clone(), values * 8, rows), nulls))
        }
        ColumnType::Int16 => Arc::new(Int16Array::new(scalar(page, values, rows), nulls)),
        ColumnType::Int32 => Arc::new(Int32Array::new(scalar(page, values, rows), nulls)),
        ColumnType::Int64 => Arc::new(Int64Array::new(scalar(page, values, rows), nulls)),
        ColumnType::Float32 => Arc::new(Float32Array::new(scalar(page, values, rows), nulls)),
        ColumnType::Float64 => Arc::new(Float64Array::new(scalar(page, values, rows), nulls)),
        ColumnType::Date32 => Arc::new(Date32Array::new(scalar(page, values, rows), nulls)),
        ColumnType::Time64Us => Arc::new(Time64MicrosecondArray::new(scalar(page, values, rows), nulls)),
        ColumnType::TimestampUs { utc } => {
            let a = TimestampMicrosecondArray::new(scalar(page, values, rows), nulls);
            Arc::new(if utc { a.with_timezone("UTC") } else { a })
        }
        ColumnType::Decimal128 { precision, scale } => Arc::new(
            Decimal128Array::new(
                if precision <= NARROW_DECIMAL_PRECISION {
                    // 8 bytes a value (module rules of `page`): widened into a buffer of our own.
                    scalar::<i64>(page, values, rows).iter().map(|&v| v as i128).collect()
                } else {
                    scalar(page, values, rows)
                },
                nulls,
            )
            .with_precision_and_scale(precision, scale)
            // from_tag admitted only 1..=38 with |scale| <= precision, which Arrow accepts.
            .unwrap_or_else(|_| Decimal128Array::new_null(rows)),
        ),
        ColumnType::IntervalMonthDayNano => {
            Arc::new(IntervalMonthDayNanoArray::new(scalar(page, values, rows), nulls))
        }
        ColumnType::FixedSizeBinary16 => {
            let bytes = page.slice_with_length(values, 16 * rows);
            Arc::new(FixedSizeBinaryArray::new(16, bytes, nulls))
        }
        // decode_block builds view columns with `build_view_array`, from a checked private copy
        // of the views; it never routes them here.
        ColumnType::Utf8View | ColumnType::BinaryView | ColumnType::Opaque | ColumnType::EncodedText => {
            new_null_array(&t.arrow_type(), rows)
        }
    }
}

/// `views` must be a private copy already passed through `check_views` (see `decode_block`).
fn build_view_array(
    page: &Buffer,
    t: ColumnType,
    views: ScalarBuffer<u128>,
    nulls: Option<NullBuffer>,
) -> ArrayRef {
    if t == ColumnType::Utf8View {
        // SAFETY: `check_views` proved every long view of this private copy lies inside buffer 0
        // (the page), and the text is valid UTF-8 because PostgreSQL validated it in a UTF8
        // database (module rules); inline views have zeroed padding.
        Arc::new(unsafe { StringViewArray::new_unchecked(views, vec![page.clone()], nulls) })
    } else {
        // SAFETY: as above; binary needs no encoding check.
        Arc::new(unsafe { BinaryViewArray::new_unchecked(views, vec![page.clone()], nulls) })
    }
}

/// Copy every buffer of `a` (view payloads included) into worker memory, so that nothing keeps
/// its page. (Arrow's `concat` of one array only slices it; a view array's `gc` keeps its nulls.)
pub fn deep_copy(a: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    let data = a.to_data();
    let mut copy = MutableArrayData::new(vec![&data], false, a.len());
    copy.try_extend(0, 0, a.len())?;
    let copied = make_array(copy.freeze());
    // The copy's views still point at the page's payloads: `gc` copies those.
    Ok(match copied.data_type() {
        DataType::Utf8View => Arc::new(copied.as_string_view().gc()),
        DataType::BinaryView => Arc::new(copied.as_binary_view().gc()),
        _ => copied,
    })
}
