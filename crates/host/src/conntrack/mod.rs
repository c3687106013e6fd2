//! The kernel's connection tracking, read over ctnetlink: which connections a NAT rewrote.
//!
//! A container's connection leaves its veth with the container's address and the host's uplink
//! with the host's (masquerade, SNAT); a port forward (DNAT) arrives at the host's address and
//! reaches the container at its own. The kernel keeps both sides in one conntrack entry: the
//! original tuple (as the initiator sent it) and the reply tuple (as replies come back, so
//! with the translated addresses). [`Conntrack`] lists the entries at start-up (a dump) and
//! follows the `NEW` and `DESTROY` event groups after that; [`NatTable`] keeps the entries a
//! NAT rewrote, indexed by both tuples, so that the flows seen on either side find the same
//! entry. Entries without a translation are not kept: flows seen on several interfaces with
//! the same addresses join without conntrack.
//!
//! ctnetlink is per network namespace: the socket sees the connections of the namespace of
//! the thread that opened it. Following the event groups needs CAP_NET_ADMIN; the messages are
//! decoded by hand ([`wire`]), as sock_diag's are.

pub mod wire;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

/// Receive buffer per `recv`.
const RECV_BUF: usize = 64 * 1024;
/// Socket receive buffer asked for the event socket: the events between two polls (a scan
/// apart, a second) must fit, about 300 bytes each: 32 MiB holds a busy NAT gateway's
/// ~100,000 new and destroyed connections a second. Memory is taken only while events wait.
const EVENT_SOCKET_BUFFER: i32 = 32 << 20;
/// How long a dump reply may take.
const DUMP_TIMEOUT: Duration = Duration::from_secs(5);
/// `IPS_SRC_NAT | IPS_DST_NAT`.
const IPS_NAT_MASK: u32 = 1 << 4 | 1 << 5;

