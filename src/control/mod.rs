//! The backend's side of a control slot: claim a slot, talk to the worker, give everything back.
//!
//! Rules:
//! - A [`ControlSession`] owns one control slot lease. Dropping it clears the backend's wakeup
//!   entry, reclaims every page leased under the session's pool owner, and releases the slot;
//!   [`release_owned_by`] does the same from the exit callback when the process dies without
//!   unwinding (FATAL, terminate).
//! - Waiting is always on the backend's latch with a bounded timeout, with
//!   CHECK_FOR_INTERRUPTS after every wake, so cancel and statement_timeout are honoured; a worker
//!   that is not running (or restarted) turns into a clean ERROR, never a hang.

use std::time::{Duration, Instant};

use crate::pg::latch::WaitEvent;
use crate::pg::{latch, PgError, PgResult, SqlState};
use crate::protocol::{envelope, open_envelope, paged, DecodeError, PagedRef, ScanMsg, ToBackend, ToWorker};
use crate::shm::ring::{RecvError, SendError};
use crate::shm::{Holdings, Metric, OwnerId, Segment, SlotKind, SlotLease, Wakeup, WorkerRole};

/// How long a backend waits for the worker between checks that it is still alive.
const WAIT_SLICE_MS: i64 = 100;

fn worker_not_running() -> PgError {
    PgError::new(SqlState::CONNECTION_FAILURE, "worker is not running").with_hint(
        "The pg_fusion worker restarts automatically; check the server log, or SET pg_fusion.enable = off.",
    )
}

fn process_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}

/// The worker's current wakeup entry, if a live worker registered one.
pub fn running_worker(seg: &Segment) -> Option<Wakeup> {
    seg.worker_wakeup().get().filter(|w| process_alive(w.pid))
}

pub struct ControlSession {
    seg: Segment,
    lease: SlotLease,
    worker: Wakeup,
    buf: Vec<u8>,
}

impl ControlSession {
    /// Claim a free control slot; waits (backpressure) while all are busy, and while the
    /// sessions of this backend's login role hold their share of them (`role_slot_share`): no
    /// role can take every slot from the others. A backend that already holds a control slot (an
    /// open cursor's, or a portal a driver fetches in parts) waits at most `deadlock_timeout`:
    /// what it waits for may be its own (see `shm::Holdings`); then it fails with 53000.
    pub fn open(seg: Segment) -> PgResult<ControlSession> {
        let worker = running_worker(&seg).ok_or_else(worker_not_running)?;
        crate::pg::exit::register_cleanup(release_mine);
        let role = crate::pg::catalog::session_role();
        let share = crate::pg::guc::control_slots_per_role();
        let holder = Holdings::of_pid(&seg, latch::my_pid(), None).holds_any();
        let since = Instant::now();
        let mut waited = false;
        loop {
            if let Some(lease) = claim(&seg, SlotKind::Control) {
                // Claimed first, counted after: two sessions of one role claiming at once both
                // see each other, so the share is never exceeded (at worst both retry).
                if let Some(slot) = seg.slot(SlotKind::Control, lease.index) {
                    slot.set_role(role);
                }
                let held = (0..seg.slot_count(SlotKind::Control))
                    .filter(|&i| seg.slot(SlotKind::Control, i).and_then(|s| s.role()) == Some(role))
                    .count() as u32;
                if held <= share {
                    return Ok(ControlSession { seg, lease, worker, buf: Vec::new() });
                }
                release_lease(&seg, lease);
            }
            if holder && since.elapsed() >= holder_wait() {
                return Err(held_by_this_session(
                    "no control slot came free",
                    "pg_fusion.control_slot_count or pg_fusion.role_slot_share",
                ));
            }
            if !waited {
                seg.metrics().inc(Metric::ControlSlotWaitTotal);
                waited = true;
            }
            latch::wait_my_latch(10, WaitEvent::ControlSlot)?;
            latch::check_for_interrupts()?;
            if running_worker(&seg).is_none() {
                return Err(worker_not_running());
            }
        }
    }

