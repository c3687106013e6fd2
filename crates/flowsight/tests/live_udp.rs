//! Root test: UDP request/response both ways attributed, over IPv4 and IPv6.

mod common;

use common::*;

#[test]
fn peer_main() {
    common::peer_main();
}

fn udp_exchange(bind: &str, host: &str) {
    let ns = NetNs::new();
    let cg = Cgroup::new("udp");
    let fs = Flowsight::start(&[
        "--netns",
        &ns.path(),
        "-i",
        "lo",
        "--scan-interval-ms",
        "100",
        "--idle-timeout",
        "1",
    ]);
    let spec = PeerSpec {
        netns: Some(&ns),
        uid: None,
        cgroup: Some(&cg),
    };
    let (mut srv, port) = spec.start("serve-udp", &[bind, "5"]);
    let client_pid = spec.run("udp-ask", &[&format!("{host}:{port}"), "100", "5"]);
    assert!(srv.wait().unwrap().success());
    // Let the idle timeout end the flow on its own, as UDP flows end.
    std::thread::sleep(std::time::Duration::from_millis(1800));
    let records = fs.stop();
    let port: u16 = port.parse().unwrap();
    let flows: Vec<_> = records
        .iter()
        .filter(|r| r["type"] == "flow" && r["destination"]["port"] == port)
        .collect();
    assert_eq!(flows.len(), 1, "{records:#?}");
    let f = flows[0];
    assert_eq!(f["network"]["transport"], "udp");
    assert_eq!(f["event"]["reason"], "idle-timeout");
    assert_eq!(f["source"]["process"]["pid"], client_pid, "{f:#}");
    assert_eq!(f["destination"]["process"]["pid"], srv.id(), "{f:#}");
    assert_eq!(f["source"]["packets"], 5);
    assert_eq!(f["destination"]["packets"], 5);
    // Frames: 14 Ethernet + IP header + 8 UDP + payload (100 up, 200 down).
    let ip_hdr = if host.starts_with('[') { 40 } else { 20 };
    assert_eq!(f["source"]["bytes"], 5 * (14 + ip_hdr + 8 + 100));
    assert_eq!(f["destination"]["bytes"], 5 * (14 + ip_hdr + 8 + 200));
}

#[test]
fn udp_ipv4_request_response_attributed() {
    if root_or_skip("udp_ipv4_request_response_attributed") {
        udp_exchange("127.0.0.1:0", "127.0.0.1");
    }
}

#[test]
fn udp_ipv6_request_response_attributed() {
    if root_or_skip("udp_ipv6_request_response_attributed") {
        udp_exchange("[::1]:0", "[::1]");
    }
}

#[test]
fn udp_receiver_that_never_answers_is_attributed() {
    if !root_or_skip("udp_receiver_that_never_answers_is_attributed") {
        return;
    }
    let ns = NetNs::new();
    let cg = Cgroup::new("oneway");
    let fs = Flowsight::start(&[
        "--netns",
        &ns.path(),
        "-i",
        "lo",
        "--scan-interval-ms",
        "100",
    ]);
    let spec = PeerSpec {
        netns: Some(&ns),
        uid: Some(1),
        cgroup: Some(&cg),
    };
    let (mut sink, port) = spec.start("sink-udp", &["127.0.0.1:0", "4"]);
    let sender = PeerSpec {
        netns: Some(&ns),
        uid: None,
        cgroup: Some(&cg),
    };
    let sender_pid = sender.run("udp-send", &[&format!("127.0.0.1:{port}"), "32", "4"]);
    assert!(sink.wait().unwrap().success());
    let records = fs.stop();
    let port: u16 = port.parse().unwrap();
    let f = records
        .iter()
        .find(|r| r["type"] == "flow" && r["destination"]["port"] == port)
        .unwrap_or_else(|| panic!("no flow: {records:#?}"));
    assert_eq!(f["source"]["process"]["pid"], sender_pid, "{f:#}");
    assert_eq!(
        f["destination"]["process"]["pid"],
        sink.id(),
        "the silent receiver: {f:#}"
    );
    assert_eq!(f["destination"]["user"]["name"], "daemon");
    assert_eq!(f["source"]["packets"], 4);
    assert_eq!(f["destination"]["packets"], 0);
}
