//! The `Custom Scan (PgFusionScan)` plan node: building the PlannedStmt, and the executor
//! callbacks that run the query (send the plan, produce the scan, import result pages).
//!
//! Rules:
//! - The plan travels in `custom_private` as String nodes (copyable, so the plan cache and
//!   prepared statements keep it): [`PRIVATE_*`] below.
//! - The Rust execution state is owned by a Box whose address hangs off the state node; it is
//!   freed by EndCustomScan on success, or by a reset callback of the executor's memory context on
//!   ERROR/cancel. Its Drop gives back every slot and page and touches no executor state.
//! - Result values are built in the per-tuple memory context (ExecScan resets it every row).

use std::ffi::{c_void, CString};
use std::time::Instant;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::buffer::Buffer;
use datafusion::arrow::datatypes::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType,
};

use super::entry::entry;
use super::error::{guard, PgError, PgResult, SqlState};
use super::leaf::PlannedLeaf;
use super::nodes::{self, list};
use super::parallel::{self, ParallelScan};
use super::producer::{ExecEnv, Producer};
use super::{latch, shmem, sys};
use crate::control::{ControlSession, ScanSession};
use crate::frontend::Translated;
use crate::page::decode::{decode_block, DecodedBlock};
use crate::page::ColumnType;
use crate::protocol::{PageRef, SlotRef, ToBackend, ToWorker};
use crate::shm::{Metric, PageDescriptor, WorkerRole};
use crate::value::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};

const PRIVATE_PLAN: usize = 0;
const PRIVATE_OUTPUT_TYPES: usize = 1;
const PRIVATE_DF_PLAN: usize = 2;
/// Then, per scan leaf, `LEAF_FIELDS` nodes: its PostgreSQL plan (a `PlannedStmt`) and its
/// query before planning (a `Query`, shown by EXPLAIN VERBOSE as SQL) -- empty Strings for a
/// leaf reading a shared scan, which no producer runs -- then Strings: relation (display),
/// block types, PostgreSQL types, relation OID, `s` when block ranges may split it,
/// PostgreSQL's row estimate, and the number (from 1) of the shared scan it reads (empty: its
/// own).
const PRIVATE_LEAVES: usize = 3;
const LEAF_FIELDS: usize = 9;
const LEAF_PLAN: usize = 0;
const LEAF_QUERY: usize = 1;
const LEAF_RELATION: usize = 2;
const LEAF_TYPES: usize = 3;
const LEAF_PG_TYPES: usize = 4;
const LEAF_RELID: usize = 5;
const LEAF_SPLIT: usize = 6;
const LEAF_ROWS: usize = 7;
const LEAF_SHARED: usize = 8;

/// The plan node's private list, read back.
struct Private {
    plan: String,
    output_types: String,
    df_plan: String,
    leaves: Vec<LeafPrivate>,
}

/// One scan leaf of the plan node.
struct LeafPrivate {
    /// None for a leaf reading a shared scan.
    plan: Option<*mut sys::PlannedStmt>,
    /// Its query before planning (display only).
    query: Option<*mut sys::Query>,
    relation: String,
    types: Vec<ColumnType>,
    pg_types: Vec<sys::Oid>,
    relid: sys::Oid,
    splittable: bool,
    rows: Option<u64>,
    /// The shared scan it reads (its number from 1, as text).
    shared: Option<String>,
}

