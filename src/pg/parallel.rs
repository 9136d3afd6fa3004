//! Parallel scan producers: the leader backend and PostgreSQL parallel workers read disjoint
//! block ranges of the query's large relations and encode them into pages, each producer into
//! its own scan slot.
//!
//! Rules:
//! - Workers come from PostgreSQL's parallel infrastructure (a `ParallelContext`), which gives
//!   them the leader's snapshot, user, settings and transaction state: visibility and
//!   permissions are the leader's. Parallel mode is the executor's (entered for a plan that asks
//!   for it and runs once), so a cursor never gets workers.
//! - One context per query, its workers shared by every leaf of the pool
//!   (`crate::shm::parallel_space`): each worker has a slot per leaf and steps all its leaves in
//!   turn, as the leader steps its own, so a worker whose leaf waits for the DataFusion worker
//!   (the probe side while a hash join builds) reads another leaf meanwhile.
//! - The leader claims every slot (its own and one per planned worker and leaf) before
//!   launching, and releases them only after its workers exited (`ShutdownCustomScan`, or on
//!   ERROR after PostgreSQL's abort destroyed the context): a worker never writes a page after
//!   its slot changed hands. A worker attaches to its slots (`ScanSession::attach`) and stops
//!   when the leader sets `stop` or a slot's session ends. The slots of a worker that was not
//!   launched get `End` from the leader at once; those of a launched worker the postmaster
//!   could not start, once the leader sees it stopped without having started
//!   (`ParallelScan::failed_workers`). Everything after launching that can fail runs with the
//!   context and the workers' slots already in the run, so an ERROR leaves them to the abort.
//! - Block ranges are claimed from each leaf's shared `next` counter (see `producer::Chunks`).
//! - A worker's ERROR reaches the leader through PostgreSQL (with its SQLSTATE).

use std::ffi::c_void;

use super::entry::entry;
use super::error::{guard, PgError, PgResult};
use super::latch::{self, WaitEvent};
use super::producer::{Chunks, ExecEnv, ProbeRole, Producer, MIN_CHUNK_BLOCKS};

/// At most this many plan nodes per leaf have their instrumentation reported by a worker under
/// EXPLAIN ANALYZE (by plan_node_id; the largest pooled leaf's count, see `PoolLeaf::nodes`:
/// an Append of partitions has one per partition, at most `leaf::SPLIT_CHILDREN_MAX` in a
/// pooled leaf). Each (worker, leaf) pair reserves room for this many in the parallel space.
const INSTRUMENTED_NODES_MAX: u32 = 1024;
use super::leaf::ProbePlan;
use super::shmem;
use super::sys;
use crate::control::ScanSession;
use crate::page::ColumnType;
use crate::shm::parallel_space::{self, LeafRanges, SpaceLeaf, SpaceSettings, SpaceView};
use crate::shm::{SlotLease, Wakeup};

/// The parallel context of one query and its shared space.
pub struct ParallelScan {
    pcxt: *mut sys::ParallelContext,
    space: Option<SpaceView>,
    pub launched: u32,
    /// Per launched worker: known to have started (or to have failed to), see `failed_workers`.
    known: Vec<bool>,
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

/// One leaf of the pool, as the leader hands it to the workers.
pub struct PoolLeaf<'a> {
    /// Per worker, the slot the leader claimed for it (None: that worker does not read the leaf).
    pub slots: Vec<Option<SlotLease>>,
    /// The leaf's plan as node text.
    pub plan: &'a str,
    pub nblocks: u64,
    /// The plan's nodes (`pgf_plan_nodes`).
    pub nodes: u32,
    pub types: &'a str,
    /// Its index probes (`parallel_space::encode_probes`).
    pub probes: &'a str,
    pub pg_types: &'a [sys::Oid],
}

