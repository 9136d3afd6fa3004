//! Subqueries in FROM that pull-up left (aggregates, DISTINCT, LIMIT, ...), each a query block
//! of its own whose output columns the parent reads; columns the parent does not read are not
//! computed.

use std::ffi::c_void;

use super::construct::index_var;
use super::context::SubBlock;
use super::expr::post_expr;
use super::types::expr_type;
use super::{block, unsupported};
use crate::pg::error::{guard, PgResult};
use crate::pg::leaf::Bindings;
use crate::pg::nodes::{self, list};
use crate::pg::sys;

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
    struct Ctx {
        rtindex: i32,
        depth: u32,
        found: Vec<usize>,
        whole_row: bool,
    }
    unsafe extern "C" fn walker(node: *mut sys::Node, ctx: *mut c_void) -> bool {
        if node.is_null() {
            return false;
        }
        // SAFETY: `ctx` is the Ctx passed below; `node` a valid node of the query tree.
        unsafe {
            let c = &mut *(ctx as *mut Ctx);
            let f: unsafe extern "C" fn(*mut sys::Node, *mut c_void) -> bool = walker;
            let f = std::mem::transmute::<
                unsafe extern "C" fn(*mut sys::Node, *mut c_void) -> bool,
                unsafe extern "C" fn() -> bool,
            >(f);
            match nodes::tag(node) {
                sys::NodeTag_T_Var => {
                    let v = &*(node as *mut sys::Var);
                    if v.varno == c.rtindex && v.varlevelsup == c.depth {
                        match usize::try_from(v.varattno) {
                            Ok(0) | Err(_) => c.whole_row = true,
                            Ok(a) => c.found.push(a),
                        }
                    }
                    false
                }
                sys::NodeTag_T_Query => {
                    c.depth += 1;
                    let r = sys::query_tree_walker(node as *mut sys::Query, Some(f), ctx, 0);
                    c.depth -= 1;
                    r
                }
                _ => sys::expression_tree_walker(node, Some(f), ctx),
            }
        }
    }
    let mut ctx = Ctx { rtindex, depth: 0, found: Vec::new(), whole_row: false };
    let c = &mut ctx as *mut Ctx as *mut c_void;
    // SAFETY: walks our copy of the query (subqueries in FROM are walked as one level deeper);
    // the walker only reads nodes and records into `ctx`.
    guard(|| unsafe {
        let f: unsafe extern "C" fn(*mut sys::Node, *mut c_void) -> bool = walker;
        let f = std::mem::transmute::<
            unsafe extern "C" fn(*mut sys::Node, *mut c_void) -> bool,
            unsafe extern "C" fn() -> bool,
        >(f);
        sys::query_tree_walker(query, Some(f), c, 0);
    })?;
    Ok((!ctx.whole_row).then_some(ctx.found))
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
        let t = unsafe { &mut *tle };
        let e = t.expr as *mut sys::Node;
        if t.resjunk || t.ressortgroupref != 0 || used.contains(&(t.resno as usize)) {
            continue;
        }
        // SAFETY (both): walks and describes a valid expression; makeNullConst allocates.
        if guard(|| unsafe { sys::contain_volatile_functions(e) })? {
            continue;
        }
        let (typid, typmod, coll) = expr_type(e)?;
        t.expr = guard(|| unsafe { sys::makeNullConst(typid, typmod, coll) })? as *mut sys::Expr;
    }
    Ok(copy)
}
