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

use crate::pg::catalog::{self, Oid};
use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{
    make_aggref, make_bool_expr, make_from_expr, make_is_null, make_join_expr, make_range_tbl_ref,
    make_sort_group_clause, make_subquery_rte, make_target_entry, make_target_entry_with, make_var, BoolOp,
    FromExpr, JoinType, Kind, List, Node, OpExpr, Query, RangeTblRef, RteKind, SortGroupClause, SubLink,
    SubLinkType, TargetEntry, Var,
};
use crate::pg::nodes;

/// A SELECT without window functions, set-returning functions, set operations, WITH, grouping
/// sets, LIMIT/OFFSET or row locks.
fn simple_select(s: Query) -> bool {
    s.is_select()
        && !s.has_window_funcs()
        && !s.has_target_srfs()
        && !s.has_for_update()
        && s.set_operations().is_none()
        && s.cte_list().is_empty()
        && s.grouping_sets().is_empty()
        && s.limit_count().is_none()
        && s.limit_offset().is_none()
        && s.jointree().is_some()
}

/// A [`simple_select`] without grouping, HAVING or subqueries of its own: one block PostgreSQL
/// evaluates per outer row.
fn plain_select(s: Query) -> bool {
    simple_select(s) && !s.has_sub_links() && s.group_clause().is_empty() && s.having_qual().is_none()
}

/// The subquery of a SubLink (a Query after parse analysis).
fn subquery(sublink: SubLink) -> PgResult<Query> {
    sublink.query().ok_or_else(|| PgError::internal("a subquery that is not a Query"))
}

/// The comparison of an IN SubLink (`outer op $1`, see [`in_subquery`]).
fn test_expr(sublink: SubLink) -> PgResult<Node> {
    sublink.testexpr().ok_or_else(|| PgError::internal("IN without its comparison"))
}

/// A query's join tree (every analyzed SELECT has one; [`simple_select`] checks it).
fn join_tree(q: Query) -> PgResult<FromExpr> {
    q.jointree().ok_or_else(|| PgError::internal("a query without a join tree"))
}

/// The expression a target entry computes.
fn expr_of(t: TargetEntry) -> PgResult<Node> {
    t.expr().ok_or_else(|| PgError::internal("a target entry without an expression"))
}

/// The first entry of a query's target list.
fn first_entry(q: Query) -> PgResult<TargetEntry> {
    q.target_list().first().copied().ok_or_else(|| PgError::internal("an empty target list"))
}

/// An expression's type (`exprType`).
fn type_of(e: Node) -> PgResult<Oid> {
    Ok(e.expr_type()?.0)
}

/// A type's default ordering and equality operators, as GROUP BY uses them: (`<`, `=`,
/// hashable); None when the type has either missing. The type cache answers as
/// `get_sort_group_operators` does, without raising for a type that has none.
fn grouping_ops(typ: Oid) -> PgResult<Option<(Oid, Oid, bool)>> {
    let (lt, eq, hashable) = catalog::type_grouping_operators(typ)?;
    Ok((lt != 0 && eq != 0).then_some((lt, eq, hashable)))
}

/// A GROUP BY entry for target entries with `ressortgroupref` `sortgroupref`, by `ops`.
fn group_clause(sortgroupref: u32, (lt, eq, hashable): (Oid, Oid, bool)) -> PgResult<SortGroupClause> {
    make_sort_group_clause(sortgroupref, eq, lt, false, hashable)
}

/// Append `sub` to `q`'s range table as a subquery in FROM named `pg_fusion_subquery` with
/// columns `colnames`; its range-table index. `q` is our copy of a valid Query; `sub` a valid
/// Query one level below it.
fn add_subquery_rte(q: Query, sub: Query, colnames: &[String]) -> PgResult<u32> {
    let rte = make_subquery_rte(sub, "pg_fusion_subquery", colnames)?;
    q.set_rtable(q.rtable_list().append(rte)?);
    Ok(q.rtable().len() as u32)
}

/// Append `item` to `from`'s FROM list.
fn append_to_from(from: FromExpr, item: impl Into<Node>) -> PgResult<()> {
    from.set_fromlist(List::of(from.fromlist())?.append(item)?);
    Ok(())
}

