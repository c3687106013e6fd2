//! IP fragment reassembly (IPv4, and IPv6 fragment headers), bounded in memory and time.
//!
//! Fragments of one datagram are kept until every byte from 0 to the end announced by the
//! last fragment is there, then handed back as one unfragmented IP datagram (the first
//! fragment's header, fragment fields cleared, lengths fixed) to be decoded like any packet.
//! Overlapping fragments keep the first copy of each byte and are reported: differing
//! overlaps are a known evasion technique.

use flowsight_wire::{IpInfo, IpVersion};
use foldhash::HashMap;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Datagrams reassembled at once; more evicts the oldest (counted).
pub const MAX_DATAGRAMS: usize = 8192;
/// A datagram is given up after this long without completing (RFC 791 suggests 15-120 s).
pub const TIMEOUT_NS: u64 = 30_000_000_000;
/// Largest datagram accepted (the IPv4 and IPv6 maximum).
const MAX_LEN: u32 = 65_535;

/// The fragments of one IP datagram share this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FragKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IPv4 identification or IPv6 fragment header identification.
    pub ident: u32,
    /// The transport protocol (IPv6: the fragment header's next header).
    pub protocol: u8,
}

#[derive(Debug)]
struct Datagram {
    first_ts: u64,
    /// When its latest fragment came.
    last_ts: u64,
    /// The unfragmentable header of the offset-0 fragment, once seen.
    header: Option<Vec<u8>>,
    /// Data by offset.
    pieces: BTreeMap<u32, Vec<u8>>,
    /// Length of the data, known from the fragment without more-fragments.
    total: Option<u32>,
    overlapped: bool,
    /// Frames and their bytes (as captured on the wire), for flow accounting.
    frames: u64,
    frame_bytes: u64,
}

/// What a fragment did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Kept; the datagram is not complete yet.
    Pending,
    /// The datagram is complete: the whole IP datagram, to decode as raw IP.
    Complete {
        /// The reassembled datagram.
        datagram: Vec<u8>,
        /// Some fragments overlapped.
        overlapped: bool,
        /// How many frames carried it.
        frames: u64,
        /// Their wire lengths, summed.
        frame_bytes: u64,
    },
    /// The fragment was refused: the datagram would exceed 65,535 bytes.
    TooLong,
}

/// Datagrams being reassembled.
#[derive(Debug, Default)]
pub struct Defrag {
    datagrams: HashMap<FragKey, Datagram>,
    /// Datagrams dropped unfinished (timeout or eviction).
    pub abandoned: u64,
}

impl Defrag {
    /// Nothing pending.
    pub fn new() -> Defrag {
        Defrag::default()
    }

    /// Datagrams waiting for fragments.
    pub fn pending(&self) -> usize {
        self.datagrams.len()
    }

