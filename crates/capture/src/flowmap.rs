//! Reading and trimming the kernel flow map.
//!
//! The map is scanned whole once per tick. aya's iterator costs two syscalls per entry
//! (get-next-key, lookup), 200,000 syscalls a second at 100,000 flows; `BPF_MAP_LOOKUP_BATCH`
//! copies thousands of entries per syscall. Ended flows are removed with
//! `BPF_MAP_LOOKUP_AND_DELETE_ELEM`, which returns the final counters in the same step, so a
//! packet counted between a scan and the delete is not lost. Both are raw bpf(2) calls because
//! aya 0.14 does not wrap them.

use crate::CaptureError;
use crate::names::MAP_FLOWS;
use bytemuck::Zeroable;
use flowsight_abi::{FlowKey, FlowStats};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_DELETE_ELEM: libc::c_long = 3;
const BPF_NOEXIST: u64 = 1;
const BPF_MAP_GET_NEXT_KEY: libc::c_long = 4;
const BPF_MAP_LOOKUP_AND_DELETE_ELEM: libc::c_long = 21;
const BPF_MAP_LOOKUP_BATCH: libc::c_long = 24;

/// Entries asked for per batch call. Must exceed the longest hash bucket (the kernel answers
/// ENOSPC otherwise), which is far smaller than this.
const BATCH: usize = 4096;

