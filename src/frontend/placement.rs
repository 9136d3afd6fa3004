//! Where an expression is evaluated -- the one place that decides, for every use the front end
//! has (a select-list entry, an aggregate's argument or FILTER, a group, window or sort key, a
//! term of a condition between tables): in a scan leaf's plan (PostgreSQL, once per row of its
//! relation), or after the joins (DataFusion over the joined or grouped rows, or PostgreSQL's
//! projection on the `PgFusionScan` node over DataFusion's rows; which of the two is the
//! caller's, by what DataFusion can compute exactly). A leaf's own WHERE terms are not placed
//! here: they are the leaf's conditions, evaluated by its scan as PostgreSQL would.
//!
//! Rules ([`classify`]):
//! - A window function runs over the joined (or grouped) rows, never in a scan.
//! - A subquery in FROM has no scan: only its columns, as they are.
//! - A scan computes an expression for every row it returns, before any join; PostgreSQL
//!   evaluates these uses on the joined rows only. In a block that joins (decorrelated `EXISTS`
//!   and `IN` included), an expression that could fail for some row ([`may_fail`]: `a / b`,
//!   `t::int`) is computed after the join, so never on a row the join removes.
//! - On the nullable side of an outer join, a scan computes only what is NULL for NULL input
//!   (strict): the null-extended rows must read NULL there.
//! - Anything else of one relation: its scan (PostgreSQL's own evaluation, once per row).
//!
//! [`may_fail`] decides over a [`Shape`] of the expression, which the front end probes from the
//! analyzed tree (`super::context`); the default answer is "may fail": only what is listed
//! here is known not to.
//!
//! No PostgreSQL symbols: unit-tested with `cargo test`.

/// A leaf as placement sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// A subquery in FROM computed as a query block of its own (no scan).
    pub subquery: bool,
    /// On the nullable side of an outer join.
    pub nullable: bool,
}

/// What placement needs to know of an expression of one leaf (or of none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts {
    pub window_function: bool,
    /// A plain column of the leaf.
    pub column: bool,
    /// NULL for NULL input: no non-strict construct (CASE, COALESCE, IS NULL, ...).
    pub strict: bool,
    /// May fail for some row ([`may_fail`]).
    pub may_fail: bool,
}

/// Where an expression of one leaf is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// By the leaf's scan, for every row it returns.
    Scan,
    /// After the joins, over the joined rows (DataFusion, or the node), for the reason given.
    AfterJoin(Why),
}

/// Why an expression is not computed by its leaf's scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    WindowFunction,
    SubqueryColumns,
    MayFailOnRemovedRows,
    NullExtended,
}

/// Where an expression of `leaf` (`facts`) is computed in a block with `leaves` leaves.
pub fn classify(facts: Facts, leaf: Leaf, leaves: usize) -> Placement {
    if facts.window_function {
        return Placement::AfterJoin(Why::WindowFunction);
    }
    if leaf.subquery {
        return if facts.column { Placement::Scan } else { Placement::AfterJoin(Why::SubqueryColumns) };
    }
    if leaves > 1 && facts.may_fail {
        return Placement::AfterJoin(Why::MayFailOnRemovedRows);
    }
    if leaf.nullable && !facts.strict {
        return Placement::AfterJoin(Why::NullExtended);
    }
    Placement::Scan
}

/// An expression's structure as far as failing goes.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// A column, a constant, or an expression without columns, volatile functions or
    /// subqueries (one value for every row: if it fails, PostgreSQL's planner fails too).
    Value,
    /// Parts that are all evaluated as they stand: AND/OR/NOT, IS NULL, a relabeling or
    /// collation, COALESCE, a searched CASE's conditions and results.
    Parts(Vec<Shape>),
    /// A function or operator call and its arguments (an `IN` list: the operator over it).
    Call(Func, Vec<Shape>),
    /// An aggregate: `Some(arguments and FILTER)` for count, min, max, sum and avg (which cannot
    /// fail: sum(int4) accumulates in int8, sum(int8) in numeric), None for another.
    Aggregate(Option<Vec<Shape>>),
    /// A subquery: `Some(its conditions, select list and comparison)` when it is `EXISTS`, `IN`
    /// or a scalar subquery of one row (an aggregate without GROUP BY) over plain tables; None
    /// for another (a scalar subquery of several rows fails with 21000).
    Subquery(Option<Vec<Shape>>),
    /// Anything else (a simple `CASE x WHEN`, a cast from text, a row expression): may fail.
    Unknown,
}

