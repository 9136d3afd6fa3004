//! Read once: the scan leaves of one query that read the same relation through the same access
//! (a self join, a WITH query referenced twice, a decorrelated subquery over a table of the outer
//! query) become one PostgreSQL scan whose rows each of them reads (TPC-H Q2, Q15, Q17, Q18, Q21).
//!
//! Rules:
//! - Leaves are grouped by [`ScanSpec::access`]: the same relation read with the same rights
//!   and the same row-level security quals. Bound expressions are compared by their indexes,
//!   which the planner hook gives equal trees only (PostgreSQL's `equal()`).
//! - The shared scan returns the union of the leaves' columns (the same expression and type
//!   once) and, where the leaves' conditions differ, one boolean column per distinct condition.
//!   Its condition is the OR of the leaves' when every leaf has one, none otherwise. A leaf
//!   keeps the rows whose condition column is true (NULL drops the row, as in WHERE) and reads
//!   its own columns: exactly the rows and values its own leaf plan returns, under the same
//!   snapshot and the same rights.
//! - A leaf whose columns or condition call a volatile function is never shared: each of its
//!   evaluations stays its own.
//! - The shared scans are the top block's [`PlanSpec::shared`], numbered after every other leaf;
//!   a sharing leaf keeps its columns and condition for display but no producer runs it; it
//!   names the shared scan in [`SharedRead`].
//! - The worker copies the shared scan's batches out of their pages and queues them for each
//!   reader (one may lag behind another, say a hash join's probe side while the build side is
//!   read), in worker memory; the caller does not share when that memory is limited.
//!
//! Computed once: subqueries of one query with equal plans (a WITH query referenced several
//! times, as PostgreSQL materializes it; TPC-H Q15) are computed by DataFusion once, and each
//! reference reads the rows ([`share_subqueries`]).
//! - Equal plans compute the same rows: the same bound leaves (access, expressions) under the
//!   same snapshot, the same operators. A plan with a volatile scan column or condition is never
//!   shared. Sharing also makes references agree where the result is not unique (`LIMIT`
//!   without a total order, float sums), as a materialized WITH query does in PostgreSQL.
//! - The first reference in [`PlanSpec::all_scans`] order keeps its scan leaves; the others'
//!   scans are no leaves (see [`SharedSubquery`]).
//! - The worker plans the shared plan once and queues its batches for each reference, as for a
//!   shared scan.

use super::spec::{PlanSpec, ScanColumn, ScanSpec, SharedRead, SharedSubquery};
use crate::page::ColumnType;

/// PostgreSQL's `bool` type OID, for the condition columns.
const BOOLOID: u32 = 16;

/// Share the scans of `spec` that read the same relation through the same access. `pg_types`
/// holds the PostgreSQL types (OID, typmod) of every leaf's columns in [`PlanSpec::all_scans`]
/// order; the shared scans' are appended. Returns how many leaves now read a shared scan.
pub fn share_scans(spec: &mut PlanSpec, pg_types: &mut Vec<Vec<(u32, i32)>>) -> usize {
    let scans = spec.all_scans();
    let first = scans.len() as u32;
    // Leaves by access, in order of first appearance.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, s) in scans.iter().enumerate() {
        if s.volatile || s.shared.is_some() {
            continue;
        }
        match groups.iter_mut().find(|g| scans[g[0]].access == s.access) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups.retain(|g| g.len() > 1);
    let mut shared = Vec::new();
    let mut reads: Vec<(usize, SharedRead)> = Vec::new();
    for g in &groups {
        let leaf = first + shared.len() as u32;
        let mut columns: Vec<(u32, ColumnType, (u32, i32))> = Vec::new();
        let mut position = |expr: u32, ty: ColumnType, pg: (u32, i32)| -> u32 {
            let at = columns.iter().position(|(e, t, _)| *e == expr && *t == ty).unwrap_or_else(|| {
                columns.push((expr, ty, pg));
                columns.len() - 1
            });
            at as u32
        };
        let mut positions: Vec<Vec<u32>> = Vec::new();
        for &i in g {
            let pg = pg_types.get(i).cloned().unwrap_or_default();
            let p = scans[i]
                .columns
                .iter()
                .enumerate()
                .map(|(k, c)| position(c.expr, c.ty, pg.get(k).copied().unwrap_or((0, -1))))
                .collect();
            positions.push(p);
        }
        // A leaf's condition: its one quals entry (a leaf not shared yet has at most one).
        let condition = |i: usize| scans[i].quals.first().copied();
        let mut conditions: Vec<u32> = Vec::new();
        for &i in g {
            if let Some(q) = condition(i) {
                if !conditions.contains(&q) {
                    conditions.push(q);
                }
            }
        }
        let every_leaf_filtered = g.iter().all(|&i| condition(i).is_some());
        // One condition every leaf has: it is the shared scan's, no column needed.
        let flags = !(every_leaf_filtered && conditions.len() == 1);
        let filters: Vec<Option<u32>> = g
            .iter()
            .map(|&i| match condition(i) {
                Some(q) if flags => Some(position(q, ColumnType::Boolean, (BOOLOID, -1))),
                _ => None,
            })
            .collect();
        let types: Vec<ColumnType> = columns.iter().map(|c| c.1).collect();
        for (k, &i) in g.iter().enumerate() {
            let read = SharedRead {
                leaf,
                types: types.clone(),
                positions: positions[k].clone(),
                filter: filters[k],
            };
            reads.push((i, read));
        }
        pg_types.push(columns.iter().map(|c| c.2).collect());
        shared.push(ScanSpec {
            relation: scans[g[0]].relation.clone(),
            relid: scans[g[0]].relid,
            access: scans[g[0]].access,
            columns: columns
                .into_iter()
                .enumerate()
                .map(|(id, (expr, ty, _))| ScanColumn { expr, ty, id })
                .collect(),
            quals: if every_leaf_filtered { conditions } else { Vec::new() },
            volatile: false,
            shared: None,
        });
    }
    let mut leaves = spec.all_scans_mut();
    for (i, read) in &reads {
        leaves[*i].shared = Some(read.clone());
    }
    spec.shared.extend(shared);
    reads.len()
}

