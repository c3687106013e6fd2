//! flowsight-pcapfile: capture files in and out.
//!
//! [`CaptureReader`] feeds `flowsight read FILE` (offline flows and protocol logs);
//! [`PcapngWriter`] is what `flowsight capture -w FILE.pcapng` writes, with room on every
//! packet for the process that sent it (custom options).
//!
//! # Reading
//! One reader for every format, chosen by the file's first bytes, never by its name:
//!
//! * classic pcap in either byte order, microsecond and nanosecond magic, and the modified
//!   ("Kuznetzov") variant with its longer record header;
//! * pcapng: any number of sections, each in its own byte order; interface descriptions with
//!   per-interface link type, snap length, `if_tsresol` and `if_tsoffset`; enhanced, simple
//!   and obsolete packet blocks; every other block (name resolution, statistics, custom,
//!   decryption secrets, unknown) skipped by its length;
//! * either of them gzip-compressed (magic `1f 8b`), and standard input when the path is `-`.
//!
//! [`CaptureReader::next_packet`] lends each [`Packet`] out of one reused buffer: no
//! allocation per packet, and memory bounded by the largest block the reader accepts
//! ([`MAX_BLOCK_LEN`]) however large the file is.
//!
//! # Errors
//! Bad input is a [`ReadError`] saying what was wrong and where (byte offset in the
//! decompressed stream, and the packet number), never a panic. A file cut short in the
//! middle of a record — the common real-world case — is [`ReadError::TruncatedRecord`], so a
//! caller can keep every packet before it and log one line. After any error the reader
//! returns `None`.
//!
//! # Limits
//! A captured length above [`MAX_CAPLEN`] (libpcap's and Wireshark's 256 KiB) is rejected
//! rather than allocated, and so is a packet or header block longer than [`MAX_BLOCK_LEN`];
//! blocks the reader skips may be any length (they are skipped without being buffered). A
//! file may describe at most 65,536 interfaces, which bounds what the reader keeps about
//! them.
// Three `unsafe` blocks in the crate: mapping a file (reader.rs, `map_file`), giving its
// pages back (source.rs, `release`) and asking for its cache lines ahead (source.rs,
// `prefetch`).
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod gzip;
mod info;
mod link;
mod options;
mod order;
mod packet;
mod pcap;
mod pcapng;
mod progress;
mod reader;
mod source;
mod writer;

pub use error::{ReadError, WriteError};
pub use info::{Compression, FileInfo, Format, Interface};
pub use link::LinkType;
pub use options::{CustomOption, Options, PcapngOption, code};
pub use order::ByteOrder;
pub use packet::Packet;
pub use progress::Progress;
pub use reader::{CaptureReader, Position};
pub use writer::{EnhancedPacket, EpbOption, FLOWSIGHT_PEN, InterfaceSpec, PcapngWriter};

/// The largest captured length accepted, in bytes: libpcap's `MAXIMUM_SNAPLEN` and
/// Wireshark's standard maximum (256 KiB). A larger length in a record header is
/// [`ReadError::CaptureTooLarge`]: it is far more likely corruption than a packet, and
/// honouring it would let a hostile file choose the reader's allocation.
pub const MAX_CAPLEN: u32 = 256 * 1024;

/// The largest pcapng block the reader buffers whole (section headers, interface
/// descriptions and packet blocks): room for a [`MAX_CAPLEN`] packet and generous options.
/// Larger blocks of a kind the reader skips are skipped without buffering; a larger block
/// that must be parsed is [`ReadError::BlockTooLarge`].
pub const MAX_BLOCK_LEN: u32 = 1024 * 1024;
