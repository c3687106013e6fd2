//! Socket owners: who stamped each socket, by cookie and by address.
//!
//! The kernel reports an owner for a socket when a process creates, connects, accepts or first
//! uses it (`FSIGHT_EV_SOCK_OWNER`), keyed by the socket cookie that TC also records for
//! each flow. Sockets open before flowsight started come from sock_diag at start-up, with the
//! same cookies. A few owners arrive without a cookie (an accept whose passive open predates
//! flowsight); those, and unconnected sockets, are also found by address.

use std::collections::HashMap;
use std::net::SocketAddr;

/// What the kernel recorded about the task when it stamped a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketStamp {
    /// Owner's process (thread group) id.
    pub tgid: u32,
    /// User id at stamping time.
    pub uid: u32,
    /// Group id at stamping time.
    pub gid: u32,
    /// cgroup v2 id of the task at stamping time (0 when unknown).
    pub cgroup_id: u64,
    /// The task's comm (15 characters at most).
    pub comm: String,
    /// Inode number of the socket's network namespace (0 when unknown).
    pub netns: u64,
}

/// Where in a socket's life its owner was stamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampOrigin {
    /// socket(2).
    Create,
    /// connect(2).
    Connect,
    /// accept(2).
    Accept,
    /// First send.
    Send,
    /// First receive.
    Recv,
    /// Found open at start-up (sock_diag and /proc/*/fd).
    Startup,
}

/// The addresses of a socket, as far as they are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SocketTuple {
    /// IPPROTO_TCP or IPPROTO_UDP.
    pub protocol: u8,
    /// Local address and port.
    pub local: SocketAddr,
    /// Remote address and port; None for listening and unconnected sockets.
    pub remote: Option<SocketAddr>,
}

#[derive(Debug, Clone)]
struct Entry {
    stamp: SocketStamp,
    origin: StampOrigin,
    /// Timeline ns of the last stamp, for eviction.
    seen_ns: u64,
    /// Timeline ns of the TCP close, when it happened.
    closed_ns: Option<u64>,
    /// The socket's cookie (0: the kernel could not name it).
    cookie: u64,
    /// The address the socket is also indexed by, so that its close reaches that entry too
    /// (else every connection's address would stay until the table is full).
    tuple: Option<SocketTuple>,
}

/// Socket owners by cookie and by address, bounded.
#[derive(Debug)]
pub struct SocketTable {
    by_cookie: HashMap<u64, Entry>,
    by_tuple: HashMap<SocketTuple, Entry>,
    capacity: usize,
    grace_ns: u64,
}

impl SocketTable {
    /// A table holding at most `capacity` sockets per index, keeping closed sockets for
    /// `grace_ns` so that flows exported after the close still find their owner.
    pub fn new(capacity: usize, grace_ns: u64) -> SocketTable {
        SocketTable {
            by_cookie: HashMap::new(),
            by_tuple: HashMap::new(),
            capacity: capacity.max(1),
            grace_ns,
        }
    }

    /// Sockets known by cookie.
    pub fn len(&self) -> usize {
        self.by_cookie.len()
    }

    /// True when no socket is known.
    pub fn is_empty(&self) -> bool {
        self.by_cookie.is_empty() && self.by_tuple.is_empty()
    }

    /// Record an owner. `cookie` 0 means the kernel could not name the socket; `tuple`, when
    /// known, also indexes it by address.
    pub fn stamp(
        &mut self,
        cookie: u64,
        tuple: Option<SocketTuple>,
        stamp: SocketStamp,
        origin: StampOrigin,
        now_ns: u64,
    ) {
        let mut stamp = stamp;
        let mut tuple_known = tuple;
        if let Some(old) = self.by_cookie.get(&cookie) {
            // A socket never changes namespace: keep what an earlier stamp knew.
            if stamp.netns == 0 {
                stamp.netns = old.stamp.netns;
            }
            tuple_known = tuple_known.or(old.tuple);
        }
        let entry = Entry {
            stamp,
            origin,
            seen_ns: now_ns,
            closed_ns: None,
            cookie,
            tuple: tuple_known,
        };
        if let Some(t) = tuple {
            Self::bounded_insert(&mut self.by_tuple, self.capacity, t, entry.clone());
        }
        if cookie != 0 {
            Self::bounded_insert(&mut self.by_cookie, self.capacity, cookie, entry);
        }
    }

