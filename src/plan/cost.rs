//! What a query costs run through DataFusion, in PostgreSQL's cost units: the PgFusionScan
//! node's cost, and what `pg_fusion.enable = auto` compares with the cost of PostgreSQL's own
//! plan.
//!
//! The model (docs/configuration.md, "Choosing the engine"; calibrated by `benches/calibrate.sh`):
//! - Each scan leaf costs what PostgreSQL's plan of it costs, divided as PostgreSQL divides a
//!   parallel scan's cost among its processes when parallel workers will read it too
//!   ([`parallel_divisor`]): the leaves are PostgreSQL plans, costed by PostgreSQL.
//! - Each row a leaf hands over costs `tuple_cost`, and each byte of it (PostgreSQL's width
//!   estimate) `byte_cost`: encoding it into a page, moving it, and DataFusion's work on it (its
//!   joins and aggregates are vectorized, so their cost follows the rows they read).
//! - A leaf on the probe side of a join whose runtime filter reaches it (the join order search
//!   says which, `crate::plan::join_order::Filtered`) hands over only the rows the filter passes:
//!   those whose key the build side holds or is NULL, and the Bloom filter's false positives
//!   among the others ([`filter_passes`]). A row it rejects still costs [`REJECTED_ROW_SHARE`] of
//!   `tuple_cost` (its key deformed, hashed and tested).
//! - Once per query, `setup_cost`: the worker's round trip and DataFusion's planning.
//!
//! PostgreSQL's estimate is its plan's total cost, with its grouped aggregates', sorts' and hash
//! joins' own costs counted `operator_cost_factor` times ([`postgresql_estimate`]). The choice:
//! DataFusion when its estimate is below PostgreSQL's, else PostgreSQL. A query whose plan
//! PostgreSQL costs at no more than `setup_cost` is never translated.

/// One scan leaf as PostgreSQL planned it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeafCost {
    /// PostgreSQL's total cost of the leaf's plan (one process).
    pub total: f64,
    /// PostgreSQL's row estimate.
    pub rows: f64,
    /// PostgreSQL's average row width, in bytes.
    pub width: f64,
    /// Parallel workers that will read it beside the leader (0: the leader alone).
    pub workers: u32,
    /// The share of its rows runtime filters are expected to let through (1: all).
    pub passed: f64,
}

/// What a row a runtime filter rejects costs, as a share of `tuple_cost`: its producer deforms
/// the key column and tests it, then drops the row; DataFusion never sees it. Of `tuple_cost`,
/// benches/calibrate.sh measures about a fifth as the boundary's own work per row (0.0029 of
/// 0.015; the rest is DataFusion's joins and aggregates), and a rejected row does less of it
/// (no encoding, no page): counted at half, well above, as the model leans to PostgreSQL where
/// unsure.
pub const REJECTED_ROW_SHARE: f64 = 0.5;

/// The runtime filters' Bloom filters (`pg_fusion.runtime_filter_bits`,
/// `pg_fusion.runtime_filter_hashes`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FilterShape {
    pub bits: u32,
    pub hashes: u32,
}

/// The share of a probe side's rows its runtime filter passes: `passed` (the share whose key
/// the build side holds) and the false positives among the others, for a filter of `keys`
/// distinct keys: `(1 - e^(-k n / m))^k` with `k` bits a key over `m` bits (the largest power
/// of two not above `runtime_filter_bits`, at least 64). Past a false positive rate of one half
/// the build side publishes no Bloom filter (docs/configuration.md): everything passes.
pub fn filter_passes(passed: f64, keys: f64, shape: FilterShape) -> f64 {
    let passed = if passed.is_nan() { 1.0 } else { passed.clamp(0.0, 1.0) };
    // As `crate::shm::filter::Bloom::words_for` sizes it.
    let words = (shape.bits / 64).max(1);
    let m = f64::from(1u32 << (31 - words.leading_zeros())) * 64.0;
    let k = f64::from(shape.hashes.clamp(1, 16));
    let keys = if keys.is_nan() { f64::INFINITY } else { keys.max(0.0) };
    let false_positive = (1.0 - (-k * keys / m).exp()).powf(k);
    if false_positive > 0.5 {
        return 1.0;
    }
    passed + (1.0 - passed) * false_positive
}

