//! The translation of a query: its blocks (the whole query, its subqueries in FROM, its set
//! operations' arms), each on our rewritten copy ([`prepare`]), then sharing across blocks.

use super::above::{FinalSort, FinalSortKey};
use super::group_agg::{self, AggSpec};
use super::project_set::{self, ProjectSetSpec};
use super::rewrite;
use super::select;
use super::types::Oid;
use super::window_agg::{self, WindowAggSpec};
use crate::pg::catalog;
use crate::pg::error::{PgError, PgResult, SqlState};
use crate::pg::leaf::Bindings;
use crate::pg::node::{Kind, List, Node, Query, Visit};
use crate::plan::spec::PlanSpec;

pub struct Translated {
    pub spec: PlanSpec,
    pub tlist: List,
    pub qual: List,
    pub scan_tlist: List,
    /// The translated top query's range table: the query's, with pulled-up subqueries' entries
    /// appended. The node's expressions refer to it.
    pub rtable: List,
    /// The permission infos `rtable`'s entries refer to (16 and later; NIL on 15).
    pub perminfos: List,
    /// The range-table index of each leaf of the query (scans and subqueries in FROM).
    pub rtindexes: Vec<i32>,
    /// PostgreSQL types of each leaf's scan columns (type oid, typmod), checked against the
    /// leaf's plan.
    pub scan_pg_types: Vec<Vec<(Oid, i32)>>,
    /// The bound trees the leaves' expression and access indexes refer to.
    pub bindings: Bindings,
    /// The query's grouping and aggregates when PostgreSQL computes them above the node, under
    /// the final sort.
    pub agg: Option<AggSpec>,
    /// The query's window functions when PostgreSQL computes them above the node (bottom
    /// first; empty: none), under the final sort.
    pub windows: Vec<WindowAggSpec>,
    /// The query's set-returning functions when PostgreSQL expands them above the node (and
    /// the window nodes: not both), under the final sort.
    pub project_set: Option<ProjectSetSpec>,
    /// The query's ORDER BY and LIMIT when PostgreSQL does them above the node.
    pub final_sort: Option<FinalSort>,
}

/// PostgreSQL expands a select list's set-returning functions after sorting, only as far as the
/// LIMIT reads; a leaf expands every row first.
pub(super) fn srf_under_limit() -> PgError {
    unsupported("set-returning function in the select list of a query with LIMIT, OFFSET or DISTINCT ON (PostgreSQL expands only the rows they keep)")
}

pub(super) fn unsupported(what: impl std::fmt::Display) -> PgError {
    PgError::unsupported(what)
}

/// One query block translated: the whole query, or a subquery in FROM.
pub(super) struct Block {
    pub(super) spec: PlanSpec,
    pub(super) tlist: List,
    pub(super) qual: List,
    pub(super) scan_tlist: List,
    /// The block's query after WITH inlining and pull-up (our copy).
    pub(super) query: Query,
    /// Range-table indexes of its leaves.
    pub(super) rtindexes: Vec<i32>,
    /// PostgreSQL types of the scan columns, in `PlanSpec::all_scans` order.
    pub(super) pg_types: Vec<Vec<(Oid, i32)>>,
}

