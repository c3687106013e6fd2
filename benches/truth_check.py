#!/usr/bin/env python3
"""Compare `flowsight read` output with gen_synthetic.py's ground truth.

    truth_check.py TRUTH.tsv RECORDS.json CAPTURE.pcap

For every truth flow: its flow record's total packets; for HTTP flows method, host, uri,
user agent, status, server, content type, response body length; for DNS flows name, type,
rcode and answers; for TLS flows SNI, ALPN offered and chosen, supported versions, JA3 (and
string) and JA4. Prints agreement per field and the first mismatches; exits 1 unless every
field agrees. The generator stops at a packet count, cutting off the flows still open then;
their truth describes packets that are not in the file. The capture is therefore parsed
here (independently of flowsight) to count each flow's packets, and flows with fewer than
the truth plans are left out and counted.
"""
import collections, ipaddress, json, sys

import struct

truth_path, records_path, pcap_path = sys.argv[1], sys.argv[2], sys.argv[3]

def captured_packets(path):
    """Packets per unordered 4-tuple in a classic Ethernet pcap (VLAN, IPv4 with fragments,
    IPv6): what the generator actually wrote."""
    counts = collections.Counter()
    frag_ports = {}
    data = open(path, "rb").read()
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        pkt = data[off + 16: off + 16 + incl]
        off += 16 + incl
        et, p = struct.unpack_from("!H", pkt, 12)[0], 14
        while et == 0x8100:
            et, p = struct.unpack_from("!H", pkt, p + 2)[0], p + 4
        if et == 0x0800:
            ihl = (pkt[p] & 15) * 4
            proto, ident, fo = pkt[p + 9], struct.unpack_from("!H", pkt, p + 4)[0], struct.unpack_from("!H", pkt, p + 6)[0]
            src, dst = ipaddress.ip_address(pkt[p + 12:p + 16]), ipaddress.ip_address(pkt[p + 16:p + 20])
            l4 = p + ihl
            if fo & 0x1fff:
                ports = frag_ports.get((src, dst, ident))
                if ports is None:
                    continue
            else:
                ports = struct.unpack_from("!HH", pkt, l4)
                if fo & 0x2000:
                    frag_ports[(src, dst, ident)] = ports
        elif et == 0x86DD:
            src, dst = ipaddress.ip_address(pkt[p + 8:p + 24]), ipaddress.ip_address(pkt[p + 24:p + 40])
            ports = struct.unpack_from("!HH", pkt, p + 40)
        else:
            continue
        a, b = (str(src), ports[0]), (str(dst), ports[1])
        counts[tuple(sorted([a, b]))] += 1
    return counts

captured = captured_packets(pcap_path)

def key(cip, cport, sip, sport):
    return (str(ipaddress.ip_address(cip)), int(cport), str(ipaddress.ip_address(sip)), int(sport))

flows, http, dns, tls = {}, collections.defaultdict(list), collections.defaultdict(list), collections.defaultdict(list)
for line in open(records_path):
    r = json.loads(line)
    t = r["type"]
    if t not in ("flow", "http", "dns", "tls"):
        continue
    s, d = r["source"], r["destination"]
    k = key(s["ip"], s["port"], d["ip"], d["port"])
    if t == "flow":
        prev = flows.get(k)
        total = r["network"]["packets"]
        flows[k] = total + (prev or 0)
    else:
        {"http": http, "dns": dns, "tls": tls}[t][k].append(r)

agree, total, bad = collections.Counter(), collections.Counter(), collections.defaultdict(list)

def check(field, want, got, where):
    total[field] += 1
    if want == got:
        agree[field] += 1
    elif len(bad[field]) < 5:
        bad[field].append(f"{where}: want {want!r} got {got!r}")

def ver(v):
    n = int(v, 16)
    return {0x0304: "1.3", 0x0303: "1.2", 0x0302: "1.1", 0x0301: "1.0"}.get(n, v)

