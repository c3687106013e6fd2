//! QUIC: the TLS ClientHello (and ServerHello) carried in the Initial packets of a
//! connection, decrypted with the Initial keys every observer can derive from the client's
//! first Destination Connection ID, and logged as a `tls` record of a flow whose
//! `network.protocol` is `quic`.
//!
//! A ClientHello is a stream of CRYPTO frames that may span several Initial packets (a
//! post-quantum key share makes it 1.5 KB and more) and arrive out of order, split into
//! many small frames (Chrome shuffles them on purpose): each side's CRYPTO stream is
//! reassembled here, within [`MAX_CRYPTO_BYTES`] and [`MAX_PACKETS`].
//!
//! Keys follow the connection: after a Retry both ends start over under keys from the
//! Retry's connection ID, and a client packet that does not open under the current keys is
//! tried under its own DCID's (a version negotiation, or a capture that missed the first
//! packet). A HelloRetryRequest gives a second record, as over TCP: the second hellos
//! follow the first in the same CRYPTO streams.

use super::pieces::{MAX_BYTES, MAX_PIECES, Overflow, Pieces};
use super::tls::{ClientSide, client_side, record, write_once};
use super::{Analyzer, AppConfig, Cx, Protocol, Side, Transport, Verdict};
use flowsight_wire::l7::fingerprint;
use flowsight_wire::l7::quic::{
    Frame, Frames, InitialKeys, LongHeader, PacketType, QuicError, Version,
};
use flowsight_wire::l7::tls::{ClientHello, Handshake, HandshakeType, ServerHello, TlsError};

pub(super) const PROTOCOL: Protocol = Protocol {
    name: "quic",
    transport: Transport::Udp,
    ports: &[443],
    detect,
    new,
    late: false,
};

/// The CRYPTO stream bytes kept per side (see [`MAX_BYTES`]).
pub const MAX_CRYPTO_BYTES: usize = MAX_BYTES;

/// Datagrams read per side before the hello must be complete.
pub const MAX_PACKETS: u8 = 16;

/// A long-header Initial packet of a known version, whatever the port: the datagram's
/// first packet must parse with its Length inside the datagram. Other long-header packets
/// wait for one (0-RTT sent before its Initial arrives first when the two are reordered;
/// a version negotiation precedes the Initial of the version both ends speak).
fn detect(first: &[u8], _side: Side, _port_match: bool) -> Verdict {
    match LongHeader::parse(first) {
        Ok((h, _)) if h.packet_type == PacketType::Initial => Verdict::Yes,
        Ok(_) => Verdict::NeedMore,
        // Version negotiation (version 0), or a version without Initial keys the ends may
        // negotiate away from; the fixed bit keeps most other protocols out.
        Err(QuicError::UnsupportedVersion(_)) if first[0] & 0x40 != 0 || first[1..5] == [0; 4] => {
            Verdict::NeedMore
        }
        Err(_) => Verdict::No,
    }
}

fn new(_cfg: &AppConfig) -> Box<dyn Analyzer> {
    Box::new(QuicAnalyzer {
        keys: None,
        streams: [Pieces::default(), Pieces::default()],
        largest_pn: [None; 2],
        packets: [0; 2],
        done: [false; 2],
        client: None,
        client_ts: None,
        written: false,
        from: [0; 2],
        next: [0; 2],
        retry_seen: false,
        retried: false,
    })
}

/// The Initial keys of a connection, from the client's first DCID.
struct Keys {
    version: Version,
    dcid: Vec<u8>,
    client: InitialKeys,
    server: InitialKeys,
}

impl Keys {
    fn new(version: Version, dcid: &[u8]) -> Keys {
        Keys {
            version,
            dcid: dcid.to_vec(),
            client: InitialKeys::client(version, dcid),
            server: InitialKeys::server(version, dcid),
        }
    }

    fn of(&self, side: Side) -> &InitialKeys {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }
}

struct QuicAnalyzer {
    keys: Option<Keys>,
    streams: [Pieces; 2],
    /// Largest packet number decrypted, per side (Initial packet number space).
    largest_pn: [Option<u64>; 2],
    /// Datagrams read per side.
    packets: [u8; 2],
    /// No more datagrams are needed from this side.
    done: [bool; 2],
    client: Option<ClientSide>,
    client_ts: Option<u64>,
    written: bool,
    /// Where each side's next hello starts in its stream (after a HelloRetryRequest, the
    /// second ClientHello and ServerHello follow the first ones).
    from: [usize; 2],
    /// Where each side's last hello read ended.
    next: [usize; 2],
    /// A Retry was seen: the client started over under keys from the Retry's connection ID.
    retry_seen: bool,
    /// A HelloRetryRequest was seen: the handshake goes on with a second pair of hellos,
    /// logged as a second record (as over TCP).
    retried: bool,
}

