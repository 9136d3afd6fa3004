//! Runtime filters in the worker: a hash join's build-side keys, collected as the build side
//! streams into the join, published in a filter slot of the segment for the producers of the
//! probe side's scan leaves (`crate::shm::filter` holds the slot rules and the key hashing).
//!
//! Rules:
//! - Where a filter may go is DataFusion's decision, not ours: a hash join offers its dynamic
//!   filter (its probe keys) to its probe side only where that is sound (the probe side of an
//!   inner, semi or anti join whose probe rows are not preserved: never the preserved side of an
//!   outer join, never below a limit), and DataFusion's filter pushdown carries it down to the
//!   leaves, remapping the key columns. A scan leaf ([`super::scan::PgScanExec`]) accepts it
//!   ([`accept`]) when every key is one of its columns (an integer one possibly widened) of a
//!   type the producer hashes. A leaf reading a shared scan never sees it (the shared scan's
//!   other readers need every row).
//! - [`wire`] then puts a [`RuntimeFilterBuildExec`] above the build side of each join whose
//!   filter a leaf accepted, matched by DataFusion's expression id. It passes every batch on
//!   unchanged and hashes the join's build keys (as the join evaluates them) into a Bloom filter
//!   (and the range of a single integer key). When every build partition has ended it takes a
//!   free filter slot of the segment, publishes the filter there, and hands the slot to each
//!   accepting leaf, whose reader sends it to its producers before their next credits.
//! - The filter only ever passes too much: a Bloom filter whose false positive rate would be
//!   above [`MAX_FALSE_POSITIVE_RATE`] is not published (it would cost the producers more than it
//!   saves). No free slot: the join runs without one (`runtime_filter_pool_exhausted_total`).
//! - A query's slots go back when the query's plan is dropped ([`QueryFilters`]), and every slot
//!   when the worker starts.

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Int16Type, Int32Type, Int64Type, Int8Type, SchemaRef,
    Time64MicrosecondType, TimeUnit, TimestampMicrosecondType, UInt16Type, UInt32Type, UInt8Type,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::expressions::{CastExpr, Column, DynamicFilterPhysicalExpr};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::joins::HashJoinExec;
use datafusion::physical_plan::metrics::{Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::{
    replace_children_if_necessary, DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties,
};
use futures::{Stream, StreamExt};
use tokio::sync::Notify;

use crate::page::ColumnType;
use crate::protocol::MAX_FILTER_COLUMNS;
use crate::shm::filter::combine;
use crate::shm::{Bloom, Key, Metric, Segment};

/// A Bloom filter passing more than this share of the keys it was not built from is not
/// published: testing it would cost the producers more than the rows it saves.
pub const MAX_FALSE_POSITIVE_RATE: f64 = 0.5;

/// A runtime filter as a leaf's producers get it: slot index, generation, key columns.
pub type FilterMsg = (u32, u32, Vec<u16>);

/// The filter slots one query took; dropped with the query's plan, which frees them.
pub struct QueryFilters {
    seg: Segment,
    taken: Mutex<Vec<(u32, u32)>>,
}

impl QueryFilters {
    pub fn new(seg: Segment) -> QueryFilters {
        QueryFilters { seg, taken: Mutex::new(Vec::new()) }
    }

    /// A free slot, taken for this query: (index, generation).
    fn take(&self) -> Option<(u32, u32)> {
        for i in 0..self.seg.layout().config.runtime_filter_count {
            if let Some(g) = self.seg.filter(i).and_then(|f| f.take()) {
                self.taken.lock().unwrap_or_else(|p| p.into_inner()).push((i, g));
                return Some((i, g));
            }
        }
        None
    }
}

impl Drop for QueryFilters {
    fn drop(&mut self) {
        for &(i, g) in self.taken.get_mut().unwrap_or_else(|p| p.into_inner()).iter() {
            if let Some(f) = self.seg.filter(i) {
                f.free(g);
            }
        }
    }
}

/// The filters published for one scan leaf, in order; each of the leaf's readers sends the
/// ones it has not sent yet to its producer.
#[derive(Default)]
pub struct LeafFilters {
    published: Mutex<Vec<FilterMsg>>,
    count: AtomicUsize,
}

impl LeafFilters {
    fn publish(&self, m: FilterMsg) {
        let mut list = self.published.lock().unwrap_or_else(|p| p.into_inner());
        list.push(m);
        self.count.store(list.len(), Ordering::Release);
    }

    /// Filters published so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// The filters after the first `sent`.
    pub fn since(&self, sent: usize) -> Vec<FilterMsg> {
        if self.count() <= sent {
            return Vec::new();
        }
        self.published
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(sent..)
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    }
}

/// A join's dynamic filter a scan leaf accepted: DataFusion's expression id, and the producer's
/// columns holding the keys, in the join's key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub id: u64,
    pub columns: Vec<u16>,
}

