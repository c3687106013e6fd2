//! TCP stream reassembly for one direction, for the protocol analyzers.
//!
//! In-order segments are handed on without a copy; segments ahead of the next expected byte
//! are kept (bounded) until the hole before them fills; retransmitted bytes are dropped (the
//! first copy wins, as in Zeek). When the kept bytes exceed the bound, or the flow ends with a
//! hole, the hole is reported as a gap and delivery resumes after it: an analyzer must never
//! wait forever for bytes a capture lost.

use std::collections::BTreeMap;

/// Out-of-order bytes kept per direction before a hole is given up on.
pub const MAX_PENDING: usize = 256 * 1024;

/// What the stream hands to its consumer.
pub trait StreamSink {
    /// The next bytes of the stream, in order.
    fn data(&mut self, bytes: &[u8]);
    /// `len` bytes of the stream will never arrive.
    fn gap(&mut self, len: u64);
}

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct Stream {
    /// Sequence number of the next byte to deliver; None until the first segment.
    next: Option<u32>,
    /// Segments ahead of `next`, by sequence number.
    pending: BTreeMap<u32, Vec<u8>>,
    pending_bytes: usize,
    /// A FIN was seen at this sequence number.
    fin_at: Option<u32>,
    /// Bytes delivered so far.
    delivered: u64,
    /// The furthest the peer acknowledged past `next` while nothing was kept.
    acked_ahead: Option<u32>,
    /// Bytes reported as gaps so far.
    skipped: u64,
}

/// `a - b` in sequence space, as a signed distance (RFC 1982 arithmetic).
fn seq_diff(a: u32, b: u32) -> i64 {
    a.wrapping_sub(b) as i32 as i64
}

impl Stream {
    /// A stream that has seen nothing yet.
    pub fn new() -> Stream {
        Stream::default()
    }

    /// Bytes delivered so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// The stream offset (bytes from the first, gaps included) of sequence number `seq`, when
    /// it is at or after the next byte to deliver and within reach.
    pub fn offset_of(&self, seq: u32) -> Option<u64> {
        let d = seq_diff(seq, self.next?);
        (0..=1 << 30)
            .contains(&d)
            .then(|| self.delivered + self.skipped + d as u64)
    }

    /// Bytes held out of order.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// One segment: its sequence number, whether it carries SYN or FIN, and its payload.
    pub fn segment(
        &mut self,
        seq: u32,
        syn: bool,
        fin: bool,
        payload: &[u8],
        sink: &mut impl StreamSink,
    ) {
        self.segment_cut(seq, syn, fin, payload, 0, sink);
    }

    /// One segment whose last `cut` payload bytes the capture did not keep (a short snap
    /// length): they are reported as a gap right after the bytes that were kept, at the time
    /// of this segment.
    pub fn segment_cut(
        &mut self,
        seq: u32,
        syn: bool,
        fin: bool,
        payload: &[u8],
        cut: u32,
        sink: &mut impl StreamSink,
    ) {
        let end = (if syn { seq.wrapping_add(1) } else { seq }).wrapping_add(payload.len() as u32);
        self.segment_kept(seq, syn, fin, payload, sink);
        // Only when the segment was delivered in order: a kept segment's cut is found later
        // as a hole.
        if cut > 0 && self.next == Some(end) {
            self.gap(u64::from(cut), sink);
            self.next = Some(end.wrapping_add(cut));
            self.drain_pending(sink);
        }
    }

    fn segment_kept(
        &mut self,
        seq: u32,
        syn: bool,
        fin: bool,
        payload: &[u8],
        sink: &mut impl StreamSink,
    ) {
        // The SYN takes one sequence number before the data.
        let data_seq = if syn { seq.wrapping_add(1) } else { seq };
        let next = *self.next.get_or_insert(data_seq);
        if fin {
            self.fin_at = Some(data_seq.wrapping_add(payload.len() as u32));
        }
        if payload.is_empty() {
            return;
        }
        let d = seq_diff(data_seq, next);
        if d <= 0 {
            // Starts at or before the next byte: deliver what is new, drop what is old.
            let skip = (-d) as usize;
            if skip >= payload.len() {
                return; // a pure retransmission
            }
            self.deliver(&payload[skip..], sink);
            self.drain_pending(sink);
        } else if self.acked_ahead.is_some_and(|a| seq_diff(a, data_seq) >= 0) {
            // The peer acknowledged everything up to this segment: the hole before it is
            // bytes the capture missed, reported now, at this segment's time.
            self.gap(d as u64, sink);
            self.next = Some(data_seq);
            self.deliver(payload, sink);
            self.drain_pending(sink);
        } else {
            self.keep(data_seq, payload);
            if self.pending_bytes > MAX_PENDING {
                self.skip_hole(sink);
            }
        }
    }

