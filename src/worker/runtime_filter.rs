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
//! - A join has decided once its last build partition ended (published or not), one failed, or
//!   one was dropped early ([`LeafFilters::pending`]). Until each join whose filter a leaf
//!   accepted has decided, the leaf's readers hold back their producers' first credits (for at
//!   most `super::scan::FILTER_WAIT_LIMIT`): the probe side of a hash join is read after its
//!   build side anyway, but a subtree DataFusion starts early (a `CoalescePartitionsExec`
//!   spawns its inputs when executed) would otherwise read the leaf unfiltered. Nothing a
//!   build side needs waits for a leaf on its probe side, so holding it back never deadlocks;
//!   the limit is a safety net. (A `CollectLeft` join keeps its build future in the plan node:
//!   when the join's output is dropped before its build side finished, as a query ending
//!   early does, the build lives until the plan is dropped, and a leaf started early waits out
//!   the limit: work at the end of a query that is over anyway.)
//! - The filter only ever passes too much: a Bloom filter whose false positive rate grows above
//!   [`MAX_FALSE_POSITIVE_RATE`] (checked past 1024 keys) is given up (it would cost the
//!   producers more than it saves), and so is one whose bits would take more than a sixteenth of
//!   the query's memory; the key range may still go. No free slot: the join runs without one
//!   (`runtime_filter_pool_exhausted_total`). The bits are reserved in the query's memory pool
//!   while they are built and freed once published.
//! - A query's slots go back when the query's plan is dropped ([`QueryFilters`]), and every slot
//!   when the worker starts.

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Int16Type, Int32Type, Int64Type, Int8Type, SchemaRef,
    Time64MicrosecondType, TimeUnit, TimestampMicrosecondType, UInt16Type, UInt32Type, UInt8Type,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, JoinType, NullEquality, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation};
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

use crate::index_probe::{self, Batch, ExactKeys, LeafProbe};
use crate::page::ColumnType;
use crate::protocol::{ProbeColumn, MAX_FILTER_COLUMNS};
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
    matched: AtomicUsize,
    resolved: AtomicUsize,
    /// Whether the leaf is read through an index instead (`crate::index_probe`).
    pub probe: LeafProbe,
}

impl LeafFilters {
    fn publish(&self, m: FilterMsg) {
        let mut list = self.published.lock().unwrap_or_else(|p| p.into_inner());
        list.push(m);
        self.count.store(list.len(), Ordering::Release);
    }

    /// Joins that may publish a filter for this leaf (set when the plan is wired; a join whose
    /// keys turn out too many for its bits, or that finds no free slot, publishes none).
    pub fn matched(&self) -> usize {
        self.matched.load(Ordering::Relaxed)
    }

