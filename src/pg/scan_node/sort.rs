//! The Sort, Unique (DISTINCT ON) and Limit PostgreSQL runs above the PgFusionScan node when
//! DataFusion cannot order the query's result as PostgreSQL does (see
//! [`crate::frontend::FinalSort`]): PostgreSQL's own executor nodes, built as `create_plan` and
//! `set_plan_references` build them, so the order is PostgreSQL's in every collation and a Limit
//! right above the Sort bounds it (a top-N heap sort). Node ids are given once the whole tree
//! above the node is built ([`number_nodes`]).
//!
//! Each node's target list refers to its child's by position (`OUTER_VAR` Vars, the entries' names,
//! junk flags and sort references kept), as `set_dummy_tlist_references` makes it.

use crate::frontend::{FinalSort, FinalSortKey};
use crate::pg::error::{guard, PgError, PgResult};
use crate::pg::nodes::{self, list};
use crate::pg::sys;

/// `child` under a Sort by the query's keys, a Unique for DISTINCT ON, and a Limit when the query
/// has OFFSET or LIMIT; returns the new top plan node.
pub(super) fn above(child: *mut sys::Plan, sort: &FinalSort) -> PgResult<*mut sys::Plan> {
    // SAFETY: `child` is a valid plan; its target list is read.
    let width = unsafe { list::<sys::TargetEntry>((*child).targetlist).len() };
    let keys = sort.keys.iter().chain(&sort.distinct_on);
    if keys.clone().any(|k| k.resno < 1 || k.resno as usize > width) {
        return Err(PgError::internal("ORDER BY key outside the node's target list"));
    }
    let mut top = child;
    if !sort.keys.is_empty() {
        top = sort_node(top, &sort.keys)?;
    }
    if !sort.distinct_on.is_empty() {
        let u: *mut sys::Unique = nodes::make(sys::NodeTag_T_Unique)?;
        let d = &sort.distinct_on;
        let (cols, ops, colls) =
            (column_array(d, |k| k.resno)?, column_array(d, |k| k.eqop)?, column_array(d, |k| k.collation)?);
        // SAFETY: a Unique node just made, filled with arrays of `d.len()` elements each.
        unsafe {
            (*u).numCols = d.len() as i32;
            (*u).uniqColIdx = cols;
            (*u).uniqOperators = ops;
            (*u).uniqCollations = colls;
            top = plan_above(std::ptr::addr_of_mut!((*u).plan), top, dummy_tlist((*top).targetlist)?);
        }
    }
    if sort.offset.is_some() || sort.count.is_some() {
        let l: *mut sys::Limit = nodes::make(sys::NodeTag_T_Limit)?;
        // WITH TIES: the rows equal on every ORDER BY key to the last one counted.
        let ties = &sort.ties;
        let (cols, ops, colls) = if ties.is_empty() {
            (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut())
        } else {
            (
                column_array(ties, |k| k.resno)?,
                column_array(ties, |k| k.eqop)?,
                column_array(ties, |k| k.collation)?,
            )
        };
        // SAFETY: a Limit node just made over the valid plan `top`.
        unsafe {
            (*l).limitOffset = sort.offset.map_or(std::ptr::null_mut(), |n| n.as_ptr());
            (*l).limitCount = sort.count.map_or(std::ptr::null_mut(), |n| n.as_ptr());
            (*l).limitOption = if !ties.is_empty() {
                sys::LimitOption_LIMIT_OPTION_WITH_TIES
            } else {
                sys::LimitOption_LIMIT_OPTION_COUNT
            };
            (*l).uniqNumCols = ties.len() as i32;
            (*l).uniqColIdx = cols;
            (*l).uniqOperators = ops;
            (*l).uniqCollations = colls;
            top = plan_above(std::ptr::addr_of_mut!((*l).plan), top, dummy_tlist((*top).targetlist)?);
        }
    }
    Ok(top)
}

