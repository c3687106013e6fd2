//! Frame padding that a TCP segment's IP length claims as payload.
//!
//! Ethernet pads frames to 60 bytes; a pure ACK (54 bytes with no options) gets 6 zero
//! bytes. Some stacks and middleboxes count those bytes in the IP total length, so the ACK
//! (or a SYN-ACK without options) seems to carry 2 to 6 bytes of data at the sequence number
//! where the real data then starts (nDPI's `heuristic_tcp_ack_payload.pcap`: every ACK and
//! SYN-ACK of a client and a server).
//! Taken as data, they hold the stream's first bytes, and the ClientHello or request that
//! follows loses its own first bytes and is never recognized. The receivers show they took
//! no such data: their acknowledgments cover the real segments whole. A keepalive's single
//! garbage byte, behind data already acknowledged, looks the same and is no data either.

use flowsight_wire::tcp::Flags;

/// Ethernet's minimum payload: an IP datagram no longer than this filled a padded frame.
const ETHERNET_MIN_PAYLOAD: u32 = 46;

/// The most padding a minimal TCP/IPv4 ACK can claim (46 - 20 - 20).
const MAX_PADDING: usize = 6;

/// Whether a TCP segment's payload is frame padding rather than stream data: an ACK (a
/// SYN-ACK too) without FIN, RST, PSH or URG, in a datagram no longer than a padded
/// Ethernet frame holds, whose payload is at most 6 bytes, all zero. (Data on a SYN, TCP Fast
/// Open's, comes with options that make the datagram longer.)
pub(super) fn padding_as_payload(flags: Flags, ip_total_len: u32, payload: &[u8]) -> bool {
    const NOT: u16 = Flags::FIN.0 | Flags::RST.0 | Flags::PSH.0 | Flags::URG.0;
    flags.contains(Flags::ACK)
        && flags.0 & NOT == 0
        && ip_total_len <= ETHERNET_MIN_PAYLOAD
        && !payload.is_empty()
        && payload.len() <= MAX_PADDING
        && payload.iter().all(|&b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_zeros_on_a_bare_ack_in_a_minimal_datagram() {
        let ack = Flags::ACK;
        let with = |f: Flags| Flags(ack.0 | f.0);
        assert!(padding_as_payload(ack, 42, &[0, 0]));
        assert!(padding_as_payload(ack, 46, &[0; 6]));
        assert!(!padding_as_payload(ack, 42, &[]), "nothing to drop");
        assert!(!padding_as_payload(ack, 42, &[0, 1]), "data");
        assert!(!padding_as_payload(ack, 47, &[0; 7]), "longer than padding");
        assert!(
            !padding_as_payload(with(Flags::PSH), 42, &[0, 0]),
            "pushed data"
        );
        assert!(!padding_as_payload(with(Flags::FIN), 42, &[0, 0]));
        assert!(
            padding_as_payload(with(Flags::SYN), 42, &[0, 0]),
            "a SYN-ACK's"
        );
        assert!(!padding_as_payload(Flags::SYN, 42, &[0, 0]), "no ACK");
        assert!(!padding_as_payload(Flags(0), 42, &[0, 0]), "no ACK");
        // With TCP options the datagram is longer than 46 bytes: the bytes are data.
        assert!(!padding_as_payload(ack, 54, &[0, 0]));
    }
}
