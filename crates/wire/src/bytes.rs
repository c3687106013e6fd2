//! Fixed-offset reads (big-endian, and little-endian for 802.11 and radiotap), and a
//! bounds-checked cursor for the variable-length L7 formats.
//!
//! The fixed-offset readers (`be16`, `le16` ...) index directly: the header views call them
//! only on offsets their `new_checked` proved present. The [`Reader`] never panics: every
//! read returns `None` past the end and the caller turns that into its own typed error.

/// Reads a big-endian `u16` at `at`.
#[inline]
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Reads a big-endian 24-bit value at `at`.
#[inline]
pub(crate) fn be24(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([0, b[at], b[at + 1], b[at + 2]])
}

/// Reads a big-endian `u32` at `at`.
#[inline]
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads a little-endian `u16` at `at`.
#[inline]
pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// Reads a little-endian `u32` at `at`.
#[inline]
pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A cursor over a byte slice whose reads fail (with `None`) instead of panicking.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A cursor at the start of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Bytes read so far.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when nothing is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// One byte.
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }

    /// A big-endian `u16`.
    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|s| be16(s, 0))
    }

    /// A big-endian `u32`.
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|s| be32(s, 0))
    }

    /// A vector with a one-byte length prefix.
    pub(crate) fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()? as usize;
        self.take(n)
    }

    /// A vector with a two-byte length prefix.
    pub(crate) fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(HEX_DIGITS[(b >> 4) as usize] as char);
        s.push(HEX_DIGITS[(b & 15) as usize] as char);
    }
    s
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends `v` as four lower-case hex digits (`{v:04x}`), without `fmt`'s machinery: JA4
/// writes dozens per handshake.
pub(crate) fn push_hex4(out: &mut String, v: u16) {
    for shift in [12, 8, 4, 0] {
        out.push(HEX_DIGITS[usize::from((v >> shift) & 15)] as char);
    }
}

/// Appends `v` in decimal (`{v}`), without `fmt`'s machinery: JA3 writes dozens per
/// handshake.
pub(crate) fn push_decimal(out: &mut String, mut v: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(d as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex4_and_decimal_match_fmt() {
        for v in [0u16, 1, 0x0a0b, 0x1301, 0xfe0d, u16::MAX] {
            let mut s = String::new();
            push_hex4(&mut s, v);
            assert_eq!(s, format!("{v:04x}"));
        }
        for v in [0u32, 7, 10, 771, 65_535, 4_294_967_295] {
            let mut s = String::new();
            push_decimal(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }

    #[test]
    fn reader_never_reads_past_the_end() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16(), Some(0x0102));
        assert_eq!(r.u16(), None);
        assert_eq!(r.u8(), Some(3));
        assert_eq!(r.u8(), None);
        assert!(r.is_empty());
        let mut r = Reader::new(&[5, 1, 2]);
        assert_eq!(r.vec8(), None);
        let mut r = Reader::new(&[0, 2, 9, 8, 7]);
        assert_eq!(r.vec16(), Some(&[9u8, 8][..]));
        assert_eq!(r.remaining(), 1);
        assert_eq!(r.take(usize::MAX), None);
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0xab, 0x01]), "ab01");
    }
}
