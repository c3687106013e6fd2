#!/usr/bin/env python3
"""Append reasons for this run's new conformance disagreements to the known file.

    scripts/classify-disagreements.py [target/conformance/disagreements.tsv]

Each rule below names the disagreements it covers (corpus, capture, field, and optionally a
key substring) and says why flowsight keeps them. Only disagreements a rule covers are added,
one line each with its exact key; anything else stays `new` and fails the gate until a person
fixes it or writes a rule. Rules are checked by hand: each reason says how.
"""
import sys

DIS = sys.argv[1] if len(sys.argv) > 1 else "target/conformance/disagreements.tsv"
KNOWN = "crates/conformance/known-disagreements.tsv"

FUZZ = ("by-design", "a fuzzed capture (bits flipped at random in every packet): the tools read the "
        "damaged headers differently; flowsight logs what parses and a weird record for the rest")
DTLS = ("out-of-scope", "DTLS (TLS over UDP: WebRTC, CAPWAP, VPNs) is not analyzed; flowsight reads TLS over TCP")
SSL2 = ("out-of-scope", "an SSL 2.0-format hello (record header 0x80): flowsight analyzes SSL 3.0 and later")
DRAFT = ("out-of-scope", "a TLS 1.3 draft ServerHello (version 0x7fxx, before the RFC 8446 layout): flowsight parses the final form")
BADHELLO = ("by-design", "a malformed ClientHello (a length field runs past its data, checked with tshark's "
            "expert info): flowsight writes a tls_bad_client_hello weird, tshark a record from a partial parse")
BADDNS = ("by-design", "a DNS message whose question does not parse (compression loop, a name over 255 bytes, a "
          "bad label, fewer bytes than a header): flowsight writes a dns weird, tshark a record without a name")
DNSPORT = ("by-design", "tshark decodes these UDP payloads as DNS by heuristics on a port that is not DNS's; flowsight "
           "recognizes DNS on ports 53, 5353, 5355 and 137 only (any payload parses as some DNS message)")
DOQ = ("out-of-scope", "DNS inside QUIC or another encrypted transport: not visible without decryption")
SNAP = ("by-design", "the snap length cut the request or response line itself (tshark shows a truncated URI "
        "and version); flowsight logs a head only from complete lines")
HTTP09 = ("by-design", "an HTTP/0.9 request (no version) answered with a full HTTP/1.x response: Zeek takes the whole "
          "reply, head included, as a 0.9 body; flowsight reads the reply's own head and body")
HTTP09B = ("out-of-scope", "HTTP/0.9 (a request line without a version, a reply without a status line): flowsight logs HTTP/1.0 and 1.1")
ZEEKBODY = ("reference-wrong", "Zeek counts 2 bytes more than the body sent (checked by following the stream: the "
            "framed body, by Content-Length or up to the close, is flowsight's number)")
EXTRCODE = ("by-design", "tshark shows the 4-bit header RCODE; flowsight the 12-bit RCODE extended by the EDNS OPT "
            "record (RFC 6891), as Zeek does")
UPDATE = ("by-design", "a DNS UPDATE: tshark lists the addresses of the update section as answers; flowsight logs the answer section")
ESCAPE = ("by-design", "a byte outside printable ASCII in a DNS name: flowsight escapes it as \\xHH (as Zeek), tshark as \\DDD or a replacement character")
TSHARKPAIR = ("reference-wrong", "tshark pairs this response with another request (it missed a response earlier in the "
              "connection, so its ordinal shifts); flowsight's pairing matches the TCP stream (checked with tshark's follow)")
FRAGCOUNT = ("by-design", "flowsight counts each IP fragment as a packet with its own bytes (as the kernel's TC hook sees "
             "them live); nDPI counts a reassembled datagram once")
JA4ALPN = ("reference-wrong", "a non-alphanumeric first ALPN byte: the JA4 specification takes the first and last hex "
           "digits of the value (0xbaad: bd); the reference outputs 99 from an older rule")
DUPRESP = ("by-design", "a duplicated DNS response (same id, same answers) is one transaction for flowsight; tshark lists every message")
NONDNS_LINK = ("out-of-scope", "a link type flowsight does not decode (FDDI)")
NDPI_HOST_MDNS = ("by-design", "an mDNS announcement without a question: nDPI takes the first answer's name as the "
                  "host; flowsight has no question to log (the name is in dns.answers)")
