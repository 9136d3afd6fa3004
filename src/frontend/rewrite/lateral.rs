//! LATERAL items PostgreSQL evaluates itself: a FROM item that reads columns of FROM items
//! beside it (`FROM t, LATERAL (SELECT ... ORDER BY ... LIMIT 3) s`, `FROM t,
//! generate_series(1, t.n) g`, `t LEFT JOIN LATERAL (...) s ON true`) that pull-up left becomes,
//! together with the FROM items it reads, one subquery in FROM that PostgreSQL plans and runs
//! on its own as a leaf (`frontend::select`): PostgreSQL's nested loop over the LATERAL item,
//! the rest of the query DataFusion's.
//!
//! Rules:
//! - Works on our copy of the Query, after pull-up and decorrelation (whose outer-join nulling
//!   marks of this level are gone: `Query::for_translation`).
//! - The group is the smallest part of the join tree holding a LATERAL item and every FROM item
//!   it reads, grown until nothing inside it (a join's ON, another LATERAL item) reads an entry
//!   outside it: a join, taken whole with its ON, or the items of the query's FROM list that
//!   hold them (the WHERE stays in the query). Items of the FROM list that several LATERAL items
//!   touch are one group; a join inside a group is part of it.
//! - The subquery keeps this query's range-table numbering: entries outside the group are
//!   `RTE_RESULT` placeholders, and (16 and later) it carries a copy of the permission infos,
//!   so nothing inside the group is renumbered; references from inside it to queries above
//!   this one are one level further up (`IncrementVarSublevelsUp`). Its select list is every
//!   column of the group the rest of the query reads, whose references now name the
//!   subquery's columns.
//! - The group's entries stay in this query's range table, so the statement checks and locks
//!   its relations and views as before (`pg::range_table`): relations emptied of expressions
//!   (row-level security quals, TABLESAMPLE: the subquery's copies hold them), subqueries and
//!   views as they are (out of the join tree), functions, VALUES and joins placeholders.
//! - Outer-join nulling marks (16 and later) of every column of the subquery's level are made
//!   again as the parser makes them ([`remark`]).
//! - Only LATERAL subqueries, functions, VALUES lists and TABLESAMPLE clauses; a group holding a
//!   table function (`XMLTABLE`) or a join without a range-table entry (one a rewrite made) is
//!   left as it is (refused later). A LATERAL item that reads no column of this query (nor of
//!   any above it) loses its mark: it is an ordinary FROM item.

use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{
    make_from_expr, make_range_tbl_ref, make_result_rte, make_select_query, make_subquery_rte,
    make_target_entry_with, make_var, FromExpr, JoinType, Kind, List, Node, Oid, Query, RangeTblEntry,
    RteKind, Visit,
};
use crate::pg::nodes;

/// The name of a group's subquery in FROM (EXPLAIN shows it in the leaf's SQL).
const GROUP_NAME: &str = "pg_fusion_lateral";

/// The range-table indexes under a join-tree node (its joins' own entries included).
fn rels_under(node: Node, out: &mut Vec<u32>) -> PgResult<()> {
    nodes::check_stack_depth()?;
    match node.kind() {
        Kind::RangeTblRef(r) => out.push(r.rtindex()),
        Kind::JoinExpr(j) => {
            if j.rtindex() != 0 {
                out.push(j.rtindex());
            }
            for c in [j.larg(), j.rarg()].into_iter().flatten() {
                rels_under(c, out)?;
            }
        }
        Kind::FromExpr(f) => {
            for c in f.fromlist() {
                rels_under(c, out)?;
            }
        }
        _ => return Err(PgError::internal("a join-tree node of an unknown kind")),
    }
    Ok(())
}

fn under(node: Node) -> PgResult<Vec<u32>> {
    let mut out = Vec::new();
    rels_under(node, &mut out)?;
    Ok(out)
}

