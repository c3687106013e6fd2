//! IEEE 802.11 MAC headers: enough of them to find what a data frame carries.
//!
//! Every frame starts with a 2-byte frame control field, read little-endian: protocol
//! version (bits 0-1), type (bits 2-3), subtype (bits 4-7), then the flags ToDS, FromDS,
//! More Fragments, Retry, Power Management, More Data, Protected and Order.
//!
//! Only data frames (type 2) carry upper-layer payload. Their header is 24 bytes, plus 6
//! when ToDS and FromDS are both set (a fourth address), plus 2 for the QoS subtypes
//! (subtype bit 0x8: QoS control), plus 4 when a QoS frame has the Order bit set (HT
//! control). The subtypes with bit 0x4 set (Null, QoS Null, CF-Poll ...) carry no body.
//! The body of a data frame is an LLC header (see [`crate::llc`]) unless the frame is
//! Protected (encrypted: not decodable here) or an A-MSDU (several subframes, each with its
//! own LLC header: not decoded here).
//!
//! Captures hold these frames bare (LINKTYPE_IEEE802_11), after a radio header
//! ([`crate::radiotap`], [`crate::prism`]), or inside GRE from Aruba access points
//! ([`crate::gre::is_aruba_wlan`]). FCS handling is the radio header's business.

use crate::bytes::{le16, le32};
use crate::error::{DecodeError, Layer, need};
use crate::ethernet::Address;

mod field {
    use core::ops::Range;
    pub const FC: Range<usize> = 0..2;
    pub const DURATION: Range<usize> = 2..4;
    pub const ADDR1: Range<usize> = 4..10;
    pub const ADDR2: Range<usize> = 10..16;
    pub const ADDR3: Range<usize> = 16..22;
    pub const SEQ_CTRL: Range<usize> = 22..24;
    pub const ADDR4: Range<usize> = 24..30;
    /// The end of the header of control and extension frames, as far as it is read here.
    pub const SHORT_LEN: usize = 10;
    /// The end of the three-address header of management and data frames.
    pub const BASE_LEN: usize = 24;
}

const ADDR4_LEN: usize = 6;
const QOS_LEN: usize = 2;
const HT_CONTROL_LEN: usize = 4;

/// The longest header [`Packet::header_len`] reports: four addresses, QoS and HT control.
pub const MAX_HEADER_LEN: usize = field::BASE_LEN + ADDR4_LEN + QOS_LEN + HT_CONTROL_LEN;

const FLAG_TO_DS: u8 = 0x01;
const FLAG_FROM_DS: u8 = 0x02;
const FLAG_MORE_FRAGMENTS: u8 = 0x04;
const FLAG_RETRY: u8 = 0x08;
const FLAG_POWER_MGMT: u8 = 0x10;
const FLAG_MORE_DATA: u8 = 0x20;
const FLAG_PROTECTED: u8 = 0x40;
const FLAG_ORDER: u8 = 0x80;

/// Data subtypes with this bit carry QoS control (QoS Data, QoS Null, ...).
const SUBTYPE_QOS: u8 = 0x8;
/// Data subtypes with this bit carry no frame body (Null, QoS Null, CF-Poll, ...).
const SUBTYPE_NO_DATA: u8 = 0x4;

/// The A-MSDU Present bit of the QoS control field.
const QOS_AMSDU: u16 = 0x0080;

/// The frame type: bits 2-3 of the frame control field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameType {
    /// Management (0): beacons, probes, authentication, association, action frames.
    Management,
    /// Control (1): RTS, CTS, ACK, block ACK ...
    Control,
    /// Data (2).
    Data,
    /// Extension (3): DMG beacons and later additions.
    Extension,
}

impl From<u8> for FrameType {
    /// The type from its 2-bit value (higher bits are ignored).
    fn from(v: u8) -> FrameType {
        match v & 3 {
            0 => FrameType::Management,
            1 => FrameType::Control,
            2 => FrameType::Data,
            _ => FrameType::Extension,
        }
    }
}