FRAGGARBAGE = ("by-design", "datagrams that never complete (1,248 fragments with more-fragments set): nDPI counts only "
               "the first fragments (4 x 54 bytes); flowsight counts every fragment in the flow of its first")

NOREPLYVER = ("by-design", "no reply: Zeek's version field is the reply's and stays empty; flowsight logs the request's version")
NOURI = ("reference-wrong", "a request line with a version and no target (`OPTIONS HTTP/1.1`): tshark reads the version as "
         "the URI; flowsight, as Zeek (missing_HTTP_uri), an empty target and the version")
ONLYMETHOD = ("by-design", "a request line with only a method (`OPTIONS`): tshark logs a request; flowsight, as Zeek "
              "(bad_HTTP_request), a weird record and the response alone")
SPACEURI = ("by-design", "spaces inside the request target: tshark takes the first word as the URI; flowsight, as Zeek, "
            "everything between the method and the version")
EMPTYUA = ("by-design", "an empty User-Agent header: flowsight logs the empty value, tshark no field")
LATIN1 = ("reference-wrong", "a Server header in UTF-8 (the shrug emoticon): tshark shows the bytes decoded as ISO-8859-1")

NDPIJA4 = ("reference-wrong", "nDPI 4.11's JA4: it sets the SNI flag from the name's value (i for an IP-address SNI, d "
           "without the extension), and hashes an empty extension list with SHA-256 (e3b0c44298fc); JA4 and its "
           "reference implementations write i without the extension and 000000000000 for an empty part")
NDPIQUICJA4 = ("reference-wrong", "nDPI 4.11's JA4 of a QUIC ClientHello: its ALPN characters are not the first and "
               "last of the first ALPN value (h3 gives h0, h3-29 h3, h3-T050 h3, doq-i00 do) and it writes d for "
               "the SNI flag when the hello has no server_name extension (nDPI's own risk says 'Missing SNI TLS "
               "Extn'); the cipher and extension hashes agree. FoxIO's ja4 (Rust snapshots in the corpus) gives "
               "flowsight's value on its three QUIC captures (q13d0310h3_55b375c5d22e_cd85d2d88918); checked on "
               "quic-v2, quic-29, quic_frags_ch_in_multiple_packets, doq")
RDPUDP = ("out-of-scope", "TLS inside RDP's UDP transport (MS-RDPEUDP, tshark's rdpudp:tls): flowsight reads TLS over "
          "TCP and in QUIC Initial packets")
QUICKEYS = ("by-design", "the capture carries the TLS session keys (a pcapng Decryption Secrets Block): tshark decrypts "
            "the server's EncryptedExtensions and shows its ALPN; flowsight reads only what the public Initial keys "
            "open (the ServerHello, which has no ALPN in QUIC)")
QUICSNAP = ("by-design", "the client's Initial packets are cut by the snap length (256 of 1252 bytes): nothing of them "
            "decrypts (the AEAD covers the whole packet), so flowsight has no QUIC handshake to log; tshark shows "
            "the server's hello alone")
MULTISPACE = ("reference-wrong", "several spaces after the method: tshark reads an empty URI; flowsight, as Zeek, the target")

