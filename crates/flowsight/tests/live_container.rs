//! Root test: a process in a cgroup2 path shaped like docker's is attributed to that
//! container.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn peer_main() {
    common::peer_main();
}

#[test]
fn docker_shaped_cgroup_gives_container_id() {
    if !root_or_skip("docker_shaped_cgroup_gives_container_id") {
        return;
    }
    let id: String = (0..64)
        .map(|i| b"0123456789abcdef"[(i * 7 + 3) % 16] as char)
        .collect();
    let ns = NetNs::new();
    let container = Cgroup::new(&format!("system.slice/docker-{id}.scope"));
    let host = Cgroup::new("host-side");
    let fs = Flowsight::start(&[
        "--netns",
        &ns.path(),
        "-i",
        "lo",
        "--scan-interval-ms",
        "100",
    ]);
    let server = PeerSpec {
        netns: Some(&ns),
        uid: None,
        cgroup: Some(&host),
    };
    let client = PeerSpec {
        netns: Some(&ns),
        uid: None,
        cgroup: Some(&container),
    };
    let (mut srv, port) = server.start("serve-tcp", &["127.0.0.1:0", "1", "10"]);
    client.run("connect-tcp", &[&format!("127.0.0.1:{port}"), "10"]);
    assert!(srv.wait().unwrap().success());
    let records = fs.stop();
    let port: u16 = port.parse().unwrap();
    let f = records
        .iter()
        .find(|r| r["type"] == "flow" && r["destination"]["port"] == port)
        .unwrap_or_else(|| panic!("no flow: {records:#?}"));
    assert_eq!(f["source"]["container"]["id"], id.as_str(), "{f:#}");
    assert_eq!(f["source"]["container"]["runtime"], "docker");
    assert_eq!(
        f["source"]["process"]["cgroup"]["path"],
        container.rel.as_str()
    );
    assert_eq!(f["source"]["process"]["cgroup"]["id"], container.id());
    assert!(
        f["destination"].get("container").is_none(),
        "the server is not in a container: {f:#}"
    );
}

