//! What placement reads off an analyzed expression: its [`Shape`] (which functions it calls and
//! their constant arguments) and its [`Facts`]. The decisions are [`super::placement`]'s; this
//! file only describes the tree, naming each known built-in by its OID.

use super::literal::const_literal;
use super::placement::{Facts, Func, Shape};
use super::types::{func_name, numeric_digits};
use crate::pg::catalog::{self as c, is_builtin, Oid};
use crate::pg::error::PgResult;
use crate::pg::node::{func_leakproof, Kind, Node, RteKind, SubLink, SubLinkType};
use crate::pg::nodes;
use crate::plan::spec::Literal;

/// The facts of `e` placement needs; `may_fail` is probed only when `joined` (it matters only
/// then), `strict` only when `nullable`.
pub(super) fn facts(e: Node, joined: bool, nullable: bool) -> PgResult<Facts> {
    Ok(Facts {
        window_function: e.contains_window_function()?,
        column: matches!(e.kind(), Kind::Var(_)),
        strict: !nullable || !e.contains_nonstrict_functions()?,
        may_fail: joined && super::placement::may_fail(&shape(e)?),
    })
}

/// The shapes of the parts of an expression that are there (a NULL part has none).
fn parts(nodes: impl IntoIterator<Item = Option<Node>>) -> PgResult<Vec<Shape>> {
    nodes.into_iter().flatten().map(shape).collect()
}

/// The shape of `e` (see [`Shape`]).
pub(super) fn shape(e: Node) -> PgResult<Shape> {
    nodes::check_stack_depth()?;
    if e.is_constant()? {
        return Ok(Shape::Value);
    }
    let all = |v: Vec<Node>| v.into_iter().map(Some);
    Ok(match e.kind() {
        Kind::Var(_) | Kind::Const(_) => Shape::Value,
        Kind::RelabelType(r) => Shape::Parts(parts([r.arg()])?),
        Kind::CollateExpr(c) => Shape::Parts(parts([c.arg()])?),
        Kind::NullTest(n) => Shape::Parts(parts([n.arg()])?),
        Kind::BoolExpr(b) => Shape::Parts(parts(all(b.args()))?),
        Kind::CoalesceExpr(c) => Shape::Parts(parts(all(c.args()))?),
        Kind::CaseExpr(c) => {
            // A simple CASE's WHEN compares a placeholder for its argument.
            if c.arg().is_some() {
                return Ok(Shape::Unknown);
            }
            let mut v = vec![c.defresult()];
            for w in c.whens() {
                v.push(w.expr());
                v.push(w.result());
            }
            Shape::Parts(parts(v)?)
        }
        Kind::FuncExpr(_) | Kind::OpExpr(_) => {
            let Some((f, args)) = e.call() else { return Ok(Shape::Unknown) };
            Shape::Call(func(f, &args, e)?, parts(all(args))?)
        }
        // `x IN (c1, c2, ...)`, `x <> ALL (...)`: the operator over each element.
        Kind::ScalarArrayOpExpr(o) => {
            let f = if total(o.opfuncid())? { Func::Total } else { Func::Other };
            Shape::Call(f, parts(all(o.args()))?)
        }
        Kind::Aggref(a) => {
            let known = is_builtin(a.aggfnoid())
                && a.aggdirectargs().is_empty()
                && matches!(func_name(a.aggfnoid())?.as_str(), "count" | "min" | "max" | "sum" | "avg");
            if !known {
                return Ok(Shape::Aggregate(None));
            }
            let mut v: Vec<Option<Node>> = a.args().into_iter().map(|t| t.expr()).collect();
            v.push(a.aggfilter());
            Shape::Aggregate(Some(parts(v)?))
        }
        Kind::SubLink(l) => Shape::Subquery(sublink_parts(l)?),
        _ => Shape::Unknown,
    })
}

/// Numeric comparisons: not marked leakproof in PostgreSQL, but they cannot fail.
fn numeric_comparison(f: Oid) -> bool {
    matches!(
        f,
        c::F_NUMERIC_EQ
            | c::F_NUMERIC_NE
            | c::F_NUMERIC_LT
            | c::F_NUMERIC_LE
            | c::F_NUMERIC_GT
            | c::F_NUMERIC_GE
    )
}

/// Does function `f` fail for no argument values: a leakproof one, a numeric comparison, a
/// widening cast, `char(n)` to text, string concatenation, case and lengths, a numeric's scale?
fn total(f: Oid) -> PgResult<bool> {
    Ok(match f {
        c::F_SCALE
        | c::F_INT4_INT2
        | c::F_INT8_INT2
        | c::F_INT8_INT4
        | c::F_NUMERIC_INT2
        | c::F_NUMERIC_INT4
        | c::F_NUMERIC_INT8
        | c::F_TEXT_BPCHAR
        | c::F_TEXTCAT
        | c::F_UPPER_TEXT
        | c::F_LOWER_TEXT
        | c::F_LENGTH_TEXT
        | c::F_LENGTH_BPCHAR
        | c::F_TEXTLEN
        | c::F_CHAR_LENGTH_TEXT
        | c::F_CHAR_LENGTH_BPCHAR
        | c::F_OCTET_LENGTH_TEXT
        | c::F_SUBSTRING_TEXT_INT4
        | c::F_SUBSTR_TEXT_INT4 => true,
        f if numeric_comparison(f) => true,
        f => func_leakproof(f)?,
    })
}