/// Integer Arrow types a key hashes alike in (their value as i64).
fn is_integer(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
    )
}

/// Whether a scan leaf takes `filter` (see the module rules): a hash join's dynamic filter whose
/// every key is a column of the leaf (`column` maps the leaf's schema index to the producer's
/// column), of a type in `types` the producer hashes, or an integer column widened by a cast.
pub fn accept(
    filter: &Arc<dyn PhysicalExpr>,
    column: impl Fn(usize) -> Option<usize>,
    types: &[ColumnType],
) -> Option<Accepted> {
    let dynamic = filter.downcast_ref::<DynamicFilterPhysicalExpr>()?;
    let id = dynamic.expression_id()?;
    let keys = dynamic.children();
    if keys.is_empty() || keys.len() > MAX_FILTER_COLUMNS {
        return None;
    }
    let mut columns = Vec::with_capacity(keys.len());
    for key in keys {
        let (col, widened) = if let Some(c) = key.downcast_ref::<Column>() {
            (c.index(), false)
        } else if let Some(cast) = key.downcast_ref::<CastExpr>() {
            if !is_integer(cast.cast_type()) {
                return None;
            }
            (cast.expr().downcast_ref::<Column>()?.index(), true)
        } else {
            return None;
        };
        let c = column(col)?;
        let ty = *types.get(c)?;
        let integer = matches!(ty, ColumnType::Int16 | ColumnType::Int32 | ColumnType::Int64);
        if !ty.is_filter_key() || (widened && !integer) {
            return None;
        }
        columns.push(u16::try_from(c).ok()?);
    }
    Some(Accepted { id, columns })
}

/// Where a published filter goes: one accepting leaf and its key columns.
#[derive(Clone)]
pub struct Target {
    pub leaf: Arc<LeafFilters>,
    pub columns: Vec<u16>,
}

/// Put a [`RuntimeFilterBuildExec`] above the build side of every hash join of `plan` whose
/// dynamic filter a scan leaf accepted (`targets`: the accepting leaves by DataFusion's
/// expression id; see the module rules).
pub fn wire(
    plan: Arc<dyn ExecutionPlan>,
    mut targets: HashMap<u64, Vec<Target>>,
    hashes: u32,
    filters: &Arc<QueryFilters>,
    activity: &Arc<Notify>,
) -> Result<Arc<dyn ExecutionPlan>> {
    if hashes == 0 || targets.is_empty() {
        return Ok(plan);
    }
    let seg = filters.seg;
    let wired = plan.transform_up(|node| {
        let Some(join) = node.downcast_ref::<HashJoinExec>() else { return Ok(Transformed::no(node)) };
        let found: Vec<Target> = node
            .dynamic_expressions_produced()
            .iter()
            .filter_map(|e| e.expression_id())
            .filter_map(|id| targets.remove(&id))
            .flatten()
            .collect();
        if found.is_empty() {
            return Ok(Transformed::no(node));
        }
        let keys = join.on().iter().map(|(build, _)| build.clone()).collect();
        let (left, right) = (join.left().clone(), join.right().clone());
        let build = Arc::new(RuntimeFilterBuildExec::new(
            left,
            keys,
            Arc::new(Publisher {
                seg,
                filters: filters.clone(),
                activity: activity.clone(),
                targets: found,
                hashes,
                bits: seg.layout().config.runtime_filter_bits,
                merged: Mutex::new(None),
                ended: AtomicUsize::new(0),
            }),
        ));
        Ok(Transformed::yes(replace_children_if_necessary(node, vec![build, right])?))
    })?;
    Ok(wired.data)
}

