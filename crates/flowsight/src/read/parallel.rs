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
//! Which engine owns a frame is route.rs's: a fragment of a tunnel's datagram can go to two
//! (one counts it in the tunnel's flow, the other rebuilds the datagram), as in shared_walk.rs
//! and walk_each.rs.

use super::route::{BUCKETS, FragmentRoutes, Owners, Route, route_of};
use super::{Bar, Tally, name_interfaces, warn_partial};
use crate::cli::ReadConfig;
use anyhow::{Context, Result, anyhow};
use flowsight_flow::{Duty, Engine};
use flowsight_pcapfile::CaptureReader;
use flowsight_record::Timestamp;
use flowsight_sink::{JsonLines, Sink};
use flowsight_wire::LinkType;
use std::io::Write;
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
    /// What the engine does with it (a frame two engines share: route.rs).
    duty: Duty,
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
pub(super) fn shares(n: usize) -> Vec<u64> {
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
                Item::Frame(f) => shard.engine.frame_as(
                    f.ts_ns,
                    f.link,
                    &batch.data[f.start..f.end],
                    f.orig_len,
                    f.interface,
                    f.duty,
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
                    let route = route_of(link, p.data, &owners, &mut routes);
                    let tick = own.engine.last_tick();
                    for (w, duty) in route.engines() {
                        if w == 0 {
                            own.engine.frame_as(
                                p.ts_ns,
                                link,
                                p.data,
                                p.orig_len,
                                p.interface,
                                duty,
                            );
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
                                duty,
                            }));
                        }
                    }
                    // A frame engine 0 was not given still moves its clock.
                    if route.duties_of(0).next().is_none() {
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
                    // The batches that may have filled: every one after a tick or a split
                    // frame, else the frame's engine's.
                    let check = match route {
                        Route::One(w) if !ticked => w.max(1) - 1..w,
                        _ => 0..n - 1,
                    };
                    for i in check {
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
}
