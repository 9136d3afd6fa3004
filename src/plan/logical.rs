//! [`PlanSpec`] -> DataFusion `LogicalPlan`.
//!
//! Column names: scan columns `c{i}`, aggregates `a{i}`, the stage below the output `s{i}` (cast to
//! the types PostgreSQL expects), output columns `o{i}`.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Column, Result, ScalarValue, TableReference};
use datafusion::datasource::provider_as_source;
use datafusion::functions_aggregate::expr_fn::{bool_and, bool_or, count, max, min, sum};
use datafusion::functions_aggregate::grouping::grouping_udaf;
use datafusion::functions_aggregate::string_agg::string_agg;
use datafusion::logical_expr::expr_rewriter::normalize_col;
use datafusion::logical_expr::{
    binary_expr, cast, col, lit, Case, Expr, ExprFunctionExt, ExprSchemable, GroupingSet, JoinType,
    LogicalPlan, LogicalPlanBuilder, Operator, SortExpr, WindowFrame, WindowFrameBound, WindowFrameUnits,
};

use super::spec::{
    AggFunc, AggSpec, ArithOp, CmpOp, DfExpr, Frame, FrameBound, FrameUnits, JoinKind, JoinTree, Literal,
    PlanSpec, SetOpKind, SetTree, SortKey, WindowFn, WindowSpec,
};
use super::table::{column_name, PgScanTable, SubqueryTable};
use super::udaf::{FloatMinMax, NumericStatistic};
use super::udf::{BpcharKey, IntArith, IntervalKey, NumericDiv, RangeKey};
use crate::page::ColumnType;

/// A float as PostgreSQL orders it. Arrow compares floats by IEEE totalOrder: -0 < +0, and a NaN
/// with its sign bit set sorts below -Infinity. PostgreSQL has one zero and one NaN, above every
/// other value. Mapping every NaN to the positive NaN and -0 to +0 (by comparisons, which the
/// optimizer does not fold away) makes the two orders agree. Other types pass through.
fn pg_order_key(e: Expr, ty: ColumnType) -> Result<Expr> {
    let (nan, inf, neg_inf, neg_zero, zero) = match ty {
        ColumnType::Float64 => {
            (lit(f64::NAN), lit(f64::INFINITY), lit(f64::NEG_INFINITY), lit(-0.0f64), lit(0.0f64))
        }
        ColumnType::Float32 => {
            (lit(f32::NAN), lit(f32::INFINITY), lit(f32::NEG_INFINITY), lit(-0.0f32), lit(0.0f32))
        }
        _ => return Ok(e),
    };
    datafusion::logical_expr::when(e.clone().gt(inf).or(e.clone().lt(neg_inf)), nan)
        .when(e.clone().eq(neg_zero), zero)
        .otherwise(e)
}

/// The sort expression of `k` over `e`, a column of type `ty`: floats through
/// [`pg_order_key`], `char(n)` without trailing blanks ([`BpcharKey`]).
fn sort_expr(k: &SortKey, e: Expr, ty: ColumnType) -> Result<SortExpr> {
    let key = if k.blank_padded { BpcharKey::udf().call(vec![e]) } else { pg_order_key(e, ty)? };
    Ok(key.sort(!k.descending, k.nulls_first))
}

/// The key DISTINCT compares an aggregate's argument by: floats with one NaN and one zero,
/// intervals by their comparison value (`'1 mon'` = `'30 days'`).
fn distinct_key(e: Expr, ty: ColumnType) -> Result<Expr> {
    match ty {
        ColumnType::IntervalMonthDayNano => Ok(IntervalKey::udf().call(vec![e])),
        _ => pg_order_key(e, ty),
    }
}

/// The type a decimal or bigint sum accumulates in. DataFusion's sum wraps on overflow, so it
/// must be wide enough for any row count: inputs of at most 19 digits (bigint included) sum to
/// less than 2^63 * 10^19 < 10^38 over at most 2^63 rows, so 38 digits (i128) hold every total;
/// wider inputs accumulate in 76 digits (i256), which no row count reaches. The final cast to
/// the output's 38 digits fails (never wraps) if a total does not fit.
fn exact_sum_type(input: ColumnType, scale: i8) -> DataType {
    match input {
        ColumnType::Decimal128 { precision, .. } if precision <= 19 => DataType::Decimal128(38, scale),
        ColumnType::Int64 => DataType::Decimal128(38, scale),
        _ => DataType::Decimal256(76, scale),
    }
}

