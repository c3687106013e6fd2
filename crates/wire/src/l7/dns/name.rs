//! Domain names with compression (RFC 1035 §4.1.4).
//!
//! A [`Name`] is a position in a message whose encoding was checked once by [`parse`]:
//! every label fits, every pointer lands inside the message, at most [`MAX_POINTERS`]
//! pointers are followed (so a pointer loop is an error, not a hang), and the name is at
//! most [`MAX_NAME_LEN`] bytes long. Reading it back cannot fail.

use super::DnsError;
use std::fmt;

/// The most compression pointers followed in one name.
pub const MAX_POINTERS: usize = 64;
/// The longest name, in wire bytes (length bytes and the root label included).
pub const MAX_NAME_LEN: usize = 255;

/// A domain name inside a DNS message.
#[derive(Clone, Copy)]
pub struct Name<'a> {
    msg: &'a [u8],
    start: usize,
}

/// Checks the name at `start` in `msg`; returns it and the offset just after its
/// in-place encoding (where the record continues).
pub(crate) fn parse(msg: &[u8], start: usize) -> Result<(Name<'_>, usize), DnsError> {
    let mut pos = start;
    let mut end = None;
    let mut hops = 0;
    let mut wire_len = 0usize;
    loop {
        let len = *msg.get(pos).ok_or(DnsError::Truncated {
            what: "name",
            needed: pos + 1,
            got: msg.len(),
        })?;
        match len >> 6 {
            0 if len == 0 => {
                end.get_or_insert(pos + 1);
                break;
            }
            0 => {
                let label_end = pos + 1 + usize::from(len);
                if label_end > msg.len() {
                    return Err(DnsError::Truncated {
                        what: "label",
                        needed: label_end,
                        got: msg.len(),
                    });
                }
                wire_len += 1 + usize::from(len);
                // The root label still has to fit.
                if wire_len + 1 > MAX_NAME_LEN {
                    return Err(DnsError::NameTooLong);
                }
                pos = label_end;
            }
            3 => {
                let low = *msg.get(pos + 1).ok_or(DnsError::Truncated {
                    what: "pointer",
                    needed: pos + 2,
                    got: msg.len(),
                })?;
                end.get_or_insert(pos + 2);
                hops += 1;
                if hops > MAX_POINTERS {
                    return Err(DnsError::CompressionLoop);
                }
                let target = usize::from(len & 0x3f) << 8 | usize::from(low);
                if target >= msg.len() {
                    return Err(DnsError::BadPointer { offset: target });
                }
                pos = target;
            }
            _ => return Err(DnsError::LabelTooLong { len }),
        }
    }
    Ok((Name { msg, start }, end.unwrap_or(pos + 1)))
}

