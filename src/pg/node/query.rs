//! Views of a query's structure (`parsenodes.h`, `primnodes.h`): the Query, its range table,
//! join tree, target list, sort/group clauses, set operations and WITH entries.

use super::{elements, view, Node, Oid};
use crate::pg::error::{guard, PgError, PgResult};
use crate::pg::nodes;
use crate::pg::sys;

view! {
    /// An analyzed (or rewritten) query.
    Query(Query) {
        value has_aggs: bool = hasAggs;
        value has_window_funcs: bool = hasWindowFuncs;
        value has_target_srfs: bool = hasTargetSRFs;
        value has_sub_links: bool = hasSubLinks;
        value has_distinct_on: bool = hasDistinctOn;
        value has_recursive: bool = hasRecursive;
        value has_modifying_cte: bool = hasModifyingCTE;
        value has_for_update: bool = hasForUpdate;
        value has_row_security: bool = hasRowSecurity;
        value group_distinct: bool = groupDistinct;
        node utility_stmt = utilityStmt;
        node having_qual = havingQual;
        node limit_offset = limitOffset;
        node limit_count = limitCount;
        node set_operations = setOperations;
        node target_list_node = targetList;
        nodes grouping_sets = groupingSets;
        nodes row_marks = rowMarks;
        views cte_list: CommonTableExpr = cteList;
        views rtable: RangeTblEntry = rtable;
        views target_list: TargetEntry = targetList;
        views group_clause: SortGroupClause = groupClause;
        views window_clause: WindowClause = windowClause;
        views distinct_clause: SortGroupClause = distinctClause;
        views sort_clause: SortGroupClause = sortClause;
        view jointree: FromExpr = jointree;
        set_node set_having_qual = havingQual;
        set_node set_limit_offset = limitOffset;
        set_node set_limit_count = limitCount;
        set_list set_rtable = rtable;
        set_list set_target_list = targetList;
        set_list set_cte_list = cteList;
        set_list set_group_clause = groupClause;
        set_list set_sort_clause = sortClause;
        set_list set_distinct_clause = distinctClause;
        set_list set_window_clause = windowClause;
    }
}

impl Query {
    /// A plain SELECT (not a utility statement, not INSERT/UPDATE/DELETE/MERGE).
    pub fn is_select(self) -> bool {
        self.raw().commandType == sys::CmdType_CMD_SELECT && self.raw().utilityStmt.is_null()
    }

    /// `FETCH FIRST ... WITH TIES`.
    pub fn limit_with_ties(self) -> bool {
        self.raw().limitOption == sys::LimitOption_LIMIT_OPTION_WITH_TIES
    }

    /// The target entry a sort or group clause refers to (`get_sortgroupclause_tle`).
    pub fn sort_group_tle(self, sgc: SortGroupClause) -> PgResult<TargetEntry> {
        let r = sgc.tle_sort_group_ref();
        self.target_list()
            .into_iter()
            .find(|t| t.ressortgroupref() == r)
            .ok_or_else(|| PgError::internal("ORDER/GROUP BY expression not found in the target list"))
    }

    /// The range table as a list (for the plan's range table).
    pub fn rtable_list(self) -> super::List {
        super::List::from_ptr(self.raw().rtable)
    }

    /// The permission infos the range table's entries refer to (PostgreSQL 16 and later:
    /// `rteperminfos`; NIL on 15, where the entries hold their rights).
    pub fn perminfos_list(self) -> super::List {
        // SAFETY: reads one field of a valid Query.
        super::List::from_ptr(unsafe { sys::pgf_query_perminfos(self.0.as_ptr()) })
    }

