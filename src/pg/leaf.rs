//! Bound scan leaves: each [`ScanSpec`] becomes a `Query` over the range-table entry and the
//! expression trees PostgreSQL analyzed, planned by PostgreSQL's planner when pg_fusion plans.
//!
//! Rules:
//! - Nothing is rendered to SQL or parsed again: a leaf's relation, rights (`checkAsUser`),
//!   row-level security quals (`securityQuals`, as the rewriter attached them), operators,
//!   functions and collations are the analyzed query's own, copied. The user's `search_path`
//!   plays no part after parse analysis.
//! - [`Bindings`] holds the trees: every expression a leaf computes or filters by, and every
//!   access (range-table entry) a leaf reads through, each copied with its relation renumbered
//!   to 1 (the leaf query's one entry) and numbered once: equal trees (PostgreSQL's `equal()`)
//!   get one index, so [`crate::plan::share`] compares bound trees by index.
//! - The leaf query is planned by `standard_planner` directly (not parallel-aware: scan
//!   producers split a table by block ranges themselves), with the statement's bound
//!   parameters. Its `PlannedStmt` travels in the custom scan's private list, so it is part of
//!   the cached plan: a prepared statement keeps the objects it was planned with until
//!   PostgreSQL invalidates the plan.
//! - Whether producers may split a leaf by block ranges is decided here, once: a parallel-safe
//!   leaf without subplans whose plan reads its relation with a sequential scan (or drives a
//!   nested-loop semi or anti join of index probes with one); see [`splittable`].
//! - Index probes ([`plan_probes`], `crate::index_probe`): a leaf of a table with at
//!   least [`PROBE_MIN_ROWS`] estimated rows gets, per integer column of the table that leads
//!   one of its indexes, a second plan: the same query with `column = ANY($n)` added (`$n` a
//!   parameter after every one the leaf reads, an array of the column's type), kept only when
//!   PostgreSQL plans it as an index or bitmap scan. Same entry, rights, quals and row-level
//!   security: it returns exactly the leaf's rows whose key is in the array.

use std::ffi::c_void;

use super::catalog;
use super::error::{guard, PgError, PgResult};
use super::node::{Kind, Node, Permission, Query, RangeTblEntry, RteKind, Visit, QTW_EXAMINE_RTES_BEFORE};
use super::nodes::{self, list};
use super::sys;
use crate::plan::join_order::ColumnEstimate;
use crate::plan::spec::ScanSpec;

/// The bound trees of one query's leaves (see the module rules). Lives in the planner's memory
/// context, as the trees it holds.
#[derive(Default)]
pub struct Bindings {
    /// Expressions and conditions, their relation's Vars numbered 1.
    exprs: Vec<*mut sys::Node>,
    /// Range-table entries (copies; `securityQuals` numbered 1) and the rights each is read with.
    /// Each access: a copy of its range-table entry, its rights, and (16 and later) a copy of
    /// its `RTEPermissionInfo`, which the leaf query carries as its one permission info.
    accesses: Vec<(*mut sys::RangeTblEntry, Permission, *mut sys::Node)>,
    /// Subqueries in FROM the front end made for PostgreSQL to plan and run on its own as leaves
    /// (a LATERAL item with the FROM items it reads), known by their nodes.
    own_runs: Vec<*mut sys::Query>,
    /// Subqueries in FROM that compute every column, read or not (WITH queries PostgreSQL
    /// materializes), known by their nodes.
    every_column: Vec<*mut sys::Query>,
}

/// A leaf planned by PostgreSQL.
pub struct PlannedLeaf {
    pub stmt: *mut sys::PlannedStmt,
    /// The leaf query as it was before planning, for EXPLAIN to show as SQL (display only).
    pub query: *mut sys::Query,
    /// Producers may split it by block ranges ([`splittable`]).
    pub splittable: bool,
    /// PostgreSQL's estimate of its rows.
    pub rows: f64,
    /// Its index probes (see the module rules).
    pub probes: Vec<ProbePlan>,
}

impl Bindings {
    /// The index of `e`, an expression over range-table entry `rtindex` of its query (and
    /// constants), computed or tested by a leaf.
    pub fn expr(&mut self, e: Node, rtindex: i32) -> PgResult<u32> {
        let e = nodes::copy(e.as_ptr())?;
        // SAFETY: renumbers the Vars of our copy (sublinks' levels included).
        guard(|| unsafe { sys::ChangeVarNodes(e, rtindex, 1, 0) })?;
        self.intern(e)
    }

    /// The index of the AND of `terms` (expressions over `rtindex`); None without terms.
    pub fn condition(&mut self, terms: &[Node], rtindex: i32) -> PgResult<Option<u32>> {
        let e = match terms {
            [] => return Ok(None),
            [one] => one.as_ptr(),
            many => {
                let mut args: *mut sys::List = std::ptr::null_mut();
                for &t in many {
                    args = nodes::append(args, t.as_ptr() as *mut c_void)?;
                }
                // SAFETY: makeBoolExpr allocates an AND over the list.
                guard(|| unsafe {
                    sys::makeBoolExpr(sys::BoolExprType_AND_EXPR, args, -1) as *mut sys::Node
                })?
            }
        };
        self.expr(Node::of(e)?, rtindex).map(Some)
    }

