//! `flowsight read --threads N` on a mapped classic pcap file: the threads share one walk of
//! the file, and each analyses the frames of its own flows.
//!
//! Walking the records and finding the engine of every frame is about a fifth of a thread's
//! work on the synthetic capture (every record header is a cache miss). When every thread
//! walks the whole file itself (walk_each.rs) that fifth is paid N times; here the file is
//! walked once, [`CHUNK`] bytes at a time, each chunk by whichever thread is running low on
//! frames to analyse (fewer than [`LOW`] pieces waiting) when no other thread is walking. The
//! walker tells every thread where its frames of the chunk are (their records' offsets), and
//! each thread reads them again, soon after, while they are still in the shared cache,
//! through a reader of its own over the one mapping of the file (each page is mapped once for
//! all). A thread waits for another only when it has no piece left while the other walks, or
//! when the walker has got [`AHEAD`] chunks ahead of it.
//!
//! The walk is one, in file order, so frames are routed exactly as walk_each.rs routes them
//! (fragments included), and one [`AgeingClock`] sees every timestamp: each thread is told
//! the capture time before each of its frames and the instants one engine for the whole
//! capture would age its flows at, so its engine ages and stamps records at the same times.
//! The records are those of walk_each.rs, in the same per-flow order.
//!
//! A pcapng file is walked by every thread instead (walk_each.rs): what a pcapng record
//! means (its interface, link type and time resolution) depends on the blocks before it.

use super::parallel::{Out, Shard, end_output, open_out};
use super::route::{FragmentRoutes, Owners, route_of};
use super::{Bar, Tally, name_interfaces, warn_partial};
use crate::cli::ReadConfig;
use anyhow::{Result, anyhow, bail};
use flowsight_flow::{AgeingClock, Duty, Engine};
use flowsight_pcapfile::{CaptureReader, Position};
use flowsight_record::Timestamp;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::sync::{Mutex, TryLockError};
use std::time::Duration;

/// Bytes of the file walked at a time (the records that start in them): small enough that the
/// frames a walker routes are still in the shared cache when their thread reads them, large
/// enough that handing the chunk out costs nothing per frame (~4,000 synthetic frames).
const CHUNK: u64 = 2 << 20;

/// The least chunk: a small file is walked in chunks of a sixteenth of a thread's share,
/// down to this, so that it too is walked by every thread (and every path here is taken
/// by the tests' and the corpora's small captures).
const MIN_CHUNK: u64 = 4 << 10;

/// How many of its frames ahead a thread asks the CPU for the next record's first lines.
const PREFETCH: usize = 4;

/// Pieces a thread may have waiting: a walker that gets this far ahead of a thread waits for
/// it, holding one more piece for it and the cursor. A thread with few frames, or none, would
/// otherwise walk the whole file while the others lag: their waiting offsets would take 16
/// bytes a frame, and the pages between the walk and the slowest thread stay mapped, counted
/// in the resident size. Threads that take turns at walking are seldom more than two pieces
/// apart.
const AHEAD: usize = 8;

/// Pieces a thread keeps waiting when it can: below this it walks the next chunk itself if
/// no one else is walking. Less than [`AHEAD`], so that a walk always has room in the
/// walker's own queue.
const LOW: usize = 2;

/// An [`Entry::offset`] that is no frame: the capture's clock reached [`Entry::now`] and an
/// engine for the whole capture would age its flows.
const TICK: u64 = u64::MAX;

/// An [`Entry::offset`]'s top two bits: the thread's [`Duty`] for a frame two threads share
/// (route.rs). No capture file comes near 2^62 bytes.
const DUTY_BITS: u64 = 3 << 62;
/// [`DUTY_BITS`] of a frame to count only.
const COUNT: u64 = 1 << 62;
/// [`DUTY_BITS`] of a frame to rebuild a datagram with only.
const REBUILD: u64 = 2 << 62;

