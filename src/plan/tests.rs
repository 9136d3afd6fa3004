use datafusion::arrow::datatypes::DataType;
use datafusion::prelude::SessionContext;

use super::spec::*;
use super::{codec, logical};
use crate::page::ColumnType;

pub(crate) fn spec() -> PlanSpec {
    PlanSpec {
        scans: vec![ScanSpec {
            relation: "public.t".into(),
            relid: 16384,
            access: 0,
            quals: Vec::new(),
            volatile: false,
            shared: None,
            columns: vec![
                ScanColumn { expr: 0, ty: ColumnType::Int32, id: 0 },
                ScanColumn { expr: 1, ty: ColumnType::Decimal128 { precision: 12, scale: 2 }, id: 1 },
                ScanColumn { expr: 2, ty: ColumnType::Boolean, id: 2 },
            ],
        }],
        subqueries: Vec::new(),
        set_tree: None,
        join_tree: None,
        join_order: None,
        computed: Vec::new(),
        join_filter: None,
        grouping: Some(Grouping {
            sets: None,
            keys: vec![0],
            aggs: vec![
                AggSpec {
                    func: AggFunc::CountStar,
                    arg: None,
                    distinct: false,
                    filter: None,
                    keys: Vec::new(),
                    order_by: Vec::new(),
                    delimiter: None,
                    output: ColumnType::Int64,
                },
                AggSpec {
                    func: AggFunc::Sum,
                    arg: Some(1),
                    distinct: false,
                    filter: Some(2),
                    keys: Vec::new(),
                    order_by: Vec::new(),
                    delimiter: None,
                    output: ColumnType::Decimal128 { precision: 38, scale: 2 },
                },
                AggSpec {
                    func: AggFunc::Count,
                    arg: Some(1),
                    distinct: true,
                    filter: None,
                    keys: Vec::new(),
                    order_by: Vec::new(),
                    delimiter: None,
                    output: ColumnType::Int64,
                },
            ],
        }),
        windows: Vec::new(),
        post: Vec::new(),
        having: Some(DfExpr::Compare(
            CmpOp::Gt,
            Box::new(DfExpr::Column(1)),
            Box::new(DfExpr::Literal(Literal::Int64(1))),
        )),
        output: vec![0, 1, 2, 3],
        distinct: false,
        sort: vec![SortKey { column: 0, descending: true, nulls_first: true, blank_padded: false }],
        offset: 1,
        limit: Some(10),
        shared: Vec::new(),
    }
}

#[test]
fn plan_round_trips_through_bytes() {
    let plan = logical::build(&spec()).unwrap();
    let bytes = codec::to_bytes(&plan).unwrap();
    let ctx = SessionContext::new();
    let back = codec::from_bytes(&bytes, &ctx.task_ctx(), None).unwrap();
    assert_eq!(format!("{}", plan.display_indent()), format!("{}", back.display_indent()));
    let types: Vec<_> = back.schema().fields().iter().map(|f| f.data_type().clone()).collect();
    let want: Vec<_> = spec().output_types().iter().map(|t| t.arrow_type()).collect();
    assert_eq!(types, want);
}

#[test]
fn plain_scan_plan_outputs_scan_types() {
    let mut s = spec();
    s.grouping = None;
    s.having = None;
    s.output = vec![1, 0];
    s.distinct = true;
    let plan = logical::build(&s).unwrap();
    let types: Vec<_> = plan.schema().fields().iter().map(|f| f.data_type().clone()).collect();
    assert_eq!(types, vec![s.scans[0].columns[1].ty.arrow_type(), s.scans[0].columns[0].ty.arrow_type()]);
}

