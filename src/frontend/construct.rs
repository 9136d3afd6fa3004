//! PostgreSQL expression nodes the front end builds: the node's target list (avg's division,
//! char(n) padding, numeric read from text), a COALESCE as the CASE it stands for, and Vars over
//! the node's scan tuple. The nodes themselves are made by `pg::node`.

use super::types::Oid;
use crate::pg::catalog;
use crate::pg::error::PgResult;
use crate::pg::node::{self, Kind, Node};

/// A new searched `CASE WHEN c1 THEN r1 ... ELSE default END` of type `typid` and collation
/// `coll` (`default` a node, never null: PostgreSQL's parser always sets one).
pub(super) fn make_case(typid: Oid, coll: Oid, whens: &[(Node, Node)], default: Node) -> PgResult<Node> {
    node::make_case(typid, coll, whens, default)
}

/// `COALESCE(a1, ..., an)` as the CASE it is, `CASE WHEN a1 IS NOT NULL THEN a1 ... ELSE an
/// END`, for DataFusion and for the numeric CASE rules (a value's display scale is the scale of
/// the argument that gave it). `e` itself when it is no COALESCE, or when an argument is
/// volatile (the CASE evaluates it twice).
pub(super) fn coalesce_as_case(e: Node) -> PgResult<Node> {
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
pub(super) fn numeric_from_text(arg: Node) -> PgResult<Node> {
    node::make_coerce_via_io(arg, catalog::NUMERICOID)
}

/// `sum / count` as PostgreSQL divides for avg: float8 division, else numeric division (the
/// bigint sum of small integers made numeric first).
pub(super) fn avg_of(sum: Node, count: Node, sum_pg: Oid) -> PgResult<Node> {
    let (sum, count) = (sum, count);
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
pub(super) fn index_var(e: Node) -> Option<usize> {
    match e.kind() {
        Kind::Var(v) if v.is_index_var() => usize::try_from(v.varattno()).ok()?.checked_sub(1),
        _ => None,
    }
}

pub(super) fn make_var(attno: usize, typid: Oid, typmod: i32, coll: Oid) -> PgResult<Node> {
    node::make_index_var(attno, typid, typmod, coll)
}

/// [`make_func`] whose result has collation `coll` (the input's too).
pub(super) fn make_func_coll(funcid: Oid, rettype: Oid, args: &[Node], coll: Oid) -> PgResult<Node> {
    node::make_func_expr(funcid, rettype, args, coll)
}

pub(super) fn make_func(funcid: Oid, rettype: Oid, args: &[Node]) -> PgResult<Node> {
    make_func_coll(funcid, rettype, args, 0)
}
