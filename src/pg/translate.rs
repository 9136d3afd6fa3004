//! PostgreSQL's analyzed `Query` -> [`Translated`]: the plan spec for DataFusion plus the
//! PostgreSQL nodes of the `PgFusionScan` plan node (final target list, residual qual, scan
//! target list).
//!
//! Rules:
//! - Only what is translated with certainty is accepted; everything else is an
//!   `unsupported <construct>` error (0A000) naming the construct. A function or operator counts
//!   only if it is a built-in (OID below FirstGenbkiObjectId) with the expected name and types.
//! - Row-level expressions are never re-implemented: they are deparsed by PostgreSQL into the
//!   scan SQL and evaluated by PostgreSQL (see `crate::plan::spec`).
//! - Numeric values cross as Decimal128 with a scale known at plan time: a column's typmod, or
//!   the scale PostgreSQL's own arithmetic gives (+, - keep the larger scale, * adds scales). The
//!   encoder checks every value's display scale against it and fails rather than round.

use std::ffi::c_void;

use super::error::{guard, PgError, PgResult, SqlState};
use super::leaf::Bindings;
use super::nodes::{self, cstr, list};
use super::sys;
use crate::page::ColumnType;
use crate::plan::spec::{
    AggFunc, AggSpec, ArithOp, CmpOp, Computed, DfExpr, Frame, FrameBound, FrameUnits, Grouping, JoinKind,
    JoinTree, Literal, PlanSpec, ScanColumn, ScanSpec, SetOpKind, SetTree, SortKey, Statistic, Subquery,
    WindowFn, WindowSpec,
};

type Oid = sys::Oid;

pub struct Translated {
    pub spec: PlanSpec,
    pub tlist: *mut sys::List,
    pub qual: *mut sys::List,
    pub scan_tlist: *mut sys::List,
    /// The translated top query's range table: the query's, with pulled-up subqueries' entries
    /// appended. The node's expressions refer to it.
    pub rtable: *mut sys::List,
    /// The range-table index of each leaf of the query (scans and subqueries in FROM).
    pub rtindexes: Vec<i32>,
    /// PostgreSQL types of each leaf's scan columns (type oid, typmod), checked against the
    /// leaf's plan.
    pub scan_pg_types: Vec<Vec<(Oid, i32)>>,
    /// The bound trees the leaves' expression and access indexes refer to.
    pub bindings: Bindings,
}

fn unsupported(what: impl std::fmt::Display) -> PgError {
    PgError::unsupported(what)
}

fn is_builtin(oid: Oid) -> bool {
    oid != 0 && oid < sys::FirstGenbkiObjectId
}

fn type_name(typid: Oid, typmod: i32) -> String {
    // SAFETY: format_type_with_typemod handles any OID (unknown ones print as "???").
    guard(|| unsafe { cstr(sys::format_type_with_typemod(typid, typmod)) })
        .unwrap_or_else(|_| format!("type {typid}"))
}

fn func_name(oid: Oid) -> String {
    // SAFETY: catalog lookup; NULL when missing.
    guard(|| unsafe { cstr(sys::get_func_name(oid)) }).unwrap_or_default()
}

fn op_name(oid: Oid) -> String {
    // SAFETY: catalog lookup; NULL when missing.
    guard(|| unsafe { cstr(sys::get_opname(oid)) }).unwrap_or_default()
}

fn expr_type(e: *mut sys::Node) -> PgResult<(Oid, i32, Oid)> {
    // SAFETY: exprType/exprTypmod/exprCollation on a valid expression tree.
    guard(|| unsafe { (sys::exprType(e), sys::exprTypmod(e), sys::exprCollation(e)) })
}

fn numeric_shape(typmod: i32) -> Option<(u8, i8)> {
    if typmod < 4 {
        return None;
    }
    let t = typmod - 4;
    let precision = (t >> 16) & 0xffff;
    let scale = ((t & 0x7ff) ^ 1024) - 1024;
    ((1..=38).contains(&precision) && (0..=precision).contains(&scale))
        .then_some((precision as u8, scale as i8))
}

/// (integer digits, scale) of a numeric expression, when PostgreSQL's arithmetic fixes them.
fn numeric_digits(e: *mut sys::Node) -> PgResult<Option<(u32, u32)>> {
    numeric_digits_in(e, std::ptr::null_mut())
}

/// [`numeric_digits`] of an expression of a query whose range table is `rtable` (null when not
/// known): a column of a subquery in FROM has the digits of the subquery's expression.
fn numeric_digits_in(e: *mut sys::Node, rtable: *mut sys::List) -> PgResult<Option<(u32, u32)>> {
    nodes::check_stack_depth()?;
    let (typid, typmod, _) = expr_type(e)?;
    if typid == sys::NUMERICOID {
        if let Some((p, s)) = numeric_shape(typmod) {
            return Ok(Some(((p - s as u8) as u32, s as u32)));
        }
    }
    // SAFETY: `e` is a valid expression node; fields are read per its tag.
    unsafe {
        match nodes::tag(e) {
            sys::NodeTag_T_Const => {
                let c = &*(e as *mut sys::Const);
                if c.constisnull || c.consttype != sys::NUMERICOID {
                    return Ok(None);
                }
                let d = c.constvalue;
                let text = guard(|| cstr(sys::pgf_numeric_out(d)))?;
                if text.contains(['N', 'I', 'n', 'i']) {
                    return Ok(None);
                }
                let t = text.trim_start_matches('-');
                let (int, frac) = t.split_once('.').unwrap_or((t, ""));
                Ok(Some((int.trim_start_matches('0').len().max(1) as u32, frac.len() as u32)))
            }
            sys::NodeTag_T_FuncExpr => {
                let f = &*(e as *mut sys::FuncExpr);
                match f.funcid {
                    sys::F_NUMERIC_INT2 => Ok(Some((5, 0))),
                    sys::F_NUMERIC_INT4 => Ok(Some((10, 0))),
                    sys::F_NUMERIC_INT8 => Ok(Some((19, 0))),
                    // extract(field FROM date): every field of a date is an integer (int64).
                    sys::F_EXTRACT_TEXT_DATE => Ok(Some((19, 0))),
                    // extract(field FROM timestamp[tz]): integer-valued fields only (seconds,
                    // epoch and julian carry fractions).
                    sys::F_EXTRACT_TEXT_TIMESTAMP | sys::F_EXTRACT_TEXT_TIMESTAMPTZ => {
                        let args: Vec<*mut sys::Node> = list(f.args);
                        let field = match args.first() {
                            Some(&a)
                                if nodes::tag(a) == sys::NodeTag_T_Const
                                    && !(*(a as *mut sys::Const)).constisnull =>
                            {
                                let d = (*(a as *mut sys::Const)).constvalue;
                                guard(|| cstr(sys::text_to_cstring(d as *const _)))?.to_lowercase()
                            }
                            _ => return Ok(None),
                        };
                        const INTEGER_FIELDS: &[&str] = &[
                            "year",
                            "years",
                            "month",
                            "months",
                            "mon",
                            "day",
                            "days",
                            "hour",
                            "hours",
                            "minute",
                            "minutes",
                            "min",
                            "quarter",
                            "week",
                            "decade",
                            "century",
                            "millennium",
                            "dow",
                            "isodow",
                            "doy",
                            "isoyear",
                        ];
                        Ok(INTEGER_FIELDS.contains(&field.as_str()).then_some((19, 0)))
                    }
                    _ => Ok(None),
                }
            }
            sys::NodeTag_T_OpExpr => {
                let o = &*(e as *mut sys::OpExpr);
                let args: Vec<*mut sys::Node> = list(o.args);
                let digits = |i: usize| numeric_digits_in(args[i], rtable);
                match (o.opfuncid, args.len()) {
                    (sys::F_NUMERIC_ADD | sys::F_NUMERIC_SUB, 2) => Ok(match (digits(0)?, digits(1)?) {
                        (Some((i1, s1)), Some((i2, s2))) => Some((i1.max(i2) + 1, s1.max(s2))),
                        _ => None,
                    }),
                    (sys::F_NUMERIC_MUL, 2) => Ok(match (digits(0)?, digits(1)?) {
                        (Some((i1, s1)), Some((i2, s2))) => Some((i1 + i2, s1 + s2)),
                        _ => None,
                    }),
                    (sys::F_NUMERIC_UMINUS, 1) => digits(0),
                    _ => Ok(None),
                }
            }
            sys::NodeTag_T_RelabelType => {
                numeric_digits_in((*(e as *mut sys::RelabelType)).arg as *mut sys::Node, rtable)
            }
            sys::NodeTag_T_Var if !rtable.is_null() => {
                let v = &*(e as *mut sys::Var);
                let rte = list::<sys::RangeTblEntry>(rtable).get((v.varno as usize).wrapping_sub(1)).copied();
                match rte {
                    Some(r)
                        if v.varlevelsup == 0
                            && v.varattno > 0
                            && (*r).rtekind == sys::RTEKind_RTE_SUBQUERY
                            && !(*r).subquery.is_null() =>
                    {
                        let sub = &*(*r).subquery;
                        let tle = list::<sys::TargetEntry>(sub.targetList)
                            .into_iter()
                            .find(|&t| (*t).resno as i32 == v.varattno as i32);
                        match tle {
                            Some(t) => numeric_digits_in((*t).expr as *mut sys::Node, sub.rtable),
                            None => Ok(None),
                        }
                    }
                    _ => Ok(None),
                }
            }
            // A COALESCE whose arguments all have one known scale.
            sys::NodeTag_T_CoalesceExpr => {
                let c = &*(e as *mut sys::CoalesceExpr);
                let mut shapes = Vec::new();
                for a in list::<sys::Node>(c.args) {
                    if is_null_const(a) {
                        continue;
                    }
                    match numeric_digits_in(a, rtable)? {
                        Some(d) => shapes.push(d),
                        None => return Ok(None),
                    }
                }
                let int = shapes.iter().map(|d| d.0).max();
                Ok(match (int, shapes.first()) {
                    (Some(i), Some(&(_, s))) if shapes.iter().all(|d| d.1 == s) => Some((i, s)),
                    _ => None,
                })
            }
            // A CASE whose results all have one known scale.
            sys::NodeTag_T_CaseExpr => Ok(match case_shape(e)? {
                Some((int, scale, true)) => Some((int, scale)),
                _ => None,
            }),
            // A scalar subquery: the digits of its select-list expression.
            sys::NodeTag_T_SubLink => {
                let l = &*(e as *mut sys::SubLink);
                if l.subLinkType != sys::SubLinkType_EXPR_SUBLINK {
                    return Ok(None);
                }
                let sub = &*(l.subselect as *mut sys::Query);
                let first = list::<sys::TargetEntry>(sub.targetList).into_iter().find(|&t| !(*t).resjunk);
                let Some(tle) = first else { return Ok(None) };
                numeric_digits_in((*tle).expr as *mut sys::Node, sub.rtable)
            }
            // Inside a scalar subquery: min()/max() return one of their inputs; sum() of inputs
            // of one display scale has that scale (its integer digits are unbounded: carried
            // as 38 digits, a larger total fails in the encoder).
            sys::NodeTag_T_Aggref => {
                let agg = &*(e as *mut sys::Aggref);
                let args: Vec<*mut sys::TargetEntry> = list(agg.args);
                if !is_builtin(agg.aggfnoid)
                    || agg.aggkind != b'n' as i8
                    || agg.agglevelsup != 0
                    || args.len() != 1
                {
                    return Ok(None);
                }
                let arg = numeric_digits_in((*args[0]).expr as *mut sys::Node, rtable)?;
                Ok(match func_name(agg.aggfnoid).as_str() {
                    "min" | "max" => arg,
                    "sum" => arg.map(|(_, s)| (38, s)),
                    _ => None,
                })
            }
            _ => Ok(None),
        }
    }
}

/// A numeric CASE whose results (NULL constants aside) all have known digits: (most integer
/// digits, largest scale, whether every result has that scale). A value's display scale is then
/// the scale of the branch that produced it.
fn case_shape(e: *mut sys::Node) -> PgResult<Option<(u32, u32, bool)>> {
    // SAFETY: `e` is a valid expression node; fields are read per its tag.
    unsafe {
        if nodes::tag(e) != sys::NodeTag_T_CaseExpr {
            return Ok(None);
        }
        let c = &*(e as *mut sys::CaseExpr);
        if c.casetype != sys::NUMERICOID {
            return Ok(None);
        }
        let mut results: Vec<*mut sys::Node> =
            list::<sys::CaseWhen>(c.args).into_iter().map(|w| (*w).result as *mut sys::Node).collect();
        results.push(c.defresult as *mut sys::Node);
        let mut shapes = Vec::new();
        for r in results {
            if r.is_null() || is_null_const(r) {
                continue;
            }
            match numeric_digits(r)? {
                Some(d) => shapes.push(d),
                None => return Ok(None),
            }
        }
        let int = shapes.iter().map(|d| d.0).max();
        let scale = shapes.iter().map(|d| d.1).max();
        Ok(match (int, scale) {
            (Some(i), Some(s)) => Some((i, s, shapes.iter().all(|d| d.1 == s))),
            _ => None,
        })
    }
}

