//! Walking and rewriting node trees with PostgreSQL's own walkers (`expression_tree_walker`,
//! `query_tree_walker`, `expression_tree_mutator`): one C callback each, Rust closures above.
//!
//! Rules:
//! - The closure is called for every node (never NULL). Its error, or its panic (as an internal
//!   error), ends the walk: the callback tells PostgreSQL's walker to stop (a mutator copies the
//!   rest unchanged), and the walk returns the error once the walker has returned normally. No
//!   panic crosses a C frame.
//! - The whole walk runs under [`guard`]: a PostgreSQL ERROR inside the walker longjmps over
//!   the callback frames, which own nothing, to that guard, and comes back as `Err`.
//! - A `Query` met inside the tree is walked with `query_tree_walker`, one level deeper
//!   (`depth`), with the walk's flags. A `RangeTblEntry` (met with `QTW_EXAMINE_RTES_BEFORE`) is
//!   walked into by `query_tree_walker` itself.
//! - The closure is never re-entered: it returns before the walker descends into the children.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{guard, panic_message, PgError, PgResult};
use super::nodes;
use super::sys;

/// What a walk does after visiting a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visit {
    /// Go on into the node's children.
    Children,
    /// Not into its children; go on with its siblings.
    Skip,
}

type Visitor<'a> = dyn FnMut(*mut sys::Node, u32) -> PgResult<Visit> + 'a;
type Replacer<'a> = dyn FnMut(*mut sys::Node) -> PgResult<Option<*mut sys::Node>> + 'a;

struct Walk<'a, 'b> {
    visit: &'b mut Visitor<'a>,
    depth: u32,
    flags: i32,
    error: Option<PgError>,
}

struct Mutate<'a, 'b> {
    replace: &'b mut Replacer<'a>,
    error: Option<PgError>,
}

unsafe extern "C" fn walk_cb(node: *mut sys::Node, ctx: *mut c_void) -> bool {
    if node.is_null() {
        return false;
    }
    let w = ctx as *mut Walk;
    // SAFETY: `ctx` is the Walk of the running walk, handed back unchanged by PostgreSQL's walkers; no other reference to it is live while this callback runs (the closure returns before any nested callback).
    let visited = unsafe {
        if (*w).error.is_some() {
            return true;
        }
        let depth = (*w).depth;
        let visit = &mut *(*w).visit;
        catch_unwind(AssertUnwindSafe(|| visit(node, depth)))
    };
    let error = match visited {
        Ok(Ok(Visit::Children)) => None,
        Ok(Ok(Visit::Skip)) => return false,
        Ok(Err(e)) => Some(e),
        Err(panic) => Some(PgError::internal(panic_message(panic))),
    };
    // SAFETY: as above; `node` is a valid node of the tree being walked.
    unsafe {
        if let Some(e) = error {
            (*w).error = Some(e);
            return true;
        }
        match nodes::tag(node) {
            sys::NodeTag_T_Query => {
                (*w).depth += 1;
                let stop =
                    sys::pgf_query_tree_walker(node as *mut sys::Query, Some(walk_cb), ctx, (*w).flags);
                (*w).depth -= 1;
                stop
            }
            sys::NodeTag_T_RangeTblEntry => false,
            _ => sys::pgf_expression_tree_walker(node, Some(walk_cb), ctx),
        }
    }
}

unsafe extern "C" fn mutate_cb(node: *mut sys::Node, ctx: *mut c_void) -> *mut sys::Node {
    let m = ctx as *mut Mutate;
    // SAFETY: `ctx` is the Mutate of the running rewrite, as in `walk_cb`.
    let replaced = unsafe {
        if (*m).error.is_some() || node.is_null() {
            return node;
        }
        let replace = &mut *(*m).replace;
        catch_unwind(AssertUnwindSafe(|| replace(node)))
    };
    let error = match replaced {
        Ok(Ok(Some(n))) => return n,
        Ok(Ok(None)) => None,
        Ok(Err(e)) => Some(e),
        Err(panic) => Some(PgError::internal(panic_message(panic))),
    };
    // SAFETY: as above; expression_tree_mutator copies `node` with its children rewritten.
    unsafe {
        match error {
            Some(e) => {
                (*m).error = Some(e);
                node
            }
            None => sys::pgf_expression_tree_mutator(node, Some(mutate_cb), ctx),
        }
    }
}

/// Walk the expression tree `e` (queries inside it one level deeper each), calling
/// `visit(node, depth)` for every node.
pub fn walk_expr(
    e: *mut sys::Node,
    mut visit: impl FnMut(*mut sys::Node, u32) -> PgResult<Visit>,
) -> PgResult<()> {
    let mut w = Walk { visit: &mut visit, depth: 0, flags: 0, error: None };
    let ctx = &mut w as *mut Walk as *mut c_void;
    // SAFETY: `e` is a valid expression tree; the callback gets `ctx` back (see `walk_cb`).
    guard(|| unsafe { walk_cb(e, ctx) })?;
    w.error.map_or(Ok(()), Err)
}

/// Walk the parts of the query `q` (not `q` itself) at depth 0, with `query_tree_walker`'s
/// `flags` (`QTW_*`) for it and every query inside it.
pub fn walk_query(
    q: *mut sys::Query,
    flags: u32,
    mut visit: impl FnMut(*mut sys::Node, u32) -> PgResult<Visit>,
) -> PgResult<()> {
    let flags = flags as i32;
    let mut w = Walk { visit: &mut visit, depth: 0, flags, error: None };
    let ctx = &mut w as *mut Walk as *mut c_void;
    // SAFETY: `q` is a valid Query; the callback gets `ctx` back (see `walk_cb`).
    guard(|| unsafe { sys::pgf_query_tree_walker(q, Some(walk_cb), ctx, flags) })?;
    w.error.map_or(Ok(()), Err)
}

/// A rewritten copy of the expression tree `e`: `replace(node)` gives a node's replacement, or
/// None to copy the node with its children rewritten the same way.
pub fn mutate_expr(
    e: *mut sys::Node,
    mut replace: impl FnMut(*mut sys::Node) -> PgResult<Option<*mut sys::Node>>,
) -> PgResult<*mut sys::Node> {
    let mut m = Mutate { replace: &mut replace, error: None };
    let ctx = &mut m as *mut Mutate as *mut c_void;
    // SAFETY: `e` is a valid expression tree; the callback gets `ctx` back (see `mutate_cb`).
    let out = guard(|| unsafe { mutate_cb(e, ctx) })?;
    match m.error {
        Some(err) => Err(err),
        None => Ok(out),
    }
}
