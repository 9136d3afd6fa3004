//! Messages on the control rings, and their byte encoding.
//!
//! A ring frame is an envelope: the sender's session generation (u32, little endian) followed by
//! one message, a one-byte tag and its fields, little endian. The generation lets each side skip
//! frames of an earlier session of the same slot (see `crate::shm::slots`). Decoding never trusts
//! the peer: a short or unknown frame is a [`DecodeError`], not a panic.
//!
//! Backend -> worker: [`ToWorker`]. Worker -> backend: [`ToBackend`]. Scan producer -> worker,
//! on a scan slot: [`ScanMsg`].
//!
//! A query: the backend claims a control slot and one scan slot per scan leaf, sends
//! [`ToWorker::Execute`]; producers send [`ScanMsg::Page`]s (as far as the worker's
//! [`ScanMsg::Credit`]s allow) and one [`ScanMsg::End`]; the worker may send a producer
//! [`ScanMsg::Filter`]s (runtime filters, `crate::shm::filter`) before credits; the worker
//! answers with [`ToBackend::ResultPage`]s and one [`ToBackend::Done`] or [`ToBackend::Error`].
//! Releasing the control slot is the cancel: the worker stops a query whose session has ended.
//! A control message that does not fit its ring travels through pages ([`paged`]).

pub mod paged;

/// One session of one slot, as sent to the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotRef {
    pub index: u32,
    pub generation: u32,
}

/// A block in a page: the page's lease and the block's row count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRef {
    pub index: u32,
    pub generation: u32,
    pub rows: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToWorker {
    /// Liveness probe; answered by [`ToBackend::Pong`] with the same nonce.
    Ping { nonce: u64 },
    /// Run a query (see [`Execute`]).
    Execute(Execute),
    /// A message too large for the ring, in pages (see [`paged`]).
    Paged(PagedRef),
}

/// Run a serialized logical plan: what the worker's query task gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execute {
    /// The DataFusion logical plan (`crate::plan::codec`).
    pub plan: Vec<u8>,
    /// Leaf `i` reads the scan slots `scans[i]`, one per scan producer (the leader backend
    /// first, then its parallel workers), as one partition each.
    pub scans: Vec<Vec<SlotRef>>,
    /// PostgreSQL's estimate of leaf `i`'s rows (None: unknown: a leaf reading a shared scan,
    /// or every leaf with `pg_fusion.join_reordering` off); DataFusion picks each hash join's
    /// build side by them.
    pub estimates: Vec<Option<u64>>,
    /// EXPLAIN ANALYZE: [`ToBackend::Done`] carries the executed plan with its metrics.
    pub analyze: bool,
    /// The query's page budget (`crate::shm::admission`): the pages each producer may fill
    /// before the worker read them (its credits: a producer starts with none, and the worker
    /// grants them when it first reads the producer's partition), the imported pages the
    /// query's arrays may keep, the result pages it may have in flight.
    pub credits: u32,
    pub pins: u32,
    pub results: u32,
    /// The longest a scan waiting for its producer sleeps without a wake, in microseconds
    /// (`pg_fusion.scan_idle_poll_interval_us` when the query started).
    pub idle_poll_us: u32,
    /// Bits per key of the query's runtime filters (`pg_fusion.runtime_filter_hashes`), 0 when
    /// `pg_fusion.runtime_filter_enable` is off.
    pub runtime_filter_hashes: u8,
    /// Per leaf, the columns its producers can read through an index by a list of keys
    /// (index probing, `crate::index_probe`), each with the statistics the decision weighs.
    pub probes: Vec<Vec<ProbeColumn>>,
}

/// A column of a scan leaf whose producers have an index-probe plan for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeColumn {
    /// The producer's column.
    pub column: u16,
    /// PostgreSQL's estimate of the column's distinct values, and of the table's rows.
    pub distinct: u64,
    pub rows: u64,
    /// ANALYZE's correlation of the column with the table's physical order, in thousandths
    /// (-1000 ..= 1000; 0 without statistics).
    pub correlation: i16,
}

