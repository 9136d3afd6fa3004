//! The one shared segment: layout, page pool, rings, slots and metrics.
//!
//! Nothing in this module names a PostgreSQL symbol, so all of it is unit-tested with plain
//! `cargo test`. The PostgreSQL side (requesting the segment, attaching to it, setting latches)
//! lives in `crate::pg::shmem`.

pub mod admission;
pub mod block_ranges;
pub mod filter;
pub mod layout;
pub mod metrics;
pub mod parallel_space;
pub mod pool;
pub mod ring;
pub mod segment;
pub mod slots;

pub use admission::{Budget, Holdings};
pub use filter::{Bloom, Claim, FilterSlot, FilterView, Key};
pub use layout::{Layout, LayoutConfig, LayoutError};
pub use metrics::{Metric, Metrics};
pub use pool::{OwnerId, PageDescriptor, PagePool};
pub use ring::{Recv, Ring};
pub use segment::{signal_latch, Segment, SlotKind, WorkerRole};
pub use slots::{Slot, SlotLease, Wakeup};
