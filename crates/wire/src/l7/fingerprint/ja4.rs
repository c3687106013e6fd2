//! JA4, the TLS client fingerprint (FoxIO, `technical_details/JA4.md`).
//!
//! `t13d1516h2_8daaf6152771_e5627efa2ab1`: transport, version, SNI or not, cipher and
//! extension counts, first and last character of the first ALPN value; then the first 12
//! hex digits of the SHA-256 of the sorted cipher list, and of the sorted extension list
//! (SNI and ALPN left out) followed by the signature algorithms in their order. GREASE
//! values are ignored everywhere.

use crate::bytes::{hex, push_hex4};
use crate::l7::tls::{ClientHello, is_grease};
use sha2::{Digest, Sha256};
use std::fmt;

/// The transport the ClientHello came over (JA4's first character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TLS over TCP: `t`.
    Tcp,
    /// QUIC: `q`.
    Quic,
    /// DTLS: `d`.
    Dtls,
}

/// A JA4 fingerprint, in parts: [`Ja4::fingerprint`] hashes them, [`Ja4::raw`] does not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ja4 {
    /// The first part (`t13d1516h2`).
    pub a: String,
    /// Sorted cipher suites, 4-digit hex, comma-joined.
    pub ciphers: String,
    /// Sorted extensions without SNI and ALPN, then `_` and the signature algorithms in
    /// order (no `_` when there are none).
    pub extensions: String,
}

impl Ja4 {
    /// The fingerprint: `a_hash(ciphers)_hash(extensions)`, an empty list hashing to
    /// `000000000000`.
    pub fn fingerprint(&self) -> String {
        format!(
            "{}_{}_{}",
            self.a,
            hash12(&self.ciphers),
            hash12(&self.extensions)
        )
    }

    /// The raw form (JA4_r): `a_ciphers_extensions` unhashed.
    pub fn raw(&self) -> String {
        format!("{}_{}_{}", self.a, self.ciphers, self.extensions)
    }
}

impl fmt::Display for Ja4 {
    /// The hashed fingerprint.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fingerprint())
    }
}

/// The first 12 hex digits of SHA-256, or `000000000000` for an empty list.
fn hash12(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".to_owned();
    }
    let mut h = hex(&Sha256::digest(s.as_bytes()));
    h.truncate(12);
    h
}

/// JA4's two-character name for a version.
fn version_code(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 | 0x0200 => "s2",
        0x0100 => "s1",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// The highest version offered: the supported_versions extension without GREASE when it
/// is there, else the legacy version. DTLS numbers count down (0xfefc is DTLS 1.3), so for
/// them the lowest number is the highest version.
pub fn offered_version(ch: &ClientHello<'_>) -> u16 {
    let mut versions = ch
        .supported_versions()
        .filter(|&v| !is_grease(v))
        .peekable();
    if versions.peek().is_none() {
        return ch.legacy_version;
    }
    versions
        .max_by_key(|&v| {
            if v >= 0xfe00 {
                0x1_0000 - u32::from(v)
            } else {
                u32::from(v)
            }
        })
        .unwrap_or(ch.legacy_version)
}

/// The ALPN characters: first and last of the first ALPN value; when either is not
/// ASCII alphanumeric, the first and last hex digits of the value instead; `00` without
/// ALPN or with an empty first value.
fn alpn_code(ch: &ClientHello<'_>) -> String {
    let Some(first) = ch.alpn().next().filter(|v| !v.is_empty()) else {
        return "00".to_owned();
    };
    let (a, b) = (first[0], first[first.len() - 1]);
    if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() {
        format!("{}{}", a as char, b as char)
    } else {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        format!(
            "{}{}",
            DIGITS[usize::from(a >> 4)] as char,
            DIGITS[usize::from(b & 15)] as char
        )
    }
}

fn hex_list(values: &[u16]) -> String {
    let mut s = String::with_capacity(values.len() * 5);
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        push_hex4(&mut s, *v);
    }
    s
}

/// JA4 of a ClientHello seen over `transport`.
pub fn ja4(ch: &ClientHello<'_>, transport: Transport) -> Ja4 {
    let mut ciphers: Vec<u16> = ch.cipher_suites().filter(|&c| !is_grease(c)).collect();
    let exts: Vec<u16> = ch
        .extensions()
        .map(|e| e.ext_type)
        .filter(|&t| !is_grease(t))
        .collect();
    let a = format!(
        "{}{}{}{:02}{:02}{}",
        match transport {
            Transport::Tcp => 't',
            Transport::Quic => 'q',
            Transport::Dtls => 'd',
        },
        version_code(offered_version(ch)),
        if exts.contains(&0x0000) { 'd' } else { 'i' },
        ciphers.len().min(99),
        exts.len().min(99),
        alpn_code(ch),
    );
    ciphers.sort_unstable();
    let mut sorted_exts: Vec<u16> = exts
        .into_iter()
        .filter(|&t| t != 0x0000 && t != 0x0010)
        .collect();
    sorted_exts.sort_unstable();
    let sigalgs: Vec<u16> = ch
        .signature_algorithms()
        .filter(|&s| !is_grease(s))
        .collect();
    let mut extensions = hex_list(&sorted_exts);
    if !sigalgs.is_empty() {
        extensions.push('_');
        extensions.push_str(&hex_list(&sigalgs));
    }
    Ja4 {
        a,
        ciphers: hex_list(&ciphers),
        extensions,
    }
}

/// The raw (unhashed) JA4 of a ClientHello: `JA4_r`.
pub fn ja4_r(ch: &ClientHello<'_>, transport: Transport) -> String {
    ja4(ch, transport).raw()
}
