//! Process-exit cleanup: a backend that exits (or is terminated) while it owns slots gives them,
//! and their pages, back.

use super::sys;

/// The cleanup registered with the exit callback (see [`register_cleanup`]).
static CLEANUP: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

extern "C" fn on_exit(_code: i32, _arg: sys::Datum) {
    // Never unwind into PostgreSQL's exit path.
    let _ = std::panic::catch_unwind(|| {
        if let Some(cleanup) = CLEANUP.get() {
            cleanup();
        }
    });
}

/// Run `cleanup` when this process exits, however it exits (registered once per process, before
/// the first slot is claimed; later registrations keep the first cleanup).
pub fn register_cleanup(cleanup: fn()) {
    if CLEANUP.set(cleanup).is_ok() {
        // SAFETY: before_shmem_exit only appends to a fixed-size array; it raises only when that
        // array is full (20 entries), which pg_fusion's single registration cannot cause alone.
        unsafe { sys::before_shmem_exit(Some(on_exit), 0) };
    }
}