RULES = [
    ("ndpi", "*", "ja4", lambda d: quic_ja4_a_only(d[4], d[5]), NDPIQUICJA4),
    ("tshark", "ndpi/pcap/rdp2.pcap", "tls.client.record", None, RDPUDP),
    ("tshark", "zeek/Traces/rdp/rdpeudp2-handshake-success.pcap", "tls.client.record", None, RDPUDP),
    ("tshark", "ndpi/pcap/doq.pcapng", "tls.server.alpn", None, QUICKEYS),
    ("tshark", "ndpi/pcap/quic-33.pcapng", "tls.server.alpn", None, QUICKEYS),
    ("tshark", "ndpi/pcap/quic-v2.pcapng", "tls.server.alpn", None, QUICKEYS),
    ("tshark", "tcpdump/tests/quic_handshake_truncated.pcap", "tls.server.record", None, QUICSNAP),
    ("ndpi", "ndpi/pcap/KakaoTalk_chat.pcap", "ja4", None, NDPIJA4),
    ("ndpi", "ndpi/pcap/tls_cipher_lens.pcap", "ja4", None, NDPIJA4),
    ("ndpi", "ndpi/pcap/rdp_over_tls.pcap", "ja4", None, NDPIJA4),
    ("tshark", "ndpi/pcap/http-manipulated.pcap", "http.request.uri", None, MULTISPACE),
    ("zeek", "zeek/Traces/http/multipart-form-data.pcap", "http.version", None, NOREPLYVER),
    ("tshark", "zeek/Traces/http/methods.pcap", "http.request.uri", None, NOURI),
    ("tshark", "zeek/Traces/http/no-uri.pcap", "http.request.uri", None, NOURI),
    ("tshark", "zeek/Traces/http/methods.pcap", "http.request.record", None, ONLYMETHOD),
    ("tshark", "zeek/Traces/http/connect-with-smtp.pcap", "http.request.uri", None, SPACEURI),
    ("tshark", "ja4/pcap/gre-erspan-vxlan.pcap", "http.request.uri", None, SPACEURI),
    ("tshark", "ndpi/pcap/WebattackRCE.pcap", "http.request.uri", None, SPACEURI),
    ("tshark", "ja4/pcap/http-empty-useragent.pcap", "http.user_agent", None, EMPTYUA),
    ("tshark", "ndpi/pcap/http_invalid_server.pcap", "http.server", None, LATIN1),
    ("tshark", "zeek/Traces/erspan.pcap", "http.content_type", None, TSHARKPAIR),
    ("tshark", "ndpi/pcap/weibo.pcap", "http.content_type", None, TSHARKPAIR),
    ("*", "ndpi/pcap/fuzz-2006-06-26-2594.pcap", None, None, FUZZ),
    ("*", "ndpi/pcap/fuzz-2006-09-29-28586.pcap", None, None, FUZZ),
    ("*", "ndpi/pcap/dtls.pcap", None, None, DTLS),
    ("*", "ndpi/pcap/dtls_certificate_fragments.pcap", None, None, DTLS),
    ("ndpi", "ndpi/pcap/stun.pcap", "tls.record", None, DTLS),
    ("ndpi", "ndpi/pcap/stun_google_meet.pcapng", "tls.record", None, DTLS),
    ("zeek", "zeek/Traces/tls/webrtc-stun.pcap", "ssl.record", None, DTLS),
    ("*", "zeek/Traces/tls/ssl-v2.pcap", None, None, SSL2),
    ("tshark", "zeek/Traces/tls/ssl.v3.pcap", "tls.client.record", None, SSL2),
    ("tshark", "zeek/Traces/tls/tls13draft16-ff52.a01.pcap", "tls.server.record", None, DRAFT),
    ("tshark", "zeek/Traces/tls/tls13draft16-chrome55.0.2879.0-canary.pcap", "tls.server.record", None, DRAFT),
    ("tshark", "zeek/Traces/tls/tls-13draft19-early-data.pcap", "tls.server.record", None, DRAFT),
    ("tshark", "ndpi/pcap/tls_cipher_lens.pcap", "tls.client.record", None, BADHELLO),
    ("tshark", "ndpi/pcap/tls_invalid_reads.pcap", None, None, BADHELLO),
    ("ndpi", "ndpi/pcap/tls_invalid_reads.pcap", "tls.record", None, BADHELLO),
    ("tshark", "ndpi/pcap/badpackets.pcap", "dns.record", None, BADDNS),
    ("tshark", "zeek/Traces/dns/dns-invalid-names.pcap", "dns.record", None, BADDNS),
    ("tshark", "tcpdump/tests/dns_fwdptr.pcap", "dns.record", None, BADDNS),
    ("tshark", "tcpdump/tests/dns-badlabel.pcap", "dns.record", None, BADDNS),
    ("tshark", "tcpdump/tests/someip1.pcap", "dns.record", None, DNSPORT),
    ("tshark", "ndpi/pcap/custom_rules_ipv6.pcapng", "dns.record", None, DNSPORT),
    ("tshark", "zeek/Traces/quic/vector-max-size-crash.pcap", "dns.record", None, DNSPORT),
    ("tshark", "ndpi/pcap/doq.pcapng", "dns.record", None, DOQ),
    ("tshark", "zeek/Traces/snap-tcp.pcap", None, None, SNAP),
    ("zeek", "zeek/Traces/snap-tcp.pcap", "http.record", None, SNAP),
    ("tshark", "zeek/Traces/communityid/tcp.pcap", "http.request.record", None, SNAP),
    ("zeek", "zeek/Traces/http/methods.pcap", "http.response_body_len", None, HTTP09),
    ("zeek", "zeek/Traces/mixed-vlan-mpls.pcap", "http.response_body_len", None, HTTP09B),
    ("zeek", "zeek/Traces/http/no_crlf.pcap", "http.request_body_len", None, ZEEKBODY),
    ("zeek", "zeek/Traces/http/http-single-conn-22.pcap", "http.response_body_len", None, ZEEKBODY),
    ("tshark", "zeek/Traces/dns/dns_extended_rcode.pcap", "dns.flags.rcode", None, EXTRCODE),
    ("tshark", "tcpdump/tests/dns-badvers.pcap", "dns.flags.rcode", None, EXTRCODE),
    ("tshark", "tcpdump/tests/dns-badcookie.pcap", "dns.flags.rcode", None, EXTRCODE),
    ("tshark", "zeek/Traces/dns/dynamic-update.pcap", "dns.a/aaaa/cname", None, UPDATE),
    ("tshark", "zeek/Traces/dns-edns-ecs-bad.pcap", "dns.qry.name", None, ESCAPE),
    ("tshark", "ndpi/pcap/dns-tunnel-iodine.pcap", "dns.qry.name", None, ESCAPE),
    ("tshark", "ndpi/pcap/dns-invalid-chars.pcap", "dns.qry.name", None, ESCAPE),
    ("tshark", "zeek/Traces/http/bro.org.pcap", "http.content_type", None, TSHARKPAIR),
    ("ndpi", "ndpi/pcap/dns_fragmented.pcap", None, None, FRAGCOUNT),
    ("ndpi", "ndpi/pcap/ip_fragmented_garbage.pcap", None, None, FRAGGARBAGE),
    ("ja4", "ja4/pcap/tls-non-ascii-alpn.pcapng", "ja4", None, JA4ALPN),
    ("tshark", "ja4/pcap/v6.pcap", "dns.record", None, DUPRESP),
    ("tshark", "ja4/pcap/sshv1.pcap", "dns.record", None, DUPRESP),
    ("tshark", "zeek/Traces/dns-inverse-query.pcap", "dns.record", None, NONDNS_LINK),
    ("ndpi", "ndpi/pcap/telegram.pcap", "host", None, NDPI_HOST_MDNS),
    ("ndpi", "ndpi/pcap/iphone.pcap", "host", None, NDPI_HOST_MDNS),
    ("ndpi", "ndpi/pcap/tls_certificate_too_long.pcap", "host", None, NDPI_HOST_MDNS),
]


