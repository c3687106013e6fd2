//! How records of different tools are put side by side: connection keys.
//!
//! Every reference tool names a connection by its addresses and ports, but not always in
//! flowsight's orientation (flowsight's `source` is the initiator; Zeek's `orig` usually is,
//! nDPI's first endpoint is the first sender, tshark has one row per message in either
//! direction). So keys are *unordered*: the two endpoints sorted. The orientation is not
//! what is being checked here; the fields are.

use std::fmt;
use std::net::IpAddr;

/// One end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    /// Address.
    pub ip: IpAddr,
    /// Port (0 for protocols without ports, as nDPI writes them).
    pub port: u16,
}

impl Endpoint {
    /// An endpoint from an address and port.
    pub fn new(ip: IpAddr, port: u16) -> Endpoint {
        Endpoint { ip, port }
    }

    /// Parses an address as the tools write it, accepting `[v6]` brackets and IPv4-mapped
    /// forms; an IPv4-mapped IPv6 address is folded to IPv4 so that tools agree.
    pub fn parse_ip(s: &str) -> Option<IpAddr> {
        let s = s.trim().trim_start_matches('[').trim_end_matches(']');
        let ip: IpAddr = s.parse().ok()?;
        Some(match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// An unordered pair of endpoints: the same key whichever side is written first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnKey {
    lo: Endpoint,
    hi: Endpoint,
}

impl ConnKey {
    /// The key of a connection between `a` and `b`, in either order.
    pub fn new(a: Endpoint, b: Endpoint) -> ConnKey {
        if a <= b {
            ConnKey { lo: a, hi: b }
        } else {
            ConnKey { lo: b, hi: a }
        }
    }

    /// The key with both ports zeroed: how nDPI keys ICMP and other portless protocols.
    pub fn without_ports(self) -> ConnKey {
        ConnKey::new(Endpoint::new(self.lo.ip, 0), Endpoint::new(self.hi.ip, 0))
    }

    /// The smaller endpoint.
    pub fn lo(&self) -> Endpoint {
        self.lo
    }

    /// The larger endpoint.
    pub fn hi(&self) -> Endpoint {
        self.hi
    }
}

impl fmt::Display for ConnKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.lo, self.hi)
    }
}

/// IP protocol numbers of the transports that carry ports.
pub mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// SCTP.
    pub const SCTP: u8 = 132;

    /// Whether the protocol's flows are keyed with ports (nDPI writes port 0 for the rest).
    pub fn has_ports(p: u8) -> bool {
        matches!(p, TCP | UDP | SCTP)
    }
}

/// A flow as nDPI keys it: transport, unordered endpoints (ports zeroed for portless
/// protocols) and the outer VLAN id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowKey {
    /// IP protocol number.
    pub proto: u8,
    /// Endpoints, ports zeroed unless [`proto::has_ports`].
    pub conn: ConnKey,
    /// Outer VLAN id, when tagged.
    pub vlan: Option<u16>,
}

impl FlowKey {
    /// A flow key, zeroing the ports of portless protocols.
    pub fn new(proto: u8, conn: ConnKey, vlan: Option<u16>) -> FlowKey {
        let conn = if proto::has_ports(proto) {
            conn
        } else {
            conn.without_ports()
        };
        FlowKey { proto, conn, vlan }
    }
}

impl fmt::Display for FlowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.proto, self.conn)?;
        if let Some(v) = self.vlan {
            write!(f, " vlan {v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str, port: u16) -> Endpoint {
        Endpoint::new(Endpoint::parse_ip(s).unwrap(), port)
    }

    #[test]
    fn keys_are_unordered() {
        let a = ep("10.0.0.1", 1234);
        let b = ep("10.0.0.2", 80);
        assert_eq!(ConnKey::new(a, b), ConnKey::new(b, a));
        assert_eq!(ConnKey::new(a, b).to_string(), "10.0.0.1:1234 10.0.0.2:80");
    }

    #[test]
    fn parses_bracketed_and_mapped_addresses() {
        assert_eq!(ep("[2001:db8::1]", 443).to_string(), "[2001:db8::1]:443");
        assert_eq!(ep("::ffff:10.1.2.3", 1).to_string(), "10.1.2.3:1");
        assert!(Endpoint::parse_ip("not-an-ip").is_none());
    }

    #[test]
    fn portless_flows_drop_ports() {
        let c = ConnKey::new(ep("10.0.0.1", 8), ep("10.0.0.2", 0));
        let k = FlowKey::new(proto::ICMP, c, None);
        assert_eq!(k.conn.lo().port, 0);
        assert_eq!(k.conn.hi().port, 0);
        let t = FlowKey::new(proto::TCP, c, Some(7));
        assert_eq!(t.to_string(), "6 10.0.0.1:8 10.0.0.2:0 vlan 7");
    }
}
