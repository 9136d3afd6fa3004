//! Plan nodes that read rows computed once for several of them (see `plan::share`): a relation
//! several leaves of one query read is read from PostgreSQL once (a shared scan), and a subquery
//! several references of one query read is computed once (a shared subquery).
//!
//! Rules:
//! - One [`SharedScan`] per shared scan or subquery and query, made when its first reader is
//!   opened. Every reader registers while the physical plan is built, before any partition runs:
//!   a reader registering later would miss rows, so it is refused.
//! - Partition `p` of the shared input (one per scan producer for a scan) is driven by one task,
//!   spawned when a reader first executes partition `p`, and sends every batch to each reader's
//!   queue for `p`. No batch in a queue holds a page: a shared scan reads its leaf in copy mode
//!   (each page goes back to the pool as soon as its batch is copied); a shared subquery's plan
//!   has copy mode on every scan whose batches can reach its output (`scan::mark_output_copies`).
//!   Queues are unbounded: a reader that lags behind another (a hash join's probe side while its
//!   build side is read) holds batches in worker memory, never pages, so producers never wait
//!   on a reader that is not reading. That memory counts against the query's share of the
//!   worker's DataFusion memory pool (`crate::plan::memory`): each batch is charged once when it
//!   is queued and freed when the last reader has taken it. A batch the share cannot hold goes
//!   to a spill file instead, which each reader reads back in its turn: a lagging reader cannot
//!   be waited for without waiting for itself, and never fails the query.
//! - Consecutive spilled batches share one file, a run of at most `SPILL_RUN_BYTES`
//!   (`crate::plan::memory::spill_step`): a run once begun takes every batch until it is full or
//!   the input ends, then is queued (the queue keeps the batches' order). A file per batch kept
//!   a file descriptor open per batch until every reader had read it: a lineitem at SF 5 queued
//!   for a reader behind a GROUP BY ran the worker out of descriptors (EMFILE). A reader waiting
//!   for the next batch may wait for a run to fill; the partition's task never waits for a
//!   reader, so it always fills. A run's file goes away when the last reader has read it.
//! - The tasks are aborted when the last reader (plan node or stream) is dropped; a reader
//!   dropped early only closes its queue.
//! - A reader keeps the rows whose filter column is true (NULL drops the row, as in WHERE) and
//!   its own columns, in its own order.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::{prep_null_mask_filter, FilterBuilder};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::runtime::SpawnedTask;
use datafusion::common::{DataFusionError, Result, Statistics};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, SpillFile, TaskContext};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{
    BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet, RecordOutput, SpillMetrics,
};
use datafusion::physical_plan::spill::SpillManager;
use datafusion::physical_plan::statistics::StatisticsArgs;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use futures::StreamExt;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::estimate::estimated_statistics;
use crate::plan::memory::{spill_step, SpillStep};
use crate::plan::spec::SharedRead;
use crate::plan::table::schema_of;

/// What a partition's task sends each reader: batches, then `Ok(None)` at the end (a queue
/// closed without it means the task died: an error, never a short result). Each batch carries
/// its memory charge, shared by the readers' copies.
type Item = std::result::Result<Option<Queued>, Arc<DataFusionError>>;

/// A batch in the readers' queues: in memory, with its charge; or a run of batches in a spill
/// file.
#[derive(Clone)]
enum Queued {
    Memory(RecordBatch, Arc<Charge>),
    Disk(Arc<dyn SpillFile>, Arc<SpillManager>),
}

/// `None` of what `make` would make (DataFusion does not export its in-progress spill file's type
/// by a name we can write); `make` is not called.
fn none_of<T>(_make: impl FnOnce() -> Result<T>) -> Option<T> {
    None
}

/// A queued batch's share of the memory pool, given back when the last reader dropped it.
struct Charge {
    reservation: Arc<Mutex<MemoryReservation>>,
    bytes: usize,
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.reservation.lock().unwrap_or_else(|p| p.into_inner()).shrink(self.bytes);
    }
}
type Queue = UnboundedReceiver<Item>;

/// The shared scans of one query, by leaf: weak, so that the scans go away with their readers.
pub type SharedScans = Arc<Mutex<HashMap<u32, Weak<SharedScan>>>>;

