//! Classic pcap fixtures, built byte by byte, read back exactly.

mod common;

use common::{Bytes, Order, PcapKind, payload, pcap, read_bytes};
use flowsight_pcapfile::{ByteOrder, CaptureReader, Compression, Format, LinkType, ReadError};
use std::io::Cursor;

#[test]
fn every_flavour_reads_back_exactly() {
    for order in [Order::Le, Order::Be] {
        for kind in [PcapKind::Micro, PcapKind::Nano, PcapKind::Modified] {
            let f = pcap(order, kind);
            let r = read_bytes(&f.bytes).unwrap();
            assert!(r.error.is_none(), "{}: {:?}", f.name, r.error);
            assert_eq!(r.packets, f.packets, "{}", f.name);
            let info = &r.info;
            let format = match kind {
                PcapKind::Micro => Format::Pcap,
                PcapKind::Nano => Format::PcapNanos,
                PcapKind::Modified => Format::PcapModified,
            };
            assert_eq!(info.format, format, "{}", f.name);
            let bo = if order == Order::Le {
                ByteOrder::Little
            } else {
                ByteOrder::Big
            };
            assert_eq!(info.byte_order, bo);
            assert_eq!(info.compression, Compression::None);
            assert_eq!(info.version, (2, 4));
            assert_eq!(info.snaplen(), 96);
            assert_eq!(info.link_types(), vec![LinkType::ETHERNET]);
            assert_eq!(info.interfaces.len(), 1);
            assert_eq!(info.sections, 1);
            assert_eq!(
                info.interfaces[0].tsresol,
                if kind == PcapKind::Nano { 9 } else { 6 }
            );
            assert_eq!(r.bytes_read, f.bytes.len() as u64);
        }
    }
}

#[test]
fn packet_fields_and_wire_link_type() {
    let f = pcap(Order::Le, PcapKind::Micro);
    let mut r = CaptureReader::new(Cursor::new(f.bytes)).unwrap();
    let p = r.next_packet().unwrap().unwrap();
    assert_eq!(p.ts_ns, 1_700_000_000_123_456_000);
    assert_eq!(p.link.to_wire(), flowsight_wire::link::LinkType::Ethernet);
    assert_eq!(p.interface, 0);
    assert!(p.comment.is_none());
    assert!(p.options.is_empty());
    assert_eq!(p.data, &payload(0, 60)[..]);
}

/// A pcap header with the given version, link-type field and one record.
fn one_record(
    major: u16,
    minor: u16,
    linktype: u32,
    caplen: u32,
    orig: u32,
    data: &[u8],
) -> Vec<u8> {
    let mut w = Bytes::new(Order::Le);
    w.u32(0xa1b2c3d4)
        .u16(major)
        .u16(minor)
        .u32(0)
        .u32(0)
        .u32(65535)
        .u32(linktype);
    w.u32(10).u32(20).u32(caplen).u32(orig).raw(data);
    w.b
}

#[test]
fn old_versions_swap_the_length_fields_back() {
    let data = payload(0, 8);
    // 2.2: always stored the wrong way round.
    let r = read_bytes(&one_record(2, 2, 1, 100, 8, &data)).unwrap();
    assert_eq!((r.packets[0].orig_len, r.packets[0].data.len()), (100, 8));
    // 2.3: swapped only when the captured length exceeds the original one.
    let r = read_bytes(&one_record(2, 3, 1, 100, 8, &data)).unwrap();
    assert_eq!((r.packets[0].orig_len, r.packets[0].data.len()), (100, 8));
    let r = read_bytes(&one_record(2, 3, 1, 8, 100, &data)).unwrap();
    assert_eq!((r.packets[0].orig_len, r.packets[0].data.len()), (100, 8));
}

#[test]
fn fcs_bits_of_the_link_type_field_are_ignored() {
    let r = read_bytes(&one_record(2, 4, 0x1400_0000 | 113, 4, 4, &[1, 2, 3, 4])).unwrap();
    assert_eq!(r.packets[0].link, 113);
}

#[test]
fn captured_length_above_snaplen_is_kept_but_absurd_ones_are_errors() {
    // Wireshark and libpcap keep packets longer than the header's snap length.
    let data = payload(1, 70000);
    let r = read_bytes(&one_record(2, 4, 1, 70000, 70000, &data)).unwrap();
    assert!(r.error.is_none());
    assert_eq!(r.packets[0].data.len(), 70000);

    let r = read_bytes(&one_record(2, 4, 1, 0x7fff_0000, 100, &[])).unwrap();
    match r.error {
        Some(ReadError::CaptureTooLarge {
            offset: 24,
            packet: 1,
            caplen: 0x7fff_0000,
            ..
        }) => {}
        e => panic!("{e:?}"),
    }
}

#[test]
fn header_errors_are_typed() {
    assert!(matches!(
        read_bytes(&[]),
        Err(ReadError::Empty { compressed: false })
    ));
    let e = read_bytes(b"<!DOCTYPE html>").unwrap_err();
    assert!(matches!(e, ReadError::NotACaptureFile { .. }));
    assert!(e.to_string().contains("3c 21 44 4f 43 54 59 50"), "{e}");
    assert!(matches!(
        read_bytes(&[0xd4, 0xc3, 0xb2]),
        Err(ReadError::TruncatedHeader {
            format: "pcap",
            available: 3,
            ..
        })
    ));
    let full = one_record(2, 4, 1, 0, 0, &[]);
    assert!(matches!(
        read_bytes(&full[..20]),
        Err(ReadError::TruncatedHeader {
            format: "pcap",
            needed: 24,
            available: 20
        })
    ));
    assert!(matches!(
        read_bytes(&one_record(1, 0, 1, 0, 0, &[])),
        Err(ReadError::UnsupportedVersion {
            format: "pcap",
            major: 1,
            minor: 0,
            ..
        })
    ));
}

#[test]
fn a_header_alone_is_an_empty_capture() {
    let full = one_record(2, 4, 1, 0, 0, &[]);
    let r = read_bytes(&full[..24]).unwrap();
    assert!(r.packets.is_empty() && r.error.is_none());
}

#[test]
fn truncated_record_says_where() {
    let full = one_record(2, 4, 1, 10, 10, &payload(0, 10));
    let r = read_bytes(&full[..full.len() - 3]).unwrap();
    let e = r.error.unwrap();
    assert!(e.is_truncation());
    match &e {
        ReadError::TruncatedRecord {
            offset: 24,
            packet: 1,
            what: "packet record",
            needed: 26,
            available: 23,
        } => {}
        e => panic!("{e:?}"),
    }
    assert_eq!(
        e.to_string(),
        "truncated at byte 24 (packet 1): the packet record there needs 26 bytes, the file has 23 left"
    );
}
