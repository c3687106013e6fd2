//! ICMP (RFC 792) and ICMPv6 (RFC 4443) headers.
//!
//! Both share one layout for what flowsight reads: type, code, checksum, and a 4-byte
//! rest-of-header that holds identifier and sequence for echo messages.

use crate::bytes::be16;
use crate::error::{DecodeError, Layer, need};
use crate::ip::IpVersion;

mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const ECHO_IDENT: Range<usize> = 4..6;
    pub const ECHO_SEQNO: Range<usize> = 6..8;
    pub const PAYLOAD: usize = 8;
}

/// Header length in bytes (type, code, checksum, rest of header).
pub const HEADER_LEN: usize = field::PAYLOAD;

/// An ICMPv4 message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message {
    /// Echo reply (0).
    EchoReply,
    /// Destination unreachable (3).
    DstUnreachable,
    /// Source quench (4).
    SourceQuench,
    /// Redirect (5).
    Redirect,
    /// Echo request (8).
    EchoRequest,
    /// Router advertisement (9).
    RouterAdvert,
    /// Router solicitation (10).
    RouterSolicit,
    /// Time exceeded (11).
    TimeExceeded,
    /// Parameter problem (12).
    ParamProblem,
    /// Timestamp request (13).
    Timestamp,
    /// Timestamp reply (14).
    TimestampReply,
    /// Any other type.
    Unknown(u8),
}

impl From<u8> for Message {
    fn from(v: u8) -> Message {
        match v {
            0 => Message::EchoReply,
            3 => Message::DstUnreachable,
            4 => Message::SourceQuench,
            5 => Message::Redirect,
            8 => Message::EchoRequest,
            9 => Message::RouterAdvert,
            10 => Message::RouterSolicit,
            11 => Message::TimeExceeded,
            12 => Message::ParamProblem,
            13 => Message::Timestamp,
            14 => Message::TimestampReply,
            n => Message::Unknown(n),
        }
    }
}

impl From<Message> for u8 {
    fn from(m: Message) -> u8 {
        match m {
            Message::EchoReply => 0,
            Message::DstUnreachable => 3,
            Message::SourceQuench => 4,
            Message::Redirect => 5,
            Message::EchoRequest => 8,
            Message::RouterAdvert => 9,
            Message::RouterSolicit => 10,
            Message::TimeExceeded => 11,
            Message::ParamProblem => 12,
            Message::Timestamp => 13,
            Message::TimestampReply => 14,
            Message::Unknown(n) => n,
        }
    }
}

/// An ICMPv6 message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Message6 {
    /// Destination unreachable (1).
    DstUnreachable,
    /// Packet too big (2).
    PktTooBig,
    /// Time exceeded (3).
    TimeExceeded,
    /// Parameter problem (4).
    ParamProblem,
    /// Echo request (128).
    EchoRequest,
    /// Echo reply (129).
    EchoReply,
    /// Multicast listener query (130).
    MldQuery,
    /// Multicast listener report (131).
    MldReport,
    /// Multicast listener done (132).
    MldDone,
    /// Router solicitation (133).
    RouterSolicit,
    /// Router advertisement (134).
    RouterAdvert,
    /// Neighbor solicitation (135).
    NeighborSolicit,
    /// Neighbor advertisement (136).
    NeighborAdvert,
    /// Redirect (137).
    Redirect,
    /// Multicast listener report v2 (143).
    MldV2Report,
    /// Any other type.
    Unknown(u8),
}

impl From<u8> for Message6 {
    fn from(v: u8) -> Message6 {
        match v {
            1 => Message6::DstUnreachable,
            2 => Message6::PktTooBig,
            3 => Message6::TimeExceeded,
            4 => Message6::ParamProblem,
            128 => Message6::EchoRequest,
            129 => Message6::EchoReply,
            130 => Message6::MldQuery,
            131 => Message6::MldReport,
            132 => Message6::MldDone,
            133 => Message6::RouterSolicit,
            134 => Message6::RouterAdvert,
            135 => Message6::NeighborSolicit,
            136 => Message6::NeighborAdvert,
            137 => Message6::Redirect,
            143 => Message6::MldV2Report,
            n => Message6::Unknown(n),
        }
    }
}

