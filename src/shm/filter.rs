//! Runtime filters: the join keys of a hash join's build side, published by the worker in a
//! filter slot of the segment, for the producers of the join's probe-side leaf to test each
//! row's key before they encode it (rows that cannot join are never encoded, moved or probed).
//!
//! Rules (the slots are `runtime_filter_count` x (`FilterHeader`, bit array), `layout.rs`):
//! - A slot is FREE, BUILDING or READY (`FilterHeader::state`), and only the worker changes it:
//!   it takes a FREE slot ([`FilterSlot::take`]: FREE -> BUILDING, generation + 1), writes the
//!   bits and the header's fields, then stores READY (Release) ([`FilterSlot::publish`]); it
//!   frees the slot when the query that took it ends ([`FilterSlot::free`]), and every slot when
//!   the worker starts ([`FilterSlot::reset`]: a crashed worker's filters go back with it).
//! - A producer reads a slot only after a `ScanMsg::Filter` naming its index and generation,
//!   and only when it finds it READY with that generation (Acquire, [`FilterSlot::view`]): the
//!   fields and bits it then reads are the published ones. It reads the bits as atomics, so a
//!   slot freed and taken again by another query while a producer of the ended query still tests
//!   rows gives that producer wrong answers only for rows nobody reads any more (its query is
//!   over), never a read outside the slot.
//! - A filter may pass a row whose key is not on the build side (a Bloom filter's false
//!   positive), never reject one that is: keys hash as the producer encodes them and as the join
//!   compares them ([`Key`]: integers of every width, dates, times and timestamps as their i64
//!   value, decimals as their i128, text and bytes as their bytes), so a key equal to a build
//!   key sets and finds the same bits. A NULL key always passes.
//! - A slot may hold an index probe's keys instead (`HAS_KEYS`, [`FilterSlot::publish_keys`]):
//!   up to one key per word, little-endian i64s, sent to every producer of the leaf
//!   (`ScanMsg::Keys` naming it, `crate::index_probe`) and run by exactly one of them: the one
//!   that claims it ([`FilterSlot::claim_keys`]: `claimed` goes from the generation before to
//!   the slot's, once; `take` sets it to the generation before, so a producer of an ended query
//!   naming an older generation can never claim, or unclaim, a newer query's keys). Such a
//!   slot is never sent as a filter; taken, freed and reset as any other.
//! - Whether a filter may be applied at all (the probe side of an inner or semi join, never the
//!   preserved side of an outer join, never a scan other readers share) is decided by the
//!   worker's plan (`crate::worker::runtime_filter`), not here.

use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, Ordering};

use super::slots::FilterHeader;

const FREE: u32 = 0;
const BUILDING: u32 = 1;
const READY: u32 = 2;

/// `FilterHeader::flags`: the bit array holds the keys (else every key passes it).
pub const HAS_BLOOM: u32 = 1;
/// `FilterHeader::flags`: `min..=max` bounds the (single, integer) key.
pub const HAS_RANGE: u32 = 2;
/// `FilterHeader::flags`: the slot holds `words` keys of an index probe, not a filter.
pub const HAS_KEYS: u32 = 4;

/// What a producer's claim of a batch of index-probe keys found ([`FilterSlot::claim_keys`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Claimed: the keys, for this producer to run.
    Mine(Vec<i64>),
    /// Another producer of the leaf claimed them.
    Taken,
    /// The slot no longer holds them: the query is over.
    Gone,
}

/// A join key value as both sides hash it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key<'a> {
    /// Integers of every width, dates (days), times and timestamps (microseconds).
    Int(i64),
    /// Decimals (their unscaled value: both sides of an equi-join have one scale).
    Wide(i128),
    /// Text (in the database's encoding), bytes, uuids.
    Bytes(&'a [u8]),
}

/// SplitMix64's finalizer: a bijection of u64 whose output bits all depend on every input bit.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Key<'_> {
    pub fn hash(self) -> u64 {
        match self {
            Key::Int(v) => mix64(v as u64 ^ 0x9e37_79b9_7f4a_7c15),
            Key::Wide(v) => mix64(mix64(v as u64) ^ ((v >> 64) as u64) ^ 0x5851_f42d_4c95_7f2d),
            Key::Bytes(b) => {
                // SipHash with fixed keys: the same in every process of this build.
                let mut h = std::hash::DefaultHasher::new();
                h.write(b);
                h.finish()
            }
        }
    }
}