/// Build, serialize and read back a plan with `aggs` aggregates and a HAVING of `terms` ORed
/// comparisons, on a thread with `stack` bytes of stack.
fn wide_having(aggs: usize, terms: usize, stack: usize) -> usize {
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            let mut s = spec();
            let g = s.grouping.as_mut().unwrap();
            g.aggs = (0..aggs).map(|_| g.aggs[0].clone()).collect();
            s.having = Some(DfExpr::Or(
                (0..terms)
                    .map(|i| {
                        DfExpr::Compare(
                            CmpOp::Eq,
                            Box::new(DfExpr::Column(1 + i % aggs)),
                            Box::new(DfExpr::Literal(Literal::Int64(i as i64))),
                        )
                    })
                    .collect(),
            ));
            s.output = (0..=aggs).collect();
            let plan = logical::build(&s).unwrap();
            let bytes = codec::to_bytes(&plan).unwrap();
            let ctx = SessionContext::new();
            codec::from_bytes(&bytes, &ctx.task_ctx(), None).unwrap();
            bytes.len()
        })
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn long_or_lists_stay_shallow() {
    // Thousands of OR terms must not recurse thousands deep anywhere (building, serializing,
    // reading back): the backend and the worker have ordinary thread stacks.
    assert!(wide_having(1, 5000, 1 << 20) > 8192);
}

#[test]
fn many_aggregates_build() {
    assert!(wide_having(1500, 1500, 1 << 20) > 8192);
}

#[test]
fn joined_leaves_number_their_columns_after_each_other() {
    let mut s = spec();
    // Self join: the second leaf's columns are 3 and 4 of the joined row.
    s.scans.push(ScanSpec {
        relation: "public.t".into(),
        relid: 16384,
        access: 0,
        quals: Vec::new(),
        volatile: false,
        shared: None,
        columns: vec![
            ScanColumn { expr: 0, ty: ColumnType::Int32, id: 3 },
            ScanColumn { expr: 1, ty: ColumnType::Decimal128 { precision: 12, scale: 2 }, id: 4 },
        ],
    });
    assert_eq!(s.scan_types()[4], ColumnType::Decimal128 { precision: 12, scale: 2 });
    s.join_filter =
        Some(DfExpr::Compare(CmpOp::Eq, Box::new(DfExpr::Column(0)), Box::new(DfExpr::Column(3))));
    s.grouping = Some(Grouping {
        sets: None,
        keys: vec![3],
        aggs: vec![AggSpec {
            func: AggFunc::Sum,
            arg: Some(4),
            distinct: false,
            filter: None,
            keys: Vec::new(),
            order_by: Vec::new(),
            delimiter: None,
            output: ColumnType::Decimal128 { precision: 38, scale: 2 },
        }],
    });
    s.having = None;
    s.output = vec![0, 1];
    let plan = logical::build(&s).unwrap();
    let text = format!("{}", plan.display_indent());
    assert!(text.contains("Cross Join") && text.contains("public.t.c0 = public.t.c3"), "{text}");
    let bytes = codec::to_bytes(&plan).unwrap();
    let ctx = SessionContext::new();
    let back = codec::from_bytes(&bytes, &ctx.task_ctx(), None).unwrap();
    assert_eq!(text, format!("{}", back.display_indent()));
    // The optimizer turns the cross join and its filter into a hash-join key.
    let optimized = ctx.state().optimize(&back).unwrap();
    let text = format!("{}", optimized.display_indent());
    assert!(text.contains("Inner Join: public.t.c0 = public.t.c3"), "{text}");
}