impl QuicAnalyzer {
    /// Opens an Initial packet of `side`, choosing (or changing) the connection's keys.
    fn open(&mut self, side: Side, h: &LongHeader<'_>) -> Result<Vec<u8>, QuicError> {
        let i = side.index();
        let first_try = match &self.keys {
            Some(k) => k.of(side).open(h, self.largest_pn[i]),
            None if side == Side::Client => {
                let k = Keys::new(h.version, h.dcid);
                let r = k.client.open(h, None);
                self.keys = Some(k);
                r
            }
            // The server's keys come from the client's DCID, which only a client packet
            // tells.
            None => return Err(QuicError::Decryption),
        };
        let opened = match first_try {
            Ok(o) => o,
            // A client packet under other keys: after a Retry (keys from the Retry's
            // connection ID), a version negotiation (another version), or a capture that
            // missed the first packet. Its own DCID is tried, and kept when it works.
            Err(QuicError::Decryption)
                if side == Side::Client
                    && self
                        .keys
                        .as_ref()
                        .is_some_and(|k| k.dcid != h.dcid || k.version != h.version) =>
            {
                let k = Keys::new(h.version, h.dcid);
                let o = k.client.open(h, None)?;
                self.keys = Some(k);
                self.largest_pn = [None; 2];
                o
            }
            Err(e) => return Err(e),
        };
        self.largest_pn[i] =
            Some(self.largest_pn[i].map_or(opened.packet_number, |l| l.max(opened.packet_number)));
        Ok(opened.payload)
    }

