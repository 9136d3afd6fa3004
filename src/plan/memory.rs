//! Memory bounds of the worker's queries: each query's share of DataFusion's memory pool, and the plan
//! choices that keep operators which cannot spill inside that share.
//!
//! Rules:
//! - The worker's pool (`pg_fusion.worker_memory_limit_mb`) is split into [`query_shares`]
//!   equal shares, one per admitted query: admission (`crate::shm::admission`) admits at most
//!   that many queries at once, so the shares of the running queries never exceed the pool and
//!   no query can take memory another was promised (the worker's own pool only counts: a
//!   finished query's task may hold memory a moment after the next one was admitted). A query
//!   allocates through a [`QueryPool`]
//!   over its share; inside it, its operators that can spill get equal parts. Past its part an
//!   operator that can spill (sort, aggregation, repartition, sort-merge join) spills; any other
//!   fails the query with 53200.
//! - DataFusion's hash join builds its hash table in memory and cannot spill. A query in which a
//!   join's smaller input is estimated larger than half of the query's share is planned with
//!   sort-merge joins instead ([`needs_spilling_joins`]), whose sorts spill. Estimates are
//!   PostgreSQL's row estimates of the scan leaves, carried up the plan (a join: its larger
//!   input; a union: the sum), times a row width from the column types.
//! - A sort that keeps its top `n` rows (TopK: `ORDER BY .. LIMIT/OFFSET`) holds them in memory
//!   and cannot spill either: when `n` rows are estimated larger than a quarter of the share, the
//!   sort is planned in full (spilling), over all its partitions at once, with the limit above
//!   it ([`BoundedTopK`]).
//! - Without a limit (`worker_memory_limit_mb = 0`) none of this applies: queries share an
//!   unbounded pool and nothing spills.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::source_as_provider;
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};
use datafusion::logical_expr::{LogicalPlan, TableScan};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::limit::LocalLimitExec;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::ExecutionPlan;

use crate::plan::table::{PgScanTable, SubqueryTable};

/// Bytes of the pool per share, at most: a pool of `n` GiB has `n` shares (2 at least).
const SHARE_BYTES: usize = 1 << 30;

/// Bytes a row costs an operator beyond its values (hash-table entry, hash, row index).
const ROW_OVERHEAD: usize = 32;

/// How many queries hold a share of a pool of `limit` bytes at once: one per GiB, two at least.
pub fn query_shares(limit: usize) -> usize {
    (limit / SHARE_BYTES).max(2)
}

/// A query's share of bytes in a pool of `limit` bytes.
pub fn query_share(limit: usize) -> usize {
    limit / query_shares(limit)
}

/// One query's view of the worker's pool: at most `cap` bytes, shared fairly among its operators
/// that can spill (DataFusion's [`FairSpillPool`]: each gets an equal part of what the others
/// cannot give back), and within what the worker's pool has left.
pub struct QueryPool {
    local: FairSpillPool,
    worker: Arc<dyn MemoryPool>,
    cap: usize,
}

impl QueryPool {
    pub fn new(worker: Arc<dyn MemoryPool>, cap: usize) -> QueryPool {
        QueryPool { local: FairSpillPool::new(cap), worker, cap }
    }
}

impl fmt::Debug for QueryPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryPool").field("cap", &self.cap).field("used", &self.local.reserved()).finish()
    }
}

impl fmt::Display for QueryPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "query share {} of {} bytes over {}", self.local.reserved(), self.cap, self.worker)
    }
}

