//! What the planner hook decided, in plain Rust: the PostgreSQL scan leaf and the operators
//! DataFusion runs above it. No PostgreSQL symbols: built by `crate::pg::query` from an analyzed
//! `Query`, turned into a DataFusion `LogicalPlan` by [`super::logical`], unit-tested here.
//!
//! The split of work (see docs/architecture.md, "Who evaluates what"):
//! - the scan leaves (PostgreSQL's plans of bound expressions) evaluate WHERE and row-level
//!   expressions: grouping keys, aggregate arguments and FILTER conditions, plain output
//!   expressions;
//! - DataFusion evaluates aggregation, HAVING (when translatable), DISTINCT, ORDER BY and
//!   LIMIT/OFFSET over columns;
//! - PostgreSQL's projection on the `PgFusionScan` node evaluates the final target list over
//!   DataFusion's output columns (for example `avg` as `sum / count`).

use crate::page::ColumnType;
pub use crate::value::numeric_stats::Statistic;

/// One column a scan leaf returns.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanColumn {
    /// The bound expression PostgreSQL computes for it: an index into the query's table of
    /// expressions, kept by the planner hook beside the spec (`crate::pg::leaf`). Expressions
    /// equal as PostgreSQL compares trees (`equal()`, their relation numbered 1) have one index.
    pub expr: u32,
    pub ty: ColumnType,
    /// Its index in the joined row (stage 0), which numbers the columns of all leaves.
    pub id: usize,
}

/// A PostgreSQL scan leaf: one relation read through the range-table entry PostgreSQL analyzed,
/// its rows filtered and its columns computed by bound expressions, planned by PostgreSQL's
/// planner when pg_fusion plans. The joined row (stage 0) is every leaf's columns, numbered by
/// [`ScanColumn::id`] across leaves.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanSpec {
    /// `schema.table`, quoted, for display only.
    pub relation: String,
    /// The relation's OID.
    pub relid: u32,
    /// The range-table entry the leaf reads through, as an index into the query's table of
    /// accesses: the same relation with the same rights (`checkAsUser`), row-level security
    /// quals and inheritance flag have one index. Only leaves of one access share a scan.
    pub access: u32,
    pub columns: Vec<ScanColumn>,
    /// The leaf returns a row when one of these conditions (expression indexes) is true: one,
    /// the AND of a leaf's WHERE terms; several, a shared scan's (their OR); none, every row.
    pub quals: Vec<u32>,
    /// A column or the condition calls a volatile function: never shared with another leaf.
    pub volatile: bool,
    /// The leaf reads the rows of a scan shared with other leaves (see [`super::share`]): no
    /// producer runs it.
    pub shared: Option<SharedRead>,
}

