//! Kernel events into the host's process and socket tables.

use flowsight_abi::{self as abi, Event, c_bytes, c_str, stamp_origin};
use flowsight_host::{
    ExecEvent, ExitEvent, ForkEvent, Host, SocketStamp, SocketTable, SocketTuple, StampOrigin,
};
use flowsight_record::Timestamp;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

fn ip(family: u16, bytes: &[u8; 16]) -> IpAddr {
    if family == abi::AF_INET6 {
        IpAddr::V6(Ipv6Addr::from(*bytes))
    } else {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    }
}

fn origin(o: u8) -> StampOrigin {
    match o as u32 {
        stamp_origin::FSIGHT_STAMP_CONNECT => StampOrigin::Connect,
        stamp_origin::FSIGHT_STAMP_ACCEPT => StampOrigin::Accept,
        stamp_origin::FSIGHT_STAMP_SEND => StampOrigin::Send,
        stamp_origin::FSIGHT_STAMP_RECV => StampOrigin::Recv,
        _ => StampOrigin::Create,
    }
}

/// The command line of an exec event: NUL-separated arguments.
fn args(e: &abi::ProcExec) -> Vec<String> {
    let bytes = c_bytes(&e.args);
    let len = (e.args_len as usize).min(bytes.len());
    bytes[..len]
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Apply one event (all kinds but flow recycling, which produces a record).
pub fn apply(event: &Event, host: &mut Host, sockets: &mut SocketTable) {
    let now = Timestamp::now();
    match event {
        Event::SockOwner(e) if u32::from(e.origin) == stamp_origin::FSIGHT_STAMP_CONNECTED => {
            // Softirq: the task is whoever was interrupted, never the owner. Only the tuple
            // is news; without a local port there is none.
            if e.lport == 0 {
                return;
            }
            let tuple = SocketTuple {
                protocol: e.protocol,
                local: SocketAddr::new(ip(e.family, &e.laddr), e.lport),
                remote: Some(SocketAddr::new(ip(e.family, &e.raddr), e.rport)),
            };
            if !sockets.completed(e.cookie, tuple, e.hdr.ts_ns) {
                log::trace!("connected socket {} has no owner", e.cookie);
            }
        }
        Event::SockOwner(e) => {
            let t = &e.task;
            let stamp = SocketStamp {
                tgid: t.tgid,
                uid: t.uid,
                gid: t.gid,
                cgroup_id: t.cgroup_id,
                comm: c_str(&t.comm),
                // Hooks without the socket (sock_create) send no namespace: the process's,
                // read now while it runs, stands in.
                netns: match e.netns {
                    0 => host.netns_of(t.tgid).unwrap_or(0),
                    ns => u64::from(ns),
                },
            };
            let tuple = (e.lport != 0).then(|| SocketTuple {
                protocol: e.protocol,
                local: SocketAddr::new(ip(e.family, &e.laddr), e.lport),
                remote: (e.rport != 0).then(|| SocketAddr::new(ip(e.family, &e.raddr), e.rport)),
            });
            // Read the process now, while it is alive, in case its exec was not seen (it
            // predates flowsight, or the event was lost).
            let _ = host.process(t.tgid);
            log::trace!(
                "owner of socket {}: {} ({}) by {:?}",
                e.cookie,
                stamp.tgid,
                stamp.comm,
                origin(e.origin)
            );
            sockets.stamp(e.cookie, tuple, stamp, origin(e.origin), e.hdr.ts_ns);
        }
        Event::SockClose(e) => sockets.closed(e.cookie, e.hdr.ts_ns),
        Event::ProcExec(e) => host.on_exec(ExecEvent {
            tgid: e.task.tgid,
            ppid: e.ppid,
            uid: e.task.uid,
            gid: e.task.gid,
            cgroup_id: e.task.cgroup_id,
            comm: c_str(&e.task.comm),
            filename: c_str(&e.filename),
            args: args(e),
            args_truncated: e.args_truncated != 0,
            start_monotonic_ns: e.start_ns,
            at: now,
        }),
        Event::ProcFork(e) => host.on_fork(ForkEvent {
            parent_tgid: e.parent_tgid,
            child_tgid: e.child_tgid,
            start_monotonic_ns: e.start_ns,
            at: now,
        }),
        Event::ProcExit(e) => host.on_exit(ExitEvent {
            tgid: e.tgid,
            at: now,
        }),
        Event::FlowRecycled(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowsight_host::HostConfig;

    fn connected(cookie: u64, lport: u16) -> Event {
        // SAFETY: a C struct of integers and integer arrays; all zero is a valid value.
        let mut e: abi::SockOwner = unsafe { std::mem::zeroed() };
        e.hdr.kind = abi::event_kind::FSIGHT_EV_SOCK_OWNER;
        e.cookie = cookie;
        e.origin = stamp_origin::FSIGHT_STAMP_CONNECTED as u8;
        e.family = abi::AF_INET;
        e.protocol = 6;
        e.lport = lport;
        e.rport = 80;
        // The task of whatever the softirq interrupted.
        e.task.tgid = 999_999;
        Event::SockOwner(e)
    }

    #[test]
    fn a_connected_event_never_stamps_the_interrupted_task() {
        // A procfs with nothing in it: no process is known.
        let mut host = Host::new(HostConfig::with_procfs("/nonexistent/flowsight-procfs"));
        let mut sockets = SocketTable::new(16, 100);
        // No owner stamped at connect: a tuple alone names nobody, with or without a port.
        apply(&connected(7, 40000), &mut host, &mut sockets);
        apply(&connected(8, 0), &mut host, &mut sockets);
        assert!(sockets.by_cookie(7).is_none());
        assert!(sockets.by_cookie(8).is_none());
        assert!(sockets.is_empty());
    }
}
