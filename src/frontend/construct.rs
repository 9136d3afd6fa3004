//! PostgreSQL expression nodes the front end builds: the node's target list (avg's division,
//! char(n) padding, numeric read from text), a COALESCE as the CASE it stands for, and Vars over
//! the node's scan tuple. The nodes themselves are made by `pg::node`.

use super::types::Oid;
use crate::pg::catalog;
use crate::pg::error::PgResult;
use crate::pg::node::{self, IntoNode, Kind, Node};

/// A new searched `CASE WHEN c1 THEN r1 ... ELSE default END` of type `typid` and collation
/// `coll` (`default` a node, never null: PostgreSQL's parser always sets one).
pub(super) fn make_case(
    typid: Oid,
    coll: Oid,
    whens: &[(impl IntoNode + Copy, impl IntoNode + Copy)],
    default: impl IntoNode,
) -> PgResult<Node> {
    let whens =
        whens.iter().map(|&(c, r)| Ok((c.into_node()?, r.into_node()?))).collect::<PgResult<Vec<_>>>()?;
    node::make_case(typid, coll, &whens, default.into_node()?)
}

/// `COALESCE(a1, ..., an)` as the CASE it is, `CASE WHEN a1 IS NOT NULL THEN a1 ... ELSE an
/// END`, for DataFusion and for the numeric CASE rules (a value's display scale is the scale of
/// the argument that gave it). `e` itself when it is no COALESCE, or when an argument is
/// volatile (the CASE evaluates it twice).
pub(super) fn coalesce_as_case(e: impl IntoNode) -> PgResult<Node> {
    let e = e.into_node()?;
    let Kind::CoalesceExpr(c) = e.kind() else { return Ok(e) };
    if e.contains_volatile_functions()? {
        return Ok(e);
    }
    let args = c.args();
    let Some((&last, rest)) = args.split_last() else { return Ok(e) };
    if rest.is_empty() {
        return Ok(last);
    }
    let mut whens = Vec::with_capacity(rest.len());
    for &a in rest {
        whens.push((node::make_is_not_null(a)?, a));
    }
    node::make_case(c.coalescetype(), c.coalescecollid(), &whens, last)
}

/// `text::numeric`: PostgreSQL reads the text DataFusion produced (`numeric_in` keeps its
/// display scale).
pub(super) fn numeric_from_text(arg: impl IntoNode) -> PgResult<Node> {
    node::make_coerce_via_io(arg.into_node()?, catalog::NUMERICOID)
}

/// `sum / count` as PostgreSQL divides for avg: float8 division, else numeric division (the
/// bigint sum of small integers made numeric first).
pub(super) fn avg_of(sum: impl IntoNode, count: impl IntoNode, sum_pg: Oid) -> PgResult<Node> {
    let (sum, count) = (sum.into_node()?, count.into_node()?);
    if sum_pg == catalog::FLOAT8OID {
        let countf = make_func(catalog::F_FLOAT8_INT8, catalog::FLOAT8OID, &[count])?;
        return make_func(catalog::F_FLOAT8DIV, catalog::FLOAT8OID, &[sum, countf]);
    }
    let sumn = if sum_pg == catalog::INT8OID {
        make_func(catalog::F_NUMERIC_INT8, catalog::NUMERICOID, &[sum])?
    } else {
        sum
    };
    let countn = make_func(catalog::F_NUMERIC_INT8, catalog::NUMERICOID, &[count])?;
    make_func(catalog::F_NUMERIC_DIV, catalog::NUMERICOID, &[sumn, countn])
}

/// `Var(INDEX_VAR, k)` -> Some(k - 1).
pub(super) fn index_var(e: impl IntoNode) -> Option<usize> {
    match e.into_node().ok()?.kind() {
        Kind::Var(v) if v.is_index_var() => usize::try_from(v.varattno()).ok()?.checked_sub(1),
        _ => None,
    }
}

pub(super) fn make_var(attno: usize, typid: Oid, typmod: i32, coll: Oid) -> PgResult<Node> {
    node::make_index_var(attno, typid, typmod, coll)
}

/// [`make_func`] whose result has collation `coll` (the input's too).
pub(super) fn make_func_coll(
    funcid: Oid,
    rettype: Oid,
    args: &[impl IntoNode + Copy],
    coll: Oid,
) -> PgResult<Node> {
    let args = args.iter().map(|&a| a.into_node()).collect::<PgResult<Vec<_>>>()?;
    node::make_func_expr(funcid, rettype, &args, coll)
}

pub(super) fn make_func(funcid: Oid, rettype: Oid, args: &[impl IntoNode + Copy]) -> PgResult<Node> {
    make_func_coll(funcid, rettype, args, 0)
}
