//! The one reused input buffer that packets are lent out of.
//!
//! The buffer holds a window of the (decompressed) stream. Parsers ask for `n` bytes at the
//! current position with [`Source::fill`], look at them in place, and [`Source::consume`] them;
//! a returned packet borrows the buffer until the next call, which is when the window may
//! move. The buffer grows only when one record does not fit, and records are bounded by
//! [`crate::MAX_BLOCK_LEN`], so memory is bounded whatever the file size.
//!
//! A plain file can instead be mapped into memory whole: the window is then the file itself
//! and nothing is copied (see [`Source::mapped`]).

use memmap2::Mmap;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Start size; also the size of each read from the input (fewer, larger reads are faster,
/// and a compaction copies at most one partial record).
const INITIAL_CAPACITY: usize = 256 * 1024;

/// How far a mapped file's parsers move before the pages behind them are given back.
const RELEASE_STEP: usize = 16 << 20;

/// The largest page a mapped file is mapped in.
const HUGE_PAGE: usize = 2 << 20;

/// Where the bytes are.
enum Bytes {
    /// A buffer refilled from a stream.
    Read(Box<dyn Read + Send>, Vec<u8>),
    /// The whole file, mapped: one mapping for every reader sharing a walk of it
    /// ([`Source::share`]).
    Mapped(Arc<Mapping>),
}

/// A mapped file and how much of it was given back.
struct Mapping {
    map: Mmap,
    /// The bytes before this offset were given back (see [`Source::release_before`]).
    released: AtomicUsize,
}

/// A buffered window over the input stream.
pub(crate) struct Source {
    bytes: Bytes,
    /// Start of the unconsumed bytes.
    pos: usize,
    /// End of the valid bytes.
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// The input said end of file; it is not read again.
    eof: bool,
    /// The input ended with `UnexpectedEof`: a decompressor whose stream was cut short.
    cut_short: bool,
    /// A mapped file's bytes before this offset were prefetched (see
    /// [`Source::release_behind`]).
    prefetched: usize,
    /// A mapped file's pages before this offset were mapped ahead of the walk (see
    /// [`Source::release_behind`]).
    populated: usize,
    /// Pages are given back only by [`Source::release_before`], not behind the walk.
    keep_pages: bool,
}

impl Source {
    pub(crate) fn new(inner: Box<dyn Read + Send>) -> Source {
        Source {
            bytes: Bytes::Read(inner, vec![0; INITIAL_CAPACITY]),
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
            cut_short: false,
            prefetched: 0,
            populated: 0,
            keep_pages: false,
        }
    }

    /// The whole of a mapped file: every byte is available at once, none is copied.
    pub(crate) fn mapped(map: Mmap) -> Source {
        Source {
            pos: 0,
            end: map.len(),
            base: 0,
            eof: true,
            cut_short: false,
            prefetched: 0,
            populated: 0,
            keep_pages: false,
            bytes: Bytes::Mapped(Arc::new(Mapping {
                map,
                released: AtomicUsize::new(0),
            })),
        }
    }

    /// Another source over the same mapped file, at the same place: the two read the one
    /// mapping (each page is mapped once for both), and neither gives pages back behind its
    /// walk any more ([`Source::keep_pages`]). `None` for a stream.
    pub(crate) fn share(&mut self) -> Option<Source> {
        let Bytes::Mapped(mapping) = &self.bytes else {
            return None;
        };
        self.keep_pages = true;
        Some(Source {
            bytes: Bytes::Mapped(mapping.clone()),
            pos: self.pos,
            end: self.end,
            base: 0,
            eof: true,
            cut_short: false,
            prefetched: self.prefetched,
            populated: self.populated,
            keep_pages: true,
        })
    }

    /// For a mapped file, gives back the pages the parsers have left behind, every
    /// [`RELEASE_STEP`] bytes, maps the pages ahead of them [`POPULATE_STEP`] bytes at a
    /// time, and asks for the lines ahead of them. The pages given back
    /// stay in the page cache; only this process's mapping of them goes, so its resident
    /// size stays the heap's plus some megabytes instead of growing to the file's size.
    #[inline]
    pub(crate) fn release_behind(&mut self) {
        let Bytes::Mapped(mapping) = &self.bytes else {
            return;
        };
        if self.pos + POPULATE_STEP / 4 > self.populated && self.populated < self.end {
            // Past a large packet or a seek, from where the walk is.
            let from = self.populated.max(self.pos & !0xffff);
            populate(mapping, from, POPULATE_STEP.min(self.end - from));
            self.populated = from + POPULATE_STEP;
        }
        let map = &mapping.map;
        // The CPU's own prefetcher stops at every 4 KiB page, and a walk over the records
        // touches a line or two of each: ask for the lines a little ahead of the walk.
        if self.pos + PREFETCH_AHEAD > self.prefetched && self.prefetched < self.end {
            // Past a large packet, start again where the walk is, not where it was.
            self.prefetched = self.prefetched.max(self.pos & !4095);
            // A page's worth at a time, its bounds checked once: a loop of fixed length over
            // a fixed array, unrolled. (A short last page of the file is not asked for.)
            let page = self.prefetched;
            if let Some(lines) = map.get(page..page + 4096)
                && let Ok(lines) = <&[u8; 4096]>::try_from(lines)
            {
                for line in 0..64 {
                    prefetch(&lines[line * 64..]);
                }
            }
            self.prefetched += 4096;
        }
        if !self.keep_pages {
            self.release_before(self.pos);
        }
    }

    /// For a mapped file, gives back the pages before `offset` (in steps of
    /// [`RELEASE_STEP`]): for a reader that also reads records again behind its walk, which
    /// asked for [`Source::keep_pages`].
    #[inline]
    pub(crate) fn release_before(&mut self, offset: usize) {
        let Bytes::Mapped(mapping) = &self.bytes else {
            return;
        };
        let released = mapping.released.load(Ordering::Relaxed);
        if offset >= released + RELEASE_STEP {
            // madvise wants a page-aligned start, and a huge page given back in part is
            // split (reader.rs maps the file in huge pages where it can): 2 MiB is a
            // multiple of every page size.
            let end = offset.min(self.end) & !(HUGE_PAGE - 1);
            // One of the sources sharing the mapping gives each range back.
            if mapping
                .released
                .compare_exchange(released, end, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                release(&mapping.map, released, end - released);
            }
        }
    }

    /// Pages behind the walk stay mapped until [`Source::release_before`] gives them back.
    pub(crate) fn keep_pages(&mut self) {
        self.keep_pages = true;
    }

    /// For a mapped file, moves the walk to `offset` (at most the file's length); `false`,
    /// and nothing moved, for a stream.
    pub(crate) fn seek(&mut self, offset: usize) -> bool {
        if !self.is_mapped() || offset > self.end {
            return false;
        }
        self.pos = offset;
        true
    }

    /// For a mapped file, asks the CPU for the two cache lines from `offset` (a record
    /// about to be read: its header and the first headers of its packet).
    #[inline]
    pub(crate) fn prefetch_at(&self, offset: usize) {
        if let Bytes::Mapped(mapping) = &self.bytes
            && let Some(lines) = mapping.map.get(offset..)
        {
            prefetch(lines);
            if let Some(next) = lines.get(64..) {
                prefetch(next);
            }
        }
    }

    /// Whether the source is a mapped file.
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self.bytes, Bytes::Mapped(_))
    }

    /// The stream offset of the next unconsumed byte.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The buffer index of the next unconsumed byte (for building ranges into [`Source::buf`]).
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The whole buffer; only ranges handed out by the parsers are meaningful.
    #[inline]
    pub(crate) fn buf(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Read(_, buf) => buf,
            Bytes::Mapped(mapping) => &mapping.map,
        }
    }

    /// Makes at least `n` unconsumed bytes available unless the input ends first, and returns
    /// how many are available (fewer than `n` only at end of input).
    #[inline]
    pub(crate) fn fill(&mut self, n: usize) -> io::Result<usize> {
        let have = self.available();
        if have >= n {
            return Ok(have);
        }
        self.fill_slow(n)
    }

    #[cold]
    fn fill_slow(&mut self, n: usize) -> io::Result<usize> {
        let Bytes::Read(inner, buf) = &mut self.bytes else {
            // A mapped file has nothing more to read.
            return Ok(self.end - self.pos);
        };
        if self.pos + n > buf.len() {
            buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
            if n > buf.len() {
                buf.resize(n.next_power_of_two(), 0);
            }
        }
        while self.end - self.pos < n && !self.eof {
            match inner.read(&mut buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // A decoder reports a cut stream this way, after handing out everything it
                // could decode: treat it as the end, so the parsers see the cut record as
                // truncated, and remember why.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.eof = true;
                    self.cut_short = true;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.pos)
    }

    /// Whether the input ended early (a compressed stream cut short) rather than cleanly.
    pub(crate) fn cut_short(&self) -> bool {
        self.cut_short
    }

    /// Unconsumed bytes held now, without reading more.
    #[inline]
    pub(crate) fn available(&self) -> usize {
        self.end - self.pos
    }

    /// The next `n` unconsumed bytes; `n` must not exceed what [`Source::fill`] returned.
    #[inline]
    pub(crate) fn peek(&self, n: usize) -> &[u8] {
        &self.buf()[self.pos..self.pos + n]
    }

    /// Marks `n` available bytes as read.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.pos);
        self.pos += n;
    }

    /// Discards `n` bytes without buffering them (for long blocks nobody reads); returns how
    /// many were discarded, fewer than `n` only at end of input.
    pub(crate) fn skip(&mut self, n: u64) -> io::Result<u64> {
        let mut left = n;
        loop {
            let here = ((self.end - self.pos) as u64).min(left);
            self.consume(here as usize);
            left -= here;
            if left == 0 {
                return Ok(n);
            }
            if self.is_mapped() {
                return Ok(n - left);
            }
            // The buffer is drained: refill from its start.
            self.base += self.end as u64;
            self.pos = 0;
            self.end = 0;
            if self.fill(1)? == 0 {
                return Ok(n - left);
            }
        }
    }
}

