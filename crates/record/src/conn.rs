//! The connection context every protocol record carries.

use crate::{Interface, NetworkType, Owner, Transport, Vlan};
use serde::Serialize;
use std::net::IpAddr;

/// Which flow a protocol record belongs to, flattened into the record: `network.*`,
/// `source.*`, `destination.*` and `interface.*`, with the same names and meaning as in the
/// flow record, so protocol records join flow records on `network.community_id`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conn {
    /// Protocol-level description of the flow.
    pub network: ConnNetwork,
    /// The client (the flow's initiator).
    pub source: Peer,
    /// The server.
    pub destination: Peer,
    /// The interface the traffic was seen on (live mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<Interface>,
}

/// `network.*` of a protocol record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnNetwork {
    /// Transport protocol.
    pub transport: Transport,
    /// IP version.
    #[serde(rename = "type")]
    pub kind: NetworkType,
    /// The application protocol of this record: `http`, `dns`, `tls` or `quic` (ECS
    /// `network.protocol`).
    pub protocol: &'static str,
    /// Community ID v1 of the flow.
    pub community_id: String,
    /// Outer 802.1Q VLAN tag, when tagged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<Vlan>,
}

/// One end of the connection of a protocol record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Peer {
    /// IP address.
    #[serde(serialize_with = "crate::ip::serialize")]
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
    /// The local process behind this end (live mode, local ends only).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Box<Owner>>,
}

impl Conn {
    pub(crate) fn example(protocol: &'static str, transport: Transport, port: u16) -> Conn {
        Conn {
            network: ConnNetwork {
                transport,
                kind: NetworkType::Ipv4,
                protocol,
                community_id: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=".into(),
                vlan: Some(Vlan { id: 10 }),
            },
            source: Peer {
                ip: "10.0.0.1".parse().unwrap(),
                port: 40000,
                owner: Some(Box::new(Owner::example(1234))),
            },
            destination: Peer {
                ip: "10.0.0.2".parse().unwrap(),
                port,
                owner: Some(Box::new(Owner::example(1300))),
            },
            interface: Some(Interface {
                name: "eth0".into(),
                id: 2,
            }),
        }
    }
}