/// May evaluating `e` raise an error for some row? No for columns, constants, IS NULL,
/// AND/OR/NOT, searched CASE and COALESCE over parts that cannot, and functions that cannot
/// fail: leakproof ones (comparisons, say), widening casts, `char(n)` to text, numeric `+ - *`
/// of bounded digits (no overflow), `%` and `/` by a safe constant, built-ins without
/// arguments, and those listed in [`safe_call`]; yes for anything else (subqueries included).
fn may_fail(e: *mut sys::Node) -> PgResult<bool> {
    nodes::check_stack_depth()?;
    // A constant expression (no columns, no volatile functions, no subqueries: `1 + 10`) has one
    // value for every row: if it fails, PostgreSQL fails too (its planner folds it).
    // SAFETY (all three): walks of a valid expression.
    if guard(|| unsafe { sys::pgf_expr_varno(e) })? == 0
        && !guard(|| unsafe { sys::contain_volatile_functions(e) })?
        && !guard(|| unsafe { sys::checkExprHasSubLink(e) })?
    {
        return Ok(false);
    }
    // SAFETY: `e` is a valid expression node; fields are read per its tag.
    unsafe {
        let args: Vec<*mut sys::Node> = match nodes::tag(e) {
            sys::NodeTag_T_Var | sys::NodeTag_T_Const => return Ok(false),
            sys::NodeTag_T_RelabelType => vec![(*(e as *mut sys::RelabelType)).arg as *mut sys::Node],
            sys::NodeTag_T_CollateExpr => vec![(*(e as *mut sys::CollateExpr)).arg as *mut sys::Node],
            sys::NodeTag_T_NullTest => vec![(*(e as *mut sys::NullTest)).arg as *mut sys::Node],
            sys::NodeTag_T_BoolExpr => list((*(e as *mut sys::BoolExpr)).args),
            sys::NodeTag_T_CoalesceExpr => list((*(e as *mut sys::CoalesceExpr)).args),
            sys::NodeTag_T_CaseExpr => {
                let c = &*(e as *mut sys::CaseExpr);
                // A simple CASE's WHEN compares a placeholder for its argument.
                if !c.arg.is_null() {
                    return Ok(true);
                }
                let mut parts = vec![c.defresult as *mut sys::Node];
                for w in list::<sys::CaseWhen>(c.args) {
                    parts.push((*w).expr as *mut sys::Node);
                    parts.push((*w).result as *mut sys::Node);
                }
                parts.into_iter().filter(|p| !p.is_null()).collect()
            }
            sys::NodeTag_T_FuncExpr | sys::NodeTag_T_OpExpr => {
                let Some((func, args)) = nodes::call(e) else { return Ok(true) };
                let safe = match func {
                    sys::F_INT4_INT2
                    | sys::F_INT8_INT2
                    | sys::F_INT8_INT4
                    | sys::F_NUMERIC_INT2
                    | sys::F_NUMERIC_INT4
                    | sys::F_NUMERIC_INT8
                    | sys::F_TEXT_BPCHAR => true,
                    f if numeric_comparison(f) => true,
                    sys::F_NUMERIC_ADD | sys::F_NUMERIC_SUB | sys::F_NUMERIC_MUL | sys::F_NUMERIC_UMINUS => {
                        numeric_digits(e)?.is_some()
                    }
                    // `x % 3`, `x / 7`: a constant divisor other than 0 (and -1 for `/`, which
                    // overflows on the smallest value).
                    sys::F_INT2MOD
                    | sys::F_INT4MOD
                    | sys::F_INT8MOD
                    | sys::F_INT2DIV
                    | sys::F_INT4DIV
                    | sys::F_INT8DIV => {
                        let divisor = list::<sys::Node>(args).get(1).copied();
                        let div = matches!(func, sys::F_INT2DIV | sys::F_INT4DIV | sys::F_INT8DIV);
                        match divisor.map(const_literal).transpose()?.flatten() {
                            Some((Literal::Int64(d), _)) => d != 0 && !(div && d == -1),
                            _ => false,
                        }
                    }
                    f if safe_call(f, args)? => true,
                    f => guard(|| sys::get_func_leakproof(f))?,
                };
                if !safe {
                    return Ok(true);
                }
                list(args)
            }
            sys::NodeTag_T_SubLink => return sublink_may_fail(e as *mut sys::SubLink),
            // `x IN (c1, c2, ...)`, `x <> ALL (...)`: the operator over each element.
            sys::NodeTag_T_ScalarArrayOpExpr => {
                let o = &*(e as *mut sys::ScalarArrayOpExpr);
                let f = o.opfuncid;
                let safe = numeric_comparison(f) || guard(|| sys::get_func_leakproof(f))?;
                if !safe {
                    return Ok(true);
                }
                list(o.args)
            }
            // count, min, max, sum and avg cannot fail (sum(int4) accumulates in int8, sum(int8)
            // in numeric), given arguments and a FILTER that cannot.
            sys::NodeTag_T_Aggref => {
                let a = &*(e as *mut sys::Aggref);
                let safe = is_builtin(a.aggfnoid)
                    && a.aggdirectargs.is_null()
                    && matches!(func_name(a.aggfnoid).as_str(), "count" | "min" | "max" | "sum" | "avg");
                if !safe {
                    return Ok(true);
                }
                let mut parts: Vec<*mut sys::Node> = list::<sys::TargetEntry>(a.args)
                    .into_iter()
                    .map(|t| (*t).expr as *mut sys::Node)
                    .collect();
                parts.push(a.aggfilter as *mut sys::Node);
                parts.into_iter().filter(|p| !p.is_null()).collect()
            }
            _ => return Ok(true),
        };
        for a in args {
            if may_fail(a)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Numeric comparisons: not marked leakproof in PostgreSQL, but they cannot fail.
fn numeric_comparison(f: Oid) -> bool {
    matches!(
        f,
        sys::F_NUMERIC_EQ
            | sys::F_NUMERIC_NE
            | sys::F_NUMERIC_LT
            | sys::F_NUMERIC_LE
            | sys::F_NUMERIC_GT
            | sys::F_NUMERIC_GE
    )
}

/// May a subquery raise an error, evaluated for some outer row? Not when it is `EXISTS`, `IN`
/// or a scalar subquery that always returns one row (an aggregate without GROUP BY), over plain
/// tables, whose conditions, select list and comparison cannot fail ([`may_fail`]).
fn sublink_may_fail(l: *mut sys::SubLink) -> PgResult<bool> {
    // SAFETY: a SubLink of the analyzed query and its subquery, read per their tags.
    unsafe {
        let l = &*l;
        if l.subselect.is_null() || nodes::tag(l.subselect) != sys::NodeTag_T_Query {
            return Ok(true);
        }
        let q = &*(l.subselect as *mut sys::Query);
        let one_row = q.hasAggs
            && q.groupClause.is_null()
            && q.groupingSets.is_null()
            && q.havingQual.is_null()
            && q.limitCount.is_null()
            && q.limitOffset.is_null();
        let kind_ok = match l.subLinkType {
            sys::SubLinkType_EXISTS_SUBLINK | sys::SubLinkType_ANY_SUBLINK => true,
            sys::SubLinkType_EXPR_SUBLINK => one_row,
            _ => false,
        };
        if !kind_ok
            || !q.setOperations.is_null()
            || !q.cteList.is_null()
            || q.hasWindowFuncs
            || q.hasTargetSRFs
            || q.jointree.is_null()
        {
            return Ok(true);
        }
        for rte in list::<sys::RangeTblEntry>(q.rtable) {
            if !matches!((*rte).rtekind, sys::RTEKind_RTE_RELATION | sys::RTEKind_RTE_JOIN) {
                return Ok(true);
            }
        }
        let mut parts = vec![l.testexpr, (*q.jointree).quals, q.limitCount];
        for t in list::<sys::TargetEntry>(q.targetList) {
            parts.push((*t).expr as *mut sys::Node);
        }
        fn join_quals(n: *mut sys::Node, out: &mut Vec<*mut sys::Node>) {
            // SAFETY: join tree nodes of the subquery.
            unsafe {
                match nodes::tag(n) {
                    sys::NodeTag_T_FromExpr => {
                        let f = &*(n as *mut sys::FromExpr);
                        out.push(f.quals);
                        list::<sys::Node>(f.fromlist).into_iter().for_each(|c| join_quals(c, out));
                    }
                    sys::NodeTag_T_JoinExpr => {
                        let j = &*(n as *mut sys::JoinExpr);
                        out.push(j.quals);
                        join_quals(j.larg, out);
                        join_quals(j.rarg, out);
                    }
                    _ => {}
                }
            }
        }
        join_quals(q.jointree as *mut sys::Node, &mut parts);
        for p in parts.into_iter().filter(|p| !p.is_null()) {
            if may_fail(p)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// A built-in that cannot fail for any value of its column arguments, given its constant ones:
/// string concatenation, case and length; `LIKE` with a constant pattern (one that does not end
/// in its escape character); `substring` with a constant length that is not negative; `extract`
/// and `date_part` of a constant field the argument's type has. Without arguments: any built-in
/// (`now()`).
fn safe_call(func: Oid, args: *mut sys::List) -> PgResult<bool> {
    // SAFETY: the argument list of a call of the analyzed query.
    let args: Vec<*mut sys::Node> = unsafe { list(args) };
    if args.is_empty() {
        return Ok(is_builtin(func));
    }
    let constant_text = |i: usize| -> PgResult<Option<String>> {
        Ok(match args.get(i).map(|&a| const_literal(a)).transpose()?.flatten() {
            Some((Literal::Utf8(t), _)) => Some(t),
            _ => None,
        })
    };
    let constant_int = |i: usize| -> PgResult<Option<i64>> {
        Ok(match args.get(i).map(|&a| const_literal(a)).transpose()?.flatten() {
            Some((Literal::Int64(v), _)) => Some(v),
            _ => None,
        })
    };
    // Fields whose value `extract` computes for every date (or timestamp) without an error.
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
    Ok(match func {
        sys::F_TEXTCAT
        | sys::F_UPPER_TEXT
        | sys::F_LOWER_TEXT
        | sys::F_LENGTH_TEXT
        | sys::F_LENGTH_BPCHAR
        | sys::F_TEXTLEN
        | sys::F_CHAR_LENGTH_TEXT
        | sys::F_CHAR_LENGTH_BPCHAR
        | sys::F_OCTET_LENGTH_TEXT
        | sys::F_SUBSTRING_TEXT_INT4
        | sys::F_SUBSTR_TEXT_INT4 => true,
        sys::F_TEXTLIKE
        | sys::F_TEXTNLIKE
        | sys::F_BPCHARLIKE
        | sys::F_BPCHARNLIKE
        | sys::F_LIKE_TEXT_TEXT
        | sys::F_NOTLIKE_TEXT_TEXT => constant_text(1)?.is_some_and(|p| !p.ends_with('\\')),
        sys::F_SUBSTRING_TEXT_INT4_INT4 | sys::F_SUBSTR_TEXT_INT4_INT4 => {
            constant_int(2)?.is_some_and(|n| n >= 0)
        }
        sys::F_EXTRACT_TEXT_DATE | sys::F_DATE_PART_TEXT_DATE => {
            constant_text(0)?.is_some_and(|f| DATE_FIELDS.contains(&f.to_lowercase().as_str()))
        }
        sys::F_EXTRACT_TEXT_TIMESTAMP
        | sys::F_EXTRACT_TEXT_TIMESTAMPTZ
        | sys::F_DATE_PART_TEXT_TIMESTAMP
        | sys::F_DATE_PART_TEXT_TIMESTAMPTZ => constant_text(0)?.is_some_and(|f| {
            let f = f.to_lowercase();
            DATE_FIELDS.contains(&f.as_str()) || TIME_FIELDS.contains(&f.as_str())
        }),
        _ => false,
    })
}

/// The block type of a NULL of `e`'s type: a numeric NULL has no scale, and takes the
/// other branches' (as in DataFusion's CASE).
fn null_type(e: *mut sys::Node) -> PgResult<ColumnType> {
    match column_type(e) {
        Err(_) if expr_type(e)?.0 == sys::NUMERICOID => Ok(ColumnType::Decimal128 { precision: 1, scale: 0 }),
        t => t,
    }
}

/// A new searched `CASE WHEN c1 THEN r1 ... ELSE default END` of type `typid` and collation
/// `coll` (`default` a node, never null: PostgreSQL's parser always sets one).
fn make_case(
    typid: sys::Oid,
    coll: sys::Oid,
    whens: &[(*mut sys::Node, *mut sys::Node)],
    default: *mut sys::Node,
) -> PgResult<*mut sys::Node> {
    // SAFETY: new nodes, every field set before use.
    unsafe {
        let mut args: *mut sys::List = std::ptr::null_mut();
        for &(cond, result) in whens {
            let when = nodes::make::<sys::CaseWhen>(sys::NodeTag_T_CaseWhen)?;
            (*when).expr = cond as *mut sys::Expr;
            (*when).result = result as *mut sys::Expr;
            (*when).location = -1;
            args = nodes::append(args, when as *mut c_void)?;
        }
        let case = nodes::make::<sys::CaseExpr>(sys::NodeTag_T_CaseExpr)?;
        (*case).casetype = typid;
        (*case).casecollid = coll;
        (*case).arg = std::ptr::null_mut();
        (*case).args = args;
        (*case).defresult = default as *mut sys::Expr;
        (*case).location = -1;
        Ok(case as *mut sys::Node)
    }
}

/// `COALESCE(a1, ..., an)` as the CASE it is, `CASE WHEN a1 IS NOT NULL THEN a1 ... ELSE an
/// END`, for DataFusion and for the numeric CASE rules (a value's display scale is the scale of
/// the argument that gave it). `e` itself when it is no COALESCE, or when an argument is
/// volatile (the CASE evaluates it twice).
fn coalesce_as_case(e: *mut sys::Node) -> PgResult<*mut sys::Node> {
    // SAFETY: `e` is a valid expression node; a CoalesceExpr's fields are read per its tag.
    unsafe {
        if nodes::tag(e) != sys::NodeTag_T_CoalesceExpr || guard(|| sys::contain_volatile_functions(e))? {
            return Ok(e);
        }
        let c = &*(e as *mut sys::CoalesceExpr);
        let args: Vec<*mut sys::Node> = list(c.args);
        let Some((&last, rest)) = args.split_last() else { return Ok(e) };
        if rest.is_empty() {
            return Ok(last);
        }
        let mut whens = Vec::with_capacity(rest.len());
        for &a in rest {
            let test = nodes::make::<sys::NullTest>(sys::NodeTag_T_NullTest)?;
            (*test).arg = a as *mut sys::Expr;
            (*test).nulltesttype = sys::NullTestType_IS_NOT_NULL;
            (*test).argisrow = false;
            (*test).location = -1;
            whens.push((test as *mut sys::Node, a));
        }
        make_case(c.coalescetype, c.coalescecollid, &whens, last)
    }
}

fn is_var(e: *mut sys::Node) -> bool {
    // SAFETY: `e` is a valid node.
    unsafe { nodes::tag(e) == sys::NodeTag_T_Var }
}

fn is_null_const(e: *mut sys::Node) -> bool {
    // SAFETY: `e` is a valid node.
    unsafe { nodes::tag(e) == sys::NodeTag_T_Const && (*(e as *mut sys::Const)).constisnull }
}

/// The block type for a PostgreSQL type, or the reason it cannot cross.
fn column_type(e: *mut sys::Node) -> PgResult<ColumnType> {
    let (typid, typmod, _) = expr_type(e)?;
    Ok(match typid {
        sys::BOOLOID => ColumnType::Boolean,
        sys::INT2OID => ColumnType::Int16,
        sys::INT4OID => ColumnType::Int32,
        sys::INT8OID => ColumnType::Int64,
        sys::FLOAT4OID => ColumnType::Float32,
        sys::FLOAT8OID => ColumnType::Float64,
        sys::NUMERICOID => match numeric_digits(e)? {
            Some((int, scale)) if int + scale <= 38 => {
                ColumnType::Decimal128 { precision: (int + scale) as u8, scale: scale as i8 }
            }
            // Arithmetic whose declared bounds exceed 38 digits (a product of products, say)
            // while its scale is fixed: carried as 38 digits; a value that does not fit fails
            // in the encoder (never rounds, never wraps).
            Some((_, scale)) if scale <= 38 => ColumnType::Decimal128 { precision: 38, scale: scale as i8 },
            _ => {
                return Err(unsupported(
                    "numeric without a precision and scale known at plan time (declare the column as numeric(p,s), p <= 38)",
                ))
            }
        },
        sys::TEXTOID | sys::VARCHAROID | sys::BPCHAROID | sys::NAMEOID => {
            // SAFETY: reads the database encoding, set at connection start.
            if unsafe { sys::pgf_database_encoding() } != sys::pg_enc_PG_UTF8 as i32 {
                return Err(unsupported("text in a database whose encoding is not UTF8"));
            }
            if typid == sys::BPCHAROID && typmod < 0 {
                return Err(unsupported("bpchar without a length"));
            }
            ColumnType::Utf8View
        }
        sys::BYTEAOID => ColumnType::BinaryView,
        sys::DATEOID => ColumnType::Date32,
        sys::TIMEOID => ColumnType::Time64Us,
        sys::TIMESTAMPOID => ColumnType::TimestampUs { utc: false },
        sys::TIMESTAMPTZOID => ColumnType::TimestampUs { utc: true },
        sys::INTERVALOID => ColumnType::IntervalMonthDayNano,
        sys::UUIDOID => ColumnType::FixedSizeBinary16,
        _ => return Err(unsupported(format!("type {}", type_name(typid, typmod)))),
    })
}

/// May DataFusion order values of this column as PostgreSQL does?
fn order_safe(ty: ColumnType, collation: Oid) -> bool {
    match ty {
        ColumnType::IntervalMonthDayNano => false,
        // SAFETY: lc_collate_is_c reads the collation's catalog entry; errors are caught.
        ColumnType::Utf8View => guard(|| unsafe { sys::lc_collate_is_c(collation) }).unwrap_or(false),
        _ => true,
    }
}

/// May DataFusion compare values of this column for equality (GROUP BY, DISTINCT) as PostgreSQL
/// does?
fn eq_safe(ty: ColumnType, collation: Oid) -> bool {
    match ty {
        // -0 = 0 and NaN = NaN in PostgreSQL, not bitwise.
        ColumnType::Float32 | ColumnType::Float64 => false,
        // '1 month' = '30 days' in PostgreSQL.
        ColumnType::IntervalMonthDayNano => false,
        ColumnType::Utf8View => {
            // SAFETY: catalog lookup; errors are caught.
            collation == 0
                || guard(|| unsafe { sys::get_collation_isdeterministic(collation) }).unwrap_or(false)
        }
        _ => true,
    }
}

/// A base relation of the query: one scan leaf.
struct Leaf {
    rtindex: i32,
    relid: Oid,
    /// Conditions on this relation alone: its scan SQL's WHERE.
    quals: Vec<*mut sys::Node>,
    /// On the nullable side of an outer join: its scan columns must be NULL for NULL input
    /// (they are NULL in null-extended rows, whatever expression computed them).
    nullable: bool,
    /// A subquery in FROM computed as a query block of its own (index into `Builder::subs`):
    /// it has no scan SQL; its columns are read as they are, everything else runs above it.
    sub: Option<usize>,
}

/// A subquery in FROM translated as its own query block.
struct SubBlock {
    plan: PlanSpec,
    /// Per select-list entry (by resno - 1): the block's output column, when DataFusion computes
    /// it as it stands (not, say, avg's division on the PostgreSQL node).
    outputs: Vec<Option<usize>>,
    types: Vec<ColumnType>,
    /// Per output column: only its value is PostgreSQL's, not its display scale (`avg`): usable
    /// in comparisons only.
    value_only: Vec<bool>,
    /// PostgreSQL types of its scans' columns, in `PlanSpec::all_scans` order.
    pg_types: Vec<Vec<(Oid, i32)>>,
}

/// The FROM clause as a tree: base relations, inner joins (and FROM lists) with their
/// conditions split into AND terms, outer joins with their ON terms.
enum FromNode {
    Leaf(i32),
    Inner(Vec<FromNode>, Vec<*mut sys::Node>),
    Outer(JoinKind, Box<FromNode>, Box<FromNode>, Vec<*mut sys::Node>),
}

/// The FROM clause taken apart.
struct FromItems {
    /// Range-table indexes of the base relations, in order, and whether each is nullable.
    leaves: Vec<(i32, bool)>,
    has_outer: bool,
}

impl FromItems {
    fn walk(&mut self, node: *mut sys::Node, nullable: bool) -> PgResult<FromNode> {
        nodes::check_stack_depth()?;
        // SAFETY: jointree nodes of an analyzed query.
        unsafe {
            match nodes::tag(node) {
                sys::NodeTag_T_RangeTblRef => {
                    let rti = (*(node as *mut sys::RangeTblRef)).rtindex;
                    self.leaves.push((rti, nullable));
                    Ok(FromNode::Leaf(rti))
                }
                sys::NodeTag_T_FromExpr => {
                    let f = &*(node as *mut sys::FromExpr);
                    let children = list::<sys::Node>(f.fromlist)
                        .into_iter()
                        .map(|item| self.walk(item, nullable))
                        .collect::<PgResult<Vec<_>>>()?;
                    Ok(FromNode::Inner(children, conjuncts(f.quals)))
                }
                sys::NodeTag_T_JoinExpr => {
                    let j = &*(node as *mut sys::JoinExpr);
                    let kind = match j.jointype {
                        sys::JoinType_JOIN_INNER => {
                            let l = self.walk(j.larg, nullable)?;
                            let r = self.walk(j.rarg, nullable)?;
                            return Ok(FromNode::Inner(vec![l, r], conjuncts(j.quals)));
                        }
                        sys::JoinType_JOIN_LEFT => JoinKind::Left,
                        sys::JoinType_JOIN_RIGHT => JoinKind::Right,
                        sys::JoinType_JOIN_FULL => JoinKind::Full,
                        _ => return Err(unsupported("join type (semi/anti joins)")),
                    };
                    self.has_outer = true;
                    let l =
                        self.walk(j.larg, nullable || matches!(kind, JoinKind::Right | JoinKind::Full))?;
                    let r = self.walk(j.rarg, nullable || matches!(kind, JoinKind::Left | JoinKind::Full))?;
                    Ok(FromNode::Outer(kind, Box::new(l), Box::new(r), conjuncts(j.quals)))
                }
                _ => Err(unsupported("FROM item")),
            }
        }
    }
}

impl FromNode {
    /// Every condition, in order (inner joins only: the flat plan).
    fn all_quals(&self, out: &mut Vec<*mut sys::Node>) {
        match self {
            FromNode::Leaf(_) => {}
            FromNode::Inner(children, quals) => {
                for c in children {
                    c.all_quals(out);
                }
                out.extend(quals);
            }
            FromNode::Outer(_, l, r, quals) => {
                l.all_quals(out);
                r.all_quals(out);
                out.extend(quals);
            }
        }
    }

    /// Relations a condition evaluated at this node may filter before the node (in their scan
    /// SQL) without changing its rows: through inner joins and the preserved side of outer joins.
    fn cluster(&self, out: &mut Vec<i32>) {
        match self {
            FromNode::Leaf(rti) => out.push(*rti),
            FromNode::Inner(children, _) => children.iter().for_each(|c| c.cluster(out)),
            FromNode::Outer(JoinKind::Left, l, _, _) => l.cluster(out),
            FromNode::Outer(JoinKind::Right, _, r, _) => r.cluster(out),
            FromNode::Outer(..) => {}
        }
    }
}

/// Split an AND (or an implicit-AND list) into its terms.
fn conjuncts(e: *mut sys::Node) -> Vec<*mut sys::Node> {
    let mut out = Vec::new();
    fn go(e: *mut sys::Node, out: &mut Vec<*mut sys::Node>) {
        if e.is_null() {
            return;
        }
        // SAFETY: a qual expression of the query.
        unsafe {
            match nodes::tag(e) {
                sys::NodeTag_T_BoolExpr
                    if (*(e as *mut sys::BoolExpr)).boolop == sys::BoolExprType_AND_EXPR =>
                {
                    for a in list::<sys::Node>((*(e as *mut sys::BoolExpr)).args) {
                        go(a, out);
                    }
                }
                sys::NodeTag_T_List => {
                    for a in list::<sys::Node>(e as *mut sys::List) {
                        go(a, out);
                    }
                }
                _ => out.push(e),
            }
        }
    }
    go(e, &mut out);
    out
}

struct Builder {
    /// Scan columns: expression, block type, leaf. A column's index is its id in the joined row.
    columns: Vec<(*mut sys::Node, ColumnType, usize)>,
    leaves: Vec<Leaf>,
    /// Without grouping: the scan columns the node outputs, in order (join keys and other
    /// columns only DataFusion needs are not among them).
    output: Vec<usize>,
    /// Columns DataFusion computes after the joins (their leaf is [`COMPUTED`]): id, expression.
    computed: Vec<(usize, DfExpr)>,
    subs: Vec<SubBlock>,
    /// Columns read from subquery leaves: (sub, its output column, column id).
    sub_columns: Vec<(usize, usize, usize)>,
    /// Ids of columns whose value is exact but whose display scale is not (see
    /// `SubBlock::value_only`): compared only.
    value_only: Vec<usize>,
    /// Without grouping: window functions over the joined row (their columns' leaf is
    /// [`WINDOW`]).
    windows: Vec<WindowSpec>,
    /// Translating a part of an expression computed after the joins that PostgreSQL evaluates
    /// only when it is reached (a CASE branch, a later COALESCE argument): see
    /// [`Builder::scan_part`].
    guarded: bool,
}

/// The "leaf" of a window function's result column (no grouping).
const WINDOW: usize = usize::MAX - 1;

/// The "leaf" of a column computed above the joins.
const COMPUTED: usize = usize::MAX;

/// The comparison a built-in operator performs, by its name (the caller checks the types).
fn cmp_op(opno: Oid) -> Option<CmpOp> {
    Some(match op_name(opno).as_str() {
        "=" => CmpOp::Eq,
        "<>" => CmpOp::NotEq,
        "<" => CmpOp::Lt,
        "<=" => CmpOp::LtEq,
        ">" => CmpOp::Gt,
        ">=" => CmpOp::GtEq,
        _ => return None,
    })
}

/// AND/OR/NOT over translated arguments (NOT has one).
fn bool_expr(op: sys::BoolExprType, args: Vec<DfExpr>) -> Option<DfExpr> {
    Some(match op {
        sys::BoolExprType_AND_EXPR => DfExpr::And(args),
        sys::BoolExprType_OR_EXPR => DfExpr::Or(args),
        _ => DfExpr::Not(Box::new(args.into_iter().next()?)),
    })
}

/// IS [NOT] NULL of a translated argument.
fn null_test(n: &sys::NullTest, arg: Box<DfExpr>) -> DfExpr {
    if n.nulltesttype == sys::NullTestType_IS_NULL {
        DfExpr::IsNull(arg)
    } else {
        DfExpr::IsNotNull(arg)
    }
}

/// Whether `e` computes integer arithmetic (which can fail on overflow).
fn has_int_arith(e: &DfExpr) -> bool {
    match e {
        DfExpr::IntArith(..) => true,
        DfExpr::Column(_) | DfExpr::Literal(_) => false,
        DfExpr::Compare(_, l, r) | DfExpr::Arith(_, l, r) | DfExpr::NumericDiv(l, r, _) => {
            has_int_arith(l) || has_int_arith(r)
        }
        DfExpr::And(v) | DfExpr::Or(v) => v.iter().any(has_int_arith),
        DfExpr::Not(x) | DfExpr::IsNull(x) | DfExpr::IsNotNull(x) | DfExpr::Cast(x, _) => has_int_arith(x),
        DfExpr::Case(branches, default) => {
            branches.iter().any(|(c, v)| has_int_arith(c) || has_int_arith(v))
                || default.as_deref().is_some_and(has_int_arith)
        }
    }
}

/// Whether `e` is equalities between columns only (all of them become hash-join keys).
fn equalities_only(e: &DfExpr) -> bool {
    match e {
        DfExpr::And(v) => v.iter().all(equalities_only),
        DfExpr::Compare(CmpOp::Eq, l, r) => {
            matches!((l.as_ref(), r.as_ref()), (DfExpr::Column(_), DfExpr::Column(_)))
        }
        _ => false,
    }
}

fn and_all(mut terms: Vec<DfExpr>) -> Option<DfExpr> {
    match terms.len() {
        0 => None,
        1 => terms.pop(),
        _ => Some(DfExpr::And(terms)),
    }
}

impl Builder {
    /// A condition of the FROM clause, join aliases flattened; refused if volatile in a query
    /// over several tables (PostgreSQL evaluates it once per joined row).
    fn condition(
        &self,
        c: *mut sys::Node,
        flatten: &dyn Fn(*mut sys::Node) -> PgResult<*mut sys::Node>,
    ) -> PgResult<*mut sys::Node> {
        let c = flatten(c)?;
        // SAFETY: a valid expression.
        if self.leaves.len() > 1 && guard(|| unsafe { sys::contain_volatile_functions(c) })? {
            return Err(unsupported("volatile function in a query over several tables"));
        }
        Ok(c)
    }

    /// The join tree for DataFusion (outer joins present). Terms of one relation go into its scan
    /// where [`FromNode::cluster`] allows; the others become the join's ON filter (or, at the
    /// top, `top_terms`: the filter above the whole tree).
    fn convert(
        &mut self,
        node: &FromNode,
        top: bool,
        top_terms: &mut Vec<DfExpr>,
        flatten: &dyn Fn(*mut sys::Node) -> PgResult<*mut sys::Node>,
    ) -> PgResult<JoinTree> {
        let leaf_index = |b: &Builder, rti: i32| {
            b.leaves.iter().position(|l| l.rtindex == rti).ok_or_else(|| PgError::internal("join tree leaf"))
        };
        let mut pushable = Vec::new();
        let (tree, quals) = match node {
            FromNode::Leaf(rti) => return Ok(JoinTree::Leaf(leaf_index(self, *rti)?)),
            FromNode::Inner(children, quals) => {
                node.cluster(&mut pushable);
                let mut it = children.iter();
                let first = it.next().ok_or_else(|| unsupported("empty FROM"))?;
                let mut tree = self.convert(first, false, top_terms, flatten)?;
                for c in it {
                    let right = self.convert(c, false, top_terms, flatten)?;
                    tree = JoinTree::Join {
                        kind: JoinKind::Inner,
                        left: Box::new(tree),
                        right: Box::new(right),
                        on: None,
                    };
                }
                (tree, quals)
            }
            FromNode::Outer(kind, l, r, quals) => {
                match kind {
                    JoinKind::Left => r.cluster(&mut pushable),
                    JoinKind::Right => l.cluster(&mut pushable),
                    _ => {}
                }
                let left = self.convert(l, false, top_terms, flatten)?;
                let right = self.convert(r, false, top_terms, flatten)?;
                (
                    JoinTree::Join { kind: *kind, left: Box::new(left), right: Box::new(right), on: None },
                    quals,
                )
            }
        };
        let mut on = Vec::new();
        for &c in quals {
            let c = self.condition(c, flatten)?;
            match self.leaf_of(c) {
                Ok(leaf)
                    if pushable.contains(&self.leaves[leaf].rtindex) && self.leaves[leaf].sub.is_none() =>
                {
                    self.leaves[leaf].quals.push(c)
                }
                _ => on.push(self.join_cond(c)?),
            }
        }
        if top {
            top_terms.extend(on);
            return Ok(tree);
        }
        match tree {
            JoinTree::Join { kind, left, right, on: None } => {
                Ok(JoinTree::Join { kind, left, right, on: and_all(on) })
            }
            t if on.is_empty() => Ok(t),
            _ => Err(unsupported("condition over several tables of a subquery under an outer join")),
        }
    }

    /// May `e`, an expression of leaf `leaf`, be computed in that leaf's scan?
    fn computable_in_scan(&self, e: *mut sys::Node, leaf: usize) -> PgResult<bool> {
        // Window functions run over the joined (or grouped) rows, never in a scan.
        // SAFETY: a valid expression.
        if guard(|| unsafe { sys::contain_window_function(e) })? {
            return Ok(false);
        }
        if self.leaves[leaf].sub.is_some() {
            // A subquery leaf has no scan: only its columns as they are.
            return Ok(is_var(e));
        }
        // A scan computes its expressions for every row it returns; PostgreSQL evaluates the
        // select list, aggregate arguments and conditions between tables on the joined rows
        // only. With a join, an expression that could fail for a row the join removes (`a / b`,
        // `t::int`) is computed after the join, or refused.
        if self.leaves.len() > 1 && may_fail(e)? {
            return Ok(false);
        }
        if !self.leaves[leaf].nullable {
            return Ok(true);
        }
        // SAFETY: a valid expression.
        Ok(!guard(|| unsafe { sys::contain_nonstrict_functions(e) })?)
    }

    /// A column computed by DataFusion after the joins: `+ - *` of numerics from several
    /// relations, exact (the result fits 38 digits by the operands' declared digits).
    fn computed_column(&mut self, e: *mut sys::Node) -> PgResult<usize> {
        if let Some(&(id, _)) = self.computed.iter().find(|(id, _)| nodes::equal(self.columns[*id].0, e)) {
            return Ok(id);
        }
        let (expr, (int, scale)) = self.arith(e)?;
        let ty = ColumnType::Decimal128 { precision: (int + scale) as u8, scale: scale as i8 };
        self.columns.push((e, ty, COMPUTED));
        let id = self.columns.len() - 1;
        self.computed.push((id, expr));
        Ok(id)
    }

    /// Is `e` numeric `+ - *` that DataFusion computes exactly from scan columns and constants
    /// (declared digits within 38)? Then the scan ships the operands, not PostgreSQL's result:
    /// Decimal128 arithmetic costs far less than PostgreSQL's numeric arithmetic per row.
    /// No side effects (no columns are added).
    fn df_arithmetic(&self, e: *mut sys::Node) -> PgResult<bool> {
        fn digits(b: &Builder, e: *mut sys::Node) -> PgResult<Option<(u32, u32)>> {
            if let Some((Literal::Decimal128 { precision, scale, .. }, _)) = folded_literal(e)? {
                return Ok(Some(((precision as i8 - scale).max(0) as u32, scale.max(0) as u32)));
            }
            // SAFETY: `e` is a valid expression node; fields are read per its tag.
            unsafe {
                match nodes::tag(e) {
                    sys::NodeTag_T_Var => {
                        let v = &*(e as *mut sys::Var);
                        let plain_leaf = b
                            .leaves
                            .iter()
                            .any(|l| l.rtindex == v.varno && l.sub.is_none() && v.varlevelsup == 0);
                        if !plain_leaf || v.vartype != sys::NUMERICOID {
                            return Ok(None);
                        }
                        Ok(numeric_shape(v.vartypmod).map(|(p, s)| ((p as i8 - s) as u32, s as u32)))
                    }
                    sys::NodeTag_T_RelabelType => {
                        digits(b, (*(e as *mut sys::RelabelType)).arg as *mut sys::Node)
                    }
                    sys::NodeTag_T_OpExpr => {
                        let o = &*(e as *mut sys::OpExpr);
                        let args: Vec<*mut sys::Node> = list(o.args);
                        if args.len() != 2 {
                            return Ok(None);
                        }
                        let (Some(l), Some(r)) = (digits(b, args[0])?, digits(b, args[1])?) else {
                            return Ok(None);
                        };
                        let d = match o.opfuncid {
                            sys::F_NUMERIC_ADD | sys::F_NUMERIC_SUB => (l.0.max(r.0) + 1, l.1.max(r.1)),
                            sys::F_NUMERIC_MUL => (l.0 + r.0, l.1 + r.1),
                            _ => return Ok(None),
                        };
                        Ok((d.0 + d.1 <= 38).then_some(d))
                    }
                    _ => Ok(None),
                }
            }
        }
        // SAFETY: a valid node.
        if unsafe { nodes::tag(e) } != sys::NodeTag_T_OpExpr {
            return Ok(false);
        }
        Ok(digits(self, e)?.is_some())
    }

    /// `e` as DataFusion arithmetic over scan columns, with its (integer digits, scale).
    fn arith(&mut self, e: *mut sys::Node) -> PgResult<(DfExpr, (u32, u32))> {
        nodes::check_stack_depth()?;
        let refuse =
            || unsupported("aggregate over an expression of several tables (only + - * of numerics)");
        // A constant (folded as the planner would) is a literal, not a column of every row.
        if let Some((lit @ Literal::Decimal128 { precision, scale, .. }, _)) = folded_literal(e)? {
            return Ok((
                DfExpr::Literal(lit),
                ((precision as i8 - scale).max(0) as u32, scale.max(0) as u32),
            ));
        }
        // One relation's expression is a scan column, unless it is arithmetic DataFusion
        // computes exactly (cheaper than PostgreSQL per row); otherwise (a subquery's columns,
        // the nullable side of an outer join) DataFusion computes it over the joined row.
        let in_scan = match self.leaf_of(e) {
            Ok(_) => !self.df_arithmetic(e)?,
            Err(_) => false,
        };
        if let (true, Ok(leaf)) = (in_scan, self.leaf_of(e)) {
            if self.computable_in_scan(e, leaf)? {
                self.scan_part(e)?;
                let id = self.column(e)?;
                return match self.columns[id].1 {
                    ColumnType::Decimal128 { precision, scale } => {
                        Ok((DfExpr::Column(id), ((precision as i8 - scale) as u32, scale as u32)))
                    }
                    _ => Err(refuse()),
                };
            }
        }
        // An integer as numeric (a subquery's count compared with an avg, say): exact.
        if let Some((arg, ty @ ColumnType::Decimal128 { precision, .. })) = int_to_numeric(e) {
            return Ok((DfExpr::Cast(Box::new(self.df_value(arg)?), ty), (precision as u32, 0)));
        }
        // A CASE (or COALESCE) whose results share one scale (a NULL branch aside).
        let case = coalesce_as_case(e)?;
        if let Some((int, scale, true)) = case_shape(case)? {
            return Ok((self.case_df(case)?.0, (int, scale)));
        }
        // SAFETY: a valid expression node.
        unsafe {
            if nodes::tag(e) != sys::NodeTag_T_OpExpr {
                return Err(refuse());
            }
            let o = &*(e as *mut sys::OpExpr);
            let args: Vec<*mut sys::Node> = list(o.args);
            if args.len() != 2 {
                return Err(refuse());
            }
            let (op, combine): (ArithOp, fn((u32, u32), (u32, u32)) -> (u32, u32)) = match o.opfuncid {
                sys::F_NUMERIC_ADD => (ArithOp::Add, |a, b| (a.0.max(b.0) + 1, a.1.max(b.1))),
                sys::F_NUMERIC_SUB => (ArithOp::Sub, |a, b| (a.0.max(b.0) + 1, a.1.max(b.1))),
                sys::F_NUMERIC_MUL => (ArithOp::Mul, |a, b| (a.0 + b.0, a.1 + b.1)),
                _ => return Err(refuse()),
            };
            let (l, ld) = self.arith(args[0])?;
            let (r, rd) = self.arith(args[1])?;
            let digits = combine(ld, rd);
            if digits.0 + digits.1 > 38 {
                return Err(unsupported("numeric arithmetic over several tables beyond 38 digits"));
            }
            Ok((DfExpr::Arith(op, Box::new(l), Box::new(r)), digits))
        }
    }

    /// The node's output position of scan column `id` (added on first use).
    fn output_pos(&mut self, id: usize) -> usize {
        match self.output.iter().position(|&o| o == id) {
            Some(p) => p,
            None => {
                self.output.push(id);
                self.output.len() - 1
            }
        }
    }

    /// The leaf whose relation `e` reads (the first leaf for an expression without columns), or
    /// an error when it reads several.
    /// Whether `e` is a column no row of this block has NULL in: a NOT NULL column of a table
    /// no outer join null-extends. `count(e)` then counts rows, and `e` need not cross.
    fn never_null(&self, e: *mut sys::Node) -> PgResult<bool> {
        // SAFETY: `e` is a valid expression node.
        if e.is_null() || unsafe { nodes::tag(e) } != sys::NodeTag_T_Var {
            return Ok(false);
        }
        // SAFETY: checked to be a Var.
        let v = unsafe { &*(e as *mut sys::Var) };
        let Some(leaf) = self.leaves.iter().find(|l| l.rtindex == v.varno) else { return Ok(false) };
        if v.varlevelsup != 0 || v.varattno <= 0 || leaf.sub.is_some() || leaf.nullable {
            return Ok(false);
        }
        // SAFETY: catalog lookup; errors are caught.
        guard(|| unsafe { sys::pgf_attnotnull(leaf.relid, v.varattno) })
    }

    fn leaf_of(&self, e: *mut sys::Node) -> PgResult<usize> {
        // SAFETY: pull_varnos over a valid expression of this query level.
        let varno = guard(|| unsafe { sys::pgf_expr_varno(e) })?;
        match varno {
            // No column: any row source will do, but not one that may be null-extended.
            0 => self.leaves.iter().position(|l| !l.nullable && l.sub.is_none()).ok_or_else(|| {
                unsupported("constant expression without a table to compute it in (FULL JOIN, or only subqueries in FROM)")
            }),
            v if v > 0 => self
                .leaves
                .iter()
                .position(|l| l.rtindex == v)
                .ok_or_else(|| unsupported("column of a FROM item that is not a table")),
            _ => Err(unsupported("expression over several tables here")),
        }
    }

    /// Restrictions implied by an OR over several relations (PostgreSQL's own
    /// `extract_restriction_or_clauses`): from `(a1 AND j1) OR (a2 AND j2)`, where `a1`, `a2` read
    /// only relation L, `a1 OR a2` may filter L's scan. A row of L for which it is not true makes
    /// every arm false or NULL, so the OR drops every joined row it is part of; the OR itself
    /// still runs after the join (TPC-H Q19: lineitem's and part's scans keep only the rows some
    /// arm can accept). Only for a WHERE (or inner join) term over relations no outer join
    /// null-extends; per relation with its own terms in every arm.
    fn implied_restrictions(&self, c: *mut sys::Node) -> PgResult<Vec<(usize, *mut sys::Node)>> {
        // SAFETY: a valid qual expression of the query.
        let arms: Vec<*mut sys::Node> = unsafe {
            if nodes::tag(c) != sys::NodeTag_T_BoolExpr
                || (*(c as *mut sys::BoolExpr)).boolop != sys::BoolExprType_OR_EXPR
            {
                return Ok(Vec::new());
            }
            list((*(c as *mut sys::BoolExpr)).args)
        };
        // Per arm: (leaf, that leaf's conjuncts of the arm).
        let mut per_arm: Vec<Vec<(usize, Vec<*mut sys::Node>)>> = Vec::new();
        for &arm in &arms {
            let mut by_leaf: Vec<(usize, Vec<*mut sys::Node>)> = Vec::new();
            for t in conjuncts(arm) {
                // SAFETY: pull_varnos over a valid expression of this query level.
                let varno = guard(|| unsafe { sys::pgf_expr_varno(t) })?;
                let Some(leaf) = self
                    .leaves
                    .iter()
                    .position(|l| varno > 0 && l.rtindex == varno && l.sub.is_none() && !l.nullable)
                else {
                    continue;
                };
                match by_leaf.iter_mut().find(|(l, _)| *l == leaf) {
                    Some((_, ts)) => ts.push(t),
                    None => by_leaf.push((leaf, vec![t])),
                }
            }
            per_arm.push(by_leaf);
        }
        let Some(first) = per_arm.first() else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for &(leaf, _) in first {
            let mut ors: *mut sys::List = std::ptr::null_mut();
            let mut every_arm = true;
            for arm in &per_arm {
                let Some((_, ts)) = arm.iter().find(|(l, _)| *l == leaf) else {
                    every_arm = false;
                    break;
                };
                let term = match ts.as_slice() {
                    [one] => *one,
                    many => {
                        let mut args: *mut sys::List = std::ptr::null_mut();
                        for &t in many {
                            args = nodes::append(args, t as *mut c_void)?;
                        }
                        // SAFETY: makeBoolExpr allocates an AND over the list.
                        guard(|| unsafe {
                            sys::makeBoolExpr(sys::BoolExprType_AND_EXPR, args, -1) as *mut sys::Node
                        })?
                    }
                };
                ors = nodes::append(ors, term as *mut c_void)?;
            }
            if every_arm {
                // SAFETY: makeBoolExpr allocates an OR over the list.
                let or = guard(|| unsafe {
                    sys::makeBoolExpr(sys::BoolExprType_OR_EXPR, ors, -1) as *mut sys::Node
                })?;
                out.push((leaf, or));
            }
        }
        Ok(out)
    }

    /// The scan column computing `e` (deduplicated by equal()), in the leaf of its relation.
    fn column(&mut self, e: *mut sys::Node) -> PgResult<usize> {
        self.column_as(e, None)
    }

    /// [`Self::column`] with the block type given (else the expression's own).
    fn column_as(&mut self, e: *mut sys::Node, ty: Option<ColumnType>) -> PgResult<usize> {
        let id = self.any_column(e, ty)?;
        if self.value_only.contains(&id) {
            return Err(unsupported(
                "a subquery's avg() (or an expression over it) other than in a comparison: its display scale depends on the values",
            ));
        }
        Ok(id)
    }

    /// [`Self::column_as`], also for a column whose value only is exact (comparisons).
    fn any_column(&mut self, e: *mut sys::Node, ty: Option<ColumnType>) -> PgResult<usize> {
        // (A window function's column is described by a node that stands for nothing else.)
        if let Some(i) = self.columns.iter().position(|(c, _, l)| *l != WINDOW && nodes::equal(*c, e)) {
            return Ok(i);
        }
        let leaf = match self.leaf_of(e) {
            Ok(leaf) if self.computable_in_scan(e, leaf)? => leaf,
            // Not for a scan to compute (NULL for NULL input it is not, on the nullable side of
            // an outer join; over a subquery's columns; over several tables): DataFusion
            // computes it after the joins, or it is refused.
            _ => return self.df_column(e, ty),
        };
        if let Some(sub) = self.leaves[leaf].sub {
            return self.sub_column(e, leaf, sub);
        }
        // Evaluated once per row of its relation, not per joined row.
        // SAFETY: a valid expression.
        if self.leaves.len() > 1 && guard(|| unsafe { sys::contain_volatile_functions(e) })? {
            return Err(unsupported("volatile function in a query over several tables"));
        }
        let ty = match ty {
            Some(t) => t,
            None => column_type(e)?,
        };
        self.columns.push((e, ty, leaf));
        Ok(self.columns.len() - 1)
    }

    /// A column DataFusion computes after the joins: [`Self::df_value`] of `e`, cast to its
    /// block type.
    fn df_column(&mut self, e: *mut sys::Node, ty: Option<ColumnType>) -> PgResult<usize> {
        if let Some(&(id, _)) = self.computed.iter().find(|(id, _)| nodes::equal(self.columns[*id].0, e)) {
            return Ok(id);
        }
        let ty = match ty {
            Some(t) => t,
            None => column_type(e)?,
        };
        let expr = self.df_value(e)?;
        self.columns.push((e, ty, COMPUTED));
        let id = self.columns.len() - 1;
        self.computed.push((id, expr));
        Ok(id)
    }

    /// `e` as an expression DataFusion evaluates over the joined row, where no scan may
    /// compute it whole: CASE (searched), COALESCE, IS [NOT] NULL, AND/OR/NOT, comparisons and
    /// numeric `+ - *`, over what scans compute (a relation's expression that is NULL for NULL
    /// input, a subquery's column) and constants. DataFusion's CASE takes a branch whose
    /// condition is true, as PostgreSQL's does; a numeric result's display scale is the caller's
    /// concern (a column's block type fixes it).
    fn df_value(&mut self, e: *mut sys::Node) -> PgResult<DfExpr> {
        nodes::check_stack_depth()?;
        let refuse = || {
            // SAFETY: `e` is a valid expression node.
            let what = match unsafe { nodes::call(e) } {
                Some((f, _)) => format!("function {}", func_name(f)),
                None => "expression".to_string(),
            };
            unsupported(format!(
                "{what} computed after the joins (DataFusion computes only CASE, COALESCE, IS NULL, comparisons, + - * of numerics and + - * / % of integers there)"
            ))
        };
        if let Some((lit, _)) = folded_literal(e)? {
            return Ok(DfExpr::Literal(lit));
        }
        if is_null_const(e) {
            return Ok(DfExpr::Literal(Literal::Null(null_type(e)?)));
        }
        // SAFETY: pull_varnos over a valid expression of this query level.
        if guard(|| unsafe { sys::pgf_expr_varno(e) })? == 0 {
            // `current_date`: no scan of the join it is used in is sure to carry it.
            return Err(unsupported("expression without columns that is not a constant (current_date, now(), ...) computed after the joins"));
        }
        if let Ok(leaf) = self.leaf_of(e) {
            if self.computable_in_scan(e, leaf)? {
                self.scan_part(e)?;
                let id = self.column(e)?;
                return self.column_expr(id);
            }
        }
        // SAFETY: a valid expression node; fields are read per its tag.
        unsafe {
            match nodes::tag(e) {
                // `CASE WHEN a1 IS NOT NULL THEN a1 ... ELSE an END`: the first argument is
                // always evaluated, the others only when reached.
                sys::NodeTag_T_CoalesceExpr => {
                    let c = &*(e as *mut sys::CoalesceExpr);
                    let args: Vec<*mut sys::Node> = list(c.args);
                    let mut values = Vec::with_capacity(args.len());
                    for (k, &a) in args.iter().enumerate() {
                        values.push(if k == 0 {
                            self.df_value(a)?
                        } else {
                            self.guarded(|b| b.df_value(a))?
                        });
                    }
                    let Some(last) = values.pop() else { return Err(refuse()) };
                    let branches =
                        values.into_iter().map(|v| (DfExpr::IsNotNull(Box::new(v.clone())), v)).collect();
                    Ok(DfExpr::Case(branches, Some(Box::new(last))))
                }
                sys::NodeTag_T_CaseExpr => {
                    let c = &*(e as *mut sys::CaseExpr);
                    if !c.arg.is_null() {
                        return Err(unsupported("CASE x WHEN ... computed after the joins"));
                    }
                    let mut branches = Vec::new();
                    for (k, w) in list::<sys::CaseWhen>(c.args).into_iter().enumerate() {
                        let (cond, result) = ((*w).expr as *mut sys::Node, (*w).result as *mut sys::Node);
                        let cond =
                            if k == 0 { self.join_cond(cond)? } else { self.guarded(|b| b.join_cond(cond))? };
                        branches.push((cond, self.guarded(|b| b.df_value(result))?));
                    }
                    let default = if c.defresult.is_null() {
                        DfExpr::Literal(Literal::Null(null_type(e)?))
                    } else {
                        self.guarded(|b| b.df_value(c.defresult as *mut sys::Node))?
                    };
                    Ok(DfExpr::Case(branches, Some(Box::new(default))))
                }
                // Binary-compatible (varchar as text): the same values.
                sys::NodeTag_T_RelabelType => {
                    self.df_value((*(e as *mut sys::RelabelType)).arg as *mut sys::Node)
                }
                // A collation label: the value itself (comparisons check their collation).
                sys::NodeTag_T_CollateExpr => {
                    self.df_value((*(e as *mut sys::CollateExpr)).arg as *mut sys::Node)
                }
                sys::NodeTag_T_BoolExpr | sys::NodeTag_T_NullTest => self.join_cond(e),
                sys::NodeTag_T_OpExpr if expr_type(e)?.0 == sys::BOOLOID => self.join_cond(e),
                sys::NodeTag_T_OpExpr if expr_type(e)?.0 == sys::NUMERICOID => Ok(self.arith(e)?.0),
                sys::NodeTag_T_FuncExpr => match (int_to_numeric(e), nodes::call(e)) {
                    (Some((arg, ty)), _) => Ok(DfExpr::Cast(Box::new(self.df_value(arg)?), ty)),
                    // A narrowing integer cast (`x::smallint`): `x + 0` checked in the target
                    // type, with PostgreSQL's "smallint out of range" (22003).
                    (None, Some((sys::F_INT2_INT4 | sys::F_INT2_INT8 | sys::F_INT4_INT8, _))) if self.guarded => {
                        Err(unsupported("a narrowing integer cast in a CASE branch or COALESCE argument computed after the joins"))
                    }
                    (None, Some((sys::F_INT2_INT4 | sys::F_INT2_INT8 | sys::F_INT4_INT8, args))) => {
                        let [arg] = list::<sys::Node>(args)[..] else { return Err(refuse()) };
                        let zero = Box::new(DfExpr::Literal(Literal::Int64(0)));
                        Ok(DfExpr::IntArith(ArithOp::Add, Box::new(self.df_value(arg)?), zero, column_type(e)?))
                    }
                    _ => Err(refuse()),
                },
                sys::NodeTag_T_OpExpr => match int_op((*(e as *mut sys::OpExpr)).opfuncid) {
                    // DataFusion may evaluate a boolean CASE's branches for every row (it
                    // rewrites the CASE into AND/OR): an overflow PostgreSQL would not raise.
                    Some(_) if self.guarded => Err(unsupported(
                        "integer arithmetic in a CASE branch or COALESCE argument computed after the joins",
                    )),
                    Some(op) => {
                        let args: Vec<*mut sys::Node> = list((*(e as *mut sys::OpExpr)).args);
                        let [l, r] = args.as_slice() else { return Err(refuse()) };
                        let (l, r) = (self.df_value(*l)?, self.df_value(*r)?);
                        Ok(DfExpr::IntArith(op, Box::new(l), Box::new(r), column_type(e)?))
                    }
                    None => Err(refuse()),
                },
                _ => Err(refuse()),
            }
        }
    }

    /// Run `f` on a part PostgreSQL evaluates only when it is reached (a CASE branch, a later
    /// COALESCE argument).
    fn guarded<T>(&mut self, f: impl FnOnce(&mut Self) -> PgResult<T>) -> PgResult<T> {
        let outer = std::mem::replace(&mut self.guarded, true);
        let r = f(self);
        self.guarded = outer;
        r
    }

    /// `e`, one relation's expression about to be computed by its scan for every row, as part
    /// of an expression DataFusion computes after the joins: inside a guarded part it may not
    /// be able to fail ([`may_fail`]): `CASE WHEN o.qty <> 0 THEN o.amt / o.qty END` must not
    /// divide by zero where the CASE would not have.
    fn scan_part(&self, e: *mut sys::Node) -> PgResult<()> {
        if self.guarded && may_fail(e)? {
            return Err(unsupported(
                "expression that can fail for some rows (a function that is not leakproof) in a CASE branch or COALESCE argument computed after the joins",
            ));
        }
        Ok(())
    }

    /// The expression reading column `id` over the joined row before computed columns exist:
    /// a scan's column, or the expression of one DataFusion computes.
    fn column_expr(&self, id: usize) -> PgResult<DfExpr> {
        match self.columns[id].2 {
            WINDOW => Err(unsupported("window function inside an expression computed after the joins")),
            COMPUTED => self
                .computed
                .iter()
                .find(|(c, _)| *c == id)
                .map(|(_, e)| e.clone())
                .ok_or_else(|| PgError::internal("computed column without its expression")),
            _ => Ok(DfExpr::Column(id)),
        }
    }

    /// A column of subquery leaf `leaf` (its `sub`): only a Var, read as the subquery's output.
    fn sub_column(&mut self, e: *mut sys::Node, leaf: usize, sub: usize) -> PgResult<usize> {
        // SAFETY: `e` is a valid expression node.
        let attno = unsafe {
            match nodes::tag(e) {
                sys::NodeTag_T_Var if (*(e as *mut sys::Var)).varlevelsup == 0 => {
                    (*(e as *mut sys::Var)).varattno as i32
                }
                _ => 0,
            }
        };
        if attno <= 0 {
            return Err(unsupported(
                "expression over a subquery in FROM here (only its columns, comparisons and + - * of numerics)",
            ));
        }
        let s = &self.subs[sub];
        let o = s.outputs.get(attno as usize - 1).copied().flatten().ok_or_else(|| {
            unsupported("column of a subquery in FROM that PostgreSQL computes after DataFusion (an expression over aggregates other than + - * of numerics and avg)")
        })?;
        let (ty, value_only) = (s.types[o], s.value_only.get(o).copied().unwrap_or(false));
        self.columns.push((e, ty, leaf));
        let id = self.columns.len() - 1;
        self.sub_columns.push((sub, o, id));
        if value_only {
            self.value_only.push(id);
        }
        Ok(id)
    }

    /// A numeric CASE whose branches have different scales (`CASE WHEN .. THEN price * qty ELSE 0
    /// END`), as an aggregate argument: a value column at the largest scale and an int4 column
    /// with each value's own display scale (NULL for a NULL value), from which PostgreSQL's sum
    /// display scale (the largest over the group) is rebuilt. In the scan when the CASE reads
    /// one relation (`e + 0.00..`, `scale(e)`), else computed by DataFusion after the joins.
    fn varying_scale(&mut self, e: *mut sys::Node, int: u32, smax: u32) -> PgResult<(usize, usize)> {
        if int + smax > 38 {
            return Err(unsupported("numeric CASE beyond 38 digits"));
        }
        let ty = ColumnType::Decimal128 { precision: (int + smax) as u8, scale: smax as i8 };
        // `e + 0.000` (smax zeros): the value itself, at display scale smax when its own is not
        // larger; one that is larger (the branch scales were wrong) keeps it and the encoder
        // refuses it, as for any numeric column. Never rounds.
        // SAFETY: a numeric zero with smax fractional digits; makeConst keeps the pointer.
        let zero = guard(|| unsafe {
            let d = sys::int64_div_fast_to_numeric(0, smax as i32) as sys::Datum;
            sys::makeConst(sys::NUMERICOID, -1, 0, -1, d, false, false) as *mut sys::Node
        })?;
        let value_key = make_func(sys::F_NUMERIC_ADD, sys::NUMERICOID, &[e, zero])?;
        let scale_key = make_func(sys::F_SCALE, sys::INT4OID, &[e])?;
        if let Ok(leaf) = self.leaf_of(e) {
            if self.computable_in_scan(e, leaf)? {
                return Ok((
                    self.column_as(value_key, Some(ty))?,
                    self.column_as(scale_key, Some(ColumnType::Int32))?,
                ));
            }
        }
        let mut ids = [0usize; 2];
        // The CASE for DataFusion, translated once for both columns.
        let mut df: Option<(DfExpr, DfExpr)> = None;
        for (k, key) in [value_key, scale_key].into_iter().enumerate() {
            if let Some(&(id, _)) =
                self.computed.iter().find(|(id, _)| nodes::equal(self.columns[*id].0, key))
            {
                ids[k] = id;
                continue;
            }
            let (value, scale) = match &df {
                Some(d) => d.clone(),
                None => {
                    let d = self.case_df(e)?;
                    df = Some(d.clone());
                    d
                }
            };
            let (expr, t) = if k == 0 {
                (value, ty)
            } else {
                let null = DfExpr::Literal(Literal::Null(ColumnType::Int32));
                (
                    DfExpr::Case(vec![(DfExpr::IsNull(Box::new(value)), null)], Some(Box::new(scale))),
                    ColumnType::Int32,
                )
            };
            self.columns.push((key, t, COMPUTED));
            ids[k] = self.columns.len() - 1;
            self.computed.push((ids[k], expr));
        }
        Ok((ids[0], ids[1]))
    }

    /// A searched numeric CASE over several relations for DataFusion: its value, and the display
    /// scale of the branch taken (a literal per branch).
    fn case_df(&mut self, e: *mut sys::Node) -> PgResult<(DfExpr, DfExpr)> {
        nodes::check_stack_depth()?;
        // SAFETY: `e` is a CaseExpr (checked by case_shape before).
        let c = unsafe { &*(e as *mut sys::CaseExpr) };
        if !c.arg.is_null() {
            return Err(unsupported("CASE x WHEN ... over several tables"));
        }
        fn result(b: &mut Builder, r: *mut sys::Node) -> PgResult<(DfExpr, DfExpr)> {
            if r.is_null() || is_null_const(r) {
                let null = DfExpr::Literal(Literal::Null(ColumnType::Int32));
                return Ok((
                    DfExpr::Literal(Literal::Null(ColumnType::Decimal128 { precision: 1, scale: 0 })),
                    null,
                ));
            }
            let (v, (_, scale)) = b.arith(r)?;
            Ok((v, DfExpr::Literal(Literal::Int64(scale as i64))))
        }
        let mut branches = Vec::new();
        let mut scales = Vec::new();
        // SAFETY: the CASE's WHEN list.
        // Only the first condition is always evaluated (see `scan_part`).
        for (k, w) in unsafe { list::<sys::CaseWhen>(c.args) }.into_iter().enumerate() {
            let (cond, res) = unsafe { ((*w).expr as *mut sys::Node, (*w).result as *mut sys::Node) };
            let (v, sc) = self.guarded(|b| result(b, res))?;
            let cond = if k == 0 { self.join_cond(cond)? } else { self.guarded(|b| b.join_cond(cond))? };
            branches.push((cond.clone(), v));
            scales.push((cond, sc));
        }
        let (dv, ds) = self.guarded(|b| result(b, c.defresult as *mut sys::Node))?;
        Ok((DfExpr::Case(branches, Some(Box::new(dv))), DfExpr::Case(scales, Some(Box::new(ds)))))
    }

    /// A condition between relations, for DataFusion: AND/OR/NOT over comparisons of columns
    /// whose order and equality DataFusion shares with PostgreSQL; a term of one relation is a
    /// boolean column of that relation's scan.
    fn join_cond(&mut self, e: *mut sys::Node) -> PgResult<DfExpr> {
        nodes::check_stack_depth()?;
        if let Ok(leaf) = self.leaf_of(e) {
            if self.computable_in_scan(e, leaf)? {
                if expr_type(e)?.0 != sys::BOOLOID {
                    return Err(unsupported("join condition"));
                }
                self.scan_part(e)?;
                let id = self.column(e)?;
                return self.column_expr(id);
            }
        }
        let refuse = || unsupported("join condition (only comparisons of columns of the same kind)");
        // SAFETY: a valid qual expression.
        unsafe {
            match nodes::tag(e) {
                sys::NodeTag_T_BoolExpr => {
                    let b = &*(e as *mut sys::BoolExpr);
                    let args = list::<sys::Node>(b.args)
                        .into_iter()
                        .map(|a| self.join_cond(a))
                        .collect::<PgResult<Vec<_>>>()?;
                    bool_expr(b.boolop, args).ok_or_else(refuse)
                }
                sys::NodeTag_T_NullTest => {
                    // `b.x IS NULL` above an outer join: true for null-extended rows.
                    let n = &*(e as *mut sys::NullTest);
                    if n.argisrow {
                        return Err(refuse());
                    }
                    let a = Box::new(self.df_value(n.arg as *mut sys::Node)?);
                    Ok(null_test(n, a))
                }
                sys::NodeTag_T_OpExpr => {
                    let o = &*(e as *mut sys::OpExpr);
                    let args: Vec<*mut sys::Node> = list(o.args);
                    if args.len() != 2 || !is_builtin(o.opno) {
                        return Err(refuse());
                    }
                    let op = cmp_op(o.opno).ok_or_else(refuse)?;
                    let (l, lty) = self.operand(args[0])?;
                    let (r, rty) = self.operand(args[1])?;
                    let (lt, rt) = (expr_type(args[0])?, expr_type(args[1])?);
                    let equality = matches!(op, CmpOp::Eq | CmpOp::NotEq);
                    if !comparable(lty, lt, rty, rt, equality, o.inputcollid) {
                        return Err(unsupported(format!(
                            "join condition comparing {} with {}",
                            type_name(lt.0, lt.1),
                            type_name(rt.0, rt.1)
                        )));
                    }
                    Ok(DfExpr::Compare(op, Box::new(l), Box::new(r)))
                }
                // A boolean CASE or COALESCE (`WHERE COALESCE(b.flag, false)`).
                sys::NodeTag_T_CaseExpr | sys::NodeTag_T_CoalesceExpr if expr_type(e)?.0 == sys::BOOLOID => {
                    self.df_value(e)
                }
                _ => Err(refuse()),
            }
        }
    }
}

impl Builder {
    /// An operand of a comparison DataFusion evaluates: a constant as a literal, else a column.
    fn operand(&mut self, e: *mut sys::Node) -> PgResult<(DfExpr, ColumnType)> {
        nodes::check_stack_depth()?;
        if let Some((lit, ty)) = const_literal(e)? {
            return Ok((DfExpr::Literal(lit), ty));
        }
        // A constant expression (`40000` cast to numeric): folded as the planner would (immutable
        // functions only).
        // SAFETY: pull_varnos and constant folding on a copy of a valid expression.
        if guard(|| unsafe { sys::pgf_expr_varno(e) })? == 0 {
            let copy = nodes::copy(e)?;
            let folded = guard(|| unsafe { sys::eval_const_expressions(std::ptr::null_mut(), copy) })?;
            if let Some((lit, ty)) = const_literal(folded)? {
                return Ok((DfExpr::Literal(lit), ty));
            }
        }
        if let Ok(leaf) = self.leaf_of(e) {
            if self.computable_in_scan(e, leaf)? {
                self.scan_part(e)?;
                let id = self.any_column(e, None)?;
                return Ok((self.column_expr(id)?, self.columns[id].1));
            }
        }
        // Conditions run before DataFusion's computed columns exist: the expression itself. A
        // comparison needs its value only, not its display scale (`COALESCE(x, 0) < 10`).
        let ty = match column_type(e) {
            Err(_) if expr_type(e)?.0 == sys::NUMERICOID => {
                ColumnType::Decimal128 { precision: 38, scale: 0 }
            }
            t => t?,
        };
        Ok((self.df_value(e)?, ty))
    }
}

/// `e`'s argument and its exact decimal type when `e` is PostgreSQL's cast of an integer to
/// numeric (`int8_numeric`: every value fits 19 digits).
fn int_to_numeric(e: *mut sys::Node) -> Option<(*mut sys::Node, ColumnType)> {
    // SAFETY: `e` is a valid expression node; a call's arguments are expression nodes.
    let (funcid, args) = unsafe { nodes::call(e)? };
    let args: Vec<*mut sys::Node> = unsafe { list(args) };
    let precision = match funcid {
        sys::F_NUMERIC_INT2 => 5,
        sys::F_NUMERIC_INT4 => 10,
        sys::F_NUMERIC_INT8 => 19,
        _ => return None,
    };
    match args.as_slice() {
        [arg] => Some((*arg, ColumnType::Decimal128 { precision, scale: 0 })),
        _ => None,
    }
}

/// The operation of PostgreSQL's integer `+ - * / %` (int2, int4, int8 and their mixes).
fn int_op(funcid: u32) -> Option<ArithOp> {
    match funcid {
        sys::F_INT2PL
        | sys::F_INT4PL
        | sys::F_INT8PL
        | sys::F_INT24PL
        | sys::F_INT42PL
        | sys::F_INT48PL
        | sys::F_INT84PL
        | sys::F_INT28PL
        | sys::F_INT82PL => Some(ArithOp::Add),
        sys::F_INT2MI
        | sys::F_INT4MI
        | sys::F_INT8MI
        | sys::F_INT24MI
        | sys::F_INT42MI
        | sys::F_INT48MI
        | sys::F_INT84MI
        | sys::F_INT28MI
        | sys::F_INT82MI => Some(ArithOp::Sub),
        sys::F_INT2MUL
        | sys::F_INT4MUL
        | sys::F_INT8MUL
        | sys::F_INT24MUL
        | sys::F_INT42MUL
        | sys::F_INT48MUL
        | sys::F_INT84MUL
        | sys::F_INT28MUL
        | sys::F_INT82MUL => Some(ArithOp::Mul),
        sys::F_INT2DIV
        | sys::F_INT4DIV
        | sys::F_INT8DIV
        | sys::F_INT24DIV
        | sys::F_INT42DIV
        | sys::F_INT48DIV
        | sys::F_INT84DIV
        | sys::F_INT28DIV
        | sys::F_INT82DIV => Some(ArithOp::Div),
        sys::F_INT2MOD | sys::F_INT4MOD | sys::F_INT8MOD => Some(ArithOp::Mod),
        _ => None,
    }
}

/// [`const_literal`] of `e`, or of `e` folded as the planner would (immutable functions only)
/// when it reads no column (`1` cast to numeric).
fn folded_literal(e: *mut sys::Node) -> PgResult<Option<(Literal, ColumnType)>> {
    if let Some(l) = const_literal(e)? {
        return Ok(Some(l));
    }
    // SAFETY: pull_varnos and constant folding on a copy of a valid expression.
    if guard(|| unsafe { sys::pgf_expr_varno(e) })? != 0
        || guard(|| unsafe { sys::contain_volatile_functions(e) })?
    {
        return Ok(None);
    }
    let copy = nodes::copy(e)?;
    let folded = guard(|| unsafe { sys::eval_const_expressions(std::ptr::null_mut(), copy) })?;
    const_literal(folded)
}

/// A non-NULL constant of a type DataFusion holds exactly (integers, numeric, date, boolean,
/// text), with its block type.
fn const_literal(e: *mut sys::Node) -> PgResult<Option<(Literal, ColumnType)>> {
    // SAFETY: `e` is a valid node; a Const's value is read per its type.
    unsafe {
        if nodes::tag(e) != sys::NodeTag_T_Const {
            return Ok(None);
        }
        let c = &*(e as *mut sys::Const);
        if c.constisnull {
            return Ok(None);
        }
        let d = c.constvalue;
        Ok(match c.consttype {
            sys::INT2OID => Some((Literal::Int64(d as i16 as i64), ColumnType::Int64)),
            sys::INT4OID => Some((Literal::Int64(d as i32 as i64), ColumnType::Int64)),
            sys::INT8OID => Some((Literal::Int64(d as i64), ColumnType::Int64)),
            sys::BOOLOID => Some((Literal::Bool(d != 0), ColumnType::Boolean)),
            sys::DATEOID => {
                let days = d as i32;
                // -infinity and infinity (DATEVAL_NOBEGIN, DATEVAL_NOEND).
                if days == i32::MIN || days == i32::MAX {
                    return Ok(None);
                }
                // PostgreSQL counts days from 2000-01-01, Arrow from 1970-01-01.
                days.checked_add(10_957).map(|v| (Literal::Date32(v), ColumnType::Date32))
            }
            sys::NUMERICOID => {
                let text = guard(|| cstr(sys::pgf_numeric_out(d)))?;
                let (neg, t) = match text.strip_prefix('-') {
                    Some(t) => (true, t),
                    None => (false, text.as_str()),
                };
                let (int, frac) = t.split_once('.').unwrap_or((t, ""));
                let digits = format!("{int}{frac}");
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Ok(None); // NaN, Infinity
                }
                let significant = digits.trim_start_matches('0').len().max(1);
                if significant > 38 || frac.len() > 38 {
                    return Ok(None);
                }
                let Ok(v) = digits.parse::<i128>() else { return Ok(None) };
                let value = if neg { -v } else { v };
                let precision = significant.max(frac.len()).max(1) as u8;
                let scale = frac.len() as i8;
                Some((
                    Literal::Decimal128 { value, precision, scale },
                    ColumnType::Decimal128 { precision, scale },
                ))
            }
            sys::TEXTOID | sys::VARCHAROID => {
                let text = guard(|| cstr(sys::text_to_cstring(d as *const _)))?;
                Some((Literal::Utf8(text), ColumnType::Utf8View))
            }
            _ => None,
        })
    }
}

/// Does DataFusion compare these two columns (block types and PostgreSQL type, typmod,
/// collation) with the operator's meaning in PostgreSQL? `equality`: = or <> only.
fn comparable(
    l: ColumnType,
    (ltyp, lmod, _): (Oid, i32, Oid),
    r: ColumnType,
    (rtyp, rmod, _): (Oid, i32, Oid),
    equality: bool,
    collation: Oid,
) -> bool {
    use ColumnType as T;
    match (l, r) {
        (T::Int16 | T::Int32 | T::Int64, T::Int16 | T::Int32 | T::Int64) => true,
        (T::Decimal128 { .. }, T::Decimal128 { .. }) => true,
        (T::Boolean, T::Boolean)
        | (T::Date32, T::Date32)
        | (T::Time64Us, T::Time64Us)
        | (T::FixedSizeBinary16, T::FixedSizeBinary16)
        | (T::BinaryView, T::BinaryView) => true,
        (T::TimestampUs { utc: a }, T::TimestampUs { utc: b }) => a == b,
        (T::Utf8View, T::Utf8View) => {
            if ltyp == sys::BPCHAROID || rtyp == sys::BPCHAROID {
                // Blank-padded to the same length, equal bytes are equal values; anything else
                // compares without trailing blanks in PostgreSQL.
                equality && ltyp == rtyp && lmod == rmod && lmod >= 0
            } else if equality {
                eq_safe(T::Utf8View, collation)
            } else {
                order_safe(T::Utf8View, collation)
            }
        }
        // Floats (-0 = 0, NaN = NaN) and intervals compare differently; mixed kinds are cast in
        // PostgreSQL's expression already when they are comparable at all.
        _ => false,
    }
}

fn sort_keys(
    query: &sys::Query,
    tle_column: &dyn Fn(*mut sys::TargetEntry) -> PgResult<Option<usize>>,
    stage_types: &[ColumnType],
) -> PgResult<Vec<SortKey>> {
    let mut keys = Vec::new();
    // SAFETY: sortClause is a list of SortGroupClause; targetList of TargetEntry.
    for sgc in unsafe { list::<sys::SortGroupClause>(query.sortClause) } {
        let sgc = unsafe { &*sgc };
        let tle =
            guard(|| unsafe { sys::get_sortgroupclause_tle(sgc as *const _ as *mut _, query.targetList) })?;
        let column = tle_column(tle)?.ok_or_else(|| {
            unsupported(
                "ORDER BY an expression computed after DataFusion (over aggregates, or over several tables)",
            )
        })?;
        let name = op_name(sgc.sortop);
        if !is_builtin(sgc.sortop) || !(name == "<" || name == ">") {
            return Err(unsupported(format!("ORDER BY with operator {name}")));
        }
        // SAFETY: tle is a TargetEntry of the query.
        let (typid, _, coll) = expr_type(unsafe { (*tle).expr } as *mut sys::Node)?;
        if !order_safe(stage_types[column], coll) {
            return Err(unsupported(
                "ORDER BY on this type or collation (text sorts only under the C collation)",
            ));
        }
        keys.push(SortKey {
            column,
            descending: name == ">",
            nulls_first: sgc.nulls_first,
            blank_padded: typid == sys::BPCHAROID,
        });
    }
    Ok(keys)
}

fn limit_value(node: *mut sys::Node, what: &str) -> PgResult<Option<usize>> {
    if node.is_null() {
        return Ok(None);
    }
    // Folds the int8() coercion the parser puts around an integer literal.
    // SAFETY: constant folding without planner state on a copy of a valid expression.
    let node = guard(|| unsafe { sys::eval_const_expressions(std::ptr::null_mut(), node) })?;
    // SAFETY: node is a valid expression.
    unsafe {
        if nodes::tag(node) == sys::NodeTag_T_Const {
            let c = &*(node as *mut sys::Const);
            if c.constisnull {
                return Ok(None);
            }
            if c.consttype == sys::INT8OID {
                let v = c.constvalue as i64;
                if v < 0 {
                    return Err(unsupported(format!("negative {what}")));
                }
                return Ok(Some(v as usize));
            }
        }
    }
    Err(unsupported(format!("{what} that is not a constant")))
}

/// One query block translated: the whole query, or a subquery in FROM.
struct Block {
    spec: PlanSpec,
    tlist: *mut sys::List,
    qual: *mut sys::List,
    scan_tlist: *mut sys::List,
    /// The block's query after WITH inlining and pull-up (our copy).
    query: *mut sys::Query,
    /// Range-table indexes of its leaves.
    rtindexes: Vec<i32>,
    /// PostgreSQL types of the scan columns, in `PlanSpec::all_scans` order.
    pg_types: Vec<Vec<(Oid, i32)>>,
}

/// Translate `query`, which the caller found eligible (a top-level SELECT over user tables).
pub fn translate(query: *mut sys::Query) -> PgResult<Translated> {
    let mut bind = Bindings::default();
    let mut top = block(query, &mut bind)?;
    // Compute equal subqueries (WITH queries referenced several times) once and read each
    // relation once (see `plan::share`), unless the worker's memory is limited: the readers'
    // queues would not count against the limit.
    if super::guc::worker_memory_limit_mb() == 0 {
        crate::plan::share::share_subqueries(&mut top.spec, &mut top.pg_types);
        crate::plan::share::share_scans(&mut top.spec, &mut top.pg_types);
    }
    Ok(Translated {
        spec: top.spec,
        tlist: top.tlist,
        qual: top.qual,
        scan_tlist: top.scan_tlist,
        // SAFETY: our copy of the query.
        rtable: unsafe { (*top.query).rtable },
        rtindexes: top.rtindexes,
        scan_pg_types: top.pg_types,
        bindings: bind,
    })
}

/// A query whose body is UNION / INTERSECT / EXCEPT: each arm a query block, DataFusion's set
/// operation over them, then ORDER BY / LIMIT. The arms' columns must have the same block type
/// (and the same PostgreSQL type, text and varchar aside); duplicate removal needs columns
/// DataFusion compares as PostgreSQL does.
fn set_operation_block(query: *mut sys::Query, bind: &mut Bindings) -> PgResult<Block> {
    // SAFETY: our copy of a valid Query with a SetOperationStmt tree.
    let q = unsafe { &*query };
    if q.hasForUpdate || !q.rowMarks.is_null() {
        return Err(unsupported("FOR UPDATE/SHARE in a subquery"));
    }
    if q.limitOption == sys::LimitOption_LIMIT_OPTION_WITH_TIES {
        return Err(unsupported("FETCH ... WITH TIES"));
    }
    // SAFETY: the range table of our copy.
    let rtable: Vec<*mut sys::RangeTblEntry> = unsafe { list(q.rtable) };
    struct Walk<'b> {
        bind: &'b mut Bindings,
        arms: Vec<SubBlock>,
        /// Per arm: its query (for the PostgreSQL types of its columns).
        queries: Vec<*mut sys::Query>,
        rtindexes: Vec<i32>,
        needs_equality: bool,
    }
    fn walk(node: *mut sys::Node, rtable: &[*mut sys::RangeTblEntry], w: &mut Walk) -> PgResult<SetTree> {
        // SAFETY: nodes of the set operation tree; RangeTblRefs index the range table.
        unsafe {
            match nodes::tag(node) {
                sys::NodeTag_T_RangeTblRef => {
                    let rti = (*(node as *mut sys::RangeTblRef)).rtindex;
                    let rte = rtable
                        .get(rti as usize - 1)
                        .map(|r| &**r)
                        .ok_or_else(|| PgError::internal("range table index out of range"))?;
                    if rte.rtekind != sys::RTEKind_RTE_SUBQUERY || rte.subquery.is_null() {
                        return Err(unsupported("set operation arm that is not a query"));
                    }
                    w.arms.push(sub_block(rte, w.bind)?);
                    w.queries.push(rte.subquery);
                    w.rtindexes.push(rti);
                    Ok(SetTree::Arm(w.arms.len() - 1))
                }
                sys::NodeTag_T_SetOperationStmt => {
                    let so = &*(node as *mut sys::SetOperationStmt);
                    let kind = match so.op {
                        sys::SetOperation_SETOP_UNION => SetOpKind::Union,
                        sys::SetOperation_SETOP_INTERSECT => SetOpKind::Intersect,
                        sys::SetOperation_SETOP_EXCEPT => SetOpKind::Except,
                        _ => return Err(unsupported("set operation")),
                    };
                    // Every form but UNION ALL compares rows.
                    w.needs_equality |= !so.all || kind != SetOpKind::Union;
                    let left = walk(so.larg, rtable, w)?;
                    let right = walk(so.rarg, rtable, w)?;
                    Ok(SetTree::Op { kind, all: so.all, left: Box::new(left), right: Box::new(right) })
                }
                _ => Err(unsupported("set operation")),
            }
        }
    }
    let mut w =
        Walk { bind, arms: Vec::new(), queries: Vec::new(), rtindexes: Vec::new(), needs_equality: false };
    let tree = walk(q.setOperations, &rtable, &mut w)?;
    let so = unsafe { &*(q.setOperations as *mut sys::SetOperationStmt) };
    // SAFETY: the OID and integer lists of the top SetOperationStmt, one entry per column.
    let ncols = unsafe { sys::pgf_list_length(so.colTypes) } as usize;
    let mut types = Vec::with_capacity(ncols);
    for i in 0..ncols {
        let (col_type, col_typmod, coll) = unsafe {
            (
                sys::pgf_list_nth_oid(so.colTypes, i as i32),
                sys::pgf_list_nth_int(so.colTypmods, i as i32),
                sys::pgf_list_nth_oid(so.colCollations, i as i32),
            )
        };
        let mut ty = None;
        for (arm, &aq) in w.arms.iter().zip(&w.queries) {
            let o = arm
                .outputs
                .get(i)
                .copied()
                .flatten()
                .filter(|&o| !arm.value_only.get(o).copied().unwrap_or(false))
                .ok_or_else(|| {
                    unsupported("set operation arm column that PostgreSQL computes after DataFusion")
                })?;
            // SAFETY: the arm's target list, resno i + 1.
            let tle = unsafe { list::<sys::TargetEntry>((*aq).targetList) }
                .into_iter()
                .find(|&t| unsafe { (*t).resno } as usize == i + 1)
                .ok_or_else(|| PgError::internal("set operation arm column"))?;
            let (arm_type, arm_typmod, _) = expr_type(unsafe { (*tle).expr } as *mut sys::Node)?;
            let text_like = |t: Oid| t == sys::TEXTOID || t == sys::VARCHAROID;
            let same_type = arm_type == col_type && (arm_typmod == col_typmod || col_type != sys::BPCHAROID)
                || text_like(arm_type) && text_like(col_type);
            let arm_ty = arm.types[o];
            if !same_type || ty.is_some_and(|t| t != arm_ty) {
                return Err(unsupported(format!(
                    "set operation over columns of different types ({} and {})",
                    type_name(arm_type, arm_typmod),
                    type_name(col_type, col_typmod)
                )));
            }
            if w.needs_equality && !eq_safe(arm_ty, coll) {
                return Err(unsupported(
                    "UNION/INTERSECT/EXCEPT removing duplicates of this type (float, interval, nondeterministic collation)",
                ));
            }
            ty = Some(arm_ty);
        }
        types.push(ty.ok_or_else(|| PgError::internal("set operation without arms"))?);
    }
    // The query's select list names the set operation's columns (Vars of its leftmost arm).
    let tles: Vec<*mut sys::TargetEntry> = unsafe { list(q.targetList) };
    let mut output: Vec<usize> = Vec::new();
    let mut tle_pos = Vec::new();
    for &tle in &tles {
        let e = unsafe { (*tle).expr } as *mut sys::Node;
        // SAFETY: a valid expression node.
        let attno = unsafe {
            (nodes::tag(e) == sys::NodeTag_T_Var).then(|| (*(e as *mut sys::Var)).varattno as usize)
        };
        let id = attno
            .filter(|&a| (1..=ncols).contains(&a))
            .map(|a| a - 1)
            .ok_or_else(|| unsupported("expression over a set operation's columns"))?;
        let pos = output.iter().position(|&o| o == id).unwrap_or_else(|| {
            output.push(id);
            output.len() - 1
        });
        tle_pos.push((tle, pos, e));
    }
    let output_types: Vec<ColumnType> = output.iter().map(|&id| types[id]).collect();
    let lookup = |tle: *mut sys::TargetEntry| -> PgResult<Option<usize>> {
        Ok(tle_pos.iter().find(|(t, _, _)| *t == tle).map(|(_, p, _)| *p))
    };
    let sort = sort_keys(q, &lookup, &output_types)?;
    let mut tlist: *mut sys::List = std::ptr::null_mut();
    let mut describe: Vec<*mut sys::Node> = vec![std::ptr::null_mut(); output.len()];
    for &(tle, pos, e) in &tle_pos {
        let (typid, typmod, coll) = expr_type(e)?;
        let t = unsafe { &*tle };
        let node = make_var(pos + 1, typid, typmod, coll)?;
        let entry =
            guard(|| unsafe { sys::makeTargetEntry(node as *mut sys::Expr, t.resno, t.resname, t.resjunk) })?;
        tlist = nodes::append(tlist, entry as *mut c_void)?;
        describe[pos] = e;
    }
    let scan_tlist = scan_tlist_of(&describe)?;
    let mut pg_types = Vec::new();
    let mut subqueries = Vec::new();
    for arm in w.arms {
        pg_types.extend(arm.pg_types);
        let columns = (0..ncols).map(|i| (arm.outputs[i].unwrap_or(0), i)).collect();
        subqueries.push(Subquery { plan: arm.plan, columns, shared: None });
    }
    Ok(Block {
        spec: PlanSpec {
            scans: Vec::new(),
            subqueries,
            set_tree: Some(tree),
            join_tree: None,
            computed: Vec::new(),
            join_filter: None,
            grouping: None,
            windows: Vec::new(),
            post: Vec::new(),
            having: None,
            output,
            distinct: false,
            sort,
            offset: limit_value(q.limitOffset, "OFFSET")?.unwrap_or(0),
            limit: limit_value(q.limitCount, "LIMIT")?,
            shared: Vec::new(),
        },
        tlist,
        qual: std::ptr::null_mut(),
        scan_tlist,
        query,
        rtindexes: w.rtindexes,
        pg_types,
    })
}

/// A subquery in FROM that pull-up left (aggregates, DISTINCT, LIMIT, ...) as a query block.
fn sub_block(rte: &sys::RangeTblEntry, bind: &mut Bindings) -> PgResult<SubBlock> {
    if rte.lateral {
        return Err(unsupported("LATERAL subquery"));
    }
    let inner = block(rte.subquery, bind)?;
    if !inner.qual.is_null() {
        return Err(unsupported("HAVING computed by PostgreSQL inside a subquery in FROM"));
    }
    let mut plan = inner.spec;
    let mut outputs = Vec::new();
    let mut value_only = vec![false; plan.output.len()];
    // SAFETY: the block's target list, in resno order.
    for tle in unsafe { list::<sys::TargetEntry>(inner.tlist) } {
        let e = unsafe { (*tle).expr } as *mut sys::Node;
        if let Some(k) = index_var(e).filter(|&k| k < plan.output.len()) {
            outputs.push(Some(k));
            continue;
        }
        // An expression PostgreSQL would finish on the node (over aggregates): DataFusion
        // computes it after the block's stage when it can.
        match post_expr(e, &plan)? {
            Some((expr, ty, vo)) => {
                let stage = plan.stage_types().len();
                plan.post.push((expr, ty));
                plan.output.push(stage);
                value_only.push(vo);
                outputs.push(Some(plan.output.len() - 1));
            }
            None => outputs.push(None),
        }
    }
    let types = plan.output_types();
    Ok(SubBlock { plan, outputs, types, value_only, pg_types: inner.pg_types })
}

/// Which output columns (by resno, from 1) of the FROM item at `rtindex` of `query` the query
/// reads anywhere (its select list, conditions, join aliases, subqueries); None: all of them (a
/// whole-row reference).
fn referenced_columns(query: *mut sys::Query, rtindex: i32) -> PgResult<Option<Vec<usize>>> {
    struct Ctx {
        rtindex: i32,
        depth: u32,
        found: Vec<usize>,
        whole_row: bool,
    }
    unsafe extern "C" fn walker(node: *mut sys::Node, ctx: *mut c_void) -> bool {
        if node.is_null() {
            return false;
        }
        // SAFETY: `ctx` is the Ctx passed below; `node` a valid node of the query tree.
        unsafe {
            let c = &mut *(ctx as *mut Ctx);
            let f: unsafe extern "C" fn(*mut sys::Node, *mut c_void) -> bool = walker;
            let f = std::mem::transmute::<
                unsafe extern "C" fn(*mut sys::Node, *mut c_void) -> bool,
                unsafe extern "C" fn() -> bool,
            >(f);
            match nodes::tag(node) {
                sys::NodeTag_T_Var => {
                    let v = &*(node as *mut sys::Var);
                    if v.varno == c.rtindex && v.varlevelsup == c.depth {
                        match usize::try_from(v.varattno) {
                            Ok(0) | Err(_) => c.whole_row = true,
                            Ok(a) => c.found.push(a),
                        }
                    }
                    false
                }
                sys::NodeTag_T_Query => {
                    c.depth += 1;
                    let r = sys::query_tree_walker(node as *mut sys::Query, Some(f), ctx, 0);
                    c.depth -= 1;
                    r
                }
                _ => sys::expression_tree_walker(node, Some(f), ctx),
            }
        }
    }
    let mut ctx = Ctx { rtindex, depth: 0, found: Vec::new(), whole_row: false };
    let c = &mut ctx as *mut Ctx as *mut c_void;
    // SAFETY: walks our copy of the query (subqueries in FROM are walked as one level deeper);
    // the walker only reads nodes and records into `ctx`.
    guard(|| unsafe {
        let f: unsafe extern "C" fn(*mut sys::Node, *mut c_void) -> bool = walker;
        let f = std::mem::transmute::<
            unsafe extern "C" fn(*mut sys::Node, *mut c_void) -> bool,
            unsafe extern "C" fn() -> bool,
        >(f);
        sys::query_tree_walker(query, Some(f), c, 0);
    })?;
    Ok((!ctx.whole_row).then_some(ctx.found))
}

/// A copy of `sub` whose select-list entries the parent does not read (`used`: the resnos it
/// reads; None: all) are NULL constants, as PostgreSQL's `remove_unused_subquery_outputs`
/// leaves them: not when DISTINCT, a set operation or a set-returning function makes every
/// column count, nor for entries the subquery groups or sorts by, or that call volatile
/// functions.
fn without_unused_outputs(sub: *mut sys::Query, used: &Option<Vec<usize>>) -> PgResult<*mut sys::Query> {
    let Some(used) = used else { return Ok(sub) };
    // SAFETY: a valid subquery of our copy; read per field.
    let keep_all = unsafe {
        let q = &*sub;
        !q.setOperations.is_null() || (!q.distinctClause.is_null() && !q.hasDistinctOn) || q.hasTargetSRFs
    };
    if keep_all {
        return Ok(sub);
    }
    let copy = nodes::copy(sub)?;
    // SAFETY: our copy's target list; entries are replaced in place.
    for tle in unsafe { list::<sys::TargetEntry>((*copy).targetList) } {
        let t = unsafe { &mut *tle };
        let e = t.expr as *mut sys::Node;
        if t.resjunk || t.ressortgroupref != 0 || used.contains(&(t.resno as usize)) {
            continue;
        }
        // SAFETY (both): walks and describes a valid expression; makeNullConst allocates.
        if guard(|| unsafe { sys::contain_volatile_functions(e) })? {
            continue;
        }
        let (typid, typmod, coll) = expr_type(e)?;
        t.expr = guard(|| unsafe { sys::makeNullConst(typid, typmod, coll) })? as *mut sys::Expr;
    }
    Ok(copy)
}

/// A node-side expression of a block's select list (over `Var(INDEX_VAR, k)` output columns)
/// for DataFusion: (expression over stage columns, type, whether only its value is exact).
/// `+ - *` of numerics keep PostgreSQL's display scale; `numeric_div` (avg) is PostgreSQL's value
/// at a fixed scale, good for comparisons only. None: not translatable.
fn post_expr(e: *mut sys::Node, plan: &PlanSpec) -> PgResult<Option<(DfExpr, ColumnType, bool)>> {
    nodes::check_stack_depth()?;
    let stage = plan.stage_types();
    let scan = plan.scan_types();
    // SAFETY: `e` is a node of the block's mutated target list.
    unsafe {
        if let Some(k) = index_var(e) {
            let Some(&id) = plan.output.get(k) else { return Ok(None) };
            return Ok(stage.get(id).map(|&t| (DfExpr::Column(id), t, false)));
        }
        match nodes::tag(e) {
            // A constant (an arm's label in a UNION, say), cast to its own type's block type.
            sys::NodeTag_T_Const => Ok(match const_literal(e)? {
                Some((lit, _)) => Some((DfExpr::Literal(lit), column_type(e)?, false)),
                _ => None,
            }),
            sys::NodeTag_T_FuncExpr => {
                let f = &*(e as *mut sys::FuncExpr);
                let args: Vec<*mut sys::Node> = list(f.args);
                match (f.funcid, args.as_slice()) {
                    // numeric(count): the divisor of avg, kept as int64.
                    (sys::F_NUMERIC_INT8, [a]) => Ok(match post_expr(*a, plan)? {
                        Some((x, ColumnType::Int64, false)) => Some((x, ColumnType::Int64, false)),
                        _ => None,
                    }),
                    (sys::F_NUMERIC_DIV, [a, b]) => {
                        let (Some((x, xt, false)), Some((y, yt, false))) =
                            (post_expr(*a, plan)?, post_expr(*b, plan)?)
                        else {
                            return Ok(None);
                        };
                        // The quotient's integer digits: those of the summed column (avg).
                        let sum_arg = match (&x, &plan.grouping) {
                            (DfExpr::Column(id), Some(g)) if *id >= g.keys.len() => g
                                .aggs
                                .get(id - g.keys.len())
                                .filter(|a| a.func == AggFunc::Sum)
                                .and_then(|a| a.arg),
                            _ => None,
                        };
                        let (Some(arg), ColumnType::Decimal128 { scale: xs, .. }, ColumnType::Int64) =
                            (sum_arg, xt, yt)
                        else {
                            return Ok(None);
                        };
                        let ColumnType::Decimal128 { precision, scale } = scan[arg] else { return Ok(None) };
                        let int = (precision as i8 - scale) as i32;
                        let fixed = (38 - int - 1).min(32);
                        if fixed < xs as i32 {
                            return Ok(None);
                        }
                        let ty = ColumnType::Decimal128 { precision: 38, scale: fixed as i8 };
                        Ok(Some((DfExpr::NumericDiv(Box::new(x), Box::new(y), fixed as i8), ty, true)))
                    }
                    _ => Ok(None),
                }
            }
            sys::NodeTag_T_OpExpr => {
                let o = &*(e as *mut sys::OpExpr);
                let args: Vec<*mut sys::Node> = list(o.args);
                let op = match o.opfuncid {
                    sys::F_NUMERIC_ADD => ArithOp::Add,
                    sys::F_NUMERIC_SUB => ArithOp::Sub,
                    sys::F_NUMERIC_MUL => ArithOp::Mul,
                    _ => return Ok(None),
                };
                let [a, b] = args.as_slice() else { return Ok(None) };
                let (Some((x, xt, xv)), Some((y, yt, yv))) = (post_expr(*a, plan)?, post_expr(*b, plan)?)
                else {
                    return Ok(None);
                };
                // Times a constant +-10^-k (`sum(..) * 0.0001`, TPC-H Q11): the unscaled value is
                // unchanged, so even a 38-digit sum cannot overflow; the scales add up.
                let unit =
                    |e: &DfExpr| matches!(e, DfExpr::Literal(Literal::Decimal128 { value: 1 | -1, .. }));
                if let (
                    ArithOp::Mul,
                    ColumnType::Decimal128 { scale: s1, .. },
                    ColumnType::Decimal128 { scale: s2, .. },
                ) = (op, xt, yt)
                {
                    let scale = s1 as i32 + s2 as i32;
                    if (unit(&x) || unit(&y)) && (0..=38).contains(&scale) {
                        let ty = ColumnType::Decimal128 { precision: 38, scale: scale as i8 };
                        return Ok(Some((DfExpr::Arith(op, Box::new(x), Box::new(y)), ty, xv || yv)));
                    }
                }
                let (
                    ColumnType::Decimal128 { precision: p1, scale: s1 },
                    ColumnType::Decimal128 { precision: p2, scale: s2 },
                ) = (xt, yt)
                else {
                    return Ok(None);
                };
                let (i1, i2) = ((p1 as i8 - s1) as u32, (p2 as i8 - s2) as u32);
                let (s1, s2) = (s1 as u32, s2 as u32);
                let (int, scale) = match op {
                    ArithOp::Mul => (i1 + i2, s1 + s2),
                    _ => (i1.max(i2) + 1, s1.max(s2)),
                };
                let value_only = xv || yv;
                let ty = if value_only && scale <= 38 {
                    ColumnType::Decimal128 { precision: 38, scale: scale as i8 }
                } else if !value_only && int + scale <= 38 {
                    ColumnType::Decimal128 { precision: (int + scale) as u8, scale: scale as i8 }
                } else {
                    return Ok(None);
                };
                Ok(Some((DfExpr::Arith(op, Box::new(x), Box::new(y)), ty, value_only)))
            }
            _ => Ok(None),
        }
    }
}

/// PostgreSQL's avg as its sum and count (int8_avg, numeric_avg, float8_avg): the type
/// DataFusion sums an input of type `t` in, and the PostgreSQL type of that sum.
fn avg_sum_type(t: ColumnType) -> Option<(ColumnType, sys::Oid)> {
    use ColumnType as T;
    Some(match t {
        T::Int16 | T::Int32 => (T::Int64, sys::INT8OID),
        T::Int64 => (T::Decimal128 { precision: 38, scale: 0 }, sys::NUMERICOID),
        T::Decimal128 { scale, .. } => (T::Decimal128 { precision: 38, scale }, sys::NUMERICOID),
        T::Float64 => (T::Float64, sys::FLOAT8OID),
        _ => return None,
    })
}

/// `sum / count` as PostgreSQL divides for avg: float8 division, else numeric division (the
/// bigint sum of small integers made numeric first).
/// `text::numeric`: PostgreSQL reads the text DataFusion produced (`numeric_in` keeps its
/// display scale).
fn numeric_from_text(arg: *mut sys::Node) -> PgResult<*mut sys::Node> {
    let c = nodes::make::<sys::CoerceViaIO>(sys::NodeTag_T_CoerceViaIO)?;
    // SAFETY: a new CoerceViaIO node.
    unsafe {
        (*c).arg = arg as *mut sys::Expr;
        (*c).resulttype = sys::NUMERICOID;
        (*c).resultcollid = 0;
        (*c).coerceformat = sys::CoercionForm_COERCE_EXPLICIT_CAST;
        (*c).location = -1;
    }
    Ok(c as *mut sys::Node)
}

fn avg_of(sum: *mut sys::Node, count: *mut sys::Node, sum_pg: sys::Oid) -> PgResult<*mut sys::Node> {
    if sum_pg == sys::FLOAT8OID {
        let countf = make_func(sys::F_FLOAT8_INT8, sys::FLOAT8OID, &[count])?;
        return make_func(sys::F_FLOAT8DIV, sys::FLOAT8OID, &[sum, countf]);
    }
    let sumn =
        if sum_pg == sys::INT8OID { make_func(sys::F_NUMERIC_INT8, sys::NUMERICOID, &[sum])? } else { sum };
    let countn = make_func(sys::F_NUMERIC_INT8, sys::NUMERICOID, &[count])?;
    make_func(sys::F_NUMERIC_DIV, sys::NUMERICOID, &[sumn, countn])
}

fn block(query: *mut sys::Query, bind: &mut Bindings) -> PgResult<Block> {
    // Uncorrelated scalar subqueries compared in HAVING join FROM as one row, so DataFusion
    // computes them; where it cannot compute one exactly, PostgreSQL computes it in a scan as
    // before (the block is translated again without that step).
    let (rewritten, moved) = prepare(query, true)?;
    if !moved {
        return block_of(rewritten, bind);
    }
    match block_of(rewritten, bind) {
        Err(e) if e.sqlstate() == SqlState::FEATURE_NOT_SUPPORTED => block_of(prepare(query, false)?.0, bind),
        r => r,
    }
}

/// Our copy of `query` rewritten for translation; whether HAVING subqueries moved to FROM.
fn prepare(query: *mut sys::Query, move_having: bool) -> PgResult<(*mut sys::Query, bool)> {
    // WITH queries become subqueries in FROM, and simple subqueries in FROM (and views) join the
    // query, as PostgreSQL's planner inlines and pulls them up.
    let query = nodes::copy(query)?;
    super::cte::inline_ctes(query)?;
    let query = super::pullup::pull_up(query)?;
    // Correlated scalar subqueries compared in WHERE become grouped subqueries in FROM.
    super::decorrelate::scalar_subqueries(query)?;
    let moved = move_having && super::decorrelate::having_subqueries(query)?;
    Ok((query, moved))
}

fn block_of(query: *mut sys::Query, bind: &mut Bindings) -> PgResult<Block> {
    // SAFETY: our copy of the query.
    if unsafe { !(*query).setOperations.is_null() } {
        return set_operation_block(query, bind);
    }
    // SAFETY: our copy of the valid analyzed Query PostgreSQL handed the planner hook.
    let q = unsafe { &*query };
    if !q.utilityStmt.is_null() || q.commandType != sys::CmdType_CMD_SELECT {
        return Err(unsupported("statement type"));
    }
    let checks: [(bool, &str); 5] = [
        (q.hasForUpdate || !q.rowMarks.is_null(), "FOR UPDATE/SHARE in a subquery"),
        (!q.cteList.is_null(), "WITH"),
        (q.hasTargetSRFs, "set-returning function in the select list"),
        (q.hasDistinctOn, "DISTINCT ON"),
        (q.limitOption == sys::LimitOption_LIMIT_OPTION_WITH_TIES, "FETCH ... WITH TIES"),
    ];
    if let Some((_, what)) = checks.iter().find(|(bad, _)| *bad) {
        return Err(unsupported(what));
    }
    // The base relations and the join tree with every condition of WHERE and JOIN ... ON.
    let mut from = FromItems { leaves: Vec::new(), has_outer: false };
    let tree = from.walk(q.jointree as *mut sys::Node, false)?;
    // SAFETY: rtable is a list of RangeTblEntry; every RangeTblRef indexes it.
    let rtable: Vec<*mut sys::RangeTblEntry> = unsafe { list(q.rtable) };
    let has_join_rtes = rtable.iter().any(|&r| unsafe { (*r).rtekind } == sys::RTEKind_RTE_JOIN);
    let flatten = |e: *mut sys::Node| -> PgResult<*mut sys::Node> {
        if e.is_null() || !has_join_rtes {
            return Ok(e);
        }
        // SAFETY: replaces join alias Vars by the base-relation expressions they stand for.
        guard(|| unsafe { sys::flatten_join_alias_vars(query, e) })
    };
    let mut leaves = Vec::new();
    // Subquery leaves come after the scans (spec leaf i is scans[i], then subqueries).
    let mut sub_leaves = Vec::new();
    let mut subs = Vec::new();
    for &(rtindex, nullable) in &from.leaves {
        let rte = rtable
            .get(rtindex as usize - 1)
            .map(|r| unsafe { &**r })
            .ok_or_else(|| PgError::internal("range table index out of range"))?;
        if rte.rtekind == sys::RTEKind_RTE_SUBQUERY && !rte.subquery.is_null() {
            sub_leaves.push(Leaf { rtindex, relid: 0, quals: Vec::new(), nullable, sub: Some(subs.len()) });
            // Columns the query does not read are not computed (PostgreSQL's
            // `remove_unused_subquery_outputs`): a subquery there that would fail never runs.
            let mut pruned = *rte;
            pruned.subquery = without_unused_outputs(rte.subquery, &referenced_columns(query, rtindex)?)?;
            subs.push(sub_block(&pruned, bind)?);
            continue;
        }
        if rte.rtekind != sys::RTEKind_RTE_RELATION {
            return Err(unsupported("FROM item that is not a table (subquery, view, function)"));
        }
        if rte.relkind != sys::RELKIND_RELATION as i8 && rte.relkind != sys::RELKIND_MATVIEW as i8 {
            return Err(unsupported("relation kind (only ordinary tables and materialized views)"));
        }
        if !rte.tablesample.is_null() {
            return Err(unsupported("TABLESAMPLE"));
        }
        let relid = rte.relid;
        // SAFETY: catalog lookup.
        if rte.inh && guard(|| unsafe { sys::has_subclass(relid) })? {
            return Err(unsupported("table with inheritance children (use FROM ONLY)"));
        }
        leaves.push(Leaf { rtindex, relid, quals: Vec::new(), nullable, sub: None });
    }
    leaves.extend(sub_leaves);
    if leaves.is_empty() {
        return Err(unsupported("SELECT without a table"));
    }

    let mut b = Builder {
        columns: Vec::new(),
        leaves,
        output: Vec::new(),
        computed: Vec::new(),
        subs,
        sub_columns: Vec::new(),
        value_only: Vec::new(),
        windows: Vec::new(),
        guarded: false,
    };
    // Conditions: one relation's go into its scan SQL; those between relations run in
    // DataFusion (equalities become hash-join keys).
    // With outer joins the tree is kept: each condition is evaluated where it is written, and
    // pushed into a relation's scan only where that cannot change the join's rows.
    let mut join_terms = Vec::new();
    let join_tree = if from.has_outer {
        Some(b.convert(&tree, true, &mut join_terms, &flatten)?)
    } else {
        let mut quals = Vec::new();
        tree.all_quals(&mut quals);
        for c in quals {
            let c = b.condition(c, &flatten)?;
            match b.leaf_of(c) {
                Ok(leaf) if b.leaves[leaf].sub.is_none() => b.leaves[leaf].quals.push(c),
                _ => {
                    for (leaf, r) in b.implied_restrictions(c)? {
                        b.leaves[leaf].quals.push(r);
                    }
                    join_terms.push(b.join_cond(c)?)
                }
            }
        }
        None
    };
    let join_filter = and_all(join_terms);
    let tles: Vec<*mut sys::TargetEntry> = unsafe { list(q.targetList) };
    // SAFETY: TargetEntries of the query.
    let tle_exprs = tles
        .iter()
        .map(|&t| flatten(unsafe { (*t).expr } as *mut sys::Node))
        .collect::<PgResult<Vec<_>>>()?;
    let grouped =
        q.hasAggs || !q.groupClause.is_null() || !q.groupingSets.is_null() || !q.havingQual.is_null();

    let mut spec_grouping = None;
    let mut having = None;
    let mut pg_qual: *mut sys::List = std::ptr::null_mut();
    let mut tlist: *mut sys::List = std::ptr::null_mut();
    let scan_tlist_exprs: Vec<*mut sys::Node>;
    let output: Vec<usize>;
    let sort;
    let stage_types: Vec<ColumnType>;
    let distinct = !q.distinctClause.is_null();

    if !grouped {
        // Each select-list expression of one relation is a scan column; one over several
        // relations is computed by PostgreSQL's projection on the node, over scan columns.
        // `tle_cols`: the node's output column (not the scan column) of each select-list entry.
        let mut tle_cols: Vec<Option<usize>> = Vec::new();
        let mut tle_nodes = Vec::new();
        for &e in &tle_exprs {
            let in_scan = match b.leaf_of(e) {
                Ok(leaf) => b.computable_in_scan(e, leaf)?,
                Err(_) => false,
            };
            if in_scan {
                let id = b.column(e)?;
                tle_cols.push(Some(b.output_pos(id)));
                tle_nodes.push(std::ptr::null_mut());
            } else {
                let mut ctx = AggContext::plain(&mut b, q, &tles, &tle_exprs);
                let node = ctx.mutate(e)?;
                // A window function's result is an output column itself (ORDER BY may use it).
                match index_var(node) {
                    Some(pos) => {
                        tle_cols.push(Some(pos));
                        tle_nodes.push(std::ptr::null_mut());
                    }
                    None => {
                        tle_nodes.push(node);
                        tle_cols.push(None);
                    }
                }
            }
        }
        stage_types = b.columns.iter().map(|c| c.1).collect();
        output = b.output.clone();
        let output_types: Vec<ColumnType> = output.iter().map(|&id| stage_types[id]).collect();
        if distinct {
            // DISTINCT over every output column: each must be a visible select-list column.
            if tle_cols.iter().any(|c| c.is_none()) {
                return Err(unsupported("DISTINCT over an expression of several tables"));
            }
            for (i, &tle) in tles.iter().enumerate() {
                // SAFETY: TargetEntry of the query.
                if unsafe { (*tle).resjunk } {
                    let visible = tles
                        .iter()
                        .zip(&tle_cols)
                        .any(|(&t, &c)| unsafe { !(*t).resjunk } && c == tle_cols[i]);
                    if !visible {
                        return Err(unsupported("DISTINCT with ORDER BY expressions not in the select list"));
                    }
                }
            }
            for &id in &output {
                let (e, ty, _) = b.columns[id];
                let (_, _, coll) = expr_type(e)?;
                if !eq_safe(ty, coll) {
                    return Err(unsupported(
                        "DISTINCT on this type (float, interval, nondeterministic collation)",
                    ));
                }
            }
        }
        let lookup = |tle: *mut sys::TargetEntry| -> PgResult<Option<usize>> {
            Ok(tles.iter().position(|&t| t == tle).and_then(|i| tle_cols[i]))
        };
        sort = sort_keys(q, &lookup, &output_types)?;
        for (i, &tle) in tles.iter().enumerate() {
            let node = match tle_cols[i] {
                Some(pos) => {
                    let (typid, typmod, coll) = expr_type(b.columns[output[pos]].0)?;
                    make_var(pos + 1, typid, typmod, coll)?
                }
                None => tle_nodes[i],
            };
            // SAFETY: makeTargetEntry allocates; the TargetEntry fields are copied.
            let t = unsafe { &*tle };
            let entry = guard(|| unsafe {
                sys::makeTargetEntry(node as *mut sys::Expr, t.resno, t.resname, t.resjunk)
            })?;
            tlist = nodes::append(tlist, entry as *mut c_void)?;
        }
        // A window function's column is described by a NULL of its type (EXPLAIN cannot print
        // a window function outside its WindowAgg).
        scan_tlist_exprs = output
            .iter()
            .map(|&id| {
                let (e, _, leaf) = b.columns[id];
                if leaf != WINDOW {
                    return Ok(e);
                }
                let (typid, _, coll) = expr_type(e)?;
                guard(|| unsafe { sys::makeNullConst(typid, -1, coll) as *mut sys::Node })
            })
            .collect::<PgResult<Vec<_>>>()?;
    } else {
        // Group keys.
        let mut key_exprs = Vec::new();
        let mut keys = Vec::new();
        // (sortgroupref, position in `keys`) of each GROUP BY entry.
        let mut refs: Vec<(u32, usize)> = Vec::new();
        for sgc in unsafe { list::<sys::SortGroupClause>(q.groupClause) } {
            let sort_group_ref = unsafe { (*sgc).tleSortGroupRef };
            let tle = guard(|| unsafe { sys::get_sortgroupclause_tle(sgc, q.targetList) })?;
            let i = tles.iter().position(|&t| t == tle).ok_or_else(|| PgError::internal("GROUP BY entry"))?;
            let e = tle_exprs[i];
            let col = b.column(e)?;
            let (_, _, coll) = expr_type(e)?;
            if !eq_safe(b.columns[col].1, coll) {
                return Err(unsupported(
                    "GROUP BY on this type (float, interval, nondeterministic collation)",
                ));
            }
            if !keys.contains(&col) {
                keys.push(col);
                key_exprs.push(e);
            }
            refs.push((sort_group_ref, keys.iter().position(|&k| k == col).unwrap_or(0)));
        }
        // GROUPING SETS / ROLLUP / CUBE, expanded as PostgreSQL does (GROUP BY DISTINCT drops
        // repeated sets).
        let mut sets = None;
        if !q.groupingSets.is_null() {
            let (gs, distinct_sets) = (q.groupingSets, q.groupDistinct);
            // SAFETY: the query's grouping sets; returns a list of integer lists (NIL when there
            // would be more than the limit).
            let expanded = guard(|| unsafe { sys::expand_grouping_sets(gs, distinct_sets, 4096) })?;
            if expanded.is_null() {
                return Err(unsupported("more than 4096 grouping sets"));
            }
            let mut all = Vec::new();
            for set in unsafe { list::<sys::List>(expanded) } {
                let n = unsafe { sys::pgf_list_length(set) };
                let mut positions = Vec::new();
                for i in 0..n {
                    let r = unsafe { sys::pgf_list_nth_int(set, i) } as u32;
                    let k = refs
                        .iter()
                        .find(|(sr, _)| *sr == r)
                        .map(|(_, k)| *k)
                        .ok_or_else(|| PgError::internal("grouping set member"))?;
                    if !positions.contains(&k) {
                        positions.push(k);
                    }
                }
                positions.sort_unstable();
                all.push(positions);
            }
            sets = Some(all);
        }
        let having_flat = flatten(q.havingQual)?;
        // An uncorrelated subquery over the groups (`HAVING sum(x) > (SELECT ...)`, TPC-H Q11):
        // PostgreSQL computes it once in a scan, as a column; being the same on every row, it
        // joins the group keys without changing the groups (only with GROUP BY: without it an
        // empty input still makes one group).
        let mut describe: Vec<*mut sys::Node> = key_exprs.clone();
        if !q.groupClause.is_null() && sets.is_none() {
            let mut found = Vec::new();
            for &e in tle_exprs.iter().chain(std::iter::once(&having_flat)) {
                sublinks_outside_aggregates(e, &mut found)?;
            }
            for sl in found {
                // SAFETY: pull_varnos over a valid expression.
                if guard(|| unsafe { sys::pgf_expr_varno(sl) })? != 0 {
                    continue; // correlated: refused where it is met
                }
                let col = b.column(sl)?;
                if !keys.contains(&col) {
                    keys.push(col);
                    key_exprs.push(sl);
                    let (typid, _, coll) = expr_type(sl)?;
                    describe
                        .push(guard(|| unsafe { sys::makeNullConst(typid, -1, coll) as *mut sys::Node })?);
                }
            }
        }
        let mut ctx = AggContext {
            b: &mut b,
            key_exprs: &key_exprs,
            key_cols: &keys,
            query: q,
            tles: &tles,
            tle_exprs: &tle_exprs,
            windows: Vec::new(),
            window_vars: Vec::new(),
            plain: false,
            aggs: Vec::new(),
            agg_exprs: Vec::new(),
            error: None,
        };
        let mut mutated = Vec::new();
        for &e in &tle_exprs {
            mutated.push(ctx.mutate(e)?);
        }
        let having_pg = if having_flat.is_null() { std::ptr::null_mut() } else { ctx.mutate(having_flat)? };
        let aggs = std::mem::take(&mut ctx.aggs);
        let agg_exprs = std::mem::take(&mut ctx.agg_exprs);
        // DataFusion sorts one aggregation's input once: one ORDER BY for all ordered aggregates.
        let mut orders = aggs.iter().map(|a| &a.order_by).filter(|o| !o.is_empty());
        if let Some(first) = orders.next() {
            if orders.any(|o| o != first) {
                return Err(unsupported("aggregates with different ORDER BYs in one query"));
            }
        }
        // Window results follow the aggregates in the stage.
        let windows = std::mem::take(&mut ctx.windows);
        let window_vars = std::mem::take(&mut ctx.window_vars);
        let base = keys.len() + aggs.len();
        let mut window_describe = Vec::new();
        for (i, &v) in window_vars.iter().enumerate() {
            // SAFETY: Vars made by `AggContext::window_func`, ours to renumber.
            unsafe { (*v).varattno = (base + i + 1) as i16 };
            let (typid, coll) = unsafe { ((*v).vartype, (*v).varcollid) };
            window_describe.push(guard(|| unsafe { sys::makeNullConst(typid, -1, coll) as *mut sys::Node })?);
        }
        let grouping = Grouping { keys: keys.clone(), aggs, sets };
        stage_types = keys
            .iter()
            .map(|&k| b.columns[k].1)
            .chain(grouping.aggs.iter().map(|a| a.output))
            .chain(windows.iter().map(|w| w.output))
            .collect();
        b.windows = windows;
        output = (0..stage_types.len()).collect();
        scan_tlist_exprs = describe.into_iter().chain(agg_exprs).chain(window_describe).collect();
        // HAVING: in DataFusion when translatable, else by PostgreSQL on the node (only where
        // filtering after DISTINCT/ORDER BY/LIMIT gives the same rows).
        if !having_pg.is_null() {
            // Constants folded first (`sum(n) > 2700000` casts its integer to numeric).
            // SAFETY: constant folding without planner state on our copy of the expression.
            let copy = nodes::copy(having_pg)?;
            let folded = guard(|| unsafe { sys::eval_const_expressions(std::ptr::null_mut(), copy) })?;
            match df_expr(folded) {
                Ok(h) => having = Some(h),
                Err(e) => {
                    if distinct || !q.limitCount.is_null() || !q.limitOffset.is_null() {
                        return Err(e);
                    }
                    pg_qual = nodes::append(std::ptr::null_mut(), having_pg as *mut c_void)?;
                }
            }
        }
        let mutated_ref = &mutated;
        let lookup = |tle: *mut sys::TargetEntry| -> PgResult<Option<usize>> {
            let Some(i) = tles.iter().position(|&t| t == tle) else { return Ok(None) };
            Ok(index_var(mutated_ref[i]))
        };
        sort = sort_keys(q, &lookup, &stage_types)?;
        if distinct {
            let mut covered = vec![false; stage_types.len()];
            for (i, &tle) in tles.iter().enumerate() {
                let Some(c) = index_var(mutated[i]) else {
                    return Err(unsupported("DISTINCT over expressions of aggregates"));
                };
                if unsafe { !(*tle).resjunk } {
                    covered[c] = true;
                }
            }
            if covered.iter().any(|c| !c) {
                return Err(unsupported("DISTINCT with aggregates that are not in the select list"));
            }
            for (i, e) in scan_tlist_exprs.iter().enumerate() {
                let (_, _, coll) = expr_type(*e)?;
                if !eq_safe(stage_types[i], coll) {
                    return Err(unsupported(
                        "DISTINCT on this type (float, interval, nondeterministic collation)",
                    ));
                }
            }
        }
        for (i, &tle) in tles.iter().enumerate() {
            let t = unsafe { &*tle };
            let entry = guard(|| unsafe {
                sys::makeTargetEntry(mutated[i] as *mut sys::Expr, t.resno, t.resname, t.resjunk)
            })?;
            tlist = nodes::append(tlist, entry as *mut c_void)?;
        }
        spec_grouping = Some(grouping);
    }

    let offset = limit_value(q.limitOffset, "OFFSET")?.unwrap_or(0);
    let limit = limit_value(q.limitCount, "LIMIT")?;

    // Each leaf bound to its range-table entry and its expression trees (see `super::leaf`).
    let quote = |s: &str| -> PgResult<String> {
        let c = std::ffi::CString::new(s).map_err(|e| PgError::internal(e.to_string()))?;
        let p = c.as_ptr();
        // SAFETY: quote_identifier returns its argument or a palloc'd quoted copy.
        guard(|| unsafe { cstr(sys::quote_identifier(p)) })
    };
    let mut scans = Vec::new();
    let mut scan_pg_types = Vec::new();
    let mut next_id = b.columns.len();
    for (li, leaf) in b.leaves.iter().enumerate() {
        if leaf.sub.is_some() {
            continue;
        }
        let (relid, rtindex) = (leaf.relid, leaf.rtindex);
        // SAFETY: catalog lookups of a relation the query has locked; display only.
        let relname = guard(|| unsafe { cstr(sys::get_rel_name(relid)) })?;
        let nspname = guard(|| unsafe { cstr(sys::get_namespace_name(sys::get_rel_namespace(relid))) })?;
        let relation = format!("{}.{}", quote(&nspname)?, quote(&relname)?);
        let rte = rtable
            .get(rtindex as usize - 1)
            .copied()
            .ok_or_else(|| PgError::internal("range table index out of range"))?;
        let mut columns = Vec::new();
        let mut pg_types = Vec::new();
        for (id, (e, ty, l)) in b.columns.iter().enumerate() {
            if *l == li {
                let (typid, typmod, _) = expr_type(*e)?;
                columns.push(ScanColumn { expr: bind.expr(*e, rtindex)?, ty: *ty, id });
                pg_types.push((typid, typmod));
            }
        }
        if columns.is_empty() {
            // count(*) alone, or a relation only joined: PostgreSQL still has to produce the
            // rows; carry a constant.
            columns.push(ScanColumn { expr: bind.constant_true()?, ty: ColumnType::Boolean, id: next_id });
            pg_types.push((sys::BOOLOID, -1));
            next_id += 1;
        }
        // SAFETY (both): walks expressions of our copy of the query.
        let mut volatile = leaf
            .quals
            .iter()
            .any(|&q| guard(|| unsafe { sys::contain_volatile_functions(q) }).unwrap_or(true));
        for (e, _, l) in b.columns.iter() {
            if *l == li && !volatile {
                let e = *e;
                volatile = guard(|| unsafe { sys::contain_volatile_functions(e) })?;
            }
        }
        scans.push(ScanSpec {
            relation,
            relid,
            access: bind.access(rte, rtindex)?,
            columns,
            quals: bind.condition(&leaf.quals, rtindex)?.into_iter().collect(),
            volatile,
            shared: None,
        });
        scan_pg_types.push(pg_types);
    }

    // DataFusion may compute the projection of computed columns below a filter it can swap with
    // (a WHERE over joined rows that is not all join keys): integer arithmetic there could
    // raise an overflow on rows PostgreSQL filters out first.
    if b.computed.iter().any(|(_, e)| has_int_arith(e)) && !join_filter.as_ref().is_none_or(equalities_only) {
        return Err(unsupported(
            "integer arithmetic computed after the joins under a condition between tables other than equalities",
        ));
    }
    let scan_tlist = scan_tlist_of(&scan_tlist_exprs)?;
    // Subquery leaves: the columns the block reads (one at least, to have rows).
    let mut subqueries = Vec::new();
    let mut pg_types = scan_pg_types;
    for (k, sub) in std::mem::take(&mut b.subs).into_iter().enumerate() {
        let mut columns: Vec<(usize, usize)> =
            b.sub_columns.iter().filter(|c| c.0 == k).map(|c| (c.1, c.2)).collect();
        if columns.is_empty() {
            if sub.types.is_empty() {
                return Err(unsupported("subquery in FROM without columns"));
            }
            columns.push((0, next_id));
            next_id += 1;
        }
        pg_types.extend(sub.pg_types);
        subqueries.push(Subquery { plan: sub.plan, columns, shared: None });
    }
    Ok(Block {
        spec: PlanSpec {
            scans,
            subqueries,
            set_tree: None,
            join_tree,
            computed: b
                .computed
                .iter()
                .map(|(id, expr)| Computed { id: *id, expr: expr.clone(), ty: b.columns[*id].1 })
                .collect(),
            join_filter,
            grouping: spec_grouping,
            windows: std::mem::take(&mut b.windows),
            post: Vec::new(),
            having,
            output,
            distinct,
            sort,
            offset,
            limit,
            shared: Vec::new(),
        },
        tlist,
        qual: pg_qual,
        scan_tlist,
        query,
        rtindexes: b.leaves.iter().map(|l| l.rtindex).collect(),
        pg_types,
    })
}

/// The custom scan target list describing the node's scan tuple: one entry per expression.
fn scan_tlist_of(exprs: &[*mut sys::Node]) -> PgResult<*mut sys::List> {
    let mut tlist: *mut sys::List = std::ptr::null_mut();
    for (i, e) in exprs.iter().enumerate() {
        // SAFETY: makeTargetEntry allocates; `e` is a valid expression.
        let entry = guard(|| unsafe {
            sys::makeTargetEntry(*e as *mut sys::Expr, (i + 1) as i16, std::ptr::null_mut(), false)
        })?;
        tlist = nodes::append(tlist, entry as *mut c_void)?;
    }
    Ok(tlist)
}

/// The subqueries of `e` that are not inside an aggregate's arguments.
fn sublinks_outside_aggregates(e: *mut sys::Node, out: &mut Vec<*mut sys::Node>) -> PgResult<()> {
    unsafe extern "C" fn walk(node: *mut sys::Node, ctx: *mut c_void) -> bool {
        if node.is_null() {
            return false;
        }
        // SAFETY: `ctx` is the Vec passed below; `node` a valid expression node.
        unsafe {
            match nodes::tag(node) {
                sys::NodeTag_T_SubLink => {
                    (*(ctx as *mut Vec<*mut sys::Node>)).push(node);
                    false
                }
                sys::NodeTag_T_Aggref => false,
                _ => {
                    let f: unsafe extern "C" fn(*mut sys::Node, *mut c_void) -> bool = walk;
                    sys::expression_tree_walker(
                        node,
                        Some(std::mem::transmute::<_, unsafe extern "C" fn() -> bool>(f)),
                        ctx,
                    )
                }
            }
        }
    }
    let ctx = out as *mut Vec<*mut sys::Node> as *mut c_void;
    // SAFETY: walks a valid expression; the callback only reads nodes and pushes into `out`.
    guard(|| unsafe { walk(e, ctx) })?;
    Ok(())
}

/// `Var(INDEX_VAR, k)` -> Some(k - 1).
fn index_var(e: *mut sys::Node) -> Option<usize> {
    // SAFETY: `e` is a valid node.
    unsafe {
        if nodes::tag(e) == sys::NodeTag_T_Var {
            let v = &*(e as *mut sys::Var);
            if v.varno == sys::INDEX_VAR {
                return Some(v.varattno as usize - 1);
            }
        }
    }
    None
}

struct AggContext<'a> {
    b: &'a mut Builder,
    key_exprs: &'a [*mut sys::Node],
    /// The scan column of each group key (as `key_exprs`).
    key_cols: &'a [usize],
    /// The query (its WINDOW clauses) and its select list, flattened.
    query: *const sys::Query,
    tles: &'a [*mut sys::TargetEntry],
    tle_exprs: &'a [*mut sys::Node],
    /// With grouping: window functions over the groups, and the Vars standing for their
    /// results (numbered once the aggregates are known).
    windows: Vec<WindowSpec>,
    window_vars: Vec<*mut sys::Var>,
    /// No grouping: every Var becomes the scan column carrying it.
    plain: bool,
    aggs: Vec<AggSpec>,
    /// Per aggregate output column: the node describing it in the scan target list.
    agg_exprs: Vec<*mut sys::Node>,
    error: Option<PgError>,
}

fn make_var(attno: usize, typid: Oid, typmod: i32, coll: Oid) -> PgResult<*mut sys::Node> {
    // SAFETY: makeVar allocates.
    guard(|| unsafe { sys::makeVar(sys::INDEX_VAR, attno as i16, typid, typmod, coll, 0) as *mut sys::Node })
}

/// [`make_func`] whose result has collation `coll` (the input's too).
fn make_func_coll(funcid: Oid, rettype: Oid, args: &[*mut sys::Node], coll: Oid) -> PgResult<*mut sys::Node> {
    let f = make_func(funcid, rettype, args)?;
    // SAFETY: the FuncExpr just made.
    unsafe {
        (*(f as *mut sys::FuncExpr)).funccollid = coll;
        (*(f as *mut sys::FuncExpr)).inputcollid = coll;
    }
    Ok(f)
}

fn make_func(funcid: Oid, rettype: Oid, args: &[*mut sys::Node]) -> PgResult<*mut sys::Node> {
    let mut l: *mut sys::List = std::ptr::null_mut();
    for a in args {
        l = nodes::append(l, *a as *mut c_void)?;
    }
    // SAFETY: makeFuncExpr allocates.
    guard(|| unsafe {
        sys::makeFuncExpr(funcid, rettype, l, 0, 0, sys::CoercionForm_COERCE_EXPLICIT_CALL) as *mut sys::Node
    })
}

unsafe extern "C" fn mutate_cb(node: *mut sys::Node, ctx: *mut c_void) -> *mut sys::Node {
    // SAFETY: `ctx` is the AggContext passed to expression_tree_mutator by `mutate`.
    let ctx = unsafe { &mut *(ctx as *mut AggContext) };
    match ctx.replace(node) {
        Ok(Some(n)) => n,
        Ok(None) => {
            // SAFETY: recursing through PostgreSQL's mutator with this same callback.
            unsafe {
                let f: unsafe extern "C" fn(*mut sys::Node, *mut c_void) -> *mut sys::Node = mutate_cb;
                sys::expression_tree_mutator(
                    node,
                    Some(std::mem::transmute::<_, unsafe extern "C" fn() -> *mut sys::Node>(f)),
                    ctx as *mut AggContext as *mut c_void,
                )
            }
        }
        Err(e) => {
            if ctx.error.is_none() {
                ctx.error = Some(e);
            }
            node
        }
    }
}

impl<'a> AggContext<'a> {
    /// For a select-list expression over several relations without grouping.
    fn plain(
        b: &'a mut Builder,
        query: *const sys::Query,
        tles: &'a [*mut sys::TargetEntry],
        tle_exprs: &'a [*mut sys::Node],
    ) -> AggContext<'a> {
        AggContext {
            b,
            key_exprs: &[],
            key_cols: &[],
            query,
            tles,
            tle_exprs,
            windows: Vec::new(),
            window_vars: Vec::new(),
            plain: true,
            aggs: Vec::new(),
            agg_exprs: Vec::new(),
            error: None,
        }
    }

    fn mutate(&mut self, e: *mut sys::Node) -> PgResult<*mut sys::Node> {
        let copy = nodes::copy(e)?;
        let me = self as *mut AggContext as *mut c_void;
        // SAFETY: the mutator callback gets `me` back; expression_tree_mutator allocates copies.
        let out = guard(|| unsafe { mutate_cb(copy, me) })?;
        if let Some(err) = self.error.take() {
            return Err(err);
        }
        Ok(out)
    }

    /// Replacement for one node of a target-list/HAVING expression, or None to recurse.
    fn replace(&mut self, node: *mut sys::Node) -> PgResult<Option<*mut sys::Node>> {
        if node.is_null() {
            return Ok(None);
        }
        if let Some(k) = self.key_exprs.iter().position(|&g| nodes::equal(g, node)) {
            let (typid, typmod, coll) = expr_type(node)?;
            return Ok(Some(make_var(k + 1, typid, typmod, coll)?));
        }
        // SAFETY: `node` is a valid node of a copied expression tree.
        unsafe {
            match nodes::tag(node) {
                sys::NodeTag_T_Aggref => Ok(Some(self.aggregate(node as *mut sys::Aggref)?)),
                sys::NodeTag_T_WindowFunc => Ok(Some(self.window_func(node)?)),
                sys::NodeTag_T_GroupingFunc if !self.plain => {
                    let g = &*(node as *mut sys::GroupingFunc);
                    if g.agglevelsup != 0 {
                        return Err(unsupported("GROUPING() of an outer query"));
                    }
                    let mut keys = Vec::new();
                    for a in list::<sys::Node>(g.args) {
                        let k = self
                            .key_exprs
                            .iter()
                            .position(|&e| nodes::equal(e, a))
                            .ok_or_else(|| unsupported("GROUPING() of an expression that is not a group key"))?;
                        keys.push(self.key_cols[k]);
                    }
                    let spec = AggSpec {
                        func: AggFunc::Grouping,
                        arg: None,
                        distinct: false,
                        filter: None,
                        keys,
                        order_by: Vec::new(),
                        delimiter: None,
                        output: ColumnType::Int32,
                    };
                    let describe = guard(|| sys::makeNullConst(sys::INT4OID, -1, 0) as *mut sys::Node)?;
                    let k = self.add_agg(spec, describe);
                    Ok(Some(make_var(k, sys::INT4OID, -1, 0)?))
                }
                sys::NodeTag_T_Var if self.plain => {
                    let id = self.b.column(node)?;
                    let pos = self.b.output_pos(id);
                    let (typid, typmod, coll) = expr_type(node)?;
                    Ok(Some(make_var(pos + 1, typid, typmod, coll)?))
                }
                sys::NodeTag_T_Var => Err(unsupported("column that is neither grouped nor aggregated")),
                // Subqueries run inside a relation's scan only (the node above DataFusion has no
                // subplans).
                sys::NodeTag_T_SubLink => Err(unsupported(
                    "subquery over aggregates or over several tables (only in one table's conditions or select-list expressions)",
                )),
                _ => Ok(None),
            }
        }
    }

    /// The column of an aggregate's argument or FILTER: a scan's, or one DataFusion computes
    /// after the joins.
    fn agg_column(&mut self, e: *mut sys::Node) -> PgResult<usize> {
        if (self.b.leaf_of(e).is_err() && expr_type(e)?.0 == sys::NUMERICOID) || self.b.df_arithmetic(e)? {
            return self.b.computed_column(e);
        }
        self.b.column(e)
    }

    fn add_agg(&mut self, spec: AggSpec, describe: *mut sys::Node) -> usize {
        // The same aggregate written twice (select list and HAVING, say) is computed once.
        if let Some(i) = self.aggs.iter().position(|a| *a == spec) {
            return self.key_exprs.len() + i + 1;
        }
        self.aggs.push(spec);
        self.agg_exprs.push(describe);
        self.key_exprs.len() + self.aggs.len() // 1-based attno
    }

    fn aggregate(&mut self, a: *mut sys::Aggref) -> PgResult<*mut sys::Node> {
        // SAFETY: `a` is an Aggref of the query.
        let agg = unsafe { &*a };
        if agg.agglevelsup != 0 || agg.aggkind != b'n' as i8 || !agg.aggdirectargs.is_null() {
            return Err(unsupported("ordered-set or outer-level aggregate"));
        }
        if is_builtin(agg.aggfnoid) && func_name(agg.aggfnoid) == "string_agg" {
            return self.string_agg(a);
        }
        if !agg.aggorder.is_null() {
            return Err(unsupported("ORDER BY inside an aggregate"));
        }
        if !is_builtin(agg.aggfnoid) {
            return Err(unsupported(format!("aggregate {}", func_name(agg.aggfnoid))));
        }
        let name = func_name(agg.aggfnoid);
        let distinct = !agg.aggdistinct.is_null();
        let filter = if agg.aggfilter.is_null() {
            None
        } else {
            Some(self.agg_column(agg.aggfilter as *mut sys::Node)?)
        };
        let args: Vec<*mut sys::TargetEntry> = unsafe { list(agg.args) };
        let mut arg_expr = match args.as_slice() {
            [one] => Some(self.filtered(unsafe { (**one).expr } as *mut sys::Node, agg.aggfilter as _)?),
            _ => None,
        };
        // min/max of char(n) order the values without trailing blanks (bpchar's comparison):
        // PostgreSQL trims them in the scan (`text(bpchar)`) and pads the result back to n.
        let arg_pg = arg_expr.map(expr_type).transpose()?;
        let padded = match (name.as_str(), arg_pg) {
            ("min" | "max", Some((sys::BPCHAROID, typmod, coll))) if typmod >= 0 => {
                arg_expr = arg_expr
                    .map(|e| make_func_coll(sys::F_TEXT_BPCHAR, sys::TEXTOID, &[e], coll))
                    .transpose()?;
                Some(typmod)
            }
            _ => None,
        };
        if let (Some(e), "sum" | "avg", false) = (arg_expr, name.as_str(), distinct) {
            // `sum(COALESCE(x, 0))`: a CASE whose branches differ in scale.
            let e = coalesce_as_case(e)?;
            if let Some((int, smax, false)) = case_shape(e)? {
                return self.varying_scale_sum(&name, e, int, smax, filter);
            }
        }
        // count(x) of a column that is never NULL counts rows: x need not cross the boundary.
        let star = agg.aggstar
            || (name == "count" && !distinct && arg_expr.map_or(Ok(false), |e| self.b.never_null(e))?);
        let arg = match arg_expr {
            Some(e) if !star => Some(self.agg_column(e)?),
            _ => None,
        };
        let arg_ty = arg.map(|i| self.b.columns[i].1);
        let arg_coll = arg_pg.map_or(0, |t| t.2);
        // DISTINCT compares as PostgreSQL only under a deterministic collation (floats and
        // intervals are compared by their keys, see `plan::logical`).
        if distinct && arg_ty == Some(ColumnType::Utf8View) && !eq_safe(ColumnType::Utf8View, arg_coll) {
            return Err(unsupported("DISTINCT inside an aggregate under a nondeterministic collation"));
        }
        let agg_node = a as *mut sys::Node;
        let refuse = || {
            unsupported(format!("aggregate {name}({})", arg_ty.map_or("*".to_string(), |t| format!("{t:?}"))))
        };
        let spec = |func, output| AggSpec {
            func,
            arg,
            distinct,
            filter,
            keys: Vec::new(),
            order_by: Vec::new(),
            delimiter: None,
            output,
        };
        use ColumnType as T;
        match (name.as_str(), star, arg_ty) {
            ("count", true, None) => {
                let k = self.add_agg(spec(AggFunc::CountStar, T::Int64), agg_node);
                make_var(k, sys::INT8OID, -1, 0)
            }
            ("count", false, Some(_)) => {
                let k = self.add_agg(spec(AggFunc::Count, T::Int64), agg_node);
                make_var(k, sys::INT8OID, -1, 0)
            }
            ("sum", false, Some(T::Int16 | T::Int32)) => {
                let k = self.add_agg(spec(AggFunc::Sum, T::Int64), agg_node);
                make_var(k, sys::INT8OID, -1, 0)
            }
            ("sum", false, Some(T::Int64)) => {
                let k = self.add_agg(spec(AggFunc::Sum, T::Decimal128 { precision: 38, scale: 0 }), agg_node);
                make_var(k, sys::NUMERICOID, -1, 0)
            }
            ("sum", false, Some(T::Decimal128 { precision, scale })) => {
                // Fewer than 2^63 < 10^19 rows of |x| < 10^precision (unscaled): the total has
                // at most precision + 19 digits, which lets `0.5 * sum(x)` stay exact (Q20).
                let precision = (precision + 19).min(38);
                let k = self.add_agg(spec(AggFunc::Sum, T::Decimal128 { precision, scale }), agg_node);
                make_var(k, sys::NUMERICOID, -1, 0)
            }
            ("sum", false, Some(T::Float64)) => {
                let k = self.add_agg(spec(AggFunc::Sum, T::Float64), agg_node);
                make_var(k, sys::FLOAT8OID, -1, 0)
            }
            (
                "avg",
                false,
                Some(t @ (T::Int16 | T::Int32 | T::Int64 | T::Decimal128 { .. } | T::Float64)),
            ) => {
                // PostgreSQL's avg is its sum divided by its count (int8_avg, numeric_avg,
                // float8_avg): DataFusion computes both, PostgreSQL divides.
                let Some((sum_ty, sum_pg)) = avg_sum_type(t) else { return Err(refuse()) };
                let null_sum = guard(|| unsafe { sys::makeNullConst(sum_pg, -1, 0) as *mut sys::Node })?;
                let ks = self.add_agg(spec(AggFunc::Sum, sum_ty), null_sum);
                let null_count =
                    guard(|| unsafe { sys::makeNullConst(sys::INT8OID, -1, 0) as *mut sys::Node })?;
                let kc = self.add_agg(spec(AggFunc::Count, T::Int64), null_count);
                avg_of(make_var(ks, sum_pg, -1, 0)?, make_var(kc, sys::INT8OID, -1, 0)?, sum_pg)
            }
            (
                "variance" | "var_samp" | "var_pop" | "stddev" | "stddev_samp" | "stddev_pop",
                false,
                Some(t @ (T::Int16 | T::Int32 | T::Int64 | T::Decimal128 { .. })),
            ) => {
                // Exact (numeric_stddev_internal over exact sums). The sum of squares of inputs
                // of at most 32 digits needs more than 5 * 10^12 rows to leave 256 bits (then
                // 22003, never a wrong value). PostgreSQL's float forms accumulate in an
                // order-dependent way: not these.
                if distinct {
                    return Err(unsupported(format!("{name}(DISTINCT ...)")));
                }
                if let T::Decimal128 { precision, .. } = t {
                    if precision > 32 {
                        return Err(unsupported(format!("{name} of numeric wider than 32 digits")));
                    }
                }
                let stat = Statistic { sample: !name.ends_with("_pop"), sqrt: name.starts_with("stddev") };
                let text = guard(|| unsafe {
                    sys::makeNullConst(sys::TEXTOID, -1, sys::DEFAULT_COLLATION_OID) as *mut sys::Node
                })?;
                let k = self.add_agg(spec(AggFunc::Statistic(stat), T::Utf8View), text);
                numeric_from_text(make_var(k, sys::TEXTOID, -1, sys::DEFAULT_COLLATION_OID)?)
            }
            ("bool_and" | "every" | "bool_or", false, Some(T::Boolean)) => {
                let func = if name == "bool_or" { AggFunc::BoolOr } else { AggFunc::BoolAnd };
                let k = self.add_agg(spec(func, T::Boolean), agg_node);
                make_var(k, sys::BOOLOID, -1, 0)
            }
            ("min" | "max", false, Some(t)) => {
                if !order_safe(t, arg_coll) || matches!(t, T::Boolean | T::BinaryView | T::FixedSizeBinary16)
                {
                    return Err(refuse());
                }
                let func = if name == "min" { AggFunc::Min } else { AggFunc::Max };
                let k = self.add_agg(spec(func, t), agg_node);
                let (typid, _, coll) = arg_pg.unwrap_or(expr_type(agg_node)?);
                let v = make_var(k, typid, -1, coll)?;
                match padded {
                    // Back to char(n): `bpchar(value, typmod, false)` pads with blanks.
                    Some(typmod) => {
                        // SAFETY: makeConst allocates Consts of by-value types.
                        let (m, f) = guard(|| unsafe {
                            (
                                sys::makeConst(sys::INT4OID, -1, 0, 4, typmod as sys::Datum, false, true)
                                    as *mut sys::Node,
                                sys::makeBoolConst(false, false),
                            )
                        })?;
                        make_func_coll(sys::F_BPCHAR_BPCHAR_INT4_BOOL, sys::BPCHAROID, &[v, m, f], coll)
                    }
                    None => Ok(v),
                }
            }
            _ => Err(refuse()),
        }
    }
}

impl AggContext<'_> {
    /// `string_agg(text, delimiter ORDER BY ...)` with a constant delimiter. Without ORDER BY
    /// the order of the values is whatever PostgreSQL's plan reads: refused.
    fn string_agg(&mut self, a: *mut sys::Aggref) -> PgResult<*mut sys::Node> {
        // SAFETY: an Aggref of the query: args are TargetEntries, aggorder SortGroupClauses
        // over them.
        let agg = unsafe { &*a };
        let args: Vec<*mut sys::TargetEntry> = unsafe { list(agg.args) };
        let visible: Vec<*mut sys::Node> = args
            .iter()
            .filter(|&&t| unsafe { !(*t).resjunk })
            .map(|&t| unsafe { (*t).expr } as *mut sys::Node)
            .collect();
        let [x, delimiter] = visible.as_slice() else { return Err(unsupported("string_agg")) };
        let (xt, _, coll) = expr_type(*x)?;
        if xt != sys::TEXTOID || !agg.aggdistinct.is_null() {
            return Err(unsupported("string_agg other than of text, without DISTINCT"));
        }
        let delimiter = match const_literal(*delimiter)? {
            Some((Literal::Utf8(d), _)) => d,
            _ => return Err(unsupported("string_agg with a delimiter that is not a constant")),
        };
        if agg.aggorder.is_null() {
            return Err(unsupported("string_agg without ORDER BY (its order would be the plan's)"));
        }
        let mut order_by = Vec::new();
        for sgc in unsafe { list::<sys::SortGroupClause>(agg.aggorder) } {
            let tle = guard(|| unsafe { sys::get_sortgroupclause_tle(sgc, agg.args) })?;
            let e = self.filtered(unsafe { (*tle).expr } as *mut sys::Node, agg.aggfilter as _)?;
            let column = self.agg_column(e)?;
            let (sortop, nulls_first) = unsafe { ((*sgc).sortop, (*sgc).nulls_first) };
            let op = op_name(sortop);
            let (etyp, _, ecoll) = expr_type(e)?;
            if !is_builtin(sortop)
                || !(op == "<" || op == ">")
                || !order_safe(self.b.columns[column].1, ecoll)
            {
                return Err(unsupported("ORDER BY inside string_agg on this type, collation or operator"));
            }
            order_by.push(SortKey {
                column,
                descending: op == ">",
                nulls_first,
                blank_padded: etyp == sys::BPCHAROID,
            });
        }
        let filter = if agg.aggfilter.is_null() {
            None
        } else {
            Some(self.agg_column(agg.aggfilter as *mut sys::Node)?)
        };
        let x = self.filtered(*x, agg.aggfilter as _)?;
        let spec = AggSpec {
            func: AggFunc::StringAgg,
            arg: Some(self.agg_column(x)?),
            distinct: false,
            filter,
            keys: Vec::new(),
            order_by,
            delimiter: Some(delimiter),
            output: ColumnType::Utf8View,
        };
        let k = self.add_agg(spec, a as *mut sys::Node);
        make_var(k, sys::TEXTOID, -1, coll)
    }

    /// An aggregate's argument `e` under `FILTER (WHERE filter)` (`filter` null: none).
    /// PostgreSQL evaluates the argument only for rows the FILTER passes, a scan computes its
    /// columns for every row: an argument that could fail ([`may_fail`]: `sum(a / b) FILTER
    /// (WHERE b <> 0)`) becomes `CASE WHEN filter THEN e END`, the same value wherever the
    /// FILTER passes, when one relation's scan computes both; otherwise it is refused.
    fn filtered(&mut self, e: *mut sys::Node, filter: *mut sys::Node) -> PgResult<*mut sys::Node> {
        if filter.is_null() || !may_fail(e)? {
            return Ok(e);
        }
        let in_scan = |b: &Builder, x: *mut sys::Node| -> PgResult<Option<usize>> {
            match b.leaf_of(x) {
                Ok(leaf) if b.leaves[leaf].sub.is_none() && b.computable_in_scan(x, leaf)? => Ok(Some(leaf)),
                _ => Ok(None),
            }
        };
        // SAFETY: pull_varnos over a valid expression of this query level.
        let filter_leaf = match guard(|| unsafe { sys::pgf_expr_varno(filter) })? {
            0 => in_scan(self.b, e)?,
            _ => in_scan(self.b, filter)?,
        };
        if filter_leaf.is_none() || filter_leaf != in_scan(self.b, e)? {
            return Err(unsupported(
                "aggregate argument that can fail for some rows (x / y, a cast from text) under a FILTER of another table or computed after the joins",
            ));
        }
        let (typid, typmod, coll) = expr_type(e)?;
        // SAFETY: makeNullConst allocates a Const.
        let null = guard(|| unsafe { sys::makeNullConst(typid, typmod, coll) })? as *mut sys::Node;
        make_case(typid, coll, &[(filter, e)], null)
    }

    /// The stage column of a window function's argument or key: without grouping a column of
    /// one relation's scan; with grouping a group key or an aggregate.
    fn window_column(&mut self, e: *mut sys::Node) -> PgResult<usize> {
        if self.plain {
            return self.b.column(e);
        }
        let m = self.mutate(e)?;
        index_var(m)
            .ok_or_else(|| unsupported("window function over an expression of aggregates or group keys"))
    }

    /// The flattened expression of the select-list entry a WINDOW clause's PARTITION BY or
    /// ORDER BY item names.
    fn clause_expr(&self, sgc: *mut sys::SortGroupClause) -> PgResult<*mut sys::Node> {
        // SAFETY: the query's target list.
        let tlist = unsafe { (*self.query).targetList };
        let tle = guard(|| unsafe { sys::get_sortgroupclause_tle(sgc, tlist) })?;
        let i = self
            .tles
            .iter()
            .position(|&t| t == tle)
            .ok_or_else(|| PgError::internal("window clause entry"))?;
        Ok(self.tle_exprs[i])
    }

    /// A window function (DataFusion's, over the stage); the Var standing for its result.
    fn window_func(&mut self, node: *mut sys::Node) -> PgResult<*mut sys::Node> {
        // SAFETY: a WindowFunc of the query; its WINDOW clause is in the query's list.
        let w = unsafe { &*(node as *mut sys::WindowFunc) };
        let name = func_name(w.winfnoid);
        if !is_builtin(w.winfnoid) {
            return Err(unsupported(format!("window function {name}")));
        }
        if !w.aggfilter.is_null() {
            return Err(unsupported("FILTER in a window function"));
        }
        let clauses: Vec<*mut sys::WindowClause> = unsafe { list((*self.query).windowClause) };
        let wc = clauses
            .into_iter()
            .find(|&c| unsafe { (*c).winref } == w.winref)
            .ok_or_else(|| PgError::internal("window clause"))?;
        let (partition_clause, order_clause) = unsafe { ((*wc).partitionClause, (*wc).orderClause) };
        let mut partition_by = Vec::new();
        for sgc in unsafe { list::<sys::SortGroupClause>(partition_clause) } {
            let e = self.clause_expr(sgc)?;
            let c = self.window_column(e)?;
            let (_, _, coll) = expr_type(e)?;
            if !eq_safe(self.stage_type(c), coll) {
                return Err(unsupported(
                    "PARTITION BY on this type (float, interval, nondeterministic collation)",
                ));
            }
            partition_by.push(c);
        }
        let mut order_by = Vec::new();
        for sgc in unsafe { list::<sys::SortGroupClause>(order_clause) } {
            let e = self.clause_expr(sgc)?;
            let c = self.window_column(e)?;
            let (sortop, nulls_first) = unsafe { ((*sgc).sortop, (*sgc).nulls_first) };
            let op = op_name(sortop);
            let (typid, _, coll) = expr_type(e)?;
            if !is_builtin(sortop) || !(op == "<" || op == ">") || !order_safe(self.stage_type(c), coll) {
                return Err(unsupported(
                    "window ORDER BY on this type, collation or operator (text sorts only under the C collation)",
                ));
            }
            order_by.push(SortKey {
                column: c,
                descending: op == ">",
                nulls_first,
                blank_padded: typid == sys::BPCHAROID,
            });
        }
        // RANGE offsets are values of the (single) ORDER BY key.
        let range_key = match order_by.as_slice() {
            [k] => Some(self.stage_type(k.column)),
            _ => None,
        };
        let frame = frame_of(unsafe { &*wc }, range_key)?;
        let args: Vec<*mut sys::Node> = unsafe { list(w.args) };
        let refuse = || unsupported(format!("window function {name}"));
        use ColumnType as T;
        let mut default = None;
        let (func, arg, output) = match (name.as_str(), args.as_slice(), w.winstar) {
            ("row_number", [], _) => (WindowFn::RowNumber, None, T::Int64),
            ("rank", [], _) => (WindowFn::Rank, None, T::Int64),
            ("dense_rank", [], _) => (WindowFn::DenseRank, None, T::Int64),
            ("percent_rank", [], _) => (WindowFn::PercentRank, None, T::Float64),
            ("cume_dist", [], _) => (WindowFn::CumeDist, None, T::Float64),
            ("ntile", [n], _) => match const_literal(*n)? {
                Some((Literal::Int64(n), _)) if n > 0 => (WindowFn::Ntile(n as u64), None, T::Int32),
                _ => return Err(unsupported("ntile() of anything but a positive constant")),
            },
            ("lag" | "lead", [a, rest @ ..], false) if rest.len() <= 2 => {
                // lag(x [, n [, default]]): a constant n >= 0; no default, NULL, or a constant
                // that DataFusion shows as PostgreSQL does (PostgreSQL gave x and the default one
                // type: integers, booleans, dates, text; not numeric, whose default keeps its own
                // display scale).
                let n = match rest.first() {
                    None => 1,
                    Some(&o) => match const_literal(o)? {
                        Some((Literal::Int64(n), _)) if n >= 0 => n as u64,
                        _ => {
                            return Err(unsupported(format!(
                                "{name}() with an offset that is not a constant >= 0"
                            )))
                        }
                    },
                };
                let c = self.window_column(*a)?;
                if let Some(&d) = rest.get(1).filter(|&&d| !is_null_const(d)) {
                    let same_type = expr_type(d)?.0 == expr_type(*a)?.0;
                    default = match (self.stage_type(c), const_literal(d)?) {
                        (T::Int16 | T::Int32 | T::Int64, Some((l @ Literal::Int64(_), _)))
                        | (T::Boolean, Some((l @ Literal::Bool(_), _)))
                        | (T::Date32, Some((l @ Literal::Date32(_), _)))
                        | (T::Utf8View, Some((l @ Literal::Utf8(_), _)))
                            if same_type =>
                        {
                            Some(l)
                        }
                        _ => {
                            return Err(unsupported(format!(
                                "{name}() with a default value of this type (integers, booleans, dates and text only)"
                            )))
                        }
                    };
                }
                let func = if name == "lag" { WindowFn::Lag(n) } else { WindowFn::Lead(n) };
                (func, Some(c), self.stage_type(c))
            }
            ("first_value" | "last_value", [a], false) => {
                let c = self.window_column(*a)?;
                let func = if name == "first_value" { WindowFn::FirstValue } else { WindowFn::LastValue };
                (func, Some(c), self.stage_type(c))
            }
            ("nth_value", [a, n], false) => match const_literal(*n)? {
                Some((Literal::Int64(n), _)) if n > 0 => {
                    let c = self.window_column(*a)?;
                    (WindowFn::NthValue(n as u64), Some(c), self.stage_type(c))
                }
                _ => return Err(unsupported("nth_value() of anything but a positive constant")),
            },
            ("avg", [a], false) => return self.window_avg(*a, partition_by, order_by, frame),
            ("count", [], true) => (WindowFn::Aggregate(AggFunc::CountStar), None, T::Int64),
            ("count", [a], false) => {
                (WindowFn::Aggregate(AggFunc::Count), Some(self.window_column(*a)?), T::Int64)
            }
            ("sum" | "min" | "max", [a], false) => {
                let c = self.window_column(*a)?;
                let t = self.stage_type(c);
                let (typid, _, coll) = expr_type(*a)?;
                if typid == sys::BPCHAROID {
                    return Err(unsupported("window function min/max of char(n)"));
                }
                let output = match (name.as_str(), t) {
                    ("sum", T::Int16 | T::Int32) => T::Int64,
                    ("sum", T::Int64) => T::Decimal128 { precision: 38, scale: 0 },
                    ("sum", T::Decimal128 { scale, .. }) => T::Decimal128 { precision: 38, scale },
                    ("sum", _) => return Err(refuse()),
                    (_, t)
                        if order_safe(t, coll)
                            && !matches!(t, T::Boolean | T::BinaryView | T::FixedSizeBinary16) =>
                    {
                        t
                    }
                    _ => return Err(refuse()),
                };
                let func = match name.as_str() {
                    "sum" => AggFunc::Sum,
                    "min" => AggFunc::Min,
                    _ => AggFunc::Max,
                };
                // Float min/max follow PostgreSQL's order in an aggregate that cannot take a
                // value back out: frames that start at the partition's start only.
                let sliding = frame.is_some_and(|f| f.start != FrameBound::UnboundedPreceding);
                if func != AggFunc::Sum && matches!(t, T::Float32 | T::Float64) && sliding {
                    return Err(unsupported(
                        "min/max of a float over a frame that does not start at the partition's start",
                    ));
                }
                (WindowFn::Aggregate(func), Some(c), output)
            }
            _ => return Err(refuse()),
        };
        let (typid, typmod, coll) = expr_type(node)?;
        let spec = WindowSpec { func, arg, default, partition_by, order_by, frame, id: 0, output };
        self.add_window(spec, node, typid, typmod, coll)
    }

    /// Register a window function; the Var standing for its result (`node` describes it).
    fn add_window(
        &mut self,
        spec: WindowSpec,
        node: *mut sys::Node,
        typid: Oid,
        typmod: i32,
        coll: Oid,
    ) -> PgResult<*mut sys::Node> {
        if self.plain {
            self.b.columns.push((node, spec.output, WINDOW));
            let id = self.b.columns.len() - 1;
            self.b.windows.push(WindowSpec { id, ..spec });
            let pos = self.b.output_pos(id);
            return make_var(pos + 1, typid, typmod, coll);
        }
        self.windows.push(spec);
        let var = make_var(0, typid, typmod, coll)?;
        self.window_vars.push(var as *mut sys::Var);
        Ok(var)
    }

    /// `avg(x) OVER (...)`: DataFusion's sum and count over the window, PostgreSQL's division on
    /// the node (as for the aggregate).
    fn window_avg(
        &mut self,
        a: *mut sys::Node,
        partition_by: Vec<usize>,
        order_by: Vec<SortKey>,
        frame: Option<Frame>,
    ) -> PgResult<*mut sys::Node> {
        use ColumnType as T;
        let c = self.window_column(a)?;
        let t = self.stage_type(c);
        let (sum_ty, sum_pg) =
            avg_sum_type(t).ok_or_else(|| unsupported(format!("window function avg({t:?})")))?;
        let window = |func, output| WindowSpec {
            func,
            arg: Some(c),
            default: None,
            partition_by: partition_by.clone(),
            order_by: order_by.clone(),
            frame,
            id: 0,
            output,
        };
        let null = |t| guard(|| unsafe { sys::makeNullConst(t, -1, 0) as *mut sys::Node });
        let sum =
            self.add_window(window(WindowFn::Aggregate(AggFunc::Sum), sum_ty), null(sum_pg)?, sum_pg, -1, 0)?;
        let count = self.add_window(
            window(WindowFn::Aggregate(AggFunc::Count), T::Int64),
            null(sys::INT8OID)?,
            sys::INT8OID,
            -1,
            0,
        )?;
        avg_of(sum, count, sum_pg)
    }

    /// The type of stage column `c` (see [`Self::window_column`]).
    fn stage_type(&self, c: usize) -> ColumnType {
        if self.plain {
            return self.b.columns[c].1;
        }
        let nkeys = self.key_exprs.len();
        if c < nkeys {
            self.b.columns[self.key_cols[c]].1
        } else {
            self.aggs.get(c - nkeys).map_or(ColumnType::Boolean, |a| a.output)
        }
    }
}

/// A non-NULL interval constant: (months, days, microseconds).
fn interval_const(e: *mut sys::Node) -> PgResult<Option<(i32, i32, i64)>> {
    // SAFETY: `e` is a valid node; an interval Const's value points to an Interval.
    unsafe {
        if nodes::tag(e) != sys::NodeTag_T_Const {
            return Ok(None);
        }
        let c = &*(e as *mut sys::Const);
        if c.constisnull || c.consttype != sys::INTERVALOID {
            return Ok(None);
        }
        let i = &*(c.constvalue as *const sys::Interval);
        Ok(Some((i.month, i.day, i.time)))
    }
}

/// A WINDOW clause's frame: None for the default; ROWS and GROUPS with constant offsets, RANGE
/// with constant offsets over one integer, numeric, date or timestamp ORDER BY key
/// (`range_key`). Peer groups are
/// rows equal in the ORDER BY keys in both systems: DataFusion compares the keys the sort
/// compares (C-collation text by bytes, floats with NaN and -0 mapped as PostgreSQL orders them,
/// see `logical::pg_order_key`). A RANGE bound past the key type's range reaches the partition's
/// edge in both (PostgreSQL's in_range functions, DataFusion's checked bound arithmetic).
fn frame_of(wc: &sys::WindowClause, range_key: Option<ColumnType>) -> PgResult<Option<Frame>> {
    let o = wc.frameOptions as u32;
    if o & sys::FRAMEOPTION_NONDEFAULT == 0 {
        return Ok(None);
    }
    let refuse = || {
        unsupported(
            "window frame (EXCLUDE, or RANGE with an offset over a key other than one integer, numeric, date or timestamp, or an interval offset with months, or days over timestamptz)",
        )
    };
    if o & (sys::FRAMEOPTION_EXCLUDE_CURRENT_ROW
        | sys::FRAMEOPTION_EXCLUDE_GROUP
        | sys::FRAMEOPTION_EXCLUDE_TIES)
        != 0
    {
        return Err(refuse());
    }
    let units = if o & sys::FRAMEOPTION_ROWS != 0 {
        FrameUnits::Rows
    } else if o & sys::FRAMEOPTION_GROUPS != 0 {
        FrameUnits::Groups
    } else {
        FrameUnits::Range
    };
    // ROWS and GROUPS: a count; RANGE: the offset in the key's unscaled units (its scale for
    // numeric), within the key type's range.
    let offset = |e: *mut sys::Node| -> PgResult<u64> {
        // The offset is coerced to the bound's type (`int8(2)`): folded first.
        let copy = nodes::copy(e)?;
        // SAFETY: constant folding without planner state on our copy.
        let e = guard(|| unsafe { sys::eval_const_expressions(std::ptr::null_mut(), copy) })?;
        let lit = const_literal(e)?.map(|(l, _)| l);
        let n: Option<u64> = match (units, range_key, lit) {
            (FrameUnits::Rows | FrameUnits::Groups, _, Some(Literal::Int64(n))) => u64::try_from(n).ok(),
            (FrameUnits::Range, Some(t), Some(Literal::Int64(n))) => {
                let max = match t {
                    ColumnType::Int16 => i16::MAX as i64,
                    ColumnType::Int32 => i32::MAX as i64,
                    ColumnType::Int64 => i64::MAX,
                    _ => -1,
                };
                (0..=max).contains(&n).then_some(n as u64)
            }
            (
                FrameUnits::Range,
                Some(ColumnType::Decimal128 { scale, .. }),
                Some(Literal::Decimal128 { value, scale: os, .. }),
            ) if os >= 0 && os <= scale && value >= 0 => 10i128
                .checked_pow((scale - os) as u32)
                .and_then(|p| value.checked_mul(p))
                .and_then(|v| u64::try_from(v).ok()),
            // An interval over a date or timestamp key: whole days over a date (in days), days
            // and time over a timestamp (in microseconds: a day is 24 hours there), time only
            // over a timestamptz (a day there depends on the time zone). Never months.
            (FrameUnits::Range, Some(t @ (ColumnType::Date32 | ColumnType::TimestampUs { .. })), _) => {
                interval_const(e)?.and_then(|(months, days, micros)| {
                    if months != 0 || days < 0 || micros < 0 {
                        return None;
                    }
                    match t {
                        ColumnType::Date32 if micros == 0 => u64::try_from(days).ok(),
                        ColumnType::TimestampUs { utc: false } => (days as i64)
                            .checked_mul(86_400_000_000)
                            .and_then(|d| d.checked_add(micros))
                            .and_then(|v| u64::try_from(v).ok()),
                        ColumnType::TimestampUs { utc: true } if days == 0 => u64::try_from(micros).ok(),
                        _ => None,
                    }
                })
            }
            _ => None,
        };
        n.ok_or_else(refuse)
    };
    // [unbounded, current row, offset preceding, offset following] flags of one bound.
    let bound = |flags: [u32; 4], unbounded: FrameBound, e: *mut sys::Node| -> PgResult<FrameBound> {
        let [unbounded_flag, current, preceding, following] = flags;
        Ok(if o & unbounded_flag != 0 {
            unbounded
        } else if o & current != 0 {
            FrameBound::CurrentRow
        } else if o & preceding != 0 {
            FrameBound::Preceding(offset(e)?)
        } else if o & following != 0 {
            FrameBound::Following(offset(e)?)
        } else {
            return Err(refuse());
        })
    };
    let start = bound(
        [
            sys::FRAMEOPTION_START_UNBOUNDED_PRECEDING,
            sys::FRAMEOPTION_START_CURRENT_ROW,
            sys::FRAMEOPTION_START_OFFSET_PRECEDING,
            sys::FRAMEOPTION_START_OFFSET_FOLLOWING,
        ],
        FrameBound::UnboundedPreceding,
        wc.startOffset,
    )?;
    let end = bound(
        [
            sys::FRAMEOPTION_END_UNBOUNDED_FOLLOWING,
            sys::FRAMEOPTION_END_CURRENT_ROW,
            sys::FRAMEOPTION_END_OFFSET_PRECEDING,
            sys::FRAMEOPTION_END_OFFSET_FOLLOWING,
        ],
        FrameBound::UnboundedFollowing,
        wc.endOffset,
    )?;
    Ok(Some(Frame { units, start, end }))
}

impl AggContext<'_> {
    /// `sum`/`avg` of a numeric CASE with branches of different scales: DataFusion sums the
    /// values at the largest scale and takes the largest display scale of the summed values;
    /// PostgreSQL's `round(sum, that scale)` on the node gives exactly its own sum (whose display
    /// scale is the largest of its inputs'); avg divides that by the count, as `numeric_avg` does.
    fn varying_scale_sum(
        &mut self,
        name: &str,
        e: *mut sys::Node,
        int: u32,
        smax: u32,
        filter: Option<usize>,
    ) -> PgResult<*mut sys::Node> {
        let (value, scale) = self.b.varying_scale(e, int, smax)?;
        let agg = |func, arg, output| AggSpec {
            func,
            arg: Some(arg),
            distinct: false,
            filter,
            keys: Vec::new(),
            order_by: Vec::new(),
            delimiter: None,
            output,
        };
        let null = |t| guard(|| unsafe { sys::makeNullConst(t, -1, 0) as *mut sys::Node });
        let sum_ty = ColumnType::Decimal128 { precision: 38, scale: smax as i8 };
        let ks = self.add_agg(agg(AggFunc::Sum, value, sum_ty), null(sys::NUMERICOID)?);
        let km = self.add_agg(agg(AggFunc::Max, scale, ColumnType::Int32), null(sys::INT4OID)?);
        let sum = make_var(ks, sys::NUMERICOID, -1, 0)?;
        let dscale = make_var(km, sys::INT4OID, -1, 0)?;
        let sum = make_func(sys::F_ROUND_NUMERIC_INT4, sys::NUMERICOID, &[sum, dscale])?;
        if name == "sum" {
            return Ok(sum);
        }
        let kc = self.add_agg(agg(AggFunc::Count, value, ColumnType::Int64), null(sys::INT8OID)?);
        let count = make_var(kc, sys::INT8OID, -1, 0)?;
        let countn = make_func(sys::F_NUMERIC_INT8, sys::NUMERICOID, &[count])?;
        make_func(sys::F_NUMERIC_DIV, sys::NUMERICOID, &[sum, countn])
    }
}

