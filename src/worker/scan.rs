//! The worker's scan leaf: an `ExecutionPlan` that reads its scan slots' pages as Arrow batches,
//! one partition per scan producer (the leader backend, then its parallel workers).
//!
//! Rules:
//! - A page is taken over ([`PagePool::transfer`](crate::shm::PagePool::transfer)) from the
//!   producer's owner id to the query's import owner before a byte is read, then validated by the
//!   block decoder. Its arrays wrap the page without copying; the page goes back to the pool when
//!   the last array referencing it drops ([`PageLease`]).
//! - Operators that keep their input (sort, join build sides, windows, ...) would pin pages
//!   until the end of the input and starve the producers: the plan walk in `query.rs` switches the
//!   leaf to copy mode under such operators, where each batch is copied and its page released at
//!   once. Elsewhere too, a batch is copied when the query's imported pages would exceed its
//!   budget's `pins` (`crate::shm::admission`): operators that buffer a few batches
//!   (repartition, coalesce) never hold more pages than the query reserved.
//! - Never calls PostgreSQL: runs on Tokio threads. Waits by polling its ring, woken by the main
//!   thread's `activity` notification (the producer sets the worker's latch every few pages and
//!   before it sleeps; see `pg::producer`).
//! - A slot outlives its sessions: once this leaf's session ended (the producer's query failed or
//!   was canceled), the next query may already own the slot. The leaf then stops without consuming
//!   a newer session's frame and never writes credits into the slot again. Its ring operations
//!   and the check that its session is current happen under the slot's ring lock
//!   (`super::slot_rings`), so the two sessions' readers never use the rings at once.
//! - Flow control: a producer starts with no credit; its reader grants the query's `credits`
//!   (`ScanMsg::Credit` on the slot's worker->backend ring) on its first read, and one more per
//!   page it imports. A leaf nobody reads yet (the probe side of a hash join while its build
//!   side loads) fills no page. A leaf that accepted runtime filters gets its first credits
//!   once every join that may publish one has decided ([`runtime_filter::LeafFilters::pending`];
//!   at most [`FILTER_WAIT_LIMIT`] after its first read).
//! - Runtime filters (`super::runtime_filter`): a leaf accepts a hash join's dynamic filter
//!   during DataFusion's filter pushdown (telling DataFusion it does not evaluate it: the join
//!   still compares every key); once the join's build side has published it, each of the leaf's
//!   readers sends it to its producer on the same ring, before any further credit, so every page
//!   filled with those credits was filtered. The reader is the ring's one writer. A probe side is
//!   first read once its join's build side is complete, its filter published, and a leaf that
//!   accepted filters gets its first credits only once their joins decided (flow control, above): the
//!   producer then tests every row, the one it kept when it found no credit too (unless the
//!   wait hit its limit or the build side was dropped early).
//! - Index probes (`crate::index_probe`): a leaf a join probes gets `ScanMsg::Probe` and one
//!   `ScanMsg::Keys` per batch on each of its readers' rings before their first credit, sent
//!   with the filters; the first credit of any of its readers closes the leaf to probes.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::buffer::Buffer;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::Session;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, Result, Statistics};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::filter_pushdown::{
    ChildPushdownResult, FilterPushdownPhase, FilterPushdownPropagation, PushedDown,
};
use datafusion::physical_plan::metrics::{
    BaselineMetrics, Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet, RecordOutput, Time,
};
use datafusion::physical_plan::statistics::StatisticsArgs;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use tokio::sync::Notify;

/// The longest a leaf's reader holds back its producer's first credits waiting for the
/// runtime filters the leaf accepted (see the module's rules): a safety net, not a tuning knob.
pub const FILTER_WAIT_LIMIT: Duration = Duration::from_secs(5);

/// How often a reader holding back its first credits looks again without a notification.
const FILTER_POLL: Duration = Duration::from_millis(10);

use super::estimate::estimated_statistics;
use super::runtime_filter::{self, Accepted, LeafFilters, QueryFilters, Target};
use super::shared::{SharedReadExec, SharedScan, SharedScans, SharedSubqueries};
use super::slot_rings::SlotRings;
use crate::index_probe::Found;
use crate::page::decode::{decode_block, deep_copy};
use crate::page::ColumnType;
use crate::plan::spec::SharedRead;
use crate::plan::table::{schema_of, ScanSource};
use crate::protocol::{envelope, open_envelope, ProbeColumn, ScanMsg, SlotRef};
use crate::shm::{Metric, OwnerId, PageDescriptor, Recv, Segment, Slot, SlotKind, SlotLease};