/// What a thread is told, in capture order: a frame of its own or an ageing instant.
#[derive(Clone, Copy)]
struct Entry {
    /// The frame's record in the file and, in [`DUTY_BITS`], the thread's duty for it; or
    /// [`TICK`].
    offset: u64,
    /// The capture time so far (the latest timestamp up to and including this frame).
    now: u64,
}

impl Entry {
    fn frame(offset: u64, duty: Duty, now: u64) -> Entry {
        let bits = match duty {
            Duty::Whole => 0,
            Duty::Count => COUNT,
            Duty::Reassemble => REBUILD,
        };
        Entry {
            offset: offset | bits,
            now,
        }
    }

    /// The frame's record in the file (not for a [`TICK`]).
    fn record(self) -> u64 {
        self.offset & !DUTY_BITS
    }

    /// The thread's duty for the frame (not for a [`TICK`]).
    fn duty(self) -> Duty {
        match self.offset & DUTY_BITS {
            COUNT => Duty::Count,
            REBUILD => Duty::Reassemble,
            _ => Duty::Whole,
        }
    }
}

/// One thread's part of one chunk.
struct Piece {
    entries: Vec<Entry>,
    /// Where the chunk ends: the thread needs nothing before it once it has read its frames.
    end: u64,
    /// The walk ended with this chunk (the end of the file, or a read error).
    last: bool,
}

/// The walk, taken by one thread at a time.
struct Cursor {
    /// Where the next chunk starts.
    at: Position,
    /// Every timestamp so far.
    clock: AgeingClock,
    /// The engines that the fragmented datagrams in flight went to.
    routes: FragmentRoutes,
    /// The walk is over.
    done: bool,
    /// Bytes walked at a time.
    chunk: u64,
    /// How many entries each thread had in the last chunk: room for the next chunk's lists.
    room: Vec<usize>,
}

/// What the threads share.
struct Shared<'a> {
    cursor: Mutex<Cursor>,
    /// Each thread's pieces, sent in file order (the walker holds the cursor while it sends).
    queues: Vec<SyncSender<Piece>>,
    /// Pieces sent to each thread and not yet taken: exact while the cursor is held (only
    /// its holder sends).
    queued: Vec<AtomicUsize>,
    /// How far each thread has read its frames (`u64::MAX` when done): the pages before
    /// the least of them are given back.
    read_to: Vec<AtomicU64>,
    owners: Owners,
    cfg: &'a ReadConfig,
    bar: &'a Bar,
}

/// Walks the next chunk from the cursor with `reader` (this thread's) and sends every
/// thread its piece.
fn walk_chunk(cur: &mut Cursor, reader: &mut CaptureReader, shared: &Shared) -> Result<()> {
    if !reader.seek(cur.at) {
        bail!("cannot go back to offset {} of the capture", cur.at.offset);
    }
    let n = shared.queues.len();
    let mut lists: Vec<Vec<Entry>> = (0..n)
        .map(|t| Vec::with_capacity(cur.room.get(t).map_or(0, |r| r + 16)))
        .collect();
    let mut last = false;
    let end = cur.at.offset.saturating_add(cur.chunk);
    loop {
        let offset = reader.position().offset;
        if offset >= end {
            break;
        }
        match reader.next_packet() {
            None => {
                last = true;
                break;
            }
            Some(Ok(p)) => {
                let link = p.link.to_wire();
                let route = route_of(link, p.data, &shared.owners, &mut cur.routes);
                if cur.clock.advance(p.ts_ns) {
                    let now = cur.clock.now();
                    for l in &mut lists {
                        l.push(Entry { offset: TICK, now });
                    }
                }
                for (w, duty) in route.engines() {
                    lists[w].push(Entry::frame(offset, duty, cur.clock.now()));
                }
            }
            Some(Err(e)) => {
                warn_partial(&shared.cfg.file, &e, reader.packets_read());
                last = true;
                break;
            }
        }
    }
    cur.room = lists.iter().map(Vec::len).collect();
    cur.at = reader.position();
    cur.done = last;
    shared.bar.set(cur.at.offset);
    let behind = shared
        .read_to
        .iter()
        .map(|r| r.load(Ordering::Relaxed))
        .min();
    reader.release_before(behind.unwrap_or(0));
    for ((q, queued), entries) in shared.queues.iter().zip(&shared.queued).zip(lists) {
        // Counted before it is sent, so that the count is never below what is waiting.
        queued.fetch_add(1, Ordering::Relaxed);
        // A thread that failed has dropped its queue: the others go on.
        let _ = q.send(Piece {
            entries,
            end: cur.at.offset,
            last,
        });
    }
    Ok(())
}

