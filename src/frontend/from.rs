//! FROM and joins: the join tree of a query block, its base relations (the scan leaves) and
//! every condition of WHERE and `JOIN ... ON`, placed in a leaf's scan where that cannot change
//! the join's rows, else in the join (DataFusion).

use super::context::Builder;
use super::expr::and_all;
use super::unsupported;
use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{make_bool_expr, BoolOp, JoinType, Kind, Node, Visit};
use crate::pg::nodes;
use crate::plan::spec::{DfExpr, JoinKind, JoinTree};

/// The FROM clause as a tree: base relations, inner joins (and FROM lists) with their
/// conditions split into AND terms, outer joins with their ON terms.
pub(super) enum FromNode {
    Leaf(i32),
    Inner(Vec<FromNode>, Vec<Node>),
    Outer(JoinKind, Box<FromNode>, Box<FromNode>, Vec<Node>),
}

/// The FROM clause taken apart.
pub(super) struct FromItems {
    /// Range-table indexes of the base relations, in order, and whether each is nullable.
    pub(super) leaves: Vec<(i32, bool)>,
    pub(super) has_outer: bool,
}

impl FromItems {
    pub(super) fn walk(&mut self, node: Option<Node>, nullable: bool) -> PgResult<FromNode> {
        nodes::check_stack_depth()?;
        let Some(node) = node else { return Err(unsupported("FROM item")) };
        match node.kind() {
            Kind::RangeTblRef(r) => {
                let rti = r.rtindex() as i32;
                self.leaves.push((rti, nullable));
                Ok(FromNode::Leaf(rti))
            }
            Kind::FromExpr(f) => {
                let children = f
                    .fromlist()
                    .into_iter()
                    .map(|item| self.walk(Some(item), nullable))
                    .collect::<PgResult<Vec<_>>>()?;
                Ok(FromNode::Inner(children, conjuncts(f.quals())))
            }
            Kind::JoinExpr(j) => {
                let kind = match j.jointype() {
                    JoinType::Inner => {
                        let l = self.walk(j.larg(), nullable)?;
                        let r = self.walk(j.rarg(), nullable)?;
                        return Ok(FromNode::Inner(vec![l, r], conjuncts(j.quals())));
                    }
                    JoinType::Left => JoinKind::Left,
                    JoinType::Right => JoinKind::Right,
                    JoinType::Full => JoinKind::Full,
                    _ => return Err(unsupported("join type (semi/anti joins)")),
                };
                self.has_outer = true;
                let l = self.walk(j.larg(), nullable || matches!(kind, JoinKind::Right | JoinKind::Full))?;
                let r = self.walk(j.rarg(), nullable || matches!(kind, JoinKind::Left | JoinKind::Full))?;
                Ok(FromNode::Outer(kind, Box::new(l), Box::new(r), conjuncts(j.quals())))
            }
            _ => Err(unsupported("FROM item")),
        }
    }
}

impl FromNode {
    /// Every condition, in order (inner joins only: the flat plan).
    pub(super) fn all_quals(&self, out: &mut Vec<Node>) {
        match self {
            FromNode::Leaf(_) => {}
            FromNode::Inner(children, quals) => {
                for c in children {
                    c.all_quals(out);
                }
                out.extend(quals);
            }
            FromNode::Outer(_, l, r, quals) => {
                l.all_quals(out);
                r.all_quals(out);
                out.extend(quals);
            }
        }
    }

    /// The range-table indexes of every FROM item under this node.
    pub(super) fn rtindexes(&self, out: &mut Vec<i32>) {
        match self {
            FromNode::Leaf(rti) => out.push(*rti),
            FromNode::Inner(children, _) => children.iter().for_each(|c| c.rtindexes(out)),
            FromNode::Outer(_, l, r, _) => {
                l.rtindexes(out);
                r.rtindexes(out);
            }
        }
    }

