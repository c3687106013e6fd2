//! pcapng options: the type-length-value list at the end of most blocks.
//!
//! Options are read lazily, in place: a [`crate::Packet`] carries its block's option bytes
//! as an [`Options`] iterator, and nothing is parsed unless a caller iterates it.

use crate::ByteOrder;

/// Option codes the reader and writer use.
pub mod code {
    /// `opt_endofopt`: ends the list.
    pub const END_OF_OPT: u16 = 0;
    /// `opt_comment`: UTF-8 text, in any block.
    pub const COMMENT: u16 = 1;
    /// `shb_hardware`.
    pub const SHB_HARDWARE: u16 = 2;
    /// `shb_os`.
    pub const SHB_OS: u16 = 3;
    /// `shb_userappl`: the program that wrote the section.
    pub const SHB_USERAPPL: u16 = 4;
    /// `if_name`.
    pub const IF_NAME: u16 = 2;
    /// `if_description`.
    pub const IF_DESCRIPTION: u16 = 3;
    /// `if_tsresol`: one byte, timestamp units.
    pub const IF_TSRESOL: u16 = 9;
    /// `if_tsoffset`: 64-bit signed seconds added to timestamps.
    pub const IF_TSOFFSET: u16 = 14;
    /// `epb_flags`: 32 bits; bits 0-1 are the direction (1 inbound, 2 outbound).
    pub const EPB_FLAGS: u16 = 2;
    /// `epb_dropcount`: 64 bits.
    pub const EPB_DROPCOUNT: u16 = 4;
    /// Custom option, UTF-8 text, may be copied to derived files.
    pub const CUSTOM_STR_COPY: u16 = 2988;
    /// Custom option, binary, may be copied to derived files.
    pub const CUSTOM_BIN_COPY: u16 = 2989;
    /// Custom option, UTF-8 text, must not be copied.
    pub const CUSTOM_STR_NO_COPY: u16 = 19372;
    /// Custom option, binary, must not be copied.
    pub const CUSTOM_BIN_NO_COPY: u16 = 19373;
}

/// The options of one pcapng block, iterated in place. Empty for pcap packets.
///
/// Iteration stops at `opt_endofopt` or at the first option whose length runs past the
/// block (the rest cannot be framed).
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    data: &'a [u8],
    order: ByteOrder,
}

impl<'a> Options<'a> {
    pub(crate) fn new(data: &'a [u8], order: ByteOrder) -> Options<'a> {
        Options { data, order }
    }

    /// No options.
    pub fn empty() -> Options<'a> {
        Options {
            data: &[],
            order: ByteOrder::Little,
        }
    }

    /// Whether the block had no option bytes at all.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The value of the first option with `code`, if any.
    pub fn get(mut self, code: u16) -> Option<PcapngOption<'a>> {
        self.find(|o| o.code == code)
    }

    /// The first `opt_comment` that is valid UTF-8.
    pub fn comment(self) -> Option<&'a str> {
        self.filter(|o| o.code == code::COMMENT)
            .find_map(|o| o.as_str())
    }

    /// The custom options (codes 2988, 2989, 19372, 19373) in order.
    pub fn custom(self) -> impl Iterator<Item = CustomOption<'a>> {
        self.filter_map(|o| o.custom())
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = PcapngOption<'a>;

    fn next(&mut self) -> Option<PcapngOption<'a>> {
        let d = self.data;
        if d.len() < 4 {
            self.data = &[];
            return None;
        }
        let code = self.order.u16(d, 0);
        let len = self.order.u16(d, 2) as usize;
        if code == code::END_OF_OPT || 4 + len > d.len() {
            self.data = &[];
            return None;
        }
        let value = &d[4..4 + len];
        let next = (4 + len.next_multiple_of(4)).min(d.len());
        self.data = &d[next..];
        Some(PcapngOption {
            code,
            value,
            order: self.order,
        })
    }
}

