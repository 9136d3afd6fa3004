//! Catalog OIDs PostgreSQL's headers define (`pg_type_d.h`, `fmgroids.h`), by their C names: the
//! built-in types and functions the front end recognises. Built-in OIDs are the same in every
//! supported PostgreSQL version (they are assigned once and never reused).

pub use super::sys::Oid;

/// The database's default collation (`DEFAULT_COLLATION_OID`).
pub use super::sys::DEFAULT_COLLATION_OID;

/// Objects with OIDs below this were created by initdb (`FirstGenbkiObjectId`).
pub use super::sys::FirstGenbkiObjectId;

/// Is `oid` a built-in object (created by initdb)?
pub fn is_builtin(oid: Oid) -> bool {
    oid != 0 && oid < FirstGenbkiObjectId
}

/// Built-in types.
#[rustfmt::skip]
pub use super::sys::{
    BOOLOID, BPCHAROID, BYTEAOID, DATEOID, FLOAT4OID, FLOAT8OID, INT2OID, INT4OID, INT8OID, INTERVALOID,
    NAMEOID, NUMERICOID, TEXTOID, TIMEOID, TIMESTAMPOID, TIMESTAMPTZOID, UUIDOID, VARCHAROID,
    OIDOID, REGCLASSOID, REGTYPEOID, REGPROCOID,
};

/// Built-in functions.
#[rustfmt::skip]
pub use super::sys::{
    F_BPCHARLIKE, F_BPCHARNLIKE, F_BPCHAR_BPCHAR_INT4_BOOL, F_CHAR_LENGTH_BPCHAR,
    F_CHAR_LENGTH_TEXT, F_DATE_PART_TEXT_DATE, F_DATE_PART_TEXT_TIMESTAMP,
    F_DATE_PART_TEXT_TIMESTAMPTZ, F_EXTRACT_TEXT_DATE, F_EXTRACT_TEXT_TIMESTAMP,
    F_EXTRACT_TEXT_TIMESTAMPTZ, F_FLOAT8DIV, F_FLOAT8_INT8, F_INT24DIV, F_INT24MI, F_INT24MUL,
    F_INT24PL, F_INT28DIV, F_INT28MI, F_INT28MUL, F_INT28PL, F_INT2DIV, F_INT2MI, F_INT2MOD, F_INT2MUL,
    F_INT2PL, F_INT2_INT4, F_INT2_INT8, F_INT42DIV, F_INT42MI, F_INT42MUL, F_INT42PL, F_INT48DIV,
    F_INT48MI, F_INT48MUL, F_INT48PL, F_INT4DIV, F_INT4MI, F_INT4MOD, F_INT4MUL, F_INT4PL, F_INT4_INT2,
    F_INT4_INT8, F_INT82DIV, F_INT82MI, F_INT82MUL, F_INT82PL, F_INT84DIV, F_INT84MI, F_INT84MUL,
    F_INT84PL, F_INT8DIV, F_INT8MI, F_INT8MOD, F_INT8MUL, F_INT8PL, F_INT8_INT2, F_INT8_INT4,
    F_LENGTH_BPCHAR, F_LENGTH_TEXT, F_LIKE_TEXT_TEXT, F_LOWER_TEXT, F_MAX_DATE, F_MAX_INT2,
    F_MAX_INT4, F_MAX_INT8, F_MAX_NUMERIC, F_MIN_DATE, F_MIN_INT2, F_MIN_INT4, F_MIN_INT8,
    F_MIN_NUMERIC, F_NOTLIKE_TEXT_TEXT, F_NUMERIC_ADD, F_NUMERIC_DIV, F_NUMERIC_EQ, F_NUMERIC_GE,
    F_NUMERIC_GT, F_NUMERIC_INT2, F_NUMERIC_INT4, F_NUMERIC_INT8, F_NUMERIC_LE, F_NUMERIC_LT,
    F_NUMERIC_MUL, F_NUMERIC_NE, F_NUMERIC_SUB, F_NUMERIC_UMINUS, F_OCTET_LENGTH_TEXT,
    F_ROUND_NUMERIC_INT4, F_SCALE, F_SUBSTRING_TEXT_INT4, F_SUBSTRING_TEXT_INT4_INT4,
    F_SUBSTR_TEXT_INT4, F_SUBSTR_TEXT_INT4_INT4, F_TEXTCAT, F_TEXTLEN, F_TEXTLIKE, F_TEXTNLIKE,
    F_TEXT_BPCHAR, F_UPPER_TEXT,
};

