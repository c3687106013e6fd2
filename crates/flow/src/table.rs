//! The flow table: every open flow, its counters, and when each is due for a record.
//!
//! Two feeds fill it. Live, the kernel counts and the table takes periodic snapshots of the
//! kernel's absolute counters ([`FlowTable::snapshot`]). From a capture file, the table counts
//! packet by packet itself ([`FlowTable::packet`]). Ageing ([`FlowTable::due`]) is the same for
//! both and runs on the feed's own timeline, so reading a file gives the records a live run
//! would have given.

use crate::FlowKey;
use crate::flow_store::FlowStore;
use std::collections::BTreeMap;

/// TCP flag bits.
const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;
const TCP: u8 = 6;

/// Which endpoint started a flow, and how the table knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiator {
    /// No packet seen yet.
    Unknown,
    /// The endpoint sent the first packet seen: weak for TCP, since the flow may predate the
    /// capture.
    FirstPacket(usize),
    /// The endpoint sent a SYN (or the other sent a SYN+ACK): it connected.
    Syn(usize),
}

/// The local socket behind an endpoint, as the kernel named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SocketRef {
    /// Socket cookie.
    pub cookie: u64,
    /// The listening socket a SYN reached, standing in until the accepted socket is seen.
    pub listener: bool,
}

/// Counters of one flow at one instant, as the kernel reports them.
///
/// `repr(C)`, the fields a packet updates first: with [`Flow`]'s layout they share its
/// second cache line, and a packet of a known flow touches two lines of its entry, not three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Snapshot {
    /// Last packet (timeline ns).
    pub last_ns: u64,
    /// Packets sent by each endpoint.
    pub packets: [u64; 2],
    /// Bytes sent by each endpoint.
    pub bytes: [u64; 2],
    /// TCP flags each endpoint sent.
    pub tcp_flags: [u8; 2],
    /// First packet (timeline ns).
    pub first_ns: u64,
    /// Who started the flow (read on a SYN only).
    pub initiator: Initiator,
    /// Local sockets of the endpoints.
    pub sockets: [Option<SocketRef>; 2],
}

/// One open flow, with `X`: whatever its owner keeps per flow (the analysis engine keeps the
/// flow's protocol analysis here, so a packet costs one table lookup).
///
/// Laid out for the table's lookup, the hot path of reading a capture (a cache miss per packet
/// of a flow not seen lately): the key and the two fields every packet writes fill the first
/// 64 bytes, the owner's state and the counters the second, what only a record reads comes
/// last. Aligned to 64 so that the table's entries start on cache lines.
#[derive(Debug, Clone, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct Flow<X = ()> {
    /// Its key.
    pub key: FlowKey,
    /// When it was last known to be active, for the idle timeout: its last packet's time, or
    /// a flow-map scan that found its counters grown. The kernel reads the clock for only
    /// every 64th packet of a busy flow, so `stats.last_ns` alone can be a minute old for a
    /// flow that still sends one packet a second.
    pub seen_ns: u64,
    /// The deadline of the flow's entry in the table's queue of deadlines (`u64::MAX`:
    /// none); an entry with another deadline is a stale one.
    armed: u64,
    /// The owner's per-flow state.
    pub ext: X,
    /// Counters, direction and sockets.
    pub stats: Snapshot,
    /// When the last record was written for it (interim records), else its start.
    pub reported_ns: u64,
}

impl<X: Default> Flow<X> {
    /// A flow known only from one snapshot of its counters (a kernel hand-over).
    pub fn from_snapshot(key: FlowKey, stats: Snapshot) -> Flow<X> {
        Flow::new(key, stats)
    }

    fn new(key: FlowKey, stats: Snapshot) -> Flow<X> {
        Flow {
            key,
            stats,
            reported_ns: stats.first_ns,
            seen_ns: stats.last_ns,
            ext: X::default(),
            armed: u64::MAX,
        }
    }
}

impl<X> Flow<X> {
    /// True once a TCP flow is over: an RST, or a FIN from each side.
    pub fn tcp_finished(&self) -> bool {
        let f = self.stats.tcp_flags;
        self.key.protocol == TCP && ((f[0] | f[1]) & RST != 0 || (f[0] & f[1] & FIN) != 0)
    }
}

