//! Expressions DataFusion computes: conditions between tables, expressions over the nullable
//! side of an outer join, a subquery's columns or several tables (CASE, COALESCE, IS NULL,
//! comparisons, numeric and integer arithmetic with PostgreSQL's semantics), HAVING over the
//! groups, and a subquery's select-list expressions over its aggregates.

use super::construct::{coalesce_as_case, index_var, make_func};
use super::context::{Builder, COMPUTED};
use super::literal::{const_literal, folded_literal};
use super::types::{
    case_shape, column_type, comparable, expr_type, func_name, is_builtin, is_null_const, is_oid, null_type,
    numeric_shape, op_name, type_name, Oid, UNSHAPED_NUMERIC,
};
use super::unsupported;
use crate::page::ColumnType;
use crate::pg::catalog;
use crate::pg::error::PgResult;
use crate::pg::node::{make_numeric_zero, BoolOp, Kind, Node, NullTest};
use crate::pg::nodes;
use crate::plan::spec::{AggFunc, ArithOp, CmpOp, DfExpr, Literal, PlanSpec};

/// The comparison a built-in operator performs, by its name (the caller checks the types).
pub(super) fn cmp_op(opno: Oid) -> PgResult<Option<CmpOp>> {
    Ok(Some(match op_name(opno)?.as_str() {
        "=" => CmpOp::Eq,
        "<>" => CmpOp::NotEq,
        "<" => CmpOp::Lt,
        "<=" => CmpOp::LtEq,
        ">" => CmpOp::Gt,
        ">=" => CmpOp::GtEq,
        _ => return Ok(None),
    }))
}

/// AND/OR/NOT over translated arguments (NOT has one).
pub(super) fn bool_expr(op: BoolOp, args: Vec<DfExpr>) -> Option<DfExpr> {
    Some(match op {
        BoolOp::And => DfExpr::And(args),
        BoolOp::Or => DfExpr::Or(args),
        BoolOp::Not => DfExpr::Not(Box::new(args.into_iter().next()?)),
    })
}

/// IS [NOT] NULL of a translated argument.
pub(super) fn null_test(n: NullTest, arg: Box<DfExpr>) -> DfExpr {
    if n.is_null() {
        DfExpr::IsNull(arg)
    } else {
        DfExpr::IsNotNull(arg)
    }
}

/// Whether `e` computes integer arithmetic (which can fail on overflow).
pub(super) fn has_int_arith(e: &DfExpr) -> bool {
    match e {
        DfExpr::IntArith(..) => true,
        DfExpr::Column(_) | DfExpr::Literal(_) => false,
        DfExpr::Compare(_, l, r) | DfExpr::Arith(_, l, r) | DfExpr::NumericDiv(l, r, _) => {
            has_int_arith(l) || has_int_arith(r)
        }
        DfExpr::And(v) | DfExpr::Or(v) => v.iter().any(has_int_arith),
        DfExpr::Not(x) | DfExpr::IsNull(x) | DfExpr::IsNotNull(x) | DfExpr::Cast(x, _) => has_int_arith(x),
        DfExpr::Case(branches, default) => {
            branches.iter().any(|(c, v)| has_int_arith(c) || has_int_arith(v))
                || default.as_deref().is_some_and(has_int_arith)
        }
    }
}

/// Whether evaluating `e` can raise an error (see [`DfExpr::can_fail`]).
pub(super) fn can_fail(e: &DfExpr) -> bool {
    e.can_fail()
}

/// Whether `e` is equalities between columns only (all of them become hash-join keys).
pub(super) fn equalities_only(e: &DfExpr) -> bool {
    match e {
        DfExpr::And(v) => v.iter().all(equalities_only),
        DfExpr::Compare(CmpOp::Eq, l, r) => {
            matches!((l.as_ref(), r.as_ref()), (DfExpr::Column(_), DfExpr::Column(_)))
        }
        _ => false,
    }
}

pub(super) fn and_all(mut terms: Vec<DfExpr>) -> Option<DfExpr> {
    match terms.len() {
        0 => None,
        1 => terms.pop(),
        _ => Some(DfExpr::And(terms)),
    }
}

/// How a numeric operator combines its operands' (integer digits, scale) into its result's.
type Combine = fn((u32, u32), (u32, u32)) -> (u32, u32);

/// The two arguments of a binary operator or function call.
fn two_args(args: &[Node]) -> Option<(Node, Node)> {
    match *args {
        [a, b] => Some((a, b)),
        _ => None,
    }
}