    fn gap(&mut self, len: u64, sink: &mut impl StreamSink) {
        self.skipped += len;
        sink.gap(len);
    }

    fn deliver(&mut self, bytes: &[u8], sink: &mut impl StreamSink) {
        sink.data(bytes);
        self.delivered += bytes.len() as u64;
        self.next = self.next.map(|n| n.wrapping_add(bytes.len() as u32));
        // An acknowledgment the stream has caught up with says nothing more (and, kept, it
        // would look ahead again once sequence numbers wrap).
        if let (Some(n), Some(a)) = (self.next, self.acked_ahead)
            && seq_diff(a, n) <= 0
        {
            self.acked_ahead = None;
        }
    }

    fn keep(&mut self, seq: u32, payload: &[u8]) {
        // A longer copy at the same sequence number replaces a shorter one.
        let replace = self
            .pending
            .get(&seq)
            .is_none_or(|p| p.len() < payload.len());
        if replace {
            if let Some(old) = self.pending.insert(seq, payload.to_vec()) {
                self.pending_bytes -= old.len();
            }
            self.pending_bytes += payload.len();
        }
    }

    /// Deliver kept segments that are now in order.
    fn drain_pending(&mut self, sink: &mut impl StreamSink) {
        while let Some(next) = self.next {
            // The kept segment that starts first, relative to `next` (the map's order is by
            // raw sequence number, which wraps).
            let Some(&seq) = self.pending.keys().min_by_key(|&&s| seq_diff(s, next)) else {
                return;
            };
            let d = seq_diff(seq, next);
            if d > 0 {
                return; // still a hole
            }
            let seg = self.pending.remove(&seq).unwrap();
            self.pending_bytes -= seg.len();
            let skip = (-d) as usize;
            if skip < seg.len() {
                self.deliver(&seg[skip..], sink);
            }
        }
    }

    /// Give up on the first hole: report it and deliver from the next kept segment on.
    fn skip_hole(&mut self, sink: &mut impl StreamSink) {
        let Some(next) = self.next else { return };
        let Some(&seq) = self.pending.keys().min_by_key(|&&s| seq_diff(s, next)) else {
            return;
        };
        let hole = seq_diff(seq, next);
        if hole > 0 {
            self.gap(hole as u64, sink);
            self.next = Some(seq);
        }
        self.drain_pending(sink);
    }

    /// The peer acknowledged everything before `ack`. Bytes the peer received but the capture
    /// never saw will not be retransmitted, so a hole below `ack` is reported at once rather
    /// than when the kept bytes overflow (Zeek's "ACK above hole"): an analyzer waiting
    /// behind it would otherwise fall far behind the other direction.
    pub fn acked(&mut self, ack: u32, sink: &mut impl StreamSink) {
        let Some(next) = self.next else { return };
        let mut missing = seq_diff(ack, next);
        if self.fin_at.is_some_and(|f| seq_diff(ack, f) == 1) {
            missing -= 1; // the FIN's own sequence number
        }
        if missing <= 0 {
            return;
        }
        if self.pending.is_empty() {
            // Nothing kept past a hole: the ACK may have been captured before the data it
            // acknowledges (captures reorder across directions), and that data is still to
            // come. Remembered: the next segment past `next`, or the end, tells.
            if missing <= 1 << 30 && self.acked_ahead.is_none_or(|a| seq_diff(ack, a) > 0) {
                self.acked_ahead = Some(ack);
            }
            return;
        }
        // A very large distance is a bogus or foreign ACK, not a hole.
        if missing <= 0 || missing > 1 << 30 {
            return;
        }
        let first = self
            .pending
            .keys()
            .map(|&s| seq_diff(s, next))
            .min()
            .unwrap_or(missing);
        let hole = missing.min(first);
        if hole > 0 {
            self.gap(hole as u64, sink);
            self.next = Some(next.wrapping_add(hole as u32));
            self.drain_pending(sink);
        }
    }

    /// True when [`Stream::finish`] has something to do: kept bytes, or acknowledged bytes
    /// that never came.
    pub fn needs_finish(&self) -> bool {
        !self.pending.is_empty()
            || matches!((self.next, self.acked_ahead), (Some(n), Some(a)) if seq_diff(a, n) > 0)
    }

