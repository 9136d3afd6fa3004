//! One query in the worker: deserialize the plan, run it on Tokio, write result blocks.
//!
//! Rules:
//! - The task never calls PostgreSQL. It wakes the backend with [`signal_latch`] (SIGUSR1).
//! - Result pages are leased under the query's `Results` owner until the backend takes them over;
//!   the main thread reclaims what is left only when the task has finished AND the backend's
//!   session has ended (so no page is freed while the task writes it or the backend may still
//!   take it over).
//! - Cancel: the main thread sets `canceled` when the control session ends; the task stops at its
//!   next await point and drops the whole stream.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::error::ArrowError;
use datafusion::common::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::SessionContext;
use futures::{FutureExt, StreamExt};
use tokio::sync::{Notify, Semaphore};

use super::runtime_filter::QueryFilters;
use super::scan::{mark_copy_modes, PageSource};
use super::slot_rings::SlotRings;
use crate::page::batch::{put_rows, BatchError};
use crate::page::encode::BlockWriter;
use crate::page::ColumnType;
use crate::plan::codec;
use crate::plan::memory::{needs_spilling_joins, QueryPool};
use crate::protocol::{envelope, paged, Execute, PageRef, PagedRef, ToBackend};
use crate::shm::ring::SendError;
use crate::shm::{signal_latch, Metric, Segment, SlotKind, SlotLease, WorkerRole};

pub struct QueryTask {
    pub seg: Segment,
    pub lease: SlotLease,
    pub backend_pid: i32,
    pub request: Execute,
    pub session: SessionContext,
    pub activity: Arc<Notify>,
    /// The worker's side of the slots' rings (see `super::slot_rings`).
    pub rings: Arc<SlotRings>,
    pub canceled: Arc<AtomicBool>,
    pub permits: Arc<Semaphore>,
    pub tail_bytes_per_row: usize,
    /// Bytes of the worker's memory pool this query may hold (`crate::plan::memory`); None: unbounded.
    pub query_memory: Option<usize>,
}

/// The bytes the operators of `plan` spilled to disk (DataFusion's `spilled_bytes` metrics).
fn spilled_bytes(plan: &Arc<dyn datafusion::physical_plan::ExecutionPlan>) -> usize {
    let own = plan.metrics().and_then(|m| m.spilled_bytes()).unwrap_or(0);
    own + plan.children().into_iter().map(spilled_bytes).sum::<usize>()
}

/// A query failure as the backend reports it.
struct Failure {
    sqlstate: [u8; 5],
    message: String,
}

impl Failure {
    fn internal(message: impl Into<String>) -> Failure {
        Failure { sqlstate: *b"XX000", message: message.into() }
    }
}

fn arrow_sqlstate(e: &ArrowError) -> [u8; 5] {
    match e {
        ArrowError::DivideByZero => *b"22012",
        ArrowError::ArithmeticOverflow(_) => *b"22003",
        ArrowError::CastError(m) | ArrowError::ComputeError(m)
            if m.to_ascii_lowercase().contains("overflow")
                || m.contains("too large")
                || m.contains("is out of range Int") =>
        {
            *b"22003"
        }
        _ => *b"XX000",
    }
}

impl From<DataFusionError> for Failure {
    fn from(e: DataFusionError) -> Failure {
        let sqlstate = match e.find_root() {
            DataFusionError::ArrowError(a, _) => arrow_sqlstate(a),
            DataFusionError::ResourcesExhausted(_) => *b"53200",
            DataFusionError::NotImplemented(_) => *b"0A000",
            _ => *b"XX000",
        };
        let message = match e.find_root() {
            // A refusal found while running: named as the planner's refusals are.
            DataFusionError::NotImplemented(m) => format!("unsupported {m}"),
            // PostgreSQL's words for PostgreSQL's errors.
            DataFusionError::ArrowError(a, _) if matches!(**a, ArrowError::DivideByZero) => {
                "division by zero".to_string()
            }
            DataFusionError::ArrowError(a, _) => match a.as_ref() {
                ArrowError::ArithmeticOverflow(m) if m.ends_with("out of range") => m.clone(),
                // A decimal (a sum, say) past its type's digits: PostgreSQL's words.
                ArrowError::CastError(m)
                    if m.starts_with("Cannot cast to Decimal") && m.contains("Overflowing") =>
                {
                    "numeric field overflow".to_string()
                }
                _ => a.to_string(),
            },
            root => root.to_string(),
        };
        Failure { sqlstate, message }
    }
}

