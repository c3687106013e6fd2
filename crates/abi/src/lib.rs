//! The Rust view of `bpf/abi.h`, the one definition of everything that crosses the kernel
//! boundary.
//!
//! [`generated`] is bindgen's output, committed and checked by `scripts/build-bpf --check`;
//! this file adds what bindgen cannot: readable aliases, `Pod` impls so the types can be read
//! from ring-buffer bytes and map values, and [`Event`], the checked decoding of one
//! ring-buffer record. Nothing here talks to the kernel.

#[allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    dead_code,
    clippy::all,
    missing_docs
)]
pub mod generated {
    //! bindgen output for `bpf/abi.h`.
    include!("generated.rs");
}

mod event;
mod packet;

pub use event::{Event, EventError, Sample};
pub use generated::{
    fsight_cookie_kind as cookie_kind, fsight_counter as counter, fsight_event_kind as event_kind,
    fsight_initiator as initiator, fsight_stamp_origin as stamp_origin,
};
pub use packet::CapturedPacket;

/// Common header of every ring-buffer record.
pub type EventHeader = generated::fsight_event_header;
/// The current task as a BPF program saw it.
pub type Task = generated::fsight_task;
/// `FSIGHT_EV_SOCK_OWNER`.
pub type SockOwner = generated::fsight_sock_owner;
/// `FSIGHT_EV_SOCK_CLOSE`.
pub type SockClose = generated::fsight_sock_close;
/// `FSIGHT_EV_PROC_EXEC`.
pub type ProcExec = generated::fsight_proc_exec;
/// `FSIGHT_EV_PROC_FORK`.
pub type ProcFork = generated::fsight_proc_fork;
/// `FSIGHT_EV_PROC_EXIT`.
pub type ProcExit = generated::fsight_proc_exit;
/// `FSIGHT_EV_FLOW_RECYCLED`.
pub type FlowRecycled = generated::fsight_flow_recycled;
/// The fixed part of a `FSIGHT_EV_SAMPLE` record (its payload bytes follow it).
pub type SampleHead = generated::fsight_sample_head;
/// The fixed part of a `FSIGHT_EV_PACKET` record (the packet bytes follow it).
pub type PacketHead = generated::fsight_packet_head;
/// The packet capture switch and snap length (map `fsight_capture_cfg`).
pub type CaptureCfg = generated::fsight_capture_cfg;
/// Key of the kernel flow map.
pub type FlowKey = generated::fsight_flow_key;
/// Value of the kernel flow map.
pub type FlowStats = generated::fsight_flow_stats;

/// `AF_INET` as the kernel numbers it.
pub const AF_INET: u16 = generated::FSIGHT_AF_INET as u16;
/// `AF_INET6` as the kernel numbers it.
pub const AF_INET6: u16 = generated::FSIGHT_AF_INET6 as u16;
/// Number of per-CPU counters (`enum fsight_counter`).
pub const COUNTERS: u32 = counter::FSIGHT_CNT__MAX;

// The sizes abi.h pins with _Static_assert, pinned again here: bindgen would happily follow a
// change to the header, and the kernel side would not.
const _: () = {
    use core::mem::size_of;
    assert!(size_of::<EventHeader>() == 16);
    assert!(size_of::<Task>() == 40);
    assert!(size_of::<SockOwner>() == 112);
    assert!(size_of::<SockClose>() == 24);
    assert!(size_of::<ProcExec>() == 848);
    assert!(size_of::<ProcFork>() == 32);
    assert!(size_of::<ProcExit>() == 24);
    assert!(size_of::<FlowKey>() == 44);
    assert!(size_of::<FlowStats>() == 72);
    assert!(size_of::<FlowRecycled>() == 136);
    assert!(size_of::<SampleHead>() == 96);
    assert!(size_of::<PacketHead>() == 96);
    assert!(size_of::<CaptureCfg>() == 8);
};

/// Largest packet prefix a captured packet carries (`FSIGHT_PACKET_MAX`).
pub const PACKET_MAX: u32 = generated::FSIGHT_PACKET_MAX;

// SAFETY: every type below is #[repr(C)], made only of integers and integer arrays, with
// explicit padding fields in abi.h (checked by the size asserts above), so every bit pattern
// is valid and there are no uninitialised padding bytes.
macro_rules! pod {
    ($($t:ty),*) => {$(
        unsafe impl bytemuck::Zeroable for $t {}
        unsafe impl bytemuck::Pod for $t {}
    )*};
}
pod!(
    EventHeader,
    Task,
    SockOwner,
    SockClose,
    ProcExec,
    ProcFork,
    ProcExit,
    FlowKey,
    FlowStats,
    FlowRecycled,
    SampleHead,
    PacketHead,
    CaptureCfg
);

impl PartialEq for FlowKey {
    fn eq(&self, other: &Self) -> bool {
        bytemuck::bytes_of(self) == bytemuck::bytes_of(other)
    }
}
impl Eq for FlowKey {}
impl core::hash::Hash for FlowKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        bytemuck::bytes_of(self).hash(state)
    }
}

/// The bytes of a C char array.
pub fn c_bytes(chars: &[core::ffi::c_char]) -> &[u8] {
    bytemuck::cast_slice(chars)
}

/// The text of a NUL-terminated C char array, lossily decoded.
pub fn c_str(chars: &[core::ffi::c_char]) -> String {
    let bytes = c_bytes(chars);
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}