impl MemoryPool for QueryPool {
    fn name(&self) -> &str {
        "QueryPool"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.local.register(consumer);
        self.worker.register(consumer);
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.local.unregister(consumer);
        self.worker.unregister(consumer);
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.local.grow(reservation, additional);
        self.worker.grow(reservation, additional);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.local.shrink(reservation, shrink);
        self.worker.shrink(reservation, shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        self.local.try_grow(reservation, additional).map_err(|e| match e {
            DataFusionError::ResourcesExhausted(m) => DataFusionError::ResourcesExhausted(format!(
                "{m} (a query may hold {} bytes: its share of pg_fusion.worker_memory_limit_mb)",
                self.cap
            )),
            e => e,
        })?;
        if let Err(e) = self.worker.try_grow(reservation, additional) {
            self.local.shrink(reservation, additional);
            return Err(e);
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.local.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.cap)
    }
}

/// Bytes an operator holding one row of `schema` needs, estimated from its column types.
pub fn row_bytes(schema: &Schema) -> usize {
    let value = |t: &DataType| match t {
        DataType::Boolean => 1,
        DataType::Utf8 | DataType::Binary | DataType::LargeUtf8 | DataType::LargeBinary => 40,
        DataType::Utf8View | DataType::BinaryView => 32,
        t => t.primitive_width().unwrap_or(16),
    };
    ROW_OVERHEAD + schema.fields().iter().map(|f| value(f.data_type())).sum::<usize>()
}

/// PostgreSQL's estimate of the rows a plan returns, carried up from its scan leaves; None when
/// a leaf has none. `leaf_rows` gives a leaf's estimate by its number.
fn estimated_rows(plan: &LogicalPlan, leaf_rows: &dyn Fn(u32) -> Option<u64>) -> Option<u64> {
    let children = plan.inputs();
    match plan {
        LogicalPlan::TableScan(scan) => {
            let rows = scan_rows(scan, leaf_rows)?;
            Some(scan.fetch.map_or(rows, |f| rows.min(f as u64)))
        }
        LogicalPlan::Union(_) => children.iter().map(|c| estimated_rows(c, leaf_rows)).sum(),
        LogicalPlan::EmptyRelation(_) => Some(1),
        LogicalPlan::Values(v) => Some(v.values.len() as u64),
        _ => children.iter().map(|c| estimated_rows(c, leaf_rows)).try_fold(0, |m, r| Some(m.max(r?))),
    }
}

fn scan_rows(scan: &TableScan, leaf_rows: &dyn Fn(u32) -> Option<u64>) -> Option<u64> {
    let provider = source_as_provider(&scan.source).ok()?;
    if let Some(t) = provider.downcast_ref::<PgScanTable>() {
        return leaf_rows(t.shared.as_ref().map_or(t.leaf, |s| s.leaf));
    }
    let t = provider.downcast_ref::<SubqueryTable>()?;
    estimated_rows(&t.plan, leaf_rows)
}

/// Whether a join of `plan` (or of a subquery it reads) has a smaller input estimated larger
/// than `max_bytes`: a hash table DataFusion could not spill.
pub fn needs_spilling_joins(
    plan: &LogicalPlan,
    max_bytes: usize,
    leaf_rows: &dyn Fn(u32) -> Option<u64>,
) -> bool {
    let bytes = |p: &LogicalPlan| {
        estimated_rows(p, leaf_rows).map(|r| r.saturating_mul(row_bytes(p.schema().as_arrow()) as u64))
    };
    let mut found = false;
    let _ = plan.apply(|p| {
        match p {
            LogicalPlan::Join(j) if !j.on.is_empty() => {
                // Unknown sizes leave the hash join: nothing says it would not fit.
                if let (Some(l), Some(r)) = (bytes(&j.left), bytes(&j.right)) {
                    found |= l.min(r) > max_bytes as u64;
                }
            }
            LogicalPlan::TableScan(scan) => {
                if let Some(t) = source_as_provider(&scan.source)
                    .ok()
                    .and_then(|s| s.downcast_ref::<SubqueryTable>().map(|t| t.plan.clone()))
                {
                    found |= needs_spilling_joins(&t, max_bytes, leaf_rows);
                }
            }
            _ => {}
        }
        Ok(if found {
            datafusion::common::tree_node::TreeNodeRecursion::Stop
        } else {
            datafusion::common::tree_node::TreeNodeRecursion::Continue
        })
    });
    found
}

/// A physical rule: a sort keeping more top rows than `max_bytes` holds sorts in full (it
/// spills) and a limit above it keeps the rows (see the module rules).
#[derive(Debug)]
pub struct BoundedTopK {
    pub max_bytes: usize,
}

impl PhysicalOptimizerRule for BoundedTopK {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|p| {
            let Some(sort) = p.downcast_ref::<SortExec>() else { return Ok(Transformed::no(p)) };
            let Some(fetch) = sort.fetch() else { return Ok(Transformed::no(p)) };
            if fetch.saturating_mul(row_bytes(&sort.schema())) <= self.max_bytes {
                return Ok(Transformed::no(p));
            }
            // One sort over all partitions (a sort per partition would each take a part of the
            // query's share, and the merge above them more): one partition, so the limit is the
            // TopK's, which kept `fetch` rows of each partition.
            let mut input = sort.input().clone();
            if input.properties().partitioning.partition_count() > 1 {
                input = Arc::new(CoalescePartitionsExec::new(input));
            }
            let full = SortExec::new(sort.expr().clone(), input);
            Ok(Transformed::yes(
                Arc::new(LocalLimitExec::new(Arc::new(full), fetch)) as Arc<dyn ExecutionPlan>
            ))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "pg_fusion_bounded_topk"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The most bytes (as the batches took in memory) one spill file holds.
pub const SPILL_RUN_BYTES: usize = 64 << 20;

/// What a shared scan's partition task (`worker::shared`) does with each batch of its input:
/// queue it in memory, add it to the spill run being written, and when to queue that run (a
/// spill file holds a run of consecutive spilled batches, not one batch: a file per batch held a
/// descriptor per batch until every reader had read it).
#[derive(Debug, PartialEq, Eq)]
pub enum SpillStep {
    /// Queue the batch in memory (no run is being written).
    Memory,
    /// Add the batch to the run (a new one if none), then queue the run if it is full.
    Spill { queue_run_after: bool },
}

/// The step for a batch of `batch_bytes`, which the memory share has room for or not, with
/// `run_bytes` in the run being written (None: no run).
///
/// A run once begun takes every batch until it is full, those that would fit in memory too:
/// a share that moves up and down (other operators taking and giving back memory) would
/// otherwise cut runs short, towards a file per batch again.
pub fn spill_step(fits_in_memory: bool, run_bytes: Option<usize>, batch_bytes: usize) -> SpillStep {
    if fits_in_memory && run_bytes.is_none() {
        return SpillStep::Memory;
    }
    SpillStep::Spill { queue_run_after: run_bytes.unwrap_or(0) + batch_bytes >= SPILL_RUN_BYTES }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::Field;
    use datafusion::datasource::memory::MemorySourceConfig;
    use datafusion::execution::memory_pool::GreedyMemoryPool;
    use datafusion::physical_expr::expressions::col;
    use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};

