//! The front end: PostgreSQL's analyzed `Query` -> [`Translated`], the plan spec DataFusion runs
//! (`crate::plan::spec`) plus the PostgreSQL nodes of the `PgFusionScan` plan node (final target
//! list, residual qual, scan target list) and the bound trees of its scan leaves.
//!
//! ```text
//!  Query ──► rewrite/ (WITH inlined, subqueries pulled up, subqueries decorrelated)
//!        ──► select::block_of (one query block)            set_operation (UNION ...)
//!              from       FROM and joins: leaves, conditions, the join tree
//!              placement  where each expression runs: a leaf's scan, DataFusion, the node
//!              expr       expressions DataFusion computes (conditions, arithmetic, CASE)
//!              aggregate  aggregates and grouping          window  window functions
//!              context    the block's columns and leaves (the planner context)
//!        ──► PlanSpec + leaves bound to the analyzed trees (crate::pg::leaf)
//! ```
//!
//! Rules:
//! - Only what is translated with certainty is accepted; everything else is an
//!   `unsupported <construct>` error (0A000) naming the construct. A function or operator counts
//!   only if it is a built-in (OID below FirstGenbkiObjectId) with the expected name and types.
//! - Row-level expressions are never re-implemented where PostgreSQL can compute them: a scan
//!   leaf's plan computes them (see [`placement`] for where each expression runs).
//! - Numeric values cross as Decimal128 with a scale known at plan time: a column's typmod, or
//!   the scale PostgreSQL's own arithmetic gives (+, - keep the larger scale, * adds scales). The
//!   encoder checks every value's display scale against it and fails rather than round.

#[cfg(not(test))]
mod above;
#[cfg(not(test))]
mod aggregate;
#[cfg(not(test))]
mod construct;
#[cfg(not(test))]
mod context;
#[cfg(not(test))]
mod expr;
#[cfg(not(test))]
mod from;
#[cfg(not(test))]
mod group_agg;
#[cfg(not(test))]
mod literal;
#[cfg(not(test))]
mod output;
pub mod placement;
#[cfg(not(test))]
mod probe;
#[cfg(not(test))]
mod project_set;
#[cfg(not(test))]
mod query;
#[cfg(not(test))]
mod rewrite;
#[cfg(not(test))]
mod select;
#[cfg(not(test))]
mod set_operation;
#[cfg(not(test))]
mod subquery;
#[cfg(not(test))]
mod types;
#[cfg(not(test))]
mod window;
#[cfg(not(test))]
mod window_agg;

#[cfg(not(test))]
pub use above::{FinalSort, FinalSortKey};
#[cfg(not(test))]
pub use group_agg::AggSpec;
#[cfg(not(test))]
pub use project_set::ProjectSetSpec;
#[cfg(not(test))]
use query::{block, srf_under_limit, unsupported, Block};
#[cfg(not(test))]
pub use query::{translate, Translated};
#[cfg(not(test))]
pub use window_agg::WindowAggSpec;
