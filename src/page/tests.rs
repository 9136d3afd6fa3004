//! Round trips of every carried type, row rollback, and the decoder's refusal of bad bytes.

use datafusion::arrow::array::{
    Array, AsArray, BinaryViewArray, BooleanArray, Decimal128Array, FixedSizeBinaryArray,
    IntervalMonthDayNanoArray, StringViewArray,
};
use datafusion::arrow::buffer::{Buffer, MutableBuffer};
use datafusion::arrow::datatypes::{
    Date32Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, IntervalMonthDayNano,
    Time64MicrosecondType, TimestampMicrosecondType,
};

use super::decode::decode_block;
use super::encode::{BlockWriter, PutError};
use super::{BlockError, ColumnType, HEADER_SIZE};

const ALL: [ColumnType; 17] = [
    ColumnType::Boolean,
    ColumnType::Int16,
    ColumnType::Int32,
    ColumnType::Int64,
    ColumnType::Float32,
    ColumnType::Float64,
    ColumnType::Decimal128 { precision: 15, scale: 2 },
    ColumnType::Utf8View,
    ColumnType::BinaryView,
    ColumnType::Date32,
    ColumnType::Time64Us,
    ColumnType::TimestampUs { utc: false },
    ColumnType::TimestampUs { utc: true },
    ColumnType::IntervalMonthDayNano,
    ColumnType::FixedSizeBinary16,
    ColumnType::Opaque,
    ColumnType::EncodedText,
];

/// A page as the pool hands it out: zeroed, 64-byte aligned.
fn page(len: usize) -> MutableBuffer {
    MutableBuffer::from_len_zeroed(len)
}

fn text(i: usize) -> String {
    // Short (inline) and long (tail) values, multi-byte characters included.
    if i % 3 == 0 {
        format!("s{i}")
    } else {
        format!("long value number {i} — ünïcödé")
    }
}

/// Text of a LATIN1 database: bytes that are not UTF-8 (é as 0xE9), short and long.
fn latin1(i: usize) -> Vec<u8> {
    let mut v = format!("caf{i}").into_bytes();
    v.push(0xE9);
    if i % 2 == 1 {
        v.extend_from_slice(b" and a value longer than twelve bytes ");
        v.push(0xFF);
    }
    v
}

/// Write row `i` of the all-types table; every 4th row is NULL everywhere.
fn put_row(w: &mut BlockWriter<'_>, i: usize) -> Result<(), PutError> {
    if i % 4 == 3 {
        for c in 0..ALL.len() {
            w.put_null(c);
        }
        return Ok(());
    }
    let n = i as i64;
    w.put_bool(0, i % 2 == 0);
    w.put_i16(1, (n as i16).wrapping_mul(-3));
    w.put_i32(2, -(n as i32) * 1000);
    w.put_i64(3, n * 1_000_000_007);
    w.put_f32(4, n as f32 / 3.0);
    w.put_f64(5, if i == 5 { f64::NAN } else { -(n as f64) / 7.0 });
    assert!(w.put_decimal(6, n as i128 * 12345 - 99));
    w.put_bytes(7, text(i).as_bytes())?;
    w.put_bytes(8, &vec![i as u8; i % 40])?;
    w.put_i32(9, 10957 + i as i32);
    w.put_i64(10, n * 1_000_001);
    w.put_i64(11, n * 86_400_000_000);
    w.put_i64(12, -n * 3_600_000_000);
    w.put_interval(13, i as i32, -(i as i32), n * 1000);
    w.put_fixed16(14, &[i as u8; 16]);
    w.put_bytes(15, &(i as u64).to_le_bytes()[..i % 9])?;
    w.put_bytes(16, &latin1(i))?;
    Ok(())
}

/// Encode rows starting at `first` until the block is full or `last` is reached.
fn fill(buf: &mut MutableBuffer, first: usize, last: usize, capacity: usize) -> (usize, usize) {
    let mut w = BlockWriter::new(buf.as_slice_mut(), &ALL, capacity).unwrap();
    let mut i = first;
    while i < last {
        if w.begin_row().is_err() {
            break;
        }
        match put_row(&mut w, i) {
            Ok(()) => w.commit_row(),
            Err(PutError::Full) => {
                w.rollback_row();
                break;
            }
            Err(e) => panic!("{e:?}"),
        }
        i += 1;
    }
    (w.finish(), i)
}

