//! The segment as a whole: header validation, initialisation, and typed views of its regions.
//!
//! Rules:
//! - The segment is initialised exactly once per postmaster shared-memory lifetime (first start and
//!   after crash recovery) by [`Segment::initialize`], under `AddinShmemInitLock`, before any other
//!   process can see it. Afterwards only atomics change.
//! - Every view handed out is bounds-checked against [`Layout`]: an index out of range gives
//!   `None`, never a slice outside the segment.

use std::mem::size_of;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::filter::FilterSlot;
use super::layout::{Layout, LayoutConfig, SegmentHeaderLayout, LAYOUT_VERSION, SEGMENT_MAGIC};
use super::metrics::{Metrics, METRIC_COUNT};
use super::pool::OwnerId;
use super::pool::PagePool;
use super::ring::Ring;
use super::slots::{FilterHeader, Slot, SlotHeader, SlotLease, WakeupEntry};

/// Why an attached segment cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub enum AttachError {
    TooSmall { have: usize, need: usize },
    BadMagic,
    VersionMismatch { found: u32 },
    ConfigMismatch,
}

/// A view of the segment mapped at `base` in this process.
#[derive(Clone, Copy)]
pub struct Segment {
    base: *mut u8,
    layout: Layout,
}

// SAFETY: the segment is shared between processes by design; every mutable field is an atomic or
// follows a documented single-writer protocol, so sharing the view between threads is no weaker.
unsafe impl Send for Segment {}
// SAFETY: as above.
unsafe impl Sync for Segment {}

/// What the worker holds pages for, per query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerRole {
    ScanImport,
    Results,
}

/// Make process `pid` set its latch: PostgreSQL's SIGUSR1 handler always ends with SetLatch.
/// Async-signal and thread safe (only kill(2)).
pub fn signal_latch(pid: i32) {
    if pid > 0 {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe { libc::kill(pid, libc::SIGUSR1) };
    }
}

/// Which group of slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotKind {
    Control,
    Scan,
}

impl Segment {
    /// # Safety
    /// `base` must point to `size` bytes of memory, 64-byte aligned, mapped for as long as the
    /// returned view (and every view derived from it) is used.
    pub unsafe fn from_raw(base: *mut u8, size: usize, layout: Layout) -> Result<Segment, AttachError> {
        if size < layout.total_size {
            return Err(AttachError::TooSmall { have: size, need: layout.total_size });
        }
        Ok(Segment { base, layout })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub(super) fn header(&self) -> &SegmentHeaderLayout {
        // SAFETY: offset 0, size and alignment guaranteed by `from_raw` and the layout.
        unsafe { &*(self.base as *const SegmentHeaderLayout) }
    }

    /// `len` atomics starting at `offset`. Callers pass offsets from `Layout`, which reserves
    /// exactly these ranges, 64-byte aligned.
    fn atomics<T>(&self, offset: usize, len: usize) -> &[T] {
        assert!(offset + len * size_of::<T>() <= self.layout.total_size);
        // SAFETY: bounds asserted above; alignment from the layout; the element types used here
        // (AtomicU64, WakeupEntry) are valid for any bit pattern including zero.
        unsafe { std::slice::from_raw_parts(self.base.add(offset) as *const T, len) }
    }

    /// Write a fresh header and reset every structure. Only from the shmem startup hook.
    pub fn initialize(&self) {
        // SAFETY: we are the only process touching the segment (caller holds AddinShmemInitLock
        // during postmaster startup); the header region is ours to write.
        unsafe {
            std::ptr::write_bytes(self.base, 0, size_of::<SegmentHeaderLayout>());
            let h = self.base as *mut SegmentHeaderLayout;
            (*h).magic = SEGMENT_MAGIC;
            (*h).version = LAYOUT_VERSION;
            (*h).config = self.layout.config;
        }
        self.pool().init();
        for e in self.wakeups() {
            e.set(None);
        }
        for c in self.atomics::<AtomicU64>(self.layout.metrics_offset, METRIC_COUNT) {
            c.store(0, Ordering::Relaxed);
        }
        for kind in [SlotKind::Control, SlotKind::Scan] {
            let mut i = 0;
            while let Some(s) = self.slot(kind, i) {
                s.init();
                i += 1;
            }
        }
        for i in 0..self.layout.config.runtime_filter_count {
            if let Some(off) = self.layout.filter_offset(i) {
                // SAFETY: `filter_offset` keeps the range inside the filters region.
                unsafe { std::ptr::write_bytes(self.base.add(off), 0, self.layout.filter_stride) };
            }
        }
    }

    /// Check that an already initialised segment is the one this code and configuration expect.
    pub fn validate(&self) -> Result<(), AttachError> {
        let h = self.header();
        if h.magic != SEGMENT_MAGIC {
            return Err(AttachError::BadMagic);
        }
        if h.version != LAYOUT_VERSION {
            return Err(AttachError::VersionMismatch { found: h.version });
        }
        if h.config != self.layout.config {
            return Err(AttachError::ConfigMismatch);
        }
        Ok(())
    }

    pub fn config(&self) -> LayoutConfig {
        self.layout.config
    }

    pub fn pool(&self) -> PagePool<'_> {
        let l = &self.layout;
        let states = self.atomics::<AtomicU64>(l.page_states_offset, l.config.page_count as usize);
        let hint: &AtomicU32 = &self.header().page_hint;
        // SAFETY: the pages region is `page_count * page_stride` bytes at `pages_offset`, inside the
        // segment (layout), and lives as long as `self`'s mapping.
        unsafe {
            PagePool::from_raw(
                states,
                hint,
                self.base.add(l.pages_offset),
                l.config.page_size as usize,
                l.page_stride,
            )
        }
    }

