//! Aggregates PostgreSQL computes above the node: where DataFusion cannot compute a query's
//! aggregates as PostgreSQL does (aggregates with ORDER BY, ordered-set aggregates, `string_agg`
//! of other types, `regr_*`, `corr`, `json_object_agg`, user-defined aggregates, aggregates of
//! types DataFusion sums otherwise), DataFusion computes the rows the grouping reads (FROM,
//! joins, WHERE: [`split`]'s input query) and PostgreSQL's own Agg node groups them and
//! computes every aggregate and the HAVING condition over the node's rows, as its plan does;
//! then the final ORDER BY / DISTINCT / LIMIT as a [`super::FinalSort`]. Every aggregate, its
//! transition and final functions, their errors and the rights PostgreSQL checks for them at the
//! executor's start are then PostgreSQL's.
//!
//! Rules:
//! - The split is PostgreSQL's `make_group_input_target`: the input query's target list holds
//!   the GROUP BY keys whole, then each column the aggregates' arguments, FILTERs, ORDER BYs and
//!   direct arguments and the rest of the select list and HAVING read, once each. The Agg node
//!   evaluates the rest (aggregate arguments row by row, only for rows their FILTER keeps;
//!   expressions over the group keys and aggregates once per group), so its errors and volatile
//!   functions are PostgreSQL's.
//! - Grouping is hashed where PostgreSQL's plan can hash (every key hashable, no aggregate with
//!   ORDER BY or DISTINCT inside), so rows reach each group in the order the node returns them,
//!   as they reach PostgreSQL's hash table; else sorted (a Sort by the GROUP BY keys below an
//!   `AGG_SORTED` Agg); plain without GROUP BY (one row, also over no rows). A key without
//!   ordering and equality operators, grouping sets and `GROUPING()` are refused, and so is
//!   degenerate grouping (HAVING without GROUP BY or aggregates: PostgreSQL's plan reads no
//!   table then).
//! - A built-in aggregate whose result shows its input's order (`array_agg`, `string_agg`,
//!   `json_agg`, `json_object_agg`, `xmlagg`, ...) without ORDER BY or DISTINCT is refused: that
//!   order would be the plan's. A user-defined aggregate receives the rows in the node's order
//!   (PostgreSQL promises no order without ORDER BY; its own plans differ in it too).
//! - A user-defined aggregate with a user-defined combine function is refused: PostgreSQL may
//!   compute it in parallel and combine partial states with that function, an answer one Agg
//!   need not give.
//! - A subquery the Agg node would have to evaluate is refused (only PostgreSQL's planner could
//!   make its plan), as are window functions and set-returning functions in the select list
//!   (computed above the grouping) in the same query.
//! - HAVING terms without aggregates, volatile functions or subqueries move to the input's WHERE
//!   as PostgreSQL's planner moves them (`rewrite::having`), so aggregate arguments meet only the
//!   rows PostgreSQL's do.
//! - Aggregate calls are numbered after the planner's expression folding, as
//!   `preprocess_aggrefs` numbers them: equal calls without volatile arguments share one
//!   aggregate and transition state; each transition type is resolved from the arguments.

use super::above::{entry_expr, resno, FinalSortKey, Inputs};
use super::from::conjuncts;
use super::rewrite;
use super::types::expr_type;
use super::unsupported;
use crate::pg::catalog;
use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{make_bool_const, make_target_entry, make_target_entry_like, Kind, List, Query, Visit};

/// Built-in aggregates whose result shows the order of their input rows: without ORDER BY (or
/// DISTINCT, which sorts) that order is the plan's, so they are refused, as DataFusion's
/// translation refuses them.
const ORDER_SENSITIVE: &[&str] = &[
    "array_agg",
    "string_agg",
    "json_agg",
    "json_agg_strict",
    "jsonb_agg",
    "jsonb_agg_strict",
    "json_object_agg",
    "json_object_agg_strict",
    "json_object_agg_unique",
    "json_object_agg_unique_strict",
    "jsonb_object_agg",
    "jsonb_object_agg_strict",
    "jsonb_object_agg_unique",
    "jsonb_object_agg_unique_strict",
    "xmlagg",
    "any_value",
];

/// The Agg node PostgreSQL runs above the node, with the Sort below it.
pub struct AggSpec {
    /// The GROUP BY keys as columns of the node, with their ordering and equality operators (a
    /// Sort by them below a sorted Agg); empty: a plain Agg (no GROUP BY).
    pub keys: Vec<FinalSortKey>,
    /// Hashed (`AGG_HASHED`, no Sort below), else sorted by `keys` (`AGG_SORTED`).
    pub hashed: bool,
    /// Its target list: the query's, over `OUTER_VAR` columns of the node, its aggregate calls
    /// numbered.
    pub tlist: List,
    /// HAVING, as one condition (NIL: none).
    pub qual: List,
}

/// A query split for PostgreSQL's Agg node: `input` (for DataFusion) and the node above it.
pub struct AggSplit {
    pub input: Query,
    pub agg: AggSpec,
}