#[test]
fn computed_case_columns_build_and_round_trip() {
    // sum(CASE WHEN c2 THEN b ELSE 0 END) with its display scale beside it (2 or 0, NULL for
    // NULL values), as the translator builds it for a CASE of mixed scales.
    let mut s = spec();
    let value = DfExpr::Case(
        vec![(DfExpr::Column(2), DfExpr::Column(1))],
        Some(Box::new(DfExpr::Literal(Literal::Decimal128 { value: 0, precision: 1, scale: 0 }))),
    );
    let scale = DfExpr::Case(
        vec![(DfExpr::IsNull(Box::new(value.clone())), DfExpr::Literal(Literal::Null(ColumnType::Int32)))],
        Some(Box::new(DfExpr::Case(
            vec![(DfExpr::Column(2), DfExpr::Literal(Literal::Int64(2)))],
            Some(Box::new(DfExpr::Literal(Literal::Int64(0)))),
        ))),
    );
    let dec = ColumnType::Decimal128 { precision: 12, scale: 2 };
    s.computed = vec![
        Computed { id: 3, expr: value, ty: dec },
        Computed { id: 4, expr: scale, ty: ColumnType::Int32 },
    ];
    let agg = |func, arg, output| AggSpec {
        func,
        arg: Some(arg),
        distinct: false,
        filter: None,
        keys: Vec::new(),
        order_by: Vec::new(),
        delimiter: None,
        output,
    };
    s.grouping = Some(Grouping {
        sets: None,
        keys: vec![0],
        aggs: vec![
            agg(AggFunc::Sum, 3, ColumnType::Decimal128 { precision: 38, scale: 2 }),
            agg(AggFunc::Max, 4, ColumnType::Int32),
        ],
    });
    s.having = None;
    s.output = vec![0, 1, 2];
    let plan = logical::build(&s).unwrap();
    let text = format!("{}", plan.display_indent());
    assert!(text.contains("CASE WHEN"), "{text}");
    let types: Vec<_> = plan.schema().fields().iter().map(|f| f.data_type().clone()).collect();
    assert_eq!(types, s.output_types().iter().map(|t| t.arrow_type()).collect::<Vec<_>>());
    let bytes = codec::to_bytes(&plan).unwrap();
    let ctx = SessionContext::new();
    let back = codec::from_bytes(&bytes, &ctx.task_ctx(), None).unwrap();
    assert_eq!(text, format!("{}", back.display_indent()));
}

#[test]
fn subquery_leaves_build_and_round_trip() {
    // The grouped query of `spec()` as a subquery in FROM, joined to another scan of t on its
    // group key; its key and count(*) become columns 3 and 4 of the outer joined row.
    let mut outer = spec();
    outer.subqueries.push(Subquery { plan: spec(), columns: vec![(0, 3), (1, 4)], shared: None });
    outer.join_filter =
        Some(DfExpr::Compare(CmpOp::Eq, Box::new(DfExpr::Column(0)), Box::new(DfExpr::Column(3))));
    outer.grouping = None;
    outer.having = None;
    outer.output = vec![0, 4];
    outer.sort = Vec::new();
    outer.offset = 0;
    outer.limit = None;
    assert_eq!(outer.all_scans().len(), 2);
    assert_eq!(outer.output_types(), vec![ColumnType::Int32, ColumnType::Int64]);
    let plan = logical::build(&outer).unwrap();
    let text = format!("{}", plan.display_indent());
    assert_eq!(text.matches("TableScan: public.t").count(), 2, "{text}");
    assert!(text.contains("o1 AS c4"), "{text}");
    let types: Vec<_> = plan.schema().fields().iter().map(|f| f.data_type().clone()).collect();
    assert_eq!(types, vec![DataType::Int32, DataType::Int64]);
    let bytes = codec::to_bytes(&plan).unwrap();
    let ctx = SessionContext::new();
    let back = codec::from_bytes(&bytes, &ctx.task_ctx(), None).unwrap();
    assert_eq!(text, format!("{}", back.display_indent()));
    ctx.state().optimize(&back).unwrap();
}

#[test]
fn set_operations_build_and_round_trip() {
    // (t's grouped rows) UNION (the same) EXCEPT (the same): arms renamed to ids 0 and 1.
    let arm = |plan: PlanSpec| Subquery { plan, columns: vec![(0, 0), (1, 1)], shared: None };
    let tree = SetTree::Op {
        kind: SetOpKind::Except,
        all: false,
        left: Box::new(SetTree::Op {
            kind: SetOpKind::Union,
            all: false,
            left: Box::new(SetTree::Arm(0)),
            right: Box::new(SetTree::Arm(1)),
        }),
        right: Box::new(SetTree::Arm(2)),
    };
    let mut s = spec();
    s.scans.clear();
    s.subqueries = vec![arm(spec()), arm(spec()), arm(spec())];
    s.set_tree = Some(tree);
    s.grouping = None;
    s.having = None;
    s.output = vec![1, 0];
    s.sort = vec![SortKey { column: 1, descending: false, nulls_first: false, blank_padded: true }];
    assert_eq!(s.all_scans().len(), 3);
    assert_eq!(s.output_types(), vec![ColumnType::Int64, ColumnType::Int32]);
    let plan = logical::build(&s).unwrap();
    let text = format!("{}", plan.display_indent());
    assert!(text.contains("Union") && text.contains("LeftAnti"), "{text}");
    let bytes = codec::to_bytes(&plan).unwrap();
    let ctx = SessionContext::new();
    let back = codec::from_bytes(&bytes, &ctx.task_ctx(), None).unwrap();
    assert_eq!(text, format!("{}", back.display_indent()));
    ctx.state().optimize(&back).unwrap();
}

