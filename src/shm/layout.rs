//! Where everything lives inside the one shared segment.
//!
//! Rules:
//! - The segment is addressed by byte offsets from its base. Each process may map it at a different
//!   address, so nothing inside the segment ever stores a pointer.
//! - The layout is a pure function of [`LayoutConfig`]: [`Layout::new`] is called by the
//!   `shmem_request_hook` (to size the request) and by every process that attaches, so both agree.
//! - Every region starts on a [`REGION_ALIGN`]-byte boundary (a cache line, and Arrow's preferred
//!   buffer alignment); pages start on [`REGION_ALIGN`] boundaries too, so a block's buffers can be
//!   wrapped as Arrow buffers without a copy.
//!
//! ```text
//! +------------------+ 0
//! | SegmentHeader    | magic, version, the LayoutConfig it was laid out with, worker identity
//! | page states      | page_count x AtomicU64   (generation << 32 | owner)
//! | wakeup registry  | 1 + control_slot_count + scan_slot_count x WakeupEntry
//! | metrics          | METRIC_COUNT x AtomicU64
//! | control slots    | control_slot_count x (SlotHeader, ring b->w, ring w->b)
//! | scan slots       | scan_slot_count x (SlotHeader, ring b->w, ring w->b)
//! | runtime filters  | runtime_filter_count x (FilterHeader, bit array)
//! | pages            | page_count x page_stride
//! +------------------+ total_size
//! ```

use std::fmt;
use std::mem::size_of;

use super::metrics::METRIC_COUNT;
use super::ring::RingHeader;
use super::slots::{FilterHeader, SlotHeader, WakeupEntry};

/// Alignment of every region and every page.
pub const REGION_ALIGN: usize = 64;

/// `"PGFUSION"` as a little-endian u64: the first word of an initialised segment.
pub const SEGMENT_MAGIC: u64 = u64::from_le_bytes(*b"PGFUSION");

/// Bumped whenever the meaning of any byte in the segment changes.
pub const LAYOUT_VERSION: u32 = 5;

/// Smallest page that holds a block header, column descriptors and one row. Enforced by the GUC
/// bounds too; repeated here so the pure layout code never builds an unusable pool.
pub const MIN_PAGE_SIZE: u32 = 4096;
/// Largest page (1 GiB): offsets inside a page are u32 and Arrow views address with i32.
pub const MAX_PAGE_SIZE: u32 = 1 << 30;
/// A ring must hold at least one framed message header plus a small payload.
pub const MIN_RING_CAPACITY: u32 = 256;

/// The postmaster-level settings that shape the segment. Stored in the segment header, so a process
/// can check that it agrees with the segment it attached to.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutConfig {
    pub page_size: u32,
    pub page_count: u32,
    pub control_slot_count: u32,
    pub control_backend_to_worker_capacity: u32,
    pub control_worker_to_backend_capacity: u32,
    pub scan_slot_count: u32,
    pub scan_backend_to_worker_capacity: u32,
    pub scan_worker_to_backend_capacity: u32,
    pub runtime_filter_count: u32,
    pub runtime_filter_bits: u32,
}

impl Default for LayoutConfig {
    /// The documented defaults (docs/configuration.md).
    fn default() -> Self {
        LayoutConfig {
            page_size: 65536,
            page_count: 256,
            control_slot_count: 64,
            control_backend_to_worker_capacity: 8192,
            control_worker_to_backend_capacity: 8192,
            scan_slot_count: 64,
            scan_backend_to_worker_capacity: 256,
            scan_worker_to_backend_capacity: 256,
            runtime_filter_count: 64,
            runtime_filter_bits: 1 << 20,
        }
    }
}

/// Why a configuration cannot be laid out. Names the setting, as the startup error must.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutError {
    pub setting: &'static str,
    pub reason: String,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pg_fusion.{}: {}", self.setting, self.reason)
    }
}

/// One group of slots: `count` slots of `stride` bytes each starting at `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotRegion {
    pub offset: usize,
    pub count: usize,
    pub stride: usize,
    /// Capacity in bytes of the backend->worker ring of each slot.
    pub to_worker_capacity: usize,
    /// Capacity in bytes of the worker->backend ring of each slot.
    pub to_backend_capacity: usize,
}

impl SlotRegion {
    fn new(offset: usize, count: u32, to_worker: u32, to_backend: u32) -> SlotRegion {
        let to_worker_capacity = to_worker as usize;
        let to_backend_capacity = to_backend as usize;
        let stride = align_up(
            size_of::<SlotHeader>()
                + 2 * size_of::<RingHeader>()
                + align_up(to_worker_capacity, REGION_ALIGN)
                + align_up(to_backend_capacity, REGION_ALIGN),
            REGION_ALIGN,
        );
        SlotRegion { offset, count: count as usize, stride, to_worker_capacity, to_backend_capacity }
    }

    pub fn size(&self) -> usize {
        self.count * self.stride
    }