    fn bounded_insert<K: std::hash::Hash + Eq + Copy>(
        map: &mut HashMap<K, Entry>,
        capacity: usize,
        key: K,
        entry: Entry,
    ) {
        if map.len() >= capacity && !map.contains_key(&key) {
            // Full: drop the eighth of entries stamped longest ago. Rare (the capacity is
            // sized above the host's socket count), so a sort is acceptable here.
            let mut ages: Vec<(u64, K)> = map.iter().map(|(k, e)| (e.seen_ns, *k)).collect();
            ages.sort_unstable_by_key(|(seen, _)| *seen);
            for (_, k) in ages.into_iter().take(capacity.div_ceil(8)) {
                map.remove(&k);
            }
        }
        map.insert(key, entry);
    }

    /// The socket `cookie`, stamped earlier without its whole tuple (a TCP client's local
    /// port is chosen after connect(2) stamps it), now has `tuple`: index its owner by it
    /// too. Returns false when the cookie has no owner (its stamp was lost or predates
    /// flowsight): the tuple alone names nobody.
    pub fn completed(&mut self, cookie: u64, tuple: SocketTuple, now_ns: u64) -> bool {
        let Some(entry) = self.by_cookie.get_mut(&cookie) else {
            return false;
        };
        entry.tuple = Some(tuple);
        let entry = Entry {
            seen_ns: now_ns,
            ..entry.clone()
        };
        Self::bounded_insert(&mut self.by_tuple, self.capacity, tuple, entry);
        true
    }

    /// A TCP socket closed at `now_ns`; its owner is kept for the grace period, by cookie and
    /// by address (unless another socket has taken the address since).
    pub fn closed(&mut self, cookie: u64, now_ns: u64) {
        if let Some(e) = self.by_cookie.get_mut(&cookie) {
            e.closed_ns = Some(now_ns);
            if let Some(t) = e.tuple
                && let Some(by_address) = self.by_tuple.get_mut(&t)
                && by_address.cookie == cookie
            {
                by_address.closed_ns = Some(now_ns);
            }
        }
    }

    /// The owner stamp and origin of a socket by cookie.
    pub fn by_cookie(&self, cookie: u64) -> Option<(&SocketStamp, StampOrigin)> {
        self.by_cookie.get(&cookie).map(|e| (&e.stamp, e.origin))
    }