    /// Marks `sub`, a subquery in FROM, as one PostgreSQL plans and runs on its own as a leaf.
    pub fn run_on_its_own(&mut self, sub: Query) {
        self.own_runs.push(sub.as_ptr());
    }

    /// Is `sub` a subquery PostgreSQL runs on its own ([`Self::run_on_its_own`])?
    pub fn runs_on_its_own(&self, sub: Query) -> bool {
        self.own_runs.contains(&sub.as_ptr())
    }

    /// Marks `sub`, a subquery in FROM, as one whose every column is computed.
    pub fn keep_every_column(&mut self, sub: Query) {
        self.every_column.push(sub.as_ptr());
    }

    /// Does `sub` compute every column ([`Self::keep_every_column`])?
    pub fn keeps_every_column(&self, sub: Query) -> bool {
        self.every_column.contains(&sub.as_ptr())
    }

    /// The index of the constant `true`: the column of a leaf whose rows only are needed.
    pub fn constant_true(&mut self) -> PgResult<u32> {
        // SAFETY: makeBoolConst allocates a Const.
        let c = guard(|| unsafe { sys::makeBoolConst(true, false) })?;
        self.intern(c)
    }

    fn intern(&mut self, e: *mut sys::Node) -> PgResult<u32> {
        if let Some(i) = nodes::try_position(&self.exprs, |&x| nodes::equal(x, e))? {
            return Ok(i as u32);
        }
        self.exprs.push(e);
        Ok((self.exprs.len() - 1) as u32)
    }

    /// The index of the access through range-table entry `rte` (at `rtindex` of its query).
    /// Two entries are one access when they read the same relation with the same rights, the
    /// same inheritance flag, equal row-level security quals and equal TABLESAMPLE clauses.
    /// `query` holds `rte` in its range table (where PostgreSQL 16 keeps the entry's rights).
    pub fn access(&mut self, query: Query, rte: RangeTblEntry, rtindex: i32) -> PgResult<u32> {
        let permission = rte.permission(query)?;
        let copy = nodes::copy(rte.as_ptr())?;
        let (q, r) = (query.as_ptr(), rte.as_ptr());
        // SAFETY: `rte` is an entry of `query`'s range table; a copy (NULL on 15 or without one).
        let perminfo = guard(|| unsafe { sys::pgf_rte_perminfo_copy(q, r) })?;
        // SAFETY: our copy of an RTE_RELATION entry; its security quals are expressions over it.
        unsafe {
            let quals = (*copy).securityQuals as *mut sys::Node;
            if !quals.is_null() {
                guard(|| sys::ChangeVarNodes(quals, rtindex, 1, 0))?;
            }
        }
        let same = |&(a, p, _): &(*mut sys::RangeTblEntry, Permission, *mut sys::Node)| -> PgResult<bool> {
            // SAFETY: valid RTE copies, read per field.
            let (a, b) = unsafe { (&*a, &*copy) };
            // A subquery PostgreSQL runs on its own (WITH RECURSIVE, a LATERAL group): the same
            // query, whatever the reference's alias; never one with a volatile function or an
            // unseeded sample (each reference evaluates its own).
            if a.rtekind == sys::RTEKind_RTE_SUBQUERY && b.rtekind == sys::RTEKind_RTE_SUBQUERY {
                let stable = |q: *mut sys::Query| -> PgResult<bool> {
                    let n = Node::of(q)?;
                    Ok(!n.contains_volatile_functions()? && !n.has_unseeded_sample()?)
                };
                return Ok(p == permission && stable(a.subquery)? && nodes::equal(a.subquery, b.subquery)?);
            }
            // A function or VALUES list: the same entry (a WITH query's copies).
            if a.rtekind != sys::RTEKind_RTE_RELATION || b.rtekind != sys::RTEKind_RTE_RELATION {
                return Ok(p == permission
                    && nodes::equal(a as *const sys::RangeTblEntry, copy as *const sys::RangeTblEntry)?);
            }
            Ok(a.relid == b.relid
                && a.inh == b.inh
                && p == permission
                && nodes::equal(a.securityQuals, b.securityQuals)?
                && nodes::equal(a.tablesample, b.tablesample)?)
        };
        if let Some(i) = nodes::try_position(&self.accesses, same)? {
            return Ok(i as u32);
        }
        self.accesses.push((copy, permission, perminfo));
        Ok((self.accesses.len() - 1) as u32)
    }

    /// Does `scan` read a subquery (a WITH RECURSIVE query PostgreSQL runs on its own)?
    pub fn is_subquery(&self, scan: &ScanSpec) -> PgResult<bool> {
        let (rte, _, _) =
            *self.accesses.get(scan.access as usize).ok_or_else(|| PgError::internal("leaf access index"))?;
        // SAFETY: our copy of a range-table entry.
        Ok(unsafe { (*rte).rtekind } == sys::RTEKind_RTE_SUBQUERY)
    }

