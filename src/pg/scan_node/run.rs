//! One execution of a PgFusionScan node: the executor callbacks (begin, next, end, shutdown),
//! the producers and parallel workers it starts, the result pages it imports.

use std::ffi::c_void;
use std::time::Instant;

use datafusion::arrow::buffer::Buffer;

use super::plan::{parse_types, private, unhex, LeafPrivate};
use super::slot::fill;
use crate::control::{held_by_this_session, holder_wait, ControlSession, ScanSession};
use crate::page::decode::{decode_block, DecodedBlock};
use crate::page::ColumnType;
use crate::pg::entry::entry;
use crate::pg::error::{guard, PgError, PgResult, SqlState};
use crate::pg::latch::WaitEvent;
use crate::pg::nodes;
use crate::pg::parallel::{self, ParallelScan};
use crate::pg::producer::{ExecEnv, ProbeRole, Producer};
use crate::pg::{latch, shmem, sys};
use crate::protocol::{Execute, PageRef, ProbeColumn, SlotRef, ToBackend, ToWorker};
use crate::shm::parallel_space;
use crate::shm::{Budget, Holdings, Metric, PageDescriptor, Segment, SlotKind, WorkerRole};

pub(super) struct ResultBlock {
    desc: PageDescriptor,
    block: DecodedBlock,
    row: usize,
}

/// A slot the leader claimed for a launched parallel worker.
pub(super) struct WorkerSlot {
    /// The worker's number in the parallel context.
    worker: usize,
    /// The leaf it produces (index into `Run::leaf_producers`).
    leaf: usize,
    session: ScanSession,
    types: Vec<ColumnType>,
    pg_types: Vec<sys::Oid>,
}

/// One execution of a PgFusionScan node.
pub(super) struct Run {
    pub(super) started: Option<Instant>,
    pub(super) finished: bool,
    pub(super) control: Option<ControlSession>,
    /// The producers this backend runs: per leaf its own, plus an `End`-only one per parallel
    /// worker that did not start.
    pub(super) producers: Vec<Producer>,
    /// Per leaf, the scan slots of its producers (leader first), as sent to the worker.
    pub(super) scan_slots: Vec<Vec<crate::protocol::SlotRef>>,
    /// Slots claimed for parallel workers that were launched (released after they exited).
    pub(super) worker_slots: Vec<WorkerSlot>,
    /// The query's parallel context, when it has workers.
    pub(super) parallel: Option<ParallelScan>,
    /// Per leaf: producers planned and started (EXPLAIN ANALYZE).
    pub(super) leaf_producers: Vec<(u32, u32)>,
    /// Per leaf: its producer in this backend (an index into `producers`), whose executor
    /// state EXPLAIN ANALYZE prints.
    pub(super) leaf_queries: Vec<Option<usize>>,
    /// The leaves parallel workers read too (indexes into the leaves), in the space's order.
    pub(super) pool_leaves: Vec<usize>,
    pub(super) result: Option<ResultBlock>,
    pub(super) output: Vec<ColumnType>,
    /// PostgreSQL type of each output column (scan tuple attribute).
    /// (`typlen`, `typbyval`) of each output column's PostgreSQL type.
    pub(super) out_layouts: Vec<(i16, bool)>,
    pub(super) rows: u64,
    /// The statement was canceled (57014) rather than failed, for the metrics.
    pub(super) canceled: bool,
    /// Under EXPLAIN ANALYZE (the node is instrumented): ask the worker for its metrics.
    pub(super) analyze: bool,
    /// Scan producers started for this execution.
    pub(super) producers_started: u32,
    /// The executed DataFusion plan with metrics (EXPLAIN ANALYZE), once the worker is done.
    pub(super) executed_plan: Option<String>,
    pub(super) callback: *mut sys::MemoryContextCallback,
}

impl Drop for Run {
    fn drop(&mut self) {
        // Gives back the result page we hold, the scan slot (and its pages), the control slot
        // (the worker cancels the query when it sees the session end).
        if let (Some(r), Some(c)) = (self.result.take(), self.control.as_ref()) {
            let _ = c.segment().pool().release(r.desc);
        }
        // Parallel workers have exited by now: `shutdown` waited for them, or the abort that
        // got us here destroyed their contexts first (AtEOXact_Parallel runs before the portal's
        // memory is reset).
        self.parallel = None;
        self.producers.clear();
        self.worker_slots.clear();
        self.control = None;
        if let Some(t) = self.started {
            if let Ok(seg) = shmem::segment() {
                seg.metrics().add(Metric::QueryTotalNs, t.elapsed().as_nanos() as u64);
                if self.canceled {
                    seg.metrics().inc(Metric::QueriesCanceledTotal);
                } else if !self.finished {
                    seg.metrics().inc(Metric::QueriesFailedTotal);
                }
            }
        }
    }
}

