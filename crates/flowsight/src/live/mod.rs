//! `flowsight live`: the wiring of capture, host tables, flow table and sink.
//!
//! One thread does it all: poll the event ring buffer, apply events, and once per scan
//! interval read the flow map and write the records that are due. Events are applied before
//! each scan, so an owner stamped before a flow ends is known when its record is written.

pub(crate) mod attribution;
mod control;
mod events;
pub(crate) mod filter;
pub(crate) mod hold;
mod join;
pub(crate) mod pipeline;
mod seed;

use crate::cli::{LiveConfig, Output};
use anyhow::{Context, Result};
use flowsight_capture::{Capture, netns};
use flowsight_flow::{Clock, FlowTable};
use flowsight_host::{Host, HostConfig, SocketTable};
use flowsight_sink::{JsonLines, Metrics, MetricsSink, Sink, Tee};
use pipeline::Pipeline;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Sockets remembered at most (sized above what a busy host has open).
const SOCKET_TABLE_CAPACITY: usize = 1 << 20;
/// How long a closed socket's owner is kept at least, so flows exported after the close find
/// it (a UDP flow's record comes an idle timeout after its last packet: the grace is also at
/// least that plus a minute).
const SOCKET_GRACE: Duration = Duration::from_secs(120);

fn open_output(output: &Output) -> Result<Box<dyn Sink + Send>> {
    Ok(match output {
        Output::Stdout => Box::new(JsonLines::new(std::io::stdout())),
        Output::File(path) => Box::new(JsonLines::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
    })
}

/// Wait until a ring buffer (or the API's control channel) has data or `timeout` passes.
fn wait_readable(fds: &[std::os::fd::BorrowedFd<'_>], timeout: Duration) {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: valid pollfds, as many as given; EINTR (a signal) just ends the wait early.
    unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
}

/// Load and attach the programs, read the host's processes and open sockets, and build the
/// pipeline over them, joining flows across interfaces and NAT and keeping the records of the
/// chosen owners (`flowsight capture` runs the same one beside its packets, for its record
/// log).
pub(crate) fn start_pipeline(cfg: &LiveConfig, sink: Box<dyn Sink>) -> Result<Pipeline> {
    let capture = Capture::start(&cfg.capture)?;

    // Start-up scans come after the programs attach, so nothing falls between the two: a
    // process or socket born in between is in both, and the later event wins.
    let mut host_config = HostConfig::system();
    if !cfg.cri_sockets.is_empty() {
        host_config.cri_sockets = cfg.cri_sockets.clone();
    }
    if !cfg.docker_sockets.is_empty() {
        host_config.docker_sockets = cfg.docker_sockets.clone();
    }
    let docker_sockets = host_config.docker_sockets.clone();
    let mut host = Host::new(host_config);
    host.scan_procfs();
    let grace =
        SOCKET_GRACE.max(Duration::from_nanos(cfg.timeouts.idle_ns) + Duration::from_secs(60));
    let mut sockets = SocketTable::new(SOCKET_TABLE_CAPACITY, grace.as_nanos() as u64);
    let seeded = seed::existing_sockets(&mut host, &mut sockets, Clock::now_monotonic());
    log::info!("attributed {seeded} sockets open at start-up");

    let mut p = Pipeline::new(
        capture,
        host,
        sockets,
        FlowTable::new(cfg.timeouts),
        sink,
        cfg.engine.clone(),
        cfg.capture.sample_packets,
    );
    // Containers named in --container that run now: by id too, so their records written
    // before the name look-up answers are kept.
    let mut filter = cfg.filter.clone();
    let ids = flowsight_host::docker::ids_of_names(&docker_sockets, &filter.containers);
    if !ids.is_empty() {
        log::info!("--container names resolved to {}", ids.join(", "));
        filter.containers.extend(ids);
    }
    p.set_join_and_filter(join::joiner(cfg.timeouts.idle_ns), filter);
    Ok(p)
}

/// Run until a signal, `--duration`, or an error.
pub fn run(cfg: &LiveConfig) -> Result<()> {
    run_with(cfg, None, Arc::new(AtomicBool::new(false)))
}

/// [`run`], with the records going to `sink` instead of `--output` when given, and stopping
/// also when `stop` is set (`flowsight top` draws them and stops on its own keys).
pub fn run_with(
    cfg: &LiveConfig,
    sink: Option<Box<dyn Sink + Send>>,
    stop: Arc<AtomicBool>,
) -> Result<()> {
    // setns(2) changes only the calling thread: enter before anything else starts.
    if let Some(ns) = &cfg.netns {
        netns::enter(ns)?;
    }
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing the signal handler")?;
    }
    let json = match sink {
        Some(sink) => sink,
        None => open_output(&cfg.output)?,
    };
    let mut port = None;
    let sink: Box<dyn Sink> = match &cfg.metrics {
        // The metrics and the web API read the records the JSON sink writes, through the
        // same pipeline.
        Some(serve) => {
            let metrics = Arc::new(std::sync::Mutex::new(Metrics::new(serve.max_series)));
            let web = Arc::new(crate::serve::Web::default());
            let (control, control_port) =
                crate::serve::control::channel().context("creating the control channel")?;
            port = Some(control_port);
            let server =
                crate::serve::start(serve, Arc::clone(&metrics), Arc::clone(&web), Some(control))?;
            log::info!(
                "dashboard on http://{0}/, API on http://{0}/api/v1/, metrics on http://{0}/metrics",
                server.addr
            );
            Box::new(Tee(vec![
                json,
                Box::new(MetricsSink(metrics)),
                Box::new(
                    crate::serve::WebSink::live(web).context("starting the web views thread")?,
                ),
            ]))
        }
        None => json,
    };
    let mut p = start_pipeline(cfg, sink)?;
    crate::release_freed_memory();
    for line in p.degraded() {
        log::warn!("degraded: {line}");
    }
    log::info!(
        "capturing on {}",
        p.capture
            .interfaces()
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );

    let started = Instant::now();
    let mut next_scan = started + cfg.scan_interval;
    let mut next_stats = cfg.stats_interval.map(|d| started + d);
    while !stop.load(Ordering::Relaxed) {
        if cfg.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        let now = Instant::now();
        let mut wake = next_scan;
        if let Some(d) = cfg.duration {
            wake = wake.min(started + d);
        }
        let mut fds = vec![p.capture.events_fd(), p.capture.samples_fd()];
        fds.extend(port.as_ref().map(|c| c.fd()));
        wait_readable(&fds, wake.saturating_duration_since(now));
        p.drain()?;
        // The API's requests, between two batches (attaching takes effect for the next).
        for req in port.iter().flat_map(|c| c.take()) {
            control::handle(&mut p, req);
        }
        if Instant::now() >= next_scan {
            p.scan()?;
            next_scan += cfg.scan_interval;
            if next_scan < Instant::now() {
                next_scan = Instant::now() + cfg.scan_interval;
            }
            if let (Some(at), Some(every)) = (next_stats, cfg.stats_interval)
                && Instant::now() >= at
            {
                p.write_stats(false)?;
                next_stats = Some(at + every);
            }
            p.flush()?;
        }
    }
    p.shutdown()
}
