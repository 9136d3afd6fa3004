//! What placement reads off an analyzed expression: its [`Shape`] (which functions it calls and
//! their constant arguments) and its [`Facts`]. The decisions are [`super::placement`]'s; this
//! file only describes the tree, naming each known built-in by its OID.

use super::literal::const_literal;
use super::placement::{Facts, Func, Shape};
use super::types::{func_name, is_builtin, numeric_digits, Oid};
use crate::pg::error::{guard, PgResult};
use crate::pg::nodes::{self, list};
use crate::pg::sys;
use crate::plan::spec::Literal;

/// The facts of `e` placement needs; `may_fail` is probed only when `joined` (it matters only
/// then), `strict` only when `nullable`.
pub(super) fn facts(e: *mut sys::Node, joined: bool, nullable: bool) -> PgResult<Facts> {
    // SAFETY: a walk of a valid expression.
    let window_function = guard(|| unsafe { sys::contain_window_function(e) })?;
    // SAFETY: `e` is a valid node; `tag` reads its first field.
    let column = unsafe { nodes::tag(e) } == sys::NodeTag_T_Var;
    // SAFETY: a walk of a valid expression.
    let strict = !nullable || !guard(|| unsafe { sys::contain_nonstrict_functions(e) })?;
    Ok(Facts { window_function, column, strict, may_fail: joined && super::placement::may_fail(&shape(e)?) })
}

