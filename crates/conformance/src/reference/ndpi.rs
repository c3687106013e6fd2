//! nDPI's side: the flow lines of `ndpiReader` 4.11 `.out` files.
//!
//! A flow line is `\t<n>\t<L4> <a>:<port> <-> <b>:<port> [tag: value][tag: value]...`: `a` is
//! the endpoint nDPI saw first, `->` marks a flow with no packet from `b`, and the
//! `[pkts/bytes <-> pkts/bytes]` tag counts `a`'s packets then `b`'s. Tags hold values that
//! may themselves contain `]`, so a value ends at the next `][` or at the end of the line.

use crate::key::{ConnKey, Endpoint, FlowKey, proto};

/// One nDPI flow line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NdpiFlow {
    /// Flow number in the file.
    pub index: u32,
    /// IP protocol number.
    pub proto: u8,
    /// The endpoint nDPI saw first.
    pub a: Option<Endpoint>,
    /// The other endpoint.
    pub b: Option<Endpoint>,
    /// `[VLAN: ..]`.
    pub vlan: Option<u16>,
    /// Master protocol name from `[proto: M.A/Master.App]` (`TLS`, `HTTP`, `DNS`, `QUIC`...).
    pub master: String,
    /// Packets and bytes `a` sent.
    pub a_packets: u64,
    /// Bytes `a` sent.
    pub a_bytes: u64,
    /// Packets `b` sent.
    pub b_packets: u64,
    /// Bytes `b` sent.
    pub b_bytes: u64,
    /// `[Hostname/SNI: ..]`.
    pub host: Option<String>,
    /// `[URL: host/path]`.
    pub url: Option<String>,
    /// `[User-Agent: ..]`.
    pub user_agent: Option<String>,
    /// `[JA3C: ..]`.
    pub ja3c: Option<String>,
    /// `[JA4: ..]`.
    pub ja4: Option<String>,
    /// `[(Advertised) ALPNs: a;b]`.
    pub alpn_advertised: Option<String>,
    /// `[(Negotiated) ALPN: ..]`.
    pub alpn_negotiated: Option<String>,
}

impl NdpiFlow {
    /// The flow's key (unordered endpoints, ports zeroed for portless protocols, VLAN).
    pub fn key(&self) -> Option<FlowKey> {
        Some(FlowKey::new(
            self.proto,
            ConnKey::new(self.a?, self.b?),
            self.vlan,
        ))
    }
}

/// The IP protocol number of nDPI's L4 name (`TCP`, `UDP`, `ICMP`, `ICMPV6`, ... or a number).
pub fn l4_number(name: &str) -> Option<u8> {
    Some(match name {
        "TCP" => proto::TCP,
        "UDP" => proto::UDP,
        "ICMP" => proto::ICMP,
        "ICMPV6" => proto::ICMPV6,
        "IGMP" => 2,
        "GRE" => 47,
        "ESP" => 50,
        "AH" => 51,
        "VRRP" => 112,
        "SCTP" => proto::SCTP,
        n => n.parse().ok()?,
    })
}

fn endpoint(s: &str) -> Option<Endpoint> {
    let (ip, port) = s.rsplit_once(':')?;
    Some(Endpoint::new(Endpoint::parse_ip(ip)?, port.parse().ok()?))
}

/// The value of `[name: value]` in a flow line.
pub fn tag<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("[{name}: ");
    let start = line.find(&open)? + open.len();
    let rest = &line[start..];
    let end = rest
        .find("][")
        .unwrap_or_else(|| rest.rfind(']').unwrap_or(rest.len()));
    Some(&rest[..end])
}

fn counts(line: &str) -> Option<(u64, u64, u64, u64)> {
    // `[51 pkts/4260 bytes <-> 58 pkts/69722 bytes]` (or `->`).
    let n = |s: &str| s.parse::<u64>().ok();
    for seg in line.split('[').skip(1) {
        let seg = seg.split(']').next().unwrap_or("");
        let w: Vec<&str> = seg.split_whitespace().collect();
        if let [ap, ab, "bytes", "<->" | "->" | "<-", bp, bb, "bytes"] = w[..]
            && let (Some(ab), Some(bb)) = (ab.strip_prefix("pkts/"), bb.strip_prefix("pkts/"))
        {
            return Some((n(ap)?, n(ab)?, n(bp)?, n(bb)?));
        }
    }
    None
}

