//! A flow's application-layer state: protocol recognition, reassembly into the analyzers,
//! and the end of analysis. The engine owns the flows; this is what it does with their
//! payload.

use super::{DETECT_BYTES, DETECT_DATAGRAMS, DETECT_PACKETS, Parts, WATCH_CHUNKS};
use crate::app::{Analyzer, AppConfig, Cx, Detected, MakeAnalyzer, Registry, Side, Transport};
use crate::record::Attribution;
use crate::stream::{Stream, StreamSink};
use crate::table::Flow;
use crate::{Clock, FlowKey, community_id, icmp, initiator};
use flowsight_record::{
    Conn, ConnNetwork, Interface, NetworkType, Peer, Record, Transport as RecTransport, Vlan,
};
use foldhash::HashMap;

pub(super) enum AppState {
    /// Looking at the first bytes to recognise the protocol.
    Detecting {
        packets: u8,
        first: [Vec<u8>; 2],
        /// Sides whose first bytes matched no protocol. A TCP flow is given up only when
        /// both sides refused: a malformed request may still get a recognizable response.
        refused: [bool; 2],
    },
    /// No protocol at the start of this TCP connection; looking at the start of later
    /// chunks for one that starts late. Counts the chunks seen.
    Watching(u8),
    /// An analyzer is attached.
    Active(Box<dyn Analyzer>),
    /// Not analyzed (unrecognised, finished, or analysis off).
    Off,
}

/// A flow's application-layer state.
pub(super) struct FlowApp {
    /// What the analyzers see and write through.
    pub(super) core: AppCore,
    /// Reassembly, by side (client, server).
    pub(super) streams: [Stream; 2],
    /// Which canonical endpoint (0/1) is the client.
    pub(super) client: usize,
}

/// The part of a flow's application state the analyzers reach, apart from reassembly (so
/// a stream can deliver into it while borrowed).
pub(super) struct AppCore {
    pub(super) state: AppState,
    pub(super) conn: Conn,
    /// Weird names already written for this flow (each once).
    pub(super) weirds: Vec<&'static str>,
}

impl AppCore {
    /// The context an analyzer call needs.
    pub(super) fn cx<'a>(&'a mut self, parts: &'a mut Parts<'_>) -> Cx<'a> {
        Cx {
            conn: &self.conn,
            clock: parts.clock,
            cfg: &parts.cfg.app,
            out: parts.out,
            weirds_seen: &mut self.weirds,
        }
    }
}

/// What the engine keeps in each flow-table entry.
#[derive(Default)]
pub(super) enum Slot {
    /// No payload seen yet.
    #[default]
    Fresh,
    /// Being analyzed.
    App(Box<FlowApp>),
    /// A datagram flow whose analyzer held nothing for later datagrams and was let go
    /// ([`Analyzer::idle`]): the next datagram goes to a new analyzer made by this, of the
    /// protocol detected before, without detecting again.
    Parked(MakeAnalyzer),
    /// Analysis over (or never possible): later packets are only counted.
    Done,
}

/// One unit of payload for the analyzers.
pub(super) struct Segment<'a> {
    /// TCP sequence number and SYN/FIN flags; None for UDP.
    pub(super) tcp: Option<(u32, bool, bool)>,
    pub(super) payload: &'a [u8],
    /// Payload bytes the capture cut off the end of this segment (a short snap length).
    pub(super) cut: u32,
    /// The segment's ACK number, when it has one (captures; live samples carry none).
    pub(super) ack: Option<u32>,
}

