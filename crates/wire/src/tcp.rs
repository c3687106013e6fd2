//! TCP headers (RFC 9293) and their options.

use crate::bytes::{be16, be32};
use crate::error::{DecodeError, Layer, need};
use std::fmt;

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ_NUM: Range<usize> = 4..8;
    pub const ACK_NUM: Range<usize> = 8..12;
    pub const FLAGS: Range<usize> = 12..14;
    pub const WIN_SIZE: Range<usize> = 14..16;
    pub const CHECKSUM: Range<usize> = 16..18;
    pub const URGENT: Range<usize> = 18..20;
    pub const OPTIONS: usize = 20;
}

/// Length of a header without options.
pub const MIN_HEADER_LEN: usize = field::OPTIONS;

/// The TCP flag bits (the low 9 bits of the data-offset/flags word).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u16);

impl Flags {
    /// No more data from sender.
    pub const FIN: Flags = Flags(0x001);
    /// Synchronize sequence numbers.
    pub const SYN: Flags = Flags(0x002);
    /// Reset the connection.
    pub const RST: Flags = Flags(0x004);
    /// Push function.
    pub const PSH: Flags = Flags(0x008);
    /// Acknowledgment field significant.
    pub const ACK: Flags = Flags(0x010);
    /// Urgent pointer field significant.
    pub const URG: Flags = Flags(0x020);
    /// ECN-echo.
    pub const ECE: Flags = Flags(0x040);
    /// Congestion window reduced.
    pub const CWR: Flags = Flags(0x080);
    /// ECN nonce (RFC 3540, historic; now AE in accurate ECN).
    pub const NS: Flags = Flags(0x100);

    /// True when every bit of `other` is set.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The raw bits.
    pub fn bits(self) -> u16 {
        self.0
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({self})")
    }
}

impl fmt::Display for Flags {
    /// tcpdump's letters: `S`, `F`, `R`, `P`, `U`, `E`, `W`, `N` and `.` for ACK.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (flag, c) in [
            (Flags::SYN, 'S'),
            (Flags::FIN, 'F'),
            (Flags::RST, 'R'),
            (Flags::PSH, 'P'),
            (Flags::URG, 'U'),
            (Flags::ECE, 'E'),
            (Flags::CWR, 'W'),
            (Flags::NS, 'N'),
            (Flags::ACK, '.'),
        ] {
            if self.contains(flag) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// A TCP segment.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the header (with options) is whole and that the data
    /// offset covers the fixed header. Options are checked when read.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        let b = buffer.as_ref();
        need(Layer::Tcp, b, MIN_HEADER_LEN)?;
        let header_len = usize::from(b[field::FLAGS.start] >> 4) * 4;
        if header_len < MIN_HEADER_LEN {
            return Err(DecodeError::BadHeaderLength {
                layer: Layer::Tcp,
                len: header_len,
            });
        }
        need(Layer::Tcp, b, header_len)?;
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The source port.
    pub fn src_port(&self) -> u16 {
        be16(self.b(), field::SRC_PORT.start)
    }

    /// The destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.b(), field::DST_PORT.start)
    }

    /// The sequence number.
    pub fn seq_number(&self) -> u32 {
        be32(self.b(), field::SEQ_NUM.start)
    }

    /// The acknowledgment number.
    pub fn ack_number(&self) -> u32 {
        be32(self.b(), field::ACK_NUM.start)
    }

    /// The header length in bytes (the data offset), options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[field::FLAGS.start] >> 4) * 4
    }

    /// The flag bits.
    pub fn flags(&self) -> Flags {
        Flags(be16(self.b(), field::FLAGS.start) & 0x01ff)
    }

    /// The window field (not scaled).
    pub fn window_len(&self) -> u16 {
        be16(self.b(), field::WIN_SIZE.start)
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.b(), field::CHECKSUM.start)
    }

    /// The urgent pointer.
    pub fn urgent_at(&self) -> u16 {
        be16(self.b(), field::URGENT.start)
    }

    /// The raw options.
    pub fn options(&self) -> &[u8] {
        &self.b()[field::OPTIONS..self.header_len()]
    }

    /// The options, one by one.
    pub fn option_iter(&self) -> OptionIter<'_> {
        OptionIter {
            rest: self.options(),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the header.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        let hl = usize::from(b[field::FLAGS.start] >> 4) * 4;
        &b[hl..]
    }
}

