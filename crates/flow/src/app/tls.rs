//! TLS: the ClientHello and ServerHello of a handshake, one record per handshake.

use super::fingerprints;
use super::{Analyzer, AppConfig, Cx, Protocol, Side, Transport, Verdict, text};
use flowsight_record::{Record, Tls, TlsClient, TlsRecord, TlsServer};
use flowsight_wire::l7::fingerprint::{self, ja3s_string};
use flowsight_wire::l7::tls::{
    ClientHello, HandshakeCollector, ServerHello, cipher_name, is_grease,
};

pub(super) const PROTOCOL: Protocol = Protocol {
    name: "tls",
    transport: Transport::Tcp,
    ports: &[443, 465, 563, 636, 853, 989, 990, 993, 995, 5061, 8443],
    detect,
    new,
    late: true,
};

/// A TLS handshake record (content type 22) from a TLS/SSL version, whatever the port.
fn detect(first: &[u8], _side: Side, _port_match: bool) -> Verdict {
    // Record type 22 (handshake), version 3.x, handshake type ClientHello or ServerHello:
    // each byte present must fit.
    let fits = |i: usize, f: fn(u8) -> bool| first.get(i).is_none_or(|&b| f(b));
    let plausible = fits(0, |b| b == 22)
        && fits(1, |b| b == 3)
        && fits(2, |b| b <= 4)
        && fits(5, |b| matches!(b, 1 | 2));
    if !plausible {
        Verdict::No
    } else if first.len() < 6 {
        Verdict::NeedMore
    } else {
        Verdict::Yes
    }
}

fn new(_cfg: &AppConfig) -> Box<dyn Analyzer> {
    Box::new(TlsAnalyzer {
        collectors: [HandshakeCollector::new(), HandshakeCollector::new()],
        client: None,
        client_ts: None,
        done: [false; 2],
        written: false,
        retried: false,
        client_hellos: 0,
    })
}

/// What the ClientHello said.
pub(super) struct ClientSide {
    client: TlsClient,
    /// The highest version offered, for a handshake without a ServerHello.
    offered: u16,
}

struct TlsAnalyzer {
    collectors: [HandshakeCollector; 2],
    client: Option<ClientSide>,
    client_ts: Option<u64>,
    /// No more bytes are needed from this side (its hello was read, or it is not TLS).
    done: [bool; 2],
    written: bool,
    /// A HelloRetryRequest was seen: the handshake starts over once, with a second
    /// ClientHello, and gets a second record.
    retried: bool,
    /// ClientHellos read (at most two: the first and a retry's).
    client_hellos: u8,
}

/// `0x0303` -> ("1.2", "tls").
fn version(v: u16) -> (String, &'static str) {
    match v {
        0x0300 => ("3.0".into(), "ssl"),
        0x0002 | 0x0200 => ("2.0".into(), "ssl"),
        // Not `format!`: every TLS record carries a version, and formatting cost ~400
        // instructions where a copy costs a tenth of that.
        0x0301 => ("1.0".into(), "tls"),
        0x0302 => ("1.1".into(), "tls"),
        0x0303 => ("1.2".into(), "tls"),
        0x0304 => ("1.3".into(), "tls"),
        0xfeff => ("1.0".into(), "dtls"),
        0xfefd => ("1.2".into(), "dtls"),
        0xfefc => ("1.3".into(), "dtls"),
        // Cisco AnyConnect's DTLS from before RFC 4347 (OpenSSL's DTLS1_BAD_VER).
        0x0100 => ("0x0100".into(), "dtls"),
        _ => (format!("0x{v:04x}"), "tls"),
    }
}

/// The client's part of a record; `transport` is JA4's first character (`t` for TLS over
/// TCP, `q` for a ClientHello carried by QUIC, `d` for DTLS).
pub(super) fn client_side(ch: &ClientHello<'_>, transport: fingerprint::Transport) -> ClientSide {
    let prints = fingerprints::client(ch, transport);
    // The newest version offered (for DTLS the lowest number), as JA4 takes it.
    let offered = fingerprint::offered_version(ch);
    ClientSide {
        client: TlsClient {
            server_name: ch.sni().map(text),
            alpn: ch.alpn().map(text).collect(),
            supported_versions: ch
                .supported_versions()
                .filter(|v| !is_grease(*v))
                .map(|v| version(v).0)
                .collect(),
            ja3: prints.ja3.hash,
            ja3_string: prints.ja3.text,
            ja4: prints.ja4,
        },
        offered,
    }
}

impl TlsAnalyzer {
    fn write(&mut self, cx: &mut Cx<'_>, ts: u64, server: Option<&ServerHello<'_>>) {
        write_once(
            cx,
            &mut self.written,
            &mut self.client,
            self.client_ts,
            ts,
            server,
        );
    }
}