/// Why a flow needs a record now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The TCP connection finished (and the linger passed). Remove it.
    Ended,
    /// Nothing was sent for the idle timeout. Remove it.
    Idle,
    /// Still open, and the active timeout passed since its last record. Keep it.
    Active,
}

/// Timeouts, in nanoseconds of the feed's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// A flow with no packet for this long is over.
    pub idle_ns: u64,
    /// An open flow gets an interim record this often.
    pub active_ns: u64,
    /// After a finished TCP connection's last packet, wait this long for stragglers (the final
    /// ACK, retransmissions) before writing its record.
    pub linger_ns: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            idle_ns: 60_000_000_000,
            active_ns: 60_000_000_000,
            linger_ns: 1_000_000_000,
        }
    }
}

/// Where a flow is in a [`FlowTable`] (its slot in the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSlot(u32);

/// Every open flow.
#[derive(Debug, Default)]
pub struct FlowTable<X = ()> {
    /// The flows, found by their own `key` (flow_store.rs).
    flows: FlowStore<X>,
    timeouts: Timeouts,
    /// When each flow may next need a record, in buckets of a second: [`FlowTable::due`]
    /// looks at those whose time has come instead of at every flow, every second. A flow's
    /// deadline only moves later as it lives (a packet, an interim record) except when it
    /// finishes, so it is queued when it starts and when it finishes, and queued again when
    /// its entry comes up early. (Buckets read in order, not a binary heap: popping a heap
    /// of tens of thousands of entries was a cache miss per level.)
    deadlines: Deadlines,
    /// Times the deadline queue was rebuilt (see `compact_deadlines`).
    compactions: u64,
}

/// Stale entries the deadline queue may hold beyond twice the flows before it is rebuilt
/// (few in tests, so that they rebuild it).
const COMPACT_SLACK: usize = if cfg!(test) { 64 } else { 4096 };

impl<X: Default> FlowTable<X> {
    /// An empty table.
    pub fn new(timeouts: Timeouts) -> FlowTable<X> {
        FlowTable {
            flows: FlowStore::default(),
            timeouts,
            deadlines: Deadlines::new(),
            compactions: 0,
        }
    }

    /// Open flows.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// True when no flow is open.
    pub fn is_empty(&self) -> bool {
        self.flows.len() == 0
    }

    /// A flow by key.
    pub fn get(&self, key: &FlowKey) -> Option<&Flow<X>> {
        self.flows.get(key)
    }

    /// A flow by key, to change its extension.
    pub fn get_mut(&mut self, key: &FlowKey) -> Option<&mut Flow<X>> {
        self.flows.get_mut(key)
    }