    #[test]
    fn a_query_holds_at_most_its_share() -> Result<()> {
        // A pool a little short of two shares.
        let worker: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(950));
        let a: Arc<dyn MemoryPool> = Arc::new(QueryPool::new(worker.clone(), query_share(1000)));
        let b: Arc<dyn MemoryPool> = Arc::new(QueryPool::new(worker.clone(), query_share(1000)));
        assert_eq!((query_shares(64 << 20), query_shares(6 << 30)), (2, 6));
        assert_eq!(query_share(64 << 20), 32 << 20);
        let ra = MemoryConsumer::new("a").register(&a);
        let rb = MemoryConsumer::new("b").register(&b);
        ra.try_grow(400)?;
        assert!(ra.try_grow(101).is_err(), "past the share");
        assert_eq!((a.reserved(), worker.reserved()), (400, 400));
        rb.try_grow(500)?;
        // Within its share, but the worker's pool is short: nothing stays counted.
        assert!(ra.try_grow(100).is_err());
        assert_eq!((a.reserved(), worker.reserved()), (400, 900));
        ra.shrink(300);
        drop(rb);
        assert_eq!((a.reserved(), b.reserved(), worker.reserved()), (100, 0, 100));
        drop(ra);
        assert_eq!(worker.reserved(), 0);
        // Two operators that can spill get half of the share each.
        let c: Arc<dyn MemoryPool> = Arc::new(QueryPool::new(worker.clone(), 400));
        let s1 = MemoryConsumer::new("s1").with_can_spill(true).register(&c);
        let s2 = MemoryConsumer::new("s2").with_can_spill(true).register(&c);
        s1.try_grow(200)?;
        assert!(s1.try_grow(1).is_err(), "past its fair part");
        s2.try_grow(200)?;
        drop((s1, s2));
        assert_eq!((c.reserved(), worker.reserved()), (0, 0));
        Ok(())
    }

