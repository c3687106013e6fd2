//! Whole-packet capture for `flowsight capture`: the kernel-side switch and the packet ring.
//!
//! The TC programs copy every packet (up to the snap length) into the `fsight_packets` ring
//! only while `fsight_capture_cfg.enabled` is set, so a `flowsight live` that never asks for
//! packets pays one inlined array lookup per packet. The switch is turned on by
//! [`Capture::packet_tap`] and off again when the [`PacketTap`] is dropped.

use crate::names::{MAP_CAPTURE_CFG, MAP_PACKETS};
use crate::{Capture, CaptureError, required};
use aya::maps::{Array, MapData, RingBuf};
use flowsight_abi::{CaptureCfg, CapturedPacket, EventError, PACKET_MAX};
use std::os::fd::{AsFd, BorrowedFd};

/// The value of `fsight_capture_cfg`, as bytes (aya's `Pod` is not implemented for the ABI
/// crate's types, and cannot be from here).
type CfgBytes = [u8; core::mem::size_of::<CaptureCfg>()];

/// The packet ring of a running [`Capture`], with capture switched on.
pub struct PacketTap {
    ring: RingBuf<MapData>,
    cfg: Array<MapData, CfgBytes>,
    snaplen: u32,
}

impl Capture {
    /// Switch packet capture on: from now on every packet the TC programs see is sent whole
    /// (up to `snaplen` bytes, at most [`PACKET_MAX`]) to the returned tap. The ring's size is
    /// [`crate::CaptureConfig::packet_ring_bytes`]. Only once per capture.
    pub fn packet_tap(&mut self, snaplen: u32) -> Result<PacketTap, CaptureError> {
        let ring = self
            ._ebpf
            .take_map(MAP_PACKETS)
            .ok_or_else(|| required(format!("map {MAP_PACKETS}"), "already taken or missing"))?;
        let ring = RingBuf::try_from(ring)
            .map_err(|e| required("opening the packet ring buffer", e.to_string()))?;
        let cfg = self
            ._ebpf
            .take_map(MAP_CAPTURE_CFG)
            .ok_or_else(|| required(format!("map {MAP_CAPTURE_CFG}"), "missing"))?;
        let cfg = Array::try_from(cfg)
            .map_err(|e| required("opening the capture switch", e.to_string()))?;
        let mut tap = PacketTap {
            ring,
            cfg,
            snaplen: snaplen.clamp(1, PACKET_MAX),
        };
        tap.switch(true)?;
        Ok(tap)
    }
}

impl PacketTap {
    fn switch(&mut self, on: bool) -> Result<(), CaptureError> {
        let value = CaptureCfg {
            enabled: on.into(),
            snaplen: self.snaplen,
        };
        let bytes: CfgBytes = bytemuck::cast(value);
        self.cfg.set(0, bytes, 0).map_err(|e| CaptureError::Map {
            map: MAP_CAPTURE_CFG,
            source: std::io::Error::other(e.to_string()),
        })
    }

    /// The snap length in force (the asked one, capped at [`PACKET_MAX`]).
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// Stop sending packets (those already in the ring can still be drained).
    pub fn stop(&mut self) -> Result<(), CaptureError> {
        self.switch(false)
    }

    /// The ring's descriptor, readable when packets are waiting (for poll(2)).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.ring.as_fd()
    }

    /// Hand every waiting packet to `f` (borrowed from the ring: copy what must outlive the
    /// call); returns how many were read. A record that does not decode is handed over as an
    /// error (the two halves disagree on the ABI).
    pub fn drain(&mut self, mut f: impl FnMut(Result<CapturedPacket<'_>, EventError>)) -> usize {
        let mut n = 0;
        while let Some(item) = self.ring.next() {
            f(CapturedPacket::parse(&item));
            n += 1;
        }
        n
    }
}

impl Drop for PacketTap {
    fn drop(&mut self) {
        // The programs may outlive the tap (they stay attached as long as the Capture): stop
        // them copying packets nobody reads.
        if let Err(e) = self.switch(false) {
            log::warn!("could not switch packet capture off: {e}");
        }
    }
}
