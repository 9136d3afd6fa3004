//! Aggregates and grouping: the select list and HAVING of a grouped block rewritten over the
//! stage's columns (group keys, then aggregates), each aggregate mapped to DataFusion's or
//! pg_fusion's with PostgreSQL's result type (avg as sum and count, divided on the node).

use super::construct::{
    avg_of, coalesce_as_case, make_case, make_func, make_func_coll, make_var, numeric_from_text,
};
use super::context::Builder;
use super::literal::const_literal;
use super::placement;
use super::probe;
use super::types::{
    avg_sum_type, case_shape, column_type, eq_safe, expr_type, func_name, is_blank_padded, is_builtin,
    is_unshaped_numeric, op_name, order_safe, UNSHAPED_NUMERIC,
};
use super::unsupported;
use crate::page::ColumnType;
use crate::pg::catalog;
use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{
    make_bool_const, make_bool_expr, make_int4_const, make_null_const, make_null_test, Aggref, BoolOp, Kind,
    Node, Query, RteKind, TargetEntry, Var, Visit,
};
use crate::pg::nodes;
use crate::plan::spec::{AggFunc, AggSpec, Literal, SortKey, Statistic, WindowSpec};

pub(super) struct AggContext<'a> {
    pub(super) b: &'a mut Builder,
    pub(super) key_exprs: &'a [Node],
    /// The scan column of each group key (as `key_exprs`).
    pub(super) key_cols: &'a [usize],
    /// The query (its WINDOW clauses) and its select list, flattened.
    pub(super) query: Query,
    pub(super) tles: &'a [TargetEntry],
    pub(super) tle_exprs: &'a [Node],
    /// With grouping: window functions over the groups, and the Vars standing for their
    /// results (numbered once the aggregates are known).
    pub(super) windows: Vec<WindowSpec>,
    pub(super) window_vars: Vec<Var>,
    /// No grouping: every Var becomes the scan column carrying it.
    pub(super) plain: bool,
    pub(super) aggs: Vec<AggSpec>,
    /// Per aggregate output column: the node describing it in the scan target list.
    pub(super) agg_exprs: Vec<Node>,
}

