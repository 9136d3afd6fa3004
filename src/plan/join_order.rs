//! The order a query block's inner-joined leaves are joined in (`pg_fusion.join_reordering`),
//! chosen from PostgreSQL's statistics: each leaf's row estimate (its plan's, after its own
//! conditions), and per join column the distinct values and the fraction of NULLs
//! (`pg_statistic`, a unique column counting one value per row).
//!
//! Rules:
//! - Only a block whose leaves are all scan leaves PostgreSQL estimated (relations, and the
//!   functions, VALUES lists and subqueries it runs as leaves; no subquery DataFusion computes),
//!   joined as a FROM list under one filter (no outer joins, no set operation), three leaves at
//!   least and [`MAX_LEAVES`] at most, every join condition unable to fail (an error must not
//!   depend on the order: see [`DfExpr::can_fail`]), and every leaf reachable through
//!   equalities. Any other block keeps its written order.
//! - The orders searched are left-deep: each leaf joins all those before it, the ones before it
//!   being the hash join's build side and the new leaf its probe side, whose runtime filters
//!   come from them; DataFusion keeps such an order (its `EliminateCrossJoin` takes the first
//!   leaf with a join key to the ones before) and picks the build side of the first join by the
//!   same estimates.
//! - Equalities between plain columns of one type whose equality is an equivalence
//!   ([`transitive`]: integers, decimals of one precision and scale, dates, timestamps, text
//!   compared by bytes) form equivalence classes, as PostgreSQL's planner forms them:
//!   `a = b AND b = c` joins `a` to `c` too. Where the chosen order joins a leaf to the ones
//!   before it and no written equality of a class they share links them, one equality derived
//!   from the class is added to the filter. It is implied by the written ones, so no row
//!   changes; every written condition stays.
//! - DataFusion may still swap a join's sides by its own estimates (its `JoinSelection`): the
//!   order of the leaves is ours, which side of a join builds is not always.
//! - Rows of a join: the product of its leaves' rows, times per class `min(d) / prod(d)` over
//!   the leaves it spans (`d`: a leaf's distinct values of the class, at most its rows; the
//!   containment assumption PostgreSQL's `eqjoinsel` makes) and their non-NULL fractions, times
//!   a default selectivity per other condition (PostgreSQL's: 1/200 for an equality without
//!   statistics, 1/3 for an inequality).
//! - Cost of an order, in rows weighed by [`Weights`]: every row a leaf hands over (a probe
//!   side's only those its runtime filters pass: the fraction of its distinct keys the build
//!   side holds), each build side's rows, each probed row and each joined row.
//! - The chosen order's filter shares ([`Filtered`]) go to `enable = auto`'s estimate
//!   (`crate::plan::cost`): a probe-side leaf hands over only the rows its filter passes.

use super::spec::{CmpOp, DfExpr, PlanSpec, ScanSpec};
use crate::page::ColumnType;

/// More leaves than this keep their written order (the search visits `2^n * n` states).
pub const MAX_LEAVES: usize = 12;

/// PostgreSQL's number of distinct values when it has no statistics (`DEFAULT_NUM_DISTINCT`).
const DEFAULT_DISTINCT: f64 = 200.0;

/// What PostgreSQL's statistics say of one column of a scan leaf's relation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColumnEstimate {
    /// Distinct non-NULL values in the relation.
    pub distinct: f64,
    /// Fraction of rows whose value is NULL.
    pub null_frac: f64,
}

/// Relative cost per row of the work an order changes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    /// A row a leaf hands over (encoded into a page, moved, imported).
    pub handed_over: f64,
    /// A row of a hash join's build side.
    pub build: f64,
    /// A row probing a hash table.
    pub probe: f64,
    /// A row a join returns.
    pub joined: f64,
}

impl Weights {
    /// Measured proportions: handing a row over costs several times a hash probe.
    pub const DEFAULT: Weights = Weights { handed_over: 1.0, build: 0.4, probe: 0.15, joined: 0.1 };
}

/// Column statistics of a scan leaf: `(leaf, index into its columns)`.
pub type Stats<'a> = dyn FnMut(&ScanSpec, usize) -> Option<ColumnEstimate> + 'a;