/// One option: its code and its value bytes (padding excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcapngOption<'a> {
    /// The option code (see [`code`]); its meaning depends on the block type.
    pub code: u16,
    /// The value, as stored.
    pub value: &'a [u8],
    order: ByteOrder,
}

impl<'a> PcapngOption<'a> {
    /// The value as UTF-8 text, if it is.
    pub fn as_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.value).ok()
    }

    /// The value as a 32-bit number in the section's byte order (e.g. `epb_flags`), if it is
    /// 4 bytes long.
    pub fn as_u32(&self) -> Option<u32> {
        (self.value.len() == 4).then(|| self.order.u32(self.value, 0))
    }

    /// The value as a 64-bit number in the section's byte order (e.g. `epb_dropcount`), if
    /// it is 8 bytes long.
    pub fn as_u64(&self) -> Option<u64> {
        (self.value.len() == 8).then(|| self.order.u64(self.value, 0))
    }

    /// The custom option this is, if its code is one of the four custom codes and it holds
    /// at least the enterprise number.
    pub fn custom(&self) -> Option<CustomOption<'a>> {
        let (text, copyable) = match self.code {
            code::CUSTOM_STR_COPY => (true, true),
            code::CUSTOM_BIN_COPY => (false, true),
            code::CUSTOM_STR_NO_COPY => (true, false),
            code::CUSTOM_BIN_NO_COPY => (false, false),
            _ => return None,
        };
        if self.value.len() < 4 {
            return None;
        }
        Some(CustomOption {
            pen: self.order.u32(self.value, 0),
            data: &self.value[4..],
            text,
            copyable,
        })
    }
}

/// A custom option: data defined by the organisation that owns its IANA Private Enterprise
/// Number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomOption<'a> {
    /// The Private Enterprise Number that defines the data.
    pub pen: u32,
    /// The data after the enterprise number.
    pub data: &'a [u8],
    /// Whether the code says the data is UTF-8 text (2988, 19372) rather than binary.
    pub text: bool,
    /// Whether the code allows copying the option into derived files (2988, 2989).
    pub copyable: bool,
}

impl<'a> CustomOption<'a> {
    /// The data as UTF-8 text, if it is (whatever the code says).
    pub fn as_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.data).ok()
    }

    /// The data split at its first `=`, as flowsight writes annotations (`pid=1234`).
    pub fn key_value(&self) -> Option<(&'a str, &'a str)> {
        self.as_str()?.split_once('=')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterates_pads_and_stops_at_end_or_overrun() {
        let mut b = Vec::new();
        b.extend_from_slice(&[1, 0, 5, 0]);
        b.extend_from_slice(b"hello\0\0\0");
        b.extend_from_slice(&[0xac, 0x0b, 7, 0, 0xd9, 0x7e, 0, 0]);
        b.extend_from_slice(b"a=b\0");
        b.extend_from_slice(&[2, 0, 4, 0, 2, 0, 0, 0]);
        b.extend_from_slice(&[0, 0, 0, 0, 9, 9, 9, 9]); // end, then garbage
        let o = Options::new(&b, ByteOrder::Little);
        let all: Vec<_> = o.collect();
        assert_eq!(all.len(), 3);
        assert_eq!(o.comment(), Some("hello"));
        let c = o.custom().next().unwrap();
        assert_eq!((c.pen, c.text, c.copyable), (32473, true, true));
        assert_eq!(c.key_value(), Some(("a", "b")));
        assert_eq!(o.get(code::EPB_FLAGS).unwrap().as_u32(), Some(2));

        // A length running past the data ends the iteration without panicking.
        let bad = [1, 0, 200, 0, b'x', 0, 0, 0];
        assert_eq!(Options::new(&bad, ByteOrder::Little).count(), 0);
        // Unpadded last option.
        let short = [1, 0, 1, 0, b'x'];
        assert_eq!(Options::new(&short, ByteOrder::Little).comment(), Some("x"));
    }
}
