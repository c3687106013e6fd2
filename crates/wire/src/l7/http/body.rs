//! Body framing: walks a Content-Length or chunked body fed in pieces, so a caller knows
//! where the next message of a keep-alive connection starts.

use super::{HttpError, MAX_HEADERS, MAX_LINE_LEN};

/// How a message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the connection closes.
    UntilClose,
}

/// What one [`BodyDecoder::feed`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BodyProgress {
    /// Bytes of the input that belong to this body (framing included); the next message
    /// starts after them.
    pub consumed: usize,
    /// Of those, bytes of body data (chunk framing excluded).
    pub data: usize,
    /// True once the body is complete.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Length(u64),
    UntilClose,
    /// Reading chunk-size hex digits.
    Size {
        value: u64,
        digits: u8,
    },
    /// After the size: whitespace and extensions up to the line end.
    SizeRest {
        value: u64,
        len: usize,
    },
    /// Chunk data left.
    Data(u64),
    /// Expecting the CR or LF after chunk data.
    DataEnd,
    /// Expecting the LF of a CRLF after chunk data.
    DataLf,
    /// Trailer lines after the last chunk; `len` counts the current line's bytes.
    Trailer {
        len: usize,
        lines: usize,
    },
    Done,
}

/// Walks one message body, fed in pieces as they arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyDecoder {
    state: State,
    total: u64,
}

impl BodyDecoder {
    /// A decoder for a body delimited as `length` says.
    pub fn new(length: BodyLength) -> BodyDecoder {
        let state = match length {
            BodyLength::None | BodyLength::Length(0) => State::Done,
            BodyLength::Length(n) => State::Length(n),
            BodyLength::Chunked => State::Size {
                value: 0,
                digits: 0,
            },
            BodyLength::UntilClose => State::UntilClose,
        };
        BodyDecoder { state, total: 0 }
    }

    /// True once the body is complete (never for [`BodyLength::UntilClose`]).
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Body data bytes seen so far (chunk framing excluded).
    pub fn data_len(&self) -> u64 {
        self.total
    }

    /// Feeds the next bytes of the connection. Stops at the end of the body: bytes after
    /// it are not consumed.
    pub fn feed(&mut self, buf: &[u8]) -> Result<BodyProgress, HttpError> {
        self.feed_data(buf, |_| {})
    }

    /// Like [`BodyDecoder::feed`], handing each piece of body data to `on_data`.
    pub fn feed_data(
        &mut self,
        buf: &[u8],
        mut on_data: impl FnMut(&[u8]),
    ) -> Result<BodyProgress, HttpError> {
        let mut pos = 0;
        let mut data = 0;
        while pos < buf.len() && self.state != State::Done {
            match self.state {
                State::Length(left) | State::Data(left) => {
                    let n = usize::try_from(left)
                        .unwrap_or(usize::MAX)
                        .min(buf.len() - pos);
                    on_data(&buf[pos..pos + n]);
                    pos += n;
                    data += n;
                    let left = left - n as u64;
                    self.state = match self.state {
                        State::Length(_) if left == 0 => State::Done,
                        State::Length(_) => State::Length(left),
                        _ if left == 0 => State::DataEnd,
                        _ => State::Data(left),
                    };
                }
                State::UntilClose => {
                    on_data(&buf[pos..]);
                    data += buf.len() - pos;
                    pos = buf.len();
                }
                State::Size { value, digits } => {
                    let b = buf[pos];
                    if let Some(d) = (b as char).to_digit(16) {
                        if digits == 16 {
                            return Err(HttpError::BadChunkSize);
                        }
                        self.state = State::Size {
                            value: value << 4 | u64::from(d),
                            digits: digits + 1,
                        };
                        pos += 1;
                    } else if digits == 0 {
                        return Err(HttpError::BadChunkSize);
                    } else {
                        self.state = State::SizeRest { value, len: 0 };
                    }
                }
                State::SizeRest { value, len } => {
                    let b = buf[pos];
                    pos += 1;
                    if b == b'\n' {
                        self.state = if value == 0 {
                            State::Trailer { len: 0, lines: 0 }
                        } else {
                            State::Data(value)
                        };
                    } else if len >= MAX_LINE_LEN {
                        return Err(HttpError::LineTooLong { max: MAX_LINE_LEN });
                    } else {
                        // Whitespace, CR and chunk extensions (`;name=value`) are skipped.
                        self.state = State::SizeRest {
                            value,
                            len: len + 1,
                        };
                    }
                }
                State::DataEnd | State::DataLf => {
                    let b = buf[pos];
                    pos += 1;
                    self.state = match (self.state, b) {
                        (State::DataEnd, b'\r') => State::DataLf,
                        (_, b'\n') => State::Size {
                            value: 0,
                            digits: 0,
                        },
                        _ => return Err(HttpError::BadChunkTerminator),
                    };
                }
                State::Trailer { len, lines } => {
                    let b = buf[pos];
                    pos += 1;
                    self.state = match b {
                        b'\n' if len == 0 => State::Done,
                        b'\n' if lines + 1 > MAX_HEADERS => {
                            return Err(HttpError::TooManyHeaders { max: MAX_HEADERS });
                        }
                        b'\n' => State::Trailer {
                            len: 0,
                            lines: lines + 1,
                        },
                        b'\r' => State::Trailer { len, lines },
                        _ if len >= MAX_LINE_LEN => {
                            return Err(HttpError::LineTooLong { max: MAX_LINE_LEN });
                        }
                        _ => State::Trailer {
                            len: len + 1,
                            lines,
                        },
                    };
                }
                State::Done => {}
            }
        }
        self.total += data as u64;
        Ok(BodyProgress {
            consumed: pos,
            data,
            done: self.state == State::Done,
        })
    }
}