/// The settings of the model (`pg_fusion.setup_cost`, `tuple_cost`, `byte_cost`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoundaryCosts {
    pub setup: f64,
    pub tuple: f64,
    pub byte: f64,
}

/// The engine that runs a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    PostgreSQL,
    DataFusion,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::PostgreSQL => "PostgreSQL",
            Engine::DataFusion => "DataFusion",
        }
    }
}

/// How PostgreSQL divides a parallel scan's cost among its processes
/// (`get_parallel_divisor` with `parallel_leader_participation` on): each worker counts one,
/// the leader what is left of its time after serving them (30% per worker).
pub fn parallel_divisor(workers: u32) -> f64 {
    let w = f64::from(workers);
    let leader = 1.0 - 0.3 * w;
    if leader > 0.0 {
        w + leader
    } else {
        w.max(1.0)
    }
}

/// The estimated cost of running a query through DataFusion: the leaves that run a scan of
/// their own (a leaf reading a shared scan costs nothing more), plus the boundary.
pub fn estimate(leaves: &[LeafCost], costs: BoundaryCosts) -> f64 {
    let per_leaf = |l: &LeafCost| {
        let rows = finite(l.rows);
        let passed = if l.passed.is_nan() { 1.0 } else { l.passed.clamp(0.0, 1.0) };
        let handed = rows * passed * (costs.tuple + finite(l.width) * costs.byte);
        let rejected = rows * (1.0 - passed) * costs.tuple * REJECTED_ROW_SHARE;
        finite(l.total) / parallel_divisor(l.workers) + handed + rejected
    };
    costs.setup + leaves.iter().map(per_leaf).sum::<f64>()
}

/// PostgreSQL's estimate for its own plan: the plan's `total` cost, with the own cost of its
/// grouped aggregates, sorts and hash joins (`operators`) counted `factor` times
/// (`pg_fusion.operator_cost_factor`). PostgreSQL's cost units are calibrated on its scans; on a
/// machine where its hash tables and sorts take longer per unit than its scans (benches/calibrate.sh
/// measures how much), a plan made of them is dearer than its cost says.
pub fn postgresql_estimate(total: f64, operators: f64, factor: f64) -> f64 {
    let weighted = finite(total) + (factor - 1.0) * finite(operators).min(finite(total));
    weighted.max(0.0)
}

/// The engine `enable = auto` runs a query on, given both estimates.
pub fn choose(datafusion: f64, postgresql: f64) -> Engine {
    if datafusion < postgresql {
        Engine::DataFusion
    } else {
        Engine::PostgreSQL
    }
}

/// What `enable = auto` decided for a query, and why (EXPLAIN shows it).
#[derive(Clone, Debug, PartialEq)]
pub enum Choice {
    /// Both plans were estimated: the cheaper runs.
    Estimated { datafusion: f64, postgresql: f64 },
    /// PostgreSQL's plan costs no more than `setup_cost` alone: pg_fusion never translated it.
    BelowSetup { postgresql: f64, setup: f64 },
    /// pg_fusion cannot run it (its reason).
    Unsupported(String),
}

impl Choice {
    pub fn engine(&self) -> Engine {
        match self {
            Choice::Estimated { datafusion, postgresql } => choose(*datafusion, *postgresql),
            Choice::BelowSetup { .. } | Choice::Unsupported(_) => Engine::PostgreSQL,
        }
    }