impl Builder {
    /// Is `e` numeric `+ - *` that DataFusion computes exactly from scan columns and constants
    /// (declared digits within 38)? Then the scan ships the operands, not PostgreSQL's result:
    /// Decimal128 arithmetic costs far less than PostgreSQL's numeric arithmetic per row.
    /// No side effects (no columns are added).
    pub(super) fn df_arithmetic(&self, e: Node) -> PgResult<bool> {
        fn digits(b: &Builder, e: Node) -> PgResult<Option<(u32, u32)>> {
            if let Some((Literal::Decimal128 { precision, scale, .. }, _)) = folded_literal(e)? {
                return Ok(Some(((precision as i8 - scale).max(0) as u32, scale.max(0) as u32)));
            }
            match e.kind() {
                Kind::Var(v) => {
                    let plain_leaf = b
                        .leaves
                        .iter()
                        .any(|l| l.rtindex as u32 == v.varno() && l.sub.is_none() && v.varlevelsup() == 0);
                    if !plain_leaf || v.vartype() != catalog::NUMERICOID {
                        return Ok(None);
                    }
                    Ok(numeric_shape(v.vartypmod()).map(|(p, s)| ((p as i8 - s) as u32, s as u32)))
                }
                Kind::RelabelType(r) => match r.arg() {
                    Some(a) => digits(b, a),
                    None => Ok(None),
                },
                Kind::OpExpr(o) => {
                    let Some((l, r)) = two_args(&o.args()) else { return Ok(None) };
                    let (Some(l), Some(r)) = (digits(b, l)?, digits(b, r)?) else {
                        return Ok(None);
                    };
                    let d = match o.opfuncid() {
                        catalog::F_NUMERIC_ADD | catalog::F_NUMERIC_SUB => (l.0.max(r.0) + 1, l.1.max(r.1)),
                        catalog::F_NUMERIC_MUL => (l.0 + r.0, l.1 + r.1),
                        _ => return Ok(None),
                    };
                    Ok((d.0 + d.1 <= 38).then_some(d))
                }
                _ => Ok(None),
            }
        }
        if e.as_op_expr().is_none() {
            return Ok(false);
        }
        Ok(digits(self, e)?.is_some())
    }

    /// `e` as DataFusion arithmetic over scan columns, with its (integer digits, scale).
    pub(super) fn arith(&mut self, e: Node) -> PgResult<(DfExpr, (u32, u32))> {
        nodes::check_stack_depth()?;
        let refuse =
            || unsupported("aggregate over an expression of several tables (only + - * of numerics)");
        // A constant (folded as the planner would) is a literal, not a column of every row.
        if let Some((lit @ Literal::Decimal128 { precision, scale, .. }, _)) = folded_literal(e)? {
            return Ok((
                DfExpr::Literal(lit),
                ((precision as i8 - scale).max(0) as u32, scale.max(0) as u32),
            ));
        }
        // One relation's expression is a scan column, unless it is arithmetic DataFusion
        // computes exactly (cheaper than PostgreSQL per row); otherwise (a subquery's columns,
        // the nullable side of an outer join) DataFusion computes it over the joined row.
        let in_scan = match self.one_leaf(e)? {
            Some(_) => !self.df_arithmetic(e)?,
            None => false,
        };
        if let (true, Some(leaf)) = (in_scan, self.one_leaf(e)?) {
            if self.computable_in_scan(e, leaf)? {
                self.scan_part(e)?;
                let id = self.column(e)?;
                return match self.columns[id].1 {
                    ColumnType::Decimal128 { precision, scale } => {
                        Ok((DfExpr::Column(id), ((precision as i8 - scale) as u32, scale as u32)))
                    }
                    _ => Err(refuse()),
                };
            }
        }
        // An integer as numeric (a subquery's count compared with an avg, say): exact.
        if let Some((arg, ty @ ColumnType::Decimal128 { precision, .. })) = int_to_numeric(e) {
            return Ok((DfExpr::Cast(Box::new(self.df_value(arg)?), ty), (precision as u32, 0)));
        }
        // A CASE (or COALESCE) whose results share one scale (a NULL branch aside).
        let case = coalesce_as_case(e)?;
        if let Some((int, scale, true)) = case_shape(case)? {
            return Ok((self.case_df(case)?.0, (int, scale)));
        }
        let Some(o) = e.as_op_expr() else { return Err(refuse()) };
        let Some((a, b)) = two_args(&o.args()) else { return Err(refuse()) };
        let (op, combine): (ArithOp, Combine) = match o.opfuncid() {
            catalog::F_NUMERIC_ADD => (ArithOp::Add, |a, b| (a.0.max(b.0) + 1, a.1.max(b.1))),
            catalog::F_NUMERIC_SUB => (ArithOp::Sub, |a, b| (a.0.max(b.0) + 1, a.1.max(b.1))),
            catalog::F_NUMERIC_MUL => (ArithOp::Mul, |a, b| (a.0 + b.0, a.1 + b.1)),
            _ => return Err(refuse()),
        };
        let (l, ld) = self.arith(a)?;
        let (r, rd) = self.arith(b)?;
        let digits = combine(ld, rd);
        if digits.0 + digits.1 > 38 {
            return Err(unsupported("numeric arithmetic over several tables beyond 38 digits"));
        }
        Ok((DfExpr::Arith(op, Box::new(l), Box::new(r)), digits))
    }

