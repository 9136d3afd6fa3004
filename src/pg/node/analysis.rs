//! What PostgreSQL's own functions tell about an expression tree (`nodeFuncs.c`, `clauses.c`,
//! `var.c`), and the nodes the rewrites make (`makefuncs.c`). Each runs under `guard`: a
//! PostgreSQL ERROR (out of memory, a catalog lookup that fails, the stack depth limit) comes
//! back as `Err`.

use super::{Node, Oid};
use crate::pg::error::{guard, PgResult};
use crate::pg::sys;

impl Node {
    /// (`exprType`, `exprTypmod`, `exprCollation`) of an expression.
    pub fn expr_type(self) -> PgResult<(Oid, i32, Oid)> {
        let e = self.as_ptr();
        // SAFETY: the three read a valid expression tree.
        guard(|| unsafe { (sys::exprType(e), sys::exprTypmod(e), sys::exprCollation(e)) })
    }

    /// The one range-table index the expression's columns of this level come from: 0 when it
    /// has none, -1 when several (`pull_varnos`).
    pub fn varno(self) -> PgResult<i32> {
        let e = self.as_ptr();
        // SAFETY: pull_varnos over a valid expression of this query level.
        guard(|| unsafe { sys::pgf_expr_varno(e) })
    }

    /// One of PostgreSQL's yes/no walks of an expression tree, under `guard`.
    fn ask(self, walk: unsafe extern "C" fn(*mut sys::Node) -> bool) -> PgResult<bool> {
        let e = self.as_ptr();
        // SAFETY: `walk` is one of the tree walks below, over a valid expression tree.
        guard(|| unsafe { walk(e) })
    }

    /// `contain_volatile_functions`.
    pub fn contains_volatile_functions(self) -> PgResult<bool> {
        self.ask(sys::contain_volatile_functions)
    }

    /// `contain_nonstrict_functions`.
    pub fn contains_nonstrict_functions(self) -> PgResult<bool> {
        self.ask(sys::contain_nonstrict_functions)
    }

    /// `contain_window_function`.
    pub fn contains_window_function(self) -> PgResult<bool> {
        self.ask(sys::contain_window_function)
    }

    /// `expression_returns_set`: does the expression call a set-returning function?
    pub fn returns_set(self) -> PgResult<bool> {
        self.ask(sys::expression_returns_set)
    }

    /// `checkExprHasSubLink`.
    pub fn has_sub_link(self) -> PgResult<bool> {
        self.ask(sys::checkExprHasSubLink)
    }

    /// `contain_vars_of_level(node, levelsup)`.
    pub fn contains_vars_of_level(self, levelsup: i32) -> PgResult<bool> {
        let e = self.as_ptr();
        // SAFETY: a walk of a valid expression tree.
        guard(|| unsafe { sys::contain_vars_of_level(e, levelsup) })
    }

