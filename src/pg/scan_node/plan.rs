//! The PgFusionScan plan node: its PlannedStmt, built when pg_fusion plans, and its private
//! list (String nodes, copied with the plan by the plan cache), read back at execution.

use std::ffi::c_void;

use crate::frontend::Translated;
use crate::page::ColumnType;
use crate::pg::error::{guard, PgError, PgResult};
use crate::pg::leaf::{PlannedLeaf, ProbePlan};
use crate::pg::nodes::{self, list};
use crate::pg::sys;
use crate::plan::cost::Choice;

const PRIVATE_PLAN: usize = 0;
const PRIVATE_OUTPUT_TYPES: usize = 1;
const PRIVATE_DF_PLAN: usize = 2;
/// The functions the query calls (comma-separated OIDs, an aggregate's with an `a` before it):
/// the executor's start checks that the user may EXECUTE each, as PostgreSQL's own executor does
/// for the expressions it initialises.
const PRIVATE_FUNCTIONS: usize = 3;
/// Under `enable = auto`, pg_fusion's estimate and PostgreSQL's, as compared (empty otherwise).
const PRIVATE_AUTO: usize = 4;
/// Then, per scan leaf, `LEAF_FIELDS` nodes: its PostgreSQL plan (a `PlannedStmt`) and its
/// query before planning (a `Query`, shown by EXPLAIN VERBOSE as SQL) -- empty Strings for a
/// leaf reading a shared scan, which no producer runs -- then Strings: relation (display),
/// block types, PostgreSQL types, `s` when block ranges may split it,
/// PostgreSQL's row estimate, and the number (from 1) of the shared scan it reads (empty: its
/// own); then its index probes (`crate::pg::leaf::ProbePlan`): a List of their PlannedStmts (an
/// empty String without any) and a String, per probe
/// `column:paramid:type:distinct:rows:correlation`, `;` between.
const PRIVATE_LEAVES: usize = 5;
const LEAF_FIELDS: usize = 10;
const LEAF_PLAN: usize = 0;
const LEAF_QUERY: usize = 1;
const LEAF_RELATION: usize = 2;
const LEAF_TYPES: usize = 3;
const LEAF_PG_TYPES: usize = 4;
const LEAF_SPLIT: usize = 5;
const LEAF_ROWS: usize = 6;
const LEAF_SHARED: usize = 7;
const LEAF_PROBE_PLANS: usize = 8;
const LEAF_PROBES: usize = 9;

/// The plan node's private list, read back.
pub(super) struct Private {
    pub(super) plan: String,
    pub(super) output_types: String,
    pub(super) df_plan: String,
    /// (function, whether it is called as an aggregate)
    pub(super) functions: Vec<(sys::Oid, bool)>,
    /// `enable = auto`'s choice, for EXPLAIN.
    pub(super) choice: Option<Choice>,
    pub(super) leaves: Vec<LeafPrivate>,
}

/// One scan leaf of the plan node.
pub(super) struct LeafPrivate {
    /// None for a leaf reading a shared scan.
    pub(super) plan: Option<*mut sys::PlannedStmt>,
    /// Its query before planning (display only).
    pub(super) query: Option<*mut sys::Query>,
    pub(super) relation: String,
    pub(super) types: Vec<ColumnType>,
    pub(super) pg_types: Vec<sys::Oid>,
    pub(super) splittable: bool,
    pub(super) rows: Option<u64>,
    /// The shared scan it reads (its number from 1, as text).
    pub(super) shared: Option<String>,
    /// Its index probes.
    pub(super) probes: Vec<ProbePlan>,
}