/// Translate `query`, which the caller found eligible (a top-level SELECT over user tables).
/// Where DataFusion cannot do its ORDER BY (or LIMIT) as PostgreSQL does, PostgreSQL does them
/// above the node ([`FinalSort`]) and DataFusion the rest; a query refused for another reason is
/// refused with the first reason.
pub fn translate(query: Query) -> PgResult<Translated> {
    let ordered = !query.sort_clause().is_empty()
        || query.limit_count().is_some()
        || query.limit_offset().is_some()
        || query.has_distinct_on();
    if ordered {
        postponed_outputs(query)?;
    }
    let declined = |e: &PgError| e.sqlstate() == SqlState::FEATURE_NOT_SUPPORTED && !e.is_caught();
    let e = match translate_with(query, Above::default()) {
        Err(e) if declined(&e) => e,
        r => return r,
    };
    let sort = |needed: bool| if needed { final_sort(query, false).map(Some) } else { Ok(None) };
    // The other splits of the query, tried in order: the first that translates, or a caught
    // error, is the answer; if all are declined, the first reason is reported.
    type Split<'a> = Box<dyn Fn() -> PgResult<Translated> + 'a>;
    let mut splits: Vec<Split> = Vec::new();
    // PostgreSQL's ORDER BY / LIMIT above the node.
    if ordered {
        splits.push(Box::new(|| {
            translate_with(query, Above { final_sort: Some(final_sort(query, false)?), ..Above::default() })
        }));
    }
    // PostgreSQL's window functions (and ORDER BY / LIMIT) above the node.
    if query.has_window_funcs() {
        splits.push(Box::new(|| {
            let split = window_agg::split(query)?;
            let above = Above { final_sort: sort(ordered)?, windows: split.windows, ..Above::default() };
            translate_with(split.input, above)
        }));
    }
    // PostgreSQL's expansion of the select list's set-returning functions above the node.
    if query.has_target_srfs() {
        splits.push(Box::new(|| {
            let split = project_set::split(query)?;
            let above = Above {
                final_sort: sort(split.sort_above)?,
                project_set: Some(split.project_set),
                ..Above::default()
            };
            translate_with(split.input, above)
        }));
    }
    // PostgreSQL's grouping and aggregates (and ORDER BY / DISTINCT / LIMIT) above the node.
    if query.has_aggs() || !query.group_clause().is_empty() || query.having_qual().is_some() {
        splits.push(Box::new(|| {
            let distinct = !query.distinct_clause().is_empty() && !query.has_distinct_on();
            let split = group_agg::split(query)?;
            let final_sort = if ordered || distinct { Some(final_sort(query, distinct)?) } else { None };
            translate_with(split.input, Above { final_sort, agg: Some(split.agg), ..Above::default() })
        }));
    }
    for split in splits {
        match split() {
            Err(f) if declined(&f) => {}
            Err(f) if f.is_caught() => return Err(f),
            Err(_) => return Err(e),
            ok => return ok,
        }
    }
    Err(e)
}

/// PostgreSQL evaluates the select list of an ordered or limited query after sorting and
/// limiting where it can (`make_sort_input_target`): volatile expressions always, expensive ones
/// (user functions) under LIMIT, except sort and group keys. pg_fusion computes the select list
/// before its sort and limit, for every row: such an expression would run in another order, or on
/// rows the LIMIT drops (a `nextval` numbered otherwise, an error PostgreSQL never raises), so it
/// is refused. Aggregate and window arguments are computed before sorting in both.
fn postponed_outputs(query: Query) -> PgResult<()> {
    let limited = query.limit_count().is_some() || query.limit_offset().is_some();
    if query.has_target_srfs() && (limited || query.has_distinct_on()) {
        return Err(srf_under_limit());
    }
    for tle in query.target_list() {
        if tle.ressortgroupref() != 0 {
            continue;
        }
        let Some(e) = tle.expr() else { continue };
        let (mut volatile, mut user) = (false, false);
        e.walk(|n, _| {
            match n.kind() {
                Kind::Aggref(_) | Kind::WindowFunc(_) => return Ok(Visit::Skip),
                Kind::FuncExpr(f) => {
                    volatile |= catalog::function_is_volatile(f.funcid())?;
                    user |= !catalog::is_builtin(f.funcid());
                }
                Kind::OpExpr(o) => {
                    volatile |= catalog::operator_is_volatile(o.opno())?;
                    user |= !catalog::is_builtin(o.opno());
                }
                Kind::ScalarArrayOpExpr(o) => user |= !catalog::is_builtin(o.opno()),
                // A scalar subquery can fail (21000: more than one row) unless it is a plain
                // aggregate, one row always; EXISTS, IN and ANY cannot.
                Kind::SubLink(l) => {
                    user |= l.sub_link_type() == crate::pg::node::SubLinkType::Expr
                        && !l.query().is_some_and(|q| {
                            q.has_aggs()
                                && q.group_clause().is_empty()
                                && q.grouping_sets().is_empty()
                                && q.having_qual().is_none()
                                && q.set_operations().is_none()
                                && !q.has_target_srfs()
                        });
                }
                _ => {}
            }
            Ok(Visit::Children)
        })?;
        if volatile {
            return Err(unsupported(
                "a volatile function in the select list of a query with ORDER BY or LIMIT (PostgreSQL evaluates it on the sorted rows)",
            ));
        }
        if user && limited {
            return Err(unsupported(
                "a user-defined function or a scalar subquery that can fail in the select list of a query with LIMIT (PostgreSQL evaluates it only on the rows returned)",
            ));
        }
    }
    Ok(())
}

