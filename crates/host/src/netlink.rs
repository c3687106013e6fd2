//! What sock_diag and conntrack share: netlink message framing and the few socket calls of a
//! request to the kernel. Each protocol's own messages are in its `wire.rs`.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HDRLEN: usize = 16;
/// `NLMSG_ERROR`: an error (or acknowledgement) reply.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a dump.
pub const NLMSG_DONE: u16 = 3;
/// `NLM_F_REQUEST | NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
pub const DUMP_REQUEST_FLAGS: u16 = 0x0001 | 0x0300;

/// One netlink message of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// `nlmsg_type`.
    pub kind: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// What follows the header.
    pub payload: &'a [u8],
}

/// Split a datagram into its netlink messages; an error names what was malformed, and ends
/// the datagram.
pub fn messages(mut buf: &[u8]) -> impl Iterator<Item = Result<Message<'_>, &'static str>> {
    std::iter::from_fn(move || {
        if buf.is_empty() {
            return None;
        }
        let Some(header) = buf.get(..NLMSG_HDRLEN) else {
            buf = &[];
            return Some(Err("netlink header"));
        };
        let len = u32::from_ne_bytes(header[0..4].try_into().unwrap()) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            buf = &[];
            return Some(Err("netlink message length"));
        }
        let m = Message {
            kind: u16::from_ne_bytes(header[4..6].try_into().unwrap()),
            flags: u16::from_ne_bytes(header[6..8].try_into().unwrap()),
            seq: u32::from_ne_bytes(header[8..12].try_into().unwrap()),
            payload: &buf[NLMSG_HDRLEN..len],
        };
        // Messages are 4-byte aligned (NLMSG_ALIGN); the last one may end the buffer unpadded.
        buf = buf.get(len.next_multiple_of(4)..).unwrap_or(&[]);
        Some(Ok(m))
    })
}

/// The error number of an `NLMSG_ERROR` payload (a negative errno, 0 for an ack).
pub fn error_code(payload: &[u8]) -> Result<i32, &'static str> {
    let b = payload.get(0..4).ok_or("netlink error message")?;
    Ok(i32::from_ne_bytes(b.try_into().unwrap()))
}

/// A netlink socket of `kind` (`SOCK_DGRAM`, `SOCK_RAW`) for `protocol`, in the calling
/// thread's network namespace; with `timeout`, receives give up after it.
pub(crate) fn socket(kind: i32, protocol: i32, timeout: Option<Duration>) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the fd is owned below.
    let fd = unsafe { libc::socket(libc::AF_NETLINK, kind | libc::SOCK_CLOEXEC, protocol) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just created and is owned by no one else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    if let Some(timeout) = timeout {
        let tv = libc::timeval {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_usec: timeout.subsec_micros() as libc::suseconds_t,
        };
        // SAFETY: a valid timeval of the size given.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(fd)
}

/// Send one request to the kernel.
pub(crate) fn send_to_kernel(fd: &OwnedFd, request: &[u8]) -> io::Result<()> {
    // SAFETY: sockaddr_nl is plain data; zero is "the kernel, no groups".
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: `request` and `kernel` are valid for the sizes given.
    let sent = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            request.as_ptr().cast(),
            request.len(),
            0,
            (&kernel as *const libc::sockaddr_nl).cast(),
            size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Receive one datagram into `buf`, its length; a signal is not an error (it is received
/// again).
pub(crate) fn recv(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is valid for its length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}
