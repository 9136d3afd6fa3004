//! The shared space of one query's parallel scan producers: what the leader tells its parallel
//! workers (in the parallel context's DSM segment, not in pg_fusion's own segment) and the
//! counters they share with it.
//!
//! Rules:
//! - One space per query: every worker serves every leaf of the pool (the leaves the leader reads
//!   by block ranges), claiming ranges from each leaf's own `next` counter, so a worker whose
//!   leaf is done, or waits for the DataFusion worker to read it, moves on to another leaf
//!   instead of idling. The process count is the query's parallel budget, not a budget per leaf.
//! - The leader writes the whole space before launching ([`write`]); afterwards only `stop` and
//!   each leaf's `next` change, and each worker writes its own reports (its usage and its leaves'
//!   instrumentation), which the leader reads only after the worker exited. Offsets only (the
//!   segment maps at different addresses).
//! - Every read is bounds-checked against the length the leader recorded, which must lie within
//!   what the reader has mapped ([`SpaceView::new`]); every variable part is checked before it
//!   is read.
//!
//! ```text
//! +-------------------+ 0
//! | SpaceHeader       | stop, len, DataFusion worker identity, counts, params
//! | LeafEntry x n     | next, nblocks, chunk, producers, offsets of the parts below
//! | per leaf:         |
//! |   slots           | nworkers x (index u32, generation u32); index NO_SLOT: none
//! |   plan, types,    | UTF-8 bytes (the leaf's plan as node text; its index probes'
//! |   probes          | plans, [`encode_probes`])
//! |   PostgreSQL types| u32 each (4-aligned)
//! | parameters        | the leader's serialized ParamListInfo (8-aligned)
//! | usage x nworkers  | each worker's buffer and WAL usage (PostgreSQL's structs), 8-aligned
//! | instrumentation   | under EXPLAIN ANALYZE: per worker, per leaf, `instr_slots` nodes'
//! |                   | Instrumentation (by plan_node_id), 8-aligned
//! +-------------------+ len
//! ```

use std::mem::size_of;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::slots::SlotLease;

/// A worker with no slot for a leaf (the leader ran out of slots) does not read it.
pub const NO_SLOT: u32 = u32::MAX;

#[repr(C)]
pub struct SpaceHeader {
    /// Set by the leader when the scans' results are no longer needed.
    pub stop: AtomicU32,
    /// Total bytes of the space (header included).
    pub len: u32,
    pub worker_procno: i32,
    pub worker_pid: i32,
    pub nworkers: u32,
    pub nleaves: u32,
    pub params_at: u32,
    pub params_len: u32,
    /// The statement's instrumentation options (`es_instrument`): the workers' executors use
    /// them, so their figures add up with the leader's under EXPLAIN ANALYZE.
    pub instrument: i32,
    /// Each worker's usage report: bytes, where the first one is.
    pub usage_size: u32,
    pub usage_at: u32,
    /// Keeps the header a multiple of 8 bytes (written as zero).
    pub reserved: u32,
    /// Instrumentation reports: bytes per node, nodes per (worker, leaf), where they start.
    pub instr_size: u32,
    pub instr_slots: u32,
    pub instr_at: u32,
    _pad: u32,
}

// Entries follow the header and hold u64s: the header keeps them 8-aligned.
const _: () = assert!(size_of::<SpaceHeader>() % 8 == 0 && size_of::<LeafEntry>() % 8 == 0);

#[repr(C)]
pub struct LeafEntry {
    /// The next unclaimed block.
    pub next: AtomicU64,
    pub nblocks: u64,
    pub chunk: u64,
    /// The leader and the workers with a slot for this leaf.
    pub producers: u64,
    slots_at: u32,
    plan_at: u32,
    plan_len: u32,
    types_at: u32,
    types_len: u32,
    pg_types_at: u32,
    pg_types_count: u32,
    probes_at: u32,
    probes_len: u32,
}

/// What the leader puts in the space for one leaf.
pub struct SpaceLeaf<'a> {
    /// Per worker, its slot for this leaf.
    pub slots: &'a [Option<SlotLease>],
    /// The leaf's PostgreSQL plan as node text (`nodeToString`), as PostgreSQL's parallel
    /// query ships plans: the worker executes exactly what the leader planned.
    pub plan: &'a str,
    /// Block column types (`ColumnType` tags).
    pub types: &'a str,
    /// Its index probes (`crate::index_probe`), as [`encode_probes`] writes them (empty: none).
    pub probes: &'a str,
    pub pg_types: &'a [u32],
    pub nblocks: u64,
    pub chunk: u64,
    pub producers: u64,
}