/// Where a message too large for its ring lies: `len` bytes across `pages`, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagedRef {
    pub len: u32,
    pub pages: Vec<crate::shm::PageDescriptor>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToBackend {
    Pong {
        nonce: u64,
        worker_pid: i32,
    },
    ResultPage(PageRef),
    /// The query finished; `plan` is the executed plan with metrics when asked for, else empty.
    Done {
        rows: u64,
        plan: String,
    },
    Error {
        sqlstate: [u8; 5],
        message: String,
    },
    /// A message too large for the ring, in pages (see [`paged`]).
    Paged(PagedRef),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanMsg {
    Page(PageRef),
    /// The last message: rows encoded, and rows a runtime filter kept from being encoded.
    End {
        rows: u64,
        rejected: u64,
    },
    /// Worker -> producer, on the scan slot's other ring: the producer may send `pages` more
    /// pages (credit-based flow control, see `crate::pg::producer`).
    Credit {
        pages: u32,
    },
    /// Worker -> producer, before any credit that should see it: test each row's key against
    /// runtime filter slot `index` of `generation` (see `crate::shm::filter`) before encoding it;
    /// the key is the producer's columns `columns`, in the join's key order.
    Filter {
        index: u32,
        generation: u32,
        columns: Vec<u16>,
    },
    /// Worker -> producer, before any credit: read the leaf by its index on column `column`
    /// instead, for the keys that follow in `batches` [`ScanMsg::Keys`] (see
    /// `crate::index_probe`; every producer of the leaf gets every batch and runs those it
    /// claims). Zero batches: read nothing (no key at all).
    Probe {
        column: u16,
        batches: u32,
    },
    /// Worker -> producer: one batch of probe keys, the `count` keys of filter slot `index` of
    /// `generation` (`crate::shm::filter`).
    Keys {
        index: u32,
        generation: u32,
        count: u32,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    Empty,
    UnknownTag(u8),
    Truncated { tag: u8 },
    TrailingBytes { tag: u8 },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Empty => write!(f, "empty message"),
            DecodeError::UnknownTag(t) => write!(f, "unknown message tag {t}"),
            DecodeError::Truncated { tag } => write!(f, "truncated message (tag {tag})"),
            DecodeError::TrailingBytes { tag } => write!(f, "trailing bytes in message (tag {tag})"),
        }
    }
}

/// Prefix `generation` to a message encoded by `encode` into `out` (cleared first).
pub fn envelope(generation: u32, out: &mut Vec<u8>, encode: impl FnOnce(&mut Vec<u8>)) {
    out.clear();
    out.extend_from_slice(&generation.to_le_bytes());
    encode(out);
}

/// Split a frame into its session generation and the message bytes.
pub fn open_envelope(frame: &[u8]) -> Result<(u32, &[u8]), DecodeError> {
    let (generation, rest) = frame.split_first_chunk::<4>().ok_or(DecodeError::Empty)?;
    Ok((u32::from_le_bytes(*generation), rest))
}

/// An estimate of rows that is not known.
const UNKNOWN_ROWS: u64 = u64::MAX;

const TAG_PING: u8 = 1;
const TAG_PONG: u8 = 2;
const TAG_EXECUTE: u8 = 3;
const TAG_RESULT_PAGE: u8 = 4;
const TAG_DONE: u8 = 5;
const TAG_ERROR: u8 = 6;
const TAG_SCAN_PAGE: u8 = 7;
const TAG_SCAN_END: u8 = 8;
const TAG_PAGED: u8 = 9;
const TAG_SCAN_CREDIT: u8 = 10;
const TAG_SCAN_FILTER: u8 = 11;
const TAG_SCAN_PROBE: u8 = 12;
const TAG_SCAN_KEYS: u8 = 13;
/// Key columns of one runtime filter at most.
pub const MAX_FILTER_COLUMNS: usize = 16;

fn put_paged(out: &mut Vec<u8>, p: &PagedRef) {
    out.push(TAG_PAGED);
    out.extend_from_slice(&p.len.to_le_bytes());
    out.extend_from_slice(&(p.pages.len() as u32).to_le_bytes());
    for d in &p.pages {
        out.extend_from_slice(&d.index.to_le_bytes());
        out.extend_from_slice(&d.generation.to_le_bytes());
    }
}

