//! Correlated subqueries in WHERE turned into a grouped subquery in FROM joined on the correlation
//! keys. A scalar subquery compared with a value (TPC-H Q17):
//!
//! ```text
//! WHERE x < (SELECT 0.2 * avg(l.q) FROM l WHERE l.k = p.k AND <local>)
//!   =>  FROM ..., (SELECT l.k, 0.2 * avg(l.q) FROM l WHERE <local> GROUP BY l.k) s
//!       WHERE x < s.value AND p.k = s.k
//! ```
//!
//! Rules (only where the rows cannot change):
//! - The comparison is a top-level AND term of the query's WHERE and a strict built-in operator,
//!   so a NULL subquery value drops the row: a key without inner rows (no group, so no join
//!   partner) drops it too.
//! - The subquery is a plain aggregate without GROUP BY/HAVING/DISTINCT/ORDER BY/LIMIT/window
//!   functions/set operations/nested subqueries: exactly one row per outer row, so no 21000.
//! - Its value is NULL over no rows: every aggregate is sum/avg/min/max and everything above them
//!   is strict (never count, COALESCE, CASE).
//! - It refers to the outer query only through `inner = outer.column` terms of its WHERE, with
//!   the inner type's default equality (the grouping equality), and nowhere else.
//! - Works on our copy of the Query; the new subquery's columns are named `key1..`, `value`.
//!
//! Without correlation the subquery is a block of exactly one row (an aggregate without GROUP BY)
//! joined to every row, so DataFusion computes it too.
//!
//! `[NOT] EXISTS` correlated (by the same kind of equalities) to several relations of the query
//! becomes a semi join (the subquery's distinct keys joined to the outer rows) or an anti join (a
//! left join to them, the key NULL: a matching key never is). So does one correlated to a single
//! relation, unless an index of the inner table leads with an inner key column: then it stays in
//! that relation's scan, where PostgreSQL probes the index per row (TPC-H Q4; without the index
//! PostgreSQL would hash the whole inner table in one leader-only scan, Q22). One with an `inner
//! <> outer` term (TPC-H Q21) is joined in any case: the groups also carry `min(inner)` and
//! `max(inner)`, and some row of the group differs from the outer value exactly when `min <> outer OR max <> outer` (for
//! integers, numeric and date, whose `<>` negates the equality min/max order by; NULL when the
//! outer value or every inner one is NULL, as no row qualifies then). NOT EXISTS keeps the outer
//! row when there is no group, either of those is NULL, or neither differs.
//!
//! `x IN (uncorrelated subquery)` whose subquery nests subqueries or groups becomes a semi join
//! too (its distinct values joined to the outer rows), so DataFusion runs it and the nested
//! subqueries get decorrelated in their turn (TPC-H Q18, Q20); see [`rewrite_in`].
//!
//! `x NOT IN (uncorrelated subquery)` where neither side can be NULL (NOT NULL columns of tables
//! no outer join null-extends) becomes an anti join (TPC-H Q16); see [`rewrite_not_in`].

use std::ffi::c_void;

use crate::pg::catalog;
use crate::pg::error::{guard, PgError, PgResult};
use crate::pg::nodes::{self, list};
use crate::pg::sys;

fn is_builtin(oid: sys::Oid) -> bool {
    oid != 0 && oid < catalog::FirstGenbkiObjectId
}

/// A SELECT without window functions, set-returning functions, set operations, WITH, grouping
/// sets, LIMIT/OFFSET or row locks.
fn simple_select(s: &sys::Query) -> bool {
    s.commandType == sys::CmdType_CMD_SELECT
        && s.utilityStmt.is_null()
        && !s.hasWindowFuncs
        && !s.hasTargetSRFs
        && !s.hasForUpdate
        && s.setOperations.is_null()
        && s.cteList.is_null()
        && s.groupingSets.is_null()
        && s.limitCount.is_null()
        && s.limitOffset.is_null()
        && !s.jointree.is_null()
}

/// A [`simple_select`] without grouping, HAVING or subqueries of its own: one block PostgreSQL
/// evaluates per outer row.
fn plain_select(s: &sys::Query) -> bool {
    simple_select(s) && !s.hasSubLinks && s.groupClause.is_null() && s.havingQual.is_null()
}

fn has_level(e: *mut sys::Node, level: i32) -> PgResult<bool> {
    // SAFETY: a valid expression or Query node.
    guard(|| unsafe { sys::contain_vars_of_level(e, level) })
}

/// A type's default ordering and equality operators, as GROUP BY uses them: (`<`, `=`,
/// hashable); None when the type has either missing. The type cache answers as
/// `get_sort_group_operators` does, without raising for a type that has none.
fn grouping_ops(typ: sys::Oid) -> PgResult<Option<(sys::Oid, sys::Oid, bool)>> {
    let flags = (sys::TYPECACHE_LT_OPR | sys::TYPECACHE_EQ_OPR | sys::TYPECACHE_HASH_PROC) as i32;
    // SAFETY: a type cache lookup (an unknown type OID raises, passed up).
    let entry = guard(|| unsafe { sys::lookup_type_cache(typ, flags) })?;
    // SAFETY: the cache entry lives as long as the backend's type cache.
    let (lt, eq, hash) = unsafe { ((*entry).lt_opr, (*entry).eq_opr, (*entry).hash_proc) };
    Ok((lt != 0 && eq != 0).then_some((lt, eq, hash != 0)))
}

/// A GROUP BY entry for target entries with `ressortgroupref` `sortgroupref`, by `ops`.
fn group_clause(sortgroupref: u32, (lt, eq, hashable): (sys::Oid, sys::Oid, bool)) -> PgResult<*mut c_void> {
    let sgc: *mut sys::SortGroupClause = nodes::make(sys::NodeTag_T_SortGroupClause)?;
    // SAFETY: just allocated.
    unsafe {
        (*sgc).tleSortGroupRef = sortgroupref;
        (*sgc).eqop = eq;
        (*sgc).sortop = lt;
        (*sgc).nulls_first = false;
        (*sgc).hashable = hashable;
    }
    Ok(sgc as *mut c_void)
}