/// The identity and counts written into the header.
#[derive(Clone, Copy)]
pub struct SpaceSettings {
    pub worker_procno: i32,
    pub worker_pid: i32,
    pub nworkers: u32,
    pub instrument: i32,
    /// Bytes of one worker's usage report (PostgreSQL's BufferUsage and WalUsage).
    pub usage_size: u32,
    /// Bytes of one node's Instrumentation, and the nodes reported per leaf (0: none).
    pub instr_size: u32,
    pub instr_slots: u32,
}

#[derive(Debug, PartialEq, Eq)]
pub struct CorruptSpace;

struct Offsets {
    leaves: Vec<(usize, usize, usize, usize, usize)>,
    params: usize,
    usage: usize,
    instr: usize,
    end: usize,
}

fn offsets(settings: &SpaceSettings, leaves: &[SpaceLeaf], params_len: usize) -> Offsets {
    let nworkers = settings.nworkers as usize;
    let mut at = size_of::<SpaceHeader>() + leaves.len() * size_of::<LeafEntry>();
    let mut out = Vec::with_capacity(leaves.len());
    for l in leaves {
        let slots = at;
        let plan = slots + nworkers * 8;
        let types = plan + l.plan.len();
        let probes = types + l.types.len();
        let pg = (probes + l.probes.len()).next_multiple_of(4);
        at = (pg + l.pg_types.len() * 4).next_multiple_of(8);
        out.push((slots, plan, types, probes, pg));
    }
    let usage = (at + params_len).next_multiple_of(8);
    let usage_size = (settings.usage_size as usize).next_multiple_of(8);
    let instr = usage + nworkers * usage_size;
    let per_leaf = (settings.instr_size as usize * settings.instr_slots as usize).next_multiple_of(8);
    let end = instr + nworkers * leaves.len() * per_leaf;
    Offsets { leaves: out, params: at, usage, instr, end }
}

/// Bytes the space needs (rounded to 8).
pub fn size(settings: &SpaceSettings, leaves: &[SpaceLeaf], params_len: usize) -> usize {
    offsets(settings, leaves, params_len).end.next_multiple_of(8)
}

/// Fill `space` (zeroed, 8-aligned, `size(..)` bytes) for `leaves`; returns where the
/// `params_len` bytes of serialized parameters go (the caller writes them).
///
/// # Safety
/// `space` points to `len` writable, 8-aligned bytes nobody else uses yet, `len` at least
/// `size(nworkers, leaves, params_len)`.
pub unsafe fn write(
    space: *mut u8,
    len: usize,
    settings: &SpaceSettings,
    leaves: &[SpaceLeaf],
    params_len: usize,
) -> Result<usize, CorruptSpace> {
    let nworkers = settings.nworkers as usize;
    let o = offsets(settings, leaves, params_len);
    if o.end > len || len > u32::MAX as usize || (space as usize) % 8 != 0 {
        return Err(CorruptSpace);
    }
    if leaves.iter().any(|l| l.slots.len() != nworkers) {
        return Err(CorruptSpace);
    }
    // SAFETY: every write below is inside `o.end <= len` (the offsets were computed for exactly
    // these parts); header and entries are 8-aligned (the space is, and both are 8-byte sized).
    unsafe {
        space.cast::<SpaceHeader>().write(SpaceHeader {
            stop: AtomicU32::new(0),
            len: len as u32,
            worker_procno: settings.worker_procno,
            worker_pid: settings.worker_pid,
            nworkers: settings.nworkers,
            nleaves: leaves.len() as u32,
            params_at: o.params as u32,
            params_len: params_len as u32,
            instrument: settings.instrument,
            usage_size: (settings.usage_size as usize).next_multiple_of(8) as u32,
            usage_at: o.usage as u32,
            reserved: 0,
            instr_size: settings.instr_size,
            instr_slots: settings.instr_slots,
            instr_at: o.instr as u32,
            _pad: 0,
        });
        let entries = space.add(size_of::<SpaceHeader>()).cast::<LeafEntry>();
        for (i, (l, &(slots, plan, types, probes, pg))) in leaves.iter().zip(&o.leaves).enumerate() {
            entries.add(i).write(LeafEntry {
                next: AtomicU64::new(0),
                nblocks: l.nblocks,
                chunk: l.chunk,
                producers: l.producers,
                slots_at: slots as u32,
                plan_at: plan as u32,
                plan_len: l.plan.len() as u32,
                types_at: types as u32,
                types_len: l.types.len() as u32,
                pg_types_at: pg as u32,
                pg_types_count: l.pg_types.len() as u32,
                probes_at: probes as u32,
                probes_len: l.probes.len() as u32,
            });
            for (k, s) in l.slots.iter().enumerate() {
                let at = space.add(slots + k * 8).cast::<u32>();
                let (index, generation) = s.map_or((NO_SLOT, 0), |s| (s.index, s.generation));
                at.write_unaligned(index);
                at.add(1).write_unaligned(generation);
            }
            std::ptr::copy_nonoverlapping(l.plan.as_ptr(), space.add(plan), l.plan.len());
            std::ptr::copy_nonoverlapping(l.types.as_ptr(), space.add(types), l.types.len());
            std::ptr::copy_nonoverlapping(l.probes.as_ptr(), space.add(probes), l.probes.len());
            for (k, t) in l.pg_types.iter().enumerate() {
                space.add(pg + k * 4).cast::<u32>().write_unaligned(*t);
            }
        }
    }
    Ok(o.params)
}