unsafe extern "C" fn drop_run(arg: *mut c_void) {
    if !arg.is_null() {
        // SAFETY: `arg` is the Box<Run> leaked in begin; EndCustomScan clears it before freeing.
        drop(unsafe { Box::from_raw(arg as *mut Run) });
    }
}

#[no_mangle]
pub extern "C" fn pgf_rs_begin_scan(node: *mut sys::CustomScanState, estate: *mut sys::EState, eflags: i32) {
    entry(|| begin(node, estate, eflags))
}

fn begin(node: *mut sys::CustomScanState, estate: *mut sys::EState, eflags: i32) -> PgResult<()> {
    let p = private(node)?;
    // The functions DataFusion evaluates are checked as PostgreSQL's executor checks those of
    // the expressions it initialises (EXPLAIN included), at every start of the plan.
    for &(f, aggregate) in &p.functions {
        // SAFETY: a catalog lookup; a missing privilege is an ERROR (42501), caught.
        guard(|| unsafe { sys::pgf_check_function_execute(f, aggregate) })?;
    }
    if eflags & sys::EXEC_FLAG_EXPLAIN_ONLY as i32 != 0 {
        return Ok(());
    }
    let output = parse_types(&p.output_types)?;
    // SAFETY: ExecInitCustomScan built the scan tuple slot from custom_scan_tlist.
    let out_pg = unsafe {
        let desc = (*(*node).ss.ss_ScanTupleSlot).tts_tupleDescriptor;
        (0..(*desc).natts).map(|i| sys::pgf_tupdesc_atttypid(desc, i)).collect::<Vec<_>>()
    };
    if out_pg.len() != output.len() {
        return Err(PgError::internal("PgFusionScan output columns differ from the plan"));
    }
    let out_layouts =
        out_pg.iter().map(|&t| crate::pg::catalog::type_layout(t)).collect::<PgResult<Vec<_>>>()?;
    let run = Box::into_raw(Box::new(Run {
        started: None,
        finished: false,
        control: None,
        producers: Vec::new(),
        scan_slots: Vec::new(),
        worker_slots: Vec::new(),
        parallel: None,
        leaf_producers: Vec::new(),
        leaf_queries: Vec::new(),
        pool_leaves: Vec::new(),
        result: None,
        output,
        out_layouts,
        rows: 0,
        canceled: false,
        // SAFETY: the executor state of the statement (the node's own `instrument` is only set after BeginCustomScan returns).
        analyze: unsafe { (*estate).es_instrument != 0 },
        producers_started: 0,
        executed_plan: None,
        callback: std::ptr::null_mut(),
    }));
    // SAFETY: the callback lives in the executor's memory context and runs when it is reset or deleted (end of query, or abort).
    unsafe {
        let cxt = (*estate).es_query_cxt;
        let cb = guard(|| {
            sys::MemoryContextAllocZero(cxt, std::mem::size_of::<sys::MemoryContextCallback>())
                as *mut sys::MemoryContextCallback
        })?;
        (*cb).func = Some(drop_run);
        (*cb).arg = run as *mut c_void;
        guard(|| sys::MemoryContextRegisterResetCallback(cxt, cb))?;
        (*run).callback = cb;
        sys::pgf_scan_state_set(node, run as *mut c_void);
    }
    Ok(())
}