/// Does the join tree under `node` hold a join without a range-table entry of its own?
fn has_unnumbered_join(node: Node) -> PgResult<bool> {
    nodes::check_stack_depth()?;
    Ok(match node.kind() {
        Kind::JoinExpr(j) => {
            j.rtindex() == 0
                || [j.larg(), j.rarg()]
                    .into_iter()
                    .flatten()
                    .try_fold(false, |a, c| Ok::<bool, PgError>(a || has_unnumbered_join(c)?))?
        }
        Kind::FromExpr(f) => f
            .fromlist()
            .into_iter()
            .try_fold(false, |a, c| Ok::<bool, PgError>(a || has_unnumbered_join(c)?))?,
        _ => false,
    })
}

/// The entries of this query level a LATERAL entry reads (range-table indexes; empty when it
/// reads none) and whether it reads a query above this one; None for a kind left as it is.
fn lateral_refs(rte: RangeTblEntry) -> PgResult<Option<(Vec<u32>, bool)>> {
    let (mut refs, mut above) = (Vec::new(), false);
    // `base`: the level of this query as seen from the walked tree's top.
    let mut see = |node: Node, depth: u32, base: u32| {
        if let Kind::Var(v) = node.kind() {
            let level = v.varlevelsup();
            if level == depth + base {
                refs.push(v.varno());
            } else if level > depth + base {
                above = true;
            }
        }
        Ok(Visit::Children)
    };
    match rte.rtekind() {
        RteKind::Subquery => {
            let sub = rte.subquery().ok_or_else(|| PgError::internal("subquery entry without a query"))?;
            sub.walk(0, |n, d| see(n, d, 1))?;
        }
        RteKind::Function => {
            for f in rte.functions() {
                f.walk(|n, d| see(n, d, 0))?;
            }
        }
        RteKind::Values => {
            for l in rte.values_lists() {
                l.walk(|n, d| see(n, d, 0))?;
            }
        }
        RteKind::Relation => match rte.tablesample() {
            Some(t) => t.walk(|n, d| see(n, d, 0))?,
            None => return Ok(None),
        },
        _ => return Ok(None),
    }
    Ok(Some((refs, above)))
}

/// The part of the join tree a LATERAL item's group takes (see the module rules), starting from
/// `members` (the item and the entries it reads) and growing until everything inside it reads
/// only entries inside it (a condition of a join it holds may read another FROM item): the
/// holder (a join or nested FROM list, or the top FROM list) and the members. None when an
/// entry it reads is not in the join tree.
fn closed_group(
    q: Query,
    top: FromExpr,
    items: &[Node],
    item_rels: &[Vec<u32>],
    members: &[u32],
) -> PgResult<Option<(Node, Vec<u32>)>> {
    let mut members = members.to_vec();
    loop {
        if !members.iter().all(|m| item_rels.iter().any(|r| r.contains(m))) {
            return Ok(None);
        }
        let holder = lowest_holding(top.node(), &members)?;
        let parts: Vec<Node> = if holder == top.node() {
            (0..items.len())
                .filter(|&i| members.iter().any(|m| item_rels[i].contains(m)))
                .map(|i| items[i])
                .collect()
        } else {
            vec![holder]
        };
        let mut held = Vec::new();
        for &p in &parts {
            rels_under(p, &mut held)?;
        }
        // A table function's arguments are not walked here: a group holding one is left as it
        // is (refused later).
        if held.iter().any(|&h| q.rte(h).is_some_and(|r| r.rtekind() == RteKind::TableFunc)) {
            return Ok(None);
        }
        let read = reads_of(q, &parts, &held)?;
        if read.iter().all(|r| held.contains(r)) {
            return Ok(Some((holder, held)));
        }
        for r in read {
            if !members.contains(&r) {
                members.push(r);
            }
        }
        for h in held {
            if !members.contains(&h) {
                members.push(h);
            }
        }
    }
}