/// Errors reading conntrack.
#[derive(Debug, thiserror::Error)]
pub enum ConntrackError {
    /// The netlink socket could not be created, bound or configured (no CAP_NET_ADMIN, no
    /// nf_conntrack_netlink).
    #[error("opening a ctnetlink socket: {0}")]
    Socket(#[source] io::Error),
    /// Sending the dump request failed.
    #[error("sending a conntrack dump request: {0}")]
    Send(#[source] io::Error),
    /// Receiving failed (including a dump timing out).
    #[error("receiving from ctnetlink: {0}")]
    Recv(#[source] io::Error),
    /// The kernel refused the dump.
    #[error("conntrack dump: {0}")]
    Kernel(#[source] io::Error),
    /// A message did not have the layout of its type.
    #[error("malformed ctnetlink message: {0}")]
    Malformed(&'static str),
}

/// One direction of a connection as conntrack keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tuple {
    /// IP protocol number.
    pub protocol: u8,
    /// Source address and port. ICMP and ICMPv6: the message type as conntrack decoded it;
    /// a flow key's ICMP ports differ (the reply's type for request/reply messages), so the
    /// live join turns them into those before it keeps the connection.
    pub src: (IpAddr, u16),
    /// Destination address and port (ICMP and ICMPv6: the code, as for `src`).
    pub dst: (IpAddr, u16),
}

impl Tuple {
    /// The tuple without its direction: the two endpoints in a fixed order, as a flow key
    /// holds them.
    pub fn key(&self) -> TupleKey {
        TupleKey::new(self.protocol, self.src, self.dst)
    }
}

/// Two endpoints and a protocol, in a fixed order (the smaller endpoint first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TupleKey {
    /// IP protocol number.
    pub protocol: u8,
    /// The smaller endpoint.
    pub a: (IpAddr, u16),
    /// The larger endpoint.
    pub b: (IpAddr, u16),
}

impl TupleKey {
    /// The key of a flow between `x` and `y`, in either order.
    pub fn new(protocol: u8, x: (IpAddr, u16), y: (IpAddr, u16)) -> TupleKey {
        let (a, b) = if x <= y { (x, y) } else { (y, x) };
        TupleKey { protocol, a, b }
    }
}

/// A conntrack entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The kernel's id of the entry (`CTA_ID`).
    pub id: u32,
    /// `IPS_*` status bits.
    pub status: u32,
    /// Conntrack zone (0: the default).
    pub zone: u16,
    /// As the initiator sent it.
    pub orig: Tuple,
    /// As the replies come back: after a NAT, with the translated addresses.
    pub reply: Tuple,
}

impl Connection {
    /// The initiator's address after a source NAT, when one rewrote it.
    pub fn snat(&self) -> Option<(IpAddr, u16)> {
        (self.reply.dst != self.orig.src).then_some(self.reply.dst)
    }

    /// The responder's address after a destination NAT, when one rewrote it.
    pub fn dnat(&self) -> Option<(IpAddr, u16)> {
        (self.reply.src != self.orig.dst).then_some(self.reply.src)
    }

    /// Whether a NAT rewrote either end.
    pub fn is_nat(&self) -> bool {
        self.status & IPS_NAT_MASK != 0 || self.snat().is_some() || self.dnat().is_some()
    }
}

/// A conntrack event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A connection was confirmed (its NAT, if any, is decided).
    New(Connection),
    /// A connection's entry was destroyed.
    Destroy(Connection),
}

/// A ctnetlink event socket of the calling thread's network namespace, and dumps.
#[derive(Debug)]
pub struct Conntrack {
    events: OwnedFd,
    buf: Vec<u8>,
    /// Events lost to a full socket buffer since the last [`Conntrack::take_overflowed`].
    overflowed: bool,
}

/// A ctnetlink socket; with `timeout`, receives give up after it.
fn netlink_socket(timeout: Option<Duration>) -> Result<OwnedFd, ConntrackError> {
    crate::netlink::socket(libc::SOCK_RAW, libc::NETLINK_NETFILTER, timeout)
        .map_err(ConntrackError::Socket)
}

fn set_int_option(fd: &OwnedFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: a valid int of the size given.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl Conntrack {
    /// Subscribe to new and destroyed connections. Open it before [`Conntrack::dump`], so
    /// that no connection falls between the two.
    pub fn open() -> Result<Conntrack, ConntrackError> {
        let fd = netlink_socket(None)?;
        // SAFETY: sockaddr_nl is plain data; zero is "the kernel assigns the port id".
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_groups = wire::GROUPS_NEW_DESTROY;
        // SAFETY: a valid sockaddr_nl of the size given.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(ConntrackError::Socket(io::Error::last_os_error()));
        }
        // FORCE passes rmem_max as root; without the capability the plain size is capped.
        if set_int_option(
            &fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            EVENT_SOCKET_BUFFER,
        )
        .is_err()
        {
            let _ = set_int_option(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, EVENT_SOCKET_BUFFER);
        }
        // Non-blocking, or `poll` would wait for the next connection on the capture thread.
        // SAFETY: fcntl on an owned fd.
        let rc = unsafe {
            let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
            if flags < 0 {
                flags
            } else {
                libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK)
            }
        };
        if rc < 0 {
            return Err(ConntrackError::Socket(io::Error::last_os_error()));
        }
        Ok(Conntrack {
            events: fd,
            buf: vec![0u8; RECV_BUF],
            overflowed: false,
        })
    }

    /// Every connection conntrack holds now, over a socket of its own.
    pub fn dump() -> Result<Vec<Connection>, ConntrackError> {
        let fd = netlink_socket(Some(DUMP_TIMEOUT))?;
        let seq = 1;
        crate::netlink::send_to_kernel(&fd, &wire::dump_request(seq))
            .map_err(ConntrackError::Send)?;
        let mut buf = vec![0u8; RECV_BUF];
        let mut out = Vec::new();
        loop {
            let n = crate::netlink::recv(&fd, &mut buf).map_err(ConntrackError::Recv)?;
            for m in wire::messages(&buf[..n]) {
                let m = m?;
                if m.seq != seq {
                    continue;
                }
                match m.kind {
                    wire::NLMSG_DONE => return Ok(out),
                    wire::NLMSG_ERROR => match wire::error_code(m.payload)? {
                        0 => {}
                        code => {
                            return Err(ConntrackError::Kernel(io::Error::from_raw_os_error(
                                -code,
                            )));
                        }
                    },
                    k if k >> 8 == wire::NFNL_SUBSYS_CTNETLINK => match wire::connection(m.payload)
                    {
                        Ok(c) => out.push(c),
                        Err(e) => log::debug!("conntrack dump: {e}"),
                    },
                    _ => {}
                }
            }
        }
    }