/// The shared subqueries of one query, by id: each planned once, by its first reader to open.
/// Weak, as for scans: the subquery's plan holds scan leaves that hold this map.
pub type SharedSubqueries = Arc<Mutex<HashMap<u32, Arc<tokio::sync::OnceCell<Weak<SharedScan>>>>>>;

/// One shared scan or subquery and its readers' queues.
pub struct SharedScan {
    input: Arc<dyn ExecutionPlan>,
    partitions: usize,
    /// What its queues spilled (shown by its first reader).
    metrics: ExecutionPlanMetricsSet,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Per partition, a sender to each reader's queue (moved into the partition's task).
    senders: Vec<Vec<UnboundedSender<Item>>>,
    /// Per reader, per partition, its queue until the reader executes that partition.
    queues: Vec<Vec<Option<Queue>>>,
    /// Per partition, its task once started.
    tasks: Vec<Option<SpawnedTask<()>>>,
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    // A panic while holding the lock leaves consistent state (pushes and takes only).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SharedScan {
    /// The shared scan of leaf `read.leaf` for this query, made with `open` on first use.
    /// `open` makes the scan in copy mode (see the module's rules).
    pub fn get(
        scans: &SharedScans,
        read: &SharedRead,
        open: impl FnOnce() -> Result<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<SharedScan>> {
        let mut map = scans.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get(&read.leaf).and_then(Weak::upgrade) {
            return Ok(s);
        }
        let s = Arc::new(SharedScan::new(open()?));
        map.insert(read.leaf, Arc::downgrade(&s));
        Ok(s)
    }

    /// Share `input`'s rows; no batch it outputs may hold a page (see the module's rules).
    pub fn new(input: Arc<dyn ExecutionPlan>) -> SharedScan {
        let partitions = input.properties().partitioning.partition_count();
        SharedScan {
            input,
            partitions,
            metrics: ExecutionPlanMetricsSet::new(),
            state: Mutex::new(State {
                senders: (0..partitions).map(|_| Vec::new()).collect(),
                queues: Vec::new(),
                tasks: (0..partitions).map(|_| None).collect(),
            }),
        }
    }

    /// The plan whose rows are shared.
    pub fn input(&self) -> &Arc<dyn ExecutionPlan> {
        &self.input
    }

    /// Register a reader: its queues, one per partition. Refused once a partition runs.
    fn register(&self) -> Result<usize> {
        let mut st = lock(&self.state);
        if st.tasks.iter().any(Option::is_some) {
            return Err(DataFusionError::Internal("shared scan reader opened after the scan started".into()));
        }
        let mut queues = Vec::with_capacity(self.partitions);
        for p in 0..self.partitions {
            let (tx, rx) = unbounded_channel();
            st.senders[p].push(tx);
            queues.push(Some(rx));
        }
        st.queues.push(queues);
        Ok(st.queues.len() - 1)
    }

    /// Reader `reader`'s queue of partition `p`, starting the partition's task if needed.
    fn take(&self, reader: usize, p: usize, context: Arc<TaskContext>) -> Result<Queue> {
        let mut st = lock(&self.state);
        let queue =
            st.queues.get_mut(reader).and_then(|q| q.get_mut(p)).and_then(Option::take).ok_or_else(|| {
                DataFusionError::Internal("a shared scan reader's partition is read once".into())
            })?;
        if st.tasks[p].is_none() {
            let senders = std::mem::take(&mut st.senders[p]);
            let reservation = Arc::new(Mutex::new(
                MemoryConsumer::new(format!("SharedScan[{p}]"))
                    .with_can_spill(true)
                    .register(context.memory_pool()),
            ));
            let spill = Arc::new(SpillManager::new(
                context.runtime_env(),
                SpillMetrics::new(&self.metrics, p),
                self.input.schema(),
            ));
            let mut stream = self.input.execute(p, context)?;
            st.tasks[p] = Some(SpawnedTask::spawn(async move {
                // A reader that went away closed its queue: nothing to do for it.
                let send = |item: Item| senders.iter().for_each(|tx| drop(tx.send(item.clone())));
                let closed = || senders.iter().all(|tx| tx.is_closed());
                // The run being written (DataFusion's in-progress spill file) and its bytes.
                let mut run = none_of(|| spill.create_in_progress_file("SharedScan"));
                let mut run_bytes = 0;
                // Finish the run being written, if any, and queue it.
                macro_rules! queue_run {
                    () => {
                        match run.take().map(|mut r| r.finish()) {
                            Some(Err(e)) => return send(Err(Arc::new(e))),
                            Some(Ok(Some(file))) => send(Ok(Some(Queued::Disk(file, spill.clone())))),
                            Some(Ok(None)) | None => {}
                        }
                    };
                }
                loop {
                    let b = match stream.next().await {
                        Some(Ok(b)) if b.num_rows() == 0 => continue,
                        Some(Ok(b)) => b,
                        Some(Err(e)) => return send(Err(Arc::new(e))),
                        None => {
                            queue_run!();
                            return send(Ok(None));
                        }
                    };
                    let bytes = b.get_array_memory_size();
                    // Memory is asked for only while no run is open (a run takes every batch
                    // until it is full, see `spill_step`).
                    let fits = run.is_none()
                        && reservation.lock().unwrap_or_else(|p| p.into_inner()).try_grow(bytes).is_ok();
                    match spill_step(fits, run.as_ref().map(|_| run_bytes), bytes) {
                        SpillStep::Memory => {
                            let charge = Arc::new(Charge { reservation: reservation.clone(), bytes });
                            send(Ok(Some(Queued::Memory(b, charge))));
                        }
                        // Past the query's share: to disk (see the module's rules).
                        SpillStep::Spill { queue_run_after } => {
                            if run.is_none() {
                                match spill.create_in_progress_file("SharedScan") {
                                    Ok(file) => run = Some(file),
                                    Err(e) => return send(Err(Arc::new(e))),
                                }
                                run_bytes = 0;
                            }
                            if let Some(Err(e)) = run.as_mut().map(|r| r.append_batch(&b)) {
                                return send(Err(Arc::new(e)));
                            }
                            run_bytes += bytes;
                            if queue_run_after {
                                queue_run!();
                            }
                        }
                    }
                    if closed() {
                        break;
                    }
                }
            }));
        }
        Ok(queue)
    }
}