/// What the runtime filter of a searched block's join is expected to leave of its probe-side
/// leaf, in the order chosen (`crate::plan::cost` counts the rows it hands over by it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Filtered {
    /// The leaf, numbered as `rows` numbers them in [`choose`].
    pub leaf: usize,
    /// The share of its rows the filter passes (below 1): those whose key the build side holds
    /// and those whose key is NULL (a filter never rejects one).
    pub passed: f64,
    /// The build side's distinct keys of that class: what its filter holds.
    pub keys: f64,
}

/// Choose the join order of every block of `spec`: `rows(i)` is PostgreSQL's estimate of leaf
/// `i` ([`PlanSpec::all_scans`] order; None: unknown), asked only for the leaves of a block the
/// search may reorder; `filters` whether runtime filters run. Returns, with filters, what they
/// are expected to leave of each searched block's probe-side leaves.
pub fn choose(spec: &mut PlanSpec, rows: &mut Rows, filters: bool, stats: &mut Stats) -> Vec<Filtered> {
    let mut next = 0;
    let mut filtered = Vec::new();
    visit(spec, rows, filters, stats, &mut next, &mut filtered);
    filtered
}

/// Row estimates of scan leaves, by leaf number.
pub type Rows<'a> = dyn FnMut(usize) -> Option<f64> + 'a;

fn visit(
    spec: &mut PlanSpec,
    rows: &mut Rows,
    filters: bool,
    stats: &mut Stats,
    next: &mut usize,
    filtered: &mut Vec<Filtered>,
) {
    let first = *next;
    *next += spec.scans.len();
    for sq in spec.subqueries.iter_mut().filter(|s| s.computed_here()) {
        visit(&mut sq.plan, rows, filters, stats, next, filtered);
    }
    if !searched(spec) {
        return;
    }
    let Some(block_rows) = (first..first + spec.scans.len()).map(&mut *rows).collect::<Option<Vec<f64>>>()
    else {
        return;
    };
    if let Some((order, derived, passed)) = block_order(spec, &block_rows, filters, stats) {
        filtered.extend(passed.into_iter().map(|f| Filtered { leaf: first + f.leaf, ..f }));
        if !derived.is_empty() {
            let mut terms = match spec.join_filter.take() {
                Some(DfExpr::And(v)) => v,
                Some(t) => vec![t],
                None => Vec::new(),
            };
            terms.extend(derived);
            spec.join_filter = Some(DfExpr::And(terms));
        }
        if order.iter().enumerate().any(|(i, &l)| i != l) {
            spec.join_order = Some(order);
        }
    }
}

/// Is `spec` a block whose order the search may choose (by its shape and its join conditions;
/// see the module rules)? Asked before any estimate is.
fn searched(spec: &PlanSpec) -> bool {
    spec.join_tree.is_none()
        && spec.set_tree.is_none()
        && spec.subqueries.is_empty()
        && (3..=MAX_LEAVES).contains(&spec.scans.len())
        && spec.join_filter.as_ref().is_some_and(|f| !f.can_fail())
}

/// Types whose equality (DataFusion's, as the front end gives it) is an equivalence relation
/// PostgreSQL's equality agrees with: bytes for text, exact values for the others.
fn transitive(ty: ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::Int16
            | ColumnType::Int32
            | ColumnType::Int64
            | ColumnType::Decimal128 { .. }
            | ColumnType::Utf8View
            | ColumnType::EncodedText
            | ColumnType::Date32
            | ColumnType::TimestampUs { .. }
    )
}

/// A join condition between leaves, for the estimate.
struct Condition {
    /// The leaves it reads.
    leaves: u32,
    selectivity: f64,
}

/// One equivalence class: its members `(leaf, column id)`, in the order first met.
struct Class {
    members: Vec<(usize, usize)>,
}

/// The block as the search sees it.
struct Graph {
    rows: Vec<f64>,
    /// Per class, per leaf: its distinct values of the class (at most its rows) and its non-NULL
    /// fraction; None where the class has no member in the leaf.
    classes: Vec<Vec<Option<(f64, f64)>>>,
    conditions: Vec<Condition>,
    /// Per leaf, the leaves an equality joins it to.
    joined: Vec<u32>,
}

