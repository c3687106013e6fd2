//! DTLS (TLS over UDP: WebRTC media keys, VPNs such as AnyConnect and OpenConnect, CAPWAP,
//! game streaming): the ClientHello and ServerHello of the handshake, logged as a `tls`
//! record of a flow whose `network.protocol` is `dtls`, with JA3, JA4 (`d` for DTLS) and
//! JA3S as for TLS over TCP.
//!
//! A datagram holds one or more records; a handshake record one or more handshake
//! fragments, each with its message's sequence number and the fragment's offset in it
//! (RFC 6347 §4.2.2), so a hello may come in pieces over several datagrams and be
//! retransmitted. Each side's first wanted message is reassembled by offset ([`Pieces`]).
//! A DTLS 1.2 server may first answer with a HelloVerifyRequest (a cookie): the client then
//! sends its ClientHello again, with the cookie, and that second one is the one logged (its
//! fingerprint is the first's: the cookie field is in neither JA3 nor JA4). A DTLS 1.3
//! HelloRetryRequest gives two records, as over TCP: the retried hello differs (a cookie
//! extension, another key share).
//!
//! WebRTC sends STUN before the handshake on the same 5-tuple: the detector waits through
//! STUN messages (within the engine's detection packets) rather than giving up.

use super::pieces::{MAX_BYTES, Overflow, Pieces};
use super::tls::{ClientSide, client_side, write_once};
use super::{Analyzer, AppConfig, Cx, Protocol, Side, Transport, Verdict};
use flowsight_wire::l7::fingerprint;
use flowsight_wire::l7::tls::{ClientHello, ContentType, ServerHello, parse_dtls_record};

pub(super) const PROTOCOL: Protocol = Protocol {
    name: "dtls",
    transport: Transport::Udp,
    // Only a hint: the detector goes by content. WebRTC uses any port; these are the
    // usual fixed ones (AnyConnect's 443, CAPWAP's control port, TURN's).
    ports: &[443, 3478, 4433, 5246, 5349],
    detect,
    new,
    late: false,
};

/// Handshake message types (RFC 6347 §4.3.2).
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const HELLO_VERIFY_REQUEST: u8 = 3;

/// The record header (type, version, epoch, 48-bit sequence number, length).
const RECORD_HEADER: usize = 13;
/// The handshake fragment header (type, length, message sequence, fragment offset and
/// length).
const FRAGMENT_HEADER: usize = 12;

/// Datagrams read per side before its hello must be complete.
const MAX_PACKETS: u8 = 16;

/// STUN's magic cookie (RFC 5389 §6), in every STUN message since 2008.
const STUN_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];

/// Whether a datagram is a STUN message: its first two bits clear and the magic cookie in
/// place.
fn is_stun(datagram: &[u8]) -> bool {
    datagram.len() >= 20 && datagram[0] & 0xc0 == 0 && datagram[4..8] == STUN_COOKIE
}

/// A DTLS handshake record of epoch 0 (the handshake's start is never encrypted) whose
/// first fragment is a hello or a HelloVerifyRequest; STUN is waited through.
fn detect(first: &[u8], _side: Side, _port_match: bool) -> Verdict {
    if is_stun(first) {
        return Verdict::NeedMore;
    }
    let hello = first.len() >= RECORD_HEADER + FRAGMENT_HEADER
        && first[0] == 22
        && matches!(first[1..3], [0xfe, 0xff | 0xfd | 0xfc] | [0x01, 0x00])
        && first[3..5] == [0, 0]
        && matches!(
            first[RECORD_HEADER],
            CLIENT_HELLO | SERVER_HELLO | HELLO_VERIFY_REQUEST
        );
    if hello { Verdict::Yes } else { Verdict::No }
}

fn new(_cfg: &AppConfig) -> Box<dyn Analyzer> {
    Box::new(DtlsAnalyzer {
        wanted: [Wanted::new(CLIENT_HELLO), Wanted::new(SERVER_HELLO)],
        packets: [0; 2],
        done: [false; 2],
        client: None,
        client_ts: None,
        client_hellos: 0,
        written: false,
        swapped: None,
    })
}

/// The handshake type of the first fragment of a datagram's first record, when that is a
/// handshake record of epoch 0.
fn first_hello(datagram: &[u8]) -> Option<u8> {
    let (rec, _) = parse_dtls_record(datagram).ok()??;
    let t = *rec.fragment.first()?;
    (rec.content_type == ContentType::Handshake
        && rec.epoch == 0
        && matches!(t, CLIENT_HELLO | SERVER_HELLO | HELLO_VERIFY_REQUEST))
    .then_some(t)
}

/// The message a side is waiting for, and its pieces so far.
struct Wanted {
    /// Handshake type (for the server: a ServerHello, or a HelloVerifyRequest before it).
    msg_type: u8,
    /// Its message sequence number, once a fragment of it was seen.
    seq: Option<u16>,
    /// Messages up to this sequence number were read already (retransmissions).
    read_up_to: Option<u16>,
    /// Its length, from its fragments' headers.
    len: usize,
    pieces: Pieces,
}

