//! Which engine a frame goes to when `flowsight read --threads N` spreads the flows of a
//! capture over N engines: by its innermost address pair and protocol, so that both
//! directions of a flow and every fragment of a datagram meet in one engine.
//!
//! One kind of frame belongs to two flows: a fragment of a tunnel's outer datagram counts in
//! the outer (tunnel) flow when it is seen, as the kernel counts it live, and the datagram
//! it helps rebuild carries an inner flow. When the two pairs are two engines', the frame
//! goes to both ([`Route::Split`]), each doing one [`Duty`], so that each flow still lives
//! in one engine and the records are those of one engine for the whole capture.
//!
//! A fragment that comes before its datagram's first fragment (which alone names the inner
//! flow) is counted by the outer pair's engine and kept by every engine ([`Route::Early`]):
//! the one the first fragment goes to rebuilds the datagram, the others' copies time out
//! unfinished (so `fragments_abandoned` in the final stats counts them too).
//!
//! Known differences from one engine: a datagram whose first fragment is too short to hold
//! the inner packet's IP and transport headers is rebuilt by the outer pair's engine, apart
//! from its inner flow's whole packets; anomalies not tied to a flow (`fragment_overlap`...)
//! are capped per engine, so N engines can write up to N times as many of them. No corpus
//! capture shows either (scripts/threads-agree).

use flowsight_flow::Duty;
use flowsight_wire::decode::PairBits;
use flowsight_wire::{IpProtocol, LinkType};
use foldhash::HashMap;
use std::net::IpAddr;

/// Flows are spread over this many hash buckets, and the buckets over the engines.
pub(super) const BUCKETS: u64 = 1024;

/// Where a frame goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// To one engine, which does everything with it.
    One(usize),
    /// A fragment of a tunnel's outer datagram whose two flows are two engines': `count`
    /// counts it in the outer flow ([`Duty::Count`]), `rebuild` rebuilds the datagram and
    /// analyzes the inner flow ([`Duty::Reassemble`]).
    Split { count: usize, rebuild: usize },
    /// A fragment that may be a tunnel's, come before its datagram's first fragment (which
    /// alone names the inner flow): `count` counts it, and each of the `engines` keeps it for
    /// the datagram ([`Duty::Reassemble`]); the engine the first fragment goes to then
    /// rebuilds the datagram, and the others' copies are never completed.
    Early { count: usize, engines: usize },
}

impl Route {
    /// The route of a fragment counted by `count`'s engine and rebuilt by `rebuild`'s.
    fn fragment(count: usize, rebuild: usize) -> Route {
        if count == rebuild {
            Route::One(count)
        } else {
            Route::Split { count, rebuild }
        }
    }

    /// Every engine the frame goes to, with its duty (an engine can have two).
    #[inline]
    pub(super) fn engines(self) -> impl Iterator<Item = (usize, Duty)> {
        let (first, second, all) = match self {
            Route::One(w) => ((w, Duty::Whole), None, 0),
            Route::Split { count, rebuild } => {
                ((count, Duty::Count), Some((rebuild, Duty::Reassemble)), 0)
            }
            Route::Early { count, engines } => ((count, Duty::Count), None, engines),
        };
        std::iter::once(first)
            .chain(second)
            .chain((0..all).map(|w| (w, Duty::Reassemble)))
    }

    /// What engine `me` does with the frame: nothing when it is not its own.
    #[inline]
    pub(super) fn duties_of(self, me: usize) -> impl Iterator<Item = Duty> {
        self.engines()
            .filter(move |&(w, _)| w == me)
            .map(|(_, d)| d)
    }
}

/// The engine owning an address pair and protocol: by the bucket of the unordered pair,
/// mixed with fixed constants. Called for every frame, so a few multiplies rather than a
/// general-purpose hash of two 16-byte arrays (which took 3% of a two-thread run).
fn engine_of(pair: PairBits, owners: &Owners) -> usize {
    let fold = |x: u128| (x as u64) ^ ((x >> 64) as u64);
    let mut h = (fold(pair.lo()) ^ u64::from(pair.protocol())).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ fold(pair.hi()).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    // splitmix64's finalizer: every input bit reaches the low bits the bucket is taken from.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    usize::from(owners.of[(h % BUCKETS) as usize])
}

/// The engine of each bucket, looked up for every frame (a search of the engines' first
/// buckets took ~40 instructions a frame).
pub(super) struct Owners {
    of: Vec<u16>,
    /// How many engines there are.
    engines: usize,
}

