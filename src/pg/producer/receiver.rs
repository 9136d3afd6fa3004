//! The DestReceiver of a producer's executor: each row PostgreSQL's executor returns is
//! encoded into the current Arrow block, a new page taken when it is full (see the module rules
//! of `producer` for what may longjmp over it).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use crate::page::encode::{BlockWriter, PutError};
use crate::page::ColumnType;
use crate::pg::error::{PgError, SqlState};
use crate::pg::sys;
use crate::protocol::PageRef;
use crate::shm::filter::combine;
use crate::shm::{Key, Metric, OwnerId, PageDescriptor, Segment};
use crate::value::datetime::{date_to_arrow, timestamp_to_arrow};
use crate::value::numeric::{to_scaled, to_scaled_short, NumericError};

/// The receiver PostgreSQL's executor calls; `state` points into the producer's Box.
#[repr(C)]
pub(super) struct Receiver {
    pub(super) base: sys::DestReceiver,
    pub(super) state: *mut ProducerState,
}

pub(super) struct Block {
    pub(super) desc: PageDescriptor,
    // Borrows the page (leased) and `ProducerState::types` (a Box that outlives it, see Drop order).
    pub(super) writer: BlockWriter<'static>,
    /// Rows the block was planned for (1: re-planned for one wide row).
    pub(super) capacity: usize,
    pub(super) started: Instant,
}

pub(super) struct ProducerState {
    // Declared before `types`: dropped first.
    pub(super) block: Option<Block>,
    pub(super) types: Box<[ColumnType]>,
    pub(super) pg_types: Vec<sys::Oid>,
    /// (`typlen`, `typbyval`) of each column's type: how its datum holds the bytes.
    pub(super) layouts: Vec<(i16, bool)>,
    pub(super) seg: Segment,
    pub(super) owner: OwnerId,
    pub(super) capacity: usize,
    /// Pages this producer may still fill before the worker grants more (see the module rules).
    pub(super) credits: u32,
    /// A finished block not yet sent (the ring was full).
    pub(super) to_send: Option<PageRef>,
    /// A row kept aside when the executor was stopped (a minimal-tuple slot).
    pub(super) pending: *mut sys::TupleTableSlot,
    pub(super) has_pending: bool,
    pub(super) stalled: bool,
    pub(super) waiting_for_page: bool,
    pub(super) error: Option<PgError>,
    pub(super) rows: u64,
    /// Runtime filters the worker sent (see the module rules of `producer`).
    pub(super) filters: Vec<RowFilter>,
    /// Attributes to deform before the filters are tested: the highest key column + 1.
    pub(super) filter_attrs: i32,
    /// Rows the filters kept from being encoded.
    pub(super) rejected: u64,
}

/// A runtime filter as the producer tests it: slot `index` of `generation` (read through the
/// segment on each row, so a freed slot is never read as this filter), its key columns.
pub(super) struct RowFilter {
    index: u32,
    generation: u32,
    columns: Vec<usize>,
}

/// Filters one producer tests at most (more pass every row).
const MAX_FILTERS: usize = 8;

/// What became of a row; an error is left in `ProducerState::error`. Small, so the per-row
/// call returns it in a register.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Put {
    Done,
    Stall,
    Failed,
}

/// Why a row could not be encoded (small and `Copy`: the message is formatted only on failure).
#[derive(Clone, Copy)]
pub(super) enum RowError {
    /// The block is full (roll the row back, start the next block).
    Full,
    TooLarge {
        column: usize,
        len: usize,
    },
    /// A value pg_fusion does not carry (a numeric NaN or infinity, a numeric of another shape).
    Value(Unsupported),
}

/// A value the block format does not carry; `column` counts from 0.
#[derive(Clone, Copy)]
pub(super) enum Unsupported {
    NumericShape {
        column: usize,
        precision: u8,
        scale: i8,
    },
    NumericSpecial,
    NumericMalformed,
    /// A finite date beyond Arrow's range after the epoch shift (none PostgreSQL makes).
    Date,
    /// A timestamp of PostgreSQL's last 30 years (see `crate::value::datetime`).
    Timestamp,
    Interval,
}

