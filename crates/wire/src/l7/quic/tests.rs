//! RFC 9001 Appendix A (version 1) and RFC 9369 Appendix A (version 2): the published
//! keys and packets, and every prefix of the client's packet.

use super::keys::initial_secret;
use super::*;
use crate::l7::tls::{ClientHello, Handshake, HandshakeType};

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const DCID: &str = "8394c8f03e515708";

/// RFC 9001 §A.2 (and RFC 9369 §A.2, the same frames): the client's CRYPTO frame with a
/// ClientHello for example.com; PADDING follows to 1162 bytes.
const CLIENT_FRAMES: &str = "
    060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868
    04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578
    616d706c652e636f6dff01000100000a00080006001d00170018001000070005
    04616c706e000500050100000000003300260024001d00209370b2c9caa47fba
    baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400
    0d0010000e0403050306030203080408050806002d00020101001c0002400100
    3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000
    75300901100f088394c8f03e51570806048000ffff";

/// RFC 9001 §A.2: the unprotected header (packet number 2 in 4 bytes).
const V1_CLIENT_HEADER: &str = "c300000001088394c8f03e5157080000449e00000002";

/// RFC 9001 §A.2: the protected packet, 1200 bytes (a fixture file: the live QUIC test
/// sends it too).
const V1_CLIENT_PACKET: &str =
    include_str!("../../../tests/fixtures/rfc9001-a2-client-initial.hex");

/// RFC 9001 §A.3: the server's unprotected payload (an ACK, then a CRYPTO frame with a
/// ServerHello) and its protected packet (packet number 1).
const SERVER_FRAMES: &str = "
    02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739
    88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94
    0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00
    020304";
const V1_SERVER_PACKET: &str = "
    cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a
    5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3
    dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84
    022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4
    2158407dd074ee";

/// RFC 9001 §A.4: a Retry.
const V1_RETRY: &str = "
    ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f
    0f2496ba";

/// RFC 9369 §A.2: the client's header and protected packet in version 2.
const V2_CLIENT_HEADER: &str = "d36b3343cf088394c8f03e5157080000449e00000002";
const V2_CLIENT_PACKET: &str = "
    d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485
    dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04
    9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d
    250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a
    12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500
    cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68
    18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33
    12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3
    d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd
    6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520
    bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045
    636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f
    ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12
    16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5
    4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4
    fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b
    8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7
    14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9
    9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91
    abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd
    80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db
    848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18
    d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15
    c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc
    7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61
    f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710
    10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b
    3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e
    06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce
    8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1
    34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1
    e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd
    5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3
    8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89
    d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53
    6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19
    9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b
    a18b2faa745b6fe189cf772a9f84cbfc";

/// RFC 9369 §A.3: the server's packet in version 2 (same frames as version 1's).
const V2_SERVER_PACKET: &str = "
    dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698
    baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17
    f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2
    c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca8
    4bed8521e2e140";

/// The client's plaintext: the CRYPTO frame, then PADDING to 1162 bytes.
fn client_plaintext() -> Vec<u8> {
    let mut p = unhex(CLIENT_FRAMES);
    p.resize(1162, 0);
    p
}

#[test]
fn v1_keys_match_rfc9001_a1() {
    let dcid = unhex(DCID);
    assert_eq!(
        initial_secret(Version::V1, &dcid).to_vec(),
        unhex("7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44")
    );
    let c = InitialKeys::client(Version::V1, &dcid);
    assert_eq!(c.key().to_vec(), unhex("1f369613dd76d5467730efcbe3b1a22d"));
    assert_eq!(c.iv().to_vec(), unhex("fa044b2f42a3fd3b46fb255c"));
    assert_eq!(c.hp().to_vec(), unhex("9f50449e04a0e810283a1e9933adedd2"));
    let s = InitialKeys::server(Version::V1, &dcid);
    assert_eq!(s.key().to_vec(), unhex("cf3a5331653c364c88f0f379b6067e37"));
    assert_eq!(s.iv().to_vec(), unhex("0ac1493ca1905853b0bba03e"));
    assert_eq!(s.hp().to_vec(), unhex("c206b8d9b9f0f37644430b490eeaa314"));
}

