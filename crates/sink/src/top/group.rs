//! The rows of a grouping: kept flows and forgotten totals summed by process, user,
//! container or remote host (or one row per flow), filtered and sorted by current rate.

use super::model::{FlowEntry, FlowId, Model, OwnerKey, Party, Side};
use flowsight_record::{EndReason, Transport};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::net::IpAddr;

/// What the rows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grouping {
    /// One row per local process (pid, name and user).
    Process,
    /// One row per user.
    User,
    /// One row per container (`-` outside containers).
    Container,
    /// One row per remote address.
    Host,
    /// One row per flow.
    Flow,
}

impl Grouping {
    /// The name shown in the header.
    pub fn name(self) -> &'static str {
        match self {
            Grouping::Process => "process",
            Grouping::User => "user",
            Grouping::Container => "container",
            Grouping::Host => "host",
            Grouping::Flow => "flow",
        }
    }

    /// Titles of the columns that say what a row is (before flows, rates and totals).
    pub fn key_columns(self) -> &'static [&'static str] {
        match self {
            Grouping::Process => &["PID", "PROCESS", "USER"],
            Grouping::User => &["USER"],
            Grouping::Container => &["CONTAINER"],
            Grouping::Host => &["REMOTE HOST"],
            Grouping::Flow => &FLOW_COLUMNS,
        }
    }

    /// True when a flow counts once here (from its primary side) rather than once per
    /// local owner: a remote host or a flow is the same thing seen from either end.
    fn primary_only(self) -> bool {
        matches!(self, Grouping::Host | Grouping::Flow)
    }
}

/// Columns of flow rows.
pub const FLOW_COLUMNS: [&str; 5] = ["PROTO", "LOCAL", "REMOTE", "PROCESS", "STATE"];

/// One line of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Identifies the row within its list (the cursor follows it across refreshes).
    pub key: String,
    /// The values of [`Grouping::key_columns`] (or [`FLOW_COLUMNS`]).
    pub cells: Vec<String>,
    /// Flows in the row, forgotten ones included.
    pub flows: u64,
    /// Upload and download rates of the local ends, bytes per second.
    pub rate: [f64; 2],
    /// Bytes uploaded and downloaded.
    pub total: [u64; 2],
    /// For a flow row: the flow, and whether its local end is the initiator.
    pub flow: Option<(FlowId, bool)>,
}

impl Row {
    fn empty(key: String, cells: Vec<String>) -> Row {
        Row {
            key,
            cells,
            flows: 0,
            rate: [0.0, 0.0],
            total: [0, 0],
            flow: None,
        }
    }

    fn add(&mut self, flows: u64, rate: [f64; 2], total: [u64; 2]) {
        self.flows += flows;
        self.rate[0] += rate[0];
        self.rate[1] += rate[1];
        self.total[0] += total[0];
        self.total[1] += total[1];
    }
}

/// The key of the row a flow side falls in (`other` without a remote address). Only the key
/// is built for every flow; the row's display cells ([`group_cells`]) once per row.
fn group_key(g: Grouping, owner: Option<&OwnerKey>, remote: Option<IpAddr>) -> String {
    let Some(remote) = remote else {
        return "other".into();
    };
    match g {
        Grouping::Process => match owner {
            Some(o) => format!("{}\u{0}{}\u{0}{}", o.pid, o.process, o.user),
            None => "-".into(),
        },
        Grouping::User => owner.map_or_else(|| "-".into(), |o| o.user.clone()),
        Grouping::Container => owner
            .and_then(|o| o.container.clone())
            .unwrap_or_else(|| "-".into()),
        Grouping::Host | Grouping::Flow => remote.to_string(),
    }
}

/// The cells a row shows for [`Grouping::key_columns`].
fn group_cells(g: Grouping, owner: Option<&OwnerKey>, remote: Option<IpAddr>) -> Vec<String> {
    let Some(remote) = remote else {
        return vec!["other".into(); g.key_columns().len()];
    };
    let dash = || "-".to_string();
    match g {
        Grouping::Process => match owner {
            Some(o) => vec![o.pid.to_string(), o.process.clone(), o.user.clone()],
            None => vec![dash(), dash(), dash()],
        },
        Grouping::User => vec![owner.map_or_else(dash, |o| o.user.clone())],
        // Runtimes name containers by 64 hex digits; docker ps shows the first 12.
        Grouping::Container => vec![
            owner
                .and_then(|o| o.container.as_ref())
                .map_or_else(dash, |c| c.chars().take(12).collect()),
        ],
        Grouping::Host | Grouping::Flow => vec![remote.to_string()],
    }
}

/// `ip:port`, with brackets around IPv6 addresses.
pub fn endpoint(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// Short transport name.
pub fn transport(t: Transport) -> &'static str {
    match t {
        Transport::Tcp => "tcp",
        Transport::Udp => "udp",
        Transport::Icmp => "icmp",
        Transport::Icmpv6 => "icmp6",
        Transport::Sctp => "sctp",
        Transport::Other => "other",
    }
}