/// A leaf of `public.t` (access 0) with columns (expression index, id) and an optional
/// condition (an expression index).
fn leaf_of_t(columns: &[(u32, usize)], quals: Option<u32>) -> ScanSpec {
    ScanSpec {
        relation: "public.t".into(),
        relid: 16384,
        access: 0,
        quals: quals.into_iter().collect(),
        volatile: false,
        shared: None,
        columns: columns.iter().map(|&(expr, id)| ScanColumn { expr, ty: ColumnType::Int32, id }).collect(),
    }
}

/// Expression indexes of the tests: columns a, b, c and the conditions `a > 1`, `b < 2`.
const A: u32 = 0;
const B: u32 = 1;
const C: u32 = 2;
const A_GT_1: u32 = 3;
const B_LT_2: u32 = 4;

#[test]
fn leaves_of_one_relation_share_one_scan() -> Result<(), Box<dyn std::error::Error>> {
    use super::share::share_scans;
    let mut s = spec();
    s.scans = vec![leaf_of_t(&[(A, 0), (B, 1)], Some(A_GT_1)), leaf_of_t(&[(B, 2), (C, 3)], None)];
    s.grouping = None;
    s.having = None;
    s.output = vec![0, 3];
    let mut pg = vec![vec![(23, -1), (23, -1)], vec![(23, -1), (23, -1)]];
    assert_eq!(share_scans(&mut s, &mut pg), 2);
    assert_eq!(s.all_scans().len(), 3);
    let shared = &s.shared[0];
    // Union of the columns, then the first leaf's condition as a column; no condition of its
    // own (the second leaf reads every row).
    let exprs: Vec<(u32, ColumnType)> = shared.columns.iter().map(|c| (c.expr, c.ty)).collect();
    let int = ColumnType::Int32;
    assert_eq!(exprs, vec![(A, int), (B, int), (C, int), (A_GT_1, ColumnType::Boolean)]);
    assert!(shared.quals.is_empty());
    assert_eq!(pg[2], vec![(23, -1), (23, -1), (23, -1), (16, -1)]);
    let first = s.scans[0].shared.as_ref().ok_or("first leaf not shared")?;
    assert_eq!((first.leaf, first.positions.clone(), first.filter), (2, vec![0, 1], Some(3)));
    let second = s.scans[1].shared.as_ref().ok_or("second leaf not shared")?;
    assert_eq!((second.positions.clone(), second.filter), (vec![1, 2], None));
    // The plan keeps what each leaf reads through its bytes.
    let plan = logical::build(&s)?;
    let bytes = codec::to_bytes(&plan)?;
    let back = codec::from_bytes(&bytes, &SessionContext::new().task_ctx(), None)?;
    assert_eq!(format!("{}", plan.display_indent()), format!("{}", back.display_indent()));
    Ok(())
}