    /// Every open flow.
    pub fn values(&self) -> impl Iterator<Item = &Flow<X>> + '_ {
        self.flows.iter()
    }

    /// Every open flow, to update in place.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Flow<X>> + '_ {
        self.flows.iter_mut().map(|(_, f)| f)
    }

    /// Take the kernel's current counters for a flow, read at `now_ns` (a flow whose packet
    /// count grew since the last snapshot was active since then, whatever its `last_ns`
    /// says). When the snapshot is of a newer connection on the same key than the one the
    /// table holds (its first packet is later), the old flow is returned: its record is due,
    /// with the counters last seen.
    pub fn snapshot(&mut self, key: FlowKey, stats: Snapshot, now_ns: u64) -> Option<Flow<X>> {
        self.compact_deadlines();
        let sent = |s: &Snapshot| s.packets[0] + s.packets[1];
        let fresh = |stats: Snapshot| {
            // Its packets all came since the last scan.
            let mut f = Flow::new(key, stats);
            f.seen_ns = f.seen_ns.max(now_ns);
            f
        };
        let (flow, slot, made) = self.flows.get_or_insert_with(key, || fresh(stats));
        let old = match made {
            true => None,
            false => {
                if flow.stats.first_ns == stats.first_ns {
                    flow.seen_ns = flow.seen_ns.max(stats.last_ns);
                    if sent(&stats) > sent(&flow.stats) {
                        flow.seen_ns = flow.seen_ns.max(now_ns);
                    }
                    flow.stats = stats;
                    None
                } else {
                    Some(std::mem::replace(flow, fresh(stats)))
                }
            }
        };
        arm(&mut self.deadlines, &self.timeouts, flow, slot);
        old
    }

    /// Count one packet sent by endpoint `sender` at `ts_ns`. A SYN on a finished TCP
    /// connection starts a new one; the old flow is returned for its record.
    pub fn packet(
        &mut self,
        key: FlowKey,
        sender: usize,
        ts_ns: u64,
        len: u64,
        tcp_flags: u8,
    ) -> Option<Flow<X>> {
        self.packets(key, sender, ts_ns, 1, len, tcp_flags)
    }

    /// Count `packets` frames of `bytes` bytes in all sent by endpoint `sender` (the
    /// fragments of one reassembled datagram).
    pub fn packets(
        &mut self,
        key: FlowKey,
        sender: usize,
        ts_ns: u64,
        packets: u64,
        bytes: u64,
        tcp_flags: u8,
    ) -> Option<Flow<X>> {
        let mut finished = None;
        self.count(key, sender, ts_ns, packets, bytes, tcp_flags, &mut finished);
        finished
    }

    /// Queue every flow afresh at its deadline when stale entries (of flows removed, or
    /// queued again earlier when they finished) outnumber the flows: a flow lasting a
    /// second leaves its first entry for the idle timeout, a minute, and at 20,000 new
    /// flows a second that held a million entries. Rebuilding after as many removals as
    /// there are flows costs less than one look per removal.
    fn compact_deadlines(&mut self) {
        if self.deadlines.len <= 2 * self.flows.len() + COMPACT_SLACK {
            return;
        }
        self.deadlines.clear();
        // Queued again by deadline, then slot: flows due in the same second are written in
        // queue order, and a capture read twice must give its records in one order (the slots
        // a table gives are the same for the same packets; its hasher is seeded afresh).
        let timeouts = self.timeouts;
        let mut queue: Vec<(u64, u32)> = self
            .flows
            .iter_mut()
            .filter_map(|(slot, flow)| {
                // As `arm` queues: a deadline past the end of time (u64::MAX) is none.
                flow.armed = deadline(&timeouts, flow);
                (flow.armed != u64::MAX).then_some((flow.armed, slot))
            })
            .collect();
        queue.sort_unstable();
        for (at, slot) in queue {
            self.deadlines.push(at, slot);
        }
        self.compactions += 1;
    }

    /// [`FlowTable::packets`], returning the flow for its extension to be used at once (one
    /// lookup); a finished connection the packet replaced goes to `finished`.
    #[allow(clippy::too_many_arguments)]
    pub fn count(
        &mut self,
        key: FlowKey,
        sender: usize,
        ts_ns: u64,
        packets: u64,
        bytes: u64,
        tcp_flags: u8,
        finished: &mut Option<Flow<X>>,
    ) -> &mut Flow<X> {
        self.compact_deadlines();
        let (len, n) = (bytes, packets);
        let s = sender & 1;
        let fresh = || Snapshot {
            first_ns: ts_ns,
            last_ns: ts_ns,
            packets: [0; 2],
            bytes: [0; 2],
            tcp_flags: [0; 2],
            initiator: Initiator::FirstPacket(s),
            sockets: [None; 2],
        };
        let (flow, slot, made) = self
            .flows
            .get_or_insert_with(key, || Flow::new(key, fresh()));
        if !made && tcp_flags & (SYN | ACK) == SYN && flow.tcp_finished() {
            *finished = Some(std::mem::replace(flow, Flow::new(key, fresh())));
        }
        flow.seen_ns = flow.seen_ns.max(ts_ns);
        let st = &mut flow.stats;
        st.packets[s] += n;
        st.bytes[s] += len;
        st.last_ns = st.last_ns.max(ts_ns);
        st.tcp_flags[s] |= tcp_flags;
        if key.protocol == TCP && tcp_flags & SYN != 0 && !matches!(st.initiator, Initiator::Syn(_))
        {
            let client = if tcp_flags & ACK != 0 { s ^ 1 } else { s };
            st.initiator = Initiator::Syn(client);
        }
        // Only a new flow, or a FIN or RST, can bring its deadline earlier.
        if flow.armed == u64::MAX || tcp_flags & (FIN | RST) != 0 {
            arm(&mut self.deadlines, &self.timeouts, flow, slot);
        }
        flow
    }

    /// The flows that need a record at `now_ns`, appended to `out` (by second of deadline,
    /// then in the order they were queued). Each is queued again for a second later: the
    /// caller removes it (idle, ended) or notes its interim record
    /// ([`FlowTable::reported`]), and a flow it kept is looked at again then.
    pub fn due(&mut self, now_ns: u64, out: &mut Vec<(FlowKey, Due)>) {
        let t = self.timeouts;
        let mut again = Vec::new();
        while let Some(bucket) = self.deadlines.pop_until(now_ns) {
            for (at, slot) in bucket {
                if at > now_ns {
                    again.push((at, slot)); // later in this second
                    continue;
                }
                let Some(flow) = self.flows.at_mut(slot) else {
                    continue; // removed since
                };
                // Queued again since, at another deadline; or removed since, and its slot
                // given to a flow queued at another time. (A flow in a reused slot queued at
                // the very same nanosecond is due now as well, and is looked at now, once: its
                // own entry is then a stale one.)
                if flow.armed != at {
                    continue;
                }
                let quiet = now_ns.saturating_sub(flow.stats.last_ns.max(flow.seen_ns));
                let due = if quiet >= t.idle_ns {
                    Some(Due::Idle)
                } else if quiet >= t.linger_ns && flow.tcp_finished() {
                    Some(Due::Ended)
                } else if now_ns.saturating_sub(flow.reported_ns) >= t.active_ns {
                    Some(Due::Active)
                } else {
                    None
                };
                if let Some(due) = due {
                    out.push((flow.key, due));
                }
                // Never at or before now: each flow comes up at most once a call.
                let next = deadline(&t, flow).max(now_ns.saturating_add(1));
                flow.armed = next;
                again.push((next, slot));
            }
        }
        for (at, slot) in again {
            self.deadlines.push(at, slot);
        }
    }

    /// Note that an interim record was written for a flow at `now_ns`.
    pub fn reported(&mut self, key: &FlowKey, now_ns: u64) {
        if let Some(f) = self.get_mut(key) {
            f.reported_ns = now_ns;
        }
    }

    /// Remove a flow, returning it.
    pub fn remove(&mut self, key: &FlowKey) -> Option<Flow<X>> {
        self.flows.remove(key)
    }

    /// Every open flow's place in the table, newest first (by first packet, then by key,
    /// greater first): the order in which the end of the input closes them, popped. Places
    /// stay valid while no flow is added.
    pub fn newest_first(&self) -> Vec<FlowSlot> {
        // Sorted as (start, slot) pairs, the keys looked at only on a tie: moving and comparing
        // whole keys made this sort ~1.5% of a capture's instructions.
        let mut order: Vec<(u64, u32)> = (self.flows.iter_slots())
            .map(|(at, f)| (f.stats.first_ns, at))
            .collect();
        let key = |at: u32| self.flows.at(at).map(|f| f.key);
        order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| key(b.1).cmp(&key(a.1))));
        order.into_iter().map(|(_, at)| FlowSlot(at)).collect()
    }

    /// Remove the flow at a place [`FlowTable::newest_first`] gave, returning it.
    pub fn remove_slot(&mut self, slot: FlowSlot) -> Option<Flow<X>> {
        self.flows.remove_at(slot.0)
    }

    /// Remove every flow (at shutdown), in the order of their places in the table.
    pub fn drain(&mut self) -> impl Iterator<Item = Flow<X>> + '_ {
        self.deadlines.clear();
        self.flows.drain()
    }
}

