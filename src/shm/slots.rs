//! Control and scan slots, the wakeup registry and runtime-filter slot headers.
//!
//! A slot is one conversation between one backend-side process (a query's backend, or a scan
//! producer) and the worker: a [`SlotHeader`] followed by two SPSC rings, backend->worker and
//! worker->backend (see `ring.rs`).
//!
//! Rules for a slot's `owner` word (`generation << 32 | pid`, pid 0 = free):
//! - Only a process claiming a free slot stores a non-zero pid (CAS from free, bumping the
//!   generation); only the owner (or the cleanup of a dead owner, see `control::release_owned_by`)
//!   stores pid 0 back. The generation never goes backwards, so `(index, generation)` names one
//!   session.
//! - `state` goes Free -> Ready (claimed) -> Free (released).
//! - The rings are NOT reset when a slot changes hands: a reset would race with the worker, which
//!   may be reading the ring at that moment. They stay continuous across sessions, and stay SPSC
//!   because sessions are sequential: the owner of the moment is the only producer of the
//!   backend->worker ring and the only consumer of the worker->backend ring; the worker is the
//!   other side of both. Every frame carries its session's generation (`crate::protocol`
//!   envelopes), and each side skips frames of other sessions: a claimant may find a previous
//!   session's unread reply, and the worker may find a request of a session that already ended.
//!
//! The wakeup registry holds, per party, which latch to set: entry 0 is the worker, then one entry
//! per control slot, then one per scan slot. An entry is `(procno + 1) | pid << 32`, 0 = nobody;
//! a PGPROC number, never a pointer. Only the party itself writes its entry.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

use super::pool::OwnerId;
use super::ring::Ring;

#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotState {
    Free = 0,
    Ready = 2,
}

#[repr(C, align(64))]
pub struct SlotHeader {
    /// `generation << 32 | pid`; pid 0 = free.
    owner: AtomicU64,
    /// A [`SlotState`].
    state: AtomicU32,
    /// Non-zero while the owner waits for a free page (see `Segment::wake_page_waiters`).
    page_wait: AtomicU32,
    /// Control slots: the pages the session's query reserved (see `super::admission`).
    reserved_pages: AtomicU32,
    /// Control slots: the role the session runs for (its login role's OID), for the share one
    /// role may hold.
    role: AtomicU32,
    /// Control slots: the session's place in the admission queue; 0 when it does not wait.
    admission_ticket: AtomicU64,
}

const _: () = assert!(std::mem::size_of::<SlotHeader>() == 64);

/// Runtime filter slot header; the bit array follows it (see `super::filter` for who writes
/// what, and when).
#[repr(C, align(64))]
pub struct FilterHeader {
    /// FREE, BUILDING or READY.
    pub state: AtomicU32,
    /// Bumped each time the worker takes the slot: a producer's message names the one it means.
    pub generation: AtomicU32,
    /// Words of the bit array in use (a power of two); with `HAS_KEYS`, the keys it holds.
    pub words: AtomicU32,
    /// Bits set per key.
    pub hashes: AtomicU32,
    /// `HAS_BLOOM` | `HAS_RANGE`, or `HAS_KEYS`.
    pub flags: AtomicU32,
    /// With `HAS_KEYS`: the generation whose keys a producer claimed to run; one less until one
    /// did (set so when the slot is taken).
    pub claimed: AtomicU32,
    /// The range of a single integer key, when `HAS_RANGE`.
    pub min: AtomicI64,
    pub max: AtomicI64,
}

const _: () = assert!(std::mem::size_of::<FilterHeader>() == 64);

#[repr(C)]
pub struct WakeupEntry {
    word: AtomicU64,
}

/// Which latch to set: a PGPROC number and the pid that registered it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wakeup {
    pub procno: i32,
    pub pid: i32,
}

impl WakeupEntry {
    pub fn set(&self, w: Option<Wakeup>) {
        // procno + 1 wraps within 32 bits (procno -1, "no PGPROC", becomes 0), never into the pid.
        let word = w.map_or(0, |w| (w.procno as u32).wrapping_add(1) as u64 | (w.pid as u32 as u64) << 32);
        // Release: whatever the registrant published before is visible to whoever wakes it.
        self.word.store(word, Ordering::Release);
    }