/// The private list of a PgFusionScan plan node.
pub(super) fn private(node: *mut sys::CustomScanState) -> PgResult<Private> {
    let corrupt = || PgError::internal("corrupt PgFusionScan private data");
    // SAFETY: the state node's plan is our CustomScan; custom_private is the list `planned_stmt` built: String nodes but for the leaves' PlannedStmts (or empty Strings).
    let items: Vec<*mut sys::Node> = unsafe {
        let plan = (*node).ss.ps.plan as *mut sys::CustomScan;
        list::<sys::Node>((*plan).custom_private)
    };
    // SAFETY: a node of the list; String nodes are read as text.
    let text = |n: *mut sys::Node| -> PgResult<String> {
        // SAFETY: reads the tag of a non-NULL node.
        if n.is_null() || unsafe { nodes::tag(n) } != sys::NodeTag_T_String {
            return Err(corrupt());
        }
        // SAFETY: a String node.
        Ok(unsafe { nodes::string_value(n) })
    };
    let rest = items.get(PRIVATE_LEAVES..).unwrap_or(&[]);
    if items.len() < PRIVATE_LEAVES || rest.is_empty() || rest.len() % LEAF_FIELDS != 0 {
        return Err(corrupt());
    }
    let mut leaves = Vec::new();
    for l in rest.chunks(LEAF_FIELDS) {
        let p = l[LEAF_PLAN];
        // SAFETY: a node of the list.
        let plan = match unsafe { nodes::tag(p) } {
            sys::NodeTag_T_PlannedStmt => Some(p as *mut sys::PlannedStmt),
            sys::NodeTag_T_String => None,
            _ => return Err(corrupt()),
        };
        let shared = text(l[LEAF_SHARED])?;
        let q = l[LEAF_QUERY];
        // SAFETY: a node of the list.
        let query = (unsafe { nodes::tag(q) } == sys::NodeTag_T_Query).then_some(q as *mut sys::Query);
        let pp = l[LEAF_PROBE_PLANS];
        // SAFETY: a node of the list: a List of PlannedStmts, or a String.
        let stmts: Vec<*mut sys::PlannedStmt> = match unsafe { nodes::tag(pp) } {
            // SAFETY: a List node (its tag says so) of the probes' PlannedStmts.
            sys::NodeTag_T_List => unsafe { list::<sys::PlannedStmt>(pp as *mut sys::List) },
            sys::NodeTag_T_String => Vec::new(),
            _ => return Err(corrupt()),
        };
        let info = text(l[LEAF_PROBES])?;
        let mut probes = Vec::with_capacity(stmts.len());
        for (p, &stmt) in info.split(';').filter(|p| !p.is_empty()).zip(&stmts) {
            let f: Vec<&str> = p.split(':').collect();
            // SAFETY: a node of the list.
            if f.len() != 6 || unsafe { nodes::tag(stmt as *mut sys::Node) } != sys::NodeTag_T_PlannedStmt {
                return Err(corrupt());
            }
            probes.push(ProbePlan {
                column: f[0].parse().map_err(|_| corrupt())?,
                stmt,
                paramid: f[1].parse().map_err(|_| corrupt())?,
                elem: f[2].parse().map_err(|_| corrupt())?,
                distinct: f[3].parse().map_err(|_| corrupt())?,
                rows: f[4].parse().map_err(|_| corrupt())?,
                correlation: f[5].parse().map_err(|_| corrupt())?,
            });
        }
        if probes.len() != stmts.len() {
            return Err(corrupt());
        }
        leaves.push(LeafPrivate {
            plan,
            query,
            relation: text(l[LEAF_RELATION])?,
            types: parse_types(&text(l[LEAF_TYPES])?)?,
            pg_types: text(l[LEAF_PG_TYPES])?.split(',').filter_map(|x| x.parse().ok()).collect(),
            splittable: text(l[LEAF_SPLIT])? == "s",
            rows: text(l[LEAF_ROWS])?.parse().ok(),
            shared: (!shared.is_empty()).then_some(shared),
            probes,
        });
    }
    Ok(Private {
        plan: text(items[PRIVATE_PLAN])?,
        output_types: text(items[PRIVATE_OUTPUT_TYPES])?,
        df_plan: text(items[PRIVATE_DF_PLAN])?,
        functions: text(items[PRIVATE_FUNCTIONS])?
            .split(',')
            .filter(|f| !f.is_empty())
            .map(|f| match f.strip_prefix('a') {
                Some(a) => a.parse().map(|o| (o, true)).map_err(|_| corrupt()),
                None => f.parse().map(|o| (o, false)).map_err(|_| corrupt()),
            })
            .collect::<PgResult<_>>()?,
        choice: text(items[PRIVATE_AUTO])?.split_once(' ').and_then(|(d, p)| {
            Some(Choice::Estimated { datafusion: d.parse().ok()?, postgresql: p.parse().ok()? })
        }),
        leaves,
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(super) fn unhex(s: &str) -> PgResult<Vec<u8>> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()
        .map_err(|_| PgError::internal("corrupt plan in PgFusionScan"))
}

/// Block column types as the private list carries them (see `ColumnType::list_text`).
pub(super) fn parse_types(s: &str) -> PgResult<Vec<ColumnType>> {
    ColumnType::parse_list(s).ok_or_else(|| PgError::internal("corrupt column types in PgFusionScan"))
}

/// Build the PlannedStmt whose root is the PgFusionScan node. `query` is the analyzed query
/// PostgreSQL handed the planner hook; `leaves` each scan leaf's plan in
/// [`crate::plan::spec::PlanSpec::all_scans`] order (None: it reads a shared scan); `cost` the
/// node's total cost; `auto` the two estimates `enable = auto` compared (pg_fusion's,
/// PostgreSQL's).
pub fn planned_stmt(
    query: *mut sys::Query,
    t: Translated,
    leaves: &[Option<PlannedLeaf>],
    plan_bytes: &[u8],
    df_plan: &str,
    cost: f64,
    auto: Option<(f64, f64)>,
) -> PgResult<*mut sys::PlannedStmt> {
    let mut private: *mut sys::List = std::ptr::null_mut();
    let mut push = |n: *mut sys::Node| -> PgResult<()> {
        private = nodes::append(private, n as *mut c_void)?;
        Ok(())
    };
    let mut aggregates: *mut sys::List = std::ptr::null_mut();
    let a = &mut aggregates as *mut *mut sys::List;
    // Walks the analyzed query, setting unset operator function OIDs as the planner does.
    // SAFETY: `query` is the valid analyzed Query; the shim returns new OID Lists; `a` outlives the call.
    let functions = guard(|| unsafe { sys::pgf_query_functions(query, a) })?;
    let oids = |l: *mut sys::List, prefix: &str| -> Vec<String> {
        // SAFETY: an OID List just built (or NIL).
        unsafe {
            (0..sys::pgf_list_length(l)).map(|i| format!("{prefix}{}", sys::pgf_list_nth_oid(l, i))).collect()
        }
    };
    let functions: Vec<String> = oids(functions, "").into_iter().chain(oids(aggregates, "a")).collect();
    let strings = [
        hex(plan_bytes),
        ColumnType::list_text(&t.spec.output_types().into_iter().map(ColumnType::wire).collect::<Vec<_>>()),
        df_plan.to_string(),
        functions.join(","),
        auto.map_or(String::new(), |(ours, theirs)| format!("{ours:e} {theirs:e}")),
    ];
    for s in &strings {
        push(nodes::string_node(s)?)?;
    }
    let scans = t.spec.all_scans();
    if scans.len() != leaves.len() || scans.len() != t.scan_pg_types.len() {
        return Err(PgError::internal("scan leaves and their plans differ in number"));
    }
    let mut startup = 0.0;
    for ((scan, leaf), pg_types) in scans.iter().zip(leaves).zip(&t.scan_pg_types) {
        match leaf {
            Some(l) => {
                push(l.stmt as *mut sys::Node)?;
                push(l.query as *mut sys::Node)?;
                // SAFETY: a PlannedStmt the planner built.
                unsafe {
                    startup += (*(*l.stmt).planTree).startup_cost;
                }
            }
            None => {
                push(nodes::string_node("")?)?;
                push(nodes::string_node("")?)?;
            }
        }
        let rows = leaf.as_ref().filter(|l| l.rows.is_finite() && l.rows >= 0.0).map(|l| l.rows as u64);
        let fields = [
            scan.relation.clone(),
            ColumnType::list_text(&scan.columns.iter().map(|c| c.ty).collect::<Vec<_>>()),
            pg_types.iter().map(|(o, _)| o.to_string()).collect::<Vec<_>>().join(","),
            if leaf.as_ref().is_some_and(|l| l.splittable) { "s".into() } else { String::new() },
            rows.map_or(String::new(), |r| r.to_string()),
            scan.shared.as_ref().map_or(String::new(), |r| (r.leaf + 1).to_string()),
        ];
        for s in &fields {
            push(nodes::string_node(s)?)?;
        }
        let probes = leaf.as_ref().map_or(&[][..], |l| &l.probes[..]);
        if probes.is_empty() {
            push(nodes::string_node("")?)?;
        } else {
            let mut stmts: *mut sys::List = std::ptr::null_mut();
            for p in probes {
                stmts = nodes::append(stmts, p.stmt as *mut c_void)?;
            }
            push(stmts as *mut sys::Node)?;
        }
        let info: Vec<String> = probes
            .iter()
            .map(|p| {
                format!("{}:{}:{}:{}:{}:{}", p.column, p.paramid, p.elem, p.distinct, p.rows, p.correlation)
            })
            .collect();
        push(nodes::string_node(&info.join(";"))?)?;
    }
    let planned: Vec<*mut sys::PlannedStmt> = leaves.iter().flatten().map(|l| l.stmt).collect();
    // A probe reads its leaf's relation through an index: the plan depends on both.
    let with_probes: Vec<*mut sys::PlannedStmt> = planned
        .iter()
        .copied()
        .chain(leaves.iter().flatten().flat_map(|l| l.probes.iter().map(|p| p.stmt)))
        .collect();
    let deps = crate::pg::range_table::dependencies(query, &with_probes)?;
    let (mut relation_oids, mut inval_items) = (deps.relation_oids, deps.inval_items);
    let (rtable, perminfos) = crate::pg::range_table::flat(t.rtable.as_ptr(), t.perminfos.as_ptr(), query)?;
    let rtable = crate::pg::range_table::with_children(rtable, &planned)?;
    // As the planner leaves expressions for the executor (`expression_planner`): named and
    // defaulted arguments expanded, immutable functions of constants folded, SQL functions
    // inlined, operator function OIDs set; what that folding depended on (inlined
    // functions, domains) joins the plan's dependencies.
    let mut planned_expr = |e: *mut sys::Node| -> PgResult<*mut sys::Node> {
        let (mut ro, mut ii): (*mut sys::List, *mut sys::List) = (std::ptr::null_mut(), std::ptr::null_mut());
        let (rop, iip) = (&mut ro as *mut *mut sys::List, &mut ii as *mut *mut sys::List);
        // The function sets the two Lists (it does not append to them); they join the plan's.
        // SAFETY: `e` is a valid expression List this call built; `rop`/`iip` point at live locals.
        let out = guard(|| unsafe { sys::expression_planner_with_deps(e as *mut sys::Expr, rop, iip) })?;
        let (r, i) = (relation_oids, inval_items);
        // SAFETY: list_concat of valid (possibly NIL) Lists.
        relation_oids = guard(|| unsafe { sys::list_concat(r, ro) })?;
        // SAFETY: as above.
        inval_items = guard(|| unsafe { sys::list_concat(i, ii) })?;
        Ok(out as *mut sys::Node)
    };
    let targetlist = planned_expr(t.tlist.as_ptr() as *mut sys::Node)? as *mut sys::List;
    let qual = planned_expr(t.qual.as_ptr() as *mut sys::Node)? as *mut sys::List;
    // SAFETY: PostgreSQL handed us a valid Query; the nodes below are freshly allocated.
    unsafe {
        let q = &*query;
        let cscan: *mut sys::CustomScan = nodes::make(sys::NodeTag_T_CustomScan)?;
        let c = &mut *cscan;
        c.scan.plan.targetlist = targetlist;
        c.scan.plan.qual = qual;
        // The leaves' startup, and the whole query's estimate (`crate::plan::cost`, in the units
        // of PostgreSQL's plan costs under `enable = auto`).
        c.scan.plan.startup_cost = startup.min(cost);
        c.scan.plan.total_cost = cost;
        c.scan.plan.plan_rows = 1000.0;
        c.scan.plan.plan_width = 8 * t.spec.output.len().max(1) as i32;
        c.scan.scanrelid = 0;
        c.custom_private = private;
        c.custom_scan_tlist = t.scan_tlist.as_ptr();
        // The relations the node reads: EXPLAIN names them when it deparses expressions.
        for &rti in &t.rtindexes {
            let set = c.custom_relids;
            c.custom_relids = guard(|| sys::pgf_bms_add_member(set, rti))?;
        }
        c.methods = sys::pgf_custom_scan_methods();
        let stmt: *mut sys::PlannedStmt = nodes::make(sys::NodeTag_T_PlannedStmt)?;
        let s = &mut *stmt;
        s.commandType = sys::CmdType_CMD_SELECT;
        s.queryId = q.queryId;
        s.canSetTag = q.canSetTag;
        // PostgreSQL's Agg node above the node when it computes the query's aggregates, its
        // window nodes when it computes the query's window functions, or its ProjectSet when it expands the select list's set-returning
        // functions, then its Sort and Limit when it does the query's ORDER BY.
        let mut top = cscan as *mut sys::Plan;
        if let Some(agg) = &t.agg {
            top = super::agg::above(top, agg, &mut planned_expr)?;
        }
        if !t.windows.is_empty() {
            top = super::window_agg::above(top, &t.windows, &mut planned_expr)?;
        }
        if let Some(ps) = &t.project_set {
            top = super::project_set::above(top, ps, &mut planned_expr)?;
        }
        if let Some(sort) = &t.final_sort {
            top = super::sort::above(top, sort)?;
        }
        super::sort::number_nodes(top);
        s.planTree = top;
        // PostgreSQL's flat range table of the whole query: the executor's start checks every
        // relation and view any part reads, and a cached plan locks them (see `range_table`).
        s.rtable = rtable;
        s.relationOids = relation_oids;
        s.invalItems = inval_items;
        s.dependsOnRole = deps.depends_on_role;
        s.transientPlan = deps.transient;
        s.stmt_location = q.stmt_location;
        s.stmt_len = q.stmt_len;
        // 16 and later: the rights the executor's start checks; 18: nothing pruned.
        guard(|| sys::pgf_stmt_finish(stmt, perminfos))?;
        Ok(stmt)
    }
}
