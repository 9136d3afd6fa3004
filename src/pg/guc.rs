//! Every `pg_fusion.*` setting (docs/configuration.md is the user-facing copy of this table).
//!
//! Rules:
//! - PostgreSQL owns the storage: each setting's value lives in a [`GucCell`] whose address is
//!   handed to `DefineCustom*Variable`; PostgreSQL writes it, Rust only reads it, on the thread
//!   PostgreSQL started.
//! - Postmaster-level settings shape the shared segment. A value in postgresql.conf that
//!   PostgreSQL's GUC machinery rejects while the library loads would otherwise only produce a
//!   WARNING and silently fall back to the default; [`define_all`] turns that into an error that
//!   stops startup, naming the setting and its bounds.

use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, CStr, CString};

use super::error::{guard, PgError, PgResult, SqlState};
use super::sys;
use crate::shm::LayoutConfig;

/// Storage PostgreSQL writes through a raw pointer.
pub struct GucCell<T>(UnsafeCell<T>);

// SAFETY: PostgreSQL writes these only from the thread it started (GUC assignment), and Rust reads
// them only from that thread too (functions taking values copy them out before handing them to
// other threads).
unsafe impl<T> Sync for GucCell<T> {}

impl<T: Copy> GucCell<T> {
    const fn new(v: T) -> GucCell<T> {
        GucCell(UnsafeCell::new(v))
    }
    fn as_ptr(&self) -> *mut T {
        self.0.get()
    }
    fn get(&self) -> T {
        // SAFETY: see the Sync impl: same-thread read of a value PostgreSQL keeps initialised.
        unsafe { *self.0.get() }
    }
}

/// Level of a setting: P = postmaster (restart), U = user (SET).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    P,
    /// Superusers may change it in a session (`PGC_SUSET`).
    S,
    U,
}

impl Level {
    fn context(self) -> sys::GucContext {
        match self {
            Level::P => sys::GucContext_PGC_POSTMASTER,
            Level::S => sys::GucContext_PGC_SUSET,
            Level::U => sys::GucContext_PGC_USERSET,
        }
    }
}

struct IntSetting {
    name: &'static str,
    desc: &'static str,
    default: i32,
    min: i32,
    max: i32,
    level: Level,
    unit_flags: u32,
    cell: &'static GucCell<c_int>,
}

struct BoolSetting {
    name: &'static str,
    desc: &'static str,
    default: bool,
    level: Level,
    cell: &'static GucCell<bool>,
}

struct RealSetting {
    name: &'static str,
    desc: &'static str,
    default: f64,
    min: f64,
    max: f64,
    level: Level,
    cell: &'static GucCell<f64>,
}

struct EnumSetting {
    name: &'static str,
    desc: &'static str,
    default: c_int,
    /// `(name, value, hidden)`; PostgreSQL shows a value by its first name.
    options: &'static [(&'static CStr, c_int, bool)],
    level: Level,
    cell: &'static GucCell<c_int>,
}

struct StringSetting {
    name: &'static str,
    desc: &'static str,
    default: &'static CStr,
    level: Level,
    cell: &'static GucCell<*mut c_char>,
}

macro_rules! cells {
    ($($name:ident: $t:ty = $v:expr;)*) => { $(static $name: GucCell<$t> = GucCell::new($v);)* };
}

cells! {
    ENABLE: c_int = 0;
    ON_UNSUPPORTED: c_int = 0;
    SETUP_COST: f64 = 600.0;
    TUPLE_COST: f64 = 0.014;
    BYTE_COST: f64 = 0.0003;
    OPERATOR_COST_FACTOR: f64 = 4.0;
    BACKEND_LOG_LEVEL: c_int = 0;
    WORKER_THREADS: c_int = 0;
    MAX_FUSION_TASKS: c_int = 0;
    WORKER_MEMORY_LIMIT_MB: c_int = 0;
    WORKER_SPILL_DIRECTORY: *mut c_char = std::ptr::null_mut();
    WORKER_LOG_FILTER: *mut c_char = std::ptr::null_mut();
    LOG_PATH: *mut c_char = std::ptr::null_mut();
    CONTROL_SLOT_COUNT: c_int = 64;
    ROLE_SLOT_SHARE: c_int = 75;
    CONTROL_B2W: c_int = 8192;
    CONTROL_W2B: c_int = 8192;
    SCAN_SLOT_COUNT: c_int = 64;
    SCAN_B2W: c_int = 256;
    SCAN_W2B: c_int = 256;
    PAGE_SIZE: c_int = 65536;
    PAGE_COUNT: c_int = 256;
    SCAN_FETCH_BATCH_ROWS: c_int = 1024;
    SCAN_BATCH_CHANNEL_CAPACITY: c_int = 32;
    SCAN_IDLE_POLL_INTERVAL_US: c_int = 50;
    ESTIMATOR_TAIL_BYTES: c_int = 64;
    JOIN_REORDERING: bool = true;
    RUNTIME_FILTER_ENABLE: bool = true;
    INDEX_PROBE: bool = true;
    RUNTIME_FILTER_COUNT: c_int = 64;
    RUNTIME_FILTER_BITS: c_int = 1048576;
    RUNTIME_FILTER_HASHES: c_int = 4;
}