    /// What PostgreSQL's statistics say of column `col` of `scan` when it is a column of the
    /// relation (None for an expression, or without statistics): its distinct values, made
    /// absolute as the planner makes them (`get_variable_numdistinct`: a negative `stadistinct`
    /// is a fraction of the rows, here `reltuples`; a one-column primary key without statistics
    /// is unique), and its fraction of NULLs.
    pub fn column_estimate(&self, scan: &ScanSpec, col: usize) -> PgResult<Option<ColumnEstimate>> {
        let (rte, _, _) =
            *self.accesses.get(scan.access as usize).ok_or_else(|| PgError::internal("leaf access index"))?;
        // SAFETY: our copy of the range-table entry, alive in the planner's context.
        let (kind, inh) = unsafe { ((*rte).rtekind, (*rte).inh) };
        // A function, VALUES list or subquery PostgreSQL runs as a leaf has no statistics.
        if kind != sys::RTEKind_RTE_RELATION || scan.relid == 0 {
            return Ok(None);
        }
        let Some(c) = scan.columns.get(col) else { return Ok(None) };
        let mut e = Node::of(
            *self.exprs.get(c.expr as usize).ok_or_else(|| PgError::internal("leaf expression index"))?,
        )?;
        // `varchar` read as `text`: the column's own statistics.
        while let Kind::RelabelType(r) = e.kind() {
            let Some(arg) = r.arg() else { return Ok(None) };
            e = arg;
        }
        let attno = match e.kind() {
            Kind::Var(v) if v.varno() == 1 && v.varlevelsup() == 0 && v.varattno() > 0 => v.varattno(),
            _ => return Ok(None),
        };
        let found = catalog::column_statistics(scan.relid, attno, inh)?;
        let estimate = match found.distinct_nulls {
            Some((d, nulls)) if d > 0.0 => Some((f64::from(d), f64::from(nulls))),
            Some((d, nulls)) if d < 0.0 => found.reltuples.map(|r| (-f64::from(d) * r, f64::from(nulls))),
            Some(_) => None,
            None if catalog::primary_key_attnos(scan.relid)? == [attno] => found.reltuples.map(|r| (r, 0.0)),
            None => None,
        };
        Ok(estimate.map(|(distinct, null_frac)| ColumnEstimate { distinct, null_frac }))
    }

    /// ANALYZE's correlation of attribute `attno` of `scan`'s relation with its physical order
    /// (None without statistics).
    fn column_correlation(&self, scan: &ScanSpec, attno: i16) -> PgResult<Option<f64>> {
        let (rte, _, _) =
            *self.accesses.get(scan.access as usize).ok_or_else(|| PgError::internal("leaf access index"))?;
        // SAFETY: our copy of the range-table entry, alive in the planner's context.
        let inh = unsafe { (*rte).inh };
        catalog::column_correlation(scan.relid, attno, inh)
    }

    /// Column `col` of `scan` when it is an int2, int4 or int8 column of a relation the leaf
    /// reads as it is: (its attribute number, its type).
    fn integer_column(&self, scan: &ScanSpec, col: usize) -> PgResult<Option<(i16, sys::Oid)>> {
        let (rte, _, _) =
            *self.accesses.get(scan.access as usize).ok_or_else(|| PgError::internal("leaf access index"))?;
        // SAFETY: our copy of the range-table entry, alive in the planner's context.
        if unsafe { (*rte).rtekind } != sys::RTEKind_RTE_RELATION {
            return Ok(None);
        }
        let Some(c) = scan.columns.get(col) else { return Ok(None) };
        let e = Node::of(
            *self.exprs.get(c.expr as usize).ok_or_else(|| PgError::internal("leaf expression index"))?,
        )?;
        Ok(match e.kind() {
            Kind::Var(v)
                if v.varno() == 1
                    && v.varlevelsup() == 0
                    && v.varattno() > 0
                    && matches!(v.vartype(), sys::INT2OID | sys::INT4OID | sys::INT8OID) =>
            {
                Some((v.varattno(), v.vartype()))
            }
            _ => None,
        })
    }

    fn expr_at(&self, i: u32) -> PgResult<*mut sys::Node> {
        let e = *self.exprs.get(i as usize).ok_or_else(|| PgError::internal("leaf expression index"))?;
        nodes::copy(e)
    }