    /// A copy of the query ready to translate at its own level, as PostgreSQL's planner sees it
    /// before planning: PostgreSQL 18's GROUP entry undone (the grouping expressions back in the
    /// select list and HAVING, `flatten_group_exprs`), and 16's outer-join nulling marks of
    /// this level's Vars removed (pg_fusion plans the level's outer joins itself; PostgreSQL
    /// plans only leaves of one relation, where a mark would name an entry they lack). Queries
    /// nested in sublinks keep their own marks: PostgreSQL plans them.
    pub fn for_translation(self) -> PgResult<Query> {
        let q = self.copy()?;
        let p = q.0.as_ptr();
        // SAFETY: our copy; flattening replaces two fields with new trees.
        guard(|| unsafe { sys::pgf_flatten_group_exprs(p) })?;
        q.without_nullingrels()
    }

    /// The query without its level's outer-join nulling marks (see [`Query::for_translation`]):
    /// a new tree from PostgreSQL 16 on, the query itself before (which has none).
    pub fn without_nullingrels(self) -> PgResult<Query> {
        let p = self.0.as_ptr() as *mut sys::Node;
        // SAFETY: `p` is a valid Query; the shim returns a copy (16+) or `p` itself (15).
        let stripped = guard(|| unsafe { sys::pgf_strip_nullingrels(p) })?;
        super::Node::of(stripped)?.as_query().ok_or_else(|| PgError::internal("not a Query"))
    }

    /// The range-table entry `rtindex` (1-based), if there is one.
    pub fn rte(self, rtindex: u32) -> Option<RangeTblEntry> {
        let i = (rtindex as usize).checked_sub(1)?;
        self.rtable().get(i).copied()
    }

    /// A copy of the query (`copyObject`).
    pub fn copy(self) -> PgResult<Query> {
        self.node().copy()?.as_query().ok_or_else(|| PgError::internal("a copy of a Query"))
    }

    /// Shifts the query's references to outer levels (`varlevelsup` >= `min_sublevels_up`)
    /// by `delta` levels (`IncrementVarSublevelsUp`), for a copy moved `delta` levels down.
    pub fn increment_var_sublevels_up(self, delta: i32, min_sublevels_up: i32) -> PgResult<()> {
        let q = self.0.as_ptr() as *mut sys::Node;
        // SAFETY: walks and edits a tree this planning call owns (module rules).
        guard(|| unsafe { sys::IncrementVarSublevelsUp(q, delta, min_sublevels_up) })
    }

    /// Adds `offset` to every range-table index of this level (Vars, RangeTblRefs,
    /// JoinExprs: `OffsetVarNodes(query, offset, 0)`), for a query whose range table is to
    /// follow another of `offset` entries.
    pub fn offset_var_nodes(self, offset: i32) -> PgResult<()> {
        let q = self.0.as_ptr() as *mut sys::Node;
        // SAFETY: edits a tree this planning call owns (module rules).
        guard(|| unsafe { sys::OffsetVarNodes(q, offset, 0) })
    }

    /// A copy of the query in which every column of range-table entry `rtindex` (this level)
    /// is the expression of the same-numbered entry of `tlist` (`ReplaceVarsFromTargetList`,
    /// an ERROR for a column it does not have); and whether a substituted expression holds a
    /// sublink.
    pub fn replace_vars_from_target_list(
        self,
        rtindex: u32,
        rte: RangeTblEntry,
        tlist: Query,
    ) -> PgResult<(Query, bool)> {
        let q = self.0.as_ptr() as *mut sys::Node;
        let (r, tl) = (rte.0.as_ptr(), tlist.raw().targetList);
        let mut has_sublinks = false;
        let has = &mut has_sublinks as *mut bool;
        // SAFETY: a mutator over a tree this planning call owns; `has` outlives the call.
        let out = guard(|| unsafe {
            sys::pgf_replace_vars_from_target_list(
                q,
                rtindex as i32,
                0,
                r,
                tl,
                sys::ReplaceVarsNoMatchOption_REPLACEVARS_REPORT_ERROR,
                0,
                has,
            )
        })?;
        let out = super::Node::of(out)?.as_query().ok_or_else(|| PgError::internal("not a Query"))?;
        Ok((out, has_sublinks))
    }

