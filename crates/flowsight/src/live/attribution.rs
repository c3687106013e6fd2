//! The flow table's view of who owns a local endpoint, over the host's tables.

use flowsight_flow::{Attribution, Role, SocketRef};
use flowsight_host::{Host, SocketTable, StampOrigin};
use flowsight_record::Owner;
use std::net::{IpAddr, SocketAddr};

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
        // address (or the wildcard) may own it too.
        let found = socket
            .and_then(|s| self.sockets.by_cookie(s.cookie))
            .or_else(|| self.sockets.connected(protocol, local, remote))
            .or_else(|| socket.and_then(|_| self.sockets.bound(protocol, local)));
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