/// The query's ORDER BY, DISTINCT ON, OFFSET and LIMIT for PostgreSQL to do above the node;
/// `distinct`: its plain DISTINCT too (as DISTINCT ON every DISTINCT key).
fn final_sort(query: Query, distinct: bool) -> PgResult<FinalSort> {
    let keys_of = |clauses: Vec<crate::pg::node::SortGroupClause>,
                   what: &str|
     -> PgResult<Vec<FinalSortKey>> {
        let mut keys = Vec::new();
        for sgc in clauses {
            let tle = query.sort_group_tle(sgc)?;
            let expr = tle.expr().ok_or_else(|| PgError::internal("target entry without an expression"))?;
            if sgc.sortop() == 0 || sgc.eqop() == 0 {
                return Err(unsupported(format!("{what} without ordering and equality operators")));
            }
            keys.push(FinalSortKey {
                resno: tle.resno(),
                sortop: sgc.sortop(),
                eqop: sgc.eqop(),
                collation: super::types::expr_type(expr)?.2,
                nulls_first: sgc.nulls_first(),
            });
        }
        Ok(keys)
    };
    let order = query.sort_clause();
    let mut keys = keys_of(order.clone(), "ORDER BY")?;
    // WITH TIES: rows equal to the last one on every ORDER BY key.
    let ties = if query.limit_with_ties() {
        if keys.is_empty() {
            return Err(unsupported("WITH TIES without ORDER BY"));
        }
        keys.clone()
    } else {
        Vec::new()
    };
    let distinct_clause = query.distinct_clause();
    let distinct_on = if query.has_distinct_on() || distinct {
        keys_of(distinct_clause.clone(), "DISTINCT")?
    } else {
        Vec::new()
    };
    // DISTINCT ON: rows equal on its keys must be adjacent, so the sort takes every DISTINCT ON
    // key the ORDER BY does not list after the ORDER BY's own (PostgreSQL accepts an ORDER BY
    // that names only some of them: `DISTINCT ON (a, b) ... ORDER BY a`), as PostgreSQL's
    // distinct path keys do; without ORDER BY, all of them.
    if !distinct_on.is_empty() {
        let listed: Vec<u32> = order.iter().map(|c| c.tle_sort_group_ref()).collect();
        for (sgc, key) in distinct_clause.iter().zip(&distinct_on) {
            if !listed.contains(&sgc.tle_sort_group_ref()) {
                keys.push(key.clone());
            }
        }
    }
    Ok(FinalSort {
        keys,
        distinct_on,
        offset: limit_expr(query.limit_offset(), "OFFSET")?,
        count: limit_expr(query.limit_count(), "LIMIT")?,
        ties,
    })
}

/// A LIMIT or OFFSET expression for PostgreSQL's Limit node, folded as the planner folds it: a
/// constant, or the statement's parameters under the parser's casts (`LIMIT $1`).
fn limit_expr(node: Option<Node>, what: &str) -> PgResult<Option<Node>> {
    let Some(node) = node else { return Ok(None) };
    let folded = node.eval_const_expressions()?;
    let mut plain = true;
    folded.walk(|n, _| {
        plain &= match n.kind() {
            Kind::Const(_) | Kind::FuncExpr(_) | Kind::RelabelType(_) => true,
            Kind::Param(p) => p.is_extern(),
            _ => false,
        };
        Ok(Visit::Children)
    })?;
    if !plain || folded.contains_volatile_functions()? {
        return Err(unsupported(format!("{what} that is not a constant or a parameter")));
    }
    Ok(Some(folded))
}

/// What PostgreSQL computes above the node, bottom first: an Agg node, window nodes or a
/// ProjectSet (then the translated query is their input), then the final sort.
#[derive(Default)]
struct Above {
    agg: Option<AggSpec>,
    windows: Vec<WindowAggSpec>,
    project_set: Option<ProjectSetSpec>,
    final_sort: Option<FinalSort>,
}

