//! The range table of the `PgFusionScan` plan and what the cached plan depends on.
//!
//! Rules:
//! - The plan's range table is PostgreSQL's flat range table of the whole query: the translated
//!   top query's entries first (the node's expressions refer to them by index), then every entry
//!   of every nested level of the analyzed query (subqueries in FROM, sublinks, WITH queries, a
//!   view's own entry), flattened as the planner's `add_rtes_to_flat_rtable` does. The
//!   executor's start therefore checks every relation and view any part of the query reads,
//!   with each entry's rights (`checkAsUser`; from PostgreSQL 16 on in the statement's
//!   `permInfos`, which this module fills as the planner does), at every execution and before
//!   any leaf runs;
//!   and a cached plan takes every entry's lock (`rellockmode`) before it is used. The partitions
//!   and inheritance children the leaves' plans read follow, without rights of their own
//!   (`with_children`). pg_fusion writes no permission check or lock call of its own.
//! - The plan depends on what `extract_query_dependencies` finds in the analyzed query and on
//!   what each leaf's plan depends on (relations, user functions, row-level security, indexes
//!   not yet valid for old snapshots): the plan cache invalidates the plan exactly as it would
//!   PostgreSQL's own.

use std::ffi::c_void;

use super::error::{guard, PgError, PgResult};
use super::nodes::{self, list};
use super::sys;

/// The flat range table and its permission infos: `top` (the translated top query's range
/// table, whose entries refer to `top_perminfos`), then the entries of every query nested in
/// `original` (the analyzed query), flattened. On PostgreSQL 16 and later the rights live in the
/// permission infos (`PlannedStmt.permInfos`), one per entry that has rights to check, each
/// entry renumbered as `add_rte_to_flat_rtable` does; on 15 the list is NIL.
pub fn flat(
    top: *mut sys::List,
    top_perminfos: *mut sys::List,
    original: *mut sys::Query,
) -> PgResult<(*mut sys::List, *mut sys::List)> {
    let mut out = top;
    // The top entries keep their `perminfoindex`: the flat list starts with their infos.
    // SAFETY: list_copy of a valid (possibly NIL) List of nodes.
    let mut perminfos = guard(|| unsafe { sys::list_copy(top_perminfos) })?;
    let mut nested: Vec<*mut sys::Query> = Vec::new();
    nested_queries(original, &mut nested)?;
    for q in nested {
        // SAFETY: a valid nested Query of the analyzed query.
        let (rtable, src_perminfos) = unsafe { ((*q).rtable, sys::pgf_query_perminfos(q)) };
        // SAFETY: as above.
        for rte in unsafe { list::<sys::RangeTblEntry>(rtable) } {
            let new = flat_copy(rte)?;
            let p = &mut perminfos as *mut *mut sys::List;
            // SAFETY: `rte` is an entry of `q` (whose infos are `src_perminfos`), `new` its copy.
            guard(|| unsafe { sys::pgf_flat_perminfo(p, src_perminfos, rte, new) })?;
            out = nodes::append(out, new as *mut c_void)?;
        }
    }
    Ok((out, perminfos))
}

/// `rtable` (the flat range table) with the partitions and inheritance children the leaves'
/// plans expanded their tables into appended (each leaf plan's `appendRelations`), as
/// PostgreSQL's own plan lists them: a cached plan then locks them before it runs, as the
/// leaves' executors expect. They carry no rights to check (PostgreSQL checks the parent's).
pub fn with_children(rtable: *mut sys::List, leaves: &[*mut sys::PlannedStmt]) -> PgResult<*mut sys::List> {
    let mut out = rtable;
    for &stmt in leaves {
        // Its AppendRelInfos name entries of its range table, checked against its length.
        // SAFETY: `stmt` is a valid PlannedStmt the planner built; only its Lists are read.
        unsafe {
            let entries = list::<sys::RangeTblEntry>((*stmt).rtable);
            for info in list::<sys::AppendRelInfo>((*stmt).appendRelations) {
                let child = (*info).child_relid as usize;
                let rte = *entries
                    .get(child.wrapping_sub(1))
                    .ok_or_else(|| PgError::internal("append relation outside the leaf's range table"))?;
                if (*rte).rtekind == sys::RTEKind_RTE_RELATION {
                    out = nodes::append(out, flat_copy(rte)? as *mut c_void)?;
                }
            }
        }
    }
    Ok(out)
}

