//! Writing one block into a page, a row at a time (the producer side).
//!
//! Protocol: `begin_row`, one `put_*` per column in any order (every column exactly once),
//! then `commit_row`; on [`PutError::Full`] call `rollback_row`, `finish` the block, and put the
//! row first into the next one. `finish` writes the header and descriptors last, so a block is
//! never read half-described.
//!
//! Validity: `new` sets every validity bit of the block's `capacity` rows, so a non-null value
//! writes only its values slot; `put_null` clears its bit and `rollback_row` sets the row's bits
//! again (a rolled-back null must not leave the next row at that index null).

use super::{column_regions, BlockError, ColumnType, BLOCK_MAGIC, BLOCK_VERSION, DESC_SIZE, HEADER_SIZE};

/// Why a value was not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutError {
    /// This block has no room for the row; roll it back and start the next block.
    Full,
    /// The value cannot fit even an otherwise empty block of this capacity.
    ValueTooLarge { column: usize, len: usize },
}

/// The row does not fit this block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

pub struct BlockWriter<'a> {
    page: &'a mut [u8],
    types: &'a [ColumnType],
    /// (values offset, validity offset) per column.
    regions: Vec<(usize, usize)>,
    capacity: usize,
    rows: usize,
    /// End of the fixed regions: the tail may not grow below it.
    fixed_end: usize,
    /// Start of the tail (long view payloads); `fixed_end <= tail <= page.len()`.
    tail: usize,
    /// `tail` when the current row began, for rollback.
    row_tail: usize,
}

impl<'a> BlockWriter<'a> {
    /// The most rows a block can plan for, given an estimate of long variable-width bytes per row.
    pub fn plan_capacity(
        page_len: usize,
        types: &[ColumnType],
        tail_bytes_per_row: usize,
    ) -> Result<usize, BlockError> {
        if types.len() > u16::MAX as usize {
            return Err(BlockError::TooManyColumns(types.len()));
        }
        let fixed_per_row: f64 =
            types.iter().map(|t| if t.width() == 0 { 0.25 } else { t.width() as f64 + 0.125 }).sum();
        let per_row =
            fixed_per_row + if types.iter().any(|t| t.is_view()) { tail_bytes_per_row as f64 } else { 0.0 };
        let overhead = HEADER_SIZE + DESC_SIZE * types.len() + 2 * super::REGION_ALIGN * (types.len() + 1);
        let mut capacity = if page_len > overhead {
            ((page_len - overhead) as f64 / per_row.max(0.125)) as usize
        } else {
            0
        };
        capacity = capacity.min(page_len * 8).max(1);
        while capacity > 0 && column_regions(types, capacity).1 > page_len {
            capacity = capacity * 15 / 16;
        }
        if capacity == 0 {
            return Err(BlockError::PageTooSmall { page_len, columns: types.len() });
        }
        Ok(capacity)
    }