/// One TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// No-operation (kind 1).
    Nop,
    /// Maximum segment size (kind 2).
    Mss(u16),
    /// Window scale shift count (kind 3).
    WindowScale(u8),
    /// SACK permitted (kind 4).
    SackPermitted,
    /// SACK blocks (kind 5): pairs of left and right edges, as raw bytes (8 per block).
    Sack(&'a [u8]),
    /// Timestamps (kind 8): value and echo reply.
    Timestamps {
        /// TSval.
        value: u32,
        /// TSecr.
        echo: u32,
    },
    /// Any other option.
    Unknown {
        /// The option kind.
        kind: u8,
        /// The data after kind and length.
        data: &'a [u8],
    },
}

/// Iterates over TCP options; stops at end-of-list. Yields one
/// [`DecodeError::BadTcpOption`] for an option whose length is wrong, then stops.
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = Result<TcpOption<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (&kind, after) = self.rest.split_first()?;
        match kind {
            0 => {
                self.rest = &[];
                return None;
            }
            1 => {
                self.rest = after;
                return Some(Ok(TcpOption::Nop));
            }
            _ => {}
        }
        let len = after.first().copied().unwrap_or(0);
        let bad = || DecodeError::BadTcpOption { kind, len };
        if len < 2 || usize::from(len) > self.rest.len() {
            self.rest = &[];
            return Some(Err(bad()));
        }
        let data = &self.rest[2..usize::from(len)];
        self.rest = &self.rest[usize::from(len)..];
        let opt = match (kind, data.len()) {
            (2, 2) => TcpOption::Mss(be16(data, 0)),
            (3, 1) => TcpOption::WindowScale(data[0]),
            (4, 0) => TcpOption::SackPermitted,
            (5, n) if n.is_multiple_of(8) && n > 0 => TcpOption::Sack(data),
            (8, 8) => TcpOption::Timestamps {
                value: be32(data, 0),
                echo: be32(data, 4),
            },
            (2..=5 | 8, _) => {
                self.rest = &[];
                return Some(Err(bad()));
            }
            _ => TcpOption::Unknown { kind, data },
        };
        Some(Ok(opt))
    }
}

/// The options of a segment, summarised (what flow records and fingerprints use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Maximum segment size.
    pub mss: Option<u16>,
    /// Window scale shift count.
    pub window_scale: Option<u8>,
    /// SACK permitted was offered.
    pub sack_permitted: bool,
    /// Number of SACK blocks.
    pub sack_blocks: u8,
    /// Timestamps (value, echo reply).
    pub timestamps: Option<(u32, u32)>,
    /// An option was malformed; the ones before it are kept.
    pub malformed: bool,
}

