//! Page admission: every page a query can hold at once is counted before it starts, and the
//! counts of the running queries never exceed the pool.
//!
//! What a query can hold (its budget, [`Budget`]):
//! - each scan producer at most `credits` pages: it takes a page only against a credit, and the
//!   worker grants a credit back per page it imports (`pg::producer`), so the pages being filled
//!   or sent and not yet imported are never more;
//! - the worker at most `pins` imported pages that Arrow arrays still reference (zero copy): past
//!   that the scan leaf copies the batch and releases its page at once (`worker::scan`);
//! - the worker at most `results` result pages the backend has not consumed yet
//!   (`worker::query` waits for the backend before it takes another).
//!
//! So a query holds at most `producers x credits + pins + results` pages: its need.
//!
//! Rules:
//! - A query reserves its need in its control slot ([`Segment::try_reserve_pages`]) before any
//!   of its producers starts, together with its scan slots: both at once or neither (the caller
//!   gives its scan slots back before it waits). A waiting query holds no scan slot and no page,
//!   only its control slot, which no running query needs.
//! - The reservations of all control slots sum to at most `page_count` (a compare-and-swap on
//!   the segment's total checks it). A running query below its bounds therefore always finds a
//!   free page, except for pages someone outside the reservations holds for a moment: a message
//!   too large for a ring travels through pages, and the worker frees a finished query's last
//!   pages shortly after the backend let go of its reservation. Those holders give their pages
//!   back without waiting for any query, so a producer that found the pool empty is woken and
//!   goes on.
//! - Progress: no query waits for another's pages. Inside a query a producer waits only for its
//!   own credit, which the worker returns as it imports; the worker imports the leaf DataFusion
//!   reads without waiting for a page (it copies where it would keep too many), and the backend
//!   consumes result pages while its producers wait. So every admitted query finishes, and a
//!   waiting one is admitted once enough of them did.
//! - Waiting queries are admitted first come, first served: a query that cannot start takes a
//!   ticket (kept in its control slot), and a query tries to start only while no other control
//!   slot holds an earlier ticket. So a stream of small queries never starves a large one. A
//!   canceled or failed waiter leaves the queue when its slot is released.
//! - One exception: a backend that holds another control slot (an open cursor, a portal a driver
//!   fetches in parts) is a holder (`control::Holdings`). Its open query keeps its reservation
//!   until the client closes it, which the client cannot do while the holder waits, so "every
//!   admitted query finishes" does not hold for it: a holder tries out of turn (a queued query
//!   may be waiting for its pages), fails at once with 53000 when its own holdings leave too
//!   little for its query, and waits at most `deadlock_timeout` before failing with 53000. Only
//!   sessions holding nothing wait without bound, and they wait only for queries that finish or
//!   for clients that close their cursors. Holders can delay a queued query (they go first), but
//!   only while they find room at once.
//! - A query is admitted only while fewer than `max_fusion_tasks` are, and fewer than the
//!   worker's memory pool has shares for (`crate::plan::memory`) ([`Segment::try_admit`]: one
//!   count in the segment header, taken with the first reservation and given back with it), so a
//!   query the worker has no task or memory for waits here, holding neither pages nor scan slots.
//! - A query whose smallest budget exceeds the pool runs as PostgreSQL plans it (decided when it
//!   is planned: it would wait forever); `page_count` has a minimum that fits the smallest query.
//! - The reservation lives in the control slot: whoever releases the slot (the session's end, the
//!   backend's exit callback) returns it ([`Segment::release_reserved_pages`] is idempotent).

use std::sync::atomic::Ordering;

use super::segment::{Segment, SlotKind};

/// Credits a producer gets at least (one page being filled, one on its way); at most
/// `pg_fusion.scan_batch_channel_capacity`.
pub const MIN_CREDITS: u32 = 2;

/// The smallest `page_count` that fits the smallest query (one scan producer, minimal credits).
pub const MIN_PAGE_COUNT: u32 = 8;

/// The pages a query may hold, by kind (see the module rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub producers: u32,
    pub credits: u32,
    pub pins: u32,
    pub results: u32,
}

impl Budget {
    /// The budget when the pool is not contended: each producer a share of the pool
    /// (`page_count / (4 x producers)` credits, 2 to `max_credits`: about half the pool), as many pins (the batches
    /// a pipeline keeps while it coalesces or repartitions them stay zero copy), and a few
    /// result pages in flight so that the worker writes while the backend reads.
    pub fn preferred(page_count: u32, producers: u32, max_credits: u32) -> Budget {
        let credits = (page_count / (4 * producers.max(1))).clamp(MIN_CREDITS, max_credits.max(MIN_CREDITS));
        Budget {
            producers,
            credits,
            pins: producers.max(1) * credits,
            results: (page_count / 32).clamp(2, 8),
        }
    }

