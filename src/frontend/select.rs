//! One query block: its FROM (see [`super::from`]), select list with or without grouping,
//! DISTINCT, ORDER BY and LIMIT, and its scan leaves bound to the analyzed trees
//! (`crate::pg::leaf`); subqueries in FROM as blocks of their own.

use super::aggregate::{dependent_columns, AggContext};
use super::construct::{index_var, make_var};
use super::context::{computed_after, Builder, Leaf, WINDOW};
use super::expr::{and_all, can_fail, df_expr, equalities_only, has_int_arith};
use super::from::FromItems;
use super::literal::limit_value;
use super::output::{scan_tlist_of, sort_keys};
use super::rewrite::cte::{locks_rows, refers_outside};
use super::set_operation::set_operation_block;
use super::subquery::{referenced_columns, sub_block, without_unused_outputs};
use super::types::{eq_safe, expr_type};
use super::{unsupported, Block};
use crate::page::ColumnType;
use crate::pg::catalog;
use crate::pg::error::{PgError, PgResult, SqlState};
use crate::pg::leaf::Bindings;
use crate::pg::node::{
    make_null_const, make_target_entry_like, Kind, List, Node, Query, RteKind, TargetEntry, Visit,
};
use crate::plan::spec::{Computed, Grouping, PlanSpec, ScanColumn, ScanSpec, Subquery};

