//! A scan producer: run a leaf's PostgreSQL plan through PostgreSQL's executor and encode each
//! slot straight into Arrow blocks in shared pages (the leader backend, and each parallel worker).
//!
//! Rules:
//! - The leaf's plan is the one PostgreSQL planned when pg_fusion planned (`super::leaf`), run
//!   under the statement's snapshot and parameters; its executor start checks its permissions
//!   as PostgreSQL's own plan would (the view owner's rights where the range-table entry says
//!   so). Nothing is parsed or planned here. One executor start per producer and leaf; a new
//!   block range is a rescan with new heap scan limits.
//! - The executor is driven `scan_fetch_batch_rows` rows at a time by the exec loop, which also
//!   drains result pages, so the backend never waits inside the executor: when no page is free (or
//!   the scan ring is full) the receiver keeps the current row aside and stops the executor; the
//!   exec loop retries later (backpressure without deadlock: results keep flowing meanwhile).
//! - `receive_slot` runs inside PostgreSQL's executor and may be longjmp'd over by an ERROR from
//!   detoasting: its frames own nothing (all state lives in [`ProducerState`], reached by pointer).
//! - Pages are leased under the scan slot's owner id until the worker takes them over; dropping
//!   the [`ScanSession`] reclaims the rest.
//! - Credit-based flow control: a producer fills at most `credits` pages the worker has not
//!   imported yet; the worker grants one credit per page it imports (`ScanMsg::Credit` on the scan
//!   slot's worker->backend ring) and wakes page waiters. A leaf DataFusion does not read yet (the
//!   probe side of a hash join while the build side loads) therefore stops after a few pages
//!   instead of taking the pool the other leaves need: no deadlock between the leaves of a query.
//!   Each producer of a query gets `page_count / (4 x the query's producers)` credits (2 .. 16),
//!   and the leader plans parallel producers only while the query has at most `page_count / 8`
//!   in all (`scan_node::start`), so a query's pages in flight stay within a quarter of the pool.
//! - Wakeups: a producer that cannot go on (no credit, no free page, its ring full) registers
//!   as a page waiter of its slot before it sleeps, and re-checks after registering; the
//!   worker's reader wakes page waiters after every page it reads and every page it releases.
//!   A wakeup clears the registration it answers (one signal per wait), so a producer still
//!   blocked when it runs again registers anew and re-checks before it sleeps again.
//!   The worker itself is woken once per `WAKE_EVERY_PAGES` pages, and always before the
//!   producer sleeps, ends or fails, so no sent page waits for a wakeup.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::error::{guard, PgError, PgResult, SqlState};
use super::latch;
use super::sys;
use crate::control::ScanSession;
use crate::page::encode::{BlockWriter, PutError};
use crate::page::ColumnType;
use crate::protocol::{PageRef, ScanMsg};
use crate::shm::{Metric, OwnerId, PageDescriptor, Segment, SlotKind, Wakeup};
use crate::value::numeric::{to_scaled, to_scaled_short, NumericError};
use crate::value::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};

/// The receiver PostgreSQL's executor calls; `state` points into the producer's Box.
#[repr(C)]
struct Receiver {
    base: sys::DestReceiver,
    state: *mut ProducerState,
}

struct Block {
    desc: PageDescriptor,
    // Borrows the page (leased) and `ProducerState::types` (a Box that outlives it, see Drop order).
    writer: BlockWriter<'static>,
    /// Rows the block was planned for (1: re-planned for one wide row).
    capacity: usize,
    started: Instant,
}

struct ProducerState {
    // Declared before `types`: dropped first.
    block: Option<Block>,
    types: Box<[ColumnType]>,
    pg_types: Vec<sys::Oid>,
    seg: Segment,
    owner: OwnerId,
    capacity: usize,
    /// Pages producers may not take, so result pages can always be had.
    reserve: usize,
    /// Pages this producer may still fill before the worker grants more (see the module rules).
    credits: u32,
    /// A finished block not yet sent (the ring was full).
    to_send: Option<PageRef>,
    /// A row kept aside when the executor was stopped (a minimal-tuple slot).
    pending: *mut sys::TupleTableSlot,
    has_pending: bool,
    stalled: bool,
    waiting_for_page: bool,
    error: Option<PgError>,
    rows: u64,
}

