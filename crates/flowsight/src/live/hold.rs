//! Records held back while the name of their container is on its way.
//!
//! `--container NAME` matches the name a runtime's API gives (docker's, CRI's), which is
//! asked for when a container is first seen and comes some milliseconds later. A record made
//! in between (a new container's first connections) carries no name yet, and the filter
//! would drop it. Such a record waits here instead, until the answer came or [`HOLD`] passed
//! (an API that hangs), then gets the names and is filtered like any other. A record made
//! before the answer and written after it gets the names at once, without waiting.
//!
//! While one waits, every record to be written after it waits behind it (a record no name
//! could let through is dropped at once), so records leave in the
//! order they came: a flow's records keep their order.

use flowsight_record::Record;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The longest a record waits. The Docker and CRI clients give up on a call after 2 s; a
/// question queued behind others, or CRI's second call for a new pod, can take longer, and
/// then the record goes on without the name.
pub(crate) const HOLD: Duration = Duration::from_secs(3);

/// At exit, with names still on their way: `step` writes what is ready and says whether
/// anything still waits; it is called every 20 ms until nothing does or [`HOLD`] passed. The
/// record log and `capture`'s packets both end so.
pub(crate) fn wait_for_names(mut step: impl FnMut() -> anyhow::Result<bool>) -> anyhow::Result<()> {
    let started = Instant::now();
    while step()? && started.elapsed() < HOLD {
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Records held at most; beyond, the oldest goes on with what is known of it (a busy host
/// while a runtime's API hangs: every record waits behind the first held one).
const MAX_HELD: usize = 1 << 14;

/// Records waiting for their containers' names, oldest first.
#[derive(Debug, Default)]
pub(super) struct Held {
    queue: VecDeque<(Instant, Record)>,
}

impl Held {
    /// Whether nothing waits.
    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Hold `record`, which came at `now`. When the queue is full, returns the oldest
    /// record, to be filtered with what is known of it.
    pub(super) fn push(&mut self, now: Instant, record: Record) -> Option<Record> {
        let oldest = if self.queue.len() >= MAX_HELD {
            self.queue.pop_front().map(|(_, r)| r)
        } else {
            None
        };
        self.queue.push_back((now, record));
        oldest
    }

    /// The oldest record, when it need not wait any longer at `now`: `waiting(record)` says
    /// no name it needs is still on its way, it waited [`HOLD`], or `all` (the end).
    pub(super) fn pop_ready(
        &mut self,
        now: Instant,
        all: bool,
        waiting: impl FnOnce(&Record) -> bool,
    ) -> Option<Record> {
        let (since, record) = self.queue.front()?;
        if all || now.duration_since(*since) >= HOLD || !waiting(record) {
            return self.queue.pop_front().map(|(_, r)| r);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u16) -> Record {
        let Record::Flow(mut f) = Record::examples().remove(0) else {
            unreachable!("the first example is a flow")
        };
        f.source.port = n;
        Record::Flow(f)
    }

    fn port(r: &Record) -> u16 {
        match r {
            Record::Flow(f) => f.source.port,
            _ => unreachable!("only flows are held here"),
        }
    }

    #[test]
    fn records_leave_in_order_once_their_names_came() {
        let t0 = Instant::now();
        let mut h = Held::default();
        assert!(h.push(t0, record(1)).is_none());
        assert!(h.push(t0, record(2)).is_none());
        // The oldest still waits: nothing leaves, not even a later one whose name came.
        assert!(h.pop_ready(t0, false, |r| port(r) == 1).is_none());
        let got = h.pop_ready(t0, false, |_| false).map(|r| port(&r));
        assert_eq!(got, Some(1));
        assert_eq!(h.pop_ready(t0, false, |_| false).map(|r| port(&r)), Some(2));
        assert!(h.is_empty());
        assert!(h.pop_ready(t0, true, |_| false).is_none());
    }

    #[test]
    fn a_record_waits_at_most_hold_and_all_of_them_go_at_the_end() {
        let t0 = Instant::now();
        let mut h = Held::default();
        h.push(t0, record(1));
        h.push(t0 + HOLD / 2, record(2));
        assert!(h.pop_ready(t0 + HOLD / 2, false, |_| true).is_none());
        let late = t0 + HOLD;
        assert_eq!(
            h.pop_ready(late, false, |_| true).map(|r| port(&r)),
            Some(1)
        );
        assert!(h.pop_ready(late, false, |_| true).is_none());
        assert_eq!(h.pop_ready(late, true, |_| true).map(|r| port(&r)), Some(2));
    }

    #[test]
    fn a_full_queue_lets_the_oldest_go() {
        let t0 = Instant::now();
        let mut h = Held::default();
        for i in 0..MAX_HELD {
            assert!(h.push(t0, record(i as u16)).is_none());
        }
        let out = h.push(t0, record(7));
        assert_eq!(out.map(|r| port(&r)), Some(0));
    }
}