/// The call `f(args)` of expression `e` as placement knows it.
fn func(f: Oid, args: &[Node], e: Node) -> PgResult<Func> {
    let constant = |i: usize| -> PgResult<Option<Literal>> {
        Ok(args.get(i).map(|&a| const_literal(a)).transpose()?.flatten().map(|(l, _)| l))
    };
    // A text constant as characters: any in a UTF8 database, ASCII in another (the same bytes
    // in every server encoding: field names, LIKE patterns' escapes).
    let text = |i: usize| -> PgResult<Option<String>> {
        Ok(match constant(i)? {
            Some(Literal::Utf8(t)) => Some(t),
            Some(Literal::Binary(b)) if b.is_ascii() => String::from_utf8(b).ok(),
            _ => None,
        })
    };
    let int = |i: usize| -> PgResult<Option<i64>> {
        Ok(match constant(i)? {
            Some(Literal::Int64(v)) => Some(v),
            _ => None,
        })
    };
    Ok(match f {
        _ if args.is_empty() && is_builtin(f) => Func::NoArguments,
        // `x + 0.000`: the value itself at the larger display scale, never an error.
        c::F_NUMERIC_ADD if is_numeric_zero(args.get(1).copied())? => Func::Total,
        c::F_NUMERIC_ADD | c::F_NUMERIC_SUB | c::F_NUMERIC_MUL | c::F_NUMERIC_UMINUS => {
            Func::NumericArithmetic { bounded: numeric_digits(e)?.is_some() }
        }
        c::F_INT2DIV | c::F_INT4DIV | c::F_INT8DIV => Func::IntDivision { divisor: int(1)?, modulo: false },
        c::F_INT2MOD | c::F_INT4MOD | c::F_INT8MOD => Func::IntDivision { divisor: int(1)?, modulo: true },
        c::F_TEXTLIKE
        | c::F_TEXTNLIKE
        | c::F_BPCHARLIKE
        | c::F_BPCHARNLIKE
        | c::F_LIKE_TEXT_TEXT
        | c::F_NOTLIKE_TEXT_TEXT => Func::Like {
            // Its bytes: a backslash is 0x5C in every server encoding, and never part of
            // another character there.
            pattern: match constant(1)? {
                Some(Literal::Utf8(t)) => Some(t.into_bytes()),
                Some(Literal::Binary(b)) => Some(b),
                _ => None,
            },
        },
        c::F_SUBSTRING_TEXT_INT4_INT4 | c::F_SUBSTR_TEXT_INT4_INT4 => Func::Substring { length: int(2)? },
        c::F_EXTRACT_TEXT_DATE | c::F_DATE_PART_TEXT_DATE => {
            Func::Extract { field: text(0)?, timestamp: false }
        }
        c::F_EXTRACT_TEXT_TIMESTAMP
        | c::F_EXTRACT_TEXT_TIMESTAMPTZ
        | c::F_DATE_PART_TEXT_TIMESTAMP
        | c::F_DATE_PART_TEXT_TIMESTAMPTZ => Func::Extract { field: text(0)?, timestamp: true },
        f if total(f)? => Func::Total,
        _ => Func::Other,
    })
}

/// Is `a` a numeric constant zero (`0`, `0.000`)?
fn is_numeric_zero(a: Option<Node>) -> PgResult<bool> {
    let Some(Kind::Const(k)) = a.map(|a| a.kind()) else { return Ok(false) };
    if k.consttype() != c::NUMERICOID {
        return Ok(false);
    }
    Ok(k.numeric_text()?.is_some_and(|t| t.trim_start_matches('-').chars().all(|ch| ch == '0' || ch == '.')))
}

/// The parts of a subquery placement looks into: its comparison, conditions, select list and
/// LIMIT, when it is `EXISTS`, `IN` or a scalar subquery of one row over plain tables; None
/// otherwise.
fn sublink_parts(l: SubLink) -> PgResult<Option<Vec<Shape>>> {
    let Some(q) = l.query() else { return Ok(None) };
    let one_row = q.has_aggs()
        && q.group_clause().is_empty()
        && q.grouping_sets().is_empty()
        && q.having_qual().is_none()
        && q.limit_count().is_none()
        && q.limit_offset().is_none();
    let kind_ok = match l.sub_link_type() {
        SubLinkType::Exists | SubLinkType::Any => true,
        SubLinkType::Expr => one_row,
        _ => false,
    };
    let Some(jointree) = q.jointree() else { return Ok(None) };
    if !kind_ok
        || q.set_operations().is_some()
        || !q.cte_list().is_empty()
        || q.has_window_funcs()
        || q.has_target_srfs()
        || q.rtable().iter().any(|r| !matches!(r.rtekind(), RteKind::Relation | RteKind::Join))
    {
        return Ok(None);
    }
    let mut all = vec![l.testexpr(), q.limit_count()];
    all.extend(q.target_list().into_iter().map(|t| t.expr()));
    fn join_quals(n: Node, out: &mut Vec<Option<Node>>) {
        match n.kind() {
            Kind::FromExpr(f) => {
                out.push(f.quals());
                f.fromlist().into_iter().for_each(|c| join_quals(c, out));
            }
            Kind::JoinExpr(j) => {
                out.push(j.quals());
                j.larg().into_iter().chain(j.rarg()).for_each(|c| join_quals(c, out));
            }
            _ => {}
        }
    }
    join_quals(jointree.node(), &mut all);
    Ok(Some(parts(all)?))
}
