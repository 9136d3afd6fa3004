//! Views of expression nodes (`primnodes.h`). Field names are PostgreSQL's, in snake case.

use super::{view, Datum, Node, Oid};
use crate::pg::sys;

view! {
    /// A column of a range-table entry (`varlevelsup` levels up).
    Var(Var) {
        value varno: u32 = varno;
        value varattno: i16 = varattno;
        value vartype: Oid = vartype;
        value vartypmod: i32 = vartypmod;
        value varcollid: Oid = varcollid;
        value varlevelsup: u32 = varlevelsup;
    }
}

impl Var {
    /// A column of the custom scan's tuple (`varno = INDEX_VAR`).
    pub fn is_index_var(self) -> bool {
        self.raw().varno == sys::INDEX_VAR
    }

    /// Renumbers a Var this planning call made (a scan-tuple column whose position is known
    /// only later).
    pub fn set_varattno(self, attno: i16) {
        // SAFETY: a node of a tree this planning call owns (module rules).
        unsafe { (*self.raw_mut()).varattno = attno };
    }

    /// Moves a Var this planning call copied to another query level (`varlevelsup`).
    pub fn set_varlevelsup(self, levelsup: u32) {
        // SAFETY: a node of a tree this planning call owns (module rules).
        unsafe { (*self.raw_mut()).varlevelsup = levelsup };
    }

    /// Points a Var of our copy of a query at column `attno` of entry `varno` (its display
    /// name, `varnosyn`/`varattnosyn`, too).
    pub fn renumber(self, varno: u32, attno: i16) -> crate::pg::error::PgResult<()> {
        let no = i32::try_from(varno)
            .map_err(|_| crate::pg::error::PgError::internal("range-table index out of range"))?;
        // SAFETY: a node of a tree this planning call owns (module rules).
        unsafe {
            let v = &mut *self.raw_mut();
            v.varno = no;
            v.varattno = attno;
            v.varnosyn = varno;
            v.varattnosyn = attno;
        }
        Ok(())
    }

    /// Its outer-join nulling marks (16 and later; nothing on 15): the outer joins in `relids`.
    pub fn set_nullingrels(self, relids: &[i32]) -> crate::pg::error::PgResult<()> {
        let (v, p, n) = (self.raw_mut(), relids.as_ptr(), relids.len() as i32);
        // SAFETY: a Var of a tree this planning call owns; `relids` outlives the call.
        crate::pg::error::guard(|| unsafe { sys::pgf_var_set_nullingrels(v, p, n) })
    }
}

view! {
    /// `GROUPING(args)`.
    GroupingFunc(GroupingFunc) {
        value agglevelsup: u32 = agglevelsup;
        nodes args = args;
    }
}

view! {
    /// A constant value.
    Const(Const) {
        value consttype: Oid = consttype;
        value consttypmod: i32 = consttypmod;
        value constcollid: Oid = constcollid;
        value constvalue: Datum = constvalue;
        value constisnull: bool = constisnull;
    }
}

view! {
    /// A parameter (`$1` of a prepared statement, or a planner parameter).
    Param(Param) {
        value paramid: i32 = paramid;
        value paramtype: Oid = paramtype;
        value paramtypmod: i32 = paramtypmod;
    }
}

impl Param {
    /// A parameter of the statement (`$1`), which the executor reads from its parameter list.
    pub fn is_extern(self) -> bool {
        self.raw().paramkind == sys::ParamKind_PARAM_EXTERN
    }

    /// The output column `paramid` of a SubLink's subquery, in its `testexpr` (PARAM_SUBLINK).
    pub fn is_sublink(self) -> bool {
        self.raw().paramkind == sys::ParamKind_PARAM_SUBLINK
    }
}

view! {
    /// A binary (or unary) operator.
    OpExpr(OpExpr) {
        value opno: Oid = opno;
        value opfuncid: Oid = opfuncid;
        value opresulttype: Oid = opresulttype;
        value opcollid: Oid = opcollid;
        value inputcollid: Oid = inputcollid;
        nodes args = args;
        set_list set_args = args;
    }
}

view! {
    /// A function call (also casts by function).
    FuncExpr(FuncExpr) {
        value funcid: Oid = funcid;
        value funcresulttype: Oid = funcresulttype;
        value funcretset: bool = funcretset;
        value funcvariadic: bool = funcvariadic;
        value funccollid: Oid = funccollid;
        value inputcollid: Oid = inputcollid;
        nodes args = args;
        set_list set_args = args;
    }
}