/// Payload of one packet of a flow, sent by canonical endpoint `sender`.
pub(super) fn analyze_payload(
    flow: &mut Flow<Slot>,
    sender: usize,
    ts: u64,
    seg: Segment<'_>,
    parts: &mut Parts<'_>,
) {
    if matches!(flow.ext, Slot::Done) {
        return;
    }
    if let Slot::Fresh | Slot::Parked(_) = flow.ext {
        let client = initiator(flow, parts.attribution);
        let (state, protocol) = match flow.ext {
            Slot::Parked(new) => {
                let analyzer = new(&parts.cfg.app);
                let name = analyzer.protocol();
                (AppState::Active(analyzer), name)
            }
            _ => (
                AppState::Detecting {
                    packets: 0,
                    first: [Vec::new(), Vec::new()],
                    refused: [false; 2],
                },
                "",
            ),
        };
        let conn = conn(flow, client, protocol, parts.interfaces, parts.attribution);
        flow.ext = Slot::App(Box::new(FlowApp {
            core: AppCore {
                state,
                conn,
                weirds: Vec::new(),
            },
            streams: [Stream::new(), Stream::new()],
            client,
        }));
    }
    let Slot::App(app) = &mut flow.ext else {
        return;
    };
    let side = if sender == app.client {
        Side::Client
    } else {
        Side::Server
    };
    let ports = [flow.key.port[app.client ^ 1], flow.key.port[app.client]];
    let transport = if seg.tcp.is_some() {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    // What this segment's sender has received of the other side, for analyzers that pair
    // messages across directions.
    if let (Some(ack), AppState::Active(a)) = (seg.ack, &mut app.core.state) {
        let other = side.other();
        if let Some(off) = app.streams[other.index()].offset_of(ack) {
            a.acked(other, off);
        }
    }
    let mut sink = AppSink::new(&mut app.core, side, ts, ports, transport, parts);
    match seg.tcp {
        Some((seq, syn, fin)) => {
            app.streams[side.index()].segment_cut(seq, syn, fin, seg.payload, seg.cut, &mut sink)
        }
        None => sink.data(seg.payload),
    }
    if matches!(app.core.state, AppState::Detecting { packets, .. } if packets >= DETECT_PACKETS)
        && seg.tcp.is_some()
    {
        app.core.state = AppState::Watching(0);
    }
    let done = match &app.core.state {
        AppState::Active(a) => !a.wants(Side::Client) && !a.wants(Side::Server),
        AppState::Detecting { packets, .. } => {
            *packets
                >= match transport {
                    Transport::Tcp => DETECT_PACKETS,
                    Transport::Udp => DETECT_DATAGRAMS,
                }
        }
        AppState::Watching(chunks) => *chunks >= WATCH_CHUNKS,
        AppState::Off => true,
    };
    if done && matches!(&app.core.state, AppState::Active(a) if a.tunnel()) {
        // A tunnel opened: its analyzer is through, and what follows may be TLS.
        if let AppState::Active(mut a) =
            std::mem::replace(&mut app.core.state, AppState::Watching(0))
        {
            a.end(&mut app.core.cx(parts), ts);
        }
    } else if done {
        end_app(app, &flow.key, ts, parts);
        flow.ext = Slot::Done;
    } else if transport == Transport::Udp
        // A flow that wrote a weird keeps its analysis: each weird is written once a flow.
        && app.core.weirds.is_empty()
        && let AppState::Active(a) = &app.core.state
        && a.idle()
        && let Some(new) = parts.registry.maker(a.protocol(), Transport::Udp)
    {
        // Nothing held for a later datagram: the next one starts another analyzer.
        end_app(app, &flow.key, ts, parts);
        flow.ext = Slot::Parked(new);
    }
}

/// An ACK from `sender`: a hole in the other direction below it will never fill.
pub(super) fn ack_above_hole(
    flow: &mut Flow<Slot>,
    sender: usize,
    ts: u64,
    ack: u32,
    parts: &mut Parts<'_>,
) {
    let Slot::App(app) = &mut flow.ext else {
        return;
    };
    // The direction the ACK acknowledges: the other one.
    let side = if sender == app.client {
        Side::Server
    } else {
        Side::Client
    };
    let ports = [flow.key.port[app.client ^ 1], flow.key.port[app.client]];
    let mut sink = AppSink::new(&mut app.core, side, ts, ports, Transport::Tcp, parts);
    app.streams[side.index()].acked(ack, &mut sink);
}

/// Stop analyzing a flow: deliver what reassembly still holds and flush its analyzer.
pub(super) fn end_app(app: &mut FlowApp, key: &FlowKey, ts: u64, parts: &mut Parts<'_>) {
    let ports = [key.port[app.client ^ 1], key.port[app.client]];
    for (i, stream) in app.streams.iter_mut().enumerate() {
        if !stream.needs_finish() {
            continue;
        }
        let side = if i == 0 { Side::Client } else { Side::Server };
        let mut sink = AppSink::new(&mut app.core, side, ts, ports, Transport::Tcp, parts);
        stream.finish(&mut sink);
    }
    if let AppState::Active(mut a) = std::mem::replace(&mut app.core.state, AppState::Off) {
        a.end(&mut app.core.cx(parts), ts);
    }
}

/// The connection identity of a flow as protocol records show it.
pub(super) fn conn<X>(
    flow: &Flow<X>,
    client: usize,
    protocol: &'static str,
    interfaces: &HashMap<u32, Interface>,
    attribution: &mut dyn Attribution,
) -> Conn {
    let k = &flow.key;
    let one_way = matches!(k.protocol, 1 | 58)
        && icmp::is_one_way(k.port[client], k.port[client ^ 1], k.is_v6());
    let mut peer = |i: usize| Peer {
        ip: k.addr[i],
        port: k.port[i],
        owner: attribution
            .owner(
                flow.stats.sockets[i],
                k.endpoint(i),
                k.endpoint(i ^ 1),
                k.protocol,
            )
            .map(Box::new),
    };
    let (source, destination) = (peer(client), peer(client ^ 1));
    Conn {
        network: ConnNetwork {
            transport: RecTransport::from_iana(k.protocol),
            kind: if k.is_v6() {
                NetworkType::Ipv6
            } else {
                NetworkType::Ipv4
            },
            protocol,
            community_id: community_id(
                k.endpoint(client),
                k.endpoint(client ^ 1),
                k.protocol,
                one_way,
            ),
            vlan: (k.vlan != 0).then_some(Vlan { id: k.vlan }),
        },
        source,
        destination,
        interface: interfaces.get(&k.ifindex).cloned(),
    }
}

/// Where a flow's reassembled bytes go: the detection buffer, then the analyzer.
struct AppSink<'a> {
    app_state: &'a mut AppState,
    conn: &'a mut Conn,
    weirds: &'a mut Vec<&'static str>,
    side: Side,
    ts: u64,
    /// The server's port, then the client's.
    ports: [u16; 2],
    transport: Transport,
    registry: &'a Registry,
    cfg: &'a AppConfig,
    clock: &'a Clock,
    out: &'a mut Vec<Record>,
}

