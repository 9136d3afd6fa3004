//! EXPLAIN of a PgFusionScan node: the DataFusion plan, each scan leaf (relation, producers,
//! its PostgreSQL plan), and under ANALYZE the executed plan with DataFusion's metrics.

use std::ffi::{c_void, CString};

use super::plan::private;
use super::run::Run;
use crate::pg::entry::entry;
use crate::pg::error::{guard, PgError, PgResult};
use crate::pg::nodes;
use crate::pg::sys;

#[no_mangle]
pub extern "C" fn pgf_rs_explain(
    node: *mut sys::CustomScanState,
    _ancestors: *mut sys::List,
    es: *mut sys::ExplainState,
) {
    entry(|| explain(node, es))
}

fn explain(node: *mut sys::CustomScanState, es: *mut sys::ExplainState) -> PgResult<()> {
    let p = private(node)?;
    let cstr = |s: &str| CString::new(s.replace('\0', "")).map_err(|e| PgError::internal(e.to_string()));
    let prop = |label: &str, value: &str| -> PgResult<()> {
        let (l, v) = (cstr(label)?, cstr(value)?);
        let (lp, vp) = (l.as_ptr(), v.as_ptr());
        // SAFETY: ExplainPropertyText copies both strings.
        guard(|| unsafe { sys::ExplainPropertyText(lp, vp, es) })
    };
    let int = |label: &str, value: i64| -> PgResult<()> {
        let l = cstr(label)?;
        let lp = l.as_ptr();
        // SAFETY: as above.
        guard(|| unsafe { sys::ExplainPropertyInteger(lp, std::ptr::null(), value, es) })
    };
    // A multi-line plan: indented lines under a heading in text, a list of lines otherwise.
    let lines = |label: &str, text: &str| -> PgResult<()> {
        // SAFETY: reading the ExplainState's format.
        if unsafe { (*es).format == sys::ExplainFormat_EXPLAIN_FORMAT_TEXT } {
            let mut rendered = vec![cstr(&format!("{label}:\n"))?];
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                rendered.push(cstr(&format!("  {line}\n"))?);
            }
            let ptrs: Vec<*const std::ffi::c_char> = rendered.iter().map(|c| c.as_ptr()).collect();
            let ptrs = &ptrs;
            // SAFETY: es->str is the output buffer; the indent mirrors PostgreSQL's text format. The closure only borrows; the strings outlive it.
            guard(|| unsafe {
                for p in ptrs {
                    sys::appendStringInfoSpaces((*es).str_, (*es).indent * 2);
                    sys::appendStringInfoString((*es).str_, *p);
                }
            })
        } else {
            let mut items: *mut sys::List = std::ptr::null_mut();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let c = cstr(line)?;
                let cp = c.as_ptr();
                // SAFETY: pstrdup copies into the current (explain) memory context.
                items = guard(|| unsafe { sys::lappend(items, sys::pstrdup(cp) as *mut c_void) })?;
            }
            let l = cstr(label)?;
            let lp = l.as_ptr();
            // SAFETY: the list holds palloc'd C strings, as ExplainPropertyList expects.
            guard(|| unsafe { sys::ExplainPropertyList(lp, items, es) })
        }
    };
    // A group: `named` puts it under its name in the parent; `object` makes it an object (its
    // members are labeled properties) rather than an array.
    let group = |open: bool, kind: &str, named: bool, object: bool| -> PgResult<()> {
        let l = cstr(kind)?;
        let lp = l.as_ptr();
        let name = if named { lp } else { std::ptr::null() };
        // SAFETY: groups are opened and closed in pairs below.
        guard(|| unsafe {
            if open {
                sys::ExplainOpenGroup(lp, name, object, es)
            } else {
                sys::ExplainCloseGroup(lp, name, object, es)
            }
        })
    };
    // SAFETY: reading the ExplainState's flags; the run state is set by begin (NULL for EXPLAIN without ANALYZE) and still alive: EXPLAIN prints before ExecutorEnd.
    let (verbose, analyze, run) = unsafe {
        let run = sys::pgf_scan_state_get(node) as *const Run;
        ((*es).verbose, (*es).analyze, run.as_ref())
    };
    if let Some(choice) = &p.choice {
        // SAFETY: reading the ExplainState's COSTS option.
        prop("Engine", &choice.describe(unsafe { (*es).costs }))?;
    }
    lines("DataFusion Plan", &p.df_plan)?;
    group(true, "Scans", true, false)?;
    for (i, leaf) in p.leaves.iter().enumerate() {
        group(true, "Scan", false, true)?;
        prop("Relation", &leaf.relation)?;
        let Some(plan) = leaf.plan else {
            // Read once: the rows come from the shared scan listed further down.
            prop("Reads Shared Scan", leaf.shared.as_deref().unwrap_or(""))?;
            group(false, "Scan", false, true)?;
            continue;
        };
        if let (true, Some(q)) = (verbose, leaf.query) {
            // SAFETY: the leaf's query of the cached plan; deparsing only reads it.
            let sql = guard(|| unsafe { nodes::cstr(sys::pg_get_querydef(q, false)) })?;
            // Display only: ruleutils breaks clauses onto indented lines; one line here.
            let sql = sql.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
            prop("Scan SQL", &sql)?;
        }
        if verbose || analyze {
            // The leaf's own plan, or the index probe it was read by; with ANALYZE, as this
            // backend's producer ran it (its share of the probe's batches: the parallel
            // workers ran the others).
            let producer = run
                .and_then(|r| r.leaf_queries.get(i).copied().flatten())
                .and_then(|k| run.and_then(|r| r.producers.get(k)));
            let qd = producer.map(|p| p.query_desc()).filter(|qd| !qd.is_null());
            let shown = producer.and_then(|p| p.probe_plan()).unwrap_or(plan);
            lines("PostgreSQL Plan", &leaf_plan_text(node, es, shown, qd)?)?;
        }
        if analyze {
            // The leader backend, plus the parallel workers planned and started.
            let (planned, actual) = run.and_then(|r| r.leaf_producers.get(i).copied()).unwrap_or((1, 0));
            int("Scan Producers Planned", i64::from(planned))?;
            int("Scan Producers Actual", i64::from(actual))?;
        }
        group(false, "Scan", false, true)?;
    }
    group(false, "Scans", true, false)?;
    if let Some(plan) = run.and_then(|r| r.executed_plan.as_deref()) {
        // SAFETY: reading the ExplainState's timing flag.
        let timing = unsafe { (*es).timing };
        let shown = if timing { plan.to_string() } else { without_timings(plan) };
        lines("DataFusion Executed Plan", &shown)?;
    }
    Ok(())
}