impl Unsupported {
    pub(super) fn message(self) -> String {
        match self {
            Unsupported::NumericShape { column, precision, scale } => format!(
                "numeric value does not have the shape numeric({precision},{scale}) planned for scan column {}",
                column + 1
            ),
            Unsupported::NumericSpecial => "unsupported numeric NaN or Infinity".into(),
            Unsupported::NumericMalformed => "malformed numeric value".into(),
            Unsupported::Date => "unsupported date out of range".into(),
            Unsupported::Timestamp => "unsupported timestamp after 294246 AD (beyond Arrow's range)".into(),
            Unsupported::Interval => "interval out of range".into(),
        }
    }
}

impl From<PutError> for RowError {
    fn from(e: PutError) -> RowError {
        match e {
            PutError::Full => RowError::Full,
            PutError::ValueTooLarge { column, len } => RowError::TooLarge { column, len },
        }
    }
}

impl ProducerState {
    /// Test rows against runtime filter `index` of `generation` from now on, if its key columns
    /// are columns of this scan of a type the filter hashes.
    pub(super) fn add_filter(&mut self, index: u32, generation: u32, columns: Vec<u16>) {
        let columns: Vec<usize> = columns.into_iter().map(usize::from).collect();
        if self.filters.len() >= MAX_FILTERS
            || columns.is_empty()
            || !columns.iter().all(|&c| self.types.get(c).is_some_and(|t| t.is_filter_key()))
        {
            return;
        }
        let last = columns.iter().copied().max().unwrap_or(0) as i32 + 1;
        self.filter_attrs = self.filter_attrs.max(last);
        self.filters.push(RowFilter { index, generation, columns });
    }

    /// Whether the row in `slot` may join: no filter rejects its key.
    ///
    /// # Safety
    /// `slot` must be a valid slot deformed at least up to `filter_attrs`.
    pub(super) unsafe fn passes_filters(&self, slot: *mut sys::TupleTableSlot) -> bool {
        // SAFETY: deformed up to `filter_attrs`, which covers every key column.
        let (values, nulls) = unsafe {
            let s = &*slot;
            let n = self.filter_attrs as usize;
            (std::slice::from_raw_parts(s.tts_values, n), std::slice::from_raw_parts(s.tts_isnull, n))
        };
        let seg = self.seg;
        'filters: for f in &self.filters {
            let Some(view) = seg.filter(f.index).and_then(|slot| slot.view(f.generation)) else { continue };
            let mut h = 0;
            let mut int = None;
            for &c in &f.columns {
                if nulls[c] {
                    continue 'filters;
                }
                let mut scratch = [0u8; 8];
                let (d, ty, layout) = (values[c], self.types[c], self.layouts[c]);
                // SAFETY: `d` is a non-NULL datum of column `c`, of type `ty` laid out as `layout`.
                let (key, _copy) = unsafe { filter_key(d, ty, layout, &mut scratch) };
                let Some(key) = key else { continue 'filters };
                if let (Key::Int(v), 1) = (key, f.columns.len()) {
                    int = Some(v);
                }
                h = combine(h, key.hash());
            }
            if !view.passes(h, int) {
                return false;
            }
        }
        true
    }

    pub(super) fn acquire(&mut self) -> bool {
        if self.credits == 0 {
            self.seg.metrics().inc(Metric::ScanCreditWaitTotal);
            return false;
        }
        let pool = self.seg.pool();
        let Some(desc) = pool.acquire(self.owner) else { return false };
        self.credits -= 1;
        self.seg.metrics().inc(Metric::PageAcquireTotal);
        self.open_block(desc, self.capacity, Instant::now())
    }

    /// Lay out a block for `capacity` rows in the leased page `desc`; releases it on failure.
    pub(super) fn open_block(&mut self, desc: PageDescriptor, capacity: usize, started: Instant) -> bool {
        let pool = self.seg.pool();
        let Ok(ptr) = pool.page_ptr(desc) else { return false };
        // SAFETY: we hold the lease; the page is `page_size` bytes inside the segment and nobody else touches it until we send its descriptor. `types` lives in a Box that is dropped after `block` (field order), so the 'static borrows never dangle while used.
        let (page, types) = unsafe {
            (
                std::slice::from_raw_parts_mut(ptr, pool.page_size()),
                std::slice::from_raw_parts(self.types.as_ptr(), self.types.len()),
            )
        };
        match BlockWriter::new(page, types, capacity) {
            Ok(writer) => {
                self.block = Some(Block { desc, writer, capacity, started });
                true
            }
            Err(_) => {
                let _ = pool.release(desc);
                false
            }
        }
    }