    fn slot(&self) -> PgResult<crate::shm::Slot<'_>> {
        self.seg
            .slot(SlotKind::Control, self.lease.index)
            .ok_or_else(|| PgError::internal("control slot index out of range"))
    }

    pub fn lease(&self) -> SlotLease {
        self.lease
    }

    pub fn segment(&self) -> Segment {
        self.seg
    }

    pub fn worker(&self) -> Wakeup {
        self.worker
    }

    /// The pool owner id of this session (pages the backend holds).
    pub fn pool_owner(&self) -> OwnerId {
        self.seg
            .slot(SlotKind::Control, self.lease.index)
            .map_or(OwnerId::SENTINEL, |s| s.pool_owner(self.lease))
    }

    /// The next message from the worker if one is waiting; never blocks.
    pub fn try_recv(&mut self) -> PgResult<Option<ToBackend>> {
        loop {
            self.buf.clear();
            let got = self.slot()?.to_backend.try_recv(&mut self.buf).map_err(|RecvError::Corrupt| {
                PgError::new(SqlState::PROTOCOL_VIOLATION, "corrupt message from the worker")
            })?;
            if !got {
                return Ok(None);
            }
            let invalid = |e| {
                PgError::new(SqlState::PROTOCOL_VIOLATION, format!("invalid message from the worker: {e}"))
            };
            let (generation, msg) = open_envelope(&self.buf).map_err(invalid)?;
            if generation != self.lease.generation {
                continue;
            }
            return self.open_message(msg).map(Some);
        }
    }

    pub fn check_worker(&self) -> PgResult<()> {
        match running_worker(&self.seg) {
            Some(w) if w.pid == self.worker.pid => Ok(()),
            Some(_) => Err(PgError::new(SqlState::CONNECTION_FAILURE, "worker restarted during the query")),
            None => Err(worker_not_running()),
        }
    }

    pub fn send(&mut self, msg: &ToWorker) -> PgResult<()> {
        envelope(self.lease.generation, &mut self.buf, |out| msg.encode(out));
        if self.buf.len() > self.slot()?.to_worker.max_payload() {
            let body = self.buf.split_off(4);
            let paged = self.write_pages(&body)?;
            envelope(self.lease.generation, &mut self.buf, |out| ToWorker::Paged(paged).encode(out));
            self.seg.metrics().inc(Metric::ControlPagedMessagesTotal);
        }
        loop {
            let slot = self.slot()?;
            match slot.to_worker.try_send(&self.buf) {
                Ok(()) => break,
                Err(SendError::Full) => {
                    self.seg.metrics().inc(Metric::ControlRingFullTotal);
                    latch::wake(self.worker);
                    latch::wait_my_latch(WAIT_SLICE_MS, WaitEvent::Worker)?;
                    latch::check_for_interrupts()?;
                    self.check_worker()?;
                }
                Err(SendError::TooLarge { len, capacity }) => {
                    return Err(PgError::internal(format!(
                        "control message of {len} bytes exceeds the ring capacity {capacity}"
                    )))
                }
            }
        }
        self.seg.metrics().inc(Metric::ControlMessagesToWorkerTotal);
        latch::wake(self.worker);
        Ok(())
    }

    /// Copy a message too large for the ring into pages under this session (all at once, waiting
    /// on the latch while the pool is short).
    fn write_pages(&self, body: &[u8]) -> PgResult<PagedRef> {
        let pool = self.seg.pool();
        let needed = paged::pages_needed(body.len(), pool.page_size());
        let ring = self.slot()?.to_worker.capacity();
        // The page list itself must fit the ring, and one message may take at most a quarter of
        // the pool so that queries keep pages to run with.
        let limit = (pool.page_count() / 4).min(ring.saturating_sub(64) / 8);
        if needed > limit || body.len() > u32::MAX as usize {
            return Err(PgError::new(
                SqlState::PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "plan of {} bytes needs {needed} pages; at most {limit} may carry one message",
                    body.len()
                ),
            )
            .with_hint("Raise pg_fusion.page_size or pg_fusion.page_count, or simplify the query."));
        }
        let owner = self.pool_owner();
        let mut waited = false;
        loop {
            if let Some(pages) = paged::write(&pool, owner, body) {
                return Ok(PagedRef { len: body.len() as u32, pages });
            }
            if !waited {
                self.seg.metrics().inc(Metric::PageAcquireWaitTotal);
                waited = true;
            }
            self.seg.set_page_wait(SlotKind::Control, self.lease.index, true);
            let waited = latch::wait_my_latch(WAIT_SLICE_MS, WaitEvent::Pages)
                .and_then(|_| latch::check_for_interrupts());
            self.seg.set_page_wait(SlotKind::Control, self.lease.index, false);
            waited?;
            self.check_worker()?;
        }
    }

    /// A message from the worker; one that came through pages is read out of them here.
    fn open_message(&self, msg: &[u8]) -> PgResult<ToBackend> {
        let invalid =
            |e| PgError::new(SqlState::PROTOCOL_VIOLATION, format!("invalid message from the worker: {e}"));
        match ToBackend::decode(msg).map_err(invalid)? {
            ToBackend::Paged(p) => {
                let pool = self.seg.pool();
                let from = self.seg.worker_owner(WorkerRole::Results, self.lease);
                let bytes =
                    paged::read(&pool, &p.pages, p.len as usize, from, self.pool_owner()).map_err(|_| {
                        PgError::new(SqlState::PROTOCOL_VIOLATION, "paged message from the worker is stale")
                    })?;
                self.seg.wake_page_waiters();
                match ToBackend::decode(&bytes).map_err(invalid)? {
                    ToBackend::Paged(_) => Err(invalid(DecodeError::UnknownTag(0))),
                    m => Ok(m),
                }
            }
            m => Ok(m),
        }
    }

    /// Wait for the next message from the worker, at most `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> PgResult<ToBackend> {
        let deadline = Instant::now() + timeout;
        loop {
            self.buf.clear();
            let got = self.slot()?.to_backend.try_recv(&mut self.buf).map_err(|RecvError::Corrupt| {
                PgError::new(SqlState::PROTOCOL_VIOLATION, "corrupt message from the worker")
            })?;
            if got {
                let invalid = |e| {
                    PgError::new(
                        SqlState::PROTOCOL_VIOLATION,
                        format!("invalid message from the worker: {e}"),
                    )
                };
                let (generation, msg) = open_envelope(&self.buf).map_err(invalid)?;
                if generation != self.lease.generation {
                    // A reply to an earlier session of this slot: not ours.
                    continue;
                }
                return self.open_message(msg);
            }
            if Instant::now() >= deadline {
                return Err(PgError::new(SqlState::CONNECTION_FAILURE, "worker did not answer in time"));
            }
            latch::wait_my_latch(WAIT_SLICE_MS, WaitEvent::Worker)?;
            latch::check_for_interrupts()?;
            self.check_worker()?;
        }
    }
}