def quic_ja4_a_only(ref, fs):
    """Two QUIC JA4s that differ only in the SNI flag and the ALPN characters of part a:
    same version, counts and hashes."""
    return (len(ref) == len(fs) and ref[0] == fs[0] == "q" and ref[1:3] == fs[1:3]
            and ref[4:8] == fs[4:8] and ref[10:] == fs[10:] and ref != fs)


def covers(rule, d):
    """A rule names the corpus (or *), the capture (or * with a predicate), the field and a
    key substring, or a predicate of the whole disagreement line."""
    corpus, capture, field, key, _ = rule
    if callable(key):
        key_ok = key(d)
    else:
        key_ok = key is None or key in d[2]
    return ((corpus == "*" or corpus == d[0]) and (capture == d[1] or (capture == "*" and callable(key)))
            and (field is None or field == d[3]) and key_ok)


def main():
    rows = [l.rstrip("\n").split("\t") for l in open(DIS)][1:]
    new = [r for r in rows if len(r) >= 7 and r[6] == "new"]
    out, left = [], []
    for d in new:
        rule = next((r for r in RULES if covers(r, d)), None)
        if rule is None:
            left.append(d)
            continue
        verdict, reason = rule[4]
        out.append("\t".join([d[0], d[1], d[2], d[3], verdict, reason]))
    with open(KNOWN, "a") as f:
        for line in out:
            f.write(line + "\n")
    print(f"added {len(out)} known lines; {len(left)} disagreements have no rule")
    for d in left:
        print("  no rule:", "\t".join(d[:6])[:200])


if __name__ == "__main__":
    main()