/// One peer per runtime shape, each connecting over loopback from its own cgroup: the
/// container id, runtime and Kubernetes pod (uid and QoS class) of each, and the network
/// namespace of every owner.
#[test]
fn every_runtime_shape_names_its_container() {
    if !root_or_skip("every_runtime_shape_names_its_container") {
        return;
    }
    let id = |seed: usize| -> String {
        (0..64)
            .map(|i| b"0123456789abcdef"[(i * 5 + seed * 11 + 1) % 16] as char)
            .collect()
    };
    let pod = "8c4b1f2e-3a5d-4e6f-9a7b-1c2d3e4f5a6b";
    let pod_ = pod.replace('-', "_");
    // (cgroup below the test's own directory, id, runtime, pod qos class)
    let shapes: Vec<(String, String, &str, Option<&str>)> = vec![
        (format!("docker/{}", id(1)), id(1), "docker", None),
        (
            format!("system.slice/docker-{}.scope", id(2)),
            id(2),
            "docker",
            None,
        ),
        (
            format!("system.slice/nerdctl-{}.scope", id(3)),
            id(3),
            "containerd",
            None,
        ),
        (
            format!("machine.slice/libpod-{}.scope/container", id(4)),
            id(4),
            "podman",
            None,
        ),
        (
            format!(
                "user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{}.scope",
                id(5)
            ),
            id(5),
            "podman",
            None,
        ),
        (
            format!(
                "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{pod_}.slice/crio-{}.scope",
                id(6)
            ),
            id(6),
            "cri-o",
            Some("BestEffort"),
        ),
        (
            format!(
                "kubepods.slice/kubepods-pod{pod_}.slice/cri-containerd-{}.scope",
                id(7)
            ),
            id(7),
            "containerd",
            Some("Guaranteed"),
        ),
        (
            format!("kubepods/burstable/pod{pod}/{}", id(8)),
            id(8),
            "kubernetes",
            Some("Burstable"),
        ),
        (
            format!(
                "system.slice/containerd.service/kubepods-burstable-pod{pod_}.slice:cri-containerd:{}",
                id(9)
            ),
            id(9),
            "containerd",
            Some("Burstable"),
        ),
        (
            "machine.slice/machine-web\\x2d1.scope".into(),
            "web-1".into(),
            "systemd-nspawn",
            None,
        ),
    ];
    let ns = NetNs::new();
    let ns_id = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(ns.path()).unwrap().ino()
    };
    let cgroups: Vec<Cgroup> = shapes.iter().map(|s| Cgroup::new(&s.0)).collect();
    let host = Cgroup::new("system.slice/server.service");
    let fs = Flowsight::start(&[
        "--netns",
        &ns.path(),
        "-i",
        "lo",
        "--scan-interval-ms",
        "100",
    ]);
    let server = PeerSpec {
        netns: Some(&ns),
        uid: None,
        cgroup: Some(&host),
    };
    let (mut srv, port) = server.start(
        "serve-tcp",
        &["127.0.0.1:0", &shapes.len().to_string(), "10"],
    );
    let mut pids = Vec::new();
    for cg in &cgroups {
        let client = PeerSpec {
            netns: Some(&ns),
            uid: None,
            cgroup: Some(cg),
        };
        pids.push(client.run("connect-tcp", &[&format!("127.0.0.1:{port}"), "10"]));
    }
    assert!(srv.wait().unwrap().success());
    let records = fs.stop();
    let port: u16 = port.parse().unwrap();
    for ((shape, want_id, runtime, qos), pid) in shapes.iter().zip(&pids) {
        let f = records
            .iter()
            .find(|r| {
                r["type"] == "flow"
                    && r["destination"]["port"] == port
                    && r["source"]["process"]["pid"] == *pid
            })
            .unwrap_or_else(|| panic!("no flow of {shape}: {records:#?}"));
        let src = &f["source"];
        assert_eq!(src["container"]["id"], want_id.as_str(), "{shape}: {f:#}");
        assert_eq!(src["container"]["runtime"], *runtime, "{shape}");
        assert_eq!(src["netns"]["id"], ns_id, "{shape}");
        match qos {
            Some(q) => {
                assert_eq!(src["orchestrator"]["type"], "kubernetes", "{shape}");
                assert_eq!(src["orchestrator"]["resource"]["id"], pod, "{shape}");
                assert_eq!(src["orchestrator"]["resource"]["qos_class"], *q, "{shape}");
            }
            None => assert!(src.get("orchestrator").is_none(), "{shape}: {f:#}"),
        }
        // The server is a systemd service, not a container.
        assert!(f["destination"].get("container").is_none(), "{f:#}");
        assert_eq!(f["destination"]["netns"]["id"], ns_id);
    }
}

/// `flowsight live` on `ns`'s loopback keeping `--container name`, the names coming from
/// the slow Engine API `engine`; `extra` flags after these.
fn live_choosing(ns: &NetNs, name: &str, engine: &SlowEngine, extra: &[&str]) -> Flowsight {
    let ns_path = ns.path();
    let mut args = vec![
        "--netns",
        &ns_path,
        "-i",
        "lo",
        "--scan-interval-ms",
        "100",
        "--container",
        name,
        "--docker-socket",
        engine.socket_arg(),
    ];
    args.extend_from_slice(extra);
    Flowsight::start(&args)
}

