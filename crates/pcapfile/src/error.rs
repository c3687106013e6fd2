//! What can go wrong reading or writing a capture file.
//!
//! Every read error says where: `offset` is the byte offset in the (decompressed) stream of
//! the record or block at fault, and `packet` the 1-based number the next packet would have
//! had (tshark's frame number), so "packet 1201 at byte 822001" points at the spot.

use std::path::PathBuf;
use std::{fmt, io};

/// Why a capture file could not be read (further).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened.
    #[error("cannot open {}: {source}", path.display())]
    Open {
        /// The path given.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },

    /// The input is empty (after decompression, if it was gzip).
    #[error("the file is empty{}", if *.compressed { " (after gzip decompression)" } else { "" })]
    Empty {
        /// Whether it was gzip-compressed.
        compressed: bool,
    },

    /// The first bytes are no pcap or pcapng magic number.
    #[error("not a pcap or pcapng file{}: it starts with {}", if *.compressed { " (after gzip decompression)" } else { "" }, FirstBytes(first_bytes))]
    NotACaptureFile {
        /// Up to the first 8 bytes of the (decompressed) input.
        first_bytes: Vec<u8>,
        /// Whether it was gzip-compressed.
        compressed: bool,
    },

    /// A file or section header names a format version this reader does not know
    /// (pcap 2.x and pcapng 1.0/1.2 are read).
    #[error("unsupported {format} version {major}.{minor} at byte {offset}")]
    UnsupportedVersion {
        /// `pcap` or `pcapng`.
        format: &'static str,
        /// The major version found.
        major: u16,
        /// The minor version found.
        minor: u16,
        /// Where the header starts.
        offset: u64,
    },

    /// The input ends inside the pcap file header or the first pcapng section header.
    #[error("{format} file header truncated: it needs {needed} bytes, the file has {available}")]
    TruncatedHeader {
        /// `pcap` or `pcapng`.
        format: &'static str,
        /// Bytes the header needs.
        needed: u64,
        /// Bytes the input has.
        available: u64,
    },

    /// The input ends inside a packet record or block: the usual state of a capture whose
    /// writer was killed. Every packet before it was read; callers typically log one line
    /// and keep them.
    #[error(
        "truncated at byte {offset} (packet {packet}): the {what} there needs {needed} bytes, the file has {available} left"
    )]
    TruncatedRecord {
        /// Where the cut record or block starts.
        offset: u64,
        /// The number the packet would have had.
        packet: u64,
        /// What was cut: `record header`, `packet record` or `pcapng block`.
        what: &'static str,
        /// Bytes the record needs.
        needed: u64,
        /// Bytes left in the input.
        available: u64,
    },

    /// The gzip stream ends early, at a record boundary of the decompressed capture (a cut
    /// inside a record is [`ReadError::TruncatedRecord`]): the usual state of a compressed
    /// capture whose writer was killed. Every packet before it was read.
    #[error(
        "the gzip stream is cut short after byte {offset} of the capture (before packet {packet})"
    )]
    TruncatedCompressed {
        /// The decompressed bytes read.
        offset: u64,
        /// The number the next packet would have had.
        packet: u64,
    },

    /// A pcapng block's length field is impossible: below 12, not a multiple of 4,
    /// different from the copy at the end of the block, or too short for what the block
    /// holds.
    #[error(
        "pcapng block type {block_type:#010x} at byte {offset} (before packet {packet}): length {length} {problem}"
    )]
    BlockLength {
        /// Where the block starts.
        offset: u64,
        /// The number the next packet would have had.
        packet: u64,
        /// The block type.
        block_type: u32,
        /// The length field at the start of the block.
        length: u32,
        /// What is wrong with it.
        problem: &'static str,
    },

    /// A pcapng block that must be parsed (section header, interface description, packet)
    /// is longer than [`crate::MAX_BLOCK_LEN`].
    #[error(
        "pcapng block type {block_type:#010x} at byte {offset} (before packet {packet}) is {length} bytes, over the {limit}-byte limit"
    )]
    BlockTooLarge {
        /// Where the block starts.
        offset: u64,
        /// The number the next packet would have had.
        packet: u64,
        /// The block type.
        block_type: u32,
        /// Its length field.
        length: u32,
        /// The limit, [`crate::MAX_BLOCK_LEN`].
        limit: u32,
    },

    /// A record claims more captured bytes than [`crate::MAX_CAPLEN`]: corruption, or a
    /// hostile file asking for a huge allocation.
    #[error(
        "packet {packet} at byte {offset} claims {caplen} captured bytes, over the {limit}-byte limit"
    )]
    CaptureTooLarge {
        /// Where the record starts.
        offset: u64,
        /// The packet's number.
        packet: u64,
        /// The captured length it claims.
        caplen: u32,
        /// The limit, [`crate::MAX_CAPLEN`].
        limit: u32,
    },

    /// A pcapng packet block names an interface that its section has not described.
    #[error(
        "packet {packet} at byte {offset} names interface {interface}, but its section describes {known}"
    )]
    UnknownInterface {
        /// Where the block starts.
        offset: u64,
        /// The packet's number.
        packet: u64,
        /// The interface id in the block.
        interface: u32,
        /// How many interfaces the section has described so far.
        known: usize,
    },

    /// A pcapng block is well framed but its content is invalid (for example a section
    /// header with a bad byte-order magic, or an interface description too short to hold
    /// its fixed fields).
    #[error(
        "pcapng block type {block_type:#010x} at byte {offset} (before packet {packet}): {problem}"
    )]
    Malformed {
        /// Where the block starts.
        offset: u64,
        /// The number the next packet would have had.
        packet: u64,
        /// The block type.
        block_type: u32,
        /// What is wrong.
        problem: &'static str,
    },

    /// Reading the input failed, including corrupt gzip data.
    #[error("read error at byte {offset}: {source}")]
    Io {
        /// The stream offset the reader had reached.
        offset: u64,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl ReadError {
    /// Whether this is a capture cut short (header, record or compressed stream): everything before the cut was
    /// good, and callers usually warn rather than fail.
    pub fn is_truncation(&self) -> bool {
        matches!(
            self,
            ReadError::TruncatedRecord { .. }
                | ReadError::TruncatedHeader { .. }
                | ReadError::TruncatedCompressed { .. }
        )
    }
}

/// Why a [`crate::PcapngWriter`] refused a block.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Writing to the output failed.
    #[error("write error: {0}")]
    Io(#[from] io::Error),

    /// A packet names an interface that was never added.
    #[error("packet names interface {interface}, but only {known} were added")]
    UnknownInterface {
        /// The interface id given.
        interface: u32,
        /// How many interfaces were added.
        known: usize,
    },

    /// A packet's data is longer than [`crate::MAX_CAPLEN`], which readers reject.
    #[error("packet of {len} captured bytes is over the {limit}-byte limit")]
    PacketTooLarge {
        /// The data length.
        len: usize,
        /// The limit, [`crate::MAX_CAPLEN`].
        limit: u32,
    },

    /// A packet's original length is smaller than its captured data.
    #[error("original length {orig_len} is less than the {captured} bytes captured")]
    OrigLenTooSmall {
        /// The original length given.
        orig_len: u32,
        /// The captured length.
        captured: usize,
    },

    /// An option value is longer than the 65,535 bytes an option can hold.
    #[error("option {code} is {len} bytes, over the 65535-byte limit")]
    OptionTooLong {
        /// The option code.
        code: u16,
        /// Its value's length.
        len: usize,
    },

    /// pcapng interface descriptions store the link type in 16 bits.
    #[error("link type {0} does not fit in pcapng's 16-bit field")]
    LinkTypeTooLarge(u32),
}

/// Hex and printable text of a file's first bytes, with a guess at what the file is when the
/// magic is a well-known one (a capture compressed with something other than gzip is the
/// usual mistake).
struct FirstBytes<'a>(&'a [u8]);

