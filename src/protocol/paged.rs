//! Messages larger than a ring travel through pages.
//!
//! Rules:
//! - The sender encodes the message as usual; when the frame does not fit its ring it copies the
//!   message bytes (without the envelope) into as few pages as hold them, leased under its own
//!   owner, and sends a small [`super::ToWorker::Paged`] / [`super::ToBackend::Paged`] frame that
//!   names the pages in order and the byte length. A paged message never carries another paged
//!   message.
//! - Pages are taken all at once or not at all ([`write`]), so a sender never sits on part of the
//!   pool while it waits for the rest (no deadlock between two large senders); it waits on its
//!   latch and retries (backpressure).
//! - The receiver takes each page over with [`PagePool::transfer`] before it reads a byte, copies,
//!   and releases it ([`read`]). A page whose transfer fails was reclaimed with the sender's
//!   session: the whole message is rejected. Pages the receiver never takes over are reclaimed
//!   with the sender's owner, like any other lease.

use crate::shm::{OwnerId, PageDescriptor, PagePool};

/// How many pages `len` bytes need.
pub fn pages_needed(len: usize, page_size: usize) -> usize {
    len.div_ceil(page_size.max(1))
}

/// Copy `bytes` into freshly leased pages under `owner`, all or nothing. `None`: not enough free
/// pages right now (nothing is left leased).
pub fn write(pool: &PagePool<'_>, owner: OwnerId, bytes: &[u8]) -> Option<Vec<PageDescriptor>> {
    let size = pool.page_size();
    let mut pages = Vec::with_capacity(pages_needed(bytes.len(), size));
    for chunk in bytes.chunks(size) {
        let Some(desc) = pool.acquire(owner) else {
            for d in pages {
                let _ = pool.release(d);
            }
            return None;
        };
        match pool.page_ptr(desc) {
            // SAFETY: we hold the lease on `desc`; the page is `size` bytes inside the segment and
            // nobody else touches it before its descriptor is sent; `chunk.len() <= size`.
            Ok(ptr) => unsafe { std::ptr::copy_nonoverlapping(chunk.as_ptr(), ptr, chunk.len()) },
            Err(_) => {
                let _ = pool.release(desc);
                for d in pages {
                    let _ = pool.release(d);
                }
                return None;
            }
        }
        pages.push(desc);
    }
    Some(pages)
}

#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The page list does not match the length, or a page is not the sender's any more.
    Stale,
}

/// Take over the pages from `from` (to `to`), copy `len` bytes out of them and release them.
/// Every page of the list is released or left to its owner's reclaim, whatever happens.
pub fn read(
    pool: &PagePool<'_>,
    pages: &[PageDescriptor],
    len: usize,
    from: OwnerId,
    to: OwnerId,
) -> Result<Vec<u8>, ReadError> {
    let size = pool.page_size();
    if pages.len() != pages_needed(len, size) {
        return Err(ReadError::Stale);
    }
    let mut out = Vec::with_capacity(len);
    let mut result = Ok(());
    for &desc in pages {
        if result.is_err() || pool.transfer(desc, from, to).is_err() {
            result = Err(ReadError::Stale);
            continue;
        }
        let take = (len - out.len()).min(size);
        match pool.page_ptr(desc) {
            // SAFETY: the lease is ours now (transfer succeeded); the page is `size` bytes inside
            // the segment and `take <= size`.
            Ok(ptr) => out.extend_from_slice(unsafe { std::slice::from_raw_parts(ptr, take) }),
            Err(_) => result = Err(ReadError::Stale),
        }
        let _ = pool.release(desc);
    }
    result.map(|()| out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shm::segment::TestSegment;
    use crate::shm::LayoutConfig;

    fn config() -> LayoutConfig {
        LayoutConfig { page_count: 4, page_size: 4096, runtime_filter_bits: 1024, ..LayoutConfig::default() }
    }

    #[test]
    fn round_trip_across_pages() {
        let t = TestSegment::new(config());
        let pool = t.segment.pool();
        let (a, b) = (OwnerId::new(1).unwrap(), OwnerId::new(2).unwrap());
        let bytes: Vec<u8> = (0..9000u32).map(|i| (i * 7) as u8).collect();
        let pages = write(&pool, a, &bytes).unwrap();
        assert_eq!(pages.len(), 3);
        assert_eq!(pool.in_use(), 3);
        assert_eq!(read(&pool, &pages, bytes.len(), a, b), Ok(bytes));
        assert_eq!(pool.in_use(), 0);
    }

    #[test]
    fn all_or_nothing_when_the_pool_is_short() {
        let t = TestSegment::new(config());
        let pool = t.segment.pool();
        let a = OwnerId::new(1).unwrap();
        let held = pool.acquire(a).unwrap();
        assert_eq!(write(&pool, a, &[1u8; 4 * 4096]), None);
        assert_eq!(pool.in_use(), 1);
        pool.release(held).unwrap();
        assert!(write(&pool, a, &[1u8; 4 * 4096]).is_some());
    }

    #[test]
    fn reclaimed_or_mismatched_pages_are_rejected_and_returned() {
        let t = TestSegment::new(config());
        let pool = t.segment.pool();
        let (a, b) = (OwnerId::new(1).unwrap(), OwnerId::new(2).unwrap());
        let pages = write(&pool, a, &[5u8; 5000]).unwrap();
        assert_eq!(read(&pool, &pages, 9000, a, b), Err(ReadError::Stale));
        assert_eq!(pool.in_use(), 2, "a length mismatch takes nothing over");
        pool.reclaim_owner(a);
        assert_eq!(read(&pool, &pages, 5000, a, b), Err(ReadError::Stale));
        assert_eq!(pool.in_use(), 0);
        // One page reclaimed, the other still the sender's: the survivor is released too.
        let pages = write(&pool, a, &[5u8; 5000]).unwrap();
        pool.release(pages[0]).unwrap();
        assert_eq!(read(&pool, &pages, 5000, a, b), Err(ReadError::Stale));
        assert_eq!(pool.in_use(), 1, "pages after the first failure stay with their owner's reclaim");
    }
}
