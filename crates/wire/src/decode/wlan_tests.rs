//! IEEE 802.11: bare, after radiotap / Prism / AVS headers, and in Aruba's GRE.

use super::*;
use crate::testutil::*;

const V4_ETH: u16 = 0x0800;

const BSSID: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
const STA: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const DST: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const SRC4: [u8; 6] = [0x02, 0, 0, 0, 0, 0x04];

/// An 802.11 header: frame control bytes, duration, three addresses, sequence control,
/// address 4 when both DS bits are set, then `extra` (QoS control, HT control).
fn wlan(fc: [u8; 2], extra: &[u8], body: &[u8]) -> Vec<u8> {
    let mut f = vec![fc[0], fc[1], 0x2c, 0x00];
    f.extend_from_slice(&BSSID);
    f.extend_from_slice(&STA);
    f.extend_from_slice(&DST);
    f.extend_from_slice(&[0x10, 0x00]);
    if fc[1] & 3 == 3 {
        f.extend_from_slice(&SRC4);
    }
    f.extend_from_slice(extra);
    f.extend_from_slice(body);
    f
}

/// An RFC 1042 SNAP header naming `ethertype`, then `payload`.
fn snap(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00];
    b.extend_from_slice(&ethertype.to_be_bytes());
    b.extend_from_slice(payload);
    b
}

/// A data frame to the AP (ToDS) carrying the tunnel tests' IPv4/UDP packet.
fn data_frame() -> Vec<u8> {
    let (inner, _, _) = inner_v4_udp();
    wlan([0x08, 0x01], &[], &snap(V4_ETH, &inner))
}

/// A QoS data frame (TID 5) from the AP (FromDS) carrying the same packet.
fn qos_frame() -> Vec<u8> {
    let (inner, _, _) = inner_v4_udp();
    wlan([0x88, 0x02], &[0x05, 0x00], &snap(V4_ETH, &inner))
}

fn assert_inner_udp(r: &Decoded<'_>, ip_offset: usize) {
    let (_, s, d) = inner_v4_udp();
    let ip = r.ip.unwrap();
    assert_eq!((ip.src, ip.dst), (s, d));
    assert_eq!(ip.offset, ip_offset);
    assert_eq!(r.ethertype, Some(EtherType::Ipv4));
    assert_eq!(r.ports(), Some((1111, 2222)));
    assert_eq!(r.payload, b"inner");
    assert_eq!(r.verify_l4_checksum(), Some(true));
    assert!(!r.truncated);
    assert_eq!(r.inner_error, None);
}

#[test]
fn bare_data_and_qos_data() {
    let f = data_frame();
    let r = decode(LinkType::Ieee80211, &f).unwrap();
    assert_inner_udp(&r, 24 + 8);
    assert_eq!(r.link, LinkType::Ieee80211);
    assert!(r.encaps.is_empty() && r.outer_ip.is_none());

    let f = qos_frame();
    let r = decode(LinkType::Ieee80211, &f).unwrap();
    assert_inner_udp(&r, 26 + 8);

    // QoS with the Order bit: a 4-byte HT control field follows QoS control.
    let (inner, _, _) = inner_v4_udp();
    let f = wlan([0x88, 0x81], &[0, 0, 1, 2, 3, 4], &snap(V4_ETH, &inner));
    assert_inner_udp(&decode(LinkType::Ieee80211, &f).unwrap(), 30 + 8);
    // The Order bit on a non-QoS data frame adds nothing.
    let f = wlan([0x08, 0x81], &[], &snap(V4_ETH, &inner));
    assert_inner_udp(&decode(LinkType::Ieee80211, &f).unwrap(), 24 + 8);
    // The 802.1H bridge-tunnel OUI names an EtherType too.
    let mut body = snap(V4_ETH, &inner);
    body[5] = 0xf8;
    let f = wlan([0x08, 0x02], &[], &body);
    assert_inner_udp(&decode(LinkType::Ieee80211, &f).unwrap(), 24 + 8);
}