    /// Size the next blocks for `tail_per_row` bytes of long strings per row (what the block
    /// just finished needed), plus a quarter: `estimator_initial_tail_bytes_per_row` is only the
    /// first guess. Short strings (12 bytes or less) sit in their view and need no tail, so a
    /// scan of `char(1)` flags fills the page with rows instead of unused tail. A block whose
    /// tail runs out early just ends early; the next one is sized from it.
    pub(super) fn resize_blocks(&mut self, tail_per_row: usize) {
        let estimate = tail_per_row + tail_per_row / 4 + 1;
        if let Ok(c) = BlockWriter::plan_capacity(self.seg.pool().page_size(), &self.types, estimate) {
            self.capacity = c;
        }
    }

    /// Finish the current block and queue its descriptor.
    pub(super) fn finish_block(&mut self) {
        if let Some(b) = self.block.take() {
            if b.capacity > 1 && b.writer.rows() > 0 && self.types.iter().any(|t| t.is_view()) {
                self.resize_blocks(b.writer.tail_bytes() / b.writer.rows());
            }
            let rows = b.writer.finish();
            let m = self.seg.metrics();
            m.add(Metric::ScanPageFillNs, b.started.elapsed().as_nanos() as u64);
            m.inc(Metric::ScanPagesSentTotal);
            m.add(Metric::ScanBytesSentTotal, self.seg.pool().page_size() as u64);
            self.to_send =
                Some(PageRef { index: b.desc.index, generation: b.desc.generation, rows: rows as u32 });
        }
    }

    /// Encode the row in `slot` (all attributes deformed); on `Put::Failed` the error is in
    /// `self.error`.
    ///
    /// # Safety
    /// `slot` must be a valid, deformed slot whose attributes have `pg_types`.
    #[inline]
    pub(super) unsafe fn put_row(&mut self, slot: *mut sys::TupleTableSlot) -> Put {
        // SAFETY: caller's contract.
        match unsafe { self.try_put_row(slot) } {
            Ok(p) => p,
            Err(e) => {
                self.error = Some(e);
                Put::Failed
            }
        }
    }

    /// # Safety
    /// As [`ProducerState::put_row`].
    pub(super) unsafe fn try_put_row(&mut self, slot: *mut sys::TupleTableSlot) -> Result<Put, PgError> {
        loop {
            if self.to_send.is_some() {
                return Ok(Put::Stall);
            }
            if self.block.is_none() && !self.acquire() {
                self.waiting_for_page = true;
                return Ok(Put::Stall);
            }
            let Some(b) = self.block.as_mut() else { return Ok(Put::Stall) };
            if b.writer.begin_row().is_err() {
                self.finish_block();
                continue;
            }
            // SAFETY: caller's contract.
            match unsafe { put_values(&mut b.writer, slot, &self.types, &self.layouts) } {
                Ok(()) => {
                    b.writer.commit_row();
                    self.rows += 1;
                    return Ok(Put::Done);
                }
                Err(RowError::Full) => {
                    b.writer.rollback_row();
                    if b.writer.rows() == 0 {
                        return Err(PgError::new(
                            SqlState::from_code(b"54000"),
                            "a row does not fit an empty page",
                        )
                        .with_hint("Raise pg_fusion.page_size."));
                    }
                    self.finish_block();
                }
                Err(RowError::Value(what)) => {
                    b.writer.rollback_row();
                    return Err(PgError::new(SqlState::FEATURE_NOT_SUPPORTED, what.message()));
                }
                Err(RowError::TooLarge { .. }) if b.capacity > 1 => {
                    // The empty block's tail was sized for many rows: give this row the page.
                    b.writer.rollback_row();
                    let (desc, started) = (b.desc, b.started);
                    self.block = None;
                    if !self.open_block(desc, 1, started) {
                        return Err(PgError::internal("cannot lay out a block for one row"));
                    }
                }
                Err(RowError::TooLarge { column, len }) => {
                    return Err(PgError::new(
                        SqlState::from_code(b"54000"),
                        format!("a value of {len} bytes in scan column {} does not fit a page", column + 1),
                    )
                    .with_hint("Raise pg_fusion.page_size."))
                }
            }
        }
    }
}

