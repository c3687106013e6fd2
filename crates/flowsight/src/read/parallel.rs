//! `flowsight read --threads N` on a stream (stdin, a gzip file, `--no-mmap`): flows split
//! between N engines, each on a thread of its own. (A mapped file is walked by the threads
//! instead: shared_walk.rs for classic pcap, walk_each.rs for pcapng.)
//!
//! The reading thread reads the capture once and hands each frame, copied into a batch, to
//! the engine that owns its innermost address pair (both directions and every fragment of a
//! datagram hash the same), so each flow lives in exactly one engine. It runs engine 0
//! itself.
//!
//! Reading the stream is a fair part of the work (on the 2-core VM here, about a quarter of
//! the engine's: the first touch of every record is a cache miss), so engine 0 is given a
//! smaller share of the flows and the threads finish together ([`shares`]). Engine 0 also
//! sees every timestamp: when it ages its flows, so does every other engine, at the same
//! instant, and interim and idle records carry the times they carry with one thread.
//!
//! Workers serialize their own records and write them out a megabyte at a time, taking
//! turns at the output. Records of different flows therefore interleave in another order
//! than with one thread; each flow's own records keep theirs.
//!
//! One known difference from one engine: the fragments of a tunnel's datagrams go where the
//! inner flow their first fragment names goes (the engine reassembles them there), and they
//! also count in the outer (tunnel) flow, as the kernel counts them live, while a tunnel
//! packet whose payload is no IP packet goes by the outer pair; when those pairs hash to
//! different engines, that outer flow's record comes out in parts, one per engine. On the
//! 1,232 corpus captures one shows it with the splits CI runs; all others give the same
//! records (scripts/threads-agree, run by CI, lists it). The same holds for shared_walk.rs and
//! walk_each.rs.

use super::{Bar, Tally, name_interfaces, warn_partial};
use crate::cli::ReadConfig;
use anyhow::{Context, Result, anyhow};
use flowsight_flow::Engine;
use flowsight_pcapfile::CaptureReader;
use flowsight_record::Timestamp;
use flowsight_sink::{JsonLines, Sink};
use flowsight_wire::LinkType;
use flowsight_wire::decode::PairBits;
use foldhash::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Items per batch handed to a worker: enough that the hand-over costs little per frame,
/// few enough that the copies are still in the shared cache when the worker reads them.
const BATCH: usize = 512;

/// Copied frame bytes after which a batch goes out whatever its length, and
/// the most a recycled batch keeps: large frames (64 KiB ones from a GRO host capture) must
/// not make the batches in flight hold gigabytes.
const BATCH_BYTES: usize = 1 << 20;

/// Batches waiting for each worker before the reading thread waits.
const QUEUE: usize = 32;

/// Serialized bytes a worker gathers before it writes them out: large, so that the workers
/// seldom wait for each other at the output.
const OUT_CHUNK: usize = 1 << 20;

/// The reading thread's walk of the capture, as a part of one engine's work on the same
/// frames (measured on the 1.5M-packet synthetic capture: ~0.25).
const WALK_COST: f64 = 0.25;

/// Flows are spread over this many hash buckets, and the buckets over the engines.
pub(super) const BUCKETS: u64 = 1024;

/// The output every worker writes its chunks to, one whole chunk at a time.
pub(super) type Out = Mutex<Box<dyn Write + Send>>;

pub(super) fn open_out(output: &crate::cli::Output) -> Result<Out> {
    let w: Box<dyn Write + Send> = match output {
        crate::cli::Output::Stdout => Box::new(std::io::stdout()),
        crate::cli::Output::File(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)
        }
    };
    Ok(Mutex::new(w))
}

/// One frame: where its bytes are in the batch's copy and what the reader said about it.
struct FrameMeta {
    ts_ns: u64,
    link: LinkType,
    orig_len: u32,
    interface: u32,
    start: usize,
    end: usize,
}

/// What a worker is handed, in capture order.
enum Item {
    /// A frame of its own.
    Frame(FrameMeta),
    /// The capture's clock reached this time and engine 0 aged its flows: so does the
    /// worker's, at the same instant as one engine for the whole capture.
    Tick(u64),
}

