//! What the web API serves: the `flowsight top` model (flows with totals and rates, bounded
//! by its [`Limits`]), the last protocol records of each kind, the last stats record, and a
//! short history of per-process rates for the dashboard's chart.
//!
//! It is fed like the metrics: a [`WebSink`] teed into the live pipeline, so the API shows
//! exactly what the log writes. Everything here is bounded; nothing grows with uptime.

use flowsight_record::{Record, Timestamp};
use flowsight_sink::top::group::{self, Grouping};
use flowsight_sink::top::{Limits, Model};
use flowsight_sink::{Sink, SinkError};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

/// Protocol records kept per kind (`http`, `dns`, `tls`), the last ones.
pub const RECORDS_KEPT: usize = 500;
/// Points of rate history kept: five minutes at the live pipeline's one flush a second.
pub const POINTS_KEPT: usize = 300;
/// Processes named in each history point; the rest are summed under `other`, so a point's
/// size does not grow with the number of processes.
pub const PROCESSES_PER_POINT: usize = 8;

/// The protocol record kinds the API lists, in the order of [`WebState`]'s queues.
pub const RECORD_KINDS: [&str; 3] = ["http", "dns", "tls"];

/// One point of the rate history.
#[derive(Debug, Clone)]
pub struct Point {
    /// When the window closed.
    pub time: Timestamp,
    /// The busiest processes (`name (pid)`) with their upload and download rates, bytes per
    /// second, busiest first; `other` last when more were active.
    pub processes: Vec<(String, [f64; 2])>,
}

/// The shared state of the web API; see the module documentation.
#[derive(Debug)]
pub struct WebState {
    /// Flows, rates and per-owner totals, as `flowsight top` keeps them.
    pub top: Model,
    records: [VecDeque<Record>; 3],
    stats: Option<Record>,
    series: VecDeque<Point>,
    /// The unfiltered answers, computed once per [`WebState::tick`]; `None` before the first.
    pub views: Option<Views>,
}

/// Answers computed once per rate window, so that requests without a filter (the
/// dashboard's, every second) cost a copy of a capped list instead of a sort of every flow
/// under the lock the pipeline writes through. They are at most one window old.
#[derive(Debug, Clone)]
pub struct Views {
    /// Flows kept in the model.
    pub flows_matched: usize,
    /// The busiest flows (at most the API's largest `limit`), as the API answers them.
    pub flows: Arc<Vec<serde_json::Value>>,
    /// Every process row, as the API answers them.
    pub processes: Arc<Vec<serde_json::Value>>,
}

/// The state shared between the pipeline's thread (writing) and the HTTP thread (reading).
pub type SharedWeb = Arc<Mutex<WebState>>;

/// Lock the state; a panic elsewhere leaves the data usable, so poisoning is ignored.
pub fn lock(s: &Mutex<WebState>) -> MutexGuard<'_, WebState> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

impl Default for WebState {
    fn default() -> Self {
        WebState::new(Limits::default())
    }
}

impl WebState {
    /// An empty state whose flow model keeps what `limits` allow.
    pub fn new(limits: Limits) -> WebState {
        WebState {
            top: Model::new(limits),
            records: Default::default(),
            stats: None,
            series: VecDeque::new(),
            views: None,
        }
    }

    /// Take one record into account.
    pub fn observe(&mut self, r: &Record) {
        self.top.observe(r);
        let queue = match r {
            Record::Http(_) => &mut self.records[0],
            Record::Dns(_) => &mut self.records[1],
            Record::Tls(_) => &mut self.records[2],
            Record::Stats(_) => {
                self.stats = Some(r.clone());
                return;
            }
            Record::Flow(_) | Record::Weird(_) => return,
        };
        if queue.len() == RECORDS_KEPT {
            queue.pop_front();
        }
        queue.push_back(r.clone());
    }

    /// Close the model's rate window at `now` and add a history point from it.
    pub fn tick(&mut self, now: Timestamp) {
        self.top.tick(now);
        let rows = group::rows(&self.top, Grouping::Process, "");
        let mut processes = Vec::new();
        let mut other = [0.0, 0.0];
        // Rows come busiest first; idle ones carry nothing worth a line.
        for r in rows.iter().filter(|r| r.rate[0] + r.rate[1] > 0.0) {
            if processes.len() < PROCESSES_PER_POINT {
                let name = match r.cells.as_slice() {
                    [pid, name, _user] if pid != "-" => format!("{name} ({pid})"),
                    _ => r.key.clone(),
                };
                processes.push((name, r.rate));
            } else {
                other[0] += r.rate[0];
                other[1] += r.rate[1];
            }
        }
        if other[0] + other[1] > 0.0 {
            processes.push(("other".into(), other));
        }
        if self.series.len() == POINTS_KEPT {
            self.series.pop_front();
        }
        self.series.push_back(Point {
            time: now,
            processes,
        });
        self.views = Some(super::api::views(&self.top, &rows));
    }

    /// The last protocol records of one kind (`http`, `dns`, `tls`), oldest first; `None`
    /// for another kind.
    pub fn records(&self, kind: &str) -> Option<&VecDeque<Record>> {
        RECORD_KINDS
            .iter()
            .position(|k| *k == kind)
            .map(|i| &self.records[i])
    }

    /// The last stats record.
    pub fn stats(&self) -> Option<&Record> {
        self.stats.as_ref()
    }

    /// The rate history, oldest first.
    pub fn series(&self) -> &VecDeque<Point> {
        &self.series
    }
}

/// Feeds records to a [`WebState`]; each flush (the live pipeline's, right after a flow-map
/// scan) closes a rate window at the wall clock, as `flowsight top` does live.
pub struct WebSink(pub SharedWeb);

impl WebSink {
    /// A sink for the live pipeline; the first rate window opens now.
    pub fn live(state: SharedWeb) -> WebSink {
        lock(&state).top.tick(Timestamp::now());
        WebSink(state)
    }
}

impl Sink for WebSink {
    fn write(&mut self, record: &Record) -> Result<(), SinkError> {
        lock(&self.0).observe(record);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        lock(&self.0).tick(Timestamp::now());
        Ok(())
    }
}
