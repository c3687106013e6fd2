//! The flow record: one bidirectional conversation (TCP connection, UDP or ICMP exchange).

use crate::{Owner, Timestamp};
use serde::{Serialize, Serializer};
use std::net::IpAddr;

/// A flow summary (`type: "flow"`), written when the flow ends, at every active timeout while
/// it lasts, and for every open flow when flowsight stops.
///
/// Counts in an interim record (`event.reason: "active-timeout"`) are the flow's totals so
/// far, not the delta since the previous record, so the last record of a flow always holds its
/// totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowRecord {
    /// When the record was written.
    #[serde(rename = "@timestamp")]
    pub timestamp: Timestamp,
    /// Time span and reason of the record.
    pub event: FlowEvent,
    /// Protocol-level description of the flow.
    pub network: Network,
    /// The interface the flow was observed on (absent for captures without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<Interface>,
    /// The initiator: the sender of the TCP SYN, or of the first UDP/ICMP packet.
    pub source: Endpoint,
    /// The responder.
    pub destination: Endpoint,
    /// Every place the flow was seen, when it was seen in more than one (a container's veth
    /// and the bridge, or both sides of a NAT), each with its own addresses and counts; the
    /// record's own `source`/`destination` counts and `interface` are those of the first.
    /// flowsight field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub observations: Vec<Observation>,
}

/// One place a flow was seen: an interface, the addresses there and what passed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    /// The interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<Interface>,
    /// The initiator as seen there.
    pub source: ObservedEnd,
    /// The responder as seen there.
    pub destination: ObservedEnd,
}

/// One end of a flow at one observation point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ObservedEnd {
    /// The address there (after or before a translation).
    #[serde(serialize_with = "crate::ip::serialize")]
    pub ip: IpAddr,
    /// The port there.
    pub port: u16,
    /// Bytes this end sent past that point (whole frames).
    pub bytes: u64,
    /// Packets this end sent past that point.
    pub packets: u64,
}

/// A translated address (ECS `source.nat.*`, `destination.nat.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Nat {
    /// The address after translation.
    #[serde(serialize_with = "crate::ip::serialize")]
    pub ip: IpAddr,
    /// The port after translation.
    pub port: u16,
}

/// `event.*` of a flow record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowEvent {
    /// First packet of the flow.
    pub start: Timestamp,
    /// Last packet of the flow seen so far.
    pub end: Timestamp,
    /// `end - start` in nanoseconds (ECS `event.duration`).
    pub duration: u64,
    /// Why this record was written.
    pub reason: EndReason,
}

/// Why a flow record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    /// TCP FIN from both sides, or RST.
    End,
    /// No packet for the idle timeout.
    IdleTimeout,
    /// The flow is still open; this is an interim record after the active timeout.
    ActiveTimeout,
    /// flowsight is stopping (signal, `--duration`, end of capture) and the flow was open.
    Shutdown,
    /// The flow table was full and this flow was evicted to make room.
    Evicted,
}

/// `network.*` of a flow record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Network {
    /// Transport protocol.
    pub transport: Transport,
    /// IP version.
    #[serde(rename = "type")]
    pub kind: NetworkType,
    /// IANA protocol number, as a string (ECS keyword): [`iana_number`]'s text, never
    /// built anew (formatting a number per flow record cost more than writing it).
    pub iana_number: &'static str,
    /// Community ID v1 flow hash (`1:` + base64 SHA-1), seed 0.
    pub community_id: String,
    /// Bytes in both directions (`source.bytes + destination.bytes`).
    pub bytes: u64,
    /// Packets in both directions.
    pub packets: u64,
    /// Outer 802.1Q VLAN tag, when the flow was tagged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<Vlan>,
}

/// `network.iana_number` of IP protocol `n`: its decimal digits.
pub fn iana_number(n: u8) -> &'static str {
    /// Every protocol number's text, in one string: "0", "1", ... "255".
    const TEXT: &str = concat!(
        "0123456789",
        "10111213141516171819202122232425262728293031323334353637383940414243444546474849",
        "50515253545556575859606162636465666768697071727374757677787980818283848586878889",
        "90919293949596979899",
        "100101102103104105106107108109110111112113114115116117118119120121122123124125126",
        "127128129130131132133134135136137138139140141142143144145146147148149150151152153",
        "154155156157158159160161162163164165166167168169170171172173174175176177178179180",
        "181182183184185186187188189190191192193194195196197198199200201202203204205206207",
        "208209210211212213214215216217218219220221222223224225226227228229230231232233234",
        "235236237238239240241242243244245246247248249250251252253254255"
    );
    let n = usize::from(n);
    let (at, len) = match n {
        0..10 => (n, 1),
        10..100 => (10 + (n - 10) * 2, 2),
        _ => (190 + (n - 100) * 3, 3),
    };
    &TEXT[at..at + len]
}

/// An 802.1Q tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Vlan {
    /// VLAN id (12 bits), as a string (ECS keyword).
    #[serde(serialize_with = "as_string")]
    pub id: u16,
}

fn as_string<S: Serializer>(v: &u16, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// The interface a flow was seen on (ECS `interface.*` field set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    /// Interface name.
    pub name: String,
    /// Interface index in its network namespace.
    pub id: u32,
}