use super::error::{guard, PgError, PgResult};
use super::nodes::cstr;
use super::sys;

/// A type's name as `format_type_with_typemod` prints it (`numeric(12,2)`; unknown: `???`).
pub fn type_name(typid: Oid, typmod: i32) -> PgResult<String> {
    // SAFETY: format_type_with_typemod handles any OID; the result is palloc'd.
    guard(|| unsafe { cstr(sys::format_type_with_typemod(typid, typmod)) })
}

/// A function's name; empty when there is no such function.
pub fn func_name(oid: Oid) -> PgResult<String> {
    // SAFETY: catalog lookup; NULL when missing.
    guard(|| unsafe { cstr(sys::get_func_name(oid)) })
}

/// An operator's name; empty when there is no such operator.
pub fn op_name(oid: Oid) -> PgResult<String> {
    // SAFETY: catalog lookup; NULL when missing.
    guard(|| unsafe { cstr(sys::get_opname(oid)) })
}

/// Does PostgreSQL order text under the collation by its UTF-8 bytes (code point order)? C and
/// POSIX, the builtin provider (17 and later), and libc's `C.UTF-8` under glibc 2.35 and later,
/// whose collation is code point order (checked over every code point: docs/compatibility.md).
pub fn collation_sorts_bytes(collation: Oid) -> PgResult<bool> {
    // An ERROR for a missing collation is caught by `guard`.
    // SAFETY: a catalog read of the collation's (or the database's) entry, no pointers passed.
    guard(|| unsafe { sys::pgf_collation_sorts_bytes(collation) })
}

/// Does PostgreSQL compare text under the collation by memcmp (C and POSIX, `lc_collate_is_c`)?
/// The order of bytes in any server encoding, not only UTF-8's.
pub fn collation_is_c(collation: Oid) -> PgResult<bool> {
    // An ERROR for a missing collation is caught by `guard`.
    // SAFETY: a catalog read of the collation's (or the database's) entry; no pointers passed.
    guard(|| unsafe { sys::pgf_collation_is_c(collation) })
}

/// Is function `oid` volatile (`func_volatile`)?
pub fn function_is_volatile(oid: Oid) -> PgResult<bool> {
    // SAFETY: a catalog lookup (an ERROR for a missing function, caught).
    guard(|| unsafe { sys::func_volatile(oid) }).map(|v| v as u8 == b'v')
}

/// Is operator `oid`'s function volatile (`op_volatile`)?
pub fn operator_is_volatile(oid: Oid) -> PgResult<bool> {
    // SAFETY: a catalog lookup (an ERROR for a missing operator, caught).
    guard(|| unsafe { sys::op_volatile(oid) }).map(|v| v as u8 == b'v')
}

/// How values of type `typid` are stored: (`typlen`, `typbyval`).
pub fn type_layout(typid: Oid) -> PgResult<(i16, bool)> {
    let (mut len, mut byval) = (0i16, false);
    // SAFETY: a catalog lookup (an ERROR for a missing type, caught); writes the two locals.
    guard(|| unsafe { sys::get_typlenbyval(typid, &mut len, &mut byval) })?;
    Ok((len, byval))
}

/// A domain's base type and typmod, through every level of domains; a type that is not a
/// domain is its own base.
pub fn base_type(typid: Oid, typmod: i32) -> PgResult<(Oid, i32)> {
    let mut m = typmod;
    // SAFETY: a catalog lookup (an ERROR for a missing type, caught); writes the local.
    let base = guard(|| unsafe { sys::getBaseTypeAndTypmod(typid, &mut m) })?;
    Ok((base, m))
}

/// May a value of type `typid` cross to the worker as its bytes and come back unchanged (see
/// `ColumnType::Opaque`)? Base types, enums, ranges and multiranges, and domains over them: their
/// values hold no reference to session state. Not composites (a record's value names a typmod
/// that only this backend has blessed), pseudo-types, nor C strings.
pub fn type_is_carried(typid: Oid) -> PgResult<bool> {
    let (base, _) = base_type(typid, -1)?;
    if base == sys::RECORDOID || base == sys::RECORDARRAYOID {
        return Ok(false);
    }
    // SAFETY: a catalog lookup (an ERROR for a missing type, caught).
    let kind = guard(|| unsafe { sys::get_typtype(base) })? as u8;
    let carried = [sys::TYPTYPE_BASE, sys::TYPTYPE_ENUM, sys::TYPTYPE_RANGE, sys::TYPTYPE_MULTIRANGE];
    if !carried.contains(&kind) {
        return Ok(false);
    }
    Ok(type_layout(base)?.0 != -2)
}