    /// The connection ended: report holes and deliver everything still kept.
    pub fn finish(&mut self, sink: &mut impl StreamSink) {
        while !self.pending.is_empty() {
            self.skip_hole(sink);
        }
        // Acknowledged bytes that never came: lost at the end of the connection.
        if let (Some(next), Some(ack)) = (self.next, self.acked_ahead) {
            let mut missing = seq_diff(ack, next);
            if self.fin_at.is_some_and(|f| seq_diff(ack, f) == 1) {
                missing -= 1; // the FIN's own sequence number
            }
            if missing > 0 && missing <= 1 << 30 {
                self.gap(missing as u64, sink);
                self.next = Some(ack);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        bytes: Vec<u8>,
        gaps: Vec<u64>,
    }

    impl StreamSink for Collect {
        fn data(&mut self, bytes: &[u8]) {
            self.bytes.extend_from_slice(bytes);
        }
        fn gap(&mut self, len: u64) {
            self.gaps.push(len);
            self.bytes.extend(std::iter::repeat_n(b'?', len as usize));
        }
    }

    #[test]
    fn in_order_out_of_order_and_retransmitted() {
        let mut s = Stream::new();
        let mut c = Collect::default();
        s.segment(999, true, false, b"", &mut c); // SYN
        s.segment(1006, false, false, b"world", &mut c); // ahead
        s.segment(1000, false, false, b"hello ", &mut c); // fills the hole
        s.segment(1000, false, false, b"hello ", &mut c); // retransmission
        s.segment(1009, false, false, b"ld!", &mut c); // overlapping tail
        assert_eq!(c.bytes, b"hello world!");
        assert!(c.gaps.is_empty());
        assert_eq!(s.delivered(), 12);
        assert_eq!(s.pending_bytes(), 0);
    }

    #[test]
    fn wraps_around_the_sequence_space() {
        let mut s = Stream::new();
        let mut c = Collect::default();
        s.segment(u32::MAX - 2, false, false, b"abc", &mut c);
        s.segment(3, false, false, b"ghi", &mut c);
        s.segment(0, false, false, b"def", &mut c);
        assert_eq!(c.bytes, b"abcdefghi");
    }

    #[test]
    fn an_ack_above_a_hole_reports_it_at_once() {
        let mut s = Stream::new();
        let mut c = Collect::default();
        s.segment(100, false, false, b"abc", &mut c);
        s.segment(110, false, false, b"xyz", &mut c);
        s.acked(105, &mut c); // acknowledges part of the hole: the rest may still come
        assert_eq!(
            (c.bytes.as_slice(), c.gaps.as_slice()),
            (&b"abc??"[..], &[2][..])
        );
        s.acked(113, &mut c);
        assert_eq!(
            (c.bytes.as_slice(), c.gaps.as_slice()),
            (&b"abc???????xyz"[..], &[2, 5][..])
        );
        s.acked(50, &mut c); // old ACKs change nothing
        assert_eq!(s.pending_bytes(), 0);
        assert_eq!(c.gaps.len(), 2);
        // Nothing kept: an ACK ahead may have been captured before its data.
        s.acked(120, &mut c);
        assert_eq!(c.gaps, [2, 5]);
        s.segment(113, false, false, b"late", &mut c);
        assert!(c.bytes.ends_with(b"xyzlate"));
        // A segment cut by the snap length: the rest of it is a gap at once.
        s.segment_cut(117, false, false, b"ab", 5, &mut c);
        assert_eq!(c.gaps, [2, 5, 5]);
        s.segment(124, false, false, b"z", &mut c);
        assert!(c.bytes.ends_with(b"ab?????z"));
    }

    #[test]
    fn a_hole_is_reported_at_the_end_and_when_too_much_is_kept() {
        let mut s = Stream::new();
        let mut c = Collect::default();
        s.segment(100, false, false, b"ab", &mut c);
        s.segment(110, false, false, b"xy", &mut c);
        s.finish(&mut c);
        assert_eq!(c.gaps, vec![8]);
        assert_eq!(c.bytes, b"ab????????xy");

        let mut s = Stream::new();
        let mut c = Collect::default();
        s.segment(0, false, false, b"a", &mut c);
        let big = vec![b'z'; 1000];
        let mut seq = 100u32;
        while s.pending_bytes() <= MAX_PENDING - 1000 {
            s.segment(seq, false, false, &big, &mut c);
            seq += 1000;
        }
        s.segment(seq, false, false, &big, &mut c);
        assert_eq!(
            c.gaps,
            vec![99],
            "the hole is skipped once the bound is passed"
        );
        assert_eq!(s.pending_bytes(), 0);
    }
}
