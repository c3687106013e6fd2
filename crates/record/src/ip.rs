//! IP addresses as log text, written without `fmt`.
//!
//! Every record carries two addresses, and `std`'s `Display` for them was a few percent of
//! `flowsight read`: it goes through the formatting machinery digit by digit. The text here is
//! exactly `Display`'s (RFC 5952 for IPv6: lower-case hex, the first longest run of two or more
//! zero groups as `::`, IPv4-mapped addresses as `::ffff:a.b.c.d`); a test compares the two on
//! a million addresses.

use serde::Serializer;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest text: `ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff` (39) or `::ffff:255.255.255.255`.
const MAX: usize = 48;

/// Each byte value's decimal digits, then how many there are.
const DECIMAL: [[u8; 4]; 256] = {
    let mut t = [[0u8; 4]; 256];
    let mut v = 0;
    while v < 256 {
        let (h, te, o) = ((v / 100) as u8, (v / 10 % 10) as u8, (v % 10) as u8);
        t[v] = if v >= 100 {
            [b'0' + h, b'0' + te, b'0' + o, 3]
        } else if v >= 10 {
            [b'0' + te, b'0' + o, 0, 2]
        } else {
            [b'0' + o, 0, 0, 1]
        };
        v += 1;
    }
    t
};

/// A stack buffer holding one address's text.
struct Text {
    buf: [u8; MAX],
    len: usize,
}

impl Text {
    fn new() -> Text {
        Text {
            buf: [0; MAX],
            len: 0,
        }
    }

    fn push(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    fn push_str(&mut self, s: &[u8]) {
        self.buf[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }

    /// A byte in decimal: its digits from a table, three bytes copied and the length
    /// advanced by the digits it has (the buffer always has room for three past an octet).
    fn decimal(&mut self, v: u8) {
        let e = DECIMAL[usize::from(v)];
        self.buf[self.len..self.len + 3].copy_from_slice(&e[..3]);
        self.len += usize::from(e[3]);
    }

    fn hex(&mut self, v: u16) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut started = false;
        for shift in [12, 8, 4, 0] {
            let d = (v >> shift) & 15;
            if d != 0 || started || shift == 0 {
                self.push(DIGITS[usize::from(d)]);
                started = true;
            }
        }
    }

    fn v4(&mut self, ip: Ipv4Addr) {
        let [a, b, c, d] = ip.octets();
        self.decimal(a);
        self.push(b'.');
        self.decimal(b);
        self.push(b'.');
        self.decimal(c);
        self.push(b'.');
        self.decimal(d);
    }

    fn groups(&mut self, groups: &[u16]) {
        for (i, &g) in groups.iter().enumerate() {
            if i > 0 {
                self.push(b':');
            }
            self.hex(g);
        }
    }

    fn v6(&mut self, ip: Ipv6Addr) {
        if let Some(v4) = ip.to_ipv4_mapped() {
            self.push_str(b"::ffff:");
            self.v4(v4);
            return;
        }
        let g = ip.segments();
        // The first longest run of zero groups.
        let (mut best, mut best_len, mut run, mut run_len) = (0, 0, 0, 0);
        for (i, &x) in g.iter().enumerate() {
            if x == 0 {
                if run_len == 0 {
                    run = i;
                }
                run_len += 1;
                if run_len > best_len {
                    (best, best_len) = (run, run_len);
                }
            } else {
                run_len = 0;
            }
        }
        if best_len > 1 {
            self.groups(&g[..best]);
            self.push_str(b"::");
            self.groups(&g[best + best_len..]);
        } else {
            self.groups(&g);
        }
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits, letters, dots and colons were written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

fn text(ip: &IpAddr) -> Text {
    let mut t = Text::new();
    match *ip {
        IpAddr::V4(v4) => t.v4(v4),
        IpAddr::V6(v6) => t.v6(v6),
    }
    t
}

/// `#[serde(serialize_with = "crate::ip::serialize")]` for an `IpAddr` field.
pub(crate) fn serialize<S: Serializer>(ip: &IpAddr, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(text(ip).as_str())
}

/// `#[serde(serialize_with = "crate::ip::serialize_all")]` for a list of addresses.
pub(crate) fn serialize_all<S: Serializer>(ips: &[IpAddr], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(ips.len()))?;
    for ip in ips {
        seq.serialize_element(text(ip).as_str())?;
    }
    seq.end()
}

/// An address as log text: `ip.to_string()`, without `fmt` (for address text a record
/// carries as a string, such as a DNS answer's data).
pub fn ip_string(ip: &IpAddr) -> String {
    text(ip).as_str().to_string()
}

/// Appends an address's log text (`ip.to_string()`) to `out`, without `fmt` or an
/// allocation (for writers of JSON by hand).
pub fn push_ip(out: &mut Vec<u8>, ip: &IpAddr) {
    let t = text(ip);
    out.extend_from_slice(&t.buf[..t.len]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(ip: IpAddr) {
        assert_eq!(text(&ip).as_str(), ip.to_string(), "{ip:?}");
        assert_eq!(ip_string(&ip), ip.to_string(), "{ip:?}");
        let mut out = b"x".to_vec();
        push_ip(&mut out, &ip);
        assert_eq!(out, format!("x{ip}").into_bytes(), "{ip:?}");
    }

    #[test]
    fn edge_cases_match_display() {
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.100.9",
            "::",
            "::1",
            "1::",
            "2001:db8::1",
            "2001:db8:0:0:1:0:0:1",
            "2001:0:0:1:0:0:0:1",
            "1:0:1:0:1:0:1:0",
            "::ffff:192.0.2.1",
            "::192.0.2.1",
            "64:ff9b::c000:201",
            "fe80::1:2:3:4",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            same(s.parse().unwrap());
        }
    }

    #[test]
    fn a_million_addresses_match_display() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..1_000_000 {
            let r = next();
            same(IpAddr::V4(Ipv4Addr::from((r >> 32) as u32)));
            // Groups zeroed at random, so runs of every length and position occur.
            let mut g = [0u16; 8];
            for (i, s) in g.iter_mut().enumerate() {
                let bits = next();
                *s = if (r >> (i * 3)) & 3 == 0 {
                    bits as u16
                } else {
                    0
                };
                if (r >> (40 + i)) & 1 == 1 {
                    *s &= 0x00ff;
                }
            }
            same(IpAddr::V6(Ipv6Addr::from(g)));
        }
    }
}