impl Wanted {
    fn new(msg_type: u8) -> Wanted {
        Wanted {
            msg_type,
            seq: None,
            read_up_to: None,
            len: 0,
            pieces: Pieces::default(),
        }
    }

    /// A message of `msg_type` that comes after message `seq`.
    fn after(msg_type: u8, seq: u16) -> Wanted {
        Wanted {
            read_up_to: Some(seq),
            ..Wanted::new(msg_type)
        }
    }

    /// The whole message, once every byte of it came.
    fn complete(&self) -> Option<&[u8]> {
        let have = self.pieces.contiguous();
        (self.seq.is_some() && have.len() >= self.len).then(|| &have[..self.len])
    }
}

/// One handshake fragment of a record.
struct Fragment<'a> {
    msg_type: u8,
    len: usize,
    seq: u16,
    offset: usize,
    data: &'a [u8],
}

/// The handshake fragments of a record's payload; `Err` names what was malformed.
fn fragments(mut payload: &[u8]) -> Result<Vec<Fragment<'_>>, String> {
    let mut out = Vec::new();
    while !payload.is_empty() {
        let Some(h) = payload.get(..FRAGMENT_HEADER) else {
            return Err(format!(
                "a {}-byte handshake fragment header",
                payload.len()
            ));
        };
        let be24 = |at: usize| {
            usize::from(h[at]) << 16 | usize::from(h[at + 1]) << 8 | usize::from(h[at + 2])
        };
        let (len, offset, frag_len) = (be24(1), be24(6), be24(9));
        let Some(data) = payload.get(FRAGMENT_HEADER..FRAGMENT_HEADER + frag_len) else {
            return Err(format!(
                "a fragment of {frag_len} bytes with {} left in its record",
                payload.len() - FRAGMENT_HEADER
            ));
        };
        if offset + frag_len > len {
            return Err(format!(
                "a fragment at {offset}+{frag_len} of a {len}-byte message"
            ));
        }
        out.push(Fragment {
            msg_type: h[0],
            len,
            seq: u16::from_be_bytes([h[4], h[5]]),
            offset,
            data,
        });
        payload = &payload[FRAGMENT_HEADER + frag_len..];
    }
    Ok(out)
}

struct DtlsAnalyzer {
    /// What each side waits for.
    wanted: [Wanted; 2],
    /// Datagrams read per side.
    packets: [u8; 2],
    /// No more datagrams are needed from this side.
    done: [bool; 2],
    client: Option<ClientSide>,
    client_ts: Option<u64>,
    /// ClientHellos read: a second one answers a HelloVerifyRequest; no third is read.
    client_hellos: u8,
    written: bool,
    /// Whether the DTLS client is the engine's server side (known from the first hello).
    swapped: Option<bool>,
}

impl DtlsAnalyzer {
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

    /// One handshake fragment from `side`.
    fn fragment(&mut self, cx: &mut Cx<'_>, side: Side, ts: u64, f: &Fragment<'_>) {
        let i = side.index();
        let w = &mut self.wanted[i];
        let wanted_type = f.msg_type == w.msg_type
            || (side == Side::Server && f.msg_type == HELLO_VERIFY_REQUEST);
        if !wanted_type || w.read_up_to.is_some_and(|s| f.seq <= s) {
            return;
        }
        match w.seq {
            Some(s) if f.seq < s => return,
            // A newer message of the wanted kind while the older one is still incomplete
            // (its other fragments lost, or not captured): the newer one is read instead.
            Some(s) if f.seq > s => *w = Wanted::after(w.msg_type, s),
            _ => {}
        }
        if w.seq.is_none() {
            if f.len > MAX_BYTES {
                self.done[i] = true;
                cx.weird(
                    ts,
                    "dtls_handshake_too_long",
                    "dtls",
                    format!("a {}-byte hello, cap {MAX_BYTES}", f.len),
                );
                return;
            }
            w.msg_type = f.msg_type;
            w.seq = Some(f.seq);
            w.len = f.len;
        } else if f.len != w.len {
            return; // a fragment that disagrees on the length: not this message
        }
        if let Err(e) = w.pieces.add(f.offset as u64, f.data) {
            self.done[i] = true;
            let detail = match e {
                Overflow::Bytes(end) => format!("fragments up to offset {end}"),
                Overflow::Pieces => "a hello in too many fragments".to_string(),
            };
            cx.weird(ts, "dtls_handshake_too_long", "dtls", detail);
            return;
        }
        let Some(body) = w.complete() else {
            return;
        };
        // The message is whole: copy it out of its pieces so `wanted` can be reset.
        let (msg_type, seq, body) = (w.msg_type, w.seq.unwrap_or(0), body.to_vec());
        match (side, msg_type) {
            (Side::Client, _) => self.client_hello(cx, ts, seq, &body),
            (Side::Server, HELLO_VERIFY_REQUEST) => {
                // The client tries again with the cookie; the server's real hello follows
                // under a later sequence number.
                self.wanted[i] = Wanted::after(SERVER_HELLO, seq);
            }
            (Side::Server, _) => match ServerHello::parse(&body) {
                // DTLS 1.3's HelloRetryRequest (its cookie exchange, RFC 9147 §5.1, or a
                // group the server prefers): as over TCP, the first hellos get their record
                // and the second ones another. The retried ClientHello is not the first
                // (a cookie extension, another key share), so its fingerprints may differ.
                Ok(sh) if sh.is_hello_retry_request() && self.client_hellos < 2 => {
                    self.write(cx, ts, Some(&sh));
                    self.written = false;
                    self.client_ts = None;
                    self.wanted[i] = Wanted::after(SERVER_HELLO, seq);
                }
                Ok(sh) => {
                    self.done[i] = true;
                    self.write(cx, ts, Some(&sh));
                }
                Err(e) => {
                    self.done[i] = true;
                    cx.weird(ts, "dtls_bad_server_hello", "dtls", e.to_string());
                }
            },
        }
    }