/// NULL whenever it is computed over no rows (see the module rules).
fn null_on_empty(e: Node) -> PgResult<bool> {
    nodes::check_stack_depth()?;
    Ok(match e.kind() {
        Kind::Aggref(a) => {
            let name = catalog::func_name(a.aggfnoid())?;
            catalog::is_builtin(a.aggfnoid())
                && a.aggfilter().is_none()
                && a.agglevelsup() == 0
                && ["sum", "avg", "min", "max"].contains(&name.as_str())
        }
        Kind::OpExpr(_) | Kind::FuncExpr(_) => {
            let Some((funcid, args)) = e.call() else { return Ok(false) };
            // Strict, and at least one argument NULL over no rows (the others constant).
            if !catalog::is_builtin(funcid) || !catalog::func_strict(funcid)? {
                return Ok(false);
            }
            let mut some_null = false;
            for &a in &args {
                let null = null_on_empty(a)?;
                if !null && !matches!(a.kind(), Kind::Const(_)) {
                    return Ok(false);
                }
                some_null |= null;
            }
            some_null
        }
        Kind::RelabelType(r) => match r.arg() {
            Some(arg) => null_on_empty(arg)?,
            None => false,
        },
        _ => false,
    })
}

/// An operator with two arguments: (the OpExpr, left, right).
fn binary_op(term: Node) -> Option<(OpExpr, Node, Node)> {
    let o = term.as_op_expr()?;
    match o.args().as_slice() {
        [a, b] => Some((o, *a, *b)),
        _ => None,
    }
}

/// A term `inner op outer` (either order) whose one side is a Var of the outer query and whose
/// other side does not refer to it and is not volatile, both of one type: (the operator, inner
/// expression, outer Var at level 1, the type).
fn inner_op_outer(term: Node) -> PgResult<Option<(OpExpr, Node, Var, Oid)>> {
    let Some((o, a, b)) = binary_op(term) else { return Ok(None) };
    let outer_var = |n: Node| n.as_var().filter(|v| v.varlevelsup() == 1);
    let (inner, outer) = match (outer_var(a), outer_var(b)) {
        (None, Some(v)) => (a, v),
        (Some(v), None) => (b, v),
        _ => return Ok(None),
    };
    if inner.contains_vars_of_level(1)? || inner.contains_volatile_functions()? {
        return Ok(None);
    }
    let typ = type_of(inner)?;
    if typ != outer.vartype() {
        return Ok(None);
    }
    Ok(Some((o, inner, outer, typ)))
}

/// A correlation term `inner = outer` (either order): (inner expression, outer Var at level 1).
fn correlation(term: Node) -> PgResult<Option<(Node, Var, Oid)>> {
    let Some((o, inner, outer, typ)) = inner_op_outer(term)? else { return Ok(None) };
    // The type's default equality: grouping by `inner` puts exactly the rows with
    // `inner = outer` in the outer value's group.
    if grouping_ops(typ)?.is_none_or(|(_, eq, _)| o.opno() != eq) {
        return Ok(None);
    }
    Ok(Some((inner, outer, o.opno())))
}

/// A correlation term with what it correlates: (the term, (inner expression, outer Var, equality)).
type Key = (Node, (Node, Var, Oid));

/// Add to `q`'s range table the subquery `subselect` (a copy) with WHERE `local` only, grouped by
/// the inner side of `keys` (its columns `key1..`), then `values` (aggregates over the group:
/// `value`, `value2`, ..); its range-table index,
/// or None when the subquery still refers to the outer query elsewhere.
///
/// `q` is our copy of a valid Query, `subselect` a valid Query one level below it.
fn add_grouped(
    q: Query,
    subselect: Query,
    local: &[Node],
    keys: &[Key],
    values: &[Node],
) -> PgResult<Option<u32>> {
    let sub = subselect.copy()?;
    join_tree(sub)?.set_quals(and_of(local)?);
    let mut tlist = List::NIL;
    let mut group = List::NIL;
    let mut colnames = Vec::new();
    for (i, (_, (inner, _, eq))) in keys.iter().enumerate() {
        let n = (i + 1) as i16;
        let name = format!("key{n}");
        let entry = make_target_entry_with(*inner, n, Some(&name), false)?;
        entry.set_ressortgroupref(n as u32);
        tlist = tlist.append(entry)?;
        let typ = type_of(*inner)?;
        let (lt, _, hashable) = grouping_ops(typ)?
            .ok_or_else(|| PgError::internal("correlation key without grouping operators"))?;
        group = group.append(group_clause(n as u32, (lt, *eq, hashable))?)?;
        colnames.push(name);
    }
    for (i, &value) in values.iter().enumerate() {
        let vn = (keys.len() + 1 + i) as i16;
        tlist = tlist.append(make_target_entry(value, vn)?)?;
        colnames.push(if i == 0 { "value".to_string() } else { format!("value{}", i + 1) });
    }
    sub.set_has_aggs(sub.has_aggs() || !values.is_empty());
    sub.set_target_list(tlist);
    sub.set_group_clause(group);
    sub.set_sort_clause(List::NIL);
    sub.set_distinct_clause(List::NIL);
    // Nothing else may refer to the outer query.
    if sub.node().contains_vars_of_level(1)? {
        return Ok(None);
    }
    Ok(Some(add_subquery_rte(q, sub, &colnames)?))
}