/// How much of a mapped file is mapped at once ahead of the parsers: one system call instead
/// of a page fault per 64 KiB (the kernel's fault-around), 2-4% of a walk's time.
const POPULATE_STEP: usize = 1 << 20;

/// Maps the pages of `len` bytes of `mapping` from `offset` (page-aligned by the callee).
fn populate(mapping: &Mapping, offset: usize, len: usize) {
    // An error (a kernel before 5.14 has no MADV_POPULATE_READ) leaves the pages to fault in
    // as they are read; elsewhere than Linux they always do.
    #[cfg(target_os = "linux")]
    let _ = mapping
        .map
        .advise_range(memmap2::Advice::PopulateRead, offset, len);
    #[cfg(not(target_os = "linux"))]
    let _ = (mapping, offset, len);
}

/// How far ahead of the parsers a mapped file's cache lines are asked for.
const PREFETCH_AHEAD: usize = 4096;

/// Asks the CPU for the cache line `line` starts in, into the second-level cache (`T1`:
/// the walk reads a line or two of each record, and the first-level cache is the engine's;
/// 3-6% less time than `T0` in alternating runs with two threads).
#[inline]
fn prefetch(line: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: a prefetch is a hint: it reads nothing into the program and cannot fault;
    // the address is inside the mapping besides. SSE is part of x86-64.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T1, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T1>(line.as_ptr().cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = line;
}

