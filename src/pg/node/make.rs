//! Nodes the query rewrites make (`makefuncs.c` and plain `makeNode`s): columns of any level,
//! named and junk target entries, aggregates, IS NULL tests, GROUP BY entries, subqueries in
//! FROM and the join-tree nodes that place them. Each allocates in the current memory context
//! under `guard`; a node made here belongs to the tree of this planning call (module rules).

use std::ffi::CString;
use std::ptr::NonNull;

use super::{Aggref, FromExpr, JoinExpr, JoinType, List, Node, Oid, Query, RangeTblEntry, RangeTblRef};
use super::{SortGroupClause, TargetEntry};
use crate::pg::error::{guard, PgError, PgResult};
use crate::pg::nodes;
use crate::pg::sys;

fn c_string(s: &str) -> PgResult<CString> {
    CString::new(s).map_err(|e| PgError::internal(e.to_string()))
}

/// Column `attno` of range-table entry `varno`, `levelsup` query levels up (`makeVar`).
pub fn make_var(
    varno: u32,
    attno: i16,
    typid: Oid,
    typmod: i32,
    collation: Oid,
    levelsup: u32,
) -> PgResult<Node> {
    let varno = i32::try_from(varno).map_err(|_| PgError::internal("range-table index out of range"))?;
    // SAFETY: makeVar allocates a Var in the current memory context.
    Node::of(guard(|| unsafe { sys::makeVar(varno, attno, typid, typmod, collation, levelsup) })?)
}

/// A target-list entry `resno` computing `expr`, named `resname` (copied; `None`: no name),
/// junk or not (`makeTargetEntry`).
pub fn make_target_entry_with(
    expr: Node,
    resno: i16,
    resname: Option<&str>,
    resjunk: bool,
) -> PgResult<TargetEntry> {
    let e = expr.as_ptr() as *mut sys::Expr;
    let name = resname.map(c_string).transpose()?;
    let p = name.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: pstrdup copies the name (`name` outlives the call); makeTargetEntry allocates.
    let t = guard(|| unsafe {
        let resname = if p.is_null() { std::ptr::null_mut() } else { sys::pstrdup(p) };
        sys::makeTargetEntry(e, resno, resname, resjunk)
    })?;
    NonNull::new(t).map(TargetEntry).ok_or_else(|| PgError::internal("makeTargetEntry returned NULL"))
}

/// A plain call of aggregate `aggfnoid` returning `aggtype` (no DISTINCT, ORDER BY, FILTER or
/// `*`; not split, of this query level) over `args` of types `argtypes`, with result and input
/// collation `collation`.
pub fn make_aggref(
    aggfnoid: Oid,
    aggtype: Oid,
    collation: Oid,
    argtypes: &[Oid],
    args: &[TargetEntry],
) -> PgResult<Aggref> {
    let a: *mut sys::Aggref = nodes::make(sys::NodeTag_T_Aggref)?;
    let mut types: *mut sys::List = std::ptr::null_mut();
    for &t in argtypes {
        let l = types;
        // SAFETY: lappend_oid on NIL or the list being built; raises only on out of memory.
        types = guard(|| unsafe { sys::lappend_oid(l, t) })?;
    }
    let args = List::of(args.iter().copied())?.as_ptr();
    // SAFETY: a new (zeroed) Aggref node; the fields a plain aggregate call needs are set.
    unsafe {
        (*a).aggfnoid = aggfnoid;
        (*a).aggtype = aggtype;
        (*a).aggcollid = collation;
        (*a).inputcollid = collation;
        (*a).aggargtypes = types;
        (*a).args = args;
        (*a).aggkind = b'n' as std::ffi::c_char;
        (*a).aggsplit = sys::AggSplit_AGGSPLIT_SIMPLE;
        (*a).aggno = -1;
        (*a).aggtransno = -1;
        (*a).location = -1;
    }
    NonNull::new(a).map(Aggref).ok_or_else(|| PgError::internal("a NULL Aggref"))
}