    /// The leaf query of `scan`: `SELECT <columns> FROM <its entry> WHERE <its quals>` as a
    /// `Query` node (see the module rules).
    pub fn query(&self, scan: &ScanSpec) -> PgResult<*mut sys::Query> {
        let (rte, _, perminfo) =
            *self.accesses.get(scan.access as usize).ok_or_else(|| PgError::internal("leaf access index"))?;
        let rte = nodes::copy(rte)?;
        let perminfo = if perminfo.is_null() { perminfo } else { nodes::copy(perminfo)? };
        let mut tlist: *mut sys::List = std::ptr::null_mut();
        for (k, c) in scan.columns.iter().enumerate() {
            let e = self.expr_at(c.expr)?;
            // SAFETY: makeTargetEntry allocates; the name is only for EXPLAIN.
            let name = std::ffi::CString::new(format!("c{}", k + 1))
                .map_err(|e| PgError::internal(e.to_string()))?;
            let np = name.as_ptr();
            // SAFETY: makeTargetEntry and pstrdup allocate; `np` is a NUL-terminated string alive for the call.
            let te = guard(|| unsafe {
                sys::makeTargetEntry(e as *mut sys::Expr, (k + 1) as i16, sys::pstrdup(np), false)
            })?;
            tlist = nodes::append(tlist, te as *mut c_void)?;
        }
        let quals = match scan.quals.as_slice() {
            [] => std::ptr::null_mut(),
            [one] => self.expr_at(*one)?,
            many => {
                let mut args: *mut sys::List = std::ptr::null_mut();
                for &q in many {
                    args = nodes::append(args, self.expr_at(q)? as *mut c_void)?;
                }
                // SAFETY: makeBoolExpr allocates an OR over the list.
                guard(|| unsafe { sys::makeBoolExpr(sys::BoolExprType_OR_EXPR, args, -1) as *mut sys::Node })?
            }
        };
        let rtr: *mut sys::RangeTblRef = nodes::make(sys::NodeTag_T_RangeTblRef)?;
        // SAFETY: new nodes, every field the planner reads set below.
        unsafe {
            (*rtr).rtindex = 1;
            let from_list = nodes::append(std::ptr::null_mut(), rtr as *mut c_void)?;
            let jointree = guard(|| sys::makeFromExpr(from_list, quals))?;
            let q: *mut sys::Query = nodes::make(sys::NodeTag_T_Query)?;
            (*q).commandType = sys::CmdType_CMD_SELECT;
            (*q).querySource = sys::QuerySource_QSRC_ORIGINAL;
            (*q).canSetTag = true;
            (*q).rtable = nodes::append(std::ptr::null_mut(), rte as *mut c_void)?;
            guard(|| sys::pgf_leaf_set_perminfo(q, rte, perminfo))?;
            (*q).jointree = jointree;
            (*q).targetList = tlist;
            // A set-returning function in the select list (see `frontend::select`): the planner
            // puts a ProjectSet above the scan.
            (*q).hasTargetSRFs = guard(|| sys::expression_returns_set(tlist as *mut sys::Node))?;
            // Subqueries anywhere in the leaf (select list, WHERE, a function's arguments, a VALUES
            // list, row-level security quals): the planner plans them only when told.
            let has = |n: *mut sys::Node| -> PgResult<bool> {
                Ok(!n.is_null() && guard(|| sys::checkExprHasSubLink(n))?)
            };
            (*q).hasSubLinks = has(tlist as *mut sys::Node)?
                || has(quals)?
                || has((*rte).functions as *mut sys::Node)?
                || has((*rte).values_lists as *mut sys::Node)?
                || has((*rte).securityQuals as *mut sys::Node)?;
            (*q).hasRowSecurity = !(*rte).securityQuals.is_null();
            (*q).stmt_location = -1;
            Ok(q)
        }
    }
}

/// PostgreSQL's estimate of the rows of `scan`'s leaf query (a leaf reading a shared scan, which
/// [`plan`] does not plan): planned, never run.
pub fn estimate_rows(b: &Bindings, scan: &ScanSpec, params: sys::ParamListInfo) -> PgResult<f64> {
    let query = b.query(scan)?;
    let empty = c"";
    let sp = empty.as_ptr();
    // SAFETY: plans our leaf query as `plan` does (hook chain bypassed); only its estimate is read.
    let stmt = guard(|| unsafe { sys::standard_planner(query, sp, 0, params) })?;
    // SAFETY: the PlannedStmt standard_planner just returned; its planTree is non-NULL.
    Ok(unsafe { (*(*stmt).planTree).plan_rows })
}

