//! A scan producer: run a leaf's PostgreSQL plan through PostgreSQL's executor and encode each
//! slot straight into Arrow blocks in shared pages (the leader backend, and each parallel worker).
//!
//! Files: `receiver` (the DestReceiver that encodes each row into the current block), this file
//! (the producer: its executor, its blocks' way to the worker, flow control). The block ranges
//! its parallel producers share are claimed as `crate::shm::block_ranges` says.
//!
//! Rules:
//! - The leaf's plan is the one PostgreSQL planned when pg_fusion planned (`super::leaf`), run
//!   under the statement's snapshot and parameters; its executor start checks its permissions
//!   as PostgreSQL's own plan would (the view owner's rights where the range-table entry says
//!   so). Nothing is parsed or planned here. One executor start per producer and leaf; a new
//!   block range is a rescan with new heap scan limits.
//! - A leaf split by block ranges reads one table, or an Append of partitions (or inheritance
//!   children) whose every child is a sequential scan: each range is then one child's, the other
//!   children limited to no block (`crate::shm::block_ranges` states how the ranges cover every block once).
//! - The executor is driven `scan_fetch_batch_rows` rows at a time by the exec loop, which also
//!   drains result pages, so the backend never waits inside the executor: when no page is free (or
//!   the scan ring is full) the receiver keeps the current row aside and stops the executor; the
//!   exec loop retries later (backpressure without deadlock: results keep flowing meanwhile).
//! - `receive_slot` runs inside PostgreSQL's executor and may be longjmp'd over by an ERROR from
//!   detoasting: its frames own nothing (all state lives in `receiver::ProducerState`, reached
//!   by pointer).
//! - Pages are leased under the scan slot's owner id until the worker takes them over; dropping
//!   the [`ScanSession`] reclaims the rest.
//! - Credit-based flow control: a producer fills at most `credits` pages the worker has not
//!   imported yet. It starts with none: the worker grants the query's `credits` when it first
//!   reads the producer's partition, then one per page it imports (`ScanMsg::Credit` on the scan
//!   slot's worker->backend ring), and wakes page waiters. A leaf DataFusion does not read yet
//!   (the probe side of a hash join while the build side loads) therefore fills no page instead
//!   of taking the pool the other leaves need (no deadlock between the leaves of a query), and
//!   the runtime filters of its joins' build sides come before its first page.
//!   The credits are part of the query's page reservation (`crate::shm::admission`): a share of
//!   the pool per producer when the pool is not contended, two when it is.
//! - Runtime filters (`crate::shm::filter`): the worker may send filters on the ring its credits
//!   come by, always before the credits that should see them; from then on a row whose key a
//!   filter rejects is counted, not encoded. A filter the producer cannot read (its slot freed,
//!   a column it does not know) passes every row.
//! - Index probes (`probe`): the worker may, before the first credit, tell the producer to read
//!   the leaf through an index by batches of keys it publishes in filter slots; the leaf's plan
//!   is then ended and its probe plan run per batch. Rows are filtered and encoded as any others.
//!   Every producer of the leaf gets every batch and runs those it claims first
//!   (`probe`), so the leader and its parallel workers share them. A producer with probe plans
//!   never ends before a credit or a `Probe` came (the leader's parallel workers' block ranges
//!   would be dropped by a later probe, and the leader must be there to claim every batch).
//! - Wakeups: a producer that cannot go on (no credit, no free page, its ring full) registers
//!   as a page waiter of its slot before it sleeps, and re-checks after registering; the
//!   worker's reader wakes page waiters after every page it reads and every page it releases.
//!   A wakeup clears the registration it answers (one signal per wait), so a producer still
//!   blocked when it runs again registers anew and re-checks before it sleeps again.
//!   The worker itself is woken once per `WAKE_EVERY_PAGES` pages, and always before the
//!   producer sleeps, ends or fails, so no sent page waits for a wakeup.

use super::error::{guard, PgError, PgResult, SqlState};
use super::latch;
use super::sys;
use crate::control::ScanSession;
use crate::page::encode::BlockWriter;
use crate::page::ColumnType;
use crate::pg::leaf::ProbePlan;
use crate::protocol::ScanMsg;
use crate::shm::{Claim, Metric, SlotKind, Wakeup};
use probe::Probing;

mod probe;
mod receiver;

