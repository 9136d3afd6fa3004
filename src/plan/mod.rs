//! The query plan between the planner hook and the worker, without PostgreSQL symbols:
//! [`spec`] (what runs where), [`logical`] (the DataFusion plan), [`codec`] (its bytes) and
//! [`table`] (the scan leaf), [`join_order`] (the order leaves are joined in), [`share`] (leaves reading one relation read it once), [`udf`] and
//! [`udaf`] (functions and aggregates with PostgreSQL's semantics).

pub mod codec;
pub mod cost;
pub mod join_order;
pub mod logical;
pub mod memory;
pub mod share;
pub mod spec;
pub mod table;
pub mod udaf;
pub mod udf;

#[cfg(test)]
mod tests;
