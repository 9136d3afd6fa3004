//! The fixed page pool: `page_count` pages of `page_size` bytes, one state word per page.
//!
//! Rules:
//! - A page's state word is `generation << 32 | owner`. `owner == 0` means Free; any other value
//!   is the [`OwnerId`] holding the lease. Only a compare-and-swap changes a state word.
//! - Acquire moves Free -> Leased and increments the generation (wrapping), so every lease has a
//!   generation no earlier descriptor carries. Release moves Leased -> Free only if the caller's
//!   descriptor carries the current generation: a stale or forged descriptor is rejected and
//!   changes nothing.
//! - The pool never allocates and never spins waiting: `acquire` returns `None` when every page is
//!   leased, and the caller waits on its latch (backpressure). Releasers wake waiters.
//! - The bytes of a page may be touched only by the lease holder, or by whoever it handed the
//!   descriptor to, and only after checking that the descriptor's generation is current.
//! - `reclaim_owner` frees every page leased by one owner: used when a slot is released or its
//!   process exits, so the pool never leaks across queries.
//! - Hand-over: a page crosses processes by descriptor, and the consumer takes the lease over with
//!   [`PagePool::transfer`] (a CAS from the producer's owner id to its own, same generation) before
//!   it reads a byte. So the producer's `reclaim_owner` (its session ending) can never free a page
//!   the consumer reads: either the transfer won (the page is the consumer's) or the reclaim won
//!   (the transfer fails and the descriptor is treated as stale). Whoever holds the lease after the
//!   hand-over releases it.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Who holds a lease. Never zero. Built from a slot index and the slot's generation, so leases of a
/// slot's previous session are distinguishable from the current one's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OwnerId(u32);

impl OwnerId {
    /// Never handed out by a slot; only a fallback where a zero id is impossible by construction.
    pub const SENTINEL: OwnerId = OwnerId(u32::MAX);

    pub fn new(raw: u32) -> Option<OwnerId> {
        (raw != 0).then_some(OwnerId(raw))
    }
    pub fn raw(self) -> u32 {
        self.0
    }
}

/// Names one lease of one page: what travels between processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct PageDescriptor {
    pub index: u32,
    pub generation: u32,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PageError {
    /// Index out of range or generation not current: never read, never freed.
    Stale,
    /// The page is free: double release.
    NotLeased,
}

fn pack(generation: u32, owner: u32) -> u64 {
    (generation as u64) << 32 | owner as u64
}
fn generation_of(word: u64) -> u32 {
    (word >> 32) as u32
}
fn owner_of(word: u64) -> u32 {
    word as u32
}

/// A view of the pool inside the segment.
#[derive(Clone, Copy)]
pub struct PagePool<'a> {
    states: &'a [AtomicU64],
    hint: &'a AtomicU32,
    pages: *mut u8,
    page_size: usize,
    page_stride: usize,
}

// SAFETY: all shared state is reached through atomics; page bytes are only touched under the
// lease protocol above, which is designed for concurrent processes and so for threads too.
unsafe impl Send for PagePool<'_> {}
// SAFETY: as above.
unsafe impl Sync for PagePool<'_> {}