    /// The owner of the connected socket with exactly these ends.
    pub fn connected(
        &self,
        protocol: u8,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Option<(&SocketStamp, StampOrigin)> {
        self.by_tuple
            .get(&SocketTuple {
                protocol,
                local,
                remote: Some(remote),
            })
            .map(|e| (&e.stamp, e.origin))
    }

    /// The owner of the unconnected or listening socket bound to `local`, or to the wildcard
    /// address of its family on the same port. Only meaningful for an endpoint known to be
    /// local: a remote end on the same port would match too.
    pub fn bound(&self, protocol: u8, local: SocketAddr) -> Option<(&SocketStamp, StampOrigin)> {
        let wildcard = match local {
            SocketAddr::V4(_) => {
                SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), local.port())
            }
            SocketAddr::V6(_) => {
                SocketAddr::new(std::net::Ipv6Addr::UNSPECIFIED.into(), local.port())
            }
        };
        [local, wildcard]
            .into_iter()
            .find_map(|local| {
                self.by_tuple.get(&SocketTuple {
                    protocol,
                    local,
                    remote: None,
                })
            })
            .map(|e| (&e.stamp, e.origin))
    }

    /// Forget sockets closed more than the grace period before `now_ns`.
    pub fn expire(&mut self, now_ns: u64) {
        let grace = self.grace_ns;
        let live = |e: &Entry| e.closed_ns.is_none_or(|c| now_ns.saturating_sub(c) < grace);
        self.by_cookie.retain(|_, e| live(e));
        self.by_tuple.retain(|_, e| live(e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(tgid: u32) -> SocketStamp {
        SocketStamp {
            tgid,
            uid: 1000,
            gid: 1000,
            cgroup_id: 1,
            comm: "curl".into(),
            netns: 0,
        }
    }

    #[test]
    fn a_later_stamp_without_a_namespace_keeps_the_known_one() {
        let mut t = SocketTable::new(16, 0);
        let mut s = stamp(10);
        s.netns = 4026532001;
        t.stamp(7, None, s, StampOrigin::Connect, 0);
        t.stamp(7, None, stamp(10), StampOrigin::Send, 1);
        assert_eq!(t.by_cookie(7).unwrap().0.netns, 4026532001);
    }

    #[test]
    fn finds_by_cookie_and_keeps_closed_sockets_for_the_grace_period() {
        let mut t = SocketTable::new(16, 100);
        t.stamp(7, None, stamp(1), StampOrigin::Connect, 0);
        assert_eq!(t.by_cookie(7).unwrap().0.tgid, 1);
        t.closed(7, 50);
        t.expire(149);
        assert!(t.by_cookie(7).is_some());
        t.expire(150);
        assert!(t.by_cookie(7).is_none());
    }

    #[test]
    fn a_completed_tuple_names_the_owner_stamped_at_connect() {
        let mut t = SocketTable::new(16, 100);
        let local: SocketAddr = "10.88.1.12:40998".parse().unwrap();
        let remote: SocketAddr = "10.88.0.1:8080".parse().unwrap();
        let tuple = SocketTuple {
            protocol: 6,
            local,
            remote: Some(remote),
        };
        // connect(2): owner known, local port not chosen yet.
        t.stamp(7, None, stamp(1), StampOrigin::Connect, 0);
        assert!(t.connected(6, local, remote).is_none());
        // ESTABLISHED: the tuple arrives with the cookie only.
        assert!(t.completed(7, tuple, 5));
        assert_eq!(
            t.connected(6, local, remote).unwrap(),
            (&stamp(1), StampOrigin::Connect)
        );
        // A tuple for a socket nobody stamped names nobody.
        let other = SocketTuple {
            local: "10.88.1.13:40998".parse().unwrap(),
            ..tuple
        };
        assert!(!t.completed(8, other, 6));
        assert!(t.connected(6, other.local, remote).is_none());
    }

    #[test]
    fn a_closed_sockets_address_goes_with_it_after_the_grace_period() {
        let mut t = SocketTable::new(16, 100);
        let tuple = |port: u16| SocketTuple {
            protocol: 6,
            local: SocketAddr::from(([10, 88, 1, 12], port)),
            remote: Some("10.88.0.1:8080".parse().unwrap()),
        };
        let remote = tuple(1).remote.unwrap();
        // A client: its tuple completed after connect; a server: its tuple from accept.
        t.stamp(7, None, stamp(1), StampOrigin::Connect, 0);
        t.completed(7, tuple(40000), 1);
        t.stamp(8, Some(tuple(40001)), stamp(2), StampOrigin::Accept, 1);
        // A later stamp without the tuple does not lose it.
        t.stamp(8, None, stamp(2), StampOrigin::Send, 2);
        t.closed(7, 10);
        t.closed(8, 10);
        t.expire(109);
        assert!(t.connected(6, tuple(40000).local, remote).is_some());
        assert!(t.connected(6, tuple(40001).local, remote).is_some());
        t.expire(110);
        assert!(t.connected(6, tuple(40000).local, remote).is_none());
        assert!(t.connected(6, tuple(40001).local, remote).is_none());
        assert!(t.is_empty());
        // The close of an old socket leaves a new one on the same address alone.
        t.stamp(9, Some(tuple(40002)), stamp(3), StampOrigin::Accept, 200);
        t.stamp(10, Some(tuple(40002)), stamp(4), StampOrigin::Accept, 201);
        t.closed(9, 202);
        t.expire(1_000);
        assert_eq!(
            t.connected(6, tuple(40002).local, remote).unwrap().0.tgid,
            4
        );
    }

    #[test]
    fn a_later_stamp_replaces_the_owner() {
        let mut t = SocketTable::new(16, 100);
        t.stamp(7, None, stamp(1), StampOrigin::Create, 0);
        t.stamp(7, None, stamp(2), StampOrigin::Send, 1);
        assert_eq!(t.by_cookie(7).unwrap(), (&stamp(2), StampOrigin::Send));
    }

    #[test]
    fn finds_connected_and_bound_sockets_by_address() {
        let mut t = SocketTable::new(16, 100);
        let local: SocketAddr = "127.0.0.1:53".parse().unwrap();
        let remote: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:53".parse().unwrap();
        t.stamp(
            0,
            Some(SocketTuple {
                protocol: 17,
                local: any,
                remote: None,
            }),
            stamp(3),
            StampOrigin::Startup,
            0,
        );
        assert_eq!(t.bound(17, local).unwrap().0.tgid, 3);
        assert!(t.connected(17, local, remote).is_none());
        t.stamp(
            0,
            Some(SocketTuple {
                protocol: 17,
                local,
                remote: Some(remote),
            }),
            stamp(4),
            StampOrigin::Accept,
            0,
        );
        assert_eq!(t.connected(17, local, remote).unwrap().0.tgid, 4);
        assert!(t.bound(6, local).is_none());
    }

    #[test]
    fn stays_within_capacity() {
        let mut t = SocketTable::new(8, 100);
        for c in 1..=100 {
            t.stamp(c, None, stamp(c as u32), StampOrigin::Create, c);
        }
        assert!(t.len() <= 8);
        assert!(t.by_cookie(100).is_some(), "the newest survives");
    }
}
