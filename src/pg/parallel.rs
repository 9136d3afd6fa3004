//! Parallel scan producers: the leader backend and PostgreSQL parallel workers read disjoint
//! block ranges of one relation and encode them into pages, each into its own scan slot.
//!
//! Rules:
//! - Workers come from PostgreSQL's parallel infrastructure (a `ParallelContext`), which gives
//!   them the leader's snapshot, user, settings and transaction state: visibility and
//!   permissions are the leader's. Parallel mode is the executor's (entered for a plan that asks
//!   for it and runs once), so a cursor never gets workers.
//! - The leader claims every slot (its own and one per planned worker) before launching, and
//!   releases them only after its workers exited (`ShutdownCustomScan`, or on ERROR after
//!   PostgreSQL's abort destroyed the context): a worker never writes a page after its slot
//!   changed hands. A worker attaches to its slot (`ScanSession::attach`) and stops when the
//!   leader sets `stop` or the slot's session ends. A slot whose worker did not start gets `End`
//!   from the leader at once.
//! - Block ranges are claimed from the shared `next` counter (see `producer::Chunks`); the shared
//!   space is written by the leader before launch and read-only afterwards, except `next` and
//!   `stop`. Every read of it is bounds-checked against the length the leader recorded.
//! - A worker's ERROR reaches the leader through PostgreSQL (with its SQLSTATE).

use std::ffi::c_void;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::entry::entry;
use super::error::{guard, PgError, PgResult};
use super::latch;
use super::producer::{Chunks, Producer, MIN_CHUNK_BLOCKS};
use super::shmem;
use super::sys;
use crate::control::ScanSession;
use crate::page::ColumnType;
use crate::protocol::SlotRef;
use crate::shm::{SlotLease, Wakeup};

/// The start of the shared space; the variable parts follow (see `Layout`).
#[repr(C)]
struct Header {
    /// The next unclaimed block.
    next: AtomicU64,
    nblocks: u64,
    chunk: u64,
    /// The leader and its workers.
    producers: u64,
    /// Set by the leader when the scan's results are no longer needed.
    stop: AtomicU32,
    /// Total bytes of the space (header included), for bounds checks.
    len: u32,
    leaves: u32,
    worker_procno: i32,
    worker_pid: i32,
    nslots: u32,
    sql_len: u32,
    types_len: u32,
    pg_types_count: u32,
    params_len: u32,
}

/// Offsets of the variable parts, in order: slots (index, generation as u32 pairs), the chunk
/// SQL, the block types string, PostgreSQL type OIDs (u32 each), serialized parameters.
struct Layout {
    slots: usize,
    sql: usize,
    types: usize,
    pg_types: usize,
    params: usize,
    end: usize,
}

impl Layout {
    fn of(nslots: usize, sql: usize, types: usize, pg_types: usize, params: usize) -> Layout {
        let slots = std::mem::size_of::<Header>();
        let sql_at = slots + nslots * 8;
        let types_at = sql_at + sql;
        let pg_at = (types_at + types).next_multiple_of(4);
        let params_at = (pg_at + pg_types * 4).next_multiple_of(8);
        Layout {
            slots,
            sql: sql_at,
            types: types_at,
            pg_types: pg_at,
            params: params_at,
            end: params_at + params,
        }
    }
}

/// The block-range share of one relation: the parallel context and its shared space.
pub struct ParallelScan {
    pcxt: *mut sys::ParallelContext,
    header: *mut Header,
    pub planned: u32,
    pub launched: u32,
}

/// Workers PostgreSQL would plan for a heap scan of `nblocks` (as `compute_parallel_worker`):
/// none below `min_parallel_table_scan_size`, then one more per tripling.
pub fn workers_for(nblocks: u64, min_blocks: u64) -> u32 {
    let mut threshold = min_blocks.max(1);
    if nblocks < threshold {
        return 0;
    }
    let mut workers = 1;
    while nblocks >= threshold * 3 {
        workers += 1;
        threshold *= 3;
        if threshold > i32::MAX as u64 / 3 {
            break;
        }
    }
    workers
}

