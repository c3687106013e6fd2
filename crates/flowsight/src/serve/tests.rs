//! Tests of the server over real sockets: routes, the token rule, the OpenAPI document,
//! run-time control and the views.

use super::state::View;
use super::*;
use flowsight_record::Record;
use std::io::{Read, Write};

/// One request over a real socket; the status code and body.
fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let code = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (code, body.to_string())
}

/// A web state fed the example records between two ticks one second apart, so the
/// example flow has a rate.
fn web_with_records() -> SharedWeb {
    let w = Web::default();
    // As a dashboard that already asked for every view.
    for v in [View::UserSeries, View::ContainerSeries, View::Hosts] {
        w.want(v);
    }
    w.tick(flowsight_record::Timestamp(1_795_333_024_000_000_000));
    for r in Record::examples() {
        w.observe(&r);
    }
    w.tick(flowsight_record::Timestamp(1_795_333_026_000_000_000));
    Arc::new(w)
}

fn json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let (code, body) = get(addr, path, None);
    assert_eq!(code, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

fn loopback_server() -> Server {
    let cfg = ServeConfig::new("127.0.0.1:0".parse().unwrap(), None, 10).unwrap();
    start(&cfg, metrics_with_records(), web_with_records(), None).unwrap()
}

#[test]
fn flows_have_owners_totals_rates_and_filter() {
    let server = loopback_server();
    let v = json(server.addr, "/api/v1/flows");
    assert_eq!(v["matched"], 1, "{v}");
    let f = &v["flows"][0];
    assert_eq!(f["transport"], "tcp");
    assert_eq!(f["source"]["ip"], "10.0.0.1");
    assert_eq!(f["source"]["port"], 40000);
    assert_eq!(f["source"]["process"]["name"], "curl");
    assert_eq!(f["destination"]["port"], 80);
    assert!(f["bytes"]["source"].as_u64().unwrap() > 0, "{f}");
    assert!(f["rate"]["source"].as_f64().unwrap() > 0.0, "{f}");
    assert!(f["start"].as_str().unwrap().ends_with('Z'), "{f}");
    // The filter looks at process, address and port, case-insensitively.
    for q in ["CURL", "10.0.0.2", "40000"] {
        assert_eq!(
            json(server.addr, &format!("/api/v1/flows?q={q}"))["matched"],
            1
        );
    }
    let none = json(server.addr, "/api/v1/flows?q=nginx");
    assert_eq!(none["matched"], 0);
    assert_eq!(none["flows"].as_array().unwrap().len(), 0);
    assert_eq!(
        json(server.addr, "/api/v1/flows?limit=0")["flows"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(get(server.addr, "/api/v1/flows?limit=x", None).0, 400);
}

#[test]
fn optional_views_are_computed_only_once_asked_for() {
    let w = Web::default();
    let t = |s: u64| flowsight_record::Timestamp(1_795_333_024_000_000_000 + s * 1_000_000_000);
    w.tick(t(0));
    for r in Record::examples() {
        w.observe(&r);
    }
    w.tick(t(1));
    let p = w.published();
    assert!(p.hosts.is_none());
    assert!(
        p.series
            .iter()
            .all(|pt| pt.users.is_none() && pt.containers.is_none())
    );
    assert!(!p.series.last().unwrap().processes.is_empty());
    w.want(View::Hosts);
    w.want(View::UserSeries);
    // The flow grows, so the window has a rate.
    for r in Record::examples() {
        if let Record::Flow(mut f) = r {
            f.source.bytes *= 2;
            w.observe(&Record::Flow(f));
        }
    }
    w.tick(t(2));
    let p = w.published();
    assert!(!p.hosts.as_ref().unwrap().is_empty());
    let last = p.series.last().unwrap();
    assert_eq!(last.users.as_ref().unwrap()[0].0, "alice");
    // Only the window after the question has the history by user: the API leaves out the
    // earlier points rather than showing them as no traffic.
    assert_eq!(p.series.iter().filter(|pt| pt.users.is_some()).count(), 1);
    assert!(last.containers.is_none(), "not asked for");
}

#[test]
fn processes_containers_stats_and_timeseries() {
    let server = loopback_server();
    let p = json(server.addr, "/api/v1/processes");
    let curl = p["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "curl")
        .unwrap_or_else(|| panic!("{p}"));
    assert!(curl["pid"].as_u64().is_some(), "{curl}");
    assert!(curl["bytes"]["tx"].as_u64().unwrap() > 0, "{curl}");
    assert_eq!(curl["flows"], 1);
    let c = json(server.addr, "/api/v1/containers");
    assert!(!c["containers"].as_array().unwrap().is_empty(), "{c}");
    assert!(c["containers"][0]["id"].is_string(), "{c}");
    let s = json(server.addr, "/api/v1/stats");
    assert_eq!(s["type"], "stats");
    let t = json(server.addr, "/api/v1/timeseries");
    let points = t["points"].as_array().unwrap();
    // One point per tick: the first window was empty.
    assert_eq!(points.len(), 2, "{t}");
    assert_eq!(points[0]["processes"].as_array().unwrap().len(), 0, "{t}");
    assert!(
        points[1]["processes"][0]["name"]
            .as_str()
            .unwrap()
            .starts_with("curl ("),
        "{t}"
    );
    // The same history by user and by container; hosts and users as lists.
    let by_user = json(server.addr, "/api/v1/timeseries?by=user");
    assert_eq!(by_user["by"], "user");
    assert_eq!(
        by_user["points"][1]["series"][0]["name"], "alice",
        "{by_user}"
    );
    assert!(by_user["points"][1].get("processes").is_none(), "{by_user}");
    let by_container = json(server.addr, "/api/v1/timeseries?by=container");
    assert_eq!(
        by_container["points"][1]["series"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{by_container}"
    );
    assert_eq!(get(server.addr, "/api/v1/timeseries?by=pid", None).0, 400);
    let hosts = json(server.addr, "/api/v1/hosts");
    let server_host = hosts["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["address"] == "10.0.0.2")
        .unwrap_or_else(|| panic!("{hosts}"));
    assert_eq!(server_host["flows"], 1, "{hosts}");
    assert!(server_host["bytes"]["tx"].as_u64().unwrap() > 0, "{hosts}");
    assert_eq!(
        json(server.addr, "/api/v1/hosts?q=192.0.2.99")["hosts"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let users = json(server.addr, "/api/v1/users");
    assert_eq!(users["users"][0]["name"], "alice", "{users}");
    // Before any stats record, a 404 rather than an empty object.
    let cfg = ServeConfig::new("127.0.0.1:0".parse().unwrap(), None, 10).unwrap();
    let empty = start(&cfg, metrics_with_records(), SharedWeb::default(), None).unwrap();
    assert_eq!(get(empty.addr, "/api/v1/stats", None).0, 404);
}

#[test]
fn records_are_the_log_json_filtered_by_type() {
    let server = loopback_server();
    let all = json(server.addr, "/api/v1/records");
    let kinds: Vec<&str> = all["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 3, "{all}");
    for k in ["http", "dns", "tls"] {
        assert!(kinds.contains(&k), "{all}");
        let one = json(server.addr, &format!("/api/v1/records?type={k}&limit=10"));
        let list = one["records"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{one}");
        // Exactly what the log writes for the same record.
        let logged = Record::examples()
            .into_iter()
            .find(|r| r.kind() == k)
            .map(|r| serde_json::to_value(r).unwrap())
            .unwrap();
        assert_eq!(list[0], logged);
    }
    assert_eq!(
        json(server.addr, "/api/v1/records?limit=1")["records"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(get(server.addr, "/api/v1/records?type=flow", None).0, 400);
}

#[test]
fn openapi_documents_every_route_and_nothing_else() {
    let server = loopback_server();
    let doc = json(server.addr, "/api/v1/openapi.json");
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let served: Vec<&str> = routes().into_iter().map(|(p, _, _)| p).collect();
    for (p, methods, _) in routes() {
        assert!(
            paths.contains_key(p),
            "{p} is served but not in openapi.json"
        );
        for m in methods {
            assert!(paths[p][m]["responses"]["200"].is_object(), "{m} {p}");
        }
        for m in paths[p].as_object().unwrap().keys() {
            assert!(
                methods.contains(&m.as_str()),
                "{m} {p} is documented but not served"
            );
        }
    }
    for p in paths.keys() {
        assert!(
            served.contains(&p.as_str()),
            "{p} is documented but not served"
        );
    }
}

#[test]
fn dashboard_is_served_with_a_strict_policy() {
    let server = loopback_server();
    for (path, needle) in [
        ("/", "<canvas id=\"chart\""),
        ("/app.js", "textContent"),
        ("/app.css", "canvas"),
    ] {
        let (code, body) = get(server.addr, path, None);
        assert_eq!(code, 200, "{path}");
        assert!(body.contains(needle), "{path}");
    }
    // Data goes into the page as text only.
    assert!(!assets::APP_JS.contains("innerHTML"));
    assert!(!assets::APP_JS.contains("insertAdjacentHTML"));
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    write!(s, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let head = out.split("\r\n\r\n").next().unwrap().to_lowercase();
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    assert!(!head.contains("access-control-allow-origin"), "{head}");
}

/// One request with a method, extra headers and a body; the status code and body.
fn send(addr: SocketAddr, method: &str, path: &str, headers: &[&str], body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers
        .iter()
        .any(|h| h.to_lowercase().starts_with("host:"))
    {
        head.push_str("Host: 127.0.0.1\r\n");
    }
    for h in headers {
        head.push_str(&format!("{h}\r\n"));
    }
    write!(s, "{head}Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let code = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (code, body.to_string())
}

/// A stand-in for the capture thread: answers the API's requests from fixed settings
/// for a few seconds, and says what it was asked.
fn fake_capture(port: control::ControlPort) -> std::sync::mpsc::Receiver<control::Command> {
    let (seen, asked) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut settings = control::Settings {
            protocols: true,
            sample_packets: 8,
            max_sample_packets: 8,
            http_headers: vec![],
            log_credentials: false,
        };
        let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < until {
            for req in port.take() {
                let answer = match &req.command {
                    control::Command::Interfaces => Ok(serde_json::json!({"interfaces": []})),
                    control::Command::SetAttached(name, attached) => Ok(serde_json::json!({
                        "name": name, "index": 7, "link": "ethernet", "attached": attached
                    })),
                    control::Command::Settings => Ok(settings.to_json()),
                    control::Command::SetSettings(v) => settings
                        .apply(v)
                        .map(|new| {
                            settings = new;
                            settings.to_json()
                        })
                        .map_err(|message| control::Refusal {
                            status: 400,
                            message,
                        }),
                };
                let _ = seen.send(req.command.clone());
                req.answer(answer);
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    });
    asked
}

fn control_server(allow: bool) -> (Server, std::sync::mpsc::Receiver<control::Command>) {
    let cfg = ServeConfig::new("127.0.0.1:0".parse().unwrap(), None, 10)
        .unwrap()
        .with_control(allow);
    let (c, port) = control::channel().unwrap();
    let asked = fake_capture(port);
    let server = start(&cfg, metrics_with_records(), web_with_records(), Some(c)).unwrap();
    (server, asked)
}

const JSON: &str = "Content-Type: application/json";

#[test]
fn control_reads_are_open_and_writes_need_allow_control() {
    let (server, asked) = control_server(false);
    let s = json(server.addr, "/api/v1/settings");
    assert_eq!(s["protocols"], true, "{s}");
    assert_eq!(s["max_sample_packets"], 8, "{s}");
    assert!(json(server.addr, "/api/v1/interfaces")["interfaces"].is_array());
    let (code, body) = send(
        server.addr,
        "PUT",
        "/api/v1/settings",
        &[JSON],
        r#"{"protocols":false}"#,
    );
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("--allow-control"), "{body}");
    let (code, _) = send(
        server.addr,
        "PUT",
        "/api/v1/interfaces/lo",
        &[JSON],
        r#"{"attached":false}"#,
    );
    assert_eq!(code, 403);
    // Only the two reads reached the capture.
    let cmds: Vec<_> = asked.try_iter().collect();
    assert_eq!(
        cmds,
        [control::Command::Settings, control::Command::Interfaces]
    );
    // Without a capture there is nothing to control.
    let plain = loopback_server();
    assert_eq!(get(plain.addr, "/api/v1/settings", None).0, 503);
}

#[test]
fn control_requests_waiting_for_the_capture_do_not_hold_up_searches() {
    // A capture that never answers (busy, or stopping): its port is kept, never read.
    let cfg = ServeConfig::new("127.0.0.1:0".parse().unwrap(), None, 10).unwrap();
    let (c, port) = control::channel().unwrap();
    let server = start(&cfg, metrics_with_records(), web_with_records(), Some(c)).unwrap();
    let addr = server.addr;
    // More waiting control requests than the server has blocking threads (two).
    for _ in 0..3 {
        std::thread::spawn(move || get(addr, "/api/v1/settings", None));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let t = std::time::Instant::now();
    let found = json(addr, "/api/v1/flows?q=curl");
    assert_eq!(found["matched"], 1, "{found}");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(3),
        "a search waited {:?} behind control requests",
        t.elapsed()
    );
    drop(port);
}

#[test]
fn control_writes_reach_the_capture_and_pages_cannot_send_them() {
    let (server, asked) = control_server(true);
    let put =
        |path: &str, headers: &[&str], body: &str| send(server.addr, "PUT", path, headers, body);
    // Not JSON: a form or text/plain is what a page of another origin could send
    // without a preflight.
    assert_eq!(
        put("/api/v1/settings", &["Content-Type: text/plain"], "{}").0,
        415
    );
    assert_eq!(put("/api/v1/settings", &[], "{}").0, 415);
    // A page that rebound its name to 127.0.0.1, and a page of another origin.
    let (code, body) = put("/api/v1/settings", &[JSON, "Host: evil.example:9464"], "{}");
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("loopback"), "{body}");
    let (code, _) = put(
        "/api/v1/settings",
        &[JSON, "Origin: http://evil.example"],
        "{}",
    );
    assert_eq!(code, 403);
    // The server's own page may.
    let (code, body) = put(
        "/api/v1/settings",
        &[JSON, "Host: localhost:1", "Origin: http://localhost:1"],
        r#"{"protocols":false,"http_headers":["X-Trace"]}"#,
    );
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["protocols"], false);
    assert_eq!(v["http_headers"], serde_json::json!(["x-trace"]));
    // Bad bodies are one-line 400s.
    for bad in ["not json", r#"{"sample_packets": 99}"#, r#"{"nope": 1}"#] {
        let (code, body) = put("/api/v1/settings", &[JSON], bad);
        assert_eq!(code, 400, "{bad}: {body}");
        let err: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(!err["error"].as_str().unwrap().contains('\n'), "{body}");
    }
    for bad in [
        "{}",
        r#"{"attached": "no"}"#,
        r#"{"attached": true, "x": 1}"#,
    ] {
        assert_eq!(
            put("/api/v1/interfaces/veth0", &[JSON], bad).0,
            400,
            "{bad}"
        );
    }
    let (code, body) = put("/api/v1/interfaces/veth0", &[JSON], r#"{"attached":false}"#);
    assert_eq!(code, 200, "{body}");
    let cmds: Vec<_> = asked.try_iter().collect();
    assert!(
        cmds.contains(&control::Command::SetAttached("veth0".into(), false)),
        "{cmds:?}"
    );
    assert_eq!(
        cmds.iter()
            .filter(|c| matches!(c, control::Command::SetSettings(_)))
            .count(),
        3,
        "the accepted change and the two refused by the capture: {cmds:?}"
    );
}

fn metrics_with_records() -> Arc<Mutex<Metrics>> {
    let mut m = Metrics::new(10);
    for r in Record::examples() {
        m.observe(&r);
    }
    Arc::new(Mutex::new(m))
}

#[test]
fn loopback_serves_metrics_without_a_token() {
    let cfg = ServeConfig::new("127.0.0.1:0".parse().unwrap(), None, 10).unwrap();
    let server = start(&cfg, metrics_with_records(), web_with_records(), None).unwrap();
    let (code, body) = get(server.addr, "/metrics", None);
    assert_eq!(code, 200);
    assert!(
        body.contains("flowsight_records_written_total{type=\"flow\"} 1"),
        "{body}"
    );
    assert!(body.contains("flowsight_bytes_total{"), "{body}");
    assert_eq!(get(server.addr, "/nothing", None).0, 404);
}

#[test]
fn another_address_needs_the_token_on_every_request() {
    struct Dir(std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let dir = Dir(std::env::temp_dir().join(format!("flowsight-serve-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let file = dir.0.join("token");
    std::fs::write(&file, "0123456789abcdef0123\n").unwrap();
    let any: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let err = ServeConfig::new(any, None, 10).unwrap_err().to_string();
    assert!(err.contains("--token-file"), "{err}");
    let cfg = ServeConfig::new(any, Some(&file), 10).unwrap();
    let server = start(&cfg, metrics_with_records(), web_with_records(), None).unwrap();
    let local = SocketAddr::from(([127, 0, 0, 1], server.addr.port()));
    assert_eq!(get(local, "/metrics", None).0, 401);
    // Every route, the dashboard and the API included, follows the same rule.
    for (path, _, _) in routes() {
        assert_eq!(get(local, path, None).0, 401, "{path}");
        assert_eq!(
            get(local, path, Some("0123456789abcdef0124")).0,
            401,
            "{path}"
        );
    }
    assert_eq!(
        get(local, "/api/v1/flows", Some("0123456789abcdef0123")).0,
        200
    );
    assert_eq!(get(local, "/metrics", Some("0123456789abcdef0124")).0, 401);
    assert_eq!(get(local, "/metrics", Some("0123456789abcdef0123")).0, 200);
    // A short token is refused at start-up.
    std::fs::write(&file, "short").unwrap();
    assert!(ServeConfig::new(any, Some(&file), 10).is_err());
}