#[test]
fn four_addresses_ipv6_and_a_vlan_tag() {
    let (s, d) = (v6(1), v6(2));
    let pkt = ipv6(s, d, 17, &udp(s, d, 5353, 5353, b"mdns"));
    let mut tagged = vec![0x00, 0x07, 0x86, 0xdd];
    tagged.extend_from_slice(&pkt);
    // QoS data, ToDS and FromDS (a mesh or WDS link): 24 + 6 + 2.
    let f = wlan([0x88, 0x03], &[0x00, 0x00], &snap(0x8100, &tagged));
    let r = decode(LinkType::Ieee80211, &f).unwrap();
    let ip = r.ip.unwrap();
    assert_eq!((ip.src, ip.dst, ip.offset), (s, d, 32 + 8 + 4));
    assert_eq!(r.vlan, Some(7));
    assert_eq!(r.encaps.as_slice(), &[Encap::Vlan { id: 7 }]);
    assert_eq!(r.ethertype, Some(EtherType::Ipv6));
    assert_eq!(r.payload, b"mdns");
    assert_eq!(r.verify_l4_checksum(), Some(true));
}

#[test]
fn frames_that_are_not_ip() {
    let (inner, _, _) = inner_v4_udp();
    let cases: Vec<(&str, Vec<u8>, usize)> = vec![
        ("beacon", wlan([0x80, 0x00], &[], &[0; 12]), 24),
        ("ack", vec![0xd4, 0x00, 0, 0, 2, 0, 0, 0, 0, 1], 10),
        ("null", wlan([0x48, 0x01], &[], &[]), 24),
        ("qos null", wlan([0xc8, 0x01], &[0, 0], &[]), 26),
        // Protected null frames carry nothing either: not an error.
        ("protected null", wlan([0x48, 0x41], &[], &[]), 24),
        // Spanning tree over plain LLC.
        (
            "llc",
            wlan([0x08, 0x01], &[], &[0x42, 0x42, 0x03, 0, 0]),
            27,
        ),
        // SNAP with Cisco's OUI: the protocol id is not an EtherType.
        (
            "cisco snap",
            wlan([0x08, 0x01], &[], &[0xaa, 0xaa, 0x03, 0, 0, 0x0c, 0x20, 0]),
            32,
        ),
        ("arp", wlan([0x08, 0x01], &[], &snap(0x0806, &[0; 28])), 32),
    ];
    for (what, f, off) in cases {
        let r = decode(LinkType::Ieee80211, &f).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!((r.ip, r.l4), (None, L4::None), "{what}");
        assert_eq!(r.l4_offset, off, "{what}");
        assert_eq!(r.segment, &f[off..], "{what}");
    }
    let f = wlan([0x08, 0x01], &[], &snap(0x0806, &inner));
    let r = decode(LinkType::Ieee80211, &f).unwrap();
    assert_eq!(r.ethertype, Some(EtherType::Arp));
}

#[test]
fn protected_and_aggregated_frames_are_unsupported() {
    // CCMP: the body starts with the 8-byte CCMP header, then ciphertext.
    let f = wlan(
        [0x88, 0x41],
        &[0, 0],
        &[1, 0, 0, 0x20, 0, 0, 0, 0, 0x99, 0x98],
    );
    assert_eq!(
        decode(LinkType::Ieee80211, &f).unwrap_err(),
        DecodeError::Unsupported {
            layer: Layer::Ieee80211,
            what: "protected (encrypted) frame"
        }
    );
    let (inner, _, _) = inner_v4_udp();
    let mut sub = vec![0; 12];
    sub.extend_from_slice(&((8 + inner.len()) as u16).to_be_bytes());
    sub.extend_from_slice(&snap(V4_ETH, &inner));
    let f = wlan([0x88, 0x02], &[0x80, 0x00], &sub);
    assert_eq!(
        decode(LinkType::Ieee80211, &f).unwrap_err(),
        DecodeError::Unsupported {
            layer: Layer::Ieee80211,
            what: "A-MSDU"
        }
    );
    // Another protocol version.
    let mut f = data_frame();
    f[0] |= 2;
    assert!(matches!(
        decode(LinkType::Ieee80211, &f),
        Err(DecodeError::BadVersion {
            layer: Layer::Ieee80211,
            version: 2
        })
    ));
}

/// Every prefix of `frame` either fails with a `Truncated` error (cut before the end of
/// the UDP header, which ends `l4_end` bytes in) or decodes as a truncated capture.
fn assert_prefixes(link: LinkType, frame: &[u8], l4_end: usize) {
    for n in 0..frame.len() {
        match decode(link, &frame[..n]) {
            Err(DecodeError::Truncated { got, .. }) => {
                assert!(n < l4_end, "{link:?} cut at {n}: unexpected error");
                assert!(got <= n);
            }
            Err(e) => panic!("{link:?} cut at {n}: {e}"),
            Ok(r) => {
                assert!(n >= l4_end, "{link:?} cut at {n}: decoded");
                assert!(r.truncated, "{link:?} cut at {n}");
                assert_eq!(r.ports(), Some((1111, 2222)));
            }
        }
    }
    assert!(!decode(link, frame).unwrap().truncated);
}