    pub fn new(
        page: &'a mut [u8],
        types: &'a [ColumnType],
        capacity: usize,
    ) -> Result<BlockWriter<'a>, BlockError> {
        if types.len() > u16::MAX as usize {
            return Err(BlockError::TooManyColumns(types.len()));
        }
        let (regions, fixed_end) = column_regions(types, capacity);
        if capacity == 0 || fixed_end > page.len() || page.len() > u32::MAX as usize {
            return Err(BlockError::PageTooSmall { page_len: page.len(), columns: types.len() });
        }
        let bitmap_len = capacity.div_ceil(8);
        for (_, validity) in &regions {
            page[*validity..*validity + bitmap_len].fill(0xFF);
        }
        let tail = page.len();
        Ok(BlockWriter { page, types, regions, capacity, rows: 0, fixed_end, tail, row_tail: tail })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Bytes of long view values written into the tail so far.
    pub fn tail_bytes(&self) -> usize {
        self.page.len() - self.tail
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Start a row; `Err(Full)` when the block already holds `capacity` rows.
    #[inline]
    pub fn begin_row(&mut self) -> Result<(), Full> {
        if self.rows == self.capacity {
            return Err(Full);
        }
        self.row_tail = self.tail;
        Ok(())
    }

    #[inline]
    pub fn commit_row(&mut self) {
        self.rows += 1;
    }

    /// Forget the current row's writes (its fixed slots are overwritten by the next row, its
    /// validity bits are set again).
    pub fn rollback_row(&mut self) {
        self.tail = self.row_tail;
        for column in 0..self.regions.len() {
            self.set_bit(self.regions[column].1, true);
        }
    }

    /// Set or clear bit `self.rows` of the bitmap starting at `at`.
    #[inline]
    fn set_bit(&mut self, at: usize, v: bool) {
        let byte = &mut self.page[at + self.rows / 8];
        let bit = 1u8 << (self.rows % 8);
        if v {
            *byte |= bit;
        } else {
            *byte &= !bit;
        }
    }

    /// Write a non-null value's `N` bytes into its slot (its validity bit is already set).
    #[inline(always)]
    fn put_fixed<const N: usize>(&mut self, column: usize, bytes: [u8; N]) {
        debug_assert_eq!(N, self.types[column].width());
        let at = self.regions[column].0 + self.rows * N;
        self.page[at..at + N].copy_from_slice(&bytes);
    }

    #[inline]
    pub fn put_null(&mut self, column: usize) {
        let t = self.types[column];
        if t.width() > 0 {
            // Zeroed, so a null view is a valid empty inline view.
            let at = self.regions[column].0 + self.rows * t.width();
            self.page[at..at + t.width()].fill(0);
        }
        self.set_bit(self.regions[column].1, false);
    }

    #[inline]
    pub fn put_bool(&mut self, column: usize, v: bool) {
        self.set_bit(self.regions[column].0, v);
    }

    #[inline]
    pub fn put_i16(&mut self, column: usize, v: i16) {
        self.put_fixed(column, v.to_ne_bytes());
    }

    /// Int32 and Date32 (days since 1970-01-01).
    #[inline]
    pub fn put_i32(&mut self, column: usize, v: i32) {
        self.put_fixed(column, v.to_ne_bytes());
    }

    /// Int64, Time64(us) and Timestamp(us).
    #[inline]
    pub fn put_i64(&mut self, column: usize, v: i64) {
        self.put_fixed(column, v.to_ne_bytes());
    }

    #[inline]
    pub fn put_f32(&mut self, column: usize, v: f32) {
        self.put_fixed(column, v.to_ne_bytes());
    }

    #[inline]
    pub fn put_f64(&mut self, column: usize, v: f64) {
        self.put_fixed(column, v.to_ne_bytes());
    }

    /// Decimal128 (unscaled value). In a column of at most 18 digits
    /// (8 bytes) a value that does not fit an i64 is refused (false) and nothing is written.
    #[inline]
    pub fn put_decimal(&mut self, column: usize, v: i128) -> bool {
        if self.types[column].width() == 8 {
            match i64::try_from(v) {
                Ok(v) => self.put_fixed(column, v.to_ne_bytes()),
                Err(_) => return false,
            }
        } else {
            self.put_fixed(column, v.to_ne_bytes());
        }
        true
    }

    #[inline]
    pub fn put_interval(&mut self, column: usize, months: i32, days: i32, nanoseconds: i64) {
        // Native-endian fields at byte offsets 0, 4 and 8, assembled in a register (see put_bytes).
        let le = |b: [u8; 4]| u32::from_le_bytes(b) as u128;
        let ns = u64::from_le_bytes(nanoseconds.to_ne_bytes()) as u128;
        let b = (le(months.to_ne_bytes()) | le(days.to_ne_bytes()) << 32 | ns << 64).to_le_bytes();
        self.put_fixed(column, b);
    }

    #[inline]
    pub fn put_fixed16(&mut self, column: usize, v: &[u8; 16]) {
        self.put_fixed(column, *v);
    }

    /// Utf8View / BinaryView: inline up to 12 bytes, else the payload goes into the tail.
    #[inline(always)]
    pub fn put_bytes(&mut self, column: usize, v: &[u8]) -> Result<(), PutError> {
        if v.len() > 12 {
            return self.put_long_bytes(column, v);
        }
        // Assembled in a register and stored once: a copy into a stack array read back as a
        // whole stalls on store forwarding, once per value.
        let mut payload: u128 = 0;
        let mut k = 0;
        while k + 4 <= v.len() {
            payload |= (u32::from_le_bytes([v[k], v[k + 1], v[k + 2], v[k + 3]]) as u128) << (8 * k);
            k += 4;
        }
        while k < v.len() {
            payload |= (v[k] as u128) << (8 * k);
            k += 1;
        }
        let len = u32::from_le_bytes((v.len() as u32).to_ne_bytes()) as u128;
        let view = (len | payload << 32).to_le_bytes();
        self.put_fixed(column, view);
        Ok(())
    }

    #[inline(never)]
    fn put_long_bytes(&mut self, column: usize, v: &[u8]) -> Result<(), PutError> {
        let room = self.tail - self.fixed_end;
        if v.len() > room || v.len() > u32::MAX as usize {
            // In an empty block the whole tail area was available: the value can never fit.
            return Err(if self.rows == 0 && self.row_tail == self.page.len() {
                PutError::ValueTooLarge { column, len: v.len() }
            } else {
                PutError::Full
            });
        }
        self.tail -= v.len();
        self.page[self.tail..self.tail + v.len()].copy_from_slice(v);
        // length, prefix, buffer index 0 (the page itself), offset (absolute position in the
        // page); assembled in a register (see put_bytes).
        let le = |b: [u8; 4]| u32::from_le_bytes(b) as u128;
        let view = (le((v.len() as u32).to_ne_bytes())
            | le([v[0], v[1], v[2], v[3]]) << 32
            | le((self.tail as u32).to_ne_bytes()) << 96)
            .to_le_bytes();
        self.put_fixed(column, view);
        Ok(())
    }

    /// Write the header and descriptors; returns the number of rows in the block.
    pub fn finish(self) -> usize {
        let rows = self.rows;
        for (i, (t, (values, validity))) in self.types.iter().zip(&self.regions).enumerate() {
            let nulls = count_zero_bits(&self.page[*validity..], rows);
            let (tag, precision, scale) = t.tag();
            let d = HEADER_SIZE + i * DESC_SIZE;
            let desc = &mut self.page[d..d + DESC_SIZE];
            desc[0] = tag;
            desc[1] = precision;
            desc[2] = scale as u8;
            desc[3] = 0;
            desc[4..8].copy_from_slice(&(nulls as u32).to_ne_bytes());
            desc[8..12].copy_from_slice(&(*values as u32).to_ne_bytes());
            desc[12..16].copy_from_slice(&(*validity as u32).to_ne_bytes());
        }
        let h = &mut self.page[0..HEADER_SIZE];
        h[0..4].copy_from_slice(&BLOCK_MAGIC.to_ne_bytes());
        h[4..6].copy_from_slice(&BLOCK_VERSION.to_ne_bytes());
        h[6..8].copy_from_slice(&(self.types.len() as u16).to_ne_bytes());
        h[8..12].copy_from_slice(&(rows as u32).to_ne_bytes());
        h[12..16].copy_from_slice(&(self.capacity as u32).to_ne_bytes());
        h[16..20].copy_from_slice(&(self.tail as u32).to_ne_bytes());
        let page_len = self.page.len() as u32;
        let h = &mut self.page[0..HEADER_SIZE];
        h[20..24].copy_from_slice(&page_len.to_ne_bytes());
        h[24..28].copy_from_slice(&(self.fixed_end as u32).to_ne_bytes());
        h[28..32].fill(0);
        rows
    }
}

/// Zero bits among the first `bits` bits of `bytes` (LSB first).
pub(crate) fn count_zero_bits(bytes: &[u8], bits: usize) -> usize {
    let full = bits / 8;
    let mut ones: usize = bytes[..full].iter().map(|b| b.count_ones() as usize).sum();
    if bits % 8 != 0 {
        ones += (bytes[full] & ((1u8 << (bits % 8)) - 1)).count_ones() as usize;
    }
    bits - ones
}