impl ParallelScan {
    /// Create the context for `nworkers` workers serving `pool`, fill the shared space and launch.
    pub fn launch(
        nworkers: usize,
        pool: &[PoolLeaf],
        env: &ExecEnv,
        worker: Wakeup,
    ) -> PgResult<ParallelScan> {
        let params = env.params;
        // SAFETY: sizing a valid (or NULL) ParamListInfo.
        let params_len =
            // SAFETY: sizing a valid (or NULL) ParamListInfo.
            if params.is_null() { 0 } else { guard(|| unsafe { sys::pgf_params_size(params) })? };
        let space_leaves: Vec<SpaceLeaf> = pool
            .iter()
            .map(|l| {
                // The leader and the workers with a slot.
                let producers = 1 + l.slots.iter().filter(|s| s.is_some()).count() as u64;
                SpaceLeaf {
                    slots: &l.slots,
                    plan: l.plan,
                    types: l.types,
                    probes: l.probes,
                    pg_types: l.pg_types,
                    nblocks: l.nblocks,
                    chunk: (l.nblocks / (producers * 8)).clamp(MIN_CHUNK_BLOCKS, 16384),
                    producers,
                }
            })
            .collect();
        // SAFETY: sizes of PostgreSQL structs.
        let (usage_size, instr_size) = unsafe { (sys::pgf_usage_size(), sys::pgf_instr_size()) };
        let settings = SpaceSettings {
            worker_procno: worker.procno,
            worker_pid: worker.pid,
            nworkers: nworkers as u32,
            instrument: env.instrument,
            usage_size: usage_size as u32,
            instr_size: instr_size as u32,
            instr_slots: if env.instrument != 0 {
                pool.iter().map(|l| l.nodes).max().unwrap_or(1).clamp(1, INSTRUMENTED_NODES_MAX)
            } else {
                0
            },
        };
        let len = parallel_space::size(&settings, &space_leaves, params_len);
        let mut space: *mut c_void = std::ptr::null_mut();
        let space_p: *mut *mut c_void = &mut space;
        // SAFETY: under parallel mode (checked by the caller); the context lives until
        // `finish` or the transaction's end.
        let pcxt = guard(|| unsafe { sys::pgf_parallel_create(nworkers as i32, len, space_p) })?;
        let mut scan = ParallelScan { pcxt, space: None, launched: 0, known: Vec::new() };
        if space.is_null() {
            return Ok(scan);
        }
        let corrupt = |_| PgError::internal("parallel scan space too small");
        // SAFETY: `space` is `len` zeroed bytes of the context's DSM segment (shm_toc_allocate
        // aligns to MAXALIGN and beyond), ours until launch.
        let params_at =
            unsafe { parallel_space::write(space as *mut u8, len, &settings, &space_leaves, params_len) }
                .map_err(corrupt)?;
        if params_len > 0 {
            // SAFETY: `params_len` bytes reserved at `params_at` inside the space.
            let dst = unsafe { (space as *mut u8).add(params_at) } as *mut std::ffi::c_char;
            // SAFETY: serializing a valid ParamListInfo into room sized by pgf_params_size.
            guard(|| unsafe { sys::pgf_params_serialize(params, dst) })?;
        }
        // SAFETY: written above, `len` bytes mapped until `finish`.
        scan.space = Some(unsafe { SpaceView::new(space as *mut u8, len) }.map_err(corrupt)?);
        // SAFETY: the context initialised above.
        scan.launched = guard(|| unsafe { sys::pgf_parallel_launch(pcxt) })?.max(0) as u32;
        scan.known = vec![false; scan.launched as usize];
        Ok(scan)
    }

    /// Launched workers found stopped without ever having started (the postmaster could not
    /// start them), each reported once: nobody will end their slots but the leader. Cheap once
    /// every worker is known to have started.
    pub fn failed_workers(&mut self) -> Vec<usize> {
        let mut failed = Vec::new();
        if self.pcxt.is_null() {
            return failed;
        }
        for (i, known) in self.known.iter_mut().enumerate().filter(|(_, k)| !**k) {
            // SAFETY: the live context (not finished: `pcxt` is not null); `i` < launched.
            match unsafe { sys::pgf_parallel_worker_state(self.pcxt, i as i32) } {
                1 => *known = true,
                2 => {
                    *known = true;
                    failed.push(i);
                }
                _ => {}
            }
        }
        failed
    }

    /// Block ranges of pool leaf `leaf` for the leader's own producer (shares the workers'
    /// counter); None when the context got no shared space (no workers then either).
    pub fn chunks(&self, leaf: usize) -> Option<Chunks> {
        let ranges = self.space.as_ref()?.ranges(leaf).ok()?;
        Some(chunks(ranges))
    }