/// The hash of a key of several columns: each column's hash folded in, in key order.
pub fn combine(acc: u64, column_hash: u64) -> u64 {
    mix64(acc.rotate_left(23) ^ column_hash)
}

/// The bits a key hash sets: `hashes` positions by double hashing over `words * 64` bits
/// (`words` a power of two).
fn positions(h: u64, mask: u64, hashes: u32) -> impl Iterator<Item = u64> {
    let step = mix64(h ^ 0xd6e8_feb8_6659_fd93) | 1;
    (0..hashes as u64).map(move |i| h.wrapping_add(i.wrapping_mul(step)) & mask)
}

/// A Bloom filter being built (in the worker's memory, before it is published).
#[derive(Clone, Debug)]
pub struct Bloom {
    words: Vec<u64>,
    hashes: u32,
    keys: u64,
    /// Bits set (counted as they flip, so the false positive rate costs nothing to know).
    set: u64,
}

impl Bloom {
    /// At most `bits` bits (rounded down to a power of two, at least 64), `hashes` bits per key.
    pub fn new(bits: u32, hashes: u32) -> Bloom {
        Bloom { words: vec![0; Bloom::words_for(bits)], hashes: hashes.clamp(1, 16), keys: 0, set: 0 }
    }

    pub fn insert(&mut self, h: u64) {
        let mask = self.words.len() as u64 * 64 - 1;
        for bit in positions(h, mask, self.hashes) {
            let (w, b) = (&mut self.words[(bit >> 6) as usize], 1u64 << (bit & 63));
            self.set += (*w & b == 0) as u64;
            *w |= b;
        }
        self.keys += 1;
    }

    /// Bytes of memory a filter of at most `bits` bits holds.
    pub fn bytes(bits: u32) -> usize {
        Bloom::words_for(bits) * 8
    }

    /// Words of a filter of at most `bits` bits: a power of two, at least one.
    fn words_for(bits: u32) -> usize {
        let words = (bits / 64).max(1);
        let pow = words.next_power_of_two();
        (if pow > words { pow / 2 } else { pow }) as usize
    }

    pub fn contains(&self, h: u64) -> bool {
        let mask = self.words.len() as u64 * 64 - 1;
        positions(h, mask, self.hashes).all(|bit| self.words[(bit >> 6) as usize] & (1 << (bit & 63)) != 0)
    }

    /// Keys inserted (with repeats).
    pub fn keys(&self) -> u64 {
        self.keys
    }

    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// The share of keys not inserted that it passes: the share of bits set, to the power of
    /// the bits per key.
    pub fn false_positive_rate(&self) -> f64 {
        let fill = self.set as f64 / (self.words.len() as f64 * 64.0);
        fill.powi(self.hashes as i32)
    }
}

/// One filter slot of the segment (see the module rules).
#[derive(Clone, Copy)]
pub struct FilterSlot<'a> {
    header: &'a FilterHeader,
    /// The slot's bit array: `runtime_filter_bits / 64` words.
    bits: &'a [AtomicU64],
}

/// A READY slot as a producer tests keys against it.
#[derive(Clone, Copy)]
pub struct FilterView<'a> {
    bits: &'a [AtomicU64],
    mask: u64,
    hashes: u32,
    range: Option<(i64, i64)>,
}

