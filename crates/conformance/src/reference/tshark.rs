//! tshark's side: `peer_baselines/tshark-4.0.17/<folder>/<path>.tsv`, made with
//! `tshark -T fields` (one row per frame that carries an HTTP message, a DNS message or a TLS
//! hello; the column names are the first line). A field that occurs several times in a frame
//! (tunnels: outer and inner addresses; several HTTP messages in one segment) has its values
//! joined by `,`.

use crate::key::{Endpoint, proto};
use std::collections::HashMap;
use std::net::IpAddr;

/// One row: column name to (non-empty) cell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TsharkRow {
    /// `frame.number`.
    pub frame: u64,
    /// Non-empty cells by column name.
    pub cells: HashMap<String, String>,
}

impl TsharkRow {
    /// A cell, `None` when empty.
    pub fn get(&self, col: &str) -> Option<&str> {
        self.cells.get(col).map(String::as_str)
    }

    /// A cell's occurrences (split on `,`; only for columns whose values hold no comma).
    pub fn values(&self, col: &str) -> Vec<&str> {
        self.get(col)
            .map(|v| v.split(',').collect())
            .unwrap_or_default()
    }

    /// The last occurrence of a cell: the innermost header in a tunnelled frame.
    pub fn last(&self, col: &str) -> Option<&str> {
        self.get(col).and_then(|v| v.rsplit(',').next())
    }

    /// The IP protocol numbers of the frame's IP headers, outermost first.
    pub fn protos(&self) -> Vec<u8> {
        self.values("ip.proto")
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// Whether the message was read from inside an ICMP error (a quoted packet): tshark
    /// dissects the quoted header, which is not a message of its own.
    pub fn inside_icmp(&self) -> bool {
        let p = self.protos();
        p.len() > 1 && matches!(p[0], proto::ICMP | proto::ICMPV6)
    }

    /// The transport of the message (the innermost IP header's protocol), judged from the
    /// port columns when `ip.proto` is absent (IPv6 has no such column here).
    pub fn transport(&self) -> Option<u8> {
        if self.get("tcp.srcport").is_some() {
            Some(proto::TCP)
        } else if self.get("udp.srcport").is_some() {
            Some(proto::UDP)
        } else {
            self.protos().last().copied()
        }
    }

    /// Candidate (sender, receiver) endpoints of the message: tshark writes IPv4 and IPv6
    /// addresses in separate columns, so when a frame has both (6in4, Teredo, 4in6) which one
    /// is inner is not known from the row; the caller tries each.
    pub fn endpoints(&self) -> Vec<(Endpoint, Endpoint)> {
        let (sp, dp) = match self.transport() {
            Some(proto::TCP) => ("tcp.srcport", "tcp.dstport"),
            Some(proto::UDP) => ("udp.srcport", "udp.dstport"),
            _ => return Vec::new(),
        };
        let port = |c: &str| self.last(c).and_then(|p| p.parse::<u16>().ok());
        let (Some(sp), Some(dp)) = (port(sp), port(dp)) else {
            return Vec::new();
        };
        let ip = |c: &str| -> Option<IpAddr> { Endpoint::parse_ip(self.last(c)?) };
        let mut out = Vec::new();
        for (s, d) in [("ipv6.src", "ipv6.dst"), ("ip.src", "ip.dst")] {
            if let (Some(s), Some(d)) = (ip(s), ip(d)) {
                out.push((Endpoint::new(s, sp), Endpoint::new(d, dp)));
            }
        }
        out
    }
}

/// Parses a TSV file. Rows with fewer or more cells than the header are skipped and
/// counted (a value with a tab or newline would make one).
pub fn parse(text: &str) -> (Vec<TsharkRow>, usize) {
    let mut lines = text.split('\n');
    let Some(header) = lines.next() else {
        return (Vec::new(), 0);
    };
    let cols: Vec<&str> = header.trim_end_matches('\r').split('\t').collect();
    let mut rows = Vec::new();
    let mut bad = 0;
    for line in lines {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split('\t').collect();
        if cells.len() != cols.len() {
            bad += 1;
            continue;
        }
        let mut row = TsharkRow::default();
        for (c, v) in cols.iter().zip(cells) {
            if *c == "frame.number" {
                row.frame = v.parse().unwrap_or(0);
            }
            if !v.is_empty() {
                row.cells.insert(c.to_string(), v.to_string());
            }
        }
        rows.push(row);
    }
    (rows, bad)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const HEADER: &str = "frame.number\tframe.time_epoch\tvlan.id\tip.src\tipv6.src\tip.dst\tipv6.dst\tip.proto\ttcp.srcport\ttcp.dstport\tudp.srcport\tudp.dstport\thttp.request.method\thttp.host\thttp.request.uri\thttp.user_agent\thttp.response.code\thttp.server\thttp.content_type\tdns.id\tdns.flags.response\tdns.qry.name\tdns.qry.type\tdns.flags.rcode\tdns.a\tdns.aaaa\tdns.cname\ttls.handshake.type\ttls.handshake.version\ttls.handshake.extensions.supported_version\ttls.handshake.extensions_server_name\ttls.handshake.extensions_alpn_str\ttls.handshake.ja3\ttls.handshake.ja3_full\ttls.handshake.ja3s";

    /// Builds a row line from (column, value) pairs, the rest empty.
    pub(crate) fn line(cells: &[(&str, &str)]) -> String {
        HEADER
            .split('\t')
            .map(|c| {
                cells
                    .iter()
                    .find(|(k, _)| *k == c)
                    .map(|(_, v)| *v)
                    .unwrap_or("")
            })
            .collect::<Vec<_>>()
            .join("\t")
    }

    #[test]
    fn parses_rows_and_endpoints() {
        let text = format!(
            "{HEADER}\n{}\n{}\nshort\trow\n",
            line(&[
                ("frame.number", "27"),
                ("ip.src", "192.168.115.8"),
                ("ip.dst", "106.185.35.110"),
                ("ip.proto", "6"),
                ("tcp.srcport", "49597"),
                ("tcp.dstport", "80"),
                ("http.request.method", "GET"),
                ("http.host", "jp.kankan.1kxun.mobi"),
            ]),
            line(&[
                ("frame.number", "30"),
                ("ip.src", "10.0.0.1,192.168.1.1"),
                ("ip.dst", "10.0.0.2,192.168.1.2"),
                ("ipv6.src", "2001:db8::1"),
                ("ipv6.dst", "2001:db8::2"),
                ("ip.proto", "17,6"),
                ("tcp.srcport", "1000"),
                ("tcp.dstport", "443"),
            ]),
        );
        let (rows, bad) = parse(&text);
        assert_eq!((rows.len(), bad), (2, 1));
        assert_eq!(rows[0].frame, 27);
        assert_eq!(rows[0].get("http.host"), Some("jp.kankan.1kxun.mobi"));
        assert_eq!(rows[0].get("http.server"), None);
        let e = rows[0].endpoints();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0.to_string(), "192.168.115.8:49597");
        let e = rows[1].endpoints();
        assert_eq!(e.len(), 2, "v6 and innermost v4 are both candidates");
        assert_eq!(e[1].0.to_string(), "192.168.1.1:1000");
        assert!(!rows[1].inside_icmp());
    }

    #[test]
    fn spots_quoted_packets() {
        let text = format!(
            "{HEADER}\n{}\n",
            line(&[("ip.proto", "1,17"), ("udp.srcport", "53")])
        );
        assert!(parse(&text).0[0].inside_icmp());
    }
}
