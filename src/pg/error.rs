//! PostgreSQL errors as Rust values, and the only two ways back to PostgreSQL's longjmp.
//!
//! Rules (the FFI boundary):
//! - A call into PostgreSQL that may raise ERROR goes through [`guard`], which runs it under the C
//!   shim's `PG_TRY` and returns the error as [`PgError::Caught`]. The closure passed to `guard`
//!   must own nothing that needs dropping: a longjmp out of it skips its destructors.
//! - An error travels up as a Rust value (`?`), dropping every resource on the way, to the
//!   `extern "C"` entry point, where [`raise`] re-raises it. `raise` first copies what it needs into
//!   palloc'd memory and drops the Rust value, so the longjmp crosses frames that own nothing.
//! - A caught ERROR ([`PgError::Caught`]) is never dropped nor taken for a refusal: PostgreSQL
//!   recovers from an ERROR (locks, pins, LWLocks, memory contexts) only by its own abort, so it
//!   goes up to the entry point and is re-raised ([`or_refused`] tells the two apart;
//!   `scripts/caught-errors.py` finds a `guard` result turned into a value on the spot).
//! - Messages follow PostgreSQL's style and carry the `pg_fusion:` prefix; every error has a
//!   SQLSTATE, and an error PostgreSQL raised keeps its own.

use std::ffi::{c_char, c_void, CStr};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::sys;
pub use crate::sqlstate::SqlState;

/// An error pg_fusion reports itself.
#[derive(Debug, Clone)]
pub struct Report {
    pub sqlstate: SqlState,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

/// An ERROR PostgreSQL raised, caught by [`guard`]: a palloc'd `ErrorData` copy.
pub struct Caught(*mut sys::ErrorData);

impl Caught {
    pub fn sqlstate(&self) -> SqlState {
        // SAFETY: `self.0` is the ErrorData copy made by pgf_try, alive in its memory context.
        SqlState(unsafe { sys::pgf_error_sqlstate(self.0) })
    }

    pub fn message(&self) -> String {
        // SAFETY: as above; `message` is NULL or a NUL-terminated string in the same context.
        let p = unsafe { sys::pgf_error_message(self.0) };
        if p.is_null() {
            return String::new();
        }
        // SAFETY: non-null, NUL-terminated (CopyErrorData pstrdup's it).
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

impl fmt::Debug for Caught {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Caught({:?}: {})", self.sqlstate(), self.message())
    }
}

#[derive(Debug)]
pub enum PgError {
    Report(Report),
    Caught(Caught),
}

pub type PgResult<T> = Result<T, PgError>;

impl Report {
    /// `pg_fusion: <message>` with `sqlstate`.
    pub fn new(sqlstate: SqlState, message: impl fmt::Display) -> Report {
        Report { sqlstate, message: format!("pg_fusion: {message}"), detail: None, hint: None }
    }
}

impl PgError {
    /// `pg_fusion: <message>` with `sqlstate`.
    pub fn new(sqlstate: SqlState, message: impl fmt::Display) -> PgError {
        PgError::Report(Report::new(sqlstate, message))
    }

    /// An ERROR PostgreSQL raised (and [`guard`] caught): it must reach an entry point and be
    /// re-raised, never be handled as a refusal.
    pub fn is_caught(&self) -> bool {
        matches!(self, PgError::Caught(_))
    }

    /// An error of PostgreSQL's own semantics that DataFusion met on PostgreSQL's behalf
    /// (division by zero, a value out of range, a subquery of more than one row): PostgreSQL's
    /// words, without the prefix, so the statement fails exactly as PostgreSQL's own plan would.
    pub fn postgres(sqlstate: SqlState, message: impl fmt::Display) -> PgError {
        PgError::Report(Report { sqlstate, message: message.to_string(), detail: None, hint: None })
    }

    pub fn internal(message: impl fmt::Display) -> PgError {
        PgError::new(SqlState::INTERNAL_ERROR, message)
    }

    pub fn unsupported(construct: impl fmt::Display) -> PgError {
        PgError::new(SqlState::FEATURE_NOT_SUPPORTED, format!("unsupported {construct}"))
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> PgError {
        if let PgError::Report(r) = &mut self {
            r.detail = Some(detail.into());
        }
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> PgError {
        if let PgError::Report(r) = &mut self {
            r.hint = Some(hint.into());
        }
        self
    }

    pub fn sqlstate(&self) -> SqlState {
        match self {
            PgError::Report(r) => r.sqlstate,
            PgError::Caught(c) => c.sqlstate(),
        }
    }

    pub fn message(&self) -> String {
        match self {
            PgError::Report(r) => r.message.clone(),
            PgError::Caught(c) => c.message(),
        }
    }
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?})", self.message(), self.sqlstate())
    }
}

struct TryState<F, R> {
    f: Option<F>,
    out: Option<std::thread::Result<R>>,
}

extern "C" fn trampoline<F: FnOnce() -> R, R>(arg: *mut c_void) {
    // SAFETY: `arg` is the `TryState<F, R>` that `guard` passed to pgf_try, alive on its stack.
    let state = unsafe { &mut *(arg as *mut TryState<F, R>) };
    if let Some(f) = state.f.take() {
        // No panic may unwind into C: catch it and hand it back to `guard`.
        state.out = Some(catch_unwind(AssertUnwindSafe(f)));
    }
}

/// A refusal of ours (`Report`) as `Ok(None)`, a value as `Ok(Some)`; an ERROR PostgreSQL raised
/// (`Caught`) goes up as it is, never taken for a refusal.
pub fn or_refused<T>(r: PgResult<T>) -> PgResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_caught() => Err(e),
        Err(_) => Ok(None),
    }
}

