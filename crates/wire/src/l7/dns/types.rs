//! DNS registries — record types, classes, response codes, opcodes — with the names Zeek
//! writes in `dns.log` (`A`, `*`, `C_INTERNET`, `NXDOMAIN`; `query-65534`, `qclass-7`,
//! `rcode-12` and `opcode-9` for numbers it has no name for).

use std::fmt;

/// A record type (TYPE and QTYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// IPv4 address (1).
    A,
    /// Name server (2).
    Ns,
    /// Canonical name (5).
    Cname,
    /// Start of authority (6).
    Soa,
    /// Domain name pointer (12).
    Ptr,
    /// Mail exchange (15).
    Mx,
    /// Text strings (16).
    Txt,
    /// IPv6 address (28).
    Aaaa,
    /// Service locator (33).
    Srv,
    /// EDNS pseudo-record (41).
    Opt,
    /// Service binding (64).
    Svcb,
    /// HTTPS service binding (65).
    Https,
    /// SPF text (99).
    Spf,
    /// Incremental zone transfer (251).
    Ixfr,
    /// Zone transfer (252).
    Axfr,
    /// Any records, `*` (255).
    Any,
    /// Any other type (the numbers Zeek knows still get their name from [`RecordType::name`]).
    Unknown(u16),
}

impl From<u16> for RecordType {
    fn from(v: u16) -> RecordType {
        match v {
            1 => RecordType::A,
            2 => RecordType::Ns,
            5 => RecordType::Cname,
            6 => RecordType::Soa,
            12 => RecordType::Ptr,
            15 => RecordType::Mx,
            16 => RecordType::Txt,
            28 => RecordType::Aaaa,
            33 => RecordType::Srv,
            41 => RecordType::Opt,
            64 => RecordType::Svcb,
            65 => RecordType::Https,
            99 => RecordType::Spf,
            251 => RecordType::Ixfr,
            252 => RecordType::Axfr,
            255 => RecordType::Any,
            n => RecordType::Unknown(n),
        }
    }
}

impl From<RecordType> for u16 {
    fn from(t: RecordType) -> u16 {
        match t {
            RecordType::A => 1,
            RecordType::Ns => 2,
            RecordType::Cname => 5,
            RecordType::Soa => 6,
            RecordType::Ptr => 12,
            RecordType::Mx => 15,
            RecordType::Txt => 16,
            RecordType::Aaaa => 28,
            RecordType::Srv => 33,
            RecordType::Opt => 41,
            RecordType::Svcb => 64,
            RecordType::Https => 65,
            RecordType::Spf => 99,
            RecordType::Ixfr => 251,
            RecordType::Axfr => 252,
            RecordType::Any => 255,
            RecordType::Unknown(n) => n,
        }
    }
}

impl RecordType {
    /// Zeek's name for the type (`DNS::query_types`), `None` when it has none.
    pub fn name(self) -> Option<&'static str> {
        Some(match u16::from(self) {
            1 => "A",
            2 => "NS",
            3 => "MD",
            4 => "MF",
            5 => "CNAME",
            6 => "SOA",
            7 => "MB",
            8 => "MG",
            9 => "MR",
            10 => "NULL",
            11 => "WKS",
            12 => "PTR",
            13 => "HINFO",
            14 => "MINFO",
            15 => "MX",
            16 => "TXT",
            17 => "RP",
            18 => "AFSDB",
            19 => "X25",
            20 => "ISDN",
            21 => "RT",
            22 => "NSAP",
            23 => "NSAP-PTR",
            24 => "SIG",
            25 => "KEY",
            26 => "PX",
            27 => "GPOS",
            28 => "AAAA",
            29 => "LOC",
            30 => "NXT",
            31 => "EID",
            32 => "NIMLOC",
            33 => "SRV",
            34 => "ATMA",
            35 => "NAPTR",
            36 => "KX",
            37 => "CERT",
            38 => "A6",
            39 => "DNAME",
            40 => "SINK",
            41 => "OPT",
            42 => "APL",
            43 => "DS",
            44 => "SSHFP",
            45 => "IPSECKEY",
            46 => "RRSIG",
            47 => "NSEC",
            48 => "DNSKEY",
            49 => "DHCID",
            50 => "NSEC3",
            51 => "NSEC3PARAM",
            52 => "TLSA",
            53 => "SMIMEA",
            55 => "HIP",
            56 => "NINFO",
            57 => "RKEY",
            58 => "TALINK",
            59 => "CDS",
            60 => "CDNSKEY",
            61 => "OPENPGPKEY",
            62 => "CSYNC",
            63 => "ZONEMD",
            64 => "SVCB",
            65 => "HTTPS",
            99 => "SPF",
            100 => "UINFO",
            101 => "UID",
            102 => "GID",
            103 => "UNSPEC",
            104 => "NID",
            105 => "L32",
            106 => "L64",
            107 => "LP",
            108 => "EUI48",
            109 => "EUI64",
            249 => "TKEY",
            250 => "TSIG",
            251 => "IXFR",
            252 => "AXFR",
            253 => "MAILB",
            254 => "MAILA",
            255 => "*",
            256 => "URI",
            257 => "CAA",
            32768 => "TA",
            32769 => "DLV",
            65281 => "WINS",
            65282 => "WINS-R",
            65422 => "XPF",
            65521 => "INTEGRITY",
            _ => return None,
        })
    }
}

