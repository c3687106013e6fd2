//! A packet builder and an engine harness for the engine's golden tests.
//!
//! Frames are built byte by byte here, independently of `flowsight-wire`: Ethernet II (and
//! Linux cooked v1), IPv4 with a correct header checksum, IPv6, TCP and UDP with correct
//! pseudo-header checksums and lengths. The engine does not require valid checksums, but
//! correct ones keep the frames identical to what a capture would hold (and let Wireshark
//! read them when a test is debugged with a written pcap).
#![allow(dead_code)] // each test file uses a different part

pub mod dns;
pub mod tls;

use flowsight_flow::{Duty, Engine, EngineConfig, EngineStats};
use flowsight_record::{
    Conn, ConnNetwork, EndReason, Endpoint, FlowEvent, FlowRecord, Network, NetworkType, Peer,
    Record, TcpFlags, Timestamp, Transport,
};
use flowsight_wire::LinkType;
use std::net::{IpAddr, SocketAddr};

/// TCP flag bits.
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;

/// Capture time of the first frame: 2023-11-14T22:13:20Z.
pub const T0: u64 = 1_700_000_000_000_000_000;
/// Frames of a [`run`] are one millisecond apart.
pub const MS: u64 = 1_000_000;

/// When frame `i` of a [`run`] was captured.
pub fn at(i: usize) -> u64 {
    T0 + i as u64 * MS
}

/// Lengths of the headers the builder writes.
pub const ETH_LEN: usize = 14;
pub const IPV4_LEN: usize = 20;
pub const IPV6_LEN: usize = 40;
pub const TCP_LEN: usize = 20;
pub const UDP_LEN: usize = 8;

const MAC_A: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0b];

// ---------------------------------------------------------------------------------------
// Checksums and headers
// ---------------------------------------------------------------------------------------

/// The ones' complement sum of `data` added to `sum` (not folded).
fn sum16(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

/// The internet checksum (RFC 1071) of `data`, with `sum` already added.
fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The TCP/UDP checksum over the pseudo-header and `segment` (its checksum field zero).
fn l4_checksum(src: IpAddr, dst: IpAddr, proto: u8, segment: &[u8]) -> u16 {
    let mut sum = 0;
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            sum = sum16(sum, &s.octets());
            sum = sum16(sum, &d.octets());
            sum = sum16(sum, &[0, proto]);
            sum = sum16(sum, &(segment.len() as u16).to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            sum = sum16(sum, &s.octets());
            sum = sum16(sum, &d.octets());
            sum = sum16(sum, &(segment.len() as u32).to_be_bytes());
            sum = sum16(sum, &[0, 0, 0, proto]);
        }
        _ => panic!("mixed address families"),
    }
    let c = fold(sum16(sum, segment));
    // A computed UDP checksum of 0 is sent as 0xffff (0 means "none").
    if c == 0 && proto == PROTO_UDP {
        0xffff
    } else {
        c
    }
}

/// A TCP segment (20-byte header, no options) with its checksum.
pub fn tcp(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    tcp_opts(src, dst, seq, ack, flags, &[], payload)
}

/// A TCP segment with options (whole 4-byte words of them) and its checksum.
pub fn tcp_opts(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0, "TCP options fill whole words");
    let mut s = Vec::with_capacity(TCP_LEN + options.len() + payload.len());
    s.extend_from_slice(&src.port().to_be_bytes());
    s.extend_from_slice(&dst.port().to_be_bytes());
    s.extend_from_slice(&seq.to_be_bytes());
    s.extend_from_slice(&(if flags & ACK != 0 { ack } else { 0 }).to_be_bytes());
    s.push(((5 + options.len() / 4) as u8) << 4); // data offset in words
    s.push(flags);
    s.extend_from_slice(&65535u16.to_be_bytes()); // window
    s.extend_from_slice(&[0, 0]); // checksum
    s.extend_from_slice(&[0, 0]); // urgent pointer
    s.extend_from_slice(options);
    s.extend_from_slice(payload);
    let c = l4_checksum(src.ip(), dst.ip(), PROTO_TCP, &s);
    s[16..18].copy_from_slice(&c.to_be_bytes());
    s
}

