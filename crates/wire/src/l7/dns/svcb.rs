//! SVCB and HTTPS record data (RFC 9460).

use super::DnsError;
use super::name::{Name, write_escaped};
use crate::bytes::{Reader, be16};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The SvcParamKeys with a name.
pub mod key {
    /// Keys the client must understand (0).
    pub const MANDATORY: u16 = 0;
    /// Application protocols (1).
    pub const ALPN: u16 = 1;
    /// No default ALPN (2).
    pub const NO_DEFAULT_ALPN: u16 = 2;
    /// Port (3).
    pub const PORT: u16 = 3;
    /// IPv4 address hints (4).
    pub const IPV4HINT: u16 = 4;
    /// Encrypted ClientHello configuration (5).
    pub const ECH: u16 = 5;
    /// IPv6 address hints (6).
    pub const IPV6HINT: u16 = 6;
}

/// SVCB/HTTPS record data, its parameter list framing checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Svcb<'a> {
    /// The priority (0: alias mode).
    pub priority: u16,
    /// The target name (the root means the owner name).
    pub target: Name<'a>,
    params: &'a [u8],
}

impl<'a> Svcb<'a> {
    /// Parses the data after the target name: `params` must be a whole number of
    /// key/length/value entries.
    pub(crate) fn new(
        rtype: u16,
        priority: u16,
        target: Name<'a>,
        params: &'a [u8],
    ) -> Result<Self, DnsError> {
        let mut r = Reader::new(params);
        while !r.is_empty() {
            r.u16().and_then(|_| r.vec16()).ok_or(DnsError::BadRdata {
                rtype,
                reason: "SvcParam runs past the record",
            })?;
        }
        Ok(Svcb {
            priority,
            target,
            params,
        })
    }

    /// True in alias mode (priority 0).
    pub fn is_alias(&self) -> bool {
        self.priority == 0
    }

    /// The parameters in order.
    pub fn params(&self) -> SvcParams<'a> {
        SvcParams {
            r: Reader::new(self.params),
        }
    }

    fn param(&self, key: u16) -> Option<SvcParamValue<'a>> {
        self.params().find(|p| p.key == key).map(|p| p.value())
    }

    /// The ALPN ids, when present and well formed.
    pub fn alpn(&self) -> Option<AlpnIds<'a>> {
        match self.param(key::ALPN)? {
            SvcParamValue::Alpn(ids) => Some(ids),
            _ => None,
        }
    }

    /// The port, when present and well formed.
    pub fn port(&self) -> Option<u16> {
        match self.param(key::PORT)? {
            SvcParamValue::Port(p) => Some(p),
            _ => None,
        }
    }

    /// The IPv4 hints (empty when absent or malformed).
    pub fn ipv4hint(&self) -> impl Iterator<Item = Ipv4Addr> + 'a {
        let raw = match self.param(key::IPV4HINT) {
            Some(SvcParamValue::Ipv4Hint(b)) => b,
            _ => &[],
        };
        raw.chunks_exact(4)
            .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
    }

    /// The IPv6 hints (empty when absent or malformed).
    pub fn ipv6hint(&self) -> impl Iterator<Item = Ipv6Addr> + 'a {
        let raw = match self.param(key::IPV6HINT) {
            Some(SvcParamValue::Ipv6Hint(b)) => b,
            _ => &[],
        };
        raw.chunks_exact(16).map(|c| {
            let mut a = [0; 16];
            a.copy_from_slice(c);
            Ipv6Addr::from(a)
        })
    }
}

/// One SvcParam.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SvcParam<'a> {
    /// The key.
    pub key: u16,
    /// The raw value.
    pub raw: &'a [u8],
}