/// The first time at which [`FlowTable::due`] would find `flow` due: the thresholds of its
/// tests, a zero timeout holding from the start.
fn deadline<X>(t: &Timeouts, flow: &Flow<X>) -> u64 {
    let after = |since: u64, d: u64| if d == 0 { 0 } else { since.saturating_add(d) };
    let last = flow.stats.last_ns.max(flow.seen_ns);
    let mut at = after(last, t.idle_ns).min(after(flow.reported_ns, t.active_ns));
    if flow.tcp_finished() {
        at = at.min(after(last, t.linger_ns));
    }
    at
}

/// Queue `flow` at its deadline if that is earlier than the one it is queued at.
fn arm<X>(deadlines: &mut Deadlines, t: &Timeouts, flow: &mut Flow<X>, slot: u32) {
    let at = deadline(t, flow);
    if at < flow.armed {
        flow.armed = at;
        deadlines.push(at, slot);
    }
}

/// Flows by deadline, in buckets of one second, each in the order queued.
#[derive(Debug, Default)]
struct Deadlines {
    /// Each entry: a deadline and the flow store's slot of the flow queued at it (16 bytes,
    /// where the flow's key made 56).
    buckets: BTreeMap<u64, Vec<(u64, u32)>>,
    /// Entries queued, stale ones included.
    len: usize,
    /// The length the newest bucket reached when the next one was started: a new bucket
    /// starts with that room. A second's bucket can take tens of thousands of entries, and
    /// growing it by doubling copied each entry about twice (~3% of a busy capture's
    /// instructions).
    last_len: usize,
}