/// The next piece of this thread's: walking a chunk itself when fewer than [`LOW`] are
/// waiting and no one else is walking.
fn next_piece(
    me: usize,
    rx: &Receiver<Piece>,
    reader: &mut CaptureReader,
    shared: &Shared,
) -> Result<Piece> {
    let take = |p: Piece| {
        shared.queued[me].fetch_sub(1, Ordering::Relaxed);
        Ok(p)
    };
    loop {
        // Walk ahead while this thread's pieces run low, not only once they have run out:
        // a thread whose queue is empty while another walks waits for that walk, and with
        // walks only on empty queues both threads of `--threads 2` waited 12-20% of the time.
        if shared.queued[me].load(Ordering::Relaxed) < LOW {
            match shared.cursor.try_lock() {
                // Looked at again under the lock: between the first look and the lock,
                // other walkers may have filled this thread's queue, and a walk now would
                // wait on its own full queue, holding the cursor, forever. Only the cursor's
                // holder sends, so the count cannot grow while this thread holds it.
                Ok(mut cur) if !cur.done && shared.queued[me].load(Ordering::Relaxed) < LOW => {
                    walk_chunk(&mut cur, reader, shared)?;
                    continue;
                }
                Err(TryLockError::Poisoned(_)) => bail!("a thread failed walking the capture"),
                _ => {}
            }
        }
        match rx.try_recv() {
            Ok(p) => return take(p),
            Err(TryRecvError::Disconnected) => bail!("the walk of the capture stopped"),
            Err(TryRecvError::Empty) => {}
        }
        // Nothing waiting, and another thread is walking (or the walk is over and its last
        // piece is on its way): its chunk comes soon. (The wait is bounded so that a walker
        // that failed is noticed.)
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(p) => return take(p),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => bail!("the walk of the capture stopped"),
        }
    }
}

/// Thread `me`: its frames, chunk by chunk, through its engine.
fn analyse(
    me: usize,
    rx: Receiver<Piece>,
    reader: CaptureReader,
    shard: Shard,
    shared: &Shared,
    out: &Out,
) -> Result<Tally> {
    /// Done, failed or panicking, the thread holds no page back any more.
    struct LetGo<'a>(&'a AtomicU64);
    impl Drop for LetGo<'_> {
        fn drop(&mut self) {
            self.0.store(u64::MAX, Ordering::Relaxed);
        }
    }
    let _let_go = LetGo(&shared.read_to[me]);
    analyse_pieces(me, rx, reader, shard, shared, out)
}

