//! Classic pcap: a 24-byte file header, then records of a 16-byte header and the data.
//!
//! ```text
//! file header: magic u32, version major u16, minor u16, thiszone i32, sigfigs u32,
//!              snaplen u32, linktype u32 (low 16 bits; the rest are FCS flags)
//! record:      ts_sec u32, ts_usec-or-nsec u32, caplen u32, orig_len u32, data[caplen]
//!              (+ ifindex u32, protocol u16, pkt_type u8, pad u8 in the modified format)
//! ```

use crate::packet::Meta;
use crate::source::Source;
use crate::{ByteOrder, Format, Interface, LinkType, MAX_CAPLEN, ReadError};

/// The file header's length.
const FILE_HEADER_LEN: usize = 24;

/// Recognises a pcap magic number (the file's first 4 bytes as stored).
pub(crate) fn magic(b: [u8; 4]) -> Option<(Format, ByteOrder)> {
    Some(match b {
        [0xd4, 0xc3, 0xb2, 0xa1] => (Format::Pcap, ByteOrder::Little),
        [0xa1, 0xb2, 0xc3, 0xd4] => (Format::Pcap, ByteOrder::Big),
        [0x4d, 0x3c, 0xb2, 0xa1] => (Format::PcapNanos, ByteOrder::Little),
        [0xa1, 0xb2, 0x3c, 0x4d] => (Format::PcapNanos, ByteOrder::Big),
        [0x34, 0xcd, 0xb2, 0xa1] => (Format::PcapModified, ByteOrder::Little),
        [0xa1, 0xb2, 0xcd, 0x34] => (Format::PcapModified, ByteOrder::Big),
        _ => return None,
    })
}

/// The order of the two length fields. Files older than 2.3 store the original length
/// first; 2.3 files may, which shows as a captured length above the original one. libpcap
/// and Wireshark swap them back the same way.
#[derive(Clone, Copy)]
enum Lengths {
    Normal,
    MaybeSwapped,
    Swapped,
}

/// What the reader keeps between records.
#[derive(Clone, Copy)]
pub(crate) struct PcapState {
    order: ByteOrder,
    /// Nanoseconds per unit of the second timestamp field (1000 or 1).
    frac_ns: u64,
    /// The record header's length: 16, or 24 in the modified format.
    record_header: usize,
    /// Whether the two length fields are the wrong way round (old versions).
    lengths: Lengths,
    link: LinkType,
}

/// Reads the file header (the magic already recognised) and returns the state and the one
/// interface it describes.
pub(crate) fn read_header(
    src: &mut Source,
    format: Format,
    order: ByteOrder,
) -> Result<(PcapState, Interface, (u16, u16)), ReadError> {
    let got = src
        .fill(FILE_HEADER_LEN)
        .map_err(|source| ReadError::Io { offset: 0, source })?;
    if got < FILE_HEADER_LEN {
        return Err(ReadError::TruncatedHeader {
            format: "pcap",
            needed: FILE_HEADER_LEN as u64,
            available: got as u64,
        });
    }
    let h = src.peek(FILE_HEADER_LEN);
    let (major, minor) = (order.u16(h, 4), order.u16(h, 6));
    if major != 2 {
        return Err(ReadError::UnsupportedVersion {
            format: "pcap",
            major,
            minor,
            offset: 0,
        });
    }
    let snaplen = order.u32(h, 16);
    let link = LinkType(order.u32(h, 20) & 0xffff);
    src.consume(FILE_HEADER_LEN);
    let nanos = format == Format::PcapNanos;
    let state = PcapState {
        order,
        frac_ns: if nanos { 1 } else { 1000 },
        record_header: if format == Format::PcapModified {
            24
        } else {
            16
        },
        lengths: match minor {
            0..3 => Lengths::Swapped,
            3 => Lengths::MaybeSwapped,
            _ => Lengths::Normal,
        },
        link,
    };
    let iface = Interface {
        link,
        snaplen,
        name: None,
        description: None,
        tsresol: if nanos { 9 } else { 6 },
        tsoffset: 0,
        section: 0,
    };
    Ok((state, iface, (major, minor)))
}