impl fmt::Display for RecordType {
    /// Zeek's `qtype_name`: the name, or `query-<n>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "query-{}", u16::from(*self)),
        }
    }
}

/// A record class (CLASS and QCLASS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Internet (1).
    In,
    /// CSNET (2).
    Cs,
    /// Chaos (3).
    Ch,
    /// Hesiod (4).
    Hs,
    /// None (254).
    None,
    /// Any (255).
    Any,
    /// Any other value (mDNS sets the top bit for unicast-response / cache-flush).
    Unknown(u16),
}

impl From<u16> for Class {
    fn from(v: u16) -> Class {
        match v {
            1 => Class::In,
            2 => Class::Cs,
            3 => Class::Ch,
            4 => Class::Hs,
            254 => Class::None,
            255 => Class::Any,
            n => Class::Unknown(n),
        }
    }
}

impl From<Class> for u16 {
    fn from(c: Class) -> u16 {
        match c {
            Class::In => 1,
            Class::Cs => 2,
            Class::Ch => 3,
            Class::Hs => 4,
            Class::None => 254,
            Class::Any => 255,
            Class::Unknown(n) => n,
        }
    }
}

impl fmt::Display for Class {
    /// Zeek's `qclass_name`: `C_INTERNET` ..., or `qclass-<n>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Class::In => f.write_str("C_INTERNET"),
            Class::Cs => f.write_str("C_CSNET"),
            Class::Ch => f.write_str("C_CHAOS"),
            Class::Hs => f.write_str("C_HESIOD"),
            Class::None => f.write_str("C_NONE"),
            Class::Any => f.write_str("C_ANY"),
            Class::Unknown(n) => write!(f, "qclass-{n}"),
        }
    }
}

/// A response code (4 bits in the header, 12 with EDNS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rcode {
    /// No error (0).
    NoError,
    /// Format error (1).
    FormErr,
    /// Server failure (2).
    ServFail,
    /// Name does not exist (3).
    NxDomain,
    /// Not implemented (4).
    NotImp,
    /// Refused (5).
    Refused,
    /// Name exists when it should not (6).
    YxDomain,
    /// RR set exists when it should not (7).
    YxRrset,
    /// RR set that should exist does not (8).
    NxRrset,
    /// Not authoritative (9).
    NotAuth,
    /// Name not in zone (10).
    NotZone,
    /// Bad EDNS version (16).
    BadVers,
    /// Bad EDNS cookie (23).
    BadCookie,
    /// Any other value.
    Unknown(u16),
}

impl From<u16> for Rcode {
    fn from(v: u16) -> Rcode {
        match v {
            0 => Rcode::NoError,
            1 => Rcode::FormErr,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            4 => Rcode::NotImp,
            5 => Rcode::Refused,
            6 => Rcode::YxDomain,
            7 => Rcode::YxRrset,
            8 => Rcode::NxRrset,
            9 => Rcode::NotAuth,
            10 => Rcode::NotZone,
            16 => Rcode::BadVers,
            23 => Rcode::BadCookie,
            n => Rcode::Unknown(n),
        }
    }
}

impl From<Rcode> for u16 {
    fn from(r: Rcode) -> u16 {
        match r {
            Rcode::NoError => 0,
            Rcode::FormErr => 1,
            Rcode::ServFail => 2,
            Rcode::NxDomain => 3,
            Rcode::NotImp => 4,
            Rcode::Refused => 5,
            Rcode::YxDomain => 6,
            Rcode::YxRrset => 7,
            Rcode::NxRrset => 8,
            Rcode::NotAuth => 9,
            Rcode::NotZone => 10,
            Rcode::BadVers => 16,
            Rcode::BadCookie => 23,
            Rcode::Unknown(n) => n,
        }
    }
}

