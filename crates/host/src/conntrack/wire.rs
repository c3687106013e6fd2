//! The netlink messages of ctnetlink (`NFNL_SUBSYS_CTNETLINK`), encoded and decoded by hand.
//!
//! A message is a netlink header, a `struct nfgenmsg` (family, version, resource id) and
//! netlink attributes (`linux/netfilter/nfnetlink_conntrack.h`). A connection carries its two
//! tuples as nested attributes: `CTA_TUPLE_ORIG` (as the initiator sent it) and
//! `CTA_TUPLE_REPLY` (as the reply comes back: after a NAT, the translated addresses), each
//! with `CTA_TUPLE_IP` (addresses) and `CTA_TUPLE_PROTO` (protocol and ports). Integers in
//! attributes are in network order; the netlink header is in host order. Every read is
//! bounds-checked against the lengths the message gives, so a short or lying message is an
//! error, never a panic.

use super::{Connection, ConntrackError, Tuple};
pub use crate::netlink::{DUMP_REQUEST_FLAGS, Message, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `sizeof(struct nfgenmsg)`.
pub const NFGENMSG_LEN: usize = 4;
/// `NFNL_SUBSYS_CTNETLINK`, the high byte of a ctnetlink message type.
pub const NFNL_SUBSYS_CTNETLINK: u16 = 1;
/// `IPCTNL_MSG_CT_NEW`: a new (or, without `NLM_F_CREATE`, updated) connection.
pub const IPCTNL_MSG_CT_NEW: u16 = 0;
/// `IPCTNL_MSG_CT_GET`: the dump request.
pub const IPCTNL_MSG_CT_GET: u16 = 1;
/// `IPCTNL_MSG_CT_DELETE`: a destroyed connection.
pub const IPCTNL_MSG_CT_DELETE: u16 = 2;
/// `NFNLGRP_CONNTRACK_NEW` (1) and `NFNLGRP_CONNTRACK_DESTROY` (3) as a bind(2) group mask
/// (group N is bit N - 1).
pub const GROUPS_NEW_DESTROY: u32 = 0b001 | 0b100;

const NLA_TYPE_MASK: u16 = 0x3fff;
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_TUPLE_REPLY: u16 = 2;
const CTA_STATUS: u16 = 3;
const CTA_ID: u16 = 12;
const CTA_ZONE: u16 = 18;
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_SRC: u16 = 3;
const CTA_IP_V6_DST: u16 = 4;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;
const CTA_PROTO_ICMP_TYPE: u16 = 5;
const CTA_PROTO_ICMP_CODE: u16 = 6;
const CTA_PROTO_ICMPV6_TYPE: u16 = 8;
const CTA_PROTO_ICMPV6_CODE: u16 = 9;

/// A dump request for every connection of every family.
pub fn dump_request(seq: u32) -> [u8; NLMSG_HDRLEN + NFGENMSG_LEN] {
    let mut m = [0u8; NLMSG_HDRLEN + NFGENMSG_LEN];
    m[0..4].copy_from_slice(&((NLMSG_HDRLEN + NFGENMSG_LEN) as u32).to_ne_bytes());
    let kind = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET;
    m[4..6].copy_from_slice(&kind.to_ne_bytes());
    m[6..8].copy_from_slice(&DUMP_REQUEST_FLAGS.to_ne_bytes());
    m[8..12].copy_from_slice(&seq.to_ne_bytes());
    // nfgenmsg: AF_UNSPEC (every family), NFNETLINK_V0, resource id 0.
    m
}

/// Split a datagram into its netlink messages.
pub fn messages(buf: &[u8]) -> impl Iterator<Item = Result<Message<'_>, ConntrackError>> {
    crate::netlink::messages(buf).map(|m| m.map_err(ConntrackError::Malformed))
}

/// The error number of an `NLMSG_ERROR` payload (a negative errno, 0 for an ack).
pub fn error_code(payload: &[u8]) -> Result<i32, ConntrackError> {
    crate::netlink::error_code(payload).map_err(ConntrackError::Malformed)
}

