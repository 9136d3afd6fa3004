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
pub fn translate(query: Query) -> PgResult<Translated> {
    let mut bind = Bindings::default();
    let mut top = block(query, &mut bind)?;
    // Compute equal subqueries (WITH queries referenced several times) once and read each
    // relation once (see `plan::share`); the readers' queues count against the worker's memory
    // limit (`worker::shared`).
    crate::plan::share::share_subqueries(&mut top.spec, &mut top.pg_types);
    crate::plan::share::share_scans(&mut top.spec, &mut top.pg_types);
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
    })
}

pub(super) fn block(query: Query, bind: &mut Bindings) -> PgResult<Block> {
    // Uncorrelated scalar subqueries compared in HAVING join FROM as one row, so DataFusion
    // computes them; where it cannot compute one exactly, PostgreSQL computes it in a scan as
    // before (the block is translated again without that step).
    let (rewritten, moved) = prepare(query, true)?;
    if !moved {
        return block_of(rewritten, bind);
    }
    match block_of(rewritten, bind) {
        Err(e) if e.sqlstate() == SqlState::FEATURE_NOT_SUPPORTED => block_of(prepare(query, false)?.0, bind),
        r => r,
    }
}

/// Our copy of `query` rewritten for translation; whether HAVING subqueries moved to FROM.
pub(super) fn prepare(query: Query, move_having: bool) -> PgResult<(Query, bool)> {
    // WITH queries become subqueries in FROM, and simple subqueries in FROM (and views) join the
    // query, as PostgreSQL's planner inlines and pulls them up.
    let query = query.for_translation()?;
    rewrite::cte::inline_ctes(query)?;
    let query = rewrite::pullup::pull_up(query)?;
    // Correlated scalar subqueries compared in WHERE become grouped subqueries in FROM.
    rewrite::decorrelate::scalar_subqueries(query)?;
    let moved = move_having && rewrite::decorrelate::having_subqueries(query)?;
    // Pulled-up subqueries and views bring their Vars' nulling marks (16 and later).
    let query = query.without_nullingrels()?;
    Ok((query, moved))
}
