//! Community ID v1 (<https://github.com/corelight/community-id-spec>): a flow hash that
//! Zeek, Suricata, Wireshark, Elastic and others compute identically, so flowsight's records
//! join theirs.

use sha1::{Digest, Sha1};
use std::net::IpAddr;

/// Community ID v1 of a flow with seed 0, as `1:<base64 SHA-1>`.
///
/// `src`/`dst` are the flow's direction (source = initiator). The endpoints are put in
/// canonical order before hashing, except for one-way ICMP messages (see
/// [`crate::icmp::icmp_ports`]), which the spec hashes as sent. For ICMP pass the port
/// equivalents, not the raw type and code.
pub fn community_id(src: (IpAddr, u16), dst: (IpAddr, u16), protocol: u8, one_way: bool) -> String {
    community_id_seeded(0, src, dst, protocol, one_way)
}

/// Community ID v1 with an explicit seed.
pub fn community_id_seeded(
    seed: u16,
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    protocol: u8,
    one_way: bool,
) -> String {
    let (src_ip, dst_ip) = (Octets::of(src.0), Octets::of(dst.0));
    let ordered = (src_ip.bytes(), src.1) <= (dst_ip.bytes(), dst.1);
    let ((a, a_ip), (b, b_ip)) = if one_way || ordered {
        ((src, src_ip), (dst, dst_ip))
    } else {
        ((dst, dst_ip), (src, src_ip))
    };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(a_ip.bytes());
    h.update(b_ip.bytes());
    h.update([protocol, 0]);
    // Only protocols with ports hash them (TCP, UDP, SCTP, ICMP via its equivalents).
    if matches!(protocol, 1 | 6 | 17 | 58 | 132) {
        h.update(a.1.to_be_bytes());
        h.update(b.1.to_be_bytes());
    }
    let mut id = [0u8; 30];
    id[..2].copy_from_slice(b"1:");
    base64_digest(&h.finalize().into(), &mut id[2..]);
    // Only `1:` and base64's alphabet were written.
    std::str::from_utf8(&id).unwrap_or_default().to_owned()
}

/// Standard base64 (with padding) of a SHA-1 digest, written out: every flow record and
/// every protocol record carries an ID, and the base64 crate's general encoder took ~500
/// instructions for these 20 bytes (measured with callgrind), this ~60.
fn base64_digest(d: &[u8; 20], out: &mut [u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |v: u8| ALPHABET[usize::from(v & 63)];
    for (three, four) in d.chunks_exact(3).zip(out.chunks_exact_mut(4)) {
        let (a, b, c) = (three[0], three[1], three[2]);
        four[0] = sym(a >> 2);
        four[1] = sym(a << 4 | b >> 4);
        four[2] = sym(b << 2 | c >> 6);
        four[3] = sym(c);
    }
    // 20 = 6 * 3 + 2: the last two bytes make three symbols and one pad.
    let (a, b) = (d[18], d[19]);
    out[24] = sym(a >> 2);
    out[25] = sym(a << 4 | b >> 4);
    out[26] = sym(b << 2);
    out[27] = b'=';
}

/// Address bytes in network order, without allocating; a comparison key as the spec
/// defines it.
#[derive(Clone, Copy)]
struct Octets {
    buf: [u8; 16],
    len: usize,
}

impl Octets {
    fn of(ip: IpAddr) -> Octets {
        let mut buf = [0u8; 16];
        match ip {
            IpAddr::V4(v4) => {
                buf[..4].copy_from_slice(&v4.octets());
                Octets { buf, len: 4 }
            }
            IpAddr::V6(v6) => Octets {
                buf: v6.octets(),
                len: 16,
            },
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_base64_is_the_standard_encoding() {
        use base64::Engine;
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            let mut d = [0u8; 20];
            for b in &mut d {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            let mut out = [0u8; 28];
            base64_digest(&d, &mut out);
            let want = base64::engine::general_purpose::STANDARD.encode(d);
            assert_eq!(std::str::from_utf8(&out).unwrap(), want, "{d:?}");
        }
    }

    fn ep(s: &str, p: u16) -> (IpAddr, u16) {
        (s.parse().unwrap(), p)
    }

    // Expected values: tshark 4.0.17 `--enable-protocol communityid -e communityid` on
    // packets made with scapy (the first is also the spec README's example).
    #[test]
    fn spec_tcp_example_both_directions() {
        let a = ep("128.232.110.120", 34855);
        let b = ep("66.35.250.204", 80);
        assert_eq!(
            community_id(a, b, 6, false),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
        assert_eq!(
            community_id(b, a, 6, false),
            "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
        );
    }

    #[test]
    fn matches_tshark_for_udp6_icmp_and_portless_protocols() {
        let cases = [
            (
                ep("2001:db8::1", 53000),
                ep("2001:db8::2", 53),
                17,
                false,
                "1:1WvFCRgrEZSy/S3b52Vsb5onNBc=",
            ),
            // echo request 10.0.0.2 -> 10.0.0.1 and its reply: one flow
            (
                ep("10.0.0.2", 8),
                ep("10.0.0.1", 0),
                1,
                false,
                "1:E5tNYkCqpM09ZPfoLcq+JJj0QuQ=",
            ),
            (
                ep("10.0.0.1", 0),
                ep("10.0.0.2", 8),
                1,
                false,
                "1:E5tNYkCqpM09ZPfoLcq+JJj0QuQ=",
            ),
            // port unreachable (type 3 code 3): one-way, hashed as sent
            (
                ep("10.0.0.9", 3),
                ep("10.0.0.1", 3),
                1,
                true,
                "1:9mDWAIBS64NSNqk/GzztebxIxzo=",
            ),
            (
                ep("fe80::1", 128),
                ep("fe80::2", 129),
                58,
                false,
                "1:3H+V/JVcqh/phPel5utt4dOKqOU=",
            ),
            // GRE has no ports
            (
                ep("10.0.0.1", 0),
                ep("10.0.0.2", 0),
                47,
                false,
                "1:+KlEHDT0vJgzs/eNmzHq0aSpRYw=",
            ),
        ];
        for (src, dst, proto, one_way, want) in cases {
            assert_eq!(
                community_id(src, dst, proto, one_way),
                want,
                "{src:?} -> {dst:?}"
            );
        }
    }
}
