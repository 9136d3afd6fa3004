//! The planner hook and the hooks that tell it whether a statement is top-level.
//!
//! Rules:
//! - Only top-level SELECTs are candidates: statements planned while an executor runs (functions,
//!   PL/pgSQL, SPI), inside utility statements other than EXPLAIN, PREPARE/EXECUTE, DECLARE
//!   CURSOR and COPY, or while pg_fusion plans a statement (a SQL function PostgreSQL evaluates
//!   while planning) are planned by PostgreSQL. The nesting depth is counted by the ExecutorRun,
//!   ProcessUtility and planner hooks and restored on ERROR.
//! - Catalog-only queries, SELECT ... FOR UPDATE/SHARE and statements without user tables run
//!   natively. Everything else with `pg_fusion.enable = on` is translated, or refused with 0A000
//!   (`on_unsupported = fallback`: PostgreSQL's plan, counted and logged at DEBUG1).
//! - `enable = auto`: PostgreSQL plans the query too, and the plan with the lower estimated cost
//!   runs (`crate::plan::cost`); what pg_fusion cannot run, PostgreSQL's plan runs.

use std::sync::atomic::{AtomicI32, Ordering};

use super::entry::entry;
use super::error::{guard, raise, PgError, PgResult, SqlState};
use super::explain_choice;
use super::guc::{self, Enable, OnUnsupported};
use super::nodes::{self, list};
use super::sys;
use crate::plan::cost::{choose, Choice, Engine};
use crate::shm::Metric;

static DEPTH: AtomicI32 = AtomicI32::new(0);

static mut PREV_PLANNER: sys::planner_hook_type = None;
static mut PREV_EXECUTOR_RUN: sys::ExecutorRun_hook_type = None;
static mut PREV_PROCESS_UTILITY: sys::ProcessUtility_hook_type = None;

/// Install the hooks. Only from _PG_init.
pub fn install() {
    // SAFETY: _PG_init runs once per process before any query; hooks are process globals.
    unsafe {
        PREV_PLANNER = sys::planner_hook;
        sys::planner_hook = Some(pgf_planner);
        PREV_EXECUTOR_RUN = sys::ExecutorRun_hook;
        sys::ExecutorRun_hook = Some(pgf_executor_run);
        PREV_PROCESS_UTILITY = sys::ProcessUtility_hook;
        sys::ProcessUtility_hook = Some(pgf_process_utility);
        sys::pgf_register_custom_scan();
    }
    explain_choice::install();
}

/// PostgreSQL 15 to 17: `ExecutorRun_hook_type` has `execute_once`.
#[cfg(not(pg_ge18))]
unsafe extern "C" fn pgf_executor_run(
    qd: *mut sys::QueryDesc,
    dir: sys::ScanDirection,
    count: u64,
    once: bool,
) {
    counted_executor_run(|| {
        // SAFETY: forwarding PostgreSQL's own arguments to the previous hook or the standard one.
        guard(|| unsafe {
            match PREV_EXECUTOR_RUN {
                Some(f) => f(qd, dir, count, once),
                None => sys::standard_ExecutorRun(qd, dir, count, once),
            }
        })
    })
}

/// PostgreSQL 18: `ExecutorRun_hook_type` lost `execute_once`.
#[cfg(pg_ge18)]
unsafe extern "C" fn pgf_executor_run(qd: *mut sys::QueryDesc, dir: sys::ScanDirection, count: u64) {
    counted_executor_run(|| {
        // SAFETY: forwarding PostgreSQL's own arguments to the previous hook or the standard one.
        guard(|| unsafe {
            match PREV_EXECUTOR_RUN {
                Some(f) => f(qd, dir, count),
                None => sys::standard_ExecutorRun(qd, dir, count),
            }
        })
    })
}