    /// Stop the workers, wait for them to exit (raising a worker's ERROR here) and destroy the
    /// context. Idempotent.
    /// `leader`: per pool leaf, the leader's own started plan of it (if any), into which the
    /// workers' instrumentation is added (EXPLAIN ANALYZE shows the sum over the producers).
    pub fn finish(&mut self, leader: &[Option<*mut sys::QueryDesc>]) -> PgResult<()> {
        let pcxt = std::mem::replace(&mut self.pcxt, std::ptr::null_mut());
        if pcxt.is_null() {
            return Ok(());
        }
        let space = self.space.take();
        if let Some(space) = &space {
            space.stop();
        }
        // SAFETY: the context created in `launch`; on a worker's ERROR the abort destroys it.
        guard(|| unsafe { sys::pgf_parallel_wait(pcxt) })?;
        // Every worker has exited: its reports are complete. Its buffer and WAL usage joins the
        // leader's (as PostgreSQL's parallel query adds its workers'), its plan nodes' figures
        // the leader's own nodes.
        if let Some(space) = &space {
            let corrupt = |_| PgError::internal("corrupt parallel scan space");
            for w in 0..self.launched as usize {
                let usage = space.usage(w).map_err(corrupt)?;
                // SAFETY: the worker's usage report, written by pgf_usage_end before it exited (zeroes for one that never ran).
                guard(|| unsafe { sys::pgf_usage_add(usage as *mut std::ffi::c_char) })?;
                let slots = space.header().instr_slots as i32;
                for (k, qd) in leader.iter().enumerate() {
                    let (Some(qd), Some(area)) = (qd, space.instrumentation(w, k).map_err(corrupt)?) else {
                        continue;
                    };
                    let qd = *qd;
                    // SAFETY: the leader's started QueryDesc of the same plan; the area holds `slots` Instrumentation structs the worker wrote (zeroes: nothing added).
                    guard(|| unsafe { sys::pgf_instr_import(qd, area as *mut std::ffi::c_char, slots) })?;
                }
            }
        }
        // SAFETY: the context created in `launch`, destroyed once.
        guard(|| unsafe { sys::pgf_parallel_destroy(pcxt) })
    }
}

/// The block ranges of a leaf of the space, for one producer.
fn chunks(r: LeafRanges) -> Chunks {
    // An Append's producer replaces the leader's total with its own count per child.
    Chunks { next: r.next, relations: vec![r.nblocks], chunk: r.chunk, producers: r.producers }
}

/// The parallel worker's entry point, named in `CreateParallelContext` (see the module rules).
#[no_mangle]
pub extern "C" fn pgf_parallel_scan_main(seg: *mut sys::dsm_segment, toc: *mut sys::shm_toc) {
    entry(|| {
        // SAFETY: the context's table of contents, handed over by ParallelWorkerMain; a missing
        // key raises an ERROR (caught by guard).
        let space = guard(|| unsafe { sys::pgf_parallel_space(toc) })?;
        // SAFETY: the segment ParallelWorkerMain mapped; `space` lies in it (or 0 comes back).
        let room = unsafe { sys::pgf_parallel_space_room(seg, space) };
        // SAFETY: a plain read of a process global.
        let number = unsafe { sys::pgf_parallel_worker_number() };
        worker_main(space, room, number)
    })
}

/// A PlannedStmt from the node text the leader wrote with nodeToString (as PostgreSQL's
/// parallel query ships plans), read into the worker's transaction context.
fn planned_stmt(text: String) -> PgResult<*mut sys::PlannedStmt> {
    let text = std::ffi::CString::new(text).map_err(|_| PgError::internal("corrupt leaf plan"))?;
    let tp = text.as_ptr();
    // SAFETY: NUL-terminated node text; stringToNode's ERROR on bad text is caught.
    let plan = guard(|| unsafe { sys::stringToNode(tp) as *mut sys::PlannedStmt })?;
    // SAFETY: reads the tag of a non-NULL node.
    if plan.is_null() || unsafe { super::nodes::tag(plan as *mut sys::Node) } != sys::NodeTag_T_PlannedStmt {
        return Err(PgError::internal("corrupt leaf plan"));
    }
    Ok(plan)
}

