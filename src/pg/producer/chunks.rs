//! Block ranges of one relation shared by a scan's producers (the leader and its parallel
//! workers): claimed one after the other from a counter in the parallel context's memory.

use std::sync::atomic::{AtomicU64, Ordering};

/// The smallest block range a producer claims.
pub const MIN_CHUNK_BLOCKS: u64 = 64;

/// Block ranges of one relation, handed out to the leader and its parallel workers (see
/// `parallel.rs`): each claim is the next `chunk` blocks, and toward the end a share of what is
/// left (at least [`MIN_CHUNK_BLOCKS`]), so the producers finish together instead of one scanning
/// a last full range alone while a core idles. The last range is open-ended, so rows in blocks
/// added after the count (invisible to the query's snapshot anyway) are not missed.
pub struct Chunks {
    /// The next unclaimed block, in the parallel context's shared memory.
    pub next: *const AtomicU64,
    pub nblocks: u64,
    pub chunk: u64,
    /// The leader and its workers.
    pub producers: u64,
}

impl Chunks {
    /// The size of the range claimed at block `lo` (< `nblocks`).
    pub(super) fn size_at(&self, lo: u64) -> u64 {
        self.chunk.min((self.nblocks - lo) / (2 * self.producers.max(1))).max(MIN_CHUNK_BLOCKS)
    }

    /// The next block range; None when every block is claimed.
    pub(super) fn claim(&self) -> Option<BlockRange> {
        // SAFETY: `next` points into the parallel context's DSM segment, mapped while any producer of the scan runs.
        let next = unsafe { &*self.next };
        let mut lo = next.load(Ordering::SeqCst);
        let hi = loop {
            if lo >= self.nblocks {
                return None;
            }
            let hi = lo.saturating_add(self.size_at(lo));
            match next.compare_exchange_weak(lo, hi, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => break hi,
                Err(current) => lo = current,
            }
        };
        Some(BlockRange { lo, hi: (hi < self.nblocks).then_some(hi) })
    }
}

/// Blocks `lo` up to `hi` of a relation; the last range (`hi` None) runs to the relation's end.
#[derive(Clone, Copy, Debug)]
pub(super) struct BlockRange {
    pub(super) lo: u64,
    pub(super) hi: Option<u64>,
}