    /// `e` as an expression DataFusion evaluates over the joined row, where no scan may
    /// compute it whole: CASE (searched), COALESCE, IS [NOT] NULL, AND/OR/NOT, comparisons and
    /// numeric `+ - *`, over what scans compute (a relation's expression that is NULL for NULL
    /// input, a subquery's column) and constants. DataFusion's CASE takes a branch whose
    /// condition is true, as PostgreSQL's does; a numeric result's display scale is the caller's
    /// concern (a column's block type fixes it).
    pub(super) fn df_value(&mut self, e: Node) -> PgResult<DfExpr> {
        nodes::check_stack_depth()?;
        let refuse = || {
            let what = match e.call() {
                Some((f, _)) => match func_name(f) {
                    Ok(name) => format!("function {name}"),
                    // A PostgreSQL ERROR looking it up goes up instead.
                    Err(err) => return err,
                },
                None => "expression".to_string(),
            };
            unsupported(format!(
                "{what} computed after the joins (DataFusion computes only CASE, COALESCE, IS NULL, comparisons, + - * of numerics and + - * / % of integers there)"
            ))
        };
        if let Some((lit, _)) = folded_literal(e)? {
            return Ok(DfExpr::Literal(lit));
        }
        if is_null_const(e) {
            return Ok(DfExpr::Literal(Literal::Null(null_type(e)?)));
        }
        if e.varno()? == 0 {
            // `current_date`: no scan of the join it is used in is sure to carry it.
            return Err(unsupported("expression without columns that is not a constant (current_date, now(), ...) computed after the joins"));
        }
        if let Some(leaf) = self.one_leaf(e)? {
            if self.computable_in_scan(e, leaf)? {
                self.scan_part(e)?;
                let id = self.column(e)?;
                return self.column_expr(id);
            }
        }
        let narrowing =
            |f: Oid| matches!(f, catalog::F_INT2_INT4 | catalog::F_INT2_INT8 | catalog::F_INT4_INT8);
        match e.kind() {
            // `CASE WHEN a1 IS NOT NULL THEN a1 ... ELSE an END`: the first argument is
            // always evaluated, the others only when reached.
            Kind::CoalesceExpr(c) => {
                let args = c.args();
                let mut values = Vec::with_capacity(args.len());
                for (k, &a) in args.iter().enumerate() {
                    values.push(if k == 0 { self.df_value(a)? } else { self.guarded(|b| b.df_value(a))? });
                }
                let Some(last) = values.pop() else { return Err(refuse()) };
                let branches =
                    values.into_iter().map(|v| (DfExpr::IsNotNull(Box::new(v.clone())), v)).collect();
                Ok(DfExpr::Case(branches, Some(Box::new(last))))
            }
            Kind::CaseExpr(c) => {
                if c.arg().is_some() {
                    return Err(unsupported("CASE x WHEN ... computed after the joins"));
                }
                let mut branches = Vec::new();
                for (k, w) in c.whens().into_iter().enumerate() {
                    let (Some(cond), Some(result)) = (w.expr(), w.result()) else { return Err(refuse()) };
                    let cond =
                        if k == 0 { self.join_cond(cond)? } else { self.guarded(|b| b.join_cond(cond))? };
                    branches.push((cond, self.guarded(|b| b.df_value(result))?));
                }
                let default = match c.defresult() {
                    None => DfExpr::Literal(Literal::Null(null_type(e)?)),
                    Some(d) => self.guarded(|b| b.df_value(d))?,
                };
                Ok(DfExpr::Case(branches, Some(Box::new(default))))
            }
            // Binary-compatible (varchar as text): the same values; but an int4 relabeled as an
            // oid is read unsigned.
            Kind::RelabelType(r) => {
                let arg = r.arg().ok_or_else(refuse)?;
                let base = |t: Oid| -> PgResult<Oid> { Ok(catalog::base_type(t, -1)?.0) };
                if is_oid(base(expr_type(e)?.0)?) != is_oid(base(expr_type(arg)?.0)?) {
                    return Err(unsupported(
                        "integer relabeled as an object identifier computed after the joins",
                    ));
                }
                self.df_value(arg)
            }
            // A collation label: the value itself (comparisons check their collation).
            Kind::CollateExpr(c) => self.df_value(c.arg().ok_or_else(refuse)?),
            Kind::BoolExpr(_) | Kind::NullTest(_) => self.join_cond(e),
            Kind::OpExpr(_) if expr_type(e)?.0 == catalog::BOOLOID => self.join_cond(e),
            Kind::OpExpr(_) if expr_type(e)?.0 == catalog::NUMERICOID => Ok(self.arith(e)?.0),
            Kind::FuncExpr(f) => match (int_to_numeric(e), f.funcid()) {
                (Some((arg, ty)), _) => Ok(DfExpr::Cast(Box::new(self.df_value(arg)?), ty)),
                // A narrowing integer cast (`x::smallint`): `x + 0` checked in the target
                // type, with PostgreSQL's "smallint out of range" (22003).
                (None, f) if narrowing(f) && self.guarded => Err(unsupported(
                    "a narrowing integer cast in a CASE branch or COALESCE argument computed after the joins",
                )),
                (None, f) if narrowing(f) => {
                    let [arg] = f_args(e)[..] else { return Err(refuse()) };
                    let zero = Box::new(DfExpr::Literal(Literal::Int64(0)));
                    Ok(DfExpr::IntArith(ArithOp::Add, Box::new(self.df_value(arg)?), zero, column_type(e)?))
                }
                _ => Err(refuse()),
            },
            Kind::OpExpr(o) => match int_op(o.opfuncid()) {
                // DataFusion may evaluate a boolean CASE's branches for every row (it
                // rewrites the CASE into AND/OR): an overflow PostgreSQL would not raise.
                Some(_) if self.guarded => Err(unsupported(
                    "integer arithmetic in a CASE branch or COALESCE argument computed after the joins",
                )),
                Some(op) => {
                    let Some((l, r)) = two_args(&o.args()) else { return Err(refuse()) };
                    let (l, r) = (self.df_value(l)?, self.df_value(r)?);
                    Ok(DfExpr::IntArith(op, Box::new(l), Box::new(r), column_type(e)?))
                }
                None => Err(refuse()),
            },
            _ => Err(refuse()),
        }
    }

