//! Pulling simple subqueries in FROM (and views) up into the query, as PostgreSQL's planner does
//! (`pull_up_simple_subquery`): their relations join the outer query's, their WHERE joins its
//! conditions, and references to their columns become their select-list expressions.
//!
//! Rules:
//! - Works on a copy of the analyzed Query (the original stays untouched for a fallback plan).
//! - Only a subquery PostgreSQL itself would pull up, and only where the result cannot change: a
//!   plain SELECT (no aggregates, grouping, DISTINCT, ORDER BY, LIMIT, window functions,
//!   set-returning functions, set operations, CTEs, row locks, volatile select-list
//!   expressions), not LATERAL, not a security-barrier view. Sublinks in its WHERE come along (the
//!   parent's `hasSubLinks` is set, as PostgreSQL does). On the nullable side of an outer
//!   join only if its select list is plain columns (PostgreSQL would need placeholders for
//!   computed entries, which must read NULL in null-extended rows).
//! - A pulled-up view's tables keep their range-table entries as the rewriter left them (a view
//!   owned by another role reads them with its owner's rights, `checkAsUser`, and the owner's
//!   row-level security quals): the scan leaves are bound to those entries (`crate::pg::leaf`).

use crate::pg::error::{guard, PgResult};
use crate::pg::nodes::{self, list};
use crate::pg::sys;

/// Is `sub` a subquery whose rows PostgreSQL would compute by flattening it into its parent?
fn is_simple(rte: &sys::RangeTblEntry) -> PgResult<bool> {
    if rte.rtekind != sys::RTEKind_RTE_SUBQUERY
        || rte.subquery.is_null()
        || rte.lateral
        || rte.security_barrier
    {
        return Ok(false);
    }
    // SAFETY: the subquery of an RTE_SUBQUERY is a valid Query.
    let s = unsafe { &*rte.subquery };
    Ok(s.commandType == sys::CmdType_CMD_SELECT
        && s.utilityStmt.is_null()
        && s.setOperations.is_null()
        && !s.hasAggs
        && !s.hasWindowFuncs
        && !s.hasTargetSRFs
        && !s.hasForUpdate
        && s.groupClause.is_null()
        && s.groupingSets.is_null()
        && s.havingQual.is_null()
        && s.sortClause.is_null()
        && s.distinctClause.is_null()
        && s.limitOffset.is_null()
        && s.limitCount.is_null()
        && s.cteList.is_null()
        && s.rowMarks.is_null()
        // SAFETY: a valid target list.
        && !guard(|| unsafe { sys::contain_volatile_functions(s.targetList as *mut sys::Node) })?)
}

/// Where a RangeTblRef sits in the join tree, so it can be replaced.
enum Slot {
    FromList(*mut sys::List, i32),
    Left(*mut sys::JoinExpr),
    Right(*mut sys::JoinExpr),
}

/// Does every select-list entry of `sub` just name a column? Only then may it sit on the
/// nullable side of an outer join once pulled up: a computed entry (even a constant) must be NULL
/// in null-extended rows, which PostgreSQL keeps with placeholders and we do not.
fn only_columns(rte: &sys::RangeTblEntry) -> bool {
    // SAFETY: the subquery of a simple RTE_SUBQUERY.
    unsafe {
        list::<sys::TargetEntry>((*rte.subquery).targetList)
            .into_iter()
            .all(|t| nodes::tag((*t).expr as *mut sys::Node) == sys::NodeTag_T_Var)
    }
}

/// The first RangeTblRef (through FromExprs and joins) naming a simple subquery.
fn find(q: &sys::Query, node: *mut sys::Node, slot: Slot) -> PgResult<Option<(i32, Slot)>> {
    find_in(q, node, slot, false)
}

