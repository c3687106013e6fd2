//! Normalising text values before they are compared.
//!
//! The tools print the same bytes differently: Zeek writes a byte that is not printable as
//! `\xNN`, tshark replaces invalid UTF-8 by U+FFFD, flowsight's JSON may carry either form.
//! Each comparison says which normal form it uses; all of them undo `\xNN` first, so the
//! question is only whether two tools saw the same bytes.

/// Undoes `\xNN` escapes (as Zeek and flowsight write non-printable bytes); every other
/// character is kept as its UTF-8 bytes.
pub fn unescape_x(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b.get(i + 1) == Some(&b'x')
            && let (Some(h), Some(l)) = (hex(b[i + 2]), hex(b[i + 3]))
        {
            out.push(h << 4 | l);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// The exact normal form: escapes undone, then every byte that is not printable ASCII or
/// part of valid UTF-8 written as `\xNN` again. Two values are equal in this form exactly when
/// they stand for the same bytes.
pub fn exact(s: &str) -> String {
    escape_bytes(&unescape_x(s))
}

/// Writes bytes as text: valid UTF-8 printable characters as they are, control characters
/// and invalid bytes as `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                push_hex(&mut out, c as u32 as u8);
            } else {
                out.push(c);
            }
        }
        for &b in chunk.invalid() {
            push_hex(&mut out, b);
        }
    }
    out
}

fn push_hex(out: &mut String, b: u8) {
    out.push_str(&format!("\\x{b:02x}"));
}

/// The lossy normal form, for comparing with a tool that writes invalid UTF-8 as U+FFFD
/// (tshark): escapes undone, invalid sequences replaced, control characters escaped.
pub fn lossy(s: &str) -> String {
    let bytes = unescape_x(s);
    let text = String::from_utf8_lossy(&bytes);
    escape_bytes(text.as_bytes())
}

/// Percent-decoding as Zeek applies it to the URI it logs: `%XX` with two hex digits becomes
/// the byte, anything else stays. Works on the exact normal form's bytes.
pub fn percent_decoded(s: &str) -> String {
    let b = unescape_x(s);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    escape_bytes(&out)
}

/// A Host header value without its port: `example.com:8080` -> `example.com`,
/// `[2001:db8::1]:80` -> `2001:db8::1`. A bare IPv6 address (several colons) is kept.
pub fn host_without_port(h: &str) -> &str {
    let h = h.trim();
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match h.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => h,
    }
}

/// A Content-Type as flowsight logs `http.response.mime_type`: the media type without
/// parameters, trimmed, lower-case.
pub fn mime_type(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A value for a TSV cell of the disagreement files: at most `max` characters, with tabs and
/// line breaks escaped so that a row stays one line.
pub fn cell(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        match c {
            '\t' => out.push_str("\\x09"),
            '\n' => out.push_str("\\x0a"),
            '\r' => out.push_str("\\x0d"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeek_escapes_round_trip() {
        assert_eq!(unescape_x(r"a\xfcb"), vec![b'a', 0xfc, b'b']);
        assert_eq!(exact(r"r\xfchma"), r"r\xfchma");
        // A raw invalid byte and its escaped form are the same value.
        assert_eq!(exact("TXT 3 a\tb"), exact(r"TXT 3 a\x09b"));
        // Valid UTF-8 escaped byte by byte is the same as the character itself.
        assert_eq!(exact(r"\xc3\xa9t\xc3\xa9"), "été");
        // A backslash not followed by two hex digits stays.
        assert_eq!(exact(r"a\xzz\x4"), r"a\xzz\x4");
    }

    #[test]
    fn lossy_matches_replacement_characters() {
        assert_eq!(lossy(r"r\xfchma"), lossy("r\u{fffd}hma"));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decoded("/a%20b%zz%4"), "/a b%zz%4");
        assert_eq!(percent_decoded("/r%FChma"), r"/r\xfchma");
        assert_eq!(percent_decoded(r"/r\xfchma"), r"/r\xfchma");
    }

    #[test]
    fn hosts_lose_ports() {
        assert_eq!(host_without_port("example.com:8080"), "example.com");
        assert_eq!(host_without_port("example.com"), "example.com");
        assert_eq!(host_without_port("[2001:db8::1]:80"), "2001:db8::1");
        assert_eq!(host_without_port("2001:db8::1"), "2001:db8::1");
        assert_eq!(host_without_port("239.255.255.250:1900"), "239.255.255.250");
    }

    #[test]
    fn mime_types_lose_parameters() {
        assert_eq!(mime_type("Text/HTML; charset=UTF-8"), "text/html");
        assert_eq!(
            mime_type("application/json;charset=utf-8"),
            "application/json"
        );
    }

    #[test]
    fn cells_stay_on_one_line() {
        assert_eq!(cell("a\tb\nc", 200), r"a\x09b\x0ac");
        assert_eq!(cell("abcdef", 3), "abc…");
    }
}
