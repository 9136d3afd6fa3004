//! Entry points PostgreSQL calls: module magic, `_PG_init`, and the shell every callback uses.
//!
//! Rules: every `extern "C"` function PostgreSQL calls is a one-line shell around [`entry`], which
//! runs the body under `catch_unwind` and re-raises an error only after the body's frames (and
//! everything they own) are gone.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{panic_message, raise, PgError, PgResult, SqlState};
use super::sys;

/// Run an entry point's body; turn its error or panic into a PostgreSQL ERROR.
pub fn entry<R>(body: impl FnOnce() -> PgResult<R>) -> R {
    let err = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => return v,
        Ok(Err(e)) => e,
        Err(panic) => PgError::internal(panic_message(panic)),
    };
    raise(err)
}

/// `PG_MODULE_MAGIC`, re-exported under the name PostgreSQL looks up (the C shim holds the data).
#[no_mangle]
pub extern "C" fn Pg_magic_func() -> *const sys::Pg_magic_struct {
    // SAFETY: returns a pointer to a static in the C shim.
    unsafe { sys::pgf_module_magic() }
}

#[no_mangle]
pub extern "C" fn _PG_init() {
    entry(pg_init)
}

/// Top to bottom: check preload, define settings, fix the layout, install hooks, register the
/// worker.
fn pg_init() -> PgResult<()> {
    // SAFETY: plain read of a postmaster global.
    if !unsafe { sys::process_shared_preload_libraries_in_progress } {
        return Err(PgError::new(
            SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
            "must be loaded via shared_preload_libraries",
        )
        .with_hint("Add pg_fusion to shared_preload_libraries in postgresql.conf and restart the server."));
    }
    super::guc::define_all()?;
    super::shmem::fix_layout()?;
    // SAFETY: called once, from _PG_init during shared_preload_libraries processing.
    unsafe { sys::pgf_install_shmem_hooks() };
    super::hooks::install();
    super::bgworker::register_worker()
}
