//! The HTTP record as JSON, written by hand for a capture's (no owners, no interface), as
//! the flow and DNS records are (json_flow.rs, json_dns.rs). Any other HTTP record goes
//! through serde; a test holds the two to the same bytes.

use crate::json_text::{num, proto_head, string};
use flowsight_record::{Http, HttpRecord};
use std::collections::BTreeMap;

/// Appends the record of `r` as serde writes it when its connection has no owners or
/// interface, and returns true; otherwise writes nothing and returns false.
pub(crate) fn write(out: &mut Vec<u8>, r: &HttpRecord) -> bool {
    if !proto_head(out, "http", r.timestamp, Some(&r.event), &r.conn) {
        return false;
    }
    out.extend_from_slice(b",\"http\":");
    http(out, &r.http);
    if let Some(u) = &r.url {
        out.extend_from_slice(b",\"url\":{\"original\":");
        string(out, &u.original);
        if let Some(d) = &u.domain {
            out.extend_from_slice(b",\"domain\":");
            string(out, d);
        }
        out.extend_from_slice(b",\"path\":");
        string(out, &u.path);
        if let Some(q) = &u.query {
            out.extend_from_slice(b",\"query\":");
            string(out, q);
        }
        out.push(b'}');
    }
    if let Some(ua) = &r.user_agent {
        out.extend_from_slice(b",\"user_agent\":{\"original\":");
        string(out, &ua.original);
        out.push(b'}');
    }
    out.push(b'}');
    true
}

/// The key of a field, after a comma unless it is the `first`; returns false, for the
/// next field's `first`.
fn field(out: &mut Vec<u8>, first: bool, name: &[u8]) -> bool {
    if !first {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(name);
    out.extend_from_slice(b"\":");
    false
}

fn headers(out: &mut Vec<u8>, h: &BTreeMap<String, String>) {
    if h.is_empty() {
        return;
    }
    out.extend_from_slice(b",\"headers\":{");
    for (i, (k, v)) in h.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, k);
        out.push(b':');
        string(out, v);
    }
    out.push(b'}');
}

fn http(out: &mut Vec<u8>, h: &Http) {
    out.push(b'{');
    let mut first = true;
    if let Some(v) = &h.version {
        first = field(out, first, b"version");
        string(out, v);
    }
    if let Some(q) = &h.request {
        first = field(out, first, b"request");
        out.extend_from_slice(b"{\"method\":");
        string(out, &q.method);
        if let Some(r) = &q.referrer {
            out.extend_from_slice(b",\"referrer\":");
            string(out, r);
        }
        out.extend_from_slice(b",\"body\":{\"bytes\":");
        num(out, q.body.bytes);
        out.push(b'}');
        headers(out, &q.headers);
        out.push(b'}');
    }
    if let Some(p) = &h.response {
        field(out, first, b"response");
        out.extend_from_slice(b"{\"status_code\":");
        num(out, u64::from(p.status_code));
        for (name, value) in [
            (&b"status_message"[..], &p.status_message),
            (b"mime_type", &p.mime_type),
            (b"server", &p.server),
        ] {
            if let Some(v) = value {
                field(out, false, name);
                string(out, v);
            }
        }
        out.extend_from_slice(b",\"body\":{\"bytes\":");
        num(out, p.body.bytes);
        out.push(b'}');
        headers(out, &p.headers);
        out.push(b'}');
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowsight_record::Record;

    fn plain() -> HttpRecord {
        let Some(Record::Http(mut r)) = Record::examples().into_iter().find(|r| r.kind() == "http")
        else {
            unreachable!("an http example")
        };
        r.conn.interface = None;
        r.conn.source.owner = None;
        r.conn.destination.owner = None;
        r
    }

    fn same(r: HttpRecord) {
        let mut ours = Vec::new();
        assert!(write(&mut ours, &r), "{r:?}");
        let serde = sonic_rs::to_string(&Record::Http(r)).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), serde);
    }

    /// Every optional part present and absent, and text that needs escaping.
    #[test]
    fn writes_what_serde_writes() {
        same(plain());
        for i in 0..16 {
            let mut r = plain();
            if i & 1 != 0 {
                r.http.version = None;
                r.url = None;
                r.event.duration = None;
            }
            if i & 2 != 0 {
                r.http.request = None;
                r.user_agent = None;
            } else if let Some(q) = &mut r.http.request {
                q.referrer = None;
                q.headers.clear();
                q.method = "M\"\\\u{7}".into();
            }
            if i & 4 != 0 {
                r.http.response = None;
            } else if let Some(p) = &mut r.http.response {
                p.status_message = None;
                p.server = (i & 8 != 0).then(|| "s\u{1}".into());
                p.headers.insert("x-\"odd\"".into(), "v\nw".into());
            }
            if i & 8 != 0
                && let Some(u) = &mut r.url
            {
                u.domain = None;
                u.query = Some("a=\"b\"&c=\\".into());
            }
            same(r);
        }
    }

    #[test]
    fn a_record_with_owners_is_left_to_serde() {
        let Some(Record::Http(full)) = Record::examples().into_iter().find(|r| r.kind() == "http")
        else {
            unreachable!()
        };
        let mut out = Vec::new();
        assert!(!write(&mut out, &full));
        assert!(out.is_empty());
    }
}
