//! Index probes: a scan leaf read through an index by the distinct keys of a hash join's build
//! side, instead of whole (the probe plan is PostgreSQL's, `crate::pg::leaf::ProbePlan`; the
//! producer runs it per batch, `crate::pg::producer`).
//!
//! Rules:
//! - Only where a runtime filter goes (`crate::worker`'s runtime filters: the probe side of a join, a leaf
//!   that accepted the join's dynamic filter), and only for an inner or semi join that never
//!   matches NULL keys (the probe plan returns no row with a NULL key: an anti or mark join, or
//!   one comparing NULLs as equal, needs them), on a single integer key that is one of the
//!   leaf's columns with a probe plan.
//! - The join collects its build side's keys exactly ([`ExactKeys`], its memory reserved in the
//!   query's pool), at most [`max_keys`] distinct ones. When the build side is complete it probes
//!   when looking the keys up costs less than reading the table ([`worth_probing`]); the keys go
//!   sorted, in batches of one filter slot each (`crate::shm::filter`: a slot holds
//!   `runtime_filter_bits / 64` keys; at most a quarter of the slots per probe). The slots are
//!   taken at once or the probe is not made (no waiting), and go back with the query's filter
//!   slots: no page of the pool is used, so the query's page reservation is untouched.
//!   Without slots the leaf is read whole (its filter still applies).
//! - One decision per leaf ([`LeafProbe`]): it probes only while none of its readers has given
//!   its producer a credit (so no row of its own plan was sent), and only by one join. A reader
//!   that gives its first credit closes the leaf to probes; a join that probes claims it first.
//!   Each of the leaf's readers then sends its producer `ScanMsg::Probe` and every batch
//!   (`ScanMsg::Keys`, naming its slot) before its first credit: the leader and its parallel
//!   workers share the batches, each run by the producer that claims it first
//!   (`crate::shm::filter`), which copies it out of its slot.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

/// What looking one key up in an index costs, in rows a sequential scan reads for the same time.
pub const KEY_COST: f64 = 20.0;
/// What fetching one row through an index costs, in rows a sequential scan reads, when the
/// column is not correlated with the table's physical order (each row on a page of its own).
pub const ROW_COST: f64 = 2.0;
/// The same when the column follows the physical order (correlation ±1): a key's rows lie
/// together on pages read one after the other, as a sequential scan reads them.
pub const CLUSTERED_ROW_COST: f64 = 1.0;

/// Whether `keys` distinct build keys are worth probing a column of `distinct` values in a table
/// of `rows` rows for: looking each key up and fetching its rows (`rows / distinct` each) must
/// cost less than reading every row. A row's fetch cost goes from [`ROW_COST`] to
/// [`CLUSTERED_ROW_COST`] with the square of the column's `correlation` (in thousandths) with
/// the physical order, as btcostestimate weighs its page fetches.
pub fn worth_probing(keys: usize, distinct: u64, rows: u64, correlation: i16) -> bool {
    if distinct == 0 || rows == 0 {
        return false;
    }
    let c = (f64::from(correlation) / 1000.0).clamp(-1.0, 1.0);
    let row_cost = ROW_COST + (CLUSTERED_ROW_COST - ROW_COST) * c * c;
    let per_key = KEY_COST + row_cost * (rows as f64 / distinct as f64).max(1.0);
    keys as f64 * per_key <= rows as f64
}

/// The most keys one probe carries: a filter slot holds `per_slot` of them, and one probe takes
/// at most a quarter of the `slots`.
pub fn max_keys(per_slot: usize, slots: usize) -> usize {
    per_slot * (slots / 4).max(1)
}

/// A join's build keys as collected (single integer key), until they are too many.
#[derive(Debug, Default)]
pub struct ExactKeys {
    keys: Vec<i64>,
    /// Given up: more than the cap, or no memory for them.
    over: bool,
}

impl ExactKeys {
    /// Add `more`; false once more than `cap` distinct keys were seen (then nothing is kept).
    pub fn add(&mut self, more: &[i64], cap: usize) -> bool {
        if self.over {
            return false;
        }
        self.keys.extend_from_slice(more);
        // Duplicates are dropped now and then, so a build side of few keys repeated stays small.
        if self.keys.len() > 2 * cap.max(1) {
            self.keys.sort_unstable();
            self.keys.dedup();
            if self.keys.len() > cap {
                self.give_up();
                return false;
            }
        }
        true
    }

    pub fn give_up(&mut self) {
        self.over = true;
        self.keys = Vec::new();
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.keys.capacity() * 8
    }

    /// The distinct keys, sorted; None when given up or more than `cap`.
    pub fn finish(&mut self, cap: usize) -> Option<Vec<i64>> {
        if self.over {
            return None;
        }
        let mut keys = std::mem::take(&mut self.keys);
        keys.sort_unstable();
        keys.dedup();
        (keys.len() <= cap).then_some(keys)
    }
}

/// One batch of keys in a filter slot: its index, generation and key count.
pub type Batch = (u32, u32, u32);

const OPEN: u8 = 0;
const CLOSED: u8 = 1;
const PROBING: u8 = 2;

/// A leaf's probe decision (see the module rules).
#[derive(Default)]
pub struct LeafProbe {
    state: AtomicU8,
    /// Set before the state turns PROBING: the column and the batches.
    chosen: Mutex<Option<(u16, Vec<Batch>)>>,
}