    /// Reads one datagram of `side`: its coalesced long-header packets, the Initial ones
    /// decrypted and their CRYPTO frames added to the side's stream.
    fn datagram(&mut self, cx: &mut Cx<'_>, side: Side, ts: u64, data: &[u8]) {
        let i = side.index();
        let mut rest = data;
        let mut first = true;
        while !rest.is_empty() {
            let (h, used) = match LongHeader::parse(rest) {
                Ok(p) => p,
                // A 1-RTT packet, or padding after the last packet: nothing to read, and
                // nothing wrong. Another version (negotiation in progress) neither.
                Err(QuicError::ShortHeader | QuicError::UnsupportedVersion(_)) => break,
                Err(e) => {
                    if first && side == Side::Client && self.client.is_none() {
                        cx.weird(ts, "quic_bad_packet", "quic", e.to_string());
                    }
                    break;
                }
            };
            first = false;
            rest = &rest[used..];
            if h.packet_type == PacketType::Retry && side == Side::Server {
                self.retry(&h);
                continue;
            }
            if h.packet_type != PacketType::Initial {
                continue;
            }
            let payload = match self.open(side, &h) {
                Ok(p) => p,
                Err(e) => {
                    // The server's packets are only readable once a client packet gave the
                    // keys; a client packet that does not open is worth a weird.
                    // A reserved version's packet (forcing version negotiation) may be
                    // protected any way at all.
                    if side == Side::Client
                        && self.client.is_none()
                        && !matches!(h.version, Version::Reserved(_))
                    {
                        cx.weird(ts, "quic_bad_packet", "quic", e.to_string());
                    }
                    continue;
                }
            };
            for frame in Frames::for_version(&payload, h.version) {
                match frame {
                    Ok(Frame::Crypto { offset, data }) => {
                        if let Err(e) = self.streams[i].add(offset, data) {
                            self.done[i] = true;
                            let detail = match e {
                                Overflow::Bytes(end) => format!(
                                    "CRYPTO data up to offset {end}, cap {MAX_CRYPTO_BYTES}"
                                ),
                                Overflow::Pieces => {
                                    format!("CRYPTO data in over {MAX_PIECES} pieces")
                                }
                            };
                            cx.weird(ts, "quic_handshake_limit", "quic", detail);
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        // What came before the unreadable frame is kept.
                        cx.weird(ts, "quic_bad_frame", "quic", e.to_string());
                        break;
                    }
                }
            }
        }
    }

    /// A Retry (RFC 9000 §17.2.5): the client sends its Initial packets again, CRYPTO
    /// stream from offset 0, under keys from the Retry's Source Connection ID, and so does
    /// the server. The client's hello is read again (the record keeps the first one's time).
    fn retry(&mut self, h: &LongHeader<'_>) {
        if self.retry_seen || self.keys.is_none() {
            return;
        }
        self.retry_seen = true;
        self.keys = Some(Keys::new(h.version, h.scid));
        self.streams = [Pieces::default(), Pieces::default()];
        self.largest_pn = [None; 2];
        self.from = [0; 2];
        self.done[Side::Client.index()] = false;
    }

    /// Looks for the side's hello in its reassembled stream.
    fn hello(&mut self, cx: &mut Cx<'_>, side: Side, ts: u64) {
        let i = side.index();
        let (want, weird) = match side {
            Side::Client => (HandshakeType::ClientHello, "tls_bad_client_hello"),
            Side::Server => (HandshakeType::ServerHello, "tls_bad_server_hello"),
        };
        let stream = self.streams[i]
            .contiguous()
            .get(self.from[i]..)
            .unwrap_or_default();
        let hs = match Handshake::parse(stream, MAX_CRYPTO_BYTES) {
            Ok(Some((hs, used))) if hs.msg_type == want => {
                self.next[i] = self.from[i] + used;
                hs
            }
            Ok(Some((hs, _))) => {
                self.done[i] = true;
                let e = TlsError::UnexpectedHandshake {
                    expected: u8::from(want),
                    got: u8::from(hs.msg_type),
                };
                cx.weird(ts, weird, "quic", e.to_string());
                return;
            }
            Ok(None) => return,
            Err(e) => {
                self.done[i] = true;
                cx.weird(ts, "quic_handshake_limit", "quic", e.to_string());
                return;
            }
        };
        self.done[i] = true;
        match side {
            Side::Client => match ClientHello::from_handshake(&hs) {
                Ok(ch) => {
                    self.client = Some(client_side(&ch, fingerprint::Transport::Quic));
                    self.client_ts.get_or_insert(ts);
                }
                Err(e) => cx.weird(ts, weird, "quic", e.to_string()),
            },
            Side::Server => match ServerHello::from_handshake(&hs) {
                Ok(sh) => {
                    if self.client.is_some() {
                        let record = record(
                            cx,
                            self.client_ts.unwrap_or(ts),
                            self.client.take(),
                            Some(&sh),
                        );
                        cx.out.push(record);
                        if sh.is_hello_retry_request() && !self.retried {
                            // The client answers with a second ClientHello, the server
                            // with its real ServerHello, each after the first in its
                            // stream: both read afresh.
                            self.retried = true;
                            self.done = [false; 2];
                            self.from = self.next;
                            self.client_ts = None;
                        } else {
                            self.written = true;
                        }
                    }
                }
                Err(e) => cx.weird(ts, weird, "quic", e.to_string()),
            },
        }
    }
}

impl Analyzer for QuicAnalyzer {
    fn protocol(&self) -> &'static str {
        "quic"
    }

    fn data(&mut self, cx: &mut Cx<'_>, side: Side, ts_ns: u64, data: &[u8]) {
        let i = side.index();
        if self.done[i] || self.written {
            return;
        }
        // The server's hello is only worth reading for a client's: without one, its
        // packets cannot even be decrypted.
        if side == Side::Server && self.keys.is_none() {
            return;
        }
        self.packets[i] = self.packets[i].saturating_add(1);
        self.datagram(cx, side, ts_ns, data);
        if !self.done[i] {
            self.hello(cx, side, ts_ns);
        }
        if !self.done[i] && self.packets[i] >= MAX_PACKETS {
            self.done[i] = true;
            if !self.streams[i].is_empty() {
                cx.weird(
                    ts_ns,
                    "quic_handshake_limit",
                    "quic",
                    format!("no complete hello in {MAX_PACKETS} datagrams"),
                );
            }
        }
        if self.done[Side::Client.index()] && self.client.is_none() && !self.written {
            // The client's hello failed: the server's is not logged alone.
            self.done[Side::Server.index()] = true;
        }
    }

    fn gap(&mut self, _cx: &mut Cx<'_>, _side: Side, _ts_ns: u64, _len: u64) {}

    fn end(&mut self, cx: &mut Cx<'_>, ts_ns: u64) {
        if self.client.is_some() {
            write_once(
                cx,
                &mut self.written,
                &mut self.client,
                self.client_ts,
                ts_ns,
                None,
            );
        }
    }

    fn wants(&self, side: Side) -> bool {
        !self.done[side.index()] && !self.written
    }
}
