//! A handshake message reassembled from pieces that may come at any offset, in any order
//! and more than once: QUIC's CRYPTO frames and DTLS's handshake fragments.

/// The bytes kept for one message: a ClientHello is rarely over 2 KB (one with a
/// post-quantum key share and a long session ticket stays well under this).
pub const MAX_BYTES: usize = 16 * 1024;

/// Separate pieces a message may be in at once (Chrome splits its QUIC ClientHello into a
/// few dozen); bounds the work a datagram of tiny pieces can cause.
pub const MAX_PIECES: usize = 256;

/// A message's bytes, reassembled from pieces at any offset.
#[derive(Default)]
pub(super) struct Pieces {
    buf: Vec<u8>,
    /// The byte ranges present, sorted and disjoint (touching ranges merged).
    have: Vec<(usize, usize)>,
}

/// Why a piece was not kept.
#[derive(Debug)]
pub(super) enum Overflow {
    /// It ends at this offset, past [`MAX_BYTES`].
    Bytes(u64),
    /// The message would be in more than [`MAX_PIECES`] pieces.
    Pieces,
}

impl Pieces {
    /// Adds `data` at `offset`, filling only holes (the first copy of a byte is kept).
    pub(super) fn add(&mut self, offset: u64, data: &[u8]) -> Result<(), Overflow> {
        let end = offset.saturating_add(data.len() as u64);
        if end > MAX_BYTES as u64 {
            return Err(Overflow::Bytes(end));
        }
        if data.is_empty() {
            return Ok(());
        }
        let (start, end) = (offset as usize, end as usize);
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        // Only the holes are filled: a retransmission's bytes are the same bytes, and where
        // they are not the first copy is kept, as the TCP reassembly does.
        let mut pos = start;
        for &(s, e) in &self.have {
            if e <= pos {
                continue;
            }
            if s >= end {
                break;
            }
            if s > pos {
                self.buf[pos..s].copy_from_slice(&data[pos - start..s - start]);
            }
            pos = e;
            if pos >= end {
                break;
            }
        }
        if pos < end {
            self.buf[pos..end].copy_from_slice(&data[pos - start..]);
        }
        self.insert(start, end)
    }

    fn insert(&mut self, start: usize, end: usize) -> Result<(), Overflow> {
        let mut merged = (start, end);
        self.have.retain(|&(s, e)| {
            let touches = s <= merged.1 && merged.0 <= e;
            if touches {
                merged = (merged.0.min(s), merged.1.max(e));
            }
            !touches
        });
        let at = self.have.partition_point(|&(s, _)| s < merged.0);
        self.have.insert(at, merged);
        if self.have.len() > MAX_PIECES {
            return Err(Overflow::Pieces);
        }
        Ok(())
    }

    /// The bytes from offset 0 with no hole.
    pub(super) fn contiguous(&self) -> &[u8] {
        match self.have.first() {
            Some(&(0, end)) => &self.buf[..end],
            _ => &[],
        }
    }

    /// Whether no piece has been added.
    pub(super) fn is_empty(&self) -> bool {
        self.have.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_reassemble_pieces_in_any_order() {
        let mut s = Pieces::default();
        s.add(6, b"ghij").unwrap();
        assert_eq!(s.contiguous(), b"");
        s.add(0, b"abc").unwrap();
        assert_eq!(s.contiguous(), b"abc");
        // A frame over both pieces and the hole between: it fills the hole (3..6), the first
        // copy of the rest is kept.
        s.add(2, b"XdeXX").unwrap();
        assert_eq!(s.contiguous(), b"abcdeXghij");
        assert_eq!(s.have, [(0, 10)]);
        assert!(matches!(
            s.add(MAX_BYTES as u64, b"x"),
            Err(Overflow::Bytes(_))
        ));
        assert!(s.add(u64::MAX, b"x").is_err());
        let mut s = Pieces::default();
        let mut r = Ok(());
        for k in 0..=MAX_PIECES {
            r = s.add(2 * k as u64 + 1, b"x");
        }
        assert!(matches!(r, Err(Overflow::Pieces)));
    }
}