fn agg_expr(a: &AggSpec, scan_types: &[ColumnType]) -> Result<Expr> {
    let input = a.arg.and_then(|i| scan_types.get(i).copied()).unwrap_or(ColumnType::Boolean);
    // DISTINCT compares the argument as PostgreSQL does (one NaN, one zero, intervals by value).
    let arg = match a.arg.map(|i| col(column_name(i))) {
        Some(e) if a.distinct => Some(distinct_key(e, input)?),
        e => e,
    };
    let arg_or_err = || {
        arg.clone()
            .ok_or_else(|| datafusion::common::DataFusionError::Internal("aggregate without argument".into()))
    };
    let base = match a.func {
        AggFunc::CountStar => count(lit(1i64)),
        AggFunc::Count => count(arg_or_err()?),
        AggFunc::Sum => {
            let input = a.arg.map(|i| scan_types[i]);
            match (input, a.output) {
                (
                    Some(t @ (ColumnType::Decimal128 { .. } | ColumnType::Int64)),
                    ColumnType::Decimal128 { scale, .. },
                ) => sum(cast(arg_or_err()?, exact_sum_type(t, scale))),
                _ => sum(arg_or_err()?),
            }
        }
        AggFunc::StringAgg => {
            let delimiter = a.delimiter.clone().unwrap_or_default();
            string_agg(cast(arg_or_err()?, DataType::Utf8), lit(delimiter))
        }
        AggFunc::Statistic(stat) => {
            let scale = match a.arg.map(|i| scan_types[i]) {
                Some(ColumnType::Decimal128 { scale, .. }) => scale,
                Some(ColumnType::Int16 | ColumnType::Int32 | ColumnType::Int64) => 0,
                t => {
                    return Err(datafusion::common::DataFusionError::Internal(format!(
                        "numeric statistic of {t:?}"
                    )))
                }
            };
            NumericStatistic::udaf(stat, scale)
                .call(vec![cast(arg_or_err()?, DataType::Decimal128(38, scale))])
        }
        AggFunc::BoolAnd => bool_and(arg_or_err()?),
        AggFunc::BoolOr => bool_or(arg_or_err()?),
        AggFunc::Grouping => grouping_udaf().call(a.keys.iter().map(|&k| col(column_name(k))).collect()),
        AggFunc::Min | AggFunc::Max if matches!(a.output, ColumnType::Float32 | ColumnType::Float64) => {
            FloatMinMax::udaf(a.func == AggFunc::Max).call(vec![arg_or_err()?])
        }
        AggFunc::Min => min(arg_or_err()?),
        AggFunc::Max => max(arg_or_err()?),
    };
    let filter = a.filter.map(|f| col(column_name(f)));
    let order = a
        .order_by
        .iter()
        .map(|k| {
            let ty = scan_types.get(k.column).copied().unwrap_or(ColumnType::Boolean);
            sort_expr(k, col(column_name(k.column)), ty)
        })
        .collect::<Result<Vec<_>>>()?;
    if !a.distinct && filter.is_none() && order.is_empty() {
        return Ok(base);
    }
    // One builder for all three: building twice would drop what the first build set.
    let mut b = base.order_by(order);
    if a.distinct {
        b = b.distinct();
    }
    if let Some(f) = filter {
        b = b.filter(f);
    }
    b.build()
}

