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

use crate::pg::error::{guard, PgError, PgResult};
use crate::pg::nodes::{self, cstr, list};
use crate::pg::sys;
use crate::pg::walk::{self, Visit};

/// Turn one CTE reference into a subquery RTE over a copy of the CTE's query.
///
/// # Safety
/// `rte` is an RTE_CTE of the tree being walked, `depth` query levels below the top query, and
/// refers to the top query's WITH list, whose (name, query) pairs are `ctes`.
unsafe fn inline(
    rte: &mut sys::RangeTblEntry,
    ctes: &[(String, *mut sys::Node)],
    depth: u32,
) -> PgResult<()> {
    // SAFETY: per the contract; ctename is a C string.
    let name = unsafe { cstr(rte.ctename) };
    let query = ctes
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, q)| *q)
        .ok_or_else(|| PgError::internal(format!("WITH query \"{name}\" not found")))?;
    let copy = nodes::copy(query)?;
    let levelsup = depth as i32;
    if levelsup > 0 {
        // SAFETY: shifts references that leave the copy (to sibling CTEs) by the new depth.
        guard(|| unsafe { sys::IncrementVarSublevelsUp(copy, levelsup, 1) })?;
    }
    // The subquery's own output names may differ from the names the query uses (`WITH
    // r (a, b) AS ...`): an alias with the column names keeps a deparsed reference (a subquery
    // in scan SQL) valid, as `(SELECT ...) r(a, b)`.
    // SAFETY: every RTE of an analyzed query has its eref.
    let colnames = nodes::copy(unsafe { (*rte.eref).colnames })?;
    if rte.alias.is_null() {
        let c = std::ffi::CString::new(name).map_err(|e| PgError::internal(e.to_string()))?;
        let p = c.as_ptr();
        // SAFETY: makeAlias copies the name.
        rte.alias = guard(|| unsafe { sys::makeAlias(p, colnames) })?;
        // SAFETY: the alias is non-null here.
    } else if unsafe { (*rte.alias).colnames.is_null() } {
        // SAFETY: the RTE's own alias.
        unsafe { (*rte.alias).colnames = colnames };
    }
    rte.rtekind = sys::RTEKind_RTE_SUBQUERY;
    rte.subquery = copy as *mut sys::Query;
    rte.security_barrier = false;
    rte.ctename = std::ptr::null_mut();
    rte.ctelevelsup = 0;
    rte.self_reference = false;
    rte.coltypes = std::ptr::null_mut();
    rte.coltypmods = std::ptr::null_mut();
    rte.colcollations = std::ptr::null_mut();
    Ok(())
}

/// Inline every WITH query of `q` (our copy) where it is referenced, and drop the WITH list.
pub fn inline_ctes(q: *mut sys::Query) -> PgResult<()> {
    // SAFETY: `q` is our copy of a valid Query.
    let query = unsafe { &mut *q };
    if query.cteList.is_null() {
        return Ok(());
    }
    if query.hasRecursive {
        return Err(PgError::unsupported("WITH RECURSIVE"));
    }
    if query.hasModifyingCTE {
        return Err(PgError::unsupported("data-modifying statement in WITH"));
    }
    let mut ctes = Vec::new();
    // SAFETY: cteList is a list of CommonTableExpr whose ctequery is a Query.
    for cte in unsafe { list::<sys::CommonTableExpr>(query.cteList) } {
        // SAFETY: as above.
        let (name, cq) = unsafe { (cstr((*cte).ctename), (*cte).ctequery) };
        // SAFETY: as above.
        let sub = unsafe { &*(cq as *mut sys::Query) };
        if sub.commandType != sys::CmdType_CMD_SELECT || !sub.utilityStmt.is_null() {
            return Err(PgError::unsupported("data-modifying statement in WITH"));
        }
        // SAFETY: a valid Query node.
        if guard(|| unsafe { sys::contain_volatile_functions(cq) })? {
            return Err(PgError::unsupported(
                "volatile function in a WITH query (PostgreSQL evaluates it once)",
            ));
        }
        ctes.push((name, cq));
    }
    // Every reference, at any depth: a reference `depth` levels down has ctelevelsup = depth.
    walk::walk_query(q, sys::QTW_EXAMINE_RTES_BEFORE, |node, depth| {
        // SAFETY: a valid node of our copy, read per its tag.
        unsafe {
            if nodes::tag(node) == sys::NodeTag_T_RangeTblEntry {
                let rte = &mut *(node as *mut sys::RangeTblEntry);
                if rte.rtekind == sys::RTEKind_RTE_CTE && rte.ctelevelsup == depth {
                    inline(rte, &ctes, depth)?;
                }
                // query_tree_walker goes on into the (new) subquery itself.
                return Ok(Visit::Skip);
            }
        }
        Ok(Visit::Children)
    })?;
    query.cteList = std::ptr::null_mut();
    Ok(())
}
