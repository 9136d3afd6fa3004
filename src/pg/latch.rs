//! Latches, interrupts and process identity.
//!
//! A party is woken by setting its latch, found through the segment's wakeup registry by PGPROC
//! number (see `crate::shm::slots`). Only the thread PostgreSQL started may call these.

use std::sync::atomic::{AtomicU32, Ordering};

use super::error::{guard, PgResult};
use super::sys;
use crate::shm::Wakeup;

/// What a pg_fusion process waits for, as `pg_stat_activity.wait_event` names it: type
/// `Extension`, and from PostgreSQL 17 on these names (custom wait events); before 17 the event
/// is `Extension` itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitEvent {
    /// A backend waiting for a control slot (all held, or its role's share).
    ControlSlot,
    /// A query waiting in the admission queue for scan slots, pages, a task or a memory share.
    Admission,
    /// A backend waiting for free pages to write a message to the worker.
    Pages,
    /// A backend waiting for the worker: its reply, or room in the control ring.
    Worker,
    /// A query's leader between scan batches and result pages.
    Scan,
    /// A parallel scan producer waiting for credits.
    ParallelScan,
    /// The worker's main loop with nothing to do.
    WorkerMain,
}

impl WaitEvent {
    pub const ALL: [WaitEvent; 7] = [
        WaitEvent::ControlSlot,
        WaitEvent::Admission,
        WaitEvent::Pages,
        WaitEvent::Worker,
        WaitEvent::Scan,
        WaitEvent::ParallelScan,
        WaitEvent::WorkerMain,
    ];

    pub fn name(self) -> &'static std::ffi::CStr {
        match self {
            WaitEvent::ControlSlot => c"PgFusionControlSlot",
            WaitEvent::Admission => c"PgFusionAdmission",
            WaitEvent::Pages => c"PgFusionPages",
            WaitEvent::Worker => c"PgFusionWorker",
            WaitEvent::Scan => c"PgFusionScan",
            WaitEvent::ParallelScan => c"PgFusionParallelScan",
            WaitEvent::WorkerMain => c"PgFusionWorkerMain",
        }
    }

    /// The event's `wait_event_info`, registered on first use in this process (0: not yet).
    fn info(self) -> PgResult<u32> {
        static INFO: [AtomicU32; WaitEvent::ALL.len()] = [const { AtomicU32::new(0) }; WaitEvent::ALL.len()];
        let cell = &INFO[self as usize];
        match cell.load(Ordering::Relaxed) {
            0 => {
                let name = self.name().as_ptr();
                // Registering takes a lock in shared memory and may raise an ERROR (too many
                // events), which guard catches.
                // SAFETY: `name` is a NUL-terminated static string; no Rust frame owns anything across the call.
                let info = guard(|| unsafe { sys::pgf_wait_event(name) })?;
                cell.store(info, Ordering::Relaxed);
                Ok(info)
            }
            info => Ok(info),
        }
    }
}

/// Register every wait event name (the worker does at start, so that `pg_wait_events` lists
/// them from then on).
pub fn register_wait_events() -> PgResult<()> {
    WaitEvent::ALL.iter().try_for_each(|e| e.info().map(|_| ()))
}

/// Wait on this process's latch for at most `timeout_ms`, shown as `event`. Exits the process
/// if the postmaster died. Returns true when the latch was set (and resets it).
pub fn wait_my_latch(timeout_ms: i64, event: WaitEvent) -> PgResult<bool> {
    let events = (sys::WL_LATCH_SET | sys::WL_TIMEOUT | sys::WL_EXIT_ON_PM_DEATH) as i32;
    let info = event.info()?;
    // SAFETY: MyLatch is initialised in every process that runs pg_fusion code.
    let rc = guard(|| unsafe { sys::pgf_wait_my_latch(events, timeout_ms as _, info) })?;
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