    /// Appends `other`'s range-table entries to this query's, with their permission infos
    /// (16 and later: `CombineRangeTables` renumbers them).
    pub fn append_rtable(self, other: Query) -> PgResult<()> {
        let (a, b) = (self.raw_mut(), other.0.as_ptr());
        // SAFETY: both queries are trees this planning call owns; the lists are extended in place.
        guard(|| unsafe { sys::pgf_append_rtable(a, b) })
    }

    /// `e` (an expression of this query) with its join alias Vars replaced by the expressions
    /// they stand for (`flatten_join_alias_vars`); a new tree.
    pub fn flatten_join_alias_vars(self, e: Node) -> PgResult<Node> {
        let (q, e) = (self.0.as_ptr(), e.as_ptr());
        // SAFETY: a mutator over an expression of this query; it builds a new tree.
        Node::of(guard(|| unsafe { sys::pgf_flatten_join_alias_vars(q, e) })?)
    }

    /// The grouping sets expanded as PostgreSQL does (`expand_grouping_sets`; GROUP BY
    /// DISTINCT drops repeated sets): each set as its members' `tleSortGroupRef`s (the empty
    /// set of a grand total included); None when there would be more than `limit`.
    pub fn expand_grouping_sets(self, limit: i32) -> PgResult<Option<Vec<Vec<u32>>>> {
        let (gs, distinct) = (self.raw().groupingSets, self.raw().groupDistinct);
        // SAFETY: the query's grouping sets; returns a List of integer Lists, NIL beyond `limit`.
        let expanded = guard(|| unsafe { sys::expand_grouping_sets(gs, distinct, limit) })?;
        if expanded.is_null() {
            return Ok(None);
        }
        // SAFETY: a List of integer Lists (an empty set is NIL, kept).
        let sets = unsafe { nodes::list::<sys::List>(expanded) };
        Ok(Some(sets.into_iter().map(|s| int_list(s).into_iter().map(|r| r as u32).collect()).collect()))
    }

    /// Removes ORDER BY, DISTINCT ON, OFFSET and LIMIT (`FETCH ... WITH TIES` too) from the
    /// query: its rows are then the whole unordered result they apply to.
    pub fn clear_order_and_limit(self) {
        // SAFETY: a tree this planning call owns (module rules).
        unsafe {
            let q = &mut *self.raw_mut();
            q.sortClause = std::ptr::null_mut();
            if q.hasDistinctOn {
                q.distinctClause = std::ptr::null_mut();
                q.hasDistinctOn = false;
            }
            q.limitOffset = std::ptr::null_mut();
            q.limitCount = std::ptr::null_mut();
            // A count option without a count: no limit (18 has no DEFAULT option).
            q.limitOption = sys::LimitOption_LIMIT_OPTION_COUNT;
        }
    }

    pub fn set_has_sub_links(self, v: bool) {
        // SAFETY: a tree this planning call owns (module rules).
        unsafe { (*self.raw_mut()).hasSubLinks = v };
    }

    pub fn set_has_target_srfs(self, v: bool) {
        // SAFETY: a tree this planning call owns (module rules).
        unsafe { (*self.raw_mut()).hasTargetSRFs = v };
    }

    pub fn set_has_window_funcs(self, v: bool) {
        // SAFETY: a tree this planning call owns (module rules).
        unsafe { (*self.raw_mut()).hasWindowFuncs = v };
    }

    pub fn set_has_aggs(self, v: bool) {
        // SAFETY: a tree this planning call owns (module rules).
        unsafe { (*self.raw_mut()).hasAggs = v };
    }
}

view! {
    /// A select-list (or aggregate argument) entry.
    TargetEntry(TargetEntry) {
        value resno: i16 = resno;
        value ressortgroupref: u32 = ressortgroupref;
        value resorigtbl: Oid = resorigtbl;
        value resjunk: bool = resjunk;
        node expr = expr;
        set_node set_expr = expr;
    }
}

