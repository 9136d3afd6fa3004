//! UNION / INTERSECT / EXCEPT: each arm a query block, DataFusion's set operation over them.

use super::context::SubBlock;
use super::literal::limit_value;
use super::output::{scan_tlist_of, sort_keys};
use super::subquery::sub_block;
use super::types::{eq_safe, expr_type, type_name, Oid};
use super::{unsupported, Block};
use crate::page::ColumnType;
use crate::pg::catalog;
use crate::pg::error::{PgError, PgResult};
use crate::pg::leaf::Bindings;
use crate::pg::node::{make_index_var, make_target_entry_like, Kind, List, Node, Query, SetOp, TargetEntry};
use crate::plan::spec::{PlanSpec, SetOpKind, SetTree, Subquery};

/// A query whose body is UNION / INTERSECT / EXCEPT: each arm a query block, DataFusion's set
/// operation over them, then ORDER BY / LIMIT. The arms' columns must have the same block type
/// (and the same PostgreSQL type, text and varchar aside); duplicate removal needs columns
/// DataFusion compares as PostgreSQL does.
pub(super) fn set_operation_block(q: Query, bind: &mut Bindings) -> PgResult<Block> {
    if q.has_for_update() || !q.row_marks().is_empty() {
        return Err(unsupported("FOR UPDATE/SHARE in a subquery"));
    }
    if q.limit_with_ties() {
        return Err(unsupported("FETCH ... WITH TIES"));
    }
    struct Walk<'b> {
        bind: &'b mut Bindings,
        arms: Vec<SubBlock>,
        /// Per arm: its query (for the PostgreSQL types of its columns).
        queries: Vec<Query>,
        rtindexes: Vec<i32>,
        needs_equality: bool,
    }
    fn walk(node: Option<Node>, q: Query, w: &mut Walk) -> PgResult<SetTree> {
        match node.map(Node::kind) {
            Some(Kind::RangeTblRef(r)) => {
                let rti = r.rtindex();
                let rte = q.rte(rti).ok_or_else(|| PgError::internal("range table index out of range"))?;
                let Some(sub) = rte.subquery() else {
                    return Err(unsupported("set operation arm that is not a query"));
                };
                w.arms.push(sub_block(rte, sub, w.bind)?);
                w.queries.push(sub);
                w.rtindexes.push(rti as i32);
                Ok(SetTree::Arm(w.arms.len() - 1))
            }
            Some(Kind::SetOperationStmt(so)) => {
                let kind = match so.op() {
                    Some(SetOp::Union) => SetOpKind::Union,
                    Some(SetOp::Intersect) => SetOpKind::Intersect,
                    Some(SetOp::Except) => SetOpKind::Except,
                    None => return Err(unsupported("set operation")),
                };
                // Every form but UNION ALL compares rows.
                w.needs_equality |= !so.all() || kind != SetOpKind::Union;
                let left = walk(so.larg(), q, w)?;
                let right = walk(so.rarg(), q, w)?;
                Ok(SetTree::Op { kind, all: so.all(), left: Box::new(left), right: Box::new(right) })
            }
            _ => Err(unsupported("set operation")),
        }
    }
    let mut w =
        Walk { bind, arms: Vec::new(), queries: Vec::new(), rtindexes: Vec::new(), needs_equality: false };
    let tree = walk(q.set_operations(), q, &mut w)?;
    let Some(Kind::SetOperationStmt(so)) = q.set_operations().map(Node::kind) else {
        return Err(PgError::internal("set operation query without its SetOperationStmt"));
    };
    let (col_types, col_typmods, col_colls) = (so.col_types(), so.col_typmods(), so.col_collations());
    let ncols = col_types.len();
    if col_typmods.len() != ncols || col_colls.len() != ncols {
        return Err(PgError::internal("set operation column lists of different lengths"));
    }
    let mut types = Vec::with_capacity(ncols);
    for i in 0..ncols {
        let (col_type, col_typmod, coll) = (col_types[i], col_typmods[i], col_colls[i]);
        let mut ty = None;
        for (arm, &aq) in w.arms.iter().zip(&w.queries) {
            let o = arm
                .outputs
                .get(i)
                .copied()
                .flatten()
                .filter(|&o| !arm.value_only.get(o).copied().unwrap_or(false))
                .ok_or_else(|| {
                    unsupported("set operation arm column that PostgreSQL computes after DataFusion")
                })?;
            let expr = aq
                .target_list()
                .into_iter()
                .find(|t| t.resno() as usize == i + 1)
                .and_then(|t| t.expr())
                .ok_or_else(|| PgError::internal("set operation arm column"))?;
            let (arm_type, arm_typmod, _) = expr_type(expr)?;
            let text_like = |t: Oid| t == catalog::TEXTOID || t == catalog::VARCHAROID;
            let same_type = arm_type == col_type
                && (arm_typmod == col_typmod || col_type != catalog::BPCHAROID)
                || text_like(arm_type) && text_like(col_type);
            let arm_ty = arm.types[o];
            if !same_type || ty.is_some_and(|t| t != arm_ty) {
                return Err(unsupported(format!(
                    "set operation over columns of different types ({} and {})",
                    type_name(arm_type, arm_typmod)?,
                    type_name(col_type, col_typmod)?
                )));
            }
            if w.needs_equality && !eq_safe(arm_ty, coll)? {
                return Err(unsupported(
                    "UNION/INTERSECT/EXCEPT removing duplicates of this type (float, interval, nondeterministic collation)",
                ));
            }
            ty = Some(arm_ty);
        }
        types.push(ty.ok_or_else(|| PgError::internal("set operation without arms"))?);
    }
    // The query's select list names the set operation's columns (Vars of its leftmost arm).
    let mut output: Vec<usize> = Vec::new();
    let mut tle_pos: Vec<(TargetEntry, usize, Node)> = Vec::new();
    for tle in q.target_list() {
        let e = tle.expr().ok_or_else(|| PgError::internal("target entry without an expression"))?;
        let attno = match e.kind() {
            Kind::Var(v) => usize::try_from(v.varattno()).ok(),
            _ => None,
        };
        let id = attno
            .filter(|&a| (1..=ncols).contains(&a))
            .map(|a| a - 1)
            .ok_or_else(|| unsupported("expression over a set operation's columns"))?;
        let pos = output.iter().position(|&o| o == id).unwrap_or_else(|| {
            output.push(id);
            output.len() - 1
        });
        tle_pos.push((tle, pos, e));
    }
    let output_types: Vec<ColumnType> = output.iter().map(|&id| types[id]).collect();
    let lookup = |tle: TargetEntry| -> PgResult<Option<usize>> {
        Ok(tle_pos.iter().find(|(t, _, _)| *t == tle).map(|(_, p, _)| *p))
    };
    let sort = sort_keys(q, &lookup, &output_types)?;
    let mut tlist = List::NIL;
    let mut describe: Vec<Option<Node>> = vec![None; output.len()];
    for &(tle, pos, e) in &tle_pos {
        let (typid, typmod, coll) = expr_type(e)?;
        let node = make_index_var(pos + 1, typid, typmod, coll)?;
        tlist = tlist.append(make_target_entry_like(node, tle)?)?;
        describe[pos] = Some(e);
    }
    let describe: Vec<Node> = describe
        .into_iter()
        .map(|d| d.ok_or_else(|| PgError::internal("set operation output column without an entry")))
        .collect::<PgResult<_>>()?;
    let scan_tlist = scan_tlist_of(&describe)?;
    let mut pg_types = Vec::new();
    let mut subqueries = Vec::new();
    for arm in w.arms {
        pg_types.extend(arm.pg_types);
        let columns = (0..ncols).map(|i| (arm.outputs[i].unwrap_or(0), i)).collect();
        subqueries.push(Subquery { plan: arm.plan, columns, shared: None });
    }
    Ok(Block {
        spec: PlanSpec {
            scans: Vec::new(),
            subqueries,
            set_tree: Some(tree),
            join_tree: None,
            join_order: None,
            computed: Vec::new(),
            join_filter: None,
            grouping: None,
            windows: Vec::new(),
            post: Vec::new(),
            having: None,
            output,
            distinct: false,
            sort,
            offset: limit_value(q.limit_offset(), "OFFSET")?.unwrap_or(0),
            limit: limit_value(q.limit_count(), "LIMIT")?,
            shared: Vec::new(),
        },
        tlist,
        qual: List::NIL,
        scan_tlist,
        query: q,
        rtindexes: w.rtindexes,
        pg_types,
    })
}