/// A Sort of `child`'s rows by `keys` (columns of its target list).
pub(super) fn sort_node(child: *mut sys::Plan, keys: &[FinalSortKey]) -> PgResult<*mut sys::Plan> {
    let s: *mut sys::Sort = nodes::make(sys::NodeTag_T_Sort)?;
    let cols = column_array(keys, |k| k.resno)?;
    let ops = column_array(keys, |k| k.sortop)?;
    let colls = column_array(keys, |k| k.collation)?;
    let nulls = column_array(keys, |k| k.nulls_first)?;
    // A Sort node just made, filled with arrays of `keys.len()` elements each.
    // SAFETY: `s` is that node, not aliased; `child` is a valid plan whose target list is read.
    unsafe {
        (*s).numCols = keys.len() as i32;
        (*s).sortColIdx = cols;
        (*s).sortOperators = ops;
        (*s).collations = colls;
        (*s).nullsFirst = nulls;
        Ok(plan_above(std::ptr::addr_of_mut!((*s).plan), child, dummy_tlist((*child).targetlist)?))
    }
}

/// Numbers the plan nodes of the chain from `top` down its left children (0 at the top), as
/// `set_plan_references` numbers them; the last is the PgFusionScan node.
pub(super) fn number_nodes(top: *mut sys::Plan) {
    let (mut plan, mut id) = (top, 0);
    while !plan.is_null() {
        // SAFETY: a valid chain of plan nodes built by this module and `window_agg`.
        unsafe {
            (*plan).plan_node_id = id;
            plan = (*plan).lefttree;
        }
        id += 1;
    }
}

/// A palloc'd array of one field of each key.
pub(super) fn column_array<T: Copy>(
    keys: &[FinalSortKey],
    field: impl Fn(&FinalSortKey) -> T,
) -> PgResult<*mut T> {
    let p = array::<T>(keys.len())?;
    for (i, k) in keys.iter().enumerate() {
        // SAFETY: `p` has room for `keys.len()` elements.
        unsafe { p.add(i).write(field(k)) };
    }
    Ok(p)
}

/// Fills `plan` (the head of a node just made by `nodes::make`) as the parent of the valid plan
/// `child` with `targetlist`, and the child's costs; returns the node.
///
/// # Safety
/// `plan` and `child` are valid plan nodes, `plan` not aliased while it is filled.
pub(super) unsafe fn plan_above(
    plan: *mut sys::Plan,
    child: *mut sys::Plan,
    targetlist: *mut sys::List,
) -> *mut sys::Plan {
    // SAFETY: the caller's promise.
    unsafe {
        let p = &mut *plan;
        let c = &*child;
        p.targetlist = targetlist;
        p.lefttree = child;
        p.startup_cost = c.total_cost;
        p.total_cost = c.total_cost;
        p.plan_rows = c.plan_rows;
        p.plan_width = c.plan_width;
    }
    plan
}

/// A target list of `OUTER_VAR` Vars over the entries of `tlist`, a valid List of TargetEntry
/// (`set_dummy_tlist_references`).
pub(super) fn dummy_tlist(tlist: *mut sys::List) -> PgResult<*mut sys::List> {
    let mut out: *mut sys::List = std::ptr::null_mut();
    // SAFETY: `tlist` is a valid List of TargetEntry (the caller's plan's).
    for tle in unsafe { list::<sys::TargetEntry>(tlist) } {
        // makeVar and flatCopyTargetEntry allocate in the current memory context.
        // SAFETY: `tle` is a valid TargetEntry with an expression; the fresh copy is ours to change.
        let copy = guard(|| unsafe {
            let expr = (*tle).expr as *const sys::Node;
            let var = sys::makeVar(
                sys::OUTER_VAR,
                (*tle).resno,
                sys::exprType(expr),
                sys::exprTypmod(expr),
                sys::exprCollation(expr),
                0,
            );
            let copy = sys::flatCopyTargetEntry(tle);
            (*copy).expr = var as *mut sys::Expr;
            copy
        })?;
        out = nodes::append(out, copy as *mut std::ffi::c_void)?;
    }
    Ok(out)
}

/// A palloc'd array of `n` `T`s, uninitialised: the caller writes every element before it is
/// read.
fn array<T>(n: usize) -> PgResult<*mut T> {
    // SAFETY: palloc allocates in the current memory context (an ERROR for out of memory, caught).
    let p = guard(|| unsafe { sys::palloc(std::mem::size_of::<T>() * n) })?;
    Ok(p as *mut T)
}
