//! The only crate that talks to the kernel's BPF: it loads `bpf/flowsight.bpf.o`, attaches
//! its programs, drains the event ring buffer, reads and trims the flow map, and reads the
//! drop counters.
//!
//! A [`Capture`] owns everything it attached: dropping it (or the process dying, however it
//! dies) detaches every program, because every attachment is a link held by a file
//! descriptor. The one exception, netlink TC filters on kernels before 6.6, is handled in
//! `tc.rs`.

mod attach;
mod error;
mod flowmap;
pub mod interfaces;
pub mod names;
pub mod netns;
mod packets;
pub mod preflight;
mod probes;
mod runstats;
mod tc;
pub mod testbed;

pub use error::CaptureError;
pub use flowmap::{FlowMap, SampleStop};
pub use interfaces::{Interface, LinkKind};
pub use packets::PacketTap;
pub use probes::{ProbeFailure, ProbeStatus};
pub use runstats::ProgramStats;
pub use tc::{TcMode, tcx_supported};

use aya::maps::{MapData, PerCpuArray, RingBuf};
use aya::{Btf, Ebpf, EbpfLoader};
use flowsight_abi::{COUNTERS, Event, EventError, Sample};
use std::os::fd::{AsFd, BorrowedFd};

/// The BPF object, built by scripts/build-bpf and committed, so building flowsight needs no
/// clang.
static OBJECT: &[u8] = aya::include_bytes_aligned!("../../../bpf/flowsight.bpf.o");

/// The raw bytes of the embedded BPF object (for tests and `flowsight check`).
pub fn object_bytes() -> &'static [u8] {
    OBJECT
}

/// What to capture and how big the kernel-side buffers are.
#[derive(Debug, Clone)]
pub struct CaptureConfig {
    /// Interface names; empty means every interface that is up, loopback included.
    pub interfaces: Vec<String>,
    /// How TC programs are attached.
    pub tc_mode: TcMode,
    /// Size of the event ring buffer in bytes (a power of two, at least one page).
    pub ring_bytes: u32,
    /// Capacity of the kernel flow map.
    pub flow_map_entries: u32,
    /// Also stamp sockets at their first receive (a tracepoint on every recvmsg; only needed
    /// for receive-only sockets accepted without accept(2)).
    pub stamp_receives: bool,
    /// Payload samples per flow and direction for the protocol analyzers (0: none).
    pub sample_packets: u32,
    /// Size of the sample ring buffer in bytes (a power of two).
    pub sample_ring_bytes: u32,
    /// Size of the packet ring buffer in bytes (a power of two): one page unless packets are
    /// captured ([`Capture::packet_tap`]).
    pub packet_ring_bytes: u32,
    /// Have the kernel count each program's run time and runs ([`Capture::program_stats`]);
    /// costs two clock reads (about 70 ns here) per program run.
    pub program_stats: bool,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            interfaces: Vec::new(),
            tc_mode: TcMode::Auto,
            ring_bytes: 8 << 20,
            flow_map_entries: 1 << 18,
            stamp_receives: false,
            sample_packets: 0,
            sample_ring_bytes: 8 << 20,
            packet_ring_bytes: 4096,
            program_stats: false,
        }
    }
}

/// A running capture: programs attached, maps open.
pub struct Capture {
    // Field order matters: the maps are dropped before the object that owns the programs.
    events: RingBuf<MapData>,
    samples: RingBuf<MapData>,
    sample_stop: SampleStop,
    counters: PerCpuArray<MapData, u64>,
    flows: FlowMap,
    interfaces: Vec<Interface>,
    status: Vec<ProbeStatus>,
    /// The TC attachments, so an interface can be detached at run time.
    tc_links: tc::TcLinks,
    tc_mode: TcMode,
    /// Held while the kernel counts program run time (`program_stats`).
    _run_stats: Option<std::os::fd::OwnedFd>,
    _ebpf: Ebpf,
}

/// Per-CPU counters summed over CPUs, indexed by `enum fsight_counter`.
pub type Counters = [u64; COUNTERS as usize];

fn required(what: impl Into<String>, detail: impl Into<String>) -> CaptureError {
    CaptureError::Required {
        what: what.into(),
        detail: detail.into(),
    }
}

