//! One record per connection, wherever it was seen.
//!
//! The kernel counts a flow per interface, so a container's connection is counted on its veth,
//! again on the bridge when it enters the host's stack, and again on the uplink, where a NAT
//! (masquerade, SNAT) has given it the host's address; a port forward (DNAT) is seen with the
//! host's address on the uplink and with the container's on the veth. Each of those is a
//! *member* of one connection. Members are grouped by a [`JoinKey`]: the conntrack entry a NAT
//! rewrote (found from either tuple through [`NatTable`]), else the two endpoints without the
//! interface. A finished member waits until the other members still open end too (or a few
//! seconds pass), and the group is written as one record ([`merge`]): the addresses before
//! the translation as `source`/`destination`, the translated ones as `source.nat` /
//! `destination.nat`, owners from whichever member knew them, and each member's own addresses
//! and counts in `observations`.

use flowsight_flow::{FlowKey, FlowTable, community_id, icmp};
use flowsight_host::conntrack::{Connection, Conntrack, Event, NatTable, Tuple, TupleKey};
use flowsight_record::{
    EndReason, Endpoint, FlowRecord, Nat, Observation, ObservedEnd, Owner, Timestamp,
};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// How long a finished member waits for the other members of its connection (still open in
/// the table) before the group is written without them.
const WAIT_NS: u64 = 5_000_000_000;
/// Members of one connection start within this of each other (the first packet crosses every
/// interface within microseconds), or were open at the same time (see [`same_connection`]); a
/// flow on the same endpoints that started further apart after the other ended is another
/// connection that reused the ports.
const SAME_START_NS: u64 = 1_000_000_000;
/// NAT connections kept at most (a busy NAT gateway's table is smaller).
const NAT_CAPACITY: usize = 1 << 18;

/// What the members of one connection share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinKey {
    /// A conntrack entry a NAT rewrote: its original tuple and the kernel's id.
    Nat(TupleKey, u32),
    /// The two endpoints, whatever the interface.
    Tuple(TupleKey),
}

/// The open flows of one connection. Almost every connection is seen in one place, so one
/// key is kept inline: indexing the table costs no allocation per flow and scan.
#[derive(Debug)]
enum Members {
    One(FlowKey),
    Many(Vec<FlowKey>),
}

impl Members {
    fn push(&mut self, key: FlowKey) {
        match self {
            Members::One(first) => *self = Members::Many(vec![*first, key]),
            Members::Many(keys) => keys.push(key),
        }
    }

    fn keys(&self) -> &[FlowKey] {
        match self {
            Members::One(k) => std::slice::from_ref(k),
            Members::Many(keys) => keys,
        }
    }
}

/// Finished members waiting for the rest of their connection.
struct Pending {
    members: Vec<FlowRecord>,
    deadline_ns: u64,
}

/// The grouping state of the live pipeline.
pub struct Joiner {
    conntrack: Option<Conntrack>,
    nat: NatTable,
    /// Open flows of the table by join key, as of the last [`Joiner::index`].
    open: HashMap<JoinKey, Members>,
    pending: HashMap<JoinKey, Pending>,
    /// Connections whose interim record this scan already wrote.
    interim_written: HashSet<JoinKey>,
    /// At shutdown: every member waits, and [`Joiner::flush_all`] writes the groups.
    hold_all: bool,
}

fn key_of(flow: &FlowKey) -> TupleKey {
    TupleKey::new(flow.protocol, flow.endpoint(0), flow.endpoint(1))
}

/// Whether two members with the same join key, open from `a.0` to `a.1` and from `b.0` to
/// `b.1` (one clock), are one connection: they started within [`SAME_START_NS`], or were open
/// at the same time. A first packet held on one side for longer (a neighbour resolution that
/// needed its retry, a SYN sent again after a drop between the two places) still crosses both
/// with the rest of the connection; a later connection on the same ports starts after the
/// earlier one ended.
fn same_connection(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0.abs_diff(b.0) < SAME_START_NS || (a.0 <= b.1 && b.0 <= a.1)
}

/// A record's first and last packet, on the wall clock.
fn span_of(r: &FlowRecord) -> (u64, u64) {
    (r.event.start.as_nanos(), r.event.end.as_nanos())
}