impl TargetEntry {
    /// Makes the entry a sort/group key referred to by `tleSortGroupRef` `r` (0: none).
    pub fn set_ressortgroupref(self, r: u32) {
        // SAFETY: a tree this planning call owns (module rules).
        unsafe { (*self.raw_mut()).ressortgroupref = r };
    }
}

/// What a [`RangeTblEntry`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RteKind {
    Relation,
    Subquery,
    Join,
    Function,
    TableFunc,
    Values,
    Cte,
    NamedTuplestore,
    Result,
    /// PostgreSQL 18's grouping step (`RTE_GROUP`): undone by [`Query::for_translation`].
    #[cfg_attr(not(pg_ge18), allow(dead_code))]
    Group,
    /// A kind this layer does not know (a newer PostgreSQL's).
    Other,
}

/// The kind of a join (`JoinExpr`, a join RTE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinType {
    Inner,
    Left,
    Full,
    Right,
    Semi,
    Anti,
    Other,
}

fn join_type(t: sys::JoinType) -> JoinType {
    match t {
        sys::JoinType_JOIN_INNER => JoinType::Inner,
        sys::JoinType_JOIN_LEFT => JoinType::Left,
        sys::JoinType_JOIN_FULL => JoinType::Full,
        sys::JoinType_JOIN_RIGHT => JoinType::Right,
        sys::JoinType_JOIN_SEMI => JoinType::Semi,
        sys::JoinType_JOIN_ANTI => JoinType::Anti,
        _ => JoinType::Other,
    }
}

/// The rights a relation entry is read with. PostgreSQL 15 keeps them in the range-table entry;
/// 16 and later in the query's `rteperminfos`, at the entry's `perminfoindex`: read them
/// through [`RangeTblEntry::permission`], which knows where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    /// The role whose rights are checked (a view owner's for a view's tables), or 0 for the
    /// current user.
    pub check_as_user: Oid,
    /// The `AclMode` bits checked (`ACL_SELECT`, ...).
    pub required_perms: u64,
}

view! {
    /// An entry of a query's range table.
    RangeTblEntry(RangeTblEntry) {
        value relid: Oid = relid;
        value relkind: u8 = relkind;
        value rellockmode: i32 = rellockmode;
        value security_barrier: bool = security_barrier;
        value lateral: bool = lateral;
        value inh: bool = inh;
        value in_from_cl: bool = inFromCl;
        value ctelevelsup: u32 = ctelevelsup;
        value self_reference: bool = self_reference;
        node tablesample = tablesample;
        nodes joinaliasvars = joinaliasvars;
        nodes functions = functions;
        nodes values_lists = values_lists;
        nodes security_quals = securityQuals;
        view subquery: Query = subquery;
        set_node set_tablesample = tablesample;
        set_node set_subquery_node = subquery;
        set_list set_security_quals = securityQuals;
    }
}

impl RangeTblEntry {
    pub fn rtekind(self) -> RteKind {
        match self.raw().rtekind {
            sys::RTEKind_RTE_RELATION => RteKind::Relation,
            sys::RTEKind_RTE_SUBQUERY => RteKind::Subquery,
            sys::RTEKind_RTE_JOIN => RteKind::Join,
            sys::RTEKind_RTE_FUNCTION => RteKind::Function,
            sys::RTEKind_RTE_TABLEFUNC => RteKind::TableFunc,
            sys::RTEKind_RTE_VALUES => RteKind::Values,
            sys::RTEKind_RTE_CTE => RteKind::Cte,
            sys::RTEKind_RTE_NAMEDTUPLESTORE => RteKind::NamedTuplestore,
            sys::RTEKind_RTE_RESULT => RteKind::Result,
            #[cfg(pg_ge18)]
            sys::RTEKind_RTE_GROUP => RteKind::Group,
            _ => RteKind::Other,
        }
    }