/// A window function over the columns named by `name`, of types `types`.
fn window_expr(w: &WindowSpec, types: &[ColumnType], name: &dyn Fn(usize) -> String) -> Result<Expr> {
    use datafusion::functions_aggregate::count::count_udaf;
    use datafusion::functions_aggregate::min_max::{max_udaf, min_udaf};
    use datafusion::functions_aggregate::sum::sum_udaf;
    use datafusion::functions_window::expr_fn as wf;
    use datafusion::logical_expr::expr::{WindowFunction, WindowFunctionDefinition};
    let arg = || {
        w.arg.map(|i| col(name(i))).ok_or_else(|| {
            datafusion::common::DataFusionError::Internal("window function without argument".into())
        })
    };
    let arg_type = w.arg.and_then(|i| types.get(i).copied()).unwrap_or(ColumnType::Int64);
    let base = match w.func {
        WindowFn::RowNumber => wf::row_number(),
        WindowFn::Rank => wf::rank(),
        WindowFn::DenseRank => wf::dense_rank(),
        WindowFn::PercentRank => wf::percent_rank(),
        WindowFn::CumeDist => wf::cume_dist(),
        WindowFn::Ntile(n) => wf::ntile(lit(n as i64)),
        WindowFn::Lag(n) => wf::lag(arg()?, Some(n as i64), w.default.as_ref().map(literal)),
        WindowFn::Lead(n) => wf::lead(arg()?, Some(n as i64), w.default.as_ref().map(literal)),
        WindowFn::FirstValue => wf::first_value(arg()?),
        WindowFn::LastValue => wf::last_value(arg()?),
        WindowFn::NthValue(n) => wf::nth_value(arg()?, n as i64),
        WindowFn::Aggregate(f) => {
            let (udaf, args) = match f {
                AggFunc::CountStar => (count_udaf(), vec![lit(1i64)]),
                AggFunc::Count => (count_udaf(), vec![arg()?]),
                // As the aggregate: a decimal sum that can never wrap.
                AggFunc::Sum => match (arg_type, w.output) {
                    (
                        t @ (ColumnType::Decimal128 { .. } | ColumnType::Int64),
                        ColumnType::Decimal128 { scale, .. },
                    ) => (sum_udaf(), vec![cast(arg()?, exact_sum_type(t, scale))]),
                    _ => (sum_udaf(), vec![arg()?]),
                },
                // Floats as PostgreSQL orders them (the translator gives these frames that start at
                // the partition's start: the aggregate cannot retract a value).
                AggFunc::Min | AggFunc::Max
                    if matches!(arg_type, ColumnType::Float32 | ColumnType::Float64) =>
                {
                    (FloatMinMax::udaf(f == AggFunc::Max), vec![arg()?])
                }
                AggFunc::Min => (min_udaf(), vec![arg()?]),
                AggFunc::Max => (max_udaf(), vec![arg()?]),
                _ => {
                    return Err(datafusion::common::DataFusionError::NotImplemented(
                        "window aggregate".into(),
                    ))
                }
            };
            Expr::from(WindowFunction::new(WindowFunctionDefinition::AggregateUDF(udaf), args))
        }
    };
    let partition = w.partition_by.iter().map(|&i| col(name(i))).collect();
    // A RANGE frame with an offset adds it to its one ORDER BY key: a date or timestamp key
    // refuses what that addition would not compute as PostgreSQL does (`RangeKey`).
    let range_offset = w.frame.filter(|f| f.units == FrameUnits::Range).and_then(|f| {
        [f.start, f.end]
            .iter()
            .filter_map(|b| match b {
                FrameBound::Preceding(n) | FrameBound::Following(n) => Some(*n),
                _ => None,
            })
            .max()
    });
    let order = w
        .order_by
        .iter()
        .map(|k| {
            let ty = types.get(k.column).copied().unwrap_or(ColumnType::Boolean);
            let key = match (ty, range_offset) {
                (ColumnType::Date32, Some(n)) => {
                    RangeKey::for_offset(false, n).call(vec![col(name(k.column))])
                }
                (ColumnType::TimestampUs { .. }, Some(n)) => {
                    RangeKey::for_offset(true, n).call(vec![col(name(k.column))])
                }
                _ => col(name(k.column)),
            };
            sort_expr(k, key, ty)
        })
        .collect::<Result<Vec<_>>>()?;
    // RANGE without offsets frames peer groups, which GROUPS frames too: DataFusion's RANGE takes
    // only numeric, date, timestamp and string keys, not binary ones (bytea, uuid, text of a
    // database not encoded in UTF-8), time or booleans.
    let groups_key = w.order_by.first().and_then(|k| types.get(k.column)).is_some_and(|t| {
        !matches!(
            t,
            ColumnType::Int16
                | ColumnType::Int32
                | ColumnType::Int64
                | ColumnType::Float32
                | ColumnType::Float64
                | ColumnType::Decimal128 { .. }
                | ColumnType::Date32
                | ColumnType::TimestampUs { .. }
                | ColumnType::Utf8View
        )
    });
    let peers = |f: &Frame| {
        f.units == FrameUnits::Range
            && [f.start, f.end]
                .iter()
                .all(|b| !matches!(b, FrameBound::Preceding(_) | FrameBound::Following(_)))
    };
    let frame = match w.frame {
        None if groups_key => WindowFrame::new_bounds(
            WindowFrameUnits::Groups,
            WindowFrameBound::Preceding(ScalarValue::UInt64(None)),
            WindowFrameBound::CurrentRow,
        ),
        Some(f) if groups_key && peers(&f) => {
            WindowFrame::new_bounds(WindowFrameUnits::Groups, peer_bound(f.start), peer_bound(f.end))
        }
        None => WindowFrame::new(if order.is_empty() { None } else { Some(false) }),
        Some(f) => {
            // ROWS and GROUPS count in UInt64; a RANGE offset is a value of the key's type.
            let key = w.order_by.first().and_then(|k| types.get(k.column)).copied();
            let offset = |n: u64| -> Result<ScalarValue> {
                Ok(match (f.units, key) {
                    (FrameUnits::Rows | FrameUnits::Groups, _) => ScalarValue::UInt64(Some(n)),
                    (FrameUnits::Range, Some(ColumnType::Int16)) => ScalarValue::Int16(i16::try_from(n).ok()),
                    (FrameUnits::Range, Some(ColumnType::Int32)) => ScalarValue::Int32(i32::try_from(n).ok()),
                    (FrameUnits::Range, Some(ColumnType::Int64)) => ScalarValue::Int64(i64::try_from(n).ok()),
                    (FrameUnits::Range, Some(ColumnType::Decimal128 { precision, scale })) => {
                        ScalarValue::Decimal128(Some(i128::from(n)), precision, scale)
                    }
                    // Days over a date, microseconds over a timestamp.
                    (FrameUnits::Range, Some(ColumnType::Date32)) => {
                        let days = i32::try_from(n).map_err(|_| range_offset_error())?;
                        ScalarValue::new_interval_mdn(0, days, 0)
                    }
                    (FrameUnits::Range, Some(ColumnType::TimestampUs { .. })) => {
                        let nanos = i64::try_from(n).ok().and_then(|m| m.checked_mul(1000));
                        ScalarValue::new_interval_mdn(0, 0, nanos.ok_or_else(range_offset_error)?)
                    }
                    (_, t) => {
                        return Err(datafusion::common::DataFusionError::Internal(format!(
                            "RANGE offset over a key of type {t:?}"
                        )))
                    }
                })
            };
            let bound = |b: FrameBound| -> Result<WindowFrameBound> {
                Ok(match b {
                    FrameBound::UnboundedPreceding => WindowFrameBound::Preceding(ScalarValue::UInt64(None)),
                    FrameBound::Preceding(n) => WindowFrameBound::Preceding(offset(n)?),
                    FrameBound::CurrentRow => WindowFrameBound::CurrentRow,
                    FrameBound::Following(n) => WindowFrameBound::Following(offset(n)?),
                    FrameBound::UnboundedFollowing => WindowFrameBound::Following(ScalarValue::UInt64(None)),
                })
            };
            let units = match f.units {
                FrameUnits::Rows => WindowFrameUnits::Rows,
                FrameUnits::Range => WindowFrameUnits::Range,
                FrameUnits::Groups => WindowFrameUnits::Groups,
            };
            WindowFrame::new_bounds(units, bound(f.start)?, bound(f.end)?)
        }
    };
    base.partition_by(partition).order_by(order).window_frame(frame).build()
}