/// Append `sub` to `q`'s range table as a subquery in FROM named `pg_fusion_subquery` with
/// columns `colnames`; its range-table index.
///
/// # Safety
/// `q` is our copy of a valid Query; `sub` a valid Query one level below it.
unsafe fn add_subquery_rte(
    q: *mut sys::Query,
    sub: *mut sys::Query,
    colnames: *mut sys::List,
) -> PgResult<i32> {
    // SAFETY: per the contract; every allocation is guarded.
    unsafe {
        let rte: *mut sys::RangeTblEntry = nodes::make(sys::NodeTag_T_RangeTblEntry)?;
        (*rte).rtekind = sys::RTEKind_RTE_SUBQUERY;
        (*rte).subquery = sub;
        (*rte).inFromCl = true;
        let alias = std::ffi::CString::new("pg_fusion_subquery").unwrap_or_default();
        let alias_p = alias.as_ptr();
        (*rte).eref = guard(|| sys::makeAlias(alias_p, colnames))?;
        (*q).rtable = nodes::append((*q).rtable, rte as *mut c_void)?;
        Ok(list::<sys::RangeTblEntry>((*q).rtable).len() as i32)
    }
}

/// NULL whenever it is computed over no rows (see the module rules).
fn null_on_empty(e: *mut sys::Node) -> PgResult<bool> {
    nodes::check_stack_depth()?;
    // SAFETY: a node of the subquery's target list.
    unsafe {
        Ok(match nodes::tag(e) {
            sys::NodeTag_T_Aggref => {
                let a = &*(e as *mut sys::Aggref);
                let name = guard(|| crate::pg::nodes::cstr(sys::get_func_name(a.aggfnoid)))?;
                is_builtin(a.aggfnoid)
                    && a.aggfilter.is_null()
                    && a.agglevelsup == 0
                    && ["sum", "avg", "min", "max"].contains(&name.as_str())
            }
            sys::NodeTag_T_OpExpr | sys::NodeTag_T_FuncExpr => {
                let Some((funcid, args)) = nodes::call(e) else { return Ok(false) };
                let args: Vec<*mut sys::Node> = list(args);
                // Strict, and at least one argument NULL over no rows (the others constant).
                if !is_builtin(funcid) || !guard(|| sys::func_strict(funcid))? {
                    return Ok(false);
                }
                let mut some_null = false;
                for &a in &args {
                    let null = null_on_empty(a)?;
                    if !null && nodes::tag(a) != sys::NodeTag_T_Const {
                        return Ok(false);
                    }
                    some_null |= null;
                }
                some_null
            }
            sys::NodeTag_T_RelabelType => {
                null_on_empty((*(e as *mut sys::RelabelType)).arg as *mut sys::Node)?
            }
            _ => false,
        })
    }
}

/// An operator with two arguments: (the OpExpr, left, right).
fn binary_op(term: *mut sys::Node) -> Option<(&'static sys::OpExpr, *mut sys::Node, *mut sys::Node)> {
    // SAFETY: a valid expression node; an OpExpr's args are expressions. The reference lives as
    // long as the query copy, which outlives the rewrite.
    unsafe {
        if nodes::tag(term) != sys::NodeTag_T_OpExpr {
            return None;
        }
        let o = &*(term as *mut sys::OpExpr);
        match list::<sys::Node>(o.args).as_slice() {
            [a, b] => Some((o, *a, *b)),
            _ => None,
        }
    }
}

/// A term `inner op outer` (either order) whose one side is a Var of the outer query and whose
/// other side does not refer to it and is not volatile, both of one type: (the operator, inner
/// expression, outer Var at level 1, the type).
fn inner_op_outer(
    term: *mut sys::Node,
) -> PgResult<Option<(&'static sys::OpExpr, *mut sys::Node, *mut sys::Var, sys::Oid)>> {
    // SAFETY: a qual of the subquery.
    unsafe {
        let Some((o, a, b)) = binary_op(term) else { return Ok(None) };
        let outer_var = |n: *mut sys::Node| {
            nodes::tag(n) == sys::NodeTag_T_Var && (*(n as *mut sys::Var)).varlevelsup == 1
        };
        let (inner, outer) = match (outer_var(a), outer_var(b)) {
            (false, true) => (a, b as *mut sys::Var),
            (true, false) => (b, a as *mut sys::Var),
            _ => return Ok(None),
        };
        if has_level(inner, 1)? || guard(|| sys::contain_volatile_functions(inner))? {
            return Ok(None);
        }
        let typ = guard(|| sys::exprType(inner))?;
        if typ != (*outer).vartype {
            return Ok(None);
        }
        Ok(Some((o, inner, outer, typ)))
    }
}

/// A correlation term `inner = outer` (either order): (inner expression, outer Var at level 1).
fn correlation(term: *mut sys::Node) -> PgResult<Option<(*mut sys::Node, *mut sys::Var, sys::Oid)>> {
    let Some((o, inner, outer, typ)) = inner_op_outer(term)? else { return Ok(None) };
    // The type's default equality: grouping by `inner` puts exactly the rows with
    // `inner = outer` in the outer value's group.
    if grouping_ops(typ)?.is_none_or(|(_, eq, _)| o.opno != eq) {
        return Ok(None);
    }
    Ok(Some((inner, outer, o.opno)))
}

/// A correlation term with what it correlates: (the term, (inner expression, outer Var, equality)).
type Key = (*mut sys::Node, (*mut sys::Node, *mut sys::Var, sys::Oid));

/// Add to `q`'s range table the subquery `subselect` (a copy) with WHERE `local` only, grouped by
/// the inner side of `keys` (its columns `key1..`), then `values` (aggregates over the group:
/// `value`, `value2`, ..); its range-table index,
/// or None when the subquery still refers to the outer query elsewhere.
///
/// # Safety
/// `q` is our copy of a valid Query, `subselect` a valid Query one level below it.
unsafe fn add_grouped(
    q: *mut sys::Query,
    subselect: *mut sys::Query,
    local: &[*mut sys::Node],
    keys: &[Key],
    values: &[*mut sys::Node],
) -> PgResult<Option<i32>> {
    // SAFETY: per the contract; every allocation is guarded.
    unsafe {
        let sub = nodes::copy(subselect)?;
        (*(*sub).jointree).quals = and_of(local)?;
        let mut tlist: *mut sys::List = std::ptr::null_mut();
        let mut group: *mut sys::List = std::ptr::null_mut();
        let mut colnames: *mut sys::List = std::ptr::null_mut();
        for (i, (_, (inner, _, eq))) in keys.iter().enumerate() {
            let n = (i + 1) as i16;
            let name = std::ffi::CString::new(format!("key{n}")).unwrap_or_default();
            let name_p = name.as_ptr();
            let entry =
                guard(|| sys::makeTargetEntry(*inner as *mut sys::Expr, n, sys::pstrdup(name_p), false))?;
            (*entry).ressortgroupref = n as u32;
            tlist = nodes::append(tlist, entry as *mut c_void)?;
            let typ = guard(|| sys::exprType(*inner))?;
            let (lt, _, hashable) = grouping_ops(typ)?
                .ok_or_else(|| PgError::internal("correlation key without grouping operators"))?;
            group = nodes::append(group, group_clause(n as u32, (lt, *eq, hashable))?)?;
            colnames = nodes::append(colnames, nodes::string_node(&format!("key{n}"))? as *mut c_void)?;
        }
        for (i, &value) in values.iter().enumerate() {
            let vn = (keys.len() + 1 + i) as i16;
            let entry =
                guard(|| sys::makeTargetEntry(value as *mut sys::Expr, vn, std::ptr::null_mut(), false))?;
            tlist = nodes::append(tlist, entry as *mut c_void)?;
            let name = if i == 0 { "value".to_string() } else { format!("value{}", i + 1) };
            colnames = nodes::append(colnames, nodes::string_node(&name)? as *mut c_void)?;
        }
        (*sub).hasAggs = (*sub).hasAggs || !values.is_empty();
        (*sub).targetList = tlist;
        (*sub).groupClause = group;
        (*sub).sortClause = std::ptr::null_mut();
        (*sub).distinctClause = std::ptr::null_mut();
        // Nothing else may refer to the outer query.
        if has_level(sub as *mut sys::Node, 1)? {
            return Ok(None);
        }
        Ok(Some(add_subquery_rte(q, sub, colnames)?))
    }
}

