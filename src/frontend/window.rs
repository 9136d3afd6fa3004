//! Window functions, computed by DataFusion over the joined rows or over the groups: their
//! keys, arguments and frames.

use super::aggregate::AggContext;
use super::construct::{avg_of, index_var, make_var};
use super::context::WINDOW;
use super::literal::{const_literal, interval_const};
use super::types::{
    avg_sum_type, eq_safe, expr_type, func_name, is_blank_padded, is_builtin, is_null_const, op_name,
    order_safe, Oid,
};
use super::unsupported;
use crate::page::ColumnType;
use crate::pg::catalog;
use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{self as n, make_null_const, Kind, Node, SortGroupClause, WindowClause};
use crate::plan::spec::{AggFunc, Frame, FrameBound, FrameUnits, Literal, SortKey, WindowFn, WindowSpec};

impl AggContext<'_> {
    /// The stage column of a window function's argument or key: without grouping a column of
    /// one relation's scan; with grouping a group key or an aggregate.
    pub(super) fn window_column(&mut self, e: Node) -> PgResult<usize> {
        if self.plain {
            return self.b.column(e);
        }
        let m = self.mutate(e)?;
        index_var(m)
            .ok_or_else(|| unsupported("window function over an expression of aggregates or group keys"))
    }

    /// The flattened expression of the select-list entry a WINDOW clause's PARTITION BY or
    /// ORDER BY item names.
    pub(super) fn clause_expr(&self, sgc: SortGroupClause) -> PgResult<Node> {
        let tle = self.query.sort_group_tle(sgc)?;
        let i = self
            .tles
            .iter()
            .position(|&t| t == tle)
            .ok_or_else(|| PgError::internal("window clause entry"))?;
        Ok(self.tle_exprs[i])
    }

    /// A window function (DataFusion's, over the stage); the Var standing for its result.
    pub(super) fn window_func(&mut self, node: Node) -> PgResult<Node> {
        let Kind::WindowFunc(w) = node.kind() else { return Err(PgError::internal("not a window function")) };
        let name = func_name(w.winfnoid())?;
        if !is_builtin(w.winfnoid()) {
            return Err(unsupported(format!("window function {name}")));
        }
        if w.aggfilter().is_some() {
            return Err(unsupported("FILTER in a window function"));
        }
        let wc = self
            .query
            .window_clause()
            .into_iter()
            .find(|c| c.winref() == w.winref())
            .ok_or_else(|| PgError::internal("window clause"))?;
        let mut partition_by = Vec::new();
        for sgc in wc.partition_clause() {
            let e = self.clause_expr(sgc)?;
            let c = self.window_column(e)?;
            let (_, _, coll) = expr_type(e)?;
            if !eq_safe(self.stage_type(c), coll)? {
                return Err(unsupported(
                    "PARTITION BY on this type (float, interval, nondeterministic collation)",
                ));
            }
            partition_by.push(c);
        }
        let mut order_by = Vec::new();
        for sgc in wc.order_clause() {
            let e = self.clause_expr(sgc)?;
            let c = self.window_column(e)?;
            let (sortop, nulls_first) = (sgc.sortop(), sgc.nulls_first());
            let op = op_name(sortop)?;
            let (typid, _, coll) = expr_type(e)?;
            if !is_builtin(sortop) || !(op == "<" || op == ">") || !order_safe(self.stage_type(c), coll)? {
                return Err(unsupported(
                    "window ORDER BY on this type, collation or operator (text sorts only under the C collation)",
                ));
            }
            order_by.push(SortKey {
                column: c,
                descending: op == ">",
                nulls_first,
                blank_padded: is_blank_padded(typid)?,
            });
        }
        // RANGE offsets are values of the (single) ORDER BY key.
        let range_key = match order_by.as_slice() {
            [k] => Some(self.stage_type(k.column)),
            _ => None,
        };
        let frame = frame_of(wc, range_key)?;
        let args = w.args();
        let refuse = || unsupported(format!("window function {name}"));
        use ColumnType as T;
        let mut default = None;
        let (func, arg, output) = match (name.as_str(), args.as_slice(), w.winstar()) {
            ("row_number", [], _) => (WindowFn::RowNumber, None, T::Int64),
            ("rank", [], _) => (WindowFn::Rank, None, T::Int64),
            ("dense_rank", [], _) => (WindowFn::DenseRank, None, T::Int64),
            ("percent_rank", [], _) => (WindowFn::PercentRank, None, T::Float64),
            ("cume_dist", [], _) => (WindowFn::CumeDist, None, T::Float64),
            ("ntile", [n], _) => match const_literal(*n)? {
                Some((Literal::Int64(n), _)) if n > 0 => (WindowFn::Ntile(n as u64), None, T::Int32),
                _ => return Err(unsupported("ntile() of anything but a positive constant")),
            },
            ("lag" | "lead", [a, rest @ ..], false) if rest.len() <= 2 => {
                // lag(x [, n [, default]]): a constant n >= 0; no default, NULL, or a constant
                // that DataFusion shows as PostgreSQL does (PostgreSQL gave x and the default one
                // type: integers, booleans, dates, text; not numeric, whose default keeps its own
                // display scale).
                let n = match rest.first() {
                    None => 1,
                    Some(&o) => match const_literal(o)? {
                        Some((Literal::Int64(n), _)) if n >= 0 => n as u64,
                        _ => {
                            return Err(unsupported(format!(
                                "{name}() with an offset that is not a constant >= 0"
                            )))
                        }
                    },
                };
                let c = self.window_column(*a)?;
                if let Some(&d) = rest.get(1).filter(|&&d| !is_null_const(d)) {
                    let same_type = expr_type(d)?.0 == expr_type(*a)?.0;
                    default = match (self.stage_type(c), const_literal(d)?) {
                        (T::Int16 | T::Int32 | T::Int64, Some((l @ Literal::Int64(_), _)))
                        | (T::Boolean, Some((l @ Literal::Bool(_), _)))
                        | (T::Date32, Some((l @ Literal::Date32(_), _)))
                        | (T::Utf8View, Some((l @ Literal::Utf8(_), _)))
                        | (T::EncodedText, Some((l @ Literal::Binary(_), _)))
                            if same_type =>
                        {
                            Some(l)
                        }
                        _ => {
                            return Err(unsupported(format!(
                                "{name}() with a default value of this type (integers, booleans, dates and text only)"
                            )))
                        }
                    };
                }
                let func = if name == "lag" { WindowFn::Lag(n) } else { WindowFn::Lead(n) };
                (func, Some(c), self.stage_type(c))
            }
            ("first_value" | "last_value", [a], false) => {
                let c = self.window_column(*a)?;
                let func = if name == "first_value" { WindowFn::FirstValue } else { WindowFn::LastValue };
                (func, Some(c), self.stage_type(c))
            }
            ("nth_value", [a, n], false) => match const_literal(*n)? {
                Some((Literal::Int64(n), _)) if n > 0 => {
                    let c = self.window_column(*a)?;
                    (WindowFn::NthValue(n as u64), Some(c), self.stage_type(c))
                }
                _ => return Err(unsupported("nth_value() of anything but a positive constant")),
            },
            ("avg", [a], false) => return self.window_avg(*a, partition_by, order_by, frame),
            ("count", [], true) => (WindowFn::Aggregate(AggFunc::CountStar), None, T::Int64),
            ("count", [a], false) => {
                (WindowFn::Aggregate(AggFunc::Count), Some(self.window_column(*a)?), T::Int64)
            }
            ("sum" | "min" | "max", [a], false) => {
                let c = self.window_column(*a)?;
                let t = self.stage_type(c);
                let (typid, _, coll) = expr_type(*a)?;
                if typid == catalog::BPCHAROID {
                    return Err(unsupported("window function min/max of char(n)"));
                }
                let output = match (name.as_str(), t) {
                    ("sum", T::Int16 | T::Int32) => T::Int64,
                    ("sum", T::Int64) => T::Decimal128 { precision: 38, scale: 0 },
                    ("sum", T::Decimal128 { scale, .. }) => T::Decimal128 { precision: 38, scale },
                    ("sum", _) => return Err(refuse()),
                    (_, t)
                        if order_safe(t, coll)?
                            && !matches!(t, T::Boolean | T::BinaryView | T::FixedSizeBinary16) =>
                    {
                        t
                    }
                    _ => return Err(refuse()),
                };
                let func = match name.as_str() {
                    "sum" => AggFunc::Sum,
                    "min" => AggFunc::Min,
                    _ => AggFunc::Max,
                };
                // Float min/max follow PostgreSQL's order in an aggregate that cannot take a
                // value back out: frames that start at the partition's start only.
                let sliding = frame.is_some_and(|f| f.start != FrameBound::UnboundedPreceding);
                if func != AggFunc::Sum && matches!(t, T::Float32 | T::Float64) && sliding {
                    return Err(unsupported(
                        "min/max of a float over a frame that does not start at the partition's start",
                    ));
                }
                (WindowFn::Aggregate(func), Some(c), output)
            }
            _ => return Err(refuse()),
        };
        let (typid, typmod, coll) = expr_type(node)?;
        let spec = WindowSpec { func, arg, default, partition_by, order_by, frame, id: 0, output };
        self.add_window(spec, node, typid, typmod, coll)
    }

    /// Register a window function; the Var standing for its result (`node` describes it).
    pub(super) fn add_window(
        &mut self,
        spec: WindowSpec,
        node: Node,
        typid: Oid,
        typmod: i32,
        coll: Oid,
    ) -> PgResult<Node> {
        if self.plain {
            self.b.columns.push((node, spec.output, WINDOW));
            let id = self.b.columns.len() - 1;
            self.b.windows.push(WindowSpec { id, ..spec });
            let pos = self.b.output_pos(id);
            return make_var(pos + 1, typid, typmod, coll);
        }
        self.windows.push(spec);
        let var = make_var(0, typid, typmod, coll)?;
        self.window_vars.push(var.as_var().ok_or_else(|| PgError::internal("a new Var"))?);
        Ok(var)
    }

    /// `avg(x) OVER (...)`: DataFusion's sum and count over the window, PostgreSQL's division on
    /// the node (as for the aggregate).
    pub(super) fn window_avg(
        &mut self,
        a: Node,
        partition_by: Vec<usize>,
        order_by: Vec<SortKey>,
        frame: Option<Frame>,
    ) -> PgResult<Node> {
        use ColumnType as T;
        let c = self.window_column(a)?;
        let t = self.stage_type(c);
        let (sum_ty, sum_pg) =
            avg_sum_type(t).ok_or_else(|| unsupported(format!("window function avg({t:?})")))?;
        let window = |func, output| WindowSpec {
            func,
            arg: Some(c),
            default: None,
            partition_by: partition_by.clone(),
            order_by: order_by.clone(),
            frame,
            id: 0,
            output,
        };
        let null = |t| make_null_const(t, -1, 0);
        let sum =
            self.add_window(window(WindowFn::Aggregate(AggFunc::Sum), sum_ty), null(sum_pg)?, sum_pg, -1, 0)?;
        let count = self.add_window(
            window(WindowFn::Aggregate(AggFunc::Count), T::Int64),
            null(catalog::INT8OID)?,
            catalog::INT8OID,
            -1,
            0,
        )?;
        avg_of(sum, count, sum_pg)
    }

    /// The type of stage column `c` (see [`Self::window_column`]).
    pub(super) fn stage_type(&self, c: usize) -> ColumnType {
        if self.plain {
            return self.b.columns[c].1;
        }
        let nkeys = self.key_exprs.len();
        if c < nkeys {
            self.b.columns[self.key_cols[c]].1
        } else {
            self.aggs.get(c - nkeys).map_or(ColumnType::Boolean, |a| a.output)
        }
    }
}