fn worker_main(space: *mut c_void, room: usize, worker_number: i32) -> PgResult<()> {
    let corrupt = |_| PgError::internal("corrupt parallel scan space");
    if worker_number < 0 {
        return Err(PgError::internal("corrupt parallel scan space"));
    }
    // SAFETY: the leader's space in the DSM segment this worker maps (`room` bytes from it),
    // written before launch; the view checks every part against the recorded length.
    let view = unsafe { SpaceView::new(space as *mut u8, room) }.map_err(corrupt)?;
    let h = view.header();
    let params = match view.params() {
        None => std::ptr::null_mut(),
        // SAFETY: bytes written by SerializeParamList in the leader, inside the space.
        Some(src) => guard(|| unsafe { sys::pgf_params_restore(src as *mut std::ffi::c_char) })?,
    };
    let seg = shmem::segment()?;
    let worker = Wakeup { procno: h.worker_procno, pid: h.worker_pid };
    // SAFETY: reads of process globals: the worker's transaction context and the leader's
    // snapshot, restored as the active one by ParallelWorkerMain.
    let env = unsafe {
        ExecEnv {
            params,
            snapshot: sys::GetActiveSnapshot(),
            memory: sys::CurrentMemoryContext,
            source: c"".as_ptr(),
            instrument: h.instrument,
        }
    };
    // SAFETY: starts counting this process's buffer and WAL usage for the report.
    guard(|| unsafe { sys::pgf_usage_start() })?;
    let mut producers = Vec::new();
    // The leaf (in the space) of each producer.
    let mut leaves = Vec::new();
    for leaf in 0..h.nleaves as usize {
        let l = view.leaf(leaf, worker_number as usize).map_err(corrupt)?;
        let Some(lease) = l.slot else { continue };
        let Some(session) = ScanSession::attach(seg, lease) else { continue };
        let types = ColumnType::parse_list(&l.types)
            .ok_or_else(|| PgError::internal("corrupt parallel scan space"))?;
        let plan = planned_stmt(l.plan)?;
        let mut probes = Vec::new();
        for p in parallel_space::decode_probes(&l.probes).map_err(corrupt)? {
            // Only what the producer uses: the worker decides whether to probe.
            probes.push(ProbePlan {
                column: p.column,
                stmt: planned_stmt(p.plan)?,
                paramid: p.paramid,
                elem: p.elem,
                distinct: 0,
                rows: 0,
                correlation: 0,
            });
        }
        producers.push(Producer::start(
            session,
            worker,
            Some(chunks(l.ranges)),
            plan,
            types,
            l.pg_types,
            &env,
            probes,
            ProbeRole::Helper,
        )?);
        leaves.push(leaf);
    }
    while !view.stopped() {
        let mut active = false;
        let mut progressed = false;
        for p in producers.iter_mut() {
            if !p.is_done() && p.is_current() {
                active = true;
                progressed |= p.step()?;
            }
        }
        if !active {
            break;
        }
        if !progressed {
            latch::wait_my_latch(10, WaitEvent::ParallelScan)?;
        }
        latch::check_for_interrupts()?;
    }
    let slots = h.instr_slots as i32;
    for (p, &leaf) in producers.iter_mut().zip(&leaves) {
        // A producer that read its leaf by an index probe ran another plan than the leader's
        // own may be (the leader adds the figures by plan node): it reports none.
        let report = if p.probing() {
            None
        } else {
            view.instrumentation(worker_number as usize, leaf).map_err(corrupt)?
        };
        if let Some(area) = report {
            let qd = p.query_desc();
            // SAFETY: this producer's started plan; the area is this worker's own report of `slots` Instrumentation structs, read by the leader only after this process exited.
            guard(|| unsafe { sys::pgf_instr_export(qd, area as *mut std::ffi::c_char, slots) })?;
        }
        p.finish()?;
    }
    let usage = view.usage(worker_number as usize).map_err(corrupt)?;
    // SAFETY: this worker's own usage report, `pgf_usage_size` bytes of the space.
    guard(|| unsafe { sys::pgf_usage_end(usage as *mut std::ffi::c_char) })?;
    Ok(())
}