impl<'a> PagePool<'a> {
    /// # Safety
    /// `pages` must point to `states.len() * page_stride` bytes that live for `'a`, with
    /// `page_size <= page_stride`.
    pub unsafe fn from_raw(
        states: &'a [AtomicU64],
        hint: &'a AtomicU32,
        pages: *mut u8,
        page_size: usize,
        page_stride: usize,
    ) -> PagePool<'a> {
        PagePool { states, hint, pages, page_size, page_stride }
    }

    /// Mark every page Free with generation 0. Only at segment initialisation.
    pub fn init(&self) {
        for s in self.states {
            s.store(0, Ordering::Relaxed);
        }
        self.hint.store(0, Ordering::Relaxed);
    }

    pub fn page_count(&self) -> usize {
        self.states.len()
    }

    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// Lease a free page for `owner`, or `None` when the pool is exhausted.
    pub fn acquire(&self, owner: OwnerId) -> Option<PageDescriptor> {
        let n = self.states.len();
        // Relaxed: the hint only spreads the search; correctness rests on the CAS below.
        let start = self.hint.fetch_add(1, Ordering::Relaxed) as usize % n;
        for k in 0..n {
            let index = (start + k) % n;
            let state = &self.states[index];
            let word = state.load(Ordering::Relaxed);
            if owner_of(word) != 0 {
                continue;
            }
            let generation = generation_of(word).wrapping_add(1);
            // Acquire: the previous holder's writes to the page (and its Release in `release`)
            // happen before we reuse the bytes.
            if state
                .compare_exchange(word, pack(generation, owner.raw()), Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                return Some(PageDescriptor { index: index as u32, generation });
            }
        }
        None
    }

    /// Current owner of the lease named by `desc`, or `Stale` if it is not current.
    pub fn check(&self, desc: PageDescriptor) -> Result<OwnerId, PageError> {
        let state = self.states.get(desc.index as usize).ok_or(PageError::Stale)?;
        // Acquire: the writer's bytes, published before it handed the descriptor on, are visible.
        let word = state.load(Ordering::Acquire);
        if generation_of(word) != desc.generation {
            return Err(PageError::Stale);
        }
        OwnerId::new(owner_of(word)).ok_or(PageError::NotLeased)
    }

    /// Return the page named by `desc` to the pool.
    pub fn release(&self, desc: PageDescriptor) -> Result<(), PageError> {
        let state = self.states.get(desc.index as usize).ok_or(PageError::Stale)?;
        let mut word = state.load(Ordering::Relaxed);
        loop {
            if generation_of(word) != desc.generation {
                return Err(PageError::Stale);
            }
            if owner_of(word) == 0 {
                return Err(PageError::NotLeased);
            }
            // Release: our use of the bytes happens before the next acquirer's.
            match state.compare_exchange_weak(
                word,
                pack(desc.generation, 0),
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => word = now,
            }
        }
    }

    /// Take over the lease named by `desc` from `from` (the producer) for `to` (the consumer).
    /// Fails, changing nothing, when the lease is not current or not `from`'s.
    pub fn transfer(&self, desc: PageDescriptor, from: OwnerId, to: OwnerId) -> Result<(), PageError> {
        let state = self.states.get(desc.index as usize).ok_or(PageError::Stale)?;
        // AcqRel: the producer's writes to the page are visible to us; our later use of it is
        // ordered after the transfer.
        state
            .compare_exchange(
                pack(desc.generation, from.raw()),
                pack(desc.generation, to.raw()),
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .map(|_| ())
            .map_err(|_| PageError::Stale)
    }

    /// Free every page whose owner id satisfies `pred` (worker restart: every worker-held lease).
    pub fn reclaim_where(&self, pred: impl Fn(OwnerId) -> bool) -> usize {
        let mut freed = 0;
        for state in self.states {
            let word = state.load(Ordering::Relaxed);
            if let Some(o) = OwnerId::new(owner_of(word)) {
                if pred(o)
                    && state
                        .compare_exchange(
                            word,
                            pack(generation_of(word), 0),
                            Ordering::Release,
                            Ordering::Relaxed,
                        )
                        .is_ok()
                {
                    freed += 1;
                }
            }
        }
        freed
    }

    /// Free every page leased by `owner`; returns how many.
    pub fn reclaim_owner(&self, owner: OwnerId) -> usize {
        self.reclaim_where(|o| o == owner)
    }

    /// Pages currently leased by `owner` (exact for an owner whose leases only its caller
    /// changes, else a snapshot).
    pub fn held_by(&self, owner: OwnerId) -> usize {
        self.states.iter().filter(|s| owner_of(s.load(Ordering::Relaxed)) == owner.raw()).count()
    }

    /// Pages currently leased (a gauge; exact when quiescent).
    pub fn in_use(&self) -> usize {
        self.states.iter().filter(|s| owner_of(s.load(Ordering::Relaxed)) != 0).count()
    }

    /// The bytes of a leased page, after checking the descriptor is current. The pointer stays
    /// valid for `'a`; the caller may use it only while it (or its consumer) holds the lease.
    pub fn page_ptr(&self, desc: PageDescriptor) -> Result<*mut u8, PageError> {
        self.check(desc)?;
        // SAFETY: `check` proved `desc.index < page_count`, so the offset is inside the pages area.
        Ok(unsafe { self.pages.add(desc.index as usize * self.page_stride) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TestPool {
        states: Vec<AtomicU64>,
        hint: AtomicU32,
        pages: Vec<u8>,
    }

    fn pool(n: usize) -> TestPool {
        TestPool {
            states: (0..n).map(|_| AtomicU64::new(0)).collect(),
            hint: AtomicU32::new(0),
            pages: vec![0; n * 64],
        }
    }

    impl TestPool {
        fn view(&mut self) -> PagePool<'_> {
            let pages = self.pages.as_mut_ptr();
            // SAFETY: `pages` holds `n * 64` bytes and lives as long as the borrow.
            unsafe { PagePool::from_raw(&self.states, &self.hint, pages, 64, 64) }
        }
    }

    fn owner(n: u32) -> OwnerId {
        OwnerId::new(n).unwrap()
    }

    #[test]
    fn exhaustion_returns_none_and_release_makes_room() {
        let mut t = pool(3);
        let p = t.view();
        let a = p.acquire(owner(1)).unwrap();
        let _b = p.acquire(owner(1)).unwrap();
        let _c = p.acquire(owner(2)).unwrap();
        assert_eq!(p.acquire(owner(1)), None);
        assert_eq!(p.in_use(), 3);
        p.release(a).unwrap();
        let d = p.acquire(owner(3)).unwrap();
        assert_eq!(d.index, a.index);
        assert_ne!(d.generation, a.generation);
    }

    #[test]
    fn stale_generation_is_rejected() {
        let mut t = pool(1);
        let p = t.view();
        let a = p.acquire(owner(1)).unwrap();
        p.release(a).unwrap();
        let b = p.acquire(owner(1)).unwrap();
        // The old descriptor names the same page but an earlier lease.
        assert_eq!(p.release(a), Err(PageError::Stale));
        assert_eq!(p.page_ptr(a), Err(PageError::Stale));
        assert_eq!(p.check(b), Ok(owner(1)));
        assert_eq!(p.in_use(), 1);
    }

    #[test]
    fn double_release_is_rejected() {
        let mut t = pool(2);
        let p = t.view();
        let a = p.acquire(owner(1)).unwrap();
        p.release(a).unwrap();
        assert_eq!(p.release(a), Err(PageError::NotLeased));
    }

    #[test]
    fn out_of_range_descriptor_is_stale() {
        let mut t = pool(2);
        let p = t.view();
        let bogus = PageDescriptor { index: 7, generation: 1 };
        assert_eq!(p.release(bogus), Err(PageError::Stale));
        assert_eq!(p.page_ptr(bogus), Err(PageError::Stale));
    }

    #[test]
    fn reclaim_frees_only_that_owner() {
        let mut t = pool(4);
        let p = t.view();
        p.acquire(owner(1)).unwrap();
        p.acquire(owner(2)).unwrap();
        p.acquire(owner(1)).unwrap();
        assert_eq!(p.reclaim_owner(owner(1)), 2);
        assert_eq!(p.in_use(), 1);
        assert_eq!(p.reclaim_owner(owner(1)), 0);
    }

    #[test]
    fn transfer_moves_the_lease_and_beats_or_loses_to_reclaim() {
        let mut t = pool(2);
        let p = t.view();
        let a = p.acquire(owner(1)).unwrap();
        p.transfer(a, owner(1), owner(7)).unwrap();
        // The producer's session ends: its reclaim no longer frees the handed-over page.
        assert_eq!(p.reclaim_owner(owner(1)), 0);
        assert_eq!(p.check(a), Ok(owner(7)));
        // A second transfer from the old owner fails.
        assert_eq!(p.transfer(a, owner(1), owner(8)), Err(PageError::Stale));
        // Reclaim first: the consumer's transfer fails and it never reads the page.
        let b = p.acquire(owner(2)).unwrap();
        assert_eq!(p.reclaim_owner(owner(2)), 1);
        assert_eq!(p.transfer(b, owner(2), owner(7)), Err(PageError::Stale));
        assert_eq!(p.reclaim_where(|o| o == owner(7)), 1);
        assert_eq!(p.in_use(), 0);
    }

    #[test]
    fn held_by_counts_one_owner_across_transfers() -> Result<(), PageError> {
        let mut t = pool(4);
        let p = t.view();
        let a = p.acquire(owner(1)).ok_or(PageError::Stale)?;
        assert!(p.acquire(owner(1)).is_some() && p.acquire(owner(2)).is_some());
        assert_eq!((p.held_by(owner(1)), p.held_by(owner(2))), (2, 1));
        p.transfer(a, owner(1), owner(2))?;
        assert_eq!((p.held_by(owner(1)), p.held_by(owner(2))), (1, 2));
        p.release(a)?;
        assert_eq!(p.held_by(owner(2)), 1);
        Ok(())
    }

    #[test]
    fn owner_zero_is_not_an_owner() {
        assert_eq!(OwnerId::new(0), None);
    }

    #[test]
    fn page_pointers_are_distinct_and_in_bounds() {
        let mut t = pool(4);
        let base = t.pages.as_ptr() as usize;
        let p = t.view();
        let mut seen = Vec::new();
        while let Some(d) = p.acquire(owner(9)) {
            let ptr = p.page_ptr(d).unwrap() as usize;
            assert!(ptr >= base && ptr + 64 <= base + 4 * 64);
            seen.push(ptr);
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn concurrent_acquire_never_hands_a_page_out_twice() {
        let mut t = pool(8);
        let p = t.view();
        std::thread::scope(|s| {
            for o in 1..=4u32 {
                s.spawn(move || {
                    for _ in 0..10_000 {
                        if let Some(d) = p.acquire(owner(o)) {
                            assert_eq!(p.check(d), Ok(owner(o)));
                            p.release(d).unwrap();
                        }
                    }
                });
            }
        });
        assert_eq!(p.in_use(), 0);
    }
}
