//! HAVING terms that are conditions on the rows, moved to WHERE as PostgreSQL's planner moves
//! them (`subquery_planner`): a term without aggregates, volatile functions or subqueries
//! filters the rows before grouping when there is a GROUP BY (and no grouping sets), so an
//! aggregate's argument never meets a row of a group the term drops (`sum(100 / (x - 1)) ...
//! GROUP BY g HAVING g <> 1` divides by no zero); without GROUP BY a copy filters the rows and
//! the term stays. A term without aggregates reading a value of a nondeterministic collation is
//! refused: whether PostgreSQL moves it depends on its version, and the answers differ.

use crate::frontend::from::conjuncts;
use crate::pg::catalog;
use crate::pg::error::{PgError, PgResult};
use crate::pg::node::{make_bool_expr, BoolOp, Kind, Node, Query, Visit};

/// Moves (or copies) `query`'s eligible HAVING terms to its WHERE; `query` is our copy, its
/// grouping-step Vars flattened (18).
pub fn move_to_where(query: Query) -> PgResult<()> {
    let Some(having) = query.having_qual() else { return Ok(()) };
    let grouped = !query.group_clause().is_empty();
    // With grouping sets every term stays (`GROUP BY ()` has none: a copy, as without GROUP BY).
    if grouped && !query.grouping_sets().is_empty() {
        return Ok(());
    }
    let (mut stay, mut moved) = (Vec::new(), Vec::new());
    for term in conjuncts(Some(having)) {
        let keep = finds(term, |n| {
            Ok(matches!(n.kind(), Kind::Aggref(_) | Kind::GroupingFunc(_) | Kind::SubLink(_)))
        })? || term.contains_volatile_functions()?
            // (A volatile default argument appears only once the planner expands the call.)
            || term.copy()?.eval_const_expressions()?.contains_volatile_functions()?;
        // Whether PostgreSQL moves a term over a value of a nondeterministic collation depends
        // on its version (15-17 move it; a later fix keeps it where another collation compares
        // it), and the answers differ: refused.
        if !keep
            && finds(term, |n| match n.kind() {
                Kind::Var(v) => {
                    Ok(v.varcollid() != 0 && !catalog::collation_is_deterministic(v.varcollid())?)
                }
                _ => Ok(false),
            })?
        {
            return Err(crate::frontend::unsupported(
                "HAVING condition without aggregates over a value of a nondeterministic collation",
            ));
        }
        if keep || !grouped {
            stay.push(term);
        }
        if !keep {
            moved.push(term.copy()?);
        }
    }
    if moved.is_empty() {
        return Ok(());
    }
    let jointree = query.jointree().ok_or_else(|| PgError::internal("a query without a join tree"))?;
    let mut terms = conjuncts(jointree.quals());
    terms.extend(moved);
    jointree.set_quals(Some(and(&terms)?));
    query.set_having_qual(if stay.is_empty() { None } else { Some(and(&stay)?) });
    Ok(())
}

fn and(terms: &[Node]) -> PgResult<Node> {
    match terms {
        [one] => Ok(*one),
        many => make_bool_expr(BoolOp::And, many),
    }
}

/// Whether `f` holds for a node of `e`.
fn finds(e: Node, mut f: impl FnMut(Node) -> PgResult<bool>) -> PgResult<bool> {
    let mut found = false;
    e.walk(|n, _| {
        if f(n)? {
            found = true;
            return Ok(Visit::Skip);
        }
        Ok(Visit::Children)
    })?;
    Ok(found)
}
