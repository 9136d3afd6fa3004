//! WITH queries inlined as subqueries in FROM, as PostgreSQL's planner does for a CTE it does not
//! materialize (`inline_cte`): every reference becomes a subquery RTE holding a copy of the
//! CTE's query, at any depth (subqueries in FROM and in expressions), so pull-up and query blocks
//! treat it like any subquery.
//!
//! Rules:
//! - Works on the caller's copy of the Query.
//! - Only what inlining cannot change: a plain SELECT without volatile functions (a volatile CTE
//!   is evaluated once in PostgreSQL however often it is referenced). `WITH RECURSIVE` fails
//!   closed; a statement with a data-modifying WITH is a write, never a candidate (see
//!   `hooks::candidate`), refused here should one reach translation.
//! - A reference `levelsup` query levels down gets the copy with its outer references (to sibling
//!   CTEs) shifted by `levelsup`, as `IncrementVarSublevelsUp` does for PostgreSQL.

use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{
    CommonTableExpr, Kind, List, Query, RangeTblEntry, RteKind, Visit, QTW_EXAMINE_RTES_BEFORE,
};

/// Turn one CTE reference into a subquery RTE over a copy of the CTE's query: `rte` is an
/// RTE_CTE of the tree being walked, `depth` query levels below the top query, referring to
/// the top query's WITH list `ctes`.
fn inline(rte: RangeTblEntry, ctes: &[(String, Query)], depth: u32) -> PgResult<()> {
    let name = rte.ctename();
    let query = ctes
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, q)| *q)
        .ok_or_else(|| PgError::internal(format!("WITH query \"{name}\" not found")))?;
    let copy = query.copy()?;
    if depth > 0 {
        // References that leave the copy (to sibling CTEs) move down with it.
        copy.increment_var_sublevels_up(depth as i32, 1)?;
    }
    rte.inline_cte(copy)
}

/// Inline every WITH query of `q` (our copy) where it is referenced, and drop the WITH list.
pub fn inline_ctes(q: Query) -> PgResult<()> {
    if q.cte_list().is_empty() {
        return Ok(());
    }
    if q.has_recursive() {
        return Err(PgError::unsupported("WITH RECURSIVE"));
    }
    if q.has_modifying_cte() {
        return Err(PgError::unsupported("data-modifying statement in WITH"));
    }
    let mut ctes = Vec::new();
    for cte in q.cte_list() {
        let sub = cte_query(cte)?;
        if !sub.is_select() {
            return Err(PgError::unsupported("data-modifying statement in WITH"));
        }
        if sub.node().contains_volatile_functions()? {
            return Err(PgError::unsupported(
                "volatile function in a WITH query (PostgreSQL evaluates it once)",
            ));
        }
        if sub.node().has_unseeded_sample()? {
            return Err(PgError::unsupported(
                "TABLESAMPLE without REPEATABLE in a WITH query (PostgreSQL samples it once)",
            ));
        }
        ctes.push((cte.ctename(), sub));
    }
    // Every reference, at any depth: a reference `depth` levels down has ctelevelsup = depth.
    q.walk(QTW_EXAMINE_RTES_BEFORE, |node, depth| {
        if let Kind::RangeTblEntry(rte) = node.kind() {
            if rte.rtekind() == RteKind::Cte && rte.ctelevelsup() == depth {
                inline(rte, &ctes, depth)?;
            }
            // query_tree_walker goes on into the (new) subquery itself.
            return Ok(Visit::Skip);
        }
        Ok(Visit::Children)
    })?;
    q.set_cte_list(List::NIL);
    Ok(())
}

/// The query of a WITH entry (a Query after parse analysis).
fn cte_query(cte: CommonTableExpr) -> PgResult<Query> {
    cte.ctequery()
        .and_then(|n| n.as_query())
        .ok_or_else(|| PgError::internal("WITH entry without an analyzed query"))
}