/// The key a non-NULL datum is as `put_values` would encode it (the value the worker's join
/// compares); None when it would not be encoded (then the row passes and encoding reports it).
///
/// # Safety
/// `d` must be a non-NULL datum of a column of type `ty` laid out as `layout`.
unsafe fn filter_key<'a>(
    d: sys::Datum,
    ty: ColumnType,
    layout: (i16, bool),
    scratch: &'a mut [u8; 8],
) -> (Option<Key<'a>>, Detoasted) {
    let none = || Detoasted(std::ptr::null_mut());
    let key = match ty {
        ColumnType::Int16 => Key::Int(d as i16 as i64),
        ColumnType::Int32 => Key::Int(d as i32 as i64),
        ColumnType::Int64 if layout.0 == 4 => Key::Int(d as u32 as i64),
        ColumnType::Int64 | ColumnType::Time64Us => Key::Int(d as i64),
        ColumnType::Date32 => match date_to_arrow(d as i32) {
            Some(v) => Key::Int(v as i64),
            None => return (None, none()),
        },
        ColumnType::TimestampUs { .. } => match timestamp_to_arrow(d as i64) {
            Some(v) => Key::Int(v),
            None => return (None, none()),
        },
        ColumnType::Decimal128 { precision, scale } => {
            // SAFETY: a numeric datum is a varlena.
            let (bytes, _copy) = unsafe { varlena_bytes(d) };
            match to_scaled_short(bytes, precision, scale) {
                Some(v) => Key::Wide(v),
                None => match to_scaled(bytes, precision, scale) {
                    Ok(v) if v.dscale as i32 == scale as i32 => Key::Wide(v.value),
                    _ => return (None, none()),
                },
            }
        }
        ColumnType::FixedSizeBinary16 => {
            // SAFETY: a uuid datum points to 16 bytes, kept alive by the slot for the row.
            let bytes = unsafe { std::slice::from_raw_parts(d as *const u8, 16) };
            Key::Bytes(bytes)
        }
        ColumnType::Utf8View | ColumnType::BinaryView | ColumnType::EncodedText => {
            // SAFETY: caller's contract; the same bytes `put_values` writes.
            let (bytes, copy) = unsafe { datum_bytes(d, layout, true, scratch) };
            return (Some(Key::Bytes(bytes)), copy);
        }
        _ => return (None, none()),
    };
    (Some(key), none())
}

/// The bytes of a varlena datum (detoasted if needed).
///
/// The bytes of a datum of a type stored as `(typlen, typbyval)`: a varlena's data (detoasted),
/// a C string's or (`text`) a name's characters up to the NUL, a fixed-length value's `typlen`
/// bytes, a by-value datum's low `typlen` bytes (the slot keeps `d` alive for the row).
///
/// # Safety
/// `d` must be a datum of such a type.
unsafe fn datum_bytes(
    d: sys::Datum,
    (len, byval): (i16, bool),
    text: bool,
    scratch: &mut [u8; 8],
) -> (&[u8], Detoasted) {
    let none = || Detoasted(std::ptr::null_mut());
    // SAFETY: caller's contract, case by case.
    unsafe {
        match (len, byval) {
            (-1, _) => varlena_bytes(d),
            (_, true) => {
                // The value's `typlen` low-order bytes, least significant first (as the slot
                // reads them back).
                *scratch = (d as u64).to_le_bytes();
                (&scratch[..(len.max(0) as usize).min(8)], none())
            }
            (-2, _) => (std::ffi::CStr::from_ptr(d as *const std::ffi::c_char).to_bytes(), none()),
            (n, _) if text => {
                // A name: NUL-terminated inside its NAMEDATALEN bytes.
                let all = std::slice::from_raw_parts(d as *const u8, n.max(0) as usize);
                (&all[..all.iter().position(|&b| b == 0).unwrap_or(all.len())], none())
            }
            (n, _) => (std::slice::from_raw_parts(d as *const u8, n.max(0) as usize), none()),
        }
    }
}

