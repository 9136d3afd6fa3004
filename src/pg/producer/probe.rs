//! A producer reading its leaf through an index, by the keys of a hash join's build side
//! (`crate::index_probe` decides; `crate::pg::leaf::ProbePlan` is the plan).
//!
//! Rules:
//! - The worker sends `ScanMsg::Probe` before the producer's first credit, so no row of the
//!   leaf's own plan was sent: the producer ends that plan (the row it kept aside goes with it)
//!   and runs the probe plan instead, once per batch of keys. Zero batches: it reads nothing.
//! - Each batch is one filter slot of keys (`ScanMsg::Keys`, `crate::shm::filter`). Every
//!   producer of the leaf (the leader and its parallel workers) gets every batch, and runs the
//!   ones it claims first (`FilterSlot::claim_keys`: each exactly once), copied out when it
//!   claims them; a producer ends once every batch came and each was run by it or claimed by
//!   another. So every batch runs once while any producer runs (the leader always does: it
//!   never ends before the worker decided, see `super`), however many workers started. A slot
//!   that no longer holds its keys means the query is over (the probe ends), one holding
//!   another count than the message says is a protocol violation.
//! - A batch is the probe plan's key parameter (`$paramid`, an array of the key column's type;
//!   keys outside the type's range cannot equal a value of the column and are left out); the
//!   statement's own parameters the leaf reads are copied before it (fetched through the
//!   list's hook where it has one, as PL/pgSQL's lists do). The next batch is a rescan with
//!   the next array: the index scan evaluates its keys again on every rescan.

use std::collections::VecDeque;

use crate::pg::error::{guard, PgError, PgResult, SqlState};
use crate::pg::leaf::ProbePlan;
use crate::pg::sys;
use crate::shm::{Claim, Segment};

/// The probe a producer runs.
pub(super) struct Probing {
    pub(super) plan: ProbePlan,
    /// Batches announced, and received so far.
    pub(super) batches: u32,
    pub(super) received: u32,
    /// Batches received and not run yet: their filter slots (index, generation, key count).
    pub(super) queue: VecDeque<(u32, u32, u32)>,
    /// The parameter list the probe plan runs with (NULL before its first batch).
    pub(super) params: sys::ParamListInfo,
    /// The current batch's array (freed when the next one replaces it).
    pub(super) array: sys::Datum,
    /// The current batch's rows have all been read.
    pub(super) batch_done: bool,
    /// Registered as a page waiter while no batch is here yet.
    pub(super) waiting: bool,
}

impl Probing {
    pub(super) fn new(plan: ProbePlan, batches: u32) -> Probing {
        Probing {
            plan,
            batches,
            received: 0,
            queue: VecDeque::new(),
            params: std::ptr::null_mut(),
            array: 0,
            batch_done: false,
            waiting: false,
        }
    }

    /// Every announced batch came.
    pub(super) fn all_received(&self) -> bool {
        self.received >= self.batches
    }
}

/// Claim the `count` keys of filter slot `index` of `generation` to run them
/// (`crate::shm::filter`): `Mine` with them, `Taken` when another producer of the leaf runs
/// them, `Gone` when the slot no longer holds them (freed with the query's plan: the query is
/// over).
pub(super) fn claim_keys(seg: Segment, index: u32, generation: u32, count: u32) -> PgResult<Claim> {
    let Some(slot) = seg.filter(index) else { return Ok(Claim::Gone) };
    let claim = slot.claim_keys(generation);
    if let Claim::Mine(keys) = &claim {
        if keys.len() != count as usize || keys.is_empty() {
            return Err(PgError::new(
                SqlState::PROTOCOL_VIOLATION,
                "index-probe keys differ from their count",
            ));
        }
    }
    Ok(claim)
}