fn put_page(out: &mut Vec<u8>, p: &PageRef) {
    out.extend_from_slice(&p.index.to_le_bytes());
    out.extend_from_slice(&p.generation.to_le_bytes());
    out.extend_from_slice(&p.rows.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// Reads fixed-width fields from a frame, failing instead of panicking on short input.
struct Reader<'a> {
    tag: u8,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(frame: &'a [u8]) -> Result<Reader<'a>, DecodeError> {
        let (&tag, rest) = frame.split_first().ok_or(DecodeError::Empty)?;
        Ok(Reader { tag, rest })
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, rest) =
            self.rest.split_first_chunk::<N>().ok_or(DecodeError::Truncated { tag: self.tag })?;
        self.rest = rest;
        Ok(*head)
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        self.take::<8>().map(u64::from_le_bytes)
    }

    fn i32(&mut self) -> Result<i32, DecodeError> {
        self.take::<4>().map(i32::from_le_bytes)
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        self.take::<4>().map(u32::from_le_bytes)
    }

    fn page(&mut self) -> Result<PageRef, DecodeError> {
        Ok(PageRef { index: self.u32()?, generation: self.u32()?, rows: self.u32()? })
    }

    fn bytes(&mut self) -> Result<Vec<u8>, DecodeError> {
        let len = self.u32()? as usize;
        if self.rest.len() < len {
            return Err(DecodeError::Truncated { tag: self.tag });
        }
        let (b, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(b.to_vec())
    }

    fn paged(&mut self) -> Result<PagedRef, DecodeError> {
        let len = self.u32()?;
        let n = self.u32()? as usize;
        if self.rest.len() < n.saturating_mul(8) {
            return Err(DecodeError::Truncated { tag: self.tag });
        }
        let mut pages = Vec::with_capacity(n);
        for _ in 0..n {
            pages.push(crate::shm::PageDescriptor { index: self.u32()?, generation: self.u32()? });
        }
        Ok(PagedRef { len, pages })
    }

    fn finish<T>(self, value: T) -> Result<T, DecodeError> {
        if self.rest.is_empty() {
            Ok(value)
        } else {
            Err(DecodeError::TrailingBytes { tag: self.tag })
        }
    }
}

impl ToWorker {
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ToWorker::Ping { nonce } => {
                out.push(TAG_PING);
                out.extend_from_slice(&nonce.to_le_bytes());
            }
            ToWorker::Execute(Execute {
                plan,
                scans,
                estimates,
                analyze,
                credits,
                pins,
                results,
                idle_poll_us,
                runtime_filter_hashes,
                probes,
            }) => {
                out.push(TAG_EXECUTE);
                put_bytes(out, plan);
                out.extend_from_slice(&(scans.len() as u32).to_le_bytes());
                for leaf in scans {
                    out.extend_from_slice(&(leaf.len() as u32).to_le_bytes());
                    for s in leaf {
                        out.extend_from_slice(&s.index.to_le_bytes());
                        out.extend_from_slice(&s.generation.to_le_bytes());
                    }
                }
                out.extend_from_slice(&(estimates.len() as u32).to_le_bytes());
                for e in estimates {
                    out.extend_from_slice(&e.unwrap_or(UNKNOWN_ROWS).to_le_bytes());
                }
                out.push(*analyze as u8);
                out.extend_from_slice(&credits.to_le_bytes());
                out.extend_from_slice(&pins.to_le_bytes());
                out.extend_from_slice(&results.to_le_bytes());
                out.extend_from_slice(&idle_poll_us.to_le_bytes());
                out.push(*runtime_filter_hashes);
                out.extend_from_slice(&(probes.len() as u32).to_le_bytes());
                for leaf in probes {
                    out.extend_from_slice(&(leaf.len() as u32).to_le_bytes());
                    for p in leaf {
                        out.extend_from_slice(&p.column.to_le_bytes());
                        out.extend_from_slice(&p.distinct.to_le_bytes());
                        out.extend_from_slice(&p.rows.to_le_bytes());
                        out.extend_from_slice(&p.correlation.to_le_bytes());
                    }
                }
            }
            ToWorker::Paged(p) => put_paged(out, p),
        }
    }

    pub fn decode(frame: &[u8]) -> Result<ToWorker, DecodeError> {
        let mut r = Reader::new(frame)?;
        match r.tag {
            TAG_PING => {
                let nonce = r.u64()?;
                r.finish(ToWorker::Ping { nonce })
            }
            TAG_EXECUTE => {
                let plan = r.bytes()?;
                let n = r.u32()? as usize;
                let mut scans = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    let k = r.u32()? as usize;
                    let mut leaf = Vec::with_capacity(k.min(64));
                    for _ in 0..k {
                        leaf.push(SlotRef { index: r.u32()?, generation: r.u32()? });
                    }
                    scans.push(leaf);
                }
                let n = r.u32()? as usize;
                let mut estimates = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    estimates.push(Some(r.u64()?).filter(|&e| e != UNKNOWN_ROWS));
                }
                let analyze = r.take::<1>()?[0] != 0;
                let (credits, pins, results, idle_poll_us) = (r.u32()?, r.u32()?, r.u32()?, r.u32()?);
                let runtime_filter_hashes = r.take::<1>()?[0];
                let n = r.u32()? as usize;
                let mut probes = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    let k = r.u32()? as usize;
                    let mut leaf = Vec::with_capacity(k.min(16));
                    for _ in 0..k {
                        leaf.push(ProbeColumn {
                            column: u16::from_le_bytes(r.take::<2>()?),
                            distinct: r.u64()?,
                            rows: r.u64()?,
                            correlation: i16::from_le_bytes(r.take::<2>()?),
                        });
                    }
                    probes.push(leaf);
                }
                r.finish(ToWorker::Execute(Execute {
                    plan,
                    scans,
                    estimates,
                    analyze,
                    credits,
                    pins,
                    results,
                    idle_poll_us,
                    runtime_filter_hashes,
                    probes,
                }))
            }
            TAG_PAGED => {
                let p = r.paged()?;
                r.finish(ToWorker::Paged(p))
            }
            t => Err(DecodeError::UnknownTag(t)),
        }
    }
}