#[no_mangle]
pub extern "C" fn pgf_rs_end_scan(node: *mut sys::CustomScanState) {
    entry(|| {
        // SAFETY: the state pointer set by begin (or NULL for EXPLAIN).
        let run = unsafe { sys::pgf_scan_state_get(node) } as *mut Run;
        if run.is_null() {
            return Ok(());
        }
        // Wait for the parallel workers while the reset callback still owns the run: a worker's
        // ERROR raised here leaves the run, and the slots other workers may still write, to the
        // abort (which ends the workers first).
        // SAFETY: set by begin, alive until detached below.
        shutdown(unsafe { &mut *run })?;
        // SAFETY: we own the Box; detach it from the reset callback first.
        let mut run = unsafe {
            sys::pgf_scan_state_set(node, std::ptr::null_mut());
            (*(*run).callback).arg = std::ptr::null_mut();
            Box::from_raw(run)
        };
        for p in run.producers.iter_mut() {
            p.finish()?;
        }
        if run.started.is_some() && run.finished {
            if let Ok(seg) = shmem::segment() {
                seg.metrics().add(Metric::BackendRowsReturnedTotal, run.rows);
            }
        }
        if crate::pg::guc::backend_log_level() >= 2 {
            let elapsed = run.started.map_or(0.0, |t| t.elapsed().as_secs_f64() * 1000.0);
            let (planned, started) =
                run.leaf_producers.iter().fold((0, 0), |(p, s), &(lp, ls)| (p + lp, s + ls));
            crate::pg::error::log(format_args!(
                "executed: {} rows in {elapsed:.3} ms, {} scan {}, producers {started} of {planned} started{}",
                run.rows,
                run.leaf_producers.len(),
                if run.leaf_producers.len() == 1 { "leaf" } else { "leaves" },
                if run.finished { "" } else { " (ended early)" }
            ))?;
        }
        run.finished = true;
        drop(run);
        Ok(())
    })
}

/// The end of the run (ExecShutdownNode, still in parallel mode): stop and wait for the
/// parallel scan producers.
#[no_mangle]
pub extern "C" fn pgf_rs_shutdown_scan(node: *mut sys::CustomScanState) {
    entry(|| {
        // SAFETY: the state pointer set by begin (or NULL for EXPLAIN).
        let run = unsafe { sys::pgf_scan_state_get(node) } as *mut Run;
        if run.is_null() {
            return Ok(());
        }
        // SAFETY: set by begin, alive until end_scan.
        shutdown(unsafe { &mut *run })
    })
}

fn shutdown(run: &mut Run) -> PgResult<()> {
    // The leader's own plan of each pooled leaf, which takes in the workers' instrumentation.
    let leader: Vec<Option<*mut sys::QueryDesc>> = run
        .pool_leaves
        .iter()
        .map(|&i| {
            run.leaf_queries
                .get(i)
                .copied()
                .flatten()
                .and_then(|k| run.producers.get(k))
                // A leader reading by an index probe runs another plan than its workers may
                // have (one whose Probe never came reports its own plan; one that probed
                // reports none): their figures are not added to it.
                .filter(|p| !p.probing())
                .map(|p| p.query_desc())
        })
        .collect();
    if let Some(p) = run.parallel.as_mut() {
        p.finish(&leader)?;
    }
    Ok(())
}

#[no_mangle]
pub extern "C" fn pgf_rs_rescan(_node: *mut sys::CustomScanState) {
    entry(|| -> PgResult<()> { Err(PgError::unsupported("rescan of a PgFusionScan (scrollable cursor)")) })
}

#[no_mangle]
pub extern "C" fn pgf_rs_next(node: *mut sys::CustomScanState) -> *mut sys::TupleTableSlot {
    entry(|| {
        let r = next(node);
        if matches!(&r, Err(e) if e.sqlstate() == SqlState::QUERY_CANCELED) {
            // SAFETY: set by begin; this node is executing (the error has not been raised yet).
            let run = unsafe { sys::pgf_scan_state_get(node) } as *mut Run;
            if !run.is_null() {
                // SAFETY: as above.
                unsafe { (*run).canceled = true };
            }
        }
        r
    })
}

