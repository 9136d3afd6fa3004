//! The WindowAgg nodes (with a Sort below each where needed) PostgreSQL runs above the
//! PgFusionScan node when it computes the query's window functions (see
//! `crate::frontend::WindowAggSpec`): built as `create_windowagg_plan` and `set_plan_references`
//! build them, so frames, window functions and their errors are PostgreSQL's. Each node's
//! target list refers to its child's columns by position (`OUTER_VAR`); its expressions and
//! frame offsets go through the planner's expression preprocessing first, as the node's own.

use super::sort::{column_array, plan_above, sort_node};
use crate::frontend::WindowAggSpec;
#[cfg(pg_ge18)]
use crate::pg::error::guard;
use crate::pg::error::{PgError, PgResult};
use crate::pg::nodes::{self, list};
use crate::pg::sys;

/// `child` under the window nodes of `windows`, bottom first; returns the new top plan node.
/// `planned` prepares an expression for the executor (`expression_planner`).
pub(super) fn above(
    child: *mut sys::Plan,
    windows: &[WindowAggSpec],
    planned: &mut dyn FnMut(*mut sys::Node) -> PgResult<*mut sys::Node>,
) -> PgResult<*mut sys::Plan> {
    let mut top = child;
    #[cfg(pg_ge18)]
    let names = window_names(windows)?;
    for (i, w) in windows.iter().enumerate() {
        // SAFETY: `top` is a valid plan; its target list is read.
        let width = unsafe { list::<sys::TargetEntry>((*top).targetlist).len() };
        let keys = w.sort.iter().chain(&w.partition).chain(&w.order);
        if keys.clone().any(|k| k.resno < 1 || k.resno as usize > width) {
            return Err(PgError::internal("window key outside the child's target list"));
        }
        if !w.sort.is_empty() {
            top = sort_node(top, &w.sort)?;
        }
        let tlist = planned(w.tlist.as_ptr() as *mut sys::Node)? as *mut sys::List;
        let wc = w.clause.as_ptr();
        let agg: *mut sys::WindowAgg = nodes::make(sys::NodeTag_T_WindowAgg)?;
        let (p, o) = (&w.partition, &w.order);
        let part =
            (column_array(p, |k| k.resno)?, column_array(p, |k| k.eqop)?, column_array(p, |k| k.collation)?);
        let ord =
            (column_array(o, |k| k.resno)?, column_array(o, |k| k.eqop)?, column_array(o, |k| k.collation)?);
        // SAFETY: `wc` is the analyzed query's window clause, valid through planning.
        let (start, end) = unsafe { ((*wc).startOffset, (*wc).endOffset) };
        let start = if start.is_null() { start } else { planned(start)? };
        let end = if end.is_null() { end } else { planned(end)? };
        // A WindowAgg node just made, filled with arrays of the keys' lengths.
        // SAFETY: `agg` is that node, not aliased; `top` is a valid plan; `wc` as above.
        unsafe {
            let a = &mut *agg;
            let c = &*wc;
            a.winref = c.winref;
            a.partNumCols = p.len() as i32;
            (a.partColIdx, a.partOperators, a.partCollations) = part;
            a.ordNumCols = o.len() as i32;
            (a.ordColIdx, a.ordOperators, a.ordCollations) = ord;
            a.frameOptions = c.frameOptions;
            a.startOffset = start;
            a.endOffset = end;
            a.startInRangeFunc = c.startInRangeFunc;
            a.endInRangeFunc = c.endInRangeFunc;
            a.inRangeColl = c.inRangeColl;
            a.inRangeAsc = c.inRangeAsc;
            a.inRangeNullsFirst = c.inRangeNullsFirst;
            a.topWindow = i + 1 == windows.len();
            #[cfg(pg_ge18)]
            {
                a.winname = names[i];
            }
            top = plan_above(std::ptr::addr_of_mut!(a.plan), top, tlist);
        }
    }
    Ok(top)
}

/// The windows' names as EXPLAIN shows them (18), as the planner names them
/// (`name_active_windows`): a clause's own, or `w1`, `w2`, ... in order for unnamed ones,
/// skipping names a named window has.
#[cfg(pg_ge18)]
fn window_names(windows: &[WindowAggSpec]) -> PgResult<Vec<*mut std::ffi::c_char>> {
    let clause_name = |w: &WindowAggSpec| {
        // SAFETY: the clauses are the analyzed query's, valid through planning; names are C strings.
        unsafe { (*w.clause.as_ptr()).name }
    };
    let own: Vec<*mut std::ffi::c_char> = windows.iter().map(clause_name).collect();
    let taken: Vec<String> = own
        .iter()
        .filter(|p| !p.is_null())
        // SAFETY: as above.
        .map(|&p| unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned())
        .collect();
    let mut next = 1;
    let mut out = Vec::with_capacity(own.len());
    for p in own {
        if !p.is_null() {
            out.push(p);
            continue;
        }
        let name = loop {
            let n = format!("w{next}");
            next += 1;
            if !taken.contains(&n) {
                break n;
            }
        };
        let c = std::ffi::CString::new(name).map_err(|e| PgError::internal(e.to_string()))?;
        // SAFETY: pstrdup copies the string (it outlives the call) into the current memory context.
        out.push(guard(|| unsafe { sys::pstrdup(c.as_ptr()) })?);
    }
    Ok(out)
}