fn is_icmp(protocol: u8) -> bool {
    matches!(protocol, 1 | 58)
}

/// A conntrack tuple with the ports a flow key has. conntrack keeps an ICMP message's type,
/// code and identifier; a flow key has the Community ID ports (the type, and the reply's type
/// for request/reply messages, else the code) and no identifier. So an echo request and its
/// reply, both sides of a masquerade, find the entry.
fn as_flow(t: Tuple) -> Tuple {
    if !is_icmp(t.protocol) {
        return t;
    }
    let (kind, code) = (t.src.1 as u8, t.dst.1 as u8);
    let (sport, dport, _) = icmp::icmp_ports(kind, code, t.protocol == 58);
    Tuple {
        src: (t.src.0, sport),
        dst: (t.dst.0, dport),
        ..t
    }
}

/// A conntrack entry with the ports flow keys have (see [`as_flow`]).
fn flow_view(c: Connection) -> Connection {
    Connection {
        orig: as_flow(c.orig),
        reply: as_flow(c.reply),
        ..c
    }
}

/// A conntrack event with the ports flow keys have.
fn event_view(e: Event) -> Event {
    match e {
        Event::New(c) => Event::New(flow_view(c)),
        Event::Destroy(c) => Event::Destroy(flow_view(c)),
    }
}

/// Load a conntrack dump into `nat`, with the ports flow keys have.
fn reload(nat: &mut NatTable, all: Vec<Connection>, now_ns: u64) {
    nat.reload(all.into_iter().map(flow_view).collect(), now_ns);
}

impl Joiner {
    /// A joiner reading NAT translations from `conntrack` (None: no NAT joins, flows still
    /// join across interfaces), keeping destroyed translations for `grace_ns`.
    pub fn new(conntrack: Option<Conntrack>, grace_ns: u64) -> Joiner {
        let mut nat = NatTable::new(NAT_CAPACITY, grace_ns);
        if conntrack.is_some() {
            match Conntrack::dump() {
                Ok(all) => reload(&mut nat, all, 0),
                Err(e) => log::warn!("conntrack dump failed, NAT joins start empty: {e}"),
            }
        }
        Joiner {
            conntrack,
            nat,
            open: HashMap::new(),
            pending: HashMap::new(),
            interim_written: HashSet::new(),
            hold_all: false,
        }
    }

    /// Apply waiting conntrack events (and dump again when some were lost).
    pub fn poll_conntrack(&mut self, now_ns: u64) {
        let Some(ct) = &mut self.conntrack else {
            return;
        };
        let nat = &mut self.nat;
        if let Err(e) = ct.poll(|e| nat.apply(event_view(e), now_ns)) {
            log::warn!("conntrack events: {e}");
        }
        if ct.take_overflowed() {
            log::debug!("conntrack events were lost: dumping again");
            match Conntrack::dump() {
                Ok(all) => reload(nat, all, now_ns),
                Err(e) => log::warn!("conntrack dump: {e}"),
            }
        }
        nat.expire(now_ns);
    }

    /// The conntrack entry of a flow, when a NAT rewrote it.
    fn nat_of(&self, key: &FlowKey) -> Option<&Arc<Connection>> {
        self.nat
            .find(key.protocol, key.endpoint(0), key.endpoint(1))
    }

    /// The join key of a flow.
    pub fn join_key(&self, key: &FlowKey) -> JoinKey {
        match self.nat_of(key) {
            Some(c) => JoinKey::Nat(c.orig.key(), c.id),
            None => JoinKey::Tuple(key_of(key)),
        }
    }