/// Drops `len` bytes of `map` from `offset` from the process's mapping.
#[allow(unsafe_code)]
fn release(map: &Mmap, offset: usize, len: usize) {
    // SAFETY: MADV_DONTNEED on a read-only shared file mapping only removes the page table
    // entries: a later access faults the same file bytes back in from the page cache, so a
    // reference into the map sees the same bytes.
    // An error leaves the pages mapped, which is only memory.
    let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most 3 bytes per call, as pipes and decoders may.
    struct Dribble(Vec<u8>, usize);
    impl Read for Dribble {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(3).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn fill_peek_consume_skip_track_offsets() {
        let data: Vec<u8> = (0..=255u8).cycle().take(INITIAL_CAPACITY + 1000).collect();
        let mut s = Source::new(Box::new(Dribble(data.clone(), 0)));
        assert_eq!(s.fill(10).unwrap(), 12); // whole reads of 3
        assert_eq!(s.peek(4), &data[..4]);
        s.consume(5);
        assert_eq!(s.offset(), 5);
        // Past the initial capacity: the window moves and the buffer grows.
        let big = INITIAL_CAPACITY + 10;
        assert!(s.fill(big).unwrap() >= big);
        assert_eq!(s.peek(3), &data[5..8]);
        assert_eq!(s.skip(1000).unwrap(), 1000);
        assert_eq!(s.offset(), 1005);
        assert_eq!(s.peek(1), &data[1005..1006]);
        let rest = (data.len() - 1005) as u64;
        assert_eq!(s.skip(rest + 7).unwrap(), rest);
        assert_eq!(s.fill(1).unwrap(), 0);
        assert_eq!(s.offset(), data.len() as u64);
    }
}
