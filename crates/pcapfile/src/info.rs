//! What a capture file says about itself: format, byte order, interfaces.

use crate::{ByteOrder, LinkType};

/// The container format of a capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Classic pcap, microsecond timestamps (magic `a1b2c3d4`).
    Pcap,
    /// Classic pcap, nanosecond timestamps (magic `a1b23c4d`).
    PcapNanos,
    /// Alexey Kuznetzov's modified pcap (magic `a1b2cd34`): microsecond timestamps and an
    /// 8-byte extension (interface index, protocol, packet type) after each record header.
    PcapModified,
    /// pcapng (section header block type `0a0d0d0a`).
    Pcapng,
}

impl Format {
    /// A short name for messages: `pcap`, `pcap (ns)`, `pcap (modified)` or `pcapng`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Pcap => "pcap",
            Format::PcapNanos => "pcap (ns)",
            Format::PcapModified => "pcap (modified)",
            Format::Pcapng => "pcapng",
        }
    }
}

/// How the file's bytes were compressed around the capture format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (one or more members), recognised by its magic `1f 8b`.
    Gzip,
}

/// One capture interface: the pcap file header, or one pcapng interface description block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Its link-layer header type.
    pub link: LinkType,
    /// The most bytes captured of any packet (0 in pcapng means no limit).
    pub snaplen: u32,
    /// `if_name` (pcapng), e.g. `eth0`.
    pub name: Option<String>,
    /// `if_description` (pcapng).
    pub description: Option<String>,
    /// The raw `if_tsresol` byte: `n` means units of 10^-n s, `0x80 | n` units of 2^-n s.
    /// 6 (microseconds) when absent, and for pcap files; 9 for nanosecond pcap.
    pub tsresol: u8,
    /// `if_tsoffset`: seconds added to every timestamp of this interface (0 when absent).
    pub tsoffset: i64,
    /// The 0-based pcapng section the interface belongs to (0 for pcap).
    pub section: u32,
}

/// A summary of a capture file, kept current as the reader goes: pcapng files may describe
/// interfaces and start new sections anywhere, so [`FileInfo::interfaces`] lists those seen
/// so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// The container format.
    pub format: Format,
    /// The compression around it.
    pub compression: Compression,
    /// The byte order of the pcap file header or of the first pcapng section.
    pub byte_order: ByteOrder,
    /// The format version (major, minor): 2.4 for pcap, 1.0 for pcapng.
    pub version: (u16, u16),
    /// Every interface seen so far, in file order, across all sections: a packet's
    /// [`crate::Packet::interface`] indexes this list. A pcap file has exactly one.
    pub interfaces: Vec<Interface>,
    /// How many pcapng sections have started so far (1 for pcap).
    pub sections: u32,
    /// `shb_userappl` of the first pcapng section: the program that wrote the file.
    pub application: Option<String>,
    /// `shb_os` of the first pcapng section.
    pub os: Option<String>,
    /// `shb_hardware` of the first pcapng section.
    pub hardware: Option<String>,
    /// The size of the file in bytes, when known (a regular file; not a pipe or stdin). For a
    /// compressed file this is the compressed size: compare it with
    /// [`crate::CaptureReader::bytes_read`].
    pub file_size: Option<u64>,
}

impl FileInfo {
    /// The distinct link types of the interfaces seen so far, in order of appearance.
    pub fn link_types(&self) -> Vec<LinkType> {
        let mut out: Vec<LinkType> = Vec::new();
        for i in &self.interfaces {
            if !out.contains(&i.link) {
                out.push(i.link);
            }
        }
        out
    }

    /// The largest snap length of the interfaces seen so far (0 if none, or none limited).
    pub fn snaplen(&self) -> u32 {
        self.interfaces.iter().map(|i| i.snaplen).max().unwrap_or(0)
    }

    /// The interface names (`if_name`) seen so far; unnamed interfaces are left out.
    pub fn interface_names(&self) -> Vec<&str> {
        self.interfaces
            .iter()
            .filter_map(|i| i.name.as_deref())
            .collect()
    }
}
