//! The Sort and Limit PostgreSQL runs above the PgFusionScan node when DataFusion cannot order the
//! query's result as PostgreSQL does (see [`crate::frontend::FinalSort`]): PostgreSQL's own
//! executor nodes, built as `create_plan` and `set_plan_references` build them, so the order is
//! PostgreSQL's in every collation and the Limit bounds the Sort (a top-N heap sort).
//!
//! Each node's target list refers to its child's by position (`OUTER_VAR` Vars, the entries' names,
//! junk flags and sort references kept), as `set_dummy_tlist_references` makes it.

use crate::frontend::FinalSort;
use crate::pg::error::{guard, PgError, PgResult};
use crate::pg::nodes::{self, list};
use crate::pg::sys;

/// `child` under a Sort by the query's keys, under a Limit when the query has OFFSET or LIMIT;
/// returns the new top plan node.
pub(super) fn above(child: *mut sys::Plan, sort: &FinalSort) -> PgResult<*mut sys::Plan> {
    let mut top = child;
    if !sort.keys.is_empty() {
        let n = sort.keys.len();
        // SAFETY: palloc'd arrays of `n` elements, each written below before use; the Sort node
        // is freshly made and `child` is a valid plan whose target list positions the keys name
        // (checked against its length).
        unsafe {
            let width = list::<sys::TargetEntry>((*child).targetlist).len();
            if sort.keys.iter().any(|k| k.resno < 1 || k.resno as usize > width) {
                return Err(PgError::internal("ORDER BY key outside the node's target list"));
            }
            let cols = array::<sys::AttrNumber>(n)?;
            let ops = array::<sys::Oid>(n)?;
            let colls = array::<sys::Oid>(n)?;
            let nulls = array::<bool>(n)?;
            for (i, k) in sort.keys.iter().enumerate() {
                *cols.add(i) = k.resno;
                *ops.add(i) = k.sortop;
                *colls.add(i) = k.collation;
                *nulls.add(i) = k.nulls_first;
            }
            let s: *mut sys::Sort = nodes::make(sys::NodeTag_T_Sort)?;
            (*s).numCols = n as i32;
            (*s).sortColIdx = cols;
            (*s).sortOperators = ops;
            (*s).collations = colls;
            (*s).nullsFirst = nulls;
            top = plan_above(std::ptr::addr_of_mut!((*s).plan), top, 1)?;
        }
    }
    if sort.offset.is_some() || sort.count.is_some() {
        // SAFETY: a freshly made Limit node over the valid plan `top`.
        unsafe {
            let l: *mut sys::Limit = nodes::make(sys::NodeTag_T_Limit)?;
            (*l).limitOffset = sort.offset.map(int8_const).transpose()?.unwrap_or(std::ptr::null_mut());
            (*l).limitCount = sort.count.map(int8_const).transpose()?.unwrap_or(std::ptr::null_mut());
            (*l).limitOption = sys::LimitOption_LIMIT_OPTION_COUNT;
            top = plan_above(std::ptr::addr_of_mut!((*l).plan), top, 0)?;
        }
    }
    Ok(top)
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
        // SAFETY: a valid TargetEntry with an expression; makeVar and flatCopyTargetEntry
        // allocate in the current memory context; the copy is ours to change.
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

/// A bigint constant (LIMIT and OFFSET are bigint).
fn int8_const(v: usize) -> PgResult<*mut sys::Node> {
    let v = i64::try_from(v).map_err(|_| PgError::internal("LIMIT out of range"))?;
    // SAFETY: makeConst allocates a by-value int8 Const in the current memory context.
    let c = guard(|| unsafe { sys::makeConst(sys::INT8OID, -1, 0, 8, v as sys::Datum, false, true) })?;
    Ok(c as *mut sys::Node)
}