    /// Index the open flows (once per scan, after the snapshots), and start a new scan.
    pub fn index(&mut self, table: &FlowTable) {
        self.open.clear();
        self.interim_written.clear();
        for f in table.values() {
            let k = self.join_key(&f.key);
            match self.open.entry(k) {
                std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().push(f.key),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(Members::One(f.key));
                }
            }
        }
    }

    /// The other members of `key`'s connection (open from `span.0` to `span.1`, on the table's
    /// clock) still open in `table`.
    fn others_open(
        &self,
        join: &JoinKey,
        key: &FlowKey,
        span: (u64, u64),
        table: &FlowTable,
    ) -> Vec<FlowKey> {
        self.open
            .get(join)
            .map(|members| {
                members
                    .keys()
                    .iter()
                    .filter(|k| {
                        *k != key
                            && table.get(k).is_some_and(|f| {
                                let first = f.stats.first_ns;
                                same_connection(span, (first, f.stats.last_ns.max(first)))
                            })
                    })
                    .copied()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// An interim record is due for `key`: None when this scan already wrote its connection's,
    /// else the other open members whose current records join it.
    pub fn interim(
        &mut self,
        key: &FlowKey,
        first_ns: u64,
        table: &FlowTable,
    ) -> Option<Vec<FlowKey>> {
        let join = self.join_key(key);
        if !self.interim_written.insert(join) {
            return None;
        }
        let last_ns = table
            .get(key)
            .map_or(first_ns, |f| f.stats.last_ns.max(first_ns));
        Some(self.others_open(&join, key, (first_ns, last_ns), table))
    }

    /// A member's final record: the records ready to write (none while other members of its
    /// connection are still open).
    pub fn finished(
        &mut self,
        record: FlowRecord,
        key: &FlowKey,
        first_ns: u64,
        table: &FlowTable,
        now_ns: u64,
    ) -> Vec<FlowRecord> {
        let join = self.join_key(key);
        let mut out = Vec::new();
        // Members waiting from an earlier connection on the same endpoints go first, alone.
        if let Some(p) = self.pending.get(&join)
            && p.members
                .iter()
                .all(|m| !same_connection(span_of(m), span_of(&record)))
        {
            let p = self.pending.remove(&join).expect("just found");
            out.push(self.merge_group(p.members, &join));
        }
        // The record's last packet on the table's clock: its start is `first_ns`.
        let span = (first_ns, first_ns.saturating_add(record.event.duration));
        let waiting = self.hold_all || !self.others_open(&join, key, span, table).is_empty();
        if !waiting && !self.pending.contains_key(&join) {
            out.push(self.merge_group(vec![record], &join));
            return out;
        }
        let p = self.pending.entry(join).or_insert_with(|| Pending {
            members: Vec::new(),
            deadline_ns: now_ns + WAIT_NS,
        });
        p.members.push(record);
        if waiting {
            return out;
        }
        let p = self.pending.remove(&join).expect("just inserted");
        out.push(self.merge_group(p.members, &join));
        out
    }

    /// Groups whose wait is over (or every group, with `all`).
    fn flush(&mut self, now_ns: u64, all: bool) -> Vec<FlowRecord> {
        let due: Vec<JoinKey> = self
            .pending
            .iter()
            .filter(|(_, p)| all || p.deadline_ns <= now_ns)
            .map(|(k, _)| *k)
            .collect();
        due.into_iter()
            .filter_map(|k| {
                let p = self.pending.remove(&k)?;
                Some(self.merge_group(p.members, &k))
            })
            .collect()
    }

    /// Groups that waited long enough for their missing members.
    pub fn flush_expired(&mut self, now_ns: u64) -> Vec<FlowRecord> {
        self.flush(now_ns, false)
    }

    /// Shutdown: hold every member from now on; [`Joiner::flush_all`] writes them.
    pub fn hold_all(&mut self) {
        self.hold_all = true;
    }

    /// Every waiting group.
    pub fn flush_all(&mut self) -> Vec<FlowRecord> {
        self.flush(0, true)
    }

    /// One record of a group's members.
    pub fn merge_group(&self, members: Vec<FlowRecord>, join: &JoinKey) -> FlowRecord {
        let nat = match join {
            JoinKey::Nat(k, _) => self.nat.find(k.protocol, k.a, k.b).map(Arc::as_ref),
            JoinKey::Tuple(_) => None,
        };
        merge(members, nat)
    }
}

fn owners(r: &FlowRecord) -> usize {
    usize::from(r.source.owner.is_some()) + usize::from(r.destination.owner.is_some())
}

fn at(e: &Endpoint) -> (IpAddr, u16) {
    (e.ip, e.port)
}

fn observed(e: &Endpoint) -> ObservedEnd {
    ObservedEnd {
        ip: e.ip,
        port: e.port,
        bytes: e.bytes,
        packets: e.packets,
    }
}

/// One record of the members of one connection (see the module docs); `nat` is its conntrack
/// entry when a NAT rewrote it. The first member with the most owners is the primary: its
/// interface and counts are the record's.
pub fn merge(mut members: Vec<FlowRecord>, nat: Option<&Connection>) -> FlowRecord {
    if members.len() == 1 && nat.is_none() {
        return members.pop().expect("one member");
    }
    // The primary: the most owners; then a member inside the NAT (one that does not carry the
    // host's side of the translation: the masquerade address, the address a port forward was
    // asked at), where the owner is; then the lowest interface index, so the choice does not
    // depend on the order members ended in.
    let outer = |m: &FlowRecord| {
        nat.is_some_and(|c| {
            let has = |a: (IpAddr, u16)| at(&m.source) == a || at(&m.destination) == a;
            (c.snat().is_some() && has(c.reply.dst)) || (c.dnat().is_some() && has(c.orig.dst))
        })
    };
    let primary = (0..members.len())
        .max_by_key(|&i| {
            let m = &members[i];
            let ifindex = m.interface.as_ref().map_or(0, |i| i.id);
            (owners(m), !outer(m), std::cmp::Reverse(ifindex))
        })
        .expect("a member");
    // Which addresses are the initiator's: from conntrack (both sides of the NAT), else the
    // primary's source.
    let client: Vec<(IpAddr, u16)> = match nat {
        Some(c) => vec![c.orig.src, c.reply.dst],
        None => vec![at(&members[primary].source)],
    };
    for m in &mut members {
        if !client.contains(&at(&m.source)) && client.contains(&at(&m.destination)) {
            std::mem::swap(&mut m.source, &mut m.destination);
        }
    }
    let mut merged = members[primary].clone();
    let take =
        |f: fn(&FlowRecord) -> &Option<Box<Owner>>| members.iter().find_map(|m| f(m).clone());
    if merged.source.owner.is_none() {
        merged.source.owner = take(|m| &m.source.owner);
    }
    if merged.destination.owner.is_none() {
        merged.destination.owner = take(|m| &m.destination.owner);
    }
    if let Some(c) = nat {
        (merged.source.ip, merged.source.port) = c.orig.src;
        (merged.destination.ip, merged.destination.port) = c.orig.dst;
        merged.source.nat = c.snat().map(|(ip, port)| Nat { ip, port });
        merged.destination.nat = c.dnat().map(|(ip, port)| Nat { ip, port });
        let (src, dst) = (at(&merged.source), at(&merged.destination));
        let one_way =
            is_icmp(c.orig.protocol) && icmp::is_one_way(src.1, dst.1, c.orig.protocol == 58);
        merged.network.community_id = community_id(src, dst, c.orig.protocol, one_way);
    }
    let start = members
        .iter()
        .map(|m| m.event.start)
        .min()
        .expect("a member");
    let end = members.iter().map(|m| m.event.end).max().expect("a member");
    merged.event.start = start;
    merged.event.end = end;
    merged.event.duration = end.nanos_since(start);
    merged.timestamp = members
        .iter()
        .map(|m| m.timestamp)
        .max()
        .unwrap_or(Timestamp(0));
    if members.len() > 1 {
        let order = std::iter::once(primary).chain((0..members.len()).filter(|&i| i != primary));
        merged.observations = order
            .map(|i| {
                let m = &members[i];
                Observation {
                    interface: m.interface.clone(),
                    source: observed(&m.source),
                    destination: observed(&m.destination),
                }
            })
            .collect();
    }
    if members.iter().any(|m| m.event.reason == EndReason::End) {
        merged.event.reason = EndReason::End;
    }
    merged
}

#[cfg(test)]
mod tests;

/// The live joiner: conntrack of the namespace this thread captures in (NAT joins are off,
/// with a warning, when ctnetlink cannot be read), destroyed translations kept for twice the
/// idle timeout so that flows written after conntrack forgot them still join.
pub fn joiner(idle_ns: u64) -> Joiner {
    let conntrack = Conntrack::open()
        .inspect_err(|e| log::warn!("NAT joins are off: {e}"))
        .ok();
    Joiner::new(conntrack, idle_ns.saturating_mul(2))
}
