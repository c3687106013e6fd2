//! flowsight's own record types, serialized, read back by the conformance reader: if the
//! schema moves a field the comparisons use, this fails instead of the comparisons silently
//! seeing nothing.

use flowsight_conformance::fslog::FsLog;
use flowsight_record::Record;

#[test]
fn reads_every_field_the_comparisons_use() {
    let lines: Vec<String> = Record::examples()
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    let log = FsLog::parse(&lines.join("\n"));
    assert_eq!(log.bad_lines, 0, "{:?}", log.first_bad);
    assert!(log.final_stats || lines.iter().any(|l| l.contains("\"final\":false")));
    let f = &log.flows[0];
    assert!(f.src_packets > 0 && f.src_bytes > 0 && f.dst_packets > 0 && f.dst_bytes > 0);
    assert!(f.conn.proto != 0);
    let h = &log.http[0].body;
    for (name, v) in [
        ("method", &h.method),
        ("version", &h.version),
        ("host", &h.host),
        ("uri", &h.uri),
        ("referrer", &h.referrer),
        ("user_agent", &h.user_agent),
        ("status_msg", &h.status_msg),
        ("mime_type", &h.mime_type),
        ("server", &h.server),
    ] {
        assert!(v.is_some(), "http {name}");
    }
    assert!(h.request_body.is_some() && h.response_body.is_some() && h.status_code.is_some());
    let d = &log.dns[0].body;
    assert!(
        d.id.is_some()
            && d.rcode.is_some()
            && d.qname.is_some()
            && d.qtype.is_some()
            && d.qclass.is_some()
    );
    assert!(!d.flags.is_empty() && d.answered);
    assert!(
        d.answers
            .iter()
            .all(|a| !a.kind.is_empty() && a.ttl.is_some() && !a.data.is_empty())
    );
    let t = &log.tls[0].body;
    for (name, v) in [
        ("version", &t.version),
        ("version_protocol", &t.version_protocol),
        ("cipher", &t.cipher),
        ("next_protocol", &t.next_protocol),
        ("server_name", &t.server_name),
        ("ja3", &t.ja3),
        ("ja3_string", &t.ja3_string),
        ("ja4", &t.ja4),
        ("ja3s", &t.ja3s),
    ] {
        assert!(v.is_some(), "tls {name}");
    }
    assert!(!t.alpn.is_empty());
    assert_eq!(log.weird, 1);
}
