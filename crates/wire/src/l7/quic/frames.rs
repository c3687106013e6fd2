//! The frames of a decrypted Initial payload (RFC 9000 §12.4, §19): the types an Initial
//! packet may carry (§17.2.2): PADDING, PING, ACK, CRYPTO and CONNECTION_CLOSE (0x1c).
//! Any other type ends the parse with [`QuicError::UnexpectedFrame`]: frames carry no
//! length of their own, so nothing after an unknown one can be found.

use super::{QuicError, Version, truncated, varint};

/// The largest offset + length a CRYPTO frame may reach (RFC 9000 §19.6).
const MAX_STREAM_END: u64 = (1 << 62) - 1;

/// One frame of an Initial packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A run of PADDING bytes (type 0x00), counted.
    Padding(usize),
    /// PING (0x01).
    Ping,
    /// ACK (0x02, or 0x03 with ECN counts): the largest packet number acknowledged.
    Ack {
        /// Largest Acknowledged.
        largest: u64,
    },
    /// CRYPTO (0x06): bytes of the TLS handshake stream at `offset`.
    Crypto {
        /// Where `data` starts in the handshake stream.
        offset: u64,
        /// The handshake bytes.
        data: &'a [u8],
    },
    /// CONNECTION_CLOSE (0x1c): the peer gives up during the handshake.
    ConnectionClose {
        /// The transport error code.
        error_code: u64,
    },
}

/// The frames of a decrypted payload, in order. Yields `Err` once, at the first frame it
/// cannot read, then ends.
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    rest: &'a [u8],
    /// Bytes of the payload read so far (for error offsets).
    pos: usize,
    len: usize,
    failed: bool,
    /// The type code of CRYPTO frames: 0x06, or 0x08 in Google's T05x.
    crypto: u64,
}

impl<'a> Frames<'a> {
    /// The frames of `payload`, an IETF QUIC Initial packet's.
    pub fn new(payload: &'a [u8]) -> Frames<'a> {
        Frames {
            rest: payload,
            pos: 0,
            len: payload.len(),
            failed: false,
            crypto: 0x06,
        }
    }

    /// The frames of an Initial packet of `version`: Google's T050/T051 number the CRYPTO
    /// frame 0x08 (same layout: offset, length, data).
    pub fn for_version(payload: &'a [u8], version: Version) -> Frames<'a> {
        let crypto = if matches!(version, Version::Google(_)) {
            0x08
        } else {
            0x06
        };
        Frames {
            crypto,
            ..Frames::new(payload)
        }
    }

    /// Reads a varint field.
    fn varint(&mut self, what: &'static str) -> Result<u64, QuicError> {
        let (v, n) = varint(self.rest).ok_or(truncated(
            what,
            self.pos + self.rest.first().map_or(1, |b| 1 << (b >> 6)),
            self.len,
        ))?;
        self.advance(n);
        Ok(v)
    }

    fn advance(&mut self, n: usize) {
        self.rest = &self.rest[n..];
        self.pos += n;
    }

    fn bytes(&mut self, len: u64, what: &'static str) -> Result<&'a [u8], QuicError> {
        let rest = self.rest;
        let data = usize::try_from(len)
            .ok()
            .and_then(|len| rest.get(..len))
            .ok_or(truncated(
                what,
                self.pos.saturating_add(len as usize),
                self.len,
            ))?;
        self.advance(data.len());
        Ok(data)
    }

    fn frame(&mut self) -> Result<Frame<'a>, QuicError> {
        let kind = self.varint("frame type")?;
        Ok(match kind {
            0x00 => {
                let run = 1 + self.rest.iter().take_while(|&&b| b == 0).count();
                self.advance(run - 1);
                Frame::Padding(run)
            }
            0x01 => Frame::Ping,
            0x02 | 0x03 => {
                let largest = self.varint("ACK largest")?;
                self.varint("ACK delay")?;
                let ranges = self.varint("ACK range count")?;
                // Each further range is a gap and a length, at least two bytes: a count
                // the payload cannot hold is rejected before looping on it.
                if ranges > (self.rest.len() / 2) as u64 {
                    return Err(QuicError::BadFrame("ACK range count"));
                }
                self.varint("ACK first range")?;
                for _ in 0..ranges {
                    self.varint("ACK gap")?;
                    self.varint("ACK range")?;
                }
                if kind == 0x03 {
                    for _ in 0..3 {
                        self.varint("ACK ECN count")?;
                    }
                }
                Frame::Ack { largest }
            }
            t if t == self.crypto => {
                let offset = self.varint("CRYPTO offset")?;
                let len = self.varint("CRYPTO length")?;
                if offset.saturating_add(len) > MAX_STREAM_END {
                    return Err(QuicError::BadFrame("CRYPTO offset"));
                }
                let data = self.bytes(len, "CRYPTO data")?;
                Frame::Crypto { offset, data }
            }
            0x1c => {
                let error_code = self.varint("CONNECTION_CLOSE error code")?;
                self.varint("CONNECTION_CLOSE frame type")?;
                let len = self.varint("CONNECTION_CLOSE reason length")?;
                self.bytes(len, "CONNECTION_CLOSE reason")?;
                Frame::ConnectionClose { error_code }
            }
            other => return Err(QuicError::UnexpectedFrame(other)),
        })
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, QuicError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let r = self.frame();
        self.failed = r.is_err();
        Some(r)
    }
}