    /// The smallest budget a query with `producers` producers runs with: two credits and one
    /// pin per producer, two result pages.
    pub fn minimal(_page_count: u32, producers: u32) -> Budget {
        Budget { producers, credits: MIN_CREDITS, pins: producers.max(1), results: 2 }
    }

    /// The pages it reserves.
    pub fn pages(&self) -> u32 {
        self.producers.saturating_mul(self.credits).saturating_add(self.pins).saturating_add(self.results)
    }
}

impl Segment {
    /// Admit the query of control slot `index` (which holds no reservation yet): one of at most
    /// `max_queries` admitted queries, with a reservation of `pages`. False, changing nothing,
    /// when either is short.
    pub fn try_admit(&self, index: u32, pages: u32, max_queries: u32) -> bool {
        let Some(slot) = self.slot(SlotKind::Control, index) else { return false };
        if slot.reserved_pages().load(Ordering::Acquire) != 0 || pages == 0 {
            return false;
        }
        let admitted = &self.header().queries_admitted;
        if admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max_queries).then_some(n + 1))
            .is_err()
        {
            return false;
        }
        if !self.try_reserve_pages(index, pages) {
            admitted.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Set the reservation of control slot `index` to `pages` (growing or shrinking it); false,
    /// changing nothing, when the other slots' reservations leave no room for it. Only the slot's
    /// owner calls it, so the slot's own count has one writer.
    pub fn try_reserve_pages(&self, index: u32, pages: u32) -> bool {
        let Some(slot) = self.slot(SlotKind::Control, index) else { return false };
        if pages == 0 {
            return false; // an admitted query keeps a reservation until it releases it
        }
        let total = &self.header().pages_reserved;
        let limit = self.pool().page_count() as u32;
        let mine = slot.reserved_pages().load(Ordering::Acquire);
        let mut now = total.load(Ordering::Acquire);
        loop {
            let others = now.saturating_sub(mine);
            let Some(after) = others.checked_add(pages).filter(|&a| a <= limit) else { return false };
            match total.compare_exchange_weak(now, after, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(seen) => now = seen,
            }
        }
        slot.reserved_pages().store(pages, Ordering::Release);
        true
    }

    /// The pages control slot `index` has reserved (0 for none).
    pub fn reserved_pages_of(&self, index: u32) -> u32 {
        self.slot(SlotKind::Control, index).map_or(0, |s| s.reserved_pages().load(Ordering::Acquire))
    }

    /// Give back the reservation of control slot `index` (nothing when it has none).
    pub fn release_reserved_pages(&self, index: u32) {
        let Some(slot) = self.slot(SlotKind::Control, index) else { return };
        let mine = slot.reserved_pages().swap(0, Ordering::AcqRel);
        if mine > 0 {
            let total = &self.header().pages_reserved;
            // Saturating: a count that would go below zero (never, by the rules) stays at zero.
            let _ = total.fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| Some(t.saturating_sub(mine)));
            // A slot with a reservation is an admitted query (`try_admit`).
            let admitted = &self.header().queries_admitted;
            let _ = admitted.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| Some(n.saturating_sub(1)));
        }
    }

    /// Put control slot `index` in the admission queue (once: a slot already in it keeps its
    /// place).
    pub fn join_admission_queue(&self, index: u32) {
        let Some(slot) = self.slot(SlotKind::Control, index) else { return };
        if slot.admission_ticket().load(Ordering::Acquire) == 0 {
            let ticket = self.header().admission_tickets.fetch_add(1, Ordering::AcqRel) + 1;
            slot.admission_ticket().store(ticket, Ordering::Release);
        }
    }

    /// Take control slot `index` out of the admission queue (nothing when it is not in it).
    pub fn leave_admission_queue(&self, index: u32) {
        if let Some(slot) = self.slot(SlotKind::Control, index) {
            slot.admission_ticket().store(0, Ordering::Release);
        }
    }

    /// May control slot `index` try to start its query: does no other slot wait with an earlier
    /// ticket (any ticket, when this one has none)?
    pub fn admission_turn(&self, index: u32) -> bool {
        let Some(me) = self.slot(SlotKind::Control, index) else { return false };
        let mine = me.admission_ticket().load(Ordering::Acquire);
        (0..self.slot_count(SlotKind::Control)).filter(|&i| i != index).all(|i| {
            let theirs =
                self.slot(SlotKind::Control, i).map_or(0, |s| s.admission_ticket().load(Ordering::Acquire));
            theirs == 0 || (mine != 0 && mine < theirs)
        })
    }

    /// Pages reserved by running queries (a gauge).
    pub fn pages_reserved(&self) -> u32 {
        self.header().pages_reserved.load(Ordering::Acquire)
    }
}

