//! The REST API under `/api/v1/`: JSON views of the shared [`WebState`](super::state::WebState).
//!
//! Handlers read the answers published at the last tick ([`Published`](super::state::Published)):
//! they take no lock but the one around an `Arc` clone, so they never wait for the pipeline
//! or for the views' computation. Searches, which read every flow, run on tokio's blocking
//! threads so that cheap requests are not queued behind them. Lists are capped (`limit`), so
//! an answer's size never follows the flow count.

use super::Shared;
use super::state::{Point, RECORD_KINDS, View};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use flowsight_record::Record;
use flowsight_sink::top::Model;
use flowsight_sink::top::group::{self, Grouping, Row};
use flowsight_sink::top::model::{End, FlowEntry};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The OpenAPI 3.1 document describing every route, written by hand (a test checks that
/// each route the router serves is in it); the record schemas are added from docs/schema.md
/// ([`super::schemas`]).
pub const OPENAPI: &str = include_str!("../../assets/openapi.json");

/// The served document, built once.
static DOCUMENT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| super::schemas::document(OPENAPI));

/// Flows answered when `limit` is not given, and at most.
const FLOWS_DEFAULT: usize = 100;
pub(super) const FLOWS_MAX: usize = 1000;
/// Protocol records answered when `limit` is not given.
const RECORDS_DEFAULT: usize = 50;

type Params = Query<HashMap<String, String>>;

/// A 400 with a one-line reason.
fn bad(msg: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": msg }))).into_response()
}

/// `limit` from the query: `default` when absent, at most `max`.
fn limit(p: &HashMap<String, String>, default: usize, max: usize) -> Result<usize, String> {
    match p.get("limit") {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .map(|n| n.min(max))
            .map_err(|_| format!("limit must be a non-negative integer, got {v:?}")),
    }
}

fn end(e: &End) -> Value {
    json!({
        "ip": e.ip,
        "port": e.port,
        "process": e.owner.as_ref().map(|o| json!({
            "pid": o.pid,
            "name": o.process,
            "user": o.user,
            "container": o.container,
        })),
    })
}

fn flow(f: &FlowEntry) -> Value {
    json!({
        "community_id": f.id.community_id,
        "interface": f.interface,
        "transport": group::transport(f.transport),
        "state": group::state(f),
        "start": f.start,
        "end": f.end,
        "source": end(&f.source),
        "destination": end(&f.destination),
        "bytes": { "source": f.bytes[0], "destination": f.bytes[1] },
        "rate": { "source": f.rate[0], "destination": f.rate[1] },
    })
}

/// `GET /api/v1/flows?q=&limit=`: the kept flows whose process, pid, user, container,
/// address or port contains `q` (case-insensitive), busiest first.
pub async fn flows(State(s): State<Shared>, Query(p): Params) -> Response {
    let limit = match limit(&p, FLOWS_DEFAULT, FLOWS_MAX) {
        Ok(n) => n,
        Err(msg) => return bad(msg),
    };
    let needle = p.get("q").map(|q| q.to_lowercase()).unwrap_or_default();
    let published = s.web.published();
    if needle.is_empty() {
        let list: Vec<&Value> = published.flows.iter().take(limit).collect();
        return Json(json!({ "matched": published.flows_matched, "flows": list })).into_response();
    }
    // A search reads every flow: off the server's thread, so cheap requests go on.
    let answer = tokio::task::spawn_blocking(move || {
        let (total, list) = busiest(&published.model, &needle, limit);
        json!({ "matched": total, "flows": list })
    })
    .await;
    answer_or_500(answer)
}

/// A computation's answer, or a 500 when it panicked.
fn answer_or_500(answer: Result<Value, tokio::task::JoinError>) -> Response {
    match answer {
        Ok(v) => Json(v).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": format!("the answer could not be computed: {e}") })),
        )
            .into_response(),
    }
}

