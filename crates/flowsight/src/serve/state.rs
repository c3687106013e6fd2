//! What the web API serves: the `flowsight top` model (flows with totals and rates, bounded
//! by its [`Limits`]), the last protocol records of each kind, the last stats record, and a
//! short history of rates by process, user and container for the dashboard's charts.
//!
//! It is fed like the metrics: a [`WebSink`] teed into the live pipeline, so the API shows
//! exactly what the log writes. Everything here is bounded; nothing grows with uptime.
//!
//! Two halves, so that a request never waits for a computation over every flow: the
//! [`WebState`] the pipeline writes into (behind a lock only the pipeline and the tick take),
//! and the [`Published`] answers that requests read. Once per rate window [`Web::tick`]
//! copies the model under the lock (a copy, no sorting), computes the views from the copy
//! with no lock held, and swaps the result in; a request only clones an [`Arc`].

use flowsight_record::{Record, Timestamp};
use flowsight_sink::top::group::{self, Grouping, Row};
use flowsight_sink::top::{Limits, Model};
use flowsight_sink::{Sink, SinkError};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};

/// Protocol records kept per kind (`http`, `dns`, `tls`), the last ones.
pub const RECORDS_KEPT: usize = 500;
/// Points of rate history kept: five minutes at the live pipeline's one flush a second.
pub const POINTS_KEPT: usize = 300;
/// Processes (users, containers) named in each history point; the rest are summed under
/// `other`, so a point's size does not grow with their number.
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
    /// The same by user name; `None` when nobody had asked for it (not computed).
    pub users: Option<Vec<(String, [f64; 2])>>,
    /// The same by container (short id; `-` for traffic outside containers); `None` when
    /// nobody had asked for it.
    pub containers: Option<Vec<(String, [f64; 2])>>,
}

/// What the pipeline writes into; see the module documentation.
#[derive(Debug)]
pub struct WebState {
    /// Flows, rates and per-owner totals, as `flowsight top` keeps them.
    pub top: Model,
    records: [VecDeque<Arc<Record>>; 3],
    stats: Option<Arc<Record>>,
    series: VecDeque<Arc<Point>>,
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
                self.stats = Some(Arc::new(r.clone()));
                return;
            }
            Record::Flow(_) | Record::Weird(_) => return,
        };
        if queue.len() == RECORDS_KEPT {
            queue.pop_front();
        }
        queue.push_back(Arc::new(r.clone()));
    }
}

/// The answers requests read, computed once per rate window (at most one window old).
/// Unfiltered lists are ready to send; filtered ones are computed from [`Published::model`],
/// a copy no writer touches.
#[derive(Debug)]
pub struct Published {
    /// A copy of the flow model as the window closed (flows and forgotten totals).
    pub model: Model,
    /// Flows kept in the model.
    pub flows_matched: usize,
    /// The busiest flows (at most the API's largest `limit`), as the API answers them.
    pub flows: Vec<serde_json::Value>,
    /// Every process row, as the API answers them.
    pub processes: Vec<serde_json::Value>,
    /// Every remote host row, as the API answers them, while someone asks for them (the
    /// dashboard does every other second); `None` when nobody did lately.
    pub hosts: Option<Vec<serde_json::Value>>,
    /// The last protocol records of each of [`RECORD_KINDS`], oldest first.
    pub records: [Vec<Arc<Record>>; 3],
    /// The last stats record.
    pub stats: Option<Arc<Record>>,
    /// The rate history, oldest first.
    pub series: Vec<Arc<Point>>,
}

impl Default for Published {
    fn default() -> Self {
        Published {
            model: Model::new(Limits::default()),
            flows_matched: 0,
            flows: Vec::new(),
            processes: Vec::new(),
            hosts: None,
            records: Default::default(),
            stats: None,
            series: Vec::new(),
        }
    }
}

impl Published {
    /// The last protocol records of one kind (`http`, `dns`, `tls`), oldest first; `None`
    /// for another kind.
    pub fn records(&self, kind: &str) -> Option<&[Arc<Record>]> {
        RECORD_KINDS
            .iter()
            .position(|k| *k == kind)
            .map(|i| self.records[i].as_slice())
    }
}

/// The web state shared by the pipeline's thread (writing), the thread computing the views
/// and the HTTP thread (reading the published answers).
#[derive(Debug, Default)]
pub struct Web {
    state: Mutex<WebState>,
    published: Mutex<Arc<Published>>,
    /// When each optional view was last asked for (seconds of the wall clock; 0: never).
    /// Each costs a pass over every flow, so a tick computes it only while someone looks.
    wanted: [AtomicU64; 3],
}

/// The views a tick computes only on demand: indexes into [`Web`]'s `wanted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The rate history by user.
    UserSeries = 0,
    /// The rate history by container.
    ContainerSeries = 1,
    /// The list of remote hosts.
    Hosts = 2,
}

/// A view asked for within this many seconds is kept up to date at each tick.
const WANTED_FOR_SECS: u64 = 30;

/// The state shared between the threads.
pub type SharedWeb = Arc<Web>;

