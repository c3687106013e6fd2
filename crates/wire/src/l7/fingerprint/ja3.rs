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
    /// The fingerprint of a JA3 or JA3S string ([`ja3_string`], [`ja3s_string`]).
    pub fn from_text(text: String) -> Ja3 {
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
    Ja3::from_text(ja3_string(ch))
}

/// The JA3 string of a ClientHello, unhashed (see [`ja3`]).
pub fn ja3_string(ch: &ClientHello<'_>) -> String {
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
    s
}

/// JA3S of a ServerHello: `version,cipher,extensions` (the legacy version field, as the
/// original definition and tshark use).
pub fn ja3s(sh: &ServerHello<'_>) -> Ja3 {
    Ja3::from_text(ja3s_string(sh))
}

/// The JA3S string of a ServerHello, unhashed (see [`ja3s`]).
pub fn ja3s_string(sh: &ServerHello<'_>) -> String {
    let mut s = format!("{},{},", sh.legacy_version, sh.cipher_suite);
    join(
        &mut s,
        sh.extensions()
            .map(|e| e.ext_type)
            .filter(|&t| !is_grease(t))
            .map(u32::from),
    );
    s
}
