use super::*;
use crate::plan::spec::ScanColumn;

/// A relation: name, estimated rows, columns (name, distinct values).
type Rel = (&'static str, f64, &'static [(&'static str, f64)]);

/// A block over `rels` (in written order) with the equalities `eqs` (column names) under one
/// filter; every column int8. Returns the spec and the rows per leaf.
fn block(rels: &[Rel], eqs: &[(&str, &str)]) -> (PlanSpec, Vec<Option<f64>>, Vec<String>) {
    let mut names = Vec::new();
    let mut scans = Vec::new();
    for (relid, (rel, _, cols)) in rels.iter().enumerate() {
        let columns = cols
            .iter()
            .map(|(c, _)| {
                names.push(c.to_string());
                ScanColumn { expr: 0, ty: ColumnType::Int64, id: names.len() - 1 }
            })
            .collect();
        scans.push(ScanSpec {
            relation: rel.to_string(),
            relid: relid as u32,
            access: relid as u32,
            columns,
            quals: Vec::new(),
            volatile: false,
            shared: None,
        });
    }
    let id = |n: &str| names.iter().position(|x| x == n).unwrap();
    let terms = eqs
        .iter()
        .map(|(a, b)| {
            DfExpr::Compare(CmpOp::Eq, Box::new(DfExpr::Column(id(a))), Box::new(DfExpr::Column(id(b))))
        })
        .collect();
    let mut spec = crate::plan::tests::spec();
    spec.scans = scans;
    spec.join_filter = Some(DfExpr::And(terms));
    (spec, rels.iter().map(|r| Some(r.1)).collect(), names)
}

fn stats_of(rels: &'static [Rel]) -> impl FnMut(&ScanSpec, usize) -> Option<ColumnEstimate> {
    move |s: &ScanSpec, i: usize| {
        Some(ColumnEstimate { distinct: rels[s.relid as usize].2[i].1, null_frac: 0.0 })
    }
}

/// TPC-H Q5's block at scale 1, written in its FROM order.
const Q5: &[Rel] = &[
    ("customer", 150_000.0, &[("c_custkey", 150_000.0), ("c_nationkey", 25.0)]),
    ("orders", 228_000.0, &[("o_orderkey", 1_500_000.0), ("o_custkey", 100_000.0)]),
    ("lineitem", 6_000_000.0, &[("l_orderkey", 1_500_000.0), ("l_suppkey", 10_000.0)]),
    ("supplier", 10_000.0, &[("s_suppkey", 10_000.0), ("s_nationkey", 25.0)]),
    ("nation", 25.0, &[("n_nationkey", 25.0), ("n_regionkey", 5.0)]),
    ("region", 1.0, &[("r_regionkey", 5.0)]),
];

const Q5_EQS: &[(&str, &str)] = &[
    ("c_custkey", "o_custkey"),
    ("l_orderkey", "o_orderkey"),
    ("l_suppkey", "s_suppkey"),
    ("c_nationkey", "s_nationkey"),
    ("s_nationkey", "n_nationkey"),
    ("n_regionkey", "r_regionkey"),
];

fn position(order: &[usize], rels: &[Rel], name: &str) -> usize {
    order.iter().position(|&l| rels[l].0 == name).unwrap()
}

/// Does every leaf after the first have an equality (written or derived) to one before it?
fn connected(spec: &PlanSpec, order: &[usize]) -> bool {
    let owner = |c: usize| spec.scans.iter().position(|s| s.columns.iter().any(|x| x.id == c)).unwrap();
    let Some(DfExpr::And(terms)) = &spec.join_filter else { return false };
    order.iter().enumerate().skip(1).all(|(k, &r)| {
        terms.iter().any(|t| match t {
            DfExpr::Compare(CmpOp::Eq, a, b) => match (a.as_ref(), b.as_ref()) {
                (DfExpr::Column(x), DfExpr::Column(y)) => {
                    let (lx, ly) = (owner(*x), owner(*y));
                    (lx == r && order[..k].contains(&ly)) || (ly == r && order[..k].contains(&lx))
                }
                _ => false,
            },
            _ => false,
        })
    })
}

#[test]
fn q5_reads_lineitem_after_the_orders_of_the_region() {
    let (mut spec, rows, names) = block(Q5, Q5_EQS);
    choose(&mut spec, &mut |i| rows[i], true, &mut stats_of(Q5));
    let order = spec.join_order.clone().expect("reordered");
    assert_eq!(order.len(), 6);
    // lineitem is probed by the orders of the region's customers, not by all of them.
    for before in ["orders", "customer", "nation", "region"] {
        assert!(position(&order, Q5, before) < position(&order, Q5, "lineitem"), "{order:?}");
    }
    assert!(connected(&spec, &order), "{order:?}");
    // customer joins nation through the class c_nationkey = s_nationkey = n_nationkey: derived.
    let Some(DfExpr::And(terms)) = &spec.join_filter else { panic!() };
    assert_eq!(terms.len(), Q5_EQS.len() + 1, "{terms:?}");
    let DfExpr::Compare(CmpOp::Eq, a, b) = &terms[Q5_EQS.len()] else { panic!() };
    let (DfExpr::Column(a), DfExpr::Column(b)) = (a.as_ref(), b.as_ref()) else { panic!() };
    let mut pair = [names[*a].as_str(), names[*b].as_str()];
    pair.sort();
    assert_eq!(pair, ["c_nationkey", "n_nationkey"]);
}

#[test]
fn q5_s_filters_leave_a_sliver_of_lineitem() {
    let (mut spec, rows, _) = block(Q5, Q5_EQS);
    let filtered = choose(&mut spec, &mut |i| rows[i], true, &mut stats_of(Q5));
    let order = spec.join_order.clone().expect("reordered");
    // The first leaf builds and is never filtered; every share is below 1, one per leaf at most.
    assert!(filtered.iter().all(|f| f.leaf != order[0] && f.passed < 1.0 && f.passed > 0.0), "{filtered:?}");
    let leaves: Vec<usize> = filtered.iter().map(|f| f.leaf).collect();
    let mut distinct = leaves.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), filtered.len());
    // lineitem (leaf 2) by the orders of the region's customers: 228 K / 5 of 1.5 M keys.
    let lineitem = filtered.iter().find(|f| f.leaf == 2).expect("lineitem filtered");
    assert!(lineitem.passed < 0.05, "{lineitem:?}");
    assert!((lineitem.passed - lineitem.keys / 1_500_000.0).abs() < 1e-12, "{lineitem:?}");
    // Leaves are numbered as `rows` numbers them: after a block's own, its subqueries' follow.
    let mut outer = crate::plan::tests::spec();
    outer.scans = spec.scans.clone();
    outer.scans.truncate(1);
    let (inner, _, _) = block(Q5, Q5_EQS);
    outer.subqueries.push(crate::plan::spec::Subquery { plan: inner, columns: vec![(0, 0)], shared: None });
    let mut shifted = |i: usize| if i == 0 { Some(1.0) } else { rows[i - 1] };
    let nested = choose(&mut outer, &mut shifted, true, &mut stats_of(Q5));
    assert_eq!(nested.iter().map(|f| f.leaf - 1).collect::<Vec<_>>(), leaves);
}

#[test]
fn without_runtime_filters_the_order_still_joins_every_leaf_to_the_ones_before() {
    let (mut spec, rows, _) = block(Q5, Q5_EQS);
    assert!(choose(&mut spec, &mut |i| rows[i], false, &mut stats_of(Q5)).is_empty());
    let order = spec.join_order.clone().expect("reordered");
    assert!(connected(&spec, &order), "{order:?}");
}

#[test]
fn written_order_kept_when_it_is_the_cheapest() {
    const CHAIN: &[Rel] = &[
        ("a", 10.0, &[("a_id", 10.0)]),
        ("b", 1_000.0, &[("b_a", 10.0), ("b_id", 1_000.0)]),
        ("c", 100_000.0, &[("c_b", 1_000.0)]),
    ];
    let (mut spec, rows, _) = block(CHAIN, &[("a_id", "b_a"), ("b_id", "c_b")]);
    let before = spec.join_filter.clone();
    choose(&mut spec, &mut |i| rows[i], true, &mut stats_of(CHAIN));
    assert_eq!(spec.join_order, None);
    assert_eq!(spec.join_filter, before);
}

#[test]
fn blocks_the_search_leaves_alone() {
    // Two leaves; a condition that can fail; a leaf joined to no other; a leaf without estimate.
    let (mut two, rows, _) = block(&Q5[..2], &Q5_EQS[..1]);
    choose(&mut two, &mut |i| rows[i], true, &mut stats_of(Q5));
    assert_eq!(two.join_order, None);

    let (mut failing, rows, _) = block(Q5, Q5_EQS);
    let Some(DfExpr::And(terms)) = &mut failing.join_filter else { panic!() };
    terms.push(DfExpr::Compare(
        CmpOp::Lt,
        Box::new(DfExpr::Cast(
            Box::new(DfExpr::Column(0)),
            ColumnType::Decimal128 { precision: 20, scale: 0 },
        )),
        Box::new(DfExpr::Column(2)),
    ));
    let before = failing.clone();
    choose(&mut failing, &mut |i| rows[i], true, &mut stats_of(Q5));
    assert_eq!(failing, before);

    let (mut apart, rows, _) = block(Q5, &Q5_EQS[..5]);
    let before = apart.clone();
    choose(&mut apart, &mut |i| rows[i], true, &mut stats_of(Q5));
    assert_eq!(apart, before, "region is joined to nothing");

    let (mut unknown, mut rows, _) = block(Q5, Q5_EQS);
    rows[2] = None;
    let before = unknown.clone();
    choose(&mut unknown, &mut |i| rows[i], true, &mut stats_of(Q5));
    assert_eq!(unknown, before);
}

#[test]
fn no_class_over_floats() {
    const FLOATS: &[Rel] = &[
        ("a", 1_000.0, &[("a_x", 1_000.0)]),
        ("b", 1_000.0, &[("b_x", 1_000.0)]),
        ("c", 10.0, &[("c_x", 10.0)]),
    ];
    let (mut spec, rows, _) = block(FLOATS, &[("a_x", "b_x"), ("b_x", "c_x")]);
    for s in &mut spec.scans {
        s.columns[0].ty = ColumnType::Float64;
    }
    let before = spec.join_filter.clone();
    choose(&mut spec, &mut |i| rows[i], true, &mut stats_of(FLOATS));
    // a and c are joined only through b: no equality between them is derived.
    assert_eq!(spec.join_filter, before);
    if let Some(order) = &spec.join_order {
        assert!(connected(&spec, order), "{order:?}");
    }
}

/// Two leaves joined by one class: their rows, and per leaf (distinct keys, non-NULL fraction).
fn two_leaves(rows: [f64; 2], a: (f64, f64), b: (f64, f64)) -> Graph {
    Graph {
        rows: rows.to_vec(),
        classes: vec![vec![Some(a), Some(b)]],
        conditions: Vec::new(),
        joined: vec![0b10, 0b01],
    }
}

#[test]
fn rows_of_a_join_follow_the_containment_assumption() {
    // 1000 rows with 100 keys, 50 rows with 50 keys: 1000 * 50 / 100.
    let g = two_leaves([1_000.0, 50.0], (100.0, 1.0), (50.0, 0.5));
    assert_eq!(g.rows(0b11), 1_000.0 * 50.0 * 0.5 / 100.0);
    assert_eq!(g.passed(0b10, g.rows(0b10), 0), 0.5);
    // Leaf 0 after leaf 1: half its keys, all its rows non-NULL.
    assert_eq!(g.filtered(&[1, 0]), vec![Filtered { leaf: 0, passed: 0.5, keys: 50.0 }]);
}

#[test]
fn a_leaf_no_larger_than_the_join_before_it_is_counted_unfiltered() {
    // Leaf 1 (50 rows, 50 keys) after leaf 0 (1000 rows, 10 keys) would pass a fifth, but it is
    // the smaller side: DataFusion may build it, so no filter is counted.
    let g = two_leaves([1_000.0, 50.0], (10.0, 1.0), (50.0, 1.0));
    assert_eq!(g.passed(0b01, g.rows(0b01), 1), 0.2);
    assert_eq!(g.filtered(&[0, 1]), Vec::new());
    // The other way round, leaf 0 is probed by leaf 1's 50 keys, which cover its 10: nothing.
    assert_eq!(g.filtered(&[1, 0]), Vec::new());
}

#[test]
fn null_keys_always_pass_the_filter() {
    // A probe side of 1000 rows, 40% of them NULL; the build side holds a tenth of its keys.
    let g = two_leaves([1_000.0, 10.0], (100.0, 0.6), (10.0, 1.0));
    let f = g.filtered(&[1, 0]);
    assert_eq!(f.len(), 1);
    assert!((f[0].passed - (0.4 + 0.6 * 0.1)).abs() < 1e-12, "{f:?}");
}

/// A chain of `n` leaves, leaf i joined to leaf i + 1, sizes shuffled.
fn chain(n: usize) -> (Vec<Rel>, Vec<(&'static str, &'static str)>) {
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let mut rels = Vec::new();
    let mut eqs = Vec::new();
    for i in 0..n {
        let rows = [10.0, 100_000.0, 1_000.0, 50.0, 20_000.0][i % 5];
        let cols: &'static [(&'static str, f64)] =
            Box::leak(vec![(leak(format!("k{i}")), rows), (leak(format!("f{i}")), rows)].into_boxed_slice());
        rels.push((leak(format!("t{i}")), rows, cols));
        if i > 0 {
            eqs.push((leak(format!("f{}", i - 1)), leak(format!("k{i}"))));
        }
    }
    (rels, eqs)
}

#[test]
fn twelve_leaves_at_most() {
    let (rels, eqs) = chain(MAX_LEAVES);
    let rels: &'static [Rel] = Box::leak(rels.into_boxed_slice());
    let (mut spec, rows, _) = block(rels, &eqs);
    choose(&mut spec, &mut |i| rows[i], true, &mut stats_of(rels));
    let order = spec.join_order.clone().unwrap_or_else(|| (0..MAX_LEAVES).collect());
    assert!(connected(&spec, &order), "{order:?}");

    let (rels, eqs) = chain(MAX_LEAVES + 1);
    let rels: &'static [Rel] = Box::leak(rels.into_boxed_slice());
    let (mut spec, rows, _) = block(rels, &eqs);
    let before = spec.clone();
    choose(&mut spec, &mut |i| rows[i], true, &mut stats_of(rels));
    assert_eq!(spec, before);
}