impl Capture {
    /// Check privileges and BTF, load the object, attach the attribution probes (each may
    /// fail and only degrade attribution) and the TC programs on the chosen interfaces
    /// (which must succeed).
    pub fn start(cfg: &CaptureConfig) -> Result<Capture, CaptureError> {
        preflight::check_capabilities()?;
        preflight::check_btf()?;
        let interfaces = if cfg.interfaces.is_empty() {
            interfaces::list_up()?
        } else {
            cfg.interfaces
                .iter()
                .map(|n| interfaces::by_name(n))
                .collect::<Result<Vec<_>, _>>()?
        };
        if interfaces.is_empty() {
            return Err(CaptureError::NoInterfaces);
        }
        let (ebpf, status, tc_links) = Self::load_and_attach(cfg, &interfaces)?;
        if let Some(bad) = status
            .iter()
            .find(|s| s.outcome.is_err() && s.program.starts_with("fsight_tc_"))
        {
            let err = bad.outcome.as_ref().unwrap_err();
            return Err(required(
                format!("attaching {} to {}", bad.program, bad.target),
                err.error.clone(),
            ));
        }
        let mut capture = Self::from_parts(ebpf, interfaces, status, cfg.flow_map_entries)
            .map(|c| c.with_tc(tc_links, cfg.tc_mode))?;
        if cfg.program_stats {
            match runstats::enable() {
                Ok(fd) => capture._run_stats = Some(fd),
                Err(error) => capture.status.push(ProbeStatus {
                    program: "bpf_enable_stats",
                    target: "kernel".to_string(),
                    outcome: Err(ProbeFailure {
                        error,
                        degraded: "BPF program run time is not counted",
                    }),
                }),
            }
        }
        Ok(capture)
    }

    /// Load everything and report, hook by hook, what works on this kernel, without
    /// failing on the first error. TC programs are tried on `interfaces` (loopback when
    /// empty) and detached when the returned value is dropped.
    pub fn probe(cfg: &CaptureConfig) -> Result<Vec<ProbeStatus>, CaptureError> {
        preflight::check_capabilities()?;
        preflight::check_btf()?;
        let names = if cfg.interfaces.is_empty() {
            vec!["lo".to_string()]
        } else {
            cfg.interfaces.clone()
        };
        let interfaces = names
            .iter()
            .map(|n| interfaces::by_name(n))
            .collect::<Result<Vec<_>, _>>()?;
        let (_ebpf, status, _links) = Self::load_and_attach(cfg, &interfaces)?;
        Ok(status)
    }

    fn load_and_attach(
        cfg: &CaptureConfig,
        interfaces: &[Interface],
    ) -> Result<(Ebpf, Vec<ProbeStatus>, tc::TcLinks), CaptureError> {
        // Memory for BPF maps is charged to the cgroup on 5.11+; older kernels count it
        // against RLIMIT_MEMLOCK. Raising it may be refused (no CAP_SYS_RESOURCE): harmless
        // on new kernels, and the map creation error says so on old ones.
        let unlimited = libc::rlimit {
            rlim_cur: libc::RLIM_INFINITY,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: setrlimit with a valid struct.
        if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) } != 0 {
            log::debug!(
                "RLIMIT_MEMLOCK not raised: {}",
                std::io::Error::last_os_error()
            );
        }
        let btf = Btf::from_sys_fs().map_err(|_| CaptureError::NoBtf)?;
        let mut ebpf = EbpfLoader::new()
            .btf(Some(&btf))
            .map_max_entries(names::MAP_EVENTS, cfg.ring_bytes)
            .map_max_entries(names::MAP_SAMPLES, cfg.sample_ring_bytes)
            .map_max_entries(names::MAP_PACKETS, cfg.packet_ring_bytes)
            .map_max_entries(names::MAP_FLOWS, cfg.flow_map_entries)
            .override_global(names::GLOBAL_SAMPLE_PACKETS, &cfg.sample_packets, true)
            .load(OBJECT)?;
        tc::load(&mut ebpf).map_err(|(prog, e)| required(format!("loading {prog}"), e))?;
        let mut status = probes::attach_all(&mut ebpf, &btf, cfg.stamp_receives);
        let mut links = tc::TcLinks::default();
        for iface in interfaces {
            status.extend(tc::attach(&mut ebpf, iface, cfg.tc_mode, &mut links));
        }
        Ok((ebpf, status, links))
    }

    fn from_parts(
        mut ebpf: Ebpf,
        interfaces: Vec<Interface>,
        status: Vec<ProbeStatus>,
        flow_map_entries: u32,
    ) -> Result<Capture, CaptureError> {
        let missing = |name| required(format!("map {name}"), "missing from the object");
        let (events, counters) = take_event_maps(&mut ebpf)?;
        let samples = RingBuf::try_from(
            ebpf.take_map(names::MAP_SAMPLES)
                .ok_or_else(|| missing(names::MAP_SAMPLES))?,
        )
        .map_err(|e| required("opening the sample ring buffer", e.to_string()))?;
        let sample_stop = SampleStop::new(map_fd(&ebpf, names::MAP_SAMPLE_STOP)?);
        let flows_fd = match ebpf.map(names::MAP_FLOWS) {
            Some(aya::maps::Map::HashMap(data)) => {
                data.fd()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(|source| CaptureError::Map {
                        map: names::MAP_FLOWS,
                        source,
                    })?
            }
            _ => return Err(missing(names::MAP_FLOWS)),
        };
        Ok(Capture {
            events,
            samples,
            sample_stop,
            counters,
            flows: FlowMap::new(flows_fd, flow_map_entries),
            interfaces,
            status,
            tc_links: tc::TcLinks::default(),
            tc_mode: TcMode::Auto,
            _run_stats: None,
            _ebpf: ebpf,
        })
    }

    /// What loaded and attached, and what is degraded.
    pub fn status(&self) -> &[ProbeStatus] {
        &self.status
    }

    /// The interfaces the TC programs are attached to.
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    /// The event ring buffer's descriptor, readable when events are waiting (for poll(2)).
    pub fn events_fd(&self) -> BorrowedFd<'_> {
        self.events.as_fd()
    }

    /// Hand every waiting event to `f`; returns how many were read. A record that does not
    /// decode is handed over as an error (and is a bug: the two halves disagree on the ABI).
    pub fn drain_events(&mut self, mut f: impl FnMut(Result<Event, EventError>)) -> usize {
        let mut n = 0;
        while let Some(item) = self.events.next() {
            f(Event::parse(&item));
            n += 1;
        }
        n
    }

    /// The sample ring buffer's descriptor (for poll(2)).
    pub fn samples_fd(&self) -> BorrowedFd<'_> {
        self.samples.as_fd()
    }

    /// Hand every waiting payload sample to `f` (borrowed from the ring: copy what must
    /// outlive the call); returns how many were read.
    pub fn drain_samples(&mut self, mut f: impl FnMut(Result<Sample<'_>, EventError>)) -> usize {
        let mut n = 0;
        while let Some(item) = self.samples.next() {
            f(Sample::parse(&item));
            n += 1;
        }
        n
    }

    /// Flows whose analyzers need no more samples.
    pub fn sample_stop(&self) -> &SampleStop {
        &self.sample_stop
    }

    /// The kernel flow map.
    pub fn flows(&mut self) -> &mut FlowMap {
        &mut self.flows
    }

    /// Run time and runs of every loaded program since it was loaded (zero unless
    /// `program_stats` was asked for or `kernel.bpf_stats_enabled` is 1).
    pub fn program_stats(&self) -> Vec<ProgramStats> {
        runstats::read(&self._ebpf)
    }

    /// The per-CPU counters, summed.
    pub fn counters(&self) -> Result<Counters, CaptureError> {
        sum_counters(&self.counters)
    }
}