impl<'a> AppSink<'a> {
    fn new(
        core: &'a mut AppCore,
        side: Side,
        ts: u64,
        ports: [u16; 2],
        transport: Transport,
        parts: &'a mut Parts<'_>,
    ) -> AppSink<'a> {
        AppSink {
            app_state: &mut core.state,
            conn: &mut core.conn,
            weirds: &mut core.weirds,
            side,
            ts,
            ports,
            transport,
            registry: parts.registry,
            cfg: &parts.cfg.app,
            clock: parts.clock,
            out: parts.out,
        }
    }

    fn cx(&mut self) -> Cx<'_> {
        Cx {
            conn: self.conn,
            clock: self.clock,
            cfg: self.cfg,
            out: self.out,
            weirds_seen: self.weirds,
        }
    }
}

impl StreamSink for AppSink<'_> {
    fn data(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let (side, ts) = (self.side, self.ts);
        match self.app_state {
            AppState::Off => {}
            AppState::Watching(chunks) => {
                *chunks = chunks.saturating_add(1);
                let Some(proto) = self.registry.detect_late(self.transport, bytes, side) else {
                    return;
                };
                let mut analyzer = (proto.new)(self.cfg);
                self.conn.network.protocol = proto.name;
                analyzer.data(&mut self.cx(), side, ts, bytes);
                *self.app_state = AppState::Active(analyzer);
            }
            AppState::Active(a) => {
                let mut cx = Cx {
                    conn: self.conn,
                    clock: self.clock,
                    cfg: self.cfg,
                    out: self.out,
                    weirds_seen: self.weirds,
                };
                a.data(&mut cx, side, ts, bytes);
            }
            AppState::Detecting {
                packets,
                first,
                refused,
            } => {
                *packets = packets.saturating_add(1);
                let udp = self.transport == Transport::Udp;
                // A UDP datagram is judged on its own; a TCP side on its first bytes so far.
                let room = DETECT_BYTES.saturating_sub(first[side.index()].len());
                let head = &bytes[..bytes.len().min(room)];
                if refused[side.index()] {
                    // Decided (kept for an analyzer the other side may still pick).
                    if !udp {
                        first[side.index()].extend_from_slice(head);
                    }
                    return;
                }
                // The common first chunk of a connection (nothing kept from either side yet)
                // is judged where it lies, and kept only if that does not decide.
                let here = !udp && first[0].is_empty() && first[1].is_empty();
                if !udp && !here {
                    first[side.index()].extend_from_slice(head);
                }
                let candidate: &[u8] = match (udp, here) {
                    (true, _) => bytes,
                    (false, true) => head,
                    (false, false) => &first[side.index()],
                };
                let detected = self
                    .registry
                    .detect(self.transport, self.ports, candidate, side);
                if here && !matches!(detected, Detected::Protocol(_)) {
                    first[side.index()].extend_from_slice(head);
                }
                let proto = match detected {
                    Detected::Protocol(p) => p,
                    Detected::Nothing => {
                        refused[side.index()] = true;
                        if udp {
                            *self.app_state = AppState::Off;
                        } else if refused[side.index() ^ 1] {
                            // This chunk may itself start the late protocol (the
                            // ClientHello right after a short STARTTLS exchange).
                            *self.app_state = AppState::Watching(0);
                            self.data(bytes);
                        }
                        return;
                    }
                    Detected::NeedMore => {
                        if !udp && first[side.index()].len() >= DETECT_BYTES {
                            *self.app_state = AppState::Watching(0);
                            self.data(bytes);
                        }
                        return;
                    }
                };
                let mut analyzer = (proto.new)(self.cfg);
                self.conn.network.protocol = proto.name;
                let first = std::mem::take(first);
                {
                    let mut cx = self.cx();
                    if udp {
                        analyzer.data(&mut cx, side, ts, bytes);
                    } else {
                        // The client's bytes first: requests before the responses to them.
                        for (i, s) in [(0, Side::Client), (1, Side::Server)] {
                            if !first[i].is_empty() {
                                analyzer.data(&mut cx, s, ts, &first[i]);
                            }
                        }
                        // A first chunk judged where it lies was not kept.
                        if here {
                            analyzer.data(&mut cx, side, ts, head);
                        }
                        // Bytes past the detection buffer's room.
                        if bytes.len() > room {
                            analyzer.data(&mut cx, side, ts, &bytes[room..]);
                        }
                    }
                }
                *self.app_state = AppState::Active(analyzer);
            }
        }
    }

    fn gap(&mut self, len: u64) {
        let (side, ts) = (self.side, self.ts);
        match self.app_state {
            AppState::Active(a) => {
                let mut cx = Cx {
                    conn: self.conn,
                    clock: self.clock,
                    cfg: self.cfg,
                    out: self.out,
                    weirds_seen: self.weirds,
                };
                a.gap(&mut cx, side, ts, len);
            }
            // Recognition goes on from the bytes after the hole (the other side may still
            // decide: a response whose request the capture missed).
            AppState::Detecting { first, .. } => first[side.index()].clear(),
            AppState::Watching(_) | AppState::Off => {}
        }
    }
}
