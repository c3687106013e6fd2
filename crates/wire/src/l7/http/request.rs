//! HTTP request heads.

use super::{
    BodyLength, Framing, Headers, HttpError, Version, first_line, is_tchar, parse_headers,
    strip_prefix_ci, trim,
};

/// The longest method accepted.
const MAX_METHOD_LEN: usize = 32;

/// A parsed request head.
#[derive(Debug, Clone)]
pub struct RequestHead<'a> {
    /// The method, as sent (`GET`).
    pub method: &'a [u8],
    /// The request target, raw (`/a/b?c=d`, or absolute-form, or `*`).
    pub target: &'a [u8],
    /// The version (HTTP/0.9 when the request line has none).
    pub version: Version,
    /// The header lines, in order.
    pub headers: Headers<'a>,
    /// The first Host header.
    pub host: Option<&'a [u8]>,
    /// The first User-Agent header.
    pub user_agent: Option<&'a [u8]>,
    /// The first Referer header.
    pub referer: Option<&'a [u8]>,
    /// The Content-Length, when sent (`None` when it is bad too).
    pub content_length: Option<u64>,
    /// The Content-Length is not a number, or several differ. A server must refuse such a
    /// request (RFC 9112 §6.3); the head is still a request a log wants, and its body is
    /// taken as empty (no Content-Length), as Zeek does: what follows is the next request
    /// (a request smuggled behind a negative length is then seen as the server may see it).
    pub bad_content_length: bool,
    /// True when chunked is the last transfer coding.
    pub chunked: bool,
    /// The first Connection header.
    pub connection: Option<&'a [u8]>,
    has_transfer_encoding: bool,
}

impl<'a> RequestHead<'a> {
    /// The target up to `?` (the whole target when there is no query).
    pub fn path(&self) -> &'a [u8] {
        match self.target.iter().position(|&b| b == b'?') {
            Some(i) => &self.target[..i],
            None => self.target,
        }
    }

    /// The target after the first `?`, if any.
    pub fn query(&self) -> Option<&'a [u8]> {
        let i = self.target.iter().position(|&b| b == b'?')?;
        Some(&self.target[i + 1..])
    }

    /// True for `Connection: close` (or HTTP/1.0 without `keep-alive`).
    pub fn wants_close(&self) -> bool {
        wants_close(self.version, self.connection)
    }

    /// How the body is framed: chunked, else Content-Length, else no body (a request never
    /// runs until close).
    pub fn body_length(&self) -> BodyLength {
        if self.chunked {
            BodyLength::Chunked
        } else if self.has_transfer_encoding {
            // A coding other than chunked last: the request is not framed (RFC 9112 §6.3);
            // treat the rest of the connection as body.
            BodyLength::UntilClose
        } else {
            match self.content_length {
                Some(n) => BodyLength::Length(n),
                None => BodyLength::None,
            }
        }
    }
}

pub(super) fn wants_close(version: Version, connection: Option<&[u8]>) -> bool {
    let has = |tok: &[u8]| {
        connection.is_some_and(|c| {
            c.split(|&b| b == b',')
                .any(|t| trim(t).eq_ignore_ascii_case(tok))
        })
    };
    match version {
        Version::Http11 | Version::Other(..) => has(b"close"),
        Version::Http10 | Version::Http09 => !has(b"keep-alive"),
    }
}

/// Parses a request head from the start of `buf`: `Ok(Some((head, consumed)))` when the
/// head is complete (`consumed` includes the empty line that ends it), `Ok(None)` when
/// more bytes are needed.
pub fn parse_request_head(buf: &[u8]) -> Result<Option<(RequestHead<'_>, usize)>, HttpError> {
    let Some((line, next)) = first_line(buf)? else {
        return Ok(None);
    };
    let sp = memchr::memchr(b' ', line).ok_or_else(|| {
        if line.iter().all(|&b| is_tchar(b)) && line.len() <= MAX_METHOD_LEN {
            HttpError::BadRequestLine
        } else {
            HttpError::BadMethod
        }
    })?;
    let method = &line[..sp];
    if !is_method(method) {
        return Err(HttpError::BadMethod);
    }
    let rest = trim(&line[sp + 1..]);
    // The version is the last word when it looks like one. Without one this is HTTP/0.9,
    // accepted (as Zeek does) only with an origin-form target: bytes from the middle of a
    // message must not pass for a request.
    // A version alone (`OPTIONS HTTP/1.1`) is a request with an empty target, as Zeek logs it.
    let (target, version) = match memchr::memrchr(b' ', rest) {
        Some(i) if strip_prefix_ci(&rest[i + 1..], b"HTTP/").is_some() => (
            trim(&rest[..i]),
            Version::parse_lenient(&rest[i + 1..]).ok_or(HttpError::BadVersion)?,
        ),
        None if strip_prefix_ci(rest, b"HTTP/").is_some() => (
            &rest[..0],
            Version::parse_lenient(rest).ok_or(HttpError::BadVersion)?,
        ),
        _ if rest.first() == Some(&b'/') => (rest, Version::Http09),
        _ => return Err(HttpError::BadRequestLine),
    };
    if target.is_empty() && version == Version::Http09 {
        return Err(HttpError::BadRequestLine);
    }
    // Headers follow even an HTTP/0.9 request line, as Zeek and tshark read them.
    let Some((headers, consumed)) = parse_headers(buf, next)? else {
        return Ok(None);
    };
    let framing = Framing::of(&headers);
    let head = RequestHead {
        method,
        target,
        version,
        host: headers.get("host"),
        user_agent: headers.get("user-agent"),
        referer: headers.get("referer"),
        content_length: framing.content_length,
        bad_content_length: framing.bad_content_length,
        chunked: framing.chunked,
        connection: headers.get("connection"),
        has_transfer_encoding: framing.has_transfer_encoding,
        headers,
    };
    Ok(Some((head, consumed)))
}

/// A method: a token of at most [`MAX_METHOD_LEN`] bytes starting with a letter (RFC 9110
/// allows any token; a leading digit or dot is what the middle of a message looks like).
fn is_method(m: &[u8]) -> bool {
    m.first().is_some_and(u8::is_ascii_alphabetic)
        && m.len() <= MAX_METHOD_LEN
        && m.iter().all(|&b| is_tchar(b))
}

/// Methods Zeek and the common servers know; anything else still counts when its target
/// starts like a path.
const KNOWN_METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"CONNECT",
    b"TRACE",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
    b"MKACTIVITY",
    b"CHECKOUT",
    b"MERGE",
    b"MKCALENDAR",
    b"ACL",
    b"BIND",
    b"PURGE",
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"NOTIFY",
    b"M-SEARCH",
];

/// True when `buf` starts like an HTTP request (a method token and a space), for
/// port-independent detection: a known method, or any upper-case token followed by ` /`.
pub fn looks_like_request(buf: &[u8]) -> bool {
    let Some(sp) = buf.iter().take(MAX_METHOD_LEN + 1).position(|&b| b == b' ') else {
        return false;
    };
    let method = &buf[..sp];
    if KNOWN_METHODS.contains(&method) {
        return true;
    }
    method.len() >= 3
        && method
            .iter()
            .all(|&b| b.is_ascii_uppercase() || b == b'-' || b == b'_')
        && buf.get(sp + 1) == Some(&b'/')
}