/// A copy PostgreSQL made of a toasted value (decompressed, fetched from the TOAST table or
/// flattened), freed once the value is in the block: the scan's memory does not grow with every
/// toasted value it reads.
pub(super) struct Detoasted(*mut sys::varlena);

impl Drop for Detoasted {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: a palloc'd copy nothing else refers to once the bytes are in the block.
            unsafe { sys::pfree(self.0 as *mut std::ffi::c_void) };
        }
    }
}

/// # Safety
/// `d` must be a varlena datum; the bytes live as long as the returned [`Detoasted`] and `d`.
pub(super) unsafe fn varlena_bytes<'a>(d: sys::Datum) -> (&'a [u8], Detoasted) {
    // Inline, in-line-stored values (nearly every numeric and short text) without a call into
    // PostgreSQL: the header tests of varatt.h for little-endian builds. A 1-byte header
    // `xxxxxxx1` (but not 0x01, an external pointer) holds the total length in its upper seven
    // bits; a 4-byte header `...00` is uncompressed with the length in its upper 30 bits.
    #[cfg(target_endian = "little")]
    // SAFETY: caller's contract: `d` points to a varlena whose header is readable.
    unsafe {
        let p = d as *const u8;
        let b0 = *p;
        let none = Detoasted(std::ptr::null_mut());
        if b0 & 0x01 == 0x01 && b0 != 0x01 {
            let total = (b0 >> 1) as usize;
            return (std::slice::from_raw_parts(p.add(1), total.saturating_sub(1)), none);
        }
        if b0 & 0x03 == 0x00 {
            let total = ((p as *const u32).read_unaligned() >> 2) as usize;
            return (std::slice::from_raw_parts(p.add(4), total.saturating_sub(4)), none);
        }
    }
    // SAFETY: caller's contract; may raise (detoast), which longjmps over frames that own nothing.
    unsafe {
        let v = sys::pgf_detoast_packed(d);
        let bytes =
            std::slice::from_raw_parts(sys::pgf_vardata_any(v) as *const u8, sys::pgf_varsize_any_exhdr(v));
        (bytes, Detoasted(if v as sys::Datum == d { std::ptr::null_mut() } else { v }))
    }
}

/// # Safety
/// As [`ProducerState::put_row`].
pub(super) unsafe fn put_values(
    w: &mut BlockWriter<'_>,
    slot: *mut sys::TupleTableSlot,
    types: &[ColumnType],
    layouts: &[(i16, bool)],
) -> Result<(), RowError> {
    let fail = RowError::Value;
    // SAFETY: deformed slot: tts_values/tts_isnull have at least `types.len()` entries.
    let (values, nulls) = unsafe {
        let s = &*slot;
        (
            std::slice::from_raw_parts(s.tts_values, types.len()),
            std::slice::from_raw_parts(s.tts_isnull, types.len()),
        )
    };
    for (i, ty) in types.iter().enumerate() {
        if nulls[i] {
            w.put_null(i);
            continue;
        }
        let d = values[i];
        match *ty {
            ColumnType::Boolean => w.put_bool(i, d != 0),
            ColumnType::Int16 => w.put_i16(i, d as i16),
            ColumnType::Int32 => w.put_i32(i, d as i32),
            // An object identifier (4 bytes) is unsigned: a relabeled int4 -1 is oid 4294967295.
            ColumnType::Int64 if layouts[i].0 == 4 => w.put_i64(i, d as u32 as i64),
            ColumnType::Int64 => w.put_i64(i, d as i64),
            ColumnType::Float32 => w.put_f32(i, f32::from_bits(d as u32)),
            ColumnType::Float64 => w.put_f64(i, f64::from_bits(d as u64)),
            ColumnType::Decimal128 { precision, scale } => {
                // SAFETY: a numeric datum is a varlena.
                let (bytes, _copy) = unsafe { varlena_bytes(d) };
                // Both decoders keep the value under 10^precision, so it fits the column's width
                // (`put_decimal` checks anyway).
                let shape = Unsupported::NumericShape { column: i, precision, scale };
                if let Some(v) = to_scaled_short(bytes, precision, scale) {
                    if !w.put_decimal(i, v) {
                        return Err(fail(shape));
                    }
                    continue;
                }
                match to_scaled(bytes, precision, scale) {
                    Ok(v) if v.dscale as i32 == scale as i32 => {
                        if !w.put_decimal(i, v.value) {
                            return Err(fail(shape));
                        }
                    }
                    Ok(_) | Err(NumericError::OutOfShape) => return Err(fail(shape)),
                    Err(NumericError::Special) => return Err(fail(Unsupported::NumericSpecial)),
                    Err(NumericError::Malformed) => return Err(fail(Unsupported::NumericMalformed)),
                }
            }
            ColumnType::Utf8View | ColumnType::BinaryView | ColumnType::Opaque | ColumnType::EncodedText => {
                let mut scratch = [0u8; 8];
                let text = *ty != ColumnType::Opaque;
                // `d` is a non-NULL datum of this column's type, laid out as `layouts[i]` says.
                // SAFETY: that (typlen, typbyval) layout is the datum's; the slot keeps it alive while copied.
                let (bytes, _copy) = unsafe { datum_bytes(d, layouts[i], text, &mut scratch) };
                w.put_bytes(i, bytes)?;
            }
            // Infinities as the type's extremes (see `crate::value::datetime`).
            ColumnType::Date32 => match date_to_arrow(d as i32) {
                Some(v) => w.put_i32(i, v),
                None => return Err(fail(Unsupported::Date)),
            },
            ColumnType::TimestampUs { .. } => match timestamp_to_arrow(d as i64) {
                Some(v) => w.put_i64(i, v),
                None => return Err(fail(Unsupported::Timestamp)),
            },
            ColumnType::Time64Us => w.put_i64(i, d as i64),
            ColumnType::IntervalMonthDayNano => {
                // SAFETY: an interval datum points to an Interval.
                let iv = unsafe { &*(d as *const sys::Interval) };
                match iv.time.checked_mul(1000) {
                    Some(ns) => w.put_interval(i, iv.month, iv.day, ns),
                    None => return Err(fail(Unsupported::Interval)),
                }
            }
            ColumnType::FixedSizeBinary16 => {
                // SAFETY: a uuid datum points to 16 bytes.
                let b = unsafe { &*(d as *const [u8; 16]) };
                w.put_fixed16(i, b);
            }
        }
    }
    Ok(())
}