/// A UDP datagram with its length and checksum.
pub fn udp(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let len = (UDP_LEN + payload.len()) as u16;
    let mut d = Vec::with_capacity(usize::from(len));
    d.extend_from_slice(&src.port().to_be_bytes());
    d.extend_from_slice(&dst.port().to_be_bytes());
    d.extend_from_slice(&len.to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    let c = l4_checksum(src.ip(), dst.ip(), PROTO_UDP, &d);
    d[6..8].copy_from_slice(&c.to_be_bytes());
    d
}

/// IPv4 fragmentation fields: identification, more-fragments, offset in bytes (a multiple
/// of 8).
#[derive(Debug, Clone, Copy, Default)]
pub struct Frag {
    pub ident: u16,
    pub more: bool,
    pub offset: u16,
}

/// An IPv4 packet (20-byte header, TTL 64) with its header checksum. `frag` None means an
/// unfragmented packet with DF set.
pub fn ipv4(src: IpAddr, dst: IpAddr, proto: u8, frag: Option<Frag>, payload: &[u8]) -> Vec<u8> {
    let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) else {
        panic!("ipv4 needs IPv4 addresses");
    };
    let total = (IPV4_LEN + payload.len()) as u16;
    let (ident, flags_off) = match frag {
        None => (0x1234, 0x4000u16), // DF
        Some(f) => {
            assert_eq!(f.offset % 8, 0, "fragment offsets are in 8-byte units");
            (f.ident, (if f.more { 0x2000 } else { 0 }) | (f.offset / 8))
        }
    };
    let mut p = Vec::with_capacity(usize::from(total));
    p.push(0x45);
    p.push(0);
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&flags_off.to_be_bytes());
    p.push(64);
    p.push(proto);
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&s.octets());
    p.extend_from_slice(&d.octets());
    let c = fold(sum16(0, &p));
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// An IPv6 packet (no extension headers, hop limit 64).
pub fn ipv6(src: IpAddr, dst: IpAddr, next: u8, payload: &[u8]) -> Vec<u8> {
    let (IpAddr::V6(s), IpAddr::V6(d)) = (src, dst) else {
        panic!("ipv6 needs IPv6 addresses");
    };
    let mut p = Vec::with_capacity(IPV6_LEN + payload.len());
    p.extend_from_slice(&[0x60, 0, 0, 0]);
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.push(next);
    p.push(64);
    p.extend_from_slice(&s.octets());
    p.extend_from_slice(&d.octets());
    p.extend_from_slice(payload);
    p
}

/// An IPv6 packet whose payload is one fragment (a fragment header, RFC 8200 4.5) of a
/// datagram carrying `next`.
pub fn ipv6_fragment(
    src: IpAddr,
    dst: IpAddr,
    next: u8,
    frag: Frag,
    ident: u32,
    payload: &[u8],
) -> Vec<u8> {
    assert_eq!(frag.offset % 8, 0, "fragment offsets are in 8-byte units");
    let mut f = vec![next, 0];
    f.extend_from_slice(&(frag.offset | u16::from(frag.more)).to_be_bytes());
    f.extend_from_slice(&ident.to_be_bytes());
    f.extend_from_slice(payload);
    ipv6(src, dst, 44, &f)
}

/// An IP packet of the addresses' family.
pub fn ip(src: IpAddr, dst: IpAddr, proto: u8, payload: &[u8]) -> Vec<u8> {
    match src {
        IpAddr::V4(_) => ipv4(src, dst, proto, None, payload),
        IpAddr::V6(_) => ipv6(src, dst, proto, payload),
    }
}

/// The EtherType of a raw IP packet, from its version nibble.
fn ethertype_of(packet: &[u8]) -> u16 {
    match packet.first().map(|b| b >> 4) {
        Some(6) => 0x86dd,
        _ => 0x0800,
    }
}