    /// Does the tree hold a column of an enclosing query (a Var of any level above its own)?
    /// PostgreSQL nests queries only as deep as its stack allows: 64 levels cover any it runs.
    pub fn contains_outer_vars(self) -> PgResult<bool> {
        for level in 1..=64 {
            if self.contains_vars_of_level(level)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Does the tree (an expression or a query, subqueries included) hold a TABLESAMPLE without
    /// REPEATABLE? Each scan of such a sample draws a seed of its own: like a volatile function,
    /// two copies of it are two samples.
    pub fn has_unseeded_sample(self) -> PgResult<bool> {
        let mut found = false;
        crate::pg::walk::walk_expr(self.as_ptr(), |node, _| {
            // SAFETY: a valid node of the tree; a TableSampleClause read per its tag.
            let unseeded = unsafe {
                crate::pg::nodes::tag(node) == sys::NodeTag_T_TableSampleClause
                    && (*(node as *mut sys::TableSampleClause)).repeatable.is_null()
            };
            found = found || unseeded;
            Ok(if found { crate::pg::walk::Visit::Skip } else { crate::pg::walk::Visit::Children })
        })?;
        Ok(found)
    }

    /// A constant expression (no columns, no volatile functions, no subqueries: `1 + 10`): one
    /// value for every row.
    pub fn is_constant(self) -> PgResult<bool> {
        Ok(self.varno()? == 0 && !self.contains_volatile_functions()? && !self.has_sub_link()?)
    }
}

/// Is `f` marked leakproof (`get_func_leakproof`)?
pub fn func_leakproof(f: Oid) -> PgResult<bool> {
    // SAFETY: a catalog lookup (ERROR for a missing function, caught).
    guard(|| unsafe { sys::get_func_leakproof(f) })
}

impl Node {
    /// The expression folded as the planner would without planner state
    /// (`eval_const_expressions(NULL, e)`: immutable functions of constants become constants).
    /// The result is a new tree; `self` is not changed.
    pub fn eval_const_expressions(self) -> PgResult<Node> {
        let e = self.as_ptr();
        // SAFETY: constant folding of a valid expression; a mutator, it builds a new tree.
        let folded = guard(|| unsafe { sys::eval_const_expressions(std::ptr::null_mut(), e) })?;
        Node::of(folded)
    }
}

impl Node {
    /// Walks the expression tree under `self` (`self` included) with PostgreSQL's
    /// `expression_tree_walker`; see `pg::walk` for the rules. `visit` gets each node and the
    /// query depth (0 here, one more inside each subquery).
    pub fn walk(self, mut visit: impl FnMut(Node, u32) -> PgResult<Visit>) -> PgResult<()> {
        walk::walk_expr(self.as_ptr(), |n, depth| visit(Node::of(n)?, depth))
    }

    /// A copy of the tree under `self` in which every node for which `replace` returns a node
    /// is replaced by it (`expression_tree_mutator`); `self` is not changed.
    pub fn mutate(self, mut replace: impl FnMut(Node) -> PgResult<Option<Node>>) -> PgResult<Node> {
        let out = walk::mutate_expr(self.as_ptr(), |n| Ok(replace(Node::of(n)?)?.map(Node::as_ptr)))?;
        Node::of(out)
    }
}

impl Query {
    /// Walks the query's expression trees with `query_tree_walker` (`flags`: `QTW_*`),
    /// subqueries one level deeper; see `pg::walk`.
    pub fn walk(self, flags: u32, mut visit: impl FnMut(Node, u32) -> PgResult<Visit>) -> PgResult<()> {
        walk::walk_query(self.0.as_ptr(), flags, |n, depth| visit(Node::of(n)?, depth))
    }
}

/// A NULL constant of a type (`makeNullConst`).
pub fn make_null_const(typid: Oid, typmod: i32, collation: Oid) -> PgResult<Node> {
    // SAFETY: makeNullConst allocates a Const in the current memory context.
    Node::of(guard(|| unsafe { sys::makeNullConst(typid, typmod, collation) })?)
}

use super::Query;
use crate::pg::walk::{self, Visit};

/// `AND`/`OR`/`NOT` of `args` (`makeBoolExpr`).
pub fn make_bool_expr(op: super::BoolOp, args: &[Node]) -> PgResult<Node> {
    let list = super::List::of(args.iter().copied())?.as_ptr();
    let op = match op {
        super::BoolOp::And => sys::BoolExprType_AND_EXPR,
        super::BoolOp::Or => sys::BoolExprType_OR_EXPR,
        super::BoolOp::Not => sys::BoolExprType_NOT_EXPR,
    };
    // SAFETY: makeBoolExpr allocates a BoolExpr over the list.
    Node::of(guard(|| unsafe { sys::makeBoolExpr(op, list, -1) })?)
}

/// A searched `CASE WHEN c1 THEN r1 ... ELSE default END` of type `typid` and collation `coll`.
pub fn make_case(typid: Oid, coll: Oid, whens: &[(Node, Node)], default: Node) -> PgResult<Node> {
    let mut args = super::List::NIL;
    for &(cond, result) in whens {
        let when = crate::pg::nodes::make::<sys::CaseWhen>(sys::NodeTag_T_CaseWhen)?;
        // SAFETY: a new CaseWhen node; every field set before use.
        unsafe {
            (*when).expr = cond.as_ptr() as *mut sys::Expr;
            (*when).result = result.as_ptr() as *mut sys::Expr;
            (*when).location = -1;
        }
        args = args.append(Node::of(when)?)?;
    }
    let case = crate::pg::nodes::make::<sys::CaseExpr>(sys::NodeTag_T_CaseExpr)?;
    // SAFETY: a new CaseExpr node; every field set before use.
    unsafe {
        (*case).casetype = typid;
        (*case).casecollid = coll;
        (*case).arg = std::ptr::null_mut();
        (*case).args = args.as_ptr();
        (*case).defresult = default.as_ptr() as *mut sys::Expr;
        (*case).location = -1;
    }
    Node::of(case)
}

/// `arg IS NOT NULL`.
pub fn make_is_not_null(arg: Node) -> PgResult<Node> {
    let test = crate::pg::nodes::make::<sys::NullTest>(sys::NodeTag_T_NullTest)?;
    // SAFETY: a new NullTest node; every field set before use.
    unsafe {
        (*test).arg = arg.as_ptr() as *mut sys::Expr;
        (*test).nulltesttype = sys::NullTestType_IS_NOT_NULL;
        (*test).argisrow = false;
        (*test).location = -1;
    }
    Node::of(test)
}

/// `arg::type` through the types' text forms (`CoerceViaIO`, an explicit cast).
pub fn make_coerce_via_io(arg: Node, resulttype: Oid) -> PgResult<Node> {
    let c = crate::pg::nodes::make::<sys::CoerceViaIO>(sys::NodeTag_T_CoerceViaIO)?;
    // SAFETY: a new CoerceViaIO node; every field set before use.
    unsafe {
        (*c).arg = arg.as_ptr() as *mut sys::Expr;
        (*c).resulttype = resulttype;
        (*c).resultcollid = 0;
        (*c).coerceformat = sys::CoercionForm_COERCE_EXPLICIT_CAST;
        (*c).location = -1;
    }
    Node::of(c)
}

/// A call of function `funcid` returning `rettype` (`makeFuncExpr`, an explicit call), with
/// input and result collation `coll`.
pub fn make_func_expr(funcid: Oid, rettype: Oid, args: &[Node], coll: Oid) -> PgResult<Node> {
    let l = super::List::of(args.iter().copied())?.as_ptr();
    // SAFETY: makeFuncExpr allocates a FuncExpr over the list.
    let f = guard(|| unsafe {
        sys::makeFuncExpr(funcid, rettype, l, coll, coll, sys::CoercionForm_COERCE_EXPLICIT_CALL)
    })?;
    Node::of(f)
}

/// A non-NULL `int4` constant.
pub fn make_int4_const(v: i32) -> PgResult<Node> {
    // SAFETY: makeConst allocates a Const of a by-value type.
    Node::of(guard(|| unsafe { sys::makeConst(sys::INT4OID, -1, 0, 4, v as sys::Datum, false, true) })?)
}

/// A `boolean` constant (`makeBoolConst`).
pub fn make_bool_const(v: bool, isnull: bool) -> PgResult<Node> {
    // SAFETY: makeBoolConst allocates a Const.
    Node::of(guard(|| unsafe { sys::makeBoolConst(v, isnull) })?)
}

/// A `numeric` zero with `scale` fractional digits (`0.00` for 2): `e + zero` is `e` at display
/// scale `scale` at least.
pub fn make_numeric_zero(scale: i32) -> PgResult<Node> {
    // SAFETY: int64_div_fast_to_numeric pallocs a numeric; makeConst keeps the pointer (by reference, varlena).
    let c = guard(|| unsafe {
        let d = sys::int64_div_fast_to_numeric(0, scale) as sys::Datum;
        sys::makeConst(sys::NUMERICOID, -1, 0, -1, d, false, false)
    })?;
    Node::of(c)
}