/// [`analyse`]'s work, until the last piece or an error.
fn analyse_pieces(
    me: usize,
    rx: Receiver<Piece>,
    mut reader: CaptureReader,
    mut shard: Shard,
    shared: &Shared,
    out: &Out,
) -> Result<Tally> {
    loop {
        let piece = next_piece(me, &rx, &mut reader, shared)?;
        let entries = &piece.entries;
        for (i, e) in entries.iter().enumerate() {
            if let Some(ahead) = entries.get(i + PREFETCH)
                && ahead.offset != TICK
            {
                reader.prefetch_at(ahead.record());
            }
            shard.engine.advance(e.now);
            if e.offset != TICK {
                // The walk read this record whole: it is there to be read again.
                let Some(p) = reader.packet_at(e.record()) else {
                    bail!("no record at offset {} of the capture", e.record());
                };
                let link = p.link.to_wire();
                shard
                    .engine
                    .frame_as(p.ts_ns, link, p.data, p.orig_len, p.interface, e.duty());
            }
            // Most frames make no record: nothing to write or flush.
            if shard.engine.has_records() {
                shard.write_out()?;
                shard.flush(out, false)?;
            }
        }
        if piece.last {
            break;
        }
        shared.read_to[me].store(piece.end, Ordering::Relaxed);
    }
    let end = {
        let cur = shared
            .cursor
            .lock()
            .map_err(|_| anyhow!("a thread failed walking the capture"))?;
        cur.clock.now()
    };
    shard.engine.end_of_input(end);
    shard.finish(out)
}

/// Run `flowsight read` on `cfg.threads` threads sharing one walk of the mapped classic pcap
/// file `reader` (the others open it again).
pub fn run(cfg: &ReadConfig, reader: CaptureReader, bar: Bar, started: Timestamp) -> Result<()> {
    let n = cfg.threads;
    let out = open_out(&cfg.output)?;
    // Each thread's own reader, all over one mapping of the file.
    let mut reader = reader;
    let start = reader.position();
    let mut readers = Vec::with_capacity(n);
    for _ in 1..n {
        readers.push(
            reader
                .share()
                .ok_or_else(|| anyhow!("cannot share the file's mapping"))?,
        );
    }
    readers.insert(0, reader);
    let (queues, receivers): (Vec<_>, Vec<_>) =
        (0..n).map(|_| sync_channel::<Piece>(AHEAD)).unzip();
    let shared = Shared {
        cursor: Mutex::new(Cursor {
            at: start,
            clock: AgeingClock::default(),
            routes: FragmentRoutes::default(),
            done: false,
            chunk: chunk_size(readers[0].info().file_size, n),
            room: Vec::new(),
        }),
        queues,
        queued: (0..n).map(|_| AtomicUsize::new(0)).collect(),
        read_to: (0..n).map(|_| AtomicU64::new(start.offset)).collect(),
        owners: Owners::new(&super::walk_each::even_shares(n)),
        cfg,
        bar: &bar,
    };
    let tally = std::thread::scope(|scope| -> Result<Tally> {
        let (out, shared) = (&out, &shared);
        let handles: Vec<_> = readers
            .into_iter()
            .zip(receivers)
            .enumerate()
            .map(|(me, (reader, rx))| {
                let mut engine = Engine::new(cfg.engine.clone());
                name_interfaces(&mut engine, &reader);
                let shard = Shard::new(engine);
                scope.spawn(move || analyse(me, rx, reader, shard, shared, out))
            })
            .collect();
        // Every thread is joined before any error is returned.
        let joined: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        let mut tally = Tally::default();
        for r in joined {
            tally.merge(r.map_err(|_| anyhow!("an analysis thread panicked"))??);
        }
        Ok(tally)
    })?;
    let packets = shared
        .cursor
        .into_inner()
        .map_err(|_| anyhow!("a thread failed walking the capture"))?
        .at
        .packets;
    end_output(out, &tally.final_record(started, packets), &bar)
}

/// Bytes walked at a time in a file of `size` bytes read by `n` threads.
fn chunk_size(size: Option<u64>, n: usize) -> u64 {
    size.map_or(CHUNK, |s| (s / (16 * n as u64)).clamp(MIN_CHUNK, CHUNK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_are_walked_in_small_chunks_large_ones_in_whole_ones() {
        assert_eq!(chunk_size(Some(1 << 30), 2), CHUNK);
        assert_eq!(chunk_size(None, 2), CHUNK);
        assert_eq!(chunk_size(Some(1 << 20), 2), 32 << 10);
        assert_eq!(chunk_size(Some(1000), 8), MIN_CHUNK);
    }
}