/// The flows matching `needle`, busiest first: how many, and the first `limit` as JSON.
pub(super) fn busiest(model: &Model, needle: &str, limit: usize) -> (usize, Vec<Value>) {
    let mut matched: Vec<&FlowEntry> = model.flows().filter(|f| f.matches(needle)).collect();
    let total = matched.len();
    let busy = |f: &FlowEntry| f.rate[0] + f.rate[1];
    let order = |a: &&FlowEntry, b: &&FlowEntry| {
        busy(b)
            .total_cmp(&busy(a))
            .then((b.bytes[0] + b.bytes[1]).cmp(&(a.bytes[0] + a.bytes[1])))
            .then_with(|| a.id.cmp(&b.id))
    };
    // Only the first `limit` need an order: partition, then sort those.
    if matched.len() > limit && limit > 0 {
        matched.select_nth_unstable_by(limit - 1, order);
        matched.truncate(limit);
    }
    matched.sort_by(order);
    (total, matched.into_iter().take(limit).map(flow).collect())
}

/// `{name: [rows]}`: the rows of a grouping filtered by `q`, computed off the server's
/// thread.
async fn filtered_rows(
    s: &Shared,
    name: &'static str,
    grouping: Grouping,
    q: String,
    row: fn(&Row) -> Value,
) -> Response {
    let published = s.web.published();
    let answer = tokio::task::spawn_blocking(move || {
        let rows = group::rows(&published.model, grouping, &q);
        let list: Vec<Value> = rows.iter().map(row).collect();
        json!({ name: list })
    })
    .await;
    answer_or_500(answer)
}

/// `GET /api/v1/processes?q=`: traffic by local process (forgotten flows included), busiest
/// first; `tx` is what the process sent.
pub async fn processes(State(s): State<Shared>, Query(p): Params) -> Response {
    let q = p.get("q").cloned().unwrap_or_default();
    if q.is_empty() {
        let published = s.web.published();
        return Json(json!({ "processes": &published.processes })).into_response();
    }
    filtered_rows(&s, "processes", Grouping::Process, q, process_row).await
}

/// `GET /api/v1/containers?q=`: traffic by container (`-`: not in one), busiest first.
pub async fn containers(State(s): State<Shared>, Query(p): Params) -> Response {
    // Not kept ready like the process rows: the dashboard does not ask for them.
    let q = p.get("q").cloned().unwrap_or_default();
    filtered_rows(&s, "containers", Grouping::Container, q, container_row).await
}

/// One process row as the API answers it.
pub(super) fn process_row(r: &Row) -> Value {
    let mut v = match r.cells.as_slice() {
        [pid, name, user] => json!({ "pid": pid.parse::<u32>().ok(), "name": name, "user": user }),
        c => json!({ "pid": null, "name": c.first(), "user": null }),
    };
    v["flows"] = json!(r.flows);
    v["rate"] = json!({ "tx": r.rate[0], "rx": r.rate[1] });
    v["bytes"] = json!({ "tx": r.total[0], "rx": r.total[1] });
    v
}

/// One container row as the API answers it. The row cells hold the short id docker shows;
/// the API gives the full one (the key).
fn container_row(r: &Row) -> Value {
    json!({
        "id": r.key,
        "flows": r.flows,
        "rate": { "tx": r.rate[0], "rx": r.rate[1] },
        "bytes": { "tx": r.total[0], "rx": r.total[1] },
    })
}

/// `GET /api/v1/records?type=http|dns|tls&limit=`: the last protocol records, as the log
/// writes them, oldest first; all three kinds merged by time without `type`.
pub async fn records(State(s): State<Shared>, Query(p): Params) -> Response {
    let limit = match limit(&p, RECORDS_DEFAULT, super::state::RECORDS_KEPT) {
        Ok(n) => n,
        Err(msg) => return bad(msg),
    };
    let kinds: Vec<&str> = match p.get("type").map(String::as_str) {
        None | Some("") => RECORD_KINDS.to_vec(),
        Some(k) if RECORD_KINDS.contains(&k) => vec![k],
        Some(k) => return bad(format!("type must be http, dns or tls, got {k:?}")),
    };
    let published = s.web.published();
    let mut picked: Vec<&Record> = Vec::new();
    for k in kinds {
        if let Some(q) = published.records(k) {
            picked.extend(q.iter().rev().take(limit).map(|r| &**r));
        }
    }
    picked.sort_by_key(|r| timestamp(r));
    let skip = picked.len().saturating_sub(limit);
    let list: Vec<Value> = picked
        .iter()
        .skip(skip)
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    Json(json!({ "records": list })).into_response()
}

