//! Subqueries in FROM that pull-up left (aggregates, DISTINCT, LIMIT, ...), each a query block
//! of its own whose output columns the parent reads; columns the parent does not read are not
//! computed.

use super::construct::index_var;
use super::context::SubBlock;
use super::expr::post_expr;
use super::types::expr_type;
use super::{block, unsupported};
use crate::pg::error::{guard, PgResult};
use crate::pg::leaf::Bindings;
use crate::pg::nodes::{self, list};
use crate::pg::sys;
use crate::pg::walk::{self, Visit};

/// A subquery in FROM that pull-up left (aggregates, DISTINCT, LIMIT, ...) as a query block.
pub(super) fn sub_block(rte: &sys::RangeTblEntry, bind: &mut Bindings) -> PgResult<SubBlock> {
    if rte.lateral {
        return Err(unsupported("LATERAL subquery"));
    }
    let inner = block(rte.subquery, bind)?;
    if !inner.qual.is_null() {
        return Err(unsupported("HAVING computed by PostgreSQL inside a subquery in FROM"));
    }
    let mut plan = inner.spec;
    let mut outputs = Vec::new();
    let mut value_only = vec![false; plan.output.len()];
    // SAFETY: the block's target list, in resno order.
    for tle in unsafe { list::<sys::TargetEntry>(inner.tlist) } {
        // SAFETY: `tle` is a TargetEntry of the block's target list.
        let e = unsafe { (*tle).expr } as *mut sys::Node;
        if let Some(k) = index_var(e).filter(|&k| k < plan.output.len()) {
            outputs.push(Some(k));
            continue;
        }
        // An expression PostgreSQL would finish on the node (over aggregates): DataFusion
        // computes it after the block's stage when it can.
        match post_expr(e, &plan)? {
            Some((expr, ty, vo)) => {
                let stage = plan.stage_types().len();
                plan.post.push((expr, ty));
                plan.output.push(stage);
                value_only.push(vo);
                outputs.push(Some(plan.output.len() - 1));
            }
            None => outputs.push(None),
        }
    }
    let types = plan.output_types();
    Ok(SubBlock { plan, outputs, types, value_only, pg_types: inner.pg_types })
}

/// Which output columns (by resno, from 1) of the FROM item at `rtindex` of `query` the query
/// reads anywhere (its select list, conditions, join aliases, subqueries); None: all of them (a
/// whole-row reference).
pub(super) fn referenced_columns(query: *mut sys::Query, rtindex: i32) -> PgResult<Option<Vec<usize>>> {
    let (mut found, mut whole_row) = (Vec::new(), false);
    // Subqueries (in FROM, sublinks) are walked one level deeper.
    walk::walk_query(query, 0, |node, depth| {
        // SAFETY: a valid node of the query tree, read per its tag.
        unsafe {
            if nodes::tag(node) == sys::NodeTag_T_Var {
                let v = &*(node as *mut sys::Var);
                if v.varno == rtindex && v.varlevelsup == depth {
                    match usize::try_from(v.varattno) {
                        Ok(0) | Err(_) => whole_row = true,
                        Ok(a) => found.push(a),
                    }
                }
            }
        }
        Ok(Visit::Children)
    })?;
    Ok((!whole_row).then_some(found))
}

/// A copy of `sub` whose select-list entries the parent does not read (`used`: the resnos it
/// reads; None: all) are NULL constants, as PostgreSQL's `remove_unused_subquery_outputs`
/// leaves them: not when DISTINCT, a set operation or a set-returning function makes every
/// column count, nor for entries the subquery groups or sorts by, or that call volatile
/// functions.
pub(super) fn without_unused_outputs(
    sub: *mut sys::Query,
    used: &Option<Vec<usize>>,
) -> PgResult<*mut sys::Query> {
    let Some(used) = used else { return Ok(sub) };
    // SAFETY: a valid subquery of our copy; read per field.
    let keep_all = unsafe {
        let q = &*sub;
        !q.setOperations.is_null() || (!q.distinctClause.is_null() && !q.hasDistinctOn) || q.hasTargetSRFs
    };
    if keep_all {
        return Ok(sub);
    }
    let copy = nodes::copy(sub)?;
    // SAFETY: our copy's target list; entries are replaced in place.
    for tle in unsafe { list::<sys::TargetEntry>((*copy).targetList) } {
        // SAFETY: `tle` is a TargetEntry of our copy's target list, ours to change.
        let t = unsafe { &mut *tle };
        let e = t.expr as *mut sys::Node;
        if t.resjunk || t.ressortgroupref != 0 || used.contains(&(t.resno as usize)) {
            continue;
        }
        // SAFETY: a walk of a valid expression.
        if guard(|| unsafe { sys::contain_volatile_functions(e) })? {
            continue;
        }
        let (typid, typmod, coll) = expr_type(e)?;
        // SAFETY: makeNullConst allocates a Const in the current memory context.
        t.expr = guard(|| unsafe { sys::makeNullConst(typid, typmod, coll) })? as *mut sys::Expr;
    }
    Ok(copy)
}