/// The join terms `outer = keyN` for the keys of subquery `rti`.
///
/// # Safety
/// As [`add_grouped`]; `keys` from [`correlation`].
unsafe fn key_terms(rti: i32, keys: &[Key]) -> PgResult<Vec<*mut sys::Node>> {
    let mut out = Vec::new();
    for (i, (t, (inner, outer, _))) in keys.iter().enumerate() {
        let outer_here = nodes::copy(*outer)?;
        // SAFETY: our copy of the outer Var, now at the query's own level.
        unsafe { (*outer_here).varlevelsup = 0 };
        let key = make_var(rti, (i + 1) as i16, *inner)?;
        out.push(op_like(*t, outer_here as *mut sys::Node, key)?);
    }
    Ok(out)
}

/// `[NOT] EXISTS (SELECT .. FROM .. WHERE inner = outer.a AND inner2 = outer2.b AND <local>)`
/// correlated to several relations of `q` (one relation's runs in its scan): the subquery's
/// distinct keys joined to the outer rows (a semi join), or left-joined with the key NULL (an
/// anti join: a matching key is never NULL). Returns the terms replacing `term`, and for NOT
/// EXISTS wraps `q`'s FROM list in the left join.
fn rewrite_exists(q: *mut sys::Query, term: *mut sys::Node) -> PgResult<Option<Vec<*mut sys::Node>>> {
    // SAFETY: our copy of the query and its nodes; every allocation is guarded.
    unsafe {
        let (sublink, negated) = match nodes::tag(term) {
            sys::NodeTag_T_SubLink => (term as *mut sys::SubLink, false),
            sys::NodeTag_T_BoolExpr
                if (*(term as *mut sys::BoolExpr)).boolop == sys::BoolExprType_NOT_EXPR =>
            {
                match list::<sys::Node>((*(term as *mut sys::BoolExpr)).args).as_slice() {
                    [a] if nodes::tag(*a) == sys::NodeTag_T_SubLink => (*a as *mut sys::SubLink, true),
                    _ => return Ok(None),
                }
            }
            _ => return Ok(None),
        };
        if (*sublink).subLinkType != sys::SubLinkType_EXISTS_SUBLINK {
            return Ok(None);
        }
        let s = &*((*sublink).subselect as *mut sys::Query);
        if !plain_select(s) || s.hasAggs {
            return Ok(None);
        }
        // At most one `inner <> outer` term besides the equalities (TPC-H Q21).
        let mut unequal = None;
        let mut rest = Vec::new();
        for t in conjuncts_of((*s.jointree).quals) {
            match inequality(t)? {
                Some(u) if unequal.is_none() => unequal = Some(u),
                _ => rest.push(t),
            }
        }
        let Some((keys, local)) = split_where(and_of(&rest)?)? else { return Ok(None) };
        // Correlated to one relation by equalities only, over an inner key some index leads
        // with: PostgreSQL runs it in that relation's scan (probing the index per row; TPC-H
        // Q4). Without such an index it would hash the whole inner relation inside one
        // leader-only scan: DataFusion joins it, its relations read by parallel producers (Q22).
        let mut varnos: Vec<i32> = keys.iter().map(|(_, (_, v, _))| (**v).varno).collect();
        varnos.sort_unstable();
        varnos.dedup();
        if keys.is_empty() {
            return Ok(None);
        }
        if varnos.len() < 2 && unequal.is_none() {
            for (_, (inner, _, _)) in &keys {
                if index_leads_with(s, *inner)? {
                    return Ok(None);
                }
            }
        }
        let values = match &unequal {
            Some(u) => vec![aggregate(u.min, u.inner)?, aggregate(u.max, u.inner)?],
            None => Vec::new(),
        };
        let Some(rti) = add_grouped(q, (*sublink).subselect as *mut sys::Query, &local, &keys, &values)?
        else {
            return Ok(None);
        };
        let rtr: *mut sys::RangeTblRef = nodes::make(sys::NodeTag_T_RangeTblRef)?;
        (*rtr).rtindex = rti;
        let from = (*q).jointree;
        let mut terms = key_terms(rti, &keys)?;
        // Some inner value differs from the outer one: the group's min or max does (NULL when
        // the outer value or every inner one is NULL: no row, as EXISTS has none then).
        let mut differs = std::ptr::null_mut();
        let mut outer_value = std::ptr::null_mut();
        if let Some(u) = &unequal {
            let outer = nodes::copy(u.outer)?;
            (*outer).varlevelsup = 0;
            outer_value = outer as *mut sys::Node;
            let n = keys.len() as i16;
            let (mn, mx) = (make_var(rti, n + 1, u.inner)?, make_var(rti, n + 2, u.inner)?);
            let (v1, v2) = (nodes::copy(outer_value)?, nodes::copy(outer_value)?);
            differs = or_of(&[op_like(u.term, mn, v1)?, op_like(u.term, mx, v2)?])?;
        }
        if !negated {
            (*from).fromlist = nodes::append((*from).fromlist, rtr as *mut c_void)?;
            if !differs.is_null() {
                terms.push(differs);
            }
            return Ok(Some(terms));
        }
        // FROM (<the FROM list> LEFT JOIN subquery ON keys) WHERE key1 IS NULL.
        left_join_from(from, rtr, and_of(&terms)?)?;
        let no_match = is_null(make_var(rti, 1, keys[0].1 .0)?)?;
        if differs.is_null() {
            return Ok(Some(vec![no_match]));
        }
        // No group; or no inner value can differ (the outer value NULL, every inner one NULL);
        // or none does.
        let u = unequal.as_ref().ok_or_else(|| PgError::internal("inequality lost"))?;
        let args = nodes::append(std::ptr::null_mut(), differs as *mut c_void)?;
        let none_differs =
            guard(|| sys::makeBoolExpr(sys::BoolExprType_NOT_EXPR, args, -1) as *mut sys::Node)?;
        let mn = make_var(rti, keys.len() as i16 + 1, u.inner)?;
        let outer_null = is_null(nodes::copy(outer_value)?)?;
        Ok(Some(vec![or_of(&[no_match, outer_null, is_null(mn)?, none_differs])?]))
    }
}

