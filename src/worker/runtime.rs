//! The Tokio runtime and the DataFusion session the worker's tasks run on.

use std::num::NonZeroUsize;
use std::os::unix::fs::DirBuilderExt;
use std::sync::Arc;
use std::time::Duration;

use datafusion::execution::memory_pool::{TrackConsumersPool, UnboundedMemoryPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::pg::guc::WorkerSettings;
use crate::pg::{PgError, PgResult, SqlState};

pub struct Engine {
    pub runtime: tokio::runtime::Runtime,
    pub session: SessionContext,
    pub threads: usize,
    /// Bytes of the pool one query may hold (`crate::plan::memory`); None without a limit.
    pub query_memory: Option<usize>,
    /// Spill files an earlier worker left behind, removed at this start.
    pub leaked_spill_files: u64,
}

impl Engine {
    pub fn start(settings: &WorkerSettings) -> PgResult<Engine> {
        let threads = match settings.worker_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("pg_fusion-df")
            // Deep plans recurse deeply when decoded and planned (a 100-arm UNION ALL, a 200-term
            // expression); untouched stack costs no memory.
            .thread_stack_size(16 << 20)
            .enable_time()
            .build()
            .map_err(|e| {
                PgError::new(
                    SqlState::INSUFFICIENT_RESOURCES,
                    format!("cannot start the worker runtime: {e}"),
                )
            })?;

        let mut env = RuntimeEnvBuilder::new();
        let mut leaked_spill_files = 0;
        let mut query_memory = None;
        if settings.memory_limit_mb > 0 {
            let limit = settings.memory_limit_mb * 1024 * 1024;
            // The limit is enforced per query (each admitted query holds one share of it, see
            // `crate::plan::memory`); the worker's pool only counts. A finished query's task can
            // still hold memory for a moment after its backend let the next query in: that one
            // must not fail on the total for it.
            env = env.with_memory_pool(Arc::new(TrackConsumersPool::new(
                UnboundedMemoryPool::default(),
                NonZeroUsize::new(5).unwrap_or(NonZeroUsize::MIN),
            )));
            query_memory = Some(crate::plan::memory::query_share(limit));
            let dir = std::path::PathBuf::from(&settings.spill_directory);
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(|e| {
                PgError::new(
                    SqlState::INSUFFICIENT_RESOURCES,
                    format!("cannot create the spill directory \"{}\": {e}", dir.display()),
                )
            })?;
            leaked_spill_files = remove_leftover_spills(&dir);
            env = env.with_temp_file_path(dir);
        }
        let env = env.build_arc().map_err(|e| {
            PgError::new(SqlState::INSUFFICIENT_RESOURCES, format!("cannot configure DataFusion: {e}"))
        })?;
        let mut config = SessionConfig::new().with_target_partitions(threads);
        if let Some(share) = query_memory {
            // Each sort sets aside this much to merge its spilled runs (10 MB by default): a
            // few sorts of one query must fit its share.
            let options = config.options_mut();
            options.execution.sort_spill_reservation_bytes =
                options.execution.sort_spill_reservation_bytes.min(share / 16);
            // A repartition that spills (hash aggregation and joins past a query's share) writes
            // its batches to spill files its reader takes in order. DataFusion 55 can deadlock
            // there when two inputs spill at once into two open files (the reader waits on the
            // drained older one while the batch it needs is in the newer: apache/datafusion
            // #24883, fixed after 55.2): the query waits forever without an error. One batch per
            // spill file closes each file as it is written, so the reader never waits on one.
            options
                .set("datafusion.execution.max_spill_file_size_bytes", "1")
                .map_err(|e| PgError::internal(format!("cannot configure DataFusion: {e}")))?;
        }
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(Arc::clone(&env))
            .with_default_features();
        if let Some(share) = query_memory {
            // A TopK larger than a quarter of a query's share sorts in full, spilling.
            state = state.with_physical_optimizer_rule(Arc::new(crate::plan::memory::BoundedTopK {
                max_bytes: share / 4,
            }));
        }
        let session = SessionContext::new_with_state(state.build());
        Ok(Engine { runtime, session, threads, query_memory, leaked_spill_files })
    }

    pub fn target_partitions(&self) -> usize {
        self.session.state().config().target_partitions()
    }

    pub fn shutdown(self) {
        self.runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

/// Spill files of an earlier worker that did not end cleanly (DataFusion removes its own when a
/// query ends): its directories under the spill root, `datafusion-*`. Nothing else there is
/// touched, so a root shared with other programs stays theirs. Returns how many files they held.
fn remove_leftover_spills(root: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(root) else { return 0 };
    let mut files = 0;
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with("datafusion-") {
            files += std::fs::read_dir(e.path()).map_or(0, |d| d.flatten().count() as u64);
            if let Err(err) = std::fs::remove_dir_all(e.path()) {
                tracing::warn!(path = %e.path().display(), error = %err, "cannot remove a leftover spill directory");
            }
        }
    }
    files
}