fn start(node: *mut sys::CustomScanState, run: &mut Run) -> PgResult<()> {
    let p = private(node)?;
    let seg = shmem::segment()?;
    seg.metrics().inc(Metric::QueriesTotal);
    run.started = Some(Instant::now());
    let mut control = ControlSession::open(seg)?;
    // Every producer of this backend runs its leaf under the statement's own snapshot and
    // parameters, its executor state in the statement's memory.
    // SAFETY: the executor state of the running statement.
    let env = unsafe {
        let estate = (*node).ss.ps.state;
        ExecEnv {
            params: (*estate).es_param_list_info,
            snapshot: (*estate).es_snapshot,
            memory: (*estate).es_query_cxt,
            source: (*estate).es_sourceText,
            instrument: (*estate).es_instrument,
        }
    };
    let leaves = &p.leaves;
    let (nworkers, pooled) = parallel_workers(node, leaves)?;
    // Every leaf's own slot and the query's smallest page budget first (waiting while either is
    // missing), then slots and pages for parallel workers as far as some are free (never waiting
    // for those): the query's own leaves never wait for what its workers took.
    // Leaves reading a shared scan have no producer of their own.
    let producing = leaves.iter().filter(|l| l.plan.is_some()).count();
    let own = admit(seg, &control, leaves, producing)?;
    let page_count = seg.pool().page_count() as u32;
    let reserve = |producers: usize, budget: &dyn Fn(u32, u32) -> Budget| {
        let b = budget(page_count, producers as u32);
        seg.try_reserve_pages(control.lease().index, b.pages()).then_some(b)
    };
    // The pool: per pooled leaf (with a slot of its own), per worker a slot, worker by worker.
    let pool_leaves: Vec<usize> =
        (0..leaves.len()).filter(|&i| pooled[i].is_some() && own[i].is_some()).collect();
    let mut extra: Vec<Vec<Option<ScanSession>>> = pool_leaves.iter().map(|_| Vec::new()).collect();
    // A parallel worker's producers only as far as the pool has room for their pages (never
    // waiting: the reservation grows or the query runs with fewer workers).
    let mut workers = 0;
    'workers: for _ in 0..nworkers {
        if reserve(producing + (workers + 1) * pool_leaves.len(), &Budget::minimal).is_none() {
            break;
        }
        for e in extra.iter_mut() {
            e.push(ScanSession::try_open(seg));
        }
        if extra.iter().all(|e| e.last().is_some_and(|s| s.is_none())) {
            extra.iter_mut().for_each(|e| drop(e.pop()));
            break 'workers;
        }
        workers += 1;
    }
    // The workers run exactly the leader's plans, shipped as PostgreSQL's node text.
    let mut plan_texts = Vec::with_capacity(pool_leaves.len());
    let mut plan_nodes = Vec::with_capacity(pool_leaves.len());
    for &i in &pool_leaves {
        let plan = leaves[i].plan.ok_or_else(|| PgError::internal("pooled leaf without a plan"))?;
        // SAFETY: a PlannedStmt of the cached plan; nodeToString allocates the text.
        plan_texts.push(guard(|| unsafe { nodes::cstr(sys::nodeToString(plan as *const c_void)) })?);
        // SAFETY: a PlannedStmt of the cached plan, only read.
        plan_nodes.push(unsafe { sys::pgf_plan_nodes(plan) }.max(1) as u32);
    }
    let pool_types: Vec<String> =
        pool_leaves.iter().map(|&i| ColumnType::list_text(&leaves[i].types)).collect();
    // Their index probes too, while the settings allow them (each worker may run some of the
    // batches: `crate::pg::producer::probe`).
    let probing = crate::pg::guc::index_probe();
    let mut pool_probes = Vec::with_capacity(pool_leaves.len());
    for &i in &pool_leaves {
        let mut probes = Vec::new();
        for p in leaves[i].probes.iter().filter(|_| probing) {
            let stmt = p.stmt;
            // SAFETY: a PlannedStmt of the cached plan; nodeToString allocates the text.
            let text = guard(|| unsafe { nodes::cstr_bytes(sys::nodeToString(stmt as *const c_void)) })?;
            // As for the leaf's plan (`pooled`): text that would not cross unchanged stays
            // with the leader (the worker's producer leaves the probe's batches to the others).
            if !text.is_ascii() && !crate::pg::catalog::database_is_utf8() {
                continue;
            }
            let Ok(plan) = String::from_utf8(text) else { continue };
            probes.push(parallel_space::SpaceProbe {
                column: p.column,
                paramid: p.paramid,
                elem: p.elem,
                plan,
            });
        }
        pool_probes.push(parallel_space::encode_probes(&probes));
    }
    let pool: Vec<parallel::PoolLeaf> = pool_leaves
        .iter()
        .enumerate()
        .map(|(k, &i)| parallel::PoolLeaf {
            slots: extra[k].iter().map(|s| s.as_ref().map(|s| s.lease())).collect(),
            plan: &plan_texts[k],
            nblocks: pooled[i].unwrap_or(0),
            nodes: plan_nodes[k],
            types: &pool_types[k],
            probes: &pool_probes[k],
            pg_types: &leaves[i].pg_types,
        })
        .collect();
    // Every producer of the query, the workers' included: their credits are a share of the pool
    // when it has room, the minimum (reserved above, so shrinking to it cannot fail) when not.
    let producers = producing + extra.iter().flatten().filter(|s| s.is_some()).count();
    let channel = crate::pg::guc::scan_batch_channel_capacity();
    let budget = reserve(producers, &|pages, producers| Budget::preferred(pages, producers, channel))
        .or_else(|| reserve(producers, &Budget::minimal))
        .ok_or_else(|| PgError::internal("the query's page reservation could not shrink"))?;
    let scan = if workers > 0 {
        // The workers take the leader's active snapshot: the statement's.
        // SAFETY: the statement's registered snapshot, pushed and popped around the launch.
        guard(|| unsafe { sys::PushActiveSnapshot(env.snapshot) })?;
        let launched = ParallelScan::launch(workers, &pool, &env, control.worker());
        // SAFETY: pops the snapshot pushed above.
        unsafe { sys::PopActiveSnapshot() };
        Some(launched?)
    } else {
        None
    };
    let launched = scan.as_ref().map_or(0, |s| s.launched as usize);
    run.pool_leaves = pool_leaves.clone();
    // From here on workers may be writing to their slots: the context and those slots belong to
    // the run before anything else can fail (they are released only after the workers exited).
    run.parallel = scan;
    let mut pool_slots: Vec<Vec<(SlotRef, Option<ScanSession>)>> = Vec::with_capacity(extra.len());
    for (k, sessions) in extra.into_iter().enumerate() {
        let i = pool_leaves[k];
        let mut slots = Vec::new();
        for (w, session) in sessions.into_iter().enumerate() {
            let Some(session) = session else { continue };
            let r = SlotRef { index: session.lease().index, generation: session.lease().generation };
            if w < launched {
                run.worker_slots.push(WorkerSlot {
                    worker: w,
                    leaf: i,
                    session,
                    types: leaves[i].types.clone(),
                    pg_types: leaves[i].pg_types.clone(),
                });
                slots.push((r, None));
            } else {
                slots.push((r, Some(session)));
            }
        }
        pool_slots.push(slots);
    }
    let mut pool_slots = pool_slots.into_iter();
    for (i, (leaf, own)) in leaves.iter().zip(own).enumerate() {
        let (Some(own), Some(plan)) = (own, leaf.plan) else {
            run.scan_slots.push(Vec::new());
            run.leaf_producers.push((0, 0));
            run.leaf_queries.push(None);
            continue;
        };
        let at = pool_leaves.iter().position(|&j| j == i);
        let chunks = at.and_then(|k| run.parallel.as_ref()?.chunks(k));
        let (types, pg_types) = (leaf.types.clone(), leaf.pg_types.clone());
        // Index probes only while the settings allow them (a cached plan may outlive a change).
        let probes = if probing { leaf.probes.clone() } else { Vec::new() };
        let producer = Producer::start(
            own,
            control.worker(),
            chunks,
            plan,
            types,
            pg_types,
            &env,
            probes,
            ProbeRole::Leader,
        )?;
        let mut slots = vec![producer.slot_ref()];
        run.leaf_queries.push(Some(run.producers.len()));
        run.producers.push(producer);
        let (mut planned, mut actual) = (1, 1);
        let sessions = if at.is_some() { pool_slots.next().unwrap_or_default() } else { Vec::new() };
        for (r, session) in sessions {
            planned += 1;
            slots.push(r);
            match session {
                // A worker that did not launch: its slot ends at once.
                Some(session) => run.producers.push(Producer::empty(
                    session,
                    control.worker(),
                    leaf.types.clone(),
                    leaf.pg_types.clone(),
                )?),
                None => actual += 1,
            }
        }
        run.leaf_producers.push((planned, actual));
        run.producers_started += actual;
        run.scan_slots.push(slots);
    }
    // PostgreSQL's estimate of each leaf's rows. Without join reordering DataFusion gets no
    // estimates at all, so it neither swaps join sides nor builds one once for all partitions:
    // each hash join repartitions both sides and builds the one the query names first.
    // (Estimates without swapping would still pick a collect-once build side, unswapped.)
    let estimates = leaves
        .iter()
        .map(|l| if l.plan.is_some() && crate::pg::guc::join_reordering() { l.rows } else { None })
        .collect();
    control.send(&ToWorker::Execute(Execute {
        plan: unhex(&p.plan)?,
        scans: run.scan_slots.clone(),
        estimates,
        analyze: run.analyze,
        credits: budget.credits,
        pins: budget.pins,
        results: budget.results,
        idle_poll_us: crate::pg::guc::scan_idle_poll_interval_us(),
        runtime_filter_hashes: crate::pg::guc::runtime_filter_hashes(),
        probes: leaves
            .iter()
            .map(|l| match l.plan {
                Some(_) if probing => l
                    .probes
                    .iter()
                    .map(|p| ProbeColumn {
                        column: p.column,
                        distinct: p.distinct,
                        rows: p.rows,
                        correlation: p.correlation,
                    })
                    .collect(),
                _ => Vec::new(),
            })
            .collect(),
    }))?;
    run.control = Some(control);
    Ok(())
}

