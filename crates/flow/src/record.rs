//! Turning a flow into its record: direction, Community ID, owners.

use crate::table::{Flow, Initiator, SocketRef};
use crate::{Clock, community_id, icmp};
use flowsight_record::{
    EndReason, Endpoint, FlowEvent, FlowRecord, Interface, Network, NetworkType, Owner, TcpFlags,
    Timestamp, Transport, Vlan,
};
use std::net::IpAddr;

/// The side a local socket played.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It connected (or sent first).
    Client,
    /// It was accepted from a listener.
    Server,
}

/// Who owns local endpoints; live mode implements it over the host's process and socket
/// tables, capture files have none ([`NoAttribution`]).
pub trait Attribution {
    /// The owner of the endpoint `local` of a flow with `remote`, from its socket when the
    /// kernel named one, else from whatever the implementation knows of the address.
    fn owner(
        &mut self,
        socket: Option<SocketRef>,
        local: (IpAddr, u16),
        remote: (IpAddr, u16),
        protocol: u8,
    ) -> Option<Owner>;

    /// Whether a socket connected or was accepted, when known.
    fn role(&mut self, socket: SocketRef) -> Option<Role>;
}

/// No attribution (capture files).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAttribution;

impl Attribution for NoAttribution {
    fn owner(
        &mut self,
        _: Option<SocketRef>,
        _: (IpAddr, u16),
        _: (IpAddr, u16),
        _: u8,
    ) -> Option<Owner> {
        None
    }

    fn role(&mut self, _: SocketRef) -> Option<Role> {
        None
    }
}

/// Registered ports above 1023 that are almost always a server's (HTTP alternates and
/// proxies, SIP-TLS, databases and caches, SOCKS): a connection seen without its SYN is
/// turned around to face them, as Zeek's likely-server-ports do.
const SERVICE_PORTS: &[u16] = &[
    1080, 1433, 1521, 2049, 3128, 3306, 3389, 5060, 5061, 5432, 5672, 5900, 6379, 6443, 8000, 8008,
    8080, 8081, 8443, 8888, 9092, 9200, 11211, 27017,
];

/// Index of the endpoint that started the flow.
///
/// A SYN decides for TCP. Without one (the connection predates the capture), a listener or an
/// accepted socket marks the server, then a port below 1024 (or a well-known service port
/// above it) facing an ephemeral one does, then the first packet seen. For UDP and ICMP the first sender is the source, as the schema says.
pub fn initiator<X>(flow: &Flow<X>, attribution: &mut dyn Attribution) -> usize {
    let st = &flow.stats;
    match st.initiator {
        Initiator::Syn(i) => return i & 1,
        _ if flow.key.protocol != 6 => {
            return match st.initiator {
                Initiator::FirstPacket(i) => i & 1,
                _ => 0,
            };
        }
        _ => {}
    }
    for i in 0..2 {
        if let Some(s) = st.sockets[i] {
            if s.listener {
                return i ^ 1;
            }
            match attribution.role(s) {
                Some(Role::Server) => return i ^ 1,
                Some(Role::Client) => return i,
                None => {}
            }
        }
    }
    let p = flow.key.port;
    let server_like = |port: u16| port < 1024 || SERVICE_PORTS.contains(&port);
    if server_like(p[0]) && !server_like(p[1]) {
        return 1;
    }
    if server_like(p[1]) && !server_like(p[0]) {
        return 0;
    }
    match st.initiator {
        Initiator::FirstPacket(i) => i & 1,
        _ => 0,
    }
}

