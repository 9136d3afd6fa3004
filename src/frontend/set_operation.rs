//! UNION / INTERSECT / EXCEPT: each arm a query block, DataFusion's set operation over them.

use std::ffi::c_void;

use super::construct::make_var;
use super::context::SubBlock;
use super::literal::limit_value;
use super::output::{scan_tlist_of, sort_keys};
use super::subquery::sub_block;
use super::types::{eq_safe, expr_type, type_name, Oid};
use super::{unsupported, Block};
use crate::page::ColumnType;
use crate::pg::catalog;
use crate::pg::error::{guard, PgError, PgResult};
use crate::pg::leaf::Bindings;
use crate::pg::node::{query_view, rte_view, List, Node, TargetEntry};
use crate::pg::nodes::{self, list};
use crate::pg::sys;
use crate::plan::spec::{PlanSpec, SetOpKind, SetTree, Subquery};

/// A query whose body is UNION / INTERSECT / EXCEPT: each arm a query block, DataFusion's set
/// operation over them, then ORDER BY / LIMIT. The arms' columns must have the same block type
/// (and the same PostgreSQL type, text and varchar aside); duplicate removal needs columns
/// DataFusion compares as PostgreSQL does.
pub(super) fn set_operation_block(query: *mut sys::Query, bind: &mut Bindings) -> PgResult<Block> {
    // SAFETY: our copy of a valid Query with a SetOperationStmt tree.
    let q = unsafe { &*query };
    if q.hasForUpdate || !q.rowMarks.is_null() {
        return Err(unsupported("FOR UPDATE/SHARE in a subquery"));
    }
    if q.limitOption == sys::LimitOption_LIMIT_OPTION_WITH_TIES {
        return Err(unsupported("FETCH ... WITH TIES"));
    }
    // SAFETY: the range table of our copy.
    let rtable: Vec<*mut sys::RangeTblEntry> = unsafe { list(q.rtable) };
    struct Walk<'b> {
        bind: &'b mut Bindings,
        arms: Vec<SubBlock>,
        /// Per arm: its query (for the PostgreSQL types of its columns).
        queries: Vec<*mut sys::Query>,
        rtindexes: Vec<i32>,
        needs_equality: bool,
    }
    fn walk(node: *mut sys::Node, rtable: &[*mut sys::RangeTblEntry], w: &mut Walk) -> PgResult<SetTree> {
        // SAFETY: nodes of the set operation tree; RangeTblRefs index the range table.
        unsafe {
            match nodes::tag(node) {
                sys::NodeTag_T_RangeTblRef => {
                    let rti = (*(node as *mut sys::RangeTblRef)).rtindex;
                    let rte = rtable
                        .get(rti as usize - 1)
                        .map(|r| &**r)
                        .ok_or_else(|| PgError::internal("range table index out of range"))?;
                    if rte.rtekind != sys::RTEKind_RTE_SUBQUERY || rte.subquery.is_null() {
                        return Err(unsupported("set operation arm that is not a query"));
                    }
                    let view = rte_view(rte)?;
                    let sub =
                        view.subquery().ok_or_else(|| PgError::internal("subquery entry without a query"))?;
                    w.arms.push(sub_block(view, sub, w.bind)?);
                    w.queries.push(rte.subquery);
                    w.rtindexes.push(rti);
                    Ok(SetTree::Arm(w.arms.len() - 1))
                }
                sys::NodeTag_T_SetOperationStmt => {
                    let so = &*(node as *mut sys::SetOperationStmt);
                    let kind = match so.op {
                        sys::SetOperation_SETOP_UNION => SetOpKind::Union,
                        sys::SetOperation_SETOP_INTERSECT => SetOpKind::Intersect,
                        sys::SetOperation_SETOP_EXCEPT => SetOpKind::Except,
                        _ => return Err(unsupported("set operation")),
                    };
                    // Every form but UNION ALL compares rows.
                    w.needs_equality |= !so.all || kind != SetOpKind::Union;
                    let left = walk(so.larg, rtable, w)?;
                    let right = walk(so.rarg, rtable, w)?;
                    Ok(SetTree::Op { kind, all: so.all, left: Box::new(left), right: Box::new(right) })
                }
                _ => Err(unsupported("set operation")),
            }
        }
    }
    let mut w =
        Walk { bind, arms: Vec::new(), queries: Vec::new(), rtindexes: Vec::new(), needs_equality: false };
    let tree = walk(q.setOperations, &rtable, &mut w)?;
    // SAFETY: a query with setOperations holds a SetOperationStmt there.
    let so = unsafe { &*(q.setOperations as *mut sys::SetOperationStmt) };
    // SAFETY: the OID and integer lists of the top SetOperationStmt, one entry per column.
    let ncols = unsafe { sys::pgf_list_length(so.colTypes) } as usize;
    let mut types = Vec::with_capacity(ncols);
    for i in 0..ncols {
        // SAFETY: the OID and integer lists of the top SetOperationStmt, `i` below their length.
        let (col_type, col_typmod, coll) = unsafe {
            (
                sys::pgf_list_nth_oid(so.colTypes, i as i32),
                sys::pgf_list_nth_int(so.colTypmods, i as i32),
                sys::pgf_list_nth_oid(so.colCollations, i as i32),
            )
        };
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
            // SAFETY: the arm's target list, resno i + 1.
            let tle = unsafe { list::<sys::TargetEntry>((*aq).targetList) }
                .into_iter()
                .find(|&t| unsafe { (*t).resno } as usize == i + 1)
                .ok_or_else(|| PgError::internal("set operation arm column"))?;
            // SAFETY: `tle` is a TargetEntry of the arm's targetList.
            let (arm_type, arm_typmod, _) = expr_type(unsafe { (*tle).expr } as *mut sys::Node)?;
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
    // SAFETY: targetList is a List of TargetEntry.
    let tles: Vec<*mut sys::TargetEntry> = unsafe { list(q.targetList) };
    let mut output: Vec<usize> = Vec::new();
    let mut tle_pos = Vec::new();
    for &tle in &tles {
        // SAFETY: `tle` is a TargetEntry of the query's targetList.
        let e = unsafe { (*tle).expr } as *mut sys::Node;
        // SAFETY: a valid expression node.
        let attno = unsafe {
            (nodes::tag(e) == sys::NodeTag_T_Var).then(|| (*(e as *mut sys::Var)).varattno as usize)
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
        Ok(tle_pos.iter().find(|(t, _, _)| *t == tle.as_ptr()).map(|(_, p, _)| *p))
    };
    let sort = sort_keys(query_view(query)?, &lookup, &output_types)?;
    let mut tlist: *mut sys::List = std::ptr::null_mut();
    let mut describe: Vec<*mut sys::Node> = vec![std::ptr::null_mut(); output.len()];
    for &(tle, pos, e) in &tle_pos {
        let (typid, typmod, coll) = expr_type(e)?;
        // SAFETY: `tle` is a TargetEntry of the query's targetList.
        let t = unsafe { &*tle };
        let node = make_var(pos + 1, typid, typmod, coll)?;
        let entry =
            // SAFETY: makeTargetEntry allocates; resname is the analyzed entry's own string.
            guard(|| unsafe { sys::makeTargetEntry(node as *mut sys::Expr, t.resno, t.resname, t.resjunk) })?;
        tlist = nodes::append(tlist, entry as *mut c_void)?;
        describe[pos] = e;
    }
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
            computed: Vec::new(),
            join_filter: None,
            grouping: None,
            windows: Vec::new(),
            post: Vec::new(),
            having: None,
            output,
            distinct: false,
            sort,
            offset: limit_value(Node::from_ptr(q.limitOffset), "OFFSET")?.unwrap_or(0),
            limit: limit_value(Node::from_ptr(q.limitCount), "LIMIT")?,
            shared: Vec::new(),
        },
        tlist: List::from_ptr(tlist),
        qual: List::NIL,
        scan_tlist,
        query: query_view(query)?,
        rtindexes: w.rtindexes,
        pg_types,
    })
}