/// The query's parallel workers and, per leaf, the relation's blocks when the leaf is read by
/// block ranges (in the pool). Workers only under parallel mode (the executor's), for a
/// permanent heap table whose leaf plan block ranges may split (`leaf::plan`), large enough that
/// PostgreSQL would plan a parallel sequential scan of it; as many as PostgreSQL would plan for
/// the largest such table, within `max_parallel_workers_per_gather` for the whole query. Every
/// worker serves every pooled leaf (see `parallel.rs`).
fn parallel_workers(
    node: *mut sys::CustomScanState,
    leaves: &[LeafPrivate],
) -> PgResult<(usize, Vec<Option<u64>>)> {
    let mut out = vec![None; leaves.len()];
    // SAFETY: the executing node's EState; plain reads of settings.
    let (parallel_mode, budget, min_blocks) = unsafe {
        (
            sys::pgf_estate_parallel_mode((*node).ss.ps.state),
            sys::pgf_max_parallel_workers_per_gather().max(0) as u32,
            sys::pgf_min_parallel_table_scan_size().max(0) as u64,
        )
    };
    if !parallel_mode || budget == 0 {
        return Ok((0, out));
    }
    let mut workers = 0;
    for (i, leaf) in leaves.iter().enumerate() {
        // Splittable by its plan's shape (`leaf::plan`): a table's, or a LATERAL group's nested
        // loop over one (a function or VALUES leaf never is).
        let (Some(plan), true) = (leaf.plan, leaf.splittable) else { continue };
        // Workers get the plan as node text in a UTF-8 string (`start`): in a database of another
        // encoding, a plan naming something in non-ASCII characters (a table, a column, a field
        // names) would not cross unchanged, so that leaf stays with the leader.
        if !crate::pg::catalog::database_is_utf8() {
            // SAFETY: a PlannedStmt of the cached plan; nodeToString allocates the text.
            let text = guard(|| unsafe { nodes::cstr_bytes(sys::nodeToString(plan as *const c_void)) })?;
            if !text.is_ascii() {
                continue;
            }
        }
        let mut ok = false;
        let okp: *mut bool = &mut ok;
        // SAFETY: the leaf's PlannedStmt (a splittable shape, see `leaf::plan`); its relations are locked by the executing query.
        let nblocks = guard(|| unsafe { sys::pgf_plan_blocks(plan, okp) })? as u64;
        let w = parallel::workers_for(nblocks, min_blocks);
        if ok && w > 0 {
            out[i] = Some(nblocks);
            workers = workers.max(w);
        }
    }
    Ok((workers.min(budget) as usize, out))
}