impl Drop for ControlSession {
    fn drop(&mut self) {
        release_lease(&self.seg, self.lease);
    }
}

/// How long a holder waits (see `shm::Holdings`): PostgreSQL's `deadlock_timeout`.
pub fn holder_wait() -> Duration {
    crate::pg::guc::deadlock_timeout()
}

/// The error of a holder (see `shm::Holdings`) whose next query cannot start: `why`, and the
/// settings that would make room.
pub fn held_by_this_session(why: &str, setting: &str) -> PgError {
    PgError::new(
        SqlState::INSUFFICIENT_RESOURCES,
        format!("cannot start a query while this session holds an open pg_fusion query: {why}"),
    )
    .with_hint(format!(
        "An open cursor or partly fetched portal keeps its slots and pages until it is closed, and this session cannot wait for them. Close it first, or raise {setting}."
    ))
}

/// Claim a free slot of `kind` for this process and register its latch; None when all are busy.
fn claim(seg: &Segment, kind: SlotKind) -> Option<SlotLease> {
    let me = latch::me();
    (0..seg.slot_count(kind)).find_map(|i| {
        let lease = seg.slot(kind, i)?.try_claim(me.pid)?;
        if let Some(w) = seg.slot_wakeup(kind, i) {
            w.set(Some(me));
        }
        Some(lease)
    })
}