/// A reader's stream state: its queue, the shared scan it keeps alive, the run it reads back.
struct Reading {
    queue: Queue,
    _shared: Arc<SharedScan>,
    run: Option<SendableRecordBatchStream>,
}

/// What a reader reads.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// The shared scan of this leaf.
    Scan(u32),
    /// The shared subquery of this id.
    Subquery(u32),
}

/// A plan leaf reading a shared scan or subquery.
pub struct SharedReadExec {
    shared: Arc<SharedScan>,
    reader: usize,
    /// Shared input columns this leaf outputs, in order (after the plan's projection).
    columns: Vec<usize>,
    filter: Option<usize>,
    source: Source,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl SharedReadExec {
    /// A scan leaf reading the shared scan `read` names.
    pub fn scan(
        shared: Arc<SharedScan>,
        read: &SharedRead,
        ids: &[u32],
        types: &[crate::page::ColumnType],
        projection: Option<Vec<usize>>,
    ) -> Result<SharedReadExec> {
        let full = schema_of(types, ids);
        let (schema, picked) = match &projection {
            Some(p) => (Arc::new(full.project(p)?), p.clone()),
            None => (full.clone(), (0..types.len()).collect()),
        };
        let columns = picked
            .iter()
            .map(|&i| read.positions.get(i).map(|&p| p as usize))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| DataFusionError::Internal("shared scan reader column".into()))?;
        let filter = read.filter.map(|f| f as usize);
        SharedReadExec::new(shared, Source::Scan(read.leaf), schema, columns, filter)
    }

    /// A reference to shared subquery `id`, reading the columns `projection` picks.
    pub fn subquery(
        shared: Arc<SharedScan>,
        id: u32,
        projection: Option<Vec<usize>>,
    ) -> Result<SharedReadExec> {
        let full = shared.input.schema();
        let (schema, columns) = match projection {
            Some(p) => (Arc::new(full.project(&p)?), p),
            None => (full.clone(), (0..full.fields().len()).collect()),
        };
        SharedReadExec::new(shared, Source::Subquery(id), schema, columns, None)
    }

