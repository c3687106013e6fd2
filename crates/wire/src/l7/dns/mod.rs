//! DNS messages (RFC 1035 and successors), over UDP or TCP.
//!
//! [`Message::parse`] checks the whole message once — header, every name (compression
//! included), every record's fixed fields and data length — and records where each section
//! starts; iterating afterwards cannot fail. Record data is decoded on demand
//! ([`Record::rdata`]); data that does not fit its type's format becomes
//! [`RData::Invalid`] without failing the message, as Zeek keeps going with a weird.
//!
//! Over TCP each message has a 2-byte length prefix: [`tcp_message`] splits it off.

mod name;
mod rdata;
mod svcb;
mod types;

pub use name::{Labels, MAX_NAME_LEN, MAX_POINTERS, Name};
pub use rdata::{CharStrings, EdnsOptions, RData, Soa};
pub use svcb::{AlpnIds, SvcParam, SvcParamValue, SvcParams, Svcb, key as svc_key};
pub use types::{Class, Opcode, Rcode, RecordType};

use crate::bytes::{be16, be32};

/// Header length in bytes.
pub const HEADER_LEN: usize = 12;

/// Why bytes could not be parsed as a DNS message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The message ended inside a header, name or record.
    #[error("dns: truncated {what}: needed {needed} bytes, got {got}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes of message needed.
        needed: usize,
        /// Bytes of message there were.
        got: usize,
    },
    /// A label length byte with the reserved 0b01/0b10 prefix (a length over 63).
    #[error("dns: label length byte {len:#04x} (over 63)")]
    LabelTooLong {
        /// The length byte.
        len: u8,
    },
    /// A name longer than [`MAX_NAME_LEN`] bytes.
    #[error("dns: name longer than 255 bytes")]
    NameTooLong,
    /// More than [`MAX_POINTERS`] compression pointers in one name (a loop, or a chain
    /// built to waste time).
    #[error("dns: compression pointer loop")]
    CompressionLoop,
    /// A compression pointer past the end of the message.
    #[error("dns: compression pointer to {offset} past the message")]
    BadPointer {
        /// Where it points.
        offset: usize,
    },
    /// Record data that does not fit its type's format.
    #[error("dns: bad rdata for type {rtype}: {reason}")]
    BadRdata {
        /// The record type number.
        rtype: u16,
        /// What is wrong.
        reason: &'static str,
    },
}

/// The fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The transaction id.
    pub id: u16,
    /// The flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode).
    pub flags: u16,
    /// Number of questions.
    pub qdcount: u16,
    /// Number of answer records.
    pub ancount: u16,
    /// Number of authority records.
    pub nscount: u16,
    /// Number of additional records.
    pub arcount: u16,
}

impl Header {
    /// True for a response.
    pub fn qr(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    /// The opcode.
    pub fn opcode(&self) -> Opcode {
        Opcode::from(((self.flags >> 11) & 0xf) as u8)
    }

    /// Authoritative answer.
    pub fn aa(&self) -> bool {
        self.flags & 0x0400 != 0
    }

    /// Truncated (TC).
    pub fn tc(&self) -> bool {
        self.flags & 0x0200 != 0
    }

    /// Recursion desired.
    pub fn rd(&self) -> bool {
        self.flags & 0x0100 != 0
    }

    /// Recursion available.
    pub fn ra(&self) -> bool {
        self.flags & 0x0080 != 0
    }

    /// The reserved Z bit.
    pub fn z(&self) -> bool {
        self.flags & 0x0040 != 0
    }

    /// Authentic data (DNSSEC).
    pub fn ad(&self) -> bool {
        self.flags & 0x0020 != 0
    }

    /// Checking disabled (DNSSEC).
    pub fn cd(&self) -> bool {
        self.flags & 0x0010 != 0
    }

    /// The 3 bits Zeek logs as `Z` (Z, AD and CD together).
    pub fn zeek_z(&self) -> u8 {
        ((self.flags >> 4) & 7) as u8
    }

    /// The 4-bit response code of the header (see [`Message::rcode`] for the EDNS one).
    pub fn rcode(&self) -> Rcode {
        Rcode::from(self.flags & 0xf)
    }
}

/// One question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question<'a> {
    /// The name asked about.
    pub name: Name<'a>,
    /// The type asked for.
    pub qtype: RecordType,
    /// The class, raw (mDNS uses the top bit for unicast-response).
    pub qclass: u16,
}

impl Question<'_> {
    /// The class.
    pub fn class(&self) -> Class {
        Class::from(self.qclass)
    }
}