/// `union bpf_attr` for the element commands.
#[repr(C)]
#[derive(Default)]
struct ElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// `union bpf_attr` for the batch commands.
#[repr(C)]
#[derive(Default)]
struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<()> {
    // SAFETY: attr is a #[repr(C)] prefix of union bpf_attr of the size passed; the pointers
    // inside it refer to buffers that outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `fsight_sample_stop`: flows whose analyzers need no more payload.
pub struct SampleStop {
    fd: OwnedFd,
}

impl SampleStop {
    pub(crate) fn new(fd: OwnedFd) -> SampleStop {
        SampleStop { fd }
    }

    fn elem(&self, cmd: libc::c_long, key: &FlowKey, value: Option<&u8>) -> std::io::Result<()> {
        let mut attr = ElemAttr {
            map_fd: self.fd.as_raw_fd() as u32,
            key: key as *const FlowKey as u64,
            value: value.map_or(0, |v| v as *const u8 as u64),
            ..Default::default()
        };
        bpf(cmd, &mut attr)
    }

    /// Stop sampling a flow.
    pub fn stop(&self, key: &FlowKey) -> Result<(), CaptureError> {
        self.elem(BPF_MAP_UPDATE_ELEM, key, Some(&1))
            .map_err(|source| CaptureError::Map {
                map: crate::names::MAP_SAMPLE_STOP,
                source,
            })
    }

    /// Forget a flow (it ended): a new connection on its 4-tuple is sampled again.
    pub fn forget(&self, key: &FlowKey) {
        let _ = self.elem(BPF_MAP_DELETE_ELEM, key, None);
    }
}

/// The kernel flow map, by file descriptor.
pub struct FlowMap {
    fd: OwnedFd,
    capacity: u32,
    keys: Vec<FlowKey>,
    values: Vec<FlowStats>,
    batch_works: bool,
}

impl FlowMap {
    pub(crate) fn new(fd: OwnedFd, capacity: u32) -> Self {
        FlowMap {
            fd,
            capacity,
            keys: vec![FlowKey::zeroed(); BATCH],
            values: vec![FlowStats::zeroed(); BATCH],
            batch_works: true,
        }
    }

    /// Maximum number of flows the map holds.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    fn fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }

    fn map_err(source: std::io::Error) -> CaptureError {
        CaptureError::Map {
            map: MAP_FLOWS,
            source,
        }
    }

    /// Copy every entry of the map into `out` (cleared first).
    pub fn scan(&mut self, out: &mut Vec<(FlowKey, FlowStats)>) -> Result<(), CaptureError> {
        out.clear();
        if self.batch_works {
            match self.scan_batch(out) {
                Ok(()) => return Ok(()),
                // Kernels before 5.6 have no batch commands.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) && out.is_empty() => {
                    log::info!(
                        "BPF_MAP_LOOKUP_BATCH unsupported; scanning the flow map key by key"
                    );
                    self.batch_works = false;
                }
                Err(e) => return Err(Self::map_err(e)),
            }
        }
        self.scan_by_key(out).map_err(Self::map_err)
    }

    fn scan_batch(&mut self, out: &mut Vec<(FlowKey, FlowStats)>) -> std::io::Result<()> {
        // The hash map's batch token is a bucket index (u32); u64 leaves room.
        let mut token_in = 0u64;
        let mut token_out = 0u64;
        let mut first = true;
        loop {
            let mut attr = BatchAttr {
                in_batch: if first {
                    0
                } else {
                    &mut token_in as *mut u64 as u64
                },
                out_batch: &mut token_out as *mut u64 as u64,
                keys: self.keys.as_mut_ptr() as u64,
                values: self.values.as_mut_ptr() as u64,
                count: BATCH as u32,
                map_fd: self.fd().as_raw_fd() as u32,
                ..Default::default()
            };
            let rc = bpf(BPF_MAP_LOOKUP_BATCH, &mut attr);
            let n = (attr.count as usize).min(BATCH);
            out.extend(
                self.keys[..n]
                    .iter()
                    .copied()
                    .zip(self.values[..n].iter().copied()),
            );
            match rc {
                Ok(()) => {}
                // ENOENT: the walk reached the end (entries of the last call are valid).
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
                Err(e) => return Err(e),
            }
            token_in = token_out;
            first = false;
        }
    }

    fn scan_by_key(&mut self, out: &mut Vec<(FlowKey, FlowStats)>) -> std::io::Result<()> {
        let mut key = FlowKey::zeroed();
        let mut have_key = false;
        loop {
            let mut next = FlowKey::zeroed();
            let mut attr = ElemAttr {
                map_fd: self.fd().as_raw_fd() as u32,
                key: if have_key {
                    &key as *const FlowKey as u64
                } else {
                    0
                },
                value: &mut next as *mut FlowKey as u64,
                ..Default::default()
            };
            match bpf(BPF_MAP_GET_NEXT_KEY, &mut attr) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
                Err(e) => return Err(e),
            }
            key = next;
            have_key = true;
            let mut value = FlowStats::zeroed();
            let mut attr = ElemAttr {
                map_fd: self.fd().as_raw_fd() as u32,
                key: &key as *const FlowKey as u64,
                value: &mut value as *mut FlowStats as u64,
                ..Default::default()
            };
            match bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) {
                Ok(()) => out.push((key, value)),
                // Deleted between the two calls.
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// A flow's current counters, None if it has no entry.
    pub fn get(&self, key: &FlowKey) -> Result<Option<FlowStats>, CaptureError> {
        let mut value = FlowStats::zeroed();
        let mut attr = ElemAttr {
            map_fd: self.fd().as_raw_fd() as u32,
            key: key as *const FlowKey as u64,
            value: &mut value as *mut FlowStats as u64,
            ..Default::default()
        };
        match bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) {
            Ok(()) => Ok(Some(value)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(Self::map_err(e)),
        }
    }

    /// Put back an entry taken by mistake, unless the kernel made a new one meanwhile.
    /// Returns whether it was put back.
    pub fn restore(&mut self, key: &FlowKey, value: &FlowStats) -> Result<bool, CaptureError> {
        let mut attr = ElemAttr {
            map_fd: self.fd().as_raw_fd() as u32,
            key: key as *const FlowKey as u64,
            value: value as *const FlowStats as u64,
            flags: BPF_NOEXIST,
            ..Default::default()
        };
        match bpf(BPF_MAP_UPDATE_ELEM, &mut attr) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(false),
            Err(e) => Err(Self::map_err(e)),
        }
    }

    /// Remove a flow and return its final counters; None if it was already gone.
    pub fn take(&mut self, key: &FlowKey) -> Result<Option<FlowStats>, CaptureError> {
        let mut value = FlowStats::zeroed();
        let mut attr = ElemAttr {
            map_fd: self.fd().as_raw_fd() as u32,
            key: key as *const FlowKey as u64,
            value: &mut value as *mut FlowStats as u64,
            ..Default::default()
        };
        match bpf(BPF_MAP_LOOKUP_AND_DELETE_ELEM, &mut attr) {
            Ok(()) => Ok(Some(value)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(Self::map_err(e)),
        }
    }
}