/// What a reader finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// No probe: the leaf is read whole.
    Whole,
    /// Probing `column` by these batches.
    Probe(u16, Vec<Batch>),
}

impl LeafProbe {
    /// A join offers to probe the leaf on `column` with `batches`; false (their slots are the
    /// caller's to free) when a reader already gave credits or another join probes it.
    pub fn offer(&self, column: u16, batches: Vec<Batch>) -> bool {
        let mut chosen = self.chosen.lock().unwrap_or_else(|p| p.into_inner());
        if chosen.is_some() || self.state.load(Ordering::Acquire) != OPEN {
            return false;
        }
        *chosen = Some((column, batches));
        if self.state.compare_exchange(OPEN, PROBING, Ordering::AcqRel, Ordering::Acquire).is_err() {
            // Closed in between: not probed.
            *chosen = None;
            return false;
        }
        true
    }

    /// A reader about to give its first credit: the leaf is read whole from now on unless a
    /// join probes it already (then what it probes by).
    pub fn close(&self) -> Found {
        match self.state.compare_exchange(OPEN, CLOSED, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Found::Whole,
            Err(_) => self.found(),
        }
    }

    /// What the leaf is read by so far (OPEN reads as whole: nothing to send yet).
    pub fn found(&self) -> Found {
        if self.state.load(Ordering::Acquire) != PROBING {
            return Found::Whole;
        }
        match &*self.chosen.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((column, batches)) => Found::Probe(*column, batches.clone()),
            None => Found::Whole,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worth_probing_few_keys_only() {
        // TPC-H SF 1: Q5's 46 K order keys into lineitem (6 M rows, 398 K order keys by
        // ANALYZE's estimate) pay; Q7's 126 K into orders (1.5 M rows, one per key) do not,
        // even with the rows in key order.
        assert!(worth_probing(46_000, 398_000, 6_000_000, 0));
        assert!(!worth_probing(126_000, 1_500_000, 1_500_000, 0));
        assert!(!worth_probing(126_000, 1_500_000, 1_500_000, 1000));
        assert!(worth_probing(68_000, 1_500_000, 1_500_000, 0));
        assert!(!worth_probing(1_900, 10_000, 10_000, 0), "a small table is read whole");
        assert!(worth_probing(0, 10, 10, 0), "no key: nothing to read");
        assert!(!worth_probing(0, 0, 10, 0), "unknown distinct values");
        assert!(!worth_probing(0, 10, 0, 0), "unknown rows");
    }

    #[test]
    fn worth_probing_rows_in_key_order() {
        // TPC-H SF 1, Q3: 147 K order keys into lineitem, whose rows lie in l_orderkey order
        // (correlation 0.99999976): a key's rows share a page or two, so the probe pays, though
        // ANALYZE's 400 K distinct values (1.5 M really) make each key look like 15 rows.
        assert!(worth_probing(147_126, 400_424, 6_001_215, 1000));
        assert!(worth_probing(147_126, 400_424, 6_001_215, -1000), "descending order too");
        assert!(!worth_probing(147_126, 400_424, 6_001_215, 0), "rows scattered: read whole");
        assert!(!worth_probing(147_126, 400_424, 6_001_215, 300), "weakly correlated");
        assert!(!worth_probing(200_000, 400_424, 6_001_215, 1000), "too many keys even so");
        assert!(worth_probing(147_126, 400_424, 6_001_215, i16::MAX), "out of range: clamped");
        assert_eq!(max_keys(16384, 64), 16384 * 16);
        assert_eq!(max_keys(512, 2), 512, "at least one slot");
    }

    #[test]
    fn exact_keys_dedup_and_give_up() {
        let mut k = ExactKeys::default();
        for _ in 0..10 {
            assert!(k.add(&[3, 1, 2, 3], 4));
        }
        assert_eq!(k.finish(4), Some(vec![1, 2, 3]));
        let mut k = ExactKeys::default();
        assert!(k.add(&[1, 2, 3, 4], 2), "checked only past twice the cap");
        assert!(!k.add(&[6], 2));
        assert!(!k.add(&[1], 2), "given up for good");
        assert_eq!(k.finish(2), None);
        let mut k = ExactKeys::default();
        assert!(k.add(&[5, 4, 3], 2));
        assert_eq!(k.finish(2), None, "more than the cap at the end");
    }

    #[test]
    fn one_decision_per_leaf() {
        let batches: Vec<Batch> = vec![(1, 7, 512), (2, 3, 488)];
        let leaf = LeafProbe::default();
        assert_eq!(leaf.found(), Found::Whole, "open: nothing to send");
        assert!(leaf.offer(4, batches.clone()));
        assert!(!leaf.offer(5, Vec::new()), "one join probes");
        assert_eq!(leaf.close(), Found::Probe(4, batches.clone()), "a reader finds the probe");
        assert_eq!(leaf.found(), Found::Probe(4, batches));

        let leaf = LeafProbe::default();
        assert_eq!(leaf.close(), Found::Whole);
        assert!(!leaf.offer(4, Vec::new()), "credits given: too late");
        assert_eq!(leaf.found(), Found::Whole);
    }
}