/// `arg IS NULL`.
pub fn make_is_null(arg: Node) -> PgResult<Node> {
    make_null_test(arg, true)
}

/// `arg IS NULL` (`is_null`) or `arg IS NOT NULL`.
pub fn make_null_test(arg: Node, is_null: bool) -> PgResult<Node> {
    let test = nodes::make::<sys::NullTest>(sys::NodeTag_T_NullTest)?;
    // SAFETY: a new NullTest node; every field set before use.
    unsafe {
        (*test).arg = arg.as_ptr() as *mut sys::Expr;
        (*test).nulltesttype =
            if is_null { sys::NullTestType_IS_NULL } else { sys::NullTestType_IS_NOT_NULL };
        (*test).argisrow = false;
        (*test).location = -1;
    }
    Node::of(test)
}

/// A GROUP BY (or ORDER BY, DISTINCT) entry for the target entries with `ressortgroupref`
/// `tle_sort_group_ref`, by equality `eqop` and ordering `sortop`.
pub fn make_sort_group_clause(
    tle_sort_group_ref: u32,
    eqop: Oid,
    sortop: Oid,
    nulls_first: bool,
    hashable: bool,
) -> PgResult<SortGroupClause> {
    let sgc: *mut sys::SortGroupClause = nodes::make(sys::NodeTag_T_SortGroupClause)?;
    // SAFETY: a new (zeroed) SortGroupClause node; every field set before use.
    unsafe {
        (*sgc).tleSortGroupRef = tle_sort_group_ref;
        (*sgc).eqop = eqop;
        (*sgc).sortop = sortop;
        (*sgc).nulls_first = nulls_first;
        (*sgc).hashable = hashable;
    }
    NonNull::new(sgc).map(SortGroupClause).ok_or_else(|| PgError::internal("a NULL SortGroupClause"))
}

/// A subquery in FROM over `subquery`, its reference name `alias` with columns `colnames`
/// (`eref`; no `alias` of its own), not LATERAL.
pub fn make_subquery_rte(subquery: Query, alias: &str, colnames: &[String]) -> PgResult<RangeTblEntry> {
    let mut names: *mut sys::List = std::ptr::null_mut();
    for c in colnames {
        names = nodes::append(names, nodes::string_node(c)? as *mut std::ffi::c_void)?;
    }
    let alias = c_string(alias)?;
    let alias_p = alias.as_ptr();
    // SAFETY: makeAlias copies the name (`alias` outlives the call) and keeps the list.
    let eref = guard(|| unsafe { sys::makeAlias(alias_p, names) })?;
    let rte: *mut sys::RangeTblEntry = nodes::make(sys::NodeTag_T_RangeTblEntry)?;
    // SAFETY: a new (zeroed) RangeTblEntry node; a subquery entry's fields set.
    unsafe {
        (*rte).rtekind = sys::RTEKind_RTE_SUBQUERY;
        (*rte).subquery = subquery.as_ptr();
        (*rte).inFromCl = true;
        (*rte).eref = eref;
    }
    NonNull::new(rte).map(RangeTblEntry).ok_or_else(|| PgError::internal("a NULL RangeTblEntry"))
}

/// A range-table entry of no rows' source (`RTE_RESULT`, named `*RESULT*` as the planner names
/// one): the placeholder that keeps a range table's numbering where an entry is not read.
pub fn make_result_rte() -> PgResult<RangeTblEntry> {
    let name = c"*RESULT*";
    let p = name.as_ptr();
    // SAFETY: makeAlias copies the name.
    let eref = guard(|| unsafe { sys::makeAlias(p, std::ptr::null_mut()) })?;
    let rte: *mut sys::RangeTblEntry = nodes::make(sys::NodeTag_T_RangeTblEntry)?;
    // SAFETY: a new (zeroed) RangeTblEntry node; a result entry's fields set.
    unsafe {
        (*rte).rtekind = sys::RTEKind_RTE_RESULT;
        (*rte).eref = eref;
    }
    NonNull::new(rte).map(RangeTblEntry).ok_or_else(|| PgError::internal("a NULL RangeTblEntry"))
}

