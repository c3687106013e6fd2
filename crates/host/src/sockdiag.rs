//! Sockets open before flowsight started: sock_diag and `/proc/*/fd`.
//!
//! The BPF programs stamp a socket's owner when it is created, connected, accepted or first
//! used, keyed by the socket cookie. Sockets that already existed when flowsight started have
//! no stamp; [`dump_sockets`] lists every TCP and UDP socket through `NETLINK_SOCK_DIAG`
//! (inet_diag), with the same cookie (`idiag_cookie` is `bpf_get_socket_cookie`'s number) and
//! the socket's inode, and [`socket_inode_owners`] finds which process holds each inode by
//! reading the `socket:[N]` links in `/proc/PID/fd`. Together they attribute connections that
//! predate flowsight.
//!
//! sock_diag is per network namespace: a dump lists the sockets of the namespace of the thread
//! that opened the netlink socket (the one calling [`dump_sockets`]). To see another
//! namespace's sockets, call it from a thread that has `setns(2)`'d into it. `/proc/PID/fd`
//! has no such limit, so inodes of other namespaces' sockets simply find no diag entry.
//!
//! The netlink messages are encoded and decoded by hand ([`wire`]): four fixed-layout structs
//! did not justify a dependency.

pub mod wire;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::Duration;

/// Receive buffer per `recv`: the kernel's dump messages are at most 32 KiB.
const RECV_BUF: usize = 64 * 1024;
/// How long a reply may take before the dump is abandoned.
const RECV_TIMEOUT: Duration = Duration::from_secs(5);
/// Dumps retried when the kernel flags one as inconsistent.
const DUMP_TRIES: usize = 3;

