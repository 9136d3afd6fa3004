//! Latches, interrupts and process identity.
//!
//! A party is woken by setting its latch, found through the segment's wakeup registry by PGPROC
//! number (see `crate::shm::slots`). Only the thread PostgreSQL started may call these.

use super::error::{guard, PgResult};
use super::sys;
use crate::shm::Wakeup;

/// Wait on this process's latch for at most `timeout_ms`. Exits the process if the postmaster died.
/// Returns true when the latch was set (and resets it).
pub fn wait_my_latch(timeout_ms: i64) -> PgResult<bool> {
    let events = (sys::WL_LATCH_SET | sys::WL_TIMEOUT | sys::WL_EXIT_ON_PM_DEATH) as i32;
    // SAFETY: MyLatch is initialised in every process that runs pg_fusion code.
    let rc = guard(|| unsafe { sys::pgf_wait_my_latch(events, timeout_ms as _, sys::PG_WAIT_EXTENSION) })?;
    let set = rc & sys::WL_LATCH_SET as i32 != 0;
    if set {
        // SAFETY: as above; ResetLatch cannot raise.
        unsafe { sys::pgf_reset_my_latch() };
    }
    Ok(set)
}

/// Set the latch of the process registered in `w`.
pub fn wake(w: Wakeup) {
    // SAFETY: the shim bounds-checks procno against ProcGlobal; SetLatch cannot raise.
    unsafe { sys::pgf_set_latch_of_procno(w.procno) }
}

/// CHECK_FOR_INTERRUPTS(): a pending cancel or termination comes back as an error value.
pub fn check_for_interrupts() -> PgResult<()> {
    // SAFETY: plain call; an ERROR it raises is caught by guard.
    guard(|| unsafe { sys::pgf_check_for_interrupts() })
}

/// This process's wakeup entry value.
pub fn me() -> Wakeup {
    // SAFETY: plain reads of process globals.
    unsafe { Wakeup { procno: sys::pgf_my_procno(), pid: sys::MyProcPid } }
}

pub fn my_pid() -> i32 {
    // SAFETY: plain read of a process global set at process start.
    unsafe { sys::MyProcPid }
}