/// End a slot session: unregister its latch, reclaim the pages leased under it, free the slot.
fn release_slot(seg: &Segment, kind: SlotKind, lease: SlotLease) {
    if let Some(w) = seg.slot_wakeup(kind, lease.index) {
        w.set(None);
    }
    seg.set_page_wait(kind, lease.index, false);
    if let Some(slot) = seg.slot(kind, lease.index) {
        seg.pool().reclaim_owner(slot.pool_owner(lease));
        slot.release(lease);
    }
}

fn release_lease(seg: &Segment, lease: SlotLease) {
    // The query's page reservation and its place in the admission queue go with its slot (see
    // `crate::shm::admission`).
    seg.release_reserved_pages(lease.index);
    seg.leave_admission_queue(lease.index);
    release_slot(seg, SlotKind::Control, lease);
    // The worker stops the session's query (if any) when it notices the release.
    if let Some(w) = running_worker(seg) {
        latch::wake(w);
    }
}

/// The exit callback of a process that holds slots: give back every slot it owns.
fn release_mine() {
    if let Ok(seg) = crate::pg::shmem::segment() {
        release_owned_by(&seg, latch::my_pid());
    }
}

/// Release every control and scan slot owned by `pid` (exit callback of a dying backend).
pub fn release_owned_by(seg: &Segment, pid: i32) {
    for i in 0..seg.slot_count(SlotKind::Control) {
        let Some(slot) = seg.slot(SlotKind::Control, i) else { continue };
        if let Some((lease, owner)) = slot.current_session() {
            if owner == pid {
                release_lease(seg, lease);
                seg.metrics().inc(Metric::ControlSlotsReclaimedTotal);
            }
        }
    }
    for i in 0..seg.slot_count(SlotKind::Scan) {
        let Some(slot) = seg.slot(SlotKind::Scan, i) else { continue };
        if let Some((lease, owner)) = slot.current_session() {
            if owner == pid {
                release_scan_lease(seg, lease);
            }
        }
    }
}

/// A scan producer's slot: claimed for one scan leaf of one query. Dropping it reclaims the
/// pages still leased under it (those not yet taken over by the worker) and releases the slot.
///
/// A parallel scan producer *attaches* to a slot its leader claimed: it writes the slot's
/// backend->worker ring and reads its credits (the leader never touches the rings of a slot it
/// handed over), registers its own latch for the slot's wakeups, and leases pages under the
/// slot's pool owner. Only the leader releases the slot, after its workers have exited.
pub struct ScanSession {
    seg: Segment,
    lease: SlotLease,
    buf: Vec<u8>,
    /// Claimed by this process (released on drop); false when attached.
    owned: bool,
}

impl ScanSession {
    /// Claim a free scan slot if there is one, without waiting.
    pub fn try_open(seg: Segment) -> Option<ScanSession> {
        crate::pg::exit::register_cleanup(release_mine);
        claim(&seg, SlotKind::Scan).map(|lease| ScanSession { seg, lease, buf: Vec::new(), owned: true })
    }

    /// Attach to a slot claimed by the leader (a parallel scan producer); None when the session
    /// has already ended.
    pub fn attach(seg: Segment, lease: SlotLease) -> Option<ScanSession> {
        let slot = seg.slot(SlotKind::Scan, lease.index)?;
        if !slot.is_current(lease) {
            return None;
        }
        if let Some(w) = seg.slot_wakeup(SlotKind::Scan, lease.index) {
            w.set(Some(latch::me()));
        }
        Some(ScanSession { seg, lease, buf: Vec::new(), owned: false })
    }