/// An SvcParam value, decoded by key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SvcParamValue<'a> {
    /// Mandatory keys (raw, 2 bytes each).
    Mandatory(&'a [u8]),
    /// ALPN ids.
    Alpn(AlpnIds<'a>),
    /// No default ALPN.
    NoDefaultAlpn,
    /// The port.
    Port(u16),
    /// IPv4 hints (raw, 4 bytes each).
    Ipv4Hint(&'a [u8]),
    /// ECH configuration (raw).
    Ech(&'a [u8]),
    /// IPv6 hints (raw, 16 bytes each).
    Ipv6Hint(&'a [u8]),
    /// A key without a decoder here.
    Unknown(&'a [u8]),
    /// A known key whose value has the wrong shape (Zeek: `DNS_SVCB_*_invalid` weirds).
    Malformed(&'static str),
}

impl<'a> SvcParam<'a> {
    /// The value decoded according to the key.
    pub fn value(&self) -> SvcParamValue<'a> {
        let raw = self.raw;
        match self.key {
            key::MANDATORY if !raw.is_empty() && raw.len().is_multiple_of(2) => {
                SvcParamValue::Mandatory(raw)
            }
            key::MANDATORY => SvcParamValue::Malformed("mandatory length"),
            key::ALPN => match AlpnIds::new(raw) {
                Some(ids) => SvcParamValue::Alpn(ids),
                None => SvcParamValue::Malformed("alpn length"),
            },
            key::NO_DEFAULT_ALPN if raw.is_empty() => SvcParamValue::NoDefaultAlpn,
            key::NO_DEFAULT_ALPN => SvcParamValue::Malformed("no-default-alpn length"),
            key::PORT if raw.len() == 2 => SvcParamValue::Port(be16(raw, 0)),
            key::PORT => SvcParamValue::Malformed("port length"),
            key::IPV4HINT if !raw.is_empty() && raw.len().is_multiple_of(4) => {
                SvcParamValue::Ipv4Hint(raw)
            }
            key::IPV4HINT => SvcParamValue::Malformed("ipv4hint length"),
            key::ECH => SvcParamValue::Ech(raw),
            key::IPV6HINT if !raw.is_empty() && raw.len().is_multiple_of(16) => {
                SvcParamValue::Ipv6Hint(raw)
            }
            key::IPV6HINT => SvcParamValue::Malformed("ipv6hint length"),
            _ => SvcParamValue::Unknown(raw),
        }
    }
}

/// The parameters of an SVCB/HTTPS record.
#[derive(Clone, Debug)]
pub struct SvcParams<'a> {
    r: Reader<'a>,
}

impl<'a> Iterator for SvcParams<'a> {
    type Item = SvcParam<'a>;

    fn next(&mut self) -> Option<SvcParam<'a>> {
        let key = self.r.u16()?;
        let raw = self.r.vec16()?;
        Some(SvcParam { key, raw })
    }
}

/// A list of ALPN protocol ids (each with a one-byte length), checked non-empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlpnIds<'a> {
    raw: &'a [u8],
}

impl<'a> AlpnIds<'a> {
    /// Checks that `raw` is a non-empty list of non-empty length-prefixed ids.
    pub(crate) fn new(raw: &'a [u8]) -> Option<AlpnIds<'a>> {
        let mut r = Reader::new(raw);
        if r.is_empty() {
            return None;
        }
        while !r.is_empty() {
            if r.vec8()?.is_empty() {
                return None;
            }
        }
        Some(AlpnIds { raw })
    }

    /// Iterates over the ids.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut r = Reader::new(self.raw);
        std::iter::from_fn(move || r.vec8())
    }
}

impl fmt::Display for Svcb<'_> {
    /// The presentation format of RFC 9460 (`1 . alpn=h3,h2 ipv4hint=192.0.2.1`); Zeek
    /// does not log these answers, so there is no Zeek form to match.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.priority)?;
        if self.target.is_root() {
            f.write_str(".")?;
        } else {
            write!(f, "{}", self.target)?;
        }
        for p in self.params() {
            f.write_str(" ")?;
            let name = match p.key {
                key::MANDATORY => "mandatory",
                key::ALPN => "alpn",
                key::NO_DEFAULT_ALPN => "no-default-alpn",
                key::PORT => "port",
                key::IPV4HINT => "ipv4hint",
                key::ECH => "ech",
                key::IPV6HINT => "ipv6hint",
                k => {
                    write!(f, "key{k}=")?;
                    write_escaped(f, p.raw)?;
                    continue;
                }
            };
            f.write_str(name)?;
            match p.value() {
                SvcParamValue::NoDefaultAlpn => {}
                SvcParamValue::Mandatory(keys) => {
                    f.write_str("=")?;
                    for (i, k) in keys.chunks_exact(2).enumerate() {
                        let sep = if i > 0 { "," } else { "" };
                        write!(f, "{sep}key{}", be16(k, 0))?;
                    }
                }
                SvcParamValue::Alpn(ids) => {
                    f.write_str("=")?;
                    for (i, id) in ids.iter().enumerate() {
                        if i > 0 {
                            f.write_str(",")?;
                        }
                        write_escaped(f, id)?;
                    }
                }
                SvcParamValue::Port(port) => write!(f, "={port}")?,
                SvcParamValue::Ipv4Hint(_) => {
                    f.write_str("=")?;
                    for (i, a) in self.ipv4hint().enumerate() {
                        write!(f, "{}{a}", if i > 0 { "," } else { "" })?;
                    }
                }
                SvcParamValue::Ipv6Hint(_) => {
                    f.write_str("=")?;
                    for (i, a) in self.ipv6hint().enumerate() {
                        write!(f, "{}{a}", if i > 0 { "," } else { "" })?;
                    }
                }
                SvcParamValue::Ech(raw) => write!(f, "={}", base64(raw))?,
                SvcParamValue::Unknown(_) | SvcParamValue::Malformed(_) => {
                    f.write_str("=<malformed>")?
                }
            }
        }
        Ok(())
    }
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn malformed_values_are_kept() {
        let p = SvcParam {
            key: key::PORT,
            raw: &[1, 0xbb, 0],
        };
        assert_eq!(p.value(), SvcParamValue::Malformed("port length"));
        let p = SvcParam {
            key: key::ALPN,
            raw: b"\x02h2\x08h3",
        };
        assert_eq!(p.value(), SvcParamValue::Malformed("alpn length"));
        let p = SvcParam {
            key: key::ALPN,
            raw: b"\x02h2\x02h3",
        };
        let SvcParamValue::Alpn(ids) = p.value() else {
            panic!()
        };
        assert_eq!(ids.iter().collect::<Vec<_>>(), vec![&b"h2"[..], &b"h3"[..]]);
    }
}