/// Run `f` (a call into PostgreSQL) under PG_TRY. An ERROR it raises comes back as
/// `Err(PgError::Caught)`; a panic inside it becomes an internal error.
///
/// `f` must own nothing that needs dropping: on ERROR its frame is skipped by longjmp.
pub fn guard<F: FnOnce() -> R, R>(f: F) -> PgResult<R> {
    let mut state = TryState { f: Some(f), out: None };
    // SAFETY: the trampoline matches the closure's type; `state` outlives the call.
    let edata =
        unsafe { sys::pgf_try(Some(trampoline::<F, R>), &mut state as *mut TryState<F, R> as *mut c_void) };
    if !edata.is_null() {
        return Err(PgError::Caught(Caught(edata)));
    }
    match state.out {
        Some(Ok(v)) => Ok(v),
        Some(Err(panic)) => Err(PgError::internal(panic_message(panic))),
        None => Err(PgError::internal("guarded call did not run")),
    }
}

pub fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    let msg = if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    };
    format!("internal error: {msg}")
}

/// Copy `s` into palloc'd memory of the current memory context (interior NULs dropped).
fn palloc_cstr(s: &str) -> *const c_char {
    let bytes: Vec<u8> = s.bytes().filter(|&b| b != 0).collect();
    // palloc can only fail on out-of-memory, which longjmps with nothing of ours left to leak but
    // `bytes`; acceptable on that path.
    // SAFETY: palloc returns at least len + 1 writable bytes or does not return.
    unsafe {
        let p = sys::palloc(bytes.len() + 1) as *mut u8;
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        *p.add(bytes.len()) = 0;
        p as *const c_char
    }
}

/// Raise `err` as a PostgreSQL ERROR. Call only from an entry point's outermost frame: every Rust
/// resource must already be dropped (this function drops `err` itself before the longjmp).
pub fn raise(err: PgError) -> ! {
    match err {
        // SAFETY: `c.0` came from pgf_try; re-raising it is exactly what it is for.
        PgError::Caught(c) => unsafe { sys::pgf_rethrow(c.0) },
        PgError::Report(r) => {
            let (msg, detail, hint) = (palloc_cstr(&r.message), opt_cstr(&r.detail), opt_cstr(&r.hint));
            let sqlstate = r.sqlstate.0;
            drop(r);
            // SAFETY: all strings are palloc'd and NUL-terminated; nothing Rust-owned is live.
            unsafe { sys::pgf_ereport(sys::ERROR as i32, sqlstate, msg, detail, hint) };
        }
    }
    // ereport(ERROR) and ReThrowError do not return.
    std::process::abort()
}

/// Report `r` at `elevel`, below ERROR (LOG, WARNING, DEBUG1, ...). The report runs under
/// [`guard`]: should it raise (out of memory, a hook), that ERROR comes back as `Err`, for the
/// caller to pass up to its entry point like any other (a caught ERROR is never dropped).
pub fn report(elevel: i32, r: Report) -> PgResult<()> {
    debug_assert!(elevel < sys::ERROR as i32, "report is below ERROR; raise is for ERROR");
    let Report { sqlstate, message, detail, hint } = r;
    guard(|| {
        let (msg, detail, hint) = (palloc_cstr(&message), opt_cstr(&detail), opt_cstr(&hint));
        // SAFETY: palloc'd C strings; below ERROR ereport returns (or raises, caught by guard).
        unsafe { sys::pgf_ereport(elevel.min(sys::ERROR as i32 - 1), sqlstate.0, msg, detail, hint) }
    })
}

fn opt_cstr(s: &Option<String>) -> *const c_char {
    s.as_deref().map_or(std::ptr::null(), palloc_cstr)
}

/// Write a message to the server log (LOG level), from the main thread.
pub fn log(message: impl fmt::Display) -> PgResult<()> {
    report(sys::LOG as i32, Report::new(SqlState::from_code(b"00000"), message))
}

/// Write a WARNING.
pub fn warning(sqlstate: SqlState, message: impl fmt::Display) -> PgResult<()> {
    report(sys::WARNING as i32, Report::new(sqlstate, message))
}