fn check_rows(cols: &[std::sync::Arc<dyn Array>], first: usize, rows: usize) {
    for r in 0..rows {
        let i = first + r;
        if i % 4 == 3 {
            assert!(cols.iter().all(|c| c.is_null(r)), "row {i} should be NULL everywhere");
            continue;
        }
        let n = i as i64;
        assert_eq!(cols[0].as_any().downcast_ref::<BooleanArray>().unwrap().value(r), i % 2 == 0);
        assert_eq!(cols[1].as_primitive::<Int16Type>().value(r), (n as i16).wrapping_mul(-3));
        assert_eq!(cols[2].as_primitive::<Int32Type>().value(r), -(n as i32) * 1000);
        assert_eq!(cols[3].as_primitive::<Int64Type>().value(r), n * 1_000_000_007);
        assert_eq!(cols[4].as_primitive::<Float32Type>().value(r), n as f32 / 3.0);
        let f = cols[5].as_primitive::<Float64Type>().value(r);
        assert!(if i == 5 { f.is_nan() } else { f == -(n as f64) / 7.0 });
        let d = cols[6].as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(d.value(r), n as i128 * 12345 - 99);
        assert_eq!((d.precision(), d.scale()), (15, 2));
        assert_eq!(cols[7].as_any().downcast_ref::<StringViewArray>().unwrap().value(r), text(i));
        assert_eq!(
            cols[8].as_any().downcast_ref::<BinaryViewArray>().unwrap().value(r),
            vec![i as u8; i % 40]
        );
        assert_eq!(cols[9].as_primitive::<Date32Type>().value(r), 10957 + i as i32);
        assert_eq!(cols[10].as_primitive::<Time64MicrosecondType>().value(r), n * 1_000_001);
        assert_eq!(cols[11].as_primitive::<TimestampMicrosecondType>().value(r), n * 86_400_000_000);
        assert_eq!(cols[12].as_primitive::<TimestampMicrosecondType>().value(r), -n * 3_600_000_000);
        assert_eq!(
            cols[13].as_any().downcast_ref::<IntervalMonthDayNanoArray>().unwrap().value(r),
            IntervalMonthDayNano::new(i as i32, -(i as i32), n * 1000)
        );
        assert_eq!(cols[14].as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap().value(r), [i as u8; 16]);
        assert_eq!(
            cols[15].as_any().downcast_ref::<BinaryViewArray>().map(|a| a.value(r)),
            Some(&(i as u64).to_le_bytes()[..i % 9])
        );
        assert_eq!(
            cols[16].as_any().downcast_ref::<BinaryViewArray>().map(|a| a.value(r)),
            Some(&latin1(i)[..])
        );
    }
}

#[test]
fn opaque_is_its_own_tag_and_bytea_on_the_wire() {
    let list = ColumnType::list_text(&[ColumnType::Opaque, ColumnType::BinaryView]);
    assert_eq!(ColumnType::parse_list(&list), Some(vec![ColumnType::Opaque, ColumnType::BinaryView]));
    assert_eq!(ColumnType::Opaque.arrow_type(), ColumnType::BinaryView.arrow_type());
    assert_eq!(ColumnType::Opaque.wire(), ColumnType::BinaryView);
    assert_eq!(ColumnType::Int32.wire(), ColumnType::Int32);
    // A result column read back from its Arrow type is bytea's, which `wire` names.
    assert_eq!(ColumnType::from_arrow(&ColumnType::Opaque.arrow_type()), Some(ColumnType::Opaque.wire()));
    // Text of a database not in UTF-8 too: its own tag, bytea's Arrow type.
    let list = ColumnType::list_text(&[ColumnType::EncodedText, ColumnType::Utf8View]);
    assert_eq!(ColumnType::parse_list(&list), Some(vec![ColumnType::EncodedText, ColumnType::Utf8View]));
    assert_eq!(ColumnType::EncodedText.wire(), ColumnType::BinaryView);
    assert_eq!(ColumnType::from_arrow(&ColumnType::EncodedText.arrow_type()), Some(ColumnType::BinaryView));
}