/// `SELECT <tlist> FROM <jointree>` over range table `rtable`, whose entries keep the numbering
/// (and, 16 and later, the permission infos) of `like`'s; it has sublinks or row-level
/// security where `like` has.
pub fn make_select_query(like: Query, rtable: List, jointree: FromExpr, tlist: List) -> PgResult<Query> {
    let q: *mut sys::Query = nodes::make(sys::NodeTag_T_Query)?;
    let src = like.as_ptr();
    // SAFETY: a new (zeroed) Query node, every field the planner reads set; `like` a valid Query.
    unsafe {
        (*q).commandType = sys::CmdType_CMD_SELECT;
        (*q).querySource = sys::QuerySource_QSRC_ORIGINAL;
        (*q).canSetTag = true;
        (*q).rtable = rtable.as_ptr();
        (*q).jointree = jointree.as_ptr();
        (*q).targetList = tlist.as_ptr();
        (*q).hasSubLinks = (*src).hasSubLinks;
        (*q).hasRowSecurity = (*src).hasRowSecurity;
        (*q).stmt_location = -1;
        guard(|| sys::pgf_query_copy_perminfos(q, src))?;
    }
    Node::of(q as *mut sys::Node)?.as_query().ok_or_else(|| PgError::internal("not a Query"))
}

/// A reference to range-table entry `rtindex` in a join tree.
pub fn make_range_tbl_ref(rtindex: u32) -> PgResult<RangeTblRef> {
    let rtindex = i32::try_from(rtindex).map_err(|_| PgError::internal("range-table index out of range"))?;
    let r: *mut sys::RangeTblRef = nodes::make(sys::NodeTag_T_RangeTblRef)?;
    // SAFETY: a new RangeTblRef node.
    unsafe { (*r).rtindex = rtindex };
    NonNull::new(r).map(RangeTblRef).ok_or_else(|| PgError::internal("a NULL RangeTblRef"))
}

/// A FROM list `fromlist` with WHERE `quals` (a join tree node).
pub fn make_from_expr(fromlist: List, quals: Option<Node>) -> PgResult<FromExpr> {
    let f: *mut sys::FromExpr = nodes::make(sys::NodeTag_T_FromExpr)?;
    // SAFETY: a new (zeroed) FromExpr node; every field set before use.
    unsafe {
        (*f).fromlist = fromlist.as_ptr();
        (*f).quals = quals.map_or(std::ptr::null_mut(), Node::as_ptr);
    }
    NonNull::new(f).map(FromExpr).ok_or_else(|| PgError::internal("a NULL FromExpr"))
}

/// `larg <jointype> JOIN rarg ON quals`, without a range-table entry of its own (`rtindex` 0),
/// not NATURAL, without USING or an alias.
pub fn make_join_expr(jointype: JoinType, larg: Node, rarg: Node, quals: Option<Node>) -> PgResult<JoinExpr> {
    let jointype = match jointype {
        JoinType::Inner => sys::JoinType_JOIN_INNER,
        JoinType::Left => sys::JoinType_JOIN_LEFT,
        JoinType::Full => sys::JoinType_JOIN_FULL,
        JoinType::Right => sys::JoinType_JOIN_RIGHT,
        JoinType::Semi => sys::JoinType_JOIN_SEMI,
        JoinType::Anti => sys::JoinType_JOIN_ANTI,
        JoinType::Other => return Err(PgError::internal("a join of an unknown type")),
    };
    let j: *mut sys::JoinExpr = nodes::make(sys::NodeTag_T_JoinExpr)?;
    // SAFETY: a new (zeroed) JoinExpr node; every field set before use.
    unsafe {
        (*j).jointype = jointype;
        (*j).larg = larg.as_ptr();
        (*j).rarg = rarg.as_ptr();
        (*j).quals = quals.map_or(std::ptr::null_mut(), Node::as_ptr);
    }
    NonNull::new(j).map(JoinExpr).ok_or_else(|| PgError::internal("a NULL JoinExpr"))
}
