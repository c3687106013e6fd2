//! IP fragments: each counted when seen (as the kernel counts them live), the datagram
//! analyzed once whole, or with what it had when its fragments stopped coming.

use super::{Duty, Engine, FragFlow, decode_weird};
use crate::FlowKey;
use crate::defrag::{FragKey, Outcome};
use flowsight_record::EndReason;
use flowsight_wire::{Decoded, LinkType, decode};

impl Engine {
    pub(super) fn decoded(
        &mut self,
        ts: u64,
        d: &Decoded<'_>,
        frame: &[u8],
        wire_len: u64,
        interface: u32,
        duty: Duty,
    ) {
        let Some(ip) = d.ip else {
            self.stats.not_ip += 1;
            return;
        };
        if !ip.is_fragmented() {
            self.transport(ts, d, 1, wire_len, interface, true);
            return;
        }
        // Every fragment is counted when it is seen, as the kernel counts them live: the
        // first by its ports, later ones in the flow of their first fragment (or, when it was
        // not seen, under ports 0/0). Analysis waits for the whole datagram.
        let Some(frag) = ip.fragment else { return };
        let id = FragKey {
            src: ip.src,
            dst: ip.dst,
            ident: frag.ident,
            protocol: ip.protocol.into(),
        };
        let count = duty != Duty::Reassemble;
        if frag.offset == 0 {
            let counted = if count {
                self.transport(ts, d, 1, wire_len, interface, false)
            } else {
                None
            };
            // Remembered for the later fragments' flow (when counting) and for the
            // datagram's VLAN and interface (when rebuilding).
            if counted.is_some() || !count {
                if self.frag_flows.len() >= crate::defrag::MAX_DATAGRAMS {
                    self.frag_flows.clear(); // bounded; later fragments then count as orphans
                }
                let vlan = d.vlan;
                self.frag_flows.insert(
                    id,
                    FragFlow {
                        counted,
                        first_ns: ts,
                        vlan,
                        interface,
                    },
                );
            }
        } else if count {
            let (key, sender) = match self.frag_flows.get(&id).and_then(|f| f.counted) {
                Some(flow) => flow,
                None => FlowKey::from_packet(
                    (ip.src, 0),
                    (ip.dst, 0),
                    id.protocol,
                    interface,
                    d.vlan.unwrap_or(0),
                ),
            };
            let mut finished = None;
            self.table
                .count(key, sender, ts, 1, wire_len, 0, &mut finished);
            if let Some(old) = finished {
                self.close(old, EndReason::End);
            }
        }
        if duty == Duty::Count {
            // Another engine rebuilds and analyzes the datagram. This one rebuilds it only to
            // know when it is whole: the flow of its first fragment is then forgotten, as one
            // engine for the whole capture forgets it, so that a copy of a fragment coming
            // after (a mirror port shows every packet twice) counts where that engine counts
            // it (under ports 0/0).
            if let Outcome::Complete { .. } = self.counted_only.push(ts, &ip, frame, wire_len) {
                self.frag_flows.remove(&id);
            }
            return;
        }
        match self.defrag.push(ts, &ip, frame, wire_len) {
            Outcome::Pending => {}
            Outcome::TooLong => self.global_weird(
                ts,
                "fragment_too_long",
                "ip",
                format!("{} -> {}", ip.src, ip.dst),
            ),
            Outcome::Complete {
                datagram,
                overlapped,
                frames,
                frame_bytes,
            } => {
                self.frag_flows.remove(&id);
                if overlapped {
                    self.global_weird(
                        ts,
                        "fragment_overlap",
                        "ip",
                        format!("{} -> {}", ip.src, ip.dst),
                    );
                }
                self.reassembled(ts, &datagram, d.vlan, interface, (frames, frame_bytes));
            }
        }
    }

    /// Analyze a datagram rebuilt from fragments (already counted fragment by fragment).
    ///
    /// A datagram that was a tunnel's outer packet carries an inner flow the fragments were
    /// not counted in (they counted in the outer one): it is counted there now, as the
    /// frames that carried it.
    pub(super) fn reassembled(
        &mut self,
        ts: u64,
        datagram: &[u8],
        vlan: Option<u16>,
        interface: u32,
        (frames, frame_bytes): (u64, u64),
    ) {
        match decode(LinkType::Raw, datagram) {
            Ok(mut whole) => {
                whole.vlan = vlan;
                let (packets, bytes) = if whole.outer_ip.is_some() {
                    (frames, frame_bytes)
                } else {
                    (0, 0)
                };
                self.transport(ts, &whole, packets, bytes, interface, true);
            }
            Err(e) => self.global_weird(
                ts,
                decode_weird(&e),
                "ip",
                format!("reassembled datagram: {e}"),
            ),
        }
    }

    /// Datagrams whose fragments stopped coming: analyze what they had.
    pub(super) fn expire_fragments(&mut self, now: u64) {
        // Analyzed at the time of their last fragment, not of the expiry.
        for (id, partial, last_ts) in self.defrag.expire(now) {
            if let Some(f) = self.frag_flows.remove(&id) {
                let len = partial.len() as u64;
                self.reassembled(last_ts, &partial, f.vlan, f.interface, (1, len));
            }
        }
        for (id, _, _) in self.counted_only.expire(now) {
            self.frag_flows.remove(&id);
        }
        let timeout = crate::defrag::TIMEOUT_NS;
        self.frag_flows
            .retain(|_, f| now.saturating_sub(f.first_ns) < timeout);
    }
}