const MAX: i32 = i32::MAX;
const B: u32 = sys::GUC_UNIT_BYTE;
const MB: u32 = sys::GUC_UNIT_MB;

const INTS: &[IntSetting] = &[
    IntSetting {
        name: "backend_log_level",
        desc: "Backend diagnostics: 0 off, 1 basic, 2 trace.",
        default: 0,
        min: 0,
        max: 2,
        level: Level::U,
        unit_flags: 0,
        cell: &BACKEND_LOG_LEVEL,
    },
    IntSetting {
        name: "worker_threads",
        desc: "Tokio threads in the pg_fusion worker; 0 = available parallelism.",
        default: 0,
        min: 0,
        max: 1024,
        level: Level::P,
        unit_flags: 0,
        cell: &WORKER_THREADS,
    },
    IntSetting {
        name: "max_fusion_tasks",
        desc: "Concurrent executions inside the worker; 0 = control_slot_count.",
        default: 0,
        min: 0,
        max: 16384,
        level: Level::P,
        unit_flags: 0,
        cell: &MAX_FUSION_TASKS,
    },
    IntSetting {
        name: "worker_memory_limit_mb",
        desc: "DataFusion memory pool of the worker; -1 = a quarter of physical memory, 0 = unbounded and no spill.",
        default: -1,
        min: -1,
        max: MAX,
        level: Level::P,
        unit_flags: MB,
        cell: &WORKER_MEMORY_LIMIT_MB,
    },
    IntSetting {
        name: "role_slot_share",
        desc: "Percent of the control slots one role's sessions may hold at once; the others wait.",
        default: 75,
        min: 1,
        max: 100,
        level: Level::S,
        unit_flags: 0,
        cell: &ROLE_SLOT_SHARE,
    },
    IntSetting {
        name: "control_slot_count",
        desc: "Backend/worker control slots (one per concurrently executing query).",
        default: 64,
        min: 1,
        max: 16384,
        level: Level::P,
        unit_flags: 0,
        cell: &CONTROL_SLOT_COUNT,
    },
    IntSetting {
        name: "control_backend_to_worker_capacity",
        desc: "Bytes of each control slot's backend-to-worker ring.",
        default: 8192,
        min: 256,
        max: 1 << 30,
        level: Level::P,
        unit_flags: B,
        cell: &CONTROL_B2W,
    },
    IntSetting {
        name: "control_worker_to_backend_capacity",
        desc: "Bytes of each control slot's worker-to-backend ring.",
        default: 8192,
        min: 256,
        max: 1 << 30,
        level: Level::P,
        unit_flags: B,
        cell: &CONTROL_W2B,
    },
    IntSetting {
        name: "scan_slot_count",
        desc: "Scan control slots (one per scan producer).",
        default: 64,
        min: 1,
        max: 16384,
        level: Level::P,
        unit_flags: 0,
        cell: &SCAN_SLOT_COUNT,
    },
    IntSetting {
        name: "scan_backend_to_worker_capacity",
        desc: "Bytes of each scan slot's backend-to-worker ring.",
        default: 256,
        min: 256,
        max: 1 << 30,
        level: Level::P,
        unit_flags: B,
        cell: &SCAN_B2W,
    },
    IntSetting {
        name: "scan_worker_to_backend_capacity",
        desc: "Bytes of each scan slot's worker-to-backend ring.",
        default: 256,
        min: 256,
        max: 1 << 30,
        level: Level::P,
        unit_flags: B,
        cell: &SCAN_W2B,
    },
    IntSetting {
        name: "page_size",
        desc: "Bytes per shared-memory page (one Arrow block per page).",
        default: 65536,
        min: 4096,
        max: 1 << 30,
        level: Level::P,
        unit_flags: B,
        cell: &PAGE_SIZE,
    },
    IntSetting {
        name: "page_count",
        desc: "Pages in the shared page pool (scan and result traffic share it).",
        default: 256,
        min: crate::shm::admission::MIN_PAGE_COUNT as i32,
        max: 1 << 20,
        level: Level::P,
        unit_flags: 0,
        cell: &PAGE_COUNT,
    },
    IntSetting {
        name: "scan_fetch_batch_rows",
        desc: "Rows asked from the scan portal per fetch.",
        default: 1024,
        min: 1,
        max: 1 << 20,
        level: Level::P,
        unit_flags: 0,
        cell: &SCAN_FETCH_BATCH_ROWS,
    },
    IntSetting {
        name: "scan_batch_channel_capacity",
        desc: "Pages a scan producer may have on their way to the worker at once (its credits).",
        default: 32,
        min: 1,
        max: 4096,
        level: Level::U,
        unit_flags: 0,
        cell: &SCAN_BATCH_CHANNEL_CAPACITY,
    },
    IntSetting {
        name: "scan_idle_poll_interval_us",
        desc: "Longest a worker scan waiting for its producer sleeps without a wake, in microseconds.",
        default: 50,
        min: 1,
        max: 1_000_000,
        level: Level::U,
        unit_flags: 0,
        cell: &SCAN_IDLE_POLL_INTERVAL_US,
    },
    IntSetting {
        name: "estimator_initial_tail_bytes_per_row",
        desc: "First guess of variable-width bytes per row when sizing a block.",
        default: 64,
        min: 0,
        max: 1 << 20,
        level: Level::P,
        unit_flags: B,
        cell: &ESTIMATOR_TAIL_BYTES,
    },
    IntSetting {
        name: "runtime_filter_count",
        desc: "Runtime filter slots in shared memory.",
        default: 64,
        min: 0,
        max: 16384,
        level: Level::P,
        unit_flags: 0,
        cell: &RUNTIME_FILTER_COUNT,
    },
    IntSetting {
        name: "runtime_filter_bits",
        desc: "Bits per runtime filter.",
        default: 1048576,
        min: 64,
        max: 1 << 30,
        level: Level::P,
        unit_flags: 0,
        cell: &RUNTIME_FILTER_BITS,
    },
    IntSetting {
        name: "runtime_filter_hashes",
        desc: "Bits set per key in a runtime filter.",
        default: 4,
        min: 1,
        max: 16,
        level: Level::P,
        unit_flags: 0,
        cell: &RUNTIME_FILTER_HASHES,
    },
];

