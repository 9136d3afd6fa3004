//! The shell every callback PostgreSQL calls runs its body in.
//!
//! Rules: every `extern "C"` function PostgreSQL calls is a one-line shell around [`entry`], which
//! runs the body under `catch_unwind` and re-raises an error only after the body's frames (and
//! everything they own) are gone.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{panic_message, raise, PgError, PgResult};

/// Run an entry point's body; turn its error or panic into a PostgreSQL ERROR.
pub fn entry<R>(body: impl FnOnce() -> PgResult<R>) -> R {
    let err = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => return v,
        Ok(Err(e)) => e,
        Err(panic) => PgError::internal(panic_message(panic)),
    };
    raise(err)
}