/// Parses one flow line; `None` for any other line of the file.
pub fn parse_flow(line: &str) -> Option<NdpiFlow> {
    let rest = line.strip_prefix('\t')?;
    let (index, rest) = rest.split_once('\t')?;
    let index: u32 = index.trim().parse().ok()?;
    // `L4 a <-> b [tags]`: addresses may be bracketed IPv6, so split on spaces, not `[`.
    let head: Vec<&str> = rest.splitn(5, ' ').collect();
    if head.len() < 4 || !matches!(head[2], "<->" | "->" | "<-") {
        return None;
    }
    let (a_packets, a_bytes, b_packets, b_bytes) = counts(rest).unwrap_or_default();
    let master = tag(rest, "proto")
        .and_then(|p| p.split_once('/'))
        .map(|(_, names)| names.split('.').next().unwrap_or("").to_string())
        .unwrap_or_default();
    let own = |s: Option<&str>| s.map(str::to_string);
    Some(NdpiFlow {
        index,
        proto: l4_number(head[0])?,
        a: endpoint(head[1]),
        b: endpoint(head[3]),
        vlan: tag(rest, "VLAN").and_then(|v| v.trim().parse().ok()),
        master,
        a_packets,
        a_bytes,
        b_packets,
        b_bytes,
        host: own(tag(rest, "Hostname/SNI")),
        url: own(tag(rest, "URL")),
        user_agent: own(tag(rest, "User-Agent")),
        ja3c: own(tag(rest, "JA3C")),
        ja4: own(tag(rest, "JA4")),
        alpn_advertised: own(tag(rest, "(Advertised) ALPNs")),
        alpn_negotiated: own(tag(rest, "(Negotiated) ALPN")),
    })
}

/// Every flow line of an `.out` file (read as bytes: some files hold non-UTF-8 host names).
pub fn parse(bytes: &[u8]) -> Vec<NdpiFlow> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(parse_flow)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TLS: &str = "\t1\tTCP 192.168.1.13:55523 <-> 178.62.197.130:443 [proto: 91.26/TLS.ntop][IP: 26/ntop][Encrypted][Confidence: DPI][DPI packets: 7][cat: Network/14][51 pkts/4260 bytes <-> 58 pkts/69722 bytes][Goodput ratio: 22/94][1.10 sec][Hostname/SNI: www.ntop.org][(Advertised) ALPNs: h2;http/1.1][(Negotiated) ALPN: h2][bytes ratio: -0.885 (Download)][TLSv1.2][JA3C: 2a26b1a62e40d25d4de3babc9d532f30][JA4: t12d6707h2_2955a3196ffa_c83f907a73d3][JA3S: ae53107a2e47ea20c72ac44821a728bf][Plen Bins: 3,13,1]";
    const HTTP_V6_VLAN: &str = "\t7\tTCP [2001:db8::1]:49597 <-> [2001:db8::2]:80 [VLAN: 7][proto: 7.295/HTTP.1kxun][IP: 0/Unknown][ClearText][7 pkts/4845 bytes <-> 73 pkts/178280 bytes][Hostname/SNI: mangaweb.1kxun.mobi][URL: mangaweb.1kxun.mobi/detail?id=[1]][StatusCode: 200][User-Agent: okhttp/3.10.0][PLAIN TEXT (GET /detail)]";
    const ICMP_ONEWAY: &str = "\t36\tICMP 10.24.82.188:0 -> 10.188.191.1:0 [proto: 81/ICMP][IP: 0/Unknown][ClearText][1 pkts/147 bytes -> 0 pkts/0 bytes][Goodput ratio: 71/0]";

    #[test]
    fn parses_a_tls_flow() {
        let f = parse_flow(TLS).unwrap();
        assert_eq!(f.index, 1);
        assert_eq!(f.proto, 6);
        assert_eq!(f.a.unwrap().to_string(), "192.168.1.13:55523");
        assert_eq!(f.master, "TLS");
        assert_eq!(
            (f.a_packets, f.a_bytes, f.b_packets, f.b_bytes),
            (51, 4260, 58, 69722)
        );
        assert_eq!(f.host.as_deref(), Some("www.ntop.org"));
        assert_eq!(f.alpn_advertised.as_deref(), Some("h2;http/1.1"));
        assert_eq!(f.alpn_negotiated.as_deref(), Some("h2"));
        assert_eq!(f.ja3c.as_deref(), Some("2a26b1a62e40d25d4de3babc9d532f30"));
        assert_eq!(
            f.ja4.as_deref(),
            Some("t12d6707h2_2955a3196ffa_c83f907a73d3")
        );
        assert_eq!(f.url, None);
    }

    #[test]
    fn parses_ipv6_vlan_and_brackets_in_values() {
        let f = parse_flow(HTTP_V6_VLAN).unwrap();
        assert_eq!(f.b.unwrap().to_string(), "[2001:db8::2]:80");
        assert_eq!(f.vlan, Some(7));
        assert_eq!(f.master, "HTTP");
        assert_eq!(f.url.as_deref(), Some("mangaweb.1kxun.mobi/detail?id=[1]"));
        assert_eq!(f.user_agent.as_deref(), Some("okhttp/3.10.0"));
        assert_eq!(f.key().unwrap().vlan, Some(7));
    }

    #[test]
    fn parses_one_way_portless_flows() {
        let f = parse_flow(ICMP_ONEWAY).unwrap();
        assert_eq!(f.proto, 1);
        assert_eq!(
            (f.a_packets, f.a_bytes, f.b_packets, f.b_bytes),
            (1, 147, 0, 0)
        );
    }

    #[test]
    fn ignores_other_lines() {
        assert!(parse_flow("\t1\t 192.168.1.13             \t 1      ").is_none());
        assert!(parse_flow("TLS\t1\t1506\t1").is_none());
        let all = parse(format!("header\n{TLS}\n\n{ICMP_ONEWAY}\n").as_bytes());
        assert_eq!(all.len(), 2);
    }
}
