use super::*;
use crate::testutil::XorShift;

const REQ: &[u8] = b"GET /search?q=rust&lang=en HTTP/1.1\r\n\
Host: example.com\r\n\
User-Agent: curl/8.5.0\r\n\
Accept: */*\r\n\
Referer: http://example.org/\r\n\
X-Dup: one\r\n\
x-dup: two\r\n\
Connection: keep-alive\r\n\
\r\n";

const RESP: &[u8] = b"HTTP/1.1 404 Not Found\r\n\
Server: nginx/1.24.0\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Length: 5\r\n\
\r\n\
hello";

#[test]
fn request_fields() {
    let (h, n) = parse_request_head(REQ).unwrap().unwrap();
    assert_eq!(n, REQ.len());
    assert_eq!(h.method, b"GET");
    assert_eq!(h.target, b"/search?q=rust&lang=en");
    assert_eq!(h.path(), b"/search");
    assert_eq!(h.query(), Some(&b"q=rust&lang=en"[..]));
    assert_eq!(h.version, Version::Http11);
    assert_eq!(h.version.to_string(), "1.1");
    assert_eq!(h.host, Some(&b"example.com"[..]));
    assert_eq!(h.user_agent, Some(&b"curl/8.5.0"[..]));
    assert_eq!(h.referer, Some(&b"http://example.org/"[..]));
    assert_eq!(h.connection, Some(&b"keep-alive"[..]));
    assert_eq!(h.content_length, None);
    assert!(!h.chunked && !h.wants_close());
    assert_eq!(h.headers.len(), 7);
    assert_eq!(h.headers.as_slice()[2].name, b"Accept");
    assert_eq!(h.headers.get("ACCEPT"), Some(&b"*/*"[..]));
    let dups: Vec<_> = h.headers.get_all("X-DUP").collect();
    assert_eq!(dups, vec![&b"one"[..], &b"two"[..]]);
    assert_eq!(h.body_length(), BodyLength::None);
}

#[test]
fn every_prefix_of_a_request_is_incomplete() {
    for n in 0..REQ.len() {
        assert!(
            matches!(parse_request_head(&REQ[..n]), Ok(None)),
            "prefix {n} was not incomplete"
        );
    }
    for n in 0..RESP.len() - 5 {
        assert!(
            matches!(parse_response_head(&RESP[..n]), Ok(None)),
            "prefix {n}"
        );
    }
}

