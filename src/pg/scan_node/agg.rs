//! The Agg node (hashed, or sorted with a Sort by the GROUP BY keys below it) PostgreSQL runs above the
//! PgFusionScan node when it computes the query's grouping and aggregates (see
//! `crate::frontend::AggSpec`): built as `create_agg_plan` and `set_plan_references` build a
//! sorted or plain Agg, so the aggregates, their transition and final functions and their errors
//! are PostgreSQL's. Its target list and HAVING qual refer to its child's columns by position
//! (`OUTER_VAR`) and go through the planner's expression preprocessing first; then their
//! aggregate calls are numbered (`aggno`, `aggtransno`, `aggtranstype`) as `preprocess_aggrefs`
//! numbers them after that folding (a folded-away call leaves no gap the executor would trip
//! on).

use super::sort::{column_array, plan_above, sort_node};
use crate::frontend::AggSpec;
use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{Kind, Node, Visit};
use crate::pg::nodes::{self, list};
use crate::pg::sys;

/// `child` under a Sort by the GROUP BY keys (sorted grouping only) and the Agg node; returns
/// the new top plan node. `planned` prepares an expression for the executor
/// (`expression_planner`).
pub(super) fn above(
    child: *mut sys::Plan,
    spec: &AggSpec,
    planned: &mut dyn FnMut(*mut sys::Node) -> PgResult<*mut sys::Node>,
) -> PgResult<*mut sys::Plan> {
    // SAFETY: `child` is a valid plan; its target list is read.
    let width = unsafe { list::<sys::TargetEntry>((*child).targetlist).len() };
    let keys = &spec.keys;
    if keys.iter().any(|k| k.resno < 1 || k.resno as usize > width) {
        return Err(PgError::internal("GROUP BY key outside the node's target list"));
    }
    let mut top = child;
    if !keys.is_empty() && !spec.hashed {
        top = sort_node(top, keys)?;
    }
    let tlist = planned(spec.tlist.as_ptr() as *mut sys::Node)? as *mut sys::List;
    let qual = if spec.qual.is_nil() {
        std::ptr::null_mut()
    } else {
        planned(spec.qual.as_ptr() as *mut sys::Node)? as *mut sys::List
    };
    number_aggregates(&[tlist, qual])?;
    let cols = (
        column_array(keys, |k| k.resno)?,
        column_array(keys, |k| k.eqop)?,
        column_array(keys, |k| k.collation)?,
    );
    let agg: *mut sys::Agg = nodes::make(sys::NodeTag_T_Agg)?;
    // An Agg node just made, filled with arrays of the keys' length.
    // SAFETY: `agg` is that node, not aliased; `top` is a valid plan.
    unsafe {
        let a = &mut *agg;
        a.aggstrategy = match (keys.is_empty(), spec.hashed) {
            (true, _) => sys::AggStrategy_AGG_PLAIN,
            (false, true) => sys::AggStrategy_AGG_HASHED,
            (false, false) => sys::AggStrategy_AGG_SORTED,
        };
        a.aggsplit = sys::AggSplit_AGGSPLIT_SIMPLE;
        a.numCols = keys.len() as i32;
        (a.grpColIdx, a.grpOperators, a.grpCollations) = cols;
        // The hash table's first size (it grows, and spills past work_mem * hash_mem_multiplier).
        a.numGroups = if spec.hashed { 1024 } else { 1 };
        a.plan.qual = qual;
        top = plan_above(std::ptr::addr_of_mut!(a.plan), top, tlist);
        if keys.is_empty() {
            (*top).plan_rows = 1.0;
        }
    }
    Ok(top)
}

/// Numbers the aggregate calls of the Agg node's planned expressions (`lists`: its target list,
/// its qual) as `preprocess_aggrefs` does: in order, an equal call without volatile functions
/// sharing the number of the first (one transition state, one sort), each with its transition
/// type resolved.
fn number_aggregates(lists: &[*mut sys::List]) -> PgResult<()> {
    let mut seen: Vec<(Node, i32)> = Vec::new();
    for &l in lists {
        let Some(root) = Node::from_ptr(l) else { continue };
        root.walk(|node, _| {
            let Kind::Aggref(a) = node.kind() else { return Ok(Visit::Children) };
            a.clear_numbers();
            let mut number = None;
            if !node.contains_volatile_functions()? {
                for (other, n) in &seen {
                    if other.equal(node)? {
                        number = Some(*n);
                        break;
                    }
                }
            }
            let n = match number {
                Some(n) => n,
                None => {
                    let n =
                        i32::try_from(seen.len()).map_err(|_| PgError::internal("too many aggregates"))?;
                    // A copy: the call itself is numbered below.
                    seen.push((node.copy()?, n));
                    n
                }
            };
            a.number_for_agg_node(n)?;
            // Aggregates do not nest at one level (the parser's rule).
            Ok(Visit::Skip)
        })?;
    }
    Ok(())
}
