//! pcapng: a sequence of blocks, each `type u32, length u32, body, length u32`.
//!
//! A section header block (SHB) starts each section and sets its byte order; interface
//! description blocks (IDB) number the section's interfaces from 0; packet blocks (EPB, SPB
//! and the obsolete PB) name one of them. Everything else is skipped by its length. Blocks
//! that are parsed are buffered whole, so their length is capped ([`MAX_BLOCK_LEN`]);
//! skipped blocks are streamed past whatever their length.

use crate::options::code;
use crate::packet::Meta;
use crate::source::Source;
use crate::{
    ByteOrder, FileInfo, Interface, LinkType, MAX_BLOCK_LEN, MAX_CAPLEN, Options, ReadError,
};

/// Section header block; the same bytes in either byte order.
pub(crate) const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
/// The obsolete packet block.
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
/// The byte-order magic of a section header.
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// An SHB's fixed part: type, length, magic, versions, section length, trailing length.
const SHB_MIN_LEN: usize = 28;
/// Interfaces kept for the whole file: far beyond any real capture, and a bound on the
/// memory a file of nothing but interface descriptions can make the reader hold.
const MAX_INTERFACES: usize = 65_536;

/// How one interface's timestamp units become nanoseconds, worked out once per IDB.
#[derive(Debug, Clone, Copy)]
enum TsScale {
    /// Units of 10^-n s with n <= 9: multiply by 10^(9-n).
    Mul(u64),
    /// Units of 10^-n s with n > 9: divide by 10^(n-9).
    Div(u64),
    /// Units of 2^-n s.
    Pow2(u32),
}

impl TsScale {
    /// The scale for an `if_tsresol` byte; `None` when 10^-n does not fit in 64 bits.
    fn from_tsresol(r: u8) -> Option<TsScale> {
        if r & 0x80 != 0 {
            return Some(TsScale::Pow2(u32::from(r & 0x7f)));
        }
        match r {
            0..=9 => Some(TsScale::Mul(10u64.pow(9 - u32::from(r)))),
            10..=19 => Some(TsScale::Div(10u64.pow(u32::from(r) - 9))),
            _ => None,
        }
    }

    #[inline]
    fn to_ns(self, ticks: u64) -> u64 {
        match self {
            TsScale::Mul(m) => ticks.saturating_mul(m),
            TsScale::Div(d) => ticks / d,
            TsScale::Pow2(n) => {
                let ns = (u128::from(ticks) * 1_000_000_000) >> n;
                u64::try_from(ns).unwrap_or(u64::MAX)
            }
        }
    }
}

/// What the packet path needs of one interface of the current section.
#[derive(Debug, Clone, Copy)]
struct Iface {
    /// Its index in [`FileInfo::interfaces`].
    global: u32,
    link: LinkType,
    snaplen: u32,
    scale: TsScale,
    /// `if_tsoffset` in nanoseconds.
    offset_ns: i64,
}

impl Iface {
    #[inline]
    fn ts_ns(&self, ticks: u64) -> u64 {
        let ns = self.scale.to_ns(ticks);
        if self.offset_ns == 0 {
            ns
        } else {
            ns.saturating_add_signed(self.offset_ns)
        }
    }
}

/// What the reader keeps between blocks: the current section's byte order and interfaces.
pub(crate) struct PcapngState {
    order: ByteOrder,
    ifaces: Vec<Iface>,
}

/// The parts of a section header the reader keeps.
pub(crate) struct SectionHeader {
    pub order: ByteOrder,
    pub version: (u16, u16),
    pub hardware: Option<String>,
    pub os: Option<String>,
    pub application: Option<String>,
}

/// Reads the first section header (the magic already recognised) and returns the state for
/// the packets after it.
pub(crate) fn read_first_section(
    src: &mut Source,
) -> Result<(PcapngState, SectionHeader), ReadError> {
    let shb = read_shb(src, 1, true)?;
    let st = PcapngState {
        order: shb.order,
        ifaces: Vec::new(),
    };
    Ok((st, shb))
}