    /// Whether a join that may publish a filter for this leaf has not decided yet: its build
    /// side is still running (it decides when its last build partition ends, fails or is
    /// dropped).
    pub fn pending(&self) -> bool {
        self.resolved.load(Ordering::Acquire) < self.matched()
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

/// The width of a signed integer Arrow type (whose values hash alike: as i64).
fn integer_width(t: &DataType) -> Option<u8> {
    match t {
        DataType::Int16 => Some(2),
        DataType::Int32 => Some(4),
        DataType::Int64 => Some(8),
        _ => None,
    }
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
        // A cast only widens a signed integer (a narrowing one could fail, or turn a value NULL,
        // in the join, where the producer would drop the row first).
        let (col, widened_to) = if let Some(c) = key.downcast_ref::<Column>() {
            (c.index(), None)
        } else if let Some(cast) = key.downcast_ref::<CastExpr>() {
            (cast.expr().downcast_ref::<Column>()?.index(), Some(integer_width(cast.cast_type())?))
        } else {
            return None;
        };
        let c = column(col)?;
        let ty = *types.get(c)?;
        let width = match ty {
            ColumnType::Int16 => Some(2),
            ColumnType::Int32 => Some(4),
            ColumnType::Int64 => Some(8),
            _ => None,
        };
        let widens = match (widened_to, width) {
            (None, _) => true,
            (Some(to), Some(from)) => to >= from,
            (Some(_), None) => false,
        };
        if !ty.is_filter_key() || !widens {
            return None;
        }
        columns.push(u16::try_from(c).ok()?);
    }
    Some(Accepted { id, columns })
}

/// Where a published filter goes: one accepting leaf and its key columns; and, when its key is
/// one column with an index probe plan, that column and its distinct values
/// (`crate::index_probe`).
#[derive(Clone)]
pub struct Target {
    pub leaf: Arc<LeafFilters>,
    pub columns: Vec<u16>,
    pub probe: Option<ProbeColumn>,
}

/// Put a [`RuntimeFilterBuildExec`] above the build side of every hash join of `plan` whose
/// dynamic filter a scan leaf accepted (`targets`: the accepting leaves by DataFusion's
/// expression id; see the module rules).
/// Index probes go only where the join never matches a NULL key (module rules of
/// `crate::index_probe`).
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
        let mut found: Vec<Target> = node
            .dynamic_expressions_produced()
            .iter()
            .filter_map(|e| e.expression_id())
            .filter_map(|id| targets.remove(&id))
            .flatten()
            .collect();
        if found.is_empty() {
            return Ok(Transformed::no(node));
        }
        for t in &found {
            t.leaf.matched.fetch_add(1, Ordering::Relaxed);
        }
        let probes = matches!(join.join_type(), JoinType::Inner | JoinType::LeftSemi | JoinType::RightSemi)
            && join.null_equality() == NullEquality::NullEqualsNothing
            && join.on().len() == 1;
        if !probes {
            found.iter_mut().for_each(|t| t.probe = None);
        }
        let config = seg.layout().config;
        let exact_cap = if found.iter().any(|t| t.probe.is_some()) {
            index_probe::max_keys(
                (config.runtime_filter_bits / 64) as usize,
                config.runtime_filter_count as usize,
            )
        } else {
            0
        };
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
                exact_cap,
                keys: Mutex::default(),
                ended: AtomicUsize::new(0),
                published: AtomicBool::new(false),
                resolved: AtomicBool::new(false),
            }),
        ));
        Ok(Transformed::yes(replace_children_if_necessary(node, vec![build, right])?))
    })?;
    Ok(wired.data)
}

/// Collects one join's build keys from all its build partitions into one filter and publishes
/// it once the last partition ends. Once per plan: the worker runs each plan once (a scan leaf's
/// partition is read once, `super::scan`), so nothing here is reset for a second run.
struct Publisher {
    seg: Segment,
    filters: Arc<QueryFilters>,
    activity: Arc<Notify>,
    targets: Vec<Target>,
    hashes: u32,
    bits: u32,
    /// The most distinct keys collected exactly for an index probe; 0: none collected.
    exact_cap: usize,
    keys: Mutex<Collected>,
    ended: AtomicUsize,
    published: AtomicBool,
    /// The targets were told this join has decided (published or not): once.
    resolved: AtomicBool,
}

/// The keys the build partitions streamed so far.
#[derive(Default)]
struct Collected {
    /// The Bloom filter (made with the first batch, its memory reserved in the query's pool);
    /// None before, or once it passes too much to be worth testing.
    bloom: Option<Bloom>,
    reservation: Option<MemoryReservation>,
    /// The range of a single key hashed as an integer (`Key::Int`).
    range: Option<(i64, i64)>,
    /// No filter: a key could not be hashed, or a partition failed.
    failed: bool,
    /// The bits were given up (too many keys, or no memory for them): the range alone may go.
    no_bloom: bool,
    /// The keys themselves, for an index probe (`crate::index_probe`), and their memory.
    exact: ExactKeys,
    exact_reservation: Option<MemoryReservation>,
}