/// One index probe of a leaf as the space carries it: the leaf's column, the key array's
/// parameter number, the key type and the probe's plan as node text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceProbe {
    pub column: u16,
    pub paramid: i32,
    pub elem: u32,
    pub plan: String,
}

/// A leaf's index probes as one text: per probe `column:paramid:elem:len:` then the `len`
/// bytes of its plan (node text may hold any character but NUL, so it is counted, not
/// delimited).
pub fn encode_probes(probes: &[SpaceProbe]) -> String {
    let mut out = String::new();
    for p in probes {
        out.push_str(&format!("{}:{}:{}:{}:", p.column, p.paramid, p.elem, p.plan.len()));
        out.push_str(&p.plan);
    }
    out
}

/// The probes [`encode_probes`] wrote.
pub fn decode_probes(mut text: &str) -> Result<Vec<SpaceProbe>, CorruptSpace> {
    let mut out = Vec::new();
    while !text.is_empty() {
        let mut fields = [0i64; 4];
        for f in fields.iter_mut() {
            let (head, rest) = text.split_once(':').ok_or(CorruptSpace)?;
            *f = head.parse().map_err(|_| CorruptSpace)?;
            text = rest;
        }
        let len = usize::try_from(fields[3]).map_err(|_| CorruptSpace)?;
        let plan = text.get(..len).ok_or(CorruptSpace)?;
        out.push(SpaceProbe {
            column: u16::try_from(fields[0]).map_err(|_| CorruptSpace)?,
            paramid: i32::try_from(fields[1]).map_err(|_| CorruptSpace)?,
            elem: u32::try_from(fields[2]).map_err(|_| CorruptSpace)?,
            plan: plan.to_string(),
        });
        text = &text[len..];
    }
    Ok(out)
}

/// A validated view of a space (the leader's or a worker's mapping of it).
pub struct SpaceView {
    base: *mut u8,
    len: usize,
}

/// How a leaf's blocks are handed out: its shared counter and the sizes every producer uses
/// (written once by the leader, so the leader and its workers claim ranges alike).
#[derive(Clone, Copy)]
pub struct LeafRanges<'a> {
    /// The next unclaimed block.
    pub next: &'a AtomicU64,
    pub nblocks: u64,
    pub chunk: u64,
    pub producers: u64,
}

/// One leaf of the space, as a worker reads it.
pub struct LeafView<'a> {
    pub ranges: LeafRanges<'a>,
    /// This worker's slot for the leaf.
    pub slot: Option<SlotLease>,
    pub plan: String,
    pub types: String,
    /// Its index probes, as [`encode_probes`] wrote them.
    pub probes: String,
    pub pg_types: Vec<u32>,
}

