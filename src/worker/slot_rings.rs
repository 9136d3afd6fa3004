//! The worker's side of the slots' rings: one thread at a time per slot.
//!
//! Rules:
//! - Each ring of a slot is single-producer single-consumer (`crate::shm::ring`): its consumer
//!   stores `head` and its producer stores `tail`, without compare-and-swap. On the backend side
//!   one process at a time acts for a slot (sessions are sequential). In the worker several
//!   threads may: the main thread answering on a control slot, a query's task, and the task of a
//!   session that has just ended (still winding down) beside the task of the slot's next
//!   session. Two of them using one ring at once would break it: a consumer that read `head`
//!   before the other advanced it stores it back (a frame read twice, so a page imported twice
//!   and refused as stale, or a frame lost), two producers write one frame over the other.
//! - So every worker-side use of a slot's rings happens while holding that slot's lock
//!   ([`SlotRings::lock`]), and a task checks that its session is still the slot's current one
//!   after taking it. A task of an ended session then never starts a ring operation once the
//!   next session's task could have started one, and the two never overlap.
//! - The locks live in the worker process only (the backend side needs none) and are held
//!   across a few ring operations, never across an `.await`: `MutexGuard` is not `Send`, so a
//!   task holding one across an await point would not compile.

use std::sync::{Mutex, MutexGuard};

use crate::shm::{Segment, SlotKind};

/// One lock per control slot and per scan slot of the segment.
pub struct SlotRings {
    control: Box<[Mutex<()>]>,
    scan: Box<[Mutex<()>]>,
}

impl SlotRings {
    pub fn new(seg: &Segment) -> SlotRings {
        let locks = |n: u32| (0..n).map(|_| Mutex::new(())).collect();
        SlotRings {
            control: locks(seg.slot_count(SlotKind::Control)),
            scan: locks(seg.slot_count(SlotKind::Scan)),
        }
    }

    /// Hold the worker's side of slot `index` of `kind` (None: no such slot).
    pub fn lock(&self, kind: SlotKind, index: u32) -> Option<MutexGuard<'_, ()>> {
        let locks = match kind {
            SlotKind::Control => &self.control,
            SlotKind::Scan => &self.scan,
        };
        // A panic while holding the lock leaves the ring as consistent as the ring's own rules
        // make it (each store publishes a whole frame): the poison is ignored.
        locks.get(index as usize).map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