fn translate_with(query: Query, above: Above) -> PgResult<Translated> {
    let mut bind = Bindings::default();
    let unordered = above.final_sort.is_some() || above.project_set.is_some() || above.agg.is_some();
    let mut top = block_with(query, &mut bind, true, unordered)?;
    // Compute equal subqueries (WITH queries referenced several times) once and read each
    // relation once (see `plan::share`); the readers' queues count against the worker's memory
    // limit (`worker::shared`).
    crate::plan::share::share_subqueries(&mut top.spec, &mut top.pg_types);
    crate::plan::share::share_scans(&mut top.spec, &mut top.pg_types);
    if (unordered || !above.windows.is_empty())
        && top.tlist.target_entries().len() != query.target_list().len()
    {
        return Err(PgError::internal("the node's target list is not the query's"));
    }
    Ok(Translated {
        spec: top.spec,
        tlist: top.tlist,
        qual: top.qual,
        scan_tlist: top.scan_tlist,
        rtable: top.query.rtable_list(),
        perminfos: top.query.perminfos_list(),
        rtindexes: top.rtindexes,
        scan_pg_types: top.pg_types,
        bindings: bind,
        agg: above.agg,
        windows: above.windows,
        project_set: above.project_set,
        final_sort: above.final_sort,
    })
}

/// A query block inside the query (a subquery in FROM, a set operation's arm).
pub(super) fn block(query: Query, bind: &mut Bindings) -> PgResult<Block> {
    block_with(query, bind, false, false)
}

/// `top`: the whole query's block, whose rows leave through the node (PostgreSQL may filter
/// them there). `unordered`: translate the block without its ORDER BY, DISTINCT ON, OFFSET and
/// LIMIT (PostgreSQL does them above the node).
fn block_with(query: Query, bind: &mut Bindings, top: bool, unordered: bool) -> PgResult<Block> {
    // Uncorrelated scalar subqueries compared in HAVING join FROM as one row, so DataFusion
    // computes them; where it cannot compute one exactly, PostgreSQL computes it in a scan as
    // before (the block is translated again without that step).
    let (rewritten, moved) = prepare(query, true, unordered)?;
    if !moved {
        return block_of(rewritten, bind, top);
    }
    match block_of(rewritten, bind, top) {
        Err(e) if e.sqlstate() == SqlState::FEATURE_NOT_SUPPORTED && !e.is_caught() => {
            block_of(prepare(query, false, unordered)?.0, bind, top)
        }
        r => r,
    }
}

/// `query` rewritten ([`prepare`]) and translated; the LATERAL groups' subqueries it made are
/// leaves PostgreSQL runs on its own.
fn block_of(prepared: Prepared, bind: &mut Bindings, top: bool) -> PgResult<Block> {
    for sub in prepared.own_runs {
        bind.run_on_its_own(sub);
    }
    for sub in prepared.materialized {
        bind.keep_every_column(sub);
    }
    select::block_of(prepared.query, bind, top)
}

/// A query rewritten for translation.
pub(super) struct Prepared {
    pub query: Query,
    /// Subqueries in FROM PostgreSQL plans and runs on its own (`rewrite::lateral`).
    pub own_runs: Vec<Query>,
    /// Copies of WITH queries PostgreSQL materializes: every column computed (`rewrite::cte`).
    pub materialized: Vec<Query>,
}

/// Our copy of `query` rewritten for translation; whether HAVING subqueries moved to FROM.
pub(super) fn prepare(query: Query, move_having: bool, unordered: bool) -> PgResult<(Prepared, bool)> {
    // WITH queries become subqueries in FROM, and simple subqueries in FROM (and views) join the
    // query, as PostgreSQL's planner inlines and pulls them up.
    let query = query.for_translation()?;
    if unordered {
        query.clear_order_and_limit();
    }
    // HAVING terms on the rows filter them before grouping, as the planner moves them.
    rewrite::having::move_to_where(query)?;
    let materialized = rewrite::cte::inline_ctes(query)?;
    let query = rewrite::pullup::pull_up(query)?;
    // Correlated scalar subqueries compared in WHERE become grouped subqueries in FROM.
    rewrite::decorrelate::scalar_subqueries(query)?;
    let moved = move_having && rewrite::decorrelate::having_subqueries(query)?;
    // A LATERAL item pull-up left, with the FROM items it reads: a subquery PostgreSQL runs.
    let groups = rewrite::lateral::fuse_laterals(query)?;
    // Pulled-up subqueries and views bring their Vars' nulling marks (16 and later).
    let query = query.without_nullingrels()?;
    // (Of the copy: the groups' subqueries are known by their nodes.)
    let own_runs = groups
        .into_iter()
        .map(|g| {
            query
                .rte(g)
                .and_then(|r| r.subquery())
                .ok_or_else(|| PgError::internal("LATERAL group's subquery"))
        })
        .collect::<PgResult<Vec<_>>>()?;
    Ok((Prepared { query, own_runs, materialized }, moved))
}