#[test]
fn every_type_round_trips_with_nulls() {
    let mut buf = page(65536);
    let capacity = BlockWriter::plan_capacity(65536, &ALL, 32).unwrap();
    let (rows, _) = fill(&mut buf, 0, 200, capacity);
    assert_eq!(rows, 200);
    let page: Buffer = buf.into();
    let block = decode_block(&page, &ALL).unwrap();
    assert_eq!(block.rows, 200);
    for (c, t) in block.columns.iter().zip(ALL) {
        assert_eq!(c.data_type(), &t.arrow_type());
        assert_eq!(c.len(), 200);
        assert_eq!(c.null_count(), 50);
    }
    check_rows(&block.columns, 0, 200);
}

#[test]
fn arrays_share_the_page_without_copying() {
    let mut buf = page(8192);
    fill(&mut buf, 0, 10, 16);
    let page: Buffer = buf.into();
    let block = decode_block(&page, &ALL).unwrap();
    let start = page.as_ptr() as usize;
    for (c, t) in block.columns.iter().zip(ALL) {
        let data = c.to_data();
        // View arrays own a private copy of their 16-byte views (buffer 0); a narrow decimal
        // (8 bytes a value) is widened into a buffer of its own; every other buffer, view
        // payloads included, is a slice of the page.
        if matches!(t, ColumnType::Decimal128 { precision, .. } if precision <= super::NARROW_DECIMAL_PRECISION)
        {
            continue;
        }
        let skip = usize::from(t.is_view());
        for b in data.buffers().iter().skip(skip) {
            let p = b.as_ptr() as usize;
            assert!(p >= start && p + b.len() <= start + page.len(), "buffer outside the page");
        }
    }
}

#[test]
fn decimals_travel_in_8_bytes_up_to_18_digits() -> Result<(), Box<dyn std::error::Error>> {
    use datafusion::arrow::datatypes::Decimal128Type;
    let types = [
        ColumnType::Decimal128 { precision: 18, scale: 0 },
        ColumnType::Decimal128 { precision: 19, scale: 2 },
    ];
    assert_eq!((types[0].width(), types[1].width()), (8, 16));
    let narrow = [999_999_999_999_999_999i128, -999_999_999_999_999_999, 0, 1];
    let wide = [i128::from(i64::MAX) + 1, -(10i128.pow(19) - 1), 7, i128::from(i64::MIN) - 1];
    let mut buf = page(4096);
    let mut w = BlockWriter::new(buf.as_slice_mut(), &types, 8).map_err(|e| format!("{e:?}"))?;
    for (&n, &v) in narrow.iter().zip(&wide) {
        w.begin_row().map_err(|_| "full")?;
        assert!(w.put_decimal(0, n) && w.put_decimal(1, v));
        w.commit_row();
    }
    // A value past an i64 is refused in an 8-byte column, and the row rolled back.
    w.begin_row().map_err(|_| "full")?;
    assert!(!w.put_decimal(0, i128::from(i64::MAX) + 1));
    w.rollback_row();
    assert_eq!(w.finish(), 4);
    let page: Buffer = buf.into();
    let block = decode_block(&page, &types).map_err(|e| format!("{e:?}"))?;
    let got = |c: usize| -> Vec<i128> { block.columns[c].as_primitive::<Decimal128Type>().values().to_vec() };
    assert_eq!(got(0), narrow);
    assert_eq!(got(1), wide);
    let a: &Decimal128Array = block.columns[0].as_primitive();
    assert_eq!((a.precision(), a.scale()), (18, 0));
    Ok(())
}

#[test]
fn copied_arrays_keep_nothing_of_the_page() -> Result<(), Box<dyn std::error::Error>> {
    let mut buf = page(8192);
    fill(&mut buf, 0, 10, 16);
    let page: Buffer = buf.into();
    let block = decode_block(&page, &ALL).map_err(|e| format!("{e:?}"))?;
    let (start, end) = (page.as_ptr() as usize, page.as_ptr() as usize + page.len());
    let copied = block.columns.iter().map(super::decode::deep_copy).collect::<Result<Vec<_>, _>>()?;
    for c in &copied {
        let data = c.to_data();
        for child in data.child_data() {
            for b in child.buffers() {
                let p = b.as_ptr() as usize;
                assert!(
                    p + b.len() <= start || p >= end,
                    "{}: a child buffer points into the page",
                    c.data_type()
                );
            }
        }
        let nulls = data.nulls().map(|n| n.buffer().clone());
        for b in data.buffers().iter().chain(nulls.iter()) {
            let p = b.as_ptr() as usize;
            assert!(
                p + b.len() <= start || p >= end,
                "{}: a copied buffer still points into the page",
                c.data_type()
            );
        }
    }
    check_rows(&copied, 0, 10);
    Ok(())
}