/// The private list of a PgFusionScan plan node.
fn private(node: *mut sys::CustomScanState) -> PgResult<Private> {
    let corrupt = || PgError::internal("corrupt PgFusionScan private data");
    // SAFETY: the state node's plan is our CustomScan; custom_private is the list
    // `planned_stmt` built: String nodes but for the leaves' PlannedStmts (or empty Strings).
    let items: Vec<*mut sys::Node> = unsafe {
        let plan = (*node).ss.ps.plan as *mut sys::CustomScan;
        list::<sys::Node>((*plan).custom_private)
    };
    // SAFETY: a node of the list; String nodes are read as text.
    let text = |n: *mut sys::Node| -> PgResult<String> {
        // SAFETY: reads the tag of a non-NULL node.
        if n.is_null() || unsafe { nodes::tag(n) } != sys::NodeTag_T_String {
            return Err(corrupt());
        }
        // SAFETY: a String node.
        Ok(unsafe { nodes::string_value(n) })
    };
    let rest = items.get(PRIVATE_LEAVES..).unwrap_or(&[]);
    if items.len() < PRIVATE_LEAVES || rest.is_empty() || rest.len() % LEAF_FIELDS != 0 {
        return Err(corrupt());
    }
    let mut leaves = Vec::new();
    for l in rest.chunks(LEAF_FIELDS) {
        let p = l[LEAF_PLAN];
        // SAFETY: a node of the list.
        let plan = match unsafe { nodes::tag(p) } {
            sys::NodeTag_T_PlannedStmt => Some(p as *mut sys::PlannedStmt),
            sys::NodeTag_T_String => None,
            _ => return Err(corrupt()),
        };
        let shared = text(l[LEAF_SHARED])?;
        let q = l[LEAF_QUERY];
        // SAFETY: a node of the list.
        let query = (unsafe { nodes::tag(q) } == sys::NodeTag_T_Query).then_some(q as *mut sys::Query);
        leaves.push(LeafPrivate {
            plan,
            query,
            relation: text(l[LEAF_RELATION])?,
            types: parse_types(&text(l[LEAF_TYPES])?)?,
            pg_types: text(l[LEAF_PG_TYPES])?.split(',').filter_map(|x| x.parse().ok()).collect(),
            relid: text(l[LEAF_RELID])?.parse().map_err(|_| corrupt())?,
            splittable: text(l[LEAF_SPLIT])? == "s",
            rows: text(l[LEAF_ROWS])?.parse().ok(),
            shared: (!shared.is_empty()).then_some(shared),
        });
    }
    Ok(Private {
        plan: text(items[PRIVATE_PLAN])?,
        output_types: text(items[PRIVATE_OUTPUT_TYPES])?,
        df_plan: text(items[PRIVATE_DF_PLAN])?,
        leaves,
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> PgResult<Vec<u8>> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| PgError::internal("corrupt plan in PgFusionScan"))
}

/// Block column types as the private list carries them (see `ColumnType::list_text`).
fn parse_types(s: &str) -> PgResult<Vec<ColumnType>> {
    ColumnType::parse_list(s).ok_or_else(|| PgError::internal("corrupt column types in PgFusionScan"))
}

/// Build the PlannedStmt whose root is the PgFusionScan node. `query` is the analyzed query
/// PostgreSQL handed the planner hook; `leaves` each scan leaf's plan in
/// [`crate::plan::spec::PlanSpec::all_scans`] order (None: it reads a shared scan).
pub fn planned_stmt(
    query: *mut sys::Query,
    t: Translated,
    leaves: &[Option<PlannedLeaf>],
    plan_bytes: &[u8],
    df_plan: &str,
) -> PgResult<*mut sys::PlannedStmt> {
    let mut private: *mut sys::List = std::ptr::null_mut();
    let mut push = |n: *mut sys::Node| -> PgResult<()> {
        private = nodes::append(private, n as *mut c_void)?;
        Ok(())
    };
    let strings = [hex(plan_bytes), ColumnType::list_text(&t.spec.output_types()), df_plan.to_string()];
    for s in &strings {
        push(nodes::string_node(s)?)?;
    }
    let scans = t.spec.all_scans();
    if scans.len() != leaves.len() || scans.len() != t.scan_pg_types.len() {
        return Err(PgError::internal("scan leaves and their plans differ in number"));
    }
    let (mut startup, mut total) = (0.0, 0.0);
    for ((scan, leaf), pg_types) in scans.iter().zip(leaves).zip(&t.scan_pg_types) {
        match leaf {
            Some(l) => {
                push(l.stmt as *mut sys::Node)?;
                push(l.query as *mut sys::Node)?;
                // SAFETY: a PlannedStmt the planner built.
                unsafe {
                    startup += (*(*l.stmt).planTree).startup_cost;
                    total += (*(*l.stmt).planTree).total_cost;
                }
            }
            None => {
                push(nodes::string_node("")?)?;
                push(nodes::string_node("")?)?;
            }
        }
        let rows = leaf.as_ref().filter(|l| l.rows.is_finite() && l.rows >= 0.0).map(|l| l.rows as u64);
        let fields = [
            scan.relation.clone(),
            ColumnType::list_text(&scan.columns.iter().map(|c| c.ty).collect::<Vec<_>>()),
            pg_types.iter().map(|(o, _)| o.to_string()).collect::<Vec<_>>().join(","),
            scan.relid.to_string(),
            if leaf.as_ref().is_some_and(|l| l.splittable) { "s".into() } else { String::new() },
            rows.map_or(String::new(), |r| r.to_string()),
            scan.shared.as_ref().map_or(String::new(), |r| (r.leaf + 1).to_string()),
        ];
        for s in &fields {
            push(nodes::string_node(s)?)?;
        }
    }
    let planned: Vec<*mut sys::PlannedStmt> = leaves.iter().flatten().map(|l| l.stmt).collect();
    let deps = super::range_table::dependencies(query, &planned)?;
    let rtable = super::range_table::flat(t.rtable, query)?;
    // SAFETY: PostgreSQL handed us a valid Query; the nodes below are freshly allocated.
    unsafe {
        let q = &*query;
        let cscan: *mut sys::CustomScan = nodes::make(sys::NodeTag_T_CustomScan)?;
        let c = &mut *cscan;
        c.scan.plan.targetlist = t.tlist;
        c.scan.plan.qual = t.qual;
        // What PostgreSQL's plans of the leaves cost; DataFusion's work above them is not
        // costed.
        c.scan.plan.startup_cost = startup;
        c.scan.plan.total_cost = total;
        c.scan.plan.plan_rows = 1000.0;
        c.scan.plan.plan_width = 8 * t.spec.output.len().max(1) as i32;
        c.scan.scanrelid = 0;
        c.custom_private = private;
        c.custom_scan_tlist = t.scan_tlist;
        // The relations the node reads: EXPLAIN names them when it deparses expressions.
        for &rti in &t.rtindexes {
            let set = c.custom_relids;
            c.custom_relids = guard(|| sys::pgf_bms_add_member(set, rti))?;
        }
        c.methods = sys::pgf_custom_scan_methods();
        let stmt: *mut sys::PlannedStmt = nodes::make(sys::NodeTag_T_PlannedStmt)?;
        let s = &mut *stmt;
        s.commandType = sys::CmdType_CMD_SELECT;
        s.queryId = q.queryId;
        s.canSetTag = q.canSetTag;
        s.planTree = cscan as *mut sys::Plan;
        // PostgreSQL's flat range table of the whole query: the executor's start checks every
        // relation and view any part reads, and a cached plan locks them (see `range_table`).
        s.rtable = rtable;
        s.relationOids = deps.relation_oids;
        s.invalItems = deps.inval_items;
        s.dependsOnRole = deps.depends_on_role;
        s.transientPlan = deps.transient;
        s.stmt_location = q.stmt_location;
        s.stmt_len = q.stmt_len;
        Ok(stmt)
    }
}

struct ResultBlock {
    desc: PageDescriptor,
    block: DecodedBlock,
    row: usize,
}

/// A slot the leader claimed for a launched parallel worker.
struct WorkerSlot {
    /// The worker's number in the parallel context.
    worker: usize,
    /// The leaf it produces (index into `Run::leaf_producers`).
    leaf: usize,
    session: ScanSession,
    types: Vec<ColumnType>,
    pg_types: Vec<sys::Oid>,
}

/// One execution of a PgFusionScan node.
struct Run {
    started: Option<Instant>,
    finished: bool,
    control: Option<ControlSession>,
    /// The producers this backend runs: per leaf its own, plus an `End`-only one per parallel
    /// worker that did not start.
    producers: Vec<Producer>,
    /// Per leaf, the scan slots of its producers (leader first), as sent to the worker.
    scan_slots: Vec<Vec<crate::protocol::SlotRef>>,
    /// Slots claimed for parallel workers that were launched (released after they exited).
    worker_slots: Vec<WorkerSlot>,
    /// The query's parallel context, when it has workers.
    parallel: Option<ParallelScan>,
    /// Per leaf: producers planned and started (EXPLAIN ANALYZE).
    leaf_producers: Vec<(u32, u32)>,
    /// Per leaf: its producer in this backend (an index into `producers`), whose executor
    /// state EXPLAIN ANALYZE prints.
    leaf_queries: Vec<Option<usize>>,
    /// The leaves parallel workers read too (indexes into the leaves), in the space's order.
    pool_leaves: Vec<usize>,
    result: Option<ResultBlock>,
    output: Vec<ColumnType>,
    /// PostgreSQL type of each output column (scan tuple attribute).
    out_pg: Vec<sys::Oid>,
    rows: u64,
    /// The statement was canceled (57014) rather than failed, for the metrics.
    canceled: bool,
    /// Under EXPLAIN ANALYZE (the node is instrumented): ask the worker for its metrics.
    analyze: bool,
    /// Scan producers started for this execution.
    producers_started: u32,
    /// The executed DataFusion plan with metrics (EXPLAIN ANALYZE), once the worker is done.
    executed_plan: Option<String>,
    callback: *mut sys::MemoryContextCallback,
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
    if eflags & sys::EXEC_FLAG_EXPLAIN_ONLY as i32 != 0 {
        return Ok(());
    }
    let p = private(node)?;
    let output = parse_types(&p.output_types)?;
    // SAFETY: ExecInitCustomScan built the scan tuple slot from custom_scan_tlist.
    let out_pg = unsafe {
        let desc = &*(*(*node).ss.ss_ScanTupleSlot).tts_tupleDescriptor;
        let attrs = desc.attrs.as_ptr();
        (0..desc.natts as usize).map(|i| (*attrs.add(i)).atttypid).collect::<Vec<_>>()
    };
    if out_pg.len() != output.len() {
        return Err(PgError::internal("PgFusionScan output columns differ from the plan"));
    }
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
        out_pg,
        rows: 0,
        canceled: false,
        // SAFETY: the executor state of the statement (the node's own `instrument` is only set
        // after BeginCustomScan returns).
        analyze: unsafe { (*estate).es_instrument != 0 },
        producers_started: 0,
        executed_plan: None,
        callback: std::ptr::null_mut(),
    }));
    // SAFETY: the callback lives in the executor's memory context and runs when it is reset or
    // deleted (end of query, or abort).
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
        if super::guc::backend_log_level() >= 2 {
            let elapsed = run.started.map_or(0.0, |t| t.elapsed().as_secs_f64() * 1000.0);
            let (planned, started) =
                run.leaf_producers.iter().fold((0, 0), |(p, s), &(lp, ls)| (p + lp, s + ls));
            super::error::log(format_args!(
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
    // Every leaf's own slot first (waiting for one while all are busy), then slots for parallel
    // workers as far as some are free (never waiting for those): the query's own leaves never
    // wait for slots its workers took.
    // Leaves reading a shared scan have no producer of their own.
    let producing = leaves.iter().filter(|l| l.plan.is_some()).count();
    let mut own = Vec::with_capacity(leaves.len());
    for leaf in leaves {
        own.push(if leaf.plan.is_some() { Some(ScanSession::open(seg)?) } else { None });
    }
    // The pool: per pooled leaf (with a slot of its own), per worker a slot, worker by worker.
    let pool_leaves: Vec<usize> =
        (0..leaves.len()).filter(|&i| pooled[i].is_some() && own[i].is_some()).collect();
    let mut extra: Vec<Vec<Option<ScanSession>>> = pool_leaves.iter().map(|_| Vec::new()).collect();
    // At most `page_count / 8` producers per query (see `producer.rs`, credits).
    let cap = (seg.pool().page_count() / 8).max(1);
    let mut workers = 0;
    'workers: for _ in 0..nworkers {
        if producing + (workers + 1) * pool_leaves.len() > cap {
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
    for &i in &pool_leaves {
        let plan = leaves[i].plan.ok_or_else(|| PgError::internal("pooled leaf without a plan"))?;
        // SAFETY: a PlannedStmt of the cached plan; nodeToString allocates the text.
        plan_texts.push(guard(|| unsafe { nodes::cstr(sys::nodeToString(plan as *const c_void)) })?);
    }
    let pool_types: Vec<String> =
        pool_leaves.iter().map(|&i| ColumnType::list_text(&leaves[i].types)).collect();
    let pool: Vec<parallel::PoolLeaf> = pool_leaves
        .iter()
        .enumerate()
        .map(|(k, &i)| parallel::PoolLeaf {
            slots: extra[k].iter().map(|s| s.as_ref().map(|s| s.lease())).collect(),
            plan: &plan_texts[k],
            nblocks: pooled[i].unwrap_or(0),
            types: &pool_types[k],
            pg_types: &leaves[i].pg_types,
        })
        .collect();
    // Every producer of the query, the workers' included (each one's share of the page pool).
    let producers = producing + extra.iter().flatten().filter(|s| s.is_some()).count();
    let scan = if workers > 0 {
        // The workers take the leader's active snapshot: the statement's.
        // SAFETY: the statement's registered snapshot, pushed and popped around the launch.
        guard(|| unsafe { sys::PushActiveSnapshot(env.snapshot) })?;
        let launched = ParallelScan::launch(workers, &pool, &env, control.worker(), producers);
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
        let producer = match chunks {
            Some(chunks) => Producer::start_chunked(
                own,
                control.worker(),
                chunks,
                plan,
                types,
                pg_types,
                &env,
                producers,
            )?,
            None => Producer::start(own, control.worker(), plan, types, pg_types, &env, producers)?,
        };
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
        .map(|l| if l.plan.is_some() && super::guc::join_reordering() { l.rows } else { None })
        .collect();
    control.send(&ToWorker::Execute {
        plan: unhex(&p.plan)?,
        scans: run.scan_slots.clone(),
        estimates,
        analyze: run.analyze,
    })?;
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
        if leaf.relid == 0 || !leaf.splittable || leaf.plan.is_none() {
            continue;
        }
        let relid = leaf.relid;
        let mut ok = false;
        let okp: *mut bool = &mut ok;
        // SAFETY: the relation is locked by the executing query.
        let nblocks = guard(|| unsafe { sys::pgf_relation_blocks(relid, okp) })? as u64;
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
                fill(node, slot, &r.block, row, &run.output, &run.out_pg)?;
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
            latch::wait_my_latch(10)?;
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
    // SAFETY: the page is ours (transferred above) until we release it after its last row; the
    // Buffer does not free it (the owner is a unit value) and does not outlive the ResultBlock.
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

/// Store row `row` of `block` into `slot` as datums of the output types.
fn fill(
    node: *mut sys::CustomScanState,
    slot: *mut sys::TupleTableSlot,
    block: &DecodedBlock,
    row: usize,
    types: &[ColumnType],
    out_pg: &[sys::Oid],
) -> PgResult<()> {
    // SAFETY: the per-tuple memory of this node's expression context; the slot's arrays have one
    // entry per output column. The closure owns nothing, so an ERROR (out of memory) may skip it.
    guard(|| unsafe {
        let econtext = (*node).ss.ps.ps_ExprContext;
        let old = sys::CurrentMemoryContext;
        sys::CurrentMemoryContext = (*econtext).ecxt_per_tuple_memory;
        sys::pgf_exec_clear_tuple(slot);
        let values = (*slot).tts_values;
        let nulls = (*slot).tts_isnull;
        for (i, col) in block.columns.iter().enumerate() {
            if col.is_null(row) {
                *nulls.add(i) = true;
                *values.add(i) = 0;
                continue;
            }
            *nulls.add(i) = false;
            *values.add(i) = datum(col.as_ref(), row, types[i], out_pg[i]);
        }
        sys::ExecStoreVirtualTuple(slot);
        sys::CurrentMemoryContext = old;
    })
}

/// One value as a datum of PostgreSQL type `pg` (palloc'd where by reference).
///
/// # Safety
/// Call with CurrentMemoryContext set to where the datum should live; may raise.
unsafe fn datum(col: &dyn Array, row: usize, ty: ColumnType, pg: sys::Oid) -> sys::Datum {
    // SAFETY: caller's contract; palloc and numeric construction may raise.
    unsafe {
        match ty {
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
            ColumnType::Utf8View | ColumnType::BinaryView => {
                let bytes: &[u8] = if ty == ColumnType::Utf8View {
                    col.as_string_view().value(row).as_bytes()
                } else {
                    col.as_binary_view().value(row)
                };
                if pg == sys::NAMEOID {
                    let p = sys::palloc0(sys::NAMEDATALEN as usize) as *mut u8;
                    let n = bytes.len().min(sys::NAMEDATALEN as usize - 1);
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, n);
                    p as sys::Datum
                } else {
                    sys::cstring_to_text_with_len(
                        bytes.as_ptr() as *const std::ffi::c_char,
                        bytes.len() as i32,
                    ) as sys::Datum
                }
            }
            ColumnType::Date32 => {
                (col.as_primitive::<Date32Type>().value(row) - PG_EPOCH_DAYS) as i64 as sys::Datum
            }
            ColumnType::TimestampUs { .. } => {
                (col.as_primitive::<TimestampMicrosecondType>().value(row) - PG_EPOCH_MICROS) as sys::Datum
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
        }
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

#[no_mangle]
pub extern "C" fn pgf_rs_explain(
    node: *mut sys::CustomScanState,
    _ancestors: *mut sys::List,
    es: *mut sys::ExplainState,
) {
    entry(|| explain(node, es))
}

fn explain(node: *mut sys::CustomScanState, es: *mut sys::ExplainState) -> PgResult<()> {
    let p = private(node)?;
    let cstr = |s: &str| CString::new(s.replace('\0', "")).map_err(|e| PgError::internal(e.to_string()));
    let prop = |label: &str, value: &str| -> PgResult<()> {
        let (l, v) = (cstr(label)?, cstr(value)?);
        let (lp, vp) = (l.as_ptr(), v.as_ptr());
        // SAFETY: ExplainPropertyText copies both strings.
        guard(|| unsafe { sys::ExplainPropertyText(lp, vp, es) })
    };
    let int = |label: &str, value: i64| -> PgResult<()> {
        let l = cstr(label)?;
        let lp = l.as_ptr();
        // SAFETY: as above.
        guard(|| unsafe { sys::ExplainPropertyInteger(lp, std::ptr::null(), value, es) })
    };
    // A multi-line plan: indented lines under a heading in text, a list of lines otherwise.
    let lines = |label: &str, text: &str| -> PgResult<()> {
        // SAFETY: reading the ExplainState's format.
        if unsafe { (*es).format == sys::ExplainFormat_EXPLAIN_FORMAT_TEXT } {
            let mut rendered = vec![cstr(&format!("{label}:\n"))?];
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                rendered.push(cstr(&format!("  {line}\n"))?);
            }
            let ptrs: Vec<*const std::ffi::c_char> = rendered.iter().map(|c| c.as_ptr()).collect();
            let ptrs = &ptrs;
            // SAFETY: es->str is the output buffer; the indent mirrors PostgreSQL's text format.
            // The closure only borrows; the strings outlive it.
            guard(|| unsafe {
                for p in ptrs {
                    sys::appendStringInfoSpaces((*es).str_, (*es).indent * 2);
                    sys::appendStringInfoString((*es).str_, *p);
                }
            })
        } else {
            let mut items: *mut sys::List = std::ptr::null_mut();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let c = cstr(line)?;
                let cp = c.as_ptr();
                // SAFETY: pstrdup copies into the current (explain) memory context.
                items = guard(|| unsafe { sys::lappend(items, sys::pstrdup(cp) as *mut c_void) })?;
            }
            let l = cstr(label)?;
            let lp = l.as_ptr();
            // SAFETY: the list holds palloc'd C strings, as ExplainPropertyList expects.
            guard(|| unsafe { sys::ExplainPropertyList(lp, items, es) })
        }
    };
    // A group: `named` puts it under its name in the parent; `object` makes it an object (its
    // members are labeled properties) rather than an array.
    let group = |open: bool, kind: &str, named: bool, object: bool| -> PgResult<()> {
        let l = cstr(kind)?;
        let lp = l.as_ptr();
        let name = if named { lp } else { std::ptr::null() };
        // SAFETY: groups are opened and closed in pairs below.
        guard(|| unsafe {
            if open {
                sys::ExplainOpenGroup(lp, name, object, es)
            } else {
                sys::ExplainCloseGroup(lp, name, object, es)
            }
        })
    };
    // SAFETY: reading the ExplainState's flags; the run state is set by begin (NULL for EXPLAIN
    // without ANALYZE) and still alive: EXPLAIN prints before ExecutorEnd.
    let (verbose, analyze, run) = unsafe {
        let run = sys::pgf_scan_state_get(node) as *const Run;
        ((*es).verbose, (*es).analyze, run.as_ref())
    };
    lines("DataFusion Plan", &p.df_plan)?;
    group(true, "Scans", true, false)?;
    for (i, leaf) in p.leaves.iter().enumerate() {
        group(true, "Scan", false, true)?;
        prop("Relation", &leaf.relation)?;
        let Some(plan) = leaf.plan else {
            // Read once: the rows come from the shared scan listed further down.
            prop("Reads Shared Scan", leaf.shared.as_deref().unwrap_or(""))?;
            group(false, "Scan", false, true)?;
            continue;
        };
        if let (true, Some(q)) = (verbose, leaf.query) {
            // SAFETY: the leaf's query of the cached plan; deparsing only reads it.
            let sql = guard(|| unsafe { nodes::cstr(sys::pg_get_querydef(q, false)) })?;
            // Display only: ruleutils breaks clauses onto indented lines; one line here.
            let sql = sql.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
            prop("Scan SQL", &sql)?;
        }
        if verbose || analyze {
            // The leaf's own plan; with ANALYZE, as this backend's producer ran it.
            let qd = run
                .and_then(|r| r.leaf_queries.get(i).copied().flatten())
                .and_then(|k| run.and_then(|r| r.producers.get(k)))
                .map(|p| p.query_desc())
                .filter(|qd| !qd.is_null());
            lines("PostgreSQL Plan", &leaf_plan_text(node, es, plan, qd)?)?;
        }
        if analyze {
            // The leader backend, plus the parallel workers planned and started.
            let (planned, actual) = run.and_then(|r| r.leaf_producers.get(i).copied()).unwrap_or((1, 0));
            int("Scan Producers Planned", i64::from(planned))?;
            int("Scan Producers Actual", i64::from(actual))?;
        }
        group(false, "Scan", false, true)?;
    }
    group(false, "Scans", true, false)?;
    if let Some(plan) = run.and_then(|r| r.executed_plan.as_deref()) {
        // SAFETY: reading the ExplainState's timing flag.
        let timing = unsafe { (*es).timing };
        let shown = if timing { plan.to_string() } else { without_timings(plan) };
        lines("DataFusion Executed Plan", &shown)?;
    }
    Ok(())
}

/// A leaf's PostgreSQL plan as EXPLAIN text, with the options of `es` (VERBOSE, COSTS; with
/// ANALYZE the actual figures of `qd`, the producer that ran it: TIMING, BUFFERS).
fn leaf_plan_text(
    node: *mut sys::CustomScanState,
    es: *mut sys::ExplainState,
    plan: *mut sys::PlannedStmt,
    qd: Option<*mut sys::QueryDesc>,
) -> PgResult<String> {
    // SAFETY: a fresh ExplainState in the current (EXPLAIN's) memory context; the flags are
    // copied from EXPLAIN's own. Without a started QueryDesc, ExplainOnePlan starts the plan
    // with EXEC_FLAG_EXPLAIN_ONLY and prints it (it checks permissions like EXPLAIN does); with
    // one, ExplainPrintPlan prints its instrumented state.
    let text = guard(|| unsafe {
        let outer = &*es;
        let e = sys::NewExplainState();
        (*e).verbose = outer.verbose;
        (*e).costs = outer.costs;
        (*e).summary = false;
        match qd {
            Some(qd) if outer.analyze => {
                (*e).analyze = true;
                (*e).timing = outer.timing;
                (*e).buffers = outer.buffers;
                sys::ExplainPrintPlan(e, qd);
            }
            _ => {
                let estate = (*node).ss.ps.state;
                sys::ExplainOnePlan(
                    plan,
                    std::ptr::null_mut(),
                    e,
                    (*estate).es_sourceText,
                    (*estate).es_param_list_info,
                    std::ptr::null_mut(),
                    std::ptr::null(),
                    std::ptr::null(),
                );
            }
        }
        (*e).str_
    })?;
    // SAFETY: a valid StringInfo the explain functions filled.
    let bytes = unsafe { std::slice::from_raw_parts((*text).data as *const u8, (*text).len as usize) };
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// A plan with metrics without its time metrics (EXPLAIN ANALYZE with TIMING OFF): only the
/// row counts stay, so the output is as stable as PostgreSQL's own.
fn without_timings(plan: &str) -> String {
    plan.lines()
        .map(|line| match line.find(", metrics=[") {
            Some(at) => {
                let metrics = &line[at + ", metrics=[".len()..];
                let rows = metrics
                    .split(", ")
                    .find(|m| m.starts_with("output_rows="))
                    .map(|m| m.trim_end_matches(']'));
                format!("{}, metrics=[{}]", &line[..at], rows.unwrap_or(""))
            }
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