    /// A numeric CASE whose branches have different scales (`CASE WHEN .. THEN price * qty ELSE 0
    /// END`), as an aggregate argument: a value column at the largest scale and an int4 column
    /// with each value's own display scale (NULL for a NULL value), from which PostgreSQL's sum
    /// display scale (the largest over the group) is rebuilt. In the scan when the CASE reads
    /// one relation (`e + 0.00..`, `scale(e)`), else computed by DataFusion after the joins.
    pub(super) fn varying_scale(&mut self, e: Node, int: u32, smax: u32) -> PgResult<(usize, usize)> {
        if int + smax > 38 {
            return Err(unsupported("numeric CASE beyond 38 digits"));
        }
        // Its value and its scale are two columns: a volatile expression would be evaluated
        // twice (two draws of random(), two nextval()s).
        if e.contains_volatile_functions()? {
            return Err(unsupported("sum/avg of a volatile numeric expression of no fixed scale"));
        }
        let ty = ColumnType::Decimal128 { precision: (int + smax) as u8, scale: smax as i8 };
        let value_key = numeric_at_scale(e, smax)?;
        let scale_key = make_func(catalog::F_SCALE, catalog::INT4OID, &[e])?;
        if let Some(leaf) = self.one_leaf(e)? {
            if self.computable_in_scan(e, leaf)? {
                return Ok((
                    self.column_as(value_key, Some(ty))?,
                    self.column_as(scale_key, Some(ColumnType::Int32))?,
                ));
            }
        }
        let mut ids = [0usize; 2];
        // The CASE for DataFusion, translated once for both columns.
        let mut df: Option<(DfExpr, DfExpr)> = None;
        for (k, key) in [value_key, scale_key].into_iter().enumerate() {
            if let Some(i) = nodes::try_position(&self.computed, |(id, _)| self.columns[*id].0.equal(key))? {
                ids[k] = self.computed[i].0;
                continue;
            }
            let (value, scale) = match &df {
                Some(d) => d.clone(),
                None => {
                    let d = self.case_df(e)?;
                    df = Some(d.clone());
                    d
                }
            };
            let (expr, t) = if k == 0 {
                (value, ty)
            } else {
                let null = DfExpr::Literal(Literal::Null(ColumnType::Int32));
                (
                    DfExpr::Case(vec![(DfExpr::IsNull(Box::new(value)), null)], Some(Box::new(scale))),
                    ColumnType::Int32,
                )
            };
            self.columns.push((key, t, COMPUTED));
            ids[k] = self.columns.len() - 1;
            self.computed.push((ids[k], expr));
        }
        Ok((ids[0], ids[1]))
    }