/// A handshake's record, unless `written` says it went out already: stamped when the
/// ClientHello came (`client_ts`), else at `ts`. TLS over TCP and DTLS write theirs so, and
/// QUIC at the end of a flow whose ServerHello never came.
pub(super) fn write_once(
    cx: &mut Cx<'_>,
    written: &mut bool,
    client: &mut Option<ClientSide>,
    client_ts: Option<u64>,
    ts: u64,
    server: Option<&ServerHello<'_>>,
) {
    if *written {
        return;
    }
    *written = true;
    let record = record(cx, client_ts.unwrap_or(ts), client.take(), server);
    cx.out.push(record);
}

/// The `tls` record of a handshake (TLS over TCP, or the one QUIC carries) from what each
/// hello said, stamped `ts`.
pub(super) fn record(
    cx: &Cx<'_>,
    ts: u64,
    client: Option<ClientSide>,
    server: Option<&ServerHello<'_>>,
) -> Record {
    let negotiated = server
        .map(|sh| sh.selected_version().unwrap_or(sh.legacy_version))
        .or(client.as_ref().map(|c| c.offered));
    let (version, version_protocol) = match negotiated.map(version) {
        Some((v, p)) => (Some(v), Some(p)),
        None => (None, None),
    };
    Record::Tls(TlsRecord {
        timestamp: cx.at(ts),
        conn: cx.conn.clone(),
        tls: Tls {
            version,
            version_protocol,
            cipher: server.map(|sh| {
                cipher_name(sh.cipher_suite)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("0x{:04x}", sh.cipher_suite))
            }),
            next_protocol: server.and_then(|sh| sh.alpn()).map(text),
            client: client.map(|c| c.client),
            server: server.map(|sh| {
                let j = fingerprints::ja3s(ja3s_string(sh));
                TlsServer {
                    ja3s: j.hash,
                    ja3s_string: j.text,
                }
            }),
        },
    })
}

impl Analyzer for TlsAnalyzer {
    fn protocol(&self) -> &'static str {
        "tls"
    }

    fn data(&mut self, cx: &mut Cx<'_>, side: Side, ts_ns: u64, data: &[u8]) {
        let i = side.index();
        if self.done[i] {
            return;
        }
        let collector = &mut self.collectors[i];
        if let Err(e) = collector.push(data) {
            self.done[i] = true;
            cx.weird(ts_ns, "tls_bad_handshake", "tls", e.to_string());
            return;
        }
        match side {
            Side::Client => match collector.client_hello() {
                Some(Ok(ch)) => {
                    let hello = client_side(&ch, fingerprint::Transport::Tcp);
                    if self.client.is_some() {
                        // A second ClientHello before any ServerHello: a retry whose
                        // HelloRetryRequest the capture missed. The first gets its record.
                        self.write(cx, ts_ns, None);
                        self.written = false;
                    }
                    self.client = Some(hello);
                    self.client_ts = Some(ts_ns);
                    self.client_hellos += 1;
                    if self.client_hellos >= 2 {
                        self.done[i] = true;
                    } else {
                        // Watch for the retry's second ClientHello; anything else (a
                        // ClientKeyExchange, encrypted records) ends this side quickly.
                        self.collectors[i] = HandshakeCollector::new();
                    }
                }
                Some(Err(e)) => {
                    self.done[i] = true;
                    if self.client_hellos == 0 {
                        cx.weird(ts_ns, "tls_bad_client_hello", "tls", e.to_string());
                    }
                }
                None if collector.is_done() => self.done[i] = true,
                None => {}
            },
            Side::Server => {
                let parsed = self.collectors[i]
                    .server_hello()
                    .map(|r| r.map(|_| ()).map_err(|e| e.to_string()));
                match parsed {
                    Some(Ok(())) => {
                        self.done[i] = true;
                        // The ServerHello borrows its collector: take the collector out so
                        // the record can be written while it is borrowed.
                        let collector =
                            std::mem::replace(&mut self.collectors[i], HandshakeCollector::new());
                        if let Some(Ok(sh)) = collector.server_hello() {
                            self.write(cx, ts_ns, Some(&sh));
                            if sh.is_hello_retry_request() && !self.retried {
                                // The client answers with a new ClientHello, the server with
                                // its real ServerHello: read both afresh.
                                self.retried = true;
                                self.written = false;
                                self.done = [false; 2];
                                self.collectors[0] = HandshakeCollector::new();
                                self.client_ts = None;
                            }
                        }
                    }
                    Some(Err(e)) => {
                        self.done[i] = true;
                        cx.weird(ts_ns, "tls_bad_server_hello", "tls", e);
                    }
                    None if self.collectors[i].is_done() => self.done[i] = true,
                    None => {}
                }
            }
        }
    }

    fn gap(&mut self, _cx: &mut Cx<'_>, side: Side, _ts_ns: u64, _len: u64) {
        self.done[side.index()] = true;
    }

    fn end(&mut self, cx: &mut Cx<'_>, ts_ns: u64) {
        if self.client.is_some() {
            self.write(cx, ts_ns, None);
        }
    }

    fn wants(&self, side: Side) -> bool {
        !self.done[side.index()] && !self.written
    }
}