/// The attributes in `buf`: (type without the NLA_F_* bits, value).
fn attributes(mut buf: &[u8]) -> impl Iterator<Item = Result<(u16, &[u8]), ConntrackError>> {
    std::iter::from_fn(move || {
        if buf.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([buf[0], buf[1]]));
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > buf.len() {
            buf = &[];
            return Some(Err(ConntrackError::Malformed("netlink attribute length")));
        }
        let value = &buf[4..len];
        buf = buf.get(len.next_multiple_of(4)..).unwrap_or(&[]);
        Some(Ok((kind, value)))
    })
}

fn be16(v: &[u8], what: &'static str) -> Result<u16, ConntrackError> {
    Ok(u16::from_be_bytes(
        v.get(..2)
            .ok_or(ConntrackError::Malformed(what))?
            .try_into()
            .unwrap(),
    ))
}

fn be32(v: &[u8], what: &'static str) -> Result<u32, ConntrackError> {
    Ok(u32::from_be_bytes(
        v.get(..4)
            .ok_or(ConntrackError::Malformed(what))?
            .try_into()
            .unwrap(),
    ))
}

fn ip(v: &[u8]) -> Result<IpAddr, ConntrackError> {
    match v.len() {
        4 => Ok(IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3]))),
        16 => Ok(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(v).unwrap()))),
        _ => Err(ConntrackError::Malformed("tuple address")),
    }
}

/// A `CTA_TUPLE_*` nest. ICMP and ICMPv6 tuples carry the message type as the source port and
/// the code as the destination port (conntrack's identifier is left out: flow keys do not have
/// it; `flowsight_flow::icmp` turns type and code into a flow key's ports).
fn tuple(nest: &[u8]) -> Result<Tuple, ConntrackError> {
    let (mut src, mut dst, mut proto) = (None, None, None);
    let (mut sport, mut dport) = (0, 0);
    let byte = |v: &[u8], what| v.first().copied().ok_or(ConntrackError::Malformed(what));
    for a in attributes(nest) {
        let (kind, value) = a?;
        match kind {
            CTA_TUPLE_IP => {
                for a in attributes(value) {
                    let (kind, value) = a?;
                    match kind {
                        CTA_IP_V4_SRC | CTA_IP_V6_SRC => src = Some(ip(value)?),
                        CTA_IP_V4_DST | CTA_IP_V6_DST => dst = Some(ip(value)?),
                        _ => {}
                    }
                }
            }
            CTA_TUPLE_PROTO => {
                for a in attributes(value) {
                    let (kind, value) = a?;
                    match kind {
                        CTA_PROTO_NUM => proto = Some(byte(value, "protocol")?),
                        CTA_PROTO_SRC_PORT => sport = be16(value, "source port")?,
                        CTA_PROTO_DST_PORT => dport = be16(value, "destination port")?,
                        CTA_PROTO_ICMP_TYPE | CTA_PROTO_ICMPV6_TYPE => {
                            sport = u16::from(byte(value, "icmp type")?)
                        }
                        CTA_PROTO_ICMP_CODE | CTA_PROTO_ICMPV6_CODE => {
                            dport = u16::from(byte(value, "icmp code")?)
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    match (src, dst, proto) {
        (Some(src), Some(dst), Some(protocol)) => Ok(Tuple {
            protocol,
            src: (src, sport),
            dst: (dst, dport),
        }),
        _ => Err(ConntrackError::Malformed("incomplete tuple")),
    }
}

/// Decode the payload (after the netlink header) of a ctnetlink connection message.
pub fn connection(payload: &[u8]) -> Result<Connection, ConntrackError> {
    let attrs = payload
        .get(NFGENMSG_LEN..)
        .ok_or(ConntrackError::Malformed("nfgenmsg"))?;
    let (mut orig, mut reply) = (None, None);
    let (mut id, mut status, mut zone) = (0, 0, 0);
    for a in attributes(attrs) {
        let (kind, value) = a?;
        match kind {
            CTA_TUPLE_ORIG => orig = Some(tuple(value)?),
            CTA_TUPLE_REPLY => reply = Some(tuple(value)?),
            CTA_STATUS => status = be32(value, "status")?,
            CTA_ID => id = be32(value, "id")?,
            CTA_ZONE => zone = be16(value, "zone")?,
            _ => {}
        }
    }
    match (orig, reply) {
        (Some(orig), Some(reply)) => Ok(Connection {
            id,
            status,
            zone,
            orig,
            reply,
        }),
        _ => Err(ConntrackError::Malformed("connection without both tuples")),
    }
}
