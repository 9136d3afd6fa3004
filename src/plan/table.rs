//! The DataFusion tables that stand for one PostgreSQL scan leaf ([`PgScanTable`]) and for one
//! reference to a subquery computed once ([`SubqueryTable`], see [`super::share`]).
//!
//! In the backend they only carry the schema (for planning, serialization and EXPLAIN); in the
//! worker the plan codec gives them a [`ScanSource`] that turns them into the `ExecutionPlan`
//! reading the leaf's pages or the subquery's rows.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, LogicalPlan, TableType};
use datafusion::physical_plan::ExecutionPlan;

use super::spec::SharedRead;
use crate::page::ColumnType;

/// Where a leaf's rows come from at execution time (the worker's page reader).
#[async_trait]
pub trait ScanSource: Send + Sync + fmt::Debug {
    /// `projection`: the table columns the plan reads (all when None). `shared`: the leaf reads
    /// a shared scan's rows (see [`super::share`]).
    fn open(
        &self,
        leaf: u32,
        ids: &[u32],
        types: &[ColumnType],
        projection: Option<Vec<usize>>,
        shared: Option<&SharedRead>,
    ) -> Result<Arc<dyn ExecutionPlan>>;

    /// A reader of subquery `id`'s rows, computing `plan` the first time (once per query).
    /// `projection`: the plan's output columns the reference reads (all when None).
    async fn open_subquery(
        &self,
        id: u32,
        plan: &LogicalPlan,
        state: &dyn Session,
        projection: Option<Vec<usize>>,
    ) -> Result<Arc<dyn ExecutionPlan>>;
}

#[derive(Debug)]
pub struct PgScanTable {
    pub leaf: u32,
    /// Column ids in the joined row (see [`column_name`]), one per type.
    pub ids: Vec<u32>,
    pub types: Vec<ColumnType>,
    /// The shared scan the leaf reads (None: its own).
    pub shared: Option<SharedRead>,
    schema: SchemaRef,
    source: Option<Arc<dyn ScanSource>>,
}

/// Column `i` of the joined row (every leaf's columns) is named `c{i}`: unique across leaves, so
/// self joins need no qualifiers and the leaves' order does not matter.
pub fn column_name(i: usize) -> String {
    format!("c{i}")
}

/// The schema of a leaf whose columns are `ids` of the joined row.
pub fn schema_of(types: &[ColumnType], ids: &[u32]) -> SchemaRef {
    Arc::new(Schema::new(
        types
            .iter()
            .zip(ids)
            .map(|(t, &i)| Field::new(column_name(i as usize), t.arrow_type(), true))
            .collect::<Vec<_>>(),
    ))
}

impl PgScanTable {
    pub fn new(
        leaf: u32,
        ids: Vec<u32>,
        types: Vec<ColumnType>,
        source: Option<Arc<dyn ScanSource>>,
    ) -> PgScanTable {
        let schema = schema_of(&types, &ids);
        PgScanTable { leaf, ids, types, shared: None, schema, source }
    }

    pub fn with_shared(mut self, shared: Option<SharedRead>) -> PgScanTable {
        self.shared = shared;
        self
    }
}

#[async_trait]
impl TableProvider for PgScanTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let source = self.source.as_ref().ok_or_else(|| {
            DataFusionError::Internal("PostgreSQL scan leaf has no page source here".into())
        })?;
        source.open(self.leaf, &self.ids, &self.types, projection.cloned(), self.shared.as_ref())
    }
}

/// One reference to subquery `id`, computed once for all its references: the table's columns are
/// the plan's output columns.
#[derive(Debug)]
pub struct SubqueryTable {
    pub id: u32,
    pub plan: Arc<LogicalPlan>,
    schema: SchemaRef,
    source: Option<Arc<dyn ScanSource>>,
}

impl SubqueryTable {
    pub fn new(id: u32, plan: Arc<LogicalPlan>, source: Option<Arc<dyn ScanSource>>) -> SubqueryTable {
        let schema = Arc::new(plan.schema().as_arrow().clone());
        SubqueryTable { id, plan, schema, source }
    }

    /// The name its references scan.
    pub fn name(id: u32) -> String {
        format!("subquery{id}")
    }
}

#[async_trait]
impl TableProvider for SubqueryTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let source = self
            .source
            .as_ref()
            .ok_or_else(|| DataFusionError::Internal("shared subquery has no row source here".into()))?;
        source.open_subquery(self.id, &self.plan, state, projection.cloned()).await
    }
}
