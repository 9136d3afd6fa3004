//! Process-exit cleanup: a backend that exits (or is terminated) while it owns slots gives them,
//! and their pages, back.

use std::sync::atomic::{AtomicBool, Ordering};

use super::sys;

static REGISTERED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_exit(_code: i32, _arg: sys::Datum) {
    // Never unwind into PostgreSQL's exit path.
    let _ = std::panic::catch_unwind(|| {
        if let Ok(seg) = super::shmem::segment() {
            crate::control::release_owned_by(&seg, super::latch::my_pid());
        }
    });
}

/// Register the exit callback once per process (before the first slot is claimed).
pub fn register_cleanup() {
    if !REGISTERED.swap(true, Ordering::Relaxed) {
        // SAFETY: before_shmem_exit only appends to a fixed-size array; it raises only when that
        // array is full (20 entries), which pg_fusion's single registration cannot cause alone.
        unsafe { sys::before_shmem_exit(Some(on_exit), 0) };
    }
}
