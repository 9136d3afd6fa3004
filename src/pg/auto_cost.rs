//! What `pg_fusion.enable = auto` reads from PostgreSQL's plans (`crate::plan::cost` is the
//! model): pg_fusion's estimate from its leaves' plans, and PostgreSQL's estimate from its own
//! plan of the query.

use super::error::{guard, PgResult};
use super::guc;
use super::leaf::PlannedLeaf;
use super::nodes::{self, list};
use super::sys;
use crate::plan::cost::{estimate, filter_passes, postgresql_estimate, FilterShape, LeafCost};
use crate::plan::join_order::Filtered;

/// PostgreSQL's estimate for its plan `stmt`: the plan's total cost, with the own cost of its
/// grouped aggregates, sorts and hash joins (a node's cost less its inputs') weighted by
/// `operator_cost_factor` (`crate::plan::cost::postgresql_estimate`). The walk follows a node's
/// inputs, an Append's or MergeAppend's members and a subquery scan's plan; a node found
/// nowhere else (an InitPlan or SubPlan) keeps its cost as PostgreSQL gave it.
pub fn postgresql(stmt: *mut sys::PlannedStmt) -> PgResult<f64> {
    // SAFETY: the PlannedStmt standard_planner just returned and its plan tree.
    let (total, operators) = unsafe { ((*(*stmt).planTree).total_cost, operator_cost((*stmt).planTree)) };
    Ok(postgresql_estimate(total, operators, guc::operator_cost_factor()))
}

/// The own cost of the grouped aggregates, sorts and hash joins (with their Hash nodes) in the
/// tree under `plan`.
///
/// # Safety
/// `plan` is NULL or a valid plan tree.
unsafe fn operator_cost(plan: *mut sys::Plan) -> f64 {
    if plan.is_null() {
        return 0.0;
    }
    // SAFETY: a valid plan node (the caller's contract); its inputs and member lists are plans.
    unsafe {
        let p = &*plan;
        let tag = nodes::tag(plan as *mut sys::Node);
        let mut inputs: Vec<*mut sys::Plan> = vec![p.lefttree, p.righttree];
        match tag {
            sys::NodeTag_T_Append => {
                inputs.extend(list::<sys::Plan>((*(plan as *mut sys::Append)).appendplans))
            }
            sys::NodeTag_T_MergeAppend => {
                inputs.extend(list::<sys::Plan>((*(plan as *mut sys::MergeAppend)).mergeplans))
            }
            sys::NodeTag_T_SubqueryScan => inputs.push((*(plan as *mut sys::SubqueryScan)).subplan),
            _ => {}
        }
        let inputs: Vec<*mut sys::Plan> = inputs.into_iter().filter(|i| !i.is_null()).collect();
        // A plain aggregate (no GROUP BY) only steps its transition functions: PostgreSQL's cost
        // for it holds.
        let weighted = match tag {
            sys::NodeTag_T_Agg => (*(plan as *mut sys::Agg)).aggstrategy != sys::AggStrategy_AGG_PLAIN,
            sys::NodeTag_T_Sort
            | sys::NodeTag_T_IncrementalSort
            | sys::NodeTag_T_HashJoin
            | sys::NodeTag_T_Hash => true,
            _ => false,
        };
        let own = if weighted {
            (p.total_cost - inputs.iter().map(|&i| (*i).total_cost).sum::<f64>()).max(0.0)
        } else {
            0.0
        };
        own + inputs.iter().map(|&i| operator_cost(i)).sum::<f64>()
    }
}

/// The estimated cost of running the query through DataFusion (`crate::plan::cost`): its leaves
/// as PostgreSQL planned them, read by as many parallel workers as execution will start
/// (`scan_node::run` gives every splittable leaf the most any of them needs, within
/// `max_parallel_workers_per_gather`), and the boundary; a leaf in `filtered` (by its number in
/// `leaves`) hands over what its runtime filter passes.
pub fn datafusion(leaves: &[Option<PlannedLeaf>], filtered: &[Filtered], parallel: bool) -> PgResult<f64> {
    // SAFETY: plain reads of settings.
    let (budget, min_blocks) = unsafe {
        (
            sys::pgf_max_parallel_workers_per_gather().max(0) as u32,
            sys::pgf_min_parallel_table_scan_size().max(0) as u64,
        )
    };
    let mut wants = Vec::with_capacity(leaves.len());
    for l in leaves.iter().flatten() {
        let mut workers = 0;
        if parallel && budget > 0 && l.splittable {
            let mut ok = false;
            let okp: *mut bool = &mut ok;
            // SAFETY: a leaf PlannedStmt just planned; its relations are locked by the query.
            let nblocks = guard(|| unsafe { sys::pgf_plan_blocks(l.stmt, okp) })? as u64;
            if ok {
                workers = super::parallel::workers_for(nblocks, min_blocks);
            }
        }
        wants.push(workers);
    }
    let workers = wants.iter().copied().max().unwrap_or(0).min(budget);
    let config = guc::layout_config();
    let hashes = u32::from(guc::runtime_filter_hashes());
    let shape = FilterShape { bits: config.runtime_filter_bits, hashes };
    // No filter slot, or filters off: nothing is filtered.
    let filters = config.runtime_filter_count > 0 && hashes > 0;
    let passed = |i: usize| {
        filtered
            .iter()
            .filter(|f| filters && f.leaf == i)
            .map(|f| filter_passes(f.passed, f.keys, shape))
            .fold(1.0, f64::min)
    };
    let costs: Vec<LeafCost> = leaves
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.as_ref().map(|l| (i, l)))
        .zip(&wants)
        .map(|((i, l), &w)| {
            // SAFETY: `l.stmt` is the PlannedStmt standard_planner returned for the leaf, alive in the planner's context; its planTree is non-NULL.
            let top = unsafe { &*(*l.stmt).planTree };
            let (total, width) = (top.total_cost, top.plan_width);
            LeafCost {
                total,
                rows: l.rows,
                width: f64::from(width),
                workers: if w > 0 { workers } else { 0 },
                passed: passed(i),
            }
        })
        .collect();
    Ok(estimate(&costs, guc::boundary_costs()))
}
