//! Small packet builders for the tests: valid headers with correct checksums.

use crate::checksum;
use crate::ip::IpProtocol;
use std::net::IpAddr;

pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0xaa];
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0xbb];

pub fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::from([a, b, c, d])
}

pub fn v6(last: u16) -> IpAddr {
    IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, last])
}

/// Ethernet II with optional VLAN tags `(tpid, id)`, outermost first.
pub fn eth(tags: &[(u16, u16)], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&MAC_B);
    f.extend_from_slice(&MAC_A);
    for &(tpid, id) in tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// IPv4 header fields the tests vary.
#[derive(Clone, Copy)]
pub struct V4Opts {
    pub ident: u16,
    pub df: bool,
    pub mf: bool,
    pub frag_off: u16,
    pub ttl: u8,
}

impl Default for V4Opts {
    fn default() -> V4Opts {
        V4Opts {
            ident: 0x1234,
            df: true,
            mf: false,
            frag_off: 0,
            ttl: 64,
        }
    }
}

pub fn ipv4_with(o: V4Opts, src: IpAddr, dst: IpAddr, proto: u8, payload: &[u8]) -> Vec<u8> {
    let (IpAddr::V4(s), IpAddr::V4(d)) = (src, dst) else {
        panic!("v4 addresses")
    };
    let total = (20 + payload.len()) as u16;
    let flags_off = (u16::from(o.df) << 14) | (u16::from(o.mf) << 13) | (o.frag_off / 8);
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&o.ident.to_be_bytes());
    h.extend_from_slice(&flags_off.to_be_bytes());
    h.extend_from_slice(&[o.ttl, proto, 0, 0]);
    h.extend_from_slice(&s.octets());
    h.extend_from_slice(&d.octets());
    let c = checksum::compute(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

pub fn ipv4(src: IpAddr, dst: IpAddr, proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_with(V4Opts::default(), src, dst, proto, payload)
}

pub fn ipv6(src: IpAddr, dst: IpAddr, next: u8, payload: &[u8]) -> Vec<u8> {
    let (IpAddr::V6(s), IpAddr::V6(d)) = (src, dst) else {
        panic!("v6 addresses")
    };
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[next, 64]);
    h.extend_from_slice(&s.octets());
    h.extend_from_slice(&d.octets());
    h.extend_from_slice(payload);
    h
}

/// A TCP segment with a correct checksum for `src`/`dst`.
#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    flags: u16,
    seq: u32,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0);
    let hl = 20 + options.len();
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&1u32.to_be_bytes());
    t.extend_from_slice(&(((hl as u16 / 4) << 12) | flags).to_be_bytes());
    t.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(options);
    t.extend_from_slice(payload);
    let c = checksum::compute_upper_layer(src, dst, IpProtocol::Tcp, &t).unwrap();
    t[16..18].copy_from_slice(&c.to_be_bytes());
    t
}

/// A UDP datagram with a correct checksum for `src`/`dst`.
pub fn udp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let mut c = checksum::compute_upper_layer(src, dst, IpProtocol::Udp, &u).unwrap();
    if c == 0 {
        c = 0xffff;
    }
    u[6..8].copy_from_slice(&c.to_be_bytes());
    u
}

/// An echo request (v4: type 8; v6: type 128) with a correct checksum.
pub fn echo_request(src: IpAddr, dst: IpAddr, ident: u16, seq: u16, payload: &[u8]) -> Vec<u8> {
    let v6 = matches!(src, IpAddr::V6(_));
    let mut m = vec![if v6 { 128 } else { 8 }, 0, 0, 0];
    m.extend_from_slice(&ident.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(payload);
    let c = if v6 {
        checksum::compute_upper_layer(src, dst, IpProtocol::Icmpv6, &m).unwrap()
    } else {
        checksum::compute(&m)
    };
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

/// Ethernet + IPv4 + TCP, the most common frame.
pub fn eth_v4_tcp(payload: &[u8]) -> Vec<u8> {
    let (s, d) = (v4(10, 0, 0, 1), v4(10, 0, 0, 2));
    eth(
        &[],
        0x0800,
        &ipv4(s, d, 6, &tcp(s, d, 40000, 80, 0x018, 1000, &[], payload)),
    )
}

/// An IPv4/UDP packet to carry in tunnels, with its addresses.
pub fn inner_v4_udp() -> (Vec<u8>, IpAddr, IpAddr) {
    let (s, d) = (v4(172, 16, 0, 1), v4(172, 16, 0, 2));
    (ipv4(s, d, 17, &udp(s, d, 1111, 2222, b"inner")), s, d)
}

/// A tiny deterministic generator for the robustness loops.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        let n = (self.next_u64() as usize) % (max_len + 1);
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    /// `base` with a few random bytes changed (keeps most structure, finds deeper bugs).
    pub fn mutate(&mut self, base: &[u8]) -> Vec<u8> {
        let mut v = base.to_vec();
        if v.is_empty() {
            return v;
        }
        let n = 1 + (self.next_u64() % 4) as usize;
        for _ in 0..n {
            let i = (self.next_u64() as usize) % v.len();
            v[i] = self.next_u64() as u8;
        }
        if self.next_u64().is_multiple_of(4) {
            let cut = (self.next_u64() as usize) % (v.len() + 1);
            v.truncate(cut);
        }
        v
    }
}