#[test]
fn a_full_block_rolls_the_row_back_and_the_next_block_starts_with_it() {
    // A small page with a generous capacity: the tail runs out before the row count does.
    let mut first = page(20480);
    let (rows1, next) = fill(&mut first, 0, 1000, 100);
    assert!(rows1 > 0 && rows1 < 100, "expected the tail to fill first, got {rows1} rows");
    let mut second = page(20480);
    let (rows2, _) = fill(&mut second, next, 1000, 100);
    assert!(rows2 > 0);
    let b1 = decode_block(&first.into(), &ALL).unwrap();
    let b2 = decode_block(&second.into(), &ALL).unwrap();
    check_rows(&b1.columns, 0, b1.rows);
    check_rows(&b2.columns, next, b2.rows);
}

#[test]
fn capacity_bounds_the_row_count() {
    let types = [ColumnType::Int64];
    let mut buf = page(65536);
    let mut w = BlockWriter::new(buf.as_slice_mut(), &types, 3).unwrap();
    for v in 0..3 {
        w.begin_row().unwrap();
        w.put_i64(0, v);
        w.commit_row();
    }
    assert!(w.begin_row().is_err());
    assert_eq!(w.finish(), 3);
}

#[test]
fn a_value_larger_than_a_page_is_an_error_not_a_truncation() {
    let types = [ColumnType::Utf8View];
    let mut buf = page(4096);
    let mut w = BlockWriter::new(buf.as_slice_mut(), &types, 1).unwrap();
    w.begin_row().unwrap();
    assert_eq!(w.put_bytes(0, &[b'x'; 5000]), Err(PutError::ValueTooLarge { column: 0, len: 5000 }));
}

#[test]
fn a_page_too_small_for_one_row_is_refused() {
    let types = vec![ColumnType::Int64; 100];
    assert!(matches!(BlockWriter::plan_capacity(4096, &types, 0), Err(BlockError::PageTooSmall { .. })));
}

#[test]
fn plan_capacity_fits_the_page() {
    for (page_len, tail) in [(4096, 0), (65536, 64), (65536, 0), (1 << 20, 200)] {
        let c = BlockWriter::plan_capacity(page_len, &ALL, tail).unwrap();
        assert!(super::column_regions(&ALL, c).1 <= page_len);
        assert!(c > 0);
    }
}

fn valid_block() -> MutableBuffer {
    let mut buf = page(8192);
    fill(&mut buf, 0, 20, 32);
    buf
}

fn corrupt(edit: impl FnOnce(&mut [u8])) -> Result<(), BlockError> {
    let mut buf = valid_block();
    edit(buf.as_slice_mut());
    decode_block(&buf.into(), &ALL).map(|_| ())
}

#[test]
fn decoder_rejects_bad_headers() {
    assert!(corrupt(|_| {}).is_ok());
    assert_eq!(corrupt(|b| b[0] ^= 1), Err(BlockError::Invalid("bad magic")));
    assert_eq!(corrupt(|b| b[4] = 9), Err(BlockError::Invalid("unknown version")));
    assert_eq!(corrupt(|b| b[6] = 3), Err(BlockError::Invalid("column count differs from the plan")));
    // rows > capacity
    assert_eq!(
        corrupt(|b| b[8..12].copy_from_slice(&1000u32.to_ne_bytes())),
        Err(BlockError::Invalid("row count"))
    );
    // a capacity whose regions would run past the page
    assert!(corrupt(|b| b[12..16].copy_from_slice(&100_000u32.to_ne_bytes())).is_err());
    // page length beyond the buffer
    assert_eq!(
        corrupt(|b| b[20..24].copy_from_slice(&9000u32.to_ne_bytes())),
        Err(BlockError::Invalid("page length"))
    );
    // tail below the fixed regions
    assert!(corrupt(|b| b[16..20].copy_from_slice(&64u32.to_ne_bytes())).is_err());
    // a column tagged with another type
    assert_eq!(
        corrupt(|b| b[HEADER_SIZE] = 4),
        Err(BlockError::Invalid("column type differs from the plan"))
    );
    // a decimal with an impossible precision
    assert!(corrupt(|b| b[HEADER_SIZE + 6 * 16 + 1] = 60).is_err());
    let short = MutableBuffer::from_len_zeroed(16);
    assert!(decode_block(&short.into(), &ALL).is_err());
}