/// Reads and consumes a section header block at the current position. Problems with the
/// file's first one are reported as a bad or truncated file header.
fn read_shb(src: &mut Source, packet: u64, first: bool) -> Result<SectionHeader, ReadError> {
    let offset = src.offset();
    let io = |source| ReadError::Io { offset, source };
    let truncated = |needed: usize, available: usize| {
        if first {
            ReadError::TruncatedHeader {
                format: "pcapng",
                needed: needed as u64,
                available: available as u64,
            }
        } else {
            ReadError::TruncatedRecord {
                offset,
                packet,
                what: "pcapng section header",
                needed: needed as u64,
                available: available as u64,
            }
        }
    };
    let got = src.fill(12).map_err(io)?;
    if got < 12 {
        return Err(truncated(12, got));
    }
    let h = src.peek(12);
    let order = if ByteOrder::Little.u32(h, 8) == BYTE_ORDER_MAGIC {
        ByteOrder::Little
    } else if ByteOrder::Big.u32(h, 8) == BYTE_ORDER_MAGIC {
        ByteOrder::Big
    } else if first {
        return Err(ReadError::NotACaptureFile {
            first_bytes: h[..8].to_vec(),
            compressed: false,
        });
    } else {
        return Err(ReadError::Malformed {
            offset,
            packet,
            block_type: SHB,
            problem: "section header has no valid byte-order magic",
        });
    };
    let length = order.u32(h, 4);
    let len = length as usize;
    if len < SHB_MIN_LEN || !len.is_multiple_of(4) {
        return Err(ReadError::BlockLength {
            offset,
            packet,
            block_type: SHB,
            length,
            problem: if len < SHB_MIN_LEN {
                "is too short for a section header"
            } else {
                "is not a multiple of 4"
            },
        });
    }
    if length > MAX_BLOCK_LEN {
        return Err(ReadError::BlockTooLarge {
            offset,
            packet,
            block_type: SHB,
            length,
            limit: MAX_BLOCK_LEN,
        });
    }
    let got = src.fill(len).map_err(io)?;
    if got < len {
        return Err(truncated(len, got));
    }
    let b = src.peek(len);
    if order.u32(b, len - 4) != length {
        return Err(trailer_mismatch(offset, packet, SHB, length));
    }
    let version = (order.u16(b, 12), order.u16(b, 14));
    if version.0 != 1 || !matches!(version.1, 0 | 2) {
        return Err(ReadError::UnsupportedVersion {
            format: "pcapng",
            major: version.0,
            minor: version.1,
            offset,
        });
    }
    let mut shb = SectionHeader {
        order,
        version,
        hardware: None,
        os: None,
        application: None,
    };
    for opt in Options::new(&b[24..len - 4], order) {
        let text = || Some(String::from_utf8_lossy(opt.value).into_owned());
        match opt.code {
            code::SHB_HARDWARE => shb.hardware = text(),
            code::SHB_OS => shb.os = text(),
            code::SHB_USERAPPL => shb.application = text(),
            _ => {}
        }
    }
    src.consume(len);
    Ok(shb)
}

fn trailer_mismatch(offset: u64, packet: u64, block_type: u32, length: u32) -> ReadError {
    ReadError::BlockLength {
        offset,
        packet,
        block_type,
        length,
        problem: "differs from the length at the block's end",
    }
}

/// Reads blocks until the next packet: `Ok(None)` at a clean end of file. Section headers and
/// interface descriptions met on the way update `st` and `info`.
pub(crate) fn next(
    st: &mut PcapngState,
    src: &mut Source,
    info: &mut FileInfo,
    packet: u64,
) -> Result<Option<Meta>, ReadError> {
    loop {
        let offset = src.offset();
        let io = |source| ReadError::Io { offset, source };
        let truncated = |needed: u64, available: u64| ReadError::TruncatedRecord {
            offset,
            packet,
            what: "pcapng block",
            needed,
            available,
        };
        let got = src.fill(8).map_err(io)?;
        if got < 8 {
            if got == 0 {
                return Ok(None);
            }
            return Err(truncated(8, got as u64));
        }
        let h = src.peek(8);
        let block_type = st.order.u32(h, 0);
        if block_type == SHB {
            let shb = read_shb(src, packet, false)?;
            st.order = shb.order;
            st.ifaces.clear();
            info.sections += 1;
            continue;
        }
        let length = st.order.u32(h, 4);
        let len = length as usize;
        if len < 12 || !len.is_multiple_of(4) {
            return Err(ReadError::BlockLength {
                offset,
                packet,
                block_type,
                length,
                problem: if len < 12 {
                    "is below the 12-byte minimum"
                } else {
                    "is not a multiple of 4"
                },
            });
        }
        if !matches!(block_type, IDB | EPB | SPB | PB) {
            skip_block(src, st.order, offset, packet, block_type, length)?;
            continue;
        }
        if length > MAX_BLOCK_LEN {
            return Err(ReadError::BlockTooLarge {
                offset,
                packet,
                block_type,
                length,
                limit: MAX_BLOCK_LEN,
            });
        }
        let got = src.fill(len).map_err(io)?;
        if got < len {
            return Err(truncated(len as u64, got as u64));
        }
        let base = src.pos();
        let b = src.peek(len);
        let order = st.order;
        if order.u32(b, len - 4) != length {
            return Err(trailer_mismatch(offset, packet, block_type, length));
        }
        let at = Where {
            offset,
            packet,
            block_type,
            length,
        };
        let meta = match block_type {
            IDB => {
                let (iface, state) = interface(b, order, &at, info)?;
                st.ifaces.push(state);
                info.interfaces.push(iface);
                src.consume(len);
                continue;
            }
            SPB => simple_packet(b, order, &at, &st.ifaces, base)?,
            _ => packet_block(b, order, &at, &st.ifaces, base)?,
        };
        src.consume(len);
        return Ok(Some(meta));
    }
}