    fn new(
        shared: Arc<SharedScan>,
        source: Source,
        schema: SchemaRef,
        columns: Vec<usize>,
        filter: Option<usize>,
    ) -> Result<SharedReadExec> {
        let reader = shared.register()?;
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(shared.partitions),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Ok(SharedReadExec {
            shared,
            reader,
            columns,
            filter,
            source,
            schema,
            properties,
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }
}

/// This reader's rows and columns of one shared batch.
fn select(
    batch: &RecordBatch,
    columns: &[usize],
    filter: Option<usize>,
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    let arrays: Vec<ArrayRef> = columns.iter().map(|&c| batch.column(c).clone()).collect();
    let (arrays, rows) = match filter {
        None => (arrays, batch.num_rows()),
        Some(f) => {
            let keep = batch
                .column(f)
                .as_boolean_opt()
                .ok_or_else(|| DataFusionError::Internal("shared scan filter is not boolean".into()))?;
            let keep = if keep.null_count() > 0 { prep_null_mask_filter(keep) } else { keep.clone() };
            let rows = keep.true_count();
            let f = FilterBuilder::new(&keep).optimize().build();
            (arrays.iter().map(|a| f.filter(a.as_ref())).collect::<std::result::Result<_, _>>()?, rows)
        }
    };
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(schema.clone(), arrays, &options)?)
}

impl fmt::Debug for SharedReadExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedReadExec({:?})", self.source)
    }
}

impl DisplayAs for SharedReadExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source {
            Source::Scan(leaf) => {
                write!(f, "SharedReadExec: leaf={leaf}, filtered={}", self.filter.is_some())
            }
            Source::Subquery(id) => write!(f, "SharedReadExec: subquery={id}"),
        }
    }
}

impl ExecutionPlan for SharedReadExec {
    fn name(&self) -> &str {
        "SharedReadExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn metrics(&self) -> Option<MetricsSet> {
        let mut set = self.metrics.clone_inner();
        if self.reader == 0 {
            // What the shared queues spilled, once per shared scan.
            for m in self.shared.metrics.clone_inner().iter() {
                set.push(m.clone());
            }
        }
        Some(set)
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
            Err(DataFusionError::Internal("SharedReadExec has no children".into()))
        }
    }

    /// A shared scan's estimate: every row it reads, an upper bound of this reader's; a shared
    /// subquery's: its plan's row estimate.
    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        let stats = datafusion::physical_plan::statistics::StatisticsContext::new()
            .compute(self.shared.input.as_ref(), &StatisticsArgs::new())?;
        let rows = stats.num_rows.get_value().map(|&n| n as u64);
        Ok(Arc::new(estimated_statistics(&self.schema, rows, args.partition(), self.shared.partitions)))
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let queue = self.shared.take(self.reader, partition, context)?;
        let baseline = BaselineMetrics::new(&self.metrics, partition);
        let (columns, filter, schema) = (self.columns.clone(), self.filter, self.schema.clone());
        // The stream holds the shared scan: its tasks live while any reader reads. `run` is the
        // spill run being read back (its file stays while this reader reads it).
        let state = Reading { queue, _shared: self.shared.clone(), run: None };
        let stream = futures::stream::unfold(Some(state), |state| async move {
            let mut st = state?;
            loop {
                if let Some(run) = st.run.as_mut() {
                    match run.next().await {
                        Some(Ok(b)) => return Some((Ok((b, None)), Some(st))),
                        Some(Err(e)) => return Some((Err(e), None)),
                        None => st.run = None,
                    }
                }
                match st.queue.recv().await {
                    // The charge goes with this reader's copy once `select` made its own batch.
                    Some(Ok(Some(Queued::Memory(b, charge)))) => {
                        return Some((Ok((b, Some(charge))), Some(st)))
                    }
                    Some(Ok(Some(Queued::Disk(file, spill)))) => {
                        match spill.read_spill_as_stream_unbuffered(file, None) {
                            Ok(run) => st.run = Some(run),
                            Err(e) => return Some((Err(e), None)),
                        }
                    }
                    Some(Ok(None)) => return None,
                    Some(Err(e)) => return Some((Err(DataFusionError::Shared(e)), None)),
                    None => {
                        return Some((
                            Err(DataFusionError::Internal("shared scan task ended early".into())),
                            None,
                        ))
                    }
                }
            }
        })
        .map(move |b: Result<(RecordBatch, Option<Arc<Charge>>)>| {
            let (b, _charge) = b?;
            let b = select(&b, &columns, filter, &schema)?;
            Ok(b.record_output(&baseline))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream)))
    }
}