/// A call, as far as failing goes.
#[derive(Clone, Debug, PartialEq)]
pub enum Func {
    /// Fails for no argument values: leakproof functions (comparisons), numeric comparisons,
    /// widening casts, `char(n)` to text, string concatenation, `upper`/`lower`, lengths,
    /// `substring` without a length.
    Total,
    /// numeric `+ - *`: `true` when the operands' declared digits bound the result (it cannot
    /// overflow numeric's range).
    NumericArithmetic { bounded: bool },
    /// integer `/` or `%` (`modulo`) by a constant divisor (None: not a constant).
    IntDivision { divisor: Option<i64>, modulo: bool },
    /// `LIKE` and its variants with a constant pattern (None: not a constant).
    Like { pattern: Option<Vec<u8>> },
    /// `substring(text, from, for)` with a constant length (None: not a constant).
    Substring { length: Option<i64> },
    /// `extract` / `date_part` of a constant field (None: not a constant), over a timestamp
    /// (else a date).
    Extract { field: Option<String>, timestamp: bool },
    /// A built-in without arguments (`now()`).
    NoArguments,
    /// Anything else.
    Other,
}

/// Fields whose value `extract` computes for every date (or timestamp) without an error.
const DATE_FIELDS: &[&str] = &[
    "millennium",
    "millenniums",
    "century",
    "centuries",
    "decade",
    "decades",
    "year",
    "years",
    "isoyear",
    "quarter",
    "month",
    "months",
    "mon",
    "week",
    "weeks",
    "day",
    "days",
    "dow",
    "isodow",
    "doy",
    "epoch",
    "julian",
];
/// Fields a timestamp has beyond a date's.
const TIME_FIELDS: &[&str] = &[
    "hour",
    "hours",
    "minute",
    "minutes",
    "min",
    "second",
    "seconds",
    "sec",
    "milliseconds",
    "microseconds",
];

/// Can this call fail for some values of its arguments (its own, not its arguments')?
fn call_may_fail(f: &Func) -> bool {
    match f {
        Func::Total | Func::NoArguments => false,
        Func::NumericArithmetic { bounded } => !bounded,
        // A constant divisor other than 0 (and other than -1 for `/`, which overflows on the
        // smallest value; `x % -1` is 0).
        Func::IntDivision { divisor: Some(d), modulo } => *d == 0 || (!modulo && *d == -1),
        Func::IntDivision { divisor: None, .. } => true,
        // A pattern that ends in its escape character is an error.
        Func::Like { pattern } => pattern.as_ref().is_none_or(|p| p.ends_with(b"\\")),
        Func::Substring { length } => length.is_none_or(|n| n < 0),
        Func::Extract { field, timestamp } => field.as_ref().is_none_or(|f| {
            let f = f.to_lowercase();
            !(DATE_FIELDS.contains(&f.as_str()) || (*timestamp && TIME_FIELDS.contains(&f.as_str())))
        }),
        Func::Other => true,
    }
}