/// The operator of a [`BoolExpr`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoolOp {
    And,
    Or,
    Not,
}

view! {
    /// AND, OR, NOT.
    BoolExpr(BoolExpr) {
        nodes args = args;
        set_list set_args = args;
    }
}

impl BoolExpr {
    pub fn boolop(self) -> BoolOp {
        match self.raw().boolop {
            sys::BoolExprType_AND_EXPR => BoolOp::And,
            sys::BoolExprType_OR_EXPR => BoolOp::Or,
            _ => BoolOp::Not,
        }
    }
}

view! {
    /// `IS [NOT] NULL`.
    NullTest(NullTest) {
        value argisrow: bool = argisrow;
        node arg = arg;
    }
}

impl NullTest {
    /// `IS NULL` (else `IS NOT NULL`).
    pub fn is_null(self) -> bool {
        self.raw().nulltesttype == sys::NullTestType_IS_NULL
    }
}

view! {
    /// `CASE [arg] WHEN ... THEN ... ELSE defresult END`.
    CaseExpr(CaseExpr) {
        value casetype: Oid = casetype;
        value casecollid: Oid = casecollid;
        node arg = arg;
        node defresult = defresult;
        views whens: CaseWhen = args;
    }
}

view! {
    /// One `WHEN expr THEN result` of a [`CaseExpr`].
    CaseWhen(CaseWhen) {
        node expr = expr;
        node result = result;
    }
}

view! {
    /// `COALESCE(args)`.
    CoalesceExpr(CoalesceExpr) {
        value coalescetype: Oid = coalescetype;
        value coalescecollid: Oid = coalescecollid;
        nodes args = args;
    }
}

view! {
    /// A binary-compatible relabelling (`varchar` read as `text`).
    RelabelType(RelabelType) {
        value resulttype: Oid = resulttype;
        value resulttypmod: i32 = resulttypmod;
        value resultcollid: Oid = resultcollid;
        node arg = arg;
    }
}

view! {
    /// `arg COLLATE coll`.
    CollateExpr(CollateExpr) {
        value coll_oid: Oid = collOid;
        node arg = arg;
    }
}

view! {
    /// `x op ANY|ALL (array)`, `x IN (...)`.
    ScalarArrayOpExpr(ScalarArrayOpExpr) {
        value opno: Oid = opno;
        value opfuncid: Oid = opfuncid;
        value use_or: bool = useOr;
        value inputcollid: Oid = inputcollid;
        nodes args = args;
    }
}

view! {
    /// An aggregate call; `args` are TargetEntries, `aggorder`/`aggdistinct` SortGroupClauses.
    Aggref(Aggref) {
        value aggfnoid: Oid = aggfnoid;
        value aggtype: Oid = aggtype;
        value aggcollid: Oid = aggcollid;
        value inputcollid: Oid = inputcollid;
        value aggstar: bool = aggstar;
        value aggvariadic: bool = aggvariadic;
        value aggkind: u8 = aggkind;
        value agglevelsup: u32 = agglevelsup;
        node aggfilter = aggfilter;
        nodes aggdirectargs = aggdirectargs;
        views args: TargetEntry = args;
        views aggorder: SortGroupClause = aggorder;
        views aggdistinct: SortGroupClause = aggdistinct;
    }
}

impl Aggref {
    /// Clears the call's aggregate and transition state numbers (-1, as the parser leaves
    /// them), so that `equal` (which compares them on 15) sees only the call.
    pub fn clear_numbers(self) {
        // SAFETY: a valid Aggref of a tree this planning call owns; plain fields of the node.
        unsafe {
            (*self.raw_mut()).aggno = -1;
            (*self.raw_mut()).aggtransno = -1;
        }
    }

    /// Numbers the call as the planner does before the executor runs an Agg node over it
    /// (`preprocess_aggrefs`): its own aggregate and transition state `n` (no sharing), and its
    /// transition type resolved (pg_aggregate's, polymorphic types from the arguments). Returns
    /// the aggregate's combine function (0: none).
    pub fn number_for_agg_node(self, n: i32) -> PgResult<Oid> {
        let a = self.raw_mut();
        let mut combinefn: Oid = 0;
        let c = &mut combinefn as *mut Oid;
        // The shim reads the catalog (an ERROR for a missing aggregate is caught by `guard`).
        // SAFETY: `a` is a valid Aggref of a tree this planning call owns; `c` points at a live local.
        let transtype = guard(|| unsafe { sys::pgf_aggref_transtype(a, c) })?;
        // SAFETY: as above; plain fields of the node.
        unsafe {
            (*a).aggno = n;
            (*a).aggtransno = n;
            (*a).aggtranstype = transtype;
        }
        Ok(combinefn)
    }
}

