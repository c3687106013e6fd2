//! ICMP "ports", as Community ID v1 defines them, shared by the live and capture paths.

/// The (source, destination) port equivalents of an ICMP message and whether the message is
/// one-way.
///
/// The source port is the type. For a request/reply pair (echo, timestamp, ...) the
/// destination port is the counterpart's type, so a request and its reply are mirror images
/// and fall into one flow; other messages are one-way and use the code. `bpf/lib/parse.h`
/// applies the same table in the kernel.
pub fn icmp_ports(kind: u8, code: u8, v6: bool) -> (u16, u16, bool) {
    let peer = if v6 {
        match kind {
            128 => Some(129),
            129 => Some(128),
            133 => Some(134),
            134 => Some(133),
            135 => Some(136),
            136 => Some(135),
            130 => Some(131),
            131 => Some(130),
            144 => Some(145),
            145 => Some(144),
            _ => None,
        }
    } else {
        match kind {
            8 => Some(0),
            0 => Some(8),
            13 => Some(14),
            14 => Some(13),
            15 => Some(16),
            16 => Some(15),
            10 => Some(9),
            9 => Some(10),
            17 => Some(18),
            18 => Some(17),
            _ => None,
        }
    };
    match peer {
        Some(p) => (kind as u16, p, false),
        None => (kind as u16, code as u16, true),
    }
}

/// True when an ICMP flow with these port equivalents is one-way (no reply type exists).
pub fn is_one_way(sport: u16, dport: u16, v6: bool) -> bool {
    u8::try_from(sport).map_or(true, |t| {
        let (_, peer, one_way) = icmp_ports(t, 0, v6);
        one_way || peer != dport
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_request_and_reply_mirror_each_other() {
        assert_eq!(icmp_ports(8, 0, false), (8, 0, false));
        assert_eq!(icmp_ports(0, 0, false), (0, 8, false));
        assert_eq!(icmp_ports(128, 0, true), (128, 129, false));
        assert!(!is_one_way(8, 0, false));
    }

    #[test]
    fn unreachable_is_one_way_with_its_code() {
        assert_eq!(icmp_ports(3, 3, false), (3, 3, true));
        assert!(is_one_way(3, 3, false));
        assert_eq!(icmp_ports(1, 4, true), (1, 4, true));
    }
}