/// PostgreSQL's estimate of a table's (or materialized view's) rows, as its planner makes it;
/// None for a relation without table storage (a partitioned table) or with inheritance children
/// (a scan of it may read them).
pub fn relation_rows(relid: Oid) -> PgResult<Option<f64>> {
    // SAFETY: opens the relation under AccessShareLock (the query being planned holds it already).
    let rows = guard(|| unsafe { sys::pgf_relation_rows(relid) })?;
    Ok((rows >= 0.0).then_some(rows))
}

/// What the catalogs hold for a column's estimates (see [`column_statistics`]).
pub struct ColumnStatistics {
    /// pg_statistic's `stadistinct` and `stanullfrac`; None without statistics.
    pub distinct_nulls: Option<(f32, f32)>,
    /// pg_class's `reltuples`: None before any ANALYZE.
    pub reltuples: Option<f64>,
}

/// pg_statistic's `stadistinct` and `stanullfrac` of a column (`inh`: over its inheritance
/// children too), as the planner reads them, and its relation's `reltuples`.
pub fn column_statistics(relid: Oid, attno: i16, inh: bool) -> PgResult<ColumnStatistics> {
    let (mut distinct, mut nulls, mut tuples) = (0f32, 0f32, -1f32);
    let (d, n, t) = (&mut distinct as *mut f32, &mut nulls as *mut f32, &mut tuples as *mut f32);
    // SAFETY: catalog lookups writing three floats that outlive the call (errors are caught).
    let found = guard(|| unsafe { sys::pgf_column_statistics(relid, attno, inh, d, n, t) })?;
    Ok(ColumnStatistics {
        distinct_nulls: found.then_some((distinct, nulls)),
        reltuples: (tuples >= 0.0).then_some(f64::from(tuples)),
    })
}

/// The correlation ANALYZE measured between a column and its table's physical order (-1 .. 1:
/// rows in index order lie on consecutive pages near ±1), as btcostestimate reads it; None
/// without statistics.
pub fn column_correlation(relid: Oid, attno: i16, inh: bool) -> PgResult<Option<f64>> {
    let mut correlation = 0f32;
    let c = &mut correlation as *mut f32;
    // SAFETY: a catalog lookup writing one float that outlives the call (errors are caught).
    let found = guard(|| unsafe { sys::pgf_column_correlation(relid, attno, inh, c) })?;
    Ok((found && correlation.is_finite()).then_some(f64::from(correlation.clamp(-1.0, 1.0))))
}

/// The columns (attribute numbers) of a relation's primary key, as PostgreSQL's functional
/// dependency check reads them (`get_primary_key_attnos`, not deferrable); empty without one.
pub fn primary_key_attnos(relid: Oid) -> PgResult<Vec<i16>> {
    let mut out = [0i16; 32];
    let (p, max) = (out.as_mut_ptr(), out.len() as i32);
    // SAFETY: a catalog lookup; at most `max` entries written into `out`, which outlives the call.
    let n = guard(|| unsafe { sys::pgf_primary_key_attnos(relid, p, max) })?;
    // PostgreSQL's keys have at most 32 columns (INDEX_MAX_KEYS).
    let n = usize::try_from(n).map_err(|_| PgError::internal("primary key of more than 32 columns"))?;
    Ok(out[..n].to_vec())
}

/// Is the collation deterministic (equal only when bytewise equal)?
pub fn collation_is_deterministic(collation: Oid) -> PgResult<bool> {
    // SAFETY: catalog lookup (an ERROR for a missing collation, caught).
    guard(|| unsafe { sys::get_collation_isdeterministic(collation) })
}

/// Is the current database's encoding UTF8?
pub fn database_is_utf8() -> bool {
    // SAFETY: reads the database encoding, set at connection start.
    unsafe { sys::pgf_database_encoding() == sys::pg_enc_PG_UTF8 as i32 }
}

/// Is column `attno` of relation `relid` declared NOT NULL in every row a scan of it reads (not
/// for an inheritance parent, whose children may hold NULLs)?
pub fn attnotnull(relid: Oid, attno: i16) -> PgResult<bool> {
    // SAFETY: a catalog lookup (errors are caught).
    guard(|| unsafe { sys::pgf_attnotnull(relid, attno) })
}

