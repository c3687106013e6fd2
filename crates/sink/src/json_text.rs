//! JSON text pieces for the records written by hand (json_flow.rs, json_dns.rs): strings
//! escaped exactly as serde_json and sonic-rs escape them, numbers, timestamps, the
//! connection context of protocol records.

use flowsight_record::{Conn, NetworkType, Peer, ProtoEvent, Timestamp, Transport, Vlan};
use std::net::IpAddr;

/// What each byte needs in a JSON string: 0 nothing, `u` a `\u00XX` escape, else the
/// letter of its short escape (serde_json's table).
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Whether any byte of `bytes` needs an escape, eight at a time: most strings of a record
/// (names, addresses, fingerprints) need none and are then copied whole.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Whether a byte of `v` is below `n` (n <= 128), exactly: the classic bit trick.
    let below = |v: u64, n: u64| v.wrapping_sub(ONES * n) & !v & HIGH != 0;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        let v = u64::from_le_bytes(word);
        if below(v, 0x20)
            || below(v ^ (ONES * u64::from(b'"')), 1)
            || below(v ^ (ONES * u64::from(b'\\')), 1)
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| ESCAPE[usize::from(b)] != 0)
}

/// `s` as a JSON string, quotes included.
pub(crate) fn string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if !needs_escape(bytes) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let e = ESCAPE[usize::from(b)];
        if e == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        if e == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', e]);
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// An unsigned number.
pub(crate) fn num(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// A timestamp: RFC 3339 digits, no escaping needed.
pub(crate) fn timestamp(out: &mut Vec<u8>, t: Timestamp) {
    out.push(b'"');
    out.extend_from_slice(&t.rfc3339());
    out.push(b'"');
}

/// `transport`'s name as serde writes it.
pub(crate) fn transport(t: Transport) -> &'static [u8] {
    match t {
        Transport::Tcp => b"tcp",
        Transport::Udp => b"udp",
        Transport::Icmp => b"icmp",
        Transport::Icmpv6 => b"ipv6-icmp",
        Transport::Sctp => b"sctp",
        Transport::Other => b"other",
    }
}

/// `network.type` as serde writes it.
pub(crate) fn network_type(t: NetworkType) -> &'static [u8] {
    match t {
        NetworkType::Ipv4 => b"ipv4",
        NetworkType::Ipv6 => b"ipv6",
    }
}

/// A connection context without owners or interface (a capture's): what serde writes for
/// it flattened into a record, after a comma: `"network":{...},"source":{...},
/// "destination":{...}`. False (and nothing written) for any other.
fn plain_conn(out: &mut Vec<u8>, c: &Conn) -> bool {
    if c.interface.is_some() || c.source.owner.is_some() || c.destination.owner.is_some() {
        return false;
    }
    out.extend_from_slice(b"\"network\":{\"transport\":\"");
    out.extend_from_slice(transport(c.network.transport));
    out.extend_from_slice(b"\",\"type\":\"");
    out.extend_from_slice(network_type(c.network.kind));
    out.extend_from_slice(b"\",\"protocol\":");
    string(out, c.network.protocol);
    out.extend_from_slice(b",\"community_id\":");
    string(out, &c.network.community_id);
    vlan(out, c.network.vlan);
    out.extend_from_slice(b"},\"source\":");
    peer(out, &c.source);
    out.extend_from_slice(b",\"destination\":");
    peer(out, &c.destination);
    true
}

/// The start of a protocol record as serde writes it, up to the comma after its connection
/// context: `{"type":KIND,"@timestamp":...,"event":{...},"network":...,"destination":{...}`
/// (no `event` for a record without one, as TLS's). False, with nothing written, when the
/// context has owners or an interface.
pub(crate) fn proto_head(
    out: &mut Vec<u8>,
    kind: &str,
    at: Timestamp,
    event: Option<&ProtoEvent>,
    conn: &Conn,
) -> bool {
    let mark = out.len();
    out.extend_from_slice(b"{\"type\":");
    string(out, kind);
    out.extend_from_slice(b",\"@timestamp\":");
    timestamp(out, at);
    out.push(b',');
    if let Some(event) = event {
        out.extend_from_slice(b"\"event\":{");
        if let Some(d) = event.duration {
            out.extend_from_slice(b"\"duration\":");
            num(out, d);
        }
        out.extend_from_slice(b"},");
    }
    if !plain_conn(out, conn) {
        out.truncate(mark);
        return false;
    }
    true
}

fn peer(out: &mut Vec<u8>, p: &Peer) {
    open_end(out, &p.ip, p.port);
    out.push(b'}');
}

/// `network.vlan`, after a comma, when there is one (its id as text, as serde writes it).
pub(crate) fn vlan(out: &mut Vec<u8>, v: Option<Vlan>) {
    if let Some(v) = v {
        out.extend_from_slice(b",\"vlan\":{\"id\":\"");
        num(out, u64::from(v.id));
        out.extend_from_slice(b"\"}");
    }
}

/// The start of a `source` or `destination` object: `{"ip":"...","port":N`, left open for
/// the fields that follow.
pub(crate) fn open_end(out: &mut Vec<u8>, ip: &IpAddr, port: u16) {
    out.extend_from_slice(b"{\"ip\":\"");
    flowsight_record::push_ip(out, ip);
    out.extend_from_slice(b"\",\"port\":");
    num(out, u64::from(port));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(s: &str) {
        let mut ours = Vec::new();
        string(&mut ours, s);
        let ours = String::from_utf8(ours).unwrap();
        assert_eq!(ours, serde_json::to_string(s).unwrap(), "{s:?}");
        assert_eq!(ours, sonic_rs::to_string(s).unwrap(), "{s:?}");
    }

    #[test]
    fn every_character_is_escaped_as_serde_json_escapes_it() {
        for c in (0..=0x7f_u32).chain([0x80, 0xe9, 0x2028, 0xfeff, 0x1f600]) {
            let c = char::from_u32(c).unwrap();
            same(&format!("{c}"));
            same(&format!("ab{c}cd{c}"));
        }
        same("");
        same("plain.example.com");
        same("TXT 5 \"quoted\\back\"\r\n\t\u{8}\u{c}\u{0}");
    }

    /// The eight-at-a-time check sees a byte that needs escaping at every place of a word
    /// and in the tail, next to every other kind of byte.
    #[test]
    fn an_escape_is_found_wherever_it_lies() {
        let fillers = ['a', '~', ' ', '\u{7f}', '\u{e9}', '\u{1f600}', '!', '#'];
        for special in ['"', '\\', '\u{0}', '\n', '\u{1f}'] {
            for filler in fillers {
                for len in 1..=24 {
                    for at in 0..len {
                        let s: String = (0..len)
                            .map(|i| if i == at { special } else { filler })
                            .collect();
                        assert!(needs_escape(s.as_bytes()), "{s:?}");
                        same(&s);
                    }
                }
            }
        }
        for filler in fillers {
            let s: String = std::iter::repeat_n(filler, 40).collect();
            assert!(!needs_escape(s.as_bytes()), "{s:?}");
        }
        let printable: String = (0x20u8..0x7f)
            .map(char::from)
            .filter(|c| !matches!(c, '"' | '\\'))
            .collect();
        assert!(!needs_escape(printable.as_bytes()));
    }
}
