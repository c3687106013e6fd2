//! pcapng fixtures, built byte by byte, read back exactly: two sections in both byte
//! orders, interfaces with different link types and timestamp resolutions, every packet
//! block kind, blocks to skip, options; then every framing error.

mod common;

use common::{Bytes, Ng, Order, payload, pcapng_two_sections, read_bytes};
use flowsight_pcapfile::{
    ByteOrder, CaptureReader, FLOWSIGHT_PEN, Format, LinkType, MAX_BLOCK_LEN, ReadError, code,
};
use std::io::Cursor;

#[test]
fn two_sections_read_back_exactly() {
    let f = pcapng_two_sections();
    let r = read_bytes(&f.bytes).unwrap();
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.packets, f.packets);

    // Spot checks against hand-computed values, so the fixture's own arithmetic is checked.
    let p = &r.packets;
    assert_eq!(p.len(), 6);
    assert_eq!(p[0].ts_ns, 1_700_000_000_123_456_000); // microseconds by default
    assert_eq!(
        (p[0].link, p[0].interface, p[0].comment.as_deref()),
        (1, 0, Some("first"))
    );
    assert_eq!(p[1].ts_ns, 101_500_000_000); // 1536 / 2^10 s + 100 s offset
    assert_eq!((p[1].link, p[1].interface, p[1].orig_len), (101, 1, 1400));
    assert_eq!((p[2].ts_ns, p[2].data.len(), p[2].orig_len), (0, 64, 100)); // SPB, snaplen 64
    assert_eq!((p[3].ts_ns, p[3].interface), (107_000_000_000, 1)); // obsolete PB
    assert_eq!(p[4].ts_ns, 1_700_000_002_000_000_001); // nanoseconds, big-endian section
    assert_eq!((p[4].link, p[4].interface), (113, 2));
    assert_eq!(p[4].comment.as_deref(), Some("big-endian ✓"));
    assert_eq!((p[5].interface, p[5].data.len()), (2, 22));

    let info = &r.info;
    assert_eq!(info.format, Format::Pcapng);
    assert_eq!(info.byte_order, ByteOrder::Little);
    assert_eq!(info.version, (1, 0));
    assert_eq!(info.sections, 2);
    assert_eq!(info.application.as_deref(), Some("fixture"));
    assert_eq!(info.os.as_deref(), Some("TestOS"));
    assert_eq!(info.interface_names(), vec!["eth0", "tun0", "any"]);
    assert_eq!(
        info.link_types(),
        vec![LinkType(1), LinkType(101), LinkType(113)]
    );
    assert_eq!(info.snaplen(), 262144);
    let tun = &info.interfaces[1];
    assert_eq!((tun.tsresol, tun.tsoffset, tun.section), (0x8a, 100, 0));
    assert_eq!(info.interfaces[2].section, 1);
}

#[test]
fn options_are_exposed_in_place() {
    let f = pcapng_two_sections();
    let mut r = CaptureReader::new(Cursor::new(f.bytes)).unwrap();
    let p = r.next_packet().unwrap().unwrap();
    assert_eq!(p.comment, Some("first"));
    assert_eq!(
        p.options.get(code::EPB_FLAGS).and_then(|o| o.as_u32()),
        Some(2)
    );
    let c: Vec<_> = p.options.custom().collect();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].pen, FLOWSIGHT_PEN);
    assert_eq!(c[0].key_value(), Some(("pid", "42")));
    assert_eq!(p.options.count(), 3);
    // A packet without options.
    let p = r.next_packet().unwrap().unwrap();
    assert!(p.options.is_empty() && p.comment.is_none());
}

#[test]
fn interfaces_appear_in_info_as_they_are_met() {
    let f = pcapng_two_sections();
    let mut r = CaptureReader::new(Cursor::new(f.bytes)).unwrap();
    assert_eq!(r.info().interfaces.len(), 0);
    r.next_packet().unwrap().unwrap();
    assert_eq!(r.info().interfaces.len(), 2);
    while let Some(p) = r.next_packet() {
        p.unwrap();
    }
    assert_eq!(r.info().interfaces.len(), 3);
}

/// A section with one Ethernet interface, then the given extra blocks.
fn with_blocks(order: Order, extra: impl FnOnce(&mut Ng)) -> Vec<u8> {
    let mut ng = Ng::new();
    ng.shb(order, "t", 0);
    ng.idb(1, 0, "eth0", None, 0);
    extra(&mut ng);
    ng.bytes
}