const REALS: &[RealSetting] = &[
    RealSetting {
        name: "setup_cost",
        desc: "Estimated cost of running a query through DataFusion at all (the worker's round trip, DataFusion's planning).",
        default: 600.0,
        min: 0.0,
        max: f64::MAX,
        level: Level::U,
        cell: &SETUP_COST,
    },
    RealSetting {
        name: "tuple_cost",
        desc: "Estimated cost of each row a scan hands to DataFusion (encoding, moving and processing it).",
        default: 0.014,
        min: 0.0,
        max: f64::MAX,
        level: Level::U,
        cell: &TUPLE_COST,
    },
    RealSetting {
        name: "byte_cost",
        desc: "Estimated cost of each byte of the rows a scan hands to DataFusion.",
        default: 0.0003,
        min: 0.0,
        max: f64::MAX,
        level: Level::U,
        cell: &BYTE_COST,
    },
    RealSetting {
        name: "operator_cost_factor",
        desc: "How many times its cost PostgreSQL's aggregates, sorts and hash joins are counted when compared with DataFusion.",
        default: 4.0,
        min: 0.0,
        max: 1000.0,
        level: Level::U,
        cell: &OPERATOR_COST_FACTOR,
    },
];

/// `pg_fusion.enable`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enable {
    Off = 0,
    On = 1,
    /// DataFusion when its estimated cost is below PostgreSQL's plan's (`crate::plan::cost`).
    Auto = 2,
}