fn column_types(schema: &datafusion::arrow::datatypes::Schema) -> Result<Vec<ColumnType>, Failure> {
    schema
        .fields()
        .iter()
        .map(|f| {
            crate::page::ColumnType::from_arrow(f.data_type()).ok_or_else(|| {
                Failure::internal(format!("result column of type {} cannot be carried", f.data_type()))
            })
        })
        .collect()
}

impl QueryTask {
    pub async fn run(self) {
        let started = Instant::now();
        let seg = self.seg;
        let result = match self.permits.clone().acquire_owned().await {
            // A panic in DataFusion (planning or execution) fails this query with XX000 instead
            // of ending the task silently, which would leave the backend waiting for an answer.
            Ok(_permit) => match std::panic::AssertUnwindSafe(self.execute()).catch_unwind().await {
                Ok(r) => r,
                Err(p) => Err(Failure::internal(crate::pg::error::panic_message(p))),
            },
            Err(_) => Err(Failure::internal("the worker is shutting down")),
        };
        seg.metrics().add(Metric::WorkerTotalNs, started.elapsed().as_nanos() as u64);
        if self.canceled.load(Ordering::Relaxed) {
            return; // nobody listens any more
        }
        let msg = match result {
            Ok((rows, plan)) => ToBackend::Done { rows, plan },
            Err(f) => {
                tracing::debug!(slot = self.lease.index, sqlstate = ?std::str::from_utf8(&f.sqlstate), message = %f.message, "query failed");
                ToBackend::Error { sqlstate: f.sqlstate, message: f.message }
            }
        };
        let _ = self.send(&msg).await;
    }

    async fn send(&self, msg: &ToBackend) -> Result<(), Failure> {
        let mut frame = Vec::new();
        envelope(self.lease.generation, &mut frame, |out| msg.encode(out));
        let slot =
            self.seg.slot(SlotKind::Control, self.lease.index).ok_or_else(|| Failure::internal("slot"))?;
        if frame.len() > slot.to_backend.max_payload() {
            // Only a plan with metrics outgrows the ring: it travels through pages.
            let paged = self.write_pages(&frame[4..]).await?;
            envelope(self.lease.generation, &mut frame, |out| ToBackend::Paged(paged).encode(out));
            self.seg.metrics().inc(Metric::ControlPagedMessagesTotal);
        }
        loop {
            let sent = {
                // Checked under the slot's lock: once the session ended, the next one's replies
                // may be written (see `super::slot_rings`).
                let _ring = self.rings.lock(SlotKind::Control, self.lease.index);
                if self.canceled.load(Ordering::Relaxed) || !slot.is_current(self.lease) {
                    return Err(Failure { sqlstate: *b"57014", message: "canceled".into() });
                }
                slot.to_backend.try_send(&frame)
            };
            match sent {
                Ok(()) => {
                    self.seg.metrics().inc(Metric::ControlMessagesToBackendTotal);
                    signal_latch(self.backend_pid);
                    return Ok(());
                }
                Err(SendError::Full) => {
                    self.seg.metrics().inc(Metric::ControlRingFullTotal);
                    signal_latch(self.backend_pid);
                    self.idle().await;
                }
                Err(SendError::TooLarge { .. }) => return Err(Failure::internal("result message too large")),
            }
        }
    }

