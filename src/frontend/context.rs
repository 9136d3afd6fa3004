//! The planner context of one query block ([`Builder`]): its leaves (base relations and
//! subqueries in FROM), the columns of the joined row (computed by a leaf's scan, by DataFusion
//! after the joins, or by a window function) and the node's output columns.

use super::placement::{self, Placement};
use super::probe;
use super::types::{carried_type, column_type, is_unshaped_numeric, Oid};
use super::unsupported;
use crate::page::ColumnType;
use crate::pg::catalog::attnotnull;
use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{Kind, Node};
use crate::pg::nodes;
use crate::plan::spec::{DfExpr, PlanSpec, WindowSpec};

/// A base relation of the query: one scan leaf.
pub(super) struct Leaf {
    pub(super) rtindex: i32,
    pub(super) relid: Oid,
    /// Conditions on this relation alone: its scan SQL's WHERE.
    pub(super) quals: Vec<Node>,
    /// On the nullable side of an outer join: its scan columns must be NULL for NULL input
    /// (they are NULL in null-extended rows, whatever expression computed them).
    pub(super) nullable: bool,
    /// A subquery in FROM computed as a query block of its own (index into `Builder::subs`):
    /// it has no scan SQL; its columns are read as they are, everything else runs above it.
    pub(super) sub: Option<usize>,
}

/// A subquery in FROM translated as its own query block.
pub(super) struct SubBlock {
    pub(super) plan: PlanSpec,
    /// Per select-list entry (by resno - 1): the block's output column, when DataFusion computes
    /// it as it stands (not, say, avg's division on the PostgreSQL node).
    pub(super) outputs: Vec<Option<usize>>,
    pub(super) types: Vec<ColumnType>,
    /// Per output column: only its value is PostgreSQL's, not its display scale (`avg`): usable
    /// in comparisons only.
    pub(super) value_only: Vec<bool>,
    /// PostgreSQL types of its scans' columns, in `PlanSpec::all_scans` order.
    pub(super) pg_types: Vec<Vec<(Oid, i32)>>,
}

pub(super) struct Builder {
    /// Scan columns: expression, block type, leaf. A column's index is its id in the joined row.
    pub(super) columns: Vec<(Node, ColumnType, usize)>,
    pub(super) leaves: Vec<Leaf>,
    /// Without grouping: the scan columns the node outputs, in order (join keys and other
    /// columns only DataFusion needs are not among them).
    pub(super) output: Vec<usize>,
    /// Columns DataFusion computes after the joins (their leaf is [`COMPUTED`]): id, expression.
    pub(super) computed: Vec<(usize, DfExpr)>,
    pub(super) subs: Vec<SubBlock>,
    /// Columns read from subquery leaves: (sub, its output column, column id).
    pub(super) sub_columns: Vec<(usize, usize, usize)>,
    /// Ids of columns whose value is exact but whose display scale is not (see
    /// `SubBlock::value_only`): compared only.
    pub(super) value_only: Vec<usize>,
    /// Without grouping: window functions over the joined row (their columns' leaf is
    /// [`WINDOW`]).
    pub(super) windows: Vec<WindowSpec>,
    /// Translating a part of an expression computed after the joins that PostgreSQL evaluates
    /// only when it is reached (a CASE branch, a later COALESCE argument): see
    /// [`Builder::scan_part`].
    pub(super) guarded: bool,
}

/// How far the builder's lists reached ([`Builder::mark`]): a translation that failed part way
/// is undone to it ([`Builder::reset`]), so the columns it added are neither computed nor read.
pub(super) struct Mark {
    columns: usize,
    computed: usize,
    sub_columns: usize,
    value_only: usize,
    output: usize,
}

/// The "leaf" of a window function's result column (no grouping).
pub(super) const WINDOW: usize = usize::MAX - 1;

/// The "leaf" of a column computed above the joins.
pub(super) const COMPUTED: usize = usize::MAX;