fn next(node: *mut sys::CustomScanState) -> PgResult<*mut sys::TupleTableSlot> {
    // SAFETY: set by begin; this node is executing.
    let run = unsafe { &mut *(sys::pgf_scan_state_get(node) as *mut Run) };
    // SAFETY: the scan tuple slot of this node.
    let slot = unsafe { (*node).ss.ss_ScanTupleSlot };
    if run.started.is_none() {
        start(node, run)?;
    }
    loop {
        if let Some(r) = run.result.as_mut() {
            if r.row < r.block.rows {
                let row = r.row;
                r.row += 1;
                fill(node, slot, &r.block, row, &run.output, &run.out_layouts)?;
                run.rows += 1;
                return Ok(slot);
            }
        }
        if let Some(r) = run.result.take() {
            if let Some(c) = run.control.as_ref() {
                let seg = c.segment();
                let _ = seg.pool().release(r.desc);
                seg.wake_page_waiters();
                latch::wake(c.worker());
            }
        }
        if run.finished {
            // SAFETY: clearing our own scan slot.
            return Ok(unsafe { sys::pgf_exec_clear_tuple(slot) });
        }
        let control = run.control.as_mut().ok_or_else(|| PgError::internal("query not started"))?;
        match control.try_recv()? {
            Some(ToBackend::ResultPage(p)) => {
                run.result = Some(import(control, p, &run.output)?);
                continue;
            }
            Some(ToBackend::Done { plan, .. }) => {
                run.finished = true;
                if run.analyze {
                    run.executed_plan = Some(plan);
                }
                continue;
            }
            Some(ToBackend::Error { sqlstate, message }) => {
                // DataFusion's messages can run over several lines: the first is the message,
                // the rest PostgreSQL's DETAIL.
                let (first, rest) = message.split_once('\n').unwrap_or((&message, ""));
                // Data exceptions (class 22: division by zero, out of range) and 21000 are
                // PostgreSQL's errors met by DataFusion: PostgreSQL's words.
                let e = match &sqlstate[..2] {
                    b"22" | b"21" => PgError::postgres(SqlState::from_code(&sqlstate), first.trim_end()),
                    _ => PgError::new(SqlState::from_code(&sqlstate), first.trim_end()),
                };
                return Err(if rest.trim().is_empty() { e } else { e.with_detail(rest.trim()) });
            }
            Some(other) => {
                return Err(PgError::new(
                    SqlState::PROTOCOL_VIOLATION,
                    format!("unexpected message {other:?}"),
                ))
            }
            None => {}
        }
        // Every leaf gets a turn: a leaf the worker is not reading yet (the probe side of a
        // hash join while the build side loads) runs out of credit and waits, the others go on.
        let mut progressed = false;
        for p in run.producers.iter_mut() {
            if !p.is_done() {
                progressed |= p.step()?;
            }
        }
        if !progressed {
            latch::wait_my_latch(10, WaitEvent::Scan)?;
            latch::check_for_interrupts()?;
            control.check_worker()?;
            let wakeup = control.worker();
            end_unstarted(
                &mut run.parallel,
                &mut run.worker_slots,
                &mut run.producers,
                &mut run.leaf_producers,
                wakeup,
            )?;
        } else {
            latch::check_for_interrupts()?;
        }
    }
}