    /// Offset of slot `i`'s header. `i < count` is the caller's proof obligation, checked here.
    pub fn slot_offset(&self, i: usize) -> Option<usize> {
        (i < self.count).then(|| self.offset + i * self.stride)
    }

    /// Offsets (header, data) of slot `i`'s backend->worker ring.
    pub fn to_worker_ring(&self, i: usize) -> Option<(usize, usize)> {
        let slot = self.slot_offset(i)?;
        let header = slot + size_of::<SlotHeader>();
        Some((header, header + size_of::<RingHeader>()))
    }

    /// Offsets (header, data) of slot `i`'s worker->backend ring.
    pub fn to_backend_ring(&self, i: usize) -> Option<(usize, usize)> {
        let (_, data) = self.to_worker_ring(i)?;
        let header = data + align_up(self.to_worker_capacity, REGION_ALIGN);
        Some((header, header + size_of::<RingHeader>()))
    }
}

/// Offsets and sizes of every region, computed from a [`LayoutConfig`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub config: LayoutConfig,
    pub page_states_offset: usize,
    pub wakeup_offset: usize,
    pub wakeup_count: usize,
    pub metrics_offset: usize,
    pub control: SlotRegion,
    pub scan: SlotRegion,
    pub filters_offset: usize,
    pub filter_stride: usize,
    pub pages_offset: usize,
    pub page_stride: usize,
    pub total_size: usize,
}

pub const fn align_up(n: usize, align: usize) -> usize {
    n.div_ceil(align) * align
}

fn check_range(setting: &'static str, value: u32, min: u32, max: u32) -> Result<(), LayoutError> {
    if value < min || value > max {
        return Err(LayoutError {
            setting,
            reason: format!("{value} is outside the valid range {min} .. {max}"),
        });
    }
    Ok(())
}

impl Layout {
    pub fn new(config: LayoutConfig) -> Result<Layout, LayoutError> {
        check_range("page_size", config.page_size, MIN_PAGE_SIZE, MAX_PAGE_SIZE)?;
        check_range("page_count", config.page_count, 2, 1 << 20)?;
        check_range("control_slot_count", config.control_slot_count, 1, 1 << 14)?;
        check_range("scan_slot_count", config.scan_slot_count, 1, 1 << 14)?;
        // Page-pool owner ids carry a 16-bit part per slot and per worker role (see
        // `Segment::worker_owner`): 3 per control slot, 1 per scan slot, never 0.
        if 3 * config.control_slot_count as u64 + config.scan_slot_count as u64 >= 1 << 16 {
            return Err(LayoutError {
                setting: "control_slot_count",
                reason: "3 * control_slot_count + scan_slot_count must be below 65536".into(),
            });
        }
        for (setting, cap) in [
            ("control_backend_to_worker_capacity", config.control_backend_to_worker_capacity),
            ("control_worker_to_backend_capacity", config.control_worker_to_backend_capacity),
            ("scan_backend_to_worker_capacity", config.scan_backend_to_worker_capacity),
            ("scan_worker_to_backend_capacity", config.scan_worker_to_backend_capacity),
        ] {
            check_range(setting, cap, MIN_RING_CAPACITY, 1 << 30)?;
        }
        check_range("runtime_filter_count", config.runtime_filter_count, 0, 1 << 14)?;
        check_range("runtime_filter_bits", config.runtime_filter_bits, 64, 1 << 30)?;

        let mut at = align_up(size_of::<SegmentHeaderLayout>(), REGION_ALIGN);
        let page_states_offset = at;
        at = align_up(at + config.page_count as usize * 8, REGION_ALIGN);

        let wakeup_offset = at;
        let wakeup_count = 1 + config.control_slot_count as usize + config.scan_slot_count as usize;
        at = align_up(at + wakeup_count * size_of::<WakeupEntry>(), REGION_ALIGN);

        let metrics_offset = at;
        at = align_up(at + METRIC_COUNT * 8, REGION_ALIGN);

        let control = SlotRegion::new(
            at,
            config.control_slot_count,
            config.control_backend_to_worker_capacity,
            config.control_worker_to_backend_capacity,
        );
        at = align_up(at + control.size(), REGION_ALIGN);

        let scan = SlotRegion::new(
            at,
            config.scan_slot_count,
            config.scan_backend_to_worker_capacity,
            config.scan_worker_to_backend_capacity,
        );
        at = align_up(at + scan.size(), REGION_ALIGN);

        let filters_offset = at;
        let filter_stride = align_up(
            size_of::<FilterHeader>() + (config.runtime_filter_bits as usize).div_ceil(8),
            REGION_ALIGN,
        );
        at = align_up(at + config.runtime_filter_count as usize * filter_stride, REGION_ALIGN);

        let pages_offset = at;
        let page_stride = align_up(config.page_size as usize, REGION_ALIGN);
        let total_size =
            pages_offset.checked_add(config.page_count as usize * page_stride).ok_or_else(|| {
                LayoutError {
                    setting: "page_count",
                    reason: "page_count x page_size does not fit the address space".into(),
                }
            })?;

        Ok(Layout {
            config,
            page_states_offset,
            wakeup_offset,
            wakeup_count,
            metrics_offset,
            control,
            scan,
            filters_offset,
            filter_stride,
            pages_offset,
            page_stride,
            total_size,
        })
    }

