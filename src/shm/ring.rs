//! Single-producer single-consumer byte ring in shared memory, carrying length-framed messages.
//!
//! Rules (who may write what):
//! - `tail` counts bytes ever produced; only the producer stores it (Release, after the frame's
//!   bytes are written). `head` counts bytes ever consumed; only the consumer stores it (Release,
//!   after the frame's bytes are read).
//! - Always `head <= tail <= head + capacity`. Both are monotonic u64 counters; a byte's position
//!   in the data area is `counter % capacity`, so frames may wrap around the end of the area.
//! - A frame is `u32 length` (native endian) followed by `length` payload bytes. The producer
//!   publishes a frame whole (one `tail` store), so a consumer never sees half a frame. A frame that
//!   claims more bytes than are published is corruption, reported, never read past.
//! - `reset` is only called by the slot's owner while no peer is attached (see `slots.rs`).
//! - `try_recv_if` reads the next frame and consumes it only if the caller accepts it: a consumer
//!   that may belong to an ended session (a worker task not yet stopped) leaves a newer session's
//!   frames to that session's consumer.
//! - Sending never blocks and never allocates: a full ring returns [`SendError::Full`] and the
//!   caller waits on its latch for the consumer to make room.

use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

/// The shared part of a ring; the data area follows it in the segment.
#[repr(C, align(64))]
pub struct RingHeader {
    /// Bytes consumed since reset. In `tail - capacity ..= tail`. Written by the consumer only.
    head: AtomicU64,
    _pad0: [u64; 7],
    /// Bytes produced since reset. In `head ..= head + capacity`. Written by the producer only.
    tail: AtomicU64,
    _pad1: [u64; 7],
}

const _: () = assert!(std::mem::size_of::<RingHeader>() == 128);

const FRAME_HEADER: usize = 4;

#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// Not enough free space now; retry after the consumer advances.
    Full,
    /// The message can never fit this ring; it must travel through pages.
    TooLarge { len: usize, capacity: usize },
}

#[derive(Debug, PartialEq, Eq)]
pub enum RecvError {
    /// The published bytes do not form a valid frame: the peer wrote garbage or the ring was reset
    /// under us. The ring must be abandoned.
    Corrupt,
}

/// A view of one ring. Cheap to copy; holds no ownership.
#[derive(Clone, Copy)]
pub struct Ring {
    header: *const RingHeader,
    data: *mut u8,
    capacity: usize,
}

// SAFETY: the ring only touches shared memory through atomics and raw-pointer copies whose
// ranges are guarded by the head/tail protocol above; it is meant to be used across processes and
// therefore across threads.
unsafe impl Send for Ring {}
// SAFETY: as above; `&Ring` exposes no non-atomic shared mutation beyond the SPSC protocol.
unsafe impl Sync for Ring {}

impl Ring {
    /// # Safety
    /// `header` must point to a `RingHeader` and `data` to `capacity` bytes, both inside a live
    /// mapping that outlives every use of this view, and both 8-byte aligned.
    pub unsafe fn from_raw(header: *mut u8, data: *mut u8, capacity: usize) -> Ring {
        debug_assert_eq!(header as usize % 64, 0);
        Ring { header: header as *const RingHeader, data, capacity }
    }