/// What a backend holds through its other control slots: open queries (a cursor's, or a
/// portal a driver fetches in parts, JDBC's `fetchSize`) keep their control slot, scan slots and
/// page reservation until the client closes them, which it cannot do while its next statement
/// waits. So such a backend (a holder) must not wait unboundedly: a slot or pages it waits for
/// may be its own, or held by a query queued ahead of it that waits for its pages, or by another
/// holder waiting for its pages in turn. A holder therefore fails at once when its own holdings
/// leave too little for its query, is admitted out of turn (never queued behind others), and
/// waits at most `deadlock_timeout` (as a lock waits before PostgreSQL looks for a deadlock)
/// before it fails with 53000.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Holdings {
    /// Control slots of this backend (other than the query's own).
    pub control_slots: u32,
    /// Their page reservations, summed.
    pub pages: u32,
    /// Scan slots of this backend (its open queries' producers).
    pub scan_slots: u32,
}

impl Holdings {
    /// What process `pid` holds, its control slot `except` (the asking query's own) left out.
    pub fn of_pid(seg: &Segment, pid: i32, except: Option<u32>) -> Holdings {
        let mine = |kind: SlotKind, i: u32| {
            seg.slot(kind, i).and_then(|s| s.current_session()).is_some_and(|(_, owner)| owner == pid)
        };
        let mut h = Holdings::default();
        for i in (0..seg.slot_count(SlotKind::Control))
            .filter(|&i| Some(i) != except && mine(SlotKind::Control, i))
        {
            h.control_slots += 1;
            h.pages = h.pages.saturating_add(seg.reserved_pages_of(i));
        }
        h.scan_slots =
            (0..seg.slot_count(SlotKind::Scan)).filter(|&i| mine(SlotKind::Scan, i)).count() as u32;
        h
    }

    pub fn holds_any(self) -> bool {
        self.control_slots > 0
    }

