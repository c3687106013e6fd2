//! The kernel flow map's values as table snapshots.

use crate::table::{Initiator, Snapshot, SocketRef};
use crate::{FlowKey, Sample};
use flowsight_abi::{self as abi, cookie_kind, initiator};

/// The socket of endpoint `i` from the kernel's cookie and its kind.
fn socket(cookie: &[u64; 2], kind: &[u8; 2], i: usize) -> Option<SocketRef> {
    match kind[i] as u32 {
        cookie_kind::FSIGHT_COOKIE_SOCKET if cookie[i] != 0 => Some(SocketRef {
            cookie: cookie[i],
            listener: false,
        }),
        cookie_kind::FSIGHT_COOKIE_LISTENER if cookie[i] != 0 => Some(SocketRef {
            cookie: cookie[i],
            listener: true,
        }),
        _ => None,
    }
}

/// The kernel's enum fsight_initiator.
fn initiator_of(v: u8) -> Initiator {
    match v as u32 {
        initiator::FSIGHT_INIT_FIRST_0 => Initiator::FirstPacket(0),
        initiator::FSIGHT_INIT_FIRST_1 => Initiator::FirstPacket(1),
        initiator::FSIGHT_INIT_SYN_0 => Initiator::Syn(0),
        initiator::FSIGHT_INIT_SYN_1 => Initiator::Syn(1),
        _ => Initiator::Unknown,
    }
}

/// A captured packet's flow, the index of its sender in the key, and the flow's sockets at the
/// time, as the kernel named them; None for a packet that is not part of an IP flow.
pub fn packet_flow(head: &abi::PacketHead) -> Option<(FlowKey, usize, [Option<SocketRef>; 2])> {
    if head.has_flow == 0 {
        return None;
    }
    Some((
        FlowKey::from(&head.key),
        usize::from(head.sender & 1),
        [
            socket(&head.cookie, &head.cookie_kind, 0),
            socket(&head.cookie, &head.cookie_kind, 1),
        ],
    ))
}

/// A kernel payload sample as the engine takes it.
pub fn sample<'a>(head: &abi::SampleHead, data: &'a [u8]) -> Sample<'a> {
    let key = FlowKey::from(&head.key);
    let tcp = (key.protocol == 6).then_some((
        head.seq,
        head.tcp_flags & 0x02 != 0,
        head.tcp_flags & 0x01 != 0,
    ));
    Sample {
        key,
        sender: usize::from(head.sender & 1),
        ts_ns: head.hdr.ts_ns,
        tcp,
        payload: data,
        initiator: initiator_of(head.initiator),
        sockets: [
            socket(&head.cookie, &head.cookie_kind, 0),
            socket(&head.cookie, &head.cookie_kind, 1),
        ],
    }
}

impl From<&abi::FlowStats> for Snapshot {
    fn from(v: &abi::FlowStats) -> Snapshot {
        let socket = |i: usize| socket(&v.cookie, &v.cookie_kind, i);
        Snapshot {
            first_ns: v.first_ns,
            // Never before the start, whatever a racing update wrote.
            last_ns: v.last_ns.max(v.first_ns),
            packets: v.packets,
            bytes: v.bytes,
            tcp_flags: v.tcp_flags,
            initiator: initiator_of(v.initiator),
            sockets: [socket(0), socket(1)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;

    #[test]
    fn converts_sockets_and_initiator() {
        let mut v = abi::FlowStats::zeroed();
        v.first_ns = 100;
        v.last_ns = 90;
        v.initiator = initiator::FSIGHT_INIT_SYN_1 as u8;
        v.cookie = [7, 9];
        v.cookie_kind = [
            cookie_kind::FSIGHT_COOKIE_SOCKET as u8,
            cookie_kind::FSIGHT_COOKIE_LISTENER as u8,
        ];
        let s = Snapshot::from(&v);
        assert_eq!(s.initiator, Initiator::Syn(1));
        assert_eq!(s.last_ns, 100);
        assert_eq!(
            s.sockets,
            [
                Some(SocketRef {
                    cookie: 7,
                    listener: false
                }),
                Some(SocketRef {
                    cookie: 9,
                    listener: true
                })
            ]
        );
    }
}
