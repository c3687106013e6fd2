//! The REST API under `/api/v1/`: JSON views of the shared [`WebState`](super::state::WebState).
//!
//! Handlers hold the state's lock only while they copy what they answer with; the pipeline's
//! thread waits on the same lock, so nothing slow (serialization to bytes, the socket) runs
//! under it. Lists are capped (`limit`), so an answer's size never follows the flow count.

use super::Shared;
use super::state::{RECORD_KINDS, Views, lock};
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
use std::sync::Arc;

/// The OpenAPI 3.1 document describing every route, written by hand (a test checks that
/// each route the router serves is in it).
pub const OPENAPI: &str = include_str!("../../assets/openapi.json");

/// Flows answered when `limit` is not given, and at most.
const FLOWS_DEFAULT: usize = 100;
const FLOWS_MAX: usize = 1000;
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
    let st = lock(&s.web);
    if needle.is_empty()
        && let Some(v) = &st.views
    {
        let (total, cached) = (v.flows_matched, Arc::clone(&v.flows));
        drop(st);
        let list: Vec<&Value> = cached.iter().take(limit).collect();
        return Json(json!({ "matched": total, "flows": list })).into_response();
    }
    let (total, list) = busiest(&st.top, &needle, limit);
    drop(st);
    Json(json!({ "matched": total, "flows": list })).into_response()
}

/// The flows matching `needle`, busiest first: how many, and the first `limit` as JSON.
fn busiest(model: &Model, needle: &str, limit: usize) -> (usize, Vec<Value>) {
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

/// The unfiltered answers for [`Views`], from the model and its process rows.
pub(super) fn views(model: &Model, process_rows: &[Row]) -> Views {
    let (flows_matched, flows) = busiest(model, "", FLOWS_MAX);
    Views {
        flows_matched,
        flows: Arc::new(flows),
        processes: Arc::new(process_rows.iter().map(process_row).collect()),
    }
}

/// `GET /api/v1/processes?q=`: traffic by local process (forgotten flows included), busiest
/// first; `tx` is what the process sent.
pub async fn processes(State(s): State<Shared>, Query(p): Params) -> Response {
    let q = p.get("q").cloned().unwrap_or_default();
    if q.is_empty() {
        let cached = lock(&s.web)
            .views
            .as_ref()
            .map(|v| Arc::clone(&v.processes));
        if let Some(list) = cached {
            return Json(json!({ "processes": &*list })).into_response();
        }
    }
    let st = lock(&s.web);
    let rows = group::rows(&st.top, Grouping::Process, &q);
    drop(st);
    let list: Vec<Value> = rows.iter().map(process_row).collect();
    Json(json!({ "processes": list })).into_response()
}

/// One process row as the API answers it.
fn process_row(r: &Row) -> Value {
    let mut v = match r.cells.as_slice() {
        [pid, name, user] => json!({ "pid": pid.parse::<u32>().ok(), "name": name, "user": user }),
        c => json!({ "pid": null, "name": c.first(), "user": null }),
    };
    v["flows"] = json!(r.flows);
    v["rate"] = json!({ "tx": r.rate[0], "rx": r.rate[1] });
    v["bytes"] = json!({ "tx": r.total[0], "rx": r.total[1] });
    v
}

/// `GET /api/v1/containers?q=`: traffic by container (`-`: not in one), busiest first.
pub async fn containers(State(s): State<Shared>, Query(p): Params) -> Response {
    let q = p.get("q").cloned().unwrap_or_default();
    let st = lock(&s.web);
    // The row cells hold the short id docker shows; the API gives the full one (the key).
    let rows = group::rows(&st.top, Grouping::Container, &q);
    drop(st);
    let list: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.key,
                "flows": r.flows,
                "rate": { "tx": r.rate[0], "rx": r.rate[1] },
                "bytes": { "tx": r.total[0], "rx": r.total[1] },
            })
        })
        .collect();
    Json(json!({ "containers": list })).into_response()
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
    let st = lock(&s.web);
    let mut picked: Vec<Record> = Vec::new();
    for k in kinds {
        if let Some(q) = st.records(k) {
            picked.extend(q.iter().rev().take(limit).cloned());
        }
    }
    drop(st);
    picked.sort_by_key(timestamp);
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
    let st = lock(&s.web).stats().cloned();
    match st {
        Some(r) => Json(r).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no stats record yet" })),
        )
            .into_response(),
    }
}

/// `GET /api/v1/timeseries`: per-process upload and download rates, one point per refresh
/// window (the busiest processes of each, the rest as `other`), oldest first.
pub async fn timeseries(State(s): State<Shared>) -> Response {
    let st = lock(&s.web);
    let points: Vec<Value> = st
        .series()
        .iter()
        .map(|p| {
            json!({
                "time": p.time,
                "processes": p.processes.iter().map(|(name, r)| json!({
                    "name": name, "tx": r[0], "rx": r[1],
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    drop(st);
    Json(json!({ "points": points })).into_response()
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
