//! The ProjectSet PostgreSQL runs above the PgFusionScan node (with the query's Sort below it
//! when no ORDER BY key is a set-returning function's result) when it expands the select list's
//! set-returning functions (see `crate::frontend::ProjectSetSpec`): built as
//! `create_project_set_plan` and `set_plan_references` build it, so the expansion (several
//! functions in lockstep) and its errors are PostgreSQL's. Its target list refers to its child's
//! columns by position (`OUTER_VAR`) and goes through the planner's expression preprocessing.

use super::sort::{plan_above, sort_node};
use crate::frontend::ProjectSetSpec;
use crate::pg::error::{PgError, PgResult};
use crate::pg::nodes::{self, list};
use crate::pg::sys;

/// `child` under the query's Sort (when it runs below) and a ProjectSet computing the query's
/// target list; returns the new top plan node. `planned` prepares an expression for the executor
/// (`expression_planner`).
pub(super) fn above(
    child: *mut sys::Plan,
    spec: &ProjectSetSpec,
    planned: &mut dyn FnMut(*mut sys::Node) -> PgResult<*mut sys::Node>,
) -> PgResult<*mut sys::Plan> {
    let mut top = child;
    if !spec.sort_below.is_empty() {
        // SAFETY: `top` is a valid plan; its target list is read.
        let width = unsafe { list::<sys::TargetEntry>((*top).targetlist).len() };
        if spec.sort_below.iter().any(|k| k.resno < 1 || k.resno as usize > width) {
            return Err(PgError::internal("ORDER BY key outside the node's target list"));
        }
        top = sort_node(top, &spec.sort_below)?;
    }
    let tlist = planned(spec.tlist.as_ptr() as *mut sys::Node)? as *mut sys::List;
    let ps: *mut sys::ProjectSet = nodes::make(sys::NodeTag_T_ProjectSet)?;
    // SAFETY: a ProjectSet node just made, over the valid plan `top`.
    Ok(unsafe { plan_above(std::ptr::addr_of_mut!((*ps).plan), top, tlist) })
}
