//! Serving the control slots: read each Ready slot's backend->worker ring, answer on its
//! worker->backend ring, set the backend's latch.
//!
//! Rules: a message is answered only if the slot is still the session it was read from
//! (`Slot::is_current`); a corrupt or unknown message ends the worker's attention to that session
//! (the backend times out with a clean error) rather than the worker.

use crate::pg::latch;
use crate::protocol::{ToBackend, ToWorker};
use crate::shm::{Metric, Segment, SlotKind, SlotLease};

pub struct ControlServer {
    seg: Segment,
    inbox: Vec<u8>,
    outbox: Vec<u8>,
    /// Sessions the worker stopped listening to (protocol errors), by slot.
    ignored: Vec<Option<SlotLease>>,
}

impl ControlServer {
    pub fn new(seg: Segment) -> ControlServer {
        let n = seg.slot_count(SlotKind::Control) as usize;
        ControlServer { seg, inbox: Vec::new(), outbox: Vec::new(), ignored: vec![None; n] }
    }

    /// Serve every slot once.
    pub fn poll(&mut self) {
        for i in 0..self.seg.slot_count(SlotKind::Control) {
            self.serve_slot(i);
        }
    }

    fn serve_slot(&mut self, i: u32) {
        let seg = self.seg;
        let Some(slot) = seg.slot(SlotKind::Control, i) else { return };
        let Some((lease, _pid)) = slot.ready_session() else { return };
        if self.ignored[i as usize] == Some(lease) {
            return;
        }
        loop {
            self.inbox.clear();
            match slot.to_worker.try_recv(&mut self.inbox) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    tracing::warn!(slot = i, ?e, "corrupt control ring; ignoring the session");
                    self.ignored[i as usize] = Some(lease);
                    return;
                }
            }
            if !slot.is_current(lease) {
                return;
            }
            let reply = match ToWorker::decode(&self.inbox) {
                Ok(ToWorker::Ping { nonce }) => {
                    seg.metrics().inc(Metric::WorkerPingsTotal);
                    ToBackend::Pong { nonce, worker_pid: latch::my_pid() }
                }
                Err(e) => {
                    tracing::warn!(slot = i, %e, "invalid control message; ignoring the session");
                    self.ignored[i as usize] = Some(lease);
                    return;
                }
            };
            self.outbox.clear();
            reply.encode(&mut self.outbox);
            match slot.to_backend.try_send(&self.outbox) {
                Ok(()) => seg.metrics().inc(Metric::ControlMessagesToBackendTotal),
                Err(e) => {
                    // Ping replies are tiny; a full ring means the backend is not reading.
                    tracing::warn!(slot = i, ?e, "cannot answer on the control ring");
                    seg.metrics().inc(Metric::ControlRingFullTotal);
                }
            }
            if let Some(w) = seg.slot_wakeup(SlotKind::Control, i).and_then(|w| w.get()) {
                latch::wake(w);
            }
        }
    }
}