/// A bound without an offset as DataFusion names it.
fn peer_bound(b: FrameBound) -> WindowFrameBound {
    match b {
        FrameBound::UnboundedPreceding => WindowFrameBound::Preceding(ScalarValue::UInt64(None)),
        FrameBound::UnboundedFollowing => WindowFrameBound::Following(ScalarValue::UInt64(None)),
        _ => WindowFrameBound::CurrentRow,
    }
}

fn range_offset_error() -> datafusion::common::DataFusionError {
    datafusion::common::DataFusionError::NotImplemented("RANGE offset out of range of its key type".into())
}

/// Compute `windows` over `b` (columns named by `name`); their results are named
/// `out_name(i)`, cast to their types, after `keep` (the columns kept, by name).
fn add_windows(
    b: LogicalPlanBuilder,
    windows: &[WindowSpec],
    types: &[ColumnType],
    name: &dyn Fn(usize) -> String,
    keep: Vec<Expr>,
    out_name: &dyn Fn(usize) -> String,
) -> Result<LogicalPlanBuilder> {
    let input = b.build()?;
    // Columns qualified as the window node qualifies them, so that each function's result
    // column is named by its expression.
    let exprs = windows
        .iter()
        .map(|w| normalize_col(window_expr(w, types, name)?, &input))
        .collect::<Result<Vec<_>>>()?;
    let names: Vec<String> = exprs.iter().map(|e| e.schema_name().to_string()).collect();
    // One window node per distinct PARTITION BY / ORDER BY, as DataFusion's SQL planner does.
    let plan = LogicalPlanBuilder::window_plan(input, exprs)?;
    let results = windows.iter().zip(names).enumerate().map(|(i, (w, n))| {
        cast(Expr::Column(datafusion::common::Column::from_name(n)), w.output.arrow_type()).alias(out_name(i))
    });
    let exprs: Vec<Expr> = keep.into_iter().chain(results).collect();
    LogicalPlanBuilder::from(plan).project(exprs)
}