impl Builder {
    /// A column computed by DataFusion after the joins: `+ - *` of numerics from several
    /// relations, exact (the result fits 38 digits by the operands' declared digits).
    pub(super) fn computed_column(&mut self, e: Node) -> PgResult<usize> {
        if let Some(i) = nodes::try_position(&self.computed, |(id, _)| self.columns[*id].0.equal(e))? {
            return Ok(self.computed[i].0);
        }
        let (expr, (int, scale)) = self.arith(e)?;
        let ty = ColumnType::Decimal128 { precision: (int + scale) as u8, scale: scale as i8 };
        self.columns.push((e, ty, COMPUTED));
        let id = self.columns.len() - 1;
        self.computed.push((id, expr));
        Ok(id)
    }

    /// The node's output position of scan column `id` (added on first use).
    pub(super) fn output_pos(&mut self, id: usize) -> usize {
        match self.output.iter().position(|&o| o == id) {
            Some(p) => p,
            None => {
                self.output.push(id);
                self.output.len() - 1
            }
        }
    }

    /// The scan column computing `e` (deduplicated by equal()), in the leaf of its relation.
    pub(super) fn column(&mut self, e: Node) -> PgResult<usize> {
        self.column_as(e, None)
    }

    /// [`Self::column`] with the block type given (else the expression's own).
    pub(super) fn column_as(&mut self, e: Node, ty: Option<ColumnType>) -> PgResult<usize> {
        let id = self.any_column(e, ty)?;
        if self.value_only.contains(&id) {
            return Err(unsupported(
                "a subquery's avg() (or an expression over it) other than in a comparison: its display scale depends on the values",
            ));
        }
        Ok(id)
    }

    /// The scan column carrying `e` to the output unchanged (a select-list entry one relation
    /// computes, a column PostgreSQL's projection above the node reads): of any type whose
    /// values can cross ([`carried_type`]), where nothing in DataFusion looks at them.
    pub(super) fn carried_column(&mut self, e: Node) -> PgResult<usize> {
        match self.scan_carried_column(e)? {
            Some(id) => Ok(id),
            None => self.column(e),
        }
    }

