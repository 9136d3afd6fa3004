//! Block ranges of a leaf shared by its producers (the leader and its parallel workers):
//! claimed one after the other from a counter in the parallel context's memory.
//!
//! A leaf reads one relation (a table's sequential scan) or several one after the other (an
//! Append's sequential scans of partitions or inheritance children). The counter holds the
//! relation being handed out (its index in the plan: high 32 bits) and its next unclaimed block
//! (low 32 bits; a `BlockNumber` is 32 bits), so the producers go through the relations in
//! order, together, and the partitions of a partitioned table are spread over them as a single
//! table's blocks are.
//!
//! Invariant: every block of every relation that holds a row visible to the statement's
//! snapshot is in exactly one claimed range. Each producer counts a relation's blocks itself
//! (after the snapshot was taken), and the range that reaches the end of a relation by its
//! count is open-ended: it runs to the end its scan counts when it restarts for that range
//! (again after the snapshot). A block beyond any such count was added after the snapshot, so
//! it holds no row the snapshot sees: two producers whose counts differ may both read such
//! blocks, which gives no row twice.

use std::sync::atomic::{AtomicU64, Ordering};

/// The smallest block range a producer claims.
pub const MIN_CHUNK_BLOCKS: u64 = 64;

/// Low bits of the shared counter: the next block of the current relation.
const BLOCK_BITS: u32 = 32;
const BLOCK_MASK: u64 = (1 << BLOCK_BITS) - 1;

/// Block ranges of a leaf's relations, handed out to the leader and its parallel workers (see
/// `parallel.rs`): each claim is the next `chunk` blocks of the current relation, and toward
/// the end of the leaf a share of what is left (at least [`MIN_CHUNK_BLOCKS`]), so the
/// producers finish together instead of one scanning a last full range alone while a core
/// idles. A relation's last range is open-ended (see the module invariant).
pub struct Chunks {
    /// The shared counter (see the module doc), in the parallel context's shared memory.
    pub next: *const AtomicU64,
    /// The blocks of each relation the leaf reads, in the plan's order, as this producer
    /// counted them (one table: the leader's count).
    pub relations: Vec<u64>,
    pub chunk: u64,
    /// The leader and its workers.
    pub producers: u64,
}

impl Chunks {
    /// The size of the range claimed at block `lo` (< its count) of relation `rel`.
    pub fn size_at(&self, rel: usize, lo: u64) -> u64 {
        let later: u64 = self.relations[rel + 1..].iter().sum();
        let left = (self.relations[rel] - lo).saturating_add(later);
        self.chunk.min(left / (2 * self.producers.max(1))).max(MIN_CHUNK_BLOCKS)
    }

    /// The next block range and the index of its relation; None when every block is claimed.
    pub fn claim(&self) -> Option<(usize, BlockRange)> {
        // SAFETY: `next` points into the parallel context's DSM segment, mapped while any producer of the scan runs.
        let next = unsafe { &*self.next };
        claim_from(next, self)
    }
}

/// [`Chunks::claim`] over the counter `next`.
fn claim_from(next: &AtomicU64, c: &Chunks) -> Option<(usize, BlockRange)> {
    let mut current = next.load(Ordering::SeqCst);
    loop {
        let rel = (current >> BLOCK_BITS) as usize;
        let lo = current & BLOCK_MASK;
        let n = (*c.relations.get(rel)?).min(BLOCK_MASK);
        let (new, hi) = if lo >= n {
            // This relation is handed out: on to the next one.
            (((rel as u64) + 1) << BLOCK_BITS, None)
        } else {
            let hi = lo.saturating_add(c.size_at(rel, lo)).min(n);
            (((rel as u64) << BLOCK_BITS) | hi, Some(hi))
        };
        match next.compare_exchange_weak(current, new, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => match hi {
                Some(hi) => return Some((rel, BlockRange { lo, hi: (hi < n).then_some(hi) })),
                None => current = new,
            },
            Err(now) => current = now,
        }
    }
}