    /// Marks the entry LATERAL (it may read columns of FROM items before it).
    pub fn set_lateral(self, v: bool) {
        // SAFETY: an entry of a tree this planning call owns (module rules).
        unsafe { (*self.raw_mut()).lateral = v };
    }

    /// The rights this entry is read with, in `query` (the query whose range table holds it).
    pub fn permission(self, query: Query) -> PgResult<Permission> {
        let (mut check_as_user, mut required_perms) = (0, 0);
        let (q, r) = (query.raw_mut(), self.0.as_ptr());
        let (u, p) = (&mut check_as_user as *mut sys::Oid, &mut required_perms as *mut u64);
        // 16+: an ERROR (caught) when the entry's `perminfoindex` does not match `rteperminfos`.
        // SAFETY: `r` is an entry of `q`'s range table, both valid nodes; `u` and `p` outlive the call.
        guard(|| unsafe { sys::pgf_rte_permission(q, r, u, p) })?;
        Ok(Permission { check_as_user, required_perms })
    }

    /// The entry's name in the query (`eref->aliasname`: the alias, else the relation's or the
    /// function's name, `*VALUES*`), for display only.
    pub fn alias_name(self) -> String {
        let eref = self.raw().eref;
        if eref.is_null() {
            return String::new();
        }
        // SAFETY: eref is an Alias of the tree; its aliasname is a NUL-terminated string.
        unsafe { nodes::cstr((*eref).aliasname) }
    }

    /// The name a WITH entry refers to (`ctename`), empty for other entries.
    /// The WITH query's name as its bytes: names are compared, and in a database not encoded in
    /// UTF-8 two names a lossy conversion maps to one string would be confused.
    pub fn ctename(self) -> Vec<u8> {
        // SAFETY: ctename is NULL or a NUL-terminated string of the tree.
        unsafe { nodes::cstr_bytes(self.raw().ctename) }
    }
}

impl RangeTblEntry {
    /// Turns this WITH reference (`RTE_CTE`) into a subquery entry over `query` (a copy of the
    /// WITH query, its outer references already shifted to this entry's depth), as
    /// PostgreSQL's `inline_cte` does. The entry keeps the column names the query uses (`WITH
    /// r (a, b) AS ...`): an alias holding them, under the WITH query's name when the reference
    /// had no alias.
    pub fn inline_cte(self, query: Query) -> PgResult<()> {
        let name = self.ctename();
        let r = self.raw_mut();
        // SAFETY: an entry of a tree this planning call owns (module rules); every entry of an analyzed query has its eref; makeAlias copies the name.
        unsafe {
            let colnames = nodes::copy((*(*r).eref).colnames)?;
            if (*r).alias.is_null() {
                let c = std::ffi::CString::new(name).map_err(|e| PgError::internal(e.to_string()))?;
                let p = c.as_ptr();
                (*r).alias = guard(|| sys::makeAlias(p, colnames))?;
            } else if (*(*r).alias).colnames.is_null() {
                (*(*r).alias).colnames = colnames;
            }
            let e = &mut *r;
            e.rtekind = sys::RTEKind_RTE_SUBQUERY;
            e.subquery = query.0.as_ptr();
            e.security_barrier = false;
            e.ctename = std::ptr::null_mut();
            e.ctelevelsup = 0;
            e.self_reference = false;
            e.coltypes = std::ptr::null_mut();
            e.coltypmods = std::ptr::null_mut();
            e.colcollations = std::ptr::null_mut();
        }
        Ok(())
    }
}

view! {
    /// A reference to range-table entry `rtindex` in a join tree.
    RangeTblRef(RangeTblRef) {
        value rtindex: u32 = rtindex;
    }
}

view! {
    /// The FROM list and WHERE of a query (or a subquery's join tree).
    FromExpr(FromExpr) {
        node quals = quals;
        nodes fromlist = fromlist;
        set_node set_quals = quals;
        set_list set_fromlist = fromlist;
    }
}