/// Lock; a panic elsewhere leaves the data usable, so poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Web {
    /// Take one record into account (visible to requests from the next tick).
    pub fn observe(&self, r: &Record) {
        lock(&self.state).observe(r);
    }

    /// Someone asked for `view`: keep it computed at each tick for a while.
    pub fn want(&self, view: View) {
        self.wanted[view as usize].store(
            Timestamp::now().as_nanos() / 1_000_000_000,
            Ordering::Relaxed,
        );
    }

    /// Whether `view` was asked for recently enough to compute at the tick of `now`.
    fn wanted(&self, view: View, now: Timestamp) -> bool {
        let asked = self.wanted[view as usize].load(Ordering::Relaxed);
        asked != 0 && now.as_nanos() / 1_000_000_000 <= asked + WANTED_FOR_SECS
    }

    /// The answers of the last tick. The lock is held for an [`Arc`] clone only.
    pub fn published(&self) -> Arc<Published> {
        Arc::clone(&lock(&self.published))
    }

    /// Close the model's rate window at `now`, add a history point, and publish new
    /// answers; returns the answers they replace. Under the state's lock only the window is
    /// closed and the model copied; grouping, sorting and JSON are done on the copy with no
    /// lock held.
    pub fn tick(&self, now: Timestamp) -> Arc<Published> {
        let (model, records, stats) = {
            let mut st = lock(&self.state);
            st.top.tick(now);
            let records = st.records.each_ref().map(|q| q.iter().cloned().collect());
            (st.top.view_copy(), records, st.stats.clone())
        };
        let rows = group::rows(&model, Grouping::Process, "");
        let point = Arc::new(Point {
            time: now,
            processes: busiest(&rows, process_name),
            users: self
                .wanted(View::UserSeries, now)
                .then(|| busiest(&group::rows(&model, Grouping::User, ""), first_cell)),
            containers: self
                .wanted(View::ContainerSeries, now)
                .then(|| busiest(&group::rows(&model, Grouping::Container, ""), first_cell)),
        });
        let series = {
            let mut st = lock(&self.state);
            if st.series.len() == POINTS_KEPT {
                st.series.pop_front();
            }
            st.series.push_back(point);
            st.series.iter().cloned().collect()
        };
        let (flows_matched, flows) = super::api::busiest(&model, "", super::api::FLOWS_MAX);
        let published = Published {
            flows_matched,
            flows,
            processes: rows.iter().map(super::api::process_row).collect(),
            hosts: self.wanted(View::Hosts, now).then(|| {
                group::rows(&model, Grouping::Host, "")
                    .iter()
                    .map(super::api::host_row)
                    .collect()
            }),
            model,
            records,
            stats,
            series,
        };
        std::mem::replace(&mut *lock(&self.published), Arc::new(published))
    }
}

/// A process row's name in the chart: `name (pid)`.
fn process_name(r: &Row) -> String {
    match r.cells.as_slice() {
        [pid, name, _user] if pid != "-" => format!("{name} ({pid})"),
        _ => r.key.clone(),
    }
}

/// A user or container row's name in the chart: its one cell.
fn first_cell(r: &Row) -> String {
    r.cells.first().cloned().unwrap_or_else(|| r.key.clone())
}

/// The busiest rows of a window with their rates, the rest summed as `other`.
fn busiest(rows: &[Row], name: fn(&Row) -> String) -> Vec<(String, [f64; 2])> {
    let mut out = Vec::new();
    let mut other = [0.0, 0.0];
    // Rows come busiest first; idle ones carry nothing worth a line.
    for r in rows.iter().filter(|r| r.rate[0] + r.rate[1] > 0.0) {
        if out.len() < PROCESSES_PER_POINT {
            out.push((name(r), r.rate));
        } else {
            other[0] += r.rate[0];
            other[1] += r.rate[1];
        }
    }
    if other[0] + other[1] > 0.0 {
        out.push(("other".into(), other));
    }
    out
}

/// Feeds records to a [`Web`]; each flush (the live pipeline's, right after a flow-map scan)
/// closes a rate window at the wall clock, as `flowsight top` does live. The views are
/// computed on a thread of their own, so neither the pipeline nor a request waits for them.
pub struct WebSink {
    web: SharedWeb,
    ticks: SyncSender<Timestamp>,
}

impl WebSink {
    /// A sink for the live pipeline; the first rate window opens now. Starts the thread that
    /// computes the views; it ends when the sink is dropped.
    pub fn live(web: SharedWeb) -> std::io::Result<WebSink> {
        web.tick(Timestamp::now());
        // One tick waiting at most: when the views take longer than a window, a tick is
        // skipped and the next window is longer (rates stay per second).
        let (ticks, rx) = std::sync::mpsc::sync_channel::<Timestamp>(1);
        let w = Arc::clone(&web);
        std::thread::Builder::new()
            .name("flowsight-views".into())
            .spawn(move || {
                // Background work: the capture and the requests come first.
                // SAFETY: setpriority(2) on this thread's id (Linux threads have their own
                // nice value); failure leaves the default.
                unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10) };
                // The answers a tick replaced are dropped a tick later, here: by then no
                // request holds them, so freeing a copy of every flow never falls to the
                // server's thread.
                let mut _replaced = None;
                while let Ok(now) = rx.recv() {
                    _replaced = Some(w.tick(now));
                }
            })?;
        Ok(WebSink { web, ticks })
    }
}

impl Sink for WebSink {
    fn write(&mut self, record: &Record) -> Result<(), SinkError> {
        self.web.observe(record);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        match self.ticks.try_send(Timestamp::now()) {
            Ok(()) | Err(TrySendError::Full(_)) => Ok(()),
            // The thread is gone (it panicked): compute here rather than go stale.
            Err(TrySendError::Disconnected(now)) => {
                self.web.tick(now);
                Ok(())
            }
        }
    }
}
