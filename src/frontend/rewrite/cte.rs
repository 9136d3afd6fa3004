//! WITH queries inlined as subqueries in FROM, as PostgreSQL's planner does for a CTE it does not
//! materialize (`inline_cte`): every reference becomes a subquery RTE holding a copy of the
//! CTE's query, at any depth (subqueries in FROM and in expressions), so pull-up and query blocks
//! treat it like any subquery.
//!
//! Rules:
//! - Works on the caller's copy of the Query.
//! - Only what inlining cannot change: a plain SELECT without volatile functions (a volatile CTE
//!   is evaluated once in PostgreSQL however often it is referenced). A statement with a
//!   data-modifying WITH is a write, never a candidate (see `hooks::candidate`), refused here
//!   should one reach translation.
//! - A recursive WITH query (`WITH RECURSIVE r AS (... UNION ALL ... FROM r ...)`) is not
//!   inlined: each reference becomes a subquery `WITH RECURSIVE <the WITH list> SELECT * FROM r`,
//!   which PostgreSQL plans and runs on its own as a leaf (`frontend::select`), the recursion
//!   being PostgreSQL's. Every reference is the same tree: the leaves share one scan, so r is
//!   computed once, as PostgreSQL computes it.
//! - A reference `levelsup` query levels down gets the copy with its outer references (to sibling
//!   CTEs) shifted by `levelsup`, as `IncrementVarSublevelsUp` does for PostgreSQL.

use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{
    CommonTableExpr, Kind, List, Query, RangeTblEntry, RteKind, Visit, QTW_EXAMINE_RTES_BEFORE,
};

/// Turn one CTE reference into a subquery RTE over a copy of the CTE's query: `rte` is an
/// RTE_CTE of the tree being walked, `depth` query levels below the top query, referring to
/// the top query's WITH list `ctes` (each with whether PostgreSQL materializes it). The copy of
/// a materialized one joins `whole`.
fn inline(
    rte: RangeTblEntry,
    ctes: &[(Vec<u8>, Query, bool)],
    depth: u32,
    whole: &mut Vec<Query>,
) -> PgResult<()> {
    let name = rte.ctename();
    let (query, materialized) =
        ctes.iter().find(|(n, _, _)| *n == name).map(|(_, q, m)| (*q, *m)).ok_or_else(|| {
            PgError::internal(format!("WITH query \"{}\" not found", String::from_utf8_lossy(&name)))
        })?;
    let copy = query.copy()?;
    if depth > 0 {
        // References that leave the copy (to sibling CTEs) move down with it.
        copy.increment_var_sublevels_up(depth as i32, 1)?;
    }
    if materialized {
        whole.push(copy);
    }
    rte.inline_cte(copy)
}

/// Inline every WITH query of `q` (our copy) where it is referenced, and drop the WITH list.
/// Returns the copies of the WITH queries PostgreSQL materializes: those compute every column
/// whichever its reference reads (PostgreSQL computes them once, whole), so equal copies stay
/// equal and are computed once (`plan::share`, `Bindings::access`).
pub fn inline_ctes(q: Query) -> PgResult<Vec<Query>> {
    let mut whole = Vec::new();
    if q.cte_list().is_empty() {
        return Ok(whole);
    }
    if q.has_modifying_cte() {
        return Err(PgError::unsupported("data-modifying statement in WITH"));
    }
    let all = q.cte_list();
    let mut ctes = Vec::new();
    let mut recursive = Vec::new();
    for &cte in &all {
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
        if cte.cterecursive() {
            recursive.push(cte.ctename());
        } else {
            ctes.push((cte.ctename(), sub, cte.materialized()));
        }
    }
    // The WITH list leaves the query first: the walk must not rewrite the entries' own queries
    // (a copy of an entry is walked where it is inlined, and a recursive one's new subquery
    // copies them as they are).
    q.set_cte_list(List::NIL);
    // Every reference, at any depth: a reference `depth` levels down has ctelevelsup = depth.
    // (A recursive one's new subquery refers to its own WITH list: never at the walk's depth.)
    q.walk(QTW_EXAMINE_RTES_BEFORE, |node, depth| {
        if let Kind::RangeTblEntry(rte) = node.kind() {
            if rte.rtekind() == RteKind::Cte && rte.ctelevelsup() == depth {
                if recursive.contains(&rte.ctename()) {
                    rte.inline_cte(recursive_scan(rte, &all)?)?;
                } else {
                    inline(rte, &ctes, depth, &mut whole)?;
                }
            }
            // query_tree_walker goes on into the (new) subquery itself.
            return Ok(Visit::Skip);
        }
        Ok(Visit::Children)
    })?;
    Ok(whole)
}

/// `WITH RECURSIVE <ctes> SELECT * FROM <rte>`, the reference counts of its WITH list those of
/// the new query (the planner skips an entry nothing reads and inlines one read once).
fn recursive_scan(rte: RangeTblEntry, ctes: &[CommonTableExpr]) -> PgResult<Query> {
    let q = rte.cte_scan_query(ctes, true)?;
    let mut counts = vec![0; ctes.len()];
    let names: Vec<Vec<u8>> = q.cte_list().into_iter().map(|c| c.ctename()).collect();
    q.walk(QTW_EXAMINE_RTES_BEFORE, |node, depth| {
        if let Kind::RangeTblEntry(r) = node.kind() {
            if r.rtekind() == RteKind::Cte && r.ctelevelsup() == depth && !r.self_reference() {
                if let Some(i) = names.iter().position(|n| *n == r.ctename()) {
                    counts[i] += 1;
                }
            }
        }
        Ok(Visit::Children)
    })?;
    for (c, n) in q.cte_list().into_iter().zip(counts) {
        c.set_cterefcount(n);
    }
    Ok(q)
}

/// Does `q` read anything of the queries around it: their columns, or their WITH queries?
/// (A subquery PostgreSQL runs on its own as a leaf must not.)
pub fn refers_outside(q: Query) -> PgResult<bool> {
    if q.node().contains_outer_vars()? {
        return Ok(true);
    }
    let mut outside = false;
    q.walk(QTW_EXAMINE_RTES_BEFORE, |node, depth| {
        if let Kind::RangeTblEntry(r) = node.kind() {
            if r.rtekind() == RteKind::Cte && r.ctelevelsup() > depth {
                outside = true;
            }
        }
        Ok(Visit::Children)
    })?;
    Ok(outside)
}

/// Does `q`, or any query inside it, lock rows (`FOR UPDATE/SHARE`)?
pub fn locks_rows(q: Query) -> PgResult<bool> {
    let locks = |q: Query| q.has_for_update() || !q.row_marks().is_empty();
    let mut found = locks(q);
    q.walk(0, |node, _| {
        if let Kind::Query(s) = node.kind() {
            found |= locks(s);
        }
        Ok(Visit::Children)
    })?;
    Ok(found)
}

/// The query of a WITH entry (a Query after parse analysis).
fn cte_query(cte: CommonTableExpr) -> PgResult<Query> {
    cte.ctequery()
        .and_then(|n| n.as_query())
        .ok_or_else(|| PgError::internal("WITH entry without an analyzed query"))
}