const ENUMS: &[EnumSetting] = &[
    EnumSetting {
        name: "enable",
        desc: "Run eligible top-level SELECTs through DataFusion: on, off, or auto (when cheaper than PostgreSQL's plan).",
        default: Enable::Off as c_int,
        // Every spelling the boolean it was took (PostgreSQL's parse_bool: the words, their
        // unambiguous prefixes, 1 and 0), hidden.
        options: &[
            (c"off", Enable::Off as c_int, false),
            (c"on", Enable::On as c_int, false),
            (c"auto", Enable::Auto as c_int, false),
            (c"true", Enable::On as c_int, true),
            (c"tru", Enable::On as c_int, true),
            (c"tr", Enable::On as c_int, true),
            (c"t", Enable::On as c_int, true),
            (c"false", Enable::Off as c_int, true),
            (c"fals", Enable::Off as c_int, true),
            (c"fal", Enable::Off as c_int, true),
            (c"fa", Enable::Off as c_int, true),
            (c"f", Enable::Off as c_int, true),
            (c"yes", Enable::On as c_int, true),
            (c"ye", Enable::On as c_int, true),
            (c"y", Enable::On as c_int, true),
            (c"no", Enable::Off as c_int, true),
            (c"n", Enable::Off as c_int, true),
            (c"of", Enable::Off as c_int, true),
            (c"1", Enable::On as c_int, true),
            (c"0", Enable::Off as c_int, true),
        ],
        level: Level::U,
        cell: &ENABLE,
    },
    EnumSetting {
        name: "on_unsupported",
        desc: "What enable = on does with a SELECT it cannot run with certainty: error or fallback.",
        default: OnUnsupported::Error as c_int,
        options: &[
            (c"error", OnUnsupported::Error as c_int, false),
            (c"fallback", OnUnsupported::Fallback as c_int, false),
        ],
        level: Level::U,
        cell: &ON_UNSUPPORTED,
    },
];

const BOOLS: &[BoolSetting] = &[
    BoolSetting {
        name: "join_reordering",
        desc: "Statistics-driven join order for inner and cross equi-join components.",
        default: true,
        level: Level::U,
        cell: &JOIN_REORDERING,
    },
    BoolSetting {
        name: "runtime_filter_enable",
        desc: "Runtime Bloom filters from hash-join build sides, probed by scan producers.",
        default: true,
        level: Level::U,
        cell: &RUNTIME_FILTER_ENABLE,
    },
    BoolSetting {
        name: "index_probe",
        desc: "Scan leaves read through an index by a hash join's build-side keys when they are few.",
        default: true,
        level: Level::U,
        cell: &INDEX_PROBE,
    },
];

const STRINGS: &[StringSetting] = &[
    StringSetting {
        name: "worker_spill_directory",
        desc: "Spill root of the worker; empty = pg_fusion/spill under the data directory.",
        default: c"",
        level: Level::P,
        cell: &WORKER_SPILL_DIRECTORY,
    },
    StringSetting {
        name: "worker_log_filter",
        desc: "tracing filter for the worker log.",
        default: c"warn",
        level: Level::P,
        cell: &WORKER_LOG_FILTER,
    },
    StringSetting {
        name: "log_path",
        desc: "Worker log file; empty = pg_fusion.log in log_directory.",
        default: c"",
        level: Level::P,
        cell: &LOG_PATH,
    },
];

/// `pg_fusion.on_unsupported`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnUnsupported {
    Error = 0,
    Fallback = 1,
}