impl Options {
    /// Summarises raw option bytes. Never fails: a malformed option sets
    /// [`Options::malformed`] and ends the walk.
    pub fn parse(raw: &[u8]) -> Options {
        let mut o = Options::default();
        for opt in (OptionIter { rest: raw }) {
            match opt {
                Ok(TcpOption::Mss(v)) => o.mss = Some(v),
                Ok(TcpOption::WindowScale(v)) => o.window_scale = Some(v),
                Ok(TcpOption::SackPermitted) => o.sack_permitted = true,
                Ok(TcpOption::Sack(b)) => o.sack_blocks = (b.len() / 8) as u8,
                Ok(TcpOption::Timestamps { value, echo }) => o.timestamps = Some((value, echo)),
                Ok(TcpOption::Nop | TcpOption::Unknown { .. }) => {}
                Err(_) => o.malformed = true,
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // SYN from port 50000 to 443 with MSS 1460, SACK-permitted, timestamps, NOP, WS 7.
    const SYN: [u8; 42] = [
        0xc3, 0x50, 0x01, 0xbb, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa,
        0xf0, 0xbe, 0xef, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x01,
        0xe2, 0x40, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07, 0xaa, 0xbb,
    ];

    #[test]
    fn fields_and_options() {
        let p = Packet::new_checked(&SYN[..]).unwrap();
        assert_eq!(p.src_port(), 50000);
        assert_eq!(p.dst_port(), 443);
        assert_eq!(p.seq_number(), 0x12345678);
        assert_eq!(p.ack_number(), 0);
        assert_eq!(p.header_len(), 40);
        assert_eq!(p.flags(), Flags::SYN);
        assert_eq!(p.flags().to_string(), "S");
        assert_eq!(p.window_len(), 64240);
        assert_eq!(p.checksum(), 0xbeef);
        assert_eq!(p.urgent_at(), 0);
        assert_eq!(p.payload(), &[0xaa, 0xbb]);
        let opts: Vec<_> = p.option_iter().map(Result::unwrap).collect();
        assert_eq!(
            opts,
            vec![
                TcpOption::Mss(1460),
                TcpOption::SackPermitted,
                TcpOption::Timestamps {
                    value: 123456,
                    echo: 0
                },
                TcpOption::Nop,
                TcpOption::WindowScale(7)
            ]
        );
        let s = Options::parse(p.options());
        assert_eq!(
            s,
            Options {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                sack_blocks: 0,
                timestamps: Some((123456, 0)),
                malformed: false
            }
        );
    }

    #[test]
    fn flags_display_like_tcpdump() {
        assert_eq!((Flags::SYN | Flags::ACK).to_string(), "S.");
        assert_eq!((Flags::PSH | Flags::ACK | Flags::FIN).to_string(), "FP.");
        assert!((Flags::SYN | Flags::ACK).contains(Flags::ACK));
    }

    #[test]
    fn malformed_options_are_flagged() {
        // MSS with length 3, then garbage.
        let s = Options::parse(&[2, 3, 5, 1]);
        assert!(s.malformed);
        assert_eq!(s.mss, None);
        // Length past the end.
        let mut it = OptionIter {
            rest: &[8, 10, 0, 0],
        };
        assert_eq!(
            it.next(),
            Some(Err(DecodeError::BadTcpOption { kind: 8, len: 10 }))
        );
        assert_eq!(it.next(), None);
        // Zero length byte would loop forever in a naive parser.
        let mut it = OptionIter {
            rest: &[30, 0, 0, 0],
        };
        assert_eq!(
            it.next(),
            Some(Err(DecodeError::BadTcpOption { kind: 30, len: 0 }))
        );
        assert_eq!(it.next(), None);
        // SACK blocks.
        let sack = [5u8, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4];
        assert_eq!(Options::parse(&sack).sack_blocks, 2);
        // Unknown option kept; EOL stops.
        let mut it = OptionIter {
            rest: &[30, 3, 9, 0, 2, 4, 5, 180],
        };
        assert_eq!(
            it.next(),
            Some(Ok(TcpOption::Unknown {
                kind: 30,
                data: &[9]
            }))
        );
        assert_eq!(it.next(), None);
    }

    #[test]
    fn bad_data_offset() {
        let mut b = SYN;
        b[12] = 0x40;
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap_err(),
            DecodeError::BadHeaderLength {
                layer: Layer::Tcp,
                len: 16
            }
        );
    }

    #[test]
    fn truncated_prefixes_are_errors() {
        for n in 0..40 {
            assert!(matches!(
                Packet::new_checked(&SYN[..n]),
                Err(DecodeError::Truncated {
                    layer: Layer::Tcp,
                    ..
                })
            ));
        }
        assert!(
            Packet::new_checked(&SYN[..40])
                .unwrap()
                .payload()
                .is_empty()
        );
    }
}
