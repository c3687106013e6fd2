//! The reader: opens any supported file and lends its packets out one at a time.

use crate::packet::Meta;
use crate::pcap::{self, PcapState};
use crate::pcapng::{self, PcapngState};
use crate::source::Source;
use crate::{ByteOrder, Compression, FileInfo, Format, Packet, Progress, ReadError, gzip};
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// A streaming reader of pcap and pcapng files, plain or gzip-compressed.
///
/// ```no_run
/// # fn main() -> Result<(), flowsight_pcapfile::ReadError> {
/// let mut reader = flowsight_pcapfile::CaptureReader::open("trace.pcapng.gz")?;
/// while let Some(packet) = reader.next_packet() {
///     match packet {
///         Ok(p) => println!("{} {} bytes on {}", p.ts_ns, p.data.len(), p.link),
///         Err(e) if e.is_truncation() => eprintln!("warning: {e}"),
///         Err(e) => return Err(e),
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct CaptureReader {
    src: Source,
    kind: Kind,
    info: FileInfo,
    progress: Progress,
    /// Packets handed out so far.
    packets: u64,
    /// End of file or an error was reported: nothing more is read.
    done: bool,
}

enum Kind {
    Pcap(PcapState),
    Pcapng(PcapngState),
}

impl CaptureReader {
    /// Opens a capture file, or standard input when `path` is `-`, and reads its header.
    ///
    /// A plain (uncompressed) regular file is mapped into memory rather than read: its
    /// packets are lent straight out of the page cache, with no copy (a third less kernel
    /// time on a warm file). As with ripgrep's maps, a file changed or cut shorter
    /// by another process while it is read is not supported (a cut ends the process with
    /// SIGBUS); [`CaptureReader::open_read`] reads with `read(2)` instead.
    pub fn open(path: impl AsRef<Path>) -> Result<CaptureReader, ReadError> {
        CaptureReader::open_with(path.as_ref(), true)
    }

    /// [`CaptureReader::open`], always reading through a buffer, never mapping: for a file
    /// that may be cut shorter while it is read, or a mapping the platform refuses.
    pub fn open_read(path: impl AsRef<Path>) -> Result<CaptureReader, ReadError> {
        CaptureReader::open_with(path.as_ref(), false)
    }

    fn open_with(path: &Path, map: bool) -> Result<CaptureReader, ReadError> {
        if path == Path::new("-") {
            return CaptureReader::with_size(io::stdin(), None);
        }
        let file = File::open(path).map_err(|source| ReadError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let size = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        if map
            && size.is_some_and(|n| n > 0)
            && let Some(map) = map_file(&file)
            && !map.starts_with(&gzip::MAGIC)
        {
            let progress = Progress::new(size);
            return CaptureReader::from_source(Source::mapped(map), Compression::None, progress);
        }
        CaptureReader::with_size(file, size)
    }

    /// Reads a capture from any byte stream (a pipe, a socket, bytes in memory) and reads
    /// its header. The stream is read in large blocks: it needs no buffering of its own.
    pub fn new<R: Read + Send + 'static>(input: R) -> Result<CaptureReader, ReadError> {
        CaptureReader::with_size(input, None)
    }

