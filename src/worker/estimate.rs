//! Row estimates as DataFusion statistics: PostgreSQL's estimate of a scan leaf's rows (sent
//! with `Execute`), spread over the leaf's partitions, so DataFusion's join selection builds hash
//! tables from the side estimated smaller.

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::stats::Precision;
use datafusion::common::Statistics;

/// Statistics of a leaf that returns about `rows` rows over `partitions` partitions (of
/// `partition`, or all of them): the row count, inexact; unknown without an estimate.
pub fn estimated_statistics(
    schema: &SchemaRef,
    rows: Option<u64>,
    partition: Option<usize>,
    partitions: usize,
) -> Statistics {
    let mut stats = Statistics::new_unknown(schema);
    if let Some(rows) = rows {
        let rows = usize::try_from(rows).unwrap_or(usize::MAX);
        let share = match partition {
            Some(_) => rows.div_ceil(partitions.max(1)),
            None => rows,
        };
        stats.num_rows = Precision::Inexact(share);
    }
    stats
}