/// A copy of `rte` without the parts that belong to its query level (subquery, join aliases,
/// functions, security quals, ...), as `add_rte_to_flat_rtable` keeps it: what remains is what
/// the executor reads at start (relation, lock mode, rights).
fn flat_copy(rte: *mut sys::RangeTblEntry) -> PgResult<*mut sys::RangeTblEntry> {
    let new: *mut sys::RangeTblEntry = nodes::make(sys::NodeTag_T_RangeTblEntry)?;
    // SAFETY: both are RangeTblEntry nodes; the copy is shallow and then loses every pointer
    // into the source's query level (the rest, names and bitmaps, is read-only for the executor).
    unsafe {
        *new = *rte;
        let n = &mut *new;
        n.tablesample = std::ptr::null_mut();
        n.subquery = std::ptr::null_mut();
        n.joinaliasvars = std::ptr::null_mut();
        n.joinleftcols = std::ptr::null_mut();
        n.joinrightcols = std::ptr::null_mut();
        n.join_using_alias = std::ptr::null_mut();
        n.functions = std::ptr::null_mut();
        n.tablefunc = std::ptr::null_mut();
        n.values_lists = std::ptr::null_mut();
        n.coltypes = std::ptr::null_mut();
        n.coltypmods = std::ptr::null_mut();
        n.colcollations = std::ptr::null_mut();
        n.securityQuals = std::ptr::null_mut();
        #[cfg(pg_ge18)]
        {
            n.groupexprs = std::ptr::null_mut();
        }
    }
    Ok(new)
}

/// Every query nested in `q` (not `q` itself), outer levels first.
fn nested_queries(q: *mut sys::Query, out: &mut Vec<*mut sys::Query>) -> PgResult<()> {
    // The analyzed query's tree: subqueries in FROM, sublinks, WITH queries.
    super::walk::walk_query(q, 0, |node, _| {
        // SAFETY: a valid node of the query tree.
        if unsafe { nodes::tag(node) } == sys::NodeTag_T_Query {
            out.push(node as *mut sys::Query);
        }
        Ok(super::walk::Visit::Children)
    })?;
    Ok(())
}

/// What a plan depends on, for the plan cache.
pub struct Dependencies {
    pub relation_oids: *mut sys::List,
    pub inval_items: *mut sys::List,
    pub depends_on_role: bool,
    pub transient: bool,
}

/// The dependencies of the analyzed query `original` and of the planned leaves.
pub fn dependencies(original: *mut sys::Query, leaves: &[*mut sys::PlannedStmt]) -> PgResult<Dependencies> {
    let mut relation_oids: *mut sys::List = std::ptr::null_mut();
    let mut inval_items: *mut sys::List = std::ptr::null_mut();
    let mut has_row_security = false;
    let (ro, ii, rs) =
        (&mut relation_oids as *mut _, &mut inval_items as *mut _, &mut has_row_security as *mut _);
    // SAFETY: walks the analyzed query; the three outputs are ours.
    guard(|| unsafe { sys::extract_query_dependencies(original as *mut sys::Node, ro, ii, rs) })?;
    let mut d = Dependencies {
        relation_oids,
        inval_items,
        // SAFETY: a valid analyzed Query.
        depends_on_role: has_row_security || unsafe { (*original).hasRowSecurity },
        transient: false,
    };
    for &stmt in leaves {
        if stmt.is_null() {
            return Err(PgError::internal("leaf without a plan"));
        }
        // SAFETY: a PlannedStmt the planner built; list_concat copies the cells of the second
        // list onto the first (palloc'd in the current context).
        unsafe {
            let s = &*stmt;
            let (a, b) = (d.relation_oids, s.relationOids);
            d.relation_oids = guard(|| sys::list_concat(a, b))?;
            let (a, b) = (d.inval_items, s.invalItems);
            d.inval_items = guard(|| sys::list_concat(a, b))?;
            d.depends_on_role |= s.dependsOnRole;
            d.transient |= s.transientPlan;
        }
    }
    Ok(d)
}
