//! `flowsight capture`: packets to pcapng, each annotated with the process, user and
//! container of its local end. Wiring only: the annotations, filters and the record-log join
//! are `flowsight-annotate`'s, the packets the kernel's (`flowsight-capture`), the owners the
//! live pipeline's.

mod args;
mod file;
mod live;
mod out;

pub use args::{CaptureArgs, CaptureConfig, Source};

use anyhow::Result;

/// Run `flowsight capture`.
pub fn run(cfg: &CaptureConfig) -> Result<()> {
    match &cfg.source {
        Source::Live(live) => live::run(cfg, live),
        Source::File { path, records } => file::run(cfg, path, records.as_ref()),
    }
}