/// Where a block is, for its errors.
struct Where {
    offset: u64,
    packet: u64,
    block_type: u32,
    length: u32,
}

impl Where {
    fn length_error(&self, problem: &'static str) -> ReadError {
        ReadError::BlockLength {
            offset: self.offset,
            packet: self.packet,
            block_type: self.block_type,
            length: self.length,
            problem,
        }
    }

    fn unknown_interface(&self, interface: u32, known: usize) -> ReadError {
        ReadError::UnknownInterface {
            offset: self.offset,
            packet: self.packet,
            interface,
            known,
        }
    }

    fn too_large(&self, caplen: u32) -> ReadError {
        ReadError::CaptureTooLarge {
            offset: self.offset,
            packet: self.packet,
            caplen,
            limit: MAX_CAPLEN,
        }
    }
}

/// Skips a block nobody reads, checking its trailing length. Long blocks are streamed past
/// rather than buffered.
fn skip_block(
    src: &mut Source,
    order: ByteOrder,
    offset: u64,
    packet: u64,
    block_type: u32,
    length: u32,
) -> Result<(), ReadError> {
    let io = |source| ReadError::Io { offset, source };
    let truncated = |available: u64| ReadError::TruncatedRecord {
        offset,
        packet,
        what: "pcapng block",
        needed: u64::from(length),
        available,
    };
    let len = length as usize;
    if length <= MAX_BLOCK_LEN {
        let got = src.fill(len).map_err(io)?;
        if got < len {
            return Err(truncated(got as u64));
        }
    } else {
        let body = u64::from(length) - 4;
        let skipped = src.skip(body).map_err(io)?;
        let got = src.fill(4).map_err(io)?;
        if skipped < body || got < 4 {
            return Err(truncated(skipped + got.min(4) as u64));
        }
    }
    let trailer_at = if length <= MAX_BLOCK_LEN { len - 4 } else { 0 };
    if order.u32(src.peek(trailer_at + 4), trailer_at) != length {
        return Err(trailer_mismatch(offset, packet, block_type, length));
    }
    src.consume(trailer_at + 4);
    Ok(())
}

/// Parses an interface description block.
fn interface(
    b: &[u8],
    order: ByteOrder,
    at: &Where,
    info: &FileInfo,
) -> Result<(Interface, Iface), ReadError> {
    let len = b.len();
    if len < 20 {
        return Err(at.length_error("is too short for an interface description"));
    }
    if info.interfaces.len() >= MAX_INTERFACES {
        return Err(ReadError::Malformed {
            offset: at.offset,
            packet: at.packet,
            block_type: at.block_type,
            problem: "one interface description too many (the limit is 65536 per file)",
        });
    }
    let mut iface = Interface {
        link: LinkType(u32::from(order.u16(b, 8))),
        snaplen: order.u32(b, 12),
        name: None,
        description: None,
        tsresol: 6,
        tsoffset: 0,
        section: info.sections.saturating_sub(1),
    };
    for opt in Options::new(&b[16..len - 4], order) {
        match opt.code {
            code::IF_NAME => iface.name = Some(String::from_utf8_lossy(opt.value).into_owned()),
            code::IF_DESCRIPTION => {
                iface.description = Some(String::from_utf8_lossy(opt.value).into_owned())
            }
            code::IF_TSRESOL if !opt.value.is_empty() => iface.tsresol = opt.value[0],
            code::IF_TSOFFSET => {
                if let Some(v) = opt.as_u64() {
                    iface.tsoffset = v as i64;
                }
            }
            _ => {}
        }
    }
    let Some(scale) = TsScale::from_tsresol(iface.tsresol) else {
        return Err(ReadError::Malformed {
            offset: at.offset,
            packet: at.packet,
            block_type: at.block_type,
            problem: "if_tsresol is finer than 10^-19 s",
        });
    };
    let state = Iface {
        global: u32::try_from(info.interfaces.len()).unwrap_or(u32::MAX),
        link: iface.link,
        snaplen: iface.snaplen,
        scale,
        offset_ns: iface.tsoffset.saturating_mul(1_000_000_000),
    };
    Ok((iface, state))
}