/// Transport protocols flowsight keeps flows for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// ICMP (1).
    Icmp,
    /// ICMPv6 (58), named as ECS and IANA name it.
    #[serde(rename = "ipv6-icmp")]
    Icmpv6,
    /// SCTP (132).
    Sctp,
    /// Any other IP protocol: the number is in `network.iana_number`.
    Other,
}

impl Transport {
    /// The transport for an IP protocol number.
    pub fn from_iana(n: u8) -> Self {
        match n {
            6 => Transport::Tcp,
            17 => Transport::Udp,
            1 => Transport::Icmp,
            58 => Transport::Icmpv6,
            132 => Transport::Sctp,
            _ => Transport::Other,
        }
    }
}

/// IP version of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkType {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

/// One end of a flow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Endpoint {
    /// IP address.
    #[serde(serialize_with = "crate::ip::serialize")]
    pub ip: IpAddr,
    /// Port; for ICMP the message type (source) or code (destination), as Zeek and Community
    /// ID do.
    pub port: u16,
    /// Bytes this end sent: whole frames as seen at the observation point (what tcpdump shows
    /// there), link-layer header included.
    pub bytes: u64,
    /// Packets this end sent, counted as the kernel handed them to the interface (a GSO
    /// super-packet counts once, as in tcpdump).
    pub packets: u64,
    /// TCP flags this end sent over the flow, in the order SYN FIN RST PSH ACK URG ECE CWR.
    /// flowsight field.
    #[serde(skip_serializing_if = "TcpFlags::is_empty")]
    pub tcp_flags: TcpFlags,
    /// The local process behind this end; absent for remote ends.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Box<Owner>>,
    /// This end's address as a NAT translated it: for the source, the address the responder
    /// saw (masquerade, SNAT); for the destination, the address the connection was forwarded
    /// to (DNAT, a port forward into a container). From conntrack.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat: Option<Nat>,
}

/// A set of TCP flags, serialized as a list of names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    const NAMES: [(u8, &'static str); 8] = [
        (0x02, "SYN"),
        (0x01, "FIN"),
        (0x04, "RST"),
        (0x08, "PSH"),
        (0x10, "ACK"),
        (0x20, "URG"),
        (0x40, "ECE"),
        (0x80, "CWR"),
    ];

    /// True when no flag was seen.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// Names of the flags present.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(bit, _)| self.0 & bit != 0)
            .map(|(_, n)| n)
    }
}

impl Serialize for TcpFlags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

impl FlowRecord {
    pub(crate) fn example() -> FlowRecord {
        FlowRecord {
            timestamp: Timestamp(1_795_333_026_000_000_000),
            event: FlowEvent {
                start: Timestamp(1_795_333_025_000_000_000),
                end: Timestamp(1_795_333_025_500_000_000),
                duration: 500_000_000,
                reason: EndReason::End,
            },
            network: Network {
                transport: Transport::Tcp,
                kind: NetworkType::Ipv4,
                iana_number: iana_number(6),
                community_id: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=".into(),
                bytes: 1000,
                packets: 10,
                vlan: Some(Vlan { id: 10 }),
            },
            interface: Some(Interface {
                name: "eth0".into(),
                id: 2,
            }),
            source: Endpoint {
                ip: "10.0.0.1".parse().unwrap(),
                port: 40000,
                bytes: 400,
                packets: 5,
                tcp_flags: TcpFlags(0x1b),
                owner: Some(Box::new(Owner::example(1234))),
                nat: Some(Nat {
                    ip: "192.0.2.10".parse().unwrap(),
                    port: 61000,
                }),
            },
            destination: Endpoint {
                ip: "10.0.0.2".parse().unwrap(),
                port: 80,
                bytes: 600,
                packets: 5,
                tcp_flags: TcpFlags(0x12),
                owner: Some(Box::new(Owner::example(1300))),
                nat: Some(Nat {
                    ip: "172.17.0.2".parse().unwrap(),
                    port: 8080,
                }),
            },
            observations: vec![Observation {
                interface: Some(Interface {
                    name: "eth0".into(),
                    id: 2,
                }),
                source: ObservedEnd {
                    ip: "192.0.2.10".parse().unwrap(),
                    port: 61000,
                    bytes: 400,
                    packets: 5,
                },
                destination: ObservedEnd {
                    ip: "10.0.0.2".parse().unwrap(),
                    port: 80,
                    bytes: 600,
                    packets: 5,
                },
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_number_reads_as_its_decimal_text() {
        for n in 0..=u8::MAX {
            assert_eq!(iana_number(n), n.to_string());
        }
    }

    #[test]
    fn tcp_flags_serialize_as_names() {
        let v = serde_json::to_value(TcpFlags(0x13)).unwrap();
        assert_eq!(v, serde_json::json!(["SYN", "FIN", "ACK"]));
    }

    #[test]
    fn owner_is_flattened_into_the_endpoint() {
        let v = serde_json::to_value(FlowRecord::example()).unwrap();
        assert_eq!(v["source"]["process"]["name"], "curl");
        assert_eq!(v["source"]["user"]["id"], "1000");
        assert_eq!(v["destination"]["container"]["runtime"], "docker");
        assert_eq!(v["network"]["type"], "ipv4");
        assert_eq!(v["network"]["vlan"]["id"], "10");
    }

    #[test]
    fn remote_end_has_no_owner_fields() {
        let mut r = FlowRecord::example();
        r.destination.owner = None;
        let v = serde_json::to_value(r).unwrap();
        assert!(v["destination"].get("process").is_none());
        assert!(v["destination"].get("user").is_none());
    }
}