    /// EXPLAIN's `Engine` line; without the estimates when `costs` is off (`COSTS OFF`).
    pub fn describe(&self, costs: bool) -> String {
        let why = match self {
            Choice::Estimated { datafusion, postgresql } => costs.then(|| match self.engine() {
                Engine::DataFusion => format!("estimated cost {datafusion:.2}, PostgreSQL {postgresql:.2}"),
                Engine::PostgreSQL => format!("estimated cost {postgresql:.2}, DataFusion {datafusion:.2}"),
            }),
            Choice::BelowSetup { postgresql, setup } => Some(if costs {
                format!("estimated cost {postgresql:.2}, not above pg_fusion.setup_cost {setup:.2}")
            } else {
                "estimated cost not above pg_fusion.setup_cost".into()
            }),
            Choice::Unsupported(reason) => Some(format!("DataFusion cannot run it: {reason}")),
        };
        match why {
            Some(why) => format!("{} (pg_fusion.enable = auto: {why})", self.engine().name()),
            None => format!("{} (pg_fusion.enable = auto)", self.engine().name()),
        }
    }
}

/// Estimates are PostgreSQL's doubles: a NaN or negative one counts as nothing (infinity stays,
/// so a leaf PostgreSQL cannot cost keeps DataFusion from being chosen).
fn finite(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        0.0
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COSTS: BoundaryCosts = BoundaryCosts { setup: 1000.0, tuple: 0.01, byte: 0.001 };

    #[test]
    fn parallel_divisor_is_postgresql_s() {
        assert_eq!(parallel_divisor(0), 1.0);
        assert!((parallel_divisor(1) - 1.7).abs() < 1e-9);
        assert!((parallel_divisor(2) - 2.4).abs() < 1e-9);
        assert!((parallel_divisor(3) - 3.1).abs() < 1e-9);
        assert_eq!(parallel_divisor(4), 4.0);
        assert_eq!(parallel_divisor(8), 8.0);
    }

    #[test]
    fn estimate_adds_leaves_boundary_and_setup() {
        let leaf = LeafCost { total: 24000.0, rows: 1000.0, width: 10.0, workers: 2, passed: 1.0 };
        // 24000 / 2.4 + 1000 * (0.01 + 10 * 0.001) + 1000
        assert!((estimate(&[leaf], COSTS) - 11020.0).abs() < 1e-6);
        let serial = LeafCost { workers: 0, ..leaf };
        assert!((estimate(&[leaf, serial], COSTS) - (11020.0 + 24020.0)).abs() < 1e-6);
        assert_eq!(estimate(&[], COSTS), 1000.0);
    }

    #[test]
    fn filtered_rows_cost_a_share_of_a_row_handed_over() {
        let leaf = LeafCost { total: 0.0, rows: 1000.0, width: 10.0, workers: 0, passed: 0.1 };
        // 100 rows handed over at 0.02, 900 rejected at 0.01 * REJECTED_ROW_SHARE.
        let want = 1000.0 + 100.0 * 0.02 + 900.0 * 0.01 * REJECTED_ROW_SHARE;
        assert!((estimate(&[leaf], COSTS) - want).abs() < 1e-9);
        // Nothing filtered: as before; a NaN share counts as nothing filtered.
        let whole = LeafCost { passed: 1.0, ..leaf };
        assert!((estimate(&[whole], COSTS) - 1020.0).abs() < 1e-9);
        assert_eq!(estimate(&[LeafCost { passed: f64::NAN, ..leaf }], COSTS), estimate(&[whole], COSTS));
        assert!(estimate(&[leaf], COSTS) < estimate(&[whole], COSTS));
    }

    #[test]
    fn bloom_false_positives_join_what_passes() {
        let shape = FilterShape { bits: 1 << 20, hashes: 4 };
        // Few keys in a large filter: what the build side holds, hardly more.
        let few = filter_passes(0.05, 10_000.0, shape);
        assert!(few > 0.05 && few < 0.0501, "{few}");
        // 228 K keys (Q5's orders of the year) in 1 Mbit: about 11% of the others pass too.
        let many = filter_passes(0.15, 228_000.0, shape);
        assert!(many > 0.15 + 0.85 * 0.10 && many < 0.15 + 0.85 * 0.14, "{many}");
        // Past one half the filter is not published: everything passes; so with unknown keys.
        assert_eq!(filter_passes(0.05, 600_000.0, shape), 1.0);
        assert_eq!(filter_passes(0.05, f64::INFINITY, shape), 1.0);
        assert_eq!(filter_passes(0.05, f64::NAN, shape), 1.0);
        // The bits are rounded down to a power of two, at least 64.
        let odd = FilterShape { bits: (1 << 20) + 1000, hashes: 4 };
        assert_eq!(filter_passes(0.15, 228_000.0, odd), many);
        assert_eq!(
            filter_passes(0.5, 1.0, FilterShape { bits: 0, hashes: 0 }),
            filter_passes(0.5, 1.0, FilterShape { bits: 64, hashes: 1 })
        );
        assert_eq!(filter_passes(f64::NAN, 1.0, shape), 1.0);
    }

    #[test]
    fn odd_estimates_never_favour_datafusion() {
        let nan = LeafCost { total: f64::NAN, rows: -5.0, width: f64::NAN, workers: 0, passed: f64::NAN };
        assert_eq!(estimate(&[nan], COSTS), 1000.0);
        let inf = LeafCost { total: f64::INFINITY, rows: 1.0, width: 1.0, workers: 0, passed: 1.0 };
        assert_eq!(choose(estimate(&[inf], COSTS), 1e300), Engine::PostgreSQL);
    }

    #[test]
    fn choices_describe_themselves_with_and_without_costs() {
        let df = Choice::Estimated { datafusion: 10.0, postgresql: 20.5 };
        assert_eq!(df.engine(), Engine::DataFusion);
        assert_eq!(
            df.describe(true),
            "DataFusion (pg_fusion.enable = auto: estimated cost 10.00, PostgreSQL 20.50)"
        );
        assert_eq!(df.describe(false), "DataFusion (pg_fusion.enable = auto)");
        let pg = Choice::Estimated { datafusion: 30.0, postgresql: 20.5 };
        assert_eq!(pg.engine(), Engine::PostgreSQL);
        assert_eq!(
            pg.describe(true),
            "PostgreSQL (pg_fusion.enable = auto: estimated cost 20.50, DataFusion 30.00)"
        );
        let cheap = Choice::BelowSetup { postgresql: 8.29, setup: 1000.0 };
        assert_eq!(cheap.engine(), Engine::PostgreSQL);
        assert_eq!(
            cheap.describe(true),
            "PostgreSQL (pg_fusion.enable = auto: estimated cost 8.29, not above pg_fusion.setup_cost 1000.00)"
        );
        assert_eq!(
            cheap.describe(false),
            "PostgreSQL (pg_fusion.enable = auto: estimated cost not above pg_fusion.setup_cost)"
        );
        let no = Choice::Unsupported("unsupported: FOR UPDATE".into());
        assert_eq!(no.engine(), Engine::PostgreSQL);
        assert_eq!(
            no.describe(false),
            "PostgreSQL (pg_fusion.enable = auto: DataFusion cannot run it: unsupported: FOR UPDATE)"
        );
    }

    #[test]
    fn postgresql_estimate_weights_its_operators() {
        assert_eq!(postgresql_estimate(1000.0, 400.0, 1.0), 1000.0);
        assert_eq!(postgresql_estimate(1000.0, 400.0, 3.0), 1800.0);
        assert_eq!(postgresql_estimate(1000.0, 400.0, 0.5), 800.0);
        // Operators never count for more than the whole plan; nothing goes below zero.
        assert_eq!(postgresql_estimate(1000.0, 5000.0, 2.0), 2000.0);
        assert_eq!(postgresql_estimate(1000.0, 1000.0, 0.0), 0.0);
        assert_eq!(postgresql_estimate(f64::NAN, 10.0, 2.0), 0.0);
    }

    #[test]
    fn ties_go_to_postgresql() {
        assert_eq!(choose(10.0, 10.0), Engine::PostgreSQL);
        assert_eq!(choose(9.0, 10.0), Engine::DataFusion);
        assert_eq!(choose(11.0, 10.0), Engine::PostgreSQL);
    }
}