/// Run `run` one executor level deeper (see the module rules); its ERROR re-raised after.
fn counted_executor_run(run: impl FnOnce() -> PgResult<()>) {
    DEPTH.fetch_add(1, Ordering::SeqCst);
    let r = run();
    DEPTH.fetch_sub(1, Ordering::SeqCst);
    if let Err(e) = r {
        raise(e);
    }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn pgf_process_utility(
    pstmt: *mut sys::PlannedStmt,
    query_string: *const std::ffi::c_char,
    read_only_tree: bool,
    context: sys::ProcessUtilityContext,
    params: sys::ParamListInfo,
    query_env: *mut sys::QueryEnvironment,
    dest: *mut sys::DestReceiver,
    qc: *mut sys::QueryCompletion,
) {
    // SAFETY: PostgreSQL passes a valid utility PlannedStmt.
    let tag = unsafe { nodes::tag((*pstmt).utilityStmt) };
    let transparent = matches!(
        tag,
        sys::NodeTag_T_ExplainStmt
            | sys::NodeTag_T_PrepareStmt
            | sys::NodeTag_T_ExecuteStmt
            | sys::NodeTag_T_DeclareCursorStmt
            | sys::NodeTag_T_CopyStmt
    );
    if !transparent {
        DEPTH.fetch_add(1, Ordering::SeqCst);
    }
    // SAFETY: forwarding PostgreSQL's own arguments.
    let r = guard(|| unsafe {
        match PREV_PROCESS_UTILITY {
            Some(f) => f(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc),
            None => sys::standard_ProcessUtility(
                pstmt,
                query_string,
                read_only_tree,
                context,
                params,
                query_env,
                dest,
                qc,
            ),
        }
    });
    if !transparent {
        DEPTH.fetch_sub(1, Ordering::SeqCst);
    }
    if let Err(e) = r {
        raise(e);
    }
}

unsafe extern "C" fn pgf_planner(
    parse: *mut sys::Query,
    query_string: *const std::ffi::c_char,
    cursor_options: i32,
    bound_params: sys::ParamListInfo,
) -> *mut sys::PlannedStmt {
    entry(|| planner(parse, query_string, cursor_options, bound_params))
}

fn standard(
    parse: *mut sys::Query,
    query_string: *const std::ffi::c_char,
    cursor_options: i32,
    bound_params: sys::ParamListInfo,
) -> PgResult<*mut sys::PlannedStmt> {
    // SAFETY: forwarding PostgreSQL's own arguments.
    guard(|| unsafe {
        match PREV_PLANNER {
            Some(f) => f(parse, query_string, cursor_options, bound_params),
            None => sys::standard_planner(parse, query_string, cursor_options, bound_params),
        }
    })
}

/// Does the query read a user table (anywhere in its range tables)?
fn reads_user_tables(q: *mut sys::Query) -> bool {
    // SAFETY: a valid analyzed Query and its sub-queries.
    unsafe {
        for rte in list::<sys::RangeTblEntry>((*q).rtable) {
            let r = &*rte;
            if r.rtekind == sys::RTEKind_RTE_RELATION && r.relid >= sys::FirstNormalObjectId {
                return true;
            }
            if !r.subquery.is_null() && reads_user_tables(r.subquery) {
                return true;
            }
        }
        for cte in list::<sys::CommonTableExpr>((*q).cteList) {
            let inner = (*cte).ctequery as *mut sys::Query;
            if !inner.is_null()
                && nodes::tag(inner as *mut sys::Node) == sys::NodeTag_T_Query
                && reads_user_tables(inner)
            {
                return true;
            }
        }
    }
    false
}

fn candidate(parse: *mut sys::Query) -> bool {
    // SAFETY: a valid analyzed Query.
    let q = unsafe { &*parse };
    q.commandType == sys::CmdType_CMD_SELECT
        && q.utilityStmt.is_null()
        && q.rowMarks.is_null()
        && !q.hasModifyingCTE
        && !q.hasForUpdate
        && reads_user_tables(parse)
}

fn planner(
    parse: *mut sys::Query,
    query_string: *const std::ffi::c_char,
    cursor_options: i32,
    bound_params: sys::ParamListInfo,
) -> PgResult<*mut sys::PlannedStmt> {
    let nested = DEPTH.load(Ordering::SeqCst) > 0;
    let mode = guc::enable();
    if mode == Enable::Off || nested || !candidate(parse) {
        return standard(parse, query_string, cursor_options, bound_params);
    }
    // What PostgreSQL plans or runs while pg_fusion plans this query (a SQL function it inlines,
    // or evaluates to fold a constant or estimate a selectivity) is nested: PostgreSQL's alone.
    let _nested = Nested::enter();
    if mode == Enable::Auto {
        return auto(parse, query_string, cursor_options, bound_params);
    }
    match plan(parse, cursor_options, bound_params, None) {
        Ok(Planned::Stmt(stmt)) => Ok(stmt),
        // More than the box can ever give this query: PostgreSQL's plan answers it.
        Ok(Planned::TooLarge | Planned::Dearer(_)) => {
            standard(parse, query_string, cursor_options, bound_params)
        }
        // A refusal of ours (never an ERROR PostgreSQL raised: that one goes up, re-raised).
        Err(e) if is_refusal(&e) => {
            let reason = refusal_reason(&e);
            if guc::on_unsupported() == OnUnsupported::Fallback {
                running_natively(format_args!("{reason}"))?;
                standard(parse, query_string, cursor_options, bound_params)
            } else {
                super::shmem::segment()?.metrics().inc(Metric::PlannerUnsupportedTotal);
                if guc::backend_log_level() >= 1 {
                    super::error::log(format_args!("refused: {reason}"))?;
                }
                Err(e)
            }
        }
        Err(e) => Err(e),
    }
}

/// One level deeper in `DEPTH` while it lives (also when a panic unwinds through it).
struct Nested;

impl Nested {
    fn enter() -> Nested {
        DEPTH.fetch_add(1, Ordering::SeqCst);
        Nested
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        DEPTH.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A refusal of ours (0A000 raised by pg_fusion, never an ERROR PostgreSQL raised).
fn is_refusal(e: &PgError) -> bool {
    e.sqlstate() == SqlState::FEATURE_NOT_SUPPORTED && !e.is_caught()
}

fn refusal_reason(e: &PgError) -> String {
    let message = e.message();
    message.strip_prefix("pg_fusion: ").unwrap_or(&message).to_string()
}

/// `enable = auto`: PostgreSQL plans the query first (a copy of it: planning changes the tree
/// it is given), then pg_fusion, unless PostgreSQL's plan costs less than pg_fusion's setup
/// alone; the plan with the lower estimated cost runs (`crate::plan::cost`). A query pg_fusion
/// cannot run goes to PostgreSQL's plan, whatever `on_unsupported` says. The choice is counted,
/// and EXPLAIN shows it (`super::explain_choice`).
fn auto(
    parse: *mut sys::Query,
    query_string: *const std::ffi::c_char,
    cursor_options: i32,
    bound_params: sys::ParamListInfo,
) -> PgResult<*mut sys::PlannedStmt> {
    // SAFETY: copyObjectImpl deep-copies the valid analyzed Query into the current context.
    let copy = guard(|| unsafe { sys::copyObjectImpl(parse as *const std::ffi::c_void) })? as *mut sys::Query;
    let theirs = standard(copy, query_string, cursor_options, bound_params)?;
    let postgres = super::auto_cost::postgresql(theirs)?;
    // SAFETY: the PlannedStmt standard_planner just returned.
    let plan_cost = unsafe { (*(*theirs).planTree).total_cost };
    let setup = guc::boundary_costs().setup;
    let postgresql_chosen = |choice: Choice| -> PgResult<*mut sys::PlannedStmt> {
        super::shmem::segment()?.metrics().inc(Metric::PlannerAutoPostgresqlTotal);
        explain_choice::record(choice);
        Ok(theirs)
    };
    if postgres <= setup {
        return postgresql_chosen(Choice::BelowSetup { postgresql: postgres, setup });
    }
    match plan(parse, cursor_options, bound_params, Some(Theirs { estimate: postgres, plan_cost })) {
        Ok(Planned::Stmt(stmt)) => {
            super::shmem::segment()?.metrics().inc(Metric::PlannerAutoDatafusionTotal);
            // The PgFusionScan node shows this choice itself.
            explain_choice::forget();
            Ok(stmt)
        }
        Ok(Planned::TooLarge) => postgresql_chosen(Choice::Unsupported(
            "it reads more relations at once than pg_fusion.scan_slot_count or pg_fusion.page_count allow"
                .into(),
        )),
        Ok(Planned::Dearer(ours)) => {
            postgresql_chosen(Choice::Estimated { datafusion: ours, postgresql: postgres })
        }
        Err(e) if is_refusal(&e) => {
            let reason = refusal_reason(&e);
            running_natively(format_args!("{reason}"))?;
            postgresql_chosen(Choice::Unsupported(reason))
        }
        // pg_fusion's own failure to plan it (an internal error, never one PostgreSQL raised:
        // that one goes up, as PostgreSQL's state after it is the abort's to clean): PostgreSQL's
        // plan runs it, and the server log says why.
        Err(e) if !e.is_caught() && e.sqlstate() != SqlState::QUERY_CANCELED => {
            let reason = refusal_reason(&e);
            super::error::log(format_args!("running natively after an error while planning: {reason}"))?;
            running_natively(format_args!("{reason}"))?;
            postgresql_chosen(Choice::Unsupported(reason))
        }
        Err(e) => Err(e),
    }
}

/// Choose the join order of `t`'s blocks (`crate::plan::join_order`) from the estimates of the
/// leaves PostgreSQL planned (`leaves`, in `all_scans` order) and of those reading a shared
/// scan (planned here for their estimate only, in a block the search may reorder), and from the
/// statistics of their columns. Returns what the chosen orders' runtime filters are expected to
/// leave of their probe-side leaves, for `enable = auto`'s estimate.
fn order_joins(
    t: &mut crate::frontend::Translated,
    leaves: &[Option<super::leaf::PlannedLeaf>],
    bound_params: sys::ParamListInfo,
) -> PgResult<Vec<crate::plan::join_order::Filtered>> {
    // The first ERROR PostgreSQL raised in a lookup, raised again once the search is over (it
    // cannot stop it midway). A lookup failing otherwise only goes without its answer (the
    // first such failure is logged at DEBUG1).
    let failed: std::cell::RefCell<(Option<PgError>, Option<PgError>)> = Default::default();
    type Failed = std::cell::RefCell<(Option<PgError>, Option<PgError>)>;
    fn keep<T>(failed: &Failed, r: PgResult<Option<T>>) -> Option<T> {
        r.unwrap_or_else(|e| {
            let mut f = failed.borrow_mut();
            if e.is_caught() {
                f.0.get_or_insert(e);
            } else {
                f.1.get_or_insert(e);
            }
            None
        })
    }
    let scans: Vec<crate::plan::spec::ScanSpec> = t.spec.all_scans().into_iter().cloned().collect();
    let bindings = &t.bindings;
    // After an error nothing more is asked of PostgreSQL: it is raised as it is.
    let mut rows = |i: usize| match (leaves.get(i), scans.get(i)) {
        (Some(Some(l)), _) => Some(l.rows),
        (Some(None), Some(scan)) if scan.shared.is_some() && failed.borrow().0.is_none() => {
            keep(&failed, super::leaf::estimate_rows(bindings, scan, bound_params).map(Some))
        }
        _ => None,
    };
    let mut stats = |scan: &crate::plan::spec::ScanSpec, col: usize| {
        if failed.borrow().0.is_some() {
            return None;
        }
        keep(&failed, bindings.column_estimate(scan, col))
    };
    let filtered =
        crate::plan::join_order::choose(&mut t.spec, &mut rows, guc::runtime_filter_hashes() > 0, &mut stats);
    match failed.into_inner() {
        (Some(e), _) => Err(e),
        (None, Some(e)) => super::error::report(
            sys::DEBUG1 as i32,
            super::error::Report::new(
                SqlState::from_code(b"00000"),
                format_args!("join order chosen without an estimate: {}", e.message()),
            ),
        )
        .map(|()| filtered),
        (None, None) => Ok(filtered),
    }
}

/// Count a query PostgreSQL's own plan runs instead of ours and say why: at DEBUG1, in the
/// server log with `backend_log_level` 1 and up.
fn running_natively(reason: std::fmt::Arguments) -> PgResult<()> {
    super::shmem::segment()?.metrics().inc(Metric::PlannerFallbackTotal);
    let level = if guc::backend_log_level() >= 1 { sys::LOG } else { sys::DEBUG1 };
    super::error::report(
        level as i32,
        super::error::Report::new(SqlState::from_code(b"00000"), format_args!("running natively: {reason}")),
    )
}

/// What [`plan`] made of a query.
enum Planned {
    Stmt(*mut sys::PlannedStmt),
    /// More than the box can ever give it: PostgreSQL's plan runs it (logged and counted).
    TooLarge,
    /// Under `enable = auto`: DataFusion's estimated cost, not below PostgreSQL's plan's.
    Dearer(f64),
}

/// Under `enable = auto`, PostgreSQL's plan of the query: its estimate
/// (`super::auto_cost::postgresql`) and its plan's own total cost.
#[derive(Clone, Copy)]
struct Theirs {
    estimate: f64,
    plan_cost: f64,
}

/// pg_fusion's plan of the query; with `theirs` (under `enable = auto`) only if its estimated
/// cost is lower than PostgreSQL's.
fn plan(
    parse: *mut sys::Query,
    cursor_options: i32,
    bound_params: sys::ParamListInfo,
    theirs: Option<Theirs>,
) -> PgResult<Planned> {
    if cursor_options & sys::CURSOR_OPT_SCROLL as i32 != 0 {
        return Err(PgError::unsupported("scrollable cursor"));
    }
    // Parallel scan producers need parallel mode, which the executor enters for a plan that
    // asks for it and runs once (not a cursor's), and only for a query without parallel-unsafe
    // parts (writes, ...). Parallel-restricted parts (subqueries, restricted functions) are
    // fine: the leader runs them; a leaf gets workers only if its own plan is parallel-safe
    // (`leaf::plan`).
    // SAFETY: the analyzed query PostgreSQL handed us; plain reads of settings.
    let parallel = cursor_options & sys::CURSOR_OPT_PARALLEL_OK as i32 != 0
        && unsafe { sys::pgf_max_parallel_workers_per_gather() } > 0
        && guard(|| unsafe { sys::pgf_max_parallel_hazard(parse) })? != b'u' as std::ffi::c_char;
    let mut t = crate::frontend::translate(crate::pg::node::query_view(parse)?)?;
    // Each leaf planned by PostgreSQL now, as part of this plan (see `leaf`).
    let mut leaves = Vec::new();
    // Each leaf with a scan of its own runs one producer on one scan slot, all of them at once:
    // a query needing more slots than exist would wait for itself forever, as would one needing
    // more pages than the pool has (see `crate::shm::admission`). Such a query is not an
    // unsupported shape: PostgreSQL's own plan runs it, whatever `on_unsupported` says.
    let producing = t.spec.all_scans().iter().filter(|s| s.shared.is_none()).count();
    let slots = guc::layout_config().scan_slot_count as usize;
    let page_count = guc::layout_config().page_count;
    let need = crate::shm::Budget::minimal(page_count, producing as u32).pages();
    let too_large = if producing > slots {
        Some(format!("a query reading {producing} relations at once: pg_fusion.scan_slot_count is {slots}"))
    } else if need > page_count {
        Some(format!(
            "a query reading {producing} relations at once needs {need} pages: pg_fusion.page_count is {page_count}"
        ))
    } else {
        None
    };
    if let Some(reason) = too_large {
        running_natively(format_args!(
            "{reason} (raise it to run such queries through DataFusion; it takes a server restart)"
        ))?;
        return Ok(Planned::TooLarge);
    }
    for scan in t.spec.all_scans() {
        leaves.push(match scan.shared {
            Some(_) => None,
            None => Some(super::leaf::plan(&t.bindings, scan, bound_params)?),
        });
    }
    // The order the leaves of each block are joined in, from PostgreSQL's statistics
    // (`crate::plan::join_order`), and what its runtime filters are expected to leave of them.
    let filtered =
        if guc::join_reordering() { order_joins(&mut t, &leaves, bound_params)? } else { Vec::new() };
    let ours = super::auto_cost::datafusion(&leaves, &filtered, parallel)?;
    if theirs.is_some_and(|p| choose(ours, p.estimate) == Engine::PostgreSQL) {
        return Ok(Planned::Dearer(ours));
    }
    // The node's cost in the units of PostgreSQL's plan costs: PostgreSQL's plan cache compares
    // a prepared statement's custom and generic plans by their costs, PostgreSQL's plans' as they
    // are (its estimate weighs some of their nodes more, `crate::plan::cost`).
    let node_cost = match theirs {
        Some(p) if p.estimate > 0.0 && p.plan_cost.is_finite() => ours * p.plan_cost / p.estimate,
        _ => ours,
    };
    // DataFusion's plan only now: `auto` left PostgreSQL's plan to run before paying for it.
    let logical = crate::plan::logical::build(&t.spec)
        .map_err(|e| PgError::unsupported(format!("plan DataFusion cannot build ({e})")))?;
    let bytes = crate::plan::codec::to_bytes(&logical)
        .map_err(|e| PgError::unsupported(format!("plan DataFusion cannot serialize ({e})")))?;
    let display = crate::plan::logical::display(&logical);
    let auto = theirs.map(|p| (ours, p.estimate));
    let stmt = super::scan_node::planned_stmt(parse, t, &leaves, &bytes, &display, node_cost, auto)?;
    // SAFETY: the PlannedStmt just built.
    unsafe { (*stmt).parallelModeNeeded = parallel };
    if guc::backend_log_level() >= 1 {
        let planned = leaves.iter().flatten().count();
        super::error::log(format_args!(
            "planned: {} scan {} ({planned} planned by PostgreSQL, {} shared), parallel producers {}",
            leaves.len(),
            if leaves.len() == 1 { "leaf" } else { "leaves" },
            leaves.len() - planned,
            if parallel { "allowed" } else { "not allowed" }
        ))?;
    }
    Ok(Planned::Stmt(stmt))
}