/// May evaluating an expression of this shape raise an error for some row?
pub fn may_fail(s: &Shape) -> bool {
    match s {
        Shape::Value => false,
        Shape::Parts(parts) => parts.iter().any(may_fail),
        Shape::Call(f, args) => call_may_fail(f) || args.iter().any(may_fail),
        Shape::Aggregate(Some(parts)) | Shape::Subquery(Some(parts)) => parts.iter().any(may_fail),
        Shape::Aggregate(None) | Shape::Subquery(None) | Shape::Unknown => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Leaf = Leaf { subquery: false, nullable: false };
    const FACTS: Facts = Facts { window_function: false, column: false, strict: true, may_fail: false };

    #[test]
    fn a_scan_computes_what_cannot_fail_or_is_alone() {
        assert_eq!(classify(FACTS, PLAIN, 1), Placement::Scan);
        assert_eq!(classify(FACTS, PLAIN, 3), Placement::Scan);
        // No join: nothing removes rows between the scan and the expression.
        let failing = Facts { may_fail: true, ..FACTS };
        assert_eq!(classify(failing, PLAIN, 1), Placement::Scan);
        assert_eq!(classify(failing, PLAIN, 2), Placement::AfterJoin(Why::MayFailOnRemovedRows));
    }

    #[test]
    fn windows_subqueries_and_null_extended_rows_come_after_the_join() {
        let window = Facts { window_function: true, ..FACTS };
        assert_eq!(classify(window, PLAIN, 1), Placement::AfterJoin(Why::WindowFunction));
        let sub = Leaf { subquery: true, nullable: false };
        assert_eq!(classify(FACTS, sub, 2), Placement::AfterJoin(Why::SubqueryColumns));
        assert_eq!(classify(Facts { column: true, ..FACTS }, sub, 2), Placement::Scan);
        let nullable = Leaf { subquery: false, nullable: true };
        assert_eq!(classify(FACTS, nullable, 2), Placement::Scan);
        let not_strict = Facts { strict: false, ..FACTS };
        assert_eq!(classify(not_strict, nullable, 2), Placement::AfterJoin(Why::NullExtended));
        assert_eq!(classify(not_strict, PLAIN, 2), Placement::Scan);
    }

    #[test]
    fn divisions_fail_unless_by_a_safe_constant() {
        let div = |d: Option<i64>, modulo| {
            Shape::Call(Func::IntDivision { divisor: d, modulo }, vec![Shape::Value])
        };
        assert!(may_fail(&div(None, false)));
        assert!(may_fail(&div(Some(0), false)) && may_fail(&div(Some(0), true)));
        assert!(may_fail(&div(Some(-1), false)));
        assert!(!may_fail(&div(Some(-1), true)));
        assert!(!may_fail(&div(Some(7), false)));
    }

    #[test]
    fn known_calls_with_constant_arguments() {
        let like =
            |p: Option<&str>| Shape::Call(Func::Like { pattern: p.map(|p| p.as_bytes().to_vec()) }, vec![]);
        assert!(!may_fail(&like(Some("PROMO%"))));
        assert!(may_fail(&like(Some("x\\"))) && may_fail(&like(None)));
        let sub = |n| Shape::Call(Func::Substring { length: n }, vec![]);
        assert!(!may_fail(&sub(Some(2))) && may_fail(&sub(Some(-1))) && may_fail(&sub(None)));
        let extract =
            |f: &str, ts| Shape::Call(Func::Extract { field: Some(f.into()), timestamp: ts }, vec![]);
        assert!(!may_fail(&extract("YEAR", false)) && !may_fail(&extract("epoch", true)));
        assert!(may_fail(&extract("hour", false)) && !may_fail(&extract("hour", true)));
        assert!(may_fail(&extract("timezone", true)));
        let num = |bounded| Shape::Call(Func::NumericArithmetic { bounded }, vec![]);
        assert!(!may_fail(&num(true)) && may_fail(&num(false)));
        assert!(!may_fail(&Shape::Call(Func::NoArguments, vec![])));
        assert!(may_fail(&Shape::Call(Func::Other, vec![])));
    }

    #[test]
    fn parts_aggregates_and_subqueries_fail_when_a_part_does() {
        let bad = Shape::Call(Func::Other, vec![]);
        let total = |args| Shape::Call(Func::Total, args);
        assert!(!may_fail(&total(vec![Shape::Value, Shape::Value])));
        assert!(may_fail(&total(vec![Shape::Value, bad.clone()])));
        assert!(may_fail(&Shape::Parts(vec![Shape::Value, bad.clone()])));
        assert!(!may_fail(&Shape::Aggregate(Some(vec![Shape::Value]))));
        assert!(may_fail(&Shape::Aggregate(Some(vec![bad.clone()]))) && may_fail(&Shape::Aggregate(None)));
        assert!(!may_fail(&Shape::Subquery(Some(vec![total(vec![Shape::Value])]))));
        assert!(may_fail(&Shape::Subquery(Some(vec![bad]))) && may_fail(&Shape::Subquery(None)));
        assert!(may_fail(&Shape::Unknown));
    }
}