/// What became of a flow, in a word of at most five letters (the STATE column).
pub fn state(e: &FlowEntry) -> &'static str {
    match e.reason {
        EndReason::ActiveTimeout => "open",
        EndReason::End => "end",
        EndReason::IdleTimeout => "idle",
        EndReason::Shutdown => "stop",
        EndReason::Evicted => "evict",
    }
}

fn flow_row(side: Side<'_>) -> Row {
    let f = side.flow;
    let (local, remote) = (side.local(), side.remote());
    Row {
        key: format!(
            "{}|{}|{}|{}",
            f.id.community_id, f.id.interface, f.id.start, side.local_is_source
        ),
        cells: vec![
            transport(f.transport).to_string(),
            endpoint(local.ip, local.port),
            endpoint(remote.ip, remote.port),
            local
                .owner
                .as_ref()
                .map_or_else(|| "-".to_string(), |o| o.process.clone()),
            state(f).to_string(),
        ],
        flows: 1,
        rate: side.rate(),
        total: side.bytes(),
        flow: Some((f.id.clone(), side.local_is_source)),
    }
}

/// True when the lower-case `needle` is in one of the party's fields.
fn party_matches(p: &Party, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let mut h = p.remote.map(|ip| ip.to_string()).unwrap_or_default();
    if let Some(o) = &p.owner {
        h.push_str(&format!(
            "\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            o.pid,
            o.process,
            o.user,
            o.container.as_deref().unwrap_or("")
        ));
    }
    h.to_lowercase().contains(needle)
}

/// Highest current rate first, then highest totals, then by key so equal rows keep still.
fn sort(rows: &mut [Row]) {
    rows.sort_by(|a, b| {
        let rate = |r: &Row| r.rate[0] + r.rate[1];
        let total = |r: &Row| r.total[0] + r.total[1];
        rate(b)
            .partial_cmp(&rate(a))
            .unwrap_or(Ordering::Equal)
            .then(total(b).cmp(&total(a)))
            .then_with(|| a.key.cmp(&b.key))
    });
}

/// The rows of `grouping`, keeping only flows (and forgotten totals) in which `filter`
/// occurs, case-insensitively, in a process name, pid, user, container id, address or
/// port. Forgotten totals have no ports, so a port filter sees only kept flows.
pub fn rows(model: &Model, grouping: Grouping, filter: &str) -> Vec<Row> {
    let needle = filter.to_lowercase();
    if grouping == Grouping::Flow {
        let mut rows: Vec<Row> = model
            .flows()
            .filter(|f| f.matches(&needle))
            .filter_map(|f| f.sides().next().map(flow_row))
            .collect();
        sort(&mut rows);
        return rows;
    }
    let mut by_key: HashMap<String, Row> = HashMap::new();
    let mut add = |owner: Option<&OwnerKey>, remote, flows, rate, total| {
        by_key
            .entry(group_key(grouping, owner, remote))
            .or_insert_with_key(|k| Row::empty(k.clone(), group_cells(grouping, owner, remote)))
            .add(flows, rate, total);
    };
    for f in model.flows().filter(|f| f.matches(&needle)) {
        for side in f.sides() {
            if grouping.primary_only() && !side.primary() {
                continue;
            }
            let remote = Some(side.remote().ip);
            add(
                side.local().owner.as_ref(),
                remote,
                1,
                side.rate(),
                side.bytes(),
            );
        }
    }
    for (party, r) in model.retired() {
        if (grouping.primary_only() && !party.primary) || !party_matches(party, &needle) {
            continue;
        }
        add(
            party.owner.as_ref(),
            party.remote,
            r.flows,
            [0.0, 0.0],
            r.bytes,
        );
    }
    let mut rows: Vec<Row> = by_key.into_values().collect();
    sort(&mut rows);
    rows
}

