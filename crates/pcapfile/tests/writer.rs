//! The pcapng writer: exact bytes, round trips through the reader, and tshark's view.

mod common;

use common::{TempDir, have, notice, payload, read_bytes};
use flowsight_pcapfile::{
    CaptureReader, EnhancedPacket, EpbOption, FLOWSIGHT_PEN, InterfaceSpec, LinkType, PcapngWriter,
    WriteError, code,
};
use std::io::Cursor;
use std::process::Command;

/// What a written packet should read back as: timestamp, captured length, comment.
type Expected = Vec<(u64, usize, Option<String>)>;

/// Writes a file with two interfaces and packets of every padding remainder, with and
/// without comments and custom options; returns the bytes and (ts, len, comment) expected.
fn sample() -> (Vec<u8>, Expected) {
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    let eth = w
        .add_interface(&InterfaceSpec {
            link: LinkType::ETHERNET,
            snaplen: 262144,
            name: Some("eth0"),
            description: Some("uplink"),
        })
        .unwrap();
    let raw = w
        .add_interface(&InterfaceSpec {
            link: LinkType::RAW,
            snaplen: 0,
            name: None,
            description: None,
        })
        .unwrap();
    assert_eq!((eth, raw), (0, 1));
    let mut expected = Vec::new();
    for i in 0..8usize {
        let data = payload(i, 60 + i);
        let ts = 1_700_000_000_000_000_000 + i as u64 * 1_000_000_007;
        let comment = (i % 2 == 0).then(|| format!("packet {i} from curl ✓"));
        let pid = (1000 + i).to_string();
        let mut opts = Vec::new();
        if let Some(c) = &comment {
            opts.push(EpbOption::Comment(c));
        }
        if i % 3 == 0 {
            opts.push(EpbOption::KeyValue {
                key: "pid",
                value: &pid,
            });
            opts.push(EpbOption::KeyValue {
                key: "comm",
                value: "curl",
            });
            opts.push(EpbOption::Flags(2));
        }
        w.write_packet(&EnhancedPacket {
            interface: (i % 2) as u32,
            ts_ns: ts,
            orig_len: data.len() as u32 + 100,
            data: &data,
            options: &opts,
        })
        .unwrap();
        expected.push((ts, data.len(), comment));
    }
    (w.into_inner().unwrap(), expected)
}

#[test]
fn round_trip_through_the_reader() {
    let (bytes, expected) = sample();
    assert!(bytes.len().is_multiple_of(4));
    let r = read_bytes(&bytes).unwrap();
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(r.info.application.as_deref(), Some("flowsight"));
    assert_eq!(r.info.interface_names(), vec!["eth0"]);
    assert_eq!(r.info.interfaces[0].description.as_deref(), Some("uplink"));
    assert_eq!(r.info.interfaces[0].tsresol, 9);
    assert_eq!(r.packets.len(), expected.len());
    for (i, (p, (ts, len, comment))) in r.packets.iter().zip(&expected).enumerate() {
        assert_eq!(p.ts_ns, *ts);
        assert_eq!(p.data, payload(i, *len));
        assert_eq!(p.orig_len as usize, len + 100);
        assert_eq!(p.interface, (i % 2) as u32);
        assert_eq!(p.link, if i % 2 == 0 { 1 } else { 101 });
        assert_eq!(p.comment, *comment);
    }

    // Custom options and flags, through the lending API.
    let mut r = CaptureReader::new(Cursor::new(bytes)).unwrap();
    let p = r.next_packet().unwrap().unwrap();
    let kv: Vec<_> = p
        .options
        .custom()
        .map(|c| (c.pen, c.text, c.copyable, c.key_value()))
        .collect();
    assert_eq!(
        kv,
        vec![
            (FLOWSIGHT_PEN, true, true, Some(("pid", "1000"))),
            (FLOWSIGHT_PEN, true, true, Some(("comm", "curl"))),
        ]
    );
    assert_eq!(
        p.options.get(code::EPB_FLAGS).and_then(|o| o.as_u32()),
        Some(2)
    );
}