fn literal(l: &Literal) -> ScalarValue {
    match l {
        Literal::Null(t) => ScalarValue::try_from(&t.arrow_type()).unwrap_or(ScalarValue::Null),
        Literal::Bool(v) => ScalarValue::Boolean(Some(*v)),
        Literal::Int64(v) => ScalarValue::Int64(Some(*v)),
        Literal::Float64(v) => ScalarValue::Float64(Some(*v)),
        Literal::Decimal128 { value, precision, scale } => {
            ScalarValue::Decimal128(Some(*value), *precision, *scale)
        }
        Literal::Utf8(s) => ScalarValue::Utf8View(Some(s.clone())),
        Literal::Binary(b) => ScalarValue::BinaryView(Some(b.clone())),
        Literal::Date32(v) => ScalarValue::Date32(Some(*v)),
        Literal::TimestampUs { value, utc } => {
            ScalarValue::TimestampMicrosecond(Some(*value), utc.then(|| Arc::from("UTC")))
        }
    }
}

fn df_expr(e: &DfExpr, name: &dyn Fn(usize) -> String) -> Expr {
    match e {
        DfExpr::Column(i) => col(name(*i)),
        DfExpr::Literal(l) => lit(literal(l)),
        DfExpr::Compare(op, l, r) => {
            let op = match op {
                CmpOp::Eq => Operator::Eq,
                CmpOp::NotEq => Operator::NotEq,
                CmpOp::Lt => Operator::Lt,
                CmpOp::LtEq => Operator::LtEq,
                CmpOp::Gt => Operator::Gt,
                CmpOp::GtEq => Operator::GtEq,
            };
            binary_expr(df_expr(l, name), op, df_expr(r, name))
        }
        DfExpr::And(v) => {
            balanced(v.iter().map(|x| df_expr(x, name)).collect(), Expr::and).unwrap_or(lit(true))
        }
        DfExpr::Or(v) => {
            balanced(v.iter().map(|x| df_expr(x, name)).collect(), Expr::or).unwrap_or(lit(false))
        }
        DfExpr::Not(x) => Expr::Not(Box::new(df_expr(x, name))),
        DfExpr::IsNull(x) => df_expr(x, name).is_null(),
        DfExpr::IsNotNull(x) => df_expr(x, name).is_not_null(),
        DfExpr::Arith(op, l, r) => {
            let op = match op {
                ArithOp::Add => Operator::Plus,
                ArithOp::Sub => Operator::Minus,
                ArithOp::Mul => Operator::Multiply,
                // Not built for decimals (see `ArithOp`).
                ArithOp::Div => Operator::Divide,
                ArithOp::Mod => Operator::Modulo,
            };
            binary_expr(df_expr(l, name), op, df_expr(r, name))
        }
        DfExpr::Cast(x, ty) => cast(df_expr(x, name), ty.arrow_type()),
        DfExpr::IntArith(op, l, r, ty) => {
            IntArith::udf(*op, ty.arrow_type()).call(vec![df_expr(l, name), df_expr(r, name)])
        }
        DfExpr::NumericDiv(l, r, scale) => {
            NumericDiv::udf(*scale).call(vec![df_expr(l, name), df_expr(r, name)])
        }
        DfExpr::Case(branches, otherwise) => Expr::Case(Case::new(
            None,
            branches.iter().map(|(c, v)| (Box::new(df_expr(c, name)), Box::new(df_expr(v, name)))).collect(),
            otherwise.as_ref().map(|e| Box::new(df_expr(e, name))),
        )),
    }
}

/// Join a long AND/OR list as a balanced tree: depth log2(n), so plan building, serialization and
/// optimization (all recursive) never go deep on a query with thousands of terms.
fn balanced(mut v: Vec<Expr>, join: fn(Expr, Expr) -> Expr) -> Option<Expr> {
    while v.len() > 1 {
        let mut next = Vec::with_capacity(v.len().div_ceil(2));
        let mut it = v.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => join(a, b),
                None => a,
            });
        }
        v = next;
    }
    v.pop()
}

fn join_plan(tree: &JoinTree, leaf_plan: &dyn Fn(usize) -> Result<LogicalPlan>) -> Result<LogicalPlan> {
    match tree {
        JoinTree::Leaf(i) => leaf_plan(*i),
        JoinTree::Join { kind, left, right, on } => {
            let join_type = match kind {
                JoinKind::Inner => JoinType::Inner,
                JoinKind::Left => JoinType::Left,
                JoinKind::Right => JoinType::Right,
                JoinKind::Full => JoinType::Full,
            };
            let on: Vec<Expr> = on.iter().map(|e| df_expr(e, &column_name)).collect();
            LogicalPlanBuilder::from(join_plan(left, leaf_plan)?)
                .join_on(join_plan(right, leaf_plan)?, join_type, on)?
                .build()
        }
    }
}