    #[test]
    fn row_widths_come_from_the_types() {
        let s =
            Schema::new(vec![Field::new("a", DataType::Int64, true), Field::new("b", DataType::Utf8, true)]);
        assert_eq!(row_bytes(&s), ROW_OVERHEAD + 8 + 40);
    }

    #[test]
    fn large_top_k_sorts_in_full() -> Result<()> {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![3, 1, 2]))])?;
        let input: Arc<dyn ExecutionPlan> =
            MemorySourceConfig::try_new_exec(&[vec![batch]], schema.clone(), None)?;
        let order = LexOrdering::new(vec![PhysicalSortExpr::new_default(col("a", &schema)?)])
            .ok_or_else(|| DataFusionError::Internal("ordering".into()))?;
        let rule = BoundedTopK { max_bytes: 100 * row_bytes(&schema) };
        let small: Arc<dyn ExecutionPlan> =
            Arc::new(SortExec::new(order.clone(), input.clone()).with_fetch(Some(100)));
        let kept = rule.optimize(small, &ConfigOptions::default())?;
        assert!(kept.downcast_ref::<SortExec>().is_some_and(|s| s.fetch() == Some(100)));
        let large: Arc<dyn ExecutionPlan> = Arc::new(SortExec::new(order, input).with_fetch(Some(101)));
        let bounded = rule.optimize(large, &ConfigOptions::default())?;
        let limit = bounded.downcast_ref::<LocalLimitExec>().ok_or_else(|| {
            DataFusionError::Internal("a large TopK becomes a limit over a full sort".into())
        })?;
        assert_eq!(limit.fetch(), 101);
        assert!(limit.input().downcast_ref::<SortExec>().is_some_and(|s| s.fetch().is_none()));
        Ok(())
    }

    #[test]
    fn batches_that_fit_go_to_memory_unless_a_run_is_open() {
        assert_eq!(spill_step(true, None, 100), SpillStep::Memory);
        // A run being written takes it, memory or not, until the run is full.
        assert_eq!(spill_step(true, Some(5), 100), SpillStep::Spill { queue_run_after: false });
        assert_eq!(
            spill_step(true, Some(SPILL_RUN_BYTES - 50), 100),
            SpillStep::Spill { queue_run_after: true }
        );
    }

    #[test]
    fn spilled_batches_share_a_run_until_it_is_full() {
        assert_eq!(spill_step(false, None, 100), SpillStep::Spill { queue_run_after: false });
        assert_eq!(
            spill_step(false, Some(SPILL_RUN_BYTES - 200), 100),
            SpillStep::Spill { queue_run_after: false }
        );
        assert_eq!(
            spill_step(false, Some(SPILL_RUN_BYTES - 100), 100),
            SpillStep::Spill { queue_run_after: true }
        );
        // A batch larger than a run is a run of its own.
        assert_eq!(spill_step(false, None, SPILL_RUN_BYTES * 2), SpillStep::Spill { queue_run_after: true });
    }
}