impl<'a> AggContext<'a> {
    /// For a select-list expression over several relations without grouping.
    pub(super) fn plain(
        b: &'a mut Builder,
        query: Query,
        tles: &'a [TargetEntry],
        tle_exprs: &'a [Node],
    ) -> AggContext<'a> {
        AggContext {
            b,
            key_exprs: &[],
            key_cols: &[],
            query,
            tles,
            tle_exprs,
            windows: Vec::new(),
            window_vars: Vec::new(),
            plain: true,
            aggs: Vec::new(),
            agg_exprs: Vec::new(),
        }
    }

    pub(super) fn mutate(&mut self, e: Node) -> PgResult<Node> {
        let copy = e.copy()?;
        copy.mutate(|node| self.replace(node))
    }

    /// Replacement for one node of a target-list/HAVING expression, or None to recurse.
    pub(super) fn replace(&mut self, node: Node) -> PgResult<Option<Node>> {
        if let Some(k) = nodes::try_position(self.key_exprs, |&g| g.equal(node))? {
            let (typid, typmod, coll) = expr_type(node)?;
            return Ok(Some(make_var(k + 1, typid, typmod, coll)?));
        }
        match node.kind() {
            Kind::Aggref(a) => Ok(Some(self.aggregate(a)?)),
            Kind::WindowFunc(_) => Ok(Some(self.window_func(node)?)),
            Kind::GroupingFunc(g) if !self.plain => {
                if g.agglevelsup() != 0 {
                    return Err(unsupported("GROUPING() of an outer query"));
                }
                let mut keys = Vec::new();
                for a in g.args() {
                    let k = nodes::try_position(self.key_exprs, |&e| e.equal(a))?
                        .ok_or_else(|| unsupported("GROUPING() of an expression that is not a group key"))?;
                    keys.push(self.key_cols[k]);
                }
                let spec = AggSpec {
                    func: AggFunc::Grouping,
                    arg: None,
                    distinct: false,
                    filter: None,
                    keys,
                    order_by: Vec::new(),
                    delimiter: None,
                    output: ColumnType::Int32,
                };
                let describe = make_null_const(catalog::INT4OID, -1, 0)?;
                let k = self.add_agg(spec, describe);
                Ok(Some(make_var(k, catalog::INT4OID, -1, 0)?))
            }
            Kind::Var(_) if self.plain => {
                let id = self.b.carried_column(node)?;
                let pos = self.b.output_pos(id);
                let (typid, typmod, coll) = expr_type(node)?;
                Ok(Some(make_var(pos + 1, typid, typmod, coll)?))
            }
            Kind::Var(_) => Err(unsupported("column that is neither grouped nor aggregated")),
            // Subqueries run inside a relation's scan only (the node above DataFusion has no
            // subplans).
            Kind::SubLink(_) => Err(unsupported(
                "subquery over aggregates or over several tables (only in one table's conditions or select-list expressions)",
            )),
            _ => Ok(None),
        }
    }

    /// The column of an aggregate's argument or FILTER: a scan's, or one DataFusion computes
    /// after the joins.
    pub(super) fn agg_column(&mut self, e: Node) -> PgResult<usize> {
        if (self.b.one_leaf(e)?.is_none() && expr_type(e)?.0 == catalog::NUMERICOID)
            || self.b.df_arithmetic(e)?
        {
            return self.b.computed_column(e);
        }
        self.b.column(e)
    }

    pub(super) fn add_agg(&mut self, spec: AggSpec, describe: Node) -> usize {
        // The same aggregate written twice (select list and HAVING, say) is computed once.
        if let Some(i) = self.aggs.iter().position(|a| *a == spec) {
            return self.key_exprs.len() + i + 1;
        }
        self.aggs.push(spec);
        self.agg_exprs.push(describe);
        self.key_exprs.len() + self.aggs.len() // 1-based attno
    }

    pub(super) fn aggregate(&mut self, agg: Aggref) -> PgResult<Node> {
        if agg.agglevelsup() != 0 || agg.aggkind() != b'n' || !agg.aggdirectargs().is_empty() {
            return Err(unsupported("ordered-set or outer-level aggregate"));
        }
        if is_builtin(agg.aggfnoid()) && func_name(agg.aggfnoid())? == "string_agg" {
            return self.string_agg(agg);
        }
        if !agg.aggorder().is_empty() {
            return Err(unsupported("ORDER BY inside an aggregate"));
        }
        if !is_builtin(agg.aggfnoid()) {
            return Err(unsupported(format!("aggregate {}", func_name(agg.aggfnoid())?)));
        }
        let name = func_name(agg.aggfnoid())?;
        let distinct = !agg.aggdistinct().is_empty();
        let filter = agg.aggfilter().map(|f| self.agg_column(f)).transpose()?;
        let mut arg_expr = match agg.args().as_slice() {
            [one] => Some(self.filtered(entry_expr(*one)?, agg.aggfilter())?),
            _ => None,
        };
        // min/max of char(n) order the values without trailing blanks (bpchar's comparison):
        // PostgreSQL trims them in the scan (`text(bpchar)`) and pads the result back to n.
        let arg_pg = arg_expr.map(expr_type).transpose()?;
        let padded = match (name.as_str(), arg_pg) {
            ("min" | "max", Some((catalog::BPCHAROID, typmod, coll))) if typmod >= 0 => {
                arg_expr = arg_expr
                    .map(|e| make_func_coll(catalog::F_TEXT_BPCHAR, catalog::TEXTOID, &[e], coll))
                    .transpose()?;
                Some(typmod)
            }
            _ => None,
        };
        if let (Some(e), "sum" | "avg", false) = (arg_expr, name.as_str(), distinct) {
            // `sum(COALESCE(x, 0))`: a CASE whose branches differ in scale.
            let e = coalesce_as_case(e)?;
            if let Some((int, smax, false)) = case_shape(e)? {
                return self.varying_scale_sum(&name, e, int, smax, filter);
            }
            // A bare `numeric` one table's scan computes: its values at a generous fixed scale,
            // each with its display scale.
            if self.b.scans_unshaped_numeric(e)? {
                let (int, smax) = UNSHAPED_NUMERIC;
                return self.varying_scale_sum(&name, e, int, smax, filter);
            }
        }
        // count(x) of a column that is never NULL counts rows: x need not cross the boundary.
        let star = agg.aggstar() || (name == "count" && !distinct && self.b.never_null(arg_expr)?);
        // count(x) of a value DataFusion has no type for (jsonb, an array, a numeric without a
        // scale): count(*) over the rows where x IS NOT NULL (and its FILTER), the test computed
        // by the scan; x itself never crosses.
        if let (Some(e), "count", false, false) = (arg_expr, name.as_str(), star, distinct) {
            if matches!(column_type(e), Err(ref err) if !err.is_caught()) {
                let test = make_null_test(e, false)?;
                let cond = match agg.aggfilter() {
                    Some(f) => make_bool_expr(BoolOp::And, &[f, test])?,
                    None => test,
                };
                let spec = AggSpec {
                    func: AggFunc::CountStar,
                    arg: None,
                    distinct: false,
                    filter: Some(self.agg_column(cond)?),
                    keys: Vec::new(),
                    order_by: Vec::new(),
                    delimiter: None,
                    output: ColumnType::Int64,
                };
                let k = self.add_agg(spec, agg.node());
                return make_var(k, catalog::INT8OID, -1, 0);
            }
        }
        let arg = match arg_expr {
            // count(DISTINCT x) of a bare numeric: distinct values (1.0 = 1.00), not bytes.
            Some(e) if name == "count" && distinct && self.b.scans_unshaped_numeric(e)? => {
                Some(self.b.numeric_value_column(e)?)
            }
            Some(e) if !star => Some(self.agg_column(e)?),
            _ => None,
        };
        let arg_ty = arg.map(|i| self.b.columns[i].1);
        let arg_coll = arg_pg.map_or(0, |t| t.2);
        // DISTINCT compares as PostgreSQL only under a deterministic collation (floats and
        // intervals are compared by their keys, see `plan::logical`).
        if distinct && arg_ty == Some(ColumnType::Opaque) {
            return Err(unsupported("DISTINCT inside an aggregate over a value only carried"));
        }
        let text = arg_ty.filter(|t| matches!(t, ColumnType::Utf8View | ColumnType::EncodedText));
        if let (true, Some(t)) = (distinct, text) {
            if !eq_safe(t, arg_coll)? {
                return Err(unsupported("DISTINCT inside an aggregate under a nondeterministic collation"));
            }
        }
        let agg_node = agg.node();
        let refuse = || {
            unsupported(format!("aggregate {name}({})", arg_ty.map_or("*".to_string(), |t| format!("{t:?}"))))
        };
        let spec = |func, output| AggSpec {
            func,
            arg,
            distinct,
            filter,
            keys: Vec::new(),
            order_by: Vec::new(),
            delimiter: None,
            output,
        };
        use ColumnType as T;
        match (name.as_str(), star, arg_ty) {
            ("count", true, None) => {
                let k = self.add_agg(spec(AggFunc::CountStar, T::Int64), agg_node);
                make_var(k, catalog::INT8OID, -1, 0)
            }
            ("count", false, Some(_)) => {
                let k = self.add_agg(spec(AggFunc::Count, T::Int64), agg_node);
                make_var(k, catalog::INT8OID, -1, 0)
            }
            ("sum", false, Some(T::Int16 | T::Int32)) => {
                let k = self.add_agg(spec(AggFunc::Sum, T::Int64), agg_node);
                make_var(k, catalog::INT8OID, -1, 0)
            }
            ("sum", false, Some(T::Int64)) => {
                let k = self.add_agg(spec(AggFunc::Sum, T::Decimal128 { precision: 38, scale: 0 }), agg_node);
                make_var(k, catalog::NUMERICOID, -1, 0)
            }
            ("sum", false, Some(T::Decimal128 { precision, scale })) => {
                // Fewer than 2^63 < 10^19 rows of |x| < 10^precision (unscaled): the total has
                // at most precision + 19 digits, which lets `0.5 * sum(x)` stay exact (Q20).
                let precision = (precision + 19).min(38);
                let k = self.add_agg(spec(AggFunc::Sum, T::Decimal128 { precision, scale }), agg_node);
                make_var(k, catalog::NUMERICOID, -1, 0)
            }
            ("sum", false, Some(T::Float64)) => {
                let k = self.add_agg(spec(AggFunc::Sum, T::Float64), agg_node);
                make_var(k, catalog::FLOAT8OID, -1, 0)
            }
            (
                "avg",
                false,
                Some(t @ (T::Int16 | T::Int32 | T::Int64 | T::Decimal128 { .. } | T::Float64)),
            ) => {
                // PostgreSQL's avg is its sum divided by its count (int8_avg, numeric_avg,
                // float8_avg): DataFusion computes both, PostgreSQL divides.
                let Some((sum_ty, sum_pg)) = avg_sum_type(t) else { return Err(refuse()) };
                let null_sum = make_null_const(sum_pg, -1, 0)?;
                let ks = self.add_agg(spec(AggFunc::Sum, sum_ty), null_sum);
                let null_count = make_null_const(catalog::INT8OID, -1, 0)?;
                let kc = self.add_agg(spec(AggFunc::Count, T::Int64), null_count);
                avg_of(make_var(ks, sum_pg, -1, 0)?, make_var(kc, catalog::INT8OID, -1, 0)?, sum_pg)
            }
            (
                "variance" | "var_samp" | "var_pop" | "stddev" | "stddev_samp" | "stddev_pop",
                false,
                Some(t @ (T::Int16 | T::Int32 | T::Int64 | T::Decimal128 { .. })),
            ) => {
                // Exact (numeric_stddev_internal over exact sums). The sum of squares of inputs
                // of at most 32 digits needs more than 5 * 10^12 rows to leave 256 bits (then
                // 22003, never a wrong value). PostgreSQL's float forms accumulate in an
                // order-dependent way: not these.
                if distinct {
                    return Err(unsupported(format!("{name}(DISTINCT ...)")));
                }
                if let T::Decimal128 { precision, .. } = t {
                    if precision > 32 {
                        return Err(unsupported(format!("{name} of numeric wider than 32 digits")));
                    }
                }
                let stat = Statistic { sample: !name.ends_with("_pop"), sqrt: name.starts_with("stddev") };
                let text = make_null_const(catalog::TEXTOID, -1, catalog::DEFAULT_COLLATION_OID)?;
                let k = self.add_agg(spec(AggFunc::Statistic(stat), T::Utf8View), text);
                numeric_from_text(make_var(k, catalog::TEXTOID, -1, catalog::DEFAULT_COLLATION_OID)?)
            }
            ("bool_and" | "every" | "bool_or", false, Some(T::Boolean)) => {
                let func = if name == "bool_or" { AggFunc::BoolOr } else { AggFunc::BoolAnd };
                let k = self.add_agg(spec(func, T::Boolean), agg_node);
                make_var(k, catalog::BOOLOID, -1, 0)
            }
            ("min" | "max", false, Some(t)) => {
                if !order_safe(t, arg_coll)? || matches!(t, T::Boolean | T::BinaryView | T::FixedSizeBinary16)
                {
                    return Err(refuse());
                }
                let func = if name == "min" { AggFunc::Min } else { AggFunc::Max };
                let k = self.add_agg(spec(func, t), agg_node);
                let (typid, _, coll) = arg_pg.unwrap_or(expr_type(agg_node)?);
                let v = make_var(k, typid, -1, coll)?;
                match padded {
                    // Back to char(n): `bpchar(value, typmod, false)` pads with blanks.
                    Some(typmod) => {
                        let (m, f) = (make_int4_const(typmod)?, make_bool_const(false, false)?);
                        make_func_coll(
                            catalog::F_BPCHAR_BPCHAR_INT4_BOOL,
                            catalog::BPCHAROID,
                            &[v, m, f],
                            coll,
                        )
                    }
                    None => Ok(v),
                }
            }
            _ => Err(refuse()),
        }
    }
}