impl<'a> FilterSlot<'a> {
    pub(super) fn new(header: &'a FilterHeader, bits: &'a [AtomicU64]) -> FilterSlot<'a> {
        FilterSlot { header, bits }
    }

    /// Worker: take the slot if it is free; its new generation.
    pub fn take(&self) -> Option<u32> {
        self.header.state.compare_exchange(FREE, BUILDING, Ordering::AcqRel, Ordering::Relaxed).ok()?;
        let generation = self.header.generation.fetch_add(1, Ordering::AcqRel).wrapping_add(1);
        // Unclaimed (see the module rules); published with the keys by the READY store.
        self.header.claimed.store(generation.wrapping_sub(1), Ordering::Relaxed);
        Some(generation)
    }

    /// Worker: publish `bloom` (None: keys not tested by bits) and `range` in a slot it took
    /// with `generation`. False when the slot cannot hold them (then it stays taken: free it).
    pub fn publish(&self, generation: u32, bloom: Option<&Bloom>, range: Option<(i64, i64)>) -> bool {
        if self.header.generation.load(Ordering::Acquire) != generation
            || self.header.state.load(Ordering::Acquire) != BUILDING
        {
            return false;
        }
        let mut flags = 0;
        if let Some(b) = bloom {
            if b.words.len() > self.bits.len() {
                return false;
            }
            for (dst, &w) in self.bits.iter().zip(&b.words) {
                dst.store(w, Ordering::Relaxed);
            }
            self.header.words.store(b.words.len() as u32, Ordering::Relaxed);
            self.header.hashes.store(b.hashes, Ordering::Relaxed);
            flags |= HAS_BLOOM;
        }
        if let Some((lo, hi)) = range {
            self.header.min.store(lo, Ordering::Relaxed);
            self.header.max.store(hi, Ordering::Relaxed);
            flags |= HAS_RANGE;
        }
        self.header.flags.store(flags, Ordering::Relaxed);
        // Release: the fields and bits above are visible to whoever sees READY.
        self.header.state.store(READY, Ordering::Release);
        true
    }

    /// Keys one slot holds at most.
    pub fn key_capacity(&self) -> usize {
        self.bits.len()
    }

    /// Worker: publish an index probe's `keys` in a slot it took with `generation`. False when
    /// they do not fit (then it stays taken: free it).
    pub fn publish_keys(&self, generation: u32, keys: &[i64]) -> bool {
        if self.header.generation.load(Ordering::Acquire) != generation
            || self.header.state.load(Ordering::Acquire) != BUILDING
            || keys.len() > self.bits.len()
        {
            return false;
        }
        for (dst, &k) in self.bits.iter().zip(keys) {
            dst.store(k as u64, Ordering::Relaxed);
        }
        self.header.words.store(keys.len() as u32, Ordering::Relaxed);
        self.header.flags.store(HAS_KEYS, Ordering::Relaxed);
        // Release: the keys above are visible to whoever sees READY.
        self.header.state.store(READY, Ordering::Release);
        true
    }

    /// Producer: the keys of `generation`, if the slot still holds them (checked again after
    /// they were copied, so a slot freed and taken meanwhile is never read as them).
    pub fn keys(&self, generation: u32) -> Option<Vec<i64>> {
        if !self.holds_keys(generation) {
            return None;
        }
        let n = self.header.words.load(Ordering::Relaxed) as usize;
        let keys: Vec<i64> = self.bits.get(..n)?.iter().map(|w| w.load(Ordering::Relaxed) as i64).collect();
        self.holds_keys(generation).then_some(keys)
    }

    /// Does the slot hold the index-probe keys of `generation` (READY, Acquire)?
    fn holds_keys(&self, generation: u32) -> bool {
        self.header.state.load(Ordering::Acquire) == READY
            && self.header.generation.load(Ordering::Acquire) == generation
            && self.header.flags.load(Ordering::Relaxed) == HAS_KEYS
    }

    /// Producer: claim the index-probe keys of `generation` to run them (see the module
    /// rules). Each generation's keys are claimed once: by the first producer to ask.
    pub fn claim_keys(&self, generation: u32) -> Claim {
        // The keys first: a slot not holding them (freed: the query is over) is never claimed.
        if !self.holds_keys(generation) {
            return Claim::Gone;
        }
        let from = generation.wrapping_sub(1);
        if self
            .header
            .claimed
            .compare_exchange(from, generation, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Claim::Taken;
        }
        // Copied (and checked current) after the claim, as any producer reads them.
        match self.keys(generation) {
            Some(keys) => Claim::Mine(keys),
            None => Claim::Gone,
        }
    }

    /// Worker: give back a slot taken with `generation` (a newer generation is not ours).
    pub fn free(&self, generation: u32) {
        if self.header.generation.load(Ordering::Acquire) == generation {
            self.header.state.store(FREE, Ordering::Release);
        }
    }

    /// Worker start: every slot free, whatever a previous worker left.
    pub fn reset(&self) {
        self.header.state.store(FREE, Ordering::Release);
    }

    pub fn in_use(&self) -> bool {
        self.header.state.load(Ordering::Relaxed) != FREE
    }

    /// Producer: the published filter of `generation`, if the slot still holds it.
    pub fn view(&self, generation: u32) -> Option<FilterView<'a>> {
        if self.header.state.load(Ordering::Acquire) != READY
            || self.header.generation.load(Ordering::Acquire) != generation
        {
            return None;
        }
        let flags = self.header.flags.load(Ordering::Relaxed);
        if flags & HAS_KEYS != 0 {
            return None;
        }
        let words = self.header.words.load(Ordering::Relaxed) as usize;
        let bloom = flags & HAS_BLOOM != 0;
        if bloom && (words == 0 || !words.is_power_of_two() || words > self.bits.len()) {
            return None;
        }
        let range = (flags & HAS_RANGE != 0)
            .then(|| (self.header.min.load(Ordering::Relaxed), self.header.max.load(Ordering::Relaxed)));
        Some(FilterView {
            bits: if bloom { &self.bits[..words] } else { &[] },
            mask: (words as u64 * 64).wrapping_sub(1),
            hashes: self.header.hashes.load(Ordering::Relaxed).clamp(1, 16),
            range,
        })
    }
}

