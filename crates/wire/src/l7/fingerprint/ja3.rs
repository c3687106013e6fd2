//! JA3 (client) and JA3S (server): decimal field lists and their MD5.

use crate::bytes::{hex, push_decimal};
use crate::l7::tls::{ClientHello, ServerHello, is_grease};
use md5::{Digest, Md5};

/// A JA3 or JA3S fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ja3 {
    /// The string that is hashed (`771,4865-4866,0-23-65281,29-23-24,0`).
    pub text: String,
    /// Lower-case hex MD5 of `text`.
    pub hash: String,
}

impl Ja3 {
    fn new(text: String) -> Ja3 {
        let hash = hex(&Md5::digest(text.as_bytes()));
        Ja3 { text, hash }
    }
}

fn join(out: &mut String, values: impl Iterator<Item = u32>) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push('-');
        }
        push_decimal(out, v);
    }
}

/// JA3 of a ClientHello: `version,ciphers,extensions,groups,point formats`, each list
/// `-`-joined in order with GREASE values removed, as tshark's `tls.handshake.ja3_full`.
pub fn ja3(ch: &ClientHello<'_>) -> Ja3 {
    let mut s = format!("{},", ch.legacy_version);
    join(
        &mut s,
        ch.cipher_suites().filter(|&c| !is_grease(c)).map(u32::from),
    );
    s.push(',');
    join(
        &mut s,
        ch.extensions()
            .map(|e| e.ext_type)
            .filter(|&t| !is_grease(t))
            .map(u32::from),
    );
    s.push(',');
    join(
        &mut s,
        ch.supported_groups()
            .filter(|&g| !is_grease(g))
            .map(u32::from),
    );
    s.push(',');
    join(&mut s, ch.ec_point_formats().iter().map(|&f| u32::from(f)));
    Ja3::new(s)
}

/// JA3S of a ServerHello: `version,cipher,extensions` (the legacy version field, as the
/// original definition and tshark use).
pub fn ja3s(sh: &ServerHello<'_>) -> Ja3 {
    let mut s = format!("{},{},", sh.legacy_version, sh.cipher_suite);
    join(
        &mut s,
        sh.extensions()
            .map(|e| e.ext_type)
            .filter(|&t| !is_grease(t))
            .map(u32::from),
    );
    Ja3::new(s)
}