#[test]
fn shared_scan_conditions() {
    use super::share::share_scans;
    // The same condition everywhere: the shared scan's, no condition column.
    let mut s = spec();
    s.scans = vec![leaf_of_t(&[(A, 0)], Some(A_GT_1)), leaf_of_t(&[(A, 1)], Some(A_GT_1))];
    let mut pg = vec![vec![(23, -1)], vec![(23, -1)]];
    share_scans(&mut s, &mut pg);
    assert_eq!(s.shared[0].quals, vec![A_GT_1]);
    assert_eq!(s.shared[0].columns.len(), 1);
    assert!(s.scans.iter().all(|l| l.shared.as_ref().is_some_and(|r| r.filter.is_none())));
    // Different conditions: their OR, and one column each.
    let mut s = spec();
    s.scans = vec![leaf_of_t(&[(A, 0)], Some(A_GT_1)), leaf_of_t(&[(A, 1)], Some(B_LT_2))];
    share_scans(&mut s, &mut pg);
    assert_eq!(s.shared[0].quals, vec![A_GT_1, B_LT_2]);
    let exprs: Vec<u32> = s.shared[0].columns.iter().map(|c| c.expr).collect();
    assert_eq!(exprs, vec![A, A_GT_1, B_LT_2]);
    assert_eq!(s.scans[1].shared.as_ref().and_then(|r| r.filter), Some(2));
    // Volatile leaves and other accesses (another relation, or the same one with other rights
    // or row-level security quals) stay on their own.
    let mut s = spec();
    let mut other = leaf_of_t(&[(A, 1)], None);
    other.access = 1;
    let mut volatile = leaf_of_t(&[(C, 2)], None);
    volatile.volatile = true;
    s.scans = vec![leaf_of_t(&[(A, 0)], None), other, volatile];
    let mut pg = vec![vec![(23, -1)]; 3];
    assert_eq!(share_scans(&mut s, &mut pg), 0);
    assert!(s.shared.is_empty() && s.scans.iter().all(|l| l.shared.is_none()));
}

#[test]
fn equal_subqueries_are_computed_once() -> Result<(), Box<dyn std::error::Error>> {
    use super::share::share_subqueries;
    // The outer query joins spec()'s grouped rows twice (a WITH query referenced twice), and a
    // third subquery that nests it once more: three references, one computation.
    let mut nested = spec();
    nested.scans.clear();
    nested.subqueries.push(Subquery { plan: spec(), columns: vec![(0, 0), (1, 1)], shared: None });
    nested.grouping = None;
    nested.having = None;
    nested.output = vec![0, 1];
    nested.sort = Vec::new();
    nested.offset = 0;
    nested.limit = None;
    let mut outer = spec();
    outer.subqueries = vec![
        Subquery { plan: spec(), columns: vec![(0, 3), (1, 4)], shared: None },
        Subquery { plan: spec(), columns: vec![(1, 5)], shared: None },
        Subquery { plan: nested, columns: vec![(0, 6)], shared: None },
    ];
    outer.grouping = None;
    outer.having = None;
    outer.output = vec![0, 4, 5, 6];
    outer.sort = Vec::new();
    outer.offset = 0;
    outer.limit = None;
    assert_eq!(outer.all_scans().len(), 4);
    let mut pg = vec![vec![(23, -1)], vec![(23, -2)], vec![(23, -3)], vec![(23, -4)]];
    assert_eq!(share_subqueries(&mut outer, &mut pg), 2);
    // The first reference keeps its leaf; the others' scans are no leaves any more.
    assert_eq!(outer.all_scans().len(), 2);
    assert_eq!(pg, vec![vec![(23, -1)], vec![(23, -2)]]);
    assert_eq!(outer.subqueries[0].shared, Some(SharedSubquery { id: 0, first: true }));
    assert_eq!(outer.subqueries[1].shared, Some(SharedSubquery { id: 0, first: false }));
    assert_eq!(outer.subqueries[2].shared, None);
    assert_eq!(outer.subqueries[2].plan.subqueries[0].shared, Some(SharedSubquery { id: 0, first: false }));
    assert_eq!(
        outer.output_types(),
        vec![ColumnType::Int32, ColumnType::Int64, ColumnType::Int64, ColumnType::Int32]
    );
    // One plan for the three references, kept through the bytes; EXPLAIN shows it once.
    let plan = logical::build(&outer)?;
    let text = logical::display(&plan);
    assert_eq!(text.matches("TableScan: subquery0").count(), 3, "{text}");
    assert_eq!(text.matches("subquery0 (computed once):").count(), 1, "{text}");
    assert_eq!(text.matches("TableScan: public.t").count(), 2, "{text}");
    let bytes = codec::to_bytes(&plan)?;
    let ctx = SessionContext::new();
    let back = codec::from_bytes(&bytes, &ctx.task_ctx(), None)?;
    assert_eq!(text, logical::display(&back));
    ctx.state().optimize(&back)?;
    Ok(())
}

