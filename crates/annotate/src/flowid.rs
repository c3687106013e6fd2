//! A packet's flow, from its bytes.

use flowsight_flow::{community_id, icmp::icmp_ports};
use flowsight_pcapfile::LinkType;
use flowsight_wire::{L4, decode};
use std::net::IpAddr;

/// The flow a packet belongs to, in the packet's direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketFlow {
    /// Sender (address, port; for ICMP the Community ID port equivalents).
    pub src: (IpAddr, u16),
    /// Receiver.
    pub dst: (IpAddr, u16),
    /// IP protocol number.
    pub protocol: u8,
    /// Community ID v1, seed 0, as in flowsight's records.
    pub community_id: String,
}

/// The flow of a frame of link type `link` (the innermost IP packet for tunnels); None for
/// frames that are not IP or do not decode.
pub fn packet_flow(link: LinkType, data: &[u8]) -> Option<PacketFlow> {
    let d = decode(link.to_wire(), data).ok()?;
    let ip = d.ip?;
    let protocol = u8::from(ip.protocol);
    let (sport, dport, one_way) = match d.l4 {
        L4::Tcp(t) => (t.src_port, t.dst_port, false),
        L4::Udp(u) => (u.src_port, u.dst_port, false),
        L4::Icmp(i) => icmp_ports(i.msg_type, i.code, ip.src.is_ipv6()),
        _ => (0, 0, false),
    };
    let src = (ip.src, sport);
    let dst = (ip.dst, dport);
    Some(PacketFlow {
        src,
        dst,
        protocol,
        community_id: community_id(src, dst, protocol, one_way),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_flow_of_an_ethernet_frame() {
        // The Community ID spec's example flow: 128.232.110.120:34855 -> 66.35.250.204:80 TCP.
        let mut f = vec![0u8; 14 + 20 + 20];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&40u16.to_be_bytes());
        f[22] = 64;
        f[23] = 6;
        f[26..30].copy_from_slice(&[128, 232, 110, 120]);
        f[30..34].copy_from_slice(&[66, 35, 250, 204]);
        f[34..36].copy_from_slice(&34855u16.to_be_bytes());
        f[36..38].copy_from_slice(&80u16.to_be_bytes());
        f[46] = 0x50;
        let p = packet_flow(LinkType::ETHERNET, &f).unwrap();
        assert_eq!(p.community_id, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
        assert_eq!((p.src.1, p.dst.1, p.protocol), (34855, 80, 6));
        assert!(packet_flow(LinkType::ETHERNET, &f[..10]).is_none());
    }
}