impl ParallelScan {
    /// Create the context for one worker per slot in `slots`, fill the shared space and launch.
    #[allow(clippy::too_many_arguments)]
    pub fn launch(
        slots: &[SlotRef],
        chunk_sql: &str,
        nblocks: u64,
        types: &str,
        pg_types: &[sys::Oid],
        params: sys::ParamListInfo,
        worker: Wakeup,
        leaves: usize,
    ) -> PgResult<ParallelScan> {
        // SAFETY: sizing a valid (or NULL) ParamListInfo.
        let params_len =
            if params.is_null() { 0 } else { guard(|| unsafe { sys::pgf_params_size(params) })? };
        let layout = Layout::of(slots.len(), chunk_sql.len(), types.len(), pg_types.len(), params_len);
        let producers = slots.len() as u64 + 1;
        let chunk = (nblocks / (producers * 8)).clamp(MIN_CHUNK_BLOCKS, 16384);
        let mut space: *mut c_void = std::ptr::null_mut();
        let space_p: *mut *mut c_void = &mut space;
        let n = slots.len() as i32;
        let len = layout.end;
        // SAFETY: under parallel mode (checked by the caller); the context lives until
        // `finish` or the transaction's end.
        let pcxt = guard(|| unsafe { sys::pgf_parallel_create(n, len, space_p) })?;
        let mut scan =
            ParallelScan { pcxt, header: space as *mut Header, planned: slots.len() as u32, launched: 0 };
        if space.is_null() {
            return Ok(scan);
        }
        // SAFETY: `space` is `len` bytes of the context's DSM segment, zeroed, ours until launch;
        // every write below stays inside `layout.end == len`.
        unsafe {
            let base = space as *mut u8;
            let h = &mut *(space as *mut Header);
            h.next = AtomicU64::new(0);
            h.nblocks = nblocks;
            h.chunk = chunk;
            h.producers = producers;
            h.stop = AtomicU32::new(0);
            h.len = len as u32;
            h.leaves = leaves as u32;
            h.worker_procno = worker.procno;
            h.worker_pid = worker.pid;
            h.nslots = slots.len() as u32;
            h.sql_len = chunk_sql.len() as u32;
            h.types_len = types.len() as u32;
            h.pg_types_count = pg_types.len() as u32;
            h.params_len = params_len as u32;
            for (i, s) in slots.iter().enumerate() {
                let at = base.add(layout.slots + i * 8) as *mut u32;
                at.write_unaligned(s.index);
                at.add(1).write_unaligned(s.generation);
            }
            std::ptr::copy_nonoverlapping(chunk_sql.as_ptr(), base.add(layout.sql), chunk_sql.len());
            std::ptr::copy_nonoverlapping(types.as_ptr(), base.add(layout.types), types.len());
            for (i, t) in pg_types.iter().enumerate() {
                (base.add(layout.pg_types + i * 4) as *mut u32).write_unaligned(*t);
            }
            if params_len > 0 {
                let dst = base.add(layout.params) as *mut std::ffi::c_char;
                guard(|| sys::pgf_params_serialize(params, dst))?;
            }
        }
        // SAFETY: the context initialised above.
        scan.launched = guard(|| unsafe { sys::pgf_parallel_launch(pcxt) })?.max(0) as u32;
        Ok(scan)
    }

    /// Block ranges for the leader's own producer (shares the workers' counter); None when the
    /// context got no shared space (no workers then either).
    pub fn chunks(&self, prefix: &str) -> Option<Chunks> {
        if self.header.is_null() {
            return None;
        }
        // SAFETY: the header written in `launch`, in the DSM segment mapped until `finish`.
        let h = unsafe { &*self.header };
        Some(Chunks {
            next: &h.next,
            nblocks: h.nblocks,
            chunk: h.chunk,
            producers: h.producers,
            prefix: prefix.to_string(),
        })
    }

