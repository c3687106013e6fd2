//! The inputs of a ClientHello's JA3 and JA4, as one byte string: two hellos with the same
//! inputs have the same fingerprints, so a caller can remember fingerprints by it instead of
//! building the JA3 string and the JA4 lists again for every connection of a client.

use super::Transport;
use crate::l7::tls::{ClientHello, is_grease};

fn push_list(out: &mut Vec<u8>, values: impl Iterator<Item = u16>) {
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    let mut n = 0u16;
    for v in values {
        out.extend_from_slice(&v.to_be_bytes());
        n = n.wrapping_add(1);
    }
    out[at..at + 2].copy_from_slice(&n.to_be_bytes());
}

fn push_bytes(out: &mut Vec<u8>, b: &[u8]) {
    // Lists of a hello are at most 64 KiB; a longer one is cut the same way every time.
    let n = b.len().min(usize::from(u16::MAX));
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&b[..n]);
}

/// Writes into `out` (cleared first) everything [`super::ja3`] and [`super::ja4`] read of
/// `ch` over `transport`, each list counted so that no two different inputs write the same
/// bytes: the legacy version, the cipher suites, extension types, supported groups,
/// signature algorithms and supported versions without GREASE values, the point formats,
/// and the first ALPN value. Random, session id, key shares and the SNI name (only its
/// presence counts, among the extension types) are left out: they change every connection.
pub fn client_inputs(ch: &ClientHello<'_>, transport: Transport, out: &mut Vec<u8>) {
    out.clear();
    out.push(match transport {
        Transport::Tcp => b't',
        Transport::Quic => b'q',
        Transport::Dtls => b'd',
    });
    out.extend_from_slice(&ch.legacy_version.to_be_bytes());
    let real = |v: &u16| !is_grease(*v);
    push_list(out, ch.cipher_suites().filter(real));
    push_list(out, ch.extensions().map(|e| e.ext_type).filter(real));
    push_list(out, ch.supported_groups().filter(real));
    push_bytes(out, ch.ec_point_formats());
    push_list(out, ch.signature_algorithms().filter(real));
    push_list(out, ch.supported_versions().filter(real));
    match ch.alpn().next() {
        Some(first) => {
            out.push(1);
            push_bytes(out, first);
        }
        None => out.push(0),
    }
}
