//! Window functions PostgreSQL computes above the node: where DataFusion cannot compute a
//! query's window functions as PostgreSQL does (frames with EXCLUDE, RANGE offsets over other
//! types, GROUPS with offsets, `lag` and `ntile` with arguments that vary, user-defined window
//! functions, FILTER, window ORDER BY under a collation DataFusion does not order by),
//! DataFusion computes the query's rows up to its HAVING ([`split`]'s input query) and
//! PostgreSQL's own Sort and WindowAgg nodes compute the windows over the node's rows, then the
//! final ORDER BY / LIMIT as a [`super::FinalSort`]. Every window function, frame and error is
//! then PostgreSQL's, with the rights PostgreSQL checks at the executor's start.
//!
//! Rules:
//! - The split is PostgreSQL's `make_window_input_target`: the input query's target list holds
//!   the select-list entries that are window PARTITION BY / ORDER BY keys or GROUP BY keys,
//!   whole, then the columns the window nodes read: each column, aggregate and `GROUPING()` the
//!   other entries mention (inside window functions' arguments and FILTER too), once each
//!   (volatile aggregates each time they occur). Everything else in the select list (operators,
//!   CASE, casts, the window functions' arguments) is evaluated by the window nodes, row by row
//!   after sorting and only where PostgreSQL evaluates it (a CASE branch, a FILTERed argument,
//!   a `lag` default), so its errors and volatile functions are PostgreSQL's.
//! - Except that an entry without window functions or volatile functions is computed whole by
//!   the input query (DataFusion, or PostgreSQL's projection on the node), as every row passes
//!   through the windows: it is evaluated once per row either way.
//! - A subquery (SubLink) the window nodes would have to evaluate is refused: only PostgreSQL's
//!   planner could make its plan.
//! - One WindowAgg per window clause a window function uses, in `winref` order, bottom first.
//!   Each passes its child's columns through and appends its own functions' results; the top
//!   one computes the query's target list (entry numbers, names and junk flags kept, so the
//!   FinalSort's keys and the executor's junk filter find their entries). A Sort by the
//!   clause's PARTITION BY then ORDER BY keys runs below each, unless the rows already come in
//!   that order (the previous Sort's keys begin with these) or there are no keys.
//! - Frame offsets must be constants or the statement's parameters (PostgreSQL's executor
//!   checks their values: a negative offset is its own error); a subquery as an offset is
//!   refused.
//! - Not with a set-returning function in the select list (PostgreSQL expands it above the
//!   windows) or a plain DISTINCT (applied after them): refused.

use super::above::{entry_expr, resno, FinalSortKey, Inputs};
use super::types::{expr_type, Oid};
use super::unsupported;
use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{
    self as n, make_outer_var, make_target_entry, make_target_entry_like, Kind, List, Node, Query, Visit,
    WindowClause,
};

/// One WindowAgg node PostgreSQL runs above the node, with the Sort below it.
pub struct WindowAggSpec {
    /// The window clause it computes (the analyzed query's; frame options and offsets,
    /// `RANGE` support functions and name are read from it).
    pub clause: WindowClause,
    /// The Sort below the node (empty: none), over the child's columns.
    pub sort: Vec<FinalSortKey>,
    /// PARTITION BY and ORDER BY keys, as the child's column numbers with equality operators.
    pub partition: Vec<FinalSortKey>,
    pub order: Vec<FinalSortKey>,
    /// The node's target list: `OUTER_VAR` columns of its child and its window functions.
    pub tlist: List,
}

/// A query split for PostgreSQL's window nodes: `input` (for DataFusion) and the nodes above
/// it, bottom first.
pub struct WindowSplit {
    pub input: Query,
    pub windows: Vec<WindowAggSpec>,
}

