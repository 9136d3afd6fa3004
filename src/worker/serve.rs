//! Serving the control slots from the main thread: read each slot's backend->worker ring, answer
//! pings, start query tasks, and watch running queries' sessions.
//!
//! Rules:
//! - A frame is acted on only if its session generation is the slot's current one; frames of
//!   ended sessions are dropped. A corrupt or unknown message ends the worker's attention to that
//!   session (the backend gets a clean error or times out) rather than the worker.
//! - A message that came through pages is read out of them (and the pages released) before it is
//!   acted on, exactly like one read from the ring.
//! - One query per control session. When the session ends (the backend released the slot:
//!   finished, canceled, failed or exited) the query is canceled; once its task has finished its
//!   left-over pages are reclaimed (see `query.rs`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use datafusion::prelude::SessionContext;
use tokio::sync::{Notify, Semaphore};

use super::query::QueryTask;
use super::slot_rings::SlotRings;
use crate::pg::latch;
use crate::protocol::{envelope, open_envelope, paged, Execute, PagedRef, ToBackend, ToWorker};
use crate::shm::{Metric, OwnerId, Segment, SlotKind, SlotLease, WorkerRole};

struct Running {
    lease: SlotLease,
    canceled: Arc<AtomicBool>,
    handle: tokio::task::JoinHandle<()>,
}

pub struct ControlServer {
    seg: Segment,
    runtime: tokio::runtime::Handle,
    session: SessionContext,
    activity: Arc<Notify>,
    /// The worker's side of every slot's rings, one thread at a time (see `slot_rings.rs`).
    rings: Arc<SlotRings>,
    permits: Arc<Semaphore>,
    tail_bytes_per_row: usize,
    /// Bytes of the memory pool one query may hold (see `crate::plan::memory`); None: unbounded.
    query_memory: Option<usize>,
    inbox: Vec<u8>,
    outbox: Vec<u8>,
    /// Sessions the worker stopped listening to (protocol errors), by slot.
    ignored: Vec<Option<SlotLease>>,
    /// Queries whose task runs or whose session has not ended yet (at most a few per slot: a
    /// finished session's task may still be winding down when the next session starts).
    running: Vec<Running>,
}

impl ControlServer {
    pub fn new(
        seg: Segment,
        runtime: tokio::runtime::Handle,
        session: SessionContext,
        max_tasks: usize,
        tail_bytes_per_row: usize,
        query_memory: Option<usize>,
    ) -> ControlServer {
        let n = seg.slot_count(SlotKind::Control) as usize;
        // Pages a previous incarnation of the worker held: nobody reads them any more.
        let freed = seg.pool().reclaim_where(|o| seg.is_worker_owner(o));
        if freed > 0 {
            tracing::info!(pages = freed, "reclaimed pages of the previous worker");
        }
        // Runtime filters too: only the worker takes them (`crate::shm::filter`).
        for i in 0..seg.layout().config.runtime_filter_count {
            if let Some(f) = seg.filter(i) {
                f.reset();
            }
        }
        ControlServer {
            seg,
            runtime,
            session,
            activity: Arc::new(Notify::new()),
            rings: Arc::new(SlotRings::new(&seg)),
            permits: Arc::new(Semaphore::new(max_tasks.max(1))),
            tail_bytes_per_row,
            query_memory,
            inbox: Vec::new(),
            outbox: Vec::new(),
            ignored: vec![None; n],
            running: Vec::new(),
        }
    }

    /// Serve every slot once, then wake the tasks (something may have arrived for them).
    pub fn poll(&mut self) {
        for i in 0..self.seg.slot_count(SlotKind::Control) {
            self.serve_slot(i);
        }
        self.watch();
        self.activity.notify_waiters();
    }

    /// Cancel queries whose session ended; reclaim their pages once their task is done.
    fn watch(&mut self) {
        let seg = self.seg;
        self.running.retain(|r| {
            let current = seg.slot(SlotKind::Control, r.lease.index).is_some_and(|s| s.is_current(r.lease));
            if !current {
                r.canceled.store(true, Ordering::Relaxed);
            }
            if r.handle.is_finished() && !current {
                let pool = seg.pool();
                pool.reclaim_owner(seg.worker_owner(WorkerRole::Results, r.lease));
                pool.reclaim_owner(seg.worker_owner(WorkerRole::ScanImport, r.lease));
                seg.wake_page_waiters();
                return false;
            }
            true
        });
        let tasks = self.running.iter().filter(|r| !r.handle.is_finished()).count();
        seg.metrics().set(Metric::WorkerQueriesRunning, tasks as u64);
    }

