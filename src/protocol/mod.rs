//! Messages on the control rings, and their byte encoding.
//!
//! A ring frame is an envelope: the sender's session generation (u32, little endian) followed by
//! one message, a one-byte tag and its fields, little endian. The generation lets each side skip
//! frames of an earlier session of the same slot (see `crate::shm::slots`). Decoding never trusts
//! the peer: a short or unknown frame is a [`DecodeError`], not a panic.
//!
//! Backend -> worker: [`ToWorker`]. Worker -> backend: [`ToBackend`].

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToWorker {
    /// Liveness probe; answered by [`ToBackend::Pong`] with the same nonce.
    Ping { nonce: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToBackend {
    Pong { nonce: u64, worker_pid: i32 },
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

const TAG_PING: u8 = 1;
const TAG_PONG: u8 = 2;

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
        }
    }

    pub fn decode(frame: &[u8]) -> Result<ToWorker, DecodeError> {
        let mut r = Reader::new(frame)?;
        match r.tag {
            TAG_PING => {
                let nonce = r.u64()?;
                r.finish(ToWorker::Ping { nonce })
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
    fn envelope_carries_the_generation() {
        let mut buf = vec![9, 9, 9];
        envelope(42, &mut buf, |out| ToWorker::Ping { nonce: 5 }.encode(out));
        let (generation, msg) = open_envelope(&buf).unwrap();
        assert_eq!(generation, 42);
        assert_eq!(ToWorker::decode(msg), Ok(ToWorker::Ping { nonce: 5 }));
        assert_eq!(open_envelope(&[1, 2]), Err(DecodeError::Empty));
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
