//! PostgreSQL value representations that pg_fusion reads or builds without PostgreSQL's help,
//! kept pure so they are unit-tested: the numeric on-disk format and dates and timestamps.

pub mod datetime;
pub mod numeric;
pub mod numeric_div;
pub mod numeric_stats;

pub use datetime::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};
