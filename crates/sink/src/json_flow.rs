//! The flow record as JSON, written by hand for its common form.
//!
//! Flow records are most of what `flowsight read` writes (125,000 of 231,000 records on the
//! 1.5M-packet synthetic capture), and without owners, NAT or observations (a capture has
//! none) every field is a number or text that needs no escaping. Written here field by
//! field, such a record takes 9% fewer instructions of the whole run than through serde's
//! walk (callgrind; ~3% less time in alternating runs: the time is mostly memory). Any other
//! flow record goes through serde; a test holds the two to the same bytes.

use crate::json_text::{network_type, num, open_end, timestamp as ts, transport, vlan};
use flowsight_record::{EndReason, Endpoint, FlowRecord};

/// `source` or `destination` without owner or NAT: address text, numbers, flag names.
fn end(out: &mut Vec<u8>, e: &Endpoint) {
    open_end(out, &e.ip, e.port);
    out.extend_from_slice(b",\"bytes\":");
    num(out, e.bytes);
    out.extend_from_slice(b",\"packets\":");
    num(out, e.packets);
    if !e.tcp_flags.is_empty() {
        out.extend_from_slice(b",\"tcp_flags\":[");
        for (i, n) in e.tcp_flags.names().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(n.as_bytes());
            out.push(b'"');
        }
        out.push(b']');
    }
    out.push(b'}');
}

/// Appends the record of `f` as serde writes it when it has no interface, owners, NAT or
/// observations, and returns true; otherwise writes nothing and returns
/// false.
pub(crate) fn write(out: &mut Vec<u8>, f: &FlowRecord) -> bool {
    if f.interface.is_some()
        || !f.observations.is_empty()
        || f.source.owner.is_some()
        || f.destination.owner.is_some()
        || f.source.nat.is_some()
        || f.destination.nat.is_some()
    {
        return false;
    }
    out.extend_from_slice(b"{\"type\":\"flow\",\"@timestamp\":");
    ts(out, f.timestamp);
    out.extend_from_slice(b",\"event\":{\"start\":");
    ts(out, f.event.start);
    out.extend_from_slice(b",\"end\":");
    ts(out, f.event.end);
    out.extend_from_slice(b",\"duration\":");
    num(out, f.event.duration);
    out.extend_from_slice(b",\"reason\":\"");
    out.extend_from_slice(match f.event.reason {
        EndReason::End => b"end".as_slice(),
        EndReason::IdleTimeout => b"idle-timeout",
        EndReason::ActiveTimeout => b"active-timeout",
        EndReason::Shutdown => b"shutdown",
        EndReason::Evicted => b"evicted",
    });
    out.extend_from_slice(b"\"},\"network\":{\"transport\":\"");
    out.extend_from_slice(transport(f.network.transport));
    out.extend_from_slice(b"\",\"type\":\"");
    out.extend_from_slice(network_type(f.network.kind));
    out.extend_from_slice(b"\",\"iana_number\":\"");
    out.extend_from_slice(f.network.iana_number.as_bytes());
    out.extend_from_slice(b"\",\"community_id\":\"");
    out.extend_from_slice(f.network.community_id.as_bytes());
    out.extend_from_slice(b"\",\"bytes\":");
    num(out, f.network.bytes);
    out.extend_from_slice(b",\"packets\":");
    num(out, f.network.packets);
    vlan(out, f.network.vlan);
    out.extend_from_slice(b"},\"source\":");
    end(out, &f.source);
    out.extend_from_slice(b",\"destination\":");
    end(out, &f.destination);
    out.push(b'}');
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowsight_record::{NetworkType, Record, TcpFlags, Timestamp, Transport, Vlan};

    fn plain() -> FlowRecord {
        let Record::Flow(mut f) = Record::examples().into_iter().next().unwrap() else {
            unreachable!("the first example is a flow record")
        };
        f.interface = None;
        f.observations.clear();
        for e in [&mut f.source, &mut f.destination] {
            e.owner = None;
            e.nat = None;
        }
        f
    }

    fn same(f: FlowRecord) {
        let mut ours = Vec::new();
        assert!(write(&mut ours, &f), "{f:?}");
        let serde = sonic_rs::to_string(&Record::Flow(f)).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), serde);
    }

    /// Every value each field can take, against serde's bytes.
    #[test]
    fn writes_what_serde_writes() {
        same(plain());
        let reasons = [
            EndReason::End,
            EndReason::IdleTimeout,
            EndReason::ActiveTimeout,
            EndReason::Shutdown,
            EndReason::Evicted,
        ];
        let transports = [
            Transport::Tcp,
            Transport::Udp,
            Transport::Icmp,
            Transport::Icmpv6,
            Transport::Sctp,
            Transport::Other,
        ];
        for (i, reason) in reasons.into_iter().enumerate() {
            for (j, transport) in transports.into_iter().enumerate() {
                let mut f = plain();
                f.event.reason = reason;
                f.network.transport = transport;
                f.network.kind = if j % 2 == 0 {
                    NetworkType::Ipv4
                } else {
                    NetworkType::Ipv6
                };
                f.network.vlan = (i % 2 == 0).then_some(Vlan { id: 4094 });
                f.timestamp = Timestamp(u64::MAX - i as u64);
                f.event.duration = u64::MAX;
                f.source.tcp_flags = TcpFlags((i * 51 + j) as u8);
                f.destination.tcp_flags = TcpFlags(0);
                f.source.ip = "2001:db8::1".parse().unwrap();
                f.destination.ip = "::ffff:10.0.0.1".parse().unwrap();
                f.source.port = 0;
                f.destination.bytes = u64::MAX;
                same(f);
            }
        }
    }

    #[test]
    fn anything_else_is_left_to_serde() {
        let Record::Flow(full) = Record::examples().into_iter().next().unwrap() else {
            unreachable!()
        };
        let mut out = Vec::new();
        assert!(!write(&mut out, &full));
        let mut f = plain();
        f.source.owner = full.source.owner.clone();
        assert!(!write(&mut out, &f));
        let mut f = plain();
        f.interface = full.interface.clone();
        assert!(!write(&mut out, &f));
        assert!(out.is_empty());
    }
}