impl SpaceView {
    /// Check the header against `mapped`, the bytes mapped from `base` on.
    ///
    /// # Safety
    /// `base` points to a space written by [`write`], 8-aligned, with `mapped` bytes mapped from
    /// it while the view is used.
    pub unsafe fn new(base: *mut u8, mapped: usize) -> Result<SpaceView, CorruptSpace> {
        if base.is_null() || (base as usize) % 8 != 0 {
            return Err(CorruptSpace);
        }
        if mapped < size_of::<SpaceHeader>() {
            return Err(CorruptSpace);
        }
        // SAFETY: caller's contract: a header is mapped.
        let h = unsafe { &*base.cast::<SpaceHeader>() };
        let len = h.len as usize;
        let entries_end = (h.nleaves as usize)
            .checked_mul(size_of::<LeafEntry>())
            .and_then(|n| n.checked_add(size_of::<SpaceHeader>()));
        if len > mapped || entries_end.is_none_or(|e| e > len) {
            return Err(CorruptSpace);
        }
        let v = SpaceView { base, len };
        v.part(h.params_at as usize, h.params_len as usize)?;
        Ok(v)
    }

    pub fn header(&self) -> &SpaceHeader {
        // SAFETY: checked in `new`.
        unsafe { &*self.base.cast::<SpaceHeader>() }
    }

    /// `len` bytes at `at`, if inside the space.
    fn part(&self, at: usize, len: usize) -> Result<&[u8], CorruptSpace> {
        match at.checked_add(len) {
            Some(end) if end <= self.len => {
                // SAFETY: inside the space (checked above), which the leader wrote before launch
                // and nobody writes afterwards (only the atomics change).
                Ok(unsafe { std::slice::from_raw_parts(self.base.add(at), len) })
            }
            _ => Err(CorruptSpace),
        }
    }

    fn entry(&self, leaf: usize) -> Result<&LeafEntry, CorruptSpace> {
        if leaf >= self.header().nleaves as usize {
            return Err(CorruptSpace);
        }
        // SAFETY: the entries were bounds-checked in `new`; 8-aligned.
        Ok(unsafe { &*self.base.add(size_of::<SpaceHeader>()).cast::<LeafEntry>().add(leaf) })
    }

