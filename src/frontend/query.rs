//! The translation of a query: its blocks (the whole query, its subqueries in FROM, its set
//! operations' arms), each on our rewritten copy ([`prepare`]), then sharing across blocks.

use super::rewrite;
use super::select::block_of;
use super::types::Oid;
use crate::pg::error::{PgError, PgResult, SqlState};
use crate::pg::leaf::Bindings;
use crate::pg::node::{List, Query};
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
    /// The query's ORDER BY and LIMIT when PostgreSQL does them above the node.
    pub final_sort: Option<FinalSort>,
}

/// The whole query's ORDER BY, OFFSET and LIMIT done by PostgreSQL above the node (a Sort over
/// the node's target list, then a Limit), where DataFusion cannot order as PostgreSQL does: text
/// under a collation other than byte order (`en_US.UTF-8`, ICU), types DataFusion orders
/// otherwise, expressions computed above DataFusion. DataFusion computes everything below.
pub struct FinalSort {
    pub keys: Vec<FinalSortKey>,
    pub offset: Option<usize>,
    pub count: Option<usize>,
}

/// One key of a [`FinalSort`], as PostgreSQL's analysis chose it.
pub struct FinalSortKey {
    /// Its position (from 1) in the node's target list, which is the query's.
    pub resno: i16,
    /// The ordering operator (`<` or `>` of the key's type, or another the clause names).
    pub sortop: Oid,
    pub collation: Oid,
    pub nulls_first: bool,
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
    let ordered =
        !query.sort_clause().is_empty() || query.limit_count().is_some() || query.limit_offset().is_some();
    match translate_with(query, None) {
        Err(e) if ordered && e.sqlstate() == SqlState::FEATURE_NOT_SUPPORTED && !e.is_caught() => {
            let sort = match final_sort(query) {
                Ok(sort) => sort,
                Err(f) if f.is_caught() => return Err(f),
                Err(_) => return Err(e),
            };
            match translate_with(query, Some(sort)) {
                Err(f) if f.is_caught() => Err(f),
                Err(_) => Err(e),
                ok => ok,
            }
        }
        r => r,
    }
}

/// The query's ORDER BY, OFFSET and LIMIT for PostgreSQL to do above the node.
fn final_sort(query: Query) -> PgResult<FinalSort> {
    let mut keys = Vec::new();
    for sgc in query.sort_clause() {
        let tle = query.sort_group_tle(sgc)?;
        let expr = tle.expr().ok_or_else(|| PgError::internal("target entry without an expression"))?;
        if sgc.sortop() == 0 {
            return Err(unsupported("ORDER BY without an ordering operator"));
        }
        keys.push(FinalSortKey {
            resno: tle.resno(),
            sortop: sgc.sortop(),
            collation: super::types::expr_type(expr)?.2,
            nulls_first: sgc.nulls_first(),
        });
    }
    Ok(FinalSort {
        keys,
        offset: super::literal::limit_value(query.limit_offset(), "OFFSET")?,
        count: super::literal::limit_value(query.limit_count(), "LIMIT")?,
    })
}

fn translate_with(query: Query, final_sort: Option<FinalSort>) -> PgResult<Translated> {
    let mut bind = Bindings::default();
    let mut top = block_with(query, &mut bind, final_sort.is_some())?;
    // Compute equal subqueries (WITH queries referenced several times) once and read each
    // relation once (see `plan::share`); the readers' queues count against the worker's memory
    // limit (`worker::shared`).
    crate::plan::share::share_subqueries(&mut top.spec, &mut top.pg_types);
    crate::plan::share::share_scans(&mut top.spec, &mut top.pg_types);
    if final_sort.is_some() && top.tlist.target_entries().len() != query.target_list().len() {
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
        final_sort,
    })
}

pub(super) fn block(query: Query, bind: &mut Bindings) -> PgResult<Block> {
    block_with(query, bind, false)
}

/// `unordered`: translate the block without its ORDER BY, OFFSET and LIMIT (PostgreSQL does
/// them above the node).
fn block_with(query: Query, bind: &mut Bindings, unordered: bool) -> PgResult<Block> {
    // Uncorrelated scalar subqueries compared in HAVING join FROM as one row, so DataFusion
    // computes them; where it cannot compute one exactly, PostgreSQL computes it in a scan as
    // before (the block is translated again without that step).
    let (rewritten, moved) = prepare(query, true, unordered)?;
    if !moved {
        return block_of(rewritten, bind);
    }
    match block_of(rewritten, bind) {
        Err(e) if e.sqlstate() == SqlState::FEATURE_NOT_SUPPORTED && !e.is_caught() => {
            block_of(prepare(query, false, unordered)?.0, bind)
        }
        r => r,
    }
}

/// Our copy of `query` rewritten for translation; whether HAVING subqueries moved to FROM.
pub(super) fn prepare(query: Query, move_having: bool, unordered: bool) -> PgResult<(Query, bool)> {
    // WITH queries become subqueries in FROM, and simple subqueries in FROM (and views) join the
    // query, as PostgreSQL's planner inlines and pulls them up.
    let query = query.for_translation()?;
    if unordered {
        query.set_sort_clause(List::NIL);
        query.set_limit_offset(None);
        query.set_limit_count(None);
    }
    rewrite::cte::inline_ctes(query)?;
    let query = rewrite::pullup::pull_up(query)?;
    // Correlated scalar subqueries compared in WHERE become grouped subqueries in FROM.
    rewrite::decorrelate::scalar_subqueries(query)?;
    let moved = move_having && rewrite::decorrelate::having_subqueries(query)?;
    // Pulled-up subqueries and views bring their Vars' nulling marks (16 and later).
    let query = query.without_nullingrels()?;
    Ok((query, moved))
}