/// Splits `query`, which has window functions, into the rows DataFusion computes and the
/// WindowAgg nodes PostgreSQL runs above them (module rules).
pub(super) fn split(query: Query) -> PgResult<WindowSplit> {
    if query.has_target_srfs() {
        return Err(unsupported(
            "set-returning function in the select list of a query with window functions PostgreSQL computes",
        ));
    }
    if !query.distinct_clause().is_empty() && !query.has_distinct_on() {
        return Err(unsupported("DISTINCT over window functions PostgreSQL computes"));
    }
    let tles = query.target_list();
    let clauses = query.window_clause();
    // The sort/group references of window keys and GROUP BY keys: those entries go whole.
    let mut key_refs: Vec<u32> = query.group_clause().iter().map(|c| c.tle_sort_group_ref()).collect();
    for c in &clauses {
        key_refs.extend(c.partition_clause().iter().chain(&c.order_clause()).map(|k| k.tle_sort_group_ref()));
    }
    let mut inputs = Inputs::default();
    let whole = inputs.add_whole_entries(
        &tles,
        &key_refs,
        |e| e.contains_window_function(),
        || PgError::internal("window or group key with a window function"),
    )?;
    // The rest, computed by the window nodes over the columns they mention.
    let mut exprs = Vec::with_capacity(tles.len());
    for (tle, w) in tles.iter().zip(&whole) {
        exprs.push(match w {
            Some(col) => inputs.outer_var(*col)?,
            None => inputs.lift(entry_expr(*tle)?, "window functions")?,
        });
    }
    // The window functions, each once, by clause.
    let mut funcs: Vec<(u32, Node)> = Vec::new();
    for e in &exprs {
        e.walk(|node, _| {
            if let Kind::WindowFunc(w) = node.kind() {
                if !funcs.iter().try_fold(false, |seen, (_, f)| Ok::<_, PgError>(seen || f.equal(node)?))? {
                    funcs.push((w.winref(), node));
                }
                return Ok(Visit::Skip);
            }
            Ok(Visit::Children)
        })?;
    }
    let mut winrefs: Vec<u32> = funcs.iter().map(|(r, _)| *r).collect();
    winrefs.sort_unstable();
    winrefs.dedup();
    let mut windows = Vec::with_capacity(winrefs.len());
    // The child's columns: the input's, then each lower node's functions.
    let mut columns: Vec<(Oid, i32, Oid)> = inputs.types.clone();
    let mut done: Vec<(Node, usize)> = Vec::new();
    let mut last_sort: Vec<FinalSortKey> = Vec::new();
    for (i, &winref) in winrefs.iter().enumerate() {
        let clause = clauses
            .iter()
            .copied()
            .find(|c| c.winref() == winref)
            .ok_or_else(|| PgError::internal("window clause of a window function"))?;
        offset_plain(clause.start_offset())?;
        offset_plain(clause.end_offset())?;
        let partition = keys(query, &whole, clause.partition_clause(), "PARTITION BY")?;
        let order = keys(query, &whole, clause.order_clause(), "window ORDER BY")?;
        let wanted: Vec<FinalSortKey> = partition.iter().chain(&order).cloned().collect();
        let sort = if sorted_by(&last_sort, &wanted) { Vec::new() } else { wanted.clone() };
        if !sort.is_empty() {
            last_sort = sort.clone();
        }
        let own: Vec<Node> = funcs.iter().filter(|(r, _)| *r == winref).map(|(_, f)| *f).collect();
        let tlist = if i + 1 < winrefs.len() {
            // Pass the child's columns through, then this clause's functions.
            let mut entries = Vec::with_capacity(columns.len() + own.len());
            for (c, &(typid, typmod, coll)) in columns.iter().enumerate() {
                entries.push(make_target_entry(make_outer_var(c + 1, typid, typmod, coll)?, resno(c + 1)?)?);
            }
            for f in &own {
                let at = columns.len();
                entries.push(make_target_entry(*f, resno(at + 1)?)?);
                columns.push(expr_type(*f)?);
                done.push((*f, at + 1));
            }
            List::of(entries)?
        } else {
            // The query's target list, lower nodes' functions read from the child.
            let mut entries = Vec::with_capacity(tles.len());
            for (tle, e) in tles.iter().zip(&exprs) {
                let e = e.mutate(|node| {
                    if !matches!(node.kind(), Kind::WindowFunc(_)) {
                        return Ok(None);
                    }
                    for (f, col) in &done {
                        if f.equal(node)? {
                            let (typid, typmod, coll) = expr_type(node)?;
                            return Ok(Some(make_outer_var(*col, typid, typmod, coll)?));
                        }
                    }
                    Ok(Some(node))
                })?;
                entries.push(make_target_entry_like(e, *tle)?);
            }
            List::of(entries)?
        };
        windows.push(WindowAggSpec { clause, sort, partition, order, tlist });
    }
    let input = query.copy()?;
    input.set_target_list(List::of(inputs.entries)?);
    input.set_window_clause(List::NIL);
    input.set_has_window_funcs(false);
    input.clear_order_and_limit();
    input.set_distinct_clause(List::NIL);
    Ok(WindowSplit { input, windows })
}

/// The window clause's keys as columns of the input (entries without window functions, whole).
fn keys(
    query: Query,
    whole: &[Option<usize>],
    clauses: Vec<n::SortGroupClause>,
    what: &str,
) -> PgResult<Vec<FinalSortKey>> {
    let mut out = Vec::with_capacity(clauses.len());
    for sgc in clauses {
        let tle = query.sort_group_tle(sgc)?;
        let col = usize::try_from(tle.resno())
            .ok()
            .and_then(|r| r.checked_sub(1))
            .and_then(|i| whole.get(i).copied().flatten())
            .ok_or_else(|| PgError::internal("window key entry with a window function"))?;
        if sgc.sortop() == 0 || sgc.eqop() == 0 {
            return Err(unsupported(format!("{what} without ordering and equality operators")));
        }
        out.push(FinalSortKey {
            resno: resno(col)?,
            sortop: sgc.sortop(),
            eqop: sgc.eqop(),
            collation: expr_type(entry_expr(tle)?)?.2,
            nulls_first: sgc.nulls_first(),
        });
    }
    Ok(out)
}

/// Whether rows sorted by `done` are sorted by `wanted` (its keys begin `done`'s).
fn sorted_by(done: &[FinalSortKey], wanted: &[FinalSortKey]) -> bool {
    wanted.len() <= done.len()
        && wanted.iter().zip(done).all(|(w, d)| {
            w.resno == d.resno
                && w.sortop == d.sortop
                && w.collation == d.collation
                && w.nulls_first == d.nulls_first
        })
}

/// A frame offset the WindowAgg can evaluate at its start: no subquery, no column.
fn offset_plain(offset: Option<Node>) -> PgResult<()> {
    let Some(offset) = offset else { return Ok(()) };
    let mut plain = true;
    offset.walk(|node, _| {
        plain &= match node.kind() {
            Kind::SubLink(_) | Kind::Var(_) | Kind::Aggref(_) | Kind::WindowFunc(_) => false,
            Kind::Param(p) => p.is_extern(),
            _ => true,
        };
        Ok(Visit::Children)
    })?;
    if !plain {
        return Err(unsupported("window frame offset that is not a constant or a parameter"));
    }
    Ok(())
}