    /// How `leaf`'s blocks are handed out (the leader's own producer reads this too).
    pub fn ranges(&self, leaf: usize) -> Result<LeafRanges<'_>, CorruptSpace> {
        let e = self.entry(leaf)?;
        Ok(LeafRanges { next: &e.next, nblocks: e.nblocks, chunk: e.chunk, producers: e.producers })
    }

    /// Everything worker `worker` needs to read `leaf`.
    pub fn leaf(&self, leaf: usize, worker: usize) -> Result<LeafView<'_>, CorruptSpace> {
        let e = self.entry(leaf)?;
        let h = self.header();
        if worker >= h.nworkers as usize {
            return Err(CorruptSpace);
        }
        let slots = self.part(e.slots_at as usize, h.nworkers as usize * 8)?;
        let word = |k: usize| u32::from_ne_bytes(slots[k * 4..k * 4 + 4].try_into().unwrap_or([0; 4]));
        let (index, generation) = (word(worker * 2), word(worker * 2 + 1));
        let text = |at: u32, len: u32| -> Result<String, CorruptSpace> {
            let b = self.part(at as usize, len as usize)?;
            std::str::from_utf8(b).map(str::to_string).map_err(|_| CorruptSpace)
        };
        let pg = self.part(e.pg_types_at as usize, e.pg_types_count as usize * 4)?;
        Ok(LeafView {
            ranges: self.ranges(leaf)?,
            slot: (index != NO_SLOT).then_some(SlotLease { index, generation }),
            plan: text(e.plan_at, e.plan_len)?,
            types: text(e.types_at, e.types_len)?,
            probes: text(e.probes_at, e.probes_len)?,
            pg_types: pg.chunks_exact(4).map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]])).collect(),
        })
    }

    /// Where the serialized parameters are (checked in `new`), if any.
    pub fn params(&self) -> Option<*mut u8> {
        let h = self.header();
        // SAFETY: `params_at + params_len <= len`, checked in `new`.
        (h.params_len > 0).then(|| unsafe { self.base.add(h.params_at as usize) })
    }

    /// Worker `worker`'s usage report: `usage_size` bytes it writes before it exits.
    pub fn usage(&self, worker: usize) -> Result<*mut u8, CorruptSpace> {
        let h = self.header();
        if worker >= h.nworkers as usize {
            return Err(CorruptSpace);
        }
        let at = h.usage_at as usize + worker * h.usage_size as usize;
        self.part(at, h.usage_size as usize).map(|p| p.as_ptr() as *mut u8)
    }

    /// Worker `worker`'s instrumentation report for `leaf`: `instr_slots` nodes of `instr_size`
    /// bytes (None when the statement is not instrumented).
    pub fn instrumentation(&self, worker: usize, leaf: usize) -> Result<Option<*mut u8>, CorruptSpace> {
        let h = self.header();
        if worker >= h.nworkers as usize || leaf >= h.nleaves as usize {
            return Err(CorruptSpace);
        }
        if h.instr_slots == 0 {
            return Ok(None);
        }
        let per_leaf = (h.instr_size as usize * h.instr_slots as usize).next_multiple_of(8);
        let at = h.instr_at as usize + (worker * h.nleaves as usize + leaf) * per_leaf;
        self.part(at, per_leaf).map(|p| Some(p.as_ptr() as *mut u8))
    }

    pub fn stopped(&self) -> bool {
        self.header().stop.load(Ordering::SeqCst) != 0
    }

    pub fn stop(&self) {
        self.header().stop.store(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(words: usize) -> Vec<u64> {
        vec![0u64; words]
    }

    #[test]
    fn written_space_reads_back() {
        let s0 = [Some(SlotLease { index: 3, generation: 7 }), None];
        let s1 = [Some(SlotLease { index: 4, generation: 1 }), Some(SlotLease { index: 5, generation: 2 })];
        let leaves = [
            SpaceLeaf {
                slots: &s0,
                plan: "SELECT a FROM t WHERE ",
                types: "1:0:0",
                probes: "",
                pg_types: &[23],
                nblocks: 100,
                chunk: 64,
                producers: 2,
            },
            SpaceLeaf {
                slots: &s1,
                plan: "SELECT b, c FROM u WHERE ",
                types: "2:0:0,3:1:2",
                probes: "0:1:20:3:{x}",
                pg_types: &[20, 1700],
                nblocks: 9,
                chunk: 64,
                producers: 3,
            },
        ];
        let settings = SpaceSettings {
            worker_procno: 11,
            worker_pid: 12,
            nworkers: 2,
            instrument: 9,
            usage_size: 100,
            instr_size: 44,
            instr_slots: 3,
        };
        let n = size(&settings, &leaves, 13);
        let mut buf = space(n / 8);
        let base = buf.as_mut_ptr().cast::<u8>();
        // SAFETY: a zeroed, 8-aligned buffer of `n` bytes.
        let params_at = unsafe { write(base, n, &settings, &leaves, 13) }.unwrap();
        assert_eq!(params_at % 8, 0);
        assert!(params_at + 13 <= n);
        // SAFETY: written above.
        let v = unsafe { SpaceView::new(base, n) }.unwrap();
        assert_eq!(v.header().nleaves, 2);
        let a = v.leaf(0, 0).unwrap();
        assert_eq!(a.slot, Some(SlotLease { index: 3, generation: 7 }));
        assert_eq!(a.plan, "SELECT a FROM t WHERE ");
        assert_eq!((a.ranges.nblocks, a.ranges.chunk, a.ranges.producers), (100, 64, 2));
        assert_eq!(a.pg_types, vec![23]);
        assert_eq!(v.leaf(0, 1).unwrap().slot, None);
        let b = v.leaf(1, 1).unwrap();
        assert_eq!(b.slot, Some(SlotLease { index: 5, generation: 2 }));
        assert_eq!(b.types, "2:0:0,3:1:2");
        assert_eq!(b.probes, "0:1:20:3:{x}");
        assert_eq!(a.probes, "");
        assert_eq!(b.pg_types, vec![20, 1700]);
        assert!(v.leaf(2, 0).is_err());
        assert!(v.leaf(0, 2).is_err());
        // The counters are shared: the leader's view sees a worker's claim.
        v.leaf(1, 0).unwrap().ranges.next.fetch_add(64, Ordering::SeqCst);
        assert_eq!(v.ranges(1).unwrap().next.load(Ordering::SeqCst), 64);
        assert_eq!(v.params(), Some(base.wrapping_add(params_at)));
        assert!(!v.stopped());
        v.stop();
        assert!(v.stopped());
        // Reports: one usage block per worker, one instrumentation block per worker and leaf,
        // each inside the space and apart from the others.
        assert_eq!(v.header().instrument, 9);
        let (u0, u1) = (v.usage(0).unwrap() as usize, v.usage(1).unwrap() as usize);
        assert!(u0 % 8 == 0 && u1 >= u0 + 100 && u0 >= base as usize + params_at + 13);
        assert!(v.usage(2).is_err());
        let blocks: Vec<usize> = (0..2)
            .flat_map(|w| (0..2).map(move |l| (w, l)))
            .map(|(w, l)| v.instrumentation(w, l).unwrap().unwrap() as usize)
            .collect();
        assert!(blocks.windows(2).all(|b| b[1] >= b[0] + 3 * 44));
        assert!(blocks[0] >= u1 + 100 && blocks[3] + 3 * 44 <= base as usize + n);
        assert!(v.instrumentation(0, 2).is_err() && v.instrumentation(2, 0).is_err());
    }

    #[test]
    fn probes_round_trip() {
        let probes = vec![
            SpaceProbe { column: 2, paramid: 1, elem: 20, plan: "{PLANNEDSTMT :a 1:2\n}".into() },
            SpaceProbe { column: 0, paramid: 3, elem: 23, plan: String::new() },
            SpaceProbe { column: 65535, paramid: 7, elem: 21, plan: "é:4:".into() },
        ];
        let text = encode_probes(&probes);
        assert_eq!(decode_probes(&text), Ok(probes));
        assert_eq!(decode_probes(""), Ok(Vec::new()));
        for bad in ["1:2:3", "1:2:3:9:short", "x:1:2:0:", "1:2:3:-1:", "70000:1:2:0:", "1:2:3:1:\u{e9}"] {
            assert_eq!(decode_probes(bad), Err(CorruptSpace), "{bad}");
        }
    }

    #[test]
    fn corrupt_spaces_are_refused() {
        let s = [None];
        let leaves = [SpaceLeaf {
            slots: &s,
            plan: "x",
            types: "1:0:0",
            probes: "",
            pg_types: &[23],
            nblocks: 1,
            chunk: 64,
            producers: 1,
        }];
        let settings = SpaceSettings {
            worker_procno: 0,
            worker_pid: 0,
            nworkers: 1,
            instrument: 0,
            usage_size: 8,
            instr_size: 0,
            instr_slots: 0,
        };
        let n = size(&settings, &leaves, 0);
        let mut buf = space(n / 8);
        let base = buf.as_mut_ptr().cast::<u8>();
        // Too small for what it must hold; slots not one per worker.
        // SAFETY: as above (the writes are refused before touching the buffer).
        assert!(unsafe { write(base, n - 8, &settings, &leaves, 0) }.is_err());
        let two = SpaceSettings { nworkers: 2, ..settings };
        // SAFETY: as above.
        assert!(unsafe { write(base, n, &two, &leaves, 0) }.is_err());
        // SAFETY: as above.
        unsafe { write(base, n, &settings, &leaves, 0) }.unwrap();
        // A recorded length beyond what is mapped.
        // SAFETY: written above.
        assert!(unsafe { SpaceView::new(base, n - 8) }.is_err());
        // A part pointing past the end.
        // SAFETY: patching the entry's plan length in our own buffer.
        unsafe {
            let e = &mut *base.add(size_of::<SpaceHeader>()).cast::<LeafEntry>();
            e.plan_len = n as u32;
        }
        // SAFETY: as above.
        let v = unsafe { SpaceView::new(base, n) }.unwrap();
        assert!(v.leaf(0, 0).is_err());
        // More leaves than the length holds.
        // SAFETY: patching our own buffer.
        unsafe { (*base.cast::<SpaceHeader>()).nleaves = 1000 };
        // SAFETY: as above.
        assert!(unsafe { SpaceView::new(base, n) }.is_err());
    }
}