    /// The event socket, to poll(2) on.
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.events.as_fd()
    }

    /// Hand every waiting event to `f`; returns how many there were. Never blocks.
    pub fn poll(&mut self, mut f: impl FnMut(Event)) -> Result<usize, ConntrackError> {
        let mut n_events = 0;
        loop {
            let n = match crate::netlink::recv(&self.events, &mut self.buf) {
                Ok(n) => n,
                Err(e) => match e.raw_os_error() {
                    Some(libc::EAGAIN) => return Ok(n_events),
                    // The kernel dropped events: the caller dumps again.
                    Some(libc::ENOBUFS) => {
                        self.overflowed = true;
                        continue;
                    }
                    _ => return Err(ConntrackError::Recv(e)),
                },
            };
            n_events += parse_events(&self.buf[..n], &mut f);
        }
    }

    /// Whether events were lost since the last call (then a [`Conntrack::dump`] resyncs).
    pub fn take_overflowed(&mut self) -> bool {
        std::mem::take(&mut self.overflowed)
    }
}

/// The connection events in one datagram; undecodable messages are skipped (logged).
pub fn parse_events(buf: &[u8], f: &mut impl FnMut(Event)) -> usize {
    let mut n = 0;
    for m in wire::messages(buf) {
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                log::debug!("conntrack event: {e}");
                break;
            }
        };
        if m.kind >> 8 != wire::NFNL_SUBSYS_CTNETLINK {
            continue;
        }
        let c = match wire::connection(m.payload) {
            Ok(c) => c,
            Err(e) => {
                log::debug!("conntrack event: {e}");
                continue;
            }
        };
        n += 1;
        match m.kind & 0xff {
            wire::IPCTNL_MSG_CT_NEW => f(Event::New(c)),
            wire::IPCTNL_MSG_CT_DELETE => f(Event::Destroy(c)),
            _ => {}
        }
    }
    n
}

/// The connections a NAT rewrote, by both of their tuples, bounded.
///
/// A destroyed entry is kept for a grace period: a flow's record is written when the flow
/// ends or idles out in flowsight, which can be after conntrack forgot it (UDP entries time
/// out after 30 s, before flowsight's default 60 s idle timeout).
#[derive(Debug)]
pub struct NatTable {
    by_key: HashMap<TupleKey, Arc<Connection>>,
    /// Destroyed entries, oldest first, with the time they may go.
    dying: VecDeque<(u64, Arc<Connection>)>,
    capacity: usize,
    grace_ns: u64,
    refused: u64,
}

impl NatTable {
    /// A table of at most `capacity` connections, keeping destroyed ones for `grace_ns`.
    pub fn new(capacity: usize, grace_ns: u64) -> NatTable {
        NatTable {
            by_key: HashMap::new(),
            dying: VecDeque::new(),
            capacity: capacity.max(1),
            grace_ns,
            refused: 0,
        }
    }

    /// Connections held (each counted once).
    pub fn len(&self) -> usize {
        self.by_key.len() / 2
    }

    /// True when no connection is held.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// NAT connections not kept because the table was full.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Apply an event at `now_ns` (any monotonic clock, the same for every call).
    pub fn apply(&mut self, event: Event, now_ns: u64) {
        match event {
            Event::New(c) => self.insert(c),
            Event::Destroy(c) => {
                if let Some(kept) = self.by_key.get(&c.orig.key())
                    && kept.id == c.id
                {
                    let kept = Arc::clone(kept);
                    self.dying.push_back((now_ns + self.grace_ns, kept));
                }
            }
        }
        self.expire(now_ns);
    }