    pub fn segment(&self) -> Segment {
        self.seg
    }

    /// Is the session still the slot's current one (the leader has not released it)?
    pub fn is_current(&self) -> bool {
        self.seg.slot(SlotKind::Scan, self.lease.index).is_some_and(|s| s.is_current(self.lease))
    }

    pub fn lease(&self) -> SlotLease {
        self.lease
    }

    pub fn pool_owner(&self) -> OwnerId {
        self.seg
            .slot(SlotKind::Scan, self.lease.index)
            .map_or(OwnerId::SENTINEL, |s| s.pool_owner(self.lease))
    }

    /// Send without waiting; false when the ring is full.
    pub fn try_send(&mut self, msg: &ScanMsg) -> PgResult<bool> {
        envelope(self.lease.generation, &mut self.buf, |out| msg.encode(out));
        let slot = self
            .seg
            .slot(SlotKind::Scan, self.lease.index)
            .ok_or_else(|| PgError::internal("scan slot index out of range"))?;
        match slot.to_worker.try_send(&self.buf) {
            Ok(()) => Ok(true),
            Err(SendError::Full) => Ok(false),
            Err(SendError::TooLarge { .. }) => {
                Err(PgError::internal("scan message exceeds the ring capacity"))
            }
        }
    }
}

impl ScanSession {
    /// Credits the worker granted since the last call (pages the producer may send); the other
    /// messages it sent meanwhile (runtime filters, an index probe and its keys) go to
    /// `others`, in the order they came.
    pub fn take_credits(&mut self, others: &mut Vec<ScanMsg>) -> PgResult<u32> {
        let slot = self
            .seg
            .slot(SlotKind::Scan, self.lease.index)
            .ok_or_else(|| PgError::internal("scan slot index out of range"))?;
        let mut total: u32 = 0;
        loop {
            self.buf.clear();
            let got = slot.to_backend.try_recv(&mut self.buf).map_err(|RecvError::Corrupt| {
                PgError::new(SqlState::PROTOCOL_VIOLATION, "corrupt scan ring from the worker")
            })?;
            if !got {
                return Ok(total);
            }
            let Ok((generation, msg)) = open_envelope(&self.buf) else { continue };
            if generation != self.lease.generation {
                continue;
            }
            match ScanMsg::decode(msg) {
                Ok(ScanMsg::Credit { pages }) => total = total.saturating_add(pages),
                Ok(m @ (ScanMsg::Filter { .. } | ScanMsg::Probe { .. } | ScanMsg::Keys { .. })) => {
                    others.push(m)
                }
                other => {
                    return Err(PgError::new(
                        SqlState::PROTOCOL_VIOLATION,
                        format!("unexpected scan message from the worker: {other:?}"),
                    ))
                }
            }
        }
    }
}

impl Drop for ScanSession {
    fn drop(&mut self) {
        if self.owned {
            release_scan_lease(&self.seg, self.lease);
        }
    }
}

fn release_scan_lease(seg: &Segment, lease: SlotLease) {
    release_slot(seg, SlotKind::Scan, lease);
}

/// One ping round trip through a control slot; returns (round trip, worker pid).
pub fn ping(seg: Segment) -> PgResult<(Duration, i32)> {
    let mut session = ControlSession::open(seg)?;
    let nonce = u64::from(latch::my_pid().unsigned_abs()) << 32 | u64::from(session.lease.generation);
    let started = Instant::now();
    session.send(&ToWorker::Ping { nonce })?;
    match session.recv(Duration::from_secs(10))? {
        ToBackend::Pong { nonce: n, worker_pid } if n == nonce => Ok((started.elapsed(), worker_pid)),
        other => {
            Err(PgError::new(SqlState::PROTOCOL_VIOLATION, format!("unexpected answer to ping: {other:?}")))
        }
    }
}
