//! `flowsight read --threads N`: flows split between N engines.
//!
//! The reading thread decodes each frame once more to find its IP addresses and sends it to
//! the worker that owns its address pair (both directions and every fragment of a datagram
//! hash the same), so each flow lives in exactly one engine. Workers serialize their own
//! records and write them out a megabyte at a time, taking turns at the output. Records of
//! different flows therefore interleave in another order than with one thread; each flow's
//! own records keep theirs.

use super::{Bar, Tally, name_interfaces, warn_partial};
use crate::cli::ReadConfig;
use anyhow::{Context, Result, anyhow};
use flowsight_flow::Engine;
use flowsight_pcapfile::CaptureReader;
use flowsight_record::Timestamp;
use flowsight_sink::{JsonLines, Sink};
use flowsight_wire::LinkType;
use std::hash::BuildHasher;
use std::io::Write;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, sync_channel};

/// Frames per batch handed to a worker.
const BATCH: usize = 512;

/// Serialized bytes a worker gathers before it writes them out: large, so that the workers
/// seldom wait for each other at the output.
const OUT_CHUNK: usize = 1 << 20;

/// The output every worker writes its chunks to, one whole chunk at a time.
type Out = Mutex<Box<dyn Write + Send>>;

fn open_out(output: &crate::cli::Output) -> Result<Out> {
    let w: Box<dyn Write + Send> = match output {
        crate::cli::Output::Stdout => Box::new(std::io::stdout()),
        crate::cli::Output::File(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)
        }
    };
    Ok(Mutex::new(w))
}

/// One frame, copied out of the reader's buffer into a batch.
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
    /// The whole capture's clock reached this time and the reading thread's engine aged its
    /// flows: so does the worker's, at the same instant as with one thread.
    Tick(u64),
}

#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    frames: Vec<Item>,
    /// Set in the last batch: when the whole input ended.
    end_ns: Option<u64>,
}

/// The worker owning a frame: by its unordered innermost address pair and protocol. Every
/// thread asks this of every frame, so the pair is read in place where it can be
/// ([`flowsight_wire::decode::innermost_pair`]) and hashed with a fixed-seed fast hash
/// (the same seed in every thread: they must agree).
fn shard_of(link: LinkType, frame: &[u8], workers: usize) -> usize {
    let Some((src, dst, protocol)) = flowsight_wire::decode::innermost_pair(link, frame) else {
        return 0;
    };
    let bytes = |x: IpAddr| match x {
        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
        IpAddr::V6(v) => v.octets(),
    };
    let (a, b) = (bytes(src), bytes(dst));
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    let h = foldhash::fast::FixedState::with_seed(0x666c_6f77_7369_6768).hash_one((
        a,
        b,
        u8::from(protocol),
    ));
    (h % workers as u64) as usize
}

/// One engine and the records it has serialized but not yet handed to the writer.
struct Shard {
    engine: Engine,
    sink: JsonLines<Vec<u8>>,
    tally: Tally,
}

impl Shard {
    fn new(engine: Engine) -> Shard {
        Shard {
            engine,
            sink: JsonLines::new(Vec::with_capacity(1 << 16)),
            tally: Tally::default(),
        }
    }

    fn frame(&mut self, f: &FrameMeta, data: &[u8]) -> Result<()> {
        self.engine
            .frame(f.ts_ns, f.link, data, f.orig_len, f.interface);
        self.write_out()
    }

    fn write_out(&mut self) -> Result<()> {
        for r in self.engine.drain() {
            self.tally.wrote(&r);
            self.sink.write(&r)?;
        }
        Ok(())
    }