impl<'a> Name<'a> {
    /// The labels, root excluded, as on the wire (case kept).
    pub fn labels(&self) -> Labels<'a> {
        Labels {
            msg: self.msg,
            pos: self.start,
            hops: 0,
        }
    }

    /// Where the name's first label is in the message: its start, past any compression
    /// pointers there. Two names of one message with the same first label are the same
    /// name (what follows a label is fixed by the message), so this identifies a name for
    /// callers that keep the text of names already read (answers mostly point back at the
    /// question).
    pub fn first_label_at(&self) -> usize {
        let mut pos = self.start;
        for _ in 0..MAX_POINTERS {
            match (self.msg.get(pos), self.msg.get(pos + 1)) {
                (Some(&len), Some(&low)) if len >> 6 == 3 => {
                    pos = usize::from(len & 0x3f) << 8 | usize::from(low);
                }
                _ => break,
            }
        }
        pos
    }

    /// True for the root name (no labels).
    pub fn is_root(&self) -> bool {
        self.labels().next().is_none()
    }

    /// The uncompressed wire length (length bytes and root included).
    pub fn wire_len(&self) -> usize {
        self.labels().map(|l| l.len() + 1).sum::<usize>() + 1
    }

    /// The dotted form lower-cased, as Zeek writes `query` and answers by default (its
    /// `original_query` column keeps the wire's case, which is what `Display` gives).
    pub fn to_ascii_lowercase(&self) -> String {
        // Built directly rather than through `Display`: every DNS record lower-cases its
        // question and answer names, and `fmt` went byte by byte. A label of printable ASCII
        // (nearly all) is copied lower-cased in one pass; any other goes through the escaper.
        let mut out: Vec<u8> = Vec::with_capacity(64);
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                out.push(b'.');
            }
            if label.iter().all(|b| (0x20..0x7f).contains(b)) {
                out.extend(label.iter().map(u8::to_ascii_lowercase));
            } else {
                let mut escaped = String::new();
                let _ = write_escaped(&mut escaped, label);
                out.extend_from_slice(escaped.to_ascii_lowercase().as_bytes());
            }
        }
        // Only printable ASCII was written (escapes included): always UTF-8.
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// True when the dotted form equals `dotted` ignoring ASCII case (a trailing dot on
    /// `dotted` is allowed).
    pub fn eq_ignore_ascii_case(&self, dotted: &str) -> bool {
        let dotted = dotted.strip_suffix('.').unwrap_or(dotted);
        let mut want = dotted.as_bytes().split(|&b| b == b'.');
        if dotted.is_empty() {
            return self.is_root();
        }
        for label in self.labels() {
            match want.next() {
                Some(w) if w.eq_ignore_ascii_case(label) => {}
                _ => return false,
            }
        }
        want.next().is_none()
    }
}

impl PartialEq for Name<'_> {
    /// Label by label, case-sensitive (names as on the wire).
    fn eq(&self, other: &Name<'_>) -> bool {
        self.labels().eq(other.labels())
    }
}

impl Eq for Name<'_> {}

impl fmt::Display for Name<'_> {
    /// The dotted form: case as on the wire (Zeek's `original_query`; see
    /// [`Name::to_ascii_lowercase`] for its `query`), no trailing dot, the root as the empty
    /// string, bytes outside printable ASCII as `\xNN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write_escaped(f, label)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self:?})", self = self.to_string())
    }
}

/// Writes bytes with printable ASCII as is and everything else as `\xNN`.
pub(crate) fn write_escaped(f: &mut dyn fmt::Write, bytes: &[u8]) -> fmt::Result {
    let printable = |b: &u8| (0x20..0x7f).contains(b);
    let mut rest = bytes;
    while !rest.is_empty() {
        // A run of printable ASCII in one call (names are almost always nothing else).
        let run = rest
            .iter()
            .position(|b| !printable(b))
            .unwrap_or(rest.len());
        if run > 0 {
            // Printable ASCII is UTF-8.
            f.write_str(std::str::from_utf8(&rest[..run]).unwrap_or_default())?;
        }
        if let Some(&b) = rest.get(run) {
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            f.write_str("\\x")?;
            f.write_char(DIGITS[usize::from(b >> 4)] as char)?;
            f.write_char(DIGITS[usize::from(b & 15)] as char)?;
            rest = &rest[run + 1..];
        } else {
            rest = &[];
        }
    }
    Ok(())
}

/// The labels of a [`Name`].
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    msg: &'a [u8],
    pos: usize,
    hops: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // The name was checked by `parse`; the bounds checks here only keep a misuse from
        // panicking.
        loop {
            let len = *self.msg.get(self.pos)?;
            match len >> 6 {
                0 if len == 0 => return None,
                0 => {
                    let label = self
                        .msg
                        .get(self.pos + 1..self.pos + 1 + usize::from(len))?;
                    self.pos += 1 + usize::from(len);
                    return Some(label);
                }
                3 => {
                    self.hops += 1;
                    if self.hops > MAX_POINTERS {
                        return None;
                    }
                    let low = *self.msg.get(self.pos + 1)?;
                    self.pos = usize::from(len & 0x3f) << 8 | usize::from(low);
                }
                _ => return None,
            }
        }
    }
}
