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