fn timestamp(r: &Record) -> flowsight_record::Timestamp {
    match r {
        Record::Http(h) => h.timestamp,
        Record::Dns(d) => d.timestamp,
        Record::Tls(t) => t.timestamp,
        _ => Default::default(),
    }
}

/// `GET /api/v1/stats`: the last stats record as the log wrote it; 404 before the first.
pub async fn stats(State(s): State<Shared>) -> Response {
    match &s.web.published().stats {
        Some(r) => Json(&**r).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no stats record yet" })),
        )
            .into_response(),
    }
}

/// One grouping's rates in a history point: (name, [tx, rx]) busiest first.
type Series = [(String, [f64; 2])];

/// `GET /api/v1/timeseries?by=process|user|container`: upload and download rates, one point
/// per refresh window (the busiest of each window, the rest as `other`), oldest first. Each
/// point lists them under `series` (and, by process, also under `processes`). By user or
/// container, the history starts at the first window after someone asked for it: earlier
/// points are left out rather than shown as no traffic.
pub async fn timeseries(State(s): State<Shared>, Query(p): Params) -> Response {
    let by = p.get("by").map_or("process", String::as_str);
    let pick: fn(&Point) -> Option<&Series> = match by {
        "process" => |p| Some(&p.processes),
        "user" => {
            s.web.want(View::UserSeries);
            |p| p.users.as_deref()
        }
        "container" => {
            s.web.want(View::ContainerSeries);
            |p| p.containers.as_deref()
        }
        other => {
            return bad(format!(
                "by must be process, user or container, not {other:?}"
            ));
        }
    };
    let published = s.web.published();
    let points: Vec<Value> = published
        .series
        .iter()
        .filter_map(|p| {
            let series: Vec<Value> = pick(p)?
                .iter()
                .map(|(name, r)| json!({ "name": name, "tx": r[0], "rx": r[1] }))
                .collect();
            let mut point = json!({ "time": p.time, "series": series });
            if by == "process" {
                point["processes"] = point["series"].clone();
            }
            Some(point)
        })
        .collect();
    Json(json!({ "by": by, "points": points })).into_response()
}

/// `GET /api/v1/hosts?q=`: the remote hosts contacted, busiest first: flows, rates and bytes
/// (`tx`: sent to the host by local processes).
pub async fn hosts(State(s): State<Shared>, Query(p): Params) -> Response {
    let q = p.get("q").cloned().unwrap_or_default();
    s.web.want(View::Hosts);
    if q.is_empty()
        && let Some(hosts) = &s.web.published().hosts
    {
        return Json(json!({ "hosts": hosts })).into_response();
    }
    filtered_rows(&s, "hosts", Grouping::Host, q, host_row).await
}

/// `GET /api/v1/users?q=`: traffic by local user, busiest first.
pub async fn users(State(s): State<Shared>, Query(p): Params) -> Response {
    let q = p.get("q").cloned().unwrap_or_default();
    filtered_rows(&s, "users", Grouping::User, q, user_row).await
}

/// One host row as the API answers it.
pub(super) fn host_row(r: &Row) -> Value {
    json!({
        "address": r.key,
        "flows": r.flows,
        "rate": { "tx": r.rate[0], "rx": r.rate[1] },
        "bytes": { "tx": r.total[0], "rx": r.total[1] },
    })
}

/// One user row as the API answers it.
fn user_row(r: &Row) -> Value {
    json!({
        "name": r.key,
        "flows": r.flows,
        "rate": { "tx": r.rate[0], "rx": r.rate[1] },
        "bytes": { "tx": r.total[0], "rx": r.total[1] },
    })
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
        .into_response()
}