impl From<Message6> for u8 {
    fn from(m: Message6) -> u8 {
        match m {
            Message6::DstUnreachable => 1,
            Message6::PktTooBig => 2,
            Message6::TimeExceeded => 3,
            Message6::ParamProblem => 4,
            Message6::EchoRequest => 128,
            Message6::EchoReply => 129,
            Message6::MldQuery => 130,
            Message6::MldReport => 131,
            Message6::MldDone => 132,
            Message6::RouterSolicit => 133,
            Message6::RouterAdvert => 134,
            Message6::NeighborSolicit => 135,
            Message6::NeighborAdvert => 136,
            Message6::Redirect => 137,
            Message6::MldV2Report => 143,
            Message6::Unknown(n) => n,
        }
    }
}

/// An ICMP or ICMPv6 message (the version decides how the type byte reads).
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the 8-byte header is there. `version` only names the
    /// layer in the error.
    pub fn new_checked(buffer: T, version: IpVersion) -> Result<Packet<T>, DecodeError> {
        let layer = match version {
            IpVersion::V4 => Layer::Icmp,
            IpVersion::V6 => Layer::Icmpv6,
        };
        need(layer, buffer.as_ref(), HEADER_LEN)?;
        Ok(Packet { buffer })
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The raw type byte.
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    /// The type, read as ICMPv4.
    pub fn message(&self) -> Message {
        Message::from(self.msg_type())
    }

    /// The type, read as ICMPv6.
    pub fn message6(&self) -> Message6 {
        Message6::from(self.msg_type())
    }

    /// The code byte.
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The identifier of an echo message (meaningful for echo types only).
    pub fn echo_ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }

    /// The sequence number of an echo message (meaningful for echo types only).
    pub fn echo_seq_no(&self) -> u16 {
        be16(self.buffer.as_ref(), field::ECHO_SEQNO.start)
    }

    /// True for echo request/reply of the given version.
    pub fn is_echo(&self, version: IpVersion) -> bool {
        match version {
            IpVersion::V4 => matches!(self.message(), Message::EchoRequest | Message::EchoReply),
            IpVersion::V6 => {
                matches!(self.message6(), Message6::EchoRequest | Message6::EchoReply)
            }
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the 8-byte header (for errors: the offending packet's start).
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECHO: [u8; 12] = [
        0x08, 0x00, 0x8e, 0x2c, 0x12, 0x34, 0x00, 0x01, b'p', b'i', b'n', b'g',
    ];

    #[test]
    fn echo_fields() {
        let p = Packet::new_checked(&ECHO[..], IpVersion::V4).unwrap();
        assert_eq!(p.message(), Message::EchoRequest);
        assert_eq!(p.msg_code(), 0);
        assert_eq!(p.checksum(), 0x8e2c);
        assert!(p.is_echo(IpVersion::V4));
        assert!(!p.is_echo(IpVersion::V6));
        assert_eq!(p.echo_ident(), 0x1234);
        assert_eq!(p.echo_seq_no(), 1);
        assert_eq!(p.payload(), b"ping");
        let mut v6 = ECHO;
        v6[0] = 129;
        let p = Packet::new_checked(&v6[..], IpVersion::V6).unwrap();
        assert_eq!(p.message6(), Message6::EchoReply);
        assert!(p.is_echo(IpVersion::V6));
    }

    #[test]
    fn type_numbers_round_trip() {
        for n in 0..=255u8 {
            assert_eq!(u8::from(Message::from(n)), n);
            assert_eq!(u8::from(Message6::from(n)), n);
        }
    }

    #[test]
    fn truncated_prefixes_are_errors() {
        for n in 0..8 {
            assert!(matches!(
                Packet::new_checked(&ECHO[..n], IpVersion::V4),
                Err(DecodeError::Truncated {
                    layer: Layer::Icmp,
                    ..
                })
            ));
            assert!(matches!(
                Packet::new_checked(&ECHO[..n], IpVersion::V6),
                Err(DecodeError::Truncated {
                    layer: Layer::Icmpv6,
                    ..
                })
            ));
        }
    }
}