/// Plan `scan`'s leaf query with the statement's bound parameters (see the module rules).
pub fn plan(b: &Bindings, scan: &ScanSpec, params: sys::ParamListInfo) -> PgResult<PlannedLeaf> {
    let query = b.query(scan)?;
    let display = nodes::copy(query)?;
    // Parallel workers may run only a parallel-safe leaf (`leaf_hazard`); decided on the
    // analyzed leaf query, before the planner changes it.
    // SAFETY: the analyzed leaf query, not planned yet.
    let hazard = unsafe { leaf_hazard(query) }?;
    let empty = c"";
    let sp = empty.as_ptr();
    // SAFETY: plans our leaf query (the planner may scribble on it); not parallel-aware
    // (cursor options 0); the hook chain is bypassed on purpose: pg_fusion's own hook must
    // not see its leaves.
    let stmt = guard(|| unsafe { sys::standard_planner(query, sp, 0, params) })?;
    // A partition or inheritance child that is a foreign table would run its foreign data
    // wrapper inside the scan producers: refused.
    // Its range table holds the relations it reads (the leaf's partitions after plan-time
    // pruning, those pruned at run time included).
    // A subquery PostgreSQL runs on its own (WITH RECURSIVE) reads the tables it names: the
    // statement's range table holds them (`range_table::flat`), and the partitions its plan
    // expands them into (`range_table::with_children`).
    let (subquery, mut named) = (b.is_subquery(scan)?, Vec::new());
    if subquery {
        relations_of(display, &mut named)?;
        // SAFETY: `stmt` is the valid PlannedStmt standard_planner just returned.
        unsafe {
            let entries = list::<sys::RangeTblEntry>((*stmt).rtable);
            for info in list::<sys::AppendRelInfo>((*stmt).appendRelations) {
                if let Some(&rte) = entries.get(((*info).child_relid as usize).wrapping_sub(1)) {
                    named.push((*rte).relid);
                }
            }
        }
    }
    // SAFETY: `stmt` is the valid PlannedStmt standard_planner just returned; rtable is a List of RTEs.
    for rte in unsafe { list::<sys::RangeTblEntry>((*stmt).rtable) } {
        // SAFETY: an entry of that range table.
        let r = unsafe { &*rte };
        // A function in FROM whose plan reads tables (a SQL function the planner inlined, a
        // subquery in its arguments): those tables are not in the statement's range table, so
        // a cached plan would run without their locks. Refused.
        if scan.relid == 0
            && r.rtekind == sys::RTEKind_RTE_RELATION
            && !(subquery && named.contains(&r.relid))
        {
            return Err(PgError::unsupported(
                "function or VALUES in FROM that reads tables (an inlined SQL function, a subquery in its arguments)",
            ));
        }
        if r.rtekind == sys::RTEKind_RTE_RELATION && r.relkind as u8 == sys::RELKIND_FOREIGN_TABLE {
            return Err(PgError::unsupported(
                "a foreign table among a table's partitions or inheritance children",
            ));
        }
    }
    // SAFETY: a PlannedStmt just built.
    let rows = unsafe { (*(*stmt).planTree).plan_rows };
    Ok(PlannedLeaf {
        stmt,
        query: display,
        splittable: hazard == b's' as std::ffi::c_char
            && splittable(stmt)
            && (!subquery || workers_may_run_all(stmt, display)?),
        rows,
        probes: if super::guc::index_probe() { plan_probes(b, scan, params, rows)? } else { Vec::new() },
    })
}

/// Leaves estimated at fewer rows get no index probe: reading them whole costs little.
pub const PROBE_MIN_ROWS: f64 = 10_000.0;

/// Index probes planned per leaf at most.
const MAX_PROBES: usize = 4;

/// An index probe of a leaf (see the module rules).
#[derive(Clone, Copy)]
pub struct ProbePlan {
    /// The leaf's column holding the key.
    pub column: u16,
    pub stmt: *mut sys::PlannedStmt,
    /// The key array's parameter (`$paramid`, after every parameter the leaf reads).
    pub paramid: i32,
    /// The key column's type (int2, int4 or int8).
    pub elem: sys::Oid,
    /// PostgreSQL's estimate of the column's distinct values, and of the table's rows
    /// (`reltuples`).
    pub distinct: u64,
    pub rows: u64,
    /// ANALYZE's correlation of the column with the table's physical order, in thousandths
    /// (0 without statistics): near ±1000 a key's rows lie together (`crate::index_probe`).
    pub correlation: i16,
}

/// The index probes of `scan`'s leaf, estimated at `rows` rows (see the module rules).
pub fn plan_probes(
    b: &Bindings,
    scan: &ScanSpec,
    params: sys::ParamListInfo,
    rows: f64,
) -> PgResult<Vec<ProbePlan>> {
    let mut out = Vec::new();
    // A NaN estimate is no estimate: not probed.
    if rows.is_nan() || rows < PROBE_MIN_ROWS || scan.relid == 0 || b.is_subquery(scan)? {
        return Ok(out);
    }
    let Some(table_rows) = catalog::relation_rows(scan.relid)? else { return Ok(out) };
    let mut seen = Vec::new();
    for k in 0..scan.columns.len() {
        if out.len() >= MAX_PROBES {
            break;
        }
        let (Some((attno, elem)), Ok(column)) = (b.integer_column(scan, k)?, u16::try_from(k)) else {
            continue;
        };
        if seen.contains(&attno) {
            continue;
        }
        seen.push(attno);
        if !catalog::index_leads_with(scan.relid, attno)? {
            continue;
        }
        let Some(estimate) = b.column_estimate(scan, k)? else { continue };
        if estimate.distinct.is_nan() || estimate.distinct < 1.0 {
            continue;
        }
        if let Some((stmt, paramid)) = plan_probe(b, scan, k, elem, params)? {
            let correlation = b.column_correlation(scan, attno)?.unwrap_or(0.0);
            out.push(ProbePlan {
                column,
                stmt,
                paramid,
                elem,
                distinct: estimate.distinct as u64,
                rows: table_rows as u64,
                correlation: (correlation * 1000.0).round() as i16,
            });
        }
    }
    Ok(out)
}

