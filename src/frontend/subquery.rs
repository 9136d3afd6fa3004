//! Subqueries in FROM that pull-up left (aggregates, DISTINCT, LIMIT, ...), each a query block
//! of its own whose output columns the parent reads; columns the parent does not read are not
//! computed.

use super::construct::index_var;
use super::context::SubBlock;
use super::expr::post_expr;
use super::{block, unsupported};
use crate::pg::error::{PgError, PgResult};
use crate::pg::leaf::Bindings;
use crate::pg::node::{make_null_const, Kind, Query, RangeTblEntry, Visit};

/// A subquery in FROM that pull-up left (aggregates, DISTINCT, LIMIT, ...) as a query block:
/// `sub`, the query of range-table entry `rte` (or a copy of it).
pub(super) fn sub_block(rte: RangeTblEntry, sub: Query, bind: &mut Bindings) -> PgResult<SubBlock> {
    if rte.lateral() {
        return Err(unsupported("LATERAL subquery"));
    }
    let inner = block(sub, bind)?;
    if !inner.qual.is_nil() {
        return Err(unsupported("HAVING computed by PostgreSQL inside a subquery in FROM"));
    }
    let mut plan = inner.spec;
    let mut outputs = Vec::new();
    let mut value_only = vec![false; plan.output.len()];
    // The block's target list, in resno order.
    for tle in inner.tlist.target_entries() {
        let Some(e) = tle.expr() else { return Err(unsupported("select-list entry without an expression")) };
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
pub(super) fn referenced_columns(query: Query, rtindex: u32) -> PgResult<Option<Vec<usize>>> {
    let (mut found, mut whole_row) = (Vec::new(), false);
    // Subqueries (in FROM, sublinks) are walked one level deeper.
    query.walk(0, |node, depth| {
        if let Kind::Var(v) = node.kind() {
            if v.varno() == rtindex && v.varlevelsup() == depth {
                match usize::try_from(v.varattno()) {
                    Ok(0) | Err(_) => whole_row = true,
                    Ok(a) => found.push(a),
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
pub(super) fn without_unused_outputs(sub: Query, used: &Option<Vec<usize>>) -> PgResult<Query> {
    let Some(used) = used else { return Ok(sub) };
    let keep_all = sub.set_operations().is_some()
        || (!sub.distinct_clause().is_empty() && !sub.has_distinct_on())
        || sub.has_target_srfs();
    if keep_all {
        return Ok(sub);
    }
    let copy = sub.node().copy()?.as_query().ok_or_else(|| PgError::internal("a copy of a Query"))?;
    // Our copy's target list: entries are replaced in place.
    for t in copy.target_list() {
        let Some(e) = t.expr() else { continue };
        if t.resjunk() || t.ressortgroupref() != 0 || used.contains(&(t.resno() as usize)) {
            continue;
        }
        if e.contains_volatile_functions()? {
            continue;
        }
        let (typid, typmod, coll) = e.expr_type()?;
        t.set_expr(Some(make_null_const(typid, typmod, coll)?));
    }
    Ok(copy)
}
