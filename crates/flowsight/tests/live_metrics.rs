//! Root test: `flowsight live --metrics` serves Prometheus metrics whose traffic counters
//! equal the flow records' bytes, labelled with the process and user of each local end.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn peer_main() {
    common::peer_main();
}

/// The value of the one sample of `name` whose labels include all of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn metrics_count_each_process_traffic_both_ways() {
    if !root_or_skip("metrics_count_each_process_traffic_both_ways") {
        return;
    }
    let ns = NetNs::new();
    let cg = Cgroup::new("metrics");
    // A port free in the test's namespace (it is new: any port is).
    let port = 19464;
    let addr = format!("127.0.0.1:{port}");
    let fs = Flowsight::start(&[
        "--netns",
        &ns.path(),
        "-i",
        "lo",
        "--scan-interval-ms",
        "100",
        "--metrics",
        &addr,
        "--stats-interval",
        "1",
        "--bpf-stats",
    ]);
    let spec = |uid| PeerSpec {
        netns: Some(&ns),
        uid: Some(uid),
        cgroup: Some(&cg),
    };
    let (mut srv, srv_port) = spec(1).start("serve-tcp", &["127.0.0.1:0", "1", "3000"]);
    spec(65534).run("connect-tcp", &[&format!("127.0.0.1:{srv_port}"), "1000"]);
    assert!(srv.wait().unwrap().success());

    // The flow record comes after the close (plus a linger); the metrics with it.
    let name = peer_name();
    let mut text = String::new();
    let scraped = wait_for(Duration::from_secs(15), || {
        text = ns.sh(&format!("curl -s http://{addr}/metrics || true"));
        sample(
            &text,
            "flowsight_bytes_total",
            &[("process", &name), ("user", "nobody"), ("direction", "tx")],
        )
        .is_some()
    });
    assert!(scraped, "no client traffic in the metrics:\n{text}");
    // --bpf-stats has the kernel count program run time; a stats record a second later
    // carries it into the metrics.
    let egress = [("program", "fsight_tc_egress")];
    let counted = wait_for(Duration::from_secs(5), || {
        text = ns.sh(&format!("curl -s http://{addr}/metrics || true"));
        sample(&text, "flowsight_bpf_program_runs_total", &egress).is_some()
    });
    assert!(counted, "no BPF program run time in the metrics:\n{text}");

    let records = fs.stop();
    let srv_port: u16 = srv_port.parse().unwrap();
    let flow = records
        .iter()
        .find(|r| r["type"] == "flow" && r["destination"]["port"] == srv_port)
        .expect("the flow record");
    let up = flow["source"]["bytes"].as_u64().unwrap();
    let down = flow["destination"]["bytes"].as_u64().unwrap();
    assert!(up > 1000 && down > 3000, "{flow:#}");
    let get = |user: &str, dir: &str| {
        sample(
            &text,
            "flowsight_bytes_total",
            &[("process", &name), ("user", user), ("direction", dir)],
        )
    };
    // The client (nobody) sent `up` and received `down`; the server (daemon) the reverse.
    assert_eq!(get("nobody", "tx"), Some(up), "{text}");
    assert_eq!(get("nobody", "rx"), Some(down), "{text}");
    assert_eq!(get("daemon", "tx"), Some(down), "{text}");
    assert_eq!(get("daemon", "rx"), Some(up), "{text}");
    // Every packet of the flow went through the egress program of lo (and so did the
    // loopback traffic of the metrics scrapes): at least that many runs, and some time.
    let packets = flow["source"]["packets"].as_u64().unwrap()
        + flow["destination"]["packets"].as_u64().unwrap();
    let last = records
        .iter()
        .rfind(|r| r["type"] == "stats")
        .expect("the final stats record");
    let tc = &last["flowsight"]["bpf_programs"]["fsight_tc_egress"];
    assert!(tc["runs"].as_u64().unwrap() >= packets, "{last:#}");
    assert!(tc["run_time_ns"].as_u64().unwrap() > 0, "{last:#}");
    let scraped_runs = sample(&text, "flowsight_bpf_program_runs_total", &egress).unwrap();
    assert!(
        scraped_runs > 0 && scraped_runs <= tc["runs"].as_u64().unwrap(),
        "{text}"
    );
    // No pid or port labels, and the records counter is there.
    assert!(!text.contains("pid=") && !text.contains("port="), "{text}");
    assert!(
        text.contains("flowsight_records_written_total{type=\"flow\"}"),
        "{text}"
    );
}