#[test]
fn v2_keys_match_rfc9369_a1() {
    let dcid = unhex(DCID);
    let c = InitialKeys::client(Version::V2, &dcid);
    assert_eq!(c.key().to_vec(), unhex("8b1a0bc121284290a29e0971b5cd045d"));
    assert_eq!(c.iv().to_vec(), unhex("91f73e2351d8fa91660e909f"));
    assert_eq!(c.hp().to_vec(), unhex("45b95e15235d6f45a6b19cbcb0294ba9"));
    let s = InitialKeys::server(Version::V2, &dcid);
    assert_eq!(s.key().to_vec(), unhex("82db637861d55e1d011f19ea71d5d2a7"));
    assert_eq!(s.iv().to_vec(), unhex("dd13c276499c0249d3310652"));
    assert_eq!(s.hp().to_vec(), unhex("edf6d05c83121201b436e16877593c3a"));
}

/// Parses, decrypts and checks the client packet of either RFC, and seals it back.
fn client_packet_round_trip(version: Version, header: &str, packet: &str, mask: &str) {
    let packet = unhex(packet);
    assert_eq!(packet.len(), 1200);
    let (h, used) = LongHeader::parse(&packet).unwrap();
    assert_eq!(used, 1200);
    assert_eq!(h.version, version);
    assert_eq!(h.packet_type, PacketType::Initial);
    assert_eq!(h.dcid, unhex(DCID));
    assert!(h.scid.is_empty() && h.token.is_empty());
    assert_eq!(h.pn_offset, 18);
    let keys = InitialKeys::client(version, h.dcid);
    let sample: [u8; 16] = packet[22..38].try_into().unwrap();
    assert_eq!(keys.mask(&sample)[..5].to_vec(), unhex(mask));
    let opened = keys.open(&h, None).unwrap();
    let header = unhex(header);
    assert_eq!(opened.first_byte, header[0]);
    assert_eq!(opened.packet_number, 2);
    assert_eq!(opened.payload, client_plaintext());
    // The other way: sealing the plaintext gives the published packet byte for byte.
    assert_eq!(keys.seal(&header, 2, &client_plaintext()), packet);
    // The server's keys do not open it.
    let server = InitialKeys::server(version, h.dcid);
    assert_eq!(server.open(&h, None), Err(QuicError::Decryption));
}

#[test]
fn v1_client_initial_matches_rfc9001_a2() {
    client_packet_round_trip(
        Version::V1,
        V1_CLIENT_HEADER,
        V1_CLIENT_PACKET,
        "437b9aec36",
    );
}

#[test]
fn v2_client_initial_matches_rfc9369_a2() {
    client_packet_round_trip(
        Version::V2,
        V2_CLIENT_HEADER,
        V2_CLIENT_PACKET,
        "94a0c95e80",
    );
}

#[test]
fn client_initial_carries_the_rfc_client_hello() {
    let payload = client_plaintext();
    let frames: Vec<Frame<'_>> = Frames::new(&payload).map(Result::unwrap).collect();
    assert_eq!(frames.len(), 2);
    let Frame::Crypto { offset: 0, data } = frames[0] else {
        panic!("{:?}", frames[0]);
    };
    assert_eq!(data.len(), 241);
    assert_eq!(frames[1], Frame::Padding(1162 - 245));
    let (hs, used) = Handshake::parse(data, 1 << 16).unwrap().unwrap();
    assert_eq!(used, 241);
    assert_eq!(hs.msg_type, HandshakeType::ClientHello);
    let ch = ClientHello::from_handshake(&hs).unwrap();
    assert_eq!(ch.sni(), Some(&b"example.com"[..]));
    assert_eq!(ch.alpn().collect::<Vec<_>>(), [&b"alpn"[..]]);
    assert_eq!(ch.supported_versions().collect::<Vec<_>>(), [0x0304]);
    // QUIC's own extension: quic_transport_parameters (57).
    assert!(ch.extension(57).is_some());
    // Two ciphers, eleven extensions with SNI, ALPN "alpn".
    assert_eq!(
        crate::l7::fingerprint::ja4(&ch, crate::l7::fingerprint::Transport::Quic).a,
        "q13d0211an"
    );
}