/// Collects one join's build keys from its build partitions and publishes the filter once the
/// last one ends.
struct Publisher {
    seg: Segment,
    filters: Arc<QueryFilters>,
    activity: Arc<Notify>,
    targets: Vec<Target>,
    hashes: u32,
    bits: u32,
    /// The keys of the partitions that ended so far; None inside once one could not be hashed.
    merged: Mutex<Option<Option<Collected>>>,
    ended: AtomicUsize,
}

/// The keys one build partition streamed.
#[derive(Clone)]
struct Collected {
    bloom: Bloom,
    /// The range of a single key hashed as an integer (`Key::Int`; None: not one, or no key).
    range: Option<(i64, i64)>,
}

impl Collected {
    fn merge(&mut self, other: &Collected) {
        self.bloom.union(&other.bloom);
        self.range = match (self.range, other.range) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (r, None) | (None, r) => r,
        };
    }
}

impl Publisher {
    /// A build partition ended with `keys` (None: its keys could not be hashed).
    fn partition_ended(&self, keys: Option<Collected>, partitions: usize, metrics: &BuildMetrics) {
        let all = {
            let mut merged = self.merged.lock().unwrap_or_else(|p| p.into_inner());
            *merged = match (merged.take(), keys) {
                (None, k) => Some(k),
                (Some(Some(mut a)), Some(b)) => {
                    a.merge(&b);
                    Some(Some(a))
                }
                (Some(_), _) => Some(None),
            };
            if self.ended.fetch_add(1, Ordering::AcqRel) + 1 < partitions {
                return;
            }
            merged.take().flatten()
        };
        let Some(keys) = all else { return };
        let bloom = (keys.bloom.false_positive_rate() <= MAX_FALSE_POSITIVE_RATE).then_some(&keys.bloom);
        // (An empty build side's filter rejects every probe row: no key can match.)
        let range = keys.range;
        if bloom.is_none() && range.is_none() {
            tracing::debug!(
                keys = keys.bloom.keys(),
                "runtime filter not published: too many keys for its bits"
            );
            return;
        }
        let Some((index, generation)) = self.filters.take() else {
            self.seg.metrics().inc(Metric::RuntimeFilterPoolExhaustedTotal);
            return;
        };
        let Some(slot) = self.seg.filter(index) else { return };
        if !slot.publish(generation, bloom, range) {
            return;
        }
        self.seg.metrics().inc(Metric::RuntimeFilterAllocatedTotal);
        metrics.published.add(1);
        for t in &self.targets {
            t.leaf.publish((index, generation, t.columns.clone()));
        }
        // The leaves' readers send it on their next poll.
        self.activity.notify_waiters();
    }
}

/// What the node shows in EXPLAIN ANALYZE.
#[derive(Clone)]
struct BuildMetrics {
    keys: Count,
    published: Count,
}

/// Passes its input (a hash join's build side) on unchanged while collecting the join's build
/// keys for a runtime filter (see the module rules).
pub struct RuntimeFilterBuildExec {
    input: Arc<dyn ExecutionPlan>,
    /// The join's build keys, evaluated on the input's batches.
    keys: Vec<Arc<dyn PhysicalExpr>>,
    publisher: Arc<Publisher>,
    metrics: ExecutionPlanMetricsSet,
}