/// An Ethernet II frame around an IP packet (no FCS, no padding).
pub fn ethernet(packet: &[u8]) -> Vec<u8> {
    ethernet_typed(ethertype_of(packet), packet)
}

/// An Ethernet II frame with an explicit EtherType.
pub fn ethernet_typed(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(ETH_LEN + payload.len());
    f.extend_from_slice(&MAC_B);
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An Ethernet frame with one 802.1Q tag.
pub fn ethernet_vlan(vlan: u16, packet: &[u8]) -> Vec<u8> {
    let mut inner = Vec::with_capacity(4 + packet.len());
    inner.extend_from_slice(&(vlan & 0x0fff).to_be_bytes());
    inner.extend_from_slice(&ethertype_of(packet).to_be_bytes());
    inner.extend_from_slice(packet);
    ethernet_typed(0x8100, &inner)
}

/// A Linux cooked (SLL v1) frame around an IP packet: sent by us (packet type 4).
pub fn sll(packet: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(16 + packet.len());
    f.extend_from_slice(&4u16.to_be_bytes()); // outgoing
    f.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
    f.extend_from_slice(&6u16.to_be_bytes());
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&ethertype_of(packet).to_be_bytes());
    f.extend_from_slice(packet);
    f
}

/// An Ethernet frame carrying one UDP datagram.
pub fn udp_frame(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    ethernet(&ip(src.ip(), dst.ip(), PROTO_UDP, &udp(src, dst, payload)))
}

/// A socket address from `"10.0.0.1:80"` or `"[2001:db8::1]:53"`.
pub fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

// ---------------------------------------------------------------------------------------
// A TCP connection
// ---------------------------------------------------------------------------------------

/// One TCP connection between a client and a server; builds its Ethernet frames and keeps
/// each side's next sequence number, so frames can be built in order and fed in any order.
#[derive(Debug, Clone)]
pub struct TcpConn {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Initial sequence numbers.
    pub client_isn: u32,
    pub server_isn: u32,
    /// The next sequence number each side sends.
    pub cseq: u32,
    pub sseq: u32,
    /// Options on every segment (SYNs get MSS, SACK-permitted and window scale too).
    pub timestamps: bool,
    /// Pad frames to Ethernet's 60-byte minimum, as a NIC does.
    pub pad: bool,
}

impl TcpConn {
    pub fn new(client: &str, server: &str) -> TcpConn {
        TcpConn::with_isn(client, server, 1_000, 5_000)
    }

    pub fn with_isn(client: &str, server: &str, client_isn: u32, server_isn: u32) -> TcpConn {
        TcpConn {
            client: sa(client),
            server: sa(server),
            client_isn,
            server_isn,
            cseq: client_isn,
            sseq: server_isn,
            timestamps: false,
            pad: false,
        }
    }