    /// [`Self::carried_column`] when a scan computes `e`; None when DataFusion would.
    pub(super) fn scan_carried_column(&mut self, e: Node) -> PgResult<Option<usize>> {
        match self.one_leaf(e)? {
            Some(leaf) if self.computable_in_scan(e, leaf)? => {
                // A subquery's column keeps the subquery's block type: Opaque here only allows
                // an opaque one.
                let ty = if self.leaves[leaf].sub.is_some() { ColumnType::Opaque } else { carried_type(e)? };
                self.column_as(e, Some(ty)).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// [`Self::column_as`], also for a column whose value only is exact (comparisons).
    pub(super) fn any_column(&mut self, e: Node, ty: Option<ColumnType>) -> PgResult<usize> {
        // (A window function's column is described by a node that stands for nothing else.)
        if let Some(i) = nodes::try_position(&self.columns, |(c, _, l)| Ok(*l != WINDOW && c.equal(e)?))? {
            if self.columns[i].1 == ColumnType::Opaque && ty != Some(ColumnType::Opaque) {
                // Carried for the output only: anything else that reads it needs its own block
                // type, which it has not (the refusal says which type).
                column_type(e)?;
                return Err(unsupported("value of this type other than carried to the output"));
            }
            return Ok(i);
        }
        let leaf = match self.one_leaf(e)? {
            Some(leaf) if self.computable_in_scan(e, leaf)? => leaf,
            // Not for a scan to compute (NULL for NULL input it is not, on the nullable side of
            // an outer join; over a subquery's columns; over several tables): DataFusion
            // computes it after the joins, or it is refused.
            _ => return self.df_column(e, ty),
        };
        if let Some(sub) = self.leaves[leaf].sub {
            return self.sub_column(e, leaf, sub, ty == Some(ColumnType::Opaque));
        }
        // Evaluated once per row of its relation, not per joined row.
        if self.leaves.len() > 1 && e.contains_volatile_functions()? {
            return Err(unsupported("volatile function in a query over several tables"));
        }
        let ty = match ty {
            Some(t) => t,
            None => column_type(e)?,
        };
        self.columns.push((e, ty, leaf));
        Ok(self.columns.len() - 1)
    }

    /// A column DataFusion computes after the joins: [`Self::df_value`] of `e`, cast to its
    /// block type.
    pub(super) fn df_column(&mut self, e: Node, ty: Option<ColumnType>) -> PgResult<usize> {
        if let Some(i) = nodes::try_position(&self.computed, |(id, _)| self.columns[*id].0.equal(e))? {
            return Ok(self.computed[i].0);
        }
        let ty = match ty {
            Some(t) => t,
            None => column_type(e)?,
        };
        let expr = self.df_value(e)?;
        self.columns.push((e, ty, COMPUTED));
        let id = self.columns.len() - 1;
        self.computed.push((id, expr));
        Ok(id)
    }

    /// Run `f` on a part PostgreSQL evaluates only when it is reached (a CASE branch, a later
    /// COALESCE argument).
    pub(super) fn guarded<T>(&mut self, f: impl FnOnce(&mut Self) -> PgResult<T>) -> PgResult<T> {
        let outer = std::mem::replace(&mut self.guarded, true);
        let r = f(self);
        self.guarded = outer;
        r
    }

    /// `e`, one relation's expression about to be computed by its scan for every row, as part
    /// of an expression DataFusion computes after the joins: inside a guarded part it may not
    /// be able to fail ([`placement::may_fail`]): `CASE WHEN o.qty <> 0 THEN o.amt / o.qty END` must not
    /// divide by zero where the CASE would not have.
    pub(super) fn scan_part(&self, e: Node) -> PgResult<()> {
        if self.guarded && placement::may_fail(&probe::shape(e)?) {
            return Err(unsupported(
                "expression that can fail for some rows (a function that is not leakproof) in a CASE branch or COALESCE argument computed after the joins",
            ));
        }
        Ok(())
    }

    /// The expression reading column `id` over the joined row before computed columns exist:
    /// a scan's column, or the expression of one DataFusion computes.
    pub(super) fn column_expr(&self, id: usize) -> PgResult<DfExpr> {
        match self.columns[id].2 {
            WINDOW => Err(unsupported("window function inside an expression computed after the joins")),
            COMPUTED => self
                .computed
                .iter()
                .find(|(c, _)| *c == id)
                .map(|(_, e)| e.clone())
                .ok_or_else(|| PgError::internal("computed column without its expression")),
            _ => Ok(DfExpr::Column(id)),
        }
    }

    /// A column of subquery leaf `leaf` (its `sub`): only a Var, read as the subquery's output;
    /// an opaque one only when `carried` (see [`Self::carried_column`]).
    pub(super) fn sub_column(&mut self, e: Node, leaf: usize, sub: usize, carried: bool) -> PgResult<usize> {
        let attno = match e.kind() {
            Kind::Var(v) if v.varlevelsup() == 0 => v.varattno() as i32,
            _ => 0,
        };
        if attno <= 0 {
            return Err(unsupported(
                "expression over a subquery in FROM here (only its columns, comparisons and + - * of numerics)",
            ));
        }
        let s = &self.subs[sub];
        let o = s.outputs.get(attno as usize - 1).copied().flatten().ok_or_else(computed_after)?;
        let (ty, value_only) = (s.types[o], s.value_only.get(o).copied().unwrap_or(false));
        if ty == ColumnType::Opaque && !carried {
            column_type(e)?;
            return Err(unsupported("value of this type other than carried to the output"));
        }
        self.columns.push((e, ty, leaf));
        let id = self.columns.len() - 1;
        self.sub_columns.push((sub, o, id));
        if value_only {
            self.value_only.push(id);
        }
        Ok(id)
    }

    /// Is `e`, an expression of leaf `leaf`, computed by that leaf's scan (see
    /// [`placement::classify`], which decides)?
    pub(super) fn computable_in_scan(&self, e: Node, leaf: usize) -> PgResult<bool> {
        let l = &self.leaves[leaf];
        let facts = probe::facts(e, self.leaves.len() > 1, l.nullable)?;
        let kind = placement::Leaf { subquery: l.sub.is_some(), nullable: l.nullable };
        Ok(placement::classify(facts, kind, self.leaves.len()) == Placement::Scan)
    }

    /// Does one table's scan (not a subquery's) compute `e`?
    pub(super) fn scan_computes(&self, e: Node) -> PgResult<bool> {
        Ok(match self.one_leaf(e)? {
            Some(leaf) => self.leaves[leaf].sub.is_none() && self.computable_in_scan(e, leaf)?,
            None => false,
        })
    }

    /// Does one table's scan compute `e`, a numeric without a scale ([`is_unshaped_numeric`]): a
    /// value that crosses as its value column and display scale?
    pub(super) fn scans_unshaped_numeric(&self, e: Node) -> PgResult<bool> {
        Ok(self.scan_computes(e)? && is_unshaped_numeric(e)?)
    }

    /// Whether `e` is a column no row of this block has NULL in: a NOT NULL column of a table
    /// no outer join null-extends. `count(e)` then counts rows, and `e` need not cross.
    pub(super) fn never_null(&self, e: Option<Node>) -> PgResult<bool> {
        let Some(Kind::Var(v)) = e.map(Node::kind) else { return Ok(false) };
        let Some(leaf) = self.leaves.iter().find(|l| l.rtindex == v.varno() as i32) else { return Ok(false) };
        if v.varlevelsup() != 0 || v.varattno() <= 0 || leaf.sub.is_some() || leaf.nullable || leaf.relid == 0
        {
            return Ok(false);
        }
        attnotnull(leaf.relid, v.varattno())
    }

    pub(super) fn mark(&self) -> Mark {
        Mark {
            columns: self.columns.len(),
            computed: self.computed.len(),
            sub_columns: self.sub_columns.len(),
            value_only: self.value_only.len(),
            output: self.output.len(),
        }
    }

    pub(super) fn reset(&mut self, m: Mark) {
        self.columns.truncate(m.columns);
        self.computed.truncate(m.computed);
        self.sub_columns.truncate(m.sub_columns);
        self.value_only.truncate(m.value_only);
        self.output.truncate(m.output);
    }

    /// The leaves whose columns `e` reads (at this query level), each once.
    pub(super) fn leaves_read(&self, e: Node) -> PgResult<Vec<usize>> {
        let mut out = Vec::new();
        e.walk(|n, depth| {
            if let Kind::Var(v) = n.kind() {
                if v.varlevelsup() == depth {
                    if let Some(i) = self.leaves.iter().position(|l| l.rtindex == v.varno() as i32) {
                        if !out.contains(&i) {
                            out.push(i);
                        }
                    }
                }
            }
            Ok(crate::pg::node::Visit::Children)
        })?;
        Ok(out)
    }

    /// The leaf whose relation `e` reads (the first leaf a constant can be computed in), or an
    /// error when it reads several.
    /// [`Self::leaf_of`], None when `e` has no one leaf (a PostgreSQL ERROR still goes up).
    pub(super) fn one_leaf(&self, e: Node) -> PgResult<Option<usize>> {
        crate::pg::error::or_refused(self.leaf_of(e))
    }

    pub(super) fn leaf_of(&self, e: Node) -> PgResult<usize> {
        let varno = e.varno()?;
        match varno {
            // No column: any row source will do, but not one that may be null-extended.
            0 => self.leaves.iter().position(|l| !l.nullable && l.sub.is_none()).ok_or_else(|| {
                unsupported("constant expression without a table to compute it in (FULL JOIN, or only subqueries in FROM)")
            }),
            v if v > 0 => self
                .leaves
                .iter()
                .position(|l| l.rtindex == v)
                .ok_or_else(|| unsupported("column of a FROM item that is not a table")),
            _ => Err(unsupported("expression over several tables here")),
        }
    }
}

/// A subquery column DataFusion leaves to PostgreSQL's node, which the query reads.
pub(super) fn computed_after() -> PgError {
    unsupported("column of a subquery in FROM that PostgreSQL computes after DataFusion (an expression over aggregates other than + - * of numerics and avg)")
}
