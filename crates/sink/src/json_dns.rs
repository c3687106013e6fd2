//! The DNS record as JSON, written by hand for a capture's (no owners, no interface).
//!
//! The second most numerous record of `flowsight read` (41,000 of 231,000 on the synthetic
//! capture) after the flow record (json_flow.rs), for the same reason: serde's walk of the
//! record, not the bytes, was the cost. Any other DNS record goes through serde; a test
//! holds the two to the same bytes.

use crate::json_text::{num, proto_head, string};
use flowsight_record::{Dns, DnsRecord};

/// Appends the record of `r` as serde writes it when its connection has no owners or
/// interface, and returns true; otherwise writes nothing and returns false.
pub(crate) fn write(out: &mut Vec<u8>, r: &DnsRecord) -> bool {
    if !proto_head(out, "dns", r.timestamp, Some(&r.event), &r.conn) {
        return false;
    }
    out.extend_from_slice(b",\"dns\":");
    dns(out, &r.dns);
    out.push(b'}');
    true
}

fn dns(out: &mut Vec<u8>, d: &Dns) {
    out.extend_from_slice(b"{\"id\":");
    num(out, u64::from(d.id));
    out.extend_from_slice(b",\"type\":");
    string(out, d.kind);
    out.extend_from_slice(b",\"op_code\":");
    string(out, &d.op_code);
    out.extend_from_slice(b",\"header_flags\":[");
    for (i, f) in d.header_flags.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, f);
    }
    out.push(b']');
    if let Some(rc) = &d.response_code {
        out.extend_from_slice(b",\"response_code\":");
        string(out, rc);
    }
    if let Some(q) = &d.question {
        out.extend_from_slice(b",\"question\":{\"name\":");
        string(out, &q.name);
        out.extend_from_slice(b",\"type\":");
        string(out, &q.kind);
        out.extend_from_slice(b",\"class\":");
        string(out, &q.class);
        out.push(b'}');
    }
    if !d.answers.is_empty() {
        out.extend_from_slice(b",\"answers\":[");
        for (i, a) in d.answers.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"name\":");
            string(out, &a.name);
            out.extend_from_slice(b",\"type\":");
            string(out, &a.kind);
            out.extend_from_slice(b",\"class\":");
            string(out, &a.class);
            out.extend_from_slice(b",\"ttl\":");
            num(out, u64::from(a.ttl));
            out.extend_from_slice(b",\"data\":");
            string(out, &a.data);
            out.push(b'}');
        }
        out.push(b']');
    }
    if !d.resolved_ip.is_empty() {
        out.extend_from_slice(b",\"resolved_ip\":[");
        for (i, ip) in d.resolved_ip.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
            flowsight_record::push_ip(out, ip);
            out.push(b'"');
        }
        out.push(b']');
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowsight_record::{DnsAnswer, Record, Vlan};

    fn plain() -> DnsRecord {
        let r = Record::examples()
            .into_iter()
            .find_map(|r| match r {
                Record::Dns(d) => Some(d),
                _ => None,
            })
            .unwrap();
        let mut r = r;
        r.conn.interface = None;
        r.conn.source.owner = None;
        r.conn.destination.owner = None;
        r
    }

    fn same(r: DnsRecord) {
        let mut ours = Vec::new();
        assert!(write(&mut ours, &r), "{r:?}");
        let serde = sonic_rs::to_string(&Record::Dns(r)).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), serde);
    }

    /// Every optional part present and absent, and text that needs escaping.
    #[test]
    fn writes_what_serde_writes() {
        same(plain());
        for i in 0..8 {
            let mut r = plain();
            if i & 1 != 0 {
                r.event.duration = None;
                r.conn.network.vlan = None;
                r.dns.response_code = None;
                r.dns.kind = "query";
            }
            if i & 2 != 0 {
                r.dns.question = None;
                r.dns.answers.clear();
                r.dns.resolved_ip.clear();
                r.dns.header_flags.clear();
            }
            if i & 4 != 0 {
                r.conn.network.vlan = Some(Vlan { id: 0 });
                r.dns.answers.push(DnsAnswer {
                    name: "odd\\032name.\"q\".example".into(),
                    kind: "TXT".into(),
                    class: "IN".into(),
                    ttl: u32::MAX,
                    data: "TXT 4 a\u{1}\tb TXT 0 ".into(),
                });
                r.dns.resolved_ip.push("2001:db8::1".parse().unwrap());
                r.conn.source.ip = "::1".parse().unwrap();
            }
            same(r);
        }
    }

    #[test]
    fn a_record_with_owners_is_left_to_serde() {
        let full = match Record::examples().into_iter().find(|r| r.kind() == "dns") {
            Some(Record::Dns(d)) => d,
            _ => unreachable!(),
        };
        let mut out = b"kept".to_vec();
        assert!(!write(&mut out, &full));
        assert_eq!(out, b"kept");
    }
}