#[derive(Default)]
struct Batch {
    /// Copies of the frames' bytes.
    data: Vec<u8>,
    items: Vec<Item>,
    /// Set in the last batch: when the whole input ended.
    end_ns: Option<u64>,
}

/// The first bucket of each engine's range, engine 0 first: engine 0 walks the capture
/// besides, so it takes fewer flows. With `n` engines and a walk costing `w` of the engine
/// work, the others take `(1 + w) / n` each and engine 0 what is left; from `n >= 1 + 1/w`
/// on, that is nothing, and engine 0 only walks.
fn shares(n: usize) -> Vec<u64> {
    let others = (1.0 + WALK_COST) / n as f64;
    let m = n as u64 - 1;
    let mut starts = vec![0];
    if others * m as f64 >= 1.0 {
        // Engine 0 only walks; the others split the buckets.
        starts.extend((0..m).map(|i| i * BUCKETS / m));
    } else {
        let each = (others * BUCKETS as f64).round() as u64;
        let first = BUCKETS - each * m;
        starts.extend((0..m).map(|i| first + i * each));
    }
    starts
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
    usize::from(owners.0[(h % BUCKETS) as usize])
}

/// The engine of each bucket, looked up for every frame (a search of the engines' first
/// buckets took ~40 instructions a frame).
pub(super) struct Owners(Vec<u16>);

impl Owners {
    /// The buckets from `starts[i]` to the next start (or the last bucket) are engine `i`'s.
    pub(super) fn new(starts: &[u64]) -> Owners {
        Owners(
            (0..BUCKETS)
                .map(|b| (starts.partition_point(|&s| s <= b) - 1) as u16)
                .collect(),
        )
    }
}

/// Where each IPv4 datagram in fragments goes: the engine its first fragment went to.
/// Bounded: when full it starts again (a later fragment of a forgotten datagram then goes by
/// its own pair, as one whose first fragment never came).
#[derive(Default)]
pub(super) struct FragmentRoutes(HashMap<(IpAddr, IpAddr, u8, u32), usize>);

/// Datagrams in fragments remembered at once.
const MAX_FRAGMENTED: usize = 65_536;

/// The engine owning a frame: by its innermost address pair and protocol
/// ([`flowsight_wire::decode::frame_pair`], read in place where it can be). A tunnel's
/// fragments carry the inner flow's headers only in the first fragment: it and the later
/// fragments of its datagram go where the inner flow's whole packets go (the engine
/// reassembles them and finds that flow), not by the outer pair.
#[inline]
pub(super) fn shard_of(
    link: LinkType,
    frame: &[u8],
    owners: &Owners,
    routes: &mut FragmentRoutes,
) -> usize {
    // Most frames: a whole packet, no tunnel, read in place.
    match flowsight_wire::decode::whole_packet_bits(link, frame) {
        Some(bits) => engine_of(bits, owners),
        None => shard_of_any(link, frame, owners, routes),
    }
}

/// [`shard_of`] for the frames it does not read in place (fragments, tunnels, other links):
/// out of line, so that the common path stays small where it is inlined.
#[cold]
#[inline(never)]
fn shard_of_any(
    link: LinkType,
    frame: &[u8],
    owners: &Owners,
    routes: &mut FragmentRoutes,
) -> usize {
    use flowsight_wire::decode::{first_fragment_pair, frame_pair};
    let Some(found) = frame_pair(link, frame) else {
        return 0;
    };
    let Some(f) = found.fragment else {
        return engine_of(found.pair.into(), owners);
    };
    if f.first {
        let inner = first_fragment_pair(link, frame, &f).unwrap_or(found.pair);
        let w = engine_of(inner.into(), owners);
        if routes.0.len() >= MAX_FRAGMENTED {
            routes.0.clear();
        }
        routes.0.insert(f.datagram, w);
        return w;
    }
    let routed = if f.last {
        routes.0.remove(&f.datagram)
    } else {
        routes.0.get(&f.datagram).copied()
    };
    routed.unwrap_or_else(|| engine_of(found.pair.into(), owners))
}

