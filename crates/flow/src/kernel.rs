//! The kernel flow map's values as table snapshots.

use crate::table::{Initiator, Snapshot, SocketRef};
use flowsight_abi::{self as abi, cookie_kind, initiator};

impl From<&abi::FlowStats> for Snapshot {
    fn from(v: &abi::FlowStats) -> Snapshot {
        let socket = |i: usize| match v.cookie_kind[i] as u32 {
            cookie_kind::FSIGHT_COOKIE_SOCKET if v.cookie[i] != 0 => Some(SocketRef {
                cookie: v.cookie[i],
                listener: false,
            }),
            cookie_kind::FSIGHT_COOKIE_LISTENER if v.cookie[i] != 0 => Some(SocketRef {
                cookie: v.cookie[i],
                listener: true,
            }),
            _ => None,
        };
        Snapshot {
            first_ns: v.first_ns,
            // Never before the start, whatever a racing update wrote.
            last_ns: v.last_ns.max(v.first_ns),
            packets: v.packets,
            bytes: v.bytes,
            tcp_flags: v.tcp_flags,
            initiator: match v.initiator as u32 {
                initiator::FSIGHT_INIT_FIRST_0 => Initiator::FirstPacket(0),
                initiator::FSIGHT_INIT_FIRST_1 => Initiator::FirstPacket(1),
                initiator::FSIGHT_INIT_SYN_0 => Initiator::Syn(0),
                initiator::FSIGHT_INIT_SYN_1 => Initiator::Syn(1),
                _ => Initiator::Unknown,
            },
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