impl FilterView<'_> {
    /// Whether a row whose key hashes to `h` may join; `int` is the key itself when it is one
    /// integer (checked against the range).
    #[inline]
    pub fn passes(&self, h: u64, int: Option<i64>) -> bool {
        if let (Some((lo, hi)), Some(v)) = (self.range, int) {
            if v < lo || v > hi {
                return false;
            }
        }
        self.bits.is_empty()
            || positions(h, self.mask, self.hashes)
                .all(|bit| self.bits[(bit >> 6) as usize].load(Ordering::Relaxed) & (1 << (bit & 63)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shm::segment::TestSegment;
    use crate::shm::LayoutConfig;

    fn config() -> LayoutConfig {
        LayoutConfig {
            page_count: 8,
            page_size: 4096,
            runtime_filter_count: 2,
            runtime_filter_bits: 1 << 14,
            ..LayoutConfig::default()
        }
    }

    #[test]
    fn integer_widths_hash_alike() {
        // An int2 key joined to an int8 key: both are the value as i64.
        assert_eq!(Key::Int(-5).hash(), Key::Int(-5i16 as i64).hash());
        assert_ne!(Key::Int(1).hash(), Key::Int(2).hash());
        assert_ne!(Key::Bytes(b"ab").hash(), Key::Bytes(b"ba").hash());
        assert_ne!(Key::Wide(1).hash(), Key::Wide(1 << 64).hash());
        assert_ne!(combine(combine(0, 1), 2), combine(combine(0, 2), 1));
    }

    #[test]
    fn bloom_has_no_false_negatives_and_few_positives() {
        let mut b = Bloom::new(1 << 16, 4);
        assert_eq!(b.words().len(), 1024);
        for k in 0..4000i64 {
            b.insert(Key::Int(k * 7).hash());
        }
        assert!((0..4000i64).all(|k| b.contains(Key::Int(k * 7).hash())));
        let false_positives =
            (0..100_000i64).filter(|k| k % 7 != 0 && b.contains(Key::Int(*k).hash())).count();
        // 16 bits per key, 4 hashes: about 0.24%.
        assert!(false_positives < 1000, "{false_positives}");
        assert!(b.false_positive_rate() < 0.01);
        let set: u64 = b.words().iter().map(|w| w.count_ones() as u64).sum();
        assert_eq!(set, b.set, "bits counted as they flip");
        assert_eq!(Bloom::bytes(1 << 16), 8192);
        assert_eq!(Bloom::new(100, 4).words().len(), 1);
        assert_eq!(Bloom::new(64 * 3, 4).words().len(), 2);
    }

    #[test]
    fn slot_lifecycle() {
        let t = TestSegment::new(config());
        let seg = t.segment;
        let slot = seg.filter(0).unwrap();
        assert!(seg.filter(2).is_none());
        let g = slot.take().unwrap();
        assert!(slot.take().is_none(), "taken once");
        assert!(slot.view(g).is_none(), "not READY while building");
        let mut b = Bloom::new(1 << 14, 3);
        b.insert(Key::Bytes(b"x").hash());
        assert!(slot.publish(g, Some(&b), Some((10, 20))));
        let v = slot.view(g).unwrap();
        assert!(v.passes(Key::Bytes(b"x").hash(), Some(15)));
        assert!(!v.passes(Key::Bytes(b"x").hash(), Some(21)), "out of range");
        assert!(!v.passes(Key::Bytes(b"y").hash(), None));
        assert!(slot.view(g.wrapping_add(1)).is_none(), "another generation");
        slot.free(g.wrapping_add(1));
        assert!(slot.in_use(), "a stale free leaves it");
        slot.free(g);
        assert!(!slot.in_use());
        assert!(slot.view(g).is_none());
        let g2 = slot.take().unwrap();
        assert_ne!(g, g2);
        // Too large for the slot: refused.
        assert!(!slot.publish(g2, Some(&Bloom::new(1 << 20, 3)), None));
        assert!(slot.publish(g2, None, Some((0, 0))));
        let v = slot.view(g2).unwrap();
        assert!(v.passes(12345, Some(0)) && !v.passes(12345, Some(1)));
        slot.reset();
        assert!(!slot.in_use());
    }

    #[test]
    fn a_slot_holds_probe_keys() {
        let t = TestSegment::new(config());
        let slot = t.segment.filter(1).unwrap();
        assert_eq!(slot.key_capacity(), 256);
        let g = slot.take().unwrap();
        assert!(slot.keys(g).is_none(), "not READY while building");
        assert!(!slot.publish_keys(g, &[0; 257]), "too many");
        assert!(slot.publish_keys(g, &[-5, 0, i64::MAX]));
        assert_eq!(slot.keys(g), Some(vec![-5, 0, i64::MAX]));
        assert!(slot.keys(g.wrapping_add(1)).is_none(), "another generation");
        assert!(slot.view(g).is_none(), "keys are no filter");
        slot.free(g);
        assert!(slot.keys(g).is_none(), "freed");
        let g2 = slot.take().unwrap();
        assert!(slot.publish(g2, None, Some((1, 2))));
        assert!(slot.keys(g2).is_none(), "a filter is no keys");
    }

    #[test]
    fn probe_keys_are_claimed_once() -> Result<(), String> {
        let t = TestSegment::new(config());
        let slot = t.segment.filter(0).ok_or("no filter slot 0")?;
        let g = slot.take().ok_or("slot not free")?;
        assert_eq!(slot.claim_keys(g), Claim::Gone, "not READY while building");
        assert!(slot.publish_keys(g, &[7, 9]));
        assert_eq!(slot.claim_keys(g.wrapping_sub(1)), Claim::Gone, "an older generation");
        assert_eq!(slot.claim_keys(g), Claim::Mine(vec![7, 9]));
        assert_eq!(slot.claim_keys(g), Claim::Taken, "claimed once");
        // Freed and taken again by another query: claimable anew, by its generation only.
        slot.free(g);
        assert_eq!(slot.claim_keys(g), Claim::Gone);
        let g2 = slot.take().ok_or("slot not free")?;
        assert!(slot.publish_keys(g2, &[1]));
        assert_eq!(slot.claim_keys(g), Claim::Gone, "the ended query's producer");
        assert_eq!(slot.claim_keys(g2), Claim::Mine(vec![1]));
        // Taken twice in a row before any claim: still claimable once.
        slot.free(g2);
        let g3 = slot.take().ok_or("slot not free")?;
        slot.free(g3);
        let g4 = slot.take().ok_or("slot not free")?;
        assert!(slot.publish_keys(g4, &[3]));
        assert_eq!(slot.claim_keys(g3), Claim::Gone);
        assert_eq!(slot.claim_keys(g4), Claim::Mine(vec![3]));
        assert_eq!(slot.claim_keys(g4), Claim::Taken);
        // A worker restart frees every slot; the next take makes it claimable again.
        slot.reset();
        let g5 = slot.take().ok_or("slot not free")?;
        assert!(slot.publish_keys(g5, &[4]));
        assert_eq!(slot.claim_keys(g5), Claim::Mine(vec![4]));
        Ok(())
    }
}
