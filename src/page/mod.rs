//! The Arrow block format: one block per shared page (docs/architecture.md, spec pages.md).
//!
//! ```text
//! +----------------------------+ 0
//! | BlockHeader (32 B)         | magic, version, columns, rows, capacity, tail, page length
//! | ColumnDesc [n] (16 B each) | type tag, precision/scale, null count, values/validity offsets
//! | per column, 64-B aligned:  |
//! |   values [capacity]        | fixed width; Boolean bit-packed; views 16 B (Utf8View/BinaryView);
//! |                            | Decimal128 of precision <= 18 as 8-byte integers
//! |   validity [capacity bits] |
//! | ... free space ...         |
//! | long string/binary bytes   | the tail, growing toward the front from the page end
//! +----------------------------+ page_len
//! ```
//!
//! Rules:
//! - Same host, native endian: a transport format, not a file format.
//! - A Decimal128 of at most [`NARROW_DECIMAL_PRECISION`] digits (numeric(15,2) and the like)
//!   travels as its unscaled value in 8 bytes, half of Arrow's 16: the writer checks that it
//!   fits, the decoder widens it into a Decimal128 array of its own (the only values not used in
//!   place).
//! - A block holds whole rows: the encoder never splits a row across blocks. A row that does not
//!   fit ([`encode::Full`]) is rolled back and goes first into the next block; a single value that
//!   cannot fit even an empty block is [`BlockError::ValueTooLarge`], never truncated.
//! - Long view payloads (> 12 bytes) live in the tail; a view's buffer is the whole page (buffer
//!   index 0) and its offset is the absolute position in the page, so the decoder wraps the page
//!   once and every view array shares it without a copy.
//! - The decoder ([`decode::decode_block`]) trusts nothing: it checks the header, every region
//!   against the page bounds and against each other, and every long view's offset and length,
//!   before building arrays without per-value validation. The 16-byte views are copied out of
//!   the page before they are checked (16 bytes a row), so no later write can undo a check; all
//!   other buffers and the view payloads are used in place.
//! - Text is carried as Utf8View only from a UTF8 database, whose text PostgreSQL has already
//!   validated; the decoder checks bounds, not UTF-8. Text of any other database travels as its
//!   bytes ([`ColumnType::EncodedText`], BinaryView): the worker never reads it as characters,
//!   so one worker serves databases of different encodings.

pub mod batch;
pub mod decode;
pub mod encode;

use datafusion::arrow::datatypes::{DataType, IntervalUnit, TimeUnit};

pub const BLOCK_MAGIC: u32 = u32::from_le_bytes(*b"PFBK");
pub const BLOCK_VERSION: u16 = 2;
pub const HEADER_SIZE: usize = 32;
pub const DESC_SIZE: usize = 16;
/// Alignment of every column region (Arrow's preferred buffer alignment).
pub const REGION_ALIGN: usize = 64;
/// The largest Decimal128 precision carried in 8 bytes (every such unscaled value fits an i64).
pub const NARROW_DECIMAL_PRECISION: u8 = 18;

/// A column type the block format carries, with its Arrow form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    Boolean,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Decimal128 {
        precision: u8,
        scale: i8,
    },
    Utf8View,
    BinaryView,
    Date32,
    Time64Us,
    TimestampUs {
        utc: bool,
    },
    IntervalMonthDayNano,
    FixedSizeBinary16,
    /// A value of any other PostgreSQL type, carried as its bytes (a varlena's detoasted data,
    /// a fixed-length value's bytes, a by-value datum's low bytes) for PostgreSQL to read back
    /// unchanged; DataFusion only moves it (BinaryView). Byte equality is not the type's
    /// equality, nor byte order its order: the front end never compares, groups or sorts it.
    Opaque,
    /// Text (text, varchar, bpchar, name) of a database not encoded in UTF-8, carried as its
    /// bytes in the server encoding (BinaryView), never read as characters: byte equality is
    /// PostgreSQL's equality under a deterministic collation, byte order its order under C. The
    /// front end compares, groups and sorts it only there; PostgreSQL computes everything
    /// else that reads its characters (in the scan, or above the node).
    EncodedText,
}

