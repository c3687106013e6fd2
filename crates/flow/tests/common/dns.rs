//! DNS messages built by hand (RFC 1035 wire format), with compression pointers where a test
//! asks for them.

/// Header flag bits.
pub const QR: u16 = 0x8000;
pub const AA: u16 = 0x0400;
pub const TC: u16 = 0x0200;
pub const RD: u16 = 0x0100;
pub const RA: u16 = 0x0080;
pub const NXDOMAIN: u16 = 3;

pub const A: u16 = 1;
pub const NS: u16 = 2;
pub const CNAME: u16 = 5;
pub const SOA: u16 = 6;
pub const AAAA: u16 = 28;

/// Offset of the question's name in a message: right after the 12-byte header. A pointer to
/// it is `0xc00c`.
pub const QNAME_PTR: [u8; 2] = [0xc0, 0x0c];

/// A name as labels: `www.example.com` -> `3www7example3com0`.
pub fn name(dotted: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in dotted.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// A message being built: header, then sections appended in order.
#[derive(Debug, Clone)]
pub struct Msg {
    pub bytes: Vec<u8>,
}

impl Msg {
    /// A header with the given counts; sections must then be appended to match them.
    pub fn new(id: u16, flags: u16, qd: u16, an: u16, ns: u16, ar: u16) -> Msg {
        let mut bytes = Vec::new();
        for v in [id, flags, qd, an, ns, ar] {
            bytes.extend_from_slice(&v.to_be_bytes());
        }
        Msg { bytes }
    }

    /// A question (class IN).
    pub fn question(mut self, qname: &str, qtype: u16) -> Msg {
        self.bytes.extend(name(qname));
        self.bytes.extend_from_slice(&qtype.to_be_bytes());
        self.bytes.extend_from_slice(&1u16.to_be_bytes());
        self
    }

    /// Where the next byte goes (for compression pointers to names written later).
    pub fn offset(&self) -> usize {
        self.bytes.len()
    }

    /// A resource record (class IN) whose owner name is already encoded (labels or a
    /// pointer).
    pub fn record(mut self, owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Msg {
        self.bytes.extend_from_slice(owner);
        self.bytes.extend_from_slice(&rtype.to_be_bytes());
        self.bytes.extend_from_slice(&1u16.to_be_bytes());
        self.bytes.extend_from_slice(&ttl.to_be_bytes());
        self.bytes
            .extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        self.bytes.extend_from_slice(rdata);
        self
    }

    pub fn build(self) -> Vec<u8> {
        self.bytes
    }
}

/// A pointer to a name at `offset`.
pub fn ptr(offset: usize) -> [u8; 2] {
    [0xc0 | (offset >> 8) as u8, offset as u8]
}

/// A query with one question and RD set.
pub fn query(id: u16, qname: &str, qtype: u16) -> Vec<u8> {
    Msg::new(id, RD, 1, 0, 0, 0).question(qname, qtype).build()
}

/// The response to [`query`]: RD and RA set, the question, and one answer of the same type
/// whose owner points at the question's name.
pub fn response(id: u16, qname: &str, qtype: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    Msg::new(id, QR | RD | RA, 1, 1, 0, 0)
        .question(qname, qtype)
        .record(&QNAME_PTR, qtype, ttl, rdata)
        .build()
}

/// SOA rdata: primary server, mailbox, serial, refresh, retry, expire, minimum.
pub fn soa(mname: &str, rname: &str, serial: u32) -> Vec<u8> {
    let mut r = name(mname);
    r.extend(name(rname));
    for v in [serial, 7200, 3600, 1_209_600, 300] {
        r.extend_from_slice(&v.to_be_bytes());
    }
    r
}

/// The message with the 2-byte length prefix DNS over TCP puts in front of it.
pub fn tcp_framed(msg: &[u8]) -> Vec<u8> {
    let mut out = (msg.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(msg);
    out
}
