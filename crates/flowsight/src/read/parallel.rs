//! `flowsight read --threads N`: flows split between N engines.
//!
//! The reading thread decodes each frame once more to find its IP addresses and sends it to
//! the worker that owns its address pair (both directions and every fragment of a datagram
//! hash the same), so each flow lives in exactly one engine. Workers serialize their own
//! records; one writer thread puts the bytes out. Records of different flows therefore
//! interleave in another order than with one thread; each flow's own records keep theirs.

use super::{Bar, Tally, name_interfaces, warn_partial};
use crate::cli::ReadConfig;
use anyhow::{Context, Result, anyhow};
use flowsight_flow::Engine;
use flowsight_pcapfile::CaptureReader;
use flowsight_record::Timestamp;
use flowsight_sink::{JsonLines, Sink};
use flowsight_wire::LinkType;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::net::IpAddr;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Frames per batch handed to a worker.
const BATCH: usize = 512;

/// One frame, copied out of the reader's buffer into a batch.
struct FrameMeta {
    ts_ns: u64,
    link: LinkType,
    orig_len: u32,
    interface: u32,
    start: usize,
    end: usize,
}

#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    frames: Vec<FrameMeta>,
    /// Set in the last batch: when the whole input ended.
    end_ns: Option<u64>,
}