pub use crate::shm::block_ranges::{Chunks, MIN_CHUNK_BLOCKS};
use receiver::{receive_slot, receiver_noop, receiver_startup, ProducerState, Put, Receiver};

pub struct Producer {
    session: ScanSession,
    worker: Wakeup,
    /// The leaf's plan, started (NULL for a producer that only ends, and after the end).
    qd: *mut sys::QueryDesc,
    state: Box<ProducerState>,
    fetch: i64,
    /// The executor has returned its last row (of the last block range).
    exhausted: bool,
    /// `End` was sent.
    ended: bool,
    /// Pages sent since the worker was last woken (see [`Producer::wake_worker`]).
    unsignaled: u32,
    /// Registered as waiting because the ring to the worker was full.
    ring_wait: bool,
    /// Block ranges to scan one after the other (parallel producers); None: the whole plan.
    chunks: Option<Chunks>,
    /// The plan has run over a block range: the next one is a rescan.
    ranged: bool,
    /// The plan is an Append: a range is one child's (`Chunks::relations`).
    relations: bool,
    /// Where its executor runs.
    env: ExecEnv,
    /// The leaf's index probes, and what a `Probe` on a column without one means.
    probes: Vec<ProbePlan>,
    probe_role: ProbeRole,
    /// A `Probe` came that this producer leaves to the others (`ProbeRole::Helper` without
    /// its plan): the batches that follow are theirs to claim.
    probe_declined: bool,
    /// Reading the leaf through an index (see `probe`).
    probe: Option<Probing>,
    /// A credit or a `Probe` came: the worker has decided how the leaf is read. Until then a
    /// producer with probe plans does not end (see `advance`).
    decided: bool,
}

/// Where a producer's executor runs: the statement's parameters and snapshot, the memory
/// context its executor state lives in, the statement's text (for hooks that report it) and
/// its instrumentation options (EXPLAIN ANALYZE).
#[derive(Clone, Copy)]
pub struct ExecEnv {
    pub params: sys::ParamListInfo,
    pub snapshot: sys::Snapshot,
    pub memory: sys::MemoryContext,
    pub source: *const std::ffi::c_char,
    pub instrument: i32,
}

/// Whose index probes a producer holds (see `probe`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeRole {
    /// The leader's: every probe plan the worker may ask for (a `Probe` on a column without
    /// one is an error), and it runs every batch no parallel worker claims.
    Leader,
    /// A parallel worker's: a `Probe` on a column whose plan it was not given reads nothing.
    Helper,
}

/// Pages a producer sends before it sets the worker's latch (see [`Producer::wake_worker`]).
const WAKE_EVERY_PAGES: u32 = 4;

