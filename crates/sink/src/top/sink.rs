//! The [`Sink`] the pipelines write to: records into the shared [`Model`] the view draws.

use super::model::Model;
use crate::{Sink, SinkError};
use flowsight_record::{Record, Timestamp};
use std::sync::{Arc, Mutex, MutexGuard};

/// The model shared between the pipeline's thread (writing) and the view (drawing).
pub type SharedModel = Arc<Mutex<Model>>;

/// Lock the model; a panic on the other side (already reported by the panic hook) leaves the
/// data usable, so poisoning is ignored.
pub fn lock(model: &Mutex<Model>) -> MutexGuard<'_, Model> {
    model.lock().unwrap_or_else(|e| e.into_inner())
}

/// Feeds records to a [`Model`].
pub struct TopSink {
    model: SharedModel,
    tick_on_flush: bool,
}

impl TopSink {
    /// For the live pipeline, which flushes right after each flow-map scan has written its
    /// records: each flush closes the model's rate window at the wall clock, so a window
    /// holds exactly one scan's increments and rates do not beat against the scan period.
    pub fn live(model: SharedModel) -> TopSink {
        // The first window opens now: flows that began before count only their share.
        lock(&model).tick(Timestamp::now());
        TopSink {
            model,
            tick_on_flush: true,
        }
    }

    /// For a capture replay, whose windows follow the capture's clock and are closed by the
    /// replay itself ([`Model::tick`]).
    pub fn replay(model: SharedModel) -> TopSink {
        TopSink {
            model,
            tick_on_flush: false,
        }
    }
}

impl Sink for TopSink {
    fn write(&mut self, record: &Record) -> Result<(), SinkError> {
        lock(&self.model).observe(record);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        if self.tick_on_flush {
            lock(&self.model).tick(Timestamp::now());
        }
        Ok(())
    }
}