/// A WINDOW clause's frame: None for the default; ROWS and GROUPS with constant offsets, RANGE
/// with constant offsets over one integer, numeric, date or timestamp ORDER BY key
/// (`range_key`). Peer groups are
/// rows equal in the ORDER BY keys in both systems: DataFusion compares the keys the sort
/// compares (C-collation text by bytes, floats with NaN and -0 mapped as PostgreSQL orders them,
/// see `logical::pg_order_key`). An integer RANGE bound past the key type's range reaches the
/// partition's edge in both (PostgreSQL's in_range functions, DataFusion's checked bound
/// arithmetic); a date or timestamp key at infinity or whose bound leaves the calendar is
/// refused at run time (`plan::udf::RangeKey`).
pub(super) fn frame_of(wc: WindowClause, range_key: Option<ColumnType>) -> PgResult<Option<Frame>> {
    let o = wc.frame_options() as u32;
    if o & n::FRAMEOPTION_NONDEFAULT == 0 {
        return Ok(None);
    }
    let refuse = || {
        unsupported(
            "window frame (EXCLUDE, or RANGE with an offset over a key other than one integer, numeric, date or timestamp, or an interval offset with months, or days over timestamptz)",
        )
    };
    if o & (n::FRAMEOPTION_EXCLUDE_CURRENT_ROW | n::FRAMEOPTION_EXCLUDE_GROUP | n::FRAMEOPTION_EXCLUDE_TIES)
        != 0
    {
        return Err(refuse());
    }
    let units = if o & n::FRAMEOPTION_ROWS != 0 {
        FrameUnits::Rows
    } else if o & n::FRAMEOPTION_GROUPS != 0 {
        FrameUnits::Groups
    } else {
        FrameUnits::Range
    };
    // ROWS and GROUPS: a count; RANGE: the offset in the key's unscaled units (its scale for
    // numeric), within the key type's range.
    let offset = |e: Option<Node>| -> PgResult<u64> {
        // The offset is coerced to the bound's type (`int8(2)`): folded first.
        let e = e.ok_or_else(refuse)?.eval_const_expressions()?;
        let lit = const_literal(e)?.map(|(l, _)| l);
        let n: Option<u64> = match (units, range_key, lit) {
            (FrameUnits::Rows | FrameUnits::Groups, _, Some(Literal::Int64(n))) => u64::try_from(n).ok(),
            (FrameUnits::Range, Some(t), Some(Literal::Int64(n))) => {
                let max = match t {
                    ColumnType::Int16 => i16::MAX as i64,
                    ColumnType::Int32 => i32::MAX as i64,
                    ColumnType::Int64 => i64::MAX,
                    _ => -1,
                };
                (0..=max).contains(&n).then_some(n as u64)
            }
            (
                FrameUnits::Range,
                Some(ColumnType::Decimal128 { scale, .. }),
                Some(Literal::Decimal128 { value, scale: os, .. }),
            ) if os >= 0 && os <= scale && value >= 0 => 10i128
                .checked_pow((scale - os) as u32)
                .and_then(|p| value.checked_mul(p))
                .and_then(|v| u64::try_from(v).ok()),
            // An interval over a date or timestamp key: whole days over a date (in days), days
            // and time over a timestamp (in microseconds: a day is 24 hours there), time only
            // over a timestamptz (a day there depends on the time zone). Never months.
            (FrameUnits::Range, Some(t @ (ColumnType::Date32 | ColumnType::TimestampUs { .. })), _) => {
                interval_const(e)?.and_then(|(months, days, micros)| {
                    if months != 0 || days < 0 || micros < 0 {
                        return None;
                    }
                    match t {
                        ColumnType::Date32 if micros == 0 => u64::try_from(days).ok(),
                        ColumnType::TimestampUs { utc: false } => (days as i64)
                            .checked_mul(86_400_000_000)
                            .and_then(|d| d.checked_add(micros))
                            .and_then(|v| u64::try_from(v).ok()),
                        ColumnType::TimestampUs { utc: true } if days == 0 => u64::try_from(micros).ok(),
                        _ => None,
                    }
                })
            }
            _ => None,
        };
        n.ok_or_else(refuse)
    };
    // [unbounded, current row, offset preceding, offset following] flags of one bound.
    let bound = |flags: [u32; 4], unbounded: FrameBound, e: Option<Node>| -> PgResult<FrameBound> {
        let [unbounded_flag, current, preceding, following] = flags;
        Ok(if o & unbounded_flag != 0 {
            unbounded
        } else if o & current != 0 {
            FrameBound::CurrentRow
        } else if o & preceding != 0 {
            FrameBound::Preceding(offset(e)?)
        } else if o & following != 0 {
            FrameBound::Following(offset(e)?)
        } else {
            return Err(refuse());
        })
    };
    let start = bound(
        [
            n::FRAMEOPTION_START_UNBOUNDED_PRECEDING,
            n::FRAMEOPTION_START_CURRENT_ROW,
            n::FRAMEOPTION_START_OFFSET_PRECEDING,
            n::FRAMEOPTION_START_OFFSET_FOLLOWING,
        ],
        FrameBound::UnboundedPreceding,
        wc.start_offset(),
    )?;
    let end = bound(
        [
            n::FRAMEOPTION_END_UNBOUNDED_FOLLOWING,
            n::FRAMEOPTION_END_CURRENT_ROW,
            n::FRAMEOPTION_END_OFFSET_PRECEDING,
            n::FRAMEOPTION_END_OFFSET_FOLLOWING,
        ],
        FrameBound::UnboundedFollowing,
        wc.end_offset(),
    )?;
    // PostgreSQL's frame from a later offset to an earlier one is empty; DataFusion rejects it.
    let empty = match (start, end) {
        (FrameBound::Following(a), FrameBound::Following(b)) => a > b,
        (FrameBound::Preceding(a), FrameBound::Preceding(b)) => a < b,
        _ => false,
    };
    if empty {
        return Err(unsupported("window frame whose start comes after its end (empty for every row)"));
    }
    Ok(Some(Frame { units, start, end }))
}
