//! Record data, decoded by type, and its textual form as Zeek logs answers.

use super::DnsError;
use super::name::{self, Name, write_escaped};
use super::svcb::Svcb;
use super::types::RecordType;
use crate::bytes::Reader;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The data of one resource record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RData<'a> {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A canonical name.
    Cname(Name<'a>),
    /// A name server.
    Ns(Name<'a>),
    /// A domain name pointer.
    Ptr(Name<'a>),
    /// A mail exchange.
    Mx {
        /// The preference (lower first).
        preference: u16,
        /// The exchange host.
        exchange: Name<'a>,
    },
    /// Text strings.
    Txt(CharStrings<'a>),
    /// SPF text strings (same shape as TXT).
    Spf(CharStrings<'a>),
    /// A service location.
    Srv {
        /// The priority.
        priority: u16,
        /// The weight.
        weight: u16,
        /// The port.
        port: u16,
        /// The target host.
        target: Name<'a>,
    },
    /// A start of authority.
    Soa(Soa<'a>),
    /// SVCB or HTTPS service binding (the record type says which).
    Svcb(Svcb<'a>),
    /// EDNS options of an OPT pseudo-record.
    Opt(EdnsOptions<'a>),
    /// No data, for a type that needs some: dynamic updates delete with empty records
    /// (class ANY/NONE), inverse queries carry them.
    Empty {
        /// The record type number.
        rtype: u16,
    },
    /// A type without a decoder here, raw.
    Unknown {
        /// The record type number.
        rtype: u16,
        /// The raw data.
        data: &'a [u8],
    },
    /// Data that does not fit its type's format (the message around it is fine).
    Invalid {
        /// The record type number.
        rtype: u16,
        /// What is wrong.
        error: DnsError,
    },
}

/// The fields of an SOA record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Soa<'a> {
    /// The primary name server.
    pub mname: Name<'a>,
    /// The responsible mailbox.
    pub rname: Name<'a>,
    /// The zone serial.
    pub serial: u32,
    /// Refresh interval, seconds.
    pub refresh: u32,
    /// Retry interval, seconds.
    pub retry: u32,
    /// Expire limit, seconds.
    pub expire: u32,
    /// Minimum / negative-caching TTL, seconds.
    pub minimum: u32,
}

/// A sequence of `<character-string>`s (TXT, SPF), checked to fill the record exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CharStrings<'a> {
    raw: &'a [u8],
}

impl<'a> CharStrings<'a> {
    /// Iterates over the strings.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut r = Reader::new(self.raw);
        std::iter::from_fn(move || r.vec8())
    }
}

/// The options of an EDNS OPT record, checked to fill the record exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdnsOptions<'a> {
    raw: &'a [u8],
}

impl<'a> EdnsOptions<'a> {
    /// Iterates over `(option code, option data)`.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &'a [u8])> + 'a {
        let mut r = Reader::new(self.raw);
        std::iter::from_fn(move || Some((r.u16()?, r.vec16()?)))
    }
}

/// Decodes the data of a record of type `rtype` found at `rdata` in `msg`.
pub(crate) fn decode<'a>(
    msg: &'a [u8],
    rtype: RecordType,
    rdata: std::ops::Range<usize>,
) -> RData<'a> {
    let raw_type = u16::from(rtype);
    match decode_inner(msg, rtype, rdata) {
        Ok(d) => d,
        Err(error) => RData::Invalid {
            rtype: raw_type,
            error,
        },
    }
}