    pub fn get(&self) -> Option<Wakeup> {
        let word = self.word.load(Ordering::Acquire);
        (word != 0).then(|| Wakeup {
            procno: ((word as u32).wrapping_sub(1)) as i32,
            pid: (word >> 32) as u32 as i32,
        })
    }
}

/// Names one session of one slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotLease {
    pub index: u32,
    pub generation: u32,
}

/// A view of one slot: its header and both rings.
#[derive(Clone, Copy)]
pub struct Slot<'a> {
    pub index: u32,
    header: &'a SlotHeader,
    pub to_worker: Ring,
    pub to_backend: Ring,
    /// Added to `index + 1` to build pool owner ids distinct across slot kinds.
    owner_base: u32,
}

fn pack(generation: u32, pid: u32) -> u64 {
    (generation as u64) << 32 | pid as u64
}

impl<'a> Slot<'a> {
    pub fn new(
        index: u32,
        header: &'a SlotHeader,
        to_worker: Ring,
        to_backend: Ring,
        owner_base: u32,
    ) -> Slot<'a> {
        Slot { index, header, to_worker, to_backend, owner_base }
    }

    /// Clear the slot at segment initialisation.
    pub fn init(&self) {
        self.header.owner.store(0, Ordering::Relaxed);
        self.header.state.store(SlotState::Free as u32, Ordering::Relaxed);
        self.header.page_wait.store(0, Ordering::Relaxed);
        self.header.reserved_pages.store(0, Ordering::Relaxed);
        self.header.role.store(0, Ordering::Relaxed);
        self.header.admission_ticket.store(0, Ordering::Relaxed);
        self.to_worker.reset();
        self.to_backend.reset();
    }

    /// Claim the slot for `pid` if it is free and publish `Ready`. The rings are left as they are.
    pub fn try_claim(&self, pid: i32) -> Option<SlotLease> {
        // Acquire: the previous owner's release (and everything before it) happens before us.
        let word = self.header.owner.load(Ordering::Acquire);
        if word as u32 != 0 {
            return None;
        }
        let generation = ((word >> 32) as u32).wrapping_add(1);
        self.header
            .owner
            .compare_exchange(word, pack(generation, pid as u32), Ordering::AcqRel, Ordering::Relaxed)
            .ok()?;
        // Release: the claim is published with the state word.
        self.header.state.store(SlotState::Ready as u32, Ordering::Release);
        Some(SlotLease { index: self.index, generation })
    }

    /// End the session named by `lease`. False if it was not current (already released).
    pub fn release(&self, lease: SlotLease) -> bool {
        let word = self.header.owner.load(Ordering::Acquire);
        if (word >> 32) as u32 != lease.generation || word as u32 == 0 {
            return false;
        }
        self.header.state.store(SlotState::Free as u32, Ordering::Release);
        // Release: our last uses of the rings happen before the next claimant's first.
        self.header
            .owner
            .compare_exchange(word, pack(lease.generation, 0), Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// The current session whatever its state: `(lease, owner pid)`; None when free.
    pub fn current_session(&self) -> Option<(SlotLease, i32)> {
        let word = self.header.owner.load(Ordering::Acquire);
        let pid = word as u32;
        (pid != 0).then_some((SlotLease { index: self.index, generation: (word >> 32) as u32 }, pid as i32))
    }

    /// Is `lease` still the current session?
    pub fn is_current(&self, lease: SlotLease) -> bool {
        let word = self.header.owner.load(Ordering::Acquire);
        word as u32 != 0 && (word >> 32) as u32 == lease.generation
    }

    /// Mark (or unmark) the owner as waiting for a free page; returns whether it was marked.
    pub fn swap_page_wait(&self, waiting: bool) -> bool {
        self.header.page_wait.swap(waiting as u32, Ordering::SeqCst) != 0
    }

    pub fn page_wait(&self) -> bool {
        self.header.page_wait.load(Ordering::SeqCst) != 0
    }

    /// The pages this control slot's query reserved (see `super::admission`).
    pub(super) fn reserved_pages(&self) -> &'a AtomicU32 {
        &self.header.reserved_pages
    }

    /// Record the role this control slot's session runs for (its owner only).
    pub fn set_role(&self, role: u32) {
        self.header.role.store(role, Ordering::Release);
    }

    /// The role of the session, when the slot is in use.
    pub fn role(&self) -> Option<u32> {
        self.owner_pid().map(|_| self.header.role.load(Ordering::Acquire))
    }

    /// This control slot's place in the admission queue (see `super::admission`).
    pub(super) fn admission_ticket(&self) -> &'a AtomicU64 {
        &self.header.admission_ticket
    }

    pub fn owner_pid(&self) -> Option<i32> {
        let pid = self.header.owner.load(Ordering::Acquire) as u32;
        (pid != 0).then_some(pid as i32)
    }

    /// The page-pool owner id of a session of this slot: distinct per slot and, modulo 2^15, per
    /// generation, so pages of an earlier session are never mistaken for the current one's.
    pub fn pool_owner(&self, lease: SlotLease) -> OwnerId {
        let slot_part = self.owner_base + self.index + 1; // < 2^16, checked by the layout bounds
        let raw = (lease.generation & 0x7fff) << 16 | slot_part;
        // `slot_part >= 1`, so raw is never zero and the fallback is never taken.
        OwnerId::new(raw).unwrap_or(OwnerId::SENTINEL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TestSlot {
        _mem: Vec<u64>,
        header: *const SlotHeader,
        to_worker: Ring,
        to_backend: Ring,
    }

    fn slot_mem() -> TestSlot {
        let mut mem = vec![0u64; 2048];
        let base = (mem.as_mut_ptr() as usize).div_ceil(64) * 64;
        // SAFETY: all offsets below stay inside `mem` (16 KiB), which TestSlot keeps alive.
        let (to_worker, to_backend) = unsafe {
            (
                Ring::from_raw((base + 64) as *mut u8, (base + 192) as *mut u8, 256),
                Ring::from_raw((base + 448) as *mut u8, (base + 576) as *mut u8, 256),
            )
        };
        TestSlot { _mem: mem, header: base as *const SlotHeader, to_worker, to_backend }
    }

    impl TestSlot {
        fn slot(&self) -> Slot<'_> {
            // SAFETY: `header` points into `_mem`, aligned, zeroed (a valid SlotHeader).
            let h = unsafe { &*self.header };
            let s = Slot::new(0, h, self.to_worker, self.to_backend, 0);
            s
        }
    }

    #[test]
    fn claim_release_bumps_generation() {
        let t = slot_mem();
        let s = t.slot();
        s.init();
        let a = s.try_claim(100).unwrap();
        assert_eq!(s.try_claim(200), None);
        assert_eq!(s.current_session(), Some((a, 100)));
        assert!(s.release(a));
        assert!(!s.release(a), "double release must be refused");
        assert_eq!(s.current_session(), None);
        let b = s.try_claim(200).unwrap();
        assert_eq!(b.generation, a.generation + 1);
        assert!(!s.is_current(a));
        assert!(s.is_current(b));
        assert_ne!(s.pool_owner(a), s.pool_owner(b));
    }

    #[test]
    fn claim_keeps_rings_continuous() {
        // A reset here would race with a worker reading the ring; a left-over frame is instead
        // skipped by its session generation (see crate::protocol::Envelope).
        let t = slot_mem();
        let s = t.slot();
        s.init();
        let a = s.try_claim(1).unwrap();
        s.to_worker.try_send(b"left over").unwrap();
        s.release(a);
        s.try_claim(2).unwrap();
        let mut out = Vec::new();
        assert_eq!(s.to_worker.try_recv(&mut out), Ok(true));
        assert_eq!(out, b"left over");
    }

    #[test]
    fn wakeup_entry_round_trips_procno_zero() {
        let e = WakeupEntry { word: AtomicU64::new(0) };
        assert_eq!(e.get(), None);
        e.set(Some(Wakeup { procno: 0, pid: 4242 }));
        assert_eq!(e.get(), Some(Wakeup { procno: 0, pid: 4242 }));
        e.set(None);
        assert_eq!(e.get(), None);
        e.set(Some(Wakeup { procno: -1, pid: 77 }));
        assert_eq!(e.get(), Some(Wakeup { procno: -1, pid: 77 }));
    }
}