/// One resource record.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The owner name.
    pub name: Name<'a>,
    /// The type.
    pub rtype: RecordType,
    /// The class, raw (for OPT: the sender's UDP payload size).
    pub rclass: u16,
    /// The time to live (for OPT: extended rcode, version and flags).
    pub ttl: u32,
    /// The raw record data.
    pub data: &'a [u8],
    msg: &'a [u8],
    data_at: usize,
}

impl<'a> Record<'a> {
    /// The class.
    pub fn class(&self) -> Class {
        Class::from(self.rclass)
    }

    /// The data decoded by type.
    pub fn rdata(&self) -> RData<'a> {
        rdata::decode(
            self.msg,
            self.rtype,
            self.data_at..self.data_at + self.data.len(),
        )
    }
}

/// The EDNS fields of an OPT pseudo-record (RFC 6891).
#[derive(Debug, Clone, Copy)]
pub struct Edns<'a> {
    /// The sender's UDP payload size.
    pub udp_payload_size: u16,
    /// The upper 8 bits of the 12-bit response code.
    pub extended_rcode: u8,
    /// The EDNS version.
    pub version: u8,
    /// The DNSSEC OK flag.
    pub dnssec_ok: bool,
    /// The options (`None` when they do not fit the record: Zeek's
    /// `EDNS_truncated_option`).
    pub options: Option<EdnsOptions<'a>>,
}

/// A DNS message, checked.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    buf: &'a [u8],
    header: Header,
    /// Start of the question, answer, authority and additional sections, and their end.
    bounds: [usize; 5],
    /// Complete entries per section: the header's counts, unless the message was cut short
    /// ([`Message::parse_partial`]).
    counts: [u16; 4],
}

impl<'a> Message<'a> {
    /// Parses and checks a whole message (a UDP payload, or a TCP message without its
    /// length prefix). Bytes after the last record are allowed ([`Message::trailing`]).
    pub fn parse(buf: &'a [u8]) -> Result<Message<'a>, DnsError> {
        match Message::walk(buf)? {
            (m, None) => Ok(m),
            (_, Some(e)) => Err(e),
        }
    }

    /// Parses what there is of a message cut short (a truncated capture, the first fragment
    /// of a datagram whose others were lost): the header, then every complete question and
    /// record up to the first that is not, as tshark shows them. Returns the message and the
    /// error that ended it early, if any; fails only without a whole header.
    pub fn parse_partial(buf: &'a [u8]) -> Result<(Message<'a>, Option<DnsError>), DnsError> {
        Message::walk(buf)
    }

    /// The sections, up to the first entry that does not parse.
    fn walk(buf: &'a [u8]) -> Result<(Message<'a>, Option<DnsError>), DnsError> {
        if buf.len() < HEADER_LEN {
            return Err(DnsError::Truncated {
                what: "header",
                needed: HEADER_LEN,
                got: buf.len(),
            });
        }
        let header = Header {
            id: be16(buf, 0),
            flags: be16(buf, 2),
            qdcount: be16(buf, 4),
            ancount: be16(buf, 6),
            nscount: be16(buf, 8),
            arcount: be16(buf, 10),
        };
        let wanted = [
            header.qdcount,
            header.ancount,
            header.nscount,
            header.arcount,
        ];
        let mut bounds = [HEADER_LEN; 5];
        let mut counts = [0u16; 4];
        let mut pos = HEADER_LEN;
        let mut error = None;
        'sections: for (i, &count) in wanted.iter().enumerate() {
            bounds[i] = pos;
            for _ in 0..count {
                let next = if i == 0 {
                    question_at(buf, pos).map(|q| q.1)
                } else {
                    record_at(buf, pos).map(|r| r.1)
                };
                match next {
                    Ok(n) => pos = n,
                    Err(e) => {
                        error = Some(e);
                        bounds[i + 1..].fill(pos);
                        break 'sections;
                    }
                }
                counts[i] += 1;
            }
            bounds[i + 1] = pos;
        }
        let m = Message {
            buf,
            header,
            bounds,
            counts,
        };
        Ok((m, error))
    }

    /// The header.
    pub fn header(&self) -> Header {
        self.header
    }

    /// The transaction id.
    pub fn id(&self) -> u16 {
        self.header.id
    }

    /// True for a response.
    pub fn is_response(&self) -> bool {
        self.header.qr()
    }