/// A set operation; arms are leaves (subqueries) whose columns share their names by position.
/// INTERSECT and EXCEPT are distinct semi and anti joins with NULLs equal, as SQL's set semantics.
fn set_plan(tree: &SetTree, leaf_plan: &dyn Fn(usize) -> Result<LogicalPlan>) -> Result<LogicalPlan> {
    match tree {
        SetTree::Arm(i) => leaf_plan(*i),
        SetTree::Op { kind, all, left, right } => {
            let (l, r) = (set_plan(left, leaf_plan)?, set_plan(right, leaf_plan)?);
            match (kind, all) {
                (SetOpKind::Union, true) => LogicalPlanBuilder::from(l).union(r)?.build(),
                (SetOpKind::Union, false) => LogicalPlanBuilder::from(l).union_distinct(r)?.build(),
                (SetOpKind::Intersect, false) => LogicalPlanBuilder::intersect(l, r, false),
                (SetOpKind::Except, false) => LogicalPlanBuilder::except(l, r, false),
                // Multisets (DataFusion's own ALL forms are a plain semi/anti join): each side
                // numbers the copies of each row; the distinct operation over (row, number)
                // keeps min(m, n) copies of a row for INTERSECT ALL and max(m - n, 0) for EXCEPT
                // ALL, as PostgreSQL does (NULLs equal, as in every set operation).
                (kind, true) => {
                    let columns: Vec<Expr> = l.schema().columns().into_iter().map(Expr::Column).collect();
                    let (l, r) = (numbered(l)?, numbered(r)?);
                    let op = if *kind == SetOpKind::Intersect {
                        LogicalPlanBuilder::intersect(l, r, false)?
                    } else {
                        LogicalPlanBuilder::except(l, r, false)?
                    };
                    LogicalPlanBuilder::from(op).project(columns)?.build()
                }
            }
        }
    }
}

/// `plan` with a column numbering the copies of each row: 1.. among the rows equal in every
/// column.
fn numbered(plan: LogicalPlan) -> Result<LogicalPlan> {
    let columns: Vec<Expr> = plan.schema().columns().into_iter().map(Expr::Column).collect();
    let number = datafusion::functions_window::expr_fn::row_number().partition_by(columns.clone()).build()?;
    let name = number.schema_name().to_string();
    let plan = LogicalPlanBuilder::window_plan(plan, vec![number])?;
    let copy = Expr::Column(datafusion::common::Column::from_name(name)).alias("copy");
    LogicalPlanBuilder::from(plan).project(columns.into_iter().chain([copy]))?.build()
}

fn stage_name(i: usize) -> String {
    format!("s{i}")
}

pub fn output_name(i: usize) -> String {
    format!("o{i}")
}

/// Build the logical plan. The scan leaf carries no page source: the worker's codec adds one.
pub fn build(spec: &PlanSpec) -> Result<LogicalPlan> {
    build_block(spec, &mut Blocks::default())
}

/// The plan as EXPLAIN shows it: the query's, then each subquery computed once.
pub fn display(plan: &LogicalPlan) -> String {
    let mut shared: Vec<(u32, Arc<LogicalPlan>)> = Vec::new();
    shared_subqueries(plan, &mut shared);
    shared.sort_by_key(|(id, _)| *id);
    let mut out = format!("{}", plan.display_indent());
    for (id, p) in shared {
        out.push_str(&format!("\n{} (computed once):", SubqueryTable::name(id)));
        for line in format!("{}", p.display_indent()).lines() {
            out.push_str(&format!("\n  {line}"));
        }
    }
    out
}