impl ToBackend {
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ToBackend::Pong { nonce, worker_pid } => {
                out.push(TAG_PONG);
                out.extend_from_slice(&nonce.to_le_bytes());
                out.extend_from_slice(&worker_pid.to_le_bytes());
            }
            ToBackend::ResultPage(p) => {
                out.push(TAG_RESULT_PAGE);
                put_page(out, p);
            }
            ToBackend::Done { rows, plan } => {
                out.push(TAG_DONE);
                out.extend_from_slice(&rows.to_le_bytes());
                put_bytes(out, plan.as_bytes());
            }
            ToBackend::Error { sqlstate, message } => {
                out.push(TAG_ERROR);
                out.extend_from_slice(sqlstate);
                put_bytes(out, message.as_bytes());
            }
            ToBackend::Paged(p) => put_paged(out, p),
        }
    }

    pub fn decode(frame: &[u8]) -> Result<ToBackend, DecodeError> {
        let mut r = Reader::new(frame)?;
        match r.tag {
            TAG_PONG => {
                let nonce = r.u64()?;
                let worker_pid = r.i32()?;
                r.finish(ToBackend::Pong { nonce, worker_pid })
            }
            TAG_RESULT_PAGE => {
                let p = r.page()?;
                r.finish(ToBackend::ResultPage(p))
            }
            TAG_DONE => {
                let rows = r.u64()?;
                let plan = String::from_utf8_lossy(&r.bytes()?).into_owned();
                r.finish(ToBackend::Done { rows, plan })
            }
            TAG_ERROR => {
                let sqlstate = r.take::<5>()?;
                let message = String::from_utf8_lossy(&r.bytes()?).into_owned();
                r.finish(ToBackend::Error { sqlstate, message })
            }
            TAG_PAGED => {
                let p = r.paged()?;
                r.finish(ToBackend::Paged(p))
            }
            t => Err(DecodeError::UnknownTag(t)),
        }
    }
}