#[test]
fn exact_bytes_of_a_small_block() {
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    let shb_len = w.get_ref().len();
    w.add_interface(&InterfaceSpec {
        link: LinkType(1),
        snaplen: 0,
        name: None,
        description: None,
    })
    .unwrap();
    let idb_len = w.get_ref().len() - shb_len;
    w.write_packet(&EnhancedPacket {
        interface: 0,
        ts_ns: 0x0000_0001_0000_0002,
        orig_len: 3,
        data: &[0xaa, 0xbb, 0xcc],
        options: &[EpbOption::CustomBinary { pen: 7, data: &[1] }],
    })
    .unwrap();
    let b = w.into_inner().unwrap();
    // SHB: 28 fixed + shb_userappl "flowsight" (4 + 9 + 3 pad) + end of options.
    assert_eq!(shb_len, 28 + 16 + 4);
    // IDB: 20 fixed + if_tsresol (4 + 1 + 3 pad) + end of options.
    assert_eq!(idb_len, 20 + 8 + 4);
    let epb = &b[shb_len + idb_len..];
    #[rustfmt::skip]
    let want: Vec<u8> = [
        &6u32.to_le_bytes()[..], &52u32.to_le_bytes(),
        &0u32.to_le_bytes(), &1u32.to_le_bytes(), &2u32.to_le_bytes(),
        &3u32.to_le_bytes(), &3u32.to_le_bytes(),
        &[0xaa, 0xbb, 0xcc, 0],
        &2989u16.to_le_bytes(), &5u16.to_le_bytes(), &7u32.to_le_bytes(), &[1, 0, 0, 0],
        &[0, 0, 0, 0],
        &52u32.to_le_bytes(),
    ].concat();
    assert_eq!(epb, &want[..]);
}

#[test]
fn invalid_packets_are_refused() {
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    let p = |interface, orig_len, data: &'static [u8]| EnhancedPacket {
        interface,
        ts_ns: 0,
        orig_len,
        data,
        options: &[],
    };
    assert!(matches!(
        w.write_packet(&p(0, 1, &[1])),
        Err(WriteError::UnknownInterface {
            interface: 0,
            known: 0
        })
    ));
    w.add_interface(&InterfaceSpec {
        link: LinkType(1),
        snaplen: 0,
        name: None,
        description: None,
    })
    .unwrap();
    assert!(matches!(
        w.write_packet(&p(0, 1, &[1, 2])),
        Err(WriteError::OrigLenTooSmall { .. })
    ));
    static BIG: [u8; 300_000] = [0; 300_000];
    assert!(matches!(
        w.write_packet(&p(0, 300_000, &BIG)),
        Err(WriteError::PacketTooLarge { .. })
    ));
    let long = "x".repeat(70_000);
    let opts = [EpbOption::Comment(&long)];
    let e = w.write_packet(&EnhancedPacket {
        interface: 0,
        ts_ns: 0,
        orig_len: 1,
        data: &[1],
        options: &opts,
    });
    assert!(matches!(
        e,
        Err(WriteError::OptionTooLong {
            code: 1,
            len: 70_000
        })
    ));
    assert!(matches!(
        w.add_interface(&InterfaceSpec {
            link: LinkType(70_000),
            snaplen: 0,
            name: None,
            description: None
        }),
        Err(WriteError::LinkTypeTooLarge(70_000))
    ));
}

#[test]
fn tshark_reads_what_we_write() {
    if !have("tshark") {
        notice("SKIP (no tshark): tshark_reads_what_we_write");
        return;
    }
    let dir = TempDir::new("writer-tshark");
    let path = dir.path("w.pcapng");
    let (bytes, expected) = sample();
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&path)
        .args([
            "-T",
            "fields",
            "-e",
            "frame.comment",
            "-e",
            "frame.len",
            "-e",
            "frame.time_epoch",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tshark failed: {stderr}");
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains("Running as user \"root\"") && !l.trim().is_empty())
        .collect();
    assert!(problems.is_empty(), "tshark complained: {problems:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), expected.len(), "{stdout}");
    for (row, (ts, len, comment)) in rows.iter().zip(&expected) {
        assert_eq!(row[0], comment.as_deref().unwrap_or(""), "{stdout}");
        assert_eq!(row[1], (len + 100).to_string());
        let want = format!("{}.{:09}", ts / 1_000_000_000, ts % 1_000_000_000);
        assert_eq!(row[2], want);
    }
}

#[test]
fn drop_count_reads_back() {
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    w.add_interface(&InterfaceSpec {
        link: LinkType::ETHERNET,
        snaplen: 0,
        name: None,
        description: None,
    })
    .unwrap();
    let data = payload(0, 60);
    w.write_packet(&EnhancedPacket {
        interface: 0,
        ts_ns: 1,
        orig_len: 60,
        data: &data,
        options: &[
            EpbOption::DropCount(12345),
            EpbOption::Comment("after a loss"),
        ],
    })
    .unwrap();
    let bytes = w.into_inner().unwrap();
    let mut r = CaptureReader::new(Cursor::new(bytes)).unwrap();
    let p = r.next_packet().unwrap().unwrap();
    assert_eq!(
        p.options.get(code::EPB_DROPCOUNT).and_then(|o| o.as_u64()),
        Some(12345)
    );
    assert_eq!(p.comment, Some("after a loss"));
    assert_eq!(p.data, data);
}