/// Blocks `lo` up to `hi` of a relation; the last range (`hi` None) runs to the relation's end.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockRange {
    pub lo: u64,
    pub hi: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(next: &AtomicU64, relations: Vec<u64>, chunk: u64, producers: u64) -> Chunks {
        Chunks { next, relations, chunk, producers }
    }

    /// Every claim until None, as (relation, lo, hi).
    fn drain(c: &Chunks, next: &AtomicU64) -> Vec<(usize, u64, Option<u64>)> {
        std::iter::from_fn(|| claim_from(next, c)).map(|(r, b)| (r, b.lo, b.hi)).collect()
    }

    /// The claimed ranges cover each relation's first `relations` blocks exactly once, the last
    /// of them open-ended; other ranges may only start past that count (blocks added after the
    /// snapshot, which another producer counted).
    fn check_cover(claims: &[(usize, u64, Option<u64>)], relations: &[u64]) {
        for (rel, &n) in relations.iter().enumerate() {
            let mine: Vec<_> = claims.iter().filter(|c| c.0 == rel && c.1 < n).collect();
            if n == 0 {
                continue;
            }
            let mut at = 0;
            for (i, &&(_, lo, hi)) in mine.iter().enumerate() {
                assert_eq!(lo, at, "ranges of relation {rel} follow each other");
                match hi {
                    Some(hi) => {
                        assert!(i + 1 < mine.len() && hi > lo);
                        at = hi;
                    }
                    None => {
                        assert_eq!(i + 1, mine.len(), "only the last range is open-ended");
                        at = n;
                    }
                }
            }
            assert_eq!(at, n, "relation {rel} is covered to its end");
        }
    }

    #[test]
    fn one_table_is_split_and_its_last_range_open_ended() {
        let next = AtomicU64::new(0);
        let c = chunks(&next, vec![10_000], 1000, 3);
        let claims = drain(&c, &next);
        check_cover(&claims, &[10_000]);
        assert!(claims.len() > 5);
        assert_eq!(claims[0], (0, 0, Some(1000)));
        assert!(claim_from(&next, &c).is_none(), "nothing after the end");
    }

    #[test]
    fn partitions_are_handed_out_in_order_including_small_and_empty_ones() {
        let relations = vec![500, 0, 7, 3000, 0, 64, 1];
        let next = AtomicU64::new(0);
        let c = chunks(&next, relations.clone(), 256, 3);
        let claims = drain(&c, &next);
        check_cover(&claims, &relations);
        assert!(claims.iter().all(|c| relations[c.0] > 0), "an empty relation gets no range");
        let order: Vec<usize> = claims.iter().map(|c| c.0).collect();
        assert!(order.windows(2).all(|w| w[0] <= w[1]), "relations in plan order: {order:?}");
    }

    #[test]
    fn no_relations_gives_no_range() {
        let next = AtomicU64::new(0);
        let c = chunks(&next, vec![], 64, 2);
        assert!(claim_from(&next, &c).is_none());
        let c = chunks(&next, vec![0, 0], 64, 2);
        assert!(claim_from(&next, &c).is_none());
    }

    #[test]
    fn producers_claiming_in_turn_share_every_block_once() {
        // Two producers alternate; one of them counted a relation's blocks larger (rows added
        // after the snapshot): only blocks past the smaller count may be read twice.
        let next = AtomicU64::new(0);
        let a = chunks(&next, vec![300, 1000, 90], 64, 2);
        let b = chunks(&next, vec![300, 1010, 90], 64, 2);
        let mut claims = Vec::new();
        let mut turn = 0;
        loop {
            let c = if turn % 2 == 0 { &a } else { &b };
            turn += 1;
            match claim_from(&next, c) {
                Some((r, range)) => claims.push((r, range.lo, range.hi)),
                None => break,
            }
        }
        check_cover(&claims, &[300, 1000, 90]);
    }

    #[test]
    fn tail_ranges_shrink_toward_the_end_of_the_leaf() {
        let next = AtomicU64::new(0);
        let c = chunks(&next, vec![2000, 2000], 1000, 2);
        // Early on in the first relation, the later one counts toward what is left.
        assert_eq!(c.size_at(0, 0), 1000);
        assert_eq!(c.size_at(1, 1000), 250);
        assert_eq!(c.size_at(1, 1990), MIN_CHUNK_BLOCKS);
    }

    #[test]
    fn block_numbers_stay_below_the_relation_bits() {
        let next = AtomicU64::new(0);
        let n = u32::MAX as u64 - 1;
        let c = chunks(&next, vec![n, 5], 1 << 30, 1);
        let claims = drain(&c, &next);
        check_cover(&claims, &[n, 5]);
    }
}