/// An 802.11 MAC header: the frame control field, addresses and the QoS and HT control
/// fields of data frames.
///
/// For control and extension frames only the first 10 bytes (frame control, duration and
/// the first address) are checked and read; the other address accessors return `None`.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// The length of the smallest data frame header (three addresses, no QoS).
    pub const DATA_HEADER_LEN: usize = field::BASE_LEN;

    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer`, checking the protocol version (0) and that the whole header the
    /// frame control field announces is there (see [`Packet::header_len`]).
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        let b = buffer.as_ref();
        need(Layer::Ieee80211, b, field::FC.end)?;
        let version = b[field::FC.start] & 3;
        if version != 0 {
            return Err(DecodeError::BadVersion {
                layer: Layer::Ieee80211,
                version,
            });
        }
        let p = Packet { buffer };
        need(Layer::Ieee80211, p.buffer.as_ref(), p.header_len())?;
        Ok(p)
    }

    /// Returns the wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FC.start + 1]
    }

    /// The frame control field (little-endian, as sent).
    pub fn frame_control(&self) -> u16 {
        le16(self.buffer.as_ref(), field::FC.start)
    }

    /// The protocol version (always 0 after [`Packet::new_checked`]).
    pub fn protocol_version(&self) -> u8 {
        self.buffer.as_ref()[field::FC.start] & 3
    }

    /// The frame type.
    pub fn frame_type(&self) -> FrameType {
        FrameType::from(self.buffer.as_ref()[field::FC.start] >> 2)
    }

    /// The subtype (4 bits; its meaning depends on the type).
    pub fn subtype(&self) -> u8 {
        self.buffer.as_ref()[field::FC.start] >> 4
    }

    /// The ToDS flag: the frame goes to the distribution system.
    pub fn to_ds(&self) -> bool {
        self.flags() & FLAG_TO_DS != 0
    }

    /// The FromDS flag: the frame comes from the distribution system.
    pub fn from_ds(&self) -> bool {
        self.flags() & FLAG_FROM_DS != 0
    }

    /// The More Fragments flag.
    pub fn more_fragments(&self) -> bool {
        self.flags() & FLAG_MORE_FRAGMENTS != 0
    }

    /// The Retry flag.
    pub fn retry(&self) -> bool {
        self.flags() & FLAG_RETRY != 0
    }

    /// The Power Management flag.
    pub fn power_management(&self) -> bool {
        self.flags() & FLAG_POWER_MGMT != 0
    }

    /// The More Data flag.
    pub fn more_data(&self) -> bool {
        self.flags() & FLAG_MORE_DATA != 0
    }

    /// The Protected flag: the body is encrypted (WEP, TKIP, CCMP, GCMP).
    pub fn protected(&self) -> bool {
        self.flags() & FLAG_PROTECTED != 0
    }

    /// The Order flag (+HTC in QoS data and management frames: an HT control field).
    pub fn order(&self) -> bool {
        self.flags() & FLAG_ORDER != 0
    }

    /// True for data frames.
    pub fn is_data(&self) -> bool {
        self.frame_type() == FrameType::Data
    }

    /// True for the QoS data subtypes (they carry a QoS control field).
    pub fn is_qos(&self) -> bool {
        self.is_data() && self.subtype() & SUBTYPE_QOS != 0
    }

    /// True for data frames whose subtype has a frame body (not Null, QoS Null, CF-Poll,
    /// CF-Ack without data ...).
    pub fn has_body(&self) -> bool {
        self.is_data() && self.subtype() & SUBTYPE_NO_DATA == 0
    }

    fn has_addr4(&self) -> bool {
        self.is_data() && self.to_ds() && self.from_ds()
    }

    fn has_ht_control(&self) -> bool {
        match self.frame_type() {
            FrameType::Management => self.order(),
            FrameType::Data => self.is_qos() && self.order(),
            FrameType::Control | FrameType::Extension => false,
        }
    }

    fn qos_at(&self) -> usize {
        field::BASE_LEN + if self.has_addr4() { ADDR4_LEN } else { 0 }
    }

    /// The header length in bytes: for data frames 24, +6 with four addresses, +2 for QoS,
    /// +4 for HT control; for management frames 24, +4 for HT control; for control and
    /// extension frames the 10 bytes read here.
    pub fn header_len(&self) -> usize {
        match self.frame_type() {
            FrameType::Control | FrameType::Extension => field::SHORT_LEN,
            FrameType::Management | FrameType::Data => {
                let mut n = self.qos_at();
                if self.is_qos() {
                    n += QOS_LEN;
                }
                if self.has_ht_control() {
                    n += HT_CONTROL_LEN;
                }
                n
            }
        }
    }

    /// The duration / association id field.
    pub fn duration(&self) -> u16 {
        le16(self.buffer.as_ref(), field::DURATION.start)
    }

    fn address(&self, at: core::ops::Range<usize>) -> Address {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[at]);
        a
    }

    fn long_header(&self) -> bool {
        matches!(self.frame_type(), FrameType::Management | FrameType::Data)
    }

    /// Address 1: the receiver.
    pub fn addr1(&self) -> Address {
        self.address(field::ADDR1)
    }

    /// Address 2 (the transmitter), for management and data frames.
    pub fn addr2(&self) -> Option<Address> {
        self.long_header().then(|| self.address(field::ADDR2))
    }

    /// Address 3, for management and data frames.
    pub fn addr3(&self) -> Option<Address> {
        self.long_header().then(|| self.address(field::ADDR3))
    }

    /// Address 4, for data frames with both ToDS and FromDS set.
    pub fn addr4(&self) -> Option<Address> {
        self.has_addr4().then(|| self.address(field::ADDR4))
    }

    /// The sequence control field (fragment number and sequence number), for management
    /// and data frames.
    pub fn sequence_control(&self) -> Option<u16> {
        self.long_header()
            .then(|| le16(self.buffer.as_ref(), field::SEQ_CTRL.start))
    }

    /// The destination address of a data frame, wherever the DS flags put it.
    pub fn destination(&self) -> Option<Address> {
        if !self.is_data() {
            return None;
        }
        Some(if self.to_ds() {
            self.address(field::ADDR3)
        } else {
            self.address(field::ADDR1)
        })
    }

    /// The source address of a data frame, wherever the DS flags put it.
    pub fn source(&self) -> Option<Address> {
        if !self.is_data() {
            return None;
        }
        Some(match (self.to_ds(), self.from_ds()) {
            (true, true) => self.address(field::ADDR4),
            (false, true) => self.address(field::ADDR3),
            _ => self.address(field::ADDR2),
        })
    }

    /// The QoS control field (little-endian), for QoS data frames.
    pub fn qos_control(&self) -> Option<u16> {
        self.is_qos()
            .then(|| le16(self.buffer.as_ref(), self.qos_at()))
    }

    /// The traffic identifier (user priority) of a QoS data frame.
    pub fn tid(&self) -> Option<u8> {
        self.qos_control().map(|q| (q & 0x0f) as u8)
    }

    /// True for a QoS data frame whose body is an A-MSDU (several subframes).
    pub fn is_amsdu(&self) -> bool {
        self.qos_control().is_some_and(|q| q & QOS_AMSDU != 0)
    }

    /// The HT control field (little-endian), when the Order bit announces one.
    pub fn ht_control(&self) -> Option<u32> {
        let at = self.qos_at() + if self.is_qos() { QOS_LEN } else { 0 };
        self.has_ht_control()
            .then(|| le32(self.buffer.as_ref(), at))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the header: for a data frame its body (an LLC header when neither
    /// Protected nor an A-MSDU), possibly followed by an FCS.
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        &b[Packet::new_unchecked(b).header_len()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STA: Address = [0x02, 0, 0, 0, 0, 0x01];
    const AP: Address = [0x02, 0, 0, 0, 0, 0x02];
    const DST: Address = [0x02, 0, 0, 0, 0, 0x03];
    const SRC4: Address = [0x02, 0, 0, 0, 0, 0x04];

    /// A data header: frame control bytes, the addresses, then `extra` (QoS, HT control).
    fn header(fc: [u8; 2], addr4: bool, extra: &[u8]) -> Vec<u8> {
        let mut h = vec![fc[0], fc[1], 0x2c, 0x00];
        h.extend_from_slice(&AP);
        h.extend_from_slice(&STA);
        h.extend_from_slice(&DST);
        h.extend_from_slice(&[0x30, 0x12]);
        if addr4 {
            h.extend_from_slice(&SRC4);
        }
        h.extend_from_slice(extra);
        h
    }

    #[test]
    fn plain_data_to_ds() {
        let mut f = header([0x08, 0x01], false, &[]);
        f.extend_from_slice(&[0xaa, 0xaa, 0x03]);
        let p = Packet::new_checked(&f[..]).unwrap();
        assert_eq!(p.frame_control(), 0x0108);
        assert_eq!(p.protocol_version(), 0);
        assert_eq!((p.frame_type(), p.subtype()), (FrameType::Data, 0));
        assert!(p.to_ds() && !p.from_ds());
        assert!(!p.protected() && !p.order() && !p.retry() && !p.more_data());
        assert!(!p.more_fragments() && !p.power_management());
        assert!(p.is_data() && p.has_body() && !p.is_qos() && !p.is_amsdu());
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.duration(), 44);
        assert_eq!(p.sequence_control(), Some(0x1230));
        assert_eq!(
            (p.addr1(), p.addr2(), p.addr3()),
            (AP, Some(STA), Some(DST))
        );
        assert_eq!(
            (p.addr4(), p.qos_control(), p.ht_control()),
            (None, None, None)
        );
        // ToDS: the BSSID is address 1, the destination address 3.
        assert_eq!((p.source(), p.destination()), (Some(STA), Some(DST)));
        assert_eq!(p.payload(), &[0xaa, 0xaa, 0x03]);
    }

    #[test]
    fn qos_data_with_ht_control_and_four_addresses() {
        // QoS data (subtype 8), ToDS+FromDS, Order: 24 + 6 + 2 + 4.
        let f = header([0x88, 0x83], true, &[0x85, 0x00, 1, 2, 3, 4]);
        let p = Packet::new_checked(&f[..]).unwrap();
        assert!(p.is_qos() && p.has_body() && p.order());
        assert_eq!(p.header_len(), 36);
        assert_eq!(p.addr4(), Some(SRC4));
        assert_eq!((p.source(), p.destination()), (Some(SRC4), Some(DST)));
        assert_eq!(p.qos_control(), Some(0x0085));
        assert_eq!(p.tid(), Some(5));
        assert!(p.is_amsdu());
        assert_eq!(p.ht_control(), Some(0x0403_0201));
        assert!(p.payload().is_empty());
        // The same frame cut anywhere before its end is an error naming the full length.
        for n in 2..f.len() {
            assert_eq!(
                Packet::new_checked(&f[..n]).unwrap_err(),
                DecodeError::Truncated {
                    layer: Layer::Ieee80211,
                    needed: 36,
                    got: n
                }
            );
        }
    }

    #[test]
    fn from_ds_and_null_frames() {
        let f = header([0x08, 0x02], false, &[]);
        let p = Packet::new_checked(&f[..]).unwrap();
        assert_eq!((p.source(), p.destination()), (Some(DST), Some(AP)));
        // Null (subtype 4) and QoS Null (12) carry nothing.
        let f = header([0x48, 0x01], false, &[]);
        assert!(!Packet::new_checked(&f[..]).unwrap().has_body());
        let f = header([0xc8, 0x01], false, &[0, 0]);
        let p = Packet::new_checked(&f[..]).unwrap();
        assert!(p.is_qos() && !p.has_body());
        assert_eq!(p.header_len(), 26);
    }

    #[test]
    fn other_frame_types() {
        // A beacon: management, subtype 8, 24-byte header.
        let f = header([0x80, 0x00], false, &[0x11]);
        let p = Packet::new_checked(&f[..]).unwrap();
        assert_eq!((p.frame_type(), p.subtype()), (FrameType::Management, 8));
        assert!(!p.is_data() && !p.has_body() && !p.is_qos());
        assert_eq!(p.header_len(), 24);
        assert_eq!((p.source(), p.destination()), (None, None));
        assert_eq!(p.payload(), &[0x11]);
        // A management frame with +HTC.
        let f = header([0xd0, 0x80], false, &[9, 0, 0, 0]);
        let p = Packet::new_checked(&f[..]).unwrap();
        assert_eq!((p.header_len(), p.ht_control()), (28, Some(9)));
        // An ACK: control, 10 bytes.
        let ack = [0xd4, 0x00, 0x00, 0x00, 2, 0, 0, 0, 0, 1];
        let p = Packet::new_checked(&ack[..]).unwrap();
        assert_eq!((p.frame_type(), p.subtype()), (FrameType::Control, 13));
        assert_eq!(p.header_len(), 10);
        assert_eq!(p.addr1(), STA);
        assert_eq!(
            (p.addr2(), p.addr3(), p.sequence_control()),
            (None, None, None)
        );
        assert!(p.payload().is_empty());
        assert_eq!(FrameType::from(3), FrameType::Extension);
    }

    #[test]
    fn rejects_other_versions_and_short_buffers() {
        let f = header([0x09, 0x01], false, &[]);
        assert_eq!(
            Packet::new_checked(&f[..]).unwrap_err(),
            DecodeError::BadVersion {
                layer: Layer::Ieee80211,
                version: 1
            }
        );
        for n in 0..2 {
            assert!(matches!(
                Packet::new_checked(&f[..n]),
                Err(DecodeError::Truncated {
                    layer: Layer::Ieee80211,
                    needed: 2,
                    ..
                })
            ));
        }
    }
}