    /// Add a connection (from a dump or an event); ignored unless a NAT rewrote it.
    pub fn insert(&mut self, c: Connection) {
        if !c.is_nat() {
            return;
        }
        // The same entry again: the event socket is opened before the dump, so a connection
        // made in between comes from both. It is kept already; replacing it would only
        // count against the capacity.
        if self
            .by_key
            .get(&c.orig.key())
            .is_some_and(|k| k.id == c.id && k.orig == c.orig && k.reply == c.reply)
        {
            return;
        }
        // Make room from the dying first; a table full of live NATs refuses. A dying entry
        // may free nothing (a new connection already took its tuples, or it was destroyed
        // twice), so pop until one does.
        while self.by_key.len() / 2 >= self.capacity {
            match self.dying.pop_front() {
                Some((_, old)) => self.remove(&old),
                None => {
                    self.refused += 1;
                    return;
                }
            }
        }
        let c = Arc::new(c);
        for key in [c.orig.key(), c.reply.key()] {
            if let Some(old) = self.by_key.insert(key, Arc::clone(&c))
                && old.id != c.id
            {
                // A new connection reused the tuples of an old one: drop the old one's other
                // key too, so it does not join the new connection's flows.
                let other = if old.orig.key() == key {
                    old.reply.key()
                } else {
                    old.orig.key()
                };
                if self
                    .by_key
                    .get(&other)
                    .is_some_and(|o| Arc::ptr_eq(o, &old))
                {
                    self.by_key.remove(&other);
                }
            }
        }
    }

    fn remove(&mut self, c: &Arc<Connection>) {
        for key in [c.orig.key(), c.reply.key()] {
            if self.by_key.get(&key).is_some_and(|k| Arc::ptr_eq(k, c)) {
                self.by_key.remove(&key);
            }
        }
    }

    /// Forget destroyed connections whose grace period ended.
    pub fn expire(&mut self, now_ns: u64) {
        while let Some((at, _)) = self.dying.front() {
            if *at > now_ns {
                break;
            }
            let (_, c) = self.dying.pop_front().unwrap();
            self.remove(&c);
        }
    }

    /// The NAT connection a flow between `x` and `y` belongs to, seen on either side of the
    /// translation.
    pub fn find(
        &self,
        protocol: u8,
        x: (IpAddr, u16),
        y: (IpAddr, u16),
    ) -> Option<&Arc<Connection>> {
        self.by_key.get(&TupleKey::new(protocol, x, y))
    }

    /// Replace everything with a fresh dump (start-up, and after lost events).
    ///
    /// A dump after lost events holds only the connections alive now. Those the table held
    /// that the dump lacks were destroyed while events were lost; they, and the destroyed
    /// ones already waiting, stay for their grace period (counted from `now_ns` for the
    /// former), because their flows may not have ended in flowsight yet.
    pub fn reload(&mut self, connections: Vec<Connection>, now_ns: u64) {
        let dumped: HashMap<TupleKey, u32> =
            connections.iter().map(|c| (c.orig.key(), c.id)).collect();
        let mut dying = std::mem::take(&mut self.dying);
        // Each connection is under two keys, and may be waiting already: once each.
        let mut seen: std::collections::HashSet<*const Connection> =
            dying.iter().map(|(_, d)| Arc::as_ptr(d)).collect();
        for c in self.by_key.values() {
            let gone = dumped.get(&c.orig.key()) != Some(&c.id);
            if gone && seen.insert(Arc::as_ptr(c)) {
                dying.push_back((now_ns + self.grace_ns, Arc::clone(c)));
            }
        }
        dying.make_contiguous().sort_by_key(|(at, _)| *at);
        self.by_key.clear();
        for (_, c) in &dying {
            for key in [c.orig.key(), c.reply.key()] {
                self.by_key.insert(key, Arc::clone(c));
            }
        }
        self.dying = dying;
        // The live ones last: a connection that reused a dying one's tuples takes them.
        for c in connections {
            self.insert(c);
        }
    }
}

#[cfg(test)]
mod tests;