/// The entries of this query level that the join-tree nodes `parts` read: their conditions'
/// columns and, for the entries `held` under them, what a LATERAL entry among them reads.
fn reads_of(q: Query, parts: &[Node], held: &[u32]) -> PgResult<Vec<u32>> {
    let mut read = Vec::new();
    for &p in parts {
        p.walk(|n, depth| {
            if let Kind::Var(v) = n.kind() {
                if v.varlevelsup() == depth {
                    read.push(v.varno());
                }
            }
            Ok(Visit::Children)
        })?;
    }
    for &h in held {
        if let Some(rte) = q.rte(h) {
            if rte.lateral() {
                if let Some((refs, _)) = lateral_refs(rte)? {
                    read.extend(refs);
                }
            }
        }
    }
    read.sort_unstable();
    read.dedup();
    Ok(read)
}

/// The lowest join-tree node under `node` whose entries include every one of `members`.
fn lowest_holding(node: Node, members: &[u32]) -> PgResult<Node> {
    nodes::check_stack_depth()?;
    let children: Vec<Node> = match node.kind() {
        Kind::JoinExpr(j) => [j.larg(), j.rarg()].into_iter().flatten().collect(),
        Kind::FromExpr(f) => f.fromlist(),
        _ => Vec::new(),
    };
    for c in children {
        let rels = under(c)?;
        if members.iter().all(|m| rels.contains(m)) {
            return lowest_holding(c, members);
        }
    }
    Ok(node)
}

