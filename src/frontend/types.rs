//! What the front end knows about types and functions: catalog names, the block type of a
//! PostgreSQL type, numeric digits and scales PostgreSQL's arithmetic gives, and which orders and
//! equalities DataFusion shares with PostgreSQL.

use super::unsupported;
use crate::page::ColumnType;
use crate::pg::catalog::{
    self as c, collation_is_c, collation_is_deterministic, collation_sorts_bytes, database_is_utf8,
};
pub(super) use crate::pg::catalog::{func_name, is_builtin, op_name, type_name, Oid};
use crate::pg::error::PgResult;
use crate::pg::node::{Kind, Node, Query, SubLinkType};
use crate::pg::nodes;

pub(super) fn expr_type(e: Node) -> PgResult<(Oid, i32, Oid)> {
    e.expr_type()
}

pub(super) fn numeric_shape(typmod: i32) -> Option<(u8, i8)> {
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
pub(super) fn numeric_digits(e: Node) -> PgResult<Option<(u32, u32)>> {
    numeric_digits_in(e, None)
}

/// [`numeric_digits`] of an expression of `query` (None when not known): a column of a
/// subquery in FROM has the digits of the subquery's expression.
fn numeric_digits_in(e: Node, query: Option<Query>) -> PgResult<Option<(u32, u32)>> {
    nodes::check_stack_depth()?;
    let (typid, typmod, _) = e.expr_type()?;
    // A domain over numeric(p,s) has its base type's digits.
    let (typid, typmod) = if is_builtin(typid) { (typid, typmod) } else { c::base_type(typid, typmod)? };
    if typid == c::NUMERICOID {
        if let Some((p, s)) = numeric_shape(typmod) {
            return Ok(Some(((p - s as u8) as u32, s as u32)));
        }
    }
    let digits_of = |n: Option<Node>, q: Option<Query>| match n {
        Some(n) => numeric_digits_in(n, q),
        None => Ok(None),
    };
    match e.kind() {
        Kind::Const(k) => {
            if k.consttype() != c::NUMERICOID {
                return Ok(None);
            }
            let Some(text) = k.numeric_text()? else { return Ok(None) };
            if text.contains(['N', 'I', 'n', 'i']) {
                return Ok(None);
            }
            let t = text.trim_start_matches('-');
            let (int, frac) = t.split_once('.').unwrap_or((t, ""));
            Ok(Some((int.trim_start_matches('0').len().max(1) as u32, frac.len() as u32)))
        }
        Kind::FuncExpr(f) => match f.funcid() {
            c::F_NUMERIC_INT2 => Ok(Some((5, 0))),
            c::F_NUMERIC_INT4 => Ok(Some((10, 0))),
            c::F_NUMERIC_INT8 => Ok(Some((19, 0))),
            // extract(field FROM date): every field of a date is an integer (int64).
            c::F_EXTRACT_TEXT_DATE => Ok(Some((19, 0))),
            // extract(field FROM timestamp[tz]): integer-valued fields only (seconds,
            // epoch and julian carry fractions).
            c::F_EXTRACT_TEXT_TIMESTAMP | c::F_EXTRACT_TEXT_TIMESTAMPTZ => {
                let field = match f.args().first().map(|a| a.kind()) {
                    Some(Kind::Const(k)) => match k.text()? {
                        Some(t) => t.to_lowercase(),
                        None => return Ok(None),
                    },
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
        },
        Kind::OpExpr(o) => {
            let args = o.args();
            let digits = |i: usize| numeric_digits_in(args[i], query);
            match (o.opfuncid(), args.len()) {
                (c::F_NUMERIC_ADD | c::F_NUMERIC_SUB, 2) => Ok(match (digits(0)?, digits(1)?) {
                    (Some((i1, s1)), Some((i2, s2))) => Some((i1.max(i2) + 1, s1.max(s2))),
                    _ => None,
                }),
                (c::F_NUMERIC_MUL, 2) => Ok(match (digits(0)?, digits(1)?) {
                    (Some((i1, s1)), Some((i2, s2))) => Some((i1 + i2, s1 + s2)),
                    _ => None,
                }),
                (c::F_NUMERIC_UMINUS, 1) => digits(0),
                _ => Ok(None),
            }
        }
        Kind::RelabelType(r) => digits_of(r.arg(), query),
        Kind::Var(v) => {
            let Some(q) = query else { return Ok(None) };
            let sub = match q.rte(v.varno()) {
                Some(r) if v.varlevelsup() == 0 && v.varattno() > 0 => r.subquery(),
                _ => None,
            };
            let Some(sub) = sub else { return Ok(None) };
            let tle = sub.target_list().into_iter().find(|t| t.resno() == v.varattno());
            digits_of(tle.and_then(|t| t.expr()), Some(sub))
        }
        // A COALESCE whose arguments all have one known scale.
        Kind::CoalesceExpr(k) => {
            let mut shapes = Vec::new();
            for a in k.args() {
                if is_null_const(a) {
                    continue;
                }
                match numeric_digits_in(a, query)? {
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
        Kind::CaseExpr(_) => Ok(match case_shape(e)? {
            Some((int, scale, true)) => Some((int, scale)),
            _ => None,
        }),
        // A scalar subquery: the digits of its select-list expression.
        Kind::SubLink(l) => {
            if l.sub_link_type() != SubLinkType::Expr {
                return Ok(None);
            }
            let Some(sub) = l.query() else { return Ok(None) };
            let first = sub.target_list().into_iter().find(|t| !t.resjunk());
            digits_of(first.and_then(|t| t.expr()), Some(sub))
        }
        // Inside a scalar subquery: min()/max() return one of their inputs; sum() of inputs
        // of one display scale has that scale (its integer digits are unbounded: carried
        // as 38 digits, a larger total fails in the encoder).
        Kind::Aggref(agg) => {
            let args = agg.args();
            if !is_builtin(agg.aggfnoid())
                || agg.aggkind() != b'n'
                || agg.agglevelsup() != 0
                || args.len() != 1
            {
                return Ok(None);
            }
            let arg = digits_of(args[0].expr(), query)?;
            Ok(match func_name(agg.aggfnoid())?.as_str() {
                "min" | "max" => arg,
                "sum" => arg.map(|(_, s)| (38, s)),
                _ => None,
            })
        }
        _ => Ok(None),
    }
}

/// A numeric CASE whose results (NULL constants aside) all have known digits: (most integer
/// digits, largest scale, whether every result has that scale). A value's display scale is then
/// the scale of the branch that produced it.
pub(super) fn case_shape(e: Node) -> PgResult<Option<(u32, u32, bool)>> {
    let Kind::CaseExpr(k) = e.kind() else { return Ok(None) };
    if k.casetype() != c::NUMERICOID {
        return Ok(None);
    }
    let mut results: Vec<Option<Node>> = k.whens().into_iter().map(|w| w.result()).collect();
    results.push(k.defresult());
    let mut shapes = Vec::new();
    for r in results.into_iter().flatten() {
        if is_null_const(r) {
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

/// The shape a numeric of no known digits (a bare `numeric` column, `numeric(p,s)` with p > 38, a
/// function's numeric result) takes where DataFusion sums it: 18 integer digits and 20 decimals
/// (PostgreSQL's division of small values gives 20). Each value keeps its own display scale beside
/// it (as a `CASE` of several scales, [`case_shape`]); one that does not fit (more digits, NaN,
/// Infinity) fails the query cleanly at run time, never rounds.
pub(super) const UNSHAPED_NUMERIC: (u32, u32) = (18, 20);

/// Is `e` a numeric (or a domain over numeric) whose digits PostgreSQL's arithmetic does not fix?
pub(super) fn is_unshaped_numeric(e: Node) -> PgResult<bool> {
    let (own, own_mod, _) = e.expr_type()?;
    let typid = if is_builtin(own) { own } else { c::base_type(own, own_mod)?.0 };
    Ok(typid == c::NUMERICOID && numeric_digits(e)?.is_none() && case_shape(e)?.is_none())
}

/// Is `typid` an object identifier type carried as Int64 (unsigned 32 bits)?
pub(super) fn is_oid(typid: Oid) -> bool {
    matches!(typid, c::OIDOID | c::REGCLASSOID | c::REGTYPEOID | c::REGPROCOID)
}

/// Is `typid` char(n), or a domain over it: compared and sorted without its trailing blanks?
pub(super) fn is_blank_padded(typid: Oid) -> PgResult<bool> {
    Ok(typid == c::BPCHAROID || (!is_builtin(typid) && c::base_type(typid, -1)?.0 == c::BPCHAROID))
}

/// The block type of a NULL of `e`'s type: a numeric NULL has no scale, and takes the
/// other branches' (as in DataFusion's CASE).
pub(super) fn null_type(e: Node) -> PgResult<ColumnType> {
    match column_type(e) {
        Err(err) if !err.is_caught() && expr_type(e)?.0 == c::NUMERICOID => {
            Ok(ColumnType::Decimal128 { precision: 1, scale: 0 })
        }
        t => t,
    }
}

/// The block type for a PostgreSQL type, or the reason it cannot cross.
/// The block type of `e`'s values (a domain's values as its base type's: PostgreSQL checked the
/// domain's constraints where it built them), or a refusal.
pub(super) fn column_type(e: Node) -> PgResult<ColumnType> {
    let (own, own_mod, _) = e.expr_type()?;
    let (typid, typmod) = if is_builtin(own) { (own, own_mod) } else { c::base_type(own, own_mod)? };
    Ok(match typid {
        c::BOOLOID => ColumnType::Boolean,
        c::INT2OID => ColumnType::Int16,
        c::INT4OID => ColumnType::Int32,
        c::INT8OID => ColumnType::Int64,
        // An object identifier (unsigned 32 bits) as a non-negative Int64: its equality and
        // order are the integers'; PostgreSQL has no arithmetic on it.
        t if is_oid(t) => ColumnType::Int64,
        c::FLOAT4OID => ColumnType::Float32,
        c::FLOAT8OID => ColumnType::Float64,
        c::NUMERICOID => match numeric_digits(e)? {
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
        c::TEXTOID | c::VARCHAROID | c::BPCHAROID | c::NAMEOID => {
            if typid == c::BPCHAROID && typmod < 0 {
                return Err(unsupported("bpchar without a length"));
            }
            // Another encoding's text crosses as its bytes, never read as characters there.
            if database_is_utf8() {
                ColumnType::Utf8View
            } else {
                ColumnType::EncodedText
            }
        }
        c::BYTEAOID => ColumnType::BinaryView,
        c::DATEOID => ColumnType::Date32,
        c::TIMEOID => ColumnType::Time64Us,
        c::TIMESTAMPOID => ColumnType::TimestampUs { utc: false },
        c::TIMESTAMPTZOID => ColumnType::TimestampUs { utc: true },
        c::INTERVALOID => ColumnType::IntervalMonthDayNano,
        c::UUIDOID => ColumnType::FixedSizeBinary16,
        _ => return Err(unsupported(format!("type {}", type_name(own, own_mod)?))),
    })
}

/// The block type of `e` where DataFusion only carries its values to the output (a select-list
/// column, say): its own block type, else [`ColumnType::Opaque`] for a type whose values cross
/// as their bytes ([`c::type_is_carried`]).
pub(super) fn carried_type(e: Node) -> PgResult<ColumnType> {
    match column_type(e) {
        Err(err) if !err.is_caught() && c::type_is_carried(expr_type(e)?.0)? => Ok(ColumnType::Opaque),
        r => r,
    }
}

/// May DataFusion order values of this column as PostgreSQL does?
pub(super) fn order_safe(ty: ColumnType, collation: Oid) -> PgResult<bool> {
    Ok(match ty {
        ColumnType::IntervalMonthDayNano | ColumnType::Opaque => false,
        ColumnType::Utf8View => collation_sorts_bytes(collation)?,
        // Bytes of another encoding sort as PostgreSQL sorts them under C (memcmp) only: a
        // code point order is not their byte order.
        ColumnType::EncodedText => collation_is_c(collation)?,
        _ => true,
    })
}

/// May DataFusion compare values of this column for equality (GROUP BY, DISTINCT) as PostgreSQL
/// does?
pub(super) fn eq_safe(ty: ColumnType, collation: Oid) -> PgResult<bool> {
    Ok(match ty {
        // -0 = 0 and NaN = NaN in PostgreSQL, not bitwise.
        ColumnType::Float32 | ColumnType::Float64 => false,
        // '1 month' = '30 days' in PostgreSQL; an opaque value's equality is its type's.
        ColumnType::IntervalMonthDayNano | ColumnType::Opaque => false,
        // A deterministic collation's equality is byte equality (texteq), in every encoding.
        ColumnType::Utf8View | ColumnType::EncodedText => {
            collation == 0 || collation_is_deterministic(collation)?
        }
        _ => true,
    })
}

/// Does DataFusion compare these two columns (block types and PostgreSQL type, typmod,
/// collation) with the operator's meaning in PostgreSQL? `equality`: = or <> only.
pub(super) fn comparable(
    l: ColumnType,
    (ltyp, lmod, _): (Oid, i32, Oid),
    r: ColumnType,
    (rtyp, rmod, _): (Oid, i32, Oid),
    equality: bool,
    collation: Oid,
) -> PgResult<bool> {
    use ColumnType as T;
    Ok(match (l, r) {
        (T::Int16 | T::Int32 | T::Int64, T::Int16 | T::Int32 | T::Int64) => true,
        (T::Decimal128 { .. }, T::Decimal128 { .. }) => true,
        (T::Boolean, T::Boolean)
        | (T::Date32, T::Date32)
        | (T::Time64Us, T::Time64Us)
        | (T::FixedSizeBinary16, T::FixedSizeBinary16)
        | (T::BinaryView, T::BinaryView) => true,
        (T::TimestampUs { utc: a }, T::TimestampUs { utc: b }) => a == b,
        (T::Utf8View, T::Utf8View) | (T::EncodedText, T::EncodedText) => {
            if ltyp == c::BPCHAROID || rtyp == c::BPCHAROID {
                // Blank-padded to the same length, equal bytes are equal values; anything else
                // compares without trailing blanks in PostgreSQL.
                equality && ltyp == rtyp && lmod == rmod && lmod >= 0
            } else if equality {
                eq_safe(l, collation)?
            } else {
                order_safe(l, collation)?
            }
        }
        // Floats (-0 = 0, NaN = NaN) and intervals compare differently; mixed kinds are cast in
        // PostgreSQL's expression already when they are comparable at all.
        _ => false,
    })
}

/// PostgreSQL's avg as its sum and count (int8_avg, numeric_avg, float8_avg): the type
/// DataFusion sums an input of type `t` in, and the PostgreSQL type of that sum.
pub(super) fn avg_sum_type(t: ColumnType) -> Option<(ColumnType, Oid)> {
    use ColumnType as T;
    Some(match t {
        T::Int16 | T::Int32 => (T::Int64, c::INT8OID),
        T::Int64 => (T::Decimal128 { precision: 38, scale: 0 }, c::NUMERICOID),
        T::Decimal128 { scale, .. } => (T::Decimal128 { precision: 38, scale }, c::NUMERICOID),
        T::Float64 => (T::Float64, c::FLOAT8OID),
        _ => return None,
    })
}

pub(super) fn is_null_const(e: Node) -> bool {
    matches!(e.kind(), Kind::Const(k) if k.constisnull())
}
