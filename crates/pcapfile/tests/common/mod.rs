//! Helpers shared by the integration tests: capture files built byte by byte, gzip, and
//! reading a whole capture into owned packets.

#![allow(dead_code)]

use flowsight_pcapfile::{CaptureReader, FileInfo, Packet, ReadError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Byte order of a fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Le,
    Be,
}

/// A growing byte buffer in one byte order.
#[derive(Debug, Clone)]
pub struct Bytes {
    pub order: Order,
    pub b: Vec<u8>,
}

impl Bytes {
    pub fn new(order: Order) -> Bytes {
        Bytes {
            order,
            b: Vec::new(),
        }
    }
    pub fn u16(&mut self, v: u16) -> &mut Self {
        let x = match self.order {
            Order::Le => v.to_le_bytes(),
            Order::Be => v.to_be_bytes(),
        };
        self.b.extend_from_slice(&x);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        let x = match self.order {
            Order::Le => v.to_le_bytes(),
            Order::Be => v.to_be_bytes(),
        };
        self.b.extend_from_slice(&x);
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        let x = match self.order {
            Order::Le => v.to_le_bytes(),
            Order::Be => v.to_be_bytes(),
        };
        self.b.extend_from_slice(&x);
        self
    }
    pub fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.b.extend_from_slice(v);
        self
    }
    pub fn pad4(&mut self) -> &mut Self {
        while !self.b.len().is_multiple_of(4) {
            self.b.push(0);
        }
        self
    }
    /// A pcapng option (code, length, value, padding).
    pub fn opt(&mut self, code: u16, value: &[u8]) -> &mut Self {
        self.u16(code).u16(value.len() as u16).raw(value).pad4()
    }
    /// `opt_endofopt`.
    pub fn end_opt(&mut self) -> &mut Self {
        self.u32(0)
    }
}

/// A record as a fixture states it, and as the reader should return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    pub ts_ns: u64,
    pub orig_len: u32,
    pub data: Vec<u8>,
    pub link: u32,
    pub interface: u32,
    pub comment: Option<String>,
}

impl Owned {
    /// The packet the reader lent out, copied.
    pub fn of(p: &Packet<'_>) -> Owned {
        Owned {
            ts_ns: p.ts_ns,
            orig_len: p.orig_len,
            data: p.data.to_vec(),
            link: p.link.0,
            interface: p.interface,
            comment: p.comment.map(str::to_string),
        }
    }
}

/// A capture built in a test: its bytes, the packets it holds, and the offsets where a
/// record or block ends (where a cut leaves a valid, shorter file), with how many packets
/// lie before each.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub packets: Vec<Owned>,
    /// (end offset, packets before it), in order; the first is the end of the file header.
    pub boundaries: Vec<(usize, usize)>,
}

impl Fixture {
    /// Packets entirely before `cut`, and whether `cut` is a block boundary.
    pub fn at_cut(&self, cut: usize) -> (usize, bool) {
        let mut n = 0;
        for &(end, before) in &self.boundaries {
            if end == cut {
                return (before, true);
            }
            if end < cut {
                n = before;
            }
        }
        (n, false)
    }
}

/// The payload of the `i`th test packet: distinct, odd-length bytes so padding matters.
pub fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len).map(|k| (i * 31 + k * 7) as u8).collect()
}

/// Which classic pcap flavour to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcapKind {
    Micro,
    Nano,
    Modified,
}