    fn header(&self) -> &RingHeader {
        // SAFETY: `from_raw`'s contract: the header lives as long as the view.
        unsafe { &*self.header }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The largest payload one frame can carry.
    pub fn max_payload(&self) -> usize {
        self.capacity - FRAME_HEADER
    }

    /// Zero both counters. Owner only, with no peer attached.
    pub fn reset(&self) {
        self.header().head.store(0, Ordering::Relaxed);
        // Release: the reset is published together with the slot's ownership word.
        self.header().tail.store(0, Ordering::Release);
    }

    /// Bytes currently queued (producer's or consumer's view; exact when quiescent).
    pub fn used(&self) -> usize {
        let h = self.header();
        let tail = h.tail.load(Ordering::Acquire);
        let head = h.head.load(Ordering::Acquire);
        // A corrupt peer could break `head <= tail <= head + capacity`: never report more than
        // the capacity.
        (tail.wrapping_sub(head) as usize).min(self.capacity)
    }

    pub fn is_empty(&self) -> bool {
        self.used() == 0
    }

    /// Copy `src` into the data area starting at counter position `pos`, wrapping.
    fn write_at(&self, pos: u64, src: &[u8]) {
        let start = (pos % self.capacity as u64) as usize;
        let first = src.len().min(self.capacity - start);
        // SAFETY: `start + first <= capacity` and `src.len() - first <= start` (src.len() <= capacity),
        // so both copies stay inside the data area; the producer owns these bytes until it
        // publishes `tail`, so no reader looks at them concurrently.
        unsafe {
            ptr::copy_nonoverlapping(src.as_ptr(), self.data.add(start), first);
            ptr::copy_nonoverlapping(src.as_ptr().add(first), self.data, src.len() - first);
        }
    }

    /// Copy from the data area at counter position `pos` into `dst`, wrapping.
    fn read_at(&self, pos: u64, dst: &mut [u8]) {
        let start = (pos % self.capacity as u64) as usize;
        let first = dst.len().min(self.capacity - start);
        // SAFETY: same bounds argument as `write_at`; these bytes are published (below `tail`) and
        // not reclaimed by the producer until the consumer stores a larger `head`.
        unsafe {
            ptr::copy_nonoverlapping(self.data.add(start), dst.as_mut_ptr(), first);
            ptr::copy_nonoverlapping(self.data, dst.as_mut_ptr().add(first), dst.len() - first);
        }
    }

    /// Producer: append one frame, all or nothing.
    pub fn try_send(&self, payload: &[u8]) -> Result<(), SendError> {
        let need = FRAME_HEADER + payload.len();
        if need > self.capacity || payload.len() > u32::MAX as usize {
            return Err(SendError::TooLarge { len: payload.len(), capacity: self.capacity });
        }
        let h = self.header();
        // Relaxed: only this producer stores `tail`.
        let tail = h.tail.load(Ordering::Relaxed);
        // Acquire: the consumer's reads of the bytes we are about to overwrite happened before.
        let head = h.head.load(Ordering::Acquire);
        let used = tail.wrapping_sub(head);
        if used > self.capacity as u64 {
            // The consumer's counter is corrupt; writing now would overwrite unread frames.
            return Err(SendError::Full);
        }
        let free = self.capacity - used as usize;
        if need > free {
            return Err(SendError::Full);
        }
        self.write_at(tail, &(payload.len() as u32).to_ne_bytes());
        self.write_at(tail + FRAME_HEADER as u64, payload);
        // Release: publishes the frame bytes written above.
        h.tail.store(tail + need as u64, Ordering::Release);
        Ok(())
    }

    /// Consumer: drop everything published so far, so one corrupt frame does not poison every
    /// later session of the slot. The consumer owns `head`, so this is its call to make.
    fn discard_published(&self, tail: u64) {
        // Release: as in `try_recv`, our (non-)reads happen before the producer reuses the bytes.
        self.header().head.store(tail, Ordering::Release);
    }

    /// Consumer: take the next frame, appending its payload to `out`. `Ok(false)` when empty.
    pub fn try_recv(&self, out: &mut Vec<u8>) -> Result<bool, RecvError> {
        Ok(self.try_recv_if(out, |_| true)? == Recv::Taken)
    }

    /// Consumer: read the next frame into `out` (appended) and consume it only if `accept` says
    /// so; a frame left in place stays next for whoever consumes the ring.
    pub fn try_recv_if(
        &self,
        out: &mut Vec<u8>,
        accept: impl FnOnce(&[u8]) -> bool,
    ) -> Result<Recv, RecvError> {
        let h = self.header();
        // Relaxed: only this consumer stores `head`.
        let head = h.head.load(Ordering::Relaxed);
        // Acquire: pairs with the producer's Release store, making the frame bytes visible.
        let tail = h.tail.load(Ordering::Acquire);
        let avail = tail.wrapping_sub(head);
        if avail == 0 {
            return Ok(Recv::Empty);
        }
        if avail < FRAME_HEADER as u64 || avail > self.capacity as u64 {
            self.discard_published(tail);
            return Err(RecvError::Corrupt);
        }
        let mut len = [0u8; FRAME_HEADER];
        self.read_at(head, &mut len);
        let len = u32::from_ne_bytes(len) as u64;
        if FRAME_HEADER as u64 + len > avail {
            self.discard_published(tail);
            return Err(RecvError::Corrupt);
        }
        let start = out.len();
        out.resize(start + len as usize, 0);
        self.read_at(head + FRAME_HEADER as u64, &mut out[start..]);
        if !accept(&out[start..]) {
            return Ok(Recv::Left);
        }
        // Release: our reads of the frame happen before the producer may overwrite it.
        h.head.store(head + FRAME_HEADER as u64 + len, Ordering::Release);
        Ok(Recv::Taken)
    }
}

/// What [`Ring::try_recv_if`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Recv {
    Empty,
    Taken,
    /// A frame was read but not consumed.
    Left,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_left_in_place_stays_next() {
        let t = ring(64);
        t.ring.try_send(b"abc").unwrap();
        t.ring.try_send(b"de").unwrap();
        let mut out = Vec::new();
        assert_eq!(t.ring.try_recv_if(&mut out, |f| f != b"abc"), Ok(Recv::Left));
        assert_eq!(out, b"abc");
        out.clear();
        assert_eq!(t.ring.try_recv_if(&mut out, |_| true), Ok(Recv::Taken));
        assert_eq!(out, b"abc");
        out.clear();
        assert_eq!(t.ring.try_recv(&mut out), Ok(true));
        assert_eq!(out, b"de");
        assert_eq!(t.ring.try_recv_if(&mut out, |_| true), Ok(Recv::Empty));
    }