pub(super) unsafe extern "C" fn receive_slot(
    slot: *mut sys::TupleTableSlot,
    this: *mut sys::DestReceiver,
) -> bool {
    // SAFETY: `this` is our Receiver (built in `Producer::start`); its state outlives the scan.
    let st = unsafe { &mut *(*(this as *mut Receiver)).state };
    if !st.filters.is_empty() {
        // The key columns first: a row a filter rejects is not deformed further.
        // SAFETY: deforming a valid slot; may raise, over frames that own nothing.
        unsafe { sys::pgf_slot_getsomeattrs(slot, st.filter_attrs) };
        // SAFETY: deformed up to `filter_attrs` just above; reading datums may detoast (as above).
        match catch_unwind(AssertUnwindSafe(|| unsafe { st.passes_filters(slot) })) {
            Ok(true) => {}
            Ok(false) => {
                st.rejected += 1;
                return true;
            }
            Err(p) => {
                st.error = Some(PgError::internal(crate::pg::error::panic_message(p)));
                return false;
            }
        }
    }
    // SAFETY: deforming a valid slot; may raise, over frames that own nothing.
    unsafe { sys::pgf_slot_getallattrs(slot) };
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the slot was just deformed; its attributes have the planned types.
        unsafe { st.put_row(slot) }
    }));
    match r {
        Ok(Put::Done) => true,
        Ok(Put::Stall) => {
            // Keep the row for the next call and stop the executor.
            // SAFETY: `pending` is a slot of the same descriptor; copying may allocate.
            unsafe { sys::pgf_exec_copy_slot(st.pending, slot) };
            st.has_pending = true;
            st.stalled = true;
            false
        }
        Ok(Put::Failed) => false,
        Err(p) => {
            st.error = Some(PgError::internal(crate::pg::error::panic_message(p)));
            false
        }
    }
}

pub(super) unsafe extern "C" fn receiver_startup(
    _this: *mut sys::DestReceiver,
    _op: i32,
    _desc: sys::TupleDesc,
) {
}
pub(super) unsafe extern "C" fn receiver_noop(_this: *mut sys::DestReceiver) {}