/// Make `from`'s FROM list `(<the FROM list> LEFT JOIN rtr ON quals)`.
///
/// # Safety
/// `from` is the FromExpr of our copy of a valid Query, `rtr` a reference to an entry of its
/// range table, `quals` an expression over both.
unsafe fn left_join_from(
    from: *mut sys::FromExpr,
    rtr: *mut sys::RangeTblRef,
    quals: *mut sys::Node,
) -> PgResult<()> {
    // SAFETY: per the contract; every allocation is guarded.
    unsafe {
        let left: *mut sys::FromExpr = nodes::make(sys::NodeTag_T_FromExpr)?;
        (*left).fromlist = (*from).fromlist;
        let join: *mut sys::JoinExpr = nodes::make(sys::NodeTag_T_JoinExpr)?;
        (*join).jointype = sys::JoinType_JOIN_LEFT;
        (*join).larg = left as *mut sys::Node;
        (*join).rarg = rtr as *mut sys::Node;
        (*join).quals = quals;
        (*from).fromlist = nodes::append(std::ptr::null_mut(), join as *mut c_void)?;
        Ok(())
    }
}

/// Is `e` a column of a table of `s` that some index of the table has as its first key column?
fn index_leads_with(s: &sys::Query, e: *mut sys::Node) -> PgResult<bool> {
    // SAFETY: `e` is a valid expression of `s`; the table is locked since parse analysis.
    unsafe {
        if nodes::tag(e) != sys::NodeTag_T_Var {
            return Ok(false);
        }
        let v = &*(e as *mut sys::Var);
        let rte = list::<sys::RangeTblEntry>(s.rtable).get((v.varno as usize).wrapping_sub(1)).copied();
        let Some(rte) = rte else { return Ok(false) };
        if v.varlevelsup != 0 || v.varattno <= 0 || (*rte).rtekind != sys::RTEKind_RTE_RELATION {
            return Ok(false);
        }
        let (relid, attno) = ((*rte).relid, v.varattno);
        // One guarded call: nothing of ours is live while PostgreSQL may raise.
        guard(|| {
            let rel = sys::table_open(relid, sys::NoLock as i32);
            let indexes = sys::RelationGetIndexList(rel);
            let mut found = false;
            for i in 0..sys::pgf_list_length(indexes) {
                let index = sys::index_open(sys::pgf_list_nth_oid(indexes, i), sys::AccessShareLock as i32);
                let form = (*index).rd_index;
                if !form.is_null() && (*form).indnkeyatts > 0 && (*form).indisvalid {
                    found |= *(*form).indkey.values.as_ptr() == attno;
                }
                sys::index_close(index, sys::AccessShareLock as i32);
            }
            sys::table_close(rel, sys::NoLock as i32);
            found
        })
    }
}

/// A correlation term `inner <> outer` (either order) over a type whose `<>` is the negation of
/// its grouping equality and whose min/max aggregates order by the same operator class.
struct Inequality {
    term: *mut sys::Node,
    inner: *mut sys::Node,
    outer: *mut sys::Var,
    /// The type's min and max aggregates.
    min: sys::Oid,
    max: sys::Oid,
}

fn inequality(term: *mut sys::Node) -> PgResult<Option<Inequality>> {
    // SAFETY: a catalog lookup (the negator of an operator OID), guarded.
    unsafe {
        let Some((o, inner, outer, typ)) = inner_op_outer(term)? else { return Ok(None) };
        let (min, max) = match typ {
            catalog::INT2OID => (catalog::F_MIN_INT2, catalog::F_MAX_INT2),
            catalog::INT4OID => (catalog::F_MIN_INT4, catalog::F_MAX_INT4),
            catalog::INT8OID => (catalog::F_MIN_INT8, catalog::F_MAX_INT8),
            catalog::NUMERICOID => (catalog::F_MIN_NUMERIC, catalog::F_MAX_NUMERIC),
            catalog::DATEOID => (catalog::F_MIN_DATE, catalog::F_MAX_DATE),
            _ => return Ok(None),
        };
        let Some((_, eq, _)) = grouping_ops(typ)? else { return Ok(None) };
        if guard(|| sys::get_negator(eq))? != o.opno {
            return Ok(None);
        }
        Ok(Some(Inequality { term, inner, outer, min, max }))
    }
}

/// The built-in aggregate `func` (min or max) over `arg`.
fn aggregate(func: sys::Oid, arg: *mut sys::Node) -> PgResult<*mut sys::Node> {
    let a: *mut sys::Aggref = nodes::make(sys::NodeTag_T_Aggref)?;
    // SAFETY: just allocated; type lookups on a valid expression; allocations guarded.
    unsafe {
        let typ = guard(|| sys::exprType(arg))?;
        let coll = guard(|| sys::exprCollation(arg))?;
        let arg = nodes::copy(arg)?;
        let tle = guard(|| sys::makeTargetEntry(arg as *mut sys::Expr, 1, std::ptr::null_mut(), false))?;
        (*a).aggfnoid = func;
        (*a).aggtype = typ;
        (*a).aggcollid = coll;
        (*a).inputcollid = coll;
        (*a).aggargtypes = guard(|| sys::lappend_oid(std::ptr::null_mut(), typ))?;
        (*a).args = nodes::append(std::ptr::null_mut(), tle as *mut c_void)?;
        (*a).aggkind = b'n' as std::ffi::c_char;
        (*a).aggsplit = sys::AggSplit_AGGSPLIT_SIMPLE;
        (*a).aggno = -1;
        (*a).aggtransno = -1;
        (*a).location = -1;
    }
    Ok(a as *mut sys::Node)
}