#[test]
fn section_version_1_2_is_read_and_2_0_rejected() {
    let mut ng = Ng::new();
    ng.shb(Order::Be, "t", 2)
        .idb(1, 0, "e", None, 0)
        .epb(0, 5, &[1, 2, 3], 3, None, &[]);
    let r = read_bytes(&ng.bytes).unwrap();
    assert_eq!((r.info.version, r.packets.len()), ((1, 2), 1));
    assert_eq!(r.info.byte_order, ByteOrder::Big);

    let mut b = ng.bytes.clone();
    b[12..14].copy_from_slice(&2u16.to_be_bytes());
    assert!(matches!(
        read_bytes(&b),
        Err(ReadError::UnsupportedVersion {
            format: "pcapng",
            major: 2,
            minor: 2,
            offset: 0
        })
    ));
}

#[test]
fn unknown_interface_is_an_error_then_the_end() {
    let b = with_blocks(Order::Le, |ng| {
        ng.epb(0, 1, &[1], 1, None, &[]);
        let mut w = ng.w();
        w.u32(5).u32(0).u32(2).u32(1).u32(1).raw(&[7]).pad4();
        ng.block(6, &w.b.clone());
        ng.epb(0, 3, &[3], 1, None, &[]);
    });
    let r = read_bytes(&b).unwrap();
    assert_eq!(r.packets.len(), 1);
    match r.error {
        Some(ReadError::UnknownInterface {
            packet: 2,
            interface: 5,
            known: 1,
            ..
        }) => {}
        e => panic!("{e:?}"),
    }
}

#[test]
fn simple_packet_without_interface_is_an_error() {
    let mut ng = Ng::new();
    ng.shb(Order::Le, "t", 0);
    let mut w = ng.w();
    w.u32(4).raw(&[1, 2, 3, 4]);
    ng.block(3, &w.b.clone());
    let r = read_bytes(&ng.bytes).unwrap();
    assert!(matches!(
        r.error,
        Some(ReadError::UnknownInterface {
            interface: 0,
            known: 0,
            ..
        })
    ));
}

/// Appends a raw block header (type, length) and `rest` to a one-interface section.
fn raw_block(block_type: u32, length: u32, rest: &[u8]) -> Vec<u8> {
    with_blocks(Order::Le, |ng| {
        let mut w = Bytes::new(Order::Le);
        w.u32(block_type).u32(length).raw(rest);
        ng.bytes.extend_from_slice(&w.b);
    })
}

fn problem(b: &[u8]) -> &'static str {
    match read_bytes(b).unwrap().error {
        Some(ReadError::BlockLength { problem, .. }) => problem,
        e => panic!("{e:?}"),
    }
}

#[test]
fn impossible_block_lengths_are_errors() {
    assert_eq!(
        problem(&raw_block(6, 8, &[0; 8])),
        "is below the 12-byte minimum"
    );
    assert_eq!(
        problem(&raw_block(6, 14, &[0; 12])),
        "is not a multiple of 4"
    );
    assert_eq!(
        problem(&raw_block(5, 16, &[0, 0, 0, 0, 20, 0, 0, 0])),
        "differs from the length at the block's end"
    );
    assert_eq!(
        problem(&raw_block(6, 16, &[0, 0, 0, 0, 16, 0, 0, 0])),
        "is too short for a packet block"
    );
    // An EPB whose captured length runs past the block.
    let mut w = Bytes::new(Order::Le);
    w.u32(0)
        .u32(0)
        .u32(0)
        .u32(100)
        .u32(100)
        .raw(&[0; 8])
        .u32(40);
    assert_eq!(
        problem(&raw_block(6, 40, &w.b)),
        "is too short for the captured length it holds"
    );
    let e = read_bytes(&raw_block(6, 8, &[0; 8]))
        .unwrap()
        .error
        .unwrap();
    assert!(
        e.to_string()
            .starts_with("pcapng block type 0x00000006 at byte "),
        "{e}"
    );
}

#[test]
fn oversized_packet_blocks_are_refused_without_reading_them() {
    let r = read_bytes(&raw_block(6, 0x7fff_fff0, &[0; 16])).unwrap();
    match r.error {
        Some(ReadError::BlockTooLarge {
            length: 0x7fff_fff0,
            limit: MAX_BLOCK_LEN,
            ..
        }) => {}
        e => panic!("{e:?}"),
    }
    // A captured length over the limit, in a block that does hold it.
    let mut w = Bytes::new(Order::Le);
    w.u32(0)
        .u32(0)
        .u32(0)
        .u32(300_000)
        .u32(300_000)
        .raw(&vec![0; 300_000])
        .u32(300_032);
    let r = read_bytes(&raw_block(6, 300_032, &w.b)).unwrap();
    assert!(
        matches!(
            r.error,
            Some(ReadError::CaptureTooLarge {
                caplen: 300_000,
                ..
            })
        ),
        "{:?}",
        r.error
    );
}