    /// Relations a condition evaluated at this node may filter before the node (in their scan
    /// SQL) without changing its rows: through inner joins and the preserved side of outer joins.
    pub(super) fn cluster(&self, out: &mut Vec<i32>) {
        match self {
            FromNode::Leaf(rti) => out.push(*rti),
            FromNode::Inner(children, _) => children.iter().for_each(|c| c.cluster(out)),
            FromNode::Outer(JoinKind::Left, l, _, _) => l.cluster(out),
            FromNode::Outer(JoinKind::Right, _, r, _) => r.cluster(out),
            FromNode::Outer(..) => {}
        }
    }
}

/// Does `c` read columns only of the range-table entries `inside` accepts (its subqueries'
/// references to this level included)?
pub(super) fn reads_only(c: Node, inside: impl Fn(i32) -> bool) -> PgResult<bool> {
    let mut only = true;
    c.walk(|n, depth| {
        if let Kind::Var(v) = n.kind() {
            if v.varlevelsup() == depth && !inside(v.varno() as i32) {
                only = false;
            }
        }
        Ok(Visit::Children)
    })?;
    Ok(only)
}

/// Split an AND (or an implicit-AND list) into its terms.
pub(super) fn conjuncts(e: Option<Node>) -> Vec<Node> {
    let mut out = Vec::new();
    fn go(e: Node, out: &mut Vec<Node>) {
        match e.kind() {
            Kind::BoolExpr(b) if b.boolop() == BoolOp::And => b.args().into_iter().for_each(|a| go(a, out)),
            _ => match e.list_elements() {
                Some(items) => items.into_iter().for_each(|a| go(a, out)),
                None => out.push(e),
            },
        }
    }
    if let Some(e) = e {
        go(e, &mut out);
    }
    out
}

impl Builder {
    /// A condition of the FROM clause, join aliases flattened; refused if volatile in a query
    /// over several tables (PostgreSQL evaluates it once per joined row).
    pub(super) fn condition(&self, c: Node, flatten: &dyn Fn(Node) -> PgResult<Node>) -> PgResult<Node> {
        let c = flatten(c)?;
        if self.leaves.len() > 1 && c.contains_volatile_functions()? {
            return Err(unsupported("volatile function in a query over several tables"));
        }
        Ok(c)
    }

    /// The join tree for DataFusion (outer joins present). Terms of one relation go into its scan
    /// where [`FromNode::cluster`] allows; the others become the join's ON filter (or, at the
    /// top, `top_terms`: the filter above the whole tree).
    pub(super) fn convert(
        &mut self,
        node: &FromNode,
        top: bool,
        top_terms: &mut Vec<DfExpr>,
        flatten: &dyn Fn(Node) -> PgResult<Node>,
    ) -> PgResult<JoinTree> {
        let leaf_index = |b: &Builder, rti: i32| {
            b.leaves.iter().position(|l| l.rtindex == rti).ok_or_else(|| PgError::internal("join tree leaf"))
        };
        let mut pushable = Vec::new();
        let (tree, quals) = match node {
            FromNode::Leaf(rti) => return Ok(JoinTree::Leaf(leaf_index(self, *rti)?)),
            FromNode::Inner(children, quals) => {
                node.cluster(&mut pushable);
                let mut it = children.iter();
                let first = it.next().ok_or_else(|| unsupported("empty FROM"))?;
                let mut tree = self.convert(first, false, top_terms, flatten)?;
                for c in it {
                    let right = self.convert(c, false, top_terms, flatten)?;
                    tree = JoinTree::Join {
                        kind: JoinKind::Inner,
                        left: Box::new(tree),
                        right: Box::new(right),
                        on: None,
                    };
                }
                (tree, quals)
            }
            FromNode::Outer(kind, l, r, quals) => {
                match kind {
                    JoinKind::Left => r.cluster(&mut pushable),
                    JoinKind::Right => l.cluster(&mut pushable),
                    _ => {}
                }
                let left = self.convert(l, false, top_terms, flatten)?;
                let right = self.convert(r, false, top_terms, flatten)?;
                (
                    JoinTree::Join { kind: *kind, left: Box::new(left), right: Box::new(right), on: None },
                    quals,
                )
            }
        };
        // A condition here reads only this node's FROM items: a pulled-up LATERAL subquery's
        // WHERE left below an outer join may read others (see `rewrite::pullup`).
        let mut inside = Vec::new();
        if !top {
            node.rtindexes(&mut inside);
        }
        let mut on = Vec::new();
        for &c in quals {
            let c = self.condition(c, flatten)?;
            if !top && !reads_only(c, |rti| inside.contains(&rti))? {
                return Err(unsupported(
                    "condition of a LATERAL subquery under an outer join that reads FROM items outside that join",
                ));
            }
            match self.one_leaf(c)? {
                Some(leaf)
                    if pushable.contains(&self.leaves[leaf].rtindex) && self.leaves[leaf].sub.is_none() =>
                {
                    self.leaves[leaf].quals.push(c)
                }
                _ => on.push(self.join_cond(c)?),
            }
        }
        if top {
            top_terms.extend(on);
            return Ok(tree);
        }
        // The conditions become the ON of the join this node built: its outer join, or the
        // inner join of its two or more children. A lone child's join is not this node's: a
        // WHERE over an outer join is no ON of it.
        // (An inner join's ON and a WHERE above it are one.)
        let own = match node {
            FromNode::Outer(..) => true,
            FromNode::Inner(children, _) => children.len() > 1,
            FromNode::Leaf(_) => false,
        };
        match tree {
            JoinTree::Join { kind, left, right, on: None } if own || matches!(kind, JoinKind::Inner) => {
                Ok(JoinTree::Join { kind, left, right, on: and_all(on) })
            }
            t if on.is_empty() => Ok(t),
            _ => Err(unsupported("condition over several tables of a subquery under an outer join")),
        }
    }

