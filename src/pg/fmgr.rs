//! SQL-callable functions: the V1 calling convention and set-returning helpers.

use std::ffi::c_char;

use super::error::{guard, PgResult};
use super::sys;

pub use sys::{Datum, FunctionCallInfo};

/// Declare `pg_finfo_<name>` for a version-1 C function.
#[macro_export]
macro_rules! pg_function_info_v1 {
    ($finfo:ident) => {
        #[no_mangle]
        pub extern "C" fn $finfo() -> *const $crate::pg::fmgr::FinfoRecord {
            static RECORD: $crate::pg::fmgr::FinfoRecord = $crate::pg::fmgr::FinfoRecord::V1;
            &RECORD
        }
    };
}

/// `Pg_finfo_record` with `api_version = 1`.
#[repr(transparent)]
pub struct FinfoRecord(sys::Pg_finfo_record);

// SAFETY: a plain integer record PostgreSQL only reads.
unsafe impl Sync for FinfoRecord {}

impl FinfoRecord {
    pub const V1: FinfoRecord = FinfoRecord(sys::Pg_finfo_record { api_version: 1 });
}

/// A materialized set-returning function's output.
pub struct SrfWriter {
    fcinfo: FunctionCallInfo,
}

impl SrfWriter {
    /// InitMaterializedSRF: the tuple descriptor comes from the function's declared result.
    pub fn new(fcinfo: FunctionCallInfo) -> PgResult<SrfWriter> {
        // SAFETY: fcinfo is the call's own, passed by PostgreSQL to a set-returning function.
        guard(|| unsafe { sys::pgf_srf_init(fcinfo) })?;
        Ok(SrfWriter { fcinfo })
    }

    pub fn put(&mut self, values: &mut [Datum], nulls: &mut [bool]) -> PgResult<()> {
        let fcinfo = self.fcinfo;
        let (v, n) = (values.as_mut_ptr(), nulls.as_mut_ptr());
        // SAFETY: arrays match the declared result's arity (the caller's contract).
        guard(|| unsafe { sys::pgf_srf_put(fcinfo, v, n) })
    }
}

/// A `text` datum (palloc'd in the current memory context).
pub fn text_datum(s: &str) -> PgResult<Datum> {
    let p = s.as_ptr() as *const c_char;
    let len = s.len() as i32;
    // SAFETY: `p` points to `len` bytes; cstring_to_text_with_len copies them.
    let t = guard(|| unsafe { sys::cstring_to_text_with_len(p, len) })?;
    Ok(t as Datum)
}

pub fn int64_datum(v: i64) -> Datum {
    // int8 is pass-by-value on 64-bit builds (USE_FLOAT8_BYVAL), the only ones pg_fusion supports.
    v as Datum
}

const _: () = assert!(std::mem::size_of::<Datum>() == 8, "pg_fusion needs a 64-bit PostgreSQL");