/// End, from the leader, the slots of launched parallel workers that never started (the
/// postmaster could not start them; `ParallelScan::failed_workers`): the block ranges they would
/// have read go to the producers that run.
fn end_unstarted(
    parallel: &mut Option<ParallelScan>,
    worker_slots: &mut Vec<WorkerSlot>,
    producers: &mut Vec<Producer>,
    leaf_producers: &mut [(u32, u32)],
    wakeup: crate::shm::Wakeup,
) -> PgResult<()> {
    if let Some(scan) = parallel.as_mut() {
        for w in scan.failed_workers() {
            let (gone, kept): (Vec<WorkerSlot>, Vec<WorkerSlot>) =
                std::mem::take(worker_slots).into_iter().partition(|s| s.worker == w);
            *worker_slots = kept;
            for s in gone {
                if let Some(c) = leaf_producers.get_mut(s.leaf) {
                    c.1 = c.1.saturating_sub(1);
                }
                producers.push(Producer::empty(s.session, wakeup, s.types, s.pg_types)?);
            }
        }
    }
    Ok(())
}

fn import(control: &ControlSession, p: PageRef, types: &[ColumnType]) -> PgResult<ResultBlock> {
    let seg = control.segment();
    let pool = seg.pool();
    let desc = PageDescriptor { index: p.index, generation: p.generation };
    let from = seg.worker_owner(WorkerRole::Results, control.lease());
    pool.transfer(desc, from, control.pool_owner()).map_err(|_| {
        seg.metrics().inc(Metric::PageStaleDescriptorTotal);
        PgError::new(SqlState::PROTOCOL_VIOLATION, "stale result page from the worker")
    })?;
    seg.metrics().inc(Metric::ResultPagesReadTotal);
    let ptr = pool.page_ptr(desc).map_err(|_| PgError::internal("result page vanished"))?;
    // SAFETY: the page is ours (transferred above) until we release it after its last row; the Buffer does not free it (the owner is a unit value) and does not outlive the ResultBlock.
    let page = unsafe {
        Buffer::from_custom_allocation(
            std::ptr::NonNull::new(ptr).ok_or_else(|| PgError::internal("null page"))?,
            pool.page_size(),
            std::sync::Arc::new(()),
        )
    };
    let block = decode_block(&page, types).map_err(|e| {
        let _ = pool.release(desc);
        PgError::new(SqlState::PROTOCOL_VIOLATION, format!("invalid result block: {e:?}"))
    })?;
    if block.rows != p.rows as usize {
        let _ = pool.release(desc);
        return Err(PgError::new(
            SqlState::PROTOCOL_VIOLATION,
            "result block row count differs from its descriptor",
        ));
    }
    Ok(ResultBlock { desc, block, row: 0 })
}