#[test]
fn huge_skipped_blocks_are_streamed_past() {
    let big = 3 * MAX_BLOCK_LEN as usize;
    let b = with_blocks(Order::Be, |ng| {
        ng.epb(0, 1, &[1], 1, None, &[]);
        ng.block(0x0000_0BAD, &vec![0xab; big]);
        ng.epb(0, 2, &[2], 1, None, &[]);
    });
    let r = read_bytes(&b).unwrap();
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.packets.len(), 2);
    // The same block cut short is a truncation, not a hang or an allocation.
    let cut = &b[..b.len() - 100];
    let r = read_bytes(cut).unwrap();
    assert_eq!(r.packets.len(), 1);
    assert!(
        matches!(
            r.error,
            Some(ReadError::TruncatedRecord {
                what: "pcapng block",
                ..
            })
        ),
        "{:?}",
        r.error
    );
}

#[test]
fn timestamp_resolution_out_of_range_is_malformed() {
    let mut ng = Ng::new();
    ng.shb(Order::Le, "t", 0);
    let mut w = ng.w();
    w.u16(1).u16(0).u32(0).opt(9, &[20]).end_opt();
    ng.block(1, &w.b.clone());
    let r = read_bytes(&ng.bytes).unwrap();
    assert!(
        matches!(r.error, Some(ReadError::Malformed { block_type: 1, .. })),
        "{:?}",
        r.error
    );
}

#[test]
fn negative_offsets_and_huge_timestamps_saturate() {
    let mut ng = Ng::new();
    ng.shb(Order::Le, "t", 0);
    ng.idb(1, 0, "a", Some(0), -5);
    ng.idb(1, 0, "b", Some(0), 0);
    let b = {
        let mut ng2 = Ng::new();
        std::mem::swap(&mut ng2, &mut ng);
        let mut w = ng2.w();
        w.u32(0).u32(0).u32(3).u32(0).u32(0);
        ng2.block(6, &w.b.clone());
        let mut w = ng2.w();
        w.u32(1).u32(u32::MAX).u32(u32::MAX).u32(0).u32(0);
        ng2.block(6, &w.b.clone());
        ng2.bytes
    };
    let r = read_bytes(&b).unwrap();
    assert_eq!(r.packets[0].ts_ns, 0); // 3 s - 5 s
    assert_eq!(r.packets[1].ts_ns, u64::MAX);
}

#[test]
fn bad_byte_order_magic_first_and_later() {
    let mut b = with_blocks(Order::Le, |_| {});
    b[8] ^= 0xff;
    assert!(matches!(
        read_bytes(&b),
        Err(ReadError::NotACaptureFile { .. })
    ));

    let mut ng = Ng::new();
    ng.shb(Order::Le, "t", 0).shb(Order::Le, "u", 0);
    let second = ng.boundaries[0].0;
    let mut b = ng.bytes;
    b[second + 8] = 0;
    let r = read_bytes(&b).unwrap();
    assert!(
        matches!(
            r.error,
            Some(ReadError::Malformed {
                block_type: 0x0A0D0D0A,
                ..
            })
        ),
        "{:?}",
        r.error
    );
}

#[test]
fn a_packet_longer_than_its_padding_has_no_options() {
    // Some writers forget to pad: data running to the trailer leaves an empty option list.
    let b = with_blocks(Order::Le, |ng| {
        let mut w = ng.w();
        w.u32(0).u32(0).u32(1).u32(4).u32(4).raw(&payload(0, 4));
        ng.block(6, &w.b.clone());
    });
    let r = read_bytes(&b).unwrap();
    assert_eq!(r.packets[0].data, payload(0, 4));
}

#[test]
fn interface_descriptions_are_bounded() {
    let mut ng = Ng::new();
    ng.shb(Order::Le, "t", 0);
    for _ in 0..65_537 {
        ng.idb(1, 0, "e", None, 0);
    }
    let r = read_bytes(&ng.bytes).unwrap();
    assert_eq!(r.info.interfaces.len(), 65_536);
    assert!(
        matches!(r.error, Some(ReadError::Malformed { block_type: 1, .. })),
        "{:?}",
        r.error
    );
}