fn server_packet(version: Version, packet: &str) {
    let packet = unhex(packet);
    let (h, used) = LongHeader::parse(&packet).unwrap();
    assert_eq!(used, packet.len());
    assert_eq!(h.packet_type, PacketType::Initial);
    assert!(h.dcid.is_empty());
    assert_eq!(h.scid, unhex("f067a5502a4262b5"));
    // Keys come from the client's DCID, not from anything in the server's packet.
    let opened = InitialKeys::server(version, &unhex(DCID))
        .open(&h, None)
        .unwrap();
    assert_eq!(opened.packet_number, 1);
    assert_eq!(opened.payload, unhex(SERVER_FRAMES));
    let frames: Vec<Frame<'_>> = Frames::new(&opened.payload).map(Result::unwrap).collect();
    assert_eq!(frames[0], Frame::Ack { largest: 0 });
    let Frame::Crypto { offset: 0, data } = frames[1] else {
        panic!("{:?}", frames[1]);
    };
    let (hs, _) = Handshake::parse(data, 1 << 16).unwrap().unwrap();
    assert_eq!(hs.msg_type, HandshakeType::ServerHello);
}

#[test]
fn v1_server_initial_matches_rfc9001_a3() {
    server_packet(Version::V1, V1_SERVER_PACKET);
}

#[test]
fn v2_server_initial_matches_rfc9369_a3() {
    server_packet(Version::V2, V2_SERVER_PACKET);
}

#[test]
fn retry_header_of_rfc9001_a4() {
    let packet = unhex(V1_RETRY);
    let (h, used) = LongHeader::parse(&packet).unwrap();
    assert_eq!(used, packet.len());
    assert_eq!(h.packet_type, PacketType::Retry);
    assert!(!LongHeader::is_initial(&packet));
}

#[test]
fn every_prefix_of_the_client_packet_is_a_typed_error() {
    for packet in [V1_CLIENT_PACKET, V2_CLIENT_PACKET] {
        let packet = unhex(packet);
        for n in 0..packet.len() {
            let err = LongHeader::parse(&packet[..n]).unwrap_err();
            assert!(matches!(err, QuicError::Truncated { .. }), "{n}: {err:?}");
        }
        // A Length cut to leave no room for the sample, or a shortened payload (and tag),
        // is refused by decryption instead.
        let keys = InitialKeys::client(
            Version::from_wire(crate::bytes::be32(&packet, 1)).unwrap(),
            &unhex(DCID),
        );
        for len in [0usize, 1, 4, 19, 20, 21, 100, 1181] {
            let mut p = packet.clone();
            p[16] = 0x40 | (len >> 8) as u8;
            p[17] = len as u8;
            let (h, _) = LongHeader::parse(&p).unwrap();
            let err = keys.open(&h, None).unwrap_err();
            assert!(
                matches!(err, QuicError::TooShortForSample(_) | QuicError::Decryption),
                "{len}: {err:?}"
            );
        }
    }
}

#[test]
fn every_prefix_of_the_frames_is_a_typed_error_or_whole_frames() {
    let payload = unhex(CLIENT_FRAMES);
    for n in 0..payload.len() {
        let frames: Vec<_> = Frames::new(&payload[..n]).collect();
        if n == 0 {
            assert!(frames.is_empty());
            continue;
        }
        // The one CRYPTO frame is cut: exactly one error, nothing after it.
        assert_eq!(frames.len(), 1, "{n}");
        assert!(
            matches!(frames[0], Err(QuicError::Truncated { .. })),
            "{n}: {frames:?}"
        );
    }
    let server = unhex(SERVER_FRAMES);
    for n in 0..server.len() {
        for f in Frames::new(&server[..n]) {
            if let Err(e) = f {
                assert!(matches!(e, QuicError::Truncated { .. }), "{n}: {e:?}");
            }
        }
    }
}

