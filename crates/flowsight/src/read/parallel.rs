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
}

/// The worker owning a frame: by its unordered innermost address pair and protocol.
fn shard(link: LinkType, frame: &[u8], workers: usize) -> usize {
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

fn worker(mut engine: Engine, rx: Receiver<Batch>, out: SyncSender<Vec<u8>>) -> Result<Tally> {
    let mut tally = Tally::default();
    let mut sink = JsonLines::new(Vec::with_capacity(1 << 16));
    // Each batch's records go out as one chunk.
    let flush = |sink: &mut JsonLines<Vec<u8>>| -> Result<()> {
        let bytes = sink.take_buffer();
        if !bytes.is_empty() {
            out.send(bytes).map_err(|_| anyhow!("the writer stopped"))?;
        }
        Ok(())
    };
    for batch in rx {
        for f in &batch.frames {
            engine.frame(
                f.ts_ns,
                f.link,
                &batch.data[f.start..f.end],
                f.orig_len,
                f.interface,
            );
            for r in engine.drain() {
                tally.wrote(&r);
                sink.write(&r)?;
            }
        }
        flush(&mut sink)?;
    }
    while engine.finish_step() {
        for r in engine.drain() {
            tally.wrote(&r);
            sink.write(&r)?;
        }
    }
    for r in engine.drain() {
        tally.wrote(&r);
        sink.write(&r)?;
    }
    flush(&mut sink)?;
    tally.engine = engine.stats();
    Ok(tally)
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
    let n = cfg.threads;
    let (out_tx, out_rx) = sync_channel::<Vec<u8>>(4 * n);
    let output = cfg.output.clone();
    let writer = std::thread::spawn(move || -> Result<()> {
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
    });
    let mut txs = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = sync_channel::<Batch>(8);
        let mut engine = Engine::new(cfg.engine.clone());
        name_interfaces(&mut engine, &reader);
        let out = out_tx.clone();
        handles.push(std::thread::spawn(move || worker(engine, rx, out)));
        txs.push(tx);
    }
    let mut batches: Vec<Batch> = (0..n).map(|_| Batch::default()).collect();
    let mut packets = 0u64;
    let mut failed = None;
    loop {
        match reader.next_packet() {
            None => break,
            Some(Ok(p)) => {
                packets += 1;
                let link = p.link.to_wire();
                let w = shard(link, p.data, n);
                let b = &mut batches[w];
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
                if b.frames.len() >= BATCH && txs[w].send(std::mem::take(b)).is_err() {
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
    for (tx, b) in txs.iter().zip(batches) {
        if !b.frames.is_empty() {
            let _ = tx.send(b);
        }
    }
    drop(txs);
    let mut tally = Tally::default();
    for h in handles {
        tally.merge(
            h.join()
                .map_err(|_| anyhow!("an analysis thread panicked"))??,
        );
    }
    // The final stats record, after every worker's records.
    let mut last = JsonLines::new(Vec::new());
    last.write(&tally.final_record(started, packets))?;
    out_tx
        .send(last.take_buffer())
        .map_err(|_| anyhow!("the writer stopped"))?;
    drop(out_tx);
    writer
        .join()
        .map_err(|_| anyhow!("the writer thread panicked"))??;
    bar.finish();
    failed.map_or(Ok(()), Err)
}
