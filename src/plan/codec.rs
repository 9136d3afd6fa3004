//! Serializing the logical plan (datafusion-proto) with the PostgreSQL scan leaf and the shared
//! subquery as custom tables. A table's bytes, little-endian, start with its kind.
//! - 0, a scan leaf: the leaf number (u32), the column count (u32), per column its id in the
//!   joined row (u32) and its block type (3 bytes); then 0, or 1 and the shared scan it reads
//!   ([`SharedRead`]): its leaf (u32), filter position (u32, `u32::MAX`: none), column count
//!   (u32), their types (3 bytes each), and this leaf's positions in them (u32 each).
//! - 1, a reference to a subquery computed once ([`SubqueryTable`]): its id (u32), then its
//!   plan's bytes (this same encoding).

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{not_impl_err, DataFusionError, Result, TableReference};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan, ScalarUDF};
use datafusion_proto::bytes::{
    logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
};
use datafusion_proto::logical_plan::LogicalExtensionCodec;

use super::spec::SharedRead;
use super::table::{PgScanTable, ScanSource, SubqueryTable};
use super::udaf::{FloatMinMax, NumericStatistic, FLOAT_MAX, FLOAT_MIN, NUMERIC_STATISTIC};
use super::udf::{
    BpcharKey, IntArith, IntervalKey, NumericDiv, RangeKey, BPCHAR_KEY, INTERVAL_KEY, INT_ARITH, NUMERIC_DIV,
    RANGE_KEY,
};
use crate::page::ColumnType;

#[derive(Debug, Default)]
pub struct ScanCodec {
    pub source: Option<Arc<dyn ScanSource>>,
}

fn bad(what: &str) -> DataFusionError {
    DataFusionError::Internal(format!("invalid PostgreSQL scan leaf in plan: {what}"))
}

/// Reads the table bytes front to back, every read bounds-checked.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u32(&mut self) -> Result<u32> {
        let (v, rest) = self.0.split_first_chunk::<4>().ok_or_else(|| bad("short"))?;
        self.0 = rest;
        Ok(u32::from_le_bytes(*v))
    }

    fn u8(&mut self) -> Result<u8> {
        let (v, rest) = self.0.split_first().ok_or_else(|| bad("short"))?;
        self.0 = rest;
        Ok(*v)
    }

    fn column_type(&mut self) -> Result<ColumnType> {
        let (tag, p, s) = (self.u8()?, self.u8()?, self.u8()?);
        ColumnType::from_tag(tag, p, s as i8).ok_or_else(|| bad("unknown column type"))
    }

    /// A count of items of at least `size` bytes each that the rest can hold.
    fn count(&mut self, size: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(size) > self.0.len() {
            return Err(bad("count"));
        }
        Ok(n)
    }
}

fn put_type(buf: &mut Vec<u8>, ty: &ColumnType) {
    let (tag, p, s) = ty.tag();
    buf.extend_from_slice(&[tag, p, s as u8]);
}

impl LogicalExtensionCodec for ScanCodec {
    fn try_decode(&self, _buf: &[u8], _inputs: &[LogicalPlan], _ctx: &TaskContext) -> Result<Extension> {
        not_impl_err!("pg_fusion plans have no extension nodes")
    }