/// Holds one page's lease; dropping it returns the page to the pool.
struct PageLease {
    seg: Segment,
    desc: PageDescriptor,
    /// The query's count of imported pages still referenced (`PageSource::pinned`).
    pinned: Arc<AtomicUsize>,
}

impl Drop for PageLease {
    fn drop(&mut self) {
        // Stale only if the query's pages were already reclaimed; nothing else to do then.
        let _ = self.seg.pool().release(self.desc);
        self.pinned.fetch_sub(1, Ordering::Relaxed);
        self.seg.wake_page_waiters();
    }
}

/// Everything a query's scan leaves need; shared by the leaves of one query.
#[derive(Clone)]
pub struct PageSource {
    pub seg: Segment,
    /// Per leaf, one slot per scan producer.
    pub scans: Vec<Vec<SlotRef>>,
    /// Per leaf, PostgreSQL's estimate of its rows (the leaf's statistics).
    pub estimates: Vec<Option<u64>>,
    /// The owner id imported pages are transferred to.
    pub import_owner: OwnerId,
    pub activity: Arc<Notify>,
    /// The worker's side of the scan slots' rings, one task at a time (`super::slot_rings`).
    pub rings: Arc<SlotRings>,
    pub canceled: Arc<AtomicBool>,
    pub page_size: usize,
    /// The query's shared scans and subqueries (see `shared.rs`).
    pub shared: SharedScans,
    pub subqueries: SharedSubqueries,
    /// Each producer's credits (its budget's `credits`, see `crate::shm::admission`): a
    /// producer starts with none, and its reader grants them on its first read.
    pub credits: u32,
    /// The imported pages the query's arrays may keep at once (its budget's `pins`, see
    /// `crate::shm::admission`): past that a leaf copies.
    pub pins: usize,
    /// Imported pages of the query still referenced by arrays (counted here rather than by
    /// scanning the pool's states for each page).
    pub pinned: Arc<AtomicUsize>,
    /// The longest a scan waiting for its producer sleeps without a wake (the producer's latch
    /// signal, relayed by the main thread, normally wakes it first).
    pub idle_poll: Duration,
    /// Bits per key of the query's runtime filters; 0: none (`super::runtime_filter`).
    pub runtime_filter_hashes: u32,
    /// The filter slots the query took (freed when the last holder drops).
    pub filters: Arc<QueryFilters>,
    /// Per leaf, the columns its producers can probe an index by (`crate::index_probe`).
    pub probes: Vec<Vec<ProbeColumn>>,
}

impl fmt::Debug for PageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageSource").field("scans", &self.scans).finish()
    }
}

#[async_trait::async_trait]
impl ScanSource for PageSource {
    fn open(
        &self,
        leaf: u32,
        ids: &[u32],
        types: &[ColumnType],
        projection: Option<Vec<usize>>,
        shared: Option<&SharedRead>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(read) = shared else {
            return Ok(self.open_scan(leaf, ids, types, projection)?);
        };
        let scan = SharedScan::get(&self.shared, read, || {
            let ids: Vec<u32> = (0..read.types.len() as u32).collect();
            let scan = self.open_scan(read.leaf, &ids, &read.types, None)?;
            scan.copy.store(true, Ordering::Relaxed);
            Ok(scan as Arc<dyn ExecutionPlan>)
        })?;
        Ok(Arc::new(SharedReadExec::scan(scan, read, ids, types, projection)?))
    }

    async fn open_subquery(
        &self,
        id: u32,
        plan: &LogicalPlan,
        state: &dyn Session,
        projection: Option<Vec<usize>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let cell = self.subqueries.lock().unwrap_or_else(|p| p.into_inner()).entry(id).or_default().clone();
        // The first reference to get here plans the subquery and keeps it alive with its reader
        // until the others (planned meanwhile or later, all before execution) hold it too.
        let mut made = None;
        let weak = cell
            .get_or_try_init(|| async {
                let physical = state.create_physical_plan(plan).await?;
                let physical = self.wire_runtime_filters(physical)?;
                mark_copy_modes(&physical, false);
                mark_output_copies(&physical);
                let shared = Arc::new(SharedScan::new(physical));
                let weak = Arc::downgrade(&shared);
                made = Some(shared);
                Ok::<_, DataFusionError>(weak)
            })
            .await?;
        let shared = match made {
            Some(s) => s,
            None => weak.upgrade().ok_or_else(|| {
                DataFusionError::Internal(
                    "shared subquery dropped before its last reference was planned".into(),
                )
            })?,
        };
        Ok(Arc::new(SharedReadExec::subquery(shared, id, projection)?))
    }
}

