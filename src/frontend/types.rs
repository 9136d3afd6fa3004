//! What the front end knows about types and functions: catalog names, the block type of a
//! PostgreSQL type, numeric digits and scales PostgreSQL's arithmetic gives, and which orders and
//! equalities DataFusion shares with PostgreSQL.

use super::unsupported;
use crate::page::ColumnType;
use crate::pg::error::{guard, PgResult};
use crate::pg::nodes::{self, cstr, list};
use crate::pg::sys;

pub(super) type Oid = sys::Oid;

pub(super) fn is_builtin(oid: Oid) -> bool {
    oid != 0 && oid < sys::FirstGenbkiObjectId
}

pub(super) fn type_name(typid: Oid, typmod: i32) -> PgResult<String> {
    // SAFETY: format_type_with_typemod handles any OID (unknown ones print as "???").
    guard(|| unsafe { cstr(sys::format_type_with_typemod(typid, typmod)) })
}

/// A function's name; empty when there is no such function.
pub(super) fn func_name(oid: Oid) -> PgResult<String> {
    // SAFETY: catalog lookup; NULL when missing.
    guard(|| unsafe { cstr(sys::get_func_name(oid)) })
}

/// An operator's name; empty when there is no such operator.
pub(super) fn op_name(oid: Oid) -> PgResult<String> {
    // SAFETY: catalog lookup; NULL when missing.
    guard(|| unsafe { cstr(sys::get_opname(oid)) })
}

pub(super) fn expr_type(e: *mut sys::Node) -> PgResult<(Oid, i32, Oid)> {
    // SAFETY: exprType/exprTypmod/exprCollation on a valid expression tree.
    guard(|| unsafe { (sys::exprType(e), sys::exprTypmod(e), sys::exprCollation(e)) })
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
pub(super) fn numeric_digits(e: *mut sys::Node) -> PgResult<Option<(u32, u32)>> {
    numeric_digits_in(e, std::ptr::null_mut())
}

/// [`numeric_digits`] of an expression of a query whose range table is `rtable` (null when not
/// known): a column of a subquery in FROM has the digits of the subquery's expression.
pub(super) fn numeric_digits_in(e: *mut sys::Node, rtable: *mut sys::List) -> PgResult<Option<(u32, u32)>> {
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
                Ok(match func_name(agg.aggfnoid)?.as_str() {
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
pub(super) fn case_shape(e: *mut sys::Node) -> PgResult<Option<(u32, u32, bool)>> {
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

/// The block type of a NULL of `e`'s type: a numeric NULL has no scale, and takes the
/// other branches' (as in DataFusion's CASE).
pub(super) fn null_type(e: *mut sys::Node) -> PgResult<ColumnType> {
    match column_type(e) {
        Err(err) if !err.is_caught() && expr_type(e)?.0 == sys::NUMERICOID => {
            Ok(ColumnType::Decimal128 { precision: 1, scale: 0 })
        }
        t => t,
    }
}

/// The block type for a PostgreSQL type, or the reason it cannot cross.
pub(super) fn column_type(e: *mut sys::Node) -> PgResult<ColumnType> {
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
        _ => return Err(unsupported(format!("type {}", type_name(typid, typmod)?))),
    })
}

/// May DataFusion order values of this column as PostgreSQL does?
pub(super) fn order_safe(ty: ColumnType, collation: Oid) -> PgResult<bool> {
    Ok(match ty {
        ColumnType::IntervalMonthDayNano => false,
        // SAFETY: lc_collate_is_c reads the collation's catalog entry.
        ColumnType::Utf8View => guard(|| unsafe { sys::lc_collate_is_c(collation) })?,
        _ => true,
    })
}

/// May DataFusion compare values of this column for equality (GROUP BY, DISTINCT) as PostgreSQL
/// does?
pub(super) fn eq_safe(ty: ColumnType, collation: Oid) -> PgResult<bool> {
    Ok(match ty {
        // -0 = 0 and NaN = NaN in PostgreSQL, not bitwise.
        ColumnType::Float32 | ColumnType::Float64 => false,
        // '1 month' = '30 days' in PostgreSQL.
        ColumnType::IntervalMonthDayNano => false,
        ColumnType::Utf8View => {
            // SAFETY: catalog lookup.
            collation == 0 || guard(|| unsafe { sys::get_collation_isdeterministic(collation) })?
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
        (T::Utf8View, T::Utf8View) => {
            if ltyp == sys::BPCHAROID || rtyp == sys::BPCHAROID {
                // Blank-padded to the same length, equal bytes are equal values; anything else
                // compares without trailing blanks in PostgreSQL.
                equality && ltyp == rtyp && lmod == rmod && lmod >= 0
            } else if equality {
                eq_safe(T::Utf8View, collation)?
            } else {
                order_safe(T::Utf8View, collation)?
            }
        }
        // Floats (-0 = 0, NaN = NaN) and intervals compare differently; mixed kinds are cast in
        // PostgreSQL's expression already when they are comparable at all.
        _ => false,
    })
}

/// PostgreSQL's avg as its sum and count (int8_avg, numeric_avg, float8_avg): the type
/// DataFusion sums an input of type `t` in, and the PostgreSQL type of that sum.
pub(super) fn avg_sum_type(t: ColumnType) -> Option<(ColumnType, sys::Oid)> {
    use ColumnType as T;
    Some(match t {
        T::Int16 | T::Int32 => (T::Int64, sys::INT8OID),
        T::Int64 => (T::Decimal128 { precision: 38, scale: 0 }, sys::NUMERICOID),
        T::Decimal128 { scale, .. } => (T::Decimal128 { precision: 38, scale }, sys::NUMERICOID),
        T::Float64 => (T::Float64, sys::FLOAT8OID),
        _ => return None,
    })
}

pub(super) fn is_null_const(e: *mut sys::Node) -> bool {
    // SAFETY: `e` is a valid node.
    unsafe { nodes::tag(e) == sys::NodeTag_T_Const && (*(e as *mut sys::Const)).constisnull }
}
