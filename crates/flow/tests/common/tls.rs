//! TLS hellos built by hand (RFC 8446 wire format), and JA3/JA4 computed from the lists a
//! test put in them, following the published specifications rather than the crate under
//! test.

use md5::Md5;
use sha2::{Digest, Sha256};

pub const EXT_SNI: u16 = 0;
pub const EXT_SUPPORTED_GROUPS: u16 = 10;
pub const EXT_EC_POINT_FORMATS: u16 = 11;
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
pub const EXT_ALPN: u16 = 16;
pub const EXT_EXTENDED_MASTER_SECRET: u16 = 23;
pub const EXT_SUPPORTED_VERSIONS: u16 = 43;
pub const EXT_PSK_MODES: u16 = 45;
pub const EXT_KEY_SHARE: u16 = 51;
pub const EXT_RENEGOTIATION_INFO: u16 = 0xff01;

/// GREASE values (RFC 8701): 0x0a0a, 0x1a1a, ... 0xfafa.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

fn u16_list(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn with_len16(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn with_len8(body: &[u8]) -> Vec<u8> {
    let mut out = vec![body.len() as u8];
    out.extend_from_slice(body);
    out
}

/// An extension: its type and body.
#[derive(Debug, Clone)]
pub struct Ext {
    pub kind: u16,
    pub body: Vec<u8>,
}

pub fn ext(kind: u16, body: Vec<u8>) -> Ext {
    Ext { kind, body }
}

pub fn sni(host: &str) -> Ext {
    let mut entry = vec![0u8]; // host_name
    entry.extend(with_len16(host.as_bytes()));
    ext(EXT_SNI, with_len16(&entry))
}

pub fn alpn(protocols: &[&str]) -> Ext {
    let list: Vec<u8> = protocols
        .iter()
        .flat_map(|p| with_len8(p.as_bytes()))
        .collect();
    ext(EXT_ALPN, with_len16(&list))
}

pub fn supported_versions(versions: &[u16]) -> Ext {
    ext(EXT_SUPPORTED_VERSIONS, with_len8(&u16_list(versions)))
}

pub fn supported_groups(groups: &[u16]) -> Ext {
    ext(EXT_SUPPORTED_GROUPS, with_len16(&u16_list(groups)))
}

pub fn ec_point_formats(formats: &[u8]) -> Ext {
    ext(EXT_EC_POINT_FORMATS, with_len8(formats))
}

pub fn signature_algorithms(algs: &[u16]) -> Ext {
    ext(EXT_SIGNATURE_ALGORITHMS, with_len16(&u16_list(algs)))
}

/// A client key share with one x25519 key.
pub fn key_share_client() -> Ext {
    let mut entry = 29u16.to_be_bytes().to_vec();
    entry.extend(with_len16(&[0x42; 32]));
    ext(EXT_KEY_SHARE, with_len16(&entry))
}

/// The server's key share (x25519).
pub fn key_share_server() -> Ext {
    let mut entry = 29u16.to_be_bytes().to_vec();
    entry.extend(with_len16(&[0x24; 32]));
    ext(EXT_KEY_SHARE, entry)
}

/// The server's selected version.
pub fn selected_version(v: u16) -> Ext {
    ext(EXT_SUPPORTED_VERSIONS, v.to_be_bytes().to_vec())
}

fn extensions(exts: &[Ext]) -> Vec<u8> {
    let mut all = Vec::new();
    for e in exts {
        all.extend_from_slice(&e.kind.to_be_bytes());
        all.extend(with_len16(&e.body));
    }
    with_len16(&all)
}

/// A handshake message in one TLS record (record version 0x0301, as clients send).
fn record(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut hs = vec![msg_type];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(body);
    let mut rec = vec![22, 3, 1];
    rec.extend(with_len16(&hs));
    rec
}

/// A ClientHello.
#[derive(Debug, Clone)]
pub struct ClientHello {
    pub legacy_version: u16,
    pub ciphers: Vec<u16>,
    pub extensions: Vec<Ext>,
}

impl ClientHello {
    /// The TLS record carrying it.
    pub fn record(&self) -> Vec<u8> {
        let mut body = self.legacy_version.to_be_bytes().to_vec();
        body.extend_from_slice(&[0x11; 32]); // random
        body.extend(with_len8(&[0x33; 32])); // legacy session id
        body.extend(with_len16(&u16_list(&self.ciphers)));
        body.extend(with_len8(&[0])); // compression: null
        body.extend(extensions(&self.extensions));
        record(1, &body)
    }

    /// The DTLS ClientHello body (RFC 6347 §4.2.1: a cookie after the session id).
    pub fn dtls_body(&self, cookie: &[u8]) -> Vec<u8> {
        let mut body = self.legacy_version.to_be_bytes().to_vec();
        body.extend_from_slice(&[0x11; 32]); // random
        body.extend(with_len8(&[])); // no session id (DTLS clients send none)
        body.extend(with_len8(cookie));
        body.extend(with_len16(&u16_list(&self.ciphers)));
        body.extend(with_len8(&[0])); // compression: null
        body.extend(extensions(&self.extensions));
        body
    }

    fn ext_body(&self, kind: u16) -> Option<&[u8]> {
        self.extensions
            .iter()
            .find(|e| e.kind == kind)
            .map(|e| e.body.as_slice())
    }

    fn u16s_after(&self, kind: u16, prefix: usize) -> Vec<u16> {
        self.ext_body(kind)
            .map(|b| {
                b[prefix..]
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// JA3 (Salesforce): `version,ciphers,extensions,groups,point formats`, GREASE left out.
    pub fn ja3_string(&self) -> String {
        let join = |v: Vec<u16>| {
            v.into_iter()
                .filter(|&x| !is_grease(x))
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("-")
        };
        let formats = self
            .ext_body(EXT_EC_POINT_FORMATS)
            .map(|b| {
                b[1..]
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>()
                    .join("-")
            })
            .unwrap_or_default();
        format!(
            "{},{},{},{},{}",
            self.legacy_version,
            join(self.ciphers.clone()),
            join(self.extensions.iter().map(|e| e.kind).collect()),
            join(self.u16s_after(EXT_SUPPORTED_GROUPS, 2)),
            formats
        )
    }

    pub fn ja3_hash(&self) -> String {
        hex::<Md5>(self.ja3_string().as_bytes(), 32)
    }

    /// JA4 (FoxIO, TCP): `t<version><d|i><ciphers><extensions><alpn>_<sha256(sorted
    /// ciphers)[..12]>_<sha256(sorted extensions without SNI and ALPN, "_", signature
    /// algorithms in order)[..12]>`.
    pub fn ja4(&self) -> String {
        let ciphers: Vec<u16> = self
            .ciphers
            .iter()
            .copied()
            .filter(|&c| !is_grease(c))
            .collect();
        let exts: Vec<u16> = self
            .extensions
            .iter()
            .map(|e| e.kind)
            .filter(|&k| !is_grease(k))
            .collect();
        let versions: Vec<u16> = self
            .u16s_after(EXT_SUPPORTED_VERSIONS, 1)
            .into_iter()
            .filter(|&v| !is_grease(v))
            .collect();
        let version = versions
            .iter()
            .max()
            .copied()
            .unwrap_or(self.legacy_version);
        let version = match version {
            0x0304 => "13",
            0x0303 => "12",
            0x0302 => "11",
            0x0301 => "10",
            _ => "00",
        };
        let first_alpn = self.ext_body(EXT_ALPN).and_then(|b| {
            let len = usize::from(*b.get(2)?);
            Some(String::from_utf8(b[3..3 + len].to_vec()).unwrap())
        });
        let alpn = match first_alpn {
            Some(p) if !p.is_empty() => {
                format!("{}{}", p.chars().next().unwrap(), p.chars().last().unwrap())
            }
            _ => "00".into(),
        };
        let a = format!(
            "t{version}{}{:02}{:02}{alpn}",
            if exts.contains(&EXT_SNI) { 'd' } else { 'i' },
            ciphers.len(),
            exts.len()
        );
        let hexes = |mut v: Vec<u16>| {
            v.sort();
            v.iter()
                .map(|x| format!("{x:04x}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let b = hex::<Sha256>(hexes(ciphers).as_bytes(), 12);
        let mut c = hexes(
            exts.into_iter()
                .filter(|&k| k != EXT_SNI && k != EXT_ALPN)
                .collect(),
        );
        let sigalgs = self.u16s_after(EXT_SIGNATURE_ALGORITHMS, 2);
        if !sigalgs.is_empty() {
            c.push('_');
            c.push_str(
                &sigalgs
                    .iter()
                    .map(|x| format!("{x:04x}"))
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        let c = hex::<Sha256>(c.as_bytes(), 12);
        format!("{a}_{b}_{c}")
    }
}

/// A ServerHello.
#[derive(Debug, Clone)]
pub struct ServerHello {
    pub legacy_version: u16,
    pub cipher: u16,
    pub extensions: Vec<Ext>,
}

impl ServerHello {
    pub fn record(&self) -> Vec<u8> {
        let mut rec = record(2, &self.body());
        rec[2] = 3; // servers answer with record version 0x0303
        rec
    }

    /// The ServerHello body (the same in DTLS as in TLS).
    pub fn body(&self) -> Vec<u8> {
        let mut body = self.legacy_version.to_be_bytes().to_vec();
        body.extend_from_slice(&[0x22; 32]);
        body.extend(with_len8(&[0x33; 32]));
        body.extend_from_slice(&self.cipher.to_be_bytes());
        body.push(0);
        body.extend(extensions(&self.extensions));
        body
    }

    /// JA3S: `version,cipher,extensions`.
    pub fn ja3s_string(&self) -> String {
        let exts: Vec<String> = self.extensions.iter().map(|e| e.kind.to_string()).collect();
        format!("{},{},{}", self.legacy_version, self.cipher, exts.join("-"))
    }

    pub fn ja3s_hash(&self) -> String {
        hex::<Md5>(self.ja3s_string().as_bytes(), 32)
    }
}

fn hex<D: Digest>(data: &[u8], chars: usize) -> String {
    let mut s: String = D::digest(data).iter().map(|b| format!("{b:02x}")).collect();
    s.truncate(chars);
    s
}

/// One DTLS handshake fragment (RFC 6347 §4.2.2): bytes `range` of message `seq` of type
/// `msg_type`, whose whole body is `body`.
pub fn dtls_fragment(
    msg_type: u8,
    seq: u16,
    body: &[u8],
    range: std::ops::Range<usize>,
) -> Vec<u8> {
    let mut f = vec![msg_type];
    f.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&(range.start as u32).to_be_bytes()[1..]);
    f.extend_from_slice(&(range.len() as u32).to_be_bytes()[1..]);
    f.extend_from_slice(&body[range]);
    f
}

/// A DTLS record of `content_type` (epoch `epoch`, record sequence `seq`), version 0xfefd.
pub fn dtls_record(content_type: u8, epoch: u16, seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type, 0xfe, 0xfd];
    r.extend_from_slice(&epoch.to_be_bytes());
    r.extend_from_slice(&seq.to_be_bytes()[2..]);
    r.extend(with_len16(payload));
    r
}
