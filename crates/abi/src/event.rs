//! Checked decoding of one record from the `fsight_events` ring buffer.

use crate::{
    FlowRecycled, ProcExec, ProcExit, ProcFork, SampleHead, SockClose, SockOwner, event_kind,
};
use bytemuck::Pod;

/// One ring-buffer record, copied out of the ring (the ring slot is released right after).
#[derive(Debug, Clone)]
pub enum Event {
    /// A process took ownership of a socket.
    SockOwner(SockOwner),
    /// A TCP socket closed, or a UDP socket was released.
    SockClose(SockClose),
    /// A process executed a program (boxed: 848 bytes, and rare next to socket events).
    ProcExec(Box<ProcExec>),
    /// A process was forked.
    ProcFork(ProcFork),
    /// A process exited.
    ProcExit(ProcExit),
    /// A new TCP connection took over the flow-map entry of a finished one; these are the
    /// finished one's final counters.
    FlowRecycled(FlowRecycled),
}

/// Why a ring-buffer record could not be decoded. Either means the user-space and kernel
/// halves disagree on the ABI; the record is skipped and counted, never trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The record is shorter than its kind's struct (or than the header).
    #[error("ring-buffer record of kind {kind} is {got} bytes, expected {need}")]
    Short {
        /// The kind in the header (0 when even the header is missing).
        kind: u32,
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        got: usize,
    },
    /// The kind is not one this build knows.
    #[error("ring-buffer record of unknown kind {0}")]
    UnknownKind(u32),
}

pub(crate) fn read<T: Pod>(bytes: &[u8], kind: u32) -> Result<T, EventError> {
    let need = core::mem::size_of::<T>();
    if bytes.len() < need {
        return Err(EventError::Short {
            kind,
            need,
            got: bytes.len(),
        });
    }
    // Ring-buffer records are 8-byte aligned, but copying avoids depending on it.
    Ok(bytemuck::pod_read_unaligned(&bytes[..need]))
}

impl Event {
    /// Decode one record.
    pub fn parse(bytes: &[u8]) -> Result<Event, EventError> {
        if bytes.len() < 4 {
            return Err(EventError::Short {
                kind: 0,
                need: 16,
                got: bytes.len(),
            });
        }
        let kind = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        Ok(match kind {
            event_kind::FSIGHT_EV_SOCK_OWNER => Event::SockOwner(read(bytes, kind)?),
            event_kind::FSIGHT_EV_SOCK_CLOSE => Event::SockClose(read(bytes, kind)?),
            event_kind::FSIGHT_EV_PROC_EXEC => Event::ProcExec(Box::new(read(bytes, kind)?)),
            event_kind::FSIGHT_EV_PROC_FORK => Event::ProcFork(read(bytes, kind)?),
            event_kind::FSIGHT_EV_PROC_EXIT => Event::ProcExit(read(bytes, kind)?),
            event_kind::FSIGHT_EV_FLOW_RECYCLED => Event::FlowRecycled(read(bytes, kind)?),
            k => return Err(EventError::UnknownKind(k)),
        })
    }

    /// CLOCK_MONOTONIC time the kernel stamped the record with.
    pub fn ts_ns(&self) -> u64 {
        match self {
            Event::SockOwner(e) => e.hdr.ts_ns,
            Event::SockClose(e) => e.hdr.ts_ns,
            Event::ProcExec(e) => e.hdr.ts_ns,
            Event::ProcFork(e) => e.hdr.ts_ns,
            Event::ProcExit(e) => e.hdr.ts_ns,
            Event::FlowRecycled(e) => e.hdr.ts_ns,
        }
    }
}

/// One record from the `fsight_samples` ring buffer: its head, and its payload bytes borrowed
/// from the ring (valid until the record is released).
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// Flow, sender, sequence number, sockets.
    pub head: SampleHead,
    /// The first bytes of the packet's payload.
    pub data: &'a [u8],
}

impl<'a> Sample<'a> {
    /// Decode one sample record.
    pub fn parse(bytes: &'a [u8]) -> Result<Sample<'a>, EventError> {
        let kind = bytes
            .get(..4)
            .map_or(0, |k| u32::from_ne_bytes([k[0], k[1], k[2], k[3]]));
        if kind != event_kind::FSIGHT_EV_SAMPLE {
            return Err(EventError::UnknownKind(kind));
        }
        let head: SampleHead = read(bytes, kind)?;
        let n = core::mem::size_of::<SampleHead>();
        let len = usize::from(head.len);
        let data = bytes.get(n..n + len).ok_or(EventError::Short {
            kind,
            need: n + len,
            got: bytes.len(),
        })?;
        Ok(Sample { head, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;

    #[test]
    fn decodes_a_close_event() {
        let mut e = SockClose::zeroed();
        e.hdr.kind = event_kind::FSIGHT_EV_SOCK_CLOSE;
        e.hdr.ts_ns = 7;
        e.cookie = 42;
        match Event::parse(bytemuck::bytes_of(&e)).unwrap() {
            Event::SockClose(c) => assert_eq!((c.cookie, c.hdr.ts_ns), (42, 7)),
            other => panic!("wrong kind: {other:?}"),
        }
    }

    #[test]
    fn every_short_prefix_is_an_error() {
        let mut e = ProcExec::zeroed();
        e.hdr.kind = event_kind::FSIGHT_EV_PROC_EXEC;
        let bytes = bytemuck::bytes_of(&e);
        for n in 0..bytes.len() {
            assert!(Event::parse(&bytes[..n]).is_err(), "prefix of {n} bytes");
        }
        assert!(Event::parse(bytes).is_ok());
    }

    #[test]
    fn a_sample_borrows_its_payload_and_checks_its_length() {
        let mut head = SampleHead::zeroed();
        head.hdr.kind = event_kind::FSIGHT_EV_SAMPLE;
        head.len = 5;
        head.seq = 77;
        let mut bytes = bytemuck::bytes_of(&head).to_vec();
        bytes.extend(b"hello");
        let s = Sample::parse(&bytes).unwrap();
        assert_eq!((s.head.seq, s.data), (77, &b"hello"[..]));
        assert!(
            Sample::parse(&bytes[..bytes.len() - 1]).is_err(),
            "fewer bytes than len"
        );
        assert!(Sample::parse(&bytes[..40]).is_err());
    }

    #[test]
    fn unknown_kind_is_an_error() {
        let mut e = SockClose::zeroed();
        e.hdr.kind = 99;
        assert_eq!(
            Event::parse(bytemuck::bytes_of(&e)).unwrap_err(),
            EventError::UnknownKind(99)
        );
    }
}