    /// Restrictions implied by an OR over several relations (PostgreSQL's own
    /// `extract_restriction_or_clauses`): from `(a1 AND j1) OR (a2 AND j2)`, where `a1`, `a2` read
    /// only relation L, `a1 OR a2` may filter L's scan. A row of L for which it is not true makes
    /// every arm false or NULL, so the OR drops every joined row it is part of; the OR itself
    /// still runs after the join (TPC-H Q19: lineitem's and part's scans keep only the rows some
    /// arm can accept). Only for a WHERE (or inner join) term over relations no outer join
    /// null-extends; per relation with its own terms in every arm.
    pub(super) fn implied_restrictions(&self, c: Node) -> PgResult<Vec<(usize, Node)>> {
        let arms = match c.kind() {
            Kind::BoolExpr(b) if b.boolop() == BoolOp::Or => b.args(),
            _ => return Ok(Vec::new()),
        };
        // Per arm: (leaf, that leaf's conjuncts of the arm).
        let mut per_arm: Vec<Vec<(usize, Vec<Node>)>> = Vec::new();
        for &arm in &arms {
            let mut by_leaf: Vec<(usize, Vec<Node>)> = Vec::new();
            for t in conjuncts(Some(arm)) {
                let varno = t.varno()?;
                let Some(leaf) = self
                    .leaves
                    .iter()
                    .position(|l| varno > 0 && l.rtindex == varno && l.sub.is_none() && !l.nullable)
                else {
                    continue;
                };
                match by_leaf.iter_mut().find(|(l, _)| *l == leaf) {
                    Some((_, ts)) => ts.push(t),
                    None => by_leaf.push((leaf, vec![t])),
                }
            }
            per_arm.push(by_leaf);
        }
        let Some(first) = per_arm.first() else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for &(leaf, _) in first {
            let mut ors = Vec::new();
            let mut every_arm = true;
            for arm in &per_arm {
                let Some((_, ts)) = arm.iter().find(|(l, _)| *l == leaf) else {
                    every_arm = false;
                    break;
                };
                ors.push(match ts.as_slice() {
                    [one] => *one,
                    many => make_bool_expr(BoolOp::And, many)?,
                });
            }
            if every_arm {
                out.push((leaf, make_bool_expr(BoolOp::Or, &ors)?));
            }
        }
        Ok(out)
    }
}