impl Publisher {
    /// Add one batch's key hashes (`valid` rows only), key range and (single integer key) its
    /// keys.
    fn add(
        &self,
        hashes: &[u64],
        valid: &[bool],
        range: Option<(i64, i64)>,
        ints: &[i64],
        pool: &Arc<dyn MemoryPool>,
    ) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.failed {
            return;
        }
        if let Some((lo, hi)) = range {
            keys.range = Some(keys.range.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
        }
        if self.exact_cap > 0 {
            let keys = &mut *keys;
            // Every key an integer (else the keys are not all known).
            if ints.len() != valid.iter().filter(|v| **v).count() {
                keys.exact.give_up();
            } else if keys.exact.add(ints, self.exact_cap) {
                let reservation = keys
                    .exact_reservation
                    .get_or_insert_with(|| MemoryConsumer::new("RuntimeFilterBuildExec keys").register(pool));
                let held = keys.exact.bytes();
                if held > reservation.size() && reservation.try_grow(held - reservation.size()).is_err() {
                    keys.exact.give_up();
                }
            }
            if keys.exact.bytes() == 0 {
                keys.exact_reservation = None;
            }
        }
        if keys.no_bloom {
            return;
        }
        if keys.bloom.is_none() {
            // Its bits may not take more than a sixteenth of the query's memory: the join it
            // serves needs the rest (and the bits cannot spill).
            let bytes = Bloom::bytes(self.bits);
            let fits = match pool.memory_limit() {
                MemoryLimit::Finite(limit) => bytes <= limit / 16,
                MemoryLimit::Infinite | MemoryLimit::Unknown => true,
            };
            let reservation = MemoryConsumer::new("RuntimeFilterBuildExec").register(pool);
            if !fits || reservation.try_grow(bytes).is_err() {
                keys.no_bloom = true;
                return;
            }
            keys.reservation = Some(reservation);
            keys.bloom = Some(Bloom::new(self.bits, self.hashes));
        }
        let Some(bloom) = keys.bloom.as_mut() else { return };
        for (h, _) in hashes.iter().zip(valid).filter(|(_, v)| **v) {
            bloom.insert(*h);
        }
        // A filter whose bits are mostly set passes nearly everything: stop hashing into it.
        if bloom.keys() > 1024 && bloom.false_positive_rate() > MAX_FALSE_POSITIVE_RATE {
            keys.bloom = None;
            keys.reservation = None;
            keys.no_bloom = true;
        }
    }

    fn fail(&self) {
        {
            let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            keys.failed = true;
            keys.bloom = None;
            keys.reservation = None;
            keys.exact.give_up();
            keys.exact_reservation = None;
        }
        self.resolve();
    }

    /// Tell the targets this join has decided: no filter comes from it beyond what it published.
    /// Their readers give their producers the first credits once every join has.
    fn resolve(&self) {
        if self.resolved.swap(true, Ordering::AcqRel) {
            return;
        }
        for t in &self.targets {
            t.leaf.resolved.fetch_add(1, Ordering::AcqRel);
        }
        self.activity.notify_waiters();
    }

    /// A build partition ended; the last one publishes.
    fn partition_ended(&self, partitions: usize, metrics: &BuildMetrics) {
        if self.ended.fetch_add(1, Ordering::AcqRel) + 1 != partitions
            || self.published.swap(true, Ordering::AcqRel)
        {
            return;
        }
        {
            let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            self.publish(&keys, metrics);
            // The bits are in the segment now (or were not wanted): their memory goes back.
            keys.bloom = None;
            keys.reservation = None;
            self.probe(&mut keys, metrics);
        }
        self.resolve();
    }