view! {
    /// A window function call over window clause `winref`.
    WindowFunc(WindowFunc) {
        value winfnoid: Oid = winfnoid;
        value wintype: Oid = wintype;
        value wincollid: Oid = wincollid;
        value inputcollid: Oid = inputcollid;
        value winref: u32 = winref;
        value winstar: bool = winstar;
        value winagg: bool = winagg;
        node aggfilter = aggfilter;
        nodes args = args;
    }
}

/// What a [`SubLink`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubLinkType {
    Exists,
    All,
    Any,
    RowCompare,
    /// A scalar subquery.
    Expr,
    MultiExpr,
    Array,
    Cte,
}

view! {
    /// A subquery in an expression.
    SubLink(SubLink) {
        value sub_link_id: i32 = subLinkId;
        node testexpr = testexpr;
        node subselect = subselect;
        set_node set_testexpr = testexpr;
    }
}

impl SubLink {
    pub fn sub_link_type(self) -> SubLinkType {
        match self.raw().subLinkType {
            sys::SubLinkType_EXISTS_SUBLINK => SubLinkType::Exists,
            sys::SubLinkType_ALL_SUBLINK => SubLinkType::All,
            sys::SubLinkType_ANY_SUBLINK => SubLinkType::Any,
            sys::SubLinkType_ROWCOMPARE_SUBLINK => SubLinkType::RowCompare,
            sys::SubLinkType_EXPR_SUBLINK => SubLinkType::Expr,
            sys::SubLinkType_MULTIEXPR_SUBLINK => SubLinkType::MultiExpr,
            sys::SubLinkType_ARRAY_SUBLINK => SubLinkType::Array,
            _ => SubLinkType::Cte,
        }
    }

    /// The subquery, when it is an analyzed Query (always, after parse analysis).
    pub fn query(self) -> Option<Query> {
        self.subselect().and_then(Node::as_query)
    }
}

use super::{Query, SortGroupClause, TargetEntry};

impl Const {
    /// A non-NULL `numeric` constant as `numeric_out` prints it (`NaN`, `Infinity` included).
    pub fn numeric_text(self) -> PgResult<Option<String>> {
        let c = self.raw();
        if c.constisnull || c.consttype != sys::NUMERICOID {
            return Ok(None);
        }
        let d = c.constvalue;
        // SAFETY: numeric_out of a numeric Datum; the result is a palloc'd C string.
        guard(|| unsafe { nodes::cstr(sys::pgf_numeric_out(d)) }).map(Some)
    }

    /// A non-NULL `text` or `varchar` constant's value as characters: in a UTF8 database, or
    /// ASCII (the same bytes in every server encoding); None for other text.
    pub fn text(self) -> PgResult<Option<String>> {
        let Some(bytes) = self.text_bytes()? else { return Ok(None) };
        if !bytes.is_ascii() && !crate::pg::catalog::database_is_utf8() {
            return Ok(None);
        }
        Ok(String::from_utf8(bytes).ok())
    }

    /// A non-NULL `text` or `varchar` constant's bytes, in the server encoding.
    pub fn text_bytes(self) -> PgResult<Option<Vec<u8>>> {
        let c = self.raw();
        if c.constisnull || !matches!(c.consttype, sys::TEXTOID | sys::VARCHAROID) {
            return Ok(None);
        }
        let d = c.constvalue;
        // Detoasting may copy the value (toasted or short-headed) into the planner's memory
        // context, which frees it; the bytes are copied out before anything else runs.
        // SAFETY: `d` is a non-NULL text Datum of this Const; the slice spans its detoasted data.
        guard(|| unsafe {
            let v = sys::pgf_detoast_packed(d);
            std::slice::from_raw_parts(sys::pgf_vardata_any(v) as *const u8, sys::pgf_varsize_any_exhdr(v))
                .to_vec()
        })
        .map(Some)
    }

    /// A non-NULL `interval` constant: (months, days, microseconds).
    pub fn interval(self) -> Option<(i32, i32, i64)> {
        let c = self.raw();
        if c.constisnull || c.consttype != sys::INTERVALOID {
            return None;
        }
        // SAFETY: an interval Datum is a pointer to an Interval (pass by reference).
        let i = unsafe { &*(c.constvalue as *const sys::Interval) };
        Some((i.month, i.day, i.time))
    }
}

use crate::pg::error::{guard, PgResult};
use crate::pg::nodes;