/// The worker owning a frame: by its unordered innermost address pair and protocol.
fn shard_of(link: LinkType, frame: &[u8], workers: usize) -> usize {
    let Ok(d) = flowsight_wire::decode(link, frame) else {
        return 0;
    };
    let Some(ip) = d.ip else { return 0 };
    let (a, b) = if ip.src <= ip.dst {
        (ip.src, ip.dst)
    } else {
        (ip.dst, ip.src)
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let bytes = |x: IpAddr| match x {
        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
        IpAddr::V6(v) => v.octets(),
    };
    (bytes(a), bytes(b), u8::from(ip.protocol)).hash(&mut h);
    (h.finish() % workers as u64) as usize
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

    /// Hand the serialized records to the writer as one chunk.
    fn flush(&mut self, out: &SyncSender<Vec<u8>>) -> Result<()> {
        let bytes = self.sink.take_buffer();
        if !bytes.is_empty() {
            out.send(bytes).map_err(|_| anyhow!("the writer stopped"))?;
        }
        Ok(())
    }

    /// Close every open flow; the counts of this shard.
    fn finish(mut self, out: &SyncSender<Vec<u8>>) -> Result<Tally> {
        while self.engine.finish_step() {
            self.write_out()?;
            self.flush(out)?;
        }
        self.write_out()?;
        self.flush(out)?;
        self.tally.engine = self.engine.stats();
        Ok(self.tally)
    }
}

fn worker(engine: Engine, rx: Receiver<Batch>, out: SyncSender<Vec<u8>>) -> Result<Tally> {
    let mut shard = Shard::new(engine);
    for batch in rx {
        for f in &batch.frames {
            shard.frame(f, &batch.data[f.start..f.end])?;
        }
        if let Some(end) = batch.end_ns {
            shard.engine.end_of_input(end);
        }
        shard.flush(&out)?;
    }
    shard.finish(&out)
}

/// The thread that puts the workers' serialized chunks out, in the order they come.
fn spawn_writer(
    output: crate::cli::Output,
    out_rx: Receiver<Vec<u8>>,
) -> std::thread::JoinHandle<Result<()>> {
    std::thread::spawn(move || -> Result<()> {
        let mut w: Box<dyn Write> = match output {
            crate::cli::Output::Stdout => Box::new(std::io::BufWriter::new(std::io::stdout())),
            crate::cli::Output::File(p) => Box::new(std::io::BufWriter::new(
                std::fs::File::create(&p).with_context(|| format!("creating {}", p.display()))?,
            )),
        };
        for chunk in out_rx {
            w.write_all(&chunk).context("writing records")?;
        }
        w.flush().context("writing records")
    })
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
    out: &SyncSender<Vec<u8>>,
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
                if packets.is_multiple_of(BATCH as u64) {
                    shard.flush(out)?;
                }
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
    let (out_tx, out_rx) = sync_channel::<Vec<u8>>(4 * n);
    let writer = spawn_writer(cfg.output.clone(), out_rx);
    let mut handles = Vec::with_capacity(n);
    for me in 1..n {
        let r = CaptureReader::open(&cfg.file).with_context(|| format!("reading {}", cfg.file))?;
        let mut engine = Engine::new(cfg.engine.clone());
        name_interfaces(&mut engine, &r);
        let out = out_tx.clone();
        let file = cfg.file.clone();
        handles.push(std::thread::spawn(move || {
            reread_worker(me, n, r, Shard::new(engine), &out, None, &file)
        }));
    }
    let mut engine = Engine::new(cfg.engine.clone());
    name_interfaces(&mut engine, &reader);
    let (mut tally, packets, _) = reread_worker(
        0,
        n,
        reader,
        Shard::new(engine),
        &out_tx,
        Some(&bar),
        &cfg.file,
    )?;
    for h in handles {
        let (t, _, _) = h
            .join()
            .map_err(|_| anyhow!("an analysis thread panicked"))??;
        tally.merge(t);
    }
    end_output(out_tx, writer, &tally.final_record(started, packets), &bar)
}

/// The final stats record goes out after every worker's records; then the writer finishes.
fn end_output(
    out_tx: SyncSender<Vec<u8>>,
    writer: std::thread::JoinHandle<Result<()>>,
    stats: &flowsight_record::Record,
    bar: &Bar,
) -> Result<()> {
    let mut last = JsonLines::new(Vec::new());
    last.write(stats)?;
    out_tx
        .send(last.take_buffer())
        .map_err(|_| anyhow!("the writer stopped"))?;
    drop(out_tx);
    writer
        .join()
        .map_err(|_| anyhow!("the writer thread panicked"))??;
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
    drop(sink); // the writer thread writes raw serialized bytes itself
    if rereadable(cfg, &reader) {
        return run_rereading(cfg, reader, bar, started);
    }
    // A stream (stdin, gzip) is read once: the reading thread hands frames out.
    let n = cfg.threads;
    let (out_tx, out_rx) = sync_channel::<Vec<u8>>(4 * n);
    let writer = spawn_writer(cfg.output.clone(), out_rx);
    // The reading thread analyzes shard 0 itself: on a machine with as many cores as
    // threads, a reader that only reads and hands out would leave a core half idle.
    let mut own = Shard::new(Engine::new(cfg.engine.clone()));
    name_interfaces(&mut own.engine, &reader);
    let mut txs = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    for _ in 1..n {
        let (tx, rx) = sync_channel::<Batch>(8);
        let mut engine = Engine::new(cfg.engine.clone());
        name_interfaces(&mut engine, &reader);
        let out = out_tx.clone();
        handles.push(std::thread::spawn(move || worker(engine, rx, out)));
        txs.push(tx);
    }
    let mut batches: Vec<Batch> = (1..n).map(|_| Batch::default()).collect();
    let mut packets = 0u64;
    let mut last_ns = 0u64;
    let mut failed = None;
    loop {
        match reader.next_packet() {
            None => break,
            Some(Ok(p)) => {
                packets += 1;
                last_ns = last_ns.max(p.ts_ns);
                let link = p.link.to_wire();
                let w = shard_of(link, p.data, n);
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
                    if packets.is_multiple_of(BATCH as u64) {
                        own.flush(&out_tx)?;
                    }
                    if packets.is_multiple_of(8192) {
                        bar.set(reader.progress().bytes_read());
                    }
                    continue;
                }
                let b = &mut batches[w - 1];
                let start = b.data.len();
                b.data.extend_from_slice(p.data);
                b.frames.push(FrameMeta {
                    ts_ns: p.ts_ns,
                    link,
                    orig_len: p.orig_len,
                    interface: p.interface,
                    start,
                    end: b.data.len(),
                });
                if b.frames.len() >= BATCH && txs[w - 1].send(std::mem::take(b)).is_err() {
                    failed = Some(anyhow!("analysis thread {w} stopped"));
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
    own.engine.end_of_input(last_ns);
    drop(txs);
    let mut tally = own.finish(&out_tx)?;
    for h in handles {
        tally.merge(
            h.join()
                .map_err(|_| anyhow!("an analysis thread panicked"))??,
        );
    }
    end_output(out_tx, writer, &tally.final_record(started, packets), &bar)?;
    failed.map_or(Ok(()), Err)
}