// `config_enum_entry` holds raw pointers, so each table is built once, leaked, and handed over.
fn enum_options(options: &[(&'static CStr, c_int, bool)]) -> *const sys::config_enum_entry {
    let entries: Vec<sys::config_enum_entry> = options
        .iter()
        .map(|&(name, val, hidden)| sys::config_enum_entry { name: name.as_ptr(), val, hidden })
        .chain(std::iter::once(sys::config_enum_entry { name: std::ptr::null(), val: 0, hidden: false }))
        .collect();
    Box::leak(entries.into_boxed_slice()).as_ptr()
}

/// Names and descriptions must outlive the GUC (PostgreSQL keeps the pointers): leak them once.
fn leak_cstr(s: String) -> PgResult<*const c_char> {
    let c = CString::new(s).map_err(|_| PgError::internal("setting name contains NUL"))?;
    Ok(Box::leak(c.into_boxed_c_str()).as_ptr())
}

fn full_name(name: &str) -> String {
    format!("pg_fusion.{name}")
}

/// Raw value of a still-undefined setting, as written in postgresql.conf (a placeholder).
fn placeholder_value(name: *const c_char) -> PgResult<Option<String>> {
    // SAFETY: name is NUL-terminated; missing_ok = true, so a missing name returns NULL.
    let p = guard(|| unsafe { sys::GetConfigOption(name, true, false) })?;
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: GetConfigOption returns a NUL-terminated string owned by the GUC machinery.
    Ok(Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()))
}

/// Define every setting, then reserve the prefix. Returns an error naming the setting when a
/// postmaster-level value from the configuration is invalid (the caller stops startup).
pub fn define_all() -> PgResult<()> {
    for s in INTS {
        let name = leak_cstr(full_name(s.name))?;
        let desc = leak_cstr(s.desc.to_string())?;
        let raw = placeholder_value(name)?;
        // SAFETY: name/desc leaked (static); the cell is a static c_int PostgreSQL may write.
        guard(|| unsafe {
            sys::DefineCustomIntVariable(
                name,
                desc,
                std::ptr::null(),
                s.cell.as_ptr(),
                s.default,
                s.min,
                s.max,
                s.level.context(),
                s.unit_flags as c_int,
                None,
                None,
                None,
            )
        })?;
        if s.level == Level::P {
            if let Some(raw) = raw {
                check_int_value(s, &raw)?;
            }
        }
    }
    for s in BOOLS {
        let name = leak_cstr(full_name(s.name))?;
        let desc = leak_cstr(s.desc.to_string())?;
        // SAFETY: as above.
        guard(|| unsafe {
            sys::DefineCustomBoolVariable(
                name,
                desc,
                std::ptr::null(),
                s.cell.as_ptr(),
                s.default,
                s.level.context(),
                0,
                None,
                None,
                None,
            )
        })?;
    }
    for s in STRINGS {
        let name = leak_cstr(full_name(s.name))?;
        let desc = leak_cstr(s.desc.to_string())?;
        // SAFETY: as above; the default is a static C string, PostgreSQL copies it.
        guard(|| unsafe {
            sys::DefineCustomStringVariable(
                name,
                desc,
                std::ptr::null(),
                s.cell.as_ptr(),
                s.default.as_ptr(),
                s.level.context(),
                0,
                None,
                None,
                None,
            )
        })?;
    }
    for s in REALS {
        let name = leak_cstr(full_name(s.name))?;
        let desc = leak_cstr(s.desc.to_string())?;
        // SAFETY: as above; the cell is a static double PostgreSQL may write.
        guard(|| unsafe {
            sys::DefineCustomRealVariable(
                name,
                desc,
                std::ptr::null(),
                s.cell.as_ptr(),
                s.default,
                s.min,
                s.max,
                s.level.context(),
                0,
                None,
                None,
                None,
            )
        })?;
    }
    for s in ENUMS {
        let name = leak_cstr(full_name(s.name))?;
        let desc = leak_cstr(s.desc.to_string())?;
        let options = enum_options(s.options);
        // SAFETY: as above; `options` is leaked and NULL-terminated.
        guard(|| unsafe {
            sys::DefineCustomEnumVariable(
                name,
                desc,
                std::ptr::null(),
                s.cell.as_ptr(),
                s.default,
                options,
                s.level.context(),
                0,
                None,
                None,
                None,
            )
        })?;
    }
    // SAFETY: a static C string.
    guard(|| unsafe { sys::MarkGUCPrefixReserved(c"pg_fusion".as_ptr()) })?;
    Ok(())
}

/// PostgreSQL only warns about an invalid placeholder value and keeps the default: for a setting
/// that shapes shared memory, refuse instead.
fn check_int_value(s: &IntSetting, raw: &str) -> PgResult<()> {
    let craw = CString::new(raw).map_err(|_| PgError::internal("setting value contains NUL"))?;
    let mut value: c_int = 0;
    let mut hint: *const c_char = std::ptr::null();
    // SAFETY: all pointers are valid for the call; parse_int does not raise.
    let ok =
        guard(|| unsafe { sys::parse_int(craw.as_ptr(), &mut value, s.unit_flags as c_int, &mut hint) })?;
    let full = full_name(s.name);
    let detail = if !ok {
        None
    } else if value < s.min || value > s.max {
        Some(format!("{value} is outside the valid range for parameter \"{full}\" ({} .. {}).", s.min, s.max))
    } else {
        return Ok(());
    };
    Err(PgError::Report(super::error::Report {
        sqlstate: SqlState::INVALID_PARAMETER_VALUE,
        message: format!("pg_fusion: invalid value for parameter \"{full}\": \"{raw}\""),
        detail,
        hint: Some(format!("Fix {full} in postgresql.conf and restart the server.")),
    }))
}

pub fn enable() -> Enable {
    match ENABLE.get() {
        x if x == Enable::On as c_int => Enable::On,
        x if x == Enable::Auto as c_int => Enable::Auto,
        _ => Enable::Off,
    }
}

/// `enable = auto`: the weight of PostgreSQL's aggregates, sorts and hash joins in its estimate
/// (`crate::plan::cost::postgresql_estimate`).
pub fn operator_cost_factor() -> f64 {
    OPERATOR_COST_FACTOR.get()
}

/// The settings of `enable = auto`'s cost model (`crate::plan::cost`).
pub fn boundary_costs() -> crate::plan::cost::BoundaryCosts {
    crate::plan::cost::BoundaryCosts {
        setup: SETUP_COST.get(),
        tuple: TUPLE_COST.get(),
        byte: BYTE_COST.get(),
    }
}

/// Let DataFusion pick hash join build sides from PostgreSQL's row estimates.
pub fn join_reordering() -> bool {
    JOIN_REORDERING.get()
}

/// Plan index probes for scan leaves (`crate::index_probe`): needs runtime filters.
pub fn index_probe() -> bool {
    INDEX_PROBE.get() && RUNTIME_FILTER_ENABLE.get()
}

pub fn on_unsupported() -> OnUnsupported {
    if ON_UNSUPPORTED.get() == OnUnsupported::Fallback as c_int {
        OnUnsupported::Fallback
    } else {
        OnUnsupported::Error
    }
}

/// The control slots one role's sessions may hold at once (`role_slot_share` percent of them,
/// one at least).
pub fn control_slots_per_role() -> u32 {
    let slots = CONTROL_SLOT_COUNT.get().max(1) as u32;
    (slots * ROLE_SLOT_SHARE.get().clamp(1, 100) as u32 / 100).max(1)
}

pub fn backend_log_level() -> i32 {
    BACKEND_LOG_LEVEL.get()
}

/// Rows asked from a scan per executor call.
/// `scan_batch_channel_capacity`: the most pages a producer has on its way to its worker scan
/// stream (its credits, `crate::shm::admission`).
pub fn scan_batch_channel_capacity() -> u32 {
    SCAN_BATCH_CHANNEL_CAPACITY.get().max(1) as u32
}

/// Bits per key of the query's runtime filters; 0 when `runtime_filter_enable` is off.
pub fn runtime_filter_hashes() -> u8 {
    if RUNTIME_FILTER_ENABLE.get() {
        RUNTIME_FILTER_HASHES.get().clamp(1, 16) as u8
    } else {
        0
    }
}

/// `scan_idle_poll_interval_us`: the longest a worker scan waiting for its producer sleeps
/// without a wake.
pub fn scan_idle_poll_interval_us() -> u32 {
    SCAN_IDLE_POLL_INTERVAL_US.get().max(1) as u32
}

/// `max_fusion_tasks`: queries admitted and run by the worker at once (0: `control_slot_count`;
/// never more).
pub fn max_fusion_tasks() -> usize {
    let control = CONTROL_SLOT_COUNT.get().max(1) as usize;
    match MAX_FUSION_TASKS.get() as usize {
        0 => control,
        n => n.min(control),
    }
}

/// The most queries admitted at once: `max_fusion_tasks`, and with a memory limit no more than
/// the pool has shares for (`crate::plan::memory::query_shares`).
/// PostgreSQL's `deadlock_timeout`: how long a lock waits before it looks for a deadlock.
pub fn deadlock_timeout() -> std::time::Duration {
    // SAFETY: reads a setting of this backend.
    let ms = unsafe { sys::pgf_deadlock_timeout() };
    std::time::Duration::from_millis(ms.max(0) as u64)
}

pub fn admitted_queries_max() -> usize {
    match worker_memory_limit_mb() {
        0 => max_fusion_tasks(),
        mb => max_fusion_tasks().min(crate::plan::memory::query_shares(mb * 1024 * 1024)),
    }
}

pub fn scan_fetch_batch_rows() -> i64 {
    SCAN_FETCH_BATCH_ROWS.get().max(1) as i64
}

/// The worker's DataFusion memory limit in MB: `worker_memory_limit_mb`, or when it is -1 (the
/// default) a quarter of the memory this server may use (physical memory, or the cgroup's limit
/// when lower), 64 MB at least; 0 only when set so (unbounded).
fn worker_memory_limit_mb() -> usize {
    match WORKER_MEMORY_LIMIT_MB.get() {
        n if n >= 0 => n as usize,
        _ => derived_memory_limit_mb(),
    }
}

fn derived_memory_limit_mb() -> usize {
    // SAFETY: sysconf reads system constants.
    let (pages, page) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    let physical = (pages.max(0) as u64).saturating_mul(page.max(0) as u64);
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    let usable = if physical == 0 { cgroup } else { physical.min(cgroup) };
    if usable == u64::MAX {
        return 1024;
    }
    ((usable / 4) >> 20).max(64) as usize
}

/// First guess of long variable-width bytes per row when sizing a block.
pub fn tail_bytes_per_row() -> usize {
    ESTIMATOR_TAIL_BYTES.get().max(0) as usize
}

fn string_value(cell: &GucCell<*mut c_char>) -> String {
    let p = cell.get();
    if p.is_null() {
        return String::new();
    }
    // SAFETY: PostgreSQL keeps a NUL-terminated copy for string settings.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// `value`, or `default()` when it is empty. Paths stay relative: every PostgreSQL process runs
/// in the data directory, so a relative path is relative to it.
fn or_default(value: String, default: impl FnOnce() -> String) -> String {
    if value.is_empty() {
        default()
    } else {
        value
    }
}

/// The worker's settings, copied out so they can travel to other threads.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    pub worker_threads: usize,
    pub max_fusion_tasks: usize,
    pub memory_limit_mb: usize,
    pub spill_directory: String,
    pub log_filter: String,
    pub log_path: String,
    pub tail_bytes_per_row: usize,
}

pub fn worker_settings() -> WorkerSettings {
    WorkerSettings {
        worker_threads: WORKER_THREADS.get() as usize,
        max_fusion_tasks: max_fusion_tasks(),
        memory_limit_mb: worker_memory_limit_mb(),
        spill_directory: or_default(string_value(&WORKER_SPILL_DIRECTORY), || "pg_fusion/spill".into()),
        log_filter: string_value(&WORKER_LOG_FILTER),
        log_path: or_default(string_value(&LOG_PATH), || {
            // PostgreSQL's own log directory (`log` unless set), where its logs already live.
            let dir = placeholder_value(c"log_directory".as_ptr()).ok().flatten().filter(|d| !d.is_empty());
            std::path::Path::new(&dir.unwrap_or_else(|| "log".into()))
                .join("pg_fusion.log")
                .display()
                .to_string()
        }),
        tail_bytes_per_row: tail_bytes_per_row(),
    }
}

/// The postmaster-level settings that shape the shared segment.
pub fn layout_config() -> LayoutConfig {
    let u = |c: &GucCell<c_int>| c.get().max(0) as u32;
    LayoutConfig {
        page_size: u(&PAGE_SIZE),
        page_count: u(&PAGE_COUNT),
        control_slot_count: u(&CONTROL_SLOT_COUNT),
        control_backend_to_worker_capacity: u(&CONTROL_B2W),
        control_worker_to_backend_capacity: u(&CONTROL_W2B),
        scan_slot_count: u(&SCAN_SLOT_COUNT),
        scan_backend_to_worker_capacity: u(&SCAN_B2W),
        scan_worker_to_backend_capacity: u(&SCAN_W2B),
        runtime_filter_count: u(&RUNTIME_FILTER_COUNT),
        runtime_filter_bits: u(&RUNTIME_FILTER_BITS),
    }
}