impl ScanMsg {
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ScanMsg::Page(p) => {
                out.push(TAG_SCAN_PAGE);
                put_page(out, p);
            }
            ScanMsg::End { rows, rejected } => {
                out.push(TAG_SCAN_END);
                out.extend_from_slice(&rows.to_le_bytes());
                out.extend_from_slice(&rejected.to_le_bytes());
            }
            ScanMsg::Credit { pages } => {
                out.push(TAG_SCAN_CREDIT);
                out.extend_from_slice(&pages.to_le_bytes());
            }
            ScanMsg::Filter { index, generation, columns } => {
                out.push(TAG_SCAN_FILTER);
                out.extend_from_slice(&index.to_le_bytes());
                out.extend_from_slice(&generation.to_le_bytes());
                out.push(columns.len() as u8);
                for c in columns {
                    out.extend_from_slice(&c.to_le_bytes());
                }
            }
            ScanMsg::Probe { column, batches } => {
                out.push(TAG_SCAN_PROBE);
                out.extend_from_slice(&column.to_le_bytes());
                out.extend_from_slice(&batches.to_le_bytes());
            }
            ScanMsg::Keys { index, generation, count } => {
                out.push(TAG_SCAN_KEYS);
                out.extend_from_slice(&index.to_le_bytes());
                out.extend_from_slice(&generation.to_le_bytes());
                out.extend_from_slice(&count.to_le_bytes());
            }
        }
    }

    pub fn decode(frame: &[u8]) -> Result<ScanMsg, DecodeError> {
        let mut r = Reader::new(frame)?;
        match r.tag {
            TAG_SCAN_PAGE => {
                let p = r.page()?;
                r.finish(ScanMsg::Page(p))
            }
            TAG_SCAN_END => {
                let (rows, rejected) = (r.u64()?, r.u64()?);
                r.finish(ScanMsg::End { rows, rejected })
            }
            TAG_SCAN_CREDIT => {
                let pages = r.u32()?;
                r.finish(ScanMsg::Credit { pages })
            }
            TAG_SCAN_FILTER => {
                let (index, generation) = (r.u32()?, r.u32()?);
                let n = r.take::<1>()?[0] as usize;
                if n == 0 || n > MAX_FILTER_COLUMNS {
                    return Err(DecodeError::Truncated { tag: TAG_SCAN_FILTER });
                }
                let mut columns = Vec::with_capacity(n);
                for _ in 0..n {
                    columns.push(u16::from_le_bytes(r.take::<2>()?));
                }
                r.finish(ScanMsg::Filter { index, generation, columns })
            }
            TAG_SCAN_PROBE => {
                let column = u16::from_le_bytes(r.take::<2>()?);
                let batches = r.u32()?;
                r.finish(ScanMsg::Probe { column, batches })
            }
            TAG_SCAN_KEYS => {
                let (index, generation, count) = (r.u32()?, r.u32()?, r.u32()?);
                r.finish(ScanMsg::Keys { index, generation, count })
            }
            t => Err(DecodeError::UnknownTag(t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_pong_round_trip() {
        let mut buf = Vec::new();
        ToWorker::Ping { nonce: 0xdead_beef_1234 }.encode(&mut buf);
        assert_eq!(ToWorker::decode(&buf), Ok(ToWorker::Ping { nonce: 0xdead_beef_1234 }));
        buf.clear();
        ToBackend::Pong { nonce: 7, worker_pid: -3 }.encode(&mut buf);
        assert_eq!(ToBackend::decode(&buf), Ok(ToBackend::Pong { nonce: 7, worker_pid: -3 }));
    }

    #[test]
    fn query_messages_round_trip() {
        let mut buf = Vec::new();
        let exec = ToWorker::Execute(Execute {
            plan: vec![1, 2, 3],
            scans: vec![
                vec![SlotRef { index: 3, generation: 9 }],
                vec![SlotRef { index: 0, generation: 1 }, SlotRef { index: 5, generation: 2 }],
            ],
            estimates: vec![Some(6_001_215), None, Some(0)],
            analyze: true,
            credits: 5,
            pins: 6,
            results: 2,
            idle_poll_us: 50,
            runtime_filter_hashes: 4,
            probes: vec![
                vec![ProbeColumn { column: 2, distinct: 1_500_000, rows: 6_000_000, correlation: -999 }],
                vec![],
                vec![],
            ],
        });
        exec.encode(&mut buf);
        assert_eq!(ToWorker::decode(&buf), Ok(exec));
        for m in [
            ToBackend::ResultPage(PageRef { index: 1, generation: 2, rows: 3 }),
            ToBackend::Done { rows: 77, plan: String::new() },
            ToBackend::Done { rows: 0, plan: "ProjectionExec: metrics=[]".into() },
            ToBackend::Error { sqlstate: *b"22012", message: "division by zero".into() },
            ToBackend::Paged(PagedRef {
                len: 70_000,
                pages: vec![
                    crate::shm::PageDescriptor { index: 4, generation: 1 },
                    crate::shm::PageDescriptor { index: 2, generation: 8 },
                ],
            }),
        ] {
            buf.clear();
            m.encode(&mut buf);
            assert_eq!(ToBackend::decode(&buf), Ok(m));
        }
        for m in [
            ScanMsg::Page(PageRef { index: 5, generation: 6, rows: 7 }),
            ScanMsg::End { rows: 8, rejected: 9 },
            ScanMsg::Credit { pages: 3 },
            ScanMsg::Filter { index: 1, generation: 2, columns: vec![3, 4] },
            ScanMsg::Probe { column: 7, batches: 3 },
            ScanMsg::Keys { index: 4, generation: 5, count: 8192 },
        ] {
            buf.clear();
            m.encode(&mut buf);
            assert_eq!(ScanMsg::decode(&buf), Ok(m));
        }
        // A length prefix larger than the frame is an error, not a panic.
        assert_eq!(
            ToWorker::decode(&[TAG_EXECUTE, 255, 255, 0, 0, 1]),
            Err(DecodeError::Truncated { tag: TAG_EXECUTE })
        );
    }

    #[test]
    fn envelope_carries_the_generation() {
        let mut buf = vec![9, 9, 9];
        envelope(42, &mut buf, |out| ToWorker::Ping { nonce: 5 }.encode(out));
        let (generation, msg) = open_envelope(&buf).unwrap();
        assert_eq!(generation, 42);
        assert_eq!(ToWorker::decode(msg), Ok(ToWorker::Ping { nonce: 5 }));
        assert_eq!(open_envelope(&[1, 2]), Err(DecodeError::Empty));
    }

    /// Every message kind, encoded, then damaged and truncated at random: decoding gives a
    /// message or an error, never a panic, and never reads past the frame.
    #[test]
    fn damaged_and_truncated_frames_never_panic() {
        let mut frames = Vec::new();
        let mut buf = Vec::new();
        let exec = ToWorker::Execute(Execute {
            plan: (0..200).map(|i| i as u8).collect(),
            scans: vec![vec![SlotRef { index: 3, generation: 9 }, SlotRef { index: 4, generation: 1 }]],
            estimates: vec![Some(10), None],
            analyze: false,
            credits: 2,
            pins: 4,
            results: 2,
            idle_poll_us: 1000,
            runtime_filter_hashes: 0,
            probes: vec![vec![ProbeColumn { column: 0, distinct: 9, rows: 90, correlation: 1000 }]],
        });
        for m in [exec, ToWorker::Ping { nonce: 7 }] {
            buf.clear();
            m.encode(&mut buf);
            frames.push((0, buf.clone()));
        }
        for m in [
            ToBackend::ResultPage(PageRef { index: 1, generation: 2, rows: 3 }),
            ToBackend::Done { rows: 77, plan: "ProjectionExec".into() },
            ToBackend::Error { sqlstate: *b"22012", message: "division by zero".into() },
            ToBackend::Paged(PagedRef {
                len: 70_000,
                pages: vec![crate::shm::PageDescriptor { index: 4, generation: 1 }],
            }),
        ] {
            buf.clear();
            m.encode(&mut buf);
            frames.push((1, buf.clone()));
        }
        for m in [
            ScanMsg::Page(PageRef { index: 5, generation: 6, rows: 7 }),
            ScanMsg::Credit { pages: 3 },
            ScanMsg::Filter { index: 1, generation: 2, columns: vec![3] },
            ScanMsg::Probe { column: 1, batches: 0 },
            ScanMsg::Keys { index: 4, generation: 5, count: 1 },
        ] {
            buf.clear();
            m.encode(&mut buf);
            frames.push((2, buf.clone()));
        }
        let mut m = crate::page::tests::Mutations::new(0xf00d);
        for round in 0..20_000 {
            let (kind, frame) = &frames[round % frames.len()];
            let mut f = frame.clone();
            m.mutate(&mut f);
            if round % 3 == 0 {
                f.truncate(m.below(f.len() + 1));
            }
            let decoded = std::panic::catch_unwind(|| match kind {
                0 => ToWorker::decode(&f).is_ok(),
                1 => ToBackend::decode(&f).is_ok(),
                _ => ScanMsg::decode(&f).is_ok(),
            });
            assert!(decoded.is_ok(), "decoding damaged frame {round} panicked");
        }
    }

    #[test]
    fn malformed_frames_are_errors() {
        assert_eq!(ToWorker::decode(&[]), Err(DecodeError::Empty));
        assert_eq!(ToWorker::decode(&[99]), Err(DecodeError::UnknownTag(99)));
        assert_eq!(ToWorker::decode(&[TAG_PING, 1, 2]), Err(DecodeError::Truncated { tag: TAG_PING }));
        let mut buf = Vec::new();
        ToWorker::Ping { nonce: 1 }.encode(&mut buf);
        buf.push(0);
        assert_eq!(ToWorker::decode(&buf), Err(DecodeError::TrailingBytes { tag: TAG_PING }));
    }
}