/// The order for one block, the equalities to add and, with `filters`, what the filters leave
/// of its leaves (numbered in the block) in that order (None: keep the written order).
fn block_order(
    spec: &PlanSpec,
    rows: &[f64],
    filters: bool,
    stats: &mut Stats,
) -> Option<(Vec<usize>, Vec<DfExpr>, Vec<Filtered>)> {
    let n = spec.scans.len();
    let terms: Vec<&DfExpr> = match &spec.join_filter {
        Some(DfExpr::And(v)) => v.iter().collect(),
        Some(t) => vec![t],
        None => return None,
    };
    // Column id -> (leaf, index in its columns).
    let mut owner = std::collections::HashMap::new();
    for (l, s) in spec.scans.iter().enumerate() {
        for (i, c) in s.columns.iter().enumerate() {
            owner.insert(c.id, (l, i, c.ty));
        }
    }
    let leaves_of = |e: &DfExpr| -> Option<u32> {
        let mut cols = Vec::new();
        e.columns(&mut cols);
        cols.iter().try_fold(0u32, |m, c| owner.get(c).map(|&(l, _, _)| m | 1 << l))
    };
    let mut distinct = |e: &DfExpr, rows: &[f64]| -> f64 {
        let col = match e {
            DfExpr::Column(c) => Some(*c),
            _ => None,
        };
        let Some(&(l, i, _)) = col.and_then(|c| owner.get(&c)) else { return DEFAULT_DISTINCT };
        let d = stats(&spec.scans[l], i).map_or(DEFAULT_DISTINCT, |s| s.distinct);
        d.min(rows[l]).max(1.0)
    };
    let rows: Vec<f64> = rows.iter().map(|&r| if r.is_finite() { r.max(1.0) } else { 1.0 }).collect();
    // Union-find over column ids for the classes; other conditions with their selectivity.
    let mut parent: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    fn root(p: &mut std::collections::HashMap<usize, usize>, mut c: usize) -> usize {
        while let Some(&up) = p.get(&c) {
            if up == c {
                break;
            }
            c = up;
        }
        c
    }
    let mut conditions = Vec::new();
    let mut joined = vec![0u32; n];
    // Written plain equalities, as pairs of column ids.
    let mut written = Vec::new();
    for t in &terms {
        let leaves = leaves_of(t)?;
        if leaves.count_ones() < 2 {
            continue;
        }
        if let DfExpr::Compare(CmpOp::Eq, a, b) = t {
            let (Some(la), Some(lb)) = (leaves_of(a), leaves_of(b)) else { return None };
            if la.count_ones() == 1 && lb.count_ones() == 1 && la != lb {
                let (i, j) = (la.trailing_zeros() as usize, lb.trailing_zeros() as usize);
                joined[i] |= lb;
                joined[j] |= la;
                if let (DfExpr::Column(x), DfExpr::Column(y)) = (a.as_ref(), b.as_ref()) {
                    let (tx, ty) = (owner[x].2, owner[y].2);
                    if tx == ty && transitive(tx) {
                        parent.entry(*x).or_insert(*x);
                        parent.entry(*y).or_insert(*y);
                        let (rx, ry) = (root(&mut parent, *x), root(&mut parent, *y));
                        parent.insert(rx, ry);
                        written.push((*x, *y));
                        continue;
                    }
                }
                let selectivity = 1.0 / distinct(a, &rows).max(distinct(b, &rows));
                conditions.push(Condition { leaves, selectivity });
                continue;
            }
        }
        let selectivity = match t {
            DfExpr::Compare(CmpOp::Eq, ..) => 1.0 / DEFAULT_DISTINCT,
            DfExpr::Compare(CmpOp::NotEq, ..) => 1.0 - 1.0 / DEFAULT_DISTINCT,
            DfExpr::Compare(..) => 1.0 / 3.0,
            _ => 0.5,
        };
        conditions.push(Condition { leaves, selectivity });
    }
    // The classes, members in the order their columns were first written.
    let mut classes: Vec<(usize, Class)> = Vec::new();
    let mut seen = Vec::new();
    for &(x, y) in &written {
        for c in [x, y] {
            if seen.contains(&c) {
                continue;
            }
            seen.push(c);
            let r = root(&mut parent, c);
            let member = (owner[&c].0, c);
            match classes.iter_mut().find(|(cr, _)| *cr == r) {
                Some((_, class)) => class.members.push(member),
                None => classes.push((r, Class { members: vec![member] })),
            }
        }
    }
    let classes: Vec<Class> = classes.into_iter().map(|(_, c)| c).collect();
    let mut per_leaf = Vec::new();
    for class in &classes {
        let mut at = vec![None; n];
        for &(l, c) in &class.members {
            let (_, i, _) = owner[&c];
            let s = stats(&spec.scans[l], i);
            let d = s.map_or(DEFAULT_DISTINCT, |s| s.distinct).min(rows[l]).max(1.0);
            let present = s.map_or(1.0, |s| (1.0 - s.null_frac).clamp(0.0, 1.0));
            at[l] = Some(match at[l] {
                // Two columns of one leaf in a class: its rows hold equal values in both.
                Some((d0, p0)) => (f64::min(d0, d), f64::min(p0, present)),
                None => (d, present),
            });
        }
        per_leaf.push(at);
    }
    // A class joins every two leaves it spans.
    for class in &classes {
        let spanned = class.members.iter().fold(0u32, |m, &(l, _)| m | 1 << l);
        for &(l, _) in &class.members {
            joined[l] |= spanned & !(1 << l);
        }
    }
    let graph = Graph { rows, classes: per_leaf, conditions, joined };
    let order = graph.search(filters, Weights::DEFAULT)?;
    // A derived equality where a leaf joins the ones before it through a class no written
    // equality of the two sides covers.
    let mut derived = Vec::new();
    for (k, &r) in order.iter().enumerate().skip(1) {
        let before = &order[..k];
        for class in &classes {
            let Some(&(_, mr)) = class.members.iter().find(|(l, _)| *l == r) else { continue };
            let Some(&(_, mb)) = class.members.iter().find(|(l, _)| before.contains(l)) else { continue };
            let covered = written.iter().any(|&(x, y)| {
                let (lx, ly) = (owner[&x].0, owner[&y].0);
                class.members.iter().any(|&(_, c)| c == x)
                    && ((lx == r && before.contains(&ly)) || (ly == r && before.contains(&lx)))
            });
            if !covered {
                derived.push(DfExpr::Compare(
                    CmpOp::Eq,
                    Box::new(DfExpr::Column(mb)),
                    Box::new(DfExpr::Column(mr)),
                ));
            }
        }
    }
    let passed = if filters { graph.filtered(&order) } else { Vec::new() };
    Some((order, derived, passed))
}