/// The subqueries computed once that `plan` reads, at any depth.
fn shared_subqueries(plan: &LogicalPlan, out: &mut Vec<(u32, Arc<LogicalPlan>)>) {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            if let Ok(table) = datafusion::datasource::source_as_provider(&scan.source) {
                let any: &dyn std::any::Any = table.as_ref();
                if let Some(t) = any.downcast_ref::<SubqueryTable>() {
                    if !out.iter().any(|(id, _)| *id == t.id) {
                        out.push((t.id, t.plan.clone()));
                        shared_subqueries(&t.plan, out);
                    }
                }
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
}

/// What building the blocks of one query carries along.
#[derive(Default)]
struct Blocks {
    /// The number of the next scan leaf.
    next: u32,
    /// The plans of the subqueries computed once, by id, once built at their first reference.
    shared: std::collections::HashMap<u32, Arc<LogicalPlan>>,
}

/// One query block; its scans are leaves `next..`, its subqueries' follow (see
/// [`PlanSpec::all_scans`]).
fn build_block(spec: &PlanSpec, blocks: &mut Blocks) -> Result<LogicalPlan> {
    let scan_types = spec.scan_types();
    let first_leaf = blocks.next;
    blocks.next += spec.scans.len() as u32;
    // Each subquery: its own plan, renamed to this block's column ids.
    let mut subplans = Vec::with_capacity(spec.subqueries.len());
    for sq in &spec.subqueries {
        let plan = match sq.shared {
            None => build_block(&sq.plan, blocks)?,
            Some(shared) => {
                let plan = if shared.first {
                    let plan = Arc::new(build_block(&sq.plan, blocks)?);
                    blocks.shared.insert(shared.id, plan.clone());
                    plan
                } else {
                    blocks.shared.get(&shared.id).cloned().ok_or_else(|| {
                        datafusion::common::DataFusionError::Internal(
                            "shared subquery read before its first reference".into(),
                        )
                    })?
                };
                let table = Arc::new(SubqueryTable::new(shared.id, plan, None));
                LogicalPlanBuilder::scan(SubqueryTable::name(shared.id), provider_as_source(table), None)?
                    .build()?
            }
        };
        let columns = sq.columns.iter().map(|&(o, id)| col(output_name(o)).alias(column_name(id)));
        subplans.push(LogicalPlanBuilder::from(plan).project(columns)?.build()?);
    }
    // The leaves, cross-joined in order (`join_order`); the join filter above them. DataFusion's optimizer
    // (run in the worker) turns equalities between leaves into hash-join keys.
    let leaf_plan = |leaf: usize| -> Result<LogicalPlan> {
        let Some(scan) = spec.scans.get(leaf) else {
            return subplans
                .get(leaf - spec.scans.len())
                .cloned()
                .ok_or_else(|| datafusion::common::DataFusionError::Internal("join tree leaf".into()));
        };
        let types = scan.columns.iter().map(|c| c.ty).collect();
        let ids = scan.columns.iter().map(|c| c.id as u32).collect();
        let table = Arc::new(
            PgScanTable::new(first_leaf + leaf as u32, ids, types, None).with_shared(scan.shared.clone()),
        );
        // A relation scanned twice (self join) keeps its name: column names are unique anyway.
        // The name is for display; the plan's bytes carry it as text that is parsed again, so
        // a name that needs quotes (`"Sch.ema"."We""ird"`) shows as the leaf's number.
        let name = if scan.relation.contains('"') {
            TableReference::bare(format!("leaf{}", first_leaf + leaf as u32))
        } else {
            TableReference::from(scan.relation.as_str())
        };
        LogicalPlanBuilder::scan(name, provider_as_source(table), None)?.build()
    };
    let mut b = match (&spec.set_tree, &spec.join_tree) {
        (Some(tree), _) => LogicalPlanBuilder::from(set_plan(tree, &leaf_plan)?),
        (None, Some(tree)) => LogicalPlanBuilder::from(join_plan(tree, &leaf_plan)?),
        (None, None) => {
            let mut b: Option<LogicalPlanBuilder> = None;
            let written: Vec<usize> = (0..spec.scans.len() + spec.subqueries.len()).collect();
            // In the chosen order, each leaf joins the ones before it: DataFusion's
            // EliminateCrossJoin, which takes the first leaf with a join key to those, keeps it.
            for &leaf in spec.join_order.as_ref().unwrap_or(&written) {
                let plan = leaf_plan(leaf)?;
                b = Some(match b {
                    None => LogicalPlanBuilder::from(plan),
                    Some(left) => left.cross_join(plan)?,
                });
            }
            b.ok_or_else(|| datafusion::common::DataFusionError::Internal("plan without leaves".into()))?
        }
    };
    if let Some(f) = &spec.join_filter {
        b = b.filter(df_expr(f, &column_name))?;
    }
    if !spec.computed.is_empty() {
        // Every leaf column, then the computed ones (cast to the type PostgreSQL gives them).
        let exprs =
            spec.leaf_columns()
                .into_iter()
                .map(|(id, _)| col(column_name(id)))
                .chain(spec.computed.iter().map(|c| {
                    cast(df_expr(&c.expr, &column_name), c.ty.arrow_type()).alias(column_name(c.id))
                }))
                .collect::<Vec<_>>();
        b = b.project(exprs)?;
    }
    if spec.grouping.is_none() && !spec.windows.is_empty() {
        // Without grouping, windows run over the joined row and add columns to it.
        let keep = spec
            .leaf_columns()
            .into_iter()
            .map(|(id, _)| id)
            .chain(spec.computed.iter().map(|c| c.id))
            .map(|id| col(column_name(id)))
            .collect();
        let ids: Vec<usize> = spec.windows.iter().map(|w| w.id).collect();
        b = add_windows(b, &spec.windows, &scan_types, &column_name, keep, &|i| column_name(ids[i]))?;
    }
    let stage_types = spec.stage_types();
    let grouped_windows = if spec.grouping.is_some() { spec.windows.len() } else { 0 };
    let stage_sources: Vec<Expr> = match &spec.grouping {
        None => (0..scan_types.len()).map(|i| col(column_name(i))).collect(),
        Some(g) => {
            let keys: Vec<Expr> = g.keys.iter().map(|&k| col(column_name(k))).collect();
            let group_exprs = match &g.sets {
                None => keys.clone(),
                Some(sets) => vec![Expr::GroupingSet(GroupingSet::GroupingSets(
                    sets.iter().map(|set| set.iter().map(|&i| keys[i].clone()).collect()).collect(),
                ))],
            };
            let aggs = g.aggs.iter().map(|a| agg_expr(a, &scan_types)).collect::<Result<Vec<_>>>()?;
            // DISTINCT aggregates stay unnamed when their names are unique: DataFusion's
            // single_distinct_aggregation_to_group_by recognises only bare aggregates, and its
            // grouping spills where a distinct accumulator's set cannot.
            let names: Vec<String> = aggs.iter().map(|e| e.schema_name().to_string()).collect();
            let bare = g.sets.is_none()
                && g.aggs.iter().any(|a| a.distinct)
                && names.iter().collect::<HashSet<_>>().len() == names.len();
            let outputs: Vec<Expr> = if bare {
                // The aggregate's output: its keys, then its aggregates under their own names.
                b = b.aggregate(group_exprs, aggs)?;
                let schema = b.schema().clone();
                (keys.len()..keys.len() + g.aggs.len())
                    .map(|i| Expr::Column(Column::from(schema.qualified_field(i))))
                    .collect()
            } else {
                let aggs = aggs.into_iter().enumerate().map(|(i, e)| e.alias(format!("a{i}")));
                b = b.aggregate(group_exprs, aggs)?;
                (0..g.aggs.len()).map(|i| col(format!("a{i}"))).collect()
            };
            keys.into_iter().chain(outputs).collect()
        }
    };
    // The stage: every column cast to the type PostgreSQL expects.
    let schema = b.schema().clone();
    let stage = stage_sources
        .into_iter()
        .zip(&stage_types[..stage_types.len() - spec.post.len() - grouped_windows])
        .enumerate()
        .map(|(i, (e, t))| {
            let have = e.get_type(schema.as_ref()).ok();
            let want = t.arrow_type();
            let e = if have.as_ref() == Some(&want) { e } else { cast(e, want) };
            e.alias(stage_name(i))
        })
        .collect::<Vec<_>>();
    b = b.project(stage)?;
    if let Some(h) = &spec.having {
        b = b.filter(df_expr(h, &stage_name))?;
    }
    if grouped_windows > 0 {
        // With grouping, windows run over the groups (after HAVING) and extend the stage.
        let base = stage_types.len() - spec.post.len() - grouped_windows;
        let keep = (0..base).map(|i| col(stage_name(i))).collect();
        b = add_windows(b, &spec.windows, &stage_types, &stage_name, keep, &|i| stage_name(base + i))?;
    }
    if !spec.post.is_empty() {
        let base = stage_types.len() - spec.post.len();
        let exprs =
            (0..base).map(|i| col(stage_name(i))).chain(spec.post.iter().enumerate().map(|(i, (e, t))| {
                cast(df_expr(e, &stage_name), t.arrow_type()).alias(stage_name(base + i))
            }));
        b = b.project(exprs)?;
    }
    b = b.project(spec.output.iter().enumerate().map(|(i, &s)| col(stage_name(s)).alias(output_name(i))))?;
    if spec.distinct {
        b = b.distinct()?;
    }
    if !spec.sort.is_empty() {
        let output_types = spec.output_types();
        let keys = spec
            .sort
            .iter()
            .map(|k| {
                let ty = output_types.get(k.column).copied().unwrap_or(ColumnType::Boolean);
                sort_expr(k, col(output_name(k.column)), ty)
            })
            .collect::<Result<Vec<_>>>()?;
        b = b.sort(keys)?;
    }
    if spec.offset > 0 || spec.limit.is_some() {
        b = b.limit(spec.offset, spec.limit)?;
    }
    b.build()
}
