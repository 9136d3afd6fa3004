//! Rewrites of the analyzed query before translation, on our copy of it, each only where
//! PostgreSQL's own result cannot change: WITH queries inlined ([`cte`]), simple subqueries and
//! views pulled up ([`pullup`]), correlated and uncorrelated subqueries turned into joins
//! ([`decorrelate`]), and LATERAL items pull-up left made, with the FROM items they read,
//! subqueries PostgreSQL runs on its own ([`lateral`]).

pub mod cte;
pub mod decorrelate;
pub mod lateral;
pub mod pullup;
