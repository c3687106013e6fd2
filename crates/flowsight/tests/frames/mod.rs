//! Ethernet/IPv4/TCP/UDP frames with correct lengths and checksums, and a classic pcap
//! around them, for the tests that run the binary on a capture they write themselves.

#![allow(dead_code)]

pub const CLIENT: [u8; 4] = [10, 1, 2, 3];
pub const SERVER: [u8; 4] = [10, 9, 8, 7];
pub const CPORT: u16 = 40000;
pub const SPORT: u16 = 80;

/// The Internet checksum (RFC 1071) over `chunks` taken as one byte string.
pub fn checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    for c in chunks {
        for pair in c.chunks(2) {
            sum += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet + IPv4 around a transport header and payload, with correct lengths and checksum.
pub fn ip_frame(src: [u8; 4], dst: [u8; 4], proto: u8, transport: &[u8]) -> Vec<u8> {
    let total = (20 + transport.len()) as u16;
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let c = checksum(&[&ip]);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(transport);
    frame
}

/// A TCP segment between CLIENT:CPORT and SERVER:SPORT, `from_client` or back.
pub fn tcp_frame(from_client: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sport, dport) = if from_client {
        (CLIENT, SERVER, CPORT, SPORT)
    } else {
        (SERVER, CLIENT, SPORT, CPORT)
    };
    let mut tcp = Vec::new();
    tcp.extend_from_slice(&sport.to_be_bytes());
    tcp.extend_from_slice(&dport.to_be_bytes());
    tcp.extend_from_slice(&seq.to_be_bytes());
    tcp.extend_from_slice(&ack.to_be_bytes());
    tcp.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    tcp.extend_from_slice(payload);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
    let c = checksum(&[&pseudo, &tcp]);
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
    ip_frame(src, dst, 6, &tcp)
}

/// A UDP datagram (checksum 0: none, allowed over IPv4).
pub fn udp_frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut udp = Vec::new();
    udp.extend_from_slice(&sport.to_be_bytes());
    udp.extend_from_slice(&dport.to_be_bytes());
    udp.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    ip_frame(src, dst, 17, &udp)
}

pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const PSH_ACK: u8 = 0x18;
pub const FIN_ACK: u8 = 0x11;
pub const REQUEST: &[u8] =
    b"GET /a/b?x=1 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: t/1\r\n\r\n";
pub const RESPONSE: &[u8] =
    b"HTTP/1.1 404 Not Found\r\nServer: s/2\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nnope!";

/// A classic little-endian pcap, one packet per 10 ms.
pub fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        out.extend_from_slice(&(10_000 * i as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

/// An Ethernet + IPv4 frame (as [`ip_frame`] makes) cut into fragments of datagram `ident`
/// at `cuts` (offsets into the IP payload, each a multiple of 8).
pub fn fragments(frame: &[u8], ident: u16, cuts: &[usize]) -> Vec<Vec<u8>> {
    let (eth, ip) = frame.split_at(14);
    let (header, payload) = ip.split_at(20);
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(payload.len());
    bounds
        .windows(2)
        .map(|w| {
            let (offset, bytes, more) = (w[0], &payload[w[0]..w[1]], w[1] < payload.len());
            assert_eq!(offset % 8, 0, "fragment offsets count 8-byte units");
            let mut h = header.to_vec();
            h[2..4].copy_from_slice(&((20 + bytes.len()) as u16).to_be_bytes());
            h[4..6].copy_from_slice(&ident.to_be_bytes());
            let flags_offset = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
            h[6..8].copy_from_slice(&flags_offset.to_be_bytes());
            h[10..12].copy_from_slice(&[0, 0]);
            let c = checksum(&[&h]);
            h[10..12].copy_from_slice(&c.to_be_bytes());
            [eth, &h, bytes].concat()
        })
        .collect()
}

/// A GTP-U header (version 1, G-PDU, TEID `teid`) before `payload`.
pub fn gtp_u(teid: u32, payload: &[u8]) -> Vec<u8> {
    let mut g = vec![0x30, 0xff];
    g.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    g.extend_from_slice(&teid.to_be_bytes());
    g.extend_from_slice(payload);
    g
}

/// Ethernet + IPv6 (no extension header) around `payload` of protocol `next`.
pub fn ipv6_frame(src: [u8; 16], dst: [u8; 16], next: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd];
    frame.extend_from_slice(&[0x60, 0, 0, 0]);
    frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    frame.extend_from_slice(&[next, 64]);
    frame.extend_from_slice(&src);
    frame.extend_from_slice(&dst);
    frame.extend_from_slice(payload);
    frame
}

/// `payload` of protocol `next` in two IPv6 fragments of datagram `ident`, the first
/// carrying `at` bytes of it (a multiple of 8).
pub fn ipv6_fragments(
    src: [u8; 16],
    dst: [u8; 16],
    next: u8,
    payload: &[u8],
    ident: u32,
    at: usize,
) -> [Vec<u8>; 2] {
    assert_eq!(at % 8, 0, "fragment offsets count 8-byte units");
    let part = |offset: usize, bytes: &[u8], more: bool| {
        let mut f = vec![next, 0];
        f.extend_from_slice(&((offset as u16) | u16::from(more)).to_be_bytes());
        f.extend_from_slice(&ident.to_be_bytes());
        f.extend_from_slice(bytes);
        ipv6_frame(src, dst, 44, &f)
    };
    [
        part(0, &payload[..at], true),
        part(at, &payload[at..], false),
    ]
}
