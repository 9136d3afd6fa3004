//! Serving the control slots: read each slot's backend->worker ring, answer on its
//! worker->backend ring in the same session's envelope, set the backend's latch.
//!
//! Rules: a frame is answered only if its session generation is the slot's current one; frames of
//! ended sessions are dropped. A corrupt or unknown message ends the worker's attention to that
//! session (the backend gets a clean error or times out) rather than the worker.

use crate::pg::latch;
use crate::protocol::{envelope, open_envelope, ToBackend, ToWorker};
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
            let reply = match ToWorker::decode(msg) {
                Ok(ToWorker::Ping { nonce }) => {
                    seg.metrics().inc(Metric::WorkerPingsTotal);
                    ToBackend::Pong { nonce, worker_pid: latch::my_pid() }
                }
                Err(e) => {
                    tracing::warn!(slot = i, %e, "invalid control message; ignoring the session");
                    self.ignored[i as usize] = Some(lease);
                    continue;
                }
            };
            envelope(generation, &mut self.outbox, |out| reply.encode(out));
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