/// A query block (see `super::query::block_with` for `top`).
pub(super) fn block_of(q: Query, bind: &mut Bindings, top: bool) -> PgResult<Block> {
    if q.set_operations().is_some() {
        return set_operation_block(q, bind);
    }
    if !q.is_select() {
        return Err(unsupported("statement type"));
    }
    let checks: [(bool, &str); 5] = [
        (q.has_for_update() || !q.row_marks().is_empty(), "FOR UPDATE/SHARE in a subquery"),
        (!q.cte_list().is_empty(), "WITH"),
        (
            q.has_target_srfs()
                && (q.has_aggs()
                    || q.has_window_funcs()
                    || !q.group_clause().is_empty()
                    || !q.grouping_sets().is_empty()
                    || q.having_qual().is_some()),
            "set-returning function in the select list of a query with aggregates or window functions",
        ),
        (q.has_distinct_on(), "DISTINCT ON"),
        (q.limit_with_ties(), "FETCH ... WITH TIES"),
    ];
    if let Some((_, what)) = checks.iter().find(|(bad, _)| *bad) {
        return Err(unsupported(what));
    }
    // The base relations and the join tree with every condition of WHERE and JOIN ... ON.
    let mut from = FromItems { leaves: Vec::new(), has_outer: false };
    let tree = from.walk(q.jointree().map(Node::from), false)?;
    let has_join_rtes = q.rtable().iter().any(|r| r.rtekind() == RteKind::Join);
    // Join alias Vars replaced by the base-relation expressions they stand for.
    let flatten = |e: Node| -> PgResult<Node> {
        if !has_join_rtes {
            return Ok(e);
        }
        q.flatten_join_alias_vars(e)
    };
    let mut leaves = Vec::new();
    // Subquery leaves come after the scans (spec leaf i is scans[i], then subqueries).
    let mut sub_leaves = Vec::new();
    let mut subs = Vec::new();
    for &(rtindex, nullable) in &from.leaves {
        let rte = q.rte(rtindex as u32).ok_or_else(|| PgError::internal("range table index out of range"))?;
        if let (RteKind::Subquery, Some(sub)) = (rte.rtekind(), rte.subquery()) {
            let lateral_group = bind.runs_on_its_own(sub);
            if sub.has_recursive() || lateral_group {
                // A WITH RECURSIVE query (see `rewrite::cte`), or a LATERAL item with the FROM
                // items it reads (`rewrite::lateral`): a leaf PostgreSQL plans and runs on its
                // own, like a function in FROM.
                if rte.lateral() || refers_outside(sub)? {
                    return Err(unsupported(if lateral_group {
                        "LATERAL item over columns of an outer query"
                    } else {
                        "WITH RECURSIVE query over columns of an outer query"
                    }));
                }
                // Equal references share one run (`Bindings::access`), as PostgreSQL runs a WITH
                // query once: nothing in it may differ between runs. (A LATERAL group is one
                // FROM item: with such a function it is never shared.)
                if !lateral_group
                    && (sub.node().contains_volatile_functions()? || sub.node().has_unseeded_sample()?)
                {
                    return Err(unsupported(
                        "volatile function or TABLESAMPLE without REPEATABLE in a subquery with WITH RECURSIVE",
                    ));
                }
                if locks_rows(sub)? {
                    return Err(unsupported("FOR UPDATE/SHARE in a subquery"));
                }
                leaves.push(Leaf { rtindex, relid: 0, quals: Vec::new(), nullable, sub: None });
                continue;
            }
            // Columns the query does not read are not computed (PostgreSQL's
            // `remove_unused_subquery_outputs`): a subquery there that would fail never runs.
            // (Not a WITH query PostgreSQL materializes: it computes it whole, once.)
            let used =
                if bind.keeps_every_column(sub) { None } else { referenced_columns(q, rtindex as u32)? };
            let sub = without_unused_outputs(sub, &used)?;
            // A column the query reads that DataFusion would leave to PostgreSQL's node (an
            // expression over the subquery's window functions or aggregates it lacks) cannot be
            // read there: the subquery is then PostgreSQL's too.
            let block = sub_block(rte, sub, bind).and_then(|block| {
                let lacking = block
                    .outputs
                    .iter()
                    .enumerate()
                    .any(|(i, o)| o.is_none() && used.as_ref().is_none_or(|u| u.contains(&(i + 1))));
                if lacking {
                    return Err(computed_after());
                }
                Ok(block)
            });
            match block {
                Ok(block) => {
                    sub_leaves.push(Leaf {
                        rtindex,
                        relid: 0,
                        quals: Vec::new(),
                        nullable,
                        sub: Some(subs.len()),
                    });
                    subs.push(block);
                }
                // One DataFusion cannot compute as PostgreSQL does (window frames, types it only
                // carries, expressions over its aggregates): a leaf PostgreSQL plans and runs on
                // its own, as it plans a subquery it does not pull up, DataFusion the rest.
                Err(e)
                    if e.sqlstate() == SqlState::FEATURE_NOT_SUPPORTED
                        && !e.is_caught()
                        && !rte.lateral()
                        && !refers_outside(sub)?
                        && !locks_rows(sub)? =>
                {
                    rte.set_subquery_node(Some(sub.node()));
                    bind.run_on_its_own(sub);
                    leaves.push(Leaf { rtindex, relid: 0, quals: Vec::new(), nullable, sub: None });
                }
                Err(e) => return Err(e),
            }
            continue;
        }
        if matches!(rte.rtekind(), RteKind::Function | RteKind::Values) {
            // A function or VALUES list in FROM: a leaf PostgreSQL plans and runs on its own (a
            // Function Scan, a Values Scan), read by one producer (it has no blocks to split).
            if rte.lateral() {
                return Err(unsupported("LATERAL function or VALUES in FROM"));
            }
            for e in rte.functions().into_iter().chain(rte.values_lists()) {
                if e.contains_outer_vars()? {
                    return Err(unsupported("function or VALUES in FROM over a column of an outer query"));
                }
            }
            leaves.push(Leaf { rtindex, relid: 0, quals: Vec::new(), nullable, sub: None });
            continue;
        }
        if rte.rtekind() != RteKind::Relation {
            return Err(unsupported("FROM item that is not a table (a table function, WITH RECURSIVE, ...)"));
        }
        if !matches!(
            rte.relkind(),
            catalog::RELKIND_RELATION | catalog::RELKIND_MATVIEW | catalog::RELKIND_PARTITIONED_TABLE
        ) {
            return Err(unsupported(
                "relation kind (only tables, partitioned tables and materialized views)",
            ));
        }
        // TABLESAMPLE: the leaf's plan samples (a Sample Scan, one producer); its arguments are
        // constants or parameters (never a LATERAL reference or a subquery).
        if let Some(ts) = rte.tablesample() {
            if ts.varno()? != 0 || ts.contains_outer_vars()? || ts.has_sub_link()? {
                return Err(unsupported("TABLESAMPLE over columns or subqueries"));
            }
        }
        let relid = rte.relid();
        leaves.push(Leaf { rtindex, relid, quals: Vec::new(), nullable, sub: None });
    }
    leaves.extend(sub_leaves);
    if leaves.is_empty() {
        return Err(unsupported("SELECT without a table"));
    }

    let mut b = Builder {
        columns: Vec::new(),
        leaves,
        output: Vec::new(),
        computed: Vec::new(),
        subs,
        sub_columns: Vec::new(),
        value_only: Vec::new(),
        windows: Vec::new(),
        guarded: false,
    };
    // Conditions: one relation's go into its scan SQL; those between relations run in
    // DataFusion (equalities become hash-join keys).
    // With outer joins the tree is kept: each condition is evaluated where it is written, and
    // pushed into a relation's scan only where that cannot change the join's rows.
    let grouped = q.has_aggs()
        || !q.group_clause().is_empty()
        || !q.grouping_sets().is_empty()
        || q.having_qual().is_some();
    let distinct = !q.distinct_clause().is_empty();
    // A condition between relations DataFusion cannot evaluate as PostgreSQL does (an operator or
    // function it lacks, text ordered under another collation, a user's function over a
    // security-barrier view) is evaluated by PostgreSQL on the node, over the joined rows, where
    // those rows are the query's: see `node_condition_allowed`.
    let on_node = top && node_condition_allowed(q, grouped, distinct);
    let mut node_terms = Vec::new();
    // The leaves each condition DataFusion evaluates joins.
    let mut df_links = Vec::new();
    let mut join_terms = Vec::new();
    let join_tree = if from.has_outer {
        Some(b.convert(&tree, true, &mut join_terms, &flatten)?)
    } else {
        let mut quals = Vec::new();
        tree.all_quals(&mut quals);
        for c in quals {
            let c = b.condition(c, &flatten)?;
            match b.one_leaf(c)? {
                Some(leaf) if b.leaves[leaf].sub.is_none() => b.leaves[leaf].quals.push(c),
                _ => {
                    for (leaf, r) in b.implied_restrictions(c)? {
                        b.leaves[leaf].quals.push(r);
                    }
                    let mark = b.mark();
                    match b.join_cond(c) {
                        Ok(t) => {
                            df_links.push(b.leaves_read(c)?);
                            join_terms.push(t);
                        }
                        Err(e)
                            if on_node
                                && !e.is_caught()
                                && e.sqlstate() == SqlState::FEATURE_NOT_SUPPORTED
                                && !c.has_sub_link()? =>
                        {
                            b.reset(mark);
                            node_terms.push(c);
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        if !node_terms.is_empty() {
            // DataFusion's join filter runs on every joined row before the node's condition;
            // PostgreSQL evaluates a join's conditions cheapest first (a comparison before
            // arithmetic), so a term of DataFusion's that can fail would raise an error on rows
            // PostgreSQL never computes it for.
            if join_terms.iter().any(can_fail) || b.computed.iter().any(|(_, e)| can_fail(e)) {
                return Err(unsupported(
                    "join condition DataFusion cannot evaluate beside one that can fail (arithmetic, a cast): PostgreSQL evaluates them in another order",
                ));
            }
            cross_product_bounded(&b, &df_links)?;
        }
        None
    };
    let join_filter = and_all(join_terms);
    let tles = q.target_list();
    let tle_exprs = tles
        .iter()
        .map(|t| {
            flatten(t.expr().ok_or_else(|| PgError::internal("select-list entry without an expression"))?)
        })
        .collect::<PgResult<Vec<_>>>()?;

    let mut spec_grouping = None;
    let mut having = None;
    let mut pg_qual = List::NIL;
    let mut tlist = List::NIL;
    let scan_tlist_exprs: Vec<Node>;
    let output: Vec<usize>;
    let sort;
    let stage_types: Vec<ColumnType>;

    if !grouped {
        // Each select-list expression of one relation is a scan column; one over several
        // relations is computed by PostgreSQL's projection on the node, over scan columns.
        // `tle_cols`: the node's output column (not the scan column) of each select-list entry.
        let mut tle_cols: Vec<Option<usize>> = Vec::new();
        let mut tle_nodes = Vec::new();
        // A set-returning function in the select list (PostgreSQL's ProjectSet) multiplies its
        // input rows: done by the one table's leaf, with every other select-list entry, before
        // DataFusion sees the rows. Over several relations PostgreSQL would expand the joined
        // rows (an outer join's null-extended row would vanish): refused.
        if q.has_target_srfs() && (q.limit_count().is_some() || q.limit_offset().is_some()) {
            return Err(super::srf_under_limit());
        }
        if q.has_target_srfs() && (b.leaves.len() != 1 || b.leaves[0].sub.is_some()) {
            return Err(unsupported(
                "set-returning function in the select list of a query over several relations",
            ));
        }
        for &e in &tle_exprs {
            let in_scan = match b.one_leaf(e)? {
                Some(leaf) => b.computable_in_scan(e, leaf)?,
                None => false,
            };
            if q.has_target_srfs() && !in_scan {
                return Err(unsupported(
                    "set-returning function in the select list beside an expression the table's scan does not compute",
                ));
            }
            if in_scan {
                let id = b.carried_column(e)?;
                tle_cols.push(Some(b.output_pos(id)));
                tle_nodes.push(None);
            } else {
                let mut ctx = AggContext::plain(&mut b, q, &tles, &tle_exprs);
                let node = ctx.mutate(e)?;
                // A window function's result is an output column itself (ORDER BY may use it).
                match index_var(node) {
                    Some(pos) => {
                        tle_cols.push(Some(pos));
                        tle_nodes.push(None);
                    }
                    None => {
                        tle_nodes.push(Some(node));
                        tle_cols.push(None);
                    }
                }
            }
        }
        // Conditions on the node read the joined row's columns as the node's output columns.
        for &c in &node_terms {
            let mut ctx = AggContext::plain(&mut b, q, &tles, &tle_exprs);
            pg_qual = pg_qual.append(ctx.mutate(c)?)?;
        }
        stage_types = b.columns.iter().map(|c| c.1).collect();
        output = b.output.clone();
        let output_types: Vec<ColumnType> = output.iter().map(|&id| stage_types[id]).collect();
        if distinct {
            // DISTINCT over every output column: each must be a visible select-list column.
            if tle_cols.iter().any(|c| c.is_none()) {
                return Err(unsupported("DISTINCT over an expression of several tables"));
            }
            for (i, tle) in tles.iter().enumerate() {
                if tle.resjunk() {
                    let visible = tles.iter().zip(&tle_cols).any(|(t, &c)| !t.resjunk() && c == tle_cols[i]);
                    if !visible {
                        return Err(unsupported("DISTINCT with ORDER BY expressions not in the select list"));
                    }
                }
            }
            for &id in &output {
                let (e, ty, _) = b.columns[id];
                let (_, _, coll) = expr_type(e)?;
                if !eq_safe(ty, coll)? {
                    return Err(unsupported(
                        "DISTINCT on this type (float, interval, nondeterministic collation)",
                    ));
                }
            }
        }
        let lookup = |tle: TargetEntry| -> PgResult<Option<usize>> {
            Ok(tles.iter().position(|&t| t == tle).and_then(|i| tle_cols[i]))
        };
        sort = sort_keys(q, &lookup, &output_types)?;
        for (i, &tle) in tles.iter().enumerate() {
            let node = match (tle_cols[i], tle_nodes[i]) {
                (Some(pos), _) => {
                    let (typid, typmod, coll) = expr_type(b.columns[output[pos]].0)?;
                    make_var(pos + 1, typid, typmod, coll)?
                }
                (None, Some(node)) => node,
                (None, None) => return Err(PgError::internal("select-list entry without a node")),
            };
            tlist = tlist.append(make_target_entry_like(node, tle)?)?;
        }
        // A window function's column is described by a NULL of its type (EXPLAIN cannot print
        // a window function outside its WindowAgg).
        scan_tlist_exprs = output
            .iter()
            .map(|&id| {
                let (e, _, leaf) = b.columns[id];
                if leaf != WINDOW {
                    return Ok(e);
                }
                let (typid, _, coll) = expr_type(e)?;
                make_null_const(typid, -1, coll)
            })
            .collect::<PgResult<Vec<_>>>()?;
    } else {
        // Group keys.
        let mut key_exprs = Vec::new();
        let mut keys = Vec::new();
        // (sortgroupref, position in `keys`) of each GROUP BY entry.
        let mut refs: Vec<(u32, usize)> = Vec::new();
        for sgc in q.group_clause() {
            let sort_group_ref = sgc.tle_sort_group_ref();
            let tle = q.sort_group_tle(sgc)?;
            let i = tles.iter().position(|&t| t == tle).ok_or_else(|| PgError::internal("GROUP BY entry"))?;
            let e = tle_exprs[i];
            let col = b.column(e)?;
            let (_, _, coll) = expr_type(e)?;
            if !eq_safe(b.columns[col].1, coll)? {
                return Err(unsupported(
                    "GROUP BY on this type (float, interval, nondeterministic collation)",
                ));
            }
            if !keys.contains(&col) {
                keys.push(col);
                key_exprs.push(e);
            }
            refs.push((sort_group_ref, keys.iter().position(|&k| k == col).unwrap_or(0)));
        }
        // GROUPING SETS / ROLLUP / CUBE, expanded as PostgreSQL does (GROUP BY DISTINCT drops
        // repeated sets).
        let mut sets = None;
        if !q.grouping_sets().is_empty() {
            let Some(expanded) = q.expand_grouping_sets(4096)? else {
                return Err(unsupported("more than 4096 grouping sets"));
            };
            let mut all = Vec::new();
            for set in expanded {
                let mut positions = Vec::new();
                for r in set {
                    let k = refs
                        .iter()
                        .find(|(sr, _)| *sr == r)
                        .map(|(_, k)| *k)
                        .ok_or_else(|| PgError::internal("grouping set member"))?;
                    if !positions.contains(&k) {
                        positions.push(k);
                    }
                }
                positions.sort_unstable();
                all.push(positions);
            }
            sets = Some(all);
        }
        let having_flat = q.having_qual().map(flatten).transpose()?;
        // An uncorrelated subquery over the groups (`HAVING sum(x) > (SELECT ...)`, TPC-H Q11):
        // PostgreSQL computes it once in a scan, as a column; being the same on every row, it
        // joins the group keys without changing the groups (only with GROUP BY: without it an
        // empty input still makes one group).
        let mut describe: Vec<Node> = key_exprs.clone();
        if !q.group_clause().is_empty() && sets.is_none() {
            let mut found = Vec::new();
            for &e in tle_exprs.iter().chain(having_flat.iter()) {
                sublinks_outside_aggregates(e, &mut found)?;
            }
            for sl in found {
                if sl.varno()? != 0 {
                    continue; // correlated: refused where it is met
                }
                let col = b.column(sl)?;
                if !keys.contains(&col) {
                    keys.push(col);
                    key_exprs.push(sl);
                    let (typid, _, coll) = expr_type(sl)?;
                    describe.push(make_null_const(typid, -1, coll)?);
                }
            }
        }
        // Columns that depend on a grouped primary key join the group keys (see
        // `dependent_columns`); not with grouping sets (a set may leave the key out).
        if !q.group_clause().is_empty() && sets.is_none() {
            let exprs: Vec<Node> = tle_exprs.iter().copied().chain(having_flat).collect();
            for v in dependent_columns(q, &exprs, &key_exprs)? {
                let col = b.column(v)?;
                if !keys.contains(&col) {
                    keys.push(col);
                    key_exprs.push(v);
                    describe.push(v);
                }
            }
        }
        let mut ctx = AggContext {
            b: &mut b,
            key_exprs: &key_exprs,
            key_cols: &keys,
            query: q,
            tles: &tles,
            tle_exprs: &tle_exprs,
            windows: Vec::new(),
            window_vars: Vec::new(),
            plain: false,
            aggs: Vec::new(),
            agg_exprs: Vec::new(),
        };
        let mut mutated = Vec::new();
        for &e in &tle_exprs {
            mutated.push(ctx.mutate(e)?);
        }
        let having_pg = having_flat.map(|h| ctx.mutate(h)).transpose()?;
        let aggs = std::mem::take(&mut ctx.aggs);
        let agg_exprs = std::mem::take(&mut ctx.agg_exprs);
        // DataFusion sorts one aggregation's input once: one ORDER BY for all ordered aggregates.
        let mut orders = aggs.iter().map(|a| &a.order_by).filter(|o| !o.is_empty());
        if let Some(first) = orders.next() {
            if orders.any(|o| o != first) {
                return Err(unsupported("aggregates with different ORDER BYs in one query"));
            }
        }
        // Window results follow the aggregates in the stage.
        let windows = std::mem::take(&mut ctx.windows);
        let window_vars = std::mem::take(&mut ctx.window_vars);
        let base = keys.len() + aggs.len();
        let mut window_describe = Vec::new();
        for (i, &v) in window_vars.iter().enumerate() {
            // Vars made by `AggContext::window_func`, ours to renumber.
            v.set_varattno((base + i + 1) as i16);
            window_describe.push(make_null_const(v.vartype(), -1, v.varcollid())?);
        }
        // Grouping without keys or aggregates (`SELECT 1 FROM t HAVING ...`: one row or none):
        // DataFusion has no such aggregation; PostgreSQL's Agg node computes it.
        if keys.is_empty() && aggs.is_empty() && sets.is_none() {
            return Err(unsupported("HAVING without GROUP BY or aggregates"));
        }
        let grouping = Grouping { keys: keys.clone(), aggs, sets };
        stage_types = keys
            .iter()
            .map(|&k| b.columns[k].1)
            .chain(grouping.aggs.iter().map(|a| a.output))
            .chain(windows.iter().map(|w| w.output))
            .collect();
        b.windows = windows;
        output = (0..stage_types.len()).collect();
        scan_tlist_exprs = describe.into_iter().chain(agg_exprs).chain(window_describe).collect();
        // HAVING: in DataFusion when translatable, else by PostgreSQL on the node (only where
        // filtering after DISTINCT/ORDER BY/LIMIT gives the same rows).
        if let Some(having_pg) = having_pg {
            // Constants folded first (`sum(n) > 2700000` casts its integer to numeric), on a copy.
            let folded = having_pg.copy()?.eval_const_expressions()?;
            match df_expr(folded) {
                Ok(h) => having = Some(h),
                Err(e) => {
                    if distinct || q.limit_count().is_some() || q.limit_offset().is_some() {
                        return Err(e);
                    }
                    pg_qual = List::NIL.append(having_pg)?;
                }
            }
        }
        let mutated_ref = &mutated;
        let lookup = |tle: TargetEntry| -> PgResult<Option<usize>> {
            let Some(i) = tles.iter().position(|&t| t == tle) else { return Ok(None) };
            Ok(index_var(mutated_ref[i]))
        };
        sort = sort_keys(q, &lookup, &stage_types)?;
        if distinct {
            let mut covered = vec![false; stage_types.len()];
            for (i, tle) in tles.iter().enumerate() {
                let Some(c) = index_var(mutated[i]) else {
                    return Err(unsupported("DISTINCT over expressions of aggregates"));
                };
                if !tle.resjunk() {
                    covered[c] = true;
                }
            }
            if covered.iter().any(|c| !c) {
                return Err(unsupported("DISTINCT with aggregates that are not in the select list"));
            }
            for (i, e) in scan_tlist_exprs.iter().enumerate() {
                let (_, _, coll) = expr_type(*e)?;
                if !eq_safe(stage_types[i], coll)? {
                    return Err(unsupported(
                        "DISTINCT on this type (float, interval, nondeterministic collation)",
                    ));
                }
            }
        }
        for (i, &tle) in tles.iter().enumerate() {
            tlist = tlist.append(make_target_entry_like(mutated[i], tle)?)?;
        }
        spec_grouping = Some(grouping);
    }

    let offset = limit_value(q.limit_offset(), "OFFSET")?.unwrap_or(0);
    let limit = limit_value(q.limit_count(), "LIMIT")?;

    // Each leaf bound to its range-table entry and its expression trees (see `crate::pg::leaf`).
    let mut scans = Vec::new();
    let mut scan_pg_types = Vec::new();
    let mut next_id = b.columns.len();
    for (li, leaf) in b.leaves.iter().enumerate() {
        if leaf.sub.is_some() {
            continue;
        }
        let (relid, rtindex) = (leaf.relid, leaf.rtindex);
        let rte = q.rte(rtindex as u32).ok_or_else(|| PgError::internal("range table index out of range"))?;
        // For display (EXPLAIN): the relation is bound by its OID; a function or VALUES list by
        // its entry (named as the query names it).
        let relation = if relid == 0 {
            catalog::quoted_identifier(&rte.alias_name())?
        } else {
            catalog::qualified_relation_name(relid)?
        };
        let mut columns = Vec::new();
        let mut pg_types = Vec::new();
        for (id, (e, ty, l)) in b.columns.iter().enumerate() {
            if *l == li {
                let (typid, typmod, _) = expr_type(*e)?;
                columns.push(ScanColumn { expr: bind.expr(*e, rtindex)?, ty: *ty, id });
                pg_types.push((typid, typmod));
            }
        }
        if columns.is_empty() {
            // count(*) alone, or a relation only joined: PostgreSQL still has to produce the
            // rows; carry a constant.
            columns.push(ScanColumn { expr: bind.constant_true()?, ty: ColumnType::Boolean, id: next_id });
            pg_types.push((catalog::BOOLOID, -1));
            next_id += 1;
        }
        // A function or VALUES list with a volatile function is never shared with another leaf
        // (each such entry runs as written); equal ones (a WITH query's copies) are read once.
        let mut volatile = false;
        if relid == 0 {
            for e in rte.functions().into_iter().chain(rte.values_lists()) {
                volatile = volatile || e.contains_volatile_functions()?;
            }
        }
        // A sample without REPEATABLE draws a new seed per scan: each entry samples on its own.
        if let Some(ts) = rte.tablesample() {
            volatile = volatile || ts.has_unseeded_sample()? || ts.contains_volatile_functions()?;
        }
        // So does a subquery sampling without REPEATABLE in a condition or column.
        for &q in &leaf.quals {
            volatile = volatile || q.contains_volatile_functions()? || q.has_unseeded_sample()?;
        }
        for (e, _, l) in b.columns.iter() {
            if *l == li && !volatile {
                // A set-returning function changes the leaf's row count: never shared either.
                volatile = e.contains_volatile_functions()? || e.returns_set()? || e.has_unseeded_sample()?;
            }
        }
        scans.push(ScanSpec {
            relation,
            relid,
            access: bind.access(q, rte, rtindex)?,
            columns,
            quals: bind.condition(&leaf.quals, rtindex)?.into_iter().collect(),
            volatile,
            shared: None,
        });
        scan_pg_types.push(pg_types);
    }

    // DataFusion may compute the projection of computed columns below a filter it can swap with
    // (a WHERE over joined rows that is not all join keys): integer arithmetic there could
    // raise an overflow on rows PostgreSQL filters out first.
    if b.computed.iter().any(|(_, e)| has_int_arith(e)) && !join_filter.as_ref().is_none_or(equalities_only) {
        return Err(unsupported(
            "integer arithmetic computed after the joins under a condition between tables other than equalities",
        ));
    }
    let scan_tlist = scan_tlist_of(&scan_tlist_exprs)?;
    // Subquery leaves: the columns the block reads (one at least, to have rows).
    let mut subqueries = Vec::new();
    let mut pg_types = scan_pg_types;
    for (k, sub) in std::mem::take(&mut b.subs).into_iter().enumerate() {
        let mut columns: Vec<(usize, usize)> =
            b.sub_columns.iter().filter(|c| c.0 == k).map(|c| (c.1, c.2)).collect();
        if columns.is_empty() {
            if sub.types.is_empty() {
                return Err(unsupported("subquery in FROM without columns"));
            }
            columns.push((0, next_id));
            next_id += 1;
        }
        pg_types.extend(sub.pg_types);
        subqueries.push(Subquery { plan: sub.plan, columns, shared: None });
    }
    Ok(Block {
        spec: PlanSpec {
            scans,
            subqueries,
            set_tree: None,
            join_tree,
            join_order: None,
            computed: b
                .computed
                .iter()
                .map(|(id, expr)| Computed { id: *id, expr: expr.clone(), ty: b.columns[*id].1 })
                .collect(),
            join_filter,
            grouping: spec_grouping,
            windows: std::mem::take(&mut b.windows),
            post: Vec::new(),
            having,
            output,
            distinct,
            sort,
            offset,
            limit,
            shared: Vec::new(),
        },
        tlist,
        qual: pg_qual,
        scan_tlist,
        query: q,
        rtindexes: b.leaves.iter().map(|l| l.rtindex).collect(),
        pg_types,
    })
}

/// May PostgreSQL evaluate a condition on the node (the CustomScan's qual, over the rows
/// DataFusion sends)? Only where those rows are the joined rows themselves, each kept or
/// dropped on its own: no grouping, DISTINCT, window functions or set-returning functions
/// (computed over the rows before the condition would drop some), no LIMIT or OFFSET in
/// DataFusion (PostgreSQL's Limit above the node, `FinalSort`, counts after the condition), and
/// no outer join (its condition decides null-extension; the caller keeps this to the inner-join
/// case). ORDER BY is kept: filtering sorted rows keeps their order.
fn node_condition_allowed(q: Query, grouped: bool, distinct: bool) -> bool {
    !grouped
        && !distinct
        && !q.has_window_funcs()
        && !q.has_target_srfs()
        && q.limit_count().is_none()
        && q.limit_offset().is_none()
}

/// The most rows DataFusion sends to the node for PostgreSQL to filter, where a condition on the
/// node is all that joins some tables (their cross product, by PostgreSQL's estimates).
const CROSS_ROWS_MAX: f64 = 1e6;

/// Refuse a condition on the node that would meet tables no condition DataFusion evaluates joins
/// (`links`: the leaves each such condition reads) as a cross product of more than
/// [`CROSS_ROWS_MAX`] rows, or of tables without an estimate: PostgreSQL's own plan would probe
/// an index or loop over them without sending each pair anywhere.
fn cross_product_bounded(b: &Builder, links: &[Vec<usize>]) -> PgResult<()> {
    // Union-find over the leaves: a component is a set of leaves DataFusion joins.
    let mut parent: Vec<usize> = (0..b.leaves.len()).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for l in links {
        for w in l.windows(2) {
            let (x, y) = (root(&mut parent, w[0]), root(&mut parent, w[1]));
            parent[x] = y;
        }
    }
    // Per component, its largest leaf's estimate (None: a leaf without one).
    let mut rows: Vec<(usize, Option<f64>)> = Vec::new();
    for (i, leaf) in b.leaves.iter().enumerate() {
        let r = root(&mut parent, i);
        let est =
            if leaf.relid != 0 && leaf.sub.is_none() { catalog::relation_rows(leaf.relid)? } else { None };
        match rows.iter_mut().find(|(c, _)| *c == r) {
            Some((_, e)) => *e = e.zip(est).map(|(a, b)| a.max(b)),
            None => rows.push((r, est)),
        }
    }
    if rows.len() < 2 {
        return Ok(());
    }
    let product = rows.iter().try_fold(1.0f64, |acc, (_, e)| e.map(|e| acc * e.max(1.0)));
    match product {
        Some(p) if p <= CROSS_ROWS_MAX => Ok(()),
        Some(p) => Err(unsupported(format!(
            "join condition DataFusion cannot evaluate, between tables no other condition joins: PostgreSQL would filter their cross product on the node (about {p:.0} rows; at most {CROSS_ROWS_MAX:.0})"
        ))),
        None => Err(unsupported(
            "join condition DataFusion cannot evaluate, between a subquery, function or partitioned table and tables no other condition joins (their cross product would be filtered on the node)",
        )),
    }
}

/// The subqueries of `e` that are not inside an aggregate's arguments.
pub(super) fn sublinks_outside_aggregates(e: Node, out: &mut Vec<Node>) -> PgResult<()> {
    e.walk(|node, _| {
        Ok(match node.kind() {
            Kind::SubLink(_) => {
                out.push(node);
                Visit::Skip
            }
            Kind::Aggref(_) => Visit::Skip,
            _ => Visit::Children,
        })
    })
}
