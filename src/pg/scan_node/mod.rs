//! The `Custom Scan (PgFusionScan)` plan node: building the PlannedStmt, and the executor
//! callbacks that run the query (send the plan, produce the scan, import result pages).
//!
//! Rules:
//! - The plan travels in `custom_private` as String nodes (copyable, so the plan cache and
//!   prepared statements keep it): see `plan`.
//! - The Rust execution state is owned by a Box whose address hangs off the state node; it is
//!   freed by EndCustomScan on success, or by a reset callback of the executor's memory context on
//!   ERROR/cancel. Its Drop gives back every slot and page and touches no executor state.
//! - Result values are built in the per-tuple memory context (ExecScan resets it every row).
//!
//! Files: `plan` (the PlannedStmt and its private list), `run` (the executor callbacks and the
//! state of one execution), `slot` (result values into the scan tuple slot), `explain`, `sort`
//! (PostgreSQL's Sort and Limit above the node when DataFusion cannot order the result), `agg`,
//! `window_agg`, `project_set` (its Agg, WindowAgg and ProjectSet nodes above the node when
//! DataFusion cannot compute the query's aggregates, window functions or set-returning
//! functions).

mod agg;
mod explain;
mod plan;
mod project_set;
mod run;
mod slot;
mod sort;
mod window_agg;

pub use plan::planned_stmt;