impl RuntimeFilterBuildExec {
    fn new(
        input: Arc<dyn ExecutionPlan>,
        keys: Vec<Arc<dyn PhysicalExpr>>,
        publisher: Arc<Publisher>,
    ) -> Self {
        RuntimeFilterBuildExec { input, keys, publisher, metrics: ExecutionPlanMetricsSet::new() }
    }
}

impl fmt::Debug for RuntimeFilterBuildExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RuntimeFilterBuildExec")
    }
}

impl DisplayAs for RuntimeFilterBuildExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = self.keys.iter().map(|k| k.to_string()).collect();
        write!(
            f,
            "RuntimeFilterBuildExec: keys=[{}], leaves={}",
            keys.join(", "),
            self.publisher.targets.len()
        )
    }
}

impl ExecutionPlan for RuntimeFilterBuildExec {
    fn name(&self) -> &str {
        "RuntimeFilterBuildExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        for k in &self.keys {
            if f(k)? == TreeNodeRecursion::Stop {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    #[allow(deprecated)]
    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return Err(DataFusionError::Internal("RuntimeFilterBuildExec has one child".into()));
        }
        Ok(Arc::new(RuntimeFilterBuildExec::new(
            children.remove(0),
            self.keys.clone(),
            self.publisher.clone(),
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let p = &self.publisher;
        Ok(Box::pin(BuildStream {
            schema: input.schema(),
            input,
            keys: self.keys.clone(),
            publisher: p.clone(),
            partitions: self.input.properties().partitioning.partition_count(),
            collected: Some(Collected { bloom: Bloom::new(p.bits, p.hashes), range: None }),
            hashes: Vec::new(),
            batches: 0,
            ended: false,
            metrics: BuildMetrics {
                keys: MetricBuilder::new(&self.metrics).counter("build_keys", partition),
                published: MetricBuilder::new(&self.metrics).counter("filters_published", partition),
            },
        }))
    }
}

struct BuildStream {
    schema: SchemaRef,
    input: SendableRecordBatchStream,
    keys: Vec<Arc<dyn PhysicalExpr>>,
    publisher: Arc<Publisher>,
    partitions: usize,
    /// None once the keys cannot give a useful filter (a key type not hashed, too many keys).
    collected: Option<Collected>,
    hashes: Vec<u64>,
    batches: u64,
    ended: bool,
    metrics: BuildMetrics,
}

impl BuildStream {
    fn add(&mut self, batch: &RecordBatch) {
        let Some(c) = self.collected.as_mut() else { return };
        let arrays: Result<Vec<ArrayRef>> = self
            .keys
            .iter()
            .map(|k| k.evaluate(batch).and_then(|v| v.into_array(batch.num_rows())))
            .collect();
        let Ok(arrays) = arrays else {
            self.collected = None;
            return;
        };
        if hash_rows(&arrays, &mut self.hashes, c).is_err() {
            self.collected = None;
            return;
        }
        self.metrics.keys.add(batch.num_rows());
        self.batches += 1;
        // A filter whose bits are mostly set passes nearly everything: stop hashing into it.
        if self.batches % 16 == 0
            && c.range.is_none()
            && c.bloom.keys() > 1024
            && c.bloom.false_positive_rate() > MAX_FALSE_POSITIVE_RATE
        {
            self.collected = None;
        }
    }
}

/// Hash each row's key (all of `arrays`' values in the row, in key order) into `c`'s Bloom
/// filter, as `crate::shm::filter::Key` says both sides hash; a row with a NULL key is not a key
/// (it joins nothing). Err: a key type the producers do not hash.
fn hash_rows(arrays: &[ArrayRef], hashes: &mut Vec<u64>, c: &mut Collected) -> std::result::Result<(), ()> {
    let rows = arrays.first().map_or(0, |a| a.len());
    hashes.clear();
    hashes.resize(rows, 0);
    let mut null = vec![false; rows];
    let single = arrays.len() == 1;
    for a in arrays {
        let mut each = |row: usize, key: Option<Key<'_>>| match key {
            None => null[row] = true,
            Some(k) => {
                if let (true, Key::Int(v)) = (single, k) {
                    c.range = Some(c.range.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))));
                }
                hashes[row] = combine(hashes[row], k.hash());
            }
        };
        for_each_key(a.as_ref(), &mut each)?;
    }
    for (h, n) in hashes.iter().zip(&null) {
        if !n {
            c.bloom.insert(*h);
        }
    }
    Ok(())
}

