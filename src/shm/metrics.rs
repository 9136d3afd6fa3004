//! Metric counters in shared memory: one `AtomicU64` per [`Metric`], in declaration order.
//!
//! Rules:
//! - Counters only ever grow (`fetch_add`, Relaxed: they order nothing), except
//!   `pg_fusion_metrics_reset()`, which zeroes every counter and advances the segment's
//!   `reset_epoch`.
//! - Gauges (kind `gauge`) are never reset. Most are not stored: they are computed from the live
//!   structures when read (pages in use from the page states, slots in use from the owner words),
//!   so they cannot drift. `worker_queries_running` is stored: the worker alone writes it (`set`)
//!   on every poll, and a new segment (crash) or a new worker (restart) starts it from zero.
//! - Names follow docs/metrics.md: `*_total` counts, `*_ns` accumulated nanoseconds,
//!   `*_bytes_total` bytes.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// One metric's description, as `pg_fusion_metrics()` shows it.
pub struct MetricDef {
    pub component: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    pub unit: &'static str,
}

macro_rules! metrics {
    ($($variant:ident => ($component:literal, $name:literal, $kind:ident, $unit:literal),)*) => {
        /// Every metric, in storage order.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(usize)]
        pub enum Metric { $($variant,)* }

        pub const METRICS: &[MetricDef] = &[
            $(MetricDef { component: $component, name: $name, kind: Kind::$kind, unit: $unit },)*
        ];
    };
}

metrics! {
    PagesTotal => ("pool", "pages_total", Gauge, "pages"),
    PagesInUse => ("pool", "pages_in_use", Gauge, "pages"),
    PageAcquireTotal => ("pool", "page_acquire_total", Counter, "pages"),
    PageAcquireWaitTotal => ("pool", "page_acquire_wait_total", Counter, "waits"),
    PageAcquireWaitNs => ("pool", "page_acquire_wait_ns", Counter, "ns"),
    PageStaleDescriptorTotal => ("pool", "page_stale_descriptor_total", Counter, "descriptors"),
    PagesReserved => ("pool", "pages_reserved", Gauge, "pages"),
    AdmissionWaitTotal => ("pool", "admission_wait_total", Counter, "waits"),
    AdmissionWaitNs => ("pool", "admission_wait_ns", Counter, "ns"),
    ControlSlotsTotal => ("control", "control_slots_total", Gauge, "slots"),
    ControlSlotsInUse => ("control", "control_slots_in_use", Gauge, "slots"),
    ControlSlotWaitTotal => ("control", "control_slot_wait_total", Counter, "waits"),
    ControlMessagesToWorkerTotal => ("control", "control_messages_to_worker_total", Counter, "messages"),
    ControlMessagesToBackendTotal => ("control", "control_messages_to_backend_total", Counter, "messages"),
    ControlRingFullTotal => ("control", "control_ring_full_total", Counter, "events"),
    ControlPagedMessagesTotal => ("control", "control_paged_messages_total", Counter, "messages"),
    ControlSlotsReclaimedTotal => ("control", "control_slots_reclaimed_total", Counter, "slots"),
    ScanSlotsTotal => ("scan", "scan_slots_total", Gauge, "slots"),
    ScanSlotsInUse => ("scan", "scan_slots_in_use", Gauge, "slots"),
    QueriesTotal => ("queries", "queries_total", Counter, "queries"),
    QueriesFailedTotal => ("queries", "queries_failed_total", Counter, "queries"),
    QueriesCanceledTotal => ("queries", "queries_canceled_total", Counter, "queries"),
    PlannerUnsupportedTotal => ("queries", "planner_unsupported_total", Counter, "queries"),
    PlannerFallbackTotal => ("queries", "planner_fallback_total", Counter, "queries"),
    PlannerAutoDatafusionTotal => ("queries", "planner_auto_datafusion_total", Counter, "queries"),
    PlannerAutoPostgresqlTotal => ("queries", "planner_auto_postgresql_total", Counter, "queries"),
    QueryTotalNs => ("queries", "query_total_ns", Counter, "ns"),
    ScanRowsEncodedTotal => ("scan", "scan_rows_encoded_total", Counter, "rows"),
    ScanPagesSentTotal => ("scan", "scan_pages_sent_total", Counter, "pages"),
    ScanBytesSentTotal => ("scan", "scan_bytes_sent_total", Counter, "bytes"),
    ScanPageFillNs => ("scan", "scan_page_fill_ns", Counter, "ns"),
    ScanCreditWaitTotal => ("scan", "scan_credit_wait_total", Counter, "waits"),
    ScanRingFullTotal => ("scan", "scan_ring_full_total", Counter, "events"),
    ScanProducersStartedTotal => ("scan", "scan_producers_started_total", Counter, "producers"),
    WorkerStartsTotal => ("worker", "worker_starts_total", Counter, "starts"),
    WorkerPingsTotal => ("worker", "worker_pings_total", Counter, "messages"),
    WorkerTotalNs => ("worker", "worker_total_ns", Counter, "ns"),
    WorkerResultPagesTotal => ("worker", "worker_result_pages_total", Counter, "pages"),
    WorkerQueriesRunning => ("worker", "worker_queries_running", Gauge, "queries"),
    ResultPagesReadTotal => ("result", "result_pages_read_total", Counter, "pages"),
    BackendRowsReturnedTotal => ("result", "backend_rows_returned_total", Counter, "rows"),
    RuntimeFiltersInUse => ("runtime_filter", "runtime_filters_in_use", Gauge, "filters"),
    RuntimeFilterAllocatedTotal => ("runtime_filter", "runtime_filter_allocated_total", Counter, "filters"),
    RuntimeFilterProbeRowsRejectedTotal => ("runtime_filter", "runtime_filter_probe_rows_rejected_total", Counter, "rows"),
    RuntimeFilterPoolExhaustedTotal => ("runtime_filter", "runtime_filter_pool_exhausted_total", Counter, "events"),
    WorkerSpilledBytesTotal => ("spill", "worker_spilled_bytes_total", Counter, "bytes"),
    WorkerSpillLeakedFilesTotal => ("spill", "worker_spill_leaked_files_total", Counter, "files"),
}