    /// Publish the collected keys (see the module rules), if they make a filter.
    fn publish(&self, keys: &Collected, metrics: &BuildMetrics) {
        if keys.failed {
            return;
        }
        // No key at all: an empty Bloom filter rejects every probe row (no key can match).
        let empty = Bloom::new(64, self.hashes);
        let bloom = match (&keys.bloom, keys.no_bloom) {
            (Some(b), _) => Some(b),
            (None, false) => Some(&empty),
            (None, true) => None,
        };
        if bloom.is_none() && keys.range.is_none() {
            tracing::debug!("runtime filter not published: too many keys for its bits");
            return;
        }
        let Some((index, generation)) = self.filters.take() else {
            self.seg.metrics().inc(Metric::RuntimeFilterPoolExhaustedTotal);
            return;
        };
        let Some(slot) = self.seg.filter(index) else { return };
        if !slot.publish(generation, bloom, keys.range) {
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

impl Publisher {
    /// Offer the targets with a probe plan an index probe by the build keys, where they are few
    /// enough (`crate::index_probe`).
    fn probe(&self, keys: &mut Collected, metrics: &BuildMetrics) {
        if self.exact_cap == 0 || keys.failed {
            return;
        }
        let exact = keys.exact.finish(self.exact_cap);
        keys.exact_reservation = None;
        let Some(exact) = exact else { return };
        for t in &self.targets {
            let Some(p) = t.probe.filter(|p| t.columns == [p.column]) else { continue };
            if !index_probe::worth_probing(exact.len(), p.distinct, p.rows, p.correlation) {
                continue;
            }
            let Some(batches) = self.key_slots(&exact) else {
                tracing::debug!("index probe not taken: no free filter slots for its keys");
                continue;
            };
            if t.leaf.probe.offer(p.column, batches.clone()) {
                metrics.probed.add(exact.len());
            } else {
                self.free_slots(&batches);
            }
        }
    }

    /// `keys` published in free filter slots, one batch per slot, all or none.
    fn key_slots(&self, keys: &[i64]) -> Option<Vec<Batch>> {
        let per_slot = (self.seg.layout().config.runtime_filter_bits / 64).max(1) as usize;
        let mut batches = Vec::new();
        for chunk in keys.chunks(per_slot) {
            let taken = self.filters.take();
            let published = taken.is_some_and(|(index, generation)| {
                self.seg.filter(index).is_some_and(|slot| slot.publish_keys(generation, chunk))
            });
            if let Some((index, generation)) = taken {
                batches.push((index, generation, chunk.len() as u32));
            }
            if !published {
                self.free_slots(&batches);
                return None;
            }
        }
        Some(batches)
    }

    fn free_slots(&self, batches: &[Batch]) {
        for &(index, generation, _) in batches {
            if let Some(slot) = self.seg.filter(index) {
                slot.free(generation);
            }
        }
    }
}

/// What the node shows in EXPLAIN ANALYZE.
#[derive(Clone)]
struct BuildMetrics {
    keys: Count,
    published: Count,
    /// Keys a leaf was read through its index by.
    probed: Count,
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
        let pool = context.memory_pool().clone();
        let input = self.input.execute(partition, context)?;
        Ok(Box::pin(BuildStream {
            schema: input.schema(),
            input,
            keys: self.keys.clone(),
            publisher: self.publisher.clone(),
            partitions: self.input.properties().partitioning.partition_count(),
            pool,
            hashes: Vec::new(),
            valid: Vec::new(),
            ints: Vec::new(),
            ended: false,
            metrics: BuildMetrics {
                keys: MetricBuilder::new(&self.metrics).counter("build_keys", partition),
                published: MetricBuilder::new(&self.metrics).counter("filters_published", partition),
                probed: MetricBuilder::new(&self.metrics).counter("index_probe_keys", partition),
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
    pool: Arc<dyn MemoryPool>,
    hashes: Vec<u64>,
    valid: Vec<bool>,
    /// A single integer key's values (an index probe's keys).
    ints: Vec<i64>,
    ended: bool,
    metrics: BuildMetrics,
}

impl BuildStream {
    fn add(&mut self, batch: &RecordBatch) {
        let arrays: Result<Vec<ArrayRef>> = self
            .keys
            .iter()
            .map(|k| k.evaluate(batch).and_then(|v| v.into_array(batch.num_rows())))
            .collect();
        let mut range = None;
        self.ints.clear();
        let hashed =
            arrays.ok().map(|a| hash_rows(&a, &mut self.hashes, &mut self.valid, &mut range, &mut self.ints));
        if !matches!(hashed, Some(Ok(()))) {
            self.publisher.fail();
            return;
        }
        self.metrics.keys.add(batch.num_rows());
        self.publisher.add(&self.hashes, &self.valid, range, &self.ints, &self.pool);
    }
}

/// Hash each row's key (all of `arrays`' values in the row, in key order) as
/// `crate::shm::filter::Key` says both sides hash; `valid[row]` is false for a row with a NULL
/// key (it joins nothing); `range` takes a single integer-like key's range and `ints` its
/// values. Err: a key type the producers do not hash.
fn hash_rows(
    arrays: &[ArrayRef],
    hashes: &mut Vec<u64>,
    valid: &mut Vec<bool>,
    range: &mut Option<(i64, i64)>,
    ints: &mut Vec<i64>,
) -> std::result::Result<(), ()> {
    let rows = arrays.first().map_or(0, |a| a.len());
    hashes.clear();
    hashes.resize(rows, 0);
    valid.clear();
    valid.resize(rows, true);
    let single = arrays.len() == 1;
    for a in arrays {
        let mut each = |row: usize, key: Option<Key<'_>>| match key {
            None => valid[row] = false,
            Some(k) => {
                if let (true, Key::Int(v)) = (single, k) {
                    *range = Some(range.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))));
                    ints.push(v);
                }
                hashes[row] = combine(hashes[row], k.hash());
            }
        };
        for_each_key(a.as_ref(), &mut each)?;
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
            Poll::Ready(Some(Err(_))) => self.publisher.fail(),
            Poll::Ready(None) if !self.ended => {
                self.ended = true;
                self.publisher.partition_ended(self.partitions, &self.metrics);
            }
            _ => {}
        }
        polled
    }
}

/// A build partition dropped before its end (the query ended early, or failed): the filter
/// cannot be published any more.
impl Drop for BuildStream {
    fn drop(&mut self) {
        if !self.ended {
            self.publisher.resolve();
        }
    }
}

impl RecordBatchStream for BuildStream {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}