    /// A searched numeric CASE over several relations for DataFusion: its value, and the display
    /// scale of the branch taken (a literal per branch).
    pub(super) fn case_df(&mut self, e: Node) -> PgResult<(DfExpr, DfExpr)> {
        nodes::check_stack_depth()?;
        let Kind::CaseExpr(c) = e.kind() else { return Err(unsupported("CASE over several tables")) };
        if c.arg().is_some() {
            return Err(unsupported("CASE x WHEN ... over several tables"));
        }
        fn result(b: &mut Builder, r: Option<Node>) -> PgResult<(DfExpr, DfExpr)> {
            let r = match r {
                Some(r) if !is_null_const(r) => r,
                _ => {
                    let null = DfExpr::Literal(Literal::Null(ColumnType::Int32));
                    return Ok((
                        DfExpr::Literal(Literal::Null(ColumnType::Decimal128 { precision: 1, scale: 0 })),
                        null,
                    ));
                }
            };
            let (v, (_, scale)) = b.arith(r)?;
            Ok((v, DfExpr::Literal(Literal::Int64(scale as i64))))
        }
        let mut branches = Vec::new();
        let mut scales = Vec::new();
        // Only the first condition is always evaluated (see `scan_part`).
        for (k, w) in c.whens().into_iter().enumerate() {
            let (v, sc) = self.guarded(|b| result(b, w.result()))?;
            let cond = w.expr().ok_or_else(|| unsupported("CASE without a condition"))?;
            let cond = if k == 0 { self.join_cond(cond)? } else { self.guarded(|b| b.join_cond(cond))? };
            branches.push((cond.clone(), v));
            scales.push((cond, sc));
        }
        let (dv, ds) = self.guarded(|b| result(b, c.defresult()))?;
        Ok((DfExpr::Case(branches, Some(Box::new(dv))), DfExpr::Case(scales, Some(Box::new(ds)))))
    }

    /// The scan column of a numeric's value (its display scale dropped) at the fixed shape of
    /// unshaped numerics ([`UNSHAPED_NUMERIC`]), for comparisons.
    pub(super) fn numeric_value_column(&mut self, e: Node) -> PgResult<usize> {
        let (int, scale) = UNSHAPED_NUMERIC;
        let ty = ColumnType::Decimal128 { precision: (int + scale) as u8, scale: scale as i8 };
        self.column_as(numeric_at_scale(e, scale)?, Some(ty))
    }

    /// A condition between relations, for DataFusion: AND/OR/NOT over comparisons of columns
    /// whose order and equality DataFusion shares with PostgreSQL; a term of one relation is a
    /// boolean column of that relation's scan.
    pub(super) fn join_cond(&mut self, e: Node) -> PgResult<DfExpr> {
        nodes::check_stack_depth()?;
        if let Some(leaf) = self.one_leaf(e)? {
            if self.computable_in_scan(e, leaf)? {
                if expr_type(e)?.0 != catalog::BOOLOID {
                    return Err(unsupported("join condition"));
                }
                self.scan_part(e)?;
                let id = self.column(e)?;
                return self.column_expr(id);
            }
        }
        let refuse = || unsupported("join condition (only comparisons of columns of the same kind)");
        match e.kind() {
            Kind::BoolExpr(b) => {
                let args = b.args().into_iter().map(|a| self.join_cond(a)).collect::<PgResult<Vec<_>>>()?;
                bool_expr(b.boolop(), args).ok_or_else(refuse)
            }
            Kind::NullTest(n) => {
                // `b.x IS NULL` above an outer join: true for null-extended rows.
                if n.argisrow() {
                    return Err(refuse());
                }
                let a = Box::new(self.df_value(n.arg().ok_or_else(refuse)?)?);
                Ok(null_test(n, a))
            }
            Kind::OpExpr(o) => {
                let Some((a, b)) = two_args(&o.args()) else { return Err(refuse()) };
                if !is_builtin(o.opno()) {
                    return Err(refuse());
                }
                let op = cmp_op(o.opno())?.ok_or_else(refuse)?;
                let (l, lty) = self.operand(a)?;
                let (r, rty) = self.operand(b)?;
                let (lt, rt) = (expr_type(a)?, expr_type(b)?);
                // A bare numeric's value column meets the other side at its own scale: DataFusion
                // casts both to Decimal128(38, 20 or more), which fails for wider values.
                for (this, other) in [(a, rty), (b, lty)] {
                    if let ColumnType::Decimal128 { precision, scale } = other {
                        let (int, frac) = UNSHAPED_NUMERIC;
                        let wide = precision as i32 - scale as i32 > int as i32 || scale as i32 > frac as i32;
                        if wide && self.scans_unshaped_numeric(this)? {
                            return Err(unsupported(
                                "comparison of a numeric without a scale with a numeric of more than 18 integer digits or 20 decimals (bigint included)",
                            ));
                        }
                    }
                }
                let equality = matches!(op, CmpOp::Eq | CmpOp::NotEq);
                if !comparable(lty, lt, rty, rt, equality, o.inputcollid())? {
                    return Err(unsupported(format!(
                        "join condition comparing {} with {}",
                        type_name(lt.0, lt.1)?,
                        type_name(rt.0, rt.1)?
                    )));
                }
                Ok(DfExpr::Compare(op, Box::new(l), Box::new(r)))
            }
            // A boolean CASE or COALESCE (`WHERE COALESCE(b.flag, false)`).
            Kind::CaseExpr(_) | Kind::CoalesceExpr(_) if expr_type(e)?.0 == catalog::BOOLOID => {
                self.df_value(e)
            }
            // `FULL JOIN ... ON true`.
            Kind::Const(_) => match const_literal(e)? {
                Some((lit @ Literal::Bool(_), _)) => Ok(DfExpr::Literal(lit)),
                _ => Err(refuse()),
            },
            _ => Err(refuse()),
        }
    }

