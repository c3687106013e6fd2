//! IEEE 802.2 LLC headers and their SNAP extension, as they follow an 802.11 data header.
//!
//! LLC is a DSAP, an SSAP and a control field (one byte for unnumbered frames, two for
//! information and supervisory ones). SNAP (DSAP = SSAP = 0xAA, control 0x03) adds a 3-byte
//! OUI and a 2-byte protocol id; with the OUI 00-00-00 (RFC 1042) or 00-00-F8 (802.1H
//! bridge tunnel) the protocol id is an EtherType, which is how 802.11 carries IP.

use crate::bytes::be16;
use crate::error::{DecodeError, Layer, need};
use crate::ethernet::EtherType;

mod field {
    use core::ops::Range;
    pub const DSAP: usize = 0;
    pub const SSAP: usize = 1;
    pub const CONTROL: usize = 2;
    pub const OUI: Range<usize> = 3..6;
    pub const PID: Range<usize> = 6..8;
    pub const SNAP_LEN: usize = 8;
}

/// The SAP value that announces a SNAP header (0xAA).
pub const SAP_SNAP: u8 = 0xaa;

/// The unnumbered-information control value SNAP is sent with (0x03).
pub const CONTROL_UI: u8 = 0x03;

/// The SNAP OUI of RFC 1042 encapsulation: the protocol id is an EtherType.
pub const OUI_RFC1042: [u8; 3] = [0x00, 0x00, 0x00];

/// The SNAP OUI of 802.1H bridge tunnel encapsulation: the protocol id is an EtherType.
pub const OUI_BRIDGE_TUNNEL: [u8; 3] = [0x00, 0x00, 0xf8];

/// The shortest LLC header (DSAP, SSAP and a one-byte control field).
pub const MIN_HEADER_LEN: usize = 3;

/// An LLC header, with its SNAP extension when it has one.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking that the whole header is there: 3 bytes, 4 for a two-byte
    /// control field, 8 with SNAP.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        need(Layer::Llc, buffer.as_ref(), MIN_HEADER_LEN)?;
        let p = Packet { buffer };
        need(Layer::Llc, p.buffer.as_ref(), p.header_len())?;
        Ok(p)
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The destination service access point.
    pub fn dsap(&self) -> u8 {
        self.buffer.as_ref()[field::DSAP]
    }

    /// The source service access point.
    pub fn ssap(&self) -> u8 {
        self.buffer.as_ref()[field::SSAP]
    }

    /// The first byte of the control field.
    pub fn control(&self) -> u8 {
        self.buffer.as_ref()[field::CONTROL]
    }

    /// True when the control field is two bytes long (information and supervisory frames).
    fn long_control(&self) -> bool {
        self.control() & 0x03 != 0x03
    }

    /// True for a SNAP header (DSAP and SSAP 0xAA, control 0x03).
    pub fn is_snap(&self) -> bool {
        self.dsap() == SAP_SNAP && self.ssap() == SAP_SNAP && self.control() == CONTROL_UI
    }

    /// The header length in bytes: 3 or 4, or 8 with SNAP.
    pub fn header_len(&self) -> usize {
        if self.is_snap() {
            field::SNAP_LEN
        } else if self.long_control() {
            MIN_HEADER_LEN + 1
        } else {
            MIN_HEADER_LEN
        }
    }

    /// The SNAP organizationally unique identifier, for a SNAP header.
    pub fn oui(&self) -> Option<[u8; 3]> {
        let mut o = [0; 3];
        self.is_snap().then(|| {
            o.copy_from_slice(&self.buffer.as_ref()[field::OUI]);
            o
        })
    }

    /// The SNAP protocol id, for a SNAP header (its meaning depends on the OUI).
    pub fn protocol_id(&self) -> Option<u16> {
        self.is_snap()
            .then(|| be16(self.buffer.as_ref(), field::PID.start))
    }

    /// What follows, for a SNAP header whose OUI says the protocol id is an EtherType
    /// ([`OUI_RFC1042`] or [`OUI_BRIDGE_TUNNEL`]); `None` for anything else.
    pub fn ethertype(&self) -> Option<EtherType> {
        match self.oui()? {
            OUI_RFC1042 | OUI_BRIDGE_TUNNEL => self.protocol_id().map(EtherType::from),
            _ => None,
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the header.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        &b[Packet::new_unchecked(b).header_len()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAP_IPV4: [u8; 9] = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00, 0x45];

    #[test]
    fn snap_rfc1042() {
        let p = Packet::new_checked(&SNAP_IPV4[..]).unwrap();
        assert!(p.is_snap());
        assert_eq!((p.dsap(), p.ssap(), p.control()), (0xaa, 0xaa, 0x03));
        assert_eq!(p.oui(), Some(OUI_RFC1042));
        assert_eq!(p.protocol_id(), Some(0x0800));
        assert_eq!(p.ethertype(), Some(EtherType::Ipv4));
        assert_eq!(p.header_len(), 8);
        assert_eq!(p.payload(), &[0x45]);
    }

    #[test]
    fn snap_bridge_tunnel_and_other_ouis() {
        let tunnel = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0xf8, 0x86, 0xdd];
        let p = Packet::new_checked(&tunnel[..]).unwrap();
        assert_eq!(p.ethertype(), Some(EtherType::Ipv6));
        // Cisco's OUI: the protocol id is Cisco's (0x2000 is CDP), not an EtherType.
        let cisco = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00];
        let p = Packet::new_checked(&cisco[..]).unwrap();
        assert_eq!(p.oui(), Some([0, 0, 0x0c]));
        assert_eq!(p.protocol_id(), Some(0x2000));
        assert_eq!(p.ethertype(), None);
    }

    #[test]
    fn plain_llc() {
        // Spanning tree: DSAP/SSAP 0x42, UI.
        let stp = [0x42, 0x42, 0x03, 0x00, 0x00];
        let p = Packet::new_checked(&stp[..]).unwrap();
        assert!(!p.is_snap());
        assert_eq!(p.header_len(), 3);
        assert_eq!(
            (p.oui(), p.protocol_id(), p.ethertype()),
            (None, None, None)
        );
        assert_eq!(p.payload(), &[0, 0]);
        // An information frame has a two-byte control field.
        let i_frame = [0xf0, 0xf0, 0x00, 0x02, 0x99];
        let p = Packet::new_checked(&i_frame[..]).unwrap();
        assert_eq!(p.header_len(), 4);
        assert_eq!(p.payload(), &[0x99]);
        assert!(matches!(
            Packet::new_checked(&i_frame[..3]),
            Err(DecodeError::Truncated {
                layer: Layer::Llc,
                needed: 4,
                got: 3
            })
        ));
    }

    #[test]
    fn truncated_prefixes_are_errors() {
        for n in 0..8 {
            let needed = if n < 3 { 3 } else { 8 };
            assert_eq!(
                Packet::new_checked(&SNAP_IPV4[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Llc,
                    needed,
                    got: n
                }
            );
        }
    }
}