/// A classic pcap with three packets (one truncated by the snap length).
pub fn pcap(order: Order, kind: PcapKind) -> Fixture {
    let mut w = Bytes::new(order);
    let magic = match kind {
        PcapKind::Micro => 0xa1b2c3d4,
        PcapKind::Nano => 0xa1b23c4d,
        PcapKind::Modified => 0xa1b2cd34,
    };
    let snaplen = 96;
    w.u32(magic).u16(2).u16(4).u32(0).u32(0).u32(snaplen).u32(1);
    let mut boundaries = vec![(w.b.len(), 0)];
    let mut packets = Vec::new();
    let specs = [
        (1_700_000_000u32, 123_456u32, 60usize, 60u32),
        (1_700_000_001, 999_999, 96, 1514),
        (4_000_000_000, 1, 0, 0),
    ];
    for (i, &(sec, frac, caplen, orig)) in specs.iter().enumerate() {
        let data = payload(i, caplen);
        w.u32(sec).u32(frac).u32(caplen as u32).u32(orig);
        if kind == PcapKind::Modified {
            w.u32(3).u16(0x0800).raw(&[4, 0]);
        }
        w.raw(&data);
        let unit = if kind == PcapKind::Nano { 1 } else { 1000 };
        packets.push(Owned {
            ts_ns: u64::from(sec) * 1_000_000_000 + u64::from(frac) * unit,
            orig_len: orig,
            data,
            link: 1,
            interface: 0,
            comment: None,
        });
        boundaries.push((w.b.len(), packets.len()));
    }
    let name = match (order, kind) {
        (Order::Le, PcapKind::Micro) => "pcap-le",
        (Order::Be, PcapKind::Micro) => "pcap-be",
        (Order::Le, PcapKind::Nano) => "pcap-ns-le",
        (Order::Be, PcapKind::Nano) => "pcap-ns-be",
        (Order::Le, PcapKind::Modified) => "pcap-modified-le",
        (Order::Be, PcapKind::Modified) => "pcap-modified-be",
    };
    Fixture {
        name,
        bytes: w.b,
        packets,
        boundaries,
    }
}

/// Builds pcapng files block by block, recording boundaries and expected packets.
pub struct Ng {
    pub order: Order,
    pub bytes: Vec<u8>,
    pub packets: Vec<Owned>,
    pub boundaries: Vec<(usize, usize)>,
    /// Per interface of the current section: (global index, link, ns per tick as
    /// (multiplier, divisor), offset in ns).
    ifaces: Vec<(u32, u32, u64, u64, i64)>,
    global: u32,
}

impl Ng {
    pub fn new() -> Ng {
        Ng {
            order: Order::Le,
            bytes: Vec::new(),
            packets: Vec::new(),
            boundaries: Vec::new(),
            ifaces: Vec::new(),
            global: 0,
        }
    }

    /// Appends a block of `block_type` around `body` (already in the section's order).
    pub fn block(&mut self, block_type: u32, body: &[u8]) -> &mut Self {
        let len = 12 + body.len() as u32;
        assert!(len.is_multiple_of(4), "fixture body not padded");
        let mut w = Bytes::new(self.order);
        w.u32(block_type).u32(len).raw(body).u32(len);
        self.bytes.extend_from_slice(&w.b);
        self.boundaries.push((self.bytes.len(), self.packets.len()));
        self
    }

    pub fn w(&self) -> Bytes {
        Bytes::new(self.order)
    }

    /// A section header in `order`, with `shb_userappl` and `shb_os`.
    pub fn shb(&mut self, order: Order, appl: &str, minor: u16) -> &mut Self {
        self.order = order;
        self.ifaces.clear();
        let mut w = self.w();
        w.u32(0x1A2B3C4D).u16(1).u16(minor).u64(u64::MAX);
        w.opt(4, appl.as_bytes()).opt(3, b"TestOS").end_opt();
        self.block(0x0A0D0D0A, &w.b.clone())
    }

    /// An interface: `tsresol` None means the default (microseconds).
    pub fn idb(
        &mut self,
        link: u16,
        snaplen: u32,
        name: &str,
        tsresol: Option<u8>,
        tsoffset: i64,
    ) -> &mut Self {
        let mut w = self.w();
        w.u16(link).u16(0).u32(snaplen);
        w.opt(2, name.as_bytes());
        if let Some(r) = tsresol {
            w.opt(9, &[r]);
        }
        if tsoffset != 0 {
            let v = tsoffset as u64;
            let mut o = self.w();
            o.u64(v);
            w.opt(14, &o.b);
        }
        w.end_opt();
        let (mul, div) = match tsresol.unwrap_or(6) {
            r if r & 0x80 != 0 => (1_000_000_000, 1u64 << (r & 0x7f)),
            r if r <= 9 => (10u64.pow(9 - u32::from(r)), 1),
            r => (1, 10u64.pow(u32::from(r) - 9)),
        };
        self.ifaces.push((
            self.global,
            u32::from(link),
            mul,
            div,
            tsoffset * 1_000_000_000,
        ));
        self.global += 1;
        self.block(1, &w.b.clone())
    }

