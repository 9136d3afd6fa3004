//! The query plan between the planner hook and the worker, without PostgreSQL symbols:
//! [`spec`] (what runs where), [`logical`] (the DataFusion plan), [`codec`] (its bytes) and
//! [`table`] (the scan leaf).

pub mod codec;
pub mod logical;
pub mod spec;
pub mod table;

#[cfg(test)]
mod tests;
