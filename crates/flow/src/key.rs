//! The canonical flow key.

use flowsight_abi as abi;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Identifies a bidirectional flow on one interface (and VLAN). The endpoints are in canonical
/// order, endpoint 0 being the smaller (address, port) in network byte order, so both directions
/// of a flow have the same key. The same order as the kernel's, so a key converts to and from
/// the kernel map's key exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlowKey {
    /// Endpoint addresses.
    pub addr: [IpAddr; 2],
    /// Endpoint ports (ICMP: the Community ID type/code equivalents).
    pub port: [u16; 2],
    /// IP protocol number.
    pub protocol: u8,
    /// Interface index the flow was seen on (0 for captures).
    pub ifindex: u32,
    /// Outer VLAN id, 0 when untagged.
    pub vlan: u16,
}

/// Address bytes as the kernel stores them: 16 bytes, IPv4 in the first 4.
fn addr_bytes(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v4.octets());
            b
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Hashed as four words, not field by field and byte by byte as derived: the flow table
/// hashes a key per packet. An IPv4 address hashes like the IPv4-compatible IPv6 one; the
/// two are still unequal keys.
impl Hash for FlowKey {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        let word = |a: &IpAddr| match a {
            IpAddr::V4(v4) => u128::from(u32::from(*v4)),
            IpAddr::V6(v6) => u128::from(*v6),
        };
        h.write_u128(word(&self.addr[0]));
        h.write_u128(word(&self.addr[1]));
        h.write_u64(
            (u64::from(self.port[0]) << 48)
                | (u64::from(self.port[1]) << 32)
                | (u64::from(self.vlan) << 16)
                | u64::from(self.protocol),
        );
        h.write_u32(self.ifindex);
    }
}

impl FlowKey {
    /// The key of a packet from `src` to `dst`, and the index of the sender's endpoint.
    pub fn from_packet(
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        protocol: u8,
        ifindex: u32,
        vlan: u16,
    ) -> (FlowKey, usize) {
        let s = if (addr_bytes(dst.0), dst.1) < (addr_bytes(src.0), src.1) {
            1
        } else {
            0
        };
        let (a, b) = if s == 0 { (src, dst) } else { (dst, src) };
        (
            FlowKey {
                addr: [a.0, b.0],
                port: [a.1, b.1],
                protocol,
                ifindex,
                vlan,
            },
            s,
        )
    }

    /// True for IPv6 flows.
    pub fn is_v6(&self) -> bool {
        self.addr[0].is_ipv6()
    }

    /// Endpoint `i` as (address, port).
    pub fn endpoint(&self, i: usize) -> (IpAddr, u16) {
        (self.addr[i], self.port[i])
    }

    /// The kernel map's key for this flow.
    pub fn to_abi(&self) -> abi::FlowKey {
        abi::FlowKey {
            addr: [addr_bytes(self.addr[0]), addr_bytes(self.addr[1])],
            port: self.port,
            ifindex: self.ifindex,
            vlan: self.vlan,
            protocol: self.protocol,
            family: if self.is_v6() {
                abi::AF_INET6 as u8
            } else {
                abi::AF_INET as u8
            },
        }
    }
}

impl From<&abi::FlowKey> for FlowKey {
    fn from(k: &abi::FlowKey) -> FlowKey {
        let ip = |b: &[u8; 16]| -> IpAddr {
            if k.family as u16 == abi::AF_INET6 {
                IpAddr::V6(Ipv6Addr::from(*b))
            } else {
                IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
        };
        FlowKey {
            addr: [ip(&k.addr[0]), ip(&k.addr[1])],
            port: k.port,
            protocol: k.protocol,
            ifindex: k.ifindex,
            vlan: k.vlan,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn both_directions_have_one_key() {
        let a = ("10.0.0.2".parse().unwrap(), 40000);
        let b = ("10.0.0.1".parse().unwrap(), 80);
        let (k1, s1) = FlowKey::from_packet(a, b, 6, 1, 0);
        let (k2, s2) = FlowKey::from_packet(b, a, 6, 1, 0);
        assert_eq!(k1, k2);
        assert_eq!((s1, s2), (1, 0));
        assert_eq!(k1.endpoint(0), b);
    }

    #[test]
    fn equal_keys_hash_alike_and_the_families_stay_apart() {
        let h = |k: &FlowKey| foldhash::fast::FixedState::with_seed(7).hash_one(k);
        let a = ("10.0.0.2".parse().unwrap(), 40000);
        let b = ("10.0.0.1".parse().unwrap(), 80);
        let (k1, _) = FlowKey::from_packet(a, b, 6, 1, 0);
        let (k2, _) = FlowKey::from_packet(b, a, 6, 1, 0);
        assert_eq!(h(&k1), h(&k2));
        // Every field counts.
        for other in [
            FlowKey::from_packet(a, b, 17, 1, 0).0,
            FlowKey::from_packet(a, b, 6, 2, 0).0,
            FlowKey::from_packet(a, b, 6, 1, 5).0,
            FlowKey::from_packet((a.0, 40001), b, 6, 1, 0).0,
        ] {
            assert_ne!(h(&other), h(&k1), "{other:?}");
        }
        // An IPv4 key and its IPv4-compatible IPv6 twin collide in the hash, not in the map.
        let v6 = |s: &str| -> IpAddr { s.parse().unwrap() };
        let (k6, _) =
            FlowKey::from_packet((v6("::10.0.0.2"), 40000), (v6("::10.0.0.1"), 80), 6, 1, 0);
        assert_eq!(h(&k6), h(&k1));
        assert_ne!(k6, k1);
        let mut m = std::collections::HashMap::new();
        m.insert(k1, 1);
        m.insert(k6, 2);
        assert_eq!((m[&k1], m[&k6]), (1, 2));
    }

    #[test]
    fn converts_to_and_from_the_kernel_key() {
        for (a, b) in [("10.1.2.3", "192.168.0.1"), ("2001:db8::2", "::1")] {
            let (k, _) =
                FlowKey::from_packet((a.parse().unwrap(), 5), (b.parse().unwrap(), 6), 17, 3, 42);
            assert_eq!(FlowKey::from(&k.to_abi()), k);
        }
    }
}