impl PageSource {
    /// `plan` with the builders of the runtime filters its scan leaves accepted
    /// (`super::runtime_filter::wire`).
    pub fn wire_runtime_filters(&self, plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
        let mut targets: HashMap<u64, Vec<Target>> = HashMap::new();
        plan.apply(|node| {
            if let Some(scan) = node.downcast_ref::<PgScanExec>() {
                let probes = self.probes.get(scan.leaf as usize).map_or(&[][..], |p| &p[..]);
                for a in &scan.accepted {
                    let probe = probes.iter().find(|p| a.columns == [p.column]).copied();
                    let target = Target { leaf: scan.published.clone(), columns: a.columns.clone(), probe };
                    targets.entry(a.id).or_default().push(target);
                }
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        runtime_filter::wire(plan, targets, self.runtime_filter_hashes, &self.filters, &self.activity)
    }

    /// The plans of the query's shared subqueries, by id, as planned.
    pub fn subquery_plans(&self) -> Vec<(u32, Arc<dyn ExecutionPlan>)> {
        let map = self.subqueries.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<(u32, Arc<dyn ExecutionPlan>)> =
            map.iter().filter_map(|(id, c)| c.get()?.upgrade().map(|s| (*id, s.input().clone()))).collect();
        out.sort_by_key(|(id, _)| *id);
        out
    }
}

impl PageSource {
    /// The leaf reading the pages of scan `leaf`'s producers.
    fn open_scan(
        &self,
        leaf: u32,
        ids: &[u32],
        types: &[ColumnType],
        projection: Option<Vec<usize>>,
    ) -> Result<Arc<PgScanExec>> {
        let slots = self
            .scans
            .get(leaf as usize)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| DataFusionError::Internal(format!("no scan slot for leaf {leaf}")))?
            .clone();
        let full = schema_of(types, ids);
        let schema = match &projection {
            Some(p) => Arc::new(full.project(p)?),
            None => full.clone(),
        };
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(slots.len()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(Arc::new(PgScanExec {
            source: self.clone(),
            leaf,
            started: slots.iter().map(|_| AtomicBool::new(false)).collect(),
            slots,
            types: types.to_vec(),
            projection,
            full_schema: full.clone(),
            schema,
            estimated_rows: self.estimates.get(leaf as usize).copied().flatten(),
            properties,
            copy: Arc::new(AtomicBool::new(false)),
            metrics: ExecutionPlanMetricsSet::new(),
            accepted: Vec::new(),
            published: Arc::default(),
        }))
    }
}

pub struct PgScanExec {
    source: PageSource,
    leaf: u32,
    /// One per scan producer: partition `i` reads `slots[i]`.
    slots: Vec<SlotRef>,
    types: Vec<ColumnType>,
    projection: Option<Vec<usize>>,
    full_schema: SchemaRef,
    schema: SchemaRef,
    /// PostgreSQL's estimate of the rows of the scan SQL (all partitions together).
    estimated_rows: Option<u64>,
    properties: Arc<PlanProperties>,
    /// Copy each batch out of its page (set by the plan walk, see the module rules).
    pub copy: Arc<AtomicBool>,
    started: Vec<AtomicBool>,
    /// EXPLAIN ANALYZE: output_rows, elapsed_compute (importing and copying blocks), pages
    /// imported and the time spent waiting for the producers (`page_wait_time`); with runtime
    /// filters, the rows they kept from being encoded (`runtime_filter_rows_rejected`).
    metrics: ExecutionPlanMetricsSet,
    /// The joins' dynamic filters this leaf accepted (see the module rules).
    accepted: Vec<Accepted>,
    /// The runtime filters published for it.
    published: Arc<LeafFilters>,
}

impl PgScanExec {
    /// The producer's column at index `i` of this leaf's schema.
    fn producer_column(&self, i: usize) -> Option<usize> {
        match &self.projection {
            Some(p) => p.get(i).copied(),
            None => (i < self.types.len()).then_some(i),
        }
    }
}

/// The leaf's metrics for one execution.
struct ScanMetrics {
    baseline: BaselineMetrics,
    pages: Count,
    wait: Time,
    /// With runtime filters: the rows they kept from being encoded.
    rejected: Option<Count>,
}

impl fmt::Debug for PgScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgScanExec(leaf {})", self.leaf)
    }
}

impl DisplayAs for PgScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PgScanExec: leaf={}, producers={}, copy={}",
            self.leaf,
            self.slots.len(),
            self.copy.load(Ordering::Relaxed)
        )?;
        // The filters a join will publish for it (DataFusion's other dynamic filters, of a
        // TopK say, are accepted but never published).
        if self.published.matched() > 0 {
            write!(f, ", runtime_filters={}", self.published.matched())?;
        }
        Ok(())
    }
}

