//! Constants: PostgreSQL `Const` nodes (folded as the planner would) as DataFusion literals, and
//! the LIMIT/OFFSET values.

use super::types::is_oid;
use super::unsupported;
use crate::page::ColumnType;
use crate::pg::catalog as c;
use crate::pg::error::PgResult;
use crate::pg::node::{Kind, Node};
use crate::plan::spec::Literal;
use crate::value::datetime::date_to_arrow;

/// [`const_literal`] of `e`, or of `e` folded as the planner would (immutable functions only)
/// when it reads no column (`1` cast to numeric).
pub(super) fn folded_literal(e: Node) -> PgResult<Option<(Literal, ColumnType)>> {
    if let Some(l) = const_literal(e)? {
        return Ok(Some(l));
    }
    if e.varno()? != 0 || e.contains_volatile_functions()? {
        return Ok(None);
    }
    const_literal(e.eval_const_expressions()?)
}

/// A non-NULL constant of a type DataFusion holds exactly (integers, numeric, date, boolean,
/// text), with its block type.
pub(super) fn const_literal(e: Node) -> PgResult<Option<(Literal, ColumnType)>> {
    let Kind::Const(k) = e.kind() else { return Ok(None) };
    if k.constisnull() {
        return Ok(None);
    }
    let d = k.constvalue();
    Ok(match k.consttype() {
        c::INT2OID => Some((Literal::Int64(d as i16 as i64), ColumnType::Int64)),
        c::INT4OID => Some((Literal::Int64(d as i32 as i64), ColumnType::Int64)),
        c::INT8OID => Some((Literal::Int64(d as i64), ColumnType::Int64)),
        t if is_oid(t) => Some((Literal::Int64(d as u32 as i64), ColumnType::Int64)),
        c::BOOLOID => Some((Literal::Bool(d != 0), ColumnType::Boolean)),
        // Shifted to Arrow's epoch; -infinity and infinity as the extremes the scans send.
        c::DATEOID => date_to_arrow(d as i32).map(|v| (Literal::Date32(v), ColumnType::Date32)),
        c::NUMERICOID => {
            let Some(text) = k.numeric_text()? else { return Ok(None) };
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
        c::TEXTOID | c::VARCHAROID if c::database_is_utf8() => {
            k.text()?.map(|text| (Literal::Utf8(text), ColumnType::Utf8View))
        }
        // Text of another encoding: its bytes, as its columns carry it.
        c::TEXTOID | c::VARCHAROID => k.text_bytes()?.map(|b| (Literal::Binary(b), ColumnType::EncodedText)),
        _ => None,
    })
}

pub(super) fn limit_value(node: Option<Node>, what: &str) -> PgResult<Option<usize>> {
    let Some(node) = node else { return Ok(None) };
    // Folds the int8() coercion the parser puts around an integer literal.
    if let Kind::Const(k) = node.eval_const_expressions()?.kind() {
        if k.constisnull() {
            return Ok(None);
        }
        if k.consttype() == c::INT8OID {
            let v = k.constvalue() as i64;
            if v < 0 {
                return Err(unsupported(format!("negative {what}")));
            }
            return Ok(Some(v as usize));
        }
    }
    Err(unsupported(format!("{what} that is not a constant")))
}

/// A non-NULL interval constant: (months, days, microseconds).
pub(super) fn interval_const(e: Node) -> PgResult<Option<(i32, i32, i64)>> {
    Ok(match e.kind() {
        Kind::Const(k) => k.interval(),
        _ => None,
    })
}