fn find_in(
    q: &sys::Query,
    node: *mut sys::Node,
    slot: Slot,
    nullable: bool,
) -> PgResult<Option<(i32, Slot)>> {
    if node.is_null() {
        return Ok(None);
    }
    nodes::check_stack_depth()?;
    // SAFETY: join tree nodes of a valid Query.
    unsafe {
        match nodes::tag(node) {
            sys::NodeTag_T_RangeTblRef => {
                let rti = (*(node as *mut sys::RangeTblRef)).rtindex;
                let Some(&rte) = list::<sys::RangeTblEntry>(q.rtable).get(rti as usize - 1) else {
                    return Ok(None);
                };
                Ok((is_simple(&*rte)? && (!nullable || only_columns(&*rte))).then_some((rti, slot)))
            }
            sys::NodeTag_T_FromExpr => {
                let f = node as *mut sys::FromExpr;
                for (i, item) in list::<sys::Node>((*f).fromlist).into_iter().enumerate() {
                    if let Some(found) = find_in(q, item, Slot::FromList((*f).fromlist, i as i32), nullable)?
                    {
                        return Ok(Some(found));
                    }
                }
                Ok(None)
            }
            sys::NodeTag_T_JoinExpr => {
                let j = node as *mut sys::JoinExpr;
                let (ln, rn) = match (*j).jointype {
                    sys::JoinType_JOIN_INNER => (false, false),
                    sys::JoinType_JOIN_LEFT => (false, true),
                    sys::JoinType_JOIN_RIGHT => (true, false),
                    sys::JoinType_JOIN_FULL => (true, true),
                    _ => return Ok(None),
                };
                match find_in(q, (*j).larg, Slot::Left(j), nullable || ln)? {
                    Some(found) => Ok(Some(found)),
                    None => find_in(q, (*j).rarg, Slot::Right(j), nullable || rn),
                }
            }
            _ => Ok(None),
        }
    }
}

/// A copy of `query` with every simple subquery in FROM pulled up.
pub fn pull_up(query: *mut sys::Query) -> PgResult<*mut sys::Query> {
    let mut q = nodes::copy(query)?;
    // Each round removes one subquery level; a bound keeps a pathological tree from looping.
    for _ in 0..1000 {
        // SAFETY: `q` is our own copy of a valid Query.
        let found = unsafe { find(&*q, (*q).jointree as *mut sys::Node, Slot::Left(std::ptr::null_mut()))? };
        let Some((rti, _)) = found else { return Ok(q) };
        // SAFETY: as above; every call is guarded, and only our copy is modified.
        unsafe {
            let rte = list::<sys::RangeTblEntry>((*q).rtable)[rti as usize - 1];
            let sub = nodes::copy((*rte).subquery)?;
            let offset = list::<sys::RangeTblEntry>((*q).rtable).len() as i32;
            guard(|| sys::OffsetVarNodes(sub as *mut sys::Node, offset, 0))?;
            let mut has_sublinks = false;
            let has = &mut has_sublinks as *mut bool;
            let tlist = (*sub).targetList;
            q = guard(|| {
                sys::ReplaceVarsFromTargetList(
                    q as *mut sys::Node,
                    rti,
                    0,
                    rte,
                    tlist,
                    sys::ReplaceVarsNoMatchOption_REPLACEVARS_REPORT_ERROR,
                    0,
                    has,
                ) as *mut sys::Query
            })?;
            // Find the reference again in the rewritten copy and put the subquery's join tree
            // in its place.
            let Some((_, slot)) =
                find(&*q, (*q).jointree as *mut sys::Node, Slot::Left(std::ptr::null_mut()))?
            else {
                return Err(crate::pg::error::PgError::internal("pulled-up subquery vanished"));
            };
            let from = (*sub).jointree as *mut std::ffi::c_void;
            match slot {
                Slot::FromList(l, i) => guard(|| sys::pgf_list_set_nth(l, i, from))?,
                Slot::Left(j) if !j.is_null() => (*j).larg = from as *mut sys::Node,
                Slot::Right(j) => (*j).rarg = from as *mut sys::Node,
                Slot::Left(_) => {
                    return Err(crate::pg::error::PgError::internal("subquery as the whole join tree"))
                }
            }
            (*q).hasSubLinks |= (*sub).hasSubLinks || has_sublinks;
            let (outer, inner) = ((*q).rtable, (*sub).rtable);
            (*q).rtable = guard(|| sys::list_concat(outer, inner))?;
            // The subquery's RTE stays (unreferenced) so range-table indexes do not move.
        }
    }
    Err(crate::pg::error::PgError::unsupported("subqueries nested too deeply"))
}