struct ScanState {
    source: PageSource,
    lease: SlotLease,
    from_owner: OwnerId,
    types: Vec<ColumnType>,
    projection: Option<Vec<usize>>,
    full_schema: SchemaRef,
    copy: Arc<AtomicBool>,
    inbox: Vec<u8>,
    done: bool,
    metrics: ScanMetrics,
    /// Credits owed to the producer: its first credits (the query's `credits`) until the first
    /// grant, then the pages imported and not yet granted back.
    owed: u32,
    outbox: Vec<u8>,
    /// The leaf's published runtime filters, and how many of them the producer was sent.
    filters: Arc<LeafFilters>,
    filters_sent: usize,
    /// Of an index probe: the `Probe` was sent, and how many of its batches.
    probe_sent: bool,
    batches_sent: usize,
    /// Until the first credits went: when the stream was first read (see the module's rules).
    first_read: bool,
    held_since: Option<std::time::Instant>,
}

impl ScanState {
    /// Give the producer the credits owed (its first ones, then one per imported page) and wake
    /// it if it waits.
    /// A full ring keeps them owed: retried on every poll that finds no page, so a producer out
    /// of credit always gets them (it drains the ring on every step).
    fn grant(&mut self) {
        let seg = self.source.seg;
        let Some(slot) = seg.slot(SlotKind::Scan, self.lease.index) else { return };
        let rings = self.source.rings.clone();
        let _ring = rings.lock(SlotKind::Scan, self.lease.index);
        // The ring back to the producer has one writer: this session's reader, while the
        // session lasts (a task outliving it must not write into the next session's ring).
        if !slot.is_current(self.lease) {
            return;
        }
        // Runtime filters go before credits: the pages those credits fill are filtered. So does
        // an index probe: a leaf none of whose producers got a credit yet may still be probed;
        // the first credit closes it to probes (`crate::index_probe`).
        if !self.send_filters(slot) {
            seg.wake_page_waiters();
            return;
        }
        if !self.probe_sent && self.filters.probe.close() != Found::Whole && !self.send_filters(slot) {
            seg.wake_page_waiters();
            return;
        }
        let generation = self.lease.generation;
        envelope(generation, &mut self.outbox, |out| ScanMsg::Credit { pages: self.owed }.encode(out));
        if slot.to_backend.try_send(&self.outbox).is_ok() {
            self.owed = 0;
        }
        // Also when the credit did not fit: the frame just read made room in the producer's
        // ring, and a producer whose ring was full waits for exactly that.
        seg.wake_page_waiters();
    }

    /// Send the producer the runtime filters published for the leaf since the last call. False
    /// while its ring is full (the rest are sent on a later call, still before any credit).
    /// The caller holds the slot's ring lock and found the session current.
    fn send_filters(&mut self, slot: Slot<'_>) -> bool {
        if !self.send_probe(slot) {
            return false;
        }
        let pending = self.filters.since(self.filters_sent);
        if pending.is_empty() {
            return true;
        }
        for (index, generation, columns) in pending {
            let msg = ScanMsg::Filter { index, generation, columns };
            envelope(self.lease.generation, &mut self.outbox, |out| msg.encode(out));
            if slot.to_backend.try_send(&self.outbox).is_err() {
                return false;
            }
            self.filters_sent += 1;
        }
        true
    }