impl Rcode {
    /// Zeek's name for the code (`DNS::base_errors`), `None` when it has none.
    pub fn name(self) -> Option<&'static str> {
        Some(match u16::from(self) {
            0 => "NOERROR",
            1 => "FORMERR",
            2 => "SERVFAIL",
            3 => "NXDOMAIN",
            4 => "NOTIMP",
            5 => "REFUSED",
            6 => "YXDOMAIN",
            7 => "YXRRSET",
            8 => "NXRRSet",
            9 => "NOTAUTH",
            10 => "NOTZONE",
            16 => "BADVERS",
            17 => "BADKEY",
            18 => "BADTIME",
            19 => "BADMODE",
            20 => "BADNAME",
            21 => "BADALG",
            22 => "BADTRUNC",
            23 => "BADCOOKIE",
            3842 => "BADSIG",
            _ => return None,
        })
    }
}

impl fmt::Display for Rcode {
    /// Zeek's `rcode_name` (`DNS::base_errors`), or `unassigned-<n>` (11-15) or `rcode-<n>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.name(), u16::from(*self)) {
            (Some(name), _) => f.write_str(name),
            (None, n @ 11..=15) => write!(f, "unassigned-{n}"),
            (None, n) => write!(f, "rcode-{n}"),
        }
    }
}

/// A header opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// Standard query (0).
    Query,
    /// Inverse query (1).
    IQuery,
    /// Server status (2).
    Status,
    /// Notify (4).
    Notify,
    /// Dynamic update (5).
    Update,
    /// DNS stateful operations (6).
    Dso,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for Opcode {
    fn from(v: u8) -> Opcode {
        match v {
            0 => Opcode::Query,
            1 => Opcode::IQuery,
            2 => Opcode::Status,
            4 => Opcode::Notify,
            5 => Opcode::Update,
            6 => Opcode::Dso,
            n => Opcode::Unknown(n),
        }
    }
}

impl From<Opcode> for u8 {
    fn from(o: Opcode) -> u8 {
        match o {
            Opcode::Query => 0,
            Opcode::IQuery => 1,
            Opcode::Status => 2,
            Opcode::Notify => 4,
            Opcode::Update => 5,
            Opcode::Dso => 6,
            Opcode::Unknown(n) => n,
        }
    }
}

impl fmt::Display for Opcode {
    /// Zeek's `opcode_name`: `query`, `notify`, ..., or `opcode-<n>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Opcode::Query => f.write_str("query"),
            Opcode::IQuery => f.write_str("iquery"),
            Opcode::Status => f.write_str("server-status"),
            Opcode::Notify => f.write_str("notify"),
            Opcode::Update => f.write_str("dynamic-update"),
            Opcode::Dso => f.write_str("dso"),
            Opcode::Unknown(n) => write!(f, "opcode-{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeek_names() {
        assert_eq!(RecordType::A.to_string(), "A");
        assert_eq!(RecordType::Any.to_string(), "*");
        assert_eq!(RecordType::from(32).to_string(), "NIMLOC");
        assert_eq!(RecordType::from(65534).to_string(), "query-65534");
        assert_eq!(Class::In.to_string(), "C_INTERNET");
        assert_eq!(Class::from(0x8001).to_string(), "qclass-32769");
        assert_eq!(Rcode::NxDomain.to_string(), "NXDOMAIN");
        assert_eq!(Rcode::from(8).to_string(), "NXRRSet");
        assert_eq!(Rcode::from(12).to_string(), "unassigned-12");
        assert_eq!(Rcode::from(4000).to_string(), "rcode-4000");
        assert_eq!(Opcode::Update.to_string(), "dynamic-update");
        assert_eq!(Opcode::from(9).to_string(), "opcode-9");
    }

    #[test]
    fn numbers_round_trip() {
        for n in 0..=u16::MAX {
            assert_eq!(u16::from(RecordType::from(n)), n);
            assert_eq!(u16::from(Class::from(n)), n);
            assert_eq!(u16::from(Rcode::from(n)), n);
        }
        for n in 0..16u8 {
            assert_eq!(u8::from(Opcode::from(n)), n);
        }
    }
}
