//! Byte order: each capture file (each pcapng section) says which one it was written in.

/// The byte order a pcap file, or a pcapng section, was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Least significant byte first (x86, most ARM).
    Little,
    /// Most significant byte first (network order; SPARC, PowerPC, MIPS writers).
    Big,
}

// The readers index `b` only after proving the bytes are present, so these never panic in
// practice; they take a slice and an offset to keep call sites short.
impl ByteOrder {
    /// A `u16` at `at`.
    #[inline]
    pub(crate) fn u16(self, b: &[u8], at: usize) -> u16 {
        let v = [b[at], b[at + 1]];
        match self {
            ByteOrder::Little => u16::from_le_bytes(v),
            ByteOrder::Big => u16::from_be_bytes(v),
        }
    }

    /// A `u32` at `at`.
    #[inline]
    pub(crate) fn u32(self, b: &[u8], at: usize) -> u32 {
        self.u32_of([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    /// The `u32` of four bytes (from a fixed-size header read once: no bounds checks).
    #[inline]
    pub(crate) fn u32_of(self, v: [u8; 4]) -> u32 {
        match self {
            ByteOrder::Little => u32::from_le_bytes(v),
            ByteOrder::Big => u32::from_be_bytes(v),
        }
    }

    /// A `u64` at `at` (one 8-byte field, as pcapng options store them).
    #[inline]
    pub(crate) fn u64(self, b: &[u8], at: usize) -> u64 {
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[at..at + 8]);
        match self {
            ByteOrder::Little => u64::from_le_bytes(v),
            ByteOrder::Big => u64::from_be_bytes(v),
        }
    }
}