    /// Send the producer the leaf's index probe, once the leaf is probed: `Probe`, then each
    /// batch's filter slot (every producer of the leaf gets every batch; each batch is run by
    /// the one that claims it, `crate::shm::filter`). False while its ring is full (the rest go
    /// on a later call, still before any credit). The caller holds the slot's ring lock and
    /// found the session current.
    fn send_probe(&mut self, slot: Slot<'_>) -> bool {
        let Found::Probe(column, batches) = self.filters.probe.found() else { return true };
        if !self.probe_sent {
            let msg = ScanMsg::Probe { column, batches: batches.len() as u32 };
            envelope(self.lease.generation, &mut self.outbox, |out| msg.encode(out));
            if slot.to_backend.try_send(&self.outbox).is_err() {
                return false;
            }
            self.probe_sent = true;
        }
        while let Some(&(index, generation, count)) = batches.get(self.batches_sent) {
            let msg = ScanMsg::Keys { index, generation, count };
            envelope(self.lease.generation, &mut self.outbox, |out| msg.encode(out));
            if slot.to_backend.try_send(&self.outbox).is_err() {
                return false;
            }
            self.batches_sent += 1;
        }
        true
    }

    fn import(&self, index: u32, generation: u32, rows: u32) -> Result<RecordBatch> {
        let seg = self.source.seg;
        let pool = seg.pool();
        let desc = PageDescriptor { index, generation };
        pool.transfer(desc, self.from_owner, self.source.import_owner).map_err(|_| {
            seg.metrics().inc(Metric::PageStaleDescriptorTotal);
            DataFusionError::Execution("stale scan page descriptor".into())
        })?;
        let pinned = self.source.pinned.fetch_add(1, Ordering::Relaxed) + 1;
        let lease = Arc::new(PageLease { seg, desc, pinned: self.source.pinned.clone() });
        let ptr = pool
            .page_ptr(desc)
            .map_err(|_| DataFusionError::Execution("scan page vanished after its transfer".into()))?;
        // SAFETY: the page is `page_size` bytes inside the segment, leased to this query until
        // `lease` drops; the Buffer keeps `lease` alive for as long as any array uses the bytes.
        let page = unsafe {
            Buffer::from_custom_allocation(
                std::ptr::NonNull::new(ptr).ok_or_else(|| DataFusionError::Internal("null page".into()))?,
                self.source.page_size,
                lease,
            )
        };
        let block = decode_block(&page, &self.types)
            .map_err(|e| DataFusionError::Execution(format!("invalid scan block: {e:?}")))?;
        if block.rows != rows as usize {
            return Err(DataFusionError::Execution(
                "scan block row count differs from its descriptor".into(),
            ));
        }
        let rows = block.rows;
        let mut columns = block.columns;
        if let Some(p) = &self.projection {
            columns = p.iter().map(|&i| columns[i].clone()).collect();
        }
        // Zero copy only while the query's imported pages (this one included) stay within its
        // budget: past it the batch is copied and the page goes back with `block`.
        if self.copy.load(Ordering::Relaxed) || pinned > self.source.pins {
            columns = columns.iter().map(deep_copy).collect::<std::result::Result<Vec<_>, _>>()?;
        }
        let schema = match &self.projection {
            Some(p) => Arc::new(self.full_schema.project(p)?),
            None => self.full_schema.clone(),
        };
        let options = datafusion::arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(schema, columns, &options)?)
    }

    async fn next(&mut self) -> Option<Result<RecordBatch>> {
        let seg = self.source.seg;
        loop {
            if self.done {
                return None;
            }
            let activity = self.source.activity.clone();
            let notified = activity.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.source.canceled.load(Ordering::Relaxed) {
                return Some(Err(DataFusionError::Execution("query canceled".into())));
            }
            let Some(slot) = seg.slot(SlotKind::Scan, self.lease.index) else {
                return Some(Err(DataFusionError::Internal("scan slot out of range".into())));
            };
            // The first credits wait for the filters the leaf accepted (module rules).
            if self.first_read {
                let since = *self.held_since.get_or_insert_with(std::time::Instant::now);
                if self.filters.pending() && since.elapsed() < FILTER_WAIT_LIMIT {
                    if !slot.is_current(self.lease) {
                        return Some(Err(DataFusionError::Execution("scan producer went away".into())));
                    }
                    // A join that decides notifies `activity`; the timeout only bounds a miss.
                    let timer = self.metrics.wait.timer();
                    let _ = tokio::time::timeout(self.source.idle_poll.max(FILTER_POLL), notified).await;
                    timer.done();
                    continue;
                }
                self.first_read = false;
            }
            let received = {
                let rings = self.source.rings.clone();
                let _ring = rings.lock(SlotKind::Scan, self.lease.index);
                // A slot whose session ended may already serve the next query's producer: its
                // frames are that query's to read, never this task's (see `Recv::Left` below).
                if !slot.is_current(self.lease) {
                    return Some(Err(DataFusionError::Execution("scan producer went away".into())));
                }
                if self.filters_sent < self.filters.count() && self.send_filters(slot) {
                    seg.wake_page_waiters();
                }
                self.inbox.clear();
                let mine = self.lease.generation;
                // Frames of this session and of earlier ones (skipped) are consumed; a newer
                // session's frame is left for its own reader.
                slot.to_worker.try_recv_if(&mut self.inbox, |frame| {
                    open_envelope(frame)
                        .map_or(true, |(g, _)| g == mine || g.wrapping_sub(mine) > u32::MAX / 2)
                })
            };
            match received {
                Ok(Recv::Left) => {
                    return Some(Err(DataFusionError::Execution("scan producer went away".into())));
                }
                Ok(Recv::Taken) => {
                    let Ok((generation, msg)) = open_envelope(&self.inbox) else { continue };
                    if generation != self.lease.generation {
                        continue; // a frame of an earlier session of this slot
                    }
                    match ScanMsg::decode(msg) {
                        Ok(ScanMsg::Page(p)) => {
                            let timer = self.metrics.baseline.elapsed_compute().timer();
                            let batch = self.import(p.index, p.generation, p.rows);
                            timer.done();
                            if let Ok(b) = &batch {
                                self.metrics.pages.add(1);
                                b.record_output(&self.metrics.baseline);
                                self.owed += 1;
                                self.grant();
                            }
                            return Some(batch);
                        }
                        Ok(ScanMsg::End { rejected, .. }) => {
                            if let Some(c) = &self.metrics.rejected {
                                c.add(rejected as usize);
                            }
                            self.done = true;
                            return None;
                        }
                        Ok(
                            ScanMsg::Credit { .. }
                            | ScanMsg::Filter { .. }
                            | ScanMsg::Probe { .. }
                            | ScanMsg::Keys { .. },
                        ) => {
                            return Some(Err(DataFusionError::Execution(
                                "worker message on a producer's ring".into(),
                            )))
                        }
                        Err(e) => {
                            return Some(Err(DataFusionError::Execution(format!(
                                "invalid scan message: {e}"
                            ))))
                        }
                    }
                }
                Ok(Recv::Empty) => {
                    if self.owed > 0 {
                        // A grant that found the ring full: the producer may be waiting for it.
                        self.grant();
                    }
                    let timer = self.metrics.wait.timer();
                    let _ = tokio::time::timeout(self.source.idle_poll, notified).await;
                    timer.done();
                }
                Err(_) => return Some(Err(DataFusionError::Execution("corrupt scan ring".into()))),
            }
        }
    }
}