fn is_null(e: *mut sys::Node) -> PgResult<*mut sys::Node> {
    let test: *mut sys::NullTest = nodes::make(sys::NodeTag_T_NullTest)?;
    // SAFETY: just allocated.
    unsafe {
        (*test).arg = e as *mut sys::Expr;
        (*test).nulltesttype = sys::NullTestType_IS_NULL;
        (*test).location = -1;
    }
    Ok(test as *mut sys::Node)
}

fn or_of(terms: &[*mut sys::Node]) -> PgResult<*mut sys::Node> {
    let mut args: *mut sys::List = std::ptr::null_mut();
    for &t in terms {
        args = nodes::append(args, t as *mut c_void)?;
    }
    // SAFETY: makeBoolExpr allocates an OR over the list.
    guard(|| unsafe { sys::makeBoolExpr(sys::BoolExprType_OR_EXPR, args, -1) as *mut sys::Node })
}

/// The parts of an uncorrelated one-column `x IN (SELECT y ...)`.
struct InSubquery {
    /// `x`, a column of this query (no volatile functions or subqueries to move).
    outer: *mut sys::Node,
    /// The subquery's one visible target entry, and its expression `y`.
    tle: *mut sys::TargetEntry,
    inner: *mut sys::Node,
    /// `y`'s type's grouping operators; the IN operator is their equality.
    ops: (sys::Oid, sys::Oid, bool),
}

/// `sublink` as an [`InSubquery`]: `x op $1` with `x` a column of this query, `$1` the
/// subquery's first and only visible column `y` of the same type, `op` that type's default
/// equality (the one grouping uses), and nothing in the subquery referring to this query.
///
/// # Safety
/// `sublink` is a valid SubLink of our copy of the query.
unsafe fn in_subquery(sublink: *mut sys::SubLink) -> PgResult<Option<InSubquery>> {
    // SAFETY: per the contract.
    unsafe {
        if (*sublink).subLinkType != sys::SubLinkType_ANY_SUBLINK || (*sublink).testexpr.is_null() {
            return Ok(None);
        }
        // One column: `outer op $1` where $1 is the subquery's first column.
        let Some((o, outer, param)) = binary_op((*sublink).testexpr) else { return Ok(None) };
        if nodes::tag(param) != sys::NodeTag_T_Param {
            return Ok(None);
        }
        let p = &*(param as *mut sys::Param);
        if p.paramkind != sys::ParamKind_PARAM_SUBLINK || p.paramid != 1 {
            return Ok(None);
        }
        if nodes::tag(outer) != sys::NodeTag_T_Var || (*(outer as *mut sys::Var)).varlevelsup != 0 {
            return Ok(None);
        }
        // Uncorrelated: nothing in it refers to this query.
        if has_level((*sublink).subselect, 1)? {
            return Ok(None);
        }
        let s = &*((*sublink).subselect as *mut sys::Query);
        let tles: Vec<*mut sys::TargetEntry> = list(s.targetList);
        let visible: Vec<*mut sys::TargetEntry> = tles.iter().copied().filter(|&t| !(*t).resjunk).collect();
        let [tle] = visible.as_slice() else { return Ok(None) };
        if (**tle).resno != 1 {
            return Ok(None);
        }
        let inner = (**tle).expr as *mut sys::Node;
        let typ = guard(|| sys::exprType(inner))?;
        if typ != guard(|| sys::exprType(outer))? || p.paramtype != typ {
            return Ok(None);
        }
        let Some(ops) = grouping_ops(typ)?.filter(|&(_, eq, _)| o.opno == eq) else { return Ok(None) };
        Ok(Some(InSubquery { outer, tle: *tle, inner, ops }))
    }
}

/// `x IN (SELECT y FROM ...)` (a top-level AND term: NULL and false both drop the row) whose
/// subquery is uncorrelated and has work of its own PostgreSQL would do in one process inside
/// the outer relation's scan (nested subqueries, which it may run per row, or grouping): the
/// subquery's distinct `y` values joined to the outer rows on `x = y` (a semi join). Distinct
/// because either the subquery is grouped by exactly `y` or it becomes so (a plain SELECT of
/// `y`); the IN operator must be `y`'s type's default equality, the one grouping uses, so each
/// outer row meets at most one group and exactly when IN is true. Returns the replacing terms.
fn rewrite_in(q: *mut sys::Query, term: *mut sys::Node) -> PgResult<Option<Vec<*mut sys::Node>>> {
    // SAFETY: our copy of the query and its nodes; every allocation is guarded.
    unsafe {
        if nodes::tag(term) != sys::NodeTag_T_SubLink {
            return Ok(None);
        }
        let sublink = term as *mut sys::SubLink;
        let Some(InSubquery { outer, tle, inner, ops }) = in_subquery(sublink)? else { return Ok(None) };
        let eq = ops.1;
        let s = &*((*sublink).subselect as *mut sys::Query);
        let grouped = !s.groupClause.is_null();
        let shape_ok = simple_select(s)
            && !s.hasDistinctOn
            && s.distinctClause.is_null()
            && (grouped || (!s.hasAggs && s.havingQual.is_null()));
        if !shape_ok || !(s.hasSubLinks || grouped) {
            return Ok(None);
        }
        let sub = nodes::copy((*sublink).subselect as *mut sys::Query)?;
        (*sub).sortClause = std::ptr::null_mut();
        if grouped {
            // Grouped by exactly `y`, with `y`'s default equality: one row per distinct value.
            let groups: Vec<*mut sys::SortGroupClause> = list((*sub).groupClause);
            let [g] = groups.as_slice() else { return Ok(None) };
            let g = *g;
            if (*tle).ressortgroupref == 0
                || (*g).tleSortGroupRef != (*tle).ressortgroupref
                || (*g).eqop != eq
            {
                return Ok(None);
            }
        } else {
            let entry: *mut sys::TargetEntry = list::<sys::TargetEntry>((*sub).targetList)[0];
            (*entry).ressortgroupref = 1;
            (*sub).groupClause = nodes::append(std::ptr::null_mut(), group_clause(1, ops)?)?;
        }
        // Only the one column leaves the subquery (junk sort columns are gone with ORDER BY).
        let first = list::<sys::TargetEntry>((*sub).targetList)[0];
        (*sub).targetList = nodes::append(std::ptr::null_mut(), first as *mut c_void)?;
        let colnames = nodes::append(std::ptr::null_mut(), nodes::string_node("key1")? as *mut c_void)?;
        let rti = add_subquery_rte(q, sub, colnames)?;
        let rtr: *mut sys::RangeTblRef = nodes::make(sys::NodeTag_T_RangeTblRef)?;
        (*rtr).rtindex = rti;
        let from = (*q).jointree;
        (*from).fromlist = nodes::append((*from).fromlist, rtr as *mut c_void)?;
        let key = make_var(rti, 1, inner)?;
        let join = op_like((*sublink).testexpr, nodes::copy(outer)?, key)?;
        Ok(Some(vec![join]))
    }
}