view! {
    /// A JOIN in the join tree.
    JoinExpr(JoinExpr) {
        value rtindex: u32 = rtindex;
        node larg = larg;
        node rarg = rarg;
        node quals = quals;
        set_node set_larg = larg;
        set_node set_rarg = rarg;
        set_node set_quals = quals;
    }
}

impl FromExpr {
    /// Replaces the `i`-th item of the FROM list.
    pub fn set_fromlist_nth(self, i: usize, node: Node) -> PgResult<()> {
        let (l, p) = (self.raw().fromlist, node.as_ptr() as *mut std::ffi::c_void);
        if i >= self.fromlist().len() {
            return Err(PgError::internal("FROM list index out of range"));
        }
        // SAFETY: a list of a tree this planning call owns; `i` is within it.
        guard(|| unsafe { sys::pgf_list_set_nth(l, i as i32, p) })
    }
}

impl JoinExpr {
    pub fn jointype(self) -> JoinType {
        join_type(self.raw().jointype)
    }
}

view! {
    /// An ORDER BY, GROUP BY or DISTINCT item, pointing at a target entry by `tleSortGroupRef`.
    SortGroupClause(SortGroupClause) {
        value tle_sort_group_ref: u32 = tleSortGroupRef;
        value eqop: Oid = eqop;
        value sortop: Oid = sortop;
        value nulls_first: bool = nulls_first;
        value hashable: bool = hashable;
    }
}

/// The operation of a [`SetOperationStmt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Intersect,
    Except,
}

view! {
    /// UNION / INTERSECT / EXCEPT of two arms (range-table references or nested operations).
    SetOperationStmt(SetOperationStmt) {
        value all: bool = all;
        node larg = larg;
        node rarg = rarg;
    }
}

impl SetOperationStmt {
    /// The operation; None for `SETOP_NONE`, which no analyzed query holds.
    pub fn op(self) -> Option<SetOp> {
        match self.raw().op {
            sys::SetOperation_SETOP_UNION => Some(SetOp::Union),
            sys::SetOperation_SETOP_INTERSECT => Some(SetOp::Intersect),
            sys::SetOperation_SETOP_EXCEPT => Some(SetOp::Except),
            _ => None,
        }
    }

    /// The output column types (`colTypes`).
    pub fn col_types(self) -> Vec<Oid> {
        oid_list(self.raw().colTypes)
    }

    /// The output column typmods (`colTypmods`).
    pub fn col_typmods(self) -> Vec<i32> {
        int_list(self.raw().colTypmods)
    }

    /// The output column collations (`colCollations`).
    pub fn col_collations(self) -> Vec<Oid> {
        oid_list(self.raw().colCollations)
    }
}

view! {
    /// A WITH entry.
    CommonTableExpr(CommonTableExpr) {
        value cterecursive: bool = cterecursive;
        value cterefcount: i32 = cterefcount;
        node ctequery = ctequery;
    }
}

impl CommonTableExpr {
    /// Does PostgreSQL compute it once for all its references, every column
    /// (`SS_process_ctes`): `MATERIALIZED`, or read more than once without `NOT MATERIALIZED`?
    pub fn materialized(self) -> bool {
        let r = self.raw();
        !(r.ctematerialized == sys::CTEMaterialize_CTEMaterializeNever
            || (r.ctematerialized == sys::CTEMaterialize_CTEMaterializeDefault && r.cterefcount == 1))
    }

    /// The referenced WITH query's name as its bytes (see `CommonTableExpr::ctename`).
    pub fn ctename(self) -> Vec<u8> {
        // SAFETY: ctename is a NUL-terminated string of the tree.
        unsafe { nodes::cstr_bytes(self.raw().ctename) }
    }

    pub fn set_cterefcount(self, n: i32) {
        // SAFETY: an entry of a tree this planning call owns (module rules).
        unsafe { (*self.raw_mut()).cterefcount = n };
    }
}