    fn client_hello(&mut self, cx: &mut Cx<'_>, ts: u64, seq: u16, body: &[u8]) {
        let i = Side::Client.index();
        self.client_hellos += 1;
        match ClientHello::parse_dtls(body) {
            Ok(ch) => {
                // A later ClientHello (with a cookie) replaces the first: it is the one the
                // handshake goes on with.
                self.client = Some(client_side(&ch, fingerprint::Transport::Dtls));
                self.client_ts = Some(ts);
            }
            Err(e) => {
                cx.weird(ts, "dtls_bad_client_hello", "dtls", e.to_string());
                self.done[i] = true;
                return;
            }
        }
        if self.client_hellos >= 2 {
            self.done[i] = true;
        } else {
            // Watch for the ClientHello that answers a HelloVerifyRequest (a later
            // sequence number); a retransmission of this one is ignored.
            self.wanted[i] = Wanted::after(CLIENT_HELLO, seq);
        }
    }
}

impl Analyzer for DtlsAnalyzer {
    fn protocol(&self) -> &'static str {
        "dtls"
    }

    fn data(&mut self, cx: &mut Cx<'_>, side: Side, ts_ns: u64, data: &[u8]) {
        // The engine's client is the flow's first sender; the DTLS client is the one that
        // sends the ClientHello (in WebRTC either peer may, after STUN from both).
        if self.swapped.is_none() {
            self.swapped = first_hello(data).map(|t| (t == CLIENT_HELLO) != (side == Side::Client));
        }
        let side = if self.swapped == Some(true) {
            side.other()
        } else {
            side
        };
        let i = side.index();
        if self.done[i] || self.written {
            return;
        }
        self.packets[i] = self.packets[i].saturating_add(1);
        let mut rest = data;
        while !rest.is_empty() && !self.done[i] {
            let (rec, used) = match parse_dtls_record(rest) {
                Ok(Some(r)) => r,
                // A datagram cut short (snap length): what it had was read.
                Ok(None) => break,
                Err(e) => {
                    // STUN, or TURN channel data, between the handshake's datagrams.
                    if is_stun(rest) {
                        break;
                    }
                    // DTLS 1.3's encrypted records have a short header of their own
                    // (0b001xxxxx, RFC 9147 §4): this side is past its hello.
                    if rest[0] & 0xe0 == 0x20 {
                        if side == Side::Server || self.client.is_some() {
                            self.done[i] = true;
                        }
                        break;
                    }
                    self.done[i] = true;
                    cx.weird(ts_ns, "dtls_bad_record", "dtls", e.to_string());
                    break;
                }
            };
            rest = &rest[used..];
            match (rec.content_type, rec.epoch) {
                (ContentType::Handshake, 0) => match fragments(rec.fragment) {
                    Ok(frags) => {
                        for f in &frags {
                            self.fragment(cx, side, ts_ns, f);
                        }
                    }
                    Err(e) => {
                        self.done[i] = true;
                        cx.weird(ts_ns, "dtls_bad_handshake", "dtls", e);
                    }
                },
                // Encrypted handshake records or a ChangeCipherSpec: this side's hello is
                // not coming (any more). Alerts and anything else are passed over.
                (ContentType::Handshake | ContentType::ChangeCipherSpec, _)
                    if side == Side::Server || self.client.is_some() =>
                {
                    self.done[i] = true;
                }
                _ => {}
            }
        }
        if self.packets[i] >= MAX_PACKETS {
            self.done[i] = true;
        }
        if self.done[Side::Client.index()] && self.client.is_none() && !self.written {
            // The client's hello failed or never came: the server's is not logged alone.
            self.done[Side::Server.index()] = true;
        }
    }

    fn gap(&mut self, _cx: &mut Cx<'_>, _side: Side, _ts_ns: u64, _len: u64) {}

    fn end(&mut self, cx: &mut Cx<'_>, ts_ns: u64) {
        if self.client.is_some() {
            self.write(cx, ts_ns, None);
        }
    }

    fn wants(&self, side: Side) -> bool {
        let side = if self.swapped == Some(true) {
            side.other()
        } else {
            side
        };
        !self.done[side.index()] && !self.written
    }
}
