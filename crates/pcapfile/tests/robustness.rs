//! Mutated and random bytes: no panic, no runaway loop, and no allocation larger than the
//! reader's documented bounds; and a long capture streamed through in bounded memory. A
//! counting global allocator (this test binary only) records the largest single allocation
//! and the bytes live at once.

mod common;

use common::{all_fixtures, gzip};
use flowsight_pcapfile::{CaptureReader, MAX_BLOCK_LEN};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Tracking;

static LARGEST: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    /// Allocation calls on this thread, to show that reading a packet allocates nothing
    /// (per thread, since the other test in this binary runs concurrently).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_allocation() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        count_allocation();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        count_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Applies one to eight random edits: byte flips, interesting 32-bit values written over
/// length fields, cuts, duplicated and deleted spans.
fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..1 + rng.below(8) {
        if b.is_empty() {
            break;
        }
        let at = rng.below(b.len());
        match rng.below(6) {
            0 => b[at] ^= 1 << rng.below(8),
            1 => b[at] = rng.next() as u8,
            2 => {
                let v: u32 = [
                    0,
                    1,
                    4,
                    11,
                    12,
                    13,
                    0xffff,
                    0x4_0000,
                    0x10_0004,
                    0x7fff_fffc,
                    u32::MAX,
                ][rng.below(11)];
                let at = at & !3;
                let end = (at + 4).min(b.len());
                let bytes = if rng.below(2) == 0 {
                    v.to_le_bytes()
                } else {
                    v.to_be_bytes()
                };
                b[at..end].copy_from_slice(&bytes[..end - at]);
            }
            3 => b.truncate(at),
            4 => {
                let end = (at + rng.below(64)).min(b.len());
                let span = b[at..end].to_vec();
                b.splice(at..at, span);
            }
            _ => {
                let end = (at + rng.below(64)).min(b.len());
                b.drain(at..end);
            }
        }
    }
    b
}

/// Reads to the end, bounding the number of calls (each packet consumes at least 12 bytes
/// of a finite input, so a loop means a bug); returns how it ended, for the tally.
fn read_all(b: Vec<u8>) -> String {
    let limit = b.len() + 10;
    let mut r = match CaptureReader::new(Cursor::new(b)) {
        Ok(r) => r,
        Err(e) => return format!("header: {}", kind(&e)),
    };
    let mut calls = 0;
    let mut end = "clean end".to_string();
    while let Some(p) = r.next_packet() {
        calls += 1;
        assert!(calls <= limit, "reader does not advance");
        match p {
            Ok(p) => {
                let _ = (p.comment, p.options.count(), p.data.len());
            }
            Err(e) => end = kind(&e),
        }
    }
    assert!(r.next_packet().is_none());
    end
}

/// The variant name of an error.
fn kind(e: &flowsight_pcapfile::ReadError) -> String {
    let d = format!("{e:?}");
    d.split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn mutated_files_never_panic_or_allocate_much() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut seeds: Vec<Vec<u8>> = all_fixtures().into_iter().map(|f| f.bytes).collect();
    let gz: Vec<Vec<u8>> = seeds.iter().map(|b| gzip(b)).collect();
    seeds.extend(gz);
    let mut cases = 0;
    let mut tally = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..2000 {
        for s in &seeds {
            *tally.entry(read_all(mutate(&mut rng, s))).or_default() += 1;
            cases += 1;
        }
    }
    for _ in 0..2000 {
        // Random bytes behind each real magic number.
        let mut b = [
            &[0xd4u8, 0xc3, 0xb2, 0xa1][..],
            &[0xa1, 0xb2, 0xcd, 0x34],
            &[0x0a, 0x0d, 0x0d, 0x0a],
            &[0x1f, 0x8b],
        ][rng.below(4)]
        .to_vec();
        for _ in 0..rng.below(300) {
            b.push(rng.next() as u8);
        }
        *tally.entry(read_all(b)).or_default() += 1;
        cases += 1;
    }
    let largest = LARGEST.load(Ordering::Relaxed);
    common::notice(&format!(
        "{cases} mutated inputs, largest allocation {largest} bytes: {tally:?}"
    ));
    assert!(
        largest <= 2 * MAX_BLOCK_LEN as usize,
        "largest single allocation {largest} bytes over {cases} cases"
    );
}

/// An endless-looking pcap made on the fly: a header, then `left` records of 1514 bytes.
struct Generated {
    pending: Vec<u8>,
    at: usize,
    left: u32,
}

impl std::io::Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.pending.len() {
            if self.left == 0 {
                return Ok(0);
            }
            self.left -= 1;
            self.pending.clear();
            for v in [self.left, 0, 1514, 1514] {
                self.pending.extend_from_slice(&v.to_le_bytes());
            }
            self.pending.resize(16 + 1514, 0x45);
            self.at = 0;
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_long_capture_streams_through_without_allocating_per_packet() {
    let mut header = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
    header.extend_from_slice(&[2, 0, 4, 0]);
    for v in [0u32, 0, 65535, 1] {
        header.extend_from_slice(&v.to_le_bytes());
    }
    let packets = 200_000u32; // ~306 MB
    let input = Generated {
        at: 0,
        pending: header,
        left: packets,
    };
    let at_start = ALLOCATIONS.with(Cell::get);
    let mut r = CaptureReader::new(input).unwrap();
    assert!(ALLOCATIONS.with(Cell::get) > at_start, "the counter counts");
    // The first packet sets the buffers up; after it, none may allocate.
    r.next_packet().unwrap().unwrap();
    let before = ALLOCATIONS.with(Cell::get);
    let mut n = 1;
    while let Some(p) = r.next_packet() {
        assert_eq!(p.unwrap().data.len(), 1514);
        n += 1;
    }
    let during = ALLOCATIONS.with(Cell::get) - before;
    assert_eq!(n, packets);
    assert_eq!(r.stream_offset(), 24 + u64::from(packets) * 1530);
    // Other tests in this binary run concurrently and allocate; a per-packet allocation
    // here would show as hundreds of thousands.
    assert!(
        during < 10_000,
        "{during} allocations while reading {n} packets"
    );
}

/// Writes the fixtures, plain and compressed, as a seed corpus for the `reader` fuzz target
/// (`crates/pcapfile/fuzz`) when `FLOWSIGHT_FUZZ_SEEDS` names a directory.
#[test]
fn fixtures_as_fuzz_seeds() {
    let Some(dir) = std::env::var_os("FLOWSIGHT_FUZZ_SEEDS") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in all_fixtures() {
        std::fs::write(dir.join(f.name), &f.bytes).unwrap();
        std::fs::write(dir.join(format!("{}.gz", f.name)), gzip(&f.bytes)).unwrap();
    }
}