impl Graph {
    /// Estimated rows of the join of the leaves in `set`.
    fn rows(&self, set: u32) -> f64 {
        let mut rows = 1.0;
        for (l, r) in self.rows.iter().enumerate() {
            if set & 1 << l != 0 {
                rows *= r;
            }
        }
        for class in &self.classes {
            let (mut spanned, mut min, mut factor) = (0, f64::INFINITY, 1.0);
            for (l, c) in class.iter().enumerate() {
                if let (true, Some((d, present))) = (set & 1 << l != 0, c) {
                    spanned += 1;
                    min = min.min(*d);
                    factor *= present / d;
                }
            }
            if spanned >= 2 {
                rows *= factor * min;
            }
        }
        for c in &self.conditions {
            if c.leaves & !set == 0 {
                rows *= c.selectivity;
            }
        }
        rows.max(1.0)
    }

    /// The fraction of `leaf`'s rows a runtime filter from the join of `set` (`set_rows` rows)
    /// passes: the smallest over the classes joining them of (distinct keys of `set`) / (the
    /// leaf's).
    fn passed(&self, set: u32, set_rows: f64, leaf: usize) -> f64 {
        self.filter(set, set_rows, leaf).0
    }

    /// [`Graph::passed`], with the distinct keys of `set` in the class that gives it (infinite
    /// where no class joins them) and the leaf's non-NULL fraction of that class (1 then).
    fn filter(&self, set: u32, set_rows: f64, leaf: usize) -> (f64, f64, f64) {
        let (mut pass, mut keys, mut present): (f64, f64, f64) = (1.0, f64::INFINITY, 1.0);
        for class in &self.classes {
            let Some((dl, pl)) = class[leaf] else { continue };
            let ds = class
                .iter()
                .enumerate()
                .filter(|(l, _)| set & 1 << l != 0)
                .filter_map(|(_, c)| c.map(|c| c.0))
                .fold(f64::INFINITY, f64::min);
            if ds.is_finite() && ds.min(set_rows) / dl < pass {
                keys = ds.min(set_rows);
                pass = keys / dl;
                present = pl;
            }
        }
        (pass.min(1.0), keys, present)
    }

