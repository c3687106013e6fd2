//! An annotation written into pcapng and read back with flowsight's own reader.

use flowsight_annotate::{Annotation, ContainerRef, PacketOwner, epb_options};
use flowsight_pcapfile::{
    CaptureReader, EnhancedPacket, EpbOption, FLOWSIGHT_PEN, InterfaceSpec, LinkType, PcapngWriter,
    code,
};
use std::io::Cursor;

#[test]
fn comment_and_custom_options_read_back() {
    let owner = PacketOwner {
        pid: 4242,
        name: "fs-test-client".into(),
        executable: Some("/usr/local/bin/fs-test-client".into()),
        args: vec!["fs-test-client".into(), "--fast".into()],
        uid: "0".into(),
        user: Some("root".into()),
        container: Some(ContainerRef {
            id: "deadbeef".into(),
            runtime: "docker".into(),
            name: None,
            pod_uid: None,
        }),
        netns: None,
    };
    let a = Annotation {
        owner: Some(&owner),
        community_id: Some("1:abc="),
    };
    let comment = a.comment();
    let kv = a.key_values();
    let opts = epb_options(&comment, &kv, &[EpbOption::Flags(2)]);
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    w.add_interface(&InterfaceSpec {
        link: LinkType::ETHERNET,
        snaplen: 65535,
        name: Some("veth0"),
        description: None,
    })
    .unwrap();
    let data: Vec<u8> = (0..=255u8).cycle().take(99).collect();
    for _ in 0..2 {
        w.write_packet(&EnhancedPacket {
            interface: 0,
            ts_ns: 1_800_000_000_123_456_789,
            orig_len: 1500,
            data: &data,
            options: &opts,
        })
        .unwrap();
    }
    let bytes = w.into_inner().unwrap();

    let mut r = CaptureReader::new(Cursor::new(bytes)).unwrap();
    for _ in 0..2 {
        let p = r.next_packet().unwrap().unwrap();
        assert_eq!(p.data, data);
        assert_eq!((p.orig_len, p.ts_ns), (1500, 1_800_000_000_123_456_789));
        assert_eq!(p.comment, Some(comment.as_str()));
        assert!(
            p.comment
                .unwrap()
                .starts_with("PID: 4242\nCmd: /usr/local/bin/fs-test-client\n")
        );
        assert_eq!(
            p.options.get(code::EPB_FLAGS).and_then(|o| o.as_u32()),
            Some(2)
        );
        let custom: Vec<(String, String)> = p
            .options
            .custom()
            .inspect(|c| assert!(c.pen == FLOWSIGHT_PEN && c.text && c.copyable))
            .filter_map(|c| c.key_value())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let expected: Vec<(String, String)> =
            kv.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        assert_eq!(custom, expected);
        assert!(custom.contains(&("process.pid".into(), "4242".into())));
        assert!(custom.contains(&("network.community_id".into(), "1:abc=".into())));
    }
    assert!(r.next_packet().is_none());
}