/// The shape of `e` (see [`Shape`]).
pub(super) fn shape(e: *mut sys::Node) -> PgResult<Shape> {
    nodes::check_stack_depth()?;
    // A constant expression (no columns, no volatile functions, no subqueries: `1 + 10`) has one
    // value for every row.
    // SAFETY: walks of a valid expression.
    let constant = guard(|| unsafe {
        sys::pgf_expr_varno(e) == 0 && !sys::contain_volatile_functions(e) && !sys::checkExprHasSubLink(e)
    })?;
    if constant {
        return Ok(Shape::Value);
    }
    let parts = |nodes: Vec<*mut sys::Node>| -> PgResult<Vec<Shape>> {
        nodes.into_iter().filter(|n| !n.is_null()).map(shape).collect()
    };
    // SAFETY: `e` is a valid expression node; fields are read per its tag.
    unsafe {
        Ok(match nodes::tag(e) {
            sys::NodeTag_T_Var | sys::NodeTag_T_Const => Shape::Value,
            sys::NodeTag_T_RelabelType => {
                Shape::Parts(parts(vec![(*(e as *mut sys::RelabelType)).arg as _])?)
            }
            sys::NodeTag_T_CollateExpr => {
                Shape::Parts(parts(vec![(*(e as *mut sys::CollateExpr)).arg as _])?)
            }
            sys::NodeTag_T_NullTest => Shape::Parts(parts(vec![(*(e as *mut sys::NullTest)).arg as _])?),
            sys::NodeTag_T_BoolExpr => Shape::Parts(parts(list((*(e as *mut sys::BoolExpr)).args))?),
            sys::NodeTag_T_CoalesceExpr => Shape::Parts(parts(list((*(e as *mut sys::CoalesceExpr)).args))?),
            sys::NodeTag_T_CaseExpr => {
                let c = &*(e as *mut sys::CaseExpr);
                // A simple CASE's WHEN compares a placeholder for its argument.
                if !c.arg.is_null() {
                    return Ok(Shape::Unknown);
                }
                let mut all = vec![c.defresult as *mut sys::Node];
                for w in list::<sys::CaseWhen>(c.args) {
                    all.push((*w).expr as *mut sys::Node);
                    all.push((*w).result as *mut sys::Node);
                }
                Shape::Parts(parts(all)?)
            }
            sys::NodeTag_T_FuncExpr | sys::NodeTag_T_OpExpr => {
                let Some((f, args)) = nodes::call(e) else { return Ok(Shape::Unknown) };
                Shape::Call(func(f, args, e)?, parts(list(args))?)
            }
            // `x IN (c1, c2, ...)`, `x <> ALL (...)`: the operator over each element.
            sys::NodeTag_T_ScalarArrayOpExpr => {
                let o = &*(e as *mut sys::ScalarArrayOpExpr);
                let f = if total(o.opfuncid)? { Func::Total } else { Func::Other };
                Shape::Call(f, parts(list(o.args))?)
            }
            sys::NodeTag_T_Aggref => {
                let a = &*(e as *mut sys::Aggref);
                let known = is_builtin(a.aggfnoid)
                    && a.aggdirectargs.is_null()
                    && matches!(func_name(a.aggfnoid)?.as_str(), "count" | "min" | "max" | "sum" | "avg");
                if !known {
                    return Ok(Shape::Aggregate(None));
                }
                let mut all: Vec<*mut sys::Node> = list::<sys::TargetEntry>(a.args)
                    .into_iter()
                    .map(|t| (*t).expr as *mut sys::Node)
                    .collect();
                all.push(a.aggfilter as *mut sys::Node);
                Shape::Aggregate(Some(parts(all)?))
            }
            sys::NodeTag_T_SubLink => Shape::Subquery(sublink_parts(e as *mut sys::SubLink)?),
            _ => Shape::Unknown,
        })
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

/// Does function `f` fail for no argument values: a leakproof one, a numeric comparison, a
/// widening cast, `char(n)` to text, string concatenation, case and lengths?
fn total(f: Oid) -> PgResult<bool> {
    Ok(match f {
        sys::F_INT4_INT2
        | sys::F_INT8_INT2
        | sys::F_INT8_INT4
        | sys::F_NUMERIC_INT2
        | sys::F_NUMERIC_INT4
        | sys::F_NUMERIC_INT8
        | sys::F_TEXT_BPCHAR
        | sys::F_TEXTCAT
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
        f if numeric_comparison(f) => true,
        // SAFETY: a catalog lookup.
        f => guard(|| unsafe { sys::get_func_leakproof(f) })?,
    })
}

/// The call `f(args)` of expression `e` as placement knows it.
fn func(f: Oid, args: *mut sys::List, e: *mut sys::Node) -> PgResult<Func> {
    // SAFETY: the argument list of a call of the analyzed query.
    let args: Vec<*mut sys::Node> = unsafe { list(args) };
    let constant = |i: usize| -> PgResult<Option<Literal>> {
        Ok(args.get(i).map(|&a| const_literal(a)).transpose()?.flatten().map(|(l, _)| l))
    };
    let text = |i: usize| -> PgResult<Option<String>> {
        Ok(match constant(i)? {
            Some(Literal::Utf8(t)) => Some(t),
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
        sys::F_NUMERIC_ADD | sys::F_NUMERIC_SUB | sys::F_NUMERIC_MUL | sys::F_NUMERIC_UMINUS => {
            Func::NumericArithmetic { bounded: numeric_digits(e)?.is_some() }
        }
        sys::F_INT2DIV | sys::F_INT4DIV | sys::F_INT8DIV => {
            Func::IntDivision { divisor: int(1)?, modulo: false }
        }
        sys::F_INT2MOD | sys::F_INT4MOD | sys::F_INT8MOD => {
            Func::IntDivision { divisor: int(1)?, modulo: true }
        }
        sys::F_TEXTLIKE
        | sys::F_TEXTNLIKE
        | sys::F_BPCHARLIKE
        | sys::F_BPCHARNLIKE
        | sys::F_LIKE_TEXT_TEXT
        | sys::F_NOTLIKE_TEXT_TEXT => Func::Like { pattern: text(1)? },
        sys::F_SUBSTRING_TEXT_INT4_INT4 | sys::F_SUBSTR_TEXT_INT4_INT4 => Func::Substring { length: int(2)? },
        sys::F_EXTRACT_TEXT_DATE | sys::F_DATE_PART_TEXT_DATE => {
            Func::Extract { field: text(0)?, timestamp: false }
        }
        sys::F_EXTRACT_TEXT_TIMESTAMP
        | sys::F_EXTRACT_TEXT_TIMESTAMPTZ
        | sys::F_DATE_PART_TEXT_TIMESTAMP
        | sys::F_DATE_PART_TEXT_TIMESTAMPTZ => Func::Extract { field: text(0)?, timestamp: true },
        f if total(f)? => Func::Total,
        _ => Func::Other,
    })
}

/// The parts of a subquery placement looks into: its comparison, conditions, select list and
/// LIMIT, when it is `EXISTS`, `IN` or a scalar subquery of one row over plain tables; None
/// otherwise.
fn sublink_parts(l: *mut sys::SubLink) -> PgResult<Option<Vec<Shape>>> {
    // SAFETY: a SubLink of the analyzed query and its subquery, read per their tags.
    unsafe {
        let l = &*l;
        if l.subselect.is_null() || nodes::tag(l.subselect) != sys::NodeTag_T_Query {
            return Ok(None);
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
            return Ok(None);
        }
        for rte in list::<sys::RangeTblEntry>(q.rtable) {
            if !matches!((*rte).rtekind, sys::RTEKind_RTE_RELATION | sys::RTEKind_RTE_JOIN) {
                return Ok(None);
            }
        }
        let mut all = vec![l.testexpr, q.limitCount];
        for t in list::<sys::TargetEntry>(q.targetList) {
            all.push((*t).expr as *mut sys::Node);
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
        join_quals(q.jointree as *mut sys::Node, &mut all);
        Ok(Some(all.into_iter().filter(|p| !p.is_null()).map(shape).collect::<PgResult<Vec<_>>>()?))
    }
}
