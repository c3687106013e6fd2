//! Sockets that were open before flowsight started.

use flowsight_host::{
    Host, SocketStamp, SocketTable, SocketTuple, StampOrigin, read_netns, sockdiag,
};
use std::path::Path;

/// Stamp every TCP/UDP socket of this network namespace that a process holds, from sock_diag
/// (which reports the same cookies as the BPF programs) and /proc/*/fd. Returns how many
/// sockets were attributed.
pub fn existing_sockets(host: &mut Host, sockets: &mut SocketTable, now_ns: u64) -> usize {
    let diag = match sockdiag::dump_sockets() {
        Ok(d) => d,
        Err(e) => {
            log::warn!("sockets open before start-up are not attributed: sock_diag failed: {e}");
            return 0;
        }
    };
    let owners = sockdiag::socket_inode_owners(Path::new("/proc"));
    // sock_diag lists the sockets of this thread's namespace, so that is theirs.
    let netns = read_netns(Path::new("/proc"), "thread-self").unwrap_or(0);
    let mut n = 0;
    for s in diag {
        let Some(&tgid) = owners.get(&s.inode) else {
            continue; // time-wait, orphaned, or owned by a process we cannot read
        };
        let Some(process) = host.process(tgid) else {
            continue;
        };
        let stamp = SocketStamp {
            tgid,
            uid: s.uid,
            gid: process.gid,
            cgroup_id: process.cgroup_id,
            comm: process.name.clone(),
            netns,
        };
        let tuple = SocketTuple {
            protocol: s.protocol,
            local: s.local,
            remote: (s.remote.port() != 0).then_some(s.remote),
        };
        sockets.stamp(s.cookie, Some(tuple), stamp, StampOrigin::Startup, now_ns);
        n += 1;
    }
    n
}