    /// [`CaptureReader::new`], with the stream's total size for [`CaptureReader::progress`].
    pub fn with_size<R: Read + Send + 'static>(
        input: R,
        size: Option<u64>,
    ) -> Result<CaptureReader, ReadError> {
        let io0 = |source| ReadError::Io { offset: 0, source };
        let progress = Progress::new(size);
        let (stream, compression) =
            gzip::decompressed(Box::new(progress.counting(input))).map_err(io0)?;
        CaptureReader::from_source(Source::new(stream), compression, progress)
    }

    /// Reads the file header from `src` (at its start).
    fn from_source(
        mut src: Source,
        compression: Compression,
        progress: Progress,
    ) -> Result<CaptureReader, ReadError> {
        let io0 = |source| ReadError::Io { offset: 0, source };
        let size = progress.total_bytes();
        let compressed = compression == Compression::Gzip;
        let got = src.fill(8).map_err(io0)?;
        if got == 0 {
            if src.cut_short() {
                return Err(ReadError::TruncatedCompressed {
                    offset: 0,
                    packet: 1,
                });
            }
            return Err(ReadError::Empty { compressed });
        }
        let not_capture = |src: &Source| ReadError::NotACaptureFile {
            first_bytes: src.peek(got.min(8)).to_vec(),
            compressed,
        };
        if got < 4 {
            return Err(match known_prefix(src.peek(got)) {
                Some(format) => ReadError::TruncatedHeader {
                    format,
                    needed: 24,
                    available: got as u64,
                },
                None => not_capture(&src),
            });
        }
        let magic = [
            src.peek(4)[0],
            src.peek(4)[1],
            src.peek(4)[2],
            src.peek(4)[3],
        ];
        let (kind, format, byte_order, version, interfaces, sections, shb) =
            if let Some((format, order)) = pcap::magic(magic) {
                let (st, iface, version) = pcap::read_header(&mut src, format, order)?;
                (Kind::Pcap(st), format, order, version, vec![iface], 1, None)
            } else if u32::from_le_bytes(magic) == pcapng::SHB {
                let (st, shb) = pcapng::read_first_section(&mut src).map_err(|e| match e {
                    ReadError::NotACaptureFile { first_bytes, .. } => ReadError::NotACaptureFile {
                        first_bytes,
                        compressed,
                    },
                    e => e,
                })?;
                let (order, version) = (shb.order, shb.version);
                (
                    Kind::Pcapng(st),
                    Format::Pcapng,
                    order,
                    version,
                    Vec::new(),
                    1,
                    Some(shb),
                )
            } else {
                return Err(not_capture(&src));
            };
        let (hardware, os, application) = match shb {
            Some(s) => (s.hardware, s.os, s.application),
            None => (None, None, None),
        };
        Ok(CaptureReader {
            src,
            kind,
            info: FileInfo {
                format,
                compression,
                byte_order,
                version,
                interfaces,
                sections,
                application,
                os,
                hardware,
                file_size: size,
            },
            progress,
            packets: 0,
            done: false,
        })
    }

    /// The next packet, borrowing the reader's buffer until the next call; `None` at the end
    /// of the file and after an error.
    #[inline]
    pub fn next_packet(&mut self) -> Option<Result<Packet<'_>, ReadError>> {
        if self.done {
            return None;
        }
        // The packet lent out last is no longer borrowed: the pages behind may go.
        self.src.release_behind();
        // A classic pcap record whole in the buffer (nearly every record of a pcap file):
        // read here, without the general path's refills and error reports, which cost
        // more than the read itself (~200 instructions a packet, most of it moving results
        // and saving registers around code that never runs).
        if let Kind::Pcap(st) = &self.kind
            && let Some(meta) = pcap::next_whole(st, &mut self.src)
        {
            self.packets += 1;
            self.walked();
            return Some(Ok(meta.packet(self.src.buf())));
        }
        self.next_packet_any()
    }

    /// A mapped file is "read" as far as the records were walked.
    #[inline]
    fn walked(&self) {
        if self.src.is_mapped() {
            self.progress.set(self.src.offset());
        }
    }

    /// [`CaptureReader::next_packet`] for every format and case, once the reader is known
    /// not to be done.
    #[inline(never)]
    fn next_packet_any(&mut self) -> Option<Result<Packet<'_>, ReadError>> {
        let number = self.packets + 1;
        let res: Result<Option<Meta>, ReadError> = match &mut self.kind {
            Kind::Pcap(st) => pcap::next(st, &mut self.src, number),
            Kind::Pcapng(st) => pcapng::next(st, &mut self.src, &mut self.info, number),
        };
        self.walked();
        match res {
            Ok(Some(meta)) => {
                self.packets = number;
                Some(Ok(meta.packet(self.src.buf())))
            }
            Ok(None) => {
                self.done = true;
                self.src
                    .cut_short()
                    .then_some(Err(ReadError::TruncatedCompressed {
                        offset: self.src.offset(),
                        packet: number,
                    }))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    /// What the file says about itself; pcapng interfaces and sections are added as the
    /// reader meets them.
    pub fn info(&self) -> &FileInfo {
        &self.info
    }

    /// The container format.
    pub fn format(&self) -> Format {
        self.info.format
    }

    /// The byte order of the pcap file header or of the first pcapng section.
    pub fn byte_order(&self) -> ByteOrder {
        self.info.byte_order
    }

    /// Packets handed out so far.
    pub fn packets_read(&self) -> u64 {
        self.packets
    }

    /// Bytes taken from the underlying file or stream so far: compressed bytes for a gzip
    /// file, so that this and [`FileInfo::file_size`] make a progress bar.
    pub fn bytes_read(&self) -> u64 {
        self.progress.bytes_read()
    }

    /// A handle on [`CaptureReader::bytes_read`] and the total size that another thread can
    /// poll.
    pub fn progress(&self) -> Progress {
        self.progress.clone()
    }

    /// Whether the file is mapped into memory rather than read (see [`CaptureReader::open`]).
    pub fn is_mapped(&self) -> bool {
        self.src.is_mapped()
    }

    /// The offset in the (decompressed) capture stream of the next record: what error
    /// offsets count.
    pub fn stream_offset(&self) -> u64 {
        self.src.offset()
    }
}

/// Where a walk of a file is: the offset of its next record and the packets before it
/// ([`CaptureReader::position`]), for another reader of the same file to go on from
/// ([`CaptureReader::seek`]) or to read a record again ([`CaptureReader::packet_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The record's offset in the file.
    pub offset: u64,
    /// Packets before it.
    pub packets: u64,
}

