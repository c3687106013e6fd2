//! Decoding of `FSIGHT_EV_PACKET` records, the whole packets of `flowsight capture`.

use crate::event::EventError;
use crate::{PacketHead, event_kind};

/// One record from the `fsight_packets` ring buffer: its head, and the packet bytes borrowed
/// from the ring (valid until the record is released).
#[derive(Debug, Clone, Copy)]
pub struct CapturedPacket<'a> {
    /// Interface, direction, length, flow and socket cookies.
    pub head: PacketHead,
    /// The packet from its link header on, `head.caplen` bytes.
    pub data: &'a [u8],
}

impl<'a> CapturedPacket<'a> {
    /// Decode one packet record.
    pub fn parse(bytes: &'a [u8]) -> Result<CapturedPacket<'a>, EventError> {
        let kind = bytes
            .get(..4)
            .map_or(0, |k| u32::from_ne_bytes([k[0], k[1], k[2], k[3]]));
        if kind != event_kind::FSIGHT_EV_PACKET {
            return Err(EventError::UnknownKind(kind));
        }
        let n = core::mem::size_of::<PacketHead>();
        let head: PacketHead = crate::event::read(bytes, kind)?;
        let len = head.caplen as usize;
        let data = bytes.get(n..n + len).ok_or(EventError::Short {
            kind,
            need: n + len,
            got: bytes.len(),
        })?;
        Ok(CapturedPacket { head, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;

    #[test]
    fn decodes_a_packet_and_refuses_short_ones() {
        let mut h = PacketHead::zeroed();
        h.hdr.kind = event_kind::FSIGHT_EV_PACKET;
        h.caplen = 3;
        h.len = 1500;
        h.egress = 1;
        let mut bytes = bytemuck::bytes_of(&h).to_vec();
        bytes.extend_from_slice(&[1, 2, 3]);
        let p = CapturedPacket::parse(&bytes).unwrap();
        assert_eq!(
            (p.data, p.head.len, p.head.egress),
            (&[1u8, 2, 3][..], 1500, 1)
        );
        for cut in 0..bytes.len() {
            assert!(CapturedPacket::parse(&bytes[..cut]).is_err(), "{cut}");
        }
        bytes[0] = 7;
        assert_eq!(
            CapturedPacket::parse(&bytes).unwrap_err(),
            EventError::UnknownKind(7)
        );
    }
}