    /// Producers waiting for a free page (each waits on its own latch).
    pub fn page_waiters(&self) -> &AtomicU32 {
        &self.header().page_waiters
    }

    /// Mark the owner of slot (`kind`, `index`) as waiting (or no longer) for a free page.
    pub fn set_page_wait(&self, kind: SlotKind, index: u32, waiting: bool) {
        let Some(slot) = self.slot(kind, index) else { return };
        if slot.page_wait() == waiting {
            return;
        }
        // The count goes up before a flag is set and down after one is cleared, so it never
        // undercounts the flags (it is only the fast path's hint).
        if waiting {
            self.page_waiters().fetch_add(1, Ordering::SeqCst);
            if slot.swap_page_wait(true) {
                self.page_waiters().fetch_sub(1, Ordering::SeqCst);
            }
        } else if slot.swap_page_wait(false) {
            self.page_waiters().fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// After releasing pages (or reading a frame, or granting credit): signal every slot owner
    /// waiting for one. Cheap when nobody waits. Safe from any thread (it sends SIGUSR1, which
    /// makes a PostgreSQL process set its latch).
    ///
    /// A wakeup is one-shot: the flag is cleared by the signal that answers it, so a waiter gets
    /// one signal per registration, not one per page the worker moves until it runs again (on
    /// two cores that was one signal per page per waiting producer). A waiter still blocked
    /// after waking registers again and checks once more before it sleeps.
    pub fn wake_page_waiters(&self) {
        if self.page_waiters().load(Ordering::SeqCst) == 0 {
            return;
        }
        for kind in [SlotKind::Control, SlotKind::Scan] {
            for i in 0..self.slot_count(kind) {
                if let Some(slot) = self.slot(kind, i) {
                    if slot.page_wait() && slot.swap_page_wait(false) {
                        self.page_waiters().fetch_sub(1, Ordering::SeqCst);
                        // The party registered for the slot (a parallel scan producer writing
                        // into its leader's scan slot), else the slot's owner.
                        let registered = self.slot_wakeup(kind, i).and_then(|w| w.get()).map(|w| w.pid);
                        if let Some(pid) = registered.or_else(|| slot.owner_pid()) {
                            signal_latch(pid);
                        }
                    }
                }
            }
        }
    }

    /// The pool owner the worker uses for one query (the control slot's session `lease`): one for
    /// the scan pages it took over, one for the result pages it writes. Distinct from every slot's
    /// own owner ids.
    pub fn worker_owner(&self, role: WorkerRole, lease: SlotLease) -> OwnerId {
        let c = self.layout.control.count as u32;
        let s = self.layout.scan.count as u32;
        let part = match role {
            WorkerRole::ScanImport => c + s + 1 + lease.index,
            WorkerRole::Results => 2 * c + s + 1 + lease.index,
        };
        OwnerId::new((lease.generation & 0x7fff) << 16 | part).unwrap_or(OwnerId::SENTINEL)
    }

    /// Does `owner` belong to the worker (any query)?
    pub fn is_worker_owner(&self, owner: OwnerId) -> bool {
        let c = self.layout.control.count as u32;
        let s = self.layout.scan.count as u32;
        (owner.raw() & 0xffff) > c + s
    }

    pub fn metrics(&self) -> Metrics<'_> {
        Metrics::new(
            self.atomics::<AtomicU64>(self.layout.metrics_offset, METRIC_COUNT),
            &self.header().reset_epoch,
        )
    }

    fn wakeups(&self) -> &[WakeupEntry] {
        self.atomics::<WakeupEntry>(self.layout.wakeup_offset, self.layout.wakeup_count)
    }

    /// The worker's wakeup entry.
    pub fn worker_wakeup(&self) -> &WakeupEntry {
        &self.wakeups()[0]
    }

    /// The wakeup entry of the party on the backend side of slot `index` of `kind`.
    pub fn slot_wakeup(&self, kind: SlotKind, index: u32) -> Option<&WakeupEntry> {
        let control = self.layout.control.count;
        let i = index as usize;
        let at = match kind {
            SlotKind::Control => (i < control).then_some(1 + i)?,
            SlotKind::Scan => (i < self.layout.scan.count).then_some(1 + control + i)?,
        };
        self.wakeups().get(at)
    }

    pub fn slot_count(&self, kind: SlotKind) -> u32 {
        match kind {
            SlotKind::Control => self.layout.control.count as u32,
            SlotKind::Scan => self.layout.scan.count as u32,
        }
    }

    /// A view of slot `index` of `kind`, or `None` when out of range.
    pub fn slot(&self, kind: SlotKind, index: u32) -> Option<Slot<'_>> {
        let (region, owner_base) = match kind {
            SlotKind::Control => (&self.layout.control, 0),
            SlotKind::Scan => (&self.layout.scan, self.layout.control.count as u32),
        };
        let i = index as usize;
        let header_off = region.slot_offset(i)?;
        let (tw_h, tw_d) = region.to_worker_ring(i)?;
        let (tb_h, tb_d) = region.to_backend_ring(i)?;
        // SAFETY: the region's offsets lie inside the segment and are 64-byte aligned (layout);
        // the rings' capacities are the region's, which the layout reserved after each header.
        unsafe {
            let header = &*(self.base.add(header_off) as *const SlotHeader);
            let to_worker =
                Ring::from_raw(self.base.add(tw_h), self.base.add(tw_d), region.to_worker_capacity);
            let to_backend =
                Ring::from_raw(self.base.add(tb_h), self.base.add(tb_d), region.to_backend_capacity);
            Some(Slot::new(index, header, to_worker, to_backend, owner_base))
        }
    }

