//! `flowsight top`: a terminal view of the traffic, by process, user, container, remote host
//! or flow, fed by the records like any other sink.
//!
//! The parts are kept apart so most of it is tested without a terminal:
//! - [`model`]: flow records turned into per-flow totals and rates, protocol records kept by
//!   Community ID, bounded memory (pure data, no I/O);
//! - [`group`]: the rows of a grouping, filtered and sorted;
//! - [`app`]: what the user looks at (grouping, drill-down stack, cursor, filter);
//! - [`input`]: keys to actions;
//! - [`view`]: the drawing, with ratatui, onto any backend (the tests use `TestBackend`);
//! - [`terminal`]: raw mode and the alternate screen, restored on every exit path;
//! - [`run`](mod@run): the event loop, drawing on ticks and input only;
//! - [`sink`]: the [`Sink`](crate::Sink) the pipelines write to.
//!
//! None of it starts capture: the wiring in the binary runs the pipeline on its own thread and
//! hands this module a shared [`Model`].

pub mod app;
pub mod format;
pub mod group;
pub mod input;
pub mod model;
pub mod run;
pub mod sink;
pub mod terminal;
pub mod view;

#[cfg(test)]
mod view_tests;

pub use app::App;
pub use group::{Grouping, Row};
pub use model::{Limits, Model};
pub use run::run;
pub use sink::TopSink;