    fn expect(&mut self, iface: usize, ticks: u64, orig: u32, data: &[u8], comment: Option<&str>) {
        let (global, link, mul, div, off) = self.ifaces[iface];
        let ns = (u128::from(ticks) * u128::from(mul) / u128::from(div)) as i128 + off as i128;
        self.packets.push(Owned {
            ts_ns: ns as u64,
            orig_len: orig,
            data: data.to_vec(),
            link,
            interface: global,
            comment: comment.map(str::to_string),
        });
    }

    /// An enhanced packet block, with an optional comment and extra encoded options.
    pub fn epb(
        &mut self,
        iface: u32,
        ticks: u64,
        data: &[u8],
        orig: u32,
        comment: Option<&str>,
        extra_opts: &[(u16, Vec<u8>)],
    ) -> &mut Self {
        let mut w = self.w();
        w.u32(iface).u32((ticks >> 32) as u32).u32(ticks as u32);
        w.u32(data.len() as u32).u32(orig).raw(data).pad4();
        if let Some(c) = comment {
            w.opt(1, c.as_bytes());
        }
        for (code, v) in extra_opts {
            w.opt(*code, v);
        }
        if comment.is_some() || !extra_opts.is_empty() {
            w.end_opt();
        }
        self.expect(iface as usize, ticks, orig, data, comment);
        self.block(6, &w.b.clone())
    }

    /// An obsolete packet block.
    pub fn pb(&mut self, iface: u16, ticks: u64, data: &[u8], orig: u32) -> &mut Self {
        let mut w = self.w();
        w.u16(iface)
            .u16(0)
            .u32((ticks >> 32) as u32)
            .u32(ticks as u32);
        w.u32(data.len() as u32).u32(orig).raw(data).pad4();
        self.expect(iface as usize, ticks, orig, data, None);
        self.block(2, &w.b.clone())
    }

    /// A simple packet block; `captured` is what the reader should return (the data, cut
    /// to the snap length).
    pub fn spb(&mut self, data: &[u8], orig: u32, captured: usize) -> &mut Self {
        let mut w = self.w();
        w.u32(orig).raw(data).pad4();
        let (global, link, ..) = self.ifaces[0];
        self.packets.push(Owned {
            ts_ns: 0,
            orig_len: orig,
            data: data[..captured].to_vec(),
            link,
            interface: global,
            comment: None,
        });
        self.block(3, &w.b.clone())
    }

    pub fn fixture(&self, name: &'static str) -> Fixture {
        Fixture {
            name,
            bytes: self.bytes.clone(),
            packets: self.packets.clone(),
            boundaries: self.boundaries.clone(),
        }
    }
}

/// The custom option code for UTF-8 text that may be copied.
pub const CUSTOM_STR: u16 = 2988;

/// The main pcapng fixture: a little-endian section with two interfaces of different link
/// types and timestamp resolutions, every packet block kind, comments, options and blocks
/// to skip; then a big-endian section with one more interface.
pub fn pcapng_two_sections() -> Fixture {
    let mut ng = Ng::new();
    ng.shb(Order::Le, "fixture", 0);
    ng.idb(1, 64, "eth0", None, 0);
    ng.idb(101, 0, "tun0", Some(0x80 | 10), 100);
    let mut custom = ng.w();
    custom.u32(32473).raw(b"pid=42");
    ng.epb(
        0,
        1_700_000_000_123_456,
        &payload(0, 61),
        61,
        Some("first"),
        &[(2, vec![2, 0, 0, 0]), (CUSTOM_STR, custom.b.clone())],
    );
    // Name resolution, interface statistics, custom and unknown blocks: skipped.
    let mut nrb = ng.w();
    nrb.u16(1)
        .u16(8)
        .raw(&[10, 0, 0, 1])
        .raw(b"abc\0")
        .u16(0)
        .u16(0);
    ng.block(4, &nrb.b.clone());
    let mut isb = ng.w();
    isb.u32(0).u32(0).u32(5).end_opt();
    ng.block(5, &isb.b.clone());
    ng.block(0x0000_0BAD, &[0xd9, 0x7e, 0, 0, 1, 2, 3, 4]);
    ng.block(0x1234_5678, &[9; 20]);
    ng.epb(1, 1536, &payload(1, 40), 1400, None, &[]);
    ng.spb(&payload(2, 70), 100, 64);
    ng.pb(1, 1024 * 7, &payload(3, 5), 5);
    ng.shb(Order::Be, "second", 2);
    ng.idb(113, 262144, "any", Some(9), 0);
    ng.epb(
        0,
        1_700_000_002_000_000_001,
        &payload(4, 33),
        33,
        Some("big-endian ✓"),
        &[],
    );
    ng.spb(&payload(5, 22), 22, 22);
    ng.fixture("pcapng-two-sections")
}