/// The record for `flow`, written at `now` for `reason`. `known_id` is the flow's
/// Community ID when its owner already computed one, with the endpoint it took as the
/// source: a SHA-1 per flow saved when that is still the source.
pub fn flow_record<X>(
    flow: &Flow<X>,
    reason: EndReason,
    now: Timestamp,
    clock: &Clock,
    interface: Option<Interface>,
    attribution: &mut dyn Attribution,
    known_id: Option<(usize, String)>,
) -> FlowRecord {
    let k = &flow.key;
    let st = &flow.stats;
    let src = initiator(flow, attribution);
    let dst = src ^ 1;
    let v6 = k.is_v6();
    let one_way = matches!(k.protocol, 1 | 58) && icmp::is_one_way(k.port[src], k.port[dst], v6);
    let start = clock.wall(st.first_ns);
    let end = clock.wall(st.last_ns.max(st.first_ns));
    let mut endpoint = |i: usize| Endpoint {
        ip: k.addr[i],
        port: k.port[i],
        bytes: st.bytes[i],
        packets: st.packets[i],
        tcp_flags: TcpFlags(st.tcp_flags[i]),
        owner: attribution
            .owner(st.sockets[i], k.endpoint(i), k.endpoint(i ^ 1), k.protocol)
            .map(Box::new),
        nat: None,
    };
    let source = endpoint(src);
    let destination = endpoint(dst);
    FlowRecord {
        timestamp: now,
        event: FlowEvent {
            start,
            end,
            duration: end.nanos_since(start),
            reason,
        },
        network: Network {
            transport: Transport::from_iana(k.protocol),
            kind: if v6 {
                NetworkType::Ipv6
            } else {
                NetworkType::Ipv4
            },
            iana_number: flowsight_record::iana_number(k.protocol),
            community_id: match known_id {
                Some((source, id)) if source == src => id,
                _ => community_id(k.endpoint(src), k.endpoint(dst), k.protocol, one_way),
            },
            bytes: st.bytes[0] + st.bytes[1],
            packets: st.packets[0] + st.packets[1],
            vlan: (k.vlan != 0).then_some(Vlan { id: k.vlan }),
        },
        interface,
        source,
        destination,
        observations: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FlowKey, FlowTable, Timeouts};

    fn flow_with(protocol: u8, ports: (u16, u16), first_sender_is_a: bool) -> Flow {
        let a = ("10.0.0.2".parse().unwrap(), ports.0);
        let b = ("10.0.0.1".parse().unwrap(), ports.1);
        let (k, sa) = FlowKey::from_packet(a, b, protocol, 1, 0);
        let mut t: FlowTable = FlowTable::new(Timeouts::default());
        let first = if first_sender_is_a { sa } else { sa ^ 1 };
        t.packet(k, first, 1_000, 100, 0x10);
        t.packet(k, first ^ 1, 2_000, 50, 0x10);
        t.get(&k).unwrap().clone()
    }

    #[test]
    fn mid_stream_tcp_takes_the_low_port_as_server() {
        // First packet seen came from the server (port 80): the heuristic still names the
        // client as the source.
        let f = flow_with(6, (40000, 80), false);
        let r = flow_record(
            &f,
            EndReason::Shutdown,
            Timestamp(0),
            &Clock::identity(),
            None,
            &mut NoAttribution,
            None,
        );
        assert_eq!(r.source.port, 40000);
        assert_eq!(r.destination.port, 80);
        assert_eq!(r.network.transport, Transport::Tcp);
        assert_eq!(r.network.bytes, 150);
        assert_eq!(r.event.duration, 1_000);
    }

    #[test]
    fn a_known_community_id_is_taken_only_for_the_same_source() {
        let f = flow_with(6, (40000, 80), true);
        let write = |known| {
            flow_record(
                &f,
                EndReason::End,
                Timestamp(0),
                &Clock::identity(),
                None,
                &mut NoAttribution,
                known,
            )
        };
        let computed = write(None).network.community_id;
        assert_eq!(computed, "1:wiztte4BBo/nz6LuCKq48Eb9IM8=");
        let src = f.key.port.iter().position(|&p| p == 40000).unwrap();
        assert_eq!(write(Some((src, "1:x".into()))).network.community_id, "1:x");
        assert_eq!(
            write(Some((src ^ 1, "1:x".into()))).network.community_id,
            computed
        );
    }

    #[test]
    fn udp_source_is_the_first_sender() {
        let f = flow_with(17, (5353, 53), true);
        let r = flow_record(
            &f,
            EndReason::IdleTimeout,
            Timestamp(0),
            &Clock::identity(),
            None,
            &mut NoAttribution,
            None,
        );
        assert_eq!(r.source.port, 5353);
        let f = flow_with(17, (5353, 53), false);
        let r = flow_record(
            &f,
            EndReason::IdleTimeout,
            Timestamp(0),
            &Clock::identity(),
            None,
            &mut NoAttribution,
            None,
        );
        assert_eq!(r.source.port, 53);
    }
}