#[test]
fn frames_that_cannot_be_delimited_end_the_parse() {
    // PING, then a STREAM frame (not allowed in Initial packets), then PADDING never read.
    let got: Vec<_> = Frames::new(&[0x01, 0x08, 0x00, 0x00]).collect();
    assert_eq!(
        got,
        [Ok(Frame::Ping), Err(QuicError::UnexpectedFrame(0x08))]
    );
    // An ACK announcing more ranges than the payload can hold.
    let got: Vec<_> = Frames::new(&[0x02, 0x05, 0x00, 0x3f, 0x00, 0x00]).collect();
    assert_eq!(got, [Err(QuicError::BadFrame("ACK range count"))]);
    // A CRYPTO frame past 2^62.
    let mut f = vec![0x06];
    f.extend_from_slice(&[0xff; 8]);
    f.extend_from_slice(&[0x01, 0x00]);
    let got: Vec<_> = Frames::new(&f).collect();
    assert_eq!(got, [Err(QuicError::BadFrame("CRYPTO offset"))]);
    // Google's T05x number CRYPTO 0x08; for IETF versions 0x08 is a STREAM frame.
    let t051 = [0x08, 0x00, 0x02, 0x01, 0x00];
    let got: Vec<_> = Frames::for_version(&t051, Version::Google(0x5430_3531)).collect();
    assert_eq!(
        got,
        [Ok(Frame::Crypto {
            offset: 0,
            data: &[1, 0]
        })]
    );
    let got: Vec<_> = Frames::for_version(&t051, Version::V1).collect();
    assert_eq!(got, [Err(QuicError::UnexpectedFrame(0x08))]);
    // CONNECTION_CLOSE with a reason, then PING.
    let got: Vec<_> = Frames::new(&[0x1c, 0x0a, 0x06, 0x02, b'n', b'o', 0x01]).collect();
    assert_eq!(
        got,
        [
            Ok(Frame::ConnectionClose { error_code: 10 }),
            Ok(Frame::Ping)
        ]
    );
    // ACK with ECN counts and one more range.
    let got: Vec<_> = Frames::new(&[0x03, 0x09, 0x00, 0x01, 0x02, 0x01, 0x01, 0, 0, 0]).collect();
    assert_eq!(got, [Ok(Frame::Ack { largest: 9 })]);
}

#[test]
fn headers_that_are_not_initial_packets() {
    assert_eq!(
        LongHeader::parse(&[0x40, 1, 2]),
        Err(QuicError::ShortHeader)
    );
    assert_eq!(
        LongHeader::parse(&[0xc0, 0, 0, 0, 0, 0, 0]),
        Err(QuicError::UnsupportedVersion(0))
    );
    assert_eq!(
        LongHeader::parse(&[0xc0, 0x51, 0x30, 0x34, 0x36, 8]),
        Err(QuicError::UnsupportedVersion(0x5130_3436))
    );
    let mut long_cid = vec![0xc0, 0, 0, 0, 1, 21];
    long_cid.extend_from_slice(&[0; 40]);
    assert_eq!(
        LongHeader::parse(&long_cid),
        Err(QuicError::ConnectionIdTooLong(21))
    );
    // A Handshake packet (type 2 in version 1) parses, but is no Initial.
    let hs = [0xe0, 0, 0, 0, 1, 0, 0, 0x01, 0x00];
    let (h, _) = LongHeader::parse(&hs).unwrap();
    assert_eq!(h.packet_type, PacketType::Handshake);
    assert!(!LongHeader::is_initial(&hs));
    for (bits, v2) in [
        (0, PacketType::Retry),
        (1, PacketType::Initial),
        (2, PacketType::ZeroRtt),
        (3, PacketType::Handshake),
    ] {
        assert_eq!(PacketType::from_bits(bits, Version::V2), v2);
        assert_eq!(v2.to_bits(Version::V2), bits);
    }
}

#[test]
fn varints_of_rfc9000_a1() {
    for (hex, v) in [
        ("c2197c5eff14e88c", 151_288_809_941_952_652u64),
        ("9d7f3e7d", 494_878_333),
        ("7bbd", 15_293),
        ("25", 37),
        ("4025", 37),
    ] {
        let b = unhex(hex);
        assert_eq!(varint(&b), Some((v, b.len())));
        assert_eq!(varint(&b[..b.len() - 1]), None);
    }
}

#[test]
fn versions_round_trip() {
    for v in [
        1u32,
        0x6b33_43cf,
        0xff00_0016,
        0xff00_001d,
        0xff00_0022,
        0xfaceb002,
        0x5430_3531,
    ] {
        assert_eq!(Version::from_wire(v).unwrap().to_wire(), v);
    }
    // Version negotiation, unassigned, drafts without the one-byte CID lengths or past 34,
    // Google's Q050 (its own handshake, no TLS).
    for v in [0u32, 2, 0xff00_0015, 0xff00_0023, 0xfaceb003, 0x5130_3530] {
        assert_eq!(Version::from_wire(v), None);
    }
}
