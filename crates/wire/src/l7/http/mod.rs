//! HTTP/1.0 and 1.1 message heads, and body framing.
//!
//! [`parse_request_head`] and [`parse_response_head`] take bytes that may hold only part
//! of a message and return `Ok(Some((head, consumed)))` once the head is complete,
//! `Ok(None)` when more bytes are needed, or an [`HttpError`] for bytes that cannot be
//! HTTP. [`BodyDecoder`] then walks the body (Content-Length or chunked) so a caller can
//! find the next message of a keep-alive connection.
//!
//! Lenient where Zeek is: bare LF line endings, empty lines before a request line,
//! HTTP/0.9 request lines (no version; the target must start with `/`, and headers are
//! still read up to the empty line), obsolete folded header lines (kept in the value, raw),
//! spaces inside the target (everything up to the version). Strict where framing depends on it: Content-Length must be a number
//! (repeated values must agree; a request with a bad one is parsed and flagged, a response
//! is an error), chunk sizes must be hex.
//!
//! Limits, so a peer cannot make the parser hold or scan without end: [`MAX_LINE_LEN`] per
//! line, [`MAX_HEAD_LEN`] per head, [`MAX_HEADERS`] header lines.

mod body;
mod request;
mod response;

pub use body::{BodyDecoder, BodyLength, BodyProgress};
pub use request::{RequestHead, looks_like_request, parse_request_head};
pub use response::{ResponseHead, looks_like_response, parse_response_head};

use std::fmt;

/// The longest line accepted (request/status line, header line, chunk-size line).
pub const MAX_LINE_LEN: usize = 16 * 1024;
/// The longest head accepted, start line and headers included.
pub const MAX_HEAD_LEN: usize = 64 * 1024;
/// The most header lines kept in one head.
pub const MAX_HEADERS: usize = 64;

/// Why bytes could not be parsed as HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The request method is not a token starting with a letter (or is longer than 32
    /// bytes).
    #[error("http: bad method")]
    BadMethod,
    /// The request line has no target, or no version and a target that does not start
    /// with `/`.
    #[error("http: bad request line")]
    BadRequestLine,
    /// The version is not `HTTP/<digit>.<digit>`.
    #[error("http: bad version")]
    BadVersion,
    /// The status line has no three-digit status code.
    #[error("http: bad status line")]
    BadStatusLine,
    /// More header lines than [`MAX_HEADERS`].
    #[error("http: more than {max} headers")]
    TooManyHeaders {
        /// The cap.
        max: usize,
    },
    /// A line longer than [`MAX_LINE_LEN`].
    #[error("http: line longer than {max} bytes")]
    LineTooLong {
        /// The cap.
        max: usize,
    },
    /// A head longer than [`MAX_HEAD_LEN`].
    #[error("http: head longer than {max} bytes")]
    HeadTooLong {
        /// The cap.
        max: usize,
    },
    /// A Content-Length that is not a number, or repeated with different values.
    #[error("http: bad content-length")]
    BadContentLength,
    /// A chunk-size line that does not start with hex digits, or overflows 64 bits.
    #[error("http: bad chunk size")]
    BadChunkSize,
    /// Chunk data not followed by a line end.
    #[error("http: chunk data not followed by CRLF")]
    BadChunkTerminator,
}

/// An HTTP version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// HTTP/0.9: a request line without a version.
    Http09,
    /// HTTP/1.0.
    Http10,
    /// HTTP/1.1.
    Http11,
    /// Any other `HTTP/<major>.<minor>`.
    Other(u8, u8),
}

impl Version {
    /// Parses `HTTP/<d>.<d>` (the `HTTP` part case-insensitively).
    pub fn parse(s: &[u8]) -> Option<Version> {
        let rest = strip_prefix_ci(s, b"HTTP/")?;
        match rest {
            [maj, b'.', min] if maj.is_ascii_digit() && min.is_ascii_digit() => {
                Some(match (maj - b'0', min - b'0') {
                    (1, 0) => Version::Http10,
                    (1, 1) => Version::Http11,
                    (0, 9) => Version::Http09,
                    (a, b) => Version::Other(a, b),
                })
            }
            _ => None,
        }
    }