#[test]
fn decoder_rejects_views_outside_the_tail() {
    let mut buf = valid_block();
    let values = {
        let b = buf.as_slice();
        u32::from_ne_bytes(b[HEADER_SIZE + 7 * 16 + 8..HEADER_SIZE + 7 * 16 + 12].try_into().unwrap())
            as usize
    };
    // Row 1 of the Utf8View column is a long value: point it past the page end.
    let v = values + 16;
    buf.as_slice_mut()[v + 12..v + 16].copy_from_slice(&8190u32.to_ne_bytes());
    assert_eq!(decode_block(&buf.into(), &ALL).err(), Some(BlockError::Invalid("view outside the tail")));

    let mut buf = valid_block();
    // Row 0 is inline ("s0"): dirty padding is refused.
    buf.as_slice_mut()[values + 15] = 1;
    assert_eq!(
        decode_block(&buf.into(), &ALL).err(),
        Some(BlockError::Invalid("inline view padding is not zero"))
    );

    let mut buf = valid_block();
    // Row 1's view into the header (below the tail).
    buf.as_slice_mut()[v + 12..v + 16].copy_from_slice(&0u32.to_ne_bytes());
    assert_eq!(decode_block(&buf.into(), &ALL).err(), Some(BlockError::Invalid("view outside the tail")));
}