#[test]
fn truncated_at_every_length() {
    let f = data_frame();
    assert_prefixes(LinkType::Ieee80211, &f, 32 + 28);
    let f = qos_frame();
    assert_prefixes(LinkType::Ieee80211, &f, 34 + 28);
    let mut r = RADIOTAP.to_vec();
    r.extend_from_slice(&f);
    assert_prefixes(LinkType::Ieee80211Radiotap, &r, 25 + 34 + 28);
}

/// A real radiotap header (Zeek's radiotap.pcap, frame 3): TSFT, then Flags 0x12 (FCS at
/// the end, short preamble), and radio fields; 25 bytes.
const RADIOTAP: [u8; 25] = [
    0x00, 0x00, 0x19, 0x00, 0x6f, 0x08, 0x00, 0x00, 0x88, 0x67, 0xce, 0x5f, 0x00, 0x00, 0x00, 0x00,
    0x12, 0x0c, 0xa4, 0x15, 0x40, 0x01, 0xc6, 0xa3, 0x01,
];

#[test]
fn radiotap_with_fcs_and_with_data_padding() {
    // The FCS after the datagram is cut by the IP and UDP lengths.
    let mut f = RADIOTAP.to_vec();
    f.extend_from_slice(&qos_frame());
    f.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    let r = decode(LinkType::Ieee80211Radiotap, &f).unwrap();
    assert_inner_udp(&r, 25 + 26 + 8);

    // Flags with DATAPAD (no TSFT): the 26-byte QoS header is padded to 28.
    let (inner, _, _) = inner_v4_udp();
    let mut f = vec![0, 0, 9, 0, 0x02, 0, 0, 0, 0x20];
    f.extend_from_slice(&wlan(
        [0x88, 0x01],
        &[0, 0, 0xff, 0xff],
        &snap(V4_ETH, &inner),
    ));
    let r = decode(LinkType::Ieee80211Radiotap, &f).unwrap();
    assert_inner_udp(&r, 9 + 28 + 8);
    // A 24-byte header needs no padding.
    let mut f = vec![0, 0, 9, 0, 0x02, 0, 0, 0, 0x20];
    f.extend_from_slice(&data_frame());
    assert_inner_udp(
        &decode(LinkType::Ieee80211Radiotap, &f).unwrap(),
        9 + 24 + 8,
    );
    // Padding announced but the frame ends inside it.
    let mut f = vec![0, 0, 9, 0, 0x02, 0, 0, 0, 0x20];
    f.extend_from_slice(&wlan([0x88, 0x01], &[0, 0, 0xff], &[]));
    assert_eq!(
        decode(LinkType::Ieee80211Radiotap, &f).unwrap_err(),
        DecodeError::Truncated {
            layer: Layer::Ieee80211,
            needed: 28,
            got: 27
        }
    );
    // A broken radiotap header.
    assert!(matches!(
        decode(LinkType::Ieee80211Radiotap, &[1, 0, 8, 0, 0, 0, 0, 0]),
        Err(DecodeError::BadVersion {
            layer: Layer::Radiotap,
            ..
        })
    ));
}

#[test]
fn prism_and_avs_headers() {
    let mut f = vec![0u8; 144];
    f[0] = 0x44;
    f.extend_from_slice(&data_frame());
    let r = decode(LinkType::Ieee80211Prism, &f).unwrap();
    assert_inner_udp(&r, 144 + 24 + 8);

    let mut avs = vec![0x80, 0x21, 0x10, 0x01, 0, 0, 0, 64];
    avs.resize(64, 0);
    avs.extend_from_slice(&qos_frame());
    assert_inner_udp(&decode(LinkType::Ieee80211Avs, &avs).unwrap(), 64 + 26 + 8);
    // Under the Prism link type, the AVS cookie says which header it is.
    assert_inner_udp(
        &decode(LinkType::Ieee80211Prism, &avs).unwrap(),
        64 + 26 + 8,
    );

    assert!(matches!(
        decode(LinkType::Ieee80211Prism, &f[..100]),
        Err(DecodeError::Truncated {
            layer: Layer::Prism,
            needed: 144,
            got: 100
        })
    ));
    assert!(matches!(
        decode(LinkType::Ieee80211Avs, &f),
        Err(DecodeError::BadVersion {
            layer: Layer::Avs,
            ..
        })
    ));
}