/// A record header's fields: seconds, fraction, captured and original length (the lengths
/// put the right way round).
#[inline]
fn record_fields(st: &PcapState, header: &[u8]) -> (u32, u32, u32, u32) {
    // The four fields every record header starts with, read out of one copy of its first 16
    // bytes (a modified-pcap header has more after them).
    let mut h = [0u8; 16];
    h.copy_from_slice(&header[..16]);
    let o = st.order;
    let word = |i: usize| o.u32_of([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let (sec, frac) = (word(0), word(4));
    let (mut caplen, mut orig_len) = (word(8), word(12));
    match st.lengths {
        Lengths::Normal => {}
        Lengths::MaybeSwapped if caplen <= orig_len => {}
        Lengths::MaybeSwapped | Lengths::Swapped => std::mem::swap(&mut caplen, &mut orig_len),
    }
    (sec, frac, caplen, orig_len)
}

/// The [`Meta`] of a record with these header fields, whose bytes start at `start`.
#[inline]
fn meta(st: &PcapState, (sec, frac, caplen, orig_len): (u32, u32, u32, u32), start: usize) -> Meta {
    Meta {
        ts_ns: u64::from(sec) * 1_000_000_000 + u64::from(frac) * st.frac_ns,
        orig_len,
        data: start..start + caplen as usize,
        link: st.link,
        interface: 0,
        options: 0..0,
        order: st.order,
    }
}

/// The next record when it lies whole in what the source holds and is well-formed, read
/// and consumed; `None` (nothing consumed) for anything else, which [`next`] then reads,
/// refilling and reporting errors. The common case, kept small enough to inline.
#[inline]
pub(crate) fn next_whole(st: &PcapState, src: &mut Source) -> Option<Meta> {
    let hl = st.record_header;
    let have = src.available();
    if have < hl {
        return None;
    }
    let fields = record_fields(st, src.peek(hl));
    let caplen = fields.2;
    // The length is checked before it is added to (a bad one near 4 GiB would overflow a
    // 32-bit `usize`).
    if caplen > MAX_CAPLEN {
        return None;
    }
    let total = hl + caplen as usize;
    if have < total {
        return None;
    }
    let start = src.pos() + hl;
    src.consume(total);
    Some(meta(st, fields, start))
}

/// The record that starts at `start` in `buf`, when it lies whole there with a length
/// [`next_whole`] accepts; nothing is consumed (a record an earlier walk found, read again).
#[inline]
pub(crate) fn record_at(st: &PcapState, buf: &[u8], start: usize) -> Option<Meta> {
    let hl = st.record_header;
    let fields = record_fields(st, buf.get(start..start.checked_add(hl)?)?);
    let caplen = fields.2;
    if caplen > MAX_CAPLEN || buf.len() - start - hl < caplen as usize {
        return None;
    }
    Some(meta(st, fields, start + hl))
}

/// Reads the next record: `Ok(None)` at a clean end of file.
pub(crate) fn next(
    st: &PcapState,
    src: &mut Source,
    packet: u64,
) -> Result<Option<Meta>, ReadError> {
    let offset = src.offset();
    let io = |source| ReadError::Io { offset, source };
    let hl = st.record_header;
    let got = src.fill(hl).map_err(io)?;
    if got < hl {
        if got == 0 {
            return Ok(None);
        }
        return Err(ReadError::TruncatedRecord {
            offset,
            packet,
            what: "record header",
            needed: hl as u64,
            available: got as u64,
        });
    }
    let fields = record_fields(st, src.peek(hl));
    let caplen = fields.2;
    if caplen > MAX_CAPLEN {
        return Err(ReadError::CaptureTooLarge {
            offset,
            packet,
            caplen,
            limit: MAX_CAPLEN,
        });
    }
    let total = hl + caplen as usize;
    let got = src.fill(total).map_err(io)?;
    if got < total {
        return Err(ReadError::TruncatedRecord {
            offset,
            packet,
            what: "packet record",
            needed: total as u64,
            available: got as u64,
        });
    }
    let start = src.pos() + hl;
    src.consume(total);
    Ok(Some(meta(st, fields, start)))
}
