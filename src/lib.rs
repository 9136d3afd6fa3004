//! # pg_fusion
//!
//! A PostgreSQL extension that gives PostgreSQL a vectorized analytical execution path through
//! Apache DataFusion, while PostgreSQL keeps table access.
//!
//! ```text
//!  client ──► backend (planner hook, snapshot, PgFusionScan)        one per connection
//!               │  control slot: two SPSC rings (crate::shm::ring)
//!               │  scan pages: Arrow blocks in the page pool (crate::shm::pool)
//!               ▼
//!            ┌──────────────────── one shared segment (crate::shm) ───────────────────┐
//!            │ header │ page states │ wakeups │ metrics │ control │ scan │ filters │ pages │
//!            └────────────────────────────────────────────────────────────────────────┘
//!               ▲
//!               │
//!            pg_fusion worker (crate::worker): Tokio + DataFusion, one per server
//! ```
//!
//! 1. `_PG_init` ([`pg::init`]) checks it is preloaded, defines the settings ([`pg::guc`]),
//!    fixes the segment layout ([`shm::layout`]), chains the shared-memory hooks and registers
//!    the worker ([`pg::bgworker`]).
//! 2. The postmaster creates the segment once ([`pg::shmem`]); every process inherits its view.
//! 3. A backend claims a control slot ([`control`]) and talks to the worker over its rings,
//!    waking it through the wakeup registry ([`shm::slots`]).
//! 4. The worker ([`worker`]) serves the slots from its main thread and runs DataFusion on its
//!    Tokio threads.
//!
//! Modules without PostgreSQL symbols ([`shm`], [`page`], [`protocol`], [`sqlstate`], [`index_probe`]) build and test with
//! plain `cargo test`; the rest is compiled only into the extension.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod index_probe;
pub mod page;
pub mod plan;
pub mod protocol;
pub mod shm;
pub mod sqlstate;
pub mod value;

#[cfg(not(test))]
mod control;
mod frontend;
#[cfg(not(test))]
mod pg;
#[cfg(not(test))]
mod sql_api;
#[cfg(not(test))]
mod worker;
