//! `flowsight read --threads N` on a mapped pcapng file: every thread walks the whole file
//! itself and analyses the frames of its own flows. (A classic pcap file's walk is shared
//! instead, shared_walk.rs: its records can be found again by offset alone, while a pcapng
//! record's meaning depends on the blocks before it.)
//!
//! A mapped file can be read by N threads at once at no cost but the walk: the record
//! headers and the address pair of every frame, a small part of what the engine does with a
//! frame (the bytes come from the page cache, shared by the threads' mappings). So nothing
//! is handed from thread to thread: no batches, no queue, no second thread touching a frame
//! the first has just read, and no thread waits for another until the output.
//!
//! Every thread sees every timestamp: its engine ages its flows at the instants one engine
//! for the whole capture would (frames of other threads' flows only move its clock), so
//! interim and idle records carry the times they carry with one thread. Each thread routes
//! the fragments of a datagram the way the others do (the same walk of the same frames), so
//! a datagram is reassembled by exactly one of them, and a tunnel's fragment counted in the
//! tunnel's flow by exactly one (route.rs). A stream (stdin, gzip, `--no-mmap`) is
//! read once and handed out instead (parallel.rs).

use super::parallel::{Out, Shard, end_output, open_out};
use super::route::{BUCKETS, FragmentRoutes, Owners, route_of};
use super::{Bar, Tally, name_interfaces, warn_partial};
use crate::cli::ReadConfig;
use anyhow::{Result, anyhow};
use flowsight_flow::Engine;
use flowsight_pcapfile::CaptureReader;
use flowsight_record::Timestamp;

/// The first bucket of each thread's range: equal shares.
pub(super) fn even_shares(n: usize) -> Vec<u64> {
    (0..n as u64).map(|i| i * BUCKETS / n as u64).collect()
}

/// What one thread read: its counts and, for thread 0, the packets of the file.
struct Walked {
    tally: Tally,
    packets: u64,
}

/// Thread `me`'s walk of `reader`: its own frames through its engine, every frame's time
/// through its clock.
fn walk(
    me: usize,
    mut reader: CaptureReader,
    mut shard: Shard,
    owners: &Owners,
    out: &Out,
    cfg: &ReadConfig,
    bar: Option<&Bar>,
) -> Result<Walked> {
    let mut routes = FragmentRoutes::default();
    let mut packets = 0u64;
    let mut last_ns = 0u64;
    loop {
        match reader.next_packet() {
            None => break,
            Some(Ok(p)) => {
                packets += 1;
                last_ns = last_ns.max(p.ts_ns);
                let link = p.link.to_wire();
                let mut mine = false;
                for duty in route_of(link, p.data, owners, &mut routes).duties_of(me) {
                    shard
                        .engine
                        .frame_as(p.ts_ns, link, p.data, p.orig_len, p.interface, duty);
                    mine = true;
                }
                if !mine {
                    shard.engine.advance(p.ts_ns);
                }
                // Most frames make no record: nothing to write or flush.
                if shard.engine.has_records() {
                    shard.write_out()?;
                    shard.flush(out, false)?;
                }
                if let Some(bar) = bar
                    && packets.is_multiple_of(8192)
                {
                    bar.set(reader.progress().bytes_read());
                }
            }
            Some(Err(e)) => {
                // Every thread meets the same error at the same packet: one says so.
                if me == 0 {
                    warn_partial(&cfg.file, &e, packets);
                }
                break;
            }
        }
    }
    shard.engine.end_of_input(last_ns);
    let tally = shard.finish(out)?;
    Ok(Walked { tally, packets })
}

/// Run `flowsight read` on `cfg.threads` threads that each walk the mapped file `reader`
/// (the others open it again).
pub fn run(cfg: &ReadConfig, reader: CaptureReader, bar: Bar, started: Timestamp) -> Result<()> {
    let n = cfg.threads;
    let owners = Owners::new(&even_shares(n));
    let out = open_out(&cfg.output)?;
    // Each thread's own reader, opened before any starts: a file that cannot be opened
    // again fails the run before a record is written.
    let mut readers = vec![reader];
    for _ in 1..n {
        readers.push(cfg.open()?);
    }
    let (tally, packets) = std::thread::scope(|scope| -> Result<(Tally, u64)> {
        let (out, owners, bar) = (&out, &owners, &bar);
        let handles: Vec<_> = readers
            .into_iter()
            .enumerate()
            .map(|(me, reader)| {
                let mut engine = Engine::new(cfg.engine.clone());
                name_interfaces(&mut engine, &reader);
                let shard = Shard::new(engine);
                scope.spawn(move || {
                    walk(
                        me,
                        reader,
                        shard,
                        owners,
                        out,
                        cfg,
                        (me == 0).then_some(bar),
                    )
                })
            })
            .collect();
        // Every thread is joined before any error is returned.
        let joined: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        let mut tally = Tally::default();
        let mut packets = 0;
        for (me, r) in joined.into_iter().enumerate() {
            let w = r.map_err(|_| anyhow!("an analysis thread panicked"))??;
            if me == 0 {
                packets = w.packets;
            }
            tally.merge(w.tally);
        }
        Ok((tally, packets))
    })?;
    end_output(out, &tally.final_record(started, packets), &bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_shares_cover_every_bucket() {
        for n in 1..=256 {
            let s = even_shares(n);
            assert_eq!(s.len(), n);
            assert_eq!(s[0], 0);
            assert!(s.windows(2).all(|w| w[0] < w[1]), "{n}: {s:?}");
            assert!(*s.last().unwrap() < BUCKETS);
        }
    }
}
