//! HTTP response heads.

use super::request::wants_close;
use super::{BodyLength, Framing, Headers, HttpError, Version, first_line, parse_headers, trim};

/// A parsed response head.
#[derive(Debug, Clone)]
pub struct ResponseHead<'a> {
    /// The version.
    pub version: Version,
    /// The status code.
    pub status: u16,
    /// The reason phrase (possibly empty).
    pub reason: &'a [u8],
    /// The header lines, in order.
    pub headers: Headers<'a>,
    /// The media type of the first Content-Type header, parameters cut (`text/html`).
    pub content_type: Option<&'a [u8]>,
    /// The Content-Length, when sent.
    pub content_length: Option<u64>,
    /// The first Server header.
    pub server: Option<&'a [u8]>,
    /// True when chunked is the last transfer coding.
    pub chunked: bool,
    /// The first Connection header.
    pub connection: Option<&'a [u8]>,
    has_transfer_encoding: bool,
}

impl ResponseHead<'_> {
    /// True for `Connection: close` (or HTTP/1.0 without `keep-alive`).
    pub fn wants_close(&self) -> bool {
        wants_close(self.version, self.connection)
    }

    /// True for 1xx responses, which precede the final response to the same request.
    pub fn is_informational(&self) -> bool {
        (100..200).contains(&self.status)
    }

    /// How the body is framed (RFC 9112 §6.3), given the method of the request it answers
    /// (when known): none for HEAD, 1xx, 204, 304 and a successful CONNECT; chunked; else
    /// Content-Length; else until the connection closes.
    pub fn body_length(&self, request_method: Option<&[u8]>) -> BodyLength {
        let method = request_method.unwrap_or_default();
        if method.eq_ignore_ascii_case(b"HEAD")
            || self.is_informational()
            || self.status == 204
            || self.status == 304
            || (method.eq_ignore_ascii_case(b"CONNECT") && (200..300).contains(&self.status))
        {
            BodyLength::None
        } else if self.chunked {
            BodyLength::Chunked
        } else if self.has_transfer_encoding {
            BodyLength::UntilClose
        } else {
            match self.content_length {
                Some(n) => BodyLength::Length(n),
                None => BodyLength::UntilClose,
            }
        }
    }
}

/// Parses a response head from the start of `buf`: `Ok(Some((head, consumed)))` when the
/// head is complete, `Ok(None)` when more bytes are needed.
pub fn parse_response_head(buf: &[u8]) -> Result<Option<(ResponseHead<'_>, usize)>, HttpError> {
    // Bytes that cannot begin `HTTP/` are not a status line, whether or not its end is here
    // yet (the middle of a body, when a capture lost a response's start): said at once, not
    // after waiting for a line end that may be a whole head's length away.
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let begins = &buf[start..buf.len().min(start + 5)];
    if !begins.eq_ignore_ascii_case(&b"HTTP/"[..begins.len()]) {
        return Err(HttpError::BadVersion);
    }
    let Some((line, next)) = first_line(buf)? else {
        return Ok(None);
    };
    let (version_tok, rest) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &line[line.len()..]),
    };
    let version = Version::parse(version_tok).ok_or(HttpError::BadVersion)?;
    let rest = trim(rest);
    let code = rest.get(..3).ok_or(HttpError::BadStatusLine)?;
    if !code.iter().all(u8::is_ascii_digit) || rest.get(3).is_some_and(|&b| b != b' ') {
        return Err(HttpError::BadStatusLine);
    }
    let status = code.iter().fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    let reason = trim(&rest[3..]);
    let Some((headers, consumed)) = parse_headers(buf, next)? else {
        return Ok(None);
    };
    let framing = Framing::of(&headers);
    // A response whose length cannot be known cannot be framed (RFC 9112 §6.3).
    if framing.bad_content_length {
        return Err(HttpError::BadContentLength);
    }
    let content_type = headers.get("content-type").map(|v| {
        let mime = v.split(|&b| b == b';').next().unwrap_or_default();
        trim(mime)
    });
    let head = ResponseHead {
        version,
        status,
        reason,
        content_type,
        content_length: framing.content_length,
        server: headers.get("server"),
        chunked: framing.chunked,
        connection: headers.get("connection"),
        has_transfer_encoding: framing.has_transfer_encoding,
        headers,
    };
    Ok(Some((head, consumed)))
}

/// True when `buf` starts like an HTTP/1.x status line (`HTTP/1.`).
pub fn looks_like_response(buf: &[u8]) -> bool {
    buf.len() >= 7 && buf[..7].eq_ignore_ascii_case(b"HTTP/1.")
}