    /// Copy a message too large for the ring into pages under the query's `Results` owner (the
    /// backend takes them over as it takes result pages over), waiting while the pool is short.
    async fn write_pages(&self, body: &[u8]) -> Result<PagedRef, Failure> {
        let pool = self.seg.pool();
        if paged::pages_needed(body.len(), pool.page_size()) > pool.page_count() / 4 {
            return Err(Failure::internal(format!(
                "message of {} bytes too large for the page pool",
                body.len()
            )));
        }
        let owner = self.seg.worker_owner(WorkerRole::Results, self.lease);
        loop {
            if let Some(pages) = paged::write(&pool, owner, body) {
                return Ok(PagedRef { len: body.len() as u32, pages });
            }
            if self.canceled.load(Ordering::Relaxed) {
                return Err(Failure { sqlstate: *b"57014", message: "canceled".into() });
            }
            self.idle().await;
        }
    }

    /// Wait for activity (the main thread relays latch wakes), at most a millisecond.
    async fn idle(&self) {
        let _ = tokio::time::timeout(Duration::from_millis(1), self.activity.notified()).await;
    }

    async fn execute(&self) -> Result<(u64, String), Failure> {
        let seg = self.seg;
        // The pages the backend reserved for the query (see `crate::shm::admission`): the worker
        // keeps within its pins and its result pages.
        let (pins, results) = (self.request.pins.max(1) as usize, self.request.results.max(1) as usize);
        let source = Arc::new(PageSource {
            seg,
            scans: self.request.scans.clone(),
            estimates: self.request.estimates.clone(),
            import_owner: seg.worker_owner(WorkerRole::ScanImport, self.lease),
            activity: self.activity.clone(),
            rings: self.rings.clone(),
            canceled: self.canceled.clone(),
            page_size: seg.pool().page_size(),
            shared: Default::default(),
            subqueries: Default::default(),
            credits: self.request.credits,
            pins,
            pinned: Default::default(),
            idle_poll: Duration::from_micros(self.request.idle_poll_us.max(1) as u64),
            runtime_filter_hashes: self.request.runtime_filter_hashes as u32,
            filters: Arc::new(QueryFilters::new(seg)),
            probes: self.request.probes.clone(),
        });
        let mut state = self.session.state();
        let mut task_ctx = self.session.task_ctx();
        let logical = codec::from_bytes(&self.request.plan, &task_ctx, Some(source.clone()))?;
        let logical = state.optimize(&logical)?;
        if let Some(share) = self.query_memory {
            // Its allocations through its share of the worker's pool (see `crate::plan::memory`).
            let mut env = state.runtime_env().as_ref().clone();
            env.memory_pool = Arc::new(QueryPool::new(env.memory_pool.clone(), share));
            task_ctx = Arc::new(TaskContext::from(&state).with_runtime(Arc::new(env)));
            let estimates = &self.request.estimates;
            let leaf_rows = |leaf: u32| estimates.get(leaf as usize).copied().flatten();
            if needs_spilling_joins(&logical, share / 2, &leaf_rows) {
                // A hash table too large for the share: sort-merge joins, which spill.
                tracing::debug!(slot = self.lease.index, "planning sort-merge joins");
                let options = state.config_mut().options_mut();
                options.optimizer.prefer_hash_join = false;
                options.optimizer.repartition_joins = true;
                options.execution.target_partitions = options.execution.target_partitions.max(2);
            }
        }
        let physical = state.query_planner().clone().create_physical_plan(&logical, &state).await?;
        let physical = source.wire_runtime_filters(physical)?;
        mark_copy_modes(&physical, false);
        tracing::debug!(slot = self.lease.index, plan = %datafusion::physical_plan::displayable(physical.as_ref()).indent(true), "executing");
        let types = column_types(&physical.schema())?;
        let mut stream = execute_stream(physical.clone(), task_ctx)?;
        let owner = seg.worker_owner(WorkerRole::Results, self.lease);
        let pool = seg.pool();
        let capacity = BlockWriter::plan_capacity(pool.page_size(), &types, self.tail_bytes_per_row)
            .map_err(|_| Failure {
                sqlstate: *b"54000",
                message: format!(
                    "result rows of {} columns do not fit a page; raise pg_fusion.page_size",
                    types.len()
                ),
            })?;
        let mut total: u64 = 0;
        loop {
            let batch = tokio::select! {
                b = stream.next() => b,
                _ = self.wait_canceled() => return Err(Failure { sqlstate: *b"57014", message: "canceled".into() }),
            };
            let Some(batch) = batch else { break };
            let batch = batch?;
            let mut next = 0;
            while next < batch.num_rows() {
                let desc = loop {
                    // Results the backend has not consumed yet stay within the budget: it
                    // releases each page as it reads it, and wakes us.
                    if pool.held_by(owner) < results {
                        if let Some(d) = pool.acquire(owner) {
                            break d;
                        }
                    }
                    if self.canceled.load(Ordering::Relaxed) {
                        return Err(Failure { sqlstate: *b"57014", message: "canceled".into() });
                    }
                    seg.metrics().inc(Metric::PageAcquireWaitTotal);
                    self.idle().await;
                };
                seg.metrics().inc(Metric::PageAcquireTotal);
                let ptr = pool.page_ptr(desc).map_err(|_| Failure::internal("result page vanished"))?;
                // A value too wide for a block planned for many rows gets a block of one row.
                let mut written = None;
                for cap in [capacity, 1] {
                    // SAFETY: we hold the lease on this page (owner `owner`, generation `desc`);
                    // nobody else writes it until we hand its descriptor over. One writer at a time.
                    let bytes = unsafe { std::slice::from_raw_parts_mut(ptr, pool.page_size()) };
                    let mut w = BlockWriter::new(bytes, &types, cap)
                        .map_err(|e| Failure::internal(format!("result block: {e:?}")))?;
                    match put_rows(&mut w, &batch, &types, next) {
                        Ok(a) => {
                            written = Some((a, w.finish()));
                            break;
                        }
                        Err(BatchError::ValueTooLarge { .. }) if cap > 1 => continue,
                        Err(BatchError::ValueTooLarge { column, len }) => {
                            let _ = pool.release(desc);
                            return Err(Failure {
                                sqlstate: *b"54000",
                                message: format!(
                                    "result value of {len} bytes in column {} does not fit a page; raise pg_fusion.page_size",
                                    column + 1
                                ),
                            });
                        }
                        Err(BatchError::DecimalOverflow { column }) => {
                            let _ = pool.release(desc);
                            return Err(Failure {
                                sqlstate: *b"22003",
                                message: format!("numeric field overflow in result column {}", column + 1),
                            });
                        }
                        Err(e) => {
                            let _ = pool.release(desc);
                            return Err(Failure::internal(format!("result batch: {e:?}")));
                        }
                    }
                }
                let Some((after, rows)) = written else {
                    let _ = pool.release(desc);
                    return Err(Failure::internal("result block could not be written"));
                };
                next = after;
                total += rows as u64;
                seg.metrics().inc(Metric::WorkerResultPagesTotal);
                self.send(&ToBackend::ResultPage(PageRef {
                    index: desc.index,
                    generation: desc.generation,
                    rows: rows as u32,
                }))
                .await?;
            }
        }
        let plan = if self.request.analyze {
            let show = |p: &Arc<dyn datafusion::physical_plan::ExecutionPlan>| {
                datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(p.as_ref())
                    .indent(true)
                    .to_string()
            };
            let mut text = show(&physical);
            for (id, p) in source.subquery_plans() {
                text.push_str(&format!("{} (computed once):\n", crate::plan::table::SubqueryTable::name(id)));
                for line in show(&p).lines() {
                    text.push_str(&format!("  {line}\n"));
                }
            }
            text
        } else {
            String::new()
        };
        // What the operators spilled (sorts, aggregations, repartitions past the memory limit).
        let spilled: usize = std::iter::once(physical.clone())
            .chain(source.subquery_plans().into_iter().map(|(_, p)| p))
            .map(|p| spilled_bytes(&p))
            .sum();
        seg.metrics().add(Metric::WorkerSpilledBytesTotal, spilled as u64);
        Ok((total, plan))
    }

    async fn wait_canceled(&self) {
        while !self.canceled.load(Ordering::Relaxed) {
            let _ = tokio::time::timeout(Duration::from_millis(50), self.activity.notified()).await;
        }
    }
}