/// Every valid fixture.
pub fn all_fixtures() -> Vec<Fixture> {
    vec![
        pcap(Order::Le, PcapKind::Micro),
        pcap(Order::Be, PcapKind::Micro),
        pcap(Order::Le, PcapKind::Nano),
        pcap(Order::Be, PcapKind::Nano),
        pcap(Order::Le, PcapKind::Modified),
        pcap(Order::Be, PcapKind::Modified),
        pcapng_two_sections(),
    ]
}

/// A little-endian microsecond pcap of at least `min_len` bytes, and how many packets it
/// holds: records of odd lengths (60-1,459 bytes), so that records straddle every page and
/// release boundary of a mapped file somewhere.
pub fn long_pcap(min_len: usize) -> (Vec<u8>, u32) {
    let mut bytes = Vec::with_capacity(min_len + 2048);
    for v in [
        0xa1b2_c3d4u32.to_le_bytes().as_slice(),
        &2u16.to_le_bytes(),
        &4u16.to_le_bytes(),
    ] {
        bytes.extend_from_slice(v);
    }
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&65535u32.to_le_bytes());
    bytes.extend_from_slice(&1u32.to_le_bytes());
    let mut i = 0u32;
    while bytes.len() < min_len {
        let len = 60 + (i * 7919) % 1400;
        bytes.extend_from_slice(&i.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend((0..len).map(|j| (i ^ j) as u8));
        i += 1;
    }
    (bytes, i)
}

/// gzip-compresses `b` (one member).
pub fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// The result of reading a capture to its end.
#[derive(Debug)]
pub struct ReadAll {
    pub info: FileInfo,
    pub packets: Vec<Owned>,
    /// The error that ended it, if any.
    pub error: Option<ReadError>,
    pub bytes_read: u64,
}

/// Reads every packet of an opened reader, checking that it stays ended.
pub fn drain(mut r: CaptureReader) -> ReadAll {
    let mut packets = Vec::new();
    let mut error = None;
    while let Some(p) = r.next_packet() {
        match p {
            Ok(p) => packets.push(Owned::of(&p)),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    assert!(r.next_packet().is_none(), "reader must stay ended");
    assert!(r.next_packet().is_none(), "reader must stay ended");
    assert_eq!(r.packets_read(), packets.len() as u64);
    ReadAll {
        info: r.info().clone(),
        packets,
        error,
        bytes_read: r.bytes_read(),
    }
}

/// Reads a capture held in memory.
pub fn read_bytes(b: &[u8]) -> Result<ReadAll, ReadError> {
    Ok(drain(CaptureReader::new(std::io::Cursor::new(b.to_vec()))?))
}

/// A fresh temporary directory for one test, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(test: &str) -> TempDir {
        let p =
            std::env::temp_dir().join(format!("flowsight-pcapfile-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Prints a notice that libtest does not capture (it captures `eprintln!`, not writes to
/// the stderr handle).
pub fn notice(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// Whether `tool` runs here.
pub fn have(tool: &str) -> bool {
    std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The shared corpora (`FLOWSIGHT_CORPORA`, or `shared/corpora` beside the repository).
pub fn corpora_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FLOWSIGHT_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"));
    dir.is_dir().then_some(dir)
}
