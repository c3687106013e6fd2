//! The TC programs without an interface: packets pushed through `BPF_PROG_TEST_RUN`.
//!
//! Used by the kernel-side parsing tests (a synthetic packet in, the flow map checked) and by
//! the per-packet cost benchmark, which the kernel times itself over many repetitions. Needs
//! the same privileges as a capture.

use crate::flowmap::FlowMap;
use crate::names::*;
use crate::{CaptureError, Counters, preflight};
use aya::maps::{MapData, PerCpuArray, RingBuf};
use aya::programs::SchedClassifier;
use aya::{Btf, Ebpf, EbpfLoader};
use flowsight_abi::{Event, EventError};
use std::os::fd::{AsFd, AsRawFd};

const BPF_PROG_TEST_RUN: libc::c_long = 10;

/// `union bpf_attr` for BPF_PROG_TEST_RUN.
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// Which TC program to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// `fsight_tc_ingress`.
    Ingress,
    /// `fsight_tc_egress`.
    Egress,
}

/// The result of one test run.
#[derive(Debug, Clone, Copy)]
pub struct RunResult {
    /// The program's return value.
    pub retval: i32,
    /// Mean nanoseconds per run, as the kernel measured it.
    pub ns_per_run: u32,
}

/// The object loaded with its TC programs verified, nothing attached.
pub struct TcTestBed {
    events: RingBuf<MapData>,
    samples: RingBuf<MapData>,
    stop: crate::SampleStop,
    counters: PerCpuArray<MapData, u64>,
    flows: FlowMap,
    ebpf: Ebpf,
}

impl TcTestBed {
    /// Load the object and the TC programs.
    pub fn new() -> Result<TcTestBed, CaptureError> {
        Self::with_samples(0)
    }

    /// Load with payload sampling of `sample_packets` packets per flow and direction.
    pub fn with_samples(sample_packets: u32) -> Result<TcTestBed, CaptureError> {
        preflight::check_capabilities()?;
        let btf = Btf::from_sys_fs().map_err(|_| CaptureError::NoBtf)?;
        let mut ebpf = EbpfLoader::new()
            .btf(Some(&btf))
            .override_global(GLOBAL_SAMPLE_PACKETS, &sample_packets, true)
            .load(crate::OBJECT)?;
        crate::tc::load(&mut ebpf).map_err(|(p, e)| CaptureError::Required {
            what: format!("loading {p}"),
            detail: e,
        })?;
        let fd = match ebpf.map(MAP_FLOWS) {
            Some(aya::maps::Map::HashMap(d)) => {
                d.fd()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(|source| CaptureError::Map {
                        map: MAP_FLOWS,
                        source,
                    })?
            }
            _ => {
                return Err(CaptureError::Required {
                    what: MAP_FLOWS.into(),
                    detail: "missing".into(),
                });
            }
        };
        let (events, counters) = crate::take_event_maps(&mut ebpf)?;
        let samples = RingBuf::try_from(ebpf.take_map(MAP_SAMPLES).ok_or_else(|| {
            CaptureError::Required {
                what: MAP_SAMPLES.into(),
                detail: "missing".into(),
            }
        })?)
        .map_err(|e| CaptureError::Required {
            what: MAP_SAMPLES.into(),
            detail: e.to_string(),
        })?;
        let stop = crate::SampleStop::new(crate::map_fd(&ebpf, MAP_SAMPLE_STOP)?);
        Ok(TcTestBed {
            events,
            samples,
            stop,
            counters,
            flows: FlowMap::new(fd, 1 << 18),
            ebpf,
        })
    }

    /// Every event waiting in the ring buffer.
    pub fn events(&mut self) -> Vec<Result<Event, EventError>> {
        let mut out = Vec::new();
        while let Some(item) = self.events.next() {
            out.push(Event::parse(&item));
        }
        out
    }

    /// Every waiting payload sample: (head, payload bytes).
    pub fn samples(&mut self) -> Vec<(flowsight_abi::SampleHead, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(item) = self.samples.next() {
            if let Ok(s) = flowsight_abi::Sample::parse(&item) {
                out.push((s.head, s.data.to_vec()));
            }
        }
        out
    }

    /// The sample stop map.
    pub fn sample_stop(&self) -> &crate::SampleStop {
        &self.stop
    }

    /// The per-CPU counters, summed.
    pub fn counters(&self) -> Result<Counters, CaptureError> {
        crate::sum_counters(&self.counters)
    }

    /// The flow map.
    pub fn flows(&mut self) -> &mut FlowMap {
        &mut self.flows
    }

    /// Run `packet` (starting with its Ethernet header) through a TC program `repeat` times,
    /// as if it crossed the interface with index `ifindex` (which must exist in the calling
    /// thread's network namespace; 1 is loopback).
    pub fn run(
        &mut self,
        hook: Hook,
        packet: &[u8],
        ifindex: u32,
        repeat: u32,
    ) -> Result<RunResult, CaptureError> {
        let name = match hook {
            Hook::Ingress => PROG_TC_INGRESS,
            Hook::Egress => PROG_TC_EGRESS,
        };
        let prog: &SchedClassifier = self
            .ebpf
            .program(name)
            .ok_or_else(|| CaptureError::Required {
                what: name.into(),
                detail: "missing".into(),
            })?
            .try_into()
            .map_err(|e: aya::programs::ProgramError| CaptureError::Required {
                what: name.into(),
                detail: e.to_string(),
            })?;
        let prog_fd = prog.fd().map_err(|e| CaptureError::Required {
            what: name.into(),
            detail: e.to_string(),
        })?;
        // struct __sk_buff is 192 bytes; only ifindex (offset 40) is set. The kernel takes
        // the device from it.
        let mut ctx = [0u8; 192];
        ctx[40..44].copy_from_slice(&ifindex.to_ne_bytes());
        let mut out = vec![0u8; packet.len() + 256];
        let mut attr = TestRunAttr {
            prog_fd: prog_fd.as_fd().as_raw_fd() as u32,
            data_size_in: packet.len() as u32,
            data_size_out: out.len() as u32,
            data_in: packet.as_ptr() as u64,
            data_out: out.as_mut_ptr() as u64,
            repeat,
            ctx_size_in: ctx.len() as u32,
            ctx_in: ctx.as_ptr() as u64,
            ..Default::default()
        };
        // SAFETY: attr is the BPF_PROG_TEST_RUN prefix of union bpf_attr; the buffers it points
        // to live until the call returns.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_PROG_TEST_RUN,
                &mut attr as *mut TestRunAttr,
                std::mem::size_of::<TestRunAttr>() as libc::c_uint,
            )
        };
        if rc < 0 {
            return Err(CaptureError::Io {
                what: format!("BPF_PROG_TEST_RUN {name}"),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(RunResult {
            retval: attr.retval as i32,
            ns_per_run: attr.duration,
        })
    }
}