impl Deadlines {
    const BUCKET_NS: u64 = 1_000_000_000;

    fn new() -> Deadlines {
        Deadlines::default()
    }

    fn push(&mut self, at: u64, slot: u32) {
        let second = at / Self::BUCKET_NS;
        self.len += 1;
        let newest = match self.buckets.last_entry() {
            // Most pushes go to the newest second (now plus the idle timeout).
            Some(mut e) if *e.key() == second => {
                e.get_mut().push((at, slot));
                return;
            }
            e => e.map(|e| (*e.key(), e.get().len())),
        };
        // A newer second takes the room the newest one needed; an earlier one (a finished
        // connection's linger) starts small.
        let newer = newest.is_none_or(|(k, _)| k < second);
        if let Some((_, len)) = newest.filter(|_| newer) {
            self.last_len = len;
        }
        let room = if newer { self.last_len } else { 0 };
        self.buckets
            .entry(second)
            .or_insert_with(|| Vec::with_capacity(room))
            .push((at, slot));
    }

    /// The first bucket, taken out, if it holds times at or before `now` (it may hold later
    /// ones of the same second too).
    fn pop_until(&mut self, now: u64) -> Option<Vec<(u64, u32)>> {
        let first = self.buckets.first_entry()?;
        let bucket = (*first.key() <= now / Self::BUCKET_NS).then(|| first.remove())?;
        self.len -= bucket.len();
        Some(bucket)
    }

