//! Scan leaves that read a shared scan's rows: a relation several leaves of one query read is
//! read from PostgreSQL once (see `plan::share` for what the shared scan returns).
//!
//! Rules:
//! - One [`SharedScan`] per shared scan and query, made when its first reader is opened. Every
//!   reader registers while the physical plan is built, before any partition runs: a reader
//!   registering later would miss rows, so it is refused.
//! - Partition `p` of the shared scan (one per scan producer) is driven by one task, spawned when
//!   a reader first executes partition `p`. It reads the scan leaf in copy mode (each page goes
//!   back to the pool as soon as its batch is copied) and sends every batch to each reader's
//!   queue for `p`. Queues are unbounded: a reader that lags behind another (a hash join's probe
//!   side while its build side is read) holds batches in worker memory, never pages, so producers
//!   never wait on a reader that is not reading.
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
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{
    BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet, RecordOutput,
};
use datafusion::physical_plan::statistics::StatisticsArgs;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use futures::StreamExt;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::scan::{estimated_statistics, PgScanExec};
use crate::plan::spec::SharedRead;
use crate::plan::table::schema_of;

/// What a partition's task sends each reader: batches, then `Ok(None)` at the end (a queue
/// closed without it means the task died: an error, never a short result).
type Item = std::result::Result<Option<RecordBatch>, Arc<DataFusionError>>;
type Queue = UnboundedReceiver<Item>;

/// The shared scans of one query, by leaf: weak, so that the scans go away with their readers.
pub type SharedScans = Arc<Mutex<HashMap<u32, Weak<SharedScan>>>>;

/// One shared scan and its readers' queues.
pub struct SharedScan {
    scan: Arc<PgScanExec>,
    partitions: usize,
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
    pub fn get(
        scans: &SharedScans,
        read: &SharedRead,
        open: impl FnOnce() -> Result<Arc<PgScanExec>>,
    ) -> Result<Arc<SharedScan>> {
        let mut map = scans.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get(&read.leaf).and_then(Weak::upgrade) {
            return Ok(s);
        }
        let scan = open()?;
        scan.copy.store(true, std::sync::atomic::Ordering::Relaxed);
        let partitions = scan.properties().partitioning.partition_count();
        let s = Arc::new(SharedScan {
            scan,
            partitions,
            state: Mutex::new(State {
                senders: (0..partitions).map(|_| Vec::new()).collect(),
                queues: Vec::new(),
                tasks: (0..partitions).map(|_| None).collect(),
            }),
        });
        map.insert(read.leaf, Arc::downgrade(&s));
        Ok(s)
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
            let mut stream = self.scan.execute(p, context)?;
            st.tasks[p] = Some(SpawnedTask::spawn(async move {
                loop {
                    let item: Item = match stream.next().await {
                        Some(Ok(b)) => Ok(Some(b)),
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

/// A scan leaf reading a shared scan.
pub struct SharedReadExec {
    shared: Arc<SharedScan>,
    reader: usize,
    /// Shared scan columns this leaf outputs, in order (after the plan's projection).
    columns: Vec<usize>,
    filter: Option<usize>,
    leaf: u32,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl SharedReadExec {
    pub fn new(
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
            filter: read.filter.map(|f| f as usize),
            leaf: read.leaf,
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
        write!(f, "SharedReadExec(leaf {})", self.leaf)
    }
}

impl DisplayAs for SharedReadExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedReadExec: leaf={}, filtered={}", self.leaf, self.filter.is_some())
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
            Err(DataFusionError::Internal("SharedReadExec has no children".into()))
        }
    }

    /// The shared scan's estimate: every row it reads, an upper bound of this reader's.
    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        let scan = &self.shared.scan;
        Ok(Arc::new(estimated_statistics(
            &self.schema,
            scan.estimated_rows(),
            args.partition(),
            scan.partitions(),
        )))
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
                Some(Ok(Some(b))) => Some((Ok(b), Some((queue, shared)))),
                Some(Ok(None)) => None,
                Some(Err(e)) => Some((Err(DataFusionError::Shared(e)), None)),
                None => Some((Err(DataFusionError::Internal("shared scan task ended early".into())), None)),
            }
        })
        .map(move |b: Result<RecordBatch>| {
            let b = select(&b?, &columns, filter, &schema)?;
            Ok(b.record_output(&baseline))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream)))
    }
}