#[test]
fn lenient_where_zeek_is() {
    // Bare LF line ends and empty lines before the request line.
    let req = b"\r\n\nPOST /x HTTP/1.0\nHost: h\nContent-Length: 3\n\nabc";
    let (h, n) = parse_request_head(req).unwrap().unwrap();
    assert_eq!(
        (h.method, h.target, h.version),
        (&b"POST"[..], &b"/x"[..], Version::Http10)
    );
    assert_eq!(&req[n..], b"abc");
    assert_eq!(h.body_length(), BodyLength::Length(3));
    assert!(h.wants_close());
    // HTTP/0.9: no version; headers are still read (Zeek logs their Host).
    let (h, n) = parse_request_head(b"GET /old\r\n\r\nrest")
        .unwrap()
        .unwrap();
    assert_eq!(
        (h.target, h.version, h.headers.len(), n),
        (&b"/old"[..], Version::Http09, 0, 12)
    );
    let req = b"GET /HTTP/1.1\r\nHost: www.google.com\r\n\r\n";
    let (h, _) = parse_request_head(req).unwrap().unwrap();
    assert_eq!((h.target, h.version), (&b"/HTTP/1.1"[..], Version::Http09));
    assert_eq!(h.host, Some(&b"www.google.com"[..]));
    // Folded header value.
    let req = b"GET / HTTP/1.1\r\nX-Long: a\r\n  b\r\nHost: h\r\n\r\n";
    let (h, _) = parse_request_head(req).unwrap().unwrap();
    assert_eq!(h.headers.get("x-long"), Some(&b"a\r\n  b"[..]));
    assert_eq!(h.host, Some(&b"h"[..]));
    // Spaces in the target (broken clients) stay in the target.
    let (h, _) = parse_request_head(b"GET /a b HTTP/1.1\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(h.target, b"/a b");
}

#[test]
fn request_lines_zeek_accepts() {
    // A version without a target: an empty target (Zeek's missing_HTTP_uri).
    let (h, _) = parse_request_head(b"OPTIONS HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(
        (h.method, h.target, h.version),
        (&b"OPTIONS"[..], &b""[..], Version::Http11)
    );
    // A cut-off minor version, and a method with an underscore.
    let (h, _) = parse_request_head(b"CCM_POST / HTTP/1.\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(
        (h.method, h.target, h.version),
        (&b"CCM_POST"[..], &b"/"[..], Version::Http10)
    );
    assert_eq!(Version::parse_lenient(b"HTTP/1"), Some(Version::Http10));
    assert_eq!(Version::parse_lenient(b"HTTP/1.10"), Some(Version::Http11));
    assert_eq!(Version::parse_lenient(b"HTTP/1.x"), None);
    assert_eq!(Version::parse_lenient(b"HTTP/"), None);
}

#[test]
fn malformed_header_lines_are_skipped_and_counted() {
    let (h, n) = parse_request_head(
        b"GET / HTTP/1.1\r\n folded-first\r\nno colon\r\nA: b\r\n: empty\r\nB: c\r\n\r\n",
    )
    .unwrap()
    .unwrap();
    assert_eq!(h.headers.malformed(), 3);
    assert_eq!((h.headers.len(), h.headers.get("b")), (2, Some(&b"c"[..])));
    assert_eq!(n, 64);
}

#[test]
fn request_errors_say_why() {
    let cases: &[(&[u8], HttpError)] = &[
        (b"G(T / HTTP/1.1\r\n\r\n", HttpError::BadMethod),
        (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n",
            HttpError::BadMethod,
        ),
        (b"GET\r\n\r\n", HttpError::BadRequestLine),
        // The middle of a message (a User-Agent split over two segments) is not a request.
        (
            b"7.36 (KHTML, like Gecko) Safari/537.36\r\nA: b\r\n\r\n",
            HttpError::BadMethod,
        ),
        (
            b"oid 6.0.1; SM-T805 Build/MMB29K\r\nA: b\r\n\r\n",
            HttpError::BadRequestLine,
        ),
        (
            b"Body isn't 100000 long!\r\n\r\n",
            HttpError::BadRequestLine,
        ),
        (b"GET / HTTP/x.1\r\n\r\n", HttpError::BadVersion),
    ];
    for (input, err) in cases {
        assert_eq!(
            parse_request_head(input).unwrap_err(),
            *err,
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    // Same values repeated are fine.
    let ok = b"PUT / HTTP/1.1\r\nContent-Length: 7, 7\r\n\r\n";
    assert_eq!(
        parse_request_head(ok).unwrap().unwrap().0.content_length,
        Some(7)
    );
}

#[test]
fn caps() {
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..=MAX_HEADERS {
        many.extend_from_slice(format!("H{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(
        parse_request_head(&many).unwrap_err(),
        HttpError::TooManyHeaders { max: MAX_HEADERS }
    );
    let long_line = vec![b'a'; MAX_LINE_LEN + 1];
    let mut req = b"GET /".to_vec();
    req.extend_from_slice(&long_line);
    assert_eq!(
        parse_request_head(&req).unwrap_err(),
        HttpError::LineTooLong { max: MAX_LINE_LEN }
    );
    // Many headers that are each fine but add up to more than the head cap.
    let mut big = b"GET / HTTP/1.1\r\n".to_vec();
    for _ in 0..(MAX_HEAD_LEN / 8000 + 1) {
        big.extend_from_slice(b"X: ");
        big.extend_from_slice(&vec![b'v'; 8000]);
        big.extend_from_slice(b"\r\n");
    }
    assert_eq!(
        parse_request_head(&big).unwrap_err(),
        HttpError::HeadTooLong { max: MAX_HEAD_LEN }
    );
}

#[test]
fn response_fields() {
    let (h, n) = parse_response_head(RESP).unwrap().unwrap();
    assert_eq!(&RESP[n..], b"hello");
    assert_eq!(h.version, Version::Http11);
    assert_eq!(h.status, 404);
    assert_eq!(h.reason, b"Not Found");
    assert_eq!(h.server, Some(&b"nginx/1.24.0"[..]));
    assert_eq!(h.content_type, Some(&b"text/html"[..]));
    assert_eq!(h.content_length, Some(5));
    assert_eq!(h.body_length(Some(b"GET")), BodyLength::Length(5));
    assert_eq!(h.body_length(Some(b"HEAD")), BodyLength::None);

    let (h, _) = parse_response_head(b"HTTP/1.0 200\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!((h.status, h.reason), (200, &b""[..]));
    assert_eq!(h.body_length(None), BodyLength::UntilClose);
    assert!(h.wants_close());
    let (h, _) = parse_response_head(b"HTTP/1.1 204 No Content\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(h.body_length(None), BodyLength::None);
    let (h, _) = parse_response_head(b"HTTP/1.1 100 Continue\r\n\r\n")
        .unwrap()
        .unwrap();
    assert!(h.is_informational());
    let chunked =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 9\r\n\r\n";
    let (h, _) = parse_response_head(chunked).unwrap().unwrap();
    assert!(h.chunked);
    assert_eq!(h.body_length(Some(b"GET")), BodyLength::Chunked);
}

#[test]
fn response_errors_say_why() {
    assert_eq!(
        parse_response_head(b"HTTX/1.1 200 OK\r\n\r\n").unwrap_err(),
        HttpError::BadVersion
    );
    assert_eq!(
        parse_response_head(b"HTTP/1.1 2x0 OK\r\n\r\n").unwrap_err(),
        HttpError::BadStatusLine
    );
    assert_eq!(
        parse_response_head(b"HTTP/1.1 20\r\n\r\n").unwrap_err(),
        HttpError::BadStatusLine
    );
    assert_eq!(
        parse_response_head(b"HTTP/1.1 2000 OK\r\n\r\n").unwrap_err(),
        HttpError::BadStatusLine
    );
}

/// The middle of a body where a head should start is an error without a line end, and a
/// status line's beginning (after empty lines too) still waits for more bytes.
#[test]
fn response_start_that_cannot_be_a_status_line() {
    for junk in [&b"\xff\xd8\xff\xe0 JFIF"[..], b"x", b"\r\nHTTX", b"<html>"] {
        assert_eq!(
            parse_response_head(junk).unwrap_err(),
            HttpError::BadVersion,
            "{junk:?}"
        );
    }
    for partial in [&b""[..], b"H", b"http/", b"\r\n\r\nHTTP/1.1 200", b"\n"] {
        assert!(
            parse_response_head(partial).unwrap().is_none(),
            "{partial:?}"
        );
    }
}

#[test]
fn content_length_body_in_pieces() {
    let mut d = BodyDecoder::new(BodyLength::Length(10));
    assert_eq!(
        d.feed(b"0123").unwrap(),
        BodyProgress {
            consumed: 4,
            data: 4,
            done: false
        }
    );
    assert_eq!(
        d.feed(b"456789NEXT").unwrap(),
        BodyProgress {
            consumed: 6,
            data: 6,
            done: true
        }
    );
    assert_eq!(
        d.feed(b"more").unwrap(),
        BodyProgress {
            consumed: 0,
            data: 0,
            done: true
        }
    );
    assert_eq!(d.data_len(), 10);
    assert!(BodyDecoder::new(BodyLength::None).is_done());
    let mut d = BodyDecoder::new(BodyLength::UntilClose);
    assert_eq!(
        d.feed(b"abc").unwrap(),
        BodyProgress {
            consumed: 3,
            data: 3,
            done: false
        }
    );
}

const CHUNKED: &[u8] = b"4;name=value\r\nWiki\r\n5 \r\npedia\r\nC\npart\r\n\r\nhere\n0\r\nTrailer: yes\r\nX: y\n\r\nNEXT";

#[test]
fn chunked_body_with_extensions_and_trailers() {
    let mut d = BodyDecoder::new(BodyLength::Chunked);
    let mut data = Vec::new();
    let p = d.feed_data(CHUNKED, |s| data.extend_from_slice(s)).unwrap();
    assert!(p.done);
    assert_eq!(&CHUNKED[p.consumed..], b"NEXT");
    assert_eq!(data, b"Wikipediapart\r\n\r\nhere");
    assert_eq!(p.data, data.len());
    // Byte by byte gives the same.
    let mut d = BodyDecoder::new(BodyLength::Chunked);
    let mut consumed = 0;
    for i in 0..CHUNKED.len() {
        let p = d.feed(&CHUNKED[i..=i]).unwrap();
        consumed += p.consumed;
        if p.done {
            break;
        }
    }
    assert_eq!(consumed, CHUNKED.len() - 4);
    assert_eq!(d.data_len(), 21);
}

#[test]
fn chunked_errors() {
    for (input, err) in [
        (&b"x\r\n"[..], HttpError::BadChunkSize),
        (b"\r\n", HttpError::BadChunkSize),
        (b"11111111111111111\r\n", HttpError::BadChunkSize),
        (b"2\r\nabX", HttpError::BadChunkTerminator),
        (b"2\r\nab\rX", HttpError::BadChunkTerminator),
    ] {
        assert_eq!(
            BodyDecoder::new(BodyLength::Chunked)
                .feed(input)
                .unwrap_err(),
            err
        );
    }
    let mut long_ext = b"1;".to_vec();
    long_ext.extend_from_slice(&vec![b'e'; MAX_LINE_LEN + 1]);
    assert_eq!(
        BodyDecoder::new(BodyLength::Chunked)
            .feed(&long_ext)
            .unwrap_err(),
        HttpError::LineTooLong { max: MAX_LINE_LEN }
    );
    // Every truncated prefix of a valid body is incomplete, never done.
    for n in 0..CHUNKED.len() - 4 {
        let p = BodyDecoder::new(BodyLength::Chunked)
            .feed(&CHUNKED[..n])
            .unwrap();
        assert!(!p.done && p.consumed == n, "prefix {n}");
    }
}

#[test]
fn pipelined_keep_alive_walk() {
    let stream = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc\
GET /b HTTP/1.1\r\n\r\n\
PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n\
DELETE /d HTTP/1.1\r\n\r\n";
    let mut pos = 0;
    let mut seen = Vec::new();
    while pos < stream.len() {
        let (head, n) = parse_request_head(&stream[pos..]).unwrap().unwrap();
        seen.push(String::from_utf8_lossy(head.target).into_owned());
        pos += n;
        let p = BodyDecoder::new(head.body_length())
            .feed(&stream[pos..])
            .unwrap();
        assert!(p.done);
        pos += p.consumed;
    }
    assert_eq!(seen, ["/a", "/b", "/c", "/d"]);
}

#[test]
fn detection() {
    assert!(looks_like_request(b"GET / HTTP/1.1\r\n"));
    assert!(looks_like_request(b"M-SEARCH * HTTP/1.1\r\n"));
    assert!(looks_like_request(b"FOOBAR /x HTTP/1.1"));
    assert!(!looks_like_request(b"FOOBAR x"));
    assert!(!looks_like_request(b"GE"));
    assert!(!looks_like_request(b"GET"));
    assert!(!looks_like_request(b"\x16\x03\x01\x00"));
    assert!(!looks_like_request(b"SSH-2.0-OpenSSH_9.6\r\n"));
    assert!(looks_like_response(b"HTTP/1.1 200 OK"));
    assert!(!looks_like_response(b"HTTP/2"));
}

#[test]
fn random_input_never_panics() {
    let mut rng = XorShift(42);
    let bases: [&[u8]; 3] = [REQ, RESP, CHUNKED];
    for i in 0..20_000usize {
        let input = if i.is_multiple_of(2) {
            rng.bytes(300)
        } else {
            rng.mutate(bases[i % 3])
        };
        let _ = parse_request_head(&input);
        let _ = parse_response_head(&input);
        let _ = looks_like_request(&input);
        let mut d = BodyDecoder::new(BodyLength::Chunked);
        if let Ok(p) = d.feed(&input) {
            assert!(p.consumed <= input.len());
        }
    }
}

/// A request whose Content-Length is bad is still a request: flagged, with no body, so the
/// bytes after its head are the next request (as Zeek reads them). A response with one
/// cannot be framed: an error.
#[test]
fn a_bad_content_length_flags_a_request_and_fails_a_response() {
    for head in [
        &b"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 1x\r\nContent-Length: 5\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\n",
    ] {
        let (r, used) = parse_request_head(head).unwrap().unwrap();
        assert_eq!(used, head.len());
        assert!(r.bad_content_length, "{}", String::from_utf8_lossy(head));
        assert_eq!(r.content_length, None);
        assert_eq!(r.body_length(), BodyLength::None);
    }
    let (ok, _) = parse_request_head(b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n")
        .unwrap()
        .unwrap();
    assert!(!ok.bad_content_length);
    assert_eq!(ok.body_length(), BodyLength::Length(5));
    // Chunked still frames a request whose Content-Length is bad.
    let (c, _) = parse_request_head(
        b"POST / HTTP/1.1\r\nContent-Length: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .unwrap()
    .unwrap();
    assert_eq!(c.body_length(), BodyLength::Chunked);
    assert_eq!(
        parse_response_head(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").unwrap_err(),
        HttpError::BadContentLength
    );
}