    fn frame(&self, from_client: bool, seq: u32, ack: u32, flags: u8, data: &[u8]) -> Vec<u8> {
        let (s, d) = if from_client {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        let mut opts = Vec::new();
        if self.timestamps {
            if flags & SYN != 0 {
                // MSS 1460, SACK permitted, window scale 7, NOP.
                opts.extend_from_slice(&[2, 4, 0x05, 0xb4, 4, 2, 3, 3, 7, 1]);
            }
            // NOP, NOP, timestamps.
            opts.extend_from_slice(&[1, 1, 8, 10]);
            opts.extend_from_slice(&seq.wrapping_mul(3).to_be_bytes());
            opts.extend_from_slice(&ack.wrapping_mul(5).to_be_bytes());
            while opts.len() % 4 != 0 {
                opts.push(0); // end of options
            }
        }
        let mut f = ethernet(&ip(
            s.ip(),
            d.ip(),
            PROTO_TCP,
            &tcp_opts(s, d, seq, ack, flags, &opts, data),
        ));
        if self.pad && f.len() < 60 {
            f.resize(60, 0);
        }
        f
    }

    /// SYN, SYN+ACK, ACK.
    pub fn handshake(&mut self) -> Vec<Vec<u8>> {
        vec![self.syn(), self.syn_ack(), self.client_ack()]
    }

    pub fn syn(&mut self) -> Vec<u8> {
        let f = self.frame(true, self.client_isn, 0, SYN, b"");
        self.cseq = self.client_isn.wrapping_add(1);
        f
    }

    /// A SYN+ACK without options whose IP length counts `zeros` bytes of padding as data.
    pub fn syn_ack_with_padding(&mut self, zeros: usize) -> Vec<u8> {
        let f = self.frame(
            false,
            self.server_isn,
            self.cseq,
            SYN | ACK,
            &vec![0; zeros],
        );
        self.sseq = self.server_isn.wrapping_add(1);
        f
    }

    pub fn syn_ack(&mut self) -> Vec<u8> {
        let f = self.frame(false, self.server_isn, self.cseq, SYN | ACK, b"");
        self.sseq = self.server_isn.wrapping_add(1);
        f
    }

    /// Data from the client (PSH+ACK, acknowledging everything the server sent so far).
    pub fn client(&mut self, data: &[u8]) -> Vec<u8> {
        let f = self.frame(true, self.cseq, self.sseq, PSH | ACK, data);
        self.cseq = self.cseq.wrapping_add(data.len() as u32);
        f
    }

    /// Data from the server.
    pub fn server(&mut self, data: &[u8]) -> Vec<u8> {
        let f = self.frame(false, self.sseq, self.cseq, PSH | ACK, data);
        self.sseq = self.sseq.wrapping_add(data.len() as u32);
        f
    }

    /// A pure ACK from the client of everything the server sent so far.
    pub fn client_ack(&self) -> Vec<u8> {
        self.frame(true, self.cseq, self.sseq, ACK, b"")
    }

    /// A pure ACK from the server.
    pub fn server_ack(&self) -> Vec<u8> {
        self.frame(false, self.sseq, self.cseq, ACK, b"")
    }

    /// A pure ACK whose IP length counts `zeros` bytes of the frame's padding as TCP
    /// payload (a broken stack or middlebox), at the sender's next sequence number, which
    /// the real data then uses too.
    pub fn ack_with_padding(&self, from_client: bool, zeros: usize) -> Vec<u8> {
        let (seq, ack) = if from_client {
            (self.cseq, self.sseq)
        } else {
            (self.sseq, self.cseq)
        };
        self.frame(from_client, seq, ack, ACK, &vec![0; zeros])
    }

    /// The client closes: FIN from the client, FIN+ACK from the server, the client's ACK.
    pub fn close(&mut self) -> Vec<Vec<u8>> {
        let a = self.frame(true, self.cseq, self.sseq, FIN | ACK, b"");
        self.cseq = self.cseq.wrapping_add(1);
        let b = self.frame(false, self.sseq, self.cseq, FIN | ACK, b"");
        self.sseq = self.sseq.wrapping_add(1);
        let c = self.client_ack();
        vec![a, b, c]
    }

    /// The protocol records' connection identity for this connection.
    pub fn conn(&self, protocol: &'static str) -> Conn {
        conn(self.client, self.server, PROTO_TCP, protocol)
    }
}

// ---------------------------------------------------------------------------------------
// Expected records
// ---------------------------------------------------------------------------------------

/// Community ID v1, seed 0 (written from the spec, not from the crate under test).
pub fn community_id(a: SocketAddr, b: SocketAddr, proto: u8) -> String {
    use base64::Engine as _;
    use sha1::{Digest, Sha1};
    let bytes = |s: SocketAddr| match s.ip() {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    };
    let (x, y) = if (bytes(a), a.port()) <= (bytes(b), b.port()) {
        (a, b)
    } else {
        (b, a)
    };
    let mut h = Sha1::new();
    h.update([0u8, 0]);
    h.update(bytes(x));
    h.update(bytes(y));
    h.update([proto, 0]);
    h.update(x.port().to_be_bytes());
    h.update(y.port().to_be_bytes());
    format!(
        "1:{}",
        base64::engine::general_purpose::STANDARD.encode(h.finalize())
    )
}

/// The connection identity protocol records carry: `client` is the source.
pub fn conn(client: SocketAddr, server: SocketAddr, proto: u8, protocol: &'static str) -> Conn {
    Conn {
        network: ConnNetwork {
            transport: if proto == PROTO_TCP {
                Transport::Tcp
            } else {
                Transport::Udp
            },
            kind: if client.is_ipv6() {
                NetworkType::Ipv6
            } else {
                NetworkType::Ipv4
            },
            protocol,
            community_id: community_id(client, server, proto),
            vlan: None,
        },
        source: Peer {
            ip: client.ip(),
            port: client.port(),
            owner: None,
        },
        destination: Peer {
            ip: server.ip(),
            port: server.port(),
            owner: None,
        },
        interface: None,
    }
}

/// Per-direction counters of a flow, as a test expects them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Side {
    pub packets: u64,
    pub bytes: u64,
    pub flags: u8,
}