    /// A ring over heap memory, aligned as in the segment.
    struct TestRing {
        _mem: Vec<u64>,
        ring: Ring,
    }

    fn ring(capacity: usize) -> TestRing {
        let words = (128 + capacity).div_ceil(8) + 8;
        let mut mem = vec![0u64; words];
        let base = mem.as_mut_ptr() as usize;
        let aligned = base.div_ceil(64) * 64;
        // SAFETY: `aligned .. aligned + 128 + capacity` lies inside `mem`, which the TestRing keeps.
        let ring = unsafe { Ring::from_raw(aligned as *mut u8, (aligned + 128) as *mut u8, capacity) };
        ring.reset();
        TestRing { _mem: mem, ring }
    }

    #[test]
    fn empty_ring_returns_nothing() {
        let t = ring(64);
        let mut out = Vec::new();
        assert_eq!(t.ring.try_recv(&mut out), Ok(false));
        assert!(t.ring.is_empty());
    }

    #[test]
    fn round_trip_preserves_frames_in_order() {
        let t = ring(256);
        for m in [&b"a"[..], b"", b"hello world"] {
            t.ring.try_send(m).unwrap();
        }
        let mut out = Vec::new();
        assert_eq!(t.ring.try_recv(&mut out), Ok(true));
        assert_eq!(out, b"a");
        out.clear();
        assert_eq!(t.ring.try_recv(&mut out), Ok(true));
        assert!(out.is_empty());
        assert_eq!(t.ring.try_recv(&mut out), Ok(true));
        assert_eq!(out, b"hello world");
        assert_eq!(t.ring.try_recv(&mut out), Ok(false));
    }

    #[test]
    fn ring_full_returns_full_until_consumer_advances() {
        let t = ring(32);
        t.ring.try_send(&[1; 12]).unwrap(); // 16 bytes
        t.ring.try_send(&[2; 12]).unwrap(); // 32 bytes: exactly full
        assert_eq!(t.ring.try_send(&[]), Err(SendError::Full));
        let mut out = Vec::new();
        t.ring.try_recv(&mut out).unwrap();
        t.ring.try_send(&[3; 12]).unwrap();
    }

    #[test]
    fn oversized_message_is_too_large_not_full() {
        let t = ring(32);
        assert_eq!(t.ring.try_send(&[0; 29]), Err(SendError::TooLarge { len: 29, capacity: 32 }));
        t.ring.try_send(&[0; 28]).unwrap();
    }

    #[test]
    fn frames_wrap_around_the_end() {
        let t = ring(40);
        let mut out = Vec::new();
        // Advance the counters so frames straddle the end of the data area many times.
        for i in 0..1000u32 {
            let msg: Vec<u8> = (0..(i % 23) as u8).map(|b| b ^ i as u8).collect();
            t.ring.try_send(&msg).unwrap();
            out.clear();
            assert_eq!(t.ring.try_recv(&mut out), Ok(true));
            assert_eq!(out, msg);
        }
        assert!(t.ring.is_empty());
    }

    #[test]
    fn corrupt_length_is_reported_not_read() {
        let t = ring(64);
        t.ring.try_send(b"abcd").unwrap();
        // Overwrite the frame length with a lie.
        t.ring.write_at(0, &1000u32.to_ne_bytes());
        let mut out = Vec::new();
        assert_eq!(t.ring.try_recv(&mut out), Err(RecvError::Corrupt));
        // The corrupt bytes were discarded: the ring works again.
        assert!(t.ring.is_empty());
        t.ring.try_send(b"next").unwrap();
        out.clear();
        assert_eq!(t.ring.try_recv(&mut out), Ok(true));
        assert_eq!(out, b"next");
    }

    #[test]
    fn corrupt_consumer_counter_never_overwrites_unread_frames() {
        let t = ring(64);
        t.ring.try_send(b"abcd").unwrap();
        // A peer writes a head beyond tail (tail - head wraps to a huge value).
        t.ring.header().head.store(1000, Ordering::Relaxed);
        assert_eq!(t.ring.try_send(b"x"), Err(SendError::Full));
        assert!(t.ring.used() <= 64);
    }

    #[test]
    fn concurrent_producer_consumer_sees_every_frame() {
        let t = ring(100);
        let r = t.ring;
        let producer = std::thread::spawn(move || {
            for i in 0..20_000u32 {
                let msg = i.to_le_bytes().repeat((i % 7) as usize + 1);
                loop {
                    match r.try_send(&msg) {
                        Ok(()) => break,
                        Err(SendError::Full) => std::thread::yield_now(),
                        Err(e) => panic!("{e:?}"),
                    }
                }
            }
        });
        let mut out = Vec::new();
        for i in 0..20_000u32 {
            out.clear();
            while !t.ring.try_recv(&mut out).unwrap() {
                std::thread::yield_now();
            }
            assert_eq!(out, i.to_le_bytes().repeat((i % 7) as usize + 1));
        }
        producer.join().unwrap();
    }
}