    fn try_encode(&self, _node: &Extension, _buf: &mut Vec<u8>) -> Result<()> {
        not_impl_err!("pg_fusion plans have no extension nodes")
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> Result<Arc<ScalarUDF>> {
        match (name, buf) {
            (NUMERIC_DIV, [scale]) => Ok(NumericDiv::udf(*scale as i8)),
            (INT_ARITH, _) => IntArith::decode(buf)
                .ok_or_else(|| DataFusionError::Internal(format!("invalid {name} parameters in plan"))),
            (BPCHAR_KEY, []) => Ok(BpcharKey::udf()),
            (INTERVAL_KEY, []) => Ok(IntervalKey::udf()),
            (RANGE_KEY, _) => RangeKey::decode(buf)
                .ok_or_else(|| DataFusionError::Internal(format!("invalid {name} parameters in plan"))),
            _ => not_impl_err!("unknown function {name} in a pg_fusion plan"),
        }
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        let any: &dyn std::any::Any = node.inner().as_ref();
        if let Some(div) = any.downcast_ref::<NumericDiv>() {
            buf.push(div.scale() as u8);
        }
        if let Some(op) = any.downcast_ref::<IntArith>() {
            buf.extend_from_slice(&op.encode());
        }
        if let Some(key) = any.downcast_ref::<RangeKey>() {
            buf.extend_from_slice(&key.encode());
        }
        Ok(())
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> Result<Arc<AggregateUDF>> {
        match name {
            NUMERIC_STATISTIC => NumericStatistic::decode(buf)
                .ok_or_else(|| DataFusionError::Internal(format!("invalid {name} parameters in plan"))),
            FLOAT_MIN => Ok(FloatMinMax::udaf(false)),
            FLOAT_MAX => Ok(FloatMinMax::udaf(true)),
            _ => not_impl_err!("unknown aggregate {name} in a pg_fusion plan"),
        }
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> Result<()> {
        let any: &dyn std::any::Any = node.inner().as_ref();
        if let Some(stat) = any.downcast_ref::<NumericStatistic>() {
            buf.extend_from_slice(&stat.encode());
        }
        Ok(())
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        _table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        let mut r = Reader(buf);
        match r.u8()? {
            0 => {}
            1 => {
                let id = r.u32()?;
                let plan = logical_plan_from_bytes_with_extension_codec(r.0, ctx, self)?;
                let table = SubqueryTable::new(id, Arc::new(plan), self.source.clone());
                if table.schema() != schema {
                    return Err(bad("subquery schema differs from its plan's"));
                }
                return Ok(Arc::new(table));
            }
            _ => return Err(bad("table kind")),
        }
        let leaf = r.u32()?;
        let n = r.count(7)?;
        let mut ids = Vec::with_capacity(n);
        let mut types = Vec::with_capacity(n);
        for _ in 0..n {
            ids.push(r.u32()?);
            types.push(r.column_type()?);
        }
        let shared = match r.u8()? {
            0 => None,
            1 => {
                let leaf = r.u32()?;
                let filter = Some(r.u32()?).filter(|&f| f != u32::MAX);
                let m = r.count(3)?;
                let shared_types = (0..m).map(|_| r.column_type()).collect::<Result<Vec<_>>>()?;
                let positions = (0..n).map(|_| r.u32()).collect::<Result<Vec<_>>>()?;
                if positions.iter().chain(&filter).any(|&p| p as usize >= m) {
                    return Err(bad("shared scan position"));
                }
                Some(SharedRead { leaf, types: shared_types, positions, filter })
            }
            _ => return Err(bad("shared scan flag")),
        };
        if !r.0.is_empty() {
            return Err(bad("trailing bytes"));
        }
        let table = PgScanTable::new(leaf, ids, types, self.source.clone()).with_shared(shared);
        if table.schema() != schema {
            return Err(bad("schema differs from its column types"));
        }
        Ok(Arc::new(table))
    }

    fn try_encode_table_provider(
        &self,
        _table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        let any: &dyn std::any::Any = node.as_ref();
        if let Some(t) = any.downcast_ref::<SubqueryTable>() {
            buf.push(1);
            buf.extend_from_slice(&t.id.to_le_bytes());
            buf.extend_from_slice(&logical_plan_to_bytes_with_extension_codec(&t.plan, self)?);
            return Ok(());
        }
        let t = any.downcast_ref::<PgScanTable>().ok_or_else(|| bad("not a PostgreSQL scan"))?;
        buf.push(0);
        buf.extend_from_slice(&t.leaf.to_le_bytes());
        buf.extend_from_slice(&(t.ids.len() as u32).to_le_bytes());
        for (id, ty) in t.ids.iter().zip(&t.types) {
            buf.extend_from_slice(&id.to_le_bytes());
            put_type(buf, ty);
        }
        match &t.shared {
            None => buf.push(0),
            Some(sh) => {
                buf.push(1);
                buf.extend_from_slice(&sh.leaf.to_le_bytes());
                buf.extend_from_slice(&sh.filter.unwrap_or(u32::MAX).to_le_bytes());
                buf.extend_from_slice(&(sh.types.len() as u32).to_le_bytes());
                for ty in &sh.types {
                    put_type(buf, ty);
                }
                for p in &sh.positions {
                    buf.extend_from_slice(&p.to_le_bytes());
                }
            }
        }
        Ok(())
    }
}

pub fn to_bytes(plan: &LogicalPlan) -> Result<Vec<u8>> {
    Ok(logical_plan_to_bytes_with_extension_codec(plan, &ScanCodec::default())?.to_vec())
}

pub fn from_bytes(
    bytes: &[u8],
    ctx: &TaskContext,
    source: Option<Arc<dyn ScanSource>>,
) -> Result<LogicalPlan> {
    logical_plan_from_bytes_with_extension_codec(bytes, ctx, &ScanCodec { source })
}
