//! What PostgreSQL computes above the PgFusionScan node, as the front end describes it for
//! `pg::scan_node` to build: the whole query's final ORDER BY / DISTINCT ON / LIMIT
//! ([`FinalSort`], made in `query`) over the node's or the window nodes' rows (the window
//! nodes: `window_agg`).

use super::types::Oid;
use crate::pg::node::Node;

/// The whole query's ORDER BY, DISTINCT ON, OFFSET and LIMIT done by PostgreSQL above the node
/// (a Sort over the node's target list, a Unique for DISTINCT ON, then a Limit, `WITH TIES`
/// included), where DataFusion cannot do them as PostgreSQL does: text under a collation other
/// than byte order (`en_US.UTF-8`, ICU), types DataFusion orders otherwise, expressions computed
/// above DataFusion, parameters as LIMIT. DataFusion computes everything below.
pub struct FinalSort {
    pub keys: Vec<FinalSortKey>,
    /// DISTINCT ON: the first row of each run of rows equal on these (empty: no DISTINCT ON).
    pub distinct_on: Vec<FinalSortKey>,
    /// OFFSET and LIMIT as the Limit node evaluates them: constants, or the statement's
    /// parameters (`LIMIT $1`, read at run time; a negative value is PostgreSQL's own error).
    pub offset: Option<Node>,
    pub count: Option<Node>,
    /// `FETCH FIRST ... WITH TIES`: rows equal to the last one on these (the ORDER BY's keys)
    /// are returned too (empty: no WITH TIES).
    pub ties: Vec<FinalSortKey>,
}

/// One key of a [`FinalSort`], as PostgreSQL's analysis chose it.
#[derive(Clone)]
pub struct FinalSortKey {
    /// Its position (from 1) in the node's target list, which is the query's.
    pub resno: i16,
    /// The ordering operator (`<` or `>` of the key's type, or another the clause names).
    pub sortop: Oid,
    /// The equality operator (DISTINCT ON, WITH TIES).
    pub eqop: Oid,
    pub collation: Oid,
    pub nulls_first: bool,
}