    /// Take one fragment: its IP header fields, the frame it came in, the frame's length on
    /// the wire, and when.
    pub fn push(&mut self, ts_ns: u64, ip: &IpInfo, frame: &[u8], wire_len: u64) -> Outcome {
        let Some(frag) = ip.fragment else {
            return Outcome::Pending;
        };
        let start = ip.offset + usize::from(ip.header_len);
        let end = (ip.offset + ip.total_len as usize).min(frame.len());
        let data = frame.get(start..end).unwrap_or(&[]);
        let off = u32::from(frag.offset);
        if off + data.len() as u32 > MAX_LEN {
            return Outcome::TooLong;
        }
        let key = FragKey {
            src: ip.src,
            dst: ip.dst,
            ident: frag.ident,
            protocol: ip.protocol.into(),
        };
        if !self.datagrams.contains_key(&key) && self.datagrams.len() >= MAX_DATAGRAMS {
            self.evict_oldest();
        }
        let d = self.datagrams.entry(key).or_insert_with(|| Datagram {
            first_ts: ts_ns,
            last_ts: ts_ns,
            header: None,
            pieces: BTreeMap::new(),
            total: None,
            overlapped: false,
            frames: 0,
            frame_bytes: 0,
        });
        d.frames += 1;
        d.frame_bytes += wire_len;
        d.last_ts = d.last_ts.max(ts_ns);
        if off == 0 && d.header.is_none() {
            d.header = Some(unfragmented_header(ip, frame));
        }
        if !frag.more {
            d.total = Some(off + data.len() as u32);
        }
        if !data.is_empty() {
            if d.pieces
                .range(..off + data.len() as u32)
                .any(|(&o, p)| o + p.len() as u32 > off)
            {
                d.overlapped = true;
            }
            d.pieces.entry(off).or_insert_with(|| data.to_vec());
        }
        match Self::assemble(d) {
            Some(payload) => {
                let d = self.datagrams.remove(&key).unwrap();
                let mut datagram = d.header.unwrap();
                fix_lengths(&mut datagram, payload.len());
                datagram.extend_from_slice(&payload);
                Outcome::Complete {
                    datagram,
                    overlapped: d.overlapped,
                    frames: d.frames,
                    frame_bytes: d.frame_bytes,
                }
            }
            None => Outcome::Pending,
        }
    }

    /// The payload, when every byte is there and the header was seen.
    fn assemble(d: &Datagram) -> Option<Vec<u8>> {
        let total = d.total?;
        d.header.as_ref()?;
        let mut out = Vec::with_capacity(total as usize);
        for (&off, piece) in &d.pieces {
            let have = out.len() as u32;
            if off > have {
                return None; // a hole
            }
            let skip = (have - off) as usize;
            if skip < piece.len() {
                out.extend_from_slice(&piece[skip..]);
            }
        }
        (out.len() as u32 >= total).then(|| {
            out.truncate(total as usize);
            out
        })
    }

    fn evict_oldest(&mut self) {
        if let Some(k) = self
            .datagrams
            .iter()
            .min_by_key(|(_, d)| d.first_ts)
            .map(|(k, _)| *k)
        {
            self.datagrams.remove(&k);
            self.abandoned += 1;
        }
    }

    /// Give up on datagrams older than the timeout. Returns, for each abandoned datagram whose
    /// first fragment was seen, what it had: the header and the data up to the first hole (the
    /// transport header and the start of the payload, which the analyzers can still use), and
    /// the time of its latest fragment.
    pub fn expire(&mut self, now_ns: u64) -> Vec<(FragKey, Vec<u8>, u64)> {
        let mut partial = Vec::new();
        // Oldest first, ties by key: the map's order is its hasher's, seeded afresh by every
        // run, and a capture read twice must give its records in one order.
        let mut old: Vec<(u64, FragKey)> = self
            .datagrams
            .iter()
            .filter(|(_, d)| now_ns.saturating_sub(d.first_ts) >= TIMEOUT_NS)
            .map(|(k, d)| (d.first_ts, *k))
            .collect();
        old.sort_unstable();
        for (_, k) in old {
            let d = self.datagrams.remove(&k).unwrap();
            self.abandoned += 1;
            let Some(mut datagram) = d.header else {
                continue;
            };
            let mut have = 0u32;
            let mut data = Vec::new();
            for (&off, piece) in &d.pieces {
                if off > have {
                    break;
                }
                let skip = (have - off) as usize;
                if skip < piece.len() {
                    data.extend_from_slice(&piece[skip..]);
                    have = data.len() as u32;
                }
            }
            if !data.is_empty() {
                fix_lengths(&mut datagram, data.len());
                datagram.extend_from_slice(&data);
                partial.push((k, datagram, d.last_ts));
            }
        }
        partial
    }
}

