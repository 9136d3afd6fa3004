//! Registering the pg_fusion worker and its entry point.

use std::ffi::c_char;

use super::error::{guard, PgResult};
use super::sys;

/// Seconds the postmaster waits before restarting a worker that exited abnormally.
const RESTART_SECONDS: i32 = 1;

fn copy_name(dst: &mut [c_char], src: &str) {
    let n = src.len().min(dst.len() - 1);
    for (d, s) in dst.iter_mut().zip(src.bytes().take(n)) {
        *d = s as c_char;
    }
    dst[n] = 0;
}

/// Register the one pg_fusion worker (during shared_preload_libraries).
pub fn register_worker() -> PgResult<()> {
    let mut w = sys::BackgroundWorker::default();
    copy_name(&mut w.bgw_name, "pg_fusion worker");
    copy_name(&mut w.bgw_type, "pg_fusion worker");
    copy_name(&mut w.bgw_library_name, "pg_fusion");
    // `crate::worker::pg_fusion_worker_main`.
    copy_name(&mut w.bgw_function_name, "pg_fusion_worker_main");
    // A database-less connection gives the worker a pg_stat_activity row; it reads no catalog.
    w.bgw_flags = (sys::BGWORKER_SHMEM_ACCESS | sys::BGWORKER_BACKEND_DATABASE_CONNECTION) as i32;
    // Consistent state: a hot standby can run pg_fusion queries too.
    w.bgw_start_time = sys::BgWorkerStartTime_BgWorkerStart_ConsistentState;
    w.bgw_restart_time = RESTART_SECONDS;
    // SAFETY: `w` is fully initialised; RegisterBackgroundWorker copies it.
    guard(|| unsafe { sys::RegisterBackgroundWorker(&mut w) })
}

/// Install the worker's signal handlers and unblock signals.
pub fn worker_signals() {
    // SAFETY: called once at worker start, before anything waits on the latch.
    unsafe { sys::pgf_worker_install_signals() }
}

/// Connect to no database (shared catalogs only): makes the worker visible in pg_stat_activity.
pub fn connect_without_database() -> PgResult<()> {
    // SAFETY: called once in the worker after unblocking signals, as bgworker.h requires.
    guard(|| unsafe { sys::BackgroundWorkerInitializeConnection(std::ptr::null(), std::ptr::null(), 0) })
}

/// SIGTERM received?
pub fn shutdown_requested() -> bool {
    // SAFETY: reads a sig_atomic_t flag.
    unsafe { sys::pgf_shutdown_requested() }
}

/// Exit the process with `code` (1 = restart me after RESTART_SECONDS).
pub fn exit(code: i32) -> ! {
    // SAFETY: proc_exit runs PostgreSQL's exit callbacks and does not return.
    unsafe { sys::proc_exit(code) };
    #[allow(unreachable_code)]
    std::process::abort()
}