impl Owners {
    /// The buckets from `starts[i]` to the next start (or the last bucket) are engine `i`'s.
    pub(super) fn new(starts: &[u64]) -> Owners {
        Owners {
            of: (0..BUCKETS)
                .map(|b| (starts.partition_point(|&s| s <= b) - 1) as u16)
                .collect(),
            engines: starts.len(),
        }
    }
}

/// Where each IP datagram in fragments is rebuilt: the engine its first fragment's inner
/// flow went to. Kept after the datagram's last fragment (fragments come out of order: the
/// last one before a middle one), in two generations: when the newer holds
/// [`MAX_FRAGMENTED`] datagrams it becomes the older and the older is forgotten, so a route
/// lives for at least that many datagrams after it was made, and memory stays bounded. A
/// later fragment of a forgotten datagram goes by its own pair, as one whose first fragment
/// never came.
#[derive(Default)]
pub(super) struct FragmentRoutes {
    newer: HashMap<Datagram, usize>,
    older: HashMap<Datagram, usize>,
}

/// A datagram's addresses, protocol and identification, as reassembly keys it.
type Datagram = (IpAddr, IpAddr, u8, u32);

impl FragmentRoutes {
    fn insert(&mut self, datagram: Datagram, engine: usize) {
        if self.newer.len() >= MAX_FRAGMENTED {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(datagram, engine);
    }

    fn get(&self, datagram: &Datagram) -> Option<usize> {
        self.newer
            .get(datagram)
            .or_else(|| self.older.get(datagram))
            .copied()
    }
}

/// Datagrams in fragments remembered in each generation of [`FragmentRoutes`].
const MAX_FRAGMENTED: usize = 65_536;

/// The route of a frame: by its innermost address pair and protocol
/// ([`flowsight_wire::decode::frame_pair`], read in place where it can be). A tunnel's
/// fragments carry the inner flow's headers only in the first fragment: it and the later
/// fragments of its datagram are rebuilt where the inner flow's whole packets go, and
/// counted where the outer pair's packets go.
#[inline]
pub(super) fn route_of(
    link: LinkType,
    frame: &[u8],
    owners: &Owners,
    routes: &mut FragmentRoutes,
) -> Route {
    // Most frames: a whole packet, no tunnel, read in place.
    match flowsight_wire::decode::whole_packet_bits(link, frame) {
        Some(bits) => Route::One(engine_of(bits, owners)),
        None => route_of_any(link, frame, owners, routes),
    }
}

/// [`route_of`] for the frames it does not read in place (fragments, tunnels, other links):
/// out of line, so that the common path stays small where it is inlined.
#[cold]
#[inline(never)]
fn route_of_any(
    link: LinkType,
    frame: &[u8],
    owners: &Owners,
    routes: &mut FragmentRoutes,
) -> Route {
    use flowsight_wire::decode::{first_fragment_pair, frame_pair};
    let Some(found) = frame_pair(link, frame) else {
        return Route::One(0);
    };
    // A fragment's pair is its outermost header's: that of the flow it counts in.
    let outer = engine_of(found.pair.into(), owners);
    let Some(f) = found.fragment else {
        return Route::One(outer);
    };
    if f.first {
        let inner = first_fragment_pair(link, frame, &f).unwrap_or(found.pair);
        let rebuild = engine_of(inner.into(), owners);
        routes.insert(f.datagram, rebuild);
        return Route::fragment(outer, rebuild);
    }
    if let Some(rebuild) = routes.get(&f.datagram) {
        return Route::fragment(outer, rebuild);
    }
    // Before its datagram's first fragment: which inner flow the datagram carries is not
    // known yet. TCP and ICMP carry no tunnel: such a datagram is rebuilt by the engine of its
    // own pair. Any other may be a tunnel's (UDP: GTP-U, VXLAN...; GRE; IP in IP): every
    // engine keeps the fragment, so that the one the first fragment goes to has it.
    match found.pair.2 {
        IpProtocol::Tcp | IpProtocol::Icmp | IpProtocol::Icmpv6 => Route::One(outer),
        _ => Route::Early {
            count: outer,
            engines: owners.engines,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::parallel::shares;
    use super::*;

    /// A route outlives its datagram's last fragment (a middle one may come after it) by at
    /// least [`MAX_FRAGMENTED`] datagrams, and the memory stays bounded.
    #[test]
    fn fragment_routes_live_a_generation_and_no_longer() {
        let datagram = |i: u32| -> Datagram {
            let a = IpAddr::from([10, 0, 0, 1]);
            (a, a, 17, i)
        };
        let mut r = FragmentRoutes::default();
        r.insert(datagram(0), 3);
        for i in 1..MAX_FRAGMENTED as u32 {
            r.insert(datagram(i), 1);
        }
        assert_eq!(r.get(&datagram(0)), Some(3));
        // The next datagram starts a generation: the first is still there, in the older.
        r.insert(datagram(MAX_FRAGMENTED as u32), 1);
        assert_eq!(r.get(&datagram(0)), Some(3));
        for i in 1..=MAX_FRAGMENTED as u32 {
            r.insert(datagram(MAX_FRAGMENTED as u32 + i), 1);
        }
        assert_eq!(r.get(&datagram(0)), None);
        assert!(r.newer.len() + r.older.len() <= 2 * MAX_FRAGMENTED);
    }

    #[test]
    fn a_split_route_gives_each_engine_one_duty() {
        let duties = |r: Route, me| r.duties_of(me).collect::<Vec<_>>();
        let split = Route::fragment(2, 0);
        assert_eq!(
            split,
            Route::Split {
                count: 2,
                rebuild: 0
            }
        );
        assert_eq!(duties(split, 2), [Duty::Count]);
        assert_eq!(duties(split, 0), [Duty::Reassemble]);
        assert_eq!(duties(split, 1), []);
        assert_eq!(
            split.engines().collect::<Vec<_>>(),
            [(2, Duty::Count), (0, Duty::Reassemble)]
        );
        // Both flows in one engine: no split.
        let one = Route::fragment(1, 1);
        assert_eq!(one, Route::One(1));
        assert_eq!(duties(one, 1), [Duty::Whole]);
        assert_eq!(duties(one, 0), []);
        assert_eq!(one.engines().collect::<Vec<_>>(), [(1, Duty::Whole)]);
        // Before the first fragment: counted by one engine, kept by every one.
        let early = Route::Early {
            count: 1,
            engines: 3,
        };
        assert_eq!(duties(early, 1), [Duty::Count, Duty::Reassemble]);
        assert_eq!(duties(early, 2), [Duty::Reassemble]);
        assert_eq!(early.engines().count(), 4);
    }

    #[test]
    fn pairs_spread_evenly_and_both_directions_meet() {
        use std::net::{Ipv4Addr, Ipv6Addr};
        let starts = shares(4);
        let owners = Owners::new(&starts);
        let mut per_engine = [0u32; 4];
        // A client network talking to a few servers, as in real captures: the spread must
        // not depend on the addresses differing in many bits.
        let mut x = 0x1234_5678u32;
        for i in 0..100_000u32 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let client = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i & 0xffff)));
            let server = IpAddr::V4(Ipv4Addr::from(0xc0a8_0100 | (x % 8)));
            let w = engine_of((client, server, IpProtocol::Tcp).into(), &owners);
            assert_eq!(
                w,
                engine_of((server, client, IpProtocol::Tcp).into(), &owners)
            );
            per_engine[w] += 1;
            let (c6, s6) = (
                IpAddr::V6(Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(i))),
                IpAddr::V6(Ipv6Addr::from(
                    0x2001_0db8_0000_0001_u128 << 64 | u128::from(x % 8),
                )),
            );
            assert_eq!(
                engine_of((c6, s6, IpProtocol::Udp).into(), &owners),
                engine_of((s6, c6, IpProtocol::Udp).into(), &owners)
            );
        }
        for (w, n) in per_engine.iter().enumerate() {
            let width = starts.get(w + 1).copied().unwrap_or(BUCKETS) - starts[w];
            let expected = 100_000.0 * width as f64 / BUCKETS as f64;
            assert!(
                (f64::from(*n) - expected).abs() < expected * 0.05,
                "engine {w}: {n} pairs, expected {expected}: {per_engine:?}"
            );
        }
    }

    #[test]
    fn every_bucket_has_one_engine_in_its_share() {
        let s = shares(3);
        let owners = Owners::new(&s);
        assert_eq!(owners.of.len() as u64, BUCKETS);
        for (bucket, &w) in owners.of.iter().enumerate() {
            let w = usize::from(w);
            assert!(w < 3);
            let end = s.get(w + 1).copied().unwrap_or(BUCKETS);
            assert!(
                (s[w]..end).contains(&(bucket as u64)),
                "{bucket} -> {w}: {s:?}"
            );
        }
    }
}