impl Producer {
    /// Start the leaf's `plan` on `session` (the leader's own slot, or one it claimed for a
    /// parallel worker and the worker attached to): one executor start. Without `chunks` it
    /// reads the whole relation; with them, per block range a rescan with the range as heap
    /// scan limits, ending at once when every range is taken already.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        session: ScanSession,
        worker: Wakeup,
        chunks: Option<Chunks>,
        plan: *mut sys::PlannedStmt,
        types: Vec<ColumnType>,
        pg_types: Vec<sys::Oid>,
        env: &ExecEnv,
        probes: Vec<ProbePlan>,
        probe_role: ProbeRole,
    ) -> PgResult<Producer> {
        let chunked = chunks.is_some();
        let mut p = Producer::new(session, worker, chunks, types, pg_types, *env)?;
        p.probes = probes;
        p.probe_role = probe_role;
        p.open(plan, env)?;
        if chunked {
            p.count_relations()?;
        }
        if chunked && !p.next_range()? {
            p.exhausted = true;
        }
        Ok(p)
    }

    /// A producer that sends End at once (a parallel worker that did not start).
    pub fn empty(
        session: ScanSession,
        worker: Wakeup,
        types: Vec<ColumnType>,
        pg_types: Vec<sys::Oid>,
    ) -> PgResult<Producer> {
        let env = ExecEnv {
            params: std::ptr::null_mut(),
            snapshot: std::ptr::null_mut(),
            memory: std::ptr::null_mut(),
            source: std::ptr::null(),
            instrument: 0,
        };
        let mut p = Producer::new(session, worker, None, types, pg_types, env)?;
        p.exhausted = true;
        Ok(p)
    }

    fn new(
        session: ScanSession,
        worker: Wakeup,
        chunks: Option<Chunks>,
        types: Vec<ColumnType>,
        pg_types: Vec<sys::Oid>,
        env: ExecEnv,
    ) -> PgResult<Producer> {
        let seg = session.segment();
        let owner = session.pool_owner();
        let pool = seg.pool();
        let capacity = BlockWriter::plan_capacity(pool.page_size(), &types, super::guc::tail_bytes_per_row())
            .map_err(|_| {
                PgError::new(
                    SqlState::PROGRAM_LIMIT_EXCEEDED,
                    format!("scan rows of {} columns do not fit a page", types.len()),
                )
                .with_hint("Raise pg_fusion.page_size.")
            })?;
        if pg_types.len() != types.len() {
            return Err(PgError::internal("scan column types differ in the plan"));
        }
        let layouts =
            pg_types.iter().map(|&t| crate::pg::catalog::type_layout(t)).collect::<PgResult<Vec<_>>>()?;
        let state = Box::new(ProducerState {
            block: None,
            types: types.into_boxed_slice(),
            pg_types,
            layouts,
            seg,
            owner,
            capacity,
            // None until the worker first reads the leaf's partition (the query's reservation
            // counts the credits it grants, see `crate::shm::admission`).
            credits: 0,
            to_send: None,
            pending: std::ptr::null_mut(),
            has_pending: false,
            stalled: false,
            waiting_for_page: false,
            error: None,
            rows: 0,
            filters: Vec::new(),
            filter_attrs: 0,
            rejected: 0,
        });
        seg.metrics().inc(Metric::ScanProducersStartedTotal);
        Ok(Producer {
            session,
            worker,
            qd: std::ptr::null_mut(),
            state,
            fetch: super::guc::scan_fetch_batch_rows(),
            exhausted: false,
            ended: false,
            unsignaled: 0,
            ring_wait: false,
            chunks,
            ranged: false,
            relations: false,
            env,
            probes: Vec::new(),
            probe_role: ProbeRole::Helper,
            probe_declined: false,
            probe: None,
            decided: false,
        })
    }

    /// The next block range: the plan rescanned (after the first) and limited to the range's
    /// blocks; false when none is left.
    fn next_range(&mut self) -> PgResult<bool> {
        let Some((rel, range)) = self.chunks.as_ref().and_then(|c| c.claim()) else { return Ok(false) };
        let qd = self.qd;
        if std::mem::replace(&mut self.ranged, true) {
            // SAFETY: the started QueryDesc; its executor is not running (between ExecutorRun calls), as ExecReScan requires.
            guard(|| unsafe { sys::pgf_query_rescan(qd) })?;
        }
        let block = |b: u64| sys::BlockNumber::try_from(b).unwrap_or(sys::BlockNumber::MAX - 1);
        let (start, count, to_end) = match range.hi {
            Some(hi) => (block(range.lo), block(hi - range.lo), false),
            None => (block(range.lo), 0, true),
        };
        let limited = if self.relations {
            let child = i32::try_from(rel).map_err(|_| PgError::internal("partition index out of range"))?;
            // SAFETY: the started QueryDesc, before its first row or just rescanned.
            guard(|| unsafe { sys::pgf_append_limit_blocks((*qd).planstate, child, start, count, to_end) })?
        } else {
            // SAFETY: the started QueryDesc, before its first row or just rescanned.
            guard(|| unsafe { sys::pgf_seqscan_limit_blocks((*qd).planstate, start, count, to_end) })?
        };
        if !limited {
            return Err(PgError::internal("a leaf split by block ranges has no sequential scan to limit"));
        }
        Ok(true)
    }

    /// A leaf whose plan is an Append of sequential scans (partitions, inheritance children):
    /// its ranges are per child, counted by each child's scan (see `crate::shm::block_ranges`).
    fn count_relations(&mut self) -> PgResult<()> {
        let qd = self.qd;
        // SAFETY: the started QueryDesc, before its first row.
        let n = guard(|| unsafe { sys::pgf_append_children((*qd).planstate) })?;
        let Ok(n) = usize::try_from(n) else { return Ok(()) };
        let mut counts = Vec::with_capacity(n);
        for child in 0..n as i32 {
            let mut ok = false;
            let okp: *mut bool = &mut ok;
            // SAFETY: the started QueryDesc, before its first row; `child` < its children.
            let blocks = guard(|| unsafe { sys::pgf_append_child_blocks((*qd).planstate, child, okp) })?;
            if !ok {
                return Err(PgError::internal(
                    "a leaf split by block ranges has a partition that is not a heap scan",
                ));
            }
            counts.push(u64::from(blocks));
        }
        if let Some(c) = self.chunks.as_mut() {
            c.relations = counts;
            self.relations = true;
        }
        Ok(())
    }

    /// Start the executor on `plan` (its result columns must be exactly the planned ones).
    fn open(&mut self, plan: *mut sys::PlannedStmt, env: &ExecEnv) -> PgResult<()> {
        if plan.is_null() {
            return Err(PgError::internal("scan leaf without a plan"));
        }
        let ncols = self.state.types.len();
        let state_ptr: *mut ProducerState = &mut *self.state;
        let env = *env;
        // SAFETY: allocations in the query's memory context (lives until the executor ends); CreateQueryDesc keeps the snapshot, which the statement holds registered while it runs. The executor start checks the leaf's permissions as PostgreSQL's own plan would.
        let qd = guard(|| unsafe {
            let old = sys::CurrentMemoryContext;
            sys::CurrentMemoryContext = env.memory;
            let r = sys::palloc0(std::mem::size_of::<Receiver>()) as *mut Receiver;
            (*r).base.receiveSlot = Some(receive_slot);
            (*r).base.rStartup = Some(receiver_startup);
            (*r).base.rShutdown = Some(receiver_noop);
            (*r).base.rDestroy = Some(receiver_noop);
            (*r).base.mydest = sys::CommandDest_DestNone;
            (*r).state = state_ptr;
            let qd = sys::CreateQueryDesc(
                plan,
                env.source,
                env.snapshot,
                std::ptr::null_mut(),
                r as *mut sys::DestReceiver,
                env.params,
                std::ptr::null_mut(),
                env.instrument,
            );
            sys::ExecutorStart(qd, 0);
            sys::CurrentMemoryContext = old;
            qd
        })?;
        self.qd = qd;
        // SAFETY: ExecutorStart filled qd->tupDesc.
        unsafe {
            let desc = &*(*qd).tupDesc;
            if desc.natts as usize != ncols {
                return Err(PgError::internal(
                    "a scan leaf returns a different number of columns than planned",
                ));
            }
            for i in 0..ncols {
                let t = sys::pgf_tupdesc_atttypid((*qd).tupDesc, i as i32);
                if t != self.state.pg_types[i] {
                    return Err(PgError::internal(format!(
                        "scan column {} has type {t}, planned {}",
                        i + 1,
                        self.state.pg_types[i]
                    )));
                }
            }
            let tupdesc = (*qd).tupDesc;
            let memory = env.memory;
            self.state.pending = guard(|| {
                let old = sys::CurrentMemoryContext;
                sys::CurrentMemoryContext = memory;
                let copy = sys::CreateTupleDescCopy(tupdesc);
                let s = sys::MakeSingleTupleTableSlot(copy, &sys::TTSOpsMinimalTuple);
                sys::CurrentMemoryContext = old;
                s
            })?;
        }
        Ok(())
    }

    /// The started leaf plan (EXPLAIN ANALYZE prints it with its instrumentation): its probe
    /// plan once it reads the leaf through an index.
    pub fn query_desc(&self) -> *mut sys::QueryDesc {
        self.qd
    }

    /// It reads the leaf through an index probe (its plan is not the one its parallel workers
    /// run).
    pub fn probing(&self) -> bool {
        self.probe.is_some()
    }

    /// The probe plan it reads the leaf by, if it does (`query_desc` is that plan's once it ran
    /// a batch; NULL when the other producers claimed every batch).
    pub fn probe_plan(&self) -> Option<*mut sys::PlannedStmt> {
        self.probe.as_ref().map(|p| p.plan.stmt)
    }

    /// Shut the executor down (normal end; not called on ERROR).
    fn close(&mut self) -> PgResult<()> {
        let qd = std::mem::replace(&mut self.qd, std::ptr::null_mut());
        if qd.is_null() {
            return Ok(());
        }
        // SAFETY: the QueryDesc started in `open`, ended exactly once.
        guard(|| unsafe {
            sys::PushActiveSnapshot((*qd).snapshot);
            sys::ExecutorFinish(qd);
            sys::ExecutorEnd(qd);
            sys::PopActiveSnapshot();
            sys::FreeQueryDesc(qd);
        })
    }

    /// The session is still the slot's current one (a parallel worker stops when its leader
    /// released the slot).
    pub fn is_current(&self) -> bool {
        self.session.is_current()
    }

    pub fn slot_ref(&self) -> crate::protocol::SlotRef {
        let l = self.session.lease();
        crate::protocol::SlotRef { index: l.index, generation: l.generation }
    }

    pub fn is_done(&self) -> bool {
        self.ended
    }

    fn send_pending(&mut self) -> PgResult<bool> {
        if let Some(p) = self.state.to_send {
            if !self.send(&ScanMsg::Page(p))? {
                return Ok(false);
            }
            self.state.to_send = None;
            self.unsignaled += 1;
            if self.unsignaled >= WAKE_EVERY_PAGES {
                self.wake_worker();
            }
        }
        Ok(true)
    }

    /// Send `msg` to the worker; false when its ring is full. Then this producer waits until
    /// the worker's reader makes room: registered as a page wait, so the reader's next grant wakes
    /// it (`wake_page_waiters`), and tried again after registering, so a frame read in between is
    /// not missed.
    fn send(&mut self, msg: &ScanMsg) -> PgResult<bool> {
        let (seg, index) = (self.state.seg, self.session.lease().index);
        if !self.session.try_send(msg)? {
            seg.metrics().inc(Metric::ScanRingFullTotal);
            seg.set_page_wait(SlotKind::Scan, index, true);
            self.ring_wait = true;
            if !self.session.try_send(msg)? {
                self.wake_worker();
                return Ok(false);
            }
        }
        if self.ring_wait {
            self.ring_wait = false;
            seg.set_page_wait(SlotKind::Scan, index, false);
        }
        Ok(true)
    }

    /// Set the worker's latch (a signal and two thread switches on its side when it sleeps).
    /// Pages are announced in groups of [`WAKE_EVERY_PAGES`]: the worker's reader drains its ring
    /// whenever it runs, so the group costs one wakeup instead of one per page. Every path
    /// where the producer stops (it is about to wait, it sent `End`, it failed) wakes the worker
    /// first, so no sent page waits for a wakeup that never comes.
    fn wake_worker(&mut self) {
        self.unsignaled = 0;
        latch::wake(self.worker);
    }

    /// Advance the scan a little. Returns whether anything moved (false: blocked on pages or on
    /// the ring; wait for a wakeup). The worker has been woken for every sent page whenever
    /// this returns anything but true.
    pub fn step(&mut self) -> PgResult<bool> {
        let r = self.advance();
        if (!matches!(r, Ok(true)) || self.ended) && self.unsignaled > 0 {
            self.wake_worker();
        }
        r
    }

    fn advance(&mut self) -> PgResult<bool> {
        if self.ended {
            return Ok(false);
        }
        let seg = self.state.seg;
        let scan_index = self.session.lease().index;
        let mut others = Vec::new();
        let credits = self.session.take_credits(&mut others)?;
        self.state.credits = self.state.credits.saturating_add(credits);
        self.decided |= credits > 0;
        for m in others {
            match m {
                ScanMsg::Filter { index, generation, columns } => {
                    self.state.add_filter(index, generation, columns)
                }
                ScanMsg::Probe { column, batches } => {
                    self.decided = true;
                    self.start_probe(column, batches)?
                }
                ScanMsg::Keys { index, generation, count } => self.take_keys(index, generation, count)?,
                _ => {}
            }
        }
        if !self.send_pending()? {
            return Ok(false);
        }
        if self.state.has_pending {
            let pending = self.state.pending;
            // SAFETY: `pending` holds a full copy of a scan row (deformed by the call below).
            let r = guard(|| unsafe {
                sys::pgf_slot_getallattrs(pending);
            });
            r?;
            // A row kept while the producer had no page may meet filters that came since (the
            // first row is read before the first credit, and the credit comes with the filters):
            // it is tested as every later row is.
            let state = &self.state;
            let rejected = !state.filters.is_empty() && {
                // SAFETY: `pending` is deformed in full (above); a detoast's ERROR is caught by `guard`.
                !guard(|| unsafe { state.passes_filters(pending) })?
            };
            if rejected {
                self.state.rejected += 1;
                self.state.has_pending = false;
                seg.set_page_wait(SlotKind::Scan, scan_index, false);
                return Ok(true);
            }
            // SAFETY: as above.
            match unsafe { self.state.try_put_row(pending) } {
                Ok(Put::Done) => {
                    self.state.has_pending = false;
                    seg.set_page_wait(SlotKind::Scan, scan_index, false);
                }
                Ok(Put::Stall) => {
                    let _ = self.send_pending()?;
                    if self.state.waiting_for_page {
                        self.state.waiting_for_page = false;
                        let registered = seg.slot(SlotKind::Scan, scan_index).is_some_and(|s| s.page_wait());
                        if !registered {
                            seg.set_page_wait(SlotKind::Scan, scan_index, true);
                            seg.metrics().inc(Metric::PageAcquireWaitTotal);
                            // A credit or page that came since this step began would not wake
                            // us: look once more, now that wakeups reach us.
                            return Ok(true);
                        }
                    }
                    return Ok(false);
                }
                // `try_put_row` reports failures as errors; `Failed` is `put_row`'s.
                Ok(Put::Failed) => {
                    return Err(self.state.error.take().unwrap_or_else(|| PgError::internal("a row failed")))
                }
                Err(e) => return Err(e),
            }
        }
        if self.exhausted {
            // A producer with probe plans that read its share before any credit waits for the
            // worker's decision before it ends: a probe decided later reads the whole leaf
            // through it while its parallel workers drop the block ranges they hold, whose
            // rows would otherwise be read by nobody.
            if !self.probes.is_empty() && !self.decided {
                if !seg.slot(SlotKind::Scan, scan_index).is_some_and(|s| s.page_wait()) {
                    seg.set_page_wait(SlotKind::Scan, scan_index, true);
                    return Ok(true);
                }
                return Ok(false);
            }
            self.state.finish_block();
            if !self.send_pending()? {
                return Ok(false);
            }
            if !self.send(&ScanMsg::End { rows: self.state.rows, rejected: self.state.rejected })? {
                return Ok(false);
            }
            self.wake_worker();
            seg.metrics().add(Metric::ScanRowsEncodedTotal, self.state.rows);
            seg.metrics().add(Metric::RuntimeFilterProbeRowsRejectedTotal, self.state.rejected);
            self.ended = true;
            return Ok(true);
        }
        if let Some(moved) = self.next_batch()? {
            return Ok(moved);
        }
        let qd = self.qd;
        let fetch = self.fetch as u64;
        // SAFETY: the scan's QueryDesc, started in `start`; run under its own snapshot.
        guard(|| unsafe {
            sys::PushActiveSnapshot((*qd).snapshot);
            sys::pgf_executor_run(qd, fetch);
            sys::PopActiveSnapshot();
        })?;
        if let Some(e) = self.state.error.take() {
            return Err(e);
        }
        // SAFETY: as above. ExecutorRun counts from zero on every call.
        let processed = unsafe { (*(*qd).estate).es_processed };
        if self.state.stalled {
            self.state.stalled = false;
            let _ = self.send_pending()?;
        } else if processed < fetch {
            // The plan (or its block range, or its batch of probe keys) is done: the next block
            // range or batch, or the end.
            if let Some(p) = self.probe.as_mut() {
                p.batch_done = true;
            } else if !self.next_range()? {
                self.exhausted = true;
            }
        }
        if self.state.to_send.is_some() {
            let _ = self.send_pending()?;
        }
        Ok(true)
    }

    /// Read the leaf through its index probe on `column`, for `batches` batches of keys (see
    /// `probe`): its own plan ends here, the row it kept aside with it.
    fn start_probe(&mut self, column: u16, batches: u32) -> PgResult<()> {
        if self.probe.is_some()
            || self.state.rows > 0
            || self.state.block.is_some()
            || self.state.to_send.is_some()
        {
            return Err(PgError::new(
                SqlState::PROTOCOL_VIOLATION,
                "an index probe from the worker after the scan's rows were sent",
            ));
        }
        let scan_index = self.session.lease().index;
        self.state.has_pending = false;
        self.state.stalled = false;
        self.state.waiting_for_page = false;
        self.state.seg.set_page_wait(SlotKind::Scan, scan_index, false);
        self.chunks = None;
        if batches == 0 {
            // Nothing to read. The plan stays started (a parallel worker reports its
            // instrumentation from it) and ends with the producer.
            self.exhausted = true;
            return Ok(());
        }
        let plan = match (self.probes.iter().find(|p| p.column == column), self.probe_role) {
            (Some(plan), _) => *plan,
            (None, ProbeRole::Leader) => {
                return Err(PgError::internal("an index probe on a column without a probe plan"))
            }
            // Not shipped to this worker (or a producer of a worker that never started): the
            // leader claims the batches.
            (None, ProbeRole::Helper) => {
                self.probe_declined = true;
                self.exhausted = true;
                return Ok(());
            }
        };
        self.close()?;
        self.ranged = false;
        self.relations = false;
        self.exhausted = false;
        self.probe = Some(Probing::new(plan, batches));
        Ok(())
    }

    /// A batch of probe keys came: the filter slot holding it, read when the batch runs.
    fn take_keys(&mut self, index: u32, generation: u32, count: u32) -> PgResult<()> {
        let scan_index = self.session.lease().index;
        let Some(p) = self.probe.as_mut() else {
            if self.probe_declined {
                return Ok(());
            }
            return Err(PgError::new(SqlState::PROTOCOL_VIOLATION, "index-probe keys without a probe"));
        };
        p.received += 1;
        p.queue.push_back((index, generation, count));
        if std::mem::take(&mut p.waiting) {
            self.state.seg.set_page_wait(SlotKind::Scan, scan_index, false);
        }
        Ok(())
    }

    /// Probing: start the probe plan on the first batch of keys, rescan it with the next one
    /// when a batch is done, end after the last. None: the plan may run; Some: what the step
    /// returns without running it (false: no batch here yet, registered as a page waiter; the
    /// worker's reader wakes it when it sends one).
    fn next_batch(&mut self) -> PgResult<Option<bool>> {
        let scan_index = self.session.lease().index;
        let Some(p) = self.probe.as_mut() else { return Ok(None) };
        if !(self.qd.is_null() || p.batch_done) {
            return Ok(None);
        }
        let Some((index, generation, count)) = p.queue.pop_front() else {
            if p.all_received() {
                // The End goes on the next step.
                self.exhausted = true;
                return Ok(Some(true));
            }
            // Registered first, then looked again: a batch sent in between is not missed. A
            // wakeup clears the registration it answers: registered anew when still waiting.
            let seg = self.state.seg;
            p.waiting = true;
            if !seg.slot(SlotKind::Scan, scan_index).is_some_and(|s| s.page_wait()) {
                seg.set_page_wait(SlotKind::Scan, scan_index, true);
                return Ok(Some(true));
            }
            return Ok(Some(false));
        };
        let env = self.env;
        let plan = p.plan;
        let keys = match probe::claim_keys(self.state.seg, index, generation, count)? {
            Claim::Mine(keys) => keys,
            // Another producer of the leaf runs it: on to the next batch (next step).
            Claim::Taken => return Ok(Some(true)),
            // Keys gone: the query is over (its filter slots go back when its plan is dropped,
            // which may be before this producer hears of the end); nothing more to read.
            Claim::Gone => {
                self.exhausted = true;
                return Ok(Some(true));
            }
        };
        let array = probe::key_array(&keys, plan.elem, env.memory)?;
        let old = std::mem::replace(&mut p.array, array);
        p.batch_done = false;
        if p.params.is_null() {
            let array_type = probe::array_type(plan.elem)?;
            p.params = probe::params_with(env.params, plan.paramid, array_type, array, env.memory)?;
            let probe_env = ExecEnv { params: p.params, ..env };
            self.open(plan.stmt, &probe_env)?;
        } else {
            let (params, qd) = (p.params, self.qd);
            // The index scan evaluates the new array on its rescan, after which the old one is
            // referenced no more and is freed.
            // SAFETY: our list of `paramid` entries; the probe plan is between ExecutorRun calls.
            guard(|| unsafe {
                (*(*params).params.as_mut_ptr().add((plan.paramid - 1) as usize)).value = array;
                sys::pgf_query_rescan(qd);
                if old != 0 {
                    sys::pfree(old as *mut std::ffi::c_void);
                }
            })?;
        }
        Ok(None)
    }

    /// Normal end: shut the scan's executor down. Not called on ERROR (abort cleans up).
    pub fn finish(&mut self) -> PgResult<()> {
        self.close()
    }
}