/// Revisiting records: several readers of one mapped file share a walk, each reading only
/// part of the file and going back to records another reader found
/// (`flowsight read --threads`).
impl CaptureReader {
    /// Whether [`CaptureReader::seek`] and [`CaptureReader::packet_at`] work: a mapped
    /// classic pcap file (a pcapng record's meaning depends on the blocks before it).
    pub fn revisitable(&self) -> bool {
        self.src.is_mapped() && matches!(self.kind, Kind::Pcap(_))
    }

    /// Where the walk is: the next record's offset and the packets handed out before it.
    #[inline]
    pub fn position(&self) -> Position {
        Position {
            offset: self.src.offset(),
            packets: self.packets,
        }
    }

    /// Goes on reading at `to`, a [`CaptureReader::position`] a reader of the same file
    /// reached: the next packet is the record there. `false`, and nothing moved, when the
    /// file is not [`CaptureReader::revisitable`] or `to` is past its end.
    pub fn seek(&mut self, to: Position) -> bool {
        let Ok(offset) = usize::try_from(to.offset) else {
            return false;
        };
        if !self.revisitable() || !self.src.seek(offset) {
            return false;
        }
        self.packets = to.packets;
        self.done = false;
        true
    }

    /// The packet whose record starts at `offset`: a [`CaptureReader::position`] a walk of
    /// the same file had just before reading it. `None` when the file is not
    /// [`CaptureReader::revisitable`] or no whole, acceptable record starts there.
    #[inline]
    pub fn packet_at(&self, offset: u64) -> Option<Packet<'_>> {
        let Kind::Pcap(st) = &self.kind else {
            return None;
        };
        if !self.src.is_mapped() {
            return None;
        }
        let buf = self.src.buf();
        let meta = pcap::record_at(st, buf, usize::try_from(offset).ok()?)?;
        Some(meta.packet(buf))
    }

    /// Asks the CPU for the first bytes of the record at `offset` (a mapped file's), which
    /// [`CaptureReader::packet_at`] will read soon.
    #[inline]
    pub fn prefetch_at(&self, offset: u64) {
        if let Ok(offset) = usize::try_from(offset) {
            self.src.prefetch_at(offset);
        }
    }

    /// Another reader of the same mapped classic pcap file, at the same place, over the same
    /// mapping: readers sharing a walk map each page once between them. Neither reader
    /// gives pages back behind its walk from then on ([`CaptureReader::keep_pages`]): the
    /// pages one has left another may still read. `None` when the file is not
    /// [`CaptureReader::revisitable`].
    pub fn share(&mut self) -> Option<CaptureReader> {
        let Kind::Pcap(st) = &self.kind else {
            return None;
        };
        let st = *st;
        Some(CaptureReader {
            src: self.src.share()?,
            kind: Kind::Pcap(st),
            info: self.info.clone(),
            progress: self.progress.clone(),
            packets: self.packets,
            done: self.done,
        })
    }

    /// Keeps the pages of a mapped file behind the walk mapped, for
    /// [`CaptureReader::packet_at`] to read records there, until
    /// [`CaptureReader::release_before`] gives them back. (By default they are given back as
    /// the walk leaves them, so that the process's resident size does not grow to the
    /// file's.)
    pub fn keep_pages(&mut self) {
        self.src.keep_pages();
    }

    /// Gives back the pages of a mapped file before `offset` (see
    /// [`CaptureReader::keep_pages`]); they stay in the page cache. Readers sharing a
    /// mapping ([`CaptureReader::share`]) share what was given back: `offset` must be
    /// behind every one of them.
    #[inline]
    pub fn release_before(&mut self, offset: u64) {
        if let Ok(offset) = usize::try_from(offset) {
            self.src.release_before(offset);
        }
    }
}

