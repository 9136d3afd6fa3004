//! Requesting and attaching the shared segment (the PostgreSQL side of `crate::shm`).
//!
//! Rules:
//! - The layout is fixed in `_PG_init` from the postmaster-level settings ([`fix_layout`]), before
//!   the hooks run; the request hook and every attach use that same [`Layout`].
//! - The base address is per process (inherited across fork from the postmaster, replaced when the
//!   postmaster re-creates shared memory after a crash), so it lives in a process-local atomic, and
//!   the segment itself stores only offsets.

use std::ffi::{c_char, c_void};
use std::panic::catch_unwind;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::OnceLock;

use super::error::{PgError, PgResult, SqlState};
use crate::shm::segment::AttachError;
use crate::shm::{Layout, Segment};

static LAYOUT: OnceLock<Layout> = OnceLock::new();
static BASE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static SIZE: AtomicUsize = AtomicUsize::new(0);

/// Compute the layout from the settings; an impossible configuration names its setting.
pub fn fix_layout() -> PgResult<()> {
    let layout = Layout::new(super::guc::layout_config()).map_err(|e| {
        PgError::new(SqlState::INVALID_PARAMETER_VALUE, format!("invalid shared memory configuration: {e}"))
            .with_hint("Fix the pg_fusion settings in postgresql.conf and restart the server.")
    })?;
    let _ = LAYOUT.set(layout);
    Ok(())
}

/// Called by the C shim's shmem_request_hook.
#[no_mangle]
pub extern "C" fn pgf_rs_segment_size() -> usize {
    LAYOUT.get().map_or(0, |l| l.total_size)
}

/// Called by the C shim's shmem_startup_hook under AddinShmemInitLock. Returns NULL on success or
/// a static message the shim reports as FATAL.
#[no_mangle]
pub extern "C" fn pgf_rs_segment_attach(base: *mut c_void, size: usize, found: bool) -> *const c_char {
    let result = catch_unwind(|| -> Result<(), &'static std::ffi::CStr> {
        let layout = *LAYOUT.get().ok_or(c"layout not computed (library not preloaded?)")?;
        // SAFETY: ShmemInitStruct returned `size` bytes at `base` (MAXALIGNed by PostgreSQL; the
        // shmem allocator hands out cache-line aligned chunks), mapped for the process lifetime.
        let seg = unsafe { Segment::from_raw(base as *mut u8, size, layout) }
            .map_err(|_| c"segment smaller than its layout")?;
        if !found {
            seg.initialize();
        }
        seg.validate().map_err(|e| match e {
            AttachError::ConfigMismatch => c"segment was laid out with other settings",
            AttachError::VersionMismatch { .. } => c"segment layout version differs",
            _ => c"segment header is invalid",
        })?;
        BASE.store(base as *mut u8, Ordering::Release);
        SIZE.store(size, Ordering::Release);
        Ok(())
    });
    match result {
        Ok(Ok(())) => std::ptr::null(),
        Ok(Err(msg)) => msg.as_ptr(),
        Err(_) => c"panic while attaching".as_ptr(),
    }
}

/// This process's view of the segment.
pub fn segment() -> PgResult<Segment> {
    let base = BASE.load(Ordering::Acquire);
    let layout = LAYOUT.get();
    match (base.is_null(), layout) {
        (false, Some(layout)) => {
            // SAFETY: `base` was set by the startup hook for this process's mapping of `SIZE` bytes,
            // which stays mapped for the life of the process.
            unsafe { Segment::from_raw(base, SIZE.load(Ordering::Acquire), *layout) }
                .map_err(|_| PgError::internal("shared segment smaller than its layout"))
        }
        _ => {
            Err(PgError::new(SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE, "shared memory is not initialized")
                .with_hint(
                    "Add pg_fusion to shared_preload_libraries in postgresql.conf and restart the server.",
                ))
        }
    }
}