impl RangeTblEntry {
    /// `WITH [RECURSIVE] <ctes> SELECT <every column> FROM <this entry>`: a query of its own
    /// reading this WITH reference (an RTE_CTE, copied with `ctelevelsup` 0) over `ctes` (the
    /// WITH list it refers to, copied as they are: the caller sets their reference counts).
    pub fn cte_scan_query(self, ctes: &[CommonTableExpr], recursive: bool) -> PgResult<Query> {
        let r = self.raw();
        if r.rtekind != sys::RTEKind_RTE_CTE || r.eref.is_null() {
            return Err(PgError::internal("a WITH query's scan of an entry that is not a WITH reference"));
        }
        let (types, typmods, collations) =
            (oid_list(r.coltypes), int_list(r.coltypmods), oid_list(r.colcollations));
        // The WITH query's own name and column names, not the reference's alias: every
        // reference then builds the same query (one shared scan, as PostgreSQL computes it once).
        // SAFETY: ctename is a NUL-terminated string of the tree.
        let ctename = unsafe { nodes::cstr_bytes(r.ctename) };
        let cte = ctes.iter().find(|c| c.ctename() == ctename).ok_or_else(|| {
            PgError::internal(format!("WITH query \"{}\" not found", String::from_utf8_lossy(&ctename)))
        })?;
        let colnames = cte.raw().ctecolnames;
        // SAFETY: ctecolnames is a List of String nodes.
        let names: Vec<String> = unsafe { nodes::list::<sys::String>(colnames) }
            .into_iter()
            // SAFETY: a String node of the list; sval a NUL-terminated string.
            .map(|n| unsafe { nodes::cstr((*n).sval) })
            .collect();
        if typmods.len() != types.len() || collations.len() != types.len() || names.len() != types.len() {
            return Err(PgError::internal("a WITH reference's column lists differ in length"));
        }
        let rte = nodes::copy(self.0.as_ptr())?;
        let mut tlist: *mut sys::List = std::ptr::null_mut();
        for (i, name) in names.iter().enumerate() {
            let attno = i16::try_from(i + 1).map_err(|_| PgError::internal("too many columns"))?;
            let var = super::make_var(1, attno, types[i], typmods[i], collations[i], 0)?;
            let te = super::make_target_entry_with(var, attno, Some(name), false)?;
            tlist = nodes::append(tlist, te.as_ptr() as *mut std::ffi::c_void)?;
        }
        let mut ctelist: *mut sys::List = std::ptr::null_mut();
        for c in ctes {
            ctelist = nodes::append(ctelist, nodes::copy(c.as_ptr())? as *mut std::ffi::c_void)?;
        }
        let rtr: *mut sys::RangeTblRef = nodes::make(sys::NodeTag_T_RangeTblRef)?;
        let colnames = nodes::copy(colnames)?;
        let name = r.ctename;
        // SAFETY: makeAlias copies the name (a string of the tree) and keeps the copied list.
        let eref = guard(|| unsafe { sys::makeAlias(name, colnames) })?;
        // SAFETY: new nodes (and our copy of the entry), every field the planner reads set.
        unsafe {
            (*rte).ctelevelsup = 0;
            (*rte).alias = std::ptr::null_mut();
            (*rte).eref = eref;
            (*rtr).rtindex = 1;
            let from_list = nodes::append(std::ptr::null_mut(), rtr as *mut std::ffi::c_void)?;
            let jointree = guard(|| sys::makeFromExpr(from_list, std::ptr::null_mut()))?;
            let q: *mut sys::Query = nodes::make(sys::NodeTag_T_Query)?;
            (*q).commandType = sys::CmdType_CMD_SELECT;
            (*q).querySource = sys::QuerySource_QSRC_ORIGINAL;
            (*q).canSetTag = true;
            (*q).rtable = nodes::append(std::ptr::null_mut(), rte as *mut std::ffi::c_void)?;
            (*q).jointree = jointree;
            (*q).targetList = tlist;
            (*q).cteList = ctelist;
            (*q).hasRecursive = recursive;
            (*q).stmt_location = -1;
            super::Node::of(q as *mut sys::Node)?.as_query().ok_or_else(|| PgError::internal("not a Query"))
        }
    }
}

