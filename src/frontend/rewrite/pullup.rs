//! Pulling simple subqueries in FROM (and views) up into the query, as PostgreSQL's planner does
//! (`pull_up_simple_subquery`): their relations join the outer query's, their WHERE joins its
//! conditions, and references to their columns become their select-list expressions.
//!
//! Rules:
//! - Works on a copy of the analyzed Query (the original stays untouched for a fallback plan).
//! - Only a subquery PostgreSQL itself would pull up, and only where the result cannot change: a
//!   plain SELECT (no aggregates, grouping, DISTINCT, ORDER BY, LIMIT, window functions,
//!   set-returning functions, set operations, CTEs, row locks, volatile select-list
//!   expressions), not a security-barrier view. Sublinks in its WHERE come along (the
//!   parent's `hasSubLinks` is set, as PostgreSQL does). On the nullable side of an outer
//!   join only if its select list is plain columns of its own and the query does not read it
//!   as a whole row (PostgreSQL would need placeholders for computed entries, outer references
//!   and the row, which must read NULL in null-extended rows).
//! - A LATERAL subquery is pulled up too (PostgreSQL does): its references to earlier FROM items
//!   become plain columns of this query. The terms of its WHERE that read them then run where
//!   its rows meet theirs: in the enclosing FROM list's or inner join's condition, or the ON of
//!   the LEFT JOIN it is the right side of (`a LEFT JOIN (b WHERE p) ON q` is
//!   `a LEFT JOIN b ON q AND p`); anywhere else they stay in place, and a condition reading FROM
//!   items outside its join is refused later (`frontend::from`). Its own FROM items that may now
//!   read this query's columns (subqueries, functions, VALUES, TABLESAMPLE) are marked LATERAL,
//!   as PostgreSQL marks them.
//! - A pulled-up view's tables keep their range-table entries as the rewriter left them (a view
//!   owned by another role reads them with its owner's rights, `checkAsUser`, and the owner's
//!   row-level security quals): the scan leaves are bound to those entries (`crate::pg::leaf`).

use crate::frontend::from::{conjuncts, reads_only};
use crate::frontend::subquery::referenced_columns;
use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{
    make_bool_expr, BoolOp, FromExpr, JoinExpr, JoinType, Kind, Node, Query, RangeTblEntry, RteKind,
};
use crate::pg::nodes;

/// Is `rte` a subquery whose rows PostgreSQL would compute by flattening it into its parent?
fn is_simple(rte: RangeTblEntry) -> PgResult<bool> {
    if rte.rtekind() != RteKind::Subquery || rte.security_barrier() {
        return Ok(false);
    }
    let Some(s) = rte.subquery() else { return Ok(false) };
    Ok(s.is_select()
        && s.set_operations().is_none()
        && !s.has_aggs()
        && !s.has_window_funcs()
        && !s.has_target_srfs()
        && !s.has_for_update()
        && s.group_clause().is_empty()
        && s.grouping_sets().is_empty()
        && s.having_qual().is_none()
        && s.sort_clause().is_empty()
        && s.distinct_clause().is_empty()
        && s.limit_offset().is_none()
        && s.limit_count().is_none()
        && s.cte_list().is_empty()
        && s.row_marks().is_empty()
        && !match s.target_list_node() {
            Some(t) => t.contains_volatile_functions()?,
            None => false,
        })
}

/// Where a RangeTblRef sits in the join tree, so it can be replaced.
#[derive(Clone, Copy)]
enum Slot {
    FromList(FromExpr, usize),
    Left(JoinExpr),
    Right(JoinExpr),
    /// The whole join tree (a FromExpr's place: never a RangeTblRef).
    Top,
}

/// Does every select-list entry of `sub` just name a column of its own FROM items? Only then may
/// it sit on the nullable side of an outer join once pulled up: a computed entry (even a
/// constant) or a column of an outer query (a LATERAL reference) must be NULL in null-extended
/// rows, which PostgreSQL keeps with placeholders and we do not.
fn only_columns(rte: RangeTblEntry) -> bool {
    rte.subquery().is_some_and(|s| {
        s.target_list()
            .into_iter()
            .all(|t| matches!(t.expr().map(Node::kind), Some(Kind::Var(v)) if v.varlevelsup() == 0))
    })
}

/// Where a pulled-up LATERAL subquery's WHERE runs (see the module rules): the FROM list or
/// join whose condition ANDs it, None to leave it in place.
fn lateral_quals_home(slot: Slot) -> Option<Node> {
    match slot {
        Slot::FromList(f, _) => Some(f.node()),
        Slot::Left(j) | Slot::Right(j) if j.jointype() == JoinType::Inner => Some(j.node()),
        Slot::Right(j) if j.jointype() == JoinType::Left => Some(j.node()),
        _ => None,
    }
}

/// The AND of `terms` (at least one).
fn all_of(terms: &[Node]) -> PgResult<Node> {
    match terms {
        [one] => Ok(*one),
        many => make_bool_expr(BoolOp::And, many),
    }
}

/// `a AND b`, either possibly absent.
fn and_quals(a: Option<Node>, b: Node) -> PgResult<Node> {
    match a {
        Some(a) => make_bool_expr(BoolOp::And, &[a, b]),
        None => Ok(b),
    }
}