    /// An operand of a comparison DataFusion evaluates: a constant as a literal, else a column.
    pub(super) fn operand(&mut self, e: Node) -> PgResult<(DfExpr, ColumnType)> {
        nodes::check_stack_depth()?;
        if let Some((lit, ty)) = const_literal(e)? {
            return Ok((DfExpr::Literal(lit), ty));
        }
        // A constant expression (`40000` cast to numeric): folded as the planner would (immutable
        // functions only).
        if e.varno()? == 0 {
            if let Some((lit, ty)) = const_literal(e.eval_const_expressions()?)? {
                return Ok((DfExpr::Literal(lit), ty));
            }
        }
        if let Some(leaf) = self.one_leaf(e)? {
            if self.computable_in_scan(e, leaf)? {
                self.scan_part(e)?;
                // A bare numeric compares by its value alone: at the fixed shape of unshaped
                // numerics (one that does not fit fails at run time).
                let id = if self.scans_unshaped_numeric(e)? {
                    self.numeric_value_column(e)?
                } else {
                    self.any_column(e, None)?
                };
                return Ok((self.column_expr(id)?, self.columns[id].1));
            }
        }
        // Conditions run before DataFusion's computed columns exist: the expression itself. A
        // comparison needs its value only, not its display scale (`COALESCE(x, 0) < 10`).
        let ty = match column_type(e) {
            Err(err) if !err.is_caught() && expr_type(e)?.0 == catalog::NUMERICOID => {
                ColumnType::Decimal128 { precision: 38, scale: 0 }
            }
            t => t?,
        };
        Ok((self.df_value(e)?, ty))
    }
}

/// `e + 0.000` (`scale` zeros): the value itself, at display scale `scale` when its own is not
/// larger; one that is larger keeps it and the encoder refuses it (at run time, as any numeric
/// value that does not fit its column). Never rounds.
fn numeric_at_scale(e: Node, scale: u32) -> PgResult<Node> {
    let zero = make_numeric_zero(scale as i32)?;
    make_func(catalog::F_NUMERIC_ADD, catalog::NUMERICOID, &[e, zero])
}

/// The arguments of a function call or operator (none for other nodes).
fn f_args(e: Node) -> Vec<Node> {
    e.call().map(|(_, args)| args).unwrap_or_default()
}

/// `e`'s argument and its exact decimal type when `e` is PostgreSQL's cast of an integer to
/// numeric (`int8_numeric`: every value fits 19 digits).
pub(super) fn int_to_numeric(e: Node) -> Option<(Node, ColumnType)> {
    let (funcid, args) = e.call()?;
    let precision = match funcid {
        catalog::F_NUMERIC_INT2 => 5,
        catalog::F_NUMERIC_INT4 => 10,
        catalog::F_NUMERIC_INT8 => 19,
        _ => return None,
    };
    match args.as_slice() {
        [arg] => Some((*arg, ColumnType::Decimal128 { precision, scale: 0 })),
        _ => None,
    }
}