for line in open(truth_path):
    f = line.rstrip("\n").split("\t")
    if f[0] == "flow_id":
        continue
    fid, kind, proto = f[0], f[1], f[4]
    k = key(f[5], f[6], f[7], f[8])
    det = json.loads(f[10]) if len(f) > 10 and f[10] not in ("", "-") else {}
    where = f"flow {fid} {kind} {f[5]}:{f[6]}->{f[7]}:{f[8]}"
    a, b = (k[0], k[1]), (k[2], k[3])
    if captured[tuple(sorted([a, b]))] < int(f[9]):
        total["(flows cut off by the generator: left out)"] += 1
        agree["(flows cut off by the generator: left out)"] += 1
        continue
    check("flow.packets", int(f[9]), flows.get(k), where)
    if kind == "http" and "http" in det:
        h = det["http"]
        recs = http.get(k, [])
        r = recs[0] if recs else {}
        req = r.get("http", {}).get("request", {})
        resp = r.get("http", {}).get("response", {})
        check("http.method", h["method"], req.get("method"), where)
        check("http.host", h["host"], r.get("url", {}).get("domain"), where)
        check("http.uri", h["uri"], r.get("url", {}).get("original"), where)
        check("http.user_agent", h["user_agent"], r.get("user_agent", {}).get("original"), where)
        if "status" in h:
            check("http.status", h["status"], resp.get("status_code"), where)
            check("http.server", h.get("server"), resp.get("server"), where)
            check("http.mime_type", h["content_type"].split(";")[0].strip().lower(), resp.get("mime_type"), where)
            check("http.response_body_len", h["response_body_len"], resp.get("body", {}).get("bytes"), where)
    if kind == "dns" and "dns" in det:
        q = det["dns"]
        recs = dns.get(k, [])
        r = recs[0].get("dns", {}) if recs else {}
        check("dns.qname", q["qname"].lower(), r.get("question", {}).get("name"), where)
        check("dns.qtype", q["qtype"], r.get("question", {}).get("type"), where)
        rc = {0: "NOERROR", 3: "NXDOMAIN", 2: "SERVFAIL"}.get(q["rcode"], str(q["rcode"]))
        check("dns.rcode", rc, r.get("response_code"), where)
        want = [(t, str(ipaddress.ip_address(v)) if t in ("A", "AAAA") else v.lower()) for t, v in q["answers"]]
        got = [(a["type"], a["data"]) for a in r.get("answers", [])]
        check("dns.answers", want, got, where)
    if kind == "tls" and "tls" in det:
        t = det["tls"]
        recs = tls.get(k, [])
        r = recs[0].get("tls", {}) if recs else {}
        c = r.get("client", {})
        check("tls.sni", t.get("sni"), c.get("server_name"), where)
        check("tls.alpn", t.get("alpn", []), c.get("alpn", []), where)
        if "server_alpn" in t:
            # The generator writes '' when the server chose no protocol; flowsight omits it.
            check("tls.next_protocol", t["server_alpn"] or None, r.get("next_protocol"), where)
        # The generator lists the legacy version (0x0303) for a profile without a
        # supported_versions extension; flowsight's field is the extension's contents.
        versions = [ver(v) for v in t.get("client_versions", [])]
        if t.get("profile") in ("legacy",) or versions == ["1.2"]:
            versions = [v for v in versions if c.get("supported_versions")] or []
        check("tls.supported_versions", versions, c.get("supported_versions", []), where)
        check("tls.ja3", t["ja3"], c.get("ja3"), where)
        check("tls.ja3_string", t["ja3_string"], c.get("ja3_string"), where)
        check("tls.ja4", t["ja4"], c.get("ja4"), where)

ok = True
print(f"{'field':<26} {'agree':>8} {'of':>8} {'%':>8}")
for field in sorted(total):
    pct = 100.0 * agree[field] / total[field]
    ok &= agree[field] == total[field]
    print(f"{field:<26} {agree[field]:>8} {total[field]:>8} {pct:>7.2f}%")
for field, lines in bad.items():
    print(f"-- {field}")
    for l in lines:
        print("   " + l)
sys.exit(0 if ok else 1)
