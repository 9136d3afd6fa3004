//! The Sort, Unique (DISTINCT ON) and Limit PostgreSQL runs above the PgFusionScan node when
//! DataFusion cannot order the query's result as PostgreSQL does (see
//! [`crate::frontend::FinalSort`]): PostgreSQL's own executor nodes, built as `create_plan` and
//! `set_plan_references` build them, so the order is PostgreSQL's in every collation and a Limit
//! right above the Sort bounds it (a top-N heap sort). Node ids: the Limit 0, then down.
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
    let mut id = 3;
    if !sort.keys.is_empty() {
        let n = sort.keys.len();
        let s: *mut sys::Sort = nodes::make(sys::NodeTag_T_Sort)?;
        let cols = column_array(&sort.keys, |k| k.resno)?;
        let ops = column_array(&sort.keys, |k| k.sortop)?;
        let colls = column_array(&sort.keys, |k| k.collation)?;
        let nulls = column_array(&sort.keys, |k| k.nulls_first)?;
        id -= 1;
        // SAFETY: a Sort node just made, filled with arrays of `n` elements each.
        unsafe {
            (*s).numCols = n as i32;
            (*s).sortColIdx = cols;
            (*s).sortOperators = ops;
            (*s).collations = colls;
            (*s).nullsFirst = nulls;
            top = plan_above(std::ptr::addr_of_mut!((*s).plan), top, id)?;
        }
    }
    if !sort.distinct_on.is_empty() {
        let u: *mut sys::Unique = nodes::make(sys::NodeTag_T_Unique)?;
        let d = &sort.distinct_on;
        let (cols, ops, colls) =
            (column_array(d, |k| k.resno)?, column_array(d, |k| k.eqop)?, column_array(d, |k| k.collation)?);
        id -= 1;
        // SAFETY: a Unique node just made, filled with arrays of `d.len()` elements each.
        unsafe {
            (*u).numCols = d.len() as i32;
            (*u).uniqColIdx = cols;
            (*u).uniqOperators = ops;
            (*u).uniqCollations = colls;
            top = plan_above(std::ptr::addr_of_mut!((*u).plan), top, id)?;
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
            top = plan_above(std::ptr::addr_of_mut!((*l).plan), top, 0)?;
        }
    }
    Ok(top)
}

/// A palloc'd array of one field of each key.
fn column_array<T: Copy>(keys: &[FinalSortKey], field: impl Fn(&FinalSortKey) -> T) -> PgResult<*mut T> {
    let p = array::<T>(keys.len())?;
    for (i, k) in keys.iter().enumerate() {
        // SAFETY: `p` has room for `keys.len()` elements.
        unsafe { p.add(i).write(field(k)) };
    }
    Ok(p)
}

/// Fills `plan` (the head of a node just made by `nodes::make`) as the parent of the valid plan
/// `child`: target list, costs, node id; returns the node.
fn plan_above(plan: *mut sys::Plan, child: *mut sys::Plan, id: i32) -> PgResult<*mut sys::Plan> {
    // SAFETY: the caller's node and child (see above); reads the child's fields.
    let targetlist = dummy_tlist(unsafe { (*child).targetlist })?;
    // SAFETY: as above; `plan` is not aliased while it is filled.
    unsafe {
        let p = &mut *plan;
        let c = &*child;
        p.targetlist = targetlist;
        p.lefttree = child;
        p.startup_cost = c.total_cost;
        p.total_cost = c.total_cost;
        p.plan_rows = c.plan_rows;
        p.plan_width = c.plan_width;
        p.plan_node_id = id;
    }
    Ok(plan)
}

/// A target list of `OUTER_VAR` Vars over the entries of `tlist`, a valid List of TargetEntry
/// (`set_dummy_tlist_references`).
fn dummy_tlist(tlist: *mut sys::List) -> PgResult<*mut sys::List> {
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
