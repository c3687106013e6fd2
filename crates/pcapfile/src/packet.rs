//! One packet as the reader lends it out.

use crate::{ByteOrder, LinkType, Options};
use std::ops::Range;

/// A packet read from a capture file, borrowing the reader's buffer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// Capture time in nanoseconds since the Unix epoch (pcapng `if_tsresol` and
    /// `if_tsoffset` applied; 0 for pcapng simple packet blocks, which carry no time).
    pub ts_ns: u64,
    /// The packet's length on the wire, which may exceed `data.len()` when the capture was
    /// cut at the snap length.
    pub orig_len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
    /// The link-layer header type `data` starts with: the file's (pcap) or its interface's
    /// (pcapng).
    pub link: LinkType,
    /// The interface: an index into [`crate::FileInfo::interfaces`], counted across all pcapng
    /// sections (so equal to the block's interface id in a one-section file); 0 for pcap.
    pub interface: u32,
    /// The first `opt_comment` of a pcapng packet block, if it is valid UTF-8.
    pub comment: Option<&'a str>,
    /// All options of a pcapng packet block (flags, custom options, ...), read lazily;
    /// empty for pcap.
    pub options: Options<'a>,
}

/// Where a parsed packet lies in the reader's buffer: the parsers return this and the
/// reader turns it into a [`Packet`] (keeping the parsers free of lifetimes).
pub(crate) struct Meta {
    pub ts_ns: u64,
    pub orig_len: u32,
    pub data: Range<usize>,
    pub link: LinkType,
    pub interface: u32,
    pub options: Range<usize>,
    pub order: ByteOrder,
}

impl Meta {
    /// The packet, over the buffer the ranges point into.
    #[inline]
    pub(crate) fn packet<'a>(&self, buf: &'a [u8]) -> Packet<'a> {
        let options = Options::new(&buf[self.options.clone()], self.order);
        Packet {
            ts_ns: self.ts_ns,
            orig_len: self.orig_len,
            data: &buf[self.data.clone()],
            link: self.link,
            interface: self.interface,
            comment: if options.is_empty() {
                None
            } else {
                options.comment()
            },
            options,
        }
    }
}