fn decode_inner<'a>(
    msg: &'a [u8],
    rtype: RecordType,
    range: std::ops::Range<usize>,
) -> Result<RData<'a>, DnsError> {
    let data = &msg[range.clone()];
    let raw_type = u16::from(rtype);
    let bad = |reason| DnsError::BadRdata {
        rtype: raw_type,
        reason,
    };
    // A name inside the data: compression may point anywhere in the message, but the
    // in-place bytes must end inside the record.
    let name_at = |pos: usize| -> Result<(Name<'a>, usize), DnsError> {
        let (n, end) = name::parse(msg, pos)?;
        if end > range.end {
            return Err(bad("name runs past the record"));
        }
        Ok((n, end))
    };
    let exact = |end: usize| {
        if end == range.end {
            Ok(())
        } else {
            Err(bad("trailing bytes"))
        }
    };
    let empty_allowed = matches!(
        rtype,
        RecordType::Txt | RecordType::Spf | RecordType::Opt | RecordType::Unknown(_)
    );
    if data.is_empty() && !empty_allowed {
        return Ok(RData::Empty { rtype: raw_type });
    }
    Ok(match rtype {
        RecordType::A => {
            let b: [u8; 4] = data.try_into().map_err(|_| bad("A is not 4 bytes"))?;
            RData::A(Ipv4Addr::from(b))
        }
        RecordType::Aaaa => {
            let b: [u8; 16] = data.try_into().map_err(|_| bad("AAAA is not 16 bytes"))?;
            RData::Aaaa(Ipv6Addr::from(b))
        }
        RecordType::Cname | RecordType::Ns | RecordType::Ptr => {
            let (n, end) = name_at(range.start)?;
            exact(end)?;
            match rtype {
                RecordType::Cname => RData::Cname(n),
                RecordType::Ns => RData::Ns(n),
                _ => RData::Ptr(n),
            }
        }
        RecordType::Mx => {
            let mut r = Reader::new(data);
            let preference = r.u16().ok_or(bad("MX too short"))?;
            let (exchange, end) = name_at(range.start + 2)?;
            exact(end)?;
            RData::Mx {
                preference,
                exchange,
            }
        }
        RecordType::Txt | RecordType::Spf => {
            let mut r = Reader::new(data);
            while !r.is_empty() {
                r.vec8()
                    .ok_or(bad("character-string runs past the record"))?;
            }
            let s = CharStrings { raw: data };
            if rtype == RecordType::Txt {
                RData::Txt(s)
            } else {
                RData::Spf(s)
            }
        }
        RecordType::Srv => {
            let mut r = Reader::new(data);
            let (priority, weight, port) =
                (|| Some((r.u16()?, r.u16()?, r.u16()?)))().ok_or(bad("SRV too short"))?;
            let (target, end) = name_at(range.start + 6)?;
            exact(end)?;
            RData::Srv {
                priority,
                weight,
                port,
                target,
            }
        }
        RecordType::Soa => {
            let (mname, end) = name_at(range.start)?;
            let (rname, end) = name_at(end)?;
            let mut r = Reader::new(&msg[end..range.end]);
            let mut n = || r.u32().ok_or(bad("SOA too short"));
            let soa = Soa {
                mname,
                rname,
                serial: n()?,
                refresh: n()?,
                retry: n()?,
                expire: n()?,
                minimum: n()?,
            };
            exact(end + 20)?;
            RData::Soa(soa)
        }
        RecordType::Svcb | RecordType::Https => {
            let mut r = Reader::new(data);
            let priority = r.u16().ok_or(bad("SVCB too short"))?;
            let (target, end) = name_at(range.start + 2)?;
            RData::Svcb(Svcb::new(raw_type, priority, target, &msg[end..range.end])?)
        }
        RecordType::Opt => {
            let mut r = Reader::new(data);
            while !r.is_empty() {
                r.u16()
                    .and_then(|_| r.vec16())
                    .ok_or(bad("EDNS option runs past the record"))?;
            }
            RData::Opt(EdnsOptions { raw: data })
        }
        _ => RData::Unknown {
            rtype: raw_type,
            data,
        },
    })
}

impl fmt::Display for RData<'_> {
    /// The answer as Zeek's `dns.log` writes it: addresses and names as text (MX: the
    /// exchange, SRV: the target, SOA: the primary server), `TXT <len> <string>` per
    /// string, `<unknown type=N>` for types without a decoder, nothing for empty data.
    /// SVCB/HTTPS use the RFC 9460 presentation format (Zeek does not log them).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RData::A(a) => write!(f, "{a}"),
            RData::Aaaa(a) => write!(f, "{a}"),
            RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) => write!(f, "{n}"),
            RData::Mx { exchange, .. } => write!(f, "{exchange}"),
            RData::Srv { target, .. } => write!(f, "{target}"),
            RData::Soa(soa) => write!(f, "{}", soa.mname),
            RData::Txt(s) | RData::Spf(s) => {
                let tag = if matches!(self, RData::Txt(_)) {
                    "TXT"
                } else {
                    "SPF"
                };
                for (i, s) in s.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{tag} {} ", s.len())?;
                    write_escaped(f, s)?;
                }
                Ok(())
            }
            RData::Svcb(s) => write!(f, "{s}"),
            RData::Opt(_) => f.write_str("OPT"),
            RData::Empty { .. } => Ok(()),
            RData::Unknown { rtype, .. } => write!(f, "<unknown type={rtype}>"),
            RData::Invalid { rtype, .. } => write!(f, "<invalid type={rtype}>"),
        }
    }
}