/// The key array type and `=` operator of an integer key type.
fn probe_types(elem: sys::Oid) -> Option<(sys::Oid, sys::Oid, sys::Oid)> {
    // The built-in `=` operators of pg_operator.dat (int2eq 94, int4eq 96, int8eq 410).
    match elem {
        sys::INT2OID => Some((sys::INT2ARRAYOID, 94, sys::F_INT2EQ)),
        sys::INT4OID => Some((sys::INT4ARRAYOID, 96, sys::F_INT4EQ)),
        sys::INT8OID => Some((sys::INT8ARRAYOID, 410, sys::F_INT8EQ)),
        _ => None,
    }
}

/// `scan`'s leaf query with `column col = ANY($n)` added, planned; None unless PostgreSQL reads
/// it through an index (an index, index-only or bitmap heap scan at the top).
fn plan_probe(
    b: &Bindings,
    scan: &ScanSpec,
    col: usize,
    elem: sys::Oid,
    params: sys::ParamListInfo,
) -> PgResult<Option<(*mut sys::PlannedStmt, i32)>> {
    let Some((array_type, opno, opfunc)) = probe_types(elem) else { return Ok(None) };
    let query = b.query(scan)?;
    // A volatile function would run on fewer rows than PostgreSQL's own plan runs it on.
    // SAFETY: our leaf query, walked by PostgreSQL's walker.
    if guard(|| unsafe { sys::contain_volatile_functions(query as *mut sys::Node) })? {
        return Ok(None);
    }
    // The statement's parameters keep their numbers (a custom plan folds those of its list into
    // constants); the keys come after every one of them and every one the leaf reads.
    // SAFETY: the statement's parameter list, or NULL.
    let mut last = if params.is_null() { 0 } else { unsafe { (*params).numParams } };
    if let Kind::Query(q) = Node::of(query)?.kind() {
        q.walk(0, |n, _| {
            if let Kind::Param(p) = n.kind() {
                if p.is_extern() {
                    last = last.max(p.paramid());
                }
            }
            Ok(Visit::Children)
        })?;
    }
    let paramid = last.checked_add(1).ok_or_else(|| PgError::internal("parameter number"))?;
    let key = b.expr_at(scan.columns.get(col).ok_or_else(|| PgError::internal("probe column"))?.expr)?;
    let param: *mut sys::Param = nodes::make(sys::NodeTag_T_Param)?;
    let saop: *mut sys::ScalarArrayOpExpr = nodes::make(sys::NodeTag_T_ScalarArrayOpExpr)?;
    // Every field of the new nodes the planner reads is set below.
    // SAFETY: new nodes (zeroed by `make`) and our copy of the leaf query, all valid and ours.
    unsafe {
        (*param).paramkind = sys::ParamKind_PARAM_EXTERN;
        (*param).paramid = paramid;
        (*param).paramtype = array_type;
        (*param).paramtypmod = -1;
        (*param).location = -1;
        let args = nodes::append(std::ptr::null_mut(), key as *mut c_void)?;
        (*saop).opno = opno;
        (*saop).opfuncid = opfunc;
        (*saop).useOr = true;
        (*saop).args = nodes::append(args, param as *mut c_void)?;
        (*saop).location = -1;
        let jointree = (*query).jointree;
        let quals = (*jointree).quals;
        (*jointree).quals = if quals.is_null() {
            saop as *mut sys::Node
        } else {
            let both = nodes::append(
                nodes::append(std::ptr::null_mut(), quals as *mut c_void)?,
                saop as *mut c_void,
            )?;
            guard(|| sys::makeBoolExpr(sys::BoolExprType_AND_EXPR, both, -1) as *mut sys::Node)?
        };
    }
    let empty = c"";
    let sp = empty.as_ptr();
    // SAFETY: plans our probe query as `plan` plans the leaf (hook chain bypassed, not parallel-aware).
    let stmt = guard(|| unsafe { sys::standard_planner(query, sp, 0, params) })?;
    // SAFETY: the PlannedStmt standard_planner just returned; its planTree is non-NULL.
    let (top, filter) = unsafe { (nodes::tag((*stmt).planTree as *mut sys::Node), (*(*stmt).planTree).qual) };
    let indexed = matches!(
        top,
        sys::NodeTag_T_IndexScan | sys::NodeTag_T_IndexOnlyScan | sys::NodeTag_T_BitmapHeapScan
    );
    // The keys must be the index's condition, not a filter over another index's scan.
    let mut filtered = false;
    if let Some(f) = Node::from_ptr(filter as *mut sys::Node) {
        f.walk(|n, _| {
            if let Kind::Param(p) = n.kind() {
                filtered |= p.is_extern() && p.paramid() == paramid;
            }
            Ok(Visit::Children)
        })?;
    }
    Ok((indexed && !filtered).then_some((stmt, paramid)))
}

