//! The pcapng writer behind `flowsight capture -w FILE.pcapng`.
//!
//! One section (little-endian, `shb_userappl` "flowsight"), interfaces with nanosecond
//! timestamps (`if_tsresol` 9), and enhanced packet blocks that may carry a comment, flags
//! and custom options: flowsight annotates packets with the process that sent them as
//! `key=value` text under its Private Enterprise Number ([`FLOWSIGHT_PEN`]).

use crate::options::code;
use crate::{LinkType, MAX_CAPLEN, WriteError};
use std::io::Write;

/// The Private Enterprise Number on flowsight's custom options: 32473, the number RFC 5612
/// reserves for documentation and examples, until the project registers its own.
pub const FLOWSIGHT_PEN: u32 = 32473;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const EPB: u32 = 6;
/// `if_tsresol` 9: timestamps in nanoseconds.
const TSRESOL_NS: u8 = 9;

/// An interface to describe with [`PcapngWriter::add_interface`].
#[derive(Debug, Clone, Copy)]
pub struct InterfaceSpec<'a> {
    /// The link-layer header type of its packets (must fit in 16 bits).
    pub link: LinkType,
    /// The most bytes kept of any packet; 0 for no limit.
    pub snaplen: u32,
    /// `if_name`, e.g. `eth0`.
    pub name: Option<&'a str>,
    /// `if_description`.
    pub description: Option<&'a str>,
}

/// An option of an enhanced packet block.
#[derive(Debug, Clone, Copy)]
pub enum EpbOption<'a> {
    /// `opt_comment`: text that Wireshark shows as the packet comment.
    Comment(&'a str),
    /// `epb_flags`: bits 0-1 are the direction (1 inbound, 2 outbound).
    Flags(u32),
    /// `epb_dropcount`: packets lost between the previous packet of the interface and this
    /// one (Wireshark shows it as `frame.drop_count`).
    DropCount(u64),
    /// A custom text option (code 2988, copyable) holding `key=value` under
    /// [`FLOWSIGHT_PEN`]; written without building the string first.
    KeyValue {
        /// The key, e.g. `pid`.
        key: &'a str,
        /// The value, e.g. `1234`.
        value: &'a str,
    },
    /// A custom text option (code 2988, copyable) under any enterprise number.
    CustomText {
        /// The Private Enterprise Number that defines the text.
        pen: u32,
        /// The text.
        text: &'a str,
    },
    /// A custom binary option (code 2989, copyable) under any enterprise number.
    CustomBinary {
        /// The Private Enterprise Number that defines the data.
        pen: u32,
        /// The data.
        data: &'a [u8],
    },
}

/// A packet to write with [`PcapngWriter::write_packet`].
#[derive(Debug, Clone, Copy)]
pub struct EnhancedPacket<'a> {
    /// The interface, as numbered by [`PcapngWriter::add_interface`].
    pub interface: u32,
    /// Capture time in nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// The length on the wire (at least `data.len()`).
    pub orig_len: u32,
    /// The captured bytes (at most [`MAX_CAPLEN`]).
    pub data: &'a [u8],
    /// Options, written in this order.
    pub options: &'a [EpbOption<'a>],
}