/// One engine and the records it has serialized but not yet written out.
pub(super) struct Shard {
    pub(super) engine: Engine,
    sink: JsonLines<Vec<u8>>,
    tally: Tally,
}

impl Shard {
    pub(super) fn new(engine: Engine) -> Shard {
        Shard {
            engine,
            sink: JsonLines::gathering(OUT_CHUNK + (1 << 16)),
            tally: Tally::default(),
        }
    }

    pub(super) fn write_out(&mut self) -> Result<()> {
        if !self.engine.has_records() {
            return Ok(());
        }
        for r in self.engine.drain() {
            self.tally.wrote(&r);
            self.sink.write(&r)?;
        }
        Ok(())
    }

    /// Write the serialized records out once a chunk's worth has gathered (`all`: whatever
    /// has).
    pub(super) fn flush(&mut self, out: &Out, all: bool) -> Result<()> {
        let n = self.sink.pending();
        if n == 0 || (n < OUT_CHUNK && !all) {
            return Ok(());
        }
        let mut w = out
            .lock()
            .map_err(|_| anyhow!("another thread failed writing"))?;
        self.sink.write_pending(&mut *w).context("writing records")
    }

    /// Close every open flow; the counts of this shard.
    pub(super) fn finish(mut self, out: &Out) -> Result<Tally> {
        while self.engine.finish_step() {
            self.write_out()?;
            self.flush(out, false)?;
        }
        self.write_out()?;
        self.flush(out, true)?;
        self.tally.engine = self.engine.stats();
        Ok(self.tally)
    }
}

/// A worker: its frames in capture order, through its engine, records out. Emptied
/// batches go back to the reading thread, memory and all.
fn worker(
    engine: Engine,
    rx: Receiver<Batch>,
    out: &Out,
    recycle: SyncSender<Batch>,
) -> Result<Tally> {
    let mut shard = Shard::new(engine);
    for mut batch in rx {
        for item in &batch.items {
            match item {
                Item::Frame(f) => shard.engine.frame(
                    f.ts_ns,
                    f.link,
                    &batch.data[f.start..f.end],
                    f.orig_len,
                    f.interface,
                ),
                Item::Tick(ts) => shard.engine.advance(*ts),
            }
            shard.write_out()?;
        }
        if let Some(end) = batch.end_ns {
            shard.engine.end_of_input(end);
        }
        shard.flush(out, false)?;
        batch.data.clear();
        batch.data.shrink_to(BATCH_BYTES);
        batch.items.clear();
        let _ = recycle.try_send(batch);
    }
    shard.finish(out)
}

/// The final stats record goes out after every worker's records.
pub(super) fn end_output(out: Out, stats: &flowsight_record::Record, bar: &Bar) -> Result<()> {
    let mut last = JsonLines::new(Vec::new());
    last.write(stats)?;
    let mut w = out
        .into_inner()
        .map_err(|_| anyhow!("a thread failed writing"))?;
    last.write_pending(&mut *w).context("writing records")?;
    w.flush().context("writing records")?;
    bar.finish();
    Ok(())
}