impl ColumnType {
    /// Whether a runtime filter's key may be a column of this type: the producer hashes its
    /// values as the worker hashes the join's keys (`crate::shm::filter::Key`).
    pub fn is_filter_key(self) -> bool {
        matches!(
            self,
            ColumnType::Int16
                | ColumnType::Int32
                | ColumnType::Int64
                | ColumnType::Date32
                | ColumnType::Time64Us
                | ColumnType::TimestampUs { .. }
                | ColumnType::Decimal128 { .. }
                | ColumnType::Utf8View
                | ColumnType::BinaryView
                | ColumnType::EncodedText
                | ColumnType::FixedSizeBinary16
        )
    }

    /// Bytes per value in the values region; 0 for Boolean (bit-packed).
    pub fn width(self) -> usize {
        match self {
            ColumnType::Boolean => 0,
            ColumnType::Int16 => 2,
            ColumnType::Int32 | ColumnType::Float32 | ColumnType::Date32 => 4,
            ColumnType::Int64
            | ColumnType::Float64
            | ColumnType::Time64Us
            | ColumnType::TimestampUs { .. } => 8,
            ColumnType::Decimal128 { precision, .. } if precision <= NARROW_DECIMAL_PRECISION => 8,
            ColumnType::Decimal128 { .. }
            | ColumnType::Utf8View
            | ColumnType::BinaryView
            | ColumnType::Opaque
            | ColumnType::EncodedText
            | ColumnType::IntervalMonthDayNano
            | ColumnType::FixedSizeBinary16 => 16,
        }
    }

    /// Bytes the values region needs for `rows` values.
    pub fn values_len(self, rows: usize) -> usize {
        match self {
            ColumnType::Boolean => rows.div_ceil(8),
            t => t.width() * rows,
        }
    }

    pub fn is_view(self) -> bool {
        matches!(
            self,
            ColumnType::Utf8View | ColumnType::BinaryView | ColumnType::Opaque | ColumnType::EncodedText
        )
    }

    pub fn tag(self) -> (u8, u8, i8) {
        match self {
            ColumnType::Boolean => (1, 0, 0),
            ColumnType::Int16 => (2, 0, 0),
            ColumnType::Int32 => (3, 0, 0),
            ColumnType::Int64 => (4, 0, 0),
            ColumnType::Float32 => (5, 0, 0),
            ColumnType::Float64 => (6, 0, 0),
            ColumnType::Decimal128 { precision, scale } => (7, precision, scale),
            ColumnType::Utf8View => (8, 0, 0),
            ColumnType::BinaryView => (9, 0, 0),
            ColumnType::Date32 => (10, 0, 0),
            ColumnType::Time64Us => (11, 0, 0),
            ColumnType::TimestampUs { utc: false } => (12, 0, 0),
            ColumnType::TimestampUs { utc: true } => (13, 0, 0),
            ColumnType::IntervalMonthDayNano => (14, 0, 0),
            ColumnType::FixedSizeBinary16 => (15, 0, 0),
            ColumnType::Opaque => (16, 0, 0),
            ColumnType::EncodedText => (17, 0, 0),
        }
    }

