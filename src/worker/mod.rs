//! The pg_fusion worker: one background worker hosting the Tokio + DataFusion runtime.
//!
//! ```text
//!  main thread (PostgreSQL's)                 Tokio threads (worker_threads)
//!  ─────────────────────────                  ──────────────────────────────
//!  attach segment, register latch             DataFusion operators
//!  loop:                                      (never call PostgreSQL)
//!    wait on latch (SIGTERM, backends)
//!    serve every Ready control slot  ──────►  spawn tasks on the runtime
//!    answer on worker->backend rings
//!    set the backend's latch
//! ```
//!
//! Rules: only the main thread calls PostgreSQL functions (all of `crate::pg` is reached from
//! here, never from a task); the worker never reads heap pages; on SIGTERM it stops the runtime and
//! exits with status 1, so the postmaster restarts it unless the server is shutting down.

mod estimate;
mod logging;
mod query;
mod runtime;
mod runtime_filter;
mod scan;
mod serve;
mod shared;
mod slot_rings;

use crate::pg::latch::WaitEvent;
use crate::pg::{bgworker, guc, latch, shmem, PgResult, SqlState};
use crate::shm::Metric;

/// Longest sleep between checks when nothing wakes the worker.
const IDLE_WAIT_MS: i64 = 100;

/// The worker process's main function (named in `pg::bgworker`'s registration; PostgreSQL passes
/// the registration's Datum argument, unused).
#[no_mangle]
pub extern "C" fn pg_fusion_worker_main(_arg: usize) {
    crate::pg::entry::entry(run);
    // Status 1, not 0: a worker stopped by SIGTERM outside a shutdown (pg_terminate_backend)
    // must come back; exiting 0 would unregister it for good.
    bgworker::exit(1)
}

fn run() -> PgResult<()> {
    bgworker::worker_signals();
    bgworker::connect_without_database()?;
    let seg = shmem::segment()?;
    // PostgreSQL 17 and later list pg_fusion's wait events in pg_wait_events from now on.
    latch::register_wait_events()?;
    let settings = guc::worker_settings();
    logging::init(&settings)?;
    let open_files = raise_open_file_limit();
    let engine = runtime::Engine::start(&settings)?;
    tracing::info!(
        threads = engine.threads,
        open_files,
        target_partitions = engine.target_partitions(),
        "pg_fusion worker ready"
    );
    seg.metrics().inc(Metric::WorkerStartsTotal);
    seg.metrics().add(Metric::WorkerSpillLeakedFilesTotal, engine.leaked_spill_files);
    // Published last: backends treat a registered, live worker as ready to serve.
    seg.worker_wakeup().set(Some(latch::me()));

    let mut server = serve::ControlServer::new(
        seg,
        engine.runtime.handle().clone(),
        engine.session.clone(),
        settings.max_fusion_tasks,
        settings.tail_bytes_per_row,
        engine.query_memory,
    );
    let result = loop {
        if bgworker::shutdown_requested() {
            break Ok(());
        }
        server.poll();
        if let Err(e) = latch::wait_my_latch(IDLE_WAIT_MS, WaitEvent::WorkerMain) {
            break Err(e);
        }
        // Absorbs ProcSignalBarriers (DROP DATABASE waits for every process to do so) and other
        // interrupts. A cancel (pg_cancel_backend on the worker) has nothing to cancel here.
        if let Err(e) = latch::check_for_interrupts() {
            if e.sqlstate() != SqlState::QUERY_CANCELED {
                break Err(e);
            }
        }
    };
    seg.worker_wakeup().set(None);
    server.cancel_all();
    tracing::info!("pg_fusion worker stopping");
    engine.shutdown();
    result
}

/// The most open files the worker asks for (its soft limit, raised up to its hard one).
const MAX_OPEN_FILES: libc::rlim_t = 65536;

/// DataFusion's spill files are the worker's own open files, outside PostgreSQL's descriptor
/// cache (each spill file stays open until its readers are done): raise the soft limit on open
/// files towards the hard one, as far as `MAX_OPEN_FILES`. Returns the limit in force.
fn raise_open_file_limit() -> libc::rlim_t {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes the struct it is given, which outlives the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 0;
    }
    let want = lim.rlim_max.min(MAX_OPEN_FILES);
    if lim.rlim_cur < want {
        let raised = libc::rlimit { rlim_cur: want, rlim_max: lim.rlim_max };
        // SAFETY: setrlimit reads the struct it is given, which outlives the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return want;
        }
    }
    lim.rlim_cur
}