    /// Why a query needing `pages` pages and `scan_slots` scan slots can never start while these
    /// holdings stay (a pool of `page_count` pages and `scan_slot_count` slots); None if it can.
    pub fn leaves_too_little(
        self,
        (pages, page_count): (u32, u32),
        (scan_slots, scan_slot_count): (u32, u32),
    ) -> Option<&'static str> {
        if pages > page_count.saturating_sub(self.pages) {
            Some("its open queries hold pages this query needs")
        } else if scan_slots > scan_slot_count.saturating_sub(self.scan_slots) {
            Some("its open queries hold scan slots this query needs")
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shm::layout::LayoutConfig;
    use crate::shm::segment::TestSegment;

    fn segment(pages: u32) -> TestSegment {
        TestSegment::new(LayoutConfig { page_count: pages, ..LayoutConfig::default() })
    }

    #[test]
    fn at_most_max_fusion_tasks_queries_are_admitted() {
        let t = segment(16);
        let s = &t.segment;
        assert!(s.try_admit(0, 5, 2));
        assert!(!s.try_admit(0, 5, 2), "admitted already");
        assert!(!s.try_admit(1, 12, 2), "5 + 12 > 16: not admitted, nothing counted");
        assert!(s.try_admit(1, 5, 2));
        assert!(!s.try_admit(2, 1, 2), "two queries run");
        assert_eq!(s.pages_reserved(), 10);
        s.release_reserved_pages(0);
        s.release_reserved_pages(0);
        assert!(s.try_admit(2, 1, 2), "a task came free");
        s.release_reserved_pages(1);
        s.release_reserved_pages(2);
        assert_eq!(s.pages_reserved(), 0);
        assert!(s.try_admit(0, 16, 1) && !s.try_admit(1, 1, 1));
    }

    #[test]
    fn a_holder_fails_at_once_only_when_its_own_holdings_leave_too_little() {
        let t = segment(64);
        let s = &t.segment;
        let none = Holdings::of_pid(s, 4242, None);
        assert_eq!(none, Holdings::default());
        assert!(!none.holds_any());
        // Two open queries of process 4242 (control slots 0 and 2, 40 pages), one of another.
        let c0 = s.slot(SlotKind::Control, 0).unwrap().try_claim(4242).unwrap();
        let c2 = s.slot(SlotKind::Control, 2).unwrap().try_claim(4242).unwrap();
        let _other = s.slot(SlotKind::Control, 1).unwrap().try_claim(77).unwrap();
        let _scan = s.slot(SlotKind::Scan, 5).unwrap().try_claim(4242).unwrap();
        assert!(s.try_admit(c0.index, 30, 8) && s.try_admit(c2.index, 10, 8) && s.try_admit(1, 5, 8));
        let asking = s.slot(SlotKind::Control, 3).unwrap().try_claim(4242).unwrap();
        let h = Holdings::of_pid(s, 4242, Some(asking.index));
        assert_eq!(h, Holdings { control_slots: 2, pages: 40, scan_slots: 1 });
        assert!(h.holds_any());
        // 64 pages, 40 of them its own: a query needing 24 may start once others free theirs.
        assert_eq!(h.leaves_too_little((24, 64), (2, 8)), None);
        assert!(h.leaves_too_little((25, 64), (2, 8)).is_some_and(|w| w.contains("pages")));
        assert!(h.leaves_too_little((24, 64), (8, 8)).is_some_and(|w| w.contains("scan slots")));
        // Its only control slot is the asking one: it holds nothing.
        assert!(!Holdings::of_pid(s, 77, Some(1)).holds_any());
        // Holdings past the pool (never, by the rules) leave nothing, without wrapping.
        let past = Holdings { control_slots: 1, pages: 99, scan_slots: 0 };
        assert!(past.leaves_too_little((1, 64), (1, 8)).is_some());
    }

    #[test]
    fn budgets_count_every_kind_of_page() {
        let b = Budget::minimal(8, 1);
        assert_eq!(b.pages(), 2 + 1 + 2);
        assert!(b.pages() <= MIN_PAGE_COUNT);
        // Two tables: two producers of two credits, two pins, two result pages.
        assert_eq!(Budget::minimal(8, 2).pages(), 8);
        let p = Budget::preferred(256, 2, 32);
        assert_eq!((p.credits, p.pins, p.results), (32, 64, 8));
        assert_eq!(Budget::preferred(256, 6, 32).credits, 10);
        // One producer: the channel capacity bounds its credits.
        assert_eq!(Budget::preferred(256, 1, 32).credits, 32);
        assert_eq!(Budget::preferred(256, 1, 4).credits, 4);
        assert_eq!(Budget::preferred(256, 1, 1).credits, MIN_CREDITS);
        assert_eq!(Budget::minimal(256, 3).pages(), 11);
        assert!(Budget::preferred(256, 64, 32).credits >= MIN_CREDITS);
        assert!(Budget::minimal(256, 3).pages() <= Budget::preferred(256, 3, 32).pages());
    }

    #[test]
    fn reservations_never_exceed_the_pool_and_come_back() {
        let t = segment(16);
        let s = &t.segment;
        assert!(s.try_reserve_pages(0, 10));
        assert!(!s.try_reserve_pages(1, 7), "10 + 7 > 16");
        assert!(s.try_reserve_pages(1, 6));
        assert_eq!(s.pages_reserved(), 16);
        // Shrinking one's own reservation makes room.
        assert!(s.try_reserve_pages(0, 4));
        assert_eq!(s.pages_reserved(), 10);
        assert!(s.try_reserve_pages(2, 6));
        s.release_reserved_pages(0);
        s.release_reserved_pages(0);
        assert_eq!(s.pages_reserved(), 12);
        s.release_reserved_pages(1);
        s.release_reserved_pages(2);
        assert_eq!(s.pages_reserved(), 0);
        assert!(!s.try_reserve_pages(u32::MAX, 1), "no such slot");
        assert!(!s.try_reserve_pages(2, 0), "a reservation never shrinks to nothing");
    }

    #[test]
    fn waiting_queries_start_in_their_order() {
        let t = segment(16);
        let s = &t.segment;
        assert!(s.admission_turn(0) && s.admission_turn(1), "nobody waits");
        s.join_admission_queue(3);
        s.join_admission_queue(1);
        s.join_admission_queue(3); // keeps its place
        assert!(s.admission_turn(3));
        assert!(!s.admission_turn(1), "behind 3");
        assert!(!s.admission_turn(0), "a newcomer queues behind every waiter");
        s.leave_admission_queue(3);
        assert!(s.admission_turn(1));
        s.join_admission_queue(0);
        assert!(!s.admission_turn(0));
        s.leave_admission_queue(1);
        assert!(s.admission_turn(0));
    }

    #[test]
    fn concurrent_reservations_stay_within_the_pool() {
        let t = segment(64);
        let s = t.segment;
        std::thread::scope(|scope| {
            for slot in 0..8u32 {
                scope.spawn(move || {
                    for k in 0..2000u32 {
                        if s.try_reserve_pages(slot, 5 + (k % 11)) {
                            assert!(s.pages_reserved() <= 64);
                            s.release_reserved_pages(slot);
                        }
                    }
                });
            }
        });
        assert_eq!(s.pages_reserved(), 0);
    }
}
