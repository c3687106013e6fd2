//! `flowsight read FILE`: a capture file through the analysis engine into records.

pub(crate) mod parallel;
mod progress;
mod route;
mod shared_walk;
mod stats;
mod walk_each;

use crate::cli::{Output, ReadConfig};
use anyhow::{Context, Result};
use flowsight_flow::Engine;
use flowsight_pcapfile::{CaptureReader, ReadError};
use flowsight_record::Timestamp;
use flowsight_sink::{JsonLines, Sink};
use progress::Bar;
use stats::Tally;

fn open_output(output: &Output) -> Result<Box<dyn Sink + Send>> {
    Ok(match output {
        Output::Stdout => Box::new(JsonLines::new(std::io::stdout())),
        Output::File(path) => Box::new(JsonLines::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
    })
}

/// Name the engine's interfaces after the file's (pcapng interface names).
fn name_interfaces(engine: &mut Engine, reader: &CaptureReader) {
    for (i, name) in reader.info().interface_names().iter().enumerate() {
        if !name.is_empty() {
            engine.set_interface(i as u32, name.to_string());
        }
    }
}

/// A read error part-way through the file: everything before it is kept and the run goes
/// on to write its records, with one line on stderr. Captures cut short are common (a
/// capture stopped by a kill, a file copied while written); refusing them would lose data.
fn warn_partial(file: &str, e: &ReadError, packets: u64) {
    eprintln!("flowsight: warning: {file}: {e}; the {packets} packets before it were read");
}

/// Run `flowsight read`.
pub fn run(cfg: &ReadConfig) -> Result<()> {
    let mut reader = cfg.open()?;
    let started = Timestamp::now();
    let mut sink = open_output(&cfg.output)?;
    let bar = Bar::new(cfg.progress, reader.progress().total_bytes());
    if cfg.threads > 1 {
        if reader.is_mapped() {
            drop(sink); // the threads write serialized bytes to the output themselves
            if reader.revisitable() {
                return shared_walk::run(cfg, reader, bar, started);
            }
            return walk_each::run(cfg, reader, bar, started);
        }
        return parallel::run(cfg, reader, sink, bar, started);
    }
    let mut tally = Tally::default();
    let mut engine = Engine::new(cfg.engine.clone());
    name_interfaces(&mut engine, &reader);
    let mut packets = 0u64;
    loop {
        match reader.next_packet() {
            None => break,
            Some(Ok(p)) => {
                packets += 1;
                engine.frame(p.ts_ns, p.link.to_wire(), p.data, p.orig_len, p.interface);
                for r in engine.drain() {
                    tally.wrote(&r);
                    sink.write(&r)?;
                }
                if packets.is_multiple_of(8192) {
                    bar.set(reader.progress().bytes_read());
                }
            }
            Some(Err(e)) => {
                warn_partial(&cfg.file, &e, packets);
                break;
            }
        }
    }
    while engine.finish_step() {
        for r in engine.drain() {
            tally.wrote(&r);
            sink.write(&r)?;
        }
    }
    for r in engine.drain() {
        tally.wrote(&r);
        sink.write(&r)?;
    }
    tally.engine = engine.stats();
    sink.write(&tally.final_record(started, packets))?;
    sink.flush()?;
    bar.finish();
    let s = engine.stats();
    log::info!(
        "{packets} packets: {} not IP, {} undecodable, {} fragments never completed, {} anomalies not logged past the per-kind limit",
        s.not_ip,
        s.undecodable,
        s.fragments_abandoned,
        s.weirds_suppressed
    );
    Ok(())
}