/// Ethernet + IPv4 + GRE with protocol type `proto`, carrying `inner`.
fn aruba(proto: u16, inner: &[u8]) -> Vec<u8> {
    let (o1, o2) = (v4(10, 3, 34, 171), v4(10, 33, 10, 23));
    let mut g = vec![0x00, 0x00];
    g.extend_from_slice(&proto.to_be_bytes());
    g.extend_from_slice(inner);
    eth(&[(0x8100, 300)], V4_ETH, &ipv4(o1, o2, 47, &g))
}

#[test]
fn aruba_gre() {
    let f = aruba(0x8200, &qos_frame());
    let r = decode(LinkType::Ethernet, &f).unwrap();
    assert_inner_udp(&r, 18 + 20 + 4 + 26 + 8);
    assert_eq!(r.outer_ip.unwrap().src, v4(10, 3, 34, 171));
    assert_eq!(r.vlan, Some(300));
    assert_eq!(
        r.encaps.as_slice(),
        &[
            Encap::Vlan { id: 300 },
            Encap::Gre { key: None },
            Encap::Ieee80211
        ]
    );
    assert_eq!(r.encaps.tunnels(), 1);
    let f = aruba(0x8370, &data_frame());
    let r = decode(LinkType::Ethernet, &f).unwrap();
    assert_inner_udp(&r, 18 + 20 + 4 + 24 + 8);

    // Not an Aruba type: the GRE packet itself.
    let f = aruba(0x8201, &data_frame());
    let r = decode(LinkType::Ethernet, &f).unwrap();
    assert_eq!(r.ip.unwrap().protocol, IpProtocol::Gre);
    assert_eq!(r.inner_error, None);

    // Encrypted inside the tunnel: the GRE packet, with why.
    let ccmp = wlan([0x88, 0x41], &[0, 0], &[1, 0, 0, 0x20, 0, 0, 0, 0, 0x99]);
    let f = aruba(0x8300, &ccmp);
    let r = decode(LinkType::Ethernet, &f).unwrap();
    assert_eq!(r.ip.unwrap().protocol, IpProtocol::Gre);
    assert_eq!(r.ports(), None);
    assert_eq!(
        r.inner_error,
        Some(DecodeError::Unsupported {
            layer: Layer::Ieee80211,
            what: "protected (encrypted) frame"
        })
    );
    assert_eq!(r.encaps.as_slice(), &[Encap::Vlan { id: 300 }]);

    // A management frame inside: the GRE packet, no error.
    let beacon = wlan([0x80, 0x00], &[], &[0; 12]);
    let f = aruba(0x8210, &beacon);
    let r = decode(LinkType::Ethernet, &f).unwrap();
    assert_eq!(
        (r.ip.unwrap().protocol, r.inner_error),
        (IpProtocol::Gre, None)
    );

    // Cut anywhere inside the 802.11 frame: the GRE packet, never a panic.
    let full = aruba(0x8200, &qos_frame());
    for n in 18 + 20 + 4..full.len() {
        let r = decode(LinkType::Ethernet, &full[..n]).unwrap();
        assert!(r.ip.is_some());
    }
}

#[test]
fn random_and_mutated_80211_frames_never_panic() {
    let links = [
        LinkType::Ieee80211,
        LinkType::Ieee80211Radiotap,
        LinkType::Ieee80211Prism,
        LinkType::Ieee80211Avs,
        LinkType::Ethernet,
    ];
    let mut radiotap = RADIOTAP.to_vec();
    radiotap.extend_from_slice(&qos_frame());
    let mut prism = vec![0u8; 144];
    prism.extend_from_slice(&data_frame());
    let mut avs = vec![0x80, 0x21, 0x10, 0x02, 0, 0, 0, 8];
    avs.extend_from_slice(&qos_frame());
    let samples = [
        data_frame(),
        qos_frame(),
        radiotap,
        prism,
        avs,
        aruba(0x8200, &qos_frame()),
    ];
    let mut rng = XorShift(0x5eed_8021_1000_0001);
    for i in 0..30_000 {
        let link = links[i % links.len()];
        let bytes = if i.is_multiple_of(4) {
            rng.bytes(96)
        } else {
            let base = &samples[(rng.next_u64() as usize) % samples.len()];
            rng.mutate(base)
        };
        if let Ok(r) = decode(link, &bytes) {
            let _ = r.verify_l4_checksum();
            assert!(r.payload.len() <= bytes.len());
            assert!(r.l4_offset <= bytes.len());
        }
    }
}