#[test]
fn volatile_or_different_subqueries_are_not_shared() {
    use super::share::share_subqueries;
    let mut volatile = spec();
    volatile.scans[0].volatile = true;
    let mut other = spec();
    other.limit = Some(5);
    let mut outer = spec();
    outer.subqueries = vec![
        Subquery { plan: volatile.clone(), columns: vec![(0, 3)], shared: None },
        Subquery { plan: volatile, columns: vec![(0, 4)], shared: None },
        Subquery { plan: spec(), columns: vec![(0, 5)], shared: None },
        Subquery { plan: other, columns: vec![(0, 6)], shared: None },
    ];
    let mut pg = vec![Vec::new(); 5];
    assert_eq!(share_subqueries(&mut outer, &mut pg), 0);
    assert!(outer.subqueries.iter().all(|s| s.shared.is_none()));
    assert_eq!(pg.len(), 5);
}

#[test]
fn float_literals_are_equal_only_bit_for_bit() {
    use super::share::share_subqueries;
    let with = |x: f64| {
        let mut p = spec();
        p.having = Some(DfExpr::Compare(
            CmpOp::Gt,
            Box::new(DfExpr::Column(1)),
            Box::new(DfExpr::Literal(Literal::Float64(x))),
        ));
        p
    };
    let mut outer = spec();
    outer.subqueries = vec![
        Subquery { plan: with(-0.0), columns: vec![(0, 3)], shared: None },
        Subquery { plan: with(0.0), columns: vec![(0, 4)], shared: None },
    ];
    let mut pg = vec![Vec::new(); 3];
    assert_eq!(share_subqueries(&mut outer, &mut pg), 0);
    assert_eq!(Literal::Float64(f64::NAN), Literal::Float64(f64::NAN));
}

#[test]
fn multiset_set_operations_number_copies() -> Result<(), Box<dyn std::error::Error>> {
    let arm = |plan: PlanSpec| Subquery { plan, columns: vec![(0, 0), (1, 1)], shared: None };
    for kind in [SetOpKind::Intersect, SetOpKind::Except] {
        let mut s = spec();
        s.scans.clear();
        s.subqueries = vec![arm(spec()), arm(spec())];
        s.set_tree = Some(SetTree::Op {
            kind,
            all: true,
            left: Box::new(SetTree::Arm(0)),
            right: Box::new(SetTree::Arm(1)),
        });
        s.grouping = None;
        s.having = None;
        s.output = vec![0, 1];
        let plan = logical::build(&s)?;
        let text = format!("{}", plan.display_indent());
        assert_eq!(text.matches("WindowAggr: windowExpr=[[row_number()").count(), 2, "{text}");
        assert_eq!(plan.schema().fields().len(), 2);
        let back = codec::from_bytes(&codec::to_bytes(&plan)?, &SessionContext::new().task_ctx(), None)?;
        assert_eq!(text, format!("{}", back.display_indent()));
    }
    Ok(())
}

#[test]
fn single_distinct_aggregates_become_a_grouping() -> datafusion::common::Result<()> {
    // count(DISTINCT c1) with min(c0) per c0: DataFusion's rewrite into two aggregations applies
    // (its grouping spills; a distinct accumulator's set cannot).
    let mut s = spec();
    let Some(g) = s.grouping.as_mut() else {
        return Err(datafusion::common::DataFusionError::Internal("the spec has a grouping".into()));
    };
    g.aggs.retain(|a| a.distinct);
    g.aggs.push(AggSpec {
        func: AggFunc::Min,
        arg: Some(0),
        distinct: false,
        filter: None,
        keys: Vec::new(),
        order_by: Vec::new(),
        delimiter: None,
        output: ColumnType::Int32,
    });
    s.having = None;
    s.output = vec![0, 1, 2];
    s.sort = Vec::new();
    let plan = logical::build(&s)?;
    let ctx = SessionContext::new();
    let optimized = ctx.state().optimize(&plan)?;
    let text = format!("{}", optimized.display_indent());
    assert_eq!(text.matches("Aggregate:").count(), 2, "{text}");
    Ok(())
}