/// The relations (`relid`s) `query` names at any level: its range table, its subqueries', its
/// WITH queries', its sublinks'.
fn relations_of(query: *mut sys::Query, out: &mut Vec<sys::Oid>) -> PgResult<()> {
    let q = Node::of(query as *mut sys::Node)?.as_query().ok_or_else(|| PgError::internal("not a Query"))?;
    q.walk(QTW_EXAMINE_RTES_BEFORE, |node, _| {
        if let Kind::RangeTblEntry(r) = node.kind() {
            if r.rtekind() == RteKind::Relation {
                out.push(r.relid());
            }
        }
        Ok(Visit::Children)
    })
}

/// The most children of an Append that producers split by block ranges (see [`splittable`]).
const SPLIT_CHILDREN_MAX: usize = 128;

/// Can block ranges split the leaf's plan: does it read its relations by sequential scans, one
/// at its top (a table, or the one partition pruning left), driving a top nested-loop semi or
/// anti join that probes an index per row (TPC-H Q4's `EXISTS`) or an inner or left nested loop
/// whose inner side runs per outer row with its values (a LATERAL group: each outer row is in
/// one range, so its inner rows, or its null-extended row, come once), or under a top Append
/// (partitions, inheritance children: a range is one child's), without subplans? Each range is
/// then a rescan of the same plan with heap scan limits, as PostgreSQL's own parallel
/// sequential scan hands out blocks; the ranges together cost what the whole plan costs. (A
/// hash or merge join would read its inner table whole once per range; an InitPlan or a hashed
/// `NOT IN` would run again per range.) Whether the relations are heap tables workers may read
/// is checked when the query runs (`pgf_plan_blocks`).
///
/// Every range rescans the whole Append (each child's scan restarts, limited to no block but
/// one), so a producer's work grows with the square of the partitions: an Append of more than
/// [`SPLIT_CHILDREN_MAX`] children is read by one producer, as before partitions were shared.
fn splittable(stmt: *mut sys::PlannedStmt) -> bool {
    // SAFETY: a PlannedStmt just built; its nodes read per their tags.
    unsafe {
        if !(*stmt).subplans.is_null() {
            return false;
        }
        let seqscan =
            |p: *mut sys::Plan| !p.is_null() && nodes::tag(p as *mut sys::Node) == sys::NodeTag_T_SeqScan;
        let top = (*stmt).planTree as *mut sys::Node;
        match nodes::tag(top) {
            sys::NodeTag_T_SeqScan => true,
            sys::NodeTag_T_Append => {
                let children = list::<sys::Plan>((*(top as *mut sys::Append)).appendplans);
                !children.is_empty()
                    && children.len() <= SPLIT_CHILDREN_MAX
                    && children.into_iter().all(seqscan)
            }
            sys::NodeTag_T_NestLoop => {
                let nl = top as *mut sys::NestLoop;
                let outer = (*nl).join.plan.lefttree;
                let inner = (*nl).join.plan.righttree;
                let probe = match nodes::tag(inner as *mut sys::Node) {
                    sys::NodeTag_T_IndexScan => !(*(inner as *mut sys::IndexScan)).indexqual.is_null(),
                    sys::NodeTag_T_IndexOnlyScan => {
                        !(*(inner as *mut sys::IndexOnlyScan)).indexqual.is_null()
                    }
                    _ => false,
                };
                let joins_each_row = match (*nl).join.jointype {
                    sys::JoinType_JOIN_SEMI | sys::JoinType_JOIN_ANTI => probe,
                    // A LATERAL group's nested loop: the inner side runs per outer row.
                    sys::JoinType_JOIN_INNER | sys::JoinType_JOIN_LEFT => true,
                    _ => false,
                };
                joins_each_row && !(*nl).nestParams.is_null() && seqscan(outer)
            }
            _ => false,
        }
    }
}