/// Share the computation of equal subqueries (see the module's rules), before [`share_scans`].
/// `pg_types` loses the entries of the leaves that are no leaves any more. Returns how many
/// references read another's rows.
pub fn share_subqueries(spec: &mut PlanSpec, pg_types: &mut Vec<Vec<(u32, i32)>>) -> usize {
    let mut walk = Walk::default();
    walk.visit(spec, &mut Vec::new(), &mut 0);
    // Numbered in the order of the first references that have later ones.
    let mut ids: Vec<Option<u32>> = vec![None; walk.firsts.len()];
    let mut next = 0;
    for (k, id) in ids.iter_mut().enumerate() {
        if walk.later.iter().any(|(first, _, _)| *first == k) {
            *id = Some(next);
            next += 1;
        }
    }
    let mut marks: Vec<(Vec<usize>, SharedSubquery)> = Vec::new();
    for (k, (path, _)) in walk.firsts.iter().enumerate() {
        if let Some(id) = ids[k] {
            marks.push((path.clone(), SharedSubquery { id, first: true }));
        }
    }
    let mut dropped = Vec::new();
    for (first, path, leaves) in &walk.later {
        if let Some(id) = ids[*first] {
            marks.push((path.clone(), SharedSubquery { id, first: false }));
            dropped.push(leaves.clone());
        }
    }
    for (path, mark) in marks {
        if let Some(sq) = subquery_mut(spec, &path) {
            sq.shared = Some(mark);
        }
    }
    // The ranges do not overlap (a later reference's subtree is not walked): remove from the end.
    dropped.sort_by_key(|r| std::cmp::Reverse(r.start));
    for r in &dropped {
        if r.end <= pg_types.len() {
            pg_types.drain(r.clone());
        }
    }
    dropped.len()
}

/// The subqueries of a query in [`PlanSpec::all_scans`] order, by path (subquery index per level).
#[derive(Default)]
struct Walk {
    /// Shareable plans met first: (path, plan).
    firsts: Vec<(Vec<usize>, PlanSpec)>,
    /// (index in `firsts` of the equal plan, path, range of its scans in `all_scans` order).
    later: Vec<(usize, Vec<usize>, std::ops::Range<usize>)>,
}

impl Walk {
    /// `pos`: the number of scan leaves before `spec`'s own.
    fn visit(&mut self, spec: &PlanSpec, path: &mut Vec<usize>, pos: &mut usize) {
        *pos += spec.scans.len();
        for (k, sq) in spec.subqueries.iter().enumerate() {
            path.push(k);
            let scans = sq.plan.all_scans();
            let shareable = !scans.iter().any(|s| s.volatile);
            match self.firsts.iter().position(|(_, p)| shareable && *p == sq.plan) {
                Some(first) => {
                    self.later.push((first, path.clone(), *pos..*pos + scans.len()));
                    *pos += scans.len();
                }
                None => {
                    if shareable {
                        self.firsts.push((path.clone(), sq.plan.clone()));
                    }
                    self.visit(&sq.plan, path, pos);
                }
            }
            path.pop();
        }
    }
}

fn subquery_mut<'a>(spec: &'a mut PlanSpec, path: &[usize]) -> Option<&'a mut super::spec::Subquery> {
    let (&last, above) = path.split_last()?;
    let mut block = spec;
    for &k in above {
        block = &mut block.subqueries.get_mut(k)?.plan;
    }
    block.subqueries.get_mut(last)
}
