//! PostgreSQL expression nodes the front end builds: the node's target list (avg's division,
//! char(n) padding, numeric read from text), a COALESCE as the CASE it stands for, and Vars over
//! the node's scan tuple.

use std::ffi::c_void;

use super::types::Oid;
use crate::pg::catalog;
use crate::pg::error::{guard, PgResult};
use crate::pg::nodes::{self, list};
use crate::pg::sys;

/// A new searched `CASE WHEN c1 THEN r1 ... ELSE default END` of type `typid` and collation
/// `coll` (`default` a node, never null: PostgreSQL's parser always sets one).
pub(super) fn make_case(
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
pub(super) fn coalesce_as_case(e: *mut sys::Node) -> PgResult<*mut sys::Node> {
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

/// `sum / count` as PostgreSQL divides for avg: float8 division, else numeric division (the
/// bigint sum of small integers made numeric first).
/// `text::numeric`: PostgreSQL reads the text DataFusion produced (`numeric_in` keeps its
/// display scale).
pub(super) fn numeric_from_text(arg: *mut sys::Node) -> PgResult<*mut sys::Node> {
    let c = nodes::make::<sys::CoerceViaIO>(sys::NodeTag_T_CoerceViaIO)?;
    // SAFETY: a new CoerceViaIO node.
    unsafe {
        (*c).arg = arg as *mut sys::Expr;
        (*c).resulttype = catalog::NUMERICOID;
        (*c).resultcollid = 0;
        (*c).coerceformat = sys::CoercionForm_COERCE_EXPLICIT_CAST;
        (*c).location = -1;
    }
    Ok(c as *mut sys::Node)
}

pub(super) fn avg_of(
    sum: *mut sys::Node,
    count: *mut sys::Node,
    sum_pg: sys::Oid,
) -> PgResult<*mut sys::Node> {
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
pub(super) fn index_var(e: *mut sys::Node) -> Option<usize> {
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

pub(super) fn make_var(attno: usize, typid: Oid, typmod: i32, coll: Oid) -> PgResult<*mut sys::Node> {
    // SAFETY: makeVar allocates.
    guard(|| unsafe { sys::makeVar(sys::INDEX_VAR, attno as i16, typid, typmod, coll, 0) as *mut sys::Node })
}

/// [`make_func`] whose result has collation `coll` (the input's too).
pub(super) fn make_func_coll(
    funcid: Oid,
    rettype: Oid,
    args: &[*mut sys::Node],
    coll: Oid,
) -> PgResult<*mut sys::Node> {
    let f = make_func(funcid, rettype, args)?;
    // SAFETY: the FuncExpr just made.
    unsafe {
        (*(f as *mut sys::FuncExpr)).funccollid = coll;
        (*(f as *mut sys::FuncExpr)).inputcollid = coll;
    }
    Ok(f)
}

pub(super) fn make_func(funcid: Oid, rettype: Oid, args: &[*mut sys::Node]) -> PgResult<*mut sys::Node> {
    let mut l: *mut sys::List = std::ptr::null_mut();
    for a in args {
        l = nodes::append(l, *a as *mut c_void)?;
    }
    // SAFETY: makeFuncExpr allocates.
    guard(|| unsafe {
        sys::makeFuncExpr(funcid, rettype, l, 0, 0, sys::CoercionForm_COERCE_EXPLICIT_CALL) as *mut sys::Node
    })
}