impl fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaptureReader")
            .field("info", &self.info)
            .field("packets", &self.packets)
            .field("stream_offset", &self.src.offset())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// `file` mapped read-only, or `None` when the platform refuses (the caller reads it).
#[allow(unsafe_code)]
fn map_file(file: &File) -> Option<memmap2::Mmap> {
    // SAFETY: the map is only read, and is sound as long as no one writes or truncates the
    // file while it is mapped: the same contract ripgrep's maps rely on. A truncation raises
    // SIGBUS on the next access past the new end, a rewrite under a live slice breaks
    // Rust's aliasing rules; `open`'s doc says so, and `open_read` (`read --no-mmap`) is the
    // way around it. Captures being read are rarely still being written.
    let map = unsafe { memmap2::Mmap::map(file) }.ok()?;
    // Read ahead, and drop pages behind: a capture is walked once, front to back.
    let _ = map.advise(memmap2::Advice::Sequential);
    // Mapped in 2 MiB pages where the page cache holds the file in 2 MiB folios, which it
    // does when the file was read from disk through such a mapping (the kernel reads ahead a
    // huge page at a time for it): mapping and giving back 512 times fewer pages, ~11% of a
    // two-thread read of the synthetic capture (docs/benchmarks.md, run P). A file cached in
    // small folios (one just written or copied) is mapped in 4 KiB pages as before.
    #[cfg(target_os = "linux")]
    let _ = map.advise(memmap2::Advice::HugePage);
    Some(map)
}

/// The format whose magic number starts with `b` (shorter than a magic number), if any.
fn known_prefix(b: &[u8]) -> Option<&'static str> {
    const PCAP: [[u8; 4]; 6] = [
        [0xd4, 0xc3, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xc3, 0xd4],
        [0x4d, 0x3c, 0xb2, 0xa1],
        [0xa1, 0xb2, 0x3c, 0x4d],
        [0x34, 0xcd, 0xb2, 0xa1],
        [0xa1, 0xb2, 0xcd, 0x34],
    ];
    if PCAP.iter().any(|m| m.starts_with(b)) {
        Some("pcap")
    } else if [0x0a, 0x0d, 0x0d, 0x0a].starts_with(b) {
        Some("pcapng")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_can_move_to_another_thread() {
        fn send<T: Send>() {}
        send::<CaptureReader>();
        send::<Progress>();
    }

    #[test]
    fn short_inputs_that_start_like_a_magic_are_truncated_headers() {
        assert_eq!(known_prefix(&[0xa1, 0xb2]), Some("pcap"));
        assert_eq!(known_prefix(&[0x0a]), Some("pcapng"));
        assert_eq!(known_prefix(b"GI"), None);
    }
}
