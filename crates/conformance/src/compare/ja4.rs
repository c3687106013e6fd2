//! The JA4 project's expected output against flowsight's tls records.
//!
//! Each stream's `JA4.n` is the n-th ClientHello of the stream; it is paired with the n-th
//! flowsight tls record holding a ClientHello on the same connection. Fields: `ja4`
//! (`tls.client.ja4`) and `domain` (`tls.client.server_name`, for the stream's first hello,
//! where ja4.py takes it from). QUIC hellos (JA4 beginning with `q`) are compared with the
//! tls records of QUIC flows (ja4.py's expected output of the corpus has none: it reads QUIC
//! only through tshark's decryption). Streams without a JA4 (plain HTTP, SSH) are not
//! compared.

use super::pair_in_order;
use crate::fslog::{FsLog, FsTls};
use crate::key::ConnKey;
use crate::reference::ja4::Ja4Stream;
use crate::score::Scope;
use crate::text::exact;

/// One expected hello: its position in the stream, its JA4 and (first hello only) domain.
type Hello<'a> = (usize, &'a str, Option<&'a str>);

/// Compares one capture's expected JA4 streams with flowsight's log.
pub fn compare(streams: &[Ja4Stream], fs: &FsLog, s: &mut Scope) {
    let mut refs: Vec<(ConnKey, Hello)> = Vec::new();
    for st in streams {
        for (i, ja4) in st.ja4.iter().enumerate() {
            let domain = if i == 0 { st.domain.as_deref() } else { None };
            refs.push((st.key(), (i, ja4.as_str(), domain)));
        }
    }
    let (pairs, extra) = pair_in_order(
        &refs,
        &fs.tls,
        |r| Some(r.conn.key()),
        FsTls::has_client_hello,
    );
    s.extra("tls.record", extra);
    for p in pairs {
        let (i, ja4, domain) = *p.reference;
        s.present(&p.key, "tls.record", p.flowsight.is_some());
        let Some(f) = p.flowsight else { continue };
        s.check(&p.key, "ja4", Some(ja4), f.ja4.as_deref());
        if i == 0 {
            s.check(
                &p.key,
                "domain",
                domain.map(exact).as_deref(),
                f.server_name.as_deref().map(exact).as_deref(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ja4::parse;
    use crate::score::Scoreboard;

    #[test]
    fn pairs_hellos_in_order_quic_included() {
        let expected = parse(
            r#"[
 {"stream":0,"src":"10.0.0.1","dst":"10.0.0.2","srcport":"5000","dstport":"443","domain":"a.example","JA4.1":"t13d_first","JA4.2":"t13d_second"},
 {"stream":1,"src":"10.0.0.1","dst":"10.0.0.3","srcport":"5001","dstport":"443","domain":"q.example","JA4.1":"q13d_quic"},
 {"stream":2,"src":"10.0.0.1","dst":"10.0.0.4","srcport":"5002","dstport":"443","domain":"b.example","JA4.1":"t12d_x"}
]"#,
        )
        .unwrap();
        let fs = FsLog::parse(
            r#"
{"type":"tls","@timestamp":"2024-01-01T00:00:01Z","source":{"ip":"10.0.0.1","port":5000},"destination":{"ip":"10.0.0.2","port":443},"tls":{"client":{"ja3":"x","ja3_string":"y","ja4":"t13d_second"}}}
{"type":"tls","@timestamp":"2024-01-01T00:00:00Z","source":{"ip":"10.0.0.1","port":5000},"destination":{"ip":"10.0.0.2","port":443},"tls":{"client":{"server_name":"a.example","ja3":"x","ja3_string":"y","ja4":"t13d_first"}}}
"#,
        );
        let mut b = Scoreboard::default();
        compare(&expected, &fs, &mut b.scope("ja4", "x.pcapng"));
        let st = |f: &str| {
            let s = &b.fields[&("ja4".to_string(), f.to_string())];
            (s.compared, s.agreed, s.excluded)
        };
        assert_eq!(st("ja4"), (2, 2, 0));
        assert_eq!(st("domain"), (1, 1, 0));
        assert_eq!(
            st("tls.record"),
            (4, 2, 0),
            "the QUIC and the t12 hellos are missing"
        );
    }
}
