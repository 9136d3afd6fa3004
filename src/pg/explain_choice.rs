//! EXPLAIN of a query `pg_fusion.enable = auto` gave to PostgreSQL: the plan is PostgreSQL's own,
//! so the choice and both estimates follow it as one more line (`Engine: PostgreSQL (...)`).
//! A query it gave to DataFusion shows the same in its PgFusionScan node (`scan_node::explain`).
//!
//! Rules:
//! - The planner hook records the choice of the top-level query it plans when PostgreSQL's plan
//!   wins ([`record`]) and clears it when DataFusion's does ([`forget`]); nothing nested is
//!   recorded (what PostgreSQL plans while pg_fusion plans is planned by PostgreSQL alone). The
//!   ExplainOneQuery hook sets the record aside, lets PostgreSQL (or the hook before ours) plan
//!   and explain the query, prints what was recorded meanwhile, and puts the outer record back
//!   (an EXPLAIN inside a function an outer EXPLAIN ANALYZE runs). Nothing recorded (another
//!   `enable` setting, a query pg_fusion never considered), nothing printed.
//! - TEXT format only: the other formats are documents PostgreSQL has closed by then.
//! - `EXPLAIN EXECUTE` does not go through the hook (it takes the prepared statement's plan from
//!   the plan cache), so it shows no such line.

use std::cell::RefCell;
use std::ffi::CString;

use super::entry::entry;
use super::error::{guard, PgError, PgResult};
use super::sys;
use crate::plan::cost::Choice;

thread_local! {
    static CHOICE: RefCell<Option<Choice>> = const { RefCell::new(None) };
}

static mut PREV_EXPLAIN_ONE_QUERY: sys::ExplainOneQuery_hook_type = None;

/// Install the hook. Only from _PG_init (through `super::hooks::install`).
pub fn install() {
    // SAFETY: _PG_init runs once per process before any query; hooks are process globals.
    unsafe {
        PREV_EXPLAIN_ONE_QUERY = sys::ExplainOneQuery_hook;
        sys::ExplainOneQuery_hook = Some(pgf_explain_one_query);
    }
}

/// The planner hook's choice for the query it is planning (shown if EXPLAIN asked for it).
pub fn record(choice: Choice) {
    put(Some(choice));
}

/// The query being planned has no such line (DataFusion runs it: its node shows the choice).
pub fn forget() {
    take();
}

fn put(choice: Option<Choice>) {
    CHOICE.with(|c| *c.borrow_mut() = choice);
}

fn take() -> Option<Choice> {
    CHOICE.with(|c| c.borrow_mut().take())
}

unsafe extern "C" fn pgf_explain_one_query(
    query: *mut sys::Query,
    cursor_options: i32,
    into: *mut sys::IntoClause,
    es: *mut sys::ExplainState,
    query_string: *const std::ffi::c_char,
    params: sys::ParamListInfo,
    query_env: *mut sys::QueryEnvironment,
) {
    entry(|| {
        // An EXPLAIN run by a function an outer EXPLAIN ANALYZE executes: the outer query's
        // choice comes back after this one is printed.
        let outer = take();
        // The previous hook, or PostgreSQL's own steps, with the arguments PostgreSQL gave us.
        // SAFETY: PostgreSQL's own valid arguments, forwarded unchanged; guard catches its ERROR.
        let r = guard(|| unsafe {
            match PREV_EXPLAIN_ONE_QUERY {
                Some(f) => f(query, cursor_options, into, es, query_string, params, query_env),
                None => sys::pgf_standard_explain_one_query(
                    query,
                    cursor_options,
                    into,
                    es,
                    query_string,
                    params,
                    query_env,
                ),
            }
        });
        let printed = r.and_then(|()| print(es));
        put(outer);
        printed
    })
}

fn print(es: *mut sys::ExplainState) -> PgResult<()> {
    let Some(choice) = take() else { return Ok(()) };
    // SAFETY: reading the ExplainState's format.
    if unsafe { (*es).format } != sys::ExplainFormat_EXPLAIN_FORMAT_TEXT {
        return Ok(());
    }
    // SAFETY: reading the ExplainState's COSTS option.
    let costs = unsafe { (*es).costs };
    let line = CString::new(format!("Engine: {}\n", choice.describe(costs).replace('\0', "")))
        .map_err(|e| PgError::internal(e.to_string()))?;
    let p = line.as_ptr();
    // SAFETY: es->str is EXPLAIN's output buffer; appendStringInfoString copies the string.
    guard(|| unsafe { sys::appendStringInfoString((*es).str_, p) })
}
