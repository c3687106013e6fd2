//! Root test: `flowsight live --web` end to end. Real traffic over a veth pair between two
//! namespaces must show in the REST API with its process and the exact bytes of its flow
//! record; detaching the interface through the API must stop the counting (and attaching it
//! again restart it); changing the header-logging settings through the API must change the
//! HTTP records that follow.

mod common;

use common::*;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn peer_main() {
    common::peer_main();
}

/// A process started in a namespace, killed on drop.
struct Bg(std::process::Child);

impl Bg {
    fn start(ns: &NetNs, argv: &[&str]) -> Bg {
        let netns = std::fs::File::open(ns.path()).unwrap();
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only setns between fork and exec.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(move || {
                use std::os::fd::AsRawFd;
                if libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Bg(cmd.spawn().unwrap_or_else(|e| panic!("{argv:?}: {e}")))
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The API of a flowsight running in `ns`, asked with curl from inside the namespace with
/// the bearer token (`--allow-control` needs one).
struct Api<'a> {
    ns: &'a NetNs,
    base: String,
}

/// The token of the test's flowsight.
const TOKEN: &str = "live-web-test-token-0123456789";

/// A file removed when dropped.
struct TokenFile(std::path::PathBuf);

impl Drop for TokenFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Api<'_> {
    fn get(&self, path: &str) -> Value {
        let out = self.ns.sh(&format!(
            "curl -s -H 'Authorization: Bearer {TOKEN}' {}{path}",
            self.base
        ));
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("GET {path}: {e}: {out}"))
    }

    /// A PUT with a JSON body: the status code and the answer.
    fn put(&self, path: &str, body: &str) -> (u16, Value) {
        let out = self.ns.sh(&format!(
            "curl -s -w '\\n%{{http_code}}' -X PUT -H 'Authorization: Bearer {TOKEN}' -H 'Content-Type: application/json' -d '{body}' {}{path}",
            self.base
        ));
        let (json, code) = out.trim_end().rsplit_once('\n').unwrap();
        let v = serde_json::from_str(json).unwrap_or_else(|e| panic!("PUT {path}: {e}: {out}"));
        (code.parse().unwrap(), v)
    }

    /// The kept flows to `port`.
    fn flows_to(&self, port: &str) -> Vec<Value> {
        self.get(&format!("/api/v1/flows?q={port}&limit=1000"))["flows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["destination"]["port"].as_u64() == port.parse().ok())
            .cloned()
            .collect()
    }
}

#[test]
fn web_api_shows_flows_and_controls_the_capture() {
    if !root_or_skip("web_api_shows_flows_and_controls_the_capture") {
        return;
    }
    let (a, b) = (NetNs::new(), NetNs::new());
    let veth = Veth::new(&a, &b);
    // The namespace is new: any port is free in it.
    let api = Api {
        ns: &a,
        base: "http://127.0.0.1:19465".into(),
    };
    let token =
        TokenFile(std::env::temp_dir().join(format!("flowsight-live-web-{}", std::process::id())));
    std::fs::write(&token.0, format!("{TOKEN}\n")).unwrap();
    let fs = Flowsight::start(&[
        "--token-file",
        token.0.to_str().unwrap(),
        "--netns",
        &a.path(),
        "-i",
        &veth.a,
        "--scan-interval-ms",
        "100",
        "--active-timeout",
        "1",
        "--idle-timeout",
        "2",
        "--web",
        "127.0.0.1:19465",
        "--allow-control",
    ]);

    // 1. A connection from a known process: in the API with that process and the bytes of
    // its flow record.
    let server = PeerSpec {
        netns: Some(&b),
        uid: None,
        cgroup: None,
    };
    let client = PeerSpec {
        netns: Some(&a),
        uid: None,
        cgroup: None,
    };
    let (mut srv, srv_port) =
        server.start("serve-tcp", &[&format!("{}:0", veth.b_ip), "3", "3000"]);
    let to = format!("{}:{srv_port}", veth.b_ip);
    let pid = client.run("connect-tcp", &[&to, "1000"]);
    let mut flows = Vec::new();
    let ended = wait_for(Duration::from_secs(15), || {
        flows = api.flows_to(&srv_port);
        flows.len() == 1 && flows[0]["state"] == "end"
    });
    assert!(ended, "the flow never showed as ended: {flows:#?}");
    let f = flows[0].clone();
    assert_eq!(f["interface"], veth.a.as_str(), "{f:#}");
    assert_eq!(f["transport"], "tcp");
    assert_eq!(f["source"]["ip"], veth.a_ip.as_str());
    assert_eq!(f["source"]["process"]["pid"], pid, "{f:#}");
    assert_eq!(
        f["source"]["process"]["name"],
        peer_name().as_str(),
        "{f:#}"
    );
    let ps = api.get("/api/v1/processes");
    assert!(
        ps["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["pid"] == pid && p["flows"] == 1),
        "{ps:#}"
    );

    // 2. Detached through the API: a connection is no longer counted.
    let ifaces = api.get("/api/v1/interfaces");
    let mine = |v: &Value| -> Value {
        v["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == veth.a.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("{} not listed: {v:#}", veth.a))
    };
    assert_eq!(mine(&ifaces)["attached"], true, "{ifaces:#}");
    let path = format!("/api/v1/interfaces/{}", veth.a);
    let (code, v) = api.put(&path, r#"{"attached": false}"#);
    assert_eq!(code, 200, "{v:#}");
    assert_eq!(v["attached"], false);
    assert_eq!(mine(&api.get("/api/v1/interfaces"))["attached"], false);
    client.run("connect-tcp", &[&to, "1000"]);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(api.flows_to(&srv_port).len(), 1, "counted while detached");

    // 3. Attached again: counted again.
    let (code, v) = api.put(&path, r#"{"attached": true}"#);
    assert_eq!(code, 200, "{v:#}");
    client.run("connect-tcp", &[&to, "1000"]);
    let again = wait_for(Duration::from_secs(15), || {
        api.flows_to(&srv_port).len() == 2
    });
    assert!(again, "not counted after attaching again");
    assert!(srv.wait().unwrap().success());

    // 4. Settings: a header is logged once asked for, and nothing once analysis is off.
    let _http = Bg::start(
        &b,
        &[
            "/usr/bin/python3",
            "-m",
            "http.server",
            "18081",
            "--bind",
            &veth.b_ip,
        ],
    );
    let url = format!("http://{}:18081/", veth.b_ip);
    assert!(
        wait_for(Duration::from_secs(10), || {
            a.sh(&format!(
                "curl -s -o /dev/null -w '%{{http_code}}' {url} || true"
            )) == "200"
        }),
        "the HTTP server did not start"
    );
    let get = |tag: &str| {
        a.sh(&format!(
            "curl -s -o /dev/null -A {tag} -H 'X-Flowsight-Test: {tag}' {url}"
        ))
    };
    let http = |tag: &str| -> Option<Value> {
        api.get("/api/v1/records?type=http&limit=500")["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["user_agent"]["original"] == tag)
            .cloned()
    };
    get("before");
    let mut before = None;
    assert!(
        wait_for(Duration::from_secs(10), || {
            before = http("before");
            before.is_some()
        }),
        "no http record"
    );
    assert!(
        before.unwrap()["http"]["request"]["headers"]["x-flowsight-test"].is_null(),
        "logged before it was asked for"
    );
    let (code, s) = api.put(
        "/api/v1/settings",
        r#"{"http_headers": ["X-Flowsight-Test"]}"#,
    );
    assert_eq!(code, 200, "{s:#}");
    assert_eq!(s["http_headers"], serde_json::json!(["x-flowsight-test"]));
    assert_eq!(api.get("/api/v1/settings"), s);
    get("after");
    let mut after = None;
    assert!(
        wait_for(Duration::from_secs(10), || {
            after = http("after");
            after.is_some()
        }),
        "no http record after the change"
    );
    assert_eq!(
        after.unwrap()["http"]["request"]["headers"]["x-flowsight-test"],
        "after"
    );
    let (code, s) = api.put("/api/v1/settings", r#"{"protocols": false}"#);
    assert_eq!(code, 200, "{s:#}");
    assert_eq!(s["protocols"], false);
    // Flows to the HTTP server so far (the start-up probes made some too), once the last
    // one is past its end-of-flow linger.
    let ended = |f: &Value| f["state"] == "end";
    std::thread::sleep(Duration::from_secs(3));
    let seen = api.flows_to("18081").iter().filter(|f| ended(f)).count();
    get("off");
    // The flow is counted, its HTTP is not analyzed.
    let counted = wait_for(Duration::from_secs(10), || {
        api.flows_to("18081").iter().filter(|f| ended(f)).count() > seen
    });
    assert!(counted, "{:#?}", api.flows_to("18081"));
    std::thread::sleep(Duration::from_secs(1));
    assert!(http("off").is_none(), "analyzed with protocols off");
    // A bad setting is refused with a one-line reason and changes nothing.
    let (code, e) = api.put("/api/v1/settings", r#"{"sample_packets": 1000}"#);
    assert_eq!(code, 400, "{e:#}");
    assert!(
        e["error"].as_str().unwrap().contains("sample_packets"),
        "{e:#}"
    );
    assert_eq!(api.get("/api/v1/settings"), s);

    // The log agrees with the API: the first flow's record has the bytes the API showed.
    let records = fs.stop();
    let port: u16 = srv_port.parse().unwrap();
    let logged: Vec<&Value> = records
        .iter()
        .filter(|r| r["type"] == "flow" && r["destination"]["port"] == port)
        .filter(|r| r["event"]["reason"] == "end")
        .collect();
    assert_eq!(
        logged.len(),
        2,
        "two connections counted, one not: {logged:#?}"
    );
    let first = logged
        .iter()
        .find(|r| r["source"]["process"]["pid"] == pid)
        .expect("the first connection's record");
    assert_eq!(f["bytes"]["source"], first["source"]["bytes"], "{first:#}");
    assert_eq!(
        f["bytes"]["destination"], first["destination"]["bytes"],
        "{first:#}"
    );
    assert!(f["bytes"]["source"].as_u64().unwrap() > 1000, "{f:#}");
    assert!(f["bytes"]["destination"].as_u64().unwrap() > 3000, "{f:#}");
    assert!(
        !records
            .iter()
            .any(|r| r["type"] == "http" && r["user_agent"]["original"] == "off"),
        "an http record with protocols off"
    );
}
