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
        Event::SockOwner(e)
            if u32::from(e.origin) == stamp_origin::FSIGHT_STAMP_CONNECTED && e.lport != 0 =>
        {
            // Softirq: the task is whoever was interrupted. Only the tuple is news.
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
