//! The netlink messages of an inet_diag dump, encoded and decoded by hand.
//!
//! A request is a netlink header followed by `struct inet_diag_req_v2`; each reply is a
//! header followed by `struct inet_diag_msg` and netlink attributes, until `NLMSG_DONE`. The
//! layouts are fixed by the kernel's UAPI (`linux/netlink.h`, `linux/inet_diag.h`), in host
//! byte order except ports and addresses, which are in network order. Every read below is
//! bounds-checked once against the lengths here, so a short or lying message is an error,
//! never a panic.

use super::{DiagSocket, SockDiagError};
pub use crate::netlink::{DUMP_REQUEST_FLAGS, Message, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// `SOCK_DIAG_BY_FAMILY`: the request (and reply) type of sock_diag.
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `NLM_F_DUMP_INTR`: the dump was inconsistent (the table changed during it).
pub const NLM_F_DUMP_INTR: u16 = 0x0010;
/// `INET_DIAG_CGROUP_ID`: the cgroup v2 id of the socket's creator (Linux 5.9+).
pub const INET_DIAG_CGROUP_ID: u16 = 21;

/// `sizeof(struct inet_diag_req_v2)`.
pub const REQ_V2_LEN: usize = 56;
/// `sizeof(struct inet_diag_msg)`.
pub const DIAG_MSG_LEN: usize = 72;
/// Every TCP state (`1 << TCP_ESTABLISHED` .. `1 << TCP_NEW_SYN_RECV`); UDP sockets report
/// ESTABLISHED when connected and CLOSE otherwise.
pub const ALL_STATES: u32 = !0;

/// Field offsets of `struct inet_diag_msg` (the socket id at 4 is `struct inet_diag_sockid`).
mod field {
    pub const FAMILY: usize = 0;
    pub const STATE: usize = 1;
    pub const SPORT: usize = 4;
    pub const DPORT: usize = 6;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
    pub const COOKIE: usize = 44;
    pub const UID: usize = 64;
    pub const INODE: usize = 68;
}

/// A dump request for every socket of one family and protocol.
pub fn dump_request(family: u8, protocol: u8, seq: u32) -> [u8; NLMSG_HDRLEN + REQ_V2_LEN] {
    let mut m = [0u8; NLMSG_HDRLEN + REQ_V2_LEN];
    m[0..4].copy_from_slice(&((NLMSG_HDRLEN + REQ_V2_LEN) as u32).to_ne_bytes());
    m[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    m[6..8].copy_from_slice(&DUMP_REQUEST_FLAGS.to_ne_bytes());
    m[8..12].copy_from_slice(&seq.to_ne_bytes());
    // nlmsg_pid 0: the kernel assigns our port id.
    let r = &mut m[NLMSG_HDRLEN..];
    r[0] = family;
    r[1] = protocol;
    // r[2] idiag_ext: no extensions; r[3] pad.
    r[4..8].copy_from_slice(&ALL_STATES.to_ne_bytes());
    // The socket id (48 bytes) stays zero: a dump matches everything.
    m
}

/// Split a datagram into its netlink messages.
pub fn messages(buf: &[u8]) -> impl Iterator<Item = Result<Message<'_>, SockDiagError>> {
    crate::netlink::messages(buf).map(|m| m.map_err(SockDiagError::Malformed))
}

/// The error number of an `NLMSG_ERROR` payload (a negative errno, 0 for an ack).
pub fn error_code(payload: &[u8]) -> Result<i32, SockDiagError> {
    crate::netlink::error_code(payload).map_err(SockDiagError::Malformed)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().unwrap())
}

fn addr(family: u8, bytes: &[u8], port: u16) -> Result<SocketAddr, SockDiagError> {
    let ip = match i32::from(family) {
        libc::AF_INET => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        libc::AF_INET6 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&bytes[..16]).unwrap())),
        _ => return Err(SockDiagError::Malformed("address family")),
    };
    Ok(SocketAddr::new(ip, port))
}

/// Decode the payload of one `SOCK_DIAG_BY_FAMILY` reply of a `protocol` dump.
pub fn diag_socket(payload: &[u8], protocol: u8) -> Result<DiagSocket, SockDiagError> {
    let m = payload
        .get(..DIAG_MSG_LEN)
        .ok_or(SockDiagError::Malformed("inet_diag_msg"))?;
    let family = m[field::FAMILY];
    let sport = u16::from_be_bytes([m[field::SPORT], m[field::SPORT + 1]]);
    let dport = u16::from_be_bytes([m[field::DPORT], m[field::DPORT + 1]]);
    // The kernel stores the 64-bit cookie as two host-order u32 halves, low half first.
    let cookie =
        u64::from(u32_at(m, field::COOKIE)) | u64::from(u32_at(m, field::COOKIE + 4)) << 32;
    let mut cgroup_id = None;
    let mut attrs = &payload[DIAG_MSG_LEN..];
    while attrs.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([attrs[0], attrs[1]]));
        let kind = u16::from_ne_bytes([attrs[2], attrs[3]]) & 0x3fff; // minus NLA_F_* bits
        if len < 4 || len > attrs.len() {
            return Err(SockDiagError::Malformed("netlink attribute length"));
        }
        if kind == INET_DIAG_CGROUP_ID && len == 12 {
            cgroup_id = Some(u64::from_ne_bytes(attrs[4..12].try_into().unwrap()));
        }
        attrs = attrs.get(len.next_multiple_of(4)..).unwrap_or(&[]);
    }
    Ok(DiagSocket {
        cookie,
        protocol,
        family,
        state: m[field::STATE],
        local: addr(family, &m[field::SRC..field::SRC + 16], sport)?,
        remote: addr(family, &m[field::DST..field::DST + 16], dport)?,
        uid: u32_at(m, field::UID),
        inode: u64::from(u32_at(m, field::INODE)),
        cgroup_id,
    })
}
