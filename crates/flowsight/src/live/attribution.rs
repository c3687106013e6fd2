//! The flow table's view of who owns a local endpoint, over the host's tables.

use flowsight_flow::{Attribution, Role, SocketRef};
use flowsight_host::{Host, SocketTable, StampOrigin};
use flowsight_record::Owner;
use std::net::{IpAddr, SocketAddr};

/// IP protocol numbers of ICMP and ICMPv6.
const ICMP: u8 = 1;
const ICMPV6: u8 = 58;

/// Attribution for one batch of records.
pub struct LiveAttribution<'a> {
    /// Socket owners.
    pub sockets: &'a SocketTable,
    /// Processes, users, containers.
    pub host: &'a mut Host,
    /// Local ends (the kernel named their socket) left without an owner.
    pub unattributed: &'a mut u64,
}

impl Attribution for LiveAttribution<'_> {
    fn owner(
        &mut self,
        socket: Option<SocketRef>,
        local: (IpAddr, u16),
        remote: (IpAddr, u16),
        protocol: u8,
    ) -> Option<Owner> {
        let local = SocketAddr::from(local);
        let remote = SocketAddr::from(remote);
        // Without a cookie the endpoint may be remote: only an exact connected match is
        // trusted then. With one, the kernel said the end is local, so a socket bound to its
        // address (or the wildcard) may own it too. ICMP goes by cookie only: its "ports"
        // are message types, and a ping socket's port is its echo identifier, so an address
        // match would hand a kernel-made error or another host's echo to whichever pinger
        // happens to hold that number.
        let by_cookie = socket.and_then(|s| self.sockets.by_cookie(s.cookie));
        let found = if matches!(protocol, ICMP | ICMPV6) {
            by_cookie
        } else {
            by_cookie
                .or_else(|| self.sockets.connected(protocol, local, remote))
                .or_else(|| socket.and_then(|_| self.sockets.bound(protocol, local)))
        };
        match found {
            Some((stamp, _)) => {
                let stamp = stamp.clone();
                self.host.owner(&stamp)
            }
            None => {
                if let Some(s) = socket {
                    *self.unattributed += 1;
                    log::debug!(
                        "no owner for socket cookie {} ({local} -> {remote})",
                        s.cookie
                    );
                }
                None
            }
        }
    }

    fn role(&mut self, socket: SocketRef) -> Option<Role> {
        match self.sockets.by_cookie(socket.cookie)?.1 {
            StampOrigin::Accept => Some(Role::Server),
            StampOrigin::Connect => Some(Role::Client),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowsight_host::{HostConfig, SocketStamp, SocketTuple};

    /// A ping socket bound to identifier 3 (its "port"), stamped for this test's process,
    /// and an endpoint whose cookie nobody stamped (a kernel control socket) on the same
    /// address and "port": an ICMP message type 3 (port unreachable) the kernel made.
    #[test]
    fn icmp_endpoints_are_owned_by_cookie_only() {
        let me = std::process::id();
        let local: SocketAddr = "10.0.0.1:3".parse().unwrap();
        let mut sockets = SocketTable::new(64, 1_000_000_000);
        let stamp = SocketStamp {
            tgid: me,
            uid: 0,
            gid: 0,
            cgroup_id: 0,
            comm: "ping".into(),
            netns: 0,
        };
        for protocol in [ICMP, 17] {
            let tuple = SocketTuple {
                protocol,
                local,
                remote: None,
            };
            sockets.stamp(
                100 + u64::from(protocol),
                Some(tuple),
                stamp.clone(),
                StampOrigin::Create,
                0,
            );
        }
        let mut host = Host::new(HostConfig::with_procfs("/proc"));
        let mut unattributed = 0;
        let mut a = LiveAttribution {
            sockets: &sockets,
            host: &mut host,
            unattributed: &mut unattributed,
        };
        let unknown = Some(SocketRef {
            cookie: 7,
            listener: false,
        });
        let remote = ("192.0.2.9".parse().unwrap(), 3);
        let local = (local.ip(), local.port());
        // UDP falls back to the socket bound there; ICMP does not.
        let udp = a.owner(unknown, local, remote, 17);
        assert_eq!(udp.map(|o| o.process.pid), Some(me));
        assert!(a.owner(unknown, local, remote, ICMP).is_none());
        assert!(a.owner(unknown, local, remote, ICMPV6).is_none());
        // By its own cookie the ping socket is found.
        let ping = a.owner(
            Some(SocketRef {
                cookie: 101,
                listener: false,
            }),
            local,
            remote,
            ICMP,
        );
        assert_eq!(ping.map(|o| o.process.pid), Some(me));
    }
}