impl AggContext<'_> {
    /// `string_agg(text, delimiter ORDER BY ...)` with a constant delimiter. Without ORDER BY
    /// the order of the values is whatever PostgreSQL's plan reads: refused.
    pub(super) fn string_agg(&mut self, agg: Aggref) -> PgResult<Node> {
        let args = agg.args();
        let visible =
            args.iter().filter(|t| !t.resjunk()).map(|&t| entry_expr(t)).collect::<PgResult<Vec<_>>>()?;
        let [x, delimiter] = visible.as_slice() else { return Err(unsupported("string_agg")) };
        let (xt, _, coll) = expr_type(*x)?;
        if xt != catalog::TEXTOID || !agg.aggdistinct().is_empty() {
            return Err(unsupported("string_agg other than of text, without DISTINCT"));
        }
        if !catalog::database_is_utf8() {
            return Err(unsupported("string_agg in a database not encoded in UTF8"));
        }
        let delimiter = match const_literal(*delimiter)? {
            Some((Literal::Utf8(d), _)) => d,
            _ => return Err(unsupported("string_agg with a delimiter that is not a constant")),
        };
        if agg.aggorder().is_empty() {
            return Err(unsupported("string_agg without ORDER BY (its order would be the plan's)"));
        }
        let mut order_by = Vec::new();
        for sgc in agg.aggorder() {
            // The entry of the Aggref's args it refers to (`get_sortgroupclause_tle`).
            let tle = args
                .iter()
                .find(|t| t.ressortgroupref() == sgc.tle_sort_group_ref())
                .ok_or_else(|| PgError::internal("string_agg ORDER BY entry"))?;
            let e = self.filtered(entry_expr(*tle)?, agg.aggfilter())?;
            let column = self.agg_column(e)?;
            let (sortop, nulls_first) = (sgc.sortop(), sgc.nulls_first());
            let op = op_name(sortop)?;
            let (etyp, _, ecoll) = expr_type(e)?;
            if !is_builtin(sortop)
                || !(op == "<" || op == ">")
                || !order_safe(self.b.columns[column].1, ecoll)?
            {
                return Err(unsupported("ORDER BY inside string_agg on this type, collation or operator"));
            }
            order_by.push(SortKey {
                column,
                descending: op == ">",
                nulls_first,
                blank_padded: is_blank_padded(etyp)?,
            });
        }
        let filter = agg.aggfilter().map(|f| self.agg_column(f)).transpose()?;
        let x = self.filtered(*x, agg.aggfilter())?;
        let spec = AggSpec {
            func: AggFunc::StringAgg,
            arg: Some(self.agg_column(x)?),
            distinct: false,
            filter,
            keys: Vec::new(),
            order_by,
            delimiter: Some(delimiter),
            output: ColumnType::Utf8View,
        };
        let k = self.add_agg(spec, agg.node());
        make_var(k, catalog::TEXTOID, -1, coll)
    }

    /// An aggregate's argument `e` under `FILTER (WHERE filter)` (`filter` null: none).
    /// PostgreSQL evaluates the argument only for rows the FILTER passes, a scan computes its
    /// columns for every row: an argument that could fail ([`placement::may_fail`]: `sum(a / b) FILTER
    /// (WHERE b <> 0)`) becomes `CASE WHEN filter THEN e END`, the same value wherever the
    /// FILTER passes, when one relation's scan computes both; otherwise it is refused.
    pub(super) fn filtered(&mut self, e: Node, filter: Option<Node>) -> PgResult<Node> {
        let Some(filter) = filter else { return Ok(e) };
        // A numeric without a scale fails in the encoder where it does not fit the shape it
        // crosses in: only the rows the FILTER passes may be encoded.
        let may_fail = placement::may_fail(&probe::shape(e)?);
        if !may_fail && !is_unshaped_numeric(e)? {
            return Ok(e);
        }
        let in_scan = |b: &Builder, x: Node| -> PgResult<Option<usize>> {
            match b.one_leaf(x)? {
                Some(leaf) if b.leaves[leaf].sub.is_none() && b.computable_in_scan(x, leaf)? => {
                    Ok(Some(leaf))
                }
                _ => Ok(None),
            }
        };
        let filter_leaf = match filter.varno()? {
            0 => in_scan(self.b, e)?,
            _ => in_scan(self.b, filter)?,
        };
        if filter_leaf.is_none() || filter_leaf != in_scan(self.b, e)? {
            if !may_fail {
                return Ok(e); // a numeric: every row's value crosses (one that does not fit fails)
            }
            return Err(unsupported(
                "aggregate argument that can fail for some rows (x / y, a cast from text) under a FILTER of another table or computed after the joins",
            ));
        }
        let (typid, typmod, coll) = expr_type(e)?;
        let null = make_null_const(typid, typmod, coll)?;
        make_case(typid, coll, &[(filter, e)], null)
    }

    /// `sum`/`avg` of a numeric CASE with branches of different scales: DataFusion sums the
    /// values at the largest scale and takes the largest display scale of the summed values;
    /// PostgreSQL's `round(sum, that scale)` on the node gives exactly its own sum (whose display
    /// scale is the largest of its inputs'); avg divides that by the count, as `numeric_avg` does.
    pub(super) fn varying_scale_sum(
        &mut self,
        name: &str,
        e: Node,
        int: u32,
        smax: u32,
        filter: Option<usize>,
    ) -> PgResult<Node> {
        let (value, scale) = self.b.varying_scale(e, int, smax)?;
        let agg = |func, arg, output| AggSpec {
            func,
            arg: Some(arg),
            distinct: false,
            filter,
            keys: Vec::new(),
            order_by: Vec::new(),
            delimiter: None,
            output,
        };
        let null = |t| make_null_const(t, -1, 0);
        let sum_ty = ColumnType::Decimal128 { precision: 38, scale: smax as i8 };
        let ks = self.add_agg(agg(AggFunc::Sum, value, sum_ty), null(catalog::NUMERICOID)?);
        let km = self.add_agg(agg(AggFunc::Max, scale, ColumnType::Int32), null(catalog::INT4OID)?);
        let sum = make_var(ks, catalog::NUMERICOID, -1, 0)?;
        let dscale = make_var(km, catalog::INT4OID, -1, 0)?;
        let sum = make_func(catalog::F_ROUND_NUMERIC_INT4, catalog::NUMERICOID, &[sum, dscale])?;
        if name == "sum" {
            return Ok(sum);
        }
        let kc = self.add_agg(agg(AggFunc::Count, value, ColumnType::Int64), null(catalog::INT8OID)?);
        let count = make_var(kc, catalog::INT8OID, -1, 0)?;
        let countn = make_func(catalog::F_NUMERIC_INT8, catalog::NUMERICOID, &[count])?;
        make_func(catalog::F_NUMERIC_DIV, catalog::NUMERICOID, &[sum, countn])
    }
}

