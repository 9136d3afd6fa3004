//! SQLSTATE codes, encoded as PostgreSQL's `MAKE_SQLSTATE` does. Pure: no PostgreSQL symbols.

use std::fmt;

/// A SQLSTATE as PostgreSQL encodes it (`MAKE_SQLSTATE`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SqlState(pub i32);

impl SqlState {
    pub const fn from_code(code: &[u8; 5]) -> SqlState {
        const fn six(c: u8) -> i32 {
            (c.wrapping_sub(b'0') & 0x3f) as i32
        }
        SqlState(
            six(code[0]) | six(code[1]) << 6 | six(code[2]) << 12 | six(code[3]) << 18 | six(code[4]) << 24,
        )
    }

    pub fn code(self) -> String {
        (0..5).map(|i| (((self.0 >> (6 * i)) & 0x3f) as u8 + b'0') as char).collect()
    }

    pub const FEATURE_NOT_SUPPORTED: SqlState = SqlState::from_code(b"0A000");
    pub const OBJECT_NOT_IN_PREREQUISITE_STATE: SqlState = SqlState::from_code(b"55000");
    pub const INVALID_PARAMETER_VALUE: SqlState = SqlState::from_code(b"22023");
    pub const CONNECTION_FAILURE: SqlState = SqlState::from_code(b"08006");
    pub const PROTOCOL_VIOLATION: SqlState = SqlState::from_code(b"08P01");
    pub const INSUFFICIENT_RESOURCES: SqlState = SqlState::from_code(b"53000");
    pub const QUERY_CANCELED: SqlState = SqlState::from_code(b"57014");
    pub const PROGRAM_LIMIT_EXCEEDED: SqlState = SqlState::from_code(b"54000");
    pub const INTERNAL_ERROR: SqlState = SqlState::from_code(b"XX000");
}

impl fmt::Debug for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstate_encoding_matches_make_sqlstate() {
        // ERRCODE_DIVISION_BY_ZERO = MAKE_SQLSTATE('2','2','0','1','2')
        let s = SqlState::from_code(b"22012");
        assert_eq!(s.0, 2 | 2 << 6 | 1 << 18 | 2 << 24);
        assert_eq!(s.code(), "22012");
        assert_eq!(SqlState::FEATURE_NOT_SUPPORTED.code(), "0A000");
        assert_eq!(SqlState::INTERNAL_ERROR.code(), "XX000");
    }
}