/// Parses an enhanced packet block, or an obsolete packet block (the same layout with a
/// 16-bit interface id followed by a 16-bit drop count).
#[inline]
fn packet_block(
    b: &[u8],
    order: ByteOrder,
    at: &Where,
    ifaces: &[Iface],
    base: usize,
) -> Result<Meta, ReadError> {
    const DATA: usize = 28;
    let len = b.len();
    if len < DATA + 4 {
        return Err(at.length_error("is too short for a packet block"));
    }
    let id = if at.block_type == EPB {
        order.u32(b, 8)
    } else {
        u32::from(order.u16(b, 8))
    };
    let ticks = (u64::from(order.u32(b, 12)) << 32) | u64::from(order.u32(b, 16));
    let caplen = order.u32(b, 20);
    let orig_len = order.u32(b, 24);
    if caplen > MAX_CAPLEN {
        return Err(at.too_large(caplen));
    }
    let cap = caplen as usize;
    if DATA + cap > len - 4 {
        return Err(at.length_error("is too short for the captured length it holds"));
    }
    let Some(iface) = ifaces.get(id as usize) else {
        return Err(at.unknown_interface(id, ifaces.len()));
    };
    // Writers pad the data to 4 bytes; a writer that forgot leaves no room for options.
    let opts = (DATA + cap.next_multiple_of(4)).min(len - 4);
    Ok(Meta {
        ts_ns: iface.ts_ns(ticks),
        orig_len,
        data: base + DATA..base + DATA + cap,
        link: iface.link,
        interface: iface.global,
        options: base + opts..base + len - 4,
        order,
    })
}

/// Parses a simple packet block: interface 0, no timestamp, the captured length implied by
/// the original length, the snap length and the block length.
fn simple_packet(
    b: &[u8],
    order: ByteOrder,
    at: &Where,
    ifaces: &[Iface],
    base: usize,
) -> Result<Meta, ReadError> {
    const DATA: usize = 12;
    let len = b.len();
    if len < DATA + 4 {
        return Err(at.length_error("is too short for a simple packet block"));
    }
    let Some(iface) = ifaces.first() else {
        return Err(at.unknown_interface(0, 0));
    };
    let orig_len = order.u32(b, 8);
    let mut caplen = orig_len.min((len - DATA - 4) as u32);
    if iface.snaplen != 0 {
        caplen = caplen.min(iface.snaplen);
    }
    if caplen > MAX_CAPLEN {
        return Err(at.too_large(caplen));
    }
    Ok(Meta {
        ts_ns: 0,
        orig_len,
        data: base + DATA..base + DATA + caplen as usize,
        link: iface.link,
        interface: iface.global,
        options: base..base,
        order,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_scales() {
        let ns = |r, t| TsScale::from_tsresol(r).unwrap().to_ns(t);
        assert_eq!(ns(6, 1_500_000), 1_500_000_000);
        assert_eq!(ns(9, 7), 7);
        assert_eq!(ns(0, 3), 3_000_000_000);
        assert_eq!(ns(12, 5_000), 5);
        assert_eq!(ns(0x80 | 10, 1536), 1_500_000_000);
        assert_eq!(ns(0x80, 2), 2_000_000_000);
        assert_eq!(ns(6, u64::MAX), u64::MAX);
        assert_eq!(ns(0x80, u64::MAX), u64::MAX);
        assert!(TsScale::from_tsresol(20).is_none());
        assert_eq!(ns(19, u64::MAX), u64::MAX / 10_000_000_000);
    }
}
