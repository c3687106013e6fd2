//! Root test: a process in a cgroup2 path shaped like docker's is attributed to that
//! container.

mod common;

use common::*;

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
