//! The TLS record as JSON, written by hand for a capture's (no owners, no interface), as
//! the flow, DNS and HTTP records are (json_flow.rs, json_dns.rs, json_http.rs). One in
//! eight records of the synthetic capture, and the longest after DNS's: serde's walk of its
//! nested options cost ~2% of `flowsight read`. Any other TLS record goes through serde; a
//! test holds the two to the same bytes.

use crate::json_text::{proto_head, string};
use flowsight_record::{Tls, TlsClient, TlsRecord, TlsServer};

/// Appends the record of `r` as serde writes it when its connection has no owners or
/// interface, and returns true; otherwise writes nothing and returns false.
pub(crate) fn write(out: &mut Vec<u8>, r: &TlsRecord) -> bool {
    if !proto_head(out, "tls", r.timestamp, None, &r.conn) {
        return false;
    }
    out.extend_from_slice(b",\"tls\":");
    tls(out, &r.tls);
    out.push(b'}');
    true
}

/// Writes `"name":` after a comma unless the field is the object's first.
struct Fields {
    first: bool,
}

impl Fields {
    fn new(out: &mut Vec<u8>) -> Fields {
        out.push(b'{');
        Fields { first: true }
    }

    fn key(&mut self, out: &mut Vec<u8>, name: &[u8]) {
        if !std::mem::take(&mut self.first) {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(name);
        out.extend_from_slice(b"\":");
    }

    fn text(&mut self, out: &mut Vec<u8>, name: &[u8], value: Option<&str>) {
        if let Some(v) = value {
            self.key(out, name);
            string(out, v);
        }
    }

    fn list(&mut self, out: &mut Vec<u8>, name: &[u8], values: &[String]) {
        if values.is_empty() {
            return;
        }
        self.key(out, name);
        out.push(b'[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            string(out, v);
        }
        out.push(b']');
    }
}

fn tls(out: &mut Vec<u8>, t: &Tls) {
    let mut f = Fields::new(out);
    f.text(out, b"version", t.version.as_deref());
    f.text(out, b"version_protocol", t.version_protocol);
    f.text(out, b"cipher", t.cipher.as_deref());
    f.text(out, b"next_protocol", t.next_protocol.as_deref());
    if let Some(c) = &t.client {
        f.key(out, b"client");
        client(out, c);
    }
    if let Some(s) = &t.server {
        f.key(out, b"server");
        server(out, s);
    }
    out.push(b'}');
}

fn client(out: &mut Vec<u8>, c: &TlsClient) {
    let mut f = Fields::new(out);
    f.text(out, b"server_name", c.server_name.as_deref());
    f.list(out, b"alpn", &c.alpn);
    f.list(out, b"supported_versions", &c.supported_versions);
    f.text(out, b"ja3", Some(&c.ja3));
    f.text(out, b"ja3_string", Some(&c.ja3_string));
    f.text(out, b"ja4", Some(&c.ja4));
    out.push(b'}');
}

fn server(out: &mut Vec<u8>, s: &TlsServer) {
    let mut f = Fields::new(out);
    f.text(out, b"ja3s", Some(&s.ja3s));
    f.text(out, b"ja3s_string", Some(&s.ja3s_string));
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowsight_record::Record;

    fn full() -> TlsRecord {
        let Some(Record::Tls(r)) = Record::examples().into_iter().find(|r| r.kind() == "tls")
        else {
            unreachable!("a tls example")
        };
        r
    }

    fn plain() -> TlsRecord {
        let mut r = full();
        r.conn.interface = None;
        r.conn.source.owner = None;
        r.conn.destination.owner = None;
        r
    }

    fn same(r: TlsRecord) {
        let mut ours = Vec::new();
        assert!(write(&mut ours, &r), "{r:?}");
        let serde = sonic_rs::to_string(&Record::Tls(r)).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), serde);
    }

    /// Every optional part present and absent (all absent: an empty `tls` object), and text
    /// that needs escaping.
    #[test]
    fn writes_what_serde_writes() {
        same(plain());
        for i in 0..64u32 {
            let mut r = plain();
            let t = &mut r.tls;
            if i & 1 != 0 {
                t.version = None;
                t.cipher = Some("C\"\\\u{2}".into());
            }
            if i & 2 != 0 {
                t.version_protocol = None;
                t.next_protocol = None;
            }
            if i & 4 != 0 {
                t.client = None;
            }
            if i & 8 != 0 {
                t.server = None;
            }
            if let Some(c) = &mut t.client {
                if i & 16 != 0 {
                    c.server_name = None;
                    c.alpn.clear();
                } else {
                    c.alpn.push("a\"b\n".into());
                    c.server_name = Some("\u{7f}x\u{e9}.example".into());
                }
                if i & 32 != 0 {
                    c.supported_versions.clear();
                    c.ja4.clear();
                }
            }
            if let Some(s) = &mut t.server
                && i & 32 != 0
            {
                s.ja3s_string = "7\\71".into();
            }
            same(r);
        }
    }

    #[test]
    fn a_record_with_owners_is_left_to_serde() {
        let mut out = Vec::new();
        assert!(!write(&mut out, &full()));
        assert!(out.is_empty());
    }
}
