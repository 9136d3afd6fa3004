//! Set-returning functions in the select list PostgreSQL expands above the node: where the
//! scan leaf cannot expand them (a query over several relations: PostgreSQL expands the joined
//! rows; with aggregates or GROUP BY: it expands the groups), DataFusion computes the query's
//! rows without them ([`split`]'s input query) and PostgreSQL's own ProjectSet node expands
//! them over the node's rows, as PostgreSQL's plan does (several in lockstep, the shorter ones
//! padded with NULLs). The query's ORDER BY is PostgreSQL's Sort below the ProjectSet when no
//! key is a set-returning function's result (PostgreSQL sorts, then expands), above it when one
//! is.
//!
//! Rules:
//! - Each set-returning function is a select-list entry of its own (`SELECT g, unnest(a)`),
//!   its arguments free of others; one inside an expression (`unnest(a) + 1`, which PostgreSQL
//!   computes in a projection above the ProjectSet) is refused, as is one in GROUP BY, ORDER BY
//!   beside a LIMIT, or a plain DISTINCT (applied after the expansion). Not with window
//!   functions.
//! - The input query holds GROUP BY keys and (when the Sort runs below) ORDER BY keys whole,
//!   every entry without a set-returning or volatile function whole, and the columns,
//!   aggregates and `GROUPING()` the others read (as `window_agg`); the ProjectSet evaluates
//!   the rest for each row it returns, as PostgreSQL's does (a volatile function once per
//!   returned row).

use super::above::{entry_expr, FinalSortKey, Inputs};
use super::types::expr_type;
use super::unsupported;
use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{make_target_entry_like, Kind, List, Node, Query};

/// The ProjectSet PostgreSQL runs above the node, with the query's ORDER BY below it.
pub struct ProjectSetSpec {
    /// Its target list: the query's, over `OUTER_VAR` columns of the node.
    pub tlist: List,
    /// The query's ORDER BY as a Sort below it, over the node's columns (empty: none there).
    pub sort_below: Vec<FinalSortKey>,
}

/// A query split for PostgreSQL's ProjectSet: `input` (for DataFusion) and the node above it;
/// `sort_above`: the query's ORDER BY runs above the ProjectSet (a key is a set-returning
/// function's result).
pub struct SrfSplit {
    pub input: Query,
    pub project_set: ProjectSetSpec,
    pub sort_above: bool,
}

/// Splits `query`, which has set-returning functions in its select list, into the rows
/// DataFusion computes and the ProjectSet PostgreSQL runs above them (module rules).
pub(super) fn split(query: Query) -> PgResult<SrfSplit> {
    if query.has_window_funcs() {
        return Err(unsupported(
            "set-returning function in the select list of a query with window functions",
        ));
    }
    if !query.distinct_clause().is_empty() {
        return Err(unsupported("DISTINCT over set-returning functions in the select list"));
    }
    // A set-returning function in GROUP BY runs before the grouping, below the node: refused.
    // (On 18 the entry reads the grouping step's column, so its expression is looked at in a
    // copy with the grouping step undone.)
    let group_refs: Vec<u32> = query.group_clause().iter().map(|c| c.tle_sort_group_ref()).collect();
    for tle in query.for_translation()?.target_list() {
        if tle.ressortgroupref() != 0
            && group_refs.contains(&tle.ressortgroupref())
            && entry_expr(tle)?.returns_set()?
        {
            return Err(unsupported("set-returning function in GROUP BY"));
        }
    }
    let tles = query.target_list();
    let sort = query.sort_clause();
    let sort_refs: Vec<u32> = sort.iter().map(|c| c.tle_sort_group_ref()).collect();
    let mut sort_above = false;
    for tle in &tles {
        if sort_refs.contains(&tle.ressortgroupref()) && tle.ressortgroupref() != 0 {
            sort_above |= entry_expr(*tle)?.returns_set()?;
        }
    }
    let mut key_refs: Vec<u32> = query.group_clause().iter().map(|c| c.tle_sort_group_ref()).collect();
    if !sort_above {
        key_refs.extend(&sort_refs);
    }
    let mut inputs = Inputs::default();
    let whole = inputs.add_whole_entries(
        &tles,
        &key_refs,
        |e| e.returns_set(),
        || unsupported("set-returning function in GROUP BY"),
    )?;
    let mut entries = Vec::with_capacity(tles.len());
    for (tle, w) in tles.iter().zip(&whole) {
        let e = entry_expr(*tle)?;
        let lifted = match w {
            Some(col) => inputs.outer_var(*col)?,
            None => {
                if e.returns_set()? {
                    for a in srf_call(e)? {
                        if a.returns_set()? {
                            return Err(unsupported("set-returning function in the arguments of another"));
                        }
                    }
                }
                inputs.lift(e, "set-returning functions")?
            }
        };
        entries.push(make_target_entry_like(lifted, *tle)?);
    }
    let mut sort_below = Vec::new();
    if !sort_above {
        for sgc in sort {
            let tle = query.sort_group_tle(sgc)?;
            let col = usize::try_from(tle.resno())
                .ok()
                .and_then(|r| r.checked_sub(1))
                .and_then(|i| whole.get(i).copied().flatten())
                .ok_or_else(|| PgError::internal("ORDER BY entry not computed by the input"))?;
            if sgc.sortop() == 0 {
                return Err(unsupported("ORDER BY without an ordering operator"));
            }
            sort_below.push(FinalSortKey {
                resno: super::above::resno(col)?,
                sortop: sgc.sortop(),
                eqop: sgc.eqop(),
                collation: expr_type(entry_expr(tle)?)?.2,
                nulls_first: sgc.nulls_first(),
            });
        }
    }
    let input = query.copy()?;
    input.set_target_list(List::of(inputs.entries)?);
    input.set_has_target_srfs(false);
    input.clear_order_and_limit();
    Ok(SrfSplit { input, project_set: ProjectSetSpec { tlist: List::of(entries)?, sort_below }, sort_above })
}

/// A select-list entry that returns a set as a call of a set-returning function itself: its
/// arguments; anything else around one is refused.
fn srf_call(e: Node) -> PgResult<Vec<Node>> {
    match e.kind() {
        Kind::FuncExpr(f) if f.funcretset() => Ok(f.args()),
        _ => Err(unsupported(
            "set-returning function inside an expression in the select list (PostgreSQL computes it above the expansion)",
        )),
    }
}
