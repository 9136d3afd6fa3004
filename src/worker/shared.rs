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
//!   to a spill file instead (one per batch, removed when the last reader has read it), which
//!   each reader reads back in its turn: a lagging reader cannot be waited for without waiting
//!   for itself, and never fails the query.
//! - The tasks are aborted when the last reader (plan node or stream) is dropped; a reader
//!   dropped early only closes its queue.
//! - A reader keeps the rows whose filter column is true (NULL drops the row, as in WHERE) and
//!   its own columns, in its own order.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::{concat_batches, prep_null_mask_filter, FilterBuilder};
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
use crate::plan::spec::SharedRead;
use crate::plan::table::schema_of;

/// What a partition's task sends each reader: batches, then `Ok(None)` at the end (a queue
/// closed without it means the task died: an error, never a short result). Each batch carries
/// its memory charge, shared by the readers' copies.
type Item = std::result::Result<Option<Queued>, Arc<DataFusionError>>;

/// A batch in the readers' queues: in memory, with its charge; or in a spill file.
#[derive(Clone)]
enum Queued {
    Memory(RecordBatch, Arc<Charge>),
    Disk(Arc<dyn SpillFile>, Arc<SpillManager>),
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
                loop {
                    let item: Item = match stream.next().await {
                        Some(Ok(b)) if b.num_rows() == 0 => continue,
                        Some(Ok(b)) => {
                            let bytes = b.get_array_memory_size();
                            let grown = reservation.lock().unwrap_or_else(|p| p.into_inner()).try_grow(bytes);
                            match grown {
                                Ok(()) => Ok(Some(Queued::Memory(
                                    b,
                                    Arc::new(Charge { reservation: reservation.clone(), bytes }),
                                ))),
                                // Past the query's share: to disk (see the module's rules).
                                Err(_) => match spill.spill_record_batch_and_finish(&[b], "SharedScan") {
                                    Ok(Some(file)) => Ok(Some(Queued::Disk(file, spill.clone()))),
                                    Ok(None) => continue,
                                    Err(e) => Err(Arc::new(e)),
                                },
                            }
                        }
                        Some(Err(e)) => Err(Arc::new(e)),
                        None => Ok(None),
                    };
                    let last = !matches!(item, Ok(Some(_)));
                    for tx in &senders {
                        // A reader that went away closed its queue: nothing to do for it.
                        let _ = tx.send(item.clone());
                    }
                    if last || senders.iter().all(|tx| tx.is_closed()) {
                        break;
                    }
                }
            }));
        }
        Ok(queue)
    }
}

/// The batch a queue spilled to `file`.
async fn read_back(file: Arc<dyn SpillFile>, spill: &SpillManager) -> Result<RecordBatch> {
    let mut stream = spill.read_spill_as_stream_unbuffered(file, None)?;
    let mut batches = Vec::new();
    while let Some(b) = stream.next().await {
        batches.push(b?);
    }
    Ok(concat_batches(spill.schema(), &batches)?)
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
        // The stream holds the shared scan: its tasks live while any reader reads.
        let state = (queue, self.shared.clone());
        let stream = futures::stream::unfold(Some(state), |state| async move {
            let (mut queue, shared) = state?;
            match queue.recv().await {
                // The charge goes with this reader's copy once `select` made its own batch.
                Some(Ok(Some(Queued::Memory(b, charge)))) => {
                    Some((Ok((b, Some(charge))), Some((queue, shared))))
                }
                Some(Ok(Some(Queued::Disk(file, spill)))) => {
                    let b = read_back(file, &spill).await.map(|b| (b, None));
                    Some((b, Some((queue, shared))))
                }
                Some(Ok(None)) => None,
                Some(Err(e)) => Some((Err(DataFusionError::Shared(e)), None)),
                None => Some((Err(DataFusionError::Internal("shared scan task ended early".into())), None)),
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