/// Splits `query`, which groups or has aggregates, into the rows DataFusion computes and the Agg
/// node PostgreSQL runs above them (module rules).
pub(super) fn split(query: Query) -> PgResult<AggSplit> {
    if query.has_window_funcs() {
        return Err(unsupported("window functions over aggregates PostgreSQL computes"));
    }
    if query.has_target_srfs() {
        return Err(unsupported(
            "set-returning function in the select list of a query whose aggregates PostgreSQL computes",
        ));
    }
    // Degenerate grouping (`SELECT 1 FROM t WHERE ... HAVING ...`): PostgreSQL's plan reads no
    // table at all, so a WHERE that would fail never runs.
    if !query.has_aggs() && query.group_clause().is_empty() {
        return Err(unsupported("HAVING without GROUP BY or aggregates"));
    }
    if !query.grouping_sets().is_empty() {
        return Err(unsupported("grouping sets with aggregates DataFusion cannot compute"));
    }
    // The group keys and HAVING as expressions of the FROM items (18: not the grouping step's
    // columns).
    let query = query.for_translation()?;
    // HAVING's terms on the rows move to WHERE, as PostgreSQL's planner moves them.
    rewrite::having::move_to_where(query)?;
    let tles = query.target_list();
    let mut inputs = Inputs::default();
    inputs.aggregates_above = true;
    let mut whole = vec![None; tles.len()];
    let mut keys = Vec::new();
    let mut hashable = true;
    for sgc in query.group_clause() {
        hashable &= sgc.hashable();
        let tle = query.sort_group_tle(sgc)?;
        let e = entry_expr(tle)?;
        if e.contains_volatile_functions()? {
            // Computed once per row either way, but matched whole elsewhere: not a volatile one.
            return Err(unsupported("volatile GROUP BY key with aggregates DataFusion cannot compute"));
        }
        if sgc.sortop() == 0 || sgc.eqop() == 0 {
            return Err(unsupported("GROUP BY key without ordering and equality operators"));
        }
        let i = usize::try_from(tle.resno() - 1).map_err(|_| PgError::internal("GROUP BY entry number"))?;
        let col = match whole.get(i).copied().flatten() {
            Some(col) => col,
            None => {
                let col = inputs.add_entry(e, tle)?;
                if let Some(last) = inputs.entries.last() {
                    last.set_ressortgroupref(0);
                }
                if let Some(w) = whole.get_mut(i) {
                    *w = Some(col);
                }
                col
            }
        };
        keys.push(FinalSortKey {
            resno: resno(col)?,
            sortop: sgc.sortop(),
            eqop: sgc.eqop(),
            collation: expr_type(e)?.2,
            nulls_first: sgc.nulls_first(),
        });
    }
    let mut entries = Vec::with_capacity(tles.len());
    for (tle, w) in tles.iter().zip(&whole) {
        let e = match w {
            Some(col) => inputs.outer_var(*col)?,
            None => inputs.lift(entry_expr(*tle)?, "aggregates")?,
        };
        entries.push(make_target_entry_like(e, *tle)?);
    }
    let having = match query.having_qual() {
        Some(h) => conjuncts(Some(h))
            .into_iter()
            .map(|t| inputs.lift(t, "aggregates"))
            .collect::<PgResult<Vec<_>>>()?,
        None => Vec::new(),
    };
    // The Agg reads no column (`count(*)` alone): the input returns one constant per row.
    if inputs.entries.is_empty() {
        inputs.entries.push(make_target_entry(make_bool_const(true, false)?, 1)?);
    }
    // Checked here; numbered again after the planner's folding (`pg::scan_node::agg`), which
    // can drop a call (`COALESCE(1, max(x))`).
    let mut n = 0;
    let mut ordered = false;
    for e in entries.iter().map(|t| entry_expr(*t)).chain(having.iter().map(|h| Ok(*h))) {
        e?.walk(|node, _| {
            if let Kind::Aggref(a) = node.kind() {
                let combinefn = a.number_for_agg_node(n)?;
                n += 1;
                // PostgreSQL may compute such an aggregate in parallel, combining partial
                // states with the user's function: an answer a single Agg need not give.
                if combinefn != 0 && !catalog::is_builtin(combinefn) {
                    return Err(unsupported(
                        "user-defined aggregate with a user-defined combine function (PostgreSQL may combine partial results in parallel)",
                    ));
                }
                let sorted = !a.aggorder().is_empty() || !a.aggdistinct().is_empty();
                if !sorted && catalog::is_builtin(a.aggfnoid()) {
                    let name = catalog::func_name(a.aggfnoid())?;
                    if ORDER_SENSITIVE.contains(&name.as_str()) {
                        return Err(unsupported(format!(
                            "{name} without ORDER BY (its order would be the plan's)"
                        )));
                    }
                }
                ordered |= sorted;
                // Aggregates do not nest at one level (the parser's rule).
                return Ok(Visit::Skip);
            }
            Ok(Visit::Children)
        })?;
    }
    let input = query.copy()?;
    input.set_target_list(List::of(inputs.entries)?);
    input.set_group_clause(List::NIL);
    input.set_having_qual(None);
    input.set_has_aggs(false);
    input.clear_order_and_limit();
    input.set_distinct_clause(List::NIL);
    // Hashed as PostgreSQL's plan would be where it can (rows reach each group in the node's
    // order, as they reach PostgreSQL's hash table in its scan's), sorted otherwise: PostgreSQL
    // hashes no aggregate with ORDER BY or DISTINCT inside (nor an ordered-set one).
    let hashed = !keys.is_empty() && !ordered && hashable;
    Ok(AggSplit { input, agg: AggSpec { keys, hashed, tlist: List::of(entries)?, qual: List::of(having)? } })
}