/// The flows of one row of `grouping` (drill-down), each seen from the side that put it in
/// the row, filtered as [`rows`] does.
pub fn flows_in(model: &Model, grouping: Grouping, key: &str, filter: &str) -> Vec<Row> {
    let needle = filter.to_lowercase();
    let mut rows: Vec<Row> = model
        .flows()
        .filter(|f| f.matches(&needle))
        .flat_map(|f| f.sides())
        .filter(|s| {
            if grouping.primary_only() && !s.primary() {
                return false;
            }
            group_key(grouping, s.local().owner.as_ref(), Some(s.remote().ip)) == key
        })
        .map(flow_row)
        .collect();
    sort(&mut rows);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::top::model::tests::flow;
    use crate::top::model::{Limits, Model};
    use flowsight_record::{EndReason, Record, Timestamp};

    fn model(records: &[Record]) -> Model {
        let mut m = Model::new(Limits::default());
        m.tick(Timestamp(1_795_333_024_000_000_000));
        for r in records {
            m.observe(r);
        }
        m.tick(Timestamp(1_795_333_026_000_000_000));
        m
    }

    fn summary(rows: &[Row]) -> Vec<(String, u64, [u64; 2])> {
        rows.iter()
            .map(|r| (r.cells.join(" "), r.flows, r.total))
            .collect()
    }

    #[test]
    fn grouped_by_process_user_container_and_host() {
        let end = EndReason::End;
        let open = EndReason::ActiveTimeout;
        let m = model(&[
            flow(
                "10.0.0.1:1000",
                "1.1.1.1:443",
                Some((7, "curl", "alice")),
                end,
                [100, 900],
            ),
            flow(
                "10.0.0.1:1001",
                "1.1.1.1:443",
                Some((8, "wget", "alice")),
                open,
                [50, 50],
            ),
            flow(
                "10.0.0.1:1002",
                "8.8.8.8:53",
                Some((7, "curl", "alice")),
                end,
                [10, 20],
            ),
            flow("10.0.0.1:1003", "8.8.8.8:53", None, end, [1, 2]),
        ]);
        assert_eq!(
            summary(&rows(&m, Grouping::Process, "")),
            [
                ("7 curl alice".into(), 2, [110, 920]),
                ("8 wget alice".into(), 1, [50, 50]),
                ("- - -".into(), 1, [1, 2]),
            ]
        );
        assert_eq!(
            summary(&rows(&m, Grouping::User, "")),
            [("alice".into(), 3, [160, 970]), ("-".into(), 1, [1, 2])]
        );
        assert_eq!(
            summary(&rows(&m, Grouping::Container, "")),
            [
                ("c0ffee7".into(), 2, [110, 920]),
                ("c0ffee8".into(), 1, [50, 50]),
                ("-".into(), 1, [1, 2]),
            ]
        );
        assert_eq!(
            summary(&rows(&m, Grouping::Host, "")),
            [
                ("1.1.1.1".into(), 2, [150, 950]),
                ("8.8.8.8".into(), 2, [11, 22])
            ]
        );
        let flows = rows(&m, Grouping::Flow, "");
        assert_eq!(flows.len(), 4);
        assert_eq!(
            flows[0].cells,
            ["tcp", "10.0.0.1:1000", "1.1.1.1:443", "curl", "end"]
        );
        assert_eq!(flows[1].cells[4], "open");
    }

    #[test]
    fn filter_and_drill_down() {
        let end = EndReason::End;
        let m = model(&[
            flow(
                "10.0.0.1:1000",
                "1.1.1.1:443",
                Some((7, "curl", "alice")),
                end,
                [100, 900],
            ),
            flow(
                "10.0.0.1:1002",
                "8.8.8.8:53",
                Some((7, "curl", "alice")),
                end,
                [10, 20],
            ),
            flow(
                "10.0.0.1:1003",
                "8.8.8.8:53",
                Some((9, "dig", "bob")),
                end,
                [1, 2],
            ),
        ]);
        // A port: only the flows to port 53, in every grouping.
        assert_eq!(
            summary(&rows(&m, Grouping::Process, "53")),
            [
                ("7 curl alice".into(), 1, [10, 20]),
                ("9 dig bob".into(), 1, [1, 2])
            ]
        );
        // Case-insensitive, on the user.
        assert_eq!(
            summary(&rows(&m, Grouping::Host, "BOB")),
            [("8.8.8.8".into(), 1, [1, 2])]
        );
        let curl = rows(&m, Grouping::Process, "")[0].key.clone();
        let flows = flows_in(&m, Grouping::Process, &curl, "");
        assert_eq!(
            flows
                .iter()
                .map(|r| r.cells[2].as_str())
                .collect::<Vec<_>>(),
            ["1.1.1.1:443", "8.8.8.8:53"]
        );
        assert!(flows.iter().all(|r| r.flow.is_some()));
        assert_eq!(flows_in(&m, Grouping::Host, "8.8.8.8", "dig").len(), 1);
    }

    #[test]
    fn forgotten_flows_stay_in_their_rows() {
        let mut m = Model::new(Limits {
            flows: 2,
            ..Limits::default()
        });
        for port in 0..10 {
            m.observe(&flow(
                &format!("10.0.0.1:{}", 1000 + port),
                "1.1.1.1:443",
                Some((7, "curl", "alice")),
                EndReason::End,
                [10, 100],
            ));
        }
        assert_eq!(
            summary(&rows(&m, Grouping::Process, "curl")),
            [("7 curl alice".into(), 10, [100, 1000])]
        );
        assert_eq!(
            summary(&rows(&m, Grouping::Host, "")),
            [("1.1.1.1".into(), 10, [100, 1000])]
        );
        // Only the kept flows are listed, and a port filter sees only them.
        assert_eq!(rows(&m, Grouping::Flow, "").len(), 2);
        assert_eq!(
            summary(&rows(&m, Grouping::Process, "1009")),
            [("7 curl alice".into(), 1, [10, 100])]
        );
    }
}