    /// Runtime filter slot `index`, or `None` when out of range (see `super::filter`).
    pub fn filter(&self, index: u32) -> Option<FilterSlot<'_>> {
        let off = self.layout.filter_offset(index)?;
        let words = self.layout.config.runtime_filter_bits as usize / 64;
        let bits_off = off + size_of::<FilterHeader>();
        assert!(bits_off + words * 8 <= off + self.layout.filter_stride);
        // `filter_offset` keeps the slot (header, then `runtime_filter_bits` bits, which the
        // stride holds: asserted) inside the filters region, 64-byte aligned.
        // SAFETY: in bounds and aligned (above); all-zero bytes are a valid FilterHeader (FREE).
        let header = unsafe { &*(self.base.add(off) as *const FilterHeader) };
        Some(FilterSlot::new(header, self.atomics::<AtomicU64>(bits_off, words)))
    }

    /// Runtime filter slots taken (a gauge).
    pub fn filters_in_use(&self) -> u32 {
        (0..self.layout.config.runtime_filter_count)
            .filter(|&i| self.filter(i).is_some_and(|f| f.in_use()))
            .count() as u32
    }

    /// Slots of `kind` currently owned (a gauge).
    pub fn slots_in_use(&self, kind: SlotKind) -> u32 {
        (0..self.slot_count(kind))
            .filter(|&i| self.slot(kind, i).and_then(|s| s.owner_pid()).is_some())
            .count() as u32
    }
}

/// Heap memory laid out like a segment, for tests here and in other modules.
#[cfg(test)]
pub struct TestSegment {
    _mem: Vec<u64>,
    pub segment: Segment,
}