/// The first RangeTblRef (through FromExprs and joins) naming a simple subquery.
fn find(q: Query) -> PgResult<Option<(u32, Slot)>> {
    match q.jointree() {
        Some(f) => find_in(q, f.node(), Slot::Top, false),
        None => Ok(None),
    }
}

fn find_in(q: Query, node: Node, slot: Slot, nullable: bool) -> PgResult<Option<(u32, Slot)>> {
    nodes::check_stack_depth()?;
    match node.kind() {
        Kind::RangeTblRef(r) => {
            let rti = r.rtindex();
            let Some(rte) = q.rte(rti) else { return Ok(None) };
            // On a nullable side, a whole-row reference would read ROW(NULL, ...) in
            // null-extended rows, not NULL: left a subquery.
            let nullable_ok =
                || -> PgResult<bool> { Ok(only_columns(rte) && referenced_columns(q, rti)?.is_some()) };
            Ok((is_simple(rte)? && (!nullable || nullable_ok()?)).then_some((rti, slot)))
        }
        Kind::FromExpr(f) => {
            for (i, item) in f.fromlist().into_iter().enumerate() {
                if let Some(found) = find_in(q, item, Slot::FromList(f, i), nullable)? {
                    return Ok(Some(found));
                }
            }
            Ok(None)
        }
        Kind::JoinExpr(j) => {
            let (ln, rn) = match j.jointype() {
                JoinType::Inner => (false, false),
                JoinType::Left => (false, true),
                JoinType::Right => (true, false),
                JoinType::Full => (true, true),
                _ => return Ok(None),
            };
            if let Some(found) =
                j.larg().map(|l| find_in(q, l, Slot::Left(j), nullable || ln)).transpose()?.flatten()
            {
                return Ok(Some(found));
            }
            Ok(j.rarg().map(|r| find_in(q, r, Slot::Right(j), nullable || rn)).transpose()?.flatten())
        }
        _ => Ok(None),
    }
}

/// A copy of `query` with every simple subquery in FROM pulled up.
pub fn pull_up(query: Query) -> PgResult<Query> {
    let mut q = query.copy()?;
    // Each round removes one subquery level; a bound keeps a pathological tree from looping.
    for _ in 0..1000 {
        let Some((rti, _)) = find(q)? else { return Ok(q) };
        let rte = q.rte(rti).ok_or_else(|| PgError::internal("range table index out of range"))?;
        let sub =
            rte.subquery().ok_or_else(|| PgError::internal("subquery entry without a query"))?.copy()?;
        let lateral = rte.lateral();
        let offset = q.rtable().len() as i32;
        sub.offset_var_nodes(offset)?;
        // Its references to this query (LATERAL) and to queries above are one level closer.
        sub.increment_var_sublevels_up(-1, 1)?;
        let (rewritten, has_sublinks) = q.replace_vars_from_target_list(rti, rte, sub)?;
        q = rewritten;
        // Find the reference again in the rewritten copy and put the subquery's join tree in
        // its place.
        let Some((_, slot)) = find(q)? else {
            return Err(PgError::internal("pulled-up subquery vanished"));
        };
        let jointree = sub.jointree().ok_or_else(|| PgError::internal("subquery without a join tree"))?;
        if lateral {
            // Terms that read earlier FROM items move; those over its own stay.
            let own = offset + 1..=offset + sub.rtable().len() as i32;
            let (mut stay, mut moved) = (Vec::new(), Vec::new());
            for t in conjuncts(jointree.quals()) {
                if reads_only(t, |rti| own.contains(&rti))? {
                    stay.push(t)
                } else {
                    moved.push(t)
                }
            }
            if let (false, Some(home)) = (moved.is_empty(), lateral_quals_home(slot)) {
                let moved = all_of(&moved)?;
                match home.kind() {
                    Kind::FromExpr(f) => f.set_quals(Some(and_quals(f.quals(), moved)?)),
                    Kind::JoinExpr(j) => j.set_quals(Some(and_quals(j.quals(), moved)?)),
                    _ => return Err(PgError::internal("LATERAL subquery's condition home")),
                }
                jointree.set_quals(if stay.is_empty() { None } else { Some(all_of(&stay)?) });
            }
            for child in sub.rtable() {
                let may_read_outer = match child.rtekind() {
                    RteKind::Relation => child.tablesample().is_some(),
                    RteKind::Subquery | RteKind::Function | RteKind::Values | RteKind::TableFunc => true,
                    _ => false,
                };
                if may_read_outer {
                    child.set_lateral(true);
                }
            }
        }
        let from = jointree.node();
        match slot {
            Slot::FromList(f, i) => f.set_fromlist_nth(i, from)?,
            Slot::Left(j) => j.set_larg(Some(from)),
            Slot::Right(j) => j.set_rarg(Some(from)),
            Slot::Top => return Err(PgError::internal("subquery as the whole join tree")),
        }
        q.set_has_sub_links(q.has_sub_links() || sub.has_sub_links() || has_sublinks);
        q.append_rtable(sub)?;
        // The subquery's RTE stays (unreferenced) so range-table indexes do not move.
    }
    Err(PgError::unsupported("subqueries nested too deeply"))
}
