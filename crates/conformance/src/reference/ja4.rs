//! The JA4 project's side: `expected/python/<pcap>.json`, one object per stream with
//! `src`, `srcport`, `dst`, `dstport`, `domain` and `JA4.1`, `JA4.2`, ... (one per
//! ClientHello of the stream, numbered in order). The other JA4+ keys (JA4S, JA4H, JA4X,
//! JA4L, JA4SSH) are under a non-commercial licence, not computed by flowsight, and ignored.

use crate::key::{ConnKey, Endpoint};
use serde_json::Value;

/// One stream of the expected output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ja4Stream {
    /// tshark's stream number.
    pub stream: u64,
    /// Client endpoint.
    pub client: Endpoint,
    /// Server endpoint.
    pub server: Endpoint,
    /// `domain`: the SNI of the stream's ClientHello.
    pub domain: Option<String>,
    /// `JA4.n` values in order of `n`.
    pub ja4: Vec<String>,
}

impl Ja4Stream {
    /// The stream's connection key.
    pub fn key(&self) -> ConnKey {
        ConnKey::new(self.client, self.server)
    }
}

fn text(o: &Value, k: &str) -> Option<String> {
    match o.get(k)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses the expected JSON. Objects without addresses are skipped.
pub fn parse(json: &str) -> anyhow::Result<Vec<Ja4Stream>> {
    let v: Value = serde_json::from_str(json)?;
    let mut out = Vec::new();
    for o in v.as_array().map(Vec::as_slice).unwrap_or_default() {
        let ep = |ip: &str, port: &str| {
            Some(Endpoint::new(
                Endpoint::parse_ip(&text(o, ip)?)?,
                text(o, port)?.parse().ok()?,
            ))
        };
        let (Some(client), Some(server)) = (ep("src", "srcport"), ep("dst", "dstport")) else {
            continue;
        };
        let mut ja4: Vec<(u32, String)> = o
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix("JA4.")?.parse().ok()?;
                Some((n, v.as_str()?.to_string()))
            })
            .collect();
        ja4.sort();
        out.push(Ja4Stream {
            stream: o.get("stream").and_then(Value::as_u64).unwrap_or(0),
            client,
            server,
            domain: text(o, "domain"),
            ja4: ja4.into_iter().map(|(_, v)| v).collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_streams_and_orders_hellos() {
        let json = r#"[
 {"stream": 0, "src": "192.168.1.168", "dst": "142.251.16.94", "srcport": "50112",
  "dstport": "443", "domain": "clientservices.googleapis.com",
  "JA4.2": "t13d1516h2_second", "JA4.1": "t13d1516h2_8daaf6152771_e5627efa2ab1",
  "JA4_r.1": "raw", "JA4S": "ignored"},
 {"stream": 6, "src": "172.16.225.48", "dst": "23.43.242.57", "srcport": "52939", "dstport": "80"},
 {"stream": 7}
]"#;
        let s = parse(json).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].client.to_string(), "192.168.1.168:50112");
        assert_eq!(
            s[0].ja4,
            ["t13d1516h2_8daaf6152771_e5627efa2ab1", "t13d1516h2_second"]
        );
        assert_eq!(
            s[0].domain.as_deref(),
            Some("clientservices.googleapis.com")
        );
        assert!(s[1].ja4.is_empty());
    }
}