/// The operation of PostgreSQL's integer `+ - * / %` (int2, int4, int8 and their mixes).
pub(super) fn int_op(funcid: u32) -> Option<ArithOp> {
    match funcid {
        catalog::F_INT2PL
        | catalog::F_INT4PL
        | catalog::F_INT8PL
        | catalog::F_INT24PL
        | catalog::F_INT42PL
        | catalog::F_INT48PL
        | catalog::F_INT84PL
        | catalog::F_INT28PL
        | catalog::F_INT82PL => Some(ArithOp::Add),
        catalog::F_INT2MI
        | catalog::F_INT4MI
        | catalog::F_INT8MI
        | catalog::F_INT24MI
        | catalog::F_INT42MI
        | catalog::F_INT48MI
        | catalog::F_INT84MI
        | catalog::F_INT28MI
        | catalog::F_INT82MI => Some(ArithOp::Sub),
        catalog::F_INT2MUL
        | catalog::F_INT4MUL
        | catalog::F_INT8MUL
        | catalog::F_INT24MUL
        | catalog::F_INT42MUL
        | catalog::F_INT48MUL
        | catalog::F_INT84MUL
        | catalog::F_INT28MUL
        | catalog::F_INT82MUL => Some(ArithOp::Mul),
        catalog::F_INT2DIV
        | catalog::F_INT4DIV
        | catalog::F_INT8DIV
        | catalog::F_INT24DIV
        | catalog::F_INT42DIV
        | catalog::F_INT48DIV
        | catalog::F_INT84DIV
        | catalog::F_INT28DIV
        | catalog::F_INT82DIV => Some(ArithOp::Div),
        catalog::F_INT2MOD | catalog::F_INT4MOD | catalog::F_INT8MOD => Some(ArithOp::Mod),
        _ => None,
    }
}

/// A node-side expression of a block's select list (over `Var(INDEX_VAR, k)` output columns)
/// for DataFusion: (expression over stage columns, type, whether only its value is exact).
/// `+ - *` of numerics keep PostgreSQL's display scale; `numeric_div` (avg) is PostgreSQL's value
/// at a fixed scale, good for comparisons only. None: not translatable.
pub(super) fn post_expr(e: Node, plan: &PlanSpec) -> PgResult<Option<(DfExpr, ColumnType, bool)>> {
    nodes::check_stack_depth()?;
    let stage = plan.stage_types();
    let scan = plan.scan_types();
    if let Some(k) = index_var(e) {
        let Some(&id) = plan.output.get(k) else { return Ok(None) };
        return Ok(stage.get(id).map(|&t| (DfExpr::Column(id), t, false)));
    }
    match e.kind() {
        // A constant (an arm's label in a UNION, say), cast to its own type's block type.
        Kind::Const(_) => Ok(match const_literal(e)? {
            Some((lit, _)) => Some((DfExpr::Literal(lit), column_type(e)?, false)),
            _ => None,
        }),
        Kind::FuncExpr(f) => match (f.funcid(), f.args().as_slice()) {
            // numeric(count): the divisor of avg, kept as int64.
            (catalog::F_NUMERIC_INT8, [a]) => Ok(match post_expr(*a, plan)? {
                Some((x, ColumnType::Int64, false)) => Some((x, ColumnType::Int64, false)),
                _ => None,
            }),
            (catalog::F_NUMERIC_DIV, [a, b]) => {
                let (Some((x, xt, false)), Some((y, yt, false))) =
                    (post_expr(*a, plan)?, post_expr(*b, plan)?)
                else {
                    return Ok(None);
                };
                // The quotient's integer digits: those of the summed column (avg).
                let sum_arg = match (&x, &plan.grouping) {
                    (DfExpr::Column(id), Some(g)) if *id >= g.keys.len() => {
                        g.aggs.get(id - g.keys.len()).filter(|a| a.func == AggFunc::Sum).and_then(|a| a.arg)
                    }
                    _ => None,
                };
                let (Some(arg), ColumnType::Decimal128 { scale: xs, .. }, ColumnType::Int64) =
                    (sum_arg, xt, yt)
                else {
                    return Ok(None);
                };
                let ColumnType::Decimal128 { precision, scale } = scan[arg] else { return Ok(None) };
                let int = (precision as i8 - scale) as i32;
                let fixed = (38 - int - 1).min(32);
                if fixed < xs as i32 {
                    return Ok(None);
                }
                let ty = ColumnType::Decimal128 { precision: 38, scale: fixed as i8 };
                Ok(Some((DfExpr::NumericDiv(Box::new(x), Box::new(y), fixed as i8), ty, true)))
            }
            _ => Ok(None),
        },
        Kind::OpExpr(o) => {
            let op = match o.opfuncid() {
                catalog::F_NUMERIC_ADD => ArithOp::Add,
                catalog::F_NUMERIC_SUB => ArithOp::Sub,
                catalog::F_NUMERIC_MUL => ArithOp::Mul,
                _ => return Ok(None),
            };
            let Some((a, b)) = two_args(&o.args()) else { return Ok(None) };
            let (Some((x, xt, xv)), Some((y, yt, yv))) = (post_expr(a, plan)?, post_expr(b, plan)?) else {
                return Ok(None);
            };
            // Times a constant +-10^-k (`sum(..) * 0.0001`, TPC-H Q11): the unscaled value is
            // unchanged, so even a 38-digit sum cannot overflow; the scales add up.
            let unit = |e: &DfExpr| matches!(e, DfExpr::Literal(Literal::Decimal128 { value: 1 | -1, .. }));
            if let (
                ArithOp::Mul,
                ColumnType::Decimal128 { scale: s1, .. },
                ColumnType::Decimal128 { scale: s2, .. },
            ) = (op, xt, yt)
            {
                let scale = s1 as i32 + s2 as i32;
                if (unit(&x) || unit(&y)) && (0..=38).contains(&scale) {
                    let ty = ColumnType::Decimal128 { precision: 38, scale: scale as i8 };
                    return Ok(Some((DfExpr::Arith(op, Box::new(x), Box::new(y)), ty, xv || yv)));
                }
            }
            let (
                ColumnType::Decimal128 { precision: p1, scale: s1 },
                ColumnType::Decimal128 { precision: p2, scale: s2 },
            ) = (xt, yt)
            else {
                return Ok(None);
            };
            let (i1, i2) = ((p1 as i8 - s1) as u32, (p2 as i8 - s2) as u32);
            let (s1, s2) = (s1 as u32, s2 as u32);
            let (int, scale) = match op {
                ArithOp::Mul => (i1 + i2, s1 + s2),
                _ => (i1.max(i2) + 1, s1.max(s2)),
            };
            let value_only = xv || yv;
            let ty = if value_only && scale <= 38 {
                ColumnType::Decimal128 { precision: 38, scale: scale as i8 }
            } else if !value_only && int + scale <= 38 {
                ColumnType::Decimal128 { precision: (int + scale) as u8, scale: scale as i8 }
            } else {
                return Ok(None);
            };
            Ok(Some((DfExpr::Arith(op, Box::new(x), Box::new(y)), ty, value_only)))
        }
        _ => Ok(None),
    }
}

