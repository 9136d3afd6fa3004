//! Serializing the logical plan (datafusion-proto) with the PostgreSQL scan leaf as a custom
//! table: its bytes are the leaf number and, per column, its id in the joined row and its block
//! type.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{not_impl_err, DataFusionError, Result, TableReference};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan, ScalarUDF};
use datafusion_proto::bytes::{
    logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
};
use datafusion_proto::logical_plan::LogicalExtensionCodec;

use super::table::{PgScanTable, ScanSource};
use super::udf::{NumericDiv, NUMERIC_DIV};
use crate::page::ColumnType;

#[derive(Debug, Default)]
pub struct ScanCodec {
    pub source: Option<Arc<dyn ScanSource>>,
}

fn bad(what: &str) -> DataFusionError {
    DataFusionError::Internal(format!("invalid PostgreSQL scan leaf in plan: {what}"))
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
            _ => not_impl_err!("unknown function {name} in a pg_fusion plan"),
        }
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> Result<()> {
        let any: &dyn std::any::Any = node.inner().as_ref();
        if let Some(div) = any.downcast_ref::<NumericDiv>() {
            buf.push(div.scale() as u8);
        }
        Ok(())
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        _table_ref: &TableReference,
        schema: SchemaRef,
        _ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        let (leaf, rest) = buf.split_first_chunk::<4>().ok_or_else(|| bad("short"))?;
        if rest.len() % 7 != 0 {
            return Err(bad("columns"));
        }
        let mut ids = Vec::with_capacity(rest.len() / 7);
        let mut types = Vec::with_capacity(rest.len() / 7);
        for c in rest.chunks(7) {
            ids.push(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
            types.push(
                ColumnType::from_tag(c[4], c[5], c[6] as i8).ok_or_else(|| bad("unknown column type"))?,
            );
        }
        let table = PgScanTable::new(u32::from_le_bytes(*leaf), ids, types, self.source.clone());
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
        let t = any.downcast_ref::<PgScanTable>().ok_or_else(|| bad("not a PostgreSQL scan"))?;
        buf.extend_from_slice(&t.leaf.to_le_bytes());
        for (id, ty) in t.ids.iter().zip(&t.types) {
            let (tag, p, s) = ty.tag();
            buf.extend_from_slice(&id.to_le_bytes());
            buf.extend_from_slice(&[tag, p, s as u8]);
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