/// Relation kinds (`pg_class.relkind`, as `RangeTblEntry::relkind` reads them).
pub const RELKIND_RELATION: u8 = sys::RELKIND_RELATION;
pub const RELKIND_MATVIEW: u8 = sys::RELKIND_MATVIEW;
pub const RELKIND_PARTITIONED_TABLE: u8 = sys::RELKIND_PARTITIONED_TABLE;

/// `schema.name` of a relation, each part quoted where SQL needs it (`quote_identifier`): for
/// display only (EXPLAIN), never parsed again.
pub fn qualified_relation_name(relid: Oid) -> PgResult<String> {
    // SAFETY: catalog lookups (NULL for a missing relation: empty names).
    let (nspname, relname) = guard(|| unsafe {
        (cstr(sys::get_namespace_name(sys::get_rel_namespace(relid))), cstr(sys::get_rel_name(relid)))
    })?;
    Ok(format!("{}.{}", quoted_identifier(&nspname)?, quoted_identifier(&relname)?))
}

/// `s` quoted where SQL needs it (`quote_identifier`), for display.
pub fn quoted_identifier(s: &str) -> PgResult<String> {
    let c = std::ffi::CString::new(s).map_err(|e| super::PgError::internal(e.to_string()))?;
    let p = c.as_ptr();
    // SAFETY: quote_identifier returns its argument or a palloc'd quoted copy; `c` outlives the call.
    guard(|| unsafe { cstr(sys::quote_identifier(p)) })
}

/// Is function `f` strict (`func_strict`: NULL for any NULL argument)?
pub fn func_strict(f: Oid) -> PgResult<bool> {
    // SAFETY: a catalog lookup (an ERROR for a missing function, caught).
    guard(|| unsafe { sys::func_strict(f) })
}

/// The negator of operator `op` (`get_negator`); 0 when it has none.
pub fn negator(op: Oid) -> PgResult<Oid> {
    // SAFETY: a catalog lookup; 0 when missing.
    guard(|| unsafe { sys::get_negator(op) })
}

/// A type's default ordering and equality operators, as the type cache gives them for sorting
/// and grouping (`lookup_type_cache` with `TYPECACHE_LT_OPR | TYPECACHE_EQ_OPR |
/// TYPECACHE_HASH_PROC`): (`<`, `=`, hashable), an operator 0 when the type has none.
pub fn type_grouping_operators(typ: Oid) -> PgResult<(Oid, Oid, bool)> {
    let flags = (sys::TYPECACHE_LT_OPR | sys::TYPECACHE_EQ_OPR | sys::TYPECACHE_HASH_PROC) as i32;
    // SAFETY: a type cache lookup (an unknown type OID raises, caught); the entry lives as long as the backend's type cache.
    guard(|| unsafe {
        let entry = sys::lookup_type_cache(typ, flags);
        ((*entry).lt_opr, (*entry).eq_opr, (*entry).hash_proc != 0)
    })
}

/// Does some valid index of relation `relid` have column `attno` as its first key column? The
/// relation is opened without a lock (the caller's query holds one since parse analysis).
pub fn index_leads_with(relid: Oid, attno: i16) -> PgResult<bool> {
    // One guarded call: nothing of ours is live while PostgreSQL may raise.
    // SAFETY: the relation and its indexes are opened and closed within the call; the index list is read as PostgreSQL returns it.
    guard(|| unsafe {
        let rel = sys::table_open(relid, sys::NoLock as i32);
        let indexes = sys::RelationGetIndexList(rel);
        let mut found = false;
        for i in 0..sys::pgf_list_length(indexes) {
            let index = sys::index_open(sys::pgf_list_nth_oid(indexes, i), sys::AccessShareLock as i32);
            let form = (*index).rd_index;
            if !form.is_null() && (*form).indnkeyatts > 0 && (*form).indisvalid {
                found |= *(*form).indkey.values.as_ptr() == attno;
            }
            sys::index_close(index, sys::AccessShareLock as i32);
        }
        sys::table_close(rel, sys::NoLock as i32);
        found
    })
}

/// The role this session logged in as (`GetSessionUserId`: not changed by `SET ROLE` or a
/// security-definer function).
pub fn session_role() -> Oid {
    // SAFETY: reads a backend global set at connection start.
    unsafe { sys::GetSessionUserId() }
}