/// What became of a row; an error is left in `ProducerState::error`. Small, so the per-row
/// call returns it in a register.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Put {
    Done,
    Stall,
    Failed,
}

/// Why a row could not be encoded (small and `Copy`: the message is formatted only on failure).
#[derive(Clone, Copy)]
enum RowError {
    /// The block is full (roll the row back, start the next block).
    Full,
    TooLarge {
        column: usize,
        len: usize,
    },
    /// A value pg_fusion does not carry (NaN, infinity, a numeric of another shape).
    Value(Unsupported),
}

/// A value the block format does not carry; `column` counts from 0.
#[derive(Clone, Copy)]
enum Unsupported {
    NumericShape { column: usize, precision: u8, scale: i8 },
    NumericSpecial,
    NumericMalformed,
    InfiniteDate,
    Timestamp,
    Interval,
}

impl Unsupported {
    fn message(self) -> String {
        match self {
            Unsupported::NumericShape { column, precision, scale } => format!(
                "numeric value does not have the shape numeric({precision},{scale}) planned for scan column {}",
                column + 1
            ),
            Unsupported::NumericSpecial => "unsupported numeric NaN or Infinity".into(),
            Unsupported::NumericMalformed => "malformed numeric value".into(),
            Unsupported::InfiniteDate => "unsupported infinite date".into(),
            Unsupported::Timestamp => "unsupported infinite or out-of-range timestamp".into(),
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
    fn acquire(&mut self) -> bool {
        if self.credits == 0 {
            self.seg.metrics().inc(Metric::ScanCreditWaitTotal);
            return false;
        }
        let pool = self.seg.pool();
        if pool.page_count() - pool.in_use() <= self.reserve {
            return false;
        }
        let Some(desc) = pool.acquire(self.owner) else { return false };
        self.credits -= 1;
        self.seg.metrics().inc(Metric::PageAcquireTotal);
        self.open_block(desc, self.capacity, Instant::now())
    }

    /// Lay out a block for `capacity` rows in the leased page `desc`; releases it on failure.
    fn open_block(&mut self, desc: PageDescriptor, capacity: usize, started: Instant) -> bool {
        let pool = self.seg.pool();
        let Ok(ptr) = pool.page_ptr(desc) else { return false };
        // SAFETY: we hold the lease; the page is `page_size` bytes inside the segment and nobody
        // else touches it until we send its descriptor. `types` lives in a Box that is dropped
        // after `block` (field order), so the 'static borrows never dangle while used.
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
    fn resize_blocks(&mut self, tail_per_row: usize) {
        let estimate = tail_per_row + tail_per_row / 4 + 1;
        if let Ok(c) = BlockWriter::plan_capacity(self.seg.pool().page_size(), &self.types, estimate) {
            self.capacity = c;
        }
    }

    /// Finish the current block and queue its descriptor.
    fn finish_block(&mut self) {
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
    unsafe fn put_row(&mut self, slot: *mut sys::TupleTableSlot) -> Put {
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
    unsafe fn try_put_row(&mut self, slot: *mut sys::TupleTableSlot) -> Result<Put, PgError> {
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
            match unsafe { put_values(&mut b.writer, slot, &self.types, &self.pg_types) } {
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

/// The bytes of a varlena datum (detoasted if needed).
///
/// # Safety
/// `d` must be a varlena datum.
unsafe fn varlena_bytes<'a>(d: sys::Datum) -> &'a [u8] {
    // Inline, in-line-stored values (nearly every numeric and short text) without a call into
    // PostgreSQL: the header tests of varatt.h for little-endian builds. A 1-byte header
    // `xxxxxxx1` (but not 0x01, an external pointer) holds the total length in its upper seven
    // bits; a 4-byte header `...00` is uncompressed with the length in its upper 30 bits.
    #[cfg(target_endian = "little")]
    // SAFETY: caller's contract: `d` points to a varlena whose header is readable.
    unsafe {
        let p = d as *const u8;
        let b0 = *p;
        if b0 & 0x01 == 0x01 && b0 != 0x01 {
            let total = (b0 >> 1) as usize;
            return std::slice::from_raw_parts(p.add(1), total.saturating_sub(1));
        }
        if b0 & 0x03 == 0x00 {
            let total = ((p as *const u32).read_unaligned() >> 2) as usize;
            return std::slice::from_raw_parts(p.add(4), total.saturating_sub(4));
        }
    }
    // SAFETY: caller's contract; may raise (detoast), which longjmps over frames that own nothing.
    unsafe {
        let v = sys::pgf_detoast_packed(d);
        std::slice::from_raw_parts(sys::pgf_vardata_any(v) as *const u8, sys::pgf_varsize_any_exhdr(v))
    }
}

/// # Safety
/// As [`ProducerState::put_row`].
unsafe fn put_values(
    w: &mut BlockWriter<'_>,
    slot: *mut sys::TupleTableSlot,
    types: &[ColumnType],
    pg_types: &[sys::Oid],
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
            ColumnType::Int64 => w.put_i64(i, d as i64),
            ColumnType::Float32 => w.put_f32(i, f32::from_bits(d as u32)),
            ColumnType::Float64 => w.put_f64(i, f64::from_bits(d as u64)),
            ColumnType::Decimal128 { precision, scale } => {
                // SAFETY: a numeric datum is a varlena.
                let bytes = unsafe { varlena_bytes(d) };
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
            ColumnType::Utf8View | ColumnType::BinaryView => {
                let bytes = if pg_types[i] == sys::NAMEOID {
                    // SAFETY: a name datum points to NAMEDATALEN bytes, NUL-terminated.
                    unsafe { std::ffi::CStr::from_ptr(d as *const std::ffi::c_char) }.to_bytes()
                } else {
                    // SAFETY: text, varchar, bpchar and bytea are varlenas.
                    unsafe { varlena_bytes(d) }
                };
                w.put_bytes(i, bytes)?;
            }
            ColumnType::Date32 => {
                let v = d as i32;
                if v == i32::MIN || v == i32::MAX {
                    return Err(fail(Unsupported::InfiniteDate));
                }
                w.put_i32(i, v + PG_EPOCH_DAYS);
            }
            ColumnType::TimestampUs { .. } => {
                let v = d as i64;
                match (v != i64::MIN && v != i64::MAX).then(|| v.checked_add(PG_EPOCH_MICROS)).flatten() {
                    Some(x) => w.put_i64(i, x),
                    None => return Err(fail(Unsupported::Timestamp)),
                }
            }
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

unsafe extern "C" fn receive_slot(slot: *mut sys::TupleTableSlot, this: *mut sys::DestReceiver) -> bool {
    // SAFETY: `this` is our Receiver (built in `Producer::start`); its state outlives the scan.
    let st = unsafe { &mut *(*(this as *mut Receiver)).state };
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
            st.error = Some(PgError::internal(super::error::panic_message(p)));
            false
        }
    }
}

unsafe extern "C" fn receiver_startup(_this: *mut sys::DestReceiver, _op: i32, _desc: sys::TupleDesc) {}
unsafe extern "C" fn receiver_noop(_this: *mut sys::DestReceiver) {}

pub struct Producer {
    session: ScanSession,
    worker: Wakeup,
    /// The leaf's plan, started (NULL for a producer that only ends, and after the end).
    qd: *mut sys::QueryDesc,
    state: Box<ProducerState>,
    fetch: i64,
    /// The executor has returned its last row (of the last block range).
    exhausted: bool,
    /// `End` was sent.
    ended: bool,
    /// Pages sent since the worker was last woken (see [`Producer::wake_worker`]).
    unsignaled: u32,
    /// Registered as waiting because the ring to the worker was full.
    ring_wait: bool,
    /// Block ranges to scan one after the other (parallel producers); None: the whole plan.
    chunks: Option<Chunks>,
    /// The plan has run over a block range: the next one is a rescan.
    ranged: bool,
}

/// Where a producer's executor runs: the statement's parameters and snapshot, the memory
/// context its executor state lives in, the statement's text (for hooks that report it) and
/// its instrumentation options (EXPLAIN ANALYZE).
#[derive(Clone, Copy)]
pub struct ExecEnv {
    pub params: sys::ParamListInfo,
    pub snapshot: sys::Snapshot,
    pub memory: sys::MemoryContext,
    pub source: *const std::ffi::c_char,
    pub instrument: i32,
}

/// Pages a producer sends before it sets the worker's latch (see [`Producer::wake_worker`]).
const WAKE_EVERY_PAGES: u32 = 4;

/// The smallest block range a producer claims.
pub const MIN_CHUNK_BLOCKS: u64 = 64;

/// Block ranges of one relation, handed out to the leader and its parallel workers (see
/// `parallel.rs`): each claim is the next `chunk` blocks, and toward the end a share of what is
/// left (at least [`MIN_CHUNK_BLOCKS`]), so the producers finish together instead of one scanning
/// a last full range alone while a core idles. The last range is open-ended, so rows in blocks
/// added after the count (invisible to the query's snapshot anyway) are not missed.
pub struct Chunks {
    /// The next unclaimed block, in the parallel context's shared memory.
    pub next: *const AtomicU64,
    pub nblocks: u64,
    pub chunk: u64,
    /// The leader and its workers.
    pub producers: u64,
}

impl Chunks {
    /// The size of the range claimed at block `lo` (< `nblocks`).
    fn size_at(&self, lo: u64) -> u64 {
        self.chunk.min((self.nblocks - lo) / (2 * self.producers.max(1))).max(MIN_CHUNK_BLOCKS)
    }

    /// The next block range; None when every block is claimed.
    fn claim(&self) -> Option<BlockRange> {
        // SAFETY: `next` points into the parallel context's DSM segment, mapped while any
        // producer of the scan runs.
        let next = unsafe { &*self.next };
        let mut lo = next.load(Ordering::SeqCst);
        let hi = loop {
            if lo >= self.nblocks {
                return None;
            }
            let hi = lo.saturating_add(self.size_at(lo));
            match next.compare_exchange_weak(lo, hi, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => break hi,
                Err(current) => lo = current,
            }
        };
        Some(BlockRange { lo, hi: (hi < self.nblocks).then_some(hi) })
    }
}

/// Blocks `lo` up to `hi` of a relation; the last range (`hi` None) runs to the relation's end.
#[derive(Clone, Copy, Debug)]
struct BlockRange {
    lo: u64,
    hi: Option<u64>,
}

impl Producer {
    /// Start the leaf's `plan` over the whole relation.
    pub fn start(
        session: ScanSession,
        worker: Wakeup,
        plan: *mut sys::PlannedStmt,
        types: Vec<ColumnType>,
        pg_types: Vec<sys::Oid>,
        env: &ExecEnv,
        producers: usize,
    ) -> PgResult<Producer> {
        let mut p = Producer::new(session, worker, None, types, pg_types, producers)?;
        p.open(plan, env)?;
        Ok(p)
    }

    /// A producer of block ranges of `chunks` on `session` (the leader's own, or a slot it
    /// claimed for a parallel worker and the worker attached to): one executor start of the
    /// leaf's `plan`, then per range a rescan with the range as heap scan limits. Ends at once
    /// when every range is taken already.
    #[allow(clippy::too_many_arguments)]
    pub fn start_chunked(
        session: ScanSession,
        worker: Wakeup,
        chunks: Chunks,
        plan: *mut sys::PlannedStmt,
        types: Vec<ColumnType>,
        pg_types: Vec<sys::Oid>,
        env: &ExecEnv,
        producers: usize,
    ) -> PgResult<Producer> {
        let mut p = Producer::new(session, worker, Some(chunks), types, pg_types, producers)?;
        p.open(plan, env)?;
        if !p.next_range()? {
            p.exhausted = true;
        }
        Ok(p)
    }

    /// A producer that sends End at once (a parallel worker that did not start).
    pub fn empty(
        session: ScanSession,
        worker: Wakeup,
        types: Vec<ColumnType>,
        pg_types: Vec<sys::Oid>,
    ) -> PgResult<Producer> {
        let mut p = Producer::new(session, worker, None, types, pg_types, 1)?;
        p.exhausted = true;
        Ok(p)
    }

    fn new(
        session: ScanSession,
        worker: Wakeup,
        chunks: Option<Chunks>,
        types: Vec<ColumnType>,
        pg_types: Vec<sys::Oid>,
        producers: usize,
    ) -> PgResult<Producer> {
        let seg = session.segment();
        let owner = session.pool_owner();
        let pool = seg.pool();
        let capacity = BlockWriter::plan_capacity(pool.page_size(), &types, super::guc::tail_bytes_per_row())
            .map_err(|_| {
                PgError::new(
                    SqlState::PROGRAM_LIMIT_EXCEEDED,
                    format!("scan rows of {} columns do not fit a page", types.len()),
                )
                .with_hint("Raise pg_fusion.page_size.")
            })?;
        if pg_types.len() != types.len() {
            return Err(PgError::internal("scan column types differ in the plan"));
        }
        let state = Box::new(ProducerState {
            block: None,
            types: types.into_boxed_slice(),
            pg_types,
            seg,
            owner,
            capacity,
            reserve: (pool.page_count() / 8).max(2),
            // Enough pages in flight to keep the worker busy; a share of the pool per producer.
            credits: (pool.page_count() / (4 * producers.max(1))).clamp(2, 16) as u32,
            to_send: None,
            pending: std::ptr::null_mut(),
            has_pending: false,
            stalled: false,
            waiting_for_page: false,
            error: None,
            rows: 0,
        });
        seg.metrics().inc(Metric::ScanProducersStartedTotal);
        Ok(Producer {
            session,
            worker,
            qd: std::ptr::null_mut(),
            state,
            fetch: super::guc::scan_fetch_batch_rows(),
            exhausted: false,
            ended: false,
            unsignaled: 0,
            ring_wait: false,
            chunks,
            ranged: false,
        })
    }

    /// The next block range: the plan rescanned (after the first) and limited to the range's
    /// blocks; false when none is left.
    fn next_range(&mut self) -> PgResult<bool> {
        let Some(range) = self.chunks.as_ref().and_then(|c| c.claim()) else { return Ok(false) };
        let qd = self.qd;
        if std::mem::replace(&mut self.ranged, true) {
            // SAFETY: the started QueryDesc; its executor is not running (between ExecutorRun
            // calls), as ExecReScan requires.
            guard(|| unsafe { sys::pgf_query_rescan(qd) })?;
        }
        let block = |b: u64| sys::BlockNumber::try_from(b).unwrap_or(sys::BlockNumber::MAX - 1);
        let (start, count, to_end) = match range.hi {
            Some(hi) => (block(range.lo), block(hi - range.lo), false),
            None => (block(range.lo), 0, true),
        };
        // SAFETY: the started QueryDesc, before its first row or just rescanned.
        if !guard(|| unsafe { sys::pgf_seqscan_limit_blocks((*qd).planstate, start, count, to_end) })? {
            return Err(PgError::internal("a leaf split by block ranges has no sequential scan to limit"));
        }
        Ok(true)
    }

    /// Start the executor on `plan` (its result columns must be exactly the planned ones).
    fn open(&mut self, plan: *mut sys::PlannedStmt, env: &ExecEnv) -> PgResult<()> {
        if plan.is_null() {
            return Err(PgError::internal("scan leaf without a plan"));
        }
        let ncols = self.state.types.len();
        let state_ptr: *mut ProducerState = &mut *self.state;
        let env = *env;
        // SAFETY: allocations in the query's memory context (lives until the executor ends);
        // CreateQueryDesc keeps the snapshot, which the statement holds registered while it
        // runs. The executor start checks the leaf's permissions as PostgreSQL's own plan would.
        let qd = guard(|| unsafe {
            let old = sys::CurrentMemoryContext;
            sys::CurrentMemoryContext = env.memory;
            let r = sys::palloc0(std::mem::size_of::<Receiver>()) as *mut Receiver;
            (*r).base.receiveSlot = Some(receive_slot);
            (*r).base.rStartup = Some(receiver_startup);
            (*r).base.rShutdown = Some(receiver_noop);
            (*r).base.rDestroy = Some(receiver_noop);
            (*r).base.mydest = sys::CommandDest_DestNone;
            (*r).state = state_ptr;
            let qd = sys::CreateQueryDesc(
                plan,
                env.source,
                env.snapshot,
                std::ptr::null_mut(),
                r as *mut sys::DestReceiver,
                env.params,
                std::ptr::null_mut(),
                env.instrument,
            );
            sys::ExecutorStart(qd, 0);
            sys::CurrentMemoryContext = old;
            qd
        })?;
        self.qd = qd;
        // SAFETY: ExecutorStart filled qd->tupDesc.
        unsafe {
            let desc = &*(*qd).tupDesc;
            if desc.natts as usize != ncols {
                return Err(PgError::internal(
                    "a scan leaf returns a different number of columns than planned",
                ));
            }
            let attrs = desc.attrs.as_ptr();
            for i in 0..ncols {
                let t = (*attrs.add(i)).atttypid;
                if t != self.state.pg_types[i] {
                    return Err(PgError::internal(format!(
                        "scan column {} has type {t}, planned {}",
                        i + 1,
                        self.state.pg_types[i]
                    )));
                }
            }
            let tupdesc = (*qd).tupDesc;
            let memory = env.memory;
            self.state.pending = guard(|| {
                let old = sys::CurrentMemoryContext;
                sys::CurrentMemoryContext = memory;
                let copy = sys::CreateTupleDescCopy(tupdesc);
                let s = sys::MakeSingleTupleTableSlot(copy, &sys::TTSOpsMinimalTuple);
                sys::CurrentMemoryContext = old;
                s
            })?;
        }
        Ok(())
    }

    /// The started leaf plan (EXPLAIN ANALYZE prints it with its instrumentation).
    pub fn query_desc(&self) -> *mut sys::QueryDesc {
        self.qd
    }

    /// Shut the executor down (normal end; not called on ERROR).
    fn close(&mut self) -> PgResult<()> {
        let qd = std::mem::replace(&mut self.qd, std::ptr::null_mut());
        if qd.is_null() {
            return Ok(());
        }
        // SAFETY: the QueryDesc started in `open`, ended exactly once.
        guard(|| unsafe {
            sys::PushActiveSnapshot((*qd).snapshot);
            sys::ExecutorFinish(qd);
            sys::ExecutorEnd(qd);
            sys::PopActiveSnapshot();
            sys::FreeQueryDesc(qd);
        })
    }

    /// The session is still the slot's current one (a parallel worker stops when its leader
    /// released the slot).
    pub fn is_current(&self) -> bool {
        self.session.is_current()
    }

    pub fn slot_ref(&self) -> crate::protocol::SlotRef {
        let l = self.session.lease();
        crate::protocol::SlotRef { index: l.index, generation: l.generation }
    }

    pub fn is_done(&self) -> bool {
        self.ended
    }

    fn send_pending(&mut self) -> PgResult<bool> {
        if let Some(p) = self.state.to_send {
            if !self.send(&ScanMsg::Page(p))? {
                return Ok(false);
            }
            self.state.to_send = None;
            self.unsignaled += 1;
            if self.unsignaled >= WAKE_EVERY_PAGES {
                self.wake_worker();
            }
        }
        Ok(true)
    }

    /// Send `msg` to the worker; false when its ring is full. Then this producer waits until
    /// the worker's reader makes room: registered as a page wait, so the reader's next grant wakes
    /// it (`wake_page_waiters`), and tried again after registering, so a frame read in between is
    /// not missed.
    fn send(&mut self, msg: &ScanMsg) -> PgResult<bool> {
        let (seg, index) = (self.state.seg, self.session.lease().index);
        if !self.session.try_send(msg)? {
            seg.metrics().inc(Metric::ScanRingFullTotal);
            seg.set_page_wait(SlotKind::Scan, index, true);
            self.ring_wait = true;
            if !self.session.try_send(msg)? {
                self.wake_worker();
                return Ok(false);
            }
        }
        if self.ring_wait {
            self.ring_wait = false;
            seg.set_page_wait(SlotKind::Scan, index, false);
        }
        Ok(true)
    }

    /// Set the worker's latch (a signal and two thread switches on its side when it sleeps).
    /// Pages are announced in groups of [`WAKE_EVERY_PAGES`]: the worker's reader drains its ring
    /// whenever it runs, so the group costs one wakeup instead of one per page. Every path
    /// where the producer stops (it is about to wait, it sent `End`, it failed) wakes the worker
    /// first, so no sent page waits for a wakeup that never comes.
    fn wake_worker(&mut self) {
        self.unsignaled = 0;
        latch::wake(self.worker);
    }

    /// Advance the scan a little. Returns whether anything moved (false: blocked on pages or on
    /// the ring; wait for a wakeup). The worker has been woken for every sent page whenever
    /// this returns anything but true.
    pub fn step(&mut self) -> PgResult<bool> {
        let r = self.advance();
        if (!matches!(r, Ok(true)) || self.ended) && self.unsignaled > 0 {
            self.wake_worker();
        }
        r
    }

    fn advance(&mut self) -> PgResult<bool> {
        if self.ended {
            return Ok(false);
        }
        let seg = self.state.seg;
        let scan_index = self.session.lease().index;
        self.state.credits = self.state.credits.saturating_add(self.session.take_credits()?);
        if !self.send_pending()? {
            return Ok(false);
        }
        if self.state.has_pending {
            let pending = self.state.pending;
            // SAFETY: `pending` holds a full copy of a scan row (deformed by the call below).
            let r = guard(|| unsafe {
                sys::pgf_slot_getallattrs(pending);
            });
            r?;
            // SAFETY: as above.
            match unsafe { self.state.try_put_row(pending) } {
                Ok(Put::Done) => {
                    self.state.has_pending = false;
                    seg.set_page_wait(SlotKind::Scan, scan_index, false);
                }
                Ok(Put::Stall) => {
                    let _ = self.send_pending()?;
                    if self.state.waiting_for_page {
                        self.state.waiting_for_page = false;
                        let registered = seg.slot(SlotKind::Scan, scan_index).is_some_and(|s| s.page_wait());
                        if !registered {
                            seg.set_page_wait(SlotKind::Scan, scan_index, true);
                            seg.metrics().inc(Metric::PageAcquireWaitTotal);
                            // A credit or page that came since this step began would not wake
                            // us: look once more, now that wakeups reach us.
                            return Ok(true);
                        }
                    }
                    return Ok(false);
                }
                // `try_put_row` reports failures as errors; `Failed` is `put_row`'s.
                Ok(Put::Failed) => {
                    return Err(self.state.error.take().unwrap_or_else(|| PgError::internal("a row failed")))
                }
                Err(e) => return Err(e),
            }
        }
        if self.exhausted {
            self.state.finish_block();
            if !self.send_pending()? {
                return Ok(false);
            }
            if !self.send(&ScanMsg::End { rows: self.state.rows })? {
                return Ok(false);
            }
            self.wake_worker();
            seg.metrics().add(Metric::ScanRowsEncodedTotal, self.state.rows);
            self.ended = true;
            return Ok(true);
        }
        let qd = self.qd;
        let fetch = self.fetch as u64;
        // SAFETY: the scan's QueryDesc, started in `start`; run under its own snapshot.
        guard(|| unsafe {
            sys::PushActiveSnapshot((*qd).snapshot);
            sys::ExecutorRun(qd, sys::ScanDirection_ForwardScanDirection, fetch, false);
            sys::PopActiveSnapshot();
        })?;
        if let Some(e) = self.state.error.take() {
            return Err(e);
        }
        // SAFETY: as above. ExecutorRun counts from zero on every call.
        let processed = unsafe { (*(*qd).estate).es_processed };
        if self.state.stalled {
            self.state.stalled = false;
            let _ = self.send_pending()?;
        } else if processed < fetch {
            // The plan (or its block range) is done: the next block range, or the end.
            if !self.next_range()? {
                self.exhausted = true;
            }
        }
        if self.state.to_send.is_some() {
            let _ = self.send_pending()?;
        }
        Ok(true)
    }

    /// Normal end: shut the scan's executor down. Not called on ERROR (abort cleans up).
    pub fn finish(&mut self) -> PgResult<()> {
        self.close()
    }
}
