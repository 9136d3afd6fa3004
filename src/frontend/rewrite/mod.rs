//! Rewrites of the analyzed query before translation, on our copy of it, each only where
//! PostgreSQL's own result cannot change: WITH queries inlined ([`cte`]), simple subqueries and
//! views pulled up ([`pullup`]), correlated and uncorrelated subqueries turned into joins
//! ([`decorrelate`]), LATERAL items pull-up left made, with the FROM items they read,
//! subqueries PostgreSQL runs on its own ([`lateral`]), and HAVING terms on the rows moved to
//! WHERE ([`having`]).

pub mod cte;
pub mod decorrelate;
pub mod having;
pub mod lateral;
pub mod pullup;