/// The first fragment's header with the fragmentation undone: IPv4 with flags/offset cleared;
/// IPv6 as a bare 40-byte header whose next header is the upper-layer protocol (extension
/// headers before the fragment header are dropped: the flow table does not need them).
fn unfragmented_header(ip: &IpInfo, frame: &[u8]) -> Vec<u8> {
    match ip.version {
        IpVersion::V4 => {
            let end = (ip.offset + usize::from(ip.header_len)).min(frame.len());
            let mut h = frame[ip.offset.min(end)..end].to_vec();
            if h.len() >= 20 {
                h[6] = 0;
                h[7] = 0;
            }
            h
        }
        IpVersion::V6 => {
            let end = (ip.offset + 40).min(frame.len());
            let mut h = frame[ip.offset.min(end)..end].to_vec();
            if h.len() == 40 {
                h[6] = ip.protocol.into();
            }
            h
        }
    }
}

/// Set the length fields of a reassembled datagram's header for `payload_len` bytes.
fn fix_lengths(header: &mut [u8], payload_len: usize) {
    if header.len() >= 20 && header[0] >> 4 == 4 {
        let total = (header.len() + payload_len) as u16;
        header[2..4].copy_from_slice(&total.to_be_bytes());
        header[10] = 0;
        header[11] = 0; // checksum no longer matches; nothing downstream checks it
    } else if header.len() == 40 {
        header[4..6].copy_from_slice(&(payload_len as u16).to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowsight_wire::{L4, LinkType, decode};

    /// An Ethernet + IPv4 fragment of a UDP datagram.
    fn frag4(id: u16, off8: u16, more: bool, data: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend([0x08, 0x00]);
        let total = 20 + data.len() as u16;
        let flags = (if more { 0x2000 } else { 0 }) | off8;
        f.extend([0x45, 0, (total >> 8) as u8, total as u8]);
        f.extend(id.to_be_bytes());
        f.extend(flags.to_be_bytes());
        f.extend([64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        f.extend(data);
        f
    }

    fn push(d: &mut Defrag, frame: &[u8]) -> Outcome {
        let dec = decode(LinkType::Ethernet, frame).unwrap();
        d.push(0, &dec.ip.unwrap(), frame, frame.len() as u64)
    }

    #[test]
    fn reassembles_out_of_order_fragments_into_a_decodable_datagram() {
        let mut udp = vec![0x13, 0x88, 0x00, 0x35, 0, 0, 0, 0];
        let payload: Vec<u8> = (0..40u8).collect();
        udp[4..6].copy_from_slice(&(8 + payload.len() as u16).to_be_bytes());
        udp.extend(&payload);
        let (a, b) = udp.split_at(24);
        let mut d = Defrag::new();
        assert_eq!(push(&mut d, &frag4(7, 3, false, b)), Outcome::Pending);
        let Outcome::Complete {
            datagram,
            overlapped,
            frames,
            ..
        } = push(&mut d, &frag4(7, 0, true, a))
        else {
            panic!("complete expected");
        };
        assert!(!overlapped);
        assert_eq!(frames, 2);
        let dec = decode(LinkType::Raw, &datagram).unwrap();
        assert!(matches!(dec.l4, L4::Udp(u) if u.src_port == 5000 && u.dst_port == 53));
        assert_eq!(dec.payload, &payload[..]);
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn overlaps_are_reported_and_old_datagrams_expire() {
        let mut d = Defrag::new();
        push(&mut d, &frag4(9, 0, true, &[1; 16]));
        let out = push(&mut d, &frag4(9, 1, false, &[2; 16]));
        assert!(
            matches!(out, Outcome::Complete { overlapped: true, ref datagram, .. } if datagram.len() == 20 + 24)
        );

        push(&mut d, &frag4(10, 0, true, &[1; 8]));
        push(&mut d, &frag4(10, 2, true, &[3; 8])); // after a hole
        assert_eq!(d.pending(), 1);
        let partial = d.expire(TIMEOUT_NS);
        assert_eq!((d.pending(), d.abandoned), (0, 1));
        assert_eq!(partial.len(), 1);
        assert_eq!(
            partial[0].1.len(),
            20 + 8,
            "the header and the data before the hole"
        );
    }
}