/// The array of `keys` as a datum of `elem`'s array type, in `memory` (keys outside `elem`'s
/// range left out: no value of the column equals them).
pub(super) fn key_array(keys: &[i64], elem: sys::Oid, memory: sys::MemoryContext) -> PgResult<sys::Datum> {
    let (datums, len, align): (Vec<sys::Datum>, i32, u8) = match elem {
        sys::INT2OID => (
            keys.iter().filter_map(|&k| i16::try_from(k).ok()).map(|v| v as i64 as sys::Datum).collect(),
            2,
            b's',
        ),
        sys::INT4OID => (
            keys.iter().filter_map(|&k| i32::try_from(k).ok()).map(|v| v as i64 as sys::Datum).collect(),
            4,
            b'i',
        ),
        sys::INT8OID => (keys.iter().map(|&k| k as sys::Datum).collect(), 8, b'd'),
        _ => return Err(PgError::internal("an index probe of a type that is not an integer")),
    };
    let n = i32::try_from(datums.len()).map_err(|_| PgError::internal("too many probe keys"))?;
    let p = datums.as_ptr() as *mut sys::Datum;
    // SAFETY: reads the backend's current memory context.
    let old = unsafe { sys::CurrentMemoryContext };
    // The array is allocated in `memory` (the statement's executor memory).
    // SAFETY: `datums` holds `n` by-value datums of `elem` and outlives the call.
    let array = guard(|| unsafe {
        sys::CurrentMemoryContext = memory;
        sys::construct_array(p, n, elem, len, true, align as std::ffi::c_char) as sys::Datum
    });
    // SAFETY: restores the context current before the call, whether it raised or not.
    unsafe { sys::CurrentMemoryContext = old };
    array
}

/// A parameter list for the probe plan: the statement's parameters `1..paramid` as `from` has
/// them, then `array` (of `array_type`) at `paramid`; in `memory`.
pub(super) fn params_with(
    from: sys::ParamListInfo,
    paramid: i32,
    array_type: sys::Oid,
    array: sys::Datum,
    memory: sys::MemoryContext,
) -> PgResult<sys::ParamListInfo> {
    if paramid < 1 {
        return Err(PgError::internal("index probe parameter number"));
    }
    // SAFETY: reads the backend's current memory context.
    let old = unsafe { sys::CurrentMemoryContext };
    // `from` is read as the executor reads it (through its fetch hook when it has one). The copy
    // is shallow: a by-reference value stays where the statement's list keeps it, for as long
    // as the statement runs. A fetch hook's ERROR is caught by `guard`; nothing of ours is live.
    // SAFETY: makeParamList allocates `paramid` entries, each written below; `from` is valid or NULL.
    let list = guard(|| unsafe {
        sys::CurrentMemoryContext = memory;
        let list = sys::makeParamList(paramid);
        let dst = (*list).params.as_mut_ptr();
        for i in 0..paramid - 1 {
            let d = &mut *dst.add(i as usize);
            *d = sys::ParamExternData { value: 0, isnull: true, pflags: 0, ptype: 0 };
            if from.is_null() || i >= (*from).numParams {
                continue;
            }
            let src = match (*from).paramFetch {
                Some(fetch) => {
                    let mut workspace = sys::ParamExternData { value: 0, isnull: true, pflags: 0, ptype: 0 };
                    fetch(from, i + 1, false, &mut workspace)
                }
                None => (*from).params.as_mut_ptr().add(i as usize),
            };
            if !src.is_null() {
                *d = *src;
            }
        }
        *dst.add((paramid - 1) as usize) = sys::ParamExternData {
            value: array,
            isnull: false,
            pflags: sys::PARAM_FLAG_CONST as u16,
            ptype: array_type,
        };
        list
    });
    // SAFETY: restores the context current before the call, whether it raised or not.
    unsafe { sys::CurrentMemoryContext = old };
    list
}

/// The array type of an index probe's key type.
pub(super) fn array_type(elem: sys::Oid) -> PgResult<sys::Oid> {
    match elem {
        sys::INT2OID => Ok(sys::INT2ARRAYOID),
        sys::INT4OID => Ok(sys::INT4ARRAYOID),
        sys::INT8OID => Ok(sys::INT8ARRAYOID),
        _ => Err(PgError::internal("an index probe of a type that is not an integer")),
    }
}
