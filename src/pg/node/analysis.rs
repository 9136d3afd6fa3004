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

    /// `contain_volatile_functions`.
    pub fn contains_volatile_functions(self) -> PgResult<bool> {
        let e = self.as_ptr();
        // SAFETY: a walk of a valid expression tree.
        guard(|| unsafe { sys::contain_volatile_functions(e) })
    }

    /// `contain_nonstrict_functions`.
    pub fn contains_nonstrict_functions(self) -> PgResult<bool> {
        let e = self.as_ptr();
        // SAFETY: a walk of a valid expression tree.
        guard(|| unsafe { sys::contain_nonstrict_functions(e) })
    }

    /// `contain_window_function`.
    pub fn contains_window_function(self) -> PgResult<bool> {
        let e = self.as_ptr();
        // SAFETY: a walk of a valid expression tree.
        guard(|| unsafe { sys::contain_window_function(e) })
    }

    /// `checkExprHasSubLink`.
    pub fn has_sub_link(self) -> PgResult<bool> {
        let e = self.as_ptr();
        // SAFETY: a walk of a valid expression tree.
        guard(|| unsafe { sys::checkExprHasSubLink(e) })
    }

    /// `contain_vars_of_level(node, levelsup)`.
    pub fn contains_vars_of_level(self, levelsup: i32) -> PgResult<bool> {
        let e = self.as_ptr();
        // SAFETY: a walk of a valid expression tree.
        guard(|| unsafe { sys::contain_vars_of_level(e, levelsup) })
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

/// A node handle from what a caller holds: a view's node, or (for code not yet on the views) a
/// raw pointer, NULL being an internal error.
pub trait IntoNode {
    fn into_node(self) -> PgResult<Node>;
}

impl IntoNode for Node {
    fn into_node(self) -> PgResult<Node> {
        Ok(self)
    }
}

impl IntoNode for *mut sys::Node {
    fn into_node(self) -> PgResult<Node> {
        Node::of(self)
    }
}

impl IntoNode for *mut sys::Expr {
    fn into_node(self) -> PgResult<Node> {
        Node::of(self)
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
