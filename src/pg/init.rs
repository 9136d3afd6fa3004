//! The module's entry points: `PG_MODULE_MAGIC` and `_PG_init`.
//!
//! Rules: `_PG_init` reads top to bottom (check the preload, define the settings, fix the
//! segment's layout, chain the hooks, register the worker), every step in the module that owns
//! it; it runs once per process, during `shared_preload_libraries` processing.

use super::entry::entry;
use super::error::{PgError, PgResult, SqlState};
use super::sys;

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