/// The outer joins under `node`: (the join's range-table index, the entries on its nullable
/// side, joins included).
fn outer_joins(node: Node, out: &mut Vec<(u32, Vec<u32>)>) -> PgResult<()> {
    nodes::check_stack_depth()?;
    match node.kind() {
        Kind::JoinExpr(j) => {
            let mut nullable = Vec::new();
            let (left, right) = match j.jointype() {
                JoinType::Left => (false, true),
                JoinType::Right => (true, false),
                JoinType::Full => (true, true),
                _ => (false, false),
            };
            for (side, nulled) in [(j.larg(), left), (j.rarg(), right)] {
                if let (Some(n), true) = (side, nulled) {
                    rels_under(n, &mut nullable)?;
                }
            }
            if !nullable.is_empty() {
                out.push((j.rtindex(), nullable));
            }
            for c in [j.larg(), j.rarg()].into_iter().flatten() {
                outer_joins(c, out)?;
            }
        }
        Kind::FromExpr(f) => {
            for c in f.fromlist() {
                outer_joins(c, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The outer-join nulling marks (16 and later; nothing on 15) of every column of `sub`'s own
/// level, made again as the parser makes them (`markNullableIfNeeded`): a column of an entry on
/// an outer join's nullable side carries that join wherever it is read after the join (above
/// it, to its right in a FROM list, in the join's own output columns, in the select list), not
/// inside it (its inputs and its ON see the columns unnulled). `joins`: [`outer_joins`] of
/// `sub`'s join tree.
fn remark(sub: Query, joins: &[(u32, Vec<u32>)]) -> PgResult<()> {
    let Some(f) = sub.jointree() else { return Ok(()) };
    remark_node(sub, f.node(), &mut Vec::new(), joins)?;
    for t in sub.target_list() {
        if let Some(e) = t.expr() {
            mark_expr(e, 0, &[], joins)?;
        }
    }
    Ok(())
}

fn remark_node(sub: Query, node: Node, inside: &mut Vec<u32>, joins: &[(u32, Vec<u32>)]) -> PgResult<()> {
    nodes::check_stack_depth()?;
    match node.kind() {
        Kind::RangeTblRef(r) => {
            let Some(rte) = sub.rte(r.rtindex()) else { return Ok(()) };
            match rte.rtekind() {
                RteKind::Subquery => {
                    if let Some(q) = rte.subquery() {
                        q.walk(0, |n, d| mark_var(n, d + 1, inside, joins))?;
                    }
                }
                RteKind::Function => {
                    for e in rte.functions() {
                        mark_expr(e, 0, inside, joins)?;
                    }
                }
                RteKind::Values => {
                    for e in rte.values_lists() {
                        mark_expr(e, 0, inside, joins)?;
                    }
                }
                RteKind::Relation => {
                    if let Some(e) = rte.tablesample() {
                        mark_expr(e, 0, inside, joins)?;
                    }
                }
                _ => {}
            }
        }
        Kind::JoinExpr(j) => {
            let outer = joins.iter().any(|(k, _)| *k == j.rtindex());
            if outer {
                inside.push(j.rtindex());
            }
            for c in [j.larg(), j.rarg()].into_iter().flatten() {
                remark_node(sub, c, inside, joins)?;
            }
            if let Some(e) = j.quals() {
                mark_expr(e, 0, inside, joins)?;
            }
            if outer {
                inside.pop();
            }
            // Its output columns are read after it.
            if let Some(rte) = sub.rte(j.rtindex()).filter(|r| r.rtekind() == RteKind::Join) {
                for e in rte.joinaliasvars() {
                    mark_expr(e, 0, inside, joins)?;
                }
            }
        }
        Kind::FromExpr(f) => {
            for c in f.fromlist() {
                remark_node(sub, c, inside, joins)?;
            }
            if let Some(e) = f.quals() {
                mark_expr(e, 0, inside, joins)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Marks the columns of `sub`'s level (`base` levels above `e`'s top) in `e`.
fn mark_expr(e: Node, base: u32, inside: &[u32], joins: &[(u32, Vec<u32>)]) -> PgResult<()> {
    e.walk(|n, d| mark_var(n, d + base, inside, joins))
}

/// A Var of the group's level (`level` levels up where it is) gets the outer joins it is read
/// after (not `inside`) whose nullable side holds its entry.
fn mark_var(n: Node, level: u32, inside: &[u32], joins: &[(u32, Vec<u32>)]) -> PgResult<Visit> {
    if let Kind::Var(v) = n.kind() {
        if v.varlevelsup() == level {
            let marks: Vec<i32> = joins
                .iter()
                .filter(|(j, nullable)| nullable.contains(&v.varno()) && !inside.contains(j))
                .map(|(j, _)| *j as i32)
                .collect();
            v.set_nullingrels(&marks)?;
        }
    }
    Ok(Visit::Children)
}

/// Where a group's subquery goes in the join tree.
enum Place {
    /// Instead of these items of the query's FROM list (indexes, in order).
    TopItems(Vec<usize>),
    /// Instead of this node (a join, or a FROM list below the top).
    Node(Node),
}

/// Make every LATERAL item of `q` (our copy) that reads other FROM items of it a subquery
/// PostgreSQL runs, with those items (see the module rules); the range-table indexes of the
/// subqueries made.
pub fn fuse_laterals(q: Query) -> PgResult<Vec<u32>> {
    let Some(top) = q.jointree() else { return Ok(Vec::new()) };
    let mut laterals = Vec::new();
    for rti in under(top.node())? {
        let Some(rte) = q.rte(rti) else { continue };
        if !rte.lateral() {
            continue;
        }
        match lateral_refs(rte)? {
            Some((refs, above)) if refs.is_empty() && !above => rte.set_lateral(false),
            Some((mut refs, _)) if !refs.is_empty() => {
                refs.sort_unstable();
                refs.dedup();
                refs.push(rti);
                laterals.push(refs);
            }
            _ => {}
        }
    }
    if laterals.is_empty() {
        return Ok(Vec::new());
    }
    let items = top.fromlist();
    let item_rels = items.iter().map(|&i| under(i)).collect::<PgResult<Vec<_>>>()?;
    // Union-find over the FROM list's items.
    let mut set: Vec<usize> = (0..items.len()).collect();
    fn root(set: &mut [usize], mut i: usize) -> usize {
        while set[i] != i {
            set[i] = set[set[i]];
            i = set[i];
        }
        i
    }
    let mut nested: Vec<Node> = Vec::new();
    for first in &laterals {
        let Some((holder, members)) = closed_group(q, top, &items, &item_rels, first)? else { continue };
        let members = &members;
        if holder == top.node() {
            let touched: Vec<usize> =
                (0..items.len()).filter(|&i| members.iter().any(|m| item_rels[i].contains(m))).collect();
            for w in touched.windows(2) {
                let (a, b) = (root(&mut set, w[0]), root(&mut set, w[1]));
                set[b] = a;
            }
        } else if !nested.contains(&holder) {
            nested.push(holder);
        }
    }
    let mut places = Vec::new();
    let mut grouped = vec![false; items.len()];
    for i in 0..items.len() {
        let r = root(&mut set, i);
        let members: Vec<usize> = (0..items.len()).filter(|&k| root(&mut set, k) == r).collect();
        if members.len() > 1 && members[0] == i {
            for &k in &members {
                grouped[k] = true;
            }
            places.push(Place::TopItems(members));
        }
    }
    // A join taken whole unless a larger group holds it.
    let nested_rels = nested.iter().map(|&n| under(n)).collect::<PgResult<Vec<_>>>()?;
    for (k, &n) in nested.iter().enumerate() {
        let rels = &nested_rels[k];
        let in_top_group =
            (0..items.len()).any(|i| grouped[i] && rels.iter().all(|m| item_rels[i].contains(m)));
        let in_other = nested_rels
            .iter()
            .enumerate()
            .any(|(o, r)| o != k && r.len() > rels.len() && rels.iter().all(|m| r.contains(m)));
        if !in_top_group && !in_other {
            places.push(Place::Node(n));
        }
    }
    let mut made = Vec::new();
    for place in places {
        let group: Vec<Node> = match &place {
            Place::TopItems(ix) => ix.iter().map(|&i| items[i]).collect(),
            Place::Node(n) => vec![*n],
        };
        if group.iter().try_fold(false, |a, &g| Ok::<bool, PgError>(a || has_unnumbered_join(g)?))? {
            continue;
        }
        let g = fuse(q, &group, |rtr| match &place {
            // By node: an earlier group of the list has moved the indexes.
            Place::TopItems(_) => {
                let mut keep = Vec::new();
                for n in top.fromlist() {
                    if n == group[0] {
                        keep.push(rtr);
                    } else if !group.contains(&n) {
                        keep.push(n);
                    }
                }
                top.set_fromlist(List::of(keep)?);
                Ok(())
            }
            Place::Node(n) => replace_in(top.node(), *n, rtr),
        })?;
        made.push(g);
    }
    Ok(made)
}

/// Put `new` where `old` is under join-tree node `node`.
fn replace_in(node: Node, old: Node, new: Node) -> PgResult<()> {
    let found =
        find_parent(node, old)?.ok_or_else(|| PgError::internal("LATERAL group not in the join tree"))?;
    match found.kind() {
        Kind::JoinExpr(j) if j.larg() == Some(old) => j.set_larg(Some(new)),
        Kind::JoinExpr(j) => j.set_rarg(Some(new)),
        Kind::FromExpr(f) => {
            let i =
                f.fromlist().iter().position(|&c| c == old).ok_or_else(|| PgError::internal("FROM item"))?;
            f.set_fromlist_nth(i, new)?;
        }
        _ => return Err(PgError::internal("a join-tree node of an unknown kind")),
    }
    Ok(())
}

fn find_parent(node: Node, child: Node) -> PgResult<Option<Node>> {
    nodes::check_stack_depth()?;
    let children: Vec<Node> = match node.kind() {
        Kind::JoinExpr(j) => [j.larg(), j.rarg()].into_iter().flatten().collect(),
        Kind::FromExpr(f) => f.fromlist(),
        _ => return Ok(None),
    };
    if children.contains(&child) {
        return Ok(Some(node));
    }
    for c in children {
        if let Some(p) = find_parent(c, child)? {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// Make the join-tree nodes `group` of `q` one subquery in FROM (see the module rules): `place`
/// puts the reference to it where the group was. Its range-table index.
fn fuse(q: Query, group: &[Node], place: impl FnOnce(Node) -> PgResult<()>) -> PgResult<u32> {
    let mut members = Vec::new();
    let mut joins = Vec::new();
    for &n in group {
        rels_under(n, &mut members)?;
        outer_joins(n, &mut joins)?;
    }
    let rtable = q.rtable();
    let g = rtable.len() as u32 + 1;
    // The subquery's range table: the group's entries (copies), placeholders elsewhere.
    let mut sub_rtable = List::NIL;
    for (k, rte) in rtable.iter().enumerate() {
        let entry: Node =
            if members.contains(&(k as u32 + 1)) { rte.node().copy()? } else { make_result_rte()?.into() };
        sub_rtable = sub_rtable.append(entry)?;
    }
    // This query's entries of the group: nothing left to renumber.
    let mut outer = List::NIL;
    for (k, &rte) in rtable.iter().enumerate() {
        let entry: Node = match (members.contains(&(k as u32 + 1)), rte.rtekind()) {
            (false, _) => rte.into(),
            (true, RteKind::Relation) => {
                rte.set_tablesample(None);
                rte.set_security_quals(List::NIL);
                rte.into()
            }
            // A subquery or view (16 and later: its rights and lock live on its entry) stays,
            // out of the join tree.
            (true, RteKind::Subquery) => rte.into(),
            (true, _) => make_result_rte()?.into(),
        };
        outer = outer.append(entry)?;
    }
    q.set_rtable(outer);
    let from =
        make_from_expr(List::of(group.iter().map(|n| n.copy()).collect::<PgResult<Vec<_>>>()?)?, None)?;
    place(make_range_tbl_ref(g)?.into())?;
    // The group's columns the rest of the query reads, in the order first met.
    // Each becomes the subquery's column numbered in the order first met, in one walk.
    let mut cols: Vec<(u32, i16, Oid, i32, Oid)> = Vec::new();
    q.walk(0, |n, depth| {
        if let Kind::Var(v) = n.kind() {
            if v.varlevelsup() == depth && members.contains(&v.varno()) {
                let key = (v.varno(), v.varattno());
                let k = match cols.iter().position(|c| (c.0, c.1) == key) {
                    Some(k) => k,
                    None => {
                        cols.push((key.0, key.1, v.vartype(), v.vartypmod(), v.varcollid()));
                        cols.len() - 1
                    }
                };
                let resno = i16::try_from(k + 1)
                    .map_err(|_| PgError::unsupported("LATERAL group of more than 32767 columns"))?;
                v.renumber(g, resno)?;
            }
        }
        Ok(Visit::Children)
    })?;
    let mut tlist = List::NIL;
    let mut names = Vec::new();
    for (k, &(varno, attno, typ, typmod, coll)) in cols.iter().enumerate() {
        let var = make_var(varno, attno, typ, typmod, coll, 0)?;
        let name = format!("c{}", k + 1);
        tlist = tlist.append(make_target_entry_with(var, (k + 1) as i16, Some(&name), false)?)?;
        names.push(name);
    }
    let sub = make_select_query(q, sub_rtable, from, tlist)?;
    remark(sub, &joins)?;
    // References from inside the group to queries above this one are now one level further.
    sub.increment_var_sublevels_up(1, 1)?;
    let rte = make_subquery_rte(sub, GROUP_NAME, &names)?;
    q.set_rtable(q.rtable_list().append(rte)?);
    if q.rtable().len() as u32 != g {
        return Err(PgError::internal("LATERAL group's range-table index"));
    }
    Ok(g)
}