    fn serve_slot(&mut self, i: u32) {
        let seg = self.seg;
        let Some(slot) = seg.slot(SlotKind::Control, i) else { return };
        loop {
            self.inbox.clear();
            match slot.to_worker.try_recv(&mut self.inbox) {
                Ok(false) => return,
                Ok(true) => {}
                Err(e) => {
                    // Nothing after a corrupt frame can be trusted; its session gets no answer.
                    tracing::warn!(slot = i, ?e, "corrupt control ring");
                    if let Some((lease, _)) = slot.current_session() {
                        self.ignored[i as usize] = Some(lease);
                    }
                    return;
                }
            }
            let Ok((generation, msg)) = open_envelope(&self.inbox) else { continue };
            let lease = SlotLease { index: i, generation };
            if !slot.is_current(lease) || self.ignored[i as usize] == Some(lease) {
                continue; // a request of a session that has ended
            }
            let decoded = match ToWorker::decode(msg) {
                Ok(ToWorker::Paged(p)) => read_paged(seg, slot.pool_owner(lease), lease, &p),
                other => other.map_err(|e| e.to_string()),
            };
            let reply = match decoded {
                Ok(ToWorker::Ping { nonce }) => {
                    seg.metrics().inc(Metric::WorkerPingsTotal);
                    ToBackend::Pong { nonce, worker_pid: latch::my_pid() }
                }
                Ok(ToWorker::Execute(request)) => {
                    if self.running.iter().any(|r| r.lease == lease) {
                        tracing::warn!(slot = i, "second query in one session; ignoring the session");
                        self.ignored[i as usize] = Some(lease);
                        continue;
                    }
                    self.start(lease, request, slot.owner_pid().unwrap_or(0));
                    continue;
                }
                Ok(ToWorker::Paged(_)) => {
                    tracing::warn!(slot = i, "paged message inside a paged message; ignoring the session");
                    self.ignored[i as usize] = Some(lease);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(slot = i, %e, "invalid control message; ignoring the session");
                    self.ignored[i as usize] = Some(lease);
                    continue;
                }
            };
            envelope(generation, &mut self.outbox, |out| reply.encode(out));
            // A task of this slot's previous session may still be writing its last reply.
            let sent = {
                let _ring = self.rings.lock(SlotKind::Control, i);
                slot.to_backend.try_send(&self.outbox)
            };
            match sent {
                Ok(()) => seg.metrics().inc(Metric::ControlMessagesToBackendTotal),
                Err(e) => {
                    // Replies here are tiny; a full ring means the backend is not reading.
                    tracing::warn!(slot = i, ?e, "cannot answer on the control ring");
                    seg.metrics().inc(Metric::ControlRingFullTotal);
                }
            }
            if let Some(w) = seg.slot_wakeup(SlotKind::Control, i).and_then(|w| w.get()) {
                latch::wake(w);
            }
        }
    }

    fn start(&mut self, lease: SlotLease, request: Execute, backend_pid: i32) {
        let canceled = Arc::new(AtomicBool::new(false));
        let task = QueryTask {
            seg: self.seg,
            lease,
            backend_pid,
            request,
            session: self.session.clone(),
            activity: self.activity.clone(),
            rings: self.rings.clone(),
            canceled: canceled.clone(),
            permits: self.permits.clone(),
            tail_bytes_per_row: self.tail_bytes_per_row,
            query_memory: self.query_memory,
        };
        let handle = self.runtime.spawn(task.run());
        self.running.push(Running { lease, canceled, handle });
    }

    /// Cancel everything (worker shutdown).
    pub fn cancel_all(&mut self) {
        for r in &self.running {
            r.canceled.store(true, Ordering::Relaxed);
        }
        self.activity.notify_waiters();
    }
}

/// A control message that came through pages (see `crate::protocol::paged`): take the pages over
/// from the backend's session, copy them out, release them, decode what they carry.
fn read_paged(seg: Segment, from: OwnerId, lease: SlotLease, p: &PagedRef) -> Result<ToWorker, String> {
    let to = seg.worker_owner(WorkerRole::ScanImport, lease);
    let bytes = paged::read(&seg.pool(), &p.pages, p.len as usize, from, to)
        .map_err(|_| "paged message with stale pages".to_string());
    seg.wake_page_waiters();
    ToWorker::decode(&bytes?).map_err(|e| e.to_string())
}