impl ExecutionPlan for PgScanExec {
    fn name(&self) -> &str {
        "PgScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(
            &Arc<dyn datafusion::physical_expr::PhysicalExpr>,
        ) -> Result<datafusion::common::tree_node::TreeNodeRecursion>,
    ) -> Result<datafusion::common::tree_node::TreeNodeRecursion> {
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    }

    #[allow(deprecated)]
    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            Err(DataFusionError::Internal("PgScanExec has no children".into()))
        }
    }

    /// A hash join's dynamic filter on this leaf's columns is accepted (its producers will test
    /// the published filter); DataFusion is told nothing here evaluates it, so every other
    /// filter stays where it is and the join still compares every key.
    fn handle_child_pushdown_result(
        &self,
        phase: FilterPushdownPhase,
        child_pushdown_result: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        let filters = child_pushdown_result.parent_filters;
        let mut accepted = self.accepted.clone();
        if self.source.runtime_filter_hashes > 0 && phase == FilterPushdownPhase::Post {
            for f in &filters {
                if let Some(a) = runtime_filter::accept(&f.filter, |i| self.producer_column(i), &self.types) {
                    if !accepted.iter().any(|x| x.id == a.id) {
                        accepted.push(a);
                    }
                }
            }
        }
        let result =
            FilterPushdownPropagation::with_parent_pushdown_result(vec![PushedDown::No; filters.len()]);
        if accepted.len() == self.accepted.len() {
            return Ok(result);
        }
        Ok(result.with_updated_node(Arc::new(PgScanExec {
            source: self.source.clone(),
            leaf: self.leaf,
            slots: self.slots.clone(),
            types: self.types.clone(),
            projection: self.projection.clone(),
            full_schema: self.full_schema.clone(),
            schema: self.schema.clone(),
            estimated_rows: self.estimated_rows,
            properties: self.properties.clone(),
            copy: self.copy.clone(),
            started: self.slots.iter().map(|_| AtomicBool::new(false)).collect(),
            metrics: ExecutionPlanMetricsSet::new(),
            accepted,
            published: self.published.clone(),
        })))
    }

    /// PostgreSQL's row estimate, spread evenly over the producers; nothing else is known.
    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        Ok(Arc::new(estimated_statistics(
            &self.schema,
            self.estimated_rows,
            args.partition(),
            self.slots.len(),
        )))
    }

    fn execute(&self, partition: usize, _context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let (Some(slot), Some(started)) = (self.slots.get(partition), self.started.get(partition)) else {
            return Err(DataFusionError::Internal(format!("no scan producer for partition {partition}")));
        };
        if started.swap(true, Ordering::SeqCst) {
            return Err(DataFusionError::Internal("a PostgreSQL scan leaf's partition is read once".into()));
        }
        let lease = SlotLease { index: slot.index, generation: slot.generation };
        let seg = self.source.seg;
        let slot = seg
            .slot(SlotKind::Scan, lease.index)
            .ok_or_else(|| DataFusionError::Internal("scan slot out of range".into()))?;
        let state = ScanState {
            source: self.source.clone(),
            lease,
            from_owner: slot.pool_owner(lease),
            types: self.types.clone(),
            projection: self.projection.clone(),
            full_schema: self.full_schema.clone(),
            copy: self.copy.clone(),
            inbox: Vec::new(),
            done: false,
            // Granted on the first read that finds no page (see the rules above).
            owed: self.source.credits.max(1),
            outbox: Vec::new(),
            filters: self.published.clone(),
            filters_sent: 0,
            probe_sent: false,
            batches_sent: 0,
            first_read: true,
            held_since: None,
            metrics: ScanMetrics {
                baseline: BaselineMetrics::new(&self.metrics, partition),
                pages: MetricBuilder::new(&self.metrics).counter("pages", partition),
                wait: MetricBuilder::new(&self.metrics).subset_time("page_wait_time", partition),
                rejected: (self.published.matched() > 0).then(|| {
                    MetricBuilder::new(&self.metrics).counter("runtime_filter_rows_rejected", partition)
                }),
            },
        };
        let stream = futures::stream::unfold(state, |mut st| async move { st.next().await.map(|r| (r, st)) });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream)))
    }
}