/// A leaf's PostgreSQL plan as EXPLAIN text, with the options of `es` (VERBOSE, COSTS; with
/// ANALYZE the actual figures of `qd`, the producer that ran it: TIMING, BUFFERS).
fn leaf_plan_text(
    node: *mut sys::CustomScanState,
    es: *mut sys::ExplainState,
    plan: *mut sys::PlannedStmt,
    qd: Option<*mut sys::QueryDesc>,
) -> PgResult<String> {
    // SAFETY: a fresh ExplainState in the current (EXPLAIN's) memory context; the flags are copied from EXPLAIN's own. Without a started QueryDesc, ExplainOnePlan starts the plan with EXEC_FLAG_EXPLAIN_ONLY and prints it (it checks permissions like EXPLAIN does); with one, ExplainPrintPlan prints its instrumented state.
    let text = guard(|| unsafe {
        let outer = &*es;
        let e = sys::NewExplainState();
        (*e).verbose = outer.verbose;
        (*e).costs = outer.costs;
        (*e).summary = false;
        match qd {
            Some(qd) if outer.analyze => {
                (*e).analyze = true;
                (*e).timing = outer.timing;
                (*e).buffers = outer.buffers;
                sys::ExplainPrintPlan(e, qd);
            }
            _ => {
                let estate = (*node).ss.ps.state;
                sys::pgf_explain_one_plan(plan, e, (*estate).es_sourceText, (*estate).es_param_list_info);
            }
        }
        (*e).str_
    })?;
    // SAFETY: a valid StringInfo the explain functions filled.
    let bytes = unsafe { std::slice::from_raw_parts((*text).data as *const u8, (*text).len as usize) };
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// A plan with metrics without its time metrics (EXPLAIN ANALYZE with TIMING OFF): only the
/// row counts stay, so the output is as stable as PostgreSQL's own.
fn without_timings(plan: &str) -> String {
    plan.lines()
        .map(|line| match line.find(", metrics=[") {
            Some(at) => {
                let metrics = &line[at + ", metrics=[".len()..];
                let rows = metrics
                    .split(", ")
                    .find(|m| m.starts_with("output_rows="))
                    .map(|m| m.trim_end_matches(']'));
                format!("{}, metrics=[{}]", &line[..at], rows.unwrap_or(""))
            }
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