/// PostgreSQL's parallel hazard of a leaf query, except that `[NOT] EXISTS` subqueries among
/// its WHERE clause's AND terms do not make it restricted when everything they contain is
/// parallel-safe and reads only permanent tables. PostgreSQL calls any subquery restricted
/// because a Gather cannot pass a correlated value down to its workers; a scan producer runs
/// the whole leaf (subquery included) on its own block range, so nothing is passed. Each
/// producer's rows are those of its blocks that pass the test, as in one plan.
///
/// # Safety
/// `query` is an analyzed query not planned yet; its WHERE clause is changed and put back.
unsafe fn leaf_hazard(query: *mut sys::Query) -> PgResult<std::ffi::c_char> {
    let restricted = b'r' as std::ffi::c_char;
    // SAFETY: a walk over the analyzed query.
    let whole = guard(|| unsafe { sys::pgf_max_parallel_hazard(query) })?;
    if whole != restricted {
        return Ok(whole);
    }
    // SAFETY: nodes of the analyzed query, read per their tags.
    unsafe {
        let jointree = (*query).jointree;
        if jointree.is_null() || (*jointree).quals.is_null() {
            return Ok(restricted);
        }
        let quals = (*jointree).quals;
        let terms = match nodes::tag(quals) {
            sys::NodeTag_T_BoolExpr
                if (*(quals as *mut sys::BoolExpr)).boolop == sys::BoolExprType_AND_EXPR =>
            {
                list::<sys::Node>((*(quals as *mut sys::BoolExpr)).args)
            }
            _ => vec![quals],
        };
        let mut rest: *mut sys::List = std::ptr::null_mut();
        let mut subqueries = 0;
        for &term in &terms {
            match exists_subquery(term) {
                Some(sub) => {
                    if !subquery_parallel_safe(sub)? {
                        return Ok(restricted);
                    }
                    subqueries += 1;
                }
                None => rest = nodes::append(rest, term as *mut c_void)?,
            }
        }
        if subqueries == 0 {
            return Ok(restricted);
        }
        // The rest of the leaf on its own: its WHERE without the subqueries, then put back.
        let others = match list::<sys::Node>(rest).as_slice() {
            [] => std::ptr::null_mut(),
            [one] => *one,
            _ => guard(|| sys::makeBoolExpr(sys::BoolExprType_AND_EXPR, rest, -1) as *mut sys::Node)?,
        };
        (*jointree).quals = others;
        let hazard = guard(|| sys::pgf_max_parallel_hazard(query));
        (*jointree).quals = quals;
        hazard
    }
}

/// May every producer run the whole plan of a leaf that reads several relations (a LATERAL
/// group's): each relation a table workers may read (not temporary: `pgf_relation_blocks`), and
/// no TABLESAMPLE without REPEATABLE (PostgreSQL draws one sample per query, each producer would
/// draw its own).
fn workers_may_run_all(stmt: *mut sys::PlannedStmt, query: *mut sys::Query) -> PgResult<bool> {
    if Node::of(query)?.has_unseeded_sample()? {
        return Ok(false);
    }
    // SAFETY: the PlannedStmt standard_planner just returned; its rtable is a List of RTEs.
    for rte in unsafe { list::<sys::RangeTblEntry>((*stmt).rtable) } {
        // SAFETY: an entry of that range table.
        let (kind, relid) = unsafe { ((*rte).rtekind, (*rte).relid) };
        if kind == sys::RTEKind_RTE_RELATION && !workers_may_read(relid)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// May parallel workers read relation `relid` (a table, not temporary: `pgf_relation_blocks`)?
fn workers_may_read(relid: sys::Oid) -> PgResult<bool> {
    let mut ok = false;
    let okp: *mut bool = &mut ok;
    // SAFETY: the relation is locked by the query being planned.
    guard(|| unsafe { sys::pgf_relation_blocks(relid, okp) })?;
    Ok(ok)
}

/// The subquery of `[NOT] EXISTS (subquery)`.
///
/// # Safety
/// `term` is a node of an analyzed query.
unsafe fn exists_subquery(term: *mut sys::Node) -> Option<*mut sys::Query> {
    // SAFETY: read per the tags.
    unsafe {
        let mut node = term;
        if nodes::tag(node) == sys::NodeTag_T_BoolExpr {
            let b = node as *mut sys::BoolExpr;
            match list::<sys::Node>((*b).args).as_slice() {
                [one] if (*b).boolop == sys::BoolExprType_NOT_EXPR => node = *one,
                _ => return None,
            }
        }
        if nodes::tag(node) != sys::NodeTag_T_SubLink {
            return None;
        }
        let link = node as *mut sys::SubLink;
        ((*link).subLinkType == sys::SubLinkType_EXISTS_SUBLINK
            && nodes::tag((*link).subselect) == sys::NodeTag_T_Query)
            .then(|| (*link).subselect as *mut sys::Query)
    }
}

/// Is `sub` parallel-safe throughout (no nested subquery, no restricted function), reading only
/// permanent plain tables (a parallel worker cannot see the leader's temporary tables)?
///
/// # Safety
/// `sub` is an analyzed subquery.
unsafe fn subquery_parallel_safe(sub: *mut sys::Query) -> PgResult<bool> {
    // SAFETY: a walk over the analyzed subquery.
    if guard(|| unsafe { sys::pgf_max_parallel_hazard(sub) })? != b's' as std::ffi::c_char {
        return Ok(false);
    }
    // SAFETY: the subquery's range table, read per its entries' kinds.
    for rte in unsafe { list::<sys::RangeTblEntry>((*sub).rtable) } {
        // SAFETY: the subquery's rtable is a List of RangeTblEntry.
        match unsafe { (*rte).rtekind } {
            sys::RTEKind_RTE_JOIN => {}
            sys::RTEKind_RTE_RELATION => {
                // SAFETY: `rte` is a RangeTblEntry of kind RTE_RELATION.
                if !workers_may_read(unsafe { (*rte).relid })? {
                    return Ok(false);
                }
            }
            _ => return Ok(false),
        }
    }
    Ok(true)
}