#[cfg(test)]
impl TestSegment {
    pub fn new(config: LayoutConfig) -> TestSegment {
        let layout = Layout::new(config).unwrap();
        let mut mem = vec![0u64; layout.total_size / 8 + 16];
        let base = (mem.as_mut_ptr() as usize).div_ceil(64) * 64;
        // SAFETY: `mem` holds total_size bytes past the aligned base and outlives the view.
        let segment = unsafe { Segment::from_raw(base as *mut u8, layout.total_size, layout).unwrap() };
        segment.initialize();
        TestSegment { _mem: mem, segment }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shm::metrics::Metric;

    fn small() -> LayoutConfig {
        LayoutConfig { page_count: 8, page_size: 4096, runtime_filter_bits: 1024, ..LayoutConfig::default() }
    }

    #[test]
    fn initialized_segment_validates() {
        let t = TestSegment::new(small());
        assert_eq!(t.segment.validate(), Ok(()));
        assert_eq!(t.segment.pool().in_use(), 0);
        assert_eq!(t.segment.slots_in_use(SlotKind::Control), 0);
    }

    #[test]
    fn config_mismatch_is_detected() {
        let t = TestSegment::new(small());
        let other = Layout::new(LayoutConfig { page_count: 9, ..small() }).unwrap();
        // SAFETY: the smaller-or-equal view stays inside the same allocation.
        let s = unsafe { Segment::from_raw(t.segment.base, t.segment.layout.total_size, other) };
        assert!(
            matches!(s, Err(AttachError::TooSmall { .. }))
                || s.unwrap().validate() == Err(AttachError::ConfigMismatch)
        );
    }

    #[test]
    fn page_wakeups_are_one_shot() {
        let t = TestSegment::new(small());
        let seg = t.segment;
        let waiting = |i| seg.slot(SlotKind::Scan, i).is_some_and(|s| s.page_wait());
        let count = || seg.page_waiters().load(Ordering::SeqCst);
        seg.set_page_wait(SlotKind::Scan, 0, true);
        seg.set_page_wait(SlotKind::Scan, 0, true);
        seg.set_page_wait(SlotKind::Scan, 1, true);
        assert_eq!(count(), 2);
        // No owner pid on these unclaimed slots: the wakeup clears them without a signal.
        seg.wake_page_waiters();
        assert!(!waiting(0) && !waiting(1));
        assert_eq!(count(), 0);
        // The waiter's own "no longer waiting" after a wakeup changes nothing.
        seg.set_page_wait(SlotKind::Scan, 0, false);
        assert_eq!(count(), 0);
        seg.set_page_wait(SlotKind::Scan, 0, true);
        seg.set_page_wait(SlotKind::Scan, 0, false);
        assert_eq!(count(), 0);
        assert!(!waiting(0));
    }

    #[test]
    fn slot_views_are_bounded() {
        let t = TestSegment::new(small());
        assert!(t.segment.slot(SlotKind::Control, 63).is_some());
        assert!(t.segment.slot(SlotKind::Control, 64).is_none());
        assert!(t.segment.slot(SlotKind::Scan, 64).is_none());
        assert!(t.segment.slot_wakeup(SlotKind::Scan, 64).is_none());
    }

    #[test]
    fn control_and_scan_owners_differ() {
        let t = TestSegment::new(small());
        let c = t.segment.slot(SlotKind::Control, 0).unwrap();
        let s = t.segment.slot(SlotKind::Scan, 0).unwrap();
        let lc = c.try_claim(1).unwrap();
        let ls = s.try_claim(1).unwrap();
        assert_ne!(c.pool_owner(lc), s.pool_owner(ls));
    }

    #[test]
    fn rings_of_neighbouring_slots_do_not_overlap() {
        let t = TestSegment::new(small());
        for i in 0..t.segment.slot_count(SlotKind::Control) {
            let s = t.segment.slot(SlotKind::Control, i).unwrap();
            s.try_claim(1).unwrap();
            s.to_worker.try_send(&i.to_le_bytes().repeat(100)).unwrap();
            s.to_backend.try_send(&(i + 1000).to_le_bytes().repeat(100)).unwrap();
        }
        for i in 0..t.segment.slot_count(SlotKind::Control) {
            let s = t.segment.slot(SlotKind::Control, i).unwrap();
            let mut out = Vec::new();
            assert!(s.to_worker.try_recv(&mut out).unwrap());
            assert_eq!(out, i.to_le_bytes().repeat(100));
            out.clear();
            assert!(s.to_backend.try_recv(&mut out).unwrap());
            assert_eq!(out, (i + 1000).to_le_bytes().repeat(100));
        }
        // Pages were untouched by all that.
        assert_eq!(t.segment.pool().in_use(), 0);
        t.segment.metrics().inc(Metric::QueriesTotal);
        assert_eq!(t.segment.metrics().get(Metric::QueriesTotal), 1);
    }

    #[test]
    fn page_writes_stay_inside_their_page() {
        let t = TestSegment::new(small());
        let pool = t.segment.pool();
        let owner = crate::shm::pool::OwnerId::new(1).unwrap();
        let mut descs = Vec::new();
        while let Some(d) = pool.acquire(owner) {
            let p = pool.page_ptr(d).unwrap();
            // SAFETY: the page is leased to us and is page_size bytes long.
            unsafe { std::ptr::write_bytes(p, d.index as u8 + 1, pool.page_size()) };
            descs.push(d);
        }
        assert_eq!(descs.len(), 8);
        for d in &descs {
            let p = pool.page_ptr(*d).unwrap();
            // SAFETY: as above.
            let bytes = unsafe { std::slice::from_raw_parts(p, pool.page_size()) };
            assert!(bytes.iter().all(|&b| b == d.index as u8 + 1));
        }
        assert_eq!(t.segment.validate(), Ok(()));
    }
}
