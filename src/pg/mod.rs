//! The only module that names PostgreSQL's raw bindings.
//!
//! Above it, code calls safe functions that return [`error::PgResult`]; the rules of the FFI
//! boundary are at the top of `error.rs` and `entry.rs`.

pub(crate) mod sys;

pub mod auto_cost;
pub mod bgworker;
pub mod catalog;
pub mod entry;
pub mod error;
pub mod exit;
pub mod explain_choice;
pub mod fmgr;
pub mod guc;
pub mod hooks;
pub mod init;
pub mod latch;
pub mod leaf;
pub mod node;
pub mod nodes;
pub mod parallel;
pub mod producer;
pub mod range_table;
pub mod scan_node;
pub mod shmem;
pub mod walk;

pub use error::{PgError, PgResult, SqlState};