/// A HAVING expression over INDEX_VAR columns, for DataFusion.
fn df_expr(e: *mut sys::Node) -> PgResult<DfExpr> {
    nodes::check_stack_depth()?;
    let refuse = || unsupported("HAVING expression");
    // SAFETY: `e` is a valid node of the mutated HAVING tree.
    unsafe {
        match nodes::tag(e) {
            sys::NodeTag_T_Var => index_var(e).map(DfExpr::Column).ok_or_else(refuse),
            sys::NodeTag_T_Const => match const_literal(e)? {
                Some((lit, _)) => Ok(DfExpr::Literal(lit)),
                None => Err(refuse()),
            },
            sys::NodeTag_T_BoolExpr => {
                let b = &*(e as *mut sys::BoolExpr);
                let args =
                    list::<sys::Node>(b.args).into_iter().map(df_expr).collect::<PgResult<Vec<_>>>()?;
                bool_expr(b.boolop, args).ok_or_else(refuse)
            }
            sys::NodeTag_T_NullTest => {
                let n = &*(e as *mut sys::NullTest);
                if n.argisrow {
                    return Err(refuse());
                }
                let a = Box::new(df_expr(n.arg as *mut sys::Node)?);
                Ok(null_test(n, a))
            }
            sys::NodeTag_T_OpExpr => {
                let o = &*(e as *mut sys::OpExpr);
                let args: Vec<*mut sys::Node> = list(o.args);
                if args.len() != 2 || !is_builtin(o.opno) {
                    return Err(refuse());
                }
                // Comparisons DataFusion makes exactly as PostgreSQL: integers (int2/int4/int8
                // after widening), numerics (decimals of any scales: group keys, sums, min/max,
                // constants) and dates, each side a column or a constant.
                const INTEGERS: [Oid; 3] = [sys::INT2OID, sys::INT4OID, sys::INT8OID];
                let types = args.iter().map(|&a| expr_type(a).map(|t| t.0)).collect::<PgResult<Vec<_>>>()?;
                let same_kind = types.iter().all(|t| INTEGERS.contains(t))
                    || types.iter().all(|&t| t == sys::NUMERICOID)
                    || types.iter().all(|&t| t == sys::DATEOID);
                let simple =
                    args.iter().all(|&a| matches!(nodes::tag(a), sys::NodeTag_T_Var | sys::NodeTag_T_Const));
                if !same_kind || !simple {
                    return Err(refuse());
                }
                let op = cmp_op(o.opno).ok_or_else(refuse)?;
                Ok(DfExpr::Compare(op, Box::new(df_expr(args[0])?), Box::new(df_expr(args[1])?)))
            }
            _ => Err(refuse()),
        }
    }
}
