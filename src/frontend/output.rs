//! What a block outputs to the node: the custom scan target list describing its columns, and
//! ORDER BY over them.

use super::types::{expr_type, is_blank_padded, is_builtin, op_name, order_safe};
use super::unsupported;
use crate::page::ColumnType;
use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{make_target_entry, List, Node, Query, TargetEntry};
use crate::plan::spec::SortKey;

pub(super) fn sort_keys(
    query: Query,
    tle_column: &dyn Fn(TargetEntry) -> PgResult<Option<usize>>,
    stage_types: &[ColumnType],
) -> PgResult<Vec<SortKey>> {
    let mut keys = Vec::new();
    for sgc in query.sort_clause() {
        let tle = query.sort_group_tle(sgc)?;
        let column = tle_column(tle)?.ok_or_else(|| {
            unsupported(
                "ORDER BY an expression computed after DataFusion (over aggregates, or over several tables)",
            )
        })?;
        let name = op_name(sgc.sortop())?;
        if !is_builtin(sgc.sortop()) || !(name == "<" || name == ">") {
            return Err(unsupported(format!("ORDER BY with operator {name}")));
        }
        let expr = tle.expr().ok_or_else(|| PgError::internal("target entry without an expression"))?;
        let (typid, _, coll) = expr_type(expr)?;
        if !order_safe(stage_types[column], coll)? {
            return Err(unsupported(
                "ORDER BY on this type or collation (text sorts only under the C collation)",
            ));
        }
        keys.push(SortKey {
            column,
            descending: name == ">",
            nulls_first: sgc.nulls_first(),
            blank_padded: is_blank_padded(typid)?,
        });
    }
    Ok(keys)
}

/// The custom scan target list describing the node's scan tuple: one entry per expression.
pub(super) fn scan_tlist_of(exprs: &[Node]) -> PgResult<List> {
    let mut tlist = List::NIL;
    for (i, e) in exprs.iter().enumerate() {
        tlist = tlist.append(make_target_entry(*e, (i + 1) as i16)?)?;
    }
    Ok(tlist)
}