/// Errors listing sockets through sock_diag.
#[derive(Debug, thiserror::Error)]
pub enum SockDiagError {
    /// The netlink socket could not be created or configured.
    #[error("opening a NETLINK_SOCK_DIAG socket: {0}")]
    Socket(#[source] io::Error),
    /// Sending the dump request failed.
    #[error("sending a sock_diag request: {0}")]
    Send(#[source] io::Error),
    /// Receiving the reply failed (including the reply timing out).
    #[error("receiving a sock_diag reply: {0}")]
    Recv(#[source] io::Error),
    /// The kernel refused the dump (e.g. ENOENT when the protocol's diag module is missing).
    #[error("sock_diag dump of family {family} protocol {protocol}: {source}")]
    Kernel {
        /// Address family asked for.
        family: u8,
        /// Protocol asked for.
        protocol: u8,
        /// The kernel's error.
        source: io::Error,
    },
    /// A reply did not have the layout of its type.
    #[error("malformed sock_diag reply: {0}")]
    Malformed(&'static str),
}

/// One socket as inet_diag reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DiagSocket {
    /// Socket cookie: the number `bpf_get_socket_cookie` returns for this socket.
    pub cookie: u64,
    /// IPPROTO_TCP (6) or IPPROTO_UDP (17).
    pub protocol: u8,
    /// AF_INET (2) or AF_INET6 (10).
    pub family: u8,
    /// TCP state number (`TCP_ESTABLISHED` = 1 ... `TCP_LISTEN` = 10, `TCP_NEW_SYN_RECV` =
    /// 12); UDP sockets are ESTABLISHED (1) when connected, CLOSE (7) otherwise.
    pub state: u8,
    /// Local address and port (the wildcard address for an unbound one).
    pub local: SocketAddr,
    /// Remote address and port; port 0 when not connected.
    pub remote: SocketAddr,
    /// Owner uid of the socket (the creator's, as `ss -e` shows it).
    pub uid: u32,
    /// Socket inode; 0 for sockets no file refers to (TIME_WAIT, request sockets, orphans).
    pub inode: u64,
    /// cgroup v2 id of the socket's creator, when the kernel reports it (Linux 5.9+).
    pub cgroup_id: Option<u64>,
}

/// Every TCP and UDP socket, IPv4 and IPv6, in all states, of the calling thread's network
/// namespace. A protocol the kernel cannot dump (its diag module is missing) is skipped with a
/// warning; the call fails only when nothing could be dumped.
pub fn dump_sockets() -> Result<Vec<DiagSocket>, SockDiagError> {
    let sock = open()?;
    let mut out = Vec::new();
    let mut first_err = None;
    let mut any = false;
    let mut seq = 0;
    for protocol in [libc::IPPROTO_TCP as u8, libc::IPPROTO_UDP as u8] {
        for family in [libc::AF_INET as u8, libc::AF_INET6 as u8] {
            seq += 1;
            match dump(&sock, family, protocol, seq) {
                Ok(sockets) => {
                    any = true;
                    out.extend(sockets);
                }
                Err(e @ SockDiagError::Kernel { .. }) => {
                    log::warn!("{e}");
                    first_err.get_or_insert(e);
                }
                Err(e) => return Err(e),
            }
        }
    }
    match first_err {
        Some(e) if !any => Err(e),
        _ => Ok(out),
    }
}

/// Open a sock_diag netlink socket in the calling thread's network namespace.
fn open() -> Result<OwnedFd, SockDiagError> {
    crate::netlink::socket(
        libc::SOCK_DGRAM,
        libc::NETLINK_SOCK_DIAG,
        Some(RECV_TIMEOUT),
    )
    .map_err(SockDiagError::Socket)
}

/// One family/protocol dump, retried when the kernel flags it as inconsistent.
fn dump(
    sock: &OwnedFd,
    family: u8,
    protocol: u8,
    seq: u32,
) -> Result<Vec<DiagSocket>, SockDiagError> {
    for attempt in 1..=DUMP_TRIES {
        let (sockets, interrupted) = dump_once(sock, family, protocol, seq)?;
        if !interrupted || attempt == DUMP_TRIES {
            if interrupted {
                log::debug!("sock_diag dump {family}/{protocol} stayed inconsistent; kept as is");
            }
            return Ok(sockets);
        }
    }
    unreachable!("the last attempt returns")
}

fn dump_once(
    sock: &OwnedFd,
    family: u8,
    protocol: u8,
    seq: u32,
) -> Result<(Vec<DiagSocket>, bool), SockDiagError> {
    let req = wire::dump_request(family, protocol, seq);
    crate::netlink::send_to_kernel(sock, &req).map_err(SockDiagError::Send)?;
    let mut buf = vec![0u8; RECV_BUF];
    let mut out = Vec::new();
    let mut interrupted = false;
    loop {
        let n = crate::netlink::recv(sock, &mut buf).map_err(SockDiagError::Recv)?;
        for m in wire::messages(&buf[..n]) {
            let m = m?;
            if m.seq != seq {
                continue; // a late reply to an earlier, abandoned request
            }
            interrupted |= m.flags & wire::NLM_F_DUMP_INTR != 0;
            match m.kind {
                wire::NLMSG_DONE => return Ok((out, interrupted)),
                wire::NLMSG_ERROR => {
                    let code = wire::error_code(m.payload)?;
                    if code == 0 {
                        continue; // an acknowledgement
                    }
                    return Err(SockDiagError::Kernel {
                        family,
                        protocol,
                        source: io::Error::from_raw_os_error(-code),
                    });
                }
                wire::SOCK_DIAG_BY_FAMILY => out.push(wire::diag_socket(m.payload, protocol)?),
                _ => {}
            }
        }
    }
}

/// socket inode -> the process (thread group id) holding it, from the `socket:[N]` links in
/// `<procfs>/PID/fd`. Only thread group leaders are listed in procfs, and threads share their
/// leader's fd table, so each process is read once. A socket held by several processes (a
/// listener shared by a pre-forking server's workers) goes to the lowest pid, which is usually
/// the parent that opened it. Processes that vanish mid-scan, or whose fds cannot be read
/// (another user's, without CAP_SYS_PTRACE), are skipped.
pub fn socket_inode_owners(procfs: &Path) -> HashMap<u64, u32> {
    let mut owners: HashMap<u64, u32> = HashMap::new();
    let Ok(dir) = std::fs::read_dir(procfs) else {
        return owners;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            if let Some(inode) = socket_inode(target.as_os_str().as_encoded_bytes()) {
                owners
                    .entry(inode)
                    .and_modify(|p| *p = (*p).min(pid))
                    .or_insert(pid);
            }
        }
    }
    owners
}

/// The inode of an fd link target `socket:[N]`.
fn socket_inode(target: &[u8]) -> Option<u64> {
    let digits = target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests;