pub const METRIC_COUNT: usize = METRICS.len();

/// A view of the counters in the segment.
#[derive(Clone, Copy)]
pub struct Metrics<'a> {
    counters: &'a [AtomicU64],
    reset_epoch: &'a AtomicU64,
}

impl<'a> Metrics<'a> {
    pub fn new(counters: &'a [AtomicU64], reset_epoch: &'a AtomicU64) -> Metrics<'a> {
        debug_assert_eq!(counters.len(), METRIC_COUNT);
        Metrics { counters, reset_epoch }
    }

    pub fn add(&self, m: Metric, n: u64) {
        // Relaxed: counters order nothing.
        self.counters[m as usize].fetch_add(n, Ordering::Relaxed);
    }

    pub fn inc(&self, m: Metric) {
        self.add(m, 1);
    }

    /// Publish a stored gauge (only its single writer calls this).
    pub fn set(&self, m: Metric, v: u64) {
        self.counters[m as usize].store(v, Ordering::Relaxed);
    }

    pub fn get(&self, m: Metric) -> u64 {
        self.counters[m as usize].load(Ordering::Relaxed)
    }

    /// Counter by storage index; 0 when out of range.
    pub fn get_index(&self, i: usize) -> u64 {
        self.counters.get(i).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    pub fn reset_epoch(&self) -> u64 {
        self.reset_epoch.load(Ordering::Relaxed)
    }

    /// Zero every counter and advance the epoch. Gauges are computed, so unaffected.
    pub fn reset(&self) {
        for (c, def) in self.counters.iter().zip(METRICS) {
            if def.kind == Kind::Counter {
                c.store(0, Ordering::Relaxed);
            }
        }
        self.reset_epoch.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_convention_and_are_unique() {
        let mut names: Vec<_> = METRICS.iter().map(|m| m.name).collect();
        for m in METRICS {
            match m.kind {
                Kind::Counter => assert!(m.name.ends_with("_total") || m.name.ends_with("_ns"), "{}", m.name),
                Kind::Gauge => assert!(!m.name.ends_with("_total") || m.name.ends_with("s_total")),
            }
            if m.name.ends_with("_ns") {
                assert_eq!(m.unit, "ns");
            }
            if m.name.ends_with("_bytes_total") {
                assert_eq!(m.unit, "bytes");
            }
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), METRIC_COUNT);
    }

    #[test]
    fn reset_zeroes_counters_and_advances_epoch() {
        let counters: Vec<AtomicU64> = (0..METRIC_COUNT).map(|_| AtomicU64::new(0)).collect();
        let epoch = AtomicU64::new(0);
        let m = Metrics::new(&counters, &epoch);
        m.add(Metric::QueriesTotal, 3);
        assert_eq!(m.get(Metric::QueriesTotal), 3);
        m.reset();
        assert_eq!(m.get(Metric::QueriesTotal), 0);
        assert_eq!(m.reset_epoch(), 1);
    }
}
