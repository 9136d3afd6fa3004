//! PostgreSQL value representations that pg_fusion reads or builds without PostgreSQL's help,
//! kept pure so they are unit-tested: the numeric on-disk format and the date/time epochs.

pub mod numeric;
pub mod numeric_div;
pub mod numeric_stats;

/// Days from 1970-01-01 (Arrow's epoch) to 2000-01-01 (PostgreSQL's).
pub const PG_EPOCH_DAYS: i32 = 10957;
/// Microseconds between the same two epochs.
pub const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