/// Call `f` with each row's key of `a` (None: NULL). Err: a type the producers do not hash.
fn for_each_key(a: &dyn Array, f: &mut dyn FnMut(usize, Option<Key<'_>>)) -> std::result::Result<(), ()> {
    fn ints<T: datafusion::arrow::datatypes::ArrowPrimitiveType>(
        a: &dyn Array,
        f: &mut dyn FnMut(usize, Option<Key<'_>>),
        to: impl Fn(T::Native) -> i64,
    ) {
        let p = a.as_primitive::<T>();
        for (i, v) in p.iter().enumerate() {
            f(i, v.map(|v| Key::Int(to(v))));
        }
    }
    match a.data_type() {
        DataType::Int8 => ints::<Int8Type>(a, f, i64::from),
        DataType::Int16 => ints::<Int16Type>(a, f, i64::from),
        DataType::Int32 => ints::<Int32Type>(a, f, i64::from),
        DataType::Int64 => ints::<Int64Type>(a, f, |v| v),
        DataType::UInt8 => ints::<UInt8Type>(a, f, i64::from),
        DataType::UInt16 => ints::<UInt16Type>(a, f, i64::from),
        DataType::UInt32 => ints::<UInt32Type>(a, f, i64::from),
        DataType::Date32 => ints::<Date32Type>(a, f, i64::from),
        DataType::Time64(TimeUnit::Microsecond) => ints::<Time64MicrosecondType>(a, f, |v| v),
        DataType::Timestamp(TimeUnit::Microsecond, _) => ints::<TimestampMicrosecondType>(a, f, |v| v),
        DataType::Decimal128(_, _) => {
            for (i, v) in a.as_primitive::<Decimal128Type>().iter().enumerate() {
                f(i, v.map(Key::Wide));
            }
        }
        DataType::Utf8 => each_bytes(a.as_string::<i32>().iter().map(|v| v.map(str::as_bytes)), f),
        DataType::LargeUtf8 => each_bytes(a.as_string::<i64>().iter().map(|v| v.map(str::as_bytes)), f),
        DataType::Utf8View => each_bytes(a.as_string_view().iter().map(|v| v.map(str::as_bytes)), f),
        DataType::Binary => each_bytes(a.as_binary::<i32>().iter(), f),
        DataType::LargeBinary => each_bytes(a.as_binary::<i64>().iter(), f),
        DataType::BinaryView => each_bytes(a.as_binary_view().iter(), f),
        DataType::FixedSizeBinary(16) => each_bytes(a.as_fixed_size_binary().iter(), f),
        _ => return Err(()),
    }
    Ok(())
}

fn each_bytes<'a>(values: impl Iterator<Item = Option<&'a [u8]>>, f: &mut dyn FnMut(usize, Option<Key<'_>>)) {
    for (i, v) in values.enumerate() {
        f(i, v.map(Key::Bytes));
    }
}

impl Stream for BuildStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.input.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(Some(Ok(batch))) => {
                let batch = batch.clone();
                self.add(&batch);
            }
            Poll::Ready(Some(Err(_))) => self.collected = None,
            Poll::Ready(None) if !self.ended => {
                self.ended = true;
                let keys = self.collected.take();
                self.publisher.partition_ended(keys, self.partitions, &self.metrics);
            }
            _ => {}
        }
        polled
    }
}

impl RecordBatchStream for BuildStream {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}