    /// Parses a request's version as servers and Zeek accept it: `HTTP/<d>.<d>`, and also a
    /// missing or longer minor (`HTTP/1.`, `HTTP/1`, `HTTP/1.10`: minor 0, first digit).
    pub fn parse_lenient(s: &[u8]) -> Option<Version> {
        if let Some(v) = Version::parse(s) {
            return Some(v);
        }
        let rest = strip_prefix_ci(s, b"HTTP/")?;
        let (&maj, rest) = rest.split_first()?;
        if !maj.is_ascii_digit() {
            return None;
        }
        let min = match rest {
            [] | [b'.'] => b'0',
            [b'.', min, tail @ ..]
                if min.is_ascii_digit() && tail.iter().all(u8::is_ascii_digit) =>
            {
                *min
            }
            _ => return None,
        };
        Version::parse(&[b'H', b'T', b'T', b'P', b'/', maj, b'.', min])
    }

    /// Major and minor numbers.
    pub fn numbers(self) -> (u8, u8) {
        match self {
            Version::Http09 => (0, 9),
            Version::Http10 => (1, 0),
            Version::Http11 => (1, 1),
            Version::Other(a, b) => (a, b),
        }
    }
}

impl fmt::Display for Version {
    /// As Zeek logs it: `1.1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (a, b) = self.numbers();
        write!(f, "{a}.{b}")
    }
}

/// One header line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The name, as sent.
    pub name: &'a [u8],
    /// The value, leading and trailing whitespace trimmed. A folded (obs-fold) value spans
    /// its continuation lines, line ends included.
    pub value: &'a [u8],
}

/// The headers of one head, in order (at most [`MAX_HEADERS`]). Held in a vector, not in
/// an array of that capacity: a head is moved several times on its way out of the parser,
/// and every move of a 64-entry array copied 2 KiB.
#[derive(Debug, Clone)]
pub struct Headers<'a> {
    items: Vec<Header<'a>>,
    malformed: usize,
}

impl<'a> Headers<'a> {
    fn new() -> Headers<'a> {
        Headers {
            // Room for a typical head without growing.
            items: Vec::with_capacity(16),
            malformed: 0,
        }
    }

    /// Header lines skipped as malformed: no colon, an empty or non-token name, or a
    /// continuation with nothing to continue. Servers, Zeek and tshark skip them too; the
    /// caller may report them.
    pub fn malformed(&self) -> usize {
        self.malformed
    }

    /// All headers, in order.
    pub fn as_slice(&self) -> &[Header<'a>] {
        &self.items
    }

    /// Iterates over the headers in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header<'a>> {
        self.as_slice().iter()
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The value of the first header named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.get_all(name).next()
    }

    /// The values of every header named `name` (case-insensitive), in order.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        self.iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|h| h.value)
    }
}

/// Framing-relevant headers, collected while parsing.
#[derive(Debug, Clone, Copy, Default)]
struct Framing {
    content_length: Option<u64>,
    /// A Content-Length that is not a number, or several that differ: `content_length` is
    /// then `None`.
    bad_content_length: bool,
    chunked: bool,
    has_transfer_encoding: bool,
}

impl Framing {
    fn of(headers: &Headers<'_>) -> Framing {
        let mut f = Framing::default();
        for h in headers.iter() {
            if h.name.eq_ignore_ascii_case(b"content-length") {
                // "5, 5" is allowed (RFC 9110 §8.6) when every value is the same.
                for part in h.value.split(|&b| b == b',') {
                    match (parse_decimal(trim(part)), f.content_length) {
                        (Some(n), Some(m)) if m != n => f.bad_content_length = true,
                        (Some(n), _) => f.content_length = Some(n),
                        (None, _) => f.bad_content_length = true,
                    }
                }
            } else if h.name.eq_ignore_ascii_case(b"transfer-encoding") {
                f.has_transfer_encoding = true;
                // Chunked counts when it is the last coding applied.
                let last = h.value.rsplit(|&b| b == b',').next().map(trim);
                f.chunked = last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"));
            }
        }
        if f.bad_content_length {
            f.content_length = None;
        }
        f
    }
}