/// Writes a pcapng file: the section header on creation, then interfaces and packets.
///
/// Each block goes to the output in one `write_all`; wrap a `File` in a `BufWriter`.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    /// The block being built, reused.
    block: Vec<u8>,
    interfaces: usize,
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a file: writes the section header block.
    pub fn new(out: W) -> Result<PcapngWriter<W>, WriteError> {
        let mut w = PcapngWriter {
            out,
            block: Vec::with_capacity(4096),
            interfaces: 0,
        };
        w.begin(SHB);
        w.u32(0x1A2B_3C4D);
        w.u16(1);
        w.u16(0);
        w.block.extend_from_slice(&(-1i64).to_le_bytes()); // section length: not given
        w.option(code::SHB_USERAPPL, &[b"flowsight"])?;
        w.end_options();
        w.finish()?;
        Ok(w)
    }

    /// Describes an interface and returns its id for [`EnhancedPacket::interface`] (0, 1, ...).
    pub fn add_interface(&mut self, spec: &InterfaceSpec<'_>) -> Result<u32, WriteError> {
        let link =
            u16::try_from(spec.link.0).map_err(|_| WriteError::LinkTypeTooLarge(spec.link.0))?;
        self.begin(IDB);
        self.u16(link);
        self.u16(0);
        self.u32(spec.snaplen);
        if let Some(name) = spec.name {
            self.option(code::IF_NAME, &[name.as_bytes()])?;
        }
        if let Some(d) = spec.description {
            self.option(code::IF_DESCRIPTION, &[d.as_bytes()])?;
        }
        self.option(code::IF_TSRESOL, &[&[TSRESOL_NS]])?;
        self.end_options();
        self.finish()?;
        let id = self.interfaces as u32;
        self.interfaces += 1;
        Ok(id)
    }

    /// Writes one packet as an enhanced packet block.
    pub fn write_packet(&mut self, p: &EnhancedPacket<'_>) -> Result<(), WriteError> {
        if p.interface as usize >= self.interfaces {
            return Err(WriteError::UnknownInterface {
                interface: p.interface,
                known: self.interfaces,
            });
        }
        if p.data.len() > MAX_CAPLEN as usize {
            return Err(WriteError::PacketTooLarge {
                len: p.data.len(),
                limit: MAX_CAPLEN,
            });
        }
        if (p.orig_len as usize) < p.data.len() {
            return Err(WriteError::OrigLenTooSmall {
                orig_len: p.orig_len,
                captured: p.data.len(),
            });
        }
        self.begin(EPB);
        self.u32(p.interface);
        self.u32((p.ts_ns >> 32) as u32);
        self.u32(p.ts_ns as u32);
        self.u32(p.data.len() as u32);
        self.u32(p.orig_len);
        self.block.extend_from_slice(p.data);
        self.pad();
        for o in p.options {
            match *o {
                EpbOption::Comment(c) => self.option(code::COMMENT, &[c.as_bytes()])?,
                EpbOption::Flags(f) => self.option(code::EPB_FLAGS, &[&f.to_le_bytes()])?,
                EpbOption::DropCount(n) => self.option(code::EPB_DROPCOUNT, &[&n.to_le_bytes()])?,
                EpbOption::KeyValue { key, value } => self.option(
                    code::CUSTOM_STR_COPY,
                    &[
                        &FLOWSIGHT_PEN.to_le_bytes(),
                        key.as_bytes(),
                        b"=",
                        value.as_bytes(),
                    ],
                )?,
                EpbOption::CustomText { pen, text } => self.option(
                    code::CUSTOM_STR_COPY,
                    &[&pen.to_le_bytes(), text.as_bytes()],
                )?,
                EpbOption::CustomBinary { pen, data } => {
                    self.option(code::CUSTOM_BIN_COPY, &[&pen.to_le_bytes(), data])?
                }
            }
        }
        if !p.options.is_empty() {
            self.end_options();
        }
        self.finish()
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        Ok(self.out.flush()?)
    }

    /// The output.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The output, mutably (writing to it directly corrupts the file).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Flushes and returns the output.
    pub fn into_inner(mut self) -> Result<W, WriteError> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn begin(&mut self, block_type: u32) {
        self.block.clear();
        self.u32(block_type);
        self.u32(0); // length, set by finish()
    }

    fn u16(&mut self, v: u16) {
        self.block.extend_from_slice(&v.to_le_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.block.extend_from_slice(&v.to_le_bytes());
    }

    fn pad(&mut self) {
        let padded = self.block.len().next_multiple_of(4);
        self.block.resize(padded, 0);
    }

    /// Appends an option whose value is the concatenation of `parts`, padded to 4 bytes.
    fn option(&mut self, code: u16, parts: &[&[u8]]) -> Result<(), WriteError> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let len16 = u16::try_from(len).map_err(|_| WriteError::OptionTooLong { code, len })?;
        self.u16(code);
        self.u16(len16);
        for p in parts {
            self.block.extend_from_slice(p);
        }
        self.pad();
        Ok(())
    }

    fn end_options(&mut self) {
        self.u32(0); // opt_endofopt, length 0
    }

    /// Sets the length at both ends and writes the block.
    fn finish(&mut self) -> Result<(), WriteError> {
        let total = (self.block.len() + 4) as u32;
        self.block[4..8].copy_from_slice(&total.to_le_bytes());
        self.u32(total);
        self.out.write_all(&self.block)?;
        Ok(())
    }
}
