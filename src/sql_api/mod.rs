//! pg_fusion's SQL functions (declared in `sql/pg_fusion--*.sql`).

use crate::pg::entry::entry;
use crate::pg::fmgr::{int64_datum, text_datum, Datum, FunctionCallInfo, SrfWriter};
use crate::pg::{shmem, PgResult};
use crate::pg_function_info_v1;
use crate::shm::metrics::{Kind, METRICS};
use crate::shm::{Metric, Segment, SlotKind};

/// Value of one metric: gauges are computed from the live structures.
fn metric_value(seg: &Segment, index: usize) -> u64 {
    let m = seg.metrics();
    let l = seg.layout();
    match index {
        i if i == Metric::PagesTotal as usize => l.config.page_count as u64,
        i if i == Metric::PagesInUse as usize => seg.pool().in_use() as u64,
        i if i == Metric::PagesReserved as usize => seg.pages_reserved() as u64,
        i if i == Metric::ControlSlotsTotal as usize => l.config.control_slot_count as u64,
        i if i == Metric::ControlSlotsInUse as usize => seg.slots_in_use(SlotKind::Control) as u64,
        i if i == Metric::ScanSlotsTotal as usize => l.config.scan_slot_count as u64,
        i if i == Metric::ScanSlotsInUse as usize => seg.slots_in_use(SlotKind::Scan) as u64,
        i if i == Metric::RuntimeFiltersInUse as usize => seg.filters_in_use() as u64,
        // Counters are stored in declaration order; `index < METRIC_COUNT` by construction.
        i => m.get_index(i),
    }
}

pg_function_info_v1!(pg_finfo_pg_fusion_metrics);
/// `pg_fusion_metrics() RETURNS TABLE (component, metric, kind, unit, value, reset_epoch)`.
#[no_mangle]
pub extern "C" fn pg_fusion_metrics(fcinfo: FunctionCallInfo) -> Datum {
    entry(|| metrics(fcinfo))
}

fn metrics(fcinfo: FunctionCallInfo) -> PgResult<Datum> {
    let seg = shmem::segment()?;
    let mut out = SrfWriter::new(fcinfo)?;
    let epoch = seg.metrics().reset_epoch();
    for (i, def) in METRICS.iter().enumerate() {
        let value = metric_value(&seg, i).min(i64::MAX as u64) as i64;
        let mut values = [
            text_datum(def.component)?,
            text_datum(def.name)?,
            text_datum(def.kind.as_str())?,
            text_datum(def.unit)?,
            int64_datum(value),
            int64_datum(if def.kind == Kind::Gauge { 0 } else { epoch as i64 }),
        ];
        out.put(&mut values, &mut [false; 6])?;
    }
    Ok(0)
}

pg_function_info_v1!(pg_finfo_pg_fusion_metrics_reset);
/// `pg_fusion_metrics_reset() RETURNS void`.
#[no_mangle]
pub extern "C" fn pg_fusion_metrics_reset(_fcinfo: FunctionCallInfo) -> Datum {
    entry(|| {
        shmem::segment()?.metrics().reset();
        Ok(0)
    })
}

pg_function_info_v1!(pg_finfo_pg_fusion_ping);
/// `pg_fusion_ping() RETURNS bigint`: one round trip through a control slot to the worker;
/// returns the worker's pid.
#[no_mangle]
pub extern "C" fn pg_fusion_ping(_fcinfo: FunctionCallInfo) -> Datum {
    entry(|| {
        let (_, pid) = crate::control::ping(shmem::segment()?)?;
        Ok(int64_datum(pid as i64))
    })
}