/// Counts `frames` (as fed) into per-direction expectations: the frames that `is_client`
/// says the client sent, and the others. Flags are read at the Ethernet/IPv4-or-6/TCP
/// offsets the builder writes.
pub fn tally(frames: &[Vec<u8>], is_client: impl Fn(&[u8]) -> bool) -> (Side, Side) {
    let (mut c, mut s) = (Side::default(), Side::default());
    for f in frames {
        let side = if is_client(f) { &mut c } else { &mut s };
        side.packets += 1;
        side.bytes += f.len() as u64;
        let ip_len = if f[12..14] == [0x86, 0xdd] {
            IPV6_LEN
        } else {
            IPV4_LEN
        };
        let proto = if ip_len == IPV6_LEN {
            f[ETH_LEN + 6]
        } else {
            f[ETH_LEN + 9]
        };
        if proto == PROTO_TCP {
            side.flags |= f[ETH_LEN + ip_len + 13];
        }
    }
    (c, s)
}

/// The flow record the engine should write for a flow from `client` to `server`.
#[allow(clippy::too_many_arguments)]
pub fn flow_record(
    client: SocketAddr,
    server: SocketAddr,
    proto: u8,
    (c, s): (Side, Side),
    first_ns: u64,
    last_ns: u64,
    written_ns: u64,
    reason: EndReason,
) -> FlowRecord {
    let endpoint = |a: SocketAddr, side: Side| Endpoint {
        ip: a.ip(),
        port: a.port(),
        bytes: side.bytes,
        packets: side.packets,
        tcp_flags: TcpFlags(side.flags),
        owner: None,
        nat: None,
    };
    FlowRecord {
        timestamp: Timestamp(written_ns),
        event: FlowEvent {
            start: Timestamp(first_ns),
            end: Timestamp(last_ns),
            duration: last_ns - first_ns,
            reason,
        },
        network: Network {
            transport: if proto == PROTO_TCP {
                Transport::Tcp
            } else {
                Transport::Udp
            },
            kind: if client.is_ipv6() {
                NetworkType::Ipv6
            } else {
                NetworkType::Ipv4
            },
            iana_number: flowsight_record::iana_number(proto),
            community_id: community_id(client, server, proto),
            bytes: c.bytes + s.bytes,
            packets: c.packets + s.packets,
            vlan: None,
        },
        interface: None,
        source: endpoint(client, c),
        destination: endpoint(server, s),
        observations: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Running the engine
// ---------------------------------------------------------------------------------------

/// What an engine wrote for a capture, by kind, in the order written.
#[derive(Debug, Default)]
pub struct Out {
    pub all: Vec<Record>,
    pub stats: EngineStats,
}

impl Out {
    pub fn flows(&self) -> Vec<&FlowRecord> {
        self.all
            .iter()
            .filter_map(|r| match r {
                Record::Flow(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    pub fn http(&self) -> Vec<&flowsight_record::HttpRecord> {
        self.all
            .iter()
            .filter_map(|r| match r {
                Record::Http(h) => Some(h),
                _ => None,
            })
            .collect()
    }

    pub fn dns(&self) -> Vec<&flowsight_record::DnsRecord> {
        self.all
            .iter()
            .filter_map(|r| match r {
                Record::Dns(d) => Some(d),
                _ => None,
            })
            .collect()
    }

    pub fn tls(&self) -> Vec<&flowsight_record::TlsRecord> {
        self.all
            .iter()
            .filter_map(|r| match r {
                Record::Tls(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    pub fn weirds(&self) -> Vec<&flowsight_record::WeirdRecord> {
        self.all
            .iter()
            .filter_map(|r| match r {
                Record::Weird(w) => Some(w),
                _ => None,
            })
            .collect()
    }

    /// The kinds of the records, in the order written.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.all.iter().map(Record::kind).collect()
    }
}

/// Feeds `frames` (Ethernet, captured whole, frame `i` at [`at`]`(i)`) to a fresh engine,
/// finishes it and returns everything it wrote.
pub fn run(frames: &[Vec<u8>]) -> Out {
    run_with(
        LinkType::Ethernet,
        frames.iter().map(|f| (f.as_slice(), f.len() as u32)),
    )
}

/// Feeds frames of `link` with their lengths on the wire, frame `i` at [`at`]`(i)`.
pub fn run_with<'a>(link: LinkType, frames: impl IntoIterator<Item = (&'a [u8], u32)>) -> Out {
    feed(
        link,
        frames
            .into_iter()
            .enumerate()
            .map(|(i, (f, wire_len))| (at(i), f, wire_len, Some(Duty::Whole))),
    )
}

/// Feeds frames at explicit times (nanoseconds), finishing at the end.
pub fn run_timed(frames: &[(u64, Vec<u8>)]) -> Out {
    feed(
        LinkType::Ethernet,
        frames
            .iter()
            .map(|(ts, f)| (*ts, f.as_slice(), f.len() as u32, Some(Duty::Whole))),
    )
}

/// Feeds every frame's time to one of several engines sharing a capture (`read --threads`),
/// and the frame itself with its duty where the engine has one (`None`: another engine's
/// frame, which only moves this one's clock).
pub fn run_shared(frames: &[(u64, Vec<u8>, Option<Duty>)]) -> Out {
    feed(
        LinkType::Ethernet,
        frames
            .iter()
            .map(|(ts, f, duty)| (*ts, f.as_slice(), f.len() as u32, *duty)),
    )
}

/// A fresh engine fed `(time, frame, length on the wire, duty)` of `link` (a duty of `None`
/// only moves its clock), then finished: everything it wrote.
fn feed<'a>(
    link: LinkType,
    frames: impl IntoIterator<Item = (u64, &'a [u8], u32, Option<Duty>)>,
) -> Out {
    let mut e = Engine::new(EngineConfig::default());
    let mut all = Vec::new();
    for (ts, f, wire_len, duty) in frames {
        match duty {
            Some(d) => e.frame_as(ts, link, f, wire_len, 0, d),
            None => e.advance(ts),
        }
        all.extend(e.drain());
    }
    e.finish();
    all.extend(e.drain());
    Out {
        all,
        stats: e.stats(),
    }
}

/// Writes frames as a pcap file, for looking at a test's capture in Wireshark/tshark
/// while developing (`FLOWSIGHT_TEST_PCAP_DIR=/tmp cargo test ...` writes `/tmp/<name>.pcap`). Not used by any
/// assertion.
pub fn maybe_dump(name: &str, frames: &[Vec<u8>]) {
    let Ok(dir) = std::env::var("FLOWSIGHT_TEST_PCAP_DIR") else {
        return;
    };
    // A minimal classic pcap (microsecond timestamps), written here so the tests need no
    // other crate.
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    for (i, f) in frames.iter().enumerate() {
        let ts = at(i);
        out.extend_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((ts % 1_000_000_000 / 1000) as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    std::fs::write(format!("{dir}/{name}.pcap"), out).unwrap();
}