    /// Offset of page `index`, or `None` when out of range.
    pub fn page_offset(&self, index: u32) -> Option<usize> {
        (index < self.config.page_count).then(|| self.pages_offset + index as usize * self.page_stride)
    }

    /// Offset of runtime filter slot `index`.
    pub fn filter_offset(&self, index: u32) -> Option<usize> {
        (index < self.config.runtime_filter_count)
            .then(|| self.filters_offset + index as usize * self.filter_stride)
    }
}

/// The segment header as it lies at offset 0. Atomic fields are described in `segment.rs`.
#[repr(C, align(64))]
pub struct SegmentHeaderLayout {
    pub magic: u64,
    pub version: u32,
    pub _pad: u32,
    pub config: LayoutConfig,
    /// Advanced by `pg_fusion_metrics_reset()`.
    pub reset_epoch: std::sync::atomic::AtomicU64,
    /// Round-robin start for page acquisition, so the pool is not always searched from page 0.
    pub page_hint: std::sync::atomic::AtomicU32,
    /// Producers that found the pool empty and are waiting on their latch.
    pub page_waiters: std::sync::atomic::AtomicU32,
    /// Pages the running queries reserved (see `admission`): at most `page_count`.
    pub pages_reserved: std::sync::atomic::AtomicU32,
    /// The last admission ticket handed out (see `admission`).
    pub admission_tickets: std::sync::atomic::AtomicU64,
    /// Queries admitted (a control slot with a reservation): at most `max_fusion_tasks`.
    pub queries_admitted: std::sync::atomic::AtomicU32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_layout_is_aligned_and_disjoint() {
        let l = Layout::new(LayoutConfig::default()).unwrap();
        let regions = [
            (0, l.page_states_offset),
            (l.page_states_offset, l.wakeup_offset),
            (l.wakeup_offset, l.metrics_offset),
            (l.metrics_offset, l.control.offset),
            (l.control.offset, l.scan.offset),
            (l.scan.offset, l.filters_offset),
            (l.filters_offset, l.pages_offset),
            (l.pages_offset, l.total_size),
        ];
        for (start, end) in regions {
            assert_eq!(start % REGION_ALIGN, 0);
            assert!(start <= end);
        }
        assert_eq!(l.total_size - l.pages_offset, 256 * 65536);
        assert_eq!(l.page_offset(255).unwrap() + 65536, l.total_size);
        assert_eq!(l.page_offset(256), None);
    }

    #[test]
    fn slot_rings_stay_inside_their_slot() {
        let c = LayoutConfig {
            control_backend_to_worker_capacity: 1001,
            control_worker_to_backend_capacity: 333,
            ..LayoutConfig::default()
        };
        let l = Layout::new(c).unwrap();
        for i in 0..l.control.count {
            let slot = l.control.slot_offset(i).unwrap();
            let (h1, d1) = l.control.to_worker_ring(i).unwrap();
            let (h2, d2) = l.control.to_backend_ring(i).unwrap();
            assert!(slot < h1 && h1 < d1 && d1 + 1001 <= h2 && h2 < d2);
            assert!(d2 + 333 <= slot + l.control.stride);
            assert_eq!(h1 % REGION_ALIGN, 0);
            assert_eq!(h2 % REGION_ALIGN, 0);
        }
        assert_eq!(l.control.slot_offset(l.control.count), None);
    }

    #[test]
    fn page_stride_rounds_up_to_alignment() {
        let c = LayoutConfig { page_size: 4100, ..LayoutConfig::default() };
        let l = Layout::new(c).unwrap();
        assert_eq!(l.page_stride, 4160);
        assert_eq!(l.pages_offset % REGION_ALIGN, 0);
    }

    #[test]
    fn too_small_page_is_rejected_naming_the_setting() {
        let c = LayoutConfig { page_size: 100, ..LayoutConfig::default() };
        let err = Layout::new(c).unwrap_err();
        assert_eq!(err.setting, "page_size");
        assert!(err.to_string().contains("pg_fusion.page_size"));
    }

    #[test]
    fn tiny_ring_is_rejected() {
        let c = LayoutConfig { scan_backend_to_worker_capacity: 64, ..LayoutConfig::default() };
        assert_eq!(Layout::new(c).unwrap_err().setting, "scan_backend_to_worker_capacity");
    }

    #[test]
    fn layout_is_deterministic() {
        let c = LayoutConfig::default();
        assert_eq!(Layout::new(c).unwrap(), Layout::new(c).unwrap());
    }
}