    /// What the runtime filters leave of each leaf after the first in `order`: each is the probe
    /// side of a join whose build side is the join of the leaves before it. Its rows with a NULL
    /// key all pass (a filter never rejects one). A leaf estimated no larger than the join
    /// before it gets none: DataFusion may make it the build side instead.
    fn filtered(&self, order: &[usize]) -> Vec<Filtered> {
        let mut set = 0u32;
        let mut out = Vec::new();
        for (k, &leaf) in order.iter().enumerate() {
            let set_rows = self.rows(set);
            if k > 0 && self.rows[leaf] > set_rows {
                let (share, keys, present) = self.filter(set, set_rows, leaf);
                let passed = (1.0 - present) + present * share;
                if passed < 1.0 {
                    out.push(Filtered { leaf, passed, keys });
                }
            }
            set |= 1 << leaf;
        }
        out
    }

    /// The cheapest left-deep order whose every leaf has an equality to the ones before it
    /// (None: there is none). Ties go to the first found, leaves in written order.
    fn search(&self, filters: bool, w: Weights) -> Option<Vec<usize>> {
        let n = self.rows.len();
        let full = (1u32 << n) - 1;
        // best[set] = (cost, last leaf, set before it)
        let mut best: Vec<Option<(f64, usize, u32)>> = vec![None; 1 << n];
        // The rows of every set, once (the steps ask for each many times).
        let sizes: Vec<f64> = (0..=full).map(|set| self.rows(set)).collect();
        let step = |set: u32, leaf: usize| -> f64 {
            let rows = sizes[set as usize];
            let probed =
                if filters { self.rows[leaf] * self.passed(set, rows, leaf) } else { self.rows[leaf] };
            let joined = sizes[(set | 1 << leaf) as usize];
            w.handed_over * probed + w.build * rows + w.probe * probed + w.joined * joined
        };
        // Pairs first: DataFusion builds the smaller side of the first join.
        for i in 0..n {
            for j in i + 1..n {
                if self.joined[i] & 1 << j == 0 {
                    continue;
                }
                let (b, p) = if self.rows[j] < self.rows[i] { (j, i) } else { (i, j) };
                let cost = w.handed_over * self.rows[b] + step(1 << b, p);
                let set = 1 << i | 1 << j;
                if best[set as usize].is_none_or(|(c, _, _)| cost < c) {
                    best[set as usize] = Some((cost, p, 1 << b));
                }
            }
        }
        for set in 1..=full {
            let Some((cost, _, _)) = best[set as usize] else { continue };
            for leaf in 0..n {
                if set & 1 << leaf != 0 || self.joined[leaf] & set == 0 {
                    continue;
                }
                let next = set | 1 << leaf;
                let total = cost + step(set, leaf);
                if best[next as usize].is_none_or(|(c, _, _)| total < c) {
                    best[next as usize] = Some((total, leaf, set));
                }
            }
        }
        let mut order = Vec::with_capacity(n);
        let mut set = full;
        while set.count_ones() > 1 {
            let (_, last, before) = best[set as usize]?;
            order.push(last);
            set = before;
        }
        order.push(set.trailing_zeros() as usize);
        order.reverse();
        Some(order)
    }
}

#[cfg(test)]
mod tests;