impl fmt::Display for FirstBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02x}")?;
        }
        let text: String = self
            .0
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        write!(f, " ({text:?})")?;
        if let Some(what) = guess(self.0) {
            write!(f, "; this looks like {what}")?;
        }
        Ok(())
    }
}

fn guess(b: &[u8]) -> Option<&'static str> {
    const KNOWN: &[(&[u8], &str)] = &[
        (
            b"\x28\xb5\x2f\xfd",
            "zstd-compressed data (decompress it first)",
        ),
        (b"BZh", "bzip2-compressed data (decompress it first)"),
        (b"\xfd7zXZ\x00", "xz-compressed data (decompress it first)"),
        (
            b"\x04\x22\x4d\x18",
            "lz4-compressed data (decompress it first)",
        ),
        (b"PK\x03\x04", "a zip archive"),
        (b"snoop\x00", "a Solaris snoop capture"),
        (b"GMBU", "a Microsoft Network Monitor capture"),
        (b"\x1f\x8b", "gzip inside gzip"),
    ];
    for (magic, what) in KNOWN {
        if b.starts_with(magic) {
            return Some(what);
        }
    }
    if !b.is_empty()
        && b.iter()
            .all(|&c| c.is_ascii_graphic() || c.is_ascii_whitespace())
    {
        return Some("text");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_magic_message_shows_bytes_and_a_guess() {
        let e = ReadError::NotACaptureFile {
            first_bytes: b"<!DOCTYP".to_vec(),
            compressed: false,
        };
        assert_eq!(
            e.to_string(),
            "not a pcap or pcapng file: it starts with 3c 21 44 4f 43 54 59 50 (\"<!DOCTYP\"); this looks like text"
        );
        let e = ReadError::NotACaptureFile {
            first_bytes: vec![0x28, 0xb5, 0x2f, 0xfd, 0, 1],
            compressed: true,
        };
        assert!(e.to_string().contains("(after gzip decompression)"));
        assert!(e.to_string().contains("zstd"));
    }
}