/// How a scan leaf reads the scan it shares with other leaves of the query (read once).
#[derive(Clone, Debug, PartialEq)]
pub struct SharedRead {
    /// The shared scan's leaf number (in [`PlanSpec::all_scans`] order).
    pub leaf: u32,
    /// The shared scan's column types.
    pub types: Vec<ColumnType>,
    /// Per column of this leaf, its position in the shared scan's row.
    pub positions: Vec<u32>,
    /// Position of the boolean column whose true rows are this leaf's (None: every row).
    pub filter: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFunc {
    /// `count(*)`
    CountStar,
    Count,
    /// Sum with PostgreSQL's result type; see [`AggSpec::output`].
    Sum,
    Min,
    Max,
    /// `bool_and` (`every`) / `bool_or`: NULLs ignored, NULL over no values.
    BoolAnd,
    BoolOr,
    /// `string_agg(text, delimiter ORDER BY ..)`: text, NULLs skipped, NULL over no values.
    StringAgg,
    /// `var_samp`/`var_pop`/`stddev_samp`/`stddev_pop` of numeric or integer values, exactly as
    /// PostgreSQL computes them: the result is PostgreSQL's text of the numeric (its display
    /// scale depends on the values), read back as numeric by the backend.
    Statistic(Statistic),
    /// `GROUPING(k1, ..)`: the bitmask of the keys (`AggSpec::keys`, first the highest bit) a
    /// row's grouping set leaves out, as int4.
    Grouping,
}

/// One aggregate DataFusion computes over scan columns.
#[derive(Clone, Debug, PartialEq)]
pub struct AggSpec {
    pub func: AggFunc,
    /// Scan column of the argument (none for `count(*)`).
    pub arg: Option<usize>,
    pub distinct: bool,
    /// Scan column (boolean) of the FILTER condition.
    pub filter: Option<usize>,
    /// `GROUPING`'s arguments: scan columns of group keys.
    pub keys: Vec<usize>,
    /// `ORDER BY` inside the aggregate (`string_agg(x, ',' ORDER BY y)`), over scan columns.
    pub order_by: Vec<SortKey>,
    /// `string_agg`'s delimiter.
    pub delimiter: Option<String>,
    /// The Arrow type of the result as PostgreSQL types it (count: Int64; sum(int2/int4): Int64;
    /// sum(int8): Decimal128(38,0); sum(numeric(p,s)): Decimal128(38,s); min/max: the input's).
    pub output: ColumnType,
}

/// Comparison operators DataFusion evaluates with PostgreSQL's meaning for the types allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

/// A literal value in a DataFusion-side expression. Equal only when it is the same value:
/// floats by their bits (`-0.0` and `0.0` differ; see [`super::share`]).
#[derive(Clone, Debug)]
pub enum Literal {
    Null(ColumnType),
    Bool(bool),
    Int64(i64),
    Float64(f64),
    Decimal128 {
        value: i128,
        precision: u8,
        scale: i8,
    },
    Utf8(String),
    /// Text of a database not encoded in UTF-8, as its bytes (`ColumnType::EncodedText`).
    Binary(Vec<u8>),
    Date32(i32),
    TimestampUs {
        value: i64,
        utc: bool,
    },
}

impl PartialEq for Literal {
    fn eq(&self, other: &Literal) -> bool {
        use Literal::*;
        match (self, other) {
            (Null(a), Null(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (Int64(a), Int64(b)) => a == b,
            (Float64(a), Float64(b)) => a.to_bits() == b.to_bits(),
            (
                Decimal128 { value: a, precision: p, scale: s },
                Decimal128 { value: b, precision: q, scale: t },
            ) => (a, p, s) == (b, q, t),
            (Utf8(a), Utf8(b)) => a == b,
            (Binary(a), Binary(b)) => a == b,
            (Date32(a), Date32(b)) => a == b,
            (TimestampUs { value: a, utc: u }, TimestampUs { value: b, utc: v }) => (a, u) == (b, v),
            _ => false,
        }
    }
}

/// Expressions DataFusion evaluates above the scans (join conditions, HAVING). Column indexes
/// refer to the columns of the stage the expression runs over (the joined row; or group keys,
/// then aggregates).
#[derive(Clone, Debug, PartialEq)]
pub enum DfExpr {
    Column(usize),
    Literal(Literal),
    Compare(CmpOp, Box<DfExpr>, Box<DfExpr>),
    And(Vec<DfExpr>),
    Or(Vec<DfExpr>),
    Not(Box<DfExpr>),
    IsNull(Box<DfExpr>),
    IsNotNull(Box<DfExpr>),
    /// Exact arithmetic on decimals whose result fits 38 digits by construction.
    Arith(ArithOp, Box<DfExpr>, Box<DfExpr>),
    /// A widening cast that keeps every value exactly (an integer to numeric).
    Cast(Box<DfExpr>, ColumnType),
    /// Integer arithmetic with PostgreSQL's overflow check for the result type (an error, 22003,
    /// never a wrapped value) and its division by zero (22012); see `plan::udf::IntArith`.
    IntArith(ArithOp, Box<DfExpr>, Box<DfExpr>, ColumnType),
    /// `CASE WHEN c1 THEN v1 ... ELSE e END` (no ELSE: NULL); a condition that is NULL is not
    /// taken, as in PostgreSQL.
    Case(Vec<(DfExpr, DfExpr)>, Option<Box<DfExpr>>),
    /// PostgreSQL's `numeric_div` (decimal by decimal or int64), its value held at the given
    /// fixed scale (see `plan::udf`): for comparisons, never for display.
    NumericDiv(Box<DfExpr>, Box<DfExpr>, i8),
}

impl DfExpr {
    /// Whether evaluating it can raise an error: arithmetic (integer overflow, division by zero,
    /// numeric past 38 digits) or a cast.
    pub fn can_fail(&self) -> bool {
        match self {
            DfExpr::IntArith(..) | DfExpr::Arith(..) | DfExpr::NumericDiv(..) | DfExpr::Cast(..) => true,
            DfExpr::Column(_) | DfExpr::Literal(_) => false,
            DfExpr::Compare(_, l, r) => l.can_fail() || r.can_fail(),
            DfExpr::And(v) | DfExpr::Or(v) => v.iter().any(DfExpr::can_fail),
            DfExpr::Not(x) | DfExpr::IsNull(x) | DfExpr::IsNotNull(x) => x.can_fail(),
            DfExpr::Case(branches, default) => {
                branches.iter().any(|(c, v)| c.can_fail() || v.can_fail())
                    || default.as_deref().is_some_and(DfExpr::can_fail)
            }
        }
    }

    /// The columns it reads, in order (repeats kept).
    pub fn columns(&self, out: &mut Vec<usize>) {
        match self {
            DfExpr::Column(c) => out.push(*c),
            DfExpr::Literal(_) => {}
            DfExpr::Compare(_, l, r)
            | DfExpr::Arith(_, l, r)
            | DfExpr::IntArith(_, l, r, _)
            | DfExpr::NumericDiv(l, r, _) => {
                l.columns(out);
                r.columns(out);
            }
            DfExpr::And(v) | DfExpr::Or(v) => v.iter().for_each(|x| x.columns(out)),
            DfExpr::Not(x) | DfExpr::IsNull(x) | DfExpr::IsNotNull(x) | DfExpr::Cast(x, _) => x.columns(out),
            DfExpr::Case(branches, default) => {
                for (c, v) in branches {
                    c.columns(out);
                    v.columns(out);
                }
                if let Some(d) = default {
                    d.columns(out);
                }
            }
        }
    }
}

/// An arithmetic operation. `Div` and `Mod` are integer operations only ([`DfExpr::IntArith`]:
/// PostgreSQL's truncating division and its remainder); decimal arithmetic ([`DfExpr::Arith`])
/// is `+ - *`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// A column of the joined row computed by DataFusion after the joins (an expression over
/// several relations), cast to `ty`.
#[derive(Clone, Debug, PartialEq)]
pub struct Computed {
    pub id: usize,
    pub expr: DfExpr,
    pub ty: ColumnType,
}

/// A window function DataFusion computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowFn {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    /// `ntile(n)` with a constant n.
    Ntile(u64),
    /// `lag(x, n)` / `lead(x, n)` with a constant n, NULL past the partition's edge.
    Lag(u64),
    Lead(u64),
    FirstValue,
    LastValue,
    /// `nth_value(x, n)` with a constant n.
    NthValue(u64),
    /// An aggregate over the frame: count(*), count, sum, min, max.
    Aggregate(AggFunc),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameBound {
    UnboundedPreceding,
    Preceding(u64),
    CurrentRow,
    Following(u64),
    UnboundedFollowing,
}

/// How a frame's offsets count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameUnits {
    /// Rows.
    Rows,
    /// Values of the ORDER BY key: peers for CURRENT ROW; an offset (one integer or numeric
    /// key) is in the key's unscaled units.
    Range,
    /// Peer groups (rows equal in the ORDER BY keys), as PostgreSQL's GROUPS.
    Groups,
}

/// An explicit frame (None in [`WindowSpec::frame`]: SQL's default, RANGE UNBOUNDED PRECEDING to
/// CURRENT ROW with ORDER BY, the whole partition without).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    pub units: FrameUnits,
    pub start: FrameBound,
    pub end: FrameBound,
}

/// One window function over the rows of the stage it runs on: the joined row without grouping
/// (its result is column `id` of the joined row), the group keys and aggregates with grouping
/// (its result is appended to the stage). Column indexes refer to that stage.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowSpec {
    pub func: WindowFn,
    pub arg: Option<usize>,
    /// lag/lead: the value beyond the partition's edge (of the argument's type); None: NULL.
    pub default: Option<Literal>,
    pub partition_by: Vec<usize>,
    pub order_by: Vec<SortKey>,
    pub frame: Option<Frame>,
    /// Without grouping: the column id of the result.
    pub id: usize,
    /// The result's type as PostgreSQL types it (row_number: Int64, ntile: Int32, ...).
    pub output: ColumnType,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Grouping {
    /// Scan columns grouped by.
    pub keys: Vec<usize>,
    pub aggs: Vec<AggSpec>,
    /// GROUPING SETS / ROLLUP / CUBE, expanded: each set as positions in `keys` (a key outside
    /// a row's set is NULL in that row). None: one set of all keys.
    pub sets: Option<Vec<Vec<usize>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortKey {
    /// Output column.
    pub column: usize,
    pub descending: bool,
    pub nulls_first: bool,
    /// The column is `char(n)`: ordered without its trailing blanks, as bpchar compares.
    pub blank_padded: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

/// A subquery in FROM (or a WITH query) that DataFusion computes as its own query block: an
/// aggregating or DISTINCT/LIMIT subquery PostgreSQL would not flatten either. Its output columns
/// are columns of the parent's joined row.
#[derive(Clone, Debug, PartialEq)]
pub struct Subquery {
    pub plan: PlanSpec,
    /// (output column of `plan`, column id in the parent's joined row) for each column the parent
    /// reads; at least one.
    pub columns: Vec<(usize, usize)>,
    /// Computed once for several references (see [`super::share`]): None, its own rows.
    pub shared: Option<SharedSubquery>,
}

/// A subquery of the query whose plan equals another's (a WITH query referenced twice, say):
/// DataFusion computes it once and each reference reads its rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedSubquery {
    /// The same for every reference of one computation, numbered from 0 in the order of the
    /// first references.
    pub id: u32,
    /// The first reference in [`PlanSpec::all_scans`] order: its plan is computed (its scan
    /// leaves are leaves of the query). The others keep `plan` for its output types only: their
    /// scans are no leaves and no producer runs them.
    pub first: bool,
}

impl Subquery {
    /// Its plan is computed at this reference: its own, or the first of a shared one.
    pub fn computed_here(&self) -> bool {
        self.shared.is_none_or(|s| s.first)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOpKind {
    Union,
    Intersect,
    Except,
}

/// UNION / INTERSECT / EXCEPT over subqueries (by position), left-deep as PostgreSQL parses them.
#[derive(Clone, Debug, PartialEq)]
pub enum SetTree {
    /// `subqueries[i]`, its columns renamed to ids 0.. of the joined row.
    Arm(usize),
    /// `all`: without removing duplicates (UNION ALL only).
    Op { kind: SetOpKind, all: bool, left: Box<SetTree>, right: Box<SetTree> },
}

/// How the leaves join when outer joins are involved.
#[derive(Clone, Debug, PartialEq)]
pub enum JoinTree {
    /// A leaf: `scans[i]`, or `subqueries[i - scans.len()]`.
    Leaf(usize),
    /// `on`: the join's conditions over the joined row's columns (DataFusion extracts the
    /// equalities as keys); None joins every pair.
    Join { kind: JoinKind, left: Box<JoinTree>, right: Box<JoinTree>, on: Option<DfExpr> },
}

/// The plan of one query block (the whole query, or a subquery in FROM).
///
/// Column ids (`c{id}`) and stage names are local to a block: a subquery's plan ends in a
/// projection that renames its output to the parent's ids, so names never meet across blocks.
/// Scan leaves are numbered across the whole query in [`PlanSpec::all_scans`] order.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanSpec {
    /// One leaf per base relation of this block.
    pub scans: Vec<ScanSpec>,
    /// Leaves computed as query blocks of their own; the block has at least one leaf in all.
    pub subqueries: Vec<Subquery>,
    /// A set operation over the subqueries instead of joins (no scans then).
    pub set_tree: Option<SetTree>,
    /// None: the leaves (scans, then subqueries) are inner-joined in `join_order` (cross joins
    /// under `join_filter`).
    pub join_tree: Option<JoinTree>,
    /// The order the leaves are joined in when `join_tree` is None: leaf numbers as in
    /// [`JoinTree::Leaf`], each joined to the ones before it (see [`super::join_order`]); None:
    /// as written (scans, then subqueries).
    pub join_order: Option<Vec<usize>>,
    /// Columns computed above the joins (ids after the scan columns').
    pub computed: Vec<Computed>,
    /// Conditions between leaves (join keys and residual conditions) above the joins, over
    /// stage-0 columns; DataFusion's optimizer turns the equalities into hash-join keys.
    pub join_filter: Option<DfExpr>,
    /// None: the output columns are the scan columns, in order, picked by `output`.
    pub grouping: Option<Grouping>,
    /// Window functions (see [`WindowSpec`]), computed after HAVING.
    pub windows: Vec<WindowSpec>,
    /// Columns computed over the stage (group keys then aggregates, or the joined row) and
    /// appended to it, cast to their type: a subquery's select-list expressions over aggregates.
    pub post: Vec<(DfExpr, ColumnType)>,
    pub having: Option<DfExpr>,
    /// Columns of the stage below (scan columns, or group keys then aggregates) that form the
    /// output, in order.
    pub output: Vec<usize>,
    /// DISTINCT over every output column.
    pub distinct: bool,
    pub sort: Vec<SortKey>,
    pub offset: usize,
    pub limit: Option<usize>,
    /// Scans several leaves of the query read (see [`super::share`]): the top block's only, after
    /// every other leaf in [`PlanSpec::all_scans`] order.
    pub shared: Vec<ScanSpec>,
}

impl PlanSpec {
    /// Every scan leaf of the query, this block's first, then each subquery's, depth first, then
    /// the shared scans: the order the producers run in and the leaf numbers of the DataFusion
    /// plan.
    pub fn all_scans(&self) -> Vec<&ScanSpec> {
        let mut out: Vec<&ScanSpec> = self.scans.iter().collect();
        for s in self.subqueries.iter().filter(|s| s.computed_here()) {
            out.extend(s.plan.all_scans());
        }
        out.extend(self.shared.iter());
        out
    }

    /// [`PlanSpec::all_scans`], mutable.
    pub fn all_scans_mut(&mut self) -> Vec<&mut ScanSpec> {
        let mut out: Vec<&mut ScanSpec> = self.scans.iter_mut().collect();
        for s in self.subqueries.iter_mut().filter(|s| s.computed_here()) {
            out.extend(s.plan.all_scans_mut());
        }
        out.extend(self.shared.iter_mut());
        out
    }

    /// The ids and types of the columns the leaves deliver (scans', then subqueries').
    pub fn leaf_columns(&self) -> Vec<(usize, ColumnType)> {
        let mut out: Vec<(usize, ColumnType)> =
            self.scans.iter().flat_map(|s| s.columns.iter().map(|c| (c.id, c.ty))).collect();
        for s in &self.subqueries {
            let types = s.plan.output_types();
            out.extend(
                s.columns.iter().map(|&(o, id)| (id, types.get(o).copied().unwrap_or(ColumnType::Boolean))),
            );
        }
        out
    }

    /// Types of the joined row, by column id.
    pub fn scan_types(&self) -> Vec<ColumnType> {
        let windows = self.windows.iter().filter(|_| self.grouping.is_none()).map(|w| (w.id, w.output));
        let all: Vec<(usize, ColumnType)> = self
            .leaf_columns()
            .into_iter()
            .chain(self.computed.iter().map(|c| (c.id, c.ty)))
            .chain(windows)
            .collect();
        let n = all.iter().map(|(id, _)| id + 1).max().unwrap_or(0);
        let mut types = vec![ColumnType::Boolean; n];
        for (id, ty) in all {
            types[id] = ty;
        }
        types
    }

    /// Types of the stage below the output projection.
    pub fn stage_types(&self) -> Vec<ColumnType> {
        let scan = self.scan_types();
        let stage: Vec<ColumnType> = match &self.grouping {
            None => scan,
            Some(g) => g
                .keys
                .iter()
                .map(|&k| scan[k])
                .chain(g.aggs.iter().map(|a| a.output))
                .chain(self.windows.iter().map(|w| w.output))
                .collect(),
        };
        stage.into_iter().chain(self.post.iter().map(|(_, t)| *t)).collect()
    }

    /// Types of the output columns, as the backend decodes them.
    pub fn output_types(&self) -> Vec<ColumnType> {
        let stage = self.stage_types();
        self.output.iter().map(|&i| stage[i]).collect()
    }
}