    /// Write the serialized records out once a chunk's worth has gathered (`all`: whatever
    /// has).
    fn flush(&mut self, out: &Out, all: bool) -> Result<()> {
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
    fn finish(mut self, out: &Out) -> Result<Tally> {
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

fn worker(engine: Engine, rx: Receiver<Batch>, out: &Out) -> Result<Tally> {
    let mut shard = Shard::new(engine);
    for batch in rx {
        for item in &batch.frames {
            match item {
                Item::Frame(f) => shard.frame(f, &batch.data[f.start..f.end])?,
                Item::Tick(ts) => {
                    shard.engine.advance(*ts);
                    shard.write_out()?;
                }
            }
        }
        if let Some(end) = batch.end_ns {
            shard.engine.end_of_input(end);
        }
        shard.flush(out, false)?;
    }
    shard.finish(out)
}

/// A plain file can be read by every worker at once: each reads all of it (from the page
/// cache), analyzes the frames of its own address pairs, and only moves its clock on the
/// others, so its timeouts fire exactly when one engine's would. Nothing is copied between
/// threads but the serialized records.
fn rereadable(cfg: &ReadConfig, reader: &CaptureReader) -> bool {
    cfg.file != "-"
        && reader.info().compression == flowsight_pcapfile::Compression::None
        && reader.progress().total_bytes().is_some()
}

/// One worker of the re-reading mode: shard `me` of `n`.
fn reread_worker(
    me: usize,
    n: usize,
    mut reader: CaptureReader,
    mut shard: Shard,
    out: &Out,
    bar: Option<&Bar>,
    file: &str,
) -> Result<(Tally, u64, u64)> {
    let (mut packets, mut last_ns) = (0u64, 0u64);
    while let Some(next) = reader.next_packet() {
        match next {
            Ok(p) => {
                packets += 1;
                last_ns = last_ns.max(p.ts_ns);
                let link = p.link.to_wire();
                if shard_of(link, p.data, n) == me {
                    shard
                        .engine
                        .frame(p.ts_ns, link, p.data, p.orig_len, p.interface);
                    shard.write_out()?;
                } else {
                    shard.engine.advance(p.ts_ns);
                    shard.write_out()?;
                }
                shard.flush(out, false)?;
                if let Some(bar) = bar
                    && packets.is_multiple_of(8192)
                {
                    bar.set(reader.progress().bytes_read());
                }
            }
            Err(e) => {
                if me == 0 {
                    warn_partial(file, &e, packets);
                }
                break;
            }
        }
    }
    shard.engine.end_of_input(last_ns);
    Ok((shard.finish(out)?, packets, last_ns))
}

fn run_rereading(
    cfg: &ReadConfig,
    reader: CaptureReader,
    bar: Bar,
    started: Timestamp,
) -> Result<()> {
    let n = cfg.threads;
    let out = open_out(&cfg.output)?;
    let mut others = Vec::with_capacity(n);
    for me in 1..n {
        let r = cfg.open()?;
        let mut engine = Engine::new(cfg.engine.clone());
        name_interfaces(&mut engine, &r);
        others.push((me, r, engine));
    }
    let mut engine = Engine::new(cfg.engine.clone());
    name_interfaces(&mut engine, &reader);
    let (tally, packets) = std::thread::scope(|scope| -> Result<(Tally, u64)> {
        let out = &out;
        let handles: Vec<_> = others
            .into_iter()
            .map(|(me, r, engine)| {
                scope.spawn(move || {
                    reread_worker(me, n, r, Shard::new(engine), out, None, &cfg.file)
                })
            })
            .collect();
        let first = reread_worker(0, n, reader, Shard::new(engine), out, Some(&bar), &cfg.file);
        let mut tally = Tally::default();
        for h in handles {
            let (t, _, _) = h
                .join()
                .map_err(|_| anyhow!("an analysis thread panicked"))??;
            tally.merge(t);
        }
        let (t, packets, _) = first?;
        tally.merge(t);
        Ok((tally, packets))
    })?;
    end_output(out, &tally.final_record(started, packets), &bar)
}

/// The final stats record goes out after every worker's records.
fn end_output(out: Out, stats: &flowsight_record::Record, bar: &Bar) -> Result<()> {
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
    if rereadable(cfg, &reader) {
        return run_rereading(cfg, reader, bar, started);
    }
    // A stream (stdin, gzip) is read once: the reading thread hands frames out.
    let n = cfg.threads;
    let out = open_out(&cfg.output)?;
    // The reading thread analyzes shard 0 itself: on a machine with as many cores as
    // threads, a reader that only reads and hands out would leave a core half idle.
    let mut own = Shard::new(Engine::new(cfg.engine.clone()));
    name_interfaces(&mut own.engine, &reader);
    let mut packets = 0u64;
    let mut failed = None;
    let tally = std::thread::scope(|scope| -> Result<Tally> {
        let out = &out;
        let mut txs = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for _ in 1..n {
            let (tx, rx) = sync_channel::<Batch>(8);
            let mut engine = Engine::new(cfg.engine.clone());
            name_interfaces(&mut engine, &reader);
            handles.push(scope.spawn(move || worker(engine, rx, out)));
            txs.push(tx);
        }
        let mut batches: Vec<Batch> = (1..n).map(|_| Batch::default()).collect();
        let mut last_ns = 0u64;
        loop {
            match reader.next_packet() {
                None => break,
                Some(Ok(p)) => {
                    packets += 1;
                    last_ns = last_ns.max(p.ts_ns);
                    let link = p.link.to_wire();
                    let w = shard_of(link, p.data, n);
                    let tick = own.engine.last_tick();
                    if w == 0 {
                        let meta = FrameMeta {
                            ts_ns: p.ts_ns,
                            link,
                            orig_len: p.orig_len,
                            interface: p.interface,
                            start: 0,
                            end: p.data.len(),
                        };
                        own.frame(&meta, p.data)?;
                        own.flush(out, false)?;
                    } else {
                        let b = &mut batches[w - 1];
                        let start = b.data.len();
                        b.data.extend_from_slice(p.data);
                        b.frames.push(Item::Frame(FrameMeta {
                            ts_ns: p.ts_ns,
                            link,
                            orig_len: p.orig_len,
                            interface: p.interface,
                            start,
                            end: b.data.len(),
                        }));
                        if b.frames.len() >= BATCH && txs[w - 1].send(std::mem::take(b)).is_err() {
                            failed = Some(anyhow!("analysis thread {w} stopped"));
                            break;
                        }
                        own.engine.advance(p.ts_ns);
                        own.write_out()?;
                    }
                    // This engine sees every timestamp, so it ages when one engine for the
                    // whole capture would; the others age at the same instants.
                    if own.engine.last_tick() != tick {
                        let now = own.engine.last_tick();
                        batches
                            .iter_mut()
                            .for_each(|b| b.frames.push(Item::Tick(now)));
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
        own.engine.end_of_input(last_ns);
        drop(txs);
        let mut tally = own.finish(out)?;
        for h in handles {
            tally.merge(
                h.join()
                    .map_err(|_| anyhow!("an analysis thread panicked"))??,
            );
        }
        Ok(tally)
    })?;
    end_output(out, &tally.final_record(started, packets), &bar)?;
    failed.map_or(Ok(()), Err)
}