/// `--container NAME` for a container that starts after flowsight: its first records are
/// made before the runtime's API has said its name, and are held until it has, not dropped.
/// Another container's and the host's records are still left out.
#[test]
fn a_container_named_later_keeps_its_first_records() {
    if !root_or_skip("a_container_named_later_keeps_its_first_records") {
        return;
    }
    let (web_id, other_id) = (docker_id(1), docker_id(2));
    // Without payload sampling the name is asked for when the flow's record is made (after
    // a finished flow's 1 s linger), and it comes 1.5 s later: within the client's 2 s
    // timeout, well after the record.
    let engine = SlowEngine::start(&web_id, "late-web", Duration::from_millis(1500));

    let ns = NetNs::new();
    let web = Cgroup::new(&format!("system.slice/docker-{web_id}.scope"));
    let other = Cgroup::new(&format!("system.slice/docker-{other_id}.scope"));
    let host = Cgroup::new("host-side");
    let fs = live_choosing(&ns, "late-web", &engine, &["--sample-packets", "0"]);
    let spec = |cgroup| PeerSpec::in_cgroup(&ns, cgroup);
    let (mut srv, port) = spec(&host).start("serve-tcp", &["127.0.0.1:0", "3", "10"]);
    let addr = format!("127.0.0.1:{port}");
    let web_pid = spec(&web).run("connect-tcp", &[&addr, "10"]);
    let other_pid = spec(&other).run("connect-tcp", &[&addr, "20"]);
    let host_pid = spec(&host).run("connect-tcp", &[&addr, "30"]);
    assert!(srv.wait().unwrap().success());
    // The name comes while flowsight runs, after the flow's record was made.
    std::thread::sleep(Duration::from_millis(3000));
    let records = fs.stop();
    assert!(
        engine.was_asked(&web_id),
        "the runtime was asked for the container"
    );
    let port: u16 = port.parse().unwrap();
    let flows: Vec<_> = records
        .iter()
        .filter(|r| r["type"] == "flow" && r["destination"]["port"] == port)
        .collect();
    assert_eq!(
        flows.len(),
        1,
        "only the named container's flow: {flows:#?}"
    );
    let f = flows[0];
    assert_eq!(f["source"]["process"]["pid"], web_pid, "{f:#}");
    assert_eq!(f["source"]["container"]["id"], web_id.as_str(), "{f:#}");
    assert_eq!(f["source"]["container"]["name"], "late-web", "{f:#}");
    assert_eq!(f["source"]["container"]["image"]["name"], "shop/web:1");
    // 10 bytes of payload up, 10 down, in whole frames with the handshake and teardown.
    assert!(f["source"]["bytes"].as_u64().unwrap() > 10, "{f:#}");
    assert!(f["destination"]["bytes"].as_u64().unwrap() > 10, "{f:#}");
    for pid in [other_pid, host_pid] {
        assert!(
            !records.iter().any(|r| r["source"]["process"]["pid"] == pid),
            "pid {pid} is in no chosen container"
        );
    }
    // The final stats record counts what was written, held records included.
    let stats = final_stats(&records);
    assert_eq!(
        stats["flowsight"]["records_written"]["flow"], 1,
        "{stats:#}"
    );
}

/// A protocol record's owner is made at its connection's first payload: for a new container
/// that is before its name comes. A DNS answer that comes after the name gives a record
/// made then with the owner made before: it gets the name when it is written and is kept.
#[test]
fn a_protocol_record_made_before_the_name_came_gets_it() {
    if !root_or_skip("a_protocol_record_made_before_the_name_came_gets_it") {
        return;
    }
    let web_id = docker_id(3);
    // Asked at the query's sample, answered 1 s later; the DNS answer comes 2 s after the
    // query.
    let engine = SlowEngine::start(&web_id, "late-dns", Duration::from_millis(1000));
    let ns = NetNs::new();
    let web = Cgroup::new(&format!("system.slice/docker-{web_id}.scope"));
    let host = Cgroup::new("host-side");
    let fs = live_choosing(&ns, "late-dns", &engine, &[]);
    let spec = |cgroup| PeerSpec::in_cgroup(&ns, cgroup);
    let (mut server, _) = spec(&host).start("dns-server", &["127.0.0.1:53", "1", "2000"]);
    let mut dig = spec(&web)
        .program("/usr/bin/dig")
        .args([
            "+tries=1",
            "+time=5",
            "@127.0.0.1",
            "late.example.test",
            "A",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("dig (apt-get install bind9-dnsutils)");
    let dig_pid = dig.id();
    assert!(dig.wait().unwrap().success());
    assert!(server.wait().unwrap().success());
    std::thread::sleep(Duration::from_millis(500));
    let records = fs.stop();
    let dns: Vec<_> = records.iter().filter(|r| r["type"] == "dns").collect();
    assert_eq!(dns.len(), 1, "{records:#?}");
    let d = dns[0];
    assert_eq!(d["dns"]["question"]["name"], "late.example.test", "{d:#}");
    assert_eq!(d["dns"]["answers"][0]["data"], "192.0.2.1", "{d:#}");
    assert_eq!(d["source"]["process"]["pid"], dig_pid, "{d:#}");
    assert_eq!(d["source"]["container"]["id"], web_id.as_str(), "{d:#}");
    assert_eq!(d["source"]["container"]["name"], "late-dns", "{d:#}");
}