/// The query's admission (see `crate::shm::admission`): a scan slot for every leaf with a
/// producer of its own and the pages of its smallest budget, all at once or none. While either is
/// missing the query holds neither and waits in the admission queue, first come first served
/// (backpressure, honouring cancel and statement_timeout; wait event `Extension`), so no two
/// queries can each hold part of what the other needs. The planner refused a query needing more
/// slots or pages than exist.
fn admit(
    seg: Segment,
    control: &ControlSession,
    leaves: &[LeafPrivate],
    producing: usize,
) -> PgResult<Vec<Option<ScanSession>>> {
    let need = Budget::minimal(seg.pool().page_count() as u32, producing as u32).pages();
    let max_queries = crate::pg::guc::admitted_queries_max() as u32;
    let index = control.lease().index;
    // A backend holding another open query (a cursor's) never queues behind others (who may wait
    // for its pages) and waits at most deadlock_timeout; at once 53000 when its own holdings
    // leave too little (`shm::Holdings`).
    let held = Holdings::of_pid(&seg, crate::pg::latch::my_pid(), Some(index));
    if held.holds_any() {
        let pool = (need, seg.pool().page_count() as u32);
        let slots = (producing as u32, seg.slot_count(SlotKind::Scan));
        if let Some(why) = held.leaves_too_little(pool, slots) {
            return Err(held_by_this_session(why, "pg_fusion.page_count or pg_fusion.scan_slot_count"));
        }
    }
    let since = Instant::now();
    let mut short = "no scan slots came free";
    let mut waiting: Option<Instant> = None;
    loop {
        if held.holds_any() || seg.admission_turn(index) {
            short = "no scan slots came free";
            if let Some(own) = claim_leaf_slots(seg, leaves) {
                short = "no pages came free (or all of the worker's tasks are taken)";
                if seg.try_admit(index, need, max_queries) {
                    seg.leave_admission_queue(index);
                    if let Some(since) = waiting {
                        seg.metrics().add(Metric::AdmissionWaitNs, since.elapsed().as_nanos() as u64);
                    }
                    return Ok(own);
                }
                // Dropping `own` gives its slots back before the wait.
            }
        }
        if held.holds_any() && since.elapsed() >= holder_wait() {
            return Err(held_by_this_session(
                short,
                "pg_fusion.page_count, pg_fusion.scan_slot_count or pg_fusion.max_fusion_tasks",
            ));
        }
        if waiting.is_none() {
            // An error (cancel, statement_timeout) leaves the queue with the control slot.
            seg.join_admission_queue(index);
            seg.metrics().inc(Metric::AdmissionWaitTotal);
            waiting = Some(Instant::now());
        }
        latch::wait_my_latch(10, WaitEvent::Admission)?;
        latch::check_for_interrupts()?;
    }
}

/// A scan slot for every leaf with a producer of its own, or none (nothing held).
fn claim_leaf_slots(seg: Segment, leaves: &[LeafPrivate]) -> Option<Vec<Option<ScanSession>>> {
    let mut own = Vec::with_capacity(leaves.len());
    for leaf in leaves {
        if leaf.plan.is_none() {
            own.push(None);
            continue;
        }
        own.push(Some(ScanSession::try_open(seg)?));
    }
    Some(own)
}