    /// Stop the workers, wait for them to exit (raising a worker's ERROR here) and destroy the
    /// context. Idempotent.
    pub fn finish(&mut self) -> PgResult<()> {
        let pcxt = std::mem::replace(&mut self.pcxt, std::ptr::null_mut());
        if pcxt.is_null() {
            return Ok(());
        }
        if !self.header.is_null() {
            // SAFETY: as in `chunks`.
            unsafe { &*self.header }.stop.store(1, Ordering::SeqCst);
        }
        self.header = std::ptr::null_mut();
        // SAFETY: the context created in `launch`, destroyed once.
        guard(|| unsafe { sys::pgf_parallel_finish(pcxt) })
    }
}

/// The parallel worker's entry point, named in `CreateParallelContext` (see the module rules).
#[no_mangle]
pub extern "C" fn pgf_parallel_scan_main(_seg: *mut sys::dsm_segment, toc: *mut sys::shm_toc) {
    entry(|| {
        // SAFETY: the context's table of contents, handed over by ParallelWorkerMain; a missing
        // key raises an ERROR (caught by guard).
        let space = guard(|| unsafe { sys::pgf_parallel_space(toc) })?;
        // SAFETY: a plain read of a process global.
        let number = unsafe { sys::pgf_parallel_worker_number() };
        worker_main(space, number)
    })
}

fn worker_main(space: *mut c_void, worker_number: i32) -> PgResult<()> {
    let corrupt = || PgError::internal("corrupt parallel scan space");
    if space.is_null() || worker_number < 0 {
        return Err(corrupt());
    }
    // SAFETY: the leader's space in the DSM segment this worker maps; the header's `len` bounds
    // every part (checked below before any read).
    let h = unsafe { &*(space as *const Header) };
    let layout = Layout::of(
        h.nslots as usize,
        h.sql_len as usize,
        h.types_len as usize,
        h.pg_types_count as usize,
        h.params_len as usize,
    );
    if layout.end != h.len as usize || worker_number as u32 >= h.nslots {
        return Err(corrupt());
    }
    let base = space as *const u8;
    // SAFETY: every offset below is inside `layout.end == h.len`, the space's size.
    let (lease, sql, types, pg_types) = unsafe {
        let at = base.add(layout.slots + worker_number as usize * 8) as *const u32;
        let lease = SlotLease { index: at.read_unaligned(), generation: at.add(1).read_unaligned() };
        let bytes = |off: usize, len: usize| std::slice::from_raw_parts(base.add(off), len);
        let sql = String::from_utf8_lossy(bytes(layout.sql, h.sql_len as usize)).into_owned();
        let types = String::from_utf8_lossy(bytes(layout.types, h.types_len as usize)).into_owned();
        let pg_types: Vec<sys::Oid> = (0..h.pg_types_count as usize)
            .map(|i| (base.add(layout.pg_types + i * 4) as *const u32).read_unaligned())
            .collect();
        (lease, sql, types, pg_types)
    };
    let types: Vec<ColumnType> = super::scan_node::parse_types(&types)?;
    let params = if h.params_len == 0 {
        std::ptr::null_mut()
    } else {
        // SAFETY: bytes written by SerializeParamList in the leader, inside the space.
        let src = unsafe { base.add(layout.params) } as *mut std::ffi::c_char;
        guard(|| unsafe { sys::pgf_params_restore(src) })?
    };
    let seg = shmem::segment()?;
    let Some(session) = ScanSession::attach(seg, lease) else { return Ok(()) };
    let worker = Wakeup { procno: h.worker_procno, pid: h.worker_pid };
    let chunks =
        Chunks { next: &h.next, nblocks: h.nblocks, chunk: h.chunk, producers: h.producers, prefix: sql };
    // SAFETY: reading the current memory context (the worker's transaction context).
    let memory = unsafe { sys::CurrentMemoryContext };
    let mut p =
        Producer::start_chunked(session, worker, chunks, types, pg_types, params, memory, h.leaves as usize)?;
    while !p.is_done() && h.stop.load(Ordering::SeqCst) == 0 && p.is_current() {
        if !p.step()? {
            latch::wait_my_latch(10)?;
        }
        latch::check_for_interrupts()?;
    }
    p.finish()
}