/// The event ring buffer and the counters, taken out of a loaded object.
pub(crate) fn take_event_maps(
    ebpf: &mut Ebpf,
) -> Result<(RingBuf<MapData>, PerCpuArray<MapData, u64>), CaptureError> {
    let missing = |name| required(format!("map {name}"), "missing from the object");
    let events = RingBuf::try_from(
        ebpf.take_map(names::MAP_EVENTS)
            .ok_or_else(|| missing(names::MAP_EVENTS))?,
    )
    .map_err(|e| required("opening the event ring buffer", e.to_string()))?;
    let counters = PerCpuArray::try_from(
        ebpf.take_map(names::MAP_COUNTERS)
            .ok_or_else(|| missing(names::MAP_COUNTERS))?,
    )
    .map_err(|e| required("opening the counters", e.to_string()))?;
    Ok((events, counters))
}

/// A duplicate of a map's file descriptor.
pub(crate) fn map_fd(
    ebpf: &Ebpf,
    name: &'static str,
) -> Result<std::os::fd::OwnedFd, CaptureError> {
    let data = match ebpf.map(name) {
        Some(
            aya::maps::Map::HashMap(d)
            | aya::maps::Map::LruHashMap(d)
            | aya::maps::Map::Array(d)
            | aya::maps::Map::PerCpuArray(d)
            | aya::maps::Map::RingBuf(d),
        ) => d,
        _ => return Err(required(format!("map {name}"), "missing from the object")),
    };
    data.fd()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|source| CaptureError::Map { map: name, source })
}

/// Per-CPU counters summed over CPUs.
pub(crate) fn sum_counters(counters: &PerCpuArray<MapData, u64>) -> Result<Counters, CaptureError> {
    let mut out = [0u64; COUNTERS as usize];
    for (i, slot) in out.iter_mut().enumerate() {
        let per_cpu = counters
            .get(&(i as u32), 0)
            .map_err(|e| CaptureError::Map {
                map: names::MAP_COUNTERS,
                source: std::io::Error::other(e.to_string()),
            })?;
        *slot = per_cpu.iter().sum();
    }
    Ok(out)
}
