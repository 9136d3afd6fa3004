//! What PostgreSQL computes above the PgFusionScan node, as the front end describes it for
//! `pg::scan_node` to build: the whole query's final ORDER BY / DISTINCT ON / LIMIT
//! ([`FinalSort`], made in `query`) over the node's or the window nodes' rows (the window
//! nodes: `window_agg`; set-returning functions: `project_set`), and the input query those
//! nodes read, as it is built ([`Inputs`]).

use super::types::{expr_type, Oid};
use super::unsupported;
use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{make_outer_var, make_target_entry, Kind, Node, TargetEntry};

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

/// The input query's target list being built, and the types of its columns.
#[derive(Default)]
pub(super) struct Inputs {
    pub(super) entries: Vec<TargetEntry>,
    /// The expressions of the columns, to find equal ones.
    added: Vec<(Node, usize)>,
    pub(super) types: Vec<(Oid, i32, Oid)>,
    /// The entries computed whole, to read a part of an expression from.
    whole: Vec<(Node, usize)>,
    /// The nodes above compute the query's aggregates (an Agg node): an aggregate call stays,
    /// its arguments read from columns of the input.
    pub(super) aggregates_above: bool,
}

impl Inputs {
    /// A select-list entry the input computes whole, its sort/group reference kept; its column
    /// number.
    pub(super) fn add_entry(&mut self, e: Node, tle: TargetEntry) -> PgResult<usize> {
        let col = self.entries.len() + 1;
        let entry = make_target_entry(e.copy()?, resno(col)?)?;
        entry.set_ressortgroupref(tle.ressortgroupref());
        self.entries.push(entry);
        self.types.push(expr_type(e)?);
        self.added.push((e, col));
        self.whole.push((e, col));
        Ok(col)
    }

    /// Adds the select-list entries the input computes whole, as `make_window_input_target`
    /// and `split_pathtarget_at_srfs` keep them: first the entries that are keys (`key_refs`:
    /// their sort/group references), then every other entry without volatile functions that
    /// holds nothing the nodes above compute (`above`). Returns each entry's column (None: the
    /// nodes above compute it). A key holding what the nodes above compute is `key_error`.
    pub(super) fn add_whole_entries(
        &mut self,
        tles: &[TargetEntry],
        key_refs: &[u32],
        above: impl Fn(Node) -> PgResult<bool>,
        key_error: impl Fn() -> PgError,
    ) -> PgResult<Vec<Option<usize>>> {
        let mut whole = vec![None; tles.len()];
        for (i, tle) in tles.iter().enumerate() {
            let e = entry_expr(*tle)?;
            if tle.ressortgroupref() != 0 && key_refs.contains(&tle.ressortgroupref()) {
                if above(e)? {
                    return Err(key_error());
                }
                whole[i] = Some(self.add_entry(e, *tle)?);
            }
        }
        for (i, tle) in tles.iter().enumerate() {
            let e = entry_expr(*tle)?;
            if whole[i].is_none() && !above(e)? && !e.contains_volatile_functions()? {
                whole[i] = Some(self.add_entry(e, *tle)?);
            }
        }
        Ok(whole)
    }

    /// The column computing `e` (a column, an aggregate or `GROUPING()`), added if no equal one
    /// was.
    pub(super) fn column(&mut self, e: Node) -> PgResult<usize> {
        // A volatile aggregate is computed each time it occurs, as PostgreSQL does.
        if !e.contains_volatile_functions()? {
            for (x, col) in &self.added {
                if x.equal(e)? {
                    return Ok(*col);
                }
            }
        }
        let col = self.entries.len() + 1;
        self.entries.push(make_target_entry(e.copy()?, resno(col)?)?);
        self.types.push(expr_type(e)?);
        self.added.push((e, col));
        Ok(col)
    }

    pub(super) fn outer_var(&self, col: usize) -> PgResult<Node> {
        let (typid, typmod, coll) = self.types[col - 1];
        make_outer_var(col, typid, typmod, coll)
    }

    /// `e` (a select-list expression) as the nodes above compute it: its columns, aggregates
    /// and `GROUPING()` read from columns of the input, the rest evaluated there. `what` names
    /// what those nodes compute, for the refusal of a subquery there (only PostgreSQL's
    /// planner could make its plan).
    pub(super) fn lift(&mut self, e: Node, what: &str) -> PgResult<Node> {
        e.mutate(|node| {
            // A part the input computes whole already (a group key inside an expression:
            // `g % 2` in `generate_series(1, g % 2 + 1) ... GROUP BY g % 2`), as
            // `set_upper_references` matches whole entries first; never a volatile one.
            if !node.is_clause_part()
                && !matches!(node.kind(), Kind::Var(_) | Kind::Aggref(_))
                && !node.contains_volatile_functions()?
            {
                for &(x, col) in &self.whole {
                    if x.equal(node)? {
                        return Ok(Some(self.outer_var(col)?));
                    }
                }
            }
            self.lift_node(node, what)
        })
    }

    fn lift_node(&mut self, node: Node, what: &str) -> PgResult<Option<Node>> {
        match node.kind() {
            Kind::Aggref(a) if self.aggregates_above => {
                if a.agglevelsup() != 0 {
                    return Err(unsupported("aggregate of an outer query level"));
                }
                Ok(None)
            }
            Kind::GroupingFunc(_) if self.aggregates_above => {
                Err(unsupported("GROUPING() in a query whose aggregates PostgreSQL computes above the node"))
            }
            Kind::Var(_) | Kind::Aggref(_) | Kind::GroupingFunc(_) => {
                let col = self.column(node)?;
                Ok(Some(self.outer_var(col)?))
            }
            Kind::SubLink(_) => Err(unsupported(format!(
                "subquery in the select list of a query whose {what} PostgreSQL computes above the node"
            ))),
            _ => Ok(None),
        }
    }
}

pub(super) fn entry_expr(tle: TargetEntry) -> PgResult<Node> {
    tle.expr().ok_or_else(|| PgError::internal("target entry without an expression"))
}

pub(super) fn resno(col: usize) -> PgResult<i16> {
    i16::try_from(col).map_err(|_| unsupported("more than 32767 columns under the nodes above"))
}