/// A HAVING expression over INDEX_VAR columns, for DataFusion.
pub(super) fn df_expr(e: Node) -> PgResult<DfExpr> {
    nodes::check_stack_depth()?;
    let refuse = || unsupported("HAVING expression");
    match e.kind() {
        Kind::Var(_) => index_var(e).map(DfExpr::Column).ok_or_else(refuse),
        Kind::Const(_) => match const_literal(e)? {
            Some((lit, _)) => Ok(DfExpr::Literal(lit)),
            None => Err(refuse()),
        },
        Kind::BoolExpr(b) => {
            let args = b.args().into_iter().map(df_expr).collect::<PgResult<Vec<_>>>()?;
            bool_expr(b.boolop(), args).ok_or_else(refuse)
        }
        Kind::NullTest(n) => {
            if n.argisrow() {
                return Err(refuse());
            }
            let a = Box::new(df_expr(n.arg().ok_or_else(refuse)?)?);
            Ok(null_test(n, a))
        }
        Kind::OpExpr(o) => {
            let args = o.args();
            let Some((a, b)) = two_args(&args) else { return Err(refuse()) };
            if !is_builtin(o.opno()) {
                return Err(refuse());
            }
            // Comparisons DataFusion makes exactly as PostgreSQL: integers (int2/int4/int8
            // after widening), numerics (decimals of any scales: group keys, sums, min/max,
            // constants) and dates, each side a column or a constant.
            const INTEGERS: [Oid; 3] = [catalog::INT2OID, catalog::INT4OID, catalog::INT8OID];
            let types = args.iter().map(|&a| expr_type(a).map(|t| t.0)).collect::<PgResult<Vec<_>>>()?;
            let same_kind = types.iter().all(|t| INTEGERS.contains(t))
                || types.iter().all(|&t| t == catalog::NUMERICOID)
                || types.iter().all(|&t| t == catalog::DATEOID);
            let simple = args.iter().all(|a| matches!(a.kind(), Kind::Var(_) | Kind::Const(_)));
            if !same_kind || !simple {
                return Err(refuse());
            }
            let op = cmp_op(o.opno())?.ok_or_else(refuse)?;
            Ok(DfExpr::Compare(op, Box::new(df_expr(a)?), Box::new(df_expr(b)?)))
        }
        _ => Err(refuse()),
    }
}
