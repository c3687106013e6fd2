//! Network interfaces of the current network namespace.
//!
//! Read through if_nameindex(3) and ioctls on a socket rather than /sys/class/net: sysfs
//! shows the namespace it was mounted in, and `flowsight live --netns` runs in another one.

use crate::CaptureError;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// How frames on an interface start, which decides the TC program that parses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// An Ethernet header (also veth, bridges, bonds, VLAN devices).
    Ethernet,
    /// The loopback device: Ethernet-framed, and every packet passes egress then ingress.
    Loopback,
    /// No link header: the IP header comes first (tun, WireGuard, ipip, sit, gre).
    Ip,
}

/// An interface flowsight can attach to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Interface name.
    pub name: String,
    /// Interface index in its namespace.
    pub index: u32,
    /// How its frames start.
    pub link: LinkKind,
}

const IFF_UP: libc::c_short = 0x1;
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const ARPHRD_NONE: u16 = 0xfffe;
const ARPHRD_RAWIP: u16 = 519;
const ARPHRD_TUNNEL: u16 = 768;
const ARPHRD_TUNNEL6: u16 = 769;
const ARPHRD_SIT: u16 = 776;
const ARPHRD_IPGRE: u16 = 778;

fn link_kind(arphrd: u16) -> Option<LinkKind> {
    match arphrd {
        ARPHRD_ETHER => Some(LinkKind::Ethernet),
        ARPHRD_LOOPBACK => Some(LinkKind::Loopback),
        ARPHRD_NONE | ARPHRD_RAWIP | ARPHRD_TUNNEL | ARPHRD_TUNNEL6 | ARPHRD_SIT | ARPHRD_IPGRE => {
            Some(LinkKind::Ip)
        }
        _ => None,
    }
}

fn io_err(what: &str) -> CaptureError {
    CaptureError::Io {
        what: what.to_string(),
        source: std::io::Error::last_os_error(),
    }
}

/// A datagram socket to issue interface ioctls on, in the current network namespace.
fn ioctl_socket() -> Result<OwnedFd, CaptureError> {
    // SAFETY: plain socket(2); the fd is owned right away.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io_err("socket for interface ioctls"));
    }
    // SAFETY: fd is a fresh, valid descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ifreq_for(name: &str) -> Result<libc::ifreq, CaptureError> {
    let c = CString::new(name).map_err(|_| CaptureError::UnknownInterface(name.into()))?;
    let bytes = c.as_bytes_with_nul();
    if bytes.len() > libc::IFNAMSIZ {
        return Err(CaptureError::UnknownInterface(name.into()));
    }
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    Ok(req)
}

/// (flags, ARPHRD type) of an interface, None if it does not exist.
fn flags_and_type(
    sock: &OwnedFd,
    name: &str,
) -> Result<Option<(libc::c_short, u16)>, CaptureError> {
    let mut req = ifreq_for(name)?;
    // SAFETY: req is a valid ifreq with a NUL-terminated name; the kernel fills the union.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::ENODEV) | Some(libc::ENXIO) => Ok(None),
            _ => Err(io_err(&format!("SIOCGIFFLAGS {name}"))),
        };
    }
    // SAFETY: SIOCGIFFLAGS filled ifru_flags.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    let mut req = ifreq_for(name)?;
    // SAFETY: as above; SIOCGIFHWADDR fills ifru_hwaddr.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) } < 0 {
        return Err(io_err(&format!("SIOCGIFHWADDR {name}")));
    }
    // SAFETY: filled by SIOCGIFHWADDR.
    let arphrd = unsafe { req.ifr_ifru.ifru_hwaddr.sa_family };
    Ok(Some((flags, arphrd)))
}

fn index_of(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: c is NUL-terminated.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (idx != 0).then_some(idx)
}

/// Look up one interface by name.
pub fn by_name(name: &str) -> Result<Interface, CaptureError> {
    let sock = ioctl_socket()?;
    let (_, arphrd) =
        flags_and_type(&sock, name)?.ok_or_else(|| CaptureError::UnknownInterface(name.into()))?;
    let index = index_of(name).ok_or_else(|| CaptureError::UnknownInterface(name.into()))?;
    let link = link_kind(arphrd).ok_or_else(|| CaptureError::UnsupportedInterface {
        name: name.into(),
        arphrd,
    })?;
    Ok(Interface {
        name: name.into(),
        index,
        link,
    })
}

/// Every interface that is up and carries frames flowsight parses, loopback included.
/// Interfaces of other link types (CAN, InfiniBand, ...) are left out with a log line.
pub fn list_up() -> Result<Vec<Interface>, CaptureError> {
    let sock = ioctl_socket()?;
    let mut out = Vec::new();
    // SAFETY: if_nameindex returns a heap array terminated by a zero entry, freed below.
    let head = unsafe { libc::if_nameindex() };
    if head.is_null() {
        return Err(io_err("if_nameindex"));
    }
    let mut names = Vec::new();
    let mut p = head;
    // SAFETY: walks the array up to its terminating zero entry; names are valid C strings.
    unsafe {
        while (*p).if_index != 0 {
            names.push((
                (*p).if_index,
                CStr::from_ptr((*p).if_name).to_string_lossy().into_owned(),
            ));
            p = p.add(1);
        }
        libc::if_freenameindex(head);
    }
    for (index, name) in names {
        let Some((flags, arphrd)) = flags_and_type(&sock, &name)? else {
            continue; // vanished since the listing
        };
        if flags & IFF_UP == 0 {
            continue;
        }
        match link_kind(arphrd) {
            Some(link) => out.push(Interface { name, index, link }),
            None => log::info!("skipping interface {name}: link type {arphrd} is not parsed"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_listed_and_found_by_name() {
        let lo = by_name("lo").expect("lo exists in every namespace");
        assert_eq!(lo.index, 1);
        assert_eq!(lo.link, LinkKind::Loopback);
        assert!(list_up().unwrap().iter().any(|i| i.name == "lo"));
    }

    #[test]
    fn unknown_interface_is_a_clear_error() {
        let e = by_name("nosuchif0").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown interface \"nosuchif0\" (in this network namespace)"
        );
    }
}