/// Run `flowsight read` on `cfg.threads` engines.
pub fn run(
    cfg: &ReadConfig,
    mut reader: CaptureReader,
    sink: Box<dyn Sink + Send>,
    bar: Bar,
    started: Timestamp,
) -> Result<()> {
    drop(sink); // the workers write serialized bytes to the output themselves
    let n = cfg.threads;
    let owners = Owners::new(&shares(n));
    let out = open_out(&cfg.output)?;
    let mut packets = 0u64;
    let mut failed = None;
    let tally = std::thread::scope(|scope| -> Result<Tally> {
        let out = &out;
        let mut own = Shard::new(Engine::new(cfg.engine.clone()));
        name_interfaces(&mut own.engine, &reader);
        let (recycle_tx, recycle_rx) = sync_channel::<Batch>(n * (QUEUE + 2));
        let mut txs = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for _ in 1..n {
            let (tx, rx) = sync_channel::<Batch>(QUEUE);
            let mut engine = Engine::new(cfg.engine.clone());
            name_interfaces(&mut engine, &reader);
            let recycle = recycle_tx.clone();
            handles.push(scope.spawn(move || worker(engine, rx, out, recycle)));
            txs.push(tx);
        }
        drop(recycle_tx);
        let fresh = || recycle_rx.try_recv().unwrap_or_default();
        let mut batches: Vec<Batch> = (1..n).map(|_| fresh()).collect();
        let mut last_ns = 0u64;
        let mut routes = FragmentRoutes::default();
        loop {
            match reader.next_packet() {
                None => break,
                Some(Ok(p)) => {
                    packets += 1;
                    last_ns = last_ns.max(p.ts_ns);
                    let link = p.link.to_wire();
                    let w = shard_of(link, p.data, &owners, &mut routes);
                    let tick = own.engine.last_tick();
                    if w == 0 {
                        own.engine
                            .frame(p.ts_ns, link, p.data, p.orig_len, p.interface);
                    } else {
                        let b = &mut batches[w - 1];
                        let start = b.data.len();
                        b.data.extend_from_slice(p.data);
                        b.items.push(Item::Frame(FrameMeta {
                            ts_ns: p.ts_ns,
                            link,
                            orig_len: p.orig_len,
                            interface: p.interface,
                            start,
                            end: b.data.len(),
                        }));
                        own.engine.advance(p.ts_ns);
                    }
                    own.write_out()?;
                    own.flush(out, false)?;
                    // Engine 0 sees every timestamp, so it ages when one engine for the
                    // whole capture would; the others age at the same instants.
                    let ticked = own.engine.last_tick() != tick;
                    if ticked {
                        let now = own.engine.last_tick();
                        for b in &mut batches {
                            b.items.push(Item::Tick(now));
                        }
                    }
                    for i in if ticked { 0..n - 1 } else { w.max(1) - 1..w } {
                        let b = &mut batches[i];
                        if (b.items.len() >= BATCH || b.data.len() >= BATCH_BYTES)
                            && txs[i].send(std::mem::replace(b, fresh())).is_err()
                        {
                            failed = Some(anyhow!("analysis thread {} stopped", i + 1));
                        }
                    }
                    if failed.is_some() {
                        break;
                    }
                    if packets.is_multiple_of(8192) {
                        bar.set(reader.progress().bytes_read());
                    }
                }
                Some(Err(e)) => {
                    warn_partial(&cfg.file, &e, packets);
                    break;
                }
            }
        }
        for (tx, mut b) in txs.iter().zip(batches) {
            b.end_ns = Some(last_ns);
            let _ = tx.send(b);
        }
        drop(txs);
        own.engine.end_of_input(last_ns);
        // Engine 0 closes its flows while the others close theirs.
        let own = own.finish(out);
        // Every thread is joined before any error is returned: a second failure must not
        // turn into a panic of the scope.
        let joined: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        let mut tally = own?;
        for r in joined {
            tally.merge(r.map_err(|_| anyhow!("an analysis thread panicked"))??);
        }
        Ok(tally)
    })?;
    end_output(out, &tally.final_record(started, packets), &bar)?;
    failed.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowsight_wire::IpProtocol;

    #[test]
    fn shares_cover_every_bucket_and_give_engine_0_less() {
        for n in 2..=256 {
            let s = shares(n);
            assert_eq!(s.len(), n);
            assert_eq!(s[0], 0);
            assert!(s.windows(2).all(|w| w[0] <= w[1]), "{n}: {s:?}");
            assert!(*s.last().unwrap() < BUCKETS, "{n}: {s:?}");
            let first = s.get(1).copied().unwrap_or(BUCKETS);
            let other = s.get(2).map_or(BUCKETS - s[1], |x| x - s[1]);
            assert!(
                first <= other,
                "{n}: engine 0 has {first}, the others {other}"
            );
        }
        // Two engines: engine 0 takes 3/8 of the flows, the other 5/8.
        assert_eq!(shares(2), vec![0, 384]);
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
        assert_eq!(owners.0.len() as u64, BUCKETS);
        for (bucket, &w) in owners.0.iter().enumerate() {
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