    fn clear(&mut self) {
        self.buckets.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packet_touches_two_cache_lines_of_its_entry() {
        use std::mem::{align_of, offset_of};
        // The engine's: a boxed analysis with a tag beside it.
        type F = Flow<Option<(Box<u8>, u8)>>;
        let stats = offset_of!(F, stats);
        let line = |offset: usize| offset / 64;
        assert_eq!(align_of::<F>(), 64);
        assert_eq!(line(offset_of!(F, key) + size_of::<FlowKey>() - 1), 0);
        assert_eq!(line(offset_of!(F, seen_ns)), 0);
        assert_eq!(line(offset_of!(F, armed)), 0);
        assert_eq!(line(offset_of!(F, ext)), 1);
        assert_eq!(line(stats + offset_of!(Snapshot, last_ns)), 1);
        assert_eq!(line(stats + offset_of!(Snapshot, tcp_flags) + 1), 1);
    }

    /// What `due` must find at `now`: every flow, classified as the timeouts say (the
    /// full scan it replaces).
    fn due_by_scan(t: &FlowTable, now: u64) -> Vec<(FlowKey, Due)> {
        let to = &t.timeouts;
        let mut out: Vec<_> = t
            .values()
            .filter_map(|f| {
                let quiet = now.saturating_sub(f.stats.last_ns.max(f.seen_ns));
                let due = if quiet >= to.idle_ns {
                    Due::Idle
                } else if quiet >= to.linger_ns && f.tcp_finished() {
                    Due::Ended
                } else if now.saturating_sub(f.reported_ns) >= to.active_ns {
                    Due::Active
                } else {
                    return None;
                };
                Some((f.key, due))
            })
            .collect();
        out.sort_by_key(|(k, _)| *k);
        out
    }

    /// Random packets (SYN, FIN, RST, data) on a few hundred keys over ten minutes, with
    /// the owner removing idle and ended flows and noting interim records, as the engine
    /// does. `seen` is given every tick's time and the flows that came due, in the order the
    /// queue gave them. Returns how many came due.
    fn random_traffic(
        t: &mut FlowTable,
        mut seen: impl FnMut(&FlowTable, u64, &[(FlowKey, Due)]),
    ) -> usize {
        let sec = 1_000_000_000u64;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let (mut now, mut last_tick, mut checked) = (0u64, 0u64, 0);
        for _ in 0..200_000 {
            now += rnd(3_000_000);
            let host = rnd(300) as u16;
            let (k, s) = FlowKey::from_packet(
                (
                    std::net::Ipv4Addr::new(10, 0, (host >> 8) as u8, host as u8).into(),
                    40000,
                ),
                ("10.9.9.9".parse().unwrap(), 443),
                if host.is_multiple_of(5) { 17 } else { TCP },
                0,
                0,
            );
            let flags = [SYN, SYN | ACK, ACK, ACK, ACK, FIN | ACK, RST][rnd(7) as usize];
            t.packet(k, s ^ rnd(2) as usize, now, 100, flags);
            if now >= last_tick + sec {
                last_tick = now;
                let mut got = Vec::new();
                t.due(now, &mut got);
                seen(t, now, &got);
                for (k, d) in got {
                    match d {
                        Due::Active => t.reported(&k, now),
                        Due::Idle | Due::Ended => {
                            t.remove(&k);
                        }
                    }
                    checked += 1;
                }
            }
        }
        checked
    }

    fn timeouts() -> Timeouts {
        let sec = 1_000_000_000u64;
        Timeouts {
            idle_ns: 30 * sec,
            active_ns: 45 * sec,
            linger_ns: sec,
        }
    }

    /// At every tick of [`random_traffic`] the queue finds exactly what a scan of every
    /// flow finds.
    #[test]
    fn the_deadline_queue_finds_what_a_full_scan_finds() {
        let mut t: FlowTable = FlowTable::new(timeouts());
        let checked = random_traffic(&mut t, |t, now, got| {
            let mut got = got.to_vec();
            got.sort_by_key(|(k, _)| *k);
            assert_eq!(got, due_by_scan(t, now), "at {now}");
        });
        assert!(checked > 1000, "only {checked} flows came due");
        assert!(t.compactions > 0, "the queue was never rebuilt");
        assert!(t.deadlines.len <= 2 * t.len() + COMPACT_SLACK + 1);
    }

    /// Two tables (each with its own hasher seed, as two runs have) given the same packets
    /// give the flows due in the same order, the queue's rebuilds included: a capture read
    /// twice writes its records in one order.
    #[test]
    fn flows_come_due_in_one_order_whatever_the_hasher() {
        let (mut a, mut b): (FlowTable, FlowTable) =
            (FlowTable::new(timeouts()), FlowTable::new(timeouts()));
        let (mut first, mut second) = (Vec::new(), Vec::new());
        random_traffic(&mut a, |_, now, got| first.push((now, got.to_vec())));
        random_traffic(&mut b, |_, now, got| second.push((now, got.to_vec())));
        assert!(a.compactions > 0, "the queue was never rebuilt");
        assert_eq!(first, second);
    }

    fn key() -> (FlowKey, usize) {
        FlowKey::from_packet(
            ("10.0.0.2".parse().unwrap(), 40000),
            ("10.0.0.1".parse().unwrap(), 80),
            TCP,
            1,
            0,
        )
    }

    #[test]
    fn counts_both_directions_and_finds_the_client() {
        let (k, c) = key();
        let s = c ^ 1;
        let mut t: FlowTable = FlowTable::new(Timeouts::default());
        t.packet(k, c, 10, 60, SYN);
        t.packet(k, s, 11, 60, SYN | ACK);
        t.packet(k, c, 12, 54, ACK);
        let f = t.get(&k).unwrap();
        assert_eq!(f.stats.packets[c], 2);
        assert_eq!(f.stats.bytes[c], 114);
        assert_eq!(f.stats.packets[s], 1);
        assert_eq!(f.stats.initiator, Initiator::Syn(c));
        assert_eq!((f.stats.first_ns, f.stats.last_ns), (10, 12));
    }

    #[test]
    fn syn_ack_alone_names_the_other_side_as_client() {
        let (k, c) = key();
        let mut t: FlowTable = FlowTable::new(Timeouts::default());
        t.packet(k, c ^ 1, 5, 60, SYN | ACK);
        assert_eq!(t.get(&k).unwrap().stats.initiator, Initiator::Syn(c));
    }

    #[test]
    fn ageing_orders_idle_end_and_active() {
        let (k, c) = key();
        let to = Timeouts {
            idle_ns: 100,
            active_ns: 50,
            linger_ns: 10,
        };
        let mut t: FlowTable = FlowTable::new(to);
        t.packet(k, c, 0, 1, SYN);
        let mut out = Vec::new();
        t.due(49, &mut out);
        assert!(out.is_empty());
        t.due(50, &mut out);
        assert_eq!(out, vec![(k, Due::Active)]);
        t.reported(&k, 50);
        out.clear();
        t.due(99, &mut out);
        assert!(out.is_empty());
        t.due(100, &mut out);
        assert_eq!(out, vec![(k, Due::Idle)]);

        // A new connection; FIN from both sides: ended after the linger.
        t.remove(&k);
        t.packet(k, c, 200, 1, FIN | ACK);
        t.packet(k, c ^ 1, 201, 1, FIN | ACK);
        out.clear();
        t.due(210, &mut out);
        assert!(out.is_empty());
        t.due(211, &mut out);
        assert_eq!(out, vec![(k, Due::Ended)]);
    }

    #[test]
    fn a_syn_on_a_finished_connection_starts_a_new_flow() {
        let (k, c) = key();
        let mut t: FlowTable = FlowTable::new(Timeouts::default());
        t.packet(k, c, 0, 10, SYN);
        t.packet(k, c ^ 1, 1, 10, RST | ACK);
        let old = t
            .packet(k, c, 2, 10, SYN)
            .expect("old connection handed back");
        assert_eq!(old.stats.packets, {
            let mut p = [0; 2];
            p[c] = 1;
            p[c ^ 1] = 1;
            p
        });
        let new = t.get(&k).unwrap();
        assert_eq!(new.stats.packets[c], 1);
        assert_eq!(new.stats.first_ns, 2);
    }

    /// A busy flow's `last_ns` is read by the kernel only every 64th packet: a flow that
    /// keeps sending a packet a second keeps the same `last_ns` for a minute. Its growing
    /// counters keep it from idling out.
    #[test]
    fn a_flow_whose_counters_grow_does_not_idle_out() {
        let (k, _) = key();
        let sec = 1_000_000_000u64;
        let snap = |packets| Snapshot {
            first_ns: sec,
            last_ns: 2 * sec,
            packets: [packets, 0],
            bytes: [packets * 100, 0],
            tcp_flags: [0, 0],
            initiator: Initiator::FirstPacket(0),
            sockets: [None; 2],
        };
        let mut t: FlowTable = FlowTable::new(Timeouts::default());
        let idle = |t: &mut FlowTable, now| {
            let mut due = Vec::new();
            t.due(now, &mut due);
            due.iter().any(|(_, d)| *d == Due::Idle)
        };
        for (i, now) in (30..=120).step_by(30).enumerate() {
            t.snapshot(k, snap(100 + i as u64), now * sec);
            assert!(!idle(&mut t, now * sec + sec), "idle at {now} s");
        }
        // Then it stops: idle a minute after the last scan that saw it grow.
        t.snapshot(k, snap(103), 150 * sec);
        assert!(!idle(&mut t, 179 * sec));
        assert!(idle(&mut t, 180 * sec));
    }

    #[test]
    fn a_snapshot_of_a_newer_connection_returns_the_old_flow() {
        let (k, _) = key();
        let snap = |first| Snapshot {
            first_ns: first,
            last_ns: first + 1,
            packets: [1, 1],
            bytes: [10, 10],
            tcp_flags: [0, 0],
            initiator: Initiator::FirstPacket(0),
            sockets: [None; 2],
        };
        let mut t: FlowTable = FlowTable::new(Timeouts::default());
        assert!(t.snapshot(k, snap(1), 2).is_none());
        assert!(t.snapshot(k, snap(1), 3).is_none());
        let old: Flow = t.snapshot(k, snap(5), 6).unwrap();
        assert_eq!(old.stats.first_ns, 1);
        assert_eq!(t.get(&k).unwrap().stats.first_ns, 5);
    }
}
