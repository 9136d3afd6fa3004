//! What a block outputs to the node: the custom scan target list describing its columns, and
//! ORDER BY over them.

use std::ffi::c_void;

use super::types::{expr_type, is_builtin, op_name, order_safe};
use super::unsupported;
use crate::page::ColumnType;
use crate::pg::catalog;
use crate::pg::error::{guard, PgResult};
use crate::pg::nodes::{self, list};
use crate::pg::sys;
use crate::plan::spec::SortKey;

pub(super) fn sort_keys(
    query: &sys::Query,
    tle_column: &dyn Fn(*mut sys::TargetEntry) -> PgResult<Option<usize>>,
    stage_types: &[ColumnType],
) -> PgResult<Vec<SortKey>> {
    let mut keys = Vec::new();
    // SAFETY: sortClause is a list of SortGroupClause; targetList of TargetEntry.
    for sgc in unsafe { list::<sys::SortGroupClause>(query.sortClause) } {
        // SAFETY: sortClause is a List of SortGroupClause, targetList of TargetEntry.
        let sgc = unsafe { &*sgc };
        let tle =
            // SAFETY: `sgc` is a SortGroupClause of the query's sortClause.
            guard(|| unsafe { sys::get_sortgroupclause_tle(sgc as *const _ as *mut _, query.targetList) })?;
        let column = tle_column(tle)?.ok_or_else(|| {
            unsupported(
                "ORDER BY an expression computed after DataFusion (over aggregates, or over several tables)",
            )
        })?;
        let name = op_name(sgc.sortop)?;
        if !is_builtin(sgc.sortop) || !(name == "<" || name == ">") {
            return Err(unsupported(format!("ORDER BY with operator {name}")));
        }
        // SAFETY: tle is a TargetEntry of the query.
        let (typid, _, coll) = expr_type(unsafe { (*tle).expr } as *mut sys::Node)?;
        if !order_safe(stage_types[column], coll)? {
            return Err(unsupported(
                "ORDER BY on this type or collation (text sorts only under the C collation)",
            ));
        }
        keys.push(SortKey {
            column,
            descending: name == ">",
            nulls_first: sgc.nulls_first,
            blank_padded: typid == catalog::BPCHAROID,
        });
    }
    Ok(keys)
}

/// The custom scan target list describing the node's scan tuple: one entry per expression.
pub(super) fn scan_tlist_of(exprs: &[*mut sys::Node]) -> PgResult<*mut sys::List> {
    let mut tlist: *mut sys::List = std::ptr::null_mut();
    for (i, e) in exprs.iter().enumerate() {
        // SAFETY: makeTargetEntry allocates; `e` is a valid expression.
        let entry = guard(|| unsafe {
            sys::makeTargetEntry(*e as *mut sys::Expr, (i + 1) as i16, std::ptr::null_mut(), false)
        })?;
        tlist = nodes::append(tlist, entry as *mut c_void)?;
    }
    Ok(tlist)
}
