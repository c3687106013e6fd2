//! `flowsight top`: the terminal view (flowsight_sink::top) fed by the live pipeline, or by a
//! capture file replayed through the analysis engine as `flowsight read` does.
//!
//! The records come from a worker thread (the live pipeline, or the replay); the main thread
//! draws and reads keys. They share only the model and a stop flag: q, Ctrl-C and the
//! signals set it, and the worker sets it when it ends, so either side ending ends both.

use crate::cli::{ReplayConfig, TopConfig};
use anyhow::{Context, Result, bail};
use flowsight_flow::Engine;
use flowsight_pcapfile::CaptureReader;
use flowsight_record::Timestamp;
use flowsight_sink::Sink;
use flowsight_sink::top::sink::{SharedModel, lock};
use flowsight_sink::top::{Grouping, Limits, Model, TopSink};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Log lines kept while the view owns the terminal (written after it is restored), at most.
const LOG_LIMIT: usize = 1 << 20;
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Where log lines go during `flowsight top`: a buffer printed on exit, since lines written
/// onto the alternate screen would stay there between the cells ratatui redraws.
pub fn log_target() -> env_logger::Target {
    env_logger::Target::Pipe(Box::new(LogBuffer))
}

struct LogBuffer;

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut log = LOG.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() + buf.len() <= LOG_LIMIT {
            log.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn print_log() {
    let log = std::mem::take(&mut *LOG.lock().unwrap_or_else(|e| e.into_inner()));
    let _ = std::io::stderr().write_all(&log);
}

/// Sets the stop flag when dropped: the worker ending, by return or panic, ends the view.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// What the header says about the source.
type Status = Arc<Mutex<String>>;

fn set(status: &Status, s: String) {
    *status.lock().unwrap_or_else(|e| e.into_inner()) = s;
}

/// Run `flowsight top`.
pub fn run(cfg: &TopConfig) -> Result<()> {
    if !std::io::stdout().is_terminal() {
        bail!(
            "top draws on a terminal and standard output is not one (`flowsight live` and `flowsight read` write records)"
        );
    }
    let model: SharedModel = Arc::new(Mutex::new(Model::new(Limits::default())));
    let stop = Arc::new(AtomicBool::new(false));
    // SIGHUP too: a closed terminal or a killed tmux session stops the capture cleanly.
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing the signal handler")?;
    }
    let status: Status = Arc::new(Mutex::new(String::new()));
    let (worker, grouping) = match cfg {
        TopConfig::Live(live) => {
            let where_ = if live.capture.interfaces.is_empty() {
                "live".to_string()
            } else {
                format!("live on {}", live.capture.interfaces.join(", "))
            };
            set(&status, where_);
            let (live, model, stop) = ((**live).clone(), Arc::clone(&model), Arc::clone(&stop));
            let worker = spawn(move || {
                let _stop = StopOnDrop(Arc::clone(&stop));
                let sink = TopSink::live(model);
                crate::live::run_with(&live, Some(Box::new(sink)), stop)
            })?;
            (worker, Grouping::Process)
        }
        TopConfig::Replay(r) => {
            // Opened here so a missing or unreadable file is an error before the screen
            // changes. Read, not mapped: a file cut shorter under a map raises SIGBUS, which
            // would leave the terminal in raw mode.
            let reader =
                CaptureReader::open_read(&r.file).with_context(|| format!("reading {}", r.file))?;
            set(&status, format!("reading {}", name(&r.file)));
            let (r, model, stop, st) = (
                r.clone(),
                Arc::clone(&model),
                Arc::clone(&stop),
                Arc::clone(&status),
            );
            let worker = spawn(move || replay(&r, reader, &model, &stop, &st))?;
            // A capture has no owners: its hosts say more than one `-` process row.
            (worker, Grouping::Host)
        }
    };
    let shown = flowsight_sink::top::run(&model, &stop, grouping, &|| {
        status.lock().unwrap_or_else(|e| e.into_inner()).clone()
    });
    stop.store(true, Ordering::SeqCst);
    let done = worker.join();
    print_log();
    shown.context("drawing on the terminal")?;
    match done {
        Ok(r) => r,
        // The panic hook printed the message after restoring the terminal.
        Err(_) => bail!("the capture thread panicked"),
    }
}

/// The file's name without its directories: the header has little room.
fn name(file: &str) -> &str {
    std::path::Path::new(file)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(file)
}

fn spawn(f: impl FnOnce() -> Result<()> + Send + 'static) -> Result<JoinHandle<Result<()>>> {
    std::thread::Builder::new()
        .name("top-records".into())
        .spawn(f)
        .context("starting the capture thread")
}

/// Replays the capture into the model: all at once, or paced at capture time / speed with
/// a rate window closed every wall-clock second at the capture's clock.
fn replay(
    cfg: &ReplayConfig,
    mut reader: CaptureReader,
    model: &SharedModel,
    stop: &AtomicBool,
    status: &Status,
) -> Result<()> {
    let mut engine = Engine::new(cfg.engine.clone());
    for (i, name) in reader.info().interface_names().iter().enumerate() {
        if !name.is_empty() {
            engine.set_interface(i as u32, name.to_string());
        }
    }
    let mut sink = TopSink::replay(Arc::clone(model));
    let mut packets = 0u64;
    let mut warning = String::new();
    // (first capture time, wall clock then) once the first packet is read.
    let mut pace: Option<(u64, Instant)> = None;
    let mut next_tick = Instant::now() + Duration::from_secs(1);
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let p = match reader.next_packet() {
            None => break,
            Some(Ok(p)) => p,
            Some(Err(e)) => {
                // As `read` does: keep what came before a cut or damaged part.
                warning = format!(", stopped early: {e}");
                break;
            }
        };
        packets += 1;
        if let Some(speed) = cfg.speed {
            let (first, wall) = *pace.get_or_insert((p.ts_ns, Instant::now()));
            let due =
                wall + Duration::from_secs_f64(p.ts_ns.saturating_sub(first) as f64 / 1e9 / speed);
            // Short sleeps, so q is honoured at once even across a long capture gap.
            while Instant::now() < due && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(
                    due.saturating_duration_since(Instant::now())
                        .min(Duration::from_millis(100)),
                );
                if Instant::now() >= next_tick {
                    lock(model).tick(Timestamp(p.ts_ns));
                    next_tick += Duration::from_secs(1);
                }
            }
            if Instant::now() >= next_tick {
                lock(model).tick(Timestamp(p.ts_ns));
                next_tick = Instant::now() + Duration::from_secs(1);
            }
        }
        engine.frame(p.ts_ns, p.link.to_wire(), p.data, p.orig_len, p.interface);
        for r in engine.drain() {
            sink.write(&r)?;
        }
        if packets.is_multiple_of(4096) {
            set(
                status,
                format!("reading {}: {packets} packets", name(&cfg.file)),
            );
        }
    }
    while engine.finish_step() {
        for r in engine.drain() {
            sink.write(&r)?;
        }
    }
    for r in engine.drain() {
        sink.write(&r)?;
    }
    // Close the last window at the end of the capture: replayed at once, the rates are
    // averages over the whole capture.
    let mut m = lock(model);
    if let Some(end) = m.latest() {
        m.tick(end);
    }
    drop(m);
    set(
        status,
        format!("{}: {packets} packets, done{warning}", name(&cfg.file)),
    );
    Ok(())
}
