//! The worker's log: `tracing` events to `pg_fusion.log_path`, filtered by
//! `pg_fusion.worker_log_filter`. Failing to open the file is reported to the server log and the
//! worker runs without its own log.

use std::fs::OpenOptions;
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
    let file = match OpenOptions::new().create(true).append(true).open(&settings.log_path) {
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