/// The first line of a head, skipping empty lines before it. `Ok(None)`: incomplete.
fn first_line(buf: &[u8]) -> Result<Option<(&[u8], usize)>, HttpError> {
    let mut pos = 0;
    loop {
        match next_line(buf, pos)? {
            None => return Ok(None),
            Some((&[], next)) => {
                if next > MAX_LINE_LEN {
                    return Err(HttpError::LineTooLong { max: MAX_LINE_LEN });
                }
                pos = next;
            }
            Some(found) => return Ok(Some(found)),
        }
    }
}

/// The line starting at `start`, without its CRLF or bare LF, and where the next begins.
fn next_line(buf: &[u8], start: usize) -> Result<Option<(&[u8], usize)>, HttpError> {
    let rest = &buf[start.min(buf.len())..];
    let window = &rest[..rest.len().min(MAX_LINE_LEN + 1)];
    match memchr::memchr(b'\n', window) {
        Some(i) => {
            let line = &rest[..i];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            Ok(Some((line, start + i + 1)))
        }
        None if rest.len() > MAX_LINE_LEN => Err(HttpError::LineTooLong { max: MAX_LINE_LEN }),
        None => Ok(None),
    }
}

/// Header lines from `start` to the empty line. `Ok(None)`: incomplete.
fn parse_headers(buf: &[u8], start: usize) -> Result<Option<(Headers<'_>, usize)>, HttpError> {
    let mut headers = Headers::new();
    let mut pos = start;
    // Where the last header's value starts in `buf`, for folded continuation lines.
    let mut value_start = 0usize;
    loop {
        if pos > MAX_HEAD_LEN {
            return Err(HttpError::HeadTooLong { max: MAX_HEAD_LEN });
        }
        let Some((line, next)) = next_line(buf, pos)? else {
            return if buf.len() > MAX_HEAD_LEN {
                Err(HttpError::HeadTooLong { max: MAX_HEAD_LEN })
            } else {
                Ok(None)
            };
        };
        if line.is_empty() {
            if next > MAX_HEAD_LEN {
                return Err(HttpError::HeadTooLong { max: MAX_HEAD_LEN });
            }
            return Ok(Some((headers, next)));
        }
        let folded = line[0] == b' ' || line[0] == b'\t';
        let colon = memchr::memchr(b':', line);
        let name = colon.map(|c| trim_end(&line[..c])).unwrap_or_default();
        if let (true, Some(last)) = (folded, headers.items.last_mut()) {
            // obs-fold: the value grows to the end of this line.
            let end = pos + line.len();
            last.value = trim(&buf[value_start..end]);
        } else if folded || name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            headers.malformed += 1;
        } else if let Some(colon) = colon {
            if headers.items.len() == MAX_HEADERS {
                return Err(HttpError::TooManyHeaders { max: MAX_HEADERS });
            }
            let raw_value = &line[colon + 1..];
            value_start = pos + colon + 1 + (raw_value.len() - trim_start(raw_value).len());
            headers.items.push(Header {
                name,
                value: trim(raw_value),
            });
        }
        pos = next;
    }
}

/// RFC 9110 token characters: every byte of every header name is looked up here.
fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

const TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    t
};

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .count();
    &s[n..]
}

fn trim_end(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .rev()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .count();
    &s[..s.len() - n]
}

fn trim(s: &[u8]) -> &[u8] {
    trim_end(trim_start(s))
}

fn strip_prefix_ci<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    (s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &s[prefix.len()..])
}

fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests;