    /// `types` as text (`tag:precision:scale` each, comma-separated), for the plan's private
    /// list and the parallel space; [`ColumnType::parse_list`] reads it back.
    pub fn list_text(types: &[ColumnType]) -> String {
        types
            .iter()
            .map(|t| {
                let (a, b, c) = t.tag();
                format!("{a}:{b}:{c}")
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The types [`ColumnType::list_text`] wrote; None for anything else.
    pub fn parse_list(s: &str) -> Option<Vec<ColumnType>> {
        if s.is_empty() {
            return Some(Vec::new());
        }
        s.split(',')
            .map(|t| {
                let mut p = t.split(':').map(|x| x.parse::<i16>().ok());
                match (p.next().flatten(), p.next().flatten(), p.next().flatten(), p.next()) {
                    (Some(a), Some(b), Some(c), None) => ColumnType::from_tag(
                        u8::try_from(a).ok()?,
                        u8::try_from(b).ok()?,
                        i8::try_from(c).ok()?,
                    ),
                    _ => None,
                }
            })
            .collect()
    }

    pub fn from_tag(tag: u8, precision: u8, scale: i8) -> Option<ColumnType> {
        Some(match tag {
            1 => ColumnType::Boolean,
            2 => ColumnType::Int16,
            3 => ColumnType::Int32,
            4 => ColumnType::Int64,
            5 => ColumnType::Float32,
            6 => ColumnType::Float64,
            7 if (1..=38).contains(&precision) && (scale as i16).abs() <= precision as i16 => {
                ColumnType::Decimal128 { precision, scale }
            }
            8 => ColumnType::Utf8View,
            9 => ColumnType::BinaryView,
            10 => ColumnType::Date32,
            11 => ColumnType::Time64Us,
            12 => ColumnType::TimestampUs { utc: false },
            13 => ColumnType::TimestampUs { utc: true },
            14 => ColumnType::IntervalMonthDayNano,
            15 => ColumnType::FixedSizeBinary16,
            16 => ColumnType::Opaque,
            17 => ColumnType::EncodedText,
            _ => return None,
        })
    }

    pub fn arrow_type(self) -> DataType {
        match self {
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::Int16 => DataType::Int16,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float32 => DataType::Float32,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Decimal128 { precision, scale } => DataType::Decimal128(precision, scale),
            ColumnType::Utf8View => DataType::Utf8View,
            ColumnType::BinaryView | ColumnType::Opaque | ColumnType::EncodedText => DataType::BinaryView,
            ColumnType::Date32 => DataType::Date32,
            ColumnType::Time64Us => DataType::Time64(TimeUnit::Microsecond),
            ColumnType::TimestampUs { utc: false } => DataType::Timestamp(TimeUnit::Microsecond, None),
            ColumnType::TimestampUs { utc: true } => {
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
            }
            ColumnType::IntervalMonthDayNano => DataType::Interval(IntervalUnit::MonthDayNano),
            ColumnType::FixedSizeBinary16 => DataType::FixedSizeBinary(16),
        }
    }

    /// The type a result block carries this column as: the worker names result columns by their
    /// Arrow type, which an opaque value and encoded text share with bytea.
    pub fn wire(self) -> ColumnType {
        match self {
            ColumnType::Opaque | ColumnType::EncodedText => ColumnType::BinaryView,
            t => t,
        }
    }

    /// The column type whose Arrow form is exactly `t` (bytea's for BinaryView).
    pub fn from_arrow(t: &DataType) -> Option<ColumnType> {
        let simple = [
            ColumnType::Boolean,
            ColumnType::Int16,
            ColumnType::Int32,
            ColumnType::Int64,
            ColumnType::Float32,
            ColumnType::Float64,
            ColumnType::Utf8View,
            ColumnType::BinaryView,
            ColumnType::Date32,
            ColumnType::Time64Us,
            ColumnType::TimestampUs { utc: false },
            ColumnType::TimestampUs { utc: true },
            ColumnType::IntervalMonthDayNano,
            ColumnType::FixedSizeBinary16,
        ];
        if let DataType::Decimal128(precision, scale) = t {
            return ColumnType::from_tag(7, *precision, *scale);
        }
        simple.into_iter().find(|c| &c.arrow_type() == t)
    }
}

/// Why a block cannot be written or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockError {
    /// The page cannot hold the header, the descriptors and one row.
    PageTooSmall {
        page_len: usize,
        columns: usize,
    },
    /// One value is larger than an empty block can carry.
    ValueTooLarge {
        column: usize,
        len: usize,
        page_len: usize,
    },
    /// The bytes are not a valid block (decoder); says what failed.
    Invalid(&'static str),
    TooManyColumns(usize),
}

impl std::fmt::Display for BlockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlockError::PageTooSmall { page_len, columns } => {
                write!(f, "a {page_len}-byte page cannot hold one row of {columns} columns")
            }
            BlockError::ValueTooLarge { column, len, page_len } => write!(
                f,
                "a value of {len} bytes in column {} does not fit a {page_len}-byte page",
                column + 1
            ),
            BlockError::Invalid(what) => write!(f, "invalid block: {what}"),
            BlockError::TooManyColumns(n) => write!(f, "{n} columns exceed the block format's limit"),
        }
    }
}

pub(crate) const fn align_up(n: usize, a: usize) -> usize {
    n.div_ceil(a) * a
}

/// Where each column's regions start, for a block of `capacity` rows. Shared by the encoder (to
/// place them) and the decoder (to check what the header claims).
pub(crate) fn column_regions(types: &[ColumnType], capacity: usize) -> (Vec<(usize, usize)>, usize) {
    let mut at = align_up(HEADER_SIZE + DESC_SIZE * types.len(), REGION_ALIGN);
    let mut regions = Vec::with_capacity(types.len());
    for t in types {
        let values = at;
        at = align_up(at + t.values_len(capacity), REGION_ALIGN);
        let validity = at;
        at = align_up(at + capacity.div_ceil(8), REGION_ALIGN);
        regions.push((values, validity));
    }
    (regions, at)
}

#[cfg(test)]
pub(crate) mod tests;