    /// The questions.
    pub fn questions(&self) -> Questions<'a> {
        Questions {
            buf: self.buf,
            pos: self.bounds[0],
            left: self.counts[0],
        }
    }

    /// The first question (almost every message has exactly one).
    pub fn question(&self) -> Option<Question<'a>> {
        self.questions().next()
    }

    /// The answer records.
    pub fn answers(&self) -> Records<'a> {
        self.section(1)
    }

    /// The authority records.
    pub fn authority(&self) -> Records<'a> {
        self.section(2)
    }

    /// The additional records.
    pub fn additional(&self) -> Records<'a> {
        self.section(3)
    }

    fn section(&self, i: usize) -> Records<'a> {
        Records {
            buf: self.buf,
            pos: self.bounds[i],
            left: self.counts[i],
        }
    }

    /// True when every entry the header announces was parsed (always, unless the message
    /// came from [`Message::parse_partial`] and was cut short).
    pub fn is_complete(&self) -> bool {
        self.counts
            == [
                self.header.qdcount,
                self.header.ancount,
                self.header.nscount,
                self.header.arcount,
            ]
    }

    /// The EDNS fields of the first OPT record in the additional section.
    pub fn edns(&self) -> Option<Edns<'a>> {
        let opt = self.additional().find(|r| r.rtype == RecordType::Opt)?;
        Some(Edns {
            udp_payload_size: opt.rclass,
            extended_rcode: (opt.ttl >> 24) as u8,
            version: (opt.ttl >> 16) as u8,
            dnssec_ok: opt.ttl & 0x8000 != 0,
            options: match opt.rdata() {
                RData::Opt(o) => Some(o),
                _ => None,
            },
        })
    }

    /// The response code, extended to 12 bits by EDNS when present.
    pub fn rcode(&self) -> Rcode {
        let low = u16::from(self.header.rcode());
        match self.edns() {
            Some(e) => Rcode::from(u16::from(e.extended_rcode) << 4 | low),
            None => Rcode::from(low),
        }
    }

    /// Bytes after the last record.
    pub fn trailing(&self) -> &'a [u8] {
        &self.buf[self.bounds[4]..]
    }
}

fn short(what: &'static str, needed: usize, buf: &[u8]) -> DnsError {
    DnsError::Truncated {
        what,
        needed,
        got: buf.len(),
    }
}

fn question_at(buf: &[u8], pos: usize) -> Result<(Question<'_>, usize), DnsError> {
    let (name, end) = name::parse(buf, pos)?;
    if buf.len() < end + 4 {
        return Err(short("question", end + 4, buf));
    }
    let q = Question {
        name,
        qtype: RecordType::from(be16(buf, end)),
        qclass: be16(buf, end + 2),
    };
    Ok((q, end + 4))
}

fn record_at(buf: &[u8], pos: usize) -> Result<(Record<'_>, usize), DnsError> {
    let (name, end) = name::parse(buf, pos)?;
    if buf.len() < end + 10 {
        return Err(short("record", end + 10, buf));
    }
    let rdlen = usize::from(be16(buf, end + 8));
    let data_at = end + 10;
    if buf.len() < data_at + rdlen {
        return Err(short("rdata", data_at + rdlen, buf));
    }
    let r = Record {
        name,
        rtype: RecordType::from(be16(buf, end)),
        rclass: be16(buf, end + 2),
        ttl: be32(buf, end + 4),
        data: &buf[data_at..data_at + rdlen],
        msg: buf,
        data_at,
    };
    Ok((r, data_at + rdlen))
}

/// The questions of a [`Message`].
#[derive(Debug, Clone)]
pub struct Questions<'a> {
    buf: &'a [u8],
    pos: usize,
    left: u16,
}

impl<'a> Iterator for Questions<'a> {
    type Item = Question<'a>;

    fn next(&mut self) -> Option<Question<'a>> {
        if self.left == 0 {
            return None;
        }
        // Checked by `Message::parse`; an error cannot happen, and would end the walk.
        let (q, next) = question_at(self.buf, self.pos).ok()?;
        self.pos = next;
        self.left -= 1;
        Some(q)
    }
}

/// The records of one section of a [`Message`].
#[derive(Debug, Clone)]
pub struct Records<'a> {
    buf: &'a [u8],
    pos: usize,
    left: u16,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.left == 0 {
            return None;
        }
        let (r, next) = record_at(self.buf, self.pos).ok()?;
        self.pos = next;
        self.left -= 1;
        Some(r)
    }
}

/// Splits one DNS-over-TCP message off the front of `stream`: `Ok(Some((message,
/// consumed)))`, or `Ok(None)` when the length prefix or the message is incomplete. A zero
/// length prefix is an error (a message needs at least its header).
pub fn tcp_message(stream: &[u8]) -> Result<Option<(&[u8], usize)>, DnsError> {
    if stream.len() < 2 {
        return Ok(None);
    }
    let len = usize::from(be16(stream, 0));
    if len == 0 {
        return Err(DnsError::Truncated {
            what: "header",
            needed: HEADER_LEN,
            got: 0,
        });
    }
    Ok(stream.get(2..2 + len).map(|m| (m, 2 + len)))
}

#[cfg(test)]
mod tests;