/// Operators that only stream their input (hold a batch briefly, never accumulate them): below
/// these a scan leaf may stay zero-copy. Everything else gets copy mode.
const STREAMING: &[&str] = &[
    "ProjectionExec",
    "FilterExec",
    "CoalesceBatchesExec",
    "CoalescePartitionsExec",
    "RepartitionExec",
    "AggregateExec",
    "GlobalLimitExec",
    "LocalLimitExec",
    "CooperativeExec",
];

/// Set copy mode on every scan leaf that sits below a retaining operator.
pub fn mark_copy_modes(plan: &Arc<dyn ExecutionPlan>, retaining_above: bool) {
    let any: &dyn std::any::Any = plan.as_ref();
    if let Some(scan) = any.downcast_ref::<PgScanExec>() {
        scan.copy.store(retaining_above, Ordering::Relaxed);
        return;
    }
    let retaining = retaining_above || !STREAMING.contains(&plan.name());
    for child in plan.children() {
        mark_copy_modes(child, retaining);
    }
}

/// Copy mode on every scan of `plan` whose batches can reach its output unchanged (through
/// operators that pass batches on): a shared subquery's output waits in queues, which must not
/// pin pages. Scans below other operators keep the mode the plan walk gave them.
pub fn mark_output_copies(plan: &Arc<dyn ExecutionPlan>) {
    let any: &dyn std::any::Any = plan.as_ref();
    if let Some(scan) = any.downcast_ref::<PgScanExec>() {
        scan.copy.store(true, Ordering::Relaxed);
        return;
    }
    // An aggregate's output is its own arrays; the other streaming operators pass batches on.
    if plan.name() != "AggregateExec" && STREAMING.contains(&plan.name()) {
        for child in plan.children() {
            mark_output_copies(child);
        }
    }
}