#[test]
fn batch_rows_re_encode_into_blocks_of_any_size() {
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use std::sync::Arc;

    let mut buf = page(65536);
    let capacity = BlockWriter::plan_capacity(65536, &ALL, 32).unwrap();
    fill(&mut buf, 0, 200, capacity);
    let src: Buffer = buf.into();
    let block = decode_block(&src, &ALL).unwrap();
    let schema = Arc::new(Schema::new(
        ALL.iter()
            .enumerate()
            .map(|(i, t)| Field::new(format!("c{i}"), t.arrow_type(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema, block.columns.clone()).unwrap();
    // Small pages: the batch spreads over several blocks, rows never split.
    let mut next = 0;
    let mut seen = 0;
    while next < batch.num_rows() {
        let mut out = page(8192);
        let cap = BlockWriter::plan_capacity(8192, &ALL, 32).unwrap();
        let mut w = BlockWriter::new(out.as_slice_mut(), &ALL, cap).unwrap();
        let after = super::batch::put_rows(&mut w, &batch, &ALL, next).unwrap();
        assert!(after > next, "no progress");
        let rows = w.finish();
        assert_eq!(rows, after - next);
        let b: Buffer = out.into();
        let back = decode_block(&b, &ALL).unwrap();
        check_rows(&back.columns, next, rows);
        seen += rows;
        next = after;
    }
    assert_eq!(seen, 200);
    // A column of another type is refused.
    let mut out = page(8192);
    let mut w = BlockWriter::new(out.as_slice_mut(), &ALL[1..], 10).unwrap();
    let narrow = batch.project(&(1..ALL.len()).collect::<Vec<_>>()).unwrap();
    assert!(super::batch::put_rows(&mut w, &narrow, &ALL[1..], 0).is_ok());
    let mut w = BlockWriter::new(out.as_slice_mut(), &ALL[..14], 10).unwrap();
    let wrong = batch.project(&(1..ALL.len()).collect::<Vec<_>>()).unwrap();
    assert!(super::batch::put_rows(&mut w, &wrong, &ALL[..14], 0).is_err());
}

#[test]
fn a_rolled_back_null_does_not_leave_the_next_row_null() -> Result<(), Box<dyn std::error::Error>> {
    let types = [ColumnType::Int64, ColumnType::Utf8View];
    // A reused page: whatever an earlier block left in it.
    let mut buf = MutableBuffer::from_len_zeroed(4096);
    buf.as_slice_mut().fill(0xA5);
    let mut w = BlockWriter::new(buf.as_slice_mut(), &types, 8).map_err(|e| format!("{e:?}"))?;
    w.begin_row().map_err(|_| "full")?;
    w.put_null(0);
    w.put_null(1);
    w.rollback_row();
    w.begin_row().map_err(|_| "full")?;
    w.put_i64(0, 7);
    w.put_bytes(1, b"seven").map_err(|e| format!("{e:?}"))?;
    w.commit_row();
    w.begin_row().map_err(|_| "full")?;
    w.put_null(0);
    w.put_bytes(1, b"eight").map_err(|e| format!("{e:?}"))?;
    w.commit_row();
    assert_eq!(w.finish(), 2);
    let b = decode_block(&buf.into(), &types).map_err(|e| format!("{e:?}"))?;
    assert_eq!(b.columns[0].null_count(), 1);
    assert!(b.columns[0].is_valid(0) && b.columns[0].is_null(1));
    assert_eq!(b.columns[0].as_primitive::<Int64Type>().value(0), 7);
    assert_eq!(b.columns[1].null_count(), 0);
    assert_eq!(b.columns[1].as_string_view().value(1), "eight");
    Ok(())
}

#[test]
fn type_lists_round_trip_as_text() {
    let types = [
        ColumnType::Int32,
        ColumnType::Decimal128 { precision: 15, scale: 2 },
        ColumnType::Decimal128 { precision: 38, scale: -3 },
        ColumnType::TimestampUs { utc: true },
        ColumnType::Utf8View,
    ];
    let text = ColumnType::list_text(&types);
    assert_eq!(ColumnType::parse_list(&text), Some(types.to_vec()));
    assert_eq!(ColumnType::parse_list(""), Some(Vec::new()));
    for bad in ["3:0", "3:0:0:1", "99:0:0", "7:40:2", "3:0:x", "-1:0:0", "3:0:0,"] {
        assert_eq!(ColumnType::parse_list(bad), None, "{bad}");
    }
}

/// A small deterministic generator (xorshift64*) for the mutation tests: reproducible from its
/// seed, no dependency.
pub(crate) struct Mutations(u64);

impl Mutations {
    pub(crate) fn new(seed: u64) -> Mutations {
        Mutations(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Flip, overwrite or zero a few bytes of `bytes` (never resizes).
    pub(crate) fn mutate(&mut self, bytes: &mut [u8]) {
        for _ in 0..1 + self.below(4) {
            let i = self.below(bytes.len());
            match self.below(4) {
                0 => bytes[i] ^= 1 << self.below(8),
                1 => bytes[i] = self.next() as u8,
                2 => bytes[i] = 0,
                _ => bytes[i] = 0xff,
            }
        }
    }
}

/// The decoder either refuses a damaged page or returns arrays whose every view, offset and
/// buffer length is within bounds: never a panic, never a read outside the page. (Text is not
/// checked for UTF-8 here: the decoder trusts the encoding, see `decode`; the bounds are checked
/// by validating view columns as binary.)
#[test]
fn damaged_pages_are_refused_or_in_bounds() -> Result<(), String> {
    use datafusion::arrow::array::ArrayData;
    use datafusion::arrow::datatypes::DataType;
    let mut m = Mutations::new(0x5eed);
    let (mut refused, mut accepted) = (0, 0);
    for round in 0..3000 {
        let mut buf = valid_block();
        if round % 10 == 0 {
            // Aim at the header and column descriptors, where the offsets live.
            let head = HEADER_SIZE + ALL.len() * 16;
            m.mutate(&mut buf.as_slice_mut()[..head]);
        } else {
            m.mutate(buf.as_slice_mut());
        }
        let b: Buffer = buf.into();
        let block = match std::panic::catch_unwind(|| decode_block(&b, &ALL)) {
            Ok(Ok(block)) => block,
            Ok(Err(_)) => {
                refused += 1;
                continue;
            }
            Err(_) => return Err(format!("the decoder panicked on damaged page {round}")),
        };
        accepted += 1;
        for (c, col) in block.columns.iter().enumerate() {
            let data = col.to_data();
            let data = if data.data_type() == &DataType::Utf8View {
                data.into_builder().data_type(DataType::BinaryView).build()
            } else {
                ArrayData::try_new(
                    data.data_type().clone(),
                    data.len(),
                    data.nulls().map(|n| n.inner().inner().clone()),
                    data.offset(),
                    data.buffers().to_vec(),
                    data.child_data().to_vec(),
                )
            };
            if let Err(e) = data.and_then(|d| d.validate_full()) {
                return Err(format!("damaged page {round}: column {c} decoded out of bounds: {e}"));
            }
        }
    }
    assert!(refused > 0 && accepted > 0, "refused {refused}, accepted {accepted}");
    Ok(())
}