/// Whether `e` is never NULL in the rows of a query with range table `rtable` and join tree
/// `from`: a NOT NULL column of a table that no outer join null-extends.
///
/// # Safety
/// `e` is a valid expression of that query, `from` its join tree.
unsafe fn never_null(rtable: *mut sys::List, from: *mut sys::Node, e: *mut sys::Node) -> PgResult<bool> {
    // SAFETY: per the contract.
    unsafe {
        if nodes::tag(e) != sys::NodeTag_T_Var {
            return Ok(false);
        }
        let v = &*(e as *mut sys::Var);
        let rte = list::<sys::RangeTblEntry>(rtable).get((v.varno as usize).wrapping_sub(1)).copied();
        let Some(rte) = rte else { return Ok(false) };
        if v.varlevelsup != 0 || v.varattno <= 0 || (*rte).rtekind != sys::RTEKind_RTE_RELATION {
            return Ok(false);
        }
        if !never_null_extended(from, v.varno) {
            return Ok(false);
        }
        let (relid, attno) = ((*rte).relid, v.varattno);
        guard(|| sys::pgf_attnotnull(relid, attno))
    }
}

/// Whether range-table entry `rti` is an item of join tree node `n` on a side no outer join
/// null-extends (either side of an inner join, the preserved side of a left or right join).
///
/// # Safety
/// `n` is a valid join tree node (or NULL).
unsafe fn never_null_extended(n: *mut sys::Node, rti: i32) -> bool {
    if n.is_null() {
        return false;
    }
    // SAFETY: per the contract; each child is a join tree node too.
    unsafe {
        match nodes::tag(n) {
            sys::NodeTag_T_RangeTblRef => (*(n as *mut sys::RangeTblRef)).rtindex == rti,
            sys::NodeTag_T_FromExpr => list::<sys::Node>((*(n as *mut sys::FromExpr)).fromlist)
                .into_iter()
                .any(|c| never_null_extended(c, rti)),
            sys::NodeTag_T_JoinExpr => {
                let j = &*(n as *mut sys::JoinExpr);
                match j.jointype {
                    sys::JoinType_JOIN_INNER => {
                        never_null_extended(j.larg, rti) || never_null_extended(j.rarg, rti)
                    }
                    sys::JoinType_JOIN_LEFT => never_null_extended(j.larg, rti),
                    sys::JoinType_JOIN_RIGHT => never_null_extended(j.rarg, rti),
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

/// `x NOT IN (SELECT y FROM ...)` (a top-level AND term), uncorrelated, where neither `x` nor any
/// `y` can be NULL ([`never_null`]): NOT IN is then just "no `y` equals `x`", an anti join --
/// `FROM (<FROM list> LEFT JOIN (SELECT y FROM ... GROUP BY y) ON x = key1) WHERE key1 IS NULL`
/// (a matching key is never NULL). The IN operator must be the type's default equality, the one
/// grouping uses. PostgreSQL would run the subquery as a hashed subplan inside `x`'s scan, which
/// keeps that scan in one process (TPC-H Q16); DataFusion joins it over parallel scans. Where a
/// NULL is possible, NOT IN's three-valued rules stay with PostgreSQL, in the scan.
fn rewrite_not_in(q: *mut sys::Query, term: *mut sys::Node) -> PgResult<Option<Vec<*mut sys::Node>>> {
    // SAFETY: our copy of the query and its nodes; every allocation is guarded.
    unsafe {
        if nodes::tag(term) != sys::NodeTag_T_BoolExpr
            || (*(term as *mut sys::BoolExpr)).boolop != sys::BoolExprType_NOT_EXPR
        {
            return Ok(None);
        }
        let sublink = match list::<sys::Node>((*(term as *mut sys::BoolExpr)).args).as_slice() {
            [a] if nodes::tag(*a) == sys::NodeTag_T_SubLink => *a as *mut sys::SubLink,
            _ => return Ok(None),
        };
        let Some(InSubquery { outer, inner, ops, .. }) = in_subquery(sublink)? else { return Ok(None) };
        let subselect = (*sublink).subselect as *mut sys::Query;
        // A plain SELECT (DISTINCT over its one column keeps the same values; DISTINCT ON may
        // not), without aggregates: its values are its rows' `y`.
        let s = &*subselect;
        if !simple_select(s)
            || s.hasAggs
            || s.hasDistinctOn
            || !s.groupClause.is_null()
            || !s.havingQual.is_null()
        {
            return Ok(None);
        }
        if !never_null((*q).rtable, (*q).jointree as *mut sys::Node, outer)?
            || !never_null(s.rtable, s.jointree as *mut sys::Node, inner)?
        {
            return Ok(None);
        }
        // SELECT y FROM ... GROUP BY y: one row per distinct value.
        let sub = nodes::copy(subselect)?;
        (*sub).sortClause = std::ptr::null_mut();
        (*sub).distinctClause = std::ptr::null_mut();
        let first = list::<sys::TargetEntry>((*sub).targetList)[0];
        (*first).ressortgroupref = 1;
        (*sub).targetList = nodes::append(std::ptr::null_mut(), first as *mut c_void)?;
        (*sub).groupClause = nodes::append(std::ptr::null_mut(), group_clause(1, ops)?)?;
        let colnames = nodes::append(std::ptr::null_mut(), nodes::string_node("key1")? as *mut c_void)?;
        let rti = add_subquery_rte(q, sub, colnames)?;
        let rtr: *mut sys::RangeTblRef = nodes::make(sys::NodeTag_T_RangeTblRef)?;
        (*rtr).rtindex = rti;
        // FROM (<the FROM list> LEFT JOIN subquery ON x = key1) WHERE key1 IS NULL.
        let on = op_like((*sublink).testexpr, nodes::copy(outer)?, make_var(rti, 1, inner)?)?;
        left_join_from((*q).jointree, rtr, on)?;
        Ok(Some(vec![is_null(make_var(rti, 1, inner)?)?]))
    }
}

/// A subquery's WHERE split into correlation terms ([`correlation`]) and terms of its own; None
/// when a term refers to the outer query in any other way.
fn split_where(quals: *mut sys::Node) -> PgResult<Option<(Vec<Key>, Vec<*mut sys::Node>)>> {
    let mut keys: Vec<Key> = Vec::new();
    let mut local = Vec::new();
    for t in conjuncts_of(quals) {
        if !has_level(t, 1)? {
            local.push(t);
            continue;
        }
        match correlation(t)? {
            Some(k) => keys.push((t, k)),
            None => return Ok(None),
        }
    }
    Ok(Some((keys, local)))
}

/// The AND terms of a qual (NULL: none).
fn conjuncts_of(quals: *mut sys::Node) -> Vec<*mut sys::Node> {
    if quals.is_null() {
        return Vec::new();
    }
    // SAFETY: a valid qual expression.
    unsafe {
        if nodes::tag(quals) == sys::NodeTag_T_BoolExpr
            && (*(quals as *mut sys::BoolExpr)).boolop == sys::BoolExprType_AND_EXPR
        {
            list((*(quals as *mut sys::BoolExpr)).args)
        } else {
            vec![quals]
        }
    }
}

fn and_of(terms: &[*mut sys::Node]) -> PgResult<*mut sys::Node> {
    match terms {
        [] => Ok(std::ptr::null_mut()),
        [one] => Ok(*one),
        many => {
            let mut args: *mut sys::List = std::ptr::null_mut();
            for &t in many {
                args = nodes::append(args, t as *mut c_void)?;
            }
            // SAFETY: makeBoolExpr allocates an AND over the list.
            guard(|| unsafe { sys::makeBoolExpr(sys::BoolExprType_AND_EXPR, args, -1) as *mut sys::Node })
        }
    }
}

fn make_var(varno: i32, attno: i16, e: *mut sys::Node) -> PgResult<*mut sys::Node> {
    // SAFETY: type lookups on a valid expression; makeVar allocates.
    guard(|| unsafe {
        sys::makeVar(varno, attno, sys::exprType(e), sys::exprTypmod(e), sys::exprCollation(e), 0)
            as *mut sys::Node
    })
}

/// A binary OpExpr like `template` over new arguments.
fn op_like(template: *mut sys::Node, a: *mut sys::Node, b: *mut sys::Node) -> PgResult<*mut sys::Node> {
    let op = nodes::copy(template as *mut sys::OpExpr)?;
    let mut args: *mut sys::List = std::ptr::null_mut();
    args = nodes::append(args, a as *mut c_void)?;
    args = nodes::append(args, b as *mut c_void)?;
    // SAFETY: our copy.
    unsafe { (*op).args = args };
    Ok(op as *mut sys::Node)
}

/// A term `x op (SELECT <aggregate expression> FROM ..)` (either order) with a built-in boolean
/// operator, the subquery a plain aggregate with one output column.
struct Compared {
    sublink: *mut sys::SubLink,
    /// The subquery is the left operand.
    sub_first: bool,
    /// The other operand.
    other: *mut sys::Node,
    /// The operator's function.
    opfuncid: sys::Oid,
    /// The subquery's output expression (a copy), constants folded (`sum(x) / 10` casts its
    /// integer to numeric).
    value: *mut sys::Node,
}

fn compared_aggregate(term: *mut sys::Node) -> PgResult<Option<Compared>> {
    // SAFETY: our copy of a valid expression; every allocation is guarded.
    unsafe {
        let Some((o, a, b)) = binary_op(term) else { return Ok(None) };
        let is_scalar_sublink = |n: *mut sys::Node| {
            nodes::tag(n) == sys::NodeTag_T_SubLink
                && (*(n as *mut sys::SubLink)).subLinkType == sys::SubLinkType_EXPR_SUBLINK
        };
        let (sublink, sub_first, other) = match (is_scalar_sublink(a), is_scalar_sublink(b)) {
            (true, false) => (a as *mut sys::SubLink, true, b),
            (false, true) => (b as *mut sys::SubLink, false, a),
            _ => return Ok(None),
        };
        if !is_builtin(o.opno) || o.opresulttype != catalog::BOOLOID {
            return Ok(None);
        }
        let s = &*((*sublink).subselect as *mut sys::Query);
        let plain_aggregate =
            plain_select(s) && s.hasAggs && s.distinctClause.is_null() && s.sortClause.is_null();
        if !plain_aggregate {
            return Ok(None);
        }
        let tles: Vec<*mut sys::TargetEntry> = list(s.targetList);
        let [tle] = tles.as_slice() else { return Ok(None) };
        if (**tle).resjunk {
            return Ok(None);
        }
        let value = nodes::copy((**tle).expr as *mut sys::Node)?;
        let value = guard(|| sys::eval_const_expressions(std::ptr::null_mut(), value))?;
        Ok(Some(Compared { sublink, sub_first, other, opfuncid: o.opfuncid, value }))
    }
}

/// Rewrite one WHERE term `x op (correlated scalar subquery)` of `q`, adding the grouped subquery
/// to FROM; returns the new terms, or None when the term does not qualify.
fn rewrite(q: *mut sys::Query, term: *mut sys::Node) -> PgResult<Option<Vec<*mut sys::Node>>> {
    // SAFETY: our copy of the query and its nodes; every allocation is guarded.
    unsafe {
        let Some(Compared { sublink, sub_first, other, opfuncid, value }) = compared_aggregate(term)? else {
            return Ok(None);
        };
        if !guard(|| sys::func_strict(opfuncid))? || !null_on_empty(value)? {
            return Ok(None);
        }
        let s = &*((*sublink).subselect as *mut sys::Query);
        // Split its WHERE into correlation terms and its own.
        let Some((keys, local)) = split_where((*s.jointree).quals)? else { return Ok(None) };
        // Uncorrelated (no keys): a block of exactly one row, cross-joined (TPC-H Q15, Q22).
        let Some(rti) = add_grouped(q, (*sublink).subselect as *mut sys::Query, &local, &keys, &[value])?
        else {
            return Ok(None);
        };
        let vn = (keys.len() + 1) as i16;
        let rtr: *mut sys::RangeTblRef = nodes::make(sys::NodeTag_T_RangeTblRef)?;
        (*rtr).rtindex = rti;
        let from = (*q).jointree;
        (*from).fromlist = nodes::append((*from).fromlist, rtr as *mut c_void)?;
        // The comparison with the subquery's value, and the join on each key.
        let v = make_var(rti, vn, value)?;
        let mut out = vec![if sub_first { op_like(term, v, other)? } else { op_like(term, other, v)? }];
        out.extend(key_terms(rti, &keys)?);
        Ok(Some(out))
    }
}

/// One HAVING term `x op (uncorrelated scalar subquery)` of a grouped `q` (TPC-H Q11): the
/// subquery, a plain aggregate (exactly one row), joins FROM as a block of one row and its value
/// joins GROUP BY (the same on every row, it changes neither the rows nor the groups), so
/// DataFusion computes it -- over scans shared with the outer query's -- instead of PostgreSQL
/// inside one leader-only scan. Returns the new term, or None when the term does not qualify.
fn rewrite_having(q: *mut sys::Query, term: *mut sys::Node) -> PgResult<Option<*mut sys::Node>> {
    // SAFETY: our copy of the query and its nodes; every allocation is guarded.
    unsafe {
        let Some(Compared { sublink, sub_first, other, value, .. }) = compared_aggregate(term)? else {
            return Ok(None);
        };
        let s = &*((*sublink).subselect as *mut sys::Query);
        // Uncorrelated only (a correlated one would not be the same on every row).
        let Some((keys, local)) = split_where((*s.jointree).quals)? else { return Ok(None) };
        if !keys.is_empty() {
            return Ok(None);
        }
        let Some(ops) = grouping_ops(guard(|| sys::exprType(value))?)? else { return Ok(None) };
        let Some(rti) = add_grouped(q, (*sublink).subselect as *mut sys::Query, &local, &[], &[value])?
        else {
            return Ok(None);
        };
        let rtr: *mut sys::RangeTblRef = nodes::make(sys::NodeTag_T_RangeTblRef)?;
        (*rtr).rtindex = rti;
        let from = (*q).jointree;
        (*from).fromlist = nodes::append((*from).fromlist, rtr as *mut c_void)?;
        // GROUP BY ..., value: a junk target entry with the next sort/group reference.
        let tlist: Vec<*mut sys::TargetEntry> = list((*q).targetList);
        let sortref = tlist.iter().map(|&t| (*t).ressortgroupref).max().unwrap_or(0) + 1;
        let key = make_var(rti, 1, value)? as *mut sys::Expr;
        let resno = (tlist.len() + 1) as i16;
        let entry = guard(|| sys::makeTargetEntry(key, resno, std::ptr::null_mut(), true))?;
        (*entry).ressortgroupref = sortref;
        (*q).targetList = nodes::append((*q).targetList, entry as *mut c_void)?;
        (*q).groupClause = nodes::append((*q).groupClause, group_clause(sortref, ops)?)?;
        let v = make_var(rti, 1, value)?;
        Ok(Some(if sub_first { op_like(term, v, other)? } else { op_like(term, other, v)? }))
    }
}

/// Move what qualifies among the top-level HAVING terms of `q` (our copy) into FROM and GROUP BY
/// (see [`rewrite_having`]). Only with GROUP BY and without grouping sets: without GROUP BY an
/// empty input still makes one group, which a GROUP BY on the value would not.
/// Whether any moved.
pub fn having_subqueries(q: *mut sys::Query) -> PgResult<bool> {
    // SAFETY: our copy of a valid Query.
    unsafe {
        if !(*q).hasSubLinks
            || (*q).havingQual.is_null()
            || (*q).groupClause.is_null()
            || !(*q).groupingSets.is_null()
            || (*q).jointree.is_null()
        {
            return Ok(false);
        }
        let rewritten = rewrite_terms((*q).havingQual, |t| Ok(rewrite_having(q, t)?.map(|n| vec![n])))?;
        if let Some(quals) = rewritten {
            (*q).havingQual = quals;
        }
        Ok(rewritten.is_some())
    }
}

/// `quals`' AND terms, each replaced by the terms `rewrite` makes of it (kept when it makes
/// none): the new AND, or None when no term changed.
fn rewrite_terms(
    quals: *mut sys::Node,
    mut rewrite: impl FnMut(*mut sys::Node) -> PgResult<Option<Vec<*mut sys::Node>>>,
) -> PgResult<Option<*mut sys::Node>> {
    let mut out = Vec::new();
    let mut changed = false;
    for t in conjuncts_of(quals) {
        match rewrite(t)? {
            Some(new) => {
                changed = true;
                out.extend(new);
            }
            None => out.push(t),
        }
    }
    if changed {
        Ok(Some(and_of(&out)?))
    } else {
        Ok(None)
    }
}

/// Merge the FROM lists nested in `from`'s (pulled-up subqueries leave their join tree there)
/// into it, their WHERE ANDed to its own: inner joins either way, as PostgreSQL's planner
/// flattens them, so their subqueries are top-level WHERE terms too.
///
/// # Safety
/// `from` is the FromExpr of our copy of a valid Query.
unsafe fn flatten_from(from: *mut sys::FromExpr) -> PgResult<()> {
    // SAFETY: per the contract; every allocation is guarded.
    unsafe {
        let items: Vec<*mut sys::Node> = list((*from).fromlist);
        if !items.iter().any(|&n| nodes::tag(n) == sys::NodeTag_T_FromExpr) {
            return Ok(());
        }
        let mut flat: *mut sys::List = std::ptr::null_mut();
        let mut quals = conjuncts_of((*from).quals);
        let mut stack: Vec<*mut sys::Node> = items.into_iter().rev().collect();
        while let Some(n) = stack.pop() {
            if nodes::tag(n) == sys::NodeTag_T_FromExpr {
                let f = n as *mut sys::FromExpr;
                quals.extend(conjuncts_of((*f).quals));
                let inner: Vec<*mut sys::Node> = list((*f).fromlist);
                stack.extend(inner.into_iter().rev());
            } else {
                flat = nodes::append(flat, n as *mut c_void)?;
            }
        }
        (*from).fromlist = flat;
        (*from).quals = and_of(&quals)?;
        Ok(())
    }
}

/// Decorrelate what qualifies among the top-level WHERE terms of `q` (our copy).
pub fn scalar_subqueries(q: *mut sys::Query) -> PgResult<()> {
    // SAFETY: our copy of a valid Query.
    unsafe {
        if !(*q).hasSubLinks || (*q).jointree.is_null() {
            return Ok(());
        }
        let from = (*q).jointree;
        flatten_from(from)?;
        if (*from).quals.is_null() {
            return Ok(());
        }
        let rewritten = rewrite_terms((*from).quals, |t| match rewrite(q, t)? {
            Some(new) => Ok(Some(new)),
            None => match rewrite_exists(q, t)? {
                Some(new) => Ok(Some(new)),
                None => match rewrite_in(q, t)? {
                    Some(new) => Ok(Some(new)),
                    None => rewrite_not_in(q, t),
                },
            },
        })?;
        if let Some(quals) = rewritten {
            (*from).quals = quals;
        }
        Ok(())
    }
}