/// A copy of outer Var `outer` at the query's own level.
fn at_own_level(outer: Var) -> PgResult<Node> {
    let copy = outer.node().copy()?.as_var().ok_or_else(|| PgError::internal("a copy of a Var"))?;
    copy.set_varlevelsup(0);
    Ok(copy.node())
}

/// The join terms `outer = keyN` for the keys of subquery `rti` (as [`add_grouped`] added it;
/// `keys` from [`correlation`]).
fn key_terms(rti: u32, keys: &[Key]) -> PgResult<Vec<Node>> {
    let mut out = Vec::new();
    for (i, (t, (inner, outer, _))) in keys.iter().enumerate() {
        // Our copy of the outer Var, now at the query's own level.
        let outer_here = at_own_level(*outer)?;
        let key = var_of(rti, (i + 1) as i16, *inner)?;
        out.push(op_like(*t, outer_here, key)?);
    }
    Ok(out)
}

/// The SubLink of a term `NOT (sublink)`.
fn negated_sublink(term: Node) -> Option<SubLink> {
    let b = term.as_bool_expr().filter(|b| b.boolop() == BoolOp::Not)?;
    match b.args().as_slice() {
        [a] => a.as_sub_link(),
        _ => None,
    }
}

/// `[NOT] EXISTS (SELECT .. FROM .. WHERE inner = outer.a AND inner2 = outer2.b AND <local>)`
/// correlated to several relations of `q` (one relation's runs in its scan): the subquery's
/// distinct keys joined to the outer rows (a semi join), or left-joined with the key NULL (an
/// anti join: a matching key is never NULL). Returns the terms replacing `term`, and for NOT
/// EXISTS wraps `q`'s FROM list in the left join.
fn rewrite_exists(q: Query, term: Node) -> PgResult<Option<Vec<Node>>> {
    let (sublink, negated) = match (term.as_sub_link(), negated_sublink(term)) {
        (Some(s), _) => (s, false),
        (None, Some(s)) => (s, true),
        _ => return Ok(None),
    };
    if sublink.sub_link_type() != SubLinkType::Exists {
        return Ok(None);
    }
    let s = subquery(sublink)?;
    if !plain_select(s) || s.has_aggs() {
        return Ok(None);
    }
    // At most one `inner <> outer` term besides the equalities (TPC-H Q21).
    let mut unequal = None;
    let mut rest = Vec::new();
    for t in conjuncts_of(join_tree(s)?.quals()) {
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
    let mut varnos: Vec<u32> = keys.iter().map(|(_, (_, v, _))| v.varno()).collect();
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
    let Some(rti) = add_grouped(q, s, &local, &keys, &values)? else {
        return Ok(None);
    };
    let rtr = make_range_tbl_ref(rti)?;
    let from = join_tree(q)?;
    let mut terms = key_terms(rti, &keys)?;
    // Some inner value differs from the outer one: the group's min or max does (NULL when
    // the outer value or every inner one is NULL: no row, as EXISTS has none then).
    // `differs` keeps the outer value (at the query's own level) with it.
    let mut differs = None;
    if let Some(u) = &unequal {
        let outer_value = at_own_level(u.outer)?;
        let n = keys.len() as i16;
        let (mn, mx) = (var_of(rti, n + 1, u.inner)?, var_of(rti, n + 2, u.inner)?);
        let (v1, v2) = (outer_value.copy()?, outer_value.copy()?);
        differs = Some((or_of(&[op_like(u.term, mn, v1)?, op_like(u.term, mx, v2)?])?, outer_value));
    }
    if !negated {
        append_to_from(from, rtr)?;
        if let Some((differs, _)) = differs {
            terms.push(differs);
        }
        return Ok(Some(terms));
    }
    // FROM (<the FROM list> LEFT JOIN subquery ON keys) WHERE key1 IS NULL.
    left_join_from(from, rtr, and_of(&terms)?)?;
    let no_match = make_is_null(var_of(rti, 1, keys[0].1 .0)?)?;
    let Some((differs, outer_value)) = differs else {
        return Ok(Some(vec![no_match]));
    };
    // No group; or no inner value can differ (the outer value NULL, every inner one NULL);
    // or none does.
    let u = unequal.as_ref().ok_or_else(|| PgError::internal("inequality lost"))?;
    let none_differs = make_bool_expr(BoolOp::Not, &[differs])?;
    let mn = var_of(rti, keys.len() as i16 + 1, u.inner)?;
    let outer_null = make_is_null(outer_value.copy()?)?;
    Ok(Some(vec![or_of(&[no_match, outer_null, make_is_null(mn)?, none_differs])?]))
}

/// Make `from`'s FROM list `(<the FROM list> LEFT JOIN rtr ON quals)`: `from` is the FromExpr
/// of our copy of a valid Query, `rtr` a reference to an entry of its range table, `quals` an
/// expression over both.
fn left_join_from(from: FromExpr, rtr: RangeTblRef, quals: Option<Node>) -> PgResult<()> {
    let left = make_from_expr(List::of(from.fromlist())?, None)?;
    let join = make_join_expr(JoinType::Left, left.node(), rtr.node(), quals)?;
    from.set_fromlist(List::of([join])?);
    Ok(())
}

/// Is `e` a column of a table of `s` that some index of the table has as its first key column?
fn index_leads_with(s: Query, e: Node) -> PgResult<bool> {
    let Some(v) = e.as_var() else { return Ok(false) };
    let Some(rte) = s.rte(v.varno()) else { return Ok(false) };
    if v.varlevelsup() != 0 || v.varattno() <= 0 || rte.rtekind() != RteKind::Relation {
        return Ok(false);
    }
    // The table is locked since parse analysis.
    catalog::index_leads_with(rte.relid(), v.varattno())
}

/// A correlation term `inner <> outer` (either order) over a type whose `<>` is the negation of
/// its grouping equality and whose min/max aggregates order by the same operator class.
struct Inequality {
    term: Node,
    inner: Node,
    outer: Var,
    /// The type's min and max aggregates.
    min: Oid,
    max: Oid,
}

fn inequality(term: Node) -> PgResult<Option<Inequality>> {
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
    // The negator of the equality (a catalog lookup).
    if catalog::negator(eq)? != o.opno() {
        return Ok(None);
    }
    Ok(Some(Inequality { term, inner, outer, min, max }))
}

/// The built-in aggregate `func` (min or max) over `arg`.
fn aggregate(func: Oid, arg: Node) -> PgResult<Node> {
    let (typ, _, coll) = arg.expr_type()?;
    let tle = make_target_entry(arg.copy()?, 1)?;
    Ok(make_aggref(func, typ, coll, &[typ], &[tle])?.node())
}

fn or_of(terms: &[Node]) -> PgResult<Node> {
    make_bool_expr(BoolOp::Or, terms)
}

/// The parts of an uncorrelated one-column `x IN (SELECT y ...)`.
struct InSubquery {
    /// `x`, a column of this query (no volatile functions or subqueries to move).
    outer: Node,
    /// The subquery's one visible target entry, and its expression `y`.
    tle: TargetEntry,
    inner: Node,
    /// `y`'s type's grouping operators; the IN operator is their equality.
    ops: (Oid, Oid, bool),
}

/// `sublink` as an [`InSubquery`]: `x op $1` with `x` a column of this query, `$1` the
/// subquery's first and only visible column `y` of the same type, `op` that type's default
/// equality (the one grouping uses), and nothing in the subquery referring to this query.
/// `sublink` is a SubLink of our copy of the query.
fn in_subquery(sublink: SubLink) -> PgResult<Option<InSubquery>> {
    if sublink.sub_link_type() != SubLinkType::Any {
        return Ok(None);
    }
    let Some(testexpr) = sublink.testexpr() else { return Ok(None) };
    // One column: `outer op $1` where $1 is the subquery's first column.
    let Some((o, outer, param)) = binary_op(testexpr) else { return Ok(None) };
    let Kind::Param(p) = param.kind() else { return Ok(None) };
    if !p.is_sublink() || p.paramid() != 1 {
        return Ok(None);
    }
    if outer.as_var().is_none_or(|v| v.varlevelsup() != 0) {
        return Ok(None);
    }
    // Uncorrelated: nothing in it refers to this query.
    let s = subquery(sublink)?;
    if s.node().contains_vars_of_level(1)? {
        return Ok(None);
    }
    let visible: Vec<TargetEntry> = s.target_list().into_iter().filter(|t| !t.resjunk()).collect();
    let [tle] = visible.as_slice() else { return Ok(None) };
    if tle.resno() != 1 {
        return Ok(None);
    }
    let inner = expr_of(*tle)?;
    let typ = type_of(inner)?;
    if typ != type_of(outer)? || p.paramtype() != typ {
        return Ok(None);
    }
    let Some(ops) = grouping_ops(typ)?.filter(|&(_, eq, _)| o.opno() == eq) else { return Ok(None) };
    Ok(Some(InSubquery { outer, tle: *tle, inner, ops }))
}

/// `x IN (SELECT y FROM ...)` (a top-level AND term: NULL and false both drop the row) whose
/// subquery is uncorrelated and has work of its own PostgreSQL would do in one process inside
/// the outer relation's scan (nested subqueries, which it may run per row, or grouping): the
/// subquery's distinct `y` values joined to the outer rows on `x = y` (a semi join). Distinct
/// because either the subquery is grouped by exactly `y` or it becomes so (a plain SELECT of
/// `y`); the IN operator must be `y`'s type's default equality, the one grouping uses, so each
/// outer row meets at most one group and exactly when IN is true. Returns the replacing terms.
fn rewrite_in(q: Query, term: Node) -> PgResult<Option<Vec<Node>>> {
    let Some(sublink) = term.as_sub_link() else { return Ok(None) };
    let Some(InSubquery { outer, tle, inner, ops }) = in_subquery(sublink)? else { return Ok(None) };
    let eq = ops.1;
    let s = subquery(sublink)?;
    let grouped = !s.group_clause().is_empty();
    let shape_ok = simple_select(s)
        && !s.has_distinct_on()
        && s.distinct_clause().is_empty()
        && (grouped || (!s.has_aggs() && s.having_qual().is_none()));
    if !shape_ok || !(s.has_sub_links() || grouped) {
        return Ok(None);
    }
    let sub = s.copy()?;
    sub.set_sort_clause(List::NIL);
    if grouped {
        // Grouped by exactly `y`, with `y`'s default equality: one row per distinct value.
        let groups = sub.group_clause();
        let [g] = groups.as_slice() else { return Ok(None) };
        if tle.ressortgroupref() == 0 || g.tle_sort_group_ref() != tle.ressortgroupref() || g.eqop() != eq {
            return Ok(None);
        }
    } else {
        first_entry(sub)?.set_ressortgroupref(1);
        sub.set_group_clause(List::of([group_clause(1, ops)?])?);
    }
    // Only the one column leaves the subquery (junk sort columns are gone with ORDER BY).
    let first = first_entry(sub)?;
    sub.set_target_list(List::of([first])?);
    let rti = add_subquery_rte(q, sub, &["key1".to_string()])?;
    let rtr = make_range_tbl_ref(rti)?;
    append_to_from(join_tree(q)?, rtr)?;
    let key = var_of(rti, 1, inner)?;
    let join = op_like(test_expr(sublink)?, outer.copy()?, key)?;
    Ok(Some(vec![join]))
}

/// Whether `e` is never NULL in the rows of query `q` (by its range table and join tree): a NOT
/// NULL column of a table that no outer join null-extends. `e` is an expression of `q`.
fn never_null(q: Query, e: Node) -> PgResult<bool> {
    let Some(v) = e.as_var() else { return Ok(false) };
    let Some(rte) = q.rte(v.varno()) else { return Ok(false) };
    if v.varlevelsup() != 0 || v.varattno() <= 0 || rte.rtekind() != RteKind::Relation {
        return Ok(false);
    }
    if !q.jointree().is_some_and(|from| never_null_extended(from.node(), v.varno())) {
        return Ok(false);
    }
    catalog::attnotnull(rte.relid(), v.varattno())
}

/// Whether range-table entry `rti` is an item of join tree node `n` on a side no outer join
/// null-extends (either side of an inner join, the preserved side of a left or right join).
fn never_null_extended(n: Node, rti: u32) -> bool {
    let side = |child: Option<Node>| child.is_some_and(|c| never_null_extended(c, rti));
    match n.kind() {
        Kind::RangeTblRef(r) => r.rtindex() == rti,
        Kind::FromExpr(f) => f.fromlist().into_iter().any(|c| never_null_extended(c, rti)),
        Kind::JoinExpr(j) => match j.jointype() {
            JoinType::Inner => side(j.larg()) || side(j.rarg()),
            JoinType::Left => side(j.larg()),
            JoinType::Right => side(j.rarg()),
            _ => false,
        },
        _ => false,
    }
}

/// `x NOT IN (SELECT y FROM ...)` (a top-level AND term), uncorrelated, where neither `x` nor any
/// `y` can be NULL ([`never_null`]): NOT IN is then just "no `y` equals `x`", an anti join --
/// `FROM (<FROM list> LEFT JOIN (SELECT y FROM ... GROUP BY y) ON x = key1) WHERE key1 IS NULL`
/// (a matching key is never NULL). The IN operator must be the type's default equality, the one
/// grouping uses. PostgreSQL would run the subquery as a hashed subplan inside `x`'s scan, which
/// keeps that scan in one process (TPC-H Q16); DataFusion joins it over parallel scans. Where a
/// NULL is possible, NOT IN's three-valued rules stay with PostgreSQL, in the scan.
fn rewrite_not_in(q: Query, term: Node) -> PgResult<Option<Vec<Node>>> {
    let Some(sublink) = negated_sublink(term) else { return Ok(None) };
    let Some(InSubquery { outer, inner, ops, .. }) = in_subquery(sublink)? else { return Ok(None) };
    let s = subquery(sublink)?;
    // A plain SELECT (DISTINCT over its one column keeps the same values; DISTINCT ON may
    // not), without aggregates: its values are its rows' `y`.
    if !simple_select(s)
        || s.has_aggs()
        || s.has_distinct_on()
        || !s.group_clause().is_empty()
        || s.having_qual().is_some()
    {
        return Ok(None);
    }
    if !never_null(q, outer)? || !never_null(s, inner)? {
        return Ok(None);
    }
    // SELECT y FROM ... GROUP BY y: one row per distinct value.
    let sub = s.copy()?;
    sub.set_sort_clause(List::NIL);
    sub.set_distinct_clause(List::NIL);
    let first = first_entry(sub)?;
    first.set_ressortgroupref(1);
    sub.set_target_list(List::of([first])?);
    sub.set_group_clause(List::of([group_clause(1, ops)?])?);
    let rti = add_subquery_rte(q, sub, &["key1".to_string()])?;
    let rtr = make_range_tbl_ref(rti)?;
    // FROM (<the FROM list> LEFT JOIN subquery ON x = key1) WHERE key1 IS NULL.
    let on = op_like(test_expr(sublink)?, outer.copy()?, var_of(rti, 1, inner)?)?;
    left_join_from(join_tree(q)?, rtr, Some(on))?;
    Ok(Some(vec![make_is_null(var_of(rti, 1, inner)?)?]))
}

/// A subquery's WHERE split into correlation terms ([`correlation`]) and terms of its own; None
/// when a term refers to the outer query in any other way.
fn split_where(quals: Option<Node>) -> PgResult<Option<(Vec<Key>, Vec<Node>)>> {
    let mut keys: Vec<Key> = Vec::new();
    let mut local = Vec::new();
    for t in conjuncts_of(quals) {
        if !t.contains_vars_of_level(1)? {
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

/// The AND terms of a qual (no qual: none).
fn conjuncts_of(quals: Option<Node>) -> Vec<Node> {
    let Some(quals) = quals else { return Vec::new() };
    match quals.as_bool_expr() {
        Some(b) if b.boolop() == BoolOp::And => b.args(),
        _ => vec![quals],
    }
}

/// The AND of `terms` (one term: itself; none: no qual).
fn and_of(terms: &[Node]) -> PgResult<Option<Node>> {
    match terms {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Ok(Some(make_bool_expr(BoolOp::And, many)?)),
    }
}

/// Column `attno` of range-table entry `varno` of this query level, of `e`'s type.
fn var_of(varno: u32, attno: i16, e: Node) -> PgResult<Node> {
    let (typid, typmod, collation) = e.expr_type()?;
    make_var(varno, attno, typid, typmod, collation, 0)
}

/// A binary OpExpr like `template` over new arguments.
fn op_like(template: Node, a: Node, b: Node) -> PgResult<Node> {
    let op = template.copy()?.as_op_expr().ok_or_else(|| PgError::internal("not an operator"))?;
    op.set_args(List::of([a, b])?);
    Ok(op.node())
}

/// A term `x op (SELECT <aggregate expression> FROM ..)` (either order) with a built-in boolean
/// operator, the subquery a plain aggregate with one output column.
struct Compared {
    sublink: SubLink,
    /// The subquery is the left operand.
    sub_first: bool,
    /// The other operand.
    other: Node,
    /// The operator's function.
    opfuncid: Oid,
    /// The subquery's output expression (a copy), constants folded (`sum(x) / 10` casts its
    /// integer to numeric).
    value: Node,
}

fn compared_aggregate(term: Node) -> PgResult<Option<Compared>> {
    let Some((o, a, b)) = binary_op(term) else { return Ok(None) };
    let scalar_sublink = |n: Node| n.as_sub_link().filter(|s| s.sub_link_type() == SubLinkType::Expr);
    let (sublink, sub_first, other) = match (scalar_sublink(a), scalar_sublink(b)) {
        (Some(s), None) => (s, true, b),
        (None, Some(s)) => (s, false, a),
        _ => return Ok(None),
    };
    if !catalog::is_builtin(o.opno()) || o.opresulttype() != catalog::BOOLOID {
        return Ok(None);
    }
    let s = subquery(sublink)?;
    let plain_aggregate =
        plain_select(s) && s.has_aggs() && s.distinct_clause().is_empty() && s.sort_clause().is_empty();
    if !plain_aggregate {
        return Ok(None);
    }
    let tles = s.target_list();
    let [tle] = tles.as_slice() else { return Ok(None) };
    if tle.resjunk() {
        return Ok(None);
    }
    let value = expr_of(*tle)?.copy()?.eval_const_expressions()?;
    Ok(Some(Compared { sublink, sub_first, other, opfuncid: o.opfuncid(), value }))
}

/// Rewrite one WHERE term `x op (correlated scalar subquery)` of `q`, adding the grouped subquery
/// to FROM; returns the new terms, or None when the term does not qualify.
fn rewrite(q: Query, term: Node) -> PgResult<Option<Vec<Node>>> {
    let Some(Compared { sublink, sub_first, other, opfuncid, value }) = compared_aggregate(term)? else {
        return Ok(None);
    };
    if !catalog::func_strict(opfuncid)? || !null_on_empty(value)? {
        return Ok(None);
    }
    let s = subquery(sublink)?;
    // Split its WHERE into correlation terms and its own.
    let Some((keys, local)) = split_where(join_tree(s)?.quals())? else { return Ok(None) };
    // Uncorrelated (no keys): a block of exactly one row, cross-joined (TPC-H Q15, Q22).
    let Some(rti) = add_grouped(q, s, &local, &keys, &[value])? else {
        return Ok(None);
    };
    let vn = (keys.len() + 1) as i16;
    let rtr = make_range_tbl_ref(rti)?;
    append_to_from(join_tree(q)?, rtr)?;
    // The comparison with the subquery's value, and the join on each key.
    let v = var_of(rti, vn, value)?;
    let mut out = vec![if sub_first { op_like(term, v, other)? } else { op_like(term, other, v)? }];
    out.extend(key_terms(rti, &keys)?);
    Ok(Some(out))
}

/// One HAVING term `x op (uncorrelated scalar subquery)` of a grouped `q` (TPC-H Q11): the
/// subquery, a plain aggregate (exactly one row), joins FROM as a block of one row and its value
/// joins GROUP BY (the same on every row, it changes neither the rows nor the groups), so
/// DataFusion computes it -- over scans shared with the outer query's -- instead of PostgreSQL
/// inside one leader-only scan. Returns the new term, or None when the term does not qualify.
fn rewrite_having(q: Query, term: Node) -> PgResult<Option<Node>> {
    let Some(Compared { sublink, sub_first, other, value, .. }) = compared_aggregate(term)? else {
        return Ok(None);
    };
    let s = subquery(sublink)?;
    // Uncorrelated only (a correlated one would not be the same on every row).
    let Some((keys, local)) = split_where(join_tree(s)?.quals())? else { return Ok(None) };
    if !keys.is_empty() {
        return Ok(None);
    }
    let Some(ops) = grouping_ops(type_of(value)?)? else { return Ok(None) };
    let Some(rti) = add_grouped(q, s, &local, &[], &[value])? else {
        return Ok(None);
    };
    let rtr = make_range_tbl_ref(rti)?;
    append_to_from(join_tree(q)?, rtr)?;
    // GROUP BY ..., value: a junk target entry with the next sort/group reference.
    let tlist = q.target_list();
    let sortref = tlist.iter().map(|t| t.ressortgroupref()).max().unwrap_or(0) + 1;
    let key = var_of(rti, 1, value)?;
    let resno = (tlist.len() + 1) as i16;
    let entry = make_target_entry_with(key, resno, None, true)?;
    entry.set_ressortgroupref(sortref);
    q.set_target_list(List::of(tlist)?.append(entry)?);
    q.set_group_clause(List::of(q.group_clause())?.append(group_clause(sortref, ops)?)?);
    let v = var_of(rti, 1, value)?;
    Ok(Some(if sub_first { op_like(term, v, other)? } else { op_like(term, other, v)? }))
}

/// Move what qualifies among the top-level HAVING terms of `q` (our copy) into FROM and GROUP BY
/// (see [`rewrite_having`]). Only with GROUP BY and without grouping sets: without GROUP BY an
/// empty input still makes one group, which a GROUP BY on the value would not.
/// Whether any moved.
pub fn having_subqueries(q: Query) -> PgResult<bool> {
    if !q.has_sub_links()
        || q.having_qual().is_none()
        || q.group_clause().is_empty()
        || !q.grouping_sets().is_empty()
        || q.jointree().is_none()
    {
        return Ok(false);
    }
    let rewritten = rewrite_terms(q.having_qual(), |t| Ok(rewrite_having(q, t)?.map(|n| vec![n])))?;
    if let Some(quals) = rewritten {
        q.set_having_qual(quals);
    }
    Ok(rewritten.is_some())
}

/// `quals`' AND terms, each replaced by the terms `rewrite` makes of it (kept when it makes
/// none): the new AND (None for no terms), or None when no term changed.
fn rewrite_terms(
    quals: Option<Node>,
    mut rewrite: impl FnMut(Node) -> PgResult<Option<Vec<Node>>>,
) -> PgResult<Option<Option<Node>>> {
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
/// flattens them, so their subqueries are top-level WHERE terms too. `from` is the FromExpr of
/// our copy of a valid Query.
fn flatten_from(from: FromExpr) -> PgResult<()> {
    let items = from.fromlist();
    if !items.iter().any(|n| n.as_from_expr().is_some()) {
        return Ok(());
    }
    let mut flat = List::NIL;
    let mut quals = conjuncts_of(from.quals());
    let mut stack: Vec<Node> = items.into_iter().rev().collect();
    while let Some(n) = stack.pop() {
        match n.as_from_expr() {
            Some(f) => {
                quals.extend(conjuncts_of(f.quals()));
                stack.extend(f.fromlist().into_iter().rev());
            }
            None => flat = flat.append(n)?,
        }
    }
    from.set_fromlist(flat);
    from.set_quals(and_of(&quals)?);
    Ok(())
}

/// Decorrelate what qualifies among the top-level WHERE terms of `q` (our copy).
pub fn scalar_subqueries(q: Query) -> PgResult<()> {
    if !q.has_sub_links() {
        return Ok(());
    }
    let Some(from) = q.jointree() else { return Ok(()) };
    flatten_from(from)?;
    if from.quals().is_none() {
        return Ok(());
    }
    let rewritten = rewrite_terms(from.quals(), |t| match rewrite(q, t)? {
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
        from.set_quals(quals);
    }
    Ok(())
}