/// The expression of a target entry (an aggregate's argument).
fn entry_expr(t: TargetEntry) -> PgResult<Node> {
    t.expr().ok_or_else(|| PgError::internal("target entry without an expression"))
}

/// The columns `exprs` (a grouped block's select list and HAVING) read outside aggregates and
/// group keys that PostgreSQL accepts ungrouped because they depend on a grouped primary key
/// (`SELECT c.id, c.name ... GROUP BY c.id`): a relation's columns whose primary key's columns
/// are all plain group keys. Grouping by them too leaves the groups as they are: all of a
/// group's rows hold one row of that relation (or its null-extension). Others are left alone
/// (refused where they are met).
pub(super) fn dependent_columns(q: Query, exprs: &[Node], key_exprs: &[Node]) -> PgResult<Vec<Node>> {
    let mut found: Vec<Node> = Vec::new();
    for &e in exprs {
        e.walk(|node, _| {
            if nodes::try_position(key_exprs, |&k| k.equal(node))?.is_some() {
                return Ok(Visit::Skip);
            }
            Ok(match node.kind() {
                Kind::Aggref(_) | Kind::SubLink(_) => Visit::Skip,
                Kind::Var(v) if v.varlevelsup() == 0 && v.varattno() > 0 => {
                    if nodes::try_position(&found, |&f| f.equal(node))?.is_none() {
                        found.push(node);
                    }
                    Visit::Skip
                }
                _ => Visit::Children,
            })
        })?;
    }
    let mut out = Vec::new();
    for n in found {
        let Some(v) = n.as_var() else { continue };
        let Some(rte) = q.rte(v.varno()) else { continue };
        if rte.rtekind() != RteKind::Relation {
            continue;
        }
        let pk = catalog::primary_key_attnos(rte.relid())?;
        let grouped = |attno: i16| {
            key_exprs.iter().any(|k| {
                k.as_var().is_some_and(|kv| {
                    kv.varlevelsup() == 0 && kv.varno() == v.varno() && kv.varattno() == attno
                })
            })
        };
        if !pk.is_empty() && pk.iter().all(|&a| grouped(a)) {
            out.push(n);
        }
    }
    Ok(out)
}
