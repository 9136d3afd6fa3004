//! Constants: PostgreSQL `Const` nodes (folded as the planner would) as DataFusion literals, and
//! the LIMIT/OFFSET values.

use super::unsupported;
use crate::page::ColumnType;
use crate::pg::error::{guard, PgResult};
use crate::pg::nodes::{self, cstr};
use crate::pg::sys;
use crate::plan::spec::Literal;

/// [`const_literal`] of `e`, or of `e` folded as the planner would (immutable functions only)
/// when it reads no column (`1` cast to numeric).
pub(super) fn folded_literal(e: *mut sys::Node) -> PgResult<Option<(Literal, ColumnType)>> {
    if let Some(l) = const_literal(e)? {
        return Ok(Some(l));
    }
    // SAFETY: pull_varnos and constant folding on a copy of a valid expression.
    if guard(|| unsafe { sys::pgf_expr_varno(e) })? != 0
        // SAFETY: pull_varnos and contain_volatile_functions walk a valid expression.
        || guard(|| unsafe { sys::contain_volatile_functions(e) })?
    {
        return Ok(None);
    }
    let copy = nodes::copy(e)?;
    // SAFETY: constant folding without planner state on our copy of the expression.
    let folded = guard(|| unsafe { sys::eval_const_expressions(std::ptr::null_mut(), copy) })?;
    const_literal(folded)
}

/// A non-NULL constant of a type DataFusion holds exactly (integers, numeric, date, boolean,
/// text), with its block type.
pub(super) fn const_literal(e: *mut sys::Node) -> PgResult<Option<(Literal, ColumnType)>> {
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

pub(super) fn limit_value(node: *mut sys::Node, what: &str) -> PgResult<Option<usize>> {
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

/// A non-NULL interval constant: (months, days, microseconds).
pub(super) fn interval_const(e: *mut sys::Node) -> PgResult<Option<(i32, i32, i64)>> {
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
