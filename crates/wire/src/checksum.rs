//! The internet checksum (RFC 1071), with the TCP/UDP pseudo-headers of IPv4 and IPv6.
//!
//! Used to flag bad checksums as anomalies. Captures of locally sent packets often carry
//! checksums that the NIC fills in later (offload), so a bad checksum is a hint, not proof.

use crate::ip::IpProtocol;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The one's-complement sum of `data` as 16-bit big-endian words (an odd last byte is
/// padded with zero), folded to 16 bits and not inverted.
pub fn sum(data: &[u8]) -> u16 {
    fold(raw_sum(data))
}

/// Unfolded sum of `data`, for combining. Wide accumulator: no carries are lost for any
/// slice that fits in memory.
fn raw_sum(data: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        acc += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    }
    let rest = chunks.remainder();
    let mut words = rest.chunks_exact(2);
    for w in &mut words {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Folds a wide sum into 16 bits with end-around carry.
fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Combines partial sums (from [`sum`] or the pseudo-header functions).
pub fn combine(parts: &[u16]) -> u16 {
    fold(parts.iter().map(|&p| u64::from(p)).sum())
}

/// The sum of the IPv4 pseudo-header for an upper-layer segment of `len` bytes.
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, len: u32) -> u16 {
    let mut acc = raw_sum(&src.octets()) + raw_sum(&dst.octets());
    acc += u64::from(u8::from(protocol));
    acc += u64::from(len & 0xffff) + u64::from(len >> 16);
    fold(acc)
}

/// The sum of the IPv6 pseudo-header (RFC 8200 §8.1) for an upper-layer segment of `len`
/// bytes.
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, protocol: IpProtocol, len: u32) -> u16 {
    let mut acc = raw_sum(&src.octets()) + raw_sum(&dst.octets());
    acc += u64::from(u8::from(protocol));
    acc += u64::from(len & 0xffff) + u64::from(len >> 16);
    fold(acc)
}

/// The pseudo-header sum for addresses of either family; `None` when the families differ.
pub fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: IpProtocol, len: u32) -> Option<u16> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Some(pseudo_header_v4(s, d, protocol, len)),
        (IpAddr::V6(s), IpAddr::V6(d)) => Some(pseudo_header_v6(s, d, protocol, len)),
        _ => None,
    }
}

/// True when a header carrying its own checksum (IPv4, ICMPv4) sums to all ones.
pub fn verify(data: &[u8]) -> bool {
    sum(data) == 0xffff
}

/// The value to put in a checksum field so that `data` (with the field zeroed) verifies.
pub fn compute(data: &[u8]) -> u16 {
    !sum(data)
}

/// True when a whole TCP, UDP or ICMPv6 `segment` (header and payload, checksum field
/// included) verifies against the pseudo-header of `src` and `dst`. `None` when the address
/// families differ.
pub fn verify_upper_layer(
    src: IpAddr,
    dst: IpAddr,
    protocol: IpProtocol,
    segment: &[u8],
) -> Option<bool> {
    let len = u32::try_from(segment.len()).ok()?;
    let ph = pseudo_header(src, dst, protocol, len)?;
    Some(combine(&[ph, sum(segment)]) == 0xffff)
}

/// The checksum to store in a TCP/UDP/ICMPv6 header so that [`verify_upper_layer`] passes
/// (the segment's checksum field must be zero when this is computed).
pub fn compute_upper_layer(
    src: IpAddr,
    dst: IpAddr,
    protocol: IpProtocol,
    segment: &[u8],
) -> Option<u16> {
    let len = u32::try_from(segment.len()).ok()?;
    let ph = pseudo_header(src, dst, protocol, len)?;
    Some(!combine(&[ph, sum(segment)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the sum of these words is 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum(&data), 0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(&[0x12]), 0x1200);
        assert_eq!(sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
        assert_eq!(sum(&[]), 0);
    }

    #[test]
    fn ipv4_header_verifies() {
        // A real IPv4 header (checksum 0xb861).
        let h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert!(verify(&h));
        let mut z = h;
        z[10] = 0;
        z[11] = 0;
        assert_eq!(compute(&z), 0xb861);
        z[10] = 0xb8;
        z[11] = 0x62;
        assert!(!verify(&z));
    }

    #[test]
    fn udp_over_v4_and_v6_round_trip() {
        for (s, d) in [
            (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2])),
            (
                IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]),
                IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 2]),
            ),
        ] {
            let mut seg = vec![0x30, 0x39, 0x00, 0x35, 0x00, 0x0b, 0, 0, b'a', b'b', b'c'];
            let c = compute_upper_layer(s, d, IpProtocol::Udp, &seg).unwrap();
            seg[6..8].copy_from_slice(&c.to_be_bytes());
            assert_eq!(verify_upper_layer(s, d, IpProtocol::Udp, &seg), Some(true));
            seg[9] ^= 1;
            assert_eq!(verify_upper_layer(s, d, IpProtocol::Udp, &seg), Some(false));
        }
        assert_eq!(
            pseudo_header(
                IpAddr::from([1, 2, 3, 4]),
                IpAddr::from([0u16; 8]),
                IpProtocol::Tcp,
                0
            ),
            None
        );
    }

    #[test]
    fn combine_is_associative_with_sum() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1001).collect();
        let (a, b) = data.split_at(500);
        assert_eq!(combine(&[sum(a), sum(b)]), sum(&data));
    }
}