view! {
    /// A window definition (`OVER (...)`), numbered `winref`.
    WindowClause(WindowClause) {
        value winref: u32 = winref;
        value frame_options: i32 = frameOptions;
        node start_offset = startOffset;
        node end_offset = endOffset;
        views partition_clause: SortGroupClause = partitionClause;
        views order_clause: SortGroupClause = orderClause;
    }
}

/// A target-list entry `resno` computing `expr`, without a name (`makeTargetEntry`).
pub fn make_target_entry(expr: Node, resno: i16) -> PgResult<TargetEntry> {
    let e = expr.as_ptr() as *mut sys::Expr;
    // SAFETY: makeTargetEntry allocates in the current memory context.
    let t = guard(|| unsafe { sys::makeTargetEntry(e, resno, std::ptr::null_mut(), false) })?;
    std::ptr::NonNull::new(t)
        .map(TargetEntry)
        .ok_or_else(|| PgError::internal("makeTargetEntry returned NULL"))
}

/// A target-list entry computing `expr` with `like`'s number, name and junk flag (the name
/// string is shared, as PostgreSQL's copies share nothing they later free).
pub fn make_target_entry_like(expr: Node, like: TargetEntry) -> PgResult<TargetEntry> {
    let e = expr.as_ptr() as *mut sys::Expr;
    let l = like.raw();
    let (resno, resname, resjunk) = (l.resno, l.resname, l.resjunk);
    // SAFETY: makeTargetEntry allocates; resname is the analyzed entry's own string.
    let t = guard(|| unsafe { sys::makeTargetEntry(e, resno, resname, resjunk) })?;
    std::ptr::NonNull::new(t)
        .map(TargetEntry)
        .ok_or_else(|| PgError::internal("makeTargetEntry returned NULL"))
}

/// A column of a plan node's child's tuple: `Var(OUTER_VAR, attno)` (`makeVar`), as
/// `set_plan_references` leaves an upper node's columns.
pub fn make_outer_var(attno: usize, typid: Oid, typmod: i32, collation: Oid) -> PgResult<Node> {
    let attno = i16::try_from(attno).map_err(|_| PgError::internal("child tuple column number"))?;
    // SAFETY: makeVar allocates a Var in the current memory context.
    Node::of(guard(|| unsafe { sys::makeVar(sys::OUTER_VAR, attno, typid, typmod, collation, 0) })?)
}

/// A column of the custom scan's tuple: `Var(INDEX_VAR, attno)` (`makeVar`).
pub fn make_index_var(attno: usize, typid: Oid, typmod: i32, collation: Oid) -> PgResult<Node> {
    let attno = i16::try_from(attno).map_err(|_| PgError::internal("scan tuple column number"))?;
    // SAFETY: makeVar allocates a Var in the current memory context.
    Node::of(guard(|| unsafe { sys::makeVar(sys::INDEX_VAR, attno, typid, typmod, collation, 0) })?)
}

/// The entries of a target list held as a raw `List`.
pub(super) fn target_entries(l: *mut sys::List) -> Vec<TargetEntry> {
    elements(l).into_iter().map(|p| TargetEntry(p.cast())).collect()
}

/// The OIDs of an OID list (NIL gives none).
fn oid_list(l: *mut sys::List) -> Vec<Oid> {
    // SAFETY: `l` is NIL or an OID list of the tree.
    unsafe { (0..sys::pgf_list_length(l)).map(|i| sys::pgf_list_nth_oid(l, i)).collect() }
}

/// The integers of an integer list (NIL gives none).
fn int_list(l: *mut sys::List) -> Vec<i32> {
    // SAFETY: `l` is NIL or an integer list of the tree.
    unsafe { (0..sys::pgf_list_length(l)).map(|i| sys::pgf_list_nth_int(l, i)).collect() }
}
