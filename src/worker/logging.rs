//! The worker's log: `tracing` events to `pg_fusion.log_path` (by default `pg_fusion.log` in
//! PostgreSQL's `log_directory`, created as PostgreSQL creates it, readable by the server's user
//! only), filtered by `pg_fusion.worker_log_filter`. Failing to open the file is reported to the
//! server log and the worker runs without its own log.

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

use crate::pg::error::{warning, PgResult, SqlState};
use crate::pg::guc::WorkerSettings;

pub fn init(settings: &WorkerSettings) -> PgResult<()> {
    let filter = match EnvFilter::try_new(&settings.log_filter) {
        Ok(f) => f,
        Err(e) => {
            warning(
                SqlState::INVALID_PARAMETER_VALUE,
                format_args!(
                    "invalid pg_fusion.worker_log_filter \"{}\": {e}; using \"warn\"",
                    settings.log_filter
                ),
            )?;
            EnvFilter::new("warn")
        }
    };
    let path = std::path::Path::new(&settings.log_path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Fails later, at the open, with the file's name if it cannot be made.
        let _ = DirBuilder::new().recursive(true).mode(0o700).create(dir);
    }
    let file = match OpenOptions::new().create(true).append(true).mode(0o600).open(path) {
        Ok(f) => f,
        Err(e) => {
            warning(
                SqlState::from_code(b"58030"),
                format_args!("cannot open worker log \"{}\": {e}", settings.log_path),
            )?;
            return Ok(());
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_thread_names(true)
        .try_init();
    Ok(())
}
