//! Reading and building PostgreSQL node trees: lists, strings, node tags, copies.
//!
//! Rules: every function that may raise (palloc, catalog lookups) goes through `guard`; plain
//! field reads of nodes PostgreSQL handed us are `unsafe` at the call site, with the node's
//! provenance as the justification.

use std::ffi::{c_char, CStr, CString};

use super::error::{guard, PgError, PgResult};
use super::sys;

/// The tag of a (non-null) node.
///
/// # Safety
/// `node` must point to a valid node.
pub unsafe fn tag(node: *const sys::Node) -> sys::NodeTag {
    // SAFETY: caller's contract.
    unsafe { sys::pgf_node_tag(node) }
}

/// The elements of a PostgreSQL `List` of pointers (NIL gives none).
///
/// # Safety
/// `list` must be NIL or a valid pointer list.
pub unsafe fn list<T>(list: *const sys::List) -> Vec<*mut T> {
    // SAFETY: caller's contract; list_length/list_nth do not raise on valid lists.
    unsafe {
        let n = sys::pgf_list_length(list);
        (0..n).map(|i| sys::pgf_list_nth(list, i) as *mut T).collect()
    }
}

pub fn append(l: *mut sys::List, item: *mut std::ffi::c_void) -> PgResult<*mut sys::List> {
    // SAFETY: lappend on NIL or a valid list; raises only on out of memory.
    guard(|| unsafe { sys::pgf_list_append(l, item) })
}

/// A String node holding `s` (palloc'd).
pub fn string_node(s: &str) -> PgResult<*mut sys::Node> {
    let c = CString::new(s.replace('\0', "")).map_err(|e| PgError::internal(e.to_string()))?;
    let p = c.as_ptr();
    // SAFETY: makeString(pstrdup(p)) copies the bytes; `c` outlives the call.
    guard(|| unsafe { sys::pgf_make_string(p) })
}

/// The text of a String node.
///
/// # Safety
/// `node` must be a String node.
pub unsafe fn string_value(node: *mut sys::Node) -> String {
    // SAFETY: caller's contract; strVal of a String node is a NUL-terminated C string.
    unsafe { cstr(sys::pgf_str_val(node)) }
}

/// Copy a C string into Rust (lossy UTF-8); NULL gives "".
///
/// # Safety
/// `p` must be NULL or a NUL-terminated string.
pub unsafe fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: caller's contract.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// The bytes of a C string (empty for NULL), in the server encoding.
///
/// # Safety
/// `p` must be NULL or a NUL-terminated string.
pub unsafe fn cstr_bytes(p: *const c_char) -> Vec<u8> {
    if p.is_null() {
        Vec::new()
    } else {
        // SAFETY: caller's contract.
        unsafe { CStr::from_ptr(p) }.to_bytes().to_vec()
    }
}

/// copyObject(node).
pub fn copy<T>(node: *const T) -> PgResult<*mut T> {
    // SAFETY: copyObjectImpl on a valid node; raises only on out of memory.
    guard(|| unsafe { sys::copyObjectImpl(node as *const std::ffi::c_void) as *mut T })
}

/// equal(a, b).
pub fn equal<T>(a: *const T, b: *const T) -> PgResult<bool> {
    // SAFETY: equal() compares valid node trees (an unknown node type is an elog(ERROR)).
    guard(|| unsafe { sys::equal(a as *const std::ffi::c_void, b as *const std::ffi::c_void) })
}

/// The position of the first item for which `pred` holds; `pred` may fail (a PostgreSQL
/// ERROR caught by `guard` goes up, never dropped).
pub fn try_position<I: IntoIterator>(
    items: I,
    mut pred: impl FnMut(I::Item) -> PgResult<bool>,
) -> PgResult<Option<usize>> {
    for (i, item) in items.into_iter().enumerate() {
        if pred(item)? {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// PostgreSQL's `check_stack_depth()`: every recursive walk of a node tree in Rust calls it at
/// each level, so a deep tree ends in PostgreSQL's ERROR (54001, `max_stack_depth`) rather than
/// in a stack overflow. The depth PostgreSQL measures includes the Rust frames.
pub fn check_stack_depth() -> PgResult<()> {
    // SAFETY: reads the stack pointer against the recorded stack base; raises on excess.
    guard(|| unsafe { sys::check_stack_depth() })
}

/// A zeroed node of type `T` with tag `tag`.
pub fn make<T>(tag: sys::NodeTag) -> PgResult<*mut T> {
    let size = std::mem::size_of::<T>();
    // SAFETY: newNode(size, tag) allocates and zeroes `size` bytes and sets the tag.
    guard(|| unsafe { sys::pgf_make_node(tag, size) as *mut T })
}
